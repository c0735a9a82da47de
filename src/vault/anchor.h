/*
 * anchor.h — freshness anchors: for each database a user opens, the newest manifest
 * version they have seen, kept outside the database's directory (users/<name>.anchors),
 * so that a database directory restored from an older backup, or rolled back file by
 * file, is recognised at the next open even though every file in it is authentic and
 * correctly signed (docs/DECISIONS.md, freshness). Layer: vault (uses util, crypto).
 *
 * File: "STELEANC" | u32 format(1) | crypto_wrap(K, AAD, plaintext) where
 *   K   = HKDF-SHA256(ikm = the user's DEK, salt = user id, info = "stele anchors"),
 *   AAD = "stele/anchors/v1\0" | user id,
 *   plaintext = u32 n | n x { db id(16) | u64 manifest version }, n <= ANCHOR_MAX.
 * Only the user can read or change it (an attacker can delete it: that only loses the
 * protection, it never blocks an open). Replaced atomically (temporary file, fsync,
 * rename, directory fsync). A whole store restored from one backup (users/ included)
 * is an older consistent store and cannot be told apart from inside it.
 */
#ifndef STELE_VAULT_ANCHOR_H
#define STELE_VAULT_ANCHOR_H

#include <stdint.h>

#include "vault/vault.h"

#define ANCHOR_MAX 4096u /* databases one user anchors; the oldest entries make room */

/* The anchored manifest version of db_id for user u (0 if none, or if the file is
 * missing). STELE_ECORRUPT if the file exists but does not authenticate. */
stele_status vault_anchor_get(const char *dir, const vault_user *u, const uint8_t *dek,
                              const uint8_t db_id[VAULT_ID_BYTES], uint64_t *version,
                              util_err *e);
/* Raises the anchor of db_id to version (never lowers it unless `force`: an accepted
 * rollback). */
stele_status vault_anchor_set(const char *dir, const vault_user *u, const uint8_t *dek,
                              const uint8_t db_id[VAULT_ID_BYTES], uint64_t version,
                              int force, util_err *e);

#endif
