/*
 * bench_sqlite.c — the peer: SQLite in WAL mode with synchronous=FULL, one table
 * t(id INTEGER PRIMARY KEY, body TEXT), one INSERT per transaction for durable puts.
 * Every writer thread has its own connection (the way SQLite is meant to be shared),
 * with a busy timeout so that concurrent writers queue instead of failing.
 * Bulk loads (BENCH_BULK) use synchronous=OFF and one transaction per 10,000 rows;
 * reads use a prepared SELECT by primary key.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define SQL_BULK_ROWS 10000u    /* rows per transaction while loading */
#define SQL_BUSY_MS 60000       /* writers wait this long for the lock, then fail the run */

typedef struct sql_conn {
    sqlite3 *db;
    sqlite3_stmt *ins, *sel;
    int bulk;
    unsigned in_txn; /* rows in the open bulk transaction */
    char path[4200];
    bench_mode mode;
} sql_conn;

static void sql_exec(sql_conn *c, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &err);
    BENCH_CHECK(rc == SQLITE_OK, "sqlite '%s': %s", sql, err ? err : sqlite3_errstr(rc));
}

static sqlite3_stmt *sql_prepare(sql_conn *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    BENCH_CHECK(rc == SQLITE_OK, "sqlite prepare '%s': %s", sql, sqlite3_errmsg(c->db));
    return st;
}

static sql_conn *conn_open(const char *path, const bench_mode *m)
{
    sql_conn *c = calloc(1, sizeof *c);
    BENCH_CHECK(c, "out of memory");
    snprintf(c->path, sizeof c->path, "%s", path);
    c->mode = *m;
    c->bulk = m->durability == BENCH_BULK;
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX, NULL);
    BENCH_CHECK(rc == SQLITE_OK, "sqlite open '%s': %s", path, sqlite3_errstr(rc));
    sqlite3_busy_timeout(c->db, SQL_BUSY_MS);
    sql_exec(c, "PRAGMA journal_mode=WAL");
    sql_exec(c, c->bulk ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=FULL");
    sql_exec(c, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, body TEXT)");
    c->ins = sql_prepare(c, "INSERT INTO t(body) VALUES (?)");
    c->sel = sql_prepare(c, "SELECT body FROM t WHERE id = ?");
    return c;
}

static void conn_close(sql_conn *c)
{
    if (c->in_txn) sql_exec(c, "COMMIT");
    sqlite3_finalize(c->ins);
    sqlite3_finalize(c->sel);
    BENCH_CHECK(sqlite3_close(c->db) == SQLITE_OK, "sqlite close");
    free(c);
}

static void *sql_open(const char *dir, const bench_mode *m)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/peer.sqlite", dir);
    return conn_open(path, m);
}

static void *sql_attach(void *shared, unsigned i)
{
    (void)i;
    sql_conn *s = shared;
    return conn_open(s->path, &s->mode);
}

static void sql_detach(void *shared, void *h)
{
    (void)shared;
    conn_close(h);
}

static void sql_put(void *h, const void *payload, size_t len)
{
    sql_conn *c = h;
    if (c->bulk && c->in_txn == 0) sql_exec(c, "BEGIN");
    sqlite3_bind_text(c->ins, 1, payload, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(c->ins);
    BENCH_CHECK(rc == SQLITE_DONE, "sqlite insert: %s", sqlite3_errmsg(c->db));
    sqlite3_reset(c->ins);
    if (c->bulk && ++c->in_txn == SQL_BULK_ROWS) {
        sql_exec(c, "COMMIT");
        c->in_txn = 0;
    }
}

static int sql_get(void *h, uint64_t key)
{
    sql_conn *c = h;
    sqlite3_bind_int64(c->sel, 1, (sqlite3_int64)key);
    int rc = sqlite3_step(c->sel);
    BENCH_CHECK(rc == SQLITE_ROW, "sqlite select %llu: %s", (unsigned long long)key,
                sqlite3_errmsg(c->db));
    const unsigned char *body = sqlite3_column_text(c->sel, 0);
    BENCH_CHECK(body && sqlite3_column_bytes(c->sel, 0) > 0, "sqlite row %llu is empty",
                (unsigned long long)key);
    int first = body[0];
    sqlite3_reset(c->sel);
    return first;
}

static uint64_t sql_keys(void *shared)
{
    sql_conn *c = shared;
    sqlite3_stmt *st = sql_prepare(c, "SELECT max(id) FROM t");
    BENCH_CHECK(sqlite3_step(st) == SQLITE_ROW, "sqlite max(id)");
    sqlite3_int64 n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return (uint64_t)n;
}

static void sql_close(void *shared) { conn_close(shared); }

const bench_sink bench_sqlite_sink = {
    .open = sql_open,
    .attach = sql_attach,
    .detach = sql_detach,
    .put = sql_put,
    .get = sql_get,
    .keys = sql_keys,
    .close = sql_close,
};
