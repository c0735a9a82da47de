/*
 * query_test.c — queries through the public API (include/stele.h) against an oracle
 * written here, independently of src/query (it walks jansson values; numbers are
 * compared as long doubles, exact for int64 and double on x86-64; dates come from a
 * table of hand-computed instants):
 *  - differential: thousands of random insert/replace/patch/delete/restore ops on
 *    documents mixing ints, big ints, doubles, strings, ISO dates with zones,
 *    booleans, null, nested objects, arrays and missing fields, interleaved with
 *    random filters of every operator nested in $and/$or/$nor/$not, with sort, offset,
 *    limit and projection; as-of queries against recorded past states; again after a
 *    reopen (indices rebuilt from the log);
 *  - errors: each bad filter refused with its message;
 *  - indices: create/drop/list, persistence across reopen, digest covers definitions;
 *  - as-of follows collection names as they were.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stele.h"
#include "testutil.h"

static char store[600];

static stele *open_db(int read_only)
{
    stele_open_options o = {.read_only = read_only, .durability = STELE_DURABLE_NONE};
    return test_store_open(store, &o);
}

static void make_store(void) { test_store_new(store, sizeof store, 1 << 20, 500); }

static stele_status txn(stele *db, uint64_t *lsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static stele_status txn(stele *db, uint64_t *lsn, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char *res = NULL;
    stele_status rc = stele_txn(db, text, strlen(text), NULL, &res);
    if (rc == STELE_OK && lsn) {
        json_t *j = json_loads(res, 0, NULL);
        *lsn = (uint64_t)json_integer_value(json_object_get(j, "lsn"));
        json_decref(j);
    }
    stele_free(res);
    return rc;
}

/* ---- value pools ---- */

/* Date strings with their instants in ms after 2026-01-01T00:00:00Z, worked out by
 * hand; every other string of the pools is not a date. */
static const struct { const char *s; long long ms; } DATES[] = {
    {"2026-01-01T10:00:00+02:00", 28800000}, {"2026-01-01T08:00:00Z", 28800000},
    {"2026-01-01", 0},                       {"2025-12-31T23:30:00-01:00", 1800000},
    {"2026-01-01T08:00:00.5Z", 28800500},    {"2026-01-01T07:59", 28740000},
};
static const char *const NOT_DATES[] = {"", "a", "ab", "abc", "b", "ba", "Zed", "\xc3\xa9",
                                        "2026-02-30", "2026-01-01T24:00:00Z", "2026"};
#define NDATES (sizeof DATES / sizeof DATES[0])
#define NNOT (sizeof NOT_DATES / sizeof NOT_DATES[0])

static json_t *rand_string(void)
{
    size_t i = test_rand() % (NDATES + NNOT);
    return json_string(i < NDATES ? DATES[i].s : NOT_DATES[i - NDATES]);
}

static json_t *rand_number(void)
{
    static const json_int_t ints[] = {-3, -1, 0, 1, 2, 3, 9007199254740993LL,
                                      9007199254740992LL, -9007199254740993LL,
                                      9223372036854775807LL};
    static const double reals[] = {2.5, -0.5, 9007199254740992.0, 3.0, 1e300, -0.0};
    if (test_rand() % 3) return json_integer(ints[test_rand() % 10]);
    return json_real(reals[test_rand() % 6]);
}

static json_t *rand_scalar(void)
{
    switch (test_rand() % 7) {
    case 0:
    case 1: return rand_number();
    case 2:
    case 3: return rand_string();
    case 4: return json_boolean(test_rand() % 2);
    case 5: return json_null();
    default: return json_integer((json_int_t)(test_rand() % 4));
    }
}

static json_t *rand_array(void)
{
    json_t *a = json_array();
    int n = (int)(test_rand() % 4);
    for (int i = 0; i < n; i++) json_array_append_new(a, rand_scalar());
    return a;
}

/* One random field value for field f (0..5), or NULL for "leave it out". */
static json_t *rand_field(int f)
{
    if (test_rand() % 6 == 0) return NULL;
    switch (f) {
    case 0: return test_rand() % 5 ? rand_number() : rand_scalar();   /* n */
    case 1: return test_rand() % 5 ? rand_string() : rand_scalar();   /* s */
    case 2: return rand_string();                                     /* d */
    case 3: return test_rand() % 3 ? json_boolean(test_rand() % 2) : json_null(); /* b */
    case 4: return test_rand() % 4 ? rand_array() : rand_scalar();    /* t */
    default: {                                                        /* o */
        json_t *o = json_object();
        json_t *x = rand_field(0), *y = rand_field(1);
        if (x) json_object_set_new(o, "x", x);
        if (y) json_object_set_new(o, "y", y);
        return o;
    }
    }
}

static const char *const FIELDS[] = {"n", "s", "d", "b", "t", "o"};

static json_t *rand_body(const char *id)
{
    json_t *d = json_object();
    json_object_set_new(d, "_id", json_string(id));
    for (int f = 0; f < 6; f++) {
        json_t *v = rand_field(f);
        if (v) json_object_set_new(d, FIELDS[f], v);
    }
    return d;
}

/* ---- the oracle ---- */

static int bracket(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL: return 0;
    case JSON_INTEGER:
    case JSON_REAL: return 1;
    case JSON_STRING: return 2;
    case JSON_OBJECT: return 3;
    case JSON_ARRAY: return 4;
    default: return 5; /* booleans */
    }
}

static long double num(const json_t *v)
{
    return json_is_integer(v) ? (long double)json_integer_value(v)
                              : (long double)json_real_value(v);
}

static int str_cmp(const json_t *a, const json_t *b)
{
    size_t na = json_string_length(a), nb = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), na < nb ? na : nb);
    return c ? (c > 0) - (c < 0) : (na > nb) - (na < nb);
}

/* Order of two scalars of the same bracket. */
static int scalar_cmp(const json_t *a, const json_t *b)
{
    switch (bracket(a)) {
    case 1: return (num(a) > num(b)) - (num(a) < num(b));
    case 2: return str_cmp(a, b);
    case 5: return json_is_true(a) - json_is_true(b);
    default: return 0;
    }
}

static int is_scalar(const json_t *v) { return !json_is_object(v) && !json_is_array(v); }

static int same(const json_t *a, const json_t *b)
{
    return is_scalar(a) && is_scalar(b) && bracket(a) == bracket(b) && scalar_cmp(a, b) == 0;
}

static int date_of(const json_t *v, long long *ms)
{
    for (size_t i = 0; json_is_string(v) && i < NDATES; i++)
        if (strcmp(json_string_value(v), DATES[i].s) == 0) {
            *ms = DATES[i].ms;
            return 1;
        }
    return 0;
}

static json_t *get_path(json_t *doc, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = doc;
    for (char *save = NULL, *c = strtok_r(buf, ".", &save); c && v; c = strtok_r(NULL, ".", &save)) {
        if (json_is_object(v)) v = json_object_get(v, c);
        else if (json_is_array(v) && c[0] >= '0' && c[0] <= '9' && (c[0] != '0' || !c[1]))
            v = json_array_get(v, (size_t)strtoul(c, NULL, 10));
        else v = NULL;
    }
    return v;
}

static int cmp_ok(const char *op, int c)
{
    if (!strcmp(op, "$gt")) return c > 0;
    if (!strcmp(op, "$gte")) return c >= 0;
    if (!strcmp(op, "$lt")) return c < 0;
    return c <= 0; /* $lte */
}

/* One scalar element against op x (not $in/$nin/$exists/$contains). */
static int elem_hit(const char *op, const json_t *x, const json_t *el)
{
    if (!is_scalar(el)) return 0;
    if (!strcmp(op, "$eq")) return same(el, x);
    if (!strcmp(op, "$startsWith"))
        return json_is_string(el) && json_string_length(el) >= json_string_length(x) &&
               memcmp(json_string_value(el), json_string_value(x), json_string_length(x)) == 0;
    long long dx, de;
    if (date_of(x, &dx)) return date_of(el, &de) && cmp_ok(op, (de > dx) - (de < dx));
    return bracket(el) == bracket(x) && cmp_ok(op, scalar_cmp(el, x));
}

static int any_hit(const char *op, const json_t *x, json_t *v)
{
    if (!json_is_array(v)) return elem_hit(op, x, v);
    for (size_t i = 0; i < json_array_size(v); i++)
        if (elem_hit(op, x, json_array_get(v, i))) return 1;
    return 0;
}

static int leaf(json_t *doc, const char *path, const char *op, json_t *x)
{
    json_t *v = get_path(doc, path);
    if (!strcmp(op, "$exists")) return (v != NULL) == json_is_true(x);
    if (!strcmp(op, "$ne")) return !(v && any_hit("$eq", x, v));
    if (!strcmp(op, "$in") || !strcmp(op, "$nin")) {
        int in = 0;
        for (size_t i = 0; v && i < json_array_size(x) && !in; i++)
            in = any_hit("$eq", json_array_get(x, i), v);
        return !strcmp(op, "$in") ? in : !in;
    }
    if (!v) return 0;
    if (!strcmp(op, "$contains")) {
        if (json_is_array(v)) return any_hit("$eq", x, v);
        if (!json_is_string(v) || !json_is_string(x)) return 0;
        const char *h = json_string_value(v), *n = json_string_value(x);
        size_t hn = json_string_length(v), nn = json_string_length(x);
        for (size_t i = 0; i + nn <= hn; i++)
            if (memcmp(h + i, n, nn) == 0) return 1;
        return 0;
    }
    return any_hit(op, x, v);
}

static int matches(json_t *doc, json_t *filter);

static int ops_match(json_t *doc, const char *path, json_t *ops)
{
    const char *op;
    json_t *x;
    json_object_foreach(ops, op, x) {
        int hit = !strcmp(op, "$not") ? !ops_match(doc, path, x) : leaf(doc, path, op, x);
        if (!hit) return 0;
    }
    return 1;
}

static int matches(json_t *doc, json_t *filter) /* recursion: test oracle, bounded depth */
{
    const char *k;
    json_t *c;
    json_object_foreach(filter, k, c) {
        int hit;
        if (!strcmp(k, "$and") || !strcmp(k, "$or") || !strcmp(k, "$nor")) {
            int all = 1, any = 0;
            for (size_t i = 0; i < json_array_size(c); i++) {
                int m = matches(doc, json_array_get(c, i));
                all &= m;
                any |= m;
            }
            hit = !strcmp(k, "$and") ? all : !strcmp(k, "$or") ? any : !any;
        } else if (!strcmp(k, "$not")) {
            hit = !matches(doc, c);
        } else if (json_is_object(c)) {
            hit = ops_match(doc, k, c);
        } else {
            hit = leaf(doc, k, "$eq", c);
        }
        if (!hit) return 0;
    }
    return 1;
}

/* ---- random filters ---- */

static const char *const PATHS[] = {"n", "s", "d", "b", "t", "o.x", "o.y", "t.0", "o", "nope"};
static const char *const OPS[] = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
                                  "$exists", "$contains", "$startsWith"};

static json_t *rand_operand(const char *op)
{
    if (!strcmp(op, "$exists")) return json_boolean(test_rand() % 2);
    if (!strcmp(op, "$startsWith")) return rand_string();
    if (!strcmp(op, "$in") || !strcmp(op, "$nin")) {
        json_t *a = json_array();
        for (int i = (int)(test_rand() % 4); i > 0; i--) json_array_append_new(a, rand_scalar());
        return a;
    }
    json_t *v = test_rand() % 3 ? rand_field((int)(test_rand() % 3)) : NULL;
    return v ? v : rand_scalar();
}

static json_t *rand_ops(int depth)
{
    json_t *o = json_object();
    for (int i = 1 + (test_rand() % 4 == 0); i > 0; i--) {
        if (depth < 2 && test_rand() % 8 == 0) {
            json_object_set_new(o, "$not", rand_ops(depth + 1));
            continue;
        }
        const char *op = OPS[test_rand() % 11];
        json_object_set_new(o, op, rand_operand(op));
    }
    return o;
}

static json_t *rand_filter(int depth)
{
    json_t *f = json_object();
    for (int i = 1 + (test_rand() % 4 == 0) - (depth > 0 && test_rand() % 8 == 0); i > 0; i--) {
        unsigned r = (unsigned)(test_rand() % 10);
        if (depth < 3 && r < 3) {
            static const char *const logic[] = {"$and", "$or", "$nor"};
            json_t *a = json_array();
            for (int j = 1 + (int)(test_rand() % 3); j > 0; j--)
                json_array_append_new(a, rand_filter(depth + 1));
            json_object_set_new(f, logic[r], a);
        } else if (depth < 3 && r == 3) {
            json_object_set_new(f, "$not", rand_filter(depth + 1));
        } else {
            const char *p = PATHS[test_rand() % 10];
            json_object_set_new(f, p, r == 4 ? rand_scalar() : rand_ops(0));
        }
    }
    return f;
}

/* ---- the model ---- */

#define IDS 40
typedef struct model {
    json_t *body[IDS]; /* newest body (NULL: never inserted) */
    int live[IDS];
    int docnum[IDS];   /* order of first insert: ties in sort keep it */
} model;

static void model_copy(model *dst, const model *src)
{
    for (int i = 0; i < IDS; i++) {
        dst->body[i] = src->body[i] ? json_deep_copy(src->body[i]) : NULL;
        dst->live[i] = src->live[i];
        dst->docnum[i] = src->docnum[i];
    }
}

static void model_free(model *m)
{
    for (int i = 0; i < IDS; i++) json_decref(m->body[i]);
}

static void merge(json_t *target, json_t *patch) /* RFC 7386, recursive: test oracle */
{
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v) {
        json_t *t = json_object_get(target, k);
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            if (!json_is_object(t)) json_object_set_new(target, k, t = json_object());
            merge(t, v);
        } else {
            json_object_set(target, k, v);
        }
    }
}

static int next_docnum;

/* One random op applied to the database and the model (0 if refused as expected). */
static void random_op(stele *db, model *m, int *bad)
{
    int i = (int)(test_rand() % IDS), kind = (int)(test_rand() % 6);
    char id[8];
    snprintf(id, sizeof id, "d%d", i);
    json_t *b = NULL;
    char *text = NULL;
    stele_status rc = STELE_OK;
    if (!m->live[i] && m->body[i] && kind == 4) {
        rc = txn(db, NULL, "{\"ops\":[{\"op\":\"restore\",\"coll\":\"q\",\"id\":\"%s\"}]}", id);
        if (rc == STELE_OK) m->live[i] = 1;
    } else if (!m->live[i]) {
        b = rand_body(id);
        text = json_dumps(b, JSON_COMPACT);
        rc = txn(db, NULL, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"q\",\"doc\":%s}]}", text);
        if (rc == STELE_OK) {
            if (!m->body[i]) m->docnum[i] = next_docnum++;
            json_decref(m->body[i]);
            m->body[i] = json_incref(b);
            m->live[i] = 1;
        }
    } else if (kind <= 1) {
        b = rand_body(id);
        text = json_dumps(b, JSON_COMPACT);
        rc = txn(db, NULL, "{\"ops\":[{\"op\":\"replace\",\"coll\":\"q\",\"id\":\"%s\",\"doc\":%s}]}",
                 id, text);
        if (rc == STELE_OK) {
            json_decref(m->body[i]);
            m->body[i] = json_incref(b);
        }
    } else if (kind <= 3) {
        b = json_object();
        int f = (int)(test_rand() % 6);
        json_t *v = rand_field(f);
        json_object_set_new(b, FIELDS[f], v ? v : json_null());
        text = json_dumps(b, JSON_COMPACT);
        rc = txn(db, NULL, "{\"ops\":[{\"op\":\"patch\",\"coll\":\"q\",\"id\":\"%s\",\"doc\":%s}]}",
                 id, text);
        if (rc == STELE_OK) merge(m->body[i], b);
    } else {
        rc = txn(db, NULL, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"q\",\"id\":\"%s\"}]}", id);
        if (rc == STELE_OK) m->live[i] = 0;
    }
    if (rc != STELE_OK) {
        (*bad)++;
        fprintf(stderr, "op on %s failed: %s\n", id, stele_errmsg(db));
    }
    free(text);
    json_decref(b);
}

/* ---- checking one query ---- */

static const char *const SORTS[] = {"n", "-n", "s", "-s", "d", "-b", "o.x", "-o.y", "b,-n",
                                    "s,n", "-d,o.x"};
static const char *const PROJ[] = {"s", "n,o.x", "o", "t.0,b", "o.y,o", "nope,d"};

/* The oracle's order: sort keys (missing = null), then first-insert order. */
static const char *g_sort;
static const model *g_model;

static int sort_cmp(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    char keys[64];
    snprintf(keys, sizeof keys, "%s", g_sort);
    for (char *save = NULL, *k = strtok_r(keys, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        int desc = k[0] == '-';
        json_t *va = get_path(g_model->body[a], k + desc), *vb = get_path(g_model->body[b], k + desc);
        json_t *nul = json_null();
        if (!va) va = nul;
        if (!vb) vb = nul;
        int c = bracket(va) != bracket(vb) ? (bracket(va) < bracket(vb) ? -1 : 1)
                                           : scalar_cmp(va, vb);
        if (c) return desc ? -c : c;
    }
    return g_model->docnum[a] - g_model->docnum[b];
}

static void set_path(json_t *out, const char *path, json_t *v)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL, *c = strtok_r(buf, ".", &save), *next;
    while ((next = strtok_r(NULL, ".", &save))) {
        json_t *sub = json_object_get(out, c);
        if (!sub) json_object_set_new(out, c, sub = json_object());
        out = sub;
        c = next;
    }
    json_object_set(out, c, v);
}

/* The projection: _id and each path present (deep copies), nested as objects. The
 * order of paths does not matter: "o" and "o.y" give the same "o". */
static json_t *expected_body(json_t *body, const char *fields)
{
    if (!fields) return json_incref(body);
    json_t *o = json_object();
    json_object_set(o, "_id", json_object_get(body, "_id"));
    char list[128];
    snprintf(list, sizeof list, "%s", fields);
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        json_t *v = get_path(body, p);
        if (v) {
            json_t *copy = json_deep_copy(v);
            set_path(o, p, copy);
            json_decref(copy);
        }
    }
    return o;
}

static int g_empty, g_partial, g_full; /* how selective the random filters were */

/* Runs filter f (with sort/offset/limit/fields) as of `as_of` and compares. */
static void check_query(stele *db, const model *m, json_t *f, uint64_t as_of, int *wrong)
{
    char *ft = json_dumps(f, JSON_COMPACT);
    int want[IDS], nwant = 0;
    for (int i = 0; i < IDS; i++)
        if (m->live[i] && matches(m->body[i], f)) want[nwant++] = i;
    int nlive = 0;
    for (int i = 0; i < IDS; i++) nlive += m->live[i];
    if (nwant == 0) g_empty++;
    else if (nwant < nlive) g_partial++;
    else g_full++;
    uint64_t got = 0;
    if (stele_count(db, "q", ft, strlen(ft), as_of, &got) != STELE_OK || got != (uint64_t)nwant) {
        fprintf(stderr, "count %s as of %llu: %llu, want %d (%s)\n", ft,
                (unsigned long long)as_of, (unsigned long long)got, nwant, stele_errmsg(db));
        (*wrong)++;
    }
    stele_find_opts o = {.as_of = as_of};
    if (test_rand() % 2) o.sort = SORTS[test_rand() % 11];
    if (test_rand() % 3 == 0) o.fields = PROJ[test_rand() % 6];
    if (test_rand() % 3 == 0) o.offset = test_rand() % 5;
    if (test_rand() % 2) o.limit = 1 + test_rand() % 6;
    if (o.sort) {
        g_sort = o.sort;
        g_model = m;
        qsort(want, (size_t)nwant, sizeof want[0], sort_cmp);
    } else {
        g_model = m; /* doc-number order */
        g_sort = "";
        qsort(want, (size_t)nwant, sizeof want[0], sort_cmp);
    }
    int from = (int)o.offset < nwant ? (int)o.offset : nwant;
    int to = o.limit && from + (int)o.limit < nwant ? from + (int)o.limit : nwant;
    char *out = NULL;
    if (stele_find(db, "q", ft, strlen(ft), &o, &out) != STELE_OK) {
        fprintf(stderr, "find %s: %s\n", ft, stele_errmsg(db));
        (*wrong)++;
        free(ft);
        return;
    }
    int k = from, ok = 1;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), k++) {
        json_t *d = json_loads(line, 0, NULL);
        json_object_del(d, "_rev");
        json_object_del(d, "_lsn");
        json_object_del(d, "_ts");
        json_t *exp = k < to ? expected_body(m->body[want[k]], o.fields) : NULL;
        if (!exp || !json_equal(d, exp)) {
            if (ok && getenv("QDEBUG")) {
                char *a = json_dumps(d, JSON_COMPACT), *b = exp ? json_dumps(exp, JSON_COMPACT) : NULL;
                fprintf(stderr, "  got  %s\n  want %s\n", a, b ? b : "(none)");
                free(a);
                free(b);
            }
            ok = 0;
        }
        json_decref(exp);
        json_decref(d);
    }
    if (!ok || k != to) {
        fprintf(stderr, "find %s sort %s fields %s offset %llu limit %llu as of %llu: %d docs "
                        "(want %d) or wrong order/body\n", ft, o.sort ? o.sort : "-",
                o.fields ? o.fields : "-", (unsigned long long)o.offset,
                (unsigned long long)o.limit, (unsigned long long)as_of, k - from, to - from);
        (*wrong)++;
    }
    stele_free(out);
    free(ft);
}

#define SNAPS 12
typedef struct snap {
    uint64_t lsn;
    model m;
} snap;

static void check_snapshots(stele *db, snap *s, int ns, int per, int *wrong)
{
    for (int i = 0; i < ns; i++)
        for (int q = 0; q < per; q++) {
            json_t *f = rand_filter(0);
            check_query(db, &s[i].m, f, s[i].lsn, wrong);
            json_decref(f);
        }
}

static void test_differential(void)
{
    enum { OPS_N = 2500 };
    make_store();
    stele *db = open_db(0);
    REQUIRE(db, "open");
    REQUIRE(txn(db, NULL, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"q\"},"
                          "{\"op\":\"create_collection\",\"coll\":\"other\"}]}") == 0, "setup");
    model m;
    memset(&m, 0, sizeof m);
    snap snaps[SNAPS];
    int nsnap = 0, wrong = 0, bad = 0, queries = 0;
    for (int op = 0; op < OPS_N; op++) {
        random_op(db, &m, &bad);
        if (op % 50 == 0) /* noise in another collection: membership must hide it */
            txn(db, NULL, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"other\",\"doc\":{\"n\":1,"
                          "\"s\":\"a\",\"t\":[1]}}]}");
        if (op % 4 == 0) {
            json_t *f = rand_filter(0);
            check_query(db, &m, f, 0, &wrong);
            queries++;
            json_decref(f);
        }
        if (op % (OPS_N / SNAPS) == OPS_N / SNAPS / 2 && nsnap < SNAPS) {
            snaps[nsnap].lsn = stele_head(db);
            model_copy(&snaps[nsnap++].m, &m);
        }
    }
    check_snapshots(db, snaps, nsnap, 15, &wrong);
    stele_close(db);
    db = open_db(1); /* indices rebuilt from the log */
    REQUIRE(db, "reopen");
    for (int q = 0; q < 200; q++) {
        json_t *f = rand_filter(0);
        check_query(db, &m, f, 0, &wrong);
        json_decref(f);
    }
    check_snapshots(db, snaps, nsnap, 5, &wrong);
    CHECK(bad == 0, "%d random ops were refused", bad);
    printf("queries: %d matched nothing, %d some, %d all live documents\n", g_empty, g_partial,
           g_full);
    CHECK(g_partial * 4 > g_empty + g_partial + g_full && g_empty > 20 && g_full > 20,
          "the random filters are selective enough to test something");
    CHECK(wrong == 0, "%d of %d+ query answers differ from the oracle", wrong, queries);
    stele_close(db);
    for (int i = 0; i < nsnap; i++) model_free(&snaps[i].m);
    model_free(&m);
}

static stele_status count(stele *db, const char *coll, const char *f, uint64_t as_of,
                          uint64_t *n)
{
    return stele_count(db, coll, f, strlen(f), as_of, n);
}

/* ---- errors ---- */

static void expect_error(stele *db, const char *filter, stele_status code, const char *msg)
{
    uint64_t n = 7;
    stele_status rc = stele_count(db, "q", filter, strlen(filter), 0, &n);
    CHECK(rc == code, "%s: status %d, want %d", filter, rc, code);
    CHECK(strstr(stele_errmsg(db), msg) != NULL, "%s: message '%s' lacks '%s'", filter,
          stele_errmsg(db), msg);
    CHECK(n == 7, "%s: nothing is returned on error", filter);
}

static void test_errors(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db && txn(db, NULL, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"q\"},"
                                "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"a\":1}}]}") == 0,
            "setup");
    expect_error(db, "{\"a\":{\"$foo\":1}}", STELE_EINVAL, "filter on 'a': unknown operator '$foo'");
    expect_error(db, "{\"$foo\":[]}", STELE_EINVAL, "unknown operator '$foo' at the top level");
    expect_error(db, "{\"a\":{\"$in\":3}}", STELE_EINVAL, "filter on 'a': $in takes an array");
    expect_error(db, "{\"a\":{\"$nin\":[[1]]}}", STELE_EINVAL, "element 0 is not one");
    expect_error(db, "{\"a\":{\"$exists\":1}}", STELE_EINVAL,
                 "filter on 'a': $exists takes true or false");
    expect_error(db, "{\"a\":{\"$startsWith\":1}}", STELE_EINVAL, "$startsWith takes a string");
    expect_error(db, "{\"a\":{\"$gt\":[1]}}", STELE_EINVAL, "$gt takes a scalar");
    expect_error(db, "{\"a\":{\"b\":1}}", STELE_EINVAL, "$eq takes a scalar");
    expect_error(db, "{\"a\":{\"$gt\":1,\"b\":1}}", STELE_EINVAL, "mixes operators and fields");
    expect_error(db, "{\"$or\":[]}", STELE_EINVAL, "$or takes a non-empty array");
    expect_error(db, "{\"$not\":3}", STELE_EINVAL, "$not takes a filter object");
    expect_error(db, "{\"a..b\":1}", STELE_EINVAL, "empty component");
    expect_error(db, "{\"a\":", STELE_EINVAL, "malformed filter at line 1");
    expect_error(db, "[1]", STELE_EINVAL, "a filter is a JSON object");
    expect_error(db, "{\"$text\":{\"$search\":\"x\"}}", STELE_EINVAL, "use {\"field\": {\"$text\": \"words\"}}");
    char big[40000];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"$or\":[");
    for (int i = 0; i < 1100; i++) n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"a\":%d}",
                                                        i ? "," : "", i);
    snprintf(big + n, sizeof big - n, "]}");
    expect_error(db, big, STELE_ETOOBIG, "more than 1024");
    uint64_t c = 0;
    CHECK(count(db, "nope", "{}", 0, &c) == STELE_ENOTFOUND, "unknown collection");
    stele_find_opts o = {.sort = "a,,b"};
    char *out = NULL;
    CHECK(stele_find(db, "q", "{}", 2, &o, &out) == STELE_EINVAL, "bad sort key");
    CHECK(strstr(stele_errmsg(db), "sort") != NULL, "sort message: %s", stele_errmsg(db));
    o = (stele_find_opts){.fields = "a."};
    CHECK(stele_find(db, "q", "{}", 2, &o, &out) == STELE_EINVAL, "bad fields");
    CHECK(count(db, "q", "{}", 0, &c) == STELE_OK && c == 1, "still answers: %llu",
          (unsigned long long)c);
    /* exact numbers beyond what jansson reads: operands above INT64_MAX */
    CHECK(count(db, "q", "{\"a\":{\"$lt\":18446744073709551615}}", 0, &c) == STELE_OK &&
              c == 1, "1 < 2^64-1");
    CHECK(count(db, "q", "{\"a\":{\"$gt\":9223372036854775808}}", 0, &c) == STELE_OK &&
              c == 0, "1 > 2^63 is false");
    stele_close(db);
}

/* ---- index management ---- */

static int list_has(stele *db, const char *coll, const char *needle)
{
    char *json = NULL;
    if (stele_index_list(db, coll, &json) != STELE_OK) return -1;
    int has = strstr(json, needle) != NULL;
    stele_free(json);
    return has;
}

static void test_index_management(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db && txn(db, NULL, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"q\"},"
                                "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"_id\":\"a\","
                                "\"age\":30,\"tags\":[1,2]}},"
                                "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"_id\":\"b\","
                                "\"age\":40}}]}") == 0,
            "setup");
    CHECK(stele_index_create(db, "q", "age") == STELE_OK, "create: %s", stele_errmsg(db));
    CHECK(stele_index_create(db, "q", "age") == STELE_EEXIST, "create twice");
    CHECK(strstr(stele_errmsg(db), "already exists"), "message: %s", stele_errmsg(db));
    CHECK(stele_index_create(db, "nope", "age") == STELE_ENOTFOUND, "create on no collection");
    CHECK(stele_index_create(db, "q", "a..b") == STELE_EINVAL, "create on a bad path");
    CHECK(stele_index_drop(db, "q", "name") == STELE_ENOTFOUND, "drop what does not exist");
    CHECK(strstr(stele_errmsg(db), "no index on 'name' of 'q'"), "message: %s", stele_errmsg(db));
    CHECK(stele_index_create(db, "q", "tags") == STELE_OK, "create tags");
    uint64_t n = 0;
    CHECK(count(db, "q", "{\"name\":\"x\"}", 0, &n) == STELE_OK, "lazy index on name");
    CHECK(list_has(db, "q", "\"path\":\"age\",\"kind\":\"explicit\",\"keys\":2,"
                            "\"documents\":2") == 1, "age is explicit, 2 keys, 2 docs");
    CHECK(list_has(db, NULL, "\"path\":\"name\",\"kind\":\"lazy\"") == 1, "name is lazy");
    CHECK(list_has(db, "nope", "x") == -1, "list of an unknown collection");
    char live[65], again[65];
    REQUIRE(stele_docs_digest(db, live) == STELE_OK, "digest");
    CHECK(stele_index_drop(db, "q", "tags") == STELE_OK, "drop tags");
    CHECK(list_has(db, "q", "\"path\":\"tags\"") == 0, "tags gone");
    char after_drop[65];
    REQUIRE(stele_docs_digest(db, after_drop) == STELE_OK, "digest");
    CHECK(strcmp(live, after_drop) != 0, "the digest covers index definitions");
    stele_close(db);
    db = open_db(1);
    REQUIRE(db, "reopen");
    CHECK(list_has(db, "q", "\"path\":\"age\",\"kind\":\"explicit\"") == 1,
          "age survives reopen");
    CHECK(list_has(db, "q", "\"path\":\"tags\"") == 0, "dropped tags stays dropped");
    CHECK(list_has(db, "q", "\"path\":\"name\"") == 0, "lazy indices are memory-only");
    REQUIRE(stele_docs_digest(db, again) == STELE_OK, "digest");
    CHECK(strcmp(again, after_drop) == 0, "rebuilt state has the same digest");
    CHECK(count(db, "q", "{\"age\":{\"$gte\":35}}", 0, &n) == STELE_OK && n == 1,
          "the explicit index answers");
    stele_close(db);
}

/* ---- as-of follows names ---- */

static void test_as_of_names(void)
{
    make_store();
    stele *db = open_db(0);
    uint64_t l1 = 0, l2 = 0, n = 0;
    REQUIRE(db && txn(db, &l1, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"q\"},"
                                "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"v\":1}},"
                                "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"v\":2}}]}") == 0,
            "setup");
    REQUIRE(txn(db, &l2, "{\"ops\":[{\"op\":\"rename_collection\",\"coll\":\"q\",\"to\":\"old\"},"
                         "{\"op\":\"create_collection\",\"coll\":\"q\"},"
                         "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"v\":3}}]}") == 0,
            "rename");
    CHECK(count(db, "q", "{\"v\":{\"$gte\":1}}", l1, &n) == STELE_OK && n == 2,
          "q as of l1 is the old collection: %llu", (unsigned long long)n);
    CHECK(count(db, "q", "{\"v\":{\"$gte\":1}}", 0, &n) == STELE_OK && n == 1,
          "q now is the new one: %llu", (unsigned long long)n);
    CHECK(count(db, "old", "{}", l1, &n) == STELE_ENOTFOUND, "no 'old' at l1");
    CHECK(count(db, "old", "{\"v\":2}", l2, &n) == STELE_OK && n == 1, "old at l2");
    char *json = NULL;
    CHECK(stele_explain(db, "q", "{}", 2, l1, &json) == STELE_OK &&
              strstr(json, "scanned 2 documents as of LSN"), "explain names the scan: %s",
          json ? json : stele_errmsg(db));
    stele_free(json);
    stele_close(db);
}

int main(void)
{
    test_seed();
    TEST_RUN(test_differential);
    TEST_RUN(test_errors);
    TEST_RUN(test_index_management);
    TEST_RUN(test_as_of_names);
    return test_summary();
}
