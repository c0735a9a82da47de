/*
 * text_query_test.c — `$text` filters through the public API (include/stele.h) against
 * an oracle written here, independently of src/index/fts.c and src/query:
 *  - differential: random insert/replace/patch/delete/restore ops on documents whose
 *    "bio" is words from a small vocabulary of word families (run/runs/running, ...:
 *    the families are listed, so the oracle knows every stem without a stemmer),
 *    interleaved with random $text queries (words, prefixes, exclusions, capitals)
 *    combined with $and/$or/$not/$nor and other operators; as-of queries against
 *    recorded past states (the as-of evaluator agrees with the head's index); paging a
 *    ranked result gives slices of the whole ranked list;
 *  - ranking on a small hand-made corpus where the best document is obvious;
 *  - index list and explain show the text index; errors with their messages.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stele.h"
#include "testutil.h"

static char store[600];

static stele *open_db(void)
{
    stele_open_options o = {.durability = STELE_DURABLE_NONE};
    return test_store_open(store, &o);
}

static void make_store(void) { test_store_new(store, sizeof store, 1 << 20, 500); }

static stele_status txn(stele *db, uint64_t *lsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static uint64_t g_last_lsn; /* of the last transaction committed */

static stele_status txn(stele *db, uint64_t *lsn, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char *res = NULL;
    stele_status rc = stele_txn(db, text, strlen(text), NULL, &res);
    if (rc == STELE_OK) {
        json_t *j = json_loads(res, 0, NULL);
        g_last_lsn = (uint64_t)json_integer_value(json_object_get(j, "lsn"));
        if (lsn) *lsn = g_last_lsn;
        json_decref(j);
    }
    stele_free(res);
    return rc;
}

/* ---- the vocabulary: families of words with one English (Snowball) stem each ---- */

static const char *const FAMILIES[][5] = {
    {"run", "runs", "running", NULL},     {"jump", "jumps", "jumped", "jumping", NULL},
    {"fox", "foxes", NULL},               {"dog", "dogs", NULL},
    {"read", "reads", "reading", NULL},   {"sleep", "sleeps", "sleeping", NULL},
    {"bird", "birds", NULL},              {"cat", "cats", NULL},
};
#define NFAM (int)(sizeof FAMILIES / sizeof FAMILIES[0])
#define NWORDS 20 /* words over all families */

static const char *word_at(int w, int *fam)
{
    for (int f = 0; f < NFAM; f++)
        for (int j = 0; FAMILIES[f][j]; j++)
            if (w-- == 0) {
                if (fam) *fam = f;
                return FAMILIES[f][j];
            }
    abort();
}

/* The family of a lower-case word, or -1 (a word outside the vocabulary). */
static int family_of(const char *w)
{
    for (int f = 0; f < NFAM; f++)
        for (int j = 0; FAMILIES[f][j]; j++)
            if (strcmp(FAMILIES[f][j], w) == 0) return f;
    return -1;
}

/* ---- documents ---- */

#define IDS 24

typedef struct model {
    json_t *body[IDS];
    int live[IDS];
} model;

static json_t *rand_words(void)
{
    char text[256] = "";
    int n = (int)(test_rand() % 7);
    for (int i = 0; i < n; i++) {
        char w[32];
        snprintf(w, sizeof w, "%s", word_at((int)(test_rand() % NWORDS), NULL));
        if (test_rand() % 5 == 0) w[0] = (char)(w[0] - 'a' + 'A'); /* case folds */
        strcat(text, i ? (test_rand() % 4 ? " " : ", ") : "");
        strcat(text, w);
    }
    return json_string(text);
}

/* A bio: words, an array of word strings, a number (no text), or missing (NULL). */
static json_t *rand_bio(void)
{
    switch (test_rand() % 6) {
    case 0: return NULL;
    case 1: return json_integer(7);
    case 2: {
        json_t *a = json_array();
        for (int i = (int)(test_rand() % 3); i > 0; i--) json_array_append_new(a, rand_words());
        return a;
    }
    default: return rand_words();
    }
}

static json_t *rand_body(const char *id)
{
    json_t *b = json_pack("{ss}", "_id", id);
    json_t *bio = rand_bio();
    if (bio) json_object_set_new(b, "bio", bio);
    if (test_rand() % 4) json_object_set_new(b, "n", json_integer((json_int_t)(test_rand() % 5)));
    return b;
}

/* Calls fn(ctx, word) for each lower-cased word of the document's bio text. */
static void bio_words(json_t *doc, void (*fn)(void *, const char *), void *ctx)
{
    json_t *bio = json_object_get(doc, "bio");
    size_t n = json_is_array(bio) ? json_array_size(bio) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_array(bio) ? json_array_get(bio, i) : bio;
        if (!json_is_string(s)) continue;
        char text[512];
        snprintf(text, sizeof text, "%s", json_string_value(s));
        for (char *p = text; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        char *save = NULL;
        for (char *w = strtok_r(text, " ,", &save); w; w = strtok_r(NULL, " ,", &save))
            fn(ctx, w);
    }
}

static void add_family(void *ctx, const char *w)
{
    int f = family_of(w);
    if (f >= 0) ((int *)ctx)[f] = 1;
}

static void add_word(void *ctx, const char *w)
{
    int f, *seen = ctx;
    for (int i = 0; i < NWORDS; i++)
        if (strcmp(word_at(i, &f), w) == 0) seen[i] = 1;
}

/* ---- the oracle of a query ---- */

#define QCHUNKS 3

typedef struct tquery {
    int n;
    int neg[QCHUNKS], prefix[QCHUNKS];
    char word[QCHUNKS][16]; /* lower case; a prefix without its '*' */
    char text[128];
} tquery;

static void rand_query(tquery *q)
{
    q->n = 1 + (int)(test_rand() % QCHUNKS);
    q->text[0] = 0;
    for (int i = 0; i < q->n; i++) {
        const char *w = word_at((int)(test_rand() % NWORDS), NULL);
        q->neg[i] = i > 0 && test_rand() % 3 == 0; /* the first chunk is always required */
        q->prefix[i] = test_rand() % 3 == 0;
        if (test_rand() % 15 == 0) w = "zebra";
        size_t len = strlen(w);
        if (q->prefix[i]) len = 1 + test_rand() % len;
        snprintf(q->word[i], sizeof q->word[i], "%.*s", (int)len, w);
        char chunk[24];
        snprintf(chunk, sizeof chunk, "%s%s%s%s", i ? " " : "", q->neg[i] ? "-" : "",
                 q->word[i], q->prefix[i] ? "*" : "");
        if (test_rand() % 6 == 0 && chunk[i ? 1 : 0] != '-')
            chunk[i ? 1 : 0] = (char)(chunk[i ? 1 : 0] - 'a' + 'A'); /* case folds */
        strcat(q->text, chunk);
    }
}

/* The families chunk i names, given the words present in the state (prefixes expand over
 * the words of the live documents only). */
static void chunk_families(const tquery *q, int i, const int *words_live, int *fams)
{
    memset(fams, 0, NFAM * sizeof *fams);
    if (!q->prefix[i]) {
        int f = family_of(q->word[i]);
        if (f >= 0) fams[f] = 1;
        return;
    }
    for (int w = 0; w < NWORDS; w++) {
        int f;
        const char *s = word_at(w, &f);
        if (words_live[w] && strncmp(s, q->word[i], strlen(q->word[i])) == 0) fams[f] = 1;
    }
}

static int text_match(const tquery *q, json_t *doc, const int *words_live)
{
    int has[NFAM] = {0}, fams[NFAM];
    bio_words(doc, add_family, has);
    for (int i = 0; i < q->n; i++) {
        chunk_families(q, i, words_live, fams);
        int any = 0;
        for (int f = 0; f < NFAM; f++) any |= fams[f] && has[f];
        if (any == q->neg[i]) return 0;
    }
    return 1;
}

/* ---- filters: a $text leaf combined with other operators ---- */

enum { SHAPE_ALONE, SHAPE_AND, SHAPE_OR, SHAPE_NOT, SHAPE_NOR, SHAPE_EXISTS, SHAPES };

static void filter_text(int shape, const tquery *q, int k, char *out, size_t cap)
{
    char leaf[200];
    snprintf(leaf, sizeof leaf, "{\"bio\":{\"$text\":\"%s\"}}", q->text);
    switch (shape) {
    case SHAPE_ALONE: snprintf(out, cap, "%s", leaf); break;
    case SHAPE_AND: snprintf(out, cap, "{\"$and\":[%s,{\"n\":{\"$gte\":%d}}]}", leaf, k); break;
    case SHAPE_OR: snprintf(out, cap, "{\"$or\":[%s,{\"n\":%d}]}", leaf, k); break;
    case SHAPE_NOT: snprintf(out, cap, "{\"$not\":%s}", leaf); break;
    case SHAPE_NOR: snprintf(out, cap, "{\"$nor\":[%s,{\"n\":%d}]}", leaf, k); break;
    default:
        snprintf(out, cap, "{\"bio\":{\"$exists\":true,\"$text\":\"%s\"},\"n\":{\"$ne\":%d}}",
                 q->text, k);
    }
}

static int n_is(json_t *doc, int k)
{
    json_t *n = json_object_get(doc, "n");
    return json_is_integer(n) && json_integer_value(n) == k;
}

static int oracle(int shape, const tquery *q, int k, json_t *doc, const int *words_live)
{
    int t = text_match(q, doc, words_live);
    json_t *n = json_object_get(doc, "n");
    switch (shape) {
    case SHAPE_ALONE: return t;
    case SHAPE_AND: return t && json_is_integer(n) && json_integer_value(n) >= k;
    case SHAPE_OR: return t || n_is(doc, k);
    case SHAPE_NOT: return !t;
    case SHAPE_NOR: return !t && !n_is(doc, k);
    default: return t && json_object_get(doc, "bio") && !n_is(doc, k);
    }
}

/* ---- checking ---- */

/* The _ids of a find's NDJSON, in order, as indices d<i>; returns how many (-1: bad). */
static int find_ids(stele *db, const char *filter, uint64_t as_of, uint64_t offset,
                    uint64_t limit, int *ids)
{
    stele_find_opts o = {.as_of = as_of, .offset = offset, .limit = limit};
    char *out = NULL;
    if (stele_find(db, "q", filter, strlen(filter), &o, &out) != STELE_OK) {
        fprintf(stderr, "find %s: %s\n", filter, stele_errmsg(db));
        return -1;
    }
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line && n < IDS;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "_id"));
        ids[n++] = id ? atoi(id + 1) : -1;
        json_decref(j);
    }
    stele_free(out);
    return n;
}

static void live_words(const model *m, int *words_live)
{
    memset(words_live, 0, NWORDS * sizeof *words_live);
    for (int i = 0; i < IDS; i++)
        if (m->live[i]) bio_words(m->body[i], add_word, words_live);
}

static int g_hits, g_misses;

static void check_query(stele *db, const model *m, uint64_t as_of, int *wrong)
{
    tquery q;
    rand_query(&q);
    int shape = (int)(test_rand() % SHAPES), k = (int)(test_rand() % 5);
    char filter[400];
    filter_text(shape, &q, k, filter, sizeof filter);
    int words_live[NWORDS], want[IDS] = {0}, got[IDS] = {0}, ids[IDS], nwant = 0;
    live_words(m, words_live);
    for (int i = 0; i < IDS; i++)
        if (m->live[i] && oracle(shape, &q, k, m->body[i], words_live)) want[i] = 1, nwant++;
    nwant ? g_hits++ : g_misses++;
    int n = find_ids(db, filter, as_of, 0, 0, ids);
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < IDS) got[ids[i]]++;
    int same = n == nwant;
    for (int i = 0; i < IDS; i++) same &= got[i] == want[i];
    CHECK(same, "%s as of %llu: %d documents, oracle %d", filter, (unsigned long long)as_of, n,
          nwant);
    if (!same) ++*wrong;
    if (!same || n < 2) return;
    /* paging the (possibly ranked) result: a slice of the whole list */
    int off = (int)(test_rand() % (unsigned)n), lim = 1 + (int)(test_rand() % 3), page[IDS];
    int np = find_ids(db, filter, as_of, (uint64_t)off, (uint64_t)lim, page);
    int ok = np == (n - off < lim ? n - off : lim);
    for (int i = 0; ok && i < np; i++) ok = page[i] == ids[off + i];
    CHECK(ok, "%s offset %d limit %d: not a slice of the whole result", filter, off, lim);
}

static void model_copy(model *dst, const model *src)
{
    for (int i = 0; i < IDS; i++) {
        dst->body[i] = src->body[i] ? json_deep_copy(src->body[i]) : NULL;
        dst->live[i] = src->live[i];
    }
}

static void model_free(model *m)
{
    for (int i = 0; i < IDS; i++) json_decref(m->body[i]);
}

static stele_status write_body(stele *db, const char *op, const char *id, json_t *b)
{
    char *text = json_dumps(b, JSON_COMPACT);
    stele_status rc =
        strcmp(op, "insert") == 0
            ? txn(db, NULL, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"q\",\"doc\":%s}]}", text)
            : txn(db, NULL, "{\"ops\":[{\"op\":\"%s\",\"coll\":\"q\",\"id\":\"%s\",\"doc\":%s}]}",
                  op, id, text);
    free(text);
    return rc;
}

/* One random op on the database and the model. */
static void random_op(stele *db, model *m, int *bad)
{
    int i = (int)(test_rand() % IDS), kind = (int)(test_rand() % 6);
    char id[8];
    snprintf(id, sizeof id, "d%d", i);
    stele_status rc;
    if (!m->live[i] && m->body[i] && kind < 3) {
        rc = txn(db, NULL, "{\"ops\":[{\"op\":\"restore\",\"coll\":\"q\",\"id\":\"%s\"}]}", id);
        if (rc == STELE_OK) m->live[i] = 1;
    } else if (!m->live[i]) {
        json_t *b = rand_body(id);
        if ((rc = write_body(db, "insert", id, b)) == STELE_OK) {
            json_decref(m->body[i]);
            m->body[i] = json_incref(b), m->live[i] = 1;
        }
        json_decref(b);
    } else if (kind <= 1) {
        json_t *b = rand_body(id);
        if ((rc = write_body(db, "replace", id, b)) == STELE_OK) {
            json_decref(m->body[i]);
            m->body[i] = json_incref(b);
        }
        json_decref(b);
    } else if (kind <= 3) {
        json_t *bio = rand_bio(), *b = json_object();
        json_object_set_new(b, "bio", bio ? bio : json_null()); /* null: removes it */
        if ((rc = write_body(db, "patch", id, b)) == STELE_OK) {
            if (bio) json_object_set(m->body[i], "bio", bio);
            else json_object_del(m->body[i], "bio");
        }
        json_decref(b);
    } else {
        rc = txn(db, NULL, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"q\",\"id\":\"%s\"}]}", id);
        if (rc == STELE_OK) m->live[i] = 0;
    }
    if (rc != STELE_OK) {
        (*bad)++;
        fprintf(stderr, "op on %s failed: %s\n", id, stele_errmsg(db));
    }
}

#define SNAPS 6

static void test_differential(void)
{
    make_store();
    stele *db = open_db();
    REQUIRE(db && txn(db, NULL, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"q\"}]}") == 0,
            "setup");
    model m;
    memset(&m, 0, sizeof m);
    model snaps[SNAPS];
    uint64_t snap_lsn[SNAPS];
    int nsnaps = 0, bad = 0, wrong = 0;
    for (int round = 0; round < 600 && wrong < 5; round++) {
        random_op(db, &m, &bad);
        if (round % 3 == 0) check_query(db, &m, 0, &wrong);
        if (round % 100 == 50 && nsnaps < SNAPS) {
            snap_lsn[nsnaps] = g_last_lsn;
            model_copy(&snaps[nsnaps++], &m);
        }
        if (round % 7 == 0 && nsnaps) {
            int s = (int)(test_rand() % (unsigned)nsnaps);
            check_query(db, &snaps[s], snap_lsn[s], &wrong);
        }
    }
    CHECK(bad == 0, "%d ops failed", bad);
    fprintf(stderr, "text queries: %d matched some, %d nothing\n", g_hits, g_misses);
    CHECK(g_hits > 50 && g_misses > 5, "the random queries are not varied enough");
    for (int s = 0; s < nsnaps; s++) model_free(&snaps[s]);
    model_free(&m);
    stele_close(db);
}

/* ---- ranking ---- */

static void expect_order(stele *db, const char *filter, uint64_t as_of, const char *sort,
                         const int *want, int nwant)
{
    stele_find_opts o = {.as_of = as_of, .sort = sort};
    char *out = NULL;
    stele_status rc = stele_find(db, "q", filter, strlen(filter), &o, &out);
    REQUIRE(rc == STELE_OK, "%s: %s", filter, stele_errmsg(db));
    char expect[256] = "";
    for (int i = 0; i < nwant; i++)
        snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "d%d,", want[i]);
    char got[256] = "", *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(l, 0, NULL);
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s,",
                 json_string_value(json_object_get(j, "_id")));
        json_decref(j);
    }
    stele_free(out);
    CHECK(strcmp(got, expect) == 0, "%s (sort %s): got %s, want %s", filter,
          sort ? sort : "none", got, expect);
}

static void test_ranking(void)
{
    make_store();
    stele *db = open_db();
    uint64_t lsn0 = 0;
    REQUIRE(db && txn(db, NULL, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"q\"},"
                   "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"_id\":\"d0\",\"bio\":\"a dog "
                   "sleeps while a fox reads a long book about birds and cats\"}},"
                   "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"_id\":\"d1\",\"bio\":\"dog\"}},"
                   "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"_id\":\"d2\",\"bio\":\"fox "
                   "foxes fox\"}}]}") == 0 &&
                txn(db, &lsn0, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"_id\":"
                               "\"d3\",\"bio\":\"the fox and the dog\"}}]}") == 0,
            "setup: %s", stele_errmsg(db));
    /* d2 is all fox and short; d3 is short with one fox; d0 is long with one fox */
    const char *fox = "{\"bio\":{\"$text\":\"fox\"}}";
    expect_order(db, fox, 0, NULL, (int[]){2, 3, 0}, 3);
    expect_order(db, fox, 0, "_id", (int[]){0, 2, 3}, 3);
    expect_order(db, "{\"bio\":{\"$text\":\"fox -book\"}}", 0, NULL, (int[]){2, 3}, 2);
    /* a document matched through the $or without the text comes after, score 0 */
    expect_order(db, "{\"$or\":[{\"bio\":{\"$text\":\"fox\"}},{\"_id\":\"d1\"}]}", 0, NULL,
                 (int[]){2, 3, 0, 1}, 4);
    /* under $not: no ranking, doc-number order */
    expect_order(db, "{\"$not\":{\"bio\":{\"$text\":\"book\"}}}", 0, NULL, (int[]){1, 2, 3}, 3);
    /* two $text leaves: no ranking */
    expect_order(db, "{\"$or\":[{\"bio\":{\"$text\":\"dog\"}},{\"bio\":{\"$text\":\"foxes\"}}]}",
                 0, NULL, (int[]){0, 1, 2, 3}, 4);
    /* d1 becomes all dog: it ranks first for dog; as of before, d1 "dog" (shortest) led */
    REQUIRE(txn(db, NULL, "{\"ops\":[{\"op\":\"replace\",\"coll\":\"q\",\"id\":\"d3\",\"doc\":"
                          "{\"bio\":\"dog dogs dog dog\"}}]}") == 0, "replace");
    expect_order(db, "{\"bio\":{\"$text\":\"dog\"}}", 0, NULL, (int[]){3, 1, 0}, 3);
    expect_order(db, "{\"bio\":{\"$text\":\"dog\"}}", lsn0, NULL, (int[]){1, 3, 0}, 3);
    expect_order(db, fox, lsn0, NULL, (int[]){2, 3, 0}, 3);
    stele_close(db);
}

/* ---- index list, explain, errors ---- */

static void expect_error(stele *db, const char *filter, stele_status code, const char *msg)
{
    uint64_t n = 7;
    stele_status rc = stele_count(db, "q", filter, strlen(filter), 0, &n);
    CHECK(rc == code, "%s: status %d, want %d", filter, rc, code);
    CHECK(strstr(stele_errmsg(db), msg) != NULL, "%s: message '%s' lacks '%s'", filter,
          stele_errmsg(db), msg);
    CHECK(n == 7, "%s: nothing is returned on error", filter);
}

static void test_index_and_errors(void)
{
    make_store();
    stele *db = open_db();
    REQUIRE(db && txn(db, NULL, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"q\"},"
                                "{\"op\":\"insert\",\"coll\":\"q\",\"doc\":{\"bio\":\"quick "
                                "brown foxes\"}}]}") == 0, "setup");
    char *json = NULL;
    const char *f = "{\"bio\":{\"$text\":\"fox\"}}";
    REQUIRE(stele_explain(db, "q", f, strlen(f), 0, &json) == STELE_OK, "explain");
    CHECK(strstr(json, "\"index\":\"text\",\"matches\":1") != NULL, "explain: %s", json);
    stele_free(json);
    REQUIRE(stele_index_list(db, "q", &json) == STELE_OK, "list");
    CHECK(strstr(json, "\"path\":\"bio\",\"kind\":\"text\",\"explicit\":false,\"language\":"
                       "\"english\",\"built\":true,\"terms\":3,\"documents\":1,"
                       "\"postings\":3,") != NULL,
          "index list: %s", json);
    stele_free(json);
    expect_error(db, "{\"bio\":{\"$text\":3}}", STELE_EINVAL,
                 "filter on 'bio': $text takes a string");
    expect_error(db, "{\"bio\":{\"$text\":\"\"}}", STELE_EINVAL,
                 "filter on 'bio': $text: empty full-text query");
    expect_error(db, "{\"bio\":{\"$text\":\"-fox\"}}", STELE_EINVAL, "only excludes words");
    expect_error(db, "{\"bio\":{\"$text\":\"!! ??\"}}", STELE_EINVAL, "no searchable words");
    expect_error(db, "{\"$text\":\"fox\"}", STELE_EINVAL,
                 "use {\"field\": {\"$text\": \"words\"}}");
    expect_error(db, "{\"$not\":{\"bio\":{\"$text\":[\"fox\"]}}}", STELE_EINVAL,
                 "$text takes a string");
    stele_close(db);
}

int main(void)
{
    test_seed();
    TEST_RUN(test_differential);
    TEST_RUN(test_ranking);
    TEST_RUN(test_index_and_errors);
    return test_summary();
}
