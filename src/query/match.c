/*
 * match.c — the per-document evaluator (filter_match) and the scalar tests it shares
 * with the index evaluator (filter.c), so that both give the same answers.
 * Layer: query. Semantics: docs/DOCUMENTS.md, "Query semantics".
 */
#include "query/match.h"

#include <roaring/roaring.h>

static int is_scalar(doc_view v)
{
    int t = doc_type(v);
    return t >= 0 && t != SDOC_ARRAY && t != SDOC_OBJECT;
}

int match_substring(const char *h, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0) return 1;
    for (size_t i = 0; i + nn <= hn; i++)
        if (h[i] == needle[0] && memcmp(h + i, needle, nn) == 0) return 1;
    return 0;
}

int match_cmp_op(int op, int c)
{
    switch (op) {
    case FOP_GT: return c > 0;
    case FOP_GTE: return c >= 0;
    case FOP_LT: return c < 0;
    case FOP_LTE: return c <= 0;
    default: return c == 0;
    }
}

int match_date(const fnode *n, doc_view el)
{
    const char *s;
    size_t len;
    dinstant d;
    if (doc_type(el) != SDOC_STRING || doc_string(el, &s, &len) != 0 ||
        dval_date(s, len, &d) != 0)
        return 0;
    return match_cmp_op(n->op, dinstant_cmp(d, n->date));
}

/* Does one scalar value satisfy the leaf's comparison (op on arg)? */
static int scalar_hit(const fnode *n, int op, doc_view arg, doc_view el)
{
    if (!is_scalar(el)) return 0;
    if (op == FOP_EQ) return dval_cmp(el, arg) == 0;
    if (op == FOP_STARTS) {
        const char *s, *p;
        size_t sn, pn;
        return doc_string(el, &s, &sn) == 0 && doc_string(arg, &p, &pn) == 0 && sn >= pn &&
               memcmp(s, p, pn) == 0;
    }
    if (n->is_date) return match_date(n, el);
    if (dval_bracket(doc_type(el)) != dval_bracket(doc_type(arg))) return 0;
    return match_cmp_op(op, dval_cmp(el, arg));
}

/* The value itself if a scalar, or any element of it if an array. */
static int any_hit(const fnode *n, int op, doc_view arg, doc_view v)
{
    if (doc_type(v) != SDOC_ARRAY) return scalar_hit(n, op, arg, v);
    uint32_t cnt;
    if (doc_count(v, &cnt) != 0) return 0;
    for (uint32_t i = 0; i < cnt; i++) {
        doc_view el;
        if (doc_index(v.p, v.len, i, &el) == 1 && scalar_hit(n, op, arg, el)) return 1;
    }
    return 0;
}

static int in_hit(const fnode *n, doc_view v)
{
    uint32_t cnt;
    if (doc_count(n->arg, &cnt) != 0) return 0;
    for (uint32_t i = 0; i < cnt; i++) {
        doc_view x;
        if (doc_index(n->arg.p, n->arg.len, i, &x) == 1 && any_hit(n, FOP_EQ, x, v)) return 1;
    }
    return 0;
}

static int contains_hit(const fnode *n, doc_view v)
{
    const char *s, *p;
    size_t sn, pn;
    if (doc_type(v) == SDOC_ARRAY) return any_hit(n, FOP_EQ, n->arg, v);
    return doc_string(v, &s, &sn) == 0 && doc_string(n->arg, &p, &pn) == 0 &&
           match_substring(s, sn, p, pn);
}

int match_leaf(const fnode *n, const uint8_t *doc, size_t len)
{
    doc_view v;
    int found = doc_path(doc, len, n->path, &v) == 1;
    switch (n->op) {
    case FOP_EXISTS: return found == (doc_type(n->arg) == SDOC_TRUE);
    case FOP_NE: return !(found && any_hit(n, FOP_EQ, n->arg, v));
    case FOP_IN: return found && in_hit(n, v);
    case FOP_NIN: return !(found && in_hit(n, v));
    case FOP_CONTAINS: return found && contains_hit(n, v);
    default: return found && any_hit(n, n->op, n->arg, v); /* eq, ranges, startsWith */
    }
}

/* A $text leaf against one document alone: the document is made doc 0 of the leaf's
 * scratch index, then the query runs there. Out of memory: no match. */
static int text_hit(const fnode *n, const uint8_t *doc, size_t len)
{
    const char *q;
    size_t qn;
    roaring_bitmap_t *docs = NULL;
    mversion v = {.doc = doc, .doc_len = len};
    STELE_ASSERT(n->op == FOP_TEXT && n->scratch);
    if (doc_string(n->arg, &q, &qn) != 0 || fts_update_doc(n->scratch, 0, &v) != 0 ||
        fts_search(n->scratch, q, qn, 0, &docs, NULL, NULL, NULL) != STELE_OK)
        return 0;
    int hit = roaring_bitmap_contains(docs, 0);
    roaring_bitmap_free(docs);
    return hit;
}

int match_tree(const qfilter *f, const uint8_t *doc, size_t len, uint32_t num,
               roaring_bitmap_t *const *texts)
{
    uint8_t res[FILTER_NODES_MAX];
    STELE_ASSERT(f->nn >= 1 && f->nn <= FILTER_NODES_MAX);
    for (int i = f->nn; i-- > 0;) { /* children come after their parent */
        const fnode *n = &f->n[i];
        if (n->kind == FN_LEAF && n->op == FOP_TEXT) {
            res[i] = (uint8_t)(texts ? roaring_bitmap_contains(texts[i], num)
                                     : text_hit(n, doc, len));
            continue;
        }
        if (n->kind == FN_LEAF) {
            res[i] = (uint8_t)match_leaf(n, doc, len);
            continue;
        }
        int all = 1, any = 0;
        for (int c = n->first; c >= 0; c = f->n[c].next) {
            STELE_ASSERT(c > i);
            all &= res[c];
            any |= res[c];
        }
        res[i] = (uint8_t)(n->kind == FN_AND   ? all
                           : n->kind == FN_OR  ? any
                           : n->kind == FN_NOT ? !all /* one child */
                                               : !any); /* NOR */
    }
    return res[0];
}

int filter_match(const qfilter *f, const uint8_t *doc, size_t len)
{
    return match_tree(f, doc, len, 0, NULL);
}
