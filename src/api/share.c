/*
 * share.c — stele_db_share and stele_db_revoke on an open database. Layer: api.
 *
 * Both append a signed access record to the database's ledger: kind 7 (access) for a
 * share, kind 3 (key rotation) for a revocation. The record is JSON (docs/FORMAT.md,
 * "Access records"); the signature, by the acting user's Ed25519 key, covers
 * "stele-access-v1" | db id | event byte (1 share, 2 revoke) | member id | role byte |
 * key epoch u32 | time ns u64 | acting user id, so anyone with the registry's public
 * keys can check who granted or removed what. Order of writes: see users.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/api_int.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "vault/vault.h"

#define ACCESS_MSG_BYTES (15 + 16 + 1 + 16 + 1 + 4 + 8 + 16)

static void access_msg(const uint8_t db[16], int event, const uint8_t member[16], int role,
                       uint32_t epoch, uint64_t ts, const uint8_t by[16],
                       uint8_t out[ACCESS_MSG_BYTES])
{
    memcpy(out, "stele-access-v1", 15);
    memcpy(out + 15, db, 16);
    out[31] = (uint8_t)event;
    memcpy(out + 32, member, 16);
    out[48] = (uint8_t)role;
    put_u32(out + 49, epoch);
    put_u64(out + 53, ts);
    memcpy(out + 61, by, 16);
}

/* Appends the signed access record (kind) for member/role at the keys' epoch. */
static stele_status access_record(stele *db, int kind, const vault_user *m, int role)
{
    int event = kind == STELE_REC_ACCESS ? 1 : 2;
    uint64_t ts = util_now_ns();
    uint8_t msg[ACCESS_MSG_BYTES], sig[CRYPTO_SIGN_BYTES], *sk = NULL;
    access_msg(db->keys.db_id, event, m->id, role, db->keys.epoch, ts, db->user.id, msg);
    stele_status rc = vault_user_sig_sk(&db->user, db->dek, &sk, &db->err);
    if (rc == STELE_OK && crypto_sig_sign(sk, msg, sizeof msg, sig) != 0)
        rc = util_fail(&db->err, STELE_EIO, "cannot sign the access record");
    crypto_secure_free(sk);
    if (rc != STELE_OK) return rc;
    char mid[33], by[33], pk[65], sh[129];
    crypto_hex(m->id, 16, mid);
    crypto_hex(db->user.id, 16, by);
    crypto_hex(db->user.sig_pk, 32, pk);
    crypto_hex(sig, sizeof sig, sh);
    buf b;
    buf_init(&b);
    int bad = buf_printf(&b, "{\"event\":\"%s\",\"member\":\"%s\",\"member_name\":\"%s\","
                             "\"role\":\"%s\",\"key_epoch\":%u,\"time_ns\":%llu,\"by\":\"%s\","
                             "\"by_name\":\"%s\",\"public_key\":\"%s\",\"signature\":\"%s\"}",
                         event == 1 ? "share" : "revoke", mid, m->name, vault_role_name(role),
                         db->keys.epoch, (unsigned long long)ts, by, db->user.name, pk, sh);
    uint64_t lsn;
    rc = bad ? util_fail(&db->err, STELE_ENOMEM, "out of memory")
             : ledger_append(db->L, kind, b.data, b.len, NULL, 0, &lsn, NULL, NULL, &db->err);
    buf_release(&b);
    return rc;
}

/* The checks both calls share: an open writable handle of an admin (or the owner) on a
 * database that is not a primary, and a member who is a user of the store other than
 * the caller and the owner. */
static stele_status access_check(stele *db, const char *member, const char *what,
                                 vault_user *m)
{
    if (!db) return STELE_EINVAL;
    if (!db->L) return util_fail(&db->err, STELE_EINVAL, "the database is not open");
    util_err_clear(&db->err);
    if (db->keys.role < VAULT_ROLE_ADMIN)
        return util_fail(&db->err, STELE_EACCESS, "no access: user '%s' is a %s of database "
                         "'%s'; only its owner or an admin %s", db->user.name,
                         vault_role_name(db->keys.role), db->db_name, what);
    if (memcmp(db->keys.db_id, db->user.primary_db, VAULT_ID_BYTES) == 0)
        return util_fail(&db->err, STELE_EINVAL, "the primary database of user '%s' is never "
                         "shared: create another one with 'stele db create NAME'",
                         db->user.name);
    if (db->read_only) return ledger_refuse_write(db->L, &db->err);
    if (!member) return util_fail(&db->err, STELE_EINVAL, "a member's user name is required");
    stele_status rc = vault_user_load(db->store, member, m, &db->err);
    if (rc == STELE_OK && (crypto_equal(m->id, db->user.id, 16) ||
                           crypto_equal(m->id, db->keys.owner, 16)))
        rc = util_fail(&db->err, STELE_EINVAL, "user '%s' %s database '%s': not a member to "
                       "share with or revoke", member,
                       crypto_equal(m->id, db->keys.owner, 16) ? "owns" : "is acting on",
                       db->db_name);
    return rc;
}

stele_status stele_db_share(stele *db, const char *member, const char *role)
{
    vault_user m;
    stele_status rc = access_check(db, member, "shares it", &m);
    if (rc != STELE_OK) return rc;
    int r = role ? vault_role_parse(role) : VAULT_ROLE_NONE;
    if (r < VAULT_ROLE_READER || r > VAULT_ROLE_ADMIN)
        return util_fail(&db->err, STELE_EINVAL, "unknown role '%s': use reader, writer or "
                         "admin", role ? role : "");
    rc = access_record(db, STELE_REC_ACCESS, &m, r);
    if (rc == STELE_OK) rc = vault_db_share(ledger_dir(db->L), &db->keys, &m, r, &db->err);
    return rc;
}

/* The owner's registry entry and, if the caller is the owner, their DEK. */
static stele_status owner_of(stele *db, vault_user *owner, const uint8_t **dek)
{
    *dek = NULL;
    if (db->keys.role == VAULT_ROLE_OWNER) {
        *owner = db->user;
        *dek = db->dek;
        return STELE_OK;
    }
    return vault_user_by_id(db->store, db->keys.owner, owner, &db->err);
}

stele_status stele_db_revoke(stele *db, const char *member, int reencrypt)
{
    vault_user m, owner;
    const uint8_t *dek;
    stele_status rc = access_check(db, member, "revokes access", &m);
    if (rc != STELE_OK) return rc;
    uint32_t i = 0;
    while (i < db->keys.nmembers && !crypto_equal(db->keys.members[i].user, m.id, 16)) i++;
    if (i == db->keys.nmembers)
        return util_fail(&db->err, STELE_ENOTFOUND, "user '%s' is not a member of database "
                         "'%s' (see 'stele db list')", member, db->db_name);
    int role = db->keys.members[i].role;
    uint32_t done;
    rc = ledger_reencrypt_wait(db->L, &done, &db->err); /* the rotation changes its keys */
    if (rc == STELE_OK) rc = owner_of(db, &owner, &dek);
    if (rc == STELE_OK)
        rc = vault_db_rotate(db->store, ledger_dir(db->L), &db->keys, m.id, &owner, dek,
                             &db->err);
    if (rc == STELE_OK) rc = ledger_rekey(db->L, &db->err);
    if (rc == STELE_OK) rc = access_record(db, STELE_REC_KEYROT, &m, role);
    /* Older segments are rewritten in the background; the snapshot's fragments by a
     * snapshot once that ends (stele_close). */
    if (rc == STELE_OK && reencrypt) rc = ledger_reencrypt_start(db->L, &db->err);
    if (rc == STELE_OK && reencrypt) db->reenc_pending = 1;
    return rc;
}
