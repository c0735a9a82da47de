/*
 * bench_sdict.c — the dictionary encoding of snapshot partitions (src/model/sdict.h)
 * on real partitions: bytes raw and stored, encode and decode throughput
 * (docs/BENCHMARKS.md "Partition encoding"). Its own executable (`make -C build-bench
 * stele_bench_sdict` after `make bench`, or cmake --build build-bench --target
 * stele_bench_sdict). Unlike stele_bench it reaches below the public API (api_int.h)
 * to cut the partitions exactly as a snapshot does: mstate_serialize with a put that
 * keeps them, on a state derived from the log. Usage:
 *   stele_bench_sdict graph LINES                 the graph of benchmark 8 (LINES lines)
 *   stele_bench_sdict docs N                      N documents of benchmark 6
 *   stele_bench_sdict store DIR USER PASSWORD [DB]   an existing store (stele code index)
 * STELE_BENCH_SDICT_DUMP=DIR writes each partition's body (DIR/raw/NNNNN) and stored
 * form (DIR/stored/NNNNN), for comparing with a general compressor (zstd CLI).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api_int.h"
#include "bench.h"
#include "bench_graph.h"
#include "model/doc.h"
#include "model/sdict.h"

#define SB_USER "bench"
#define SB_PASSWORD "bench-password"
#define SB_PART_BYTES ((size_t)256 << 10) /* SNAP_PART_BYTES of src/api/stele.c */
#define SB_IMPORT_DOCS 100000u
#define SB_MIN_SECONDS 1.0 /* each throughput loop runs at least this long */

typedef struct parts {
    buf *stored; /* as the snapshot stores them */
    buf *body;   /* decoded */
    size_t n, cap;
} parts;

static stele_status keep_part(void *ctx, const uint8_t *bytes, size_t len, buf *ref, util_err *e)
{
    parts *p = ctx;
    if (util_grow((void **)&p->stored, &p->cap, p->n + 1, sizeof *p->stored) != 0)
        return util_fail(e, STELE_ENOMEM, "oom");
    size_t cap = p->n;
    if (util_grow((void **)&p->body, &cap, p->n + 1, sizeof *p->body) != 0)
        return util_fail(e, STELE_ENOMEM, "oom");
    buf_init(&p->stored[p->n]);
    buf_init(&p->body[p->n]);
    uint64_t body_len = 0;
    BENCH_CHECK(sdict_body_len(bytes, len, &body_len) == 0, "partition %zu: bad header", p->n);
    BENCH_CHECK(buf_append(&p->stored[p->n], bytes, len) == 0 &&
                buf_reserve(&p->body[p->n], body_len + 1) == 0, "oom");
    if (len && bytes[0] == SDICT_MAGIC) {
        const char *why;
        BENCH_CHECK(sdict_decode(bytes, len, p->body[p->n].data, body_len, &why) == 0,
                    "partition %zu: %s", p->n, why);
        p->body[p->n].len = body_len;
    } else {
        memcpy(p->body[p->n].data, bytes, len);
        p->body[p->n].len = len;
    }
    uint8_t r[8];
    put_u64(r, p->n++);
    return buf_append(ref, r, 8) == 0 ? STELE_OK : util_fail(e, STELE_ENOMEM, "oom");
}

static void check(stele *db, stele_status rc, const char *what)
{
    BENCH_CHECK(rc == STELE_OK, "%s: %s: %s", what, stele_strerror(rc), db ? stele_errmsg(db) : "");
}

static stele *open_store(const char *store, const char *user, const char *pw, const char *name,
                         int rebuild)
{
    stele_open_options o = {.store_dir = store, .user = user, .password = pw,
                            .password_len = strlen(pw), .db = name, .rebuild = rebuild,
                            .read_only = rebuild, .durability = STELE_DURABLE_NONE};
    stele *db = NULL;
    stele_status rc = stele_open(&o, &db);
    BENCH_CHECK(db != NULL, "open: out of memory");
    check(db, rc, "open");
    return db;
}

static void new_store(const char *store)
{
    stele_init_options io = {.store_dir = store, .user = SB_USER, .password = SB_PASSWORD,
                             .password_len = strlen(SB_PASSWORD), .kdf = STELE_KDF_INSECURE_TEST};
    char err[512] = "";
    BENCH_CHECK(stele_store_init(&io, err, sizeof err) == STELE_OK, "init: %s", err);
}

static void import_text(stele *db, const char *coll, buf *t)
{
    if (t->len == 0) return;
    stele_import_options o = {.format = STELE_IO_NDJSON};
    check(db, stele_import(db, coll, (const char *)t->data, t->len, &o, NULL), "import");
    t->len = 0;
}

/* The graph of benchmark 8, as bench_graph_stele.c loads it. */
static void load_graph(stele *db, uint64_t lines)
{
    gb_graph g;
    gb_generate(&g, lines, 1);
    buf t;
    buf_init(&t);
    char key[32], from[48], to[48], sig[17];
    for (int k = 0; k < GK_COUNT; k++) {
        for (uint32_t v = g.kind_first[k], n = 0; v < g.kind_first[k + 1]; v++) {
            gb_key(&g, v, key, sizeof key);
            gb_sig(v, 0, sig);
            buf_printf(&t, "{\"_id\":\"%s\",\"name\":\"%s\",\"sig\":\"%s\"}\n", key, key, sig);
            if (++n % SB_IMPORT_DOCS == 0) import_text(db, gb_kind_coll[k], &t);
        }
        import_text(db, gb_kind_coll[k], &t);
    }
    for (size_t e = 0; e < g.n_edges; e++) {
        gb_ref(&g, g.from[e], from, sizeof from);
        gb_ref(&g, g.to[e], to, sizeof to);
        buf_printf(&t, "{\"_id\":\"e%zu\",\"_from\":\"%s\",\"_to\":\"%s\",\"_label\":\"%s\"}\n", e,
                   from, to, gb_label_name[g.label[e]]);
        if ((e + 1) % SB_IMPORT_DOCS == 0) import_text(db, "edges", &t);
    }
    import_text(db, "edges", &t);
    buf_release(&t);
    gb_release(&g);
}

/* The documents of benchmark 6. */
static void load_docs(stele *db, uint64_t n)
{
    buf t;
    buf_init(&t);
    char doc[BENCH_DOC_CAP];
    for (uint64_t i = 0; i < n; i++) {
        size_t len = bench_doc_make(i, doc);
        BENCH_CHECK(buf_append(&t, doc, len) == 0 && buf_append(&t, "\n", 1) == 0, "oom");
        if ((i + 1) % SB_IMPORT_DOCS == 0) import_text(db, "users", &t);
    }
    import_text(db, "users", &t);
    buf_release(&t);
}

static void dump(const parts *p, const char *dir)
{
    char path[4400];
    for (int kind = 0; kind < 2; kind++) {
        snprintf(path, sizeof path, "%s/%s", dir, kind ? "stored" : "raw");
        mkdir(dir, 0700);
        mkdir(path, 0700);
        for (size_t i = 0; i < p->n; i++) {
            const buf *b = kind ? &p->stored[i] : &p->body[i];
            snprintf(path, sizeof path, "%s/%s/%05zu", dir, kind ? "stored" : "raw", i);
            FILE *f = fopen(path, "wb");
            BENCH_CHECK(f && fwrite(b->data, 1, b->len, f) == b->len && fclose(f) == 0,
                        "dump '%s'", path);
        }
    }
}

/* Length of the SDOC value at p (a body's values are canonical: no checks needed). */
static size_t value_len(const uint8_t *p)
{
    switch (p[0]) {
    case SDOC_NULL: case SDOC_FALSE: case SDOC_TRUE: return 1;
    case SDOC_INT: case SDOC_UINT: case SDOC_DOUBLE: return 9;
    default: return 5 + (size_t)get_u32(p + 1);
    }
}

static void measure(stele *db)
{
    parts p = {0};
    buf dir;
    buf_init(&dir);
    util_err e;
    uint64_t t0 = bench_now_ns();
    check(db, mstate_serialize(db->docs, 1, SB_PART_BYTES, keep_part, &p, NULL, 0, &dir, &e),
          "serialize");
    double ser_s = (double)(bench_now_ns() - t0) / 1e9;
    mstate_snapshot_abandon(db->docs);
    uint64_t raw = 0, stored = 0, nenc = 0, enc_raw = 0;
    for (size_t i = 0; i < p.n; i++) {
        raw += p.body[i].len;
        stored += p.stored[i].len;
        int enc = p.stored[i].len && p.stored[i].data[0] == SDICT_MAGIC;
        nenc += enc;
        enc_raw += enc ? p.body[i].len : 0;
    }
    printf("partitions %zu (%llu encoded), documents %u, directory %.1f MB\n", p.n,
           (unsigned long long)nenc, mstate_doc_count(db->docs), (double)dir.len / 1e6);
    printf("bytes: raw %.2f MB, stored %.2f MB (%.1f%% of raw; %.2fx)\n", (double)raw / 1e6,
           (double)stored / 1e6, 100.0 * (double)stored / (double)raw,
           (double)raw / (double)stored);
    printf("serialize (cut + encode + copy) %.3f s\n", ser_s);

    buf out;
    buf_init(&out);
    uint64_t bytes = 0, ns = 0;
    for (int round = 0; round < 1000 && ns < SB_MIN_SECONDS * 1e9; round++)
        for (size_t i = 0; i < p.n; i++) {
            out.len = 0;
            uint64_t a = bench_now_ns();
            BENCH_CHECK(sdict_encode(p.body[i].data, p.body[i].len, &out) >= 0, "encode");
            ns += bench_now_ns() - a;
            bytes += p.body[i].len;
        }
    printf("encode: %.0f MB/s of raw bytes\n", (double)bytes / ((double)ns / 1e9) / 1e6);
    uint8_t *o = malloc(SB_PART_BYTES * 64);
    bytes = ns = 0;
    for (int round = 0; round < 1000 && ns < SB_MIN_SECONDS * 1e9 && nenc; round++)
        for (size_t i = 0; i < p.n; i++) {
            if (!(p.stored[i].len && p.stored[i].data[0] == SDICT_MAGIC)) continue;
            const char *why;
            BENCH_CHECK(p.body[i].len <= SB_PART_BYTES * 64, "partition too large");
            uint64_t a = bench_now_ns();
            BENCH_CHECK(sdict_decode(p.stored[i].data, p.stored[i].len, o, p.body[i].len,
                                     &why) == 0, "decode: %s", why);
            ns += bench_now_ns() - a;
            bytes += p.body[i].len;
        }
    if (nenc)
        printf("decode: %.0f MB/s of decoded bytes (%.0f us per 256 KiB)\n",
               (double)bytes / ((double)ns / 1e9) / 1e6,
               (double)ns / 1e3 / ((double)bytes / (double)(256 << 10)));
    bytes = ns = 0; /* what a load pays anyway: doc_validate of every version */
    for (int round = 0; round < 1000 && ns < SB_MIN_SECONDS * 1e9; round++)
        for (size_t i = 0; i < p.n; i++) {
            uint64_t a = bench_now_ns();
            for (size_t off = 0; off < p.body[i].len;) {
                size_t n = value_len(p.body[i].data + off);
                BENCH_CHECK(doc_validate(p.body[i].data + off, n) == 0, "validate");
                off += n;
            }
            ns += bench_now_ns() - a;
            bytes += p.body[i].len;
        }
    printf("doc_validate (for scale): %.0f MB/s\n", (double)bytes / ((double)ns / 1e9) / 1e6);
    const char *d = getenv("STELE_BENCH_SDICT_DUMP");
    if (d && *d) dump(&p, d);
    free(o);
    buf_release(&out);
    for (size_t i = 0; i < p.n; i++) {
        buf_release(&p.stored[i]);
        buf_release(&p.body[i]);
    }
    free(p.stored);
    free(p.body);
    buf_release(&dir);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && (!strcmp(argv[1], "graph") || !strcmp(argv[1], "docs"))) {
        char store[4200];
        snprintf(store, sizeof store, "%s/sdict-store", bench_tmpdir());
        new_store(store);
        stele *db = open_store(store, SB_USER, SB_PASSWORD, NULL, 0);
        uint64_t n = strtoull(argv[2], NULL, 10);
        if (!strcmp(argv[1], "graph")) load_graph(db, n);
        else load_docs(db, n);
        check(db, stele_close(db), "close");
        db = open_store(store, SB_USER, SB_PASSWORD, NULL, 1);
        measure(db);
        stele_close(db);
        bench_rmtree(store);
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "store")) {
        stele *db = open_store(argv[2], argv[3], argv[4], argc > 5 ? argv[5] : NULL, 1);
        measure(db);
        stele_close(db);
        return 0;
    }
    fprintf(stderr, "usage: %s graph LINES | docs N | store DIR USER PASSWORD [DB]\n", argv[0]);
    return 2;
}
