/*
 * audit.c — checkpoints (signed Merkle roots), whole-log verification, inclusion and
 * consistency proofs, statistics. Layer: ledger.
 *
 * A checkpoint is a record in the log (so it is itself chained). Its payload is JSON:
 *   {"event":"checkpoint","tree_size":N,"root":HEX,"head_hash":HEX,"timestamp_ns":T,
 *    "public_key":HEX,"signature":HEX}
 * where root = MTH of the record hashes of LSN 1..N (N = the checkpoint's LSN - 1),
 * head_hash = hash of record N, and the Ed25519 signature covers
 * checkpoint_message(db_id, N, root, head_hash, T).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "ledger/jsonfield.h"
#include "ledger/ledger_int.h"

typedef struct ckpt_info {
    uint64_t lsn, tree_size, ts;
    uint8_t root[32], head_hash[32], sig[64], pk[32];
} ckpt_info;

stele_status ledger_checkpoint_payload_locked(ledger *L, buf *out, util_err *e)
{
    uint8_t root[32], head_hash[32], sig[64], msg[CHECKPOINT_MSG_BYTES];
    uint64_t n = L->head, ts = util_now_ns();
    merkle_frontier_root(&L->frontier, root);
    STELE_ASSERT(L->frontier.size == n);
    if (n) memcpy(head_hash, L->hash[n - 1], 32);
    else ledger_genesis_hash(L->keys->db_id, head_hash);
    checkpoint_message(L->keys->db_id, n, root, head_hash, ts, msg);
    if (crypto_sig_sign(L->keys->sign_sk, msg, sizeof msg, sig) != 0)
        return util_fail(e, STELE_EIO, "cannot sign a checkpoint");
    char hr[65], hh[65], hs[129], hp[65];
    crypto_hex(root, 32, hr);
    crypto_hex(head_hash, 32, hh);
    crypto_hex(sig, 64, hs);
    crypto_hex(L->keys->sign_pk, 32, hp);
    if (buf_printf(out,
                   "{\"event\":\"checkpoint\",\"tree_size\":%llu,\"root\":\"%s\","
                   "\"head_hash\":\"%s\",\"timestamp_ns\":%llu,\"public_key\":\"%s\","
                   "\"signature\":\"%s\"}",
                   (unsigned long long)n, hr, hh, (unsigned long long)ts, hp, hs) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    return STELE_OK;
}

stele_status ledger_checkpoint(ledger *L, uint64_t *lsn_out, util_err *e)
{
    if (L->cfg.read_only) return ledger_refuse_write(L, e);
    buf p;
    buf_init(&p);
    uint64_t lsn = 0;
    pthread_mutex_lock(&L->mu);
    stele_status rc = ledger_make_room_locked(L, LEDGER_CKPT_FRAME, e);
    if (rc == STELE_OK) rc = ledger_checkpoint_payload_locked(L, &p, e);
    if (rc == STELE_OK)
        rc = ledger_append_locked(L, STELE_REC_CHECKPOINT, p.data, p.len, NULL, 0, &lsn, e);
    int saved = L->cfg.durability;
    L->cfg.durability = saved == STELE_DURABLE_NONE ? STELE_DURABLE_FSYNC : saved;
    if (rc == STELE_OK) rc = ledger_commit_wait_locked(L, lsn, e); /* checkpoints are synced */
    L->cfg.durability = saved;
    if (rc == STELE_OK) rc = ledger_fail_locked(L, ledger_sb_sync(L, 0, e), e);
    pthread_mutex_unlock(&L->mu);
    buf_release(&p);
    if (rc == STELE_OK && lsn_out) *lsn_out = lsn;
    return rc;
}

/* Parses a checkpoint payload (authenticated bytes, but still range-checked). */
static int ckpt_parse(const uint8_t *p, size_t len, ckpt_info *c)
{
    json_error_t err;
    json_t *o = json_loadb((const char *)p, len, 0, &err);
    if (!o) return -1;
    int bad = jf_u64(o, "tree_size", &c->tree_size) || jf_u64(o, "timestamp_ns", &c->ts) ||
              jf_hex(o, "root", c->root, 32) || jf_hex(o, "head_hash", c->head_hash, 32) ||
              jf_hex(o, "signature", c->sig, 64) || jf_hex(o, "public_key", c->pk, 32);
    json_decref(o);
    return bad ? -1 : 0;
}

static stele_status ckpt_load(ledger *L, uint64_t lsn, ckpt_info *c, buf *scratch, util_err *e)
{
    ledger_rec r;
    stele_status rc = ledger_read_frame(L, lsn, &r, scratch, e);
    if (rc != STELE_OK) return rc;
    if (r.kind != STELE_REC_CHECKPOINT)
        return util_fail(e, STELE_EINVAL, "record LSN %llu is not a checkpoint",
                         (unsigned long long)lsn);
    if (ckpt_parse(r.payload, r.payload_len, c) != 0)
        return util_fail(e, STELE_ECORRUPT, "checkpoint LSN %llu: malformed payload",
                         (unsigned long long)lsn);
    c->lsn = lsn;
    return STELE_OK;
}

/* Checks a checkpoint against the log: size, head hash, root, signature. */
static stele_status ckpt_check(ledger *L, const ckpt_info *c, const uint8_t root_now[32],
                               util_err *e)
{
    uint8_t msg[CHECKPOINT_MSG_BYTES];
    const char *why = NULL;
    if (c->tree_size != c->lsn - 1) why = "covers the wrong number of records";
    else if (!crypto_equal(c->pk, L->keys->sign_pk, 32)) why = "names another public key";
    else if (c->tree_size && !crypto_equal(c->head_hash, L->hash[c->tree_size - 1], 32))
        why = "head hash does not match the log";
    else if (!crypto_equal(c->root, root_now, 32)) why = "Merkle root does not match the log";
    if (!why) {
        checkpoint_message(L->keys->db_id, c->tree_size, c->root, c->head_hash, c->ts, msg);
        if (crypto_sig_verify(L->keys->sign_pk, msg, sizeof msg, c->sig) != 0)
            why = "signature does not verify";
    }
    if (why)
        return util_fail(e, STELE_ECORRUPT, "checkpoint LSN %llu: %s",
                         (unsigned long long)c->lsn, why);
    return STELE_OK;
}

static uint64_t newest_ckpt_at_or_before(const ledger *L, uint64_t lsn)
{
    uint64_t best = 0;
    for (size_t i = 0; i < L->nckpt && L->ckpts[i] <= lsn; i++) best = L->ckpts[i];
    return best;
}

/* ---- verification ----
 * Phase 1 (parallel, VERIFY_THREADS workers over disjoint LSN ranges): read frames
 * sequentially through large windows; authenticate both boxes; check the envelope,
 * the payload hash, that the recomputed record hash equals the indexed one, and that
 * prev_hash equals the indexed hash of the record before. Every worker works on a
 * private snapshot of the index, so appends on other threads cannot move it.
 * Phase 2 (sequential): the Merkle frontier over the (now verified) hashes, and each
 * checkpoint's size, head, root and signature. */
#define VERIFY_THREADS 2

typedef struct verify_job {
    ledger *L;
    const recloc *loc;        /* snapshot, index 0 = LSN base */
    const merkle_hash *hash;  /* snapshot, index 0 = LSN base - 1 (the previous hash) */
    uint64_t base, from, to;  /* LSNs [from, to] */
    stele_status rc;
    util_err e;
} verify_job;

static stele_status verify_frame(verify_job *j, uint64_t lsn, const uint8_t *frame,
                                 const frame_place *pl, crypto_gcm *g, buf *env)
{
    const recloc *loc = &j->loc[lsn - j->base];
    uint8_t hdr[RECHDR_BYTES], h[32], ph[32];
    rechdr r;
    const uint8_t *idem, *payload;
    size_t idem_len;
    const char *why = NULL;
    if (frame_open_header(g, pl, frame, hdr) != 0 || rechdr_decode(hdr, &r) != 0)
        why = "header not authentic";
    else if (frame_size(r.env_len) != loc->len || r.lsn != lsn) why = "header does not match";
    else if (buf_reserve(env, r.env_len) != 0)
        return util_fail(&j->e, STELE_ENOMEM, "out of memory");
    else if (frame_open_envelope(g, pl, frame, r.env_len, env->data) != 0 ||
             envelope_parse(env->data, r.env_len, r.payload_len, &idem, &idem_len, &payload))
        why = "payload not authentic";
    if (!why) {
        envelope_payload_hash(env->data, payload, r.payload_len, ph);
        rechdr_hash(hdr, h);
        if (!crypto_equal(ph, r.payload_hash, 32)) why = "payload hash mismatch";
        else if (!crypto_equal(h, j->hash[lsn - j->base + 1], 32))
            why = "record differs from the one indexed at open";
        else if (!crypto_equal(r.prev_hash, j->hash[lsn - j->base], 32))
            why = "hash chain broken";
    }
    if (!why) return STELE_OK;
    char path[4200];
    ledger_seg_path(j->L, pl->file_id, path, sizeof path);
    return util_fail(&j->e, STELE_ECORRUPT, "record LSN %llu in '%s' (offset %u): %s",
                     (unsigned long long)lsn, path, loc->off, why);
}

static void *verify_worker(void *arg)
{
    verify_job *j = arg;
    ledger_window w = {.buf = malloc(LEDGER_WINDOW), .fd = -1};
    buf env;
    buf_init(&env);
    crypto_gcm *g = NULL;
    uint32_t cur = UINT32_MAX;
    lseg s = {.fd = -1};
    frame_place pl = {j->L->keys->db_id, NULL, 0, 0, 0};
    j->rc = w.buf ? STELE_OK : util_fail(&j->e, STELE_ENOMEM, "out of memory");
    for (uint64_t lsn = j->from; j->rc == STELE_OK && lsn <= j->to; lsn++) {
        const recloc *loc = &j->loc[lsn - j->base];
        if (loc->seg != cur) { /* next segment: its fd, its key, a fresh window */
            cur = loc->seg;
            crypto_gcm_free(g);
            g = NULL;
            pthread_mutex_lock(&j->L->mu);
            if (s.fd < 0) atomic_fetch_add(&j->L->reads_a, 1); /* s stays open */
            s = j->L->segs[cur];
            pthread_mutex_unlock(&j->L->mu);
            j->rc = ledger_seg_key(j->L->keys, s.epoch, s.file_id, &g, &j->e);
            w.fd = s.fd;
            w.file_size = j->L->sb.segment_size;
            w.start = w.len = 0;
            pl.file_id = s.file_id;
            pl.epoch = s.epoch;
            pl.seg_seq = cur;
            if (j->rc != STELE_OK) break;
        }
        pl.offset = loc->off;
        const uint8_t *frame = ledger_win_get(&w, loc->off, loc->len);
        if (!frame) {
            j->rc = util_fail(&j->e, STELE_EIO, "cannot read record LSN %llu: %s",
                              (unsigned long long)lsn, strerror(w.err ? -w.err : EIO));
            break;
        }
        j->rc = verify_frame(j, lsn, frame, &pl, g, &env);
    }
    if (s.fd >= 0) atomic_fetch_sub(&j->L->reads_a, 1);
    crypto_gcm_free(g);
    buf_release(&env);
    free(w.buf);
    return NULL;
}

/* Phase 1 over LSNs [start, head] on a snapshot of the index. *bytes gets the size. */
static stele_status verify_records(ledger *L, uint64_t start, uint64_t head, uint64_t *bytes,
                                   util_err *e)
{
    uint64_t n = head - start + 1;
    recloc *loc = malloc(n * sizeof *loc);
    merkle_hash *hash = malloc((n + 1) * sizeof *hash);
    if (!loc || !hash) {
        free(loc);
        free(hash);
        return util_fail(e, STELE_ENOMEM, "out of memory verifying %llu records",
                         (unsigned long long)n);
    }
    pthread_mutex_lock(&L->mu);
    memcpy(loc, &L->loc[start - 1], n * sizeof *loc);
    memcpy(hash + 1, &L->hash[start - 1], n * sizeof *hash);
    pthread_mutex_unlock(&L->mu);
    if (start > 1) memcpy(hash[0], L->hash[start - 2], 32);
    else ledger_genesis_hash(L->keys->db_id, hash[0]);
    *bytes = 0;
    for (uint64_t i = 0; i < n; i++) *bytes += loc[i].len;
    verify_job jobs[VERIFY_THREADS];
    pthread_t tid[VERIFY_THREADS];
    int started[VERIFY_THREADS] = {0};
    uint64_t per = (n + VERIFY_THREADS - 1) / VERIFY_THREADS;
    for (int t = 0; t < VERIFY_THREADS; t++) {
        uint64_t from = start + (uint64_t)t * per;
        uint64_t to = from + per - 1 > head ? head : from + per - 1;
        jobs[t] = (verify_job){L, loc, hash, start, from, to, STELE_OK, {0}};
        if (from > head) continue;
        started[t] = pthread_create(&tid[t], NULL, verify_worker, &jobs[t]) == 0;
        if (!started[t]) verify_worker(&jobs[t]); /* no thread: do it here */
    }
    stele_status rc = STELE_OK;
    for (int t = 0; t < VERIFY_THREADS; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        if (rc == STELE_OK && jobs[t].rc != STELE_OK) { /* the lowest LSN range first */
            rc = jobs[t].rc;
            if (e) *e = jobs[t].e;
        }
    }
    free(loc);
    free(hash);
    return rc;
}

/* Phase 2: every checkpoint at or after `start` against the verified hashes. */
static stele_status verify_checkpoints(ledger *L, uint64_t start, uint64_t head,
                                       uint64_t *checked, util_err *e)
{
    merkle_frontier f;
    merkle_frontier_init(&f);
    buf scratch;
    buf_init(&scratch);
    stele_status rc = STELE_OK;
    size_t k = 0;
    *checked = 0;
    for (uint64_t lsn = 1; rc == STELE_OK && lsn <= head; lsn++) {
        while (k < L->nckpt && L->ckpts[k] < lsn) k++;
        if (k < L->nckpt && L->ckpts[k] == lsn && lsn >= start) {
            ckpt_info c;
            uint8_t root[32];
            merkle_frontier_root(&f, root);
            rc = ckpt_load(L, lsn, &c, &scratch, e);
            if (rc == STELE_OK) rc = ckpt_check(L, &c, root, e);
            (*checked)++;
        }
        merkle_frontier_push(&f, L->hash[lsn - 1]);
    }
    buf_release(&scratch);
    return rc;
}

stele_status ledger_verify(ledger *L, uint64_t from_lsn, buf *report, util_err *e)
{
    ledger_reencrypt_join(L); /* it replaces the files checked here */
    uint64_t head = ledger_head(L), start = 1, checked_ckpts = 0, bytes = 0;
    buf scratch;
    buf_init(&scratch);
    stele_status rc = STELE_OK;
    if (L->sb_damage[0]) rc = util_fail(e, STELE_ECORRUPT, "%s", L->sb_damage);
    char files[512];
    if (rc == STELE_OK && ledger_files_check(L, 1, files, sizeof files) != 0)
        rc = util_fail(e, STELE_ECORRUPT, "%s", files);
    if (rc == STELE_OK && from_lsn > 1) { /* start at a trusted (verified) checkpoint */
        uint64_t ck = newest_ckpt_at_or_before(L, from_lsn);
        if (ck) {
            ckpt_info c;
            uint8_t root[32];
            rc = ckpt_load(L, ck, &c, &scratch, e);
            if (rc == STELE_OK && merkle_root(L->hash, 0, ck - 1, root) != 0)
                rc = util_fail(e, STELE_ENOMEM, "out of memory");
            if (rc == STELE_OK) rc = ckpt_check(L, &c, root, e);
            start = ck;
        }
    }
    buf_release(&scratch);
    if (rc == STELE_OK && head >= start) rc = verify_records(L, start, head, &bytes, e);
    if (rc == STELE_OK) rc = verify_checkpoints(L, start, head, &checked_ckpts, e);
    if (rc == STELE_OK && report)
        buf_printf(report,
                   "{\"ok\":true,\"from_lsn\":%llu,\"head_lsn\":%llu,\"records_verified\":%llu,"
                   "\"checkpoints_verified\":%llu,\"bytes_verified\":%llu,\"generation\":%u,"
                   "\"recoveries\":%llu,\"clean_shutdown_last_time\":%s}",
                   (unsigned long long)start, (unsigned long long)head,
                   (unsigned long long)(head >= start ? head - start + 1 : 0),
                   (unsigned long long)checked_ckpts, (unsigned long long)bytes, L->generation,
                   (unsigned long long)L->nrecovery, L->opened_clean ? "true" : "false");
    return rc;
}

static void json_ckpt(buf *b, const ckpt_info *c)
{
    char hr[65], hh[65], hs[129];
    crypto_hex(c->root, 32, hr);
    crypto_hex(c->head_hash, 32, hh);
    crypto_hex(c->sig, 64, hs);
    buf_printf(b,
               "{\"lsn\":%llu,\"tree_size\":%llu,\"root\":\"%s\",\"head_hash\":\"%s\","
               "\"timestamp_ns\":%llu,\"signature\":\"%s\"}",
               (unsigned long long)c->lsn, (unsigned long long)c->tree_size, hr, hh,
               (unsigned long long)c->ts, hs);
}

static void json_path(buf *b, const char *key, const merkle_hash *p, size_t n)
{
    buf_printf(b, "\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        char h[65];
        crypto_hex(p[i], 32, h);
        buf_printf(b, "%s\"%s\"", i ? "," : "", h);
    }
    buf_printf(b, "]");
}

static void json_bundle_head(ledger *L, buf *b, const char *type)
{
    char db[33], pk[65];
    crypto_hex(L->keys->db_id, 16, db);
    crypto_hex(L->keys->sign_pk, 32, pk);
    buf_printf(b,
               "{\"format\":\"stele-proof-v1\",\"type\":\"%s\",\"database\":\"%s\","
               "\"public_key\":\"%s\",",
               type, db, pk);
}

static stele_status pick_ckpt(ledger *L, uint64_t lsn, uint64_t want, uint64_t *ck, util_err *e)
{
    *ck = 0;
    if (want) {
        for (size_t i = 0; i < L->nckpt; i++)
            if (L->ckpts[i] == want) *ck = want;
        if (!*ck)
            return util_fail(e, STELE_ENOTFOUND, "record LSN %llu is not a checkpoint",
                             (unsigned long long)want);
        if (want <= lsn)
            return util_fail(e, STELE_EINVAL, "checkpoint LSN %llu does not cover LSN %llu",
                             (unsigned long long)want, (unsigned long long)lsn);
        return STELE_OK;
    }
    for (size_t i = 0; i < L->nckpt; i++)
        if (L->ckpts[i] > lsn) *ck = L->ckpts[i]; /* the newest covering it */
    if (!*ck)
        return util_fail(e, STELE_ENOTFOUND,
                         "no checkpoint covers LSN %llu yet; run 'stele checkpoint' first",
                         (unsigned long long)lsn);
    return STELE_OK;
}

stele_status ledger_prove(ledger *L, uint64_t lsn, uint64_t ckpt_lsn, int with_payload,
                          buf *json, util_err *e)
{
    uint64_t ck;
    if (lsn == 0 || lsn > ledger_head(L))
        return util_fail(e, STELE_ENOTFOUND, "no record LSN %llu (the head is %llu)",
                         (unsigned long long)lsn, (unsigned long long)ledger_head(L));
    stele_status rc = pick_ckpt(L, lsn, ckpt_lsn, &ck, e);
    if (rc != STELE_OK) return rc;
    buf scratch;
    buf_init(&scratch);
    ckpt_info c;
    uint8_t root[32];
    merkle_hash path[MERKLE_MAX_PATH];
    size_t plen = 0;
    rc = ckpt_load(L, ck, &c, &scratch, e);
    if (rc == STELE_OK && (merkle_root(L->hash, 0, ck - 1, root) != 0 ||
                           merkle_inclusion_path(L->hash, lsn - 1, ck - 1, path, &plen) != 0))
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = ckpt_check(L, &c, root, e);
    ledger_rec r;
    if (rc == STELE_OK) rc = ledger_read_frame(L, lsn, &r, &scratch, e);
    if (rc == STELE_OK) {
        char hdr[2 * 152 + 1], h[65], salt[33];
        crypto_hex(r.header, 152, hdr);
        crypto_hex(r.hash, 32, h);
        json_bundle_head(L, json, "inclusion");
        buf_printf(json, "\"record\":{\"lsn\":%llu,\"hash\":\"%s\",\"header\":\"%s\"",
                   (unsigned long long)lsn, h, hdr);
        if (with_payload) {
            char *ph = malloc(2 * r.payload_len + 1);
            if (!ph) rc = util_fail(e, STELE_ENOMEM, "out of memory");
            else {
                crypto_hex(r.salt, 16, salt);
                crypto_hex(r.payload, r.payload_len, ph);
                buf_printf(json, ",\"salt\":\"%s\",\"payload_hex\":\"%s\"", salt, ph);
                free(ph);
            }
        }
        buf_printf(json, "},\"checkpoint\":");
        json_ckpt(json, &c);
        buf_printf(json, ",");
        json_path(json, "path", path, plen);
        buf_printf(json, "}\n");
    }
    buf_release(&scratch);
    return rc;
}

stele_status ledger_prove_consistency(ledger *L, uint64_t old_ck, uint64_t new_ck, buf *json,
                                      util_err *e)
{
    if (new_ck == 0) new_ck = L->nckpt ? L->ckpts[L->nckpt - 1] : 0;
    if (old_ck == 0 || new_ck == 0 || old_ck > new_ck)
        return util_fail(e, STELE_EINVAL,
                         "a consistency proof needs two checkpoints, the older first");
    buf scratch;
    buf_init(&scratch);
    ckpt_info a, b;
    uint8_t ra[32], rb[32];
    merkle_hash proof[MERKLE_MAX_PATH];
    size_t n = 0;
    stele_status rc = ckpt_load(L, old_ck, &a, &scratch, e);
    if (rc == STELE_OK) rc = ckpt_load(L, new_ck, &b, &scratch, e);
    if (rc == STELE_OK && (merkle_root(L->hash, 0, old_ck - 1, ra) != 0 ||
                           merkle_root(L->hash, 0, new_ck - 1, rb) != 0))
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = ckpt_check(L, &a, ra, e);
    if (rc == STELE_OK) rc = ckpt_check(L, &b, rb, e);
    if (rc == STELE_OK && a.tree_size == 0)
        rc = util_fail(e, STELE_EINVAL, "checkpoint LSN %llu covers an empty log",
                       (unsigned long long)old_ck);
    if (rc == STELE_OK &&
        merkle_consistency_proof(L->hash, a.tree_size, b.tree_size, proof, &n) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) {
        json_bundle_head(L, json, "consistency");
        buf_printf(json, "\"old\":");
        json_ckpt(json, &a);
        buf_printf(json, ",\"new\":");
        json_ckpt(json, &b);
        buf_printf(json, ",");
        json_path(json, "proof", proof, n);
        buf_printf(json, "}\n");
    }
    buf_release(&scratch);
    return rc;
}

stele_status ledger_stat(ledger *L, buf *json, util_err *e)
{
    static const char *const dur[] = {"fsync", "group", "none"};
    char db[33], pk[65];
    crypto_hex(L->keys->db_id, 16, db);
    crypto_hex(L->keys->sign_pk, 32, pk);
    pthread_mutex_lock(&L->mu);
    int bad = buf_printf(json,
                         "\"db_id\":\"%s\",\"public_key\":\"%s\",\"head_lsn\":%llu,"
                         "\"checkpoints\":%zu,\"last_checkpoint_lsn\":%llu,\"recoveries\":%llu,"
                         "\"generation\":%u,\"segments\":%u,\"segment_size\":%u,"
                         "\"bytes_on_disk\":%llu,\"log_bytes\":%llu,\"checkpoint_every\":%u,"
                         "\"durability\":\"%s\",\"clean_shutdown_last_time\":%s,"
                         "\"encryption\":\"%s\",\"manifest_version\":%llu,\"superblock_warning\":",
                         db, pk, (unsigned long long)L->head, L->nckpt,
                         (unsigned long long)(L->nckpt ? L->ckpts[L->nckpt - 1] : 0),
                         (unsigned long long)L->nrecovery, L->generation, L->nseg,
                         L->sb.segment_size,
                         (unsigned long long)L->nseg * L->sb.segment_size,
                         (unsigned long long)L->log_bytes, L->sb.checkpoint_every,
                         dur[L->cfg.durability % 3], L->opened_clean ? "true" : "false",
                         L->keys->plaintext ? "none (not encrypted: public data only)"
                                            : "aes-256-gcm",
                         (unsigned long long)L->sb.seq);
    bad = bad || (L->sb_damage[0] ? buf_json_str(json, L->sb_damage, strlen(L->sb_damage))
                                  : buf_printf(json, "null"));
    char m0[33], m1[33];
    uint8_t id[16];
    bad = bad || sb_copy_id(L->keys, 0, id) != 0;
    crypto_hex(id, 16, m0);
    bad = bad || sb_copy_id(L->keys, 1, id) != 0;
    crypto_hex(id, 16, m1);
    bad = bad || buf_printf(json, ",\"manifest_copies\":[\"%s\",\"%s\"],\"manifest_bytes\":%zu",
                            m0, m1, sb_file_bytes(&L->sb));
    bad = bad || buf_printf(json, ",\"reencryption\":{\"running\":%s,\"segments_left\":%u,"
                            "\"segments_done\":%u}", L->reenc_running ? "true" : "false",
                            L->reenc_running ? L->reenc_left : 0, L->reenc_done);
    bad = bad || buf_printf(json, ",\"files_warning\":") ||
          (L->files_damage[0] ? buf_json_str(json, L->files_damage, strlen(L->files_damage))
                              : buf_printf(json, "null"));
    pthread_mutex_unlock(&L->mu);
    return bad ? util_fail(e, STELE_ENOMEM, "out of memory") : STELE_OK;
}
