/*
 * graph.h — graph algorithms over an adjacency view: k-hop traversal (frontier at a
 * time), reachability, shortest paths (BFS, Dijkstra), bounded path enumeration,
 * strongly connected components and cycles (iterative Tarjan), topological order,
 * degree statistics. Layer: query (uses util and CRoaring; knows nothing of documents).
 *
 * A graph here is a set of node numbers (dense uint32, < node_limit) and, per node and
 * direction, lists of links (neighbour node, edge number, label) grouped by label. The
 * api layer builds a view over the live adjacency of the model (model/edges) or, for
 * "as of" queries, over a graph_csr built from the edges of that time; tests and
 * benchmarks build graph_csr from edge lists.
 *
 * Invariants
 *  1. No recursion: every traversal uses explicit stacks/queues bounded by node_limit
 *     (or by the caller's limits for path enumeration).
 *  2. Results are deterministic: for the same view, the same answer in the same order
 *     (neighbours are visited in span order; spans list links sorted by (node, edge)).
 *  3. Every algorithm is checked against networkx (tests/unit/graph_test.c,
 *     tests/unit/graph_oracle.py).
 *  4. Node numbers >= node_limit (in start sets, node sets, a or b) name no node of the
 *     view: they have no links and are ignored (never an assertion: they may come from
 *     users).
 */
#ifndef STELE_QUERY_GRAPH_H
#define STELE_QUERY_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef struct roaring_bitmap_s roaring_bitmap_t;

enum { GRAPH_OUT = 1, GRAPH_IN = 2, GRAPH_BOTH = 3 };

#define GRAPH_LABEL_ANY UINT32_MAX
#define GRAPH_NO_NODE UINT32_MAX
#define GRAPH_DEPTH_MAX 1000000u /* hops of a traversal: bounds every loop */

/* One link of a node: to (GRAPH_OUT) or from (GRAPH_IN) `node`, through edge `edge`. */
typedef struct graph_link {
    uint32_t node;
    uint32_t edge;
} graph_link;

/* The links of one node, one direction and one label, sorted by (node, edge). */
typedef struct graph_span {
    const graph_link *links;
    uint32_t n;
    uint32_t label;
} graph_span;

/* An adjacency view. spans() writes up to cap spans of node `node` in direction dir
 * (GRAPH_OUT or GRAPH_IN, never BOTH) restricted to the view's labels, and returns how
 * many there are (if more than cap, the caller calls again with a larger array). The
 * spans are borrowed until the graph changes. weight() (may be NULL: then Dijkstra is
 * refused) gives the numeric weight of edge `edge`: 0 and *w set, or -1 if the edge has
 * no usable weight (missing, not a number, negative, NaN). */
typedef struct graph_view {
    void *ctx;
    uint32_t node_limit; /* every node number is < node_limit */
    size_t (*spans)(void *ctx, uint32_t node, int dir, graph_span *out, size_t cap);
    int (*weight)(void *ctx, uint32_t edge, double *w);
} graph_view;

/* ---- A compressed adjacency built from an edge list ---------------------------- */

typedef struct graph_csr graph_csr;

/* Builds a CSR graph from m edges (from[i] -> to[i], label[i], edge number edge[i]; label
 * may be NULL: then every edge has label 0; edge may be NULL: then edge i is number i).
 * Node numbers < node_limit. NULL on OOM, a node number out of range or m >= 2^32. The
 * arrays are copied: the caller keeps them. Free with graph_csr_free. */
graph_csr *graph_csr_build(uint32_t node_limit, const uint32_t *from, const uint32_t *to,
                           const uint32_t *label, const uint32_t *edge, size_t m);
void graph_csr_free(graph_csr *g);
/* The state behind a view of a graph_csr. A graph_view carries one ctx pointer, so the
 * labels and weights of a view live here, in storage the caller provides (a local
 * variable will do); graph_csr_view fills it. Fields are private. */
typedef struct graph_csr_ctx {
    const graph_csr *g;
    const uint32_t *labels;
    size_t nlabels;
    int labels_sorted; /* labels ascending: membership by binary search */
    const double *weights;
    size_t nweights;
} graph_csr_ctx;
/* A view of g restricted to the given labels (NULL/0 = every label), its state kept in
 * *c. c, g, `labels` and `weights` must stay valid as long as the view is used. weights
 * (may be NULL: then v.weight is NULL) is indexed by edge number; an edge number >=
 * nweights or a weight that is NaN, infinite or negative counts as no weight. */
graph_view graph_csr_view(graph_csr_ctx *c, const graph_csr *g, const uint32_t *labels,
                          size_t nlabels, const double *weights, size_t nweights);
/* Nodes with at least one link (either direction), as a new bitmap; NULL on OOM. */
roaring_bitmap_t *graph_csr_nodes(const graph_csr *g);

/* ---- Algorithms ------------------------------------------------------------------
 * Scratch: reusable per-thread working memory (visited stamps, queues) so that a
 * 1-hop or 3-hop query allocates nothing after the first call. One scratch must not
 * be used by two threads at once. */
typedef struct graph_scratch graph_scratch;
graph_scratch *graph_scratch_new(void);
void graph_scratch_free(graph_scratch *s);

/* Neighbours of `node` (dir OUT, IN or BOTH), each once, ascending, into out[0, cap):
 * returns the number of distinct neighbours (may exceed cap: then only cap written), or
 * SIZE_MAX on OOM (only possible when the node has more spans, labels times directions,
 * than the scratch has held so far; a new scratch holds 16). */
size_t graph_neighbors(const graph_view *v, graph_scratch *s, uint32_t node, int dir,
                       uint32_t *out, size_t cap);

/* k-hop: every node reachable from the start set in 1..depth hops (dir OUT, IN, BOTH),
 * start nodes excluded unless reached again by a cycle (include_start = 0) or always
 * included at distance 0 (include_start = 1). Hops are counted along walks, frontier at
 * a time: with include_start = 0 a start node is in the answer iff some walk of 1..depth
 * hops from a start node ends on it, at the length of the shortest such walk (so with
 * BOTH, a start node with a link is met again after 2 hops: there and back). depth is
 * capped at GRAPH_DEPTH_MAX. Into `out` (cleared first) the nodes;
 * if dist is not NULL, *dist gets a malloc'd array of (node, distance) pairs sorted by
 * node (distance = fewest hops), *ndist their number. 0, or -1 on OOM. */
typedef struct graph_hop {
    uint32_t node;
    uint32_t dist;
} graph_hop;
int graph_khop(const graph_view *v, graph_scratch *s, const roaring_bitmap_t *start, int dir,
               uint32_t depth, int include_start, roaring_bitmap_t *out, graph_hop **dist,
               size_t *ndist);

/* Whether b is reachable from a within depth hops (depth 0 = unbounded, that is
 * GRAPH_DEPTH_MAX): 1, 0, -1 OOM. a is reachable from itself (0 hops). */
int graph_reachable(const graph_view *v, graph_scratch *s, uint32_t a, uint32_t b, int dir,
                    uint32_t depth);

/* Shortest path a -> b by hop count (BFS; ties broken by smallest node number at each
 * step, so deterministic: of all shortest paths, the lexicographically smallest node
 * sequence). *path gets malloc'd nodes a..b, *n their count (a == b: the path [a]); 0 if
 * found, 1 if there is none (then *path NULL), -1 on OOM. */
int graph_shortest_path(const graph_view *v, graph_scratch *s, uint32_t a, uint32_t b,
                        int dir, uint32_t **path, size_t *n);
/* Shortest weighted path (Dijkstra, binary heap) using v->weight: as above, and *cost the
 * total weight. -2 if an edge met has no usable weight (*bad_edge says which) or
 * v->weight is NULL (*bad_edge = GRAPH_NO_NODE); bad_edge may be NULL. An edge is met
 * when the node it leaves is settled before b. Nodes are settled in (cost, node) order
 * and a node's predecessor changes only for a strictly cheaper cost, so among paths of
 * equal cost the answer is deterministic. */
int graph_dijkstra(const graph_view *v, uint32_t a, uint32_t b, int dir, uint32_t **path,
                   size_t *n, double *cost, uint32_t *bad_edge);

/* Simple paths a -> b of at most max_len hops, at most max_paths of them, each given to
 * fn(nodes, n, ctx) (nodes borrowed for the call); fn returns non-zero to stop. Depth-
 * first with an explicit stack; neighbours are taken distinct and ascending, so paths come
 * in lexicographic order and parallel edges give one path. Branches that cannot reach b
 * in the hops left are pruned (a reverse BFS from b first). a == b gives the path [a].
 * The work is bounded by the number of simple paths of <= max_len hops, which grows
 * exponentially with max_len: callers keep max_len small. 0, or -1 on OOM. */
typedef int (*graph_path_fn)(const uint32_t *nodes, size_t n, void *ctx);
int graph_paths(const graph_view *v, uint32_t a, uint32_t b, int dir, uint32_t max_len,
                size_t max_paths, graph_path_fn fn, void *ctx);

/* Strongly connected components of the subgraph induced by `nodes` (edges leaving the
 * set are ignored), iterative Tarjan (Pearce's variant). *comp gets a malloc'd array
 * indexed by node number (size v->node_limit; GRAPH_NO_NODE for nodes outside the set) of
 * component numbers 0..*ncomp-1, numbered in the order Tarjan completes them (reverse
 * topological order of the condensation). 0, or -1 on OOM. */
int graph_scc(const graph_view *v, const roaring_bitmap_t *nodes, uint32_t **comp,
              uint32_t *ncomp);

/* Cycles: for each component of more than one node, or single node with a self-loop,
 * one simple cycle through its smallest node (shortest such cycle, BFS inside the
 * component; ties: the lexicographically smallest), given to fn as its nodes from the
 * smallest node on, each once (the closing edge back to nodes[0] is implied); components
 * in ascending order of their smallest node; at most max_cycles. 0, or -1 on OOM. */
int graph_cycles(const graph_view *v, const roaring_bitmap_t *nodes, size_t max_cycles,
                 graph_path_fn fn, void *ctx);

/* Topological order of `nodes` (Kahn; among ready nodes the smallest number first): 0 and
 * *order (malloc'd, *n nodes); 1 if there is a cycle (then *order NULL); -1 on OOM. */
int graph_topo(const graph_view *v, const roaring_bitmap_t *nodes, uint32_t **order,
               size_t *n);

/* Degree statistics over `nodes` in direction dir (OUT, IN or BOTH: sum of both). A
 * node's degree is its number of links in the view (parallel edges each count, edges
 * leaving `nodes` count, a self-loop counts once per direction). links = sum of degrees;
 * median of an even count is the mean of the middle two; all 0 for an empty set. top
 * (may be NULL) gets up to ntop (node, degree) pairs with the highest degree (ties: the
 * smaller node first), *ntop_out (may be NULL) their number. 0, or -1 on OOM. */
typedef struct graph_degree_stats {
    uint64_t nodes, links;
    uint32_t min, max;
    double mean, median;
} graph_degree_stats;
int graph_degrees(const graph_view *v, const roaring_bitmap_t *nodes, int dir,
                  graph_degree_stats *st, graph_hop *top, size_t ntop, size_t *ntop_out);

#endif
