/*
 * state_snap_test.c — the state as a snapshot directory plus partitions
 * (src/model/state_snap.c) and its lazy bytes under a budget (state_cache.c), below
 * the store: partitions kept in memory here, handed back by a test loader.
 * What must hold: a round trip gives the same digest, bytes and index definitions
 * (a value and a text index on one path, a language, a dropped text index); the cache's resident
 * bytes stay within the budget plus the partitions touched since the last safe point;
 * a partition that does not match its directory reads as missing and is reported;
 * every truncated directory is refused; flipped bytes are refused or load without a
 * memory error (run under ASan); partitions are stored dictionary-encoded (sdict.h),
 * and read the same when stored raw; a partition of unknown encoding is reported.
 */
#include <stdlib.h>
#include <string.h>

#include "model/doc.h"
#include "model/sdict.h"
#include "model/state.h"
#include "testutil.h"

#define NDOCS 3000
#define PART_CAP (16u << 10)
#define BUDGET (64u << 10)

static const uint8_t AUTHOR[16] = {7};

/* The partitions a serialize handed out; a reference is the partition's number. */
typedef struct parts {
    buf b[1024];
    uint32_t n;
    int cut; /* the loader hands back one byte short (a partition that does not match) */
    int raw; /* the loader hands back the decoded body (as if it was stored raw) */
} parts;

static stele_status put_part(void *ctx, const uint8_t *bytes, size_t len, buf *ref,
                             util_err *e)
{
    parts *p = ctx;
    if (p->n == 1024) return util_fail(e, STELE_ETOOBIG, "too many partitions");
    buf_init(&p->b[p->n]);
    uint8_t r[4];
    put_u32(r, p->n);
    if (buf_append(&p->b[p->n], bytes, len) != 0 || buf_append(ref, r, 4) != 0)
        return util_fail(e, STELE_ENOMEM, "oom");
    p->n++;
    return STELE_OK;
}

static stele_status load_part(void *ctx, const uint8_t *ref, size_t ref_len, uint8_t **bytes,
                              size_t *len, util_err *e)
{
    parts *p = ctx;
    uint32_t i = ref_len == 4 ? get_u32(ref) : UINT32_MAX;
    if (i >= p->n) return util_fail(e, STELE_ECORRUPT, "no partition %u", i);
    *len = p->b[i].len - (p->cut && p->b[i].len ? 1 : 0);
    *bytes = malloc(*len + 1);
    if (!*bytes) return util_fail(e, STELE_ENOMEM, "oom");
    memcpy(*bytes, p->b[i].data, *len);
    const char *why = "no length";
    uint64_t body;
    if (p->raw && (sdict_body_len(*bytes, *len, &body) != 0 ||
                   sdict_unpack(bytes, len, body, &why) != STELE_OK)) {
        free(*bytes);
        return util_fail(e, STELE_ECORRUPT, "test partition %u: %s", i, why);
    }
    return STELE_OK;
}

static void put_doc(mstate *s, uint32_t c, unsigned i, unsigned rev, uint64_t lsn)
{
    char json[200], id[16];
    snprintf(json, sizeof json, "{\"n\":%u,\"r\":%u,\"s\":\"%0*u\"}", i, rev, (int)(20 + i % 50), i);
    snprintf(id, sizeof id, "d%u", i);
    buf sd;
    buf_init(&sd);
    json_error je;
    if (json_parse(json, strlen(json), &sd, &je) != 0 ||
        mstate_doc_put(s, c, id, strlen(id), lsn, lsn * 10, AUTHOR, 0, sd.data, sd.len, NULL))
        test_fail(__FILE__, __LINE__, "setup of d%u", i);
    buf_release(&sd);
}

/* A state of NDOCS documents (every third with a second version) and a reserved
 * number, serialized into *dir with its partitions in *p. */
static mstate *make_state(parts *p, buf *dir, uint64_t *lsn)
{
    mstate *s = mstate_new();
    uint32_t c, r;
    if (!s || mstate_coll_create(s, "c", 1, &c) != 0) return NULL;
    for (unsigned i = 0; i < NDOCS; i++) put_doc(s, c, i, 1, 2 + i);
    for (unsigned i = 0; i < NDOCS; i += 3) put_doc(s, c, i, 2, 2 + NDOCS + i);
    if (mstate_doc_reserve(s, c, "waiting", 7, &r) != 0) return NULL;
    *lsn = 2 + 2 * NDOCS;
    if (mstate_index_event(s, c, "s", MSTATE_INDEX_VALUE, NULL, 0, *lsn) != 0 ||
        mstate_index_event(s, c, "s", MSTATE_INDEX_TEXT, "german", 0, *lsn) != 0 ||
        mstate_index_event(s, c, "t", MSTATE_INDEX_TEXT, "french", 0, *lsn) != 0 ||
        mstate_index_event(s, c, "t", MSTATE_INDEX_TEXT, NULL, 1, *lsn) != 0)
        return NULL;
    util_err e;
    static const uint8_t extra[] = "the layers above";
    if (mstate_serialize(s, *lsn, PART_CAP, put_part, p, extra, sizeof extra, dir, &e) != 0)
        return NULL;
    mstate_snapshot_abandon(s); /* the test keeps the live state as it is */
    return s;
}

/* The partitions a test kept and its directory. */
static void parts_release(parts *p, buf *dir)
{
    for (uint32_t i = 0; i < p->n; i++) buf_release(&p->b[i]);
    buf_release(dir);
}

static mstate *load_copy(const buf *dir, size_t len, uint64_t *lsn, uint8_t **extra,
                         size_t *extra_len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return NULL;
    memcpy(copy, dir->data, len);
    return mstate_load(copy, len, lsn, extra, extra_len);
}

static void test_round_trip_under_budget(void)
{
    parts p = {0};
    buf dir;
    buf_init(&dir);
    uint64_t lsn = 0, at = 0;
    mstate *s = make_state(&p, &dir, &lsn);
    REQUIRE(s != NULL, "make_state");
    CHECK(p.n > 8, "expected many partitions, got %u", p.n);
    uint8_t *extra = NULL;
    size_t extra_len = 0;
    mstate *t = load_copy(&dir, dir.len, &at, &extra, &extra_len);
    REQUIRE(t != NULL && at == lsn, "load");
    CHECK(extra_len == 17 && memcmp(extra, "the layers above", 17) == 0, "the extra blob");
    free(extra);
    mstate_set_loader(t, load_part, &p, BUDGET);
    mstate_cache_stats cs;
    mstate_cache_stats_get(t, &cs);
    CHECK(cs.resident_bytes == 0 && cs.loads == 0, "load read no partition");
    for (uint32_t n = 0; n < mstate_doc_count(s); n++) {
        mstate_reads_done(t);
        const mversion *a = mstate_doc_get(s, n, UINT64_MAX), *b = mstate_doc_get(t, n, UINT64_MAX);
        CHECK((a == NULL) == (b == NULL), "doc %u: present in one only", n);
        if (a && b)
            CHECK(a->rev == b->rev && a->doc_len == b->doc_len &&
                  memcmp(a->doc, b->doc, a->doc_len) == 0, "doc %u differs", n);
        mstate_cache_stats_get(t, &cs);
        if (cs.resident_bytes > BUDGET + PART_CAP) {
            CHECK(0, "resident %llu bytes after doc %u", (unsigned long long)cs.resident_bytes, n);
            break;
        }
    }
    mstate_cache_stats_get(t, &cs);
    CHECK(cs.evictions > 0 && cs.loads > cs.parts - 1, "loads %llu, evictions %llu",
          (unsigned long long)cs.loads, (unsigned long long)cs.evictions);
    uint8_t da[32], db[32];
    CHECK(mstate_digest(s, da) == 0 && mstate_digest(t, db) == 0 && memcmp(da, db, 32) == 0,
          "digest after a round trip");
    const char *lang = mstate_text_lang(t, 0, "s", UINT64_MAX);
    CHECK(lang && strcmp(lang, "german") == 0, "the text index's language: %s", lang);
    CHECK(!mstate_text_lang(t, 0, "s", lsn - 1), "a language before the definition");
    CHECK(!mstate_text_lang(t, 0, "t", UINT64_MAX), "a dropped text index is defined");
    CHECK(mstate_index_defined(t, 0, "s", MSTATE_INDEX_VALUE) &&
          mstate_index_defined(t, 0, "s", MSTATE_INDEX_TEXT), "both kinds on one path");
    size_t nv;
    const mversion *h = mstate_doc_history(t, 0, &nv);
    CHECK(h && nv == 2 && h[0].rev == 1 && h[1].rev == 2 && h[0].doc && h[1].doc,
          "history of d0 from its partition");
    util_err e;
    CHECK(!mstate_lazy_failed(t, &e), "a failure was recorded");
    mstate_free(t);

    p.cut = 1; /* every partition one byte short: served as missing, and reported */
    t = load_copy(&dir, dir.len, &at, &extra, &extra_len);
    REQUIRE(t != NULL, "reload");
    free(extra);
    mstate_set_loader(t, load_part, &p, BUDGET);
    CHECK(mstate_doc_get(t, 5, UINT64_MAX) == NULL, "a short partition was served");
    CHECK(mstate_lazy_failed(t, &e) && e.code == STELE_ECORRUPT, "the failure is not reported");
    CHECK(!mstate_lazy_failed(t, &e), "reported twice");
    CHECK(mstate_doc_meta(t, 5, UINT64_MAX) != NULL, "metadata needs no partition");
    CHECK(mstate_digest(t, db) == -2, "digest over an unreadable partition");
    mstate_free(t);
    mstate_free(s);
    parts_release(&p, &dir);
}

static void test_damaged_directory(void)
{
    parts p = {0};
    buf dir;
    buf_init(&dir);
    uint64_t lsn = 0, at;
    mstate *s = make_state(&p, &dir, &lsn);
    REQUIRE(s != NULL, "make_state");
    uint8_t *extra;
    size_t extra_len;
    int accepted = 0;
    for (size_t len = 0; len < dir.len; len += 1 + len / 64) {
        mstate *t = load_copy(&dir, len, &at, &extra, &extra_len);
        if (t) accepted++;
        mstate_free(t);
        free(extra);
    }
    CHECK(accepted == 0, "%d truncated directories were accepted", accepted);
    for (int k = 0; k < 400; k++) { /* flips: refused, or loaded without a memory error */
        size_t off = (size_t)(test_rand() % dir.len);
        uint8_t bit = (uint8_t)(1u << (test_rand() % 8));
        dir.data[off] ^= bit;
        mstate *t = load_copy(&dir, dir.len, &at, &extra, &extra_len);
        if (t) {
            mstate_set_loader(t, load_part, &p, BUDGET);
            uint8_t d[32];
            (void)mstate_digest(t, d);
            for (uint32_t n = 0; n < mstate_doc_count(t); n += 97)
                (void)mstate_doc_get(t, n, UINT64_MAX);
        }
        mstate_free(t);
        free(extra);
        dir.data[off] ^= bit; /* each flip alone */
    }
    mstate_free(s);
    parts_release(&p, &dir);
}

/* Time and author live once per record: after a load, every version's record gives
 * the time and author it was put with; a directory of the older format is recognised
 * as such (not loaded), the current one is not "older". */
static void test_records_and_older_format(void)
{
    parts p = {0};
    buf dir;
    buf_init(&dir);
    uint64_t lsn = 0, at;
    mstate *s = make_state(&p, &dir, &lsn);
    REQUIRE(s != NULL, "make_state");
    uint8_t *extra;
    size_t extra_len;
    mstate *t = load_copy(&dir, dir.len, &at, &extra, &extra_len);
    REQUIRE(t != NULL, "load");
    free(extra);
    int wrong = 0;
    for (uint32_t n = 0; n < mstate_doc_count(t); n++) {
        size_t nv = 0;
        const mversion *v = mstate_doc_meta(t, n, UINT64_MAX) ? mstate_doc_history(s, n, &nv)
                                                              : NULL;
        for (size_t j = 0; j < nv; j++) {
            uint64_t ts = 0;
            uint8_t who[16] = {0};
            wrong += mstate_record(t, v[j].lsn, &ts, who) != 0 || ts != v[j].lsn * 10 ||
                     memcmp(who, AUTHOR, 16) != 0;
        }
    }
    CHECK(wrong == 0, "%d versions lost their record's time or author", wrong);
    uint64_t ts;
    uint8_t who[16];
    CHECK(mstate_record(t, lsn + 1, &ts, who) == -1, "a record that made no version is unknown");
    CHECK(!mstate_snapshot_older(dir.data, dir.len), "the current format is not older");
    dir.data[7] = '2';
    CHECK(mstate_snapshot_older(dir.data, dir.len), "STELEST2 is an older format");
    dir.data[7] = '3'; /* before the partition encoding (raw partitions only) */
    CHECK(mstate_snapshot_older(dir.data, dir.len), "STELEST3 is an older format");
    mstate *old = load_copy(&dir, dir.len, &at, &extra, &extra_len);
    CHECK(old == NULL, "an older directory is not loaded");
    mstate_free(old);
    free(old ? extra : NULL);
    mstate_free(t);
    mstate_free(s);
    parts_release(&p, &dir);
}

/* Partitions are stored dictionary-encoded and smaller than their bodies; partitions
 * stored raw (not worth encoding) read the same; a partition with an unknown encoding
 * is reported, not served. */
static void test_partition_forms(void)
{
    parts p = {0};
    buf dir;
    buf_init(&dir);
    uint64_t lsn = 0, at = 0, stored = 0, body = 0;
    mstate *s = make_state(&p, &dir, &lsn);
    REQUIRE(s != NULL && dir.len > 8 && memcmp(dir.data, "STELEST4", 8) == 0, "make_state");
    uint32_t encoded = 0;
    for (uint32_t i = 0; i < p.n; i++) {
        uint64_t n = 0;
        CHECK(sdict_body_len(p.b[i].data, p.b[i].len, &n) == 0, "partition %u: length", i);
        stored += p.b[i].len;
        body += n;
        encoded += p.b[i].len > 0 && p.b[i].data[0] == SDICT_MAGIC;
    }
    CHECK(encoded == p.n, "%u of %u partitions encoded", encoded, p.n);
    /* {"n":i,"r":rev,"s":"0...i"}: one-byte keys stay inline, but the sizes, tables,
     * 4-byte lengths and 8-byte small integers go. */
    CHECK(stored * 2 < body, "%llu stored bytes for %llu", (unsigned long long)stored,
          (unsigned long long)body);
    uint8_t da[32], db[32];
    REQUIRE(mstate_digest(s, da) == 0, "digest");
    uint8_t *extra = NULL;
    size_t extra_len;
    p.raw = 1; /* every partition handed back raw */
    mstate *t = load_copy(&dir, dir.len, &at, &extra, &extra_len);
    free(extra);
    REQUIRE(t != NULL, "load");
    mstate_set_loader(t, load_part, &p, BUDGET);
    mstate_cache_stats cs;
    CHECK(mstate_digest(t, db) == 0 && memcmp(da, db, 32) == 0, "raw partitions: digest");
    mstate_cache_stats_get(t, &cs);
    CHECK(cs.loads >= p.n, "raw partitions: %llu loads", (unsigned long long)cs.loads);
    mstate_free(t);
    p.raw = 0;
    p.b[0].data[0] = 0x55; /* neither an SDOC tag nor SDICT_MAGIC */
    t = load_copy(&dir, dir.len, &at, &extra, &extra_len);
    free(extra);
    REQUIRE(t != NULL, "reload");
    mstate_set_loader(t, load_part, &p, BUDGET);
    util_err e;
    CHECK(mstate_doc_get(t, 0, UINT64_MAX) == NULL, "a partition of unknown encoding was served");
    CHECK(mstate_lazy_failed(t, &e) && e.code == STELE_ECORRUPT && strstr(e.msg, "decode"),
          "the failure is not reported");
    mstate_free(t);
    mstate_free(s);
    parts_release(&p, &dir);
}

int main(void)
{
    TEST_RUN(test_round_trip_under_budget);
    TEST_RUN(test_damaged_directory);
    TEST_RUN(test_records_and_older_format);
    TEST_RUN(test_partition_forms);
    return test_summary();
}
