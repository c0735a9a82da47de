/*
 * superblock.h — the root of a database's ledger: which segment files exist in
 * which order, the chain head known durable, the recovery generation and whether
 * the last shutdown was clean. Layer: ledger.
 *
 * Two copies ("superblock.a", "superblock.b"), each replaced atomically and each
 * sealed with XChaCha20-Poly1305 under HKDF(GK, "superblock"), AAD "stele/sb/v1" |
 * db_id. The reader takes the authentic copy with the highest sequence number and
 * reports a damaged copy (verify fails on it; the next write repairs it).
 * Plaintext layout (little-endian):
 *   "STELESB1" | u32 version | u64 seq | db_id(16) | u32 generation | u8 clean | u8[3] 0
 *   | u32 segment_size | u32 checkpoint_every | u64 head_lsn | head_hash(32)
 *   | u64 last_checkpoint_lsn | sign_pk(32) | u32 nseg | u32 flags | u8[8] 0
 *   | nseg x { file_id(16) | u64 first_lsn | u64 last_lsn (0 = open) | last_hash(32) }
 *   version 2 adds the state snapshot (src/store, docs/FORMAT.md "Snapshots"):
 *   | u64 snap_lsn (0 = none) | snap_hash(32) (hash of record snap_lsn) | u64 snap_bytes
 *   | u32 nfrag | nfrag x file_id(16)
 * Version 1 copies (no snapshot) are still read; every write is version 2.
 */
#ifndef STELE_LEDGER_SUPERBLOCK_H
#define STELE_LEDGER_SUPERBLOCK_H

#include <stdint.h>

#include "util/util.h"

#define SB_FIXED_BYTES 148
#define SB_SEG_BYTES 64
#define SB_MAX_SEGMENTS (1u << 20)
#define SB_SNAP_FIXED 52
#define SB_MAX_FRAGS (1u << 16)
/* flags (u32 at offset 136, formerly reserved zero): */
#define SB_FLAG_PLAINTEXT 1u /* --no-encryption: data files hold plaintext boxes */
#define SB_FLAGS_KNOWN SB_FLAG_PLAINTEXT

typedef struct sb_seg {
    uint8_t file_id[16];
    uint64_t first_lsn;
    uint64_t last_lsn;
    uint8_t last_hash[32];
} sb_seg;

typedef struct superblock {
    uint64_t seq;
    uint8_t db_id[16];
    uint32_t generation;
    uint8_t clean;
    uint32_t segment_size;
    uint32_t checkpoint_every;
    uint64_t head_lsn;
    uint8_t head_hash[32];
    uint64_t last_checkpoint_lsn;
    uint8_t sign_pk[32];
    uint32_t nseg;
    uint32_t flags; /* SB_FLAG_* */
    sb_seg *segs; /* malloc'd */
    /* The newest state snapshot (0 fragments = none). */
    uint64_t snap_lsn;
    uint8_t snap_hash[32];
    uint64_t snap_bytes;
    uint32_t nfrag;
    uint8_t (*frags)[16]; /* malloc'd */
} superblock;

/* Increments sb->seq and writes both copies. */
stele_status sb_write(const char *db_dir, const uint8_t key[32], superblock *sb, util_err *e);
/* Reads the newest authentic copy. damage (cap bytes) gets a description of a
 * damaged or missing copy, or "" if both are fine. */
stele_status sb_read(const char *db_dir, const uint8_t key[32], const uint8_t db_id[16],
                     superblock *sb, char *damage, size_t cap, util_err *e);
void sb_release(superblock *sb);
/* Decodes authenticated plaintext (exposed for the fuzzer); -1 if malformed. On
 * success sb->segs is malloc'd (sb_release frees it). */
int sb_decode(const uint8_t *p, size_t len, superblock *sb);
/* Appends a segment entry; -1 on out of memory. */
int sb_add_segment(superblock *sb, const uint8_t file_id[16], uint64_t first_lsn);

#endif
