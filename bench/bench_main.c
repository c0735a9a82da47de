/*
 * bench_main.c — stele_bench: Stele side by side with its peers in one run.
 *   1. durable appends, one writer, one record per transaction, fsync per commit:
 *      the raw disk limit, SQLite (WAL, synchronous=FULL) and Stele (DURABLE_FSYNC);
 *   2. group commit: 32 writer threads on one Stele handle (DURABLE_GROUP), and SQLite
 *      with 32 threads, one connection each;
 *   3. chain verification of a ~320 MB log, and the time of stele_open that scans it;
 *   4. warm random reads by key: per-call latency percentiles, Stele and SQLite;
 *   5. JSON parsing into SDOC against jansson (bench_json.c);
 *   6. documents: bulk load, get by _id, filter, open and memory, against SQLite and
 *      LMDB (bench_docs.c); 7. full text against SQLite FTS5 (bench_text.c);
 *   8. graph: a synthetic interface signature graph (seed 003) of 100K and 10M lines
 *      (STELE_BENCH_GRAPH_LINES): 1-hop, 3- and 5-hop blast radius, SCC, durable updates,
 *      against SQLite (recursive CTE) and networkx; Stele with STELE_BENCH_GRAPH=ON
 *      (bench_graph*.c, graph_peer.py);
 *   9. sealed storage against --no-encryption and SQLCipher, login (bench_sealed.c);
 *  10. the code indexer: `stele code index` on Stele's own source, --jobs 1 and the
 *      default, against clang -fsyntax-only of the same files (bench_code.c).
 * Usage: stele_bench [SECTIONS]: one character per benchmark, '1'-'9' for 1-9 and '0' for
 * 10 (`stele_bench 24` runs 2 and 4, `stele_bench 0` the code indexer); all by default.
 * Each measurement is repeated (the systems interleaved, so that drift in the shared
 * machine hits all of them alike) and reported as median, min and max. All files live
 * under one temporary directory removed at exit. See docs/BENCHMARKS.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define REPS 5                    /* runs per measurement (writes, verify) */
#define READ_REPS 3               /* runs of the read benchmark */
#define EVENT_BYTES 1024u         /* the 1 KiB JSON event */
#define DURABLE_PUTS 3000u        /* benchmark 1: commits per run */
#define GROUP_THREADS 32u         /* benchmark 2 */
#define GROUP_PUTS_STELE 2000u    /* ... per Stele thread per run (64,000 records) */
#define GROUP_PUTS_SQLITE 100u    /* ... per SQLite thread per run (3,200 rows) */
#define GROUP_BIG_SEGMENT_MB 256u /* ... holds a whole run's ~80 MB: no roll while timed */
#define VERIFY_LOG_BYTES (320ull << 20)
#define VERIFY_RECORD_BYTES 4096u /* benchmark 3 payload */
#define READ_RECORDS 150000u      /* benchmark 4: records loaded */
#define READ_LOOKUPS 200000u      /* ... timed reads per run */
#define READ_WARMUP 100000u       /* ... random reads before timing, after a full scan */

/* One system in one configuration, as a row of a table. */
typedef struct bench_case {
    const char *label;
    const bench_sink *sink;
    bench_mode mode;
    unsigned threads, per_thread;
} bench_case;

typedef struct put_job {
    const bench_sink *sink;
    void **h;        /* per thread */
    char **payload;  /* per thread, EVENT_BYTES or more */
    size_t len;
    unsigned per_thread;
} put_job;

static void put_worker(void *ctx, unsigned i)
{
    put_job *j = ctx;
    for (unsigned k = 0; k < j->per_thread; k++) {
        bench_payload_seq(j->payload[i], k);
        j->sink->put(j->h[i], j->payload[i], j->len);
    }
}

/* Opens the sink in dir, runs the writers, closes it (close is not timed); puts/s. */
static double timed_puts(const bench_case *c, const char *dir, size_t len)
{
    void *h[256];
    char *payload[256];
    BENCH_CHECK(c->threads >= 1 && c->threads <= 256, "%u threads", c->threads);
    void *shared = c->sink->open(dir, &c->mode);
    for (unsigned i = 0; i < c->threads; i++) {
        h[i] = c->sink->attach ? c->sink->attach(shared, i) : shared;
        payload[i] = malloc(len);
        BENCH_CHECK(payload[i], "out of memory");
        bench_payload_make(payload[i], len, i);
    }
    put_job j = {c->sink, h, payload, len, c->per_thread};
    double secs = bench_threads_run(c->threads, put_worker, &j);
    for (unsigned i = 0; i < c->threads; i++) {
        if (c->sink->detach) c->sink->detach(shared, h[i]);
        free(payload[i]);
    }
    c->sink->close(shared);
    return (double)c->threads * c->per_thread / secs;
}

/* Runs every case `reps` times in a fresh directory each, interleaved; prints a row
 * per case and leaves the statistics in out[]. */
static void measure_cases(const bench_case *cases, size_t n, int reps, bench_stats *out)
{
    double v[8][REPS];
    BENCH_CHECK(n <= 8 && reps <= REPS, "too many cases");
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < n; i++) {
            char dir[4200];
            bench_subdir("w", dir, sizeof dir);
            v[i][r] = timed_puts(&cases[i], dir, EVENT_BYTES);
            bench_rmtree(dir);
        }
    for (size_t i = 0; i < n; i++) {
        out[i] = bench_stats_of(v[i], (size_t)reps);
        bench_row(cases[i].label, &out[i]);
    }
}

static void bench_durable(void)
{
    bench_section("1. Durable appends, one writer",
                  "1 KiB JSON event per transaction, synced before acknowledged; "
                  "3000 commits per run, 5 runs");
    bench_mode each = {.durability = BENCH_SYNC_EACH};
    bench_case cases[] = {
        {"raw disk: 4 KiB pwrite + fdatasync", &bench_raw_sink, each, 1, DURABLE_PUTS},
        {"SQLite WAL sync=FULL, INSERT per txn", &bench_sqlite_sink, each, 1, DURABLE_PUTS},
        {"Stele DURABLE_FSYNC", &bench_stele_sink, each, 1, DURABLE_PUTS},
    };
    bench_stats s[3];
    bench_row_header("commits/s");
    measure_cases(cases, 3, REPS, s);
    bench_goal_report(&(bench_goal){"durable commits/s, 1 writer", "commits/s", s[2].median,
                                    s[1].median, "SQLite", 1.0, 1, 0});
    bench_goal_report(&(bench_goal){"durable commits/s vs raw fdatasync", "commits/s",
                                    s[2].median, s[0].median, "raw", 0.9, 1, 0});
}

static void bench_group(void)
{
    bench_section("2. Group commit, 32 writer threads",
                  "Stele: one shared handle, DURABLE_GROUP, 2000 appends per thread "
                  "(64,000 records, ~80 MB); SQLite: a connection per thread, 100 inserts "
                  "each; 3 runs");
    bench_mode d0 = {.durability = BENCH_SYNC_GROUP, .group_delay_us = 0};
    bench_mode d200 = {.durability = BENCH_SYNC_GROUP, .group_delay_us = 200};
    bench_mode big = {.durability = BENCH_SYNC_GROUP, .segment_mb = GROUP_BIG_SEGMENT_MB};
    bench_mode each = {.durability = BENCH_SYNC_EACH};
    bench_case cases[] = {
        {"SQLite WAL sync=FULL, 32 connections", &bench_sqlite_sink, each, GROUP_THREADS,
         GROUP_PUTS_SQLITE},
        {"Stele GROUP, max delay 0 us", &bench_stele_sink, d0, GROUP_THREADS, GROUP_PUTS_STELE},
        {"Stele GROUP, max delay 200 us", &bench_stele_sink, d200, GROUP_THREADS,
         GROUP_PUTS_STELE},
        {"Stele GROUP, delay 0, 256 MiB segments", &bench_stele_sink, big, GROUP_THREADS,
         GROUP_PUTS_STELE},
    };
    bench_stats s[4];
    bench_row_header("records/s");
    measure_cases(cases, 4, 3, s);
    bench_note("(the last row: no segment is created during the run; analysis only)");
    bench_goal_report(&(bench_goal){"group commit records/s, 32 thr, delay 0", "records/s",
                                    s[1].median, s[0].median, "SQLite", 100000, 0, 0});
    bench_goal_report(&(bench_goal){"group commit records/s, 32 thr, delay 200", "records/s",
                                    s[2].median, s[0].median, "SQLite", 100000, 0, 0});
}

/* Loads n records of len bytes into a new store of the sink in dir (bulk mode);
 * returns the load rate in records/s. */
static double load_store(const bench_sink *sink, const char *dir, unsigned n, size_t len)
{
    bench_case c = {"load", sink, {.durability = BENCH_BULK}, 1, n};
    return timed_puts(&c, dir, len);
}

/* Opens and verifies the store in dir `reps` times; cold = drop its page cache first.
 * *last gets the figures of the last run (for its size). */
static void verify_runs(const char *dir, int reps, int cold, bench_stats *open_ms,
                        bench_stats *gbps, bench_verify_times *last)
{
    double o[REPS], g[REPS];
    for (int r = 0; r < reps; r++) {
        if (cold) bench_drop_cache(dir);
        bench_stele_verify_once(dir, last);
        o[r] = last->open_s * 1e3;
        g[r] = last->log_bytes ? (double)last->log_bytes / last->verify_s / 1e9 : 0;
    }
    *open_ms = bench_stats_of(o, (size_t)reps);
    *gbps = bench_stats_of(g, (size_t)reps);
}

static void bench_verify(void)
{
    bench_section("3. Chain verification",
                  "a ~320 MB log of 4 KiB records loaded with DURABLE_NONE, closed, reopened "
                  "read-only; stele_verify(db, 0, NULL); 5 runs warm, 3 cold");
    char dir[4200], empty[4200];
    bench_subdir("verify", dir, sizeof dir);
    bench_subdir("empty", empty, sizeof empty);
    unsigned n = (unsigned)(VERIFY_LOG_BYTES / VERIFY_RECORD_BYTES);
    double rate = load_store(&bench_stele_sink, dir, n, VERIFY_RECORD_BYTES);
    bench_note("loaded %u records at %.0f records/s (%.0f MB/s of payload)", n, rate,
               rate * VERIFY_RECORD_BYTES / 1e6);
    load_store(&bench_stele_sink, empty, 0, EVENT_BYTES);
    bench_stats eo, eg, wo, wg, co, cg;
    bench_verify_times t;
    verify_runs(empty, REPS, 0, &eo, &eg, &t);
    verify_runs(dir, REPS, 0, &wo, &wg, &t);
    bench_note("log: %llu records, log_bytes %.1f MB", (unsigned long long)t.records,
               (double)t.log_bytes / 1e6);
    verify_runs(dir, 3, 1, &co, &cg, &t);
    bench_row_header("GB/s of log");
    bench_row("Stele verify, page cache warm", &wg);
    bench_row("Stele verify, page cache dropped", &cg);
    bench_row_header("ms");
    bench_row("stele_open read-only, empty store (KDF)", &eo);
    bench_row("stele_open read-only, warm", &wo);
    bench_row("stele_open read-only, cache dropped", &co);
    bench_goal_report(&(bench_goal){"chain verify, warm cache", "GB/s", wg.median, 0, NULL,
                                    1.0, 0, 0});
    bench_goal_report(&(bench_goal){"chain verify, cache dropped (info)", "GB/s", cg.median, 0,
                                    NULL, 1.0, 0, 0});
    bench_rmtree(dir);
    bench_rmtree(empty);
}

/* One system of the read benchmark: its loaded store, reopened for reads. */
typedef struct reader {
    const bench_sink *sink;
    const char *label;
    char dir[4200];
    void *h;
    uint64_t keys, seed, sum;
    double pct[3][READ_REPS]; /* p50, p99, p99.9 in microseconds, per run */
} reader;

static void reader_open(reader *rd)
{
    bench_mode m = {.durability = BENCH_READ};
    bench_subdir("read", rd->dir, sizeof rd->dir);
    load_store(rd->sink, rd->dir, READ_RECORDS, EVENT_BYTES);
    rd->h = rd->sink->open(rd->dir, &m);
    rd->keys = rd->sink->keys(rd->h);
    rd->seed = 0x5eed;
    BENCH_CHECK(rd->keys >= READ_RECORDS, "%s: %llu keys after loading", rd->label,
                (unsigned long long)rd->keys);
    for (uint64_t k = 1; k <= rd->keys; k++) rd->sum += (uint64_t)rd->sink->get(rd->h, k);
    for (unsigned i = 0; i < READ_WARMUP; i++)
        rd->sum += (uint64_t)rd->sink->get(rd->h, 1 + bench_rand(&rd->seed) % rd->keys);
}

/* One run of timed random reads; lat has READ_LOOKUPS slots. */
static void reader_run(reader *rd, int run, double *lat)
{
    for (unsigned i = 0; i < READ_LOOKUPS; i++) {
        uint64_t key = 1 + bench_rand(&rd->seed) % rd->keys;
        uint64_t t0 = bench_now_ns();
        rd->sum += (uint64_t)rd->sink->get(rd->h, key);
        lat[i] = (double)(bench_now_ns() - t0) / 1e3;
    }
    rd->pct[0][run] = bench_percentile(lat, READ_LOOKUPS, 50);
    rd->pct[1][run] = bench_percentile(lat, READ_LOOKUPS, 99);
    rd->pct[2][run] = bench_percentile(lat, READ_LOOKUPS, 99.9);
}

/* Prints the percentile rows of rd, closes it; returns the median p99. */
static double reader_report(reader *rd)
{
    static const char *const names[3] = {"p50", "p99", "p99.9"};
    double p99 = 0;
    for (int i = 0; i < 3; i++) {
        char row[128];
        bench_stats s = bench_stats_of(rd->pct[i], READ_REPS);
        snprintf(row, sizeof row, "%s %s", rd->label, names[i]);
        bench_row(row, &s);
        if (i == 1) p99 = s.median;
    }
    BENCH_CHECK(rd->sum > 0, "%s: reads returned nothing", rd->label);
    rd->sink->close(rd->h);
    bench_rmtree(rd->dir);
    return p99;
}

static void bench_reads(void)
{
    bench_section("4. Random reads by key, warm",
                  "150,000 records of 1 KiB; after a full scan and 100,000 warm-up reads, "
                  "200,000 timed random reads per run, 3 runs interleaved (percentiles: "
                  "median of runs)");
    reader rd[2] = {{.sink = &bench_sqlite_sink, .label = "SQLite SELECT by id"},
                    {.sink = &bench_stele_sink, .label = "Stele stele_get by LSN"}};
    double *lat = malloc(READ_LOOKUPS * sizeof *lat);
    BENCH_CHECK(lat, "out of memory");
    for (int i = 0; i < 2; i++) reader_open(&rd[i]);
    for (int r = 0; r < READ_REPS; r++)
        for (int i = 0; i < 2; i++) reader_run(&rd[i], r, lat);
    free(lat);
    bench_row_header("us per read");
    double p99_sqlite = reader_report(&rd[0]);
    double p99_stele = reader_report(&rd[1]);
    bench_goal_report(&(bench_goal){"random read p99, warm", "us", p99_stele, p99_sqlite,
                                    "SQLite", 10, 0, 1});
}

/* Usage: stele_bench [SECTIONS], e.g. `stele_bench 24` runs benchmarks 2 and 4 only, and
 * `stele_bench 0` benchmark 10 (the character of benchmark i is the last digit of i). */
int main(int argc, char **argv)
{
    static void (*const sections[10])(void) = {bench_durable, bench_group,    bench_verify,
                                               bench_reads,   bench_json,     bench_docs,
                                               bench_fulltext, bench_graph,  bench_sealed,
                                               bench_code};
    const char *which = argc > 1 ? argv[1] : "1234567890";
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint64_t t0 = bench_now_ns();
    printf("stele_bench — Stele side by side with SQLite, LMDB, networkx and the raw disk "
           "(files under %s)\n",
           bench_tmpdir());
    for (int i = 0; i < 10; i++)
        if (strchr(which, '0' + (i + 1) % 10)) sections[i]();
    bench_summary_print();
    printf("\ntotal time %.0f s\n", (double)(bench_now_ns() - t0) / 1e9);
    return 0;
}
