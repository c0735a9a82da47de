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
#include <sys/stat.h>

#include "util/io.h"
#include "vault/settings.h"
#include "vault/vault_int.h"

#define STORE_FORMAT 1
#define KV_FILE_MAX (64u << 10)

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

static int kv_finish(buf *b)
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
static stele_status kv_check(const char *path, uint8_t *data, size_t len, util_err *e)
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
static int kv_get(const char *text, const char *key, char *out, size_t cap)
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

static int kv_get_hex(const char *text, const char *key, uint8_t *out, size_t len)
{
    char v[1024];
    if (len * 2 >= sizeof v || kv_get(text, key, v, sizeof v) != 0) return -1;
    return crypto_unhex(v, out, len);
}

static int kv_get_u64(const char *text, const char *key, uint64_t *out)
{
    char v[32], *end;
    if (kv_get(text, key, v, sizeof v) != 0) return -1;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || end == v) return -1;
    *out = x;
    return 0;
}

static int buf_hex_line(buf *b, const char *key, const uint8_t *p, size_t len)
{
    char hex[1024];
    STELE_ASSERT(len * 2 < sizeof hex);
    crypto_hex(p, len, hex);
    return buf_printf(b, "%s %s\n", key, hex);
}

static stele_status read_kv(const char *path, const char *magic, uint8_t **text, util_err *e)
{
    size_t len;
    stele_status rc = io_read_file(path, KV_FILE_MAX, text, &len, e);
    if (rc != STELE_OK) return rc;
    rc = kv_check(path, *text, len, e);
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
    int bad = buf_printf(&b, "stele-store %d\n", STORE_FORMAT) || buf_hex_line(&b, "id", id, 16) ||
              buf_printf(&b, "created %llu\n", (unsigned long long)util_now_ns()) ||
              kv_finish(&b);
    stele_status st = bad ? util_fail(e, STELE_ENOMEM, "out of memory")
                          : io_write_atomic(dir, "STORE", b.data, b.len, e);
    buf_release(&b);
    return st;
}

stele_status vault_store_check(const char *dir, util_err *e)
{
    char path[VAULT_PATH_MAX];
    snprintf(path, sizeof path, "%s/STORE", dir);
    uint8_t *text = NULL;
    stele_status rc = read_kv(path, "stele-store ", &text, e);
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
              buf_hex_line(&b, "id", u->id, VAULT_ID_BYTES) ||
              buf_printf(&b, "kdf argon2id t=%llu m=%llu p=1\nprofile %s\n",
                         (unsigned long long)u->kdf.ops, (unsigned long long)u->kdf.mem_kib,
                         u->insecure ? "insecure-test" : "default") ||
              buf_hex_line(&b, "kek_salt", u->kek_salt, CRYPTO_SALT_BYTES) ||
              buf_hex_line(&b, "wrapped_dek", u->wrapped_dek, VAULT_WRAPPED_KEY_BYTES) ||
              buf_hex_line(&b, "primary_db", u->primary_db, VAULT_ID_BYTES) ||
              buf_printf(&b, "verifier %s\ncreated %llu\n", u->verifier,
                         (unsigned long long)u->created_ns) ||
              kv_finish(&b);
    char users[VAULT_PATH_MAX], file[VAULT_NAME_MAX + 8];
    snprintf(users, sizeof users, "%s/users", dir);
    snprintf(file, sizeof file, "%s.user", u->name);
    stele_status st = bad ? util_fail(e, STELE_ENOMEM, "out of memory")
                          : io_write_atomic(users, file, b.data, b.len, e);
    buf_release(&b);
    return st;
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
    *dek = crypto_secure_alloc(CRYPTO_KEY_BYTES);
    if (!*dek) return util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    crypto_random(*dek, CRYPTO_KEY_BYTES);
    stele_status rc = user_wrap_dek(u, pw, pw_len, *dek, e);
    if (rc == STELE_OK) rc = user_write(dir, u, e);
    if (rc != STELE_OK) {
        crypto_secure_free(*dek);
        *dek = NULL;
    }
    return rc;
}

static stele_status user_parse(const char *path, const char *text, vault_user *u, util_err *e)
{
    char kdf[128], profile[32];
    unsigned long long t, m;
    memset(u, 0, sizeof *u);
    int bad = kv_get(text, "name", u->name, sizeof u->name) ||
              kv_get_hex(text, "id", u->id, VAULT_ID_BYTES) ||
              kv_get(text, "kdf", kdf, sizeof kdf) ||
              sscanf(kdf, "argon2id t=%llu m=%llu p=1", &t, &m) != 2 ||
              kv_get(text, "profile", profile, sizeof profile) ||
              kv_get_hex(text, "kek_salt", u->kek_salt, CRYPTO_SALT_BYTES) ||
              kv_get_hex(text, "wrapped_dek", u->wrapped_dek, VAULT_WRAPPED_KEY_BYTES) ||
              kv_get_hex(text, "primary_db", u->primary_db, VAULT_ID_BYTES) ||
              kv_get(text, "verifier", u->verifier, sizeof u->verifier) ||
              kv_get_u64(text, "created", &u->created_ns);
    if (bad) return util_fail(e, STELE_ECORRUPT, "'%s' is corrupt: a field is missing", path);
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
    stele_status rc = read_kv(path, "stele-user ", &text, e);
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
    if (rc == STELE_OK) rc = vault_user_unlock(&u, old_pw, old_len, &dek, e);
    /* The new key derivation follows the signed settings' floor (never lower). */
    if (rc == STELE_OK) rc = vault_settings_load(dir, &s, e);
    if (rc == STELE_OK && !u.insecure) u.kdf = vault_settings_kdf(&s, u.kdf);
    if (rc == STELE_OK) rc = user_wrap_dek(&u, new_pw, new_len, dek, e);
    if (rc == STELE_OK) rc = user_write(dir, &u, e);
    crypto_secure_free(dek);
    return rc;
}

/* ---- database keys ---- */

void vault_db_dir(const char *dir, const uint8_t db_id[VAULT_ID_BYTES], char *out, size_t cap)
{
    char hex[2 * VAULT_ID_BYTES + 1];
    crypto_hex(db_id, VAULT_ID_BYTES, hex);
    snprintf(out, cap, "%s/dbs/%s", dir, hex);
}

static void gk_aad(const uint8_t *db_id, uint32_t epoch, const uint8_t *user_id, uint8_t aad[48])
{
    memcpy(aad, "stele/gk/v1\0", 12);
    memcpy(aad + 12, db_id, 16);
    put_u32(aad + 28, epoch);
    memcpy(aad + 32, user_id, 16);
}

int vault_derive(const vault_dbkeys *k, const char *purpose, const uint8_t *id, size_t id_len,
                 uint8_t out[CRYPTO_KEY_BYTES])
{
    uint8_t info[128];
    size_t pl = strlen(purpose);
    STELE_ASSERT(6 + pl + id_len <= sizeof info);
    memcpy(info, "stele ", 6);
    memcpy(info + 6, purpose, pl);
    if (id_len) memcpy(info + 6 + pl, id, id_len);
    return crypto_hkdf(k->gk, CRYPTO_KEY_BYTES, k->db_id, VAULT_ID_BYTES, info, 6 + pl + id_len,
                       out, CRYPTO_KEY_BYTES);
}

static stele_status keys_alloc(vault_dbkeys *k, util_err *e)
{
    k->gk = crypto_secure_alloc(CRYPTO_KEY_BYTES);
    k->sign_sk = crypto_secure_alloc(CRYPTO_SIGN_SK_BYTES);
    if (!k->gk || !k->sign_sk) {
        vault_dbkeys_release(k);
        return util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    }
    return STELE_OK;
}

/* Wraps (or unwraps) the signing key under a key derived from the GK. */
static int sign_key_wrap(const vault_dbkeys *k, uint8_t *wrapped, int unwrap)
{
    uint8_t *sk_key = crypto_secure_alloc(CRYPTO_KEY_BYTES);
    if (!sk_key) return -1;
    int rc = vault_derive(k, "signing key", NULL, 0, sk_key);
    uint8_t aad[32];
    memcpy(aad, "stele/signsk/v1\0", 16);
    memcpy(aad + 16, k->db_id, 16);
    if (rc == 0 && !unwrap)
        rc = crypto_wrap(sk_key, aad, sizeof aad, k->sign_sk, CRYPTO_SIGN_SK_BYTES, wrapped);
    else if (rc == 0)
        rc = crypto_unwrap(sk_key, aad, sizeof aad, wrapped,
                           CRYPTO_SIGN_SK_BYTES + CRYPTO_WRAP_OVERHEAD, k->sign_sk);
    crypto_secure_free(sk_key);
    return rc;
}

stele_status vault_db_create(const char *db_dir, const vault_user *owner, const uint8_t *dek,
                             const uint8_t db_id[VAULT_ID_BYTES], vault_dbkeys *k, util_err *e)
{
    memset(k, 0, sizeof *k);
    int mrc = io_mkdirs(db_dir);
    if (mrc != 0)
        return util_fail(e, util_errno_status(-mrc), "cannot create '%s': %s", db_dir,
                         strerror(-mrc));
    char data[VAULT_PATH_MAX];
    snprintf(data, sizeof data, "%s/data", db_dir);
    if (mkdir(data, 0700) != 0 && errno != EEXIST)
        return util_fail(e, STELE_EIO, "cannot create '%s': %s", data, strerror(errno));
    stele_status rc = keys_alloc(k, e);
    if (rc != STELE_OK) return rc;
    memcpy(k->db_id, db_id, VAULT_ID_BYTES);
    k->epoch = 1;
    crypto_random(k->gk, CRYPTO_KEY_BYTES);
    uint8_t wrapped_gk[VAULT_WRAPPED_KEY_BYTES], aad[48];
    uint8_t wrapped_sk[CRYPTO_SIGN_SK_BYTES + CRYPTO_WRAP_OVERHEAD];
    gk_aad(db_id, k->epoch, owner->id, aad);
    if (crypto_sig_keypair(k->sign_pk, k->sign_sk) != 0 ||
        crypto_wrap(dek, aad, sizeof aad, k->gk, CRYPTO_KEY_BYTES, wrapped_gk) != 0 ||
        sign_key_wrap(k, wrapped_sk, 0) != 0) {
        vault_dbkeys_release(k);
        return util_fail(e, STELE_EIO, "cannot create the keys of a new database");
    }
    char owner_hex[33];
    crypto_hex(owner->id, VAULT_ID_BYTES, owner_hex);
    buf b;
    buf_init(&b);
    int bad = buf_printf(&b, "stele-keys 1\n") || buf_hex_line(&b, "db", db_id, VAULT_ID_BYTES) ||
              buf_printf(&b, "owner %s\nepoch %u\n", owner_hex, k->epoch) ||
              buf_hex_line(&b, "slot", wrapped_gk, sizeof wrapped_gk) ||
              buf_hex_line(&b, "sign_pk", k->sign_pk, CRYPTO_SIGN_PK_BYTES) ||
              buf_hex_line(&b, "sign_sk_wrapped", wrapped_sk, sizeof wrapped_sk) ||
              kv_finish(&b);
    rc = bad ? util_fail(e, STELE_ENOMEM, "out of memory")
             : io_write_atomic(db_dir, "keys", b.data, b.len, e);
    buf_release(&b);
    if (rc != STELE_OK) vault_dbkeys_release(k);
    return rc;
}

stele_status vault_db_unlock(const char *db_dir, const vault_user *u, const uint8_t *dek,
                             vault_dbkeys *k, util_err *e)
{
    memset(k, 0, sizeof *k);
    char path[VAULT_PATH_MAX];
    snprintf(path, sizeof path, "%s/keys", db_dir);
    uint8_t *text = NULL;
    stele_status rc = read_kv(path, "stele-keys ", &text, e);
    if (rc == STELE_ENOTFOUND)
        return util_fail(e, STELE_ENOTFOUND, "database keys '%s' are missing", path);
    if (rc != STELE_OK) return rc;
    uint8_t wrapped_gk[VAULT_WRAPPED_KEY_BYTES], owner[VAULT_ID_BYTES];
    uint8_t wrapped_sk[CRYPTO_SIGN_SK_BYTES + CRYPTO_WRAP_OVERHEAD];
    uint64_t epoch = 0;
    const char *t = (char *)text;
    int bad = kv_get_hex(t, "db", k->db_id, VAULT_ID_BYTES) ||
              kv_get_hex(t, "owner", owner, VAULT_ID_BYTES) || kv_get_u64(t, "epoch", &epoch) ||
              kv_get_hex(t, "slot", wrapped_gk, sizeof wrapped_gk) ||
              kv_get_hex(t, "sign_pk", k->sign_pk, CRYPTO_SIGN_PK_BYTES) ||
              kv_get_hex(t, "sign_sk_wrapped", wrapped_sk, sizeof wrapped_sk) ||
              epoch == 0 || epoch > UINT32_MAX;
    free(text);
    if (bad) return util_fail(e, STELE_ECORRUPT, "'%s' is corrupt: a field is missing", path);
    if (!crypto_equal(owner, u->id, VAULT_ID_BYTES))
        return util_fail(e, STELE_ENOTFOUND, "user '%s' has no key for database '%s'", u->name,
                         db_dir);
    k->epoch = (uint32_t)epoch;
    rc = keys_alloc(k, e);
    if (rc != STELE_OK) return rc;
    uint8_t aad[48], pk_check[CRYPTO_SIGN_PK_BYTES];
    gk_aad(k->db_id, k->epoch, u->id, aad);
    if (crypto_unwrap(dek, aad, sizeof aad, wrapped_gk, sizeof wrapped_gk, k->gk) != 0) {
        vault_dbkeys_release(k);
        return util_fail(e, STELE_ECORRUPT, "'%s': database key not authentic", path);
    }
    if (sign_key_wrap(k, wrapped_sk, 1) != 0) {
        vault_dbkeys_release(k);
        return util_fail(e, STELE_ECORRUPT, "'%s': signing key not authentic", path);
    }
    /* The public key in the file must belong to the (authentic) secret key. */
    memcpy(pk_check, k->sign_sk + 32, CRYPTO_SIGN_PK_BYTES);
    if (!crypto_equal(pk_check, k->sign_pk, CRYPTO_SIGN_PK_BYTES)) {
        vault_dbkeys_release(k);
        return util_fail(e, STELE_ECORRUPT, "'%s': public key does not match the signing key",
                         path);
    }
    return STELE_OK;
}

void vault_dbkeys_release(vault_dbkeys *k)
{
    crypto_secure_free(k->gk);
    crypto_secure_free(k->sign_sk);
    k->gk = NULL;
    k->sign_sk = NULL;
}

/* ---- the text-file helpers, for settings.c (vault_int.h) ---- */

stele_status vault_kv_read(const char *path, const char *magic, uint8_t **text, util_err *e)
{
    return read_kv(path, magic, text, e);
}

int vault_kv_finish(buf *b) { return kv_finish(b); }

int vault_kv_hex_line(buf *b, const char *key, const uint8_t *p, size_t len)
{
    return buf_hex_line(b, key, p, len);
}

int vault_kv_get(const char *text, const char *key, char *out, size_t cap)
{
    return kv_get(text, key, out, cap);
}

int vault_kv_get_hex(const char *text, const char *key, uint8_t *out, size_t len)
{
    return kv_get_hex(text, key, out, len);
}

int vault_kv_get_u64(const char *text, const char *key, uint64_t *out)
{
    return kv_get_u64(text, key, out);
}
