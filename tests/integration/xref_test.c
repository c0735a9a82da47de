/*
 * xref_test.c — references across databases and cached global data through the public
 * API (docs/GRAPH.md "Across databases", "Global data").
 *
 * Store: ada (admin, from test_store_new), bob and carol. Ada owns "notes" (n/n1) and
 * "research" (fn/a with an edge to "notes:n/n1"); research is shared with bob (writer)
 * and carol (reader), notes with bob only (reader), then revoked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define SEG 65536u

static char err[1024];

static stele_login as(const char *store, const char *user, const char *pw)
{
    return (stele_login){store, user, pw, strlen(pw)};
}

static stele *open_as(const char *store, const char *user, const char *pw, const char *dbname,
                      int rebuild)
{
    stele_open_options o = {.store_dir = store, .user = user, .password = pw,
                            .password_len = strlen(pw), .db = dbname, .rebuild = rebuild,
                            .no_checkpoint_on_close = 1};
    stele *db = NULL;
    if (stele_open(&o, &db) != STELE_OK) {
        fprintf(stderr, "open %s as %s: %s\n", dbname ? dbname : "primary", user,
                stele_errmsg(db));
        stele_close(db);
        return NULL;
    }
    return db;
}

static stele_status txn(stele *db, const char *json)
{
    return stele_txn(db, json, strlen(json), NULL, NULL);
}

static void must(stele *db, const char *json)
{
    if (txn(db, json) != STELE_OK) {
        fprintf(stderr, "setup txn %s: %s\n", json, stele_errmsg(db));
        abort();
    }
}

static void setup_user(const char *store, const char *name, const char *pw)
{
    stele_login a = as(store, "ada", "pw");
    if (stele_user_add(&a, name, pw, strlen(pw), STELE_KDF_INSECURE_TEST, SEG, err,
                       sizeof err) != STELE_OK) {
        fprintf(stderr, "user add %s: %s\n", name, err);
        abort();
    }
}

static void share(const char *store, const char *dbname, const char *user, const char *role)
{
    stele *db = open_as(store, "ada", "pw", dbname, 0);
    if (!db || stele_db_share(db, user, role) != STELE_OK) {
        fprintf(stderr, "share %s %s: %s\n", dbname, user, db ? stele_errmsg(db) : "");
        abort();
    }
    stele_close(db);
}

/* ada: notes (n/n1), research (fn/a, fn/b); bob: writer of research, reader of notes;
 * carol: reader of research. */
static void setup(char *store, size_t cap)
{
    test_store_new(store, cap, SEG, 0);
    setup_user(store, "bob", "bpw");
    setup_user(store, "carol", "cpw");
    stele_login a = as(store, "ada", "pw");
    if (stele_db_create(&a, "notes", SEG, err, sizeof err) != STELE_OK ||
        stele_db_create(&a, "research", SEG, err, sizeof err) != STELE_OK) {
        fprintf(stderr, "db create: %s\n", err);
        abort();
    }
    stele *db = open_as(store, "ada", "pw", "notes", 0);
    if (!db) abort();
    must(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"n\"},{\"op\":\"insert\","
             "\"coll\":\"n\",\"doc\":{\"_id\":\"n1\",\"text\":\"hello from notes\"}}]}");
    stele_close(db);
    db = open_as(store, "ada", "pw", "research", 0);
    if (!db) abort();
    must(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"fn\"},"
             "{\"op\":\"create_collection\",\"coll\":\"e\"},"
             "{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"a\"}},"
             "{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"b\"}}]}");
    stele_close(db);
    share(store, "research", "bob", "writer");
    share(store, "research", "carol", "reader");
    share(store, "notes", "bob", "reader");
}

static const char *EDGE_N1 =
    "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_id\":\"e1\",\"_from\":\"fn/a\","
    "\"_to\":\"notes:n/n1\",\"_label\":\"CITES\"}}]}";

static int has(const char *hay, const char *needle) { return hay && strstr(hay, needle); }

static void test_write_checks(void)
{
    char store[512];
    setup(store, sizeof store);
    stele *db = open_as(store, "ada", "pw", "research", 0);
    REQUIRE(db, "open research");
    CHECK(txn(db, EDGE_N1) == STELE_OK, "edge to notes:n/n1: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_from\":\"fn/a\","
                  "\"_to\":\"notes:n/zz\"}}]}") == STELE_ENOTFOUND &&
              has(stele_errmsg(db), "dangling"),
          "an edge to a missing node of another database: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"dangling\":true,\"doc\":{"
                  "\"_id\":\"e2\",\"_from\":\"fn/b\",\"_to\":\"notes:n/zz\"}}]}") == STELE_OK,
          "a dangling edge to another database: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"dangling\":true,\"doc\":{"
                  "\"_from\":\"fn/b\",\"_to\":\"@carol/primary:n/zz\"}}]}") == STELE_EACCESS &&
              has(stele_errmsg(db), "no access to database"),
          "an edge into a database ada cannot open, even dangling: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_from\":\"fn/b\","
                  "\"_to\":\"ada/notes:n/n1\"}}]}") == STELE_ENOTFOUND &&
              has(stele_errmsg(db), "no collection 'ada'"),
          "OWNER/NAME without '@' is a local reference (collection 'ada'): %s",
          stele_errmsg(db));
    stele_node a, x;
    char ref[256];
    size_t n = 0;
    CHECK(stele_node_lookup(db, "fn/a", &a) == STELE_OK, "lookup fn/a");
    CHECK(stele_graph_neighbors(db, a, STELE_DIR_OUT, NULL, &x, 1, &n) == STELE_OK && n == 1,
          "fn/a has one neighbour: %zu", n);
    CHECK(stele_node_ref(db, x, ref, sizeof ref) == STELE_OK && strcmp(ref, "notes:n/n1") == 0,
          "the neighbour is the stand-in 'notes:n/n1': %s", ref);
    stele_node y;
    CHECK(stele_node_lookup(db, "notes:n/n1", &y) == STELE_OK && y == x,
          "a reference looks up its stand-in");
    stele_close(db);
    /* bob, a writer of research: his unqualified names mean ada's databases */
    db = open_as(store, "bob", "bpw", "ada/research", 0);
    REQUIRE(db, "bob opens ada/research");
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_from\":\"fn/b\","
                  "\"_to\":\"@ada/notes:n/n1\"}}]}") == STELE_OK,
          "bob links to @ada/notes: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_from\":\"fn/b\","
                  "\"_to\":\"primary:n/n1\"}}]}") == STELE_EACCESS,
          "'primary' in ada's database is ada's primary, never shared: %s", stele_errmsg(db));
    stele_close(db);
}

/* The status of graph query spec on db; 1 in *found if its answer holds needle. */
static stele_status query_has(stele *db, const char *spec, const char *needle, int *found)
{
    char *json = NULL;
    stele_status rc = stele_graph_query(db, spec, strlen(spec), &json);
    *found = has(json, needle) != 0;
    stele_free(json);
    return rc;
}

static void test_resolve_and_access(void)
{
    char store[512];
    setup(store, sizeof store);
    stele *db = open_as(store, "ada", "pw", "research", 0);
    REQUIRE(db, "open research");
    REQUIRE(txn(db, EDGE_N1) == STELE_OK, "edge: %s", stele_errmsg(db));
    stele_close(db);

    db = open_as(store, "bob", "bpw", "ada/research", 0);
    REQUIRE(db, "bob opens research");
    char *json = NULL;
    int found = 0;
    CHECK(stele_ref_get(db, "notes:n/n1", 0, &json) == STELE_OK &&
              has(json, "hello from notes"), "bob reads notes:n/n1: %s", stele_errmsg(db));
    stele_free(json);
    json = NULL;
    const char *docs = "{\"op\":\"neighbors\",\"node\":\"fn/a\",\"docs\":true}";
    const char *refs = "{\"op\":\"neighbors\",\"node\":\"fn/a\"}";
    const char *trav = "{\"op\":\"traverse\",\"from\":\"fn/a\",\"depth\":2}";
    CHECK(query_has(db, docs, "hello from notes", &found) == STELE_OK && found,
          "bob's neighbors --docs: %s", stele_errmsg(db));
    CHECK(query_has(db, trav, "notes:n/n1", &found) == STELE_OK && found,
          "traverse reaches the stand-in: %s", stele_errmsg(db));
    stele_close(db);

    db = open_as(store, "carol", "cpw", "ada/research", 0);
    REQUIRE(db, "carol opens research");
    CHECK(stele_ref_get(db, "notes:n/n1", 0, &json) == STELE_EACCESS &&
              has(stele_errmsg(db), "no access"), "carol is no member of notes: %s",
          stele_errmsg(db));
    stele_free(json);
    json = NULL;
    CHECK(query_has(db, docs, "", &found) == STELE_EACCESS, "carol's neighbors --docs: %s",
          stele_errmsg(db));
    CHECK(query_has(db, refs, "notes:n/n1", &found) == STELE_OK && found,
          "carol still sees the reference: %s", stele_errmsg(db));
    stele_close(db);

    db = open_as(store, "ada", "pw", "notes", 0);
    REQUIRE(db && stele_db_revoke(db, "bob", 0) == STELE_OK, "revoke: %s",
            db ? stele_errmsg(db) : "");
    stele_close(db);
    db = open_as(store, "bob", "bpw", "ada/research", 0);
    REQUIRE(db, "bob opens research again");
    CHECK(stele_ref_get(db, "notes:n/n1", 0, &json) == STELE_EACCESS &&
              has(stele_errmsg(db), "no access"), "revoked bob: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_from\":\"fn/b\","
                  "\"_to\":\"notes:n/n1\"}}]}") == STELE_EACCESS,
          "revoked bob cannot link into notes: %s", stele_errmsg(db));
    stele_free(json);
    stele_close(db);
}

/* The LSN a transaction was committed at (aborts if it fails: setup). */
static uint64_t txn_lsn(stele *db, const char *json)
{
    char *res = NULL;
    if (stele_txn(db, json, strlen(json), NULL, &res) != STELE_OK) {
        fprintf(stderr, "setup txn %s: %s\n", json, stele_errmsg(db));
        abort();
    }
    const char *at = strstr(res, "\"lsn\":");
    uint64_t lsn = at ? strtoull(at + 6, NULL, 10) : 0;
    stele_free(res);
    if (!lsn) abort();
    return lsn;
}

/* The time record lsn of db was written at (aborts if unreadable: setup). */
static uint64_t record_ns(stele *db, uint64_t lsn)
{
    stele_record rec;
    if (stele_get(db, lsn, &rec) != STELE_OK) abort();
    return rec.timestamp_ns;
}

/* As of a time, a reference reads the referenced database as it was then: the time is
 * placed in *that* database's log. Research gets more records than notes first, so
 * placing the time in research's log would give another LSN (and version). */
static void test_ref_as_of_time(void)
{
    char store[512];
    setup(store, sizeof store);
    stele *db = open_as(store, "ada", "pw", "research", 0);
    REQUIRE(db, "open research");
    for (int i = 0; i < 10; i++)
        must(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{}}]}");
    stele *notes = open_as(store, "ada", "pw", "notes", 0);
    REQUIRE(notes, "open notes");
    uint64_t v1 = txn_lsn(notes, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"n\",\"doc\":{"
                                 "\"_id\":\"n2\",\"text\":\"first\"}}]}");
    uint64_t v2 = txn_lsn(notes, "{\"ops\":[{\"op\":\"replace\",\"coll\":\"n\",\"id\":"
                                 "\"n2\",\"doc\":{\"text\":\"second\"}}]}");
    uint64_t t0 = record_ns(notes, v1 - 1), t1 = record_ns(notes, v1);
    uint64_t t2 = record_ns(notes, v2), lsn = 99;
    stele_close(notes);
    char *json = NULL;
    CHECK(stele_ref_lsn_at(db, "notes:n/n2", t0, &lsn) == STELE_OK && lsn == v1 - 1,
          "a time before n2: notes' LSN %llu, got %llu", (unsigned long long)(v1 - 1),
          (unsigned long long)lsn);
    CHECK(stele_ref_get(db, "notes:n/n2", lsn, &json) == STELE_ENOTFOUND &&
              has(stele_errmsg(db), "no document 'n/n2'"),
          "before it existed: not found: %s", stele_errmsg(db));
    CHECK(stele_ref_lsn_at(db, "notes:n/n2", t1, &lsn) == STELE_OK && lsn == v1,
          "its insert's time: LSN %llu, got %llu", (unsigned long long)v1,
          (unsigned long long)lsn);
    CHECK(stele_ref_lsn_at(db, "notes:n/n2", t2 - 1, &lsn) == STELE_OK && lsn == v1,
          "just before the replace: still LSN %llu", (unsigned long long)v1);
    CHECK(stele_ref_get(db, "notes:n/n2", lsn, &json) == STELE_OK && has(json, "first") &&
              !has(json, "second"), "as of then: the first version: %s", json ? json : "");
    stele_free(json);
    json = NULL;
    CHECK(stele_ref_lsn_at(db, "notes:n/n2", t2, &lsn) == STELE_OK && lsn == v2,
          "the replace's time: LSN %llu", (unsigned long long)v2);
    CHECK(stele_ref_get(db, "notes:n/n2", lsn, &json) == STELE_OK && has(json, "second"),
          "as of then: the second version: %s", json ? json : "");
    stele_free(json);
    CHECK(stele_ref_lsn_at(db, "notes:n/n2", 1, &lsn) == STELE_OK && lsn == 0,
          "a time before notes' first record: LSN 0");
    uint64_t own = 0;
    CHECK(stele_lsn_at(db, t1, &own) == STELE_OK && own > v2,
          "research's own log places that time elsewhere (LSN %llu): the checks above tell "
          "the two logs apart", (unsigned long long)own);
    CHECK(stele_ref_lsn_at(db, "fn/a", t1, &lsn) == STELE_OK && lsn == own,
          "a local reference places the time in research's own log: %llu",
          (unsigned long long)lsn);
    CHECK(stele_ref_lsn_at(db, "notes:no-slash", t1, &lsn) == STELE_EINVAL,
          "a malformed reference: %s", stele_errmsg(db));
    stele_close(db);
    db = open_as(store, "carol", "cpw", "ada/research", 0);
    REQUIRE(db, "carol opens research");
    CHECK(stele_ref_lsn_at(db, "notes:n/n2", t1, &lsn) == STELE_EACCESS,
          "carol cannot read notes' log: %s", stele_errmsg(db));
    stele_close(db);
}

/* The digest of `name` as ada sees it: after a snapshot load and after a full replay. */
static void digests_equal(const char *store, const char *name, const char *what)
{
    char live[65], snap[65], full[65];
    stele *db = open_as(store, "ada", "pw", name, 0);
    REQUIRE(db, "open %s", what);
    CHECK(stele_docs_digest(db, live) == STELE_OK, "digest");
    CHECK(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    stele_close(db);
    db = open_as(store, "ada", "pw", name, 0);
    REQUIRE(db, "reopen %s", what);
    CHECK(stele_docs_digest(db, snap) == STELE_OK && strcmp(live, snap) == 0,
          "%s: digest after snapshot load differs", what);
    stele_node n;
    CHECK(stele_node_lookup(db, "notes:n/n1", &n) == STELE_OK || strcmp(name, "research"),
          "%s: the stand-in survives the snapshot", what);
    stele_close(db);
    db = open_as(store, "ada", "pw", name, 1);
    REQUIRE(db, "rebuild %s", what);
    CHECK(stele_docs_digest(db, full) == STELE_OK && strcmp(live, full) == 0,
          "%s: digest after full replay differs", what);
    stele_close(db);
}

/* 1 if coll/id is live and its JSON holds needle. */
static int live(stele *db, const char *coll, const char *id, const char *needle)
{
    char *json = NULL;
    int ok = stele_doc_get(db, coll, id, 0, &json) == STELE_OK && has(json, needle);
    stele_free(json);
    return ok;
}

static const char *GLOBAL_OK =
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"fr\",\"name\":\"France\"}}\n"
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"de\",\"name\":\"Germany\"}}\n"
    "\n"
    "{\"coll\":\"borders\",\"doc\":{\"_id\":\"fr-de\",\"_from\":\"country/fr\","
    "\"_to\":\"global:country/de\"}}\n";

/* A fresh store (setup) and ada's primary database, open, with her own fn/mine. */
static stele *primary_with_mine(char *store, size_t cap)
{
    setup(store, cap);
    stele *db = open_as(store, "ada", "pw", NULL, 0);
    if (!db) abort();
    must(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"fn\"},{\"op\":\"insert\","
             "\"coll\":\"fn\",\"doc\":{\"_id\":\"mine\"}}]}");
    return db;
}

static void test_global(void)
{
    char store[512];
    stele *db = primary_with_mine(store, sizeof store);
    char *rep = NULL, *json = NULL;
    CHECK(stele_global_import(db, GLOBAL_OK, strlen(GLOBAL_OK), &rep) == STELE_OK &&
              has(rep, "\"documents\":2") && has(rep, "\"edges\":1"),
          "global import: %s %s", stele_errmsg(db), rep ? rep : "");
    stele_free(rep);
    rep = NULL;
    CHECK(stele_doc_get(db, "country", "fr", 0, &json) == STELE_OK &&
              has(json, "\"_origin\":\"global\""), "a global document reads as global: %s",
          json ? json : "");
    stele_free(json);
    json = NULL;
    uint64_t count = 0;
    const char *f = "{\"_origin\":\"global\"}";
    CHECK(stele_count(db, "country", f, strlen(f), 0, &count) == STELE_OK && count == 2,
          "a filter tells global data: %llu", (unsigned long long)count);
    /* whole or nothing: a bad line, then a rule broken by one op */
    const char *bad = "{\"coll\":\"country\",\"doc\":{\"_id\":\"it\"}}\n[1]\n";
    CHECK(stele_global_import(db, bad, strlen(bad), &rep) == STELE_EINVAL &&
              has(rep, "\"line\":2"), "a bad line: %s", rep ? rep : "");
    stele_free(rep);
    rep = NULL;
    const char *rule = "{\"coll\":\"country\",\"doc\":{\"_id\":\"it\"}}\n"
                       "{\"coll\":\"borders\",\"doc\":{\"_from\":\"country/it\","
                       "\"_to\":\"fn/mine\",\"_id\":\"it-mine\"}}\n";
    CHECK(stele_global_import(db, rule, strlen(rule), &rep) == STELE_EINVAL &&
              has(stele_errmsg(db), "global data references only global data"),
          "a global edge to own data: %s", stele_errmsg(db));
    stele_free(rep);
    rep = NULL;
    CHECK(stele_doc_get(db, "country", "it", 0, &json) == STELE_ENOTFOUND,
          "nothing of a refused import was written");
    stele_free(json);
    json = NULL;
    /* a collection of global data is neither dropped nor renamed by the user's own ops */
    const char *lang = "{\"coll\":\"lang\",\"doc\":{\"_id\":\"fr\"}}\n";
    CHECK(stele_global_import(db, lang, strlen(lang), &rep) == STELE_OK, "import lang: %s",
          stele_errmsg(db));
    stele_free(rep);
    rep = NULL;
    CHECK(txn(db, "{\"ops\":[{\"op\":\"drop_collection\",\"coll\":\"lang\"}]}") ==
                  STELE_EACCESS && has(stele_errmsg(db), "holds cached global data"),
          "an own drop of a global collection: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"rename_collection\",\"coll\":\"lang\",\"to\":"
                  "\"mine2\"}]}") == STELE_EACCESS,
          "an own rename of a global collection: %s", stele_errmsg(db));
    CHECK(stele_doc_get(db, "lang", "fr", 0, &json) == STELE_OK, "the global collection stays");
    stele_free(json);
    json = NULL;
    /* own data references global data; own ops never change global data */
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"e1\","
                  "\"_from\":\"fn/mine\",\"_to\":\"global:country/fr\"}}]}") == STELE_OK,
          "own edge to global data: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"patch\",\"coll\":\"country\",\"id\":\"fr\","
                  "\"doc\":{\"name\":\"X\"}}]}") == STELE_EACCESS,
          "an own patch of a global document: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"country\",\"id\":\"fr\","
                  "\"global\":true,\"cascade\":true}]}") == STELE_EACCESS &&
              has(stele_errmsg(db), "own edge 'e1'") && live(db, "country", "fr", "France"),
          "a global delete never cascades to own data: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"fake\","
                  "\"_origin\":\"global\"}}]}") == STELE_EINVAL,
          "own data marked global: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"e2\","
                  "\"_from\":\"fn/mine\",\"_to\":\"global:fn/mine\"}}]}") == STELE_EINVAL,
          "a global: reference to own data: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"borders\",\"global\":true,"
                  "\"dangling\":true,\"doc\":{\"_id\":\"fr-xx\",\"_origin\":\"global\","
                  "\"_from\":\"country/fr\",\"_to\":\"country/xx\"}}]}") == STELE_OK,
          "a global op with a dangling global target: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"country\",\"doc\":{\"_id\":"
                  "\"xx\"}}]}") == STELE_EINVAL && has(stele_errmsg(db), "global edge"),
          "own data taking a key a global edge waits for: %s", stele_errmsg(db));
    CHECK(stele_ref_get(db, "global:country/de", 0, &json) == STELE_OK && has(json, "Germany"),
          "global ref in the primary: %s", stele_errmsg(db));
    stele_free(json);
    json = NULL;
    stele_close(db);

    db = open_as(store, "ada", "pw", "research", 0);
    REQUIRE(db, "open research");
    CHECK(stele_global_import(db, GLOBAL_OK, strlen(GLOBAL_OK), &rep) == STELE_EINVAL,
          "global import outside the primary: %s", stele_errmsg(db));
    stele_free(rep);
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_from\":\"fn/a\","
                  "\"_to\":\"global:country/fr\"}}]}") == STELE_OK,
          "research links to global data: %s", stele_errmsg(db));
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_from\":\"fn/a\","
                  "\"_to\":\"global:country/zz\"}}]}") == STELE_ENOTFOUND,
          "a missing global node: %s", stele_errmsg(db));
    CHECK(stele_ref_get(db, "global:country/fr", 0, &json) == STELE_OK && has(json, "France"),
          "global ref from research: %s", stele_errmsg(db));
    stele_free(json);
    json = NULL;
    CHECK(txn(db, EDGE_N1) == STELE_OK, "edge: %s", stele_errmsg(db));
    stele_close(db);
    digests_equal(store, "research", "research");
    digests_equal(store, "primary", "primary");
}

/* ---- refresh (stele_global_refresh) ---- */

/* The number `key` of a global import's report, -1 if it has none. */
static long long count_of(const char *rep, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *at = rep ? strstr(rep, k) : NULL;
    return at ? strtoll(at + strlen(k), NULL, 10) : -1;
}

/* 1 if the report has exactly these counts. */
static int counts(const char *rep, long long ins, long long rep_, long long same, long long del,
                  long long own)
{
    return count_of(rep, "inserted") == ins && count_of(rep, "replaced") == rep_ &&
           count_of(rep, "unchanged") == same && count_of(rep, "deleted") == del &&
           count_of(rep, "own_edges_deleted") == own;
}

/* What a refused refresh must leave as it was: the state digest and the log's head. */
typedef struct before {
    char digest[65];
    uint64_t head;
} before;

static before state_of(stele *db)
{
    before b = {{0}, 0};
    if (stele_docs_digest(db, b.digest) != STELE_OK ||
        stele_lsn_at(db, UINT64_MAX, &b.head) != STELE_OK)
        abort();
    return b;
}

static int unchanged(stele *db, before b)
{
    before now = state_of(db);
    return strcmp(now.digest, b.digest) == 0 && now.head == b.head;
}

/* Version 1: three countries, two borders, and an edge ("links") to the edge fr-it. */
#define REFRESH_A_EDGES                                                                     \
    "{\"coll\":\"borders\",\"doc\":{\"_id\":\"fr-de\",\"_from\":\"country/fr\","               \
    "\"_to\":\"country/de\"}}\n"                                                              \
    "{\"coll\":\"borders\",\"doc\":{\"_id\":\"fr-it\",\"_from\":\"country/fr\","               \
    "\"_to\":\"global:country/it\"}}\n"                                                       \
    "{\"coll\":\"links\",\"doc\":{\"_id\":\"l1\",\"_from\":\"country/de\","                    \
    "\"_to\":\"borders/fr-it\"}}\n"
static const char *REFRESH_A =
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"fr\",\"name\":\"France\",\"area\":551.5,"
    "\"tags\":[1,\"\\u00e9\",{\"z\":null}]}}\n"
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"de\",\"name\":\"Germany\"}}\n"
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"it\",\"name\":\"Italy\"}}\n" REFRESH_A_EDGES;
/* Version 1 again, as another exporter writes it: other key order, number forms and
 * string escapes that parse to the same values, system fields, lines swapped. */
static const char *REFRESH_A2 =
    "{\"doc\":{\"tags\":[1,\"\u00e9\",{\"z\":null}],\"area\":5.515e2,\"name\":\"France\","
    "\"_id\":\"fr\",\"_rev\":7,\"_lsn\":3},\"coll\":\"country\"}\n"
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"it\",\"name\":\"Italy\"}}\n"
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"de\",\"name\":\"Germany\","
    "\"_origin\":\"global\"}}\n" REFRESH_A_EDGES;
/* Version 2: fr changed, de as it was, es new, fr-de re-pointed to es; it, fr-it and
 * l1 gone (it's delete cascades to fr-it and from there to l1: no op of their own). */
static const char *REFRESH_B =
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"fr\",\"name\":\"France\",\"eu\":true}}\n"
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"de\",\"name\":\"Germany\"}}\n"
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"es\",\"name\":\"Spain\"}}\n"
    "{\"coll\":\"borders\",\"doc\":{\"_id\":\"fr-de\",\"_from\":\"country/fr\","
    "\"_to\":\"country/es\"}}\n";
/* Version 3: es gone; fr-de back to de. */
static const char *REFRESH_C =
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"fr\",\"name\":\"France\",\"eu\":true}}\n"
    "{\"coll\":\"country\",\"doc\":{\"_id\":\"de\",\"name\":\"Germany\"}}\n"
    "{\"coll\":\"borders\",\"doc\":{\"_id\":\"fr-de\",\"_from\":\"country/fr\","
    "\"_to\":\"country/de\"}}\n";

/* A refresh of data (flags) on db: its status, the report in *rep (freed before). */
static stele_status refresh(stele *db, const char *data, unsigned flags, char **rep)
{
    stele_free(*rep);
    *rep = NULL;
    return stele_global_refresh(db, data, strlen(data), flags, rep);
}

/* Refreshes that insert, replace, leave alone and delete, in one transaction each. */
static void test_global_refresh(void)
{
    char store[512], ref[64];
    stele *db = primary_with_mine(store, sizeof store);
    char *rep = NULL, *json = NULL;
    CHECK(refresh(db, REFRESH_A, 0, &rep) == STELE_OK && counts(rep, 6, 0, 0, 0, 0),
          "a first refresh inserts: %s %s", stele_errmsg(db), rep ? rep : "");
    must(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"e1\","
             "\"_from\":\"fn/mine\",\"_to\":\"global:country/de\"}}]}");
    before b = state_of(db);
    CHECK(refresh(db, REFRESH_A2, 0, &rep) == STELE_OK && counts(rep, 0, 0, 6, 0, 0) &&
              count_of(rep, "lsn") == 0, "the same data again changes nothing: %s %s",
          stele_errmsg(db), rep ? rep : "");
    CHECK(unchanged(db, b), "an unchanged refresh wrote nothing");

    CHECK(refresh(db, REFRESH_B, 0, &rep) == STELE_OK && counts(rep, 1, 2, 1, 3, 0) &&
              count_of(rep, "records") == 1, "refresh to version 2: %s %s", stele_errmsg(db),
          rep ? rep : "");
    CHECK(live(db, "country", "fr", "\"eu\":true") && live(db, "country", "fr", "\"_rev\":2"),
          "fr replaced");
    CHECK(live(db, "country", "de", "\"_rev\":1"), "de unchanged: no new version");
    CHECK(live(db, "country", "es", "\"_origin\":\"global\""), "es inserted as global data");
    CHECK(!live(db, "country", "it", "") && !live(db, "borders", "fr-it", "") &&
              !live(db, "links", "l1", ""), "it, fr-it and l1 deleted");
    CHECK(stele_doc_history(db, "country", "it", &json) == STELE_OK && has(json, "Italy"),
          "a deleted global document keeps its history");
    stele_free(json);
    json = NULL;
    stele_node fr, out[4];
    size_t n = 0;
    CHECK(stele_node_lookup(db, "country/fr", &fr) == STELE_OK &&
              stele_graph_neighbors(db, fr, STELE_DIR_OUT, NULL, out, 4, &n) == STELE_OK &&
              n == 1 && stele_node_ref(db, out[0], ref, sizeof ref) == STELE_OK &&
              strcmp(ref, "country/es") == 0,
          "fr's one border now leads to es (%zu neighbours)", n);
    must(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"e2\","
             "\"_from\":\"fn/mine\",\"_to\":\"country/es\"}},{\"op\":\"insert\","
             "\"coll\":\"fn\",\"doc\":{\"_id\":\"e3\",\"_from\":\"fn/mine\","
             "\"_to\":\"fn/e2\"}}]}");

    /* own edges to a document the refresh deletes: refused, naming them */
    b = state_of(db);
    CHECK(refresh(db, REFRESH_C, 0, &rep) == STELE_ECONFLICT &&
              has(stele_errmsg(db), "2 of your own edges") &&
              has(stele_errmsg(db), "'fn/e2' (at 'country/es')") &&
              has(stele_errmsg(db), "cascade"),
          "own edges stop a refresh: %s", stele_errmsg(db));
    CHECK(unchanged(db, b) && live(db, "country", "es", "Spain"), "a refused refresh wrote "
          "nothing");

    /* whole or nothing: a bad line anywhere, an edge to a document not in the file, a
     * document whose key is the user's own */
    char bad[2048];
    snprintf(bad, sizeof bad, "%snot json\n", REFRESH_C);
    CHECK(refresh(db, bad, STELE_GLOBAL_CASCADE, &rep) == STELE_EINVAL &&
              has(rep, "\"line\":4"), "a bad last line: %s", rep ? rep : "");
    snprintf(bad, sizeof bad, "{\"coll\":\"country\",\"doc\":{\"_id\":\"xx\"}}\n%s", REFRESH_C);
    bad[strlen(bad) - 4] = 0; /* the last line loses its '"}}\n' */
    CHECK(refresh(db, bad, STELE_GLOBAL_CASCADE, &rep) == STELE_EINVAL &&
              has(rep, "\"line\":4"), "a bad line after a new document: %s", rep ? rep : "");
    snprintf(bad, sizeof bad, "%s{\"coll\":\"borders\",\"doc\":{\"_id\":\"de-es\","
             "\"_from\":\"country/de\",\"_to\":\"country/es\"}}\n", REFRESH_C);
    CHECK(refresh(db, bad, STELE_GLOBAL_CASCADE, &rep) == STELE_EINVAL &&
              has(rep, "\"line\":4") && has(rep, "names no document of the file"),
          "an edge to a document the file lacks: %s", rep ? rep : "");
    snprintf(bad, sizeof bad, "%s{\"coll\":\"fn\",\"doc\":{\"_id\":\"mine\"}}\n", REFRESH_C);
    CHECK(refresh(db, bad, STELE_GLOBAL_CASCADE, &rep) == STELE_EACCESS &&
              has(stele_errmsg(db), "the user's own data"),
          "a file document with the key of an own one: %s", stele_errmsg(db));
    CHECK(refresh(db, REFRESH_C, 4, &rep) == STELE_EINVAL, "unknown flags");
    CHECK(unchanged(db, b), "refused refreshes wrote nothing");

    /* with cascade: the own edges go too (e3 links to e2), the rest of own data stays */
    CHECK(refresh(db, REFRESH_C, STELE_GLOBAL_CASCADE, &rep) == STELE_OK &&
              counts(rep, 0, 1, 2, 1, 2), "refresh with cascade: %s %s", stele_errmsg(db),
          rep ? rep : "");
    CHECK(!live(db, "fn", "e2", "") && !live(db, "fn", "e3", "") && !live(db, "country", "es", ""),
          "es and the own edges linked to it are deleted");
    CHECK(live(db, "fn", "e1", "country/de") && live(db, "fn", "mine", "mine"),
          "the user's other documents stay");
    /* a document deleted by one refresh comes back with the next */
    CHECK(refresh(db, REFRESH_B, 0, &rep) == STELE_OK && counts(rep, 1, 1, 2, 0, 0) &&
              live(db, "country", "es", "\"_rev\":3"), "es back (revision 3: after its "
          "insert and its delete): %s",
          rep ? rep : "");
    /* bodies read back from a snapshot under a tiny budget compare the same */
    CHECK(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    stele_close(db);
    stele_open_options lazy = {.store_dir = store, .user = "ada", .password = "pw",
                               .password_len = 2, .cache_bytes = 1,
                               .no_checkpoint_on_close = 1};
    REQUIRE(stele_open(&lazy, &db) == STELE_OK, "open with a tiny body budget");
    CHECK(refresh(db, REFRESH_B, 0, &rep) == STELE_OK && counts(rep, 0, 0, 4, 0, 0),
          "lazy bodies: unchanged: %s %s", stele_errmsg(db), rep ? rep : "");
    CHECK(refresh(db, REFRESH_C, 0, &rep) == STELE_OK && counts(rep, 0, 1, 2, 1, 0),
          "lazy bodies: to version 3: %s %s", stele_errmsg(db), rep ? rep : "");
    stele_free(rep);
    stele_close(db);
    db = open_as(store, "ada", "pw", "research", 0);
    REQUIRE(db, "open research");
    rep = NULL;
    CHECK(refresh(db, REFRESH_C, 0, &rep) == STELE_EINVAL && has(stele_errmsg(db), "primary"),
          "a refresh outside the primary: %s", stele_errmsg(db));
    stele_free(rep);
    stele_close(db);
    digests_equal(store, "primary", "primary after refreshes");
}

int main(void)
{
    TEST_RUN(test_write_checks);
    TEST_RUN(test_resolve_and_access);
    TEST_RUN(test_ref_as_of_time);
    TEST_RUN(test_global);
    TEST_RUN(test_global_refresh);
    return test_summary();
}
