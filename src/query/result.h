/*
 * result.h — what a find returns once the matching set is known: the order (sort on
 * several keys, or doc-number order), offset and limit (a bounded heap keeps only the
 * best offset + limit documents), and the projection of fields. Layer: query.
 *
 * Sort order is value.h's total order (null < numbers < strings < objects < arrays <
 * booleans); a missing value sorts as null; ties keep doc-number (insertion) order.
 * Projection keeps the named dotted paths, nested as objects ({"address":{"city":..}}),
 * and always _id; a path given together with a longer one under it wins ("a" covers
 * "a.b"); a path absent from a document is left out of it.
 */
#ifndef STELE_QUERY_RESULT_H
#define STELE_QUERY_RESULT_H

#include "index/fts.h"
#include "index/index.h"
#include "model/state.h"
#include "util/util.h"

#define RESULT_SORT_KEYS_MAX 8 /* keys in --sort: more is never useful and bounds compares */
#define RESULT_FIELDS_MAX 64   /* paths in --fields: bounds the projection work per doc */

typedef struct sort_spec {
    int n;
    int desc[RESULT_SORT_KEYS_MAX];
    char path[RESULT_SORT_KEYS_MAX][DINDEX_PATH_MAX + 1];
} sort_spec;

typedef struct fields_spec {
    int n;
    char path[RESULT_FIELDS_MAX][DINDEX_PATH_MAX + 1];
} fields_spec;

/* "age,-name" ('-' = descending). NULL or "" = no sort (n = 0). STELE_EINVAL with a
 * message on an empty key, a path too long or too many keys. */
stele_status result_sort_parse(const char *text, sort_spec *out, util_err *e);
/* "name,address.city". NULL or "" = whole documents (n = 0). */
stele_status result_fields_parse(const char *text, fields_spec *out, util_err *e);

/* The doc numbers of `set` to return, in order: sorted by sp (if sp->n) on the versions
 * as of as_of (UINT64_MAX = now), else in doc-number order; `offset` skipped, at most
 * `limit` (0 = all). *out is malloc'ed (free), *n its length. */
stele_status result_order(const mstate *s, const roaring_bitmap_t *set, uint64_t as_of,
                          const sort_spec *sp, uint64_t offset, uint64_t limit, uint32_t **out,
                          size_t *n, util_err *e);

/* The doc numbers of `set` ranked by full-text score: first the documents of hits (best
 * first, as fts_search gives them) that are in set, then the other documents of set
 * (they matched through another branch of an $or: score 0) in doc-number order; then
 * `offset` skipped and at most `limit` (0 = all). *out is malloc'ed (free), *n its
 * length. hits may be a top k when the caller knows set is the text's whole set. */
stele_status result_rank(const roaring_bitmap_t *set, const fts_hit *hits, size_t nhits,
                         uint64_t offset, uint64_t limit, uint32_t **out, size_t *n, util_err *e);

/* Appends the JSON text of the projection of the SDOC object doc to out. 0, or -1 on
 * out of memory or a malformed document. */
int result_project(const uint8_t *doc, size_t len, const fields_spec *f, buf *out);

#endif
