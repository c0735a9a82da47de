/*
 * bench_graph_sqlite.c — SQLite as a graph peer of benchmark 8: the way seed 003's MVP
 * would store the interface signature graph.
 *
 *   nodes(id INTEGER PRIMARY KEY, kind TEXT, name TEXT, sig TEXT)
 *   edges(id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, label TEXT)
 *   indices edges_src(src, label) and edges_dst(dst, label); no ANALYZE
 *
 * Node ids are the generator's node numbers. WAL, synchronous=FULL, the default page
 * cache (2 MB). The load is one transaction: every row, then both indices, then COMMIT.
 * Queries are prepared once:
 *   1-hop   SELECT src FROM edges WHERE dst=?1 AND label='CALLS' (and src/dst swapped),
 *           every row read;
 *   k-hop   WITH RECURSIVE over (node, depth) with UNION, then one row per distinct
 *           node with its smallest depth (as Stele and networkx answer);
 *   update  one transaction of GB_UPDATE_FUNCS UPDATEs of nodes.sig and one UPDATE of
 *           edges.dst per call of those functions, synced at COMMIT.
 * SQLite has no strongly-connected-components query: that row stays empty.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_graph.h"

#define SQ_BUSY_MS 60000

#define SQ_HOP_SQL                                                                        \
    "WITH RECURSIVE r(n, d) AS (SELECT ?1, 0 UNION SELECT e.src, r.d + 1 FROM r JOIN edges " \
    "AS e ON e.dst = r.n AND e.label = 'CALLS' WHERE r.d < ?2) "                          \
    "SELECT n, min(d) FROM r GROUP BY n"

typedef struct sqg {
    sqlite3 *db;
    sqlite3_stmt *n1[2], *hop, *set_sig, *set_dst; /* n1[1]: callers */
    const uint32_t *starts;
    sqlite3_int64 *rows; /* the answer of the last query (read, as a client would) */
    size_t rows_cap;
    const gb_graph *g;   /* update being prepared: */
    uint32_t up_first, up_rep;
} sqg;

static void sq_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    BENCH_CHECK(rc == SQLITE_OK, "sqlite '%s': %s", sql, err ? err : sqlite3_errstr(rc));
}

static sqlite3_stmt *sq_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    BENCH_CHECK(rc == SQLITE_OK, "sqlite prepare '%s': %s", sql, sqlite3_errmsg(db));
    return st;
}

static void sq_step_done(sqlite3 *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    BENCH_CHECK(rc == SQLITE_DONE, "sqlite step: %s", sqlite3_errmsg(db));
    sqlite3_reset(st);
}

static sqlite3 *sq_open(const char *path, int create)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    BENCH_CHECK(rc == SQLITE_OK, "sqlite open '%s': %s", path, sqlite3_errstr(rc));
    sqlite3_busy_timeout(db, SQ_BUSY_MS);
    sq_exec(db, "PRAGMA journal_mode=WAL");
    sq_exec(db, "PRAGMA synchronous=FULL");
    return db;
}

static void sq_load_rows(sqlite3 *db, const gb_graph *g)
{
    sqlite3_stmt *n = sq_prepare(db, "INSERT INTO nodes(id, kind, name, sig) VALUES (?1,?2,?3,?4)");
    sqlite3_stmt *e = sq_prepare(db, "INSERT INTO edges(id, src, dst, label) VALUES (?1,?2,?3,?4)");
    char key[32], sig[17];
    for (uint32_t v = 0; v < g->n_nodes; v++) {
        int len = gb_key(g, v, key, sizeof key);
        gb_sig(v, 0, sig);
        sqlite3_bind_int64(n, 1, v);
        sqlite3_bind_text(n, 2, gb_kind_coll[gb_kind_of(g, v)], -1, SQLITE_STATIC);
        sqlite3_bind_text(n, 3, key, len, SQLITE_STATIC);
        sqlite3_bind_text(n, 4, sig, 16, SQLITE_STATIC);
        sq_step_done(db, n);
    }
    for (size_t i = 0; i < g->n_edges; i++) {
        sqlite3_bind_int64(e, 1, (sqlite3_int64)i);
        sqlite3_bind_int64(e, 2, g->from[i]);
        sqlite3_bind_int64(e, 3, g->to[i]);
        sqlite3_bind_text(e, 4, gb_label_name[g->label[i]], -1, SQLITE_STATIC);
        sq_step_done(db, e);
    }
    sqlite3_finalize(n);
    sqlite3_finalize(e);
}

/* The plan of sql (EXPLAIN QUERY PLAN details joined by "; ") appended to out. */
static void sq_plan(sqlite3 *db, const char *what, const char *sql, char *out, size_t cap)
{
    char q[1024];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = sq_prepare(db, q);
    sqlite3_bind_int64(st, 1, 0);
    sqlite3_bind_int64(st, 2, 1);
    size_t used = strlen(out);
    snprintf(out + used, cap - used, "%s%s:", used ? " | " : "", what);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        used = strlen(out);
        snprintf(out + used, cap - used, " %s;", d ? d : "");
    }
    sqlite3_finalize(st);
}

static size_t sq_rows(sqg *h, sqlite3_stmt *st)
{
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == h->rows_cap) {
            h->rows_cap = h->rows_cap ? h->rows_cap * 2 : 4096;
            h->rows = realloc(h->rows, h->rows_cap * sizeof *h->rows);
            BENCH_CHECK(h->rows, "out of memory");
        }
        h->rows[n++] = sqlite3_column_int64(st, 0);
    }
    BENCH_CHECK(rc == SQLITE_DONE, "sqlite query: %s", sqlite3_errmsg(h->db));
    sqlite3_reset(st);
    return n;
}

static size_t sqg_neighbors(void *p, size_t i, int in)
{
    sqg *h = p;
    sqlite3_bind_int64(h->n1[in != 0], 1, h->starts[i]);
    return sq_rows(h, h->n1[in != 0]);
}

static size_t sqg_traverse(void *p, size_t i, uint32_t hops)
{
    sqg *h = p;
    sqlite3_bind_int64(h->hop, 1, h->starts[i]);
    sqlite3_bind_int64(h->hop, 2, hops);
    return sq_rows(h, h->hop);
}

static void *sqg_load(const gb_graph *g, const uint32_t *starts, size_t nstarts,
                      const char *dir, gpeer_load *out)
{
    (void)nstarts;
    char path[4300];
    snprintf(path, sizeof path, "%s/graph.sqlite", dir);
    double rss0 = gb_rss_mb();
    uint64_t t0 = bench_now_ns();
    sqlite3 *db = sq_open(path, 1);
    sq_exec(db, "CREATE TABLE nodes(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
                "name TEXT NOT NULL, sig TEXT NOT NULL)");
    sq_exec(db, "CREATE TABLE edges(id INTEGER PRIMARY KEY, src INTEGER NOT NULL, "
                "dst INTEGER NOT NULL, label TEXT NOT NULL)");
    sq_exec(db, "BEGIN");
    sq_load_rows(db, g);
    sq_exec(db, "CREATE INDEX edges_src ON edges(src, label)");
    sq_exec(db, "CREATE INDEX edges_dst ON edges(dst, label)");
    sq_exec(db, "COMMIT");
    out->load_s = (double)(bench_now_ns() - t0) / 1e9;
    out->rss_load_mb = gb_rss_mb() - rss0;
    BENCH_CHECK(sqlite3_close(db) == SQLITE_OK, "sqlite close");
    out->disk_mb = (double)gb_disk_bytes(dir) / 1e6;

    sqg *h = calloc(1, sizeof *h);
    BENCH_CHECK(h, "out of memory");
    h->starts = starts;
    double rss1 = gb_rss_mb();
    t0 = bench_now_ns();
    h->db = sq_open(path, 0);
    h->n1[1] = sq_prepare(h->db, "SELECT src FROM edges WHERE dst = ?1 AND label = 'CALLS'");
    h->n1[0] = sq_prepare(h->db, "SELECT dst FROM edges WHERE src = ?1 AND label = 'CALLS'");
    h->hop = sq_prepare(h->db, SQ_HOP_SQL);
    sqg_neighbors(h, 0, 1);
    out->open_ms = (double)(bench_now_ns() - t0) / 1e6;
    out->rss_open_mb = gb_rss_mb() - rss1;
    h->set_sig = sq_prepare(h->db, "UPDATE nodes SET sig = ?2 WHERE id = ?1");
    h->set_dst = sq_prepare(h->db, "UPDATE edges SET dst = ?2 WHERE id = ?1");
    sq_plan(h->db, "callers", "SELECT src FROM edges WHERE dst = ?1 AND label = 'CALLS'",
            out->note, sizeof out->note);
    sq_plan(h->db, "k-hop", SQ_HOP_SQL, out->note, sizeof out->note);
    return h;
}

static void sqg_update_prepare(void *p, const gb_graph *g, uint32_t first, uint32_t rep)
{
    sqg *h = p;
    h->g = g;
    h->up_first = first;
    h->up_rep = rep;
}

static size_t sqg_update(void *p)
{
    sqg *h = p;
    const gb_graph *g = h->g;
    char sig[17];
    size_t edges = 0;
    sq_exec(h->db, "BEGIN");
    for (uint32_t f = h->up_first; f < h->up_first + GB_UPDATE_FUNCS; f++) {
        gb_sig(f, h->up_rep + 1, sig);
        sqlite3_bind_int64(h->set_sig, 1, f);
        sqlite3_bind_text(h->set_sig, 2, sig, 16, SQLITE_TRANSIENT);
        sq_step_done(h->db, h->set_sig);
        for (size_t e = g->calls_first[f]; e < g->calls_first[f + 1]; e++, edges++) {
            sqlite3_bind_int64(h->set_dst, 1, (sqlite3_int64)e);
            sqlite3_bind_int64(h->set_dst, 2, gb_retarget(g, e, h->up_rep));
            sq_step_done(h->db, h->set_dst);
        }
    }
    sq_exec(h->db, "COMMIT");
    return edges;
}

static void sqg_close(void *p)
{
    sqg *h = p;
    sqlite3_finalize(h->n1[0]);
    sqlite3_finalize(h->n1[1]);
    sqlite3_finalize(h->hop);
    sqlite3_finalize(h->set_sig);
    sqlite3_finalize(h->set_dst);
    BENCH_CHECK(sqlite3_close(h->db) == SQLITE_OK, "sqlite close");
    free(h->rows);
    free(h);
}

const gpeer_ops gb_sqlite_ops = {
    .name = "SQLite",
    .load = sqg_load,
    .neighbors = sqg_neighbors,
    .traverse = sqg_traverse,
    .scc = NULL,
    .update_prepare = sqg_update_prepare,
    .update = sqg_update,
    .close = sqg_close,
};
