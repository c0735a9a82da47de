/*
 * load.c — the indexer's side of the database: document sets, reading what the database
 * holds (stele_export, stele_find), creating the collections, and transactions of ops
 * built as text as they come. Layer: code (include/stele.h and jansson only).
 *
 * Writes go only through stele_txn, so every change of the code graph is a ledger
 * record like any other (provable, readable as of an LSN).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "code/load_int.h"

#define TXN_OPS_LIMIT 10000 /* the database's limit of ops in one transaction */

double cg_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *cg_slot_coll(int slot)
{
    return slot == CG_EDGE_SLOT ? CG_EDGE_COLL : slot == CG_META_SLOT ? CG_META_COLL
                                                                      : CG_COLL_NAME[slot];
}

static int fail(char *err, size_t errcap, int rc, const char *msg)
{
    snprintf(err, errcap, "%s", msg);
    return rc;
}

/* ------------------------------------------------------------- document sets */

void cg_docset_init(cg_docset *s)
{
    memset(s, 0, sizeof *s);
    cg_smap_init(&s->at);
    cg_arena_init(&s->keys);
}

void cg_docset_release(cg_docset *s)
{
    for (size_t i = 0; i < s->n; i++) json_decref(s->v[i].doc);
    free(s->v);
    cg_smap_release(&s->at);
    cg_arena_release(&s->keys);
    memset(s, 0, sizeof *s);
}

int cg_docset_add(cg_docset *s, int slot, json_t *doc)
{
    CG_ASSERT(slot >= 0 && slot <= CG_META_SLOT);
    const char *id = json_string_value(json_object_get(doc, "_id"));
    const char *at = id ? cg_arena_printf(&s->keys, "%s/%s", cg_slot_coll(slot), id) : NULL;
    if (!at || cg_grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) != 0) {
        json_decref(doc);
        return -1;
    }
    int r = cg_smap_put(&s->at, at, (uint32_t)s->n, NULL);
    if (r != 0) {
        json_decref(doc);
        return r;
    }
    s->v[s->n++] = (cg_doc){.slot = slot, .doc = doc, .id = id, .mark = 0};
    return 0;
}

cg_doc *cg_docset_get(cg_docset *s, int slot, const char *id)
{
    char at[CG_KEY_MAX + 32];
    uint32_t i;
    int n = snprintf(at, sizeof at, "%s/%s", cg_slot_coll(slot), id);
    if (n < 0 || (size_t)n >= sizeof at || !cg_smap_get(&s->at, at, &i)) return NULL;
    return &s->v[i];
}

/* ------------------------------------------------------------- reading */

typedef struct textbuf {
    char *p;
    size_t n, cap;
} textbuf;

static int tb_add(textbuf *t, const char *s, size_t n)
{
    if (cg_grow((void **)&t->p, &t->cap, t->n + n + 1, 1) != 0) return -1;
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = 0;
    return 0;
}

static int export_cb(void *ctx, const char *data, size_t len) { return tb_add(ctx, data, len); }

/* Adds each line of NDJSON text to s (dropping the system fields of a find). */
static int add_lines(const char *text, size_t len, int slot, cg_docset *s)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0) {
            json_t *d = json_loadb(p, n, 0, NULL);
            if (!json_is_object(d)) {
                json_decref(d);
                return -1;
            }
            json_object_del(d, "_rev");
            json_object_del(d, "_lsn");
            json_object_del(d, "_ts");
            if (cg_docset_add(s, slot, d) < 0) return -1;
        }
        p += n + 1;
    }
    return 0;
}

int cg_load_docs(stele *db, int slot, const char *filter, cg_docset *s, char *err,
                 size_t errcap)
{
    const char *coll = cg_slot_coll(slot);
    stele_status st;
    textbuf t = {0};
    char *found = NULL;
    if (filter) st = stele_find(db, coll, filter, strlen(filter), NULL, &found);
    else st = stele_export(db, coll, NULL, export_cb, &t);
    if (st == STELE_ENOTFOUND) st = STELE_OK; /* no such collection yet: nothing */
    else if (st != STELE_OK) snprintf(err, errcap, "reading '%s': %s", coll, stele_errmsg(db));
    const char *text = filter ? found : t.p;
    size_t len = filter ? (found ? strlen(found) : 0) : t.n;
    if (st == STELE_OK && text && add_lines(text, len, slot, s) != 0)
        st = fail(err, errcap, STELE_ENOMEM, "out of memory reading the code graph");
    free(t.p);
    stele_free(found);
    return st;
}

int cg_ensure_collections(stele *db, char *err, size_t errcap)
{
    char *json = NULL;
    stele_status st = stele_collections(db, 0, &json);
    if (st != STELE_OK) {
        snprintf(err, errcap, "%s", stele_errmsg(db));
        return st;
    }
    json_t *have = json_loads(json, 0, NULL), *ops = json_array();
    stele_free(json);
    for (int slot = 0; slot <= CG_META_SLOT && have && ops; slot++) {
        const char *name = cg_slot_coll(slot);
        int found = 0;
        size_t i;
        json_t *c;
        json_array_foreach(have, i, c) {
            const char *n = json_string_value(json_object_get(c, "name"));
            found |= n && strcmp(n, name) == 0;
        }
        if (!found) json_array_append_new(ops, json_pack("{ssss}", "op", "create_collection",
                                                         "coll", name));
    }
    char *text = NULL;
    if (have && ops && json_array_size(ops)) {
        json_t *root = json_pack("{sO}", "ops", ops);
        text = root ? json_dumps(root, JSON_COMPACT) : NULL;
        json_decref(root);
        if (!text) st = STELE_ENOMEM;
    } else if (!have || !ops) {
        st = STELE_ENOMEM;
    }
    if (text) {
        st = stele_txn(db, text, strlen(text), NULL, NULL);
        if (st != STELE_OK) snprintf(err, errcap, "%s", stele_errmsg(db));
    } else if (st == STELE_ENOMEM) {
        snprintf(err, errcap, "out of memory");
    }
    free(text);
    json_decref(have);
    json_decref(ops);
    return st;
}

/* ------------------------------------------------------------- transactions */

void cg_batch_init(cg_batch *b, stele *db, int one_txn, cg_stats *st)
{
    memset(b, 0, sizeof *b);
    b->db = db;
    b->one_txn = one_txn;
    b->st = st;
}

void cg_batch_release(cg_batch *b)
{
    free(b->text);
    memset(b, 0, sizeof *b);
}

int cg_batch_flush(cg_batch *b, char *err, size_t errcap)
{
    if (b->nops == 0) return 0;
    if (b->nops > TXN_OPS_LIMIT) {
        snprintf(err, errcap, "%zu changes are more than the %d of one transaction", b->nops,
                 TXN_OPS_LIMIT);
        return STELE_ETOOBIG;
    }
    textbuf t = {b->text, b->len, b->cap};
    if (tb_add(&t, "]}", 2) != 0) return fail(err, errcap, STELE_ENOMEM, "out of memory");
    stele_status st = stele_txn(b->db, t.p, t.n, NULL, NULL);
    if (st != STELE_OK) snprintf(err, errcap, "%s", stele_errmsg(b->db));
    else if (b->st) b->st->txns++;
    b->text = t.p;
    b->cap = t.cap;
    b->len = 0;
    b->nops = 0;
    return st;
}

int cg_batch_op(cg_batch *b, const char *op, int slot, const char *id, json_t *doc,
                int cascade, char *err, size_t errcap)
{
    CG_ASSERT(op && slot >= 0 && slot <= CG_META_SLOT && (id || doc));
    json_t *o = json_pack("{ssss}", "op", op, "coll", cg_slot_coll(slot));
    int bad = !o || (id && json_object_set_new(o, "id", json_string(id)) != 0) ||
              (doc && json_object_set(o, "doc", doc) != 0) ||
              (cascade && json_object_set_new(o, "cascade", json_true()) != 0);
    char *text = bad ? NULL : json_dumps(o, JSON_COMPACT);
    json_decref(o);
    textbuf t = {b->text, b->len, b->cap};
    if (!text || tb_add(&t, b->nops ? "," : "{\"ops\":[", b->nops ? 1 : 8) != 0 ||
        tb_add(&t, text, strlen(text)) != 0) {
        free(text);
        b->text = t.p;
        b->cap = t.cap;
        return fail(err, errcap, STELE_ENOMEM, "out of memory");
    }
    free(text);
    b->text = t.p;
    b->len = t.n;
    b->cap = t.cap;
    b->nops++;
    if (!b->one_txn && (b->nops >= CG_BATCH_OPS || b->len >= CG_BATCH_BYTES))
        return cg_batch_flush(b, err, errcap);
    return 0;
}

int cg_batch_put(cg_batch *b, int slot, json_t *doc, json_t *old, int live, char *err,
                 size_t errcap)
{
    if (live && old && json_equal(old, doc)) {
        if (b->st) b->st->unchanged++;
        return 0;
    }
    const char *id = json_string_value(json_object_get(doc, "_id"));
    int rc = live ? cg_batch_op(b, "replace", slot, id, doc, 0, err, errcap)
                  : cg_batch_op(b, "insert", slot, NULL, doc, 0, err, errcap);
    if (rc == 0 && b->st) {
        if (live) b->st->replaced++;
        else b->st->inserted++;
    }
    return rc;
}

/* ------------------------------------------------------------- meta */

json_t *cg_meta_doc(const cg_project *p)
{
    const char *db = cg_project_compile_db(p);
    return json_pack("{sssoso}", "_id", CG_META_ID, "root", cg_json_str(cg_project_root(p)),
                     "compile_db", db ? cg_json_str(db) : json_null());
}

int cg_meta_root(stele *db, char *root, size_t cap)
{
    char *json = NULL;
    stele_status st = stele_doc_get(db, CG_META_COLL, CG_META_ID, 0, &json);
    if (st != STELE_OK) return st;
    json_t *d = json_loads(json, 0, NULL);
    stele_free(json);
    const char *r = json_string_value(json_object_get(d, "root"));
    int ok = r && strlen(r) < cap;
    if (ok) strcpy(root, r);
    json_decref(d);
    return ok ? 0 : STELE_ECORRUPT;
}

int cg_meta_ensure(stele *db, const cg_project *p, char *err, size_t errcap)
{
    char root[CG_PATH_MAX];
    int rc = cg_meta_root(db, root, sizeof root);
    if (rc != STELE_ENOTFOUND) return rc;
    rc = cg_ensure_collections(db, err, errcap);
    json_t *meta = rc == 0 ? cg_meta_doc(p) : NULL;
    if (rc == 0 && !meta) return fail(err, errcap, STELE_ENOMEM, "out of memory");
    cg_batch b;
    cg_batch_init(&b, db, 1, NULL);
    if (rc == 0) rc = cg_batch_op(&b, "insert", CG_META_SLOT, NULL, meta, 0, err, errcap);
    if (rc == 0) rc = cg_batch_flush(&b, err, errcap);
    cg_batch_release(&b);
    json_decref(meta);
    return rc;
}
