/*
 * xref.c — references across databases (docs/GRAPH.md "Across databases"): resolving
 * "NAME:coll/key", "@OWNER/NAME:coll/key" and "global:coll/key" to documents of other
 * databases, and the writer's checks of edges that name them. Layer: api.
 *
 * Who a name belongs to: an unqualified NAME is a database of the owner of the
 * database that holds the reference (so a reference means the same to every member
 * who reads it); "@OWNER/NAME" names a database as its members name it; "global" is
 * the global data cached in the *reader's* primary database (global data is the same
 * for everyone). The other database is opened read-only with the handle's own user
 * and unlocked key (api_open_as: no password, no writer lock), so a user who is not —
 * or no longer — a member gets STELE_EACCESS from the vault ("no access").
 *
 * Databases opened during one API call are kept in db->xrefs (at most XREF_OPEN_MAX)
 * and closed when the next call begins (api_xref_release from need_open) or at close:
 * a reference reads the other database as it is at the time of the call.
 *
 * Invariants
 *  1. Nothing here changes any database: other databases are opened read-only.
 *  2. Replay never comes here: apply links stand-ins without looking elsewhere, so a
 *     revoked database or a deleted target never stops a database from opening.
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/api_int.h"
#include "api/docs_int.h"
#include "model/doc.h"
#include "model/edges.h"
#include "model/state.h"
#include "model/txn.h"

#define XREF_OPEN_MAX 16 /* other databases open at once during one call */
#define XREF_NAME_MAX (VAULT_NAME_MAX * 2 + 2)

typedef struct xref_open {
    char name[XREF_NAME_MAX]; /* as the handle's user names it */
    stele *h;                 /* NULL if it could not be opened */
    stele_status rc;
    char why[UTIL_ERR_MAX];
} xref_open;

void api_xref_release(stele *db)
{
    if (!db || !db->xrefs) return;
    for (size_t i = 0; i < db->nxrefs; i++) stele_close(db->xrefs[i].h);
    free(db->xrefs);
    db->xrefs = NULL;
    db->nxrefs = 0;
}

/* The name, as the handle's user names it, of the database reference r points into. */
static stele_status ref_db_name(stele *db, const mref *r, char out[XREF_NAME_MAX])
{
    STELE_ASSERT(r->db && r->db_len < XREF_NAME_MAX);
    if (r->global) {
        util_strlcpy(out, "primary", XREF_NAME_MAX);
        return STELE_OK;
    }
    if (r->owner || memcmp(db->keys.owner, db->user.id, VAULT_ID_BYTES) == 0) {
        memcpy(out, r->db, r->db_len);
        out[r->db_len] = 0;
        return STELE_OK;
    }
    vault_user owner;
    util_err e;
    stele_status rc = vault_user_by_id(db->store, db->keys.owner, &owner, &e);
    if (rc != STELE_OK)
        return util_fail(&db->err, rc, "reference '%.*s': cannot find the owner of database "
                         "'%s': %s", (int)r->text_len, r->text, db->db_name, e.msg);
    snprintf(out, XREF_NAME_MAX, "%s/%.*s", owner.name, (int)r->db_len, r->db);
    return STELE_OK;
}

/* The database of reference r, opened read-only (once per call): *o, or an error in
 * db->err naming the database and the reference. */
static stele_status ref_open(stele *db, const mref *r, stele **o)
{
    char name[XREF_NAME_MAX];
    stele_status rc = ref_db_name(db, r, name);
    if (rc != STELE_OK) return rc;
    xref_open *x = NULL;
    for (size_t i = 0; i < db->nxrefs && !x; i++)
        if (strcmp(db->xrefs[i].name, name) == 0) x = &db->xrefs[i];
    if (!x) {
        if (db->nxrefs == XREF_OPEN_MAX) api_xref_release(db);
        if (!db->xrefs && !(db->xrefs = calloc(XREF_OPEN_MAX, sizeof *db->xrefs)))
            return util_fail(&db->err, STELE_ENOMEM, "out of memory");
        x = &db->xrefs[db->nxrefs++];
        util_strlcpy(x->name, name, sizeof x->name);
        x->rc = api_open_as(db, name, &x->h);
        if (x->rc != STELE_OK) {
            util_strlcpy(x->why, x->h ? stele_errmsg(x->h) : "out of memory", sizeof x->why);
            stele_close(x->h);
            x->h = NULL;
        }
    }
    if (x->rc != STELE_OK)
        return util_fail(&db->err, x->rc, "%sdatabase '%s' (reference '%.*s'): %s",
                         x->rc == STELE_EACCESS ? "no access to " : "cannot open ", x->name,
                         (int)r->text_len, r->text, x->why);
    *o = x->h;
    return STELE_OK;
}

/* The doc number of r's document in database o as of at, live then (and global data
 * for a "global:" reference); else STELE_ENOTFOUND in db->err. */
static stele_status ref_find(stele *db, stele *o, const mref *r, uint64_t at, uint32_t *n)
{
    char coll[MSTATE_NAME_MAX + 1];
    STELE_ASSERT(r->coll_len <= MSTATE_NAME_MAX);
    memcpy(coll, r->coll, r->coll_len);
    coll[r->coll_len] = 0;
    uint32_t c = mstate_coll_find(o->docs, coll, at);
    *n = c == MSTATE_NONE ? MSTATE_NONE : mstate_doc_find(o->docs, c, r->key, r->key_len);
    const mversion *v = *n == MSTATE_NONE ? NULL : mstate_doc_get(o->docs, *n, at);
    if (!v && api_lazy_check(o, STELE_OK) != STELE_OK)
        return util_fail(&db->err, STELE_ECORRUPT, "reference '%.*s': %s", (int)r->text_len,
                         r->text, stele_errmsg(o));
    if (v && !v->deleted && (!r->global || txn_version_global(v))) return STELE_OK;
    char when[40] = "";
    if (at != UINT64_MAX) snprintf(when, sizeof when, " at LSN %llu", (unsigned long long)at);
    return util_fail(&db->err, STELE_ENOTFOUND, "reference '%.*s': no %sdocument '%s/%.*s' "
                     "in %s '%s'%s", (int)r->text_len, r->text, r->global ? "global " : "",
                     coll, (int)r->key_len, r->key, r->global ? "the global data of" : "database",
                     o->db_name, when);
}

/* The handle of the database reference r points into: db itself (a local reference,
 * or "global:" in the primary) or the other database opened read-only (ref_open). */
static stele_status ref_db(stele *db, const mref *r, stele **o)
{
    *o = db;
    return r->db && !(r->global && db->primary) ? ref_open(db, r, o) : STELE_OK;
}

/* Appends the document of reference r (as of at: an LSN of its database) to out. */
static stele_status ref_json(stele *db, const mref *r, uint64_t at, buf *out)
{
    stele *o;
    uint32_t n;
    stele_status rc = ref_db(db, r, &o);
    if (rc == STELE_OK) rc = ref_find(db, o, r, at, &n);
    if (rc == STELE_OK && api_doc_json(o, n, at, out) != 0)
        rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    return rc;
}

/* The entry checks of the stele_ref_* calls: db open, ref given and well-formed (*r). */
static stele_status ref_begin(stele *db, const char *ref, const void *out, mref *r)
{
    stele_status rc = api_need_open(db);
    if (rc != STELE_OK) return rc;
    if (!ref || !out) return util_fail(&db->err, STELE_EINVAL, "a reference is needed");
    const char *why = "";
    if (mref_parse(ref, strlen(ref), r, &why) != 0)
        return util_fail(&db->err, STELE_EINVAL, "bad reference '%s': %s", ref, why);
    return STELE_OK;
}

stele_status stele_ref_lsn_at(stele *db, const char *ref, uint64_t timestamp_ns, uint64_t *lsn)
{
    mref r;
    stele *o;
    stele_status rc = ref_begin(db, ref, lsn, &r);
    if (rc == STELE_OK) rc = ref_db(db, &r, &o);
    if (rc != STELE_OK) return rc;
    *lsn = 0;
    rc = stele_lsn_at(o, timestamp_ns, lsn); /* that database's ledger, not db's */
    if (rc != STELE_OK && o != db)
        return util_fail(&db->err, rc, "reference '%s': reading the log of database '%s': %s",
                         ref, o->db_name, stele_errmsg(o));
    STELE_ASSERT(rc != STELE_OK || *lsn <= ledger_head(o->L));
    return rc;
}

stele_status stele_ref_get(stele *db, const char *ref, uint64_t as_of, char **json)
{
    mref r;
    stele_status rc = ref_begin(db, ref, json, &r);
    if (rc != STELE_OK) return rc;
    buf b;
    buf_init(&b);
    rc = ref_json(db, &r, as_of ? as_of : UINT64_MAX, &b);
    return api_detach(db, &b, rc, json);
}

stele_status api_xref_json(stele *db, uint32_t node, buf *out)
{
    size_t len;
    const char *text = mstate_doc_id(db->docs, node, &len);
    mref r;
    const char *why = "";
    if (!text || mref_parse(text, len, &r, &why) != 0 || !r.db)
        return util_fail(&db->err, STELE_ECORRUPT, "node %u is not a reference to another "
                         "database", node);
    return ref_json(db, &r, UINT64_MAX, out);
}

/* txn_xrefs callback: one endpoint of an edge being written. */
static stele_status check_one(void *ctx, const mref *r, int dangling, size_t op, util_err *e)
{
    stele *db = ctx;
    (void)e; /* errors go to db->err, which is e */
    if (r->global && db->primary) return STELE_OK; /* local: apply checks it */
    stele *o;
    uint32_t n;
    stele_status rc = ref_open(db, r, &o);
    if (rc != STELE_OK) return util_fail_wrap(&db->err, "op %zu", op);
    rc = dangling ? STELE_OK : ref_find(db, o, r, UINT64_MAX, &n);
    if (rc == STELE_ENOTFOUND)
        return util_fail_wrap(&db->err, "op %zu: edge endpoint names no document (insert it "
                              "first, or set \"dangling\":true on the op)", op);
    return rc == STELE_OK ? rc : util_fail_wrap(&db->err, "op %zu", op);
}

stele_status api_xref_check(stele *db, const uint8_t *sdoc, size_t len)
{
    return txn_xrefs(sdoc, len, check_one, db, &db->err);
}
