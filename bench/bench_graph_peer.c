/*
 * bench_graph_peer.c — the graph peers of benchmark 8 as child processes that answer
 * commands, one per line, each with one JSON line (jansson):
 *
 *   load DIR      build the store under DIR from the graph, reopen it, resolve the
 *                 start nodes  -> {"load_s","open_ms","rss_load_mb","rss_open_mb","disk_mb"}
 *   n1 in|out     CALLS neighbours of every start, each call timed
 *                 -> {"p50_us","p99_us","sum_us","counts":[one per start]}
 *   hop K         distinct nodes within K CALLS hops backwards (blast radius), timed
 *                 -> the same
 *   mem           -> {"rss_mb"}: VmRSS now minus VmRSS before the load
 *   scc           strongly connected components of the whole graph
 *                 -> {"s","ncomp","largest"} or {"skip":true}
 *   update R N    N durable update transactions, numbers R..R+N-1 -> {"p50_ms","p99_ms",
 *                 "edges"} or {"skip":true}
 *   quit          -> {} and the process exits
 *
 * A failure answers {"error":"..."} (networkx) or kills the C child (bench_die), which the
 * parent sees as end of file; either fails the run. Every peer is its own process so that
 * its memory figures are its own and so that the parent can interleave the peers' runs
 * (drift on the shared machine hits every system alike). The C children are forked and
 * inherit the generated graph; networkx (graph_peer.py) reads it from DIR/edges.tsv and
 * the start nodes from DIR/starts.txt.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "bench_graph.h"

#ifndef STELE_BENCH_SRC_DIR
#define STELE_BENCH_SRC_DIR "bench"
#endif
#define PYTHON_DEFAULT "/usr/bin/python3" /* Debian's, with python3-networkx */
#define PEERS_MAX 8
#define CMD_MAX 4200

static int g_fds[PEERS_MAX * 2]; /* pipe ends the parent holds, closed in new children */
static int g_nfds;

static void fds_add(int a, int b)
{
    BENCH_CHECK(g_nfds + 2 <= PEERS_MAX * 2, "too many peers");
    g_fds[g_nfds++] = a;
    g_fds[g_nfds++] = b;
}

static void fds_remove(int a)
{
    for (int i = 0; i < g_nfds; i++)
        if (g_fds[i] == a) g_fds[i] = g_fds[--g_nfds];
}

/* In a new child: the other peers' pipes must not stay open here, or they would not see
 * the end of file when the parent goes. close(), not fclose(): nothing to flush. */
static void fds_close_inherited(void)
{
    for (int i = 0; i < g_nfds; i++) close(g_fds[i]);
    g_nfds = 0;
}

/* Makes the two pipes; the child's ends are returned in child_in/child_out. */
static void peer_pipes(gpeer *p, int *child_in, int *child_out)
{
    int to_child[2], from_child[2];
    BENCH_CHECK(pipe2(to_child, O_CLOEXEC) == 0 && pipe2(from_child, O_CLOEXEC) == 0,
                "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    p->pid = fork();
    BENCH_CHECK(p->pid >= 0, "fork: %s", strerror(errno));
    if (p->pid == 0) {
        close(to_child[1]);
        close(from_child[0]);
        fds_close_inherited();
        *child_in = to_child[0];
        *child_out = from_child[1];
        return;
    }
    close(to_child[0]);
    close(from_child[1]);
    p->cmd = fdopen(to_child[1], "w");
    p->reply = fdopen(from_child[0], "r");
    BENCH_CHECK(p->cmd && p->reply, "fdopen");
    fds_add(to_child[1], from_child[0]);
    *child_in = *child_out = -1;
}

/* ------------------------------------------------------------ the C server */

typedef struct server {
    const gpeer_ops *ops;
    const gb_graph *g;
    const uint32_t *starts;
    size_t nstarts;
    void *h;
    double *lat, rss_base_mb;
    FILE *out;
} server;

static void reply(server *s, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    BENCH_CHECK(text != NULL, "json_dumps");
    fprintf(s->out, "%s\n", text);
    BENCH_CHECK(fflush(s->out) == 0, "peer %s: cannot answer", s->ops->name);
    free(text);
    json_decref(obj);
}

static void srv_load(server *s, const char *dir)
{
    gpeer_load l = {0};
    s->rss_base_mb = gb_rss_mb();
    s->h = s->ops->load(s->g, s->starts, s->nstarts, dir, &l);
    reply(s, json_pack("{s:f,s:f,s:f,s:f,s:f,s:s}", "load_s", l.load_s, "open_ms", l.open_ms,
                       "rss_load_mb", l.rss_load_mb, "rss_open_mb", l.rss_open_mb, "disk_mb",
                       l.disk_mb, "note", l.note));
}

/* Times one query per start: kind 0 = neighbours (arg: in), 1 = traverse (arg: hops). */
static void srv_queries(server *s, int kind, unsigned arg)
{
    json_t *counts = json_array();
    double sum = 0;
    for (size_t i = 0; i < s->nstarts; i++) {
        uint64_t t0 = bench_now_ns();
        size_t n = kind == 0 ? s->ops->neighbors(s->h, i, (int)arg)
                             : s->ops->traverse(s->h, i, arg);
        s->lat[i] = (double)(bench_now_ns() - t0) / 1e3;
        sum += s->lat[i];
        json_array_append_new(counts, json_integer((json_int_t)n));
    }
    double p50 = bench_percentile(s->lat, s->nstarts, 50);
    double p99 = bench_percentile(s->lat, s->nstarts, 99);
    reply(s, json_pack("{s:f,s:f,s:f,s:o}", "p50_us", p50, "p99_us", p99, "sum_us", sum,
                       "counts", counts));
}

static void srv_scc(server *s)
{
    if (!s->ops->scc) {
        reply(s, json_pack("{s:b}", "skip", 1));
        return;
    }
    uint32_t ncomp = 0, largest = 0;
    uint64_t t0 = bench_now_ns();
    s->ops->scc(s->h, &ncomp, &largest);
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    reply(s, json_pack("{s:f,s:I,s:I}", "s", secs, "ncomp", (json_int_t)ncomp, "largest",
                       (json_int_t)largest));
}

/* The first function of update number r: windows spread over the functions. */
static uint32_t update_window(const gb_graph *g, uint32_t r)
{
    uint32_t nf = gb_nf(g);
    BENCH_CHECK(nf > 2 * GB_UPDATE_FUNCS, "graph too small for updates");
    return (uint32_t)((uint64_t)r * 7919u * GB_UPDATE_FUNCS % (nf - GB_UPDATE_FUNCS));
}

static void srv_update(server *s, unsigned first, unsigned n)
{
    if (!s->ops->update) {
        reply(s, json_pack("{s:b}", "skip", 1));
        return;
    }
    BENCH_CHECK(n >= 1 && n <= s->nstarts, "update: %u transactions", n);
    size_t edges = 0;
    for (unsigned i = 0; i < n; i++) {
        s->ops->update_prepare(s->h, s->g, update_window(s->g, first + i), first + i);
        uint64_t t0 = bench_now_ns();
        edges += s->ops->update(s->h);
        s->lat[i] = (double)(bench_now_ns() - t0) / 1e6;
    }
    double p50 = bench_percentile(s->lat, n, 50), p99 = bench_percentile(s->lat, n, 99);
    reply(s, json_pack("{s:f,s:f,s:f}", "p50_ms", p50, "p99_ms", p99, "edges",
                       (double)edges / n));
}

static void serve(server *s, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    char word[16], dir[CMD_MAX];
    unsigned a, b;
    for (;;) { /* one command per line until quit or the parent goes */
        if (getline(&line, &cap, in) < 0) break;
        if (sscanf(line, "load %4199s", dir) == 1) srv_load(s, dir);
        else if (sscanf(line, "n1 %15s", word) == 1) srv_queries(s, 0, strcmp(word, "in") == 0);
        else if (sscanf(line, "hop %u", &a) == 1 && a >= 1 && a <= GB_HOPS_MAX)
            srv_queries(s, 1, a);
        else if (strncmp(line, "scc", 3) == 0) srv_scc(s);
        else if (strncmp(line, "mem", 3) == 0) {
            char detail[512] = "";
            if (s->h && s->ops->mem_detail) s->ops->mem_detail(s->h, detail, sizeof detail);
            reply(s, json_pack("{s:f,s:s}", "rss_mb", gb_rss_mb() - s->rss_base_mb, "detail",
                               detail));
        }
        else if (sscanf(line, "update %u %u", &a, &b) == 2) srv_update(s, a, b);
        else if (strncmp(line, "quit", 4) == 0) {
            reply(s, json_object());
            break;
        } else bench_die("peer %s: unknown command '%s'", s->ops->name, line);
    }
    free(line);
    if (s->h) s->ops->close(s->h);
}

void gpeer_start_c(gpeer *p, const gpeer_ops *ops, const gb_graph *g, const uint32_t *starts,
                   size_t nstarts)
{
    int cin, cout;
    memset(p, 0, sizeof *p);
    p->name = ops->name;
    peer_pipes(p, &cin, &cout);
    if (p->pid != 0) return;
    server s = {.ops = ops, .g = g, .starts = starts, .nstarts = nstarts};
    s.lat = malloc(nstarts * sizeof *s.lat);
    FILE *in = fdopen(cin, "r");
    s.out = fdopen(cout, "w");
    BENCH_CHECK(s.lat && in && s.out, "peer %s: out of memory", ops->name);
    serve(&s, in);
    fflush(stdout);
    _exit(0); /* not exit(): the parent's atexit handlers (the temporary directory) */
}

void gpeer_start_python(gpeer *p)
{
    const char *py = getenv("STELE_BENCH_PYTHON");
    const char *script = getenv("STELE_BENCH_GRAPH_PEER");
    if (!py || !py[0]) py = PYTHON_DEFAULT;
    if (!script || !script[0]) script = STELE_BENCH_SRC_DIR "/graph_peer.py";
    int cin, cout;
    memset(p, 0, sizeof *p);
    p->name = "networkx";
    peer_pipes(p, &cin, &cout);
    if (p->pid != 0) return;
    if (dup2(cin, 0) < 0 || dup2(cout, 1) < 0) _exit(127);
    execl(py, py, script, (char *)NULL);
    fprintf(stderr, "stele_bench: cannot run %s %s: %s\n", py, script, strerror(errno));
    _exit(127);
}

void *gpeer_call(gpeer *p, const char *fmt, ...)
{
    char cmd[CMD_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    BENCH_CHECK(n > 0 && (size_t)n < sizeof cmd, "command too long");
    BENCH_CHECK(fprintf(p->cmd, "%s\n", cmd) > 0 && fflush(p->cmd) == 0,
                "peer %s: cannot send '%s' (it died?)", p->name, cmd);
    char *line = NULL;
    size_t cap = 0;
    BENCH_CHECK(getline(&line, &cap, p->reply) > 0, "peer %s died during '%s'", p->name, cmd);
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    BENCH_CHECK(j && json_is_object(j), "peer %s: bad answer to '%s': %s", p->name, cmd,
                j ? "not an object" : err.text);
    free(line);
    json_t *e = json_object_get(j, "error");
    BENCH_CHECK(e == NULL, "peer %s: '%s' failed: %s", p->name, cmd,
                json_is_string(e) ? json_string_value(e) : "?");
    return j;
}

void gpeer_stop(gpeer *p)
{
    if (p->pid <= 0) return;
    json_decref(gpeer_call(p, "quit"));
    fds_remove(fileno(p->cmd));
    fds_remove(fileno(p->reply));
    fclose(p->cmd);
    fclose(p->reply);
    int st = 0;
    BENCH_CHECK(waitpid(p->pid, &st, 0) == p->pid, "waitpid");
    BENCH_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "peer %s exited with status %d",
                p->name, st);
    p->pid = 0;
}
