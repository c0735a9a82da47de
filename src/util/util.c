/*
 * util.c — see util.h. Layer: util.
 */
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

void util_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "stele: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}

stele_status util_fail(util_err *e, stele_status code, const char *fmt, ...)
{
    STELE_ASSERT(code != STELE_OK);
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

stele_status util_fail_wrap(util_err *e, const char *fmt, ...)
{
    if (!e) return STELE_EIO;
    char prefix[UTIL_ERR_MAX];
    char old[UTIL_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof e->msg - 3) n = sizeof e->msg - 3;
    memcpy(e->msg, prefix, n);
    memcpy(e->msg + n, ": ", 2);
    util_strlcpy(e->msg + n + 2, old, sizeof e->msg - n - 2);
    return e->code;
}

void util_err_clear(util_err *e)
{
    if (!e) return;
    e->code = STELE_OK;
    e->msg[0] = '\0';
}

stele_status util_errno_status(int errnum)
{
    if (errnum == ENOSPC || errnum == EDQUOT) return STELE_ENOSPC;
    if (errnum == ENOMEM) return STELE_ENOMEM;
    return STELE_EIO;
}

uint64_t util_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

size_t util_iso_time(uint64_t ns, char out[UTIL_ISO_TIME_LEN + 1])
{
    uint64_t secs = ns / 1000000000u, us = ns % 1000000000u / 1000u;
    uint64_t days = secs / 86400, sod = secs % 86400;
    /* The civil date of a day count, with years starting on March 1st (so the leap
     * day ends a year) in eras of 400 years (146097 days) counted from 0000-03-01. */
    uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153, day = doy - (153 * mp + 2) / 5 + 1;
    uint64_t month = mp < 10 ? mp + 3 : mp - 9, year = era * 400 + yoe + (month <= 2);
    STELE_ASSERT(year >= 1970 && year <= 9999); /* u64 nanoseconds end in 2554 */
    const uint64_t field[7] = {year, month, day, sod / 3600, sod / 60 % 60, sod % 60, us};
    static const unsigned width[7] = {4, 2, 2, 2, 2, 2, 6};
    static const char after[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    char *w = out;
    for (int f = 0; f < 7; f++) {
        uint64_t v = field[f];
        for (unsigned i = width[f]; i-- > 0; v /= 10) w[i] = (char)('0' + v % 10);
        w += width[f];
        *w++ = after[f];
    }
    *w = 0;
    STELE_ASSERT(w - out == UTIL_ISO_TIME_LEN);
    return UTIL_ISO_TIME_LEN;
}

uint64_t util_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void buf_init(buf *b) { memset(b, 0, sizeof *b); }

void buf_release(buf *b)
{
    free(b->data);
    buf_init(b);
}

int buf_reserve(buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0) return -1;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int buf_json_str(buf *b, const char *s, size_t n)
{
    if (buf_append(b, "\"", 1) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        if (c == '"' || c == '\\') rc = buf_printf(b, "\\%c", c);
        else if (c == '\n') rc = buf_append(b, "\\n", 2);
        else if (c == '\t') rc = buf_append(b, "\\t", 2);
        else if (c == '\r') rc = buf_append(b, "\\r", 2);
        else if (c < 0x20) rc = buf_printf(b, "\\u%04x", c);
        else rc = buf_append(b, &s[i], 1);
        if (rc != 0) return -1;
    }
    return buf_append(b, "\"", 1);
}

char *buf_detach(buf *b)
{
    if (buf_reserve(b, 0) != 0) return NULL;
    char *s = (char *)b->data;
    s[b->len] = 0;
    buf_init(b);
    return s;
}

int util_strlcpy(char *dst, const char *src, size_t cap)
{
    STELE_ASSERT(cap > 0);
    size_t n = strlen(src);
    if (n >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = 0;
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int util_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem) return -1;
        c *= 2;
    }
    void *p = realloc(*arr, c * elem);
    if (!p) return -1;
    *arr = p;
    *cap = c;
    return 0;
}

void util_release_free_memory(void)
{
#ifdef __GLIBC__
    (void)malloc_trim(0);
#endif
}
