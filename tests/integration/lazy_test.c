/*
 * lazy_test.c — document bodies loaded lazily from the state snapshot's partitions
 * under a memory budget (src/model/state_cache.c), through the public API.
 * What must hold: open reads no body (indices and adjacency come from the directory);
 * with a budget far below the data every document still reads back exactly; the
 * cache's own count of resident bytes stays within the budget plus what one call
 * touched; evicted partitions load again; writes after the snapshot, counts by index,
 * filters on unindexed fields, export and the digest all agree with a rebuild;
 * partitions are stored dictionary-encoded, smaller than the bodies they load into.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NDOCS 40000
#define BATCH 1000
#define BUDGET ((uint64_t)1 << 20)

static char store[600];

/* The body of document i (deterministic, ~150-250 bytes, so ~8 MB in all). */
static int doc_json(unsigned i, char *out, size_t cap)
{
    return snprintf(out, cap, "{\"_id\":\"d%u\",\"g\":%u,\"h\":%u,\"pad\":\"%0*u\"}", i, i % 7,
                    i % 13, (int)(100 + i % 100), i);
}

static void load_store(void)
{
    test_store_new(store, sizeof store, 1u << 20, 1000); /* ~4 partitions a file */
    stele *db = test_store_open(store, NULL);
    REQUIRE(db != NULL, "open");
    const char *mk = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"},"
                     "{\"op\":\"create_index\",\"coll\":\"c\",\"path\":\"g\"}]}";
    REQUIRE(stele_txn(db, mk, strlen(mk), NULL, NULL) == STELE_OK, "%s", stele_errmsg(db));
    char *t = malloc((size_t)BATCH * 400 + 64), one[400];
    REQUIRE(t != NULL, "oom");
    for (unsigned b = 0; b < NDOCS / BATCH; b++) {
        size_t n = (size_t)snprintf(t, 64, "{\"ops\":[");
        for (unsigned i = b * BATCH; i < (b + 1) * BATCH; i++) {
            doc_json(i, one, sizeof one);
            n += (size_t)sprintf(t + n, "%s{\"op\":\"insert\",\"coll\":\"c\",\"doc\":%s}",
                                 i == b * BATCH ? "" : ",", one);
        }
        n += (size_t)sprintf(t + n, "]}");
        CHECK(stele_txn(db, t, n, NULL, NULL) == STELE_OK, "batch %u: %s", b, stele_errmsg(db));
    }
    free(t);
    REQUIRE(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    stele_close(db);
}

/* A number member of stat's section (the cache's are inside "snapshot"). */
static uint64_t section_stat(stele *db, const char *section, const char *key)
{
    char *json = NULL, pat[64], sec[64];
    if (stele_stat(db, &json) != STELE_OK) return UINT64_MAX;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    snprintf(sec, sizeof sec, "\"%s\":", section);
    const char *p = strstr(json, sec);
    const char *q = p ? strstr(p, pat) : NULL;
    uint64_t v = q ? strtoull(q + strlen(pat), NULL, 10) : UINT64_MAX;
    stele_free(json);
    return v;
}

static uint64_t snap_stat(stele *db, const char *key) { return section_stat(db, "snapshot", key); }

static stele *open_budget(uint64_t budget)
{
    stele_open_options o = {.cache_bytes = budget};
    return test_store_open(store, &o);
}

/* The get of document i holds its expected fields. */
static int doc_matches(stele *db, unsigned i)
{
    char id[16], want[400], *got = NULL;
    snprintf(id, sizeof id, "d%u", i);
    doc_json(i, want, sizeof want);
    if (stele_doc_get(db, "c", id, 0, &got) != STELE_OK) return 0;
    char pad[160];
    snprintf(pad, sizeof pad, "\"pad\":\"%0*u\"", (int)(100 + i % 100), i);
    int ok = strstr(got, pad) != NULL && strstr(got, id) != NULL;
    stele_free(got);
    return ok;
}

static void test_open_reads_no_body(void)
{
    stele *db = open_budget(BUDGET);
    REQUIRE(db != NULL, "open");
    CHECK(snap_stat(db, "loaded_from") > 0, "the snapshot was not used");
    CHECK(snap_stat(db, "partitions") > 8, "expected many partitions, got %llu",
          (unsigned long long)snap_stat(db, "partitions"));
    CHECK(snap_stat(db, "loads") == 0, "open loaded %llu partitions",
          (unsigned long long)snap_stat(db, "loads"));
    uint64_t n = 0;
    CHECK(stele_count(db, "c", "{\"g\":3}", 7, 0, &n) == STELE_OK, "%s", stele_errmsg(db));
    CHECK(n == NDOCS / 7 + (NDOCS % 7 > 3), "count by index: %llu", (unsigned long long)n);
    CHECK(snap_stat(db, "loads") == 0, "an indexed count read bodies");
    stele_close(db);
}

/* stat's "memory": after an open from the snapshot, 24 bytes per document entry and
 * per version (each document has one), no cached partition; a get caches one. */
static void test_memory_stat(void)
{
    stele *db = open_budget(BUDGET);
    REQUIRE(db != NULL, "open");
    uint64_t docs = section_stat(db, "memory", "documents");
    uint64_t vers = section_stat(db, "memory", "versions");
    CHECK(docs == (uint64_t)NDOCS * 24, "document entries: %llu bytes for %u documents",
          (unsigned long long)docs, NDOCS);
    CHECK(vers == (uint64_t)NDOCS * 24, "versions: %llu bytes", (unsigned long long)vers);
    CHECK(section_stat(db, "memory", "cached_partitions") == 0, "open cached partitions");
    uint64_t tab = section_stat(db, "memory", "id_table");
    CHECK(tab >= (uint64_t)NDOCS * 8 * 4 / 3 && tab <= (uint64_t)NDOCS * 8 * 8 / 3,
          "id table of %llu bytes for %u documents (at most 3/4 full, a power of two)",
          (unsigned long long)tab, NDOCS);
    CHECK(doc_matches(db, 7), "document 7");
    uint64_t cached = section_stat(db, "memory", "cached_partitions");
    CHECK(cached > 0 && cached <= BUDGET, "after a get: %llu bytes cached", (unsigned long long)cached);
    stele_close(db);
}

static void test_budget_holds(void)
{
    stele *db = open_budget(BUDGET);
    REQUIRE(db != NULL, "open");
    uint64_t parts = snap_stat(db, "partitions"), bytes = snap_stat(db, "partition_bytes");
    REQUIRE(bytes > 4 * BUDGET, "the data (%llu bytes) should exceed the budget",
            (unsigned long long)bytes);
    uint64_t max_part = 256u << 10; /* SNAP_PART_BYTES: the unit loaded */
    int wrong = 0;
    uint64_t worst = 0;
    for (unsigned k = 0; k < NDOCS + NDOCS / 8; k++) { /* every document, then scattered */
        unsigned i = k < NDOCS ? k : (unsigned)((k * 7919ull) % NDOCS);
        if (!doc_matches(db, i) && wrong++ < 5) CHECK(0, "document d%u reads wrong", i);
        if (k % 512 == 0) {
            uint64_t r = snap_stat(db, "resident_bytes");
            if (r > worst) worst = r;
        }
    }
    CHECK(wrong == 0, "%d documents read wrong", wrong);
    CHECK(worst <= BUDGET + max_part, "resident %llu bytes, budget %llu",
          (unsigned long long)worst, (unsigned long long)BUDGET);
    CHECK(snap_stat(db, "evictions") > 0, "no eviction with a budget below the data");
    CHECK(snap_stat(db, "loads") > parts, "no partition was loaded again after eviction");
    stele_close(db);
}

static int count_lines(void *ctx, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) *(uint64_t *)ctx += data[i] == '\n';
    return 0;
}

static void test_walks_and_writes(void)
{
    stele *db = open_budget(BUDGET);
    REQUIRE(db != NULL, "open");
    uint64_t n = 0; /* "h" has no index: the filter reads every body */
    CHECK(stele_count(db, "c", "{\"h\":5}", 7, 0, &n) == STELE_OK, "%s", stele_errmsg(db));
    CHECK(n == NDOCS / 13 + (NDOCS % 13 > 5), "filter on an unindexed field: %llu",
          (unsigned long long)n);
    uint64_t lines = 0;
    CHECK(stele_export(db, "c", NULL, count_lines, &lines) == STELE_OK, "%s", stele_errmsg(db));
    CHECK(lines == NDOCS, "export gave %llu documents", (unsigned long long)lines);
    CHECK(snap_stat(db, "resident_bytes") <= BUDGET + (256u << 10),
          "export left %llu bytes resident", (unsigned long long)snap_stat(db, "resident_bytes"));
    const char *upd = "{\"ops\":[{\"op\":\"patch\",\"coll\":\"c\",\"id\":\"d17\","
                      "\"doc\":{\"h\":999}}]}";
    CHECK(stele_txn(db, upd, strlen(upd), NULL, NULL) == STELE_OK, "%s", stele_errmsg(db));
    for (unsigned i = 0; i < NDOCS; i += 97) CHECK(doc_matches(db, i), "d%u after a write", i);
    char *got = NULL;
    CHECK(stele_doc_get(db, "c", "d17", 0, &got) == STELE_OK && strstr(got, "\"h\":999"),
          "the new version of d17: %s", got ? got : stele_errmsg(db));
    stele_free(got);
    char live[65], rebuilt[65];
    CHECK(stele_docs_digest(db, live) == STELE_OK, "%s", stele_errmsg(db));
    CHECK(snap_stat(db, "resident_bytes") <= BUDGET + (256u << 10), "digest broke the budget");
    stele_close(db);
    stele_open_options ro = {.rebuild = 1};
    stele *rb = test_store_open(store, &ro);
    REQUIRE(rb != NULL, "rebuild open");
    CHECK(stele_docs_digest(rb, rebuilt) == STELE_OK, "%s", stele_errmsg(rb));
    CHECK(strcmp(live, rebuilt) == 0, "the lazy state differs from a rebuild");
    stele_close(rb);
}

/* A snapshot written from a lazy state (partitions loaded and evicted as it goes)
 * reopens to the same state. */
static void test_snapshot_of_lazy_state(void)
{
    stele *db = open_budget(BUDGET);
    REQUIRE(db != NULL, "open");
    const char *upd = "{\"ops\":[{\"op\":\"patch\",\"coll\":\"c\",\"id\":\"d5\","
                      "\"doc\":{\"h\":5}}]}";
    CHECK(stele_txn(db, upd, strlen(upd), NULL, NULL) == STELE_OK, "%s", stele_errmsg(db));
    char before[65], after[65];
    CHECK(stele_docs_digest(db, before) == STELE_OK, "%s", stele_errmsg(db));
    CHECK(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    CHECK(snap_stat(db, "resident_bytes") <= BUDGET + (256u << 10), "snapshot broke the budget");
    CHECK(doc_matches(db, 12345), "a read after the snapshot");
    stele_close(db);
    db = open_budget(BUDGET);
    REQUIRE(db != NULL, "reopen");
    CHECK(stele_docs_digest(db, after) == STELE_OK, "%s", stele_errmsg(db));
    CHECK(strcmp(before, after) == 0, "the state changed across a snapshot of a lazy state");
    CHECK(stele_verify(db, 0, NULL) == STELE_OK, "verify: %s", stele_errmsg(db));
    stele_close(db);
}

/* Partitions are stored dictionary-encoded (DECISIONS #40): once every one is loaded,
 * the bodies in memory outweigh the bytes stored by more than the encoding's 8/7. */
static void test_partitions_encoded(void)
{
    stele *db = open_budget(UINT64_MAX);
    REQUIRE(db != NULL, "open");
    uint64_t lines = 0;
    CHECK(stele_export(db, "c", NULL, count_lines, &lines) == STELE_OK && lines == NDOCS,
          "export: %s", stele_errmsg(db));
    uint64_t stored = snap_stat(db, "partition_bytes"), body = snap_stat(db, "resident_bytes");
    CHECK(snap_stat(db, "resident_partitions") == snap_stat(db, "partitions"),
          "not every partition was loaded");
    CHECK(stored * 8 <= body * 7, "%llu bytes stored for %llu bytes of bodies",
          (unsigned long long)stored, (unsigned long long)body);
    stele_close(db);
}

int main(void)
{
    TEST_RUN(load_store);
    TEST_RUN(test_open_reads_no_body);
    TEST_RUN(test_memory_stat);
    TEST_RUN(test_budget_holds);
    TEST_RUN(test_walks_and_writes);
    TEST_RUN(test_snapshot_of_lazy_state);
    TEST_RUN(test_partitions_encoded);
    return test_summary();
}
