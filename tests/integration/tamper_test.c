/*
 * tamper_test.c — every byte of a store that is data must be authenticated: flip one
 * byte anywhere in STORE, a user file, a keys file, a superblock copy or a ledger
 * segment (header box and every frame) and opening the database read-only, or
 * stele_verify, must fail with a message that names the damaged file; put the byte
 * back and verify must pass again. Whole-file attacks too: swapped, deleted,
 * truncated and rolled-back segments, rolled-back superblocks.
 *
 * Black box through the public API plus plain file I/O. The one thing the API does
 * not expose is where frames lie inside segments; we recompute it from the records
 * (payload and idempotency-id lengths, read back with stele_get) and the frame
 * layout of src/ledger/format.h, cross-checked against stat's "log_bytes" and the
 * number of segment files. Exempt, because they are random filler by design: the
 * segment header area after the header box [92, 128), the alignment padding at the
 * end of each frame, unused space after the last frame of a segment, and the "lock"
 * file (it holds no data).
 *
 * Positions are sampled (a stride with a random phase per file, plus the first and
 * last byte) so that the test stays fast under ASan; STELE_TAMPER_STRIDE=1 tests
 * every byte of the small files. The seed (STELE_SEED) replays a run.
 *
 * tamper_plain_test.c runs all of this again on a --no-encryption database
 * (TAMPER_NO_ENCRYPTION): there the checksums of the plaintext boxes, the hash chain
 * and the sealed superblock must catch the same changes.
 */
#ifndef TAMPER_NO_ENCRYPTION
#define TAMPER_NO_ENCRYPTION 0
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/format.h"
#include "vault/vault.h"
#include "stele.h"
#include "testutil.h"

#define USER_NAME "tamper"
#define PASSWORD "tamper-test-password"
#define SEGMENT_BYTES 65536u
#define CHECKPOINT_EVERY 8u
#define RECORDS 45
#define SEGS_MAX 16
#define FRAMES_MAX 256
#define SEGHDR_BOX_BYTES 92 /* nonce(12) | sealed header(64) | tag(16); see format.h */

_Static_assert(SEGHDR_BOX_BYTES == FRAME_NONCE_BYTES + SEGHDR_PLAIN_BYTES + 16,
               "segment header box size");

typedef struct frame {
    uint64_t lsn;
    uint64_t off;     /* inside its segment */
    uint64_t env_len; /* envelope bytes (salt | idem_len | idem | payload) */
    uint64_t len;     /* frame bytes on disk, including alignment padding */
} frame;

typedef struct seg {
    char name[64];     /* file name in data/ (the file id in hex) */
    uint64_t first_lsn;
    uint64_t used_end; /* offset just after the last frame */
    int nframes;
    frame frames[FRAMES_MAX];
} seg;

/* The master store, built once and never changed after fixture_build(). */
static struct {
    char store[512];
    char dbdir[1024];
    char user_file[1024];
    uint64_t head;
    int nseg;
    seg segs[SEGS_MAX];
    char manifest[2][64];           /* names of the two manifest copies in data/ */
    uint64_t manifest_bytes;        /* bytes of a copy its boxes occupy */
    char slots[33];                 /* the key slot file's name */
    char early_seg0[SEGMENT_BYTES]; /* segment 0 when it held only a few records */
    int have_early_seg0;
    int ready;
} fx;

static unsigned stride_small = 7;

/* ------------------------------------------------------------------ helpers */

static stele_status open_db(const char *store, int read_only, stele **db)
{
    stele_open_options oo = {.store_dir = store, .user = USER_NAME, .password = PASSWORD,
                             .password_len = strlen(PASSWORD), .read_only = read_only};
    return stele_open(&oo, db);
}

typedef struct probe_result {
    stele_status st;  /* first failure of open, then verify */
    int at_open;      /* 1 if open failed */
    uint64_t head;    /* after a successful open */
    int head_readable; /* stele_get(head) worked */
    char msg[1024];
} probe_result;

/* Opens read-only, reads the head record and verifies, in this process. */
static void open_and_verify_here(const char *store, probe_result *r)
{
    stele *db = NULL;
    stele_status st = open_db(store, 1, &db);
    if (st != STELE_OK) {
        r->st = st;
        r->at_open = 1;
        snprintf(r->msg, sizeof r->msg, "%s", stele_errmsg(db));
        stele_close(db);
        return;
    }
    stele_record rec;
    r->head = stele_head(db);
    r->head_readable = stele_get(db, r->head, &rec) == STELE_OK;
    char *report = NULL;
    r->st = stele_verify(db, 0, &report);
    if (r->st != STELE_OK) snprintf(r->msg, sizeof r->msg, "%s", stele_errmsg(db));
    stele_free(report);
    stele_close(db);
}

/* The same in a child process, so that a crash on damaged input is reported as a
 * failure of this case instead of ending the whole test. Returns the first failing
 * status and its message; a crash returns STELE_CRASHED with "crashed ..." in msg. */
#define STELE_CRASHED (-1000)
static char crash_log[600];
static int crash_shown;

static void show_crash_log(void)
{
    char b[3000];
    FILE *f = fopen(crash_log, "r");
    size_t n = f ? fread(b, 1, sizeof b - 1, f) : 0;
    if (f) fclose(f);
    b[n] = 0;
    fprintf(stderr, "--- first crash of a probe (later ones are counted, not shown):\n%s---\n", b);
}

static stele_status probe_child(const char *store, probe_result *out)
{
    int fds[2];
    probe_result r = {.st = STELE_CRASHED};
    fflush(NULL);
    if (pipe(fds) != 0) abort();
    pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        close(fds[0]);
        int log = open(crash_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (log >= 0) dup2(log, 2); /* keep what a crash prints, show it once */
        open_and_verify_here(store, &r);
        ssize_t n = write(fds[1], &r, sizeof r);
        _exit(n == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(fds[0], (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got != sizeof r) {
        r.st = STELE_CRASHED;
        r.at_open = 1;
        snprintf(r.msg, sizeof r.msg, "crashed (%s %d) while opening or verifying",
                 WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        if (!crash_shown++) show_crash_log();
    }
    *out = r;
    return r.st;
}

static stele_status open_and_verify(const char *store, int *failed_at_open, char *msg,
                                    size_t cap)
{
    probe_result r;
    stele_status st = probe_child(store, &r);
    *failed_at_open = r.at_open;
    snprintf(msg, cap, "%s", r.msg);
    return st;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc(n > 0 ? (size_t)n : 1);
    *len = *out ? fread(*out, 1, (size_t)n, f) : 0;
    fclose(f);
    return *out && *len == (size_t)n ? 0 : -1;
}

static int write_file(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(b, 1, len, f);
    return (fclose(f) == 0 && n == len) ? 0 : -1;
}

static int put_byte(const char *path, uint64_t pos, uint8_t v)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = pwrite(fd, &v, 1, (off_t)pos);
    close(fd);
    return n == 1 ? 0 : -1;
}

static int run(const char *fmt, const char *a, const char *b)
{
    char cmd[2600];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

/* A fresh copy of the master store (for the tests that change it). */
static const char *copy_store(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/store", test_tmpdir());
    if (run("cp -a '%s' '%s'", fx.store, path) != 0) return NULL;
    return path;
}

static void db_dir_of(const char *store, char *out, size_t cap)
{
    const char *rel = fx.dbdir + strlen(fx.store);
    snprintf(out, cap, "%s%s", store, rel);
}

static void seg_path(const char *store, int i, char *out, size_t cap)
{
    char db[1200];
    db_dir_of(store, db, sizeof db);
    snprintf(out, cap, "%s/data/%s", db, fx.segs[i].name);
}

/* Names of the regular files in dir (at most max), in directory order. */
static int list_dir(const char *dir, char names[][64], int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        if (n < max) snprintf(names[n], 64, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static int known_seg(const char *name)
{
    if (strcmp(name, fx.manifest[0]) == 0 || strcmp(name, fx.manifest[1]) == 0 ||
        strcmp(name, fx.slots) == 0)
        return 1;
    for (int i = 0; i < fx.nseg; i++)
        if (strcmp(fx.segs[i].name, name) == 0) return 1;
    return 0;
}

/* Records segment files that appeared since the last call, in order of creation. */
static void note_new_segments(void)
{
    char names[SEGS_MAX * 2][64], data[1100];
    snprintf(data, sizeof data, "%s/data", fx.dbdir);
    int n = list_dir(data, names, SEGS_MAX * 2);
    for (int i = 0; i < n && i < SEGS_MAX * 2; i++)
        if (!strstr(names[i], ".tmp") && !known_seg(names[i]) && fx.nseg < SEGS_MAX)
            snprintf(fx.segs[fx.nseg++].name, sizeof fx.segs[0].name, "%s", names[i]);
}

static uint64_t json_u64(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : UINT64_MAX;
}

/* The names of the manifest copies and the size of their boxes, from stat. */
static void load_manifest_info(void)
{
    stele *db = NULL;
    REQUIRE(open_db(fx.store, 1, &db) == STELE_OK, "open: %s", stele_errmsg(db));
    char *json = NULL;
    REQUIRE(stele_stat(db, &json) == STELE_OK, "stat: %s", stele_errmsg(db));
    const char *p = strstr(json, "\"manifest_copies\":[\"");
    REQUIRE(p && strlen(p) > 90, "stat has no manifest_copies: %s", json);
    p += strlen("\"manifest_copies\":[\"");
    memcpy(fx.manifest[0], p, 32);
    memcpy(fx.manifest[1], p + 35, 32);
    fx.manifest_bytes = json_u64(json, "manifest_bytes");
    stele_free(json);
    stele_close(db);
}

static void manifest_path(const char *store, int i, char *out, size_t cap)
{
    char db[1200];
    db_dir_of(store, db, sizeof db);
    snprintf(out, cap, "%s/data/%s", db, fx.manifest[i]);
}

/* ------------------------------------------------------------------ fixture */

static void build_records(stele *db)
{
    static uint8_t payload[5000];
    for (int i = 0; i < RECORDS; i++) {
        size_t len = 2000 + (size_t)(test_rand() % 2500);
        for (size_t k = 0; k < len; k++) payload[k] = (uint8_t)test_rand();
        char id[32];
        snprintf(id, sizeof id, "idem-%d", i);
        uint64_t lsn;
        stele_status st = stele_append(db, payload, len, i % 5 == 0 ? id : NULL, &lsn, NULL);
        REQUIRE(st == STELE_OK, "append %d: %s", i, stele_errmsg(db));
        note_new_segments();
        if (i == 3 && fx.nseg == 1) { /* an old copy of segment 0, for the rollback test */
            char p[1300];
            snprintf(p, sizeof p, "%s/data/%s", fx.dbdir, fx.segs[0].name);
            uint8_t *b;
            size_t n;
            if (read_file(p, &b, &n) == 0 && n == SEGMENT_BYTES) {
                memcpy(fx.early_seg0, b, n);
                fx.have_early_seg0 = 1;
            }
            free(b);
        }
    }
}

/* Lays the records out as the ledger does: frames back to back from offset 128, a
 * new segment when the next frame does not fit. */
static void compute_layout(stele *db)
{
    int s = 0;
    uint64_t off = SEGHDR_AREA, total = 0;
    fx.segs[0].first_lsn = 1;
    for (uint64_t lsn = 1; lsn <= fx.head; lsn++) {
        stele_record r;
        REQUIRE(stele_get(db, lsn, &r) == STELE_OK, "get %llu: %s", (unsigned long long)lsn,
                stele_errmsg(db));
        uint64_t env = ENVELOPE_FIXED + r.idem_len + r.payload_len, len = frame_size(env);
        if (off + len > SEGMENT_BYTES) {
            REQUIRE(++s < fx.nseg, "the records need more segments than the %d files", fx.nseg);
            fx.segs[s].first_lsn = lsn;
            off = SEGHDR_AREA;
        }
        seg *g = &fx.segs[s];
        REQUIRE(g->nframes < FRAMES_MAX, "too many frames");
        g->frames[g->nframes++] = (frame){lsn, off, env, len};
        off += len;
        g->used_end = off;
        total += len;
    }
    CHECK(s + 1 == fx.nseg, "layout has %d segments, the directory %d", s + 1, fx.nseg);
    char *json = NULL;
    REQUIRE(stele_stat(db, &json) == STELE_OK, "stat: %s", stele_errmsg(db));
    CHECK(json_u64(json, "log_bytes") == total, "computed %llu log bytes, stat says %llu",
          (unsigned long long)total, (unsigned long long)json_u64(json, "log_bytes"));
    CHECK(json_u64(json, "segments") == (uint64_t)fx.nseg, "stat segments != %d files",
          fx.nseg);
    stele_free(json);
}

static void fixture_build(void)
{
    const char *root = test_tmpdir();
    snprintf(fx.store, sizeof fx.store, "%s/store", root);
    char err[512] = "";
    stele_init_options io = {.store_dir = fx.store, .user = USER_NAME, .password = PASSWORD,
                             .password_len = strlen(PASSWORD), .kdf = STELE_KDF_INSECURE_TEST,
                             .segment_size = SEGMENT_BYTES,
                             .checkpoint_every = CHECKPOINT_EVERY,
                             .no_encryption = TAMPER_NO_ENCRYPTION};
    REQUIRE(stele_store_init(&io, err, sizeof err) == STELE_OK, "init: %s", err);
    char dbs[600], names[4][64];
    snprintf(dbs, sizeof dbs, "%s/dbs", fx.store);
    REQUIRE(list_dir(dbs, names, 4) == 1, "expected one database directory in %s", dbs);
    snprintf(fx.dbdir, sizeof fx.dbdir, "%s/%s", dbs, names[0]);
    uint8_t db_id[16], slots[16];
    test_unhex(names[0], db_id, 16);
    REQUIRE(vault_slots_id(db_id, slots) == 0, "slots id");
    crypto_hex(slots, 16, fx.slots);
    snprintf(fx.user_file, sizeof fx.user_file, "%s/users/%s.user", fx.store, USER_NAME);
    load_manifest_info();
    note_new_segments();
    REQUIRE(fx.nseg == 1, "a new database has one segment, not %d", fx.nseg);

    stele *db = NULL;
    REQUIRE(open_db(fx.store, 0, &db) == STELE_OK, "open: %s", stele_errmsg(db));
    build_records(db);
    stele_status st = stele_close(db);
    REQUIRE(st == STELE_OK, "close: %s", stele_strerror(st));
    note_new_segments();
    REQUIRE(fx.nseg >= 2, "the fixture needs at least 2 segments, has %d", fx.nseg);

    REQUIRE(open_db(fx.store, 1, &db) == STELE_OK, "open read-only: %s", stele_errmsg(db));
    fx.head = stele_head(db);
    compute_layout(db);
    stele_close(db);

    int at_open;
    char msg[1024];
    REQUIRE(open_and_verify(fx.store, &at_open, msg, sizeof msg) == STELE_OK,
            "the untouched store does not verify: %s", msg);
    fx.ready = 1;
    fprintf(stderr, "fixture: %llu records in %d segments\n", (unsigned long long)fx.head,
            fx.nseg);
}

/* ------------------------------------------------------------- byte flips */

typedef struct flip_run {
    const char *path;
    const char *expect;    /* substring the message must contain */
    int must_open;         /* 1: open must succeed and verify fail */
    const uint8_t *orig;
    size_t len;
    int tried, missed;
    char first_miss[1400];
} flip_run;

/* Flips one byte at pos, checks that the damage is reported, puts the byte back. */
static void flip_one(flip_run *fr, uint64_t pos, int reverify)
{
    if (pos >= fr->len) return;
    uint8_t mask = (uint8_t)(1u << (test_rand() % 8));
    if (put_byte(fr->path, pos, fr->orig[pos] ^ mask) != 0) {
        test_fail(__FILE__, __LINE__, "cannot write '%s': %s", fr->path, strerror(errno));
        return;
    }
    int at_open;
    char msg[1024];
    stele_status st = open_and_verify(fx.store, &at_open, msg, sizeof msg);
    const char *why = NULL;
    if (st == STELE_OK) why = "not detected";
    else if (st == STELE_CRASHED) why = "crashed";
    else if (!msg[0]) why = "failed with an empty message";
    else if (!strstr(msg, fr->expect)) why = "message does not name the file";
    else if (fr->must_open && at_open) why = "open failed (should use the other copy)";
    fr->tried++;
    if (why && getenv("STELE_TAMPER_VERBOSE"))
        fprintf(stderr, "    miss %s offset %llu (0x%02x -> 0x%02x): %s: %s\n", fr->path,
                (unsigned long long)pos, fr->orig[pos], fr->orig[pos] ^ mask, why, msg);
    if (why && fr->missed++ == 0)
        snprintf(fr->first_miss, sizeof fr->first_miss,
                 "offset %llu (xor 0x%02x): %s [status %d, at %s: '%s']",
                 (unsigned long long)pos, mask, why, st, at_open ? "open" : "verify", msg);
    if (put_byte(fr->path, pos, fr->orig[pos]) != 0)
        test_fail(__FILE__, __LINE__, "cannot restore '%s'", fr->path);
    if (reverify) {
        st = open_and_verify(fx.store, &at_open, msg, sizeof msg);
        CHECK(st == STELE_OK, "'%s' offset %llu restored, but verify fails: %s", fr->path,
              (unsigned long long)pos, msg);
    }
}

static int flip_begin(flip_run *fr, const char *path, const char *expect, int must_open)
{
    memset(fr, 0, sizeof *fr);
    fr->path = path;
    fr->expect = expect;
    fr->must_open = must_open;
    uint8_t *b;
    if (read_file(path, &b, &fr->len) != 0) {
        test_fail(__FILE__, __LINE__, "cannot read '%s'", path);
        return -1;
    }
    fr->orig = b;
    return 0;
}

static void flip_end(flip_run *fr, const char *what)
{
    uint8_t *now;
    size_t len;
    CHECK(read_file(fr->path, &now, &len) == 0 && len == fr->len &&
              memcmp(now, fr->orig, len) == 0,
          "%s: file not restored byte for byte", what);
    free(now);
    int at_open;
    char msg[1024];
    CHECK(open_and_verify(fx.store, &at_open, msg, sizeof msg) == STELE_OK,
          "%s: verify fails after restoring every byte: %s", what, msg);
    CHECK(fr->missed == 0, "%s ('%s'): %d of %d flipped bytes not reported properly; first: %s",
          what, fr->path, fr->missed, fr->tried, fr->first_miss);
    fprintf(stderr, "  %-28s %4d positions, %d missed\n", what, fr->tried, fr->missed);
    free((void *)fr->orig);
}

/* Every stride-th byte from a random phase, plus the first and the last. */
/* Flips bytes of [0, limit) (0 = the whole file) except the filler [skip_lo, skip_hi). */
static void flip_file_part(const char *path, const char *expect, int must_open, uint64_t limit,
                           uint64_t skip_lo, uint64_t skip_hi, const char *what)
{
    flip_run fr;
    if (flip_begin(&fr, path, expect, must_open) != 0) return;
    CHECK(fr.len > 0, "%s is empty", what);
    uint64_t end = limit && limit < fr.len ? limit : fr.len;
    unsigned phase = (unsigned)(test_rand() % stride_small);
    flip_one(&fr, 0, 0);
    for (uint64_t pos = phase ? phase : stride_small; pos + 1 < end; pos += stride_small)
        if (pos < skip_lo || pos >= skip_hi) flip_one(&fr, pos, pos % (16 * stride_small) == phase);
    if (end > 1) flip_one(&fr, end - 1, 0);
    flip_end(&fr, what);
}

static void flip_small_file(const char *path, const char *expect, int must_open,
                            const char *what)
{
    flip_file_part(path, expect, must_open, 0, 0, 0, what);
}

static uint64_t pick(uint64_t lo, uint64_t hi) /* a random offset in [lo, hi) */
{
    return hi > lo ? lo + test_rand() % (hi - lo) : lo;
}

/* Positions inside one frame: each box (nonce, header, its tag, envelope, its tag),
 * its edges for the first and the last frame of a segment, a random byte otherwise. */
static void flip_frame(flip_run *fr, const frame *f, int edges)
{
    uint64_t o = f->off, hdr = o + FRAME_NONCE_BYTES, htag = hdr + RECHDR_BYTES;
    uint64_t env = htag + 16, etag = env + f->env_len, end = etag + 16;
    uint64_t bounds[6] = {o, hdr, htag, env, etag, end};
    for (int b = 0; b < 5; b++) {
        flip_one(fr, pick(bounds[b], bounds[b + 1]), 0);
        if (edges) {
            flip_one(fr, bounds[b], 0);
            flip_one(fr, bounds[b + 1] - 1, 0);
        }
    }
}

static void flip_segment(int i)
{
    char path[1400], what[64];
    seg_path(fx.store, i, path, sizeof path);
    snprintf(what, sizeof what, "segment %d", i);
    flip_run fr;
    if (flip_begin(&fr, path, fx.segs[i].name, 0) != 0) return;
    CHECK(fr.len == SEGMENT_BYTES, "%s is %zu bytes", what, fr.len);
    unsigned phase = (unsigned)(test_rand() % 3);
    flip_one(&fr, 0, 0);
    for (uint64_t pos = phase; pos < SEGHDR_BOX_BYTES; pos += 3) flip_one(&fr, pos, 0);
    flip_one(&fr, SEGHDR_BOX_BYTES - 1, 1);
    const seg *g = &fx.segs[i];
    for (int k = 0; k < g->nframes; k++)
        flip_frame(&fr, &g->frames[k], k == 0 || k + 1 == g->nframes);
    flip_end(&fr, what);
}

/* ------------------------------------------------------------------ tests */

static void test_flip_store_and_user_files(void)
{
    REQUIRE(fx.ready, "no fixture");
    char p[1200];
    snprintf(p, sizeof p, "%s/STORE", fx.store);
    flip_small_file(p, "STORE", 0, "STORE");
    flip_small_file(fx.user_file, USER_NAME ".user", 0, "users/" USER_NAME ".user");
    /* the key slot file: slot table and body box (the table's random bytes included:
     * the body hashes it); the padding after them is random by design */
    snprintf(p, sizeof p, "%s/data/%s", fx.dbdir, fx.slots);
    flip_run fr;
    if (flip_begin(&fr, p, fx.slots, 0) != 0) return;
    CHECK(fr.len == SEGMENT_BYTES, "the key slot file is %zu bytes", fr.len);
    unsigned stride = 8 * stride_small + 5, phase = (unsigned)(test_rand() % stride);
    flip_one(&fr, 0, 0);
    for (uint64_t pos = phase; pos + 1 < VAULT_KEYS_USED; pos += stride) flip_one(&fr, pos, 0);
    flip_one(&fr, VAULT_SLOT_TABLE, 0);
    flip_one(&fr, VAULT_KEYS_USED - 1, 1);
    flip_end(&fr, "key slot file");
}

/* The manifest copies: every byte of their two boxes; the filler after the header box
 * [104, 128) and after the body box is random by design. */
static void test_flip_superblocks(void)
{
    REQUIRE(fx.ready, "no fixture");
    char p[1400];
    manifest_path(fx.store, 0, p, sizeof p);
    flip_file_part(p, fx.manifest[0], 1, fx.manifest_bytes, 104, 128, "manifest copy 0");
    manifest_path(fx.store, 1, p, sizeof p);
    flip_file_part(p, fx.manifest[1], 1, fx.manifest_bytes, 104, 128, "manifest copy 1");
}

static void test_flip_segments(void)
{
    REQUIRE(fx.ready, "no fixture");
    for (int i = 0; i < fx.nseg; i++) flip_segment(i);
}

/* Expects open or verify of store to fail with a message containing expect. */
static void expect_detected(const char *store, const char *expect, const char *what)
{
    int at_open;
    char msg[1024];
    stele_status st = open_and_verify(store, &at_open, msg, sizeof msg);
    CHECK(st != STELE_OK, "%s: not detected (open and verify pass)", what);
    CHECK(st != STELE_CRASHED, "%s: %s", what, msg);
    CHECK(st == STELE_OK || msg[0], "%s: failed with an empty message", what);
    CHECK(st == STELE_OK || strstr(msg, expect), "%s: message does not mention '%s': %s", what,
          expect, msg);
    fprintf(stderr, "  %s -> %s: %s\n", what, at_open ? "open fails" : "verify fails", msg);
}

static int swap_files(const char *a, const char *b)
{
    char t[1500];
    snprintf(t, sizeof t, "%s.swap", a);
    return rename(a, t) == 0 && rename(b, a) == 0 && rename(t, b) == 0 ? 0 : -1;
}

static void test_swapped_segments(void)
{
    REQUIRE(fx.ready, "no fixture");
    const char *s = copy_store();
    REQUIRE(s, "cannot copy the store");
    char a[1400], b[1400];
    seg_path(s, 0, a, sizeof a);
    seg_path(s, 1, b, sizeof b);
    REQUIRE(swap_files(a, b) == 0, "rename failed");
    expect_detected(s, "segment", "segments 0 and 1 swapped");
}

static void test_deleted_segments(void)
{
    REQUIRE(fx.ready, "no fixture");
    int which[2] = {0, fx.nseg - 1};
    for (int k = 0; k < 2; k++) {
        const char *s = copy_store();
        REQUIRE(s, "cannot copy the store");
        char p[1400], what[64];
        seg_path(s, which[k], p, sizeof p);
        REQUIRE(unlink(p) == 0, "unlink %s", p);
        snprintf(what, sizeof what, "segment %d deleted", which[k]);
        expect_detected(s, fx.segs[which[k]].name, what);
    }
}

static void test_truncated_segments(void)
{
    REQUIRE(fx.ready, "no fixture");
    int which[2] = {0, fx.nseg - 1};
    uint64_t cut[3] = {0, SEGHDR_AREA, 0};
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < 3; c++) {
            const char *s = copy_store();
            REQUIRE(s, "cannot copy the store");
            const seg *g = &fx.segs[which[k]];
            /* c = 2: cut just after the first frame (the file keeps a valid header). */
            uint64_t len = c == 2 ? g->frames[0].off + g->frames[0].len : cut[c];
            char p[1400], what[96];
            seg_path(s, which[k], p, sizeof p);
            REQUIRE(truncate(p, (off_t)len) == 0, "truncate %s", p);
            snprintf(what, sizeof what, "segment %d truncated to %llu bytes", which[k],
                     (unsigned long long)len);
            expect_detected(s, g->name, what);
        }
}

/* Appends small records to a copy and returns the new head (0 on failure). */
static uint64_t append_more(const char *store, int n)
{
    stele *db = NULL;
    if (open_db(store, 0, &db) != STELE_OK) {
        test_fail(__FILE__, __LINE__, "open for writing: %s", stele_errmsg(db));
        stele_close(db);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        char p[64];
        uint64_t lsn;
        int len = snprintf(p, sizeof p, "{\"more\":%d}", i);
        if (stele_append(db, p, (size_t)len, NULL, &lsn, NULL) != STELE_OK) {
            test_fail(__FILE__, __LINE__, "append: %s", stele_errmsg(db));
            break;
        }
    }
    uint64_t head = stele_head(db);
    return stele_close(db) == STELE_OK ? head : 0;
}

static void test_last_segment_rolled_back(void)
{
    REQUIRE(fx.ready, "no fixture");
    const seg *last = &fx.segs[fx.nseg - 1];
    REQUIRE(SEGMENT_BYTES - last->used_end > 4096, "no room left in the last segment");
    const char *s = copy_store();
    REQUIRE(s, "cannot copy the store");
    char p[1400], data[1400], names[SEGS_MAX][64];
    seg_path(s, fx.nseg - 1, p, sizeof p);
    uint8_t *old;
    size_t len;
    REQUIRE(read_file(p, &old, &len) == 0, "read %s", p);
    uint64_t head = append_more(s, 3);
    CHECK(head > fx.head, "appends to the copy did not move the head");
    db_dir_of(s, data, sizeof data);
    strcat(data, "/data");
    CHECK(list_dir(data, names, SEGS_MAX) == fx.nseg + 3, /* manifest copies, key slots */
          "the appends rolled a new segment");
    CHECK(write_file(p, old, len) == 0, "restore old copy");
    free(old);
    expect_detected(s, "LSN", "last segment replaced by an older copy");
}

static void test_sealed_segment_rolled_back(void)
{
    REQUIRE(fx.ready, "no fixture");
    REQUIRE(fx.have_early_seg0, "no early copy of segment 0 was taken");
    const char *s = copy_store();
    REQUIRE(s, "cannot copy the store");
    char p[1400];
    seg_path(s, 0, p, sizeof p);
    REQUIRE(write_file(p, (const uint8_t *)fx.early_seg0, SEGMENT_BYTES) == 0, "write %s", p);
    expect_detected(s, fx.segs[0].name, "sealed segment 0 replaced by an older copy");
}

static void test_superblocks_rolled_back(void)
{
    REQUIRE(fx.ready, "no fixture");
    const char *s = copy_store();
    REQUIRE(s, "cannot copy the store");
    char pa[1400], pb[1400];
    manifest_path(s, 0, pa, sizeof pa);
    manifest_path(s, 1, pb, sizeof pb);
    uint8_t *a, *b;
    size_t la, lb;
    REQUIRE(read_file(pa, &a, &la) == 0 && read_file(pb, &b, &lb) == 0, "read superblocks");
    uint64_t head = append_more(s, 3);
    CHECK(head > fx.head, "appends to the copy did not move the head");
    CHECK(write_file(pa, a, la) == 0 && write_file(pb, b, lb) == 0, "restore superblocks");
    free(a);
    free(b);
    /* Both copies authentic but stale: the log runs past the recorded clean head.
     * Reading must not silently stop at the old head or serve the newer records. */
    expect_detected(s, "", "both superblocks replaced by older copies");
}

static void test_one_superblock_copy_damaged(void)
{
    REQUIRE(fx.ready, "no fixture");
    const char *s = copy_store();
    REQUIRE(s, "cannot copy the store");
    char p[1400];
    manifest_path(s, 1, p, sizeof p);
    uint8_t *b;
    size_t len;
    REQUIRE(read_file(p, &b, &len) == 0 && len > fx.manifest_bytes, "read %s", p);
    b[fx.manifest_bytes / 2] ^= 0x10;
    REQUIRE(write_file(p, b, len) == 0, "write %s", p);
    free(b);
    probe_result r;
    stele_status st = probe_child(s, &r);
    CHECK(!r.at_open, "open with one damaged superblock copy fails: %s", r.msg);
    CHECK(r.at_open || r.head == fx.head, "head %llu, expected %llu",
          (unsigned long long)r.head, (unsigned long long)fx.head);
    CHECK(r.at_open || r.head_readable, "the head record cannot be read");
    CHECK(st == STELE_ECORRUPT, "verify returned %d (%s), expected STELE_ECORRUPT", st, r.msg);
    CHECK(strstr(r.msg, fx.manifest[1]) != NULL, "message does not name copy 1: '%s'", r.msg);
}

/* A closed segment's bytes copied under another segment's name. */
static void test_segment_moved(void)
{
    REQUIRE(fx.ready, "no fixture");
    const char *s = copy_store();
    REQUIRE(s, "cannot copy the store");
    char a[1400], b[1400];
    seg_path(s, 1, a, sizeof a);
    seg_path(s, 0, b, sizeof b);
    uint8_t *d;
    size_t n;
    REQUIRE(read_file(a, &d, &n) == 0 && write_file(b, d, n) == 0, "copy segment 1 over 0");
    free(d);
    expect_detected(s, fx.segs[0].name, "segment 1 copied under segment 0's name");
}

/* The two manifest copies swapped: each holds boxes bound to the other's name. */
static void test_manifest_copies_swapped(void)
{
    REQUIRE(fx.ready, "no fixture");
    const char *s = copy_store();
    REQUIRE(s, "cannot copy the store");
    char a[1400], b[1400];
    manifest_path(s, 0, a, sizeof a);
    manifest_path(s, 1, b, sizeof b);
    REQUIRE(swap_files(a, b) == 0, "rename failed");
    expect_detected(s, "swapped or moved", "manifest copies swapped");
}

/* One manifest copy replaced by an older version of itself: the newer copy is used,
 * and the stale one is named. */
static void test_one_manifest_copy_rolled_back(void)
{
    REQUIRE(fx.ready, "no fixture");
    const char *s = copy_store();
    REQUIRE(s, "cannot copy the store");
    char p[1400];
    manifest_path(s, 1, p, sizeof p);
    uint8_t *old;
    size_t len;
    REQUIRE(read_file(p, &old, &len) == 0, "read %s", p);
    uint64_t head = append_more(s, 2);
    CHECK(head > fx.head, "appends to the copy did not move the head");
    CHECK(write_file(p, old, len) == 0, "restore the old copy");
    free(old);
    probe_result r;
    stele_status st = probe_child(s, &r);
    CHECK(!r.at_open && r.head >= head, "open: %s (head %llu, expected >= %llu)", r.msg,
          (unsigned long long)r.head, (unsigned long long)head);
    CHECK(st == STELE_ECORRUPT && strstr(r.msg, fx.manifest[1]) && strstr(r.msg, "older"),
          "verify: %d '%s'", st, r.msg);
    fprintf(stderr, "  one manifest copy rolled back -> %s\n", r.msg);
}

int main(void)
{
    const char *sv = getenv("STELE_TAMPER_STRIDE");
    if (sv && atoi(sv) > 0) stride_small = (unsigned)atoi(sv);
    test_seed();
    snprintf(crash_log, sizeof crash_log, "%s/probe-stderr.txt", test_tmpdir());
    TEST_RUN(fixture_build);
    TEST_RUN(test_flip_store_and_user_files);
    TEST_RUN(test_flip_superblocks);
    TEST_RUN(test_flip_segments);
    TEST_RUN(test_one_superblock_copy_damaged);
    TEST_RUN(test_swapped_segments);
    TEST_RUN(test_deleted_segments);
    TEST_RUN(test_truncated_segments);
    TEST_RUN(test_last_segment_rolled_back);
    TEST_RUN(test_sealed_segment_rolled_back);
    TEST_RUN(test_superblocks_rolled_back);
    TEST_RUN(test_segment_moved);
    TEST_RUN(test_manifest_copies_swapped);
    TEST_RUN(test_one_manifest_copy_rolled_back);
    return test_summary();
}
