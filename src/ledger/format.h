/*
 * format.h — byte layouts of the ledger: record headers, frames, segment headers,
 * superblocks. Layer: ledger (uses util and crypto). docs/FORMAT.md is the prose
 * version of this file; keep them in step.
 *
 * Segment file (fixed size, default 32 MiB; filled with random bytes at creation):
 *   [0, 128)          segment header box: nonce(12) | AES-GCM(seghdr, 64 bytes) | tag(16),
 *                     then random bytes up to 128
 *   [128, size)       frames, each 16-byte aligned, then random padding to the end
 * Frame (16-byte aligned; every byte looks random without the key):
 *   nonce(12) | GCM(record header, 152) | tag(16) | GCM(envelope, env_len) | tag(16) | pad
 *   The header box uses `nonce` with bit 0 of byte 11 cleared, the envelope box the same
 *   nonce with that bit set, so one random 95-bit value gives two distinct nonces.
 *   AAD of each box: "FRH1" or "FRP1" | db_id(16) | file_id(16) | key_epoch(u32)
 *   | file kind(u8 = 1) | seg_seq(u32) | offset(u64), so a frame cannot be moved to
 *   another database, file, key epoch, kind of file, segment position or offset.
 * Envelope (the encrypted payload box): salt(16) | idem_len(u16) | idem id | payload.
 *   payload_hash = SHA-256(salt | payload): commits to the content without revealing it.
 * Record header (152 bytes, little-endian):
 *     0 u64 lsn             8 u64 timestamp_ns     16 u8 kind    17 u8 version(1)
 *    18 u16 flags(0)       20 u32 generation       24 u32 payload_len
 *    28 u32 env_len        32 u8[16] author        48 u8[32] idem_digest (SHA-256, 0 = none)
 *    80 u8[32] payload_hash                        112 u8[32] prev_hash
 *   144 u64 durable_lsn (the newest LSN known synced when this record was written)
 *   record hash = SHA-256(header bytes). Genesis prev_hash = SHA-256("stele genesis" | db_id).
 * Segment header (64 bytes): "STELESEG" | u32 version | u32 seq | db_id(16) | file_id(16)
 *   | u64 first_lsn | u32 key_epoch | u32 reserved(0).
 *   AAD: "SEGH" | db_id | file_id | key_epoch(u32) | file kind(u8 = 1).
 * Sealed-box AAD (every box of every file, docs/FORMAT.md "Associated data"): a 4-byte
 * box tag | db_id(16) | file_id(16) | key_epoch(u32) | file kind(u8), then the box's
 * own fields. File kinds: 1 segment, 2 snapshot fragment, 3 manifest (superblock copy).
 */
#ifndef STELE_LEDGER_FORMAT_H
#define STELE_LEDGER_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "util/util.h"

#define LEDGER_ID_BYTES 16
#define RECHDR_BYTES 152
#define SEGHDR_PLAIN_BYTES 64
#define SEGHDR_AREA 128
#define FRAME_ALIGN 16
#define FRAME_NONCE_BYTES CRYPTO_GCM_NONCE_BYTES
#define FRAME_OVERHEAD (FRAME_NONCE_BYTES + RECHDR_BYTES + 2 * CRYPTO_GCM_TAG_BYTES)
#define ENVELOPE_SALT_BYTES 16
#define ENVELOPE_FIXED (ENVELOPE_SALT_BYTES + 2)
#define SEALED_AAD_BYTES 41
#define FRAME_AAD_BYTES (SEALED_AAD_BYTES + 12)

/* Kinds of sealed file, bound into every box's associated data. */
enum { FILE_KIND_SEGMENT = 1, FILE_KIND_FRAGMENT = 2, FILE_KIND_MANIFEST = 3 };

/* Limits (see docs/LIMITS.md): a record's payload is at most 4 MiB (one frame must
 * fit in a segment and in a group-commit batch), an idempotency id at most 256 bytes. */
#define LEDGER_PAYLOAD_MAX (4u << 20)
#define LEDGER_IDEM_MAX 256u
#define LEDGER_FRAME_MAX \
    (((FRAME_OVERHEAD + ENVELOPE_FIXED + LEDGER_IDEM_MAX + LEDGER_PAYLOAD_MAX) + 15u) & ~15u)
#define LEDGER_SEGMENT_MIN (64u << 10)
#define LEDGER_SEGMENT_DEFAULT (32u << 20)

_Static_assert(FRAME_OVERHEAD == 196, "frame overhead is part of the format");
_Static_assert(SEGHDR_AREA >= FRAME_NONCE_BYTES + SEGHDR_PLAIN_BYTES + CRYPTO_GCM_TAG_BYTES,
               "segment header box must fit its area");

typedef struct rechdr {
    uint64_t lsn;
    uint64_t timestamp_ns;
    uint8_t kind;
    uint32_t generation;
    uint32_t payload_len;
    uint32_t env_len;
    uint8_t author[LEDGER_ID_BYTES];
    uint8_t idem_digest[CRYPTO_HASH_BYTES];
    uint8_t payload_hash[CRYPTO_HASH_BYTES];
    uint8_t prev_hash[CRYPTO_HASH_BYTES];
    uint64_t durable_lsn;
} rechdr;

void rechdr_encode(const rechdr *h, uint8_t out[RECHDR_BYTES]);
/* Decodes authenticated header bytes; returns -1 if fields are inconsistent
 * (unknown version, lengths out of range). */
int rechdr_decode(const uint8_t in[RECHDR_BYTES], rechdr *h);
void rechdr_hash(const uint8_t enc[RECHDR_BYTES], uint8_t out[CRYPTO_HASH_BYTES]);

/* A box is nonce(12) | body(len) | tag(16): the unit every data file is made of
 * (segment headers, frame headers, envelopes, fragment headers and bodies).
 *  - sealed (g != NULL): body = AES-256-GCM(pt), tag = its tag (authenticated);
 *  - plaintext (g == NULL, a --no-encryption database): body = pt, tag = the first 16
 *    bytes of SHA-256("stele-plain-box-v1" | nonce | aad | pt): a checksum that detects
 *    torn and damaged bytes and a box moved to another place (the AAD still binds the
 *    place), but no secret: anyone can recompute it. Authenticity of the log then comes
 *    from the hash chain and the signed checkpoints (docs/FORMAT.md).
 * This is the one branch point between the two modes. box_open returns 0 if the tag
 * matches (pt gets len bytes; pt may equal ct), -1 otherwise (pt zeroed). */
#define BOX_AAD_MAX 64
int box_seal(crypto_gcm *g, const uint8_t nonce[CRYPTO_GCM_NONCE_BYTES], const void *aad,
             size_t aad_len, const void *pt, size_t len, uint8_t *ct,
             uint8_t tag[CRYPTO_GCM_TAG_BYTES]) CRYPTO_MUST_CHECK;
int box_open(crypto_gcm *g, const uint8_t nonce[CRYPTO_GCM_NONCE_BYTES], const void *aad,
             size_t aad_len, const uint8_t *ct, size_t len,
             const uint8_t tag[CRYPTO_GCM_TAG_BYTES], uint8_t *pt) CRYPTO_MUST_CHECK;

/* Identifies where a frame lives; bound into the AAD. */
typedef struct frame_place {
    const uint8_t *db_id;
    const uint8_t *file_id;
    uint32_t epoch; /* key epoch of the segment */
    uint32_t seg_seq;
    uint64_t offset;
} frame_place;

/* Size on disk of a frame with an envelope of env_len bytes. */
static inline size_t frame_size(size_t env_len)
{
    return (FRAME_OVERHEAD + env_len + FRAME_ALIGN - 1) & ~(size_t)(FRAME_ALIGN - 1);
}

/* Seals a whole frame into out (frame_size(env_len) bytes; alignment padding random).
 * hdr_enc is the encoded header; env is the plaintext envelope. */
int frame_seal(crypto_gcm *g, crypto_rng *rng, const frame_place *pl,
               const uint8_t hdr_enc[RECHDR_BYTES], const uint8_t *env, size_t env_len,
               uint8_t *out) CRYPTO_MUST_CHECK;
/* Opens the header box of the frame starting at in (at least FRAME_NONCE_BYTES +
 * RECHDR_BYTES + 16 bytes). 0 if authentic (hdr_enc filled), -1 otherwise. */
int frame_open_header(crypto_gcm *g, const frame_place *pl, const uint8_t *in,
                      uint8_t hdr_enc[RECHDR_BYTES]) CRYPTO_MUST_CHECK;
/* Opens the envelope box of a frame whose header said env_len. */
int frame_open_envelope(crypto_gcm *g, const frame_place *pl, const uint8_t *in, size_t env_len,
                        uint8_t *env) CRYPTO_MUST_CHECK;

/* Builds an envelope: salt | idem_len | idem | payload. out needs ENVELOPE_FIXED +
 * idem_len + len bytes. The salt comes from rng. */
void envelope_build(crypto_rng *rng, const void *idem, size_t idem_len, const void *payload,
                    size_t len, uint8_t *out);
/* Parses an envelope; -1 if lengths are inconsistent with the header. */
int envelope_parse(const uint8_t *env, size_t env_len, uint32_t payload_len,
                   const uint8_t **idem, size_t *idem_len, const uint8_t **payload);
/* payload_hash = SHA-256(salt | payload) of an envelope. */
void envelope_payload_hash(const uint8_t *env, const uint8_t *payload, size_t len,
                           uint8_t out[CRYPTO_HASH_BYTES]);

typedef struct seghdr {
    uint32_t seq;
    uint8_t db_id[LEDGER_ID_BYTES];
    uint8_t file_id[LEDGER_ID_BYTES];
    uint64_t first_lsn;
    uint32_t key_epoch;
} seghdr;

/* Writes the common associated data of a sealed box (see the file comment) into out
 * and returns SEALED_AAD_BYTES; the caller appends the box's own fields. */
size_t sealed_aad(uint8_t out[SEALED_AAD_BYTES], const char tag[4], const uint8_t *db_id,
                  const uint8_t *file_id, uint32_t epoch, uint8_t kind);

/* Seals a segment header into out[SEGHDR_AREA] (tail random). */
int seghdr_seal(crypto_gcm *g, const seghdr *h, uint8_t out[SEGHDR_AREA]) CRYPTO_MUST_CHECK;
/* Opens and decodes; the AAD uses the expected db_id, file_id and key epoch. -1 if
 * not authentic. */
int seghdr_open(crypto_gcm *g, const uint8_t *db_id, const uint8_t *file_id, uint32_t epoch,
                const uint8_t in[SEGHDR_AREA], seghdr *h) CRYPTO_MUST_CHECK;

/* Genesis previous-hash of a database. */
void ledger_genesis_hash(const uint8_t db_id[LEDGER_ID_BYTES], uint8_t out[CRYPTO_HASH_BYTES]);

/* Checkpoint signature message: "stele-checkpoint-v1" | db_id | u64 tree_size | root
 * | head_hash | u64 timestamp_ns. */
#define CHECKPOINT_MSG_BYTES (19 + 16 + 8 + 32 + 32 + 8)
void checkpoint_message(const uint8_t db_id[LEDGER_ID_BYTES], uint64_t tree_size,
                        const uint8_t root[32], const uint8_t head_hash[32], uint64_t ts,
                        uint8_t out[CHECKPOINT_MSG_BYTES]);

#endif /* STELE_LEDGER_FORMAT_H */
