/*
 * ledger_test.c — behaviour of the ledger through the public API, plus one look under
 * the hood (src/ledger internals) to prove that no AES-GCM (key, nonce) pair is ever
 * used twice, even across a crash and recovery. Layer: tests/unit.
 *
 * Covered: payload sizes up to and past LEDGER_PAYLOAD_MAX; the largest frame a segment
 * holds; segment rolls; idempotency ids across reopen and crash; strictly increasing
 * timestamps; automatic checkpoints every N records; inclusion proofs for every LSN and
 * consistency proofs for every pair of checkpoints, and edited bundles failing; the
 * read-only handle; nonce uniqueness per file key after torn writes and power loss.
 *
 * Crashes are simulated by forked children that leave without stele_close (_exit), so
 * the parent sees an unclean shutdown. Children never run the harness's atexit hooks.
 * Random contents come from test_rand(), so a failure replays with STELE_SEED.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api_int.h"
#include "crypto/crypto.h"
#include "ledger/format.h"
#include "ledger/ledger.h"
#include "ledger/superblock.h"
#include "stele.h"
#include "testutil.h"
#include "util/io.h"
#include "vault/vault.h"

#define USER "tess"
#define PASS "ledger-test-password"
#define SEG_SMALL 65536u

/* ------------------------------------------------------------ helpers */

typedef struct expect {
    uint64_t key;  /* payload generator key; 0 = not one of ours */
    uint32_t len;
} expect;

static void gen_payload(uint64_t key, size_t len, uint8_t *out)
{
    uint64_t x = key * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = (uint8_t)(x >> 24);
    }
}

static int payload_is(uint64_t key, const uint8_t *p, size_t len)
{
    uint8_t *want = malloc(len ? len : 1);
    if (!want) return 0;
    gen_payload(key, len, want);
    int same = len == 0 || memcmp(want, p, len) == 0;
    free(want);
    return same;
}

static int make_store(char *dir, size_t cap, uint32_t seg, uint32_t ckpt_every)
{
    snprintf(dir, cap, "%s/store", test_tmpdir());
    stele_init_options o = {.store_dir = dir, .user = USER, .password = PASS,
                            .password_len = strlen(PASS), .kdf = STELE_KDF_INSECURE_TEST,
                            .segment_size = seg, .checkpoint_every = ckpt_every};
    char err[512];
    stele_status rc = stele_store_init(&o, err, sizeof err);
    if (rc != STELE_OK) fprintf(stderr, "store init: %s\n", err);
    return rc;
}

static stele *open_db(const char *dir, int durability, int ro)
{
    stele_open_options o = {.store_dir = dir, .user = USER, .password = PASS,
                            .password_len = strlen(PASS), .read_only = ro,
                            .durability = durability};
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    if (rc != STELE_OK) {
        fprintf(stderr, "open '%s': %s\n", dir, stele_errmsg(db));
        stele_close(db);
        return NULL;
    }
    return db;
}

/* Appends payload gen(key, len); records the expectation at its LSN. */
static stele_status append_gen(stele *db, uint64_t key, size_t len, const char *idem,
                               expect **ex, size_t *cap, uint64_t *lsn_out)
{
    uint8_t *p = malloc(len ? len : 1);
    if (!p) return STELE_ENOMEM;
    gen_payload(key, len, p);
    uint64_t lsn = 0;
    int dup = 0;
    stele_status rc = stele_append(db, p, len, idem, &lsn, &dup);
    free(p);
    if (rc == STELE_OK && !dup && ex) {
        if (lsn >= *cap) {
            size_t nc = (lsn + 1) * 2;
            expect *n = realloc(*ex, nc * sizeof *n);
            if (!n) return STELE_ENOMEM;
            memset(n + *cap, 0, (nc - *cap) * sizeof *n);
            *ex = n;
            *cap = nc;
        }
        (*ex)[lsn] = (expect){key, (uint32_t)len};
    }
    if (lsn_out) *lsn_out = lsn;
    return rc;
}

/* Reads every record: chain links, timestamps strictly increase, our payloads match.
 * Returns the number of problems (each already reported). */
static int check_log(stele *db, const expect *ex, size_t cap, const char *when)
{
    uint64_t head = stele_head(db), last_ts = 0;
    char prev[65] = "";
    int bad = 0;
    for (uint64_t lsn = 1; lsn <= head; lsn++) {
        stele_record r;
        stele_status rc = stele_get(db, lsn, &r);
        if (rc != STELE_OK) {
            CHECK(0, "%s: get LSN %llu: %s", when, (unsigned long long)lsn, stele_errmsg(db));
            bad++;
            continue;
        }
        if (r.lsn != lsn || (lsn > 1 && strcmp(r.prev_hash, prev) != 0)) {
            CHECK(0, "%s: LSN %llu does not link to its predecessor", when,
                  (unsigned long long)lsn);
            bad++;
        }
        if (r.timestamp_ns <= last_ts) {
            CHECK(0, "%s: timestamp of LSN %llu (%llu) does not increase (previous %llu)", when,
                  (unsigned long long)lsn, (unsigned long long)r.timestamp_ns,
                  (unsigned long long)last_ts);
            bad++;
        }
        last_ts = r.timestamp_ns;
        memcpy(prev, r.hash, sizeof prev);
        if (ex && lsn < cap && ex[lsn].key) {
            if (r.kind != STELE_REC_TXN || r.payload_len != ex[lsn].len ||
                !payload_is(ex[lsn].key, r.payload, r.payload_len)) {
                CHECK(0, "%s: LSN %llu: wrong kind/payload (kind %d, %zu bytes, want %u)", when,
                      (unsigned long long)lsn, r.kind, r.payload_len, ex[lsn].len);
                bad++;
            }
        }
    }
    for (size_t lsn = head + 1; ex && lsn < cap; lsn++)
        if (ex[lsn].key) {
            CHECK(0, "%s: acknowledged LSN %zu is past the head %llu", when, lsn,
                  (unsigned long long)head);
            bad++;
        }
    return bad;
}

static int verify_ok(stele *db, const char *when)
{
    char *rep = NULL;
    stele_status rc = stele_verify(db, 0, &rep);
    CHECK(rc == STELE_OK, "%s: verify: %s", when, stele_errmsg(db));
    stele_free(rep);
    return rc == STELE_OK;
}

/* SHA-256 over the names and contents of every file in dir/dbs/ (recursively). */
static void hash_tree(const char *dir, uint8_t out[32])
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && find dbs -type f | LC_ALL=C sort | xargs sha256sum | sha256sum", dir);
    FILE *p = popen(cmd, "r");
    char line[200] = "";
    if (!p || !fgets(line, sizeof line, p) || crypto_unhex(line, out, 32) != 0)
        memset(out, 0, 32);
    if (p) pclose(p);
}

/* Forks a child that opens the store, runs fn, and leaves with _exit(status). */
static int run_child(const char *dir, int durability, int (*fn)(stele *, void *), void *arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        stele *db = open_db(dir, durability, 0);
        _exit(db ? fn(db, arg) : 90); /* no stele_close: an unclean shutdown */
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int last_record_is_recovery(stele *db)
{
    stele_record r;
    return stele_get(db, stele_head(db), &r) == STELE_OK && r.kind == STELE_REC_RECOVERY;
}

/* ------------------------------------------------------ payload sizes */

static void test_payload_sizes(void)
{
    char dir[600];
    REQUIRE(make_store(dir, sizeof dir, 9u << 20, 1000) == STELE_OK, "store init");
    stele *db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "open");
    expect *ex = NULL;
    size_t cap = 0;
    size_t sizes[] = {0, 1, 1000, 64u << 10, LEDGER_PAYLOAD_MAX - 1, LEDGER_PAYLOAD_MAX, 17};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t lsn = 0, key = test_rand() | 1;
        stele_status rc = append_gen(db, key, sizes[i], NULL, &ex, &cap, &lsn);
        CHECK(rc == STELE_OK, "append of %zu bytes: %s", sizes[i], stele_errmsg(db));
        stele_record r;
        CHECK(rc != STELE_OK || (stele_get(db, lsn, &r) == STELE_OK &&
                                 r.payload_len == sizes[i] &&
                                 payload_is(key, r.payload, r.payload_len)),
              "read back of %zu bytes differs", sizes[i]);
    }
    /* The largest idempotency id with the largest payload is the largest frame. */
    char idem[LEDGER_IDEM_MAX + 2];
    memset(idem, 'i', sizeof idem);
    idem[LEDGER_IDEM_MAX] = 0;
    CHECK(append_gen(db, 77, LEDGER_PAYLOAD_MAX, idem, &ex, &cap, NULL) == STELE_OK,
          "largest frame: %s", stele_errmsg(db));
    uint64_t head = stele_head(db);
    uint8_t before[32], after[32];
    hash_tree(dir, before);
    idem[LEDGER_IDEM_MAX] = 'i';
    idem[LEDGER_IDEM_MAX + 1] = 0;
    CHECK(append_gen(db, 78, 10, idem, NULL, NULL, NULL) == STELE_ETOOBIG,
          "an idempotency id of %u bytes was accepted", LEDGER_IDEM_MAX + 1);
    CHECK(append_gen(db, 79, LEDGER_PAYLOAD_MAX + 1, NULL, NULL, NULL, NULL) == STELE_ETOOBIG,
          "a payload of LEDGER_PAYLOAD_MAX + 1 bytes was accepted");
    CHECK(strstr(stele_errmsg(db), "limit") != NULL, "ETOOBIG message: '%s'", stele_errmsg(db));
    CHECK(stele_head(db) == head, "a refused append moved the head");
    hash_tree(dir, after);
    CHECK(memcmp(before, after, 32) == 0, "a refused append changed files on disk");
    uint64_t lsn = 0;
    CHECK(append_gen(db, 80, 5, NULL, &ex, &cap, &lsn) == STELE_OK && lsn == head + 1,
          "the append after a refused one did not get the next LSN");
    check_log(db, ex, cap, "before close");
    CHECK(stele_close(db) == STELE_OK, "close");
    db = open_db(dir, STELE_DURABLE_FSYNC, 1);
    REQUIRE(db, "reopen read-only");
    check_log(db, ex, cap, "after reopen");
    verify_ok(db, "payload sizes");
    stele_close(db);
    free(ex);
}

/* A frame must fit in one segment: the exact boundary, and 64 KiB in 64 KiB segments. */
static void test_frame_fits_segment(void)
{
    char dir[600];
    REQUIRE(make_store(dir, sizeof dir, SEG_SMALL, 1000) == STELE_OK, "store init");
    stele *db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "open");
    size_t fits = SEG_SMALL - SEGHDR_AREA - FRAME_OVERHEAD - ENVELOPE_FIXED;
    REQUIRE(SEGHDR_AREA + frame_size(ENVELOPE_FIXED + fits) == SEG_SMALL, "arithmetic");
    expect *ex = NULL;
    size_t cap = 0;
    CHECK(append_gen(db, 1, 64u << 10, NULL, NULL, NULL, NULL) == STELE_ETOOBIG,
          "a 64 KiB payload was accepted in 64 KiB segments");
    CHECK(append_gen(db, 2, fits + 1, NULL, NULL, NULL, NULL) == STELE_ETOOBIG,
          "a payload one byte too large for the segment was accepted");
    CHECK(stele_head(db) == 0, "refused appends moved the head");
    CHECK(append_gen(db, 3, 100, NULL, &ex, &cap, NULL) == STELE_OK, "small append");
    CHECK(append_gen(db, 4, fits, NULL, &ex, &cap, NULL) == STELE_OK,
          "a payload of exactly one segment's room (%zu) was refused: %s", fits,
          stele_errmsg(db));
    CHECK(append_gen(db, 5, fits, NULL, &ex, &cap, NULL) == STELE_OK, "second full frame: %s",
          stele_errmsg(db));
    check_log(db, ex, cap, "full frames");
    CHECK(stele_close(db) == STELE_OK, "close");
    db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "reopen");
    check_log(db, ex, cap, "full frames after reopen");
    verify_ok(db, "full frames");
    stele_close(db);
    free(ex);
}

/* ----------------------------------------------------- segment rolls */

static void test_segment_rolls(void)
{
    char dir[600];
    REQUIRE(make_store(dir, sizeof dir, SEG_SMALL, 50) == STELE_OK, "store init");
    stele *db = open_db(dir, STELE_DURABLE_NONE, 0);
    REQUIRE(db, "open");
    expect *ex = NULL;
    size_t cap = 0;
    for (int i = 0; i < 1500; i++) {
        size_t len = (size_t)(test_rand() % 3000);
        if (append_gen(db, test_rand() | 1, len, NULL, &ex, &cap, NULL) != STELE_OK) {
            CHECK(0, "append %d: %s", i, stele_errmsg(db));
            break;
        }
    }
    check_log(db, ex, cap, "before close");
    CHECK(stele_close(db) == STELE_OK, "close");
    db = open_db(dir, STELE_DURABLE_FSYNC, 1);
    REQUIRE(db, "reopen read-only");
    check_log(db, ex, cap, "read-only reopen");
    char *st = NULL;
    REQUIRE(stele_stat(db, &st) == STELE_OK, "stat");
    json_t *j = json_loads(st, 0, NULL);
    long long segs = j ? json_integer_value(json_object_get(j, "segments")) : 0;
    CHECK(segs >= 20, "only %lld segments after 1500 records of up to 3000 bytes", segs);
    json_decref(j);
    stele_free(st);
    stele_close(db);
    db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "reopen writable");
    check_log(db, ex, cap, "writable reopen");
    verify_ok(db, "segment rolls");
    stele_close(db);
    free(ex);
}

/* ------------------------------------------------------- idempotency */

typedef struct idem_child {
    int fd;
} idem_child;

static int child_idem_append(stele *db, void *arg)
{
    idem_child *c = arg;
    uint64_t lsn = 0;
    if (stele_append(db, "crash", 5, "order-crash", &lsn, NULL) != STELE_OK) return 1;
    return write(c->fd, &lsn, sizeof lsn) == sizeof lsn ? 0 : 2;
}

static void test_idempotency(void)
{
    char dir[600];
    REQUIRE(make_store(dir, sizeof dir, SEG_SMALL, 100) == STELE_OK, "store init");
    stele *db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "open");
    uint64_t l1 = 0, l2 = 0, l3 = 0;
    int dup = -1;
    CHECK(stele_append(db, "one", 3, "order-1", &l1, &dup) == STELE_OK && dup == 0, "first");
    uint64_t head = stele_head(db);
    CHECK(stele_append(db, "other", 5, "order-1", &l2, &dup) == STELE_OK && dup == 1 && l2 == l1,
          "a repeated id was not reported as a duplicate of LSN %llu", (unsigned long long)l1);
    CHECK(stele_head(db) == head, "a duplicate moved the head");
    CHECK(stele_append(db, "two", 3, "order-2", &l3, &dup) == STELE_OK && dup == 0 && l3 > l1,
          "a new id was treated as a duplicate");
    enum { MANY = 3000 }; /* enough to grow and rehash the id table */
    uint64_t *many = calloc(MANY, sizeof *many);
    REQUIRE(many, "oom");
    stele_close(db);
    db = open_db(dir, STELE_DURABLE_NONE, 0);
    REQUIRE(db, "open none");
    for (int i = 0; i < MANY; i++) {
        char id[32];
        snprintf(id, sizeof id, "bulk-%d", i);
        CHECK(stele_append(db, id, strlen(id), id, &many[i], &dup) == STELE_OK && !dup,
              "bulk %d", i);
    }
    stele_close(db);
    db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "reopen");
    CHECK(stele_append(db, "x", 1, "order-1", &l2, &dup) == STELE_OK && dup == 1 && l2 == l1,
          "order-1 not a duplicate after reopen (got LSN %llu, dup %d)", (unsigned long long)l2,
          dup);
    for (int i = 0; i < MANY; i += 7) {
        char id[32];
        uint64_t l = 0;
        snprintf(id, sizeof id, "bulk-%d", i);
        CHECK(stele_append(db, "y", 1, id, &l, &dup) == STELE_OK && dup == 1 && l == many[i],
              "%s: not a duplicate of LSN %llu after reopen", id, (unsigned long long)many[i]);
    }
    stele_record r;
    CHECK(stele_get(db, l1, &r) == STELE_OK && r.idem_len == 7 &&
              memcmp(r.idem_id, "order-1", 7) == 0 && r.payload_len == 3 &&
              memcmp(r.payload, "one", 3) == 0,
          "the original record of order-1 changed");
    stele_close(db);
    /* An id committed just before a crash is still known after recovery. */
    int fds[2];
    REQUIRE(pipe(fds) == 0, "pipe");
    idem_child c = {fds[1]};
    int st = run_child(dir, STELE_DURABLE_FSYNC, child_idem_append, &c);
    close(fds[1]);
    uint64_t lc = 0;
    CHECK(st == 0 && read(fds[0], &lc, sizeof lc) == sizeof lc, "child failed (%d)", st);
    close(fds[0]);
    db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "reopen after crash");
    CHECK(last_record_is_recovery(db), "no recovery record after an unclean shutdown");
    uint64_t l = 0;
    CHECK(stele_append(db, "z", 1, "order-crash", &l, &dup) == STELE_OK && dup == 1 && l == lc,
          "the id appended before the crash is not a duplicate of LSN %llu after recovery",
          (unsigned long long)lc);
    verify_ok(db, "idempotency");
    stele_close(db);
    free(many);
}

/* --------------------------------------------------------- checkpoints */

static int parse_ckpt(const stele_record *r, uint64_t *tree_size)
{
    json_t *j = json_loadb((const char *)r->payload, r->payload_len, 0, NULL);
    json_t *t = j ? json_object_get(j, "tree_size") : NULL;
    const char *ev = j ? json_string_value(json_object_get(j, "event")) : NULL;
    int ok = json_is_integer(t) && ev && strcmp(ev, "checkpoint") == 0;
    if (ok) *tree_size = (uint64_t)json_integer_value(t);
    json_decref(j);
    return ok ? 0 : -1;
}

static void test_checkpoint_every(void)
{
    enum { EVERY = 10 };
    char dir[600];
    REQUIRE(make_store(dir, sizeof dir, SEG_SMALL, EVERY) == STELE_OK, "store init");
    stele *db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "open");
    for (int i = 0; i < 95; i++) CHECK(stele_append(db, "t", 1, NULL, NULL, NULL) == STELE_OK, "a");
    uint64_t head = stele_head(db);
    int since = 0, ckpts = 0;
    for (uint64_t lsn = 1; lsn <= head; lsn++) {
        stele_record r;
        REQUIRE(stele_get(db, lsn, &r) == STELE_OK, "get %llu", (unsigned long long)lsn);
        if (r.kind == STELE_REC_TXN) {
            since++;
            CHECK(since <= EVERY, "%d records without a checkpoint at LSN %llu", since,
                  (unsigned long long)lsn);
            continue;
        }
        uint64_t ts = 0;
        CHECK(r.kind == STELE_REC_CHECKPOINT, "unexpected kind %d at LSN %llu", r.kind,
              (unsigned long long)lsn);
        CHECK(since == EVERY, "checkpoint at LSN %llu after %d records, not %d",
              (unsigned long long)lsn, since, EVERY);
        CHECK(parse_ckpt(&r, &ts) == 0 && ts == lsn - 1,
              "checkpoint LSN %llu covers %llu records, not %llu", (unsigned long long)lsn,
              (unsigned long long)ts, (unsigned long long)(lsn - 1));
        since = 0;
        ckpts++;
    }
    CHECK(ckpts == 95 / EVERY, "%d automatic checkpoints, want %d", ckpts, 95 / EVERY);
    CHECK(stele_close(db) == STELE_OK, "close");
    db = open_db(dir, STELE_DURABLE_FSYNC, 1);
    REQUIRE(db, "reopen");
    stele_record r;
    CHECK(stele_get(db, stele_head(db), &r) == STELE_OK && r.kind == STELE_REC_CHECKPOINT,
          "close did not write a final checkpoint");
    for (uint64_t lsn = 1; lsn <= stele_head(db); lsn++) /* kinds as indexed at open */
        CHECK(stele_get(db, lsn, &r) == STELE_OK && ledger_kind(db->L, lsn) == r.kind,
              "ledger_kind of LSN %llu", (unsigned long long)lsn);
    CHECK(ledger_kind(db->L, 0) == -1 && ledger_kind(db->L, stele_head(db) + 1) == -1,
          "ledger_kind outside the log");
    check_log(db, NULL, 0, "checkpoints");
    verify_ok(db, "checkpoints");
    stele_close(db);
}

/* ------------------------------------------------------------- proofs */

static int bundle_ok(const char *json, const char *pk)
{
    char msg[512] = "";
    stele_status rc = stele_proof_verify(json, strlen(json), pk, msg, sizeof msg);
    if (rc != STELE_OK) fprintf(stderr, "  bundle rejected: %s\n", msg);
    return rc == STELE_OK;
}

static void public_key(stele *db, char pk[65])
{
    char *st = NULL;
    pk[0] = 0;
    if (stele_stat(db, &st) != STELE_OK) return;
    json_t *j = json_loads(st, 0, NULL);
    const char *s = j ? json_string_value(json_object_get(j, "public_key")) : NULL;
    if (s && strlen(s) == 64) memcpy(pk, s, 65);
    json_decref(j);
    stele_free(st);
}

static void checkpoints_of(stele *db, uint64_t *out, size_t cap, size_t *n)
{
    *n = 0;
    for (uint64_t lsn = 1; lsn <= stele_head(db); lsn++) {
        stele_record r;
        if (stele_get(db, lsn, &r) == STELE_OK && r.kind == STELE_REC_CHECKPOINT && *n < cap)
            out[(*n)++] = lsn;
    }
}

static int make_proof_store(char *dir, size_t cap, stele **out)
{
    if (make_store(dir, cap, SEG_SMALL, 7) != STELE_OK) return -1;
    stele *db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    if (!db) return -1;
    for (int i = 0; i < 30; i++) {
        char p[32];
        snprintf(p, sizeof p, "{\"n\":%d}", i);
        if (stele_append(db, p, strlen(p), NULL, NULL, NULL) != STELE_OK) return -1;
    }
    if (stele_checkpoint(db, NULL) != STELE_OK) return -1;
    *out = db;
    return 0;
}

static void test_proofs(void)
{
    char dir[600], pk[65], other[65];
    stele *db = NULL;
    REQUIRE(make_proof_store(dir, sizeof dir, &db) == 0, "proof store");
    public_key(db, pk);
    REQUIRE(pk[0], "no public key in stat");
    memcpy(other, pk, 65);
    other[0] = other[0] == '0' ? '1' : '0';
    uint64_t ck[64];
    size_t nck = 0;
    checkpoints_of(db, ck, 64, &nck);
    REQUIRE(nck >= 4 && ck[nck - 1] == stele_head(db), "checkpoints: %zu", nck);
    uint64_t last = ck[nck - 1];
    for (uint64_t lsn = 1; lsn < last; lsn++) {
        char *j = NULL;
        REQUIRE(stele_prove(db, lsn, 0, 1, &j) == STELE_OK, "prove %llu: %s",
                (unsigned long long)lsn, stele_errmsg(db));
        CHECK(bundle_ok(j, pk), "inclusion proof of LSN %llu does not verify",
              (unsigned long long)lsn);
        CHECK(bundle_ok(j, NULL), "inclusion proof of LSN %llu without a trusted key",
              (unsigned long long)lsn);
        char msg[256];
        CHECK(stele_proof_verify(j, strlen(j), other, msg, sizeof msg) == STELE_EPROOF,
              "a bundle verified against another trusted key");
        stele_free(j);
        for (size_t c = 0; c < nck; c++) {
            j = NULL;
            stele_status rc = stele_prove(db, lsn, ck[c], (int)(lsn & 1), &j);
            if (ck[c] <= lsn) {
                CHECK(rc == STELE_EINVAL, "checkpoint %llu cannot cover LSN %llu, got %d",
                      (unsigned long long)ck[c], (unsigned long long)lsn, rc);
            } else {
                CHECK(rc == STELE_OK && bundle_ok(j, pk),
                      "LSN %llu in checkpoint %llu does not verify", (unsigned long long)lsn,
                      (unsigned long long)ck[c]);
            }
            stele_free(j);
        }
    }
    char *j = NULL;
    CHECK(stele_prove(db, last, 0, 0, &j) == STELE_ENOTFOUND, "the last checkpoint is covered?");
    stele_free(j);
    j = NULL;
    CHECK(stele_prove(db, 3, 5, 0, &j) == STELE_ENOTFOUND, "LSN 5 is not a checkpoint");
    stele_free(j);
    for (size_t a = 0; a < nck; a++)
        for (size_t b = 0; b < nck; b++) {
            j = NULL;
            stele_status rc = stele_prove_consistency(db, ck[a], ck[b], &j);
            if (a > b) CHECK(rc == STELE_EINVAL, "reversed consistency proof %zu>%zu", a, b);
            else CHECK(rc == STELE_OK && bundle_ok(j, pk),
                       "consistency %llu -> %llu does not verify", (unsigned long long)ck[a],
                       (unsigned long long)ck[b]);
            stele_free(j);
        }
    stele_close(db);
}

/* Flips one hex digit of a string member; returns -1 if absent. */
static int flip_hex(json_t *o, const char *key, size_t at)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || !*s) return -1;
    char *c = strdup(s);
    size_t i = at % strlen(c);
    c[i] = c[i] == '0' ? '1' : '0';
    json_object_set_new(o, key, json_string(c));
    free(c);
    return 0;
}

static void add_int(json_t *o, const char *key, long long d)
{
    json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + d));
}

/* Applies edit number k to a parsed bundle; -1 when there are no more edits. */
static int edit_inclusion(json_t *b, int k)
{
    json_t *rec = json_object_get(b, "record"), *ck = json_object_get(b, "checkpoint");
    json_t *path = json_object_get(b, "path");
    size_t np = json_array_size(path);
    switch (k) {
    case 0: add_int(rec, "lsn", 1); return 0;
    case 1: add_int(rec, "lsn", -1); return 0;
    case 2: return flip_hex(rec, "header", 3);              /* the LSN inside the header */
    case 3: return flip_hex(rec, "header", 2 * 80 + 5);     /* payload hash */
    case 4: return flip_hex(rec, "header", 2 * 112 + 1);    /* previous hash */
    case 5: return flip_hex(rec, "hash", 10);
    case 6: return flip_hex(rec, "payload_hex", 0);
    case 7: return flip_hex(rec, "salt", 7);
    case 8: return flip_hex(ck, "root", 0);
    case 9: return flip_hex(ck, "head_hash", 9);
    case 10: return flip_hex(ck, "signature", 20);
    case 11: add_int(ck, "tree_size", 1); return 0;
    case 12: add_int(ck, "lsn", 1); return 0;
    case 13: add_int(ck, "timestamp_ns", 1); return 0;
    case 14: return flip_hex(b, "public_key", 5);
    case 15: return flip_hex(b, "database", 5);
    case 16: return np ? json_array_remove(path, np - 1) : -1;
    case 17: return json_array_append_new(path, json_string(
                        "00000000000000000000000000000000000000000000000000000000000000aa"));
    case 18: add_int(ck, "tree_size", -1); add_int(ck, "lsn", -1); return 0;
    default: break;
    }
    k -= 19;
    if ((size_t)k < np) { /* every path element */
        json_t *e = json_array_get(path, (size_t)k);
        char *c = strdup(json_string_value(e));
        c[k % 64] = c[k % 64] == 'f' ? 'e' : 'f';
        json_array_set_new(path, (size_t)k, json_string(c));
        free(c);
        return 0;
    }
    return -1;
}

static int edit_consistency(json_t *b, int k)
{
    json_t *o = json_object_get(b, "old"), *n = json_object_get(b, "new");
    json_t *proof = json_object_get(b, "proof");
    size_t np = json_array_size(proof);
    switch (k) {
    case 0: return flip_hex(o, "root", 1);
    case 1: return flip_hex(n, "root", 1);
    case 2: return flip_hex(o, "signature", 3);
    case 3: return flip_hex(n, "signature", 3);
    case 4: add_int(o, "tree_size", 1); return 0;
    case 5: add_int(n, "tree_size", -1); return 0;
    case 6: return flip_hex(b, "public_key", 0);
    case 7: return np ? json_array_remove(proof, 0) : -1;
    case 8: return json_array_append_new(proof, json_string(
                       "1111111111111111111111111111111111111111111111111111111111111111"));
    default: break;
    }
    k -= 9;
    if ((size_t)k < np) {
        json_t *e = json_array_get(proof, (size_t)k);
        char *c = strdup(json_string_value(e));
        c[63 - k % 64] = c[63 - k % 64] == '7' ? '8' : '7';
        json_array_set_new(proof, (size_t)k, json_string(c));
        free(c);
        return 0;
    }
    return -1;
}

static void try_edits(const char *bundle, int (*edit)(json_t *, int), const char *what,
                      const char *pk)
{
    int applied = 0;
    REQUIRE(bundle_ok(bundle, pk), "%s: the unedited bundle does not verify", what);
    for (int k = 0; k < 100; k++) {
        json_t *b = json_loads(bundle, 0, NULL);
        REQUIRE(b, "%s: bundle is not JSON", what);
        int r = edit(b, k);
        if (r == 0) {
            char *s = json_dumps(b, JSON_COMPACT);
            char msg[512] = "";
            stele_status rc = stele_proof_verify(s, strlen(s), NULL, msg, sizeof msg);
            CHECK(rc == STELE_EPROOF || rc == STELE_EINVAL,
                  "%s: edit %d verified (%d): %s", what, k, rc, msg);
            CHECK(rc == STELE_OK || msg[0], "%s: edit %d rejected without a reason", what, k);
            free(s);
            applied++;
        }
        json_decref(b);
        if (r != 0 && k > 20) break;
    }
    CHECK(applied >= 12, "%s: only %d edits applied", what, applied);
}

static void test_edited_bundles(void)
{
    char dir[600], pk[65];
    stele *db = NULL;
    REQUIRE(make_proof_store(dir, sizeof dir, &db) == 0, "proof store");
    public_key(db, pk);
    uint64_t ck[64];
    size_t nck = 0;
    checkpoints_of(db, ck, 64, &nck);
    REQUIRE(nck >= 3, "checkpoints");
    uint64_t lsns[] = {1, 2, 5, ck[1] - 1, ck[1] + 1, ck[nck - 1] - 1};
    for (size_t i = 0; i < sizeof lsns / sizeof lsns[0]; i++) {
        char *j = NULL;
        REQUIRE(stele_prove(db, lsns[i], 0, 1, &j) == STELE_OK, "prove: %s", stele_errmsg(db));
        char what[64];
        snprintf(what, sizeof what, "inclusion of LSN %llu", (unsigned long long)lsns[i]);
        try_edits(j, edit_inclusion, what, pk);
        stele_free(j);
    }
    for (size_t a = 0; a + 1 < nck; a++) {
        char *j = NULL;
        REQUIRE(stele_prove_consistency(db, ck[a], ck[nck - 1], &j) == STELE_OK, "consistency");
        char what[64];
        snprintf(what, sizeof what, "consistency %llu->%llu", (unsigned long long)ck[a],
                 (unsigned long long)ck[nck - 1]);
        try_edits(j, edit_consistency, what, pk);
        stele_free(j);
    }
    stele_close(db);
}

/* ------------------------------------------------- concurrent appenders */

enum { CONC_THREADS = 4, CONC_PER_THREAD = 400 };

typedef struct conc_arg {
    stele *db;
    int id;
    uint64_t lsn[CONC_PER_THREAD];
    int failed;
} conc_arg;

static void *conc_writer(void *p)
{
    conc_arg *a = p;
    for (int i = 0; i < CONC_PER_THREAD; i++) {
        uint8_t pl[1200];
        size_t len = 600 + (size_t)((a->id * 131 + i * 17) % 600);
        gen_payload((uint64_t)a->id << 32 | (uint64_t)i, len, pl);
        if (stele_append(a->db, pl, len, NULL, &a->lsn[i], NULL) != STELE_OK) {
            a->failed = 1;
            break;
        }
    }
    return NULL;
}

/* Many threads appending while segments roll and checkpoints are due: every record and
 * every checkpoint must come out consistent (a checkpoint covers exactly the records
 * before it), whatever the interleaving. Group commit and fsync both batch writers. */
static void concurrent_round(int durability)
{
    char dir[600];
    REQUIRE(make_store(dir, sizeof dir, SEG_SMALL, 3) == STELE_OK, "store init");
    stele *db = open_db(dir, durability, 0);
    REQUIRE(db, "open");
    static conc_arg args[CONC_THREADS];
    pthread_t t[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].db = db;
        args[i].id = i + 1;
        REQUIRE(pthread_create(&t[i], NULL, conc_writer, &args[i]) == 0, "thread");
    }
    for (int i = 0; i < CONC_THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < CONC_THREADS; i++)
        CHECK(!args[i].failed, "durability %d: thread %d: an append failed", durability, i);
    char why[128] = "";
    uint64_t head = stele_head(db);
    for (uint64_t lsn = 1; lsn <= head && !why[0]; lsn++) {
        stele_record r;
        uint64_t ts = 0;
        if (stele_get(db, lsn, &r) != STELE_OK) snprintf(why, sizeof why, "get failed");
        else if (r.kind == STELE_REC_CHECKPOINT && (parse_ckpt(&r, &ts) != 0 || ts != lsn - 1))
            snprintf(why, sizeof why, "checkpoint LSN %llu covers %llu records, not %llu",
                     (unsigned long long)lsn, (unsigned long long)ts,
                     (unsigned long long)(lsn - 1));
    }
    CHECK(!why[0], "durability %d: %s", durability, why);
    for (int i = 0; i < CONC_THREADS; i++)
        for (int j = 0; j < CONC_PER_THREAD && !args[i].failed; j++) {
            stele_record r;
            size_t len = 600 + (size_t)(((i + 1) * 131 + j * 17) % 600);
            uint64_t key = (uint64_t)(i + 1) << 32 | (uint64_t)j;
            if (stele_get(db, args[i].lsn[j], &r) != STELE_OK || r.payload_len != len ||
                !payload_is(key, r.payload, len)) {
                CHECK(0, "thread %d append %d (LSN %llu) reads back wrong", i, j,
                      (unsigned long long)args[i].lsn[j]);
                break;
            }
        }
    verify_ok(db, durability == STELE_DURABLE_GROUP ? "concurrent group" : "concurrent fsync");
    stele_close(db);
}

static void test_concurrent_appends_roll_and_checkpoint(void)
{
    concurrent_round(STELE_DURABLE_GROUP);
    concurrent_round(STELE_DURABLE_FSYNC);
}

/* ----------------------------------------------------------- read-only */

static int child_append_some(stele *db, void *arg)
{
    (void)arg;
    for (int i = 0; i < 25; i++)
        if (stele_append(db, "before-crash", 12, NULL, NULL, NULL) != STELE_OK) return 1;
    return 0;
}

static void test_read_only(void)
{
    char dir[600];
    REQUIRE(make_store(dir, sizeof dir, SEG_SMALL, 10) == STELE_OK, "store init");
    stele *w = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(w, "open writable");
    for (int i = 0; i < 12; i++) CHECK(stele_append(w, "x", 1, NULL, NULL, NULL) == STELE_OK, "a");
    stele *r = open_db(dir, STELE_DURABLE_FSYNC, 1);
    REQUIRE(r, "a read-only open must work beside a writer");
    uint64_t head = stele_head(r), lsn = 0;
    CHECK(head >= 12, "read-only head %llu", (unsigned long long)head);
    CHECK(stele_append(r, "y", 1, NULL, &lsn, NULL) == STELE_EREADONLY,
          "append on a read-only handle was not refused");
    CHECK(stele_errmsg(r)[0], "no message for EREADONLY");
    CHECK(stele_append(r, "y", 1, "idem", &lsn, NULL) == STELE_EREADONLY,
          "idempotent append on a read-only handle was not refused");
    CHECK(stele_checkpoint(r, &lsn) == STELE_EREADONLY, "checkpoint on a read-only handle");
    CHECK(stele_head(r) == head, "head moved on a read-only handle");
    check_log(r, NULL, 0, "read-only");
    stele_close(r);
    stele *w2 = NULL;
    stele_open_options o = {.store_dir = dir, .user = USER, .password = PASS,
                            .password_len = strlen(PASS)};
    CHECK(stele_open(&o, &w2) == STELE_ELOCKED, "a second writer was not refused");
    stele_close(w2);
    CHECK(stele_close(w) == STELE_OK, "close");
    /* After a crash, a read-only open reads what is there and changes nothing. */
    CHECK(run_child(dir, STELE_DURABLE_FSYNC, child_append_some, NULL) == 0, "child");
    uint8_t before[32], after[32];
    hash_tree(dir, before);
    r = open_db(dir, STELE_DURABLE_FSYNC, 1);
    REQUIRE(r, "read-only open after a crash");
    CHECK(stele_head(r) >= 12 + 25, "read-only open after crash: head %llu",
          (unsigned long long)stele_head(r));
    check_log(r, NULL, 0, "read-only after crash");
    CHECK(stele_append(r, "y", 1, NULL, NULL, NULL) == STELE_EREADONLY, "append after crash");
    stele_close(r);
    hash_tree(dir, after);
    CHECK(memcmp(before, after, 32) == 0, "a read-only open after a crash changed files");
}

/* -------------------------------------------- (key, nonce) uniqueness */

/* One AES-GCM use found on disk: file key (file_id), the 12-byte nonce, and a digest of
 * the ciphertext and tag it produced. Same nonce + same digest = the same bytes seen
 * twice (fine); same nonce + different digest = a reused nonce. */
typedef struct gcm_use {
    uint8_t file_id[16];
    uint8_t nonce[12];
    uint8_t ct[32];
    uint64_t off;  /* 0 for the segment header */
    int box;       /* 0 segment header, 1 frame header, 2 frame envelope */
} gcm_use;

typedef struct uses {
    gcm_use *v;
    size_t n, cap;
} uses;

static vault_dbkeys g_keys;
static char g_db_dir[VAULT_PATH_MAX];

static int load_keys(const char *store)
{
    vault_user u;
    uint8_t *dek = NULL;
    util_err e;
    if (vault_user_load(store, USER, &u, &e) != STELE_OK ||
        vault_user_unlock(&u, PASS, strlen(PASS), &dek, &e) != STELE_OK)
        return -1;
    vault_db_dir(store, u.primary_db, g_db_dir, sizeof g_db_dir);
    stele_status rc = vault_db_unlock(g_db_dir, u.primary_db, &u, dek, VAULT_UNLOCK_ANY, &g_keys, &e);
    crypto_secure_free(dek);
    return rc == STELE_OK ? 0 : -1;
}

static void add_use(uses *u, const uint8_t fid[16], const uint8_t nonce[12], const uint8_t *ct,
                    size_t ct_len, uint64_t off, int box)
{
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 1024;
        u->v = realloc(u->v, u->cap * sizeof *u->v);
        if (!u->v) abort();
    }
    gcm_use *g = &u->v[u->n++];
    memcpy(g->file_id, fid, 16);
    memcpy(g->nonce, nonce, 12);
    crypto_sha256(ct, ct_len, g->ct);
    g->off = off;
    g->box = box;
}

/* Finds every authentic frame of one segment file (at any 16-byte offset, so stray and
 * torn-but-authentic headers count too) with plain reads: the io layer may be in its
 * "crashed" state in the child. Returns the number of frames, or -1. */
static int walk_file(const char *path, const uint8_t fid[16], uses *u)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    struct stat st;
    uint8_t *b = NULL;
    int frames = -1;
    uint8_t fk[32];
    crypto_gcm *g = NULL;
    if (fstat(fd, &st) == 0 && (b = malloc((size_t)st.st_size)) &&
        pread(fd, b, (size_t)st.st_size, 0) == st.st_size &&
        vault_derive(&g_keys, "file key", fid, 16, fk) == 0 && (g = crypto_gcm_new(fk))) {
        seghdr h;
        if (seghdr_open(g, g_keys.db_id, fid, g_keys.epoch, b, &h) == 0) {
            frames = 0;
            add_use(u, fid, b, b + 12, SEGHDR_PLAIN_BYTES + 16, 0, 0);
            size_t prefix = FRAME_NONCE_BYTES + RECHDR_BYTES + CRYPTO_GCM_TAG_BYTES;
            for (uint64_t off = SEGHDR_AREA; off + prefix <= (uint64_t)st.st_size;) {
                frame_place pl = {g_keys.db_id, fid, g_keys.epoch, h.seq, off};
                uint8_t enc[RECHDR_BYTES], nh[12], np[12];
                rechdr rh;
                if (frame_open_header(g, &pl, b + off, enc) != 0 || rechdr_decode(enc, &rh)) {
                    off += FRAME_ALIGN;
                    continue;
                }
                memcpy(nh, b + off, 12);
                memcpy(np, b + off, 12);
                nh[11] &= 0xfe;
                np[11] |= 1;
                add_use(u, fid, nh, b + off + 12, RECHDR_BYTES + 16, off, 1);
                size_t env_end = off + prefix + rh.env_len + 16;
                if (env_end <= (uint64_t)st.st_size)
                    add_use(u, fid, np, b + off + prefix, rh.env_len + 16, off, 2);
                frames++;
                off += frame_size(rh.env_len);
            }
        }
    }
    crypto_wipe(fk, sizeof fk);
    crypto_gcm_free(g);
    free(b);
    close(fd);
    return frames;
}

/* Walks every segment file of the database. Returns the number of frames or -1. */
static int walk_db(uses *u)
{
    char data[VAULT_PATH_MAX + 8];
    snprintf(data, sizeof data, "%s/data", g_db_dir);
    DIR *d = opendir(data);
    if (!d) return -1;
    int total = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint8_t fid[16];
        if (strlen(de->d_name) != 32 || crypto_unhex(de->d_name, fid, 16) != 0) continue;
        uint8_t m0[16], m1[16], ks[16]; /* manifest copies and key slots are no segments */
        if (sb_copy_id(&g_keys, 0, m0) != 0 || sb_copy_id(&g_keys, 1, m1) != 0 ||
            vault_slots_id(g_keys.db_id, ks) != 0)
            return -1;
        if (memcmp(fid, m0, 16) == 0 || memcmp(fid, m1, 16) == 0 || memcmp(fid, ks, 16) == 0)
            continue;
        char path[VAULT_PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", data, de->d_name);
        int n = walk_file(path, fid, u);
        if (n < 0) {
            total = -1;
            break;
        }
        total += n;
    }
    closedir(d);
    return total;
}

static int cmp_use(const void *a, const void *b)
{
    const gcm_use *x = a, *y = b;
    int c = memcmp(x->file_id, y->file_id, 16);
    return c ? c : memcmp(x->nonce, y->nonce, 12);
}

static int cmp_nonce(const void *a, const void *b)
{
    const gcm_use *x = a, *y = b;
    return memcmp(x->nonce, y->nonce, 12);
}

/* The proof: within each file key, one nonce never encrypts two different things.
 * Returns the number of reuses (reported). Across files, distinct nonces are a bonus. */
static int check_no_reuse(uses *u)
{
    int reuse = 0;
    qsort(u->v, u->n, sizeof *u->v, cmp_use);
    for (size_t i = 1; i < u->n; i++) {
        gcm_use *a = &u->v[i - 1], *b = &u->v[i];
        if (cmp_use(a, b) != 0) continue;
        if (memcmp(a->ct, b->ct, 32) == 0 && a->off == b->off && a->box == b->box) continue;
        char fid[33];
        crypto_hex(a->file_id, 16, fid);
        CHECK(0, "(key, nonce) reused in file %s: offsets %llu (box %d) and %llu (box %d)", fid,
              (unsigned long long)a->off, a->box, (unsigned long long)b->off, b->box);
        reuse++;
    }
    qsort(u->v, u->n, sizeof *u->v, cmp_nonce);
    for (size_t i = 1; i < u->n; i++) {
        gcm_use *a = &u->v[i - 1], *b = &u->v[i];
        if (cmp_nonce(a, b) == 0 && memcmp(a->file_id, b->file_id, 16) != 0)
            CHECK(0, "the same nonce appears in two files (keys differ, but 95 random bits "
                     "should never collide)");
    }
    return reuse;
}

/* Offsets that held one frame before the crash and another one after recovery
 * (different ciphertext; whether the nonce differs too is check_no_reuse's job). */
static int rewritten_offsets(const uses *before, const uses *after)
{
    int n = 0;
    for (size_t i = 0; i < before->n; i++) {
        const gcm_use *a = &before->v[i];
        if (a->box != 1) continue;
        for (size_t j = 0; j < after->n; j++) {
            const gcm_use *b = &after->v[j];
            if (b->box == 1 && b->off == a->off && memcmp(a->file_id, b->file_id, 16) == 0 &&
                memcmp(a->ct, b->ct, 32) != 0) {
                n++;
                break;
            }
        }
    }
    return n;
}

typedef struct nonce_child {
    int mode; /* 0 plain exit, 1 torn write, 2 unsynced writes lost to a power cut */
    const char *out;
    uint64_t seed;
} nonce_child;

static int save_uses(const char *path, const uses *u)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(u->v, sizeof *u->v, u->n, f) == u->n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int load_uses(const char *path, uses *u)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    gcm_use g;
    while (fread(&g, sizeof g, 1, f) == 1) {
        if (u->n == u->cap) {
            u->cap = u->cap ? u->cap * 2 : 1024;
            u->v = realloc(u->v, u->cap * sizeof *u->v);
            if (!u->v) abort();
        }
        u->v[u->n++] = g;
    }
    fclose(f);
    return 0;
}

static int child_nonce_work(stele *db, void *arg)
{
    nonce_child *c = arg;
    uint8_t p[1000];
    memset(p, 'n', sizeof p);
    if (c->mode == 2) io_track_unsynced(1); /* db was opened with DURABLE_NONE */
    for (int i = 0; i < 40; i++)
        if (stele_append(db, p, 100 + (size_t)i * 7, NULL, NULL, NULL) != STELE_OK) return 1;
    if (c->mode == 1) { /* the next write reaches the disk only half: a torn frame */
        io_fault_arm(IO_FAULT_TORN_WRITE, 1);
        if (stele_append(db, p, sizeof p, NULL, NULL, NULL) == STELE_OK) return 2;
        if (!io_fault_fired()) return 3;
    }
    uses u = {0};
    if (walk_db(&u) < 40 || save_uses(c->out, &u) != 0) return 4;
    if (c->mode == 2 && io_sim_powerloss(c->seed) == 0) return 5;
    return 0;
}

static void nonce_round(int mode)
{
    char dir[600], out[700];
    REQUIRE(make_store(dir, sizeof dir, SEG_SMALL, 50) == STELE_OK, "store init");
    REQUIRE(load_keys(dir) == 0, "cannot unlock the database keys");
    snprintf(out, sizeof out, "%s/../uses-before.bin", dir);
    stele *db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "open");
    for (int i = 0; i < 100; i++) CHECK(stele_append(db, "warm", 4, NULL, NULL, NULL) == 0, "a");
    REQUIRE(stele_close(db) == STELE_OK, "close");
    nonce_child c = {mode, out, test_rand() | 1};
    int st = run_child(dir, mode == 2 ? STELE_DURABLE_NONE : STELE_DURABLE_FSYNC,
                       child_nonce_work, &c);
    REQUIRE(st == 0, "mode %d: child failed with %d", mode, st);
    uses before = {0}, after = {0};
    REQUIRE(load_uses(out, &before) == 0 && before.n > 0, "no uses recorded before the crash");
    db = open_db(dir, STELE_DURABLE_FSYNC, 0);
    REQUIRE(db, "mode %d: reopen after the crash", mode);
    CHECK(last_record_is_recovery(db), "mode %d: no recovery record", mode);
    for (int i = 0; i < 300; i++) /* enough for several segment rolls */
        if (stele_append(db, "after the crash, a longer payload to roll segments quickly", 58,
                         NULL, NULL, NULL) != STELE_OK) {
            CHECK(0, "append after recovery: %s", stele_errmsg(db));
            break;
        }
    check_log(db, NULL, 0, "after recovery");
    verify_ok(db, "nonce round");
    REQUIRE(stele_close(db) == STELE_OK, "close");
    REQUIRE(walk_db(&after) > 400, "walk after recovery found too few frames");
    int rewritten = rewritten_offsets(&before, &after);
    if (mode != 0)
        CHECK(rewritten > 0, "mode %d: no offset was rewritten by recovery, so the test proved "
                             "nothing about rewritten frames", mode);
    uses all = {0};
    all.cap = all.n = before.n + after.n;
    all.v = malloc(all.cap * sizeof *all.v);
    REQUIRE(all.v, "oom");
    memcpy(all.v, before.v, before.n * sizeof *all.v);
    memcpy(all.v + before.n, after.v, after.n * sizeof *all.v);
    CHECK(check_no_reuse(&all) == 0, "mode %d: nonces reused", mode);
    fprintf(stderr, "  mode %d: %zu GCM uses before the crash, %zu after, %d offsets rewritten\n",
            mode, before.n, after.n, rewritten);
    free(all.v);
    free(before.v);
    free(after.v);
    vault_dbkeys_release(&g_keys);
}

static void test_nonce_never_reused(void)
{
    nonce_round(0);
    nonce_round(1);
    nonce_round(2);
}

int main(void)
{
    test_seed();
    if (crypto_init() != 0) return 1;
    TEST_RUN(test_payload_sizes);
    TEST_RUN(test_frame_fits_segment);
    TEST_RUN(test_segment_rolls);
    TEST_RUN(test_idempotency);
    TEST_RUN(test_checkpoint_every);
    TEST_RUN(test_proofs);
    TEST_RUN(test_edited_bundles);
    TEST_RUN(test_concurrent_appends_roll_and_checkpoint);
    TEST_RUN(test_read_only);
    TEST_RUN(test_nonce_never_reused);
    return test_summary();
}
