/*
 * sealed_test.c — the files of a database's data/ directory are sealed, uniform and
 * named by the signed manifest (docs/FORMAT.md "Manifest", "Associated data"). Black box
 * through the public API and plain file operations. Asserted:
 *   - every file of the database's directory (data/ and its key slot file included;
 *     the lock file aside, which must stay empty) has the same size, a random-looking
 *     32-hex-digit name and random-looking bytes over its whole length (byte entropy
 *     >= 7.9 bits/byte); a marker string written in documents appears in no file of
 *     the store, and the owner's user id (binary or hex) in no file of the database;
 *   - a fragment moved under another fragment's name, two fragments swapped, and a
 *     fragment of an older snapshot put back under its own name are each detected and
 *     named (stat's snapshot problem and verify);
 *   - an extra file in data/ (a file of an older backup) is named by verify;
 *   - a file replaced by another copy of the same size is named by verify (its hash in
 *     the manifest differs), and a missing fragment is named.
 */
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stele.h"
#include "testutil.h"

#define SEGMENT_BYTES 65536u
#define MARKER "ZebraMarker-7f3c91"
#define MAXF 64

static char store[600], base[700];

typedef struct names {
    char n[MAXF][40];
    int count;
} names;

static void data_dir(const char *st, char *out, size_t cap)
{
    char dbs[800];
    snprintf(dbs, sizeof dbs, "%s/dbs", st);
    DIR *d = opendir(dbs);
    out[0] = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') snprintf(out, cap, "%s/%s/data", dbs, de->d_name);
    if (d) closedir(d);
}

/* The files of data/, without the ".tmp" a background thread may be preparing (the
 * next segment, ledger.c seg_prepare) at any moment. */
static void list_data(const char *st, names *out)
{
    char data[1200];
    data_dir(st, data, sizeof data);
    out->count = 0;
    DIR *d = opendir(data);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.' && out->count < MAXF &&
            !(strlen(de->d_name) > 4 && strcmp(de->d_name + strlen(de->d_name) - 4, ".tmp") == 0))
            snprintf(out->n[out->count++], sizeof out->n[0], "%s", de->d_name);
    if (d) closedir(d);
}

static int has(const names *s, const char *n)
{
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->n[i], n) == 0) return 1;
    return 0;
}

/* Names in b that are not in a. */
static int diff(const names *a, const names *b, names *out)
{
    out->count = 0;
    for (int i = 0; i < b->count; i++)
        if (!has(a, b->n[i])) snprintf(out->n[out->count++], sizeof out->n[0], "%s", b->n[i]);
    return out->count;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    *len = b && fread(b, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    return b;
}

static int spit(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b, 1, len, f) == len;
    if (f) fclose(f);
    return ok ? 0 : -1;
}

static void path_of(const char *st, const char *name, char *out, size_t cap)
{
    char data[1200];
    data_dir(st, data, sizeof data);
    snprintf(out, cap, "%s/%s", data, name);
}

static int copy_file(const char *st, const char *from, const char *to)
{
    char a[1400], b[1400];
    path_of(st, from, a, sizeof a);
    path_of(st, to, b, sizeof b);
    size_t n;
    uint8_t *d = slurp(a, &n);
    int rc = d && n ? spit(b, d, n) : -1;
    free(d);
    return rc;
}

static const char *copy_store(const char *name)
{
    static char path[800];
    char cmd[2000];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", path, base, path);
    return system(cmd) == 0 ? path : NULL;
}

static void txn(stele *db, const char *json)
{
    stele_status st = stele_txn(db, json, strlen(json), NULL, NULL);
    CHECK(st == STELE_OK, "txn: %s", stele_errmsg(db));
}

/* Documents whose text holds the marker; enough of them for a 2+-fragment snapshot. */
static void add_docs(stele *db, int from, int n)
{
    char j[1200];
    for (int i = from; i < from + n; i++) {
        snprintf(j, sizeof j,
                 "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"d%d\","
                 "\"text\":\"%s %d %0400d\"}}]}", i, MARKER, i, i);
        txn(db, j);
    }
}

static names frags1, frags2; /* fragments of the first and of the second snapshot */
static uint8_t *old_frag0;   /* the first snapshot's fragment 0, kept after it was removed */
static size_t old_frag0_len;

static void build(void)
{
    test_store_new(base, sizeof base, SEGMENT_BYTES, 0);
    stele *db = test_store_open(base, NULL);
    REQUIRE(db, "open");
    txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}");
    add_docs(db, 0, 300);
    names a, b;
    list_data(base, &a);
    REQUIRE(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    list_data(base, &b);
    REQUIRE(diff(&a, &b, &frags1) >= 2, "the first snapshot has %d fragments", frags1.count);
    char p[1400];
    path_of(base, frags1.n[0], p, sizeof p);
    old_frag0 = slurp(p, &old_frag0_len);
    add_docs(db, 300, 20);
    list_data(base, &a);
    REQUIRE(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    list_data(base, &b);
    REQUIRE(diff(&a, &b, &frags2) >= 2, "the second snapshot has %d fragments", frags2.count);
    CHECK(!has(&b, frags1.n[0]), "the first snapshot's fragments were not removed");
    REQUIRE(stele_close(db) == STELE_OK, "close");
    db = test_store_open(base, NULL);
    REQUIRE(db, "reopen");
    char *rep = NULL;
    CHECK(stele_verify(db, 0, &rep) == STELE_OK, "the untouched store does not verify: %s",
          stele_errmsg(db));
    stele_free(rep);
    stele_close(db);
    snprintf(store, sizeof store, "%s", base);
}

static double entropy(const uint8_t *b, size_t n)
{
    double count[256] = {0}, h = 0;
    for (size_t i = 0; i < n; i++) count[b[i]]++;
    for (int i = 0; i < 256; i++)
        if (count[i] > 0) h -= count[i] / (double)n * log2(count[i] / (double)n);
    return h;
}

static uint8_t owner_id[16];
static char owner_hex[33];
static int walked, locks;

/* One file of the database's directory: the empty lock file, or a uniform data file. */
static int check_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    const char *name = path + ftw->base;
    if (flag == FTW_D) return 0;
    CHECK(flag == FTW_F, "%s is not a regular file or directory", path);
    if (ftw->level == 1 && strcmp(name, "lock") == 0) {
        CHECK(sb->st_size == 0, "the lock file holds %lld bytes", (long long)sb->st_size);
        locks++;
        return 0;
    }
    walked++;
    CHECK(ftw->level == 2 && strstr(path, "/data/"), "%s is outside data/", path);
    size_t n;
    uint8_t *b = slurp(path, &n);
    CHECK(n == SEGMENT_BYTES, "%s is %zu bytes, not %u", path, n, SEGMENT_BYTES);
    double h = b ? entropy(b, n) : 0;
    CHECK(h >= 7.9, "%s: byte entropy %.4f < 7.9 bits/byte", path, h);
    CHECK(strlen(name) == 32 && strspn(name, "0123456789abcdef") == 32,
          "%s is not a random 32-hex-digit name", path);
    CHECK(b && !memmem(b, n, owner_id, 16) && !memmem(b, n, owner_hex, 32),
          "%s holds the owner's user id in the clear", path);
    free(b);
    return 0;
}

static void test_uniform_random_files(void)
{
    REQUIRE(old_frag0, "no fixture");
    char *json = NULL, err[256], data[1200];
    REQUIRE(stele_user_list(base, &json, err, sizeof err) == STELE_OK, "%s", err);
    const char *id = strstr(json, "\"id\":\"");
    REQUIRE(id, "no user id in %s", json);
    snprintf(owner_hex, sizeof owner_hex, "%.32s", id + 6);
    test_unhex(owner_hex, owner_id, 16);
    stele_free(json);
    data_dir(base, data, sizeof data);
    *strrchr(data, '/') = 0; /* the database's directory */
    walked = locks = 0;
    REQUIRE(nftw(data, check_entry, 8, FTW_PHYS) == 0, "walk %s", data);
    CHECK(walked >= 7 && locks == 1, "%d data files (segments, fragments, 2 manifest copies, "
          "key slots), %d lock files", walked, locks);
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "grep -r -a -l -F '%s' '%s' >/dev/null 2>&1", MARKER, base);
    CHECK(system(cmd) != 0, "the marker string appears in a file of the store");
    fprintf(stderr, "  %d files of %u bytes, all with entropy >= 7.9; the lock file empty\n",
            walked, SEGMENT_BYTES);
}

/* Opens the store (writable when rw) and returns verify's message, or "" if it passes;
 * snap gets stat's snapshot problem ("" if none). */
static void probe(const char *st, int rw, char *msg, size_t cap, char *snap, size_t scap)
{
    stele_open_options oo = {.read_only = !rw};
    stele *db = test_store_open(st, &oo);
    msg[0] = snap[0] = 0;
    if (!db) {
        snprintf(msg, cap, "open failed");
        return;
    }
    char *json = NULL;
    if (stele_stat(db, &json) == STELE_OK) {
        const char *p = strstr(json, "\"problem\":\"");
        if (p) snprintf(snap, scap, "%.300s", p + 11);
        stele_free(json);
    }
    char *rep = NULL;
    if (stele_verify(db, 0, &rep) != STELE_OK) snprintf(msg, cap, "%s", stele_errmsg(db));
    stele_free(rep);
    stele_close(db);
}

/* Verify must fail naming `name` (or `alt`, when not NULL) in its message or in
 * stat's snapshot problem. */
static void expect2(const char *st, const char *name, const char *alt, const char *what)
{
    char msg[1024], snap[400];
    probe(st, 0, msg, sizeof msg, snap, sizeof snap);
    CHECK(msg[0] != 0, "%s: verify passes", what);
    int named = strstr(msg, name) || strstr(snap, name) ||
                (alt && (strstr(msg, alt) || strstr(snap, alt)));
    CHECK(named, "%s: neither verify ('%s') nor stat ('%s') names %s", what, msg, snap, name);
    fprintf(stderr, "  %s -> %s | %s\n", what, msg, snap);
}

static void expect(const char *st, const char *name, const char *what)
{
    expect2(st, name, NULL, what);
}

static void test_fragment_moved(void)
{
    REQUIRE(old_frag0, "no fixture");
    const char *s = copy_store("moved");
    REQUIRE(s && copy_file(s, frags2.n[1], frags2.n[0]) == 0, "copy");
    expect(s, frags2.n[0], "a fragment copied over another fragment's name");
}

static void test_fragments_swapped(void)
{
    REQUIRE(old_frag0, "no fixture");
    const char *s = copy_store("swapped");
    REQUIRE(s, "copy");
    char a[1400], b[1400], t[1500];
    path_of(s, frags2.n[0], a, sizeof a);
    path_of(s, frags2.n[1], b, sizeof b);
    snprintf(t, sizeof t, "%s.x", a);
    REQUIRE(rename(a, t) == 0 && rename(b, a) == 0 && rename(t, b) == 0, "swap");
    expect2(s, frags2.n[0], frags2.n[1], "two fragments swapped");
}

static void test_old_fragment_replayed(void)
{
    REQUIRE(old_frag0, "no fixture");
    /* Back under its own name: not part of the manifest any more. */
    const char *s = copy_store("replayed");
    char p[1400];
    path_of(s, frags1.n[0], p, sizeof p);
    REQUIRE(spit(p, old_frag0, old_frag0_len) == 0, "write");
    expect(s, frags1.n[0], "an old snapshot's fragment restored under its name");
    /* Over a current fragment's name (same size, authentic for another file id). */
    s = copy_store("replayed2");
    path_of(s, frags2.n[0], p, sizeof p);
    REQUIRE(spit(p, old_frag0, old_frag0_len) == 0, "write");
    expect(s, frags2.n[0], "an old snapshot's fragment written over a current one");
}

static void test_missing_and_replaced(void)
{
    REQUIRE(old_frag0, "no fixture");
    const char *s = copy_store("missing");
    char p[1400];
    path_of(s, frags2.n[1], p, sizeof p);
    REQUIRE(unlink(p) == 0, "unlink");
    expect(s, frags2.n[1], "a fragment deleted");
    /* Filler bytes changed (the boxes still open): only the manifest's hash sees it. */
    s = copy_store("filler");
    path_of(s, frags2.n[0], p, sizeof p);
    size_t n;
    uint8_t *b = slurp(p, &n);
    REQUIRE(b && n == SEGMENT_BYTES, "read");
    b[n - 1] ^= 0x40;
    REQUIRE(spit(p, b, n) == 0, "write");
    free(b);
    expect(s, frags2.n[0], "a fragment's padding changed");
}

int main(void)
{
    test_seed();
    TEST_RUN(build);
    TEST_RUN(test_uniform_random_files);
    TEST_RUN(test_fragment_moved);
    TEST_RUN(test_fragments_swapped);
    TEST_RUN(test_old_fragment_replayed);
    TEST_RUN(test_missing_and_replaced);
    free(old_frag0);
    return test_summary();
}
