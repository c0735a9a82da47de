/*
 * global.c — cached global data: stele_global_import (include/stele.h "Global data",
 * docs/GRAPH.md "Global data"). Layer: api (uses io.c's multi-part commit).
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
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/docs_int.h"
#include "ledger/format.h"
#include "model/state.h"
#include "model/txn.h"

#define GLOBAL_BYTES_MAX (1u << 30) /* the whole input is held in memory */
#define GLOBAL_PART_BYTES (1u << 20) /* payload of one record (a multi-part txn beyond) */
#define GLOBAL_ERRORS_MAX 100u       /* bad lines listed in the report */
#define GLOBAL_LINES_MAX (1u << 26)  /* bound on the input loop */
#define GLOBAL_OP_SUFFIX 128u        /* room for the multi-part fields of a part */

typedef struct gimport {
    stele *db;
    json_t *nodes, *edges; /* arrays of ops, in input order */
    json_t *seen;          /* "coll/_id" -> line of its first use */
    json_t *colls;         /* collections to create: name -> true */
    buf errors;            /* kept error objects, comma-separated */
    uint64_t bad;
    buf *parts;            /* payload texts */
    size_t nparts, capparts;
    uint32_t part_ops;
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
    if (!op || json_object_set_new(json_object_get(op, "doc"), "_origin",
                                   json_string("global")) != 0 ||
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

/* The ops in order: missing collections, nodes, edges. */
static stele_status gi_build(gimport *g, json_t **created)
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
    json_t *lists[2] = {g->nodes, g->edges};
    for (int l = 0; l < 2 && !bad; l++) {
        size_t i;
        json_array_foreach(lists[l], i, v) {
            int r = bad ? 0 : gi_add(g, v);
            if (r == -2)
                return util_fail(&g->db->err, STELE_ETOOBIG, "global import: a document is "
                                 "too large for one ledger record (%u bytes)",
                                 LEDGER_PAYLOAD_MAX);
            bad = bad || r != 0;
        }
    }
    return bad ? util_fail(&g->db->err, STELE_ENOMEM, "out of memory") : STELE_OK;
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
}

/* The report of a checked input: the bad lines, or what was written. */
static stele_status gi_report(gimport *g, stele_status rc, uint64_t lsn, json_t *created,
                              buf *out)
{
    if (g->bad) {
        if (buf_printf(out, "{\"error_count\":%llu,\"errors\":[", (unsigned long long)g->bad) ||
            buf_append(out, g->errors.data, g->errors.len) || buf_append(out, "]}", 2))
            return util_fail(&g->db->err, STELE_ENOMEM, "out of memory");
        return util_fail(&g->db->err, STELE_EINVAL, "global import: %llu bad line%s; nothing "
                         "was imported", (unsigned long long)g->bad, g->bad == 1 ? "" : "s");
    }
    if (rc != STELE_OK) return rc;
    char *cs = json_dumps(created, JSON_COMPACT);
    int bad = !cs || buf_printf(out, "{\"lsn\":%llu,\"documents\":%zu,\"edges\":%zu,"
                                     "\"records\":%zu,\"created_collections\":%s}",
                                (unsigned long long)lsn, json_array_size(g->nodes),
                                json_array_size(g->edges), g->nparts, cs);
    free(cs);
    return bad ? util_fail(&g->db->err, STELE_ENOMEM, "out of memory") : STELE_OK;
}

stele_status stele_global_import(stele *db, const char *data, size_t len, char **report)
{
    stele_status rc = api_need_open(db);
    if (rc != STELE_OK) return rc;
    if (!data && len) return util_fail(&db->err, STELE_EINVAL, "global import: no data");
    if (!db->primary)
        return util_fail(&db->err, STELE_EINVAL, "global import: global data is cached in the "
                         "user's primary database, not in '%s' (open the primary)",
                         db->db_name);
    if (db->read_only) return util_fail(&db->err, STELE_EACCESS, "global import: the handle "
                                        "is read-only");
    if (len > GLOBAL_BYTES_MAX)
        return util_fail(&db->err, STELE_ETOOBIG, "global import: %zu bytes is more than the "
                         "%u-byte limit of one import; split the file", len, GLOBAL_BYTES_MAX);
    gimport g = {.db = db, .nodes = json_array(), .edges = json_array(),
                 .seen = json_object(), .colls = json_object()};
    buf_init(&g.errors);
    buf out;
    buf_init(&out);
    json_t *created = NULL;
    uint64_t lsn = 0;
    if (!g.nodes || !g.edges || !g.seen || !g.colls)
        rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) gi_read(&g, data, len);
    if (rc == STELE_OK && !g.bad) rc = gi_build(&g, &created);
    if (rc == STELE_OK && !g.bad && g.nparts)
        rc = api_parts_commit(db, g.parts, g.nparts, NULL, NULL, NULL, &lsn);
    if (rc == STELE_OK && lsn) (void)madj_compact(mstate_adj(db->docs)); /* bulk: re-pack */
    rc = gi_report(&g, rc, lsn, created, &out);
    json_decref(created);
    gi_release(&g);
    return api_import_report(db, rc, &out, report);
}
