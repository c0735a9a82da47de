/*
 * index.h — Roaring-bitmap indices over doc numbers (CRoaring): per collection the
 * set of live documents (and of every document it ever had), and value indices on
 * dotted paths. Layer: index (uses model, util). Derived state: saved in the state
 * snapshot's directory and loaded with it (or rebuilt from the documents when there is
 * none), maintained on every applied transaction.
 *
 * A value index on (coll, path) holds, for the newest version of each live document:
 *  - key → bitmap: keys are value.h keys (normalised scalars); each element of an
 *    array at path is indexed (as in MongoDB: {"tags":"x"} matches ["x","y"]);
 *    objects and arrays are not keys;
 *  - "present": documents that have path at all (any type, null included);
 *  - "arrays": documents whose value at path is an array.
 * The keys are also kept in value order (value.h) for ranges and prefixes. Sorting is
 * lazy: new keys go to an unsorted tail that the next ordered lookup sorts and merges,
 * so a bulk load does not pay an ordered insertion per new key.
 * Invariants: for every index (coll, path) and live doc n of coll, n is in the bitmap
 * of key k iff the newest version of n has k at path (or k in the array at path); n is
 * in present iff that version has path; in arrays iff the value there is an array.
 * order[0, norder) is a permutation of the first norder entries sorted by dval_cmp.
 * Keys are never removed (an emptied bitmap stays: entry numbers stay stable).
 *
 * Full-text indices (fts.h) are kept by (coll, path) beside the value indices (a path
 * may have both), maintained by dindex_update like the others. A text index is
 * explicit when the model defines one on its path (a create_index op with "kind":
 * "text": mstate_text_lang gives its language), else lazy (english). Either is built
 * from the state by dindex_text: the api layer calls it when a definition is recorded,
 * queries call it on first use (so after an open, an explicit text index is rebuilt by
 * the first $text on its path: text indices are never in snapshots, only their
 * definitions are, in the model's directory — docs/DECISIONS.md 34).
 *
 * An index is "explicit" when a create_index op of the ledger defines it (the api
 * layer syncs these flags with the model's definitions) or "lazy" when a query made
 * it; both are maintained the same way.
 */
#ifndef STELE_INDEX_H
#define STELE_INDEX_H

#include <stdint.h>

#include "model/doc.h"
#include "model/state.h"
#include "util/util.h"

typedef struct roaring_bitmap_s roaring_bitmap_t;
typedef struct dindex dindex;
typedef struct fts fts;

#define DINDEX_PATH_MAX MSTATE_PATH_MAX /* bytes of an indexed path */

dindex *dindex_new(void);
void dindex_free(dindex *x);

/* Re-indexes doc number n of collection coll after a change: `old` is the version
 * before the change (NULL if none), `now` the version after. -1 on out of memory. */
int dindex_update(dindex *x, uint32_t coll, uint32_t n, const mversion *old,
                  const mversion *now);
/* Live documents of a collection (borrowed; NULL if it never had one). */
const roaring_bitmap_t *dindex_members(const dindex *x, uint32_t coll);
/* Every doc number that ever belonged to coll, live or deleted (borrowed; NULL if
 * none): the candidates of an as-of query. */
const roaring_bitmap_t *dindex_ever(const dindex *x, uint32_t coll);
/* Makes sure an index on (coll, path) exists, building it from the state (lazy
 * unless it existed as explicit). 0, or -1 on out of memory or a path too long. */
int dindex_ensure(dindex *x, const mstate *s, uint32_t coll, const char *path);
/* Sets the explicit flag of an existing index (0) or -1 if there is none. */
int dindex_set_explicit(dindex *x, uint32_t coll, const char *path, int is_explicit);
/* Removes the value index of (coll, path): 0, or -1 if there is none. */
int dindex_drop(dindex *x, uint32_t coll, const char *path);
/* The full-text index of (coll, path), built from the state s on first use, stemming in
 * the language the state defines for it now (mstate_text_lang; english if none) and
 * explicit if it defines one (borrowed: valid until dindex_text_drop or dindex_free;
 * dindex_update keeps it current). NULL with e set on out of memory, or a path too long
 * (STELE_EINVAL). */
fts *dindex_text(dindex *x, const mstate *s, uint32_t coll, const char *path, util_err *e);
/* Removes the text index of (coll, path): 0, or -1 if there is none. */
int dindex_text_drop(dindex *x, uint32_t coll, const char *path);
/* Sets the explicit flag of the text index of (coll, path) (0) or -1 if there is none. */
int dindex_text_set_explicit(dindex *x, uint32_t coll, const char *path, int is_explicit);
/* Number of text indices, and text index i (0 <= i < count; borrowed, valid until the
 * next change of the set of indices): fts_coll, fts_path, fts_lang, fts_sizes and
 * fts_stats describe it; *is_explicit (if not NULL) gets its flag. */
size_t dindex_text_count(const dindex *x);
const fts *dindex_text_at(const dindex *x, size_t i, int *is_explicit);
/* The text index of (coll, path) if it is built, else NULL (borrowed, as above). */
const fts *dindex_text_find(const dindex *x, uint32_t coll, const char *path, int *is_explicit);
/* Whether (coll, path) has an index, and whether it is explicit. */
int dindex_has(const dindex *x, uint32_t coll, const char *path, int *is_explicit);

/* Lookups. The index must exist (dindex_ensure). Each returns a new bitmap the
 * caller frees with roaring_bitmap_free, or NULL on out of memory; *keys (if not
 * NULL) gets the number of distinct keys visited. `within`: if not NULL, only the
 * documents in it (a window of doc numbers, say) are wanted, and only that part of
 * each key's bitmap is touched. */
/* Documents whose value at path equals v (or, for an array, has an element equal). */
roaring_bitmap_t *dindex_eq(const dindex *x, uint32_t coll, const char *path, doc_view v,
                            const roaring_bitmap_t *within);
/* Documents with a key k at path such that lo <(=) k <(=) hi, within one type bracket:
 * lo and hi are scalars (either may be NULL: open on that side, up to the end of the
 * bracket of the other one; not both). */
roaring_bitmap_t *dindex_range(dindex *x, uint32_t coll, const char *path, const doc_view *lo,
                               int lo_incl, const doc_view *hi, int hi_incl,
                               const roaring_bitmap_t *within, uint64_t *keys);
/* Documents with a string key at path that starts with prefix[0, n). */
roaring_bitmap_t *dindex_prefix(dindex *x, uint32_t coll, const char *path, const char *prefix,
                                size_t n, const roaring_bitmap_t *within, uint64_t *keys);
/* Documents with a key for which pred(key, ctx) is true, over the keys of one bracket
 * (DVAL_*, value.h) or every key (bracket -1): a scan of the distinct keys. */
typedef int (*dindex_pred)(doc_view key, void *ctx);
roaring_bitmap_t *dindex_scan(const dindex *x, uint32_t coll, const char *path, int bracket,
                              dindex_pred pred, void *ctx, uint64_t *keys);
/* Documents that have path (borrowed), and those where it is an array (borrowed). */
const roaring_bitmap_t *dindex_present(const dindex *x, uint32_t coll, const char *path);
const roaring_bitmap_t *dindex_arrays(const dindex *x, uint32_t coll, const char *path);

/* Number of indices and (if bytes is not NULL: a walk of every key) their total size in
 * bytes (for stat/explain). */
void dindex_sizes(const dindex *x, uint64_t *count, uint64_t *bytes);
/* Description of index i (0 <= i < count): borrowed path, valid until the next change
 * of the set of indices. */
typedef struct dindex_info {
    uint32_t coll;
    const char *path;
    int is_explicit;
    uint64_t keys, docs, bytes;
} dindex_info;
void dindex_describe(const dindex *x, size_t i, dindex_info *out);
/* The same without the sizes, in O(1). */
void dindex_at(const dindex *x, size_t i, uint32_t *coll, const char **path, int *is_explicit);

/* Snapshots (docs/FORMAT.md "Index section"): dindex_serialize appends the membership
 * bitmaps and every value index (keys and CRoaring portable bitmaps; not the text
 * indices, which the first $text query rebuilds) to out; -1 on OOM. dindex_load
 * builds indices from such bytes — AEAD-authenticated before, since CRoaring only
 * checks bounds — with every collection number below ncoll and doc number below ndoc;
 * NULL if malformed or out of memory. The bitmaps are the live ones of the state the snapshot holds. */
int dindex_serialize(const dindex *x, buf *out);
dindex *dindex_load(const uint8_t *bytes, size_t len, uint32_t ncoll, uint32_t ndoc);

#endif
