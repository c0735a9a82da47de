/*
 * index.c — see index.h. Layer: index.
 * A value index is an array of (key bytes, bitmap) entries with an open-addressing
 * table of entry numbers + 1 over it (equality in O(1)), and `order`, the entry
 * numbers sorted by value (value.h) for ranges and prefixes (binary search for the
 * bounds, then a union of the bitmaps in between).
 */
#include "index/index.h"

#include <roaring/roaring.h>
#include <stdlib.h>
#include <string.h>

#include "index/fts.h"
#include "index/value.h"
#include "util/util.h"

typedef struct eq_entry {
    uint8_t *key;
    uint32_t klen;
    roaring_bitmap_t *bm;
} eq_entry;

typedef struct eq_index {
    uint32_t coll;
    int is_explicit;
    char path[DINDEX_PATH_MAX + 1];
    eq_entry *e;
    size_t ne, cape;
    uint32_t *tab;
    size_t tabcap;
    uint32_t *order; /* entry numbers; [0, norder) sorted, entries >= norder not yet in */
    size_t norder, caporder;
    roaring_bitmap_t *present, *arrays;
} eq_index;

typedef struct text_index {
    fts *f;
    int is_explicit;
} text_index;

struct dindex {
    roaring_bitmap_t **members, **ever;
    uint32_t nmembers;
    eq_index *idx;
    size_t nidx, capidx;
    text_index *text; /* full-text indices, one per (coll, path) */
    size_t ntext, captext;
};

dindex *dindex_new(void) { return calloc(1, sizeof(dindex)); }

static void index_release(eq_index *ix)
{
    for (size_t j = 0; j < ix->ne; j++) {
        free(ix->e[j].key);
        roaring_bitmap_free(ix->e[j].bm);
    }
    free(ix->e);
    free(ix->tab);
    free(ix->order);
    if (ix->present) roaring_bitmap_free(ix->present);
    if (ix->arrays) roaring_bitmap_free(ix->arrays);
    memset(ix, 0, sizeof *ix);
}

void dindex_free(dindex *x)
{
    if (!x) return;
    for (uint32_t i = 0; i < x->nmembers; i++) {
        if (x->members[i]) roaring_bitmap_free(x->members[i]);
        if (x->ever[i]) roaring_bitmap_free(x->ever[i]);
    }
    for (size_t i = 0; i < x->nidx; i++) index_release(&x->idx[i]);
    for (size_t i = 0; i < x->ntext; i++) fts_free(x->text[i].f);
    free(x->text);
    free(x->idx);
    free(x->members);
    free(x->ever);
    free(x);
}

/* ---- keys ---- */

static uint64_t key_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: a table hash, not security */
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static eq_entry *entry_find(const eq_index *ix, const uint8_t *key, size_t klen)
{
    if (!ix->tabcap) return NULL;
    size_t j = key_hash(key, klen) & (ix->tabcap - 1);
    for (size_t probes = 0; ix->tab[j] && probes < ix->tabcap; probes++) {
        eq_entry *e = &ix->e[ix->tab[j] - 1];
        if (e->klen == klen && memcmp(e->key, key, klen) == 0) return e;
        j = (j + 1) & (ix->tabcap - 1);
    }
    return NULL;
}

static int tab_rebuild(eq_index *ix, size_t cap)
{
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    free(ix->tab);
    ix->tab = t;
    ix->tabcap = cap;
    for (size_t i = 0; i < ix->ne; i++) {
        size_t j = key_hash(ix->e[i].key, ix->e[i].klen) & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)i + 1;
    }
    return 0;
}

static eq_entry *entry_add(eq_index *ix, const uint8_t *key, size_t klen)
{
    if ((ix->ne + 1) * 2 > ix->tabcap && tab_rebuild(ix, ix->tabcap ? ix->tabcap * 2 : 64) != 0)
        return NULL;
    if (util_grow((void **)&ix->e, &ix->cape, ix->ne + 1, sizeof *ix->e) != 0) return NULL;
    eq_entry *e = &ix->e[ix->ne];
    e->key = malloc(klen ? klen : 1);
    e->bm = roaring_bitmap_create();
    if (!e->key || !e->bm) {
        free(e->key);
        if (e->bm) roaring_bitmap_free(e->bm);
        return NULL;
    }
    memcpy(e->key, key, klen);
    e->klen = (uint32_t)klen;
    size_t j = key_hash(key, klen) & (ix->tabcap - 1);
    while (ix->tab[j]) j = (j + 1) & (ix->tabcap - 1);
    ix->tab[j] = (uint32_t)++ix->ne;
    return e;
}

static doc_view entry_view(const eq_entry *e) { return (doc_view){e->key, e->klen}; }

/* ---- value order (lazy) ---- */

static int entry_ptr_cmp(const void *a, const void *b)
{
    return dval_cmp(entry_view(*(eq_entry *const *)a), entry_view(*(eq_entry *const *)b));
}

/* Sorts the entries added since the last ordered lookup and merges them into order. */
static int order_refresh(eq_index *ix)
{
    if (ix->norder == ix->ne) return 0;
    size_t nnew = ix->ne - ix->norder;
    eq_entry **tail = malloc(nnew * sizeof *tail);
    uint32_t *merged = malloc(ix->ne * sizeof *merged);
    if (!tail || !merged) {
        free(tail);
        free(merged);
        return -1;
    }
    for (size_t i = 0; i < nnew; i++) tail[i] = &ix->e[ix->norder + i];
    qsort(tail, nnew, sizeof *tail, entry_ptr_cmp);
    size_t a = 0, b = 0, m = 0;
    while (a < ix->norder || b < nnew) {
        int take_old = b == nnew ||
                       (a < ix->norder && dval_cmp(entry_view(&ix->e[ix->order[a]]),
                                                   entry_view(tail[b])) <= 0);
        merged[m++] = take_old ? ix->order[a++] : (uint32_t)(tail[b++] - ix->e);
    }
    STELE_ASSERT(m == ix->ne);
    free(tail);
    free(ix->order);
    ix->order = merged;
    ix->norder = ix->caporder = ix->ne;
    return 0;
}

/* First position p in order whose key is past the probe: with a key, cmp > 0 (after)
 * or >= 0; without, bracket > b (after) or >= b. Binary search. */
static size_t order_pos(const eq_index *ix, const doc_view *key, int bracket, int after)
{
    size_t lo = 0, hi = ix->norder;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        doc_view k = entry_view(&ix->e[ix->order[mid]]);
        int c = key ? dval_cmp(k, *key) : dval_bracket(doc_type(k)) - bracket;
        if (after ? c > 0 : c >= 0) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* ---- per-document maintenance ---- */

/* Adds (add = 1) or removes doc n under every key that version v has at ix's path. */
static int index_version(eq_index *ix, uint32_t n, const mversion *v, int add, buf *k)
{
    doc_view at, el;
    if (doc_path(v->doc, v->doc_len, ix->path, &at) != 1) return 0; /* path absent */
    uint32_t count = 1;
    int is_array = doc_type(at) == SDOC_ARRAY;
    if (add) roaring_bitmap_add(ix->present, n);
    else roaring_bitmap_remove(ix->present, n);
    if (is_array && add) roaring_bitmap_add(ix->arrays, n);
    else if (is_array) roaring_bitmap_remove(ix->arrays, n);
    if (is_array && doc_count(at, &count) != 0) return 0;
    for (uint32_t i = 0; i < count; i++) {
        if (is_array ? doc_index(at.p, at.len, i, &el) != 1 : (el = at, 0)) continue;
        if (dval_key(el, k) != 0) continue; /* objects and arrays are not keys */
        eq_entry *e = entry_find(ix, k->data, k->len);
        if (!e && !add) continue;
        if (!e && !(e = entry_add(ix, k->data, k->len))) return -1;
        if (add) roaring_bitmap_add(e->bm, n);
        else roaring_bitmap_remove(e->bm, n);
    }
    return 0;
}

static int coll_slots(dindex *x, uint32_t coll)
{
    if (coll < x->nmembers) return 0;
    roaring_bitmap_t **m = realloc(x->members, ((size_t)coll + 1) * sizeof *m);
    if (!m) return -1;
    x->members = m;
    roaring_bitmap_t **ev = realloc(x->ever, ((size_t)coll + 1) * sizeof *ev);
    if (!ev) return -1;
    x->ever = ev;
    for (uint32_t i = x->nmembers; i <= coll; i++) m[i] = ev[i] = NULL;
    x->nmembers = coll + 1;
    return 0;
}

int dindex_update(dindex *x, uint32_t coll, uint32_t n, const mversion *old,
                  const mversion *now)
{
    if (coll_slots(x, coll) != 0) return -1;
    if (!x->members[coll]) x->members[coll] = roaring_bitmap_create();
    if (!x->ever[coll]) x->ever[coll] = roaring_bitmap_create();
    if (!x->members[coll] || !x->ever[coll]) return -1;
    buf k;
    buf_init(&k);
    int rc = 0;
    for (size_t i = 0; i < x->nidx && rc == 0; i++) {
        if (x->idx[i].coll != coll) continue;
        if (old && !old->deleted) rc = index_version(&x->idx[i], n, old, 0, &k);
        if (rc == 0 && now && !now->deleted) rc = index_version(&x->idx[i], n, now, 1, &k);
    }
    buf_release(&k);
    for (size_t i = 0; i < x->ntext && rc == 0; i++)
        if (fts_coll(x->text[i].f) == coll) rc = fts_update_doc(x->text[i].f, n, now);
    roaring_bitmap_add(x->ever[coll], n);
    if (now && !now->deleted) roaring_bitmap_add(x->members[coll], n);
    else roaring_bitmap_remove(x->members[coll], n);
    return rc;
}

const roaring_bitmap_t *dindex_members(const dindex *x, uint32_t coll)
{
    return coll < x->nmembers ? x->members[coll] : NULL;
}

const roaring_bitmap_t *dindex_ever(const dindex *x, uint32_t coll)
{
    return coll < x->nmembers ? x->ever[coll] : NULL;
}

/* ---- the set of indices ---- */

static eq_index *index_find(const dindex *x, uint32_t coll, const char *path)
{
    for (size_t i = 0; i < x->nidx; i++)
        if (x->idx[i].coll == coll && strcmp(x->idx[i].path, path) == 0) return &x->idx[i];
    return NULL;
}

static int index_build(eq_index *ix, const mstate *s)
{
    buf k;
    buf_init(&k);
    int rc = 0;
    for (uint32_t n = 0; n < mstate_doc_count(s) && rc == 0; n++) {
        if (mstate_doc_coll(s, n) != ix->coll) continue;
        const mversion *v = mstate_doc_get(s, n, UINT64_MAX);
        if (v && !v->deleted) rc = index_version(ix, n, v, 1, &k);
    }
    buf_release(&k);
    return rc;
}

int dindex_ensure(dindex *x, const mstate *s, uint32_t coll, const char *path)
{
    if (strlen(path) > DINDEX_PATH_MAX) return -1;
    if (index_find(x, coll, path)) return 0;
    if (util_grow((void **)&x->idx, &x->capidx, x->nidx + 1, sizeof *x->idx) != 0) return -1;
    eq_index *ix = &x->idx[x->nidx];
    memset(ix, 0, sizeof *ix);
    ix->coll = coll;
    util_strlcpy(ix->path, path, sizeof ix->path);
    ix->present = roaring_bitmap_create();
    ix->arrays = roaring_bitmap_create();
    if (!ix->present || !ix->arrays || index_build(ix, s) != 0) {
        index_release(ix);
        return -1;
    }
    x->nidx++;
    return 0;
}

int dindex_set_explicit(dindex *x, uint32_t coll, const char *path, int is_explicit)
{
    eq_index *ix = index_find(x, coll, path);
    if (!ix) return -1;
    ix->is_explicit = is_explicit;
    return 0;
}

/* Position of the text index of (coll, path), or x->ntext if there is none. */
static size_t text_find(const dindex *x, uint32_t coll, const char *path)
{
    size_t i = 0;
    while (i < x->ntext &&
           (fts_coll(x->text[i].f) != coll || strcmp(fts_path(x->text[i].f), path) != 0))
        i++;
    return i;
}

int dindex_text_drop(dindex *x, uint32_t coll, const char *path)
{
    size_t i = text_find(x, coll, path);
    if (i == x->ntext) return -1;
    fts_free(x->text[i].f);
    memmove(&x->text[i], &x->text[i + 1], (x->ntext - i - 1) * sizeof *x->text);
    x->ntext--;
    STELE_ASSERT(text_find(x, coll, path) == x->ntext);
    return 0;
}

int dindex_drop(dindex *x, uint32_t coll, const char *path)
{
    eq_index *ix = index_find(x, coll, path);
    if (!ix) return -1;
    index_release(ix);
    size_t i = (size_t)(ix - x->idx);
    memmove(ix, ix + 1, (x->nidx - i - 1) * sizeof *ix);
    x->nidx--;
    return 0;
}

fts *dindex_text(dindex *x, const mstate *s, uint32_t coll, const char *path, util_err *e)
{
    size_t i = text_find(x, coll, path);
    if (i < x->ntext) return x->text[i].f;
    if (util_grow((void **)&x->text, &x->captext, x->ntext + 1, sizeof *x->text) != 0) {
        util_fail(e, STELE_ENOMEM, "out of memory indexing '%s' for $text", path);
        return NULL;
    }
    const char *lang = mstate_text_lang(s, coll, path, UINT64_MAX);
    fts *t = fts_new(coll, path, lang, e);
    if (!t) return NULL;
    if (fts_build(t, s) != 0) {
        fts_free(t);
        util_fail(e, STELE_ENOMEM, "out of memory indexing '%s' for $text", path);
        return NULL;
    }
    x->text[x->ntext++] = (text_index){t, lang != NULL};
    STELE_ASSERT(text_find(x, coll, path) == x->ntext - 1);
    return t;
}

int dindex_text_set_explicit(dindex *x, uint32_t coll, const char *path, int is_explicit)
{
    size_t i = text_find(x, coll, path);
    if (i == x->ntext) return -1;
    x->text[i].is_explicit = is_explicit;
    return 0;
}

size_t dindex_text_count(const dindex *x) { return x->ntext; }

const fts *dindex_text_at(const dindex *x, size_t i, int *is_explicit)
{
    STELE_ASSERT(i < x->ntext);
    if (is_explicit) *is_explicit = x->text[i].is_explicit;
    return x->text[i].f;
}

const fts *dindex_text_find(const dindex *x, uint32_t coll, const char *path, int *is_explicit)
{
    size_t i = text_find(x, coll, path);
    return i < x->ntext ? dindex_text_at(x, i, is_explicit) : NULL;
}

int dindex_has(const dindex *x, uint32_t coll, const char *path, int *is_explicit)
{
    const eq_index *ix = index_find(x, coll, path);
    if (is_explicit) *is_explicit = ix ? ix->is_explicit : 0;
    return ix != NULL;
}

/* ---- lookups ---- */

static const eq_index *must_find(const dindex *x, uint32_t coll, const char *path)
{
    const eq_index *ix = index_find(x, coll, path);
    STELE_ASSERT(ix != NULL); /* callers run dindex_ensure first */
    return ix;
}

roaring_bitmap_t *dindex_eq(const dindex *x, uint32_t coll, const char *path, doc_view v,
                            const roaring_bitmap_t *within)
{
    const eq_index *ix = must_find(x, coll, path);
    buf k;
    buf_init(&k);
    const eq_entry *e = dval_key(v, &k) == 0 ? entry_find(ix, k.data, k.len) : NULL;
    buf_release(&k);
    if (!e) return roaring_bitmap_create();
    return within ? roaring_bitmap_and(e->bm, within) : roaring_bitmap_copy(e->bm);
}

/* Union of the bitmaps of order[from, to), or of their parts within `within`. */
static roaring_bitmap_t *union_of(const eq_index *ix, size_t from, size_t to,
                                  const roaring_bitmap_t *within, uint64_t *keys)
{
    if (keys) *keys = to > from ? to - from : 0;
    if (to <= from) return roaring_bitmap_create();
    roaring_bitmap_t **parts = within ? calloc(to - from, sizeof *parts) : NULL;
    const roaring_bitmap_t **bms = malloc((to - from) * sizeof *bms);
    int bad = !bms || (within && !parts);
    for (size_t i = from; !bad && i < to; i++) { /* within: each key's containers there */
        const roaring_bitmap_t *bm = ix->e[ix->order[i]].bm;
        bms[i - from] = within ? (parts[i - from] = roaring_bitmap_and(bm, within)) : bm;
        bad = !bms[i - from];
    }
    roaring_bitmap_t *r = bad ? NULL : roaring_bitmap_or_many(to - from, bms);
    for (size_t i = 0; parts && i < to - from; i++)
        if (parts[i]) roaring_bitmap_free(parts[i]);
    free(parts);
    free(bms);
    return r;
}

roaring_bitmap_t *dindex_range(dindex *x, uint32_t coll, const char *path, const doc_view *lo,
                               int lo_incl, const doc_view *hi, int hi_incl,
                               const roaring_bitmap_t *within, uint64_t *keys)
{
    STELE_ASSERT(lo || hi);
    eq_index *ix = (eq_index *)must_find(x, coll, path);
    if (order_refresh(ix) != 0) return NULL;
    int bracket = dval_bracket(doc_type(lo ? *lo : *hi));
    STELE_ASSERT(!lo || !hi || dval_bracket(doc_type(*hi)) == bracket);
    size_t from = lo ? order_pos(ix, lo, bracket, !lo_incl) : order_pos(ix, NULL, bracket, 0);
    size_t to = hi ? order_pos(ix, hi, bracket, hi_incl) : order_pos(ix, NULL, bracket, 1);
    return union_of(ix, from, to, within, keys);
}

roaring_bitmap_t *dindex_prefix(dindex *x, uint32_t coll, const char *path, const char *prefix,
                                size_t n, const roaring_bitmap_t *within, uint64_t *keys)
{
    eq_index *ix = (eq_index *)must_find(x, coll, path);
    if (order_refresh(ix) != 0) return NULL;
    buf k;
    buf_init(&k);
    uint8_t hdr[5] = {SDOC_STRING};
    put_u32(hdr + 1, (uint32_t)n);
    if (buf_append(&k, hdr, sizeof hdr) != 0 || buf_append(&k, prefix, n) != 0) {
        buf_release(&k);
        return NULL;
    }
    doc_view pv = {k.data, k.len};
    size_t from = order_pos(ix, &pv, DVAL_STRING, 0), to = from;
    for (; to < ix->norder; to++) { /* keys with the prefix follow it contiguously */
        const eq_entry *e = &ix->e[ix->order[to]];
        if (e->key[0] != SDOC_STRING || e->klen - 5 < n || memcmp(e->key + 5, prefix, n) != 0)
            break;
    }
    buf_release(&k);
    return union_of(ix, from, to, within, keys);
}

roaring_bitmap_t *dindex_scan(const dindex *x, uint32_t coll, const char *path, int bracket,
                              dindex_pred pred, void *ctx, uint64_t *keys)
{
    const eq_index *ix = must_find(x, coll, path);
    roaring_bitmap_t *r = roaring_bitmap_create();
    uint64_t seen = 0;
    for (size_t i = 0; r && i < ix->ne; i++) {
        doc_view k = entry_view(&ix->e[i]);
        if (bracket >= 0 && dval_bracket(doc_type(k)) != bracket) continue;
        seen++;
        if (pred(k, ctx)) roaring_bitmap_or_inplace(r, ix->e[i].bm);
    }
    if (keys) *keys = seen;
    return r;
}

const roaring_bitmap_t *dindex_present(const dindex *x, uint32_t coll, const char *path)
{
    return must_find(x, coll, path)->present;
}

const roaring_bitmap_t *dindex_arrays(const dindex *x, uint32_t coll, const char *path)
{
    return must_find(x, coll, path)->arrays;
}

/* ---- sizes ---- */

static uint64_t index_bytes(const eq_index *ix)
{
    uint64_t b = roaring_bitmap_size_in_bytes(ix->present) +
                 roaring_bitmap_size_in_bytes(ix->arrays) +
                 ix->tabcap * sizeof *ix->tab + ix->caporder * sizeof *ix->order;
    for (size_t j = 0; j < ix->ne; j++)
        b += roaring_bitmap_size_in_bytes(ix->e[j].bm) + ix->e[j].klen + sizeof(eq_entry);
    return b;
}

void dindex_sizes(const dindex *x, uint64_t *count, uint64_t *bytes)
{
    *count = x->nidx;
    if (!bytes) return;
    *bytes = 0;
    for (size_t i = 0; i < x->nidx; i++) *bytes += index_bytes(&x->idx[i]);
}

void dindex_describe(const dindex *x, size_t i, dindex_info *out)
{
    STELE_ASSERT(i < x->nidx);
    const eq_index *ix = &x->idx[i];
    out->coll = ix->coll;
    out->path = ix->path;
    out->is_explicit = ix->is_explicit;
    out->keys = ix->ne;
    out->docs = roaring_bitmap_get_cardinality(ix->present);
    out->bytes = index_bytes(ix);
}

void dindex_at(const dindex *x, size_t i, uint32_t *coll, const char **path, int *is_explicit)
{
    STELE_ASSERT(i < x->nidx);
    *coll = x->idx[i].coll;
    *path = x->idx[i].path;
    *is_explicit = x->idx[i].is_explicit;
}

/* ---- snapshots (docs/FORMAT.md "Index section") ---- */

/* u32 len | CRoaring portable bytes (len 0: no bitmap). */
static int put_bitmap(buf *out, const roaring_bitmap_t *bm)
{
    size_t n = bm ? roaring_bitmap_portable_size_in_bytes(bm) : 0;
    uint8_t h[4];
    if (n > UINT32_MAX) return -1;
    put_u32(h, (uint32_t)n);
    if (buf_append(out, h, 4) != 0 || buf_reserve(out, n) != 0) return -1;
    if (n && roaring_bitmap_portable_serialize(bm, (char *)out->data + out->len) != n) return -1;
    out->len += n;
    return 0;
}

int dindex_serialize(const dindex *x, buf *out)
{
    uint8_t h[8];
    put_u32(h, x->nmembers);
    int bad = buf_append(out, "SIDX1", 5) || buf_append(out, h, 4);
    for (uint32_t c = 0; c < x->nmembers && !bad; c++)
        bad = put_bitmap(out, x->members[c]) || put_bitmap(out, x->ever[c]);
    put_u32(h, (uint32_t)x->nidx);
    bad = bad || buf_append(out, h, 4);
    for (size_t i = 0; i < x->nidx && !bad; i++) {
        const eq_index *ix = &x->idx[i];
        uint8_t ne[4];
        put_u32(h, ix->coll);
        h[4] = (uint8_t)ix->is_explicit;
        put_u16(h + 5, (uint16_t)strlen(ix->path));
        put_u32(ne, (uint32_t)ix->ne);
        bad = buf_append(out, h, 7) || buf_append(out, ix->path, strlen(ix->path)) ||
              buf_append(out, ne, 4) || put_bitmap(out, ix->present) ||
              put_bitmap(out, ix->arrays);
        for (size_t j = 0; j < ix->ne && !bad; j++) {
            put_u32(h, ix->e[j].klen);
            bad = buf_append(out, h, 4) || buf_append(out, ix->e[j].key, ix->e[j].klen) ||
                  put_bitmap(out, ix->e[j].bm);
        }
    }
    return bad ? -1 : 0;
}

/* A bounds-checked reader over authenticated snapshot bytes. */
typedef struct xrd {
    util_rd r;
    uint32_t ndoc; /* every doc number in a bitmap is below it */
} xrd;

/* A bitmap of put_bitmap into *bm (NULL for length 0 unless `need`): 0 or -1. The bytes
 * were authenticated (AEAD) before: CRoaring's checks are bounds checks only. */
static int take_bitmap(xrd *r, int need, roaring_bitmap_t **bm)
{
    uint32_t n = util_rd_u32(&r->r);
    const uint8_t *p = util_rd_take(&r->r, n);
    *bm = NULL;
    if (!p || (n == 0 && need)) return -1;
    if (n == 0) return 0;
    *bm = roaring_bitmap_portable_deserialize_safe((const char *)p, n);
    if (!*bm || roaring_bitmap_portable_size_in_bytes(*bm) != n) return -1;
    return roaring_bitmap_is_empty(*bm) || roaring_bitmap_maximum(*bm) < r->ndoc ? 0 : -1;
}

static int load_members(dindex *x, xrd *r, uint32_t ncoll)
{
    uint32_t n = util_rd_u32(&r->r);
    if (r->r.bad || n > ncoll || (n && coll_slots(x, n - 1) != 0)) return -1;
    for (uint32_t c = 0; c < n; c++)
        if (take_bitmap(r, 0, &x->members[c]) != 0 || take_bitmap(r, 0, &x->ever[c]) != 0)
            return -1;
    return 0;
}

static int load_value_index(dindex *x, xrd *r, uint32_t ncoll)
{
    const uint8_t *h = util_rd_take(&r->r, 7);
    const uint8_t *path =
        h && get_u16(h + 5) <= DINDEX_PATH_MAX ? util_rd_take(&r->r, get_u16(h + 5)) : NULL;
    uint32_t ne = util_rd_u32(&r->r);
    if (!path || r->r.bad || get_u16(h + 5) == 0 || get_u32(h) >= ncoll || h[4] > 1 ||
        ne > (size_t)(r->r.end - r->r.p) / 8 ||
        util_grow((void **)&x->idx, &x->capidx, x->nidx + 1, sizeof *x->idx) != 0)
        return -1;
    eq_index *ix = &x->idx[x->nidx++]; /* released by dindex_free on failure */
    memset(ix, 0, sizeof *ix);
    ix->coll = get_u32(h);
    ix->is_explicit = h[4];
    memcpy(ix->path, path, get_u16(h + 5));
    if (index_find(x, ix->coll, ix->path) != ix || take_bitmap(r, 1, &ix->present) != 0 ||
        take_bitmap(r, 1, &ix->arrays) != 0)
        return -1;
    for (uint32_t j = 0; j < ne; j++) {
        uint32_t klen = util_rd_u32(&r->r);
        const uint8_t *key = util_rd_take(&r->r, klen);
        if (!key || doc_validate(key, klen) != 0 || entry_find(ix, key, klen)) return -1;
        eq_entry *e = entry_add(ix, key, klen);
        if (!e) return -1;
        roaring_bitmap_free(e->bm);
        if (take_bitmap(r, 1, &e->bm) != 0) {
            e->bm = roaring_bitmap_create(); /* so that release frees something valid */
            return -1;
        }
    }
    return 0;
}

dindex *dindex_load(const uint8_t *bytes, size_t len, uint32_t ncoll, uint32_t ndoc)
{
    dindex *x = dindex_new();
    xrd r = {{bytes, bytes + len, 0}, ndoc};
    const uint8_t *magic = util_rd_take(&r.r, 5);
    int bad = !x || !magic || memcmp(magic, "SIDX1", 5) != 0 || load_members(x, &r, ncoll) != 0;
    uint32_t nidx = bad ? 0 : util_rd_u32(&r.r);
    for (uint32_t i = 0; i < nidx && !bad; i++) bad = load_value_index(x, &r, ncoll) != 0;
    if (bad || r.r.bad || r.r.p != r.r.end) {
        dindex_free(x);
        return NULL;
    }
    return x;
}
