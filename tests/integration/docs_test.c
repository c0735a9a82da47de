/*
 * docs_test.c — the document face through the public API (include/stele.h):
 *  - random transactions checked against a brute-force model kept in the test
 *    (jansson objects), including as-of reads and all-or-nothing failures;
 *  - rebuild: the state derived at open from the log equals the live state (digest);
 *  - kill -9 during multi-op transactions: every acknowledged transaction is fully
 *    visible after recovery and no partial one is;
 *  - RFC 7386 merge-patch examples, and bad input rejected with nothing written.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stele.h"
#include "testutil.h"

static char store[600];

static stele *open_db(int read_only)
{
    stele_open_options o = {.read_only = read_only};
    return test_store_open(store, &o);
}

static void make_store(void) { test_store_new(store, sizeof store, 65536, 50); }

static stele_status txn(stele *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static stele_status txn(stele *db, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return stele_txn(db, text, strlen(text), NULL, NULL);
}

/* The document without its system fields, as a jansson value (NULL if absent). */
static json_t *get_body(stele *db, const char *coll, const char *id, uint64_t as_of,
                        int64_t *rev)
{
    char *json = NULL;
    if (stele_doc_get(db, coll, id, as_of, &json) != STELE_OK) return NULL;
    json_t *j = json_loads(json, 0, NULL);
    stele_free(json);
    if (rev) *rev = json_integer_value(json_object_get(j, "_rev"));
    json_object_del(j, "_rev");
    json_object_del(j, "_lsn");
    json_object_del(j, "_ts");
    return j;
}

/* ---- the brute-force model ---- */

#define KEYS 24
typedef struct mdoc {
    json_t *body; /* NULL: never inserted */
    int deleted;
    int64_t rev;
} mdoc;
typedef struct model {
    mdoc d[2][KEYS];
} model;

static void merge(json_t *target, json_t *patch) /* RFC 7386, recursive: a test oracle */
{
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            json_t *t = json_object_get(target, k);
            if (!json_is_object(t)) {
                t = json_object();
                json_object_set_new(target, k, t);
            }
            merge(t, v);
        } else {
            json_object_set(target, k, v);
        }
    }
}

static json_t *random_body(const char *id)
{
    json_t *o = json_pack("{sssI}", "_id", id, "n", (json_int_t)(test_rand() % 1000));
    if (test_rand() % 2) json_object_set_new(o, "s", json_string(test_rand() % 2 ? "x" : "y"));
    if (test_rand() % 3 == 0)
        json_object_set_new(o, "sub", json_pack("{si}", "a", (int)(test_rand() % 5)));
    return o;
}

/* One random op applied to the model copy m; returns the op JSON, or NULL-safe text.
 * *ok becomes 0 if the op must fail in this state. */
static json_t *random_op(model *m, int *ok)
{
    static const char *const colls[2] = {"red", "blue"};
    int c = (int)(test_rand() % 2), k = (int)(test_rand() % KEYS);
    char id[16];
    snprintf(id, sizeof id, "k%d", k);
    mdoc *d = &m->d[c][k];
    int live = d->body && !d->deleted;
    int kind = (int)(test_rand() % 5);
    json_t *op = json_pack("{ssss}", "coll", colls[c], "op", "insert");
    if (kind == 0) { /* insert */
        json_t *b = random_body(id);
        json_object_set_new(op, "doc", json_deep_copy(b));
        if (live) *ok = 0;
        else {
            json_decref(d->body);
            d->body = b;
            d->deleted = 0;
            d->rev++;
            return op;
        }
        json_decref(b);
        return op;
    }
    static const char *const names[5] = {"", "replace", "patch", "delete", "restore"};
    json_object_set_new(op, "op", json_string(names[kind]));
    json_object_set_new(op, "id", json_string(id));
    int use_rev = test_rand() % 4 == 0, bad_rev = use_rev && test_rand() % 2;
    if (use_rev) json_object_set_new(op, "rev", json_integer(d->rev + (bad_rev ? 1 : 0)));
    int allowed = kind == 4 ? (d->body && d->deleted) : live;
    if (!allowed || bad_rev || (use_rev && d->rev == 0)) {
        *ok = 0;
        if (kind == 1 || kind == 2) json_object_set_new(op, "doc", random_body(id));
        return op;
    }
    if (kind == 1) {
        json_t *b = random_body(id);
        json_object_set_new(op, "doc", json_deep_copy(b));
        json_decref(d->body);
        d->body = b;
    } else if (kind == 2) {
        json_t *p = json_pack("{sI}", "n", (json_int_t)(test_rand() % 1000));
        if (test_rand() % 2) json_object_set_new(p, "s", json_null());
        if (test_rand() % 2) json_object_set_new(p, "sub", json_pack("{sn}", "a"));
        json_object_set_new(op, "doc", json_deep_copy(p));
        merge(d->body, p);
        json_decref(p);
    }
    d->deleted = kind == 3;
    d->rev++;
    return op;
}

static void model_copy(model *dst, const model *src)
{
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < KEYS; k++) {
            dst->d[c][k] = src->d[c][k];
            dst->d[c][k].body = src->d[c][k].body ? json_deep_copy(src->d[c][k].body) : NULL;
        }
}

static void model_free(model *m)
{
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < KEYS; k++) json_decref(m->d[c][k].body);
}

static int compare_all(stele *db, const model *m, uint64_t as_of)
{
    static const char *const colls[2] = {"red", "blue"};
    int wrong = 0;
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < KEYS; k++) {
            char id[16];
            snprintf(id, sizeof id, "k%d", k);
            int64_t rev = 0;
            json_t *got = get_body(db, colls[c], id, as_of, &rev);
            const mdoc *d = &m->d[c][k];
            json_t *want = d->body && !d->deleted ? d->body : NULL;
            if ((got == NULL) != (want == NULL) || (got && (!json_equal(got, want) ||
                                                            rev != d->rev)))
                wrong++;
            json_decref(got);
        }
    return wrong;
}

static void test_random_against_model(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db, "open");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"red\"},"
                    "{\"op\":\"create_collection\",\"coll\":\"blue\"}]}") == STELE_OK,
            "collections: %s", stele_errmsg(db));
    model m = {0}, snap_model = {0};
    uint64_t snap_lsn = 0;
    int mismatched_status = 0, committed = 0;
    for (int t = 0; t < 800; t++) {
        model next;
        model_copy(&next, &m);
        int ok = 1, nops = 1 + (int)(test_rand() % 3);
        json_t *ops = json_array();
        for (int i = 0; i < nops; i++) json_array_append_new(ops, random_op(&next, &ok));
        json_t *root = json_pack("{so}", "ops", ops);
        char *text = json_dumps(root, JSON_COMPACT);
        uint64_t head = stele_head(db);
        stele_status rc = stele_txn(db, text, strlen(text), NULL, NULL);
        if ((rc == STELE_OK) != ok || (rc != STELE_OK && stele_head(db) != head))
            mismatched_status++;
        if (rc == STELE_OK) {
            model_free(&m);
            m = next;
            committed++;
        } else {
            model_free(&next);
        }
        if (t == 400) { /* remember the state at this LSN for an as-of check */
            snap_lsn = stele_head(db);
            model_copy(&snap_model, &m);
        }
        free(text);
        json_decref(root);
    }
    CHECK(mismatched_status == 0, "%d transactions succeeded or failed unlike the model",
          mismatched_status);
    CHECK(committed > 30 && committed < 800, "a mix of commits (%d) and refusals", committed);
    CHECK(compare_all(db, &m, 0) == 0, "documents now differ from the model");
    CHECK(compare_all(db, &snap_model, snap_lsn) == 0, "as-of reads differ from the model");
    char live[65], rebuilt[65], ro[65];
    REQUIRE(stele_docs_digest(db, live) == STELE_OK, "digest");
    REQUIRE(stele_close(db) == STELE_OK, "close");
    db = open_db(0);
    REQUIRE(db && stele_docs_digest(db, rebuilt) == STELE_OK, "reopen");
    CHECK(strcmp(live, rebuilt) == 0, "rebuilt state differs from the live one");
    CHECK(compare_all(db, &m, 0) == 0, "documents after reopen differ from the model");
    stele_close(db);
    db = open_db(1);
    REQUIRE(db && stele_docs_digest(db, ro) == STELE_OK, "read-only reopen");
    CHECK(strcmp(live, ro) == 0, "read-only rebuild differs");
    char *report = NULL;
    CHECK(stele_verify(db, 0, &report) == STELE_OK, "verify: %s", stele_errmsg(db));
    stele_free(report);
    stele_close(db);
    model_free(&m);
    model_free(&snap_model);
}

/* RFC 7386 appendix A, a selection, through patch on a stored document. */
static void test_merge_patch_examples(void)
{
    static const char *const cases[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    };
    make_store();
    stele *db = open_db(0);
    REQUIRE(db && txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}") == 0,
            "setup");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[8];
        snprintf(id, sizeof id, "d%zu", i);
        json_t *body = json_loads(cases[i][0], 0, NULL);
        json_object_set_new(body, "_id", json_string(id));
        char *b = json_dumps(body, JSON_COMPACT);
        REQUIRE(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":%s},"
                        "{\"op\":\"patch\",\"coll\":\"c\",\"id\":\"%s\",\"doc\":%s}]}",
                    b, id, cases[i][1]) == STELE_OK,
                "case %zu: %s", i, stele_errmsg(db));
        json_t *got = get_body(db, "c", id, 0, NULL), *want = json_loads(cases[i][2], 0, NULL);
        json_object_set_new(want, "_id", json_string(id));
        CHECK(got && json_equal(got, want), "RFC 7386 case %zu", i);
        json_decref(got);
        json_decref(want);
        json_decref(body);
        free(b);
    }
    stele_close(db);
}

static void test_bad_input_writes_nothing(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db && txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"},"
                          "{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"x\"}}]}") == 0,
            "setup");
    uint64_t head = stele_head(db);
    static const char *const bad[] = {
        "{\"ops\":[]}", "{\"ops\":{}}", "[1]", "{\"ops\":[{\"op\":\"fly\",\"coll\":\"c\"}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":[1]}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"\"}}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":7}}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"x\"}}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"y\"}},"
        "{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"y\"}}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"nope\",\"doc\":{}}]}",
        "{\"ops\":[{\"op\":\"replace\",\"coll\":\"c\",\"id\":\"x\",\"rev\":5,\"doc\":{}}]}",
        "{\"ops\":[{\"op\":\"replace\",\"coll\":\"c\",\"id\":\"x\",\"doc\":{\"_id\":\"z\"}}]}",
        "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"bad name\"}]}",
        "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}",
        "{\"ops\":[{\"op\":\"restore\",\"coll\":\"c\",\"id\":\"x\"}]}", "{\"ops\":[",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stele_status rc = stele_txn(db, bad[i], strlen(bad[i]), NULL, NULL);
        CHECK(rc != STELE_OK && stele_errmsg(db)[0], "bad transaction %zu accepted", i);
        CHECK(stele_head(db) == head, "bad transaction %zu wrote something", i);
    }
    CHECK(stele_txn(db, bad[10], strlen(bad[10]), NULL, NULL) == STELE_ECONFLICT,
          "a wrong rev is a conflict");
    CHECK(get_body(db, "c", "y", 0, NULL) == NULL, "no partial transaction applied");
    stele_close(db);
}

/* ---- kill -9 during multi-op transactions ---- */

static void crash_child(int fd, int start)
{
    stele *db = open_db(0);
    if (!db) _exit(2);
    for (int i = start;; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"t%d-a\"}},"
                 "{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"t%d-b\"}},"
                 "{\"op\":\"patch\",\"coll\":\"c\",\"id\":\"t%d-a\",\"doc\":{\"v\":%d}}]}",
                 i, i, i, i);
        if (stele_txn(db, text, strlen(text), NULL, NULL) != STELE_OK) _exit(3);
        if (write(fd, &i, sizeof i) != (ssize_t)sizeof i) _exit(4);
    }
}

static void test_crash_atomicity(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db && txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}") == 0,
            "setup");
    stele_close(db);
    int next = 0, acked_max = -1, bad = 0;
    for (int round = 0; round < 12; round++) {
        acked_max = test_kill_round(crash_child, next,
                                    (unsigned)(20000 + test_rand() % 60000), acked_max);
        db = open_db(0);
        REQUIRE(db, "reopen after kill");
        for (int i = 0; i <= acked_max + 3; i++) { /* acknowledged ones, and a few after */
            char a[32], b[32];
            snprintf(a, sizeof a, "t%d-a", i);
            snprintf(b, sizeof b, "t%d-b", i);
            json_t *ja = get_body(db, "c", a, 0, NULL), *jb = get_body(db, "c", b, 0, NULL);
            int full = ja && jb && json_integer_value(json_object_get(ja, "v")) == i;
            int none = !ja && !jb;
            if (i <= acked_max ? !full : !(full || none)) bad++;
            if (full && i >= next) next = i + 1;
            json_decref(ja);
            json_decref(jb);
        }
        if (next <= acked_max) next = acked_max + 1;
        char *report = NULL;
        CHECK(stele_verify(db, 0, &report) == STELE_OK, "verify after kill: %s",
              stele_errmsg(db));
        stele_free(report);
        stele_close(db);
    }
    CHECK(bad == 0, "%d transactions lost or partly visible after kill -9", bad);
    CHECK(acked_max > 10, "the writer made progress (%d acknowledged)", acked_max);
}

/* ---- queries against brute force ---- */

static int matches(json_t *doc, json_t *filter) /* the test's own evaluator */
{
    const char *k;
    json_t *cond;
    json_object_foreach(filter, k, cond) {
        if (strcmp(k, "$and") == 0) {
            for (size_t i = 0; i < json_array_size(cond); i++)
                if (!matches(doc, json_array_get(cond, i))) return 0;
            continue;
        }
        json_t *v = json_object_get(doc, k);
        json_t *wanted = json_is_object(cond) ? json_object_get(cond, "$in") : NULL;
        json_t *one = json_is_object(cond) ? json_object_get(cond, "$eq") : cond;
        int hit = 0;
        for (size_t i = 0; i < (wanted ? json_array_size(wanted) : 1) && !hit; i++) {
            json_t *w = wanted ? json_array_get(wanted, i) : one;
            if (json_is_array(v)) {
                for (size_t j = 0; j < json_array_size(v) && !hit; j++)
                    hit = json_equal(json_array_get(v, j), w) ||
                          (json_is_number(w) && json_is_number(json_array_get(v, j)) &&
                           json_number_value(w) == json_number_value(json_array_get(v, j)));
            } else if (v) {
                hit = json_equal(v, w) || (json_is_number(v) && json_is_number(w) &&
                                           json_number_value(v) == json_number_value(w));
            }
        }
        if (!hit) return 0;
    }
    return 1;
}

static json_t *random_filter(void)
{
    static const char *const s[] = {"x", "y", "z"}, *const tags[] = {"a", "b", "c"};
    json_t *f = json_object();
    int parts = 1 + (int)(test_rand() % 2);
    for (int i = 0; i < parts; i++) {
        switch (test_rand() % 5) {
        case 0: json_object_set_new(f, "n", json_integer((json_int_t)(test_rand() % 6))); break;
        case 1: json_object_set_new(f, "n", json_pack("{s[fi]}", "$in",
                                                     (double)(test_rand() % 6),
                                                     (int)(test_rand() % 6)));
                break;
        case 2: json_object_set_new(f, "s", json_pack("{ss}", "$eq", s[test_rand() % 3])); break;
        case 3: json_object_set_new(f, "tags", json_string(tags[test_rand() % 3])); break;
        default:
            json_object_set_new(f, "$and", json_pack("[{ss}]", "s", s[test_rand() % 3]));
        }
    }
    return f;
}

static void check_queries(stele *db, json_t *const *docs, const int *live, int n, int *wrong)
{
    for (int q = 0; q < 150; q++) {
        json_t *f = random_filter();
        char *ft = json_dumps(f, JSON_COMPACT);
        uint64_t want = 0, got = 0;
        for (int i = 0; i < n; i++) want += live[i] && matches(docs[i], f);
        char *found = NULL;
        if (stele_count(db, "q", ft, strlen(ft), 0, &got) != STELE_OK || got != want) (*wrong)++;
        if (stele_find(db, "q", ft, strlen(ft), NULL, &found) != STELE_OK) (*wrong)++;
        else {
            uint64_t lines = 0;
            for (const char *p = found; *p; p++) lines += *p == '\n';
            if (lines != want) (*wrong)++;
        }
        stele_free(found);
        free(ft);
        json_decref(f);
    }
}

static void test_queries_against_brute_force(void)
{
    enum { N = 300 };
    static const char *const s[] = {"x", "y", "z"}, *const tags[] = {"a", "b", "c"};
    make_store();
    stele *db = open_db(0);
    REQUIRE(db && txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"q\"}]}") == 0,
            "setup");
    json_t *docs[N];
    int live[N], wrong = 0;
    for (int i = 0; i < N; i++) {
        docs[i] = json_pack("{sssisss[]}", "_id", "", "n", (int)(test_rand() % 6), "s",
                            s[test_rand() % 3], "tags");
        char id[16];
        snprintf(id, sizeof id, "q%d", i);
        json_object_set_new(docs[i], "_id", json_string(id));
        for (int t = 0; t < 3; t++)
            if (test_rand() % 2) json_array_append_new(json_object_get(docs[i], "tags"),
                                                       json_string(tags[t]));
        char *d = json_dumps(docs[i], JSON_COMPACT);
        REQUIRE(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"q\",\"doc\":%s}]}", d) == 0,
                "insert");
        free(d);
        live[i] = 1;
        if (i == N / 2) check_queries(db, docs, live, i + 1, &wrong); /* indices now exist */
    }
    for (int i = 0; i < N; i += 7) { /* writes after the indices exist: maintained? */
        REQUIRE(txn(db, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"q\",\"id\":\"q%d\"}]}", i) == 0,
                "delete");
        live[i] = 0;
        int j = (i + 3) % N;
        if (!live[j]) continue;
        REQUIRE(txn(db, "{\"ops\":[{\"op\":\"patch\",\"coll\":\"q\",\"id\":\"q%d\","
                        "\"doc\":{\"n\":5,\"s\":\"z\"}}]}", j) == 0,
                "patch");
        json_object_set_new(docs[j], "n", json_integer(5));
        json_object_set_new(docs[j], "s", json_string("z"));
    }
    check_queries(db, docs, live, N, &wrong);
    stele_close(db);
    db = open_db(1); /* indices rebuilt from the log at open */
    REQUIRE(db, "reopen");
    check_queries(db, docs, live, N, &wrong);
    CHECK(wrong == 0, "%d query answers differ from brute force", wrong);
    stele_close(db);
    for (int i = 0; i < N; i++) json_decref(docs[i]);
}

int main(void)
{
    test_seed();
    TEST_RUN(test_random_against_model);
    TEST_RUN(test_merge_patch_examples);
    TEST_RUN(test_bad_input_writes_nothing);
    TEST_RUN(test_crash_atomicity);
    TEST_RUN(test_queries_against_brute_force);
    return test_summary();
}
