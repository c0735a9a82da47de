/*
 * docs_fault_test.c — a document transaction whose record cannot be written leaves the
 * document state as it was. Layer: tests/fault (the fault hooks of src/util/io.h).
 *
 * A writer applies a transaction to its state before appending the record and keeps
 * it only once the record is durable (src/api/stele.c, docs_stage / docs_settle). For
 * each write or sync fault and each N up to the number of such calls the workload
 * makes, a copy of a template store (a collection of documents) runs, with the fault
 * armed at the N-th call: one stele_txn that creates a collection, inserts, replaces,
 * patches, deletes and defines an index, then a multi-part stele_import. Asserted:
 *   - a call that fails leaves the state digest, a changed document, an inserted id and
 *     the index list exactly as before the call;
 *   - a call that succeeds shows its changes, and after a disarmed reopen the state
 *     (derived from the log) has the digest the writer had in memory: the versions it
 *     kept carry their record's LSN and time;
 *   - a failed call's record is either absent after the reopen, or (a sync that failed
 *     after the bytes reached the disk) present and applied whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stele.h"
#include "testutil.h"
#include "util/io.h"

#define USER "docfault"
#define PASS "docs-fault-test-password"
#define TEMPLATE_DOCS 20
#define IMPORT_DOCS 100

static const io_fault_kind KINDS[] = {IO_FAULT_EIO_WRITE, IO_FAULT_ENOSPC_WRITE,
                                      IO_FAULT_TORN_WRITE, IO_FAULT_EIO_SYNC};
static const char *const KIND_NAMES[] = {"EIO write", "ENOSPC write", "torn write", "EIO sync"};

static const char TXN[] =
    "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c2\"},"
    "{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"new\",\"age\":1}},"
    "{\"op\":\"insert\",\"coll\":\"c2\",\"doc\":{\"_id\":\"x\"}},"
    "{\"op\":\"replace\",\"coll\":\"c\",\"id\":\"d1\",\"doc\":{\"age\":99}},"
    "{\"op\":\"patch\",\"coll\":\"c\",\"id\":\"d2\",\"doc\":{\"age\":null,\"p\":1}},"
    "{\"op\":\"delete\",\"coll\":\"c\",\"id\":\"d3\"},"
    "{\"op\":\"create_index\",\"coll\":\"c\",\"path\":\"age\"}]}";

static stele_open_options opts(const char *dir)
{
    stele_open_options o = {.store_dir = dir, .user = USER, .password = PASS,
                            .password_len = strlen(PASS), .durability = STELE_DURABLE_FSYNC};
    return o;
}

static int make_template(const char *dir)
{
    stele_init_options io = {.store_dir = dir, .user = USER, .password = PASS,
                             .password_len = strlen(PASS), .kdf = STELE_KDF_INSECURE_TEST,
                             .segment_size = 65536};
    char err[512];
    if (stele_store_init(&io, err, sizeof err) != STELE_OK) return -1;
    stele_open_options o = opts(dir);
    stele *db = NULL;
    int bad = stele_open(&o, &db) != STELE_OK;
    char t[256];
    snprintf(t, sizeof t, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}");
    bad = bad || stele_txn(db, t, strlen(t), NULL, NULL) != STELE_OK;
    for (int i = 0; i < TEMPLATE_DOCS && !bad; i++) {
        snprintf(t, sizeof t, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":"
                              "{\"_id\":\"d%d\",\"age\":%d}}]}", i, 20 + i);
        bad = stele_txn(db, t, strlen(t), NULL, NULL) != STELE_OK;
    }
    bad = stele_close(db) != STELE_OK || bad;
    return bad ? -1 : 0;
}

static int copy_tree(const char *from, const char *to)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    return system(cmd) == 0 ? 0 : -1;
}

/* What a caller can see of the document state: digest, one changed document, one new
 * id, the index list and the collection list. */
typedef struct view {
    char digest[65];
    char d1[256], newdoc[256], indices[512], colls[512];
} view;

static void copy_out(char *dst, size_t cap, stele_status rc, char *s)
{
    snprintf(dst, cap, "%d:%s", rc, rc == STELE_OK && s ? s : "");
    stele_free(s);
}

static void view_take(stele *db, view *v)
{
    char *s = NULL;
    memset(v, 0, sizeof *v);
    if (stele_docs_digest(db, v->digest) != STELE_OK) snprintf(v->digest, 65, "(none)");
    stele_status rc = stele_doc_get(db, "c", "d1", 0, &s);
    copy_out(v->d1, sizeof v->d1, rc, s);
    s = NULL;
    rc = stele_doc_get(db, "c", "new", 0, &s);
    copy_out(v->newdoc, sizeof v->newdoc, rc, s);
    s = NULL;
    rc = stele_index_list(db, NULL, &s);
    copy_out(v->indices, sizeof v->indices, rc, s);
    s = NULL;
    rc = stele_collections(db, 0, &s);
    copy_out(v->colls, sizeof v->colls, rc, s);
}

static int view_equal(const view *a, const view *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* The NDJSON of the import: IMPORT_DOCS documents, cut into several parts. */
static char *import_text(size_t *len)
{
    size_t cap = IMPORT_DOCS * 200;
    char *t = malloc(cap);
    if (!t) abort();
    size_t n = 0;
    for (int i = 0; i < IMPORT_DOCS; i++)
        n += (size_t)snprintf(t + n, cap - n, "{\"_id\":\"imp%d\",\"pad\":\"%0100d\"}\n", i, i);
    *len = n;
    return t;
}

typedef struct outcome {
    int failed;     /* the call failed */
    view after;     /* what the writer saw after the call */
} outcome;

/* 1 if the state shows the whole of the call's changes. */
static int applied_whole(stele *db, int which)
{
    char *a = NULL, *b = NULL;
    int yes = which == 0
                  ? stele_doc_get(db, "c", "new", 0, &a) == STELE_OK &&
                        stele_doc_get(db, "c2", "x", 0, &b) == STELE_OK
                  : stele_doc_get(db, "c", "imp0", 0, &a) == STELE_OK &&
                        stele_doc_get(db, "c", "imp99", 0, &b) == STELE_OK;
    stele_free(a);
    stele_free(b);
    return yes;
}

/* Runs one call (0: the transaction, 1: the import) with the fault armed at call nth.
 * *calls (if not NULL) gets the number of calls of the fault's class the call made. */
static outcome run_call(const char *dir, int which, io_fault_kind kind, uint64_t nth,
                        uint64_t *calls, const char *what)
{
    outcome out;
    memset(&out, 0, sizeof out);
    stele_open_options o = opts(dir);
    stele *db = NULL;
    if (stele_open(&o, &db) != STELE_OK) {
        CHECK(0, "%s: open failed: %s", what, stele_errmsg(db));
        stele_close(db);
        out.failed = -1;
        return out;
    }
    view before;
    view_take(db, &before);
    size_t ilen;
    char *imp = import_text(&ilen);
    stele_import_options io = {.format = STELE_IO_NDJSON, .part_bytes = 4096};
    io_fault_arm(kind, nth);
    stele_status rc = which == 0 ? stele_txn(db, TXN, sizeof TXN - 1, NULL, NULL)
                                 : stele_import(db, "c", imp, ilen, &io, NULL);
    if (rc != STELE_OK && kind == IO_FAULT_NONE)
        fprintf(stderr, "%s: %s\n", what, stele_errmsg(db));
    if (calls) *calls = io_fault_calls(kind);
    io_fault_disarm();
    free(imp);
    out.failed = rc != STELE_OK;
    view_take(db, &out.after);
    if (out.failed)
        CHECK(view_equal(&before, &out.after), "%s: the failed call (%s) changed the state:\n"
              "  digest %s -> %s\n  d1 %s -> %s\n  new %s -> %s\n  indices %s -> %s", what,
              stele_errmsg(db), before.digest, out.after.digest, before.d1, out.after.d1,
              before.newdoc, out.after.newdoc, before.indices, out.after.indices);
    else
        CHECK(strcmp(before.digest, out.after.digest) != 0 && applied_whole(db, which),
              "%s: the call's changes are visible", what);
    stele_close(db);
    return out;
}

/* After a disarmed reopen: the log gives the state the writer had (success), or the
 * state before the call, or — a failed sync whose bytes landed — the call's whole. */
static void check_reopen(const char *dir, int which, const outcome *oc, const view *before,
                         const char *what)
{
    stele_open_options o = opts(dir);
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    CHECK(rc == STELE_OK, "%s: disarmed reopen: %s", what, stele_errmsg(db));
    if (rc == STELE_OK) {
        view v;
        view_take(db, &v);
        if (!oc->failed)
            CHECK(view_equal(&v, &oc->after), "%s: after reopen the state differs from the "
                  "writer's (digest %s, writer's %s)", what, v.digest, oc->after.digest);
        else
            CHECK(view_equal(&v, before) || applied_whole(db, which),
                  "%s: after reopen, neither the state before nor the whole call", what);
        char *rep = NULL;
        CHECK(stele_verify(db, 0, &rep) == STELE_OK, "%s: verify after reopen: %s", what,
              rep ? rep : stele_errmsg(db));
        stele_free(rep);
    }
    stele_close(db);
}

static void sweep(int which)
{
    static char tmpl[1200], work[1200];
    if (!tmpl[0]) { /* one template for both sweeps */
        const char *base = test_tmpdir();
        snprintf(tmpl, sizeof tmpl, "%s/template", base);
        snprintf(work, sizeof work, "%s/work", base);
        REQUIRE(make_template(tmpl) == 0, "template store");
    }
    view before;
    {
        stele_open_options o = opts(tmpl);
        stele *db = NULL;
        stele_status orc = stele_open(&o, &db);
        REQUIRE(orc == STELE_OK, "open template: %s", stele_errmsg(db));
        view_take(db, &before);
        stele_close(db);
    }
    for (size_t k = 0; k < sizeof KINDS / sizeof *KINDS; k++) {
        uint64_t calls = 0;
        char what[200];
        snprintf(what, sizeof what, "%s, no fault", which ? "import" : "txn");
        REQUIRE(copy_tree(tmpl, work) == 0, "copy");
        outcome ok = run_call(work, which, IO_FAULT_NONE, 0, NULL, what);
        CHECK(!ok.failed, "%s succeeds", what);
        REQUIRE(copy_tree(tmpl, work) == 0, "copy");
        run_call(work, which, KINDS[k], UINT64_MAX, &calls, what); /* learn the calls */
        CHECK(calls > 0, "%s makes %s calls", which ? "import" : "txn", KIND_NAMES[k]);
        int failures = 0;
        for (uint64_t n = 1; n <= calls; n++) {
            snprintf(what, sizeof what, "%s under %s at call %llu", which ? "import" : "txn",
                     KIND_NAMES[k], (unsigned long long)n);
            REQUIRE(copy_tree(tmpl, work) == 0, "copy");
            outcome oc = run_call(work, which, KINDS[k], n, NULL, what);
            failures += oc.failed == 1;
            check_reopen(work, which, &oc, &before, what);
        }
        CHECK(failures > 0, "%s: some %s fault fails the call", which ? "import" : "txn",
              KIND_NAMES[k]);
        printf("     %s: %llu %s calls, %d failed the call\n", which ? "import" : "txn",
               (unsigned long long)calls, KIND_NAMES[k], failures);
    }
}

static void test_txn_faults(void) { sweep(0); }
static void test_import_faults(void) { sweep(1); }

int main(void)
{
    TEST_RUN(test_txn_faults);
    TEST_RUN(test_import_faults);
    return test_summary();
}
