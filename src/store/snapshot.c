/*
 * snapshot.c — see snapshot.h. Layer: store.
 */
#include "store/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "ledger/format.h"
#include "ledger/superblock.h"
#include "util/io.h"

#define FRAG_VERSION 2
#define PATH_CAP 4200
#define FRAG_AAD_MAX (SEALED_AAD_BYTES + 16)

size_t snap_capacity(uint32_t file_size)
{
    STELE_ASSERT(file_size > FRAG_HDR_AREA + FRAG_BODY_OVERHEAD);
    return (size_t)file_size - FRAG_HDR_AREA - FRAG_BODY_OVERHEAD;
}

static void frag_path(const char *db_dir, const uint8_t id[16], const char *suffix, char *out)
{
    char hex[33];
    crypto_hex(id, 16, hex);
    snprintf(out, PATH_CAP, "%s/data/%s%s", db_dir, hex, suffix);
}

/* The fragment's key context under the GK of `epoch` (NULL in a --no-encryption
 * database). 0 or -1. */
static int frag_key(const vault_dbkeys *k, uint32_t epoch, const uint8_t id[16],
                    crypto_gcm **g)
{
    util_err e;
    return ledger_file_key(k, epoch, "fragment key", id, g, &e) == STELE_OK ? 0 : -1;
}

static size_t hdr_aad(const vault_dbkeys *k, const uint8_t id[16], uint32_t epoch,
                      uint8_t aad[FRAG_AAD_MAX])
{
    return sealed_aad(aad, "FRGH", k->db_id, id, epoch, FILE_KIND_FRAGMENT);
}

static size_t body_aad(const vault_dbkeys *k, const uint8_t id[16], uint32_t epoch, uint64_t lsn,
                       uint32_t idx, uint8_t aad[FRAG_AAD_MAX])
{
    size_t n = sealed_aad(aad, "FRGB", k->db_id, id, epoch, FILE_KIND_FRAGMENT);
    put_u64(aad + n, lsn);
    put_u32(aad + n + 8, idx);
    return n + 12;
}

/* The AAD of the box at body offset `off` of a packed fragment (snap_box_seal). */
static size_t box_aad(const vault_dbkeys *k, const uint8_t id[16], uint32_t epoch, uint64_t lsn,
                      uint32_t idx, uint32_t off, uint8_t aad[FRAG_AAD_MAX])
{
    size_t n = sealed_aad(aad, "FRGP", k->db_id, id, epoch, FILE_KIND_FRAGMENT);
    put_u64(aad + n, lsn);
    put_u32(aad + n + 8, idx);
    put_u32(aad + n + 12, off);
    return n + 16;
}

/* Seals the header box of fragment `idx` (n bytes of body after the header area) into
 * file[0, FRAG_HDR_AREA) under key g (epoch k->epoch). 0 or -1. */
static int frag_seal_header(crypto_gcm *g, const vault_dbkeys *k, const uint8_t id[16],
                            uint64_t lsn, uint32_t idx, size_t n, uint8_t *file)
{
    uint8_t hdr[FRAG_HDR_PLAIN] = {0}, aad[FRAG_AAD_MAX];
    memcpy(hdr, "STELEFRG", 8);
    put_u32(hdr + 8, FRAG_VERSION);
    put_u32(hdr + 12, idx);
    memcpy(hdr + 16, k->db_id, 16);
    memcpy(hdr + 32, id, 16);
    put_u64(hdr + 48, lsn);
    put_u32(hdr + 56, (uint32_t)n);
    put_u32(hdr + 60, k->epoch);
    crypto_random(file, 12);
    size_t an = hdr_aad(k, id, k->epoch, aad);
    return box_seal(g, file, aad, an, hdr, sizeof hdr, file + 12, file + 12 + 64);
}

/* Seals fragment `idx` of the snapshot at `lsn` into file (file_size bytes, already
 * random). 0 or -1. */
static int frag_seal(const vault_dbkeys *k, const uint8_t id[16], uint64_t lsn, uint32_t idx,
                     const uint8_t *body, size_t n, uint8_t *file)
{
    uint8_t aad[FRAG_AAD_MAX];
    crypto_gcm *g;
    if (frag_key(k, k->epoch, id, &g) != 0) return -1;
    int rc = frag_seal_header(g, k, id, lsn, idx, n, file);
    uint8_t *b = file + FRAG_HDR_AREA;
    crypto_random(b, 12);
    size_t an = body_aad(k, id, k->epoch, lsn, idx, aad);
    if (rc == 0) rc = box_seal(g, b, aad, an, body, n, b + 12, b + 12 + n);
    crypto_gcm_free(g);
    return rc;
}

static stele_status frag_store(const char *db_dir, const uint8_t id[16], const uint8_t *file,
                               uint32_t file_size, uint8_t hash[32], util_err *e);

stele_status snap_frag_write(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                               uint64_t lsn, uint32_t idx, const uint8_t *body, size_t n,
                               uint8_t *file, const uint8_t id[16], uint8_t hash[32],
                               util_err *e)
{
    STELE_ASSERT(n <= snap_capacity(file_size));
    crypto_random_fill(file, file_size);
    if (frag_seal(k, id, lsn, idx, body, n, file) != 0)
        return util_fail(e, STELE_EIO, "cannot seal a snapshot fragment");
    return frag_store(db_dir, id, file, file_size, hash, e);
}

void snap_pack_begin(uint8_t *file, uint32_t file_size) { crypto_random_fill(file, file_size); }

int snap_box_seal(const vault_dbkeys *k, const uint8_t id[16], uint64_t lsn, uint32_t idx,
                  uint8_t *file, uint32_t file_size, uint32_t off, const uint8_t *body, size_t n)
{
    STELE_ASSERT((size_t)off + n + FRAG_BODY_OVERHEAD <= (size_t)file_size - FRAG_HDR_AREA);
    uint8_t aad[FRAG_AAD_MAX], *b = file + FRAG_HDR_AREA + off;
    crypto_gcm *g;
    if (frag_key(k, k->epoch, id, &g) != 0) return -1;
    crypto_random(b, 12);
    size_t an = box_aad(k, id, k->epoch, lsn, idx, off, aad);
    int rc = box_seal(g, b, aad, an, body, n, b + 12, b + 12 + n);
    crypto_gcm_free(g);
    return rc;
}

stele_status snap_pack_write(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                             uint64_t lsn, uint32_t idx, size_t used, uint8_t *file,
                             const uint8_t id[16], uint8_t hash[32], util_err *e)
{
    STELE_ASSERT(used <= (size_t)file_size - FRAG_HDR_AREA);
    crypto_gcm *g;
    int rc = frag_key(k, k->epoch, id, &g);
    if (rc == 0) {
        rc = frag_seal_header(g, k, id, lsn, idx, used, file);
        crypto_gcm_free(g);
    }
    if (rc != 0) return util_fail(e, STELE_EIO, "cannot seal a snapshot fragment");
    return frag_store(db_dir, id, file, file_size, hash, e);
}

/* Writes the sealed file[0, file_size) durably as data/<id> and its SHA-256 (for the
 * manifest) into hash; the dir fsync is the caller's. */
static stele_status frag_store(const char *db_dir, const uint8_t id[16], const uint8_t *file,
                               uint32_t file_size, uint8_t hash[32], util_err *e)
{
    char tmp[PATH_CAP], path[PATH_CAP];
    frag_path(db_dir, id, ".tmp", tmp);
    frag_path(db_dir, id, "", path);
    crypto_sha256(file, file_size, hash); /* the manifest's hash of the whole file */
    int fd = io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = fd < 0 ? fd : io_pwrite(fd, file, file_size, 0);
    if (err == 0) err = io_fsync(fd);
    if (fd >= 0) io_close(fd);
    if (err == 0) err = io_rename(tmp, path);
    if (err != 0) {
        unlink(tmp);
        return util_fail(e, util_errno_status(-err), "cannot write snapshot fragment '%s': %s%s",
                         path, strerror(-err),
                         err == -ENOSPC ? " (free some disk space; the old snapshot stays)" : "");
    }
    return STELE_OK;
}

void snap_frag_unlink(const char *db_dir, const uint8_t (*ids)[16], uint32_t n)
{
    char path[PATH_CAP], data[PATH_CAP];
    for (uint32_t i = 0; i < n; i++) {
        frag_path(db_dir, ids[i], "", path);
        (void)io_unlink(path); /* best effort: a write intent names what is left */
    }
    snprintf(data, sizeof data, "%s/data", db_dir);
    (void)io_fsync_dir(data);
}

/* Writes the fragments ids[0, nfrag) of the state (write-intent step 2) and syncs
 * data/; on failure removes what it wrote. */
static stele_status frags_write(ledger *L, uint64_t lsn, const uint8_t *state, size_t len,
                                const uint8_t (*ids)[16], uint8_t (*hashes)[32], size_t nfrag,
                                util_err *e)
{
    const char *db_dir = ledger_dir(L);
    uint32_t fsize = ledger_file_size(L);
    size_t cap = snap_capacity(fsize), written = 0;
    uint8_t *file = malloc(fsize);
    stele_status rc = file ? STELE_OK : util_fail(e, STELE_ENOMEM, "out of memory");
    while (rc == STELE_OK && written < nfrag) {
        size_t off = written * cap, n = len - off < cap ? len - off : cap;
        rc = snap_frag_write(db_dir, ledger_keys(L), fsize, lsn, (uint32_t)written, state + off, n,
                        file, ids[written], hashes[written], e);
        if (rc == STELE_OK) written++;
    }
    free(file);
    char data[PATH_CAP];
    snprintf(data, sizeof data, "%s/data", db_dir);
    if (rc == STELE_OK) {
        int err = io_fsync_dir(data);
        if (err) rc = util_fail(e, util_errno_status(-err), "cannot sync '%s': %s", data,
                                strerror(-err));
    }
    if (rc != STELE_OK) snap_frag_unlink(db_dir, ids, (uint32_t)written);
    return rc;
}

stele_status snap_write(ledger *L, uint64_t lsn, const uint8_t *state, size_t len,
                        const uint8_t (*extra)[16], const uint8_t (*extra_hash)[32],
                        uint32_t nextra, util_err *e)
{
    size_t cap = snap_capacity(ledger_file_size(L));
    size_t nfrag = len ? (len + cap - 1) / cap : 1;
    if (nfrag + nextra > SB_MAX_FRAGS)
        return util_fail(e, STELE_ETOOBIG, "the state (%zu bytes, %u partition files) needs "
                         "more than %u fragments", len, nextra, SB_MAX_FRAGS);
    size_t nall = nfrag + nextra;
    uint8_t (*ids)[16] = calloc(nall, 16);
    uint8_t (*hashes)[32] = calloc(nall, 32);
    ledger_snapinfo old;
    memset(&old, 0, sizeof old);
    stele_status rc = STELE_OK;
    if (!ids || !hashes || ledger_snapshot_get(L, &old) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot");
    if (rc == STELE_OK) {
        crypto_random(ids, nfrag * 16);
        if (nextra) memcpy(ids + nfrag, extra, (size_t)nextra * 16);
        if (nextra) memcpy(hashes + nfrag, extra_hash, (size_t)nextra * 32);
    }
    /* The write-intent protocol (src/ledger/manifest.c): 1 intent, 2 files, 3 manifest,
     * 4 old files removed, 5 intent cleared. Partition files (extra) were written
     * before, each named in the intent first (partition.c). */
    if (rc == STELE_OK) rc = ledger_intent_add(L, (const uint8_t(*)[16])ids, (uint32_t)nfrag, e);
    if (rc == STELE_OK) {
        rc = frags_write(L, lsn, state, len, (const uint8_t(*)[16])ids, hashes, nfrag, e);
        if (rc == STELE_OK)
            rc = ledger_snapshot_set(L, lsn, len, (const uint8_t(*)[16])ids,
                                     (const uint8_t(*)[32])hashes, (uint32_t)nall, e);
        else if (nextra == 0)
            (void)ledger_intent_clear(L, e); /* files removed: roll back (or at next open) */
    }
    if (rc == STELE_OK && old.nfrag)
        snap_frag_unlink(ledger_dir(L), (const uint8_t(*)[16])old.frags, old.nfrag);
    if (rc == STELE_OK) rc = ledger_intent_clear(L, e);
    free(old.frags);
    free(ids);
    free(hashes);
    return rc;
}

/* Opens the header box of fragment file fd; 0 and *h fields, or -1. */
typedef struct frag_hdr {
    uint32_t idx, body_len;
    uint64_t lsn;
} frag_hdr;

static int frag_open_header(crypto_gcm *g, const vault_dbkeys *k, const uint8_t id[16],
                            uint32_t epoch, int fd, frag_hdr *h)
{
    uint8_t area[FRAG_HDR_AREA], hdr[FRAG_HDR_PLAIN], aad[FRAG_AAD_MAX];
    if (io_pread(fd, area, sizeof area, 0) != (ssize_t)sizeof area) return -1;
    size_t an = hdr_aad(k, id, epoch, aad);
    if (box_open(g, area, aad, an, area + 12, 64, area + 12 + 64, hdr) != 0) return -1;
    if (memcmp(hdr, "STELEFRG", 8) != 0 || get_u32(hdr + 8) != FRAG_VERSION ||
        memcmp(hdr + 16, k->db_id, 16) != 0 || memcmp(hdr + 32, id, 16) != 0 ||
        get_u32(hdr + 60) != epoch)
        return -1;
    h->idx = get_u32(hdr + 12);
    h->lsn = get_u64(hdr + 48);
    h->body_len = get_u32(hdr + 56);
    return 0;
}

/* Reads one box of fragment `idx` of the snapshot at `lsn` (file id, key epoch `epoch`)
 * and appends its plaintext to out: the body box of a directory fragment (packed 0: its
 * length comes from the header), or the box of n bytes at body offset off of a packed
 * one. */
static stele_status frag_read_box(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                                  const uint8_t id[16], uint32_t epoch, uint64_t lsn,
                                  uint32_t idx, int packed, uint32_t off, size_t n, buf *out,
                                  util_err *e)
{
    char path[PATH_CAP];
    frag_path(db_dir, id, "", path);
    int fd = io_open(path, O_RDONLY, 0);
    if (fd < 0)
        return util_fail(e, STELE_ECORRUPT, "snapshot fragment %u '%s' is missing (%s)", idx,
                         path, strerror(-fd));
    crypto_gcm *g = NULL;
    frag_hdr h = {0, 0, 0};
    struct stat st;
    stele_status rc = STELE_OK;
    if (epoch < 1 || epoch > k->epoch || frag_key(k, epoch, id, &g) != 0)
        rc = util_fail(e, STELE_ECORRUPT, "snapshot fragment %u '%s': no key for its epoch "
                       "%u (an outdated key slot file, or a damaged manifest)", idx, path, epoch);
    else if (fstat(fd, &st) != 0 || st.st_size != (off_t)file_size ||
             frag_open_header(g, k, id, epoch, fd, &h) != 0 || h.idx != idx || h.lsn != lsn ||
             (packed ? (uint64_t)off + FRAG_BODY_OVERHEAD + n > h.body_len ||
                           h.body_len > (size_t)file_size - FRAG_HDR_AREA
                     : h.body_len > snap_capacity(file_size)))
        rc = util_fail(e, STELE_ECORRUPT, "snapshot fragment %u '%s' is not authentic", idx,
                       path);
    if (rc == STELE_OK && !packed) n = h.body_len;
    size_t box = FRAG_BODY_OVERHEAD + n;
    if (rc == STELE_OK && buf_reserve(out, box) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory reading a snapshot");
    if (rc == STELE_OK) {
        uint8_t *b = out->data + out->len, aad[FRAG_AAD_MAX];
        size_t an = packed ? box_aad(k, id, epoch, lsn, idx, off, aad)
                           : body_aad(k, id, epoch, lsn, idx, aad);
        if (io_pread(fd, b, box, (off_t)FRAG_HDR_AREA + off) != (ssize_t)box ||
            box_open(g, b, aad, an, b + 12, n, b + 12 + n, b) != 0)
            rc = util_fail(e, STELE_ECORRUPT, "snapshot fragment %u '%s' is not authentic",
                           idx, path);
        else
            out->len += n; /* opened in place at the start of the box */
    }
    crypto_gcm_free(g);
    io_close(fd);
    return rc;
}

stele_status snap_frag_read(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                            const uint8_t id[16], uint32_t epoch, uint64_t lsn, uint32_t idx,
                            buf *out, util_err *e)
{
    return frag_read_box(db_dir, k, file_size, id, epoch, lsn, idx, 0, 0, 0, out, e);
}

stele_status snap_box_read(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                           const uint8_t id[16], uint32_t epoch, uint64_t lsn, uint32_t idx,
                           uint32_t off, size_t n, buf *out, util_err *e)
{
    return frag_read_box(db_dir, k, file_size, id, epoch, lsn, idx, 1, off, n, out, e);
}

stele_status snap_read(ledger *L, uint8_t **state, size_t *len, uint64_t *lsn, util_err *e)
{
    const char *db_dir = ledger_dir(L);
    const vault_dbkeys *k = ledger_keys(L);
    *state = NULL;
    *len = 0;
    *lsn = 0;
    ledger_snapinfo si;
    if (ledger_snapshot_get(L, &si) != 0) return util_fail(e, STELE_ENOMEM, "out of memory");
    if (si.nfrag == 0) return STELE_OK;
    uint8_t h[32];
    stele_status rc = STELE_OK;
    if (ledger_record_hash(L, si.lsn, h) != 0 || memcmp(h, si.hash, 32) != 0)
        rc = util_fail(e, STELE_ECORRUPT, "the snapshot at LSN %llu does not match the log "
                       "(the log was cut by a recovery since it was taken)",
                       (unsigned long long)si.lsn);
    buf out;
    buf_init(&out);
    /* The first fragments hold the state's directory (si.bytes); the manifest lists the
     * partition files after them (read on demand through partition.h). */
    size_t cap = snap_capacity(ledger_file_size(L));
    uint64_t ndir = si.bytes ? (si.bytes + cap - 1) / cap : 1;
    if (rc == STELE_OK && ndir > si.nfrag)
        rc = util_fail(e, STELE_ECORRUPT, "the snapshot entry of the superblock is inconsistent");
    if (rc == STELE_OK && buf_reserve(&out, (size_t)si.bytes + FRAG_BODY_OVERHEAD) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory reading a snapshot");
    for (uint32_t i = 0; rc == STELE_OK && i < ndir; i++)
        rc = snap_frag_read(db_dir, k, ledger_file_size(L), si.frags[i], si.epoch, si.lsn, i,
                            &out, e);
    if (rc == STELE_OK && out.len != si.bytes)
        rc = util_fail(e, STELE_ECORRUPT, "the snapshot has %zu bytes, the superblock says %llu",
                       out.len, (unsigned long long)si.bytes);
    free(si.frags);
    if (rc != STELE_OK) {
        buf_release(&out);
        return rc;
    }
    *state = out.data;
    *len = out.len;
    *lsn = si.lsn;
    return STELE_OK;
}
