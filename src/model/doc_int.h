/*
 * doc_int.h — pieces shared by the SDOC parser, writer and readers (private to
 * src/model/): UTF-8 checks, the "C" locale for numbers, the length of one value.
 */
#ifndef STELE_MODEL_DOC_INT_H
#define STELE_MODEL_DOC_INT_H

#include <locale.h>
#include <stddef.h>
#include <stdint.h>

#include "model/doc.h"
#include "util/util.h"

/* Bytes of the fixed-size values; a container header is tag + size + count. */
#define SDOC_SCALAR_BYTES 9u
#define SDOC_STR_HDR 5u
#define SDOC_CONT_HDR 9u

_Static_assert(SDOC_MAX < UINT32_MAX, "SDOC sizes and offsets are u32");
_Static_assert(sizeof(double) == 8, "doubles are stored as 8 bytes");

/*
 * Length of the UTF-8 sequence at p whose first byte p[0] >= 0x80, or 0 if it is not
 * a valid one (RFC 3629 table 4: no overlong forms, no surrogates, <= U+10FFFF) or
 * does not end before `end`.
 */
static inline size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0];
    size_t avail = (size_t)(end - p);
    if (c >= 0xC2 && c <= 0xDF)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[2] & 0xC0) != 0x80) return 0;
        uint8_t lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        uint8_t lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi ? 4 : 0;
    }
    return 0;
}

/* 1 if s[0, n) is valid UTF-8. */
int doc_utf8_valid(const uint8_t *s, size_t n);

/* Bytes of the value starting at p, or 0 if its tag is unknown or it does not fit in
 * [p, end). Reads the tag and, for strings and containers, the length field only. */
size_t doc_value_len(const uint8_t *p, const uint8_t *end);

/* The "C" locale, created once, so that strtod and printf use '.' whatever the
 * application set with setlocale(); (locale_t)0 if it could not be created. */
locale_t doc_c_locale(void);

#endif /* STELE_MODEL_DOC_INT_H */
