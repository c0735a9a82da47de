/*
 * settings.h — the store's signed settings (config/settings.json). Layer: vault (uses
 * util, crypto and the vault's users and key files).
 *
 * A settings file is one line of canonical JSON (compact, keys sorted, jansson's
 * JSON_COMPACT | JSON_SORT_KEYS) and a newline:
 *   {"counter":C,"format":"stele-settings-v1","public_key":HEX,"settings":{...},
 *    "signature":HEX,"signed_at_ns":T,"version":V}
 * The Ed25519 signature covers "stele-settings-v1\n" followed by the canonical JSON of
 * the same object without "signature". A file that is not byte for byte its own
 * canonical form is refused, so every changed byte is caught (a change the parser
 * would forgive included).
 *
 * Trust (docs/DECISIONS.md): config/settings.pin records the trusted public key and
 * the newest (version, counter) accepted, with the SHA-256 of that file. It is written
 * by `sign`, `verify` and `trust` — never by an open. Without a pin, the first
 * verified file's key is pinned (trust on first use); `trust` provisions a key instead.
 * A file is accepted only if its key is the pinned one and (version, counter) is not
 * older than the pin's (equal only for the very same bytes).
 *
 * The signing key: each admin user has a dedicated settings key pair in
 * config/settings-key.<user>, the secret key wrapped by the user's DEK
 * (XChaCha20-Poly1305, AAD "stele/settings-sk/v1\0" | user id).
 *
 * Invariants:
 *  1. Nothing here writes the settings file or the pin except sign, verify (accept)
 *     and trust; a refused file changes nothing on disk.
 *  2. Effective values never go below the built-in floors (KDF, segment size).
 */
#ifndef STELE_VAULT_SETTINGS_H
#define STELE_VAULT_SETTINGS_H

#include <stdint.h>

#include "crypto/crypto.h"
#include "util/util.h"
#include "vault/vault.h"

#define SETTINGS_FILE "settings.json"
#define SETTINGS_PIN_FILE "settings.pin"
#define SETTINGS_FILE_MAX (64u << 10)
/* The smallest segment size a setting may ask for (the ledger's own minimum). */
#define SETTINGS_SEGMENT_MIN (64u << 10)
#define SETTINGS_SEGMENT_MAX (1u << 30)
#define SETTINGS_CHECKPOINT_MAX 100000000u
/* Above this an Argon2id floor would make every login take minutes: refused. */
#define SETTINGS_KDF_MEM_KIB_MAX (16u * 1024u * 1024u)
#define SETTINGS_KDF_OPS_MAX 64u

typedef struct vault_settings {
    int is_signed;              /* 0: no settings file, built-in defaults */
    uint64_t version, counter;
    uint64_t signed_at_ns;
    uint8_t pk[CRYPTO_SIGN_PK_BYTES];
    uint8_t file_hash[CRYPTO_HASH_BYTES]; /* SHA-256 of the file's bytes */
    crypto_kdf_params kdf_floor;  /* effective floor: never below the built-in one */
    uint32_t segment_size;        /* 0 = built-in default */
    uint32_t checkpoint_every;    /* 0 = built-in default */
    int durability;               /* STELE_DURABLE_*, or -1 = not set (fsync) */
} vault_settings;

typedef struct vault_settings_pin {
    int present;
    uint8_t pk[CRYPTO_SIGN_PK_BYTES];
    uint64_t version, counter;
    uint8_t file_hash[CRYPTO_HASH_BYTES]; /* zeros when only a key was provisioned */
} vault_settings_pin;

/* Built-in defaults (no settings file). */
void vault_settings_defaults(vault_settings *s);

/* Reads and checks <dir>/config/settings.json against the pin; writes nothing. No file:
 * defaults, STELE_OK. Refused: STELE_EUNTRUSTED (tampered, rolled back, or signed by a
 * key the store does not trust) or STELE_ECORRUPT (the pin file is damaged), with a
 * message naming the file and what to do. */
stele_status vault_settings_load(const char *dir, vault_settings *s, util_err *e);

/* vault_settings_load, then records the file in the pin (pins its key on first use).
 * STELE_ENOTFOUND if there is no settings file. */
stele_status vault_settings_accept(const char *dir, vault_settings *s, util_err *e);

/* Signs `json` (an object of settings: kdf_floor {m_kib, t}, segment_size,
 * checkpoint_every, durability "fsync"|"group"|"none"; unknown members refused) as the
 * next settings file, with version `version` (0 = the pinned version + 1) and the
 * pinned counter + 1, using user u's settings key (created on first use, wrapped by
 * dek). Writes settings.json, then the pin. STELE_EUNTRUSTED if the store trusts
 * another key or version would go back. */
stele_status vault_settings_sign(const char *dir, const vault_user *u, const uint8_t *dek,
                                 const char *json, size_t len, uint64_t version,
                                 vault_settings *out, util_err *e);

/* Provisions `pk` as the trusted settings key (keeping the pinned version and counter,
 * so an old file stays refused). A settings file signed by another key is refused
 * until re-signed. */
stele_status vault_settings_trust(const char *dir, const uint8_t pk[CRYPTO_SIGN_PK_BYTES],
                                  util_err *e);

/* Reads the pin (present = 0 if there is none). */
stele_status vault_settings_pin_read(const char *dir, vault_settings_pin *p, util_err *e);

/* Accepted settings as recorded outside config/ (in each database's signed manifest,
 * where only key holders can change them): key, version, counter; pk all zero = none. */
typedef struct vault_settings_seen {
    uint8_t pk[CRYPTO_SIGN_PK_BYTES];
    uint64_t version, counter;
} vault_settings_seen;

/* Checks the loaded settings s against a record kept by database `db` (named in the
 * message). STELE_EUNTRUSTED when s is older than the record: no settings file though
 * settings were accepted, the same key with a lower (version, counter), or another key
 * with a version not above the recorded one. Otherwise STELE_OK. */
stele_status vault_settings_check_seen(const vault_settings *s, const vault_settings_seen *seen,
                                       const char *db, util_err *e);
/* 1 if s is signed and not what the record holds (it is then recorded). */
int vault_settings_newer(const vault_settings *s, const vault_settings_seen *seen);

/* The settings as JSON members (no braces): "signed", "version", "counter", ...,
 * "settings":{effective values}. 0 or -1 on out of memory. */
int vault_settings_json(const vault_settings *s, buf *out);

/* The Argon2id parameters a (non-test) user must use at least. */
crypto_kdf_params vault_settings_kdf(const vault_settings *s, crypto_kdf_params have);

#endif
