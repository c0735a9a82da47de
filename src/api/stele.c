/*
 * stele.c — the public API (include/stele.h) over the vault and ledger layers.
 * Layer: api (the top of the library; the CLI and server sit above it).
 * This file turns internal errors into statuses plus messages, resolves names to
 * ids, and owns the lifetime of unlocked keys (wiped in stele_close).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "model/doc.h"
#include "model/edges.h"
#include "model/state.h"
#include "model/txn.h"
#include "index/index.h"
#include "query/filter.h"
#include "query/graph.h"
#include "query/result.h"
#include <roaring/roaring.h>
#include "util/io.h"
#include "util/util.h"
#include "vault/anchor.h"
#include "vault/settings.h"
#include "vault/vault.h"
#include "store/partition.h"
#include "store/snapshot.h"
#include "api/api_int.h"
#include "api/docs_int.h"

const char *stele_strerror(stele_status code)
{
    switch (code) {
    case STELE_OK: return "ok";
    case STELE_EINVAL: return "invalid argument or malformed input";
    case STELE_ENOMEM: return "out of memory";
    case STELE_EIO: return "input/output error";
    case STELE_ECORRUPT: return "data is not authentic or is inconsistent";
    case STELE_EPASSWORD: return "wrong password";
    case STELE_ENOTFOUND: return "not found";
    case STELE_EEXIST: return "already exists";
    case STELE_ELOCKED: return "in use by another process";
    case STELE_ENOSPC: return "disk full";
    case STELE_EFAILED: return "handle failed after an I/O error; close and reopen";
    case STELE_EREADONLY: return "opened read-only";
    case STELE_ETOOBIG: return "a limit was exceeded";
    case STELE_EPROOF: return "proof does not verify";
    case STELE_EVERSION: return "unsupported format version";
    case STELE_ECONFLICT: return "revision conflict";
    case STELE_EBACKOFF: return "too many wrong passwords; wait before trying again";
    case STELE_EACCESS: return "no access";
    case STELE_EUNTRUSTED: return "signed settings refused";
    default: return "unknown error";
    }
}

void stele_free(void *p) { free(p); }

const char *stele_errmsg(const stele *db) { return db ? db->err.msg : "out of memory"; }

void api_copy_err(const util_err *e, char *errbuf, size_t cap)
{
    if (errbuf && cap) util_strlcpy(errbuf, e->msg, cap);
}

stele_status api_init_check(void)
{
    return crypto_init() == 0 ? STELE_OK : STELE_EIO;
}

/* ------------------------------------------------------------ store init */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes what a failed init made: the whole directory if init created it. */
static void init_cleanup(const char *dir, int dir_existed)
{
    if (!dir_existed) {
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return;
    }
    const char *sub[] = {"users", "dbs", "config"};
    for (size_t i = 0; i < 3; i++) {
        char p[VAULT_PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
        nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

stele_status stele_store_init(const stele_init_options *o, char *errbuf, size_t errcap)
{
    util_err e;
    util_err_clear(&e);
    if (api_init_check() != STELE_OK) {
        util_fail(&e, STELE_EIO, "cannot initialise libsodium");
        api_copy_err(&e, errbuf, errcap);
        return STELE_EIO;
    }
    if (!o || !o->store_dir || !o->user || !o->password || strlen(o->store_dir) > 3000) {
        util_fail(&e, STELE_EINVAL, "store directory (at most 3000 bytes), user and password "
                                    "are required");
        api_copy_err(&e, errbuf, errcap);
        return STELE_EINVAL;
    }
    int existed = io_exists(o->store_dir);
    uint8_t db_id[VAULT_ID_BYTES], *dek = NULL;
    vault_user u;
    vault_dbkeys k = {0};
    char db_dir[VAULT_PATH_MAX];
    crypto_random(db_id, sizeof db_id);
    stele_status rc = vault_name_ok(o->user)
                          ? STELE_OK
                          : util_fail(&e, STELE_EINVAL,
                                      "invalid user name '%s': use 1-64 letters, digits, '.', "
                                      "'_' or '-'", o->user);
    if (rc == STELE_OK && o->password_len == 0)
        rc = util_fail(&e, STELE_EINVAL, "the password must not be empty");
    if (rc == STELE_OK) rc = vault_store_create(o->store_dir, &e);
    if (rc == STELE_EEXIST) {
        api_copy_err(&e, errbuf, errcap);
        return rc; /* someone else's store: touch nothing */
    }
    if (rc == STELE_OK)
        rc = vault_user_create(o->store_dir, o->user, o->password, o->password_len,
                               o->kdf == STELE_KDF_INSECURE_TEST, db_id, &u, &dek, &e);
    vault_db_dir(o->store_dir, db_id, db_dir, sizeof db_dir);
    if (rc == STELE_OK)
        rc = vault_db_create(db_dir, &u, dek, db_id, "primary", ledger_size_wanted(o->segment_size),
                             u.box_pk, &k, &e); /* the first user is the store's admin */
    k.plaintext = o->no_encryption != 0;
    if (rc == STELE_OK) rc = ledger_create(db_dir, &k, o->segment_size, o->checkpoint_every, &e);
    if (rc == STELE_OK) rc = vault_store_finish(o->store_dir, &e);
    vault_dbkeys_release(&k);
    crypto_secure_free(dek);
    if (rc != STELE_OK) {
        init_cleanup(o->store_dir, existed);
        api_copy_err(&e, errbuf, errcap);
    }
    return rc;
}

stele_status stele_passwd(const char *store_dir, const char *user, const char *old_password,
                          size_t old_len, const char *new_password, size_t new_len, char *errbuf,
                          size_t errcap)
{
    util_err e;
    util_err_clear(&e);
    stele_status rc = api_init_check();
    if (rc != STELE_OK) util_fail(&e, rc, "cannot initialise libsodium");
    if (rc == STELE_OK && (!store_dir || !user || strlen(store_dir) > 3000))
        rc = util_fail(&e, STELE_EINVAL, "store directory (at most 3000 bytes) and user are "
                                         "required");
    if (rc == STELE_OK && new_len == 0)
        rc = util_fail(&e, STELE_EINVAL, "the new password must not be empty");
    if (rc == STELE_OK) rc = vault_store_check(store_dir, &e);
    if (rc == STELE_OK)
        rc = vault_user_passwd(store_dir, user, old_password, old_len, new_password, new_len, &e);
    if (rc != STELE_OK) api_copy_err(&e, errbuf, errcap);
    return rc;
}

/* ------------------------------------------------------------- databases */

/* Makes the explicit text indices those the state defines: a built one whose language
 * is not its definition's (a lazy english one, say) goes; one defined by record `lsn`
 * is built now (create_index builds at once); older definitions are built by the
 * first $text (after an open: dindex_text); built ones whose definition was dropped go. */
static stele_status text_sync(stele *db, uint64_t lsn)
{
    mstate_idef d;
    int is_explicit;
    for (size_t i = 0; mstate_index_def(db->docs, i, &d); i++) {
        if (d.kind != MSTATE_INDEX_TEXT) continue;
        const fts *t = dindex_text_find(db->idx, d.coll, d.path, NULL);
        if (t && strcmp(fts_lang(t), d.lang) != 0) dindex_text_drop(db->idx, d.coll, d.path);
        else if (t) dindex_text_set_explicit(db->idx, d.coll, d.path, 1);
        util_err le = {0};
        if (d.lsn == lsn && !dindex_text(db->idx, db->docs, d.coll, d.path, &le))
            return util_fail(&db->err, le.code, "building the text index on '%s': %s", d.path,
                             le.msg);
    }
    for (size_t i = dindex_text_count(db->idx); i-- > 0;) {
        const fts *t = dindex_text_at(db->idx, i, &is_explicit);
        if (is_explicit && !mstate_text_lang(db->docs, fts_coll(t), fts_path(t), UINT64_MAX))
            dindex_text_drop(db->idx, fts_coll(t), fts_path(t));
    }
    return STELE_OK;
}

/* Makes the index layer's explicit indices those the state defines (create_index /
 * drop_index ops) after record lsn (0: at open): builds the new value indices, drops
 * the dropped ones; text indices by text_sync. */
static stele_status index_sync(stele *db, uint64_t lsn)
{
    mstate_idef d;
    uint32_t c;
    const char *path;
    for (size_t i = 0; mstate_index_def(db->docs, i, &d); i++)
        if (d.kind == MSTATE_INDEX_VALUE &&
            (dindex_ensure(db->idx, db->docs, d.coll, d.path) != 0 ||
             dindex_set_explicit(db->idx, d.coll, d.path, 1) != 0))
            return util_fail(&db->err, STELE_ENOMEM, "out of memory building index '%s'", d.path);
    uint64_t n;
    dindex_sizes(db->idx, &n, NULL);
    for (size_t i = n; i-- > 0;) {
        int is_explicit;
        dindex_at(db->idx, i, &c, &path, &is_explicit);
        if (is_explicit && !mstate_index_defined(db->docs, c, path, MSTATE_INDEX_VALUE))
            dindex_drop(db->idx, c, path);
    }
    return text_sync(db, lsn);
}

/* Applies a transaction's parts (one, or every part of a multi-part transaction) in
 * order, as one transaction at one LSN, leaving the changes marked in the state: at the
 * record's LSN, time and author when replaying; at MSTATE_LSN_TENTATIVE before the
 * record is written (the writer's check, kept if the append succeeds). On failure the
 * state is as before. */
static stele_status docs_stage(stele *db, const api_part *parts, size_t n, uint64_t lsn,
                               uint64_t ts, const uint8_t author[16])
{
    STELE_ASSERT(n > 0 && parts);
    if (mstate_mark(db->docs) != 0) return util_fail(&db->err, STELE_ENOMEM, "out of memory");
    stele_status rc = STELE_OK;
    for (size_t i = 0; i < n && rc == STELE_OK; i++)
        rc = txn_apply(db->docs, parts[i].sdoc, parts[i].len, lsn, ts, author, &db->err);
    rc = api_lazy_check(db, rc); /* checked against versions that could not be read */
    if (rc != STELE_OK) mstate_rollback(db->docs);
    return rc;
}

/* Keeps the staged changes of record lsn: the state journals the documents it changed,
 * and each is re-indexed from its version before this record to its newest one. */
static stele_status docs_keep(stele *db, uint64_t lsn)
{
    STELE_ASSERT(lsn > 0 && lsn < MSTATE_LSN_TENTATIVE);
    stele_status rc = STELE_OK;
    size_t nj;
    const uint32_t *touched = mstate_journal(db->docs, &nj);
    roaring_bitmap_t *done = roaring_bitmap_create();
    for (size_t i = 0; done && i < nj && rc == STELE_OK; i++) {
        uint32_t d = touched[i];
        if (roaring_bitmap_contains(done, d)) continue;
        roaring_bitmap_add(done, d);
        if (dindex_update(db->idx, mstate_doc_coll(db->docs, d), d,
                          mstate_doc_get(db->docs, d, lsn - 1),
                          mstate_doc_get(db->docs, d, UINT64_MAX)) != 0)
            rc = util_fail(&db->err, STELE_ENOMEM, "out of memory indexing");
    }
    if (!done) rc = util_fail(&db->err, STELE_ENOMEM, "out of memory indexing");
    else roaring_bitmap_free(done);
    mstate_commit(db->docs);
    mstate_publish(db->docs, lsn); /* views opened from now on see it (readers handles) */
    return rc == STELE_OK ? index_sync(db, lsn) : rc;
}

/* Applies a committed transaction (replay) to the state and its indices. */
static stele_status docs_apply(stele *db, const api_part *parts, size_t n, uint64_t lsn,
                               uint64_t ts, const uint8_t author[16])
{
    stele_status rc = docs_stage(db, parts, n, lsn, ts, author);
    return rc == STELE_OK ? docs_keep(db, lsn) : rc;
}

/*
 * Multi-part document transactions (docs/FORMAT.md, "Document transactions"): a
 * transaction too large for one record is written as records whose payload carries
 * "part":{"txn":ID,"seq":K,"final":B}; nothing of it applies until its final part.
 * Replay buffers the parts and decides with this table (R = the next record):
 *
 *   pending    R                                     action
 *   none       plain document transaction            apply R
 *   none       part seq 0                            start pending (apply if final)
 *   none       part seq > 0                          corrupt (its start is missing)
 *   T          part of T with the next seq           add (apply all if final)
 *   T          part of T with another seq            corrupt
 *   T          plain, or part seq 0 of another txn   discard T (interrupted), then as "none"
 *   T          recovery record                       discard T (its writer crashed)
 *   T          end of the log                        discard T
 */
typedef struct part_info {
    char txn[PART_TXN_MAX + 1];
    int64_t seq;
    int final;
} part_info;

/* 1 and *out if the prepared transaction is a part, 0 if it is not, -1 if its "part"
 * is malformed. */
static int part_read(const uint8_t *sdoc, size_t len, part_info *out)
{
    doc_view p, v;
    const char *s;
    size_t n;
    int r = doc_get(sdoc, len, "part", 4, &p);
    if (r != 1) return r;
    if (doc_get(p.p, p.len, "txn", 3, &v) != 1 || doc_string(v, &s, &n) != 0 || n == 0 ||
        n > PART_TXN_MAX || doc_get(p.p, p.len, "seq", 3, &v) != 1 ||
        doc_int64(v, &out->seq) != 0 || out->seq < 0 ||
        doc_get(p.p, p.len, "final", 5, &v) != 1 ||
        (doc_type(v) != SDOC_TRUE && doc_type(v) != SDOC_FALSE))
        return -1;
    memcpy(out->txn, s, n);
    out->txn[n] = 0;
    out->final = doc_type(v) == SDOC_TRUE;
    return 1;
}

typedef struct pending_txn {
    char txn[PART_TXN_MAX + 1];
    int64_t next_seq;
    buf *sdocs;            /* the parts so far, SDOC */
    size_t n, cap;
} pending_txn;

static void pending_discard(pending_txn *pt)
{
    for (size_t i = 0; i < pt->n; i++) buf_release(&pt->sdocs[i]);
    pt->n = 0;
    pt->next_seq = 0;
    pt->txn[0] = 0;
}

/* Moves *sdoc into the pending list (sdoc is left empty). -1 on out of memory. */
static int pending_add(pending_txn *pt, buf *sdoc)
{
    if (util_grow((void **)&pt->sdocs, &pt->cap, pt->n + 1, sizeof *pt->sdocs) != 0) return -1;
    pt->sdocs[pt->n++] = *sdoc;
    buf_init(sdoc);
    pt->next_seq++;
    return 0;
}

/* Applies the pending parts as one transaction at record r, then forgets them. */
static stele_status pending_apply(stele *db, pending_txn *pt, const ledger_rec *r)
{
    api_part *parts = calloc(pt->n, sizeof *parts);
    if (!parts) return util_fail(&db->err, STELE_ENOMEM, "out of memory");
    for (size_t i = 0; i < pt->n; i++) parts[i] = (api_part){pt->sdocs[i].data, pt->sdocs[i].len};
    stele_status rc = docs_apply(db, parts, pt->n, r->lsn, r->timestamp_ns, r->author);
    free(parts);
    pending_discard(pt);
    return rc;
}

/* One document record at replay (sdoc is its parsed payload): the table above. */
static stele_status replay_docs_rec(stele *db, pending_txn *pt, const ledger_rec *r, buf *sdoc)
{
    part_info pi;
    int is_part = part_read(sdoc->data, sdoc->len, &pi);
    if (is_part < 0)
        return util_fail(&db->err, STELE_ECORRUPT, "its \"part\" field is malformed");
    if (pt->n && (!is_part || strcmp(pi.txn, pt->txn) != 0)) {
        if (is_part && pi.seq != 0)
            return util_fail(&db->err, STELE_ECORRUPT, "part %lld of transaction '%s' follows "
                             "an unfinished transaction", (long long)pi.seq, pi.txn);
        pending_discard(pt); /* interrupted by a crash: never applied, never will be */
    }
    if (!is_part) {
        api_part one = {sdoc->data, sdoc->len};
        return docs_apply(db, &one, 1, r->lsn, r->timestamp_ns, r->author);
    }
    if (pi.seq != pt->next_seq)
        return util_fail(&db->err, STELE_ECORRUPT, "part %lld of transaction '%s' where part "
                         "%lld was expected", (long long)pi.seq, pi.txn,
                         (long long)pt->next_seq);
    if (pt->n == 0) util_strlcpy(pt->txn, pi.txn, sizeof pt->txn);
    if (pending_add(pt, sdoc) != 0) return util_fail(&db->err, STELE_ENOMEM, "out of memory");
    return pi.final ? pending_apply(db, pt, r) : STELE_OK;
}

/* Applies every STELE_REC_DOCS record after `from` to db->docs (and db->idx). */
static stele_status docs_replay_from(stele *db, uint64_t from)
{
    uint64_t head = ledger_head(db->L);
    buf sdoc;
    buf_init(&sdoc);
    json_scratch js = {0}; /* the parser's arrays, from one record to the next */
    pending_txn pt;
    memset(&pt, 0, sizeof pt);
    stele_status rc = STELE_OK;
    for (uint64_t lsn = from + 1; rc == STELE_OK && lsn <= head; lsn++) {
        int kind = ledger_kind(db->L, lsn); /* only document records are read */
        if (kind == STELE_REC_RECOVERY) pending_discard(&pt);
        if (kind != STELE_REC_DOCS && kind >= 0) continue;
        ledger_rec r;
        rc = ledger_read(db->L, lsn, &r, &db->scratch, &db->err);
        if (rc == STELE_OK && r.kind == STELE_REC_RECOVERY) pending_discard(&pt);
        if (rc != STELE_OK || r.kind != STELE_REC_DOCS) continue;
        json_error je;
        sdoc.len = 0;
        db->tail_bytes += r.payload_len;
        if (json_parse_kept((const char *)r.payload, r.payload_len, &sdoc, &je, 0, &js) != 0)
            rc = util_fail(&db->err, STELE_ECORRUPT,
                           "document transaction LSN %llu is not valid JSON (%s)",
                           (unsigned long long)lsn, je.msg);
        else if (replay_docs_rec(db, &pt, &r, &sdoc) != STELE_OK)
            rc = util_fail_wrap(&db->err, "document transaction LSN %llu does not apply",
                                (unsigned long long)lsn);
        if (rc != STELE_OK && rc != STELE_ENOMEM) rc = db->err.code = STELE_ECORRUPT;
    }
    pending_discard(&pt); /* a multi-part transaction without its final part */
    free(pt.sdocs);
    buf_release(&sdoc);
    json_scratch_release(&js);
    return rc;
}

/* The state's loader of snapshot partitions (state.h: mstate_loader). */
static stele_status docs_part_load(void *ctx, const uint8_t *ref, size_t ref_len,
                                   uint8_t **bytes, size_t *len, util_err *e)
{
    stele *db = ctx;
    return partition_read(db->L, db->snap_lsn, ref, ref_len, bytes, len, e);
}

/* Indexes every document of a freshly loaded state, a safe point after each (no
 * version is kept), so that the cache budget holds while the bodies pass through. */
static stele_status docs_index_all(stele *db)
{
    uint32_t n = mstate_doc_count(db->docs);
    for (uint32_t d = 0; d < n; d++) {
        mstate_reads_done(db->docs);
        const mversion *v = mstate_doc_get(db->docs, d, UINT64_MAX);
        if (!v && api_lazy_check(db, STELE_OK) != STELE_OK) return db->err.code;
        if (dindex_update(db->idx, mstate_doc_coll(db->docs, d), d, NULL, v) != 0)
            return util_fail(&db->err, STELE_ENOMEM, "out of memory indexing");
    }
    return STELE_OK;
}

/* Loads the snapshot recorded in the superblock into db->docs, or explains in
 * db->snap_problem why not (the state is then derived from the whole log: the
 * snapshot is derived data, the log is the truth). Only running out of memory fails. */
static stele_status docs_load_snapshot(stele *db)
{
    uint8_t *bytes;
    size_t len, extra_len;
    uint64_t lsn = 0, at = 0;
    uint8_t *extra = NULL;
    util_err e;
    util_err_clear(&e);
    stele_status rc = snap_read(db->L, &bytes, &len, &lsn, &e);
    if (rc == STELE_ENOMEM) return util_fail(&db->err, rc, "%s", e.msg);
    if (rc != STELE_OK) {
        util_strlcpy(db->snap_problem, e.msg, sizeof db->snap_problem);
        return STELE_OK;
    }
    if (lsn == 0) return STELE_OK;
    if (mstate_snapshot_older(bytes, len)) { /* not damage: derived from the log, rewritten */
        free(bytes);
        db->snap_old = 1;
        return STELE_OK;
    }
    db->docs = mstate_load(bytes, len, &at, &extra, &extra_len);
    if (!db->docs || at != lsn) {
        free(extra);
        mstate_free(db->docs);
        db->docs = NULL;
        snprintf(db->snap_problem, sizeof db->snap_problem,
                 "the snapshot at LSN %llu is malformed (or memory ran out loading it)",
                 (unsigned long long)lsn);
        return STELE_OK;
    }
    db->snap_lsn = lsn;
    mstate_set_primary(db->docs, db->primary);
    mstate_set_loader(db->docs, docs_part_load, db, db->cache_bytes);
    dindex *saved = extra_len ? dindex_load(extra, extra_len, mstate_coll_count(db->docs),
                                            mstate_doc_count(db->docs)) : NULL;
    free(extra);
    if (saved) { /* the indices as they were: no document body is read */
        dindex_free(db->idx);
        db->idx = saved;
    }
    if (extra_len && !saved) /* derived data: rebuilt below, but the snapshot is damaged */
        snprintf(db->snap_problem, sizeof db->snap_problem, "the index section of the snapshot "
                 "at LSN %llu is malformed (or memory ran out loading it); the indices were "
                 "rebuilt from the documents", (unsigned long long)lsn);
    rc = saved ? STELE_OK : docs_index_all(db);
    if (rc == STELE_ECORRUPT) { /* a partition does not authenticate: use the log */
        mstate_free(db->docs);
        db->docs = NULL;
        db->snap_lsn = 0;
        return STELE_OK;
    }
    return rc == STELE_OK ? index_sync(db, 0) : rc;
}

/* Derives the document state: the newest valid snapshot, then the records after it. */
/* The settings pin kept in the manifest (DECISIONS 32): settings older than what this
 * database recorded are refused, whatever config/settings.pin says; a writable handle
 * records newer accepted settings (written with the manifest's next write). */
static stele_status settings_anchor(stele *db, const vault_settings *set)
{
    vault_settings_seen seen;
    ledger_settings_get(db->L, seen.pk, &seen.version, &seen.counter);
    char what[VAULT_NAME_MAX * 2 + 32];
    snprintf(what, sizeof what, "database '%s'", db->db_name);
    stele_status rc = vault_settings_check_seen(set, &seen, what, &db->err);
    if (rc == STELE_OK && !db->read_only && vault_settings_newer(set, &seen))
        ledger_settings_note(db->L, set->pk, set->version, set->counter);
    return rc;
}

static stele_status docs_load(stele *db)
{
    db->idx = dindex_new();
    if (!db->idx) return util_fail(&db->err, STELE_ENOMEM, "out of memory");
    stele_status rc = db->rebuild ? STELE_OK : docs_load_snapshot(db);
    if (rc != STELE_OK) return rc;
    if (!db->docs) {
        dindex_free(db->idx);
        db->idx = dindex_new();
        db->docs = mstate_new();
        db->snap_lsn = 0;
        if (!db->docs || !db->idx) return util_fail(&db->err, STELE_ENOMEM, "out of memory");
        mstate_set_primary(db->docs, db->primary);
        mstate_set_loader(db->docs, docs_part_load, db, db->cache_bytes); /* once written */
    }
    rc = docs_replay_from(db, db->snap_lsn);
    util_release_free_memory(); /* the snapshot's directory and the replay's buffers */
    if (rc != STELE_OK || !db->readers) return rc;
    if (mstate_readers_enable(db->docs) != 0) /* every partition resident (DECISIONS 35) */
        return api_lazy_check(db, util_fail(&db->err, STELE_ENOMEM, "out of memory loading "
                                                                     "the snapshot for readers"));
    mstate_publish(db->docs, ledger_head(db->L));
    db->vstate = db->docs;
    return STELE_OK;
}

/* The database's manifest against the newest version this user has seen (vault/
 * anchor.h): older is a rolled-back or restored directory, refused unless accepted;
 * newer raises the anchor. Failing to write the anchor (a read-only store) only loses
 * the protection for this open. */
static stele_status freshness_check(stele *db, int accept)
{
    uint64_t seen = 0, now = ledger_manifest_version(db->L);
    util_err e;
    stele_status rc = vault_anchor_get(db->store, &db->user, db->dek, db->keys.db_id, &seen, &e);
    if (rc == STELE_ECORRUPT && accept) rc = STELE_OK; /* start afresh below */
    if (rc != STELE_OK) return util_fail(&db->err, rc, "%s", e.msg);
    if (now < seen && !accept)
        return util_fail(&db->err, STELE_ECORRUPT,
                         "database '%s' is older than the newest version user '%s' has seen "
                         "(manifest version %llu, seen %llu): its directory was restored from "
                         "an older backup or rolled back; restore the newest copy, or open it "
                         "with --accept-rollback if the older state is wanted (later changes "
                         "are then lost)", db->db_name, db->user.name,
                         (unsigned long long)now, (unsigned long long)seen);
    if (now != seen) (void)vault_anchor_set(db->store, &db->user, db->dek, db->keys.db_id, now,
                                            accept, &e);
    return STELE_OK;
}

/* The default budget for lazily loaded bodies: a quarter of physical memory (the
 * rest for the metadata, the adjacency, the page cache and everything else), at least
 * STELE_CACHE_DEFAULT. The working set of a database that fits in memory stays
 * resident; a larger one is served by partitions. */
static uint64_t cache_default(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t quarter = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size / 4 : 0;
    return quarter > STELE_CACHE_DEFAULT ? quarter : STELE_CACHE_DEFAULT;
}

/* Opens database `name` as db->user names it, with db->user and db->dek already set
 * (the rest of stele_open, and api_open_as). set: the store's settings, checked against
 * the database's record of them (NULL: not checked, for api_open_as's read-only opens). */
static stele_status open_db(stele *db, const char *name, int read_only, int durability,
                            const stele_open_options *o, const vault_settings *set)
{
    uint8_t db_id[VAULT_ID_BYTES];
    char db_dir[VAULT_PATH_MAX], what[400];
    stele_status rc = api_db_resolve(db->store, &db->user, db->dek, name, db_id, db->db_name,
                                     &db->err);
    vault_db_dir(db->store, db_id, db_dir, sizeof db_dir);
    if (rc == STELE_OK)
        rc = vault_db_unlock(db_dir, db_id, &db->user, db->dek, VAULT_UNLOCK_ANY, &db->keys,
                             &db->err);
    db->keys_open = rc == STELE_OK;
    db->primary = memcmp(db_id, db->user.primary_db, VAULT_ID_BYTES) == 0;
    /* A reader's handle is read-only whatever was asked: not even a recovery record
     * or a closing checkpoint is written with it. */
    int reader = db->keys_open && db->keys.role == VAULT_ROLE_READER;
    snprintf(what, sizeof what, "database '%s' of user '%s'%s", db->db_name, db->user.name,
             reader ? " (a reader: writing needs the writer role, given by the database's "
                      "owner or an admin with 'stele db share')" : "");
    ledger_config cfg = {.read_only = read_only || reader,
                         .durability = durability,
                         .group_max_delay_us = o ? o->group_max_delay_us : 0,
                         .name = what,
                         .reader = reader};
    if (rc == STELE_OK) rc = ledger_open(db_dir, &db->keys, db->user.id, &cfg, &db->L, &db->err);
    if (rc == STELE_OK) rc = freshness_check(db, o ? o->accept_rollback : 0);
    db->rebuild = o ? o->rebuild : 0;
    db->read_only = read_only || reader;
    if (rc == STELE_OK && set) rc = settings_anchor(db, set);
    db->cache_bytes = o && o->cache_bytes ? o->cache_bytes : cache_default();
    db->readers = o ? o->readers != 0 : 0;
    if (db->readers) db->cache_bytes = UINT64_MAX; /* all resident: readers touch no cache */
    if (rc == STELE_OK) rc = docs_load(db);
    if (rc == STELE_OK) util_err_clear(&db->err);
    db->err.code = rc;
    db->no_checkpoint_on_close = o ? o->no_checkpoint_on_close : 1;
    return rc;
}

stele_status stele_open(const stele_open_options *o, stele **out)
{
    stele *db = calloc(1, sizeof *db);
    if (out) *out = db;
    if (!db) return STELE_ENOMEM;
    buf_init(&db->scratch);
    if (api_init_check() != STELE_OK) return util_fail(&db->err, STELE_EIO, "cannot init libsodium");
    if (!o || !o->store_dir || !o->user || !o->password || strlen(o->store_dir) > 3000)
        return util_fail(&db->err, STELE_EINVAL,
                         "store directory (at most 3000 bytes), user and password are required");
    if (o->durability < STELE_DURABLE_FSYNC || o->durability > STELE_DURABLE_STORE)
        return util_fail(&db->err, STELE_EINVAL, "unknown durability policy %d", o->durability);
    util_strlcpy(db->store, o->store_dir, sizeof db->store);
    vault_settings set;
    vault_settings_defaults(&set);
    stele_status rc = vault_store_check(o->store_dir, &db->err);
    if (rc == STELE_OK) rc = vault_settings_load(o->store_dir, &set, &db->err);
    int durability = (int)o->durability;
    if (durability == STELE_DURABLE_STORE)
        durability = set.durability >= 0 ? set.durability : STELE_DURABLE_FSYNC;
    if (rc == STELE_OK)
        rc = vault_user_login(o->store_dir, o->user, o->password, o->password_len, &db->user,
                              &db->dek, &db->err);
    if (rc == STELE_OK) rc = open_db(db, o->db, o->read_only, durability, o, &set);
    db->err.code = rc;
    return rc;
}

stele_status api_open_as(const stele *from, const char *name, stele **out)
{
    stele *db = calloc(1, sizeof *db);
    *out = db;
    if (!db) return STELE_ENOMEM;
    buf_init(&db->scratch);
    util_strlcpy(db->store, from->store, sizeof db->store);
    db->user = from->user;
    db->dek = crypto_secure_alloc(CRYPTO_KEY_BYTES);
    if (!db->dek) return util_fail(&db->err, STELE_ENOMEM, "out of secure memory");
    memcpy(db->dek, from->dek, CRYPTO_KEY_BYTES);
    return open_db(db, name, 1, STELE_DURABLE_FSYNC, NULL, NULL);
}

/* Bytes of document versions per snapshot partition (the unit loaded and evicted):
 * small enough that a cold read decrypts little, large enough that the partition
 * table and the per-box overhead stay small (docs/DECISIONS.md). */
#define SNAP_PART_BYTES ((size_t)256 << 10)

/* A writer takes a snapshot at close once the records it would spare the next open
 * outweigh the cost of writing it: at least 1 MiB, and a quarter of the last one. */
#define SNAPSHOT_MIN_TAIL (1u << 20)

static stele_status need_open(stele *db);

static int snapshot_due(stele *db)
{
    if (!db->docs || db->read_only) return 0;
    ledger_snapinfo si;
    if (ledger_snapshot_get(db->L, &si) != 0) return 0;
    free(si.frags);
    return db->snap_old || (db->tail_bytes >= SNAPSHOT_MIN_TAIL && db->tail_bytes >= si.bytes / 4);
}

/* Where mstate_serialize puts the partitions: packed into fragment files, each named
 * in the write intent before it is created (store/partition.h). */
static stele_status docs_part_put(void *ctx, const uint8_t *bytes, size_t len, buf *ref,
                                  util_err *e)
{
    return partition_put(ctx, bytes, len, ref, e);
}

/* After a failed snapshot write: unless the manifest already names the new snapshot
 * (then its files are in force and recovery or the next snapshot deals with the rest),
 * removes the new partitions' files and ends the write intent that names them; a
 * failure here leaves the intent for the next writer's recovery. */
static void snapshot_abandon(stele *db, uint64_t lsn, part_packer *k)
{
    ledger_snapinfo si;
    int got = ledger_snapshot_get(db->L, &si) == 0;
    int in_force = !got || si.lsn == lsn;
    if (got) free(si.frags);
    if (!in_force) {
        partition_packer_abort(k);
        util_err ignored;
        (void)ledger_intent_clear(db->L, &ignored);
    }
    mstate_snapshot_abandon(db->docs);
}

/* Replaces the state and its indices by ones derived from the whole log (a snapshot
 * partition could not be read: the log is the truth). Nothing borrowed may be held. */
static stele_status docs_rederive(stele *db)
{
    mstate *old = db->docs;
    dindex *old_idx = db->idx;
    db->docs = mstate_new();
    db->idx = dindex_new();
    stele_status rc = !db->docs || !db->idx
                          ? util_fail(&db->err, STELE_ENOMEM, "out of memory")
                          : docs_replay_from(db, 0);
    if (rc != STELE_OK) {
        mstate_free(db->docs);
        dindex_free(db->idx);
        db->docs = old;
        db->idx = old_idx;
        return rc;
    }
    mstate_free(old);
    dindex_free(old_idx);
    mstate_set_loader(db->docs, docs_part_load, db, db->cache_bytes);
    db->snap_lsn = 0;
    return STELE_OK;
}

static stele_status snapshot_write(stele *db, uint64_t lsn);
static stele_status snapshot_take(stele *db);

stele_status stele_snapshot(stele *db)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    if (db->readers) /* it swaps the partitions views read (DECISIONS 35) */
        return util_fail(&db->err, STELE_EINVAL, "no snapshot on a handle opened for readers "
                         "(views may be reading): one is taken at close");
    return snapshot_take(db);
}

static stele_status snapshot_take(stele *db)
{
    stele_status rc = STELE_OK;
    if (db->read_only) return ledger_refuse_write(db->L, &db->err);
    uint64_t lsn = ledger_head(db->L);
    if (lsn == 0) return STELE_OK;
    rc = snapshot_write(db, lsn);
    if (rc != STELE_ECORRUPT || db->snap_lsn == 0) return rc;
    /* A partition of the old snapshot is damaged: derive the state from the log and
     * write the new snapshot from that. The old files go when the new one is in force. */
    util_err_clear(&db->err);
    rc = docs_rederive(db);
    return rc == STELE_OK ? snapshot_write(db, lsn) : rc;
}

/* Writes the snapshot of the state at head `lsn`: partitions, then the directory and
 * the superblock entry (snap_write), then removes the old partitions. */
static stele_status snapshot_write(stele *db, uint64_t lsn)
{
    stele_status rc = STELE_OK;
    /* The writer is paying for a snapshot anyway: fold the nodes changed since the
     * last compaction back into the adjacency's compact base (best effort: without
     * memory for it they simply stay in their own arrays). */
    (void)madj_compact(mstate_adj(db->docs));
    buf b;
    buf_init(&b);
    buf ix;
    buf_init(&ix);
    part_packer k;
    if (partition_packer_init(&k, db->L, lsn) != 0 || dindex_serialize(db->idx, &ix) != 0)
        rc = util_fail(&db->err, STELE_ENOMEM, "out of memory writing a snapshot");
    if (rc == STELE_OK)
        rc = mstate_serialize(db->docs, lsn, SNAP_PART_BYTES, docs_part_put, &k, ix.data,
                              ix.len, &b, &db->err);
    if (rc == STELE_OK) rc = partition_finish(&k, &db->err);
    buf_release(&ix);
    if (rc == STELE_OK)
        rc = snap_write(db->L, lsn, b.data, b.len, (const uint8_t(*)[16])k.files.ids.data,
                        (const uint8_t(*)[32])k.files.hashes.data,
                        (uint32_t)(k.files.ids.len / 16), &db->err);
    if (rc == STELE_OK) {
        mstate_snapshot_taken(db->docs); /* snap_write removed the old snapshot's files */
        db->snap_lsn = lsn;
        db->tail_bytes = 0;
        db->snap_problem[0] = 0;
        db->snap_old = 0;
    } else {
        snapshot_abandon(db, lsn, &k);
    }
    partition_packer_release(&k);
    buf_release(&b);
    return rc;
}

/* Ends a background re-encryption this handle started (waits for it), then replaces a
 * snapshot of an older key epoch by a new one: at close, on the caller's thread (the
 * state is single-threaded, and no view reads any more). */
static stele_status reencrypt_finish(stele *db)
{
    if (!db->reenc_pending) return STELE_OK;
    db->reenc_pending = 0;
    uint32_t done = 0;
    stele_status rc = ledger_reencrypt_wait(db->L, &done, &db->err);
    ledger_snapinfo si;
    if (rc == STELE_OK && ledger_snapshot_get(db->L, &si) != 0)
        rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    else if (rc == STELE_OK) {
        free(si.frags);
        /* the fragments are rewritten under the new epoch (the old ones are removed
         * once the manifest names the new ones) */
        if (si.lsn && si.epoch < db->keys.epoch) rc = snapshot_take(db);
    }
    return rc;
}

stele_status stele_close(stele *db)
{
    if (!db) return STELE_OK;
    stele_status rc = STELE_OK;
    api_xref_release(db);
    STELE_ASSERT(__atomic_load_n(&db->nviews, __ATOMIC_SEQ_CST) == 0); /* views close first */
    if (db->L && db->reenc_pending && need_open(db) == STELE_OK)
        rc = reencrypt_finish(db); /* waits for the background re-encryption */
    if (db->L && snapshot_due(db) && need_open(db) == STELE_OK)
        (void)snapshot_take(db); /* best effort: derived data */
    uint64_t version = 0;
    stele_status closed = STELE_OK;
    if (db->L) closed = ledger_close_v(db->L, !db->no_checkpoint_on_close, &version, &db->err);
    if (rc == STELE_OK) rc = closed; /* the re-encryption's failure first */
    if (version && db->dek) { /* the newest manifest this user has seen (best effort) */
        util_err e;
        (void)vault_anchor_set(db->store, &db->user, db->dek, db->keys.db_id, version, 0, &e);
    }
    if (db->keys_open) vault_dbkeys_release(&db->keys);
    mstate_free(db->docs);
    dindex_free(db->idx);
    graph_scratch_free(db->gscratch);
    crypto_secure_free(db->dek);
    buf_release(&db->scratch);
    txn_scratch_release(&db->txs);
    buf_release(&db->tx_payload);
    buf_release(&db->tx_sdoc);
    buf_release(&db->tx_ids);
    crypto_wipe(db, sizeof *db);
    free(db);
    return rc;
}

static stele_status need_open(stele *db)
{
    if (!db) return STELE_EINVAL;
    if (!db->L)
        return util_fail(&db->err, STELE_EINVAL, "the database is not open: %s",
                         db->err.msg[0] ? db->err.msg : "stele_open failed");
    util_err_clear(&db->err);
    api_xref_release(db); /* other databases opened by the last call */
    if (db->docs) mstate_reads_done(db->docs); /* bytes lent by the last call may go */
    return STELE_OK;
}

/* ----------------------------------------------------------------- ledger */

stele_status stele_append(stele *db, const void *payload, size_t len, const char *idem_id,
                          uint64_t *lsn_out, int *duplicate)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    uint64_t lsn = 0;
    util_err e; /* per call: appends may run on many threads at once */
    util_err_clear(&e);
    rc = ledger_append(db->L, STELE_REC_TXN, payload, len, idem_id,
                       idem_id ? strlen(idem_id) : 0, &lsn, NULL, duplicate, &e);
    if (rc != STELE_OK) db->err = e;
    if (rc == STELE_OK && lsn_out) *lsn_out = lsn;
    return rc;
}

stele_status stele_get(stele *db, uint64_t lsn, stele_record *out)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    ledger_rec r;
    rc = ledger_read(db->L, lsn, &r, &db->scratch, &db->err);
    if (rc != STELE_OK) return rc;
    memset(out, 0, sizeof *out);
    out->lsn = r.lsn;
    out->timestamp_ns = r.timestamp_ns;
    out->kind = r.kind;
    out->generation = r.generation;
    crypto_hex(r.author, 16, out->author);
    crypto_hex(r.hash, 32, out->hash);
    crypto_hex(r.prev_hash, 32, out->prev_hash);
    crypto_hex(r.payload_hash, 32, out->payload_hash);
    out->idem_id = r.idem;
    out->idem_len = r.idem_len;
    out->payload = r.payload;
    out->payload_len = r.payload_len;
    return STELE_OK;
}

uint64_t stele_head(const stele *db) { return (db && db->L) ? ledger_head(db->L) : 0; }

stele_status stele_checkpoint(stele *db, uint64_t *lsn_out)
{
    stele_status rc = need_open(db);
    return rc != STELE_OK ? rc : ledger_checkpoint(db->L, lsn_out, &db->err);
}

stele_status api_lazy_check(stele *db, stele_status rc)
{
    util_err e;
    if (!db->docs || !mstate_lazy_failed(db->docs, &e)) return rc;
    util_strlcpy(db->snap_problem, e.msg, sizeof db->snap_problem);
    return util_fail(&db->err, STELE_ECORRUPT, "cannot read documents of the snapshot at LSN "
                     "%llu: %s; nothing was served from it. The log is intact: 'stele snapshot' "
                     "derives the state from it and writes a new snapshot",
                     (unsigned long long)db->snap_lsn, e.msg);
}

static stele_status detach(stele *db, buf *b, stele_status rc, char **out)
{
    rc = api_lazy_check(db, rc);
    if (rc == STELE_OK) {
        *out = buf_detach(b);
        if (!*out) rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    }
    buf_release(b);
    return rc;
}

/* Checks the derived state against the log: the recorded snapshot must be readable
 * and authentic, and the live state must equal a rebuild from the whole log. */
static stele_status verify_state(stele *db)
{
    if (db->snap_problem[0])
        return util_fail(&db->err, STELE_ECORRUPT,
                         "the state snapshot is unusable (%s); the state was derived from "
                         "the log instead. Run 'stele snapshot' to write a new one",
                         db->snap_problem);
    uint8_t *bytes = NULL;
    size_t len;
    uint64_t lsn;
    stele_status rc = snap_read(db->L, &bytes, &len, &lsn, &db->err);
    free(bytes);
    const uint8_t *ref;
    for (uint32_t i = 0; rc == STELE_OK && lsn == db->snap_lsn &&
                         mstate_part_ref(db->docs, 0, i, &ref, &len); i++) {
        rc = partition_read(db->L, lsn, ref, len, &bytes, &len, &db->err); /* authentic? */
        free(bytes);
    }
    if (rc != STELE_OK) return rc;
    mstate *live = db->docs;
    dindex *live_idx = db->idx;
    uint64_t tail = db->tail_bytes;
    db->docs = mstate_new();
    db->idx = dindex_new();
    if (!db->docs || !db->idx) rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) mstate_set_primary(db->docs, db->primary); /* as when it was written */
    if (rc == STELE_OK) rc = docs_replay_from(db, 0);
    uint8_t a[32], b[32];
    int bad_live = rc == STELE_OK ? mstate_digest(live, a) : 0;
    if (bad_live == -2) {
        mstate *fresh = db->docs;
        db->docs = live;
        rc = api_lazy_check(db, STELE_ECORRUPT);
        db->docs = fresh;
    }
    if (rc == STELE_OK && (bad_live != 0 || mstate_digest(db->docs, b) != 0))
        rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK && memcmp(a, b, 32) != 0)
        rc = util_fail(&db->err, STELE_ECORRUPT,
                       "the document state loaded from the snapshot at LSN %llu differs from "
                       "the state derived from the log; reopen with a rebuild and run "
                       "'stele snapshot'", (unsigned long long)db->snap_lsn);
    mstate_free(db->docs);
    dindex_free(db->idx);
    db->docs = live;
    db->idx = live_idx;
    db->tail_bytes = tail;
    return rc;
}

stele_status stele_verify(stele *db, uint64_t from_lsn, char **report)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    buf b;
    buf_init(&b);
    rc = ledger_verify(db->L, from_lsn, &b, &db->err);
    if (rc == STELE_OK) rc = verify_state(db);
    if (!report) {
        buf_release(&b);
        return rc;
    }
    return detach(db, &b, rc, report);
}

stele_status stele_prove(stele *db, uint64_t lsn, uint64_t checkpoint_lsn, int with_payload,
                         char **json)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    buf b;
    buf_init(&b);
    rc = ledger_prove(db->L, lsn, checkpoint_lsn, with_payload, &b, &db->err);
    return detach(db, &b, rc, json);
}

stele_status stele_prove_consistency(stele *db, uint64_t old_lsn, uint64_t new_lsn, char **json)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    buf b;
    buf_init(&b);
    rc = ledger_prove_consistency(db->L, old_lsn, new_lsn, &b, &db->err);
    return detach(db, &b, rc, json);
}

stele_status stele_proof_verify(const char *json, size_t len, const char *trusted_pubkey_hex,
                                char *errbuf, size_t errcap)
{
    char msg[512];
    if (crypto_init() != 0) return STELE_EIO;
    stele_status rc = proof_verify(json, len, trusted_pubkey_hex, msg, sizeof msg);
    if (errbuf && errcap) util_strlcpy(errbuf, msg, errcap);
    return rc;
}

/* The "snapshot" member of stele_stat. */
static stele_status stat_snapshot(stele *db, buf *b)
{
    ledger_snapinfo si;
    if (ledger_snapshot_get(db->L, &si) != 0) return util_fail(&db->err, STELE_ENOMEM, "oom");
    free(si.frags);
    uint64_t nfrag = si.nfrag, pbytes = 0; /* the manifest lists the partition files too */
    const uint8_t *ref;
    size_t len;
    for (uint32_t i = 0; mstate_part_ref(db->docs, 0, i, &ref, &len); i++)
        pbytes += len >= PART_REF_FIXED ? get_u64(ref) : 0;
    mstate_cache_stats cs;
    mstate_cache_stats_get(db->docs, &cs);
    int bad = buf_printf(b, ",\"snapshot\":{\"lsn\":%llu,\"bytes\":%llu,\"fragments\":%llu,"
                            "\"partitions\":%u,\"partition_bytes\":%llu,"
                            "\"cache\":{\"budget_bytes\":%llu,\"resident_bytes\":%llu,"
                            "\"resident_partitions\":%u,\"loads\":%llu,\"evictions\":%llu},"
                            "\"bytes_on_disk\":%llu,\"loaded_from\":%llu,"
                            "\"replayed_bytes\":%llu,\"problem\":",
                         (unsigned long long)si.lsn, (unsigned long long)si.bytes,
                         (unsigned long long)nfrag, cs.parts, (unsigned long long)pbytes,
                         (unsigned long long)cs.budget_bytes,
                         (unsigned long long)cs.resident_bytes, cs.parts_resident,
                         (unsigned long long)cs.loads, (unsigned long long)cs.evictions,
                         (unsigned long long)nfrag * ledger_file_size(db->L),
                         (unsigned long long)db->snap_lsn, (unsigned long long)db->tail_bytes);
    if (db->snap_problem[0]) bad |= buf_json_str(b, db->snap_problem, strlen(db->snap_problem));
    else bad |= buf_printf(b, "null");
    bad |= buf_printf(b, ",\"older_format\":%s}", db->snap_old ? "true" : "false");
    return bad ? util_fail(&db->err, STELE_ENOMEM, "out of memory") : STELE_OK;
}

/* Where the handle's memory goes: the document state's parts and the indices. */
static stele_status stat_memory(stele *db, buf *b)
{
    if (!db->docs) return STELE_OK;
    mstate_mem m;
    mstate_mem_get(db->docs, &m);
    int bad = buf_printf(b, ",\"memory\":{\"documents\":%llu,\"versions\":%llu,\"records\":%llu,"
                            "\"id_table\":%llu,\"ids_and_new_bytes\":%llu,\"adjacency\":%llu,"
                            "\"cached_partitions\":%llu}",
                         (unsigned long long)m.docs, (unsigned long long)m.versions,
                         (unsigned long long)m.records, (unsigned long long)m.id_table,
                         (unsigned long long)m.chunks, (unsigned long long)m.adjacency,
                         (unsigned long long)m.cache);
    return bad ? util_fail(&db->err, STELE_ENOMEM, "out of memory") : STELE_OK;
}

stele_status stele_stat(stele *db, char **json)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    buf b;
    buf_init(&b);
    char uid[33];
    crypto_hex(db->user.id, 16, uid);
    buf_printf(&b, "{\"store\":");
    buf_json_str(&b, db->store, strlen(db->store));
    buf_printf(&b,
               ",\"user\":\"%s\",\"user_id\":\"%s\",\"database\":\"%s\","
               "\"role\":\"%s\",\"key_epoch\":%u,"
               "\"kdf\":{\"algorithm\":\"argon2id\",\"t\":%llu,\"m_kib\":%llu,\"p\":1,"
               "\"profile\":\"%s\",\"insecure\":%s},",
               db->user.name, uid, db->db_name, vault_role_name(db->keys.role),
               db->keys.epoch, (unsigned long long)db->user.kdf.ops,
               (unsigned long long)db->user.kdf.mem_kib,
               db->user.insecure ? "insecure-test" : "default",
               db->user.insecure ? "true" : "false");
    rc = ledger_stat(db->L, &b, &db->err);
    if (rc == STELE_OK) rc = stat_snapshot(db, &b);
    if (rc == STELE_OK) rc = stat_memory(db, &b);
    if (rc == STELE_OK && buf_printf(&b, "}") != 0)
        rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    return detach(db, &b, rc, json);
}

/* -------------------------------------------------------------- documents */

/* Stages a prepared transaction (its parts in order) before its record exists: this is
 * the check that keeps the log free of transactions apply would refuse. The record's
 * author is the handle's user (the ledger was opened with it). */
/* The writer's check and tentative apply: references to other databases first
 * (xref.c: access and existence, which replay cannot check), then the ops. */
static stele_status docs_stage_tentative(stele *db, const api_part *parts, size_t n)
{
    stele_status rc = STELE_OK;
    for (size_t i = 0; i < n && rc == STELE_OK; i++)
        rc = api_xref_check(db, parts[i].sdoc, parts[i].len);
    return rc == STELE_OK ? docs_stage(db, parts, n, MSTATE_LSN_TENTATIVE, 0, db->user.id) : rc;
}

/* After the append of a staged transaction: keeps it, stamped with its record's LSN and
 * time, if the append succeeded (rc, not dup), else rolls it back. */
static stele_status docs_settle(stele *db, stele_status rc, int dup, uint64_t lsn, uint64_t ts)
{
    if (rc != STELE_OK || dup) {
        mstate_rollback(db->docs);
        return rc;
    }
    mstate_stamp(db->docs, lsn, ts);
    if (docs_keep(db, lsn) != STELE_OK)
        return util_fail_wrap(&db->err, "committed transaction LSN %llu did not apply; reopen "
                                        "the database", (unsigned long long)lsn);
    return STELE_OK;
}

/* Keeps a transaction buffer for the next call unless it grew past this (txn.c keeps
 * its scratch under the same rule). */
#define TX_BUF_KEEP (16u << 20)

static void tx_buf_done(buf *b)
{
    if (b->cap > TX_BUF_KEEP) buf_release(b);
    b->len = 0;
}

stele_status stele_txn(stele *db, const char *json, size_t len, const char *idem_id,
                       char **result)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    if (!json) return util_fail(&db->err, STELE_EINVAL, "no transaction given");
    buf *payload = &db->tx_payload, *sdoc = &db->tx_sdoc, *ids = &db->tx_ids, out;
    STELE_ASSERT(payload->len == 0 && sdoc->len == 0 && ids->len == 0);
    buf_init(&out);
    uint64_t lsn = 0, ts = 0;
    int dup = 0;
    /* A retry of a committed transaction is answered before it is checked again (it
     * would now fail, e.g. as a duplicate _id). */
    if (idem_id) rc = ledger_idem_lookup(db->L, idem_id, strlen(idem_id), &lsn, &db->err);
    dup = lsn != 0;
    if (rc == STELE_OK && !dup)
        rc = txn_prepare(json, len, &db->txs, payload, sdoc, ids, &db->err);
    api_part one = {sdoc->data, sdoc->len};
    if (rc == STELE_OK && !dup && (rc = docs_stage_tentative(db, &one, 1)) == STELE_OK) {
        rc = ledger_append(db->L, STELE_REC_DOCS, payload->data, payload->len, idem_id,
                           idem_id ? strlen(idem_id) : 0, &lsn, &ts, &dup, &db->err);
        rc = docs_settle(db, rc, dup, lsn, ts);
    }
    if (rc == STELE_OK && !dup) db->tail_bytes += payload->len;
    if (rc == STELE_OK && result) {
        if (dup) buf_printf(&out, "{\"lsn\":%llu,\"duplicate\":true}", (unsigned long long)lsn);
        else buf_printf(&out, "{\"lsn\":%llu,\"ids\":%s}", (unsigned long long)lsn,
                        (const char *)ids->data);
        rc = detach(db, &out, rc, result);
    }
    buf_release(&out);
    tx_buf_done(payload);
    tx_buf_done(sdoc);
    tx_buf_done(ids);
    return rc;
}

/* Decimal digits of v ending at end; returns where they start (at most 20 digits). */
static char *dec_before(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* Appends ,"_rev":R,"_lsn":L,"_ts":"T" — formatted by hand: this is on every read. */
static int system_fields(const mversion *v, uint64_t ts, buf *out)
{
    char t[160], *w = t, num[24];
    const char *d;
    memcpy(w, ",\"_rev\":", 8);
    w += 8;
    d = dec_before(num + sizeof num, v->rev);
    memcpy(w, d, (size_t)(num + sizeof num - d));
    w += num + sizeof num - d;
    memcpy(w, ",\"_lsn\":", 8);
    w += 8;
    d = dec_before(num + sizeof num, v->lsn);
    memcpy(w, d, (size_t)(num + sizeof num - d));
    w += num + sizeof num - d;
    memcpy(w, ",\"_ts\":\"", 8);
    w += 8;
    w += util_iso_time(ts, w);
    *w++ = '"';
    STELE_ASSERT((size_t)(w - t) < sizeof t);
    return buf_append(out, t, (size_t)(w - t));
}

/* The body of a version with its system fields appended (the body has an _id, so it
 * is a non-empty object: the fields go before its closing brace). Versions are
 * canonical SDOC (state.h), written without being checked again. */
int api_version_json(const mstate *s, const mversion *v, int history, const fields_spec *f,
                     buf *out)
{
    uint64_t ts;
    uint8_t who[16];
    if (mstate_record(s, v->lsn, &ts, who) != 0) return -1; /* every version has its record */
    size_t start = out->len;
    int bad = f && f->n ? result_project(v->doc, v->doc_len, f, out)
                        : json_write_canonical(v->doc, v->doc_len, out);
    if (bad != 0 || out->len < start + 2) return -1;
    out->len--; /* drop '}' */
    if (system_fields(v, ts, out) != 0) return -1;
    if (history) {
        char author[33];
        crypto_hex(who, 16, author);
        if (buf_printf(out, ",\"_author\":\"%s\",\"_deleted\":%s", author,
                       v->deleted ? "true" : "false") != 0)
            return -1;
    }
    return buf_append(out, "}", 1);
}

static uint32_t find_doc(stele *db, const char *coll, const char *id, uint64_t as_of,
                         stele_status *rc)
{
    uint32_t c = mstate_coll_find(db->docs, coll, as_of);
    uint32_t n = c == MSTATE_NONE ? MSTATE_NONE : mstate_doc_find(db->docs, c, id, strlen(id));
    if (c == MSTATE_NONE)
        *rc = util_fail(&db->err, STELE_ENOTFOUND, "no collection '%s'%s", coll,
                        as_of != UINT64_MAX ? " at that LSN" : "");
    else if (n == MSTATE_NONE)
        *rc = util_fail(&db->err, STELE_ENOTFOUND, "no document '%s' in '%s'", id, coll);
    return n;
}

stele_status stele_doc_get(stele *db, const char *coll, const char *id, uint64_t as_of,
                           char **json)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    if (!coll || !id) return util_fail(&db->err, STELE_EINVAL, "collection and id are required");
    uint64_t at = as_of ? as_of : UINT64_MAX;
    uint32_t n = find_doc(db, coll, id, at, &rc);
    if (rc != STELE_OK) return rc;
    const mversion *v = mstate_doc_get(db->docs, n, at);
    if (!v && api_lazy_check(db, STELE_OK) != STELE_OK) return db->err.code;
    if (!v || v->deleted)
        return util_fail(&db->err, STELE_ENOTFOUND, "no document '%s' in '%s'%s", id, coll,
                         v ? " (it is deleted; 'restore' brings it back)"
                           : " at that LSN");
    buf b;
    buf_init(&b);
    if (api_version_json(db->docs, v, 0, NULL, &b) != 0) rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    return detach(db, &b, rc, json);
}

stele_status stele_doc_history(stele *db, const char *coll, const char *id, char **ndjson)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    if (!coll || !id) return util_fail(&db->err, STELE_EINVAL, "collection and id are required");
    uint32_t n = find_doc(db, coll, id, UINT64_MAX, &rc);
    if (rc != STELE_OK) return rc;
    size_t nv;
    const mversion *v = mstate_doc_history(db->docs, n, &nv);
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < nv && rc == STELE_OK; i++)
        if (api_version_json(db->docs, &v[i], 1, NULL, &b) != 0 || buf_append(&b, "\n", 1) != 0)
            rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    return detach(db, &b, rc, ndjson);
}

stele_status stele_collections(stele *db, uint64_t as_of, char **json)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    uint64_t at = as_of ? as_of : UINT64_MAX;
    uint32_t nc = mstate_coll_count(db->docs), nd = mstate_doc_count(db->docs);
    uint64_t *live = calloc(nc ? nc : 1, sizeof *live);
    if (!live) return util_fail(&db->err, STELE_ENOMEM, "out of memory");
    for (uint32_t d = 0; d < nd; d++) {
        const mversion *v = mstate_doc_meta(db->docs, d, at);
        if (v && !v->deleted) live[mstate_doc_coll(db->docs, d)]++;
    }
    buf b;
    buf_init(&b);
    buf_append(&b, "[", 1);
    int first = 1;
    for (uint32_t c = 0; c < nc; c++) {
        const char *name = mstate_coll_name(db->docs, c, at);
        if (!name || name[0] == '.') continue; /* internal (MREF_XREF_COLL) */
        buf_printf(&b, "%s{\"name\":\"%s\",\"documents\":%llu}", first ? "" : ",", name,
                   (unsigned long long)live[c]);
        first = 0;
    }
    if (buf_append(&b, "]", 1) != 0) rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    free(live);
    return detach(db, &b, rc, json);
}

stele_status stele_docs_digest(stele *db, char out[65])
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    uint8_t d[32];
    int bad = mstate_digest(db->docs, d);
    if (bad == -2) return api_lazy_check(db, STELE_ECORRUPT);
    if (bad) return util_fail(&db->err, STELE_ENOMEM, "out of memory");
    crypto_hex(d, 32, out);
    return STELE_OK;
}

stele_status stele_lsn_at(stele *db, uint64_t timestamp_ns, uint64_t *lsn)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    uint64_t lo = 1, hi = ledger_head(db->L), found = 0;
    while (lo <= hi) { /* binary search: timestamps strictly increase with the LSN */
        uint64_t mid = lo + (hi - lo) / 2;
        ledger_rec r;
        rc = ledger_read(db->L, mid, &r, &db->scratch, &db->err);
        if (rc != STELE_OK) return rc;
        if (r.timestamp_ns <= timestamp_ns) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    *lsn = found;
    return STELE_OK;
}


/* ---- queries and indices ---- */

/* The matching doc numbers of a parsed filter on a collection, now or as of an LSN;
 * with first > 0 (now only), a prefix of them that holds the first `first`. */
static stele_status match_set(stele *db, const char *coll, const qfilter *f, uint64_t as_of,
                              uint64_t first, roaring_bitmap_t **set, buf *explain)
{
    uint64_t at = as_of ? as_of : UINT64_MAX, scanned;
    uint32_t c = mstate_coll_find(db->docs, coll, at);
    if (c == MSTATE_NONE)
        return util_fail(&db->err, STELE_ENOTFOUND, "no collection '%s'%s", coll,
                         as_of ? " at that LSN" : "");
    if (!as_of && first)
        return filter_eval_first(f, db->docs, db->idx, c, first, FILTER_WINDOW, set, &db->err);
    if (!as_of) return filter_eval(f, db->docs, db->idx, c, set, explain, &db->err);
    return filter_eval_as_of(f, db->docs, db->idx, c, at, set, &scanned, explain, &db->err);
}

/* Parses and evaluates a filter; *keep (if not NULL) gets the parsed filter (filter_free)
 * on success. */
static stele_status query_set(stele *db, const char *coll, const char *text, size_t len,
                              uint64_t as_of, roaring_bitmap_t **set, buf *explain,
                              qfilter **keep)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    if (!coll || !text) return util_fail(&db->err, STELE_EINVAL, "collection and filter needed");
    qfilter *f = NULL;
    rc = filter_parse(text, len, &f, &db->err);
    if (rc == STELE_OK) rc = match_set(db, coll, f, as_of, 0, set, explain);
    if (rc == STELE_OK && keep) *keep = f;
    else filter_free(f);
    return rc;
}

/* The order of a find: by BM25 score when it has no sort and one $text leaf outside
 * $not/$nor (docs/DOCUMENTS.md, "Query semantics"), else result_order's. */
stele_status api_find_order(const mstate *s, dindex *x, util_err *e, const char *coll,
                            const qfilter *f, const roaring_bitmap_t *set, const sort_spec *sp,
                            const stele_find_opts *o, uint32_t **nums, size_t *n)
{
    uint64_t at = o->as_of ? o->as_of : UINT64_MAX;
    int leaf = sp->n ? -1 : filter_rank_leaf(f);
    if (leaf < 0) return result_order(s, set, at, sp, o->offset, o->limit, nums, n, e);
    uint32_t c = mstate_coll_find(s, coll, at);
    STELE_ASSERT(c != MSTATE_NONE); /* match_set found it */
    /* a filter that is the $text leaf alone: its set is the text's, a top k suffices */
    uint64_t k = o->limit && f->nn == 2 && o->offset + o->limit > o->offset ? o->offset + o->limit
                                                                           : 0;
    fts_hit *hits = NULL;
    size_t nhits = 0;
    if (k > SIZE_MAX) k = 0; /* all hits */
    stele_status rc = filter_text_hits(f, leaf, s, x, c, at, (size_t)k, &hits, &nhits, e);
    if (rc == STELE_OK) rc = result_rank(set, hits, nhits, o->offset, o->limit, nums, n, e);
    free(hits);
    return rc;
}

/* Writes the documents `nums` (as of at) as NDJSON. */
stele_status api_write_docs(const mstate *s, util_err *e, const uint32_t *nums, size_t n,
                            uint64_t at, const fields_spec *fs, buf *b)
{
    for (size_t i = 0; i < n; i++) {
        const mversion *v = mstate_doc_get(s, nums[i], at);
        STELE_ASSERT(v && !v->deleted);
        if (api_version_json(s, v, 0, fs, b) != 0 || buf_append(b, "\n", 1) != 0)
            return util_fail(e, STELE_ENOMEM, "out of memory");
    }
    return STELE_OK;
}

stele_status stele_find(stele *db, const char *coll, const char *filter, size_t len,
                        const stele_find_opts *opts, char **ndjson)
{
    static const stele_find_opts none;
    const stele_find_opts *o = opts ? opts : &none;
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    sort_spec *sp = malloc(sizeof *sp);
    fields_spec *fs = malloc(sizeof *fs);
    if (!sp || !fs) rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = result_sort_parse(o->sort, sp, &db->err);
    if (rc == STELE_OK) rc = result_fields_parse(o->fields, fs, &db->err);
    roaring_bitmap_t *set = NULL;
    uint32_t *nums = NULL;
    size_t n = 0;
    uint64_t at = o->as_of ? o->as_of : UINT64_MAX;
    qfilter *f = NULL;
    if (rc == STELE_OK && (!coll || !filter))
        rc = util_fail(&db->err, STELE_EINVAL, "collection and filter needed");
    if (rc == STELE_OK) rc = filter_parse(filter, len, &f, &db->err);
    /* In doc-number order (no sort, no ranking), a limit needs only the first matches. */
    uint64_t first = 0;
    if (rc == STELE_OK && !o->as_of && !sp->n && o->limit && filter_rank_leaf(f) < 0 &&
        o->offset + o->limit > o->offset)
        first = o->offset + o->limit;
    if (rc == STELE_OK) rc = match_set(db, coll, f, o->as_of, first, &set, NULL);
    if (rc == STELE_OK)
        rc = api_find_order(db->docs, db->idx, &db->err, coll, f, set, sp, o, &nums, &n);
    filter_free(f);
    buf b;
    buf_init(&b);
    if (rc == STELE_OK) rc = api_write_docs(db->docs, &db->err, nums, n, at, fs, &b);
    if (set) roaring_bitmap_free(set);
    free(nums);
    free(sp);
    free(fs);
    return detach(db, &b, rc, ndjson); /* an empty result is "" (buf_detach allocates) */
}

stele_status stele_count(stele *db, const char *coll, const char *filter, size_t len,
                         uint64_t as_of, uint64_t *count)
{
    roaring_bitmap_t *set = NULL;
    stele_status rc = api_lazy_check(db, query_set(db, coll, filter, len, as_of, &set, NULL,
                                                   NULL)); /* a filter may read bodies */
    if (rc != STELE_OK) {
        if (set) roaring_bitmap_free(set);
        return rc;
    }
    *count = roaring_bitmap_get_cardinality(set);
    roaring_bitmap_free(set);
    return STELE_OK;
}

stele_status stele_explain(stele *db, const char *coll, const char *filter, size_t len,
                           uint64_t as_of, char **json)
{
    buf steps, b;
    buf_init(&steps);
    buf_init(&b);
    roaring_bitmap_t *set = NULL;
    stele_status rc = query_set(db, coll, filter, len, as_of, &set, &steps, NULL);
    if (rc == STELE_OK) {
        uint64_t nidx, bytes;
        dindex_sizes(db->idx, &nidx, &bytes);
        buf_printf(&b, "{\"collection\":");
        buf_json_str(&b, coll, strlen(coll));
        buf_printf(&b, ",\"as_of\":%llu,\"result\":%llu,\"steps\":%s,\"indices\":%llu,"
                       "\"index_bytes\":%llu}",
                   (unsigned long long)as_of,
                   (unsigned long long)roaring_bitmap_get_cardinality(set),
                   steps.len ? (const char *)steps.data : "[]", (unsigned long long)nidx,
                   (unsigned long long)bytes);
        roaring_bitmap_free(set);
    }
    buf_release(&steps);
    return detach(db, &b, rc, json);
}

/* create_index / drop_index as a one-op document transaction; text: of a text index
 * (language: NULL = the default, english). */
static stele_status index_op(stele *db, const char *op, const char *coll, const char *path,
                             int text, const char *language)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    if (!coll || !path) return util_fail(&db->err, STELE_EINVAL, "collection and path needed");
    buf t;
    buf_init(&t);
    buf_printf(&t, "{\"ops\":[{\"op\":\"%s\",\"coll\":", op);
    buf_json_str(&t, coll, strlen(coll));
    buf_printf(&t, ",\"path\":");
    buf_json_str(&t, path, strlen(path));
    if (text) buf_printf(&t, ",\"kind\":\"text\"");
    if (language) {
        buf_printf(&t, ",\"language\":");
        buf_json_str(&t, language, strlen(language));
    }
    if (buf_append(&t, "}]}", 3) != 0) rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = stele_txn(db, (const char *)t.data, t.len, NULL, NULL);
    buf_release(&t);
    return rc;
}

stele_status stele_index_create(stele *db, const char *coll, const char *path)
{
    return index_op(db, "create_index", coll, path, 0, NULL);
}

stele_status stele_index_drop(stele *db, const char *coll, const char *path)
{
    return index_op(db, "drop_index", coll, path, 0, NULL);
}

stele_status stele_index_create_text(stele *db, const char *coll, const char *path,
                                     const char *language)
{
    return index_op(db, "create_index", coll, path, 1, language);
}

stele_status stele_index_drop_text(stele *db, const char *coll, const char *path)
{
    return index_op(db, "drop_index", coll, path, 1, NULL);
}

/* One text index of a listing: built (t not NULL: its sizes) or only defined (zeros). */
static void text_index_entry(const char *coll, const char *path, const char *lang,
                             int is_explicit, const fts *t, buf *b, int *first)
{
    uint64_t terms = 0, postings = 0, bytes = 0, docs = 0, tokens = 0;
    if (t) {
        fts_sizes(t, &terms, &postings, &bytes);
        fts_stats(t, &docs, &tokens);
    }
    buf_printf(b, "%s{\"collection\":", *first ? "" : ",");
    buf_json_str(b, coll, strlen(coll));
    buf_printf(b, ",\"path\":");
    buf_json_str(b, path, strlen(path));
    buf_printf(b, ",\"kind\":\"text\",\"explicit\":%s,\"language\":",
               is_explicit ? "true" : "false");
    buf_json_str(b, lang, strlen(lang));
    buf_printf(b, ",\"built\":%s,\"terms\":%llu,\"documents\":%llu,\"postings\":%llu,"
                  "\"bytes\":%llu}", t ? "true" : "false", (unsigned long long)terms,
               (unsigned long long)docs, (unsigned long long)postings,
               (unsigned long long)bytes);
    *first = 0;
}

/* Appends the text indices (of collection `only`, or all if MSTATE_NONE) to a listing:
 * the built ones, then the defined ones not built yet (after an open, until a $text). */
static void text_index_list(stele *db, uint32_t only, buf *b, int *first)
{
    int is_explicit;
    for (size_t i = 0; i < dindex_text_count(db->idx); i++) {
        const fts *t = dindex_text_at(db->idx, i, &is_explicit);
        const char *name = mstate_coll_name(db->docs, fts_coll(t), UINT64_MAX);
        if ((only != MSTATE_NONE && fts_coll(t) != only) || !name) continue;
        text_index_entry(name, fts_path(t), fts_lang(t), is_explicit, t, b, first);
    }
    mstate_idef d;
    for (size_t i = 0; mstate_index_def(db->docs, i, &d); i++) {
        const char *name = mstate_coll_name(db->docs, d.coll, UINT64_MAX);
        if (d.kind != MSTATE_INDEX_TEXT || (only != MSTATE_NONE && d.coll != only) || !name ||
            dindex_text_find(db->idx, d.coll, d.path, NULL))
            continue;
        text_index_entry(name, d.path, d.lang, 1, NULL, b, first);
    }
}

stele_status stele_index_list(stele *db, const char *coll, char **json)
{
    stele_status rc = need_open(db);
    if (rc != STELE_OK) return rc;
    uint32_t only = coll ? mstate_coll_find(db->docs, coll, UINT64_MAX) : MSTATE_NONE;
    if (coll && only == MSTATE_NONE)
        return util_fail(&db->err, STELE_ENOTFOUND, "no collection '%s'", coll);
    uint64_t n;
    dindex_sizes(db->idx, &n, NULL);
    buf b;
    buf_init(&b);
    buf_append(&b, "[", 1);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        dindex_info in;
        dindex_describe(db->idx, i, &in);
        const char *name = mstate_coll_name(db->docs, in.coll, UINT64_MAX);
        if ((coll && in.coll != only) || !name) continue; /* skip dropped collections */
        buf_printf(&b, "%s{\"collection\":", first ? "" : ",");
        buf_json_str(&b, name, strlen(name));
        buf_printf(&b, ",\"path\":");
        buf_json_str(&b, in.path, strlen(in.path));
        buf_printf(&b, ",\"kind\":\"%s\",\"keys\":%llu,\"documents\":%llu,\"bytes\":%llu}",
                   in.is_explicit ? "explicit" : "lazy", (unsigned long long)in.keys,
                   (unsigned long long)in.docs, (unsigned long long)in.bytes);
        first = 0;
    }
    text_index_list(db, only, &b, &first);
    if (buf_append(&b, "]", 1) != 0) rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    return detach(db, &b, rc, json);
}
/* ------------------------------------- for the other files of the api layer */

stele_status api_need_open(stele *db) { return need_open(db); }

stele_status api_detach(stele *db, buf *b, stele_status rc, char **out)
{
    return detach(db, b, rc, out);
}

stele_status api_docs_stage(stele *db, const api_part *parts, size_t n)
{
    STELE_ASSERT(n > 0 && parts);
    return docs_stage_tentative(db, parts, n);
}

stele_status api_docs_commit(stele *db, const buf *payloads, size_t n, const char *idem_id,
                             uint64_t *lsn_out)
{
    STELE_ASSERT(n > 0 && payloads);
    uint64_t lsn = 0, ts = 0;
    int dup = 0;
    stele_status rc = STELE_OK;
    for (size_t i = 0; i < n && rc == STELE_OK; i++) { /* the id goes on the final part */
        const char *idem = i + 1 == n ? idem_id : NULL;
        rc = ledger_append(db->L, STELE_REC_DOCS, payloads[i].data, payloads[i].len, idem,
                           idem ? strlen(idem) : 0, &lsn, &ts, &dup, &db->err);
        STELE_ASSERT(rc != STELE_OK || !dup || i + 1 == n);
    }
    rc = docs_settle(db, rc, dup, lsn, ts);
    if (rc == STELE_OK && dup) { /* committed meanwhile by another handle: the parts
                                  * written are discarded at replay; nothing to apply */
        *lsn_out = lsn;
        return util_fail(&db->err, STELE_EEXIST, "idempotency id '%s' was committed at LSN "
                         "%llu meanwhile", idem_id, (unsigned long long)lsn);
    }
    for (size_t i = 0; rc == STELE_OK && i < n; i++) db->tail_bytes += payloads[i].len;
    if (rc == STELE_OK) *lsn_out = lsn;
    return rc;
}

stele_status api_filter_set(stele *db, const char *coll, const char *filter, size_t len,
                            uint64_t as_of, roaring_bitmap_t **set)
{
    return query_set(db, coll, filter, len, as_of, set, NULL, NULL);
}

int api_doc_json(stele *db, uint32_t n, uint64_t at, buf *out)
{
    const mversion *v = mstate_doc_get(db->docs, n, at);
    if (!v || v->deleted) return buf_append(out, "null", 4);
    return api_version_json(db->docs, v, 0, NULL, out);
}
