/*
 * partition.h — partitions of a snapshot: byte strings each sealed into fragment files
 * of their own, so that one can be read without the others. Layer: store (uses
 * snapshot.h's one-fragment primitives; knows nothing of what the bytes mean: the
 * model cuts its state into partitions and keeps their references in the snapshot's
 * directory, which snap_write stores).
 *
 * A partition of n bytes takes ceil(n / snap_capacity) fragment files (at least one),
 * numbered with fragment indices from PART_IDX_BASE up, one number per file across
 * the whole snapshot, so that the AAD of every fragment (which binds its index and
 * the snapshot LSN) differs from every other's and from the directory's (indices
 * below SB_MAX_FRAGS). Its reference, kept by the caller, says where it is:
 *
 *   u32 first fragment index | u32 nfrag | u64 bytes | nfrag x file id(16)
 *
 * Invariants
 *  1. A reference names files written and synced before it was returned; part_read
 *     returns bytes only if every file authenticates as the fragment with the index
 *     and snapshot LSN the reference gives, and the bodies add up to its byte count.
 *  2. Nothing here keeps state between calls: references are the caller's.
 */
#ifndef STELE_STORE_PARTITION_H
#define STELE_STORE_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"
#include "util/util.h"

#define PART_IDX_BASE (1u << 16)
#define PART_REF_FIXED 16
/* Files of one partition: the model cuts partitions to fill one file, so only a
 * document whose versions outgrow a file makes more (a bound for the reader). */
#define PART_FRAGS_MAX 4096

/* The files a snapshot's partitions were written to, for its manifest entry: ids
 * (16 bytes each) and the SHA-256 of each whole file (32 bytes each), in order. */
typedef struct part_files {
    buf ids, hashes;
} part_files;

/* Writes bytes[0, len) as a partition of the snapshot at `lsn` whose first fragment
 * has index *next_idx (advanced past its files), appending its reference to ref and
 * its files to out. Each file is named in the ledger's write intent before it is
 * written (ledger_intent_add), so a crash leaves no file the manifest does not know.
 * `file` is scratch of ledger_file_size(L) bytes. On failure no file of this call is
 * left behind. The caller syncs the data directory before it records the snapshot
 * (snap_write, which lists out's files in the manifest). */
stele_status partition_write(ledger *L, uint64_t lsn, const uint8_t *bytes, size_t len,
                        uint32_t *next_idx, uint8_t *file, buf *ref, part_files *out,
                        util_err *e);

/* Reads the partition of reference ref[0, ref_len) of the snapshot at `lsn` into
 * *bytes (malloc'd; the caller frees it) and *len. STELE_ECORRUPT naming the file when
 * one is missing or not authentic, or the reference is malformed; STELE_ENOMEM. */
stele_status partition_read(ledger *L, uint64_t lsn, const uint8_t *ref, size_t ref_len,
                       uint8_t **bytes, size_t *len, util_err *e);

/* The files of a reference: 0 with *n and ids[i] = ref + PART_REF_FIXED + 16 i
 * (borrowed), or -1 if the reference is malformed. */
int partition_ref_files(const uint8_t *ref, size_t ref_len, const uint8_t (**ids)[16], uint32_t *n);

/* Removes the files of a reference (best effort: the write intent names what is left). */
void partition_unlink(ledger *L, const uint8_t *ref, size_t ref_len);

#endif
