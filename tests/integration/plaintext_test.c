/*
 * plaintext_test.c — a --no-encryption database (stele_init_options.no_encryption):
 * its data really is plaintext (a marker string is found in the segment and snapshot
 * fragment files, and not in a sealed store's), it reopens from the log and from a
 * snapshot, it recovers after a crash (a child killed between acknowledged appends)
 * with every acknowledged record intact, `stat` says it is not encrypted, and a
 * changed byte is caught (tamper_plain_test.c does that exhaustively).
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stele.h"
#include "testutil.h"

#define MARKER "PLAINTEXT-MARKER-7f3a"
#define DOCS 40

static void store_new(char *path, size_t cap, int no_encryption)
{
    static unsigned n;
    snprintf(path, cap, "%s/p%u", test_tmpdir(), n++);
    stele_init_options io = {.store_dir = path, .user = "ada", .password = "pw",
                             .password_len = 2, .kdf = STELE_KDF_INSECURE_TEST,
                             .segment_size = 65536, .no_encryption = no_encryption};
    char err[512];
    if (stele_store_init(&io, err, sizeof err) != STELE_OK) {
        fprintf(stderr, "init: %s\n", err);
        abort();
    }
}

/* How many files under <store>/dbs/<id>/data contain s. */
static int files_with(const char *store, const char *s)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "grep -rl -a '%s' '%s/dbs' 2>/dev/null | grep -c /data/", s, store);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
}

static void put_docs(stele *db, int from, int to)
{
    for (int i = from; i < to; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"d%d\","
                 "\"m\":\"" MARKER "\"}}]}", i);
        stele_status st = stele_txn(db, json, strlen(json), NULL, NULL);
        CHECK(st == STELE_OK, "insert %d: %s", i, stele_errmsg(db));
    }
}

static int has_doc(stele *db, int i)
{
    char id[16], *json = NULL;
    snprintf(id, sizeof id, "d%d", i);
    int ok = stele_doc_get(db, "c", id, 0, &json) == STELE_OK && strstr(json, MARKER);
    stele_free(json);
    return ok;
}

static void create_coll(stele *db)
{
    const char *t = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}";
    CHECK(stele_txn(db, t, strlen(t), NULL, NULL) == STELE_OK, "create: %s", stele_errmsg(db));
}

static void test_marker_visible_only_when_plain(void)
{
    char plain[600], sealed[600], *json = NULL;
    store_new(plain, sizeof plain, 1);
    store_new(sealed, sizeof sealed, 0);
    for (int k = 0; k < 2; k++) {
        stele *db = test_store_open(k ? sealed : plain, NULL);
        REQUIRE(db, "open");
        create_coll(db);
        put_docs(db, 0, DOCS);
        REQUIRE(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
        REQUIRE(stele_stat(db, &json) == STELE_OK, "stat");
        CHECK((strstr(json, "\"encryption\":\"none") != NULL) == !k,
              "stat says whether it is encrypted: %s", json);
        stele_free(json);
        stele_close(db);
    }
    /* The log's segment and the snapshot's fragment both hold the marker in clear. */
    CHECK(files_with(plain, MARKER) >= 2, "marker in %d plaintext data files, expected >= 2",
          files_with(plain, MARKER));
    CHECK(files_with(sealed, MARKER) == 0, "marker visible in a sealed store");
    /* Reopen: from the snapshot, then from the whole log. */
    stele_open_options o = {.read_only = 1};
    for (int rebuild = 0; rebuild < 2; rebuild++) {
        o.rebuild = rebuild;
        stele *db = test_store_open(plain, &o);
        REQUIRE(db, "reopen (rebuild %d)", rebuild);
        int all = 1;
        for (int i = 0; i < DOCS; i++) all &= has_doc(db, i);
        CHECK(all, "every document back after reopening (rebuild %d)", rebuild);
        char *report = NULL;
        CHECK(stele_verify(db, 0, &report) == STELE_OK, "verify: %s", stele_errmsg(db));
        stele_free(report);
        stele_close(db);
    }
}

/* A child appends with FSYNC, reports each acknowledged count on a pipe, and is
 * killed mid-way; the parent reopens (recovery) and finds every acknowledged doc. */
static void test_crash_recovery(void)
{
    char store[600];
    store_new(store, sizeof store, 1);
    stele *db = test_store_open(store, NULL);
    REQUIRE(db, "open");
    create_coll(db);
    stele_close(db);
    int fds[2];
    REQUIRE(pipe(fds) == 0, "pipe");
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork");
    if (pid == 0) {
        close(fds[0]);
        stele *c = test_store_open(store, NULL);
        for (int i = 0; c && i < 100000; i++) {
            put_docs(c, i, i + 1);
            if (write(fds[1], &i, sizeof i) != sizeof i) _exit(1);
        }
        _exit(2);
    }
    close(fds[1]);
    int acked = -1, v;
    while (acked < 30 && read(fds[0], &v, sizeof v) == sizeof v) acked = v;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    while (read(fds[0], &v, sizeof v) == sizeof v) acked = v; /* acked before the kill */
    close(fds[0]);
    REQUIRE(acked >= 30, "the child acknowledged %d inserts", acked);
    db = test_store_open(store, NULL);
    REQUIRE(db, "reopen after the crash");
    int all = 1;
    for (int i = 0; i <= acked; i++) all &= has_doc(db, i);
    CHECK(all, "all %d acknowledged documents survive the crash", acked + 1);
    char *json = NULL;
    REQUIRE(stele_stat(db, &json) == STELE_OK, "stat");
    CHECK(strstr(json, "\"recoveries\":1"), "one recovery recorded: %s", json);
    stele_free(json);
    CHECK(stele_verify(db, 0, &json) == STELE_OK, "verify after recovery: %s", stele_errmsg(db));
    stele_free(json);
    stele_close(db);
}

int main(void)
{
    test_seed();
    TEST_RUN(test_marker_visible_only_when_plain);
    TEST_RUN(test_crash_recovery);
    return test_summary();
}
