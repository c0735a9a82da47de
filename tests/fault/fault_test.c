/*
 * fault_test.c — fail the N-th I/O call, for every N, and the power-cut simulator.
 * Layer: tests/fault. Uses the fault hooks of src/util/io.h in-process.
 *
 * For each fault kind and each N from 1 to the number of calls of that kind's class a
 * workload makes (learnt with io_fault_calls), a copy of a template store runs the
 * workload with the fault armed at the N-th call:
 *     open writable, append K records (a segment roll included), checkpoint, close;
 *     reopen writable and read every record back; verify; close.
 * Then the fault is disarmed and the store reopened (which recovers). Asserted:
 *   - every call succeeds or fails with a non-empty message (stele_close has none);
 *     an ENOSPC fault that fails a call says STELE_ENOSPC, or STELE_EFAILED mentioning
 *     disk space;
 *   - after a write or sync fault fails an append or a checkpoint, the handle is
 *     sticky-failed: the next append returns STELE_EFAILED;
 *   - a read returns the right bytes or an error (STELE_ECORRUPT / STELE_EIO), never
 *     other bytes, with or without a fault armed;
 *   - after the disarmed reopen every record acknowledged under FSYNC is there with its
 *     payload, every record there is one that was appended, and verify passes.
 * The workload runs twice: from a cleanly closed store, and from a store whose writer
 * died without closing, so that the first open recovers under the armed fault.
 *
 * Power loss: a forked child tracks unsynced writes (io_track_unsynced), appends under
 * FSYNC and then under NONE (with a checkpoint, which syncs, in between), and calls
 * io_sim_powerloss before _exit without closing. The reopen must keep everything that
 * was acknowledged durable (FSYNC appends, and NONE appends before an acknowledged
 * checkpoint), verify, and record the recovery.
 * Seeds: STELE_SEED replays the power-loss rounds; the fault sweep is deterministic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "stele.h"
#include "testutil.h"
#include "util/io.h"

#define USER "fault"
#define PASS "fault-test-password"
#define SEGMENT_BYTES 65536u
#define K_RECORDS 14         /* ~5 KB each: one segment roll during the workload */
#define TEMPLATE_RECORDS 6   /* appended by the writer that dies in the unclean template */
#define MAX_LSN 512

static const char *kind_name[] = {"none", "EIO write", "ENOSPC write", "torn write",
                                  "EIO sync", "EIO read", "bit-flip read"};

/* ------------------------------------------------------------ payloads */

/* Payload i: "rec:NNNNNN:" then bytes derived from i. Any record can be checked.
 * The unclean template's records (1000..) are sized so that its last, acknowledged
 * record starts at offset 32688: a bit flipped in the middle of a 64 KiB read of the
 * segment (where io.c flips) then lands in that record's header. */
static size_t gen_len(unsigned i)
{
    if (i >= 1000 && i < 1000 + TEMPLATE_RECORDS)
        return i + 1 < 1000 + TEMPLATE_RECORDS ? 6298 : 3000; /* 5 frames of 6512 bytes */
    return 4000 + (i * 389u) % 2000u;
}

static void gen_payload(unsigned i, uint8_t *out, size_t len)
{
    char head[16];
    snprintf(head, sizeof head, "rec:%06u:", i);
    uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
    for (size_t j = 0; j < len; j++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[j] = j < 11 ? (uint8_t)head[j] : (uint8_t)x;
    }
}

/* 1 if p is exactly payload i for the index it names. */
static int payload_valid(const uint8_t *p, size_t len, unsigned *index)
{
    unsigned i;
    char head[12];
    if (len < 11) return 0;
    memcpy(head, p, 11);
    head[11] = 0;
    if (sscanf(head, "rec:%6u:", &i) != 1 || gen_len(i) != len) return 0;
    uint8_t *want = malloc(len);
    if (!want) return 0;
    gen_payload(i, want, len);
    int ok = memcmp(want, p, len) == 0;
    free(want);
    if (ok && index) *index = i;
    return ok;
}

/* ------------------------------------------------------------- stores */

static stele_open_options opts(const char *dir, int durability)
{
    stele_open_options o = {.store_dir = dir, .user = USER, .password = PASS,
                            .password_len = strlen(PASS), .durability = durability};
    return o;
}

static int make_store(const char *dir)
{
    stele_init_options o = {.store_dir = dir, .user = USER, .password = PASS,
                            .password_len = strlen(PASS), .kdf = STELE_KDF_INSECURE_TEST,
                            .segment_size = SEGMENT_BYTES, .checkpoint_every = 1000};
    char err[512];
    stele_status rc = stele_store_init(&o, err, sizeof err);
    if (rc != STELE_OK) fprintf(stderr, "store init: %s\n", err);
    return rc == STELE_OK ? 0 : -1;
}

static int copy_tree(const char *from, const char *to)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    return system(cmd) == 0 ? 0 : -1;
}

/* A store whose writer appended TEMPLATE_RECORDS (all acknowledged under FSYNC) and
 * died without closing. */
static int make_unclean_template(const char *dir)
{
    if (make_store(dir) != 0) return -1;
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        stele_open_options o = opts(dir, STELE_DURABLE_FSYNC);
        stele *db = NULL;
        if (stele_open(&o, &db) != STELE_OK) _exit(1);
        for (unsigned i = 0; i < TEMPLATE_RECORDS; i++) {
            uint8_t p[8000];
            gen_payload(1000 + i, p, gen_len(1000 + i));
            uint64_t lsn = 0;
            if (stele_append(db, p, gen_len(1000 + i), NULL, &lsn, NULL) != STELE_OK ||
                lsn != i + 1)
                _exit(2);
        }
        _exit(0); /* no stele_close: unclean */
    }
    int st = -1;
    waitpid(pid, &st, 0);
    return (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 0 : -1;
}

/* ---------------------------------------------------------- the sweep */

/* What one run learnt: acknowledged[lsn] = payload index + 1 (0 = not acknowledged). */
typedef struct run {
    io_fault_kind kind;
    uint64_t nth;
    int variant;
    unsigned ack[MAX_LSN];
    char where[160];
    int problems;
} run;

#define RUN_CHECK(r, cond, ...)                                                           \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            if ((r)->problems++ < 3) {                                                    \
                char m_[400];                                                             \
                snprintf(m_, sizeof m_, __VA_ARGS__);                                     \
                CHECK(0, "%s fault at call %llu (%s start): %s", kind_name[(r)->kind],    \
                      (unsigned long long)(r)->nth, (r)->variant ? "unclean" : "clean", m_); \
            }                                                                             \
        } else {                                                                          \
            test_checks_passed++;                                                         \
        }                                                                                 \
    } while (0)

static int is_write_kind(io_fault_kind k)
{
    return k == IO_FAULT_EIO_WRITE || k == IO_FAULT_ENOSPC_WRITE || k == IO_FAULT_TORN_WRITE ||
           k == IO_FAULT_EIO_SYNC;
}

/* Common checks on the status of one call made while the fault was armed. */
static void check_call(run *r, stele *db, stele_status rc, int fired_before, const char *what)
{
    if (rc == STELE_OK) return;
    const char *msg = stele_errmsg(db);
    RUN_CHECK(r, msg && msg[0], "%s failed (%d) without a message", what, rc);
    int fired_here = !fired_before && io_fault_fired();
    if (r->kind == IO_FAULT_ENOSPC_WRITE && fired_here)
        RUN_CHECK(r, rc == STELE_ENOSPC || (rc == STELE_EFAILED && strstr(msg, "disk space")),
                  "%s: the ENOSPC fault came back as %d: '%s'", what, rc, msg);
    if (!io_fault_fired())
        RUN_CHECK(r, 0, "%s failed (%d: %s) before the fault fired", what, rc, msg);
}

/* After a write/sync fault failed a write, the handle must be sticky-failed. The probe
 * is a valid payload, so that if it is (wrongly) accepted the rest of the run still
 * judges the data correctly. */
static void check_sticky(run *r, stele *db, const char *what)
{
    uint8_t p[8000];
    unsigned idx = 500;
    gen_payload(idx, p, gen_len(idx));
    uint64_t lsn = 0;
    stele_status rc = stele_append(db, p, gen_len(idx), NULL, &lsn, NULL);
    if (rc == STELE_OK && lsn < MAX_LSN) r->ack[lsn] = idx + 1;
    RUN_CHECK(r, rc == STELE_EFAILED,
              "%s failed under a %s fault, but the next append returned %d (LSN %llu), not "
              "STELE_EFAILED: the failure is not sticky",
              what, kind_name[r->kind], rc, (unsigned long long)lsn);
}

/* Reads every record; a read returns the right bytes or an error. */
static void read_back(run *r, stele *db, int armed)
{
    uint64_t head = stele_head(db);
    for (uint64_t lsn = 1; lsn <= head; lsn++) {
        stele_record rec;
        int fired = io_fault_fired();
        stele_status rc = stele_get(db, lsn, &rec);
        if (rc != STELE_OK) {
            RUN_CHECK(r, armed, "LSN %llu unreadable without a fault: %s",
                      (unsigned long long)lsn, stele_errmsg(db));
            RUN_CHECK(r, rc == STELE_ECORRUPT || rc == STELE_EIO,
                      "read of LSN %llu failed with %d", (unsigned long long)lsn, rc);
            check_call(r, db, rc, fired, "read");
            continue;
        }
        unsigned idx = 0;
        RUN_CHECK(r, rec.lsn == lsn, "read of LSN %llu returned LSN %llu",
                  (unsigned long long)lsn, (unsigned long long)rec.lsn);
        if (rec.kind == STELE_REC_TXN)
            RUN_CHECK(r, payload_valid(rec.payload, rec.payload_len, &idx),
                      "LSN %llu returned bytes that were never appended (%zu bytes)",
                      (unsigned long long)lsn, rec.payload_len);
        if (lsn < MAX_LSN && r->ack[lsn])
            RUN_CHECK(r, rec.kind == STELE_REC_TXN && idx + 1 == r->ack[lsn],
                      "acknowledged LSN %llu holds payload %u, not %u (the acknowledged record was "
                      "lost)", (unsigned long long)lsn,
                      idx, r->ack[lsn] - 1);
    }
}

/* The workload, with the fault armed. */
static void workload(run *r, const char *dir)
{
    stele_open_options o = opts(dir, STELE_DURABLE_FSYNC);
    stele *db = NULL;
    int fired = io_fault_fired();
    stele_status rc = stele_open(&o, &db);
    check_call(r, db, rc, fired, "open");
    if (rc == STELE_OK) {
        int failed = 0;
        for (unsigned i = 0; i < K_RECORDS && !failed; i++) {
            uint8_t p[8000];
            size_t len = gen_len(i);
            gen_payload(i, p, len);
            uint64_t lsn = 0;
            fired = io_fault_fired();
            rc = stele_append(db, p, len, NULL, &lsn, NULL);
            check_call(r, db, rc, fired, "append");
            if (rc == STELE_OK && lsn < MAX_LSN) r->ack[lsn] = i + 1;
            if (rc != STELE_OK) {
                failed = 1;
                if (is_write_kind(r->kind)) check_sticky(r, db, "an append");
            }
        }
        fired = io_fault_fired();
        rc = stele_checkpoint(db, NULL);
        check_call(r, db, rc, fired, "checkpoint");
        if (rc != STELE_OK && !failed && is_write_kind(r->kind))
            check_sticky(r, db, "a checkpoint");
    }
    stele_close(db);
    db = NULL;
    fired = io_fault_fired();
    rc = stele_open(&o, &db);
    check_call(r, db, rc, fired, "reopen");
    if (rc == STELE_OK) {
        read_back(r, db, 1);
        fired = io_fault_fired();
        char *rep = NULL;
        rc = stele_verify(db, 0, &rep);
        stele_free(rep);
        check_call(r, db, rc, fired, "verify");
    }
    stele_close(db);
}

/* After the fault: reopen disarmed; nothing acknowledged is lost, verify passes. */
static void after_fault(run *r, const char *dir)
{
    stele_open_options o = opts(dir, STELE_DURABLE_FSYNC);
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    RUN_CHECK(r, rc == STELE_OK, "disarmed reopen failed: %s", stele_errmsg(db));
    if (rc == STELE_OK) {
        uint64_t head = stele_head(db);
        for (uint64_t lsn = 1; lsn < MAX_LSN; lsn++)
            if (r->ack[lsn])
                RUN_CHECK(r, lsn <= head, "acknowledged LSN %llu (payload %u) is gone; head %llu",
                          (unsigned long long)lsn, r->ack[lsn] - 1, (unsigned long long)head);
        read_back(r, db, 0);
        char *rep = NULL;
        RUN_CHECK(r, stele_verify(db, 0, &rep) == STELE_OK, "verify after recovery: %s",
                  stele_errmsg(db));
        stele_free(rep);
    }
    RUN_CHECK(r, stele_close(db) == STELE_OK, "close after recovery failed");
}

static void init_run(run *r, io_fault_kind kind, uint64_t nth, int variant)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->nth = nth;
    r->variant = variant;
    if (variant) /* the unclean template's writer acknowledged these */
        for (unsigned i = 0; i < TEMPLATE_RECORDS; i++) r->ack[i + 1] = 1000 + i + 1;
}

static void sweep(const char *tmpl, const char *work, int variant)
{
    static const io_fault_kind kinds[] = {IO_FAULT_EIO_WRITE, IO_FAULT_ENOSPC_WRITE,
                                          IO_FAULT_TORN_WRITE, IO_FAULT_EIO_SYNC,
                                          IO_FAULT_EIO_READ, IO_FAULT_BITFLIP_READ};
    static run r;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        REQUIRE(copy_tree(tmpl, work) == 0, "copy template");
        init_run(&r, kinds[k], UINT64_MAX, variant);
        io_fault_arm(kinds[k], UINT64_MAX); /* count the calls without failing any */
        workload(&r, work);
        uint64_t calls = io_fault_calls(kinds[k]);
        io_fault_disarm();
        CHECK(r.problems == 0, "the workload has problems without a fault");
        CHECK(calls > 5, "%s: only %llu calls", kind_name[kinds[k]], (unsigned long long)calls);
        unsigned fired = 0, failed_runs = 0;
        for (uint64_t n = 1; n <= calls; n++) {
            REQUIRE(copy_tree(tmpl, work) == 0, "copy template");
            init_run(&r, kinds[k], n, variant);
            io_fault_arm(kinds[k], n);
            workload(&r, work);
            fired += io_fault_fired();
            io_fault_disarm();
            after_fault(&r, work);
            failed_runs += r.problems > 0;
        }
        CHECK(fired == calls, "%s: the fault fired in %u of %llu runs", kind_name[kinds[k]],
              fired, (unsigned long long)calls);
        fprintf(stderr, "  %s start, %-13s: %3llu points of failure, %u with problems\n",
                variant ? "unclean" : "clean", kind_name[kinds[k]], (unsigned long long)calls,
                failed_runs);
    }
}

static char g_clean[700], g_unclean[700], g_work[700];

static void test_fault_sweep_clean_start(void) { sweep(g_clean, g_work, 0); }
static void test_fault_sweep_unclean_start(void) { sweep(g_unclean, g_work, 1); }

/* ------------------------------------------------------------ power loss */

typedef struct pl_msg {
    uint64_t lsn;
    uint32_t index; /* payload index, or UINT32_MAX for "everything so far is durable" */
    uint32_t durable;
} pl_msg;

static void pl_send(int fd, uint64_t lsn, uint32_t index, uint32_t durable)
{
    pl_msg m = {lsn, index, durable};
    if (write(fd, &m, sizeof m) != (ssize_t)sizeof m) _exit(40);
}

/* Child: FSYNC session (closed cleanly or not), then a NONE session with a checkpoint
 * in the middle; then the power goes. Never returns. */
static _Noreturn void pl_child(const char *dir, int fd, uint64_t seed)
{
    uint64_t x = seed;
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    io_track_unsynced(1);
    unsigned idx = 0;
    int sessions = 1 + (int)(NEXT() % 2); /* 1: FSYNC only; 2: FSYNC, then NONE */
    for (int s = 0; s < sessions; s++) {
        int none = s == 1;
        stele_open_options o = opts(dir, none ? STELE_DURABLE_NONE : STELE_DURABLE_FSYNC);
        stele *db = NULL;
        if (stele_open(&o, &db) != STELE_OK) _exit(41);
        unsigned n = 5 + (unsigned)(NEXT() % 25), ck_at = none ? (unsigned)(NEXT() % n) : n;
        for (unsigned i = 0; i < n; i++, idx++) {
            uint8_t p[8000];
            size_t len = gen_len(idx);
            gen_payload(idx, p, len);
            uint64_t lsn = 0;
            if (stele_append(db, p, len, NULL, &lsn, NULL) != STELE_OK) _exit(42);
            pl_send(fd, lsn, idx, !none);
            if (i == ck_at) { /* a checkpoint is synced: everything before it is durable */
                if (stele_checkpoint(db, &lsn) != STELE_OK) _exit(43);
                pl_send(fd, lsn, UINT32_MAX, 1);
            }
        }
        if (s + 1 < sessions && stele_close(db) != STELE_OK) _exit(44);
    }
    io_sim_powerloss(NEXT());
    _exit(0); /* the last handle is abandoned: the process "dies" with the power */
#undef NEXT
}

static void test_power_loss(void)
{
    char work[760];
    snprintf(work, sizeof work, "%s-pl", g_work);
    unsigned rounds = 30, lost_total = 0;
    for (unsigned round = 0; round < rounds; round++) {
        REQUIRE(copy_tree(g_clean, work) == 0, "copy template");
        int fds[2];
        REQUIRE(pipe(fds) == 0, "pipe");
        uint64_t seed = test_rand();
        fflush(stderr);
        pid_t pid = fork();
        REQUIRE(pid >= 0, "fork");
        if (pid == 0) {
            close(fds[0]);
            pl_child(work, fds[1], seed);
        }
        close(fds[1]);
        static unsigned acked[MAX_LSN];
        static uint8_t durable[MAX_LSN];
        memset(acked, 0, sizeof acked);
        memset(durable, 0, sizeof durable);
        uint64_t max_durable = 0, max_lsn = 0;
        pl_msg m;
        while (read(fds[0], &m, sizeof m) == (ssize_t)sizeof m) {
            if (m.lsn >= MAX_LSN) continue;
            if (m.index != UINT32_MAX) acked[m.lsn] = m.index + 1;
            if (m.durable && m.lsn > max_durable) max_durable = m.lsn;
            if (m.lsn > max_lsn) max_lsn = m.lsn;
        }
        close(fds[0]);
        int st = -1;
        waitpid(pid, &st, 0);
        REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %u: child status %d", round, st);
        stele_open_options o = opts(work, STELE_DURABLE_FSYNC);
        stele *db = NULL;
        stele_status rc = stele_open(&o, &db);
        CHECK(rc == STELE_OK, "round %u (seed %llu): reopen after power loss: %s", round,
              (unsigned long long)seed, stele_errmsg(db));
        if (rc != STELE_OK) {
            stele_close(db);
            return;
        }
        uint64_t head = stele_head(db);
        CHECK(head > max_durable, "round %u: head %llu, durable up to %llu (+ recovery record)",
              round, (unsigned long long)head, (unsigned long long)max_durable);
        for (uint64_t lsn = 1; lsn < head && lsn < MAX_LSN; lsn++) {
            stele_record rec;
            rc = stele_get(db, lsn, &rec);
            unsigned idx = 0;
            if (rc != STELE_OK) {
                CHECK(0, "round %u: LSN %llu: %s", round, (unsigned long long)lsn,
                      stele_errmsg(db));
                continue;
            }
            if (rec.kind == STELE_REC_TXN)
                CHECK(payload_valid(rec.payload, rec.payload_len, &idx) &&
                          (!acked[lsn] || idx + 1 == acked[lsn]),
                      "round %u: LSN %llu holds the wrong payload", round,
                      (unsigned long long)lsn);
        }
        for (uint64_t lsn = max_durable + 1; lsn <= max_lsn; lsn++) lost_total += lsn >= head;
        stele_record rec;
        CHECK(stele_get(db, head, &rec) == STELE_OK && rec.kind == STELE_REC_RECOVERY,
              "round %u: no recovery record after the power cut", round);
        char *rep = NULL;
        CHECK(stele_verify(db, 0, &rep) == STELE_OK, "round %u (seed %llu): verify: %s", round,
              (unsigned long long)seed, stele_errmsg(db));
        stele_free(rep);
        CHECK(stele_close(db) == STELE_OK, "round %u: close", round);
    }
    fprintf(stderr, "  %u power cuts; %u unsynced records lost in all (allowed)\n", rounds,
            lost_total);
}

int main(void)
{
    test_seed();
    if (crypto_init() != 0) return 1;
    const char *root = test_tmpdir();
    snprintf(g_clean, sizeof g_clean, "%s/clean", root);
    snprintf(g_unclean, sizeof g_unclean, "%s/unclean", root);
    snprintf(g_work, sizeof g_work, "%s/work", root);
    if (make_store(g_clean) != 0 || make_unclean_template(g_unclean) != 0) {
        fprintf(stderr, "cannot build the template stores\n");
        return 1;
    }
    TEST_RUN(test_fault_sweep_clean_start);
    TEST_RUN(test_fault_sweep_unclean_start);
    TEST_RUN(test_power_loss);
    return test_summary();
}
