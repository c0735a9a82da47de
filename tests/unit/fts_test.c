/*
 * fts_test.c — the full-text index (src/index/fts.h): tokenizer cases (case, accents,
 * NFKC, CJK, apostrophes, digits, punctuation, invalid UTF-8, long words), stemming,
 * prefix terms, AND/exclusion semantics, query errors, updates and deletes, reading
 * text from documents, BM25 scores against an independent computation, top-k, and a
 * random differential against brute force over the test's own token lists.
 * STELE_FTS_BENCH=1 also prints indexing throughput and search latency (not a test).
 */
#include <math.h>
#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/fts.h"
#include "model/doc.h"
#include "model/state.h"
#include "testutil.h"
#include "util/util.h"

/* ---- helpers ---- */

typedef struct joined {
    char s[4096];
    size_t n;
} joined;

static int join_token(void *ctx, const char *tok, size_t len)
{
    joined *j = ctx;
    if (j->n + len + 2 > sizeof j->s) return 1;
    if (j->n) j->s[j->n++] = '|';
    memcpy(j->s + j->n, tok, len);
    j->n += len;
    j->s[j->n] = 0;
    return 0;
}

/* Tokens of text[0, len) joined by '|' (static buffer). */
static const char *toks(const char *text, size_t len)
{
    static joined j;
    j.n = 0;
    j.s[0] = 0;
    CHECK(fts_tokenize(text, len, join_token, &j) == 0, "tokenize '%s'", text);
    return j.s;
}
#define TOKS(lit) toks(lit, sizeof(lit) - 1)

static fts *new_index(void)
{
    util_err e;
    fts *f = fts_new(0, "text", NULL, &e);
    if (!f) test_fail(__FILE__, __LINE__, "fts_new: %s", e.msg);
    return f;
}

static void put(fts *f, uint32_t n, const char *text)
{
    CHECK(fts_update(f, n, text, text ? strlen(text) : 0) == 0, "update %u", n);
}

/* The matching documents of q as "0,3,5" (static buffer), or "ERR <code>". */
static const char *match(fts *f, const char *q)
{
    static char out[4096];
    roaring_bitmap_t *r;
    util_err e;
    stele_status st = fts_search(f, q, strlen(q), 0, &r, NULL, NULL, &e);
    if (st != STELE_OK) {
        snprintf(out, sizeof out, "ERR %d", (int)st);
        return out;
    }
    size_t n = 0;
    out[0] = 0;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(r, &it);
    for (; it.has_value && n + 12 < sizeof out; roaring_advance_uint32_iterator(&it))
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%u", n ? "," : "", it.current_value);
    roaring_bitmap_free(r);
    return out;
}

#define MATCH(f, q, want) do {                                                 \
        const char *got_ = match(f, q);                                        \
        CHECK(strcmp(got_, want) == 0, "query '%s': got '%s', want '%s'", q, got_, want); \
    } while (0)

/* ---- tokenizer ---- */

static void test_tokenizer(void)
{
    CHECK(strcmp(TOKS("Hello, World!"), "hello|world") == 0, "case and punctuation: %s",
          TOKS("Hello, World!"));
    CHECK(strcmp(TOKS("Café CAFÉ cafe\xcc\x81 naïve"), "cafe|cafe|cafe|naive") == 0,
          "accents, precomposed and combining");
    CHECK(strcmp(TOKS("\xef\xac\x81ne \xef\xbc\xa6\xef\xbd\x95ll x\xc2\xb2"),
                 "fine|full|x2") == 0,
          "NFKC: ligature, fullwidth, superscript: %s",
          TOKS("\xef\xac\x81ne \xef\xbc\xa6\xef\xbd\x95ll x\xc2\xb2"));
    CHECK(strcmp(TOKS("Straße ΣΊΣΥΦΟΣ"), "strasse|σισυφοσ") == 0, "case folding: %s",
          TOKS("Straße ΣΊΣΥΦΟΣ"));
    CHECK(strcmp(TOKS("don't O\xe2\x80\x99Neil 'quoted'"), "dont|oneil|quoted") == 0,
          "apostrophes: %s", TOKS("don't O\xe2\x80\x99Neil 'quoted'"));
    CHECK(strcmp(TOKS("e-mail snake_case 3.14 abc123 #tag"),
                 "e|mail|snake|case|3|14|abc123|tag") == 0,
          "separators and digits: %s", TOKS("e-mail snake_case 3.14 abc123 #tag"));
    CHECK(strcmp(TOKS("東京タワー to"), "東|京|タ|ワ|ー|to") == 0, "CJK one per char: %s",
          TOKS("東京タワー to"));
    CHECK(strcmp(TOKS("한국어 텍스트"), "한국어|텍스트") == 0, "Hangul runs recomposed: %s",
          TOKS("한국어 텍스트"));
    CHECK(strcmp(TOKS("ab\xff" "cd\xc3 \xed\xa0\x80z"), "ab|cd|z") == 0,
          "invalid UTF-8 separates: %s", TOKS("ab\xff" "cd\xc3 \xed\xa0\x80z"));
    CHECK(strcmp(TOKS("co\xc2\xadoperate a\0b"), "cooperate|a|b") == 0,
          "soft hyphen joins, NUL separates: %s", TOKS("co\xc2\xadoperate a\0b"));
    CHECK(strcmp(TOKS(""), "") == 0 && strcmp(TOKS(" ... !!! "), "") == 0, "no tokens");
    char longw[200];
    memset(longw, 'a', 150);
    memcpy(longw + 150, " b", 3);
    const char *t = toks(longw, strlen(longw));
    CHECK(strlen(t) == FTS_TOKEN_MAX + 2 && strcmp(t + FTS_TOKEN_MAX, "|b") == 0,
          "a long word is cut at FTS_TOKEN_MAX: %zu", strlen(t));
    /* a cut never splits a code point: 40 two-byte letters give 32 of them */
    char greek[200] = "";
    for (int i = 0; i < 40; i++) strcat(greek, "\xce\xb1");
    CHECK(strlen(toks(greek, strlen(greek))) == 64, "cut at a code point boundary");
}

/* ---- search semantics ---- */

static void test_stemming_and_prefix(void)
{
    fts *f = new_index();
    REQUIRE(f != NULL, "index");
    put(f, 0, "He was running fast");
    put(f, 1, "she runs daily");
    put(f, 2, "a run in the park");
    put(f, 3, "the runner and the rugby player");
    put(f, 4, "happy days");
    MATCH(f, "running", "0,1,2");
    MATCH(f, "RUN", "0,1,2");
    MATCH(f, "run*", "0,1,2,3");
    MATCH(f, "ru*", "0,1,2,3");
    MATCH(f, "runni*", "0,1,2"); /* stem-consistent: "running" expands to the term "run" */
    MATCH(f, "rug*", "3");
    MATCH(f, "happy*", "4");     /* over the unstemmed word: its stem is "happi" */
    MATCH(f, "happ*", "4");
    MATCH(f, "zzz*", "");
    MATCH(f, "-rug* run*", "0,1,2");
    put(f, 3, NULL); /* the only rugby document goes: the prefix no longer expands */
    MATCH(f, "rug*", "");
    MATCH(f, "run*", "0,1,2");
    CHECK(fts_check(f) == 0, "invariants");
    fts_free(f);
}

static void test_and_exclusion_errors(void)
{
    fts *f = new_index();
    REQUIRE(f != NULL, "index");
    put(f, 0, "red apple");
    put(f, 1, "green apple");
    put(f, 2, "red cherry");
    put(f, 5, "e-mail and mail");
    MATCH(f, "apple", "0,1");
    MATCH(f, "red apple", "0");
    MATCH(f, "apple red", "0");
    MATCH(f, "apple -red", "1");
    MATCH(f, "red -apple -cherry", "");
    MATCH(f, "\"red apple\"", "0"); /* quotes separate: AND of the words */
    MATCH(f, "red banana", "");
    MATCH(f, "e-mail", "5");
    MATCH(f, "apple ???", "0,1");  /* a chunk without letters is ignored */
    util_err e;
    roaring_bitmap_t *r = NULL;
    CHECK(fts_search(f, "", 0, 0, &r, NULL, NULL, &e) == STELE_EINVAL &&
          strstr(e.msg, "empty full-text query") && r == NULL, "empty: %s", e.msg);
    CHECK(fts_search(f, "  \t ", 4, 0, &r, NULL, NULL, &e) == STELE_EINVAL &&
          strstr(e.msg, "empty"), "blank: %s", e.msg);
    CHECK(fts_search(f, "?? !!", 5, 0, &r, NULL, NULL, &e) == STELE_EINVAL &&
          strstr(e.msg, "no searchable words"), "no words: %s", e.msg);
    CHECK(fts_search(f, "-red", 4, 0, &r, NULL, NULL, &e) == STELE_EINVAL &&
          strstr(e.msg, "only excludes"), "only exclusions: %s", e.msg);
    char big[FTS_QUERY_MAX + 2];
    memset(big, 'a', sizeof big);
    CHECK(fts_search(f, big, sizeof big, 0, &r, NULL, NULL, &e) == STELE_ETOOBIG &&
          strstr(e.msg, "too long"), "too long: %s", e.msg);
    char many[400] = "";
    for (int i = 0; i <= FTS_QUERY_TERMS_MAX; i++) strcat(many, "w ");
    CHECK(fts_search(f, many, strlen(many), 0, &r, NULL, NULL, &e) == STELE_ETOOBIG &&
          strstr(e.msg, "too many words"), "too many: %s", e.msg);
    CHECK(fts_new(0, "text", "klingon", &e) == NULL && e.code == STELE_EINVAL &&
          strstr(e.msg, "'klingon'") && strstr(e.msg, "english"), "language: %s", e.msg);
    fts_free(f);
}

static void test_updates(void)
{
    fts *f = new_index();
    REQUIRE(f != NULL, "index");
    uint64_t nd, nt, terms, postings, bytes;
    put(f, 7, "apple banana apple");
    MATCH(f, "apple", "7");
    fts_stats(f, &nd, &nt);
    CHECK(nd == 1 && nt == 3, "stats %llu %llu", (unsigned long long)nd, (unsigned long long)nt);
    put(f, 7, "cherry");
    MATCH(f, "apple", "");
    MATCH(f, "banana", "");
    MATCH(f, "cherry", "7");
    fts_sizes(f, &terms, &postings, &bytes);
    CHECK(terms == 1 && postings == 1 && bytes > 0, "sizes after update: %llu %llu",
          (unsigned long long)terms, (unsigned long long)postings);
    CHECK(fts_check(f) == 0, "invariants after update");
    put(f, 7, NULL);
    MATCH(f, "cherry", "");
    fts_stats(f, &nd, &nt);
    fts_sizes(f, &terms, &postings, &bytes);
    CHECK(nd == 0 && nt == 0 && terms == 0 && postings == 0, "empty after delete");
    put(f, 3, "");
    fts_stats(f, &nd, &nt);
    CHECK(nd == 1 && nt == 0, "an empty string is an indexed document of length 0");
    CHECK(fts_check(f) == 0, "invariants after delete");
    fts_free(f);

    util_err e;
    f = fts_new(0, "t", "french", &e);
    REQUIRE(f != NULL, "french: %s", e.msg);
    put(f, 0, "il continuait");
    MATCH(f, "continuer", "0");
    CHECK(strcmp(fts_lang(f), "french") == 0 && strcmp(fts_path(f), "t") == 0, "accessors");
    fts_free(f);
}

static int version_of(const char *json, buf *b, mversion *v)
{
    b->len = 0;
    if (json_parse(json, strlen(json), b, NULL) != 0) return -1;
    memset(v, 0, sizeof *v);
    v->doc = b->data;
    v->doc_len = (uint32_t)b->len;
    return 0;
}

static void test_documents(void)
{
    util_err e;
    fts *f = fts_new(1, "body.tags", NULL, &e);
    REQUIRE(f != NULL, "index");
    buf b;
    buf_init(&b);
    mversion v;
    REQUIRE(version_of("{\"body\":{\"tags\":[\"red fox\",7,\"blue\"]}}", &b, &v) == 0, "json");
    CHECK(fts_update_doc(f, 0, &v) == 0, "update_doc array");
    MATCH(f, "fox blue", "0");
    REQUIRE(version_of("{\"body\":{\"tags\":\"green\"}}", &b, &v) == 0, "json");
    CHECK(fts_update_doc(f, 1, &v) == 0, "update_doc string");
    MATCH(f, "green", "1");
    v.deleted = 1;
    CHECK(fts_update_doc(f, 1, &v) == 0, "deleted version");
    MATCH(f, "green", "");
    REQUIRE(version_of("{\"body\":{\"tags\":{\"x\":\"fox\"}}}", &b, &v) == 0, "json");
    CHECK(fts_update_doc(f, 0, &v) == 0, "object: no text");
    MATCH(f, "fox", "");
    CHECK(fts_update_doc(f, 0, NULL) == 0, "no version");
    uint64_t nd, nt;
    fts_stats(f, &nd, &nt);
    CHECK(nd == 0, "nothing indexed");
    fts_free(f);

    /* fts_build indexes the live documents of its collection only */
    mstate *s = mstate_new();
    REQUIRE(s != NULL, "state");
    uint32_t ca, cb, n;
    uint8_t author[16] = {0};
    CHECK(mstate_coll_create(s, "a", 1, &ca) == 0 && mstate_coll_create(s, "b", 2, &cb) == 0,
          "collections");
    const char *docs[][2] = {{"a", "{\"t\":\"alpha one\"}"}, {"b", "{\"t\":\"alpha two\"}"},
                             {"a", "{\"t\":\"alpha three\"}"}, {"a", "{\"u\":\"alpha\"}"}};
    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "d%d", i);
        REQUIRE(version_of(docs[i][1], &b, &v) == 0, "json");
        CHECK(mstate_doc_put(s, docs[i][0][0] == 'a' ? ca : cb, id, strlen(id), 10 + i, 10 + i,
                             author, 0, b.data, b.len, &n) == 0, "put");
    }
    REQUIRE(version_of("{\"t\":\"alpha three\"}", &b, &v) == 0, "json");
    CHECK(mstate_doc_put(s, ca, "d2", 2, 20, 20, author, 1, b.data, b.len, &n) == 0, "delete");
    f = fts_new(ca, "t", NULL, &e);
    REQUIRE(f != NULL, "index");
    CHECK(fts_build(f, s) == 0, "build");
    MATCH(f, "alpha", "0");
    fts_free(f);
    mstate_free(s);
    buf_release(&b);
}

/* ---- BM25 against an independent computation ---- */

#define MAXW 24
typedef struct mdoc {
    int present;
    int nw;
    char w[MAXW][12]; /* the test's own tokens: lower-case ASCII, split at spaces */
} mdoc;

static void model_set(mdoc *d, const char *text)
{
    memset(d, 0, sizeof *d);
    if (!text) return;
    d->present = 1;
    const char *p = text;
    while (*p && d->nw < MAXW) {
        while (*p == ' ') p++;
        int k = 0;
        while (*p && *p != ' ' && k < 11) d->w[d->nw][k++] = *p++;
        if (k) d->nw++;
    }
}

/* The BM25 score of doc i for the query words (prefix: ends with '*', max over the
 * distinct words of the corpus with that prefix), straight from the formula. */
static double model_score(const mdoc *docs, int ndocs, int i, char q[][16], int nq)
{
    int N = 0;
    long total = 0;
    for (int d = 0; d < ndocs; d++)
        if (docs[d].present) N++, total += docs[d].nw;
    double avgdl = (double)total / N, score = 0;
    for (int k = 0; k < nq; k++) {
        if (q[k][0] == '-') continue;
        size_t ql = strlen(q[k]);
        int prefix = q[k][ql - 1] == '*';
        size_t cmp = prefix ? ql - 1 : ql + 1;
        double best = 0;
        for (int x = 0; x < docs[i].nw; x++) { /* candidate terms: the doc's own words */
            const char *t = docs[i].w[x];
            if (strncmp(t, q[k], cmp) != 0) continue;
            int tf = 0, df = 0;
            for (int y = 0; y < docs[i].nw; y++) tf += strcmp(docs[i].w[y], t) == 0;
            for (int d = 0; d < ndocs; d++) {
                int has = 0;
                for (int y = 0; y < docs[d].nw && docs[d].present; y++)
                    has |= strcmp(docs[d].w[y], t) == 0;
                df += has;
            }
            double idf = log(1 + (N - df + 0.5) / (df + 0.5));
            double w = idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * docs[i].nw / avgdl));
            if (w > best) best = w;
        }
        score += best;
    }
    return score;
}

static int model_match(const mdoc *d, char q[][16], int nq)
{
    if (!d->present) return 0;
    for (int k = 0; k < nq; k++) {
        int neg = q[k][0] == '-';
        const char *w = q[k] + neg;
        size_t l = strlen(w);
        int prefix = w[l - 1] == '*', has = 0;
        for (int x = 0; x < d->nw; x++)
            has |= prefix ? strncmp(d->w[x], w, l - 1) == 0 : strcmp(d->w[x], w) == 0;
        if (has == neg) return 0;
    }
    return 1;
}

/* Words the English stemmer leaves alone, so the model's terms are the index's. */
static const char *vocab[] = {"alpha", "bravo", "delta", "echo", "golf", "hotel", "kilo",
                              "lima", "oscar", "papa", "romeo", "sierra", "tango", "victor",
                              "zulu", "cat", "cab", "dog", "fish", "bird", "x1", "y2"};
#define NVOCAB (int)(sizeof vocab / sizeof vocab[0])

/* Runs query q[0..nq) on f and on the model; checks the set, the scores and the order. */
static void check_query(fts *f, const mdoc *docs, int ndocs, char q[][16], int nq, size_t k)
{
    char text[256] = "";
    for (int i = 0; i < nq; i++) strcat(strcat(text, q[i]), " ");
    roaring_bitmap_t *r;
    fts_hit *h = NULL;
    size_t nh = 0;
    util_err e;
    int npos = 0;
    for (int i = 0; i < nq; i++) npos += q[i][0] != '-';
    stele_status st = fts_search(f, text, strlen(text), k, &r, &h, &nh, &e);
    if (npos == 0) {
        CHECK(st == STELE_EINVAL, "only exclusions '%s' refused", text);
        return;
    }
    REQUIRE(st == STELE_OK, "search '%s': %s", text, e.msg);
    size_t want = 0;
    for (int d = 0; d < ndocs; d++) {
        int m = model_match(&docs[d], q, nq);
        want += (size_t)m;
        CHECK(m == roaring_bitmap_contains(r, (uint32_t)d), "'%s' doc %d: model says %d", text,
              d, m);
    }
    CHECK(nh == (k && k < want ? k : want), "'%s': %zu hits of %zu (k %zu)", text, nh, want, k);
    for (size_t i = 0; i < nh; i++) {
        double s = model_score(docs, ndocs, (int)h[i].doc, q, nq);
        CHECK(fabs(s - h[i].score) <= 1e-9 * (1 + fabs(s)), "'%s' doc %u score %.12f want %.12f",
              text, h[i].doc, h[i].score, s);
        CHECK(i == 0 || h[i - 1].score > h[i].score ||
              (h[i - 1].score == h[i].score && h[i - 1].doc < h[i].doc), "order at %zu", i);
    }
    if (k && nh == k) { /* nothing outside the top k scores better than the last kept */
        for (int d = 0; d < ndocs; d++) {
            if (!roaring_bitmap_contains(r, (uint32_t)d)) continue;
            int kept = 0;
            for (size_t i = 0; i < nh; i++) kept |= h[i].doc == (uint32_t)d;
            double s = model_score(docs, ndocs, d, q, nq);
            CHECK(kept || s <= h[nh - 1].score + 1e-9, "'%s' doc %d (%.6f) belongs in top %zu",
                  text, d, s, k);
        }
    }
    free(h);
    roaring_bitmap_free(r);
}

static void test_bm25(void)
{
    const char *corpus[] = {"cat dog", "cat cat cat fish", "dog bird bird", "fish",
                            "cat dog fish bird alpha bravo delta echo", "cab cab", "dog"};
    int nd = (int)(sizeof corpus / sizeof corpus[0]);
    mdoc docs[8];
    fts *f = new_index();
    REQUIRE(f != NULL, "index");
    for (int i = 0; i < nd; i++) {
        put(f, (uint32_t)i, corpus[i]);
        model_set(&docs[i], corpus[i]);
    }
    char q1[][16] = {"cat"}, q2[][16] = {"cat", "dog"}, q3[][16] = {"ca*"},
         q4[][16] = {"dog", "-bird"}, q5[][16] = {"fish", "ca*"};
    check_query(f, docs, nd, q1, 1, 0);
    check_query(f, docs, nd, q2, 2, 0);
    check_query(f, docs, nd, q3, 1, 0);
    check_query(f, docs, nd, q4, 1, 0);
    check_query(f, docs, nd, q5, 2, 1);
    /* a known order: "cat" ranks the doc with three of them first, the long doc last */
    roaring_bitmap_t *r;
    fts_hit *h;
    size_t nh;
    util_err e;
    REQUIRE(fts_search(f, "cat", 3, 0, &r, &h, &nh, &e) == STELE_OK, "search");
    CHECK(nh == 3 && h[0].doc == 1 && h[1].doc == 0 && h[2].doc == 4, "order %u %u %u",
          h[0].doc, h[1].doc, h[2].doc);
    CHECK(h[2].score > 0, "IDF stays positive");
    free(h);
    roaring_bitmap_free(r);
    fts_free(f);
}

static void test_random_differential(void)
{
    enum { NDOCS = 300, OPS = 900, QUERIES = 300 };
    static mdoc docs[NDOCS];
    memset(docs, 0, sizeof docs);
    fts *f = new_index();
    REQUIRE(f != NULL, "index");
    for (int op = 0; op < OPS; op++) {
        int n = (int)(test_rand() % NDOCS);
        char text[512] = "";
        if (test_rand() % 8 == 0) {
            put(f, (uint32_t)n, NULL);
            model_set(&docs[n], NULL);
            continue;
        }
        int nw = (int)(test_rand() % MAXW);
        for (int i = 0; i < nw; i++)
            strcat(strcat(text, i ? " " : ""), vocab[test_rand() % NVOCAB]);
        put(f, (uint32_t)n, text);
        model_set(&docs[n], text);
        if (op % 100 == 0) CHECK(fts_check(f) == 0, "invariants at op %d", op);
    }
    CHECK(fts_check(f) == 0, "invariants");
    for (int i = 0; i < QUERIES; i++) {
        char q[3][16];
        int nq = 1 + (int)(test_rand() % 3);
        for (int k = 0; k < nq; k++) {
            const char *w = vocab[test_rand() % NVOCAB];
            int kind = (int)(test_rand() % 6); /* 0: exclusion, 1: prefix */
            if (kind == 1) snprintf(q[k], sizeof q[k], "%.*s*", 1 + (int)(test_rand() % 2), w);
            else snprintf(q[k], sizeof q[k], "%s%s", kind == 0 ? "-" : "", w);
        }
        check_query(f, docs, NDOCS, q, nq, test_rand() % 2 ? 0 : 1 + test_rand() % 10);
    }
    fts_free(f);
}

/* ---- measurement (STELE_FTS_BENCH=1): printed, never asserted ---- */

static void bench(void)
{
    static const char *words[] = {"the", "of", "and", "to", "in", "is", "that", "for", "it",
        "as", "was", "with", "be", "by", "on", "not", "he", "this", "are", "or", "his", "from",
        "at", "which", "but", "have", "an", "had", "they", "you", "were", "their", "one", "all",
        "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would",
        "who", "so", "no", "ledger", "record", "database", "running", "encrypted", "document",
        "query", "index", "history", "audit", "signature", "network", "compliance", "time"};
    size_t nwords = sizeof words / sizeof words[0];
    enum { NDOCS = 100000 };
    fts *f = new_index();
    REQUIRE(f != NULL, "index");
    char text[2048];
    uint64_t bytes = 0, t0 = util_mono_ns();
    for (uint32_t n = 0; n < NDOCS; n++) {
        size_t len = 0;
        for (int i = 0; i < 40; i++) { /* Zipf-like: low ranks far more often */
            uint64_t r = test_rand();
            size_t w = (size_t)((r % nwords) * ((r >> 32) % nwords) / nwords);
            if (test_rand() % 10 == 0) { /* and some rarer made-up words */
                len += (size_t)snprintf(text + len, sizeof text - len, "w%llu ",
                                        (unsigned long long)(test_rand() % 50000));
                continue;
            }
            len += (size_t)snprintf(text + len, sizeof text - len, "%s ", words[w]);
        }
        bytes += len;
        put(f, n, text);
    }
    double secs = (double)(util_mono_ns() - t0) / 1e9;
    uint64_t terms, postings, mem;
    fts_sizes(f, &terms, &postings, &mem);
    fflush(stdout);
    printf("fts bench: indexed %u docs, %.1f MB in %.2f s = %.1f MB/s; %llu terms, %llu "
           "postings, %.1f MB\n", (unsigned)NDOCS, bytes / 1e6, secs, bytes / 1e6 / secs,
           (unsigned long long)terms, (unsigned long long)postings, mem / 1e6);
    const char *qs[] = {"ledger", "ledger audit", "encrypted -the", "w123", "data*", "the"};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        roaring_bitmap_t *r;
        fts_hit *h;
        size_t nh;
        util_err e;
        t0 = util_mono_ns();
        int reps = 20;
        uint64_t card = 0;
        for (int j = 0; j < reps; j++) {
            REQUIRE(fts_search(f, qs[i], strlen(qs[i]), 10, &r, &h, &nh, &e) == STELE_OK,
                    "bench search %s", e.msg);
            card = roaring_bitmap_get_cardinality(r);
            free(h);
            roaring_bitmap_free(r);
        }
        printf("fts bench: '%s' top 10 of %llu matches: %.3f ms\n", qs[i],
               (unsigned long long)card, (double)(util_mono_ns() - t0) / 1e6 / reps);
    }
    fts_free(f);
}

int main(void)
{
    TEST_RUN(test_tokenizer);
    TEST_RUN(test_stemming_and_prefix);
    TEST_RUN(test_and_exclusion_errors);
    TEST_RUN(test_updates);
    TEST_RUN(test_documents);
    TEST_RUN(test_bm25);
    TEST_RUN(test_random_differential);
    const char *b = getenv("STELE_FTS_BENCH");
    if (b && *b == '1') TEST_RUN(bench);
    return test_summary();
}
