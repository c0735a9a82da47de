/*
 * vault.h — the store directory, its users and the key hierarchy (the minimal part
 * of DESIGN.md's vault layer; sharing comes later). Layer: vault (uses util, crypto).
 *
 * Keys: KEK = Argon2id(password, kek_salt, params) — never stored; DEK random,
 * wrapped by the KEK (XChaCha20-Poly1305, AAD binds the user id); GK per database and
 * key epoch, wrapped by the owner's DEK (AAD binds database id, epoch, user id); file
 * keys FK = HKDF(GK, db_id, "stele file key" | file_id). The PHC verification hash has
 * its own salt, distinct from kek_salt. Unlocked keys live in secure memory
 * (crypto_secure_alloc) and are wiped on release.
 *
 * Files are small text files ("key value" lines) ending with a SHA-256 checksum line,
 * so that they can be read with ordinary tools and an accidental or malicious change
 * is reported as "corrupt" rather than misread. Authenticity of secrets comes from the
 * AEAD wraps, not from the checksum.
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
} vault_user;

/* Unlocked keys of one database. gk and sign_sk are in secure memory. */
typedef struct vault_dbkeys {
    uint8_t db_id[VAULT_ID_BYTES];
    uint32_t epoch;
    uint8_t *gk;      /* CRYPTO_KEY_BYTES */
    uint8_t sign_pk[CRYPTO_SIGN_PK_BYTES];
    uint8_t *sign_sk; /* CRYPTO_SIGN_SK_BYTES */
    int plaintext;    /* a --no-encryption database: data files hold plaintext boxes
                       * (src/ledger/format.h, box_seal); set from the superblock */
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
stele_status vault_user_load(const char *dir, const char *name, vault_user *u, util_err *e);
/* Derives the KEK and unwraps the DEK. STELE_EPASSWORD "wrong password for user NAME". */
stele_status vault_user_unlock(const vault_user *u, const char *pw, size_t pw_len, uint8_t **dek,
                               util_err *e);
/* Re-wraps the DEK under a KEK from the new password (new salts); rewrites only the
 * user file. */
stele_status vault_user_passwd(const char *dir, const char *name, const char *old_pw,
                               size_t old_len, const char *new_pw, size_t new_len, util_err *e);

/* Path of a database directory: <dir>/dbs/<hex id>. */
void vault_db_dir(const char *dir, const uint8_t db_id[VAULT_ID_BYTES], char *out, size_t cap);
/* Creates the database directory and its keys file (random GK, Ed25519 key pair),
 * leaving *k unlocked. */
stele_status vault_db_create(const char *db_dir, const vault_user *owner, const uint8_t *dek,
                             const uint8_t db_id[VAULT_ID_BYTES], vault_dbkeys *k, util_err *e);
/* Reads the keys file and unwraps the GK and the signing key with the user's DEK. */
stele_status vault_db_unlock(const char *db_dir, const vault_user *u, const uint8_t *dek,
                             vault_dbkeys *k, util_err *e);
void vault_dbkeys_release(vault_dbkeys *k);
/* Derives a purpose key from the GK: HKDF(GK, db_id, "stele " purpose [| id]). */
int vault_derive(const vault_dbkeys *k, const char *purpose, const uint8_t *id, size_t id_len,
                 uint8_t out[CRYPTO_KEY_BYTES]) CRYPTO_MUST_CHECK;

#endif
