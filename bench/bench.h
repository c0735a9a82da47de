/*
 * bench.h — shared pieces of `stele_bench`, the side-by-side benchmark run by
 * `make bench` (never in CI; never a timing assertion anywhere).
 *
 * Layout: bench_util.c (clock, statistics, temporary directories, payloads, threads),
 * bench_report.c (aligned tables, targets, the final summary), one "sink" per system
 * under test (bench_raw.c: the disk itself; bench_sqlite.c: the peer; bench_stele.c:
 * Stele through include/stele.h only), bench_main.c (benchmarks 1-4), bench_json.c (5)
 * bench_docs.c (6, 7: documents against SQLite and LMDB, with their own drivers) and
 * bench_graph*.c (8: the graph against SQLite and networkx, peers in child processes),
 * bench_sealed.c (9) and bench_code.c (10: the code indexer through the `stele` CLI
 * against clang -fsyntax-only).
 *
 * A sink is the one interface every workload drives, so that each workload is written
 * once and run against every system: open a store in a directory with a mode, attach
 * one handle per writer thread, put payloads, get by key (1..n), close.
 *
 * Invariants: every measurement is repeated (3-5 runs) and reported as a median with
 * min/max; every file lives under one temporary directory that is removed at exit,
 * also after a failure (bench_die).
 */
#ifndef STELE_BENCH_H
#define STELE_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Fails the whole run: a benchmark that cannot do its work has no figure to print. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define BENCH_CHECK(cond, ...)                                                \
    do {                                                                      \
        if (!(cond)) bench_die(__VA_ARGS__);                                  \
    } while (0)

/* ---- clock and statistics ---- */
uint64_t bench_now_ns(void); /* CLOCK_MONOTONIC */

typedef struct bench_stats {
    double median, min, max;
    size_t n;
} bench_stats;

/* Median, min and max of n samples (n >= 1); v is not modified. */
bench_stats bench_stats_of(const double *v, size_t n);
/* Sorts v in place, then returns the nearest-rank percentile p in [0, 100]. */
double bench_percentile(double *v, size_t n, double p);

/* ---- random numbers (xorshift64*, seeded per run for reproducible key sequences) ---- */
uint64_t bench_rand(uint64_t *state);

/* ---- directories ---- */
/* The run's temporary directory under $TMPDIR (or /tmp); made on first call. */
const char *bench_tmpdir(void);
/* A fresh empty directory <tmpdir>/<name>-<n>; out gets its path. */
void bench_subdir(const char *name, char *out, size_t cap);
/* Removes a directory tree (no-op if missing). */
void bench_rmtree(const char *dir);
/* Drops the page cache of every file under dir (posix_fadvise DONTNEED after fsync). */
void bench_drop_cache(const char *dir);

/* ---- payloads ---- */
/* A JSON event of exactly len bytes (len >= 128) for writer `thread`; its "seq"
 * field has fixed width so that bench_payload_seq can renumber it in place. */
void bench_payload_make(char *out, size_t len, unsigned thread);
void bench_payload_seq(char *payload, uint64_t seq);

/* ---- threads ---- */
/* Runs fn(ctx, i) on n threads released together; returns the wall time in seconds
 * from the release to the end of the last thread. */
double bench_threads_run(unsigned n, void (*fn)(void *ctx, unsigned i), void *ctx);

/* ---- sinks: the systems under test ---- */
typedef enum {
    BENCH_SYNC_EACH = 0, /* every put is durable before it returns, one per transaction */
    BENCH_SYNC_GROUP,    /* concurrent puts may share a sync (Stele group commit) */
    BENCH_BULK,          /* loading: no sync, batched where the system allows */
    BENCH_READ,          /* reopen an existing store for reads */
} bench_durability;

typedef struct bench_mode {
    bench_durability durability;
    uint32_t group_delay_us; /* BENCH_SYNC_GROUP only */
    uint32_t segment_mb;     /* Stele segment size for a new store; 0 = default (32 MiB) */
} bench_mode;

typedef struct bench_sink {
    /* Creates (or, for BENCH_READ, reopens) the store in the existing directory dir. */
    void *(*open)(const char *dir, const bench_mode *m);
    /* A handle for writer thread i; NULL = every thread uses the shared handle. */
    void *(*attach)(void *shared, unsigned i);
    void (*detach)(void *shared, void *h);
    void (*put)(void *h, const void *payload, size_t len);
    /* Reads key in 1..keys(); returns the first payload byte so that reads are used. */
    int (*get)(void *h, uint64_t key);
    uint64_t (*keys)(void *shared);
    void (*close)(void *shared);
} bench_sink;

extern const bench_sink bench_raw_sink;    /* 4 KiB pwrite overwrite + fdatasync */
extern const bench_sink bench_sqlite_sink; /* WAL, synchronous=FULL, INSERT per txn */
extern const bench_sink bench_stele_sink;  /* stele_append / stele_get */

/* Stele-only measurements for the verification benchmark (bench_stele.c). */
typedef struct bench_verify_times {
    double open_s, verify_s;
    uint64_t log_bytes, records;
} bench_verify_times;
void bench_stele_verify_once(const char *dir, bench_verify_times *out);

/* ---- report ---- */
typedef struct bench_goal {
    const char *metric;    /* summary row label */
    const char *unit;      /* of ours and peer */
    double ours, peer;     /* medians; peer 0 = no peer figure */
    const char *peer_name; /* NULL if none */
    double target;         /* compared to ours/peer if ratio_target, else to ours */
    int ratio_target;
    int lower_is_better;
} bench_goal;

void bench_section(const char *title, const char *detail);
/* Benchmark 5 (bench_json.c): JSON parsing into SDOC vs jansson. */
void bench_json(void);
/* Benchmark 6 (bench_docs.c): documents vs SQLite and LMDB; 7: full text (placeholder). */
void bench_docs(void);
void bench_fulltext(void);
/* Benchmark 6's generated user document number n (JSON, ~0.4 KiB, "_id" = bench_doc_id)
 * and its _id "u%07llu"; shared with benchmark 9. */
#define BENCH_DOC_CAP 768
#define BENCH_DOC_ID_CAP 16
size_t bench_doc_make(uint64_t n, char out[BENCH_DOC_CAP]);
void bench_doc_id(uint64_t n, char out[BENCH_DOC_ID_CAP]);
/* Benchmark 9 (bench_sealed.c): sealed vs --no-encryption vs SQLCipher; login time. */
void bench_sealed(void);
/* Benchmark 8 (bench_graph.c): the interface signature graph vs SQLite and networkx. */
void bench_graph(void);
/* Benchmark 10 (bench_code.c): `stele code index` on Stele's source vs clang -fsyntax-only. */
void bench_code(void);
void bench_row_header(const char *unit);
void bench_row(const char *system, const bench_stats *s);
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the ratio line and the target verdict of g, and keeps g for the summary. */
void bench_goal_report(const bench_goal *g);
void bench_summary_print(void);

#endif
