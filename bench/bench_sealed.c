/*
 * bench_sealed.c — benchmark 9: what sealing costs. Benchmark 6's documents (N, default
 * 200,000; STELE_BENCH_SEALED_DOCS=n) imported and read back by _id on
 *   (a) a Stele store as usual (sealed: AES-256-GCM frames and fragments),
 *   (b) a Stele store made with no_encryption (plaintext boxes with SHA-256 checksums),
 *   (c) SQLCipher (Debian libsqlcipher-dev, default settings after PRAGMA key), run as
 *       the child process stele_bench_sqlcipher (bench/sqlcipher_peer.c) on the same
 *       documents, written once to an NDJSON file.
 * import: batches of 1000 documents, one synced transaction each (stele_txn under
 * STELE_DURABLE_FSYNC; SQLCipher BEGIN/INSERT.../COMMIT); only engine calls are timed.
 * get: warm random _id lookups (as many warm-up gets first), each timed: p50 and p99.
 * Each Stele mode runs REPS times on a fresh store, interleaved; the medians are
 * reported. Login: stele_open of a store whose user has the default KDF profile
 * (Argon2id m = 256 MiB, t = 3), read-only, REPS times (reported, not a target).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "stele.h"

#define SEALED_DOCS_DEFAULT 200000u
#define SEALED_BATCH 1000u
#define SEALED_LOOKUPS 100000u
#define SEALED_REPS 3
#define SEALED_USER "bench"
#define SEALED_PW "bench-password"
#define OP_HEAD "{\"op\":\"insert\",\"coll\":\"docs\",\"doc\":"

typedef struct sealed_run {
    double docs_per_s, p50_us, p99_us;
} sealed_run;

static void check(stele *db, stele_status rc, const char *what)
{
    BENCH_CHECK(rc == STELE_OK, "stele %s: %s: %s", what, stele_strerror(rc),
                db ? stele_errmsg(db) : "");
}

static stele *store_make(const char *dir, int no_encryption, stele_kdf_profile kdf)
{
    stele_init_options io = {.store_dir = dir, .user = SEALED_USER, .password = SEALED_PW,
                             .password_len = strlen(SEALED_PW), .kdf = kdf,
                             .no_encryption = no_encryption};
    char err[512] = "";
    stele_status rc = stele_store_init(&io, err, sizeof err);
    BENCH_CHECK(rc == STELE_OK, "stele init '%s': %s", dir, err);
    stele_open_options o = {.store_dir = dir, .user = SEALED_USER, .password = SEALED_PW,
                            .password_len = strlen(SEALED_PW),
                            .durability = STELE_DURABLE_FSYNC};
    stele *db = NULL;
    rc = stele_open(&o, &db);
    check(db, rc, "open");
    return db;
}

/* The transaction text of documents first..first+n-1 into b (not timed). */
static size_t batch_text(uint64_t first, unsigned n, char *b, size_t cap)
{
    size_t len = 0;
    char doc[BENCH_DOC_CAP];
    len += (size_t)snprintf(b, cap, "{\"ops\":[");
    for (unsigned i = 0; i < n; i++) {
        size_t dl = bench_doc_make(first + i, doc);
        BENCH_CHECK(len + dl + sizeof OP_HEAD + 4 < cap, "batch text overflow");
        len += (size_t)snprintf(b + len, cap - len, "%s" OP_HEAD "%.*s}", i ? "," : "",
                                (int)dl, doc);
    }
    len += (size_t)snprintf(b + len, cap - len, "]}");
    return len;
}

static void stele_gets(stele *db, uint64_t n, sealed_run *r)
{
    double *us = malloc(sizeof *us * SEALED_LOOKUPS);
    BENCH_CHECK(us, "out of memory");
    uint64_t s = 0x5eed5eedu;
    for (unsigned i = 0; i < 2 * SEALED_LOOKUPS; i++) { /* first half warms up */
        char id[BENCH_DOC_ID_CAP], *json = NULL;
        bench_doc_id(bench_rand(&s) % n, id);
        uint64_t t0 = bench_now_ns();
        check(db, stele_doc_get(db, "docs", id, 0, &json), "doc_get");
        double t = (double)(bench_now_ns() - t0) / 1e3;
        stele_free(json);
        if (i >= SEALED_LOOKUPS) us[i - SEALED_LOOKUPS] = t;
    }
    r->p50_us = bench_percentile(us, SEALED_LOOKUPS, 50);
    r->p99_us = bench_percentile(us, SEALED_LOOKUPS, 99);
    free(us);
}

static void stele_run(int no_encryption, uint64_t n, sealed_run *r)
{
    char dir[4200];
    bench_subdir(no_encryption ? "plain" : "sealed", dir, sizeof dir);
    stele *db = store_make(dir, no_encryption, STELE_KDF_INSECURE_TEST);
    static const char mk[] = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"docs\"}]}";
    check(db, stele_txn(db, mk, sizeof mk - 1, NULL, NULL), "create_collection");
    size_t cap = SEALED_BATCH * (BENCH_DOC_CAP + sizeof OP_HEAD + 2) + 16;
    char *text = malloc(cap);
    BENCH_CHECK(text, "out of memory");
    double total_s = 0;
    for (uint64_t i = 0; i < n; i += SEALED_BATCH) {
        unsigned k = (unsigned)(n - i < SEALED_BATCH ? n - i : SEALED_BATCH);
        size_t len = batch_text(i, k, text, cap);
        uint64_t t0 = bench_now_ns();
        check(db, stele_txn(db, text, len, NULL, NULL), "txn");
        total_s += (double)(bench_now_ns() - t0) / 1e9;
    }
    free(text);
    r->docs_per_s = (double)n / total_s;
    stele_gets(db, n, r);
    check(NULL, stele_close(db), "close");
    bench_rmtree(dir);
}

/* Writes the documents as NDJSON (line i = document i) for the SQLCipher peer. */
static void docs_file(const char *path, uint64_t n)
{
    FILE *f = fopen(path, "w");
    BENCH_CHECK(f, "cannot write '%s'", path);
    char doc[BENCH_DOC_CAP];
    for (uint64_t i = 0; i < n; i++) {
        size_t len = bench_doc_make(i, doc);
        BENCH_CHECK(fwrite(doc, 1, len, f) == len && fputc('\n', f) != EOF, "write docs");
    }
    BENCH_CHECK(fclose(f) == 0, "close '%s'", path);
}

static double json_num(const char *json, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(json, k);
    BENCH_CHECK(p, "the SQLCipher peer printed no %s: %s", key, json);
    return strtod(p + strlen(k), NULL);
}

/* Runs stele_bench_sqlcipher (next to this executable) on the documents file. */
static void sqlcipher_run(const char *docs, uint64_t n, sealed_run *r, char *mode, size_t cap)
{
    char exe[4096], dir[4200], cmd[12800], line[1024] = "";
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    BENCH_CHECK(el > 0, "readlink /proc/self/exe");
    exe[el] = 0;
    char *slash = strrchr(exe, '/');
    BENCH_CHECK(slash, "no directory in '%s'", exe);
    *slash = 0;
    bench_subdir("sqlcipher", dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "'%s/stele_bench_sqlcipher' '%s' '%s' %llu %u %u", exe, docs,
             dir, (unsigned long long)n, SEALED_LOOKUPS, 0x5eed5eedu);
    FILE *p = popen(cmd, "r");
    BENCH_CHECK(p, "cannot run '%s'", cmd);
    char *got = fgets(line, sizeof line, p);
    int st = pclose(p);
    BENCH_CHECK(got && st == 0, "the SQLCipher peer failed (exit %d): %s", st, line);
    r->docs_per_s = json_num(line, "import_docs_per_s");
    r->p50_us = json_num(line, "get_p50_us");
    r->p99_us = json_num(line, "get_p99_us");
    const char *m = strstr(line, "\"journal_mode\":\"");
    snprintf(mode, cap, "%.*s", m ? (int)strcspn(m + 16, "\"") : 1, m ? m + 16 : "?");
    bench_rmtree(dir);
}

static double login_once(const char *dir)
{
    stele_open_options o = {.store_dir = dir, .user = SEALED_USER, .password = SEALED_PW,
                            .password_len = strlen(SEALED_PW), .read_only = 1};
    stele *db = NULL;
    uint64_t t0 = bench_now_ns();
    stele_status rc = stele_open(&o, &db);
    double ms = (double)(bench_now_ns() - t0) / 1e6;
    check(db, rc, "open (login)");
    check(NULL, stele_close(db), "close");
    return ms;
}

typedef struct sealed_figs {
    double v[3][3][SEALED_REPS]; /* [system][metric][rep]: system sealed/plain/sqlcipher */
} sealed_figs;

static void rows(const char *title, const char *unit, sealed_figs *f, int metric, int nsys,
                 bench_stats *out)
{
    static const char *const names[3] = {"Stele sealed", "Stele --no-encryption",
                                         "SQLCipher (default, PRAGMA key)"};
    bench_note("%s", title);
    bench_row_header(unit);
    for (int s = 0; s < nsys; s++) {
        out[s] = bench_stats_of(f->v[s][metric], SEALED_REPS);
        bench_row(names[s], &out[s]);
    }
}

void bench_sealed(void)
{
    const char *env = getenv("STELE_BENCH_SEALED_DOCS");
    uint64_t n = env ? strtoull(env, NULL, 10) : SEALED_DOCS_DEFAULT;
    if (n < 10000) n = 10000;
    char detail[256], docs[4200], mode[32] = "?";
    snprintf(detail, sizeof detail, "%llu documents (benchmark 6's), batches of %u, fsync; "
             "%u warm random gets", (unsigned long long)n, SEALED_BATCH, SEALED_LOOKUPS);
    bench_section("9. Sealed storage: sealed vs --no-encryption vs SQLCipher; login", detail);
    snprintf(docs, sizeof docs, "%s/sealed-docs.ndjson", bench_tmpdir());
    docs_file(docs, n);
    sealed_figs f;
    for (int rep = 0; rep < SEALED_REPS; rep++) {
        sealed_run r[3];
        stele_run(0, n, &r[0]);
        stele_run(1, n, &r[1]);
        sqlcipher_run(docs, n, &r[2], mode, sizeof mode);
        for (int s = 0; s < 3; s++) {
            f.v[s][0][rep] = r[s].docs_per_s;
            f.v[s][1][rep] = r[s].p50_us;
            f.v[s][2][rep] = r[s].p99_us;
        }
    }
    unlink(docs);
    bench_stats imp[3], p50[3], p99[3];
    rows("import", "docs/s", &f, 0, 3, imp);
    rows("get by _id, p50", "us", &f, 1, 3, p50);
    rows("get by _id, p99", "us", &f, 2, 3, p99);
    bench_note("SQLCipher journal_mode: %s (its default), synchronous FULL (default)", mode);
    bench_goal_report(&(bench_goal){"sealed import vs --no-encryption", "docs/s",
                                    imp[0].median, imp[1].median, "no-encryption", 0.85, 1, 0});
    bench_goal_report(&(bench_goal){"sealed get p50 vs --no-encryption", "us", p50[0].median,
                                    p50[1].median, "no-encryption", 1.15, 1, 1});
    bench_goal_report(&(bench_goal){"sealed import vs SQLCipher", "docs/s", imp[0].median,
                                    imp[2].median, "SQLCipher", 1.4, 1, 0});
    bench_goal_report(&(bench_goal){"sealed get p99 vs SQLCipher", "us", p99[0].median,
                                    p99[2].median, "SQLCipher", 0.1, 1, 1});
    /* Login with the default KDF profile (reported, not a target). */
    char dir[4200];
    bench_subdir("login", dir, sizeof dir);
    check(NULL, stele_close(store_make(dir, 0, STELE_KDF_DEFAULT)), "close");
    double ms[SEALED_REPS];
    for (int i = 0; i < SEALED_REPS; i++) ms[i] = login_once(dir);
    bench_stats ls = bench_stats_of(ms, SEALED_REPS);
    bench_note("login (stele_open, Argon2id m=256 MiB t=3, read-only)");
    bench_row_header("ms");
    bench_row("Stele default KDF profile", &ls);
    bench_rmtree(dir);
}
