/*
 * state_int.h — the insides of mstate, shared by the files of the document state:
 * state.c (collections, documents, the id table, tentative changes, digest),
 * state_snap.c (snapshot directory and partitions) and state_cache.c (lazy version
 * bytes under a memory budget). Nothing outside src/model/state*.c includes it.
 *
 * Lazy bytes. The snapshot's partitions cover doc numbers [0, cache.ndoc) in order; a
 * document's partition versions are those with lsn <= cache.lsn (the snapshot's: every
 * version put later has a greater LSN), a prefix of its versions (mst_doc_pnv). While
 * its partition is not resident their `doc` pointers are NULL (every stored version has
 * at least one byte of SDOC, so NULL means "not loaded" and nothing else). Versions put
 * after the snapshot live in the chunks and are always resident. Invariants:
 *  1. mpart.body != NULL iff the partition is resident; then every partition version
 *     of each of its documents points into body, and cache.resident is the sum of the
 *     resident partitions' bytes.
 *  2. A partition used since the last safe point (used >= safe_tick) is never evicted:
 *     pointers handed out since then stay valid.
 *  3. Bit n of cache.checked: doc n's partition is resident and its partition versions
 *     passed doc_validate (checked one document at a time, when first read: a cold read
 *     then pays for its document, not for the whole partition).
 */
#ifndef STELE_MODEL_STATE_INT_H
#define STELE_MODEL_STATE_INT_H

#include "model/state.h"

/* Fields that readers on other threads load while the writer changes them (see
 * state_read.c): sequentially consistent, so that what a count or pointer covers was
 * written before it, and so that a reader's announced epoch and the writer's
 * unpublishing of a block are ordered (state_read.c invariant 2: no fences, which
 * ThreadSanitizer does not model). On x86 such a load is a plain load; a store is an
 * xchg (a few per transaction). The writer may read them plainly. */
#define MST_LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define MST_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

/* A block a reader may still hold, freed once every reader slot's epoch is past it. */
typedef struct mretired {
    void *p;
    uint64_t epoch;
} mretired;

/* Readers of other threads (state_read.c). slot[i]: 0 free, 1 held by a view between
 * calls, else the global epoch announced at the start of a call (>= 2). */
typedef struct mreaders {
    int on;          /* mstate_readers_enable: retire instead of free */
    uint64_t epoch;  /* global epoch: the writer bumps it at every retirement */
    uint64_t slot[MSTATE_READERS_MAX];
    mretired *retired;
    size_t nretired, capretired;
    /* Published by the writer after a commit: counts first, then the LSN. */
    uint64_t pub_lsn;
    uint32_t pub_ndoc, pub_ncoll;
} mreaders;

typedef struct name_event {
    uint64_t lsn;
    char name[MSTATE_NAME_MAX + 1];
    int dropped;
} name_event;

typedef struct mcoll {
    name_event *ev;
    size_t nev, cap;
} mcoll;

/* A document: 32 bytes. Its version array is borrowed from the loaded directory's slab
 * (vslab, never grown or freed alone) or owned; an owned array of nv versions has room
 * for at least pow2ceil(nv) (mst_vcap): it is allocated with a power of two and nv only
 * shrinks below that by a rollback. coll and id_len are written once, before the doc
 * number is published, and never change (readers of other threads read them). */
typedef struct mdoc {
    uint32_t coll : 22;   /* < MSTATE_COLL_MAX */
    uint32_t id_len : 10; /* <= MSTATE_KEY_MAX */
    uint32_t nv;
    char *id;             /* NUL-terminated, in the chunks */
    mversion *v;
} mdoc;

/* A ledger record that made versions: its time and author, once for all of them. The
 * table is sorted by LSN (records apply in LSN order); a tentative record has
 * MSTATE_LSN_TENTATIVE and time 0 until mstate_stamp. */
typedef struct mrec {
    uint64_t lsn, ts;
    uint8_t author[16];
} mrec;

typedef struct index_event {
    uint64_t lsn;
    uint32_t coll;
    int dropped;
    int kind;                        /* MSTATE_INDEX_VALUE or MSTATE_INDEX_TEXT */
    char path[MSTATE_PATH_MAX + 1];
    char lang[MSTATE_LANG_MAX + 1];  /* text: the Snowball language; value: "" */
} index_event;

/* A partition of the snapshot the state was loaded from (or last written). */
typedef struct mpart {
    uint32_t first, ndoc; /* doc numbers [first, first + ndoc) */
    uint64_t bytes;       /* version bytes of those documents, in order */
    size_t ref_off, ref_len; /* its reference (store's) in mcache.refs */
    uint8_t *body;        /* resident bytes, or NULL */
    uint64_t used;        /* cache tick of the last use */
} mpart;

/* Doc numbers per entry of the partition lookup (mcache.blk). */
#define MCACHE_BLOCK_SHIFT 8

typedef struct mcache {
    mpart *part;
    uint32_t npart;
    uint32_t ndoc;   /* the partitions cover doc numbers [0, ndoc) */
    uint64_t lsn;    /* the snapshot's LSN: versions up to it are in the partitions */
    uint32_t *blk;   /* blk[n >> MCACHE_BLOCK_SHIFT]: the partition of doc n & ~(block - 1) */
    uint64_t *checked; /* ndoc bits (invariant 3) */
    uint8_t *refs; /* the partitions' references, one after the other */
    uint64_t resident, budget, tick, safe_tick;
    uint64_t loads, evictions;
    mstate_loader load;
    void *ctx;
    int failed; /* a load failed since the last mstate_lazy_failed */
    util_err why;
    /* A snapshot being written (mstate_serialize) until taken or abandoned. */
    mpart *next;
    uint32_t nnext;
    uint64_t next_lsn;
    uint32_t *next_blk; /* its lookup, allocated before it is taken (taking cannot fail) */
    uint64_t *next_checked;
    buf next_refs;
} mcache;

struct mstate {
    index_event *ixev; /* explicit index definitions, in LSN order */
    size_t nixev, capixev, mark_nixev;
    mcoll *colls;
    uint32_t ncoll, capcoll;
    mdoc *docs;
    uint32_t ndoc, capdoc;
    uint64_t *tab; /* id table slots: tag << 32 | doc number + 1; 0 = empty, TAB_TOMB =
                    * a removed entry; tab[-1] holds tabbits (readers load the pointer) */
    uint64_t tabcap;  /* 2^tabbits slots, at most half full (tombstones included) */
    unsigned tabbits;
    uint64_t ntomb;   /* tombstones in the table */
    mreaders rd;      /* readers on other threads (state_read.c) */
    /* Since mstate_mark: touched doc numbers, and the sizes to roll back to. */
    int marked;
    uint32_t *journal;
    size_t njournal, capjournal;
    uint32_t mark_ndoc, mark_ncoll;
    size_t *mark_nev; /* per collection existing at the mark */
    mversion *vslab; /* the versions of a loaded snapshot's directory */
    uint64_t nvslab;
    mrec *recs;      /* records that made versions, by LSN (readers load the pointer) */
    size_t nrec, caprec, mark_nrec;
    madj *adj; /* graph adjacency (edges.h) */
    int primary; /* mstate_set_primary */
    mcache *cache; /* lazy version bytes (state_cache.c); mutable behind a const state */
    /* Every other version's bytes: copied one after the other into large chunks, never
     * freed one by one (a version lives as long as the state), so a rollback only moves
     * the end back to where it was at the mark. */
    uint8_t **chunk;
    size_t nchunk, capchunk, used;      /* used: bytes of the last chunk */
    size_t *chunk_cap;                  /* bytes of each chunk */
    size_t mark_nchunk, mark_used;
};

/* 1 if d's version array is its own (else none, or borrowed from the slab). */
static inline int mdoc_owned(const mstate *s, const mdoc *d)
{
    uintptr_t v = (uintptr_t)d->v, lo = (uintptr_t)s->vslab;
    return d->v && !(s->vslab && v >= lo && v < lo + s->nvslab * sizeof(mversion));
}

/* Room an owned array of nv versions is known to have: pow2ceil(nv), at least 1. */
static inline size_t mst_vcap(uint32_t nv)
{
    size_t c = 1;
    while (c < nv) c *= 2;
    return c;
}

/* state.c */
uint8_t *mst_bytes_alloc(mstate *s, size_t n);
int mst_coll_event(mstate *s, uint32_t id, const char *name, int dropped, uint64_t lsn);
int mst_tab_alloc(mstate *s, unsigned bits);
int mst_tab_insert_unique(mstate *s, uint32_t n);
/* Notes that a version comes from the record (lsn, ts, author): 0, or -1 on OOM. */
int mst_rec_note(mstate *s, uint64_t lsn, uint64_t ts, const uint8_t author[16]);
/* Index of the record at lsn in the table, or -1. */
int64_t mst_rec_find(const mstate *s, uint64_t lsn);
/* Bits of an id table for n documents: at most three quarters full. */
unsigned mst_tab_bits(uint64_t n);

/* state_read.c: grows *arr (n elements used, *cap allocated) to hold need; with
 * readers on, into a new block whose pointer is published and the old one retired.
 * -1 on out of memory (nothing changed). */
int mst_grow(mstate *s, void **arr, size_t *cap, size_t n, size_t need, size_t elem);
/* Frees p now, or once no reader can hold it (readers on). -1 on OOM (p not retired:
 * call mst_retire_reserve first where that matters). */
int mst_retire_reserve(mstate *s);
void mst_retire(mstate *s, void *p);
void mst_readers_free(mstate *s);
/* The bounds of a read on this thread: the view's counts and LSN if it is in a view of
 * s (mstate_view_enter), else the state's own (the writer sees everything). */
uint32_t mst_doc_bound(const mstate *s);
uint32_t mst_coll_bound(const mstate *s);
uint64_t mst_as_of(const mstate *s, uint64_t as_of);
/* 1 if the calling thread is in a view of s: the cache must not be touched. */
int mst_in_view(const mstate *s);

/* state_cache.c */
mcache *mst_cache_new(void);
void mst_cache_free(mcache *c);
/* Makes the partition versions of doc n resident and checked (0; nothing to do for a
 * document outside the partitions), or -1 after recording why in the cache. */
int mst_doc_resident(const mstate *s, uint32_t n);
/* Marks doc n's partition used and makes its partition versions resident and checked:
 * 0, or -1 (mst_doc_resident, but cheap when already checked). */
int mst_doc_touch(const mstate *s, uint32_t n);
/* The partition of doc n, or MSTATE_NONE (a document made after the snapshot). */
uint32_t mst_doc_part(const mcache *c, uint32_t n);
/* How many of doc n's versions are in its partition (a prefix). */
uint32_t mst_doc_pnv(const mstate *s, uint32_t n);
/* The arrays of a partition lookup for ndoc documents: 0, or -1 on OOM (none). */
int mst_cover_alloc(uint32_t ndoc, uint32_t **blk, uint64_t **checked);
/* Installs them (c's old ones are freed) for c->part[0, npart) covering [0, ndoc) at
 * lsn, every document unchecked. */
void mst_cover_set(mcache *c, uint32_t *blk, uint64_t *checked, uint32_t ndoc, uint64_t lsn);
/* A safe point inside a walk over all documents that keeps no borrowed bytes. */
void mst_walk_point(const mstate *s);

#endif
