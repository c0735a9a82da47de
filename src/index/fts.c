/*
 * fts.c — see fts.h. Layer: index.
 * Sections: the tokenizer; string tables (interning, used for terms and for words);
 * the index (forward lists, bitmaps, update); queries (parse, match, BM25, top-k).
 */
#include "index/fts.h"

#include <libstemmer.h>
#include <math.h>
#include <roaring/roaring.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "model/doc.h"
#include "model/txn.h"
#include "util/strtab.h"

/* ---- tokenizer ---- */

#define TOK_OPTS (UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | \
                  UTF8PROC_STRIPMARK | UTF8PROC_IGNORE)
#define DECOMP_MAX 32 /* code points of one mapped code point (Unicode's longest is 18) */

typedef struct tokstate {
    utf8proc_int32_t cp[FTS_TOKEN_MAX]; /* the token so far, decomposed */
    size_t ncp, nbytes;                 /* code points, and their UTF-8 length */
    int nonascii;                       /* a code point >= 0x80: compose at the end */
    int full;                           /* FTS_TOKEN_MAX reached: skip the rest */
} tokstate;

static int is_word_cp(utf8proc_int32_t c)
{
    if (c < 0x80) /* the common case, without a table lookup */
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* Han ideographs, Hiragana, Katakana: one token per code point (fts.h, rule 4). */
static int is_single_cp(utf8proc_int32_t c)
{
    return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0x20000 && c <= 0x3FFFF);
}

/* Emits the pending token (if any) and resets ts. */
static int tok_flush(tokstate *ts, fts_token_fn fn, void *ctx)
{
    if (ts->ncp == 0) return 0;
    utf8proc_ssize_t n = (utf8proc_ssize_t)ts->ncp;
    if (ts->nonascii) n = utf8proc_normalize_utf32(ts->cp, n, UTF8PROC_COMPOSE);
    if (n <= 0) n = (utf8proc_ssize_t)ts->ncp; /* cannot fail on valid code points */
    char out[FTS_TOKEN_MAX + 4];
    size_t len = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++)
        len += (size_t)utf8proc_encode_char(ts->cp[i], (utf8proc_uint8_t *)out + len);
    STELE_ASSERT(len >= 1 && len <= FTS_TOKEN_MAX);
    ts->ncp = ts->nbytes = 0;
    ts->full = ts->nonascii = 0;
    return fn(ctx, out, len);
}

static size_t utf8_len(utf8proc_int32_t c)
{
    return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/* Feeds one mapped code point to the token state. */
static int tok_feed(tokstate *ts, utf8proc_int32_t c, fts_token_fn fn, void *ctx)
{
    if (c == '\'' || c == 0x2019) return 0; /* dropped, not a separator */
    if (!is_word_cp(c)) return tok_flush(ts, fn, ctx);
    if (is_single_cp(c)) {
        int rc = tok_flush(ts, fn, ctx);
        if (rc != 0) return rc;
        ts->cp[0] = c;
        ts->ncp = 1;
        return tok_flush(ts, fn, ctx);
    }
    if (ts->full) return 0;
    if (ts->nbytes + utf8_len(c) > FTS_TOKEN_MAX || ts->ncp == FTS_TOKEN_MAX) {
        ts->full = 1;
        return 0;
    }
    ts->cp[ts->ncp++] = c;
    ts->nbytes += utf8_len(c);
    ts->nonascii |= c >= 0x80;
    return 0;
}

int fts_tokenize(const char *text, size_t len, fts_token_fn fn, void *ctx)
{
    tokstate ts = {.ncp = 0};
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    size_t i = 0;
    while (i < len) { /* each turn consumes >= 1 byte */
        utf8proc_int32_t c, d[DECOMP_MAX];
        if (p[i] < 0x80) { /* ASCII maps to itself, lower-cased (as utf8proc would) */
            c = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
            int rc = tok_feed(&ts, c, fn, ctx);
            if (rc != 0) return rc;
            i++;
            continue;
        }
        utf8proc_ssize_t step = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (step <= 0) { /* invalid UTF-8: a separator, skip one byte */
            int rc = tok_flush(&ts, fn, ctx);
            if (rc != 0) return rc;
            i++;
            continue;
        }
        i += (size_t)step;
        /* 0 code points: a mark or a default-ignorable code point, dropped without
         * separating ("cafe\u0301", "co\u00ADoperate"); an error cannot happen on a
         * decoded code point, but would separate */
        utf8proc_ssize_t nd = utf8proc_decompose_char(c, d, DECOMP_MAX, TOK_OPTS, NULL);
        if (nd < 0 || nd > DECOMP_MAX) {
            d[0] = ' ';
            nd = 1;
        }
        for (utf8proc_ssize_t j = 0; j < nd; j++) {
            int rc = tok_feed(&ts, d[j], fn, ctx);
            if (rc != 0) return rc;
        }
    }
    return tok_flush(&ts, fn, ctx);
}

/* ---- the index ---- */

/* A document's forward list: nterm (term id, tf) pairs sorted by term id, then nword
 * distinct word ids sorted; len = tokens (sum of tf). */
typedef struct fdoc {
    uint32_t *v;
    uint32_t nterm, nword, len;
} fdoc;

struct fts {
    uint32_t coll;
    char path[FTS_PATH_MAX + 1];
    char lang[FTS_LANG_MAX + 1];
    struct sb_stemmer *stemmer;
    strtab terms;               /* stems */
    roaring_bitmap_t **tdocs;   /* per term: its documents */
    uint32_t tcap;
    strtab words;               /* normalized unstemmed tokens */
    uint32_t *wterm;            /* per word: its term */
    uint32_t *wdocs;            /* per word: documents listing it */
    uint32_t wcap;
    uint32_t *wsorted;          /* word ids [0, nsorted) in string order */
    uint32_t nsorted, sortcap;
    fdoc *docs;                 /* forward lists by doc number */
    uint32_t dcap;
    roaring_bitmap_t *all;      /* documents with text */
    uint64_t total_len;         /* sum of document lengths */
    uint64_t npostings;         /* sum of nterm */
};

void fts_free(fts *f)
{
    if (!f) return;
    if (f->stemmer) sb_stemmer_delete(f->stemmer);
    for (uint32_t i = 0; i < f->terms.n; i++) roaring_bitmap_free(f->tdocs[i]);
    for (uint32_t i = 0; i < f->dcap; i++) free(f->docs[i].v);
    strtab_release(&f->terms);
    strtab_release(&f->words);
    free(f->tdocs);
    free(f->wterm);
    free(f->wdocs);
    free(f->wsorted);
    free(f->docs);
    if (f->all) roaring_bitmap_free(f->all);
    free(f);
}

static stele_status lang_unknown(util_err *e, const char *lang)
{
    char names[1024];
    txn_lang_names(names, sizeof names);
    return util_fail(e, STELE_EINVAL, "unknown full-text language '%.*s' (known: %s)",
                     FTS_LANG_MAX, lang, names);
}

fts *fts_new(uint32_t coll, const char *path, const char *lang, util_err *e)
{
    if (!lang) lang = "english";
    if (strlen(path) > FTS_PATH_MAX) {
        util_fail(e, STELE_EINVAL, "full-text path too long: %zu bytes (limit %d)",
                  strlen(path), FTS_PATH_MAX);
        return NULL;
    }
    if (strlen(lang) > FTS_LANG_MAX) {
        lang_unknown(e, lang);
        return NULL;
    }
    fts *f = calloc(1, sizeof *f);
    if (!f || !(f->all = roaring_bitmap_create())) {
        free(f);
        util_fail(e, STELE_ENOMEM, "full-text index: out of memory");
        return NULL;
    }
    f->coll = coll;
    util_strlcpy(f->path, path, sizeof f->path);
    util_strlcpy(f->lang, lang, sizeof f->lang);
    buf_init(&f->terms.chars);
    buf_init(&f->words.chars);
    if (!txn_lang_known(lang)) {
        fts_free(f);
        lang_unknown(e, lang);
        return NULL;
    }
    f->stemmer = sb_stemmer_new(lang, "UTF_8");
    if (!f->stemmer) {
        fts_free(f);
        util_fail(e, STELE_ENOMEM, "full-text index: out of memory for the '%s' stemmer", lang);
        return NULL;
    }
    return f;
}

uint32_t fts_coll(const fts *f) { return f->coll; }
const char *fts_path(const fts *f) { return f->path; }
const char *fts_lang(const fts *f) { return f->lang; }

/* Grows a u32 array to hold at least `need` entries. */
static int grow_u32(uint32_t **a, uint32_t *cap, uint32_t need)
{
    if (need <= *cap) return 0;
    uint32_t c = *cap ? *cap : 256;
    while (c < need) c = c > UINT32_MAX / 2 ? UINT32_MAX : c * 2;
    uint32_t *p = realloc(*a, (size_t)c * sizeof *p);
    if (!p) return -1;
    *a = p;
    *cap = c;
    return 0;
}

/* The term id of stem s, adding it; STRTAB_NONE on out of memory. */
static uint32_t term_intern(fts *f, const char *s, size_t len)
{
    uint32_t t = strtab_find(&f->terms, s, len);
    if (t != STRTAB_NONE) return t;
    if (f->terms.n + 1 > f->tcap) {
        uint32_t cap = f->tcap ? f->tcap * 2 : 256;
        roaring_bitmap_t **p = realloc(f->tdocs, (size_t)cap * sizeof *p);
        if (!p) return STRTAB_NONE;
        f->tdocs = p;
        f->tcap = cap;
    }
    roaring_bitmap_t *bm = roaring_bitmap_create();
    if (!bm) return STRTAB_NONE;
    t = strtab_add(&f->terms, s, len);
    if (t == STRTAB_NONE) {
        roaring_bitmap_free(bm);
        return STRTAB_NONE;
    }
    f->tdocs[t] = bm;
    return t;
}

/* Stems tok into the index's stemmer; *out borrowed until the next stem call. */
static int stem(fts *f, const char *tok, size_t len, const char **out, size_t *olen)
{
    const sb_symbol *s = sb_stemmer_stem(f->stemmer, (const sb_symbol *)tok, (int)len);
    if (!s) return -1;
    int n = sb_stemmer_length(f->stemmer);
    if (n <= 0) { /* keep the word itself rather than an empty term */
        *out = tok;
        *olen = len;
    } else {
        *out = (const char *)s;
        *olen = (size_t)n;
    }
    return 0;
}

/* The word id of token tok, adding it with its stem's term; STRTAB_NONE on OOM. */
static uint32_t word_intern(fts *f, const char *tok, size_t len)
{
    uint32_t w = strtab_find(&f->words, tok, len);
    if (w != STRTAB_NONE) return w;
    const char *s;
    size_t slen;
    if (stem(f, tok, len, &s, &slen) != 0) return STRTAB_NONE;
    uint32_t t = term_intern(f, s, slen);
    if (t == STRTAB_NONE) return STRTAB_NONE;
    if (f->words.n + 1 > f->wcap) { /* wterm and wdocs share wcap */
        uint32_t cap = f->wcap ? f->wcap * 2 : 256;
        uint32_t *a = realloc(f->wterm, (size_t)cap * sizeof *a);
        if (!a) return STRTAB_NONE;
        f->wterm = a;
        uint32_t *b = realloc(f->wdocs, (size_t)cap * sizeof *b);
        if (!b) return STRTAB_NONE;
        f->wdocs = b;
        f->wcap = cap;
    }
    w = strtab_add(&f->words, tok, len);
    if (w == STRTAB_NONE) return STRTAB_NONE;
    f->wterm[w] = t;
    f->wdocs[w] = 0;
    return w;
}

typedef struct u32vec {
    uint32_t *v;
    uint32_t n, cap;
} u32vec;

typedef struct collect {
    fts *f;
    u32vec ids;
} collect;

static int collect_token(void *ctx, const char *tok, size_t len)
{
    collect *c = ctx;
    uint32_t w = word_intern(c->f, tok, len);
    if (w == STRTAB_NONE || c->ids.n == UINT32_MAX - 1) return -1;
    if (grow_u32(&c->ids.v, &c->ids.cap, c->ids.n + 1) != 0) return -1;
    c->ids.v[c->ids.n++] = w;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_pair(const void *a, const void *b) { return cmp_u32(a, b); }

/* Builds the forward list of a token sequence of word ids (sorted in place). */
static int forward_build(const fts *f, u32vec *ids, fdoc *out)
{
    memset(out, 0, sizeof *out);
    if (ids->n == 0) return 0;
    qsort(ids->v, ids->n, sizeof *ids->v, cmp_u32);
    uint32_t nword = 1;
    for (uint32_t i = 1; i < ids->n; i++) nword += ids->v[i] != ids->v[i - 1];
    /* pairs (term, tf) per distinct word, then merged by term */
    uint32_t *v = malloc(((size_t)nword * 3) * sizeof *v);
    if (!v) return -1;
    uint32_t k = 0;
    for (uint32_t i = 0; i < ids->n; i++) {
        if (i > 0 && ids->v[i] == ids->v[i - 1]) {
            v[2 * (k - 1) + 1]++;
            continue;
        }
        v[2 * nword + k] = ids->v[i];
        v[2 * k] = f->wterm[ids->v[i]];
        v[2 * k + 1] = 1;
        k++;
    }
    STELE_ASSERT(k == nword);
    qsort(v, nword, 2 * sizeof *v, cmp_pair);
    uint32_t nterm = 0;
    for (uint32_t i = 0; i < nword; i++) {
        if (nterm > 0 && v[2 * (nterm - 1)] == v[2 * i]) {
            v[2 * (nterm - 1) + 1] += v[2 * i + 1];
            continue;
        }
        v[2 * nterm] = v[2 * i];
        v[2 * nterm + 1] = v[2 * i + 1];
        nterm++;
    }
    memmove(v + 2 * nterm, v + 2 * nword, (size_t)nword * sizeof *v);
    out->v = v;
    out->nterm = nterm;
    out->nword = nword;
    out->len = ids->n;
    return 0;
}

/* Adds (sign 1) or removes (sign -1) a forward list's postings for doc n. */
static void forward_apply(fts *f, uint32_t n, const fdoc *d, int sign)
{
    for (uint32_t i = 0; i < d->nterm; i++) {
        if (sign > 0) roaring_bitmap_add(f->tdocs[d->v[2 * i]], n);
        else roaring_bitmap_remove(f->tdocs[d->v[2 * i]], n);
    }
    for (uint32_t i = 0; i < d->nword; i++) {
        uint32_t w = d->v[2 * d->nterm + i];
        STELE_ASSERT(sign > 0 || f->wdocs[w] > 0);
        f->wdocs[w] = sign > 0 ? f->wdocs[w] + 1 : f->wdocs[w] - 1;
    }
    if (sign > 0) {
        f->total_len += d->len;
        f->npostings += d->nterm;
    } else {
        STELE_ASSERT(f->total_len >= d->len && f->npostings >= d->nterm);
        f->total_len -= d->len;
        f->npostings -= d->nterm;
    }
}

static int docs_grow(fts *f, uint32_t n)
{
    if (n < f->dcap) return 0;
    uint32_t cap = f->dcap ? f->dcap : 1024;
    while (cap <= n) cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
    fdoc *p = realloc(f->docs, (size_t)cap * sizeof *p);
    if (!p) return -1;
    memset(p + f->dcap, 0, (size_t)(cap - f->dcap) * sizeof *p);
    f->docs = p;
    f->dcap = cap;
    return 0;
}

int fts_update(fts *f, uint32_t n, const char *text, size_t len)
{
    STELE_ASSERT(f != NULL && n != UINT32_MAX);
    if (docs_grow(f, n) != 0) return -1;
    fdoc now = {0};
    if (text) {
        collect c = {.f = f};
        int rc = fts_tokenize(text, len, collect_token, &c);
        if (rc == 0) rc = forward_build(f, &c.ids, &now);
        free(c.ids.v);
        if (rc != 0) return -1;
    }
    fdoc *d = &f->docs[n];
    if (roaring_bitmap_contains(f->all, n)) forward_apply(f, n, d, -1);
    free(d->v);
    *d = now;
    if (text) {
        forward_apply(f, n, d, 1);
        roaring_bitmap_add(f->all, n);
    } else {
        roaring_bitmap_remove(f->all, n);
    }
    return 0;
}

/* The text of version v at f's path into t (strings of an array joined by '\n');
 * 1 if there is text, 0 if none, -1 on out of memory. */
static int doc_text(const fts *f, const mversion *v, buf *t)
{
    doc_view at, el;
    const char *s;
    size_t n;
    if (!v || v->deleted || doc_path(v->doc, v->doc_len, f->path, &at) != 1) return 0;
    if (doc_type(at) == SDOC_STRING) {
        if (doc_string(at, &s, &n) != 0) return 0;
        return buf_append(t, s, n) != 0 ? -1 : 1;
    }
    uint32_t count;
    if (doc_type(at) != SDOC_ARRAY || doc_count(at, &count) != 0) return 0;
    int found = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (doc_index(at.p, at.len, i, &el) != 1 || doc_type(el) != SDOC_STRING ||
            doc_string(el, &s, &n) != 0)
            continue;
        if ((found && buf_append(t, "\n", 1) != 0) || buf_append(t, s, n) != 0) return -1;
        found = 1;
    }
    return found;
}

int fts_update_doc(fts *f, uint32_t n, const mversion *now)
{
    buf t;
    buf_init(&t);
    int has = doc_text(f, now, &t);
    const char *text = !has ? NULL : t.data ? (const char *)t.data : ""; /* "" is text */
    int rc = has < 0 ? -1 : fts_update(f, n, text, t.len);
    buf_release(&t);
    return rc;
}

int fts_build(fts *f, const mstate *s)
{
    for (uint32_t n = 0; n < mstate_doc_count(s); n++) {
        if (mstate_doc_coll(s, n) != f->coll) continue;
        const mversion *v = mstate_doc_get(s, n, UINT64_MAX);
        if (v && !v->deleted && fts_update_doc(f, n, v) != 0) return -1;
    }
    return 0;
}

void fts_sizes(const fts *f, uint64_t *terms, uint64_t *postings, uint64_t *bytes)
{
    uint64_t live = 0, b = sizeof *f + strtab_bytes(&f->terms) + strtab_bytes(&f->words);
    for (uint32_t i = 0; i < f->terms.n; i++) {
        live += !roaring_bitmap_is_empty(f->tdocs[i]);
        b += roaring_bitmap_size_in_bytes(f->tdocs[i]) + sizeof(void *);
    }
    b += (uint64_t)f->wcap * 8 + (uint64_t)f->sortcap * 4 + (uint64_t)f->dcap * sizeof(fdoc);
    b += f->npostings * 8 + roaring_bitmap_size_in_bytes(f->all);
    for (uint32_t i = 0; i < f->dcap; i++) b += (uint64_t)f->docs[i].nword * 4;
    *terms = live;
    *postings = f->npostings;
    *bytes = b;
}

void fts_stats(const fts *f, uint64_t *ndocs, uint64_t *ntokens)
{
    *ndocs = roaring_bitmap_get_cardinality(f->all);
    *ntokens = f->total_len;
}

int fts_check(const fts *f)
{
    uint64_t total = 0, post = 0, card = 0;
    uint32_t *wd = calloc(f->words.n + 1, sizeof *wd);
    if (!wd) return -1;
    int bad = 0;
    for (uint32_t n = 0; n < f->dcap && !bad; n++) {
        const fdoc *d = &f->docs[n];
        int has = roaring_bitmap_contains(f->all, n);
        if (!has && d->v) bad = 1;
        uint64_t len = 0;
        for (uint32_t i = 0; i < d->nterm && !bad; i++) {
            bad |= d->v[2 * i + 1] == 0 || (i && d->v[2 * i] <= d->v[2 * i - 2]) ||
                   d->v[2 * i] >= f->terms.n || !roaring_bitmap_contains(f->tdocs[d->v[2 * i]], n);
            len += d->v[2 * i + 1];
        }
        for (uint32_t i = 0; i < d->nword && !bad; i++) {
            uint32_t w = d->v[2 * d->nterm + i];
            bad |= w >= f->words.n;
            if (!bad) wd[w]++;
        }
        bad |= len != d->len;
        total += d->len;
        post += d->nterm;
    }
    for (uint32_t t = 0; t < f->terms.n && !bad; t++)
        card += roaring_bitmap_get_cardinality(f->tdocs[t]);
    for (uint32_t w = 0; w < f->words.n && !bad; w++) bad |= wd[w] != f->wdocs[w];
    free(wd);
    bad |= total != f->total_len || post != f->npostings || card != post;
    return bad ? -1 : 0;
}

/* ---- queries ---- */

typedef struct qterm {
    int neg, prefix;
    size_t len;
    char tok[FTS_TOKEN_MAX];
} qterm;

typedef struct qparse {
    qterm t[FTS_QUERY_TERMS_MAX];
    size_t n, npos;
    int neg;      /* the chunk being tokenized is an exclusion */
    int too_many; /* more than FTS_QUERY_TERMS_MAX tokens */
} qparse;

static int query_token(void *ctx, const char *tok, size_t len)
{
    qparse *p = ctx;
    if (p->n == FTS_QUERY_TERMS_MAX) {
        p->too_many = 1;
        return 1;
    }
    qterm *t = &p->t[p->n++];
    t->neg = p->neg;
    t->prefix = 0;
    t->len = len;
    memcpy(t->tok, tok, len);
    p->npos += !p->neg;
    return 0;
}

static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Splits q into chunks at ASCII whitespace; a chunk "-x" excludes, "x*" is a prefix
 * (on its last token); each chunk is tokenized like document text. */
static stele_status query_parse(const char *q, size_t len, qparse *p, util_err *e)
{
    if (len > FTS_QUERY_MAX)
        return util_fail(e, STELE_ETOOBIG, "full-text query too long: %zu bytes (limit %d)",
                         len, FTS_QUERY_MAX);
    size_t i = 0, chunks = 0;
    while (i < len) {
        while (i < len && is_space(q[i])) i++;
        size_t a = i;
        while (i < len && !is_space(q[i])) i++;
        size_t b = i;
        if (a == b) break;
        chunks++;
        p->neg = b - a > 1 && q[a] == '-';
        a += (size_t)p->neg;
        int prefix = b - a > 1 && q[b - 1] == '*';
        b -= (size_t)prefix;
        size_t before = p->n;
        (void)fts_tokenize(q + a, b - a, query_token, p);
        if (p->too_many)
            return util_fail(e, STELE_ETOOBIG, "full-text query has too many words (limit %d)",
                             FTS_QUERY_TERMS_MAX);
        if (prefix && p->n > before) p->t[p->n - 1].prefix = 1;
    }
    if (chunks == 0)
        return util_fail(e, STELE_EINVAL, "empty full-text query: give at least one word");
    if (p->n == 0)
        return util_fail(e, STELE_EINVAL, "full-text query '%.*s' has no searchable words "
                         "(a word needs a letter or a digit)", (int)(len > 80 ? 80 : len), q);
    if (p->npos == 0)
        return util_fail(e, STELE_EINVAL, "full-text query '%.*s' only excludes words "
                         "('-word'): add a word to match", (int)(len > 80 ? 80 : len), q);
    return STELE_OK;
}

typedef struct wref {
    const char *s;
    uint32_t len, id;
} wref;

static int str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int wref_cmp(const void *x, const void *y)
{
    const wref *a = x, *b = y;
    return str_cmp(a->s, a->len, b->s, b->len);
}

/* Extends the by-string word order to the words added since the last search: sorts
 * the new ones and merges them in. -1 on out of memory. */
static int words_sort(fts *f)
{
    uint32_t n = f->words.n, old = f->nsorted;
    if (old == n) return 0;
    wref *tail = malloc((size_t)(n - old) * sizeof *tail);
    uint32_t *out = malloc((size_t)n * sizeof *out);
    if (!tail || !out) {
        free(tail);
        free(out);
        return -1;
    }
    for (uint32_t i = old; i < n; i++) {
        size_t l;
        tail[i - old].s = strtab_get(&f->words, i, &l);
        tail[i - old].len = (uint32_t)l;
        tail[i - old].id = i;
    }
    qsort(tail, n - old, sizeof *tail, wref_cmp);
    uint32_t i = 0, j = 0, k = 0;
    while (i < old || j < n - old) {
        int take_old = j == n - old;
        if (i < old && j < n - old) {
            size_t l;
            const char *s = strtab_get(&f->words, f->wsorted[i], &l);
            take_old = str_cmp(s, l, tail[j].s, tail[j].len) < 0;
        }
        out[k++] = take_old ? f->wsorted[i++] : tail[j++].id;
    }
    STELE_ASSERT(k == n);
    free(tail);
    free(f->wsorted);
    f->wsorted = out;
    f->nsorted = f->sortcap = n;
    return 0;
}

/* Adds to tids the terms of the live words starting with pre[0, plen). */
static int prefix_terms(fts *f, const char *pre, size_t plen, roaring_bitmap_t *tids)
{
    if (words_sort(f) != 0) return -1;
    uint32_t lo = 0, hi = f->nsorted;
    while (lo < hi) { /* first word >= pre */
        uint32_t mid = lo + (hi - lo) / 2;
        size_t l;
        const char *s = strtab_get(&f->words, f->wsorted[mid], &l);
        if (str_cmp(s, l, pre, plen) < 0) lo = mid + 1;
        else hi = mid;
    }
    for (uint32_t i = lo; i < f->nsorted; i++) {
        size_t l;
        uint32_t w = f->wsorted[i];
        const char *s = strtab_get(&f->words, w, &l);
        if (l < plen || memcmp(s, pre, plen) != 0) break;
        if (f->wdocs[w] > 0) roaring_bitmap_add(tids, f->wterm[w]);
    }
    return 0;
}

/* The terms a query token stands for, into tids (empty if none is indexed). */
static int qterm_terms(fts *f, const qterm *q, roaring_bitmap_t *tids)
{
    if (q->prefix) return prefix_terms(f, q->tok, q->len, tids);
    uint32_t w = strtab_find(&f->words, q->tok, q->len), t;
    if (w != STRTAB_NONE) {
        t = f->wterm[w];
    } else {
        const char *s;
        size_t slen;
        if (stem(f, q->tok, q->len, &s, &slen) != 0) return -1;
        t = strtab_find(&f->terms, s, slen);
    }
    if (t != STRTAB_NONE) roaring_bitmap_add(tids, t);
    return 0;
}

/* The union of the documents of terms tids (a new bitmap; NULL on out of memory). */
static roaring_bitmap_t *terms_docs(const fts *f, const roaring_bitmap_t *tids)
{
    roaring_bitmap_t *r = roaring_bitmap_create();
    roaring_uint32_iterator_t it;
    roaring_init_iterator(tids, &it);
    for (; r && it.has_value; roaring_advance_uint32_iterator(&it))
        roaring_bitmap_or_inplace(r, f->tdocs[it.current_value]);
    return r;
}

/* Documents matching every positive token and no negative one (a new bitmap). */
static roaring_bitmap_t *query_match(const fts *f, const qparse *p,
                                     roaring_bitmap_t *const *tids)
{
    roaring_bitmap_t *r = NULL;
    for (int pass = 0; pass < 2; pass++) { /* positives, then exclusions */
        for (size_t i = 0; i < p->n; i++) {
            if (p->t[i].neg != pass) continue;
            roaring_bitmap_t *d = terms_docs(f, tids[i]);
            if (!d) {
                if (r) roaring_bitmap_free(r);
                return NULL;
            }
            if (!r) {
                r = d;
                continue;
            }
            if (pass == 0) roaring_bitmap_and_inplace(r, d);
            else roaring_bitmap_andnot_inplace(r, d);
            roaring_bitmap_free(d);
        }
    }
    STELE_ASSERT(r != NULL); /* query_parse guarantees a positive token */
    return r;
}

/* tf of term t in forward list d (binary search); 0 if absent. */
static uint32_t forward_tf(const fdoc *d, uint32_t t)
{
    uint32_t lo = 0, hi = d->nterm;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (d->v[2 * mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo < d->nterm && d->v[2 * lo] == t ? d->v[2 * lo + 1] : 0;
}

/* The index of doc d in the sorted array a[0, m) (d is there). A binary search: roaring's
 * rank counts bits across a whole bitset container and is slower per call. */
static uint64_t rank_of(const uint32_t *a, uint64_t m, uint32_t d)
{
    uint64_t lo = 0, hi = m;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < d) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Adds to score[rank of d in r] the largest BM25 weight of the terms tids in each
 * document d of r (tmp: m scratch doubles). */
static int score_token(const fts *f, const roaring_bitmap_t *tids, const roaring_bitmap_t *r,
                       const uint32_t *rdocs, double *score, double *tmp, uint64_t m)
{
    double n_docs = (double)roaring_bitmap_get_cardinality(f->all);
    double avgdl = (double)f->total_len / n_docs;
    memset(tmp, 0, (size_t)m * sizeof *tmp);
    roaring_uint32_iterator_t it, dit;
    roaring_init_iterator(tids, &it);
    for (; it.has_value; roaring_advance_uint32_iterator(&it)) {
        uint32_t t = it.current_value;
        double df = (double)roaring_bitmap_get_cardinality(f->tdocs[t]);
        double idf = log(1.0 + (n_docs - df + 0.5) / (df + 0.5));
        roaring_bitmap_t *both = roaring_bitmap_and(f->tdocs[t], r);
        if (!both) return -1;
        roaring_init_iterator(both, &dit);
        for (; dit.has_value; roaring_advance_uint32_iterator(&dit)) {
            const fdoc *d = &f->docs[dit.current_value];
            double tf = forward_tf(d, t);
            double norm = avgdl > 0 ? (double)d->len / avgdl : 0;
            double w = idf * tf * (FTS_BM25_K1 + 1) /
                       (tf + FTS_BM25_K1 * (1 - FTS_BM25_B + FTS_BM25_B * norm));
            uint64_t i = rank_of(rdocs, m, dit.current_value);
            STELE_ASSERT(i < m && rdocs[i] == dit.current_value && tf > 0);
            if (w > tmp[i]) tmp[i] = w;
        }
        roaring_bitmap_free(both);
    }
    for (uint64_t i = 0; i < m; i++) score[i] += tmp[i];
    return 0;
}

/* a ranks before b: higher score, then lower doc number. */
static int hit_before(const fts_hit *a, const fts_hit *b)
{
    return a->score > b->score || (a->score == b->score && a->doc < b->doc);
}

static int hit_cmp(const void *x, const void *y)
{
    const fts_hit *a = x, *b = y;
    return hit_before(a, b) ? -1 : hit_before(b, a) ? 1 : 0;
}

/* Restores the heap below i: h[0] is the hit that ranks last. */
static void heap_down(fts_hit *h, size_t n, size_t i)
{
    for (;;) { /* each turn descends a level: at most log2(n) turns */
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && hit_before(&h[w], &h[l])) w = l;
        if (r < n && hit_before(&h[w], &h[r])) w = r;
        if (w == i) return;
        fts_hit t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* The best k of the m scored documents of r (k = 0: all), best first. */
static fts_hit *top_k(const roaring_bitmap_t *r, const double *score, uint64_t m, size_t k,
                      size_t *nout)
{
    size_t cap = k == 0 || k > m ? (size_t)m : k, n = 0;
    fts_hit *h = malloc((cap ? cap : 1) * sizeof *h);
    if (!h) return NULL;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(r, &it);
    for (uint64_t i = 0; it.has_value; roaring_advance_uint32_iterator(&it), i++) {
        fts_hit x = {.doc = it.current_value, .score = score[i]};
        if (n < cap) {
            h[n++] = x;
            if (n == cap) /* heapify once full */
                for (size_t j = cap / 2; j-- > 0;) heap_down(h, n, j);
        } else if (hit_before(&x, &h[0])) {
            h[0] = x;
            heap_down(h, n, 0);
        }
    }
    qsort(h, n, sizeof *h, hit_cmp);
    *nout = n;
    return h;
}

static stele_status rank_hits(fts *f, const qparse *p, roaring_bitmap_t *const *tids,
                              const roaring_bitmap_t *r, size_t k, fts_hit **hits,
                              size_t *nhits, util_err *e)
{
    uint64_t m = roaring_bitmap_get_cardinality(r);
    *hits = NULL;
    *nhits = 0;
    if (m == 0) return STELE_OK;
    double *score = calloc((size_t)m, sizeof *score), *tmp = malloc((size_t)m * sizeof *tmp);
    uint32_t *rdocs = malloc((size_t)m * sizeof *rdocs);
    int rc = score && tmp && rdocs ? 0 : -1;
    if (rc == 0) roaring_bitmap_to_uint32_array(r, rdocs);
    for (size_t i = 0; i < p->n && rc == 0; i++)
        if (!p->t[i].neg) rc = score_token(f, tids[i], r, rdocs, score, tmp, m);
    if (rc == 0 && !(*hits = top_k(r, score, m, k, nhits))) rc = -1;
    free(score);
    free(tmp);
    free(rdocs);
    return rc == 0 ? STELE_OK : util_fail(e, STELE_ENOMEM, "full-text ranking: out of memory");
}

stele_status fts_search(fts *f, const char *q, size_t len, size_t k, roaring_bitmap_t **docs,
                        fts_hit **hits, size_t *nhits, util_err *e)
{
    STELE_ASSERT(f != NULL && docs != NULL && (q != NULL || len == 0));
    STELE_ASSERT(!hits || nhits);
    *docs = NULL;
    qparse *p = calloc(1, sizeof *p);
    if (!p) return util_fail(e, STELE_ENOMEM, "full-text query: out of memory");
    stele_status st = query_parse(q, len, p, e);
    roaring_bitmap_t *tids[FTS_QUERY_TERMS_MAX] = {0};
    for (size_t i = 0; st == STELE_OK && i < p->n; i++)
        if (!(tids[i] = roaring_bitmap_create()) || qterm_terms(f, &p->t[i], tids[i]) != 0)
            st = util_fail(e, STELE_ENOMEM, "full-text query: out of memory");
    roaring_bitmap_t *r = st == STELE_OK ? query_match(f, p, tids) : NULL;
    if (st == STELE_OK && !r) st = util_fail(e, STELE_ENOMEM, "full-text query: out of memory");
    if (st == STELE_OK && hits) st = rank_hits(f, p, tids, r, k, hits, nhits, e);
    for (size_t i = 0; i < p->n; i++)
        if (tids[i]) roaring_bitmap_free(tids[i]);
    free(p);
    if (st != STELE_OK) {
        if (r) roaring_bitmap_free(r);
        return st;
    }
    *docs = r;
    return STELE_OK;
}
