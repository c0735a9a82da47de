/*
 * filter.h — Mongo-style filters evaluated as set algebra over Roaring indices.
 * Layer: query (uses index, model, util).
 *
 * Supported now: {"path": scalar} and {"path": {"$eq": scalar}} (equality; for an
 * array at path: contains), {"path": {"$in": [scalars]}}, several paths in one object
 * (AND), and {"$and": [filters]}. Every path filtered on gets an equality index on
 * first use (created lazily, then maintained on every write). Other operators are
 * refused with a clear error until they are implemented (docs/DOCUMENTS.md).
 */
#ifndef STELE_QUERY_FILTER_H
#define STELE_QUERY_FILTER_H

#include "index/index.h"
#include "model/state.h"
#include "util/util.h"

#define FILTER_NODES_MAX 1024 /* conditions in one filter: bounds the work */

/* The live documents of coll matching the filter JSON text; *out is a new bitmap
 * (roaring_bitmap_free). explain (if not NULL) gets a JSON array describing each step
 * with the cardinality of its set. */
stele_status filter_eval(const mstate *s, dindex *x, uint32_t coll, const char *filter,
                         size_t len, roaring_bitmap_t **out, buf *explain, util_err *e);

#endif
