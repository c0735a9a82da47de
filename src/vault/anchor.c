/*
 * anchor.c — see anchor.h. Layer: vault.
 */
#include "vault/anchor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/io.h"

#define ANCHOR_MAGIC "STELEANC"
#define ANCHOR_FORMAT 1u
#define ANCHOR_HDR 12
#define ANCHOR_ENTRY 24
#define ANCHOR_FILE_MAX (ANCHOR_HDR + CRYPTO_WRAP_OVERHEAD + 4 + ANCHOR_MAX * ANCHOR_ENTRY)

typedef struct anchors {
    uint32_t n;
    uint8_t (*ent)[ANCHOR_ENTRY]; /* db id(16) | u64 version */
} anchors;

static int anchor_key(const vault_user *u, const uint8_t *dek, uint8_t key[CRYPTO_KEY_BYTES],
                      uint8_t aad[16 + VAULT_ID_BYTES])
{
    static const char info[] = "stele anchors";
    memcpy(aad, "stele/anchors/v1", 16);
    aad[15] = 0;
    memcpy(aad + 16, u->id, VAULT_ID_BYTES);
    return crypto_hkdf(dek, CRYPTO_KEY_BYTES, u->id, VAULT_ID_BYTES, (const uint8_t *)info,
                       sizeof info - 1, key, CRYPTO_KEY_BYTES);
}

/* Reads the user's anchors (none if the file is missing). */
static stele_status anchors_read(const char *dir, const vault_user *u, const uint8_t *dek,
                                 anchors *a, util_err *e)
{
    char path[VAULT_PATH_MAX];
    snprintf(path, sizeof path, "%s/users/%s.anchors", dir, u->name);
    a->n = 0;
    a->ent = NULL;
    uint8_t *b = NULL;
    size_t len = 0;
    util_err re;
    stele_status rc = io_read_file(path, ANCHOR_FILE_MAX, &b, &len, &re);
    if (rc == STELE_ENOTFOUND) return STELE_OK;
    if (rc != STELE_OK) return util_fail(e, rc, "%s", re.msg);
    uint8_t key[CRYPTO_KEY_BYTES], aad[16 + VAULT_ID_BYTES];
    uint8_t *pt = len > ANCHOR_HDR + CRYPTO_WRAP_OVERHEAD ? malloc(len) : NULL;
    int ok = pt && memcmp(b, ANCHOR_MAGIC, 8) == 0 && get_u32(b + 8) == ANCHOR_FORMAT &&
             anchor_key(u, dek, key, aad) == 0 &&
             crypto_unwrap(key, aad, sizeof aad, b + ANCHOR_HDR, len - ANCHOR_HDR, pt) == 0;
    size_t plen = ok ? len - ANCHOR_HDR - CRYPTO_WRAP_OVERHEAD : 0;
    uint32_t n = ok && plen >= 4 ? get_u32(pt) : 0;
    ok = ok && plen >= 4 && n <= ANCHOR_MAX && plen == 4 + (size_t)n * ANCHOR_ENTRY;
    crypto_wipe(key, sizeof key);
    free(b);
    if (!ok) {
        free(pt);
        return util_fail(e, STELE_ECORRUPT, "'%s' is not authentic (damaged, or written for "
                         "another user): remove it to drop the freshness anchors of user %s",
                         path, u->name);
    }
    a->ent = malloc(((size_t)n + 1) * ANCHOR_ENTRY);
    if (!a->ent) {
        free(pt);
        return util_fail(e, STELE_ENOMEM, "out of memory");
    }
    memcpy(a->ent, pt + 4, (size_t)n * ANCHOR_ENTRY);
    a->n = n;
    free(pt);
    return STELE_OK;
}

static stele_status anchors_write(const char *dir, const vault_user *u, const uint8_t *dek,
                                  const anchors *a, util_err *e)
{
    size_t plen = 4 + (size_t)a->n * ANCHOR_ENTRY;
    uint8_t *pt = malloc(plen), *out = malloc(ANCHOR_HDR + plen + CRYPTO_WRAP_OVERHEAD);
    uint8_t key[CRYPTO_KEY_BYTES], aad[16 + VAULT_ID_BYTES];
    int ok = pt && out && anchor_key(u, dek, key, aad) == 0;
    if (ok) {
        put_u32(pt, a->n);
        memcpy(pt + 4, a->ent, (size_t)a->n * ANCHOR_ENTRY);
        memcpy(out, ANCHOR_MAGIC, 8);
        put_u32(out + 8, ANCHOR_FORMAT);
        ok = crypto_wrap(key, aad, sizeof aad, pt, plen, out + ANCHOR_HDR) == 0;
    }
    crypto_wipe(key, sizeof key);
    char users[VAULT_PATH_MAX], name[VAULT_NAME_MAX + 16];
    snprintf(users, sizeof users, "%s/users", dir);
    snprintf(name, sizeof name, "%s.anchors", u->name);
    stele_status rc = ok ? io_write_atomic(users, name, out, ANCHOR_HDR + plen +
                                                                 CRYPTO_WRAP_OVERHEAD, e)
                         : util_fail(e, STELE_ENOMEM, "cannot seal the anchors of user %s",
                                     u->name);
    free(pt);
    free(out);
    return rc;
}

static int64_t anchor_find(const anchors *a, const uint8_t db_id[VAULT_ID_BYTES])
{
    for (uint32_t i = 0; i < a->n; i++)
        if (memcmp(a->ent[i], db_id, VAULT_ID_BYTES) == 0) return i;
    return -1;
}

stele_status vault_anchor_get(const char *dir, const vault_user *u, const uint8_t *dek,
                              const uint8_t db_id[VAULT_ID_BYTES], uint64_t *version,
                              util_err *e)
{
    anchors a;
    *version = 0;
    stele_status rc = anchors_read(dir, u, dek, &a, e);
    int64_t i = rc == STELE_OK ? anchor_find(&a, db_id) : -1;
    if (i >= 0) *version = get_u64(a.ent[i] + VAULT_ID_BYTES);
    free(a.ent);
    return rc;
}

stele_status vault_anchor_set(const char *dir, const vault_user *u, const uint8_t *dek,
                              const uint8_t db_id[VAULT_ID_BYTES], uint64_t version,
                              int force, util_err *e)
{
    anchors a;
    stele_status rc = anchors_read(dir, u, dek, &a, e);
    if (rc == STELE_ECORRUPT && force) { /* accepting a rollback also starts afresh */
        a.n = 0;
        a.ent = NULL;
        rc = STELE_OK;
    }
    if (rc != STELE_OK) return rc;
    int64_t i = anchor_find(&a, db_id);
    if (i >= 0 && !force && get_u64(a.ent[i] + VAULT_ID_BYTES) >= version) {
        free(a.ent);
        return STELE_OK; /* nothing newer */
    }
    if (i < 0) {
        uint8_t (*grown)[ANCHOR_ENTRY] = realloc(a.ent, ((size_t)a.n + 1) * ANCHOR_ENTRY);
        if (!grown) {
            free(a.ent);
            return util_fail(e, STELE_ENOMEM, "out of memory");
        }
        a.ent = grown;
        if (a.n == ANCHOR_MAX) { /* drop the oldest entry */
            memmove(a.ent[0], a.ent[1], (size_t)(a.n - 1) * ANCHOR_ENTRY);
            a.n--;
        }
        i = a.n++;
        memcpy(a.ent[i], db_id, VAULT_ID_BYTES);
    }
    put_u64(a.ent[i] + VAULT_ID_BYTES, version);
    rc = anchors_write(dir, u, dek, &a, e);
    free(a.ent);
    return rc;
}
