/*
 * parse.c — filter JSON → filter tree (filter.h). Layer: query.
 * The text is parsed with Stele's own JSON parser into SDOC (so that numbers keep
 * their exact int64/uint64/double form), then walked with an explicit work stack of
 * (object, parent node, path) items: no recursion on user input. Every node counts
 * against FILTER_NODES_MAX, which also bounds the stack.
 *
 * Grammar (docs/DOCUMENTS.md):
 *   filter  := { member* }                         members are ANDed
 *   member  := "$and" | "$or" | "$nor" : [filter+]  |  "$not" : filter
 *            | path : scalar                         (= $eq)
 *            | path : { opexpr+ }                    (ANDed)
 *   opexpr  := "$eq|$ne|$gt|$gte|$lt|$lte|$contains" : scalar | "$startsWith" : string
 *            | "$in|$nin" : [scalar*] | "$exists" : bool | "$not" : { opexpr+ }
 *            | "$text" : string                      (full text, fts.h's query language)
 * A $text leaf gets a private scratch index (fts) for filter_match; its query is checked
 * here by a search of that empty index, so a bad query is refused before evaluation.
 */
#include <roaring/roaring.h>
#include <stdlib.h>

#include "query/filter.h"

static const char *const OP_NAMES[FOP_COUNT] = {
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$contains",
    "$startsWith", "$text"};
#define OP_LIST "$eq $ne $gt $gte $lt $lte $in $nin $exists $contains $startsWith $text $not"

const char *filter_op_name(int op) { return op >= 0 && op < FOP_COUNT ? OP_NAMES[op] : "?"; }

/* Member i of an SDOC object (layout in model/doc.h): key (not NUL-terminated) and
 * value. The filter's SDOC comes from json_parse in this process, so it is canonical;
 * the reads are still bounded by the view. 0, or -1 if out of bounds. */
static int member(doc_view o, uint32_t i, const char **key, size_t *klen, doc_view *val)
{
    uint32_t count;
    if (doc_count(o, &count) != 0 || i >= count || o.len < 9 + 8 * (size_t)count) return -1;
    const uint8_t *tab = o.p + 9 + 8 * (size_t)i, *area = o.p + 9 + 8 * (size_t)count;
    size_t room = o.len - (size_t)(area - o.p);
    uint32_t ko = get_u32(tab), vo = get_u32(tab + 4);
    if ((size_t)ko + 4 > room || vo >= room) return -1;
    *klen = get_u32(area + ko);
    if ((size_t)ko + 4 + *klen > room) return -1;
    *key = (const char *)area + ko + 4;
    val->p = area + vo;
    val->len = room - vo;
    if (doc_type(*val) < 0) return -1;
    /* the value's exact length: up to the next value, or to the end of the object */
    if (i + 1 < count) val->len = get_u32(tab + 8 + 4) - vo;
    return 0;
}

typedef struct pctx {
    qfilter *f;
    util_err *e;
} pctx;

static int node_new(pctx *c, int kind, int parent)
{
    qfilter *f = c->f;
    if (f->nn >= FILTER_NODES_MAX) {
        util_fail(c->e, STELE_ETOOBIG, "filter has more than %d conditions and operators",
                  FILTER_NODES_MAX);
        return -1;
    }
    int i = f->nn++;
    memset(&f->n[i], 0, sizeof f->n[i]);
    f->n[i].kind = kind;
    f->n[i].first = f->n[i].next = -1;
    if (parent >= 0) { /* append to the parent's children, keeping their order */
        STELE_ASSERT(parent < i);
        int *link = &f->n[parent].first;
        while (*link >= 0) link = &f->n[*link].next;
        *link = i;
    }
    return i;
}

static int is_scalar(doc_view v)
{
    int t = doc_type(v);
    return t >= 0 && t != SDOC_ARRAY && t != SDOC_OBJECT;
}

/* Checks a leaf's operand; the message names the operator and the path. */
static stele_status check_operand(pctx *c, int op, const char *path, doc_view arg)
{
    const char *name = OP_NAMES[op];
    int t = doc_type(arg);
    if (op == FOP_EXISTS && t != SDOC_TRUE && t != SDOC_FALSE)
        return util_fail(c->e, STELE_EINVAL, "filter on '%s': %s takes true or false", path,
                         name);
    if ((op == FOP_STARTS || op == FOP_TEXT) && t != SDOC_STRING)
        return util_fail(c->e, STELE_EINVAL, "filter on '%s': %s takes a string", path, name);
    if (op == FOP_IN || op == FOP_NIN) {
        uint32_t n;
        if (t != SDOC_ARRAY || doc_count(arg, &n) != 0)
            return util_fail(c->e, STELE_EINVAL, "filter on '%s': %s takes an array of "
                                                 "scalars", path, name);
        for (uint32_t i = 0; i < n; i++) {
            doc_view el;
            if (doc_index(arg.p, arg.len, i, &el) != 1 || !is_scalar(el))
                return util_fail(c->e, STELE_EINVAL, "filter on '%s': %s takes an array of "
                                                     "scalars (element %u is not one)",
                                 path, name, i);
        }
        return STELE_OK;
    }
    if (!is_scalar(arg))
        return util_fail(c->e, STELE_EINVAL, "filter on '%s': %s takes a scalar (number, "
                                             "string, boolean or null), not an %s", path, name,
                         t == SDOC_ARRAY ? "array" : "object");
    return STELE_OK;
}

/* A $text leaf: its scratch index, and its query checked by a search of it (empty). */
static stele_status text_leaf(pctx *c, fnode *n)
{
    util_err le = {0};
    const char *q;
    size_t qn;
    STELE_ASSERT(n->op == FOP_TEXT && !n->scratch);
    if (doc_string(n->arg, &q, &qn) != 0)
        return util_fail(c->e, STELE_EINVAL, "filter on '%s': $text takes a string", n->path);
    n->scratch = fts_new(0, n->path, NULL, &le);
    if (!n->scratch)
        return util_fail(c->e, le.code, "filter on '%s': $text: %s", n->path, le.msg);
    roaring_bitmap_t *docs = NULL;
    stele_status rc = fts_search(n->scratch, q, qn, 0, &docs, NULL, NULL, &le);
    if (rc != STELE_OK)
        return util_fail(c->e, rc, "filter on '%s': $text: %s", n->path, le.msg);
    STELE_ASSERT(roaring_bitmap_is_empty(docs));
    roaring_bitmap_free(docs);
    return STELE_OK;
}

static stele_status leaf_new(pctx *c, int op, const char *path, doc_view arg, int parent)
{
    stele_status rc = check_operand(c, op, path, arg);
    if (rc != STELE_OK) return rc;
    int i = node_new(c, FN_LEAF, parent);
    if (i < 0) return c->e ? c->e->code : STELE_ETOOBIG;
    fnode *n = &c->f->n[i];
    n->op = op;
    n->arg = arg;
    n->path = malloc(strlen(path) + 1);
    if (!n->path) return util_fail(c->e, STELE_ENOMEM, "out of memory parsing a filter");
    memcpy(n->path, path, strlen(path) + 1);
    const char *s;
    size_t sn;
    if (op >= FOP_GT && op <= FOP_LTE && doc_string(arg, &s, &sn) == 0)
        n->is_date = dval_date(s, sn, &n->date) == 0;
    return op == FOP_TEXT ? text_leaf(c, n) : STELE_OK;
}

/* A path as a C string into out; checks it can name a field. */
static stele_status path_of(pctx *c, const char *key, size_t klen, char *out)
{
    if (klen == 0 || klen > DINDEX_PATH_MAX || memchr(key, 0, klen))
        return util_fail(c->e, STELE_EINVAL, "filter: a field path must be 1 to %d bytes "
                                             "without NUL", DINDEX_PATH_MAX);
    memcpy(out, key, klen);
    out[klen] = 0;
    if (out[0] == '.' || out[klen - 1] == '.' || strstr(out, ".."))
        return util_fail(c->e, STELE_EINVAL, "filter: field path '%s' has an empty component",
                         out);
    return STELE_OK;
}

/* ---- the work stack ---- */

typedef struct item {
    doc_view obj;
    int parent;
    int cond; /* 1: an operator object of `path`; 0: a filter object */
    char path[DINDEX_PATH_MAX + 1];
} item;

typedef struct wstack {
    item *it;
    int n;
} wstack;

static stele_status push(pctx *c, wstack *w, doc_view obj, int parent, int cond,
                         const char *path)
{
    if (w->n >= FILTER_NODES_MAX)
        return util_fail(c->e, STELE_ETOOBIG, "filter has more than %d conditions and "
                                              "operators", FILTER_NODES_MAX);
    item *t = &w->it[w->n++];
    t->obj = obj;
    t->parent = parent;
    t->cond = cond;
    util_strlcpy(t->path, path ? path : "", sizeof t->path);
    return STELE_OK;
}

static int op_code(const char *k, size_t n)
{
    for (int i = 0; i < FOP_COUNT; i++)
        if (strlen(OP_NAMES[i]) == n && memcmp(OP_NAMES[i], k, n) == 0) return i;
    return -1;
}

static int key_is(const char *k, size_t n, const char *what)
{
    return strlen(what) == n && memcmp(k, what, n) == 0;
}

/* {"$and"|"$or"|"$nor": [filters]}: a node whose children are the filters. */
static stele_status logical(pctx *c, wstack *w, const char *name, int kind, doc_view arr,
                            int parent)
{
    uint32_t n;
    if (doc_type(arr) != SDOC_ARRAY || doc_count(arr, &n) != 0 || n == 0)
        return util_fail(c->e, STELE_EINVAL, "filter: %s takes a non-empty array of filters",
                         name);
    int node = node_new(c, kind, parent);
    if (node < 0) return c->e ? c->e->code : STELE_ETOOBIG;
    for (uint32_t i = n; i-- > 0;) { /* pushed in reverse: popped (and linked) in order */
        doc_view el;
        if (doc_index(arr.p, arr.len, i, &el) != 1 || doc_type(el) != SDOC_OBJECT)
            return util_fail(c->e, STELE_EINVAL, "filter: element %u of %s is not a filter "
                                                 "object", i, name);
        stele_status rc = push(c, w, el, node, 0, NULL);
        if (rc != STELE_OK) return rc;
    }
    return STELE_OK;
}

/* One member of a filter object. */
static stele_status filter_member(pctx *c, wstack *w, const char *k, size_t kn, doc_view v,
                                  int parent)
{
    if (key_is(k, kn, "$and")) return logical(c, w, "$and", FN_AND, v, parent);
    if (key_is(k, kn, "$or")) return logical(c, w, "$or", FN_OR, v, parent);
    if (key_is(k, kn, "$nor")) return logical(c, w, "$nor", FN_NOR, v, parent);
    if (key_is(k, kn, "$not")) {
        if (doc_type(v) != SDOC_OBJECT)
            return util_fail(c->e, STELE_EINVAL, "filter: $not takes a filter object");
        int node = node_new(c, FN_NOT, parent);
        return node < 0 ? c->e->code : push(c, w, v, node, 0, NULL);
    }
    if (key_is(k, kn, "$text")) /* full text is per field: an index per (coll, path) */
        return util_fail(c->e, STELE_EINVAL, "filter: $text applies to a field, not to the "
                                             "whole document: use {\"field\": {\"$text\": "
                                             "\"words\"}}");
    if (kn && k[0] == '$')
        return util_fail(c->e, STELE_EINVAL, "filter: unknown operator '%.*s' at the top "
                                             "level (use $and, $or, $nor, $not, or a field "
                                             "path)", (int)(kn > 64 ? 64 : kn), k);
    char path[DINDEX_PATH_MAX + 1];
    stele_status rc = path_of(c, k, kn, path);
    if (rc != STELE_OK) return rc;
    const char *k0;
    size_t k0n;
    doc_view v0;
    uint32_t cnt;
    if (doc_type(v) == SDOC_OBJECT && doc_count(v, &cnt) == 0 && cnt > 0 &&
        member(v, 0, &k0, &k0n, &v0) == 0 && k0n && k0[0] == '$')
        return push(c, w, v, parent, 1, path);
    return leaf_new(c, FOP_EQ, path, v, parent); /* a scalar: equality (objects refused) */
}

/* One member {op: arg} of the operator object of `path`. */
static stele_status cond_member(pctx *c, wstack *w, const char *path, const char *k, size_t kn,
                                doc_view v, int parent)
{
    if (key_is(k, kn, "$not")) {
        if (doc_type(v) != SDOC_OBJECT)
            return util_fail(c->e, STELE_EINVAL, "filter on '%s': $not takes an object of "
                                                 "operators such as {\"$gt\":3}", path);
        int node = node_new(c, FN_NOT, parent);
        return node < 0 ? c->e->code : push(c, w, v, node, 1, path);
    }
    int op = op_code(k, kn);
    if (op < 0)
        return util_fail(c->e, STELE_EINVAL, "filter on '%s': unknown operator '%.*s' (use "
                                             "one of " OP_LIST ")", path,
                         (int)(kn > 64 ? 64 : kn), k);
    return leaf_new(c, op, path, v, parent);
}

/* The members of one object of the stack: several are ANDed under a new node. */
static stele_status walk_object(pctx *c, wstack *w, const item *t)
{
    uint32_t n;
    if (doc_type(t->obj) != SDOC_OBJECT || doc_count(t->obj, &n) != 0)
        return util_fail(c->e, STELE_EINVAL, "a filter is a JSON object");
    if (t->cond && n == 0)
        return util_fail(c->e, STELE_EINVAL, "filter on '%s': an empty object of operators",
                         t->path);
    int parent = t->parent;
    if (n != 1 && (parent = node_new(c, FN_AND, t->parent)) < 0) return c->e->code;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t kn;
        doc_view v;
        if (member(t->obj, i, &k, &kn, &v) != 0)
            return util_fail(c->e, STELE_EINVAL, "filter: unreadable member");
        if (t->cond && (kn == 0 || k[0] != '$'))
            return util_fail(c->e, STELE_EINVAL, "filter on '%s': mixes operators and fields "
                                                 "('%.*s'); compare objects field by field "
                                                 "with dotted paths", t->path,
                             (int)(kn > 64 ? 64 : kn), k);
        stele_status rc = t->cond ? cond_member(c, w, t->path, k, kn, v, parent)
                                  : filter_member(c, w, k, kn, v, parent);
        if (rc != STELE_OK) return rc;
    }
    return STELE_OK;
}

void filter_free(qfilter *f)
{
    if (!f) return;
    for (int i = 0; i < f->nn; i++) {
        free(f->n[i].path);
        fts_free(f->n[i].scratch);
    }
    free(f->n);
    buf_release(&f->sdoc);
    free(f);
}

stele_status filter_parse(const char *text, size_t len, qfilter **out, util_err *e)
{
    *out = NULL;
    qfilter *f = calloc(1, sizeof *f);
    wstack w = {malloc(FILTER_NODES_MAX * sizeof(item)), 0}; /* items are written when pushed */
    if (f) f->n = malloc(FILTER_NODES_MAX * sizeof *f->n);  /* nodes, by node_new */
    if (!f || !f->n || !w.it) {
        free(w.it);
        filter_free(f);
        return util_fail(e, STELE_ENOMEM, "out of memory parsing a filter");
    }
    pctx c = {f, e};
    json_error je;
    stele_status rc = STELE_OK;
    if (json_parse(text, len, &f->sdoc, &je) != 0)
        rc = util_fail(e, STELE_EINVAL, "malformed filter at line %zu, column %zu: %s",
                       je.line, je.column, je.msg);
    else if (doc_type((doc_view){f->sdoc.data, f->sdoc.len}) != SDOC_OBJECT)
        rc = util_fail(e, STELE_EINVAL, "a filter is a JSON object, such as {\"age\":30}");
    else
        rc = push(&c, &w, (doc_view){f->sdoc.data, f->sdoc.len}, -1, 0, NULL);
    uint32_t root_members = 0;
    if (rc == STELE_OK) doc_count((doc_view){f->sdoc.data, f->sdoc.len}, &root_members);
    if (rc == STELE_OK && root_members == 1 && node_new(&c, FN_AND, -1) != 0)
        rc = e ? e->code : STELE_ETOOBIG; /* node 0 is always the root: an AND */
    if (rc == STELE_OK && root_members == 1) w.it[0].parent = 0;
    while (rc == STELE_OK && w.n > 0) {
        item t = w.it[--w.n];
        rc = walk_object(&c, &w, &t);
    }
    free(w.it);
    if (rc != STELE_OK) {
        filter_free(f);
        return rc;
    }
    STELE_ASSERT(f->nn >= 1 && f->n[0].kind == FN_AND);
    *out = f;
    return STELE_OK;
}
