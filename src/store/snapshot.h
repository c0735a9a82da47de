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

/* Writes state[0, len) as the snapshot taken at record `lsn`: fragment files first
 * (each synced and renamed into place), then the superblock entry, then removes the
 * previous snapshot's files. On failure the previous snapshot stays in force and
 * no new file is left behind (except after a crash: see snap_gc). */
stele_status snap_write(ledger *L, uint64_t lsn, const uint8_t *state, size_t len, util_err *e);

/* Reads the snapshot recorded in the superblock into *state (malloc'd, *len bytes)
 * and its LSN into *lsn. *lsn = 0 and STELE_OK when there is none. STELE_ECORRUPT
 * (the message names the file) when a fragment is missing, not authentic, or does
 * not belong to this snapshot, or when the snapshot does not match the log (the
 * record at its LSN has another hash: the log was cut by a recovery since). */
stele_status snap_read(ledger *L, uint8_t **state, size_t *len, uint64_t *lsn, util_err *e);

/* Removes fragment files of this database that neither the superblock nor keep[0,
 * nkeep) (the partition fragments of the current snapshot: partition.h) refers to
 * (left by a crash during a snapshot write). Files that are not authentic fragments of
 * this database are left alone. Writable handles only; returns the number removed. */
int snap_gc(ledger *L, const uint8_t (*keep)[16], uint32_t nkeep);

/* One fragment file (the sealing primitive under snap_write and partition.h).
 * snap_frag_write seals body[0, n) (n <= snap_capacity) as fragment `idx` of the
 * snapshot at `lsn` into a new file data/<random id> (id returned), synced and renamed
 * into place; `file` is scratch of file_size bytes; the directory fsync is the
 * caller's. snap_frag_read appends the authenticated body of fragment `idx` of the
 * snapshot at `lsn`, file `id`, to out: STELE_ECORRUPT naming the file when it is
 * missing, not authentic, or another fragment. snap_frag_unlink removes files (best
 * effort) and syncs the directory. */
stele_status snap_frag_write(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                             uint64_t lsn, uint32_t idx, const uint8_t *body, size_t n,
                             uint8_t *file, uint8_t id[16], util_err *e);
stele_status snap_frag_read(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                            const uint8_t id[16], uint64_t lsn, uint32_t idx, buf *out,
                            util_err *e);
void snap_frag_unlink(const char *db_dir, const uint8_t (*ids)[16], uint32_t n);

/* A packed fragment: the same header box (body_len = bytes of boxes used), then boxes
 * that open one at a time, box i at body offset off_i:
 *   nonce(12) | AES-GCM(bytes, n) | tag(16),  AAD "FRGP" | db_id | file_id | snapshot LSN
 *   | u32 index | u32 off
 * so a reader decrypts only the box it needs, and a box cannot move to another file,
 * snapshot, index or offset. snap_pack_begin fills file (file_size bytes) with random
 * bytes and picks a new id; snap_box_seal seals body[0, n) at body offset off (the box
 * takes n + FRAG_BODY_OVERHEAD bytes, within snap_capacity + FRAG_BODY_OVERHEAD);
 * snap_pack_write seals the header (used = end of the last box) and writes the file
 * durably (dir fsync left to the caller). snap_box_read appends the n bytes of the box
 * at off to out after authenticating the header (index, LSN, box within body_len) and
 * the box: STELE_ECORRUPT naming the file otherwise. */
void snap_pack_begin(uint8_t *file, uint32_t file_size, uint8_t id[16]);
int snap_box_seal(const vault_dbkeys *k, const uint8_t id[16], uint64_t lsn, uint32_t idx,
                  uint8_t *file, uint32_t file_size, uint32_t off, const uint8_t *body,
                  size_t n);
stele_status snap_pack_write(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                             uint64_t lsn, uint32_t idx, size_t used, uint8_t *file,
                             const uint8_t id[16], util_err *e);
stele_status snap_box_read(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                           const uint8_t id[16], uint64_t lsn, uint32_t idx, uint32_t off,
                           size_t n, buf *out, util_err *e);

#endif
