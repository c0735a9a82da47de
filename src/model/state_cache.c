/*
 * state_cache.c — the version bytes of snapshot partitions, loaded on first use and
 * evicted least recently used first under a memory budget. Layer: model (the bytes
 * come through a loader the api layer gives: the store reads and authenticates them).
 * See state_int.h for the invariants.
 *
 * Concurrency: a handle is used by one thread at a time (include/stele.h), so a read
 * may change the cache behind a const state; the writer's own reads do the same.
 * Pointers into a partition stay valid until the next safe point (mstate_reads_done,
 * or a walk's own point inside serialize and digest, which keep none).
 */
#include "model/state_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "model/doc.h"
#include "model/sdict.h"

mcache *mst_cache_new(void)
{
    mcache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->budget = UINT64_MAX;
    buf_init(&c->next_refs);
    return c;
}

static void parts_free(mpart *p, uint32_t n)
{
    for (uint32_t i = 0; p && i < n; i++) free(p[i].body);
    free(p);
}

void mst_cache_free(mcache *c)
{
    if (!c) return;
    parts_free(c->part, c->npart);
    parts_free(c->next, c->nnext);
    free(c->next_blk);
    free(c->next_checked);
    free(c->blk);
    free(c->checked);
    free(c->refs);
    buf_release(&c->next_refs);
    free(c);
}

void mstate_set_loader(mstate *s, mstate_loader load, void *ctx, uint64_t budget_bytes)
{
    STELE_ASSERT(load && budget_bytes > 0);
    s->cache->load = load;
    s->cache->ctx = ctx;
    s->cache->budget = budget_bytes;
}

static void make_room(const mstate *s, uint64_t need);

void mstate_reads_done(const mstate *s)
{
    mcache *c = s->cache;
    c->safe_tick = ++c->tick;
    if (c->resident > c->budget) make_room(s, 0); /* what the last call left beyond it */
}

void mst_walk_point(const mstate *s) { mstate_reads_done(s); }

int mstate_lazy_failed(const mstate *s, util_err *e)
{
    mcache *c = s->cache;
    if (!c->failed) return 0;
    *e = c->why;
    c->failed = 0;
    return 1;
}

void mstate_cache_stats_get(const mstate *s, mstate_cache_stats *out)
{
    const mcache *c = s->cache;
    memset(out, 0, sizeof *out);
    out->resident_bytes = c->resident;
    out->budget_bytes = c->budget;
    out->loads = c->loads;
    out->evictions = c->evictions;
    out->parts = c->npart;
    for (uint32_t i = 0; i < c->npart; i++) out->parts_resident += c->part[i].body != NULL;
}

int mstate_part_ref(const mstate *s, int pending, uint32_t i, const uint8_t **ref,
                    size_t *len)
{
    const mcache *c = s->cache;
    const mpart *p = pending ? c->next : c->part;
    if (i >= (pending ? c->nnext : c->npart)) return 0;
    *ref = (pending ? c->next_refs.data : c->refs) + p[i].ref_off;
    *len = p[i].ref_len;
    return 1;
}

int mst_cover_alloc(uint32_t ndoc, uint32_t **blk, uint64_t **checked)
{
    *blk = malloc((((size_t)ndoc >> MCACHE_BLOCK_SHIFT) + 1) * sizeof **blk);
    *checked = calloc((size_t)ndoc / 64 + 1, sizeof **checked);
    if (*blk && *checked) return 0;
    free(*blk);
    free(*checked);
    *blk = NULL;
    *checked = NULL;
    return -1;
}

void mst_cover_set(mcache *c, uint32_t *blk, uint64_t *checked, uint32_t ndoc, uint64_t lsn)
{
    size_t nblk = ((size_t)ndoc >> MCACHE_BLOCK_SHIFT) + 1;
    memset(checked, 0, ((size_t)ndoc / 64 + 1) * sizeof *checked);
    for (uint32_t i = 0, b = 0; i < c->npart; i++) { /* block b starts in partition i */
        const mpart *p = &c->part[i];
        STELE_ASSERT(p->ndoc > 0 && (i == 0 ? p->first == 0 : p->first == p[-1].first + p[-1].ndoc));
        for (; b < nblk && ((uint64_t)b << MCACHE_BLOCK_SHIFT) < (uint64_t)p->first + p->ndoc; b++)
            blk[b] = i;
    }
    free(c->blk);
    free(c->checked);
    c->blk = blk;
    c->checked = checked;
    c->ndoc = ndoc;
    c->lsn = lsn;
}

uint32_t mst_doc_part(const mcache *c, uint32_t n)
{
    if (n >= c->ndoc) return MSTATE_NONE;
    uint32_t i = c->blk[n >> MCACHE_BLOCK_SHIFT];
    while (c->part[i].first + c->part[i].ndoc <= n) i++; /* at most a block's partitions */
    STELE_ASSERT(i < c->npart && c->part[i].first <= n);
    return i;
}

uint32_t mst_doc_pnv(const mstate *s, uint32_t n)
{
    const mdoc *d = &s->docs[n];
    if (n >= s->cache->ndoc) return 0;
    uint32_t k = d->nv;
    while (k > 0 && d->v[k - 1].lsn > s->cache->lsn) k--; /* newer ones: few */
    return k;
}

static int doc_checked(const mcache *c, uint32_t n)
{
    return (int)((c->checked[n / 64] >> (n % 64)) & 1u);
}

/* Points (or unpoints: body NULL) the partition versions of p's documents. */
static void part_point(const mstate *s, const mpart *p, const uint8_t *body)
{
    mcache *c = s->cache;
    size_t off = 0;
    for (uint32_t n = p->first; n < p->first + p->ndoc; n++) {
        mdoc *d = &s->docs[n];
        c->checked[n / 64] &= ~((uint64_t)1 << (n % 64)); /* not checked against these bytes */
        for (uint32_t j = 0, pnv = mst_doc_pnv(s, n); j < pnv; j++) {
            d->v[j].doc = body ? body + off : NULL;
            off += d->v[j].doc_len;
        }
    }
    STELE_ASSERT(off == p->bytes);
}

static void part_evict(const mstate *s, mpart *p)
{
    STELE_ASSERT(p->body && s->cache->resident >= p->bytes);
    part_point(s, p, NULL);
    free(p->body);
    p->body = NULL;
    s->cache->resident -= p->bytes;
    s->cache->evictions++;
}

/* Evicts least recently used partitions not used since the safe point until `need`
 * more bytes fit the budget, or none is left to evict. */
static void make_room(const mstate *s, uint64_t need)
{
    mcache *c = s->cache;
    for (uint32_t round = 0; round < c->npart && c->resident + need > c->budget; round++) {
        mpart *lru = NULL;
        for (uint32_t i = 0; i < c->npart; i++) {
            mpart *p = &c->part[i];
            if (p->body && p->used < c->safe_tick && (!lru || p->used < lru->used)) lru = p;
        }
        if (!lru) return;
        part_evict(s, lru);
    }
}

static int part_fail(mcache *c, stele_status code, const char *msg)
{
    util_fail(&c->why, code, "%s", msg);
    c->failed = 1;
    return -1;
}

static int part_load(const mstate *s, mpart *p)
{
    mcache *c = s->cache;
    STELE_ASSERT(!p->body);
    if (!c->load)
        return part_fail(c, STELE_ECORRUPT, "a snapshot partition is needed but no loader is set");
    make_room(s, p->bytes);
    uint8_t *bytes = NULL;
    size_t len = 0;
    util_err e;
    util_err_clear(&e);
    stele_status rc = c->load(c->ctx, c->refs + p->ref_off, p->ref_len, &bytes, &len, &e);
    if (rc != STELE_OK) return part_fail(c, rc, e.msg);
    const char *why;
    rc = sdict_unpack(&bytes, &len, p->bytes, &why); /* stored raw, or dictionary-encoded */
    if (rc != STELE_OK) {
        free(bytes);
        char msg[160];
        snprintf(msg, sizeof msg, "a snapshot partition does not decode (%s; 'stele snapshot' "
                 "derives the state from the log)", why);
        return part_fail(c, rc, msg);
    }
    if (len != p->bytes) {
        free(bytes);
        return part_fail(c, STELE_ECORRUPT, "a snapshot partition does not match its directory "
                         "('stele snapshot' derives the state from the log)");
    }
    p->body = bytes;
    part_point(s, p, bytes);
    c->resident += p->bytes;
    c->loads++;
    return 0;
}

int mst_doc_resident(const mstate *s, uint32_t n)
{
    mcache *c = s->cache;
    uint32_t part = mst_doc_part(c, n);
    if (part == MSTATE_NONE) return 0;
    mpart *p = &c->part[part];
    p->used = ++c->tick;
    if (!p->body && part_load(s, p) != 0) return -1;
    if (doc_checked(c, n)) return 0;
    const mdoc *d = &s->docs[n];
    for (uint32_t j = 0, pnv = mst_doc_pnv(s, n); j < pnv; j++) /* stored: canonical SDOC */
        if (doc_validate(d->v[j].doc, d->v[j].doc_len) != 0)
            return part_fail(c, STELE_ECORRUPT, "a document of a snapshot partition is "
                             "malformed ('stele snapshot' derives the state from the log)");
    c->checked[n / 64] |= (uint64_t)1 << (n % 64);
    return 0;
}

int mst_doc_touch(const mstate *s, uint32_t n)
{
    mcache *c = s->cache;
    uint32_t part = mst_doc_part(c, n);
    if (part == MSTATE_NONE) return 0;
    c->part[part].used = ++c->tick;
    return doc_checked(c, n) ? 0 : mst_doc_resident(s, n);
}
