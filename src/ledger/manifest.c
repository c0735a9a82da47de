/*
 * manifest.c — the files of data/ against the signed manifest (superblock.h): whole-file
 * hashes, the listing check (a missing, unknown or replaced file is named with what to
 * do), and write intents with their recovery at open. Layer: ledger.
 *
 * Write-intent protocol (seed 000 milestone 4; docs/FORMAT.md "Write intents"):
 *   1. the manifest is written (both copies synced) with intent phase 1 naming the new
 *      files; the files it names in force do not change;
 *   2. the new files are written, synced, renamed into place, the directory synced;
 *   3. the manifest is written naming the new files, with intent phase 2 naming the
 *      files they replace (or with no intent when nothing is replaced);
 *   4. the replaced files are removed, the directory synced;
 *   5. the manifest is written with no intent.
 * Recovery (ledger_intent_recover, writable open), as a decision table:
 *   intent none        -> nothing to do
 *   phase 1 (writing)  -> remove every listed file (and its .tmp) that exists: roll back
 *   phase 2 (removing) -> remove every listed file that still exists: finish
 *   then write the manifest with no intent.
 * A reader uses the manifest as it is: in phase 1 the old files are in force, in
 * phase 2 the new ones; the listed files are expected and never reported as unknown.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/ledger_int.h"
#include "util/io.h"

#define PATH_CAP 4300
#define HASH_CHUNK (1u << 20)

stele_status ledger_file_hash(const char *path, uint8_t out[32], util_err *e)
{
    int fd = io_open(path, O_RDONLY, 0);
    if (fd < 0)
        return util_fail(e, fd == -ENOENT ? STELE_ENOTFOUND : STELE_EIO, "cannot read '%s': %s",
                         path, strerror(-fd));
    uint8_t *b = malloc(HASH_CHUNK);
    crypto_sha256_ctx *c = crypto_sha256_begin();
    ssize_t n = b && c ? 1 : -ENOMEM;
    for (off_t off = 0; n > 0; off += n) { /* bounded by the file size */
        n = io_pread(fd, b, HASH_CHUNK, off);
        if (n > 0) crypto_sha256_update(c, b, (size_t)n);
    }
    io_close(fd);
    free(b);
    int bad = c ? crypto_sha256_end(c, out) != 0 : 1;
    if (n < 0 || bad)
        return util_fail(e, n == -ENOMEM || bad ? STELE_ENOMEM : STELE_EIO,
                         "cannot hash '%s': %s", path, strerror(n < 0 ? (int)-n : ENOMEM));
    return STELE_OK;
}

stele_status ledger_file_hash_twice(const char *path, uint8_t out[32], util_err *e)
{
    uint8_t again[32];
    stele_status rc = ledger_file_hash(path, out, e);
    if (rc == STELE_OK) rc = ledger_file_hash(path, again, e);
    if (rc == STELE_OK && memcmp(out, again, 32) != 0)
        rc = util_fail(e, STELE_EIO, "two reads of '%s' gave different bytes: the disk or "
                       "its driver is failing; copy the database elsewhere", path);
    return rc;
}

stele_status ledger_intent_set_locked(ledger *L, int op, int phase, const uint8_t (*ids)[16],
                                      uint32_t n, util_err *e)
{
    if (sb_set_intent(&L->sb, op, phase, ids, n) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    return ledger_sb_sync(L, L->sb_marked ? 0 : L->sb.clean, e);
}

stele_status ledger_intent_begin(ledger *L, const uint8_t (*ids)[16], uint32_t n, util_err *e)
{
    if (L->cfg.read_only) return util_fail(e, STELE_EREADONLY, "the database is open read-only");
    pthread_mutex_lock(&L->mu);
    ledger_intent_wait_locked(L);
    stele_status rc = L->failed ? util_fail(e, STELE_EFAILED, "%s", L->failed_msg) : STELE_OK;
    STELE_ASSERT(rc != STELE_OK || L->sb.intent_op == SB_INTENT_NONE);
    if (rc == STELE_OK)
        rc = ledger_fail_locked(
            L, ledger_intent_set_locked(L, SB_INTENT_SNAPSHOT, SB_PHASE_WRITING, ids, n, e), e);
    pthread_mutex_unlock(&L->mu);
    return rc;
}

stele_status ledger_intent_add(ledger *L, const uint8_t (*ids)[16], uint32_t n, util_err *e)
{
    if (L->cfg.read_only) return util_fail(e, STELE_EREADONLY, "the database is open read-only");
    pthread_mutex_lock(&L->mu);
    ledger_intent_wait_locked(L);
    uint32_t have = L->sb.intent_op == SB_INTENT_NONE ? 0 : L->sb.nintent;
    stele_status rc = L->failed ? util_fail(e, STELE_EFAILED, "%s", L->failed_msg) : STELE_OK;
    STELE_ASSERT(rc != STELE_OK || have == 0 || (L->sb.intent_op == SB_INTENT_SNAPSHOT &&
                                                 L->sb.intent_phase == SB_PHASE_WRITING));
    if (rc == STELE_OK && (uint64_t)have + n > SB_MAX_INTENT)
        rc = util_fail(e, STELE_ETOOBIG, "a snapshot of more than %u files", SB_MAX_INTENT);
    uint8_t (*all)[16] = rc == STELE_OK ? malloc(((size_t)have + n + 1) * 16) : NULL;
    if (rc == STELE_OK && !all) rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) {
        if (have) memcpy(all, L->sb.intent, (size_t)have * 16);
        if (n) memcpy(all + have, ids, (size_t)n * 16);
        rc = ledger_fail_locked(L, ledger_intent_set_locked(L, SB_INTENT_SNAPSHOT,
                                                            SB_PHASE_WRITING,
                                                            (const uint8_t(*)[16])all,
                                                            have + n, e), e);
    }
    pthread_mutex_unlock(&L->mu);
    free(all);
    return rc;
}

uint32_t ledger_snapshot_epoch(ledger *L)
{
    pthread_mutex_lock(&L->mu);
    uint32_t ep = L->sb.snap_epoch;
    pthread_mutex_unlock(&L->mu);
    return ep;
}

stele_status ledger_intent_clear(ledger *L, util_err *e)
{
    pthread_mutex_lock(&L->mu);
    stele_status rc = STELE_OK;
    /* never a background re-encryption's (reencrypt.c ends its own) */
    if (L->sb.intent_op != SB_INTENT_NONE && !L->reenc_intent)
        rc = ledger_fail_locked(L, ledger_intent_set_locked(L, 0, 0, NULL, 0, e), e);
    pthread_cond_broadcast(&L->cv); /* a background re-encryption may wait for it */
    pthread_mutex_unlock(&L->mu);
    return rc;
}

static void data_path(const ledger *L, const uint8_t id[16], const char *sfx, char *out)
{
    char hex[33];
    crypto_hex(id, 16, hex);
    snprintf(out, PATH_CAP, "%s/data/%s%s", L->dir, hex, sfx);
}

stele_status ledger_intent_recover(ledger *L, util_err *e)
{
    if (L->sb.intent_op == SB_INTENT_NONE) return STELE_OK;
    STELE_ASSERT(!L->cfg.read_only);
    for (uint32_t i = 0; i < L->sb.nintent; i++) {
        char p[PATH_CAP];
        data_path(L, L->sb.intent[i], "", p);
        int err = io_unlink(p);
        if (err == 0 || err == -ENOENT) {
            data_path(L, L->sb.intent[i], ".tmp", p);
            err = io_unlink(p);
        }
        if (err != 0 && err != -ENOENT)
            return util_fail(e, util_errno_status(-err),
                             "recovery of an interrupted write cannot remove '%s': %s", p,
                             strerror(-err));
    }
    char data[PATH_CAP];
    snprintf(data, sizeof data, "%s/data", L->dir);
    int err = io_fsync_dir(data);
    if (err) return util_fail(e, util_errno_status(-err), "cannot sync '%s': %s", data,
                              strerror(-err));
    if (sb_set_intent(&L->sb, 0, 0, NULL, 0) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    return sb_write(L->dir, L->keys, L->sb_key, &L->sb, e); /* head etc. as they were */
}

/* ------------------------------------------------------------ file check */

/* One file the manifest names. */
typedef struct mfile {
    uint8_t id[16];
    const char *kind; /* "segment", "snapshot fragment", "manifest copy", "intent" */
    uint32_t index;
    int required;     /* must exist */
    int hashed;       /* hash must match */
    uint8_t hash[32];
    int seen;
} mfile;

typedef struct mlist {
    mfile *f;
    size_t n;
    uint64_t version;
    uint32_t size;
} mlist;

static void mlist_add(mlist *m, const uint8_t id[16], const char *kind, uint32_t index,
                      int required, const uint8_t *hash)
{
    mfile *f = &m->f[m->n++];
    memset(f, 0, sizeof *f);
    memcpy(f->id, id, 16);
    f->kind = kind;
    f->index = index;
    f->required = required;
    f->hashed = hash != NULL;
    if (hash) memcpy(f->hash, hash, 32);
}

static int mlist_build(const ledger *L, const superblock *sb, mlist *m)
{
    static const uint8_t zero[32];
    m->f = malloc(((size_t)sb->nseg + sb->nfrag + sb->nintent + 2 * (size_t)L->keys->epoch + 1) *
                  sizeof *m->f);
    if (!m->f) return -1;
    m->n = 0;
    m->version = sb->seq;
    m->size = sb->segment_size;
    for (uint32_t i = 0; i < sb->nseg; i++) {
        const sb_seg *s = &sb->segs[i];
        int closed = s->last_lsn != 0 && memcmp(s->file_hash, zero, 32) != 0;
        mlist_add(m, s->file_id, "segment", i, 1, closed ? s->file_hash : NULL);
    }
    for (uint32_t i = 0; i < sb->nfrag; i++)
        mlist_add(m, sb->frags[i], "snapshot fragment", i, 1, sb->frag_hash[i]);
    /* The copies of every key epoch: the newest epoch's are the manifest; an older
     * epoch's may remain after a rotation interrupted before sb_write removed them. */
    for (uint32_t ep = L->keys->epoch; ep >= 1; ep--)
        for (int i = 0; i < 2; i++) {
            uint8_t id[16];
            if (sb_copy_id_at(L->keys, ep, i, id) != 0) return -1;
            mlist_add(m, id, "manifest copy", (uint32_t)i, 0, NULL);
        }
    for (uint32_t i = 0; i < sb->nintent; i++)
        mlist_add(m, sb->intent[i], "file of an interrupted write", i, 0, NULL);
    /* The key slot file: not in the manifest (it changes under share and rename, and
     * its body, sealed under the newest key, authenticates it), but one of data/. */
    uint8_t kid[16];
    if (vault_slots_id(L->keys->db_id, kid) != 0) return -1;
    mlist_add(m, kid, "key slot file", 0, 1, NULL);
    return 0;
}

static mfile *mlist_find(mlist *m, const uint8_t id[16])
{
    for (size_t i = 0; i < m->n; i++)
        if (memcmp(m->f[i].id, id, 16) == 0) return &m->f[i];
    return NULL;
}

/* Notes a problem: the first message is kept, the rest counted. */
static void problem(int *count, char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(int *count, char *msg, size_t cap, const char *fmt, ...)
{
    if ((*count)++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
}

/* Every entry of data/ must be named by the manifest (or be a ".tmp" in progress). */
static void check_listing(const ledger *L, mlist *m, int *count, char *msg, size_t cap)
{
    char data[PATH_CAP];
    snprintf(data, sizeof data, "%s/data", L->dir);
    DIR *d = opendir(data);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        uint8_t id[16];
        if (nm[0] == '.' || (len > 4 && strcmp(nm + len - 4, ".tmp") == 0)) continue;
        mfile *f = len == 32 && crypto_unhex(nm, id, 16) == 0 ? mlist_find(m, id) : NULL;
        if (f) {
            f->seen = 1;
            continue;
        }
        problem(count, msg, cap,
                "data/%s is not named by the manifest (version %llu): a file restored "
                "from an older backup or copied in; it is not used: move it out of data/",
                nm, (unsigned long long)m->version);
    }
    if (d) closedir(d);
}

static void check_file(const ledger *L, mfile *f, int full, uint32_t size, int *count,
                       char *msg, size_t cap)
{
    char hex[33], path[PATH_CAP];
    crypto_hex(f->id, 16, hex);
    snprintf(path, sizeof path, "%s/data/%s", L->dir, hex);
    struct stat st;
    if (!f->required) return;
    if (!f->seen || stat(path, &st) != 0) {
        problem(count, msg, cap,
                "data/%s (%s %u) is missing: restore it from the backup the manifest "
                "comes from (all files of data/ must come from the same backup)",
                hex, f->kind, f->index);
        return;
    }
    if (st.st_size != (off_t)size) {
        problem(count, msg, cap, "data/%s (%s %u) is %llu bytes, not the database's file "
                "size: truncated or replaced; restore it from a backup", hex, f->kind,
                f->index, (unsigned long long)st.st_size);
        return;
    }
    uint8_t h[32];
    util_err e;
    if (!full || !f->hashed) return;
    if (ledger_file_hash(path, h, &e) != STELE_OK || memcmp(h, f->hash, 32) != 0)
        problem(count, msg, cap,
                "data/%s (%s %u) is not the file the manifest names (its hash differs): "
                "it was replaced or rolled back to another copy; restore it from the backup "
                "the manifest comes from", hex, f->kind, f->index);
}

int ledger_files_check(ledger *L, int full, char *msg, size_t cap)
{
    superblock fresh, *sb = &L->sb;
    mlist m = {0};
    int count = 0, have_fresh = 0;
    msg[0] = 0;
    if (L->cfg.read_only) { /* a writer may have moved on since this handle opened */
        char dmg[256];
        util_err e;
        have_fresh = sb_read(L->dir, L->keys, L->sb_key, &fresh, dmg, sizeof dmg, &e) == STELE_OK;
        if (have_fresh) sb = &fresh;
    }
    pthread_mutex_lock(&L->mu);
    int bad = mlist_build(L, sb, &m);
    pthread_mutex_unlock(&L->mu);
    if (have_fresh) sb_release(&fresh);
    if (bad) {
        free(m.f);
        util_strlcpy(msg, "out of memory checking the files of data/", cap);
        return 1;
    }
    check_listing(L, &m, &count, msg, cap);
    for (size_t i = 0; i < m.n; i++) check_file(L, &m.f[i], full, m.size, &count, msg, cap);
    free(m.f);
    if (count > 1) {
        char more[64];
        snprintf(more, sizeof more, " (and %d more problems)", count - 1);
        if (strlen(msg) + strlen(more) < cap) strcat(msg, more);
    }
    return count;
}
