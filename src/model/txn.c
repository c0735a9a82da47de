/*
 * txn.c — document transactions: prepare (caller's JSON → canonical ops) and apply
 * (ops → versioned state). See txn.h for the text form. Layer: model.
 *
 * Prepare parses the caller's text once into SDOC and builds the canonical SDOC from
 * it (see "prepare" below); apply reads the SDOC form with the bounds-checked readers
 * of doc.h and uses jansson only for RFC 7386 merge patches. Apply never trusts the
 * shapes of its input: every op is checked again, because it also runs when replaying
 * the log.
 */
#include "model/txn.h"

#include <jansson.h>
#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "model/doc_int.h"
#include "model/edges.h"

static int name_ok(const char *name) { return mstate_name_ok(name, strlen(name)); }

static const char *const OPS[] = {"create_collection", "drop_collection", "rename_collection",
                                  "insert", "replace", "patch", "delete", "restore",
                                  "create_index", "drop_index"};
enum { OP_CREATE, OP_DROP, OP_RENAME, OP_INSERT, OP_REPLACE, OP_PATCH, OP_DELETE, OP_RESTORE,
       OP_CREATE_INDEX, OP_DROP_INDEX, OP_COUNT };

/* Ops that name a document by "id". */
static int names_doc(int kind) { return kind >= OP_REPLACE && kind <= OP_RESTORE; }
static int is_index_op(int kind) { return kind == OP_CREATE_INDEX || kind == OP_DROP_INDEX; }
static int has_body(int kind)
{
    return kind == OP_INSERT || kind == OP_REPLACE || kind == OP_PATCH;
}

/* A dotted path an index can be defined on: 1 to MSTATE_PATH_MAX bytes, no empty
 * component, no NUL. */
static int index_path_ok(const char *p, size_t n)
{
    if (n == 0 || n > MSTATE_PATH_MAX || p[0] == '.' || p[n - 1] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0 || (p[i] == '.' && p[i + 1] == '.')) return 0;
    return 1;
}

/* ---- index kinds and full-text languages ---- */

/* 1 if k[0, kn) is the literal lit. */
static int key_is(const char *k, size_t kn, const char *lit)
{
    return kn == strlen(lit) && memcmp(k, lit, kn) == 0;
}


/* Bound on the walk of libstemmer's list (Debian 12's has 29 names). */
#define LANG_LIST_MAX 256

int txn_lang_known(const char *name)
{
    const char **list = sb_stemmer_list();
    for (size_t i = 0; name && list && list[i] && i < LANG_LIST_MAX; i++)
        if (strcmp(list[i], name) == 0) return 1;
    return 0;
}

void txn_lang_names(char *out, size_t cap)
{
    STELE_ASSERT(out && cap > 0);
    const char **list = sb_stemmer_list();
    out[0] = 0;
    for (size_t i = 0; list && list[i] && i < LANG_LIST_MAX; i++) {
        size_t at = strlen(out);
        snprintf(out + at, cap - at, "%s%s", at ? ", " : "", list[i]);
    }
}

/* The optional "kind" ("value", the default, or "text") and "language" (create_index
 * of a text index only; default "english") of an index op into *ikind and lang.
 * STELE_EINVAL naming op i otherwise. */
static stele_status index_kind_of(doc_view op, int kind, size_t i, int *ikind,
                                  char lang[MSTATE_LANG_MAX + 1], util_err *e)
{
    doc_view v;
    const char *str = NULL;
    size_t n = 0;
    int has_kind = doc_get(op.p, op.len, "kind", 4, &v) == 1;
    if (has_kind && doc_string(v, &str, &n) != 0) str = NULL;
    *ikind = !has_kind || (str && key_is(str, n, "value")) ? MSTATE_INDEX_VALUE
             : str && key_is(str, n, "text")               ? MSTATE_INDEX_TEXT
                                                           : -1;
    if (*ikind < 0)
        return util_fail(e, STELE_EINVAL, "op %zu (%s): \"kind\" must be \"value\" or \"text\"",
                         i, OPS[kind]);
    int creates_text = *ikind == MSTATE_INDEX_TEXT && kind == OP_CREATE_INDEX;
    util_strlcpy(lang, creates_text ? "english" : "", MSTATE_LANG_MAX + 1);
    if (doc_get(op.p, op.len, "language", 8, &v) != 1) return STELE_OK;
    if (!creates_text)
        return util_fail(e, STELE_EINVAL, "op %zu (%s): \"language\" belongs to a create_index "
                                          "op with \"kind\":\"text\"", i, OPS[kind]);
    int named = doc_string(v, &str, &n) == 0 && n > 0 && n <= MSTATE_LANG_MAX;
    if (named) {
        memcpy(lang, str, n);
        lang[n] = 0;
    }
    if (named && memchr(str, 0, n) == NULL && txn_lang_known(lang)) return STELE_OK;
    char names[1024];
    txn_lang_names(names, sizeof names);
    return util_fail(e, STELE_EINVAL, "op %zu (create_index): unknown full-text language "
                                      "'%.*s' (use one of: %s)", i, named ? (int)n : 0,
                     named ? str : "", names);
}

static int op_kind_n(const char *name, size_t n)
{
    for (int i = 0; name && i < OP_COUNT; i++)
        if (strlen(OPS[i]) == n && memcmp(name, OPS[i], n) == 0) return i;
    return -1;
}

static int op_kind(const char *name) { return name ? op_kind_n(name, strlen(name)) : -1; }

/* ------------------------------------------------------------------ prepare */

/*
 * Prepare reads the caller's text with json_parse under the rules it had when jansson
 * read it (integers within int64, no \u0000) and builds the canonical SDOC directly:
 * the members of each op and of its body are copied from the parsed input as SDOC
 * bytes, except what prepare changes — a body's "_rev" becomes the op's "rev" (unless
 * given), "_rev", "_lsn" and "_ts" leave the body, an insert without "_id" gets a
 * generated one and a replace's body gets the op's "id". The payload is that SDOC
 * written as JSON. tests/unit/txn_prepare_test.c checks, on many random transactions,
 * that this gives the bytes of the jansson version it replaced (kept there as the
 * oracle): old logs and new ones hold the same text for the same input.
 */

typedef struct prep {
    buf *out;                  /* the SDOC being built */
    buf *ids;                  /* JSON array text of the inserts' ids */
    size_t nids;
    doc_member *op, *body;     /* members of the current op and of its body */
    size_t nop, capop, nbody, capbody;
    uint8_t gen_id[SDOC_STR_HDR + 24]; /* a generated "_id", as an SDOC string */
} prep;

/* A valid document id: a string of 1 to MSTATE_ID_MAX bytes. */
static int id_view_ok(doc_view v)
{
    const char *s;
    size_t n;
    return doc_string(v, &s, &n) == 0 && n > 0 && n <= MSTATE_ID_MAX;
}

/* The members prepare reads, of an op or of a body, found in one pass (each absent
 * one has a NULL view). */
enum { F_OP, F_COLL, F_TO, F_PATH, F_ID, F_REV, F_DOC, /* op */
       F_BID, F_BREV, F_BLSN, F_BTS, /* body: "_id", "_rev", "_lsn", "_ts" */
       F_COUNT };
static const char *const FIELD_KEYS[F_COUNT] = {"op", "coll", "to", "path", "id", "rev", "doc",
                                                "_id", "_rev", "_lsn", "_ts"};

static void fields_of(doc_view o, int from, int to, doc_view *f)
{
    memset(f + from, 0, (size_t)(to - from) * sizeof *f);
    uint32_t n;
    if (doc_count(o, &n) != 0) return;
    for (uint32_t k = 0; k < n; k++) {
        const char *key;
        size_t kn;
        doc_view v;
        if (doc_member_at(o.p, o.len, k, &key, &kn, &v) != 1) return;
        for (int i = from; i < to; i++)
            if (key_is(key, kn, FIELD_KEYS[i])) f[i] = v;
    }
}

static int field_str(const doc_view *f, int i, const char **s, size_t *n)
{
    return f[i].p && doc_string(f[i], s, n) == 0;
}

/* Appends m to the member array *arr, at its place in key order if `sorted`. */
static int member_add(doc_member **arr, size_t *n, size_t *cap, const doc_member *m, int sorted)
{
    if (util_grow((void **)arr, cap, *n + 1, sizeof **arr) != 0) return -1;
    size_t at = *n;
    while (sorted && at > 0 && doc_key_cmp((*arr)[at - 1].key, (*arr)[at - 1].klen, m->key,
                                           m->klen) > 0)
        at--;
    memmove(*arr + at + 1, *arr + at, (*n - at) * sizeof **arr);
    (*arr)[at] = *m;
    (*n)++;
    return 0;
}

/* The members of object o into *arr, but those with the keys of f[drop_from, drop_to)
 * (views into o) and the member `replace` (if not NULL), whose value becomes *with. */
static int members_copy(doc_view o, doc_member **arr, size_t *n, size_t *cap,
                        const doc_view *f, int drop_from, int drop_to, const char *replace,
                        const doc_member *with)
{
    uint32_t count;
    *n = 0;
    doc_count(o, &count);
    for (uint32_t k = 0; k < count; k++) {
        doc_member m = {0};
        size_t kn;
        doc_view v;
        int got = doc_member_at(o.p, o.len, k, &m.key, &kn, &v);
        STELE_ASSERT(got == 1); /* parsed by json_parse */
        int drop = 0;
        for (int i = drop_from; i < drop_to; i++) drop |= f[i].p == v.p;
        if (drop) continue;
        m.klen = (uint32_t)kn;
        m.val = v.p;
        m.vlen = v.len;
        if (member_add(arr, n, cap, replace && key_is(m.key, kn, replace) ? with : &m, 0) != 0)
            return -1;
    }
    return 0;
}

/* Appends an id to the JSON array text of ids, escaped as jansson's json_dumps did
 * (\" \\ \b \f \n \r \t, \u00XX in upper-case hex for other control bytes). */
static int ids_add(prep *P, doc_view id)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *s;
    size_t n;
    int is_str = doc_string(id, &s, &n) == 0;
    STELE_ASSERT(is_str); /* id_view_ok */
    int first = P->nids++ == 0;
    if (buf_append(P->ids, first ? "\"" : ",\"", first ? 1 : 2) != 0) return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        char e[6] = {'\\', 0, 0, 0, 0, 0};
        size_t en = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            en = 6;
        }
        if (buf_append(P->ids, s + run, i - run) != 0 || buf_append(P->ids, e, en) != 0)
            return -1;
        run = i + 1;
    }
    return buf_append(P->ids, s + run, n - run) || buf_append(P->ids, "\"", 1) ? -1 : 0;
}

/* The checks of one op that do not concern its body, in the order of their messages. */
static stele_status prep_check(doc_view op, const doc_view *f, size_t i, int *kind,
                               util_err *e)
{
    const char *s;
    size_t n;
    if (doc_type(op) != SDOC_OBJECT)
        return util_fail(e, STELE_EINVAL, "op %zu is not an object", i);
    *kind = field_str(f, F_OP, &s, &n) ? op_kind_n(s, n) : -1;
    if (*kind < 0)
        return util_fail(e, STELE_EINVAL, "op %zu: unknown or missing \"op\" (use one of "
                                          "insert, replace, patch, delete, restore, "
                                          "create_collection, drop_collection, "
                                          "rename_collection, create_index, drop_index)", i);
    if (!field_str(f, F_COLL, &s, &n) || !mstate_name_ok(s, n))
        return util_fail(e, STELE_EINVAL, "op %zu: \"coll\" must be a collection name (1-64 of "
                                          "letters, digits, '.', '_', '-')", i);
    if (*kind == OP_RENAME && (!field_str(f, F_TO, &s, &n) || !mstate_name_ok(s, n)))
        return util_fail(e, STELE_EINVAL, "op %zu: \"to\" must be a collection name", i);
    if (is_index_op(*kind) && (!field_str(f, F_PATH, &s, &n) || !index_path_ok(s, n)))
        return util_fail(e, STELE_EINVAL, "op %zu (%s): \"path\" must be a dotted path such as "
                                          "\"address.city\" (1-%d bytes, no empty component)",
                         i, OPS[*kind], MSTATE_PATH_MAX);
    int ikind;
    char lang[MSTATE_LANG_MAX + 1];
    stele_status rc = is_index_op(*kind) ? index_kind_of(op, *kind, i, &ikind, lang, e) : STELE_OK;
    if (rc != STELE_OK) return rc;
    if (names_doc(*kind) && (!f[F_ID].p || !id_view_ok(f[F_ID])))
        return util_fail(e, STELE_EINVAL, "op %zu (%s): \"id\" must be a non-empty string", i,
                         OPS[*kind]);
    int64_t rev;
    if (f[F_REV].p && (doc_int64(f[F_REV], &rev) != 0 || rev < 1))
        return util_fail(e, STELE_EINVAL, "op %zu: \"rev\" must be a positive integer", i);
    return STELE_OK;
}

/* The "_id" a body gets: *id (given or generated) for an insert, after its checks; for
 * a replace or patch, a given one must be the op's id, and a replace always has it. */
static stele_status prep_body_id(prep *P, const doc_view *f, int kind, size_t i, doc_view *id,
                                 int *add, util_err *e)
{
    *id = f[F_BID];
    *add = 0;
    if (kind == OP_INSERT) {
        if (!id->p) {
            uint8_t r[12];
            char hex[25];
            crypto_random(r, sizeof r);
            crypto_hex(r, sizeof r, hex);
            P->gen_id[0] = SDOC_STRING;
            put_u32(P->gen_id + 1, 24);
            memcpy(P->gen_id + SDOC_STR_HDR, hex, 24);
            *id = (doc_view){P->gen_id, sizeof P->gen_id};
            *add = 1;
        }
        if (!id_view_ok(*id))
            return util_fail(e, STELE_EINVAL, "op %zu (insert): \"_id\" must be a non-empty "
                                              "string of at most %d bytes", i, MSTATE_ID_MAX);
        return ids_add(P, *id) != 0 ? util_fail(e, STELE_ENOMEM, "out of memory") : STELE_OK;
    }
    doc_view target = f[F_ID];
    STELE_ASSERT(target.p); /* prep_check */
    if (id->p && (id->len != target.len || memcmp(id->p, target.p, id->len) != 0))
        return util_fail(e, STELE_EINVAL, "op %zu (%s): the body's \"_id\" differs from the "
                                          "document's id", i, OPS[kind]);
    *add = !id->p && kind == OP_REPLACE;
    *id = target;
    return STELE_OK;
}

/* The body of an insert, replace or patch: *changed says whether prepare changes it;
 * if so, its new members are in P->body. *rev_moved: its "_rev" becomes the op's "rev"
 * (f[F_BREV]). */
static stele_status prep_body(prep *P, doc_view body, doc_view *f, int kind, size_t i,
                              int *changed, int *rev_moved, util_err *e)
{
    int64_t r;
    doc_view id;
    int add_id;
    fields_of(body, F_BID, F_COUNT, f);
    *rev_moved = f[F_BREV].p && !f[F_REV].p;
    if (*rev_moved && (doc_int64(f[F_BREV], &r) != 0 || r < 1))
        return util_fail(e, STELE_EINVAL, "op %zu: \"_rev\" must be a positive integer", i);
    stele_status rc = prep_body_id(P, f, kind, i, &id, &add_id, e);
    if (rc != STELE_OK) return rc;
    *changed = add_id || f[F_BREV].p || f[F_BLSN].p || f[F_BTS].p;
    if (!*changed) return STELE_OK; /* the usual case: the body's bytes stay as they are */
    doc_member m = {.key = "_id", .klen = 3, .val = id.p, .vlen = id.len};
    if (members_copy(body, &P->body, &P->nbody, &P->capbody, f, F_BREV, F_COUNT, NULL, NULL) ||
        (add_id && member_add(&P->body, &P->nbody, &P->capbody, &m, 1) != 0))
        return util_fail(e, STELE_ENOMEM, "out of memory");
    return STELE_OK;
}

/* Appends SDOC bytes to P->out. */
static stele_status prep_put(prep *P, const uint8_t *p, size_t n, util_err *e)
{
    if (buf_append(P->out, p, n) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory preparing a transaction");
    return STELE_OK;
}

/* Checks op i and appends its canonical form to P->out: the op's own bytes when
 * prepare changes nothing in it (the usual case), else the op rebuilt. */
static stele_status prep_op(prep *P, doc_view op, size_t i, util_err *e)
{
    int kind = -1, changed = 0, rev_moved = 0;
    doc_view f[F_COUNT];
    fields_of(op, F_OP, F_BID, f);
    stele_status rc = prep_check(op, f, i, &kind, e);
    if (rc == STELE_OK && has_body(kind) && (!f[F_DOC].p || doc_type(f[F_DOC]) != SDOC_OBJECT))
        rc = util_fail(e, STELE_EINVAL, "op %zu (%s): \"doc\" must be a JSON object", i,
                       OPS[kind]);
    if (rc == STELE_OK && has_body(kind))
        rc = prep_body(P, f[F_DOC], f, kind, i, &changed, &rev_moved, e);
    if (rc != STELE_OK) return rc;
    if (!changed) return prep_put(P, op.p, op.len, e);
    doc_member body = {.key = "doc", .klen = 3, .sub = P->body, .nsub = P->nbody,
                       .vlen = (size_t)doc_obj_size(P->body, P->nbody)};
    doc_member rev = {.key = "rev", .klen = 3, .val = f[F_BREV].p, .vlen = f[F_BREV].len};
    if (members_copy(op, &P->op, &P->nop, &P->capop, f, 0, 0, "doc", &body) != 0 ||
        (rev_moved && member_add(&P->op, &P->nop, &P->capop, &rev, 1) != 0))
        return util_fail(e, STELE_ENOMEM, "out of memory");
    uint64_t size = doc_obj_size(P->op, P->nop);
    if (size > SDOC_MAX || buf_reserve(P->out, (size_t)size) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory preparing a transaction");
    doc_obj_put(P->out->data + P->out->len, P->op, P->nop);
    P->out->len += (size_t)size;
    return STELE_OK;
}

/* {"ops":[...]} around the ops written by prep_op: the header before them is written
 * with zero sizes, filled in here once the ops are in (root at P->out->data + at). */
enum { PREP_ROOT_HDR = SDOC_CONT_HDR + 8 + 4 + 3, PREP_ARR_HDR = SDOC_CONT_HDR };

static int prep_open(prep *P, uint32_t nops)
{
    size_t need = PREP_ROOT_HDR + PREP_ARR_HDR + 4 * (size_t)nops;
    if (buf_reserve(P->out, need) != 0) return -1;
    uint8_t *w = P->out->data + P->out->len;
    memset(w, 0, need);
    w[0] = SDOC_OBJECT;
    put_u32(w + 5, 1);
    put_u32(w + 13, 7); /* the value after the key "ops" (4 + 3 bytes) */
    put_u32(w + 17, 3);
    memcpy(w + 21, "ops", 3);
    w[PREP_ROOT_HDR] = SDOC_ARRAY;
    put_u32(w + PREP_ROOT_HDR + 5, nops);
    P->out->len += need;
    return 0;
}

static void prep_close(prep *P, size_t at, uint32_t nops)
{
    uint8_t *w = P->out->data + at;
    size_t total = P->out->len - at;
    STELE_ASSERT(total <= SDOC_MAX && w[0] == SDOC_OBJECT);
    STELE_ASSERT(get_u32(w + PREP_ROOT_HDR + 5) == nops);
    put_u32(w + 1, (uint32_t)(total - 5));
    put_u32(w + PREP_ROOT_HDR + 1, (uint32_t)(total - PREP_ROOT_HDR - 5));
}

/* Where op i starts, relative to the array's element area: recorded in its table. */
static void prep_mark_op(prep *P, size_t at, uint32_t nops, uint32_t i)
{
    size_t area = at + PREP_ROOT_HDR + PREP_ARR_HDR + 4 * (size_t)nops;
    put_u32(P->out->data + at + PREP_ROOT_HDR + PREP_ARR_HDR + 4 * (size_t)i,
            (uint32_t)(P->out->len - area));
}

/* Parses the text as jansson did (an object or an array at the top, integers within
 * int64, no \u0000); a failure is reported as before: line, column, reason. */
static stele_status prep_parse(const char *json, size_t len, buf *in, json_scratch *js,
                               util_err *e)
{
    json_error je;
    if (json_parse_kept(json, len, in, &je, JSON_PARSE_INT64_ONLY | JSON_PARSE_NO_NUL, js) == 0) {
        int t = doc_type((doc_view){in->data, in->len});
        if (t == SDOC_OBJECT || t == SDOC_ARRAY) return STELE_OK;
        size_t at = 0, sol = 0; /* the scalar's first byte, and the start of its line */
        je.line = 1;
        for (; at < len && strchr(" \t\r\n", json[at]); at++)
            if (json[at] == '\n') {
                je.line++;
                sol = at + 1;
            }
        je.column = at - sol + 1;
        je.msg = "'[' or '{' expected";
    }
    return util_fail(e, STELE_EINVAL, "malformed JSON at line %zu, column %zu: %s", je.line,
                     je.column, je.msg);
}

void txn_scratch_release(txn_scratch *sc)
{
    if (!sc) return;
    json_scratch_release(&sc->js);
    buf_release(&sc->in);
    free(sc->op);
    free(sc->body);
    memset(sc, 0, sizeof *sc);
}

/* Keeps a scratch's memory for the next transaction unless it grew past this: one
 * transaction of that size costs the allocations again, a writer does not hold on
 * to more for good. */
#define TXN_SCRATCH_KEEP (16u << 20)

stele_status txn_prepare(const char *json, size_t len, txn_scratch *sc, buf *payload, buf *sdoc,
                         buf *ids, util_err *e)
{
    STELE_ASSERT(json && payload && sdoc && ids);
    txn_scratch own;
    memset(&own, 0, sizeof own);
    txn_scratch *k = sc ? sc : &own;
    k->in.len = 0;
    prep P = {.out = sdoc, .ids = ids, .op = k->op, .body = k->body, .capop = k->capop,
              .capbody = k->capbody};
    doc_view root, ops = {0};
    uint32_t n = 0;
    size_t at = sdoc->len;
    stele_status rc = prep_parse(json, len, &k->in, &k->js, e);
    root = (doc_view){k->in.data, k->in.len};
    if (rc == STELE_OK && (doc_get(root.p, root.len, "ops", 3, &ops) != 1 ||
                           doc_type(ops) != SDOC_ARRAY ||
                           doc_count(ops, &n) != 0 || n == 0 || n > TXN_OPS_MAX))
        rc = util_fail(e, STELE_EINVAL, "a transaction is {\"ops\":[...]} with 1 to %d ops",
                       TXN_OPS_MAX);
    if (rc == STELE_OK && (prep_open(&P, n) != 0 || buf_append(ids, "[", 1) != 0))
        rc = util_fail(e, STELE_ENOMEM, "out of memory preparing a transaction");
    for (uint32_t i = 0; rc == STELE_OK && i < n; i++) {
        doc_view op;
        int got = doc_index(ops.p, ops.len, i, &op);
        STELE_ASSERT(got == 1);
        prep_mark_op(&P, at, n, i);
        rc = prep_op(&P, op, i, e);
    }
    if (rc == STELE_OK) prep_close(&P, at, n);
    if (rc == STELE_OK && (json_write_canonical(sdoc->data + at, sdoc->len - at, payload) != 0 ||
                           buf_append(ids, "]", 1) != 0))
        rc = util_fail(e, STELE_ENOMEM, "out of memory preparing a transaction");
    if (rc == STELE_OK && payload->len > JSON_TEXT_MAX) /* as when the text was re-parsed */
        rc = util_fail(e, STELE_EINVAL, "transaction: document larger than JSON_TEXT_MAX "
                                        "(16 MiB)");
    k->op = P.op;
    k->body = P.body;
    k->capop = P.capop;
    k->capbody = P.capbody;
    if (!sc || k->in.cap > TXN_SCRATCH_KEEP) txn_scratch_release(k);
    return rc;
}

/* -------------------------------------------------------------------- apply */

typedef struct op_view {
    int kind;
    char coll[MSTATE_NAME_MAX + 1], to[MSTATE_NAME_MAX + 1];
    const char *id;
    size_t id_len;
    int64_t rev; /* 0 = not given */
    char path[MSTATE_PATH_MAX + 1]; /* index ops */
    int ikind;                      /* index ops: MSTATE_INDEX_VALUE or _TEXT */
    char lang[MSTATE_LANG_MAX + 1]; /* index ops: a text index's language, else "" */
    doc_view doc;
    int has_doc;
    int dangling; /* "dangling":true: an edge may name documents that do not exist */
    int cascade;  /* "cascade":true: deleting a node deletes its edges too */
    int global;   /* "global":true: the op writes global data (a primary database only) */
} op_view;

static int view_str(const uint8_t *o, size_t len, const char *key, char *out, size_t cap)
{
    doc_view v;
    const char *s;
    size_t n;
    if (doc_get(o, len, key, strlen(key), &v) != 1 || doc_string(v, &s, &n) != 0 || n >= cap)
        return -1;
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

/* An optional boolean member: 0 (false or absent), 1 (true), -1 (not a boolean). */
static int view_flag(doc_view o, const char *key)
{
    doc_view v;
    int rc = doc_get(o.p, o.len, key, strlen(key), &v);
    if (rc != 1) return rc < 0 ? -1 : 0;
    return doc_type(v) == SDOC_TRUE ? 1 : doc_type(v) == SDOC_FALSE ? 0 : -1;
}

static stele_status read_op(doc_view opv, size_t i, op_view *op, util_err *e)
{
    char kind[32];
    doc_view v;
    memset(op, 0, sizeof *op);
    if (view_str(opv.p, opv.len, "op", kind, sizeof kind) != 0 || (op->kind = op_kind(kind)) < 0 ||
        view_str(opv.p, opv.len, "coll", op->coll, sizeof op->coll) != 0 || !name_ok(op->coll))
        return util_fail(e, STELE_EINVAL, "op %zu is malformed", i);
    if (op->kind == OP_RENAME &&
        (view_str(opv.p, opv.len, "to", op->to, sizeof op->to) != 0 || !name_ok(op->to)))
        return util_fail(e, STELE_EINVAL, "op %zu: bad \"to\"", i);
    if (is_index_op(op->kind) &&
        (view_str(opv.p, opv.len, "path", op->path, sizeof op->path) != 0 ||
         !index_path_ok(op->path, strlen(op->path))))
        return util_fail(e, STELE_EINVAL, "op %zu: bad \"path\"", i);
    stele_status rc = is_index_op(op->kind) ? index_kind_of(opv, op->kind, i, &op->ikind,
                                                             op->lang, e)
                                             : STELE_OK;
    if (rc != STELE_OK) return rc;
    if (doc_get(opv.p, opv.len, "id", 2, &v) == 1 &&
        (doc_string(v, &op->id, &op->id_len) != 0 || op->id_len == 0 ||
         op->id_len > MSTATE_ID_MAX))
        return util_fail(e, STELE_EINVAL, "op %zu: bad \"id\"", i);
    if (doc_get(opv.p, opv.len, "rev", 3, &v) == 1 && (doc_int64(v, &op->rev) != 0 || op->rev < 1))
        return util_fail(e, STELE_EINVAL, "op %zu: bad \"rev\"", i);
    op->has_doc = doc_get(opv.p, opv.len, "doc", 3, &op->doc) == 1;
    if (op->has_doc && doc_type(op->doc) != SDOC_OBJECT)
        return util_fail(e, STELE_EINVAL, "op %zu: \"doc\" is not an object", i);
    if (op->kind == OP_INSERT) {
        if (!op->has_doc || doc_get(op->doc.p, op->doc.len, "_id", 3, &v) != 1 ||
            doc_string(v, &op->id, &op->id_len) != 0 || op->id_len == 0 ||
            op->id_len > MSTATE_ID_MAX)
            return util_fail(e, STELE_EINVAL, "op %zu (insert): no valid \"_id\"", i);
    } else if (names_doc(op->kind) && !op->id) {
        return util_fail(e, STELE_EINVAL, "op %zu: no \"id\"", i);
    }
    if ((op->kind == OP_REPLACE || op->kind == OP_PATCH) && !op->has_doc)
        return util_fail(e, STELE_EINVAL, "op %zu: no \"doc\"", i);
    op->dangling = view_flag(opv, "dangling");
    op->cascade = view_flag(opv, "cascade");
    op->global = view_flag(opv, "global");
    if (op->dangling < 0 || op->cascade < 0 || op->global < 0)
        return util_fail(e, STELE_EINVAL, "op %zu: \"dangling\", \"cascade\" and \"global\" "
                                          "must be true or false", i);
    return STELE_OK;
}

/* RFC 7386 merge patch of SDOC `cur` with `patch` into a new SDOC in out. */
static stele_status merge_patch(const mversion *cur, doc_view patch, buf *out, util_err *e)
{
    buf t1, t2;
    buf_init(&t1);
    buf_init(&t2);
    stele_status rc = STELE_OK;
    json_t *a = NULL, *b = NULL;
    if (json_write(cur->doc, cur->doc_len, &t1) != 0 || json_write(patch.p, patch.len, &t2) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK) {
        a = json_loadb((const char *)t1.data, t1.len, JSON_ALLOW_NUL, NULL);
        b = json_loadb((const char *)t2.data, t2.len, JSON_ALLOW_NUL, NULL);
        if (!a || !b) rc = util_fail(e, STELE_EINVAL, "patch: cannot read a document");
    }
    /* Iterative merge over pairs (target, patch), an explicit stack: no recursion. */
    json_t *stack[2 * JSON_DEPTH_MAX];
    size_t sp = 0;
    if (rc == STELE_OK) {
        stack[sp++] = a;
        stack[sp++] = b;
    }
    while (rc == STELE_OK && sp) {
        json_t *p = stack[--sp], *t = stack[--sp];
        const char *key;
        json_t *pv;
        json_object_foreach(p, key, pv) {
            json_t *tv = json_object_get(t, key);
            if (json_is_null(pv)) {
                json_object_del(t, key);
            } else if (json_is_object(pv) && json_is_object(tv) && sp + 2 <= 2 * JSON_DEPTH_MAX) {
                stack[sp++] = tv;
                stack[sp++] = pv;
            } else if (json_is_object(pv)) { /* replace with a copy cleaned of nulls */
                json_t *fresh = json_object();
                json_object_set_new(t, key, fresh);
                if (sp + 2 > 2 * JSON_DEPTH_MAX) {
                    rc = util_fail(e, STELE_ETOOBIG, "patch nests too deeply");
                    break;
                }
                stack[sp++] = fresh;
                stack[sp++] = pv;
            } else {
                json_object_set(t, key, pv);
            }
        }
    }
    char *text = rc == STELE_OK ? json_dumps(a, JSON_COMPACT | JSON_ALLOW_NUL) : NULL;
    json_error jerr;
    if (rc == STELE_OK && (!text || json_parse(text, strlen(text), out, &jerr) != 0))
        rc = util_fail(e, STELE_EINVAL, "patch: cannot store the merged document");
    free(text);
    json_decref(a);
    json_decref(b);
    buf_release(&t1);
    buf_release(&t2);
    return rc;
}

/* ---- edges (edges.h): links follow the edge documents ---- */

int txn_version_global(const mversion *v)
{
    doc_view o;
    const char *str;
    size_t n;
    return v && doc_get(v->doc, v->doc_len, "_origin", 7, &o) == 1 &&
           doc_string(o, &str, &n) == 0 && n == 6 && memcmp(str, "global", 6) == 0;
}

/* Doc number of a local edge endpoint (or, in a primary, of a "global:" one): a live
 * document, or with "dangling":true any (coll, key) of an existing collection (a
 * reserved number if it is unknown). A global edge, and a "global:" reference, must
 * name global data: a live document of the user's own is refused. */
static stele_status edge_end(mstate *s, const op_view *op, const mref *r, const char *which,
                             size_t i, uint32_t *out, util_err *e)
{
    char name[MSTATE_NAME_MAX + 1];
    STELE_ASSERT(r->coll_len <= MSTATE_NAME_MAX && (!r->db || r->global));
    memcpy(name, r->coll, r->coll_len);
    name[r->coll_len] = 0;
    uint32_t c = mstate_coll_find(s, name, UINT64_MAX);
    if (c == MSTATE_NONE)
        return util_fail(e, STELE_ENOTFOUND, "op %zu: edge %s '%.*s': no collection '%s'", i,
                         which, (int)r->text_len, r->text, name);
    uint32_t n = mstate_doc_find(s, c, r->key, r->key_len);
    const mversion *v = n == MSTATE_NONE ? NULL : mstate_doc_get(s, n, UINT64_MAX);
    int live = v && !v->deleted;
    if (!live && !op->dangling)
        return util_fail(e, STELE_ENOTFOUND, "op %zu: edge %s '%.*s' names no document "
                                             "(insert it first, or set \"dangling\":true on "
                                             "the op)", i, which, (int)r->text_len, r->text);
    if (live && (op->global || r->global) && !txn_version_global(v))
        return util_fail(e, STELE_EINVAL, "op %zu: edge %s '%.*s' is not global data (%s)", i,
                         which, (int)r->text_len, r->text,
                         op->global ? "global data references only global data"
                                    : "a \"global:\" reference names global data");
    if (n == MSTATE_NONE && mstate_doc_reserve(s, c, r->key, r->key_len, &n) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    *out = n;
    return STELE_OK;
}

/* Doc number of the stand-in of another database's node: a reserved number of the
 * internal collection MREF_XREF_COLL (created at its first use) keyed by the whole
 * reference. Whether the node exists there, and whether the writer may read that
 * database, is checked above the model when the edge is written (not at replay). */
static stele_status xref_end(mstate *s, const op_view *op, const mref *r, const char *which,
                             uint64_t lsn, size_t i, uint32_t *out, util_err *e)
{
    if (op->global)
        return util_fail(e, STELE_EINVAL, "op %zu: edge %s '%.*s': global data references "
                                          "only global data (use \"global:collection/key\" "
                                          "or \"collection/key\" of global documents)", i,
                         which, (int)r->text_len, r->text);
    uint32_t x = mstate_coll_find(s, MREF_XREF_COLL, UINT64_MAX);
    if (x == MSTATE_NONE && mstate_coll_create(s, MREF_XREF_COLL, lsn, &x) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    uint32_t n = mstate_doc_find(s, x, r->text, r->text_len);
    if (n == MSTATE_NONE && mstate_doc_reserve(s, x, r->text, r->text_len, &n) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    *out = n;
    return STELE_OK;
}

static stele_status end_of(mstate *s, const op_view *op, const mref *r, const char *which,
                           uint64_t lsn, size_t i, uint32_t *out, util_err *e)
{
    if (r->db && !(r->global && mstate_primary(s))) return xref_end(s, op, r, which, lsn, i, out, e);
    return edge_end(s, op, r, which, i, out, e);
}

/* Links doc n of collection c if its version `now` is an edge. */
static stele_status link_edge(mstate *s, const op_view *op, uint32_t c, uint32_t n,
                              const mversion *now, uint64_t lsn, size_t i, util_err *e)
{
    medge_doc ed;
    const char *why = "";
    int k = medge_read(now->doc, now->doc_len, &ed, &why);
    if (k < 0)
        return util_fail(e, STELE_EINVAL, "op %zu: document '%.*s': %s", i, (int)op->id_len,
                         op->id, why);
    if (k == 0) return STELE_OK;
    uint32_t from, to, label;
    stele_status rc = end_of(s, op, &ed.from, "_from", lsn, i, &from, e);
    if (rc == STELE_OK) rc = end_of(s, op, &ed.to, "_to", lsn, i, &to, e);
    if (rc != STELE_OK) return rc;
    size_t ll;
    const char *ln = medge_label(s, &ed, n, UINT64_MAX, &ll);
    STELE_ASSERT(ln != NULL && mstate_doc_coll(s, n) == c);
    madj *a = mstate_adj(s);
    if (madj_label_intern(a, ln, ll, &label) != 0 || madj_link(a, n, from, to, label) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    return STELE_OK;
}

/* A global edge linked at node n (which global edges wait for), or MADJ_NONE: the
 * user's own data may not take a key that global data references. */
static uint32_t global_link(const mstate *s, uint32_t n)
{
    const madj *a = mstate_adj_c(s);
    mgroup_view g[64];
    for (int dir = MADJ_OUT; dir <= MADJ_IN; dir++) {
        size_t k = madj_groups(a, n, dir, g, 64);
        for (size_t j = 0; j < k && j < 64; j++)
            for (uint32_t l = 0; l < g[j].n; l++)
                if (txn_version_global(mstate_doc_get(s, g[j].links[l].edge, UINT64_MAX)))
                    return g[j].links[l].edge;
    }
    return MADJ_NONE;
}

/* The origin rules of one document op (txn.h "global"): global ops only in a primary,
 * only on global documents, with "_origin":"global" in the body; own ops never change
 * global documents nor take a key global edges point at. body: the new version's. */
static stele_status origin_check(const mstate *s, const op_view *op, uint32_t n,
                                 const mversion *cur, const uint8_t *body, size_t body_len,
                                 size_t i, util_err *e)
{
    mversion next = {.doc = body, .doc_len = body_len};
    if (op->global && !mstate_primary(s))
        return util_fail(e, STELE_EINVAL, "op %zu: global data lives in the user's primary "
                                          "database only", i);
    if (cur && txn_version_global(cur) != op->global)
        return util_fail(e, STELE_EACCESS, "op %zu: document '%.*s' in '%s' is %s", i,
                         (int)op->id_len, op->id, op->coll,
                         op->global ? "the user's own data: global data cannot change it"
                                    : "global data (cached from the global database): it "
                                      "changes only through 'stele global import'");
    if (body && txn_version_global(&next) != op->global)
        return util_fail(e, STELE_EINVAL, "op %zu: %s", i,
                         op->global ? "a global op's document has \"_origin\":\"global\""
                                    : "\"_origin\":\"global\" marks global data, written "
                                      "only by global ops ('stele global import')");
    uint32_t ge = !op->global && !cur && n != MSTATE_NONE ? global_link(s, n) : MADJ_NONE;
    size_t gl = 0;
    const char *gid = ge == MADJ_NONE ? NULL : mstate_doc_id(s, ge, &gl);
    if (gid)
        return util_fail(e, STELE_EINVAL, "op %zu: '%s/%.*s' is referenced by global edge "
                                          "'%.*s': global data references only global data, "
                                          "so this key is global data's", i, op->coll,
                         (int)op->id_len, op->id, (int)gl, gid);
    return STELE_OK;
}

/* Some edge linked at node n (either direction), or MADJ_NONE. */
static uint32_t some_link(const madj *a, uint32_t n)
{
    mgroup_view g[1];
    for (int dir = MADJ_OUT; dir <= MADJ_IN; dir++)
        if (madj_groups(a, n, dir, g, 1) > 0 && g[0].n > 0) return g[0].links[0].edge;
    return MADJ_NONE;
}

/* Deleting node n: refused while it has links, unless "cascade":true, which deletes its
 * edges (and the edges of those edges) in this transaction. */
static stele_status delete_links(mstate *s, const op_view *op, uint32_t n, uint64_t lsn,
                                 uint64_t ts, const uint8_t author[16], size_t i, util_err *e)
{
    madj *a = mstate_adj(s);
    uint64_t deg = madj_degree(a, n);
    if (deg == 0) return STELE_OK;
    if (!op->cascade)
        return util_fail(e, STELE_ECONFLICT, "op %zu: document '%.*s' in '%s' has %llu edge "
                                             "link(s); delete those edges first, or set "
                                             "\"cascade\":true on the delete", i,
                         (int)op->id_len, op->id, op->coll, (unsigned long long)deg);
    uint32_t *work = NULL;
    size_t nw = 0, cap = 0;
    stele_status rc = STELE_OK;
    uint64_t budget = 2 * madj_edge_count(a) + 1; /* every edge is deleted at most once */
    if (util_grow((void **)&work, &cap, 1, sizeof *work) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    work[nw++] = n;
    while (rc == STELE_OK && nw > 0 && budget-- > 0) {
        uint32_t node = work[nw - 1], edge = some_link(a, node);
        if (edge == MADJ_NONE) {
            nw--;
            continue;
        }
        const mversion *v = mstate_doc_get(s, edge, UINT64_MAX);
        size_t id_len;
        const char *id = mstate_doc_id(s, edge, &id_len);
        STELE_ASSERT(v && !v->deleted && id);
        if (op->global && !txn_version_global(v))
            rc = util_fail(e, STELE_EACCESS, "op %zu: deleting global document '%.*s' would "
                                             "cascade to the user's own edge '%.*s': global "
                                             "ops never change the user's own data", i,
                           (int)op->id_len, op->id, (int)id_len, id);
        else if (mstate_doc_put(s, mstate_doc_coll(s, edge), id, id_len, lsn, ts, author, 1, v->doc,
                           v->doc_len, NULL) != 0 || madj_unlink(a, edge) < 0 ||
            util_grow((void **)&work, &cap, nw + 1, sizeof *work) != 0)
            rc = util_fail(e, STELE_ENOMEM, "out of memory");
        else if (madj_degree(a, edge) > 0)
            work[nw++] = edge; /* an edge that is itself an endpoint */
    }
    free(work);
    return rc;
}

/* A document of collection c that is linked (as an edge or an endpoint), or NONE. */
static uint32_t coll_linked_doc(const mstate *s, uint32_t c)
{
    const madj *a = mstate_adj_c(s);
    uint32_t f, t, l;
    if (madj_edge_count(a) == 0) return MSTATE_NONE;
    for (uint32_t n = 0; n < mstate_doc_count(s); n++)
        if (mstate_doc_coll(s, n) == c && (madj_degree(a, n) > 0 || madj_edge(a, n, &f, &t, &l)))
            return n;
    return MSTATE_NONE;
}

/* A live document of collection c that is cached global data, or MSTATE_NONE. */
static uint32_t coll_global_doc(const mstate *s, uint32_t c)
{
    for (uint32_t n = 0; n < mstate_doc_count(s); n++) {
        if (mstate_doc_coll(s, n) != c) continue;
        const mversion *v = mstate_doc_get(s, n, UINT64_MAX);
        if (v && !v->deleted && txn_version_global(v)) return n;
    }
    return MSTATE_NONE;
}

static stele_status apply_coll_op(mstate *s, const op_view *op, uint64_t lsn, size_t i,
                                  util_err *e)
{
    uint32_t c = mstate_coll_find(s, op->coll, UINT64_MAX), id;
    int bad = 0;
    if (op->kind == OP_CREATE) {
        if (c != MSTATE_NONE)
            return util_fail(e, STELE_EEXIST, "op %zu: collection '%s' already exists", i,
                             op->coll);
        if (mstate_coll_count(s) >= MSTATE_COLL_MAX)
            return util_fail(e, STELE_ETOOBIG, "op %zu: a database creates at most %u "
                             "collections in its life (dropped ones count)", i, MSTATE_COLL_MAX);
        bad = mstate_coll_create(s, op->coll, lsn, &id);
    } else {
        if (c == MSTATE_NONE)
            return util_fail(e, STELE_ENOTFOUND, "op %zu: no collection '%s'", i, op->coll);
        if (op->kind == OP_RENAME && mstate_coll_find(s, op->to, UINT64_MAX) != MSTATE_NONE)
            return util_fail(e, STELE_EEXIST, "op %zu: collection '%s' already exists", i,
                             op->to);
        uint32_t linked = coll_linked_doc(s, c);
        size_t ln;
        const char *lid = linked == MSTATE_NONE ? NULL : mstate_doc_id(s, linked, &ln);
        if (lid)
            return util_fail(e, STELE_ECONFLICT, "op %zu: collection '%s' holds graph "
                                                 "documents with edges (e.g. '%.*s'); edges "
                                                 "name collections, so delete those edges "
                                                 "before dropping or renaming it", i, op->coll,
                             (int)ln, lid);
        uint32_t g = op->global ? MSTATE_NONE : coll_global_doc(s, c);
        const char *gid = g == MSTATE_NONE ? NULL : mstate_doc_id(s, g, &ln);
        if (gid)
            return util_fail(e, STELE_EACCESS, "op %zu: collection '%s' holds cached global "
                                               "data (e.g. '%.*s'); the user's own operations "
                                               "never drop or rename global data", i, op->coll,
                             (int)ln, gid);
        bad = op->kind == OP_DROP ? mstate_coll_drop(s, c, lsn)
                                  : mstate_coll_rename(s, c, op->to, lsn);
    }
    return bad ? util_fail(e, STELE_ENOMEM, "out of memory") : STELE_OK;
}

static stele_status apply_doc_op(mstate *s, const op_view *op, uint64_t lsn, uint64_t ts,
                                 const uint8_t author[16], size_t i, util_err *e)
{
    uint32_t c = mstate_coll_find(s, op->coll, UINT64_MAX);
    if (c == MSTATE_NONE)
        return util_fail(e, STELE_ENOTFOUND, "op %zu: no collection '%s'", i, op->coll);
    uint32_t n = mstate_doc_find(s, c, op->id, op->id_len);
    const mversion *cur = n == MSTATE_NONE ? NULL : mstate_doc_get(s, n, UINT64_MAX);
    int live = cur && !cur->deleted;
    if (op->kind == OP_INSERT && live)
        return util_fail(e, STELE_EEXIST, "op %zu: a document with _id '%.*s' already exists "
                                          "in '%s'", i, (int)op->id_len, op->id, op->coll);
    if (op->kind != OP_INSERT && op->kind != OP_RESTORE && !live)
        return util_fail(e, STELE_ENOTFOUND, "op %zu: no document '%.*s' in '%s'%s", i,
                         (int)op->id_len, op->id, op->coll, cur ? " (it is deleted)" : "");
    if (op->kind == OP_RESTORE && (!cur || live))
        return util_fail(e, cur ? STELE_EINVAL : STELE_ENOTFOUND,
                         "op %zu: document '%.*s' in '%s' is %s", i, (int)op->id_len, op->id,
                         op->coll, cur ? "not deleted" : "unknown");
    if (op->rev && (!cur || (int64_t)cur->rev != op->rev))
        return util_fail(e, STELE_ECONFLICT, "op %zu: document '%.*s' is at revision %u, not %lld",
                         i, (int)op->id_len, op->id, cur ? cur->rev : 0, (long long)op->rev);
    buf merged;
    buf_init(&merged);
    const uint8_t *body = op->has_doc ? op->doc.p : (cur ? cur->doc : NULL);
    size_t body_len = op->has_doc ? op->doc.len : (cur ? cur->doc_len : 0);
    stele_status rc = STELE_OK;
    if (op->kind == OP_PATCH) {
        rc = merge_patch(cur, op->doc, &merged, e);
        body = merged.data;
        body_len = merged.len;
    }
    if (rc == STELE_OK) rc = origin_check(s, op, n, cur, body, body_len, i, e);
    if (rc == STELE_OK && mstate_doc_put(s, c, op->id, op->id_len, lsn, ts, author,
                                         op->kind == OP_DELETE, body, body_len, &n) != 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    buf_release(&merged);
    /* Links follow the new version: old ones go, an edge's come back re-resolved. */
    if (rc == STELE_OK && madj_unlink(mstate_adj(s), n) < 0)
        rc = util_fail(e, STELE_ENOMEM, "out of memory");
    if (rc == STELE_OK && op->kind == OP_DELETE)
        rc = delete_links(s, op, n, lsn, ts, author, i, e);
    else if (rc == STELE_OK)
        rc = link_edge(s, op, c, n, mstate_doc_get(s, n, UINT64_MAX), lsn, i, e);
    return rc;
}

static stele_status apply_index_op(mstate *s, const op_view *op, uint64_t lsn, size_t i,
                                   util_err *e)
{
    uint32_t c = mstate_coll_find(s, op->coll, UINT64_MAX);
    if (c == MSTATE_NONE)
        return util_fail(e, STELE_ENOTFOUND, "op %zu: no collection '%s'", i, op->coll);
    int defined = mstate_index_defined(s, c, op->path, op->ikind);
    const char *what = op->ikind == MSTATE_INDEX_TEXT ? "text index" : "index";
    if (op->kind == OP_CREATE_INDEX && defined)
        return util_fail(e, STELE_EEXIST, "op %zu: %s %s on '%s' of '%s' already exists%s", i,
                         op->ikind == MSTATE_INDEX_TEXT ? "a" : "an", what, op->path, op->coll,
                         op->ikind == MSTATE_INDEX_TEXT ? " (drop it first to change its "
                                                          "language)" : "");
    if (op->kind == OP_DROP_INDEX && !defined)
        return util_fail(e, STELE_ENOTFOUND, "op %zu: no %s on '%s' of '%s' to drop (see "
                                             "'stele index list %s')", i, what, op->path,
                         op->coll, op->coll);
    if (mstate_index_event(s, c, op->path, op->ikind, op->lang, op->kind == OP_DROP_INDEX,
                           lsn) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory");
    return STELE_OK;
}

/* How many ops ahead txn_apply asks for the id-table slot of an op's document: enough
 * for the cache miss to be over when the op's turn comes. */
#define PREFETCH_AHEAD 8

/* The collection of the op before (names are compared as bytes: no copy, no lookup
 * when the ops of a transaction share their collection, as they mostly do). */
typedef struct coll_memo {
    const char *name;
    size_t len;
    uint32_t id;
} coll_memo;

/* Asks for the id-table slot of op k's document ahead of its turn. Only a hint: a
 * malformed op is left for read_op to refuse. */
static void prefetch_op(const mstate *s, doc_view ops, uint32_t k, coll_memo *cm)
{
    doc_view op, v, body;
    const char *c, *id;
    size_t cn, idn;
    if (doc_index(ops.p, ops.len, k, &op) != 1 || doc_get(op.p, op.len, "coll", 4, &v) != 1 ||
        doc_string(v, &c, &cn) != 0 || cn > MSTATE_NAME_MAX)
        return;
    if (doc_get(op.p, op.len, "id", 2, &v) != 1 &&
        (doc_get(op.p, op.len, "doc", 3, &body) != 1 ||
         doc_get(body.p, body.len, "_id", 3, &v) != 1))
        return;
    if (doc_string(v, &id, &idn) != 0 || idn == 0 || idn > MSTATE_ID_MAX) return;
    if (!cm->name || cm->len != cn || memcmp(cm->name, c, cn) != 0) {
        char name[MSTATE_NAME_MAX + 1];
        memcpy(name, c, cn);
        name[cn] = 0;
        *cm = (coll_memo){c, cn, mstate_coll_find(s, name, UINT64_MAX)};
    }
    if (cm->id != MSTATE_NONE) mstate_doc_prefetch(s, cm->id, id, idn);
}

stele_status txn_apply(mstate *s, const uint8_t *sdoc, size_t len, uint64_t lsn, uint64_t ts,
                       const uint8_t author[16], util_err *e)
{
    coll_memo cm = {NULL, 0, MSTATE_NONE};
    doc_view ops;
    uint32_t n;
    STELE_DEBUG_ASSERT(doc_validate(sdoc, len) == 0); /* made by this process */
    if (doc_get(sdoc, len, "ops", 3, &ops) != 1 ||
        doc_count(ops, &n) != 0 || doc_type(ops) != SDOC_ARRAY || n == 0 || n > TXN_OPS_MAX)
        return util_fail(e, STELE_EINVAL, "a transaction is {\"ops\":[...]} with 1 to %d ops",
                         TXN_OPS_MAX);
    for (uint32_t i = 0; i < n && i < PREFETCH_AHEAD; i++) prefetch_op(s, ops, i, &cm);
    for (uint32_t i = 0; i < n; i++) {
        doc_view opv;
        op_view op;
        if (i + PREFETCH_AHEAD < n) prefetch_op(s, ops, i + PREFETCH_AHEAD, &cm);
        if (doc_index(ops.p, ops.len, i, &opv) != 1)
            return util_fail(e, STELE_EINVAL, "op %u is unreadable", i);
        stele_status rc = read_op(opv, i, &op, e);
        if (rc == STELE_OK)
            rc = op.kind <= OP_RENAME   ? apply_coll_op(s, &op, lsn, i, e)
                 : is_index_op(op.kind) ? apply_index_op(s, &op, lsn, i, e)
                                        : apply_doc_op(s, &op, lsn, ts, author, i, e);
        if (rc != STELE_OK) return rc;
    }
    if (madj_settle(mstate_adj(s)) != 0) return util_fail(e, STELE_ENOMEM, "out of memory");
    return STELE_OK;
}

/* ---- references to other databases, for the writer's checks ---- */

/* The endpoint `key` of an op's body, if it is a reference with a database part. */
static stele_status xref_member(doc_view body, const char *key, int dangling, size_t i,
                                txn_xref_fn fn, void *ctx, util_err *e)
{
    doc_view v;
    const char *str, *why;
    size_t n;
    mref r;
    if (doc_get(body.p, body.len, key, strlen(key), &v) != 1 || doc_string(v, &str, &n) != 0 ||
        mref_parse(str, n, &r, &why) != 0 || !r.db)
        return STELE_OK; /* none, or malformed: apply says why */
    return fn(ctx, &r, dangling, i, e);
}

stele_status txn_xrefs(const uint8_t *sdoc, size_t len, txn_xref_fn fn, void *ctx,
                       util_err *e)
{
    doc_view ops, op, body;
    uint32_t n;
    if (doc_get(sdoc, len, "ops", 3, &ops) != 1 || doc_type(ops) != SDOC_ARRAY ||
        doc_count(ops, &n) != 0)
        return STELE_OK; /* apply refuses it */
    stele_status rc = STELE_OK;
    for (uint32_t i = 0; i < n && i < TXN_OPS_MAX && rc == STELE_OK; i++) {
        if (doc_index(ops.p, ops.len, i, &op) != 1 ||
            doc_get(op.p, op.len, "doc", 3, &body) != 1 || doc_type(body) != SDOC_OBJECT)
            continue;
        int dangling = view_flag(op, "dangling") == 1;
        rc = xref_member(body, "_from", dangling, i, fn, ctx, e);
        if (rc == STELE_OK) rc = xref_member(body, "_to", dangling, i, fn, ctx, e);
    }
    return rc;
}
