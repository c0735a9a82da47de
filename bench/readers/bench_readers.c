/*
 * bench_readers.c — writer throughput with 0 and 2 reader threads holding views
 * (include/stele.h "Views"; docs/BENCHMARKS.md "Documents"). Its own executable
 * (`make stele_bench_readers`), through include/stele.h only. Usage:
 *   stele_bench_readers [DOCS [TXNS]]   (defaults 20000 preloaded documents, 20000 txns)
 * Durability FSYNC_NONE-like policy is not used: the store default (fsync per commit)
 * would measure the disk; the writer uses STELE_DURABLE_NONE so that apply and
 * publish dominate. Readers loop: open a view, get a random document by id, count a
 * filter (a version scan), close.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stele.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct rd {
    stele *db;
    int *stop;
    unsigned ndocs;
    uint64_t gets, counts;
    double get_s, count_s;
} rd;

static void *reader(void *p)
{
    rd *r = p;
    unsigned x = 12345;
    while (!__atomic_load_n(r->stop, __ATOMIC_SEQ_CST)) {
        stele_view *v = NULL;
        if (stele_view_open(r->db, &v) != STELE_OK) return NULL;
        for (int i = 0; i < 100; i++) {
            char id[24], *doc = NULL;
            x = x * 1103515245u + 12345u;
            snprintf(id, sizeof id, "d%u", x % r->ndocs);
            double t0 = now_s();
            if (stele_view_doc_get(v, "c", id, &doc) == STELE_OK) stele_free(doc);
            r->get_s += now_s() - t0;
            r->gets++;
        }
        uint64_t c;
        double t0 = now_s();
        (void)stele_view_count(v, "c", "{\"g\":3}", 7, &c);
        r->count_s += now_s() - t0;
        r->counts++;
        stele_view_close(v);
    }
    return NULL;
}

static double run(const char *store, unsigned ndocs, unsigned txns, int nreaders, unsigned base)
{
    stele_open_options o = {.store_dir = store, .user = "b", .password = "pw", .password_len = 2,
                            .durability = STELE_DURABLE_NONE, .readers = 1};
    stele *db = NULL;
    if (stele_open(&o, &db) != STELE_OK) {
        fprintf(stderr, "open: %s\n", stele_errmsg(db));
        exit(1);
    }
    int stop = 0;
    rd r[2];
    pthread_t t[2];
    for (int i = 0; i < nreaders; i++) {
        r[i] = (rd){.db = db, .stop = &stop, .ndocs = ndocs};
        pthread_create(&t[i], NULL, reader, &r[i]);
    }
    double t0 = now_s();
    for (unsigned i = 0; i < txns; i++) {
        char tx[200];
        int n = snprintf(tx, sizeof tx, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":"
                         "{\"_id\":\"w%u\",\"g\":%u,\"s\":\"x%u\"}}]}", base + i, i % 7, i);
        if (stele_txn(db, tx, (size_t)n, NULL, NULL) != STELE_OK) {
            fprintf(stderr, "txn: %s\n", stele_errmsg(db));
            exit(1);
        }
    }
    double dt = now_s() - t0;
    __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < nreaders; i++) {
        pthread_join(t[i], NULL);
        printf("  reader %d: %llu gets, %.1f us each; %llu counts (scan), %.2f ms each\n", i,
               (unsigned long long)r[i].gets, r[i].get_s / (double)(r[i].gets ? r[i].gets : 1) * 1e6,
               (unsigned long long)r[i].counts,
               r[i].count_s / (double)(r[i].counts ? r[i].counts : 1) * 1e3);
    }
    stele_close(db);
    return txns / dt;
}

int main(int argc, char **argv)
{
    unsigned ndocs = argc > 1 ? (unsigned)atoi(argv[1]) : 20000;
    unsigned txns = argc > 2 ? (unsigned)atoi(argv[2]) : 20000;
    char store[] = "/tmp/stele_bench_readers_XXXXXX", err[256];
    if (!mkdtemp(store)) return 1;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/s", store);
    stele_init_options io = {.store_dir = dir, .user = "b", .password = "pw", .password_len = 2,
                             .kdf = STELE_KDF_INSECURE_TEST};
    if (stele_store_init(&io, err, sizeof err) != STELE_OK) {
        fprintf(stderr, "init: %s\n", err);
        return 1;
    }
    stele_open_options o = {.store_dir = dir, .user = "b", .password = "pw", .password_len = 2,
                            .durability = STELE_DURABLE_NONE};
    stele *db = NULL;
    if (stele_open(&o, &db) != STELE_OK) return 1;
    const char *mk = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}";
    (void)stele_txn(db, mk, strlen(mk), NULL, NULL);
    for (unsigned b = 0; b < ndocs; b += 1000) {
        char *t = malloc(1000 * 120 + 32);
        size_t n = (size_t)sprintf(t, "{\"ops\":[");
        for (unsigned i = b; i < b + 1000 && i < ndocs; i++)
            n += (size_t)sprintf(t + n, "%s{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":"
                                 "\"d%u\",\"g\":%u}}", i == b ? "" : ",", i, i % 7);
        n += (size_t)sprintf(t + n, "]}");
        (void)stele_txn(db, t, n, NULL, NULL);
        free(t);
    }
    stele_close(db);
    printf("%u documents preloaded; %u one-insert transactions, durability none\n", ndocs, txns);
    double w0 = run(dir, ndocs, txns, 0, 0);
    printf("writer, 0 readers: %.0f txn/s\n", w0);
    double w2 = run(dir, ndocs, txns, 2, txns);
    printf("writer, 2 readers: %.0f txn/s (%.2fx)\n", w2, w2 / w0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", store);
    return system(cmd) == 0 ? 0 : 1;
}
