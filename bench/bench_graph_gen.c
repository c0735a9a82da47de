/*
 * bench_graph_gen.c — a synthetic interface signature graph (ISG, seed 003) of a code
 * base of L lines, and the reference answers the peers are checked against.
 *
 * The model (every figure a constant below, with its reason):
 *  - 69.4 functions per 1,000 lines (the seed: 10 functions per file of 144 lines), and
 *    as many other nodes: one module per 10 functions (a file), traits 5% and structs
 *    the rest. 100K lines: 6,940 functions, 13,880 nodes; 10M lines: 1.39M nodes.
 *  - Functions are numbered in layer order: a function mostly calls deeper ones (higher
 *    numbers), and the deepest are the popular utilities. Each function makes 0-6
 *    calls (3 on average, the seed's assumption), each one
 *      60%   local: one of the next 32 functions (same or neighbouring module);
 *      38.5% global: a deeper function chosen with Zipf(1) popularity by depth rank
 *            (the deepest function is rank 1), so a few hubs are called by very many;
 *      1.5%  a back-edge to one of the 16 previous functions (recursion, callbacks):
 *            the cycles, small strongly connected components.
 *  - CONTAINS: each module contains its functions and its structs. USES: 0-3 per
 *    function (1.5 on average), 70% a struct of its own or a neighbouring module,
 *    30% Zipf(1) over all structs. IMPLEMENTS: 0 (70%), 1 (25%) or 2 (5%) traits per
 *    struct, Zipf(1) over the traits (Debug, Clone, ... are implemented by most).
 *  - A pick that repeats an edge of the same node or is a self-loop is redrawn (at most
 *    GEN_RETRIES times, then dropped), so the graph has no parallel edges.
 * About 3.3 edges per node: ≈46K edges at 100K lines, ≈4.6M at 10M. Everything comes
 * from bench_rand() seeded with `seed`: the same (lines, seed) gives the same graph.
 */
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "bench_graph.h"

#define FUNCS_PER_KLOC 69.4   /* seed 003: 10 functions per file of 144 lines */
#define MODULE_FUNCS 10u      /* functions per module (one module per file) */
#define TRAIT_PER_MILLE 50u   /* traits per 1,000 functions */
#define CALLS_MAX 6u          /* calls per function uniform in 0..6: mean 3 */
#define CALL_BACK_PM 15u      /* per mille of calls that are back-edges */
#define CALL_LOCAL_PM 600u    /* per mille of calls that stay local */
#define CALL_LOCAL_WINDOW 32u /* a local call goes to one of the next 32 functions */
#define CALL_BACK_WINDOW 16u  /* a back-edge goes to one of the previous 16 */
#define USES_MAX 3u           /* structs used per function uniform in 0..3: mean 1.5 */
#define USES_LOCAL_PM 700u
#define GEN_RETRIES 8u        /* redraws of a duplicate or self-loop pick */
#define GEN_NODES_MAX 400000000u /* dense 32-bit node numbers, with room to spare */

const char *const gb_kind_coll[GK_COUNT] = {"function", "struct", "trait", "module"};
const char gb_kind_prefix[GK_COUNT] = {'f', 's', 't', 'm'};
const char *const gb_label_name[GL_COUNT] = {"CALLS", "CONTAINS", "IMPLEMENTS", "USES"};

/* ------------------------------------------------------------ generation */

typedef struct gen {
    gb_graph *g;
    size_t cap;
    uint64_t rng;
} gen;

static void gen_push(gen *s, uint32_t from, uint32_t to, gb_label label)
{
    gb_graph *g = s->g;
    BENCH_CHECK(from < g->n_nodes && to < g->n_nodes && from != to, "bad edge %u -> %u",
                from, to);
    if (g->n_edges == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        g->from = realloc(g->from, s->cap * sizeof *g->from);
        g->to = realloc(g->to, s->cap * sizeof *g->to);
        g->label = realloc(g->label, s->cap * sizeof *g->label);
        BENCH_CHECK(g->from && g->to && g->label, "out of memory");
    }
    g->from[g->n_edges] = from;
    g->to[g->n_edges] = to;
    g->label[g->n_edges] = (uint8_t)label;
    g->n_edges++;
    g->n_label[label]++;
}

static double gen_unit(gen *s) { return (double)(bench_rand(&s->rng) >> 11) * 0x1.0p-53; }

/* A rank in 1..r with P(k) ~ 1/k (continuous Zipf(1) by inverse transform). */
static uint32_t gen_zipf(gen *s, uint32_t r)
{
    BENCH_CHECK(r >= 1, "zipf over nothing");
    double k = floor(exp(gen_unit(s) * log((double)r + 1.0)));
    if (k < 1) k = 1;
    if (k > r) k = r;
    return (uint32_t)k;
}

static uint32_t gen_below(gen *s, uint32_t n) { return (uint32_t)(bench_rand(&s->rng) % n); }

/* One callee of function f (a node number), or UINT32_MAX if the draw has none. */
static uint32_t gen_callee(gen *s, uint32_t f, uint32_t nf)
{
    uint32_t pm = gen_below(s, 1000);
    if (pm < CALL_BACK_PM) {
        if (f == 0) return UINT32_MAX;
        uint32_t w = f < CALL_BACK_WINDOW ? f : CALL_BACK_WINDOW;
        return f - 1 - gen_below(s, w);
    }
    if (pm < CALL_BACK_PM + CALL_LOCAL_PM) {
        uint32_t to = f + 1 + gen_below(s, CALL_LOCAL_WINDOW);
        return to < nf ? to : UINT32_MAX;
    }
    if (f + 1 >= nf) return UINT32_MAX;
    return nf - gen_zipf(s, nf - 1 - f); /* rank 1 = the deepest function */
}

static int seen_in(const uint32_t *v, unsigned n, uint32_t x)
{
    for (unsigned i = 0; i < n; i++)
        if (v[i] == x) return 1;
    return 0;
}

static void gen_calls(gen *s)
{
    gb_graph *g = s->g;
    uint32_t nf = gb_nf(g), picked[CALLS_MAX];
    g->calls_first = malloc(((size_t)nf + 1) * sizeof *g->calls_first);
    BENCH_CHECK(g->calls_first, "out of memory");
    for (uint32_t f = 0; f < nf; f++) {
        g->calls_first[f] = g->n_edges;
        unsigned k = gen_below(s, CALLS_MAX + 1), n = 0;
        for (unsigned c = 0; c < k; c++)
            for (unsigned t = 0; t < GEN_RETRIES; t++) {
                uint32_t to = gen_callee(s, f, nf);
                if (to == UINT32_MAX || to == f || seen_in(picked, n, to)) continue;
                picked[n++] = to;
                gen_push(s, f, to, GL_CALLS);
                break;
            }
    }
    g->calls_first[nf] = g->n_edges;
}

static uint32_t module_of_func(const gb_graph *g, uint32_t f)
{
    uint32_t nm = g->kind_first[GK_MODULE + 1] - g->kind_first[GK_MODULE];
    return (uint32_t)((uint64_t)f * nm / gb_nf(g));
}

/* The struct numbers of module m (relative to the first struct): [*lo, *hi). */
static void module_structs(const gb_graph *g, uint32_t m, uint32_t *lo, uint32_t *hi)
{
    uint64_t ns = g->kind_first[GK_STRUCT + 1] - g->kind_first[GK_STRUCT];
    uint64_t nm = g->kind_first[GK_MODULE + 1] - g->kind_first[GK_MODULE];
    *lo = (uint32_t)((m * ns + nm - 1) / nm); /* struct s is in module s * nm / ns */
    *hi = (uint32_t)(((m + 1) * ns + nm - 1) / nm);
}

static void gen_contains(gen *s)
{
    gb_graph *g = s->g;
    uint32_t m0 = g->kind_first[GK_MODULE], s0 = g->kind_first[GK_STRUCT];
    uint32_t nm = g->kind_first[GK_MODULE + 1] - m0, ns = g->kind_first[GK_STRUCT + 1] - s0;
    for (uint32_t f = 0; f < gb_nf(g); f++) gen_push(s, m0 + module_of_func(g, f), f, GL_CONTAINS);
    for (uint32_t i = 0; i < ns; i++)
        gen_push(s, m0 + (uint32_t)((uint64_t)i * nm / ns), s0 + i, GL_CONTAINS);
}

static uint32_t gen_used_struct(gen *s, uint32_t f)
{
    const gb_graph *g = s->g;
    uint32_t ns = g->kind_first[GK_STRUCT + 1] - g->kind_first[GK_STRUCT];
    if (gen_below(s, 1000) >= USES_LOCAL_PM) return gen_zipf(s, ns) - 1;
    uint32_t m = module_of_func(g, f), lo, hi, lo2, hi2;
    module_structs(g, m > 0 ? m - 1 : m, &lo, &hi);
    module_structs(g, m + 1 < g->kind_first[GK_MODULE + 1] - g->kind_first[GK_MODULE] ? m + 1 : m,
                   &lo2, &hi2);
    if (hi2 <= lo) return gen_below(s, ns);
    return lo + gen_below(s, hi2 - lo);
}

static void gen_uses(gen *s)
{
    gb_graph *g = s->g;
    uint32_t s0 = g->kind_first[GK_STRUCT], picked[USES_MAX];
    for (uint32_t f = 0; f < gb_nf(g); f++) {
        unsigned k = gen_below(s, USES_MAX + 1), n = 0;
        for (unsigned c = 0; c < k; c++)
            for (unsigned t = 0; t < GEN_RETRIES; t++) {
                uint32_t to = s0 + gen_used_struct(s, f);
                if (seen_in(picked, n, to)) continue;
                picked[n++] = to;
                gen_push(s, f, to, GL_USES);
                break;
            }
    }
}

static void gen_implements(gen *s)
{
    gb_graph *g = s->g;
    uint32_t s0 = g->kind_first[GK_STRUCT], t0 = g->kind_first[GK_TRAIT];
    uint32_t ns = g->kind_first[GK_STRUCT + 1] - s0, nt = g->kind_first[GK_TRAIT + 1] - t0;
    for (uint32_t i = 0; i < ns; i++) {
        uint32_t pct = gen_below(s, 100), k = pct < 70 ? 0 : pct < 95 ? 1 : 2, first = 0;
        for (uint32_t c = 0; c < k; c++)
            for (unsigned t = 0; t < GEN_RETRIES; t++) {
                uint32_t to = t0 + gen_zipf(s, nt) - 1;
                if (c == 1 && to == first) continue;
                first = to;
                gen_push(s, s0 + i, to, GL_IMPLEMENTS);
                break;
            }
    }
}

void gb_generate(gb_graph *g, uint64_t lines, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    uint64_t nf = (uint64_t)llround((double)lines * FUNCS_PER_KLOC / 1000.0);
    BENCH_CHECK(nf >= 100 && nf * 2 < GEN_NODES_MAX, "%llu lines: too few or too many",
                (unsigned long long)lines);
    uint64_t nm = (nf + MODULE_FUNCS - 1) / MODULE_FUNCS;
    uint64_t nt = nf * TRAIT_PER_MILLE / 1000 ? nf * TRAIT_PER_MILLE / 1000 : 1;
    uint64_t ns = nf - nm - nt; /* as many other nodes as functions */
    uint64_t count[GK_COUNT] = {nf, ns, nt, nm};
    g->lines = lines;
    g->seed = seed;
    for (int k = 0; k < GK_COUNT; k++)
        g->kind_first[k + 1] = g->kind_first[k] + (uint32_t)count[k];
    g->n_nodes = g->kind_first[GK_COUNT];
    gen s = {.g = g, .cap = (size_t)g->n_nodes * 7 / 2, .rng = seed ? seed : 1};
    g->from = malloc(s.cap * sizeof *g->from);
    g->to = malloc(s.cap * sizeof *g->to);
    g->label = malloc(s.cap * sizeof *g->label);
    BENCH_CHECK(g->from && g->to && g->label, "out of memory");
    gen_calls(&s); /* first: calls_first indexes the edge arrays */
    gen_contains(&s);
    gen_uses(&s);
    gen_implements(&s);
    BENCH_CHECK(g->n_label[GL_CALLS] == g->calls_first[gb_nf(g)], "CALLS are not first");
}

void gb_release(gb_graph *g)
{
    free(g->from);
    free(g->to);
    free(g->label);
    free(g->calls_first);
    memset(g, 0, sizeof *g);
}

gb_kind gb_kind_of(const gb_graph *g, uint32_t node)
{
    BENCH_CHECK(node < g->n_nodes, "node %u out of range", node);
    int k = 0;
    while (node >= g->kind_first[k + 1]) k++;
    return (gb_kind)k;
}

int gb_key(const gb_graph *g, uint32_t node, char *buf, size_t cap)
{
    gb_kind k = gb_kind_of(g, node);
    int n = snprintf(buf, cap, "%c%u", gb_kind_prefix[k], node - g->kind_first[k]);
    BENCH_CHECK(n > 0 && (size_t)n < cap, "key buffer too small");
    return n;
}

int gb_ref(const gb_graph *g, uint32_t node, char *buf, size_t cap)
{
    gb_kind k = gb_kind_of(g, node);
    int n = snprintf(buf, cap, "%s/%c%u", gb_kind_coll[k], gb_kind_prefix[k],
                     node - g->kind_first[k]);
    BENCH_CHECK(n > 0 && (size_t)n < cap, "reference buffer too small");
    return n;
}

void gb_sig(uint32_t node, uint32_t v, char out[17])
{
    uint64_t x = ((uint64_t)node << 20 ^ v) * 0x9e3779b97f4a7c15u + 1;
    x = bench_rand(&x);
    snprintf(out, 17, "%016llx", (unsigned long long)x);
}

uint32_t gb_retarget(const gb_graph *g, size_t e, uint32_t rep)
{
    uint32_t nf = gb_nf(g);
    BENCH_CHECK(e < g->n_edges && g->label[e] == GL_CALLS, "edge %zu is no call", e);
    uint32_t to = (uint32_t)(((uint64_t)g->to[e] + 1 + rep) % nf);
    return to == g->from[e] ? (to + 1) % nf : to;
}

/* ------------------------------------------------------------ references */

void gb_csr_build(gb_csr *c, const gb_graph *g, int label, int reverse)
{
    c->n = g->n_nodes;
    c->off = calloc((size_t)c->n + 1, sizeof *c->off);
    BENCH_CHECK(c->off, "out of memory");
    size_t m = 0;
    for (size_t e = 0; e < g->n_edges; e++) {
        if (label >= 0 && g->label[e] != label) continue;
        c->off[(reverse ? g->to[e] : g->from[e]) + 1]++;
        m++;
    }
    for (uint32_t v = 0; v < c->n; v++) c->off[v + 1] += c->off[v];
    c->adj = malloc((m ? m : 1) * sizeof *c->adj);
    size_t *fill = malloc(((size_t)c->n + 1) * sizeof *fill);
    BENCH_CHECK(c->adj && fill, "out of memory");
    memcpy(fill, c->off, ((size_t)c->n + 1) * sizeof *fill);
    for (size_t e = 0; e < g->n_edges; e++) {
        if (label >= 0 && g->label[e] != label) continue;
        uint32_t a = reverse ? g->to[e] : g->from[e], b = reverse ? g->from[e] : g->to[e];
        c->adj[fill[a]++] = b;
    }
    free(fill);
}

void gb_csr_release(gb_csr *c)
{
    free(c->off);
    free(c->adj);
    memset(c, 0, sizeof *c);
}

void gb_bfs_init(gb_bfs *b, uint32_t n)
{
    b->n = n;
    b->stamp = 0;
    b->seen = calloc(n, sizeof *b->seen);
    b->queue = malloc((size_t)n * sizeof *b->queue);
    b->depth = malloc((size_t)n * sizeof *b->depth);
    BENCH_CHECK(b->seen && b->queue && b->depth, "out of memory");
}

void gb_bfs_release(gb_bfs *b)
{
    free(b->seen);
    free(b->queue);
    free(b->depth);
    memset(b, 0, sizeof *b);
}

size_t gb_bfs_count(gb_bfs *b, const gb_csr *c, uint32_t start, uint32_t hops)
{
    BENCH_CHECK(start < b->n && c->n == b->n, "bfs: bad start %u", start);
    if (++b->stamp == 0) { /* wrapped: clear once every 4 billion queries */
        memset(b->seen, 0, (size_t)b->n * sizeof *b->seen);
        b->stamp = 1;
    }
    size_t head = 0, tail = 0;
    b->seen[start] = b->stamp;
    b->queue[tail] = start;
    b->depth[tail++] = 0;
    while (head < tail) { /* bounded: each node enters the queue once */
        uint32_t v = b->queue[head], d = b->depth[head++];
        if (d == hops) continue;
        for (size_t i = c->off[v]; i < c->off[v + 1]; i++) {
            uint32_t w = c->adj[i];
            if (b->seen[w] == b->stamp) continue;
            b->seen[w] = b->stamp;
            b->queue[tail] = w;
            b->depth[tail++] = d + 1;
        }
    }
    return tail;
}

/* Iterative Tarjan state. */
typedef struct tarjan {
    const gb_csr *c;
    uint32_t *index, *low, *stack, *frame;
    size_t *pos;
    uint8_t *on;
    uint32_t counter, sp, fp, ncomp, largest;
} tarjan;

#define T_UNSEEN UINT32_MAX

static void t_enter(tarjan *t, uint32_t v)
{
    t->index[v] = t->low[v] = t->counter++;
    t->stack[t->sp++] = v;
    t->on[v] = 1;
    t->pos[v] = t->c->off[v];
    t->frame[t->fp++] = v;
}

/* v's links are done: pop its component if it is a root, pass low up. */
static void t_leave(tarjan *t, uint32_t v)
{
    t->fp--;
    if (t->low[v] == t->index[v]) {
        uint32_t size = 0, w;
        do {
            w = t->stack[--t->sp];
            t->on[w] = 0;
            size++;
        } while (w != v);
        t->ncomp++;
        if (size > t->largest) t->largest = size;
    }
    if (t->fp > 0) {
        uint32_t u = t->frame[t->fp - 1];
        if (t->low[v] < t->low[u]) t->low[u] = t->low[v];
    }
}

static void t_root(tarjan *t, uint32_t root)
{
    t_enter(t, root);
    while (t->fp > 0) { /* bounded: every node enters and leaves once, every link once */
        uint32_t v = t->frame[t->fp - 1];
        if (t->pos[v] == t->c->off[v + 1]) {
            t_leave(t, v);
            continue;
        }
        uint32_t w = t->c->adj[t->pos[v]++];
        if (t->index[w] == T_UNSEEN) t_enter(t, w);
        else if (t->on[w] && t->index[w] < t->low[v]) t->low[v] = t->index[w];
    }
}

void gb_scc(const gb_graph *g, uint32_t *ncomp, uint32_t *largest)
{
    gb_csr c;
    gb_csr_build(&c, g, -1, 0);
    uint32_t n = c.n;
    tarjan t = {.c = &c};
    t.index = malloc((size_t)n * sizeof *t.index);
    t.low = malloc((size_t)n * sizeof *t.low);
    t.stack = malloc((size_t)n * sizeof *t.stack);
    t.frame = malloc((size_t)n * sizeof *t.frame);
    t.pos = malloc((size_t)n * sizeof *t.pos);
    t.on = calloc(n, 1);
    uint8_t *has_edge = calloc(n, 1);
    BENCH_CHECK(t.index && t.low && t.stack && t.frame && t.pos && t.on && has_edge,
                "out of memory");
    for (size_t e = 0; e < g->n_edges; e++) has_edge[g->from[e]] = has_edge[g->to[e]] = 1;
    for (uint32_t v = 0; v < n; v++) t.index[v] = T_UNSEEN;
    for (uint32_t v = 0; v < n; v++)
        if (has_edge[v] && t.index[v] == T_UNSEEN) t_root(&t, v);
    *ncomp = t.ncomp;
    *largest = t.largest;
    free(t.index);
    free(t.low);
    free(t.stack);
    free(t.frame);
    free(t.pos);
    free(t.on);
    free(has_edge);
    gb_csr_release(&c);
}

/* ------------------------------------------------------------ files */

void gb_write_files(const gb_graph *g, const uint32_t *starts, size_t nstarts,
                    const char *dir)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/edges.tsv", dir);
    FILE *f = fopen(path, "w");
    BENCH_CHECK(f != NULL, "cannot write '%s'", path);
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    for (size_t e = 0; e < g->n_edges; e++)
        fprintf(f, "%u\t%u\t%s\n", g->from[e], g->to[e], gb_label_name[g->label[e]]);
    BENCH_CHECK(fclose(f) == 0, "cannot write '%s'", path);
    snprintf(path, sizeof path, "%s/starts.txt", dir);
    f = fopen(path, "w");
    BENCH_CHECK(f != NULL, "cannot write '%s'", path);
    for (size_t i = 0; i < nstarts; i++) fprintf(f, "%u\n", starts[i]);
    BENCH_CHECK(fclose(f) == 0, "cannot write '%s'", path);
}

double gb_rss_mb(void)
{
    char line[256];
    double mb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    BENCH_CHECK(f != NULL, "cannot read /proc/self/status");
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) mb = strtod(line + 6, NULL) / 1024.0;
    fclose(f);
    return mb;
}

static uint64_t g_du;

static int du_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F) g_du += (uint64_t)sb->st_blocks * 512u;
    return 0;
}

uint64_t gb_disk_bytes(const char *dir)
{
    g_du = 0;
    BENCH_CHECK(nftw(dir, du_entry, 32, FTW_PHYS) == 0, "cannot walk '%s'", dir);
    return g_du;
}
