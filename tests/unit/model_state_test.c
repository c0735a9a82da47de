/*
 * model_state_test.c — the versioned document state: collections with name history,
 * dense doc numbers, version chains and as-of reads, and a digest that depends only
 * on the state (a differential check against a brute-force list of all versions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/state.h"
#include "testutil.h"

static const uint8_t AUTHOR[16] = {1, 2, 3};

static void test_collections_history(void)
{
    mstate *s = mstate_new();
    REQUIRE(s, "new");
    uint32_t a, b;
    REQUIRE(mstate_coll_create(s, "users", 10, &a) == 0, "create users");
    REQUIRE(mstate_coll_create(s, "orders", 11, &b) == 0, "create orders");
    CHECK(a == 0 && b == 1, "dense ids");
    CHECK(mstate_coll_find(s, "users", UINT64_MAX) == a, "find now");
    CHECK(mstate_coll_find(s, "users", 9) == MSTATE_NONE, "not before its creation");
    REQUIRE(mstate_coll_rename(s, a, "people", 20) == 0, "rename");
    CHECK(mstate_coll_find(s, "users", UINT64_MAX) == MSTATE_NONE, "old name gone now");
    CHECK(mstate_coll_find(s, "users", 19) == a, "old name as of before the rename");
    CHECK(mstate_coll_find(s, "people", UINT64_MAX) == a, "new name now");
    REQUIRE(mstate_coll_drop(s, b, 30) == 0, "drop");
    CHECK(mstate_coll_find(s, "orders", UINT64_MAX) == MSTATE_NONE, "dropped");
    CHECK(mstate_coll_find(s, "orders", 29) == b, "visible as of before the drop");
    CHECK(mstate_coll_name(s, b, 29) && strcmp(mstate_coll_name(s, b, 29), "orders") == 0,
          "name as of");
    CHECK(mstate_coll_name(s, b, UINT64_MAX) == NULL, "no name once dropped");
    uint32_t c;
    REQUIRE(mstate_coll_create(s, "orders", 31, &c) == 0, "re-create a dropped name");
    CHECK(c == 2 && mstate_coll_find(s, "orders", UINT64_MAX) == c, "a new collection id");
    mstate_free(s);
}

static void test_versions_and_as_of(void)
{
    mstate *s = mstate_new();
    uint32_t c, n1, n2;
    REQUIRE(mstate_coll_create(s, "c", 1, &c) == 0, "create");
    REQUIRE(mstate_doc_put(s, c, "k1", 2, 5, 100, AUTHOR, 0, (const uint8_t *)"v1", 2, &n1) == 0,
            "insert");
    REQUIRE(mstate_doc_put(s, c, "k2", 2, 6, 101, AUTHOR, 0, (const uint8_t *)"w1", 2, &n2) == 0,
            "insert 2");
    REQUIRE(mstate_doc_put(s, c, "k1", 2, 9, 102, AUTHOR, 0, (const uint8_t *)"v22", 3, NULL) == 0,
            "replace");
    REQUIRE(mstate_doc_put(s, c, "k1", 2, 12, 103, AUTHOR, 1, (const uint8_t *)"v22", 3, NULL) == 0,
            "delete");
    CHECK(n1 == 0 && n2 == 1 && mstate_doc_count(s) == 2, "dense doc numbers");
    CHECK(mstate_doc_find(s, c, "k1", 2) == n1 && mstate_doc_find(s, c, "k3", 2) == MSTATE_NONE,
          "lookup by _id");
    CHECK(mstate_doc_get(s, n1, 4) == NULL, "nothing before the insert");
    const mversion *v = mstate_doc_get(s, n1, 8);
    CHECK(v && v->rev == 1 && v->doc_len == 2 && memcmp(v->doc, "v1", 2) == 0, "as of 8: v1");
    v = mstate_doc_get(s, n1, 9);
    CHECK(v && v->rev == 2 && memcmp(v->doc, "v22", 3) == 0, "as of 9: v22");
    v = mstate_doc_get(s, n1, UINT64_MAX);
    CHECK(v && v->rev == 3 && v->deleted, "now: deleted, rev 3");
    size_t n;
    const mversion *h = mstate_doc_history(s, n1, &n);
    CHECK(n == 3 && h[0].lsn == 5 && h[2].lsn == 12, "history oldest first");
    size_t idlen;
    const char *id = mstate_doc_id(s, n2, &idlen);
    CHECK(id && idlen == 2 && memcmp(id, "k2", 2) == 0 && mstate_doc_coll(s, n2) == c, "id");
    mstate_free(s);
}

/* Many random puts; every as-of read is checked against a brute-force scan of a flat
 * list of everything put, and two states built from the same ops have equal digests
 * while a different one differs. */
typedef struct put_rec {
    uint32_t key;
    uint64_t lsn;
    uint32_t val;
} put_rec;

static void build(mstate *s, const put_rec *ops, size_t n, uint32_t c)
{
    for (size_t i = 0; i < n; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "id%u", ops[i].key);
        mstate_doc_put(s, c, id, (size_t)len, ops[i].lsn, ops[i].lsn * 10, AUTHOR, 0,
                       (const uint8_t *)&ops[i].val, sizeof ops[i].val, NULL);
    }
}

static void test_random_against_brute_force(void)
{
    enum { N = 5000, KEYS = 300 };
    put_rec *ops = malloc(N * sizeof *ops);
    REQUIRE(ops, "alloc");
    for (size_t i = 0; i < N; i++)
        ops[i] = (put_rec){(uint32_t)(test_rand() % KEYS), i + 2, (uint32_t)test_rand()};
    mstate *s = mstate_new(), *t = mstate_new();
    uint32_t c;
    REQUIRE(mstate_coll_create(s, "c", 1, &c) == 0 && mstate_coll_create(t, "c", 1, &c) == 0,
            "colls");
    build(s, ops, N, c);
    build(t, ops, N, c);
    int wrong = 0;
    for (int q = 0; q < 2000; q++) {
        uint32_t key = (uint32_t)(test_rand() % KEYS);
        uint64_t as_of = test_rand() % (N + 4);
        const put_rec *want = NULL;
        for (size_t i = 0; i < N; i++)
            if (ops[i].key == key && ops[i].lsn <= as_of) want = &ops[i];
        char id[16];
        int len = snprintf(id, sizeof id, "id%u", key);
        uint32_t dn = mstate_doc_find(s, c, id, (size_t)len);
        const mversion *v = dn == MSTATE_NONE ? NULL : mstate_doc_get(s, dn, as_of);
        if ((want == NULL) != (v == NULL) ||
            (want && (v->lsn != want->lsn || memcmp(v->doc, &want->val, 4) != 0)))
            wrong++;
    }
    CHECK(wrong == 0, "%d as-of reads differ from the brute-force answer", wrong);
    uint8_t d1[32], d2[32], d3[32];
    REQUIRE(mstate_digest(s, d1) == 0 && mstate_digest(t, d2) == 0, "digests");
    CHECK(memcmp(d1, d2, 32) == 0, "same ops, same digest");
    REQUIRE(mstate_doc_put(t, c, "id1", 3, N + 10, 0, AUTHOR, 1, NULL, 0, NULL) == 0, "one more");
    REQUIRE(mstate_digest(t, d3) == 0, "digest");
    CHECK(memcmp(d1, d3, 32) != 0, "one more version changes the digest");
    mstate_free(s);
    mstate_free(t);
    free(ops);
}

/* Rolling back inserts removes only the new ids from the (collection, _id) table:
 * after many rounds of inserts kept and inserts rolled back (big enough that the table
 * grows inside some, with random ids so that probe clusters form), every kept id is
 * found under its doc number and no rolled-back id is. */
#define RB_IDS 60000
static void random_id(char id[12], uint32_t serial)
{
    snprintf(id, 12, "%08x%03x", (uint32_t)test_rand(), serial & 0xfff);
}

static void test_rollback_removes_only_new_ids(void)
{
    enum { ROUNDS = 200, MAXNEW = 700 };
    mstate *s = mstate_new();
    char(*kept)[12] = malloc(RB_IDS * sizeof *kept), (*gone)[12] = malloc(RB_IDS * sizeof *gone);
    uint32_t c;
    REQUIRE(s && kept && gone && mstate_coll_create(s, "c", 1, &c) == 0, "setup");
    uint32_t nk = 0, ng = 0;
    uint64_t lsn = 2;
    uint8_t byte = 7;
    for (int r = 0; r < ROUNDS; r++) {
        int keep = test_rand() % 2;
        REQUIRE(mstate_mark(s) == 0, "mark");
        uint32_t n = 1 + (uint32_t)(test_rand() % MAXNEW);
        char(*into)[12] = keep ? kept + nk : gone + ng;
        REQUIRE((keep ? nk : ng) + n <= RB_IDS, "id arrays");
        for (uint32_t i = 0; i < n; i++) {
            random_id(into[i], i);
            REQUIRE(mstate_doc_put(s, c, into[i], 11, lsn, 0, AUTHOR, 0, &byte, 1, NULL) == 0,
                    "put");
        }
        lsn++;
        if (keep) mstate_commit(s);
        else mstate_rollback(s);
        *(keep ? &nk : &ng) += n;
    }
    CHECK(mstate_doc_count(s) == nk, "doc count %u, kept %u", mstate_doc_count(s), nk);
    int wrong = 0;
    for (uint32_t i = 0; i < nk; i++) {
        uint32_t dn = mstate_doc_find(s, c, kept[i], 11);
        size_t l2 = 0;
        const char *back = dn == MSTATE_NONE ? NULL : mstate_doc_id(s, dn, &l2);
        if (!back || l2 != 11 || memcmp(back, kept[i], 11) != 0) wrong++;
    }
    for (uint32_t i = 0; i < ng; i++)
        if (mstate_doc_find(s, c, gone[i], 11) != MSTATE_NONE) wrong++;
    CHECK(wrong == 0, "%d ids found wrongly after rollbacks (kept %u, rolled back %u)", wrong,
          nk, ng);
    mstate_free(s);
    free(kept);
    free(gone);
}

/* Versions put tentatively (MSTATE_LSN_TENTATIVE) then stamped and kept, or rolled
 * back: kept bytes stay intact while rolled-back space is reused (sizes from a byte to
 * past one 2 MiB chunk), kept versions carry the stamped LSN and time, rolled-back ones
 * are gone. Checked against a flat list of what was kept. */
static void test_stamp_and_rollback_bytes(void)
{
    enum { ROUNDS = 120, KEYS = 40, MAXPUT = 30 };
    typedef struct kept_v {
        uint32_t key, len;
        uint64_t lsn, seed;
    } kept_v;
    mstate *s = mstate_new();
    kept_v *kv = malloc(ROUNDS * MAXPUT * sizeof *kv);
    uint8_t *bytes = malloc((3u << 20) + 1);
    uint32_t c, nkv = 0;
    REQUIRE(s && kv && bytes && mstate_coll_create(s, "c", 1, &c) == 0, "setup");
    uint64_t lsn = 2;
    for (int r = 0; r < ROUNDS; r++) {
        int keep = test_rand() % 3 != 0;
        uint32_t n = 1 + (uint32_t)(test_rand() % MAXPUT), first = nkv;
        REQUIRE(mstate_mark(s) == 0, "mark");
        for (uint32_t i = 0; i < n; i++) {
            kept_v v = {(uint32_t)(test_rand() % KEYS), 0, lsn, test_rand()};
            v.len = test_rand() % 50 == 0 ? (2u << 20) + (uint32_t)(test_rand() % 100000)
                                          : 1 + (uint32_t)(test_rand() % 3000);
            for (uint32_t b = 0; b < v.len; b++) bytes[b] = (uint8_t)(v.seed + b * 7);
            char id[16];
            snprintf(id, sizeof id, "k%u", v.key);
            REQUIRE(mstate_doc_put(s, c, id, strlen(id), MSTATE_LSN_TENTATIVE, 0, AUTHOR, 0,
                                   bytes, v.len, NULL) == 0, "put");
            if (keep) kv[nkv++] = v;
        }
        if (keep) {
            mstate_stamp(s, lsn, 1000 + lsn);
            mstate_commit(s);
        } else {
            mstate_rollback(s);
        }
        CHECK(keep || nkv == first, "bookkeeping");
        lsn++;
    }
    int wrong = 0;
    for (uint32_t k = 0; k < KEYS; k++) { /* each key's versions, oldest first */
        char id[16];
        snprintf(id, sizeof id, "k%u", k);
        uint32_t dn = mstate_doc_find(s, c, id, strlen(id));
        size_t nv = 0, j = 0;
        const mversion *v = dn == MSTATE_NONE ? NULL : mstate_doc_history(s, dn, &nv);
        for (uint32_t i = 0; i < nkv; i++) {
            if (kv[i].key != k) continue;
            uint64_t ts = 0;
            uint8_t who[16];
            int ok = j < nv && v[j].lsn == kv[i].lsn &&
                     mstate_record(s, v[j].lsn, &ts, who) == 0 && ts == 1000 + kv[i].lsn &&
                     v[j].doc_len == kv[i].len && v[j].rev == j + 1;
            for (uint32_t b = 0; ok && b < kv[i].len; b += 1 + b / 64)
                ok = v[j].doc[b] == (uint8_t)(kv[i].seed + b * 7);
            wrong += !ok;
            j++;
        }
        wrong += j != nv;
    }
    CHECK(wrong == 0, "%d versions wrong after stamps and rollbacks", wrong);
    mstate_free(s);
    free(kv);
    free(bytes);
}

int main(void)
{
    test_seed();
    TEST_RUN(test_collections_history);
    TEST_RUN(test_versions_and_as_of);
    TEST_RUN(test_random_against_brute_force);
    TEST_RUN(test_rollback_removes_only_new_ids);
    TEST_RUN(test_stamp_and_rollback_bytes);
    return test_summary();
}
