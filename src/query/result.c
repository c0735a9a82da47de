/*
 * result.c — see result.h. Layer: query.
 * Top-k: a max-heap (the worst kept document on top) of at most offset + limit
 * entries, each with its sort values looked up once; a heap sort of what is left
 * gives the order. Without a limit k is the whole set, so one code path sorts both.
 */
#include "query/result.h"

#include <roaring/roaring.h>
#include <stdlib.h>

#include "index/value.h"

/* Splits "a,b,-c" into components; calls add(item, len) for each. */
static stele_status split_list(const char *text, int max, const char *what, util_err *e,
                               int (*add)(void *spec, const char *p, size_t n), void *spec)
{
    int count = 0;
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (++count > max)
            return util_fail(e, STELE_EINVAL, "%s: at most %d fields", what, max);
        if (add(spec, p, n) != 0)
            return util_fail(e, STELE_EINVAL, "%s: '%.*s' is not a field path (1-%d bytes, no "
                                              "empty component)", what, (int)(n > 64 ? 64 : n),
                             p, DINDEX_PATH_MAX);
        p = end ? end + 1 : p + n;
    }
    return STELE_OK;
}

static int path_copy(char *dst, const char *p, size_t n)
{
    if (n == 0 || n > DINDEX_PATH_MAX || p[0] == '.' || p[n - 1] == '.') return -1;
    memcpy(dst, p, n);
    dst[n] = 0;
    return strstr(dst, "..") ? -1 : 0;
}

static int sort_add(void *spec, const char *p, size_t n)
{
    sort_spec *s = spec;
    int desc = n > 0 && p[0] == '-';
    if (path_copy(s->path[s->n], p + desc, n - (size_t)desc) != 0) return -1;
    s->desc[s->n++] = desc;
    return 0;
}

static int fields_add(void *spec, const char *p, size_t n)
{
    fields_spec *f = spec;
    return path_copy(f->path[f->n++], p, n);
}

stele_status result_sort_parse(const char *text, sort_spec *out, util_err *e)
{
    out->n = 0;
    return split_list(text, RESULT_SORT_KEYS_MAX, "sort", e, sort_add, out);
}

stele_status result_fields_parse(const char *text, fields_spec *out, util_err *e)
{
    out->n = 0;
    return split_list(text, RESULT_FIELDS_MAX - 1, "fields", e, fields_add, out);
}

/* ---- order ---- */

static const uint8_t NULL_VALUE[1] = {SDOC_NULL};

typedef struct entry {
    uint32_t n;
    doc_view key[RESULT_SORT_KEYS_MAX];
} entry;

static int entry_cmp(const sort_spec *sp, const entry *a, const entry *b)
{
    for (int i = 0; i < sp->n; i++) {
        int c = dval_cmp(a->key[i], b->key[i]);
        if (c) return sp->desc[i] ? -c : c;
    }
    return (a->n > b->n) - (a->n < b->n);
}

static void sift_down(const sort_spec *sp, entry *h, size_t n, size_t i)
{
    for (;;) { /* bounded: i at least doubles each round */
        size_t l = 2 * i + 1, r = l + 1, top = i;
        if (l < n && entry_cmp(sp, &h[l], &h[top]) > 0) top = l;
        if (r < n && entry_cmp(sp, &h[r], &h[top]) > 0) top = r;
        if (top == i) return;
        entry t = h[i];
        h[i] = h[top];
        h[top] = t;
        i = top;
    }
}

static void sift_up(const sort_spec *sp, entry *h, size_t i)
{
    while (i > 0 && entry_cmp(sp, &h[(i - 1) / 2], &h[i]) < 0) {
        entry t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static void entry_fill(const mstate *s, const sort_spec *sp, uint32_t n, uint64_t as_of,
                       entry *out)
{
    const mversion *v = mstate_doc_get(s, n, as_of);
    STELE_ASSERT(v != NULL);
    out->n = n;
    for (int i = 0; i < sp->n; i++)
        if (doc_path(v->doc, v->doc_len, sp->path[i], &out->key[i]) != 1)
            out->key[i] = (doc_view){NULL_VALUE, 1}; /* missing sorts as null */
}

static stele_status sorted(const mstate *s, const roaring_bitmap_t *set, uint64_t as_of,
                           const sort_spec *sp, size_t k, entry *h, util_err *e)
{
    size_t hn = 0;
    roaring_uint32_iterator_t *it = roaring_create_iterator(set);
    if (!it) return util_fail(e, STELE_ENOMEM, "out of memory sorting");
    for (; it->has_value; roaring_advance_uint32_iterator(it)) {
        entry cand;
        entry_fill(s, sp, it->current_value, as_of, &cand);
        if (hn < k) {
            h[hn] = cand;
            sift_up(sp, h, hn++);
        } else if (k && entry_cmp(sp, &cand, &h[0]) < 0) {
            h[0] = cand;
            sift_down(sp, h, hn, 0);
        }
    }
    roaring_free_uint32_iterator(it);
    for (size_t end = hn; end > 1; end--) { /* heap sort: the worst goes last */
        entry t = h[0];
        h[0] = h[end - 1];
        h[end - 1] = t;
        sift_down(sp, h, end - 1, 0);
    }
    return STELE_OK;
}

stele_status result_order(const mstate *s, const roaring_bitmap_t *set, uint64_t as_of,
                          const sort_spec *sp, uint64_t offset, uint64_t limit, uint32_t **out,
                          size_t *n, util_err *e)
{
    uint64_t total = roaring_bitmap_get_cardinality(set);
    uint64_t k = limit && offset + limit >= offset ? offset + limit : total;
    if (k > total) k = total;
    size_t want = offset < k ? (size_t)(k - offset) : 0;
    *n = 0;
    *out = malloc((want ? want : 1) * sizeof **out);
    if (!*out) return util_fail(e, STELE_ENOMEM, "out of memory");
    if (!sp->n) { /* doc-number order */
        roaring_uint32_iterator_t *it = roaring_create_iterator(set);
        if (!it) return util_fail(e, STELE_ENOMEM, "out of memory");
        for (uint64_t i = 0; it->has_value && *n < want; i++) {
            if (i >= offset) (*out)[(*n)++] = it->current_value;
            roaring_advance_uint32_iterator(it);
        }
        roaring_free_uint32_iterator(it);
        return STELE_OK;
    }
    entry *h = malloc((k ? (size_t)k : 1) * sizeof *h);
    stele_status rc = h ? sorted(s, set, as_of, sp, (size_t)k, h, e)
                        : util_fail(e, STELE_ENOMEM, "out of memory sorting");
    for (size_t i = 0; rc == STELE_OK && i < want; i++) (*out)[(*n)++] = h[offset + i].n;
    free(h);
    return rc;
}

/* ---- ranking ($text) ---- */

/* Appends doc to out (the ranked sequence) if it falls within [offset, offset + want). */
static void rank_emit(uint32_t doc, uint64_t *pos, uint64_t offset, size_t want, uint32_t *out,
                      size_t *n)
{
    if (*pos >= offset && *n < want) out[(*n)++] = doc;
    ++*pos;
}

stele_status result_rank(const roaring_bitmap_t *set, const fts_hit *hits, size_t nhits,
                         uint64_t offset, uint64_t limit, uint32_t **out, size_t *n, util_err *e)
{
    uint64_t total = roaring_bitmap_get_cardinality(set);
    uint64_t k = limit && offset + limit >= offset ? offset + limit : total;
    if (k > total) k = total;
    size_t want = offset < k ? (size_t)(k - offset) : 0;
    uint64_t pos = 0;
    *n = 0;
    *out = malloc((want ? want : 1) * sizeof **out);
    roaring_bitmap_t *ranked = roaring_bitmap_create();
    roaring_uint32_iterator_t *it = roaring_create_iterator(set);
    stele_status rc = *out && ranked && it ? STELE_OK : util_fail(e, STELE_ENOMEM, "out of memory");
    for (size_t i = 0; rc == STELE_OK && i < nhits && *n < want; i++) {
        if (!roaring_bitmap_contains(set, hits[i].doc)) continue; /* other conditions */
        roaring_bitmap_add(ranked, hits[i].doc);
        rank_emit(hits[i].doc, &pos, offset, want, *out, n);
    }
    for (; rc == STELE_OK && it->has_value && *n < want; roaring_advance_uint32_iterator(it))
        if (!roaring_bitmap_contains(ranked, it->current_value)) /* matched without the text */
            rank_emit(it->current_value, &pos, offset, want, *out, n);
    STELE_ASSERT(rc != STELE_OK || *n == want);
    if (it) roaring_free_uint32_iterator(it);
    if (ranked) roaring_bitmap_free(ranked);
    return rc;
}

/* ---- projection ---- */

/* Number of components of a dotted path and where component i starts / its length. */
static size_t comp(const char *path, size_t i, const char **start)
{
    const char *p = path;
    for (size_t j = 0; j < i; j++) p = strchr(p, '.') + 1;
    *start = p;
    const char *end = strchr(p, '.');
    return end ? (size_t)(end - p) : strlen(p);
}

static size_t ncomp(const char *path)
{
    size_t n = 1;
    for (const char *p = path; *p; p++) n += *p == '.';
    return n;
}

/* Component-wise order of two paths; *prefix = 1 if a is a proper prefix of b. */
static int path_cmp(const char *a, const char *b, int *prefix)
{
    size_t na = ncomp(a), nb = ncomp(b);
    *prefix = 0;
    for (size_t i = 0; i < na && i < nb; i++) {
        const char *pa, *pb;
        size_t la = comp(a, i, &pa), lb = comp(b, i, &pb);
        int c = memcmp(pa, pb, la < lb ? la : lb);
        if (c || la != lb) return c ? c : (la < lb ? -1 : 1);
    }
    *prefix = na < nb;
    return (na > nb) - (na < nb);
}

/* The paths to emit: _id and the fields, sorted component-wise, without any path that
 * lies under another one. Returns how many, into idx (indices into f->path, or -1 for
 * "_id"). */
static int plan(const fields_spec *f, const char **paths)
{
    int n = 0;
    paths[n++] = "_id";
    for (int i = 0; i < f->n; i++) paths[n++] = f->path[i];
    for (int i = 1; i < n; i++) /* insertion sort: at most RESULT_FIELDS_MAX paths */
        for (int j = i; j > 0; j--) {
            int pre;
            if (path_cmp(paths[j - 1], paths[j], &pre) <= 0) break;
            const char *t = paths[j];
            paths[j] = paths[j - 1];
            paths[j - 1] = t;
        }
    int m = 0;
    for (int i = 0; i < n; i++) {
        int pre = 0;
        if (m > 0 && (path_cmp(paths[m - 1], paths[i], &pre) == 0 || pre)) continue;
        paths[m++] = paths[i];
    }
    return m;
}

int result_project(const uint8_t *doc, size_t len, const fields_spec *f, buf *out)
{
    const char *paths[RESULT_FIELDS_MAX + 1];
    int np = plan(f, paths);
    const char *open[DINDEX_PATH_MAX]; /* the components of the objects now open */
    size_t openlen[DINDEX_PATH_MAX], depth = 0;
    int bad = buf_append(out, "{", 1), first[DINDEX_PATH_MAX + 1] = {1};
    for (int i = 0; i < np && !bad; i++) {
        doc_view v;
        if (doc_path(doc, len, paths[i], &v) != 1) continue;
        size_t nc = ncomp(paths[i]), same = 0;
        const char *c;
        while (same < depth && same + 1 < nc && comp(paths[i], same, &c) == openlen[same] &&
               memcmp(c, open[same], openlen[same]) == 0)
            same++;
        for (; depth > same; depth--) bad |= buf_append(out, "}", 1);
        for (size_t j = depth; j < nc && !bad; j++) { /* open parents, then the value */
            size_t cl = comp(paths[i], j, &c);
            bad |= (!first[j] && buf_append(out, ",", 1)) || buf_json_str(out, c, cl) ||
                   buf_append(out, ":", 1);
            first[j] = 0;
            if (j + 1 < nc) {
                bad |= buf_append(out, "{", 1);
                open[depth] = c;
                openlen[depth++] = cl;
                first[depth] = 1;
            }
        }
        bad |= json_write(v.p, v.len, out) != 0;
    }
    for (; depth > 0; depth--) bad |= buf_append(out, "}", 1);
    return bad || buf_append(out, "}", 1) ? -1 : 0;
}
