/*
 * global.c — cached global data: stele_global_import and stele_global_refresh
 * (include/stele.h "Global data", docs/GRAPH.md "Global data"). Layer: api (uses io.c's
 * multi-part commit).
 *
 * Global data are records of the global database; until replication brings them they
 * are imported from a file. They live in the user's primary database, in ordinary
 * collections, each document marked "_origin":"global" and written by ops with
 * "global":true (model/txn.h enforces the rules: origin never changes, global edges
 * reference only global data). The mark is a field of the document, so it is inside
 * the encrypted payloads and snapshots like every other byte of a document: nothing on
 * disk tells how much of a primary database is the user's own.
 *
 * Import is whole or nothing: every line is checked first (shape, names, duplicates,
 * an "_origin" of another value); then the ops — missing collections, nodes, then
 * edges (so that their endpoints exist) — are applied tentatively and written as one
 * transaction (several records if needed), or nothing is.
 *
 * A refresh (docs/DECISIONS.md 38) takes the file as the whole global data set and
 * builds, in the same one transaction:
 *   1. the missing collections;
 *   2. per file document, nodes before edges: an insert if it is not live in the
 *      primary, a replace if it is and its SDOC bytes differ (SDOC is canonical: equal
 *      documents have equal bytes), nothing if they are equal — history grows only by
 *      real changes;
 *   3. the deletes: the live global documents the file does not hold ("absent"),
 *      after the user's own edges linked to them (edge upon edge) when the caller asked
 *      for STELE_GLOBAL_CASCADE — without it such edges refuse the whole refresh
 *      (STELE_ECONFLICT, naming them). Each delete op says "cascade":true; a document
 *      an earlier op's cascade reaches gets no op of its own (gi_deletes).
 * Invariants
 *  1. An edge of the file names documents of the file (checked per line), so after
 *     step 2 only doomed documents (absent or own-linked) are linked to a doomed one,
 *     and each cascade deletes doomed documents only.
 *  2. The user's own documents are never written, but for the edges of step 3 under
 *     STELE_GLOBAL_CASCADE (the model refuses a global delete cascading to own data).
 *  3. After a refresh the live global documents are exactly the file's, as in the file.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <roaring/roaring.h>

#include "api/docs_int.h"
#include "ledger/format.h"
#include "model/doc.h"
#include "model/edges.h"
#include "model/state.h"
#include "model/txn.h"

#define GLOBAL_BYTES_MAX (1u << 30) /* the whole input is held in memory */
#define GLOBAL_PART_BYTES (1u << 20) /* payload of one record (a multi-part txn beyond) */
#define GLOBAL_ERRORS_MAX 100u       /* bad lines listed in the report */
#define GLOBAL_LINES_MAX (1u << 26)  /* bound on the input loop */
#define GLOBAL_OP_SUFFIX 128u        /* room for the multi-part fields of a part */
#define GLOBAL_OWN_SHOWN 3u          /* own edges named when they refuse a refresh */
#define GLOBAL_FILTER "{\"_origin\":\"global\"}"

typedef struct gimport {
    stele *db;
    const char *what;      /* "global import" or "global refresh", for messages */
    int refresh, cascade;  /* stele_global_refresh, and its STELE_GLOBAL_CASCADE */
    json_t *nodes, *edges; /* arrays of ops, in input order */
    json_t *seen;          /* "coll/_id" -> line of its first use */
    json_t *colls;         /* collections to create: name -> true */
    buf errors;            /* kept error objects, comma-separated */
    uint64_t bad;
    buf *parts;            /* payload texts */
    size_t nparts, capparts;
    uint32_t part_ops;
    uint64_t inserted, replaced, unchanged; /* file documents, by what the refresh does */
    roaring_bitmap_t *absent, *own;        /* doomed: global not in the file; own edges */
    uint32_t shown_edge[GLOBAL_OWN_SHOWN], shown_at[GLOBAL_OWN_SHOWN]; /* for the error */
    uint32_t *stack, *links;               /* gi_walk's work */
    size_t capstack, caplinks;
    mgroup_view *groups;
    size_t capgroups;
} gimport;

static void gi_error(gimport *g, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void gi_error(gimport *g, uint64_t line, const char *fmt, ...)
{
    if (++g->bad > GLOBAL_ERRORS_MAX) return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (void)(buf_printf(&g->errors, "%s{\"line\":%llu,\"message\":", g->bad > 1 ? "," : "",
                      (unsigned long long)line) ||
           buf_json_str(&g->errors, msg, strlen(msg)) || buf_append(&g->errors, "}", 1));
}

/* One input line {"coll":C,"doc":{...}}: checked, then its insert op is kept. */
static void gi_line(gimport *g, const char *text, size_t len, uint64_t line)
{
    json_error_t je;
    json_t *x = json_loadb(text, len, 0, &je);
    json_t *coll = json_object_get(x, "coll"), *doc = json_object_get(x, "doc");
    const char *c = json_string_value(coll);
    const char *id = json_string_value(json_object_get(doc, "_id"));
    const char *origin = json_string_value(json_object_get(doc, "_origin"));
    char key[MSTATE_NAME_MAX + MSTATE_ID_MAX + 2];
    if (!x) gi_error(g, line, "malformed JSON at column %d: %s", je.column, je.text);
    else if (!json_is_object(x) || !c || !json_is_object(doc))
        gi_error(g, line, "a line is {\"coll\":\"collection\",\"doc\":{...}}");
    else if (!mstate_name_ok(c, strlen(c)))
        gi_error(g, line, "\"coll\" must be a collection name (1-64 of letters, digits, '.', "
                          "'_', '-')");
    else if (!id || !*id || strlen(id) > MSTATE_ID_MAX)
        gi_error(g, line, "global documents need an \"_id\" (a string of 1-%d bytes)",
                 MSTATE_ID_MAX);
    else if (json_object_get(doc, "_origin") && (!origin || strcmp(origin, "global") != 0))
        gi_error(g, line, "\"_origin\" is set by the import (\"global\"); remove it");
    if (!x || g->bad) {
        json_decref(x);
        return;
    }
    snprintf(key, sizeof key, "%s/%s", c, id);
    json_t *first = json_object_get(g->seen, key);
    if (first) {
        gi_error(g, line, "'%s' twice in the input (first on line %lld)", key,
                 (long long)json_integer_value(first));
        json_decref(x);
        return;
    }
    int is_edge = json_object_get(doc, "_from") || json_object_get(doc, "_to");
    json_t *op = json_pack("{s:s, s:s, s:O, s:b}", "op", "insert", "coll", c, "doc", doc,
                           "global", 1);
    json_t *body = json_object_get(op, "doc");
    /* the system fields (derived, never stored): a refresh compares the bodies without */
    static const char *const derived[3] = {"_rev", "_lsn", "_ts"};
    for (int k = 0; k < 3; k++) (void)json_object_del(body, derived[k]); /* -1: absent */
    if (!op || json_object_set_new(body, "_origin", json_string("global")) != 0 ||
        json_object_set_new(g->seen, key, json_integer((json_int_t)line)) != 0 ||
        json_object_set_new(g->colls, c, json_true()) != 0 ||
        json_array_append_new(is_edge ? g->edges : g->nodes, op) != 0)
        gi_error(g, line, "out of memory");
    json_decref(x);
}

static void gi_read(gimport *g, const char *d, size_t len)
{
    size_t at = 0;
    for (uint64_t line = 1; at < len && line <= GLOBAL_LINES_MAX; line++) {
        const char *nl = memchr(d + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - d) : len, n = end - at;
        size_t k = 0;
        while (k < n && (d[at + k] == ' ' || d[at + k] == '\t' || d[at + k] == '\r')) k++;
        if (k < n) gi_line(g, d + at, n, line);
        at = end + 1;
    }
}

/* Refresh: an edge of the file names documents of the file (the refresh deletes every
 * other global document; global data references only global data). Another database's
 * node, or a malformed reference, is left to the writer's checks. */
static void gi_check_ends(gimport *g)
{
    static const char *const ends[2] = {"_from", "_to"};
    size_t i;
    json_t *op;
    json_array_foreach(g->edges, i, op) {
        json_t *doc = json_object_get(op, "doc");
        const char *coll = json_string_value(json_object_get(op, "coll"));
        const char *id = json_string_value(json_object_get(doc, "_id"));
        char key[MSTATE_NAME_MAX + MSTATE_ID_MAX + 2];
        snprintf(key, sizeof key, "%s/%s", coll, id);
        uint64_t line = (uint64_t)json_integer_value(json_object_get(g->seen, key));
        STELE_ASSERT(line > 0);
        for (int k = 0; k < 2; k++) {
            const char *t = json_string_value(json_object_get(doc, ends[k]));
            mref r;
            const char *why = "";
            if (!t || mref_parse(t, strlen(t), &r, &why) != 0 || (r.db && !r.global)) continue;
            snprintf(key, sizeof key, "%.*s/%.*s", (int)r.coll_len, r.coll, (int)r.key_len,
                     r.key);
            if (!json_object_get(g->seen, key))
                gi_error(g, line, "edge %s '%s' names no document of the file: a refresh "
                         "keeps only the file's global data, and global data references only "
                         "global data", ends[k], t);
        }
    }
}

/* Appends one op's text to the last part (a new part when it is full). -1 on OOM, -2 if
 * the op alone is too large for a record. */
static int gi_add(gimport *g, json_t *op)
{
    char *t = json_dumps(op, JSON_COMPACT | JSON_SORT_KEYS);
    if (!t) return -1;
    size_t n = strlen(t);
    if (n + 16 + GLOBAL_OP_SUFFIX > LEDGER_PAYLOAD_MAX) {
        free(t);
        return -2;
    }
    buf *p = g->nparts ? &g->parts[g->nparts - 1] : NULL;
    int fresh = !p || p->len + n + GLOBAL_OP_SUFFIX > GLOBAL_PART_BYTES ||
                g->part_ops >= TXN_OPS_MAX;
    int bad = 0;
    if (fresh) {
        bad = util_grow((void **)&g->parts, &g->capparts, g->nparts + 1, sizeof *g->parts);
        if (!bad) {
            p = &g->parts[g->nparts++];
            buf_init(p);
            g->part_ops = 0;
            bad = buf_append(p, "{\"ops\":[", 8);
        }
    }
    bad = bad || (g->part_ops && buf_append(p, ",", 1)) || buf_append(p, t, n);
    g->part_ops++;
    free(t);
    return bad ? -1 : 0;
}

/* 1 if file document doc (its op's body) has the bytes of version v: SDOC is canonical,
 * and the writer parses the same jansson text. 0 also when that cannot be told (out of
 * memory): then the document is replaced, which is never wrong. */
static int gi_same(json_t *doc, const mversion *v)
{
    STELE_ASSERT(json_is_object(doc) && v && !v->deleted);
    char *t = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    buf b;
    buf_init(&b);
    json_error je;
    int same = t && json_parse(t, strlen(t), &b, &je) == 0 && b.len == v->doc_len &&
               memcmp(b.data, v->doc, b.len) == 0;
    free(t);
    buf_release(&b);
    return same;
}

enum { GI_INSERT, GI_REPLACE, GI_UNCHANGED };

/* Refresh: what file op (an insert) becomes: kept (the document is not live), turned
 * into a replace (live, other bytes; the model refuses it if the document is the
 * user's own) or left out (the same bytes). */
static stele_status gi_classify(gimport *g, json_t *op, int *how)
{
    mstate *s = g->db->docs;
    mstate_reads_done(s); /* nothing is kept from the document before: the budget holds */
    json_t *doc = json_object_get(op, "doc"), *jid = json_object_get(doc, "_id");
    const char *id = json_string_value(jid);
    uint32_t c = mstate_coll_find(s, json_string_value(json_object_get(op, "coll")),
                                  UINT64_MAX);
    uint32_t n = c == MSTATE_NONE ? MSTATE_NONE
                                  : mstate_doc_find(s, c, id, json_string_length(jid));
    const mversion *v = n == MSTATE_NONE ? NULL : mstate_doc_get(s, n, UINT64_MAX);
    stele_status rc = v ? STELE_OK : api_lazy_check(g->db, STELE_OK);
    *how = !v || v->deleted ? GI_INSERT : gi_same(doc, v) ? GI_UNCHANGED : GI_REPLACE;
    if (rc == STELE_OK && *how == GI_REPLACE &&
        (json_object_set_new(op, "op", json_string("replace")) != 0 ||
         json_object_set(op, "id", jid) != 0))
        rc = util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
    return rc;
}

/* Missing collections, in name order, into *created (a new array). */
static stele_status gi_build_colls(gimport *g, json_t **created)
{
    const char *name;
    json_t *v;
    *created = json_array();
    int bad = !*created;
    json_object_foreach(g->colls, name, v) {
        if (bad || mstate_coll_find(g->db->docs, name, UINT64_MAX) != MSTATE_NONE) continue;
        json_t *op = json_pack("{s:s, s:s}", "op", "create_collection", "coll", name);
        bad = !op || gi_add(g, op) != 0 || json_array_append_new(*created, json_string(name));
        json_decref(op);
    }
    return bad ? util_fail(&g->db->err, STELE_ENOMEM, "out of memory") : STELE_OK;
}

/* The file's documents, nodes then edges: all inserted, or for a refresh classified. */
static stele_status gi_build_docs(gimport *g)
{
    json_t *lists[2] = {g->nodes, g->edges}, *v;
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_array_foreach(lists[l], i, v) {
            int how = GI_INSERT;
            stele_status rc = g->refresh ? gi_classify(g, v, &how) : STELE_OK;
            if (rc != STELE_OK) return rc;
            g->inserted += how == GI_INSERT;
            g->replaced += how == GI_REPLACE;
            g->unchanged += how == GI_UNCHANGED;
            int r = how == GI_UNCHANGED ? 0 : gi_add(g, v);
            if (r == -2)
                return util_fail(&g->db->err, STELE_ETOOBIG, "%s: a document is too large "
                                 "for one ledger record (%u bytes)", g->what,
                                 LEDGER_PAYLOAD_MAX);
            if (r != 0) return util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
        }
    }
    return STELE_OK;
}

/* The edges linked at node x, both directions, into g->links[0, *n). -1 on OOM. */
static int gi_links(gimport *g, uint32_t x, size_t *n)
{
    const madj *a = mstate_adj_c(g->db->docs);
    *n = 0;
    for (int dir = MADJ_OUT; dir <= MADJ_IN; dir++) {
        size_t k = madj_groups(a, x, dir, NULL, 0);
        if (util_grow((void **)&g->groups, &g->capgroups, k, sizeof *g->groups) != 0) return -1;
        size_t again = madj_groups(a, x, dir, g->groups, k);
        STELE_ASSERT(again == k);
        for (size_t j = 0; j < k; j++) {
            if (util_grow((void **)&g->links, &g->caplinks, *n + g->groups[j].n,
                          sizeof *g->links) != 0)
                return -1;
            for (uint32_t l = 0; l < g->groups[j].n; l++)
                g->links[(*n)++] = g->groups[j].links[l].edge;
        }
    }
    return 0;
}

/* A walk's step: edge e, linked at x, is taken (marked; 1), passed over (0), or an
 * error stops the walk (<0: its status). */
typedef int (*gi_take_fn)(gimport *g, uint32_t e, uint32_t x, roaring_bitmap_t *mark);

/* From the documents start[0, n), every edge linked at a document reached that take
 * takes, edge upon edge (an explicit stack; each edge is taken once, as take marks it
 * in mark, so the walk ends within n + the edge count steps). */
static stele_status gi_walk(gimport *g, const uint32_t *start, size_t n, gi_take_fn take,
                            roaring_bitmap_t *mark)
{
    uint64_t budget = n + madj_edge_count(mstate_adj_c(g->db->docs)) + 1;
    if (util_grow((void **)&g->stack, &g->capstack, n, sizeof *g->stack) != 0)
        return util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
    memcpy(g->stack, start, n * sizeof *start);
    size_t depth = n, k;
    while (depth > 0 && budget-- > 0) {
        uint32_t x = g->stack[--depth];
        if (gi_links(g, x, &k) != 0) return util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
        for (size_t i = 0; i < k; i++) {
            int r = take(g, g->links[i], x, mark);
            if (r < 0) return (stele_status)r;
            if (r == 0) continue;
            if (util_grow((void **)&g->stack, &g->capstack, depth + 1, sizeof *g->stack) != 0)
                return util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
            g->stack[depth++] = g->links[i];
        }
    }
    STELE_ASSERT(depth == 0); /* the budget is never the bound that stops it */
    return STELE_OK;
}

/* gi_walk step from the absent documents: takes the user's own edges into mark (g->own);
 * a global edge not absent is in the file, and step 2 re-points it. */
static int take_own(gimport *g, uint32_t e, uint32_t x, roaring_bitmap_t *mark)
{
    if (roaring_bitmap_contains(g->absent, e) || roaring_bitmap_contains(mark, e)) return 0;
    mstate_reads_done(g->db->docs); /* as in gi_classify */
    const mversion *v = mstate_doc_get(g->db->docs, e, UINT64_MAX);
    if (!v) {
        stele_status rc = api_lazy_check(g->db, STELE_OK);
        return rc != STELE_OK ? rc : util_fail(&g->db->err, STELE_ECORRUPT, "global refresh: "
                                               "edge %u is linked but has no version", e);
    }
    if (txn_version_global(v)) return 0;
    uint64_t k = roaring_bitmap_get_cardinality(mark);
    if (k < GLOBAL_OWN_SHOWN) {
        g->shown_edge[k] = e;
        g->shown_at[k] = x;
    }
    roaring_bitmap_add(mark, e);
    return 1;
}

/* gi_walk step of gi_deletes: takes the doomed edges not yet covered into mark. */
static int take_doomed(gimport *g, uint32_t e, uint32_t x, roaring_bitmap_t *mark)
{
    (void)x;
    int doomed = roaring_bitmap_contains(g->absent, e) || roaring_bitmap_contains(g->own, e);
    if (!doomed || roaring_bitmap_contains(mark, e)) return 0;
    roaring_bitmap_add(mark, e);
    return 1;
}

/* The live global documents of the primary that the file does not hold, into
 * g->absent (per collection, through the {"_origin":"global"} filter). */
static stele_status gi_absent(gimport *g)
{
    mstate *s = g->db->docs;
    uint32_t nc = mstate_coll_count(s);
    for (uint32_t c = 0; c < nc; c++) {
        const char *name = mstate_coll_name(s, c, UINT64_MAX);
        if (!name || name[0] == '.') continue; /* dropped, or internal (MREF_XREF_COLL) */
        roaring_bitmap_t *set = NULL;
        stele_status rc = api_filter_set(g->db, name, GLOBAL_FILTER, strlen(GLOBAL_FILTER), 0,
                                         &set);
        if (rc != STELE_OK) return rc;
        roaring_uint32_iterator_t it;
        roaring_init_iterator(set, &it);
        for (; it.has_value; roaring_advance_uint32_iterator(&it)) {
            size_t len;
            const char *id = mstate_doc_id(s, it.current_value, &len);
            char key[MSTATE_NAME_MAX + MSTATE_ID_MAX + 2];
            STELE_ASSERT(id && len <= MSTATE_ID_MAX);
            snprintf(key, sizeof key, "%s/%.*s", name, (int)len, id);
            if (!json_object_get(g->seen, key)) roaring_bitmap_add(g->absent, it.current_value);
        }
        roaring_bitmap_free(set);
    }
    return STELE_OK;
}

/* The refusal of a refresh that would delete the user's own edges without cascade. */
static stele_status gi_refuse_own(gimport *g)
{
    mstate *s = g->db->docs;
    uint64_t n = roaring_bitmap_get_cardinality(g->own);
    char list[3 * GLOBAL_OWN_SHOWN * (MSTATE_NAME_MAX + 80)] = "";
    size_t at = 0;
    for (uint32_t i = 0; i < n && i < GLOBAL_OWN_SHOWN && at < sizeof list; i++) {
        uint32_t e = g->shown_edge[i], x = g->shown_at[i];
        size_t el, xl;
        const char *eid = mstate_doc_id(s, e, &el), *xid = mstate_doc_id(s, x, &xl);
        STELE_ASSERT(eid && xid);
        int w = snprintf(list + at, sizeof list - at, "%s'%s/%.*s' (at '%s/%.*s')",
                         i ? ", " : "", mstate_coll_name(s, mstate_doc_coll(s, e), UINT64_MAX),
                         (int)(el > 40 ? 40 : el), eid,
                         mstate_coll_name(s, mstate_doc_coll(s, x), UINT64_MAX),
                         (int)(xl > 40 ? 40 : xl), xid);
        at += w > 0 ? (size_t)w : 0;
    }
    /* the advice before the list, so that a long list is what gets cut */
    return util_fail(&g->db->err, STELE_ECONFLICT, "global refresh: %llu of your own edges "
                     "link to global documents the file no longer holds (delete or change "
                     "them first, or refresh with cascade, the CLI's --cascade, to delete "
                     "them too): %s%s", (unsigned long long)n, list,
                     n > GLOBAL_OWN_SHOWN ? ", ..." : "");
}

/* Appends the delete of document x ("cascade":true; "global" for global data). */
static stele_status gi_delete_op(gimport *g, uint32_t x, int global)
{
    mstate *s = g->db->docs;
    size_t len;
    const char *id = mstate_doc_id(s, x, &len);
    const char *coll = mstate_coll_name(s, mstate_doc_coll(s, x), UINT64_MAX);
    STELE_ASSERT(id && coll);
    json_t *op = json_pack("{s:s, s:s, s:s%, s:b, s:b}", "op", "delete", "coll", coll, "id",
                           id, len, "global", global, "cascade", 1);
    int r = op ? gi_add(g, op) : -1;
    json_decref(op);
    return r ? util_fail(&g->db->err, STELE_ENOMEM, "out of memory") : STELE_OK;
}

/* Step 3's ops: the own edges, then the absent global documents, each deleted with
 * "cascade":true unless an earlier op's cascade reaches it (covered, as gi_walk
 * finds: by then only doomed documents are linked to doomed ones, invariant 1). */
static stele_status gi_deletes(gimport *g)
{
    roaring_bitmap_t *covered = roaring_bitmap_create();
    stele_status rc = covered ? STELE_OK : util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
    roaring_bitmap_t *sets[2] = {g->own, g->absent};
    for (int k = 0; k < 2 && rc == STELE_OK; k++) {
        roaring_uint32_iterator_t it;
        roaring_init_iterator(sets[k], &it);
        for (; it.has_value && rc == STELE_OK; roaring_advance_uint32_iterator(&it)) {
            uint32_t x = it.current_value;
            if (roaring_bitmap_contains(covered, x)) continue;
            roaring_bitmap_add(covered, x);
            rc = gi_delete_op(g, x, sets[k] == g->absent);
            if (rc == STELE_OK) rc = gi_walk(g, &x, 1, take_doomed, covered);
        }
    }
    STELE_ASSERT(rc != STELE_OK || roaring_bitmap_get_cardinality(covered) ==
                                       roaring_bitmap_get_cardinality(g->own) +
                                           roaring_bitmap_get_cardinality(g->absent));
    if (covered) roaring_bitmap_free(covered);
    return rc;
}

/* Refresh: the absent documents, the own edges linked to them (refused without
 * cascade), then the deletes. */
static stele_status gi_build_deletes(gimport *g)
{
    g->absent = roaring_bitmap_create();
    g->own = roaring_bitmap_create();
    if (!g->absent || !g->own) return util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
    stele_status rc = gi_absent(g);
    uint64_t n = roaring_bitmap_get_cardinality(g->absent);
    uint32_t *start = rc == STELE_OK && n ? malloc(n * sizeof *start) : NULL;
    if (rc == STELE_OK && n && !start) rc = util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
    if (start) roaring_bitmap_to_uint32_array(g->absent, start);
    if (rc == STELE_OK && n) rc = gi_walk(g, start, n, take_own, g->own);
    free(start);
    if (rc == STELE_OK && !g->cascade && !roaring_bitmap_is_empty(g->own))
        rc = gi_refuse_own(g);
    return rc == STELE_OK ? gi_deletes(g) : rc;
}

/* The ops in order: missing collections, nodes, edges; for a refresh then the deletes. */
static stele_status gi_build(gimport *g, json_t **created)
{
    stele_status rc = gi_build_colls(g, created);
    if (rc == STELE_OK) rc = gi_build_docs(g);
    if (rc == STELE_OK && g->refresh) rc = gi_build_deletes(g);
    return rc;
}

static void gi_release(gimport *g)
{
    json_decref(g->nodes);
    json_decref(g->edges);
    json_decref(g->seen);
    json_decref(g->colls);
    buf_release(&g->errors);
    for (size_t i = 0; i < g->nparts; i++) buf_release(&g->parts[i]);
    free(g->parts);
    if (g->absent) roaring_bitmap_free(g->absent); /* CRoaring 0.2 takes no NULL */
    if (g->own) roaring_bitmap_free(g->own);
    free(g->stack);
    free(g->links);
    free(g->groups);
}

/* The report of a checked input: the bad lines, or what was written. */
static stele_status gi_report(gimport *g, stele_status rc, uint64_t lsn, json_t *created,
                              buf *out)
{
    if (g->bad) {
        if (buf_printf(out, "{\"error_count\":%llu,\"errors\":[", (unsigned long long)g->bad) ||
            buf_append(out, g->errors.data, g->errors.len) || buf_append(out, "]}", 2))
            return util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
        return util_fail(&g->db->err, STELE_EINVAL, "%s: %llu bad line%s; nothing was "
                         "imported", g->what, (unsigned long long)g->bad,
                         g->bad == 1 ? "" : "s");
    }
    if (rc != STELE_OK) return rc;
    char *cs = json_dumps(created, JSON_COMPACT);
    uint64_t deleted = g->absent ? roaring_bitmap_get_cardinality(g->absent) : 0;
    uint64_t own = g->own ? roaring_bitmap_get_cardinality(g->own) : 0;
    STELE_ASSERT(g->inserted + g->replaced + g->unchanged ==
                 json_array_size(g->nodes) + json_array_size(g->edges));
    int bad = !cs || buf_printf(out, "{\"lsn\":%llu,\"documents\":%zu,\"edges\":%zu,"
                                     "\"records\":%zu,\"created_collections\":%s,"
                                     "\"inserted\":%llu,\"replaced\":%llu,"
                                     "\"unchanged\":%llu,\"deleted\":%llu,"
                                     "\"own_edges_deleted\":%llu}",
                                (unsigned long long)lsn, json_array_size(g->nodes),
                                json_array_size(g->edges), g->nparts, cs,
                                (unsigned long long)g->inserted,
                                (unsigned long long)g->replaced,
                                (unsigned long long)g->unchanged, (unsigned long long)deleted,
                                (unsigned long long)own);
    free(cs);
    return bad ? util_fail(&g->db->err, STELE_ENOMEM, "out of memory") : STELE_OK;
}

/* Both entry points: an import (refresh 0) or a refresh with its flags. */
static stele_status global_run(stele *db, const char *data, size_t len, int refresh,
                               unsigned flags, char **report)
{
    const char *what = refresh ? "global refresh" : "global import";
    stele_status rc = api_need_open(db);
    if (rc != STELE_OK) return rc;
    if (!data && len) return util_fail(&db->err, STELE_EINVAL, "%s: no data", what);
    if (flags & ~STELE_GLOBAL_CASCADE)
        return util_fail(&db->err, STELE_EINVAL, "%s: unknown flags 0x%x", what,
                         flags & ~STELE_GLOBAL_CASCADE);
    if (!db->primary)
        return util_fail(&db->err, STELE_EINVAL, "%s: global data is cached in the user's "
                         "primary database, not in '%s' (open the primary)", what,
                         db->db_name);
    if (db->read_only)
        return util_fail(&db->err, STELE_EACCESS, "%s: the handle is read-only", what);
    if (len > GLOBAL_BYTES_MAX)
        return util_fail(&db->err, STELE_ETOOBIG, "%s: %zu bytes is more than the %u-byte "
                         "limit of one import%s", what, len, GLOBAL_BYTES_MAX,
                         refresh ? " (a refresh needs the whole global data in one file)"
                                 : "; split the file");
    gimport g = {.db = db, .what = what, .refresh = refresh,
                 .cascade = (flags & STELE_GLOBAL_CASCADE) != 0, .nodes = json_array(),
                 .edges = json_array(), .seen = json_object(), .colls = json_object()};
    buf_init(&g.errors);
    buf out;
    buf_init(&out);
    json_t *created = NULL;
    uint64_t lsn = 0;
    if (!g.nodes || !g.edges || !g.seen || !g.colls)
        rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) gi_read(&g, data, len);
    if (rc == STELE_OK && !g.bad && refresh) gi_check_ends(&g);
    if (rc == STELE_OK && !g.bad) rc = gi_build(&g, &created);
    if (rc == STELE_OK && !g.bad && g.nparts)
        rc = api_parts_commit(db, g.parts, g.nparts, NULL, NULL, NULL, &lsn);
    if (rc == STELE_OK && lsn) (void)madj_compact(mstate_adj(db->docs)); /* bulk: re-pack */
    rc = gi_report(&g, rc, lsn, created, &out);
    json_decref(created);
    gi_release(&g);
    return api_import_report(db, rc, &out, report);
}

stele_status stele_global_import(stele *db, const char *data, size_t len, char **report)
{
    return global_run(db, data, len, 0, 0, report);
}

stele_status stele_global_refresh(stele *db, const char *data, size_t len, unsigned flags,
                                  char **report)
{
    return global_run(db, data, len, 1, flags, report);
}
