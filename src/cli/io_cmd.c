/*
 * io_cmd.c — `stele import` and `stele export`, with a progress bar on stderr when
 * stderr is a terminal (nothing otherwise, so scripts and logs stay clean).
 * Layer: cli (include/stele.h, and jansson to read the import report).
 *
 * Import reads the whole input into memory (the library checks every line before it
 * writes anything, so it needs all of it anyway) and prints the library's report:
 * on success its JSON on stdout; on bad input every reported line on stderr as
 * "FILE:LINE:COLUMN: message", at most IMPORT_ERRORS_SHOWN of them and the total.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define IMPORT_ERRORS_SHOWN 100u
#define IMPORT_READ_MAX ((size_t)1 << 30) /* the library's limit of one import */
#define PROGRESS_EVERY_NS 100000000ull    /* redraw at most 10 times a second */

/* ------------------------------------------------------------ progress bar */

typedef struct pbar {
    const char *phase;
    uint64_t phase_start_ns, last_ns;
    int drawn;
} pbar;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void human(double v, int bytes, char *out, size_t cap)
{
    const char *u = bytes ? " KMGT" : " kMGT";
    int k = 0;
    while (v >= 1000 && k < 4) v /= bytes ? 1024 : 1000, k++;
    if (k) snprintf(out, cap, "%.1f%c%s", v, u[k], bytes ? "iB" : "");
    else snprintf(out, cap, "%.0f%s", v, bytes ? " B" : "");
}

/* The stele_progress_fn: one line, redrawn in place with '\r'. */
static void pbar_cb(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    pbar *p = ctx;
    uint64_t now = now_ns();
    if (!p->phase || strcmp(p->phase, phase) != 0) {
        p->phase = phase;
        p->phase_start_ns = now;
        p->last_ns = 0;
    } else if (now - p->last_ns < PROGRESS_EVERY_NS && done != total) {
        return;
    }
    p->last_ns = now;
    int bytes = strcmp(phase, "reading") == 0;
    const char *unit = bytes ? "" : strcmp(phase, "writing") == 0 ? " records" : " documents";
    double secs = (double)(now - p->phase_start_ns) / 1e9, rate = secs > 0 ? done / secs : 0;
    char d[32], t[32], r[32], bar[24], eta[32] = "";
    human((double)done, bytes, d, sizeof d);
    human((double)total, bytes, t, sizeof t);
    human(rate, bytes, r, sizeof r);
    size_t fill = total ? (size_t)(20.0 * (double)done / (double)total) : 0;
    for (size_t i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
    bar[20] = 0;
    if (rate > 0 && total > done) snprintf(eta, sizeof eta, "  ETA %.0fs", (total - done) / rate);
    if (total)
        fprintf(stderr, "\r\033[K%-9s [%s] %3.0f%%  %s/%s%s  %s%s/s%s", phase, bar,
                100.0 * (double)done / (double)total, d, t, unit, r, bytes ? "" : unit, eta);
    else
        fprintf(stderr, "\r\033[K%-9s ...", phase);
    fflush(stderr);
    p->drawn = 1;
}

static void pbar_end(pbar *p)
{
    if (p->drawn) fputs("\r\033[K", stderr);
    p->drawn = 0;
}

/* ------------------------------------------------------------------ import */

int cli_io_format(const char *path, const char *flag, int for_export, stele_io_format *out)
{
    const char *name = flag;
    if (!name && path) {
        const char *dot = strrchr(path, '.');
        name = !dot ? NULL
               : strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0 ||
                       strcmp(dot, ".json") == 0
                   ? "ndjson"
               : strcmp(dot, ".csv") == 0 ? "csv"
                                          : NULL;
    }
    if (!name && for_export) name = "ndjson";
    if (name && strcmp(name, "ndjson") == 0) *out = STELE_IO_NDJSON;
    else if (name && strcmp(name, "csv") == 0) *out = STELE_IO_CSV;
    else {
        if (name) say("unknown --format '%s' here (use ndjson or csv)", name);
        else say("cannot tell the format of '%s': name it .ndjson, .jsonl, .json or .csv, or "
                 "give --format ndjson|csv", path);
        return EXIT_USAGE;
    }
    return 0;
}

/* The whole of a file, or of standard input for "-". 0 or an exit code. */
int cli_read_all(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        say("cannot open '%s': %s", path, strerror(errno));
        return EXIT_ERR;
    }
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap);
    while (b && n <= IMPORT_READ_MAX) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) { free(b); b = NULL; break; }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    if (f != stdin) fclose(f);
    if (!b || err || n > IMPORT_READ_MAX) {
        free(b);
        say(!b ? "out of memory reading '%s'" : err ? "cannot read '%s'" :
            "'%s' is larger than the 1 GiB limit of one import; split it", path);
        return !b || err ? EXIT_ERR : EXIT_USAGE;
    }
    if (n == cap) { /* room for the terminating NUL */
        char *nb = realloc(b, cap + 1);
        if (!nb) {
            free(b);
            say("out of memory reading '%s'", path);
            return EXIT_ERR;
        }
        b = nb;
    }
    b[n] = 0; /* NUL-terminated (graph import parses it as a string); len excludes it */
    *out = b;
    *len = n;
    return 0;
}

/* Prints the bad lines of a failed import's report; returns the exit code. */
static int print_bad_lines(const char *path, const char *report)
{
    json_t *r = json_loads(report, 0, NULL), *e;
    size_t i;
    json_array_foreach(json_object_get(r, "errors"), i, e) {
        long long line = json_integer_value(json_object_get(e, "line")),
                  col = json_integer_value(json_object_get(e, "column"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (col) fprintf(stderr, "%s:%lld:%lld: %s\n", path, line, col, msg ? msg : "");
        else fprintf(stderr, "%s:%lld: %s\n", path, line, msg ? msg : "");
    }
    long long total = json_integer_value(json_object_get(r, "error_count"));
    size_t shown = json_array_size(json_object_get(r, "errors"));
    say("%lld bad line%s%s; nothing was imported", total, total == 1 ? "" : "s",
        (long long)shown < total ? " (only the first ones are listed)" : "");
    json_decref(r);
    return EXIT_USAGE;
}

int cli_import(stele *db, const char *coll, const char *path, stele_io_format fmt,
               const char *idem_id)
{
    char *data;
    size_t len;
    int rc = cli_read_all(path, &data, &len);
    if (rc) return rc;
    return cli_import_buf(db, coll, strcmp(path, "-") ? path : "stdin", data, len, fmt,
                          idem_id);
}

int cli_import_buf(stele *db, const char *coll, const char *name, char *data, size_t len,
                   stele_io_format fmt, const char *idem_id)
{
    int rc = 0;
    pbar pb = {0};
    int tty = isatty(STDERR_FILENO);
    stele_import_options io = {.format = fmt, .idem_id = idem_id,
                               .errors_max = IMPORT_ERRORS_SHOWN,
                               .progress = tty ? pbar_cb : NULL, .progress_ctx = &pb};
    char *report = NULL;
    uint64_t t0 = now_ns();
    stele_status st = stele_import(db, coll, data, len, &io, &report);
    double secs = (double)(now_ns() - t0) / 1e9;
    pbar_end(&pb);
    free(data);
    if (st == STELE_EINVAL && report) rc = print_bad_lines(name, report);
    else if (st != STELE_OK) {
        say("%s; nothing was imported", stele_errmsg(db));
        rc = exit_code(st);
    } else {
        puts(report);
        json_t *r = json_loads(report, 0, NULL);
        long long docs = json_integer_value(json_object_get(r, "documents"));
        if (json_is_true(json_object_get(r, "duplicate")))
            say("idempotency id '%s' was already committed; nothing written", idem_id);
        else if (tty && docs)
            fprintf(stderr, "imported %lld documents in %.2f s (%.0f documents/s)\n", docs,
                    secs, secs > 0 ? (double)docs / secs : 0.0);
        json_decref(r);
    }
    stele_free(report);
    return rc;
}

/* The counts of a global import's report in one line, for people. */
static void say_global_counts(const char *report, int replace)
{
    json_t *r = json_loads(report, 0, NULL);
    long long n[6];
    static const char *const keys[6] = {"inserted", "replaced", "unchanged", "deleted",
                                        "own_edges_deleted", "lsn"};
    for (int i = 0; i < 6; i++) n[i] = json_integer_value(json_object_get(r, keys[i]));
    json_decref(r);
    char lsn[40] = "nothing was written";
    if (n[5]) snprintf(lsn, sizeof lsn, "LSN %lld", n[5]);
    if (!replace) {
        say("global data: %lld inserted (%s)", n[0], lsn);
        return;
    }
    char own[64] = "";
    if (n[4]) snprintf(own, sizeof own, ", and %lld of your own edges deleted", n[4]);
    say("global data refreshed: %lld inserted, %lld replaced, %lld unchanged, %lld deleted%s "
        "(%s)", n[0], n[1], n[2], n[3], own, lsn);
}

int cli_global_import(stele *db, const char *path, int replace, int cascade)
{
    char *data, *report = NULL;
    size_t len;
    int rc = cli_read_all(path, &data, &len);
    if (rc) return rc;
    stele_status st = replace ? stele_global_refresh(db, data, len,
                                                     cascade ? STELE_GLOBAL_CASCADE : 0, &report)
                              : stele_global_import(db, data, len, &report);
    free(data);
    if (st == STELE_EINVAL && report) rc = print_bad_lines(strcmp(path, "-") ? path : "stdin",
                                                           report);
    else if (st != STELE_OK) {
        say("%s; nothing was imported", stele_errmsg(db));
        rc = exit_code(st);
    } else {
        puts(report);
        say_global_counts(report, replace);
    }
    stele_free(report);
    return rc;
}

/* ------------------------------------------------------------------ export */

static int write_file(void *ctx, const char *data, size_t len)
{
    return fwrite(data, 1, len, (FILE *)ctx) == len ? 0 : -1;
}

int cli_export(stele *db, const char *coll, stele_io_format fmt, const char *output,
               uint64_t as_of)
{
    FILE *f = output ? fopen(output, "wb") : stdout;
    if (!f) {
        say("cannot create '%s': %s", output, strerror(errno));
        return EXIT_ERR;
    }
    pbar pb = {0};
    stele_export_options eo = {.format = fmt, .as_of = as_of,
                               .progress = isatty(STDERR_FILENO) ? pbar_cb : NULL,
                               .progress_ctx = &pb};
    stele_status st = stele_export(db, coll, &eo, write_file, f);
    pbar_end(&pb);
    int bad = fflush(f) != 0 || ferror(f);
    if (output && fclose(f) != 0) bad = 1;
    if (st == STELE_OK && bad) {
        say("cannot write '%s': %s", output ? output : "standard output", strerror(errno));
        st = STELE_EIO;
    } else if (st != STELE_OK) {
        say("%s", stele_errmsg(db));
    }
    if (st != STELE_OK && output) remove(output); /* no half-written export left behind */
    return exit_code(st);
}
