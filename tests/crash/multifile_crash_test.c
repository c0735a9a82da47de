/*
 * multifile_crash_test.c — kill -9 during the multi-file steps: snapshots (write intent,
 * fragments, manifest, removal of the old fragments), key rotations (key slot file,
 * manifest moved to the new epoch's copies, first segment of the new epoch) and
 * rotations with re-encryption (each older segment rewritten and swapped, then a new
 * snapshot). Layer: tests/crash.
 *
 * Each round forks a writer that opens database "proj" (shared with "bob") for writing
 * and loops forever: a few document inserts, each acknowledged to the parent through a
 * pipe (one write() under PIPE_BUF per message, so a kill never leaves half a message),
 * then one multi-file operation announced with BEGIN/END messages: a snapshot, a
 * revocation of bob (key rotation) followed by sharing again, or the same with
 * re-encryption. The parent kills the writer with SIGKILL:
 *   - at a random moment (0-40 ms), or
 *   - a random time after BEGIN of a chosen operation, within the duration it learned
 *     from earlier rounds, so that most of these kills land inside the operation, or
 *   - a random time inside stele_open, which is where the previous crash's intent is
 *     finished or rolled back (in those rounds the parent did not check in between).
 * After the kill (in about three rounds of four) the parent opens for writing — which
 * recovers — and asserts:
 *   - the open succeeds and every acknowledged document reads back with its content;
 *   - no unknown file remains in data/: every name is 32 hex digits (no ".tmp"), stat
 *     reports no files warning, and data/ holds exactly the segments, the fragments,
 *     the two manifest copies and the key slot file;
 *   - verify passes, and the state loaded from the snapshot equals the state derived
 *     from the whole log (same digest);
 *   - bob either opens the database or gets "no access", never a damaged database.
 * The store is renewed every EPOCH_ROUNDS rounds (a database has at most 256 key epochs).
 *
 * STELE_MULTIFILE_ROUNDS sets the number of rounds (default 40; `make crash-long` 600).
 * STELE_SEED replays the parent's choices (kill times differ, being real time).
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "stele.h"
#include "testutil.h"

#define USER "crash"
#define PASS "crash-test-password"
#define MEMBER "bob"
#define MEMBER_PASS "bob-password"
#define DB "proj"
#define SEGMENT_BYTES 65536u
#define EPOCH_ROUNDS 10
#define KILL_MAX_US 40000u
#define DOCS_MAX 200000u

enum { MARK_ACK = 0, MARK_OPENING = 1, MARK_OPENED = 2, MARK_BEGIN = 3, MARK_END = 4 };
enum { OP_ANY = 0, OP_SNAPSHOT = 1, OP_ROTATE = 2, OP_REENCRYPT = 3, OP_KINDS = 4 };
static const char *op_name[OP_KINDS] = {"any", "snapshot", "rotation", "re-encryption"};

typedef struct msg {
    uint32_t mark;
    uint32_t op;
    uint64_t n;
} msg;
_Static_assert(sizeof(msg) == 16, "message layout");

/* ----------------------------------------------------------- the writer */

static void send_msg(int fd, uint32_t mark, uint32_t op, uint64_t n)
{
    msg m = {mark, op, n};
    if (write(fd, &m, sizeof m) != (ssize_t)sizeof m) _exit(31);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static stele_open_options open_opts(const char *dir, const char *user, const char *pw,
                                    int read_only)
{
    stele_open_options o = {.store_dir = dir, .user = user, .password = pw,
                            .password_len = strlen(pw), .db = DB, .read_only = read_only,
                            .durability = STELE_DURABLE_FSYNC};
    return o;
}

static void insert_doc(stele *db, int fd, uint64_t n)
{
    char j[400];
    snprintf(j, sizeof j, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"d%llu\","
             "\"v\":%llu,\"pad\":\"%0150llu\"}}]}", (unsigned long long)n,
             (unsigned long long)n, (unsigned long long)n);
    stele_status rc = stele_txn(db, j, strlen(j), NULL, NULL);
    if (rc != STELE_OK) {
        fprintf(stderr, "writer: insert d%llu failed: %s\n", (unsigned long long)n,
                stele_errmsg(db));
        _exit(20);
    }
    send_msg(fd, MARK_ACK, 0, n);
}

static void run_op(stele *db, int fd, uint32_t op)
{
    send_msg(fd, MARK_BEGIN, op, 0);
    stele_status rc = op == OP_SNAPSHOT ? stele_snapshot(db)
                                        : stele_db_revoke(db, MEMBER, op == OP_REENCRYPT);
    if (rc == STELE_OK && op != OP_SNAPSHOT) rc = stele_db_share(db, MEMBER, "reader");
    if (rc != STELE_OK) {
        fprintf(stderr, "writer: %s failed: %s\n", op_name[op], stele_errmsg(db));
        _exit(21);
    }
    send_msg(fd, MARK_END, op, 0);
}

/* The child: never returns, never runs the parent's atexit hooks. */
static _Noreturn void writer_main(const char *dir, int fd, uint64_t seed, uint64_t base,
                                  uint32_t forced_op)
{
    send_msg(fd, MARK_OPENING, 0, 0);
    stele_open_options o = open_opts(dir, USER, PASS, 0);
    stele *db = NULL;
    if (stele_open(&o, &db) != STELE_OK) {
        fprintf(stderr, "writer: open failed: %s\n", stele_errmsg(db));
        _exit(10);
    }
    send_msg(fd, MARK_OPENED, 0, 0);
    /* a crash between a revocation and the share after it leaves bob without a slot */
    if (stele_db_share(db, MEMBER, "reader") != STELE_OK) {
        fprintf(stderr, "writer: share failed: %s\n", stele_errmsg(db));
        _exit(11);
    }
    uint64_t rng = seed | 1, n = base;
    for (;;) {
        for (uint64_t k = 1 + xorshift(&rng) % 6; k > 0; k--) insert_doc(db, fd, n++);
        uint32_t op = forced_op ? forced_op : 1 + (uint32_t)(xorshift(&rng) % 3);
        run_op(db, fd, op);
    }
}

/* ----------------------------------------------------------- the parent */

typedef struct state {
    char dir[600];
    char data[1200];                /* data/ of DB */
    uint64_t *acked;                /* acknowledged document numbers of this store */
    size_t nacked;
    uint64_t next_base;             /* first document number of the next writer */
    uint64_t op_ns[OP_KINDS];       /* learned durations (OP_ANY: stele_open) */
    char last[160];
    unsigned kills_in_op[OP_KINDS]; /* OP_ANY: inside stele_open */
    unsigned rounds_checked;
} state;

typedef struct round_io {
    state *s;
    test_pipe pipe;
    uint64_t opening_at, opened_at;
    uint64_t begin_at[OP_KINDS];
    uint32_t in_op;  /* the operation begun and not ended, 0 = none */
    unsigned acks;
} round_io;

static void learn(uint64_t *avg, uint64_t d)
{
    *avg = *avg ? (*avg * 7 + d) / 8 : d;
}

/* One whole message from the pipe (test_pipe_pump's callback; ctx is the round). */
static void take(void *ctx, const uint8_t *bytes)
{
    round_io *r = ctx;
    state *s = r->s;
    msg mm, *m = &mm;
    memcpy(m, bytes, sizeof mm);
    uint64_t t = test_now_ns();
    if (m->mark == MARK_OPENING) r->opening_at = t;
    if (m->mark == MARK_OPENED) {
        r->opened_at = t;
        if (r->opening_at) learn(&s->op_ns[OP_ANY], t - r->opening_at);
    }
    if (m->mark == MARK_BEGIN && m->op < OP_KINDS) {
        r->begin_at[m->op] = t;
        r->in_op = m->op;
    }
    if (m->mark == MARK_END && m->op < OP_KINDS) {
        learn(&s->op_ns[m->op], t - r->begin_at[m->op]);
        r->in_op = 0;
    }
    if (m->mark == MARK_ACK) {
        r->acks++;
        if (s->nacked < DOCS_MAX) s->acked[s->nacked++] = m->n;
    }
}

/* Consumes messages until `delay_ns` after now (mode OP_KINDS), after OPENING (OP_ANY)
 * or after BEGIN of operation `mode`. */
static void wait_for_kill(round_io *r, uint32_t mode, uint64_t delay_ns)
{
    uint64_t start = test_now_ns();
    test_pipe_until(&r->pipe, mode == OP_KINDS ? &start
                              : mode == OP_ANY ? &r->opening_at : &r->begin_at[mode], delay_ns);
}

static int login_json(const char *dir, char **json)
{
    stele_login l = {.store_dir = dir, .user = USER, .password = PASS,
                     .password_len = strlen(PASS)};
    char err[256];
    stele_status rc = stele_db_list(&l, json, err, sizeof err);
    CHECK(rc == STELE_OK, "db list: %s", err);
    return rc == STELE_OK ? 0 : -1;
}

/* A fresh store: owner, member bob, database proj with collection c, shared with bob. */
static int new_store(state *s, unsigned epoch)
{
    static const char *root;
    if (!root) root = test_tmpdir();
    if (s->dir[0]) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0) fprintf(stderr, "warning: cannot remove %s\n", s->dir);
    }
    snprintf(s->dir, sizeof s->dir, "%s/store-%u", root, epoch);
    stele_init_options io = {.store_dir = s->dir, .user = USER, .password = PASS,
                             .password_len = strlen(PASS), .kdf = STELE_KDF_INSECURE_TEST,
                             .segment_size = SEGMENT_BYTES, .checkpoint_every = 50};
    stele_login l = {.store_dir = s->dir, .user = USER, .password = PASS,
                     .password_len = strlen(PASS)};
    char err[512] = "";
    stele_status rc = stele_store_init(&io, err, sizeof err);
    if (rc == STELE_OK)
        rc = stele_user_add(&l, MEMBER, MEMBER_PASS, strlen(MEMBER_PASS),
                            STELE_KDF_INSECURE_TEST, SEGMENT_BYTES, err, sizeof err);
    if (rc == STELE_OK) rc = stele_db_create(&l, DB, SEGMENT_BYTES, err, sizeof err);
    CHECK(rc == STELE_OK, "setup: %s", err);
    if (rc != STELE_OK) return -1;
    stele_open_options o = open_opts(s->dir, USER, PASS, 0);
    stele *db = NULL;
    rc = stele_open(&o, &db);
    const char *cc = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}";
    if (rc == STELE_OK) rc = stele_txn(db, cc, strlen(cc), NULL, NULL);
    if (rc == STELE_OK) rc = stele_db_share(db, MEMBER, "reader");
    CHECK(rc == STELE_OK, "setup: %s", stele_errmsg(db));
    stele_close(db);
    char *json = NULL;
    if (rc != STELE_OK || login_json(s->dir, &json) != 0) return -1;
    const char *p = strstr(json, "\"name\":\"" DB "\",\"id\":\"");
    CHECK(p != NULL, "db list has no %s: %s", DB, json);
    if (p) snprintf(s->data, sizeof s->data, "%s/dbs/%.32s/data", s->dir, p + 16 + strlen(DB));
    stele_free(json);
    s->nacked = 0;
    return p ? 0 : -1;
}

/* ---------------------------------------------------------------- checks */

static uint64_t stat_u64(const char *json, const char *from, const char *key)
{
    const char *p = from ? strstr(json, from) : json;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *q = p ? strstr(p, pat) : NULL;
    return q ? strtoull(q + strlen(pat), NULL, 10) : UINT64_MAX;
}

/* No files warning; returns how many files data/ must hold: the segments, the
 * fragments, the two manifest copies and the key slot file. */
static uint64_t check_files(state *s, stele *db, unsigned round)
{
    char *json = NULL;
    if (stele_stat(db, &json) != STELE_OK) {
        CHECK(0, "round %u: stat: %s", round, stele_errmsg(db));
        return 0;
    }
    const char *w = strstr(json, "\"files_warning\":");
    CHECK(w && strncmp(w + 16, "null", 4) == 0, "round %u (%s): files warning: %.300s", round,
          s->last, w ? w : json);
    uint64_t want = stat_u64(json, NULL, "segments") + stat_u64(json, "\"snapshot\":",
                                                                "fragments") + 3;
    stele_free(json);
    return want;
}

/* After the writer closed (a writer prepares its next segment as "<id>.tmp" ahead of
 * time and removes it at close): exactly `want` files, each a 32-hex-digit name. */
static void check_listing(state *s, uint64_t want, unsigned round)
{
    DIR *d = opendir(s->data);
    struct dirent *de;
    uint64_t n = 0;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        n++;
        CHECK(strlen(de->d_name) == 32 && strspn(de->d_name, "0123456789abcdef") == 32,
              "round %u (%s): unknown file data/%s after recovery", round, s->last, de->d_name);
    }
    if (d) closedir(d);
    CHECK(n == want, "round %u (%s): %llu files in data/, expected %llu (segments, fragments, "
          "2 manifest copies, key slots)", round, s->last, (unsigned long long)n,
          (unsigned long long)want);
}

static void check_docs(state *s, stele *db, unsigned round)
{
    int bad = 0;
    for (size_t i = 0; i < s->nacked && bad < 5; i++) {
        char id[32], want[48], *json = NULL;
        snprintf(id, sizeof id, "d%llu", (unsigned long long)s->acked[i]);
        snprintf(want, sizeof want, "\"v\":%llu", (unsigned long long)s->acked[i]);
        stele_status rc = stele_doc_get(db, "c", id, 0, &json);
        if (rc != STELE_OK || !strstr(json, want)) {
            CHECK(0, "round %u (%s): acknowledged document %s: %s", round, s->last, id,
                  rc != STELE_OK ? stele_errmsg(db) : json);
            bad++;
        }
        stele_free(json);
    }
}

/* The state from the snapshot equals the state derived from the whole log. */
static void check_rebuild(state *s, const char *digest, unsigned round)
{
    stele_open_options o = open_opts(s->dir, USER, PASS, 1);
    o.rebuild = 1;
    stele *db = NULL;
    char rebuilt[65] = "";
    stele_status rc = stele_open(&o, &db);
    if (rc == STELE_OK) rc = stele_docs_digest(db, rebuilt);
    CHECK(rc == STELE_OK && strcmp(digest, rebuilt) == 0,
          "round %u (%s): the snapshot's state differs from the log's (%s)", round, s->last,
          rc == STELE_OK ? "digests differ" : stele_errmsg(db));
    stele_close(db);
}

/* Bob opens the database or has no access; nothing else. */
static void check_member(state *s, unsigned round)
{
    stele_open_options o = open_opts(s->dir, MEMBER, MEMBER_PASS, 1);
    o.db = USER "/" DB;
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    CHECK(rc == STELE_OK || rc == STELE_EACCESS, "round %u (%s): bob's open: %s", round,
          s->last, stele_errmsg(db));
    stele_close(db);
}

/* Reopens for writing (recovering) and checks everything. */
static int recover_and_check(state *s, unsigned round)
{
    stele_open_options o = open_opts(s->dir, USER, PASS, 0);
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    if (rc != STELE_OK) {
        CHECK(0, "round %u (%s): reopen failed: %s", round, s->last, stele_errmsg(db));
        stele_close(db);
        return -1;
    }
    check_docs(s, db, round);
    uint64_t want = check_files(s, db, round);
    char *rep = NULL, digest[65] = "";
    CHECK(stele_verify(db, 0, &rep) == STELE_OK, "round %u (%s): verify: %s", round, s->last,
          stele_errmsg(db));
    stele_free(rep);
    CHECK(stele_docs_digest(db, digest) == STELE_OK, "digest: %s", stele_errmsg(db));
    CHECK(stele_close(db) == STELE_OK, "round %u: clean close failed", round);
    check_listing(s, want, round);
    check_rebuild(s, digest, round);
    check_member(s, round);
    s->rounds_checked++;
    return test_checks_failed ? -1 : 0;
}

/* ----------------------------------------------------------------- rounds */

/* Chooses how to kill: OP_KINDS = at a random moment, OP_ANY = inside stele_open, else
 * inside that operation. */
static uint32_t pick_mode(int after_chain)
{
    uint64_t r = test_rand() % 8;
    if (after_chain && r < 4) return OP_ANY;
    return r < 2 ? OP_KINDS : r < 4 ? OP_SNAPSHOT : r < 6 ? OP_ROTATE : OP_REENCRYPT;
}

static int crash_writer(state *s, unsigned round, uint32_t mode)
{
    uint64_t span = mode == OP_KINDS ? (uint64_t)KILL_MAX_US * 1000u : s->op_ns[mode];
    uint64_t delay_ns = test_rand() % (span + span / 5 + 1);
    uint64_t seed = test_rand(), base = s->next_base;
    s->next_base += 1000000u; /* numbers never repeat, written or not */
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        writer_main(s->dir, fds[1], seed, base,
                    mode == OP_KINDS || mode == OP_ANY ? OP_ANY : mode);
    }
    close(fds[1]);
    round_io r = {.s = s, .pipe = {.fd = fds[0], .msg_bytes = sizeof(msg), .take = take}};
    r.pipe.ctx = &r;
    wait_for_kill(&r, mode, delay_ns);
    int st;
    if (!test_pipe_kill(&r.pipe, pid, &st)) {
        CHECK(0, "round %u: the writer ended by itself (status %d) before the kill", round,
              WIFEXITED(st) ? WEXITSTATUS(st) : st);
        return -1;
    }
    if (!r.opened_at) s->kills_in_op[OP_ANY]++;
    else if (r.in_op) s->kills_in_op[r.in_op]++;
    snprintf(s->last, sizeof s->last, "killed %s after %llu us, %s", mode == OP_KINDS
             ? "at random" : mode == OP_ANY ? "in open" : op_name[mode],
             (unsigned long long)(delay_ns / 1000),
             !r.opened_at ? "inside open" : r.in_op ? op_name[r.in_op] : "between operations");
    return 0;
}

static void test_kill9_multifile(void)
{
    const char *env = getenv("STELE_MULTIFILE_ROUNDS");
    unsigned rounds = env ? (unsigned)strtoul(env, NULL, 10) : 40;
    state s = {.next_base = 1};
    for (int i = 0; i < OP_KINDS; i++) s.op_ns[i] = 20000000;
    s.acked = calloc(DOCS_MAX, sizeof *s.acked);
    REQUIRE(s.acked, "out of memory");
    uint64_t t0 = test_now_ns();
    int chained = 0;
    unsigned done = 0;
    for (unsigned i = 0; i < rounds; i++, done++) {
        if (i % EPOCH_ROUNDS == 0 && new_store(&s, i / EPOCH_ROUNDS) != 0) break;
        int stop = crash_writer(&s, i, pick_mode(chained)) != 0;
        /* Sometimes the next writer, not the parent, finds the crash: it recovers the
         * interrupted intent inside its own stele_open, where the next kill may land. */
        chained = test_rand() % 4 == 0 && (i + 1) % EPOCH_ROUNDS != 0 && i + 1 < rounds;
        if (!stop && !chained) stop = recover_and_check(&s, i) != 0;
        if (stop) {
            fprintf(stderr, "stopped at round %u; rerun with STELE_SEED=%llu STELE_KEEP_TMP=1 "
                            "to keep the store (%s)\n", i, (unsigned long long)test_seed(),
                    s.dir);
            break;
        }
    }
    fprintf(stderr, "  %u rounds (%u checked) in %.1f s: %zu documents acknowledged in the "
            "last store; kills inside open %u, snapshot %u, rotation %u, re-encryption %u\n",
            done, s.rounds_checked, (double)(test_now_ns() - t0) / 1e9, s.nacked,
            s.kills_in_op[OP_ANY], s.kills_in_op[OP_SNAPSHOT], s.kills_in_op[OP_ROTATE],
            s.kills_in_op[OP_REENCRYPT]);
    CHECK(done == rounds, "only %u of %u rounds ran", done, rounds);
    CHECK(rounds < 30 || (s.kills_in_op[OP_SNAPSHOT] > 0 && s.kills_in_op[OP_ROTATE] > 0 &&
                          s.kills_in_op[OP_REENCRYPT] > 0),
          "no kill landed inside one of the operations");
    free(s.acked);
}

int main(void)
{
    test_seed();
    signal(SIGPIPE, SIG_IGN);
    if (crypto_init() != 0) return 1;
    TEST_RUN(test_kill9_multifile);
    return test_summary();
}
