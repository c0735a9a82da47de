/*
 * ledger.c — open, scan, recover, append (with group commit), read and close the
 * ledger of one database. Layer: ledger. Bytes on disk: format.h, superblock.h.
 *
 * Invariants
 *  1. A record is acknowledged only after the durability policy is met: FSYNC and
 *     GROUP acknowledge after fdatasync of the segment; NONE after the write.
 *  2. Frames are appended at increasing offsets; an offset is rewritten only by
 *     recovery, which first scrubs the tail with random bytes and starts a new
 *     generation. Nonces are random (95 bits per frame) under a per-file key.
 *  3. Every record header carries durable_lsn, the newest LSN known synced when it
 *     was written. A record at or below some later record's durable_lsn was
 *     acknowledged durable: if it is missing, that is corruption, never a cut.
 *  4. A sealed (not last) segment was synced before the superblock listed its
 *     successor, and the superblock records its last LSN and hash.
 *  5. The superblock's head is durable; after a clean shutdown it is exact.
 *
 * Recovery decision table, for the last segment after the last authentic frame T
 * (D = max(superblock head, largest durable_lsn seen)):
 *   T < D                                   -> corruption: durable records missing
 *   a later authentic frame X, X.durable>T  -> corruption: hole in durable records
 *   payload of record r in (D, T] fails     -> cut at r (never acknowledged durable)
 *   clean shutdown and T != head            -> corruption (truncated or rolled back)
 *   unclean shutdown, writable open         -> scrub tail, new generation, append a
 *                                              recovery record saying what was cut
 *   unclean shutdown, read-only open        -> read up to T, change nothing
 * Sealed segments: any unauthentic frame or a mismatch with the superblock's record
 * of the segment is corruption, naming the file and offset.
 */
#include "ledger/ledger_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/io.h"
#include "util/lock.h"

static void publish_locked(ledger *L);
static void flusher_stop(ledger *L);
static void flusher_start(ledger *L);

/* ---------------------------------------------------------------- helpers */

void ledger_seg_path(const ledger *L, const uint8_t file_id[16], char *out, size_t cap)
{
    char hex[33];
    crypto_hex(file_id, 16, hex);
    snprintf(out, cap, "%s/data/%s", L->dir, hex);
}

stele_status ledger_seg_key(const vault_dbkeys *k, uint32_t epoch, const uint8_t file_id[16],
                            crypto_gcm **out, util_err *e)
{
    return ledger_file_key(k, epoch, "file key", file_id, out, e);
}

stele_status ledger_file_key(const vault_dbkeys *k, uint32_t epoch, const char *purpose,
                             const uint8_t file_id[16], crypto_gcm **out, util_err *e)
{
    *out = NULL;
    if (k->plaintext) return STELE_OK; /* no key: boxes are plaintext (format.h) */
    uint8_t *fk = crypto_secure_alloc(CRYPTO_KEY_BYTES);
    if (!fk) return util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    int rc = vault_derive_epoch(k, epoch, purpose, file_id, 16, fk);
    *out = rc == 0 ? crypto_gcm_new(fk) : NULL;
    crypto_secure_free(fk);
    return *out ? STELE_OK : util_fail(e, STELE_ENOMEM, "cannot set up a file key");
}

static void seg_close(lseg *s)
{
    if (s->fd >= 0) io_close(s->fd);
    crypto_gcm_free(s->wr);
    crypto_gcm_free(s->rd);
    s->fd = -1;
    s->wr = s->rd = NULL;
}

static int idem_key(const uint8_t digest[32], uint64_t *key)
{
    *key = get_u64(digest);
    if (*key == 0) *key = 1; /* 0 marks an empty slot */
    return 0;
}

static int idem_grow(ledger *L)
{
    uint64_t cap = L->idem_cap ? L->idem_cap * 2 : 1024;
    idem_slot *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (uint64_t i = 0; i < L->idem_cap; i++) {
        if (!L->idem[i].key) continue;
        uint64_t j = L->idem[i].key & (cap - 1);
        while (t[j].key) j = (j + 1) & (cap - 1);
        t[j] = L->idem[i];
    }
    free(L->idem);
    L->idem = t;
    L->idem_cap = cap;
    return 0;
}

static int idem_put(ledger *L, const uint8_t digest[32], uint64_t lsn)
{
    if ((L->idem_count + 1) * 2 > L->idem_cap && idem_grow(L) != 0) return -1;
    uint64_t key;
    idem_key(digest, &key);
    uint64_t j = key & (L->idem_cap - 1);
    while (L->idem[j].key) j = (j + 1) & (L->idem_cap - 1);
    L->idem[j] = (idem_slot){key, lsn};
    L->idem_count++;
    return 0;
}

/* Candidate LSNs whose digest prefix matches; the caller confirms each. */
static uint64_t idem_find(const ledger *L, const uint8_t digest[32], uint64_t *cursor)
{
    if (!L->idem_cap) return 0;
    uint64_t key;
    idem_key(digest, &key);
    for (uint64_t j = *cursor; L->idem[j & (L->idem_cap - 1)].key; j++) {
        const idem_slot *s = &L->idem[j & (L->idem_cap - 1)];
        if (j - (key & (L->idem_cap - 1)) > L->idem_cap) break;
        if (s->key == key) {
            *cursor = j + 1;
            return s->lsn;
        }
    }
    return 0;
}

/* Adds a scanned or appended record to the in-memory index. */
static stele_status index_add(ledger *L, const rechdr *h, const uint8_t hash[32], uint32_t seg,
                              uint64_t off, size_t len, util_err *e)
{
    STELE_ASSERT(h->lsn == L->head + 1);
    if (L->head == L->cap) {
        uint64_t cap = L->cap ? L->cap * 2 : 4096;
        recloc *loc = realloc(L->loc, cap * sizeof *loc);
        if (loc) L->loc = loc;
        merkle_hash *hs = loc ? realloc(L->hash, cap * sizeof *hs) : NULL;
        if (!hs) return util_fail(e, STELE_ENOMEM, "out of memory indexing the ledger");
        L->hash = hs;
        L->cap = cap;
    }
    L->loc[L->head] = (recloc){seg, (uint32_t)off, (uint32_t)len, h->kind};
    memcpy(L->hash[L->head], hash, 32);
    merkle_frontier_push(&L->frontier, hash);
    L->head = h->lsn;
    L->last_ts = h->timestamp_ns;
    L->log_bytes += len;
    if (h->kind == STELE_REC_CHECKPOINT) {
        if (L->nckpt == L->capckpt) {
            size_t cap = L->capckpt ? L->capckpt * 2 : 64;
            uint64_t *c = realloc(L->ckpts, cap * sizeof *c);
            if (!c) return util_fail(e, STELE_ENOMEM, "out of memory indexing checkpoints");
            L->ckpts = c;
            L->capckpt = cap;
        }
        L->ckpts[L->nckpt++] = h->lsn;
    }
    if (h->kind == STELE_REC_RECOVERY) L->nrecovery++;
    static const uint8_t zero[32];
    if (memcmp(h->idem_digest, zero, 32) != 0 && idem_put(L, h->idem_digest, h->lsn) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory indexing idempotency ids");
    return STELE_OK;
}

/* Drops records after lsn from the in-memory index (recovery cut). */
static void index_truncate(ledger *L, uint64_t lsn)
{
    STELE_ASSERT(lsn <= L->head);
    L->head = lsn;
    merkle_frontier_init(&L->frontier);
    L->log_bytes = 0;
    for (uint64_t i = 0; i < lsn; i++) {
        merkle_frontier_push(&L->frontier, L->hash[i]);
        L->log_bytes += L->loc[i].len;
    }
    while (L->nckpt && L->ckpts[L->nckpt - 1] > lsn) L->nckpt--;
    for (uint64_t i = 0; i < L->idem_cap; i++)
        if (L->idem[i].key && L->idem[i].lsn > lsn) {
            L->idem[i].key = 0; /* rebuilt below to keep probe chains intact */
            L->idem_count--;
        }
    if (L->idem_cap) { /* rehash to repair probe chains broken by removals */
        idem_slot *old = L->idem;
        uint64_t cap = L->idem_cap;
        L->idem = calloc(cap, sizeof *old);
        if (!L->idem) {
            L->idem = old; /* keep the old table; lookups confirm every hit anyway */
            return;
        }
        L->idem_count = 0;
        for (uint64_t i = 0; i < cap; i++)
            if (old[i].key) {
                uint64_t j = old[i].key & (cap - 1);
                while (L->idem[j].key) j = (j + 1) & (cap - 1);
                L->idem[j] = old[i];
                L->idem_count++;
            }
        free(old);
    }
}

/* ----------------------------------------------------------- scan windows */

const uint8_t *ledger_win_get(ledger_window *w, uint64_t off, size_t n)
{
    if (off + n > w->file_size) return NULL;
    if (off >= w->start && off + n <= w->start + w->len) return w->buf + (off - w->start);
    uint64_t want = w->file_size - off;
    if (want > LEDGER_WINDOW) want = LEDGER_WINDOW;
    ssize_t got = io_pread(w->fd, w->buf, (size_t)want, (off_t)off);
    if (got < 0 || (uint64_t)got < n) {
        w->err = got < 0 ? (int)got : -EIO;
        w->len = 0;
        return NULL;
    }
    w->start = off;
    w->len = (size_t)got;
    return w->buf + (off - w->start);
}

/* ------------------------------------------------------- segments on disk */

static stele_status seg_open(ledger *L, uint32_t i, util_err *e)
{
    lseg *s = &L->segs[i];
    memcpy(s->file_id, L->sb.segs[i].file_id, 16);
    s->seq = i;
    s->epoch = L->sb.segs[i].epoch;
    char path[4200];
    ledger_seg_path(L, s->file_id, path, sizeof path);
    s->fd = io_open(path, L->cfg.read_only ? O_RDONLY : O_RDWR, 0);
    if (s->fd < 0)
        return util_fail(e, s->fd == -ENOENT ? STELE_ECORRUPT : STELE_EIO,
                         "ledger segment %u ('%s') %s", i, path,
                         s->fd == -ENOENT ? "is missing: restore it from a backup"
                                          : strerror(-s->fd));
    off_t size = lseek(s->fd, 0, SEEK_END);
    if (size != (off_t)L->sb.segment_size)
        return util_fail(e, STELE_ECORRUPT,
                         "ledger segment %u ('%s') is %lld bytes, not %u: truncated or replaced",
                         i, path, (long long)size, L->sb.segment_size);
    uint8_t area[SEGHDR_AREA];
    seghdr h;
    ssize_t n = io_pread(s->fd, area, sizeof area, 0);
    /* The manifest names the key epoch each segment was sealed under (the AAD binds it). */
    stele_status rc = n == (ssize_t)sizeof area && s->epoch >= 1 && s->epoch <= L->keys->epoch
                          ? ledger_seg_key(L->keys, s->epoch, s->file_id, &s->rd, e)
                          : STELE_ECORRUPT;
    if (rc != STELE_OK && rc != STELE_ECORRUPT) return rc;
    if (rc != STELE_OK || seghdr_open(s->rd, L->keys->db_id, s->file_id, s->epoch, area, &h) != 0)
        return util_fail(e, STELE_ECORRUPT,
                         "ledger segment %u ('%s'): header not authentic (the file was damaged, "
                         "or swapped with or replaced by another file)", i, path);
    rc = ledger_seg_key(L->keys, s->epoch, s->file_id, &s->wr, e);
    if (rc != STELE_OK) return rc;
    if (h.seq != i || h.first_lsn != L->sb.segs[i].first_lsn)
        return util_fail(e, STELE_ECORRUPT,
                         "ledger segment %u ('%s') claims to be segment %u starting at LSN %llu: "
                         "files were swapped or replaced",
                         i, path, h.seq, (unsigned long long)h.first_lsn);
    return STELE_OK;
}

/* Segment files are made in two steps so that the slow one can run ahead of time
 * on a background thread: seg_prepare fills "<id>.tmp" with random bytes and syncs
 * it (no key needed); seg_finalize seals the header (which names the segment's
 * position and first LSN), syncs, renames it into place and syncs the directory. */
/* Pacing of a background preparation: keep the prepared fraction of the next
 * segment this far ahead of the current segment's fill level, so that its writes
 * trickle out instead of competing with the log's syncs in one burst. */
#define NEXT_SEG_LEAD_PCT 30

typedef struct seg_pace {
    ledger *L; /* NULL: no pacing (synchronous preparation) */
} seg_pace;

static void pace_wait(const seg_pace *pace, uint64_t done, uint32_t size)
{
    if (!pace || !pace->L) return;
    for (int i = 0; i < 10000; i++) { /* bounded: at most ~10 s of waiting in all */
        uint64_t fill = atomic_load(&pace->L->fill_a);
        if (atomic_load(&pace->L->next_seg_hurry) ||
            done * 100 < (fill * 100 / size + NEXT_SEG_LEAD_PCT) * (uint64_t)size)
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static stele_status seg_prepare(const char *dir, uint32_t size, uint8_t file_id[16],
                                const seg_pace *pace, util_err *e)
{
    crypto_random(file_id, 16);
    char hex[33], tmp[4200];
    crypto_hex(file_id, 16, hex);
    snprintf(tmp, sizeof tmp, "%s/data/%s.tmp", dir, hex);
    int fd = io_open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return util_fail(e, util_errno_status(-fd), "cannot create ledger segment '%s': %s",
                         tmp, strerror(-fd));
    size_t chunk = 1u << 20;
    uint8_t *b = malloc(chunk);
    int err = b ? 0 : -ENOMEM;
    for (uint64_t off = 0; err == 0 && off < size; off += chunk) {
        size_t n = (size - off < chunk) ? (size_t)(size - off) : chunk;
        pace_wait(pace, off, size);
        crypto_random_fill(b, n);
        err = io_pwrite(fd, b, n, (off_t)off);
        if (err == 0 && pace && pace->L) /* write back as we go, not in one burst */
            sync_file_range(fd, (off_t)off, (off_t)n, SYNC_FILE_RANGE_WRITE);
    }
    if (err == 0) err = io_fsync(fd);
    io_close(fd);
    free(b);
    if (err != 0) {
        unlink(tmp);
        return util_fail(e, util_errno_status(-err),
                         "cannot create a %u-byte ledger segment in '%s/data': %s%s", size, dir,
                         strerror(-err), err == -ENOSPC ? " (free some disk space and retry)" : "");
    }
    return STELE_OK;
}

static stele_status seg_finalize(const char *dir, const vault_dbkeys *k, uint32_t seq,
                                 uint64_t first_lsn, const uint8_t file_id[16], util_err *e)
{
    char hex[33], tmp[4200], path[4200], data[4200];
    crypto_hex(file_id, 16, hex);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(path, sizeof path, "%s/%s", data, hex);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    seghdr h = {.seq = seq, .first_lsn = first_lsn, .key_epoch = k->epoch};
    memcpy(h.db_id, k->db_id, 16);
    memcpy(h.file_id, file_id, 16);
    uint8_t area[SEGHDR_AREA];
    crypto_gcm *g = NULL;
    stele_status rc = ledger_seg_key(k, k->epoch, file_id, &g, e);
    if (rc != STELE_OK) return rc;
    int err = seghdr_seal(g, &h, area) != 0 ? -EIO : 0;
    crypto_gcm_free(g);
    int fd = err ? -1 : io_open(tmp, O_RDWR, 0);
    if (fd < 0 && !err) err = fd;
    if (err == 0) err = io_pwrite(fd, area, sizeof area, 0);
    if (err == 0) err = io_fdatasync(fd);
    if (fd >= 0) io_close(fd);
    if (err == 0) err = io_rename(tmp, path);
    if (err == 0) err = io_fsync_dir(data);
    if (err != 0) {
        unlink(tmp);
        return util_fail(e, util_errno_status(-err), "cannot set up ledger segment '%s': %s",
                         path, strerror(-err));
    }
    return STELE_OK;
}

static stele_status seg_create(const char *dir, const vault_dbkeys *k, uint32_t seq,
                               uint64_t first_lsn, uint32_t size, uint8_t file_id[16],
                               util_err *e)
{
    stele_status rc = seg_prepare(dir, size, file_id, NULL, e);
    return rc != STELE_OK ? rc : seg_finalize(dir, k, seq, first_lsn, file_id, e);
}

/* The background preparation of the next segment (state under L->mu). */
static void *next_seg_thread(void *arg)
{
    ledger *L = arg;
    util_err e;
    uint8_t id[16];
    seg_pace pace = {L};
    stele_status rc = seg_prepare(L->dir, L->sb.segment_size, id, &pace, &e);
    pthread_mutex_lock(&L->mu);
    memcpy(L->next_seg_id, id, 16);
    L->next_seg_state = rc == STELE_OK ? NEXT_SEG_READY : NEXT_SEG_NONE;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

/* Starts preparing the next segment as soon as there is none: filling and syncing
 * a segment takes a good part of the time the current one takes to fill under a
 * heavy load, and a roll that has to wait for it stalls every writer. */
static void next_seg_maybe_start(ledger *L)
{
    if (L->next_seg_state != NEXT_SEG_NONE) return;
    if (L->next_seg_joinable) pthread_join(L->next_seg_tid, NULL); /* finished earlier */
    L->next_seg_joinable = 0;
    L->next_seg_state = NEXT_SEG_PREPARING;
    if (pthread_create(&L->next_seg_tid, NULL, next_seg_thread, L) == 0)
        L->next_seg_joinable = 1;
    else
        L->next_seg_state = NEXT_SEG_NONE; /* the roll will make it synchronously */
}

/* Takes the prepared next segment, or makes one now. Lock held; never releases it
 * (the caller has already waited for a preparation in progress). */
static stele_status next_seg_take(ledger *L, uint8_t file_id[16], util_err *e)
{
    STELE_ASSERT(L->next_seg_state != NEXT_SEG_PREPARING);
    stele_status rc = STELE_OK;
    if (L->next_seg_state == NEXT_SEG_READY) memcpy(file_id, L->next_seg_id, 16);
    else rc = seg_prepare(L->dir, L->sb.segment_size, file_id, NULL, e);
    L->next_seg_state = NEXT_SEG_NONE;
    /* Write-intent step 1: the new file is named before it can appear in data/. */
    if (rc == STELE_OK)
        rc = ledger_intent_set_locked(L, SB_INTENT_ROLL, SB_PHASE_WRITING,
                                      (const uint8_t(*)[16])file_id, 1, e);
    if (rc == STELE_OK)
        rc = seg_finalize(L->dir, L->keys, L->nseg, L->head + 1, file_id, e);
    return rc;
}

/* Removes "*.tmp" files left in data/ by a crash (never part of the log). */
static void remove_stale_tmp(const char *dir)
{
    char data[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    DIR *d = opendir(data);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) {
            char p[4500];
            snprintf(p, sizeof p, "%s/%s", data, de->d_name);
            unlink(p);
        }
    }
    if (d) closedir(d);
}

stele_status ledger_sb_sync(ledger *L, int clean, util_err *e)
{
    L->sb.clean = (uint8_t)clean;
    L->sb.head_lsn = L->durable;
    if (L->durable) memcpy(L->sb.head_hash, L->hash[L->durable - 1], 32);
    else ledger_genesis_hash(L->keys->db_id, L->sb.head_hash);
    L->sb.generation = L->generation;
    L->sb.last_checkpoint_lsn = L->nckpt ? L->ckpts[L->nckpt - 1] : 0;
    stele_status rc = sb_write(L->dir, L->keys, L->sb_key, &L->sb, e);
    if (rc == STELE_OK) L->sb_damage[0] = 0; /* both copies rewritten */
    return rc;
}

_Static_assert(LEDGER_SEGMENT_MIN >= VAULT_KEYS_USED, "the smallest file holds the key slots");

uint32_t ledger_size_wanted(uint32_t requested)
{
    return requested ? requested : LEDGER_SEGMENT_DEFAULT;
}

stele_status ledger_create(const char *db_dir, const vault_dbkeys *k, uint32_t segment_size,
                           uint32_t checkpoint_every, util_err *e)
{
    segment_size = ledger_size_wanted(segment_size);
    if (checkpoint_every == 0) checkpoint_every = 1000;
    if (segment_size < LEDGER_SEGMENT_MIN || segment_size % FRAME_ALIGN)
        return util_fail(e, STELE_EINVAL,
                         "segment size %u is too small or unaligned (minimum %u, multiple of %u)",
                         segment_size, LEDGER_SEGMENT_MIN, FRAME_ALIGN);
    superblock sb;
    memset(&sb, 0, sizeof sb);
    memcpy(sb.db_id, k->db_id, 16);
    sb.generation = 1;
    sb.clean = 1;
    sb.segment_size = segment_size;
    sb.checkpoint_every = checkpoint_every;
    ledger_genesis_hash(k->db_id, sb.head_hash);
    memcpy(sb.sign_pk, k->sign_pk, 32);
    sb.flags = k->plaintext ? SB_FLAG_PLAINTEXT : 0;
    uint8_t file_id[16], key[32];
    stele_status rc = seg_create(db_dir, k, 0, 1, segment_size, file_id, e);
    if (rc == STELE_OK && sb_add_segment(&sb, file_id, 1, k->epoch) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK && vault_derive(k, "superblock", NULL, 0, key) != 0)
        rc = util_fail(e, STELE_EIO, "cannot derive the superblock key");
    if (rc == STELE_OK) rc = sb_write(db_dir, k, key, &sb, e);
    crypto_wipe(key, sizeof key);
    sb_release(&sb);
    return rc;
}

/* ------------------------------------------------------------- scanning */

typedef struct scan_state {
    uint64_t tail_off;     /* first byte after the last authentic frame (last segment) */
    uint64_t max_durable;  /* largest durable_lsn seen */
    uint32_t max_gen;
} scan_state;

static stele_status corrupt_at(ledger *L, util_err *e, uint32_t seg, uint64_t off,
                               const char *what)
{
    char path[4200];
    ledger_seg_path(L, L->segs[seg].file_id, path, sizeof path);
    return util_fail(e, STELE_ECORRUPT,
                     "ledger record LSN %llu in segment %u ('%s', offset %llu): %s",
                     (unsigned long long)(L->head + 1), seg, path, (unsigned long long)off, what);
}

/* Scans the frames of segment i, adding them to the index. In the last segment the
 * scan stops quietly at the first unauthentic or stale frame. */
static stele_status scan_segment(ledger *L, uint32_t i, ledger_window *w, scan_state *st, util_err *e)
{
    int last = (i + 1 == L->nseg);
    lseg *s = &L->segs[i];
    frame_place pl = {L->keys->db_id, s->file_id, s->epoch, i, 0};
    uint64_t off = SEGHDR_AREA;
    uint64_t prefix = FRAME_NONCE_BYTES + RECHDR_BYTES + CRYPTO_GCM_TAG_BYTES;
    w->fd = s->fd;
    w->file_size = L->sb.segment_size;
    w->start = w->len = 0;
    if (L->sb.segs[i].first_lsn != L->head + 1)
        return corrupt_at(L, e, i, off, "the segment does not start where the previous ended");
    for (;;) {
        uint8_t enc[RECHDR_BYTES], hash[32];
        rechdr h;
        const uint8_t *p = ledger_win_get(w, off, prefix);
        if (!p && w->err) return corrupt_at(L, e, i, off, "read failed");
        pl.offset = off;
        if (p && last && frame_open_header(s->rd, &pl, p, enc) != 0) {
            w->len = 0; /* drop the window: read this frame again before calling it the end */
            p = ledger_win_get(w, off, prefix);
            if (!p && w->err) return corrupt_at(L, e, i, off, "read failed");
        }
        if (!p || frame_open_header(s->rd, &pl, p, enc) != 0) break;
        if (rechdr_decode(enc, &h) != 0) return corrupt_at(L, e, i, off, "malformed header");
        if (last && h.generation < st->max_gen) break; /* stale frame of an older life */
        size_t fsize = frame_size(h.env_len);
        if (off + fsize > L->sb.segment_size)
            return corrupt_at(L, e, i, off, "frame runs past the end of the segment");
        if (h.lsn != L->head + 1)
            return corrupt_at(L, e, i, off, "out of sequence (records missing or reordered)");
        const uint8_t *prev = L->head ? L->hash[L->head - 1] : NULL;
        uint8_t genesis[32];
        if (!prev) {
            ledger_genesis_hash(L->keys->db_id, genesis);
            prev = genesis;
        }
        if (!crypto_equal(h.prev_hash, prev, 32))
            return corrupt_at(L, e, i, off, "hash chain broken (previous hash does not match)");
        if (h.timestamp_ns <= L->last_ts && L->head)
            return corrupt_at(L, e, i, off, "timestamp does not increase");
        rechdr_hash(enc, hash);
        stele_status rc = index_add(L, &h, hash, i, off, fsize, e);
        if (rc != STELE_OK) return rc;
        if (h.durable_lsn > st->max_durable) st->max_durable = h.durable_lsn;
        if (h.generation > st->max_gen) st->max_gen = h.generation;
        off += fsize;
    }
    st->tail_off = off;
    if (!last) {
        const sb_seg *ss = &L->sb.segs[i];
        if (L->head != ss->last_lsn || !crypto_equal(L->hash[L->head - 1], ss->last_hash, 32))
            return corrupt_at(L, e, i, off,
                              "not authentic, or the segment was truncated or replaced by an "
                              "older copy (the superblock records more records in it)");
    }
    return STELE_OK;
}

/* Checks payloads of records in (from, head] of the last segment; cuts the index
 * before the first that fails. Returns the number of records cut. */
static uint64_t cut_torn_payloads(ledger *L, uint64_t from, scan_state *st, stele_status *io)
{
    buf scratch;
    buf_init(&scratch);
    uint64_t cut = 0;
    for (uint64_t lsn = from + 1; lsn <= L->head; lsn++) {
        ledger_rec r;
        util_err e;
        stele_status rc = ledger_read_frame(L, lsn, &r, &scratch, &e);
        if (rc != STELE_OK) rc = ledger_read_frame(L, lsn, &r, &scratch, &e); /* transient? */
        if (rc == STELE_EIO) { /* cannot tell a torn write from a failed read: stop */
            *io = rc;
            break;
        }
        if (rc != STELE_OK) {
            cut = L->head - lsn + 1;
            st->tail_off = L->loc[lsn - 1].off;
            index_truncate(L, lsn - 1);
            break;
        }
    }
    buf_release(&scratch);
    return cut;
}

/* Looks for authentic frames after the tail (see the decision table). */
static stele_status probe_tail(ledger *L, ledger_window *w, scan_state *st, uint64_t *found,
                               util_err *e)
{
    uint32_t i = L->nseg - 1;
    lseg *s = &L->segs[i];
    frame_place pl = {L->keys->db_id, s->file_id, s->epoch, i, 0};
    uint64_t end = st->tail_off + LEDGER_FRAME_MAX;
    uint64_t prefix = FRAME_NONCE_BYTES + RECHDR_BYTES + CRYPTO_GCM_TAG_BYTES;
    if (end > L->sb.segment_size) end = L->sb.segment_size;
    *found = 0;
    for (uint64_t off = st->tail_off; off + prefix <= end; off += FRAME_ALIGN) {
        const uint8_t *p = ledger_win_get(w, off, prefix);
        uint8_t enc[RECHDR_BYTES];
        rechdr h;
        pl.offset = off;
        if (!p || frame_open_header(s->rd, &pl, p, enc) != 0 || rechdr_decode(enc, &h) != 0)
            continue;
        if (h.lsn <= L->head || h.generation < st->max_gen) continue;
        (*found)++;
        if (h.durable_lsn > L->head)
            return corrupt_at(L, e, i, st->tail_off,
                              "missing or not authentic, but a later record written after it "
                              "was made durable survives: the log was damaged");
    }
    return STELE_OK;
}

/* Overwrites the tail of the last segment with random bytes, so that no stale frame
 * from before the crash can ever be read as part of the log again. */
static stele_status scrub_tail(ledger *L, uint64_t from, util_err *e)
{
    lseg *s = &L->segs[L->nseg - 1];
    size_t chunk = 1u << 20;
    uint8_t *b = malloc(chunk);
    if (!b) return util_fail(e, STELE_ENOMEM, "out of memory");
    int err = 0;
    for (uint64_t off = from; err == 0 && off < L->sb.segment_size; off += chunk) {
        size_t n = (L->sb.segment_size - off < chunk) ? (size_t)(L->sb.segment_size - off) : chunk;
        crypto_random(b, n);
        err = io_pwrite(s->fd, b, n, (off_t)off);
    }
    free(b);
    if (err == 0) err = io_fdatasync(s->fd);
    if (err != 0)
        return util_fail(e, util_errno_status(-err), "recovery cannot scrub the ledger tail: %s",
                         strerror(-err));
    return STELE_OK;
}

static stele_status recover(ledger *L, scan_state *st, uint64_t known, uint64_t cut_records,
                            uint64_t stray_frames, util_err *e)
{
    uint32_t prev_gen = L->generation;
    L->generation = (st->max_gen > prev_gen ? st->max_gen : prev_gen) + 1;
    stele_status rc = scrub_tail(L, st->tail_off, e);
    if (rc != STELE_OK) return rc;
    L->wr_off = st->tail_off;
    L->written = L->durable = L->head;
    buf p;
    buf_init(&p);
    buf_printf(&p,
               "{\"event\":\"recovery\",\"reason\":\"unclean shutdown\",\"generation\":%u,"
               "\"previous_generation\":%u,\"known_committed_lsn\":%llu,"
               "\"recovery_point_lsn\":%llu,\"discarded_records\":%llu,"
               "\"discarded_unsynced_frames\":%llu,\"discarded_from_offset\":%llu}",
               L->generation, prev_gen, (unsigned long long)known, (unsigned long long)L->head,
               (unsigned long long)cut_records, (unsigned long long)stray_frames,
               (unsigned long long)st->tail_off);
    uint64_t lsn;
    pthread_mutex_lock(&L->mu);
    rc = ledger_append_locked(L, STELE_REC_RECOVERY, p.data, p.len, NULL, 0, &lsn, e);
    int saved = L->cfg.durability;
    L->cfg.durability = STELE_DURABLE_FSYNC; /* the recovery record is always synced */
    if (rc == STELE_OK) rc = ledger_commit_wait_locked(L, lsn, e);
    L->cfg.durability = saved;
    pthread_mutex_unlock(&L->mu);
    buf_release(&p);
    return rc;
}

static stele_status scan_all(ledger *L, util_err *e)
{
    ledger_window w = {.buf = malloc(LEDGER_WINDOW)};
    if (!w.buf) return util_fail(e, STELE_ENOMEM, "out of memory");
    scan_state st = {0};
    stele_status rc = STELE_OK;
    for (uint32_t i = 0; i < L->nseg && rc == STELE_OK; i++) rc = scan_segment(L, i, &w, &st, e);
    uint64_t known = st.max_durable > L->sb.head_lsn ? st.max_durable : L->sb.head_lsn;
    uint64_t cut = 0, stray = 0;
    int writable = !L->cfg.read_only;
    L->written = L->durable = L->head; /* scanned frames are on disk: readable from here */
    if (rc == STELE_OK && L->head < known)
        rc = corrupt_at(L, e, L->nseg - 1, st.tail_off,
                        "missing or not authentic, but it was durably committed (the superblock "
                        "or a later record says so): the log was truncated, rolled back or damaged");
    if (rc == STELE_OK && L->sb.clean && L->head != L->sb.head_lsn)
        rc = corrupt_at(L, e, L->nseg - 1, st.tail_off,
                        "the log goes past the head recorded at the last clean shutdown");
    if (rc == STELE_OK && !L->sb.clean && writable) {
        stele_status io = STELE_OK;
        cut = cut_torn_payloads(L, known, &st, &io);
        if (io != STELE_OK)
            rc = util_fail(e, io, "recovery cannot read the ledger tail; nothing was changed");
        if (rc == STELE_OK) rc = probe_tail(L, &w, &st, &stray, e);
    }
    free(w.buf);
    L->wr_off = st.tail_off;
    L->written = L->durable = L->head;
    L->generation = L->sb.generation > st.max_gen ? L->sb.generation : st.max_gen;
    if (rc == STELE_OK && !L->sb.clean && writable) rc = recover(L, &st, known, cut, stray, e);
    return rc;
}

/* ------------------------------------------------------------ open/close */

void ledger_retired_release_locked(ledger *L, int all)
{
    if (!all && atomic_load(&L->reads_a) != 0) return; /* a read may hold one */
    for (uint32_t i = 0; i < L->nretired; i++) seg_close(&L->retired[i]);
    L->nretired = 0;
}

static void ledger_free(ledger *L)
{
    if (!L) return;
    ledger_reencrypt_join(L); /* it uses everything below */
    flusher_stop(L);
    atomic_store(&L->next_seg_hurry, 1);
    if (L->next_seg_joinable) pthread_join(L->next_seg_tid, NULL);
    if (L->next_seg_state == NEXT_SEG_READY) { /* prepared, never used */
        char hex[33], p[4300];
        crypto_hex(L->next_seg_id, 16, hex);
        snprintf(p, sizeof p, "%s/data/%s.tmp", L->dir, hex);
        unlink(p);
    }
    crypto_secure_free(L->rng);
    for (uint32_t i = 0; i < L->nseg; i++) seg_close(&L->segs[i]);
    free(L->segs);
    ledger_retired_release_locked(L, 1);
    free(L->retired);
    sb_release(&L->sb);
    free(L->loc);
    free(L->hash);
    free(L->ckpts);
    free(L->idem);
    buf_release(&L->pend);
    buf_release(&L->spare);
    buf_release(&L->env);
    crypto_wipe(L->sb_key, sizeof L->sb_key);
    lock_release(L->lock_fd);
    pthread_mutex_destroy(&L->mu);
    pthread_mutex_destroy(&L->rd_mu);
    pthread_cond_destroy(&L->cv);
    pthread_cond_destroy(&L->delay_cv);
    pthread_cond_destroy(&L->flusher_cv);
    free(L);
}

static stele_status open_segments(ledger *L, util_err *e)
{
    L->segs = calloc(L->sb.nseg, sizeof *L->segs);
    if (!L->segs) return util_fail(e, STELE_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < L->sb.nseg; i++) L->segs[i].fd = -1;
    L->nseg = L->sb.nseg;
    for (uint32_t i = 0; i < L->nseg; i++) {
        stele_status rc = seg_open(L, i, e);
        if (rc != STELE_OK) return rc;
    }
    return STELE_OK;
}

/* Reads the manifest: its copies under the newest epoch's names and key, or an older
 * epoch's if a key rotation was interrupted before the manifest was rewritten (the next
 * write moves it to the newest: L->sb_key is always the newest epoch's). */
static stele_status sb_read_any_epoch(ledger *L, util_err *e)
{
    const vault_dbkeys *k = L->keys;
    stele_status rc = STELE_ECORRUPT;
    util_err first;
    util_err_clear(&first);
    for (uint32_t ep = k->epoch; ep >= 1 && rc == STELE_ECORRUPT; ep--) {
        uint8_t key[32];
        if (vault_derive_epoch(k, ep, "superblock", NULL, 0, key) != 0)
            return util_fail(e, STELE_EIO, "cannot derive the superblock key");
        rc = sb_read_at(L->dir, k, ep, key, &L->sb, L->sb_damage, sizeof L->sb_damage,
                        ep == k->epoch ? &first : e);
        crypto_wipe(key, sizeof key);
    }
    if (rc == STELE_ECORRUPT) *e = first;
    /* One copy under the newest epoch and the other under an older one is a rotation
     * interrupted between the two copies, not damage: the next write rewrites both. */
    for (uint32_t ep = k->epoch - 1; rc == STELE_OK && L->sb_damage[0] && ep >= 1; ep--) {
        uint8_t key[32];
        superblock old;
        char dmg[sizeof L->sb_damage];
        util_err ignored;
        if (vault_derive_epoch(k, ep, "superblock", NULL, 0, key) != 0) break;
        if (sb_read_at(L->dir, k, ep, key, &old, dmg, sizeof dmg, &ignored) == STELE_OK) {
            if (old.seq < L->sb.seq) L->sb_damage[0] = 0;
            sb_release(&old);
        }
        crypto_wipe(key, sizeof key);
    }
    if (rc == STELE_OK && vault_derive(k, "superblock", NULL, 0, L->sb_key) != 0)
        return util_fail(e, STELE_EIO, "cannot derive the superblock key");
    return rc;
}

stele_status ledger_refuse_write(const ledger *L, util_err *e)
{
    if (L->cfg.reader) return util_fail(e, STELE_EACCESS, "no access: %s", L->name);
    return util_fail(e, STELE_EREADONLY, "%s is open read-only", L->name);
}

stele_status ledger_rekey(ledger *L, util_err *e)
{
    pthread_mutex_lock(&L->mu);
    stele_status rc = STELE_OK;
    if (vault_derive(L->keys, "superblock", NULL, 0, L->sb_key) != 0)
        rc = util_fail(e, STELE_EIO, "cannot derive the superblock key");
    pthread_mutex_unlock(&L->mu);
    return rc;
}

stele_status ledger_open(const char *db_dir, vault_dbkeys *k, const uint8_t author[16],
                         const ledger_config *cfg, ledger **out, util_err *e)
{
    *out = NULL;
    ledger *L = calloc(1, sizeof *L);
    if (!L) return util_fail(e, STELE_ENOMEM, "out of memory");
    L->lock_fd = -1;
    pthread_mutex_init(&L->mu, NULL);
    pthread_mutex_init(&L->rd_mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    pthread_cond_init(&L->delay_cv, NULL);
    pthread_cond_init(&L->flusher_cv, NULL);
    L->rng = crypto_secure_alloc(sizeof *L->rng);
    if (L->rng) crypto_rng_init(L->rng);
    util_strlcpy(L->dir, db_dir, sizeof L->dir);
    util_strlcpy(L->name, cfg->name ? cfg->name : "database", sizeof L->name);
    L->keys = k;
    L->cfg = *cfg;
    memcpy(L->author, author, 16);
    merkle_frontier_init(&L->frontier);
    buf_init(&L->pend);
    buf_init(&L->spare);
    buf_init(&L->env);
    stele_status rc = L->rng ? STELE_OK : util_fail(e, STELE_ENOMEM, "out of secure memory");
    if (rc == STELE_OK && !cfg->read_only) {
        char lock[4200];
        snprintf(lock, sizeof lock, "%s/lock", db_dir);
        rc = lock_acquire(lock, L->name, &L->lock_fd, e);
        if (rc == STELE_OK) remove_stale_tmp(db_dir);
    }
    if (rc == STELE_OK) rc = sb_read_any_epoch(L, e);
    if (rc == STELE_OK) L->opened_clean = L->sb.clean;
    /* Sealed or plaintext data files: the (sealed) superblock decides, for every box. */
    if (rc == STELE_OK) k->plaintext = (L->sb.flags & SB_FLAG_PLAINTEXT) != 0;
    if (rc == STELE_OK && !crypto_equal(L->sb.sign_pk, k->sign_pk, 32))
        rc = util_fail(e, STELE_ECORRUPT, "the manifest and the key slot file disagree on the "
                                          "database's public key");
    if (rc == STELE_OK && !cfg->read_only) rc = ledger_intent_recover(L, e);
    /* A copy torn by a crash (it is overwritten in place) is repaired by the writer, and
     * a key rotation interrupted before the manifest moved to the newest epoch's copies
     * (or before the older copies were removed) is finished, as an intent would be. */
    int moved = rc == STELE_OK && !cfg->read_only &&
                (L->sb.key_epoch != k->epoch || sb_old_copies_exist(db_dir, k));
    if (rc == STELE_OK && !cfg->read_only && (L->sb_damage[0] || moved)) {
        rc = sb_write(db_dir, k, L->sb_key, &L->sb, e);
        if (rc == STELE_OK) L->sb_damage[0] = 0;
        if (rc == STELE_OK && moved) sb_remove_old_copies(db_dir, k);
    }
    if (rc == STELE_OK) rc = open_segments(L, e);
    if (rc == STELE_OK) rc = scan_all(L, e);
    if (rc == STELE_OK) (void)ledger_files_check(L, 0, L->files_damage, sizeof L->files_damage);
    if (rc == STELE_OK) {
        pthread_mutex_lock(&L->mu);
        publish_locked(L);
        pthread_mutex_unlock(&L->mu);
    }
    /* A writable handle marks the superblock unclean before its first append (see
     * ledger_append_locked), not here: opening and not writing changes nothing. */
    if (rc != STELE_OK) {
        ledger_free(L);
        return rc;
    }
    flusher_start(L);
    *out = L;
    return STELE_OK;
}

stele_status ledger_close(ledger *L, int checkpoint, util_err *e)
{
    return ledger_close_v(L, checkpoint, NULL, e);
}

uint64_t ledger_manifest_version(ledger *L)
{
    pthread_mutex_lock(&L->mu);
    uint64_t v = L->sb.seq;
    pthread_mutex_unlock(&L->mu);
    return v;
}

stele_status ledger_close_v(ledger *L, int checkpoint, uint64_t *version, util_err *e)
{
    if (version) *version = 0;
    if (!L) return STELE_OK;
    ledger_reencrypt_join(L); /* to its end: its manifest writes come before "clean" */
    stele_status rc = STELE_OK;
    if (!L->cfg.read_only && !L->failed && L->sb_marked) {
        /* the flusher keeps running through the closing checkpoint; it is stopped
         * in ledger_free after everything is durable */
        uint64_t last_ck = L->nckpt ? L->ckpts[L->nckpt - 1] : 0;
        if (checkpoint && L->head > last_ck && L->appended_since_open)
            rc = ledger_checkpoint(L, NULL, e);
        pthread_mutex_lock(&L->mu);
        int saved = L->cfg.durability;
        L->cfg.durability = STELE_DURABLE_FSYNC; /* everything synced before "clean" */
        if (rc == STELE_OK && L->head) rc = ledger_commit_wait_locked(L, L->head, e);
        L->cfg.durability = saved;
        if (rc == STELE_OK && L->nseg) {
            int err = io_fdatasync(L->segs[L->nseg - 1].fd);
            if (err) rc = util_fail(e, util_errno_status(-err), "sync failed: %s", strerror(-err));
        }
        if (rc == STELE_OK) rc = ledger_sb_sync(L, 1, e);
        /* only a manifest this close wrote and synced is known to be on disk */
        if (version && rc == STELE_OK) *version = L->sb.seq;
        pthread_mutex_unlock(&L->mu);
    }
    if (rc == STELE_OK && L->reenc_rc != STELE_OK) /* not reported by a wait */
        rc = util_fail(e, L->reenc_rc, "%s", L->reenc_msg);
    ledger_free(L);
    return rc;
}

uint64_t ledger_head(ledger *L)
{
    pthread_mutex_lock(&L->mu);
    uint64_t h = L->head;
    pthread_mutex_unlock(&L->mu);
    return h;
}

/* --------------------------------------------------------------- appends */

/* Writers waiting for durability sleep on a futex word (L->epoch) and read the
 * published state (durable_a, flushing_a, failed_a) without the mutex, so that a
 * finished sync does not make every woken writer queue for the lock. Invariant:
 * whoever changes durable, flushing or failed (with the lock held) calls
 * publish_locked, which bumps the epoch and wakes the sleepers. */
static void futex_wait_u32(_Atomic uint32_t *word, uint32_t seen)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
    atomic_fetch_add(word, 1);
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Publishes durable/flushing/failed and wakes their waiters: the writers of batch
 * `only` (>= 0, the flusher's finished batch), or everyone (-1). */
static void publish_batch_locked(ledger *L, int64_t only)
{
    atomic_store(&L->durable_a, L->durable);
    atomic_store(&L->flushing_a, L->flushing);
    atomic_store(&L->failed_a, L->failed != STELE_OK);
    futex_wake_all(&L->epoch);
    if (only >= 0) {
        futex_wake_all(&L->bword[only & 1]);
    } else {
        futex_wake_all(&L->bword[0]);
        futex_wake_all(&L->bword[1]);
    }
    pthread_cond_broadcast(&L->cv); /* rolls, closes and back-pressure waiters */
}

static void publish_locked(ledger *L) { publish_batch_locked(L, -1); }

static stele_status set_failed(ledger *L, int err, const char *what, util_err *e)
{
    L->failed = util_errno_status(-err);
    snprintf(L->failed_msg, sizeof L->failed_msg,
             "%s failed: %s; the database handle is now read-only-failed: close and reopen it "
             "(reopening recovers)%s",
             what, strerror(-err), err == -ENOSPC ? " after freeing disk space" : "");
    publish_locked(L);
    return util_fail(e, L->failed, "%s", L->failed_msg);
}

/* Writes (and syncs, if asked) everything pending, with the lock held. */
static stele_status flush_locked(ledger *L, int sync, util_err *e)
{
    while (L->flushing) pthread_cond_wait(&L->cv, &L->mu);
    if (L->failed) return util_fail(e, STELE_EFAILED, "%s", L->failed_msg);
    int fd = L->segs[L->nseg - 1].fd;
    if (L->pend.len) {
        int err = io_pwrite(fd, L->pend.data, L->pend.len, (off_t)L->pend_off);
        if (err) return set_failed(L, err, "ledger write", e);
        L->written = L->pend_last;
        L->pend_off += L->pend.len;
        L->pend.len = 0;
    }
    if (sync && L->durable < L->written) {
        int err = io_fdatasync(fd);
        if (err) return set_failed(L, err, "ledger fsync", e);
        L->durable = L->written;
        publish_locked(L);
    }
    return STELE_OK;
}

stele_status ledger_fail_locked(ledger *L, stele_status rc, util_err *e)
{
    if (rc == STELE_OK || L->failed) return rc;
    L->failed = rc;
    snprintf(L->failed_msg, sizeof L->failed_msg, "%s", e ? e->msg : "write failed");
    publish_locked(L);
    return rc;
}

/* Starts a new segment when the next frame does not fit in the current one. */
static stele_status roll_segment(ledger *L, size_t fsize, util_err *e)
{
    /* Both waits release the lock, so another writer may roll meanwhile: re-check
     * after them; from the check on, nothing here releases the lock. */
    stele_status rc = flush_locked(L, 1, e);
    if (rc != STELE_OK) return rc;
    atomic_store(&L->next_seg_hurry, 1); /* a roll is waiting: no more pacing */
    /* ... and a re-encryption's swap may hold the write intent (reencrypt.c) */
    while (L->next_seg_state == NEXT_SEG_PREPARING || L->reenc_intent)
        pthread_cond_wait(&L->cv, &L->mu);
    atomic_store(&L->next_seg_hurry, 0);
    if (L->failed) return util_fail(e, STELE_EFAILED, "%s", L->failed_msg);
    if (L->wr_off + fsize <= L->sb.segment_size) return STELE_OK; /* rolled meanwhile */
    if (L->pend.len) return STELE_OK; /* others appended meanwhile: flush again first */
    uint8_t file_id[16];
    rc = next_seg_take(L, file_id, e);
    if (rc != STELE_OK) return ledger_fail_locked(L, rc, e);
    lseg *segs = realloc(L->segs, (L->nseg + 1) * sizeof *segs);
    if (!segs) return util_fail(e, STELE_ENOMEM, "out of memory");
    L->segs = segs;
    sb_seg *prev = &L->sb.segs[L->nseg - 1];
    char path[4200];
    ledger_seg_path(L, prev->file_id, path, sizeof path);
    rc = ledger_file_hash_twice(path, prev->file_hash, e); /* closed: never changes again */
    if (rc != STELE_OK) return ledger_fail_locked(L, rc, e);
    prev->last_lsn = L->head;
    memcpy(prev->last_hash, L->hash[L->head - 1], 32);
    if (sb_add_segment(&L->sb, file_id, L->head + 1, L->keys->epoch) != 0 ||
        sb_set_intent(&L->sb, 0, 0, NULL, 0) != 0) /* step 3 ends the roll's intent */
        return util_fail(e, STELE_ENOMEM, "out of memory");
    memset(&L->segs[L->nseg], 0, sizeof *L->segs);
    L->segs[L->nseg].fd = -1;
    L->nseg++;
    rc = seg_open(L, L->nseg - 1, e);
    if (rc == STELE_OK) rc = ledger_sb_sync(L, 0, e);
    if (rc != STELE_OK) return ledger_fail_locked(L, rc, e);
    L->wr_off = SEGHDR_AREA;
    L->pend_off = SEGHDR_AREA;
    return STELE_OK;
}

stele_status ledger_make_room_locked(ledger *L, size_t fsize, util_err *e)
{
    while (L->wr_off + fsize > L->sb.segment_size) {
        if (L->failed) return util_fail(e, STELE_EFAILED, "%s", L->failed_msg);
        stele_status rc = roll_segment(L, fsize, e);
        if (rc != STELE_OK) return rc;
    }
    return STELE_OK;
}

stele_status ledger_append_locked(ledger *L, int kind, const void *payload, size_t len,
                                  const uint8_t *idem, size_t idem_len, uint64_t *lsn,
                                  util_err *e)
{
    STELE_ASSERT(len <= LEDGER_PAYLOAD_MAX && idem_len <= LEDGER_IDEM_MAX);
    if (L->failed) return util_fail(e, STELE_EFAILED, "%s", L->failed_msg);
    if (!L->sb_marked) { /* from here until a clean close, a crash must be recoverable */
        stele_status rc = ledger_sb_sync(L, 0, e);
        if (rc != STELE_OK) return ledger_fail_locked(L, rc, e);
        L->sb_marked = 1;
    }
    /* After a key rotation, nothing more goes into a segment of an older epoch: a
     * member removed at the rotation holds its key. */
    for (int tries = 0; L->head > 0 && L->segs[L->nseg - 1].epoch != L->keys->epoch; tries++) {
        if (tries == 64) return util_fail(e, STELE_EIO, "cannot start a segment of the new key "
                                          "epoch (writers keep appending); retry");
        stele_status rc = roll_segment(L, L->sb.segment_size, e);
        if (rc != STELE_OK) return rc;
    }
    size_t env_len = ENVELOPE_FIXED + idem_len + len;
    size_t fsize = frame_size(env_len);
    if (SEGHDR_AREA + fsize > L->sb.segment_size)
        return util_fail(e, STELE_ETOOBIG, "a %zu-byte record does not fit in a %u-byte segment",
                         len, L->sb.segment_size);
    if (L->wr_off + fsize > L->sb.segment_size) {
        stele_status rc = ledger_make_room_locked(L, fsize, e);
        if (rc != STELE_OK) return rc;
    }
    if (L->pend.len == 0) L->pend_off = L->wr_off;
    STELE_ASSERT(L->pend_off + L->pend.len == L->wr_off);
    L->env.len = 0;
    if (buf_reserve(&L->env, env_len) != 0 || buf_reserve(&L->pend, fsize) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    envelope_build(L->rng, idem, idem_len, payload, len, L->env.data);
    rechdr h;
    memset(&h, 0, sizeof h);
    h.lsn = L->head + 1;
    uint64_t now = util_now_ns();
    h.timestamp_ns = now > L->last_ts ? now : L->last_ts + 1;
    h.kind = (uint8_t)kind;
    h.generation = L->generation;
    h.payload_len = (uint32_t)len;
    h.env_len = (uint32_t)env_len;
    memcpy(h.author, L->author, 16);
    if (idem_len) crypto_sha256(idem, idem_len, h.idem_digest);
    envelope_payload_hash(L->env.data, L->env.data + ENVELOPE_FIXED + idem_len, len,
                          h.payload_hash);
    if (L->head) memcpy(h.prev_hash, L->hash[L->head - 1], 32);
    else ledger_genesis_hash(L->keys->db_id, h.prev_hash);
    h.durable_lsn = L->durable;
    uint8_t enc[RECHDR_BYTES], hash[32];
    rechdr_encode(&h, enc);
    rechdr_hash(enc, hash);
    uint32_t seg = L->nseg - 1;
    frame_place pl = {L->keys->db_id, L->segs[seg].file_id, L->segs[seg].epoch, seg,
                      L->wr_off};
    if (frame_seal(L->segs[seg].wr, L->rng, &pl, enc, L->env.data, env_len,
                   L->pend.data + L->pend.len))
        return util_fail(e, STELE_EIO, "cannot seal a ledger record");
    stele_status rc = index_add(L, &h, hash, seg, L->wr_off, fsize, e);
    if (rc != STELE_OK) return rc;
    if (L->pend.len == 0) L->pend_count = 0;
    L->pend.len += fsize;
    L->pend_last = h.lsn;
    L->pend_count++;
    atomic_store(&L->fill_a, L->wr_off);
    next_seg_maybe_start(L);
    L->wr_off += fsize;
    L->appended_since_open++;
    *lsn = h.lsn;
    return STELE_OK;
}

/* Waits up to group_max_delay_us for more writers to join a batch (GROUP only). */
static void group_delay_locked(ledger *L)
{
    if (L->cfg.durability != STELE_DURABLE_GROUP || !L->cfg.group_max_delay_us) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)L->cfg.group_max_delay_us * 1000u;
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(&L->delay_cv, &L->mu, &ts);
}

/* One flush round: take the pending batch, write and sync it with the lock released,
 * publish the result, waking that batch's writers. Lock held on entry and exit. */
static void lead_flush(ledger *L)
{
    L->flushing = 1;
    atomic_store(&L->flushing_a, 1);
    group_delay_locked(L);
    buf batch = L->pend;
    L->pend = L->spare;
    L->pend.len = 0;
    uint64_t off = L->pend_off, last = L->pend_last, id = L->batch++;
    L->pend_off += batch.len;
    int fd = L->segs[L->nseg - 1].fd;
    pthread_mutex_unlock(&L->mu);
    int err = batch.len ? io_pwrite(fd, batch.data, batch.len, (off_t)off) : 0;
    const char *what = "ledger write";
    if (err == 0) {
        err = io_fdatasync(fd);
        what = "ledger fsync";
    }
    pthread_mutex_lock(&L->mu);
    batch.len = 0;
    L->spare = batch;
    L->flushing = 0;
    if (err) {
        set_failed(L, err, what, NULL); /* publishes to everyone */
        return;
    }
    if (last > L->written) L->written = last;
    if (last > L->durable) L->durable = last;
    publish_batch_locked(L, (int64_t)id);
}

/* The GROUP flusher: syncs whatever is pending, back to back, until stopped. */
static void *flusher_main(void *arg)
{
    ledger *L = arg;
    pthread_mutex_lock(&L->mu);
    while (!L->failed) {
        while (!L->flusher_stop && (L->pend.len == 0 || L->flushing)) {
            L->flusher_idle = 1;
            pthread_cond_wait(&L->flusher_cv, &L->mu);
            L->flusher_idle = 0;
        }
        if (L->flusher_stop && L->pend.len == 0) break;
        if (!L->flushing && L->pend.len) lead_flush(L);
    }
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

static void flusher_start(ledger *L)
{
    if (L->cfg.read_only || L->cfg.durability != STELE_DURABLE_GROUP) return;
    L->flusher_on = pthread_create(&L->flusher, NULL, flusher_main, L) == 0;
}

static void flusher_stop(ledger *L)
{
    if (!L->flusher_on) return;
    pthread_mutex_lock(&L->mu);
    L->flusher_stop = 1;
    pthread_cond_signal(&L->flusher_cv);
    pthread_mutex_unlock(&L->mu);
    pthread_join(L->flusher, NULL);
    L->flusher_on = 0;
}

/* Sleeps without the lock until the batch holding lsn is published. */
static void wait_batch_unlock(ledger *L, uint64_t lsn)
{
    int in_pend = L->pend.len && lsn > L->pend_last - L->pend_count;
    _Atomic uint32_t *word = &L->bword[(in_pend ? L->batch : L->batch - 1) & 1];
    uint32_t seen = atomic_load(word);
    if (in_pend && L->flusher_idle) pthread_cond_signal(&L->flusher_cv);
    pthread_mutex_unlock(&L->mu);
    while (atomic_load(&L->durable_a) < lsn && !atomic_load(&L->failed_a)) {
        futex_wait_u32(word, seen); /* returns at once if the word moved */
        seen = atomic_load(word);
    }
}

/* Waits until lsn meets the policy. Entered with the lock held; returns with it
 * released. Sleeps without the lock; takes it only to lead a flush (FSYNC, or
 * GROUP without a flusher thread) or to report a failure. */
static stele_status commit_wait_unlock(ledger *L, uint64_t lsn, util_err *e)
{
    if (L->cfg.durability == STELE_DURABLE_NONE) {
        stele_status rc = L->written >= lsn ? STELE_OK : flush_locked(L, 0, e);
        pthread_mutex_unlock(&L->mu);
        return rc;
    }
    for (;;) { /* the lock is held at the top of each round */
        if (L->durable >= lsn) break;
        if (L->failed) {
            stele_status rc = util_fail(e, STELE_EFAILED, "%s", L->failed_msg);
            pthread_mutex_unlock(&L->mu);
            return rc;
        }
        if (L->flusher_on && !L->flusher_stop) {
            wait_batch_unlock(L, lsn);
        } else if (!L->flushing) {
            lead_flush(L);
            continue;
        } else {
            uint32_t seen = atomic_load(&L->epoch);
            pthread_mutex_unlock(&L->mu);
            while (atomic_load(&L->durable_a) < lsn && !atomic_load(&L->failed_a) &&
                   atomic_load(&L->flushing_a)) {
                futex_wait_u32(&L->epoch, seen); /* returns at once if the epoch moved */
                seen = atomic_load(&L->epoch);
            }
        }
        if (atomic_load(&L->durable_a) >= lsn) return STELE_OK;
        pthread_mutex_lock(&L->mu); /* no flush running, or a failure: decide locked */
    }
    pthread_mutex_unlock(&L->mu);
    return STELE_OK;
}

stele_status ledger_commit_wait_locked(ledger *L, uint64_t lsn, util_err *e)
{
    stele_status rc = commit_wait_unlock(L, lsn, e);
    pthread_mutex_lock(&L->mu);
    return rc;
}

static stele_status read_located(ledger *L, uint64_t lsn, recloc loc, const uint8_t want[32],
                                 lseg s, ledger_rec *out, buf *scratch, util_err *e);
static stele_status locate_locked(ledger *L, uint64_t lsn, recloc *loc, uint8_t want[32],
                                  lseg *s, util_err *e);

/* Confirms a candidate of the idempotency map by reading its header (lock held). */
static int idem_confirm(ledger *L, uint64_t lsn, const uint8_t digest[32])
{
    buf scratch;
    buf_init(&scratch);
    ledger_rec r;
    recloc loc = {0};
    uint8_t want[32];
    lseg s;
    int same = locate_locked(L, lsn, &loc, want, &s, NULL) == STELE_OK &&
               read_located(L, lsn, loc, want, s, &r, &scratch, NULL) == STELE_OK &&
               crypto_equal(r.idem_digest, digest, 32);
    buf_release(&scratch);
    return same;
}

/* LSN of the committed record with this idempotency id, or 0 (lock held). */
static uint64_t idem_lookup_locked(ledger *L, const char *idem, size_t idem_len)
{
    uint8_t digest[32];
    crypto_sha256(idem, idem_len, digest);
    uint64_t cursor = get_u64(digest) ? get_u64(digest) : 1, cand, found = 0;
    cursor &= L->idem_cap ? (L->idem_cap - 1) : 0;
    while (!found && (cand = idem_find(L, digest, &cursor)) != 0) {
        if (cand > L->written) found = cand; /* in flight: cannot read it yet, trust map */
        else if (idem_confirm(L, cand, digest)) found = cand;
    }
    return found;
}

stele_status ledger_idem_lookup(ledger *L, const char *idem, size_t idem_len, uint64_t *lsn,
                                util_err *e)
{
    *lsn = 0;
    if (idem_len > LEDGER_IDEM_MAX)
        return util_fail(e, STELE_ETOOBIG, "idempotency id of %zu bytes is longer than %u",
                         idem_len, LEDGER_IDEM_MAX);
    pthread_mutex_lock(&L->mu);
    uint64_t found = idem_len ? idem_lookup_locked(L, idem, idem_len) : 0;
    stele_status rc = found ? ledger_commit_wait_locked(L, found, e) : STELE_OK;
    pthread_mutex_unlock(&L->mu);
    if (rc == STELE_OK) *lsn = found;
    return rc;
}

stele_status ledger_append(ledger *L, int kind, const void *payload, size_t len,
                           const char *idem, size_t idem_len, uint64_t *lsn, uint64_t *ts,
                           int *dup, util_err *e)
{
    if (dup) *dup = 0;
    if (ts) *ts = 0;
    if (L->cfg.read_only) return ledger_refuse_write(L, e);
    if (len > LEDGER_PAYLOAD_MAX)
        return util_fail(e, STELE_ETOOBIG, "record of %zu bytes is larger than the %u-byte limit",
                         len, LEDGER_PAYLOAD_MAX);
    if (idem_len > LEDGER_IDEM_MAX)
        return util_fail(e, STELE_ETOOBIG, "idempotency id of %zu bytes is longer than %u",
                         idem_len, LEDGER_IDEM_MAX);
    pthread_mutex_lock(&L->mu);
    stele_status rc = STELE_OK;
    uint64_t found = 0;
    if (idem_len) found = idem_lookup_locked(L, idem, idem_len);
    if (found) {
        if (dup) *dup = 1;
        *lsn = found;
        rc = ledger_commit_wait_locked(L, found, e);
        pthread_mutex_unlock(&L->mu);
        return rc;
    }
    while (L->flushing && L->pend.len >= LEDGER_BATCH_MAX) pthread_cond_wait(&L->cv, &L->mu);
    rc = ledger_append_locked(L, kind, payload, len, (const uint8_t *)idem, idem_len, lsn, e);
    if (rc == STELE_OK && ts) *ts = L->last_ts; /* the record's: it is the newest */
    uint64_t wait_for = *lsn;
    uint64_t last_ck = L->nckpt ? L->ckpts[L->nckpt - 1] : 0;
    if (rc == STELE_OK && L->sb.checkpoint_every && L->head - last_ck >= L->sb.checkpoint_every)
        rc = ledger_make_room_locked(L, LEDGER_CKPT_FRAME, e); /* may let others append */
    last_ck = L->nckpt ? L->ckpts[L->nckpt - 1] : 0;
    if (rc == STELE_OK && L->sb.checkpoint_every && L->head - last_ck >= L->sb.checkpoint_every) {
        buf p;
        buf_init(&p);
        uint64_t ck;
        rc = ledger_checkpoint_payload_locked(L, &p, e);
        if (rc == STELE_OK)
            rc = ledger_append_locked(L, STELE_REC_CHECKPOINT, p.data, p.len, NULL, 0, &ck, e);
        if (rc == STELE_OK) wait_for = ck; /* written with the record: the head is readable */
        buf_release(&p);
    }
    if (rc != STELE_OK) {
        pthread_mutex_unlock(&L->mu);
        return rc;
    }
    return commit_wait_unlock(L, wait_for, e);
}

/* ----------------------------------------------------------------- reads */

/* Reads and authenticates the frame of lsn at loc; `want` is its indexed hash. */
static stele_status read_located(ledger *L, uint64_t lsn, recloc loc, const uint8_t want[32],
                                 lseg s, ledger_rec *out, buf *scratch, util_err *e)
{
    scratch->len = 0;
    if (buf_reserve(scratch, 2 * (size_t)loc.len) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    uint8_t *frame = scratch->data, *env = scratch->data + loc.len;
    ssize_t n = io_pread(s.fd, frame, loc.len, (off_t)loc.off);
    char path[4200];
    ledger_seg_path(L, s.file_id, path, sizeof path);
    if (n != (ssize_t)loc.len)
        return util_fail(e, STELE_EIO, "cannot read record LSN %llu from '%s': %s",
                         (unsigned long long)lsn, path, n < 0 ? strerror((int)-n) : "short read");
    frame_place pl = {L->keys->db_id, s.file_id, s.epoch, loc.seg, loc.off};
    rechdr h;
    pthread_mutex_lock(&L->rd_mu);
    int bad = frame_open_header(s.rd, &pl, frame, out->header) != 0 ||
              rechdr_decode(out->header, &h) != 0 || frame_size(h.env_len) != loc.len ||
              frame_open_envelope(s.rd, &pl, frame, h.env_len, env) != 0;
    pthread_mutex_unlock(&L->rd_mu);
    rechdr_hash(out->header, out->hash);
    if (bad || h.lsn != lsn || !crypto_equal(out->hash, want, 32))
        return util_fail(e, STELE_ECORRUPT,
                         "record LSN %llu in '%s' (offset %u) is not authentic",
                         (unsigned long long)lsn, path, loc.off);
    const uint8_t *idem, *payload;
    size_t idem_len;
    uint8_t ph[32];
    if (envelope_parse(env, h.env_len, h.payload_len, &idem, &idem_len, &payload) != 0)
        return util_fail(e, STELE_ECORRUPT, "record LSN %llu in '%s': malformed envelope",
                         (unsigned long long)lsn, path);
    envelope_payload_hash(env, payload, h.payload_len, ph);
    if (!crypto_equal(ph, h.payload_hash, 32))
        return util_fail(e, STELE_ECORRUPT, "record LSN %llu in '%s': payload hash mismatch",
                         (unsigned long long)lsn, path);
    out->lsn = h.lsn;
    out->timestamp_ns = h.timestamp_ns;
    out->durable_lsn = h.durable_lsn;
    out->kind = h.kind;
    out->generation = h.generation;
    memcpy(out->author, h.author, 16);
    memcpy(out->prev_hash, h.prev_hash, 32);
    memcpy(out->payload_hash, h.payload_hash, 32);
    memcpy(out->idem_digest, h.idem_digest, 32);
    out->salt = env;
    out->idem = idem;
    out->idem_len = idem_len;
    out->payload = payload;
    out->payload_len = h.payload_len;
    return STELE_OK;
}

/* Copies what a read needs out of the index; the caller holds L->mu. */
static stele_status locate_locked(ledger *L, uint64_t lsn, recloc *loc, uint8_t want[32],
                                  lseg *s, util_err *e)
{
    if (lsn == 0 || lsn > L->written)
        return util_fail(e, STELE_ENOTFOUND, "no record LSN %llu (the head is %llu)",
                         (unsigned long long)lsn, (unsigned long long)L->written);
    *loc = L->loc[lsn - 1];
    memcpy(want, L->hash[lsn - 1], 32);
    *s = L->segs[loc->seg];
    return STELE_OK;
}

stele_status ledger_read_frame(ledger *L, uint64_t lsn, ledger_rec *out, buf *scratch,
                               util_err *e)
{
    recloc loc = {0};
    uint8_t want[32];
    lseg s;
    pthread_mutex_lock(&L->mu);
    stele_status rc = locate_locked(L, lsn, &loc, want, &s, e);
    if (rc == STELE_OK) atomic_fetch_add(&L->reads_a, 1); /* s stays open (retired) */
    pthread_mutex_unlock(&L->mu);
    if (rc != STELE_OK) return rc;
    rc = read_located(L, lsn, loc, want, s, out, scratch, e);
    atomic_fetch_sub(&L->reads_a, 1);
    return rc;
}

int ledger_kind(ledger *L, uint64_t lsn)
{
    pthread_mutex_lock(&L->mu);
    int kind = lsn >= 1 && lsn <= L->written ? L->loc[lsn - 1].kind : -1;
    pthread_mutex_unlock(&L->mu);
    return kind;
}

stele_status ledger_read(ledger *L, uint64_t lsn, ledger_rec *out, buf *scratch, util_err *e)
{
    return ledger_read_frame(L, lsn, out, scratch, e);
}

/* ------------------------------------------------------------- snapshots */

int ledger_snapshot_get(ledger *L, ledger_snapinfo *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&L->mu);
    int rc = 0;
    out->lsn = L->sb.snap_lsn;
    memcpy(out->hash, L->sb.snap_hash, 32);
    out->bytes = L->sb.snap_bytes;
    out->epoch = L->sb.snap_epoch;
    if (L->sb.nfrag) {
        out->frags = malloc((size_t)L->sb.nfrag * 16);
        if (out->frags) {
            memcpy(out->frags, L->sb.frags, (size_t)L->sb.nfrag * 16);
            out->nfrag = L->sb.nfrag;
        } else {
            rc = -1;
        }
    }
    pthread_mutex_unlock(&L->mu);
    return rc;
}

stele_status ledger_snapshot_set(ledger *L, uint64_t lsn, uint64_t bytes,
                                 const uint8_t (*frags)[16], const uint8_t (*hashes)[32],
                                 uint32_t nfrag, util_err *e)
{
    if (L->cfg.read_only) return ledger_refuse_write(L, e);
    STELE_ASSERT(nfrag > 0 && nfrag <= SB_MAX_FRAGS);
    uint8_t (*copy)[16] = malloc((size_t)nfrag * 16);
    uint8_t (*hcopy)[32] = malloc((size_t)nfrag * 32);
    if (!copy || !hcopy) {
        free(copy);
        free(hcopy);
        return util_fail(e, STELE_ENOMEM, "out of memory");
    }
    memcpy(copy, frags, (size_t)nfrag * 16);
    memcpy(hcopy, hashes, (size_t)nfrag * 32);
    pthread_mutex_lock(&L->mu);
    stele_status rc = STELE_OK;
    if (lsn == 0 || lsn > L->head)
        rc = util_fail(e, STELE_EINVAL, "snapshot at LSN %llu: no such record",
                       (unsigned long long)lsn);
    if (rc == STELE_OK && L->durable < lsn) { /* a snapshot never runs ahead of the disk */
        int saved = L->cfg.durability;
        L->cfg.durability = STELE_DURABLE_FSYNC;
        rc = ledger_commit_wait_locked(L, lsn, e);
        L->cfg.durability = saved;
    }
    /* Step 3: the new fragments in force; the old ones are listed for removal. */
    if (rc == STELE_OK &&
        sb_set_intent(&L->sb, L->sb.nfrag ? SB_INTENT_SNAPSHOT : 0,
                      L->sb.nfrag ? SB_PHASE_REMOVING : 0, (const uint8_t(*)[16])L->sb.frags,
                      L->sb.nfrag) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) {
        free(L->sb.frags);
        L->sb.frags = copy;
        copy = NULL;
        free(L->sb.frag_hash);
        L->sb.frag_hash = hcopy;
        hcopy = NULL;
        L->sb.snap_epoch = L->keys->epoch;
        L->sb.nfrag = nfrag;
        L->sb.snap_lsn = lsn;
        L->sb.snap_bytes = bytes;
        memcpy(L->sb.snap_hash, L->hash[lsn - 1], 32);
        rc = ledger_fail_locked(L, ledger_sb_sync(L, L->sb_marked ? 0 : L->sb.clean, e), e);
    }
    pthread_mutex_unlock(&L->mu);
    free(copy);
    free(hcopy);
    return rc;
}

int ledger_record_hash(ledger *L, uint64_t lsn, uint8_t out[32])
{
    pthread_mutex_lock(&L->mu);
    int ok = lsn >= 1 && lsn <= L->head;
    if (ok) memcpy(out, L->hash[lsn - 1], 32);
    pthread_mutex_unlock(&L->mu);
    return ok ? 0 : -1;
}

int ledger_is_segment(ledger *L, const uint8_t file_id[16])
{
    pthread_mutex_lock(&L->mu);
    int found = 0;
    for (uint32_t i = 0; i < L->nseg && !found; i++)
        found = memcmp(L->segs[i].file_id, file_id, 16) == 0;
    pthread_mutex_unlock(&L->mu);
    return found;
}

uint32_t ledger_file_size(ledger *L) { return L->sb.segment_size; }

void ledger_settings_get(ledger *L, uint8_t pk[32], uint64_t *version, uint64_t *counter)
{
    pthread_mutex_lock(&L->mu);
    memcpy(pk, L->sb.set_pk, 32);
    *version = L->sb.set_version;
    *counter = L->sb.set_counter;
    pthread_mutex_unlock(&L->mu);
}

void ledger_settings_note(ledger *L, const uint8_t pk[32], uint64_t version, uint64_t counter)
{
    STELE_ASSERT(!L->cfg.read_only);
    pthread_mutex_lock(&L->mu);
    memcpy(L->sb.set_pk, pk, 32);
    L->sb.set_version = version;
    L->sb.set_counter = counter;
    pthread_mutex_unlock(&L->mu);
}

const char *ledger_dir(const ledger *L) { return L->dir; }

const vault_dbkeys *ledger_keys(const ledger *L) { return L->keys; }
