/*
 * fuzz_fts.c — libFuzzer target for the full-text index (src/index/fts.h). The input
 * is split at 0x1E bytes: the parts before the last are document texts (an empty part
 * deletes), the last is a query. Checks, on any bytes:
 *   - every token is 1..FTS_TOKEN_MAX bytes of valid UTF-8 and tokenizes to itself;
 *   - after indexing, re-indexing in another order and deleting, the invariants hold
 *     (fts_check);
 *   - a search either fails with EINVAL/ETOOBIG or returns a subset of the indexed
 *     documents whose ranked hits are finite, non-negative, best first, and agree with
 *     the bitmap.
 * Seeds in tests/fuzz/seeds/fuzz_fts/.
 */
#include <math.h>
#include <roaring/roaring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "index/fts.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARTS_MAX 8

typedef struct same {
    const char *tok;
    size_t len, n;
} same;

static int same_token(void *ctx, const char *tok, size_t len)
{
    same *s = ctx;
    if (s->n++ > 0 || len != s->len || memcmp(tok, s->tok, len) != 0) abort();
    return 0;
}

static int check_token(void *ctx, const char *tok, size_t len)
{
    (void)ctx;
    if (len < 1 || len > FTS_TOKEN_MAX) abort();
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)tok + i,
                                              (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) abort();
        i += (size_t)k;
    }
    same s = {.tok = tok, .len = len};
    if (fts_tokenize(tok, len, same_token, &s) != 0 || s.n != 1) abort();
    return 0;
}

static void check_search(fts *f, const char *q, size_t len)
{
    roaring_bitmap_t *r;
    fts_hit *h = NULL;
    size_t nh = 0;
    util_err e;
    stele_status st = fts_search(f, q, len, 3, &r, &h, &nh, &e);
    if (st != STELE_OK) {
        if (st != STELE_EINVAL && st != STELE_ETOOBIG) abort();
        return;
    }
    uint64_t card = roaring_bitmap_get_cardinality(r);
    if (nh != (card < 3 ? card : 3)) abort();
    for (size_t i = 0; i < nh; i++) {
        if (!isfinite(h[i].score) || h[i].score < 0 || !roaring_bitmap_contains(r, h[i].doc))
            abort();
        if (i > 0 && h[i - 1].score < h[i].score) abort();
    }
    if (roaring_bitmap_get_cardinality(r) && roaring_bitmap_maximum(r) >= 2 * PARTS_MAX) abort();
    free(h);
    roaring_bitmap_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    (void)fts_tokenize(text, size, check_token, NULL);
    size_t start[PARTS_MAX + 1], len[PARTS_MAX + 1], n = 0, a = 0;
    for (size_t i = 0; i <= size && n < PARTS_MAX + 1; i++) {
        if (i < size && data[i] != 0x1E) continue;
        start[n] = a;
        len[n++] = i - a;
        a = i + 1;
    }
    util_err e;
    fts *f = fts_new(0, "t", size && data[0] & 1 ? "french" : NULL, &e);
    if (!f) abort();
    size_t ndocs = n - 1;
    for (size_t i = 0; i < ndocs; i++) /* an empty part is a deleted document */
        if (fts_update(f, (uint32_t)i, len[i] ? text + start[i] : NULL, len[i]) != 0) abort();
    check_search(f, text + start[n - 1], len[n - 1]);
    for (size_t i = 0; i < ndocs; i++) /* the texts again, shifted: replaces every doc */
        if (fts_update(f, (uint32_t)i, text + start[(i + 1) % ndocs], len[(i + 1) % ndocs]) != 0)
            abort();
    if (fts_check(f) != 0) abort();
    check_search(f, text + start[n - 1], len[n - 1]);
    for (size_t i = 0; i < ndocs; i += 2)
        if (fts_update(f, (uint32_t)i, NULL, 0) != 0) abort();
    if (fts_check(f) != 0) abort();
    check_search(f, text, size); /* the whole input as a query */
    fts_free(f);
    return 0;
}
