/*
 * access_test.c — users, databases, sharing, roles and revocation through the public
 * API, plus checks on the files with the internal key types (what a revoked member
 * holding an old copy of the key file could decrypt).
 *
 * Store: ada (admin, from test_store_new), bob and carol added by ada. Ada's database
 * "proj" is shared and revoked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "ledger/format.h"
#include "ledger/ledger.h"
#include "testutil.h"
#include "util/io.h"
#include "vault/vault.h"

#define SEG 65536u

static char err[1024];

static stele_login as(const char *store, const char *user, const char *pw)
{
    return (stele_login){store, user, pw, strlen(pw)};
}

static void add_user(const char *store, const char *name, const char *pw)
{
    stele_login a = as(store, "ada", "pw");
    if (stele_user_add(&a, name, pw, strlen(pw), STELE_KDF_INSECURE_TEST, SEG, err,
                       sizeof err) != STELE_OK) {
        fprintf(stderr, "user add %s: %s\n", name, err);
        abort();
    }
}

static stele_status open_as(const char *store, const char *user, const char *pw,
                            const char *dbname, int read_only, stele **out)
{
    stele_open_options o = {.store_dir = store, .user = user, .password = pw,
                            .password_len = strlen(pw), .db = dbname, .read_only = read_only,
                            .no_checkpoint_on_close = 1};
    stele_status rc = stele_open(&o, out);
    if (rc != STELE_OK) {
        util_strlcpy(err, stele_errmsg(*out), sizeof err);
        stele_close(*out);
        *out = NULL;
    }
    return rc;
}

static stele_status put(stele *db, const char *id)
{
    char txn[256];
    snprintf(txn, sizeof txn,
             "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"%s\"}}]}", id);
    return stele_txn(db, txn, strlen(txn), NULL, NULL);
}

static int has_doc(stele *db, const char *id)
{
    char *json = NULL;
    stele_status rc = stele_doc_get(db, "c", id, 0, &json);
    stele_free(json);
    return rc == STELE_OK;
}

/* A store with ada's database "proj" holding collection c and document d1. */
static void setup(char *store, size_t cap)
{
    test_store_new(store, cap, SEG, 0);
    add_user(store, "bob", "bpw");
    add_user(store, "carol", "cpw");
    stele_login a = as(store, "ada", "pw");
    if (stele_db_create(&a, "proj", SEG, err, sizeof err) != STELE_OK) {
        fprintf(stderr, "db create: %s\n", err);
        abort();
    }
    stele *db;
    const char *mk = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}";
    if (open_as(store, "ada", "pw", "proj", 0, &db) != STELE_OK ||
        stele_txn(db, mk, strlen(mk), NULL, NULL) != STELE_OK || put(db, "d1") != STELE_OK) {
        fprintf(stderr, "setup: %s\n", db ? stele_errmsg(db) : err);
        abort();
    }
    stele_close(db);
}

static void dbdir_of(const char *store, const char *user, const char *pw, const char *name,
                     char *out, size_t cap)
{
    vault_user u;
    uint8_t *dek = NULL, id[16];
    util_err e;
    char shown[200];
    if (vault_user_load(store, user, &u, &e) != STELE_OK ||
        vault_user_unlock(&u, pw, strlen(pw), &dek, &e) != STELE_OK ||
        api_db_resolve(store, &u, dek, name, id, shown, &e) != STELE_OK) {
        fprintf(stderr, "dbdir_of: %s\n", e.msg);
        abort();
    }
    crypto_secure_free(dek);
    vault_db_dir(store, id, out, cap);
}

/* The database id: the name of its directory. */
static void dir_id(const char *db_dir, uint8_t id[16])
{
    const char *base = strrchr(db_dir, '/');
    if (!base || crypto_unhex(base + 1, id, 16) != 0) memset(id, 0, 16);
}

static void test_isolation(void)
{
    char store[512], ada_primary[1024], bob_primary[1024], path[1200];
    setup(store, sizeof store);
    stele *db = NULL;
    CHECK(open_as(store, "bob", "bpw", "ada/primary", 1, &db) == STELE_EACCESS,
          "bob opened ada's primary: %s", err);
    CHECK(open_as(store, "bob", "bpw", "ada/proj", 1, &db) == STELE_EACCESS &&
              strstr(err, "no access"), "bob opened ada's unshared proj: %s", err);
    CHECK(open_as(store, "bob", "bpw", "proj", 1, &db) == STELE_ENOTFOUND,
          "bob's own 'proj' should not exist: %s", err);
    CHECK(open_as(store, "bob", "pw", NULL, 1, &db) == STELE_EPASSWORD,
          "bob opened with ada's password");
    /* Copying ada's primary into bob's place gives bob nothing: no slot of his. */
    dbdir_of(store, "ada", "pw", "primary", ada_primary, sizeof ada_primary);
    dbdir_of(store, "bob", "bpw", "primary", bob_primary, sizeof bob_primary);
    snprintf(path, sizeof path, "rm -rf '%s' && cp -r '%s' '%s'", bob_primary, ada_primary,
             bob_primary);
    REQUIRE(system(path) == 0, "copy failed");
    stele_status rc = open_as(store, "bob", "bpw", NULL, 1, &db);
    CHECK(rc == STELE_ENOTFOUND, "bob opened a copy of ada's primary (rc %d): %s", rc, err);
    /* and with ada's key slot file renamed to the name bob's database would use */
    uint8_t ada_id[16], bob_id[16];
    char from[1300], to[1300];
    dir_id(ada_primary, ada_id);
    dir_id(bob_primary, bob_id);
    vault_slots_path(bob_primary, ada_id, from, sizeof from);
    vault_slots_path(bob_primary, bob_id, to, sizeof to);
    REQUIRE(rename(from, to) == 0, "rename %s: %s", from, strerror(errno));
    rc = open_as(store, "bob", "bpw", NULL, 1, &db);
    CHECK(rc == STELE_EACCESS, "bob opened a copy of ada's primary (rc %d): %s", rc, err);
    /* The primary is never shared. */
    REQUIRE(open_as(store, "ada", "pw", NULL, 0, &db) == STELE_OK, "ada: %s", err);
    CHECK(stele_db_share(db, "bob", "reader") == STELE_EINVAL &&
              strstr(stele_errmsg(db), "never shared"), "primary shared: %s", stele_errmsg(db));
    stele_close(db);
    /* Only an admin adds users. */
    stele_login b = as(store, "bob", "bpw");
    CHECK(stele_user_add(&b, "dave", "d", 1, STELE_KDF_INSECURE_TEST, SEG, err, sizeof err) ==
              STELE_EACCESS, "bob (not an admin) added a user");
}

static void test_backoff(void)
{
    char store[512];
    test_store_new(store, sizeof store, SEG, 0);
    stele *db = NULL;
    for (int i = 1; i <= 3; i++)
        CHECK(open_as(store, "ada", "nope", NULL, 1, &db) == STELE_EPASSWORD,
              "wrong password %d accepted", i);
    CHECK(strstr(err, "must wait 2 s") != NULL, "third failure does not say the wait: %s", err);
    CHECK(open_as(store, "ada", "pw", NULL, 1, &db) == STELE_EBACKOFF &&
              strstr(err, "try again in"), "the right password during a wait: %s", err);
    vault_user u;
    util_err e;
    REQUIRE(vault_user_load(store, "ada", &u, &e) == STELE_OK, "%s", e.msg);
    CHECK(u.failures == 3 && u.retry_after_ns > 0, "failures %llu not recorded",
          (unsigned long long)u.failures);
    CHECK(vault_backoff_s(4) == 4 && vault_backoff_s(40) == VAULT_BACKOFF_MAX_S,
          "back-off doubles and is capped");
    u.retry_after_ns = 1; /* the wait is over */
    REQUIRE(vault_user_save(store, &u, &e) == STELE_OK, "%s", e.msg);
    REQUIRE(open_as(store, "ada", "pw", NULL, 1, &db) == STELE_OK, "after the wait: %s", err);
    stele_close(db);
    REQUIRE(vault_user_load(store, "ada", &u, &e) == STELE_OK, "%s", e.msg);
    CHECK(u.failures == 0 && u.retry_after_ns == 0, "a good password did not reset the count");
}

/* Ada shares proj with bob as `role`, then bob opens it for writing into *b. 0 or -1. */
static int bob_as(const char *store, const char *role, stele **b)
{
    stele *db = NULL;
    int ok = open_as(store, "ada", "pw", "proj", 0, &db) == STELE_OK &&
             stele_db_share(db, "bob", role) == STELE_OK;
    if (!ok && db) util_strlcpy(err, stele_errmsg(db), sizeof err);
    stele_close(db);
    return ok && open_as(store, "bob", "bpw", "ada/proj", 0, b) == STELE_OK ? 0 : -1;
}

static void test_roles(void)
{
    char store[512];
    setup(store, sizeof store);
    stele *db = NULL, *b = NULL;
    REQUIRE(open_as(store, "ada", "pw", "proj", 0, &db) == STELE_OK, "%s", err);
    REQUIRE(stele_db_share(db, "bob", "reader") == STELE_OK, "%s", stele_errmsg(db));
    CHECK(stele_db_share(db, "bob", "boss") == STELE_EINVAL, "unknown role accepted");
    stele_close(db);
    /* reader: reads, cannot write (even when asking for a writable handle) or share */
    REQUIRE(open_as(store, "bob", "bpw", "ada/proj", 0, &b) == STELE_OK, "%s", err);
    CHECK(has_doc(b, "d1"), "the reader cannot read");
    CHECK(put(b, "x") == STELE_EACCESS && strstr(stele_errmsg(b), "reader"), "reader wrote: %s",
          stele_errmsg(b));
    CHECK(stele_append(b, "{}", 2, NULL, NULL, NULL) == STELE_EACCESS, "reader appended");
    CHECK(stele_checkpoint(b, NULL) == STELE_EACCESS, "reader wrote a checkpoint");
    CHECK(stele_db_share(b, "carol", "reader") == STELE_EACCESS, "reader shared");
    stele_close(b);
    /* writer: writes, cannot share or revoke */
    REQUIRE(bob_as(store, "writer", &b) == 0, "%s", err);
    CHECK(put(b, "by-bob") == STELE_OK, "writer cannot write: %s", stele_errmsg(b));
    CHECK(stele_db_share(b, "carol", "reader") == STELE_EACCESS, "writer shared");
    stele_close(b);
    /* admin member: shares and revokes */
    REQUIRE(bob_as(store, "admin", &b) == 0, "%s", err);
    CHECK(stele_db_share(b, "carol", "reader") == STELE_OK, "admin cannot share: %s",
          stele_errmsg(b));
    CHECK(stele_db_revoke(b, "carol", 0) == STELE_OK, "admin cannot revoke: %s",
          stele_errmsg(b));
    CHECK(put(b, "after-admin-revoke") == STELE_OK, "%s", stele_errmsg(b));
    stele_close(b);
    CHECK(open_as(store, "carol", "cpw", "ada/proj", 1, &b) == STELE_EACCESS,
          "carol still has access");
    /* the owner still opens (its slot was sealed to it by the admin) and reads all */
    REQUIRE(open_as(store, "ada", "pw", "proj", 0, &db) == STELE_OK, "owner: %s", err);
    CHECK(has_doc(db, "d1") && has_doc(db, "by-bob") && has_doc(db, "after-admin-revoke"),
          "the owner lost data");
    char *rep = NULL;
    CHECK(stele_verify(db, 0, &rep) == STELE_OK, "verify: %s", stele_errmsg(db));
    stele_free(rep);
    stele_close(db);
}

/* 1 if the data file's header (segment, fragment or manifest copy) authenticates under
 * a key of k (the associated data binds database, file, epoch and kind: FORMAT.md). */
static int file_opens(const vault_dbkeys *k, const char *path, const uint8_t id[16])
{
    uint8_t area[128];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    int ok = pread(fd, area, sizeof area, 0) == (ssize_t)sizeof area;
    close(fd);
    for (uint32_t ep = 1; ok && ep <= k->epoch; ep++) {
        const char *purposes[2] = {"file key", "fragment key"};
        for (int p = 0; p < 2; p++) {
            crypto_gcm *g = NULL;
            util_err e;
            if (ledger_file_key(k, ep, purposes[p], id, &g, &e) != STELE_OK) continue;
            seghdr h;
            uint8_t pt[64], aad[SEALED_AAD_BYTES];
            size_t an = sealed_aad(aad, "FRGH", k->db_id, id, ep, FILE_KIND_FRAGMENT);
            int good = p == 0 ? seghdr_open(g, k->db_id, id, ep, area, &h) == 0
                              : crypto_gcm_open(g, area, aad, an, area + 12, 64, area + 76,
                                                pt) == 0;
            crypto_gcm_free(g);
            if (good) return 1;
        }
        uint8_t key[32], pt[64], aad[SEALED_AAD_BYTES];
        size_t an = sealed_aad(aad, "MNFH", k->db_id, id, ep, FILE_KIND_MANIFEST);
        int good = vault_derive_epoch(k, ep, "superblock", NULL, 0, key) == 0 &&
                   crypto_unwrap(key, aad, an, area, 64 + CRYPTO_WRAP_OVERHEAD, pt) == 0;
        crypto_wipe(key, sizeof key);
        if (good) return 1;
    }
    return 0;
}

/* Files of data/ sealed under file keys (the key slot file, opened through a slot, is
 * not counted). */
static void count_files(const char *db_dir, const vault_dbkeys *k, int *opens, int *total)
{
    uint8_t slots[16];
    REQUIRE(vault_slots_id(k->db_id, slots) == 0, "slots id");
    char data[1200];
    snprintf(data, sizeof data, "%s/data", db_dir);
    DIR *d = opendir(data);
    struct dirent *de;
    *opens = *total = 0;
    while (d && (de = readdir(d))) {
        uint8_t id[16];
        if (strlen(de->d_name) != 32 || crypto_unhex(de->d_name, id, 16) != 0 ||
            memcmp(id, slots, 16) == 0)
            continue;
        char p[1300];
        snprintf(p, sizeof p, "%s/%s", data, de->d_name);
        (*total)++;
        *opens += file_opens(k, p, id);
    }
    if (d) closedir(d);
}

/* Bob's keys as he could rebuild them from a copy of the key file he kept. */
static int old_keys(const char *store, const char *saved_dir, const uint8_t db_id[16],
                    vault_dbkeys *k)
{
    vault_user u;
    uint8_t *dek = NULL;
    util_err e;
    int ok = vault_user_load(store, "bob", &u, &e) == STELE_OK &&
             vault_user_unlock(&u, "bpw", 3, &dek, &e) == STELE_OK &&
             vault_db_unlock(saved_dir, db_id, &u, dek, VAULT_UNLOCK_ANY, k, &e) == STELE_OK;
    if (!ok) fprintf(stderr, "old_keys: %s\n", e.msg);
    crypto_secure_free(dek);
    return ok;
}

#define NBEFORE 300 /* documents before the revocation: several older segments */
#define NDURING 300 /* appended while the re-encryption runs: segments roll meanwhile */

/* Revokes bob with --reencrypt while the background job is held before its first
 * segment (ledger_reencrypt_hold), so that the appends below certainly run before it
 * has rewritten anything and while it runs; stat reports its progress. */
static void revoke_in_background(stele *db)
{
    ledger_reencrypt_hold(db->L, 1);
    REQUIRE(stele_db_revoke(db, "bob", 1) == STELE_OK, "revoke: %s", stele_errmsg(db));
    char *json = NULL;
    REQUIRE(stele_stat(db, &json) == STELE_OK, "stat: %s", stele_errmsg(db));
    const char *r = strstr(json, "\"reencryption\":");
    unsigned left = 0;
    CHECK(r && sscanf(r, "\"reencryption\":{\"running\":true,\"segments_left\":%u",
                      &left) == 1 && left >= 2,
          "stat does not show the running re-encryption with >= 2 segments left: %s", json);
    stele_free(json);
    ledger_reencrypt_hold(db->L, 0); /* from here on it runs with the appends */
    char id[32];
    for (int i = 0; i < NDURING; i++) {
        snprintf(id, sizeof id, "n%d", i);
        CHECK(put(db, id) == STELE_OK, "append during the re-encryption: %s", stele_errmsg(db));
    }
    CHECK(has_doc(db, "d1") && has_doc(db, "n0"), "reads during the re-encryption");
}

static void revocation(int reencrypt)
{
    char store[512], dir[1024], saved[1100], cmd[2400];
    setup(store, sizeof store);
    dbdir_of(store, "ada", "pw", "proj", dir, sizeof dir);
    stele *db = NULL, *b = NULL;
    REQUIRE(open_as(store, "ada", "pw", "proj", 0, &db) == STELE_OK, "%s", err);
    REQUIRE(stele_db_share(db, "bob", "reader") == STELE_OK, "%s", stele_errmsg(db));
    REQUIRE(stele_db_share(db, "carol", "writer") == STELE_OK, "%s", stele_errmsg(db));
    REQUIRE(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    stele_close(db);
    /* before: bob reads d1; he keeps a copy of the key file */
    REQUIRE(open_as(store, "bob", "bpw", "ada/proj", 1, &b) == STELE_OK, "%s", err);
    CHECK(has_doc(b, "d1"), "bob cannot read before the revocation");
    stele_close(b);
    snprintf(saved, sizeof saved, "%s.bobcopy", dir);
    uint8_t db_id[16];
    char slots[1200];
    dir_id(dir, db_id);
    vault_slots_path(dir, db_id, slots, sizeof slots);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/data' && cp '%s' '%s/data/'", saved, slots, saved);
    REQUIRE(system(cmd) == 0, "copy failed");
    REQUIRE(open_as(store, "ada", "pw", "proj", 0, &db) == STELE_OK, "%s", err);
    char id[32];
    for (int i = 0; i < NBEFORE && reencrypt; i++) {
        snprintf(id, sizeof id, "o%d", i);
        REQUIRE(put(db, id) == STELE_OK, "%s", stele_errmsg(db));
    }
    if (reencrypt) revoke_in_background(db);
    else REQUIRE(stele_db_revoke(db, "bob", 0) == STELE_OK, "revoke: %s", stele_errmsg(db));
    CHECK(put(db, "d2") == STELE_OK, "write after revoke: %s", stele_errmsg(db));
    CHECK(stele_close(db) == STELE_OK, "close (waits for the re-encryption) failed");
    /* after: bob has no access; carol (remaining) reads old and new */
    CHECK(open_as(store, "bob", "bpw", "ada/proj", 1, &b) == STELE_EACCESS, "bob still opens");
    REQUIRE(open_as(store, "carol", "cpw", "ada/proj", 0, &b) == STELE_OK, "carol: %s", err);
    CHECK(has_doc(b, "d1") && has_doc(b, "d2"), "carol lost data after the rotation");
    int lost = 0;
    for (int i = 0; i < NDURING && reencrypt; i++) {
        snprintf(id, sizeof id, "o%d", i);
        lost += !has_doc(b, id);
        snprintf(id, sizeof id, "n%d", i);
        lost += !has_doc(b, id);
    }
    CHECK(lost == 0, "%d documents written before or during the re-encryption are lost", lost);
    CHECK(put(b, "d3") == STELE_OK, "carol (writer) cannot write: %s", stele_errmsg(b));
    stele_close(b);
    REQUIRE(open_as(store, "ada", "pw", "proj", 1, &db) == STELE_OK, "ada: %s", err);
    char *rep = NULL;
    CHECK(stele_verify(db, 0, &rep) == STELE_OK, "verify after revoke: %s", stele_errmsg(db));
    stele_free(rep);
    stele_close(db);
    /* with his old key file, bob opens no file written after the revocation (and with
     * re-encryption none at all); ada's current keys open every file */
    vault_dbkeys old, now;
    REQUIRE(old_keys(store, saved, db_id, &old), "bob's old key file does not open");
    vault_user a;
    uint8_t *dek = NULL;
    util_err e;
    REQUIRE(vault_user_load(store, "ada", &a, &e) == STELE_OK &&
                vault_user_unlock(&a, "pw", 2, &dek, &e) == STELE_OK &&
                vault_db_unlock(dir, db_id, &a, dek, VAULT_UNLOCK_ANY, &now, &e) == STELE_OK,
            "%s", e.msg);
    crypto_secure_free(dek);
    int by_old, by_now, total;
    count_files(dir, &old, &by_old, &total);
    count_files(dir, &now, &by_now, &total);
    CHECK(now.epoch == 2 && old.epoch == 1, "epochs %u/%u", now.epoch, old.epoch);
    CHECK(by_now == total && total > 0, "current keys open %d of %d files", by_now, total);
    if (reencrypt)
        CHECK(by_old == 0, "after --reencrypt bob's old key still opens %d files", by_old);
    else
        CHECK(by_old > 0 && by_old < total, "old key opens %d of %d files (expected the older "
              "ones only)", by_old, total);
    /* and the superblock no longer opens with his key: no way to even list the log */
    ledger *L = NULL;
    ledger_config cfg = {.read_only = 1, .name = "bob's copy"};
    CHECK(ledger_open(dir, &old, a.id, &cfg, &L, &e) == STELE_ECORRUPT,
          "bob's old key opened the ledger after the revocation");
    vault_dbkeys_release(&old);
    vault_dbkeys_release(&now);
}

static void test_revocation(void) { revocation(0); }
static void test_revocation_reencrypt(void) { revocation(1); }

static void test_db_admin(void)
{
    char store[512];
    setup(store, sizeof store);
    stele_login a = as(store, "ada", "pw"), b = as(store, "bob", "bpw");
    char *json = NULL;
    CHECK(stele_db_create(&a, "proj", SEG, err, sizeof err) == STELE_EEXIST, "dup name");
    CHECK(stele_db_create(&a, "primary", SEG, err, sizeof err) == STELE_EEXIST, "primary");
    CHECK(stele_db_create(&b, "proj", SEG, err, sizeof err) == STELE_OK, "names are per user");
    CHECK(stele_db_drop(&a, "primary", err, sizeof err) == STELE_EINVAL, "primary dropped");
    CHECK(stele_db_rename(&a, "primary", "x", err, sizeof err) == STELE_EINVAL, "renamed");
    CHECK(stele_db_rename(&a, "proj", "work", err, sizeof err) == STELE_OK, "%s", err);
    stele *db = NULL;
    REQUIRE(open_as(store, "ada", "pw", "work", 1, &db) == STELE_OK, "renamed db: %s", err);
    CHECK(has_doc(db, "d1"), "data lost in the rename");
    stele_close(db);
    REQUIRE(stele_db_list(&a, &json, err, sizeof err) == STELE_OK, "%s", err);
    CHECK(strstr(json, "\"name\":\"work\"") && strstr(json, "\"primary\":true") &&
              !strstr(json, "\"proj\""), "list: %s", json);
    stele_free(json);
    CHECK(stele_db_drop(&a, "work", err, sizeof err) == STELE_OK, "%s", err);
    CHECK(open_as(store, "ada", "pw", "work", 1, &db) == STELE_ENOTFOUND, "dropped db opens");
    CHECK(stele_user_remove(&a, "ada", err, sizeof err) == STELE_EINVAL, "admin removed itself");
    CHECK(stele_user_remove(&a, "bob", err, sizeof err) == STELE_OK, "%s", err);
    CHECK(open_as(store, "bob", "bpw", NULL, 1, &db) == STELE_ENOTFOUND, "removed user opens");
    REQUIRE(stele_user_list(store, &json, err, sizeof err) == STELE_OK, "%s", err);
    CHECK(!strstr(json, "\"bob\"") && strstr(json, "\"carol\""), "user list: %s", json);
    stele_free(json);
}

int main(void)
{
    TEST_RUN(test_isolation);
    TEST_RUN(test_backoff);
    TEST_RUN(test_roles);
    TEST_RUN(test_revocation);
    TEST_RUN(test_revocation_reencrypt);
    TEST_RUN(test_db_admin);
    return test_summary();
}
