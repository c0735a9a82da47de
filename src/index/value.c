/*
 * value.c — see value.h. Layer: index.
 * Exact number comparison: an int64 or uint64 against a double compares the integer
 * with the double's integral part (exact: |d| < 2^64 there) and then its fraction,
 * so no integer is ever rounded through a double.
 */
#include "index/value.h"

#include <string.h>

#include "util/util.h"

int dval_bracket(int tag)
{
    switch (tag) {
    case SDOC_NULL: return DVAL_NULL;
    case SDOC_INT:
    case SDOC_UINT:
    case SDOC_DOUBLE: return DVAL_NUMBER;
    case SDOC_STRING: return DVAL_STRING;
    case SDOC_OBJECT: return DVAL_OBJECT;
    case SDOC_ARRAY: return DVAL_ARRAY;
    case SDOC_FALSE:
    case SDOC_TRUE: return DVAL_BOOL;
    default: return -1;
    }
}

typedef struct num {
    int tag;
    int64_t i;
    uint64_t u;
    double d;
} num;

static int num_read(doc_view v, num *n)
{
    n->tag = doc_type(v);
    if (n->tag == SDOC_INT) return doc_int64(v, &n->i);
    if (n->tag == SDOC_UINT) {
        if (v.len < 9) return -1;
        n->u = get_u64(v.p + 1);
        return 0;
    }
    return doc_double(v, &n->d);
}

static int sign3(int c) { return (c > 0) - (c < 0); }

/* int64 i against double d, exactly. */
static int cmp_i_d(int64_t i, double d)
{
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    int64_t t = (int64_t)d; /* truncation toward zero: exact, |d| < 2^63 */
    if (i != t) return i < t ? -1 : 1;
    double frac = d - (double)t; /* exact: d and t share the integral part */
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

/* uint64 u (> INT64_MAX) against double d, exactly. */
static int cmp_u_d(uint64_t u, double d)
{
    if (d >= 18446744073709551616.0) return -1;
    if (d < 9223372036854775808.0) return 1;
    uint64_t t = (uint64_t)d;
    if (u != t) return u < t ? -1 : 1;
    return d - (double)t > 0 ? -1 : 0;
}

static int num_cmp(const num *a, const num *b)
{
    if (a->tag == SDOC_INT && b->tag == SDOC_INT) return (a->i > b->i) - (a->i < b->i);
    if (a->tag == SDOC_UINT && b->tag == SDOC_UINT) return (a->u > b->u) - (a->u < b->u);
    if (a->tag == SDOC_DOUBLE && b->tag == SDOC_DOUBLE) return (a->d > b->d) - (a->d < b->d);
    if (a->tag == SDOC_INT && b->tag == SDOC_UINT) return -1; /* uint64 only > INT64_MAX */
    if (a->tag == SDOC_UINT && b->tag == SDOC_INT) return 1;
    if (a->tag == SDOC_INT) return cmp_i_d(a->i, b->d);
    if (a->tag == SDOC_UINT) return cmp_u_d(a->u, b->d);
    STELE_ASSERT(a->tag == SDOC_DOUBLE); /* and b an integer: compare from b's side */
    return b->tag == SDOC_INT ? -cmp_i_d(b->i, a->d) : -cmp_u_d(b->u, a->d);
}

static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return sign3(c);
    return (an > bn) - (an < bn);
}

int dval_cmp(doc_view a, doc_view b)
{
    int ta = doc_type(a), tb = doc_type(b);
    int ba = dval_bracket(ta), bb = dval_bracket(tb);
    if (ba != bb) return ba < bb ? -1 : 1; /* a malformed view (-1) sorts first */
    switch (ba) {
    case DVAL_NUMBER: {
        num na, nb;
        if (num_read(a, &na) != 0 || num_read(b, &nb) != 0) return 0;
        return num_cmp(&na, &nb);
    }
    case DVAL_STRING: {
        const char *sa, *sb;
        size_t na, nb;
        if (doc_string(a, &sa, &na) != 0 || doc_string(b, &sb, &nb) != 0) return 0;
        return bytes_cmp(sa, na, sb, nb);
    }
    case DVAL_BOOL: return (ta > tb) - (ta < tb); /* SDOC_FALSE < SDOC_TRUE */
    case DVAL_OBJECT:
    case DVAL_ARRAY: return bytes_cmp(a.p, a.len, b.p, b.len);
    default: return 0; /* null, or two malformed views */
    }
}

int dval_key(doc_view v, buf *k)
{
    k->len = 0;
    int t = doc_type(v);
    double d;
    if (t == SDOC_DOUBLE && doc_double(v, &d) == 0) {
        uint8_t b[9];
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
            d == (double)(int64_t)d) {
            b[0] = SDOC_INT;
            put_u64(b + 1, (uint64_t)(int64_t)d);
            return buf_append(k, b, sizeof b);
        }
        if (d >= 9223372036854775808.0 && d < 18446744073709551616.0 &&
            d == (double)(uint64_t)d) {
            b[0] = SDOC_UINT;
            put_u64(b + 1, (uint64_t)d);
            return buf_append(k, b, sizeof b);
        }
    }
    if (t < 0 || t == SDOC_ARRAY || t == SDOC_OBJECT) return -1;
    if (t == SDOC_STRING && (v.len < 5 || get_u32(v.p + 1) != v.len - 5)) return -1;
    return buf_append(k, v.p, v.len);
}

/* ---- dates ---- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, size_t at, size_t count, unsigned *out)
{
    if (at + count > n) return -1;
    unsigned v = 0;
    for (size_t i = at; i < at + count; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* [.fraction] at *at: nanoseconds (digits beyond the ninth ignored). */
static int fraction(const char *s, size_t n, size_t *at, uint32_t *nsec)
{
    *nsec = 0;
    if (*at >= n || s[*at] != '.') return 0;
    size_t i = *at + 1, nd = 0;
    uint32_t scale = 100000000u;
    for (; i < n && s[i] >= '0' && s[i] <= '9' && nd < 64; i++, nd++) {
        *nsec += (uint32_t)(s[i] - '0') * scale;
        scale /= 10;
    }
    if (nd == 0 || nd == 64) return -1;
    *at = i;
    return 0;
}

/* [Z|+HH:MM|-HH:MM] at *at, then the end of the text: offset in seconds east of UTC. */
static int zone(const char *s, size_t n, size_t at, int64_t *off)
{
    unsigned hh, mm;
    *off = 0;
    if (at == n) return 0;
    if (s[at] == 'Z') return at + 1 == n ? 0 : -1;
    if ((s[at] != '+' && s[at] != '-') || at + 6 != n || s[at + 3] != ':' ||
        digits(s, n, at + 1, 2, &hh) || digits(s, n, at + 4, 2, &mm) || hh > 23 || mm > 59)
        return -1;
    *off = (int64_t)(hh * 3600 + mm * 60) * (s[at] == '-' ? -1 : 1);
    return 0;
}

int dval_date(const char *s, size_t n, dinstant *out)
{
    unsigned y, mo, d, h = 0, mi = 0, se = 0;
    if (n < 10 || digits(s, n, 0, 4, &y) || s[4] != '-' || digits(s, n, 5, 2, &mo) ||
        s[7] != '-' || digits(s, n, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 ||
        d > month_days(y, mo))
        return -1;
    size_t at = 10;
    uint32_t nsec = 0;
    if (at < n && s[at] == 'T') {
        if (n < 16 || digits(s, n, 11, 2, &h) || s[13] != ':' || digits(s, n, 14, 2, &mi) ||
            h > 23 || mi > 59)
            return -1;
        at = 16;
        if (at < n && s[at] == ':') {
            if (digits(s, n, 17, 2, &se) || se > 59) return -1;
            at = 19;
            if (fraction(s, n, &at, &nsec) != 0) return -1;
        }
    }
    int64_t off;
    if (zone(s, n, at, &off) != 0) return -1;
    out->sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    out->nsec = nsec;
    return 0;
}

int dinstant_cmp(dinstant a, dinstant b)
{
    if (a.sec != b.sec) return a.sec < b.sec ? -1 : 1;
    return (a.nsec > b.nsec) - (a.nsec < b.nsec);
}
