/*
 * dbkeys.c — a database's key file: key epochs, the owner's slot, member slots, the
 * sealed name and the signing key; sharing, renaming and key rotation. Layer: vault.
 * Bytes: docs/FORMAT.md, "dbs/<id>/keys".
 *
 * Invariants:
 *  1. The file holds exactly one GK per epoch 1..epoch: the newest in the owner's slot
 *     and every member slot, each older one wrapped under the newest. Whoever opens
 *     the newest can derive every file key; a slot of an older file copy gives no
 *     epoch after it.
 *  2. Every slot's plaintext names the database, the epoch, the user and the role, and
 *     is checked against the line it came from: a slot moved to another database,
 *     epoch, user or role does not open.
 *  3. The file is replaced whole (io_write_atomic): a reader sees the old or the new
 *     file, never a mix; the in-memory keys change only after the file is durable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "util/io.h"
#include "vault/vault_int.h"

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

static void oldgk_aad(const uint8_t *db_id, uint32_t epoch, uint32_t newest, uint8_t aad[39])
{
    memcpy(aad, "stele/oldgk/v1\0", 15);
    memcpy(aad + 15, db_id, 16);
    put_u32(aad + 31, epoch);
    put_u32(aad + 35, newest);
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

/* Wraps (or unwraps) the signing key under a key derived from the newest GK. */
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

#define NAME_WRAPPED (VAULT_DBNAME_PAD + CRYPTO_WRAP_OVERHEAD)

/* Seals (or opens) the database name, padded with zeros to VAULT_DBNAME_PAD bytes. */
static int name_wrap(vault_dbkeys *k, uint8_t wrapped[NAME_WRAPPED], int unwrap)
{
    uint8_t key[CRYPTO_KEY_BYTES], pad[VAULT_DBNAME_PAD + 1], aad[32];
    memcpy(aad, "stele/dbname/v1\0", 16);
    memcpy(aad + 16, k->db_id, 16);
    int rc = vault_derive(k, "db name", NULL, 0, key);
    memset(pad, 0, sizeof pad);
    if (rc == 0 && !unwrap) {
        memcpy(pad, k->name, strlen(k->name));
        rc = crypto_wrap(key, aad, sizeof aad, pad, VAULT_DBNAME_PAD, wrapped);
    } else if (rc == 0) {
        rc = crypto_unwrap(key, aad, sizeof aad, wrapped, NAME_WRAPPED, pad);
        pad[VAULT_DBNAME_PAD] = 0;
        if (rc == 0 && !vault_name_ok((char *)pad)) rc = -1;
        if (rc == 0) util_strlcpy(k->name, (char *)pad, sizeof k->name);
    }
    crypto_wipe(key, sizeof key);
    return rc;
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

static int slot_seal(const vault_dbkeys *k, const uint8_t user[VAULT_ID_BYTES], int role,
                     const uint8_t box_pk[CRYPTO_BOX_PK_BYTES], uint8_t out[VAULT_SLOT_SEALED])
{
    uint8_t *p = crypto_secure_alloc(VAULT_SLOT_PLAIN);
    if (!p) return -1;
    slot_plain(k, user, role, p);
    int rc = crypto_seal(box_pk, p, VAULT_SLOT_PLAIN, out);
    crypto_secure_free(p);
    return rc;
}

/* Opens a sealed slot with the user's X25519 key and checks what it names; the GK goes
 * to k->gk (already allocated for k->epoch epochs). 0 or -1. */
static int slot_open(vault_dbkeys *k, const vault_user *u, const uint8_t *box_sk, int role,
                     const uint8_t sealed[VAULT_SLOT_SEALED])
{
    uint8_t *p = crypto_secure_alloc(VAULT_SLOT_PLAIN);
    if (!p) return -1;
    int rc = crypto_seal_open(u->box_pk, box_sk, sealed, VAULT_SLOT_SEALED, p);
    if (rc == 0 && (memcmp(p, "SGK1", 4) != 0 || memcmp(p + 4, k->db_id, 16) != 0 ||
                    get_u32(p + 20) != k->epoch || memcmp(p + 24, u->id, 16) != 0 ||
                    p[40] != role))
        rc = -1;
    if (rc == 0) memcpy(k->gk, p + 41, CRYPTO_KEY_BYTES);
    crypto_secure_free(p);
    return rc;
}

/* ---- the file ---- */

static int member_line(buf *b, uint32_t i, const vault_member *m)
{
    char uh[33], sh[2 * VAULT_SLOT_SEALED + 1];
    crypto_hex(m->user, VAULT_ID_BYTES, uh);
    crypto_hex(m->sealed, VAULT_SLOT_SEALED, sh);
    return buf_printf(b, "member.%u %s %s %s\n", i, uh, vault_role_name(m->role), sh);
}

/* Older GKs, each wrapped under the newest. */
static int old_gk_lines(buf *b, const vault_dbkeys *k)
{
    for (uint32_t ep = 1; ep < k->epoch; ep++) {
        uint8_t w[VAULT_WRAPPED_KEY_BYTES], aad[39];
        char key[32];
        oldgk_aad(k->db_id, ep, k->epoch, aad);
        if (crypto_wrap(k->gk, aad, sizeof aad, k->gks + (size_t)(ep - 1) * CRYPTO_KEY_BYTES,
                        CRYPTO_KEY_BYTES, w) != 0)
            return -1;
        snprintf(key, sizeof key, "gk.%u", ep);
        if (vault_kv_hex_line(b, key, w, sizeof w) != 0) return -1;
    }
    return 0;
}

/* Writes the whole keys file from k (all wraps made fresh from the secrets in k). */
static stele_status keys_write(const char *db_dir, vault_dbkeys *k, util_err *e)
{
    uint8_t wrapped_sk[CRYPTO_SIGN_SK_BYTES + CRYPTO_WRAP_OVERHEAD], name[NAME_WRAPPED];
    char owner_hex[33];
    crypto_hex(k->owner, VAULT_ID_BYTES, owner_hex);
    buf b;
    buf_init(&b);
    int bad = sign_key_wrap(k, wrapped_sk, 0) != 0 || name_wrap(k, name, 0) != 0 ||
              buf_printf(&b, "stele-keys 1\n") ||
              vault_kv_hex_line(&b, "db", k->db_id, VAULT_ID_BYTES) ||
              buf_printf(&b, "owner %s\nepoch %u\n", owner_hex, k->epoch) ||
              (k->has_owner_sealed
                   ? vault_kv_hex_line(&b, "slot_sealed", k->owner_sealed, VAULT_SLOT_SEALED)
                   : vault_kv_hex_line(&b, "slot", k->owner_slot, sizeof k->owner_slot)) ||
              old_gk_lines(&b, k) != 0 || vault_kv_hex_line(&b, "name", name, sizeof name) ||
              buf_printf(&b, "members %u\n", k->nmembers);
    for (uint32_t i = 0; !bad && i < k->nmembers; i++) bad = member_line(&b, i, &k->members[i]);
    bad = bad || vault_kv_hex_line(&b, "sign_pk", k->sign_pk, CRYPTO_SIGN_PK_BYTES) ||
          vault_kv_hex_line(&b, "sign_sk_wrapped", wrapped_sk, sizeof wrapped_sk) ||
          vault_kv_finish(&b);
    stele_status rc = bad ? util_fail(e, STELE_ENOMEM, "cannot seal the keys of a database")
                          : io_write_atomic(db_dir, "keys", b.data, b.len, e);
    buf_release(&b);
    return rc;
}

static stele_status owner_wrap(vault_dbkeys *k, const uint8_t *dek, util_err *e)
{
    uint8_t aad[48];
    gk_aad(k->db_id, k->epoch, k->owner, aad);
    k->has_owner_sealed = 0;
    if (crypto_wrap(dek, aad, sizeof aad, k->gk, CRYPTO_KEY_BYTES, k->owner_slot) != 0)
        return util_fail(e, STELE_EIO, "cannot wrap a database key");
    return STELE_OK;
}

stele_status vault_db_create(const char *db_dir, const vault_user *owner, const uint8_t *dek,
                             const uint8_t db_id[VAULT_ID_BYTES], const char *name,
                             vault_dbkeys *k, util_err *e)
{
    memset(k, 0, sizeof *k);
    STELE_ASSERT(name && vault_name_ok(name));
    int mrc = io_mkdirs(db_dir);
    if (mrc != 0)
        return util_fail(e, util_errno_status(-mrc), "cannot create '%s': %s", db_dir,
                         strerror(-mrc));
    char data[VAULT_PATH_MAX];
    snprintf(data, sizeof data, "%s/data", db_dir);
    if (mkdir(data, 0700) != 0 && errno != EEXIST)
        return util_fail(e, STELE_EIO, "cannot create '%s': %s", data, strerror(errno));
    stele_status rc = keys_alloc(k, 1, e);
    if (rc != STELE_OK) return rc;
    memcpy(k->db_id, db_id, VAULT_ID_BYTES);
    memcpy(k->owner, owner->id, VAULT_ID_BYTES);
    util_strlcpy(k->name, name, sizeof k->name);
    k->role = VAULT_ROLE_OWNER;
    crypto_random(k->gk, CRYPTO_KEY_BYTES);
    if (crypto_sig_keypair(k->sign_pk, k->sign_sk) != 0)
        rc = util_fail(e, STELE_EIO, "cannot make the signing key of a new database");
    if (rc == STELE_OK) rc = owner_wrap(k, dek, e);
    if (rc == STELE_OK) rc = keys_write(db_dir, k, e);
    if (rc != STELE_OK) vault_dbkeys_release(k);
    return rc;
}

/* ---- reading ---- */

static int parse_members(const char *t, vault_dbkeys *k)
{
    uint64_t n;
    if (vault_kv_get_u64(t, "members", &n) != 0 || n > VAULT_MEMBERS_MAX) return -1;
    k->nmembers = (uint32_t)n;
    for (uint32_t i = 0; i < k->nmembers; i++) {
        char key[32], v[1024], uh[40], role[16], sh[256]; /* widths below: size - 1 */
        _Static_assert(2 * VAULT_SLOT_SEALED < sizeof sh, "a sealed slot fits in hex");
        snprintf(key, sizeof key, "member.%u", i);
        if (vault_kv_get(t, key, v, sizeof v) != 0 ||
            sscanf(v, "%39s %15s %255s", uh, role, sh) != 3)
            return -1;
        vault_member *m = &k->members[i];
        m->role = vault_role_parse(role);
        if (crypto_unhex(uh, m->user, VAULT_ID_BYTES) != 0 ||
            crypto_unhex(sh, m->sealed, VAULT_SLOT_SEALED) != 0 || m->role < VAULT_ROLE_READER ||
            m->role > VAULT_ROLE_ADMIN)
            return -1;
    }
    return 0;
}

/* The plaintext fields of a keys file into k (no secrets). */
static stele_status keys_parse(const char *path, const char *t, vault_dbkeys *k, util_err *e)
{
    uint64_t epoch = 0;
    int bad = vault_kv_get_hex(t, "db", k->db_id, VAULT_ID_BYTES) ||
              vault_kv_get_hex(t, "owner", k->owner, VAULT_ID_BYTES) ||
              vault_kv_get_u64(t, "epoch", &epoch) || epoch == 0 || epoch > VAULT_EPOCH_MAX ||
              vault_kv_get_hex(t, "sign_pk", k->sign_pk, CRYPTO_SIGN_PK_BYTES) ||
              parse_members(t, k) != 0;
    if (!bad) {
        k->has_owner_sealed =
            vault_kv_get_hex(t, "slot_sealed", k->owner_sealed, VAULT_SLOT_SEALED) == 0;
        bad = !k->has_owner_sealed &&
              vault_kv_get_hex(t, "slot", k->owner_slot, sizeof k->owner_slot) != 0;
    }
    if (bad) return util_fail(e, STELE_ECORRUPT, "'%s' is corrupt: a field is missing", path);
    k->epoch = (uint32_t)epoch;
    return STELE_OK;
}

static stele_status keys_read(const char *db_dir, char **text, char *path, size_t cap,
                              util_err *e)
{
    snprintf(path, cap, "%s/keys", db_dir);
    uint8_t *t = NULL;
    stele_status rc = vault_kv_read(path, "stele-keys ", &t, e);
    if (rc == STELE_ENOTFOUND)
        return util_fail(e, STELE_ENOTFOUND, "database keys '%s' are missing", path);
    *text = (char *)t;
    return rc;
}

stele_status vault_db_peek(const char *db_dir, uint8_t db_id[VAULT_ID_BYTES],
                           uint8_t owner[VAULT_ID_BYTES], util_err *e)
{
    char path[VAULT_PATH_MAX], *t = NULL;
    stele_status rc = keys_read(db_dir, &t, path, sizeof path, e);
    if (rc != STELE_OK) return rc;
    int bad = vault_kv_get_hex(t, "db", db_id, VAULT_ID_BYTES) ||
              vault_kv_get_hex(t, "owner", owner, VAULT_ID_BYTES);
    free(t);
    return bad ? util_fail(e, STELE_ECORRUPT, "'%s' is corrupt: a field is missing", path)
               : STELE_OK;
}

int vault_db_is_member(const char *db_dir, const uint8_t user[VAULT_ID_BYTES], int *role)
{
    char path[VAULT_PATH_MAX], *t = NULL;
    util_err e;
    vault_dbkeys *k = calloc(1, sizeof *k);
    int found = 0;
    if (k && keys_read(db_dir, &t, path, sizeof path, &e) == STELE_OK &&
        keys_parse(path, t, k, &e) == STELE_OK)
        for (uint32_t i = 0; i < k->nmembers && !found; i++)
            if (memcmp(k->members[i].user, user, VAULT_ID_BYTES) == 0) {
                found = 1;
                *role = k->members[i].role;
            }
    free(t);
    free(k);
    return found;
}

/* The newest GK into k->gk through u's slot (owner or member); sets k->role. */
static stele_status unlock_slot(const char *path, vault_dbkeys *k, const vault_user *u,
                                const uint8_t *dek, util_err *e)
{
    int owner = crypto_equal(k->owner, u->id, VAULT_ID_BYTES);
    if (owner && !k->has_owner_sealed) {
        uint8_t aad[48];
        gk_aad(k->db_id, k->epoch, u->id, aad);
        k->role = VAULT_ROLE_OWNER;
        if (crypto_unwrap(dek, aad, sizeof aad, k->owner_slot, sizeof k->owner_slot, k->gk))
            return util_fail(e, STELE_ECORRUPT, "'%s': database key not authentic", path);
        return STELE_OK;
    }
    const uint8_t *sealed = owner ? k->owner_sealed : NULL;
    k->role = owner ? VAULT_ROLE_OWNER : VAULT_ROLE_NONE;
    for (uint32_t i = 0; !owner && i < k->nmembers && !sealed; i++)
        if (crypto_equal(k->members[i].user, u->id, VAULT_ID_BYTES)) {
            sealed = k->members[i].sealed;
            k->role = k->members[i].role;
        }
    if (!sealed)
        return util_fail(e, STELE_EACCESS, "no access: user '%s' is neither the owner nor a "
                         "member of database '%s' (ask its owner or an admin to share it)",
                         u->name, path);
    uint8_t *box_sk = NULL;
    stele_status rc = vault_user_box_sk(u, dek, &box_sk, e);
    if (rc == STELE_OK && slot_open(k, u, box_sk, k->role, sealed) != 0)
        rc = util_fail(e, STELE_ECORRUPT, "'%s': the key slot of user '%s' is not authentic",
                       path, u->name);
    crypto_secure_free(box_sk);
    return rc;
}

/* Every older GK from its wrap under the newest. */
static stele_status unlock_old(const char *path, const char *t, vault_dbkeys *k, util_err *e)
{
    for (uint32_t ep = 1; ep < k->epoch; ep++) {
        uint8_t w[VAULT_WRAPPED_KEY_BYTES], aad[39];
        char key[32];
        snprintf(key, sizeof key, "gk.%u", ep);
        oldgk_aad(k->db_id, ep, k->epoch, aad);
        if (vault_kv_get_hex(t, key, w, sizeof w) != 0 ||
            crypto_unwrap(k->gk, aad, sizeof aad, w, sizeof w,
                          k->gks + (size_t)(ep - 1) * CRYPTO_KEY_BYTES) != 0)
            return util_fail(e, STELE_ECORRUPT, "'%s': the key of epoch %u is missing or not "
                             "authentic", path, ep);
    }
    return STELE_OK;
}

/* The signing key and the name; checks that sign_pk belongs to the secret key. */
static stele_status unlock_rest(const char *path, const char *t, vault_dbkeys *k, util_err *e)
{
    uint8_t wrapped_sk[CRYPTO_SIGN_SK_BYTES + CRYPTO_WRAP_OVERHEAD], name[NAME_WRAPPED];
    if (vault_kv_get_hex(t, "sign_sk_wrapped", wrapped_sk, sizeof wrapped_sk) != 0 ||
        sign_key_wrap(k, wrapped_sk, 1) != 0)
        return util_fail(e, STELE_ECORRUPT, "'%s': signing key not authentic", path);
    if (!crypto_equal(k->sign_sk + 32, k->sign_pk, CRYPTO_SIGN_PK_BYTES))
        return util_fail(e, STELE_ECORRUPT, "'%s': public key does not match the signing key",
                         path);
    if (vault_kv_get_hex(t, "name", name, sizeof name) != 0 || name_wrap(k, name, 1) != 0)
        return util_fail(e, STELE_ECORRUPT, "'%s': the database name is not authentic", path);
    return STELE_OK;
}

stele_status vault_db_unlock(const char *db_dir, const vault_user *u, const uint8_t *dek,
                             vault_dbkeys *k, util_err *e)
{
    memset(k, 0, sizeof *k);
    char path[VAULT_PATH_MAX], *t = NULL;
    stele_status rc = keys_read(db_dir, &t, path, sizeof path, e);
    if (rc == STELE_OK) rc = keys_parse(path, t, k, e);
    uint32_t epochs = k->epoch;
    if (rc == STELE_OK) rc = keys_alloc(k, epochs, e);
    if (rc == STELE_OK) rc = unlock_slot(path, k, u, dek, e);
    if (rc == STELE_OK) rc = unlock_old(path, t, k, e);
    if (rc == STELE_OK) rc = unlock_rest(path, t, k, e);
    free(t);
    if (rc != STELE_OK) vault_dbkeys_release(k);
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
    if (slot_seal(k, member->id, role, member->box_pk, m->sealed) != 0)
        return util_fail(e, STELE_EIO, "cannot seal the database key for '%s'", member->name);
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
        if (slot_seal(k, m.user, m.role, mu.box_pk, m.sealed) != 0)
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
    k->has_owner_sealed = 1;
    if (slot_seal(k, owner->id, VAULT_ROLE_OWNER, owner->box_pk, k->owner_sealed) != 0)
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
