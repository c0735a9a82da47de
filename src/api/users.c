/*
 * users.c — users, databases and their names, sharing and revocation: the public API
 * of include/stele.h "Users, databases, sharing" and stele_db_share/stele_db_revoke.
 * Layer: api (over vault and ledger).
 *
 * A user's databases are not listed anywhere in the clear: each database's key slot
 * file (vault/dbkeys.c) holds owner, members and name sealed, and a user finds their
 * slot by trying each one. So a user's list is a scan of dbs/ that tries to open every
 * database (no password derivation: one DEK unwrap, then at most 65 sealed-box trials
 * per database). Names are unique per owner; a member sees "OWNER/NAME". Only the
 * store's admin learns who owns a database (the registry slot), to remove a user's
 * databases with the user.
 *
 * Order of writes (crash safety, tests/crash/access_crash_test.c):
 *   create   database built under dbs/.new-<id>, renamed into place, then (for a new
 *            user) the user file: an interruption leaves an unreferenced directory.
 *   share    access record appended (durable) before the key slot file gains the slot: no
 *            access is ever given without its record.
 *   revoke   key slot file rotated first (access removed), then the rotation record in the
 *            new epoch: an interruption leaves the member revoked without its record.
 *   drop     directory renamed to dbs/.drop-<id> (atomic, gone for every reader),
 *            then its files removed.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "util/io.h"
#include "util/lock.h"
#include "vault/vault.h"

#define DBS_MAX 100000u /* bound on the directory scan of dbs/ */
#define PRIMARY "primary"

/* ----------------------------------------------------------- db directory scan */

typedef int (*db_fn)(void *ctx, const char *db_dir, const uint8_t id[VAULT_ID_BYTES]);

/* Calls fn for every database directory (dbs/<32 hex>) with its id, until fn returns
 * nonzero. */
static stele_status db_each(const char *store, db_fn fn, void *ctx, util_err *e)
{
    char dbs[VAULT_PATH_MAX];
    snprintf(dbs, sizeof dbs, "%s/dbs", store);
    DIR *d = opendir(dbs);
    if (!d) return util_fail(e, STELE_EIO, "cannot list '%s': %s", dbs, strerror(errno));
    struct dirent *de;
    stele_status rc = STELE_OK;
    for (uint32_t n = 0; rc == STELE_OK && n < DBS_MAX && (de = readdir(d)); n++) {
        uint8_t id[VAULT_ID_BYTES];
        if (strlen(de->d_name) != 32 || crypto_unhex(de->d_name, id, VAULT_ID_BYTES) != 0)
            continue;
        char dir[VAULT_PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", dbs, de->d_name);
        if (fn(ctx, dir, id) != 0) break;
    }
    closedir(d);
    return rc;
}

/* ---------------------------------------------------------------- resolving */

typedef struct find_ctx {
    const vault_user *u;
    const uint8_t *dek;
    const uint8_t *owner;   /* the owner named (the user for their own databases) */
    const char *name;
    uint8_t id[VAULT_ID_BYTES];
    int found;
} find_ctx;

/* A database the user can open, owned by c->owner and named c->name. Databases the
 * user cannot open stay unknown, names included. */
static int find_cb(void *ctx, const char *dir, const uint8_t id[VAULT_ID_BYTES])
{
    find_ctx *c = ctx;
    int own = memcmp(c->owner, c->u->id, VAULT_ID_BYTES) == 0;
    vault_dbkeys *k = malloc(sizeof *k);
    util_err e;
    if (!k) return 0;
    if (vault_db_unlock(dir, id, c->u, c->dek, own ? VAULT_UNLOCK_OWNER : VAULT_UNLOCK_ANY, k,
                        &e) == STELE_OK) {
        if (memcmp(k->owner, c->owner, VAULT_ID_BYTES) == 0 && strcmp(k->name, c->name) == 0) {
            memcpy(c->id, id, VAULT_ID_BYTES);
            c->found = 1;
        }
        vault_dbkeys_release(k);
    }
    free(k);
    return c->found;
}

stele_status api_db_resolve(const char *store, const vault_user *u, const uint8_t *dek,
                            const char *name, uint8_t id[VAULT_ID_BYTES],
                            char name_out[VAULT_NAME_MAX * 2 + 2], util_err *e)
{
    if (!name || strcmp(name, PRIMARY) == 0) {
        memcpy(id, u->primary_db, VAULT_ID_BYTES);
        util_strlcpy(name_out, PRIMARY, VAULT_NAME_MAX * 2 + 2);
        return STELE_OK;
    }
    const char *slash = strchr(name, '/');
    char owner_name[VAULT_NAME_MAX + 1];
    vault_user owner = *u;
    find_ctx c = {.u = u, .dek = dek, .name = slash ? slash + 1 : name};
    if (slash) {
        size_t n = (size_t)(slash - name);
        if (n == 0 || n > VAULT_NAME_MAX)
            return util_fail(e, STELE_EINVAL, "invalid database name '%s' (OWNER/NAME)", name);
        memcpy(owner_name, name, n);
        owner_name[n] = 0;
        stele_status rc = vault_user_load(store, owner_name, &owner, e);
        if (rc != STELE_OK) return rc;
    }
    if (!vault_name_ok(c.name))
        return util_fail(e, STELE_EINVAL, "invalid database name '%s': use 1-64 letters, "
                         "digits, '.', '_' or '-' (or OWNER/NAME)", name);
    if (slash && strcmp(c.name, PRIMARY) == 0 && strcmp(owner.name, u->name) != 0)
        return util_fail(e, STELE_EACCESS, "no access: the primary database of user '%s' is "
                         "never shared", owner.name);
    if (slash && strcmp(owner.name, u->name) == 0)
        return api_db_resolve(store, u, dek, c.name, id, name_out, e); /* depth 1: no '/' */
    c.owner = owner.id;
    stele_status rc = db_each(store, find_cb, &c, e);
    if (rc != STELE_OK) return rc;
    if (!c.found && slash)
        return util_fail(e, STELE_EACCESS, "no access: user '%s' has no database '%s' shared "
                         "with them (ask its owner or an admin to run 'stele db share')",
                         u->name, name);
    if (!c.found)
        return util_fail(e, STELE_ENOTFOUND, "user '%s' has no database '%s' (see 'stele db "
                         "list'; a shared one is named OWNER/NAME)", u->name, name);
    memcpy(id, c.id, VAULT_ID_BYTES);
    util_strlcpy(name_out, name, VAULT_NAME_MAX * 2 + 2);
    return STELE_OK;
}

/* ------------------------------------------------------------------- logins */

static stele_status login(const stele_login *l, vault_user *u, uint8_t **dek, util_err *e)
{
    *dek = NULL;
    if (api_init_check() != STELE_OK) return util_fail(e, STELE_EIO, "cannot init libsodium");
    if (!l || !l->store_dir || !l->user || !l->password || strlen(l->store_dir) > 3000)
        return util_fail(e, STELE_EINVAL, "store directory (at most 3000 bytes), user and "
                         "password are required");
    stele_status rc = vault_store_check(l->store_dir, e);
    if (rc == STELE_OK)
        rc = vault_user_login(l->store_dir, l->user, l->password, l->password_len, u, dek, e);
    return rc;
}

static stele_status login_admin(const stele_login *l, vault_user *u, uint8_t **dek, util_err *e)
{
    stele_status rc = login(l, u, dek, e);
    if (rc == STELE_OK && !u->admin)
        rc = util_fail(e, STELE_EACCESS, "no access: user '%s' is not an admin of store '%s' "
                       "(only an admin adds or removes users; the first user is the admin)",
                       u->name, l->store_dir);
    return rc;
}

static stele_status finish(stele_status rc, util_err *e, uint8_t *dek, char *errbuf, size_t cap)
{
    crypto_secure_free(dek);
    if (rc != STELE_OK) api_copy_err(e, errbuf, cap);
    return rc;
}

/* --------------------------------------------------------------- creating dbs */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Makes database `id` (owner u, named `name`) under dbs/.new-<id>, then renames it
 * into place. Nothing half-made is left under its real name. */
static stele_status db_make(const char *store, const vault_user *u, const uint8_t *dek,
                            const uint8_t id[VAULT_ID_BYTES], const char *name,
                            uint32_t segment_size, const uint8_t *admin_pk, util_err *e)
{
    char hex[33], tmp[VAULT_PATH_MAX], dir[VAULT_PATH_MAX], dbs[VAULT_PATH_MAX];
    crypto_hex(id, VAULT_ID_BYTES, hex);
    snprintf(dbs, sizeof dbs, "%s/dbs", store);
    snprintf(tmp, sizeof tmp, "%s/.new-%s", dbs, hex);
    vault_db_dir(store, id, dir, sizeof dir);
    vault_dbkeys k;
    stele_status rc = vault_db_create(tmp, u, dek, id, name, ledger_size_wanted(segment_size),
                                      admin_pk, &k, e);
    if (rc == STELE_OK) {
        rc = ledger_create(tmp, &k, segment_size, 0, e);
        vault_dbkeys_release(&k);
    }
    int err = rc == STELE_OK ? io_rename(tmp, dir) : 0;
    if (err == 0 && rc == STELE_OK) err = io_fsync_dir(dbs);
    if (err != 0) rc = util_fail(e, STELE_EIO, "cannot move '%s' into place: %s", tmp,
                                 strerror(-err));
    if (rc != STELE_OK) nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

/* 1 if u already owns a database called name. */
static int own_name_taken(const char *store, const vault_user *u, const uint8_t *dek,
                          const char *name)
{
    find_ctx c = {.u = u, .dek = dek, .owner = u->id, .name = name};
    util_err e;
    return strcmp(name, PRIMARY) == 0 ||
           (db_each(store, find_cb, &c, &e) == STELE_OK && c.found);
}

/* A new database name: valid, and not a reserved word of references. */
static stele_status db_name_check(const char *name, util_err *e)
{
    if (!name || !vault_name_ok(name))
        return util_fail(e, STELE_EINVAL, "invalid database name '%s': use 1-64 letters, "
                         "digits, '.', '_' or '-'", name ? name : "");
    if (strcmp(name, "global") == 0)
        return util_fail(e, STELE_EINVAL, "'global' is reserved: references name global data "
                         "with it (\"global:collection/key\"); choose another name");
    return STELE_OK;
}

stele_status stele_db_create(const stele_login *who, const char *name, uint32_t segment_size,
                             char *errbuf, size_t errcap)
{
    util_err e;
    util_err_clear(&e);
    vault_user u;
    uint8_t *dek, id[VAULT_ID_BYTES];
    stele_status rc = login(who, &u, &dek, &e);
    if (rc == STELE_OK) rc = db_name_check(name, &e);
    if (rc == STELE_OK && own_name_taken(who->store_dir, &u, dek, name))
        rc = util_fail(&e, STELE_EEXIST, "user '%s' already has a database '%s'", u.name, name);
    crypto_random(id, sizeof id);
    vault_user admin = u;
    if (rc == STELE_OK && !u.admin) rc = vault_admin_find(who->store_dir, &admin, &e);
    if (rc == STELE_OK)
        rc = db_make(who->store_dir, &u, dek, id, name, segment_size, admin.box_pk, &e);
    return finish(rc, &e, dek, errbuf, errcap);
}

/* --------------------------------------------------------------------- users */

stele_status stele_user_add(const stele_login *admin, const char *name, const char *password,
                            size_t password_len, stele_kdf_profile kdf, uint32_t segment_size,
                            char *errbuf, size_t errcap)
{
    util_err e;
    util_err_clear(&e);
    vault_user a, u;
    uint8_t *dek = NULL, *ndek = NULL, db_id[VAULT_ID_BYTES];
    stele_status rc = login_admin(admin, &a, &dek, &e);
    if (rc == STELE_OK && (!name || !password || password_len == 0))
        rc = util_fail(&e, STELE_EINVAL, "a user name and a non-empty password are required");
    crypto_random(db_id, sizeof db_id);
    if (rc == STELE_OK)
        rc = vault_user_make(admin->store_dir, name, password, password_len,
                             kdf == STELE_KDF_INSECURE_TEST, db_id, &u, &ndek, &e);
    if (rc == STELE_OK)
        rc = db_make(admin->store_dir, &u, ndek, db_id, PRIMARY, segment_size, a.box_pk, &e);
    if (rc == STELE_OK) rc = vault_user_save(admin->store_dir, &u, &e);
    crypto_secure_free(ndek);
    return finish(rc, &e, dek, errbuf, errcap);
}

typedef struct list_ctx {
    const char *store;
    buf *b;
    int n, bad;
} list_ctx;

static int user_json_cb(void *ctx, const vault_user *u)
{
    list_ctx *c = ctx;
    char id[33], box[65], sig[65];
    crypto_hex(u->id, VAULT_ID_BYTES, id);
    crypto_hex(u->box_pk, sizeof u->box_pk, box);
    crypto_hex(u->sig_pk, sizeof u->sig_pk, sig);
    c->bad |= buf_printf(c->b, "%s{\"name\":\"%s\",\"id\":\"%s\",\"admin\":%s,\"created_ns\":%llu,"
                               "\"profile\":\"%s\",\"x25519_public_key\":\"%s\","
                               "\"ed25519_public_key\":\"%s\",\"failed_logins\":%llu}",
                         c->n++ ? "," : "", u->name, id, u->admin ? "true" : "false",
                         (unsigned long long)u->created_ns,
                         u->insecure ? "insecure-test" : "default", box, sig,
                         (unsigned long long)u->failures);
    return 0;
}

stele_status stele_user_list(const char *store_dir, char **json, char *errbuf, size_t errcap)
{
    util_err e;
    util_err_clear(&e);
    buf b;
    buf_init(&b);
    list_ctx c = {store_dir, &b, 0, 0};
    stele_status rc = api_init_check();
    if (rc == STELE_OK && (!store_dir || !json))
        rc = util_fail(&e, STELE_EINVAL, "a store directory is required");
    if (rc == STELE_OK) rc = vault_store_check(store_dir, &e);
    c.bad = buf_printf(&b, "[");
    if (rc == STELE_OK) rc = vault_user_each(store_dir, user_json_cb, &c, &e);
    c.bad |= buf_printf(&b, "]");
    if (rc == STELE_OK && c.bad) rc = util_fail(&e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) *json = buf_detach(&b);
    buf_release(&b);
    return finish(rc, &e, NULL, errbuf, errcap);
}

/* Removes a database directory: renamed to dbs/.drop-<id> first (one atomic step that
 * makes it disappear for everyone), then deleted. */
static stele_status db_remove(const char *store, const char *dir, util_err *e)
{
    char dbs[VAULT_PATH_MAX], gone[VAULT_PATH_MAX];
    snprintf(dbs, sizeof dbs, "%s/dbs", store);
    const char *base = strrchr(dir, '/');
    snprintf(gone, sizeof gone, "%s/.drop-%s", dbs, base ? base + 1 : dir);
    int err = io_rename(dir, gone);
    if (err == 0) err = io_fsync_dir(dbs);
    if (err != 0)
        return util_fail(e, STELE_EIO, "cannot remove database '%s': %s", dir, strerror(-err));
    nftw(gone, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return STELE_OK;
}

typedef struct owned_ctx {
    const char *store;
    const vault_user *admin;
    const uint8_t *dek;     /* the admin's */
    const uint8_t *owner;
    stele_status rc;
    util_err *e;
} owned_ctx;

/* Removes the database if its registry slot (only the admin opens it) names c->owner. */
static int remove_owned_cb(void *ctx, const char *dir, const uint8_t id[VAULT_ID_BYTES])
{
    owned_ctx *c = ctx;
    uint8_t owner[VAULT_ID_BYTES];
    util_err e;
    if (c->rc == STELE_OK && vault_db_owner(dir, id, c->admin, c->dek, owner, &e) == STELE_OK &&
        memcmp(owner, c->owner, VAULT_ID_BYTES) == 0)
        c->rc = db_remove(c->store, dir, c->e);
    return 0;
}

stele_status stele_user_remove(const stele_login *admin, const char *name, char *errbuf,
                               size_t errcap)
{
    util_err e;
    util_err_clear(&e);
    vault_user a, u;
    uint8_t *dek = NULL;
    stele_status rc = login_admin(admin, &a, &dek, &e);
    if (rc == STELE_OK && (!name || strcmp(name, a.name) == 0))
        rc = util_fail(&e, STELE_EINVAL, "an admin cannot remove itself (user '%s')", a.name);
    if (rc == STELE_OK) rc = vault_user_load(admin->store_dir, name, &u, &e);
    if (rc == STELE_OK) rc = vault_user_delete(admin->store_dir, name, &e);
    owned_ctx c = {admin->store_dir, &a, dek, u.id, STELE_OK, &e};
    if (rc == STELE_OK) rc = db_each(admin->store_dir, remove_owned_cb, &c, &e);
    if (rc == STELE_OK) rc = c.rc;
    return finish(rc, &e, dek, errbuf, errcap);
}

/* ------------------------------------------------------------ listing dbs */

static uint64_t dir_bytes(const char *dir)
{
    char data[VAULT_PATH_MAX];
    uint64_t total = 0;
    snprintf(data, sizeof data, "%s/data", dir);
    DIR *d = opendir(data);
    struct dirent *de;
    for (uint32_t n = 0; d && n < DBS_MAX * 10 && (de = readdir(d)); n++) {
        char p[VAULT_PATH_MAX + 64];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", data, de->d_name);
        if (de->d_name[0] != '.' && stat(p, &st) == 0) total += (uint64_t)st.st_size;
    }
    if (d) closedir(d);
    return total;
}

typedef struct dblist_ctx {
    const char *store;
    const vault_user *u;
    const uint8_t *dek;
    buf *b;
    int n, bad;
} dblist_ctx;

static int members_json(buf *b, const char *store, const vault_dbkeys *k)
{
    int bad = buf_printf(b, ",\"members\":[");
    for (uint32_t i = 0; i < k->nmembers; i++) {
        vault_user m;
        util_err e;
        char hex[33];
        crypto_hex(k->members[i].user, VAULT_ID_BYTES, hex);
        int known = vault_user_by_id(store, k->members[i].user, &m, &e) == STELE_OK;
        bad |= buf_printf(b, "%s{\"user\":\"%s\",\"id\":\"%s\",\"role\":\"%s\"}", i ? "," : "",
                          known ? m.name : "(removed)", hex, vault_role_name(k->members[i].role));
    }
    return bad | buf_printf(b, "]");
}

static int dblist_cb(void *ctx, const char *dir, const uint8_t id[VAULT_ID_BYTES])
{
    dblist_ctx *c = ctx;
    vault_dbkeys *k = malloc(sizeof *k);
    util_err e;
    if (!k || vault_db_unlock(dir, id, c->u, c->dek, VAULT_UNLOCK_ANY, k, &e) != STELE_OK) {
        free(k);
        return 0; /* no slot of the user's opens: not listed */
    }
    const uint8_t *owner = k->owner;
    int mine = memcmp(owner, c->u->id, VAULT_ID_BYTES) == 0;
    vault_user o;
    int primary = mine && memcmp(id, c->u->primary_db, VAULT_ID_BYTES) == 0;
    char hex[33], name[VAULT_NAME_MAX * 2 + 2], oname[VAULT_NAME_MAX + 1];
    crypto_hex(id, VAULT_ID_BYTES, hex);
    util_strlcpy(oname, mine ? c->u->name : "(removed)", sizeof oname);
    if (!mine && vault_user_by_id(c->store, owner, &o, &e) == STELE_OK)
        util_strlcpy(oname, o.name, sizeof oname);
    if (mine) util_strlcpy(name, k->name, sizeof name);
    else snprintf(name, sizeof name, "%s/%s", oname, k->name);
    c->bad |= buf_printf(c->b, "%s{\"name\":\"%s\",\"id\":\"%s\",\"owner\":\"%s\",\"role\":\"%s\","
                               "\"key_epoch\":%u,\"bytes\":%llu%s",
                         c->n++ ? "," : "", name, hex, oname,
                         vault_role_name(k->role), k->epoch,
                         (unsigned long long)dir_bytes(dir),
                         primary ? ",\"primary\":true,\"bytes_include_global_cache\":true" : "");
    if (k->role >= VAULT_ROLE_ADMIN) c->bad |= members_json(c->b, c->store, k);
    c->bad |= buf_printf(c->b, "}");
    vault_dbkeys_release(k);
    free(k);
    return 0;
}

stele_status stele_db_list(const stele_login *who, char **json, char *errbuf, size_t errcap)
{
    util_err e;
    util_err_clear(&e);
    vault_user u;
    uint8_t *dek;
    buf b;
    buf_init(&b);
    stele_status rc = login(who, &u, &dek, &e);
    dblist_ctx c = {who ? who->store_dir : NULL, &u, dek, &b, 0, buf_printf(&b, "[")};
    if (rc == STELE_OK && !json) rc = util_fail(&e, STELE_EINVAL, "json is required");
    if (rc == STELE_OK) rc = db_each(who->store_dir, dblist_cb, &c, &e);
    c.bad |= buf_printf(&b, "]");
    if (rc == STELE_OK && c.bad) rc = util_fail(&e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) *json = buf_detach(&b);
    buf_release(&b);
    return finish(rc, &e, dek, errbuf, errcap);
}

/* ------------------------------------------------------- drop and rename */

/* Resolves one of the user's own databases (never the primary) for drop/rename. */
static stele_status own_db(const stele_login *who, const vault_user *u, const uint8_t *dek,
                           const char *name, const char *what, char dir[VAULT_PATH_MAX],
                           uint8_t id[VAULT_ID_BYTES], util_err *e)
{
    if (name && strcmp(name, PRIMARY) == 0)
        return util_fail(e, STELE_EINVAL, "the primary database cannot be %s", what);
    if (name && strchr(name, '/'))
        return util_fail(e, STELE_EACCESS, "no access: only the owner of '%s' can have it %s",
                         name, what);
    char shown[VAULT_NAME_MAX * 2 + 2];
    stele_status rc = name ? api_db_resolve(who->store_dir, u, dek, name, id, shown, e)
                           : util_fail(e, STELE_EINVAL, "a database name is required");
    if (rc == STELE_OK) vault_db_dir(who->store_dir, id, dir, VAULT_PATH_MAX);
    return rc;
}

/* The writer lock of database dir, taken for `what` (the key slot file is rewritten
 * only by its holder). */
static stele_status db_lock(const char *dir, const char *what, int *fd, util_err *e)
{
    char lock[VAULT_PATH_MAX + 8];
    snprintf(lock, sizeof lock, "%s/lock", dir);
    return lock_acquire(lock, what, fd, e);
}

stele_status stele_db_drop(const stele_login *who, const char *name, char *errbuf,
                           size_t errcap)
{
    util_err e;
    util_err_clear(&e);
    vault_user u;
    uint8_t *dek;
    char dir[VAULT_PATH_MAX];
    uint8_t id[VAULT_ID_BYTES];
    int fd = -1;
    stele_status rc = login(who, &u, &dek, &e);
    if (rc == STELE_OK) rc = own_db(who, &u, dek, name, "dropped", dir, id, &e);
    if (rc == STELE_OK) rc = db_lock(dir, "database being dropped", &fd, &e);
    if (rc == STELE_OK) rc = db_remove(who->store_dir, dir, &e);
    if (fd >= 0) lock_release(fd);
    return finish(rc, &e, dek, errbuf, errcap);
}

stele_status stele_db_rename(const stele_login *who, const char *name, const char *new_name,
                             char *errbuf, size_t errcap)
{
    util_err e;
    util_err_clear(&e);
    vault_user u;
    uint8_t *dek;
    char dir[VAULT_PATH_MAX];
    uint8_t id[VAULT_ID_BYTES];
    vault_dbkeys k;
    int fd = -1;
    stele_status rc = login(who, &u, &dek, &e);
    if (rc == STELE_OK) rc = own_db(who, &u, dek, name, "renamed", dir, id, &e);
    if (rc == STELE_OK) rc = db_name_check(new_name, &e);
    if (rc == STELE_OK && own_name_taken(who->store_dir, &u, dek, new_name))
        rc = util_fail(&e, STELE_EEXIST, "user '%s' already has a database '%s'", u.name,
                       new_name);
    if (rc == STELE_OK) rc = db_lock(dir, "database being renamed", &fd, &e);
    if (rc == STELE_OK) rc = vault_db_unlock(dir, id, &u, dek, VAULT_UNLOCK_OWNER, &k, &e);
    if (rc == STELE_OK) {
        rc = vault_db_rename(dir, &k, new_name, &e);
        vault_dbkeys_release(&k);
    }
    if (fd >= 0) lock_release(fd);
    return finish(rc, &e, dek, errbuf, errcap);
}
