/*
 * crash_test.c — kill -9 loop. Layer: tests/crash.
 *
 * Each round forks a writer that opens the database (STELE_DURABLE_FSYNC, or GROUP with
 * several threads) and appends small records forever. After every acknowledged append
 * (stele_append returned STELE_OK) the writer sends the LSN and the SHA-256 of the
 * payload to the parent through a pipe; each message is one write() of less than
 * PIPE_BUF bytes, so messages from several threads never interleave and a kill never
 * leaves half a message. The parent kills the writer with SIGKILL after a random
 * 0-30 ms, or, in some rounds, at a random moment inside stele_open (whose duration it
 * learns from earlier rounds), which is where recovery of the previous crash runs.
 * Then the parent reopens for writing (which recovers) and asserts:
 *   - every acknowledged LSN is present with exactly the acknowledged payload;
 *   - the head is at least the last acknowledged LSN;
 *   - stele_verify passes;
 *   - the unclean shutdown was answered by a recovery record (STELE_REC_RECOVERY) whose
 *     recovery point keeps every acknowledged record.
 * In about a third of the rounds the parent does not reopen: the next writer finds the
 * unclean shutdown and recovers inside its own stele_open, where its kill may land, so
 * crashes during recovery are covered too; the checks then cover both rounds.
 * The database lives on across rounds (crash after crash, segment rolls every ~250
 * records with 64 KiB segments, checkpoints every 50 records) and is renewed every
 * EPOCH_ROUNDS rounds to keep each round's verification short.
 *
 * STELE_CRASH_ROUNDS sets the number of rounds (default 200; `make crash-long` 2000).
 * STELE_SEED replays the parent's choices (kill times differ, being real time).
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "stele.h"
#include "testutil.h"

#define USER "crash"
#define PASS "crash-test-password"
#define SEGMENT_BYTES 65536u
#define CHECKPOINT_EVERY 50u
#define EPOCH_ROUNDS 25
#define KILL_MAX_US 30000u
#define PAYLOAD_MAX_BYTES 600u
#define THREADS_MAX 4

enum { MARK_ACK = 0, MARK_OPENING = 1, MARK_OPENED = 2 };

/* One pipe message; sizeof < PIPE_BUF so that write() is atomic. */
typedef struct msg {
    uint32_t mark;
    uint32_t len;
    uint64_t lsn;
    uint8_t digest[32];
} msg;
_Static_assert(sizeof(msg) == 48, "message layout");

/* ----------------------------------------------------------- the writer */

typedef struct writer {
    stele *db;
    int fd;
    uint64_t rng;
} writer;

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void send_msg(int fd, const msg *m)
{
    if (write(fd, m, sizeof *m) != (ssize_t)sizeof *m) _exit(31);
}

static void *writer_loop(void *arg)
{
    writer *w = arg;
    uint8_t p[PAYLOAD_MAX_BYTES];
    for (;;) {
        size_t len = (size_t)(xorshift(&w->rng) % PAYLOAD_MAX_BYTES);
        if (xorshift(&w->rng) % 16 == 0) len = 0;
        for (size_t i = 0; i < len; i++) p[i] = (uint8_t)xorshift(&w->rng);
        msg m = {.mark = MARK_ACK, .len = (uint32_t)len};
        stele_status rc = stele_append(w->db, p, len, NULL, &m.lsn, NULL);
        if (rc != STELE_OK) {
            fprintf(stderr, "writer: append failed: %s\n", stele_errmsg(w->db));
            _exit(20);
        }
        crypto_sha256(p, len, m.digest);
        send_msg(w->fd, &m);
    }
    return NULL;
}

static stele_init_options init_opts(const char *dir)
{
    stele_init_options o = {.store_dir = dir, .user = USER, .password = PASS,
                            .password_len = strlen(PASS), .kdf = STELE_KDF_INSECURE_TEST,
                            .segment_size = SEGMENT_BYTES, .checkpoint_every = CHECKPOINT_EVERY};
    return o;
}

static stele_open_options open_opts(const char *dir, int durability, uint32_t delay_us)
{
    stele_open_options o = {.store_dir = dir, .user = USER, .password = PASS,
                            .password_len = strlen(PASS), .durability = durability,
                            .group_max_delay_us = delay_us};
    return o;
}

/* The child: never returns, never runs the parent's atexit hooks. */
static _Noreturn void writer_main(const char *dir, int fd, uint64_t seed, int threads,
                                  uint32_t delay_us)
{
    msg m = {.mark = MARK_OPENING};
    send_msg(fd, &m);
    stele_open_options o = open_opts(dir, threads > 1 ? STELE_DURABLE_GROUP : STELE_DURABLE_FSYNC,
                                     delay_us);
    stele *db = NULL;
    if (stele_open(&o, &db) != STELE_OK) {
        fprintf(stderr, "writer: open failed: %s\n", stele_errmsg(db));
        _exit(10);
    }
    m.mark = MARK_OPENED;
    send_msg(fd, &m);
    static writer w[THREADS_MAX];
    pthread_t t[THREADS_MAX];
    for (int i = 0; i < threads; i++) {
        w[i] = (writer){db, fd, seed * 31 + (uint64_t)i + 1};
        if (i > 0 && pthread_create(&t[i], NULL, writer_loop, &w[i]) != 0) _exit(11);
    }
    writer_loop(&w[0]);
    _exit(12);
}

/* ----------------------------------------------------------- the parent */

typedef struct acked {
    uint8_t digest[32];
    uint32_t len;
    uint8_t have;
} acked;

typedef struct state {
    char dir[600];
    acked *ack;          /* indexed by LSN */
    size_t cap;
    uint64_t max_acked;
    uint64_t start_head; /* head at the last check (every later ack must be after it) */
    uint64_t open_ns;    /* learned duration of the writer's stele_open */
    int unclean;         /* a writer acknowledged an append since the last check */
    char last[128];      /* how the last writer died, for messages */
    /* statistics */
    unsigned kills_in_open, kills_in_recovering_open, recoveries, rounds_group;
    uint64_t acks_total;
} state;

typedef struct round_io {
    state *s;
    test_pipe pipe;
    uint64_t opening_at, opened_at;
    unsigned acks;
    int dup_lsn; /* an LSN acknowledged twice: reported once */
} round_io;

static int remember(state *s, const msg *m)
{
    if (m->lsn >= s->cap) {
        size_t nc = (size_t)m->lsn * 2 + 1024;
        acked *a = realloc(s->ack, nc * sizeof *a);
        if (!a) abort();
        memset(a + s->cap, 0, (nc - s->cap) * sizeof *a);
        s->ack = a;
        s->cap = nc;
    }
    acked *a = &s->ack[m->lsn];
    if (a->have) return -1;
    memcpy(a->digest, m->digest, 32);
    a->len = m->len;
    a->have = 1;
    if (m->lsn > s->max_acked) s->max_acked = m->lsn;
    return 0;
}

/* One whole message from the pipe (test_pipe_pump's callback; ctx is the round). */
static void take(void *ctx, const uint8_t *bytes)
{
    round_io *r = ctx;
    state *s = r->s;
    msg mm, *m = &mm;
    memcpy(m, bytes, sizeof mm);
    if (m->mark == MARK_OPENING) r->opening_at = test_now_ns();
    else if (m->mark == MARK_OPENED) r->opened_at = test_now_ns();
    else {
        r->acks++;
        CHECK(m->lsn > s->start_head, "acknowledged LSN %llu is not after the round's start %llu",
              (unsigned long long)m->lsn, (unsigned long long)s->start_head);
        if (remember(s, m) != 0 && !r->dup_lsn++)
            CHECK(0, "LSN %llu was acknowledged twice", (unsigned long long)m->lsn);
    }
}

/* Consumes messages until delay_ns after now, or after the OPENING message. */
static void wait_until(round_io *r, uint64_t delay_ns, int from_opening)
{
    uint64_t start = test_now_ns();
    test_pipe_until(&r->pipe, from_opening ? &r->opening_at : &start, delay_ns);
}

static int new_epoch(state *s, unsigned epoch)
{
    if (s->dir[0]) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0) fprintf(stderr, "warning: cannot remove %s\n", s->dir);
    }
    static const char *root;
    if (!root) root = test_tmpdir();
    snprintf(s->dir, sizeof s->dir, "%s/epoch-%u", root, epoch);
    stele_init_options o = init_opts(s->dir);
    char err[512] = "";
    stele_status rc = stele_store_init(&o, err, sizeof err);
    CHECK(rc == STELE_OK, "store init: %s", err);
    if (s->ack) memset(s->ack, 0, s->cap * sizeof *s->ack);
    s->max_acked = 0;
    s->start_head = 0;
    return rc == STELE_OK ? 0 : -1;
}

/* Checks the recovery record at the head, if the round requires or allows one. */
static void check_recovery(state *s, stele *db, int required, unsigned round)
{
    uint64_t head = stele_head(db);
    stele_record r;
    int is_rec = head > s->start_head && stele_get(db, head, &r) == STELE_OK &&
                 r.kind == STELE_REC_RECOVERY;
    if (required)
        CHECK(is_rec, "round %u: a writer acknowledged appends and was killed, but no "
                      "recovery record was appended (head %llu)",
              round, (unsigned long long)head);
    if (!is_rec) {
        CHECK(head == s->start_head, "round %u: head moved from %llu to %llu without recovery",
              round, (unsigned long long)s->start_head, (unsigned long long)head);
        return;
    }
    s->recoveries++;
    json_t *j = json_loadb((const char *)r.payload, r.payload_len, 0, NULL);
    json_t *rp = j ? json_object_get(j, "recovery_point_lsn") : NULL;
    CHECK(json_is_integer(rp) && (uint64_t)json_integer_value(rp) == head - 1,
          "round %u: recovery record's recovery_point_lsn is not the LSN before it", round);
    CHECK(head - 1 >= s->max_acked, "round %u: recovery point %llu is before acknowledged %llu",
          round, (unsigned long long)(head - 1), (unsigned long long)s->max_acked);
    json_decref(j);
}

/* Every acknowledged LSN of this round, and a sample of older ones, reads back exactly. */
static void check_acked(state *s, stele *db, unsigned round)
{
    uint64_t head = stele_head(db);
    CHECK(head >= s->max_acked, "round %u: head %llu is before the last acknowledged LSN %llu",
          round, (unsigned long long)head, (unsigned long long)s->max_acked);
    int bad = 0;
    for (uint64_t lsn = 1; lsn <= s->max_acked && bad < 5; lsn++) {
        if (!s->ack[lsn].have) continue;
        if (lsn <= s->start_head && test_rand() % 8 != 0) continue; /* sample older rounds */
        stele_record r;
        uint8_t d[32];
        stele_status rc = stele_get(db, lsn, &r);
        if (rc == STELE_OK) crypto_sha256(r.payload, r.payload_len, d);
        if (rc != STELE_OK || r.kind != STELE_REC_TXN || r.payload_len != s->ack[lsn].len ||
            memcmp(d, s->ack[lsn].digest, 32) != 0) {
            CHECK(0, "round %u: acknowledged LSN %llu %s", round, (unsigned long long)lsn,
                  rc != STELE_OK ? stele_errmsg(db) : "has another payload");
            bad++;
        }
    }
}

/* Starts a writer and kills it. 0, or -1 if the writer ended by itself. */
static int crash_writer(state *s, unsigned round)
{
    int in_open = test_rand() % 4 == 0;
    int threads = test_rand() % 3 == 0 ? 2 + (int)(test_rand() % (THREADS_MAX - 1)) : 1;
    uint32_t group_delay_us = (threads > 1 && test_rand() % 2) ? 200 : 0;
    uint64_t delay_ns = in_open ? test_rand() % (s->open_ns + s->open_ns / 5 + 1)
                                : (test_rand() % (KILL_MAX_US + 1)) * 1000u;
    uint64_t child_seed = test_rand();
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        writer_main(s->dir, fds[1], child_seed, threads, group_delay_us);
    }
    close(fds[1]);
    round_io r = {.s = s, .pipe = {.fd = fds[0], .msg_bytes = sizeof(msg), .take = take}};
    r.pipe.ctx = &r;
    wait_until(&r, delay_ns, in_open);
    int st;
    if (!test_pipe_kill(&r.pipe, pid, &st)) {
        CHECK(0, "round %u: the writer ended by itself (status %d) before the kill", round, st);
        return -1;
    }
    if (r.opening_at && r.opened_at) { /* learn how long an open takes */
        uint64_t d = r.opened_at - r.opening_at;
        s->open_ns = s->open_ns ? (s->open_ns * 7 + d) / 8 : d;
    }
    if (!r.opened_at) {
        s->kills_in_open++;
        s->kills_in_recovering_open += s->unclean;
    }
    s->unclean |= r.acks != 0; /* an acknowledged append marked the superblock unclean */
    s->rounds_group += threads > 1;
    s->acks_total += r.acks;
    snprintf(s->last, sizeof s->last, "%s, %d threads, killed after %llu us",
             in_open ? "in open" : "appending", threads, (unsigned long long)(delay_ns / 1000));
    return 0;
}

/* Reopens (recovering) and checks everything acknowledged since the last check. */
static int recover_and_check(state *s, unsigned round)
{
    stele_open_options o = open_opts(s->dir, STELE_DURABLE_FSYNC, 0);
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    if (rc != STELE_OK) {
        CHECK(0, "round %u (%s): reopen failed: %s", round, s->last, stele_errmsg(db));
        stele_close(db);
        return -1;
    }
    check_acked(s, db, round);
    check_recovery(s, db, s->unclean, round);
    char *rep = NULL;
    CHECK(stele_verify(db, 0, &rep) == STELE_OK, "round %u: verify: %s", round,
          stele_errmsg(db));
    stele_free(rep);
    CHECK(stele_checkpoint(db, NULL) == STELE_OK, "round %u: checkpoint: %s", round,
          stele_errmsg(db));
    s->start_head = stele_head(db);
    s->unclean = 0;
    CHECK(stele_close(db) == STELE_OK, "round %u: clean close failed", round);
    return test_checks_failed ? -1 : 0;
}

static void test_kill9_loop(void)
{
    const char *env = getenv("STELE_CRASH_ROUNDS");
    unsigned rounds = env ? (unsigned)strtoul(env, NULL, 10) : 200;
    state s = {.open_ns = 20000000};
    uint64_t t0 = test_now_ns();
    unsigned done = 0, checks = 0;
    /* On a loaded machine opens are slow and more kills land inside them: run extra
     * rounds (up to 3x) until enough appends were acknowledged to mean something. */
    unsigned limit = rounds;
    for (unsigned i = 0; i < limit; i++, done++) {
        if (i + 1 == limit && limit < 3 * rounds && s.acks_total <= rounds) limit++;
        if (i % EPOCH_ROUNDS == 0 && new_epoch(&s, i / EPOCH_ROUNDS) != 0) break;
        int stop = crash_writer(&s, i) != 0;
        /* Sometimes the next writer, not the parent, finds the crash: it then recovers
         * inside its own stele_open, where the next kill may land. */
        int chain = test_rand() % 3 == 0 && (i + 1) % EPOCH_ROUNDS != 0 && i + 1 < limit;
        if (!stop && !chain) {
            stop = recover_and_check(&s, i) != 0;
            checks++;
        }
        if (stop) {
            fprintf(stderr, "stopped at round %u; rerun with STELE_SEED=%llu STELE_KEEP_TMP=1 "
                            "to keep the store (%s)\n",
                    i, (unsigned long long)test_seed(), s.dir);
            break;
        }
    }
    fprintf(stderr,
            "  %u rounds (%u checked) in %.1f s: %llu acknowledged appends, %u kills inside "
            "open (%u of them while it recovered), %u recoveries seen, %u group-commit rounds, "
            "open takes ~%.1f ms\n",
            done, checks, (double)(test_now_ns() - t0) / 1e9, (unsigned long long)s.acks_total,
            s.kills_in_open, s.kills_in_recovering_open, s.recoveries, s.rounds_group,
            (double)s.open_ns / 1e6);
    CHECK(done == limit, "only %u of %u rounds ran", done, limit);
    CHECK(rounds < 20 || s.acks_total > rounds, "too few appends were acknowledged (%llu)",
          (unsigned long long)s.acks_total);
    CHECK(rounds < 20 || s.kills_in_open > 0, "no round killed the writer inside open");
    free(s.ack);
}

int main(void)
{
    test_seed();
    signal(SIGPIPE, SIG_IGN);
    if (crypto_init() != 0) return 1;
    TEST_RUN(test_kill9_loop);
    return test_summary();
}
