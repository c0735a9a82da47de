/*
 * state.c — see state.h. Layer: model.
 * Collections keep a history of name events (create, rename, drop) so that a name
 * resolves "as of" any LSN. Documents live in a dense array indexed by doc number;
 * (collection, _id) → doc number is an open-addressing table of doc numbers + 1.
 */
#include "model/state.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "crypto/crypto.h"
#include "model/doc.h"
#include "model/state_int.h"

/* Version bytes go into chunks of this size (or one of their own if larger), aligned
 * and advised as transparent huge pages: a growing state then takes one page fault per
 * 2 MiB instead of one per 4 KiB, and no malloc per version. */
#define CHUNK_BYTES ((size_t)2 << 20)

/* Room for n bytes of version data; NULL on out of memory. */
uint8_t *mst_bytes_alloc(mstate *s, size_t n)
{
    if (s->nchunk && s->chunk_cap[s->nchunk - 1] - s->used >= n) {
        uint8_t *p = s->chunk[s->nchunk - 1] + s->used;
        s->used += n;
        return p;
    }
    size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES, capc = s->capchunk;
    if (util_grow((void **)&s->chunk, &capc, s->nchunk + 1, sizeof *s->chunk) != 0) return NULL;
    size_t capb = s->capchunk;
    if (util_grow((void **)&s->chunk_cap, &capb, s->nchunk + 1, sizeof *s->chunk_cap) != 0)
        return NULL;
    STELE_ASSERT(capb == capc);
    s->capchunk = capc;
    void *p = NULL;
    if (posix_memalign(&p, CHUNK_BYTES, cap) != 0) return NULL;
    (void)madvise(p, cap, MADV_HUGEPAGE); /* advice only: fine if refused */
    s->chunk[s->nchunk] = p;
    s->chunk_cap[s->nchunk++] = cap;
    s->used = n;
    return p;
}

int mstate_name_ok(const char *name, size_t n)
{
    if (n == 0 || n > MSTATE_NAME_MAX || name[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

mstate *mstate_new(void)
{
    mstate *s = calloc(1, sizeof(mstate));
    if (s && (!(s->adj = madj_new()) || !(s->cache = mst_cache_new()))) {
        madj_free(s->adj);
        free(s);
        return NULL;
    }
    return s;
}

madj *mstate_adj(mstate *s) { return s->adj; }
void mstate_set_primary(mstate *s, int primary) { s->primary = primary != 0; }
int mstate_primary(const mstate *s) { return s->primary; }
const madj *mstate_adj_c(const mstate *s) { return s->adj; }

void mstate_free(mstate *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->ncoll; i++) free(s->colls[i].ev);
    for (uint32_t i = 0; i < s->ndoc; i++) /* ids and bytes: chunks, directory, cache */
        if (mdoc_owned(s, &s->docs[i])) free(s->docs[i].v);
    free(s->vslab);
    free(s->recs);
    mst_cache_free(s->cache);
    free(s->ixev);
    free(s->colls);
    free(s->docs);
    if (s->tab) free(s->tab - 1);
    mst_readers_free(s);
    free(s->journal);
    free(s->mark_nev);
    madj_free(s->adj);
    for (size_t i = 0; i < s->nchunk; i++) free(s->chunk[i]);
    free(s->chunk);
    free(s->chunk_cap);
    free(s);
}

/* ---- collections ---- */

int mst_coll_event(mstate *s, uint32_t id, const char *name, int dropped, uint64_t lsn)
{
    STELE_ASSERT(id < s->ncoll);
    mcoll *c = &s->colls[id];
    STELE_ASSERT(c->nev == 0 || c->ev[c->nev - 1].lsn <= lsn);
    if (mst_grow(s, (void **)&c->ev, &c->cap, c->nev, c->nev + 1, sizeof *c->ev) != 0)
        return -1;
    name_event *e = &c->ev[c->nev]; /* past the count readers load: theirs to ignore */
    MST_STORE(&e->lsn, lsn);
    e->dropped = dropped;
    memset(e->name, 0, sizeof e->name);
    util_strlcpy(e->name, name, sizeof e->name);
    MST_STORE(&c->nev, c->nev + 1);
    return 0;
}

/* The name event in effect at as_of, or NULL if the collection did not exist yet. */
static const name_event *coll_at(const mstate *s, uint32_t id, uint64_t as_of)
{
    const mcoll *c = &MST_LOAD(&s->colls)[id];
    size_t nev = MST_LOAD(&c->nev); /* then the events it covers */
    const name_event *ev = MST_LOAD(&c->ev), *at = NULL;
    as_of = mst_as_of(s, as_of);
    for (size_t i = 0; i < nev && MST_LOAD(&ev[i].lsn) <= as_of; i++) at = &ev[i];
    return at;
}

int mstate_coll_create(mstate *s, const char *name, uint64_t lsn, uint32_t *id)
{
    STELE_ASSERT(strlen(name) <= MSTATE_NAME_MAX);
    size_t cap = s->capcoll;
    if (s->ncoll >= MSTATE_COLL_MAX ||
        mst_grow(s, (void **)&s->colls, &cap, s->ncoll, (size_t)s->ncoll + 1, sizeof *s->colls))
        return -1;
    s->capcoll = (uint32_t)cap;
    memset(&s->colls[s->ncoll], 0, sizeof *s->colls);
    *id = s->ncoll++;
    return mst_coll_event(s, *id, name, 0, lsn);
}

int mstate_coll_drop(mstate *s, uint32_t id, uint64_t lsn)
{
    const name_event *now = coll_at(s, id, UINT64_MAX);
    STELE_ASSERT(now && !now->dropped);
    return mst_coll_event(s, id, now->name, 1, lsn);
}

int mstate_coll_rename(mstate *s, uint32_t id, const char *name, uint64_t lsn)
{
    const name_event *now = coll_at(s, id, UINT64_MAX);
    STELE_ASSERT(now && !now->dropped && strlen(name) <= MSTATE_NAME_MAX);
    return mst_coll_event(s, id, name, 0, lsn);
}

uint32_t mstate_coll_find(const mstate *s, const char *name, uint64_t as_of)
{
    for (uint32_t i = 0, n = mst_coll_bound(s); i < n; i++) {
        const name_event *e = coll_at(s, i, as_of);
        if (e && !e->dropped && strcmp(e->name, name) == 0) return i;
    }
    return MSTATE_NONE;
}

uint32_t mstate_coll_count(const mstate *s) { return mst_coll_bound(s); }

const char *mstate_coll_name(const mstate *s, uint32_t id, uint64_t as_of)
{
    if (id >= mst_coll_bound(s)) return NULL;
    const name_event *e = coll_at(s, id, as_of);
    return (e && !e->dropped) ? e->name : NULL;
}

/* ---- documents ---- */

#if UINTPTR_MAX == UINT64_MAX /* the sizes the memory budget counts on (docs/LIMITS.md) */
_Static_assert(sizeof(mdoc) == 24, "a document entry is 24 bytes");
_Static_assert(sizeof(mversion) == 24, "a version is 24 bytes");
#endif

/* The id table's hash of (collection, _id): eight bytes at a time, each folded in with
 * a multiply and a shift, then a final mix. A table hash, not a security one; it is
 * not stored anywhere (the digest does not depend on the table). */
static uint64_t doc_key_hash(uint32_t coll, const char *id, size_t len)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull; /* odd; 2^64 / golden ratio */
    uint64_t h = ((uint64_t)coll + 1) * k ^ len;
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, id + i, 8);
        h = (h ^ w) * k;
        h ^= h >> 31;
    }
    uint64_t w = 0;
    memcpy(&w, id + i, len - i);
    h = (h ^ w) * k;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

/* A slot: the hash's high half as a tag, so that a probe looks at a document only when
 * the tags agree. The tag's top bits are also the slot's home (where its probe starts),
 * so growing the table or moving an entry never needs the document's id again. */
static uint64_t slot_of(uint64_t hash, uint32_t docnum)
{
    return (hash & 0xffffffff00000000ull) | ((uint64_t)docnum + 1);
}

/* A removed entry: probes go on past it (readers may be probing: entries never move).
 * Its low half is no doc number + 1 (doc numbers stay below UINT32_MAX - 1). */
#define TAB_TOMB 0xffffffffull

static uint32_t slot_doc(uint64_t slot) { return (uint32_t)slot - 1; }

static uint64_t home_of(unsigned bits, uint64_t slot_or_hash)
{
    STELE_ASSERT(bits >= 10 && bits <= 32);
    return slot_or_hash >> (64 - bits);
}

static uint64_t slot_home(const mstate *s, uint64_t slot_or_hash)
{
    return home_of(s->tabbits, slot_or_hash);
}

/* A new table of 2^bits slots into *t, its size in tab[-1] (readers take the size
 * from the table they loaded). */
static int tab_new(unsigned bits, uint64_t **t)
{
    STELE_ASSERT(bits >= 10 && bits <= 32);
    uint64_t *m = calloc(((size_t)1 << bits) + 1, sizeof *m);
    if (!m) return -1;
    m[0] = bits;
    *t = m + 1;
    return 0;
}

/* An empty table of 2^bits slots (no state had one: snapshot load). */
int mst_tab_alloc(mstate *s, unsigned bits)
{
    STELE_ASSERT(!s->tab);
    if (tab_new(bits, &s->tab) != 0) return -1;
    s->tabcap = (uint64_t)1 << bits;
    s->tabbits = bits;
    return 0;
}

/* Puts a slot at the first free place from its home in table t of 2^bits slots. */
static void tab_put_in(uint64_t *t, unsigned bits, uint64_t slot)
{
    uint64_t j = home_of(bits, slot), mask = ((uint64_t)1 << bits) - 1;
    while (t[j]) j = (j + 1) & mask; /* the table is at most three quarters full */
    MST_STORE(&t[j], slot);
}

/* A table twice the size (10 bits at first) without the tombstones, published. */
static int tab_grow(mstate *s)
{
    unsigned bits = s->tabcap ? s->tabbits + 1 : 10;
    uint64_t *t;
    if (mst_retire_reserve(s) != 0 || tab_new(bits, &t) != 0) return -1;
    for (uint64_t i = 0; i < s->tabcap; i++) /* homes come from the tags: no rehashing */
        if (s->tab[i] && s->tab[i] != TAB_TOMB) tab_put_in(t, bits, s->tab[i]);
    uint64_t *old = s->tab;
    MST_STORE(&s->tab, t);
    s->tabcap = (uint64_t)1 << bits;
    s->tabbits = bits;
    s->ntomb = 0;
    if (old) mst_retire(s, old - 1);
    return 0;
}

static void tab_insert(mstate *s, uint32_t docnum)
{
    const mdoc *d = &s->docs[docnum];
    tab_put_in(s->tab, s->tabbits, slot_of(doc_key_hash(d->coll, d->id, d->id_len), docnum));
}

unsigned mst_tab_bits(uint64_t n)
{
    unsigned bits = 10;
    while (((uint64_t)3 << bits) < n * 4) bits++; /* at most three quarters full */
    return bits;
}

/* Removes doc number n from the table: its slot becomes a tombstone (a reader may be
 * probing this cluster; moving entries back would hide them from it). Growth drops
 * tombstones. */
static void tab_remove(mstate *s, uint32_t n)
{
    uint64_t mask = s->tabcap - 1;
    const mdoc *d = &s->docs[n];
    uint64_t i = slot_home(s, doc_key_hash(d->coll, d->id, d->id_len));
    for (uint64_t probes = 0; s->tab[i] == 0 || s->tab[i] == TAB_TOMB || slot_doc(s->tab[i]) != n;
         probes++) {
        STELE_ASSERT(s->tab[i] != 0 && probes < s->tabcap);
        i = (i + 1) & mask;
    }
    MST_STORE(&s->tab[i], TAB_TOMB);
    s->ntomb++;
}

/* Puts doc number n in the table unless its (collection, id) is there already: one
 * probe for both. 0, or -1 on a duplicate. */
int mst_tab_insert_unique(mstate *s, uint32_t n)
{
    const mdoc *d = &s->docs[n];
    uint64_t h = doc_key_hash(d->coll, d->id, d->id_len), tag = h & 0xffffffff00000000ull;
    uint64_t j = slot_home(s, h);
    for (uint64_t probes = 0; s->tab[j]; probes++) { /* at most 3/4 full: ends */
        STELE_ASSERT(probes < s->tabcap && s->tab[j] != TAB_TOMB); /* none at load */
        const mdoc *o = &s->docs[slot_doc(s->tab[j])];
        if ((s->tab[j] & 0xffffffff00000000ull) == tag && o->coll == d->coll &&
            o->id_len == d->id_len && memcmp(o->id, d->id, d->id_len) == 0)
            return -1;
        j = (j + 1) & (s->tabcap - 1);
    }
    MST_STORE(&s->tab[j], slot_of(h, n));
    return 0;
}

void mstate_doc_prefetch(const mstate *s, uint32_t coll, const char *id, size_t id_len)
{
    const uint64_t *t = MST_LOAD(&s->tab);
    if (t) __builtin_prefetch(&t[home_of((unsigned)t[-1], doc_key_hash(coll, id, id_len))]);
}

/* Works for readers of other threads too: the table and its size are loaded once, and
 * doc numbers past the reader's bound (tentative ones included) are never looked at. */
uint32_t mstate_doc_find(const mstate *s, uint32_t coll, const char *id, size_t id_len)
{
    const uint64_t *t = MST_LOAD(&s->tab);
    if (!t) return MSTATE_NONE;
    const mdoc *docs = MST_LOAD(&s->docs);
    unsigned bits = (unsigned)t[-1];
    uint64_t h = doc_key_hash(coll, id, id_len), tag = h & 0xffffffff00000000ull;
    uint64_t j = home_of(bits, h), mask = ((uint64_t)1 << bits) - 1;
    uint32_t bound = mst_doc_bound(s);
    for (uint64_t probes = 0, slot; (slot = MST_LOAD(&t[j])) && probes <= mask; probes++) {
        if (slot != TAB_TOMB && (slot & 0xffffffff00000000ull) == tag && slot_doc(slot) < bound) {
            const mdoc *d = &docs[slot_doc(slot)];
            if (d->coll == coll && d->id_len == id_len && memcmp(d->id, id, id_len) == 0)
                return slot_doc(slot);
        }
        j = (j + 1) & mask;
    }
    return MSTATE_NONE;
}

static int doc_new(mstate *s, uint32_t coll, const char *id, size_t id_len, uint32_t *docnum)
{
    size_t cap = s->capdoc;
    if (s->ndoc == UINT32_MAX - 1 ||
        mst_grow(s, (void **)&s->docs, &cap, s->ndoc, (size_t)s->ndoc + 1, sizeof *s->docs))
        return -1;
    s->capdoc = (uint32_t)cap;
    if (((uint64_t)s->ndoc + 1 + s->ntomb) * 4 > s->tabcap * 3 && tab_grow(s) != 0) return -1;
    mdoc *d = &s->docs[s->ndoc];
    memset(d, 0, sizeof *d);
    d->id = (char *)mst_bytes_alloc(s, id_len + 1); /* lives as long as the state */
    if (!d->id) return -1;
    memcpy(d->id, id, id_len);
    d->id[id_len] = 0;
    d->id_len = (uint32_t)id_len & 0x3ffu; /* <= MSTATE_KEY_MAX: fits */
    d->coll = coll & 0x3fffffu;            /* < MSTATE_COLL_MAX: fits */
    *docnum = s->ndoc++;
    tab_insert(s, *docnum);
    return 0;
}

int mstate_doc_reserve(mstate *s, uint32_t coll, const char *id, size_t id_len,
                       uint32_t *docnum)
{
    STELE_ASSERT(coll < s->ncoll && id_len > 0 && id_len <= MSTATE_KEY_MAX);
    STELE_ASSERT(mstate_doc_find(s, coll, id, id_len) == MSTATE_NONE);
    return doc_new(s, coll, id, id_len, docnum);
}

/* Gives d an array of its own for one more version (most documents never get a second
 * one: start with one); the versions borrowed from a loaded directory are copied. */
static int version_own(mdoc *d)
{
    mversion *v = malloc(mst_vcap(d->nv + 1) * sizeof *v);
    if (!v) return -1;
    if (d->nv) memcpy(v, d->v, d->nv * sizeof *v);
    MST_STORE(&d->v, v); /* the borrowed array stays (the directory's slab) */
    return 0;
}

int mstate_doc_put(mstate *s, uint32_t coll, const char *id, size_t id_len, uint64_t lsn,
                   uint64_t ts, const uint8_t author[16], int deleted, const uint8_t *doc,
                   size_t doc_len, uint32_t *docnum)
{
    STELE_ASSERT(coll < s->ncoll && id_len > 0 && id_len <= MSTATE_ID_MAX);
    uint32_t n = mstate_doc_find(s, coll, id, id_len);
    if (n == MSTATE_NONE && doc_new(s, coll, id, id_len, &n) != 0) return -1;
    mdoc *d = &s->docs[n];
    STELE_ASSERT(d->nv == 0 || d->v[d->nv - 1].lsn <= lsn);
    /* rev has 31 bits: 2^31 versions of one document would be 48 GiB of version records */
    STELE_ASSERT(doc_len <= SDOC_MAX && d->nv < 0x7fffffffu);
    if (!mdoc_owned(s, d) && version_own(d) != 0) return -1;
    uint8_t *copy = NULL; /* taken last: the chunks cannot give bytes back one by one */
    size_t cap = mst_vcap(d->nv); /* grows to a power of two (mst_grow doubles) */
    if (mst_grow(s, (void **)&d->v, &cap, d->nv, (size_t)d->nv + 1, sizeof *d->v) != 0 ||
        mst_rec_note(s, lsn, ts, author) != 0 ||
        (s->marked && util_grow((void **)&s->journal, &s->capjournal, s->njournal + 1,
                                sizeof *s->journal) != 0) ||
        !(copy = mst_bytes_alloc(s, doc_len)))
        return -1; /* nothing changed (a new doc number with no version is rolled back; an
                    * extra record entry is harmless and goes with a rollback) */
    if (doc_len) memcpy(copy, doc, doc_len);
    if (s->marked) s->journal[s->njournal++] = n;
    mversion *v = &d->v[d->nv]; /* past the count readers load: they read its lsn only */
    MST_STORE(&v->lsn, lsn);
    v->rev = d->nv ? d->v[d->nv - 1].rev + 1u : 1u;
    v->deleted = deleted;
    v->doc = copy;
    v->doc_len = (uint32_t)doc_len;
    MST_STORE(&d->nv, d->nv + 1);
    if (docnum) *docnum = n;
    return 0;
}

/* The document docnum (below the caller's bound), or NULL. */
static const mdoc *doc_at(const mstate *s, uint32_t docnum)
{
    return docnum < mst_doc_bound(s) ? &MST_LOAD(&s->docs)[docnum] : NULL;
}

/* Position + 1 of the newest version of d with lsn <= as_of, or 0; *v gets the
 * versions (the count is loaded before the array it covers). */
static size_t version_at(const mstate *s, const mdoc *d, uint64_t as_of, const mversion **v)
{
    size_t lo = 0, hi = MST_LOAD(&d->nv); /* first version with lsn > as_of */
    const mversion *vs = MST_LOAD(&d->v);
    as_of = mst_as_of(s, as_of);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (MST_LOAD(&vs[mid].lsn) <= as_of) lo = mid + 1;
        else hi = mid;
    }
    *v = vs;
    return lo;
}

const mversion *mstate_doc_meta(const mstate *s, uint32_t docnum, uint64_t as_of)
{
    const mdoc *d = doc_at(s, docnum);
    const mversion *v;
    size_t at = d ? version_at(s, d, as_of, &v) : 0;
    return at ? &v[at - 1] : NULL;
}

/* Marks doc n's partition used and makes its versions resident and checked: 0, or -1.
 * A reader of another thread leaves the cache alone (readers on: all resident, checked). */
static int doc_touch(const mstate *s, uint32_t n)
{
    return mst_in_view(s) ? 0 : mst_doc_touch(s, n);
}

const mversion *mstate_doc_get(const mstate *s, uint32_t docnum, uint64_t as_of)
{
    const mdoc *d = doc_at(s, docnum);
    const mversion *v;
    size_t lo = d ? version_at(s, d, as_of, &v) : 0;
    if (lo == 0) return NULL;
    /* versions after the snapshot's are always resident */
    if (v[lo - 1].lsn <= s->cache->lsn && docnum < s->cache->ndoc && doc_touch(s, docnum) != 0)
        return NULL;
    return &v[lo - 1];
}

const mversion *mstate_doc_history_as_of(const mstate *s, uint32_t docnum, uint64_t as_of,
                                         size_t *n)
{
    const mdoc *d = doc_at(s, docnum);
    const mversion *v = NULL;
    *n = d ? version_at(s, d, as_of, &v) : 0;
    if (*n == 0) return NULL;
    if (doc_touch(s, docnum) != 0) {
        *n = 0;
        return NULL;
    }
    return v;
}

const mversion *mstate_doc_history(const mstate *s, uint32_t docnum, size_t *n)
{
    return mstate_doc_history_as_of(s, docnum, UINT64_MAX, n);
}

uint32_t mstate_doc_count(const mstate *s) { return mst_doc_bound(s); }

uint32_t mstate_doc_coll(const mstate *s, uint32_t docnum)
{
    const mdoc *d = doc_at(s, docnum);
    return d ? d->coll : MSTATE_NONE;
}

const char *mstate_doc_id(const mstate *s, uint32_t docnum, size_t *len)
{
    const mdoc *d = doc_at(s, docnum);
    if (!d) return NULL;
    *len = d->id_len;
    return d->id;
}

void mstate_mem_get(const mstate *s, mstate_mem *out)
{
    memset(out, 0, sizeof *out);
    out->docs = (uint64_t)s->capdoc * sizeof *s->docs;
    uint64_t slab = 0;
    for (uint32_t i = 0; i < s->ndoc; i++) {
        const mdoc *d = &s->docs[i];
        if (mdoc_owned(s, d)) out->versions += mst_vcap(d->nv) * sizeof *d->v;
        else slab += d->nv;
    }
    out->versions += slab * sizeof(mversion); /* the loaded directory's slab */
    out->records = (uint64_t)s->caprec * sizeof *s->recs;
    out->id_table = s->tabcap * sizeof *s->tab;
    for (size_t i = 0; i < s->nchunk; i++) out->chunks += s->chunk_cap[i];
    out->adjacency = madj_bytes(s->adj);
    mstate_cache_stats cs;
    mstate_cache_stats_get(s, &cs);
    out->cache = cs.resident_bytes;
}

/* ---- records ---- */

int64_t mst_rec_find(const mstate *s, uint64_t lsn)
{
    const mrec *r = MST_LOAD(&s->recs);
    size_t lo = 0, hi = MST_LOAD(&s->nrec);
    while (lo < hi) { /* first record with lsn >= the one asked for */
        size_t mid = lo + (hi - lo) / 2;
        if (MST_LOAD(&r[mid].lsn) < lsn) lo = mid + 1;
        else hi = mid;
    }
    return lo < MST_LOAD(&s->nrec) && MST_LOAD(&r[lo].lsn) == lsn ? (int64_t)lo : -1;
}

int mst_rec_note(mstate *s, uint64_t lsn, uint64_t ts, const uint8_t author[16])
{
    if (s->nrec && s->recs[s->nrec - 1].lsn == lsn) { /* the record's next version */
        STELE_ASSERT(s->recs[s->nrec - 1].ts == ts &&
                     memcmp(s->recs[s->nrec - 1].author, author, 16) == 0);
        return 0;
    }
    /* Records apply in LSN order, so this is an append; an older record (a caller that
     * put versions out of record order, with no reader on another thread) is inserted
     * in its place. */
    size_t at = s->nrec;
    if (at && s->recs[at - 1].lsn > lsn) {
        int64_t i = mst_rec_find(s, lsn);
        if (i >= 0) return 0;
        STELE_ASSERT(!s->rd.on);
        while (at > 0 && s->recs[at - 1].lsn > lsn) at--;
    }
    if (mst_grow(s, (void **)&s->recs, &s->caprec, s->nrec, s->nrec + 1, sizeof *s->recs) != 0)
        return -1;
    memmove(&s->recs[at + 1], &s->recs[at], (s->nrec - at) * sizeof *s->recs);
    mrec *r = &s->recs[at];
    r->lsn = lsn;
    r->ts = ts;
    memcpy(r->author, author, 16);
    MST_STORE(&s->nrec, s->nrec + 1); /* the entry first, then the count that covers it */
    return 0;
}

int mstate_record(const mstate *s, uint64_t lsn, uint64_t *ts, uint8_t author[16])
{
    int64_t i = mst_rec_find(s, lsn);
    if (i < 0) return -1;
    const mrec *r = &MST_LOAD(&s->recs)[i];
    *ts = r->ts;
    memcpy(author, r->author, 16);
    return 0;
}

/* ---- explicit index definitions ---- */

int mstate_index_event(mstate *s, uint32_t coll, const char *path, int kind, const char *lang,
                       int dropped, uint64_t lsn)
{
    STELE_ASSERT(coll < s->ncoll && strlen(path) <= MSTATE_PATH_MAX);
    STELE_ASSERT(kind == MSTATE_INDEX_VALUE || kind == MSTATE_INDEX_TEXT);
    STELE_ASSERT(!lang || strlen(lang) <= MSTATE_LANG_MAX);
    STELE_ASSERT(kind != MSTATE_INDEX_TEXT || dropped || (lang && lang[0]));
    STELE_ASSERT(s->nixev == 0 || s->ixev[s->nixev - 1].lsn <= lsn);
    if (util_grow((void **)&s->ixev, &s->capixev, s->nixev + 1, sizeof *s->ixev) != 0) return -1;
    index_event *e = &s->ixev[s->nixev++];
    memset(e, 0, sizeof *e);
    e->lsn = lsn;
    e->coll = coll;
    e->dropped = dropped;
    e->kind = kind;
    util_strlcpy(e->path, path, sizeof e->path);
    if (kind == MSTATE_INDEX_TEXT && lang && !dropped) util_strlcpy(e->lang, lang, sizeof e->lang);
    return 0;
}

/* The newest event of (coll, path, kind) with lsn <= as_of, or NULL. */
static const index_event *index_last(const mstate *s, uint32_t coll, const char *path, int kind,
                                     uint64_t as_of)
{
    for (size_t i = s->nixev; i-- > 0;) {
        const index_event *e = &s->ixev[i];
        if (e->lsn <= as_of && e->coll == coll && e->kind == kind && strcmp(e->path, path) == 0)
            return e;
    }
    return NULL;
}

int mstate_index_defined(const mstate *s, uint32_t coll, const char *path, int kind)
{
    const index_event *e = index_last(s, coll, path, kind, UINT64_MAX);
    return e && !e->dropped;
}

int mstate_index_def(const mstate *s, size_t i, mstate_idef *out)
{
    for (size_t j = 0; j < s->nixev; j++) { /* the i-th creation still in force */
        const index_event *e = &s->ixev[j];
        if (e->dropped || index_last(s, e->coll, e->path, e->kind, UINT64_MAX) != e) continue;
        if (i-- == 0) {
            *out = (mstate_idef){e->coll, e->kind, e->path, e->lang, e->lsn};
            return 1;
        }
    }
    return 0;
}

const char *mstate_text_lang(const mstate *s, uint32_t coll, const char *path, uint64_t as_of)
{
    const index_event *e = index_last(s, coll, path, MSTATE_INDEX_TEXT, as_of);
    STELE_ASSERT(!e || e->lang[0] || e->dropped);
    return e && !e->dropped ? e->lang : NULL;
}

/* ---- tentative changes ---- */

int mstate_mark(mstate *s)
{
    STELE_ASSERT(!s->marked);
    size_t *nev = malloc((s->ncoll ? s->ncoll : 1) * sizeof *nev);
    if (!nev) return -1;
    free(s->mark_nev);
    s->mark_nev = nev;
    for (uint32_t i = 0; i < s->ncoll; i++) s->mark_nev[i] = s->colls[i].nev;
    s->marked = 1;
    s->njournal = 0;
    s->mark_ndoc = s->ndoc;
    s->mark_ncoll = s->ncoll;
    s->mark_nixev = s->nixev;
    s->mark_nrec = s->nrec;
    s->mark_nchunk = s->nchunk;
    s->mark_used = s->used;
    return madj_mark(s->adj);
}

static void doc_pop_to(const mstate *s, mdoc *d, uint32_t nv)
{
    (void)s; /* the bytes go with the chunks' end (mstate_rollback) */
    STELE_ASSERT(d->nv >= nv);
    MST_STORE(&d->nv, nv);
}

void mstate_rollback(mstate *s)
{
    STELE_ASSERT(s->marked);
    for (size_t i = s->njournal; i-- > 0;) { /* newest first: pop one version each */
        mdoc *d = &s->docs[s->journal[i]];
        STELE_ASSERT(d->nv > 0);
        doc_pop_to(s, d, d->nv - 1);
    }
    while (s->ndoc > s->mark_ndoc) { /* newest first: O(new documents), not O(all) */
        mdoc *d = &s->docs[s->ndoc - 1];
        tab_remove(s, s->ndoc - 1);
        s->ndoc--;
        doc_pop_to(s, d, 0); /* versions of a doc created after the mark are all new */
        STELE_ASSERT(s->ndoc >= s->cache->ndoc); /* not in a partition */
        if (mdoc_owned(s, d)) free(d->v);
        d->v = NULL;
    }
    while (s->ncoll > s->mark_ncoll) free(s->colls[--s->ncoll].ev);
    for (uint32_t i = 0; i < s->ncoll; i++) MST_STORE(&s->colls[i].nev, s->mark_nev[i]);
    s->nixev = s->mark_nixev;
    MST_STORE(&s->nrec, s->mark_nrec);
    while (s->nchunk > s->mark_nchunk) free(s->chunk[--s->nchunk]); /* bytes since the mark */
    s->used = s->mark_used;
    s->marked = 0;
    madj_rollback(s->adj); /* links only: doc numbers are restored above */
}

const uint32_t *mstate_journal(const mstate *s, size_t *n)
{
    *n = s->marked ? s->njournal : 0;
    return s->journal;
}

void mstate_stamp(mstate *s, uint64_t lsn, uint64_t ts)
{
    STELE_ASSERT(s->marked && lsn < MSTATE_LSN_TENTATIVE);
    size_t stamped = 0;
    for (size_t i = 0; i < s->njournal; i++) { /* a doc's new versions are its newest */
        mdoc *d = &s->docs[s->journal[i]];
        for (size_t j = d->nv; j-- > 0 && d->v[j].lsn == MSTATE_LSN_TENTATIVE; stamped++)
            MST_STORE(&d->v[j].lsn, lsn);
    }
    STELE_ASSERT(stamped == s->njournal); /* one version per journal entry, all tentative */
    for (size_t j = s->mark_nrec; j < s->nrec; j++) { /* at most one: the tentative record */
        STELE_ASSERT(s->recs[j].lsn == MSTATE_LSN_TENTATIVE);
        s->recs[j].ts = ts; /* readers look only at records up to their LSN */
        MST_STORE(&s->recs[j].lsn, lsn);
    }
    for (uint32_t c = 0; c < s->ncoll; c++) {
        mcoll *cl = &s->colls[c];
        for (size_t j = c < s->mark_ncoll ? s->mark_nev[c] : 0; j < cl->nev; j++) {
            STELE_ASSERT(cl->ev[j].lsn == MSTATE_LSN_TENTATIVE);
            MST_STORE(&cl->ev[j].lsn, lsn);
        }
    }
    for (size_t j = s->mark_nixev; j < s->nixev; j++) {
        STELE_ASSERT(s->ixev[j].lsn == MSTATE_LSN_TENTATIVE);
        s->ixev[j].lsn = lsn;
    }
}

void mstate_commit(mstate *s)
{
    STELE_ASSERT(s->marked);
    s->marked = 0;
    s->njournal = 0;
    madj_commit(s->adj);
}

/* ---- digest ---- */

static int put_event(buf *b, const name_event *e)
{
    uint8_t hdr[13];
    put_u64(hdr, e->lsn);
    hdr[8] = (uint8_t)e->dropped;
    put_u32(hdr + 9, (uint32_t)strlen(e->name));
    return buf_append(b, hdr, sizeof hdr) || buf_append(b, e->name, strlen(e->name));
}

static int doc_digest(const mstate *s, uint32_t n, uint8_t out[32])
{
    const mdoc *d = &s->docs[n];
    if (n < s->cache->ndoc) {
        mst_walk_point(s);
        if (mst_doc_resident(s, n) != 0) return -2;
    }
    buf b;
    buf_init(&b);
    uint8_t hdr[8];
    put_u32(hdr, d->coll);
    put_u32(hdr + 4, (uint32_t)d->id_len);
    int bad = buf_append(&b, hdr, sizeof hdr) || buf_append(&b, d->id, d->id_len);
    for (size_t i = 0; i < d->nv && !bad; i++) {
        const mversion *v = &d->v[i];
        uint8_t vh[8 + 8 + 16 + 4 + 1 + 32];
        uint64_t ts;
        put_u64(vh, v->lsn);
        bad = mstate_record(s, v->lsn, &ts, vh + 16);
        STELE_ASSERT(bad == 0); /* every version's record is in the table */
        put_u64(vh + 8, ts);
        put_u32(vh + 32, v->rev);
        vh[36] = (uint8_t)v->deleted;
        crypto_sha256(v->doc, v->doc_len, vh + 37);
        bad = buf_append(&b, vh, sizeof vh);
    }
    if (!bad) crypto_sha256(b.data, b.len, out);
    buf_release(&b);
    return bad == -2 ? -2 : bad ? -1 : 0;
}

/* An index definition's bytes in the digest: "I" for a value index (as before text
 * indices were defined, so older digests stay), "T" and the language for a text one. */
static int digest_index_event(buf *b, const index_event *e)
{
    uint8_t h[17], ln = (uint8_t)strlen(e->lang);
    int text = e->kind == MSTATE_INDEX_TEXT;
    put_u64(h, e->lsn);
    put_u32(h + 8, e->coll);
    h[12] = (uint8_t)e->dropped;
    put_u32(h + 13, (uint32_t)strlen(e->path));
    int bad = buf_append(b, text ? "T" : "I", 1) || buf_append(b, h, sizeof h) ||
              buf_append(b, e->path, strlen(e->path));
    if (!bad && text) bad = buf_append(b, &ln, 1) || buf_append(b, e->lang, ln);
    return bad;
}

int mstate_digest(const mstate *s, uint8_t out[32])
{
    buf b;
    buf_init(&b);
    int bad = 0;
    for (uint32_t i = 0; i < s->ncoll && !bad; i++) {
        uint8_t n[4];
        put_u32(n, (uint32_t)s->colls[i].nev);
        bad = buf_append(&b, n, 4);
        for (size_t j = 0; j < s->colls[i].nev && !bad; j++)
            bad = put_event(&b, &s->colls[i].ev[j]);
    }
    for (size_t i = 0; i < s->nixev && !bad; i++) /* nothing when no index was defined */
        bad = digest_index_event(&b, &s->ixev[i]);
    for (uint32_t i = 0; i < s->ndoc && !bad; i++) {
        uint8_t h[32];
        bad = doc_digest(s, i, h);
        bad = bad ? bad : buf_append(&b, h, 32);
    }
    /* The links too (nothing when there are none, so edge-less digests are unchanged):
     * a reload that resolved a reference differently would show here. */
    for (uint32_t i = 0; i < s->ndoc && !bad && madj_edge_count(s->adj) > 0; i++) {
        uint32_t from, to, label;
        if (!madj_edge(s->adj, i, &from, &to, &label)) continue;
        size_t nl;
        const char *name = madj_label_name(s->adj, label, &nl);
        uint8_t h[16];
        put_u32(h, i);
        put_u32(h + 4, from);
        put_u32(h + 8, to);
        put_u32(h + 12, (uint32_t)nl);
        bad = buf_append(&b, "E", 1) || buf_append(&b, h, sizeof h) ||
              buf_append(&b, name, nl);
    }
    if (!bad) crypto_sha256(b.data, b.len, out);
    buf_release(&b);
    return bad == -2 ? -2 : bad ? -1 : 0;
}

