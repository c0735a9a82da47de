/*
 * bench_text.c — benchmark 7: full text, Stele against SQLite FTS5, side by side.
 *
 * The `bio` field of benchmark 6's generated documents (18-22 words from a skewed list
 * of ~100; bench_doc_make), STELE_BENCH_TEXT_DOCS of them (default 200,000):
 *   SQLite: CREATE VIRTUAL TABLE fts USING fts5(bio) (default unicode61 tokenizer), one
 *           transaction, rowid = document number; queries
 *           SELECT rowid FROM fts WHERE fts MATCH ?1 ORDER BY rank LIMIT 10 (BM25).
 *   Stele:  the documents imported (stele_import, NDJSON) with an explicit text index on
 *           bio (stele_index_create_text, english stemming), closed and reopened; queries
 *           stele_find(users, {"bio":{"$text":Q}}, limit 10): ranked by BM25 when no sort
 *           is given. The first $text after the open rebuilds the postings (they are not
 *           in the snapshot: DECISIONS 34) and is reported apart.
 * Queries: a frequent term, two terms ANDed, a prefix, two rarer terms ANDed. Each is
 * timed TEXT_REPS times per system after one warm-up, systems in turn; medians and p99
 * in µs; the match counts of both are printed (they differ only where stemming does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bench.h"
#include "stele.h"

#define TEXT_DOCS_DEFAULT 200000u
#define TEXT_REPS 50
#define TEXT_IMPORT_DOCS 50000u /* documents per stele_import call */
#define TEXT_USER "bench"
#define TEXT_PASSWORD "bench-password"
#define TEXT_COLL "users"
#define NQ 4

typedef struct tquery {
    const char *name, *stele, *fts5;
} tquery;

static const tquery k_queries[NQ] = {
    {"one frequent term", "coffee", "coffee"},
    {"two terms (AND)", "coffee books", "coffee AND books"},
    {"prefix", "photo*", "photo*"},
    {"two rarer terms (AND)", "chess poetry", "chess AND poetry"},
};

static uint64_t text_docs(void)
{
    const char *v = getenv("STELE_BENCH_TEXT_DOCS");
    if (!v || !*v) return TEXT_DOCS_DEFAULT;
    unsigned long long n = strtoull(v, NULL, 10);
    BENCH_CHECK(n >= 1000 && n <= 10000000, "STELE_BENCH_TEXT_DOCS=%s: want 1000..10000000", v);
    return n;
}

/* The bio of generated document n: its text between "bio":" and the next quote. */
static size_t bio_of(const char *doc, const char **bio)
{
    const char *p = strstr(doc, "\"bio\":\"");
    BENCH_CHECK(p, "generated document without a bio");
    p += 7;
    const char *q = strchr(p, '"');
    BENCH_CHECK(q, "unterminated bio");
    *bio = p;
    return (size_t)(q - p);
}

/* ---- SQLite FTS5 ---- */

static sqlite3 *fts_load(const char *dir, uint64_t n, double *secs)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/fts.sqlite", dir);
    sqlite3 *db = NULL;
    BENCH_CHECK(sqlite3_open(path, &db) == SQLITE_OK, "sqlite open: %s", sqlite3_errmsg(db));
    char *err = NULL;
    int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                              "CREATE VIRTUAL TABLE fts USING fts5(bio)", NULL, NULL, &err);
    BENCH_CHECK(rc == SQLITE_OK, "sqlite fts5: %s (is FTS5 compiled in?)", err ? err : "");
    sqlite3_stmt *ins = NULL;
    BENCH_CHECK(sqlite3_prepare_v2(db, "INSERT INTO fts(rowid, bio) VALUES (?1, ?2)", -1, &ins,
                                   NULL) == SQLITE_OK, "prepare: %s", sqlite3_errmsg(db));
    char doc[BENCH_DOC_CAP];
    uint64_t t0 = bench_now_ns();
    BENCH_CHECK(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK, "begin");
    for (uint64_t i = 1; i <= n; i++) {
        bench_doc_make(i, doc);
        const char *bio;
        size_t len = bio_of(doc, &bio);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)i);
        sqlite3_bind_text(ins, 2, bio, (int)len, SQLITE_TRANSIENT);
        BENCH_CHECK(sqlite3_step(ins) == SQLITE_DONE, "insert: %s", sqlite3_errmsg(db));
        sqlite3_reset(ins);
    }
    BENCH_CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, "commit");
    *secs = (double)(bench_now_ns() - t0) / 1e9;
    sqlite3_finalize(ins);
    return db;
}

/* Runs one FTS5 query (top 10 by rank); returns the rows read. */
static size_t fts_query(sqlite3 *db, const char *match)
{
    sqlite3_stmt *st = NULL;
    BENCH_CHECK(sqlite3_prepare_v2(db, "SELECT rowid FROM fts WHERE fts MATCH ?1 ORDER BY rank "
                                       "LIMIT 10", -1, &st, NULL) == SQLITE_OK,
                "prepare: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
    size_t rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) rows++;
    sqlite3_finalize(st);
    return rows;
}

static uint64_t fts_count(sqlite3 *db, const char *match)
{
    sqlite3_stmt *st = NULL;
    BENCH_CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM fts WHERE fts MATCH ?1", -1, &st,
                                   NULL) == SQLITE_OK, "prepare: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
    BENCH_CHECK(sqlite3_step(st) == SQLITE_ROW, "count: %s", sqlite3_errmsg(db));
    uint64_t c = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return c;
}

/* ---- Stele ---- */

static void st_check(stele *db, stele_status rc, const char *what)
{
    BENCH_CHECK(rc == STELE_OK, "stele %s: %s: %s", what, stele_strerror(rc),
                db ? stele_errmsg(db) : "");
}

static stele *st_open(const char *store, stele_durability d)
{
    stele_open_options o = {.store_dir = store, .user = TEXT_USER, .password = TEXT_PASSWORD,
                            .password_len = strlen(TEXT_PASSWORD), .durability = d};
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    BENCH_CHECK(db, "stele open: out of memory");
    st_check(db, rc, "open");
    return db;
}

static void st_import(stele *db, char *buf, size_t *len)
{
    if (*len == 0) return;
    stele_import_options io = {.format = STELE_IO_NDJSON};
    st_check(db, stele_import(db, TEXT_COLL, buf, *len, &io, NULL), "import");
    *len = 0;
}

/* Loads the documents and the text index; returns the seconds (import + index + close). */
static double st_load(const char *store, uint64_t n)
{
    char err[512] = "";
    stele_init_options io = {.store_dir = store, .user = TEXT_USER, .password = TEXT_PASSWORD,
                             .password_len = strlen(TEXT_PASSWORD),
                             .kdf = STELE_KDF_INSECURE_TEST};
    stele_status rc = stele_store_init(&io, err, sizeof err);
    BENCH_CHECK(rc == STELE_OK, "stele init: %s", err);
    uint64_t t0 = bench_now_ns();
    stele *db = st_open(store, STELE_DURABLE_NONE);
    static const char mk[] = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"" TEXT_COLL
                             "\"}]}";
    st_check(db, stele_txn(db, mk, sizeof mk - 1, NULL, NULL), "create_collection");
    size_t cap = (size_t)TEXT_IMPORT_DOCS * (BENCH_DOC_CAP + 1), len = 0;
    char *buf = malloc(cap), doc[BENCH_DOC_CAP];
    BENCH_CHECK(buf, "out of memory");
    for (uint64_t i = 1; i <= n; i++) {
        size_t dl = bench_doc_make(i, doc);
        memcpy(buf + len, doc, dl);
        len += dl;
        buf[len++] = '\n';
        if (i % TEXT_IMPORT_DOCS == 0) st_import(db, buf, &len);
    }
    st_import(db, buf, &len);
    free(buf);
    st_check(db, stele_index_create_text(db, TEXT_COLL, "bio", "english"), "text index");
    st_check(NULL, stele_close(db), "close");
    return (double)(bench_now_ns() - t0) / 1e9;
}

static size_t st_query(stele *db, const char *q, uint64_t *count)
{
    char filter[256];
    snprintf(filter, sizeof filter, "{\"bio\":{\"$text\":\"%s\"}}", q);
    if (count) {
        st_check(db, stele_count(db, TEXT_COLL, filter, strlen(filter), 0, count), "count");
        return 0;
    }
    stele_find_opts o = {.limit = 10};
    char *out = NULL;
    st_check(db, stele_find(db, TEXT_COLL, filter, strlen(filter), &o, &out), "find");
    size_t rows = 0;
    for (const char *p = out; p && *p; p++) rows += *p == '\n';
    stele_free(out);
    return rows;
}

/* ---- the run ---- */

static void report_query(int q, double *st_us, double *sq_us)
{
    double st99 = bench_percentile(st_us, TEXT_REPS, 99.0);
    double sq99 = bench_percentile(sq_us, TEXT_REPS, 99.0);
    bench_stats a = bench_stats_of(st_us, TEXT_REPS), b = bench_stats_of(sq_us, TEXT_REPS);
    char row[96];
    snprintf(row, sizeof row, "Stele %s", k_queries[q].name);
    bench_row(row, &a);
    snprintf(row, sizeof row, "SQLite FTS5 %s", k_queries[q].name);
    bench_row(row, &b);
    bench_note("%s: p99 Stele %.1f us, FTS5 %.1f us", k_queries[q].name, st99, sq99);
    static char metrics[NQ][80];
    snprintf(metrics[q], sizeof metrics[q], "full text top 10, %s (median)", k_queries[q].name);
    bench_goal_report(&(bench_goal){metrics[q], "us", a.median, b.median, "SQLite FTS5", 1.0,
                                    1, 1});
}

void bench_fulltext(void)
{
    uint64_t n = text_docs();
    char detail[400];
    snprintf(detail, sizeof detail,
             "%llu documents' bio (18-22 words; benchmark 6's generator); top 10 by BM25; %d "
             "timed runs per query after a warm-up, systems in turn (STELE_BENCH_TEXT_DOCS=n)",
             (unsigned long long)n, TEXT_REPS);
    bench_section("7. Full text: Stele vs SQLite FTS5", detail);
    char dir[4200], store[4300];
    bench_subdir("text", dir, sizeof dir);
    snprintf(store, sizeof store, "%s/store", dir);
    double sq_load = 0, st_load_s = st_load(store, n);
    sqlite3 *sq = fts_load(dir, n, &sq_load);
    bench_note("load: Stele %.2f s (import, text index, close), SQLite FTS5 %.2f s (one "
               "transaction)", st_load_s, sq_load);
    uint64_t t0 = bench_now_ns();
    stele *db = st_open(store, STELE_DURABLE_FSYNC);
    double open_ms = (double)(bench_now_ns() - t0) / 1e6;
    t0 = bench_now_ns();
    (void)st_query(db, k_queries[0].stele, NULL);
    bench_note("Stele: open %.1f ms; first $text after the open (rebuilds the postings of "
               "%llu documents) %.1f ms", open_ms, (unsigned long long)n,
               (double)(bench_now_ns() - t0) / 1e6);
    static double st_us[TEXT_REPS], sq_us[TEXT_REPS];
    bench_row_header("us");
    for (int q = 0; q < NQ; q++) {
        uint64_t sc = 0, fc = fts_count(sq, k_queries[q].fts5);
        (void)st_query(db, k_queries[q].stele, &sc);
        size_t a = st_query(db, k_queries[q].stele, NULL), b = fts_query(sq, k_queries[q].fts5);
        bench_note("%s: matches Stele %llu, FTS5 %llu; rows %zu / %zu", k_queries[q].name,
                   (unsigned long long)sc, (unsigned long long)fc, a, b);
        for (int r = 0; r < TEXT_REPS; r++) {
            uint64_t s0 = bench_now_ns();
            (void)st_query(db, k_queries[q].stele, NULL);
            uint64_t s1 = bench_now_ns();
            (void)fts_query(sq, k_queries[q].fts5);
            uint64_t s2 = bench_now_ns();
            st_us[r] = (double)(s1 - s0) / 1e3;
            sq_us[r] = (double)(s2 - s1) / 1e3;
        }
        report_query(q, st_us, sq_us);
    }
    st_check(NULL, stele_close(db), "close");
    sqlite3_close(sq);
    bench_rmtree(dir);
}
