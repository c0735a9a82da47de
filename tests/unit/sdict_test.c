/*
 * sdict_test.c — dictionary encoding of partition bodies (src/model/sdict.c).
 * What must hold:
 *   - decode(encode(x)) == x byte for byte, on random sequences of SDOC documents
 *     (parsed from random JSON: deep nesting, empty strings, strings with NUL, keys
 *     equal to values, numbers at their limits) and on hand-made edge cases (strings
 *     beyond 64 bytes and 64 KiB, more repeated strings than the dictionary holds);
 *   - a partition full of repeats (graph edges) shrinks, by a stated factor, and a
 *     partition without repeats is left raw;
 *   - malformed encodings (every truncation, indices out of range, lengths past the
 *     end, wrong lengths, random byte flips, random bytes) give an error, never a crash
 *     or an out-of-bounds access (run under ASan); malformed SDOC given to the encoder
 *     is either left raw or round-trips exactly;
 *   - sdict_unpack leaves raw bodies alone and refuses an unknown encoding.
 */
#include <stdlib.h>
#include <string.h>

#include "model/doc.h"
#include "model/sdict.h"
#include "testutil.h"

static uint64_t rnd(uint64_t n) { return n ? test_rand() % n : 0; }

/* ---- random JSON (iterative: an explicit stack of open containers) ---- */

static const char *const k_words[] = {
    "_from", "_to", "_label", "CALLS", "kind", "function", "src/x.c", "fn/src/foo.c:bar",
    "", "a", "\\u0000", "nul\\u0000in", "é", "日本語", "kind", "_id", "x",
};
#define NWORDS (sizeof k_words / sizeof *k_words)

static void gen_str(buf *t)
{
    char s[64];
    if (rnd(3) != 0) { /* a repeated word, often */
        buf_printf(t, "\"%s\"", k_words[rnd(NWORDS)]);
        return;
    }
    size_t n = (size_t)rnd(40);
    for (size_t i = 0; i < n; i++) s[i] = (char)('a' + rnd(26));
    s[n] = 0;
    buf_printf(t, "\"%s%s\"", s, rnd(4) == 0 ? "\\u0000z" : "");
}

static void gen_scalar(buf *t)
{
    static const char *const k_nums[] = {
        "0", "-1", "1", "127", "128", "-9223372036854775808", "9223372036854775807",
        "9223372036854775808", "18446744073709551615", "1.5", "-0.0", "1e300", "-2.5e-300",
        "123456789012", "-77",
    };
    switch (rnd(6)) {
    case 0: buf_printf(t, "%s", rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false"); break;
    case 1: buf_printf(t, "%s", k_nums[rnd(sizeof k_nums / sizeof *k_nums)]); break;
    case 2: buf_printf(t, "%lld", (long long)(int64_t)test_rand()); break;
    default: gen_str(t); break;
    }
}

/* One random JSON value of at most about nodes values, nested at most depth_max deep. */
static void gen_json(buf *t, unsigned depth_max, unsigned nodes)
{
    char kind[JSON_DEPTH_MAX];
    unsigned left[JSON_DEPTH_MAX], first[JSON_DEPTH_MAX], depth = 0;
    for (unsigned step = 0; step < 4 * nodes + 2 * JSON_DEPTH_MAX + 2; step++) {
        if (depth > 0 && left[depth - 1] == 0) { /* close the innermost container */
            buf_printf(t, "%c", kind[depth - 1] == '{' ? '}' : ']');
            if (--depth == 0) return;
            continue;
        }
        if (depth > 0) {
            left[depth - 1]--;
            if (!first[depth - 1]) buf_printf(t, ",");
            first[depth - 1] = 0;
            if (kind[depth - 1] == '{') {
                gen_str(t); /* a duplicate key: the last one wins (still valid input) */
                buf_printf(t, ":");
            }
        }
        int open = depth < depth_max && (depth == 0 || rnd(3) == 0) && step < nodes;
        if (!open) {
            gen_scalar(t);
            if (depth == 0) return;
            continue;
        }
        kind[depth] = rnd(2) ? '{' : '[';
        left[depth] = (unsigned)rnd(step < nodes ? 8 : 1);
        first[depth] = 1;
        buf_printf(t, "%c", kind[depth]);
        depth++;
    }
    while (depth > 0) buf_printf(t, "%c", kind[--depth] == '{' ? '}' : ']');
}

/* Appends the SDOC of a random document to body. */
static void add_random_doc(buf *body, unsigned depth_max, unsigned nodes)
{
    buf t;
    buf_init(&t);
    gen_json(&t, depth_max, nodes);
    json_error je;
    if (json_parse((const char *)t.data, t.len, body, &je) != 0)
        test_fail(__FILE__, __LINE__, "generated JSON does not parse: %s at %zu: %.*s", je.msg,
                  je.offset, (int)(t.len < 200 ? t.len : 200), (const char *)t.data);
    buf_release(&t);
}

static void add_json(buf *body, const char *json)
{
    json_error je;
    if (json_parse(json, strlen(json), body, &je) != 0)
        test_fail(__FILE__, __LINE__, "setup JSON does not parse: %s", je.msg);
}

/* Encodes body; if encoded, decodes and compares. Returns sdict_encode's result and the
 * encoded bytes in *enc (released by the caller). */
static int round_trip(const buf *body, buf *enc, const char *what)
{
    buf_init(enc);
    int rc = sdict_encode(body->data, body->len, enc);
    CHECK(rc == 0 || rc == 1, "%s: encode %d", what, rc);
    if (rc == 1) {
        CHECK(enc->len <= body->len / SDICT_KEEP_DEN * SDICT_KEEP_NUM &&
              enc->data[0] == SDICT_MAGIC, "%s: %zu encoded bytes of %zu", what, enc->len,
              body->len);
        uint8_t *out = malloc(body->len);
        const char *why = NULL;
        int d = out ? sdict_decode(enc->data, enc->len, out, body->len, &why) : -1;
        CHECK(d == 0 && memcmp(out, body->data, body->len) == 0, "%s: decode %d (%s)", what,
              d, why ? why : "bytes differ");
        free(out);
    } else {
        CHECK(enc->len == 0, "%s: raw, but out grew", what);
    }
    return rc;
}

static void test_random_round_trips(void)
{
    unsigned encoded = 0, total = 0;
    for (unsigned seed = 0; seed < 300; seed++) {
        buf body, enc;
        buf_init(&body);
        unsigned ndocs = 1 + (unsigned)rnd(seed % 10 == 0 ? 400 : 40);
        for (unsigned i = 0; i < ndocs; i++) {
            unsigned deep = rnd(20) == 0; /* now and then a document nested to the limit */
            add_random_doc(&body, deep ? JSON_DEPTH_MAX : 6, deep ? 2000 : 40);
        }
        char what[48];
        snprintf(what, sizeof what, "random body %u", seed);
        encoded += round_trip(&body, &enc, what) == 1;
        total++;
        buf_release(&enc);
        buf_release(&body);
    }
    CHECK(encoded > total / 2, "only %u of %u random bodies encoded", encoded, total);
}

static void test_edge_cases(void)
{
    buf body, enc;
    buf_init(&body);
    for (int i = 0; i < 20; i++) { /* keys equal to values, empty strings, NUL, repeats */
        add_json(&body, "{\"kind\":\"kind\",\"\":\"\",\"a\\u0000b\":\"a\\u0000b\",\"x\":[\"kind\","
                        "\"\",{\"\":{\"kind\":[]}}],\"n\":-9223372036854775808}");
        add_json(&body, "[18446744073709551615,-0.0,1e-320,9223372036854775807,[],{},null]");
        add_json(&body, "\"kind\"");
        add_json(&body, "17");
    }
    REQUIRE(round_trip(&body, &enc, "edge cases") == 1, "edge cases not encoded");
    buf_release(&enc);

    body.len = 0; /* nested to the limit: SDOC_DEPTH_MAX containers, objects and arrays */
    char deep[10 * JSON_DEPTH_MAX + 64]; /* "{\"kind\":" and "}" per level at most */
    size_t n = 0;
    for (int d = 0; d < JSON_DEPTH_MAX; d++)
        n += (size_t)sprintf(deep + n, d % 2 ? "{\"kind\":" : "[");
    n += (size_t)sprintf(deep + n, "\"function\"");
    for (int d = JSON_DEPTH_MAX - 1; d >= 0; d--) deep[n++] = d % 2 ? '}' : ']';
    deep[n] = 0;
    for (int i = 0; i < 4; i++) add_json(&body, deep);
    REQUIRE(round_trip(&body, &enc, "deepest") == 1, "documents nested to the limit not encoded");
    buf_release(&enc);

    body.len = 0; /* strings around the short/long and 64 KiB boundaries, repeated */
    char *big = malloc(200000), *obj = malloc(200016);
    REQUIRE(big != NULL && obj != NULL, "oom");
    const size_t sizes[] = {62, 63, 64, 65, 127, 128, 16383, 16384, 65535, 65536, 150000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        big[0] = '"';
        memset(big + 1, 'a' + (int)k, sizes[k]);
        strcpy(big + 1 + sizes[k], "\"");
        snprintf(obj, 200016, "{\"s\":%s}", big);
        add_json(&body, big);
        add_json(&body, obj);
        add_json(&body, obj);
    }
    free(big);
    free(obj);
    REQUIRE(round_trip(&body, &enc, "long strings") == 1, "long repeated strings not encoded");
    buf_release(&enc);
    buf_release(&body);
}

/* More distinct repeated strings than SDICT_ENTRIES_MAX: the rest stay inline. */
static void test_dictionary_bound(void)
{
    buf body, enc;
    buf_init(&body);
    unsigned n = SDICT_ENTRIES_MAX + 5000;
    char json[64];
    for (unsigned r = 0; r < 2; r++)
        for (unsigned i = 0; i < n; i++) {
            snprintf(json, sizeof json, "{\"k\":\"v%07u\"}", i);
            add_json(&body, json);
        }
    REQUIRE(round_trip(&body, &enc, "full dictionary") == 1, "not encoded");
    const uint8_t *p = enc.data + 1;
    uint64_t v = 0; /* skip the body length, then read the entry count */
    for (int field = 0; field < 2; field++) {
        v = 0;
        for (unsigned shift = 0; shift < 64; shift += 7, p++) {
            v |= (uint64_t)(*p & 0x7f) << shift;
            if (*p < 0x80) break;
        }
        p++;
    }
    CHECK(v == SDICT_ENTRIES_MAX, "dictionary of %llu entries", (unsigned long long)v);
    buf_release(&enc);
    buf_release(&body);
}

/* A graph partition: edges repeating keys, labels and the names of 300 nodes. */
static void make_edges(buf *body, unsigned n)
{
    static const char *const labels[] = {"CALLS", "INCLUDES", "DEFINES", "USES"};
    char json[400];
    for (unsigned i = 0; i < n; i++) {
        snprintf(json, sizeof json,
                 "{\"_from\":\"fn/src/model/file%u.c:func%u\",\"_id\":\"e%u\","
                 "\"_label\":\"%s\",\"_to\":\"fn/src/model/file%u.c:func%u\",\"line\":%u}",
                 i % 300 % 40, i % 300, i, labels[i % 4], (i * 7 + 3) % 300 % 40,
                 (i * 7 + 3) % 300, i % 2000);
        add_json(body, json);
    }
}

static void test_shrinks(void)
{
    buf body, enc;
    buf_init(&body);
    make_edges(&body, 2000);
    REQUIRE(round_trip(&body, &enc, "edges") == 1, "an edge partition was not encoded");
    /* Each edge is ~186 SDOC bytes; encoded it keeps ~20: tag and count, five keys and
     * its label as 1-byte references, its nodes as 1-3 byte ones, its id inline, its
     * line as a varint; plus ~4 bytes of its share of the 300 node names. */
    CHECK(enc.len * 5 < body.len, "edges: %zu encoded bytes of %zu (want < 1/5)", enc.len,
          body.len);
    printf("edges: %zu raw bytes, %zu encoded (%.1f%%)\n", body.len, enc.len,
           100.0 * (double)enc.len / (double)body.len);
    buf_release(&enc);

    body.len = 0; /* unique long strings: nothing to gain, stored raw */
    char json[200];
    for (unsigned i = 0; i < 500; i++) {
        unsigned long long a = test_rand(), b = test_rand(), c = test_rand();
        snprintf(json, sizeof json, "\"%016llx%016llx%016llx%016llx\"", a, b, c, a ^ b);
        add_json(&body, json);
    }
    CHECK(round_trip(&body, &enc, "unique strings") == 0, "unique strings were encoded");
    buf_release(&enc);
    CHECK(sdict_encode(body.data, 0, &enc) == 0 && enc.len == 0, "an empty body");
    buf_release(&enc);
    buf_release(&body);
}

/* Decodes in[0, len) expecting cap bytes; returns sdict_decode's result. */
static int try_decode(const uint8_t *in, size_t len, size_t cap)
{
    uint8_t *out = malloc(cap ? cap : 1);
    const char *why = NULL;
    int rc = out ? sdict_decode(in, len, out, cap, &why) : 0;
    if (rc != 0 && !why) test_fail(__FILE__, __LINE__, "an error without a reason");
    free(out);
    return rc;
}

static void test_malformed(void)
{
    buf body, enc;
    buf_init(&body);
    make_edges(&body, 300);
    add_random_doc(&body, JSON_DEPTH_MAX, 600);
    REQUIRE(round_trip(&body, &enc, "malformed base") == 1, "not encoded");
    size_t refused = 0, tries = 0;
    for (size_t len = 0; len < enc.len; len++, tries++) /* every truncation */
        refused += try_decode(enc.data, len, body.len) != 0;
    CHECK(refused == tries, "%zu of %zu truncations decoded", tries - refused, tries);
    CHECK(try_decode(enc.data, enc.len, body.len - 1) != 0, "one byte shorter expected");
    CHECK(try_decode(enc.data, enc.len, body.len + 1) != 0, "one byte longer expected");

    static const uint8_t k_bad[][12] = {
        {SDICT_MAGIC, 1, 0, 0x80},                   /* index 0 of an empty dictionary */
        {SDICT_MAGIC, 5, 1, 2, 'a', 'b', 0x09, 1},   /* index 1 of one entry */
        {SDICT_MAGIC, 5, 1, 9, 'a', 'b'},            /* an entry past the end */
        {SDICT_MAGIC, 9, 0, 0x06, 40, 'a'},          /* a string past the end */
        {SDICT_MAGIC, 9, 0, 0x07, 100, 0},           /* a count beyond the input */
        {SDICT_MAGIC, 9, 0, 0x08, 1, 0x03, 0},       /* a key that is not a string */
        {SDICT_MAGIC, 9, 0, 0x20},                   /* an unknown token */
        {SDICT_MAGIC, 9, 0, 0x05, 1, 2},             /* a truncated double */
        {SDICT_MAGIC, 9, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, /* > 2^64 */
        {SDICT_MAGIC, 9, 0, 0x07, 2, 0x00},          /* an array one item short */
        {0x55, 0},                                   /* not this encoding */
    };
    static const size_t k_bad_len[] = {4, 8, 6, 6, 6, 7, 4, 6, 12, 6, 2};
    static const size_t k_bad_cap[] = {1, 5, 5, 9, 9, 9, 9, 9, 9, 9, 0};
    for (size_t i = 0; i < sizeof k_bad_len / sizeof *k_bad_len; i++)
        CHECK(try_decode(k_bad[i], k_bad_len[i], k_bad_cap[i]) != 0, "bad input %zu decoded", i);
    uint8_t nest[8 + 2 * (JSON_DEPTH_MAX + 1)]; /* one array too many, each of one item */
    for (int extra = 0; extra < 2; extra++) {
        size_t depth = JSON_DEPTH_MAX + (size_t)extra, body_len = depth * 13 + 1, k = 0;
        nest[k++] = SDICT_MAGIC;
        nest[k++] = (uint8_t)(0x80 | (body_len & 0x7f));
        nest[k++] = (uint8_t)(body_len >> 7);
        nest[k++] = 0; /* no dictionary */
        for (size_t d = 0; d < depth; d++) {
            nest[k++] = 0x07;
            nest[k++] = 1;
        }
        nest[k++] = 0x00;
        uint8_t *out = malloc(body_len);
        const char *why = NULL;
        int rc = out ? sdict_decode(nest, k, out, body_len, &why) : -1;
        CHECK(extra ? rc != 0 && why && strstr(why, "deep") : rc == 0 && doc_validate(out,
              body_len) == 0, "%zu nested arrays: %d (%s)", depth, rc, why ? why : "");
        free(out);
    }
    static const uint8_t k_ok[] = {SDICT_MAGIC, 7, 1, 2, 'a', 'b', 0x80}; /* the control */
    CHECK(try_decode(k_ok, sizeof k_ok, 7) == 0, "a well-formed reference was refused");

    uint8_t *copy = malloc(enc.len);
    REQUIRE(copy != NULL, "oom");
    size_t ok = 0;
    for (unsigned k = 0; k < 20000; k++) { /* flips: an error, or some bytes; no crash */
        memcpy(copy, enc.data, enc.len);
        for (unsigned f = 0; f < 1 + k % 4; f++) copy[rnd(enc.len)] ^= (uint8_t)(1u << rnd(8));
        ok += try_decode(copy, enc.len, body.len) == 0;
    }
    for (unsigned k = 0; k < 2000; k++) { /* random bytes after the magic */
        size_t n = 1 + (size_t)rnd(300);
        for (size_t i = 0; i < n; i++) copy[i] = (uint8_t)test_rand();
        copy[0] = SDICT_MAGIC;
        (void)try_decode(copy, n, (size_t)rnd(2000));
    }
    printf("flips: %zu of 20000 decoded to the right length\n", ok);
    free(copy);
    buf_release(&enc);
    buf_release(&body);
}

/* Malformed SDOC given to the encoder: raw, or an encoding that round-trips exactly. */
static void test_encoder_on_malformed(void)
{
    buf body, enc;
    buf_init(&body);
    make_edges(&body, 200);
    add_random_doc(&body, 40, 300);
    unsigned encoded = 0;
    for (unsigned k = 0; k < 3000; k++) {
        size_t off = (size_t)rnd(body.len);
        uint8_t bit = (uint8_t)(1u << rnd(8));
        body.data[off] ^= bit;
        size_t len = k % 3 == 0 ? (size_t)rnd(body.len + 1) : body.len; /* or cut */
        buf b = {body.data, len, body.cap};
        encoded += round_trip(&b, &enc, "flipped SDOC") == 1;
        buf_release(&enc);
        body.data[off] ^= bit;
    }
    printf("flipped SDOC: %u of 3000 encoded (and round-tripped)\n", encoded);
    buf_release(&body);
}

/* sdict_unpack of a malloc'd copy of src expecting want bytes: its status; the result
 * (or the copy, unchanged on an error) in *out and *len, freed by the caller. */
static stele_status unpack_copy(const buf *src, size_t want, uint8_t **out, size_t *len,
                                const char **why)
{
    *out = malloc(src->len ? src->len : 1);
    if (!*out) return STELE_ENOMEM;
    memcpy(*out, src->data, src->len);
    *len = src->len;
    return sdict_unpack(out, len, want, why);
}

static void test_unpack(void)
{
    buf body, enc;
    buf_init(&body);
    make_edges(&body, 100);
    REQUIRE(round_trip(&body, &enc, "unpack") == 1, "not encoded");
    const char *why;
    uint8_t *p;
    size_t len;
    CHECK(unpack_copy(&body, body.len, &p, &len, &why) == STELE_OK && len == body.len &&
          memcmp(p, body.data, len) == 0, "a raw body was changed");
    free(p);
    CHECK(unpack_copy(&enc, body.len, &p, &len, &why) == STELE_OK && len == body.len &&
          memcmp(p, body.data, len) == 0, "an encoded body did not unpack");
    free(p);
    CHECK(unpack_copy(&enc, body.len + 3, &p, &len, &why) == STELE_ECORRUPT && why &&
          len == enc.len && memcmp(p, enc.data, len) == 0, "a wrong length unpacked");
    REQUIRE(p != NULL, "oom");
    p[0] = 0x42;
    CHECK(sdict_unpack(&p, &len, body.len, &why) == STELE_ECORRUPT && why,
          "an unknown encoding unpacked");
    free(p);
    buf_release(&enc);
    buf_release(&body);
}

int main(void)
{
    TEST_RUN(test_random_round_trips);
    TEST_RUN(test_edge_cases);
    TEST_RUN(test_dictionary_bound);
    TEST_RUN(test_shrinks);
    TEST_RUN(test_malformed);
    TEST_RUN(test_encoder_on_malformed);
    TEST_RUN(test_unpack);
    return test_summary();
}
