/*
 * graph.c — the public graph API (include/stele.h, "Graph"; docs/GRAPH.md): node
 * references, neighbours, traversals and the JSON graph queries, over the adjacency of
 * the model (model/edges.h) now, or over a CSR graph built from the edge versions of
 * an LSN for "as of" queries. Layer: api (uses query/graph.h for the algorithms).
 *
 * A view (graph_view) is the pair (adjacency, label set): live views read the model's
 * link groups in place (mlink and graph_link have one layout, checked below); as-of
 * views own a graph_csr. Nothing here changes the state.
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <roaring/roaring.h>

#include "api/api_int.h"
#include "api/docs_int.h"
#include "api/graph_int.h"
#include "model/doc.h"
#include "model/edges.h"
#include "model/state.h"
#include "query/graph.h"
#include "util/util.h"

_Static_assert(sizeof(mlink) == sizeof(graph_link) &&
                   offsetof(mlink, node) == offsetof(graph_link, node) &&
                   offsetof(mlink, edge) == offsetof(graph_link, edge),
               "model links are read in place as graph links");

#define GROUPS_LOCAL 64          /* label groups of one node read without allocating */
#define LABEL_NOWHERE (UINT32_MAX - 1) /* a label id no link has */

/* ---- views ---- */


static int label_wanted(const gview *g, uint32_t label)
{
    if (g->nlabels == 0) return 1;
    for (size_t i = 0; i < g->nlabels; i++)
        if (g->labels[i] == label) return 1;
    return 0;
}

static size_t live_spans(void *ctx, uint32_t node, int dir, graph_span *out, size_t cap)
{
    const gview *g = ctx;
    mgroup_view local[GROUPS_LOCAL], *grp = local;
    int mdir = dir == GRAPH_OUT ? MADJ_OUT : MADJ_IN;
    size_t k = madj_groups(g->a, node, mdir, local, GROUPS_LOCAL);
    if (k > GROUPS_LOCAL) { /* a node with very many labels: read them all */
        grp = malloc(k * sizeof *grp);
        if (!grp) return 0;
        madj_groups(g->a, node, mdir, grp, k);
    }
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        if (!label_wanted(g, grp[i].label)) continue;
        if (n < cap) out[n] = (graph_span){(const graph_link *)grp[i].links, grp[i].n,
                                           grp[i].label};
        n++;
    }
    if (grp != local) free(grp);
    return n;
}

/* The weight of an edge version: its property at path, a number >= 0. 0, or -1. */
static int version_weight(const mversion *v, const char *path, double *w)
{
    doc_view x;
    if (!v || v->deleted || doc_path(v->doc, v->doc_len, path, &x) != 1) return -1;
    int t = doc_type(x);
    if ((t != SDOC_INT && t != SDOC_UINT && t != SDOC_DOUBLE) || doc_double(x, w) != 0)
        return -1;
    return isnan(*w) || *w < 0 ? -1 : 0;
}

/* Weight of edge doc `edge` now (graph_view.weight of live views). */
static int live_weight(void *ctx, uint32_t edge, double *w)
{
    const gview *g = ctx;
    return version_weight(mstate_doc_get(g->s, edge, UINT64_MAX), g->weight, w);
}

/* Parses "A,B,C" into label ids; unknown names match nothing. */
static stele_status parse_labels(stele *db, const char *labels, gview *g)
{
    g->nlabels = 0;
    if (!labels || !*labels) return STELE_OK;
    const madj *a = mstate_adj_c(db->docs);
    for (const char *p = labels; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n > MADJ_LABEL_MAX)
            return util_fail(&db->err, STELE_EINVAL, "bad label list '%s': labels are 1-%d "
                                                     "bytes, separated by commas", labels,
                             MADJ_LABEL_MAX);
        if (g->nlabels == GRAPH_LABELS_MAX)
            return util_fail(&db->err, STELE_ETOOBIG, "more than %d labels in one query",
                             GRAPH_LABELS_MAX);
        uint32_t id = madj_label_find(a, p, n);
        g->labels[g->nlabels++] = id == MADJ_NONE ? LABEL_NOWHERE : id;
        p += n + (end ? 1 : 0);
    }
    return STELE_OK;
}

/* The adjacency's id of a label name (gview_label_fn of the handle's own views). */
static uint32_t adj_label(void *ctx, const char *name, size_t len)
{
    return madj_label_find(ctx, name, len);
}

stele_status gview_build_as_of(gview *g, gview_label_fn label_of, void *ctx, util_err *e)
{
    const mstate *s = g->s;
    size_t nd = mstate_doc_count(s);
    uint32_t *cols = malloc((nd ? nd : 1) * 4 * sizeof *cols);
    double *w = g->weight ? malloc((nd ? nd : 1) * sizeof *w) : NULL;
    if (!cols || (g->weight && !w)) {
        free(cols);
        free(w);
        return util_fail(e, STELE_ENOMEM, "out of memory");
    }
    uint32_t *from = cols, *to = cols + nd, *label = cols + 2 * nd, *edge = cols + 3 * nd;
    size_t m = 0;
    for (size_t i = 0; w && i < nd; i++) w[i] = NAN; /* no weight unless an edge has one */
    for (uint32_t x = 0; x < nd; x++) {
        const mversion *v = mstate_doc_get(s, x, g->at);
        medge_doc ed;
        const char *why;
        if (!v || v->deleted || medge_read(v->doc, v->doc_len, &ed, &why) != 1) continue;
        uint32_t f = mref_resolve(s, &ed.from, g->at), t = mref_resolve(s, &ed.to, g->at);
        size_t ll;
        const char *ln = medge_label(s, &ed, x, g->at, &ll);
        uint32_t l = ln ? label_of(ctx, ln, ll) : MADJ_NONE;
        if (f == MADJ_NONE || t == MADJ_NONE || l == MADJ_NONE) continue;
        from[m] = f;
        to[m] = t;
        label[m] = l;
        edge[m] = x;
        m++;
        if (w && version_weight(v, g->weight, &w[x]) != 0) w[x] = NAN;
    }
    g->csr = graph_csr_build((uint32_t)nd, from, to, label, edge, m);
    free(cols);
    g->weights = w;
    if (!g->csr) return util_fail(e, STELE_ENOMEM, "out of memory");
    g->v = graph_csr_view(&g->cctx, g->csr, g->nlabels ? g->labels : NULL, g->nlabels, w,
                          w ? nd : 0);
    return STELE_OK;
}

/* A view of the graph with the given labels now (as_of 0) or as of an LSN. */
stele_status gview_open(stele *db, const char *labels, uint64_t as_of,
                              const char *weight, gview *g)
{
    memset(g, 0, sizeof *g);
    g->s = db->docs;
    g->a = mstate_adj_c(db->docs);
    g->at = as_of ? as_of : UINT64_MAX;
    g->weight = weight;
    stele_status rc = parse_labels(db, labels, g);
    if (rc != STELE_OK) return rc;
    if (as_of) /* reads edge bodies */
        return api_lazy_check(db, gview_build_as_of(g, adj_label, (void *)g->a, &db->err));
    /* Every doc number is a node of the view, linked or not: a start node with no links
     * above the highest linked one is still itself at distance 0. */
    uint32_t limit = madj_node_limit(g->a), ndoc = mstate_doc_count(db->docs);
    g->v = (graph_view){g, limit > ndoc ? limit : ndoc, live_spans, weight ? live_weight : NULL};
    return STELE_OK;
}

void gview_close(gview *g)
{
    graph_csr_free(g->csr);
    free(g->weights);
    g->csr = NULL;
    g->weights = NULL;
}

stele_status gapi_need(stele *db)
{
    stele_status rc = api_need_open(db);
    if (rc != STELE_OK) return rc;
    if (!db->gscratch && !(db->gscratch = graph_scratch_new()))
        return util_fail(&db->err, STELE_ENOMEM, "out of memory");
    return STELE_OK;
}

/* ---- node references ---- */

/* The doc number of "coll/key" as of at, live then (else ENOTFOUND with a message). */
stele_status gapi_ref_lookup(stele *db, const char *ref, size_t len, uint64_t at,
                               uint32_t *node)
{
    mref r;
    const char *why = "";
    if (mref_parse(ref, len, &r, &why) != 0)
        return util_fail(&db->err, STELE_EINVAL, "bad node reference '%.*s': %s", (int)len, ref,
                         why);
    uint32_t n = mref_resolve(db->docs, &r, at);
    if (gapi_is_xref(db, n) && madj_degree(mstate_adj_c(db->docs), n) > 0) {
        *node = n; /* another database's node that an edge here names: its stand-in */
        return STELE_OK;
    }
    if (r.db && !(r.global && db->primary))
        return util_fail(&db->err, STELE_ENOTFOUND, "no edge of this database names '%.*s' "
                                                    "(read it with 'stele ref get')", (int)len,
                         ref);
    const mversion *v = n == MADJ_NONE ? NULL : mstate_doc_meta(db->docs, n, at);
    if (!v || v->deleted)
        return util_fail(&db->err, STELE_ENOTFOUND, "no node '%.*s'%s", (int)len, ref,
                         at != UINT64_MAX ? " at that LSN" : "");
    *node = n;
    return STELE_OK;
}

/* 1 if node n is a stand-in for another database's node (edges.h MREF_XREF_COLL). */
int gapi_is_xref(const stele *db, uint32_t n)
{
    if (n == MADJ_NONE || n >= mstate_doc_count(db->docs)) return 0;
    const char *coll = mstate_coll_name(db->docs, mstate_doc_coll(db->docs, n), UINT64_MAX);
    return coll && strcmp(coll, MREF_XREF_COLL) == 0;
}

/* Appends "coll/key" of node n (collection name as of at) as a JSON string; a stand-in's
 * whole reference "db:coll/key". */
int gapi_put_ref(const stele *db, uint32_t n, uint64_t at, buf *b)
{
    size_t id_len;
    const char *id = mstate_doc_id(db->docs, n, &id_len);
    if (id && gapi_is_xref(db, n)) return buf_json_str(b, id, id_len);
    const char *coll = mstate_coll_name(db->docs, mstate_doc_coll(db->docs, n), at);
    if (!coll) coll = mstate_coll_name(db->docs, mstate_doc_coll(db->docs, n), UINT64_MAX);
    if (!id || !coll) return buf_append(b, "null", 4);
    size_t cl = strlen(coll);
    char tmp[MSTATE_NAME_MAX + 1 + MSTATE_ID_MAX + 1];
    memcpy(tmp, coll, cl);
    tmp[cl] = '/';
    memcpy(tmp + cl + 1, id, id_len);
    return buf_json_str(b, tmp, cl + 1 + id_len);
}

stele_status stele_node_lookup(stele *db, const char *ref, stele_node *node)
{
    stele_status rc = api_need_open(db);
    if (rc != STELE_OK) return rc;
    if (!ref || !node) return util_fail(&db->err, STELE_EINVAL, "a node reference is needed");
    return gapi_ref_lookup(db, ref, strlen(ref), UINT64_MAX, node);
}

stele_status stele_node_ref(stele *db, stele_node node, char *out, size_t cap)
{
    stele_status rc = api_need_open(db);
    if (rc != STELE_OK) return rc;
    size_t id_len;
    const char *id = mstate_doc_id(db->docs, node, &id_len);
    const char *coll = id ? mstate_coll_name(db->docs, mstate_doc_coll(db->docs, node),
                                             UINT64_MAX) : NULL;
    if (!id || !coll) return util_fail(&db->err, STELE_ENOTFOUND, "no node number %u", node);
    if (gapi_is_xref(db, node)) coll = NULL; /* a stand-in: its key is the whole reference */
    size_t cl = coll ? strlen(coll) : 0, at = coll ? cl + 1 : 0;
    if (!out || at + id_len + 1 > cap)
        return util_fail(&db->err, STELE_ETOOBIG, "node reference needs %zu bytes",
                         at + id_len + 1);
    if (coll) {
        memcpy(out, coll, cl);
        out[cl] = '/';
    }
    memcpy(out + at, id, id_len);
    out[at + id_len] = 0;
    return STELE_OK;
}

/* ---- typed queries ---- */

static int dir_ok(stele_dir d) { return d == STELE_DIR_OUT || d == STELE_DIR_IN || d == STELE_DIR_BOTH; }

stele_status stele_graph_neighbors(stele *db, stele_node node, stele_dir dir,
                                   const char *labels, stele_node *out, size_t cap, size_t *n)
{
    stele_status rc = gapi_need(db);
    if (rc != STELE_OK) return rc;
    if (!dir_ok(dir) || !n || (cap && !out))
        return util_fail(&db->err, STELE_EINVAL, "bad direction or output");
    gview g;
    rc = gview_open(db, labels, 0, NULL, &g);
    if (rc != STELE_OK) return rc;
    *n = graph_neighbors(&g.v, db->gscratch, node, (int)dir, out, cap);
    if (*n == SIZE_MAX) return util_fail(&db->err, STELE_ENOMEM, "out of memory");
    return STELE_OK;
}

/* k-hop from a start bitmap over view g: pairs (node, distance) sorted by node. */
stele_status gapi_khop(stele *db, gview *g, const roaring_bitmap_t *start, int dir,
                         uint32_t depth, graph_hop **hops, size_t *n)
{
    roaring_bitmap_t *out = roaring_bitmap_create();
    if (!out) return util_fail(&db->err, STELE_ENOMEM, "out of memory");
    int bad = graph_khop(&g->v, db->gscratch, start, dir, depth, 1, out, hops, n);
    roaring_bitmap_free(out);
    return bad ? util_fail(&db->err, STELE_ENOMEM, "out of memory") : STELE_OK;
}

stele_status stele_graph_traverse(stele *db, const stele_node *start, size_t nstart,
                                  stele_dir dir, const char *labels, uint32_t depth,
                                  uint64_t as_of, stele_node **nodes, uint32_t **dist,
                                  size_t *n)
{
    stele_status rc = gapi_need(db);
    if (rc != STELE_OK) return rc;
    if (!dir_ok(dir) || !nodes || !n || (nstart && !start) || depth > GRAPH_DEPTH_MAX)
        return util_fail(&db->err, STELE_EINVAL, "bad direction, start nodes or depth");
    *nodes = NULL;
    if (dist) *dist = NULL;
    *n = 0;
    gview g;
    rc = gview_open(db, labels, as_of, NULL, &g);
    roaring_bitmap_t *st = rc == STELE_OK ? roaring_bitmap_of_ptr(nstart, start) : NULL;
    if (rc == STELE_OK && !st) rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    graph_hop *hops = NULL;
    size_t nh = 0;
    if (rc == STELE_OK) rc = gapi_khop(db, &g, st, (int)dir, depth, &hops, &nh);
    if (st) roaring_bitmap_free(st);
    gview_close(&g);
    if (rc != STELE_OK) return rc;
    rc = gapi_hops_split(hops, nh, nodes, dist);
    free(hops);
    if (rc != STELE_OK) return util_fail(&db->err, rc, "out of memory");
    *n = nh;
    return STELE_OK;
}

stele_status gapi_hops_split(const graph_hop *hops, size_t nh, stele_node **nodes,
                             uint32_t **dist)
{
    *nodes = malloc((nh ? nh : 1) * sizeof **nodes);
    uint32_t *d = dist ? malloc((nh ? nh : 1) * sizeof *d) : NULL;
    if (!*nodes || (dist && !d)) {
        free(*nodes);
        free(d);
        *nodes = NULL;
        return STELE_ENOMEM;
    }
    for (size_t i = 0; i < nh; i++) {
        (*nodes)[i] = hops[i].node;
        if (d) d[i] = hops[i].dist;
    }
    if (dist) *dist = d;
    return STELE_OK;
}

/* Nodes with at least one link of the view's labels (either direction). */
roaring_bitmap_t *gview_nodes(const gview *g)
{
    roaring_bitmap_t *r = roaring_bitmap_create();
    graph_span sp[1];
    /* A live view's nodes beyond the adjacency's limit have no links. */
    uint32_t limit = g->csr ? g->v.node_limit : madj_node_limit(g->a);
    for (uint32_t n = 0; r && n < limit; n++)
        if (g->v.spans(g->v.ctx, n, GRAPH_OUT, sp, 1) || g->v.spans(g->v.ctx, n, GRAPH_IN, sp, 1))
            roaring_bitmap_add(r, n);
    return r;
}

stele_status stele_graph_scc(stele *db, const char *labels, uint64_t as_of, uint32_t *ncomp,
                             uint32_t *largest)
{
    stele_status rc = gapi_need(db);
    if (rc != STELE_OK) return rc;
    if (!ncomp || !largest) return util_fail(&db->err, STELE_EINVAL, "outputs needed");
    gview g;
    rc = gview_open(db, labels, as_of, NULL, &g);
    roaring_bitmap_t *all = rc == STELE_OK ? gview_nodes(&g) : NULL;
    uint32_t *comp = NULL, nc = 0, *size = NULL;
    if (rc == STELE_OK && (!all || graph_scc(&g.v, all, &comp, &nc) != 0 ||
                           !(size = calloc(nc ? nc : 1, sizeof *size))))
        rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    uint32_t big = 0;
    for (uint32_t i = 0; rc == STELE_OK && i < g.v.node_limit; i++)
        if (comp[i] != GRAPH_NO_NODE && ++size[comp[i]] > big) big = size[comp[i]];
    if (rc == STELE_OK) {
        *ncomp = nc;
        *largest = big;
    }
    free(size);
    free(comp);
    if (all) roaring_bitmap_free(all);
    gview_close(&g);
    return rc;
}
