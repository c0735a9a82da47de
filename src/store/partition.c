/*
 * partition.c — see partition.h. Layer: store.
 */
#include "store/partition.h"

#include "crypto/crypto.h"

#include <stdlib.h>

#include "store/snapshot.h"

int partition_ref_files(const uint8_t *ref, size_t ref_len, const uint8_t (**ids)[16], uint32_t *n)
{
    if (ref_len < PART_REF_FIXED) return -1;
    uint32_t nfrag = get_u32(ref + 4);
    if (nfrag == 0 || nfrag > PART_FRAGS_MAX || ref_len != PART_REF_FIXED + (size_t)nfrag * 16)
        return -1;
    *ids = (const uint8_t(*)[16])(ref + PART_REF_FIXED);
    *n = nfrag;
    return 0;
}

stele_status partition_write(ledger *L, uint64_t lsn, const uint8_t *bytes, size_t len,
                        uint32_t *next_idx, uint8_t *file, buf *ref, part_files *out,
                        util_err *e)
{
    STELE_ASSERT(*next_idx >= PART_IDX_BASE);
    size_t cap = snap_capacity(ledger_file_size(L));
    size_t nfrag = len ? (len + cap - 1) / cap : 1;
    if (nfrag > PART_FRAGS_MAX || *next_idx > UINT32_MAX - nfrag)
        return util_fail(e, STELE_ETOOBIG, "a snapshot partition of %zu bytes needs more than "
                         "%u fragment files", len, PART_FRAGS_MAX);
    size_t at = ref->len;
    uint8_t h[PART_REF_FIXED];
    put_u32(h, *next_idx);
    put_u32(h + 4, (uint32_t)nfrag);
    put_u64(h + 8, len);
    if (buf_append(ref, h, sizeof h) != 0 || buf_reserve(ref, nfrag * 16) != 0 ||
        buf_reserve(&out->ids, nfrag * 16) != 0 || buf_reserve(&out->hashes, nfrag * 32) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot partition");
    stele_status rc = STELE_OK;
    size_t done = 0;
    for (; rc == STELE_OK && done < nfrag; done++) {
        size_t off = done * cap, n = len - off < cap ? len - off : cap;
        uint8_t *id = ref->data + ref->len, hash[32];
        crypto_random(id, 16);
        /* Named in the write intent before it exists: a crash leaves no unknown file. */
        rc = ledger_intent_add(L, (const uint8_t(*)[16])id, 1, e);
        if (rc == STELE_OK)
            rc = snap_frag_write(ledger_dir(L), ledger_keys(L), ledger_file_size(L), lsn,
                                 *next_idx + (uint32_t)done, bytes + off, n, file, id, hash, e);
        if (rc == STELE_OK) {
            STELE_ASSERT(buf_append(&out->ids, id, 16) == 0 &&
                         buf_append(&out->hashes, hash, 32) == 0); /* reserved above */
            ref->len += 16;
        }
    }
    if (rc != STELE_OK) {
        snap_frag_unlink(ledger_dir(L), (const uint8_t(*)[16])(ref->data + at + sizeof h),
                         (uint32_t)(ref->len - at - sizeof h) / 16);
        out->ids.len -= ref->len - at - sizeof h;
        out->hashes.len -= (ref->len - at - sizeof h) * 2;
        ref->len = at;
        return rc;
    }
    *next_idx += (uint32_t)nfrag;
    STELE_ASSERT(ref->len == at + PART_REF_FIXED + nfrag * 16);
    return STELE_OK;
}

stele_status partition_read(ledger *L, uint64_t lsn, const uint8_t *ref, size_t ref_len,
                       uint8_t **bytes, size_t *len, util_err *e)
{
    const uint8_t(*ids)[16];
    uint32_t nfrag;
    *bytes = NULL;
    *len = 0;
    if (partition_ref_files(ref, ref_len, &ids, &nfrag) != 0)
        return util_fail(e, STELE_ECORRUPT, "a snapshot partition reference is malformed");
    uint32_t first = get_u32(ref);
    uint64_t want = get_u64(ref + 8);
    size_t cap = snap_capacity(ledger_file_size(L));
    if (first < PART_IDX_BASE || first > UINT32_MAX - nfrag || want > (uint64_t)nfrag * cap)
        return util_fail(e, STELE_ECORRUPT, "a snapshot partition reference is malformed");
    buf out;
    buf_init(&out);
    stele_status rc = STELE_OK;
    if (buf_reserve(&out, (size_t)want + FRAG_BODY_OVERHEAD) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory reading a snapshot partition");
    for (uint32_t i = 0; rc == STELE_OK && i < nfrag; i++)
        rc = snap_frag_read(ledger_dir(L), ledger_keys(L), ledger_file_size(L), ids[i],
                            ledger_snapshot_epoch(L), lsn, first + i, &out, e);
    if (rc == STELE_OK && out.len != want)
        rc = util_fail(e, STELE_ECORRUPT, "a snapshot partition has %zu bytes, its reference "
                       "says %llu", out.len, (unsigned long long)want);
    if (rc != STELE_OK) {
        buf_release(&out);
        return rc;
    }
    *bytes = out.data;
    *len = out.len;
    return STELE_OK;
}

void partition_unlink(ledger *L, const uint8_t *ref, size_t ref_len)
{
    const uint8_t(*ids)[16];
    uint32_t n;
    if (partition_ref_files(ref, ref_len, &ids, &n) == 0) snap_frag_unlink(ledger_dir(L), ids, n);
}
