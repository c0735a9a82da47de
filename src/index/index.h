/*
 * index.h — Roaring-bitmap indices over doc numbers (CRoaring): per collection the
 * set of live documents, and equality indices on dotted paths (value → bitmap).
 * Layer: index (uses model, util). Derived state: rebuilt from the document state
 * at open, maintained on every applied transaction, never written to disk yet.
 *
 * Equality keys: the canonical SDOC bytes of a scalar value, except that numbers are
 * normalised so that equal numbers share a key (3, 3.0 and 3e0 are one key): an
 * integral double within int64 is keyed as that int64. Each element of an array is
 * indexed (as in MongoDB: {"tags":"x"} matches ["x","y"]); objects are not keys.
 * Invariant: for every index (coll, path) and live doc n of coll, n is in the bitmap
 * of key k iff the newest version of n has k at path (or k in the array at path).
 */
#ifndef STELE_INDEX_H
#define STELE_INDEX_H

#include <stdint.h>

#include "model/doc.h"
#include "model/state.h"

typedef struct roaring_bitmap_s roaring_bitmap_t;
typedef struct dindex dindex;

#define DINDEX_PATH_MAX 256 /* bytes of an indexed path */

dindex *dindex_new(void);
void dindex_free(dindex *x);

/* Re-indexes doc number n of collection coll after a change: `old` is the version
 * before the change (NULL if none), `now` the version after. -1 on out of memory. */
int dindex_update(dindex *x, uint32_t coll, uint32_t n, const mversion *old,
                  const mversion *now);
/* Live documents of a collection (borrowed; NULL if it never had one). */
const roaring_bitmap_t *dindex_members(const dindex *x, uint32_t coll);
/* Makes sure an equality index on (coll, path) exists, building it from the state.
 * 0, or -1 on out of memory or a path that is too long. */
int dindex_ensure(dindex *x, const mstate *s, uint32_t coll, const char *path);
/* Documents whose value at path equals v (or contains it, for arrays). A new bitmap
 * the caller frees with roaring_bitmap_free; NULL on out of memory. The index must
 * exist (dindex_ensure). */
roaring_bitmap_t *dindex_eq(const dindex *x, uint32_t coll, const char *path, doc_view v);
/* Number of equality indices and their total bitmap size in bytes (for stat/explain). */
void dindex_sizes(const dindex *x, uint64_t *count, uint64_t *bytes);

#endif
