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

#endif
