/*
 * partition.h — partitions of a snapshot: byte strings packed as boxes into fragment
 * files, each box opened alone (snapshot.h: snap_box_*), so that a reader decrypts one
 * partition without the others. Layer: store (knows nothing of what the bytes mean:
 * the model cuts its state into partitions and keeps their references in the
 * snapshot's directory, which snap_write stores).
 *
 * A packer fills one file after the other: a partition goes into the current file as
 * one box, or, if it does not fit, as pieces that run on into the next files. Files
 * get fragment indices from PART_IDX_BASE up, one per file across the whole snapshot,
 * so the AAD of every box (which binds the index, the snapshot LSN and the box offset)
 * differs from every other's and from the directory's (indices below SB_MAX_FRAGS).
 * A partition's reference, kept by the caller, says where it is:
 *
 *   u64 bytes | u32 npieces | npieces x { file id(16) | u32 index | u32 off | u32 n }
 *
 * Every file is named in the ledger's write intent before it is created
 * (ledger_intent_add), so a crash leaves no file the manifest does not know; the
 * packer keeps each written file's id and SHA-256 for the manifest entry (snap_write).
 *
 * Invariants
 *  1. References name files only once partition_finish has written and synced them;
 *     partition_read returns bytes only if every piece authenticates as the box at its
 *     offset of the fragment with its index and the snapshot LSN, and the pieces add up
 *     to the reference's byte count.
 *  2. Nothing here keeps state between calls but the packer; references are the caller's.
 */
#ifndef STELE_STORE_PARTITION_H
#define STELE_STORE_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"
#include "util/util.h"

#define PART_IDX_BASE (1u << 16)
#define PART_REF_FIXED 12
#define PART_PIECE 28
/* Pieces of one partition: the model cuts partitions far below a file, so only a
 * document whose versions outgrow files makes many (a bound for the reader). */
#define PART_PIECES_MAX 4096

/* The files a snapshot's partitions were written to, for its manifest entry: ids
 * (16 bytes each) and the SHA-256 of each whole file (32 bytes each), in order. */
typedef struct part_files {
    buf ids, hashes;
} part_files;

typedef struct part_packer {
    ledger *L;
    uint64_t lsn;
    uint8_t *file;    /* the current file's bytes (ledger_file_size) */
    uint8_t id[16];   /* the current file's id */
    uint32_t idx;     /* the current file's index */
    size_t used;      /* body bytes of the current file taken by boxes */
    int open;         /* a current file exists */
    part_files files; /* the files written so far */
} part_packer;

/* A packer for the snapshot at `lsn`; -1 on out of memory. */
int partition_packer_init(part_packer *p, ledger *L, uint64_t lsn);
/* Adds bytes[0, len) as the next partition, appending its reference to ref. */
stele_status partition_put(part_packer *p, const uint8_t *bytes, size_t len, buf *ref,
                           util_err *e);
/* Writes the last file. Then every reference handed out is valid (after the caller's
 * directory fsync, which snap_write does). */
stele_status partition_finish(part_packer *p, util_err *e);
/* Removes every file this packer wrote or started (a snapshot that will not be
 * recorded; the caller then clears the write intent). */
void partition_packer_abort(part_packer *p);
void partition_packer_release(part_packer *p);

/* Reads the partition of reference ref[0, ref_len) of the snapshot at `lsn` into
 * *bytes (malloc'd; the caller frees it) and *len. STELE_ECORRUPT naming the file when
 * one is missing or not authentic, or the reference is malformed; STELE_ENOMEM. */
stele_status partition_read(ledger *L, uint64_t lsn, const uint8_t *ref, size_t ref_len,
                            uint8_t **bytes, size_t *len, util_err *e);

/* Piece i's file id of a reference (borrowed): 1, or 0 past the end or if malformed. */
int partition_ref_file(const uint8_t *ref, size_t ref_len, uint32_t i, const uint8_t **id);

#endif
