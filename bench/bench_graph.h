/*
 * bench_graph.h — the pieces of benchmark 8 (graph): a synthetic interface signature
 * graph (seed 003), reference answers computed on its arrays, and the "graph peers"
 * that answer the same queries: SQLite (bench_graph_sqlite.c), networkx
 * (graph_peer.py) and Stele (bench_graph_stele.c, only with STELE_HAVE_GRAPH_API).
 *
 *   bench_graph_gen.c    the generator, CSR adjacency, BFS and SCC references, files
 *   bench_graph_peer.c   the peer protocol: a peer is a child process that reads one
 *                        command per line and answers one JSON line; C peers are forked
 *                        servers around a gpeer_ops, networkx is /usr/bin/python3
 *   bench_graph.c        section 8: sizes, the interleaved runs, checks and the report
 *
 * Node numbers are dense: functions [0, nf), then structs, traits, modules (kind_first).
 * CALLS edges join functions only and come first in the edge arrays, grouped by caller
 * (calls_first[f] .. calls_first[f + 1]), so that the update workload can find the calls
 * of a function. There are no duplicate (from, to, label) triples and no self-loops, so
 * that a multigraph (Stele, SQLite) and a simple digraph (networkx) hold the same graph.
 */
#ifndef STELE_BENCH_GRAPH_H
#define STELE_BENCH_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { GK_FUNCTION, GK_STRUCT, GK_TRAIT, GK_MODULE, GK_COUNT } gb_kind;
typedef enum { GL_CALLS, GL_CONTAINS, GL_IMPLEMENTS, GL_USES, GL_COUNT } gb_label;

extern const char *const gb_kind_coll[GK_COUNT];  /* "function", "struct", ... */
extern const char gb_kind_prefix[GK_COUNT];       /* 'f', 's', 't', 'm' */
extern const char *const gb_label_name[GL_COUNT]; /* "CALLS", ... */

typedef struct gb_graph {
    uint64_t lines, seed;
    uint32_t n_nodes;
    uint32_t kind_first[GK_COUNT + 1]; /* nodes of kind k: [kind_first[k], kind_first[k+1]) */
    size_t n_edges;
    uint32_t *from, *to;
    uint8_t *label;          /* gb_label */
    size_t n_label[GL_COUNT];
    size_t *calls_first;     /* nf + 1 offsets into the edge arrays (CALLS of function f) */
} gb_graph;

/* Generates the graph of `lines` lines of code from `seed` (same inputs, same graph). */
void gb_generate(gb_graph *g, uint64_t lines, uint64_t seed);
void gb_release(gb_graph *g);
static inline uint32_t gb_nf(const gb_graph *g) { return g->kind_first[GK_FUNCTION + 1]; }
gb_kind gb_kind_of(const gb_graph *g, uint32_t node);
/* "function/f12" into buf; returns its length. */
int gb_ref(const gb_graph *g, uint32_t node, char *buf, size_t cap);
/* "f12" (the _id / name within the collection). */
int gb_key(const gb_graph *g, uint32_t node, char *buf, size_t cap);
/* The node's signature hash for version `v` (16 hex digits; v 0 = as generated). */
void gb_sig(uint32_t node, uint32_t v, char out[17]);

/* The new callee of CALLS edge e in update number rep (never its caller). */
uint32_t gb_retarget(const gb_graph *g, size_t e, uint32_t rep);

/* ---- adjacency and references ---- */

/* Compressed adjacency: the neighbours of node v are adj[off[v] .. off[v + 1]). */
typedef struct gb_csr {
    uint32_t n;
    size_t *off;
    uint32_t *adj;
} gb_csr;

/* Edges whose label is `label` (or every label if label < 0), reversed if `reverse`. */
void gb_csr_build(gb_csr *c, const gb_graph *g, int label, int reverse);
void gb_csr_release(gb_csr *c);

/* Breadth-first search state reused across queries (stamps avoid clearing). */
typedef struct gb_bfs {
    uint32_t n, stamp;
    uint32_t *seen, *queue, *depth;
} gb_bfs;

void gb_bfs_init(gb_bfs *b, uint32_t n);
void gb_bfs_release(gb_bfs *b);
/* Distinct nodes within `hops` hops of start in c, the start included. */
size_t gb_bfs_count(gb_bfs *b, const gb_csr *c, uint32_t start, uint32_t hops);

/* Strongly connected components of the whole graph (every label), over the nodes that
 * have at least one edge: iterative Tarjan, no recursion. */
void gb_scc(const gb_graph *g, uint32_t *ncomp, uint32_t *largest);

/* ---- files for the out-of-process peers ---- */

/* <dir>/edges.tsv ("from\tto\tLABEL\n", node numbers) and <dir>/starts.txt (one node
 * number per line). */
void gb_write_files(const gb_graph *g, const uint32_t *starts, size_t nstarts,
                    const char *dir);

/* ---- peers ---- */

#define GB_HOPS_MAX 8

typedef struct gpeer_load {
    double load_s;      /* create + bulk load + index build, until durable */
    double open_ms;     /* reopen until the first neighbours query has answered */
    double rss_load_mb; /* VmRSS growth of the peer process over the load */
    double rss_open_mb; /* VmRSS growth over the reopen (the loading handle closed) */
    double disk_mb;     /* bytes on disk after the load */
    char note[512];     /* printed under the table (SQLite: its query plans) */
} gpeer_load;

/* What a C peer implements; the server loop (bench_graph_peer.c) times the calls. A peer
 * handle is made by load() in the child process. NULL members are not supported. */
typedef struct gpeer_ops {
    const char *name;
    /* Creates and loads the store under dir, reopens it, resolves the start nodes
     * (graph node numbers) to its own ids; fills the load figures. */
    void *(*load)(const gb_graph *g, const uint32_t *starts, size_t nstarts,
                  const char *dir, gpeer_load *out);
    /* CALLS neighbours of start i (in = callers, else callees); returns how many. */
    size_t (*neighbors)(void *h, size_t i, int in);
    /* Distinct nodes within `hops` CALLS hops backwards (callers, transitively) of start
     * i, the start included; returns how many. */
    size_t (*traverse)(void *h, size_t i, uint32_t hops);
    /* Strongly connected components of the whole graph (every label). */
    void (*scc)(void *h, uint32_t *ncomp, uint32_t *largest);
    /* Update number `rep`, in two steps: prepare (not timed) whatever the call needs, then
     * one durable transaction replacing the GB_UPDATE_FUNCS functions from `first` (a
     * new signature) and their CALLS edges (re-pointed by gb_retarget); update returns
     * the number of edges replaced. */
    void (*update_prepare)(void *h, const gb_graph *g, uint32_t first, uint32_t rep);
    size_t (*update)(void *h);
    void (*close)(void *h);
    /* Optional: where the peer's memory goes, one line of text (NULL: nothing to say). */
    void (*mem_detail)(void *h, char *out, size_t n);
} gpeer_ops;


extern const gpeer_ops gb_sqlite_ops;
#ifdef STELE_HAVE_GRAPH_API
extern const gpeer_ops gb_stele_ops;
#endif

#define GB_UPDATE_FUNCS 100u /* functions replaced per update transaction */

/* A running peer: a child process and the two ends of its pipes. */
typedef struct gpeer {
    const char *name;
    int pid;
    FILE *cmd, *reply;
} gpeer;

/* Forks a C peer serving `ops` over the graph (inherited by the child). */
void gpeer_start_c(gpeer *p, const gpeer_ops *ops, const gb_graph *g, const uint32_t *starts,
                   size_t nstarts);
/* Starts /usr/bin/python3 graph_peer.py (STELE_BENCH_PYTHON, STELE_BENCH_GRAPH_PEER
 * override the interpreter and the script). */
void gpeer_start_python(gpeer *p);
/* Sends one command line, returns the JSON answer (a json_t *, caller json_decref's);
 * dies if the peer fails or answers {"error":...}. */
void *gpeer_call(gpeer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gpeer_stop(gpeer *p);
/* Reads /proc/self/status VmRSS in MB. */
double gb_rss_mb(void);
/* Bytes allocated on disk under dir. */
uint64_t gb_disk_bytes(const char *dir);

#endif
