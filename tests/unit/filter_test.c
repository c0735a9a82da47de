/*
 * filter_test.c — the evaluators of src/query/filter.c against each other. The
 * reference is filter_eval with an explain, which evaluates every leaf on its own;
 * filter_eval without one (two bounds on one path evaluated together) must give the
 * same set, and filter_eval_first, for every window width from 1 doc number up and
 * several k, a prefix of it (in doc-number order) holding at least k documents, or all
 * of it. Filters cover each operator, the complements ($ne, $nin, $not, $nor, $exists
 * false), $text and pairs of bounds on one path (over scalars and arrays). Documents
 * are random (some deleted, some fields missing or arrays) and written through the
 * public API; the state and the indices are then read under the hood (api_int.h).
 * Replays with STELE_SEED.
 */
#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "query/filter.h"
#include "stele.h"
#include "testutil.h"

#define DOCS 3000

static const char *const FILTERS[] = {
    "{}",
    "{\"a\":3}",
    "{\"a\":{\"$gte\":2,\"$lt\":6}}",
    "{\"a\":{\"$in\":[1,7,9]}}",
    "{\"a\":{\"$nin\":[1,7]}}",
    "{\"a\":{\"$ne\":4}}",
    "{\"b\":{\"$startsWith\":\"b\"}}",
    "{\"b\":{\"$contains\":\"et\"}}",
    "{\"t\":{\"$contains\":\"x\"}}",
    "{\"c\":{\"$exists\":false}}",
    "{\"c\":{\"$exists\":true},\"a\":{\"$lte\":4}}",
    "{\"$or\":[{\"a\":0},{\"b\":\"gamma\"}]}",
    "{\"$nor\":[{\"a\":{\"$gt\":2}},{\"b\":\"beta\"}]}",
    "{\"$not\":{\"a\":{\"$lt\":8}}}",
    "{\"a\":{\"$not\":{\"$gt\":3}},\"b\":{\"$ne\":\"alpha\"}}",
    "{\"w\":{\"$text\":\"quick\"}}",
    "{\"$or\":[{\"w\":{\"$text\":\"lazy\"}},{\"a\":9}]}",
    "{\"a\":42}",
    "{\"n\":{\"$gt\":6,\"$lt\":3}}",
    "{\"n\":{\"$gte\":2,\"$lte\":4}}",
    "{\"n\":{\"$gt\":2,\"$lte\":2}}",
    "{\"$or\":[{\"n\":{\"$gt\":5,\"$lte\":7}},{\"a\":1}]}",
    "{\"$not\":{\"n\":{\"$gte\":1,\"$lt\":8}}}",
    "{\"a\":{\"$gte\":2,\"$lte\":\"z\"}}",
    "{\"b\":{\"$gte\":\"b\",\"$lt\":\"d\"},\"a\":{\"$lt\":5,\"$gt\":1}}",
};

static stele *make_db(void)
{
    const char *dir = test_tmpdir();
    stele_init_options io = {.store_dir = dir, .user = "f", .password = "pw", .password_len = 2,
                             .kdf = STELE_KDF_INSECURE_TEST};
    char err[256];
    if (stele_store_init(&io, err, sizeof err) != STELE_OK) return NULL;
    stele_open_options o = {.store_dir = dir, .user = "f", .password = "pw", .password_len = 2,
                            .durability = STELE_DURABLE_NONE};
    stele *db = NULL;
    if (stele_open(&o, &db) != STELE_OK) return NULL;
    const char *mk = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"q\"}]}";
    if (stele_txn(db, mk, strlen(mk), NULL, NULL) != STELE_OK) return NULL;
    static const char *const words[] = {"alpha", "beta", "gamma", "delta", "betax"};
    static const char *const texts[] = {"the quick fox", "a lazy dog", "quick and lazy", "none"};
    buf t;
    buf_init(&t);
    for (int i = 0; i < DOCS; i++) {
        t.len = 0;
        buf_printf(&t, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"_id\":\"d%d\"", i);
        if (test_rand() % 10) buf_printf(&t, ",\"a\":%d", (int)(test_rand() % 10));
        if (test_rand() % 5) buf_printf(&t, ",\"b\":\"%s\"", words[test_rand() % 5]);
        if (test_rand() % 2) buf_printf(&t, ",\"c\":null");
        if (test_rand() % 4 == 0) buf_printf(&t, ",\"t\":[\"x\",%d]", (int)(test_rand() % 3));
        if (test_rand() % 3 == 0) buf_printf(&t, ",\"w\":\"%s\"", texts[test_rand() % 4]);
        if (test_rand() % 2) /* a scalar, or an array whose elements may pass each bound */
            buf_printf(&t, test_rand() % 2 ? ",\"n\":%d" : ",\"n\":[%d,%d]",
                       (int)(test_rand() % 10), (int)(test_rand() % 10));
        buf_printf(&t, "}}");
        if (i > 10 && test_rand() % 8 == 0) /* delete an earlier one */
            buf_printf(&t, ",{\"op\":\"delete\",\"coll\":\"q\",\"id\":\"d%d\"}",
                       (int)(test_rand() % (uint64_t)i));
        buf_printf(&t, "]}");
        stele_status rc = stele_txn(db, (const char *)t.data, t.len, NULL, NULL);
        if (rc != STELE_OK && rc != STELE_ENOTFOUND) { /* deleting a deleted one is fine */
            fprintf(stderr, "txn: %s\n", stele_errmsg(db));
            buf_release(&t);
            return NULL;
        }
    }
    buf_release(&t);
    return db;
}

/* 1 if part is a prefix of all holding at least k documents (or equal to all). */
static int is_good_prefix(const roaring_bitmap_t *part, const roaring_bitmap_t *all, uint64_t k)
{
    uint64_t np = roaring_bitmap_get_cardinality(part), na = roaring_bitmap_get_cardinality(all);
    if (!roaring_bitmap_is_subset(part, all)) return 0;
    if (np < k && np != na) return 0;
    if (np == 0) return 1;
    /* nothing of all below part's maximum is missing from part */
    uint32_t max = roaring_bitmap_maximum(part);
    return roaring_bitmap_rank(all, max) == np;
}

static void test_windows(void)
{
    stele *db = make_db();
    REQUIRE(db, "store with %d documents", DOCS);
    uint32_t coll = mstate_coll_find(db->docs, "q", UINT64_MAX);
    REQUIRE(coll != MSTATE_NONE, "collection");
    static const uint64_t widths[] = {1, 2, 3, 7, 64, 100, 1000, 4096, FILTER_WINDOW};
    static const uint64_t ks[] = {1, 2, 10, 100, 1000, 100000};
    for (size_t i = 0; i < sizeof FILTERS / sizeof *FILTERS; i++) {
        util_err e;
        qfilter *f = NULL;
        REQUIRE(filter_parse(FILTERS[i], strlen(FILTERS[i]), &f, &e) == STELE_OK, "parse %s: %s",
                FILTERS[i], e.msg);
        /* the reference: with explain, every leaf is evaluated on its own (no pairs of
         * bounds); without, pairs are evaluated together — the same set */
        roaring_bitmap_t *all = NULL, *paired = NULL;
        buf ex;
        buf_init(&ex);
        REQUIRE(filter_eval(f, db->docs, db->idx, coll, &all, &ex, &e) == STELE_OK,
                "eval %s: %s", FILTERS[i], e.msg);
        buf_release(&ex);
        REQUIRE(filter_eval(f, db->docs, db->idx, coll, &paired, NULL, &e) == STELE_OK,
                "eval %s: %s", FILTERS[i], e.msg);
        CHECK(roaring_bitmap_equals(all, paired), "%s: %llu documents, %llu with explain",
              FILTERS[i], (unsigned long long)roaring_bitmap_get_cardinality(paired),
              (unsigned long long)roaring_bitmap_get_cardinality(all));
        roaring_bitmap_free(paired);
        int bad = 0;
        for (size_t w = 0; w < sizeof widths / sizeof *widths && !bad; w++)
            for (size_t j = 0; j < sizeof ks / sizeof *ks && !bad; j++) {
                roaring_bitmap_t *part = NULL;
                stele_status rc = filter_eval_first(f, db->docs, db->idx, coll, ks[j], widths[w],
                                                    &part, &e);
                bad = rc != STELE_OK || !is_good_prefix(part, all, ks[j]);
                CHECK(!bad, "%s: window %llu, k %llu: %llu of %llu documents", FILTERS[i],
                      (unsigned long long)widths[w], (unsigned long long)ks[j],
                      part ? (unsigned long long)roaring_bitmap_get_cardinality(part) : 0ull,
                      (unsigned long long)roaring_bitmap_get_cardinality(all));
                if (part) roaring_bitmap_free(part);
            }
        roaring_bitmap_free(all);
        filter_free(f);
    }
    stele_close(db);
}

int main(void)
{
    test_seed();
    TEST_RUN(test_windows);
    return test_summary();
}
