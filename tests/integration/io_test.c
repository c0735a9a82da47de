/*
 * io_test.c — import and export through the public API (include/stele.h):
 *  - NDJSON and CSV import: types, nesting, quoting, embedded newlines, CRLF;
 *  - bad input: every bad line reported with its number, nothing changed (digest);
 *  - duplicate _ids in the input and against the collection; idempotent retries;
 *  - export -> import into a new collection gives equal documents (NDJSON and CSV);
 *  - a multi-part import larger than a ledger record (4 MiB), applied atomically and
 *    the same after reopening (rebuild digest);
 *  - kill -9 during a multi-part import: after reopening, all of it or nothing.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stele.h"
#include "testutil.h"

static char store[600];

static stele *open_db(int read_only)
{
    stele_open_options o = {.read_only = read_only};
    return test_store_open(store, &o);
}

static void make_store(uint32_t segment_size)
{
    test_store_new(store, sizeof store, segment_size, 50);
}

static stele_status import(stele *db, const char *coll, const char *text, stele_io_format f,
                           json_t **report)
{
    stele_import_options o = {.format = f};
    char *r = NULL;
    stele_status st = stele_import(db, coll, text, strlen(text), &o, &r);
    if (report) *report = r ? json_loads(r, 0, NULL) : NULL;
    stele_free(r);
    return st;
}

/* The document without system fields. */
static json_t *body(stele *db, const char *coll, const char *id)
{
    char *json = NULL;
    if (stele_doc_get(db, coll, id, 0, &json) != STELE_OK) return NULL;
    json_t *j = json_loads(json, 0, NULL);
    stele_free(json);
    json_object_del(j, "_rev");
    json_object_del(j, "_lsn");
    json_object_del(j, "_ts");
    return j;
}

static int body_is(stele *db, const char *coll, const char *id, const char *expect)
{
    json_t *got = body(db, coll, id), *want = json_loads(expect, 0, NULL);
    int eq = got && want && json_equal(got, want);
    if (!eq) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        fprintf(stderr, "  %s/%s: got %s, want %s\n", coll, id, g ? g : "(none)", expect);
        free(g);
    }
    json_decref(got);
    json_decref(want);
    return eq;
}

static int write_buf(void *ctx, const char *data, size_t len)
{
    json_t *s = ctx; /* a jansson string used as a growable buffer */
    size_t old = json_string_length(s);
    char *b = malloc(old + len + 1);
    memcpy(b, json_string_value(s), old);
    memcpy(b + old, data, len);
    b[old + len] = 0;
    json_string_setn_nocheck(s, b, old + len);
    free(b);
    return 0;
}

static char *export(stele *db, const char *coll, stele_io_format f)
{
    json_t *s = json_string("");
    stele_export_options o = {.format = f};
    stele_status st = stele_export(db, coll, &o, write_buf, s);
    char *out = st == STELE_OK ? strdup(json_string_value(s)) : NULL;
    json_decref(s);
    return out;
}

static void digest(stele *db, char out[65])
{
    if (stele_docs_digest(db, out) != STELE_OK) strcpy(out, "error");
}

/* ---- imports that succeed ---- */

static void test_ndjson_types(void)
{
    make_store(1 << 20);
    stele *db = open_db(0);
    REQUIRE(db, "open");
    json_t *rep = NULL;
    const char *in = "\xEF\xBB\xBF{\"_id\":\"a\",\"i\":-7,\"d\":1.5,\"big\":9223372036854775807,"
                     "\"s\":\"\\u00e9\\n\",\"t\":true,\"n\":null,\"o\":{\"x\":[1,{\"y\":2}]}}\n"
                     "\n   \r\n"
                     "{\"_id\":\"b\",\"_rev\":9,\"_lsn\":3,\"_ts\":\"x\",\"z\":1}\r\n"
                     "{\"v\":\"generated id\"}";
    REQUIRE(import(db, "c", in, STELE_IO_NDJSON, &rep) == STELE_OK, "import: %s",
            stele_errmsg(db));
    CHECK(json_integer_value(json_object_get(rep, "documents")) == 3, "3 documents");
    CHECK(json_is_true(json_object_get(rep, "created_collection")), "collection created");
    CHECK(json_integer_value(json_object_get(rep, "records")) == 1, "one record");
    json_decref(rep);
    CHECK(body_is(db, "c", "a", "{\"_id\":\"a\",\"i\":-7,\"d\":1.5,\"big\":9223372036854775807,"
                                "\"s\":\"\\u00e9\\n\",\"t\":true,\"n\":null,"
                                "\"o\":{\"x\":[1,{\"y\":2}]}}"),
          "all JSON types kept");
    CHECK(body_is(db, "c", "b", "{\"_id\":\"b\",\"z\":1}"), "_rev/_lsn/_ts dropped");
    char *all = export(db, "c", STELE_IO_NDJSON);
    REQUIRE(all, "export");
    const char *third = strstr(all, "{\"_id\":\"");
    for (int k = 0; third && k < 2; k++) third = strstr(third + 1, "{\"_id\":\"");
    CHECK(third && strlen(third) > 40 && strstr(third, "\"v\":\"generated id\""),
          "a generated _id: %s", all);
    free(all);
    stele_close(db);
}

static void test_csv_types(void)
{
    make_store(1 << 20);
    stele *db = open_db(0);
    REQUIRE(db, "open");
    const char *in =
        "_id,name,address.city,address.geo.lat,age,ok,tags,note,quoted_num,zip,nothing\r\n"
        "p1,\"Smith, J\",Oslo,59.9,31,true,\"[1,\"\"two\"\"]\",\"line1\r\nline2 \"\"q\"\"\","
        "\"42\",0150,null\r\n"
        "p2,Bob,,,-4.5e2,false,{\"k\":1},\"\",7,,\r\n"
        "\r\n"
        "3,,Rome,,1e3,TRUE,[,,\"\",x,"; /* no final newline */
    json_t *rep = NULL;
    REQUIRE(import(db, "p", in, STELE_IO_CSV, &rep) == STELE_OK, "csv import: %s",
            stele_errmsg(db));
    CHECK(json_integer_value(json_object_get(rep, "documents")) == 3, "3 rows");
    json_decref(rep);
    CHECK(body_is(db, "p", "p1",
                  "{\"_id\":\"p1\",\"name\":\"Smith, J\",\"address\":{\"city\":\"Oslo\","
                  "\"geo\":{\"lat\":59.9}},\"age\":31,\"ok\":true,\"tags\":[1,\"two\"],"
                  "\"note\":\"line1\\r\\nline2 \\\"q\\\"\",\"quoted_num\":\"42\","
                  "\"zip\":\"0150\",\"nothing\":null}"),
          "row 1: nesting, types, quoting, embedded CRLF");
    CHECK(body_is(db, "p", "p2",
                  "{\"_id\":\"p2\",\"name\":\"Bob\",\"age\":-450.0,\"ok\":false,"
                  "\"tags\":{\"k\":1},\"note\":\"\",\"quoted_num\":7}"),
          "row 2: empty cells absent, empty quoted string, number as double");
    CHECK(body_is(db, "p", "3", "{\"_id\":\"3\",\"address\":{\"city\":\"Rome\"},\"age\":1000.0,"
                                "\"ok\":\"TRUE\",\"tags\":\"[\",\"quoted_num\":\"\","
                                "\"zip\":\"x\"}"),
          "row 3: _id is text, TRUE and '[' are strings, no final newline");
    stele_close(db);
}

/* ---- bad input changes nothing ---- */

static int has_error(json_t *rep, long long line, long long col, const char *text)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(rep, "errors"), i, e) {
        const char *m = json_string_value(json_object_get(e, "message"));
        if (json_integer_value(json_object_get(e, "line")) == line &&
            (col < 0 || json_integer_value(json_object_get(e, "column")) == col) && m &&
            strstr(m, text))
            return 1;
    }
    fprintf(stderr, "  no error at line %lld containing '%s'\n", line, text);
    return 0;
}

static void test_bad_input_changes_nothing(void)
{
    make_store(1 << 20);
    stele *db = open_db(0);
    REQUIRE(db, "open");
    REQUIRE(import(db, "c", "{\"_id\":\"old\"}\n{\"_id\":\"gone\"}\n", STELE_IO_NDJSON, NULL) ==
                STELE_OK, "setup");
    const char *del = "{\"ops\":[{\"op\":\"delete\",\"coll\":\"c\",\"id\":\"gone\"}]}";
    REQUIRE(stele_txn(db, del, strlen(del), NULL, NULL) == STELE_OK, "delete");
    char before[65], after[65];
    digest(db, before);
    uint64_t head = stele_head(db);
    json_t *rep = NULL;
    const char *in = "{\"_id\":\"n1\"}\n"
                     "{\"_id\":\"old\"}\n"          /* 2: live in the collection */
                     "{\"_id\":\"n1\"}\n"           /* 3: twice in the file */
                     "{\"_id\": \"x\", oops}\n"     /* 4: syntax, column 15 */
                     "[1,2]\n"                      /* 5: not an object */
                     "{\"_id\":7}\n"                /* 6: bad _id */
                     "{\"_id\":\"\"}\n"             /* 7: empty _id */
                     "\n"
                     "{\"_id\":\"gone\"}\n"         /* 9: deleted: may be inserted again */
                     "{\"a\":\"\\ud800\"}\n"        /* 10: lone surrogate */
                     "{\"a\":1";                    /* 11: unexpected end */
    CHECK(import(db, "c", in, STELE_IO_NDJSON, &rep) == STELE_EINVAL, "refused");
    CHECK(strstr(stele_errmsg(db), "8 bad lines"), "message counts: %s", stele_errmsg(db));
    CHECK(json_integer_value(json_object_get(rep, "error_count")) == 8, "8 errors");
    CHECK(json_array_size(json_object_get(rep, "errors")) == 8, "8 listed");
    CHECK(has_error(rep, 2, -1, "already exists in 'c'"), "line 2");
    CHECK(has_error(rep, 3, -1, "duplicate _id 'n1' (first on line 1)"), "line 3");
    CHECK(has_error(rep, 4, 14, ""), "line 4 column 14");
    CHECK(has_error(rep, 5, -1, "not a JSON object"), "line 5");
    CHECK(has_error(rep, 6, -1, "\"_id\" must be"), "line 6");
    CHECK(has_error(rep, 7, -1, "\"_id\" must be"), "line 7");
    CHECK(has_error(rep, 10, -1, "surrogate"), "line 10");
    CHECK(has_error(rep, 11, 7, ""), "line 11 at its end");
    json_decref(rep);
    /* a cap on the listed errors, not on the count */
    char *many = malloc(150 * 8 + 1);
    many[0] = 0;
    for (int i = 0; i < 150; i++) strcat(many, "[1,2]  \n");
    stele_import_options o = {.format = STELE_IO_NDJSON, .errors_max = 100};
    char *r = NULL;
    many[0] = '{'; /* the first line is not an array, so every line is checked */
    CHECK(stele_import(db, "c", many, strlen(many), &o, &r) == STELE_EINVAL, "150 bad");
    rep = r ? json_loads(r, 0, NULL) : NULL;
    CHECK(json_integer_value(json_object_get(rep, "error_count")) == 150, "all counted");
    CHECK(json_array_size(json_object_get(rep, "errors")) == 100, "100 listed");
    json_decref(rep);
    stele_free(r);
    free(many);
    /* CSV errors */
    const char *csv = "a,b.c,b\n"; /* b.c then b: b holds an object */
    CHECK(import(db, "c", csv, STELE_IO_CSV, &rep) == STELE_EINVAL, "bad header");
    CHECK(has_error(rep, 1, 0, "repeats an earlier column"), "header conflict");
    json_decref(rep);
    /* line 4-5: one row with a quoted newline; line 7: a '"' inside an unquoted cell is
     * data (lenient, like most readers) */
    csv = "_id,v\nr1,1\nr2,1,2\n\"r3\nx\",1\nr5,\"a\"b\nr4,x\"y\nr1,2\n\"open,1\n";
    CHECK(import(db, "c", csv, STELE_IO_CSV, &rep) == STELE_EINVAL, "bad rows");
    CHECK(has_error(rep, 3, 0, "3 cells where the header has 2"), "row with 3 cells");
    CHECK(has_error(rep, 6, 0, "after the closing quote"), "text after a quote");
    CHECK(has_error(rep, 8, 0, "duplicate _id 'r1' (first on line 2)"), "csv duplicate");
    CHECK(has_error(rep, 9, 0, "not closed"), "unterminated quote");
    CHECK(json_integer_value(json_object_get(rep, "error_count")) == 4, "4 csv errors");
    json_decref(rep);
    CHECK(import(db, "c", "[{\"_id\":\"q\"}]", STELE_IO_NDJSON, &rep) == STELE_EINVAL, "array");
    CHECK(has_error(rep, 1, 1, "jq -c"), "a JSON array is explained");
    json_decref(rep);
    CHECK(import(db, "bad name!", "{}", STELE_IO_NDJSON, NULL) == STELE_EINVAL, "bad coll");
    digest(db, after);
    CHECK(strcmp(before, after) == 0, "digest unchanged by refused imports");
    CHECK(stele_head(db) == head, "nothing appended");
    /* the one that was deleted can be imported again */
    CHECK(import(db, "c", "{\"_id\":\"gone\",\"back\":1}", STELE_IO_NDJSON, NULL) == STELE_OK,
          "re-insert a deleted _id: %s", stele_errmsg(db));
    stele_close(db);
}

static void test_idempotent_import(void)
{
    make_store(1 << 20);
    stele *db = open_db(0);
    REQUIRE(db, "open");
    stele_import_options o = {.format = STELE_IO_NDJSON, .idem_id = "load-1"};
    const char *in = "{\"_id\":\"a\"}\n{\"_id\":\"b\"}\n";
    char *r1 = NULL, *r2 = NULL, d1[65], d2[65];
    REQUIRE(stele_import(db, "c", in, strlen(in), &o, &r1) == STELE_OK, "first");
    digest(db, d1);
    CHECK(stele_import(db, "c", in, strlen(in), &o, &r2) == STELE_OK, "retry: %s",
          stele_errmsg(db));
    digest(db, d2);
    CHECK(r2 && strstr(r2, "\"duplicate\":true"), "retry is a duplicate: %s", r2 ? r2 : "");
    CHECK(strcmp(d1, d2) == 0, "retry changed nothing");
    stele_free(r1);
    stele_free(r2);
    stele_close(db);
}

/* ---- round trips ---- */

static json_t *random_doc(int i)
{
    json_t *d = json_pack("{s:s}", "_id", "");
    char id[32];
    snprintf(id, sizeof id, "%s%d", test_rand() % 2 ? "id-" : "", i);
    json_object_set_new(d, "_id", json_string(id));
    static const char *const keys[] = {"a", "b", "name", "n", "x_y", "Z", "_x"};
    for (int k = 0; k < 7; k++) {
        if (test_rand() % 3 == 0) continue;
        json_t *v;
        switch (test_rand() % 8) {
        case 0: v = json_integer((json_int_t)(test_rand() % 2000) - 1000); break;
        case 1: v = json_real((double)(test_rand() % 100000) / 64.0 + 0.5); break;
        case 2: v = json_boolean(test_rand() % 2); break;
        case 3: v = json_null(); break;
        case 4: v = json_pack("{s:i,s:[s,i]}", "k", (int)(test_rand() % 9), "l", "t,\"q\"", 2);
            break;
        case 5: v = json_string(test_rand() % 2 ? "" : "12"); break;
        case 6: v = json_string("line\nbreak, \"quoted\" é"); break;
        default: v = json_string("plain"); break;
        }
        json_object_set_new(d, keys[k], v);
    }
    return d;
}

/* The first line where a and b differ, for messages (a static buffer). */
static const char *first_diff(const char *a, const char *b)
{
    static char msg[600];
    size_t i = 0, line = 0;
    while (a[i] && a[i] == b[i]) i++;
    while (i && a[i - 1] != '\n') i--;
    for (size_t k = 0; k < i; k++) line += a[k] == '\n';
    snprintf(msg, sizeof msg, "line %zu: %.*s <> %.*s", line + 1, (int)strcspn(a + i, "\n"),
             a + i, (int)strcspn(b + i, "\n"), b + i);
    return msg;
}

static void test_round_trips(void)
{
    make_store(1 << 20);
    stele *db = open_db(0);
    REQUIRE(db, "open");
    json_t *docs = json_array();
    char *in = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&in, &len);
    for (int i = 0; i < 300; i++) {
        json_t *d = random_doc(i);
        char *t = json_dumps(d, JSON_COMPACT);
        fprintf(f, "%s\n", t);
        free(t);
        json_array_append_new(docs, d);
    }
    fclose(f);
    REQUIRE(import(db, "orig", in, STELE_IO_NDJSON, NULL) == STELE_OK, "import: %s",
            stele_errmsg(db));
    free(in);
    int wrong = 0;
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        json_t *got = body(db, "orig", json_string_value(json_object_get(d, "_id")));
        wrong += !got || !json_equal(got, d);
        json_decref(got);
    }
    CHECK(wrong == 0, "%d imported documents differ from the input", wrong);
    char *nd1 = export(db, "orig", STELE_IO_NDJSON), *csv = export(db, "orig", STELE_IO_CSV);
    REQUIRE(nd1 && csv, "exports");
    CHECK(import(db, "copy", nd1, STELE_IO_NDJSON, NULL) == STELE_OK, "ndjson back: %s",
          stele_errmsg(db));
    CHECK(import(db, "fromcsv", csv, STELE_IO_CSV, NULL) == STELE_OK, "csv back: %s",
          stele_errmsg(db));
    char *nd2 = export(db, "copy", STELE_IO_NDJSON), *nd3 = export(db, "fromcsv", STELE_IO_NDJSON);
    CHECK(nd2 && strcmp(nd1, nd2) == 0, "NDJSON export -> import -> export is identical");
    CHECK(nd3 && strcmp(nd1, nd3) == 0, "CSV export -> import gives the same documents: %s",
          first_diff(nd1, nd3));
    CHECK(strncmp(csv, "_id,Z,_x,a,b,n,name,x_y\r\n", 25) == 0, "CSV header: %.40s", csv);
    free(nd1);
    free(nd2);
    free(nd3);
    free(csv);
    /* as of: the export before a later change */
    uint64_t lsn_before = stele_head(db);
    char t[200];
    snprintf(t, sizeof t, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"copy\",\"id\":\"%s\"}]}",
             json_string_value(json_object_get(json_array_get(docs, 0), "_id")));
    CHECK(stele_txn(db, t, strlen(t), NULL, NULL) == STELE_OK, "delete one");
    json_t *s = json_string("");
    stele_export_options eo = {.format = STELE_IO_NDJSON, .as_of = lsn_before};
    CHECK(stele_export(db, "copy", &eo, write_buf, s) == STELE_OK, "export as of");
    size_t lines = 0;
    for (const char *p = json_string_value(s); *p; p++) lines += *p == '\n';
    CHECK(lines == 300, "as-of export sees all 300 (got %zu)", lines);
    json_decref(s);
    CHECK(stele_export(db, "nosuch", NULL, write_buf, NULL) == STELE_ENOTFOUND, "no coll");
    json_decref(docs);
    stele_close(db);
}

/* ---- multi-part ---- */

/* Document i of big_input (a static buffer). */
static const char *padded(const char *prefix, int i, int size)
{
    static char doc[512];
    snprintf(doc, sizeof doc, "{\"_id\":\"%s%d\",\"i\":%d,\"pad\":\"%0*d\"}", prefix, i, i, size,
             i);
    return doc;
}

/* n documents of about `size` bytes each, ids "<prefix><i>". */
static char *big_input(const char *prefix, int n, int size, size_t *len)
{
    char *in = NULL;
    FILE *f = open_memstream(&in, len);
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"_id\":\"%s%d\",\"i\":%d,\"pad\":\"%0*d\"}\n", prefix, i, i, size, i);
    fclose(f);
    return in;
}

/* Counts the document records after LSN `from`: parts, and parts marked final. */
static void count_parts(stele *db, uint64_t from, int *parts, int *finals, int *plain)
{
    *parts = *finals = *plain = 0;
    for (uint64_t l = from + 1; l <= stele_head(db); l++) {
        stele_record r;
        if (stele_get(db, l, &r) != STELE_OK || r.kind != STELE_REC_DOCS) continue;
        json_t *j = json_loadb((const char *)r.payload, r.payload_len, 0, NULL);
        json_t *p = json_object_get(j, "part");
        *parts += p != NULL;
        *finals += json_is_true(json_object_get(p, "final"));
        *plain += p == NULL;
        json_decref(j);
    }
}

static void test_multipart_import(void)
{
    make_store(4u << 20);
    stele *db = open_db(0);
    REQUIRE(db, "open");
    size_t len;
    char *in = big_input("m", 50000, 90, &len); /* about 6 MB: more than one record */
    REQUIRE(len > (5u << 20), "input of %zu bytes", len);
    uint64_t head = stele_head(db);
    stele_import_options o = {.format = STELE_IO_NDJSON, .idem_id = "big-1"};
    char *r = NULL;
    REQUIRE(stele_import(db, "big", in, len, &o, &r) == STELE_OK, "import: %s", stele_errmsg(db));
    json_t *rep = json_loads(r, 0, NULL);
    stele_free(r);
    long long recs = json_integer_value(json_object_get(rep, "records"));
    CHECK(recs >= 6, "split into %lld records", recs);
    CHECK(json_integer_value(json_object_get(rep, "documents")) == 50000, "all documents");
    json_decref(rep);
    int parts, finals, plain;
    count_parts(db, head, &parts, &finals, &plain);
    CHECK(parts == recs && finals == 1 && plain == 0, "%d parts, %d final", parts, finals);
    stele_record last;
    REQUIRE(stele_get(db, stele_head(db), &last) == STELE_OK, "read head");
    uint64_t l = stele_head(db);
    while (last.kind != STELE_REC_DOCS && stele_get(db, --l, &last) == STELE_OK) {}
    CHECK(last.idem_len == 5 && memcmp(last.idem_id, "big-1", 5) == 0, "id on the final part");
    CHECK(body_is(db, "big", "m0", padded("m", 0, 90)), "first document");
    char *a = NULL, *b = NULL;
    CHECK(stele_doc_get(db, "big", "m49999", 0, &a) == STELE_OK, "last document");
    CHECK(stele_doc_get(db, "big", "m12345", 0, &b) == STELE_OK, "a middle document");
    /* every document of the import carries the final record's LSN */
    CHECK(a && b && strstr(a, "\"_lsn\"") && strstr(b, "\"_lsn\"") &&
              strcmp(strstr(a, "\"_lsn\""), strstr(b, "\"_lsn\"")) == 0,
          "same _lsn and _ts: %s / %s", a ? a : "", b ? b : "");
    stele_free(a);
    stele_free(b);
    char live[65], rebuilt[65];
    digest(db, live);
    stele_close(db);
    db = open_db(1);
    REQUIRE(db, "reopen");
    digest(db, rebuilt);
    CHECK(strcmp(live, rebuilt) == 0, "rebuild digest equals the live one");
    CHECK(body_is(db, "big", "m31337", padded("m", 31337, 90)), "visible after reopen");
    stele_close(db);
    free(in);
}

/* A document of about `size` bytes, appended to f. */
static void put_sized(FILE *f, const char *id, size_t size)
{
    fprintf(f, "{\"_id\":\"%s\",\"s\":\"", id);
    for (size_t i = 0; i < size; i++) fputc('a' + (int)(i % 26), f);
    fputs("\"}\n", f);
}

static void test_part_boundaries(void)
{
    make_store(8u << 20);
    stele *db = open_db(0);
    REQUIRE(db, "open");
    char *in = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&in, &len);
    put_sized(f, "d1", 1900u << 10); /* part 0 not yet full ... */
    put_sized(f, "d2", 2500u << 10); /* ... and this one does not fit it: a new part */
    put_sized(f, "d3", 10);
    fclose(f);
    stele_import_options o = {.format = STELE_IO_NDJSON, .part_bytes = 2u << 20};
    char *r = NULL;
    CHECK(stele_import(db, "b", in, len, &o, &r) == STELE_OK, "import: %s", stele_errmsg(db));
    CHECK(r && strstr(r, "\"records\":3"), "d1, then d2 moved to its own part, then d3: %s",
          r ? r : "");
    stele_free(r);
    char *doc = NULL;
    CHECK(stele_doc_get(db, "b", "d2", 0, &doc) == STELE_OK && strlen(doc) > (2500u << 10),
          "the moved document is whole");
    stele_free(doc);
    free(in);
    f = open_memstream(&in, &len);
    put_sized(f, "ok", 10);
    put_sized(f, "huge", 4300u << 10);
    fclose(f);
    json_t *rep = NULL;
    char dg1[65], dg2[65];
    digest(db, dg1);
    o.part_bytes = 0;
    r = NULL;
    CHECK(stele_import(db, "b2", in, len, &o, &r) == STELE_EINVAL, "a too large document");
    rep = r ? json_loads(r, 0, NULL) : NULL;
    CHECK(has_error(rep, 2, 0, "too large for one ledger record"), "reported on its line");
    digest(db, dg2);
    CHECK(strcmp(dg1, dg2) == 0, "nothing changed");
    json_decref(rep);
    stele_free(r);
    free(in);
    stele_close(db);
}

/* ---- kill -9 during a multi-part import ---- */

static void on_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    if (strcmp(phase, "writing") == 0 && done == 0) {
        char c = 'w';
        if (write(*(int *)ctx, &c, 1) != 1) _exit(5);
    }
}

static void crash_child(int fd, const char *in, size_t len)
{
    stele *db = open_db(0);
    if (!db) _exit(2);
    stele_import_options o = {.format = STELE_IO_NDJSON, .part_bytes = 4096,
                              .progress = on_progress, .progress_ctx = &fd};
    if (stele_import(db, "k", in, len, &o, NULL) != STELE_OK) _exit(3);
    char c = 'd';
    if (write(fd, &c, 1) != 1) _exit(4);
    stele_close(db);
    _exit(0);
}

static void test_crash_during_multipart(void)
{
    make_store(1u << 20);
    size_t len;
    int mid = 0, done_rounds = 0, bad = 0;
    for (int round = 0; round < 6; round++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "r%d-", round);
        char *in = big_input(prefix, 12000, 60, &len); /* ~1 MB in ~250 parts of 4 KiB */
        stele *db = open_db(0);
        REQUIRE(db, "open");
        uint64_t head = stele_head(db);
        char d0[65];
        digest(db, d0);
        stele_close(db);
        int p[2];
        REQUIRE(pipe(p) == 0, "pipe");
        pid_t pid = fork();
        REQUIRE(pid >= 0, "fork");
        if (pid == 0) {
            close(p[0]);
            crash_child(p[1], in, len);
        }
        close(p[1]);
        char c = 0;
        int got = (int)read(p[0], &c, 1);
        if (got == 1 && c == 'w') usleep((useconds_t)(test_rand() % 40000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        int acked = 0;
        while (read(p[0], &c, 1) == 1) acked |= c == 'd';
        close(p[0]);
        free(in);
        db = open_db(0);
        REQUIRE(db, "reopen after kill");
        int parts, finals, plain;
        count_parts(db, head, &parts, &finals, &plain);
        int n = 0;
        for (int i = 0; i < 12000; i += 97) {
            char id[32], *doc = NULL;
            snprintf(id, sizeof id, "%s%d", prefix, i);
            n += stele_doc_get(db, "k", id, 0, &doc) == STELE_OK;
            stele_free(doc);
        }
        int all = n == (12000 + 96) / 97;
        if (acked ? !all : !(all || n == 0)) bad++;
        if (all != (finals == 1)) bad++;
        mid += parts > 0 && finals == 0;
        done_rounds += all;
        char *report = NULL, d1[65], d2[65];
        CHECK(stele_verify(db, 0, &report) == STELE_OK, "verify: %s", stele_errmsg(db));
        stele_free(report);
        digest(db, d1);
        if (n == 0) CHECK(strcmp(d0, d1) == 0, "round %d: state exactly as before", round);
        stele_close(db);
        db = open_db(1);
        REQUIRE(db, "reopen read-only");
        digest(db, d2);
        CHECK(strcmp(d1, d2) == 0, "rebuild digest after the crash (round %d)", round);
        stele_close(db);
    }
    CHECK(bad == 0, "%d rounds with an import partly visible or lost", bad);
    CHECK(mid > 0, "at least one kill landed between parts (%d of 6; %d completed)", mid,
          done_rounds);
    /* after interrupted imports, a full one still applies and survives a reopen */
    stele *db = open_db(0);
    REQUIRE(db, "open");
    char *in = big_input("final-", 3000, 60, &len);
    stele_import_options o = {.format = STELE_IO_NDJSON, .part_bytes = 4096};
    CHECK(stele_import(db, "k", in, len, &o, NULL) == STELE_OK, "import after crashes: %s",
          stele_errmsg(db));
    free(in);
    stele_close(db);
    db = open_db(1);
    REQUIRE(db, "reopen");
    CHECK(body_is(db, "k", "final-2999", padded("final-", 2999, 60)), "the last import is whole");
    stele_close(db);
}

int main(void)
{
    TEST_RUN(test_ndjson_types);
    TEST_RUN(test_csv_types);
    TEST_RUN(test_bad_input_changes_nothing);
    TEST_RUN(test_idempotent_import);
    TEST_RUN(test_round_trips);
    TEST_RUN(test_multipart_import);
    TEST_RUN(test_part_boundaries);
    TEST_RUN(test_crash_during_multipart);
    return test_summary();
}
