/*
 * superblock.c — see superblock.h. Layer: ledger.
 * Invariants: nothing decoded is used before both boxes authenticate, the Merkle root
 * recomputes and the signature verifies; every count is checked against the bytes.
 */
#include "ledger/superblock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "ledger/format.h"
#include "ledger/merkle.h"
#include "util/io.h"

#define SB_VERSION 4     /* 4 added the settings record; 3 (without it) is still read */
#define SB_VERSION_OLD 3
#define MF_VERSION 1
#define SIG_CONTEXT "stele-manifest-v1"
#define PATH_CAP 4300

/* ------------------------------------------------------------ encoding */

static size_t sb_plain_len(const superblock *sb)
{
    return SB_FIXED_BYTES + (size_t)sb->nseg * SB_SEG_BYTES + SB_SNAP_FIXED +
           (size_t)sb->nfrag * SB_FRAG_BYTES + SB_INTENT_FIXED + (size_t)sb->nintent * 16 +
           SB_SETTINGS_BYTES + SB_TRAILER;
}

static void seg_encode(const sb_seg *s, uint8_t q[SB_SEG_BYTES])
{
    memset(q, 0, SB_SEG_BYTES);
    memcpy(q, s->file_id, 16);
    put_u64(q + 16, s->first_lsn);
    put_u64(q + 24, s->last_lsn);
    memcpy(q + 32, s->last_hash, 32);
    put_u32(q + 64, s->epoch);
    memcpy(q + 72, s->file_hash, 32);
}

static void seg_decode(const uint8_t q[SB_SEG_BYTES], sb_seg *s)
{
    memcpy(s->file_id, q, 16);
    s->first_lsn = get_u64(q + 16);
    s->last_lsn = get_u64(q + 24);
    memcpy(s->last_hash, q + 32, 32);
    s->epoch = get_u32(q + 64);
    memcpy(s->file_hash, q + 72, 32);
}

static uint8_t *encode_head(const superblock *sb, uint8_t *p)
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
    put_u32(p + 136, sb->key_epoch);
    put_u32(p + 140, sb->flags);
    return p + SB_FIXED_BYTES; /* 144..147 reserved, zero */
}

/* Encodes everything before the root; returns the end. */
static uint8_t *sb_encode_body(const superblock *sb, uint8_t *p)
{
    uint8_t *q = encode_head(sb, p);
    for (uint32_t i = 0; i < sb->nseg; i++, q += SB_SEG_BYTES) seg_encode(&sb->segs[i], q);
    put_u64(q, sb->snap_lsn);
    memcpy(q + 8, sb->snap_hash, 32);
    put_u64(q + 40, sb->snap_bytes);
    put_u32(q + 48, sb->snap_epoch);
    put_u32(q + 52, sb->nfrag);
    q += SB_SNAP_FIXED;
    for (uint32_t i = 0; i < sb->nfrag; i++, q += SB_FRAG_BYTES) {
        memcpy(q, sb->frags[i], 16);
        memcpy(q + 16, sb->frag_hash[i], 32);
    }
    q[0] = sb->intent_op;
    q[1] = sb->intent_phase;
    put_u16(q + 2, 0);
    put_u32(q + 4, sb->nintent);
    q += SB_INTENT_FIXED;
    for (uint32_t i = 0; i < sb->nintent; i++, q += 16) memcpy(q, sb->intent[i], 16);
    memcpy(q, sb->set_pk, 32);
    put_u64(q + 32, sb->set_version);
    put_u64(q + 40, sb->set_counter);
    return q + SB_SETTINGS_BYTES;
}

/* The Merkle root over the files the manifest names (superblock.h). */
static int sb_root(const superblock *sb, uint8_t out[32])
{
    uint64_t n = (uint64_t)sb->nseg + sb->nfrag;
    merkle_hash *leaf = malloc((size_t)(n ? n : 1) * sizeof *leaf);
    if (!leaf) return -1;
    uint8_t e[1 + SB_SEG_BYTES];
    for (uint32_t i = 0; i < sb->nseg; i++) {
        e[0] = FILE_KIND_SEGMENT;
        seg_encode(&sb->segs[i], e + 1);
        crypto_sha256(e, 1 + SB_SEG_BYTES, leaf[i]);
    }
    for (uint32_t i = 0; i < sb->nfrag; i++) {
        e[0] = FILE_KIND_FRAGMENT;
        memcpy(e + 1, sb->frags[i], 16);
        memcpy(e + 17, sb->frag_hash[i], 32);
        crypto_sha256(e, 1 + SB_FRAG_BYTES, leaf[sb->nseg + i]);
    }
    int rc = merkle_root((const merkle_hash *)leaf, 0, n, out);
    free(leaf);
    return rc;
}

static void sig_message(const uint8_t *p, size_t signed_len, uint8_t msg[17 + 32])
{
    memcpy(msg, SIG_CONTEXT, 17);
    crypto_sha256(p, signed_len, msg + 17);
}

/* ------------------------------------------------------------ decoding */

/* The fixed head; returns the format version (3 or 4) or -1. */
static int decode_head(const uint8_t *p, size_t len, superblock *sb)
{
    if (len < SB_FIXED_BYTES + SB_SNAP_FIXED + SB_INTENT_FIXED + SB_TRAILER ||
        memcmp(p, "STELESB1", 8) != 0 ||
        (get_u32(p + 8) != SB_VERSION && get_u32(p + 8) != SB_VERSION_OLD))
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
    sb->key_epoch = get_u32(p + 136);
    sb->flags = get_u32(p + 140);
    if (sb->flags & ~SB_FLAGS_KNOWN) return -1;
    return sb->nseg == 0 || sb->nseg > SB_MAX_SEGMENTS ? -1 : (int)get_u32(p + 8);
}

/* Decodes the snapshot part and the intent at q (end = end of the intent list). */
static int decode_tail(const uint8_t *q, const uint8_t *end, superblock *sb)
{
    if ((size_t)(end - q) < SB_SNAP_FIXED) return -1;
    sb->snap_lsn = get_u64(q);
    memcpy(sb->snap_hash, q + 8, 32);
    sb->snap_bytes = get_u64(q + 40);
    sb->snap_epoch = get_u32(q + 48);
    sb->nfrag = get_u32(q + 52);
    q += SB_SNAP_FIXED;
    if (sb->nfrag > SB_MAX_FRAGS || (sb->nfrag == 0) != (sb->snap_lsn == 0) ||
        (size_t)(end - q) < (size_t)sb->nfrag * SB_FRAG_BYTES + SB_INTENT_FIXED)
        return -1;
    sb->frags = malloc((size_t)(sb->nfrag ? sb->nfrag : 1) * 16);
    sb->frag_hash = malloc((size_t)(sb->nfrag ? sb->nfrag : 1) * 32);
    if (!sb->frags || !sb->frag_hash) return -1;
    for (uint32_t i = 0; i < sb->nfrag; i++, q += SB_FRAG_BYTES) {
        memcpy(sb->frags[i], q, 16);
        memcpy(sb->frag_hash[i], q + 16, 32);
    }
    sb->intent_op = q[0];
    sb->intent_phase = q[1];
    sb->nintent = get_u32(q + 4);
    q += SB_INTENT_FIXED;
    if (sb->intent_op > SB_INTENT_ROLL || sb->nintent > SB_MAX_INTENT ||
        (sb->intent_op == SB_INTENT_NONE) != (sb->intent_phase == 0) ||
        sb->intent_phase > SB_PHASE_REMOVING || (size_t)(end - q) != (size_t)sb->nintent * 16)
        return -1;
    sb->intent = malloc((size_t)(sb->nintent ? sb->nintent : 1) * 16);
    if (!sb->intent) return -1;
    memcpy(sb->intent, q, (size_t)sb->nintent * 16);
    return 0;
}

int sb_decode(const uint8_t *p, size_t len, superblock *sb)
{
    memset(sb, 0, sizeof *sb);
    int version = decode_head(p, len, sb);
    if (version < 0) return -1;
    size_t seg_end = SB_FIXED_BYTES + (size_t)sb->nseg * SB_SEG_BYTES;
    size_t set_bytes = version == SB_VERSION ? SB_SETTINGS_BYTES : 0;
    const uint8_t *end = p + len - SB_TRAILER, *tail_end = end - set_bytes;
    if (seg_end + set_bytes > len - SB_TRAILER) return -1;
    sb->segs = calloc(sb->nseg, sizeof *sb->segs);
    int bad = !sb->segs || decode_tail(p + seg_end, tail_end, sb) != 0;
    if (!bad && set_bytes) {
        memcpy(sb->set_pk, tail_end, 32);
        sb->set_version = get_u64(tail_end + 32);
        sb->set_counter = get_u64(tail_end + 40);
    }
    for (uint32_t i = 0; !bad && i < sb->nseg; i++)
        seg_decode(p + SB_FIXED_BYTES + (size_t)i * SB_SEG_BYTES, &sb->segs[i]);
    uint8_t root[32];
    bad = bad || sb_root(sb, root) != 0 || memcmp(root, end, 32) != 0;
    if (bad) {
        sb_release(sb);
        return -1;
    }
    memcpy(sb->root, root, 32);
    return 0;
}

/* ------------------------------------------------------------ the files */

int sb_copy_id(const vault_dbkeys *k, int i, uint8_t id[16])
{
    return sb_copy_id_at(k, k->epoch, i, id);
}

int sb_copy_id_at(const vault_dbkeys *k, uint32_t epoch, int i, uint8_t id[16])
{
    STELE_ASSERT(i == 0 || i == 1);
    uint8_t which = (uint8_t)i, out[CRYPTO_KEY_BYTES];
    int rc = vault_derive_epoch(k, epoch, "manifest name", &which, 1, out);
    memcpy(id, out, 16);
    crypto_wipe(out, sizeof out);
    return rc;
}

static void copy_path(const char *db_dir, const uint8_t id[16], const char *sfx, char *out)
{
    char hex[33];
    crypto_hex(id, 16, hex);
    snprintf(out, PATH_CAP, "%s/data/%s%s", db_dir, hex, sfx);
}

/* Seals header and body of one copy into out (SB_HDR_AREA + plen + overhead). */
static int seal_copy(const vault_dbkeys *k, const uint8_t key[32], const superblock *sb,
                     const uint8_t id[16], int i, const uint8_t *pt, size_t plen, uint8_t *out)
{
    uint8_t hdr[SB_HDR_PLAIN] = {0}, aad[SEALED_AAD_BYTES + 8];
    memcpy(hdr, "STELEMF1", 8);
    put_u32(hdr + 8, MF_VERSION);
    put_u32(hdr + 12, (uint32_t)i);
    put_u64(hdr + 16, sb->seq);
    put_u32(hdr + 24, (uint32_t)plen);
    put_u32(hdr + 28, sb->key_epoch);
    memcpy(hdr + 32, sb->db_id, 16);
    memcpy(hdr + 48, id, 16);
    crypto_random(out, SB_HDR_AREA);
    size_t n = sealed_aad(aad, "MNFH", k->db_id, id, sb->key_epoch, FILE_KIND_MANIFEST);
    if (crypto_wrap(key, aad, n, hdr, sizeof hdr, out) != 0) return -1;
    (void)sealed_aad(aad, "MNFB", k->db_id, id, sb->key_epoch, FILE_KIND_MANIFEST);
    put_u64(aad + n, sb->seq);
    return crypto_wrap(key, aad, n + 8, pt, plen, out + SB_HDR_AREA);
}

/* Creates a copy as a whole file: random bytes, the boxes, sync, rename, dir sync. */
static int create_copy(const char *db_dir, const uint8_t id[16], uint32_t size,
                       const uint8_t *box, size_t n)
{
    char tmp[PATH_CAP], path[PATH_CAP], data[PATH_CAP];
    copy_path(db_dir, id, ".tmp", tmp);
    copy_path(db_dir, id, "", path);
    snprintf(data, sizeof data, "%s/data", db_dir);
    uint8_t *f = malloc(size);
    if (!f) return -ENOMEM;
    crypto_random_fill(f, size);
    memcpy(f, box, n);
    int fd = io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = fd < 0 ? fd : io_pwrite(fd, f, size, 0);
    if (err == 0) err = io_fsync(fd);
    if (fd >= 0) io_close(fd);
    if (err == 0) err = io_rename(tmp, path);
    if (err == 0) err = io_fsync_dir(data);
    if (err != 0) unlink(tmp);
    free(f);
    return err;
}

/* Overwrites copy `id` in place (or creates it); 0 or -errno. */
static int write_copy(const char *db_dir, const uint8_t id[16], uint32_t size, const uint8_t *box,
                      size_t n)
{
    char path[PATH_CAP];
    copy_path(db_dir, id, "", path);
    int fd = io_open(path, O_RDWR, 0);
    if (fd == -ENOENT) return create_copy(db_dir, id, size, box, n);
    if (fd < 0) return fd;
    struct stat st;
    int err = fstat(fd, &st) != 0 ? -errno : 0;
    if (err == 0 && st.st_size != (off_t)size) { /* damaged: make it whole again */
        io_close(fd);
        return create_copy(db_dir, id, size, box, n);
    }
    if (err == 0) err = io_pwrite(fd, box, n, 0);
    if (err == 0) err = io_fdatasync(fd);
    io_close(fd);
    return err;
}

static stele_status sign_encode(const vault_dbkeys *k, superblock *sb, uint8_t *pt, size_t plen,
                                util_err *e)
{
    uint8_t *q = sb_encode_body(sb, pt), msg[17 + 32];
    if (sb_root(sb, sb->root) != 0) return util_fail(e, STELE_ENOMEM, "out of memory");
    memcpy(q, sb->root, 32);
    STELE_ASSERT((size_t)(q + 32 - pt) == plen - 64);
    sig_message(pt, plen - 64, msg);
    if (crypto_sig_sign(k->sign_sk, msg, sizeof msg, q + 32) != 0)
        return util_fail(e, STELE_EIO, "cannot sign the manifest");
    return STELE_OK;
}

int sb_old_copies_exist(const char *db_dir, const vault_dbkeys *k)
{
    int found = 0;
    for (uint32_t ep = 1; ep < k->epoch && !found; ep++)
        for (int i = 0; i < 2 && !found; i++) {
            uint8_t id[16];
            char path[PATH_CAP];
            if (sb_copy_id_at(k, ep, i, id) != 0) continue;
            copy_path(db_dir, id, "", path);
            found = io_exists(path);
        }
    return found;
}

void sb_remove_old_copies(const char *db_dir, const vault_dbkeys *k)
{
    for (uint32_t ep = 1; ep < k->epoch; ep++)
        for (int i = 0; i < 2; i++) {
            uint8_t id[16];
            char path[PATH_CAP];
            if (sb_copy_id_at(k, ep, i, id) != 0) continue;
            copy_path(db_dir, id, "", path);
            (void)io_unlink(path);
        }
    char data[PATH_CAP];
    snprintf(data, sizeof data, "%s/data", db_dir);
    (void)io_fsync_dir(data);
}

stele_status sb_write(const char *db_dir, const vault_dbkeys *k, const uint8_t key[32],
                      superblock *sb, util_err *e)
{
    STELE_ASSERT(sb->nseg > 0 && sb->nseg <= SB_MAX_SEGMENTS && sb->nfrag <= SB_MAX_FRAGS);
    size_t plen = sb_plain_len(sb), n = SB_HDR_AREA + plen + CRYPTO_WRAP_OVERHEAD;
    if (n > sb->segment_size)
        return util_fail(e, STELE_ETOOBIG,
                         "the manifest of '%s' (%zu bytes) no longer fits one %u-byte file: "
                         "copy the data into a database with a larger file size (docs/LIMITS.md)",
                         db_dir, n, sb->segment_size);
    sb->seq++;
    uint32_t was = sb->key_epoch;
    sb->key_epoch = k->epoch;
    uint8_t *pt = malloc(plen), *box = malloc(n);
    stele_status rc = pt && box ? STELE_OK : util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = sign_encode(k, sb, pt, plen, e);
    /* Copy 0 first, then 1: a crash between leaves one new and one old copy. */
    for (int i = 0; i < 2 && rc == STELE_OK; i++) {
        uint8_t id[16];
        if (sb_copy_id(k, i, id) != 0 || seal_copy(k, key, sb, id, i, pt, plen, box) != 0) {
            rc = util_fail(e, STELE_EIO, "cannot seal the manifest");
            break;
        }
        int err = write_copy(db_dir, id, sb->segment_size, box, n);
        if (err != 0)
            rc = util_fail(e, util_errno_status(-err), "cannot write manifest copy %d of '%s': %s%s",
                           i, db_dir, strerror(-err),
                           err == -ENOSPC ? " (free some disk space and retry)" : "");
    }
    free(pt);
    free(box);
    if (rc == STELE_OK && was && was != k->epoch) sb_remove_old_copies(db_dir, k);
    return rc;
}

/* Opens the header box of a copy file read as `id`; body_len and seq, or -1. */
static int open_header(const vault_dbkeys *k, uint32_t epoch, const uint8_t key[32],
                       const uint8_t id[16], const uint8_t area[SB_HDR_AREA], uint64_t *seq,
                       uint32_t *blen)
{
    uint8_t hdr[SB_HDR_PLAIN], aad[SEALED_AAD_BYTES];
    (void)sealed_aad(aad, "MNFH", k->db_id, id, epoch, FILE_KIND_MANIFEST);
    if (crypto_unwrap(key, aad, sizeof aad, area, SB_HDR_PLAIN + CRYPTO_WRAP_OVERHEAD, hdr) != 0 ||
        memcmp(hdr, "STELEMF1", 8) != 0 || get_u32(hdr + 8) != MF_VERSION ||
        get_u32(hdr + 28) != epoch || memcmp(hdr + 32, k->db_id, 16) != 0 ||
        memcmp(hdr + 48, id, 16) != 0)
        return -1;
    *seq = get_u64(hdr + 16);
    *blen = get_u32(hdr + 24);
    return 0;
}

/* Reads copy i into sb; *why says what is wrong on failure. */
static int read_copy(const char *db_dir, const vault_dbkeys *k, uint32_t epoch,
                     const uint8_t key[32], int i, superblock *sb, const char **why)
{
    memset(sb, 0, sizeof *sb);
    uint8_t id[16], other[16], area[SB_HDR_AREA];
    char path[PATH_CAP];
    if (sb_copy_id_at(k, epoch, i, id) != 0 || sb_copy_id_at(k, epoch, 1 - i, other) != 0) {
        *why = "not derivable (key error)";
        return -1;
    }
    copy_path(db_dir, id, "", path);
    int fd = io_open(path, O_RDONLY, 0);
    if (fd < 0) {
        *why = fd == -ENOENT ? "missing" : "unreadable";
        return -1;
    }
    struct stat st;
    uint64_t seq = 0, s2;
    uint32_t blen = 0;
    int ok = fstat(fd, &st) == 0 && io_pread(fd, area, sizeof area, 0) == (ssize_t)sizeof area;
    *why = "not authentic";
    if (ok && open_header(k, epoch, key, id, area, &seq, &blen) != 0) {
        ok = 0;
        if (open_header(k, epoch, key, other, area, &s2, &blen) == 0)
            *why = "a copy of the other manifest file (files were swapped or moved)";
    }
    ok = ok && blen <= (uint64_t)st.st_size - SB_HDR_AREA - CRYPTO_WRAP_OVERHEAD;
    size_t n = ok ? blen + CRYPTO_WRAP_OVERHEAD : 0;
    uint8_t *ct = ok ? malloc(n) : NULL, *pt = ok ? malloc(blen ? blen : 1) : NULL;
    ok = ok && ct && pt && io_pread(fd, ct, n, SB_HDR_AREA) == (ssize_t)n;
    io_close(fd);
    uint8_t aad[SEALED_AAD_BYTES + 8];
    size_t an = sealed_aad(aad, "MNFB", k->db_id, id, epoch, FILE_KIND_MANIFEST);
    put_u64(aad + an, seq);
    ok = ok && crypto_unwrap(key, aad, an + 8, ct, n, pt) == 0 && sb_decode(pt, blen, sb) == 0;
    ok = ok && sb->seq == seq && memcmp(sb->db_id, k->db_id, 16) == 0;
    if (ok && st.st_size != (off_t)sb->segment_size) {
        ok = 0;
        *why = "of the wrong size (truncated or replaced)";
    }
    uint8_t msg[17 + 32];
    if (ok) sig_message(pt, blen - 64, msg);
    if (ok && crypto_sig_verify(k->sign_pk, msg, sizeof msg, pt + blen - 64) != 0) {
        ok = 0;
        *why = "not signed by the database's key";
    }
    free(ct);
    free(pt);
    if (!ok) sb_release(sb);
    return ok ? 0 : -1;
}

stele_status sb_read(const char *db_dir, const vault_dbkeys *k, const uint8_t key[32],
                     superblock *sb, char *damage, size_t cap, util_err *e)
{
    return sb_read_at(db_dir, k, k->epoch, key, sb, damage, cap, e);
}

stele_status sb_read_at(const char *db_dir, const vault_dbkeys *k, uint32_t epoch,
                        const uint8_t key[32], superblock *sb, char *damage, size_t cap,
                        util_err *e)
{
    superblock c[2];
    const char *why[2] = {"", ""};
    int ok[2];
    char hex[2][33];
    for (int i = 0; i < 2; i++) {
        uint8_t id[16];
        ok[i] = read_copy(db_dir, k, epoch, key, i, &c[i], &why[i]) == 0;
        if (sb_copy_id_at(k, epoch, i, id) != 0) memset(id, 0, 16);
        crypto_hex(id, 16, hex[i]);
    }
    damage[0] = 0;
    if (!ok[0] && !ok[1])
        return util_fail(e, STELE_ECORRUPT,
                         "the manifest of '%s' is unusable in both copies (data/%s: %s; data/%s: "
                         "%s); the database cannot be opened: restore it from a backup",
                         db_dir, hex[0], why[0], hex[1], why[1]);
    int pick = (!ok[0] || (ok[1] && c[1].seq > c[0].seq)) ? 1 : 0;
    for (int i = 0; i < 2; i++)
        if (!ok[i])
            snprintf(damage, cap,
                     "manifest copy %d (data/%s) is %s; the other copy is used and the next "
                     "write repairs it", i, hex[i], why[i]);
    if (ok[0] && ok[1] && c[0].seq != c[1].seq)
        snprintf(damage, cap,
                 "manifest copy %d (data/%s) is older than the other (version %llu < %llu): "
                 "rolled back, or a crash interrupted its update; the newer copy is used and "
                 "the next writable open repairs it", 1 - pick, hex[1 - pick],
                 (unsigned long long)c[1 - pick].seq, (unsigned long long)c[pick].seq);
    *sb = c[pick];
    if (ok[1 - pick]) sb_release(&c[1 - pick]);
    return STELE_OK;
}

size_t sb_file_bytes(const superblock *sb)
{
    return SB_HDR_AREA + sb_plain_len(sb) + CRYPTO_WRAP_OVERHEAD;
}

void sb_release(superblock *sb)
{
    free(sb->segs);
    sb->segs = NULL;
    sb->nseg = 0;
    free(sb->frags);
    sb->frags = NULL;
    free(sb->frag_hash);
    sb->frag_hash = NULL;
    sb->nfrag = 0;
    free(sb->intent);
    sb->intent = NULL;
    sb->nintent = 0;
}

int sb_add_segment(superblock *sb, const uint8_t file_id[16], uint64_t first_lsn,
                   uint32_t epoch)
{
    if (sb->nseg >= SB_MAX_SEGMENTS) return -1;
    sb_seg *s = realloc(sb->segs, (sb->nseg + 1) * sizeof *s);
    if (!s) return -1;
    sb->segs = s;
    memset(&s[sb->nseg], 0, sizeof *s);
    memcpy(s[sb->nseg].file_id, file_id, 16);
    s[sb->nseg].first_lsn = first_lsn;
    s[sb->nseg].epoch = epoch;
    sb->nseg++;
    return 0;
}

int sb_set_intent(superblock *sb, int op, int phase, const uint8_t (*ids)[16], uint32_t n)
{
    STELE_ASSERT(op >= SB_INTENT_NONE && op <= SB_INTENT_ROLL && n <= SB_MAX_INTENT);
    STELE_ASSERT((op == SB_INTENT_NONE) == (phase == 0) && (op != SB_INTENT_NONE || n == 0));
    uint8_t (*copy)[16] = malloc((size_t)(n ? n : 1) * 16);
    if (!copy) return -1;
    if (n) memcpy(copy, ids, (size_t)n * 16);
    free(sb->intent);
    sb->intent = copy;
    sb->nintent = n;
    sb->intent_op = (uint8_t)op;
    sb->intent_phase = (uint8_t)phase;
    return 0;
}
