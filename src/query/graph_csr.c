/*
 * graph_csr.c — a compressed adjacency (CSR) built from an edge list, and views over it
 * restricted to a set of labels. See graph.h. Layer: query (uses util and CRoaring).
 *
 * Layout, per direction d (0 = out: links to the edge's `to`; 1 = in: links to `from`):
 *   gbeg[d][v] .. gbeg[d][v+1]   the groups of node v, one per label present at v,
 *                                labels strictly ascending
 *   grp[d][i] = {label, start, n} the links links[d][start, start + n), all of that
 *                                label, sorted by (node, edge)
 *   links[d]                     the m links, grouped by node, then label
 * A view's spans() is then a walk over the node's groups that skips the labels outside
 * the view: no allocation, no search through the links.
 *
 * Invariants
 *  1. The groups of a node are contiguous, each has n >= 1, their labels strictly ascend,
 *     and their link ranges follow one another without gaps; groups of node v+1 start
 *     where those of v end (checked by csr_check in debug builds).
 *  2. Every link's node is < node_limit; every direction holds exactly m links.
 *  3. Building sorts each node's bucket by (label, node, edge): counting sort by node
 *     first (one pass, stable), then insertion sort for small buckets and qsort for hubs.
 */
#include "query/graph.h"

#include <math.h>
#include <roaring/roaring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct csr_group {
    uint32_t label;
    uint32_t start;
    uint32_t n;
} csr_group;

struct graph_csr {
    uint32_t node_limit;
    uint32_t m;
    uint32_t ngroups[2];
    uint32_t *gbeg[2]; /* node_limit + 1 entries */
    csr_group *grp[2];
    graph_link *links[2];
};

/* One edge in a node's bucket while building: the sort key (label, node, edge). */
typedef struct csr_tmp {
    uint32_t label;
    uint32_t node;
    uint32_t edge;
} csr_tmp;

#define CSR_INSERTION_MAX 24 /* buckets up to this size: insertion sort (most nodes) */

/* Traversals read gbeg, grp and links at random: arrays of several MiB ask for
 * transparent huge pages, saving a TLB miss per access (the same hint as in graph.c;
 * without THP nothing changes). */
static void *csr_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
#ifdef MADV_HUGEPAGE
    if (p && n >= ((size_t)4 << 20)) {
        uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)4095;
        if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
    }
#endif
    return p;
}

static int tmp_less(const csr_tmp *a, const csr_tmp *b)
{
    if (a->label != b->label) return a->label < b->label;
    if (a->node != b->node) return a->node < b->node;
    return a->edge < b->edge;
}

static int tmp_cmp(const void *pa, const void *pb)
{
    const csr_tmp *a = pa, *b = pb;
    return tmp_less(a, b) ? -1 : tmp_less(b, a) ? 1 : 0;
}

static void bucket_sort(csr_tmp *t, size_t n)
{
    if (n > CSR_INSERTION_MAX) {
        qsort(t, n, sizeof *t, tmp_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        csr_tmp x = t[i];
        size_t j = i;
        while (j > 0 && tmp_less(&x, &t[j - 1])) {
            t[j] = t[j - 1];
            j--;
        }
        t[j] = x;
    }
}

/* Counting sort of the edges by src into tmp; pos[v] ends as the end of v's bucket. */
static void csr_bucket(uint32_t node_limit, const uint32_t *src, const uint32_t *dst,
                       const uint32_t *label, const uint32_t *edge, size_t m, csr_tmp *tmp,
                       uint32_t *pos)
{
    memset(pos, 0, ((size_t)node_limit + 1) * sizeof *pos);
    for (size_t i = 0; i < m; i++) pos[src[i] + 1]++;
    for (size_t v = 0; v < node_limit; v++) pos[v + 1] += pos[v];
    STELE_ASSERT(pos[node_limit] == m);
    for (size_t i = 0; i < m; i++) {
        uint32_t at = pos[src[i]]++;
        tmp[at].label = label ? label[i] : 0;
        tmp[at].node = dst[i];
        tmp[at].edge = edge ? edge[i] : (uint32_t)i;
    }
    /* pos[v] is now the end of v's bucket (the start of v+1's). */
    STELE_ASSERT(node_limit == 0 || pos[node_limit - 1] == m);
}

/* Builds direction d from the edges src[i] -> dst[i]. 0, or -1 on OOM. */
static int csr_dir(graph_csr *g, int d, const uint32_t *src, const uint32_t *dst,
                   const uint32_t *label, const uint32_t *edge, csr_tmp *tmp, uint32_t *pos)
{
    uint32_t nl = g->node_limit, m = g->m;
    csr_bucket(nl, src, dst, label, edge, m, tmp, pos);
    uint32_t *gbeg = csr_alloc(((size_t)nl + 1) * sizeof *gbeg);
    if (!gbeg) return -1;
    g->gbeg[d] = gbeg;
    uint32_t ngroups = 0;
    for (uint32_t v = 0; v < nl; v++) {
        uint32_t b = v ? pos[v - 1] : 0, e = pos[v];
        bucket_sort(tmp + b, e - b);
        gbeg[v] = ngroups;
        for (uint32_t i = b; i < e; i++) ngroups += i == b || tmp[i].label != tmp[i - 1].label;
    }
    gbeg[nl] = ngroups;
    g->ngroups[d] = ngroups;
    g->grp[d] = csr_alloc((size_t)ngroups * sizeof *g->grp[d]);
    g->links[d] = csr_alloc((size_t)m * sizeof *g->links[d]);
    if (!g->grp[d] || !g->links[d]) return -1;
    csr_group *gr = g->grp[d];
    uint32_t gi = 0;
    for (uint32_t v = 0; v < nl; v++) {
        uint32_t b = v ? pos[v - 1] : 0, e = pos[v];
        for (uint32_t i = b; i < e; i++) {
            if (i == b || tmp[i].label != tmp[i - 1].label) {
                gr[gi++] = (csr_group){tmp[i].label, i, 0};
            }
            gr[gi - 1].n++;
            g->links[d][i] = (graph_link){tmp[i].node, tmp[i].edge};
        }
    }
    STELE_ASSERT(gi == ngroups);
    return 0;
}

#ifndef NDEBUG
/* The whole-structure check of invariants 1 and 2 (debug builds: O(m)). */
static void csr_check(const graph_csr *g)
{
    for (int d = 0; d < 2; d++) {
        uint32_t next = 0;
        for (uint32_t v = 0; v < g->node_limit; v++) {
            STELE_ASSERT(g->gbeg[d][v] <= g->gbeg[d][v + 1]);
            for (uint32_t i = g->gbeg[d][v]; i < g->gbeg[d][v + 1]; i++) {
                const csr_group *gr = &g->grp[d][i];
                STELE_ASSERT(gr->n >= 1 && gr->start == next);
                STELE_ASSERT(i == g->gbeg[d][v] || gr->label > g->grp[d][i - 1].label);
                const graph_link *l = g->links[d] + gr->start;
                for (uint32_t j = 0; j < gr->n; j++) {
                    STELE_ASSERT(l[j].node < g->node_limit);
                    STELE_ASSERT(j == 0 || l[j - 1].node < l[j].node ||
                                 (l[j - 1].node == l[j].node && l[j - 1].edge <= l[j].edge));
                }
                next += gr->n;
            }
        }
        STELE_ASSERT(next == g->m && g->gbeg[d][g->node_limit] == g->ngroups[d]);
    }
}
#endif

graph_csr *graph_csr_build(uint32_t node_limit, const uint32_t *from, const uint32_t *to,
                           const uint32_t *label, const uint32_t *edge, size_t m)
{
    STELE_ASSERT(m == 0 || (from && to));
    if (m >= UINT32_MAX) return NULL;
    for (size_t i = 0; i < m; i++) {
        if (from[i] >= node_limit || to[i] >= node_limit) return NULL;
    }
    graph_csr *g = calloc(1, sizeof *g);
    csr_tmp *tmp = malloc((m ? m : 1) * sizeof *tmp);
    uint32_t *pos = malloc(((size_t)node_limit + 1) * sizeof *pos);
    int rc = g && tmp && pos ? 0 : -1;
    if (g) {
        g->node_limit = node_limit;
        g->m = (uint32_t)m;
    }
    if (rc == 0) rc = csr_dir(g, 0, from, to, label, edge, tmp, pos);
    if (rc == 0) rc = csr_dir(g, 1, to, from, label, edge, tmp, pos);
    free(tmp);
    free(pos);
    if (rc != 0) {
        graph_csr_free(g);
        return NULL;
    }
#ifndef NDEBUG
    csr_check(g);
#endif
    return g;
}

void graph_csr_free(graph_csr *g)
{
    if (!g) return;
    for (int d = 0; d < 2; d++) {
        free(g->gbeg[d]);
        free(g->grp[d]);
        free(g->links[d]);
    }
    free(g);
}

static int label_in(const graph_csr_ctx *c, uint32_t label)
{
    if (!c->labels_sorted) {
        for (size_t i = 0; i < c->nlabels; i++) {
            if (c->labels[i] == label) return 1;
        }
        return 0;
    }
    size_t lo = 0, hi = c->nlabels;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->labels[mid] < label) lo = mid + 1;
        else hi = mid;
    }
    return lo < c->nlabels && c->labels[lo] == label;
}

static size_t csr_spans(void *ctx, uint32_t node, int dir, graph_span *out, size_t cap)
{
    const graph_csr_ctx *c = ctx;
    const graph_csr *g = c->g;
    STELE_ASSERT(dir == GRAPH_OUT || dir == GRAPH_IN);
    STELE_ASSERT(out || cap == 0);
    if (node >= g->node_limit) return 0;
    int d = dir == GRAPH_IN;
    size_t n = 0;
    for (uint32_t i = g->gbeg[d][node]; i < g->gbeg[d][node + 1]; i++) {
        const csr_group *gr = &g->grp[d][i];
        if (c->nlabels && !label_in(c, gr->label)) continue;
        if (n < cap) out[n] = (graph_span){g->links[d] + gr->start, gr->n, gr->label};
        n++;
    }
    return n;
}

static int csr_weight(void *ctx, uint32_t edge, double *w)
{
    const graph_csr_ctx *c = ctx;
    STELE_ASSERT(c->weights && w);
    if (edge >= c->nweights) return -1;
    double x = c->weights[edge];
    if (!isfinite(x) || x < 0) return -1; /* isfinite is false for NaN too */
    *w = x;
    return 0;
}

graph_view graph_csr_view(graph_csr_ctx *c, const graph_csr *g, const uint32_t *labels,
                          size_t nlabels, const double *weights, size_t nweights)
{
    STELE_ASSERT(c && g);
    STELE_ASSERT(labels || nlabels == 0);
    *c = (graph_csr_ctx){g, labels, labels ? nlabels : 0, 1, weights, weights ? nweights : 0};
    /* Few labels: a linear scan is as fast as a search; many sorted ones: binary search. */
    c->labels_sorted = c->nlabels > 8;
    for (size_t i = 1; i < c->nlabels && c->labels_sorted; i++) {
        c->labels_sorted = labels[i - 1] < labels[i];
    }
    graph_view v = {c, g->node_limit, csr_spans, weights ? csr_weight : NULL};
    return v;
}

roaring_bitmap_t *graph_csr_nodes(const graph_csr *g)
{
    STELE_ASSERT(g);
    roaring_bitmap_t *r = roaring_bitmap_create();
    if (!r) return NULL;
    enum { CHUNK = 1024 };
    uint32_t chunk[CHUNK];
    size_t n = 0;
    for (uint32_t v = 0; v < g->node_limit; v++) {
        if (g->gbeg[0][v] == g->gbeg[0][v + 1] && g->gbeg[1][v] == g->gbeg[1][v + 1]) continue;
        chunk[n++] = v;
        if (n == CHUNK) {
            roaring_bitmap_add_many(r, n, chunk);
            n = 0;
        }
    }
    roaring_bitmap_add_many(r, n, chunk);
    STELE_ASSERT(roaring_bitmap_get_cardinality(r) <= g->node_limit);
    return r;
}
