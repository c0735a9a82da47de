/*
 * filter.h — Mongo-style filters: parsed once into a small tree (AND, OR, NOT, NOR,
 * leaves), then evaluated by one of two evaluators with the same semantics
 * (docs/DOCUMENTS.md, "Query semantics"):
 *  - filter_eval: set algebra over the Roaring indices of the head state (every path
 *    filtered on gets an index lazily on first use, then maintained on every write);
 *  - filter_match: one document version at a time, used for as-of queries
 *    (filter_eval_as_of) and by anything that already holds a document.
 * Layer: query (uses index, model, util).
 *
 * Tree layout: nodes in one array, a parent always before its children (children
 * are linked by `next`), so evaluating nodes from the last to the first visits every
 * child before its parent — no recursion and no stack (invariant checked by
 * filter_parse). Leaves hold their operand as SDOC bytes inside the filter's own
 * parsed text, so numbers are exact (int64, uint64, double; never rounded).
 */
#ifndef STELE_QUERY_FILTER_H
#define STELE_QUERY_FILTER_H

#include "index/fts.h"
#include "index/index.h"
#include "index/value.h"
#include "model/state.h"
#include "util/util.h"

#define FILTER_NODES_MAX 1024 /* nodes (conditions and $and/$or/$not) in one filter: bounds
                               * the work and the evaluators' per-node arrays */

enum { FN_AND, FN_OR, FN_NOT, FN_NOR, FN_LEAF };
enum { FOP_EQ, FOP_NE, FOP_GT, FOP_GTE, FOP_LT, FOP_LTE, FOP_IN, FOP_NIN, FOP_EXISTS,
       FOP_CONTAINS, FOP_STARTS, FOP_TEXT, FOP_COUNT };

typedef struct fnode {
    int kind;            /* FN_* */
    int op;              /* FOP_*, leaves only */
    int first, next;     /* first child, next sibling; -1 = none */
    char *path;          /* leaves: the dotted path (owned) */
    doc_view arg;        /* leaves: the operand (SDOC inside the filter) */
    int is_date;         /* range leaves: the operand is an ISO-8601 date string */
    dinstant date;
    fts *scratch;        /* $text leaves: a private one-document index (filter_match) */
} fnode;

typedef struct qfilter {
    buf sdoc;            /* the filter text as SDOC: operands point into it */
    fnode *n;
    int nn;
} qfilter;

/* The name of an operator ("$gt") for messages and explain. */
const char *filter_op_name(int op);

/* Parses filter JSON text into *out (filter_free). STELE_EINVAL with a message naming
 * the operator and the path for malformed JSON, unknown operators and bad operands;
 * STELE_ETOOBIG beyond FILTER_NODES_MAX nodes. Nothing is evaluated. */
stele_status filter_parse(const char *text, size_t len, qfilter **out, util_err *e);
void filter_free(qfilter *f);

/* 1 if the document (an SDOC object) matches the filter, else 0. A $text leaf is
 * answered by the leaf's scratch index holding only this document, so a prefix
 * (word*) expands over this document's own words; the evaluators below expand it over
 * the words of every document of the collection (now, or as of the LSN), as fts.h
 * defines; the scratch stems in english (it knows no collection, so no text index
 * definition). Not thread-safe for filters with $text (the scratch index is written). */
int filter_match(const qfilter *f, const uint8_t *doc, size_t len);

/* Ranking: the node number of the filter's only $text leaf if it has exactly one and
 * it is not under a $not or a $nor, else -1. */
int filter_rank_leaf(const qfilter *f);
/* The BM25 hits of $text leaf `leaf` alone (best first, ties by doc number) over the
 * live documents of coll now (as_of UINT64_MAX: the head's text index) or as of an
 * LSN (an index built over the versions as of then; x may then be NULL: a scan of the
 * doc numbers finds coll's). k: 0 = all hits, else the top k.
 * *hits is malloc'd (free; NULL when empty). */
stele_status filter_text_hits(const qfilter *f, int leaf, const mstate *s, dindex *x,
                              uint32_t coll, uint64_t as_of, size_t k, fts_hit **hits,
                              size_t *nhits, util_err *e);

/* The live documents of coll (now) that match: *out is a new bitmap
 * (roaring_bitmap_free). explain (if not NULL) gets a JSON array of steps: index used,
 * path, cardinality of each intermediate set. */
stele_status filter_eval(const qfilter *f, const mstate *s, dindex *x, uint32_t coll,
                         roaring_bitmap_t **out, buf *explain, util_err *e);
/* A prefix (in doc-number order) of the set filter_eval gives that holds at least k
 * documents, or the whole set if it has fewer: the filter is evaluated over windows of
 * doc numbers, the first `window` wide (FILTER_WINDOW), each next one twice as wide,
 * until k are found — so that a find with a limit and no order of its own does not pay
 * for the whole set (at worst about twice the whole evaluation, when few match). */
#define FILTER_WINDOW 4096u
stele_status filter_eval_first(const qfilter *f, const mstate *s, dindex *x, uint32_t coll,
                               uint64_t k, uint64_t window, roaring_bitmap_t **out,
                               util_err *e);
/* The documents of coll (its id as of as_of) whose version as of as_of exists, is not
 * deleted and matches: a scan of the collection's doc numbers (the index's set of
 * them, or with x NULL a scan of every doc number: a reader of another thread, which
 * must not touch the indices). *scanned gets the number of versions matched against. */
stele_status filter_eval_as_of(const qfilter *f, const mstate *s, const dindex *x, uint32_t coll,
                               uint64_t as_of, roaring_bitmap_t **out, uint64_t *scanned,
                               buf *explain, util_err *e);

#endif
