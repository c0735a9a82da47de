/*
 * graph_query.c — stele_graph_query: every graph query as a JSON spec (docs/GRAPH.md,
 * "Queries"), answered as JSON with nodes as "collection/key" references. Layer: api.
 *
 * The "query" op evaluates a set-algebra expression over named sets (nodes,
 * collection, where, out, in, both, union, intersect, minus) without recursion: the
 * expression is flattened in pre-order (a parent before its children), then evaluated
 * from the last node to the first, so every child's set exists before its parent's.
 * Documents are materialized only at the end, and only with "docs":true.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <roaring/roaring.h>

#include "api/api_int.h"
#include "api/docs_int.h"
#include "api/graph_int.h"
#include "model/state.h"
#include "query/graph.h"
#include "util/util.h"

#define SPEC_BYTES_MAX (1u << 20) /* a query spec */
#define SET_NODES_MAX 256         /* expressions in one set-algebra query */
#define PATHS_MAX 100000          /* paths, components or cycles listed */
#define PATH_LEN_MAX 64           /* hops of an enumerated path */

typedef struct qctx {
    stele *db;
    json_t *spec;
    const char *op;
    int dir;
    char labels[GRAPH_LABELS_MAX * (MADJ_LABEL_MAX + 1) + 1]; /* "A,B" */
    uint64_t as_of, at;
    int docs; /* materialize documents */
    stele_status xfail; /* a stand-in's document could not be read (db->err says why) */
    buf out;
} qctx;

/* ---- spec fields ---- */

static stele_status spec_fail(qctx *q, const char *what)
{
    return util_fail(&q->db->err, STELE_EINVAL, "graph query (%s): %s", q->op ? q->op : "?",
                     what);
}

/* An optional unsigned integer member: def if absent; -1 if not a non-negative integer
 * or above max. */
static int spec_uint(qctx *q, const char *key, uint64_t def, uint64_t max, uint64_t *v)
{
    json_t *x = json_object_get(q->spec, key);
    if (!x) {
        *v = def;
        return 0;
    }
    if (!json_is_integer(x) || json_integer_value(x) < 0 || (uint64_t)json_integer_value(x) > max)
        return -1;
    *v = (uint64_t)json_integer_value(x);
    return 0;
}

static int parse_dir(const char *s)
{
    if (!s || strcmp(s, "out") == 0) return GRAPH_OUT;
    if (strcmp(s, "in") == 0) return GRAPH_IN;
    if (strcmp(s, "both") == 0) return GRAPH_BOTH;
    return -1;
}

/* "label": "A" | ["A","B"] | null into "A,B" (empty = every label). */
static int labels_text(json_t *x, char *out, size_t cap)
{
    out[0] = 0;
    if (!x || json_is_null(x)) return 0;
    if (json_is_string(x)) return util_strlcpy(out, json_string_value(x), cap);
    if (!json_is_array(x) || json_array_size(x) == 0 || json_array_size(x) > GRAPH_LABELS_MAX)
        return -1;
    size_t w = 0, i;
    json_t *l;
    json_array_foreach(x, i, l) {
        size_t n = json_is_string(l) ? json_string_length(l) : 0;
        if (n == 0 || n > MADJ_LABEL_MAX || w + n + 2 > cap) return -1;
        if (w) out[w++] = ',';
        memcpy(out + w, json_string_value(l), n);
        w += n;
    }
    out[w] = 0;
    return 0;
}

static stele_status spec_common(qctx *q)
{
    json_t *d = json_object_get(q->spec, "dir");
    if (d && !json_is_string(d)) return spec_fail(q, "\"dir\" is \"out\", \"in\" or \"both\"");
    q->dir = parse_dir(d ? json_string_value(d) : NULL);
    if (q->dir < 0) return spec_fail(q, "\"dir\" is \"out\", \"in\" or \"both\"");
    json_t *l = json_object_get(q->spec, "label");
    if (!l) l = json_object_get(q->spec, "labels");
    if (labels_text(l, q->labels, sizeof q->labels) != 0)
        return spec_fail(q, "\"label\" is a label or an array of up to 32 labels");
    if (spec_uint(q, "as_of", 0, UINT64_MAX >> 1, &q->as_of) != 0)
        return spec_fail(q, "\"as_of\" is an LSN");
    q->at = q->as_of ? q->as_of : UINT64_MAX;
    json_t *docs = json_object_get(q->spec, "docs");
    if (docs && !json_is_boolean(docs)) return spec_fail(q, "\"docs\" is true or false");
    q->docs = json_is_true(docs);
    return STELE_OK;
}

/* The node named by member `key` (a reference string). */
static stele_status spec_node(qctx *q, const char *key, uint32_t *n)
{
    json_t *x = json_object_get(q->spec, key);
    if (!json_is_string(x)) {
        char msg[96];
        snprintf(msg, sizeof msg, "\"%s\" must be a node reference \"collection/key\"", key);
        return spec_fail(q, msg);
    }
    return gapi_ref_lookup(q->db, json_string_value(x), json_string_length(x), q->at, n);
}

/* ---- output ---- */

/* A node as its reference, or with "docs" its document (a stand-in's read from its
 * own database, now: xref.c; null if it is not there, like a dangling local node).
 * -1 on failure (q->xfail set if it was not memory: no access). */
static int put_node(qctx *q, uint32_t n)
{
    if (!q->docs) return gapi_put_ref(q->db, n, q->at, &q->out);
    if (!gapi_is_xref(q->db, n)) return api_doc_json(q->db, n, q->at, &q->out);
    size_t at = q->out.len;
    stele_status rc = api_xref_json(q->db, n, &q->out);
    if (rc == STELE_ENOTFOUND) { /* a dangling reference: null, as a local one */
        q->out.len = at;
        util_err_clear(&q->db->err);
        return buf_append(&q->out, "null", 4);
    }
    if (rc != STELE_OK && rc != STELE_ENOMEM) q->xfail = rc;
    return rc == STELE_OK ? 0 : -1;
}

static int put_nodes(qctx *q, const uint32_t *v, size_t n)
{
    int bad = buf_append(&q->out, "[", 1);
    for (size_t i = 0; i < n && !bad; i++)
        bad = (i && buf_append(&q->out, ",", 1)) || put_node(q, v[i]);
    return bad || buf_append(&q->out, "]", 1);
}

static stele_status oom(qctx *q)
{
    if (q->xfail) return q->xfail; /* not memory: a reference could not be read */
    return util_fail(&q->db->err, STELE_ENOMEM, "out of memory");
}

/* ---- ops ---- */

static stele_status op_neighbors(qctx *q, gview *g)
{
    uint32_t node, *v = NULL;
    stele_status rc = spec_node(q, "node", &node);
    if (rc != STELE_OK) return rc;
    size_t n = graph_neighbors(&g->v, q->db->gscratch, node, q->dir, NULL, 0);
    if (n == SIZE_MAX || (n && !(v = malloc(n * sizeof *v)))) return oom(q);
    if (graph_neighbors(&g->v, q->db->gscratch, node, q->dir, v, n) == SIZE_MAX) {
        free(v);
        return oom(q);
    }
    int bad = buf_printf(&q->out, "{\"count\":%zu,\"neighbors\":", n) || put_nodes(q, v, n) ||
              buf_append(&q->out, "}", 1);
    free(v);
    return bad ? oom(q) : STELE_OK;
}

static int hop_cmp(const void *x, const void *y)
{
    const graph_hop *a = x, *b = y;
    if (a->dist != b->dist) return a->dist < b->dist ? -1 : 1;
    return a->node < b->node ? -1 : a->node > b->node;
}

/* Start set from "from": a reference or an array of them. */
static stele_status spec_start(qctx *q, roaring_bitmap_t *st)
{
    json_t *f = json_object_get(q->spec, "from");
    if (json_is_string(f)) {
        uint32_t n;
        stele_status rc = spec_node(q, "from", &n);
        if (rc == STELE_OK) roaring_bitmap_add(st, n);
        return rc;
    }
    if (!json_is_array(f) || json_array_size(f) == 0)
        return spec_fail(q, "\"from\" is a node reference or an array of them");
    size_t i;
    json_t *x;
    json_array_foreach(f, i, x) {
        uint32_t n;
        if (!json_is_string(x)) return spec_fail(q, "\"from\" holds node references");
        stele_status rc = gapi_ref_lookup(q->db, json_string_value(x), json_string_length(x),
                                          q->at, &n);
        if (rc != STELE_OK) return rc;
        roaring_bitmap_add(st, n);
    }
    return STELE_OK;
}

static stele_status op_traverse(qctx *q, gview *g)
{
    uint64_t depth, limit;
    if (spec_uint(q, "depth", 1, GRAPH_DEPTH_MAX, &depth) != 0)
        return spec_fail(q, "\"depth\" is a number of hops");
    if (spec_uint(q, "limit", 0, UINT64_MAX >> 1, &limit) != 0)
        return spec_fail(q, "\"limit\" is a count");
    roaring_bitmap_t *st = roaring_bitmap_create();
    if (!st) return oom(q);
    graph_hop *h = NULL;
    size_t n = 0;
    stele_status rc = spec_start(q, st);
    if (rc == STELE_OK) rc = gapi_khop(q->db, g, st, q->dir, (uint32_t)depth, &h, &n);
    roaring_bitmap_free(st);
    if (rc != STELE_OK) return rc;
    qsort(h, n, sizeof *h, hop_cmp);
    size_t shown = limit && limit < n ? (size_t)limit : n;
    int bad = buf_printf(&q->out, "{\"count\":%zu,\"nodes\":[", n);
    for (size_t i = 0; i < shown && !bad; i++)
        bad = buf_printf(&q->out, "%s{\"dist\":%u,\"node\":", i ? "," : "", h[i].dist) ||
              put_node(q, h[i].node) || buf_append(&q->out, "}", 1);
    bad = bad || buf_append(&q->out, "]}", 2);
    free(h);
    return bad ? oom(q) : STELE_OK;
}

static stele_status op_reachable(qctx *q, gview *g)
{
    uint32_t a, b;
    uint64_t depth;
    stele_status rc = spec_node(q, "from", &a);
    if (rc == STELE_OK) rc = spec_node(q, "to", &b);
    if (rc != STELE_OK) return rc;
    if (spec_uint(q, "depth", 0, GRAPH_DEPTH_MAX, &depth) != 0)
        return spec_fail(q, "\"depth\" is a number of hops (0 = any)");
    int r = graph_reachable(&g->v, q->db->gscratch, a, b, q->dir, (uint32_t)depth);
    if (r < 0) return oom(q);
    return buf_printf(&q->out, "{\"reachable\":%s}", r ? "true" : "false") ? oom(q) : STELE_OK;
}

static stele_status op_path(qctx *q, gview *g)
{
    uint32_t a, b, *path = NULL, bad_edge = 0;
    size_t n = 0;
    double cost = 0;
    stele_status rc = spec_node(q, "from", &a);
    if (rc == STELE_OK) rc = spec_node(q, "to", &b);
    if (rc != STELE_OK) return rc;
    int r = g->weight ? graph_dijkstra(&g->v, a, b, q->dir, &path, &n, &cost, &bad_edge)
                      : graph_shortest_path(&g->v, q->db->gscratch, a, b, q->dir, &path, &n);
    if (r == -1) return oom(q);
    if (r == -2) {
        buf ref;
        buf_init(&ref);
        gapi_put_ref(q->db, bad_edge, q->at, &ref);
        rc = util_fail(&q->db->err, STELE_EINVAL, "graph query (path): edge %.*s has no "
                                                  "usable \"%s\" (a number >= 0 is needed)",
                       (int)ref.len, ref.data ? (const char *)ref.data : "", g->weight);
        buf_release(&ref);
        return rc;
    }
    int bad;
    if (r == 1) {
        bad = buf_append(&q->out, "{\"path\":null}", 13);
    } else {
        bad = buf_printf(&q->out, "{\"hops\":%zu,", n ? n - 1 : 0) ||
              (g->weight && buf_printf(&q->out, "\"cost\":%.17g,", cost)) ||
              buf_append(&q->out, "\"path\":", 7) || put_nodes(q, path, n) ||
              buf_append(&q->out, "}", 1);
    }
    free(path);
    return bad ? oom(q) : STELE_OK;
}

typedef struct path_sink {
    qctx *q;
    size_t count;
    int bad;
} path_sink;

static int path_put(const uint32_t *nodes, size_t n, void *ctx)
{
    path_sink *ps = ctx;
    ps->bad = ps->bad || (ps->count && buf_append(&ps->q->out, ",", 1)) ||
              put_nodes(ps->q, nodes, n);
    ps->count++;
    return ps->bad;
}

static stele_status op_paths(qctx *q, gview *g)
{
    uint32_t a, b;
    uint64_t max_len, max;
    stele_status rc = spec_node(q, "from", &a);
    if (rc == STELE_OK) rc = spec_node(q, "to", &b);
    if (rc != STELE_OK) return rc;
    if (spec_uint(q, "max_len", 6, PATH_LEN_MAX, &max_len) != 0 ||
        spec_uint(q, "max", 100, PATHS_MAX, &max) != 0)
        return spec_fail(q, "\"max_len\" is 0-64 hops and \"max\" 0-100000 paths");
    path_sink ps = {q, 0, 0};
    int bad = buf_append(&q->out, "{\"paths\":[", 10);
    if (!bad && graph_paths(&g->v, a, b, q->dir, (uint32_t)max_len, (size_t)max, path_put,
                            &ps) != 0)
        return oom(q);
    bad = bad || ps.bad || buf_printf(&q->out, "],\"count\":%zu}", ps.count);
    return bad ? oom(q) : STELE_OK;
}

typedef struct comp_ref {
    uint32_t comp, size, first; /* first: smallest node */
} comp_ref;

static int comp_cmp(const void *x, const void *y)
{
    const comp_ref *a = x, *b = y;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* Lists components of at least min_size nodes, largest first. */
static int put_components(qctx *q, const uint32_t *comp, uint32_t nc, uint32_t limit,
                          uint64_t min_size, uint64_t max)
{
    comp_ref *c = calloc(nc ? nc : 1, sizeof *c);
    uint32_t *members = NULL;
    if (!c) return -1;
    for (uint32_t i = 0; i < nc; i++) c[i] = (comp_ref){i, 0, UINT32_MAX};
    for (uint32_t n = 0; n < limit; n++)
        if (comp[n] != GRAPH_NO_NODE && c[comp[n]].size++ == 0) c[comp[n]].first = n;
    qsort(c, nc, sizeof *c, comp_cmp);
    size_t listed = 0, big = nc ? c[0].size : 0;
    int bad = buf_printf(&q->out, "{\"components\":%u,\"largest\":%zu,\"sccs\":[", nc, big);
    for (uint32_t i = 0; i < nc && !bad && listed < max && c[i].size >= min_size; i++) {
        free(members);
        members = malloc(c[i].size * sizeof *members);
        if (!members) {
            bad = 1;
            break;
        }
        size_t k = 0;
        for (uint32_t n = c[i].first; n < limit && k < c[i].size; n++)
            if (comp[n] == c[i].comp) members[k++] = n;
        bad = (listed && buf_append(&q->out, ",", 1)) || put_nodes(q, members, k);
        listed++;
    }
    bad = bad || buf_printf(&q->out, "],\"listed\":%zu}", listed);
    free(members);
    free(c);
    return bad ? -1 : 0;
}

static stele_status op_scc(qctx *q, gview *g)
{
    uint64_t min_size, max;
    if (spec_uint(q, "min_size", 2, UINT32_MAX, &min_size) != 0 ||
        spec_uint(q, "max", 1000, PATHS_MAX, &max) != 0)
        return spec_fail(q, "\"min_size\" and \"max\" are counts");
    roaring_bitmap_t *all = gview_nodes(g);
    uint32_t *comp = NULL, nc = 0;
    int bad = !all || graph_scc(&g->v, all, &comp, &nc) != 0 ||
              put_components(q, comp, nc, g->v.node_limit, min_size, max) != 0;
    free(comp);
    if (all) roaring_bitmap_free(all);
    return bad ? oom(q) : STELE_OK;
}

static stele_status op_cycles(qctx *q, gview *g)
{
    uint64_t max;
    if (spec_uint(q, "max", 100, PATHS_MAX, &max) != 0) return spec_fail(q, "\"max\" is a count");
    roaring_bitmap_t *all = gview_nodes(g);
    path_sink ps = {q, 0, 0};
    int bad = !all || buf_append(&q->out, "{\"cycles\":[", 11) ||
              graph_cycles(&g->v, all, (size_t)max, path_put, &ps) != 0 || ps.bad ||
              buf_printf(&q->out, "],\"count\":%zu}", ps.count);
    if (all) roaring_bitmap_free(all);
    return bad ? oom(q) : STELE_OK;
}

static stele_status op_topo(qctx *q, gview *g)
{
    roaring_bitmap_t *all = gview_nodes(g);
    uint32_t *order = NULL;
    size_t n = 0;
    int r = all ? graph_topo(&g->v, all, &order, &n) : -1;
    int bad = r < 0;
    if (r == 1) bad = buf_append(&q->out, "{\"order\":null,\"cycle\":true}", 27);
    else if (r == 0)
        bad = buf_append(&q->out, "{\"order\":", 9) || put_nodes(q, order, n) ||
              buf_printf(&q->out, ",\"count\":%zu}", n);
    free(order);
    if (all) roaring_bitmap_free(all);
    return bad ? oom(q) : STELE_OK;
}

static stele_status op_degrees(qctx *q, gview *g)
{
    uint64_t top;
    if (spec_uint(q, "top", 10, 10000, &top) != 0) return spec_fail(q, "\"top\" is 0-10000");
    roaring_bitmap_t *all = gview_nodes(g);
    graph_hop *t = malloc((top ? top : 1) * sizeof *t);
    graph_degree_stats st;
    size_t nt = 0;
    int bad = !all || !t || graph_degrees(&g->v, all, q->dir, &st, t, (size_t)top, &nt) != 0;
    bad = bad || buf_printf(&q->out, "{\"nodes\":%llu,\"links\":%llu,\"min\":%u,\"max\":%u,"
                                     "\"mean\":%.6g,\"median\":%.6g,\"top\":[",
                            (unsigned long long)st.nodes, (unsigned long long)st.links, st.min,
                            st.max, st.mean, st.median);
    for (size_t i = 0; i < nt && !bad; i++)
        bad = buf_printf(&q->out, "%s{\"degree\":%u,\"node\":", i ? "," : "", t[i].dist) ||
              put_node(q, t[i].node) || buf_append(&q->out, "}", 1);
    bad = bad || buf_append(&q->out, "]}", 2);
    free(t);
    if (all) roaring_bitmap_free(all);
    return bad ? oom(q) : STELE_OK;
}

/* ---- set algebra ---- */

enum { SX_NODES, SX_COLLECTION, SX_WHERE, SX_OUT, SX_IN, SX_BOTH, SX_UNION, SX_INTERSECT,
       SX_MINUS, SX_COUNT };
static const char *const SX_NAMES[] = {"nodes", "collection", "where", "out", "in", "both",
                                       "union", "intersect", "minus"};

typedef struct sxnode {
    int kind;
    json_t *arg;              /* the member's value */
    int first, next;          /* children (pre-order: always after the parent) */
    roaring_bitmap_t *set;
} sxnode;

typedef struct sxtree {
    sxnode n[SET_NODES_MAX];
    int nn;
} sxtree;

/* Classifies expression x as node i; its children are appended later by the caller. */
static stele_status sx_classify(qctx *q, json_t *x, sxnode *s)
{
    const char *key;
    json_t *v;
    memset(s, 0, sizeof *s);
    s->first = s->next = -1;
    if (!json_is_object(x) || json_object_size(x) != 1)
        return spec_fail(q, "a set is an object with one member: nodes, collection, where, "
                            "out, in, both, union, intersect or minus");
    json_object_foreach(x, key, v) {
        s->kind = -1;
        for (int k = 0; k < SX_COUNT; k++)
            if (strcmp(key, SX_NAMES[k]) == 0) s->kind = k;
        s->arg = v;
    }
    if (s->kind < 0) return spec_fail(q, "unknown set operator (use nodes, collection, where, "
                                         "out, in, both, union, intersect, minus)");
    int ok = 1;
    switch (s->kind) {
    case SX_NODES: ok = json_is_array(s->arg); break;
    case SX_COLLECTION: ok = json_is_string(s->arg); break;
    case SX_WHERE:
        ok = json_is_array(s->arg) && json_array_size(s->arg) == 2 &&
             json_is_string(json_array_get(s->arg, 0)) &&
             json_is_object(json_array_get(s->arg, 1));
        break;
    case SX_OUT: case SX_IN: case SX_BOTH:
        ok = json_is_array(s->arg) && json_array_size(s->arg) >= 1 &&
             json_array_size(s->arg) <= 3;
        break;
    case SX_MINUS: ok = json_is_array(s->arg) && json_array_size(s->arg) == 2; break;
    default: ok = json_is_array(s->arg) && json_array_size(s->arg) >= 1; break;
    }
    return ok ? STELE_OK : spec_fail(q, "malformed set expression (see docs/GRAPH.md)");
}

/* Flattens the expression tree in pre-order with an explicit stack. */
static stele_status sx_flatten(qctx *q, json_t *root, sxtree *t)
{
    int stack[SET_NODES_MAX];
    json_t *pending[SET_NODES_MAX];
    int sp = 0;
    t->nn = 0;
    pending[sp] = root;
    stack[sp++] = -1; /* parent */
    while (sp > 0) {
        sp--;
        int parent = stack[sp];
        json_t *x = pending[sp];
        if (t->nn == SET_NODES_MAX)
            return util_fail(&q->db->err, STELE_ETOOBIG, "graph query: more than %d sets",
                             SET_NODES_MAX);
        int i = t->nn++;
        stele_status rc = sx_classify(q, x, &t->n[i]);
        if (rc != STELE_OK) return rc;
        if (parent >= 0) { /* children are pushed in reverse: link at the front */
            t->n[i].next = t->n[parent].first;
            t->n[parent].first = i;
        }
        sxnode *s = &t->n[i];
        size_t nchild = s->kind >= SX_UNION ? json_array_size(s->arg)
                        : s->kind >= SX_OUT ? 1 : 0;
        for (size_t c = 0; c < nchild; c++) {
            if (sp == SET_NODES_MAX)
                return util_fail(&q->db->err, STELE_ETOOBIG, "graph query: sets nest too deep");
            pending[sp] = json_array_get(s->arg, c);
            stack[sp++] = i;
        }
    }
    return STELE_OK;
}

static stele_status sx_nodes(qctx *q, const sxnode *s, roaring_bitmap_t *r)
{
    size_t i;
    json_t *x;
    json_array_foreach(s->arg, i, x) {
        uint32_t n;
        if (!json_is_string(x)) return spec_fail(q, "\"nodes\" holds node references");
        stele_status rc = gapi_ref_lookup(q->db, json_string_value(x), json_string_length(x),
                                          q->at, &n);
        if (rc != STELE_OK) return rc;
        roaring_bitmap_add(r, n);
    }
    return STELE_OK;
}

static stele_status sx_hop(qctx *q, sxnode *s, roaring_bitmap_t **r)
{
    char labels[sizeof q->labels];
    json_t *k = json_array_get(s->arg, 2);
    if (labels_text(json_array_get(s->arg, 1), labels, sizeof labels) != 0 ||
        (k && (!json_is_integer(k) || json_integer_value(k) < 1 ||
               json_integer_value(k) > GRAPH_DEPTH_MAX)))
        return spec_fail(q, "out/in/both are [set, label or null, hops >= 1]");
    gview g;
    stele_status rc = gview_open(q->db, labels, q->as_of, NULL, &g);
    if (rc != STELE_OK) return rc;
    int dir = s->kind == SX_OUT ? GRAPH_OUT : s->kind == SX_IN ? GRAPH_IN : GRAPH_BOTH;
    *r = roaring_bitmap_create();
    if (!*r || graph_khop(&g.v, q->db->gscratch, s->set, dir,
                          k ? (uint32_t)json_integer_value(k) : 1, 0, *r, NULL, NULL) != 0)
        rc = oom(q);
    gview_close(&g);
    return rc;
}

/* Evaluates node i whose children are evaluated: s->set gets a new bitmap. */
static stele_status sx_eval(qctx *q, sxtree *t, int i)
{
    sxnode *s = &t->n[i];
    stele_status rc = STELE_OK;
    roaring_bitmap_t *r = NULL;
    if (s->kind == SX_COLLECTION || s->kind == SX_WHERE) {
        const char *coll = json_string_value(s->kind == SX_WHERE ? json_array_get(s->arg, 0)
                                                                 : s->arg);
        char *ft = s->kind == SX_WHERE ? json_dumps(json_array_get(s->arg, 1), JSON_COMPACT)
                                       : strdup("{}");
        rc = ft ? api_filter_set(q->db, coll, ft, strlen(ft), q->as_of, &r) : oom(q);
        free(ft);
    } else if (s->kind == SX_NODES) {
        r = roaring_bitmap_create();
        rc = r ? sx_nodes(q, s, r) : oom(q);
    } else if (s->kind >= SX_OUT && s->kind <= SX_BOTH) {
        s->set = t->n[s->first].set; /* the start set, read by sx_hop */
        rc = sx_hop(q, s, &r);
    } else {
        const sxnode *c = &t->n[s->first];
        r = roaring_bitmap_copy(c->set);
        for (int j = c->next; r && j >= 0; j = t->n[j].next) {
            if (s->kind == SX_UNION) roaring_bitmap_or_inplace(r, t->n[j].set);
            else if (s->kind == SX_INTERSECT) roaring_bitmap_and_inplace(r, t->n[j].set);
            else roaring_bitmap_andnot_inplace(r, t->n[j].set);
        }
        if (!r) rc = oom(q);
    }
    s->set = NULL;
    if (rc != STELE_OK) {
        if (r) roaring_bitmap_free(r);
        return rc;
    }
    s->set = r;
    return STELE_OK;
}

static stele_status op_query(qctx *q)
{
    uint64_t limit;
    if (spec_uint(q, "limit", 0, UINT64_MAX >> 1, &limit) != 0)
        return spec_fail(q, "\"limit\" is a count");
    json_t *root = json_object_get(q->spec, "set");
    if (!root) return spec_fail(q, "\"set\" (the set expression) is missing");
    sxtree *t = calloc(1, sizeof *t);
    if (!t) return oom(q);
    stele_status rc = sx_flatten(q, root, t);
    for (int i = t->nn - 1; rc == STELE_OK && i >= 0; i--) rc = sx_eval(q, t, i);
    if (rc == STELE_OK) {
        uint64_t n = roaring_bitmap_get_cardinality(t->n[0].set);
        size_t shown = (size_t)(limit && limit < n ? limit : n);
        uint32_t *v = malloc((shown ? shown : 1) * sizeof *v);
        if (!v) rc = oom(q);
        else {
            roaring_uint32_iterator_t *it = roaring_create_iterator(t->n[0].set);
            size_t got = it ? roaring_read_uint32_iterator(it, v, (uint32_t)shown) : 0;
            if (it) roaring_free_uint32_iterator(it);
            if (!it || buf_printf(&q->out, "{\"count\":%llu,\"nodes\":", (unsigned long long)n) ||
                put_nodes(q, v, got) || buf_append(&q->out, "}", 1))
                rc = oom(q);
            free(v);
        }
    }
    for (int i = 0; i < t->nn; i++)
        if (t->n[i].set) roaring_bitmap_free(t->n[i].set);
    free(t);
    return rc;
}

/* ---- dispatch ---- */

typedef stele_status (*view_op)(qctx *q, gview *g);

static const struct {
    const char *name;
    view_op fn;
} VIEW_OPS[] = {{"neighbors", op_neighbors}, {"traverse", op_traverse},
                {"reachable", op_reachable}, {"path", op_path},
                {"paths", op_paths},         {"scc", op_scc},
                {"cycles", op_cycles},       {"topo", op_topo},
                {"degrees", op_degrees}};

static stele_status run_op(qctx *q)
{
    stele_status rc = spec_common(q);
    if (rc != STELE_OK) return rc;
    if (strcmp(q->op, "query") == 0) return op_query(q);
    for (size_t i = 0; i < sizeof VIEW_OPS / sizeof VIEW_OPS[0]; i++) {
        if (strcmp(q->op, VIEW_OPS[i].name) != 0) continue;
        json_t *w = json_object_get(q->spec, "weight");
        if (w && (strcmp(q->op, "path") != 0 || !json_is_string(w) ||
                  json_string_length(w) == 0 || json_string_length(w) > MSTATE_PATH_MAX))
            return spec_fail(q, "\"weight\" (an edge property path) applies to \"path\" only");
        gview g;
        rc = gview_open(q->db, q->labels, q->as_of, w ? json_string_value(w) : NULL, &g);
        if (rc == STELE_OK) rc = VIEW_OPS[i].fn(q, &g);
        gview_close(&g);
        return rc;
    }
    return spec_fail(q, "unknown \"op\" (use neighbors, traverse, reachable, path, paths, "
                        "scc, cycles, topo, degrees or query)");
}

stele_status stele_graph_query(stele *db, const char *spec, size_t len, char **json)
{
    stele_status rc = gapi_need(db);
    if (rc != STELE_OK) return rc;
    if (!spec || !json || len > SPEC_BYTES_MAX)
        return util_fail(&db->err, STELE_EINVAL, "a graph query spec (JSON, at most 1 MiB) "
                                                 "and an output are needed");
    json_error_t je;
    qctx q;
    memset(&q, 0, sizeof q);
    q.db = db;
    buf_init(&q.out);
    q.spec = json_loadb(spec, len, 0, &je);
    if (!q.spec || !json_is_object(q.spec)) {
        json_decref(q.spec);
        return util_fail(&db->err, STELE_EINVAL, "graph query: malformed JSON at line %d, "
                                                 "column %d: %s", je.line, je.column,
                         q.spec ? "not an object" : je.text);
    }
    q.op = json_string_value(json_object_get(q.spec, "op"));
    rc = q.op ? run_op(&q) : spec_fail(&q, "\"op\" is missing");
    json_decref(q.spec);
    return api_detach(db, &q.out, rc, json);
}
