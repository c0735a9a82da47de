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
#include "ledger/superblock.h"
#include "util/io.h"

#define FRAG_VERSION 1
#define PATH_CAP 4200

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

static crypto_gcm *frag_key(const vault_dbkeys *k, const uint8_t id[16])
{
    crypto_gcm *g;
    util_err e;
    return ledger_file_key(k, "fragment key", id, &g, &e) == STELE_OK ? g : NULL;
}

static void hdr_aad(const vault_dbkeys *k, const uint8_t id[16], uint8_t aad[36])
{
    memcpy(aad, "FRGH", 4);
    memcpy(aad + 4, k->db_id, 16);
    memcpy(aad + 20, id, 16);
}

static void body_aad(const vault_dbkeys *k, const uint8_t id[16], uint64_t lsn, uint32_t idx,
                     uint8_t aad[48])
{
    memcpy(aad, "FRGB", 4);
    memcpy(aad + 4, k->db_id, 16);
    memcpy(aad + 20, id, 16);
    put_u64(aad + 36, lsn);
    put_u32(aad + 44, idx);
}

/* The AAD of box `box_off` of a packed fragment (snap_box_seal). */
static void box_aad(const vault_dbkeys *k, const uint8_t id[16], uint64_t lsn, uint32_t idx,
                    uint32_t box_off, uint8_t aad[52])
{
    memcpy(aad, "FRGP", 4);
    memcpy(aad + 4, k->db_id, 16);
    memcpy(aad + 20, id, 16);
    put_u64(aad + 36, lsn);
    put_u32(aad + 44, idx);
    put_u32(aad + 48, box_off);
}

/* Seals the header box of fragment `idx` (body_len bytes after the header area) into
 * file[0, FRAG_HDR_AREA). 0 or -1. */
static int frag_seal_header(crypto_gcm *g, const vault_dbkeys *k, const uint8_t id[16],
                            uint64_t lsn, uint32_t idx, size_t n, uint8_t *file)
{
    uint8_t hdr[FRAG_HDR_PLAIN] = {0}, aad[36];
    memcpy(hdr, "STELEFRG", 8);
    put_u32(hdr + 8, FRAG_VERSION);
    put_u32(hdr + 12, idx);
    memcpy(hdr + 16, k->db_id, 16);
    memcpy(hdr + 32, id, 16);
    put_u64(hdr + 48, lsn);
    put_u32(hdr + 56, (uint32_t)n);
    put_u32(hdr + 60, k->epoch);
    crypto_random(file, 12);
    hdr_aad(k, id, aad);
    return crypto_gcm_seal(g, file, aad, 36, hdr, sizeof hdr, file + 12, file + 12 + 64);
}

/* Seals fragment `idx` of the snapshot at `lsn` into file (file_size bytes, already
 * random). 0 or -1. */
static int frag_seal(const vault_dbkeys *k, const uint8_t id[16], uint64_t lsn, uint32_t idx,
                     const uint8_t *body, size_t n, uint8_t *file)
{
    uint8_t aad[48];
    crypto_gcm *g = frag_key(k, id);
    if (!g) return -1;
    int rc = frag_seal_header(g, k, id, lsn, idx, n, file);
    uint8_t *b = file + FRAG_HDR_AREA;
    crypto_random(b, 12);
    body_aad(k, id, lsn, idx, aad);
    if (rc == 0) rc = crypto_gcm_seal(g, b, aad, 48, body, n, b + 12, b + 12 + n);
    crypto_gcm_free(g);
    return rc;
}

/* Writes the sealed file[0, file_size) durably as data/<id> (dir fsync left to the
 * caller). */
static stele_status frag_store(const char *db_dir, const uint8_t id[16], const uint8_t *file,
                               uint32_t file_size, util_err *e)
{
    char tmp[PATH_CAP], path[PATH_CAP];
    frag_path(db_dir, id, ".tmp", tmp);
    frag_path(db_dir, id, "", path);
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

stele_status snap_frag_write(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                               uint64_t lsn, uint32_t idx, const uint8_t *body, size_t n,
                               uint8_t *file, uint8_t id[16], util_err *e)
{
    STELE_ASSERT(n <= snap_capacity(file_size));
    crypto_random(id, 16);
    crypto_random_fill(file, file_size);
    if (frag_seal(k, id, lsn, idx, body, n, file) != 0)
        return util_fail(e, STELE_EIO, "cannot seal a snapshot fragment");
    return frag_store(db_dir, id, file, file_size, e);
}

void snap_pack_begin(uint8_t *file, uint32_t file_size, uint8_t id[16])
{
    crypto_random(id, 16);
    crypto_random_fill(file, file_size);
}

int snap_box_seal(const vault_dbkeys *k, const uint8_t id[16], uint64_t lsn, uint32_t idx,
                  uint8_t *file, uint32_t file_size, uint32_t off, const uint8_t *body, size_t n)
{
    STELE_ASSERT((size_t)off + n + FRAG_BODY_OVERHEAD <= (size_t)file_size - FRAG_HDR_AREA);
    uint8_t aad[52], *b = file + FRAG_HDR_AREA + off;
    crypto_gcm *g = frag_key(k, id);
    if (!g) return -1;
    crypto_random(b, 12);
    box_aad(k, id, lsn, idx, off, aad);
    int rc = crypto_gcm_seal(g, b, aad, sizeof aad, body, n, b + 12, b + 12 + n);
    crypto_gcm_free(g);
    return rc;
}

stele_status snap_pack_write(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                             uint64_t lsn, uint32_t idx, size_t used, uint8_t *file,
                             const uint8_t id[16], util_err *e)
{
    STELE_ASSERT(used <= (size_t)file_size - FRAG_HDR_AREA);
    crypto_gcm *g = frag_key(k, id);
    int rc = g ? frag_seal_header(g, k, id, lsn, idx, used, file) : -1;
    crypto_gcm_free(g);
    if (rc != 0) return util_fail(e, STELE_EIO, "cannot seal a snapshot fragment");
    return frag_store(db_dir, id, file, file_size, e);
}

void snap_frag_unlink(const char *db_dir, const uint8_t (*ids)[16], uint32_t n)
{
    char path[PATH_CAP], data[PATH_CAP];
    for (uint32_t i = 0; i < n; i++) {
        frag_path(db_dir, ids[i], "", path);
        (void)io_unlink(path); /* best effort: snap_gc removes what is left */
    }
    snprintf(data, sizeof data, "%s/data", db_dir);
    (void)io_fsync_dir(data);
}

stele_status snap_write(ledger *L, uint64_t lsn, const uint8_t *state, size_t len, util_err *e)
{
    const char *db_dir = ledger_dir(L);
    const vault_dbkeys *k = ledger_keys(L);
    uint32_t fsize = ledger_file_size(L);
    size_t cap = snap_capacity(fsize);
    size_t nfrag = len ? (len + cap - 1) / cap : 1;
    if (nfrag > SB_MAX_FRAGS)
        return util_fail(e, STELE_ETOOBIG, "the state (%zu bytes) needs more than %u fragments",
                         len, SB_MAX_FRAGS);
    uint8_t (*ids)[16] = calloc(nfrag, 16);
    uint8_t *file = malloc(fsize);
    ledger_snapinfo old;
    stele_status rc = STELE_OK;
    if (!ids || !file || ledger_snapshot_get(L, &old) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot");
    size_t written = 0;
    while (rc == STELE_OK && written < nfrag) {
        size_t off = written * cap, n = len - off < cap ? len - off : cap;
        rc = snap_frag_write(db_dir, k, fsize, lsn, (uint32_t)written, state + off, n, file,
                        ids[written], e);
        if (rc == STELE_OK) written++;
    }
    char data[PATH_CAP];
    snprintf(data, sizeof data, "%s/data", db_dir);
    if (rc == STELE_OK) {
        int err = io_fsync_dir(data);
        if (err) rc = util_fail(e, util_errno_status(-err), "cannot sync '%s': %s", data,
                                strerror(-err));
    }
    if (rc != STELE_OK) {
        snap_frag_unlink(db_dir, (const uint8_t(*)[16])ids, (uint32_t)written);
    } else {
        rc = ledger_snapshot_set(L, lsn, len, (const uint8_t(*)[16])ids, (uint32_t)nfrag, e);
        /* On failure the new files stay: a superblock copy may already name them. */
        if (rc == STELE_OK && old.nfrag) snap_frag_unlink(db_dir, (const uint8_t(*)[16])old.frags, old.nfrag);
    }
    free(old.frags);
    free(ids);
    free(file);
    return rc;
}

/* Opens the header box of fragment file fd; 0 and *h fields, or -1. */
typedef struct frag_hdr {
    uint32_t idx, body_len;
    uint64_t lsn;
} frag_hdr;

static int frag_open_header(crypto_gcm *g, const vault_dbkeys *k, const uint8_t id[16], int fd,
                            frag_hdr *h)
{
    uint8_t area[FRAG_HDR_AREA], hdr[FRAG_HDR_PLAIN], aad[36];
    if (io_pread(fd, area, sizeof area, 0) != (ssize_t)sizeof area) return -1;
    hdr_aad(k, id, aad);
    if (crypto_gcm_open(g, area, aad, 36, area + 12, 64, area + 12 + 64, hdr) != 0) return -1;
    if (memcmp(hdr, "STELEFRG", 8) != 0 || get_u32(hdr + 8) != FRAG_VERSION ||
        memcmp(hdr + 16, k->db_id, 16) != 0 || memcmp(hdr + 32, id, 16) != 0)
        return -1;
    h->idx = get_u32(hdr + 12);
    h->lsn = get_u64(hdr + 48);
    h->body_len = get_u32(hdr + 56);
    return 0;
}

/* Reads one box of fragment `idx` of the snapshot at `lsn` (file id) and appends its
 * plaintext to out: the body box of a directory fragment (packed 0: n is the body's
 * length from the header), or the box of n bytes at body offset off of a packed one. */
static stele_status frag_read_box(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                                  const uint8_t id[16], uint64_t lsn, uint32_t idx, int packed,
                                  uint32_t off, size_t n, buf *out, util_err *e)
{
    char path[PATH_CAP];
    frag_path(db_dir, id, "", path);
    int fd = io_open(path, O_RDONLY, 0);
    if (fd < 0)
        return util_fail(e, STELE_ECORRUPT, "snapshot fragment %u '%s' is missing (%s)", idx,
                         path, strerror(-fd));
    crypto_gcm *g = frag_key(k, id);
    frag_hdr h;
    struct stat st;
    stele_status rc = STELE_OK;
    if (!g) rc = util_fail(e, STELE_ENOMEM, "cannot set up a fragment key");
    else if (fstat(fd, &st) != 0 || st.st_size != (off_t)file_size ||
             frag_open_header(g, k, id, fd, &h) != 0 || h.idx != idx || h.lsn != lsn ||
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
        uint8_t *b = out->data + out->len, aad[52];
        size_t aad_len = packed ? 52 : 48;
        if (packed) box_aad(k, id, lsn, idx, off, aad);
        else body_aad(k, id, lsn, idx, aad);
        if (io_pread(fd, b, box, (off_t)FRAG_HDR_AREA + off) != (ssize_t)box ||
            crypto_gcm_open(g, b, aad, aad_len, b + 12, n, b + 12 + n, b) != 0)
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
                            const uint8_t id[16], uint64_t lsn, uint32_t idx, buf *out,
                            util_err *e)
{
    return frag_read_box(db_dir, k, file_size, id, lsn, idx, 0, 0, 0, out, e);
}

stele_status snap_box_read(const char *db_dir, const vault_dbkeys *k, uint32_t file_size,
                           const uint8_t id[16], uint64_t lsn, uint32_t idx, uint32_t off,
                           size_t n, buf *out, util_err *e)
{
    return frag_read_box(db_dir, k, file_size, id, lsn, idx, 1, off, n, out, e);
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
    if (rc == STELE_OK && si.bytes > (uint64_t)si.nfrag * snap_capacity(ledger_file_size(L)))
        rc = util_fail(e, STELE_ECORRUPT, "the snapshot entry of the superblock is inconsistent");
    if (rc == STELE_OK && buf_reserve(&out, (size_t)si.bytes + FRAG_BODY_OVERHEAD) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory reading a snapshot");
    for (uint32_t i = 0; rc == STELE_OK && i < si.nfrag; i++)
        rc = snap_frag_read(db_dir, k, ledger_file_size(L), si.frags[i], si.lsn, i, &out, e);
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

/* Whether data/<name> is an authentic fragment of this database. */
static int is_our_fragment(const char *db_dir, const vault_dbkeys *k, const uint8_t id[16])
{
    char path[PATH_CAP];
    frag_path(db_dir, id, "", path);
    int fd = io_open(path, O_RDONLY, 0);
    if (fd < 0) return 0;
    crypto_gcm *g = frag_key(k, id);
    frag_hdr h;
    int ours = g && frag_open_header(g, k, id, fd, &h) == 0;
    crypto_gcm_free(g);
    io_close(fd);
    return ours;
}

int snap_gc(ledger *L, const uint8_t (*keep)[16], uint32_t nkeep)
{
    const char *db_dir = ledger_dir(L);
    const vault_dbkeys *k = ledger_keys(L);
    ledger_snapinfo si;
    if (ledger_snapshot_get(L, &si) != 0) return 0;
    char data[PATH_CAP];
    snprintf(data, sizeof data, "%s/data", db_dir);
    DIR *d = opendir(data);
    struct dirent *de;
    int removed = 0;
    while (d && (de = readdir(d))) {
        uint8_t id[16];
        if (strlen(de->d_name) != 32 || crypto_unhex(de->d_name, id, 16) != 0) continue;
        if (ledger_is_segment(L, id)) continue;
        int current = 0;
        for (uint32_t i = 0; i < si.nfrag && !current; i++)
            current = memcmp(si.frags[i], id, 16) == 0;
        for (uint32_t i = 0; i < nkeep && !current; i++)
            current = memcmp(keep[i], id, 16) == 0;
        if (current || !is_our_fragment(db_dir, k, id)) continue;
        char path[PATH_CAP];
        frag_path(db_dir, id, "", path);
        if (io_unlink(path) == 0) removed++;
    }
    if (d) closedir(d);
    if (removed) (void)io_fsync_dir(data);
    free(si.frags);
    return removed;
}
