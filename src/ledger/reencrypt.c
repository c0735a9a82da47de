/*
 * reencrypt.c — rewrite the sealed segments of older key epochs under the newest one
 * (`stele db revoke --reencrypt`). Layer: ledger.
 *
 * Each segment is rebuilt whole in memory (one fixed-size file): random bytes, the
 * header sealed under the new epoch's file key, then every frame opened with the old
 * key and sealed again, at the same offset, under a fresh nonce and a new file id.
 * Record headers are unchanged, so record hashes, the chain and every checkpoint stay
 * valid. The new file is written under a temporary name, fsynced, renamed and the
 * directory synced; then the manifest names it instead of the old file; then the old
 * file is removed. The steps go through a write intent (manifest.c): a crash before the
 * swap leaves the new file listed for removal, after it the old one, and the next
 * writable open finishes either.
 */
#include "ledger/ledger_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/io.h"

/* Re-seals the frames of segment i into img (the new file's bytes). Lock not held:
 * sealed segments never change. */
static stele_status reseal_frames(ledger *L, uint32_t i, const uint8_t new_id[16],
                                  crypto_gcm *g, crypto_rng *rng, uint8_t *img, util_err *e)
{
    const sb_seg *ss = &L->sb.segs[i];
    lseg s = L->segs[i];
    buf env;
    buf_init(&env);
    stele_status rc = STELE_OK;
    for (uint64_t lsn = ss->first_lsn; rc == STELE_OK && lsn <= ss->last_lsn; lsn++) {
        recloc loc = L->loc[lsn - 1];
        STELE_ASSERT(loc.seg == i && loc.off + loc.len <= L->sb.segment_size);
        uint8_t hdr[RECHDR_BYTES];
        rechdr h;
        frame_place old = {L->keys->db_id, s.file_id, s.epoch, i, loc.off};
        frame_place pl = {L->keys->db_id, new_id, L->keys->epoch, i, loc.off};
        const uint8_t *frame = img + loc.off; /* the old frame, read into place */
        if (io_pread(s.fd, img + loc.off, loc.len, (off_t)loc.off) != (ssize_t)loc.len)
            rc = util_fail(e, STELE_EIO, "cannot read record LSN %llu to re-encrypt it",
                           (unsigned long long)lsn);
        else if (frame_open_header(s.rd, &old, frame, hdr) != 0 || rechdr_decode(hdr, &h) ||
                 frame_size(h.env_len) != loc.len || buf_reserve(&env, h.env_len) != 0 ||
                 frame_open_envelope(s.rd, &old, frame, h.env_len, env.data) != 0)
            rc = util_fail(e, STELE_ECORRUPT, "record LSN %llu is not authentic; nothing was "
                           "re-encrypted from it on", (unsigned long long)lsn);
        else if (frame_seal(g, rng, &pl, hdr, env.data, h.env_len, img + loc.off) != 0)
            rc = util_fail(e, STELE_EIO, "cannot seal record LSN %llu", (unsigned long long)lsn);
    }
    if (env.data) crypto_wipe(env.data, env.cap);
    buf_release(&env);
    return rc;
}

/* Writes img as data/<new_id> (temporary name, fsync, rename, directory fsync). */
static stele_status write_image(ledger *L, const uint8_t new_id[16], const uint8_t *img,
                                util_err *e)
{
    char path[4200], tmp[4300], data[4200];
    ledger_seg_path(L, new_id, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(data, sizeof data, "%s/data", L->dir);
    int fd = io_open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int err = fd < 0 ? fd : io_pwrite(fd, img, L->sb.segment_size, 0);
    if (err == 0) err = io_fsync(fd);
    if (fd >= 0) io_close(fd);
    if (err == 0) err = io_rename(tmp, path);
    if (err == 0) err = io_fsync_dir(data);
    if (err != 0) {
        unlink(tmp);
        return util_fail(e, util_errno_status(-err), "cannot write re-encrypted segment '%s': "
                         "%s", path, strerror(-err));
    }
    return STELE_OK;
}

/* Points the superblock and the in-memory segment at the new file, then removes the
 * old one. */
static stele_status swap_in(ledger *L, uint32_t i, const uint8_t new_id[16],
                            const uint8_t hash[32], util_err *e)
{
    char old_path[4200], path[4200];
    ledger_seg_path(L, L->segs[i].file_id, old_path, sizeof old_path);
    ledger_seg_path(L, new_id, path, sizeof path);
    int fd = io_open(path, O_RDWR, 0);
    if (fd < 0) return util_fail(e, STELE_EIO, "cannot open '%s': %s", path, strerror(-fd));
    crypto_gcm *wr = NULL, *rd = NULL;
    stele_status rc = ledger_seg_key(L->keys, L->keys->epoch, new_id, &wr, e);
    if (rc == STELE_OK) rc = ledger_seg_key(L->keys, L->keys->epoch, new_id, &rd, e);
    if (rc != STELE_OK) {
        crypto_gcm_free(wr);
        io_close(fd);
        return rc;
    }
    pthread_mutex_lock(&L->mu);
    pthread_mutex_lock(&L->rd_mu);
    lseg old = L->segs[i];
    sb_seg *ss = &L->sb.segs[i];
    memcpy(ss->file_id, new_id, 16);
    memcpy(ss->file_hash, hash, 32);
    ss->epoch = L->keys->epoch;
    L->segs[i] = (lseg){.seq = i, .fd = fd, .wr = wr, .rd = rd, .epoch = L->keys->epoch};
    memcpy(L->segs[i].file_id, new_id, 16);
    pthread_mutex_unlock(&L->rd_mu);
    /* Write-intent step 3: the manifest names the new file, the old one is listed for
     * removal (a crash from here on: the next writer's recovery removes it). */
    if (sb_set_intent(&L->sb, SB_INTENT_SNAPSHOT, SB_PHASE_REMOVING,
                      (const uint8_t(*)[16])old.file_id, 1) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = ledger_sb_sync(L, 0, e);
    L->sb_marked = 1;
    pthread_mutex_unlock(&L->mu);
    if (rc != STELE_OK) return rc; /* the handle keeps the new file; the old stays too */
    io_close(old.fd);
    crypto_gcm_free(old.wr);
    crypto_gcm_free(old.rd);
    unlink(old_path);
    char data[4200];
    snprintf(data, sizeof data, "%s/data", L->dir);
    (void)io_fsync_dir(data);
    return ledger_intent_clear(L, e); /* step 5 */
}

static stele_status reencrypt_one(ledger *L, uint32_t i, uint8_t *img, util_err *e)
{
    uint8_t new_id[16];
    crypto_random(new_id, sizeof new_id);
    crypto_random_fill(img, L->sb.segment_size);
    seghdr h = {.seq = i, .first_lsn = L->sb.segs[i].first_lsn, .key_epoch = L->keys->epoch};
    memcpy(h.db_id, L->keys->db_id, 16);
    memcpy(h.file_id, new_id, 16);
    crypto_gcm *g = NULL;
    crypto_rng *rng = crypto_secure_alloc(sizeof *rng);
    stele_status rc = rng ? ledger_seg_key(L->keys, L->keys->epoch, new_id, &g, e)
                          : util_fail(e, STELE_ENOMEM, "out of secure memory");
    if (rng) crypto_rng_init(rng);
    if (rc == STELE_OK && seghdr_seal(g, &h, img) != 0)
        rc = util_fail(e, STELE_EIO, "cannot seal a segment header");
    if (rc == STELE_OK) rc = reseal_frames(L, i, new_id, g, rng, img, e);
    crypto_gcm_free(g);
    crypto_secure_free(rng);
    uint8_t hash[32];
    if (rc == STELE_OK) crypto_sha256(img, L->sb.segment_size, hash); /* the manifest's */
    /* Write intents (manifest.c): 1 the new file named, 2 written, 3 the manifest
     * swaps it in and lists the old one, 4 the old one removed, 5 cleared. */
    if (rc == STELE_OK) rc = ledger_intent_begin(L, (const uint8_t(*)[16])new_id, 1, e);
    if (rc == STELE_OK) {
        rc = write_image(L, new_id, img, e);
        if (rc == STELE_OK) rc = swap_in(L, i, new_id, hash, e);
        else (void)ledger_intent_clear(L, e); /* nothing was written: roll back */
    }
    return rc;
}

stele_status ledger_reencrypt(ledger *L, uint32_t *rewritten, util_err *e)
{
    *rewritten = 0;
    if (L->cfg.read_only) return ledger_refuse_write(L, e);
    pthread_mutex_lock(&L->mu);
    uint32_t sealed = L->nseg - 1; /* the last segment takes appends: rolled to the newest
                                    * epoch by the rotation record */
    int last_new = L->segs[L->nseg - 1].epoch == L->keys->epoch;
    pthread_mutex_unlock(&L->mu);
    if (!last_new)
        return util_fail(e, STELE_EINVAL, "the newest segment is not of the newest key epoch "
                         "yet: append a record first");
    uint8_t *img = malloc(L->sb.segment_size);
    if (!img) return util_fail(e, STELE_ENOMEM, "out of memory (%u bytes)", L->sb.segment_size);
    stele_status rc = STELE_OK;
    for (uint32_t i = 0; i < sealed && rc == STELE_OK; i++) {
        if (L->segs[i].epoch == L->keys->epoch) continue;
        rc = reencrypt_one(L, i, img, e);
        if (rc == STELE_OK) (*rewritten)++;
    }
    crypto_wipe(img, L->sb.segment_size);
    free(img);
    return rc;
}
