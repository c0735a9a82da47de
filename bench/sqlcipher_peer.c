/*
 * sqlcipher_peer.c — the SQLCipher side of benchmark 9, a separate executable
 * (stele_bench_sqlcipher) because libsqlcipher and libsqlite3 export the same symbols.
 * stele_bench runs it as a child and reads one JSON line from its standard output.
 *
 * usage: stele_bench_sqlcipher DOCS_NDJSON DIR N LOOKUPS SEED
 * Loads the N documents of DOCS_NDJSON (line i is document i, _id "u%07llu") into
 * DIR/docs.db, a table docs(id TEXT PRIMARY KEY, doc TEXT), 1000 documents per
 * transaction, with SQLCipher's default settings after PRAGMA key (so the default
 * rollback journal, journal_mode=delete, and synchronous=FULL), then times LOOKUPS
 * random gets by id (a prepared SELECT) after as many warm-up gets. Prints
 * {"import_docs_per_s":X,"get_p50_us":Y,"get_p99_us":Z,"journal_mode":"..."}.
 */
#include <sqlcipher/sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 1000u
#define LINE_MAX_BYTES 4096

static void die(const char *what, sqlite3 *db)
{
    fprintf(stderr, "stele_bench_sqlcipher: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    exit(1);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) die(sql, db);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double load(sqlite3 *db, FILE *f, unsigned long long n)
{
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db, "INSERT INTO docs(id, doc) VALUES (?1, ?2)", -1, &ins, NULL))
        die("prepare insert", db);
    char (*lines)[LINE_MAX_BYTES] = malloc((size_t)BATCH * LINE_MAX_BYTES);
    if (!lines) die("out of memory", NULL);
    double total = 0;
    for (unsigned long long i = 0; i < n; i += BATCH) {
        unsigned k = (unsigned)(n - i < BATCH ? n - i : BATCH);
        for (unsigned j = 0; j < k; j++) /* read the batch first: not timed */
            if (!fgets(lines[j], LINE_MAX_BYTES, f)) die("short documents file", NULL);
        double t0 = now_s();
        exec(db, "BEGIN");
        for (unsigned j = 0; j < k; j++) {
            char id[32];
            snprintf(id, sizeof id, "u%07llu", i + j);
            sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 2, lines[j], (int)strcspn(lines[j], "\n"), SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE) die("insert", db);
            sqlite3_reset(ins);
        }
        exec(db, "COMMIT");
        total += now_s() - t0;
    }
    free(lines);
    sqlite3_finalize(ins);
    return (double)n / total;
}

static void gets(sqlite3 *db, unsigned long long n, unsigned lookups, unsigned long long seed,
                 double *p50, double *p99)
{
    sqlite3_stmt *sel;
    if (sqlite3_prepare_v2(db, "SELECT doc FROM docs WHERE id = ?1", -1, &sel, NULL))
        die("prepare select", db);
    double *us = malloc(sizeof *us * lookups);
    if (!us) die("out of memory", NULL);
    unsigned long long s = seed | 1;
    for (unsigned r = 0; r < 2 * lookups; r++) { /* first half warms up */
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        char id[32];
        snprintf(id, sizeof id, "u%07llu", (s * 2685821657736338717ull) % n);
        double t0 = now_s();
        sqlite3_bind_text(sel, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(sel) != SQLITE_ROW || sqlite3_column_bytes(sel, 0) <= 0)
            die("get", db);
        sqlite3_reset(sel);
        if (r >= lookups) us[r - lookups] = (now_s() - t0) * 1e6;
    }
    qsort(us, lookups, sizeof *us, cmp_double);
    *p50 = us[lookups / 2];
    *p99 = us[(size_t)((double)lookups * 0.99)];
    free(us);
    sqlite3_finalize(sel);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: stele_bench_sqlcipher DOCS_NDJSON DIR N LOOKUPS SEED\n");
        return 2;
    }
    unsigned long long n = strtoull(argv[3], NULL, 10), seed = strtoull(argv[5], NULL, 10);
    unsigned lookups = (unsigned)strtoul(argv[4], NULL, 10);
    if (n == 0 || lookups == 0) die("N and LOOKUPS must be positive", NULL);
    FILE *f = fopen(argv[1], "r");
    if (!f) die("cannot open the documents file", NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/docs.db", argv[2]);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) die("open", db);
    exec(db, "PRAGMA key = 'stele-bench-passphrase'");
    exec(db, "CREATE TABLE docs(id TEXT PRIMARY KEY, doc TEXT)");
    sqlite3_stmt *jm;
    char mode[32] = "?";
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &jm, NULL) == SQLITE_OK &&
        sqlite3_step(jm) == SQLITE_ROW)
        snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(jm, 0));
    sqlite3_finalize(jm);
    double rate = load(db, f, n), p50, p99;
    fclose(f);
    gets(db, n, lookups, seed, &p50, &p99);
    if (sqlite3_close(db) != SQLITE_OK) die("close", db);
    printf("{\"import_docs_per_s\":%.1f,\"get_p50_us\":%.3f,\"get_p99_us\":%.3f,"
           "\"journal_mode\":\"%s\"}\n", rate, p50, p99, mode);
    return 0;
}
