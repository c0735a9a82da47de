/*
 * reencrypt.c — rewrite the sealed segments of older key epochs under the newest one,
 * on a background thread (`stele db revoke --reencrypt`). Layer: ledger.
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
 *
 * Threading (docs/DECISIONS.md 37): one thread per handle, started by
 * ledger_reencrypt_start, joined by ledger_reencrypt_wait, ledger_verify or
 * ledger_close; appends, reads and snapshots go on meanwhile. Invariants:
 *   1. only the segments sealed when it started are rewritten: never the last one,
 *      which takes appends; segments a roll adds during the run are not touched;
 *   2. what it needs of the handle (the segment's lseg and manifest entry, the
 *      locations of its records) is copied under L->mu: a roll may reallocate those
 *      arrays meanwhile, while the frames of a sealed segment never change;
 *   3. the manifest has one write intent: the thread takes it only when none is
 *      pending (a snapshot's ends first), and while it holds it (L->reenc_intent)
 *      segment rolls and snapshots wait on L->cv;
 *   4. a replaced segment's fd and keys stay open (retired) while a read that copied
 *      them may still use them (L->reads_a); its file is removed at once;
 *   5. on failure the database stays consistent: the intent is rolled back, or the
 *      handle is failed (sticky) and the next writable open finishes it. The failure
 *      is reported by ledger_reencrypt_wait, else by ledger_close.
 */
#include "ledger/ledger_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/io.h"

/* One segment to rewrite, copied under the lock (invariant 2). */
typedef struct reenc_seg {
    uint32_t i;
    lseg s;              /* the fd stays open: only this thread replaces segments */
    uint64_t first_lsn, last_lsn;
    recloc *loc;         /* the locations of LSNs first_lsn..last_lsn */
} reenc_seg;

/* Re-seals the frames of the segment into img (the new file's bytes); old opens them. */
static stele_status reseal_frames(ledger *L, const reenc_seg *j, const uint8_t new_id[16],
                                  crypto_gcm *old_g, crypto_gcm *g, crypto_rng *rng,
                                  uint8_t *img, util_err *e)
{
    buf env;
    buf_init(&env);
    stele_status rc = STELE_OK;
    for (uint64_t lsn = j->first_lsn; rc == STELE_OK && lsn <= j->last_lsn; lsn++) {
        recloc loc = j->loc[lsn - j->first_lsn];
        STELE_ASSERT(loc.seg == j->i && loc.off + loc.len <= L->sb.segment_size);
        uint8_t hdr[RECHDR_BYTES];
        rechdr h;
        frame_place old = {L->keys->db_id, j->s.file_id, j->s.epoch, j->i, loc.off};
        frame_place pl = {L->keys->db_id, new_id, L->reenc_epoch, j->i, loc.off};
        const uint8_t *frame = img + loc.off; /* the old frame, read into place */
        if (io_pread(j->s.fd, img + loc.off, loc.len, (off_t)loc.off) != (ssize_t)loc.len)
            rc = util_fail(e, STELE_EIO, "cannot read record LSN %llu to re-encrypt it",
                           (unsigned long long)lsn);
        else if (frame_open_header(old_g, &old, frame, hdr) != 0 ||
                 rechdr_decode(hdr, &h) || frame_size(h.env_len) != loc.len ||
                 buf_reserve(&env, h.env_len) != 0 ||
                 frame_open_envelope(old_g, &old, frame, h.env_len, env.data) != 0)
            rc = util_fail(e, STELE_ECORRUPT, "record LSN %llu is not authentic; nothing was "
                           "re-encrypted from it on", (unsigned long long)lsn);
        else if (frame_seal(g, rng, &pl, hdr, env.data, h.env_len, img + loc.off) != 0)
            rc = util_fail(e, STELE_EIO, "cannot seal record LSN %llu", (unsigned long long)lsn);
    }
    if (env.data) crypto_wipe(env.data, env.cap);
    buf_release(&env);
    return rc;
}

/* Builds the new file's bytes in img and their SHA-256 (the manifest's) in hash. */
static stele_status build_image(ledger *L, const reenc_seg *j, const uint8_t new_id[16],
                                uint8_t *img, uint8_t hash[32], util_err *e)
{
    crypto_random_fill(img, L->sb.segment_size);
    seghdr h = {.seq = j->i, .first_lsn = j->first_lsn, .key_epoch = L->reenc_epoch};
    memcpy(h.db_id, L->keys->db_id, 16);
    memcpy(h.file_id, new_id, 16);
    crypto_gcm *g = NULL, *old_g = NULL; /* the readers' context is theirs (rd_mu) */
    crypto_rng *rng = crypto_secure_alloc(sizeof *rng);
    stele_status rc = rng ? ledger_seg_key(L->keys, L->reenc_epoch, new_id, &g, e)
                          : util_fail(e, STELE_ENOMEM, "out of secure memory");
    if (rng) crypto_rng_init(rng);
    if (rc == STELE_OK) rc = ledger_seg_key(L->keys, j->s.epoch, j->s.file_id, &old_g, e);
    if (rc == STELE_OK && seghdr_seal(g, &h, img) != 0)
        rc = util_fail(e, STELE_EIO, "cannot seal a segment header");
    if (rc == STELE_OK) rc = reseal_frames(L, j, new_id, old_g, g, rng, img, e);
    crypto_gcm_free(g);
    crypto_gcm_free(old_g);
    crypto_secure_free(rng);
    if (rc == STELE_OK) crypto_sha256(img, L->sb.segment_size, hash);
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

/* Write-intent step 1 (invariant 3): waits until no intent is pending, then names
 * new_id. Closing stops the wait: an intent still pending then is a failed snapshot's,
 * left for the next writable open. */
static stele_status intent_take(ledger *L, const uint8_t new_id[16], util_err *e)
{
    pthread_mutex_lock(&L->mu);
    while (L->sb.intent_op != SB_INTENT_NONE && !L->failed && !L->reenc_closing)
        pthread_cond_wait(&L->cv, &L->mu);
    stele_status rc = STELE_OK;
    if (L->failed) rc = util_fail(e, STELE_EFAILED, "%s", L->failed_msg);
    else if (L->sb.intent_op != SB_INTENT_NONE)
        rc = util_fail(e, STELE_EIO, "an interrupted snapshot's write is pending (the next "
                       "writable open ends it)");
    if (rc == STELE_OK)
        rc = ledger_fail_locked(L, ledger_intent_set_locked(L, SB_INTENT_SNAPSHOT,
                                                            SB_PHASE_WRITING,
                                                            (const uint8_t(*)[16])new_id, 1,
                                                            e), e);
    L->reenc_intent = rc == STELE_OK;
    pthread_mutex_unlock(&L->mu);
    return rc;
}

/* Write-intent step 5, or the rollback of step 1 once the new file is removed. A
 * failed handle keeps its intent in the manifest for the next writable open. */
static stele_status intent_end(ledger *L, util_err *e)
{
    pthread_mutex_lock(&L->mu);
    STELE_ASSERT(L->reenc_intent);
    stele_status rc = STELE_OK;
    if (!L->failed && L->sb.intent_op != SB_INTENT_NONE)
        rc = ledger_fail_locked(L, ledger_intent_set_locked(L, 0, 0, NULL, 0, e), e);
    L->reenc_intent = 0;
    pthread_cond_broadcast(&L->cv); /* rolls and snapshots waiting for the intent */
    pthread_mutex_unlock(&L->mu);
    return rc;
}

/* Write-intent step 3 (lock held): the manifest and the handle name the new file,
 * the old one is listed for removal and retired (invariant 4). */
static stele_status swap_locked(ledger *L, const reenc_seg *j, const lseg *fresh,
                                const uint8_t hash[32], util_err *e)
{
    STELE_ASSERT(memcmp(L->segs[j->i].file_id, j->s.file_id, 16) == 0); /* ours alone */
    STELE_ASSERT(L->nretired < L->capretired);
    pthread_mutex_lock(&L->rd_mu);
    lseg old = L->segs[j->i];
    sb_seg *ss = &L->sb.segs[j->i];
    memcpy(ss->file_id, fresh->file_id, 16);
    memcpy(ss->file_hash, hash, 32);
    ss->epoch = fresh->epoch;
    L->segs[j->i] = *fresh;
    pthread_mutex_unlock(&L->rd_mu);
    L->retired[L->nretired++] = old;
    ledger_retired_release_locked(L, 0);
    stele_status rc = STELE_OK;
    if (sb_set_intent(&L->sb, SB_INTENT_SNAPSHOT, SB_PHASE_REMOVING,
                      (const uint8_t(*)[16])old.file_id, 1) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = ledger_sb_sync(L, 0, e);
    L->sb_marked = 1;
    return ledger_fail_locked(L, rc, e); /* in memory the new file is in force */
}

/* Opens the new file and swaps it in; *swapped says whether the handle names it. Then
 * removes the old file (step 4). */
static stele_status swap_in(ledger *L, const reenc_seg *j, const uint8_t new_id[16],
                            const uint8_t hash[32], int *swapped, util_err *e)
{
    char path[4200];
    ledger_seg_path(L, new_id, path, sizeof path);
    lseg fresh = {.seq = j->i, .epoch = L->reenc_epoch};
    memcpy(fresh.file_id, new_id, 16);
    fresh.fd = io_open(path, O_RDWR, 0);
    if (fresh.fd < 0)
        return util_fail(e, STELE_EIO, "cannot open '%s': %s", path, strerror(-fresh.fd));
    stele_status rc = ledger_seg_key(L->keys, fresh.epoch, new_id, &fresh.wr, e);
    if (rc == STELE_OK) rc = ledger_seg_key(L->keys, fresh.epoch, new_id, &fresh.rd, e);
    pthread_mutex_lock(&L->mu);
    if (rc == STELE_OK && L->failed) rc = util_fail(e, STELE_EFAILED, "%s", L->failed_msg);
    if (rc == STELE_OK) {
        *swapped = 1;
        rc = swap_locked(L, j, &fresh, hash, e);
    }
    pthread_mutex_unlock(&L->mu);
    if (!*swapped) {
        crypto_gcm_free(fresh.wr);
        crypto_gcm_free(fresh.rd);
        io_close(fresh.fd);
        return rc;
    }
    if (rc != STELE_OK) return rc; /* failed handle: the next open removes the old file */
    char old_path[4200], data[4200];
    ledger_seg_path(L, j->s.file_id, old_path, sizeof old_path);
    snprintf(data, sizeof data, "%s/data", L->dir);
    int err = io_unlink(old_path);
    if (err == 0) err = io_fsync_dir(data);
    if (err != 0 && err != -ENOENT)
        rc = util_fail(e, util_errno_status(-err), "cannot remove '%s': %s", old_path,
                       strerror(-err));
    return rc;
}

/* Rewrites one segment through a write intent: 1 the new file named, 2 written, 3 the
 * manifest swaps it in and lists the old one, 4 the old one removed, 5 cleared. */
static stele_status reencrypt_one(ledger *L, const reenc_seg *j, uint8_t *img, util_err *e)
{
    uint8_t new_id[16], hash[32];
    crypto_random(new_id, sizeof new_id);
    stele_status rc = build_image(L, j, new_id, img, hash, e);
    if (rc == STELE_OK) rc = intent_take(L, new_id, e);
    if (rc != STELE_OK) return rc;
    int swapped = 0;
    rc = write_image(L, new_id, img, e);
    if (rc == STELE_OK) rc = swap_in(L, j, new_id, hash, &swapped, e);
    if (rc != STELE_OK && !swapped) { /* not in force: roll back */
        char path[4200];
        ledger_seg_path(L, new_id, path, sizeof path);
        (void)io_unlink(path);
    }
    util_err e2;
    stele_status end = intent_end(L, rc == STELE_OK ? e : &e2);
    return rc == STELE_OK ? end : rc;
}

/* Copies segment i under the lock (invariant 2); *todo = 0 if it is of the new epoch
 * already. Waits while a test holds the job. */
static stele_status job_take(ledger *L, uint32_t i, reenc_seg *j, int *todo, util_err *e)
{
    pthread_mutex_lock(&L->mu);
    while (L->reenc_hold && !L->reenc_closing) pthread_cond_wait(&L->cv, &L->mu);
    *todo = 0;
    stele_status rc = L->failed ? util_fail(e, STELE_EFAILED, "%s", L->failed_msg) : STELE_OK;
    STELE_ASSERT(i + 1 < L->nseg); /* sealed: never the last */
    if (rc == STELE_OK && L->segs[i].epoch != L->reenc_epoch) {
        j->i = i;
        j->s = L->segs[i];
        j->first_lsn = L->sb.segs[i].first_lsn;
        j->last_lsn = L->sb.segs[i].last_lsn;
        STELE_ASSERT(j->first_lsn >= 1 && j->first_lsn <= j->last_lsn + 1 &&
                     j->last_lsn <= L->written);
        size_t n = (size_t)(j->last_lsn + 1 - j->first_lsn);
        j->loc = malloc((n ? n : 1) * sizeof *j->loc);
        if (!j->loc) rc = util_fail(e, STELE_ENOMEM, "out of memory");
        else if (n) memcpy(j->loc, &L->loc[j->first_lsn - 1], n * sizeof *j->loc);
        *todo = rc == STELE_OK;
    }
    pthread_mutex_unlock(&L->mu);
    return rc;
}

static void *reenc_main(void *arg)
{
    ledger *L = arg;
    util_err e;
    util_err_clear(&e);
    uint8_t *img = malloc(L->sb.segment_size);
    stele_status rc = img ? STELE_OK
                          : util_fail(&e, STELE_ENOMEM, "out of memory (%u bytes)",
                                      L->sb.segment_size);
    for (uint32_t i = 0; i < L->reenc_sealed && rc == STELE_OK; i++) { /* fixed at start */
        reenc_seg j = {0};
        int todo = 0;
        rc = job_take(L, i, &j, &todo, &e);
        if (rc == STELE_OK && todo) rc = reencrypt_one(L, &j, img, &e);
        free(j.loc);
        pthread_mutex_lock(&L->mu);
        L->reenc_left -= todo && rc == STELE_OK;
        L->reenc_done += todo && rc == STELE_OK;
        pthread_mutex_unlock(&L->mu);
    }
    if (img) crypto_wipe(img, L->sb.segment_size);
    free(img);
    pthread_mutex_lock(&L->mu);
    L->reenc_running = 0;
    if (rc != STELE_OK) {
        L->reenc_rc = rc;
        snprintf(L->reenc_msg, sizeof L->reenc_msg, "background re-encryption stopped with "
                 "%u older segments left: %s", L->reenc_left, e.msg);
    }
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

/* Counts the segments to rewrite, makes room to retire them, starts the thread. */
static stele_status start_locked(ledger *L, util_err *e)
{
    if (L->failed) return util_fail(e, STELE_EFAILED, "%s", L->failed_msg);
    uint32_t epoch = L->keys->epoch, sealed = L->nseg - 1, left = 0;
    if (L->segs[L->nseg - 1].epoch != epoch) /* rolled by the rotation record */
        return util_fail(e, STELE_EINVAL, "the newest segment is not of the newest key epoch "
                         "yet: append a record first");
    for (uint32_t i = 0; i < sealed; i++) left += L->segs[i].epoch != epoch;
    if (left == 0) return STELE_OK;
    if (L->nretired + left > L->capretired) {
        lseg *r = realloc(L->retired, (size_t)(L->nretired + left) * sizeof *r);
        if (!r) return util_fail(e, STELE_ENOMEM, "out of memory");
        L->retired = r;
        L->capretired = L->nretired + left;
    }
    L->reenc_epoch = epoch;
    L->reenc_sealed = sealed;
    L->reenc_left = left;
    L->reenc_done = 0;
    L->reenc_closing = 0;
    L->reenc_running = 1;
    if (pthread_create(&L->reenc_tid, NULL, reenc_main, L) != 0) {
        L->reenc_running = 0;
        return util_fail(e, STELE_ENOMEM, "cannot start the re-encryption thread");
    }
    L->reenc_joinable = 1;
    return STELE_OK;
}

stele_status ledger_reencrypt_start(ledger *L, util_err *e)
{
    if (L->cfg.read_only) return ledger_refuse_write(L, e);
    ledger_reencrypt_join(L); /* an earlier one (its result stays for the wait) */
    pthread_mutex_lock(&L->mu);
    stele_status rc = start_locked(L, e);
    pthread_mutex_unlock(&L->mu);
    return rc;
}

void ledger_reencrypt_join(ledger *L)
{
    pthread_mutex_lock(&L->mu);
    int joinable = L->reenc_joinable;
    L->reenc_joinable = 0;
    L->reenc_closing = 1; /* whoever joins is not in a snapshot: stop waiting for one */
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    if (joinable) pthread_join(L->reenc_tid, NULL);
    STELE_ASSERT(!L->reenc_running && !L->reenc_intent);
}

stele_status ledger_reencrypt_wait(ledger *L, uint32_t *done, util_err *e)
{
    ledger_reencrypt_join(L);
    pthread_mutex_lock(&L->mu);
    *done = L->reenc_done;
    stele_status rc = L->reenc_rc;
    if (rc != STELE_OK) (void)util_fail(e, rc, "%s", L->reenc_msg);
    L->reenc_rc = STELE_OK; /* reported */
    pthread_mutex_unlock(&L->mu);
    return rc;
}

void ledger_reencrypt_hold(ledger *L, int hold)
{
    pthread_mutex_lock(&L->mu);
    L->reenc_hold = hold;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

void ledger_intent_wait_locked(ledger *L)
{
    while (L->reenc_intent) pthread_cond_wait(&L->cv, &L->mu); /* intent_end signals */
}
