/*
 * dbkeys.c — a database's key slot file: key epochs, the owner's slot, member slots,
 * the registry slot, the sealed name and signing key; sharing, renaming and key
 * rotation. Layer: vault. Bytes: docs/FORMAT.md, "Key slots".
 *
 * The file is data/<vault_slots_id(db id)>, of the database's fixed file size:
 *   [0, 8448)        66 slots of 128 bytes: 0 the owner's, 1..64 members', 65 the
 *                    registry slot; every unused byte random
 *   [8448, 17980)    body: XChaCha20-Poly1305 under HKDF(GK_E, "key slots")
 *   [17980, size)    random
 * Nothing is in the clear: a user finds their slot by trying to open each one (at most
 * VAULT_SLOT_COUNT trials), so membership cannot be read from the file.
 *
 * Invariants:
 *  1. The file holds exactly one GK per epoch 1..epoch: the newest in the owner's slot
 *     and every member slot, each older one inside the body sealed under the newest.
 *     Whoever opens the newest can derive every file key; a slot of an older file copy
 *     gives no epoch after it.
 *  2. Every slot's plaintext names the database, the epoch, the user and the role, and
 *     is checked against the body (owner, member list, epoch): a slot moved to another
 *     database, epoch, position, user or role does not open.
 *  3. The body holds the SHA-256 of the whole slot table, so a change of any slot byte
 *     (used or not) is caught by every opener.
 *  4. The file is replaced whole (io_write_atomic): a reader sees the old or the new
 *     file, never a mix; the in-memory keys change only after the file is durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"
#include "vault/vault_int.h"

_Static_assert(VAULT_SLOT_SEALED <= VAULT_SLOT_BYTES, "a sealed slot fits a slot");
_Static_assert(VAULT_SLOT_PLAIN + CRYPTO_WRAP_OVERHEAD <= VAULT_SLOT_BYTES, "a wrap fits");
_Static_assert(VAULT_BODY_PLAIN == 9492, "body layout (docs/FORMAT.md) changed");
_Static_assert(VAULT_KEYS_USED == 17980, "key slot file layout (docs/FORMAT.md) changed");

/* Body plaintext offsets. */
#define B_MAGIC 0
#define B_VERSION 8
#define B_DB 12
#define B_OWNER 28
#define B_EPOCH 44
#define B_NMEMBERS 48
#define B_NAME 52
#define B_SIGN_PK (B_NAME + VAULT_DBNAME_PAD)
#define B_SIGN_SK (B_SIGN_PK + CRYPTO_SIGN_PK_BYTES)
#define B_MEMBERS (B_SIGN_SK + CRYPTO_SIGN_SK_BYTES)
#define B_OLD_GKS (B_MEMBERS + VAULT_MEMBERS_MAX * (VAULT_ID_BYTES + 1))
#define B_SLOTS_HASH (B_OLD_GKS + (VAULT_EPOCH_MAX - 1) * CRYPTO_KEY_BYTES)
_Static_assert(B_SLOTS_HASH + CRYPTO_HASH_BYTES == VAULT_BODY_PLAIN, "body offsets");
#define REGISTRY_PLAIN (4 + 2 * VAULT_ID_BYTES)

void vault_db_dir(const char *dir, const uint8_t db_id[VAULT_ID_BYTES], char *out, size_t cap)
{
    char hex[2 * VAULT_ID_BYTES + 1];
    crypto_hex(db_id, VAULT_ID_BYTES, hex);
    snprintf(out, cap, "%s/dbs/%s", dir, hex);
}

int vault_slots_id(const uint8_t db_id[VAULT_ID_BYTES], uint8_t id[VAULT_ID_BYTES])
{
    static const char info[] = "stele key slots v1";
    return crypto_hkdf(db_id, VAULT_ID_BYTES, NULL, 0, (const uint8_t *)info, sizeof info - 1,
                       id, VAULT_ID_BYTES);
}

void vault_slots_path(const char *db_dir, const uint8_t db_id[VAULT_ID_BYTES], char *out,
                      size_t cap)
{
    uint8_t id[VAULT_ID_BYTES];
    char hex[2 * VAULT_ID_BYTES + 1];
    if (vault_slots_id(db_id, id) != 0) memset(id, 0, sizeof id); /* HKDF cannot fail here */
    crypto_hex(id, VAULT_ID_BYTES, hex);
    snprintf(out, cap, "%s/data/%s", db_dir, hex);
}

static int derive_with(const uint8_t *gk, const uint8_t *db_id, const char *purpose,
                       const uint8_t *id, size_t id_len, uint8_t out[CRYPTO_KEY_BYTES])
{
    uint8_t info[128];
    size_t pl = strlen(purpose);
    STELE_ASSERT(6 + pl + id_len <= sizeof info);
    memcpy(info, "stele ", 6);
    memcpy(info + 6, purpose, pl);
    if (id_len) memcpy(info + 6 + pl, id, id_len);
    return crypto_hkdf(gk, CRYPTO_KEY_BYTES, db_id, VAULT_ID_BYTES, info, 6 + pl + id_len, out,
                       CRYPTO_KEY_BYTES);
}

int vault_derive(const vault_dbkeys *k, const char *purpose, const uint8_t *id, size_t id_len,
                 uint8_t out[CRYPTO_KEY_BYTES])
{
    STELE_ASSERT(k->gk && k->epoch >= 1);
    return derive_with(k->gk, k->db_id, purpose, id, id_len, out);
}

int vault_derive_epoch(const vault_dbkeys *k, uint32_t epoch, const char *purpose,
                       const uint8_t *id, size_t id_len, uint8_t out[CRYPTO_KEY_BYTES])
{
    if (epoch < 1 || epoch > k->epoch) return -1;
    return derive_with(k->gks + (size_t)(epoch - 1) * CRYPTO_KEY_BYTES, k->db_id, purpose, id,
                       id_len, out);
}

void vault_dbkeys_release(vault_dbkeys *k)
{
    crypto_secure_free(k->gks);
    crypto_secure_free(k->sign_sk);
    k->gks = k->gk = NULL;
    k->sign_sk = NULL;
}

/* Secure memory for `epochs` GKs and the signing key. */
static stele_status keys_alloc(vault_dbkeys *k, uint32_t epochs, util_err *e)
{
    STELE_ASSERT(epochs >= 1 && epochs <= VAULT_EPOCH_MAX);
    k->gks = crypto_secure_alloc((size_t)epochs * CRYPTO_KEY_BYTES);
    k->sign_sk = crypto_secure_alloc(CRYPTO_SIGN_SK_BYTES);
    if (!k->gks || !k->sign_sk) {
        vault_dbkeys_release(k);
        return util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    }
    k->epoch = epochs;
    k->gk = k->gks + (size_t)(epochs - 1) * CRYPTO_KEY_BYTES;
    return STELE_OK;
}

/* ---- slots ---- */

/* AAD of the owner's DEK-wrapped slot: binds database and owner. */
static void owner_aad(const uint8_t *db_id, const uint8_t *user_id, uint8_t aad[44])
{
    memcpy(aad, "stele/gk/v2\0", 12);
    memcpy(aad + 12, db_id, 16);
    memcpy(aad + 28, user_id, 16);
}

/* The plaintext of a slot: "SGK1" | db | epoch | user | role | GK (the newest). */
static void slot_plain(const vault_dbkeys *k, const uint8_t user[VAULT_ID_BYTES], int role,
                       uint8_t p[VAULT_SLOT_PLAIN])
{
    memcpy(p, "SGK1", 4);
    memcpy(p + 4, k->db_id, VAULT_ID_BYTES);
    put_u32(p + 20, k->epoch);
    memcpy(p + 24, user, VAULT_ID_BYTES);
    p[40] = (uint8_t)role;
    memcpy(p + 41, k->gk, CRYPTO_KEY_BYTES);
}

/* A slot sealed to box_pk (dek == NULL) or wrapped by the owner's DEK; random tail. */
static int slot_make(const vault_dbkeys *k, const uint8_t user[VAULT_ID_BYTES], int role,
                     const uint8_t *box_pk, const uint8_t *dek, uint8_t out[VAULT_SLOT_BYTES])
{
    uint8_t *p = crypto_secure_alloc(VAULT_SLOT_PLAIN), aad[44];
    if (!p) return -1;
    crypto_random(out, VAULT_SLOT_BYTES);
    slot_plain(k, user, role, p);
    owner_aad(k->db_id, user, aad);
    int rc = dek ? crypto_wrap(dek, aad, sizeof aad, p, VAULT_SLOT_PLAIN, out)
                 : crypto_seal(box_pk, p, VAULT_SLOT_PLAIN, out);
    crypto_secure_free(p);
    return rc;
}

/* Opens slot s for u: with the DEK (dek != NULL) or u's X25519 key; checks the magic,
 * the database and the user. 0 and the plaintext in p, or -1. */
static int slot_open(const uint8_t *db_id, const vault_user *u, const uint8_t *dek,
                     const uint8_t *box_sk, const uint8_t s[VAULT_SLOT_BYTES],
                     uint8_t p[VAULT_SLOT_PLAIN])
{
    uint8_t aad[44];
    owner_aad(db_id, u->id, aad);
    int rc = dek ? crypto_unwrap(dek, aad, sizeof aad, s, VAULT_SLOT_PLAIN + CRYPTO_WRAP_OVERHEAD,
                                 p)
                 : crypto_seal_open(u->box_pk, box_sk, s, VAULT_SLOT_SEALED, p);
    if (rc == 0 && (memcmp(p, "SGK1", 4) != 0 || memcmp(p + 4, db_id, VAULT_ID_BYTES) != 0 ||
                    memcmp(p + 24, u->id, VAULT_ID_BYTES) != 0))
        rc = -1;
    return rc;
}

/* ---- the body ---- */

static void body_aad(const uint8_t *db_id, const uint8_t *file_id, uint32_t epoch,
                     uint8_t aad[50])
{
    memcpy(aad, "stele/keys/v1\0", 14);
    memcpy(aad + 14, db_id, 16);
    memcpy(aad + 30, file_id, 16);
    put_u32(aad + 46, epoch);
}

static void body_encode(const vault_dbkeys *k, const uint8_t *table, uint8_t *b)
{
    memset(b, 0, VAULT_BODY_PLAIN);
    memcpy(b + B_MAGIC, "STELEKS1", 8);
    put_u32(b + B_VERSION, 1);
    memcpy(b + B_DB, k->db_id, VAULT_ID_BYTES);
    memcpy(b + B_OWNER, k->owner, VAULT_ID_BYTES);
    put_u32(b + B_EPOCH, k->epoch);
    put_u32(b + B_NMEMBERS, k->nmembers);
    memcpy(b + B_NAME, k->name, strlen(k->name));
    memcpy(b + B_SIGN_PK, k->sign_pk, CRYPTO_SIGN_PK_BYTES);
    memcpy(b + B_SIGN_SK, k->sign_sk, CRYPTO_SIGN_SK_BYTES);
    for (uint32_t i = 0; i < k->nmembers; i++) {
        uint8_t *m = b + B_MEMBERS + (size_t)i * (VAULT_ID_BYTES + 1);
        memcpy(m, k->members[i].user, VAULT_ID_BYTES);
        m[VAULT_ID_BYTES] = (uint8_t)k->members[i].role;
    }
    memcpy(b + B_OLD_GKS, k->gks, (size_t)(k->epoch - 1) * CRYPTO_KEY_BYTES);
    crypto_sha256(table, VAULT_SLOT_TABLE, b + B_SLOTS_HASH);
}

/* The fields of an opened body into k (GK of the newest epoch already in k->gk). */
static int body_decode(vault_dbkeys *k, const uint8_t *b, const uint8_t *table)
{
    uint8_t h[CRYPTO_HASH_BYTES];
    crypto_sha256(table, VAULT_SLOT_TABLE, h);
    uint32_t n = get_u32(b + B_NMEMBERS);
    if (memcmp(b + B_MAGIC, "STELEKS1", 8) != 0 || get_u32(b + B_VERSION) != 1 ||
        memcmp(b + B_DB, k->db_id, VAULT_ID_BYTES) != 0 || get_u32(b + B_EPOCH) != k->epoch ||
        n > VAULT_MEMBERS_MAX || !crypto_equal(h, b + B_SLOTS_HASH, sizeof h))
        return -1;
    char name[VAULT_DBNAME_PAD + 1];
    memcpy(name, b + B_NAME, VAULT_DBNAME_PAD);
    name[VAULT_DBNAME_PAD] = 0;
    if (!vault_name_ok(name)) return -1;
    util_strlcpy(k->name, name, sizeof k->name);
    memcpy(k->owner, b + B_OWNER, VAULT_ID_BYTES);
    memcpy(k->sign_pk, b + B_SIGN_PK, CRYPTO_SIGN_PK_BYTES);
    memcpy(k->sign_sk, b + B_SIGN_SK, CRYPTO_SIGN_SK_BYTES);
    k->nmembers = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *m = b + B_MEMBERS + (size_t)i * (VAULT_ID_BYTES + 1);
        vault_member *vm = &k->members[i];
        memcpy(vm->user, m, VAULT_ID_BYTES);
        vm->role = m[VAULT_ID_BYTES];
        memcpy(vm->slot, table + (size_t)(1 + i) * VAULT_SLOT_BYTES, VAULT_SLOT_BYTES);
        if (vm->role < VAULT_ROLE_READER || vm->role > VAULT_ROLE_ADMIN) return -1;
    }
    memcpy(k->owner_slot, table, VAULT_SLOT_BYTES);
    memcpy(k->registry_slot, table + (size_t)VAULT_SLOT_REGISTRY * VAULT_SLOT_BYTES,
           VAULT_SLOT_BYTES);
    memcpy(k->gks, b + B_OLD_GKS, (size_t)(k->epoch - 1) * CRYPTO_KEY_BYTES);
    /* the public key must belong to the secret key (libsodium keeps pk in sk[32..64]) */
    return crypto_equal(k->sign_sk + 32, k->sign_pk, CRYPTO_SIGN_PK_BYTES) ? 0 : -1;
}

/* ---- the file ---- */

/* Writes the whole file from k: slots as kept in k, a fresh body, random elsewhere. */
static stele_status keys_write(const char *db_dir, vault_dbkeys *k, util_err *e)
{
    STELE_ASSERT(k->file_size >= VAULT_KEYS_USED && k->nmembers <= VAULT_MEMBERS_MAX);
    uint8_t id[VAULT_ID_BYTES], key[CRYPTO_KEY_BYTES], aad[50];
    uint8_t *f = malloc(k->file_size), *b = crypto_secure_alloc(VAULT_BODY_PLAIN);
    char data[VAULT_PATH_MAX], hex[2 * VAULT_ID_BYTES + 1];
    int bad = !f || !b || vault_slots_id(k->db_id, id) != 0 ||
              vault_derive(k, "key slots", NULL, 0, key) != 0;
    if (!bad) {
        crypto_random_fill(f, k->file_size);
        memcpy(f, k->owner_slot, VAULT_SLOT_BYTES);
        for (uint32_t i = 0; i < k->nmembers; i++)
            memcpy(f + (size_t)(1 + i) * VAULT_SLOT_BYTES, k->members[i].slot, VAULT_SLOT_BYTES);
        memcpy(f + (size_t)VAULT_SLOT_REGISTRY * VAULT_SLOT_BYTES, k->registry_slot,
               VAULT_SLOT_BYTES);
        body_encode(k, f, b);
        body_aad(k->db_id, id, k->epoch, aad);
        bad = crypto_wrap(key, aad, sizeof aad, b, VAULT_BODY_PLAIN, f + VAULT_SLOT_TABLE) != 0;
    }
    crypto_wipe(key, sizeof key);
    crypto_secure_free(b);
    stele_status rc = STELE_OK;
    if (bad) {
        rc = util_fail(e, STELE_ENOMEM, "cannot seal the key slots of a database");
    } else {
        snprintf(data, sizeof data, "%s/data", db_dir);
        crypto_hex(id, VAULT_ID_BYTES, hex);
        rc = io_write_atomic(data, hex, f, k->file_size, e);
    }
    free(f);
    return rc;
}

/* The registry slot: "SRG1" | db id | owner id, sealed to the store admin's key. */
static int registry_make(vault_dbkeys *k, const uint8_t admin_box_pk[CRYPTO_BOX_PK_BYTES])
{
    uint8_t p[REGISTRY_PLAIN];
    memcpy(p, "SRG1", 4);
    memcpy(p + 4, k->db_id, VAULT_ID_BYTES);
    memcpy(p + 20, k->owner, VAULT_ID_BYTES);
    crypto_random(k->registry_slot, VAULT_SLOT_BYTES);
    return crypto_seal(admin_box_pk, p, sizeof p, k->registry_slot);
}

static stele_status owner_wrap(vault_dbkeys *k, const uint8_t *dek, util_err *e)
{
    if (slot_make(k, k->owner, VAULT_ROLE_OWNER, NULL, dek, k->owner_slot) != 0)
        return util_fail(e, STELE_EIO, "cannot wrap a database key");
    return STELE_OK;
}

/* data/ and an empty lock file (created here so that every database has one and its
 * presence tells nothing about use). */
static stele_status db_dirs(const char *db_dir, util_err *e)
{
    int mrc = io_mkdirs(db_dir);
    if (mrc != 0)
        return util_fail(e, util_errno_status(-mrc), "cannot create '%s': %s", db_dir,
                         strerror(-mrc));
    char p[VAULT_PATH_MAX];
    snprintf(p, sizeof p, "%s/data", db_dir);
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return util_fail(e, STELE_EIO, "cannot create '%s': %s", p, strerror(errno));
    snprintf(p, sizeof p, "%s/lock", db_dir);
    int fd = io_open(p, O_WRONLY | O_CREAT, 0600);
    if (fd < 0)
        return util_fail(e, util_errno_status(-fd), "cannot create '%s': %s", p, strerror(-fd));
    io_close(fd);
    return STELE_OK;
}

stele_status vault_db_create(const char *db_dir, const vault_user *owner, const uint8_t *dek,
                             const uint8_t db_id[VAULT_ID_BYTES], const char *name,
                             uint32_t file_size, const uint8_t admin_box_pk[CRYPTO_BOX_PK_BYTES],
                             vault_dbkeys *k, util_err *e)
{
    memset(k, 0, sizeof *k);
    STELE_ASSERT(name && vault_name_ok(name));
    if (file_size < VAULT_KEYS_USED)
        return util_fail(e, STELE_EINVAL, "file size %u cannot hold the key slots (%u bytes)",
                         file_size, (unsigned)VAULT_KEYS_USED);
    stele_status rc = db_dirs(db_dir, e);
    if (rc == STELE_OK) rc = keys_alloc(k, 1, e);
    if (rc != STELE_OK) return rc;
    memcpy(k->db_id, db_id, VAULT_ID_BYTES);
    memcpy(k->owner, owner->id, VAULT_ID_BYTES);
    util_strlcpy(k->name, name, sizeof k->name);
    k->role = VAULT_ROLE_OWNER;
    k->file_size = file_size;
    crypto_random(k->gk, CRYPTO_KEY_BYTES);
    if (crypto_sig_keypair(k->sign_pk, k->sign_sk) != 0 || registry_make(k, admin_box_pk) != 0)
        rc = util_fail(e, STELE_EIO, "cannot make the keys of a new database");
    if (rc == STELE_OK) rc = owner_wrap(k, dek, e);
    if (rc == STELE_OK) rc = keys_write(db_dir, k, e);
    if (rc != STELE_OK) vault_dbkeys_release(k);
    return rc;
}

/* ---- reading ---- */

/* Reads the slot table and the body box (VAULT_KEYS_USED bytes) into img; the file's
 * size into *size. */
static stele_status keys_read(const char *path, uint8_t *img, uint32_t *size, util_err *e)
{
    int fd = io_open(path, O_RDONLY, 0);
    if (fd == -ENOENT)
        return util_fail(e, STELE_ENOTFOUND, "the key slots of the database ('%s') are missing",
                         path);
    if (fd < 0) return util_fail(e, util_errno_status(-fd), "cannot open '%s': %s", path,
                                 strerror(-fd));
    struct stat st;
    ssize_t n = fstat(fd, &st) == 0 ? io_pread(fd, img, VAULT_KEYS_USED, 0) : -errno;
    io_close(fd);
    if (n < 0) return util_fail(e, STELE_EIO, "cannot read '%s': %s", path, strerror((int)-n));
    if (n != VAULT_KEYS_USED || st.st_size > (off_t)UINT32_MAX)
        return util_fail(e, STELE_ECORRUPT, "'%s' is %lld bytes: truncated or replaced "
                         "(restore it from a backup)", path, (long long)st.st_size);
    *size = (uint32_t)st.st_size;
    return STELE_OK;
}

/* Finds and opens u's slot; GK, epoch and role into k (keys allocated here). Returns the
 * slot's index in *at. */
static stele_status unlock_slot(const char *path, const uint8_t *table, vault_dbkeys *k,
                                const vault_user *u, const uint8_t *dek, int which,
                                uint32_t *at, util_err *e)
{
    uint8_t *p = crypto_secure_alloc(VAULT_SLOT_PLAIN), *box_sk = NULL;
    if (!p) return util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    int found = slot_open(k->db_id, u, dek, NULL, table, p) == 0;
    *at = 0;
    stele_status rc = found ? STELE_OK : vault_user_box_sk(u, dek, &box_sk, e);
    uint32_t n = which == VAULT_UNLOCK_OWNER ? 1 : VAULT_SLOT_REGISTRY;
    for (uint32_t i = 0; rc == STELE_OK && !found && i < n; i++) {
        found = slot_open(k->db_id, u, NULL, box_sk, table + (size_t)i * VAULT_SLOT_BYTES, p) == 0;
        if (found) *at = i;
    }
    crypto_secure_free(box_sk);
    uint32_t epoch = found ? get_u32(p + 20) : 0;
    int role = found ? p[40] : VAULT_ROLE_NONE;
    if (rc == STELE_OK && !found)
        rc = util_fail(e, STELE_EACCESS, "no access: user '%s' has no key slot in database "
                       "'%s' (ask its owner or an admin to share it; a damaged key slot "
                       "file looks the same)", u->name, path);
    if (rc == STELE_OK && (epoch == 0 || epoch > VAULT_EPOCH_MAX ||
                           (*at == 0) != (role == VAULT_ROLE_OWNER)))
        rc = util_fail(e, STELE_ECORRUPT, "'%s': the key slot of user '%s' is not authentic",
                       path, u->name);
    if (rc == STELE_OK) rc = keys_alloc(k, epoch, e);
    if (rc == STELE_OK) {
        memcpy(k->gk, p + 41, CRYPTO_KEY_BYTES);
        k->role = role;
    }
    crypto_secure_free(p);
    return rc;
}

/* Opens the body with the newest GK and checks it against the slot u opened. */
static stele_status unlock_body(const char *path, const uint8_t *img, vault_dbkeys *k,
                                const vault_user *u, uint32_t at, util_err *e)
{
    uint8_t id[VAULT_ID_BYTES], key[CRYPTO_KEY_BYTES], aad[50];
    uint8_t *b = crypto_secure_alloc(VAULT_BODY_PLAIN);
    int bad = !b || vault_slots_id(k->db_id, id) != 0 ||
              vault_derive(k, "key slots", NULL, 0, key) != 0;
    body_aad(k->db_id, id, k->epoch, aad);
    bad = bad || crypto_unwrap(key, aad, sizeof aad, img + VAULT_SLOT_TABLE,
                               VAULT_BODY_PLAIN + CRYPTO_WRAP_OVERHEAD, b) != 0 ||
          body_decode(k, b, img) != 0;
    crypto_wipe(key, sizeof key);
    crypto_secure_free(b);
    if (!bad && at == 0) bad = !crypto_equal(k->owner, u->id, VAULT_ID_BYTES);
    if (!bad && at > 0)
        bad = at > k->nmembers ||
              !crypto_equal(k->members[at - 1].user, u->id, VAULT_ID_BYTES) ||
              k->members[at - 1].role != k->role;
    if (bad) return util_fail(e, STELE_ECORRUPT, "'%s': the keys of the database are not "
                              "authentic (damaged or changed; restore the file from a backup)",
                              path);
    return STELE_OK;
}

stele_status vault_db_unlock(const char *db_dir, const uint8_t db_id[VAULT_ID_BYTES],
                             const vault_user *u, const uint8_t *dek, int which,
                             vault_dbkeys *k, util_err *e)
{
    memset(k, 0, sizeof *k);
    memcpy(k->db_id, db_id, VAULT_ID_BYTES);
    char path[VAULT_PATH_MAX];
    vault_slots_path(db_dir, db_id, path, sizeof path);
    uint8_t *img = malloc(VAULT_KEYS_USED);
    uint32_t at = 0;
    stele_status rc = img ? keys_read(path, img, &k->file_size, e)
                          : util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = unlock_slot(path, img, k, u, dek, which, &at, e);
    if (rc == STELE_OK) rc = unlock_body(path, img, k, u, at, e);
    free(img);
    if (rc != STELE_OK) {
        vault_dbkeys_release(k);
        k->role = VAULT_ROLE_NONE;
    }
    return rc;
}

stele_status vault_db_owner(const char *db_dir, const uint8_t db_id[VAULT_ID_BYTES],
                            const vault_user *admin, const uint8_t *dek,
                            uint8_t owner[VAULT_ID_BYTES], util_err *e)
{
    char path[VAULT_PATH_MAX];
    vault_slots_path(db_dir, db_id, path, sizeof path);
    uint8_t *img = malloc(VAULT_KEYS_USED), *box_sk = NULL, p[REGISTRY_PLAIN];
    uint32_t size;
    stele_status rc = img ? keys_read(path, img, &size, e)
                          : util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = vault_user_box_sk(admin, dek, &box_sk, e);
    if (rc == STELE_OK &&
        (crypto_seal_open(admin->box_pk, box_sk,
                          img + (size_t)VAULT_SLOT_REGISTRY * VAULT_SLOT_BYTES,
                          REGISTRY_PLAIN + CRYPTO_SEAL_OVERHEAD, p) != 0 ||
         memcmp(p, "SRG1", 4) != 0 || memcmp(p + 4, db_id, VAULT_ID_BYTES) != 0))
        rc = util_fail(e, STELE_EACCESS, "no access: the registry slot of '%s' does not open "
                       "for user '%s' (only the store's admin reads it)", path, admin->name);
    if (rc == STELE_OK) memcpy(owner, p + 20, VAULT_ID_BYTES);
    crypto_secure_free(box_sk);
    free(img);
    return rc;
}

typedef struct admin_ctx {
    vault_user *out;
    int found;
} admin_ctx;

static int admin_cb(void *ctx, const vault_user *u)
{
    admin_ctx *c = ctx;
    if (!u->admin) return 0;
    *c->out = *u;
    c->found = 1;
    return 1;
}

stele_status vault_admin_find(const char *dir, vault_user *admin, util_err *e)
{
    admin_ctx c = {admin, 0};
    stele_status rc = vault_user_each(dir, admin_cb, &c, e);
    if (rc == STELE_OK && !c.found)
        rc = util_fail(e, STELE_ENOTFOUND, "store '%s' has no admin user (users/ damaged?)",
                       dir);
    return rc;
}

/* ---- changes ---- */

stele_status vault_db_share(const char *db_dir, vault_dbkeys *k, const vault_user *member,
                            int role, util_err *e)
{
    STELE_ASSERT(role >= VAULT_ROLE_READER && role <= VAULT_ROLE_ADMIN);
    if (crypto_equal(member->id, k->owner, VAULT_ID_BYTES))
        return util_fail(e, STELE_EINVAL, "user '%s' owns database '%s': nothing to share",
                         member->name, k->name);
    uint32_t i = 0;
    while (i < k->nmembers && !crypto_equal(k->members[i].user, member->id, VAULT_ID_BYTES)) i++;
    if (i == VAULT_MEMBERS_MAX)
        return util_fail(e, STELE_ETOOBIG, "database '%s' already has %u members (the limit)",
                         k->name, VAULT_MEMBERS_MAX);
    vault_member saved = k->members[i];
    uint32_t saved_n = k->nmembers;
    vault_member *m = &k->members[i];
    memcpy(m->user, member->id, VAULT_ID_BYTES);
    m->role = role;
    if (slot_make(k, member->id, role, member->box_pk, NULL, m->slot) != 0) {
        *m = saved;
        return util_fail(e, STELE_EIO, "cannot seal the database key for '%s'", member->name);
    }
    if (i == k->nmembers) k->nmembers++;
    stele_status rc = keys_write(db_dir, k, e);
    if (rc != STELE_OK) {
        k->members[i] = saved;
        k->nmembers = saved_n;
    }
    return rc;
}

stele_status vault_db_rename(const char *db_dir, vault_dbkeys *k, const char *name, util_err *e)
{
    STELE_ASSERT(vault_name_ok(name));
    char old[VAULT_NAME_MAX + 1];
    util_strlcpy(old, k->name, sizeof old);
    util_strlcpy(k->name, name, sizeof k->name);
    stele_status rc = keys_write(db_dir, k, e);
    if (rc != STELE_OK) util_strlcpy(k->name, old, sizeof k->name);
    return rc;
}

/* Re-seals the slots of the remaining members (k at the new epoch) for their current
 * public keys; a member whose user was removed from the registry is dropped. */
static stele_status reseal_members(const char *store, vault_dbkeys *k, util_err *e)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < k->nmembers; i++) {
        vault_user mu;
        util_err ue;
        stele_status rc = vault_user_by_id(store, k->members[i].user, &mu, &ue);
        if (rc == STELE_ENOTFOUND) continue;
        if (rc != STELE_OK) return util_fail(e, rc, "%s", ue.msg);
        vault_member m = k->members[i];
        if (slot_make(k, m.user, m.role, mu.box_pk, NULL, m.slot) != 0)
            return util_fail(e, STELE_EIO, "cannot seal the database key for '%s'", mu.name);
        k->members[kept++] = m;
    }
    k->nmembers = kept;
    return STELE_OK;
}

/* The owner's slot at the new epoch: wrapped by the owner's DEK, or sealed to them. */
static stele_status reslot_owner(vault_dbkeys *k, const vault_user *owner, const uint8_t *dek,
                                 util_err *e)
{
    if (dek) return owner_wrap(k, dek, e);
    if (slot_make(k, owner->id, VAULT_ROLE_OWNER, owner->box_pk, NULL, k->owner_slot) != 0)
        return util_fail(e, STELE_EIO, "cannot seal the database key for its owner");
    return STELE_OK;
}

stele_status vault_db_rotate(const char *store, const char *db_dir, vault_dbkeys *k,
                             const uint8_t *revoked, const vault_user *owner,
                             const uint8_t *dek, util_err *e)
{
    STELE_ASSERT(crypto_equal(owner->id, k->owner, VAULT_ID_BYTES));
    if (k->epoch >= VAULT_EPOCH_MAX)
        return util_fail(e, STELE_ETOOBIG, "database '%s' has had %u key epochs (the limit)",
                         k->name, VAULT_EPOCH_MAX);
    vault_dbkeys *old = malloc(sizeof *old);
    if (!old) return util_fail(e, STELE_ENOMEM, "out of memory");
    *old = *k;
    uint32_t n = k->epoch + 1;
    stele_status rc = keys_alloc(k, n, e); /* replaces gks and sign_sk in k */
    if (rc != STELE_OK) {
        *k = *old;
        free(old);
        return rc;
    }
    memcpy(k->gks, old->gks, (size_t)old->epoch * CRYPTO_KEY_BYTES);
    crypto_random(k->gk, CRYPTO_KEY_BYTES);
    memcpy(k->sign_sk, old->sign_sk, CRYPTO_SIGN_SK_BYTES);
    uint32_t kept = 0;
    for (uint32_t i = 0; revoked && i < k->nmembers; i++)
        if (!crypto_equal(k->members[i].user, revoked, VAULT_ID_BYTES))
            k->members[kept++] = k->members[i];
    if (revoked) k->nmembers = kept;
    rc = reseal_members(store, k, e);
    if (rc == STELE_OK) rc = reslot_owner(k, owner, dek, e);
    if (rc == STELE_OK) rc = keys_write(db_dir, k, e);
    if (rc != STELE_OK) {
        vault_dbkeys_release(k);
        *k = *old; /* the old secrets are still allocated: nothing was freed */
    } else {
        vault_dbkeys_release(old);
    }
    crypto_wipe(old, sizeof *old);
    free(old);
    return rc;
}
