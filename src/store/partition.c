/*
 * partition.c — see partition.h. Layer: store.
 */
#include "store/partition.h"

#include <stdlib.h>

#include "crypto/crypto.h"

#include "store/snapshot.h"

/* Number of pieces of a well-formed reference, or -1. */
static int64_t ref_pieces(const uint8_t *ref, size_t ref_len)
{
    if (ref_len < PART_REF_FIXED) return -1;
    uint32_t n = get_u32(ref + 8);
    if (n > PART_PIECES_MAX || ref_len != PART_REF_FIXED + (size_t)n * PART_PIECE) return -1;
    return n;
}

int partition_ref_file(const uint8_t *ref, size_t ref_len, uint32_t i, const uint8_t **id)
{
    int64_t n = ref_pieces(ref, ref_len);
    if (n < 0 || i >= n) return 0;
    *id = ref + PART_REF_FIXED + (size_t)i * PART_PIECE;
    return 1;
}

int partition_packer_init(part_packer *p, ledger *L, uint64_t lsn)
{
    memset(p, 0, sizeof *p);
    p->L = L;
    p->lsn = lsn;
    p->idx = PART_IDX_BASE;
    buf_init(&p->files.ids);
    buf_init(&p->files.hashes);
    p->file = malloc(ledger_file_size(L));
    return p->file ? 0 : -1;
}

void partition_packer_release(part_packer *p)
{
    free(p->file);
    buf_release(&p->files.ids);
    buf_release(&p->files.hashes);
    memset(p, 0, sizeof *p);
}

void partition_packer_abort(part_packer *p)
{
    snap_frag_unlink(ledger_dir(p->L), (const uint8_t(*)[16])p->files.ids.data,
                     (uint32_t)(p->files.ids.len / 16));
    if (p->open) snap_frag_unlink(ledger_dir(p->L), (const uint8_t(*)[16])p->id, 1);
    p->files.ids.len = p->files.hashes.len = 0;
    p->open = 0;
}

/* Writes the current file (if any) and closes it. */
static stele_status pack_flush(part_packer *p, util_err *e)
{
    if (!p->open) return STELE_OK;
    uint8_t hash[32];
    if (buf_reserve(&p->files.ids, 16) != 0 || buf_reserve(&p->files.hashes, 32) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot");
    stele_status rc = snap_pack_write(ledger_dir(p->L), ledger_keys(p->L), ledger_file_size(p->L),
                                      p->lsn, p->idx, p->used, p->file, p->id, hash, e);
    if (rc != STELE_OK) return rc; /* nothing left behind; still open: abort removes it */
    STELE_ASSERT(buf_append(&p->files.ids, p->id, 16) == 0 &&
                 buf_append(&p->files.hashes, hash, 32) == 0); /* reserved above */
    p->open = 0;
    p->idx++;
    return STELE_OK;
}

/* Room for a box of at least one byte in the current file, starting one if needed. */
static stele_status pack_room(part_packer *p, size_t *room, util_err *e)
{
    size_t body = (size_t)ledger_file_size(p->L) - FRAG_HDR_AREA;
    if (p->open && body - p->used <= FRAG_BODY_OVERHEAD) {
        stele_status rc = pack_flush(p, e);
        if (rc != STELE_OK) return rc;
    }
    if (!p->open) {
        if (p->idx == UINT32_MAX)
            return util_fail(e, STELE_ETOOBIG, "a snapshot needs too many fragment files");
        crypto_random(p->id, 16);
        /* Named in the write intent before it exists: a crash leaves no unknown file. */
        stele_status rc = ledger_intent_add(p->L, (const uint8_t(*)[16])p->id, 1, e);
        if (rc != STELE_OK) return rc;
        snap_pack_begin(p->file, ledger_file_size(p->L));
        p->used = 0;
        p->open = 1;
    }
    *room = body - p->used - FRAG_BODY_OVERHEAD;
    STELE_ASSERT(*room > 0);
    return STELE_OK;
}

stele_status partition_put(part_packer *p, const uint8_t *bytes, size_t len, buf *ref,
                           util_err *e)
{
    size_t at = ref->len, done = 0;
    uint8_t h[PART_REF_FIXED];
    put_u64(h, len);
    put_u32(h + 8, 0);
    stele_status rc = buf_append(ref, h, sizeof h) == 0
                          ? STELE_OK
                          : util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot");
    uint32_t pieces = 0;
    while (rc == STELE_OK && done < len) {
        size_t room = 0;
        rc = pack_room(p, &room, e);
        size_t n = rc == STELE_OK ? (len - done < room ? len - done : room) : 0;
        if (rc == STELE_OK && ++pieces > PART_PIECES_MAX)
            rc = util_fail(e, STELE_ETOOBIG, "a snapshot partition of %zu bytes needs more "
                           "than %u pieces", len, PART_PIECES_MAX);
        if (rc == STELE_OK &&
            snap_box_seal(ledger_keys(p->L), p->id, p->lsn, p->idx, p->file,
                          ledger_file_size(p->L), (uint32_t)p->used, bytes + done, n) != 0)
            rc = util_fail(e, STELE_EIO, "cannot seal a snapshot partition");
        uint8_t pc[PART_PIECE];
        memcpy(pc, p->id, 16);
        put_u32(pc + 16, p->idx);
        put_u32(pc + 20, (uint32_t)p->used);
        put_u32(pc + 24, (uint32_t)n);
        if (rc == STELE_OK && buf_append(ref, pc, sizeof pc) != 0)
            rc = util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot");
        if (rc == STELE_OK) {
            p->used += n + FRAG_BODY_OVERHEAD;
            done += n;
        }
    }
    if (rc != STELE_OK) {
        ref->len = at;
        return rc;
    }
    put_u32(ref->data + at + 8, pieces);
    return STELE_OK;
}

stele_status partition_finish(part_packer *p, util_err *e) { return pack_flush(p, e); }

stele_status partition_read(ledger *L, uint64_t lsn, const uint8_t *ref, size_t ref_len,
                            uint8_t **bytes, size_t *len, util_err *e)
{
    *bytes = NULL;
    *len = 0;
    int64_t n = ref_pieces(ref, ref_len);
    uint64_t want = n < 0 ? 0 : get_u64(ref);
    if (n < 0 || want > (uint64_t)n * ledger_file_size(L))
        return util_fail(e, STELE_ECORRUPT, "a snapshot partition reference is malformed");
    buf out;
    buf_init(&out);
    stele_status rc = STELE_OK;
    if (buf_reserve(&out, (size_t)want + FRAG_BODY_OVERHEAD) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory reading a snapshot partition");
    for (int64_t i = 0; rc == STELE_OK && i < n; i++) {
        const uint8_t *pc = ref + PART_REF_FIXED + (size_t)i * PART_PIECE;
        if (get_u32(pc + 24) > want - out.len)
            rc = util_fail(e, STELE_ECORRUPT, "a snapshot partition reference is malformed");
        else
            rc = snap_box_read(ledger_dir(L), ledger_keys(L), ledger_file_size(L), pc,
                               ledger_snapshot_epoch(L), lsn, get_u32(pc + 16),
                               get_u32(pc + 20), get_u32(pc + 24), &out, e);
    }
    if (rc == STELE_OK && out.len != want)
        rc = util_fail(e, STELE_ECORRUPT, "a snapshot partition has %zu bytes, its reference "
                       "says %llu", out.len, (unsigned long long)want);
    if (rc != STELE_OK) {
        buf_release(&out);
        return rc;
    }
    if (!out.data && buf_reserve(&out, 1) != 0) /* an empty partition: still a buffer */
        return util_fail(e, STELE_ENOMEM, "out of memory reading a snapshot partition");
    *bytes = out.data;
    *len = out.len;
    return STELE_OK;
}
