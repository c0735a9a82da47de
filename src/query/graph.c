/*
 * graph.c — the algorithms of graph.h over any graph_view: neighbours, k-hop,
 * reachability, shortest paths (BFS, Dijkstra), bounded simple paths, and the
 * whole-set algorithms: strongly connected components (iterative Tarjan, in Pearce's
 * space-efficient form), cycles, topological order (Kahn), degrees. Layer: query (uses
 * util and CRoaring; views come from graph_csr.c or the api layer).
 *
 * Working memory (graph_scratch)
 *   mark[node]  {epoch, dist}: node was met by the current traversal iff
 *               mark.epoch == epoch, and then dist is its level. Starting a traversal is
 *               `epoch++`; the array is cleared only when the epoch wraps to 0.
 *   queue       the BFS order: the start nodes, then every node met, level after level,
 *               so one level is one slice of it (frontier at a time); node_limit + the
 *               number of start nodes entries.
 *   buf, aux    sort buffers (results go to Roaring sorted, through add_many).
 *   sb          a span buffer (SPANS_INIT spans: a node with more labels grows it).
 * Everything only grows: a query no larger than an earlier one allocates nothing.
 * Whole-set algorithms (SCC, cycles, topo) first copy the induced subgraph into flat
 * arrays indexed by node number (see `sub`); they allocate per call.
 *
 * Where the time goes (1.4M nodes, 4.6M edges): cache and TLB misses, not instructions.
 * Hence a BFS fetches the spans of a batch of frontier nodes before reading their links
 * (overlapping the misses of different nodes), SCC keeps one number per node next to its
 * adjacency offset, set membership is a bitset small enough to stay cached, and big
 * arrays read at random ask for huge pages (huge_hint).
 *
 * Invariants
 *  1. No recursion. A BFS runs at most min(depth, GRAPH_DEPTH_MAX) levels and appends
 *     each node at most once after its start slice (the queue bound is asserted); the
 *     path DFS holds at most max_len + 1 frames.
 *  2. mark[w].epoch == epoch  <=>  w was met in the current traversal; then mark[w].dist
 *     is the fewest hops from the starting frontier (BFS levels complete in order).
 *  3. Deterministic: wherever there is a choice, the smallest node number wins.
 *  4. SCC: while a node is open its rindex is its DFS index (< the open count + 1); once
 *     its component completes it is the component's number, counted down from k - 1, so
 *     it compares greater than every open index (no on-stack flag needed). The node
 *     stack and the call stack each hold at most k entries (asserted).
 *  5. Errors: OOM is the only failure (-1); nothing here asserts on the shape of the
 *     data (graphs may come from users), only on what the code itself guarantees.
 */
#include "query/graph.h"

#include <math.h>
#include <roaring/roaring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NONE UINT32_MAX
#define SPANS_INIT 16 /* spans a new buffer holds: 16 labels per node and direction */
#define SORT_SMALL 48 /* insertion sort up to this many, LSD radix sort above */

typedef struct graph_mark {
    uint32_t epoch;
    uint32_t dist;
} graph_mark;

/* A growable array of spans, with a cursor per span for merging. */
typedef struct spanbuf {
    graph_span *span;
    uint32_t *cur;
    size_t cap;
} spanbuf;

struct graph_scratch {
    graph_mark *mark;
    size_t mark_cap;
    uint32_t epoch;
    uint32_t *queue;
    size_t queue_cap;
    uint32_t *buf, *aux;
    size_t buf_cap, aux_cap;
    spanbuf sb;
};

/* ---- Big arrays ---------------------------------------------------------------------
 * Arrays of several MiB read at random (per-node state, adjacency) ask for transparent
 * huge pages: with 4 KiB pages each random access is a TLB miss on top of the cache
 * miss (measured: about 15% of the SCC time on 1.4M nodes). A hint only: without THP,
 * or elsewhere than Linux, nothing changes. The interior of the block is advised, so
 * malloc and realloc'd blocks qualify. */
#define BIG_BYTES ((size_t)4 << 20)

static void huge_hint(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    if (!p || n < BIG_BYTES) return;
    uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
    uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)4095;
    if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

static void *big_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    huge_hint(p, n);
    return p;
}

/* ---- Spans and sorting ------------------------------------------------------------ */

static int spanbuf_reserve(spanbuf *b, size_t need)
{
    STELE_ASSERT(b && b->cap <= SIZE_MAX / 2);
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : SPANS_INIT;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof(graph_span)) return -1;
        cap *= 2;
    }
    graph_span *sp = realloc(b->span, cap * sizeof *sp);
    if (!sp) return -1;
    b->span = sp;
    uint32_t *cur = realloc(b->cur, cap * sizeof *cur);
    if (!cur) return -1;
    b->cur = cur;
    b->cap = cap;
    STELE_ASSERT(b->cap >= need);
    return 0;
}

static void spanbuf_release(spanbuf *b)
{
    free(b->span);
    free(b->cur);
    memset(b, 0, sizeof *b);
}

/* The spans of node in dir (OUT, IN or BOTH: the OUT spans first) into b->span[at, *n),
 * growing b for a node with more spans than it holds. 0, or -1 on OOM. */
static int node_spans_at(const graph_view *v, spanbuf *b, size_t at, uint32_t node, int dir,
                         size_t *n)
{
    STELE_ASSERT(dir >= GRAPH_OUT && dir <= GRAPH_BOTH);
    STELE_ASSERT(b->span && b->cap > 0 && at <= b->cap);
    size_t have = at;
    for (int d = GRAPH_OUT; d <= GRAPH_IN; d++) {
        if (!(dir & d)) continue;
        size_t got = v->spans(v->ctx, node, d, b->span + have, b->cap - have);
        if (got > b->cap - have) {
            if (spanbuf_reserve(b, have + got)) return -1;
            size_t again = v->spans(v->ctx, node, d, b->span + have, b->cap - have);
            STELE_ASSERT(again == got);
        }
        have += got;
    }
    *n = have;
    return 0;
}

static int node_spans(const graph_view *v, spanbuf *b, uint32_t node, int dir, size_t *n)
{
    return node_spans_at(v, b, 0, node, dir, n);
}

static size_t span_total(const spanbuf *b, size_t ns)
{
    size_t t = 0;
    for (size_t i = 0; i < ns; i++) t += b->span[i].n;
    return t;
}

/* Sorts a[0, n) ascending; tmp (n entries, may be NULL when n <= SORT_SMALL) is scratch. */
static void sort_u32(uint32_t *a, size_t n, uint32_t *tmp)
{
    if (n <= SORT_SMALL) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = a[i];
            size_t j = i;
            for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    STELE_ASSERT(tmp && tmp != a);
    size_t cnt[4][256];
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) {
        uint32_t x = a[i];
        cnt[0][x & 255]++;
        cnt[1][(x >> 8) & 255]++;
        cnt[2][(x >> 16) & 255]++;
        cnt[3][x >> 24]++;
    }
    uint32_t *src = a, *dst = tmp;
    for (int byte = 0; byte < 4; byte++) {
        size_t *c = cnt[byte];
        int shift = 8 * byte;
        if (c[(src[0] >> shift) & 255] == n) continue; /* one value of this byte: no pass */
        size_t sum = 0;
        for (int i = 0; i < 256; i++) {
            size_t t = c[i];
            c[i] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++) dst[c[(src[i] >> shift) & 255]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
}

/* The distinct nodes of the spans b->span[0, ns), ascending, into out[0, cap); returns
 * how many there are (may exceed cap). */
static size_t merge_spans(spanbuf *b, size_t ns, uint32_t *out, size_t cap)
{
    STELE_ASSERT(ns <= b->cap && (out || cap == 0));
    size_t total = span_total(b, ns), count = 0;
    uint32_t last = 0;
    for (size_t i = 0; i < ns; i++) b->cur[i] = 0;
    /* A k-way merge of sorted spans (k = labels times directions: small); one link per
     * step, so `total` steps. */
    for (size_t step = 0; step < total; step++) {
        size_t best = SIZE_MAX;
        uint32_t bw = 0;
        for (size_t i = 0; i < ns; i++) {
            if (b->cur[i] == b->span[i].n) continue;
            uint32_t w = b->span[i].links[b->cur[i]].node;
            if (best == SIZE_MAX || w < bw) {
                best = i;
                bw = w;
            }
        }
        STELE_ASSERT(best != SIZE_MAX);
        b->cur[best]++;
        if (count == 0 || bw != last) {
            STELE_ASSERT(count == 0 || bw > last);
            if (count < cap) out[count] = bw;
            count++;
            last = bw;
        }
    }
    return count;
}

/* ---- Scratch ---------------------------------------------------------------------- */

graph_scratch *graph_scratch_new(void)
{
    graph_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (spanbuf_reserve(&s->sb, SPANS_INIT)) {
        graph_scratch_free(s);
        return NULL;
    }
    STELE_ASSERT(s->epoch == 0 && s->mark_cap == 0);
    return s;
}

void graph_scratch_free(graph_scratch *s)
{
    if (!s) return;
    free(s->mark);
    free(s->queue);
    free(s->buf);
    free(s->aux);
    spanbuf_release(&s->sb);
    free(s);
}

/* Starts a traversal over node_limit nodes with a queue of at least `queue` entries:
 * afterwards no node is marked. 0, or -1 on OOM. */
static int scratch_begin(graph_scratch *s, uint32_t node_limit, size_t queue)
{
    if (s->mark_cap < node_limit) {
        size_t old = s->mark_cap;
        if (util_grow((void **)&s->mark, &s->mark_cap, node_limit, sizeof *s->mark)) return -1;
        huge_hint(s->mark, s->mark_cap * sizeof *s->mark);
        memset(s->mark + old, 0, (s->mark_cap - old) * sizeof *s->mark);
    }
    if (util_grow((void **)&s->queue, &s->queue_cap, queue, sizeof *s->queue)) return -1;
    if (++s->epoch == 0) { /* wrapped: marks 2^32 traversals old would look current */
        if (s->mark_cap) memset(s->mark, 0, s->mark_cap * sizeof *s->mark);
        s->epoch = 1;
    }
    STELE_ASSERT(s->epoch != 0 && s->mark_cap >= node_limit && s->queue_cap >= queue);
    return 0;
}

static int sort_reserve(graph_scratch *s, size_t n)
{
    if (util_grow((void **)&s->buf, &s->buf_cap, n, sizeof *s->buf)) return -1;
    if (util_grow((void **)&s->aux, &s->aux_cap, n, sizeof *s->aux)) return -1;
    return 0;
}

static inline int seen(const graph_scratch *s, uint32_t w) { return s->mark[w].epoch == s->epoch; }

static inline void mark(graph_scratch *s, uint32_t w, uint32_t dist)
{
    s->mark[w].epoch = s->epoch;
    s->mark[w].dist = dist;
}

static int rev_dir(int dir) { return dir == GRAPH_BOTH ? dir : GRAPH_BOTH - dir; }

/* Breadth-first from the frontier queue[head, *tail), level after level, for at most
 * depth levels: every node met for the first time is marked with its level and
 * appended. Stops as soon as `stop` is met (NONE: never). 1 if stop was met, 0 if
 * not, -1 on OOM; *tail is the end of the queue in every case.
 * The spans of BFS_BATCH frontier nodes are fetched before any of their links is read:
 * each node costs a chain of dependent cache misses inside spans(), and batching lets
 * the CPU overlap the chains of different nodes. The order of discovery is unchanged. */
#define BFS_BATCH 16

static int bfs_batch(const graph_view *v, graph_scratch *s, int dir, uint32_t level,
                     size_t head, size_t end, size_t *tail, uint32_t stop)
{
    size_t ns = 0, t = *tail;
    for (size_t h = head; h < end; h++) {
        if (node_spans_at(v, &s->sb, ns, s->queue[h], dir, &ns)) return -1;
    }
    for (size_t i = 0; i < ns; i++) {
        const graph_link *l = s->sb.span[i].links;
        for (uint32_t j = 0, n = s->sb.span[i].n; j < n; j++) {
            uint32_t w = l[j].node;
            STELE_ASSERT(w < v->node_limit);
            if (seen(s, w)) continue;
            mark(s, w, level);
            STELE_ASSERT(t < s->queue_cap);
            s->queue[t++] = w;
            if (w == stop) {
                *tail = t;
                return 1;
            }
        }
    }
    *tail = t;
    return 0;
}

static int bfs(const graph_view *v, graph_scratch *s, int dir, uint32_t depth, size_t head,
               size_t *tail, uint32_t stop)
{
    STELE_ASSERT(depth <= GRAPH_DEPTH_MAX && head <= *tail);
    int rc = 0;
    for (uint32_t level = 1; level <= depth && head < *tail && rc == 0; level++) {
        size_t end = *tail; /* this level: queue[head, end) */
        while (head < end && rc == 0) {
            size_t stop_at = end - head > BFS_BATCH ? head + BFS_BATCH : end;
            rc = bfs_batch(v, s, dir, level, head, stop_at, tail, stop);
            head = stop_at;
        }
    }
    return rc;
}

/* ---- Neighbours, k-hop, reachability ------------------------------------------------ */

size_t graph_neighbors(const graph_view *v, graph_scratch *s, uint32_t node, int dir,
                       uint32_t *out, size_t cap)
{
    STELE_ASSERT(v && s && (out || cap == 0));
    STELE_ASSERT(dir >= GRAPH_OUT && dir <= GRAPH_BOTH);
    if (node >= v->node_limit) return 0;
    size_t ns;
    if (node_spans(v, &s->sb, node, dir, &ns)) return SIZE_MAX;
    return merge_spans(&s->sb, ns, out, cap);
}

/* The khop answer: queue[first, tail) (distinct nodes), sorted, into out and *dist. */
static int khop_result(graph_scratch *s, size_t first, size_t tail, roaring_bitmap_t *out,
                       graph_hop **dist, size_t *ndist)
{
    STELE_ASSERT(first <= tail && tail <= s->queue_cap);
    size_t n = tail - first;
    if (sort_reserve(s, n)) return -1;
    if (n) { /* buf may still be NULL: nothing found so far */
        memcpy(s->buf, s->queue + first, n * sizeof *s->buf);
        sort_u32(s->buf, n, s->aux);
        roaring_bitmap_add_many(out, n, s->buf);
    }
    if (!dist) return 0;
    graph_hop *h = malloc((n ? n : 1) * sizeof *h);
    if (!h) {
        roaring_bitmap_clear(out);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t w = s->buf[i];
        STELE_ASSERT(seen(s, w) && (i == 0 || s->buf[i - 1] < w));
        h[i] = (graph_hop){w, s->mark[w].dist};
    }
    *dist = h;
    *ndist = n;
    return 0;
}

int graph_khop(const graph_view *v, graph_scratch *s, const roaring_bitmap_t *start, int dir,
               uint32_t depth, int include_start, roaring_bitmap_t *out, graph_hop **dist,
               size_t *ndist)
{
    STELE_ASSERT(v && s && start && out);
    STELE_ASSERT(dir >= GRAPH_OUT && dir <= GRAPH_BOTH && (!dist || ndist));
    if (dist) {
        *dist = NULL;
        *ndist = 0;
    }
    roaring_bitmap_clear(out);
    if (depth > GRAPH_DEPTH_MAX) depth = GRAPH_DEPTH_MAX;
    uint64_t card = roaring_bitmap_get_cardinality(start);
    if (scratch_begin(s, v->node_limit, (size_t)card + v->node_limit + 1)) return -1;
    size_t ns = 0;
    if (card) {
        roaring_bitmap_to_uint32_array(start, s->queue); /* ascending */
        ns = (size_t)card;
        while (ns > 0 && s->queue[ns - 1] >= v->node_limit) ns--; /* invariant 4 of graph.h */
    }
    /* include_start: the start nodes are met at distance 0. Otherwise they are only the
     * first frontier, unmarked, so that a cycle back to one of them meets it again. */
    for (size_t i = 0; include_start && i < ns; i++) mark(s, s->queue[i], 0);
    size_t tail = ns;
    if (bfs(v, s, dir, depth, 0, &tail, NONE) < 0) return -1;
    STELE_ASSERT(tail <= ns + v->node_limit);
    return khop_result(s, include_start ? 0 : ns, tail, out, dist, ndist);
}

int graph_reachable(const graph_view *v, graph_scratch *s, uint32_t a, uint32_t b, int dir,
                    uint32_t depth)
{
    STELE_ASSERT(v && s);
    STELE_ASSERT(dir >= GRAPH_OUT && dir <= GRAPH_BOTH);
    if (a >= v->node_limit || b >= v->node_limit) return 0;
    if (a == b) return 1;
    if (depth == 0 || depth > GRAPH_DEPTH_MAX) depth = GRAPH_DEPTH_MAX;
    if (scratch_begin(s, v->node_limit, v->node_limit)) return -1;
    mark(s, a, 0);
    s->queue[0] = a;
    size_t tail = 1;
    return bfs(v, s, dir, depth, 0, &tail, b);
}

/* ---- Shortest paths -------------------------------------------------------------- */

/* The smallest neighbour of u (in dir) that the reverse BFS met at distance `want`. */
static int next_on_path(const graph_view *v, graph_scratch *s, uint32_t u, int dir,
                        uint32_t want, uint32_t *out)
{
    size_t ns;
    if (node_spans(v, &s->sb, u, dir, &ns)) return -1;
    uint32_t best = NONE;
    for (size_t i = 0; i < ns; i++) {
        const graph_span *sp = &s->sb.span[i];
        for (uint32_t j = 0; j < sp->n; j++) {
            uint32_t w = sp->links[j].node;
            if (w < best && seen(s, w) && s->mark[w].dist == want) best = w;
        }
    }
    STELE_ASSERT(best != NONE); /* u is at distance want + 1: some neighbour is at want */
    *out = best;
    return 0;
}

int graph_shortest_path(const graph_view *v, graph_scratch *s, uint32_t a, uint32_t b,
                        int dir, uint32_t **path, size_t *n)
{
    STELE_ASSERT(v && s && path && n);
    STELE_ASSERT(dir >= GRAPH_OUT && dir <= GRAPH_BOTH);
    *path = NULL;
    *n = 0;
    if (a >= v->node_limit || b >= v->node_limit) return 1;
    uint32_t len = 0;
    if (a != b) {
        /* Distances to b (a BFS from b against dir) until a is met: levels below a's are
         * then complete, so a greedy walk from a taking the smallest neighbour one step
         * closer to b gives the lexicographically smallest shortest path. */
        if (scratch_begin(s, v->node_limit, v->node_limit)) return -1;
        mark(s, b, 0);
        s->queue[0] = b;
        size_t tail = 1;
        int rc = bfs(v, s, rev_dir(dir), GRAPH_DEPTH_MAX, 0, &tail, a);
        if (rc <= 0) return rc < 0 ? -1 : 1;
        len = s->mark[a].dist;
    }
    uint32_t *p = malloc(((size_t)len + 1) * sizeof *p);
    if (!p) return -1;
    p[0] = a;
    for (uint32_t k = 1; k <= len; k++) {
        if (next_on_path(v, s, p[k - 1], dir, len - k, &p[k])) {
            free(p);
            return -1;
        }
    }
    STELE_ASSERT(p[len] == b);
    *path = p;
    *n = (size_t)len + 1;
    return 0;
}

/* Dijkstra: a binary heap of (cost, node) with lazy deletion (an entry is stale when
 * its node is settled or has a smaller cost now); each node state lives in flat arrays
 * (dist and pred are only read once state says they were written, so only state is
 * zeroed: calloc'd pages are touched only where the search goes). */
typedef struct dj_ent {
    double d;
    uint32_t node;
} dj_ent;

enum { DJ_UNSEEN = 0, DJ_QUEUED = 1, DJ_SETTLED = 2 };

typedef struct dj {
    double *dist;
    uint32_t *pred;
    uint8_t *state;
    dj_ent *heap;
    size_t nheap, heap_cap;
    spanbuf sb;
} dj;

static int dj_less(dj_ent x, dj_ent y) { return x.d < y.d || (x.d == y.d && x.node < y.node); }

static int dj_push(dj *q, double d, uint32_t node)
{
    if (util_grow((void **)&q->heap, &q->heap_cap, q->nheap + 1, sizeof *q->heap)) return -1;
    size_t i = q->nheap++;
    dj_ent e = {d, node};
    while (i > 0 && dj_less(e, q->heap[(i - 1) / 2])) {
        q->heap[i] = q->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->heap[i] = e;
    return 0;
}

static dj_ent dj_pop(dj *q)
{
    STELE_ASSERT(q->nheap > 0);
    dj_ent top = q->heap[0], e = q->heap[--q->nheap];
    size_t i = 0, n = q->nheap;
    for (;;) { /* at most log2(n) steps: i at least doubles */
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && dj_less(q->heap[c + 1], q->heap[c])) c++;
        if (!dj_less(q->heap[c], e)) break;
        q->heap[i] = q->heap[c];
        i = c;
    }
    if (n) q->heap[i] = e;
    return top;
}

/* Relaxes the links of the settled node u. 0, -1 OOM, -2 bad weight (*bad_edge). */
static int dj_relax(const graph_view *v, dj *q, uint32_t u, int dir, uint32_t *bad_edge)
{
    size_t ns;
    if (node_spans(v, &q->sb, u, dir, &ns)) return -1;
    double du = q->dist[u];
    for (size_t i = 0; i < ns; i++) {
        const graph_span *sp = &q->sb.span[i];
        for (uint32_t j = 0; j < sp->n; j++) {
            uint32_t w = sp->links[j].node, e = sp->links[j].edge;
            double wt;
            if (v->weight(v->ctx, e, &wt) != 0 || !isfinite(wt) || wt < 0) {
                *bad_edge = e;
                return -2;
            }
            STELE_ASSERT(w < v->node_limit);
            if (q->state[w] == DJ_SETTLED) continue;
            double nd = du + wt;
            if (q->state[w] == DJ_UNSEEN || nd < q->dist[w]) {
                q->dist[w] = nd;
                q->pred[w] = u;
                q->state[w] = DJ_QUEUED;
                if (dj_push(q, nd, w)) return -1;
            }
        }
    }
    return 0;
}

/* Runs until b is settled: 0, 1 if b is unreachable, -1 OOM, -2 bad weight. */
static int dj_run(const graph_view *v, dj *q, uint32_t a, uint32_t b, int dir,
                  uint32_t *bad_edge)
{
    q->dist[a] = 0;
    q->pred[a] = NONE;
    q->state[a] = DJ_QUEUED;
    if (dj_push(q, 0, a)) return -1;
    size_t settled = 0;
    while (q->nheap > 0) { /* every pop removes one of the finitely many pushes */
        dj_ent top = dj_pop(q);
        if (q->state[top.node] == DJ_SETTLED || top.d > q->dist[top.node]) continue;
        q->state[top.node] = DJ_SETTLED;
        STELE_ASSERT(++settled <= v->node_limit);
        if (top.node == b) return 0;
        int rc = dj_relax(v, q, top.node, dir, bad_edge);
        if (rc) return rc;
    }
    return 1;
}

int graph_dijkstra(const graph_view *v, uint32_t a, uint32_t b, int dir, uint32_t **path,
                   size_t *n, double *cost, uint32_t *bad_edge)
{
    STELE_ASSERT(v && path && n && cost);
    STELE_ASSERT(dir >= GRAPH_OUT && dir <= GRAPH_BOTH);
    uint32_t bad_dummy;
    if (!bad_edge) bad_edge = &bad_dummy;
    *path = NULL;
    *n = 0;
    *cost = 0;
    *bad_edge = GRAPH_NO_NODE;
    if (!v->weight) return -2;
    if (a >= v->node_limit || b >= v->node_limit) return 1;
    dj q = {0};
    q.dist = malloc((size_t)v->node_limit * sizeof *q.dist);
    q.pred = malloc((size_t)v->node_limit * sizeof *q.pred);
    q.state = calloc(v->node_limit, 1);
    int rc = q.dist && q.pred && q.state ? spanbuf_reserve(&q.sb, SPANS_INIT) : -1;
    if (rc == 0) rc = dj_run(v, &q, a, b, dir, bad_edge);
    size_t len = 0;
    for (uint32_t x = b; rc == 0 && x != a; x = q.pred[x]) {
        STELE_ASSERT(len < v->node_limit); /* pred chains are acyclic */
        len++;
    }
    uint32_t *p = rc == 0 ? malloc((len + 1) * sizeof *p) : NULL;
    if (rc == 0 && !p) rc = -1;
    if (rc == 0) {
        uint32_t x = b;
        for (size_t i = len + 1; i-- > 0; x = q.pred[x]) p[i] = x;
        STELE_ASSERT(p[0] == a && p[len] == b);
        *path = p;
        *n = len + 1;
        *cost = q.dist[b];
    }
    free(q.dist);
    free(q.pred);
    free(q.state);
    free(q.heap);
    spanbuf_release(&q.sb);
    return rc;
}

/* ---- Simple paths ------------------------------------------------------------------
 * A DFS with explicit frames. A frame holds its node and, in nb[beg, end), the distinct
 * neighbours still worth trying (not on the path, and within reach of b in the hops
 * left: the scratch holds each node's distance to b from a reverse BFS). */
typedef struct pframe {
    uint32_t node;
    size_t beg, end, pos;
} pframe;

typedef struct pwalk {
    const graph_view *v;
    graph_scratch *s;
    int dir;
    uint32_t max_len;
    pframe *fr;
    size_t nfr, fr_cap;
    uint32_t *nb;
    size_t nnb, nb_cap;
    uint32_t *path; /* path[i] = fr[i].node, then b when a path is given out */
    size_t path_cap;
    uint8_t *onpath;
} pwalk;

/* Pushes the frame of u, met after k = w->nfr hops. 0, or -1 on OOM. */
static int pwalk_push(pwalk *w, uint32_t u)
{
    size_t k = w->nfr, ns;
    STELE_ASSERT(k < w->max_len && !w->onpath[u]);
    if (node_spans(w->v, &w->s->sb, u, w->dir, &ns)) return -1;
    size_t total = span_total(&w->s->sb, ns);
    if (sort_reserve(w->s, total)) return -1;
    if (util_grow((void **)&w->nb, &w->nb_cap, w->nnb + total, sizeof *w->nb)) return -1;
    if (util_grow((void **)&w->fr, &w->fr_cap, k + 1, sizeof *w->fr)) return -1;
    if (util_grow((void **)&w->path, &w->path_cap, k + 2, sizeof *w->path)) return -1;
    size_t nd = merge_spans(&w->s->sb, ns, w->s->buf, total), beg = w->nnb;
    uint32_t left = w->max_len - (uint32_t)k - 1; /* hops left after the next one */
    w->onpath[u] = 1; /* first: a self-loop must not offer u again */
    for (size_t i = 0; i < nd; i++) {
        uint32_t x = w->s->buf[i];
        if (w->onpath[x] || !seen(w->s, x) || w->s->mark[x].dist > left) continue;
        w->nb[w->nnb++] = x;
    }
    w->fr[k] = (pframe){u, beg, w->nnb, beg};
    w->path[k] = u;
    w->nfr++;
    return 0;
}

static int pwalk_run(pwalk *w, uint32_t a, uint32_t b, size_t max_paths, graph_path_fn fn,
                     void *ctx)
{
    if (pwalk_push(w, a)) return -1;
    size_t given = 0;
    while (w->nfr > 0) {
        pframe *f = &w->fr[w->nfr - 1];
        if (f->pos == f->end) {
            w->onpath[f->node] = 0;
            w->nnb = f->beg;
            w->nfr--;
            continue;
        }
        uint32_t x = w->nb[f->pos++];
        if (x != b) {
            if (pwalk_push(w, x)) return -1;
            continue;
        }
        w->path[w->nfr] = b;
        given++;
        if (fn(w->path, w->nfr + 1, ctx) || given == max_paths) break;
    }
    STELE_ASSERT(given <= max_paths);
    return 0;
}

int graph_paths(const graph_view *v, uint32_t a, uint32_t b, int dir, uint32_t max_len,
                size_t max_paths, graph_path_fn fn, void *ctx)
{
    STELE_ASSERT(v && fn);
    STELE_ASSERT(dir >= GRAPH_OUT && dir <= GRAPH_BOTH);
    if (a >= v->node_limit || b >= v->node_limit || max_paths == 0) return 0;
    if (a == b) {
        fn(&a, 1, ctx);
        return 0;
    }
    if (max_len > GRAPH_DEPTH_MAX) max_len = GRAPH_DEPTH_MAX;
    if (max_len > v->node_limit - 1) max_len = v->node_limit - 1; /* a simple path's bound */
    pwalk w = {.v = v, .dir = dir, .max_len = max_len};
    w.s = graph_scratch_new();
    w.onpath = calloc(v->node_limit, 1);
    int rc = w.s && w.onpath ? scratch_begin(w.s, v->node_limit, v->node_limit) : -1;
    if (rc == 0) {
        mark(w.s, b, 0);
        w.s->queue[0] = b;
        size_t tail = 1;
        rc = bfs(v, w.s, rev_dir(dir), max_len, 0, &tail, NONE);
    }
    if (rc == 0 && seen(w.s, a)) rc = pwalk_run(&w, a, b, max_paths, fn, ctx);
    graph_scratch_free(w.s);
    free(w.onpath);
    free(w.fr);
    free(w.nb);
    free(w.path);
    return rc;
}

/* ---- Whole-set algorithms: the induced subgraph ------------------------------------
 * SCC, cycles and topological order first copy the subgraph induced by the node set
 * (OUT links only, links leaving the set dropped) into flat arrays indexed by node
 * number: one spans() call per node of the set, membership tested in a bitset of
 * node_limit bits (small enough for the CPU cache, unlike a node -> index table), and
 * then no calls through the view in the inner loops. */
/* The subgraph induced by a node set, renumbered densely: vertex i (0 <= i < k) is
 * node[i], in ascending node order, so "smaller vertex" means "smaller node" and the
 * algorithms below keep their tie-breaking; their arrays are k long, not node_limit
 * long (a database's doc numbers also count edges and other documents). */
typedef struct sub {
    uint32_t nl;    /* = k: the arrays below are indexed by vertex */
    uint32_t k;     /* nodes in the set */
    uint32_t *node; /* vertex -> node number, ascending (k entries) */
    uint32_t *off;  /* k + 1: the links of vertex i are adj[off[i], off[i + 1]) */
    uint32_t *adj;  /* vertices */
    size_t adj_cap;
} sub;

static void sub_free(sub *g)
{
    free(g->node);
    free(g->off);
    free(g->adj);
    memset(g, 0, sizeof *g);
}

/* The nodes of the set below node_limit, ascending, as a new array (*k of them). */
static uint32_t *set_nodes(const roaring_bitmap_t *nodes, uint32_t node_limit, uint32_t *k)
{
    uint64_t card = roaring_bitmap_get_cardinality(nodes);
    uint32_t *a = malloc((card ? (size_t)card : 1) * sizeof *a);
    if (!a) return NULL;
    if (card) roaring_bitmap_to_uint32_array(nodes, a);
    size_t n = (size_t)card;
    while (n > 0 && a[n - 1] >= node_limit) n--; /* invariant 4 of graph.h */
    STELE_ASSERT(n <= node_limit);
    *k = (uint32_t)n;
    return a;
}

/* Appends the in-set OUT links of node u, as vertices (rank: node -> vertex or NONE),
 * to g->adj[*m...]. 0, or -1 on OOM. */
static int sub_links(const graph_view *v, spanbuf *sb, sub *g, const uint32_t *rank,
                     uint32_t u, size_t *m)
{
    size_t ns;
    if (node_spans(v, sb, u, GRAPH_OUT, &ns)) return -1;
    size_t need = *m + span_total(sb, ns), old = g->adj_cap;
    if (util_grow((void **)&g->adj, &g->adj_cap, need, sizeof *g->adj)) return -1;
    if (g->adj_cap != old) huge_hint(g->adj, g->adj_cap * sizeof *g->adj);
    for (size_t s = 0; s < ns; s++) {
        const graph_link *l = sb->span[s].links;
        for (uint32_t j = 0; j < sb->span[s].n; j++) {
            STELE_ASSERT(l[j].node < v->node_limit);
            uint32_t w = rank[l[j].node];
            if (w != NONE) g->adj[(*m)++] = w;
        }
    }
    STELE_ASSERT(*m <= need);
    return *m < UINT32_MAX ? 0 : -1; /* offsets are 32-bit, like edge numbers */
}

static int sub_build(const graph_view *v, const roaring_bitmap_t *nodes, sub *g)
{
    STELE_ASSERT(v && nodes);
    memset(g, 0, sizeof *g);
    spanbuf sb = {0};
    g->node = set_nodes(nodes, v->node_limit, &g->k);
    g->nl = g->k;
    uint32_t *rank = big_alloc(((size_t)v->node_limit + 1) * sizeof *rank);
    g->off = big_alloc(((size_t)g->k + 1) * sizeof *g->off);
    int rc = g->node && rank && g->off ? spanbuf_reserve(&sb, SPANS_INIT) : -1;
    if (rc == 0) memset(rank, 0xff, ((size_t)v->node_limit + 1) * sizeof *rank);
    for (uint32_t i = 0; rc == 0 && i < g->k; i++) rank[g->node[i]] = i;
    size_t m = 0;
    for (uint32_t i = 0; rc == 0 && i < g->k; i++) {
        g->off[i] = (uint32_t)m;
        rc = sub_links(v, &sb, g, rank, g->node[i], &m);
    }
    if (rc == 0) g->off[g->k] = (uint32_t)m;
    free(rank);
    spanbuf_release(&sb);
    if (rc != 0) sub_free(g);
    return rc;
}

/* ---- Strongly connected components -------------------------------------------------
 * Pearce's variant of Tarjan ("A space-efficient algorithm for finding strongly
 * connected components", 2016), iterative: one number per node, rindex, is the DFS
 * index while the node is open and becomes its component's number when it completes
 * (components get k-1, k-2, ... so that every completed node compares greater than every
 * open one, and needs no on-stack flag); a bit per node says whether it is still a root
 * candidate. rindex sits next to off (`pnode`), so the one cache miss of an edge's test
 * also brings what descending into it needs. Both stacks hold at most k entries. */
typedef struct pnode {
    uint32_t off, rindex;
} pnode;

typedef struct pframe_scc {
    uint32_t v, pos;
} pframe_scc;

typedef struct pearce {
    pnode *nd;
    uint64_t *root;
    uint32_t *stk;
    pframe_scc *call;
    size_t sp, cp;
    uint32_t index, c;
} pearce;

static inline void root_clear(pearce *p, uint32_t v) { p->root[v >> 6] &= ~(1ull << (v & 63)); }

/* Opens v: a DFS index, a root candidate, a frame. */
static inline void pearce_open(pearce *p, uint32_t v)
{
    p->nd[v].rindex = p->index++;
    p->root[v >> 6] |= 1ull << (v & 63);
    p->call[p->cp++] = (pframe_scc){v, p->nd[v].off};
}

/* Closes u (its links are done): if u is a root, u and the nodes above it on the stack
 * form a component; otherwise u waits on the stack. Then its parent learns its rindex. */
static void pearce_close(pearce *p, uint32_t u)
{
    if (p->root[u >> 6] >> (u & 63) & 1) {
        p->index--;
        while (p->sp > 0 && p->nd[u].rindex <= p->nd[p->stk[p->sp - 1]].rindex) {
            p->nd[p->stk[--p->sp]].rindex = p->c;
            p->index--;
        }
        p->nd[u].rindex = p->c--;
    } else {
        p->stk[p->sp++] = u;
    }
    if (p->cp == 0) return;
    uint32_t parent = p->call[p->cp - 1].v;
    if (p->nd[u].rindex < p->nd[parent].rindex) {
        p->nd[parent].rindex = p->nd[u].rindex;
        root_clear(p, parent);
    }
}

static void pearce_dfs(pearce *p, const sub *g, uint32_t r)
{
    pearce_open(p, r);
    while (p->cp > 0) { /* every step advances a link cursor or pops a frame */
        pframe_scc *f = &p->call[p->cp - 1];
        uint32_t u = f->v;
        if (f->pos == p->nd[u + 1].off) {
            p->cp--;
            pearce_close(p, u);
            continue;
        }
        uint32_t w = g->adj[f->pos++];
        if (p->nd[w].rindex == 0) {
            STELE_ASSERT(p->cp < g->k);
            pearce_open(p, w);
        } else if (p->nd[w].rindex < p->nd[u].rindex) {
            p->nd[u].rindex = p->nd[w].rindex;
            root_clear(p, u);
        }
    }
}

/* comp[v] (k entries, one per vertex) gets the component of v, numbered in completion
 * order. 0, or -1 on OOM. */
static int scc_run(const sub *g, uint32_t *comp, uint32_t *ncomp)
{
    size_t k1 = (size_t)g->k + 1;
    pearce p = {.index = 1, .c = g->k - 1};
    p.nd = big_alloc(((size_t)g->nl + 1) * sizeof *p.nd);
    p.root = calloc((size_t)g->nl / 64 + 1, sizeof *p.root);
    p.stk = malloc(k1 * sizeof *p.stk);
    p.call = big_alloc(k1 * sizeof *p.call);
    int rc = p.nd && p.root && p.stk && p.call ? 0 : -1;
    for (size_t v = 0; rc == 0 && v <= g->nl; v++) p.nd[v] = (pnode){g->off[v], 0};
    for (uint32_t i = 0; rc == 0 && i < g->k; i++) {
        if (p.nd[i].rindex == 0) pearce_dfs(&p, g, i);
    }
    if (rc == 0) {
        STELE_ASSERT(p.sp == 0 && p.index == 1);
        for (uint32_t v = 0; v < g->nl; v++) comp[v] = g->k - 1 - p.nd[v].rindex;
        *ncomp = g->k - 1 - p.c; /* wraps back to 0 for an empty set */
        STELE_ASSERT(*ncomp <= g->k);
    }
    free(p.nd);
    free(p.root);
    free(p.stk);
    free(p.call);
    return rc;
}

int graph_scc(const graph_view *v, const roaring_bitmap_t *nodes, uint32_t **comp,
              uint32_t *ncomp)
{
    STELE_ASSERT(v && nodes && comp && ncomp);
    *comp = NULL;
    *ncomp = 0;
    sub g;
    if (sub_build(v, nodes, &g)) return -1;
    uint32_t *out = malloc(((size_t)v->node_limit + 1) * sizeof *out);
    uint32_t *dense = malloc(((size_t)g.k + 1) * sizeof *dense);
    int rc = out && dense ? scc_run(&g, dense, ncomp) : -1;
    if (rc == 0) { /* back to node numbers: NONE outside the set */
        memset(out, 0xff, ((size_t)v->node_limit + 1) * sizeof *out);
        for (uint32_t i = 0; i < g.k; i++) out[g.node[i]] = dense[i];
        *comp = out;
        out = NULL;
    }
    free(out);
    free(dense);
    sub_free(&g);
    return rc;
}

/* ---- Cycles ------------------------------------------------------------------------ */

typedef struct cyc {
    sub g;
    uint32_t *comp;        /* node -> component (NONE outside the set) */
    uint32_t ncomp;
    uint32_t *roff, *radj; /* reverse links inside components, indexed by node */
    uint32_t *dist;        /* hops to the cycle's first node; NONE = unmet */
    uint32_t *queue;
    uint32_t *out;         /* one cycle */
} cyc;

/* The links u -> w with comp[u] == comp[w], reversed, as CSR (roff, radj). */
static int cyc_reverse(cyc *c)
{
    const sub *g = &c->g;
    c->roff = calloc((size_t)g->nl + 2, sizeof *c->roff);
    c->radj = malloc(((size_t)g->off[g->nl] + 1) * sizeof *c->radj);
    if (!c->roff || !c->radj) return -1;
    for (uint32_t u = 0; u < g->k; u++) {
        for (uint32_t j = g->off[u]; j < g->off[u + 1]; j++) {
            if (c->comp[g->adj[j]] == c->comp[u]) c->roff[g->adj[j] + 2]++;
        }
    }
    for (size_t v = 0; v < g->nl; v++) c->roff[v + 2] += c->roff[v + 1];
    for (uint32_t u = 0; u < g->k; u++) { /* roff[w + 1] is the fill position of w */
        for (uint32_t j = g->off[u]; j < g->off[u + 1]; j++) {
            uint32_t w = g->adj[j];
            if (c->comp[w] == c->comp[u]) c->radj[c->roff[w + 1]++] = u;
        }
    }
    STELE_ASSERT(c->roff[0] == 0 && c->roff[g->nl] <= g->off[g->nl]);
    return 0;
}

/* The smallest out-neighbour of u in u's component at distance `want` from the cycle's
 * first node, or NONE. */
static uint32_t cyc_next(const cyc *c, uint32_t u, uint32_t want)
{
    uint32_t best = NONE;
    for (uint32_t j = c->g.off[u]; j < c->g.off[u + 1]; j++) {
        uint32_t w = c->g.adj[j];
        if (w < best && c->comp[w] == c->comp[u] && c->dist[w] == want) best = w;
    }
    return best;
}

/* The shortest cycle through s (the lexicographically smallest of those) into c->out;
 * returns its length, 0 if s is on no cycle. */
static uint32_t cyc_through(cyc *c, uint32_t s)
{
    size_t head = 0, tail = 0;
    c->dist[s] = 0;
    c->queue[tail++] = s;
    while (head < tail) { /* BFS to s along reversed links: dist = hops to s */
        uint32_t u = c->queue[head++];
        for (uint32_t j = c->roff[u]; j < c->roff[u + 1]; j++) {
            uint32_t w = c->radj[j];
            if (c->dist[w] != NONE) continue;
            STELE_ASSERT(tail < c->g.k);
            c->dist[w] = c->dist[u] + 1;
            c->queue[tail++] = w;
        }
    }
    uint32_t want = NONE, len = 0;
    for (uint32_t j = c->g.off[s]; j < c->g.off[s + 1]; j++) {
        uint32_t w = c->g.adj[j];
        if (c->comp[w] == c->comp[s] && c->dist[w] < want) want = c->dist[w];
    }
    if (want != NONE) {
        c->out[len++] = s;
        for (uint32_t u = s; want > 0; want--) { /* dist strictly falls: distinct nodes */
            u = cyc_next(c, u, want);
            STELE_ASSERT(u != NONE && u != s);
            c->out[len++] = u;
        }
        STELE_ASSERT(len <= tail);
    }
    for (size_t i = 0; i < tail; i++) c->dist[c->queue[i]] = NONE;
    return len;
}

static void cyc_free(cyc *c)
{
    sub_free(&c->g);
    free(c->comp);
    free(c->roff);
    free(c->radj);
    free(c->dist);
    free(c->queue);
    free(c->out);
}

int graph_cycles(const graph_view *v, const roaring_bitmap_t *nodes, size_t max_cycles,
                 graph_path_fn fn, void *ctx)
{
    STELE_ASSERT(v && nodes && fn);
    cyc c = {0};
    if (sub_build(v, nodes, &c.g)) return -1;
    size_t nl1 = (size_t)c.g.nl + 1, k1 = (size_t)c.g.k + 1;
    c.comp = malloc(nl1 * sizeof *c.comp);
    c.dist = malloc(nl1 * sizeof *c.dist);
    c.queue = malloc(k1 * sizeof *c.queue);
    c.out = malloc(k1 * sizeof *c.out);
    int rc = c.comp && c.dist && c.queue && c.out ? scc_run(&c.g, c.comp, &c.ncomp) : -1;
    if (rc == 0) rc = cyc_reverse(&c);
    uint32_t *first = rc == 0 ? malloc(((size_t)c.ncomp + 1) * sizeof *first) : NULL;
    if (rc == 0 && !first) rc = -1;
    if (rc == 0) {
        memset(c.dist, 0xff, nl1 * sizeof *c.dist);
        memset(first, 0xff, ((size_t)c.ncomp + 1) * sizeof *first);
        for (uint32_t i = 0; i < c.g.k; i++) { /* ascending: the smallest node of each */
            if (first[c.comp[i]] == NONE) first[c.comp[i]] = i;
        }
    }
    size_t given = 0;
    for (uint32_t s = 0; rc == 0 && s < c.g.k && given < max_cycles; s++) {
        if (first[c.comp[s]] != s) continue;
        uint32_t len = cyc_through(&c, s);
        if (len == 0) continue;
        given++;
        for (uint32_t j = 0; j < len; j++) c.out[j] = c.g.node[c.out[j]]; /* node numbers */
        if (fn(c.out, len, ctx)) break;
    }
    STELE_ASSERT(given <= max_cycles);
    free(first);
    cyc_free(&c);
    return rc;
}

/* ---- Topological order --------------------------------------------------------------- */

/* A binary min-heap of node numbers (the ready nodes of Kahn's algorithm). */
static void u32heap_push(uint32_t *h, size_t *n, uint32_t x)
{
    size_t i = (*n)++;
    while (i > 0 && x < h[(i - 1) / 2]) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static uint32_t u32heap_pop(uint32_t *h, size_t *n)
{
    STELE_ASSERT(*n > 0);
    uint32_t top = h[0], x = h[--*n];
    size_t i = 0;
    for (;;) { /* at most log2(n) steps */
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= x) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = x;
    return top;
}

int graph_topo(const graph_view *v, const roaring_bitmap_t *nodes, uint32_t **order,
               size_t *n)
{
    STELE_ASSERT(v && nodes && order && n);
    *order = NULL;
    *n = 0;
    sub g;
    if (sub_build(v, nodes, &g)) return -1;
    size_t k1 = (size_t)g.k + 1, nheap = 0, done = 0;
    uint32_t *indeg = calloc((size_t)g.nl + 1, sizeof *indeg), *heap = malloc(k1 * sizeof *heap);
    uint32_t *out = malloc(k1 * sizeof *out);
    int rc = indeg && heap && out ? 0 : -1;
    for (uint32_t j = 0; rc == 0 && j < g.off[g.nl]; j++) indeg[g.adj[j]]++;
    for (uint32_t i = 0; rc == 0 && i < g.k; i++) {
        if (indeg[i] == 0) u32heap_push(heap, &nheap, i);
    }
    while (rc == 0 && nheap > 0) { /* each node is pushed once, when its indegree hits 0 */
        uint32_t u = u32heap_pop(heap, &nheap);
        STELE_ASSERT(done < g.k);
        out[done++] = u;
        for (uint32_t j = g.off[u]; j < g.off[u + 1]; j++) {
            STELE_ASSERT(indeg[g.adj[j]] > 0);
            if (--indeg[g.adj[j]] == 0) u32heap_push(heap, &nheap, g.adj[j]);
        }
    }
    if (rc == 0 && done < g.k) rc = 1; /* the rest waits on a cycle */
    if (rc == 0) {
        for (size_t i = 0; i < done; i++) out[i] = g.node[out[i]]; /* node numbers */
        *order = out;
        *n = done;
        out = NULL;
    }
    free(indeg);
    free(heap);
    free(out);
    sub_free(&g);
    return rc;
}

/* ---- Degrees ------------------------------------------------------------------------ */

static int hop_by_degree(const void *pa, const void *pb)
{
    const graph_hop *a = pa, *b = pb;
    if (a->dist != b->dist) return a->dist > b->dist ? -1 : 1;
    return a->node < b->node ? -1 : a->node > b->node;
}

/* The ntop highest degrees: every node above the t-th largest degree, then nodes at it
 * in ascending order until t, then sorted by (degree desc, node asc). */
static size_t degree_top(const uint32_t *node, const uint32_t *deg, const uint32_t *sorted,
                         uint32_t k, graph_hop *top, size_t ntop)
{
    size_t t = ntop < k ? ntop : k, n = 0;
    if (t == 0) return 0;
    uint32_t thr = sorted[k - t];
    for (uint32_t i = 0; i < k; i++) {
        if (deg[i] > thr) top[n++] = (graph_hop){node[i], deg[i]};
    }
    STELE_ASSERT(n < t || (n == t && thr == sorted[k - 1]));
    for (uint32_t i = 0; i < k && n < t; i++) {
        if (deg[i] == thr) top[n++] = (graph_hop){node[i], deg[i]};
    }
    STELE_ASSERT(n == t);
    qsort(top, n, sizeof *top, hop_by_degree);
    return n;
}

/* Fills deg[i] with the degree of node[i]; returns the sum, or UINT64_MAX on OOM. */
static uint64_t degree_fill(const graph_view *v, const uint32_t *node, uint32_t k, int dir,
                            uint32_t *deg)
{
    spanbuf sb = {0};
    if (spanbuf_reserve(&sb, SPANS_INIT)) return UINT64_MAX;
    uint64_t links = 0;
    for (uint32_t i = 0; i < k; i++) {
        size_t ns;
        if (node_spans(v, &sb, node[i], dir, &ns)) {
            links = UINT64_MAX;
            break;
        }
        size_t d = span_total(&sb, ns);
        deg[i] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        links += d;
    }
    spanbuf_release(&sb);
    return links;
}

int graph_degrees(const graph_view *v, const roaring_bitmap_t *nodes, int dir,
                  graph_degree_stats *st, graph_hop *top, size_t ntop, size_t *ntop_out)
{
    STELE_ASSERT(v && nodes && st);
    STELE_ASSERT(dir >= GRAPH_OUT && dir <= GRAPH_BOTH);
    memset(st, 0, sizeof *st);
    if (ntop_out) *ntop_out = 0;
    uint32_t k = 0;
    uint32_t *node = set_nodes(nodes, v->node_limit, &k);
    size_t k1 = (size_t)k + 1;
    uint32_t *deg = node ? malloc(k1 * sizeof *deg) : NULL;
    uint32_t *sorted = deg ? malloc(k1 * sizeof *sorted) : NULL;
    uint32_t *tmp = sorted ? malloc(k1 * sizeof *tmp) : NULL;
    uint64_t links = tmp ? degree_fill(v, node, k, dir, deg) : UINT64_MAX;
    int rc = links == UINT64_MAX ? -1 : 0;
    if (rc == 0 && k > 0) {
        memcpy(sorted, deg, k * sizeof *deg);
        sort_u32(sorted, k, tmp);
        st->nodes = k;
        st->links = links;
        st->min = sorted[0];
        st->max = sorted[k - 1];
        st->mean = (double)links / k;
        st->median = k % 2 ? sorted[k / 2] : ((double)sorted[k / 2 - 1] + sorted[k / 2]) / 2;
        STELE_ASSERT(st->min <= st->median && st->median <= st->max);
        size_t nt = top ? degree_top(node, deg, sorted, k, top, ntop) : 0;
        if (ntop_out) *ntop_out = nt;
    }
    free(node);
    free(deg);
    free(sorted);
    free(tmp);
    return rc;
}
