/*
 * access_crash_test.c — kill -9 during share and revoke. Layer: tests/crash.
 *
 * Each round forks a child that opens ada's database "proj" for writing and loops:
 * share it with bob, write a document, revoke bob (every other time with
 * --reencrypt), write a document. The parent kills the child with SIGKILL after a
 * random 0-250 ms (the kill lands anywhere: in the key file's replacement, between the
 * key file and the ledger record, inside a re-encryption or a snapshot), then asserts:
 *   - ada opens the database for writing (recovering the torn tail), it verifies, and
 *     every document the child acknowledged is there;
 *   - bob's access is either the old or the new state: his open of ada/proj succeeds
 *     and reads the first document, or fails with STELE_EACCESS — never anything else
 *     (a corrupt key file, a slot that does not open, a key missing for some file).
 * STELE_CRASH_ROUNDS sets the number of rounds (default 30). STELE_SEED replays the
 * parent's choices (kill times differ, being real time).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stele.h"
#include "testutil.h"

#define SEG 65536u
#define KILL_MAX_US 250000u

static char store[512];

static stele_status open_as(const char *user, const char *pw, const char *name, int ro,
                            stele **out, char *why, size_t cap)
{
    stele_open_options o = {.store_dir = store, .user = user, .password = pw,
                            .password_len = strlen(pw), .db = name, .read_only = ro,
                            .no_checkpoint_on_close = 1};
    stele_status rc = stele_open(&o, out);
    if (rc != STELE_OK) {
        snprintf(why, cap, "%s", stele_errmsg(*out));
        stele_close(*out);
        *out = NULL;
    }
    return rc;
}

static stele_status put(stele *db, unsigned n)
{
    char txn[200];
    snprintf(txn, sizeof txn,
             "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"k%u\"}}]}", n);
    return stele_txn(db, txn, strlen(txn), NULL, NULL);
}

/* The child: share, write, revoke, write, forever; reports each acknowledged write's
 * number on the pipe (one small write: atomic). */
static void child(int fd, void *arg)
{
    unsigned start = *(unsigned *)arg;
    char why[512];
    stele *db;
    if (open_as("ada", "pw", "proj", 0, &db, why, sizeof why) != STELE_OK) _exit(3);
    for (unsigned i = start;; i++) {
        int ok = stele_db_share(db, "bob", "reader") == STELE_OK && put(db, i * 2) == STELE_OK;
        if (ok && write(fd, &(unsigned){i * 2}, sizeof(unsigned)) < 0) _exit(4);
        ok = ok && stele_db_revoke(db, "bob", i % 2) == STELE_OK && put(db, i * 2 + 1) == 0;
        if (ok && write(fd, &(unsigned){i * 2 + 1}, sizeof(unsigned)) < 0) _exit(4);
        if (!ok) _exit(5);
    }
}

static void setup(void)
{
    test_store_new(store, sizeof store, SEG, 20);
    char err[512];
    stele_login a = {store, "ada", "pw", 2};
    stele *db;
    const char *mk = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"},"
                     "{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"first\"}}]}";
    if (stele_user_add(&a, "bob", "bpw", 3, STELE_KDF_INSECURE_TEST, SEG, err, sizeof err) ||
        stele_db_create(&a, "proj", SEG, err, sizeof err) ||
        open_as("ada", "pw", "proj", 0, &db, err, sizeof err) ||
        stele_txn(db, mk, strlen(mk), NULL, NULL)) {
        fprintf(stderr, "setup: %s\n", err);
        abort();
    }
    stele_close(db);
}

/* Reads the acknowledged write numbers the child sent (non-blocking after its death). */
static unsigned drain(int fd, unsigned *acked, unsigned cap)
{
    unsigned n = 0, v;
    while (n < cap && read(fd, &v, sizeof v) == (ssize_t)sizeof v) acked[n++] = v;
    return n;
}

static void check_after(const unsigned *acked, unsigned nacked, unsigned round)
{
    char why[512];
    stele *db, *b;
    stele_status rc = open_as("ada", "pw", "proj", 0, &db, why, sizeof why);
    REQUIRE(rc == STELE_OK, "round %u: ada cannot open proj: %s", round, why);
    char *rep = NULL;
    CHECK(stele_verify(db, 0, &rep) == STELE_OK, "round %u: verify: %s", round,
          stele_errmsg(db));
    stele_free(rep);
    for (unsigned i = 0; i < nacked; i++) {
        char id[32], *json = NULL;
        snprintf(id, sizeof id, "k%u", acked[i]);
        CHECK(stele_doc_get(db, "c", id, 0, &json) == STELE_OK,
              "round %u: acknowledged document %s lost", round, id);
        stele_free(json);
    }
    stele_close(db);
    rc = open_as("bob", "bpw", "ada/proj", 1, &b, why, sizeof why);
    CHECK(rc == STELE_OK || rc == STELE_EACCESS, "round %u: bob's access is broken (%d): %s",
          round, rc, why);
    if (rc == STELE_OK) {
        char *json = NULL;
        CHECK(stele_doc_get(b, "c", "first", 0, &json) == STELE_OK,
              "round %u: bob is a member but cannot read: %s", round, stele_errmsg(b));
        stele_free(json);
        stele_close(b);
    }
}

static void test_kill_during_share_and_revoke(void)
{
    setup();
    const char *env = getenv("STELE_CRASH_ROUNDS");
    unsigned rounds = env ? (unsigned)atoi(env) : 30, next = 1;
    static unsigned acked[1u << 16];
    unsigned nacked = 0;
    for (unsigned r = 0; r < rounds; r++) {
        int rd;
        pid_t pid = test_fork_piped(child, &next, &rd);
        struct timespec ts = {0, (long)(test_rand() % KILL_MAX_US) * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status), "round %u: the child exited by itself (%d)", r,
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        nacked += drain(rd, acked + nacked, (unsigned)(sizeof acked / sizeof *acked) - nacked);
        close(rd);
        next += 1000; /* fresh document numbers for the next child */
        check_after(acked, nacked, r);
    }
    printf("%u rounds, %u acknowledged writes around shares and revocations\n", rounds, nacked);
    CHECK(nacked > 0, "no child got as far as a share and a write: raise KILL_MAX_US");
}

int main(void)
{
    TEST_RUN(test_kill_during_share_and_revoke);
    return test_summary();
}
