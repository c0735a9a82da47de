/*
 * match.h — scalar tests shared by the two filter evaluators (private to src/query/).
 * Layer: query.
 */
#ifndef STELE_QUERY_MATCH_H
#define STELE_QUERY_MATCH_H

#include "query/filter.h"

/* 1 if needle[0, nn) occurs in h[0, hn) (bytes; the empty needle always does). */
int match_substring(const char *h, size_t hn, const char *needle, size_t nn);
/* The comparison op (FOP_GT...FOP_LTE, else equality) applied to a 3-way result. */
int match_cmp_op(int op, int c);
/* For a range leaf whose operand is a date: 1 if el is a date string within range. */
int match_date(const fnode *n, doc_view el);
/* One leaf against one document (not $text). */
int match_leaf(const fnode *n, const uint8_t *doc, size_t len);
/* The whole filter against document number num: a $text leaf i is answered by
 * texts[i] (the leaf's set over the collection) if texts is not NULL, else by the
 * leaf's scratch index holding only this document (filter_match). */
int match_tree(const qfilter *f, const uint8_t *doc, size_t len, uint32_t num,
               roaring_bitmap_t *const *texts);

#endif
