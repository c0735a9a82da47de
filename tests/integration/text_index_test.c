/*
 * text_index_test.c — explicit full-text index definitions through the public API
 * (stele_index_create_text / stele_index_drop_text, docs/DOCUMENTS.md "Full text"):
 *  - a German index answers $text right after creation with German stems ("Haus"
 *    finds "Häuser", which a lazy english index does not), through every kind of write
 *    (insert, replace, patch, delete, restore, arrays);
 *  - it survives reopening (from the snapshot's definitions and by replay alone): the
 *    listing says "built": false until the first $text rebuilds it in its language;
 *    the state's digest equals a rebuild's from the log;
 *  - as-of queries use the language defined as of their LSN (english before);
 *  - French stems differently from English; a path keeps a value index beside a text
 *    index; drop removes the definition and the index (then $text is lazy english);
 *  - an unknown language is refused with the known ones listed and nothing written.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stele.h"
#include "testutil.h"

static char store[600];

static stele *open_with(int rebuild)
{
    stele_open_options o = {.durability = STELE_DURABLE_NONE, .rebuild = rebuild};
    return test_store_open(store, &o);
}

/* Commits a transaction; its LSN (0 if refused). */
static uint64_t txn(stele *db, const char *text)
{
    char *res = NULL;
    uint64_t lsn = 0;
    if (stele_txn(db, text, strlen(text), NULL, &res) == STELE_OK) {
        json_t *j = json_loads(res, 0, NULL);
        lsn = (uint64_t)json_integer_value(json_object_get(j, "lsn"));
        json_decref(j);
    }
    stele_free(res);
    return lsn;
}

/* The _ids of the documents of "d" whose "t" matches the $text query q (as of an LSN,
 * 0 = now), in doc-number order, joined with ','; "ERR" if the find fails. */
static void ids_of(stele *db, const char *q, uint64_t as_of, char *out, size_t cap)
{
    char filter[256];
    char *nd = NULL;
    snprintf(filter, sizeof filter, "{\"t\":{\"$text\":\"%s\"}}", q);
    stele_find_opts o = {.as_of = as_of, .sort = "_id"};
    snprintf(out, cap, "ERR");
    if (stele_find(db, "d", filter, strlen(filter), &o, &nd) != STELE_OK) return;
    out[0] = 0;
    for (char *line = strtok(nd, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        size_t at = strlen(out);
        snprintf(out + at, cap - at, "%s%s", at ? "," : "",
                 json_string_value(json_object_get(j, "_id")));
        json_decref(j);
    }
    stele_free(nd);
}

#define EXPECT_IDS(db, q, as_of, want)                                                 \
    do {                                                                               \
        char got_[256];                                                                \
        ids_of(db, q, as_of, got_, sizeof got_);                                       \
        CHECK(strcmp(got_, want) == 0, "$text '%s' as of %llu: got '%s', want '%s' (%s)", \
              q, (unsigned long long)(as_of), got_, want, stele_errmsg(db));           \
    } while (0)

/* The listing entry of the text index on d.t, as a new JSON object (NULL if none). */
static json_t *text_entry(stele *db)
{
    char *list = NULL;
    json_t *found = NULL;
    if (stele_index_list(db, "d", &list) != STELE_OK) return NULL;
    json_t *a = json_loads(list, 0, NULL);
    stele_free(list);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *e = json_array_get(a, i);
        if (strcmp(json_string_value(json_object_get(e, "kind")), "text") == 0)
            found = json_incref(e);
    }
    json_decref(a);
    return found;
}

static void expect_entry(stele *db, int is_explicit, const char *lang, int built, int docs)
{
    json_t *e = text_entry(db);
    REQUIRE(e != NULL, "no text index listed");
    CHECK(json_is_true(json_object_get(e, "explicit")) == is_explicit, "explicit");
    CHECK(strcmp(json_string_value(json_object_get(e, "language")), lang) == 0,
          "language %s, want %s", json_string_value(json_object_get(e, "language")), lang);
    CHECK(json_is_true(json_object_get(e, "built")) == built, "built");
    CHECK(json_integer_value(json_object_get(e, "documents")) == docs, "documents %lld, want %d",
          (long long)json_integer_value(json_object_get(e, "documents")), docs);
    CHECK(!built || json_integer_value(json_object_get(e, "terms")) > 0, "terms");
    json_decref(e);
}

static void digest_of(stele *db, char out[65])
{
    if (stele_docs_digest(db, out) != STELE_OK) snprintf(out, 65, "ERR %s", stele_errmsg(db));
}

static uint64_t g_before; /* the LSN before the index was defined */

/* d: 1 "Die Häuser sind alt", 2 "Ein Haus am See"; then a German index on t. */
static stele *setup(void)
{
    test_store_new(store, sizeof store, 1 << 20, 500);
    stele *db = open_with(0);
    if (!db) return NULL;
    g_before = txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"d\"},"
                       "{\"op\":\"insert\",\"coll\":\"d\",\"doc\":{\"_id\":\"1\",\"t\":"
                       "\"Die Häuser sind alt\"}},{\"op\":\"insert\",\"coll\":\"d\",\"doc\":"
                       "{\"_id\":\"2\",\"t\":\"Ein Haus am See\"}}]}");
    return db;
}

static void test_create_and_writes(void)
{
    stele *db = setup();
    REQUIRE(db && g_before, "setup");
    EXPECT_IDS(db, "haus", 0, "2"); /* lazy english: "hauser" is not "haus" */
    expect_entry(db, 0, "english", 1, 2);
    REQUIRE(stele_index_create_text(db, "d", "t", "german") == STELE_OK, "create: %s",
            stele_errmsg(db));
    expect_entry(db, 1, "german", 1, 2); /* replaced the lazy one, built at once */
    EXPECT_IDS(db, "haus", 0, "1,2");
    EXPECT_IDS(db, "Häusern", 0, "1,2");
    CHECK(stele_index_create_text(db, "d", "t", "french") == STELE_EEXIST, "create twice");
    CHECK(strstr(stele_errmsg(db), "drop it first") != NULL, "twice: %s", stele_errmsg(db));
    /* writes keep it current */
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"d\",\"doc\":{\"_id\":\"3\","
                    "\"t\":[\"kein\",\"Hauses\"]}}]}"), "insert an array");
    EXPECT_IDS(db, "haus", 0, "1,2,3");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"replace\",\"coll\":\"d\",\"id\":\"2\",\"doc\":"
                    "{\"t\":\"Ein Boot\"}}]}"), "replace");
    EXPECT_IDS(db, "haus", 0, "1,3");
    EXPECT_IDS(db, "booten", 0, "2");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"patch\",\"coll\":\"d\",\"id\":\"2\",\"doc\":"
                    "{\"t\":\"Häuschen und Häuser\"}}]}"), "patch");
    EXPECT_IDS(db, "haus", 0, "1,2,3");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"d\",\"id\":\"1\"}]}"), "delete");
    EXPECT_IDS(db, "haus", 0, "2,3");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"restore\",\"coll\":\"d\",\"id\":\"1\"}]}"), "restore");
    EXPECT_IDS(db, "haus", 0, "1,2,3");
    expect_entry(db, 1, "german", 1, 3);
    /* as of before the definition: english; as of now: german */
    EXPECT_IDS(db, "haus", g_before, "2");
    EXPECT_IDS(db, "haus", g_before + 1, "1,2");
    stele_close(db);
}

/* Reopening with a snapshot (snap) or from the log alone: the definition comes back,
 * the index is rebuilt by the first $text, equal to a rebuild from the log. */
static void reopen_case(int snap)
{
    stele *db = setup();
    REQUIRE(db && g_before, "setup");
    REQUIRE(stele_index_create_text(db, "d", "t", "german") == STELE_OK, "create: %s",
            stele_errmsg(db));
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"d\",\"doc\":{\"_id\":\"3\","
                    "\"t\":\"Hauses\"}}]}"), "insert");
    if (snap) CHECK(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    char live[65], loaded[65], rebuilt[65];
    digest_of(db, live);
    stele_close(db);
    db = open_with(0);
    REQUIRE(db, "reopen");
    digest_of(db, loaded);
    if (snap) expect_entry(db, 1, "german", 0, 0); /* defined, not built yet */
    EXPECT_IDS(db, "haus", 0, "1,2,3");
    expect_entry(db, 1, "german", 1, 3);
    EXPECT_IDS(db, "haus", g_before, "2");
    stele_close(db);
    db = open_with(1);
    REQUIRE(db, "rebuild open");
    digest_of(db, rebuilt);
    EXPECT_IDS(db, "haus", 0, "1,2,3");
    expect_entry(db, 1, "german", 1, 3); /* the replay of create_index built it */
    stele_close(db);
    CHECK(strcmp(live, loaded) == 0 && strcmp(live, rebuilt) == 0,
          "digests: live %s, loaded %s, rebuilt %s", live, loaded, rebuilt);
}

static void test_reopen_snapshot(void) { reopen_case(1); }
static void test_reopen_replay(void) { reopen_case(0); }

static void test_french_and_drop(void)
{
    stele *db = setup();
    REQUIRE(db && g_before, "setup");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"d\",\"doc\":{\"_id\":\"4\","
                    "\"t\":\"les partis nationaux\"}}]}"), "insert");
    EXPECT_IDS(db, "nationale", 0, ""); /* english: "nationaux" and "national" differ */
    REQUIRE(stele_index_create(db, "d", "t") == STELE_OK, "value index: %s", stele_errmsg(db));
    REQUIRE(stele_index_create_text(db, "d", "t", "french") == STELE_OK, "create: %s",
            stele_errmsg(db));
    EXPECT_IDS(db, "nationale", 0, "4");
    expect_entry(db, 1, "french", 1, 3);
    REQUIRE(stele_index_drop_text(db, "d", "t") == STELE_OK, "drop: %s", stele_errmsg(db));
    json_t *e = text_entry(db);
    CHECK(e == NULL, "the dropped text index is still listed");
    json_decref(e);
    EXPECT_IDS(db, "nationale", 0, ""); /* a lazy english index again */
    expect_entry(db, 0, "english", 1, 3);
    CHECK(stele_index_drop_text(db, "d", "t") == STELE_ENOTFOUND, "drop twice");
    CHECK(strstr(stele_errmsg(db), "no text index on 't'") != NULL, "%s", stele_errmsg(db));
    CHECK(stele_index_drop(db, "d", "t") == STELE_OK, "the value index stayed: %s",
          stele_errmsg(db));
    stele_close(db);
}

static void test_unknown_language(void)
{
    stele *db = setup();
    REQUIRE(db && g_before, "setup");
    char before[65], after[65];
    digest_of(db, before);
    CHECK(stele_index_create_text(db, "d", "t", "klingon") == STELE_EINVAL, "klingon");
    CHECK(strstr(stele_errmsg(db), "unknown full-text language 'klingon'") &&
              strstr(stele_errmsg(db), "german") && strstr(stele_errmsg(db), "french"),
          "message: %s", stele_errmsg(db));
    const char *raw = "{\"ops\":[{\"op\":\"create_index\",\"coll\":\"d\",\"path\":\"t\","
                      "\"kind\":\"value\",\"language\":\"german\"}]}";
    CHECK(txn(db, raw) == 0 && strstr(stele_errmsg(db), "\"language\" belongs"),
          "a language on a value index: %s", stele_errmsg(db));
    raw = "{\"ops\":[{\"op\":\"create_index\",\"coll\":\"d\",\"path\":\"t\",\"kind\":\"fuzzy\"}]}";
    CHECK(txn(db, raw) == 0 && strstr(stele_errmsg(db), "\"kind\" must be"), "kind: %s",
          stele_errmsg(db));
    digest_of(db, after);
    CHECK(strcmp(before, after) == 0, "a refused definition changed the state");
    uint64_t next = txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"e\"}]}");
    CHECK(next == g_before + 1, "refused definitions wrote records: next LSN %llu",
          (unsigned long long)next);
    stele_close(db);
}

int main(void)
{
    TEST_RUN(test_create_and_writes);
    TEST_RUN(test_reopen_snapshot);
    TEST_RUN(test_reopen_replay);
    TEST_RUN(test_french_and_drop);
    TEST_RUN(test_unknown_language);
    return test_summary();
}
