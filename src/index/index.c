/*
 * index.c — see index.h. Layer: index.
 * An equality index is an array of (key bytes, bitmap) entries with an open-addressing
 * table of entry numbers + 1 over it; keys are never removed (an emptied bitmap stays,
 * which keeps entry numbers stable and costs a few bytes).
 */
#include "index/index.h"

#include <roaring/roaring.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

typedef struct eq_entry {
    uint8_t *key;
    uint32_t klen;
    roaring_bitmap_t *bm;
} eq_entry;

typedef struct eq_index {
    uint32_t coll;
    char path[DINDEX_PATH_MAX + 1];
    eq_entry *e;
    size_t ne, cape;
    uint32_t *tab;
    size_t tabcap;
} eq_index;

struct dindex {
    roaring_bitmap_t **members;
    uint32_t nmembers;
    eq_index *idx;
    size_t nidx, capidx;
};

dindex *dindex_new(void) { return calloc(1, sizeof(dindex)); }

void dindex_free(dindex *x)
{
    if (!x) return;
    for (uint32_t i = 0; i < x->nmembers; i++)
        if (x->members[i]) roaring_bitmap_free(x->members[i]);
    for (size_t i = 0; i < x->nidx; i++) {
        for (size_t j = 0; j < x->idx[i].ne; j++) {
            free(x->idx[i].e[j].key);
            roaring_bitmap_free(x->idx[i].e[j].bm);
        }
        free(x->idx[i].e);
        free(x->idx[i].tab);
    }
    free(x->idx);
    free(x->members);
    free(x);
}

/* ---- keys ---- */

/* The index key of a scalar view into k (reset first); 0, or -1 if v is not a
 * scalar. Numbers: an integral double within int64 is keyed as that int64. */
static int key_of(doc_view v, buf *k)
{
    k->len = 0;
    int t = doc_type(v);
    double d;
    if (t == SDOC_DOUBLE && doc_double(v, &d) == 0 && d == (double)(int64_t)d &&
        d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        uint8_t b[9];
        b[0] = SDOC_INT;
        put_u64(b + 1, (uint64_t)(int64_t)d);
        return buf_append(k, b, sizeof b);
    }
    if (t < 0 || t == SDOC_ARRAY || t == SDOC_OBJECT) return -1;
    return buf_append(k, v.p, v.len);
}

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
    if (ix->ne == ix->cape) {
        size_t cap = ix->cape ? ix->cape * 2 : 16;
        eq_entry *e = realloc(ix->e, cap * sizeof *e);
        if (!e) return NULL;
        ix->e = e;
        ix->cape = cap;
    }
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

/* ---- per-document maintenance ---- */

/* Adds (add = 1) or removes doc n under every key that version v has at ix's path. */
static int index_version(eq_index *ix, uint32_t n, const mversion *v, int add, buf *k)
{
    doc_view at, el;
    if (doc_path(v->doc, v->doc_len, ix->path, &at) != 1) return 0; /* path absent */
    uint32_t count = 1;
    int is_array = doc_type(at) == SDOC_ARRAY;
    if (is_array && doc_count(at, &count) != 0) return 0;
    for (uint32_t i = 0; i < count; i++) {
        if (is_array ? doc_index(at.p, at.len, i, &el) != 1 : (el = at, 0)) continue;
        if (key_of(el, k) != 0) continue; /* objects and arrays are not keys */
        eq_entry *e = entry_find(ix, k->data, k->len);
        if (!e && !add) continue;
        if (!e && !(e = entry_add(ix, k->data, k->len))) return -1;
        if (add) roaring_bitmap_add(e->bm, n);
        else roaring_bitmap_remove(e->bm, n);
    }
    return 0;
}

static roaring_bitmap_t *members_of(dindex *x, uint32_t coll)
{
    if (coll >= x->nmembers) {
        roaring_bitmap_t **m = realloc(x->members, ((size_t)coll + 1) * sizeof *m);
        if (!m) return NULL;
        for (uint32_t i = x->nmembers; i <= coll; i++) m[i] = NULL;
        x->members = m;
        x->nmembers = coll + 1;
    }
    if (!x->members[coll]) x->members[coll] = roaring_bitmap_create();
    return x->members[coll];
}

int dindex_update(dindex *x, uint32_t coll, uint32_t n, const mversion *old,
                  const mversion *now)
{
    roaring_bitmap_t *m = members_of(x, coll);
    if (!m) return -1;
    buf k;
    buf_init(&k);
    int rc = 0;
    for (size_t i = 0; i < x->nidx && rc == 0; i++) {
        if (x->idx[i].coll != coll) continue;
        if (old && !old->deleted) rc = index_version(&x->idx[i], n, old, 0, &k);
        if (rc == 0 && now && !now->deleted) rc = index_version(&x->idx[i], n, now, 1, &k);
    }
    buf_release(&k);
    if (now && !now->deleted) roaring_bitmap_add(m, n);
    else roaring_bitmap_remove(m, n);
    return rc;
}

const roaring_bitmap_t *dindex_members(const dindex *x, uint32_t coll)
{
    return coll < x->nmembers ? x->members[coll] : NULL;
}

static eq_index *index_find(const dindex *x, uint32_t coll, const char *path)
{
    for (size_t i = 0; i < x->nidx; i++)
        if (x->idx[i].coll == coll && strcmp(x->idx[i].path, path) == 0) return &x->idx[i];
    return NULL;
}

int dindex_ensure(dindex *x, const mstate *s, uint32_t coll, const char *path)
{
    if (strlen(path) > DINDEX_PATH_MAX) return -1;
    if (index_find(x, coll, path)) return 0;
    if (x->nidx == x->capidx) {
        size_t cap = x->capidx ? x->capidx * 2 : 8;
        eq_index *p = realloc(x->idx, cap * sizeof *p);
        if (!p) return -1;
        x->idx = p;
        x->capidx = cap;
    }
    eq_index *ix = &x->idx[x->nidx++];
    memset(ix, 0, sizeof *ix);
    ix->coll = coll;
    util_strlcpy(ix->path, path, sizeof ix->path);
    buf k;
    buf_init(&k);
    int rc = 0;
    for (uint32_t n = 0; n < mstate_doc_count(s) && rc == 0; n++) {
        if (mstate_doc_coll(s, n) != coll) continue;
        const mversion *v = mstate_doc_get(s, n, UINT64_MAX);
        if (v && !v->deleted) rc = index_version(ix, n, v, 1, &k);
    }
    buf_release(&k);
    return rc;
}

roaring_bitmap_t *dindex_eq(const dindex *x, uint32_t coll, const char *path, doc_view v)
{
    const eq_index *ix = index_find(x, coll, path);
    STELE_ASSERT(ix != NULL);
    buf k;
    buf_init(&k);
    const eq_entry *e = key_of(v, &k) == 0 ? entry_find(ix, k.data, k.len) : NULL;
    buf_release(&k);
    return e ? roaring_bitmap_copy(e->bm) : roaring_bitmap_create();
}

void dindex_sizes(const dindex *x, uint64_t *count, uint64_t *bytes)
{
    *count = x->nidx;
    *bytes = 0;
    for (size_t i = 0; i < x->nidx; i++)
        for (size_t j = 0; j < x->idx[i].ne; j++)
            *bytes += roaring_bitmap_size_in_bytes(x->idx[i].e[j].bm) + x->idx[i].e[j].klen;
}
