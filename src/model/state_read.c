/*
 * state_read.c — readers of a document state on other threads than its writer's
 * (state.h "Readers on other threads"; docs/DECISIONS.md 35). Layer: model.
 *
 * Invariants (with readers on)
 *  1. A block a reader can reach (the document table, a document's versions, the
 *     collections, a collection's name events, the id table) is never freed or
 *     written past its published count while reachable: growth copies it into a new
 *     block, publishes the pointer (release) and retires the old one.
 *  2. A retired block is freed only when every reader slot is idle or announces an
 *     epoch later than the block's: a reader announces the global epoch before it
 *     loads any pointer, and the writer bumps the epoch after unpublishing a block, so
 *     an announced epoch <= the block's means the reader may hold it.
 *  3. pub_ndoc / pub_ncoll count only committed doc numbers and collections, and are
 *     stored before pub_lsn: a view that loads the LSN and then the counts gets counts
 *     that cover everything visible at that LSN and nothing tentative.
 *  4. A thread is in at most one view at a time (tl_view); the writer never is.
 *
 *   view:  open ──claim slot (CAS 0→1)──▶ idle ──enter (slot = epoch)──▶ in a call
 *                                          ▲ ◀──────leave (slot = 1)────────┘
 *          close: slot = 0
 */
#include "model/state_int.h"

#include <stdlib.h>

static _Thread_local const mstate_view *tl_view;

#define SLOT_FREE 0u
#define SLOT_IDLE 1u
#define EPOCH_FIRST 2u

int mst_in_view(const mstate *s) { return tl_view && tl_view->s == s; }

uint32_t mst_doc_bound(const mstate *s) { return mst_in_view(s) ? tl_view->ndoc : s->ndoc; }

uint32_t mst_coll_bound(const mstate *s)
{
    return mst_in_view(s) ? tl_view->ncoll : s->ncoll;
}

uint64_t mst_as_of(const mstate *s, uint64_t as_of)
{
    return mst_in_view(s) && as_of > tl_view->lsn ? tl_view->lsn : as_of;
}

int mstate_readers_on(const mstate *s) { return s->rd.on; }

int mst_retire_reserve(mstate *s)
{
    mreaders *r = &s->rd;
    if (!r->on) return 0;
    return util_grow((void **)&r->retired, &r->capretired, r->nretired + 1, sizeof *r->retired);
}

void mst_retire(mstate *s, void *p)
{
    mreaders *r = &s->rd;
    if (!p) return;
    if (!r->on) {
        free(p);
        return;
    }
    STELE_ASSERT(r->nretired < r->capretired); /* mst_retire_reserve came first */
    r->retired[r->nretired++] = (mretired){p, r->epoch};
    __atomic_store_n(&r->epoch, r->epoch + 1, __ATOMIC_SEQ_CST);
}

int mst_grow(mstate *s, void **arr, size_t *cap, size_t n, size_t need, size_t elem)
{
    STELE_ASSERT(n <= *cap && elem > 0);
    if (need <= *cap) return 0;
    if (!s->rd.on) return util_grow(arr, cap, need, elem);
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem) return -1;
        c *= 2;
    }
    void *p = malloc(c * elem);
    if (!p || mst_retire_reserve(s) != 0) {
        free(p);
        return -1;
    }
    void *old = *arr;
    if (n) memcpy(p, old, n * elem);
    MST_STORE(arr, p);
    *cap = c;
    mst_retire(s, old);
    return 0;
}

/* The smallest epoch a reader in a call announces, or UINT64_MAX. */
static uint64_t oldest_reader(const mreaders *r)
{
    uint64_t min = UINT64_MAX;
    for (uint32_t i = 0; i < MSTATE_READERS_MAX; i++) {
        uint64_t e = __atomic_load_n(&r->slot[i], __ATOMIC_SEQ_CST);
        if (e >= EPOCH_FIRST && e < min) min = e;
    }
    return min;
}

/* Frees the retired blocks no reader can hold (invariant 2). */
static void reclaim(mstate *s)
{
    mreaders *r = &s->rd;
    uint64_t min = oldest_reader(r); /* seq_cst after the unpublishing stores */
    size_t keep = 0;
    for (size_t i = 0; i < r->nretired; i++) {
        if (r->retired[i].epoch < min) free(r->retired[i].p);
        else r->retired[keep++] = r->retired[i];
    }
    r->nretired = keep;
}

void mst_readers_free(mstate *s)
{
    mreaders *r = &s->rd;
    for (uint32_t i = 0; i < MSTATE_READERS_MAX; i++)
        STELE_ASSERT(r->slot[i] == SLOT_FREE); /* every view was closed */
    for (size_t i = 0; i < r->nretired; i++) free(r->retired[i].p);
    free(r->retired);
}

int mstate_readers_enable(mstate *s)
{
    STELE_ASSERT(!s->marked);
    for (uint32_t n = 0; n < s->ndoc; n++) { /* every partition resident, for good */
        if (mst_doc_resident(s, n) != 0) return -1;
    }
    s->cache->budget = UINT64_MAX;
    s->rd.epoch = EPOCH_FIRST;
    s->rd.pub_ndoc = s->ndoc;
    s->rd.pub_ncoll = s->ncoll;
    s->rd.on = 1;
    return 0;
}

void mstate_publish(mstate *s, uint64_t lsn)
{
    mreaders *r = &s->rd;
    STELE_ASSERT(!s->marked && lsn < MSTATE_LSN_TENTATIVE);
    if (!r->on) return;
    STELE_ASSERT(lsn >= r->pub_lsn && s->ndoc >= r->pub_ndoc && s->ncoll >= r->pub_ncoll);
    MST_STORE(&r->pub_ndoc, s->ndoc);
    MST_STORE(&r->pub_ncoll, s->ncoll);
    MST_STORE(&r->pub_lsn, lsn);
    reclaim(s);
}

int mstate_view_open(const mstate *s, mstate_view *v)
{
    mreaders *r = (mreaders *)&s->rd; /* the slots are the readers' side of a const state */
    STELE_ASSERT(r->on);
    memset(v, 0, sizeof *v);
    for (uint32_t i = 0; i < MSTATE_READERS_MAX; i++) {
        uint64_t free_slot = SLOT_FREE;
        if (!__atomic_compare_exchange_n(&r->slot[i], &free_slot, SLOT_IDLE, 0,
                                         __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            continue;
        v->s = s;
        v->slot = i;
        v->lsn = MST_LOAD(&r->pub_lsn); /* then the counts: invariant 3 */
        v->ndoc = MST_LOAD(&r->pub_ndoc);
        v->ncoll = MST_LOAD(&r->pub_ncoll);
        return 0;
    }
    return -1;
}

void mstate_view_close(mstate_view *v)
{
    if (!v->s) return;
    STELE_ASSERT(tl_view != v);
    mreaders *r = (mreaders *)&v->s->rd;
    __atomic_store_n(&r->slot[v->slot], SLOT_FREE, __ATOMIC_SEQ_CST);
    v->s = NULL;
}

void mstate_view_enter(mstate_view *v)
{
    STELE_ASSERT(v->s && !tl_view && v->slot < MSTATE_READERS_MAX);
    mreaders *r = (mreaders *)&v->s->rd;
    uint64_t e = __atomic_load_n(&r->epoch, __ATOMIC_SEQ_CST);
    STELE_ASSERT(e >= EPOCH_FIRST);
    /* announced before any pointer is loaded: seq_cst store, then seq_cst loads (MST_LOAD)
     * — the writer's unpublishing store, epoch bump and slot scan are seq_cst too, so
     * either the writer sees this slot or this reader sees the new pointers */
    __atomic_store_n(&r->slot[v->slot], e, __ATOMIC_SEQ_CST);
    tl_view = v;
}

void mstate_view_leave(mstate_view *v)
{
    STELE_ASSERT(tl_view == v);
    mreaders *r = (mreaders *)&v->s->rd;
    tl_view = NULL;
    __atomic_store_n(&r->slot[v->slot], SLOT_IDLE, __ATOMIC_SEQ_CST);
}
