/*
 * edges.c — see edges.h. Layer: model.
 *
 * Groups are appended to in any order and sorted by madj_settle: each group keeps the
 * length of its sorted prefix; settle sorts the unsorted tail and merges it into the
 * prefix (O(group) per settle, so a hub with many links that gains a few per
 * transaction is not re-sorted whole). Removal keeps the order (memmove).
 */
#include "model/edges.h"

#include <stdlib.h>
#include <string.h>

#include "util/strtab.h"
#include "util/util.h"

typedef struct mgroup {
    uint32_t label, n, cap, sorted; /* links [0, sorted) are in order */
    mlink *v;
} mgroup;

typedef struct mnode {
    mgroup *g;
    uint32_t ng, capg;
} mnode;

typedef struct medge {
    uint32_t from, to, label; /* from == MADJ_NONE: not linked */
} medge;

typedef struct madj_jent {
    uint32_t linked; /* 1: the change linked `edge`; 0: it unlinked it */
    uint32_t edge, from, to, label;
} madj_jent;

typedef struct dirty_ref {
    uint32_t node, dir;
} dirty_ref;

struct madj {
    mnode *node[2]; /* [0] out, [1] in; both nnode long */
    size_t nnode, capnode[2];
    medge *edges;
    size_t nedges, capedges;
    uint64_t nlinked;
    strtab labels;          /* the label dictionary: ids in order of first use */
    uint64_t *label_edges;  /* linked edges per label */
    size_t caplabel_edges;
    dirty_ref *dirty;
    size_t ndirty, capdirty;
    int marked;
    madj_jent *journal;
    size_t njournal, capjournal;
    uint32_t mark_nlabel;
};

madj *madj_new(void) { return calloc(1, sizeof(madj)); }

void madj_free(madj *a)
{
    if (!a) return;
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < a->nnode; i++) {
            for (uint32_t j = 0; j < a->node[d][i].ng; j++) free(a->node[d][i].g[j].v);
            free(a->node[d][i].g);
        }
        free(a->node[d]);
    }
    free(a->edges);
    strtab_release(&a->labels);
    free(a->label_edges);
    free(a->dirty);
    free(a->journal);
    free(a);
}

/* ---- labels ---- */

uint32_t madj_label_find(const madj *a, const char *name, size_t len)
{
    uint32_t id = strtab_find(&a->labels, name, len);
    return id == STRTAB_NONE ? MADJ_NONE : id;
}

int madj_label_intern(madj *a, const char *name, size_t len, uint32_t *id)
{
    STELE_ASSERT(len > 0 && len <= MADJ_LABEL_MAX);
    *id = madj_label_find(a, name, len);
    if (*id != MADJ_NONE) return 0;
    if (util_grow((void **)&a->label_edges, &a->caplabel_edges, (size_t)a->labels.n + 1,
                  sizeof *a->label_edges) != 0 ||
        (*id = strtab_add(&a->labels, name, len)) == STRTAB_NONE)
        return -1;
    a->label_edges[*id] = 0;
    return 0;
}

const char *madj_label_name(const madj *a, uint32_t id, size_t *len)
{
    return id < a->labels.n ? strtab_get(&a->labels, id, len) : NULL;
}

uint32_t madj_label_count(const madj *a) { return a->labels.n; }

/* ---- groups ---- */

static int grow_nodes(madj *a, uint32_t node)
{
    if (node < a->nnode) return 0;
    size_t need = (size_t)node + 1;
    for (int d = 0; d < 2; d++) {
        if (util_grow((void **)&a->node[d], &a->capnode[d], need, sizeof(mnode)) != 0) return -1;
        memset(&a->node[d][a->nnode], 0, (need - a->nnode) * sizeof(mnode));
    }
    a->nnode = need;
    return 0;
}

/* The group of label in node n (dir index d), created (in label order) if asked. */
static mgroup *group_of(madj *a, int d, uint32_t n, uint32_t label, int create)
{
    mnode *m = &a->node[d][n];
    uint32_t i = 0;
    while (i < m->ng && m->g[i].label < label) i++;
    if (i < m->ng && m->g[i].label == label) return &m->g[i];
    if (!create) return NULL;
    size_t cap = m->capg;
    if (util_grow((void **)&m->g, &cap, (size_t)m->ng + 1, sizeof *m->g) != 0) return NULL;
    m->capg = (uint32_t)cap;
    memmove(&m->g[i + 1], &m->g[i], (m->ng - i) * sizeof *m->g);
    memset(&m->g[i], 0, sizeof *m->g);
    m->g[i].label = label;
    m->ng++;
    return &m->g[i];
}

static int link_less(const mlink *x, const mlink *y)
{
    return x->node < y->node || (x->node == y->node && x->edge < y->edge);
}

static int group_add(madj *a, int d, uint32_t n, uint32_t label, mlink l)
{
    mgroup *g = group_of(a, d, n, label, 1);
    if (!g) return -1;
    size_t cap = g->cap;
    if (util_grow((void **)&g->v, &cap, (size_t)g->n + 1, sizeof *g->v) != 0) return -1;
    g->cap = (uint32_t)cap;
    int in_order = g->sorted == g->n && (g->n == 0 || link_less(&g->v[g->n - 1], &l));
    g->v[g->n++] = l;
    if (in_order) {
        g->sorted = g->n;
    } else if (g->sorted + 1 == g->n) { /* first unsorted link: remember the group */
        if (util_grow((void **)&a->dirty, &a->capdirty, a->ndirty + 1, sizeof *a->dirty) != 0)
            return -1;
        a->dirty[a->ndirty++] = (dirty_ref){n, (uint32_t)d};
    }
    return 0;
}

static void group_remove(madj *a, int d, uint32_t n, uint32_t label, mlink l)
{
    mnode *m = &a->node[d][n];
    mgroup *g = group_of(a, d, n, label, 0);
    STELE_ASSERT(g != NULL);
    uint32_t i = 0;
    while (i < g->n && (g->v[i].node != l.node || g->v[i].edge != l.edge)) i++;
    STELE_ASSERT(i < g->n);
    memmove(&g->v[i], &g->v[i + 1], (g->n - i - 1) * sizeof *g->v);
    g->n--;
    if (i < g->sorted) g->sorted--;
    if (g->n > 0) return;
    free(g->v);
    uint32_t gi = (uint32_t)(g - m->g);
    memmove(&m->g[gi], &m->g[gi + 1], (m->ng - gi - 1) * sizeof *m->g);
    m->ng--;
}

/* ---- links ---- */

static int journal_push(madj *a, madj_jent j)
{
    if (!a->marked) return 0;
    if (util_grow((void **)&a->journal, &a->capjournal, a->njournal + 1, sizeof *a->journal))
        return -1;
    a->journal[a->njournal++] = j;
    return 0;
}

/* Links without journaling (also used by rollback). */
static int link_raw(madj *a, uint32_t edge, uint32_t from, uint32_t to, uint32_t label)
{
    uint32_t top = from > to ? from : to;
    if (edge >= a->nedges) {
        if (util_grow((void **)&a->edges, &a->capedges, (size_t)edge + 1, sizeof *a->edges))
            return -1;
        for (size_t i = a->nedges; i <= edge; i++) a->edges[i] = (medge){MADJ_NONE, 0, 0};
        a->nedges = (size_t)edge + 1;
    }
    if (grow_nodes(a, top) != 0) return -1;
    medge *e = &a->edges[edge];
    STELE_ASSERT(e->from == MADJ_NONE && label < a->labels.n);
    if (group_add(a, 0, from, label, (mlink){to, edge}) != 0) return -1;
    if (group_add(a, 1, to, label, (mlink){from, edge}) != 0) {
        group_remove(a, 0, from, label, (mlink){to, edge});
        return -1;
    }
    e->from = from;
    e->to = to;
    e->label = label;
    a->nlinked++;
    a->label_edges[label]++;
    return 0;
}

static void unlink_raw(madj *a, uint32_t edge)
{
    medge *e = &a->edges[edge];
    STELE_ASSERT(e->from != MADJ_NONE);
    group_remove(a, 0, e->from, e->label, (mlink){e->to, edge});
    group_remove(a, 1, e->to, e->label, (mlink){e->from, edge});
    a->nlinked--;
    a->label_edges[e->label]--;
    e->from = MADJ_NONE;
}

int madj_link(madj *a, uint32_t edge, uint32_t from, uint32_t to, uint32_t label)
{
    STELE_ASSERT(from != MADJ_NONE && to != MADJ_NONE && edge != MADJ_NONE);
    if (journal_push(a, (madj_jent){1, edge, from, to, label}) != 0) return -1;
    if (link_raw(a, edge, from, to, label) != 0) {
        if (a->marked) a->njournal--;
        return -1;
    }
    return 0;
}

int madj_unlink(madj *a, uint32_t edge)
{
    uint32_t from, to, label;
    if (!madj_edge(a, edge, &from, &to, &label)) return 0;
    if (journal_push(a, (madj_jent){0, edge, from, to, label}) != 0) return -1;
    unlink_raw(a, edge);
    return 1;
}

int madj_edge(const madj *a, uint32_t edge, uint32_t *from, uint32_t *to, uint32_t *label)
{
    if (edge >= a->nedges || a->edges[edge].from == MADJ_NONE) return 0;
    *from = a->edges[edge].from;
    *to = a->edges[edge].to;
    *label = a->edges[edge].label;
    return 1;
}

/* ---- reading ---- */

size_t madj_groups(const madj *a, uint32_t node, int dir, mgroup_view *out, size_t cap)
{
    STELE_ASSERT(dir == MADJ_OUT || dir == MADJ_IN);
    if (node >= a->nnode) return 0;
    const mnode *m = &a->node[dir == MADJ_OUT ? 0 : 1][node];
    for (uint32_t i = 0; i < m->ng && i < cap; i++)
        out[i] = (mgroup_view){m->g[i].v, m->g[i].n, m->g[i].label};
    return m->ng;
}

uint64_t madj_degree(const madj *a, uint32_t node)
{
    if (node >= a->nnode) return 0;
    uint64_t n = 0;
    for (int d = 0; d < 2; d++)
        for (uint32_t i = 0; i < a->node[d][node].ng; i++) n += a->node[d][node].g[i].n;
    return n;
}

uint32_t madj_node_limit(const madj *a) { return (uint32_t)a->nnode; }
uint64_t madj_edge_count(const madj *a) { return a->nlinked; }

uint64_t madj_label_edges(const madj *a, uint32_t label)
{
    return label < a->labels.n ? a->label_edges[label] : 0;
}

/* ---- settling ---- */

static int link_cmp(const void *x, const void *y)
{
    const mlink *p = x, *q = y;
    return link_less(p, q) ? -1 : link_less(q, p) ? 1 : 0;
}

/* Sorts the tail of g and merges it into the sorted prefix, from the back. */
static int group_settle(mgroup *g)
{
    uint32_t k = g->n - g->sorted;
    if (k == 0) return 0;
    mlink *tail = malloc((size_t)k * sizeof *tail);
    if (!tail) return -1;
    memcpy(tail, &g->v[g->sorted], (size_t)k * sizeof *tail);
    qsort(tail, k, sizeof *tail, link_cmp);
    size_t i = g->sorted, j = k, w = g->n; /* merge into v[0, n) from the end */
    while (j > 0) {
        if (i > 0 && link_less(&tail[j - 1], &g->v[i - 1])) g->v[--w] = g->v[--i];
        else g->v[--w] = tail[--j];
    }
    free(tail);
    g->sorted = g->n;
    return 0;
}

int madj_settle(madj *a)
{
    for (size_t i = 0; i < a->ndirty; i++) {
        dirty_ref r = a->dirty[i];
        if (r.node >= a->nnode) continue;
        mnode *m = &a->node[r.dir][r.node];
        for (uint32_t j = 0; j < m->ng; j++)
            if (group_settle(&m->g[j]) != 0) return -1;
    }
    a->ndirty = 0;
    return 0;
}

/* ---- tentative changes ---- */

int madj_mark(madj *a)
{
    STELE_ASSERT(!a->marked);
    a->marked = 1;
    a->njournal = 0;
    a->mark_nlabel = a->labels.n;
    return 0;
}

void madj_rollback(madj *a)
{
    STELE_ASSERT(a->marked);
    for (size_t i = a->njournal; i-- > 0;) {
        madj_jent j = a->journal[i];
        if (j.linked) {
            unlink_raw(a, j.edge);
        } else if (link_raw(a, j.edge, j.from, j.to, j.label) != 0) {
            /* Re-linking needs memory only if a group was freed; the group arrays of
             * the links removed since the mark are rebuilt here. Out of memory now
             * cannot be recovered from safely. */
            util_assert_fail("adjacency rollback out of memory", __FILE__, __LINE__);
        }
    }
    strtab_truncate(&a->labels, a->mark_nlabel);
    a->marked = 0;
    a->njournal = 0;
    (void)madj_settle(a);
}

void madj_commit(madj *a)
{
    STELE_ASSERT(a->marked);
    a->marked = 0;
    a->njournal = 0;
}

uint64_t madj_bytes(const madj *a)
{
    uint64_t b = sizeof *a + a->capnode[0] * sizeof(mnode) + a->capnode[1] * sizeof(mnode) +
                 a->capedges * sizeof(medge) +
                 strtab_bytes(&a->labels) + a->caplabel_edges * sizeof(uint64_t);
    for (int d = 0; d < 2; d++)
        for (size_t i = 0; i < a->nnode; i++) {
            const mnode *m = &a->node[d][i];
            b += (uint64_t)m->capg * sizeof(mgroup);
            for (uint32_t j = 0; j < m->ng; j++) b += (uint64_t)m->g[j].cap * sizeof(mlink);
        }
    return b;
}

/* ---- edge documents ---- */

#include "model/doc.h"
#include "model/state.h"

int mref_parse(const char *s, size_t n, mref *r, const char **why)
{
    memset(r, 0, sizeof *r);
    const char *slash = memchr(s, '/', n);
    if (!slash) {
        *why = "a reference is \"collection/key\"";
        return -1;
    }
    const char *colon = memchr(s, ':', (size_t)(slash - s));
    const char *c = s;
    if (colon) {
        r->db = s;
        r->db_len = (size_t)(colon - s);
        c = colon + 1;
        if (!mstate_name_ok(r->db, r->db_len)) {
            *why = "the database of a reference \"db:collection/key\" is not a valid name";
            return -1;
        }
    }
    r->coll = c;
    r->coll_len = (size_t)(slash - c);
    r->key = slash + 1;
    r->key_len = n - (size_t)(r->key - s);
    if (!mstate_name_ok(r->coll, r->coll_len)) {
        *why = "the collection of a reference is not a valid collection name";
        return -1;
    }
    if (r->key_len == 0 || r->key_len > MSTATE_ID_MAX) {
        *why = "the key of a reference must be 1 to 256 bytes";
        return -1;
    }
    return 0;
}

static int label_ok(const char *s, size_t n)
{
    if (n == 0 || n > MADJ_LABEL_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)s[i] < 0x20 || s[i] == ',' || s[i] == 0x7f) return 0;
    return 1;
}

/* The string member `key` of doc: 1 (found: s and n set), 0 (absent), -1 (not a string). */
static int doc_str_member(const uint8_t *doc, size_t len, const char *key, const char **s,
                          size_t *n)
{
    doc_view v;
    int rc = doc_get(doc, len, key, strlen(key), &v);
    if (rc != 1) return rc < 0 ? -1 : 0;
    return doc_string(v, s, n) == 0 ? 1 : -1;
}

int medge_read(const uint8_t *doc, size_t len, medge_doc *out, const char **why)
{
    const char *f = NULL, *t = NULL;
    size_t fn = 0, tn = 0;
    int hf = doc_str_member(doc, len, "_from", &f, &fn);
    int ht = doc_str_member(doc, len, "_to", &t, &tn);
    if (hf == 0 && ht == 0) return 0;
    memset(out, 0, sizeof *out);
    if (hf != 1 || ht != 1) {
        *why = "an edge has both \"_from\" and \"_to\", each a string \"collection/key\"";
        return -1;
    }
    if (mref_parse(f, fn, &out->from, why) != 0 || mref_parse(t, tn, &out->to, why) != 0)
        return -1;
    int hl = doc_str_member(doc, len, "_label", &out->label, &out->label_len);
    if (hl < 0 || (hl == 1 && !label_ok(out->label, out->label_len))) {
        *why = "\"_label\" must be a string of 1 to 64 bytes without control characters "
               "or commas";
        return -1;
    }
    if (hl == 0) out->label = NULL;
    return 1;
}

uint32_t mref_resolve(const mstate *s, const mref *r, uint64_t as_of)
{
    char name[MSTATE_NAME_MAX + 1];
    if (r->db || r->coll_len > MSTATE_NAME_MAX) return MADJ_NONE;
    memcpy(name, r->coll, r->coll_len);
    name[r->coll_len] = 0;
    uint32_t c = mstate_coll_find(s, name, as_of);
    return c == MSTATE_NONE ? MADJ_NONE : mstate_doc_find(s, c, r->key, r->key_len);
}

const char *medge_label(const mstate *s, const medge_doc *ed, uint32_t edge, uint64_t at,
                        size_t *len)
{
    if (ed->label) {
        *len = ed->label_len;
        return ed->label;
    }
    const char *name = mstate_coll_name(s, mstate_doc_coll(s, edge), at);
    *len = name ? strlen(name) : 0;
    return name;
}

int madj_relink_all(mstate *s)
{
    madj *a = mstate_adj(s);
    for (uint32_t n = 0; n < mstate_doc_count(s); n++) {
        const mversion *v = mstate_doc_get(s, n, UINT64_MAX);
        medge_doc ed;
        const char *why;
        if (!v || v->deleted || medge_read(v->doc, v->doc_len, &ed, &why) != 1) continue;
        if (ed.from.db || ed.to.db) continue;
        uint32_t from = mref_resolve(s, &ed.from, UINT64_MAX);
        uint32_t to = mref_resolve(s, &ed.to, UINT64_MAX);
        if (from == MADJ_NONE || to == MADJ_NONE) continue; /* not linked when written */
        size_t label_len;
        const char *label = medge_label(s, &ed, n, UINT64_MAX, &label_len);
        uint32_t id;
        if (!label) continue;
        if (madj_label_intern(a, label, label_len, &id) != 0 ||
            madj_link(a, n, from, to, id) != 0)
            return -1;
    }
    return madj_settle(a);
}
