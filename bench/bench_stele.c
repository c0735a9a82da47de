/*
 * bench_stele.c — Stele as a sink, through include/stele.h only. The store is made
 * with the insecure test KDF (key derivation is not what is measured) and the default
 * segment size; durable puts map to STELE_DURABLE_FSYNC or STELE_DURABLE_GROUP, bulk
 * loads to STELE_DURABLE_NONE, and BENCH_READ reopens the store read-only.
 * All writer threads share the one handle: stele_append is thread-safe, and that is
 * how group commit batches them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "stele.h"

#define BS_USER "bench"
#define BS_PASSWORD "bench-password"

static stele_durability bs_durability(bench_durability d)
{
    switch (d) {
    case BENCH_SYNC_EACH: return STELE_DURABLE_FSYNC;
    case BENCH_SYNC_GROUP: return STELE_DURABLE_GROUP;
    default: return STELE_DURABLE_NONE;
    }
}

static void bs_check(stele *db, stele_status rc, const char *what)
{
    BENCH_CHECK(rc == STELE_OK, "stele %s: %s: %s", what, stele_strerror(rc),
                db ? stele_errmsg(db) : "");
}

static stele *bs_open_store(const char *store, const bench_mode *m)
{
    stele_open_options o = {.store_dir = store,
                            .user = BS_USER,
                            .password = BS_PASSWORD,
                            .password_len = strlen(BS_PASSWORD),
                            .read_only = m->durability == BENCH_READ,
                            .durability = bs_durability(m->durability),
                            .group_max_delay_us = m->group_delay_us};
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    BENCH_CHECK(db != NULL, "stele open: out of memory");
    bs_check(db, rc, "open");
    return db;
}

static void *bs_open(const char *dir, const bench_mode *m)
{
    char store[4200];
    snprintf(store, sizeof store, "%s/store", dir);
    if (m->durability != BENCH_READ) {
        stele_init_options io = {.store_dir = store,
                                 .user = BS_USER,
                                 .password = BS_PASSWORD,
                                 .password_len = strlen(BS_PASSWORD),
                                 .kdf = STELE_KDF_INSECURE_TEST,
                                 .segment_size = m->segment_mb << 20};
        char err[512] = "";
        stele_status rc = stele_store_init(&io, err, sizeof err);
        BENCH_CHECK(rc == STELE_OK, "stele init '%s': %s: %s", store, stele_strerror(rc), err);
    }
    return bs_open_store(store, m);
}

static void bs_put(void *h, const void *payload, size_t len)
{
    uint64_t lsn = 0;
    bs_check(h, stele_append(h, payload, len, NULL, &lsn, NULL), "append");
    BENCH_CHECK(lsn > 0, "stele append returned LSN 0");
}

static int bs_get(void *h, uint64_t key)
{
    stele_record r;
    bs_check(h, stele_get(h, key, &r), "get");
    BENCH_CHECK(r.lsn == key && r.payload_len > 0, "stele get %llu: wrong record",
                (unsigned long long)key);
    return r.payload[0];
}

static uint64_t bs_keys(void *shared) { return stele_head(shared); }

static void bs_close(void *shared) { bs_check(NULL, stele_close(shared), "close"); }

const bench_sink bench_stele_sink = {
    .open = bs_open,
    .put = bs_put,
    .get = bs_get,
    .keys = bs_keys,
    .close = bs_close,
};

/* The "log_bytes" member of stele_stat's JSON (a flat unsigned number). */
static uint64_t bs_log_bytes(stele *db)
{
    char *json = NULL;
    bs_check(db, stele_stat(db, &json), "stat");
    const char *p = strstr(json, "\"log_bytes\":");
    BENCH_CHECK(p != NULL, "stele stat has no log_bytes: %s", json);
    uint64_t v = strtoull(p + strlen("\"log_bytes\":"), NULL, 10);
    stele_free(json);
    return v;
}

void bench_stele_verify_once(const char *dir, bench_verify_times *out)
{
    bench_mode m = {.durability = BENCH_READ};
    uint64_t t0 = bench_now_ns();
    stele *db = bs_open(dir, &m);
    uint64_t t1 = bench_now_ns();
    bs_check(db, stele_verify(db, 0, NULL), "verify");
    uint64_t t2 = bench_now_ns();
    out->open_s = (double)(t1 - t0) / 1e9;
    out->verify_s = (double)(t2 - t1) / 1e9;
    out->log_bytes = bs_log_bytes(db);
    out->records = stele_head(db);
    bs_close(db);
}
