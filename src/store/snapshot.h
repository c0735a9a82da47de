/*
 * snapshot.h — state snapshots in fragment files. Layer: store (uses ledger, vault,
 * crypto, util; knows nothing of what the state bytes mean: src/model serializes).
 *
 * A snapshot is the serialized derived state as of one ledger record (its LSN and
 * record hash are bound into it), cut into chunks that each fill one fragment file.
 * The ledger gives the directory and keys. Fragment files live in data/ beside the segments, have the same fixed size,
 * random names and random padding, so the two kinds cannot be told apart on disk:
 *
 *   [0, 128)    header box: nonce(12) | AES-GCM(fragment header, 64) | tag(16) | random
 *   [128, ...)  body box:   nonce(12) | AES-GCM(chunk, body_len) | tag(16), then random
 *               bytes to the end of the file
 *   fragment header: "STELEFRG" | u32 version(1) | u32 index | db_id(16) | file_id(16)
 *                    | u64 snap_lsn | u32 body_len | u32 key_epoch
 *   key: HKDF(GK, "fragment key" | file_id) — never the key of a segment; every file
 *        is written once under a fresh random id, so a (key, nonce) pair never repeats.
 *   AAD: header "FRGH" | db_id | file_id; body "FRGB" | db_id | file_id | snap_lsn |
 *        index: a fragment cannot be moved to another database, snapshot or position.
 * The superblock (ledger) lists the fragments of the newest snapshot in order; it is
 * written after every fragment is durable, so a crash leaves either the old snapshot
 * or the new one, plus orphan fragments that the next writer removes.
 */
#ifndef STELE_STORE_SNAPSHOT_H
#define STELE_STORE_SNAPSHOT_H

#include <stdint.h>

#include "ledger/ledger.h"
#include "util/util.h"
#include "vault/vault.h"

#define FRAG_HDR_AREA 128
#define FRAG_HDR_PLAIN 64
#define FRAG_BODY_OVERHEAD (12 + 16)

/* Bytes of state one fragment file of file_size bytes holds. */
size_t snap_capacity(uint32_t file_size);

/* Writes state[0, len) (the state's directory) as the snapshot taken at record `lsn`:
 * its fragment files first (each synced and renamed into place; named in the write
 * intent before), then the manifest entry listing them and the partition files
 * extra[0, nextra) (already written and named in the intent by partition_write, with
 * their hashes), then removes the previous snapshot's files and clears the intent. On
 * failure the previous snapshot stays in force; with no partition files the intent is
 * cleared and no new file is left behind, otherwise the caller removes the partition
 * files and clears the intent (a crash: the next writer's intent recovery does). */
stele_status snap_write(ledger *L, uint64_t lsn, const uint8_t *state, size_t len,
                        const uint8_t (*extra)[16], const uint8_t (*extra_hash)[32],
                        uint32_t nextra, util_err *e);

/* Reads the snapshot recorded in the superblock into *state (malloc'd, *len bytes)
 * and its LSN into *lsn. *lsn = 0 and STELE_OK when there is none. STELE_ECORRUPT
 * (the message names the file) when a fragment is missing, not authentic, or does
 * not belong to this snapshot, or when the snapshot does not match the log (the
 * record at its LSN has another hash: the log was cut by a recovery since). */
stele_status snap_read(ledger *L, uint8_t **state, size_t *len, uint64_t *lsn, util_err *e);

/* One fragment file (the sealing primitive under snap_write and partition.h).
 * snap_frag_write seals body[0, n) (n <= snap_capacity) as fragment `idx` of the
 * snapshot at `lsn` into the new file data/<id> (the caller picks the random id and
 * names it in the write intent first), synced and renamed into place, and gives the
 * SHA-256 of the whole file (for the manifest); `file` is scratch of file_size bytes;
 * the directory fsync is the caller's. snap_frag_read appends the authenticated body of
 * fragment `idx` of the snapshot at `lsn`, file `id`, sealed under key epoch `epoch`,
 * to out: STELE_ECORRUPT naming the file when it is missing, not authentic, or another
 * fragment. snap_frag_unlink removes files (best effort) and syncs the directory. */
stele_status snap_frag_write(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                             uint64_t lsn, uint32_t idx, const uint8_t *body, size_t n,
                             uint8_t *file, const uint8_t id[16], uint8_t hash[32],
                             util_err *e);
stele_status snap_frag_read(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                            const uint8_t id[16], uint32_t epoch, uint64_t lsn, uint32_t idx,
                            buf *out, util_err *e);
void snap_frag_unlink(const char *db_dir, const uint8_t (*ids)[16], uint32_t n);

/* A packed fragment (partition.h): the same header box (body_len = bytes of boxes
 * used), then boxes that open one at a time, the box at body offset off:
 *   nonce(12) | AES-GCM(bytes, n) | tag(16),  AAD "FRGP" prefix | snapshot LSN | u32 index
 *   | u32 off
 * so a reader decrypts only the box it needs, and a box cannot move to another file,
 * snapshot, index or offset. snap_pack_begin fills file (file_size bytes) with random
 * bytes (the caller picks the id and names it in the write intent); snap_box_seal
 * seals body[0, n) at body offset off (the box takes n + FRAG_BODY_OVERHEAD bytes,
 * within the file); snap_pack_write seals the header (used = end of the last box),
 * writes the file durably and gives its SHA-256 (dir fsync left to the caller).
 * snap_box_read appends the n bytes of the box at off to out after authenticating the
 * header (index, LSN, box within body_len, key epoch) and the box: STELE_ECORRUPT
 * naming the file otherwise. */
void snap_pack_begin(uint8_t *file, uint32_t file_size);
int snap_box_seal(const vault_dbkeys *k, const uint8_t id[16], uint64_t lsn, uint32_t idx,
                  uint8_t *file, uint32_t file_size, uint32_t off, const uint8_t *body,
                  size_t n);
stele_status snap_pack_write(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                             uint64_t lsn, uint32_t idx, size_t used, uint8_t *file,
                             const uint8_t id[16], uint8_t hash[32], util_err *e);
stele_status snap_box_read(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                           const uint8_t id[16], uint32_t epoch, uint64_t lsn, uint32_t idx,
                           uint32_t off, size_t n, buf *out, util_err *e);

#endif
