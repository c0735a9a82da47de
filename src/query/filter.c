/*
 * filter.c — the set-algebra evaluator over the head's Roaring indices, and the as-of
 * evaluator (a scan of versions with filter_match). See filter.h. Layer: query.
 *
 * Each leaf becomes a bitmap (subset of the collection's live documents):
 *   $eq / $in            equality index (one key, or the union of a few)
 *   $ne / $nin           live documents minus the $eq / $in set
 *   $gt $gte $lt $lte    ordered index: binary search for the bounds, union of the key
 *                        range within the operand's type bracket; a date operand
 *                        scans the distinct string keys instead (their byte order is
 *                        not instant order once zones differ)
 *   $startsWith          ordered index: the key range of the prefix
 *   $contains            string: scan of the distinct string keys for the substring,
 *                        minus documents where the path is an array, plus (array
 *                        documents) the $eq set; other operands: $eq set ∩ arrays
 *   $exists              the index's "present" bitmap (or its complement)
 * then nodes combine children from the last node to the first (children follow their
 * parent): AND intersects, OR unites, NOT and NOR subtract from the live documents.
 */
#include "query/filter.h"

#include <roaring/roaring.h>
#include <stdlib.h>

#include "query/match.h"

typedef struct step {
    const char *index; /* which structure answered */
    uint64_t keys;     /* distinct keys visited */
    uint64_t card;     /* cardinality of the node's set */
} step;

typedef struct ectx {
    const qfilter *f;
    const mstate *s;
    dindex *x;
    uint32_t coll;
    const roaring_bitmap_t *members;
    util_err *e;
    stele_status failed; /* set with the message when a lookup fails for a reason */
} ectx;

static int date_pred(doc_view key, void *ctx) { return match_date(ctx, key); }

static int substring_pred(doc_view key, void *ctx)
{
    const fnode *n = ctx;
    const char *s, *p;
    size_t sn, pn;
    return doc_string(key, &s, &sn) == 0 && doc_string(n->arg, &p, &pn) == 0 &&
           match_substring(s, sn, p, pn);
}

static roaring_bitmap_t *in_set(ectx *c, const fnode *n)
{
    uint32_t cnt = 0;
    roaring_bitmap_t *r = roaring_bitmap_create();
    doc_count(n->arg, &cnt);
    for (uint32_t i = 0; r && i < cnt; i++) {
        doc_view el;
        if (doc_index(n->arg.p, n->arg.len, i, &el) != 1) continue;
        roaring_bitmap_t *one = dindex_eq(c->x, c->coll, n->path, el);
        if (!one) {
            roaring_bitmap_free(r);
            return NULL;
        }
        roaring_bitmap_or_inplace(r, one);
        roaring_bitmap_free(one);
    }
    return r;
}

static roaring_bitmap_t *range_set(ectx *c, const fnode *n, step *st)
{
    if (n->is_date) {
        st->index = "ordered (date: scan of distinct string keys)";
        return dindex_scan(c->x, c->coll, n->path, DVAL_STRING, date_pred, (void *)n, &st->keys);
    }
    int lower = n->op == FOP_GT || n->op == FOP_GTE;
    int incl = n->op == FOP_GTE || n->op == FOP_LTE;
    st->index = "ordered";
    return dindex_range(c->x, c->coll, n->path, lower ? &n->arg : NULL, incl,
                        lower ? NULL : &n->arg, incl, &st->keys);
}

static roaring_bitmap_t *contains_set(ectx *c, const fnode *n, step *st)
{
    const roaring_bitmap_t *arrays = dindex_arrays(c->x, c->coll, n->path);
    roaring_bitmap_t *in_arrays = dindex_eq(c->x, c->coll, n->path, n->arg);
    if (!in_arrays) return NULL;
    roaring_bitmap_and_inplace(in_arrays, arrays);
    st->index = "equality";
    if (doc_type(n->arg) != SDOC_STRING) return in_arrays;
    st->index = "equality + scan of distinct string keys";
    roaring_bitmap_t *sub = dindex_scan(c->x, c->coll, n->path, DVAL_STRING, substring_pred,
                                        (void *)n, &st->keys);
    if (!sub) {
        roaring_bitmap_free(in_arrays);
        return NULL;
    }
    roaring_bitmap_andnot_inplace(sub, arrays);
    roaring_bitmap_or_inplace(sub, in_arrays);
    roaring_bitmap_free(in_arrays);
    return sub;
}

/* members minus r, in place in r's place: a new bitmap; frees r. */
static roaring_bitmap_t *complement(ectx *c, roaring_bitmap_t *r)
{
    if (!r) return NULL;
    roaring_bitmap_t *all = roaring_bitmap_copy(c->members);
    if (all) roaring_bitmap_andnot_inplace(all, r);
    roaring_bitmap_free(r);
    return all;
}

static roaring_bitmap_t *leaf_set(ectx *c, const fnode *n, step *st)
{
    if (dindex_ensure(c->x, c->s, c->coll, n->path) != 0) {
        c->failed = util_fail(c->e, STELE_ENOMEM, "cannot index '%s': out of memory", n->path);
        return NULL;
    }
    st->index = "equality";
    switch (n->op) {
    case FOP_EXISTS: {
        st->index = "present";
        roaring_bitmap_t *p = roaring_bitmap_copy(dindex_present(c->x, c->coll, n->path));
        return doc_type(n->arg) == SDOC_TRUE ? p : complement(c, p);
    }
    case FOP_EQ: return dindex_eq(c->x, c->coll, n->path, n->arg);
    case FOP_NE: return complement(c, dindex_eq(c->x, c->coll, n->path, n->arg));
    case FOP_IN: return in_set(c, n);
    case FOP_NIN: return complement(c, in_set(c, n));
    case FOP_STARTS: {
        const char *p;
        size_t pn;
        st->index = "ordered";
        doc_string(n->arg, &p, &pn);
        return dindex_prefix(c->x, c->coll, n->path, p, pn, &st->keys);
    }
    case FOP_CONTAINS: return contains_set(c, n, st);
    default: return range_set(c, n, st);
    }
}

/* Combines the children's sets of node i (freeing them) into the node's set. */
static roaring_bitmap_t *combine(ectx *c, int i, roaring_bitmap_t **bm)
{
    const fnode *n = &c->f->n[i];
    roaring_bitmap_t *acc = NULL;
    for (int k = n->first; k >= 0; k = c->f->n[k].next) {
        STELE_ASSERT(k > i && bm[k]);
        if (!acc) acc = bm[k];
        else if (n->kind == FN_AND) roaring_bitmap_and_inplace(acc, bm[k]);
        else roaring_bitmap_or_inplace(acc, bm[k]);
        if (acc != bm[k]) roaring_bitmap_free(bm[k]);
        bm[k] = NULL;
    }
    if (n->kind == FN_AND) return acc ? acc : roaring_bitmap_copy(c->members);
    if (!acc) acc = roaring_bitmap_create();
    return n->kind == FN_OR ? acc : complement(c, acc); /* NOT (one child), NOR */
}

static void explain_steps(const qfilter *f, const step *st, uint64_t members, buf *out)
{
    static const char *const kinds[] = {"and", "or", "not", "nor"};
    buf_printf(out, "[{\"step\":\"collection\",\"index\":\"membership\",\"matches\":%llu}",
               (unsigned long long)members);
    for (int i = 0; i < f->nn; i++) {
        const fnode *n = &f->n[i];
        if (n->kind != FN_LEAF) {
            buf_printf(out, ",{\"node\":%d,\"step\":\"%s\",\"matches\":%llu}", i, kinds[n->kind],
                       (unsigned long long)st[i].card);
            continue;
        }
        buf_printf(out, ",{\"node\":%d,\"step\":\"%s\",\"path\":", i, filter_op_name(n->op) + 1);
        buf_json_str(out, n->path, strlen(n->path));
        buf_printf(out, ",\"index\":\"%s\",", st[i].index);
        if (st[i].keys) buf_printf(out, "\"keys\":%llu,", (unsigned long long)st[i].keys);
        buf_printf(out, "\"matches\":%llu}", (unsigned long long)st[i].card);
    }
    buf_append(out, "]", 1);
}

stele_status filter_eval(const qfilter *f, const mstate *s, dindex *x, uint32_t coll,
                         roaring_bitmap_t **out, buf *explain, util_err *e)
{
    *out = NULL;
    roaring_bitmap_t *none = roaring_bitmap_create();
    const roaring_bitmap_t *m = dindex_members(x, coll);
    roaring_bitmap_t **bm = calloc((size_t)f->nn, sizeof *bm);
    step *st = calloc((size_t)f->nn, sizeof *st);
    ectx c = {f, s, x, coll, m ? m : none, e, STELE_OK};
    stele_status rc = none && bm && st ? STELE_OK : util_fail(e, STELE_ENOMEM, "out of memory");
    for (int i = f->nn; rc == STELE_OK && i-- > 0;) {
        const fnode *n = &f->n[i];
        bm[i] = n->kind == FN_LEAF ? leaf_set(&c, n, &st[i]) : combine(&c, i, bm);
        if (!bm[i]) rc = c.failed ? c.failed : util_fail(e, STELE_ENOMEM, "out of memory");
        else st[i].card = roaring_bitmap_get_cardinality(bm[i]);
    }
    if (rc == STELE_OK) {
        roaring_bitmap_and_inplace(bm[0], c.members);
        *out = bm[0];
        bm[0] = NULL;
        if (explain) explain_steps(f, st, roaring_bitmap_get_cardinality(c.members), explain);
    }
    for (int i = 0; bm && i < f->nn; i++)
        if (bm[i]) roaring_bitmap_free(bm[i]);
    free(bm);
    free(st);
    if (none) roaring_bitmap_free(none);
    return rc;
}

stele_status filter_eval_as_of(const qfilter *f, const mstate *s, const dindex *x, uint32_t coll,
                               uint64_t as_of, roaring_bitmap_t **out, uint64_t *scanned,
                               buf *explain, util_err *e)
{
    *scanned = 0;
    *out = roaring_bitmap_create();
    if (!*out) return util_fail(e, STELE_ENOMEM, "out of memory");
    const roaring_bitmap_t *ever = dindex_ever(x, coll);
    roaring_uint32_iterator_t *it = ever ? roaring_create_iterator(ever) : NULL;
    for (; it && it->has_value; roaring_advance_uint32_iterator(it)) {
        const mversion *v = mstate_doc_get(s, it->current_value, as_of);
        if (!v || v->deleted) continue;
        ++*scanned;
        if (filter_match(f, v->doc, v->doc_len)) roaring_bitmap_add(*out, it->current_value);
    }
    if (it) roaring_free_uint32_iterator(it);
    if (ever && !it) {
        roaring_bitmap_free(*out);
        *out = NULL;
        return util_fail(e, STELE_ENOMEM, "out of memory");
    }
    if (explain)
        buf_printf(explain, "[{\"step\":\"scan\",\"index\":\"scan\",\"as_of\":%llu,"
                            "\"scanned\":%llu,\"matches\":%llu,\"note\":\"scanned %llu "
                            "documents as of LSN %llu\"}]",
                   (unsigned long long)as_of, (unsigned long long)*scanned,
                   (unsigned long long)roaring_bitmap_get_cardinality(*out),
                   (unsigned long long)*scanned, (unsigned long long)as_of);
    return STELE_OK;
}
