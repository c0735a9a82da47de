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
 *   $text                the path's full-text index (dindex_text, built on first use
 *                        in the language its definition names, else english):
 *                        fts_search's bitmap
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
    const roaring_bitmap_t *members; /* the live documents (within the window) */
    const roaring_bitmap_t *window;  /* NULL, or the only doc numbers wanted */
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
        roaring_bitmap_t *one = dindex_eq(c->x, c->coll, n->path, el, c->window);
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
                        lower ? NULL : &n->arg, incl, c->window, &st->keys);
}

static roaring_bitmap_t *contains_set(ectx *c, const fnode *n, step *st)
{
    const roaring_bitmap_t *arrays = dindex_arrays(c->x, c->coll, n->path);
    roaring_bitmap_t *in_arrays = dindex_eq(c->x, c->coll, n->path, n->arg, c->window);
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

/* The documents whose text at n's path matches n's query, in the head's text index. */
static roaring_bitmap_t *text_set(ectx *c, const fnode *n, step *st)
{
    util_err le = {0};
    const char *q;
    size_t qn;
    roaring_bitmap_t *docs = NULL;
    STELE_ASSERT(n->op == FOP_TEXT);
    st->index = "text";
    fts *t = dindex_text(c->x, c->s, c->coll, n->path, &le);
    stele_status rc = t ? STELE_OK : le.code;
    if (rc == STELE_OK && doc_string(n->arg, &q, &qn) != 0) rc = STELE_EINVAL;
    if (rc == STELE_OK) rc = fts_search(t, q, qn, 0, &docs, NULL, NULL, &le);
    if (rc == STELE_OK) return docs;
    c->failed = util_fail(c->e, rc, "filter on '%s': $text: %s", n->path, le.msg);
    return NULL;
}

static roaring_bitmap_t *leaf_set_all(ectx *c, const fnode *n, step *st)
{
    if (n->op == FOP_TEXT) return text_set(c, n, st);
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
    case FOP_EQ: return dindex_eq(c->x, c->coll, n->path, n->arg, c->window);
    case FOP_NE: return complement(c, dindex_eq(c->x, c->coll, n->path, n->arg, c->window));
    case FOP_IN: return in_set(c, n);
    case FOP_NIN: return complement(c, in_set(c, n));
    case FOP_STARTS: {
        const char *p;
        size_t pn;
        st->index = "ordered";
        doc_string(n->arg, &p, &pn);
        return dindex_prefix(c->x, c->coll, n->path, p, pn, c->window, &st->keys);
    }
    case FOP_CONTAINS: return contains_set(c, n, st);
    default: return range_set(c, n, st);
    }
}

/* A leaf's set, within the window if there is one. */
static roaring_bitmap_t *leaf_set(ectx *c, const fnode *n, step *st)
{
    roaring_bitmap_t *r = leaf_set_all(c, n, st);
    if (r && c->window) roaring_bitmap_and_inplace(r, c->window);
    return r;
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

/* Two range leaves under one AND, on one path, bounding it from below (lo) and above
 * (hi) with operands of one type bracket, and no date: their intersection is
 *     range(lo, hi)  ∪  (lo ∩ hi ∩ arrays)
 * — a scalar value passes both exactly when it lies between them, while an array may
 * pass each with a different element — so it costs one union of the keys between
 * the bounds instead of two half-open ones. pair[i] = j when leaf i is the lower bound
 * paired with leaf j, pair[j] = -2 (its set is the whole window), else -1. */
static int range_kind(const fnode *n)
{
    if (n->kind != FN_LEAF || n->is_date) return 0;
    if (n->op == FOP_GT || n->op == FOP_GTE) return 1;
    return n->op == FOP_LT || n->op == FOP_LTE ? 2 : 0;
}

static void pair_ranges(const qfilter *f, int *pair)
{
    for (int i = 0; i < f->nn; i++) pair[i] = -1;
    for (int a = 0; a < f->nn; a++) {
        if (f->n[a].kind != FN_AND) continue;
        for (int i = f->n[a].first; i >= 0; i = f->n[i].next) {
            const fnode *lo = &f->n[i];
            for (int j = f->n[a].first; range_kind(lo) == 1 && pair[i] == -1 && j >= 0;
                 j = f->n[j].next) {
                const fnode *hi = &f->n[j];
                if (range_kind(hi) == 2 && pair[j] == -1 && strcmp(lo->path, hi->path) == 0 &&
                    dval_bracket(doc_type(lo->arg)) == dval_bracket(doc_type(hi->arg))) {
                    pair[i] = j;
                    pair[j] = -2;
                }
            }
        }
    }
}

static roaring_bitmap_t *pair_set(ectx *c, const fnode *lo, const fnode *hi, step *st)
{
    if (dindex_ensure(c->x, c->s, c->coll, lo->path) != 0) {
        c->failed = util_fail(c->e, STELE_ENOMEM, "cannot index '%s': out of memory", lo->path);
        return NULL;
    }
    st->index = "ordered";
    roaring_bitmap_t *r = dindex_range(c->x, c->coll, lo->path, &lo->arg, lo->op == FOP_GTE,
                                       &hi->arg, hi->op == FOP_LTE, c->window, &st->keys);
    const roaring_bitmap_t *arrays = dindex_arrays(c->x, c->coll, lo->path);
    roaring_bitmap_t *aw = c->window ? roaring_bitmap_and(arrays, c->window)
                                     : roaring_bitmap_copy(arrays);
    if (r && aw && !roaring_bitmap_is_empty(aw)) { /* arrays: each bound on its own */
        roaring_bitmap_t *a = dindex_range(c->x, c->coll, lo->path, &lo->arg,
                                           lo->op == FOP_GTE, NULL, 0, aw, NULL);
        roaring_bitmap_t *b = dindex_range(c->x, c->coll, hi->path, NULL, 0, &hi->arg,
                                           hi->op == FOP_LTE, aw, NULL);
        if (a && b) {
            roaring_bitmap_and_inplace(a, b);
            roaring_bitmap_or_inplace(r, a);
        }
        if (!a || !b) {
            roaring_bitmap_free(r);
            r = NULL;
        }
        if (a) roaring_bitmap_free(a);
        if (b) roaring_bitmap_free(b);
    }
    if (aw) roaring_bitmap_free(aw);
    else if (r) {
        roaring_bitmap_free(r);
        r = NULL;
    }
    return r;
}

/* filter_eval within window (NULL = everywhere): every set is cut to the window as it
 * is made — the result is the whole result cut to the window, because intersecting
 * with it commutes with AND and OR, and complements are taken within the live
 * documents of the window. */
static stele_status eval_within(const qfilter *f, const mstate *s, dindex *x, uint32_t coll,
                                const roaring_bitmap_t *window, roaring_bitmap_t **out,
                                buf *explain, util_err *e)
{
    *out = NULL;
    roaring_bitmap_t *none = roaring_bitmap_create();
    const roaring_bitmap_t *m = dindex_members(x, coll);
    roaring_bitmap_t *mw = window ? roaring_bitmap_and(m ? m : none, window) : NULL;
    roaring_bitmap_t **bm = calloc((size_t)f->nn, sizeof *bm);
    step *st = calloc((size_t)f->nn, sizeof *st);
    int *pair = explain ? NULL : malloc((size_t)f->nn * sizeof *pair); /* explain: as asked */
    ectx c = {f, s, x, coll, window ? mw : m ? m : none, window, e, STELE_OK};
    stele_status rc = none && bm && st && (mw || !window) && (pair || explain)
                          ? STELE_OK
                          : util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK && pair) pair_ranges(f, pair);
    for (int i = f->nn; rc == STELE_OK && i-- > 0;) {
        const fnode *n = &f->n[i];
        if (pair && pair[i] == -2) bm[i] = roaring_bitmap_copy(c.members);
        else if (pair && pair[i] >= 0) bm[i] = pair_set(&c, n, &f->n[pair[i]], &st[i]);
        else bm[i] = n->kind == FN_LEAF ? leaf_set(&c, n, &st[i]) : combine(&c, i, bm);
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
    free(pair);
    if (mw) roaring_bitmap_free(mw);
    if (none) roaring_bitmap_free(none);
    return rc;
}

stele_status filter_eval(const qfilter *f, const mstate *s, dindex *x, uint32_t coll,
                         roaring_bitmap_t **out, buf *explain, util_err *e)
{
    return eval_within(f, s, x, coll, NULL, out, explain, e);
}

stele_status filter_eval_first(const qfilter *f, const mstate *s, dindex *x, uint32_t coll,
                               uint64_t k, uint64_t window, roaring_bitmap_t **out, util_err *e)
{
    STELE_ASSERT(k > 0 && window > 0);
    uint64_t end = mstate_doc_count(s), lo = 0, width = window;
    stele_status rc = STELE_OK;
    *out = roaring_bitmap_create();
    if (!*out) return util_fail(e, STELE_ENOMEM, "out of memory");
    /* Bounded: the window doubles, so at most 33 rounds cover the 2^32 doc numbers. */
    STELE_ASSERT(end <= UINT32_MAX);
    while (rc == STELE_OK && lo < end && roaring_bitmap_get_cardinality(*out) < k) {
        uint64_t hi = end - lo > width ? lo + width : end;
        roaring_bitmap_t *w = roaring_bitmap_from_range(lo, hi, 1), *part = NULL;
        rc = w ? eval_within(f, s, x, coll, w, &part, NULL, e)
               : util_fail(e, STELE_ENOMEM, "out of memory");
        if (rc == STELE_OK) {
            roaring_bitmap_or_inplace(*out, part);
            roaring_bitmap_free(part);
        }
        if (w) roaring_bitmap_free(w);
        lo = hi;
        width *= 2;
    }
    if (rc != STELE_OK) {
        roaring_bitmap_free(*out);
        *out = NULL;
    }
    return rc;
}

/* A full-text index of n's path over the versions of coll's documents as of as_of
 * (ever: every doc number coll had), in the language of the text index defined on the
 * path as of then (english if none). NULL with e set on failure. */
static fts *text_as_of(const fnode *n, const mstate *s, const roaring_bitmap_t *ever,
                       uint32_t coll, uint64_t as_of, util_err *e)
{
    fts *t = fts_new(coll, n->path, mstate_text_lang(s, coll, n->path, as_of), e);
    roaring_uint32_iterator_t *it = t && ever ? roaring_create_iterator(ever) : NULL;
    int rc = t && (!ever || it) ? 0 : -1;
    for (; rc == 0 && it && it->has_value; roaring_advance_uint32_iterator(it)) {
        const mversion *v = mstate_doc_get(s, it->current_value, as_of);
        if (v && !v->deleted) rc = fts_update_doc(t, it->current_value, v);
    }
    if (it) roaring_free_uint32_iterator(it);
    if (rc == 0) return t;
    if (t) util_fail(e, STELE_ENOMEM, "out of memory indexing '%s' for $text", n->path);
    fts_free(t);
    return NULL;
}

/* The set of every $text leaf as of as_of (texts[i] for leaf i; others NULL). */
static stele_status text_sets_as_of(const qfilter *f, const mstate *s,
                                    const roaring_bitmap_t *ever, uint32_t coll,
                                    uint64_t as_of, roaring_bitmap_t **texts, util_err *e)
{
    for (int i = 0; i < f->nn; i++) {
        const fnode *n = &f->n[i];
        if (n->kind != FN_LEAF || n->op != FOP_TEXT) continue;
        util_err le = {0};
        const char *q;
        size_t qn;
        fts *t = text_as_of(n, s, ever, coll, as_of, &le);
        stele_status rc = t ? STELE_OK : le.code;
        if (rc == STELE_OK && doc_string(n->arg, &q, &qn) != 0) rc = STELE_EINVAL;
        if (rc == STELE_OK) rc = fts_search(t, q, qn, 0, &texts[i], NULL, NULL, &le);
        fts_free(t);
        if (rc != STELE_OK)
            return util_fail(e, rc, "filter on '%s': $text: %s", n->path, le.msg);
    }
    return STELE_OK;
}

/* Every doc number coll ever had: the index's set, or without an index (x NULL: a view
 * of another thread, docs/DECISIONS.md 35) a scan of the doc numbers into *own (the
 * caller frees it). NULL on OOM. */
static const roaring_bitmap_t *coll_ever(const mstate *s, const dindex *x, uint32_t coll,
                                         roaring_bitmap_t **own)
{
    *own = NULL;
    if (x) return dindex_ever(x, coll);
    roaring_bitmap_t *b = roaring_bitmap_create();
    for (uint32_t d = 0, n = mstate_doc_count(s); b && d < n; d++)
        if (mstate_doc_coll(s, d) == coll) roaring_bitmap_add(b, d);
    *own = b;
    return b;
}

static void free_sets(roaring_bitmap_t **sets, int n)
{
    for (int i = 0; sets && i < n; i++)
        if (sets[i]) roaring_bitmap_free(sets[i]);
    free(sets);
}

stele_status filter_eval_as_of(const qfilter *f, const mstate *s, const dindex *x, uint32_t coll,
                               uint64_t as_of, roaring_bitmap_t **out, uint64_t *scanned,
                               buf *explain, util_err *e)
{
    *scanned = 0;
    *out = NULL;
    roaring_bitmap_t *own;
    const roaring_bitmap_t *ever = coll_ever(s, x, coll, &own);
    roaring_bitmap_t **texts = calloc((size_t)f->nn, sizeof *texts);
    if (!texts || (!x && !ever)) {
        free(texts);
        if (own) roaring_bitmap_free(own);
        return util_fail(e, STELE_ENOMEM, "out of memory");
    }
    stele_status rc = text_sets_as_of(f, s, ever, coll, as_of, texts, e);
    if (rc != STELE_OK) {
        free_sets(texts, f->nn);
        if (own) roaring_bitmap_free(own);
        return rc;
    }
    *out = roaring_bitmap_create();
    roaring_uint32_iterator_t *it = ever && *out ? roaring_create_iterator(ever) : NULL;
    for (; it && it->has_value; roaring_advance_uint32_iterator(it)) {
        const mversion *v = mstate_doc_get(s, it->current_value, as_of);
        if (!v || v->deleted) continue;
        ++*scanned;
        if (match_tree(f, v->doc, v->doc_len, it->current_value, texts))
            roaring_bitmap_add(*out, it->current_value);
    }
    if (it) roaring_free_uint32_iterator(it);
    free_sets(texts, f->nn);
    if (own) roaring_bitmap_free(own);
    if (!*out || (ever && !it)) {
        if (*out) roaring_bitmap_free(*out);
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

/* ---- ranking ---- */

int filter_rank_leaf(const qfilter *f)
{
    int parent[FILTER_NODES_MAX], found = -1, count = 0;
    STELE_ASSERT(f->nn >= 1 && f->nn <= FILTER_NODES_MAX);
    parent[0] = -1;
    for (int i = 0; i < f->nn; i++)
        for (int k = f->n[i].first; k >= 0; k = f->n[k].next) parent[k] = i;
    for (int i = 0; i < f->nn; i++)
        if (f->n[i].kind == FN_LEAF && f->n[i].op == FOP_TEXT) {
            found = i;
            count++;
        }
    if (count != 1) return -1;
    for (int p = parent[found]; p >= 0; p = parent[p]) { /* parents come first: bounded */
        STELE_ASSERT(p < found);
        if (f->n[p].kind == FN_NOT || f->n[p].kind == FN_NOR) return -1;
    }
    return found;
}

stele_status filter_text_hits(const qfilter *f, int leaf, const mstate *s, dindex *x,
                              uint32_t coll, uint64_t as_of, size_t k, fts_hit **hits,
                              size_t *nhits, util_err *e)
{
    STELE_ASSERT(leaf > 0 && leaf < f->nn && f->n[leaf].op == FOP_TEXT);
    const fnode *n = &f->n[leaf];
    util_err le = {0};
    const char *q;
    size_t qn;
    roaring_bitmap_t *docs = NULL;
    *hits = NULL;
    *nhits = 0;
    STELE_ASSERT(x || as_of != UINT64_MAX); /* without an index: as of an LSN only */
    roaring_bitmap_t *own_ever = NULL;
    const roaring_bitmap_t *ever = as_of == UINT64_MAX ? NULL : coll_ever(s, x, coll, &own_ever);
    fts *own = as_of == UINT64_MAX ? NULL : text_as_of(n, s, ever, coll, as_of, &le);
    if (own_ever) roaring_bitmap_free(own_ever);
    fts *t = as_of == UINT64_MAX ? dindex_text(x, s, coll, n->path, &le) : own;
    stele_status rc = t ? STELE_OK : le.code;
    if (rc == STELE_OK && doc_string(n->arg, &q, &qn) != 0) rc = STELE_EINVAL;
    if (rc == STELE_OK) rc = fts_search(t, q, qn, k, &docs, hits, nhits, &le);
    if (docs) roaring_bitmap_free(docs);
    fts_free(own);
    if (rc != STELE_OK) return util_fail(e, rc, "filter on '%s': $text: %s", n->path, le.msg);
    return STELE_OK;
}
