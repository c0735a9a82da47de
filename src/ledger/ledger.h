/*
 * ledger.h — the hash-chained, encrypted, append-only log of one database.
 * Layer: ledger (uses util, crypto and vault's key type). See format.h for bytes on
 * disk and ledger.c for the recovery decision table.
 *
 * Threading: ledger_append may be called from many threads at once (group commit);
 * all other calls from one thread at a time. Reads never wait for an fsync. A
 * background re-encryption (ledger_reencrypt_start) runs on its own thread.
 */
#ifndef STELE_LEDGER_H
#define STELE_LEDGER_H

#include <stdint.h>

#include "util/util.h"
#include "vault/vault.h"

typedef struct ledger ledger;

typedef struct ledger_config {
    int read_only;
    int durability;              /* STELE_DURABLE_* */
    uint32_t group_max_delay_us;
    const char *name;            /* for messages: "database 'primary' of user 'alice'" */
    int reader;                  /* read-only because of the user's role: writes fail
                                  * with STELE_EACCESS instead of STELE_EREADONLY */
} ledger_config;

typedef struct ledger_rec {
    uint64_t lsn, timestamp_ns, durable_lsn;
    int kind;
    uint32_t generation;
    uint8_t author[16];
    uint8_t hash[32], prev_hash[32], payload_hash[32], idem_digest[32];
    uint8_t header[152];         /* the encoded header (what the hash covers) */
    const uint8_t *salt;         /* 16 bytes, borrowed from the scratch buffer */
    const uint8_t *idem;
    size_t idem_len;
    const uint8_t *payload;
    size_t payload_len;
} ledger_rec;

/* The database file size a request means (0 = the default), before any check. Every
 * file of data/ has it: the key slot file (vault_db_create) is written before
 * ledger_create, which checks the size. */
uint32_t ledger_size_wanted(uint32_t requested);
/* Creates an empty ledger (first segment and superblock) in db_dir. */
stele_status ledger_create(const char *db_dir, const vault_dbkeys *k, uint32_t segment_size,
                           uint32_t checkpoint_every, util_err *e);
/* Opens, scans and (when writable, after a crash) recovers the ledger. The keys
 * are borrowed and must outlive the ledger; k->plaintext is set from the superblock
 * (a --no-encryption database). ledger_create takes it from k. */
stele_status ledger_open(const char *db_dir, vault_dbkeys *k, const uint8_t author[16],
                         const ledger_config *cfg, ledger **out, util_err *e);
/* Checkpoints if asked and needed, syncs, marks a clean shutdown, frees. */
stele_status ledger_close(ledger *L, int checkpoint, util_err *e);
/* The same, giving the manifest version in force at the end (0 on failure). */
stele_status ledger_close_v(ledger *L, int checkpoint, uint64_t *version, util_err *e);
/* The version (sequence number) of the manifest in force: it grows with every manifest
 * write, so an older one is a rolled-back database (vault/anchor.h). */
uint64_t ledger_manifest_version(ledger *L);

/* Appends a record and waits until it meets the durability policy. *lsn gets its LSN
 * and *ts (if not NULL) its timestamp, the time its header carries, so that a caller
 * never has to read it back. With an idempotency id already committed, *dup is set,
 * *lsn is that record's and *ts is 0 (nothing was appended). */
stele_status ledger_append(ledger *L, int kind, const void *payload, size_t len,
                           const char *idem, size_t idem_len, uint64_t *lsn, uint64_t *ts,
                           int *dup, util_err *e);
/* The LSN of the committed (and, per the policy, durable) record carrying this
 * idempotency id, or 0 in *lsn if there is none. */
stele_status ledger_idem_lookup(ledger *L, const char *idem, size_t idem_len, uint64_t *lsn,
                                util_err *e);
/* Reads and authenticates one record; payload pointers borrow `scratch`. */
stele_status ledger_read(ledger *L, uint64_t lsn, ledger_rec *out, buf *scratch, util_err *e);
uint64_t ledger_head(ledger *L);
/* The kind (STELE_REC_*) of record lsn, as its authenticated header said when the
 * ledger indexed it (at open, or when it was appended): no read, no decryption. -1 if
 * there is no such record (readable: lsn <= the written head). */
int ledger_kind(ledger *L, uint64_t lsn);

stele_status ledger_checkpoint(ledger *L, uint64_t *lsn, util_err *e);
stele_status ledger_verify(ledger *L, uint64_t from_lsn, buf *report, util_err *e);
stele_status ledger_prove(ledger *L, uint64_t lsn, uint64_t ckpt_lsn, int with_payload,
                          buf *json, util_err *e);
stele_status ledger_prove_consistency(ledger *L, uint64_t old_ckpt, uint64_t new_ckpt,
                                      buf *json, util_err *e);
/* The state snapshot recorded in the superblock (see src/store/snapshot.h). */
typedef struct ledger_snapinfo {
    uint64_t lsn;                 /* 0 = no snapshot */
    uint8_t hash[32];             /* hash of record `lsn` when the snapshot was taken */
    uint64_t bytes;               /* serialized state bytes */
    uint32_t epoch;               /* key epoch the fragments were sealed under */
    uint32_t nfrag;
    uint8_t (*frags)[16];         /* malloc'd copy: free() it */
} ledger_snapinfo;
/* A copy of the snapshot entry; -1 on out of memory. */
int ledger_snapshot_get(ledger *L, ledger_snapinfo *out);
/* Makes record `lsn` durable (it must exist) and records the snapshot taken at it in
 * the manifest (its hash is the record's; hashes[i] = SHA-256 of fragment file i),
 * under the current key epoch. Write-intent step 3: the intent becomes phase 2 naming
 * the previous snapshot's fragments (or is cleared if there were none). The caller
 * wrote the fragment files first (after ledger_intent_begin), then removes the old
 * ones and calls ledger_intent_clear. Writable handles only. */
stele_status ledger_snapshot_set(ledger *L, uint64_t lsn, uint64_t bytes,
                                 const uint8_t (*frags)[16], const uint8_t (*hashes)[32],
                                 uint32_t nfrag, util_err *e);
/* Write intents (src/ledger/manifest.c): records in the manifest, synced, that the n
 * files ids[] are about to be written (step 1); ledger_intent_clear ends an intent
 * (step 5, or a rollback after a failed write whose files were removed). A crash in
 * between is finished or rolled back by the next writable open. */
stele_status ledger_intent_begin(ledger *L, const uint8_t (*ids)[16], uint32_t n, util_err *e);
/* Like ledger_intent_begin when no intent is pending; otherwise adds ids[] to the
 * pending snapshot intent (a snapshot names its partition files one by one, each
 * before it is written). STELE_ETOOBIG beyond SB_MAX_INTENT files. */
stele_status ledger_intent_add(ledger *L, const uint8_t (*ids)[16], uint32_t n, util_err *e);
stele_status ledger_intent_clear(ledger *L, util_err *e);
/* Key epoch the recorded snapshot's files were sealed under. */
uint32_t ledger_snapshot_epoch(ledger *L);
/* SHA-256 of a whole file. STELE_ENOTFOUND if it does not exist. */
stele_status ledger_file_hash(const char *path, uint8_t out[32], util_err *e);
/* Hash of record lsn (1..head) into out; -1 if there is no such record. */
int ledger_record_hash(ledger *L, uint64_t lsn, uint8_t out[32]);
/* Whether file_id (16 bytes) is one of the ledger's segments. */
int ledger_is_segment(ledger *L, const uint8_t file_id[16]);
/* The signed settings this database's manifest records as accepted (pk all zero: none):
 * the store's settings pin kept where only key holders can change it (DECISIONS 32). */
void ledger_settings_get(ledger *L, uint8_t pk[32], uint64_t *version, uint64_t *counter);
/* Records newer accepted settings; written with the manifest's next write (a writable
 * handle's first append at the latest: opening alone writes nothing). */
void ledger_settings_note(ledger *L, const uint8_t pk[32], uint64_t version, uint64_t counter);
/* The fixed file size of this database's data files (segments and fragments). */
uint32_t ledger_file_size(ledger *L);
/* The database directory and keys the ledger was opened with (borrowed). */
const char *ledger_dir(const ledger *L);
const vault_dbkeys *ledger_keys(const ledger *L);
/* An AES-GCM context under HKDF(GK of `epoch`, purpose | file_id): the per-file key of
 * a data file; each kind of file has its own purpose ("file key" for segments). In a
 * --no-encryption database (k->plaintext) *out is NULL: box_seal/box_open then write
 * and check plaintext boxes (format.h). */
stele_status ledger_file_key(const vault_dbkeys *k, uint32_t epoch, const char *purpose,
                             const uint8_t file_id[16], crypto_gcm **out, util_err *e);
/* After the keys gained a new epoch (vault_db_rotate): the superblock is sealed under
 * it from the next write on, and the next append starts a segment of the new epoch. */
stele_status ledger_rekey(ledger *L, util_err *e);

/* Background re-encryption (see reencrypt.c): starts a thread that rewrites every
 * segment sealed under an older key epoch under the newest one, one at a time, while
 * the handle keeps serving appends and reads (the last segment is never touched).
 * Writable handles, after ledger_rekey and one append (STELE_EINVAL otherwise).
 * Nothing to rewrite starts nothing. A failure of the thread leaves the database
 * consistent and is reported by ledger_reencrypt_wait, else by ledger_close. */
stele_status ledger_reencrypt_start(ledger *L, util_err *e);
/* Waits for the background re-encryption to end (at once if none runs); *done gets the
 * number of segments it rewrote, the result is its failure (reported once). */
stele_status ledger_reencrypt_wait(ledger *L, uint32_t *done, util_err *e);
/* For tests: with hold != 0 the background re-encryption waits before its next
 * segment until released (or until the handle is closed or verified). */
void ledger_reencrypt_hold(ledger *L, int hold);
/* The refusal of a write on a read-only ledger (EREADONLY, or EACCESS for a reader). */
stele_status ledger_refuse_write(const ledger *L, util_err *e);

/* Appends the ledger's part of `stele stat` as JSON members (no braces). */
stele_status ledger_stat(ledger *L, buf *json, util_err *e);

/* Verifies a JSON proof bundle offline. msg gets the reason or a summary. */
stele_status proof_verify(const char *json, size_t len, const char *trusted_pk_hex, char *msg,
                          size_t cap);

#endif
