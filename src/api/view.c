/*
 * view.c — views: document and graph reads from other threads than the handle's, as of
 * the LSN of the last committed transaction, never making the writer wait
 * (include/stele.h "Views"; docs/DECISIONS.md 35). Layer: api.
 *
 * A view touches only the state it was opened on (db->vstate, fixed at open) through
 * the model's reader functions, between mstate_view_enter and mstate_view_leave; never
 * db->err, db->idx, db->docs, the adjacency or the handle's graph scratch, which the
 * writer's thread owns. Filters scan the versions as of the view's LSN (filter_eval_as_of
 * without an index); graph reads build the edges as of it (gview_build_as_of, labels
 * compared by name, not through the adjacency's dictionary).
 */
#include <stdlib.h>
#include <string.h>

#include <roaring/roaring.h>

#include "api/api_int.h"
#include "api/docs_int.h"
#include "api/graph_int.h"
#include "model/edges.h"
#include "model/state.h"
#include "query/filter.h"
#include "query/graph.h"
#include "query/result.h"

struct stele_view {
    stele *db;
    mstate_view mv;
    util_err err;
    graph_scratch *gs; /* this view's graph working memory (made on first use) */
};

stele_status stele_view_open(stele *db, stele_view **out)
{
    if (!db || !out) return STELE_EINVAL;
    *out = NULL;
    if (!db->vstate) return STELE_EINVAL; /* not opened with readers (or not open) */
    stele_view *v = calloc(1, sizeof *v);
    if (!v) return STELE_ENOMEM;
    if (mstate_view_open(db->vstate, &v->mv) != 0) {
        free(v);
        return STELE_ETOOBIG;
    }
    v->db = db;
    __atomic_add_fetch(&db->nviews, 1, __ATOMIC_SEQ_CST);
    *out = v;
    return STELE_OK;
}

void stele_view_close(stele_view *v)
{
    if (!v) return;
    mstate_view_close(&v->mv);
    __atomic_sub_fetch(&v->db->nviews, 1, __ATOMIC_SEQ_CST);
    graph_scratch_free(v->gs);
    free(v);
}

uint64_t stele_view_lsn(const stele_view *v) { return v ? v->mv.lsn : 0; }

const char *stele_view_errmsg(const stele_view *v) { return v ? v->err.msg : "no view"; }

/* The start of a view call: the error cleared, the view entered (mstate reads on this
 * thread are bounded by it until view_end). */
static const mstate *view_begin(stele_view *v)
{
    util_err_clear(&v->err);
    mstate_view_enter(&v->mv);
    return v->mv.s;
}

static stele_status view_end(stele_view *v, stele_status rc)
{
    mstate_view_leave(&v->mv);
    return rc;
}

/* The doc number of (coll, id) at the view's LSN, or MSTATE_NONE with the error set. */
static uint32_t view_find_doc(stele_view *v, const mstate *s, const char *coll, const char *id,
                              stele_status *rc)
{
    uint32_t c = mstate_coll_find(s, coll, v->mv.lsn);
    uint32_t n = c == MSTATE_NONE ? MSTATE_NONE : mstate_doc_find(s, c, id, strlen(id));
    if (c == MSTATE_NONE)
        *rc = util_fail(&v->err, STELE_ENOTFOUND, "no collection '%s' at LSN %llu", coll,
                        (unsigned long long)v->mv.lsn);
    else if (n == MSTATE_NONE)
        *rc = util_fail(&v->err, STELE_ENOTFOUND, "no document '%s' in '%s'", id, coll);
    return n;
}

/* Hands b's text to *out on success; releases b either way. */
static stele_status view_detach(stele_view *v, buf *b, stele_status rc, char **out)
{
    if (rc == STELE_OK && !(*out = buf_detach(b)))
        rc = util_fail(&v->err, STELE_ENOMEM, "out of memory");
    buf_release(b);
    return rc;
}

stele_status stele_view_doc_get(stele_view *v, const char *coll, const char *id, char **json)
{
    if (!v || !coll || !id || !json) return STELE_EINVAL;
    const mstate *s = view_begin(v);
    stele_status rc = STELE_OK;
    uint32_t n = view_find_doc(v, s, coll, id, &rc);
    const mversion *ver = rc == STELE_OK ? mstate_doc_get(s, n, v->mv.lsn) : NULL;
    if (rc == STELE_OK && (!ver || ver->deleted))
        rc = util_fail(&v->err, STELE_ENOTFOUND, "no document '%s' in '%s' at LSN %llu", id,
                       coll, (unsigned long long)v->mv.lsn);
    buf b;
    buf_init(&b);
    if (rc == STELE_OK && api_version_json(s, ver, 0, NULL, &b) != 0)
        rc = util_fail(&v->err, STELE_ENOMEM, "out of memory");
    return view_end(v, view_detach(v, &b, rc, json));
}

stele_status stele_view_doc_history(stele_view *v, const char *coll, const char *id,
                                    char **ndjson)
{
    if (!v || !coll || !id || !ndjson) return STELE_EINVAL;
    const mstate *s = view_begin(v);
    stele_status rc = STELE_OK;
    uint32_t n = view_find_doc(v, s, coll, id, &rc);
    size_t nv = 0;
    const mversion *ver = rc == STELE_OK ? mstate_doc_history_as_of(s, n, v->mv.lsn, &nv) : NULL;
    if (rc == STELE_OK && nv == 0)
        rc = util_fail(&v->err, STELE_ENOTFOUND, "no document '%s' in '%s' at LSN %llu", id,
                       coll, (unsigned long long)v->mv.lsn);
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < nv && rc == STELE_OK; i++)
        if (api_version_json(s, &ver[i], 1, NULL, &b) != 0 || buf_append(&b, "\n", 1) != 0)
            rc = util_fail(&v->err, STELE_ENOMEM, "out of memory");
    return view_end(v, view_detach(v, &b, rc, ndjson));
}

/* The matches of filter text on coll as of at (<= the view's LSN), by a version scan;
 * *f (if not NULL) keeps the parsed filter on success. */
static stele_status view_match(stele_view *v, const mstate *s, const char *coll,
                               const char *text, size_t len, uint64_t at,
                               roaring_bitmap_t **set, qfilter **keep)
{
    qfilter *f = NULL;
    uint64_t scanned;
    stele_status rc = filter_parse(text, len, &f, &v->err);
    uint32_t c = rc == STELE_OK ? mstate_coll_find(s, coll, at) : MSTATE_NONE;
    if (rc == STELE_OK && c == MSTATE_NONE)
        rc = util_fail(&v->err, STELE_ENOTFOUND, "no collection '%s' at LSN %llu", coll,
                       (unsigned long long)at);
    if (rc == STELE_OK) rc = filter_eval_as_of(f, s, NULL, c, at, set, &scanned, NULL, &v->err);
    if (rc == STELE_OK && keep) *keep = f;
    else filter_free(f);
    return rc;
}

stele_status stele_view_count(stele_view *v, const char *coll, const char *filter, size_t len,
                              uint64_t *count)
{
    if (!v || !coll || !filter || !count) return STELE_EINVAL;
    const mstate *s = view_begin(v);
    roaring_bitmap_t *set = NULL;
    stele_status rc = view_match(v, s, coll, filter, len, v->mv.lsn, &set, NULL);
    if (rc == STELE_OK) *count = roaring_bitmap_get_cardinality(set);
    if (set) roaring_bitmap_free(set);
    return view_end(v, rc);
}

stele_status stele_view_find(stele_view *v, const char *coll, const char *filter, size_t len,
                             const stele_find_opts *opts, char **ndjson)
{
    if (!v || !coll || !filter || !ndjson) return STELE_EINVAL;
    stele_find_opts o = opts ? *opts : (stele_find_opts){0};
    if (!o.as_of || o.as_of > v->mv.lsn) o.as_of = v->mv.lsn;
    const mstate *s = view_begin(v);
    sort_spec *sp = malloc(sizeof *sp);
    fields_spec *fs = malloc(sizeof *fs);
    stele_status rc = sp && fs ? STELE_OK : util_fail(&v->err, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) rc = result_sort_parse(o.sort, sp, &v->err);
    if (rc == STELE_OK) rc = result_fields_parse(o.fields, fs, &v->err);
    roaring_bitmap_t *set = NULL;
    qfilter *f = NULL;
    uint32_t *nums = NULL;
    size_t n = 0;
    buf b;
    buf_init(&b);
    if (rc == STELE_OK) rc = view_match(v, s, coll, filter, len, o.as_of, &set, &f);
    if (rc == STELE_OK)
        rc = api_find_order(s, NULL, &v->err, coll, f, set, sp, &o, &nums, &n);
    if (rc == STELE_OK) rc = api_write_docs(s, &v->err, nums, n, o.as_of, fs, &b);
    filter_free(f);
    if (set) roaring_bitmap_free(set);
    free(nums);
    free(sp);
    free(fs);
    return view_end(v, view_detach(v, &b, rc, ndjson));
}

stele_status stele_view_node_lookup(stele_view *v, const char *ref, stele_node *node)
{
    if (!v || !ref || !node) return STELE_EINVAL;
    const mstate *s = view_begin(v);
    mref r;
    const char *why = "";
    stele_status rc = STELE_OK;
    if (mref_parse(ref, strlen(ref), &r, &why) != 0)
        rc = util_fail(&v->err, STELE_EINVAL, "bad node reference '%s': %s", ref, why);
    uint32_t n = rc == STELE_OK ? mref_resolve(s, &r, v->mv.lsn) : MADJ_NONE;
    const mversion *ver = n == MADJ_NONE ? NULL : mstate_doc_meta(s, n, v->mv.lsn);
    if (rc == STELE_OK && (!ver || ver->deleted))
        rc = util_fail(&v->err, STELE_ENOTFOUND, "no node '%s' at LSN %llu", ref,
                       (unsigned long long)v->mv.lsn);
    if (rc == STELE_OK) *node = n;
    return view_end(v, rc);
}

/* ---- graph ---- */

#define VIEW_LABELS_MAX GRAPH_LABELS_MAX

typedef struct view_labels {
    const char *name[VIEW_LABELS_MAX];
    size_t len[VIEW_LABELS_MAX];
    size_t n; /* 0 = every label */
} view_labels;

/* gview_label_fn: a wanted label's position in the list (0 for all when none is named),
 * MADJ_NONE for another. */
static uint32_t wanted_label(void *ctx, const char *name, size_t len)
{
    const view_labels *l = ctx;
    if (l->n == 0) return 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->len[i] == len && memcmp(l->name[i], name, len) == 0) return (uint32_t)i;
    return MADJ_NONE;
}

/* Splits "A,B,C" (NULL or "" = every label). */
static stele_status labels_split(stele_view *v, const char *labels, view_labels *l)
{
    l->n = 0;
    for (const char *p = labels; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n > MADJ_LABEL_MAX || l->n == VIEW_LABELS_MAX)
            return util_fail(&v->err, STELE_EINVAL, "bad label list '%s': at most %d labels "
                             "of 1-%d bytes, separated by commas", labels, VIEW_LABELS_MAX,
                             MADJ_LABEL_MAX);
        l->name[l->n] = p;
        l->len[l->n++] = n;
        p += n + (end ? 1 : 0);
    }
    return STELE_OK;
}

/* The graph of the wanted labels as of the view's LSN (inside a view call). */
static stele_status view_graph(stele_view *v, const mstate *s, const char *labels, gview *g)
{
    memset(g, 0, sizeof *g);
    view_labels l;
    stele_status rc = labels_split(v, labels, &l);
    if (rc == STELE_OK && !v->gs && !(v->gs = graph_scratch_new()))
        rc = util_fail(&v->err, STELE_ENOMEM, "out of memory");
    if (rc != STELE_OK) return rc;
    g->s = s;
    g->at = v->mv.lsn;
    return gview_build_as_of(g, wanted_label, &l, &v->err); /* only wanted labels built */
}

static int dir_ok(stele_dir d)
{
    return d == STELE_DIR_OUT || d == STELE_DIR_IN || d == STELE_DIR_BOTH;
}

stele_status stele_view_neighbors(stele_view *v, stele_node node, stele_dir dir,
                                  const char *labels, stele_node *out, size_t cap, size_t *n)
{
    if (!v || !dir_ok(dir) || !n || (cap && !out)) return STELE_EINVAL;
    const mstate *s = view_begin(v);
    gview g;
    stele_status rc = view_graph(v, s, labels, &g);
    if (rc == STELE_OK) *n = graph_neighbors(&g.v, v->gs, node, (int)dir, out, cap);
    if (rc == STELE_OK && *n == SIZE_MAX) rc = util_fail(&v->err, STELE_ENOMEM, "out of memory");
    gview_close(&g);
    return view_end(v, rc);
}

stele_status stele_view_traverse(stele_view *v, const stele_node *start, size_t nstart,
                                 stele_dir dir, const char *labels, uint32_t depth,
                                 stele_node **nodes, uint32_t **dist, size_t *n)
{
    if (!v || !dir_ok(dir) || !nodes || !n || (nstart && !start) || depth > GRAPH_DEPTH_MAX)
        return STELE_EINVAL;
    *nodes = NULL;
    if (dist) *dist = NULL;
    *n = 0;
    const mstate *s = view_begin(v);
    gview g;
    stele_status rc = view_graph(v, s, labels, &g);
    roaring_bitmap_t *st = rc == STELE_OK ? roaring_bitmap_of_ptr(nstart, start) : NULL;
    roaring_bitmap_t *reached = st ? roaring_bitmap_create() : NULL;
    graph_hop *hops = NULL;
    size_t nh = 0;
    if (rc == STELE_OK && (!reached || graph_khop(&g.v, v->gs, st, (int)dir, depth, 1, reached,
                                                  &hops, &nh) != 0))
        rc = util_fail(&v->err, STELE_ENOMEM, "out of memory");
    if (st) roaring_bitmap_free(st);
    if (reached) roaring_bitmap_free(reached);
    gview_close(&g);
    if (rc == STELE_OK && gapi_hops_split(hops, nh, nodes, dist) != STELE_OK)
        rc = util_fail(&v->err, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) *n = nh;
    free(hops);
    return view_end(v, rc);
}
