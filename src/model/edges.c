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

/* A node changed since the last compaction: its groups, each its own array. */
typedef struct mnode {
    mgroup *g;
    uint32_t ng, capg;
} mnode;

/* A group of the compact base: links [off, off + n) of the direction's pool. */
typedef struct mbgroup {
    uint32_t label, off, n;
} mbgroup;

/* One direction of the adjacency. ref[n] says where node n's groups are:
 *   0              none;
 *   THAWED | t     thawed node th[t] (changed since the last compaction);
 *   i + 1          base groups g[i, i + cnt[n]).
 * madj_compact rebuilds the base from the edge table and empties th. */
#define THAWED 0x80000000u
#define BASE_GROUPS_MAX 255u /* a node with more labels in one direction stays thawed */

typedef struct mdir {
    uint32_t *ref;
    uint8_t *cnt;
    size_t capref, capcnt;
    mbgroup *g;
    mlink *pool;
    size_t ng, npool;
    mnode *th;
    size_t nth, capth;
} mdir;

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
    mdir dir[2]; /* [0] out, [1] in; ref and cnt nnode long */
    size_t nnode;
    medge *edges;           /* edges[i] is edge doc number ebase + i */
    size_t nedges, capedges;
    uint32_t ebase;         /* the smallest edge doc number the table covers */
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

static void thawed_release(mdir *d)
{
    for (size_t t = 0; t < d->nth; t++) {
        for (uint32_t j = 0; j < d->th[t].ng; j++) free(d->th[t].g[j].v);
        free(d->th[t].g);
    }
    free(d->th);
    d->th = NULL;
    d->nth = d->capth = 0;
}

void madj_free(madj *a)
{
    if (!a) return;
    for (int d = 0; d < 2; d++) {
        thawed_release(&a->dir[d]);
        free(a->dir[d].ref);
        free(a->dir[d].cnt);
        free(a->dir[d].g);
        free(a->dir[d].pool);
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
        mdir *m = &a->dir[d];
        if (util_grow((void **)&m->ref, &m->capref, need, sizeof *m->ref) != 0 ||
            util_grow((void **)&m->cnt, &m->capcnt, need, sizeof *m->cnt) != 0)
            return -1;
        memset(&m->ref[a->nnode], 0, (need - a->nnode) * sizeof *m->ref);
        memset(&m->cnt[a->nnode], 0, (need - a->nnode) * sizeof *m->cnt);
    }
    a->nnode = need;
    return 0;
}

/* The thawed node of n in direction d, NULL if n is not thawed. */
static mnode *thawed_of(const mdir *m, uint32_t n)
{
    uint32_t r = m->ref[n];
    return (r & THAWED) ? &m->th[r & ~THAWED] : NULL;
}

/* Copies base groups g[0, k) into the thawed node t; -1 on OOM (t partly filled:
 * the caller releases it). */
static int thaw_groups(const mdir *m, const mbgroup *g, uint32_t k, mnode *t)
{
    t->g = calloc(k ? k : 1, sizeof *t->g);
    if (!t->g) return -1;
    t->capg = k ? k : 1;
    for (uint32_t i = 0; i < k; i++) {
        mgroup *x = &t->g[i];
        x->v = malloc((size_t)g[i].n * sizeof *x->v);
        if (!x->v) return -1;
        memcpy(x->v, &m->pool[g[i].off], (size_t)g[i].n * sizeof *x->v);
        x->label = g[i].label;
        x->n = x->cap = x->sorted = g[i].n;
        t->ng = i + 1;
    }
    return 0;
}

/* Node n of direction d as a thawed node (its base groups copied out on first change). */
static mnode *thaw(madj *a, int d, uint32_t n)
{
    mdir *m = &a->dir[d];
    mnode *t = thawed_of(m, n);
    if (t) return t;
    STELE_ASSERT(m->nth < THAWED);
    if (util_grow((void **)&m->th, &m->capth, m->nth + 1, sizeof *m->th) != 0) return NULL;
    t = &m->th[m->nth];
    memset(t, 0, sizeof *t);
    uint32_t r = m->ref[n];
    if (thaw_groups(m, r ? &m->g[r - 1] : NULL, r ? m->cnt[n] : 0, t) != 0) {
        for (uint32_t j = 0; j < t->ng; j++) free(t->g[j].v);
        free(t->g);
        return NULL;
    }
    m->ref[n] = THAWED | (uint32_t)m->nth++;
    m->cnt[n] = 0;
    return t;
}

/* The group of label in node n (dir index d), created (in label order) if asked.
 * The node is thawed first: the group is about to change. */
static mgroup *group_of(madj *a, int d, uint32_t n, uint32_t label, int create)
{
    mnode *m = thaw(a, d, n);
    if (!m) return NULL;
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

/* The position of link l in g (g->n if absent): a binary search of the sorted prefix
 * (a hub's thousands of links), then a scan of the unsorted tail (this transaction's
 * additions, settled at its end). */
static uint32_t link_find(const mgroup *g, mlink l)
{
    uint32_t lo = 0, hi = g->sorted;
    while (lo < hi) { /* halves [lo, hi) each step */
        uint32_t mid = lo + (hi - lo) / 2;
        if (link_less(&g->v[mid], &l)) lo = mid + 1;
        else hi = mid;
    }
    if (lo < g->sorted && g->v[lo].node == l.node && g->v[lo].edge == l.edge) return lo;
    for (uint32_t i = g->sorted; i < g->n; i++)
        if (g->v[i].node == l.node && g->v[i].edge == l.edge) return i;
    return g->n;
}

/* Removes link l; the node is already thawed (the link was added or thawed before). */
static void group_remove(madj *a, int d, uint32_t n, uint32_t label, mlink l)
{
    mnode *m = thawed_of(&a->dir[d], n);
    STELE_ASSERT(m != NULL);
    uint32_t gi = 0;
    while (gi < m->ng && m->g[gi].label != label) gi++;
    STELE_ASSERT(gi < m->ng);
    mgroup *g = &m->g[gi];
    uint32_t i = link_find(g, l);
    STELE_ASSERT(i < g->n);
    memmove(&g->v[i], &g->v[i + 1], (g->n - i - 1) * sizeof *g->v);
    g->n--;
    if (i < g->sorted) g->sorted--;
    if (g->n > 0) return;
    free(g->v);
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

/* The table entry of edge doc `edge`, or NULL if the table does not cover it. */
static medge *edge_at(const madj *a, uint32_t edge)
{
    return edge >= a->ebase && edge - a->ebase < a->nedges ? &a->edges[edge - a->ebase] : NULL;
}

/* Lets the table begin at edge doc `edge` (below ebase): entries move up. */
static int edges_lower_base(madj *a, uint32_t edge)
{
    size_t shift = a->ebase - edge;
    if (util_grow((void **)&a->edges, &a->capedges, a->nedges + shift, sizeof *a->edges))
        return -1;
    memmove(&a->edges[shift], a->edges, a->nedges * sizeof *a->edges);
    for (size_t i = 0; i < shift; i++) a->edges[i] = (medge){MADJ_NONE, 0, 0};
    a->nedges += shift;
    a->ebase = edge;
    return 0;
}

/* Makes room for edge doc `edge` from -> to: the edge table and the node arrays. The
 * table covers the edge doc numbers from the first one seen (nodes usually come first:
 * their numbers take no room) to the last. */
static int edge_room(madj *a, uint32_t edge, uint32_t from, uint32_t to)
{
    if (a->nedges == 0) a->ebase = edge;
    if (edge < a->ebase && edges_lower_base(a, edge) != 0) return -1;
    size_t i = edge - a->ebase;
    if (i >= a->nedges) {
        if (util_grow((void **)&a->edges, &a->capedges, i + 1, sizeof *a->edges)) return -1;
        for (size_t k = a->nedges; k <= i; k++) a->edges[k] = (medge){MADJ_NONE, 0, 0};
        a->nedges = i + 1;
    }
    return grow_nodes(a, from > to ? from : to);
}

static void edge_set(madj *a, uint32_t edge, uint32_t from, uint32_t to, uint32_t label)
{
    medge *e = edge_at(a, edge);
    STELE_ASSERT(e->from == MADJ_NONE && label < a->labels.n);
    *e = (medge){from, to, label};
    a->nlinked++;
    a->label_edges[label]++;
}

/* Records a link in the edge table only (madj_relink_all; madj_compact builds the groups). */
static int edge_record(madj *a, uint32_t edge, uint32_t from, uint32_t to, uint32_t label)
{
    STELE_ASSERT(label < a->labels.n);
    if (edge_room(a, edge, from, to) != 0) return -1;
    edge_set(a, edge, from, to, label);
    return 0;
}

/* Links without journaling (also used by rollback). */
static int link_raw(madj *a, uint32_t edge, uint32_t from, uint32_t to, uint32_t label)
{
    if (edge_room(a, edge, from, to) != 0) return -1;
    STELE_ASSERT(edge_at(a, edge)->from == MADJ_NONE && label < a->labels.n);
    if (group_add(a, 0, from, label, (mlink){to, edge}) != 0) return -1;
    if (group_add(a, 1, to, label, (mlink){from, edge}) != 0) {
        group_remove(a, 0, from, label, (mlink){to, edge});
        return -1;
    }
    edge_set(a, edge, from, to, label);
    return 0;
}

static void unlink_raw(madj *a, uint32_t edge)
{
    medge *e = edge_at(a, edge);
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
    if (!thaw(a, 0, from) || !thaw(a, 1, to)) return -1; /* removal changes both nodes */
    if (journal_push(a, (madj_jent){0, edge, from, to, label}) != 0) return -1;
    unlink_raw(a, edge);
    return 1;
}

int madj_edge(const madj *a, uint32_t edge, uint32_t *from, uint32_t *to, uint32_t *label)
{
    const medge *e = edge_at(a, edge);
    if (!e || e->from == MADJ_NONE) return 0;
    *from = e->from;
    *to = e->to;
    *label = e->label;
    return 1;
}

/* ---- reading ---- */

size_t madj_groups(const madj *a, uint32_t node, int dir, mgroup_view *out, size_t cap)
{
    STELE_ASSERT(dir == MADJ_OUT || dir == MADJ_IN);
    if (node >= a->nnode) return 0;
    const mdir *m = &a->dir[dir == MADJ_OUT ? 0 : 1];
    const mnode *t = thawed_of(m, node);
    if (t) {
        for (uint32_t i = 0; i < t->ng && i < cap; i++)
            out[i] = (mgroup_view){t->g[i].v, t->g[i].n, t->g[i].label};
        return t->ng;
    }
    uint32_t r = m->ref[node], k = r ? m->cnt[node] : 0;
    for (uint32_t i = 0; i < k && i < cap; i++) {
        const mbgroup *g = &m->g[r - 1 + i];
        out[i] = (mgroup_view){&m->pool[g->off], g->n, g->label};
    }
    return k;
}

uint64_t madj_degree(const madj *a, uint32_t node)
{
    if (node >= a->nnode) return 0;
    uint64_t n = 0;
    for (int d = 0; d < 2; d++) {
        const mdir *m = &a->dir[d];
        const mnode *t = thawed_of(m, node);
        uint32_t r = m->ref[node];
        if (t) {
            for (uint32_t i = 0; i < t->ng; i++) n += t->g[i].n;
        } else if (r) {
            for (uint32_t i = 0; i < m->cnt[node]; i++) n += m->g[r - 1 + i].n;
        }
    }
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
        mnode *m = r.node < a->nnode ? thawed_of(&a->dir[r.dir], r.node) : NULL;
        if (!m) continue; /* compacted since: the base is sorted */
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
    uint64_t b = sizeof *a + a->capedges * sizeof(medge) + strtab_bytes(&a->labels) +
                 a->caplabel_edges * sizeof(uint64_t);
    for (int d = 0; d < 2; d++) {
        const mdir *m = &a->dir[d];
        b += m->capref * sizeof *m->ref + m->capcnt * sizeof *m->cnt + m->ng * sizeof *m->g +
             m->npool * sizeof *m->pool + m->capth * sizeof *m->th;
        for (size_t t = 0; t < m->nth; t++) {
            b += (uint64_t)m->th[t].capg * sizeof(mgroup);
            for (uint32_t j = 0; j < m->th[t].ng; j++)
                b += (uint64_t)m->th[t].g[j].cap * sizeof(mlink);
        }
    }
    return b;
}

/* ---- compaction ---- */

/* One link of a direction while the base is rebuilt, sorted by (node, label, other, edge). */
typedef struct clink {
    uint32_t node, label, other, edge;
} clink;

static int clink_cmp(const void *x, const void *y)
{
    const clink *p = x, *q = y;
    if (p->node != q->node) return p->node < q->node ? -1 : 1;
    if (p->label != q->label) return p->label < q->label ? -1 : 1;
    if (p->other != q->other) return p->other < q->other ? -1 : 1;
    return p->edge < q->edge ? -1 : p->edge > q->edge;
}

/* The links of direction d from the edge table, sorted; NULL on OOM. A counting sort by
 * node (one pass to count, one to place), then each node's links sorted alone: O(links)
 * plus the sorting of each node's own links, instead of one sort of them all (at a
 * snapshot load of millions of links, the sort was most of the open). */
static clink *collect_links(const madj *a, int d, size_t *n)
{
    size_t nl = a->nlinked;
    clink *c = malloc((nl ? nl : 1) * sizeof *c);
    uint32_t *at = calloc(a->nnode + 1, sizeof *at); /* then: where node's links go */
    if (!c || !at) {
        free(c);
        free(at);
        return NULL;
    }
    for (size_t e = 0; e < a->nedges; e++) {
        const medge *x = &a->edges[e];
        if (x->from == MADJ_NONE) continue;
        uint32_t node = d == 0 ? x->from : x->to;
        STELE_ASSERT(node < a->nnode);
        at[node + 1]++;
    }
    for (size_t i = 1; i <= a->nnode; i++) at[i] += at[i - 1];
    STELE_ASSERT(at[a->nnode] == nl);
    for (size_t e = 0; e < a->nedges; e++) {
        const medge *x = &a->edges[e];
        if (x->from == MADJ_NONE) continue;
        uint32_t doc = a->ebase + (uint32_t)e;
        clink l = d == 0 ? (clink){x->from, x->label, x->to, doc}
                         : (clink){x->to, x->label, x->from, doc};
        c[at[l.node]++] = l; /* at[node] ends at the start of node + 1 */
    }
    for (size_t i = 0, lo = 0; i < a->nnode; i++) { /* node i's links: [lo, at[i]) */
        size_t hi = at[i];
        if (hi - lo > 1) qsort(c + lo, hi - lo, sizeof *c, clink_cmp);
        lo = hi;
    }
    free(at);
    *n = nl;
    return c;
}

/* Builds a fresh direction from sorted links c[0, n): nodes with more than
 * BASE_GROUPS_MAX labels become thawed nodes. -1 on OOM (out released by the caller). */
static int build_dir(const clink *c, size_t n, size_t nnode, mdir *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = nnode ? nnode : 1, ngroups = 0;
    out->ref = calloc(cap, sizeof *out->ref);
    out->cnt = calloc(cap, sizeof *out->cnt);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || c[i].node != c[i - 1].node || c[i].label != c[i - 1].label) ngroups++;
    out->g = malloc((ngroups ? ngroups : 1) * sizeof *out->g);
    out->pool = malloc((n ? n : 1) * sizeof *out->pool);
    if (!out->ref || !out->cnt || !out->g || !out->pool) return -1;
    out->capref = out->capcnt = cap;
    for (size_t i = 0; i < n; i++) out->pool[i] = (mlink){c[i].other, c[i].edge};
    out->npool = n;
    for (size_t i = 0; i < n;) { /* one node's links: [i, j) */
        size_t j = i, first = out->ng;
        uint32_t node = c[i].node;
        while (j < n && c[j].node == node) {
            size_t k = j;
            while (k < n && c[k].node == node && c[k].label == c[j].label) k++;
            out->g[out->ng++] = (mbgroup){c[j].label, (uint32_t)j, (uint32_t)(k - j)};
            j = k;
        }
        size_t k = out->ng - first;
        if (k <= BASE_GROUPS_MAX) {
            out->ref[node] = (uint32_t)first + 1;
            out->cnt[node] = (uint8_t)k;
        } else { /* a node with very many labels keeps its own arrays */
            if (util_grow((void **)&out->th, &out->capth, out->nth + 1, sizeof *out->th) != 0)
                return -1;
            mnode *t = &out->th[out->nth];
            memset(t, 0, sizeof *t);
            out->ref[node] = THAWED | (uint32_t)out->nth++;
            if (thaw_groups(out, &out->g[first], (uint32_t)k, t) != 0) return -1;
            out->ng = first;
        }
        i = j;
    }
    return 0;
}

static void dir_release(mdir *m)
{
    thawed_release(m);
    free(m->ref);
    free(m->cnt);
    free(m->g);
    free(m->pool);
    memset(m, 0, sizeof *m);
}

int madj_compact(madj *a)
{
    STELE_ASSERT(!a->marked);
    STELE_ASSERT(a->nlinked <= UINT32_MAX); /* edges are doc numbers: pool offsets fit */
    mdir fresh[2];
    memset(fresh, 0, sizeof fresh);
    for (int d = 0; d < 2; d++) {
        size_t n = 0;
        clink *c = collect_links(a, d, &n);
        int rc = c ? build_dir(c, n, a->nnode, &fresh[d]) : -1;
        free(c);
        if (rc != 0) {
            dir_release(&fresh[0]);
            dir_release(&fresh[1]);
            return -1;
        }
    }
    for (int d = 0; d < 2; d++) {
        dir_release(&a->dir[d]);
        a->dir[d] = fresh[d];
    }
    a->ndirty = 0; /* every group of the base is sorted */
    if (a->capedges > a->nedges && a->nedges) { /* the table stops growing here: trim it */
        medge *t = realloc(a->edges, a->nedges * sizeof *a->edges);
        if (t) {
            a->edges = t;
            a->capedges = a->nedges;
        }
    }
    return 0;
}

/* ---- edge documents ---- */

#include "model/doc.h"
#include "model/state.h"

/* The database part "@OWNER/NAME" of a reference s[0, n) (s[0] is '@'): 0 and *colon, or
 * -1 with *why. */
static int ref_owner_db(const char *s, size_t n, mref *r, const char **colon,
                        const char **why)
{
    *colon = memchr(s, ':', n);
    const char *slash = *colon ? memchr(s, '/', (size_t)(*colon - s)) : NULL;
    if (!slash || !mstate_name_ok(s + 1, (size_t)(slash - s - 1)) ||
        !mstate_name_ok(slash + 1, (size_t)(*colon - slash - 1))) {
        *why = "a reference to a shared database is \"@OWNER/NAME:collection/key\"";
        return -1;
    }
    r->db = s + 1;
    r->db_len = (size_t)(*colon - s - 1);
    r->owner = 1;
    return 0;
}

int mref_parse(const char *s, size_t n, mref *r, const char **why)
{
    memset(r, 0, sizeof *r);
    r->text = s;
    r->text_len = n;
    const char *c = s, *colon = NULL;
    if (n > 0 && s[0] == '@') {
        if (ref_owner_db(s, n, r, &colon, why) != 0) return -1;
        c = colon + 1;
    }
    const char *slash = memchr(c, '/', n - (size_t)(c - s));
    if (!slash) {
        *why = "a reference is \"collection/key\"";
        return -1;
    }
    if (!r->owner) colon = memchr(s, ':', (size_t)(slash - s));
    if (colon && !r->owner) {
        r->db = s;
        r->db_len = (size_t)(colon - s);
        c = colon + 1;
        if (!mstate_name_ok(r->db, r->db_len)) {
            *why = "the database of a reference \"db:collection/key\" is not a valid name";
            return -1;
        }
        r->global = r->db_len == strlen(MREF_GLOBAL) && memcmp(r->db, MREF_GLOBAL, r->db_len) == 0;
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
    STELE_ASSERT(!r->db || n <= MREF_TEXT_MAX);
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
    if (r->db && !(r->global && mstate_primary(s))) { /* another database: its stand-in */
        uint32_t x = mstate_coll_find(s, MREF_XREF_COLL, as_of);
        return x == MSTATE_NONE ? MADJ_NONE : mstate_doc_find(s, x, r->text, r->text_len);
    }
    if (r->coll_len > MSTATE_NAME_MAX) return MADJ_NONE;
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

int madj_load_link(madj *a, uint32_t edge, uint32_t from, uint32_t to, uint32_t label)
{
    STELE_ASSERT(from != MADJ_NONE && to != MADJ_NONE && edge != MADJ_NONE);
    uint32_t f, t, l;
    STELE_ASSERT(!madj_edge(a, edge, &f, &t, &l));
    return edge_record(a, edge, from, to, label);
}

int madj_relink_all(mstate *s)
{
    madj *a = mstate_adj(s);
    for (uint32_t n = 0; n < mstate_doc_count(s); n++) {
        const mversion *v = mstate_doc_get(s, n, UINT64_MAX);
        medge_doc ed;
        const char *why;
        if (!v || v->deleted || medge_read(v->doc, v->doc_len, &ed, &why) != 1) continue;
        uint32_t from = mref_resolve(s, &ed.from, UINT64_MAX);
        uint32_t to = mref_resolve(s, &ed.to, UINT64_MAX);
        if (from == MADJ_NONE || to == MADJ_NONE) continue; /* not linked when written */
        size_t label_len;
        const char *label = medge_label(s, &ed, n, UINT64_MAX, &label_len);
        uint32_t id;
        if (!label) continue;
        if (madj_label_intern(a, label, label_len, &id) != 0 || edge_record(a, n, from, to, id))
            return -1;
    }
    return madj_compact(a);
}
