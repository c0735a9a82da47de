/*
 * vault_test.c — behaviour of src/vault: users, passwords, the KDF floor and names.
 * Layer: tests/unit.
 *
 * Users are created with the insecure test profile (Argon2id m = 8 MiB, t = 1) so the
 * suite stays fast; the default profile's floor is checked by editing a user file to
 * claim it (and fixing the file's checksum line, as an attacker or a careless editor
 * would), which vault_user_load must refuse before any key derivation runs.
 */
#include "vault/vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "testutil.h"
#include "util/io.h"

#define PW "correct horse battery staple"
#define PW2 "new password, also long"

static const char *new_store(void)
{
    static char dirs[16][600];
    static int n;
    char *d = dirs[n++ % 16];
    snprintf(d, 600, "%s/store", test_tmpdir());
    util_err e;
    if (vault_store_create(d, &e) != STELE_OK) {
        fprintf(stderr, "vault_store_create: %s\n", e.msg);
        abort();
    }
    return d;
}

static void user_file(const char *store, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/users/%s.user", store, name);
}

static int read_all(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
    return (int)n;
}

static int write_all(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Replaces the value of line "key ..." and rewrites the checksum line the way vault.c
 * computes it: SHA-256 of every byte before the "checksum " line. */
static int edit_user_line(const char *path, const char *key, const char *value, int fix_sum)
{
    char in[8192], out[8192];
    if (read_all(path, in, sizeof in) < 0) return -1;
    size_t o = 0, kl = strlen(key);
    int replaced = 0;
    for (char *line = in; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (strncmp(line, "checksum ", 9) == 0) break;
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
            o += (size_t)snprintf(out + o, sizeof out - o, "%s %s\n", key, value);
            replaced = 1;
        } else {
            memcpy(out + o, line, len);
            o += len;
        }
        line += len;
    }
    if (!replaced) return -1;
    uint8_t h[32];
    char hex[65];
    crypto_sha256(out, o, h);
    if (!fix_sum) h[0] ^= 1; /* keep a stale checksum */
    crypto_hex(h, 32, hex);
    snprintf(out + o, sizeof out - o, "checksum %s\n", hex);
    return write_all(path, out);
}

static void create_user(const char *store, const char *name, const char *pw, vault_user *u,
                        uint8_t **dek)
{
    uint8_t db[VAULT_ID_BYTES];
    crypto_random(db, sizeof db);
    util_err e;
    stele_status rc = vault_user_create(store, name, pw, strlen(pw), 1, db, u, dek, &e);
    if (rc != STELE_OK) {
        fprintf(stderr, "vault_user_create(%s): %s\n", name, e.msg);
        abort();
    }
}

static void test_create_load_unlock(void)
{
    const char *store = new_store();
    vault_user u, l;
    uint8_t *dek = NULL, *dek2 = NULL;
    util_err e;
    create_user(store, "alice", PW, &u, &dek);
    REQUIRE(dek != NULL, "no DEK returned");
    CHECK(u.insecure == 1 && u.kdf.ops == VAULT_KDF_TEST_OPS &&
              u.kdf.mem_kib == VAULT_KDF_TEST_MEM_KIB,
          "test profile parameters not applied (t=%llu m=%llu)", (unsigned long long)u.kdf.ops,
          (unsigned long long)u.kdf.mem_kib);
    REQUIRE(vault_user_load(store, "alice", &l, &e) == STELE_OK, "load: %s", e.msg);
    CHECK(strcmp(l.name, "alice") == 0, "name '%s'", l.name);
    CHECK(memcmp(l.id, u.id, sizeof u.id) == 0, "id differs after load");
    CHECK(l.kdf.ops == u.kdf.ops && l.kdf.mem_kib == u.kdf.mem_kib, "kdf differs after load");
    CHECK(l.insecure == 1, "profile lost after load");
    CHECK(memcmp(l.kek_salt, u.kek_salt, sizeof u.kek_salt) == 0, "kek_salt differs");
    CHECK(memcmp(l.wrapped_dek, u.wrapped_dek, sizeof u.wrapped_dek) == 0, "wrapped DEK differs");
    CHECK(memcmp(l.primary_db, u.primary_db, sizeof u.primary_db) == 0, "primary db differs");
    CHECK(strcmp(l.verifier, u.verifier) == 0, "verifier differs");
    CHECK(l.created_ns == u.created_ns && l.created_ns != 0, "created time differs");
    REQUIRE(vault_user_unlock(&l, PW, strlen(PW), &dek2, &e) == STELE_OK, "unlock: %s", e.msg);
    CHECK(memcmp(dek, dek2, CRYPTO_KEY_BYTES) == 0, "unlocked DEK differs from the created one");
    uint8_t zero[CRYPTO_KEY_BYTES] = {0};
    CHECK(memcmp(dek, zero, sizeof zero) != 0, "DEK is all zero");
    crypto_secure_free(dek2);
    dek2 = NULL;
    uint8_t db[VAULT_ID_BYTES] = {0};
    vault_user dup;
    CHECK(vault_user_create(store, "alice", "x", 1, 1, db, &dup, &dek2, &e) == STELE_EEXIST,
          "creating an existing user did not say EEXIST");
    CHECK(dek2 == NULL, "a DEK was returned for a refused create");
    CHECK(vault_user_load(store, "bob", &l, &e) == STELE_ENOTFOUND && e.msg[0],
          "loading a missing user did not say ENOTFOUND");
    crypto_secure_free(dek);
}

static void test_wrong_password(void)
{
    const char *store = new_store();
    vault_user u;
    uint8_t *dek = NULL;
    create_user(store, "carol", PW, &u, &dek);
    crypto_secure_free(dek);
    const char *wrong[] = {"", "correct horse battery stapl", PW "!",
                           "Correct horse battery staple"};
    size_t lens[] = {0, strlen(wrong[1]), strlen(wrong[2]), strlen(wrong[3])};
    for (size_t i = 0; i < 4; i++) {
        util_err e;
        uint8_t *d = (uint8_t *)1;
        stele_status rc = vault_user_unlock(&u, wrong[i], lens[i], &d, &e);
        CHECK(rc == STELE_EPASSWORD, "wrong password %zu gave %d", i, rc);
        CHECK(strcmp(e.msg, "wrong password for user carol") == 0, "message '%s'", e.msg);
        CHECK(d == NULL, "DEK pointer not cleared on a wrong password");
    }
    /* The password is bytes with a length, not a C string. */
    char withnul[sizeof PW + 1];
    memcpy(withnul, PW, sizeof PW);
    withnul[sizeof PW] = 'x';
    util_err e;
    uint8_t *d = NULL;
    CHECK(vault_user_unlock(&u, withnul, sizeof withnul, &d, &e) == STELE_EPASSWORD,
          "a password with a trailing NUL and byte was accepted");
    crypto_secure_free(d);
    /* Public API: the same status and message. */
    REQUIRE(vault_store_finish(store, &e) == STELE_OK, "finish: %s", e.msg);
    stele_open_options o = {.store_dir = store, .user = "carol", .password = "nope",
                            .password_len = 4};
    stele *db = NULL;
    CHECK(stele_open(&o, &db) == STELE_EPASSWORD, "stele_open with a wrong password");
    CHECK(strncmp(stele_errmsg(db), "wrong password for user carol (", 31) == 0, "errmsg '%s'",
          stele_errmsg(db));
    stele_close(db);
}

static void test_passwd(void)
{
    const char *store = new_store();
    vault_user u, after;
    uint8_t *dek = NULL, *d = NULL;
    util_err e;
    create_user(store, "dave", PW, &u, &dek);
    char path[700], before[8192], now[8192];
    user_file(store, "dave", path, sizeof path);
    REQUIRE(read_all(path, before, sizeof before) > 0, "cannot read the user file");
    CHECK(vault_user_passwd(store, "dave", "wrong", 5, PW2, strlen(PW2), &e) == STELE_EPASSWORD,
          "passwd with a wrong old password did not say EPASSWORD");
    CHECK(strstr(e.msg, "wrong password for user dave") != NULL, "message '%s'", e.msg);
    REQUIRE(read_all(path, now, sizeof now) > 0, "cannot read the user file");
    /* The refusal is counted (back-off), and nothing else in the file changes. */
    CHECK(strstr(now, "\nfailures 1\n") != NULL, "the failure was not counted");
    char *wb = strstr(before, "wrapped_dek"), *wn = strstr(now, "wrapped_dek");
    CHECK(wb && wn && strncmp(wb, wn, 200) == 0, "a refused passwd changed the wrapped key");
    REQUIRE(vault_user_passwd(store, "dave", PW, strlen(PW), PW2, strlen(PW2), &e) == STELE_OK,
            "passwd: %s", e.msg);
    REQUIRE(vault_user_load(store, "dave", &after, &e) == STELE_OK, "load: %s", e.msg);
    CHECK(vault_user_unlock(&after, PW, strlen(PW), &d, &e) == STELE_EPASSWORD,
          "the old password still unlocks after passwd");
    crypto_secure_free(d);
    d = NULL;
    REQUIRE(vault_user_unlock(&after, PW2, strlen(PW2), &d, &e) == STELE_OK,
            "the new password does not unlock: %s", e.msg);
    CHECK(memcmp(d, dek, CRYPTO_KEY_BYTES) == 0, "passwd changed the DEK (it must only re-wrap)");
    CHECK(memcmp(after.id, u.id, sizeof u.id) == 0, "passwd changed the user id");
    CHECK(memcmp(after.primary_db, u.primary_db, sizeof u.primary_db) == 0,
          "passwd changed the primary database");
    CHECK(after.created_ns == u.created_ns, "passwd changed the creation time");
    CHECK(memcmp(after.kek_salt, u.kek_salt, sizeof u.kek_salt) != 0,
          "passwd kept the old kek_salt (salts must be fresh)");
    CHECK(strcmp(after.verifier, u.verifier) != 0, "passwd kept the old verifier");
    CHECK(memcmp(after.wrapped_dek, u.wrapped_dek, sizeof u.wrapped_dek) != 0,
          "passwd kept the old wrapped DEK");
    CHECK(crypto_phc_verify(after.verifier, PW2, strlen(PW2)) == 0,
          "the new verifier does not match the new password");
    CHECK(crypto_phc_verify(after.verifier, PW, strlen(PW)) != 0,
          "the new verifier matches the old password");
    crypto_secure_free(d);
    crypto_secure_free(dek);
}

/* Decodes the salt field of "$argon2id$v=19$m=..,t=..,p=1$SALT$HASH". */
static int phc_salt(const char *phc, uint8_t *salt, size_t cap, size_t *len)
{
    const char *p = phc;
    for (int i = 0; i < 4; i++) {
        p = strchr(p, '$');
        if (!p) return -1;
        p++;
    }
    const char *end = strchr(p, '$');
    if (!end) return -1;
    return sodium_base642bin(salt, cap, p, (size_t)(end - p), NULL, len, NULL,
                             sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

static void test_verifier_salt_is_not_kek_salt(void)
{
    const char *store = new_store();
    vault_user a, b;
    uint8_t *dek = NULL;
    create_user(store, "erin", PW, &a, &dek);
    crypto_secure_free(dek);
    create_user(store, "frank", PW, &b, &dek); /* same password, another user */
    crypto_secure_free(dek);
    uint8_t sa[64], sb[64];
    size_t la = 0, lb = 0;
    REQUIRE(strncmp(a.verifier, "$argon2id$", 10) == 0, "verifier is not a PHC string: %s",
            a.verifier);
    REQUIRE(phc_salt(a.verifier, sa, sizeof sa, &la) == 0 && la >= 16,
            "cannot decode the verifier salt of '%s'", a.verifier);
    REQUIRE(phc_salt(b.verifier, sb, sizeof sb, &lb) == 0 && lb >= 16, "cannot decode salt");
    CHECK(la != CRYPTO_SALT_BYTES || memcmp(sa, a.kek_salt, CRYPTO_SALT_BYTES) != 0,
          "the PHC verifier uses the kek_salt: the verifier would then be the KEK's twin");
    CHECK(memcmp(sa, a.kek_salt, 8) != 0, "verifier salt shares a prefix with the kek_salt");
    CHECK(memcmp(a.kek_salt, b.kek_salt, CRYPTO_SALT_BYTES) != 0, "two users share a kek_salt");
    CHECK(la != lb || memcmp(sa, sb, la) != 0, "two users share a verifier salt");
    CHECK(strcmp(a.verifier, b.verifier) != 0, "same password gives the same verifier");
    char params[64];
    snprintf(params, sizeof params, "$m=%llu,t=%llu,p=1$", (unsigned long long)a.kdf.mem_kib,
             (unsigned long long)a.kdf.ops);
    CHECK(strstr(a.verifier, params) != NULL, "verifier '%s' does not carry the user's params",
          a.verifier);
    CHECK(crypto_phc_verify(a.verifier, PW, strlen(PW)) == 0, "verifier rejects the password");
    CHECK(crypto_phc_verify(a.verifier, "x", 1) != 0, "verifier accepts a wrong password");
}

static void test_kdf_floor(void)
{
    const char *store = new_store();
    vault_user u, l;
    uint8_t *dek = NULL;
    util_err e;
    char path[700], pristine[8192];
    create_user(store, "gina", PW, &u, &dek);
    crypto_secure_free(dek);
    user_file(store, "gina", path, sizeof path);
    REQUIRE(read_all(path, pristine, sizeof pristine) > 0, "cannot read the user file");
    struct {
        const char *profile, *kdf;
        stele_status want;
    } cases[] = {
        {"default", "argon2id t=1 m=8192 p=1", STELE_ECORRUPT},
        {"default", "argon2id t=3 m=262143 p=1", STELE_ECORRUPT},
        {"default", "argon2id t=2 m=262144 p=1", STELE_ECORRUPT},
        {"default", "argon2id t=0 m=0 p=1", STELE_ECORRUPT},
        {"fast", "argon2id t=1 m=8192 p=1", STELE_ECORRUPT}, /* unknown profile: floor applies */
        {"default", "argon2id t=3 m=262144 p=1", STELE_OK},   /* exactly the floor */
        {"default", "argon2id t=4 m=524288 p=1", STELE_OK},
        {"insecure-test", "argon2id t=1 m=8192 p=1", STELE_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        REQUIRE(write_all(path, pristine) == 0, "cannot restore the user file");
        REQUIRE(edit_user_line(path, "profile", cases[i].profile, 1) == 0 &&
                    edit_user_line(path, "kdf", cases[i].kdf, 1) == 0,
                "cannot edit the user file");
        util_err_clear(&e);
        stele_status rc = vault_user_load(store, "gina", &l, &e);
        CHECK(rc == cases[i].want, "profile %s, %s: load gave %d, want %d (%s)",
              cases[i].profile, cases[i].kdf, rc, cases[i].want, e.msg);
        if (cases[i].want == STELE_ECORRUPT)
            CHECK(strstr(e.msg, "below the floor") && strstr(e.msg, path),
                  "floor message does not say what and where: '%s'", e.msg);
        if (rc == STELE_OK) CHECK(l.insecure == (strcmp(cases[i].profile, "default") != 0),
                                  "insecure flag wrong for profile %s", cases[i].profile);
    }
    /* The public API refuses it too, before deriving anything. */
    REQUIRE(write_all(path, pristine) == 0, "cannot restore the user file");
    REQUIRE(edit_user_line(path, "profile", "default", 1) == 0, "cannot edit");
    char store_marker[700];
    snprintf(store_marker, sizeof store_marker, "%s", store);
    REQUIRE(vault_store_finish(store_marker, &e) == STELE_OK, "finish: %s", e.msg);
    stele_open_options o = {.store_dir = store, .user = "gina", .password = PW,
                            .password_len = strlen(PW)};
    stele *db = NULL;
    CHECK(stele_open(&o, &db) == STELE_ECORRUPT, "stele_open accepted a weakened user file");
    CHECK(strstr(stele_errmsg(db), "below the floor") != NULL, "errmsg '%s'", stele_errmsg(db));
    stele_close(db);
    /* A changed file whose checksum was not fixed is corrupt, whatever it claims. */
    REQUIRE(write_all(path, pristine) == 0, "cannot restore the user file");
    REQUIRE(edit_user_line(path, "kdf", "argon2id t=9 m=8192 p=1", 0) == 0, "cannot edit");
    CHECK(vault_user_load(store, "gina", &l, &e) == STELE_ECORRUPT &&
              strstr(e.msg, "checksum mismatch"),
          "stale checksum not reported: '%s'", e.msg);
    /* A file that names another user is corrupt. */
    REQUIRE(write_all(path, pristine) == 0, "cannot restore the user file");
    REQUIRE(edit_user_line(path, "name", "mallory", 1) == 0, "cannot edit");
    CHECK(vault_user_load(store, "gina", &l, &e) == STELE_ECORRUPT, "renamed user accepted");
    REQUIRE(write_all(path, pristine) == 0, "cannot restore the user file");
    CHECK(vault_user_load(store, "gina", &l, &e) == STELE_OK, "restored file: %s", e.msg);
}

static void test_names(void)
{
    char long_ok[VAULT_NAME_MAX + 1], too_long[VAULT_NAME_MAX + 2];
    memset(long_ok, 'n', VAULT_NAME_MAX);
    long_ok[VAULT_NAME_MAX] = 0;
    memset(too_long, 'n', VAULT_NAME_MAX + 1);
    too_long[VAULT_NAME_MAX + 1] = 0;
    const char *good[] = {"a", "A.b_c-9", "x.", "user-1", "0", long_ok};
    const char *bad[] = {"",     ".",    "..",   ".hidden", "a/b",     "../x",   "a b",
                         "a\n",  "a\\b", "é",    "a:b",     "a*",      "a\tb",   too_long,
                         "-\x01", "a$", "users/../../x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(vault_name_ok(good[i]), "valid name '%s' rejected", good[i]);
    const char *store = new_store();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(!vault_name_ok(bad[i]), "invalid name '%s' accepted", bad[i]);
        util_err e;
        vault_user u;
        uint8_t *dek = NULL, db[VAULT_ID_BYTES] = {0};
        CHECK(vault_user_create(store, bad[i], "pw", 2, 1, db, &u, &dek, &e) == STELE_EINVAL,
              "vault_user_create accepted '%s'", bad[i]);
        CHECK(dek == NULL, "DEK returned for an invalid name");
        CHECK(vault_user_load(store, bad[i], &u, &e) == STELE_EINVAL,
              "vault_user_load accepted '%s'", bad[i]);
    }
    char users[700], cmd[800];
    snprintf(users, sizeof users, "%s/users", store);
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", users);
    CHECK(system(cmd) == 0, "invalid names left files in %s", users);
    /* The public API: init with an invalid user creates nothing. */
    char dir[700];
    snprintf(dir, sizeof dir, "%s/never", test_tmpdir());
    stele_init_options io = {.store_dir = dir, .user = "../evil", .password = "pw",
                             .password_len = 2, .kdf = STELE_KDF_INSECURE_TEST};
    char err[256] = "";
    CHECK(stele_store_init(&io, err, sizeof err) == STELE_EINVAL && err[0],
          "init accepted user '../evil'");
    CHECK(!io_exists(dir), "a refused init left '%s' behind", dir);
}

/* User key pairs: wrapped by the user's own DEK, bound to the user and the purpose. */
static void test_user_keys(void)
{
    const char *store = new_store();
    vault_user a, b;
    uint8_t *adek = NULL, *bdek = NULL, *sk = NULL;
    util_err e;
    create_user(store, "anna", PW, &a, &adek);
    create_user(store, "bert", PW, &b, &bdek);
    CHECK(a.admin && !b.admin, "the first user is the admin, the second is not");
    REQUIRE(vault_user_box_sk(&a, adek, &sk, &e) == STELE_OK, "box sk: %s", e.msg);
    crypto_secure_free(sk);
    REQUIRE(vault_user_sig_sk(&a, adek, &sk, &e) == STELE_OK, "sig sk: %s", e.msg);
    CHECK(memcmp(sk + 32, a.sig_pk, 32) == 0, "the signing key does not match sig_pk");
    crypto_secure_free(sk);
    sk = NULL;
    CHECK(vault_user_box_sk(&a, bdek, &sk, &e) == STELE_ECORRUPT, "another DEK opened it");
    vault_user swapped = a;
    memcpy(swapped.box_sk_wrapped, b.box_sk_wrapped, sizeof b.box_sk_wrapped);
    CHECK(vault_user_box_sk(&swapped, bdek, &sk, &e) == STELE_ECORRUPT,
          "bert's wrapped key opened as anna's (AAD does not bind the user)");
    vault_user l;
    REQUIRE(vault_user_load(store, "bert", &l, &e) == STELE_OK, "%s", e.msg);
    CHECK(memcmp(l.box_pk, b.box_pk, 32) == 0 && memcmp(l.sig_pk, b.sig_pk, 32) == 0,
          "public keys not kept in the registry");
    crypto_secure_free(adek);
    crypto_secure_free(bdek);
}

/* Flips one byte of a file at off. 0 or -1. */
static int flip_at(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    int ok = fseek(f, off, SEEK_SET) == 0;
    int c = ok ? fgetc(f) : EOF;
    ok = c != EOF && fseek(f, off, SEEK_SET) == 0 && fputc(c ^ 0x40, f) != EOF;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Whether needle (len bytes) occurs in the file. */
static int file_has(const char *path, const void *needle, size_t len)
{
    static char text[1 << 17];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) fclose(f);
    return memmem(text, n, needle, len) != NULL;
}

#define FILE_SIZE (64u << 10)

/* The key slot file: fixed size, nothing in the clear (ids, role names, database name),
 * slots bound to their position, every slot byte authenticated, the registry slot for
 * the admin only. */
static void test_slots_file(void)
{
    const char *store = new_store();
    vault_user a, b;
    uint8_t *adek = NULL, *bdek = NULL, id[16], owner[16];
    util_err e;
    create_user(store, "owner", PW, &a, &adek); /* the first user: the store's admin */
    create_user(store, "reader", PW, &b, &bdek);
    crypto_random(id, sizeof id);
    char dir[700], path[800], hex[33];
    vault_db_dir(store, id, dir, sizeof dir);
    vault_slots_path(dir, id, path, sizeof path);
    vault_dbkeys k, kb;
    REQUIRE(vault_db_create(dir, &a, adek, id, "secretname", FILE_SIZE, a.box_pk, &k, &e) ==
                STELE_OK, "%s", e.msg);
    REQUIRE(vault_db_share(dir, &k, &b, VAULT_ROLE_READER, &e) == STELE_OK, "%s", e.msg);
    struct stat st;
    REQUIRE(stat(path, &st) == 0, "no key slot file at %s", path);
    CHECK(st.st_size == FILE_SIZE, "key slot file is %lld bytes", (long long)st.st_size);
    crypto_hex(b.id, 16, hex);
    CHECK(!file_has(path, a.id, 16) && !file_has(path, b.id, 16) && !file_has(path, hex, 32) &&
              !file_has(path, "secretname", 10) && !file_has(path, "reader", 6) &&
              !file_has(path, id, 16),
          "the key slot file shows an id, the name or a role in the clear");
    /* the admin reads the owner from the registry slot; nobody else does */
    CHECK(vault_db_owner(dir, id, &a, adek, owner, &e) == STELE_OK &&
              memcmp(owner, a.id, 16) == 0, "admin: %s", e.msg);
    CHECK(vault_db_owner(dir, id, &b, bdek, owner, &e) == STELE_EACCESS,
          "a non-admin opened the registry slot");
    /* a byte of an unused slot changed: every opener notices (the body hashes the table) */
    long unused = (long)VAULT_SLOT_BYTES * 5 + 7;
    REQUIRE(flip_at(path, unused) == 0, "flip");
    CHECK(vault_db_unlock(dir, id, &a, adek, VAULT_UNLOCK_ANY, &kb, &e) == STELE_ECORRUPT,
          "a changed unused slot went unnoticed");
    REQUIRE(flip_at(path, unused) == 0, "flip back");
    /* the reader's slot copied over the owner's: it opens for the reader, but position 0
     * is the owner's, so it is refused */
    uint8_t slot[VAULT_SLOT_BYTES];
    FILE *f = fopen(path, "r+b");
    REQUIRE(f && fseek(f, VAULT_SLOT_BYTES, SEEK_SET) == 0 && fread(slot, 1, sizeof slot, f) ==
                sizeof slot && fseek(f, 0, SEEK_SET) == 0 &&
                fwrite(slot, 1, sizeof slot, f) == sizeof slot && fclose(f) == 0, "copy slot");
    CHECK(vault_db_unlock(dir, id, &b, bdek, VAULT_UNLOCK_ANY, &kb, &e) == STELE_ECORRUPT,
          "a slot moved to another position opened");
    CHECK(vault_db_unlock(dir, id, &a, adek, VAULT_UNLOCK_ANY, &kb, &e) == STELE_EACCESS,
          "the owner opened without their slot");
    vault_dbkeys_release(&k);
    crypto_secure_free(adek);
    crypto_secure_free(bdek);
}

/* Member slots bind the role; a rotation keeps the old keys for the remaining members
 * and the owner, and drops the revoked member. */
static void test_share_rotate(void)
{
    const char *store = new_store();
    vault_user a, b, c;
    uint8_t *adek = NULL, *bdek = NULL, *cdek = NULL, id[16], gk1[32];
    util_err e;
    create_user(store, "owner", PW, &a, &adek);
    create_user(store, "reader", PW, &b, &bdek);
    create_user(store, "writer", PW, &c, &cdek);
    crypto_random(id, sizeof id);
    char dir[700];
    vault_db_dir(store, id, dir, sizeof dir);
    vault_dbkeys k, kb, kc;
    REQUIRE(vault_db_create(dir, &a, adek, id, "proj", FILE_SIZE, a.box_pk, &k, &e) == STELE_OK,
            "%s", e.msg);
    memcpy(gk1, k.gk, 32);
    REQUIRE(vault_db_share(dir, &k, &b, VAULT_ROLE_READER, &e) == STELE_OK, "%s", e.msg);
    REQUIRE(vault_db_share(dir, &k, &c, VAULT_ROLE_WRITER, &e) == STELE_OK, "%s", e.msg);
    REQUIRE(vault_db_unlock(dir, id, &b, bdek, VAULT_UNLOCK_ANY, &kb, &e) == STELE_OK,
            "reader: %s", e.msg);
    CHECK(kb.role == VAULT_ROLE_READER && memcmp(kb.gk, gk1, 32) == 0 &&
              strcmp(kb.name, "proj") == 0 && memcmp(kb.owner, a.id, 16) == 0 &&
              kb.nmembers == 2, "the reader's slot gives another key, role or body");
    vault_dbkeys_release(&kb);
    CHECK(vault_db_unlock(dir, id, &b, bdek, VAULT_UNLOCK_OWNER, &kb, &e) == STELE_EACCESS,
          "a member opened as the owner");
    /* promote the reader in memory and rewrite with the old slot: the slot binds the role */
    k.members[0].role = VAULT_ROLE_ADMIN;
    REQUIRE(vault_db_rename(dir, &k, "proj", &e) == STELE_OK, "%s", e.msg);
    CHECK(vault_db_unlock(dir, id, &b, bdek, VAULT_UNLOCK_ANY, &kb, &e) == STELE_ECORRUPT,
          "an edited role opened (the sealed slot must bind it)");
    REQUIRE(vault_db_share(dir, &k, &b, VAULT_ROLE_READER, &e) == STELE_OK, "%s", e.msg);
    /* revoke the reader */
    REQUIRE(vault_db_rotate(store, dir, &k, b.id, &a, adek, &e) == STELE_OK, "%s", e.msg);
    CHECK(k.epoch == 2 && memcmp(k.gks, gk1, 32) == 0 && memcmp(k.gk, gk1, 32) != 0,
          "rotation: epoch %u", k.epoch);
    CHECK(vault_db_unlock(dir, id, &b, bdek, VAULT_UNLOCK_ANY, &kb, &e) == STELE_EACCESS,
          "revoked member opens");
    REQUIRE(vault_db_unlock(dir, id, &c, cdek, VAULT_UNLOCK_ANY, &kc, &e) == STELE_OK,
            "remaining: %s", e.msg);
    CHECK(kc.epoch == 2 && memcmp(kc.gks, k.gks, 64) == 0 && kc.role == VAULT_ROLE_WRITER,
          "the remaining member lost a key or its role");
    vault_dbkeys_release(&kc);
    vault_dbkeys_release(&k);
    REQUIRE(vault_db_unlock(dir, id, &a, adek, VAULT_UNLOCK_OWNER, &k, &e) == STELE_OK,
            "owner: %s", e.msg);
    CHECK(k.epoch == 2 && memcmp(k.gks, gk1, 32) == 0 && k.role == VAULT_ROLE_OWNER,
          "the owner lost the old key");
    vault_dbkeys_release(&k);
    crypto_secure_free(adek);
    crypto_secure_free(bdek);
    crypto_secure_free(cdek);
}

int main(void)
{
    test_seed();
    if (crypto_init() != 0) return 1;
    TEST_RUN(test_create_load_unlock);
    TEST_RUN(test_wrong_password);
    TEST_RUN(test_passwd);
    TEST_RUN(test_verifier_salt_is_not_kek_salt);
    TEST_RUN(test_kdf_floor);
    TEST_RUN(test_names);
    TEST_RUN(test_user_keys);
    TEST_RUN(test_slots_file);
    TEST_RUN(test_share_rotate);
    return test_summary();
}
