/*
 * json_test.c — the JSON parser, the SDOC format and the JSON writer (src/model/doc.h).
 * Layer: tests/unit.
 *
 *   - exact SDOC bytes of a small document, integers, doubles, strings, error positions;
 *   - JSONTestSuite (../shared/testdata/JSONTestSuite/test_parsing): every y_ file is
 *     accepted, write -> parse -> write is a fixed point and jansson reads our text as
 *     the same value as the original; every n_ file is rejected with a position; no i_
 *     file crashes. A missing suite directory is a failure, not a skip;
 *   - differential against jansson (the oracle, DESIGN.md) on random documents;
 *   - field access (doc_get, doc_index, doc_path, scalar readers);
 *   - doc_validate on every truncation and random mutations of valid documents: what it
 *     accepts must be canonical (parse(write(doc)) == doc).
 * Inputs are copied to buffers of exactly their length, so AddressSanitizer sees any
 * read past the end. Random cases replay with STELE_SEED.
 */
#include <dirent.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/doc.h"
#include "testutil.h"
#include "util/util.h"

#define SUITE_FILE_MAX (1u << 20)
#define RANDOM_DOCS 20000
#define DAMAGED_DOCS 1000
#define GEN_DEPTH_MAX 5 /* the generator recurses, on its own bounded depth only */

/* ---- helpers ---- */

/* Parses text[0, len) from an exact-size heap copy; returns json_parse's result. */
static int parse_n(const char *text, size_t len, buf *out, json_error *err)
{
    char *copy = malloc(len ? len : 1);
    if (!copy) abort();
    if (len) memcpy(copy, text, len);
    out->len = 0;
    int rc = json_parse(copy, len, out, err);
    free(copy);
    return rc;
}

static int parse_s(const char *text, buf *out, json_error *err)
{
    return parse_n(text, strlen(text), out, err);
}

/* write(doc) into *text (reset first); 0 or -1. */
static int write_doc(const buf *doc, buf *text)
{
    text->len = 0;
    int rc = json_write(doc->data, doc->len, text);
    if (rc == 0 && buf_append(text, "", 0) != 0) return -1; /* NUL-terminate */
    return rc;
}

/* text -> SDOC -> JSON, as a NUL-terminated string in *text; 0 or -1. */
static int roundtrip_s(const char *in, buf *text)
{
    buf doc;
    buf_init(&doc);
    json_error err;
    int rc = parse_s(in, &doc, &err);
    if (rc == 0) rc = write_doc(&doc, text);
    buf_release(&doc);
    return rc;
}

/* Checks that text parses and that write -> parse -> write is a fixed point, and that
 * both SDOC encodings are identical and valid. 0 if all hold. */
static int fixed_point(const char *text, size_t len, buf *w1)
{
    buf d1, d2, w2;
    buf_init(&d1);
    buf_init(&d2);
    buf_init(&w2);
    json_error err;
    int rc = -1;
    if (parse_n(text, len, &d1, &err) == 0 && doc_validate(d1.data, d1.len) == 0 &&
        write_doc(&d1, w1) == 0 && parse_n((char *)w1->data, w1->len, &d2, &err) == 0 &&
        d2.len == d1.len && memcmp(d1.data, d2.data, d1.len) == 0 && write_doc(&d2, &w2) == 0 &&
        w2.len == w1->len && memcmp(w1->data, w2.data, w1->len) == 0)
        rc = 0;
    buf_release(&d1);
    buf_release(&d2);
    buf_release(&w2);
    return rc;
}

/* ---- exact bytes, scalars, strings ---- */

static void test_exact_bytes(void)
{
    /* {"b":1,"a":[true]}: keys sorted, key area then value area (doc.h). */
    static const char hex[] = "08350000000200000000000000"
                              "0a0000000500000018000000"
                              "01000000610100000062"
                              "07090000000100000000000000" "02"
                              "030100000000000000";
    uint8_t want[58];
    test_unhex(hex, want, sizeof want);
    buf d, t;
    buf_init(&d);
    buf_init(&t);
    json_error err;
    REQUIRE(parse_s(" {\"b\" : 1, \"a\":[ true ] }\n", &d, &err) == 0, "parse: %s", err.msg);
    CHECK(d.len == sizeof want && memcmp(d.data, want, sizeof want) == 0, "exact SDOC bytes");
    CHECK(doc_validate(d.data, d.len) == 0, "valid");
    CHECK(write_doc(&d, &t) == 0 && strcmp((char *)t.data, "{\"a\":[true],\"b\":1}") == 0,
          "written in key order: %s", (char *)t.data);
    /* json_parse appends; out unchanged on failure. */
    buf_append(&d, "xy", 2);
    size_t before = d.len;
    CHECK(json_parse("null", 4, &d, &err) == 0 && d.len == before + 1 && d.data[before] == 0,
          "appends after existing bytes");
    CHECK(json_parse("[1,", 3, &d, &err) == -1 && d.len == before + 1, "unchanged on error");
    /* Text need not be NUL-terminated: only [0, len) is read. */
    CHECK(json_parse("123456", 3, &d, &err) == 0, "prefix");
    d.len = 0;
    CHECK(json_parse("[1,2]xyz", 5, &d, &err) == 0, "prefix of a longer buffer");
    buf_release(&d);
    buf_release(&t);
}

static void check_int(const char *text, int tag, uint64_t bits)
{
    buf d;
    buf_init(&d);
    json_error err;
    int rc = parse_s(text, &d, &err);
    CHECK(rc == 0 && d.len == 9 && d.data[0] == tag && get_u64(d.data + 1) == bits,
          "%s: tag %d bits %llx", text, rc == 0 ? d.data[0] : -1,
          rc == 0 ? (unsigned long long)get_u64(d.data + 1) : 0ull);
    buf t;
    buf_init(&t);
    /* Integers write back exactly; "-0" is the integer 0. */
    if (rc == 0 && tag != SDOC_DOUBLE) {
        CHECK(write_doc(&d, &t) == 0, "write %s", text);
        const char *want = strcmp(text, "-0") == 0 ? "0" : text;
        CHECK(strcmp((char *)t.data, want) == 0, "%s written as %s", text, (char *)t.data);
    }
    buf_release(&t);
    buf_release(&d);
}

static uint64_t dbits(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

static void test_numbers(void)
{
    check_int("0", SDOC_INT, 0);
    check_int("-0", SDOC_INT, 0);
    check_int("9223372036854775807", SDOC_INT, (uint64_t)INT64_MAX);
    check_int("-9223372036854775808", SDOC_INT, (uint64_t)INT64_MIN);
    check_int("9223372036854775808", SDOC_UINT, (uint64_t)INT64_MAX + 1);
    check_int("18446744073709551615", SDOC_UINT, UINT64_MAX);
    check_int("18446744073709551616", SDOC_DOUBLE, dbits(18446744073709551616.0));
    check_int("-9223372036854775809", SDOC_DOUBLE, dbits(-9223372036854775808.0));
    check_int("1.0", SDOC_DOUBLE, dbits(1.0));
    check_int("-0.0", SDOC_DOUBLE, dbits(-0.0));
    check_int("1E2", SDOC_DOUBLE, dbits(100.0));
    check_int("0.1", SDOC_DOUBLE, dbits(0.1));
    check_int("1e-400", SDOC_DOUBLE, 0);
    check_int("4.9406564584124654e-324", SDOC_DOUBLE, 1);
    check_int("1.7976931348623157e308", SDOC_DOUBLE, dbits(1.7976931348623157e308));
    check_int("2.2250738585072011e-308", SDOC_DOUBLE, dbits(2.2250738585072011e-308));
    check_int("123456789012345678901234567890", SDOC_DOUBLE, dbits(1.2345678901234568e29));
    check_int("0.30000000000000000000000000001", SDOC_DOUBLE, dbits(0.3));
    check_int("9007199254740993", SDOC_INT, 9007199254740993ull);
    check_int("9007199254740993.0", SDOC_DOUBLE, dbits(9007199254740992.0));
    check_int("1e22", SDOC_DOUBLE, dbits(1e22));
    check_int("1e23", SDOC_DOUBLE, dbits(1e23));
    static const struct { const char *in, *out; } w[] = {
        {"1.0", "1.0"},         {"-0.0", "-0.0"},      {"0.1", "0.1"},
        {"1e300", "1e+300"},    {"1E-7", "1e-07"},     {"123.456", "123.456"},
        {"[1.5,-2]", "[1.5,-2]"}, {"5e-324", "4.94065645841247e-324"},
        {"100000000000000000000000", "1e+23"}, {"0.30000000000000004", "0.30000000000000004"},
    };
    buf t;
    buf_init(&t);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        CHECK(roundtrip_s(w[i].in, &t) == 0 && strcmp((char *)t.data, w[i].out) == 0,
              "%s written as %s, want %s", w[i].in, (char *)t.data, w[i].out);
    buf_release(&t);
}

static void test_strings(void)
{
    static const struct { const char *in, *out; } w[] = {
        {"\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\""},
        {"\"\\u0000\\u001f\\u007f\"", "\"\\u0000\\u001f\x7f\""},
        {"\"\\u00e9\\u20AC\\ud834\\uDD1E\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\""},
        {"\"\xf4\x8f\xbf\xbf\xef\xbf\xbf\"", "\"\xf4\x8f\xbf\xbf\xef\xbf\xbf\""},
        {"{\"\\u0000\":1,\"\":2}", "{\"\":2,\"\\u0000\":1}"},
    };
    buf t;
    buf_init(&t);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        CHECK(roundtrip_s(w[i].in, &t) == 0 && strcmp((char *)t.data, w[i].out) == 0,
              "case %zu written as %s", i, (char *)t.data);
    /* Long strings with escapes use a heap scratch area (more than 1 KiB of text). */
    buf in, doc;
    buf_init(&in);
    buf_init(&doc);
    buf_append(&in, "[\"", 2);
    for (int i = 0; i < 3000; i++) buf_append(&in, i % 3 ? "x\\n" : "\\u00e9", i % 3 ? 3 : 6);
    buf_append(&in, "\",\"a\\tb\"]", 9);
    json_error err;
    REQUIRE(parse_n((char *)in.data, in.len, &doc, &err) == 0, "long string: %s", err.msg);
    doc_view v;
    const char *s;
    size_t n;
    CHECK(doc_index(doc.data, doc.len, 0, &v) == 1 && doc_string(v, &s, &n) == 0 &&
          n == 1000 * 2 + 2000 * 2 && memcmp(s, "\xc3\xa9x\n", 4) == 0, "decoded long string");
    CHECK(doc_index(doc.data, doc.len, 1, &v) == 1 && doc_string(v, &s, &n) == 0 && n == 3 &&
          memcmp(s, "a\tb", 3) == 0, "second string after the long one");
    CHECK(fixed_point((char *)in.data, in.len, &t) == 0, "long string fixed point");
    buf_release(&in);
    buf_release(&doc);
    buf_release(&t);
}

/* ---- errors ---- */

static void test_errors(void)
{
    static const struct {
        const char *in;
        size_t offset, line, column;
        const char *msg;
    } e[] = {
        {"", 0, 1, 1, "unexpected end of input"},
        {"   ", 3, 1, 4, "unexpected end of input"},
        {"[1,2", 4, 1, 5, "expected ',' or ']' after array element"},
        {"{\"a\" 1}", 5, 1, 6, "expected ':' after object key"},
        {"{\"a\":1 \"b\":2}", 7, 1, 8, "expected ',' or '}' after object member"},
        {"{\"a\":1,}", 7, 1, 8, "expected a string as object key"},
        {"{1:2}", 1, 1, 2, "expected a string as object key"},
        {"[1]\n x", 5, 2, 2, "trailing characters after the document"},
        {"[\n\n  01]", 6, 3, 4, "leading zero in number"},
        {"\"\\uD800\"", 1, 1, 2, "lone surrogate in \\u escape"},
        {"\"\\uDC00\\uD800\"", 1, 1, 2, "lone surrogate in \\u escape"},
        {"\"\\uD800\\u0041\"", 1, 1, 2, "lone surrogate in \\u escape"},
        {"\"\\u12G4\"", 1, 1, 2, "invalid \\u escape"},
        {"[\"a\\x\"]", 3, 1, 4, "invalid escape in string"},
        {"\"a\tb\"", 2, 1, 3, "control character in string"},
        {"\"\xff\"", 1, 1, 2, "invalid UTF-8 in string"},
        {"\"\xc0\xaf\"", 1, 1, 2, "invalid UTF-8 in string"},
        {"\"\xed\xa0\x80\"", 1, 1, 2, "invalid UTF-8 in string"},
        {"\"abc", 4, 1, 5, "unterminated string"},
        {"1e400", 0, 1, 1, "number out of range"},
        {"[-1e99999]", 1, 1, 2, "number out of range"},
        {"-", 1, 1, 2, "expected a digit in number"},
        {"1.", 2, 1, 3, "expected a digit after '.'"},
        {"1.e5", 2, 1, 3, "expected a digit after '.'"},
        {"1e+", 3, 1, 4, "expected a digit in exponent"},
        {".5", 0, 1, 1, "expected a value"},
        {"+1", 0, 1, 1, "expected a value"},
        {"[1,]", 3, 1, 4, "expected a value"},
        {"tru", 0, 1, 1, "invalid literal"},
        {"nul", 0, 1, 1, "invalid literal"},
        {"\xef\xbb\xbf{}", 0, 1, 1, "byte order mark before the document"},
    };
    buf d;
    buf_init(&d);
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++) {
        json_error err = {0};
        int rc = parse_s(e[i].in, &d, &err);
        CHECK(rc == -1 && err.offset == e[i].offset && err.line == e[i].line &&
                  err.column == e[i].column && err.msg && strstr(err.msg, e[i].msg),
              "case %zu: rc %d at %zu (%zu:%zu) '%s', want %zu (%zu:%zu) '%s'", i, rc,
              err.offset, err.line, err.column, err.msg ? err.msg : "", e[i].offset, e[i].line,
              e[i].column, e[i].msg);
    }
    buf_release(&d);
}

/* n containers deep: "[[[...]]]"; 0 or -1 and the error. */
static int parse_nested(int n, char open, char close, json_error *err, buf *d)
{
    buf t;
    buf_init(&t);
    for (int i = 0; i < n; i++) {
        if (open == '{') buf_append(&t, "{\"k\":", 5);
        else buf_append(&t, &open, 1);
    }
    buf_append(&t, "1", 1);
    for (int i = 0; i < n; i++) buf_append(&t, &close, 1);
    int rc = parse_n((char *)t.data, t.len, d, err);
    buf_release(&t);
    return rc;
}

static void test_depth(void)
{
    buf d, t;
    buf_init(&d);
    buf_init(&t);
    json_error err;
    CHECK(parse_nested(JSON_DEPTH_MAX, '[', ']', &err, &d) == 0, "256 arrays deep");
    CHECK(doc_validate(d.data, d.len) == 0 && write_doc(&d, &t) == 0, "valid, writable");
    CHECK(parse_nested(JSON_DEPTH_MAX, '{', '}', &err, &d) == 0, "256 objects deep");
    char path[3 * JSON_DEPTH_MAX + 1] = "k";
    for (int i = 1; i < JSON_DEPTH_MAX; i++) strcat(path, ".k");
    doc_view v;
    int64_t x = 0;
    CHECK(doc_path(d.data, d.len, path, &v) == 1 && doc_int64(v, &x) == 0 && x == 1,
          "path 256 deep");
    strcat(path, ".k");
    CHECK(doc_path(d.data, d.len, path, &v) == -1, "path of 257 components");
    CHECK(parse_nested(JSON_DEPTH_MAX + 1, '[', ']', &err, &d) == -1 &&
              strcmp(err.msg, "nesting deeper than 256") == 0 && err.offset == 256,
          "257 deep rejected: %s at %zu", err.msg, err.offset);
    /* An SDOC 257 arrays deep, built by hand, fails validation (and so json_write). */
    buf b;
    buf_init(&b);
    uint8_t h[13] = {SDOC_ARRAY, 0, 0, 0, 0, 0, 0, 0, 0};
    put_u32(h + 1, 4);
    buf_append(&b, h, 9);
    for (int i = 0; i < JSON_DEPTH_MAX; i++) {
        buf nb;
        buf_init(&nb);
        put_u32(h + 1, (uint32_t)(8 + b.len));
        put_u32(h + 5, 1);
        put_u32(h + 9, 0);
        buf_append(&nb, h, 13);
        buf_append(&nb, b.data, b.len);
        buf_release(&b);
        b = nb;
    }
    CHECK(doc_validate(b.data, b.len) == -1, "257-deep SDOC rejected");
    CHECK(doc_validate(b.data + 13, b.len - 13) == 0, "256-deep SDOC accepted");
    size_t before = t.len;
    CHECK(json_write(b.data, b.len, &t) == -1 && t.len == before, "write refuses it");
    buf_release(&b);
    buf_release(&d);
    buf_release(&t);
}

/* ---- JSONTestSuite ---- */

static char *suite_dir(char *out, size_t cap)
{
    const char *env = getenv("STELE_JSONTESTSUITE"), *td = getenv("STELE_TESTDATA");
    if (env) snprintf(out, cap, "%s", env);
    else if (td) snprintf(out, cap, "%s/../../shared/testdata/JSONTestSuite/test_parsing", td);
    else return NULL;
    return out;
}

/* The file's bytes in an exact-size heap buffer (NULL if unreadable or too large). */
static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *tmp = malloc(SUITE_FILE_MAX);
    size_t len = tmp ? fread(tmp, 1, SUITE_FILE_MAX, f) : 0;
    fclose(f);
    char *b = tmp && len < SUITE_FILE_MAX ? malloc(len ? len : 1) : NULL;
    if (b) memcpy(b, tmp, len);
    free(tmp);
    *n = len;
    return b;
}

/* jansson rejects these y_ files; what we check instead is said where they are used. */
static const char *const k_jansson_rejects[] = {
    "y_object_escaped_null_in_key.json", /* jansson: "NUL byte in object key not supported" */
};

static int jansson_rejects(const char *name)
{
    for (size_t i = 0; i < sizeof k_jansson_rejects / sizeof k_jansson_rejects[0]; i++)
        if (strcmp(name, k_jansson_rejects[i]) == 0) return 1;
    return 0;
}

/* y_: accepted, fixed point, and jansson(our text) == jansson(original). */
static void suite_y(const char *name, const char *text, size_t n, buf *w)
{
    CHECK(fixed_point(text, n, w) == 0, "%s: not accepted or not a fixed point", name);
    const size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
    json_error_t je;
    json_t *orig = json_loadb(text, n, flags, &je);
    if (!orig) {
        /* Documented exception: jansson cannot be the oracle; our own fixed point and
         * the exact decoded key (checked in test_strings for "\u0000") must do. */
        CHECK(jansson_rejects(name), "%s: jansson rejects it (%s): add it to the list with a "
              "reason", name, je.text);
        return;
    }
    CHECK(!jansson_rejects(name), "%s: jansson now accepts it: drop it from the list", name);
    json_t *ours = json_loadb((char *)w->data, w->len, flags, &je);
    CHECK(ours && json_equal(orig, ours), "%s: jansson sees a different value in %.*s", name,
          (int)(w->len < 200 ? w->len : 200), (char *)w->data);
    json_decref(orig);
    json_decref(ours);
}

static void suite_file(const char *dir, const char *name, int *counts)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n;
    char *text = read_file(path, &n);
    CHECK(text != NULL, "cannot read %s", path);
    if (!text) return;
    buf d, w;
    buf_init(&d);
    buf_init(&w);
    json_error err = {0};
    if (name[0] == 'y') {
        suite_y(name, text, n, &w);
        counts[0]++;
    } else if (name[0] == 'n') {
        int rc = parse_n(text, n, &d, &err);
        CHECK(rc == -1 && err.line >= 1 && err.column >= 1 && err.offset <= n && err.msg &&
                  err.msg[0],
              "%s: accepted or rejected without a position", name);
        counts[1]++;
    } else if (name[0] == 'i') {
        if (parse_n(text, n, &d, &err) == 0)
            CHECK(fixed_point(text, n, &w) == 0, "%s: accepted but not a fixed point", name);
        counts[2]++;
    }
    buf_release(&d);
    buf_release(&w);
    free(text);
}

static void test_suite(void)
{
    char dir[4096];
    REQUIRE(suite_dir(dir, sizeof dir), "set STELE_TESTDATA (or STELE_JSONTESTSUITE)");
    DIR *dp = opendir(dir);
    REQUIRE(dp, "JSONTestSuite not found at %s: it is required (set STELE_JSONTESTSUITE)", dir);
    int counts[3] = {0, 0, 0};
    struct dirent *de;
    while ((de = readdir(dp)))
        if (strlen(de->d_name) > 5 && strcmp(de->d_name + strlen(de->d_name) - 5, ".json") == 0)
            suite_file(dir, de->d_name, counts);
    closedir(dp);
    fprintf(stderr, "     JSONTestSuite: %d y_, %d n_, %d i_ files\n", counts[0], counts[1],
            counts[2]);
    CHECK(counts[0] >= 95 && counts[1] >= 188 && counts[2] >= 35, "suite incomplete in %s",
          dir);
}

/* ---- differential against jansson ---- */

static uint64_t rnd(uint64_t n) { return n ? test_rand() % n : 0; }

/* A random code point as UTF-8 (no surrogates; no NUL in keys, which jansson refuses). */
static size_t rand_char(char *o, int key)
{
    static const char specials[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f ";
    uint32_t cp;
    switch (rnd(6)) {
    case 0: cp = (uint8_t)specials[rnd(sizeof specials - 1)]; break;
    case 1: cp = 0x80 + (uint32_t)rnd(0x780); break;
    case 2: cp = 0x800 + (uint32_t)rnd(0xF800); break;
    case 3: cp = 0x10000 + (uint32_t)rnd(0x100000); break;
    case 4: cp = key ? 'a' + (uint32_t)rnd(3) : (uint32_t)rnd(0x20); break;
    default: cp = 0x20 + (uint32_t)rnd(0x5f); break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    if (cp == 0 && key) cp = 'z';
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 63));
        o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 63));
    o[2] = (char)(0x80 | (cp >> 6 & 63));
    o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

static size_t rand_str(char *o, size_t cap, int key)
{
    size_t len = (size_t)(rnd(4) == 0 ? rnd(40) : rnd(6)), n = 0;
    for (size_t i = 0; i < len && n + 4 <= cap; i++) n += rand_char(o + n, key);
    return n;
}

static double rand_double(void)
{
    static const double nice[] = {0.0,  -0.0, 0.5,    1.0,    -1.5,    1e300, 1e-300,
                                  5e-324, 0.1, 1e22, 1.7976931348623157e308, 123.456};
    if (rnd(2)) return nice[rnd(sizeof nice / sizeof nice[0])];
    for (;;) {
        uint64_t b = test_rand();
        double d;
        memcpy(&d, &b, 8);
        if (isfinite(d)) return d;
    }
}

static json_int_t rand_int(void)
{
    switch (rnd(5)) {
    case 0: return INT64_MIN;
    case 1: return INT64_MAX;
    case 2: return (json_int_t)test_rand();
    default: return (json_int_t)rnd(2000) - 1000;
    }
}

/* Recursion here is bounded by GEN_DEPTH_MAX, not by data. */
static json_t *rand_json(int depth)
{
    char s[200];
    int kind = (int)rnd(depth >= GEN_DEPTH_MAX ? 6 : 9);
    switch (kind) {
    case 0: return json_null();
    case 1: return json_boolean(rnd(2));
    case 2: return json_integer(rand_int());
    case 3: return json_real(rand_double());
    case 4:
    case 5: return json_stringn(s, rand_str(s, sizeof s, 0));
    case 6: {
        json_t *a = json_array();
        for (uint64_t i = rnd(8); i > 0; i--) json_array_append_new(a, rand_json(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint64_t i = rnd(10); i > 0; i--) {
            size_t n = rand_str(s, sizeof s - 1, 1);
            s[n] = 0;
            json_object_set_new(o, s, rand_json(depth + 1));
        }
        return o;
    }
    }
}

static void diff_one(json_t *v, buf *d, buf *w)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17) | JSON_COMPACT);
    REQUIRE(text, "json_dumps");
    json_error err;
    int rc = parse_s(text, d, &err);
    int show = (int)(strlen(text) < 300 ? strlen(text) : 300); /* failures print a prefix */
    CHECK(rc == 0, "we reject jansson's %.*s: %s at %zu", show, text, err.msg, err.offset);
    if (rc == 0) {
        CHECK(doc_validate(d->data, d->len) == 0, "invalid SDOC for %.*s", show, text);
        CHECK(fixed_point(text, strlen(text), w) == 0, "not a fixed point: %.*s", show, text);
        json_error_t je;
        json_t *a = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        json_t *b = json_loadb((char *)w->data, w->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        CHECK(a && b && json_equal(a, b) && json_equal(v, b), "jansson differs: %.*s vs %.*s",
              show, text, (int)(w->len < 300 ? w->len : 300), (char *)w->data);
        json_decref(a);
        json_decref(b);
    }
    free(text);
}

static void test_differential(void)
{
    test_seed();
    buf d, w;
    buf_init(&d);
    buf_init(&w);
    for (int i = 0; i < RANDOM_DOCS && test_checks_failed < 20; i++) {
        json_t *v = rand_json(0);
        diff_one(v, &d, &w);
        json_decref(v);
    }
    /* A wide object (heap sort, growing member arrays) and a long array (growing tape). */
    json_t *o = json_object(), *a = json_array();
    for (int i = 0; i < 5000; i++) {
        char k[32];
        snprintf(k, sizeof k, "k%llu", (unsigned long long)rnd(100000));
        json_object_set_new(o, k, json_integer(i));
        json_array_append_new(a, rnd(2) ? json_real(rand_double()) : json_string(k));
    }
    json_object_set(o, "array", a);
    diff_one(o, &d, &w);
    json_decref(o);
    json_decref(a);
    buf_release(&d);
    buf_release(&w);
}

static void test_duplicates(void)
{
    buf t;
    buf_init(&t);
    CHECK(roundtrip_s("{\"a\":1,\"b\":2,\"a\":[3],\"a\":{\"x\":4},\"b\":5}", &t) == 0 &&
              strcmp((char *)t.data, "{\"a\":{\"x\":4},\"b\":5}") == 0,
          "last duplicate wins: %s", (char *)t.data);
    CHECK(roundtrip_s("[{\"k\":1,\"k\":2},{\"k\":[1,{\"k\":0,\"k\":9}]},3]", &t) == 0 &&
              strcmp((char *)t.data, "[{\"k\":2},{\"k\":[1,{\"k\":9}]},3]") == 0,
          "dropped values are skipped inside arrays: %s", (char *)t.data);
    /* Many duplicates: heap sort path; the last of each key wins. */
    buf in;
    buf_init(&in);
    buf_append(&in, "{", 1);
    for (int i = 0; i < 300; i++) buf_printf(&in, "%s\"k%d\":%d", i ? "," : "", i % 7, i);
    buf_append(&in, "}", 1);
    buf_append(&in, "", 0);
    CHECK(roundtrip_s((char *)in.data, &t) == 0 &&
              strcmp((char *)t.data, "{\"k0\":294,\"k1\":295,\"k2\":296,\"k3\":297,\"k4\":298,"
                                     "\"k5\":299,\"k6\":293}") == 0,
          "300 members, 7 keys: %s", (char *)t.data);
    buf_release(&in);
    buf_release(&t);
}

/* ---- field access ---- */

static void test_access(void)
{
    const char *text = "{\"name\":\"Ada\",\"age\":36,\"tags\":[\"x\",\"y\",{\"k\":[1,2,3]}],"
                       "\"a\":{\"b\":{\"0\":{\"c\":true}}},\"\":null,\"a.b\":1.5,"
                       "\"big\":18446744073709551615,\"e\":[],\"o\":{}}";
    buf d;
    buf_init(&d);
    json_error err;
    REQUIRE(parse_s(text, &d, &err) == 0, "parse: %s", err.msg);
    doc_view v;
    const char *s;
    size_t n;
    int64_t i64;
    double x;
    uint32_t cnt;
    CHECK(doc_get(d.data, d.len, "name", 4, &v) == 1 && doc_string(v, &s, &n) == 0 && n == 3 &&
              memcmp(s, "Ada", 3) == 0, "name");
    CHECK(doc_get(d.data, d.len, "age", 3, &v) == 1 && doc_int64(v, &i64) == 0 && i64 == 36 &&
              doc_double(v, &x) == 0 && x == 36.0, "age");
    CHECK(doc_get(d.data, d.len, "ag", 2, &v) == 0 && doc_get(d.data, d.len, "agee", 4, &v) == 0,
          "near misses");
    CHECK(doc_get(d.data, d.len, "", 0, &v) == 1 && doc_type(v) == SDOC_NULL, "empty key");
    CHECK(doc_get(d.data, d.len, "a.b", 3, &v) == 1 && doc_double(v, &x) == 0 && x == 1.5 &&
              doc_int64(v, &i64) == -1, "key with a dot, by doc_get");
    CHECK(doc_get(d.data, d.len, "big", 3, &v) == 1 && doc_type(v) == SDOC_UINT &&
              doc_int64(v, &i64) == -1 && doc_double(v, &x) == 0 && x == 18446744073709551615.0,
          "uint64");
    CHECK(doc_path(d.data, d.len, "tags.2.k.1", &v) == 1 && doc_int64(v, &i64) == 0 && i64 == 2,
          "tags.2.k.1");
    CHECK(doc_path(d.data, d.len, "a.b.0.c", &v) == 1 && doc_type(v) == SDOC_TRUE,
          "numeric component on an object is a key");
    CHECK(doc_path(d.data, d.len, "tags", &v) == 1 && doc_count(v, &cnt) == 0 && cnt == 3,
          "count");
    CHECK(doc_path(d.data, d.len, "tags.3", &v) == 0, "index past the end");
    CHECK(doc_path(d.data, d.len, "tags.01", &v) == 0, "leading zero is not an index");
    CHECK(doc_path(d.data, d.len, "tags.-1", &v) == 0, "negative is not an index");
    CHECK(doc_path(d.data, d.len, "name.x", &v) == 0, "into a string");
    CHECK(doc_path(d.data, d.len, "e.0", &v) == 0 && doc_path(d.data, d.len, "o.x", &v) == 0,
          "into empty containers");
    CHECK(doc_path(d.data, d.len, "a..b", &v) == -1 && doc_path(d.data, d.len, "a.", &v) == -1,
          "empty components");
    CHECK(doc_path(d.data, d.len, "", &v) == 1 && v.p == d.data && v.len == d.len, "whole");
    CHECK(doc_index(d.data, d.len, 0, &v) == 0, "doc_index on an object: not found");
    REQUIRE(doc_path(d.data, d.len, "tags", &v) == 1, "tags");
    doc_view e;
    CHECK(doc_index(v.p, v.len, 1, &e) == 1 && doc_string(e, &s, &n) == 0 && n == 1 && *s == 'y',
          "doc_index");
    CHECK(doc_get(v.p, v.len, "x", 1, &e) == 0, "doc_get on an array: not found");
    /* Every lookup on every truncation stays in bounds (ASan) and finds nothing false. */
    for (size_t len = 0; len < d.len; len++) {
        uint8_t *c = malloc(len ? len : 1);
        if (!c) abort();
        memcpy(c, d.data, len);
        CHECK(doc_path(c, len, "tags.2.k.1", &v) != 1 || v.p + v.len <= c + len,
              "truncated lookup out of bounds");
        doc_get(c, len, "name", 4, &v);
        doc_index(c, len, 0, &v);
        free(c);
    }
    buf_release(&d);
}

/* ---- validation against damaged bytes ---- */

static void check_damaged(const uint8_t *p, size_t n, int64_t *accepted)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) abort();
    if (n) memcpy(copy, p, n);
    doc_view v;
    doc_get(copy, n, "a", 1, &v);
    doc_path(copy, n, "a.0.b", &v);
    doc_index(copy, n, 1, &v);
    buf w, d;
    buf_init(&w);
    buf_init(&d);
    if (doc_validate(copy, n) == 0) {
        /* Whatever passes is canonical: it survives write -> parse byte for byte. */
        json_error err;
        (*accepted)++;
        CHECK(json_write(copy, n, &w) == 0 && json_parse((char *)w.data, w.len, &d, &err) == 0 &&
                  d.len == n && memcmp(d.data, copy, n) == 0,
              "a mutation passed validation but is not canonical");
    } else {
        CHECK(json_write(copy, n, &w) == -1 && w.len == 0, "json_write wrote an invalid doc");
    }
    buf_release(&w);
    buf_release(&d);
    free(copy);
}

static void test_validate_damage(void)
{
    test_seed();
    buf d, m;
    buf_init(&d);
    buf_init(&m);
    int64_t accepted = 0, tried = 0;
    for (int doc = 0; doc < DAMAGED_DOCS; doc++) {
        json_t *v = rand_json(1);
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        json_decref(v);
        json_error err;
        REQUIRE(text && parse_s(text, &d, &err) == 0, "parse generated doc");
        free(text);
        for (size_t len = 0; len < d.len; len++)
            CHECK(doc_validate(d.data, len) == -1, "truncation to %zu accepted", len);
        for (int k = 0; k < 100; k++, tried++) {
            m.len = 0;
            buf_append(&m, d.data, d.len);
            for (uint64_t j = 1 + rnd(3); j > 0; j--) {
                size_t at = (size_t)rnd(m.len);
                if (rnd(2)) m.data[at] ^= (uint8_t)(1u << rnd(8));
                else m.data[at] = (uint8_t)test_rand();
            }
            check_damaged(m.data, rnd(8) ? m.len : (size_t)rnd(m.len + 1), &accepted);
        }
    }
    fprintf(stderr, "     %lld of %lld mutated documents still valid (and canonical)\n",
            (long long)accepted, (long long)tried);
    buf_release(&d);
    buf_release(&m);
}

static void test_locale(void)
{
    /* Numbers ignore the process locale (a ',' decimal point must not leak in). */
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", NULL};
    const char *got = NULL;
    for (int i = 0; names[i] && !got; i++) got = setlocale(LC_NUMERIC, names[i]);
    if (!got) fprintf(stderr, "     (no locale with a ',' decimal point installed)\n");
    buf t;
    buf_init(&t);
    CHECK(roundtrip_s("[1.5,2.25e10,1.25e-300]", &t) == 0 &&
              strcmp((char *)t.data, "[1.5,22500000000.0,1.25e-300]") == 0, "locale: %s",
          (char *)t.data);
    setlocale(LC_NUMERIC, "C");
    buf_release(&t);
}

/* json_parse_flags: the stricter rules of transaction texts, and nothing else changes. */
static void test_parse_flags(void)
{
    static const struct {
        const char *text;
        unsigned flags; /* the flags that refuse it */
    } cases[] = {
        {"9223372036854775807", 0},
        {"-9223372036854775808", 0},
        {"9223372036854775808", JSON_PARSE_INT64_ONLY},
        {"-9223372036854775809", JSON_PARSE_INT64_ONLY},
        {"[1,184467440737095516160]", JSON_PARSE_INT64_ONLY},
        {"1e300", 0},
        {"9223372036854775808.0", 0},
        {"\"a\\u0000b\"", JSON_PARSE_NO_NUL},
        {"{\"\\u0000\":1}", JSON_PARSE_NO_NUL},
        {"\"\\u0001\"", 0},
    };
    unsigned all = JSON_PARSE_INT64_ONLY | JSON_PARSE_NO_NUL;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (unsigned f = 0; f <= all; f++) {
            buf a, b;
            buf_init(&a);
            buf_init(&b);
            json_error err;
            const char *t = cases[i].text;
            int refused = json_parse_flags(t, strlen(t), &a, &err, f) != 0;
            CHECK(refused == ((f & cases[i].flags) != 0), "'%s' with flags %u", t, f);
            CHECK(!refused || (err.msg && a.len == 0), "'%s': a message, nothing written", t);
            if (!refused) /* accepted: the same bytes as without flags */
                CHECK(json_parse(t, strlen(t), &b, NULL) == 0 && a.len == b.len &&
                          memcmp(a.data, b.data, a.len) == 0, "'%s': same bytes", t);
            buf_release(&a);
            buf_release(&b);
        }
    }
}

/* doc_member_at walks an object's members in key order; doc_obj_put rebuilds the same
 * bytes from them, and a canonical object from an edited member list. */
static void test_build(void)
{
    const char *t = "{\"b\":[1,{\"x\":null}],\"a\":\"s\",\"\":true,\"ab\":{\"k\":2.5}}";
    buf d, out, want;
    buf_init(&d);
    buf_init(&out);
    buf_init(&want);
    REQUIRE(json_parse(t, strlen(t), &d, NULL) == 0, "parse");
    doc_member m[8];
    size_t n = 0;
    doc_view v;
    const char *k;
    size_t kn;
    for (uint32_t i = 0; doc_member_at(d.data, d.len, i, &k, &kn, &v) == 1; i++, n++)
        m[n] = (doc_member){k, (uint32_t)kn, v.p, v.len, NULL, 0};
    CHECK(n == 4 && m[0].klen == 0 && m[1].klen == 1 && m[1].key[0] == 'a', "key order");
    CHECK(doc_member_at(d.data, d.len, 4, &k, &kn, &v) == 0, "past the end");
    CHECK(doc_member_at(d.data, 3, 0, &k, &kn, &v) == -1, "truncated");
    uint64_t size = doc_obj_size(m, n);
    REQUIRE(size == d.len && buf_reserve(&out, size) == 0, "size %llu", (unsigned long long)size);
    CHECK(doc_obj_put(out.data, m, n) == out.data + size && memcmp(out.data, d.data, size) == 0,
          "the same bytes");
    /* drop "a", nest a built object under "z" */
    doc_member sub[2] = {m[0], m[3]};
    doc_member e[4] = {m[0], m[2], m[3], {"z", 1, NULL, 0, sub, 2}};
    e[3].vlen = (size_t)doc_obj_size(sub, 2);
    size = doc_obj_size(e, 4);
    REQUIRE(buf_reserve(&out, size) == 0, "reserve");
    doc_obj_put(out.data, e, 4);
    const char *w = "{\"\":true,\"ab\":{\"k\":2.5},\"b\":[1,{\"x\":null}],"
                    "\"z\":{\"\":true,\"b\":[1,{\"x\":null}]}}";
    REQUIRE(json_parse(w, strlen(w), &want, NULL) == 0, "parse want");
    CHECK(size == want.len && memcmp(out.data, want.data, size) == 0 &&
              doc_validate(out.data, size) == 0, "edited object is canonical");
    buf_release(&d);
    buf_release(&out);
    buf_release(&want);
}

int main(void)
{
    TEST_RUN(test_exact_bytes);
    TEST_RUN(test_numbers);
    TEST_RUN(test_strings);
    TEST_RUN(test_errors);
    TEST_RUN(test_depth);
    TEST_RUN(test_suite);
    TEST_RUN(test_differential);
    TEST_RUN(test_duplicates);
    TEST_RUN(test_access);
    TEST_RUN(test_validate_damage);
    TEST_RUN(test_locale);
    TEST_RUN(test_parse_flags);
    TEST_RUN(test_build);
    return test_summary();
}
