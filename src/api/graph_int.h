/*
 * graph_int.h — what api/graph.c lends to api/graph_query.c: views of the graph (live
 * or as of an LSN) and node references. Not installed.
 */
#ifndef STELE_API_GRAPH_INT_H
#define STELE_API_GRAPH_INT_H

#include "api/api_int.h"
#include "model/edges.h"
#include "query/graph.h"

#define GRAPH_LABELS_MAX 32 /* labels named in one query */

typedef struct gview {
    graph_view v;
    const mstate *s;
    const madj *a;      /* live view */
    graph_csr *csr;     /* as-of view (owned) */
    graph_csr_ctx cctx; /* ... and the state of its view */
    double *weights;    /* as-of Dijkstra: per edge doc number (owned) */
    uint32_t labels[GRAPH_LABELS_MAX];
    size_t nlabels;     /* 0 = every label */
    uint64_t at;        /* UINT64_MAX = now */
    const char *weight; /* live Dijkstra: the edge property */
} gview;

/* The entry check of graph calls (open handle, scratch allocated). */
stele_status gapi_need(stele *db);
/* A view of the edges with the given labels ("A,B"; NULL = all) now (as_of 0) or as of
 * an LSN; weight (may be NULL) names the numeric edge property Dijkstra uses. */
stele_status gview_open(stele *db, const char *labels, uint64_t as_of, const char *weight,
                        gview *g);
void gview_close(gview *g);
/* The id of an edge label by name, MADJ_NONE for a label the view does not follow. */
typedef uint32_t (*gview_label_fn)(void *ctx, const char *name, size_t len);
/* Builds g's CSR graph of the edges as of g->at (g->s, g->at, g->labels, g->nlabels,
 * g->weight set): a scan of every document's version then (O(documents)); labels get
 * their ids from label_of. */
stele_status gview_build_as_of(gview *g, gview_label_fn label_of, void *ctx, util_err *e);
/* Nodes with at least one link of the view's labels; NULL on OOM. */
roaring_bitmap_t *gview_nodes(const gview *g);
/* The doc number of the live node "coll/key" (as of at; UINT64_MAX = now). */
stele_status gapi_ref_lookup(stele *db, const char *ref, size_t len, uint64_t at,
                             uint32_t *node);
/* Appends the reference of node n (names as of at) as a JSON string: 0 or -1 (OOM). */
int gapi_put_ref(const stele *db, uint32_t n, uint64_t at, buf *b);
/* 1 if node n stands in for another database's node (its key is the whole reference). */
int gapi_is_xref(const stele *db, uint32_t n);
/* Nodes within depth hops of start (start included at 0), sorted by node. */
stele_status gapi_khop(stele *db, gview *g, const roaring_bitmap_t *start, int dir,
                       uint32_t depth, graph_hop **hops, size_t *n);

/* Splits hops into caller-freed arrays of nodes and (if dist) distances: STELE_OK or
 * STELE_ENOMEM (nothing allocated). */
stele_status gapi_hops_split(const graph_hop *hops, size_t nh, stele_node **nodes,
                             uint32_t **dist);

#endif
