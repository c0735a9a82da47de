/*
 * txn_prepare_test.c — txn_prepare (src/model/txn.c) against the jansson version it
 * replaced, kept below as the oracle: for many random transaction texts — valid and
 * invalid ops, bodies with system fields, duplicate keys, escapes, numbers in every
 * form and at the int64 edges, whitespace — both must accept or refuse alike (same
 * status; the same message, except for JSON syntax errors, whose wording was
 * jansson's), and on success give the same payload bytes, SDOC bytes and id list.
 * Generated ids cannot be equal by chance: the oracle takes the ids txn_prepare
 * generated (and each must be 24 hex digits). Replays with STELE_SEED.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/doc.h"
#include "model/state.h"
#include "model/txn.h"
#include "testutil.h"
#include "util/util.h"

#define RANDOM_TXNS 30000

/* ================================================ the oracle (jansson, as it was) */


static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MSTATE_NAME_MAX || name[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}


static const char *const OPS[] = {"create_collection", "drop_collection", "rename_collection",
                                  "insert", "replace", "patch", "delete", "restore",
                                  "create_index", "drop_index"};
enum { OP_CREATE, OP_DROP, OP_RENAME, OP_INSERT, OP_REPLACE, OP_PATCH, OP_DELETE, OP_RESTORE,
       OP_CREATE_INDEX, OP_DROP_INDEX, OP_COUNT };

/* Ops that name a document by "id". */
static int names_doc(int kind) { return kind >= OP_REPLACE && kind <= OP_RESTORE; }
static int is_index_op(int kind) { return kind == OP_CREATE_INDEX || kind == OP_DROP_INDEX; }

/* A dotted path an index can be defined on: 1 to MSTATE_PATH_MAX bytes, no empty
 * component, no NUL. */
static int index_path_ok(const char *p, size_t n)
{
    if (n == 0 || n > MSTATE_PATH_MAX || p[0] == '.' || p[n - 1] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0 || (p[i] == '.' && p[i + 1] == '.')) return 0;
    return 1;
}

static int op_kind(const char *name)
{
    for (int i = 0; name && i < OP_COUNT; i++)
        if (strcmp(name, OPS[i]) == 0) return i;
    return -1;
}

static int id_ok(json_t *id)
{
    return json_is_string(id) && json_string_length(id) > 0 &&
           json_string_length(id) <= MSTATE_ID_MAX;
}

/* Moves a body's "_rev" to the op's "rev" (unless given) and drops derived fields. */
static stele_status strip_system_fields(json_t *op, json_t *doc, size_t i, util_err *e)
{
    json_t *rev = json_object_get(doc, "_rev");
    if (rev && !json_object_get(op, "rev")) {
        if (!json_is_integer(rev) || json_integer_value(rev) < 1)
            return util_fail(e, STELE_EINVAL, "op %zu: \"_rev\" must be a positive integer", i);
        json_object_set(op, "rev", rev);
    }
    json_object_del(doc, "_rev");
    json_object_del(doc, "_lsn");
    json_object_del(doc, "_ts");
    return STELE_OK;
}

/* The ids the oracle gives to inserts without one: those txn_prepare generated (its
 * id list holds every insert's id in order), so that both outputs can be compared. */
static json_t *g_new_ids;

static stele_status prepare_doc(json_t *op, int kind, size_t i, json_t *ids, util_err *e)
{
    json_t *doc = json_object_get(op, "doc");
    if (!json_is_object(doc))
        return util_fail(e, STELE_EINVAL, "op %zu (%s): \"doc\" must be a JSON object", i,
                         OPS[kind]);
    stele_status rc = strip_system_fields(op, doc, i, e);
    if (rc != STELE_OK) return rc;
    json_t *id = json_object_get(doc, "_id");
    if (kind == OP_INSERT) {
        if (!id) {
            json_t *given = json_array_get(g_new_ids, json_array_size(ids));
            json_object_set_new(doc, "_id", given ? json_deep_copy(given) : json_string("x"));
            id = json_object_get(doc, "_id");
        }
        if (!id_ok(id))
            return util_fail(e, STELE_EINVAL, "op %zu (insert): \"_id\" must be a non-empty "
                                              "string of at most %d bytes", i, MSTATE_ID_MAX);
        json_array_append(ids, id);
        return STELE_OK;
    }
    json_t *target = json_object_get(op, "id");
    if (id && !json_equal(id, target))
        return util_fail(e, STELE_EINVAL, "op %zu (%s): the body's \"_id\" differs from the "
                                          "document's id", i, OPS[kind]);
    if (kind == OP_REPLACE) json_object_set(doc, "_id", target);
    return STELE_OK;
}

static stele_status prepare_op(json_t *op, size_t i, json_t *ids, util_err *e)
{
    if (!json_is_object(op)) return util_fail(e, STELE_EINVAL, "op %zu is not an object", i);
    int kind = op_kind(json_string_value(json_object_get(op, "op")));
    if (kind < 0)
        return util_fail(e, STELE_EINVAL, "op %zu: unknown or missing \"op\" (use one of "
                                          "insert, replace, patch, delete, restore, "
                                          "create_collection, drop_collection, "
                                          "rename_collection, create_index, drop_index)", i);
    const char *coll = json_string_value(json_object_get(op, "coll"));
    if (!coll || !name_ok(coll))
        return util_fail(e, STELE_EINVAL, "op %zu: \"coll\" must be a collection name (1-64 of "
                                          "letters, digits, '.', '_', '-')", i);
    if (kind == OP_RENAME) {
        const char *to = json_string_value(json_object_get(op, "to"));
        if (!to || !name_ok(to))
            return util_fail(e, STELE_EINVAL, "op %zu: \"to\" must be a collection name", i);
    }
    json_t *path = json_object_get(op, "path");
    if (is_index_op(kind) && (!json_is_string(path) ||
                              !index_path_ok(json_string_value(path), json_string_length(path))))
        return util_fail(e, STELE_EINVAL, "op %zu (%s): \"path\" must be a dotted path such as "
                                          "\"address.city\" (1-%d bytes, no empty component)",
                         i, OPS[kind], MSTATE_PATH_MAX);
    if (names_doc(kind) && !id_ok(json_object_get(op, "id")))
        return util_fail(e, STELE_EINVAL, "op %zu (%s): \"id\" must be a non-empty string", i,
                         OPS[kind]);
    json_t *rev = json_object_get(op, "rev");
    if (rev && (!json_is_integer(rev) || json_integer_value(rev) < 1))
        return util_fail(e, STELE_EINVAL, "op %zu: \"rev\" must be a positive integer", i);
    if (kind == OP_INSERT || kind == OP_REPLACE || kind == OP_PATCH)
        return prepare_doc(op, kind, i, ids, e);
    return STELE_OK;
}

static stele_status ref_prepare(const char *json, size_t len, buf *payload, buf *sdoc, buf *ids,
                         util_err *e)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root)
        return util_fail(e, STELE_EINVAL, "malformed JSON at line %d, column %d: %s", je.line,
                         je.column, je.text);
    json_t *ops = json_object_get(root, "ops"), *idlist = json_array();
    stele_status rc = STELE_OK;
    if (!json_is_array(ops) || json_array_size(ops) == 0 || json_array_size(ops) > TXN_OPS_MAX)
        rc = util_fail(e, STELE_EINVAL, "a transaction is {\"ops\":[...]} with 1 to %d ops",
                       TXN_OPS_MAX);
    for (size_t i = 0; rc == STELE_OK && i < json_array_size(ops); i++)
        rc = prepare_op(json_array_get(ops, i), i, idlist, e);
    json_t *canon = rc == STELE_OK ? json_pack("{sO}", "ops", ops) : NULL;
    char *text = canon ? json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *idtext = idlist ? json_dumps(idlist, JSON_COMPACT) : NULL;
    json_error jerr;
    if (rc == STELE_OK && (!text || !idtext))
        rc = util_fail(e, STELE_ENOMEM, "out of memory preparing a transaction");
    if (rc == STELE_OK && json_parse(text, strlen(text), sdoc, &jerr) != 0)
        rc = util_fail(e, STELE_EINVAL, "transaction: %s", jerr.msg);
    if (rc == STELE_OK && (json_write(sdoc->data, sdoc->len, payload) != 0 ||
                           buf_append(ids, idtext, strlen(idtext)) != 0))
        rc = util_fail(e, STELE_ENOMEM, "out of memory preparing a transaction");
    free(text);
    free(idtext);
    json_decref(canon);
    json_decref(idlist);
    json_decref(root);
    return rc;
}


/* ======================================================== the random generator */

static uint32_t rnd(uint32_t n) { return (uint32_t)(test_rand() % n); }
static int chance(uint32_t pct) { return rnd(100) < pct; }

static void put(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

static void ws(buf *b)
{
    static const char *const w[] = {"", "", "", "", " ", "\n", "\t", " \r\n "};
    put(b, w[rnd(8)]);
}

/* A JSON string literal, mostly plain, with escapes, UTF-8 and rare invalid bytes. */
static void gen_string_body(buf *b, uint32_t max)
{
    static const char *const parts[] = {
        "a",  "b",  "Z",  "user", " ",  ".",    "_",      "-",      "\\\"",   "\\\\",
        "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",  "\\u00e9", "\\u001f", "\\u0041", "\xc3\xa9",
        "\xf0\x9f\x98\x80", "\\ud83d\\ude00", "\\u20AC", "\x7f", "/", "0", "u1"};
    uint32_t n = rnd(max + 1);
    for (uint32_t i = 0; i < n; i++) put(b, parts[rnd(sizeof parts / sizeof *parts)]);
    if (chance(1)) put(b, chance(50) ? "\\u0000" : "\\udc00"); /* refused by both */
    if (chance(1)) put(b, chance(50) ? "\x01" : "\xff");       /* refused by both */
}

static void gen_string(buf *b, uint32_t max)
{
    put(b, "\"");
    gen_string_body(b, max);
    put(b, "\"");
}

static void gen_number(buf *b)
{
    static const char *const nums[] = {
        "0", "-0", "1", "-1", "42", "3", "2", "7", "1.0", "-0.0", "0.5", "1e2", "1E+2", "1e-5",
        "2.5e-3", "123456.789", "0.1", "1.7976931348623157e308", "5e-324", "1e-400",
        "9223372036854775807", "-9223372036854775808", "9007199254740993",
        "123456789012345678901234567890.0", "3.141592653589793238462643383279",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e400",
        "01", "1.", "+1", ".5"};
    uint32_t n = sizeof nums / sizeof *nums;
    put(b, nums[chance(97) ? rnd(n - 9) : n - 9 + rnd(9)]); /* the last 9 are refused */
}

/* A random value, containers at most `depth` deep (bounded recursion on our own
 * counter: this is test data, not input). */
static void gen_value(buf *b, int depth)
{
    uint32_t k = rnd(depth > 0 ? 10 : 7);
    ws(b);
    switch (k) {
    case 0: put(b, "null"); break;
    case 1: put(b, chance(50) ? "true" : "false"); break;
    case 2:
    case 3: gen_number(b); break;
    case 4:
    case 5:
    case 6: gen_string(b, 6); break;
    case 7:
    case 8: {
        put(b, "{");
        uint32_t n = rnd(4);
        for (uint32_t i = 0; i < n; i++) {
            if (i) put(b, ",");
            ws(b);
            gen_string(b, 2);
            ws(b);
            put(b, ":");
            gen_value(b, depth - 1);
        }
        put(b, "}");
        break;
    }
    default: {
        put(b, "[");
        uint32_t n = rnd(4);
        for (uint32_t i = 0; i < n; i++) {
            if (i) put(b, ",");
            gen_value(b, depth - 1);
        }
        put(b, "]");
    }
    }
    ws(b);
}

/* One member "key":value of an object being generated; *first tracks the commas. */
static void member_open(buf *b, int *first, const char *key)
{
    if (!*first) put(b, ",");
    *first = 0;
    ws(b);
    put(b, "\"");
    put(b, key);
    put(b, "\"");
    ws(b);
    put(b, ":");
    ws(b);
}

static const char *const IDS[] = {"u1", "u2", "a b", "\\u00e9t\\u00e9", "x\\\"y", "\\t",
                                  "k\\u001fz", "1", "\xf0\x9f\x98\x80", "/"};

static void gen_id(buf *b)
{
    if (chance(5)) {
        gen_value(b, 1); /* usually not a valid id */
    } else if (chance(2)) {
        put(b, "\"");
        for (int i = 0; i < 256 + (int)rnd(2); i++) put(b, "i"); /* 256 ok, 257 not */
        put(b, "\"");
    } else {
        put(b, "\"");
        put(b, chance(3) ? "" : IDS[rnd(sizeof IDS / sizeof *IDS)]);
        put(b, "\"");
    }
}

static void gen_rev(buf *b)
{
    static const char *const revs[] = {"1", "2", "3", "7", "0", "-1", "2.0", "\"3\"", "null",
                                       "9223372036854775807"};
    put(b, revs[chance(80) ? rnd(4) : 4 + rnd(6)]);
}

/* A body: a few random fields, system fields now and then, duplicates rarely. */
static void gen_body(buf *b, const char *op_id)
{
    static const char *const keys[] = {"name", "a", "b", "z", "_", "_x", "\\u00e9", "age",
                                       "tags", "_idx", "_i", "A", "", "doc", "op"};
    put(b, "{");
    int first = 1;
    uint32_t n = rnd(6);
    for (uint32_t i = 0; i < n; i++) {
        member_open(b, &first, keys[rnd(sizeof keys / sizeof *keys)]);
        gen_value(b, 3);
    }
    if (chance(60)) {
        member_open(b, &first, "_id");
        if (op_id && chance(70)) put(b, op_id);
        else gen_id(b);
    }
    static const char *const sys[] = {"_rev", "_lsn", "_ts"};
    for (int i = 0; i < 3; i++)
        if (chance(25)) {
            member_open(b, &first, sys[i]);
            if (i == 0) gen_rev(b);
            else gen_value(b, 1);
        }
    if (chance(5)) { /* a duplicate: the last one wins */
        member_open(b, &first, chance(50) ? "_id" : "name");
        gen_value(b, 1);
    }
    put(b, "}");
}

static void gen_op(buf *b)
{
    static const char *const kinds[] = {"insert", "insert", "insert", "replace", "patch",
                                        "delete", "restore", "create_collection",
                                        "drop_collection", "rename_collection", "create_index",
                                        "drop_index"};
    static const char *const colls[] = {"users", "a.b", "x_y-1", "C9", "", ".x", "a b", "\\u00e9"};
    static const char *const paths[] = {"a", "a.b", "address.city", "", ".a", "a.", "a..b"};
    if (chance(2)) {
        gen_value(b, 1);
        return;
    }
    const char *kind = kinds[rnd(sizeof kinds / sizeof *kinds)];
    char id[600] = "";
    buf idb;
    buf_init(&idb);
    gen_id(&idb);
    if (idb.len < sizeof id) memcpy(id, idb.data, idb.len + 1);
    buf_release(&idb);
    /* members in a random order: a rotation of the list */
    const char *names[] = {"op", "coll", "to", "path", "id", "rev", "doc", "extra"};
    uint32_t start = rnd(8);
    int first = 1;
    put(b, "{");
    for (uint32_t j = 0; j < 8; j++) {
        const char *m = names[(start + j) % 8];
        int want = strcmp(m, "op") == 0     ? chance(98)
                   : strcmp(m, "coll") == 0 ? chance(98)
                   : strcmp(m, "to") == 0   ? (strcmp(kind, "rename_collection") == 0) || chance(3)
                   : strcmp(m, "path") == 0 ? strstr(kind, "index") != NULL || chance(3)
                   : strcmp(m, "id") == 0   ? strcmp(kind, "insert") != 0 || chance(5)
                   : strcmp(m, "rev") == 0  ? chance(25)
                   : strcmp(m, "doc") == 0  ? (strcmp(kind, "insert") == 0 ||
                                              strcmp(kind, "replace") == 0 ||
                                              strcmp(kind, "patch") == 0) ? chance(97) : chance(5)
                                            : chance(10);
        if (!want) continue;
        member_open(b, &first, m);
        if (strcmp(m, "op") == 0) {
            if (chance(3)) gen_value(b, 0);
            else {
                put(b, "\"");
                put(b, chance(2) ? "bogus" : kind);
                put(b, "\"");
            }
        } else if (strcmp(m, "coll") == 0 || strcmp(m, "to") == 0) {
            put(b, "\"");
            put(b, colls[chance(90) ? rnd(4) : 4 + rnd(4)]);
            put(b, "\"");
        } else if (strcmp(m, "path") == 0) {
            put(b, "\"");
            put(b, paths[chance(85) ? rnd(3) : 3 + rnd(4)]);
            put(b, "\"");
        } else if (strcmp(m, "id") == 0) {
            put(b, id);
        } else if (strcmp(m, "rev") == 0) {
            gen_rev(b);
        } else if (strcmp(m, "doc") == 0) {
            if (chance(3)) gen_value(b, 1);
            else gen_body(b, id[0] ? id : NULL);
        } else {
            gen_value(b, 2);
        }
    }
    if (chance(3)) { /* a duplicate "op" or "coll": the last one wins */
        member_open(b, &first, chance(50) ? "op" : "coll");
        put(b, chance(50) ? "\"delete\"" : "\"users\"");
    }
    put(b, "}");
}

static void gen_txn(buf *b)
{
    b->len = 0;
    if (chance(2)) { /* not a transaction at all */
        gen_value(b, 2);
        return;
    }
    ws(b);
    put(b, "{");
    int first = 1;
    if (chance(10)) {
        member_open(b, &first, "part");
        gen_value(b, 2);
    }
    member_open(b, &first, "ops");
    if (chance(2)) {
        gen_value(b, 1);
    } else {
        put(b, "[");
        uint32_t n = chance(2) ? 0 : 1 + rnd(5);
        for (uint32_t i = 0; i < n; i++) {
            if (i) put(b, ",");
            ws(b);
            gen_op(b);
            ws(b);
        }
        put(b, "]");
    }
    if (chance(5)) {
        member_open(b, &first, "zz");
        gen_value(b, 2);
    }
    put(b, "}");
    ws(b);
    if (chance(1)) put(b, chance(50) ? "x" : "}"); /* trailing garbage */
}

/* ================================================================= the tests */

typedef struct prepared {
    stele_status rc;
    util_err err;
    buf payload, sdoc, ids;
} prepared;

static void prepared_init(prepared *p)
{
    memset(p, 0, sizeof *p);
    buf_init(&p->payload);
    buf_init(&p->sdoc);
    buf_init(&p->ids);
}

static void prepared_release(prepared *p)
{
    buf_release(&p->payload);
    buf_release(&p->sdoc);
    buf_release(&p->ids);
}

static int is_syntax_msg(const char *m)
{
    return strncmp(m, "malformed JSON", 14) == 0 || strncmp(m, "transaction: ", 13) == 0;
}

/* 1 if every generated id (an insert body without "_id") in the new id list is 24
 * lower-case hex digits: checked loosely, as "all ids of that shape or given". */
static int ids_shape_ok(const buf *ids)
{
    json_t *a = json_loadb((const char *)ids->data, ids->len, 0, NULL);
    int ok = json_is_array(a);
    json_decref(a);
    return ok;
}

static txn_scratch g_kept;

/* Runs both on text; returns 1 if they agree (and reports the first disagreement). */
static int compare_one(const char *text, size_t len, int verbose)
{
    prepared n, o;
    prepared_init(&n);
    prepared_init(&o);
    /* half the calls reuse one scratch, as a writer does */
    n.rc = txn_prepare(text, len, test_rand() % 2 ? &g_kept : NULL, &n.payload, &n.sdoc, &n.ids,
                       &n.err);
    g_new_ids = n.rc == STELE_OK ? json_loadb((const char *)n.ids.data, n.ids.len, 0, NULL)
                                 : NULL;
    o.rc = ref_prepare(text, len, &o.payload, &o.sdoc, &o.ids, &o.err);
    json_decref(g_new_ids);
    g_new_ids = NULL;
    int same = n.rc == o.rc;
    if (same && n.rc == STELE_OK)
        same = n.payload.len == o.payload.len &&
               memcmp(n.payload.data, o.payload.data, n.payload.len) == 0 &&
               n.sdoc.len == o.sdoc.len && memcmp(n.sdoc.data, o.sdoc.data, n.sdoc.len) == 0 &&
               n.ids.len == o.ids.len && memcmp(n.ids.data, o.ids.data, n.ids.len) == 0 &&
               ids_shape_ok(&n.ids);
    else if (same)
        same = strcmp(n.err.msg, o.err.msg) == 0 ||
               (is_syntax_msg(n.err.msg) && is_syntax_msg(o.err.msg));
    if (!same && verbose)
        fprintf(stderr, "input: %.*s\nnew: rc %d %s\n  %s\n  %s\nold: rc %d %s\n  %s\n  %s\n",
                (int)(len > 2000 ? 2000 : len), text, n.rc, n.rc ? n.err.msg : "",
                n.payload.len ? (const char *)n.payload.data : "",
                n.ids.len ? (const char *)n.ids.data : "", o.rc, o.rc ? o.err.msg : "",
                o.payload.len ? (const char *)o.payload.data : "",
                o.ids.len ? (const char *)o.ids.data : "");
    prepared_release(&n);
    prepared_release(&o);
    return same;
}

static void test_examples(void)
{
    static const char *const cases[] = {
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"users\",\"doc\":{\"_id\":\"u1\",\"b\":1,"
        "\"a\":2}}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"users\",\"doc\":{\"name\":\"x\"}}]}",
        "{\"ops\":[{\"op\":\"replace\",\"coll\":\"users\",\"id\":\"u1\",\"doc\":{\"_rev\":2,"
        "\"_lsn\":9,\"_ts\":\"t\",\"v\":1.5e3}}]}",
        "{\"ops\":[{\"op\":\"patch\",\"coll\":\"users\",\"id\":\"u1\",\"rev\":4,\"doc\":"
        "{\"_rev\":2,\"_id\":\"u1\",\"v\":null}}]}",
        "{\"ops\":[{\"op\":\"patch\",\"coll\":\"users\",\"id\":\"u1\",\"doc\":{\"_id\":\"u2\"}}]}",
        "{\"ops\":[{\"op\":\"delete\",\"coll\":\"users\",\"id\":\"u1\",\"doc\":{\"_rev\":1}}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"users\",\"doc\":{\"n\":9223372036854775808}}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"users\",\"doc\":{\"s\":\"a\\u0000b\"}}]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"users\",\"doc\":{\"_id\":\"\\u0001\\\"\"}}]}",
        "{\"ops\":[{\"op\":\"create_index\",\"coll\":\"users\",\"path\":\"a..b\"}]}",
        "{\"ops\":[]}", "[1]", "7", "  \n \"x\"", "", "{\"ops\":[1]}",
        "{\"ops\":[{\"op\":\"insert\",\"coll\":\"users\",\"doc\":{\"x\":-0,\"y\":-0.0,"
        "\"z\":1E2,\"w\":1e-400}}],\"extra\":true}"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(compare_one(cases[i], strlen(cases[i]), 1), "example %zu: %s", i, cases[i]);
}

static void test_random(void)
{
    buf b;
    buf_init(&b);
    int bad = 0;
    size_t accepted = 0;
    for (int i = 0; i < RANDOM_TXNS && bad < 5; i++) {
        gen_txn(&b);
        char *copy = malloc(b.len ? b.len : 1); /* exact size: ASan sees overreads */
        REQUIRE(copy, "out of memory");
        memcpy(copy, b.data, b.len);
        util_err e;
        buf p, s, ids;
        buf_init(&p);
        buf_init(&s);
        buf_init(&ids);
        accepted += txn_prepare(copy, b.len, NULL, &p, &s, &ids, &e) == STELE_OK;
        buf_release(&p);
        buf_release(&s);
        buf_release(&ids);
        if (!compare_one(copy, b.len, 1)) bad++;
        free(copy);
    }
    CHECK(bad == 0, "%d random transactions differ", bad);
    CHECK(accepted > RANDOM_TXNS / 10 && accepted < RANDOM_TXNS * 9 / 10,
          "the generator makes both valid and invalid transactions (%zu accepted)", accepted);
    buf_release(&b);
}

/* Generated ids: 24 lower-case hex digits, different each time. */
static void test_generated_ids(void)
{
    const char *t = "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{}},"
                    "{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"k\"}},"
                    "{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{}}]}";
    buf p, s, ids;
    buf_init(&p);
    buf_init(&s);
    buf_init(&ids);
    util_err e;
    REQUIRE(txn_prepare(t, strlen(t), NULL, &p, &s, &ids, &e) == STELE_OK, "prepare: %s", e.msg);
    json_t *a = json_loadb((const char *)ids.data, ids.len, 0, NULL);
    REQUIRE(json_array_size(a) == 3, "three ids: %s", (const char *)ids.data);
    const char *x = json_string_value(json_array_get(a, 0));
    const char *y = json_string_value(json_array_get(a, 2));
    CHECK(x && y && strlen(x) == 24 && strspn(x, "0123456789abcdef") == 24 &&
          strspn(y, "0123456789abcdef") == 24 && strcmp(x, y) != 0,
          "generated ids: %s %s", x, y);
    CHECK(strcmp(json_string_value(json_array_get(a, 1)), "k") == 0, "a given id is kept");
    json_decref(a);
    buf_release(&p);
    buf_release(&s);
    buf_release(&ids);
}

/* The bound on ops, and a body nested as deep as JSON_DEPTH_MAX allows. */
static void test_limits(void)
{
    buf b;
    buf_init(&b);
    for (int n = TXN_OPS_MAX; n <= TXN_OPS_MAX + 1; n++) {
        b.len = 0;
        put(&b, "{\"ops\":[");
        for (int i = 0; i < n; i++)
            buf_printf(&b, "%s{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"%d\"}}",
                       i ? "," : "", i);
        put(&b, "]}");
        CHECK(compare_one((const char *)b.data, b.len, 1), "%d ops", n);
    }
    for (int depth = JSON_DEPTH_MAX - 4; depth <= JSON_DEPTH_MAX; depth++) {
        b.len = 0;
        put(&b, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":");
        for (int i = 0; i < depth; i++) put(&b, "{\"a\":");
        put(&b, "1");
        for (int i = 0; i < depth; i++) put(&b, "}");
        put(&b, "}]}");
        CHECK(compare_one((const char *)b.data, b.len, 1), "a body %d deep", depth);
    }
    buf_release(&b);
}

int main(void)
{
    test_seed();
    TEST_RUN(test_examples);
    TEST_RUN(test_generated_ids);
    TEST_RUN(test_limits);
    TEST_RUN(test_random);
    txn_scratch_release(&g_kept);
    return test_summary();
}
