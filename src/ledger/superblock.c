/*
 * superblock.c — see superblock.h. Layer: ledger.
 */
#include "ledger/superblock.h"

#include <stdio.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "util/io.h"

#define SB_VERSION 2
static const char *const SB_NAMES[2] = {"superblock.a", "superblock.b"};

static void sb_aad(const uint8_t db_id[16], uint8_t aad[28])
{
    memcpy(aad, "stele/sb/v1\0", 12);
    memcpy(aad + 12, db_id, 16);
}

static size_t sb_encode(const superblock *sb, uint8_t *p)
{
    memset(p, 0, SB_FIXED_BYTES);
    memcpy(p, "STELESB1", 8);
    put_u32(p + 8, SB_VERSION);
    put_u64(p + 12, sb->seq);
    memcpy(p + 20, sb->db_id, 16);
    put_u32(p + 36, sb->generation);
    p[40] = sb->clean;
    put_u32(p + 44, sb->segment_size);
    put_u32(p + 48, sb->checkpoint_every);
    put_u64(p + 52, sb->head_lsn);
    memcpy(p + 60, sb->head_hash, 32);
    put_u64(p + 92, sb->last_checkpoint_lsn);
    memcpy(p + 100, sb->sign_pk, 32);
    put_u32(p + 132, sb->nseg);
    put_u32(p + 136, sb->flags);
    /* 140..147 reserved, zero */
    uint8_t *q = p + SB_FIXED_BYTES;
    for (uint32_t i = 0; i < sb->nseg; i++, q += SB_SEG_BYTES) {
        memcpy(q, sb->segs[i].file_id, 16);
        put_u64(q + 16, sb->segs[i].first_lsn);
        put_u64(q + 24, sb->segs[i].last_lsn);
        memcpy(q + 32, sb->segs[i].last_hash, 32);
    }
    put_u64(q, sb->snap_lsn);
    memcpy(q + 8, sb->snap_hash, 32);
    put_u64(q + 40, sb->snap_bytes);
    put_u32(q + 48, sb->nfrag);
    q += SB_SNAP_FIXED;
    for (uint32_t i = 0; i < sb->nfrag; i++, q += 16) memcpy(q, sb->frags[i], 16);
    return (size_t)(q - p);
}

static size_t sb_plain_len(const superblock *sb)
{
    return SB_FIXED_BYTES + (size_t)sb->nseg * SB_SEG_BYTES + SB_SNAP_FIXED +
           (size_t)sb->nfrag * 16;
}

/* The version-2 snapshot trailer at q[0, n); -1 if malformed. */
static int sb_decode_snap(const uint8_t *q, size_t n, superblock *sb)
{
    if (n < SB_SNAP_FIXED) return -1;
    sb->snap_lsn = get_u64(q);
    memcpy(sb->snap_hash, q + 8, 32);
    sb->snap_bytes = get_u64(q + 40);
    sb->nfrag = get_u32(q + 48);
    if (sb->nfrag > SB_MAX_FRAGS || n != SB_SNAP_FIXED + (size_t)sb->nfrag * 16 ||
        (sb->nfrag == 0) != (sb->snap_lsn == 0))
        return -1;
    if (sb->nfrag == 0) return 0;
    sb->frags = malloc((size_t)sb->nfrag * 16);
    if (!sb->frags) return -1;
    memcpy(sb->frags, q + SB_SNAP_FIXED, (size_t)sb->nfrag * 16);
    return 0;
}

int sb_decode(const uint8_t *p, size_t len, superblock *sb)
{
    memset(sb, 0, sizeof *sb);
    uint32_t version = len >= SB_FIXED_BYTES ? get_u32(p + 8) : 0;
    if (len < SB_FIXED_BYTES || memcmp(p, "STELESB1", 8) != 0 || version < 1 ||
        version > SB_VERSION)
        return -1;
    sb->seq = get_u64(p + 12);
    memcpy(sb->db_id, p + 20, 16);
    sb->generation = get_u32(p + 36);
    sb->clean = p[40];
    sb->segment_size = get_u32(p + 44);
    sb->checkpoint_every = get_u32(p + 48);
    sb->head_lsn = get_u64(p + 52);
    memcpy(sb->head_hash, p + 60, 32);
    sb->last_checkpoint_lsn = get_u64(p + 92);
    memcpy(sb->sign_pk, p + 100, 32);
    sb->nseg = get_u32(p + 132);
    sb->flags = get_u32(p + 136);
    if (sb->flags & ~SB_FLAGS_KNOWN) return -1;
    size_t seg_end = SB_FIXED_BYTES + (size_t)sb->nseg * SB_SEG_BYTES;
    if (sb->nseg == 0 || sb->nseg > SB_MAX_SEGMENTS || len < seg_end ||
        (version == 1 && len != seg_end))
        return -1;
    if (version >= 2 && sb_decode_snap(p + seg_end, len - seg_end, sb) != 0) {
        sb_release(sb);
        return -1;
    }
    sb->segs = calloc(sb->nseg, sizeof *sb->segs);
    if (!sb->segs) return -1;
    const uint8_t *q = p + SB_FIXED_BYTES;
    for (uint32_t i = 0; i < sb->nseg; i++, q += SB_SEG_BYTES) {
        memcpy(sb->segs[i].file_id, q, 16);
        sb->segs[i].first_lsn = get_u64(q + 16);
        sb->segs[i].last_lsn = get_u64(q + 24);
        memcpy(sb->segs[i].last_hash, q + 32, 32);
    }
    return 0;
}

stele_status sb_write(const char *db_dir, const uint8_t key[32], superblock *sb, util_err *e)
{
    STELE_ASSERT(sb->nseg > 0 && sb->nseg <= SB_MAX_SEGMENTS && sb->nfrag <= SB_MAX_FRAGS);
    sb->seq++;
    size_t plen = sb_plain_len(sb);
    uint8_t *pt = malloc(plen);
    uint8_t *ct = malloc(plen + CRYPTO_WRAP_OVERHEAD);
    stele_status rc = STELE_OK;
    if (!pt || !ct) rc = util_fail(e, STELE_ENOMEM, "out of memory writing the superblock");
    uint8_t aad[28];
    sb_aad(sb->db_id, aad);
    if (rc == STELE_OK) {
        STELE_ASSERT(sb_encode(sb, pt) == plen);
        if (crypto_wrap(key, aad, sizeof aad, pt, plen, ct) != 0)
            rc = util_fail(e, STELE_EIO, "cannot seal the superblock");
    }
    /* Copy a first, then b: a crash between leaves one new and one old copy. */
    for (int i = 0; i < 2 && rc == STELE_OK; i++)
        rc = io_write_atomic(db_dir, SB_NAMES[i], ct, plen + CRYPTO_WRAP_OVERHEAD, e);
    free(pt);
    free(ct);
    return rc;
}

static int sb_read_copy(const char *db_dir, int i, const uint8_t key[32], const uint8_t db_id[16],
                        superblock *sb, const char **why)
{
    memset(sb, 0, sizeof *sb); /* sb_release on any failure path must see no pointer */
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", db_dir, SB_NAMES[i]);
    uint8_t *ct = NULL;
    size_t len = 0;
    util_err e;
    stele_status rc = io_read_file(path, CRYPTO_WRAP_OVERHEAD + SB_FIXED_BYTES +
                                             (size_t)SB_MAX_SEGMENTS * SB_SEG_BYTES +
                                             SB_SNAP_FIXED + (size_t)SB_MAX_FRAGS * 16,
                                   &ct, &len, &e);
    if (rc == STELE_ENOTFOUND) {
        *why = "missing";
        return -1;
    }
    if (rc != STELE_OK || len <= CRYPTO_WRAP_OVERHEAD) {
        free(ct);
        *why = rc != STELE_OK ? "unreadable" : "not authentic";
        return -1;
    }
    uint8_t *pt = malloc(len - CRYPTO_WRAP_OVERHEAD);
    uint8_t aad[28];
    sb_aad(db_id, aad);
    int bad = !pt || crypto_unwrap(key, aad, sizeof aad, ct, len, pt) != 0 ||
              sb_decode(pt, len - CRYPTO_WRAP_OVERHEAD, sb) != 0 ||
              memcmp(sb->db_id, db_id, 16) != 0;
    free(ct);
    free(pt);
    if (bad) {
        sb_release(sb);
        *why = "not authentic";
        return -1;
    }
    return 0;
}

stele_status sb_read(const char *db_dir, const uint8_t key[32], const uint8_t db_id[16],
                     superblock *sb, char *damage, size_t cap, util_err *e)
{
    superblock c[2];
    const char *why[2] = {"", ""};
    int ok[2];
    for (int i = 0; i < 2; i++) ok[i] = sb_read_copy(db_dir, i, key, db_id, &c[i], &why[i]) == 0;
    damage[0] = 0;
    if (!ok[0] && !ok[1])
        return util_fail(e, STELE_ECORRUPT,
                         "superblock of '%s' is %s in both copies (a: %s, b: %s); the database "
                         "cannot be opened: restore it from a backup",
                         db_dir, why[0], why[0], why[1]);
    int pick = (!ok[0] || (ok[1] && c[1].seq > c[0].seq)) ? 1 : 0;
    for (int i = 0; i < 2; i++)
        if (!ok[i])
            snprintf(damage, cap, "superblock copy '%s' is %s (the other copy is used)",
                     SB_NAMES[i], why[i]);
    *sb = c[pick];
    if (ok[1 - pick]) sb_release(&c[1 - pick]);
    return STELE_OK;
}

void sb_release(superblock *sb)
{
    free(sb->segs);
    sb->segs = NULL;
    sb->nseg = 0;
    free(sb->frags);
    sb->frags = NULL;
    sb->nfrag = 0;
}

int sb_add_segment(superblock *sb, const uint8_t file_id[16], uint64_t first_lsn)
{
    if (sb->nseg >= SB_MAX_SEGMENTS) return -1;
    sb_seg *s = realloc(sb->segs, (sb->nseg + 1) * sizeof *s);
    if (!s) return -1;
    sb->segs = s;
    memset(&s[sb->nseg], 0, sizeof *s);
    memcpy(s[sb->nseg].file_id, file_id, 16);
    s[sb->nseg].first_lsn = first_lsn;
    sb->nseg++;
    return 0;
}
