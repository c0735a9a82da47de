/*
 * index.c — `stele code index DIR`: the full (re)index of a root. Layer: code.
 *
 * 1. Parse every file (parse.c: on N threads, extract.c for each file); a file that does
 *    not parse is skipped and keeps what the database holds for it (its nodes, and its
 *    edges whose endpoints survive). Everything after reads the files in path order.
 * 2. Keys: files in path order claim their plain keys first come, first served
 *    (cg_assign_keys with the claims so far as the owner oracle); then every reference
 *    is resolved against all claims, and a symbol nobody defines becomes an external node.
 * 3. Diff against the database's documents (stele_export of each collection) and write
 *    only the difference, in batches: inserted or changed nodes, deleted edges, inserted
 *    or changed edges, deleted nodes ("cascade":true). Every batch is valid on its own:
 *    an edge is written after both its endpoints, a node deleted after its edges. An
 *    unchanged tree writes nothing, so indexing twice gives the same database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code/load_int.h"

typedef struct owner {
    int kind;         /* CG_OWN_FILE or CG_OWN_EXTERNAL */
    const char *file; /* borrowed from a cg_file or a database document */
} owner;

typedef struct claims {
    cg_smap at; /* "coll/key" → index in v */
    owner *v;
    size_t n, cap;
    cg_arena keys;
} claims;

static int claim(claims *c, int coll, const char *key, int kind, const char *file)
{
    const char *at = cg_arena_printf(&c->keys, "%s/%s", CG_COLL_NAME[coll], key);
    if (!at || cg_grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v) != 0) return -1;
    int r = cg_smap_put(&c->at, at, (uint32_t)c->n, NULL);
    if (r == 0) c->v[c->n++] = (owner){kind, file};
    return r < 0 ? -1 : 0;
}

static int claims_owner(void *ctx, int coll, const char *key, const char **file)
{
    claims *c = ctx;
    char at[CG_KEY_MAX + 32];
    uint32_t i;
    if (cg_ref_text(coll, key, at, sizeof at) != 0 || !cg_smap_get(&c->at, at, &i))
        return CG_OWN_NONE;
    *file = c->v[i].file;
    return c->v[i].kind;
}

/* ------------------------------------------------------------- the graph */

static int is_skipped(const cg_smap *skipped, const json_t *doc)
{
    const char *file = json_string_value(json_object_get(doc, "file"));
    uint32_t v;
    return file && cg_smap_get(skipped, file, &v);
}

/* Nodes of skipped files stay as they are, and keep their keys. */
static int keep_nodes(cg_docset *old, const cg_smap *skipped, claims *c, cg_docset *want)
{
    for (size_t i = 0; i < old->n; i++) {
        cg_doc *d = &old->v[i];
        if (d->slot == CG_EDGE_SLOT || !is_skipped(skipped, d->doc)) continue;
        const char *file = json_string_value(json_object_get(d->doc, "file"));
        if (claim(c, d->slot, d->id, CG_OWN_FILE, file) != 0 ||
            cg_docset_add(want, d->slot, json_incref(d->doc)) < 0)
            return -1;
    }
    return 0;
}

/* Whether a reference "coll/key" names a node in `want`. */
static int has_node(cg_docset *want, const char *ref)
{
    const char *slash = ref ? strchr(ref, '/') : NULL;
    char coll[64];
    if (!slash || (size_t)(slash - ref) >= sizeof coll) return 0;
    memcpy(coll, ref, (size_t)(slash - ref));
    coll[slash - ref] = 0;
    int slot = cg_coll_of(coll);
    return slot >= 0 && cg_docset_get(want, slot, slash + 1) != NULL;
}

static int keep_edges(cg_docset *old, const cg_smap *skipped, cg_docset *want)
{
    for (size_t i = 0; i < old->n; i++) {
        cg_doc *d = &old->v[i];
        if (d->slot != CG_EDGE_SLOT || !is_skipped(skipped, d->doc)) continue;
        if (has_node(want, json_string_value(json_object_get(d->doc, "_from"))) &&
            has_node(want, json_string_value(json_object_get(d->doc, "_to"))) &&
            cg_docset_add(want, CG_EDGE_SLOT, json_incref(d->doc)) < 0)
            return -1;
    }
    return 0;
}

/* Keys of every parsed file, in path order: the first definition keeps a plain key. */
static int assign_all(cg_file **files, size_t n, claims *c)
{
    for (size_t i = 0; i < n; i++) {
        cg_file *f = files[i];
        if (!f) continue;
        if (cg_assign_keys(f, claims_owner, c) != 0) return -1;
        for (size_t k = 0; k < f->nnodes; k++)
            if (claim(c, f->nodes[k].coll, f->nodes[k].key, CG_OWN_FILE, f->rel) != 0)
                return -1;
    }
    return 0;
}

/* References, external nodes, and the documents of every parsed file. */
static int docs_all(cg_file **files, size_t n, claims *c, cg_docset *want)
{
    for (size_t i = 0; i < n; i++) {
        cg_file *f = files[i];
        if (!f) continue;
        if (cg_resolve_refs(f, claims_owner, c) != 0) return -1;
        for (size_t k = 0; k < f->nnodes; k++) {
            json_t *d = cg_node_doc(f, k);
            if (!d || cg_docset_add(want, f->nodes[k].coll, d) < 0) return -1;
        }
        for (size_t k = 0; k < f->nrefs; k++) {
            cg_ref *r = &f->refs[k];
            if (!r->stub || claims_owner(c, r->coll, r->key, &(const char *){NULL}))
                continue;
            json_t *d = cg_stub_doc(r);
            if (!d || claim(c, r->coll, r->key, CG_OWN_EXTERNAL, NULL) != 0 ||
                cg_docset_add(want, r->coll, d) < 0)
                return -1;
        }
        for (size_t k = 0; k < f->nedges; k++) {
            json_t *d = cg_edge_doc(f, k);
            if (!d || cg_docset_add(want, CG_EDGE_SLOT, d) < 0) return -1;
        }
    }
    return 0;
}

static int build(cg_file **files, char **rels, size_t n, cg_docset *old, cg_docset *want)
{
    cg_smap skipped;
    claims c;
    cg_smap_init(&skipped);
    memset(&c, 0, sizeof c);
    cg_smap_init(&c.at);
    cg_arena_init(&c.keys);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!files[i]) rc = cg_smap_put(&skipped, rels[i], 1, NULL) < 0 ? -1 : 0;
    if (rc == 0) rc = keep_nodes(old, &skipped, &c, want);
    if (rc == 0) rc = assign_all(files, n, &c);
    if (rc == 0) rc = docs_all(files, n, &c, want);
    if (rc == 0) rc = keep_edges(old, &skipped, want);
    cg_smap_release(&skipped);
    cg_smap_release(&c.at);
    free(c.v);
    cg_arena_release(&c.keys);
    return rc;
}

/* ------------------------------------------------------------- writing */

static int write_nodes(cg_batch *b, cg_docset *want, cg_docset *old, char *err, size_t cap)
{
    for (size_t i = 0; i < want->n; i++) {
        cg_doc *d = &want->v[i];
        if (d->slot == CG_EDGE_SLOT) continue;
        cg_doc *o = cg_docset_get(old, d->slot, d->id);
        int rc = cg_batch_put(b, d->slot, d->doc, o ? o->doc : NULL, o != NULL, err, cap);
        if (rc) return rc;
    }
    return 0;
}

static int write_edges(cg_batch *b, cg_docset *want, cg_docset *old, char *err, size_t cap)
{
    for (size_t i = 0; i < old->n; i++) {
        cg_doc *o = &old->v[i];
        if (o->slot != CG_EDGE_SLOT || cg_docset_get(want, o->slot, o->id)) continue;
        int rc = cg_batch_op(b, "delete", o->slot, o->id, NULL, 0, err, cap);
        if (rc) return rc;
        b->st->deleted++;
    }
    for (size_t i = 0; i < want->n; i++) {
        cg_doc *d = &want->v[i];
        if (d->slot != CG_EDGE_SLOT) continue;
        cg_doc *o = cg_docset_get(old, d->slot, d->id);
        int rc = cg_batch_put(b, d->slot, d->doc, o ? o->doc : NULL, o != NULL, err, cap);
        if (rc) return rc;
    }
    return 0;
}

static int delete_nodes(cg_batch *b, cg_docset *want, cg_docset *old, char *err, size_t cap)
{
    for (size_t i = 0; i < old->n; i++) {
        cg_doc *o = &old->v[i];
        if (o->slot == CG_EDGE_SLOT || cg_docset_get(want, o->slot, o->id)) continue;
        int rc = cg_batch_op(b, "delete", o->slot, o->id, NULL, 1, err, cap);
        if (rc) return rc;
        b->st->deleted++;
    }
    return 0;
}

static int write_meta(cg_batch *b, stele *db, const cg_project *p, const cg_out *out,
                      char *err, size_t cap)
{
    char *text = NULL;
    stele_status st = stele_doc_get(db, CG_META_COLL, CG_META_ID, 0, &text);
    if (st != STELE_OK && st != STELE_ENOTFOUND) {
        snprintf(err, cap, "%s", stele_errmsg(db));
        return st;
    }
    json_t *old = text ? json_loads(text, 0, NULL) : NULL, *meta = cg_meta_doc(p);
    stele_free(text);
    const char *was = json_string_value(json_object_get(old, "root"));
    if (was && strcmp(was, cg_project_root(p)) != 0 && out->note) {
        char msg[CG_PATH_MAX * 2 + 64];
        snprintf(msg, sizeof msg, "the database held the code of %s; it now holds %s", was,
                 cg_project_root(p));
        out->note(out->ctx, msg);
    }
    if (old) {
        json_object_del(old, "_rev");
        json_object_del(old, "_lsn");
        json_object_del(old, "_ts");
    }
    int rc = meta ? cg_batch_put(b, CG_META_SLOT, meta, old, old != NULL, err, cap)
                  : (snprintf(err, cap, "out of memory"), STELE_ENOMEM);
    json_decref(old);
    json_decref(meta);
    return rc;
}

static int write_all(stele *db, cg_project *p, const cg_out *out, cg_docset *want,
                     cg_docset *old, cg_stats *st, char *err, size_t cap)
{
    cg_batch b;
    cg_batch_init(&b, db, 0, st);
    size_t unchanged = 0;
    int rc = write_nodes(&b, want, old, err, cap);
    if (rc == 0) rc = write_edges(&b, want, old, err, cap);
    if (rc == 0) rc = delete_nodes(&b, want, old, err, cap);
    unchanged = st->unchanged;
    if (rc == 0) rc = write_meta(&b, db, p, out, err, cap);
    st->unchanged = unchanged; /* count graph documents only */
    if (rc == 0) rc = cg_batch_flush(&b, err, cap);
    cg_batch_release(&b);
    return rc;
}

static void count_graph(const cg_docset *want, cg_stats *st)
{
    for (size_t i = 0; i < want->n; i++) {
        if (want->v[i].slot == CG_EDGE_SLOT) st->edges++;
        else st->nodes++;
    }
}

int cg_index(stele *db, cg_project *p, unsigned jobs, const cg_out *out, cg_stats *st,
             char *err, size_t errcap)
{
    CG_ASSERT(jobs >= 1 && jobs <= CG_JOBS_MAX);
    memset(st, 0, sizeof *st);
    double t0 = cg_now_s();
    char **rels = NULL;
    size_t n = 0;
    if (cg_project_files(p, &rels, &n, err, errcap) != 0) return STELE_ENOMEM;
    cg_file **files = n ? calloc(n, sizeof *files) : NULL;
    int rc = n && !files ? (snprintf(err, errcap, "out of memory"), STELE_ENOMEM) : 0;
    if (rc == 0) rc = cg_parse_files(p, rels, n, jobs, out, st, files, err, errcap);
    if (rc == 0 && st->indexed == 0) rc = CG_NOTHING;
    cg_docset old, want;
    cg_docset_init(&old);
    cg_docset_init(&want);
    if (rc == 0) rc = cg_ensure_collections(db, err, errcap);
    for (int slot = 0; rc == 0 && slot < CG_SLOTS; slot++)
        rc = cg_load_docs(db, slot, NULL, &old, err, errcap);
    if (rc == 0 && build(files, rels, n, &old, &want) != 0)
        rc = (snprintf(err, errcap, "out of memory building the graph"), STELE_ENOMEM);
    if (rc == 0) count_graph(&want, st);
    if (rc == 0) rc = write_all(db, p, out, &want, &old, st, err, errcap);
    cg_docset_release(&want);
    cg_docset_release(&old);
    for (size_t i = 0; i < n; i++) {
        if (files) cg_file_free(files[i]);
        free(rels[i]);
    }
    free(files);
    free(rels);
    st->seconds = cg_now_s() - t0;
    return rc;
}
