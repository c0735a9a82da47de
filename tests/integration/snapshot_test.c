/*
 * snapshot_test.c — state snapshots (src/store/snapshot.c, docs/DOCUMENTS.md):
 *  - a state loaded from a snapshot plus the replayed tail equals a rebuild from the
 *    whole log (digest), reads and as-of reads included, over random workloads;
 *  - a damaged, missing or replayed (older) fragment is detected: open falls back to
 *    the log with the same state, stat and verify report it, a new snapshot heals it;
 *  - an I/O failure at every point of writing a snapshot leaves the old snapshot in
 *    force, the state unchanged, and no stray file after the next open.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stele.h"
#include "testutil.h"
#include "util/io.h"

static char store[600];

/* REQUIRE for functions that return a value: a failed precondition ends the run. */
#define MUST(cond, ...)                                   \
    do {                                                  \
        if (!(cond)) {                                    \
            test_fail(__FILE__, __LINE__, __VA_ARGS__);   \
            abort();                                      \
        }                                                 \
    } while (0)

static stele *open_opts(int rebuild, int read_only)
{
    stele *db = NULL;
    stele_open_options o = {.store_dir = store, .user = "ada", .password = "pw",
                            .password_len = 2, .rebuild = rebuild, .read_only = read_only};
    if (stele_open(&o, &db) != STELE_OK) {
        fprintf(stderr, "open: %s\n", stele_errmsg(db));
        stele_close(db);
        return NULL;
    }
    return db;
}

static stele *open_ex(int rebuild) { return open_opts(rebuild, 0); }

static void make_store(const char *name, uint32_t segment_size)
{
    snprintf(store, sizeof store, "%s/%s", test_tmpdir(), name);
    stele_init_options io = {.store_dir = store, .user = "ada", .password = "pw",
                             .password_len = 2, .kdf = STELE_KDF_INSECURE_TEST,
                             .segment_size = segment_size, .checkpoint_every = 50};
    char err[512];
    REQUIRE(stele_store_init(&io, err, sizeof err) == STELE_OK, "init: %s", err);
}

static stele_status txn(stele *db, const char *text)
{
    return stele_txn(db, text, strlen(text), NULL, NULL);
}

/* One random transaction over collections a/b and ids k0..k39; failures are fine. */
static void random_txn(stele *db)
{
    static const char *const colls[] = {"a", "b"};
    char t[2048];
    const char *c = colls[test_rand() % 2];
    unsigned k = (unsigned)(test_rand() % 40), r = (unsigned)(test_rand() % 100);
    switch (test_rand() % 6) {
    case 0:
    case 1:
        snprintf(t, sizeof t,
                 "{\"ops\":[{\"op\":\"insert\",\"coll\":\"%s\",\"doc\":{\"_id\":\"k%u\","
                 "\"n\":%u,\"s\":\"%*s\",\"tags\":[%u,\"x\"]}}]}",
                 c, k, r, (int)(r * 37 % 700), "", r % 7);
        break;
    case 2:
        snprintf(t, sizeof t, "{\"ops\":[{\"op\":\"patch\",\"coll\":\"%s\",\"id\":\"k%u\","
                              "\"doc\":{\"n\":%u,\"p\":{\"q\":true}}}]}", c, k, r);
        break;
    case 3:
        snprintf(t, sizeof t, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"%s\",\"id\":\"k%u\"}]}",
                 c, k);
        break;
    case 4:
        snprintf(t, sizeof t, "{\"ops\":[{\"op\":\"restore\",\"coll\":\"%s\",\"id\":\"k%u\"}]}",
                 c, k);
        break;
    default:
        snprintf(t, sizeof t, "{\"ops\":[{\"op\":\"replace\",\"coll\":\"%s\",\"id\":\"k%u\","
                              "\"doc\":{\"r\":%u}}]}", c, k, r);
        break;
    }
    (void)txn(db, t);
}

static void digest_of(stele *db, char out[65])
{
    REQUIRE(stele_docs_digest(db, out) == STELE_OK, "digest: %s", stele_errmsg(db));
}

/* The digest of a state rebuilt from the whole log (snapshot ignored). */
static void rebuilt_digest(char out[65])
{
    stele *db = open_ex(1);
    REQUIRE(db != NULL, "rebuild open failed");
    digest_of(db, out);
    stele_close(db);
}

static uint64_t stat_number(stele *db, const char *key)
{
    char *json = NULL;
    MUST(stele_stat(db, &json) == STELE_OK, "stat: %s", stele_errmsg(db));
    const char *p = strstr(json, "\"snapshot\":");
    MUST(p != NULL, "stat has no snapshot member: %s", json);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *q = strstr(p, pat);
    MUST(q != NULL, "snapshot member has no %s: %s", key, json);
    uint64_t v = strtoull(q + strlen(pat), NULL, 10);
    stele_free(json);
    return v;
}

/* A number member of stat outside "snapshot" (e.g. "segments"). */
static uint64_t stat_top(stele *db, const char *key)
{
    char *json = NULL;
    MUST(stele_stat(db, &json) == STELE_OK, "stat: %s", stele_errmsg(db));
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *q = strstr(json, pat);
    MUST(q != NULL, "stat has no %s: %s", key, json);
    uint64_t v = strtoull(q + strlen(pat), NULL, 10);
    stele_free(json);
    return v;
}

static int stat_has_problem(stele *db)
{
    char *json = NULL;
    MUST(stele_stat(db, &json) == STELE_OK, "stat: %s", stele_errmsg(db));
    int has = strstr(json, "\"problem\":null") == NULL;
    stele_free(json);
    return has;
}

/* Names of the files in the database's data/ directory. */
typedef struct names {
    char n[64][40];
    int count;
} names;

static void list_data(names *out)
{
    char dbs[700];
    snprintf(dbs, sizeof dbs, "%s/dbs", store);
    DIR *d = opendir(dbs);
    REQUIRE(d != NULL, "no dbs dir");
    struct dirent *de;
    char data[1000] = "";
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') snprintf(data, sizeof data, "%s/%s/data", dbs, de->d_name);
    closedir(d);
    out->count = 0;
    d = opendir(data);
    REQUIRE(d != NULL, "no data dir");
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && !strstr(de->d_name, ".tmp") && out->count < 64)
            snprintf(out->n[out->count++], sizeof out->n[0], "%s", de->d_name);
    closedir(d);
}

static void data_path(const char *name, char *out, size_t cap)
{
    char dbs[700];
    snprintf(dbs, sizeof dbs, "%s/dbs", store);
    DIR *d = opendir(dbs);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') snprintf(out, cap, "%s/%s/data/%s", dbs, de->d_name, name);
    if (d) closedir(d);
}

static int in_names(const names *a, const char *n)
{
    for (int i = 0; i < a->count; i++)
        if (strcmp(a->n[i], n) == 0) return 1;
    return 0;
}

/* Files in after that are not in before (the new snapshot's fragments). */
static int new_files(const names *before, const names *after, names *out)
{
    out->count = 0;
    for (int i = 0; i < after->count; i++)
        if (!in_names(before, after->n[i]))
            snprintf(out->n[out->count++], sizeof out->n[0], "%s", after->n[i]);
    return out->count;
}

/* ---- tests ---- */

static void test_snapshot_equals_rebuild(void)
{
    make_store("eq", 65536);
    stele *db = open_ex(0);
    REQUIRE(db != NULL, "open");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"a\"},"
                    "{\"op\":\"create_collection\",\"coll\":\"b\"}]}") == STELE_OK, "colls");
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 150; i++) random_txn(db);
        if (round == 0) /* index definitions are state too */
            REQUIRE(stele_index_create(db, "a", "n") == STELE_OK, "index: %s", stele_errmsg(db));
        if (round == 2)
            REQUIRE(stele_index_create(db, "b", "s") == STELE_OK, "index: %s", stele_errmsg(db));
        if (round == 1)
            REQUIRE(txn(db, "{\"ops\":[{\"op\":\"rename_collection\",\"coll\":\"b\","
                            "\"to\":\"b2\"},{\"op\":\"create_collection\",\"coll\":\"b\"}]}") ==
                        STELE_OK, "rename");
        uint64_t snap_at = stele_head(db);
        REQUIRE(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
        CHECK(stat_number(db, "lsn") == snap_at, "snapshot LSN is not the head");
        for (int i = 0; i < 40 * round; i++) random_txn(db); /* a tail to replay */
        char live[65], loaded[65], rebuilt[65];
        digest_of(db, live);
        uint64_t head = stele_head(db);
        char *mid_doc = NULL;
        stele_status mid = stele_doc_get(db, "a", "k3", snap_at, &mid_doc);
        stele_close(db);
        rebuilt_digest(rebuilt);
        db = open_ex(0);
        REQUIRE(db != NULL, "reopen");
        CHECK(stat_number(db, "loaded_from") == snap_at, "the snapshot was not used at open");
        CHECK(!stat_has_problem(db), "a fresh snapshot reported a problem");
        CHECK(stele_head(db) >= head, "records were lost");
        digest_of(db, loaded);
        CHECK(strcmp(live, loaded) == 0, "round %d: loaded state differs from the live one",
              round);
        CHECK(strcmp(rebuilt, loaded) == 0, "round %d: loaded state differs from a rebuild",
              round);
        char *again = NULL;
        stele_status mid2 = stele_doc_get(db, "a", "k3", snap_at, &again);
        CHECK(mid == mid2, "as-of read changed its status after loading the snapshot");
        if (mid == STELE_OK && mid2 == STELE_OK)
            CHECK(strcmp(mid_doc, again) == 0, "as-of read differs: %s vs %s", mid_doc, again);
        stele_free(mid_doc);
        stele_free(again);
        CHECK(stele_verify(db, 0, NULL) == STELE_OK, "verify: %s", stele_errmsg(db));
    }
    stele_close(db);
}

/* A store with a snapshot whose fragments are returned in *frags. */
static void store_with_snapshot(const char *name, names *frags)
{
    make_store(name, 65536);
    stele *db = open_ex(0);
    REQUIRE(db != NULL, "open");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"a\"},"
                    "{\"op\":\"create_collection\",\"coll\":\"b\"}]}") == STELE_OK, "colls");
    for (int i = 0; i < 1000; i++) random_txn(db);
    names before, after;
    list_data(&before);
    REQUIRE(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    list_data(&after);
    stele_close(db);
    REQUIRE(new_files(&before, &after, frags) >= 2, "expected a multi-fragment snapshot");
}

/* Reads every document k0..k39 of a and b: each either reads (then as in a rebuild)
 * or fails as corrupt, never anything else; returns how many failed. */
static int read_all(stele *db, stele *ref)
{
    int bad = 0;
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < 40; k++) {
            char id[8];
            char *got = NULL, *want = NULL;
            snprintf(id, sizeof id, "k%d", k);
            stele_status g = stele_doc_get(db, c ? "b" : "a", id, 0, &got);
            stele_status w = stele_doc_get(ref, c ? "b" : "a", id, 0, &want);
            if (g == STELE_ECORRUPT) bad++;
            else CHECK(g == w && (g != STELE_OK || strcmp(got, want) == 0),
                       "doc %s: %d '%s' where a rebuild gives %d '%s'", id, g, got ? got : "",
                       w, want ? want : "");
            stele_free(got);
            stele_free(want);
        }
    return bad;
}

/* Opens after damage. A damaged directory: the state is derived from the log (same
 * as a rebuild), stat and verify report it. A damaged partition: the snapshot loads,
 * and the documents of that partition fail as corrupt when read (never served),
 * which stat and verify report. Either way a new snapshot heals it. */
static int seen_directory, seen_partition; /* which kind of damage check_fallback met */

static void check_fallback(const char *what)
{
    char rebuilt[65], got[65];
    rebuilt_digest(rebuilt);
    stele *ref = open_opts(1, 1); /* a reader beside the writer */
    REQUIRE(ref != NULL, "%s: rebuild open", what);
    stele *db = open_ex(0);
    REQUIRE(db != NULL, "%s: open failed instead of falling back to the log", what);
    if (stat_number(db, "loaded_from") == 0) { /* the directory */
        seen_directory++;
        digest_of(db, got);
        CHECK(strcmp(got, rebuilt) == 0, "%s: state differs from a rebuild", what);
        CHECK(stat_has_problem(db), "%s: stat does not report the problem", what);
    } else { /* a partition */
        seen_partition++;
        CHECK(read_all(db, ref) > 0, "%s: no document read failed", what);
        CHECK(stele_docs_digest(db, got) == STELE_ECORRUPT, "%s: digest served", what);
        CHECK(stat_has_problem(db), "%s: stat does not report the problem", what);
    }
    stele_close(ref);
    stele_status v = stele_verify(db, 0, NULL);
    CHECK(v == STELE_ECORRUPT, "%s: verify returned %d", what, v);
    CHECK(strstr(stele_errmsg(db), "snapshot") != NULL, "%s: verify message: %s", what,
          stele_errmsg(db));
    REQUIRE(stele_snapshot(db) == STELE_OK, "%s: re-snapshot: %s", what, stele_errmsg(db));
    CHECK(stele_verify(db, 0, NULL) == STELE_OK, "%s: verify after a new snapshot: %s", what,
          stele_errmsg(db));
    digest_of(db, got);
    CHECK(strcmp(got, rebuilt) == 0, "%s: state differs after the new snapshot", what);
    stele_close(db);
    db = open_ex(0);
    REQUIRE(db != NULL, "reopen");
    CHECK(stat_number(db, "loaded_from") > 0, "%s: the new snapshot is not used", what);
    digest_of(db, got);
    CHECK(strcmp(got, rebuilt) == 0, "%s: state differs after healing", what);
    stele_close(db);
}

static void flip_byte(const char *name, long off)
{
    char path[1200];
    data_path(name, path, sizeof path);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0, "open %s", path);
    unsigned char b;
    REQUIRE(pread(fd, &b, 1, off) == 1, "read");
    b ^= 0x10;
    REQUIRE(pwrite(fd, &b, 1, off) == 1, "write");
    close(fd);
}

static void test_damaged_fragment(void)
{
    /* offsets in a header box or early in the first body box: every fragment file has
     * both there (a later offset may fall in a short file's padding, which only the
     * manifest's hash and verify see) */
    static const long offsets[] = {5, 40, 128 + 3, 128 + 12 + 100, 128 + 12 + 60};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "flip%zu", i);
        names frags;
        store_with_snapshot(name, &frags);
        flip_byte(frags.n[i % (size_t)frags.count], offsets[i]);
        check_fallback(name);
    }
    /* then the body of every file of one snapshot in turn, each in a copy of the store:
     * the directory's fragment and the partitions' files are all met */
    names files;
    store_with_snapshot("flipbase", &files);
    char base[sizeof store];
    memcpy(base, store, sizeof base);
    REQUIRE(files.count <= 48, "a snapshot of %d files (the test keeps it small)", files.count);
    for (int f = 0; f < files.count; f++) {
        char name[32], cmd[1400];
        snprintf(name, sizeof name, "flipall%d", f);
        snprintf(store, sizeof store, "%s/%s", test_tmpdir(), name);
        snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", base, store);
        REQUIRE(system(cmd) == 0, "copy the store");
        flip_byte(files.n[f], 128 + 12 + 100);
        check_fallback(name);
    }
    CHECK(seen_directory > 0 && seen_partition > 0,
          "damage met the directory %d times and a partition %d times", seen_directory,
          seen_partition);
}

static void test_missing_fragment(void)
{
    names frags;
    store_with_snapshot("missing", &frags);
    char path[1200];
    data_path(frags.n[frags.count - 1], path, sizeof path);
    REQUIRE(unlink(path) == 0, "unlink");
    check_fallback("missing fragment");
}

/* An old fragment copied over a new one (same name): the AAD binds the file id and
 * snapshot LSN, so the old bytes do not authenticate in their new place. */
static void test_replayed_fragment(void)
{
    names old_frags, all_old, all_new, new_frags;
    store_with_snapshot("replay", &old_frags);
    char oldp[1200], newp[1200];
    data_path(old_frags.n[0], oldp, sizeof oldp);
    uint8_t *old_bytes = NULL;
    size_t old_len = 0;
    util_err e;
    REQUIRE(io_read_file(oldp, 1u << 20, &old_bytes, &old_len, &e) == STELE_OK, "read old");
    stele *db = open_ex(0);
    REQUIRE(db != NULL, "open");
    for (int i = 0; i < 50; i++) random_txn(db);
    list_data(&all_old); /* after the writes: a segment rolled by them is not "new" */
    REQUIRE(stele_snapshot(db) == STELE_OK, "snapshot");
    list_data(&all_new);
    stele_close(db);
    REQUIRE(new_files(&all_old, &all_new, &new_frags) >= 1, "no new fragment");
    CHECK(access(oldp, F_OK) != 0, "the replaced snapshot's fragment was not removed");
    data_path(new_frags.n[0], newp, sizeof newp);
    int fd = open(newp, O_WRONLY | O_TRUNC);
    REQUIRE(fd >= 0 && write(fd, old_bytes, old_len) == (ssize_t)old_len, "overwrite");
    close(fd);
    free(old_bytes);
    check_fallback("replayed fragment");
}

/* Every write/sync of a snapshot fails once in turn: the previous snapshot stays in
 * force, the live state is unchanged, and the next open leaves no stray fragment. */
static void test_snapshot_write_faults(void)
{
    names frags;
    store_with_snapshot("faults", &frags);
    static const io_fault_kind kinds[] = {IO_FAULT_EIO_WRITE, IO_FAULT_ENOSPC_WRITE,
                                          IO_FAULT_EIO_SYNC};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (uint64_t nth = 1; nth < 64; nth++) {
            stele *db = open_ex(0);
            REQUIRE(db != NULL, "open");
            random_txn(db);
            random_txn(db);
            char before[65], after[65];
            digest_of(db, before);
            io_fault_arm(kinds[k], nth);
            stele_status rc = stele_snapshot(db);
            int fired = io_fault_fired();
            io_fault_disarm();
            digest_of(db, after);
            CHECK(strcmp(before, after) == 0, "a failed snapshot changed the state");
            stele_close(db);
            db = open_ex(0);
            REQUIRE(db != NULL, "reopen after fault %zu/%llu", k, (unsigned long long)nth);
            char reopened[65], rebuilt[65];
            digest_of(db, reopened);
            names files_after;
            list_data(&files_after);
            uint64_t expect = stat_top(db, "segments") + stat_number(db, "fragments") +
                              3; /* the two manifest copies and the key slots */
            CHECK((uint64_t)files_after.count == expect,
                  "fault %zu/%llu: %d data files after reopen, %llu segments and fragments",
                  k, (unsigned long long)nth, files_after.count, (unsigned long long)expect);
            CHECK(rc == STELE_OK || !stat_has_problem(db), "a failed snapshot damaged the old");
            stele_close(db);
            rebuilt_digest(rebuilt);
            CHECK(strcmp(reopened, rebuilt) == 0, "state after a failed snapshot is wrong");
            if (!fired) break; /* past the last I/O call of a snapshot */
        }
    }
}

int main(void)
{
    TEST_RUN(test_snapshot_equals_rebuild);
    TEST_RUN(test_damaged_fragment);
    TEST_RUN(test_missing_fragment);
    TEST_RUN(test_replayed_fragment);
    TEST_RUN(test_snapshot_write_faults);
    return test_summary();
}
