/*
 * vault.h — the store directory, its users, the key hierarchy, databases, sharing and
 * key rotation (DESIGN.md's vault layer). Layer: vault (uses util, crypto).
 *
 * Keys: KEK = Argon2id(password, kek_salt, params) — never stored; DEK random,
 * wrapped by the KEK (XChaCha20-Poly1305, AAD binds the user id); GK per database and
 * key epoch, wrapped by the owner's DEK (AAD binds database id, epoch, user id); file
 * keys FK = HKDF(GK, db_id, "stele file key" | file_id). The PHC verification hash has
 * its own salt, distinct from kek_salt. Unlocked keys live in secure memory
 * (crypto_secure_alloc) and are wiped on release.
 *
 * Users also have an X25519 key pair (database keys are sealed to it when a database
 * is shared with them) and an Ed25519 key pair (they sign the access changes they make);
 * the public keys are in the registry, the secret keys wrapped by the DEK with AAD
 * binding the user id and the purpose. A database's key slot file (dbkeys.c) holds one
 * GK per key epoch: the newest in the owner's slot (DEK-wrapped) and in every member's
 * slot (sealed to their X25519 key), the older ones inside the body sealed under the
 * newest, so that whoever holds the newest reads every file and a member removed at a
 * rotation reads nothing written under a later epoch. That file lives in data/ with
 * the database's fixed size and a derived, random-looking name; nothing in it is in
 * the clear, so who owns or shares a database is known only to those with a slot.
 *
 * The registry (users/) and the store marker are small text files ("key value" lines)
 * ending with a SHA-256 checksum line, so that they can be read with ordinary tools and
 * an accidental change is reported as "corrupt" rather than misread. Authenticity of
 * secrets comes from the AEAD wraps, not from the checksum.
 */
#ifndef STELE_VAULT_H
#define STELE_VAULT_H

#include <stdint.h>

#include "crypto/crypto.h"
#include "util/util.h"

#define VAULT_ID_BYTES 16
#define VAULT_NAME_MAX 64
#define VAULT_PATH_MAX 4096
#define VAULT_WRAPPED_KEY_BYTES (CRYPTO_KEY_BYTES + CRYPTO_WRAP_OVERHEAD)

/* KDF floor (DESIGN.md): default profile m = 256 MiB, t = 3. The insecure test
 * profile exists only so that test suites run quickly; stat reports it. */
#define VAULT_KDF_MEM_KIB_FLOOR (256u * 1024u)
#define VAULT_KDF_OPS_FLOOR 3u
#define VAULT_KDF_TEST_MEM_KIB (8u * 1024u)
#define VAULT_KDF_TEST_OPS 1u

/* Wrong-password back-off: from the VAULT_BACKOFF_FREE-th consecutive failure on, the
 * next attempt must wait 2^(failures - VAULT_BACKOFF_FREE + 1) s, at most
 * VAULT_BACKOFF_MAX_S. Recorded in the user file, reset by a good password. */
#define VAULT_BACKOFF_FREE 3u
#define VAULT_BACKOFF_MAX_S 3600u

/* Bounds on a database's key slot file: key epochs (one per revocation) and members. */
#define VAULT_EPOCH_MAX 256u
#define VAULT_MEMBERS_MAX 64u
/* A slot's plaintext: "SGK1" | db id | epoch u32 | user id | role u8 | GK. */
#define VAULT_SLOT_PLAIN (4 + VAULT_ID_BYTES + 4 + VAULT_ID_BYTES + 1 + CRYPTO_KEY_BYTES)
#define VAULT_SLOT_SEALED (VAULT_SLOT_PLAIN + CRYPTO_SEAL_OVERHEAD)
/* The key slot file (docs/FORMAT.md "Key slots"): a table of VAULT_SLOT_COUNT slots of
 * VAULT_SLOT_BYTES (0 the owner, 1..64 members, the last the registry slot sealed to the
 * store's admin), then the sealed body; random bytes to the database's file size. */
#define VAULT_SLOT_BYTES 128u
#define VAULT_SLOT_COUNT (VAULT_MEMBERS_MAX + 2u)
#define VAULT_SLOT_REGISTRY (VAULT_MEMBERS_MAX + 1u)
#define VAULT_SLOT_TABLE (VAULT_SLOT_COUNT * VAULT_SLOT_BYTES)
/* Database names are sealed padded to this size, so their length does not show. */
#define VAULT_DBNAME_PAD 64
/* Body plaintext: header(52) | name | sign pk | sign sk | members (id, role) | older GKs
 * | SHA-256 of the slot table. */
#define VAULT_BODY_PLAIN                                                                   \
    (52u + VAULT_DBNAME_PAD + CRYPTO_SIGN_PK_BYTES + CRYPTO_SIGN_SK_BYTES +                \
     VAULT_MEMBERS_MAX * (VAULT_ID_BYTES + 1u) + (VAULT_EPOCH_MAX - 1u) * CRYPTO_KEY_BYTES + \
     CRYPTO_HASH_BYTES)
/* Bytes of the file that carry slots and body; the rest is random padding. Every
 * database file size (LEDGER_SEGMENT_MIN at least) holds them. */
#define VAULT_KEYS_USED (VAULT_SLOT_TABLE + VAULT_BODY_PLAIN + CRYPTO_WRAP_OVERHEAD)

typedef enum vault_role {
    VAULT_ROLE_NONE = 0,
    VAULT_ROLE_READER = 1,
    VAULT_ROLE_WRITER = 2,
    VAULT_ROLE_ADMIN = 3,
    VAULT_ROLE_OWNER = 4,
} vault_role;
/* "reader", "writer", "admin", "owner"; parse returns VAULT_ROLE_NONE if unknown. */
const char *vault_role_name(int role);
int vault_role_parse(const char *s);

typedef struct vault_user {
    char name[VAULT_NAME_MAX + 1];
    uint8_t id[VAULT_ID_BYTES];
    crypto_kdf_params kdf;
    int insecure;                 /* created with the insecure test profile */
    uint8_t kek_salt[CRYPTO_SALT_BYTES];
    uint8_t wrapped_dek[VAULT_WRAPPED_KEY_BYTES];
    uint8_t primary_db[VAULT_ID_BYTES];
    char verifier[CRYPTO_PHC_MAX]; /* PHC string, its own salt */
    uint64_t created_ns;
    int admin;                    /* may add and remove users (the first user) */
    uint8_t box_pk[CRYPTO_BOX_PK_BYTES];
    uint8_t box_sk_wrapped[CRYPTO_BOX_SK_BYTES + CRYPTO_WRAP_OVERHEAD];
    uint8_t sig_pk[CRYPTO_SIGN_PK_BYTES];
    uint8_t sig_sk_wrapped[CRYPTO_SIGN_SK_BYTES + CRYPTO_WRAP_OVERHEAD];
    uint64_t failures;            /* consecutive wrong passwords */
    uint64_t retry_after_ns;      /* no attempt before this time (0 = none) */
} vault_user;

/* A member's slot in a database's key slot file. */
typedef struct vault_member {
    uint8_t user[VAULT_ID_BYTES];
    int role;                     /* VAULT_ROLE_READER..ADMIN */
    uint8_t slot[VAULT_SLOT_BYTES]; /* the slot as stored: sealed box, random tail */
} vault_member;

/* Unlocked keys of one database. gks and sign_sk are in secure memory. */
typedef struct vault_dbkeys {
    uint8_t db_id[VAULT_ID_BYTES];
    uint8_t owner[VAULT_ID_BYTES];
    uint32_t epoch;   /* the newest key epoch: new files use it */
    uint8_t *gks;     /* epoch * CRYPTO_KEY_BYTES: the GK of epoch e at (e - 1) * 32 */
    uint8_t *gk;      /* the newest: gks + (epoch - 1) * 32 */
    uint8_t sign_pk[CRYPTO_SIGN_PK_BYTES];
    uint8_t *sign_sk; /* CRYPTO_SIGN_SK_BYTES */
    int plaintext;    /* a --no-encryption database: data files hold plaintext boxes
                       * (src/ledger/format.h, box_seal); set from the superblock */
    int role;         /* the unlocking user's role (VAULT_ROLE_*) */
    char name[VAULT_NAME_MAX + 1]; /* the owner's name for it ("primary" for a primary) */
    /* The key slot file as read, for rewriting it (share, revoke, rename). */
    uint32_t file_size;                    /* the database's fixed file size */
    uint8_t owner_slot[VAULT_SLOT_BYTES];  /* GK wrapped by the owner's DEK, or sealed to
                                            * the owner after an admin member's rotation */
    uint8_t registry_slot[VAULT_SLOT_BYTES]; /* owner id sealed to the store's admin */
    uint32_t nmembers;
    vault_member members[VAULT_MEMBERS_MAX];
} vault_dbkeys;

/* Validates a user or database name: 1..64 of [A-Za-z0-9._-], not starting with '.'. */
int vault_name_ok(const char *name);

/* Creates <dir>/users, dbs, config. STELE_EEXIST if a store is already there. */
stele_status vault_store_create(const char *dir, util_err *e);
/* Writes <dir>/STORE, the marker that makes the store exist: written last by init,
 * so that an interrupted init leaves no store that claims to be complete. */
stele_status vault_store_finish(const char *dir, util_err *e);
/* Checks that dir holds a store of a supported version. */
stele_status vault_store_check(const char *dir, util_err *e);

/* Creates a user (with the given KDF profile) and returns the unlocked DEK in *dek
 * (secure memory; free with crypto_secure_free). The user file is written last. */
stele_status vault_user_create(const char *dir, const char *name, const char *pw, size_t pw_len,
                               int insecure_profile, const uint8_t primary_db[VAULT_ID_BYTES],
                               vault_user *u, uint8_t **dek, util_err *e);
/* The same without writing the user file (the caller saves it with vault_user_save
 * once the user's primary database exists). */
stele_status vault_user_make(const char *dir, const char *name, const char *pw, size_t pw_len,
                             int insecure_profile, const uint8_t primary_db[VAULT_ID_BYTES],
                             vault_user *u, uint8_t **dek, util_err *e);
stele_status vault_user_load(const char *dir, const char *name, vault_user *u, util_err *e);
/* Loads the user whose id is `id` (a scan of users/). STELE_ENOTFOUND if none. */
stele_status vault_user_by_id(const char *dir, const uint8_t id[VAULT_ID_BYTES], vault_user *u,
                              util_err *e);
/* Rewrites a user's file (after a change of fields such as the back-off). */
stele_status vault_user_save(const char *dir, const vault_user *u, util_err *e);
/* Load, back-off check, unlock, and the back-off bookkeeping: a wrong password is
 * counted in the user file (STELE_EPASSWORD says how long to wait if a wait starts);
 * an attempt during a wait fails with STELE_EBACKOFF before any key derivation; a good
 * password resets the count. *dek as for vault_user_unlock. */
stele_status vault_user_login(const char *dir, const char *name, const char *pw, size_t pw_len,
                              vault_user *u, uint8_t **dek, util_err *e);
/* The seconds to wait after `failures` consecutive wrong passwords (0 = none). */
uint64_t vault_backoff_s(uint64_t failures);
/* Unwraps the user's X25519 (box) or Ed25519 (sig) secret key into secure memory
 * (free with crypto_secure_free). */
stele_status vault_user_box_sk(const vault_user *u, const uint8_t *dek, uint8_t **sk, util_err *e);
stele_status vault_user_sig_sk(const vault_user *u, const uint8_t *dek, uint8_t **sk, util_err *e);
/* Removes a user's file (the point after which their keys are gone). */
stele_status vault_user_delete(const char *dir, const char *name, util_err *e);
/* Calls fn for every user file of the store, in no order, at most VAULT_USERS_MAX. */
#define VAULT_USERS_MAX 100000u
stele_status vault_user_each(const char *dir, int (*fn)(void *ctx, const vault_user *u),
                             void *ctx, util_err *e);
/* Derives the KEK and unwraps the DEK. STELE_EPASSWORD "wrong password for user NAME". */
stele_status vault_user_unlock(const vault_user *u, const char *pw, size_t pw_len, uint8_t **dek,
                               util_err *e);
/* Re-wraps the DEK under a KEK from the new password (new salts); rewrites only the
 * user file. */
stele_status vault_user_passwd(const char *dir, const char *name, const char *old_pw,
                               size_t old_len, const char *new_pw, size_t new_len, util_err *e);

/* Path of a database directory: <dir>/dbs/<hex id>. */
void vault_db_dir(const char *dir, const uint8_t db_id[VAULT_ID_BYTES], char *out, size_t cap);
/* The name of a database's key slot file in data/: the first 16 bytes of
 * HKDF-SHA256(ikm = db id, info = "stele key slots v1"). Anyone holding the store can
 * compute it (it must be found before any key is open); it looks like every other name. */
int vault_slots_id(const uint8_t db_id[VAULT_ID_BYTES], uint8_t id[VAULT_ID_BYTES])
    CRYPTO_MUST_CHECK;
/* <db_dir>/data/<hex slots id>. */
void vault_slots_path(const char *db_dir, const uint8_t db_id[VAULT_ID_BYTES], char *out,
                      size_t cap);
/* Creates the database directory (with data/ and an empty lock file) and its key slot
 * file of file_size bytes (random GK, Ed25519 key pair, the sealed name; the registry
 * slot sealed to admin_box_pk, the store admin's X25519 key), leaving *k unlocked. */
stele_status vault_db_create(const char *db_dir, const vault_user *owner, const uint8_t *dek,
                             const uint8_t db_id[VAULT_ID_BYTES], const char *name,
                             uint32_t file_size, const uint8_t admin_box_pk[CRYPTO_BOX_PK_BYTES],
                             vault_dbkeys *k, util_err *e);
/* Which slots vault_db_unlock tries: every slot, or only the owner's (a cheaper scan of
 * the store for a user's own databases). */
#define VAULT_UNLOCK_ANY 0
#define VAULT_UNLOCK_OWNER 1
/* Reads the key slot file of database db_id and opens u's slot: the owner's with the
 * DEK (or sealed to u), else each member slot in turn with u's X25519 key (unwrapped
 * with the DEK); then the body with every epoch's GK and the signing key.
 * STELE_EACCESS "no access" if no slot opens for u (not shared with u, or u's slot is
 * damaged: the two look alike by design); STELE_ECORRUPT if the body does not open or
 * disagrees with the slot; STELE_ENOTFOUND if the file is missing. */
stele_status vault_db_unlock(const char *db_dir, const uint8_t db_id[VAULT_ID_BYTES],
                             const vault_user *u, const uint8_t *dek, int which,
                             vault_dbkeys *k, util_err *e);
/* The owner of database db_id from its registry slot, which only the store's admin
 * (`admin`, with its DEK) opens. STELE_EACCESS if the slot is not sealed to admin. */
stele_status vault_db_owner(const char *db_dir, const uint8_t db_id[VAULT_ID_BYTES],
                            const vault_user *admin, const uint8_t *dek,
                            uint8_t owner[VAULT_ID_BYTES], util_err *e);
/* The store's admin (the user file with role admin). STELE_ENOTFOUND if none. */
stele_status vault_admin_find(const char *dir, vault_user *admin, util_err *e);
void vault_dbkeys_release(vault_dbkeys *k);
/* Derives a purpose key from the newest GK: HKDF(GK, db_id, "stele " purpose [| id]). */
int vault_derive(const vault_dbkeys *k, const char *purpose, const uint8_t *id, size_t id_len,
                 uint8_t out[CRYPTO_KEY_BYTES]) CRYPTO_MUST_CHECK;
/* The same from the GK of an epoch (1..k->epoch). */
int vault_derive_epoch(const vault_dbkeys *k, uint32_t epoch, const char *purpose,
                       const uint8_t *id, size_t id_len, uint8_t out[CRYPTO_KEY_BYTES])
    CRYPTO_MUST_CHECK;

/* Sharing and rotation: each rewrites the key slot file whole (atomic replace) from *k.
 * Share gives `member` (public keys from the registry) a slot with `role`, or changes
 * the role of an existing slot. Rename changes the sealed name (owner only: the API
 * checks). Rotate makes a new epoch with a fresh GK, drops `revoked`'s slot, re-seals
 * the remaining members' slots, wraps every older GK under the new one and re-wraps
 * the signing key and the name; the owner's slot is wrapped with `dek` if the caller
 * is the owner (dek != NULL), else sealed to the owner's X25519 key (owner_box_pk).
 * On failure *k and the file are as before. */
stele_status vault_db_share(const char *db_dir, vault_dbkeys *k, const vault_user *member,
                            int role, util_err *e);
stele_status vault_db_rename(const char *db_dir, vault_dbkeys *k, const char *name, util_err *e);
stele_status vault_db_rotate(const char *store, const char *db_dir, vault_dbkeys *k,
                             const uint8_t *revoked, const vault_user *owner,
                             const uint8_t *dek, util_err *e);

#endif
