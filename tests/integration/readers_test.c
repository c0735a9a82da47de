/*
 * readers_test.c — views (include/stele.h "Views"; docs/DECISIONS.md 35): readers on
 * other threads read a consistent snapshot while one writer thread commits.
 * What must hold: every view is internally consistent while the writer runs (the
 * count equals the lines of find, the per-value counts add up to it, exactly the
 * documents find lists are found by id, nothing newer than the view's LSN is seen,
 * every live edge joins two live nodes and a node's neighbours are its edges' ends,
 * a second read of the view gives the same answer); a view held open does not stop
 * the writer (it commits everything) and keeps answering as of its LSN; views need a
 * handle opened for readers, and stele_snapshot is refused on one.
 * Run it under ThreadSanitizer too (docs/BENCHMARKS.md says how).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NIDS 300      /* node ids k0 .. k299 */
#define TXNS 400      /* writer transactions in the concurrent test */
#define READERS 3
#define HELD_TXNS 150 /* commits while a view is held */

static char store[600];

/* Checks made on reader threads: the harness's counters are not thread-safe, so they
 * count failures here (atomically) and the main thread checks that none happened. */
static int reader_failures;
#define RCHECK(cond, ...)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            __atomic_add_fetch(&reader_failures, 1, __ATOMIC_SEQ_CST);        \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                   \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
        }                                                                     \
    } while (0)

typedef struct writer_arg {
    stele *db;
    uint64_t seed;
    int txns, ok;
    int done; /* atomic */
} writer_arg;

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* One random transaction: inserts, patches, deletes (cascading to edges) and edges
 * between nodes; many fail (a duplicate id, a missing node), which rolls back. */
static int random_txn(stele *db, uint64_t *r)
{
    char t[1024];
    size_t n = (size_t)snprintf(t, sizeof t, "{\"ops\":[");
    int ops = 1 + (int)(next_rand(r) % 3);
    for (int i = 0; i < ops; i++) {
        unsigned a = (unsigned)(next_rand(r) % NIDS), b = (unsigned)(next_rand(r) % NIDS);
        unsigned g = (unsigned)(next_rand(r) % 5), kind = (unsigned)(next_rand(r) % 10);
        const char *sep = i ? "," : "";
        if (kind < 4)
            n += (size_t)snprintf(t + n, sizeof t - n, "%s{\"op\":\"insert\",\"coll\":\"n\","
                                  "\"doc\":{\"_id\":\"k%u\",\"g\":%u}}", sep, a, g);
        else if (kind < 6)
            n += (size_t)snprintf(t + n, sizeof t - n, "%s{\"op\":\"patch\",\"coll\":\"n\","
                                  "\"id\":\"k%u\",\"doc\":{\"g\":%u}}", sep, a, g);
        else if (kind < 7)
            n += (size_t)snprintf(t + n, sizeof t - n, "%s{\"op\":\"delete\",\"coll\":\"n\","
                                  "\"id\":\"k%u\",\"cascade\":true}", sep, a);
        else
            n += (size_t)snprintf(t + n, sizeof t - n, "%s{\"op\":\"insert\",\"coll\":\"e\","
                                  "\"doc\":{\"_from\":\"n/k%u\",\"_to\":\"n/k%u\"}}", sep, a, b);
    }
    n += (size_t)snprintf(t + n, sizeof t - n, "]}");
    return stele_txn(db, t, n, NULL, NULL) == STELE_OK;
}

static void *writer_main(void *p)
{
    writer_arg *w = p;
    uint64_t r = w->seed | 1;
    for (int i = 0; i < w->txns; i++) w->ok += random_txn(w->db, &r);
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Lines of an NDJSON text. */
static uint64_t lines(const char *s)
{
    uint64_t n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* The string member `key` of the JSON object starting at p (up to the line's end) into
 * out; 0, or -1 if absent. */
static int field(const char *p, const char *key, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *end = strchr(p, '\n'), *q = strstr(p, pat);
    if (!q || (end && q > end)) return -1;
    q += strlen(pat);
    size_t n = strcspn(q, "\"");
    if (n >= cap) return -1;
    memcpy(out, q, n);
    out[n] = 0;
    return 0;
}

static uint64_t num_field(const char *p, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *q = strstr(p, pat);
    return q ? strtoull(q + strlen(pat), NULL, 10) : UINT64_MAX;
}

static uint64_t view_count(stele_view *v, const char *coll, const char *filter)
{
    uint64_t c = UINT64_MAX;
    if (stele_view_count(v, coll, filter, strlen(filter), &c) != STELE_OK) return UINT64_MAX;
    return c;
}

/* Counts, find and gets by id agree; nothing is newer than the view. Returns the count. */
static uint64_t check_nodes(stele_view *v)
{
    uint64_t lsn = stele_view_lsn(v), c = view_count(v, "n", "{}"), sum = 0;
    RCHECK(c != UINT64_MAX, "count: %s", stele_view_errmsg(v));
    for (int g = 0; g < 5; g++) {
        char f[32];
        snprintf(f, sizeof f, "{\"g\":%d}", g);
        sum += view_count(v, "n", f);
    }
    RCHECK(sum == c, "per-value counts add up to %llu, not %llu", (unsigned long long)sum,
          (unsigned long long)c);
    char *all = NULL;
    RCHECK(stele_view_find(v, "n", "{}", 2, NULL, &all) == STELE_OK, "find: %s",
          stele_view_errmsg(v));
    RCHECK(lines(all) == c, "find lists %llu, count says %llu", (unsigned long long)lines(all),
          (unsigned long long)c);
    uint64_t found = 0;
    for (int i = 0; i < NIDS; i++) {
        char id[16], *doc = NULL, pat[24];
        snprintf(id, sizeof id, "k%d", i);
        if (stele_view_doc_get(v, "n", id, &doc) != STELE_OK) continue;
        found++;
        snprintf(pat, sizeof pat, "\"_id\":\"%s\"", id);
        RCHECK(all && strstr(all, pat), "%s is found by id but not by find", id);
        RCHECK(num_field(doc, "_lsn") <= lsn, "%s is newer than the view", id);
        stele_free(doc);
    }
    RCHECK(found == c, "%llu documents found by id, count says %llu", (unsigned long long)found,
          (unsigned long long)c);
    stele_free(all);
    return c;
}

/* Every live edge joins two live nodes; a node's out-neighbours are its edges' ends. */
static void check_edges(stele_view *v)
{
    char *edges = NULL;
    if (stele_view_find(v, "e", "{}", 2, NULL, &edges) != STELE_OK) {
        RCHECK(0, "find edges: %s", stele_view_errmsg(v));
        return;
    }
    for (const char *p = edges; p && *p; p = strchr(p, '\n') + 1) {
        char from[64], to[64];
        stele_node a, b;
        RCHECK(field(p, "_from", from, sizeof from) == 0 && field(p, "_to", to, sizeof to) == 0,
              "edge without ends");
        RCHECK(stele_view_node_lookup(v, from, &a) == STELE_OK &&
                  stele_view_node_lookup(v, to, &b) == STELE_OK,
              "edge %s -> %s joins a node that is not live", from, to);
        size_t nn = 0;
        stele_node out[NIDS];
        RCHECK(stele_view_neighbors(v, a, STELE_DIR_OUT, NULL, out, NIDS, &nn) == STELE_OK,
              "neighbors: %s", stele_view_errmsg(v));
        int has = 0;
        for (size_t i = 0; i < nn && i < NIDS; i++) has |= out[i] == b;
        RCHECK(has, "%s is not a neighbour of %s", to, from);
        stele_node *hop = NULL;
        size_t nh = 0;
        int self = 0;
        for (size_t i = 0; i < nn && i < NIDS; i++) self |= out[i] == a;
        RCHECK(stele_view_traverse(v, &a, 1, STELE_DIR_OUT, "e", 1, &hop, NULL, &nh) == STELE_OK &&
                  nh == nn + (self ? 0 : 1),
              "traverse 1 hop from %s: %zu nodes, neighbours %zu", from, nh, nn);
        stele_free(hop);
        if (p - edges > 2000) break; /* a sample of edges per view */
    }
    stele_free(edges);
}

typedef struct reader_arg {
    stele *db;
    int *writer_done;
    int views;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *r = p;
    for (int i = 0; i < 100000 && (r->views < 3 || !__atomic_load_n(r->writer_done,
                                                                      __ATOMIC_SEQ_CST));
         i++) {
        stele_view *v = NULL;
        if (stele_view_open(r->db, &v) != STELE_OK) {
            RCHECK(0, "view open");
            break;
        }
        uint64_t c = check_nodes(v);
        check_edges(v);
        RCHECK(view_count(v, "n", "{}") == c, "a view's second count differs");
        stele_view_close(v);
        r->views++;
    }
    return NULL;
}

static stele *open_readers(void)
{
    stele_open_options o = {.readers = 1};
    return test_store_open(store, &o);
}

static void setup(void)
{
    test_store_new(store, sizeof store, 1u << 20, 1000);
    stele *db = test_store_open(store, NULL);
    REQUIRE(db != NULL, "open");
    const char *mk = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"n\"},"
                     "{\"op\":\"create_collection\",\"coll\":\"e\"}]}";
    REQUIRE(stele_txn(db, mk, strlen(mk), NULL, NULL) == STELE_OK, "%s", stele_errmsg(db));
    uint64_t r = test_seed() | 1;
    for (int i = 0; i < 100; i++) random_txn(db, &r);
    REQUIRE(stele_snapshot(db) == STELE_OK, "%s", stele_errmsg(db)); /* lazy partitions too */
    stele_view *v = NULL;
    CHECK(stele_view_open(db, &v) == STELE_EINVAL && !v, "a view of a handle without readers");
    stele_close(db);
}

static void test_concurrent_readers(void)
{
    stele *db = open_readers();
    REQUIRE(db != NULL, "open for readers");
    CHECK(stele_snapshot(db) == STELE_EINVAL, "stele_snapshot is refused with readers");
    writer_arg w = {.db = db, .seed = test_seed() ^ 0x5eed, .txns = TXNS};
    reader_arg r[READERS];
    pthread_t wt, rt[READERS];
    for (int i = 0; i < READERS; i++) r[i] = (reader_arg){.db = db, .writer_done = &w.done};
    REQUIRE(pthread_create(&wt, NULL, writer_main, &w) == 0, "writer thread");
    for (int i = 0; i < READERS; i++)
        REQUIRE(pthread_create(&rt[i], NULL, reader_main, &r[i]) == 0, "reader thread");
    pthread_join(wt, NULL);
    for (int i = 0; i < READERS; i++) pthread_join(rt[i], NULL);
    printf("writer: %d of %d transactions committed; views read:", w.ok, TXNS);
    for (int i = 0; i < READERS; i++) printf(" %d", r[i].views);
    printf("\n");
    CHECK(__atomic_load_n(&reader_failures, __ATOMIC_SEQ_CST) == 0, "views were inconsistent");
    CHECK(w.ok > 0 && w.ok < TXNS, "some transactions commit, some fail (%d)", w.ok);
    for (int i = 0; i < READERS; i++) CHECK(r[i].views >= 3, "reader %d read %d views", i, r[i].views);
    stele_view *v = NULL; /* the final state, through a view and through the handle */
    REQUIRE(stele_view_open(db, &v) == STELE_OK, "view");
    uint64_t c = check_nodes(v), direct = 0;
    CHECK(stele_count(db, "n", "{}", 2, 0, &direct) == STELE_OK && direct == c,
          "the handle counts %llu, a view %llu", (unsigned long long)direct,
          (unsigned long long)c);
    stele_view_close(v);
    CHECK(__atomic_load_n(&reader_failures, __ATOMIC_SEQ_CST) == 0, "the final view");
    stele_close(db);
}

static void *insert_many(void *p)
{
    writer_arg *w = p;
    for (int i = 0; i < w->txns; i++) {
        char t[200];
        int n = snprintf(t, sizeof t, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"h\",\"doc\":"
                         "{\"_id\":\"x%d\",\"g\":%d}}]}", i, i % 5);
        w->ok += stele_txn(w->db, t, (size_t)n, NULL, NULL) == STELE_OK;
    }
    return NULL;
}

static void test_held_view(void)
{
    stele *db = open_readers();
    REQUIRE(db != NULL, "open for readers");
    const char *mk = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"h\"}]}";
    REQUIRE(stele_txn(db, mk, strlen(mk), NULL, NULL) == STELE_OK, "%s", stele_errmsg(db));
    stele_view *held = NULL, *now = NULL;
    REQUIRE(stele_view_open(db, &held) == STELE_OK, "view");
    uint64_t lsn = stele_view_lsn(held);
    writer_arg w = {.db = db, .txns = HELD_TXNS};
    pthread_t wt;
    REQUIRE(pthread_create(&wt, NULL, insert_many, &w) == 0, "writer thread");
    for (int i = 0; i < 20; i++) /* reads through the held view while the writer commits */
        CHECK(view_count(held, "h", "{}") == 0, "the held view sees a later commit");
    pthread_join(wt, NULL); /* returns: the writer never waited for the held view */
    CHECK(w.ok == HELD_TXNS, "the writer committed %d of %d", w.ok, HELD_TXNS);
    CHECK(view_count(held, "h", "{}") == 0 && stele_view_lsn(held) == lsn, "held view moved");
    char *doc = NULL;
    CHECK(stele_view_doc_get(held, "h", "x0", &doc) == STELE_ENOTFOUND, "x0 in the held view");
    REQUIRE(stele_view_open(db, &now) == STELE_OK, "second view");
    CHECK(view_count(now, "h", "{}") == HELD_TXNS, "a new view sees every commit");
    CHECK(stele_view_lsn(now) == lsn + HELD_TXNS, "new view at LSN %llu",
          (unsigned long long)stele_view_lsn(now));
    char *hist = NULL;
    CHECK(stele_view_doc_history(now, "h", "x7", &hist) == STELE_OK && lines(hist) == 1,
          "history of x7");
    stele_free(hist);
    stele_view_close(held);
    stele_view_close(now);
    stele_close(db);
}

int main(void)
{
    TEST_RUN(setup);
    TEST_RUN(test_concurrent_readers);
    TEST_RUN(test_held_view);
    return test_summary();
}
