/*
 * util.h — assertions, errors with context, little-endian encoding, time, a growable
 * byte buffer. Layer: util (the bottom; includes only libc and include/stele.h for
 * the status codes).
 *
 * Errors: functions return a stele_status and, when given a util_err, fill it with
 * a message "what failed: detail (context)". Messages are lower-case, error first,
 * subject in quotes (git style). STELE_ASSERT is for programmer errors only: never
 * assert on bytes from disk, network or users.
 */
#ifndef STELE_UTIL_H
#define STELE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stele.h"

#define STELE_ASSERT(cond)                                                  \
    do {                                                                    \
        if (!(cond)) util_assert_fail(#cond, __FILE__, __LINE__);           \
    } while (0)
_Noreturn void util_assert_fail(const char *expr, const char *file, int line);
/* Expensive checks of whole structures (re-validating a document made in this
 * process, say): Debug builds only (STELE_DEBUG, set by CMake), never needed for
 * safety — the release path must be correct without them. */
#ifdef STELE_DEBUG
#define STELE_DEBUG_ASSERT(cond) STELE_ASSERT(cond)
#else
#define STELE_DEBUG_ASSERT(cond) ((void)sizeof(cond))
#endif

#define UTIL_ERR_MAX 768
typedef struct util_err {
    stele_status code;
    char msg[UTIL_ERR_MAX];
} util_err;

/* Sets e (if not NULL) and returns code, so that `return util_fail(e, ...)` works. */
stele_status util_fail(util_err *e, stele_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes an existing message with more context: "prefix: old message". */
stele_status util_fail_wrap(util_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void util_err_clear(util_err *e);
/* Maps an errno value to a status: ENOSPC -> STELE_ENOSPC, others -> STELE_EIO. */
stele_status util_errno_status(int errnum);

/* Little-endian loads and stores at any alignment: one move each on little-endian
 * hosts (memcpy of a constant size compiles to a plain load or store). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define UTIL_LE16(v) __builtin_bswap16(v)
#define UTIL_LE32(v) __builtin_bswap32(v)
#define UTIL_LE64(v) __builtin_bswap64(v)
#else
#define UTIL_LE16(v) (v)
#define UTIL_LE32(v) (v)
#define UTIL_LE64(v) (v)
#endif
static inline void put_u16(uint8_t *p, uint16_t v)
{
    v = (uint16_t)UTIL_LE16(v);
    memcpy(p, &v, 2);
}
static inline void put_u32(uint8_t *p, uint32_t v)
{
    v = UTIL_LE32(v);
    memcpy(p, &v, 4);
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
    v = UTIL_LE64(v);
    memcpy(p, &v, 8);
}
static inline uint16_t get_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return (uint16_t)UTIL_LE16(v);
}
static inline uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return UTIL_LE32(v);
}
static inline uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return UTIL_LE64(v);
}

/* A bounds-checked reader over bytes (decoders of formats read from disk): a take past
 * the end sets bad, returns NULL (or 0) and every later take fails too. */
typedef struct util_rd {
    const uint8_t *p, *end;
    int bad;
} util_rd;
static inline const uint8_t *util_rd_take(util_rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}
static inline uint32_t util_rd_u32(util_rd *r)
{
    const uint8_t *q = util_rd_take(r, 4);
    return q ? get_u32(q) : 0;
}

/* Wall clock in nanoseconds since the Unix epoch. */
uint64_t util_now_ns(void);
/* A time in nanoseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (UTC,
 * microseconds, truncated: what gmtime_r and strftime give) into out, NUL-terminated;
 * returns UTIL_ISO_TIME_LEN. No locale, no time zone, no lock. */
#define UTIL_ISO_TIME_LEN 27
size_t util_iso_time(uint64_t ns, char out[UTIL_ISO_TIME_LEN + 1]);

/* Hands memory freed by the process back to the system (glibc keeps freed heap pages:
 * after a load whose large temporary buffers were freed, they would stay resident).
 * Costs a walk of the heap's free lists: call after loads, not on hot paths. */
void util_release_free_memory(void);
/* Monotonic clock in nanoseconds (for measuring and timeouts). */
uint64_t util_mono_ns(void);

/* Growable byte buffer (git's strbuf idiom): buf_init / buf_release. */
typedef struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} buf;
void buf_init(buf *b);
void buf_release(buf *b);
int buf_reserve(buf *b, size_t extra); /* 0 or -1 on out of memory */
/* Grows the array *arr (of *cap elements of elem bytes) to hold at least `need`,
 * doubling from 8; 0, or -1 on overflow or out of memory (the array is unchanged). */
int util_grow(void **arr, size_t *cap, size_t need, size_t elem);
int buf_append(buf *b, const void *p, size_t n);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes and escapes). */
int buf_json_str(buf *b, const char *s, size_t n);
/* Hands the NUL-terminated contents to the caller (free with free()) and resets b. */
char *buf_detach(buf *b);

/* Copies src into dst of size cap, always NUL-terminating; returns 0 or -1 if cut. */
int util_strlcpy(char *dst, const char *src, size_t cap);

#endif /* STELE_UTIL_H */
