/*
 * superblock.h — the signed manifest of a database: every file of data/ (segments in
 * order, the snapshot's fragments), the chain head known durable, the recovery
 * generation, whether the last shutdown was clean, and the pending write intent.
 * Layer: ledger. docs/FORMAT.md "Manifest" is the prose version; keep them in step.
 *
 * Two copies, each a file data/<id> of the database's fixed file size (like segments
 * and fragments), whose ids are derived from the key (sb_copy_id), so that an opener
 * with the key finds them and a listing shows only random names of one size:
 *   [0, 128)    header box: nonce(24) | XChaCha20-Poly1305(header, 64) | tag(16) | random
 *   [128, ...)  body box:   nonce(24) | XChaCha20-Poly1305(manifest, body_len) | tag(16),
 *               then whatever was there before (random at creation, older ciphertext)
 *   header: "STELEMF1" | u32 version(1) | u32 copy | u64 seq | u32 body_len
 *           | u32 key_epoch | db_id(16) | file_id(16)
 *   key: HKDF(GK, "superblock"). AAD: "MNFH" or "MNFB" | db_id | file_id | key_epoch
 *   | kind(3) (format.h sealed_aad), then u64 seq for the body: header and body of two
 *   different writes never open together.
 * A copy is overwritten in place (header and body, then fdatasync), copy 0 before
 * copy 1: a torn write damages one copy only, and the reader takes the authentic copy
 * with the higher seq (the manifest version). Rewriting whole 32 MiB files for every
 * superblock update would cost more than the log's own writes (DECISIONS.md).
 *
 * Manifest plaintext (little-endian):
 *   "STELESB1" | u32 version(4; 3 is read: no settings record) | u64 seq | db_id(16) | u32 generation | u8 clean | u8[3] 0
 *   | u32 segment_size | u32 checkpoint_every | u64 head_lsn | head_hash(32)
 *   | u64 last_checkpoint_lsn | sign_pk(32) | u32 nseg | u32 key_epoch
 *   | u32 flags (bit 0: plaintext data files, --no-encryption) | u8[4] 0
 *   | nseg x { file_id(16) | u64 first_lsn | u64 last_lsn (0 = open) | last_hash(32)
 *             | u32 key_epoch | u32 0 | file_hash(32) (SHA-256 of the whole file once
 *             closed; zeros while open: the chain head covers the open segment) }
 *   | u64 snap_lsn (0 = none) | snap_hash(32) | u64 snap_bytes | u32 snap_epoch | u32 nfrag
 *   | nfrag x { file_id(16) | file_hash(32) }
 *   | u8 intent_op (0 none, 1 snapshot, 2 segment roll) | u8 intent_phase | u16 0
 *   | u32 nintent | nintent x file_id(16)
 *   | settings record (version 4): settings public key(32) | u64 version | u64 counter —
 *     the newest signed settings a writer of this database accepted (zeros: none)
 *   | root(32): RFC 6962 Merkle root over one leaf per file, segments then fragments,
 *     leaf data = SHA-256(kind | the file's entry bytes as above)
 *   | signature(64): Ed25519 (the database's key) over "stele-manifest-v1"
 *     | SHA-256(every plaintext byte before the signature).
 * Write intent (seed 000 milestone 4; docs/FORMAT.md "Write intents"): phase 1 =
 * the listed files are being written and are not in force; phase 2 = the manifest
 * names the new files and the listed (old) files are being removed.
 */
#ifndef STELE_LEDGER_SUPERBLOCK_H
#define STELE_LEDGER_SUPERBLOCK_H

#include <stdint.h>

#include "util/util.h"
#include "vault/vault.h"

#define SB_FIXED_BYTES 148
#define SB_SEG_BYTES 104
#define SB_MAX_SEGMENTS (1u << 20)
#define SB_SNAP_FIXED 56
#define SB_FRAG_BYTES 48
#define SB_MAX_FRAGS (1u << 16)
/* flags (u32 at offset 140, formerly reserved zero): */
#define SB_FLAG_PLAINTEXT 1u /* --no-encryption: data files hold plaintext boxes */
#define SB_FLAGS_KNOWN SB_FLAG_PLAINTEXT
#define SB_INTENT_FIXED 8
#define SB_MAX_INTENT SB_MAX_FRAGS
#define SB_SETTINGS_BYTES 48
#define SB_TRAILER (32 + 64)
#define SB_HDR_AREA 128
#define SB_HDR_PLAIN 64

enum { SB_INTENT_NONE = 0, SB_INTENT_SNAPSHOT = 1, SB_INTENT_ROLL = 2 };
enum { SB_PHASE_WRITING = 1, SB_PHASE_REMOVING = 2 };

typedef struct sb_seg {
    uint8_t file_id[16];
    uint64_t first_lsn;
    uint64_t last_lsn;
    uint8_t last_hash[32];
    uint32_t epoch;
    uint8_t file_hash[32]; /* zeros while the segment is open */
} sb_seg;

typedef struct superblock {
    uint64_t seq; /* the manifest version: +1 at every write */
    uint8_t db_id[16];
    uint32_t generation;
    uint8_t clean;
    uint32_t segment_size;
    uint32_t checkpoint_every;
    uint64_t head_lsn;
    uint8_t head_hash[32];
    uint64_t last_checkpoint_lsn;
    uint8_t sign_pk[32];
    uint32_t key_epoch;
    uint32_t nseg;
    uint32_t flags; /* SB_FLAG_* */
    sb_seg *segs; /* malloc'd */
    /* The newest state snapshot (0 fragments = none). */
    uint64_t snap_lsn;
    uint8_t snap_hash[32];
    uint64_t snap_bytes;
    uint32_t snap_epoch;
    uint32_t nfrag;
    uint8_t (*frags)[16];     /* malloc'd */
    uint8_t (*frag_hash)[32]; /* malloc'd, nfrag entries */
    /* The pending write intent (intent_op 0 = none). */
    uint8_t intent_op, intent_phase;
    uint32_t nintent;
    uint8_t (*intent)[16]; /* malloc'd */
    /* The newest signed settings accepted by a writer (set_pk zero: none recorded). */
    uint8_t set_pk[32];
    uint64_t set_version, set_counter;
    uint8_t root[32];      /* filled by sb_write and sb_decode */
} superblock;

/* The file id of manifest copy i (0 or 1): the first 16 bytes of
 * HKDF(GK, "manifest name" | i), so that only a key holder can find the copies. */
int sb_copy_id(const vault_dbkeys *k, int i, uint8_t id[16]) CRYPTO_MUST_CHECK;
/* The same for the copies of key epoch `epoch` (1..k->epoch): a key rotation moves the
 * manifest to the new epoch's names (sb_write removes the older epochs' copies). */
int sb_copy_id_at(const vault_dbkeys *k, uint32_t epoch, int i, uint8_t id[16])
    CRYPTO_MUST_CHECK;

/* Increments sb->seq, signs, and writes both copies (creating a missing copy as a
 * fixed-size random file) under the newest key epoch's names; when the manifest was
 * last written under an older epoch (a key rotation), then removes the copies of every
 * older epoch. STELE_ETOOBIG if the manifest does not fit one file. */
stele_status sb_write(const char *db_dir, const vault_dbkeys *k, const uint8_t key[32],
                      superblock *sb, util_err *e);
/* Reads the newest authentic, correctly signed copy. damage (cap bytes) gets a
 * description of a damaged, missing or moved copy, or "" if both are fine. */
stele_status sb_read(const char *db_dir, const vault_dbkeys *k, const uint8_t key[32],
                     superblock *sb, char *damage, size_t cap, util_err *e);
/* The same for the copies of an older key epoch, sealed under that epoch's `key` (a
 * rotation interrupted before the manifest moved to the new epoch). */
stele_status sb_read_at(const char *db_dir, const vault_dbkeys *k, uint32_t epoch,
                        const uint8_t key[32], superblock *sb, char *damage, size_t cap,
                        util_err *e);
/* 1 if a manifest copy of an older key epoch is still in data/ (a rotation interrupted
 * before or while the manifest moved to the newest epoch's copies). */
int sb_old_copies_exist(const char *db_dir, const vault_dbkeys *k);
/* Removes the copies of every older epoch and syncs data/ (best effort: a copy left
 * behind is removed by the next writable open). */
void sb_remove_old_copies(const char *db_dir, const vault_dbkeys *k);
void sb_release(superblock *sb);
/* Bytes of a copy file that the two boxes of this manifest occupy (the rest is filler). */
size_t sb_file_bytes(const superblock *sb);
/* Decodes authenticated plaintext (exposed for the fuzzer): checks the Merkle root but
 * not the signature; -1 if malformed. Arrays are malloc'd (sb_release frees them). */
int sb_decode(const uint8_t *p, size_t len, superblock *sb);
/* Appends a segment entry (open, current key epoch); -1 on out of memory. */
int sb_add_segment(superblock *sb, const uint8_t file_id[16], uint64_t first_lsn,
                   uint32_t epoch);
/* Replaces the intent (op 0 clears it); -1 on out of memory. */
int sb_set_intent(superblock *sb, int op, int phase, const uint8_t (*ids)[16], uint32_t n);

#endif
