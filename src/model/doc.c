/*
 * doc.c — readers of SDOC bytes (format table in doc.h): the validator run before
 * bytes from disk are trusted, field lookup by key, index and dotted path, scalar
 * readers. Layer: model.
 *
 * Invariants:
 *   1. Nothing here reads outside [doc, doc + len): every length and offset read from
 *      the bytes is checked against the end of the enclosing value before use, with
 *      64-bit arithmetic so that no sum of u32 fields can wrap.
 *   2. No recursion: doc_validate keeps an explicit stack of at most SDOC_DEPTH_MAX
 *      open containers; doc_path walks one component at a time.
 *   3. Malformed bytes return -1, never an assertion (STYLE.md).
 */
#include "model/doc_int.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* ---- shared helpers (doc_int.h) ---- */

static locale_t g_c_locale;
static pthread_once_t g_c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) { g_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

locale_t doc_c_locale(void)
{
    int rc = pthread_once(&g_c_locale_once, c_locale_init);
    return rc == 0 ? g_c_locale : (locale_t)0;
}

int doc_utf8_valid(const uint8_t *s, size_t n)
{
    const uint8_t *p = s, *end = s + n;
    while (p < end) { /* bounded: every step advances p by at least 1 */
        uint64_t w;
        if (end - p >= 8 && (memcpy(&w, p, 8), (w & 0x8080808080808080ull) == 0)) {
            p += 8; /* eight ASCII bytes */
            continue;
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t k = utf8_seq(p, end);
        if (k == 0) return 0;
        p += k;
    }
    return 1;
}

size_t doc_value_len(const uint8_t *p, const uint8_t *end)
{
    STELE_ASSERT(p <= end);
    size_t avail = (size_t)(end - p);
    if (avail < 1) return 0;
    uint64_t n;
    switch (p[0]) {
    case SDOC_NULL:
    case SDOC_FALSE:
    case SDOC_TRUE: n = 1; break;
    case SDOC_INT:
    case SDOC_UINT:
    case SDOC_DOUBLE: n = SDOC_SCALAR_BYTES; break;
    case SDOC_STRING:
    case SDOC_ARRAY:
    case SDOC_OBJECT:
        if (avail < 5) return 0;
        n = 5 + (uint64_t)get_u32(p + 1);
        break;
    default: return 0;
    }
    return n <= avail ? (size_t)n : 0;
}

/* ---- validation ---- */

/* One open container: its table, the start of its element/key area, the end of its
 * body, and the next child to check. */
typedef struct vframe {
    const uint8_t *table, *area, *end;
    uint32_t i, n;
    int is_obj;
} vframe;

typedef struct vstate {
    vframe stack[SDOC_DEPTH_MAX];
    uint32_t depth;
} vstate;

static int key_cmp(const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0) return c;
    return an < bn ? -1 : an > bn;
}

/* Checks the key table and key area of object frame f (invariant 1 of the format:
 * contiguous keys in strictly increasing order); *vals gets the value area start. */
static int validate_keys(const vframe *f, const uint8_t **vals)
{
    const uint8_t *k = f->area, *prev = NULL;
    uint32_t prev_n = 0;
    for (uint32_t i = 0; i < f->n; i++) {
        if (get_u32(f->table + 8 * (size_t)i) != (uint64_t)(k - f->area)) return -1;
        if (f->end - k < 4) return -1;
        uint32_t n = get_u32(k);
        if ((uint64_t)(f->end - k - 4) < n) return -1;
        if (!doc_utf8_valid(k + 4, n)) return -1;
        if (prev && key_cmp(prev, prev_n, k + 4, n) >= 0) return -1;
        prev = k + 4;
        prev_n = n;
        k += 4 + (size_t)n;
    }
    *vals = k;
    return 0;
}

/* Opens the container at p (tag already known) within [p, lim): pushes its frame and
 * sets *next to where its first child (or its end, if empty) must start. */
static int validate_open(vstate *st, const uint8_t *p, const uint8_t *lim,
                         const uint8_t **next)
{
    if (st->depth >= SDOC_DEPTH_MAX) return -1;
    if (lim - p < (ptrdiff_t)SDOC_CONT_HDR) return -1;
    uint64_t size = get_u32(p + 1);
    if (size > (uint64_t)(lim - p - 5) || size < 4) return -1;
    vframe *f = &st->stack[st->depth];
    f->is_obj = p[0] == SDOC_OBJECT;
    f->n = get_u32(p + 5);
    f->i = 0;
    f->end = p + 5 + size;
    uint64_t table = (uint64_t)f->n * (f->is_obj ? 8u : 4u);
    if (table > size - 4) return -1;
    f->table = p + 9;
    f->area = f->table + table;
    *next = f->area;
    if (f->is_obj && validate_keys(f, next) != 0) return -1;
    st->depth++;
    return 0;
}

/* Checks the value at *p within [*p, lim); scalars and strings are consumed, a
 * container is opened (its children are checked by the caller's loop). */
static int validate_one(vstate *st, const uint8_t **p, const uint8_t *lim)
{
    const uint8_t *v = *p;
    if (v >= lim) return -1;
    if (v[0] == SDOC_ARRAY || v[0] == SDOC_OBJECT) return validate_open(st, v, lim, p);
    size_t n = doc_value_len(v, lim);
    if (n == 0) return -1;
    if (v[0] == SDOC_UINT && get_u64(v + 1) <= (uint64_t)INT64_MAX) return -1;
    if (v[0] == SDOC_DOUBLE) {
        uint64_t bits = get_u64(v + 1);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d)) return -1;
    }
    if (v[0] == SDOC_STRING && !doc_utf8_valid(v + 5, n - 5)) return -1;
    *p = v + n;
    return 0;
}

/* After a value ended at p: closes finished containers and checks that the next child
 * starts where its table says (format invariant 1). Returns 0 or -1. */
static int validate_step(vstate *st, const uint8_t *p)
{
    while (st->depth > 0) { /* bounded by the depth */
        vframe *f = &st->stack[st->depth - 1];
        if (f->i == f->n) {
            if (p != f->end) return -1;
            st->depth--;
            continue;
        }
        size_t at = f->is_obj ? 8 * (size_t)f->i + 4 : 4 * (size_t)f->i;
        if (get_u32(f->table + at) != (uint64_t)(p - f->area)) return -1;
        f->i++;
        return 0;
    }
    return 0;
}

int doc_validate(const uint8_t *doc, size_t len)
{
    if (!doc || len == 0 || len > SDOC_MAX) return -1;
    vstate stv; /* 10 KiB of stack: the parser uses more */
    vstate *st = &stv;
    st->depth = 0;
    const uint8_t *p = doc, *end = doc + len;
    int rc = -1;
    /* Every iteration consumes at least the tag byte of one value: at most len. */
    for (size_t guard = 0; guard < len; guard++) {
        const uint8_t *lim = st->depth ? st->stack[st->depth - 1].end : end;
        if (validate_one(st, &p, lim) != 0) break;
        if (validate_step(st, p) != 0) break;
        if (st->depth == 0) {
            rc = p == end ? 0 : -1;
            break;
        }
    }
    return rc;
}

/* ---- lookups ---- */

/* Header of the container at doc[0, len) of type `tag`: its count, table and area, and
 * the end of its body. 1 if it is one, 0 if another type, -1 if malformed. */
static int open_container(const uint8_t *doc, size_t len, int tag, uint32_t *n,
                          const uint8_t **table, const uint8_t **area, const uint8_t **end)
{
    if (!doc || len < 1) return -1;
    if (doc[0] != tag) return doc[0] <= SDOC_OBJECT ? 0 : -1;
    if (len < SDOC_CONT_HDR) return -1;
    uint64_t size = get_u32(doc + 1);
    if (size > len - 5 || size < 4) return -1;
    *n = get_u32(doc + 5);
    uint64_t tbytes = (uint64_t)*n * (tag == SDOC_OBJECT ? 8u : 4u);
    if (tbytes > size - 4) return -1;
    *table = doc + 9;
    *area = *table + tbytes;
    *end = doc + 5 + size;
    return 1;
}

/* The value at area + off, which must lie within [area, end). */
static int view_at(const uint8_t *area, const uint8_t *end, uint32_t off, doc_view *out)
{
    if (off >= (uint64_t)(end - area)) return -1;
    size_t n = doc_value_len(area + off, end);
    if (n == 0) return -1;
    out->p = area + off;
    out->len = n;
    return 1;
}

int doc_get(const uint8_t *doc, size_t len, const char *key, size_t klen, doc_view *out)
{
    STELE_ASSERT(out && (key || klen == 0));
    if (!key) key = ""; /* memcmp must not see NULL, even for 0 bytes */
    uint32_t n;
    const uint8_t *table, *area, *end;
    int rc = open_container(doc, len, SDOC_OBJECT, &n, &table, &area, &end);
    if (rc != 1) return rc;
    if (klen > UINT32_MAX) return 0;
    uint32_t lo = 0, hi = n;
    while (lo < hi) { /* binary search: at most 32 steps */
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t koff = get_u32(table + 8 * (size_t)mid);
        if (koff > (uint64_t)(end - area) || end - area - koff < 4) return -1;
        const uint8_t *k = area + koff;
        uint32_t kn = get_u32(k);
        if (kn > (uint64_t)(end - k - 4)) return -1;
        int c = key_cmp(k + 4, kn, (const uint8_t *)key, (uint32_t)klen);
        if (c == 0) return view_at(area, end, get_u32(table + 8 * (size_t)mid + 4), out);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

int doc_index(const uint8_t *doc, size_t len, uint32_t i, doc_view *out)
{
    STELE_ASSERT(out);
    uint32_t n;
    const uint8_t *table, *area, *end;
    int rc = open_container(doc, len, SDOC_ARRAY, &n, &table, &area, &end);
    if (rc != 1) return rc;
    if (i >= n) return 0;
    return view_at(area, end, get_u32(table + 4 * (size_t)i), out);
}

/* A path component as an array index: decimal, no leading zeros, < 2^32. */
static int parse_index(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10 || (n > 1 && s[0] == '0')) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

int doc_path(const uint8_t *doc, size_t len, const char *path, doc_view *out)
{
    STELE_ASSERT(out && path);
    doc_view cur = {doc, len};
    const char *s = path;
    if (*s == 0) {
        if (!doc || doc_value_len(doc, doc + len) != len) return -1;
        *out = cur;
        return 1;
    }
    for (int comp = 0;; comp++) {
        if (comp >= DOC_PATH_DEPTH_MAX) return -1;
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (n == 0) return -1;
        uint32_t idx;
        int rc;
        if (cur.len > 0 && cur.p[0] == SDOC_ARRAY && parse_index(s, n, &idx) == 0)
            rc = doc_index(cur.p, cur.len, idx, &cur);
        else rc = doc_get(cur.p, cur.len, s, n, &cur);
        if (rc != 1) return rc;
        if (!dot) break;
        s = dot + 1;
    }
    *out = cur;
    return 1;
}

/* ---- scalar readers ---- */

int doc_type(doc_view v)
{
    if (!v.p || doc_value_len(v.p, v.p + v.len) == 0) return -1;
    return v.p[0];
}

int doc_int64(doc_view v, int64_t *out)
{
    if (doc_type(v) != SDOC_INT) return -1;
    *out = (int64_t)get_u64(v.p + 1);
    return 0;
}

int doc_double(doc_view v, double *out)
{
    int t = doc_type(v);
    if (t != SDOC_INT && t != SDOC_UINT && t != SDOC_DOUBLE) return -1;
    uint64_t bits = get_u64(v.p + 1);
    if (t == SDOC_INT) *out = (double)(int64_t)bits;
    else if (t == SDOC_UINT) *out = (double)bits;
    else memcpy(out, &bits, sizeof *out);
    return 0;
}

int doc_string(doc_view v, const char **s, size_t *n)
{
    if (doc_type(v) != SDOC_STRING) return -1;
    *s = (const char *)v.p + 5;
    *n = get_u32(v.p + 1);
    return 0;
}

int doc_count(doc_view v, uint32_t *n)
{
    int t = doc_type(v);
    if ((t != SDOC_ARRAY && t != SDOC_OBJECT) || v.len < SDOC_CONT_HDR) return -1;
    *n = get_u32(v.p + 5);
    return 0;
}
