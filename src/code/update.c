/*
 * update.c — `stele code update FILE` (and each change seen by `stele code watch`): one
 * file re-indexed in ONE transaction. Layer: code.
 *
 * What the database holds for the file is found with stele_find on "file" (nodes and
 * edges carry it). The owner oracle answers from the database, except for keys this file
 * holds now: while keys are assigned they are the file's; once the new graph is known,
 * those it no longer defines count as gone (a reference to one becomes an external node).
 *
 * The ops, in this order, so that every prefix leaves each edge with both endpoints:
 *   1. the file's nodes: replaced if they changed (same key: edges of other files that
 *      point at them stay), inserted if new; external nodes for references nobody holds;
 *   2. the file's old edges that are gone: deleted;
 *   3. its edges: inserted or replaced;
 *   4. its nodes that are gone: the file's own edges to them deleted; a node that
 *      edges of other files still point at becomes an external node (what a full
 *      index makes of a symbol referenced but defined nowhere) and keeps them; any
 *      other is deleted with "cascade":true.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "code/load_int.h"

typedef struct known {
    int kind;
    const char *file;
} known;

typedef struct upd {
    stele *db;
    const char *rel;
    cg_docset old;   /* the file's documents now */
    cg_smap mine;    /* "coll/key" of the nodes the update writes (own and external) */
    cg_smap cache;   /* "coll/key" → index in seen: answers from the database */
    known *seen;
    size_t nseen, cap_seen;
    cg_smap gone;    /* edge ids deleted by the update */
    cg_arena arena;
    int assigned;    /* the file's keys are assigned: old keys not in `mine` are gone */
    int status;      /* a database error met by the oracle */
    char *err;
    size_t errcap;
} upd;

static int db_lookup(upd *u, int slot, const char *key, known *out)
{
    const char *at = cg_arena_printf(&u->arena, "%s/%s", cg_slot_coll(slot), key);
    uint32_t i;
    if (!at) return -1;
    if (cg_smap_get(&u->cache, at, &i)) {
        *out = u->seen[i];
        return 0;
    }
    char *text = NULL;
    stele_status st = stele_doc_get(u->db, cg_slot_coll(slot), key, 0, &text);
    known k = {CG_OWN_NONE, NULL};
    if (st == STELE_OK) {
        json_t *d = json_loads(text, 0, NULL);
        const char *file = json_string_value(json_object_get(d, "file"));
        k.kind = json_is_true(json_object_get(d, "external")) || !file ? CG_OWN_EXTERNAL
                                                                       : CG_OWN_FILE;
        k.file = file ? cg_arena_strdup(&u->arena, file) : NULL;
        json_decref(d);
        if (file && !k.file) st = STELE_ENOMEM;
    } else if (st == STELE_ENOTFOUND) {
        st = STELE_OK;
    }
    stele_free(text);
    if (st != STELE_OK) {
        snprintf(u->err, u->errcap, "%s", st == STELE_ENOMEM ? "out of memory"
                                                              : stele_errmsg(u->db));
        u->status = st;
        return -1;
    }
    if (cg_grow((void **)&u->seen, &u->cap_seen, u->nseen + 1, sizeof *u->seen) != 0 ||
        cg_smap_put(&u->cache, at, (uint32_t)u->nseen, NULL) < 0)
        return -1;
    u->seen[u->nseen++] = k;
    *out = k;
    return 0;
}

static int upd_owner(void *ctx, int coll, const char *key, const char **file)
{
    upd *u = ctx;
    if (cg_docset_get(&u->old, coll, key)) {
        char at[CG_KEY_MAX + 32];
        uint32_t v;
        int still = !u->assigned || (cg_ref_text(coll, key, at, sizeof at) == 0 &&
                                     cg_smap_get(&u->mine, at, &v));
        *file = u->rel;
        return still ? CG_OWN_FILE : CG_OWN_NONE;
    }
    known k;
    if (db_lookup(u, coll, key, &k) != 0) return -1;
    *file = k.file;
    return k.kind;
}

static int mark_mine(upd *u, int coll, const char *key)
{
    const char *at = cg_arena_printf(&u->arena, "%s/%s", CG_COLL_NAME[coll], key);
    return at && cg_smap_put(&u->mine, at, 1, NULL) >= 0 ? 0 : -1;
}

static int load_old(upd *u, char *err, size_t cap)
{
    json_t *f = json_pack("{so}", "file", cg_json_str(u->rel));
    char *filter = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    if (!filter) return snprintf(err, cap, "out of memory"), STELE_ENOMEM;
    int rc = 0;
    for (int slot = 0; rc == 0 && slot < CG_SLOTS; slot++)
        rc = cg_load_docs(u->db, slot, filter, &u->old, err, cap);
    free(filter);
    return rc;
}

/* ------------------------------------------------------------- the ops */

/* A node the file writes: replace (held now by it, or by an external node) or insert. */
static int put_node(upd *u, cg_batch *b, int slot, json_t *doc, char *err, size_t cap)
{
    const char *id = json_string_value(json_object_get(doc, "_id"));
    cg_doc *o = cg_docset_get(&u->old, slot, id);
    known k = {CG_OWN_NONE, NULL};
    if (!o && db_lookup(u, slot, id, &k) != 0) return u->status ? u->status : STELE_ENOMEM;
    return cg_batch_put(b, slot, doc, o ? o->doc : NULL, o || k.kind != CG_OWN_NONE, err, cap);
}

static int write_nodes(upd *u, cg_batch *b, cg_file *f, char *err, size_t cap)
{
    for (size_t i = 0; i < f->nnodes; i++) {
        json_t *d = cg_node_doc(f, i);
        int rc = d ? put_node(u, b, f->nodes[i].coll, d, err, cap) : STELE_ENOMEM;
        json_decref(d);
        if (rc) return rc;
    }
    for (size_t i = 0; i < f->nrefs; i++) {
        cg_ref *r = &f->refs[i];
        char at[CG_KEY_MAX + 32];
        uint32_t v;
        if (!r->stub || cg_ref_text(r->coll, r->key, at, sizeof at) != 0 ||
            cg_smap_get(&u->mine, at, &v))
            continue;
        json_t *d = cg_stub_doc(r);
        int rc = d && mark_mine(u, r->coll, r->key) == 0 ? put_node(u, b, r->coll, d, err, cap)
                                                         : STELE_ENOMEM;
        json_decref(d);
        if (rc) return rc;
    }
    return 0;
}

static int delete_edge(upd *u, cg_batch *b, const char *id, char *err, size_t cap)
{
    const char *copy = cg_arena_strdup(&u->arena, id);
    int r = copy ? cg_smap_put(&u->gone, copy, 1, NULL) : -1;
    if (r < 0) return STELE_ENOMEM;
    if (r == 1) return 0; /* already deleted by this update */
    int rc = cg_batch_op(b, "delete", CG_EDGE_SLOT, id, NULL, 0, err, cap);
    if (rc == 0 && b->st) b->st->deleted++;
    return rc;
}

static int write_edges(upd *u, cg_batch *b, cg_file *f, char *err, size_t cap)
{
    cg_docset want;
    cg_docset_init(&want);
    int rc = 0;
    for (size_t i = 0; f && i < f->nedges && rc == 0; i++) {
        json_t *d = cg_edge_doc(f, i);
        rc = d && cg_docset_add(&want, CG_EDGE_SLOT, d) >= 0 ? 0 : STELE_ENOMEM;
    }
    for (size_t i = 0; i < u->old.n && rc == 0; i++) {
        cg_doc *o = &u->old.v[i];
        if (o->slot == CG_EDGE_SLOT && !cg_docset_get(&want, CG_EDGE_SLOT, o->id))
            rc = delete_edge(u, b, o->id, err, cap);
    }
    for (size_t i = 0; i < want.n && rc == 0; i++) {
        cg_doc *d = &want.v[i];
        cg_doc *o = cg_docset_get(&u->old, CG_EDGE_SLOT, d->id);
        known k = {CG_OWN_NONE, NULL};
        if (!o && db_lookup(u, CG_EDGE_SLOT, d->id, &k) != 0) rc = u->status ? u->status : -1;
        if (rc == 0)
            rc = cg_batch_put(b, CG_EDGE_SLOT, d->doc, o ? o->doc : NULL,
                              o || k.kind != CG_OWN_NONE, err, cap);
    }
    cg_docset_release(&want);
    return rc;
}

/* The external node that stands for `old` once no indexed file defines it: what a full
 * index writes for a symbol that is referenced but defined nowhere (its "declared_in"
 * is the declaration a caller saw, which only a parse of the callers knows: the next
 * full index adds it). */
static json_t *external_doc(const json_t *old)
{
    json_t *o = json_object();
    static const char *const keep[] = {"_id", "name", "kind", "signature"};
    int bad = o == NULL;
    for (size_t i = 0; i < sizeof keep / sizeof keep[0] && !bad; i++) {
        json_t *v = json_object_get(old, keep[i]);
        if (v) bad = json_object_set(o, keep[i], v) != 0;
    }
    if (!bad) bad = json_object_set_new(o, "external", json_true()) != 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A node the file no longer defines. The file's own edges to it go. If edges of other
 * files still point at it (a function the file defined and others call), it becomes
 * an external node and those edges stay, as a full index would leave them; otherwise
 * it is deleted. */
static int drop_node(upd *u, cg_batch *b, const cg_doc *o, char *err, size_t cap)
{
    char ref[CG_KEY_MAX + 32];
    if (cg_ref_text(o->slot, o->id, ref, sizeof ref) != 0) return STELE_EINVAL;
    json_t *f = json_pack("{so}", "_to", cg_json_str(ref));
    char *filter = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    cg_docset in;
    cg_docset_init(&in);
    int rc = filter ? cg_load_docs(u->db, CG_EDGE_SLOT, filter, &in, err, cap) : STELE_ENOMEM;
    size_t others = 0;
    for (size_t i = 0; i < in.n && rc == 0; i++) {
        const char *file = json_string_value(json_object_get(in.v[i].doc, "file"));
        uint32_t v;
        if (cg_smap_get(&u->gone, in.v[i].id, &v)) continue; /* deleted already */
        if (file && strcmp(file, u->rel) != 0) others++;
        else rc = delete_edge(u, b, in.v[i].id, err, cap);
    }
    if (rc == 0 && others) {
        json_t *ext = external_doc(o->doc);
        rc = ext ? cg_batch_put(b, o->slot, ext, o->doc, 1, err, cap) : STELE_ENOMEM;
        json_decref(ext);
    } else if (rc == 0) {
        rc = cg_batch_op(b, "delete", o->slot, o->id, NULL, 1, err, cap);
        if (rc == 0 && b->st) b->st->deleted++;
    }
    free(filter);
    cg_docset_release(&in);
    return rc;
}

static int delete_nodes(upd *u, cg_batch *b, char *err, size_t cap)
{
    for (size_t i = 0; i < u->old.n; i++) {
        cg_doc *o = &u->old.v[i];
        char at[CG_KEY_MAX + 32];
        uint32_t v;
        if (o->slot == CG_EDGE_SLOT || (cg_ref_text(o->slot, o->id, at, sizeof at) == 0 &&
                                        cg_smap_get(&u->mine, at, &v)))
            continue;
        int rc = drop_node(u, b, o, err, cap);
        if (rc) return rc;
    }
    return 0;
}

/* ------------------------------------------------------------- the update */

/* Keys of f (the oracle: the database) and of its references. */
static int resolve(upd *u, cg_file *f)
{
    if (cg_assign_keys(f, upd_owner, u) != 0) return -1;
    for (size_t i = 0; i < f->nnodes; i++)
        if (mark_mine(u, f->nodes[i].coll, f->nodes[i].key) != 0) return -1;
    u->assigned = 1;
    return cg_resolve_refs(f, upd_owner, u);
}

static int write_update(upd *u, cg_file *f, cg_stats *st, char *err, size_t cap)
{
    cg_batch b;
    cg_batch_init(&b, u->db, 1, st);
    int rc = f ? write_nodes(u, &b, f, err, cap) : 0;
    if (rc == 0) rc = write_edges(u, &b, f, err, cap);
    if (rc == 0) rc = delete_nodes(u, &b, err, cap);
    if (rc == 0) rc = cg_batch_flush(&b, err, cap);
    cg_batch_release(&b);
    return rc;
}

static void upd_release(upd *u)
{
    cg_docset_release(&u->old);
    cg_smap_release(&u->mine);
    cg_smap_release(&u->cache);
    cg_smap_release(&u->gone);
    free(u->seen);
    cg_arena_release(&u->arena);
}

/* Parses rel if it exists: 0 and *f, 0 and *f NULL (no such file), or CG_NOTHING. */
static int parse_one(cg_project *p, cg_parser *parser, const char *rel, const cg_out *out,
                     cg_stats *st, cg_file **f)
{
    char abs[CG_PATH_MAX * 2];
    struct stat sb;
    snprintf(abs, sizeof abs, "%s/%s", cg_project_root(p), rel);
    *f = NULL;
    if (stat(abs, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    const char *const *args;
    int nargs;
    double t0 = cg_now_s();
    int r = cg_project_args(p, rel, &args, &nargs) != 0
                ? -1 : cg_extract(parser, abs, rel, args, nargs, out->diag, out->ctx, f);
    st->parse_s = cg_now_s() - t0;
    if (r != 0) {
        st->skipped = 1;
        return r < 0 ? STELE_ENOMEM : CG_NOTHING;
    }
    st->indexed = 1;
    st->with_errors = (*f)->errors > 0;
    st->lines = (*f)->lines;
    st->nodes = (*f)->nnodes;
    st->edges = (*f)->nedges;
    return 0;
}

int cg_update(stele *db, cg_project *p, cg_parser *parser, const char *rel,
              const cg_out *out, cg_stats *st, char *err, size_t errcap)
{
    memset(st, 0, sizeof *st);
    double t0 = cg_now_s();
    cg_file *f = NULL;
    int rc = parse_one(p, parser, rel, out, st, &f);
    if (rc == STELE_ENOMEM) snprintf(err, errcap, "out of memory parsing '%s'", rel);
    upd u;
    memset(&u, 0, sizeof u);
    u.db = db;
    u.rel = rel;
    u.err = err;
    u.errcap = errcap;
    cg_docset_init(&u.old);
    cg_arena_init(&u.arena);
    if (rc == 0) rc = cg_ensure_collections(db, err, errcap);
    if (rc == 0) rc = load_old(&u, err, errcap);
    if (rc == 0 && !f && u.old.n == 0) {
        snprintf(err, errcap, "'%s' is neither a file nor in the code graph", rel);
        rc = CG_UNKNOWN;
    }
    if (rc == 0 && f && resolve(&u, f) != 0) {
        rc = u.status ? u.status : STELE_ENOMEM;
        if (!u.status) snprintf(err, errcap, "out of memory");
    }
    if (rc == 0) rc = write_update(&u, f, st, err, errcap);
    upd_release(&u);
    cg_file_free(f);
    st->seconds = cg_now_s() - t0;
    return rc;
}
