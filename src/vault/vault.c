/*
 * vault.c — store, users and database keys. See vault.h for the key hierarchy and
 * docs/FORMAT.md for the file layouts. Layer: vault.
 *
 * Invariants:
 *  1. A secret (DEK, GK, signing key) exists in plaintext only in secure memory.
 *  2. Every file is written whole with io_write_atomic; readers see old or new.
 *  3. Every file ends with "checksum <sha256 of everything before that line>"; a
 *     mismatch is reported as corruption, naming the file.
 */
#include "vault/vault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"
#include "vault/settings.h"
#include "vault/vault_int.h"

#define STORE_FORMAT 1
#define KV_FILE_MAX (256u << 10)

int vault_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > VAULT_NAME_MAX || name[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok) return 0;
    }
    return 1;
}

/* ---- "key value" files with a checksum line ---- */

stele_status vault_kv_write(const char *dir, const char *name, buf *b, int bad, util_err *e)
{
    stele_status st = bad || vault_kv_finish(b) ? util_fail(e, STELE_ENOMEM, "out of memory")
                                                : io_write_atomic(dir, name, b->data, b->len, e);
    buf_release(b);
    return st;
}

int vault_kv_finish(buf *b)
{
    uint8_t h[32];
    char hex[65];
    crypto_sha256(b->data, b->len, h);
    crypto_hex(h, 32, hex);
    return buf_printf(b, "checksum %s\n", hex);
}

/* Verifies the checksum line, which must be the last line and exactly
 * "checksum <64 lower-case hex digits>\n"; on success the text before it stays in
 * data (NUL-terminated there). */
stele_status vault_kv_check(const char *path, uint8_t *data, size_t len, util_err *e)
{
    static const char marker[] = "checksum ";
    const size_t line = sizeof marker - 1 + 64 + 1;
    if (len < line || data[len - 1] != '\n' || (len > line && data[len - line - 1] != '\n') ||
        memcmp(data + len - line, marker, sizeof marker - 1) != 0)
        return util_fail(e, STELE_ECORRUPT,
                         "'%s' is corrupt: it does not end with its checksum line (the file was "
                         "changed or damaged; restore it from a backup)", path);
    size_t body = len - line;
    const uint8_t *hex = data + body + sizeof marker - 1;
    for (size_t i = 0; i < 64; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return util_fail(e, STELE_ECORRUPT, "'%s' is corrupt: malformed checksum", path);
    uint8_t h[32], want[32];
    char hexs[65];
    memcpy(hexs, hex, 64);
    hexs[64] = 0;
    crypto_sha256(data, body, h);
    if (crypto_unhex(hexs, want, 32) != 0 || !crypto_equal(h, want, 32))
        return util_fail(e, STELE_ECORRUPT,
                         "'%s' is corrupt: checksum mismatch (the file was changed or damaged; "
                         "restore it from a backup)", path);
    data[body] = 0;
    return STELE_OK;
}

/* Finds "key " at the start of a line; copies the value (to end of line). */
int vault_kv_get(const char *text, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
            const char *v = p + kl + 1;
            const char *end = strchr(v, '\n');
            size_t n = end ? (size_t)(end - v) : strlen(v);
            if (n >= cap) return -1;
            memcpy(out, v, n);
            out[n] = 0;
            return 0;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}

int vault_kv_get_hex(const char *text, const char *key, uint8_t *out, size_t len)
{
    char v[1024];
    if (len * 2 >= sizeof v || vault_kv_get(text, key, v, sizeof v) != 0) return -1;
    return crypto_unhex(v, out, len);
}

int vault_kv_get_u64(const char *text, const char *key, uint64_t *out)
{
    char v[32], *end;
    if (vault_kv_get(text, key, v, sizeof v) != 0) return -1;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || end == v) return -1;
    *out = x;
    return 0;
}

int vault_kv_hex_line(buf *b, const char *key, const uint8_t *p, size_t len)
{
    char hex[1024];
    STELE_ASSERT(len * 2 < sizeof hex);
    crypto_hex(p, len, hex);
    return buf_printf(b, "%s %s\n", key, hex);
}

stele_status vault_kv_read(const char *path, const char *magic, uint8_t **text, util_err *e)
{
    size_t len;
    stele_status rc = io_read_file(path, KV_FILE_MAX, text, &len, e);
    if (rc != STELE_OK) return rc;
    rc = vault_kv_check(path, *text, len, e);
    if (rc == STELE_OK && strncmp((char *)*text, magic, strlen(magic)) != 0)
        rc = util_fail(e, STELE_ECORRUPT, "'%s' is not a %s file", path, magic);
    if (rc != STELE_OK) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

/* ---- the store ---- */

stele_status vault_store_create(const char *dir, util_err *e)
{
    char path[VAULT_PATH_MAX];
    snprintf(path, sizeof path, "%s/STORE", dir);
    if (io_exists(path))
        return util_fail(e, STELE_EEXIST, "a store already exists in '%s'", dir);
    int rc = io_mkdirs(dir);
    if (rc != 0)
        return util_fail(e, util_errno_status(-rc), "cannot create '%s': %s", dir, strerror(-rc));
    const char *sub[] = {"users", "dbs", "config"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return util_fail(e, util_errno_status(errno), "cannot create '%s': %s", path,
                             strerror(errno));
    }
    return STELE_OK;
}

stele_status vault_store_finish(const char *dir, util_err *e)
{
    uint8_t id[VAULT_ID_BYTES];
    crypto_random(id, sizeof id);
    buf b;
    buf_init(&b);
    int bad = buf_printf(&b, "stele-store %d\n", STORE_FORMAT) || vault_kv_hex_line(&b, "id", id, 16) ||
              buf_printf(&b, "created %llu\n", (unsigned long long)util_now_ns());
    return vault_kv_write(dir, "STORE", &b, bad, e);
}

stele_status vault_store_check(const char *dir, util_err *e)
{
    char path[VAULT_PATH_MAX];
    snprintf(path, sizeof path, "%s/STORE", dir);
    uint8_t *text = NULL;
    stele_status rc = vault_kv_read(path, "stele-store ", &text, e);
    if (rc == STELE_ENOTFOUND)
        return util_fail(e, STELE_ENOTFOUND,
                         "no store in '%s' (create one with 'stele init --store %s --user NAME')",
                         dir, dir);
    if (rc != STELE_OK) return rc;
    int version = atoi((char *)text + strlen("stele-store "));
    free(text);
    if (version != STORE_FORMAT)
        return util_fail(e, STELE_EVERSION, "store '%s' has format %d; this stele reads %d", dir,
                         version, STORE_FORMAT);
    return STELE_OK;
}

/* ---- users ---- */

static void user_path(const char *dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/users/%s.user", dir, name);
}

static void dek_aad(const uint8_t id[VAULT_ID_BYTES], uint8_t aad[12 + VAULT_ID_BYTES])
{
    memcpy(aad, "stele/dek/v1", 12);
    memcpy(aad + 12, id, VAULT_ID_BYTES);
}

static stele_status derive_kek(const vault_user *u, const char *pw, size_t pw_len, uint8_t **kek,
                               util_err *e)
{
    *kek = crypto_secure_alloc(CRYPTO_KEY_BYTES);
    if (!*kek) return util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    if (crypto_argon2id(pw, pw_len, u->kek_salt, u->kdf, *kek, CRYPTO_KEY_BYTES) != 0) {
        crypto_secure_free(*kek);
        *kek = NULL;
        return util_fail(e, STELE_ENOMEM,
                         "cannot derive the key of user '%s' (Argon2id needs %llu MiB of memory)",
                         u->name, (unsigned long long)(u->kdf.mem_kib / 1024));
    }
    return STELE_OK;
}

static stele_status user_write(const char *dir, const vault_user *u, util_err *e)
{
    buf b;
    buf_init(&b);
    int bad = buf_printf(&b, "stele-user 1\nname %s\n", u->name) ||
              vault_kv_hex_line(&b, "id", u->id, VAULT_ID_BYTES) ||
              buf_printf(&b, "kdf argon2id t=%llu m=%llu p=1\nprofile %s\n",
                         (unsigned long long)u->kdf.ops, (unsigned long long)u->kdf.mem_kib,
                         u->insecure ? "insecure-test" : "default") ||
              vault_kv_hex_line(&b, "kek_salt", u->kek_salt, CRYPTO_SALT_BYTES) ||
              vault_kv_hex_line(&b, "wrapped_dek", u->wrapped_dek, VAULT_WRAPPED_KEY_BYTES) ||
              vault_kv_hex_line(&b, "primary_db", u->primary_db, VAULT_ID_BYTES) ||
              buf_printf(&b, "verifier %s\ncreated %llu\nrole %s\n", u->verifier,
                         (unsigned long long)u->created_ns, u->admin ? "admin" : "user") ||
              vault_kv_hex_line(&b, "box_pk", u->box_pk, sizeof u->box_pk) ||
              vault_kv_hex_line(&b, "box_sk_wrapped", u->box_sk_wrapped,
                                sizeof u->box_sk_wrapped) ||
              vault_kv_hex_line(&b, "sig_pk", u->sig_pk, sizeof u->sig_pk) ||
              vault_kv_hex_line(&b, "sig_sk_wrapped", u->sig_sk_wrapped,
                                sizeof u->sig_sk_wrapped) ||
              buf_printf(&b, "failures %llu\nretry_after %llu\n",
                         (unsigned long long)u->failures,
                         (unsigned long long)u->retry_after_ns);
    char users[VAULT_PATH_MAX], file[VAULT_NAME_MAX + 8];
    snprintf(users, sizeof users, "%s/users", dir);
    snprintf(file, sizeof file, "%s.user", u->name);
    return vault_kv_write(users, file, &b, bad, e);
}

stele_status vault_user_save(const char *dir, const vault_user *u, util_err *e)
{
    return user_write(dir, u, e);
}

/* AAD of a user's secret key wrapped by the DEK: "stele/usk/v1\0" | purpose(4) | id. */
static void usk_aad(const uint8_t id[VAULT_ID_BYTES], const char purpose[4], uint8_t aad[33])
{
    memcpy(aad, "stele/usk/v1\0", 13);
    memcpy(aad + 13, purpose, 4);
    memcpy(aad + 17, id, VAULT_ID_BYTES);
}

/* Makes the user's X25519 and Ed25519 key pairs and wraps the secret halves. */
static stele_status user_keypairs(vault_user *u, const uint8_t *dek, util_err *e)
{
    uint8_t *bsk = crypto_secure_alloc(CRYPTO_BOX_SK_BYTES);
    uint8_t *ssk = crypto_secure_alloc(CRYPTO_SIGN_SK_BYTES);
    uint8_t baad[33], saad[33];
    usk_aad(u->id, "box ", baad);
    usk_aad(u->id, "sign", saad);
    int bad = !bsk || !ssk || crypto_seal_keypair(u->box_pk, bsk) != 0 ||
              crypto_sig_keypair(u->sig_pk, ssk) != 0 ||
              crypto_wrap(dek, baad, sizeof baad, bsk, CRYPTO_BOX_SK_BYTES, u->box_sk_wrapped) ||
              crypto_wrap(dek, saad, sizeof saad, ssk, CRYPTO_SIGN_SK_BYTES, u->sig_sk_wrapped);
    crypto_secure_free(bsk);
    crypto_secure_free(ssk);
    return bad ? util_fail(e, STELE_ENOMEM, "cannot make the key pairs of user '%s'", u->name)
               : STELE_OK;
}

static stele_status user_unwrap_sk(const vault_user *u, const uint8_t *dek, const char *purpose,
                                   const uint8_t *wrapped, size_t len, uint8_t **sk,
                                   util_err *e)
{
    STELE_ASSERT(len > CRYPTO_WRAP_OVERHEAD);
    uint8_t aad[33];
    usk_aad(u->id, purpose, aad);
    *sk = crypto_secure_alloc(len - CRYPTO_WRAP_OVERHEAD);
    if (!*sk) return util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    if (crypto_unwrap(dek, aad, sizeof aad, wrapped, len, *sk) != 0) {
        crypto_secure_free(*sk);
        *sk = NULL;
        return util_fail(e, STELE_ECORRUPT, "the %s key of user '%s' is not authentic",
                         purpose[0] == 'b' ? "encryption" : "signing", u->name);
    }
    return STELE_OK;
}

stele_status vault_user_box_sk(const vault_user *u, const uint8_t *dek, uint8_t **sk, util_err *e)
{
    return user_unwrap_sk(u, dek, "box ", u->box_sk_wrapped, sizeof u->box_sk_wrapped, sk, e);
}

stele_status vault_user_sig_sk(const vault_user *u, const uint8_t *dek, uint8_t **sk, util_err *e)
{
    return user_unwrap_sk(u, dek, "sign", u->sig_sk_wrapped, sizeof u->sig_sk_wrapped, sk, e);
}

/* 1 if users/ holds no user file yet (the user being created is the first). */
static int no_users_yet(const char *dir)
{
    char users[VAULT_PATH_MAX];
    snprintf(users, sizeof users, "%s/users", dir);
    DIR *d = opendir(users);
    if (!d) return 1;
    struct dirent *de;
    int none = 1;
    while (none && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        none = !(n > 5 && strcmp(de->d_name + n - 5, ".user") == 0);
    }
    closedir(d);
    return none;
}

static stele_status user_wrap_dek(vault_user *u, const char *pw, size_t pw_len,
                                  const uint8_t *dek, util_err *e)
{
    crypto_random(u->kek_salt, sizeof u->kek_salt);
    if (crypto_phc_hash(pw, pw_len, u->kdf, u->verifier) != 0)
        return util_fail(e, STELE_ENOMEM, "cannot hash the password (out of memory?)");
    uint8_t *kek;
    stele_status rc = derive_kek(u, pw, pw_len, &kek, e);
    if (rc != STELE_OK) return rc;
    uint8_t aad[12 + VAULT_ID_BYTES];
    dek_aad(u->id, aad);
    int bad = crypto_wrap(kek, aad, sizeof aad, dek, CRYPTO_KEY_BYTES, u->wrapped_dek);
    crypto_secure_free(kek);
    return bad ? util_fail(e, STELE_EIO, "cannot wrap the data key") : STELE_OK;
}

stele_status vault_user_create(const char *dir, const char *name, const char *pw, size_t pw_len,
                               int insecure_profile, const uint8_t primary_db[VAULT_ID_BYTES],
                               vault_user *u, uint8_t **dek, util_err *e)
{
    stele_status rc = vault_user_make(dir, name, pw, pw_len, insecure_profile, primary_db, u,
                                      dek, e);
    if (rc == STELE_OK) rc = user_write(dir, u, e);
    if (rc != STELE_OK) {
        crypto_secure_free(*dek);
        *dek = NULL;
    }
    return rc;
}

stele_status vault_user_make(const char *dir, const char *name, const char *pw, size_t pw_len,
                             int insecure_profile, const uint8_t primary_db[VAULT_ID_BYTES],
                             vault_user *u, uint8_t **dek, util_err *e)
{
    STELE_ASSERT(dir && name && pw && u && dek);
    if (!vault_name_ok(name))
        return util_fail(e, STELE_EINVAL,
                         "invalid user name '%s': use 1-64 letters, digits, '.', '_' or '-'",
                         name);
    char path[VAULT_PATH_MAX];
    user_path(dir, name, path, sizeof path);
    if (io_exists(path)) return util_fail(e, STELE_EEXIST, "user '%s' already exists", name);
    memset(u, 0, sizeof *u);
    util_strlcpy(u->name, name, sizeof u->name);
    crypto_random(u->id, sizeof u->id);
    u->insecure = insecure_profile;
    u->kdf.ops = insecure_profile ? VAULT_KDF_TEST_OPS : VAULT_KDF_OPS_FLOOR;
    u->kdf.mem_kib = insecure_profile ? VAULT_KDF_TEST_MEM_KIB : VAULT_KDF_MEM_KIB_FLOOR;
    memcpy(u->primary_db, primary_db, VAULT_ID_BYTES);
    u->created_ns = util_now_ns();
    u->admin = no_users_yet(dir);
    *dek = crypto_secure_alloc(CRYPTO_KEY_BYTES);
    if (!*dek) return util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    crypto_random(*dek, CRYPTO_KEY_BYTES);
    stele_status rc = user_wrap_dek(u, pw, pw_len, *dek, e);
    if (rc == STELE_OK) rc = user_keypairs(u, *dek, e);
    if (rc != STELE_OK) {
        crypto_secure_free(*dek);
        *dek = NULL;
    }
    return rc;
}

static stele_status user_parse(const char *path, const char *text, vault_user *u, util_err *e)
{
    char kdf[128], profile[32], role[16];
    unsigned long long t, m;
    memset(u, 0, sizeof *u);
    int bad = vault_kv_get(text, "name", u->name, sizeof u->name) ||
              vault_kv_get_hex(text, "id", u->id, VAULT_ID_BYTES) ||
              vault_kv_get(text, "kdf", kdf, sizeof kdf) ||
              sscanf(kdf, "argon2id t=%llu m=%llu p=1", &t, &m) != 2 ||
              vault_kv_get(text, "profile", profile, sizeof profile) ||
              vault_kv_get_hex(text, "kek_salt", u->kek_salt, CRYPTO_SALT_BYTES) ||
              vault_kv_get_hex(text, "wrapped_dek", u->wrapped_dek, VAULT_WRAPPED_KEY_BYTES) ||
              vault_kv_get_hex(text, "primary_db", u->primary_db, VAULT_ID_BYTES) ||
              vault_kv_get(text, "verifier", u->verifier, sizeof u->verifier) ||
              vault_kv_get_u64(text, "created", &u->created_ns) ||
              vault_kv_get(text, "role", role, sizeof role) ||
              vault_kv_get_hex(text, "box_pk", u->box_pk, sizeof u->box_pk) ||
              vault_kv_get_hex(text, "box_sk_wrapped", u->box_sk_wrapped,
                               sizeof u->box_sk_wrapped) ||
              vault_kv_get_hex(text, "sig_pk", u->sig_pk, sizeof u->sig_pk) ||
              vault_kv_get_hex(text, "sig_sk_wrapped", u->sig_sk_wrapped,
                               sizeof u->sig_sk_wrapped) ||
              vault_kv_get_u64(text, "failures", &u->failures) ||
              vault_kv_get_u64(text, "retry_after", &u->retry_after_ns) ||
              (strcmp(role, "admin") != 0 && strcmp(role, "user") != 0);
    if (bad) return util_fail(e, STELE_ECORRUPT, "'%s' is corrupt: a field is missing", path);
    u->admin = strcmp(role, "admin") == 0;
    u->kdf.ops = t;
    u->kdf.mem_kib = m;
    u->insecure = strcmp(profile, "insecure-test") == 0;
    if (!u->insecure && (t < VAULT_KDF_OPS_FLOOR || m < VAULT_KDF_MEM_KIB_FLOOR))
        return util_fail(e, STELE_ECORRUPT,
                         "'%s' asks for Argon2id parameters below the floor (t=%llu, m=%llu KiB)",
                         path, t, m);
    return STELE_OK;
}

stele_status vault_user_load(const char *dir, const char *name, vault_user *u, util_err *e)
{
    if (!vault_name_ok(name))
        return util_fail(e, STELE_EINVAL, "invalid user name '%s'", name);
    char path[VAULT_PATH_MAX];
    user_path(dir, name, path, sizeof path);
    uint8_t *text = NULL;
    stele_status rc = vault_kv_read(path, "stele-user ", &text, e);
    if (rc == STELE_ENOTFOUND)
        return util_fail(e, STELE_ENOTFOUND, "no user '%s' in store '%s'", name, dir);
    if (rc != STELE_OK) return rc;
    rc = user_parse(path, (char *)text, u, e);
    free(text);
    if (rc == STELE_OK && strcmp(u->name, name) != 0)
        rc = util_fail(e, STELE_ECORRUPT, "'%s' names user '%s'", path, u->name);
    return rc;
}

stele_status vault_user_unlock(const vault_user *u, const char *pw, size_t pw_len, uint8_t **dek,
                               util_err *e)
{
    uint8_t *kek;
    stele_status rc = derive_kek(u, pw, pw_len, &kek, e);
    if (rc != STELE_OK) return rc;
    *dek = crypto_secure_alloc(CRYPTO_KEY_BYTES);
    if (!*dek) {
        crypto_secure_free(kek);
        return util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    }
    uint8_t aad[12 + VAULT_ID_BYTES];
    dek_aad(u->id, aad);
    int bad = crypto_unwrap(kek, aad, sizeof aad, u->wrapped_dek, VAULT_WRAPPED_KEY_BYTES, *dek);
    crypto_secure_free(kek);
    if (bad) {
        crypto_secure_free(*dek);
        *dek = NULL;
        return util_fail(e, STELE_EPASSWORD, "wrong password for user %s", u->name);
    }
    return STELE_OK;
}

stele_status vault_user_passwd(const char *dir, const char *name, const char *old_pw,
                               size_t old_len, const char *new_pw, size_t new_len, util_err *e)
{
    vault_user u;
    uint8_t *dek = NULL;
    vault_settings s;
    stele_status rc = vault_user_load(dir, name, &u, e);
    if (rc == STELE_OK) rc = vault_user_login(dir, name, old_pw, old_len, &u, &dek, e);
    /* The new key derivation follows the signed settings' floor (never lower). */
    if (rc == STELE_OK) rc = vault_settings_load(dir, &s, e);
    if (rc == STELE_OK && !u.insecure) u.kdf = vault_settings_kdf(&s, u.kdf);
    if (rc == STELE_OK) rc = user_wrap_dek(&u, new_pw, new_len, dek, e);
    if (rc == STELE_OK) rc = user_write(dir, &u, e);
    crypto_secure_free(dek);
    return rc;
}


uint64_t vault_backoff_s(uint64_t failures)
{
    if (failures < VAULT_BACKOFF_FREE) return 0;
    uint64_t shift = failures - VAULT_BACKOFF_FREE + 1;
    if (shift >= 12) return VAULT_BACKOFF_MAX_S; /* 2^12 s > the cap */
    uint64_t s = 1ull << shift;
    return s < VAULT_BACKOFF_MAX_S ? s : VAULT_BACKOFF_MAX_S;
}

/* Counts a wrong password in the user file (best effort: a read-only store still
 * answers "wrong password") and rewrites the message to say what follows. */
static stele_status login_failed(const char *dir, vault_user *u, util_err *e)
{
    u->failures++;
    uint64_t wait_s = vault_backoff_s(u->failures);
    u->retry_after_ns = wait_s ? util_now_ns() + wait_s * 1000000000ull : 0;
    util_err ignored;
    (void)user_write(dir, u, &ignored);
    if (!wait_s)
        return util_fail(e, STELE_EPASSWORD, "wrong password for user %s (%llu failed "
                         "attempt%s in a row)", u->name, (unsigned long long)u->failures,
                         u->failures == 1 ? "" : "s");
    return util_fail(e, STELE_EPASSWORD,
                     "wrong password for user %s (%llu failed attempts in a row): the next "
                     "attempt must wait %llu s, and each further failure doubles the wait",
                     u->name, (unsigned long long)u->failures, (unsigned long long)wait_s);
}

stele_status vault_user_login(const char *dir, const char *name, const char *pw, size_t pw_len,
                              vault_user *u, uint8_t **dek, util_err *e)
{
    *dek = NULL;
    stele_status rc = vault_user_load(dir, name, u, e);
    if (rc != STELE_OK) return rc;
    uint64_t now = util_now_ns();
    if (u->retry_after_ns > now) {
        uint64_t left = (u->retry_after_ns - now + 999999999ull) / 1000000000ull;
        return util_fail(e, STELE_EBACKOFF,
                         "too many wrong passwords for user %s (%llu in a row): try again in "
                         "%llu s", name, (unsigned long long)u->failures,
                         (unsigned long long)left);
    }
    rc = vault_user_unlock(u, pw, pw_len, dek, e);
    if (rc == STELE_EPASSWORD) return login_failed(dir, u, e);
    if (rc != STELE_OK || (u->failures == 0 && u->retry_after_ns == 0)) return rc;
    u->failures = 0;
    u->retry_after_ns = 0;
    util_err ignored;
    (void)user_write(dir, u, &ignored); /* a read-only store keeps the old count */
    return STELE_OK;
}

stele_status vault_user_each(const char *dir, int (*fn)(void *ctx, const vault_user *u),
                             void *ctx, util_err *e)
{
    char users[VAULT_PATH_MAX];
    snprintf(users, sizeof users, "%s/users", dir);
    DIR *d = opendir(users);
    if (!d) return util_fail(e, STELE_EIO, "cannot list '%s': %s", users, strerror(errno));
    struct dirent *de;
    stele_status rc = STELE_OK;
    for (uint32_t seen = 0; rc == STELE_OK && seen < VAULT_USERS_MAX && (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || n - 5 > VAULT_NAME_MAX || strcmp(de->d_name + n - 5, ".user") != 0)
            continue;
        char name[VAULT_NAME_MAX + 1];
        memcpy(name, de->d_name, n - 5);
        name[n - 5] = 0;
        vault_user u;
        seen++;
        rc = vault_user_load(dir, name, &u, e);
        if (rc == STELE_OK && fn(ctx, &u) != 0) break;
    }
    closedir(d);
    return rc;
}

typedef struct by_id_ctx {
    const uint8_t *id;
    vault_user *out;
    int found;
} by_id_ctx;

static int by_id_cb(void *ctx, const vault_user *u)
{
    by_id_ctx *c = ctx;
    if (memcmp(u->id, c->id, VAULT_ID_BYTES) != 0) return 0;
    *c->out = *u;
    c->found = 1;
    return 1;
}

stele_status vault_user_by_id(const char *dir, const uint8_t id[VAULT_ID_BYTES], vault_user *u,
                              util_err *e)
{
    by_id_ctx c = {id, u, 0};
    stele_status rc = vault_user_each(dir, by_id_cb, &c, e);
    if (rc != STELE_OK) return rc;
    if (c.found) return STELE_OK;
    char hex[33];
    crypto_hex(id, VAULT_ID_BYTES, hex);
    return util_fail(e, STELE_ENOTFOUND, "no user with id %s in store '%s' (removed?)", hex, dir);
}

stele_status vault_user_delete(const char *dir, const char *name, util_err *e)
{
    char path[VAULT_PATH_MAX], users[VAULT_PATH_MAX];
    if (!vault_name_ok(name)) return util_fail(e, STELE_EINVAL, "invalid user name '%s'", name);
    user_path(dir, name, path, sizeof path);
    snprintf(users, sizeof users, "%s/users", dir);
    if (unlink(path) != 0)
        return util_fail(e, errno == ENOENT ? STELE_ENOTFOUND : STELE_EIO,
                         "cannot remove user file '%s': %s", path, strerror(errno));
    int rc = io_fsync_dir(users);
    return rc == 0 ? STELE_OK
                   : util_fail(e, STELE_EIO, "cannot sync '%s': %s", users, strerror(-rc));
}

const char *vault_role_name(int role)
{
    switch (role) {
    case VAULT_ROLE_READER: return "reader";
    case VAULT_ROLE_WRITER: return "writer";
    case VAULT_ROLE_ADMIN: return "admin";
    case VAULT_ROLE_OWNER: return "owner";
    default: return "none";
    }
}

int vault_role_parse(const char *s)
{
    for (int r = VAULT_ROLE_READER; r <= VAULT_ROLE_OWNER; r++)
        if (strcmp(s, vault_role_name(r)) == 0) return r;
    return VAULT_ROLE_NONE;
}
