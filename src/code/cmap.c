/*
 * cmap.c — the indexer's standalone containers: an arena, a string map and an integer
 * map (open addressing, linear probing, load ≤ 1/2), array growth and key hashing.
 * Layer: code (no Stele, no libclang).
 *
 * Invariants: a map's capacity is 0 or a power of two ≥ 16 and more than twice its
 * count, so every probe loop ends at an empty slot within `cap` steps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code/code.h"

#define ARENA_BLOCK 65536u

struct cg_arena_block {
    cg_arena_block *next;
    size_t used, cap;
    _Alignas(8) unsigned char data[];
};

const char *const CG_COLL_NAME[CG_NCOLL] = {"file", "function", "type", "typedef",
                                            "global", "macro", "field"};
const char *const CG_LABEL_NAME[CG_NLABEL] = {"CALLS", "DEFINES", "INCLUDES", "USES_TYPE",
                                              "HAS_FIELD", "REFERENCES"};

void cg_assert_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "stele: internal error: %s (%s:%d)\n", what, file, line);
    abort();
}

void cg_arena_init(cg_arena *a) { a->head = NULL; }

void cg_arena_release(cg_arena *a)
{
    cg_arena_block *b = a->head;
    while (b) {
        cg_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void *cg_arena_alloc(cg_arena *a, size_t n)
{
    n = (n + 7u) & ~(size_t)7u;
    cg_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->used = 0;
        b->cap = cap;
        if (n > ARENA_BLOCK / 4 && a->head) { /* a big one: keep filling the current block */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

char *cg_arena_strndup(cg_arena *a, const char *s, size_t n)
{
    char *p = cg_arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *cg_arena_strdup(cg_arena *a, const char *s) { return cg_arena_strndup(a, s, strlen(s)); }

char *cg_arena_printf(cg_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = cg_arena_alloc(a, (size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    int m = vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return m == n ? p : NULL;
}

int cg_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    CG_ASSERT(elem > 0 && (*p != NULL || *cap == 0));
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem) return -1;
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

uint64_t cg_hash(const char *s, size_t n, uint64_t seed)
{
    uint64_t h = 14695981039346656037ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 33; /* finalizer: spreads the last bytes into the low bits */
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

const char *cg_key_fit(cg_arena *a, const char *key)
{
    size_t n = strlen(key);
    if (n <= CG_KEY_MAX) return key;
    size_t cut = CG_KEY_CUT;
    while (cut > 0 && ((unsigned char)key[cut] & 0xC0) == 0x80) cut--; /* UTF-8 boundary */
    const char *fit = cg_arena_printf(a, "%.*s#%016llx%016llx", (int)cut, key,
                                      (unsigned long long)cg_hash(key, n, 0),
                                      (unsigned long long)cg_hash(key, n, 0x9e3779b97f4a7c15ull));
    CG_ASSERT(!fit || strlen(fit) <= CG_KEY_MAX);
    return fit;
}

/* ------------------------------------------------------------------ string map */

void cg_smap_init(cg_smap *m) { memset(m, 0, sizeof *m); }

void cg_smap_release(cg_smap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t smap_slot(const char **keys, size_t cap, const char *key)
{
    size_t i = (size_t)cg_hash(key, strlen(key), 0) & (cap - 1);
    while (keys[i] && strcmp(keys[i], key) != 0) i = (i + 1) & (cap - 1);
    return i;
}

static int smap_rehash(cg_smap *m, size_t cap)
{
    const char **keys = calloc(cap, sizeof *keys);
    uint32_t *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            size_t j = smap_slot(keys, cap, m->keys[i]);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int cg_smap_put(cg_smap *m, const char *key, uint32_t val, uint32_t *old)
{
    CG_ASSERT(key != NULL);
    if (2 * (m->n + 1) > m->cap && smap_rehash(m, m->cap ? 2 * m->cap : 16) != 0) return -1;
    CG_ASSERT(2 * m->n < m->cap); /* an empty slot ends every probe */
    size_t i = smap_slot(m->keys, m->cap, key);
    if (m->keys[i]) {
        if (old) *old = m->vals[i];
        return 1;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

int cg_smap_get(const cg_smap *m, const char *key, uint32_t *val)
{
    if (!m->cap) return 0;
    size_t i = smap_slot(m->keys, m->cap, key);
    if (!m->keys[i]) return 0;
    *val = m->vals[i];
    return 1;
}

/* ----------------------------------------------------------------- integer map */

void cg_umap_init(cg_umap *m) { memset(m, 0, sizeof *m); }

void cg_umap_release(cg_umap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t umap_slot(const uint64_t *keys, size_t cap, uint64_t key)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ull;
    size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
    while (keys[i] != UINT64_MAX && keys[i] != key) i = (i + 1) & (cap - 1);
    return i;
}

static int umap_rehash(cg_umap *m, size_t cap)
{
    uint64_t *keys = malloc(cap * sizeof *keys);
    uint32_t *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    memset(keys, 0xff, cap * sizeof *keys);
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != UINT64_MAX) {
            size_t j = umap_slot(keys, cap, m->keys[i]);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int cg_umap_put(cg_umap *m, uint64_t key, uint32_t val, uint32_t *old)
{
    CG_ASSERT(key != UINT64_MAX);
    if (2 * (m->n + 1) > m->cap && umap_rehash(m, m->cap ? 2 * m->cap : 16) != 0) return -1;
    CG_ASSERT(2 * m->n < m->cap);
    size_t i = umap_slot(m->keys, m->cap, key);
    if (m->keys[i] == key) {
        if (old) *old = m->vals[i];
        return 1;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

int cg_umap_get(const cg_umap *m, uint64_t key, uint32_t *val)
{
    if (!m->cap || key == UINT64_MAX) return 0;
    size_t i = umap_slot(m->keys, m->cap, key);
    if (m->keys[i] != key) return 0;
    *val = m->vals[i];
    return 1;
}
