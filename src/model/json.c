/*
 * json.c — the JSON parser into SDOC (format in doc.h). Layer: model.
 *
 * Two passes over a flat "tape" of nodes: no tree, no recursion, no malloc per value.
 *   Pass 1 (parse_*) reads the text once, left to right, with an explicit stack of open
 *   containers. Every value becomes one tape node: scalars carry their value, strings a
 *   pointer to their bytes (into the text, or into the scratch area when escapes had to
 *   be decoded), containers their count and the tape index after their subtree. Each
 *   open container sums the encoded sizes of its children, so its own size is known
 *   when it closes. An object then sorts its members by key, keeps only the last of
 *   equal keys, and appends them in that order to `perm`.
 *   Pass 2 (emit_*) reserves the whole document in `out` once and writes every byte in
 *   its final place: array elements in tape order, object members in `perm` order;
 *   an offset is filled in as each child starts, a size field as each container ends.
 *
 * Invariants:
 *   1. Pass 1 reads at least one byte per node, so the tape has at most len + 1 nodes
 *      and the main loop at most len + 1 rounds.
 *   2. A decoded string is never longer than its text (an escape of 2, 6 or 12 bytes
 *      gives at most 1, 3 or 4), so the scratch area, sized once to the rest of the
 *      text at the first escape, never moves: pointers into it stay valid.
 *   3. At most JSON_DEPTH_MAX containers are open; the parse stack and the emit stack
 *      share one array of that size (the second pass starts when the first is done).
 *   4. The bytes written by pass 2 are exactly the size computed by pass 1 (asserted).
 * Small documents use the arrays inside the parser struct (on the caller's stack,
 * about 17 KiB); larger ones move to the heap, doubling.
 */
#include "model/doc_int.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

#define TAPE_INLINE 128     /* nodes: a 0.5 KiB document has about 40 */
#define MEMBERS_INLINE 64   /* object members open at once / in closed objects */
#define SCRATCH_INLINE 1024 /* decoded strings when the rest of the text is this short */
#define SORT_SMALL 16       /* insertion sort up to here, heap sort above */
#define NUM_STACK 128       /* number tokens shorter than this are copied on the stack */

/* One value. */
typedef struct jnode {
    uint8_t tag;
    uint32_t n; /* string: byte length; container: count (objects: after dropping dups) */
    union {
        uint64_t bits; /* int64, uint64, double */
        const char *s; /* string bytes */
        struct {
            uint32_t end;  /* tape index after the subtree */
            uint32_t perm; /* object: index of its first member in perm */
        } c;
    } v;
} jnode;

/* One object member. */
typedef struct jmember {
    const char *key;
    uint32_t klen;
    uint32_t vidx;  /* tape index of the value (input order breaks ties of equal keys) */
    uint32_t vsize; /* encoded bytes of the value */
} jmember;

/* An open container in pass 1. */
typedef struct jframe {
    uint32_t node;  /* tape index */
    uint32_t count; /* children so far (objects: members, duplicates included) */
    uint32_t mbase; /* object: its first member on the member stack */
    int is_obj;
    uint64_t bytes; /* array: encoded sizes of the elements so far */
} jframe;

/* An open container in pass 2: where its size, table and area are in the output. */
typedef struct eframe {
    uint8_t *size_at; /* the size field; the table follows the count after it */
    uint8_t *area;    /* elements (arrays) or keys (objects) */
    const jmember *m; /* object: members in key order */
    uint32_t i, n;
    uint32_t next; /* array: tape index of the next element */
    int is_obj;
} eframe;

typedef struct jparser {
    const char *text, *p, *end;
    unsigned flags;     /* JSON_PARSE_* */
    json_scratch *keep; /* NULL, or where heap arrays come from and go back to */
    const char *err_at, *err_msg;
    jnode *tape;
    jmember *mem, *perm; /* stack of open objects' members; closed objects' members */
    size_t ntape, tape_cap, nmem, mem_cap, nperm, perm_cap;
    char *scratch, *sw, *scratch_end; /* decoded strings; NULL until the first escape */
    uint32_t depth;
    union {
        jframe parse[JSON_DEPTH_MAX];
        eframe emit[JSON_DEPTH_MAX];
    } stack;
    jnode tape0[TAPE_INLINE];
    jmember mem0[MEMBERS_INLINE], perm0[MEMBERS_INLINE];
    char scratch0[SCRATCH_INLINE];
} jparser;

/* Bytes that end a run of plain string bytes: controls, '"', '\\', and non-ASCII. */
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const uint8_t k_special[256] = {
    R16(1), R16(1),                                 /* 0x00-0x1f */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20-0x2f: '"' */
    R16(0), R16(0),                                 /* 0x30-0x4f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50-0x5f: '\\' */
    R16(0), R16(0),                                 /* 0x60-0x7f */
    R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), /* 0x80-0xff */
};

static const double k_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path is exact only if double arithmetic is done in double. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define FAST_DOUBLES 1
#else
#define FAST_DOUBLES 0
#endif

static int fail(jparser *P, const char *at, const char *msg)
{
    P->err_at = at;
    P->err_msg = msg;
    return -1;
}

/* Makes room for `need` elements in the array *arr of capacity *cap, moving it from
 * its inline storage to the heap on the first growth. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem, const void *inline0)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap * 2;
    while (ncap < need) ncap *= 2;
    void *p;
    if (*arr == inline0) {
        p = malloc(ncap * elem);
        if (p) memcpy(p, *arr, *cap * elem);
    } else {
        p = realloc(*arr, ncap * elem);
    }
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static jnode *push_node(jparser *P)
{
    if (P->ntape == P->tape_cap &&
        grow((void **)&P->tape, &P->tape_cap, P->ntape + 1, sizeof(jnode), P->tape0) != 0) {
        fail(P, P->p, "out of memory");
        return NULL;
    }
    return &P->tape[P->ntape++];
}

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

static inline int is_digit(char c) { return (unsigned)(c - '0') < 10u; }

/* ---- strings ---- */

/* The first byte in [q, end) that is special (k_special), or end. Eight bytes at a time
 * while none of them is a control byte, '"', '\\' or >= 0x80: with no high bit set,
 * (x - 0x20..) and (x ^ c) - 0x01.. set a high bit exactly in bytes < 0x20 or == c,
 * apart from borrows that only follow such a byte. */
static inline const uint8_t *scan_plain(const uint8_t *q, const uint8_t *end)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (end - q >= 8) {
        uint64_t x;
        memcpy(&x, q, 8);
        uint64_t t = ((x - ones * 0x20) | ((x ^ (ones * 0x22)) - ones) |
                      ((x ^ (ones * 0x5c)) - ones) | x) & high;
        if (!t) {
            q += 8;
            continue;
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* the lowest flagged byte is a true one (borrows only flag bytes above it) */
        return q + (__builtin_ctzll(t) >> 3);
#else
        break;
#endif
    }
    while (q < end && !k_special[*q]) q++;
    return q;
}

static int hex4(const uint8_t *q, const uint8_t *end, uint32_t *out)
{
    if (end - q < 4) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = q[i];
        uint32_t d;
        if (c >= '0' && c <= '9') d = (uint32_t)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') d = (uint32_t)((c | 0x20) - 'a' + 10);
        else return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *w, uint32_t cp)
{
    STELE_ASSERT(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF));
    if (cp < 0x80) {
        *w++ = (char)cp;
    } else if (cp < 0x800) {
        *w++ = (char)(0xC0 | cp >> 6);
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *w++ = (char)(0xE0 | cp >> 12);
        *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *w++ = (char)(0xF0 | cp >> 18);
        *w++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    }
    return w;
}

/* A \u escape at *q (the backslash): one code point, or a surrogate pair of two. */
static int decode_u(jparser *P, const uint8_t **q, char **w)
{
    const uint8_t *s = *q, *end = (const uint8_t *)P->end;
    uint32_t cp, lo;
    if (hex4(s + 2, end, &cp) != 0) return fail(P, (const char *)s, "invalid \\u escape");
    s += 6;
    if (cp == 0 && (P->flags & JSON_PARSE_NO_NUL))
        return fail(P, (const char *)s - 6, "\\u0000 is not allowed in strings here");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(P, (const char *)s - 6, "lone surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, end, &lo) != 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return fail(P, (const char *)s - 6, "lone surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        s += 6;
    }
    *w = put_utf8(*w, cp);
    *q = s;
    return 0;
}

/* The escape at *q (a backslash), decoded to *w. */
static int decode_escape(jparser *P, const uint8_t **q, char **w)
{
    const uint8_t *s = *q;
    if ((const char *)s + 1 >= P->end) return fail(P, P->end, "unterminated string");
    char c;
    switch (s[1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': return decode_u(P, q, w);
    default: return fail(P, (const char *)s, "invalid escape in string");
    }
    *(*w)++ = c;
    *q = s + 2;
    return 0;
}

/* Sizes the scratch area for every string from `from` to the end (invariant 2). */
static int scratch_init(jparser *P, const uint8_t *from)
{
    size_t need = (size_t)(P->end - (const char *)from);
    json_scratch *k = P->keep;
    if (need <= SCRATCH_INLINE) {
        P->scratch = P->scratch0;
    } else if (k && k->esc_cap >= need) { /* borrowed until parser_release */
        P->scratch = k->esc;
        k->esc = NULL;
        k->esc_cap = 0;
    } else if (!(P->scratch = malloc(need))) {
        return fail(P, (const char *)from, "out of memory");
    }
    P->sw = P->scratch;
    P->scratch_end = P->scratch + need;
    return 0;
}

/* The rest of a string from its first backslash at q: decodes the whole string (from
 * start, after the opening quote) into the scratch area. */
static int parse_string_esc(jparser *P, const uint8_t *start, const uint8_t *q,
                            const char **s, uint32_t *n)
{
    const uint8_t *end = (const uint8_t *)P->end;
    if (!P->scratch && scratch_init(P, start) != 0) return -1;
    char *w0 = P->sw, *w = w0;
    memcpy(w, start, (size_t)(q - start));
    w += q - start;
    while (q < end) { /* bounded: every round consumes at least one byte */
        const uint8_t *r = scan_plain(q, end);
        memcpy(w, q, (size_t)(r - q));
        w += r - q;
        q = r;
        if (q == end) break;
        if (*q == '"') {
            STELE_ASSERT(w <= P->scratch_end); /* invariant 2 */
            *s = w0;
            *n = (uint32_t)(w - w0);
            P->sw = w;
            P->p = (const char *)q + 1;
            return 0;
        }
        if (*q < 0x20) return fail(P, (const char *)q, "control character in string");
        if (*q == '\\') {
            if (decode_escape(P, &q, &w) != 0) return -1;
            continue;
        }
        size_t k = utf8_seq(q, end);
        if (k == 0) return fail(P, (const char *)q, "invalid UTF-8 in string");
        memcpy(w, q, k);
        w += k;
        q += k;
    }
    return fail(P, P->end, "unterminated string");
}

/* The string whose opening quote is at P->p: *s, *n get its bytes (decoded), and P->p
 * moves past the closing quote. Without escapes the bytes stay in the text. */
static int parse_string(jparser *P, const char **s, uint32_t *n)
{
    const uint8_t *start = (const uint8_t *)P->p + 1, *q = start;
    const uint8_t *end = (const uint8_t *)P->end;
    while (q < end) { /* bounded: every round consumes at least one byte */
        q = scan_plain(q, end);
        if (q == end) break;
        if (*q == '"') {
            *s = (const char *)start;
            *n = (uint32_t)(q - start);
            P->p = (const char *)q + 1;
            return 0;
        }
        if (*q == '\\') return parse_string_esc(P, start, q, s, n);
        if (*q < 0x20) return fail(P, (const char *)q, "control character in string");
        size_t k = utf8_seq(q, end);
        if (k == 0) return fail(P, (const char *)q, "invalid UTF-8 in string");
        q += k;
    }
    return fail(P, P->end, "unterminated string");
}

/* ---- numbers ---- */

/* The token [s, q) through strtod in the "C" locale: correctly rounded. */
static int slow_double(jparser *P, const char *s, const char *q, double *out)
{
    char stack[NUM_STACK], *b = stack;
    size_t n = (size_t)(q - s);
    if (n >= sizeof stack && !(b = malloc(n + 1))) return fail(P, s, "out of memory");
    memcpy(b, s, n);
    b[n] = 0;
    char *e;
    locale_t c = doc_c_locale();
    *out = c ? strtod_l(b, &e, c) : strtod(b, &e);
    int ok = e == b + n;
    if (b != stack) free(b);
    if (!ok) return fail(P, s, "invalid number");
    if (!isfinite(*out)) return fail(P, s, "number out of range");
    return 0;
}

/* An integer token of magnitude m: int64, or uint64 above INT64_MAX. 0 if it has no
 * 64-bit form (a negative below INT64_MIN). */
static int set_int(jnode *nd, int neg, uint64_t m)
{
    if (!neg) {
        nd->tag = m <= (uint64_t)INT64_MAX ? SDOC_INT : SDOC_UINT;
        nd->v.bits = m;
        return 1;
    }
    if (m > (uint64_t)INT64_MAX + 1) return 0;
    nd->tag = SDOC_INT;
    nd->v.bits = (uint64_t)0 - m; /* two's complement of -m; -0 is the int 0 */
    return 1;
}

/* Fraction and exponent after the integer part; *m, *e10 describe the value as
 * m * 10^e10 while *exact says that m holds every nonzero digit. */
static int parse_frac_exp(jparser *P, const char **qp, uint64_t *m, int64_t *e10, int *exact)
{
    const char *q = *qp, *end = P->end;
    if (q < end && *q == '.') {
        q++;
        if (q == end || !is_digit(*q)) return fail(P, q, "expected a digit after '.'");
        for (; q < end && is_digit(*q); q++) {
            if (*m < 100000000000000000ull) { /* 1e17: m * 10 + 9 still fits */
                *m = *m * 10 + (uint64_t)(*q - '0');
                (*e10)--;
            } else if (*q != '0') {
                *exact = 0; /* a dropped trailing zero changes nothing, other digits do */
            }
        }
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        int eneg = q < end && *q == '-';
        if (q < end && (*q == '+' || *q == '-')) q++;
        if (q == end || !is_digit(*q)) return fail(P, q, "expected a digit in exponent");
        int64_t ex = 0;
        for (; q < end && is_digit(*q); q++)
            if (ex < 1000000) ex = ex * 10 + (*q - '0'); /* beyond, strtod decides */
        *e10 += eneg ? -ex : ex;
    }
    *qp = q;
    return 0;
}

static int parse_number(jparser *P, jnode *nd)
{
    const char *s = P->p, *q = s, *end = P->end;
    int neg = *q == '-';
    q += neg;
    if (q == end || !is_digit(*q)) return fail(P, q, "expected a digit in number");
    uint64_t m = 0;
    int exact = 1; /* m holds the integer part exactly */
    if (*q == '0') {
        q++;
        if (q < end && is_digit(*q)) return fail(P, q, "leading zero in number");
    }
    for (; q < end && is_digit(*q); q++) {
        uint64_t d = (uint64_t)(*q - '0');
        if (exact && m <= (UINT64_MAX - d) / 10) m = m * 10 + d;
        else exact = 0;
    }
    int is_int = q == end || (*q != '.' && *q != 'e' && *q != 'E');
    if (is_int && exact && set_int(nd, neg, m) &&
        !(nd->tag == SDOC_UINT && (P->flags & JSON_PARSE_INT64_ONLY))) {
        P->p = q;
        return 0;
    }
    if (is_int && (P->flags & JSON_PARSE_INT64_ONLY))
        return fail(P, s, "integer out of the int64 range");
    int64_t e10 = 0;
    if (!exact) m = UINT64_MAX; /* keeps the fraction from being appended */
    if (parse_frac_exp(P, &q, &m, &e10, &exact) != 0) return -1;
    double d;
    if (FAST_DOUBLES && exact && m <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
        d = e10 >= 0 ? (double)m * k_pow10[e10] : (double)m / k_pow10[-e10];
        if (neg) d = -d;
    } else if (slow_double(P, s, q, &d) != 0) {
        return -1;
    }
    nd->tag = SDOC_DOUBLE;
    memcpy(&nd->v.bits, &d, sizeof d);
    P->p = q;
    return 0;
}

/* ---- containers ---- */

static int member_cmp(const jmember *a, const jmember *b)
{
    int c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);
    if (c != 0) return c;
    if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
    return a->vidx < b->vidx ? -1 : a->vidx > b->vidx;
}

static void sift_down(jmember *a, size_t root, size_t n)
{
    for (;;) { /* bounded: root at least doubles each round */
        size_t c = 2 * root + 1;
        if (c >= n) return;
        if (c + 1 < n && member_cmp(&a[c], &a[c + 1]) < 0) c++;
        if (member_cmp(&a[root], &a[c]) >= 0) return;
        jmember t = a[root];
        a[root] = a[c];
        a[c] = t;
        root = c;
    }
}

/* Sorts by (key, input order): insertion sort for the usual few members (and for
 * members that arrive sorted), heap sort for many (no recursion, O(n log n)). */
static void sort_members(jmember *a, size_t n)
{
    if (n <= SORT_SMALL) {
        for (size_t i = 1; i < n; i++) {
            jmember t = a[i];
            size_t j = i;
            for (; j > 0 && member_cmp(&a[j - 1], &t) > 0; j--) a[j] = a[j - 1];
            a[j] = t;
        }
        return;
    }
    for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n);
    for (size_t e = n; e-- > 1;) {
        jmember t = a[0];
        a[0] = a[e];
        a[e] = t;
        sift_down(a, 0, e);
    }
}

/* Sorts the closing object's members, keeps the last of equal keys, appends them to
 * perm; *body gets the object's body size. */
static int close_object(jparser *P, const jframe *f, uint64_t *body)
{
    size_t n = P->nmem - f->mbase;
    if (grow((void **)&P->perm, &P->perm_cap, P->nperm + n, sizeof(jmember), P->perm0) != 0)
        return fail(P, P->p, "out of memory");
    jmember *m = P->mem + f->mbase, *out = P->perm + P->nperm;
    sort_members(m, n);
    size_t k = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && m[i].klen == m[i + 1].klen &&
            memcmp(m[i].key, m[i + 1].key, m[i].klen) == 0)
            continue; /* a later duplicate replaces this one */
        out[k++] = m[i];
        bytes += 4 + (uint64_t)m[i].klen + m[i].vsize;
    }
    STELE_ASSERT(k <= n && (n == 0) == (k == 0));
    jnode *nd = &P->tape[f->node];
    STELE_ASSERT(nd->tag == SDOC_OBJECT);
    nd->n = (uint32_t)k;
    nd->v.c.perm = (uint32_t)P->nperm;
    P->nperm += k;
    P->nmem = f->mbase;
    *body = 4 + 8 * (uint64_t)k + bytes;
    return 0;
}

/* Pops the innermost container (its closing bracket consumed); *size gets its bytes. */
static int close_container(jparser *P, uint64_t *size)
{
    STELE_ASSERT(P->depth > 0);
    const jframe *f = &P->stack.parse[--P->depth];
    uint64_t body;
    if (f->is_obj) {
        if (close_object(P, f, &body) != 0) return -1;
    } else {
        P->tape[f->node].n = f->count;
        body = 4 + 4 * (uint64_t)f->count + f->bytes;
    }
    P->tape[f->node].v.c.end = (uint32_t)P->ntape;
    if (body > SDOC_MAX) return fail(P, P->p, "document too large");
    *size = 5 + body;
    return 1;
}

/* An object key and its ':' at P->p (after optional whitespace): pushes a member. */
static int read_key(jparser *P)
{
    const char *p = skip_ws(P->p, P->end);
    if (p == P->end || *p != '"') return fail(P, p, "expected a string as object key");
    P->p = p;
    const char *k;
    uint32_t kn;
    if (parse_string(P, &k, &kn) != 0) return -1;
    p = skip_ws(P->p, P->end);
    if (p == P->end || *p != ':') return fail(P, p, "expected ':' after object key");
    P->p = p + 1;
    if (P->nmem == P->mem_cap &&
        grow((void **)&P->mem, &P->mem_cap, P->nmem + 1, sizeof(jmember), P->mem0) != 0)
        return fail(P, p, "out of memory");
    P->mem[P->nmem++] = (jmember){k, kn, (uint32_t)P->ntape, 0};
    return 0;
}

/* The '{' or '[' at P->p, whose node is the last on the tape. 1 if it closed at once
 * (*size set), 0 if its first child follows (an object's first key already read). */
static int open_container(jparser *P, uint64_t *size)
{
    if (P->depth >= JSON_DEPTH_MAX)
        return fail(P, P->p, "nesting deeper than " STR(JSON_DEPTH_MAX));
    int is_obj = *P->p == '{';
    jframe *f = &P->stack.parse[P->depth++];
    *f = (jframe){(uint32_t)(P->ntape - 1), 0, (uint32_t)P->nmem, is_obj, 0};
    P->tape[f->node].tag = is_obj ? SDOC_OBJECT : SDOC_ARRAY;
    P->p = skip_ws(P->p + 1, P->end);
    if (P->p < P->end && *P->p == (is_obj ? '}' : ']')) {
        P->p++;
        return close_container(P, size);
    }
    return is_obj ? read_key(P) : 0;
}

static int parse_literal(jparser *P, jnode *nd, const char *word, size_t n, uint8_t tag)
{
    if ((size_t)(P->end - P->p) < n || memcmp(P->p, word, n) != 0)
        return fail(P, P->p, "invalid literal");
    nd->tag = tag;
    P->p += n;
    return 0;
}

/* Reads a value at P->p (after optional whitespace). 1 if a whole value was read (*size
 * gets its encoded bytes), 0 if a non-empty container was opened, -1 on error. */
static int parse_value(jparser *P, uint64_t *size)
{
    P->p = skip_ws(P->p, P->end);
    if (P->p == P->end) return fail(P, P->p, "unexpected end of input, expected a value");
    jnode *nd = push_node(P);
    if (!nd) return -1;
    int rc;
    char c = *P->p;
    *size = 1;
    switch (c) {
    case '{':
    case '[': return open_container(P, size);
    case '"':
        nd->tag = SDOC_STRING;
        rc = parse_string(P, &nd->v.s, &nd->n);
        *size = SDOC_STR_HDR + (uint64_t)nd->n;
        break;
    case 't': rc = parse_literal(P, nd, "true", 4, SDOC_TRUE); break;
    case 'f': rc = parse_literal(P, nd, "false", 5, SDOC_FALSE); break;
    case 'n': rc = parse_literal(P, nd, "null", 4, SDOC_NULL); break;
    default:
        if (c != '-' && !is_digit(c)) return fail(P, P->p, "expected a value");
        rc = parse_number(P, nd);
        *size = SDOC_SCALAR_BYTES;
        break;
    }
    return rc == 0 ? 1 : -1;
}

/* A value of *size bytes just ended in the innermost container: reads ',' (and in an
 * object the next key) or the closing bracket. 0 if another child follows, 1 if the
 * container closed (*size becomes its size), -1 on error. */
static int after_value(jparser *P, uint64_t *size)
{
    jframe *f = &P->stack.parse[P->depth - 1];
    f->count++;
    if (f->is_obj) P->mem[P->nmem - 1].vsize = (uint32_t)*size;
    else f->bytes += *size;
    const char *p = skip_ws(P->p, P->end);
    if (p < P->end && *p == ',') {
        P->p = p + 1;
        return f->is_obj ? read_key(P) : 0;
    }
    if (p < P->end && *p == (f->is_obj ? '}' : ']')) {
        P->p = p + 1;
        return close_container(P, size);
    }
    return fail(P, p, f->is_obj ? "expected ',' or '}' after object member"
                                : "expected ',' or ']' after array element");
}

/* Pass 1 over the whole text; *total gets the encoded size of the document. */
static int parse_all(jparser *P, uint64_t *total)
{
    size_t len = (size_t)(P->end - P->p);
    uint64_t size = 0;
    for (size_t round = 0; round <= len; round++) { /* invariant 1 */
        int r = parse_value(P, &size);
        while (r == 1) { /* bounded: each close consumes a bracket */
            if (P->depth == 0) {
                const char *p = skip_ws(P->p, P->end);
                if (p != P->end) return fail(P, p, "trailing characters after the document");
                *total = size;
                return 0;
            }
            r = after_value(P, &size);
        }
        if (r < 0) return -1;
    }
    return fail(P, P->p, "internal error: no progress"); /* unreachable (invariant 1) */
}

/* ---- pass 2 ---- */

static uint32_t node_after(const jparser *P, uint32_t idx)
{
    const jnode *nd = &P->tape[idx];
    return nd->tag == SDOC_ARRAY || nd->tag == SDOC_OBJECT ? nd->v.c.end : idx + 1;
}

/* Writes a container's header, table and (objects) key area at w; pushes its frame. */
static uint8_t *emit_open(jparser *P, const jnode *nd, uint32_t idx, uint8_t *w)
{
    STELE_ASSERT(P->depth < JSON_DEPTH_MAX);
    eframe *f = &P->stack.emit[P->depth++];
    f->size_at = w + 1;
    put_u32(w + 5, nd->n);
    uint8_t *table = w + SDOC_CONT_HDR;
    f->i = 0;
    f->n = nd->n;
    f->is_obj = nd->tag == SDOC_OBJECT;
    if (!f->is_obj) {
        f->area = table + 4 * (size_t)f->n;
        f->next = idx + 1;
        return f->area;
    }
    f->m = P->perm + nd->v.c.perm;
    f->area = table + 8 * (size_t)f->n;
    uint8_t *k = f->area;
    for (uint32_t i = 0; i < f->n; i++) {
        put_u32(table + 8 * (size_t)i, (uint32_t)(k - f->area));
        put_u32(k, f->m[i].klen);
        memcpy(k + 4, f->m[i].key, f->m[i].klen);
        k += 4 + (size_t)f->m[i].klen;
    }
    return k;
}

static uint8_t *emit_node(jparser *P, uint32_t idx, uint8_t *w)
{
    const jnode *nd = &P->tape[idx];
    *w = nd->tag;
    switch (nd->tag) {
    case SDOC_NULL:
    case SDOC_FALSE:
    case SDOC_TRUE: return w + 1;
    case SDOC_INT:
    case SDOC_UINT:
    case SDOC_DOUBLE: put_u64(w + 1, nd->v.bits); return w + SDOC_SCALAR_BYTES;
    case SDOC_STRING:
        put_u32(w + 1, nd->n);
        memcpy(w + SDOC_STR_HDR, nd->v.s, nd->n);
        return w + SDOC_STR_HDR + nd->n;
    default: return emit_open(P, nd, idx, w);
    }
}

/* Pass 2: writes the document (total bytes) at w; the stack is free again. */
static void emit_all(jparser *P, uint8_t *w, uint64_t total)
{
    uint8_t *start = w;
    STELE_ASSERT(P->depth == 0 && P->ntape > 0);
    w = emit_node(P, 0, w);
    /* Bounded: each round writes one node or closes one container. */
    while (P->depth > 0) {
        eframe *f = &P->stack.emit[P->depth - 1];
        if (f->i == f->n) {
            put_u32(f->size_at, (uint32_t)(w - f->size_at - 4));
            P->depth--;
            continue;
        }
        uint32_t idx;
        uint8_t *table = f->size_at + 8;
        if (f->is_obj) {
            put_u32(table + 8 * (size_t)f->i + 4, (uint32_t)(w - f->area));
            idx = f->m[f->i].vidx;
        } else {
            put_u32(table + 4 * (size_t)f->i, (uint32_t)(w - f->area));
            idx = f->next;
            f->next = node_after(P, idx);
        }
        f->i++;
        w = emit_node(P, idx, w);
    }
    STELE_ASSERT((uint64_t)(w - start) == total); /* invariant 4 */
}

/* ---- entry point ---- */

/* Takes the array kept in *arr (capacity *cap) if it is larger than the inline one. */
static void take_kept(void **arr, size_t *cap, void **kept, size_t *kept_cap)
{
    if (*kept && *kept_cap > *cap) {
        *arr = *kept;
        *cap = *kept_cap;
        *kept = NULL;
        *kept_cap = 0;
    }
}

static void parser_init(jparser *P, const char *text, size_t len, unsigned flags,
                        json_scratch *keep)
{
    P->text = P->p = text;
    P->flags = flags;
    P->keep = keep;
    P->end = text + len;
    P->err_at = text;
    P->err_msg = NULL;
    P->tape = P->tape0;
    P->tape_cap = TAPE_INLINE;
    P->mem = P->mem0;
    P->perm = P->perm0;
    P->mem_cap = P->perm_cap = MEMBERS_INLINE;
    P->ntape = P->nmem = P->nperm = 0;
    P->scratch = P->sw = P->scratch_end = NULL;
    P->depth = 0;
    if (!keep) return;
    take_kept((void **)&P->tape, &P->tape_cap, &keep->tape, &keep->tape_cap);
    take_kept((void **)&P->mem, &P->mem_cap, &keep->mem, &keep->mem_cap);
    take_kept((void **)&P->perm, &P->perm_cap, &keep->perm, &keep->perm_cap);
}

/* Frees a heap array, or hands it to the caller's scratch (which keeps the larger). */
static void give_back(void *arr, size_t cap, const void *inline0, void **kept, size_t *kept_cap)
{
    if (arr == inline0) return;
    if (!kept || cap <= *kept_cap) {
        free(arr);
        return;
    }
    free(*kept);
    *kept = arr;
    *kept_cap = cap;
}

static void parser_release(jparser *P)
{
    json_scratch *k = P->keep;
    give_back(P->tape, P->tape_cap, P->tape0, k ? &k->tape : NULL, k ? &k->tape_cap : NULL);
    give_back(P->mem, P->mem_cap, P->mem0, k ? &k->mem : NULL, k ? &k->mem_cap : NULL);
    give_back(P->perm, P->perm_cap, P->perm0, k ? &k->perm : NULL, k ? &k->perm_cap : NULL);
    if (P->scratch)
        give_back(P->scratch, (size_t)(P->scratch_end - P->scratch), P->scratch0,
                  k ? (void **)&k->esc : NULL, k ? &k->esc_cap : NULL);
}

void json_scratch_release(json_scratch *k)
{
    if (!k) return;
    free(k->tape);
    free(k->mem);
    free(k->perm);
    free(k->esc);
    memset(k, 0, sizeof *k);
}

static void error_fill(const jparser *P, json_error *err)
{
    if (!err) return;
    STELE_ASSERT(P->err_at >= P->text && P->err_at <= P->end && P->err_msg);
    err->offset = (size_t)(P->err_at - P->text);
    err->line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < err->offset; i++)
        if (P->text[i] == '\n') {
            err->line++;
            line_start = i + 1;
        }
    err->column = err->offset - line_start + 1;
    err->msg = P->err_msg;
}

int json_parse(const char *text, size_t len, struct buf *out, json_error *err)
{
    return json_parse_flags(text, len, out, err, 0);
}

int json_parse_flags(const char *text, size_t len, struct buf *out, json_error *err,
                     unsigned flags)
{
    return json_parse_kept(text, len, out, err, flags, NULL);
}

int json_parse_kept(const char *text, size_t len, struct buf *out, json_error *err,
                    unsigned flags, json_scratch *keep)
{
    STELE_ASSERT(out && (text || len == 0));
    STELE_ASSERT((flags & ~(unsigned)(JSON_PARSE_INT64_ONLY | JSON_PARSE_NO_NUL)) == 0);
    jparser P;
    uint64_t total = 0;
    int rc = -1;
    parser_init(&P, text ? text : "", len, flags, keep);
    if (len > JSON_TEXT_MAX)
        fail(&P, P.text + JSON_TEXT_MAX, "document larger than JSON_TEXT_MAX (16 MiB)");
    else if (len >= 3 && memcmp(P.text, "\xef\xbb\xbf", 3) == 0)
        fail(&P, P.text, "byte order mark before the document"); /* RFC 8259 8.1 */
    else if (parse_all(&P, &total) != 0)
        ; /* P holds the error */
    else if (buf_reserve(out, (size_t)total) != 0)
        fail(&P, P.text, "out of memory");
    else {
        emit_all(&P, out->data + out->len, total);
        out->len += (size_t)total;
        out->data[out->len] = 0; /* buf keeps a NUL after its bytes */
        rc = 0;
    }
    if (rc != 0) error_fill(&P, err);
    parser_release(&P);
    return rc;
}
