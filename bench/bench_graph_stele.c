/*
 * bench_graph_stele.c — Stele as a graph peer of benchmark 8, through include/stele.h
 * only. Compiled only with STELE_HAVE_GRAPH_API (CMake option STELE_BENCH_GRAPH), the
 * day the graph section of stele.h is implemented; until then benchmark 8 runs the
 * peers alone.
 *
 * The graph as documents: every node a document of its kind's collection ("function",
 * "struct", "trait", "module") {"_id":"f12","name":"f12","sig":"<16 hex>"}; every edge
 * a document of the collection "edges" {"_id":"e7","_from":"function/f12",
 * "_to":"function/f99","_label":"CALLS"}. Loaded with stele_import (NDJSON, one call
 * per GS_IMPORT_DOCS documents: an import is held in memory whole) on a handle opened
 * with STELE_DURABLE_NONE, nodes first (edges must name live nodes), then closed
 * (durable), all in a forked child; the load time is the import calls and the close,
 * not the making of the text. Reopened (in the peer process, which never held the
 * load's buffers, so "RSS open" is what opening the store costs) with STELE_DURABLE_FSYNC: the open is timed until the first
 * stele_graph_neighbors has answered. Start nodes are resolved with stele_node_lookup.
 *
 *   1-hop    stele_graph_neighbors(node, STELE_DIR_IN | STELE_DIR_OUT, "CALLS")
 *   k-hop    stele_graph_traverse(start, STELE_DIR_IN, "CALLS", k) with distances
 *   SCC      stele_graph_scc(NULL: every label, now)
 *   update   one stele_txn of GB_UPDATE_FUNCS "replace" ops on functions (a new sig) and
 *            one "replace" per call of those functions (the edge re-pointed), synced
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "bench_graph.h"
#include "stele.h"

#ifdef STELE_HAVE_GRAPH_API

#define GS_USER "bench"
#define GS_PASSWORD "bench-password"
#define GS_IMPORT_DOCS 200000u  /* documents per stele_import (≈1 KiB of RAM each) */
#define GS_LINE_MAX 160         /* bytes of one NDJSON line or one update op */
#define GS_NEIGHBORS_CAP 4096u  /* first size of the neighbours buffer; grows */
#define GS_EDGES_COLL "edges"

typedef struct sg {
    stele *db;
    stele_node *start;          /* the start nodes, resolved */
    stele_node *nb;             /* neighbours buffer */
    size_t nb_cap;
    char *txn;                  /* the prepared update */
    size_t txn_len, txn_cap, txn_edges;
} sg;

static void gs_check(stele *db, stele_status rc, const char *what)
{
    BENCH_CHECK(rc == STELE_OK, "stele %s: %s: %s", what, stele_strerror(rc),
                db ? stele_errmsg(db) : "");
}

static stele *gs_open(const char *store, stele_durability d)
{
    stele_open_options o = {.store_dir = store,
                            .user = GS_USER,
                            .password = GS_PASSWORD,
                            .password_len = strlen(GS_PASSWORD),
                            .durability = d};
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    BENCH_CHECK(db != NULL, "stele open: out of memory");
    gs_check(db, rc, "open");
    return db;
}

/* A growable text buffer for NDJSON and transactions. */
typedef struct gtext {
    char *p;
    size_t len, cap;
} gtext;

static void gt_reserve(gtext *t, size_t more)
{
    if (t->len + more <= t->cap) return;
    while (t->len + more > t->cap) t->cap = t->cap ? t->cap * 2 : 1 << 20;
    t->p = realloc(t->p, t->cap);
    BENCH_CHECK(t->p, "out of memory");
}

/* Appends printf output (at most GS_LINE_MAX bytes). */
static void gt_printf(gtext *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gt_printf(gtext *t, const char *fmt, ...)
{
    va_list ap;
    gt_reserve(t, GS_LINE_MAX);
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, GS_LINE_MAX, fmt, ap);
    va_end(ap);
    BENCH_CHECK(n > 0 && n < GS_LINE_MAX, "line too long");
    t->len += (size_t)n;
}

/* Imports t into coll and empties it; returns the seconds spent in stele_import. */
static unsigned g_imports; /* stele_import calls of the load */

static double gs_import(stele *db, const char *coll, gtext *t)
{
    if (t->len == 0) return 0;
    g_imports++;
    stele_import_options o = {.format = STELE_IO_NDJSON};
    uint64_t t0 = bench_now_ns();
    gs_check(db, stele_import(db, coll, t->p, t->len, &o, NULL), "import");
    double s = (double)(bench_now_ns() - t0) / 1e9;
    t->len = 0;
    return s;
}

/* Loads every node and edge; returns the seconds spent in Stele. */
static double gs_load_all(stele *db, const gb_graph *g)
{
    gtext t = {0};
    char key[32], from[48], to[48], sig[17];
    double secs = 0;
    for (int k = 0; k < GK_COUNT; k++) {
        for (uint32_t v = g->kind_first[k], n = 0; v < g->kind_first[k + 1]; v++) {
            gb_key(g, v, key, sizeof key);
            gb_sig(v, 0, sig);
            gt_printf(&t, "{\"_id\":\"%s\",\"name\":\"%s\",\"sig\":\"%s\"}\n", key, key, sig);
            if (++n % GS_IMPORT_DOCS == 0) secs += gs_import(db, gb_kind_coll[k], &t);
        }
        secs += gs_import(db, gb_kind_coll[k], &t);
    }
    for (size_t e = 0; e < g->n_edges; e++) {
        gb_ref(g, g->from[e], from, sizeof from);
        gb_ref(g, g->to[e], to, sizeof to);
        gt_printf(&t, "{\"_id\":\"e%zu\",\"_from\":\"%s\",\"_to\":\"%s\",\"_label\":\"%s\"}\n", e,
                  from, to, gb_label_name[g->label[e]]);
        if ((e + 1) % GS_IMPORT_DOCS == 0) secs += gs_import(db, GS_EDGES_COLL, &t);
    }
    secs += gs_import(db, GS_EDGES_COLL, &t);
    free(t.p);
    return secs;
}

static stele_node gs_lookup(stele *db, const gb_graph *g, uint32_t v)
{
    char ref[64];
    stele_node n = 0;
    gb_ref(g, v, ref, sizeof ref);
    gs_check(db, stele_node_lookup(db, ref, &n), ref);
    return n;
}

static size_t gs_neighbors(void *p, size_t i, int in)
{
    sg *h = p;
    size_t n = 0;
    for (int tries = 0; tries < 2; tries++) { /* the second call has room for all */
        gs_check(h->db, stele_graph_neighbors(h->db, h->start[i],
                                              in ? STELE_DIR_IN : STELE_DIR_OUT, "CALLS",
                                              h->nb, h->nb_cap, &n), "graph_neighbors");
        if (n <= h->nb_cap) return n;
        h->nb_cap = n;
        h->nb = realloc(h->nb, n * sizeof *h->nb);
        BENCH_CHECK(h->nb, "out of memory");
    }
    bench_die("stele_graph_neighbors: the count changed between two calls");
}

static size_t gs_traverse(void *p, size_t i, uint32_t hops)
{
    sg *h = p;
    stele_node *nodes = NULL;
    uint32_t *dist = NULL;
    size_t n = 0;
    gs_check(h->db, stele_graph_traverse(h->db, &h->start[i], 1, STELE_DIR_IN, "CALLS", hops, 0,
                                         &nodes, &dist, &n), "graph_traverse");
    BENCH_CHECK(n == 0 || (nodes && dist), "graph_traverse: no result arrays");
    stele_free(nodes);
    stele_free(dist);
    return n;
}

static void gs_scc(void *p, uint32_t *ncomp, uint32_t *largest)
{
    sg *h = p;
    gs_check(h->db, stele_graph_scc(h->db, NULL, 0, ncomp, largest), "graph_scc");
}

/* What the loading child reports. */
typedef struct gs_loaded {
    double secs, close_s, rss_load_mb;
    unsigned imports;
} gs_loaded;

/* Loads the graph in a forked child (open, imports, close) and returns its figures:
 * the reopen that follows then happens in a process that never held the load's
 * buffers, so its RSS is that of a process opening the store (freed heap pages of
 * the load would otherwise stay in this process and hide what the open costs). */
static gs_loaded gs_load_child(const char *store, const gb_graph *g)
{
    int fd[2];
    BENCH_CHECK(pipe(fd) == 0, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    BENCH_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(fd[0]);
        gs_loaded L = {0};
        double rss0 = gb_rss_mb();
        uint64_t t0 = bench_now_ns();
        stele *db = gs_open(store, STELE_DURABLE_NONE);
        L.secs = (double)(bench_now_ns() - t0) / 1e9 + gs_load_all(db, g);
        L.rss_load_mb = gb_rss_mb() - rss0;
        t0 = bench_now_ns();
        gs_check(NULL, stele_close(db), "close");
        L.close_s = (double)(bench_now_ns() - t0) / 1e9;
        L.imports = g_imports;
        ssize_t w = write(fd[1], &L, sizeof L);
        _exit(w == (ssize_t)sizeof L ? 0 : 1);
    }
    close(fd[1]);
    gs_loaded L;
    ssize_t r = read(fd[0], &L, sizeof L);
    close(fd[0]);
    int st = 0;
    BENCH_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
                    r == (ssize_t)sizeof L, "the Stele loading child failed");
    return L;
}

static void *gs_load(const gb_graph *g, const uint32_t *starts, size_t nstarts,
                     const char *dir, gpeer_load *out)
{
    char store[4300], err[512] = "";
    snprintf(store, sizeof store, "%s/store", dir);
    stele_init_options io = {.store_dir = store,
                             .user = GS_USER,
                             .password = GS_PASSWORD,
                             .password_len = strlen(GS_PASSWORD),
                             .kdf = STELE_KDF_INSECURE_TEST};
    stele_status rc = stele_store_init(&io, err, sizeof err);
    BENCH_CHECK(rc == STELE_OK, "stele init '%s': %s: %s", store, stele_strerror(rc), err);

    gs_loaded L = gs_load_child(store, g);
    out->load_s = L.secs + L.close_s;
    out->rss_load_mb = L.rss_load_mb;
    out->disk_mb = (double)gb_disk_bytes(dir) / 1e6;
    double close_s = L.close_s;
    g_imports = L.imports;

    sg *h = calloc(1, sizeof *h);
    BENCH_CHECK(h, "out of memory");
    h->nb_cap = GS_NEIGHBORS_CAP;
    h->nb = malloc(h->nb_cap * sizeof *h->nb);
    h->start = malloc(nstarts * sizeof *h->start);
    BENCH_CHECK(h->nb && h->start, "out of memory");
    double rss1 = gb_rss_mb();
    uint64_t t0 = bench_now_ns();
    h->db = gs_open(store, STELE_DURABLE_FSYNC);
    h->start[0] = gs_lookup(h->db, g, starts[0]);
    gs_neighbors(h, 0, 1);
    out->open_ms = (double)(bench_now_ns() - t0) / 1e6;
    out->rss_open_mb = gb_rss_mb() - rss1;
    for (size_t i = 1; i < nstarts; i++) h->start[i] = gs_lookup(h->db, g, starts[i]);
    snprintf(out->note, sizeof out->note, "load = open + %u stele_import calls (NDJSON, <= %u "
             "documents each) + close (%.2f s of it)", g_imports, GS_IMPORT_DOCS, close_s);
    return h;
}

static void gs_update_prepare(void *p, const gb_graph *g, uint32_t first, uint32_t rep)
{
    sg *h = p;
    gtext t = {h->txn, 0, h->txn_cap};
    char key[32], from[48], to[48], sig[17];
    h->txn_edges = 0;
    gt_printf(&t, "{\"ops\":[");
    for (uint32_t f = first; f < first + GB_UPDATE_FUNCS; f++) {
        gb_key(g, f, key, sizeof key);
        gb_sig(f, rep + 1, sig);
        gt_printf(&t, "%s{\"op\":\"replace\",\"coll\":\"function\",\"id\":\"%s\",\"doc\":"
                      "{\"name\":\"%s\",\"sig\":\"%s\"}}", f == first ? "" : ",", key, key, sig);
        for (size_t e = g->calls_first[f]; e < g->calls_first[f + 1]; e++, h->txn_edges++) {
            gb_ref(g, g->from[e], from, sizeof from);
            gb_ref(g, gb_retarget(g, e, rep), to, sizeof to);
            gt_printf(&t, ",{\"op\":\"replace\",\"coll\":\"" GS_EDGES_COLL "\",\"id\":\"e%zu\","
                          "\"doc\":{\"_from\":\"%s\",\"_to\":\"%s\",\"_label\":\"CALLS\"}}",
                      e, from, to);
        }
    }
    gt_printf(&t, "]}");
    h->txn = t.p;
    h->txn_len = t.len;
    h->txn_cap = t.cap;
}

static size_t gs_update(void *p)
{
    sg *h = p;
    gs_check(h->db, stele_txn(h->db, h->txn, h->txn_len, NULL, NULL), "txn");
    return h->txn_edges;
}

static void gs_close(void *p)
{
    sg *h = p;
    gs_check(NULL, stele_close(h->db), "close");
    free(h->start);
    free(h->nb);
    free(h->txn);
    free(h);
}

/* The "memory" object of stele_stat, in MB. */
static void gs_mem_detail(void *p, char *out, size_t n)
{
    sg *h = p;
    char *json = NULL;
    if (stele_stat(h->db, &json) != STELE_OK || !json) return;
    const char *m = strstr(json, "\"memory\":{");
    size_t w = 0;
    out[0] = 0;
    for (m = m ? m + 10 : NULL; m && *m && *m != '}' && w + 40 < n;) {
        char key[32];
        unsigned long long v;
        int used = 0;
        if (sscanf(m, "\"%31[^\"]\":%llu%n", key, &v, &used) != 2) break;
        w += (size_t)snprintf(out + w, n - w, "%s%s %.1f MB", w ? ", " : "", key, v / 1048576.0);
        m += used;
        if (*m == ',') m++;
    }
    stele_free(json);
}

const gpeer_ops gb_stele_ops = {
    .name = "Stele",
    .load = gs_load,
    .neighbors = gs_neighbors,
    .traverse = gs_traverse,
    .scc = gs_scc,
    .update_prepare = gs_update_prepare,
    .update = gs_update,
    .close = gs_close,
    .mem_detail = gs_mem_detail,
};

#endif /* STELE_HAVE_GRAPH_API */
