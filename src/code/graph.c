/*
 * graph.c — final keys and JSON documents of one file's graph (code.h, "THE DATA
 * CONTRACT"). Layer: code (jansson; no Stele, no libclang).
 *
 * Keys depend on other files only through the owner oracle: a plain key ("main", "node")
 * belongs to the first file that defined it; a later definition elsewhere takes its
 * "relpath:name" key, and references whose definition this file could see follow it
 * there. The full index answers the oracle from every file it parsed (in path order);
 * the update of one file answers it from the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code/code.h"

int cg_coll_of(const char *name)
{
    for (int i = 0; name && i < CG_NCOLL; i++)
        if (strcmp(name, CG_COLL_NAME[i]) == 0) return i;
    return -1;
}

int cg_ref_text(int coll, const char *key, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s", CG_COLL_NAME[coll], key);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int cg_assign_keys(cg_file *f, cg_owner_fn owner, void *ctx)
{
    for (size_t i = 0; i < f->nnodes; i++) {
        cg_node *n = &f->nodes[i];
        n->key = n->base;
        if (n->parent >= 0) { /* a field follows its type */
            CG_ASSERT((size_t)n->parent < i); /* types come before their fields */
            const cg_node *t = &f->nodes[n->parent];
            if (t->key != t->base && n->alt) n->key = n->alt;
            continue;
        }
        if (!n->alt) continue; /* a local key: nobody else can hold it */
        const char *file = NULL;
        int o = owner(ctx, n->coll, n->base, &file);
        if (o < 0) return -1;
        if (o == CG_OWN_FILE && strcmp(file, f->rel) != 0) n->key = n->alt;
    }
    return 0;
}

/* The own node defining (coll, base), or -1. */
static int own_node(const cg_file *f, int coll, const char *base)
{
    char at[CG_KEY_MAX + 32];
    uint32_t i;
    if (cg_ref_text(coll, base, at, sizeof at) != 0 || !cg_smap_get(&f->node_at, at, &i))
        return -1;
    return (int)i;
}

int cg_resolve_refs(cg_file *f, cg_owner_fn owner, void *ctx)
{
    for (size_t i = 0; i < f->nrefs; i++) {
        cg_ref *r = &f->refs[i];
        r->stub = 0;
        if (r->deffile && strcmp(r->deffile, f->rel) == 0) {
            int n = own_node(f, r->coll, r->base);
            if (n >= 0) {
                r->key = f->nodes[n].key;
                continue;
            }
        }
        const char *file = NULL;
        int o = owner(ctx, r->coll, r->base, &file);
        if (o < 0) return -1;
        r->key = r->base;
        if (r->alt && o == CG_OWN_FILE && strcmp(file, r->deffile) != 0) {
            r->key = r->alt; /* base belongs to another definition of the same name */
            o = owner(ctx, r->coll, r->alt, &file);
            if (o < 0) return -1;
        }
        r->stub = o == CG_OWN_NONE;
    }
    return 0;
}

/* ------------------------------------------------------------- documents */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    uint32_t cp = len == 1 ? c : c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

json_t *cg_json_str(const char *s)
{
    json_t *j = json_string(s);
    if (j) return j;
    size_t n = strlen(s), at = 0;
    char *clean = malloc(n + 1);
    if (!clean) return NULL;
    for (size_t i = 0; i < n;) { /* a Latin-1 comment, a file name in another encoding */
        size_t len = utf8_len((const unsigned char *)s + i, n - i);
        if (len == 0) {
            clean[at++] = '?';
            i++;
        } else {
            memcpy(clean + at, s + i, len);
            at += len;
            i += len;
        }
    }
    clean[at] = 0;
    j = json_string(clean);
    free(clean);
    return j;
}

static int set_str(json_t *o, const char *k, const char *v)
{
    return v ? json_object_set_new(o, k, cg_json_str(v)) : 0;
}

json_t *cg_node_doc(const cg_file *f, size_t i)
{
    CG_ASSERT(i < f->nnodes && f->nodes[i].key);
    const cg_node *n = &f->nodes[i];
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = set_str(o, "_id", n->key) | set_str(o, "name", n->name) |
              set_str(o, "kind", n->kind) | set_str(o, "file", f->rel) |
              json_object_set_new(o, "line", json_integer(n->line)) |
              json_object_set_new(o, "column", json_integer(n->column)) |
              json_object_set_new(o, "end_line", json_integer(n->end_line)) |
              set_str(o, "signature", n->signature) | set_str(o, "doc", n->doc) |
              json_object_set_new(o, "static", json_boolean(n->is_static)) |
              json_object_set_new(o, "external", json_false());
    if (n->coll == CG_MACRO)
        bad |= json_object_set_new(o, "function_like", json_boolean(n->function_like));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *cg_stub_doc(const cg_ref *r)
{
    CG_ASSERT(r->stub && r->key);
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = set_str(o, "_id", r->key) | set_str(o, "name", r->name) |
              set_str(o, "kind", r->kind) | set_str(o, "signature", r->signature) |
              set_str(o, "declared_in", r->declared_in) |
              json_object_set_new(o, "external", json_true());
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* "LABEL|from|to", cut and hashed beyond CG_KEY_MAX like keys. */
static const char *edge_id(cg_file *f, int label, const char *from, const char *to)
{
    const char *id = cg_arena_printf(&f->arena, "%s|%s|%s", CG_LABEL_NAME[label], from, to);
    return id ? cg_key_fit(&f->arena, id) : NULL;
}

json_t *cg_edge_doc(cg_file *f, size_t i)
{
    CG_ASSERT(i < f->nedges);
    const cg_edge *e = &f->edges[i];
    const cg_node *src = &f->nodes[e->from];
    int to_coll = e->to_node ? f->nodes[e->to].coll : f->refs[e->to].coll;
    const char *to_key = e->to_node ? f->nodes[e->to].key : f->refs[e->to].key;
    CG_ASSERT(src->key && to_key); /* keys are assigned and resolved first */
    char from[CG_KEY_MAX + 32], to[CG_KEY_MAX + 32];
    if (cg_ref_text(src->coll, src->key, from, sizeof from) != 0 ||
        cg_ref_text(to_coll, to_key, to, sizeof to) != 0)
        return NULL;
    const char *id = edge_id(f, e->label, from, to);
    json_t *o = id ? json_object() : NULL;
    if (!o) return NULL;
    int bad = set_str(o, "_id", id) | set_str(o, "_from", from) | set_str(o, "_to", to) |
              set_str(o, "_label", CG_LABEL_NAME[e->label]) | set_str(o, "file", f->rel) |
              json_object_set_new(o, "line", json_integer(e->line));
    if (e->label == CG_CALLS) bad |= json_object_set_new(o, "count", json_integer(e->count));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
