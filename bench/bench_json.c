/*
 * bench_json.c — benchmark 5: JSON text into Stele's binary document format (SDOC,
 * src/model/doc.h) against jansson, the parser Debian ships (DESIGN.md facts table:
 * 34 MB/s), on the same generated ~0.5 KiB user documents; also the writer back to
 * text against json_dumps, for information. This is a module benchmark: it calls the
 * model layer directly (the only section that does not go through include/stele.h),
 * so it includes the internal headers by relative path.
 *
 * Each run parses every document PASSES times; the systems alternate run by run and
 * the figures are medians of REPS runs, in MB/s of JSON text.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/model/doc.h"
#include "../src/util/util.h"
#include "bench.h"

#define JSON_DOCS 4000u   /* ~2 MB of text: the working set of a busy collection page */
#define JSON_PASSES 5     /* parses of every document per run */
#define JSON_REPS 5       /* runs per system */
#define JSON_DOC_CAP 1024 /* bytes per generated document (they are ~0.5 KiB) */

static const char *const k_first[] = {"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald",
                                      "Frances", "Ken", "Margaret", "Zoë", "José", "Søren"};
static const char *const k_last[] = {"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov",
                                     "Knuth", "Allen", "Thompson", "Hamilton", "Müller"};
static const char *const k_roles[] = {"admin", "editor", "viewer", "owner", "auditor"};
static const char *const k_countries[] = {"DE", "FR", "US", "JP", "BR", "IN", "NG", "SE"};
static const char *const k_words[] = {
    "builds", "reliable", "systems", "and", "writes", "about", "databases", "compilers",
    "storage", "engines", "for", "fun", "loves", "hiking", "\\\"quoted\\\"", "coffee",
    "open-source", "maintainer", "of", "several", "libraries", "in", "C", "Rust", "café"};

#define PICK(arr, s) (arr[bench_rand(s) % (sizeof(arr) / sizeof(arr[0]))])

/* One user document of about 0.5 KiB into out (JSON_DOC_CAP bytes); its length. */
static size_t make_user(char *out, uint64_t *seed, unsigned id)
{
    const char *first = PICK(k_first, seed), *last = PICK(k_last, seed);
    int n = snprintf(out, JSON_DOC_CAP,
                     "{\"id\":%u,\"name\":\"%s %s\",\"email\":\"%s.%s%u@example.com\","
                     "\"age\":%u,\"role\":\"%s\",\"country\":\"%s\",\"score\":%u.%02u,"
                     "\"active\":%s,\"tags\":[",
                     id, first, last, first, last, id, 18 + (unsigned)(bench_rand(seed) % 60),
                     PICK(k_roles, seed), PICK(k_countries, seed),
                     (unsigned)(bench_rand(seed) % 100), (unsigned)(bench_rand(seed) % 100),
                     bench_rand(seed) % 2 ? "true" : "false");
    unsigned tags = 2 + (unsigned)(bench_rand(seed) % 4);
    for (unsigned i = 0; i < tags; i++)
        n += snprintf(out + n, JSON_DOC_CAP - (size_t)n, "%s\"%s\"", i ? "," : "",
                      PICK(k_words, seed));
    n += snprintf(out + n, JSON_DOC_CAP - (size_t)n, "],\"bio\":\"");
    while (n < 470) /* the bio fills the document up to ~0.5 KiB */
        n += snprintf(out + n, JSON_DOC_CAP - (size_t)n, "%s ", PICK(k_words, seed));
    n += snprintf(out + n, JSON_DOC_CAP - (size_t)n, "\",\"manager\":null}");
    BENCH_CHECK(n > 0 && n < JSON_DOC_CAP, "document too long");
    return (size_t)n;
}

typedef struct json_corpus {
    char *text[JSON_DOCS];
    size_t len[JSON_DOCS];
    uint64_t bytes;
} json_corpus;

static double run_ours(const json_corpus *c, buf *out)
{
    json_error err;
    uint64_t t0 = bench_now_ns();
    for (int p = 0; p < JSON_PASSES; p++)
        for (unsigned i = 0; i < JSON_DOCS; i++) {
            out->len = 0;
            BENCH_CHECK(json_parse(c->text[i], c->len[i], out, &err) == 0, "json_parse: %s",
                        err.msg);
        }
    return (double)c->bytes * JSON_PASSES / ((double)(bench_now_ns() - t0) / 1e9) / 1e6;
}

static double run_jansson(const json_corpus *c)
{
    json_error_t err;
    uint64_t t0 = bench_now_ns();
    for (int p = 0; p < JSON_PASSES; p++)
        for (unsigned i = 0; i < JSON_DOCS; i++) {
            json_t *v = json_loadb(c->text[i], c->len[i], 0, &err);
            BENCH_CHECK(v, "jansson: %s", err.text);
            json_decref(v);
        }
    return (double)c->bytes * JSON_PASSES / ((double)(bench_now_ns() - t0) / 1e9) / 1e6;
}

/* Writers: our SDOC -> text, jansson's tree -> text (the trees are built untimed). */
static void run_writers(const json_corpus *c, double *ours, double *theirs)
{
    buf *docs = malloc(JSON_DOCS * sizeof *docs);
    json_t **trees = malloc(JSON_DOCS * sizeof *trees);
    BENCH_CHECK(docs && trees, "out of memory");
    json_error err;
    for (unsigned i = 0; i < JSON_DOCS; i++) {
        buf_init(&docs[i]);
        BENCH_CHECK(json_parse(c->text[i], c->len[i], &docs[i], &err) == 0, "parse");
        trees[i] = json_loadb(c->text[i], c->len[i], 0, NULL);
        BENCH_CHECK(trees[i], "jansson");
    }
    buf out;
    buf_init(&out);
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < JSON_DOCS; i++) {
        out.len = 0;
        BENCH_CHECK(json_write(docs[i].data, docs[i].len, &out) == 0, "json_write");
    }
    *ours = (double)c->bytes / ((double)(bench_now_ns() - t0) / 1e9) / 1e6;
    t0 = bench_now_ns();
    for (unsigned i = 0; i < JSON_DOCS; i++) free(json_dumps(trees[i], JSON_COMPACT));
    *theirs = (double)c->bytes / ((double)(bench_now_ns() - t0) / 1e9) / 1e6;
    for (unsigned i = 0; i < JSON_DOCS; i++) {
        buf_release(&docs[i]);
        json_decref(trees[i]);
    }
    buf_release(&out);
    free(docs);
    free(trees);
}


void bench_json(void)
{
    bench_section("5. JSON parse into the binary document format",
                  "4000 generated user documents of ~0.5 KiB (name, email, age, role, "
                  "country, score, tags, bio); 5 passes per run, 5 runs interleaved");
    static json_corpus c;
    uint64_t seed = 0x15014;
    c.bytes = 0;
    for (unsigned i = 0; i < JSON_DOCS; i++) {
        c.text[i] = malloc(JSON_DOC_CAP);
        BENCH_CHECK(c.text[i], "out of memory");
        c.len[i] = make_user(c.text[i], &seed, i + 1);
        c.bytes += c.len[i];
    }
    bench_note("average document %.0f bytes", (double)c.bytes / JSON_DOCS);
    buf out;
    buf_init(&out);
    double ours[JSON_REPS], theirs[JSON_REPS], wo[JSON_REPS], wj[JSON_REPS];
    run_ours(&c, &out); /* warm-up: caches, page faults of the output buffer */
    for (int r = 0; r < JSON_REPS; r++) {
        ours[r] = run_ours(&c, &out);
        theirs[r] = run_jansson(&c);
        run_writers(&c, &wo[r], &wj[r]);
    }
    bench_stats so = bench_stats_of(ours, JSON_REPS), sj = bench_stats_of(theirs, JSON_REPS);
    bench_stats swo = bench_stats_of(wo, JSON_REPS), swj = bench_stats_of(wj, JSON_REPS);
    bench_row_header("MB/s of JSON");
    bench_row("jansson 2.14 json_loadb (tree)", &sj);
    bench_row("Stele json_parse (into SDOC)", &so);
    bench_row("jansson json_dumps (from tree, info)", &swj);
    bench_row("Stele json_write (from SDOC, info)", &swo);
    bench_goal_report(&(bench_goal){"JSON parse, 0.5 KiB documents", "MB/s", so.median,
                                    sj.median, "jansson", 300, 0, 0});
    buf_release(&out);
    for (unsigned i = 0; i < JSON_DOCS; i++) free(c.text[i]);
}
