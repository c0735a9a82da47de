/*
 * graph_test.c — the graph algorithms (src/query/graph.c, graph_csr.c).
 *  1. Hand-made graphs with answers worked out by hand: a chain, a diamond, self-loops,
 *     two SCCs, DAGs, a cycle for topo, isolated nodes, labels, directions,
 *     include_start, depth limits, Dijkstra with a cheaper longer path and bad weights,
 *     and a 300K-node ring and chain (no recursion anywhere).
 *  2. A differential test against networkx (graph_oracle.py, run with /usr/bin/python3:
 *     the python3 on PATH may lack networkx): random uniform, skewed (hubs with huge
 *     in-degree, planted cycles) and acyclic graphs of up to a few thousand nodes, label
 *     filtered views, several seeds. Every answer is also checked on the C side for
 *     validity (paths follow edges, costs add up, orders are topological).
 *  3. GRAPH_BENCH=1: times SCC and k-hop on a synthetic call graph of 1.4M nodes and
 *     4.6M edges instead (never in CTest; prints, never asserts times).
 */
#include <math.h>
#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "query/graph.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Helpers ------------------------------------------------------------------------ */

/* A CSR from pairs {u0, v0, u1, v1, ...}, every edge label 0, edge i numbered i. */
static graph_csr *csr_pairs(uint32_t n, const uint32_t *pairs, size_t m)
{
    uint32_t *from = malloc((m + 1) * sizeof *from), *to = malloc((m + 1) * sizeof *to);
    for (size_t i = 0; i < m; i++) {
        from[i] = pairs[2 * i];
        to[i] = pairs[2 * i + 1];
    }
    graph_csr *g = graph_csr_build(n, from, to, NULL, NULL, m);
    free(from);
    free(to);
    return g;
}

static roaring_bitmap_t *bm(const uint32_t *a, size_t n) { return roaring_bitmap_of_ptr(n, a); }

static roaring_bitmap_t *bm_range(uint32_t n)
{
    roaring_bitmap_t *r = roaring_bitmap_create();
    roaring_bitmap_add_range(r, 0, n);
    return r;
}

/* graph_khop from `start` and compare nodes and distances with want[0, nwant). */
static int khop_is(const graph_view *v, graph_scratch *s, const uint32_t *start, size_t ns,
                   int dir, uint32_t depth, int incl, const graph_hop *want, size_t nwant)
{
    roaring_bitmap_t *st = bm(start, ns), *out = roaring_bitmap_create();
    roaring_bitmap_add(out, 12345); /* must be cleared */
    graph_hop *d = NULL;
    size_t nd = 0;
    int ok = graph_khop(v, s, st, dir, depth, incl, out, &d, &nd) == 0 && nd == nwant &&
             roaring_bitmap_get_cardinality(out) == nwant;
    for (size_t i = 0; ok && i < nwant; i++) {
        ok = d[i].node == want[i].node && d[i].dist == want[i].dist &&
             roaring_bitmap_contains(out, want[i].node);
    }
    /* the same without distances */
    ok = ok && graph_khop(v, s, st, dir, depth, incl, out, NULL, NULL) == 0 &&
         roaring_bitmap_get_cardinality(out) == nwant;
    free(d);
    roaring_bitmap_free(st);
    roaring_bitmap_free(out);
    return ok;
}

static int path_is(const uint32_t *p, size_t n, const uint32_t *want, size_t nwant)
{
    return p && n == nwant && memcmp(p, want, n * sizeof *p) == 0;
}

static int sp_is(const graph_view *v, graph_scratch *s, uint32_t a, uint32_t b, int dir,
                 const uint32_t *want, size_t nwant)
{
    uint32_t *p = NULL;
    size_t n = 0;
    int rc = graph_shortest_path(v, s, a, b, dir, &p, &n);
    int ok = want ? rc == 0 && path_is(p, n, want, nwant) : rc == 1 && !p && n == 0;
    free(p);
    return ok;
}

static int nb_is(const graph_view *v, graph_scratch *s, uint32_t node, int dir,
                 const uint32_t *want, size_t nwant)
{
    uint32_t out[64];
    size_t n = graph_neighbors(v, s, node, dir, out, N(out));
    int ok = n == nwant;
    for (size_t i = 0; ok && i < n; i++) ok = out[i] == want[i];
    return ok;
}

/* Collects the paths given by graph_paths / graph_cycles, flattened as n, nodes... */
typedef struct collect {
    uint32_t *a;
    size_t n, cap, count, stop_after;
} collect;

static int collect_fn(const uint32_t *nodes, size_t n, void *ctx)
{
    collect *c = ctx;
    if (util_grow((void **)&c->a, &c->cap, c->n + n + 1, sizeof *c->a)) abort();
    c->a[c->n++] = (uint32_t)n;
    memcpy(c->a + c->n, nodes, n * sizeof *nodes);
    c->n += n;
    c->count++;
    return c->stop_after && c->count >= c->stop_after;
}

/* Whether the collected paths are exactly `want` (flattened the same way). */
static int collected_is(const collect *c, const uint32_t *want, size_t nwant)
{
    return c->n == nwant && (nwant == 0 || memcmp(c->a, want, nwant * sizeof *want) == 0);
}

typedef struct env {
    graph_csr *g;
    graph_csr_ctx ctx;
    graph_view v;
    graph_scratch *s;
} env;

static int env_open(env *e, uint32_t n, const uint32_t *pairs, size_t m)
{
    e->g = csr_pairs(n, pairs, m);
    e->s = graph_scratch_new();
    if (!e->g || !e->s) return -1;
    e->v = graph_csr_view(&e->ctx, e->g, NULL, 0, NULL, 0);
    return 0;
}

static void env_close(env *e)
{
    graph_csr_free(e->g);
    graph_scratch_free(e->s);
}

/* ---- Hand-made graphs ---------------------------------------------------------------- */

static void test_chain(void)
{
    static const uint32_t E[] = {0, 1, 1, 2, 2, 3, 3, 4}; /* node 5 isolated */
    env e;
    REQUIRE(env_open(&e, 6, E, N(E) / 2) == 0, "build");
    const graph_view *v = &e.v;
    graph_scratch *s = e.s;
    CHECK(nb_is(v, s, 1, GRAPH_OUT, (uint32_t[]){2}, 1), "out neighbours");
    CHECK(nb_is(v, s, 1, GRAPH_IN, (uint32_t[]){0}, 1), "in neighbours");
    CHECK(nb_is(v, s, 1, GRAPH_BOTH, (uint32_t[]){0, 2}, 2), "both");
    CHECK(nb_is(v, s, 5, GRAPH_BOTH, NULL, 0) && nb_is(v, s, 99, GRAPH_BOTH, NULL, 0),
          "isolated and out-of-range nodes have no neighbours");
    uint32_t z = 0;
    CHECK(khop_is(v, s, &z, 1, GRAPH_OUT, 1, 0, (graph_hop[]){{1, 1}}, 1), "1 hop");
    CHECK(khop_is(v, s, &z, 1, GRAPH_OUT, 3, 0, (graph_hop[]){{1, 1}, {2, 2}, {3, 3}}, 3),
          "3 hops stop at depth 3");
    CHECK(khop_is(v, s, &z, 1, GRAPH_OUT, 100, 0,
                  (graph_hop[]){{1, 1}, {2, 2}, {3, 3}, {4, 4}}, 4), "deep");
    CHECK(khop_is(v, s, &z, 1, GRAPH_OUT, 0, 0, NULL, 0), "depth 0 without start: nothing");
    CHECK(khop_is(v, s, &z, 1, GRAPH_OUT, 0, 1, (graph_hop[]){{0, 0}}, 1), "depth 0: start");
    CHECK(khop_is(v, s, &z, 1, GRAPH_OUT, 2, 1, (graph_hop[]){{0, 0}, {1, 1}, {2, 2}}, 3),
          "include_start");
    CHECK(khop_is(v, s, (uint32_t[]){4}, 1, GRAPH_IN, 2, 0, (graph_hop[]){{2, 2}, {3, 1}}, 2),
          "in");
    CHECK(khop_is(v, s, (uint32_t[]){2}, 1, GRAPH_BOTH, 1, 0, (graph_hop[]){{1, 1}, {3, 1}},
                  2), "both, depth 1");
    CHECK(khop_is(v, s, (uint32_t[]){2}, 1, GRAPH_BOTH, 2, 0,
                  (graph_hop[]){{0, 2}, {1, 1}, {2, 2}, {3, 1}, {4, 2}}, 5),
          "both, depth 2: the start is met again, there and back");
    CHECK(khop_is(v, s, (uint32_t[]){2}, 1, GRAPH_BOTH, 2, 1,
                  (graph_hop[]){{0, 2}, {1, 1}, {2, 0}, {3, 1}, {4, 2}}, 5),
          "both, depth 2, include_start");
    CHECK(khop_is(v, s, (uint32_t[]){0, 99}, 2, GRAPH_OUT, 1, 1, (graph_hop[]){{0, 0}, {1, 1}},
                  2), "start nodes beyond node_limit are ignored");
    CHECK(graph_reachable(v, s, 0, 4, GRAPH_OUT, 0) == 1, "reachable, unbounded");
    CHECK(graph_reachable(v, s, 0, 4, GRAPH_OUT, 3) == 0, "not within 3");
    CHECK(graph_reachable(v, s, 0, 4, GRAPH_OUT, 4) == 1, "within 4");
    CHECK(graph_reachable(v, s, 4, 0, GRAPH_OUT, 0) == 0, "not against the edges");
    CHECK(graph_reachable(v, s, 4, 0, GRAPH_IN, 0) == 1, "in");
    CHECK(graph_reachable(v, s, 0, 5, GRAPH_BOTH, 0) == 0, "isolated");
    CHECK(graph_reachable(v, s, 2, 2, GRAPH_OUT, 1) == 1, "itself");
    CHECK(sp_is(v, s, 0, 4, GRAPH_OUT, (uint32_t[]){0, 1, 2, 3, 4}, 5), "path");
    CHECK(sp_is(v, s, 4, 0, GRAPH_OUT, NULL, 0), "no path against the edges");
    CHECK(sp_is(v, s, 4, 0, GRAPH_IN, (uint32_t[]){4, 3, 2, 1, 0}, 5), "path in");
    CHECK(sp_is(v, s, 3, 3, GRAPH_OUT, (uint32_t[]){3}, 1), "a == b");
    CHECK(sp_is(v, s, 0, 77, GRAPH_OUT, NULL, 0), "b out of range");

    roaring_bitmap_t *all = bm_range(6);
    uint32_t *order = NULL, *comp = NULL, ncomp = 0;
    size_t n = 0;
    CHECK(graph_topo(v, all, &order, &n) == 0 &&
          path_is(order, n, (uint32_t[]){0, 1, 2, 3, 4, 5}, 6), "topo");
    free(order);
    REQUIRE(graph_scc(v, all, &comp, &ncomp) == 0 && ncomp == 6, "scc: 6 singletons");
    CHECK(comp[0] == 4 && comp[1] == 3 && comp[2] == 2 && comp[3] == 1 && comp[4] == 0 &&
          comp[5] == 5, "numbered in completion order (sinks first)");
    free(comp);
    collect c = {0};
    CHECK(graph_cycles(v, all, 10, collect_fn, &c) == 0 && c.count == 0, "no cycles");
    graph_degree_stats st;
    graph_hop top[4];
    size_t ntop = 0;
    CHECK(graph_degrees(v, all, GRAPH_OUT, &st, top, 2, &ntop) == 0 && st.nodes == 6 &&
          st.links == 4 && st.min == 0 && st.max == 1 && fabs(st.mean - 4.0 / 6) < 1e-12 &&
          st.median == 1.0, "out degrees");
    CHECK(ntop == 2 && top[0].node == 0 && top[0].dist == 1 && top[1].node == 1, "top out");
    CHECK(graph_degrees(v, all, GRAPH_BOTH, &st, top, 3, &ntop) == 0 && st.links == 8 &&
          st.max == 2 && st.median == 1.5 && ntop == 3 && top[0].node == 1 &&
          top[1].node == 2 && top[2].node == 3 && top[2].dist == 2, "both degrees, median");
    roaring_bitmap_free(all);
    env_close(&e);
}

static void test_diamond_and_paths(void)
{
    static const uint32_t E[] = {0, 1, 0, 2, 1, 3, 2, 3};
    env e;
    REQUIRE(env_open(&e, 4, E, N(E) / 2) == 0, "build");
    const graph_view *v = &e.v;
    CHECK(sp_is(v, e.s, 0, 3, GRAPH_OUT, (uint32_t[]){0, 1, 3}, 3), "tie: smallest node");
    CHECK(sp_is(v, e.s, 3, 0, GRAPH_IN, (uint32_t[]){3, 1, 0}, 3), "tie, in");
    CHECK(sp_is(v, e.s, 2, 1, GRAPH_BOTH, (uint32_t[]){2, 0, 1}, 3), "both: via 0 before 3");
    uint32_t z = 0;
    CHECK(khop_is(v, e.s, &z, 1, GRAPH_OUT, 2, 0, (graph_hop[]){{1, 1}, {2, 1}, {3, 2}}, 3),
          "khop");
    collect c = {0};
    CHECK(graph_paths(v, 0, 3, GRAPH_OUT, 2, 100, collect_fn, &c) == 0 &&
          collected_is(&c, (uint32_t[]){3, 0, 1, 3, 3, 0, 2, 3}, 8), "two paths, in order");
    c.n = c.count = 0;
    CHECK(graph_paths(v, 0, 3, GRAPH_OUT, 1, 100, collect_fn, &c) == 0 && c.count == 0,
          "none within 1 hop");
    CHECK(graph_paths(v, 0, 3, GRAPH_OUT, 5, 1, collect_fn, &c) == 0 &&
          collected_is(&c, (uint32_t[]){3, 0, 1, 3}, 4), "max_paths");
    c.n = c.count = 0;
    c.stop_after = 1;
    CHECK(graph_paths(v, 0, 3, GRAPH_OUT, 5, 100, collect_fn, &c) == 0 && c.count == 1,
          "fn stops");
    c.n = c.count = c.stop_after = 0;
    CHECK(graph_paths(v, 3, 0, GRAPH_OUT, 5, 100, collect_fn, &c) == 0 && c.count == 0,
          "none against the edges");
    CHECK(graph_paths(v, 3, 0, GRAPH_IN, 5, 100, collect_fn, &c) == 0 &&
          collected_is(&c, (uint32_t[]){3, 3, 1, 0, 3, 3, 2, 0}, 8), "in");
    c.n = c.count = 0;
    CHECK(graph_paths(v, 1, 2, GRAPH_BOTH, 3, 100, collect_fn, &c) == 0 &&
          collected_is(&c, (uint32_t[]){3, 1, 0, 2, 3, 1, 3, 2}, 8), "both");
    c.n = c.count = 0;
    CHECK(graph_paths(v, 2, 2, GRAPH_OUT, 3, 100, collect_fn, &c) == 0 &&
          collected_is(&c, (uint32_t[]){1, 2}, 2), "a == b: [a]");
    free(c.a);
    env_close(&e);
}

/* Dijkstra on 0->3 (10) and 0->1->2->3 (1 each), edges numbered 7, 2, 5, 0. */
static void test_dijkstra(void)
{
    static const uint32_t from[] = {0, 0, 1, 2, 3}, to[] = {3, 1, 2, 3, 0};
    static const uint32_t edge[] = {7, 2, 5, 0, 4};
    double w[8] = {1, NAN, 1, NAN, NAN, 1, NAN, 10}; /* edge 4 (3->0): no weight */
    graph_csr *g = graph_csr_build(4, from, to, NULL, edge, 5);
    graph_scratch *s = graph_scratch_new();
    REQUIRE(g && s, "build");
    graph_csr_ctx ctx;
    graph_view v = graph_csr_view(&ctx, g, NULL, 0, w, N(w));
    uint32_t *p = NULL, bad = 0;
    size_t n = 0;
    double cost = -1;
    CHECK(graph_dijkstra(&v, 0, 3, GRAPH_OUT, &p, &n, &cost, &bad) == 0 &&
          path_is(p, n, (uint32_t[]){0, 1, 2, 3}, 4) && cost == 3,
          "cheaper longer path (the bad edge 3->0 is never met)");
    free(p);
    CHECK(sp_is(&v, s, 0, 3, GRAPH_OUT, (uint32_t[]){0, 3}, 2), "bfs takes the short one");
    CHECK(graph_dijkstra(&v, 3, 0, GRAPH_IN, &p, &n, &cost, &bad) == 0 &&
          path_is(p, n, (uint32_t[]){3, 2, 1, 0}, 4) && cost == 3, "in");
    free(p);
    CHECK(graph_dijkstra(&v, 2, 2, GRAPH_OUT, &p, &n, &cost, &bad) == 0 &&
          path_is(p, n, (uint32_t[]){2}, 1) && cost == 0, "a == b");
    free(p);
    CHECK(graph_dijkstra(&v, 3, 1, GRAPH_OUT, &p, &n, &cost, &bad) == -2 && bad == 4 && !p,
          "bad weight met: -2 and the edge");
    w[7] = -1;
    CHECK(graph_dijkstra(&v, 0, 3, GRAPH_OUT, &p, &n, &cost, &bad) == -2 && bad == 7,
          "negative weight");
    w[7] = INFINITY;
    CHECK(graph_dijkstra(&v, 0, 3, GRAPH_OUT, &p, &n, &cost, NULL) == -2, "infinite weight");
    w[7] = 10;
    v = graph_csr_view(&ctx, g, NULL, 0, w, 7); /* edge 7 beyond the weights */
    CHECK(graph_dijkstra(&v, 0, 3, GRAPH_OUT, &p, &n, &cost, &bad) == -2 && bad == 7,
          "edge number beyond nweights");
    v = graph_csr_view(&ctx, g, NULL, 0, NULL, 0);
    CHECK(v.weight == NULL && graph_dijkstra(&v, 0, 3, GRAPH_OUT, &p, &n, &cost, &bad) == -2 &&
          bad == GRAPH_NO_NODE, "no weights: refused");
    v = graph_csr_view(&ctx, g, NULL, 0, w, N(w));
    CHECK(graph_dijkstra(&v, 1, 0, GRAPH_OUT, &p, &n, &cost, &bad) == -2 && bad == 4,
          "1 -> 0 meets the bad edge at 3");
    w[4] = 0.5;
    CHECK(graph_dijkstra(&v, 1, 0, GRAPH_OUT, &p, &n, &cost, &bad) == 0 &&
          path_is(p, n, (uint32_t[]){1, 2, 3, 0}, 4) && cost == 2.5, "with a weight it is fine");
    free(p);
    graph_csr_free(g);
    graph_scratch_free(s);
}

/* Equal costs: nodes are settled in (cost, node) order and a predecessor changes only
 * for a strictly cheaper cost, whatever the edge or insertion order. */
static void test_dijkstra_ties(void)
{
    static const uint32_t from[] = {0, 0, 2, 1, 0}, to[] = {2, 1, 3, 3, 3};
    double w[] = {1, 1, 1, 1, 3};
    graph_csr *g = graph_csr_build(4, from, to, NULL, NULL, 5);
    REQUIRE(g, "build");
    graph_csr_ctx ctx;
    graph_view v = graph_csr_view(&ctx, g, NULL, 0, w, N(w));
    uint32_t *p = NULL;
    size_t n = 0;
    double cost = 0;
    CHECK(graph_dijkstra(&v, 0, 3, GRAPH_OUT, &p, &n, &cost, NULL) == 0 && cost == 2 &&
          path_is(p, n, (uint32_t[]){0, 1, 3}, 3), "via 1 or 2 at cost 2: 1 is settled first");
    free(p);
    CHECK(graph_dijkstra(&v, 3, 0, GRAPH_IN, &p, &n, &cost, NULL) == 0 && cost == 2 &&
          path_is(p, n, (uint32_t[]){3, 1, 0}, 3), "in: the same");
    free(p);
    w[4] = 2;
    CHECK(graph_dijkstra(&v, 0, 3, GRAPH_OUT, &p, &n, &cost, NULL) == 0 && cost == 2 &&
          path_is(p, n, (uint32_t[]){0, 3}, 2), "the direct edge ties: met first, kept");
    free(p);
    graph_csr_free(g);
}

static void test_cycles_and_sccs(void)
{
    /* A = {0,1,2}, B = {3,4}, 5 has a self-loop, 6 isolated but for 7 -> 6. */
    static const uint32_t E[] = {0, 1, 1, 2, 2, 0, 2, 3, 3, 4, 4, 3, 5, 5, 7, 6};
    env e;
    REQUIRE(env_open(&e, 8, E, N(E) / 2) == 0, "build");
    const graph_view *v = &e.v;
    roaring_bitmap_t *all = bm_range(8);
    uint32_t *comp = NULL, ncomp = 0;
    REQUIRE(graph_scc(v, all, &comp, &ncomp) == 0, "scc");
    static const uint32_t want[] = {1, 1, 1, 0, 0, 2, 3, 4};
    CHECK(ncomp == 5 && memcmp(comp, want, sizeof want) == 0, "components in completion order");
    free(comp);
    roaring_bitmap_t *part = bm((uint32_t[]){0, 1, 3, 4, 5}, 5);
    REQUIRE(graph_scc(v, part, &comp, &ncomp) == 0, "scc of a subset");
    CHECK(ncomp == 4 && comp[0] != comp[1] && comp[3] == comp[4] && comp[2] == GRAPH_NO_NODE &&
          comp[6] == GRAPH_NO_NODE, "links leaving the set are ignored");
    free(comp);
    collect c = {0};
    CHECK(graph_cycles(v, all, 10, collect_fn, &c) == 0 &&
          collected_is(&c, (uint32_t[]){3, 0, 1, 2, 2, 3, 4, 1, 5}, 9), "cycles");
    c.n = c.count = 0;
    CHECK(graph_cycles(v, all, 2, collect_fn, &c) == 0 && c.count == 2, "max_cycles");
    c.n = c.count = 0;
    CHECK(graph_cycles(v, part, 10, collect_fn, &c) == 0 &&
          collected_is(&c, (uint32_t[]){2, 3, 4, 1, 5}, 5), "cycles of a subset");
    free(c.a);
    CHECK(nb_is(v, e.s, 5, GRAPH_BOTH, (uint32_t[]){5}, 1), "a self-loop: its own neighbour");
    CHECK(khop_is(v, e.s, (uint32_t[]){5}, 1, GRAPH_OUT, 1, 0, (graph_hop[]){{5, 1}}, 1),
          "start met again through its self-loop");
    uint32_t z = 0;
    CHECK(khop_is(v, e.s, &z, 1, GRAPH_OUT, 2, 0, (graph_hop[]){{1, 1}, {2, 2}}, 2),
          "cycle not closed within 2");
    CHECK(khop_is(v, e.s, &z, 1, GRAPH_OUT, 3, 0, (graph_hop[]){{0, 3}, {1, 1}, {2, 2}, {3, 3}},
                  4), "start met again at 3");
    CHECK(khop_is(v, e.s, &z, 1, GRAPH_OUT, 3, 1, (graph_hop[]){{0, 0}, {1, 1}, {2, 2}, {3, 3}},
                  4), "include_start: distance 0");
    CHECK(khop_is(v, e.s, (uint32_t[]){0, 1}, 2, GRAPH_OUT, 1, 0,
                  (graph_hop[]){{1, 1}, {2, 1}}, 2), "a start reached from another start");
    uint32_t *order = NULL;
    size_t n = 7;
    CHECK(graph_topo(v, all, &order, &n) == 1 && !order && n == 0, "topo of a cycle: 1");
    roaring_bitmap_t *five = bm((uint32_t[]){5}, 1);
    CHECK(graph_topo(v, five, &order, &n) == 1, "a self-loop is a cycle");
    roaring_bitmap_t *dag = bm((uint32_t[]){0, 1, 3, 6, 7}, 5);
    CHECK(graph_topo(v, dag, &order, &n) == 0 && path_is(order, n, (uint32_t[]){0, 1, 3, 7, 6}, 5),
          "smallest ready node first");
    free(order);
    collect pc = {0};
    CHECK(graph_paths(v, 0, 3, GRAPH_BOTH, 4, 100, collect_fn, &pc) == 0 &&
          collected_is(&pc, (uint32_t[]){4, 0, 1, 2, 3, 3, 0, 2, 3}, 9), "simple paths, both");
    free(pc.a);
    roaring_bitmap_free(all);
    roaring_bitmap_free(part);
    roaring_bitmap_free(five);
    roaring_bitmap_free(dag);
    env_close(&e);
}

static void test_topo_kahn(void)
{
    static const uint32_t E[] = {3, 1, 2, 1, 0, 3, 4, 4};
    env e;
    REQUIRE(env_open(&e, 6, E, N(E) / 2) == 0, "build");
    roaring_bitmap_t *set = bm((uint32_t[]){0, 1, 2, 3, 5}, 5);
    uint32_t *order = NULL;
    size_t n = 0;
    CHECK(graph_topo(&e.v, set, &order, &n) == 0 &&
          path_is(order, n, (uint32_t[]){0, 2, 3, 1, 5}, 5), "kahn, smallest first");
    free(order);
    roaring_bitmap_add(set, 4);
    CHECK(graph_topo(&e.v, set, &order, &n) == 1 && !order, "4's self-loop");
    roaring_bitmap_t *empty = roaring_bitmap_create();
    CHECK(graph_topo(&e.v, empty, &order, &n) == 0 && n == 0, "empty set");
    free(order);
    uint32_t *comp = NULL, ncomp = 9;
    CHECK(graph_scc(&e.v, empty, &comp, &ncomp) == 0 && ncomp == 0 && comp[0] == GRAPH_NO_NODE,
          "scc of nothing");
    free(comp);
    graph_degree_stats st;
    size_t ntop = 9;
    CHECK(graph_degrees(&e.v, empty, GRAPH_IN, &st, NULL, 0, &ntop) == 0 && st.nodes == 0 &&
          st.max == 0 && st.median == 0 && ntop == 0, "degrees of nothing");
    roaring_bitmap_free(set);
    roaring_bitmap_free(empty);
    env_close(&e);
}

static void test_labels(void)
{
    static const uint32_t from[] = {0, 0, 0, 0, 4, 0}, to[] = {1, 2, 3, 3, 0, 3};
    static const uint32_t label[] = {1, 2, 1, 2, 3, 1}; /* 0 -> 3 twice with label 1 */
    graph_csr *g = graph_csr_build(6, from, to, label, NULL, 6);
    graph_scratch *s = graph_scratch_new();
    REQUIRE(g && s, "build");
    graph_csr_ctx ctx;
    graph_view v = graph_csr_view(&ctx, g, NULL, 0, NULL, 0);
    graph_span sp[4];
    CHECK(v.spans(v.ctx, 0, GRAPH_OUT, sp, 4) == 2 && sp[0].label == 1 && sp[1].label == 2,
          "one span per label, labels ascending");
    CHECK(sp[0].n == 3 && sp[0].links[0].node == 1 && sp[0].links[1].node == 3 &&
          sp[0].links[1].edge == 2 && sp[0].links[2].edge == 5 && sp[1].n == 2 &&
          sp[1].links[0].node == 2, "links sorted by (node, edge)");
    CHECK(v.spans(v.ctx, 0, GRAPH_OUT, sp, 1) == 2, "count beyond cap");
    CHECK(v.spans(v.ctx, 0, GRAPH_IN, sp, 4) == 1 && sp[0].label == 3 && sp[0].n == 1 &&
          sp[0].links[0].node == 4 && sp[0].links[0].edge == 4, "in span");
    CHECK(nb_is(&v, s, 0, GRAPH_OUT, (uint32_t[]){1, 2, 3}, 3), "parallel edges: once");
    uint32_t one[] = {1}, two[] = {2}, both[] = {2, 1}, three[] = {3}, none[] = {9};
    v = graph_csr_view(&ctx, g, one, 1, NULL, 0);
    CHECK(nb_is(&v, s, 0, GRAPH_OUT, (uint32_t[]){1, 3}, 2), "label 1");
    CHECK(nb_is(&v, s, 0, GRAPH_IN, NULL, 0), "label 1: nothing in");
    CHECK(khop_is(&v, s, (uint32_t[]){4}, 1, GRAPH_OUT, 5, 0, NULL, 0), "4 -> 0 is label 3");
    CHECK(khop_is(&v, s, (uint32_t[]){0}, 1, GRAPH_OUT, 5, 0, (graph_hop[]){{1, 1}, {3, 1}}, 2),
          "khop in a label view");
    CHECK(khop_is(&v, s, (uint32_t[]){0}, 1, GRAPH_BOTH, 5, 0,
                  (graph_hop[]){{0, 2}, {1, 1}, {3, 1}}, 3), "both: 0 again, there and back");
    v = graph_csr_view(&ctx, g, two, 1, NULL, 0);
    CHECK(nb_is(&v, s, 0, GRAPH_OUT, (uint32_t[]){2, 3}, 2), "label 2");
    v = graph_csr_view(&ctx, g, both, 2, NULL, 0);
    CHECK(nb_is(&v, s, 0, GRAPH_OUT, (uint32_t[]){1, 2, 3}, 3), "labels 2, 1");
    v = graph_csr_view(&ctx, g, three, 1, NULL, 0);
    CHECK(nb_is(&v, s, 0, GRAPH_BOTH, (uint32_t[]){4}, 1), "label 3");
    v = graph_csr_view(&ctx, g, none, 1, NULL, 0);
    CHECK(nb_is(&v, s, 0, GRAPH_BOTH, NULL, 0), "unknown label");
    roaring_bitmap_t *nodes = graph_csr_nodes(g);
    CHECK(nodes && roaring_bitmap_get_cardinality(nodes) == 5 &&
          !roaring_bitmap_contains(nodes, 5), "nodes with links");
    roaring_bitmap_free(nodes);
    CHECK(graph_csr_build(4, from, to, label, NULL, 6) == NULL, "node out of range: NULL");
    graph_csr_free(g);
    graph_scratch_free(s);
}

/* Node 0 has 40 labels (more spans than a scratch starts with); views with 20 labels
 * sorted (binary search) and unsorted (scan). */
static void test_many_labels(void)
{
    uint32_t from[80], to[80], label[80], sorted[20], rev[20], want[40];
    for (uint32_t i = 0; i < 40; i++) {
        from[i] = 0, to[i] = i + 1, label[i] = 100 + i;
        from[40 + i] = i + 1, to[40 + i] = 0, label[40 + i] = 100 + i; /* and back */
        want[i] = i + 1;
    }
    for (uint32_t i = 0; i < 20; i++) sorted[i] = 101 + 2 * i, rev[19 - i] = 101 + 2 * i;
    graph_csr *g = graph_csr_build(41, from, to, label, NULL, 80);
    graph_scratch *s = graph_scratch_new();
    REQUIRE(g && s, "build");
    graph_csr_ctx ctx;
    graph_view v = graph_csr_view(&ctx, g, NULL, 0, NULL, 0);
    CHECK(nb_is(&v, s, 0, GRAPH_BOTH, want, 40), "80 spans");
    roaring_bitmap_t *all = bm_range(41);
    graph_degree_stats st;
    CHECK(graph_degrees(&v, all, GRAPH_BOTH, &st, NULL, 0, NULL) == 0 && st.max == 80 &&
          st.links == 160, "degree through 80 spans");
    uint32_t odd[20];
    for (uint32_t i = 0; i < 20; i++) odd[i] = 2 + 2 * i;
    v = graph_csr_view(&ctx, g, sorted, 20, NULL, 0);
    CHECK(nb_is(&v, s, 0, GRAPH_OUT, odd, 20), "20 sorted labels");
    v = graph_csr_view(&ctx, g, rev, 20, NULL, 0);
    CHECK(nb_is(&v, s, 0, GRAPH_OUT, odd, 20), "20 unsorted labels");
    uint32_t *comp = NULL, ncomp = 0;
    CHECK(graph_scc(&v, all, &comp, &ncomp) == 0 && ncomp == 21 && comp[2] == comp[0] &&
          comp[1] != comp[0], "scc through a label view");
    free(comp);
    roaring_bitmap_free(all);
    graph_csr_free(g);
    graph_scratch_free(s);
}

static void test_neighbors_cap(void)
{
    static const uint32_t E[] = {0, 5, 0, 3, 0, 3, 0, 1, 4, 0, 2, 0, 0, 2};
    env e;
    REQUIRE(env_open(&e, 6, E, N(E) / 2) == 0, "build");
    uint32_t out[3] = {99, 99, 99};
    CHECK(graph_neighbors(&e.v, e.s, 0, GRAPH_BOTH, out, 2) == 5 && out[0] == 1 &&
          out[1] == 2 && out[2] == 99, "count beyond cap, only cap written, ascending");
    CHECK(graph_neighbors(&e.v, e.s, 0, GRAPH_OUT, NULL, 0) == 4, "out: 1 2 3 5");
    env_close(&e);
}

/* 300K nodes on a ring and on a chain: a recursive SCC or DFS would overflow the stack. */
static void test_long_ring_and_chain(void)
{
    enum { NODES = 300000 };
    uint32_t *from = malloc(NODES * sizeof *from), *to = malloc(NODES * sizeof *to);
    REQUIRE(from && to, "alloc");
    for (uint32_t i = 0; i < NODES; i++) from[i] = i, to[i] = (i + 1) % NODES;
    graph_csr *ring = graph_csr_build(NODES, from, to, NULL, NULL, NODES);
    graph_csr *chain = graph_csr_build(NODES, from, to, NULL, NULL, NODES - 1);
    graph_scratch *s = graph_scratch_new();
    REQUIRE(ring && chain && s, "build");
    graph_csr_ctx rc, cc;
    graph_view rv = graph_csr_view(&rc, ring, NULL, 0, NULL, 0);
    graph_view cv = graph_csr_view(&cc, chain, NULL, 0, NULL, 0);
    roaring_bitmap_t *all = bm_range(NODES);
    uint32_t *comp = NULL, ncomp = 0;
    CHECK(graph_scc(&rv, all, &comp, &ncomp) == 0 && ncomp == 1, "ring: one component");
    free(comp);
    CHECK(graph_scc(&cv, all, &comp, &ncomp) == 0 && ncomp == NODES && comp[0] == NODES - 1 &&
          comp[NODES - 1] == 0, "chain: all singletons");
    free(comp);
    collect c = {0};
    CHECK(graph_cycles(&rv, all, 5, collect_fn, &c) == 0 && c.count == 1 && c.a[0] == NODES &&
          c.a[1] == 0 && c.a[NODES] == NODES - 1, "the ring is one cycle");
    c.n = c.count = 0;
    CHECK(graph_paths(&cv, 0, NODES - 1, GRAPH_OUT, NODES, 5, collect_fn, &c) == 0 &&
          c.count == 1 && c.a[0] == NODES, "one path down the chain");
    free(c.a);
    uint32_t *order = NULL, *p = NULL;
    size_t n = 0;
    CHECK(graph_topo(&cv, all, &order, &n) == 0 && n == NODES && order[NODES - 1] == NODES - 1,
          "topo of the chain");
    free(order);
    CHECK(graph_shortest_path(&rv, s, 1, 0, GRAPH_OUT, &p, &n) == 0 && n == NODES, "long path");
    free(p);
    roaring_bitmap_t *start = bm((uint32_t[]){0}, 1), *out = roaring_bitmap_create();
    CHECK(graph_khop(&rv, s, start, GRAPH_OUT, GRAPH_DEPTH_MAX, 0, out, NULL, NULL) == 0 &&
          roaring_bitmap_get_cardinality(out) == NODES, "khop all around, start met again");
    CHECK(graph_khop(&cv, s, start, GRAPH_IN, 5, 0, out, NULL, NULL) == 0 &&
          roaring_bitmap_get_cardinality(out) == 0, "nothing before the head");
    roaring_bitmap_free(start);
    roaring_bitmap_free(out);
    roaring_bitmap_free(all);
    graph_csr_free(ring);
    graph_csr_free(chain);
    graph_scratch_free(s);
    free(from);
    free(to);
}


/* ---- Differential test against networkx ---------------------------------------------- */

enum { KIND_UNIFORM, KIND_SKEWED, KIND_DAG, KIND_SMALL, KINDS };
static const char *const KIND_NAME[] = {"uniform", "skewed", "dag", "small"};

/* A random graph: edges numbered by a random permutation of 0..m-1, weights by edge
 * number (multiples of 1/4, so every sum is exact), three labels, and a view of some
 * of them. */
typedef struct tgraph {
    int kind;
    uint32_t n;
    size_t m, cap;
    uint32_t *from, *to, *label, *edge;
    double *w;
    uint32_t labels[2];
    size_t nlabels;
    roaring_bitmap_t *set; /* the node set of scc/cycles/topo/degrees */
} tgraph;

enum { Q_NB, Q_KHOP, Q_SP, Q_DIJ, Q_PATHS, Q_SCC, Q_CYCLES, Q_TOPO, Q_DEG };

typedef struct tquery {
    int op, dir, incl;
    uint32_t depth, a, b, ns, start[3];
} tquery;

static uint32_t rnd(uint32_t n) { return (uint32_t)(test_rand() % n); }
static double rnd01(void) { return (double)(test_rand() >> 11) / 9007199254740992.0; }

static void tg_add(tgraph *g, uint32_t u, uint32_t v)
{
    if (g->m == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 256;
        g->from = realloc(g->from, g->cap * sizeof *g->from);
        g->to = realloc(g->to, g->cap * sizeof *g->to);
        g->label = realloc(g->label, g->cap * sizeof *g->label);
        if (!g->from || !g->to || !g->label) abort();
    }
    g->from[g->m] = u;
    g->to[g->m] = v;
    g->label[g->m] = rnd(3);
    g->m++;
}

/* A target: uniform, or (skewed) one of a few hubs or power-law towards small numbers. */
static uint32_t tg_target(const tgraph *g, const uint32_t *hub)
{
    uint32_t r = rnd(100);
    if (g->kind == KIND_UNIFORM || g->kind == KIND_SMALL || r < 30) return rnd(g->n);
    if (r < 65) return hub[rnd(4)];
    return (uint32_t)(g->n * pow(rnd01(), 3));
}

static void tg_generate(tgraph *g, int kind)
{
    memset(g, 0, sizeof *g);
    g->kind = kind;
    g->n = kind == KIND_SMALL ? 8 + rnd(30) : 50 + rnd(2950);
    uint32_t hub[4], *rank = malloc(g->n * sizeof *rank);
    if (!rank) abort();
    for (int i = 0; i < 4; i++) hub[i] = rnd(g->n);
    for (uint32_t i = 0; i < g->n; i++) rank[i] = i;
    for (uint32_t i = g->n - 1; i > 0; i--) { /* a random order for the DAG */
        uint32_t j = rnd(i + 1), t = rank[i];
        rank[i] = rank[j], rank[j] = t;
    }
    size_t m = (size_t)g->n * (kind == KIND_SMALL ? 3 : 2 + rnd(4));
    for (size_t i = 0; i < m; i++) {
        uint32_t u = rnd(g->n), v = tg_target(g, hub);
        if (kind == KIND_DAG) {
            if (u == v) continue;
            if (rank[u] > rank[v]) u ^= v, v ^= u, u ^= v;
        }
        tg_add(g, u, v);
    }
    for (uint32_t i = 0; kind != KIND_DAG && i < 3 + g->n / 100; i++) { /* self-loops */
        uint32_t u = rnd(g->n);
        tg_add(g, u, u);
    }
    for (int c = 0; kind == KIND_SKEWED && c < 10; c++) { /* planted cycles */
        uint32_t len = 2 + rnd(7), first = rnd(g->n), u = first;
        for (uint32_t k = 1; k < len; k++) {
            uint32_t v = rnd(g->n);
            tg_add(g, u, v);
            u = v;
        }
        tg_add(g, u, first);
    }
    free(rank);
    g->edge = malloc((g->m + 1) * sizeof *g->edge);
    g->w = malloc((g->m + 1) * sizeof *g->w);
    if (!g->edge || !g->w) abort();
    for (size_t i = 0; i < g->m; i++) g->edge[i] = (uint32_t)i, g->w[i] = rnd(41) / 4.0;
    for (size_t i = g->m; i > 1; i--) {
        size_t j = rnd((uint32_t)i);
        uint32_t t = g->edge[i - 1];
        g->edge[i - 1] = g->edge[j], g->edge[j] = t;
    }
    int pick = rnd(3); /* the view: every label, {0, 2} or {1} */
    if (pick == 1) g->labels[0] = 0, g->labels[1] = 2, g->nlabels = 2;
    if (pick == 2) g->labels[0] = 1, g->nlabels = 1;
    g->set = roaring_bitmap_create();
    for (uint32_t i = 0; i < g->n; i++) {
        if (kind == KIND_DAG || rnd(10) != 0) roaring_bitmap_add(g->set, i);
    }
    roaring_bitmap_add(g->set, g->n + 3); /* beyond node_limit: ignored */
}

static void tg_free(tgraph *g)
{
    free(g->from);
    free(g->to);
    free(g->label);
    free(g->edge);
    free(g->w);
    roaring_bitmap_free(g->set);
}

static int tg_in_view(const tgraph *g, size_t i)
{
    if (g->nlabels == 0) return 1;
    for (size_t k = 0; k < g->nlabels; k++) {
        if (g->labels[k] == g->label[i]) return 1;
    }
    return 0;
}

static uint32_t tg_node(const tgraph *g)
{
    return rnd(2) || g->m == 0 ? rnd(g->n) : g->to[rnd((uint32_t)g->m)]; /* hubs more often */
}

static size_t tg_queries(const tgraph *g, tquery *q)
{
    size_t n = 0;
    for (int i = 0; i < 10; i++) q[n++] = (tquery){.op = Q_NB, .dir = 1 + rnd(3), .a = tg_node(g)};
    for (int i = 0; i < 25; i++) {
        tquery k = {.op = Q_KHOP, .dir = 1 + rnd(3), .incl = rnd(2), .ns = 1 + rnd(3)};
        k.depth = rnd(8) == 0 ? 50 : rnd(7);
        for (uint32_t j = 0; j < k.ns; j++) k.start[j] = tg_node(g);
        q[n++] = k;
    }
    for (int i = 0; i < 25; i++) {
        uint32_t a = tg_node(g), b = rnd(10) == 0 ? a : tg_node(g);
        q[n++] = (tquery){.op = Q_SP, .dir = 1 + rnd(3), .a = a, .b = b, .depth = rnd(6)};
        q[n++] = (tquery){.op = Q_DIJ, .dir = 1 + rnd(3), .a = tg_node(g), .b = tg_node(g)};
    }
    for (int i = 0; g->kind == KIND_SMALL && i < 12; i++) {
        uint32_t a = rnd(g->n), b = rnd(g->n);
        if (a == b) b = (a + 1) % g->n;
        q[n++] = (tquery){.op = Q_PATHS, .dir = 1 + rnd(3), .a = a, .b = b, .depth = 1 + rnd(6)};
    }
    q[n++] = (tquery){.op = Q_SCC};
    q[n++] = (tquery){.op = Q_CYCLES};
    q[n++] = (tquery){.op = Q_TOPO};
    q[n++] = (tquery){.op = Q_DEG, .dir = 1 + rnd(3), .a = 1 + rnd(12)};
    q[n++] = (tquery){.op = Q_DEG, .dir = 1 + rnd(3), .a = 1 + rnd(12)};
    return n;
}

static void tg_write(FILE *f, const tgraph *g, const tquery *q, size_t nq)
{
    fprintf(f, "graph %u\n", g->n);
    for (size_t i = 0; i < g->m; i++) {
        if (tg_in_view(g, i)) fprintf(f, "e %u %u %.17g\n", g->from[i], g->to[i], g->w[g->edge[i]]);
    }
    fprintf(f, "set");
    roaring_uint32_iterator_t *it = roaring_create_iterator(g->set);
    for (; it->has_value && it->current_value < g->n; roaring_advance_uint32_iterator(it)) {
        fprintf(f, " %u", it->current_value);
    }
    roaring_free_uint32_iterator(it);
    fprintf(f, "\n");
    static const char *const OP[] = {"nb", "khop", "sp", "dij", "paths", "scc", "cycles", "topo",
                                     "deg"};
    for (size_t i = 0; i < nq; i++) {
        const tquery *x = &q[i];
        fprintf(f, "q %s", OP[x->op]);
        if (x->op == Q_NB) fprintf(f, " %d %u", x->dir, x->a);
        if (x->op == Q_KHOP) {
            fprintf(f, " %d %u %d %u", x->dir, x->depth, x->incl, x->ns);
            for (uint32_t j = 0; j < x->ns; j++) fprintf(f, " %u", x->start[j]);
        }
        if (x->op == Q_SP || x->op == Q_DIJ) fprintf(f, " %d %u %u", x->dir, x->a, x->b);
        if (x->op == Q_PATHS) fprintf(f, " %d %u %u %u", x->dir, x->a, x->b, x->depth);
        if (x->op == Q_DEG) fprintf(f, " %d %u", x->dir, x->a);
        fprintf(f, "\n");
    }
}

/* ---- Reading the oracle's answers ---- */

typedef struct rd {
    char *p;
    int bad; /* ran out of tokens or met a malformed one */
} rd;

static const char *rd_tok(rd *r)
{
    while (*r->p == ' ' || *r->p == '\n') r->p++;
    if (!*r->p) {
        r->bad = 1;
        return "";
    }
    char *t = r->p;
    while (*r->p && *r->p != ' ' && *r->p != '\n') r->p++;
    if (*r->p) *r->p++ = 0;
    return t;
}

static long long rd_int(rd *r)
{
    const char *t = rd_tok(r);
    char *end;
    long long x = strtoll(t, &end, 10);
    if (end == t || *end) r->bad = 1;
    return x;
}

/* Reads count n then n ints into a fresh array (freed by the caller). */
static uint32_t *rd_list(rd *r, size_t n)
{
    uint32_t *a = malloc((n + 1) * sizeof *a);
    if (!a) abort();
    for (size_t i = 0; i < n; i++) a[i] = (uint32_t)rd_int(r);
    return a;
}

/* ---- Checking one graph ---- */

typedef struct ekey {
    uint64_t key;
    double w; /* the cheapest of the parallel edges */
} ekey;

typedef struct tcheck {
    const tgraph *g;
    graph_view v;
    graph_scratch *s;
    ekey *ek; /* the view's edges, sorted, parallel ones merged */
    size_t nek;
    int gi;
} tcheck;

static int ekey_cmp(const void *a, const void *b)
{
    const ekey *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

static void tc_edges(tcheck *c)
{
    const tgraph *g = c->g;
    c->ek = malloc((g->m + 1) * sizeof *c->ek);
    if (!c->ek) abort();
    size_t n = 0;
    for (size_t i = 0; i < g->m; i++) {
        if (!tg_in_view(g, i)) continue;
        c->ek[n++] = (ekey){(uint64_t)g->from[i] << 32 | g->to[i], g->w[g->edge[i]]};
    }
    qsort(c->ek, n, sizeof *c->ek, ekey_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && c->ek[k - 1].key == c->ek[i].key) {
            if (c->ek[i].w < c->ek[k - 1].w) c->ek[k - 1].w = c->ek[i].w;
        } else {
            c->ek[k++] = c->ek[i];
        }
    }
    c->nek = k;
}

/* The cheapest weight of a step x -> y in direction dir, NAN if there is no such link. */
static double tc_step(const tcheck *c, int dir, uint32_t x, uint32_t y)
{
    double best = NAN;
    for (int d = 1; d <= 2; d++) {
        if (!(dir & d)) continue;
        ekey k = {d == 1 ? (uint64_t)x << 32 | y : (uint64_t)y << 32 | x, 0};
        const ekey *e = bsearch(&k, c->ek, c->nek, sizeof k, ekey_cmp);
        if (e && !(e->w >= best)) best = e->w;
    }
    return best;
}

static int tc_nb(tcheck *c, const tquery *q, rd *r)
{
    size_t n = (size_t)rd_int(r);
    uint32_t *want = rd_list(r, n), *got = malloc((c->g->n + 1) * sizeof *got);
    size_t k = graph_neighbors(&c->v, c->s, q->a, q->dir, got, c->g->n);
    int ok = k == n && memcmp(got, want, n * sizeof *got) == 0;
    free(want);
    free(got);
    return ok;
}

static int tc_khop(tcheck *c, const tquery *q, rd *r)
{
    size_t n = (size_t)rd_int(r);
    uint32_t *want = rd_list(r, 2 * n);
    roaring_bitmap_t *st = bm(q->start, q->ns), *out = roaring_bitmap_create();
    graph_hop *d = NULL;
    size_t nd = 0;
    int ok = graph_khop(&c->v, c->s, st, q->dir, q->depth, q->incl, out, &d, &nd) == 0 &&
             nd == n && roaring_bitmap_get_cardinality(out) == n;
    for (size_t i = 0; ok && i < n; i++) {
        ok = d[i].node == want[2 * i] && d[i].dist == want[2 * i + 1] &&
             roaring_bitmap_contains(out, d[i].node);
    }
    free(want);
    free(d);
    roaring_bitmap_free(st);
    roaring_bitmap_free(out);
    return ok;
}

static int tc_sp(tcheck *c, const tquery *q, rd *r)
{
    long long len = rd_int(r);
    uint32_t *want = rd_list(r, len >= 0 ? (size_t)len + 1 : 0), *p = NULL;
    size_t n = 0;
    int rc = graph_shortest_path(&c->v, c->s, q->a, q->b, q->dir, &p, &n);
    int ok = len < 0 ? rc == 1 && !p : rc == 0 && path_is(p, n, want, (size_t)len + 1);
    int reach = len >= 0 && (q->depth == 0 || len <= q->depth);
    ok = ok && graph_reachable(&c->v, c->s, q->a, q->b, q->dir, q->depth) == reach;
    free(want);
    free(p);
    return ok;
}

static int tc_dij(tcheck *c, const tquery *q, rd *r)
{
    const char *t = rd_tok(r);
    int none = strcmp(t, "none") == 0;
    double want = none ? 0 : strtod(t, NULL), cost = -1, sum = 0;
    uint32_t *p = NULL, bad = 0;
    size_t n = 0;
    int rc = graph_dijkstra(&c->v, q->a, q->b, q->dir, &p, &n, &cost, &bad);
    int ok = none ? rc == 1 && !p : rc == 0 && cost == want && n >= 1 && p[0] == q->a &&
                                        p[n - 1] == q->b;
    for (size_t i = 1; ok && !none && i < n; i++) { /* the path adds up to the cost */
        double w = tc_step(c, q->dir, p[i - 1], p[i]);
        ok = !isnan(w);
        sum += w;
    }
    free(p);
    return ok && (none || sum == cost);
}

static int tc_paths(tcheck *c, const tquery *q, rd *r)
{
    size_t n = (size_t)rd_int(r);
    collect want = {0}, got = {0};
    for (size_t i = 0; i < n && !r->bad; i++) {
        size_t len = (size_t)rd_int(r);
        uint32_t *p = rd_list(r, len);
        collect_fn(p, len, &want);
        free(p);
    }
    int ok = graph_paths(&c->v, q->a, q->b, q->dir, q->depth, 1000000, collect_fn, &got) == 0 &&
             got.count == n && got.n == want.n &&
             (n == 0 || memcmp(got.a, want.a, want.n * sizeof *want.a) == 0);
    free(want.a);
    free(got.a);
    return ok;
}

static int tc_scc(tcheck *c, rd *r)
{
    uint32_t ncomp = 0, *comp = NULL, n = c->g->n;
    size_t nc = (size_t)rd_int(r);
    if (graph_scc(&c->v, c->g->set, &comp, &ncomp) != 0) return 0;
    uint32_t *size = calloc(ncomp + 1, sizeof *size);
    int ok = ncomp == nc;
    for (uint32_t i = 0; i < n; i++) {
        int in = roaring_bitmap_contains(c->g->set, i);
        ok = ok && (in ? comp[i] < ncomp : comp[i] == GRAPH_NO_NODE);
        if (ok && in) size[comp[i]]++;
    }
    for (size_t k = 0; k < nc && !r->bad; k++) { /* each oracle component is one of ours */
        size_t len = (size_t)rd_int(r);
        uint32_t *m = rd_list(r, len);
        for (size_t i = 0; ok && i < len; i++) ok = m[i] < n && comp[m[i]] == comp[m[0]];
        ok = ok && len > 0 && size[comp[m[0]]] == len;
        free(m);
    }
    for (size_t i = 0; ok && i < c->nek; i++) { /* completion order: sinks first */
        uint32_t u = (uint32_t)(c->ek[i].key >> 32), v = (uint32_t)c->ek[i].key;
        if (comp[u] != GRAPH_NO_NODE && comp[v] != GRAPH_NO_NODE && comp[u] != comp[v]) {
            ok = comp[u] > comp[v];
        }
    }
    free(size);
    free(comp);
    return ok;
}

static int tc_cycles(tcheck *c, rd *r)
{
    size_t n = (size_t)rd_int(r);
    collect want = {0}, got = {0};
    for (size_t i = 0; i < n && !r->bad; i++) {
        size_t len = (size_t)rd_int(r);
        uint32_t *p = rd_list(r, len);
        collect_fn(p, len, &want);
        free(p);
    }
    int ok = graph_cycles(&c->v, c->g->set, SIZE_MAX, collect_fn, &got) == 0 &&
             got.count == n && got.n == want.n &&
             (n == 0 || memcmp(got.a, want.a, want.n * sizeof *want.a) == 0);
    for (size_t i = 0; ok && i < got.n; i += got.a[i] + 1) { /* each one closes */
        size_t len = got.a[i];
        for (size_t k = 0; ok && k < len; k++) {
            ok = !isnan(tc_step(c, GRAPH_OUT, got.a[i + 1 + k], got.a[i + 1 + (k + 1) % len]));
        }
    }
    free(want.a);
    free(got.a);
    return ok;
}

static int tc_topo(tcheck *c, rd *r)
{
    const char *t = rd_tok(r);
    uint32_t *order = NULL;
    size_t n = 0;
    int rc = graph_topo(&c->v, c->g->set, &order, &n);
    if (strcmp(t, "cycle") == 0) return rc == 1 && !order;
    size_t want_n = (size_t)strtoull(t, NULL, 10);
    uint32_t *want = rd_list(r, want_n), *pos = malloc((c->g->n + 1) * sizeof *pos);
    int ok = rc == 0 && path_is(order, n, want, want_n);
    memset(pos, 0xff, (c->g->n + 1) * sizeof *pos);
    for (size_t i = 0; ok && i < n; i++) pos[order[i]] = (uint32_t)i;
    for (size_t i = 0; ok && i < c->nek; i++) { /* valid on its own, too */
        uint32_t u = (uint32_t)(c->ek[i].key >> 32), v = (uint32_t)c->ek[i].key;
        if (pos[u] != UINT32_MAX && pos[v] != UINT32_MAX) ok = pos[u] < pos[v];
    }
    free(want);
    free(pos);
    free(order);
    return ok;
}

static int tc_deg(tcheck *c, const tquery *q, rd *r)
{
    long long k = rd_int(r), links = rd_int(r), mn = rd_int(r), mx = rd_int(r);
    double mean = strtod(rd_tok(r), NULL), median = strtod(rd_tok(r), NULL);
    size_t nt = (size_t)rd_int(r);
    uint32_t *want = rd_list(r, 2 * nt);
    graph_hop top[16];
    size_t ntop = 99;
    graph_degree_stats st;
    int ok = graph_degrees(&c->v, c->g->set, q->dir, &st, top, q->a, &ntop) == 0 &&
             (long long)st.nodes == k && (long long)st.links == links && st.min == mn &&
             st.max == mx && fabs(st.mean - mean) <= 1e-9 * (1 + mean) && st.median == median &&
             ntop == nt;
    for (size_t i = 0; ok && i < nt; i++) {
        ok = top[i].node == want[2 * i] && top[i].dist == want[2 * i + 1];
    }
    free(want);
    return ok;
}

static int tc_query(tcheck *c, const tquery *q, rd *r)
{
    switch (q->op) {
    case Q_NB: return tc_nb(c, q, r);
    case Q_KHOP: return tc_khop(c, q, r);
    case Q_SP: return tc_sp(c, q, r);
    case Q_DIJ: return tc_dij(c, q, r);
    case Q_PATHS: return tc_paths(c, q, r);
    case Q_SCC: return tc_scc(c, r);
    case Q_CYCLES: return tc_cycles(c, r);
    case Q_TOPO: return tc_topo(c, r);
    default: return tc_deg(c, q, r);
    }
}

static void tg_check(const tgraph *g, int gi, const tquery *q, size_t nq, rd *r,
                     graph_scratch *s)
{
    graph_csr *csr = graph_csr_build(g->n, g->from, g->to, g->label, g->edge, g->m);
    REQUIRE(csr, "graph %d: build", gi);
    graph_csr_ctx ctx;
    tcheck c = {.g = g, .s = s, .gi = gi};
    c.v = graph_csr_view(&ctx, csr, g->nlabels ? g->labels : NULL, g->nlabels, g->w, g->m);
    tc_edges(&c);
    static const char *const OP[] = {"nb", "khop", "sp", "dij", "paths", "scc", "cycles", "topo",
                                     "deg"};
    for (size_t i = 0; i < nq && !r->bad; i++) {
        int ok = tc_query(&c, &q[i], r);
        CHECK(ok && !r->bad, "graph %d (%s, %u nodes, %zu edges): query %zu (%s dir %d a %u b %u "
              "depth %u incl %d) differs from networkx", gi, KIND_NAME[g->kind], g->n, g->m, i,
              OP[q[i].op], q[i].dir, q[i].a, q[i].b, q[i].depth, q[i].incl);
    }
    CHECK(!r->bad, "graph %d: the oracle's answer is short or malformed", gi);
    free(c.ek);
    graph_csr_free(csr);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b;
    buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(&b, chunk, n)) abort();
    }
    fclose(f);
    return buf_detach(&b);
}

/* Runs /usr/bin/python3 graph_oracle.py in out. 0, or -1 with the reason printed. */
static int run_oracle(const char *in, const char *out)
{
    const char *td = getenv("STELE_TESTDATA");
    char script[1024], cmd[4096];
    if (!td) {
        test_fail(__FILE__, __LINE__, "STELE_TESTDATA is not set (CTest sets it to <repo>/tests)");
        return -1;
    }
    snprintf(script, sizeof script, "%s/unit/graph_oracle.py", td);
    if (access("/usr/bin/python3", X_OK) != 0) {
        test_fail(__FILE__, __LINE__, "/usr/bin/python3 is missing: the networkx oracle needs it "
                  "(scripts/bootstrap.sh installs python3-networkx)");
        return -1;
    }
    if (access(script, R_OK) != 0) {
        test_fail(__FILE__, __LINE__, "cannot read the oracle \"%s\"", script);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s'", script, in, out);
    int st = system(cmd);
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 3) {
        test_fail(__FILE__, __LINE__, "networkx is missing for /usr/bin/python3: install "
                  "python3-networkx (scripts/bootstrap.sh does)");
        return -1;
    }
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        test_fail(__FILE__, __LINE__, "the oracle failed (status %d): %s", st, cmd);
        return -1;
    }
    return 0;
}

enum { ORACLE_GRAPHS = 16, QUERIES_MAX = 160 };

static void test_networkx_oracle(void)
{
    static tgraph g[ORACLE_GRAPHS];
    static tquery q[ORACLE_GRAPHS][QUERIES_MAX];
    size_t nq[ORACLE_GRAPHS];
    const char *dir = test_tmpdir();
    char in[600], out[600];
    snprintf(in, sizeof in, "%s/graphs.txt", dir);
    snprintf(out, sizeof out, "%s/answers.txt", dir);
    FILE *f = fopen(in, "w");
    REQUIRE(f, "create %s", in);
    test_seed();
    for (int i = 0; i < ORACLE_GRAPHS; i++) {
        tg_generate(&g[i], i % KINDS);
        nq[i] = tg_queries(&g[i], q[i]);
        STELE_ASSERT(nq[i] <= QUERIES_MAX);
        tg_write(f, &g[i], q[i], nq[i]);
    }
    REQUIRE(fclose(f) == 0, "write %s", in);
    char *text = NULL;
    if (run_oracle(in, out) == 0) text = read_all(out);
    CHECK(text, "no answers from the oracle");
    graph_scratch *s = graph_scratch_new(); /* one scratch for every graph: it must grow */
    rd r = {text, 0};
    for (int i = 0; text && s && i < ORACLE_GRAPHS && !r.bad; i++) {
        tg_check(&g[i], i, q[i], nq[i], &r, s);
    }
    for (int i = 0; i < ORACLE_GRAPHS; i++) tg_free(&g[i]);
    graph_scratch_free(s);
    free(text);
}

/* ---- GRAPH_BENCH=1: timings on a synthetic call graph ---------------------------------- */

static uint64_t bench_rng = 0x9e3779b97f4a7c15ull;

static uint32_t brnd(uint32_t n)
{
    bench_rng ^= bench_rng << 13;
    bench_rng ^= bench_rng >> 7;
    bench_rng ^= bench_rng << 17;
    return (uint32_t)(bench_rng % n);
}

/* 1.4M functions, 4.6M calls: 30% to a neighbour in the same "module" (a fifth of them
 * backwards, which makes cycles), 50% to popular functions (rank^4: a few hubs with tens of
 * thousands of callers), 20% anywhere; labels 70/20/10%. */
static graph_csr *bench_graph(uint32_t n, size_t m)
{
    uint32_t *from = malloc(m * sizeof *from), *to = malloc(m * sizeof *to);
    uint32_t *label = malloc(m * sizeof *label), *perm = malloc(n * sizeof *perm);
    if (!from || !to || !label || !perm) abort();
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = brnd(i + 1), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (size_t i = 0; i < m; i++) {
        uint32_t u = brnd(n), r = brnd(100), v;
        if (r < 30) v = brnd(5) ? (u + 1 + brnd(32)) % n : (u + n - 1 - brnd(32)) % n;
        else if (r < 80) v = perm[(uint32_t)(n * pow(brnd(1u << 30) / (double)(1u << 30), 4))];
        else v = brnd(n);
        uint32_t l = brnd(10);
        from[i] = u, to[i] = v, label[i] = l < 7 ? 0 : l < 9 ? 1 : 2;
    }
    graph_csr *g = graph_csr_build(n, from, to, label, NULL, m);
    free(from);
    free(to);
    free(label);
    free(perm);
    return g;
}

/* Thread CPU time: on a shared machine wall time also counts the time spent descheduled
 * (the bench prints both). */
static uint64_t cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void bench_khop(const graph_view *v, graph_scratch *s, const uint32_t *starts, size_t n,
                       int dir, uint32_t depth)
{
    uint64_t *ns = malloc(n * sizeof *ns), *sizes = malloc(n * sizeof *sizes);
    uint64_t *cpu = malloc(n * sizeof *cpu);
    roaring_bitmap_t *st = roaring_bitmap_create(), *out = roaring_bitmap_create();
    for (size_t i = 0; i < n; i++) {
        roaring_bitmap_clear(st);
        roaring_bitmap_add(st, starts[i]);
        uint64_t c0 = cpu_ns(), t0 = util_mono_ns();
        if (graph_khop(v, s, st, dir, depth, 0, out, NULL, NULL) != 0) abort();
        ns[i] = util_mono_ns() - t0;
        cpu[i] = cpu_ns() - c0;
        sizes[i] = roaring_bitmap_get_cardinality(out);
    }
    qsort(ns, n, sizeof *ns, u64_cmp);
    qsort(cpu, n, sizeof *cpu, u64_cmp);
    qsort(sizes, n, sizeof *sizes, u64_cmp);
    printf("khop %s depth %u: wall p50 %.1f p99 %.1f us, cpu p50 %.1f p99 %.1f us (result p50 "
           "%llu, p99 %llu nodes)\n", dir == GRAPH_OUT ? "out" : dir == GRAPH_IN ? "in " : "both",
           depth, ns[n / 2] / 1e3, ns[n * 99 / 100] / 1e3, cpu[n / 2] / 1e3,
           cpu[n * 99 / 100] / 1e3, (unsigned long long)sizes[n / 2],
           (unsigned long long)sizes[n * 99 / 100]);
    free(ns);
    free(cpu);
    free(sizes);
    roaring_bitmap_free(st);
    roaring_bitmap_free(out);
}

static void bench_neighbors(const graph_view *v, graph_scratch *s, const uint32_t *starts,
                            size_t n)
{
    uint64_t *ns = malloc(n * sizeof *ns);
    uint32_t out[256];
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = util_mono_ns();
        size_t k = graph_neighbors(v, s, starts[i], GRAPH_OUT, out, 256);
        ns[i] = util_mono_ns() - t0;
        if (k == SIZE_MAX) abort();
    }
    qsort(ns, n, sizeof *ns, u64_cmp);
    printf("graph_neighbors out: p50 %.2f us  p99 %.2f us\n", ns[n / 2] / 1e3,
           ns[n * 99 / 100] / 1e3);
    free(ns);
}

static void bench(void)
{
    enum { NODES = 1400000, STARTS = 2000 };
    const size_t edges = 4600000;
    uint64_t t0 = util_mono_ns();
    graph_csr *g = bench_graph(NODES, edges);
    REQUIRE(g, "build");
    printf("generate + build CSR (%u nodes, %zu edges): %.0f ms\n", NODES, edges,
           (util_mono_ns() - t0) / 1e6);
    graph_csr_ctx ctx;
    graph_view v = graph_csr_view(&ctx, g, NULL, 0, NULL, 0);
    roaring_bitmap_t *nodes = graph_csr_nodes(g);
    uint32_t *comp = NULL, ncomp = 0;
    uint64_t c0 = cpu_ns();
    t0 = util_mono_ns();
    REQUIRE(graph_scc(&v, nodes, &comp, &ncomp) == 0, "scc");
    double scc_ms = (util_mono_ns() - t0) / 1e6, scc_cpu_ms = (cpu_ns() - c0) / 1e6;
    uint32_t *size = calloc(ncomp, sizeof *size), largest = 0;
    for (uint32_t i = 0; i < NODES; i++) {
        if (comp[i] != GRAPH_NO_NODE && ++size[comp[i]] > largest) largest = size[comp[i]];
    }
    printf("scc over %llu nodes: wall %.0f ms, cpu %.0f ms (%u components, largest %u)\n",
           (unsigned long long)roaring_bitmap_get_cardinality(nodes), scc_ms, scc_cpu_ms, ncomp,
           largest);
    free(size);
    free(comp);
    graph_scratch *s = graph_scratch_new();
    uint32_t starts[STARTS];
    for (size_t i = 0; i < STARTS; i++) starts[i] = brnd(NODES);
    bench_khop(&v, s, starts, 50, GRAPH_BOTH, 3); /* warm-up: the scratch grows once */
    bench_neighbors(&v, s, starts, STARTS);
    for (int dir = GRAPH_OUT; dir <= GRAPH_IN; dir++) {
        for (uint32_t depth = 1; depth <= 5; depth += 2) {
            bench_khop(&v, s, starts, STARTS, dir, depth);
        }
    }
    graph_scratch_free(s);
    roaring_bitmap_free(nodes);
    graph_csr_free(g);
}

int main(void)
{
    if (getenv("GRAPH_BENCH")) {
        TEST_RUN(bench);
        return test_summary();
    }
    TEST_RUN(test_chain);
    TEST_RUN(test_diamond_and_paths);
    TEST_RUN(test_dijkstra);
    TEST_RUN(test_dijkstra_ties);
    TEST_RUN(test_cycles_and_sccs);
    TEST_RUN(test_topo_kahn);
    TEST_RUN(test_labels);
    TEST_RUN(test_many_labels);
    TEST_RUN(test_neighbors_cap);
    TEST_RUN(test_long_ring_and_chain);
    TEST_RUN(test_networkx_oracle);
    return test_summary();
}
