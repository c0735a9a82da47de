/*
 * code_cmd.c — `stele code index DIR`, `stele code update FILE`, `stele code watch DIR`:
 * the C code indexer (src/code/, libclang) writing the code graph into the database.
 * Layer: cli (include/stele.h and the code library's own headers).
 *
 * Output: one summary line per command (per change for watch) on stdout; errors of the
 * files parsed as "path:line: error: text" ("fatal error" for one that stops the parse:
 * that file is skipped) on stderr. Exit codes as for every
 * command (main.c); a full index fails (1) only if no file at all could be indexed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "code/load.h"

#define WATCH_SETTLE_MS 100 /* a burst of writes within this gives one update per file */

static void on_diag(void *ctx, const char *path, unsigned line, int fatal, const char *msg)
{
    (void)ctx;
    const char *what = fatal ? "fatal error" : "error";
    if (line) fprintf(stderr, "%s:%u: %s: %s\n", path, line, what, msg);
    else fprintf(stderr, "%s: %s: %s\n", path, what, msg);
}


/* "parsing 120/3000 files" on stderr, redrawn at most 10 times a second, only on a
 * terminal (scripts and logs stay clean). The parse threads call on_progress and
 * on_diag_tty one at a time (the indexer serializes them), so `progress` needs no lock. */
typedef struct progress {
    double last_s;
    int drawn;
} progress;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *ctx, size_t done, size_t total)
{
    progress *p = ctx;
    double t = now_s();
    if (done < total && t - p->last_s < 0.1) return;
    p->last_s = t;
    fprintf(stderr, "\r\033[Kparsing %zu/%zu files", done, total);
    p->drawn = 1;
}

static void progress_end(progress *p)
{
    if (p && p->drawn) fputs("\r\033[K", stderr);
    if (p) p->drawn = 0;
}

static void on_note(void *ctx, const char *msg)
{
    progress_end(ctx);
    say("%s", msg);
}

static void on_diag_tty(void *ctx, const char *path, unsigned line, int fatal, const char *msg)
{
    progress_end(ctx); /* an error gets its own line */
    on_diag(NULL, path, line, fatal, msg);
}

static const cg_out OUT = {on_diag, on_note, NULL, NULL};

static int close_code_db(stele *db, int rc)
{
    stele_status st = stele_close(db);
    if (st != STELE_OK && rc == 0) {
        say("closing the database failed: %s", stele_strerror(st));
        return exit_code(st);
    }
    return rc;
}

/* The exit code of an indexer status, after saying what went wrong. */
static int code_fail(int rc, const char *err)
{
    if (rc == 0) return 0;
    say("%s", err);
    return rc > 0 ? EXIT_ERR : exit_code(rc);
}

/* ------------------------------------------------------------------ index */

/* The project of dir and the database opened for writing: 0, or an exit code (said). */
static int open_project(const char *dir, cli_open_fn open, void *ctx, cg_project **p,
                        stele **db)
{
    char err[CG_PATH_MAX + 256];
    *p = cg_project_open(dir, err, sizeof err);
    if (!*p) {
        say("%s", err);
        return EXIT_USAGE;
    }
    int rc = open(ctx, 0, db);
    if (rc) {
        cg_project_free(*p);
        *p = NULL;
    }
    return rc;
}

static int code_index(const char *dir, unsigned jobs, cli_open_fn open, void *ctx)
{
    char err[CG_PATH_MAX + 256];
    cg_project *p;
    stele *db;
    int rc = open_project(dir, open, ctx, &p, &db);
    if (rc) return rc;
    cg_stats st;
    progress bar = {0, 0};
    cg_out out = {on_diag_tty, on_note, isatty(STDERR_FILENO) ? on_progress : NULL, &bar};
    int r = cg_index(db, p, jobs, &out, &st, err, sizeof err);
    progress_end(&bar);
    if (r == CG_NOTHING) {
        say("no file under '%s' could be indexed (%zu do not parse); nothing was written",
            cg_project_root(p), st.skipped);
        rc = EXIT_ERR;
    } else if (r != 0) {
        rc = code_fail(r, err);
    } else {
        printf("indexed %zu files (%zu with errors), skipped %zu: %zu nodes, %zu edges; "
               "%zu documents written (%zu new, %zu changed, %zu deleted, %zu unchanged) in "
               "%zu transaction%s; %llu lines in %.2f s (%.0f lines/s; parsing %.2f s on "
               "%u thread%s)\n",
               st.indexed, st.with_errors, st.skipped, st.nodes, st.edges,
               st.inserted + st.replaced + st.deleted, st.inserted, st.replaced, st.deleted,
               st.unchanged, st.txns, st.txns == 1 ? "" : "s", (unsigned long long)st.lines,
               st.seconds, st.seconds > 0 ? (double)st.lines / st.seconds : 0.0, st.parse_s,
               jobs, jobs == 1 ? "" : "s");
    }
    cg_project_free(p);
    return close_code_db(db, rc);
}

/* ------------------------------------------------------------------ update */

/* One line about one update; returns 0 or an exit code. */
static int report_update(const char *rel, int r, const cg_stats *st, const char *err,
                         int with_time)
{
    char when[32] = "";
    if (with_time) {
        time_t now = time(NULL);
        struct tm tm;
        if (localtime_r(&now, &tm)) strftime(when, sizeof when, "%H:%M:%S ", &tm);
    }
    double ms = st->seconds * 1000.0;
    if (r == CG_NOTHING) {
        say("%s'%s' does not parse; its part of the graph is unchanged", when, rel);
        return EXIT_ERR;
    }
    if (r == CG_UNKNOWN) {
        say("%s", err);
        return EXIT_STATE;
    }
    if (r != 0) return code_fail(r, err);
    size_t written = st->inserted + st->replaced + st->deleted;
    if (!st->indexed)
        printf("%sremoved %s from the graph (%zu documents deleted) in %.1f ms\n", when, rel,
               st->deleted, ms);
    else if (!written)
        printf("%s%s unchanged (%zu nodes, %zu edges) in %.1f ms (parsing %.1f ms)\n", when,
               rel, st->nodes, st->edges, ms, st->parse_s * 1000.0);
    else
        printf("%supdated %s%s: %zu nodes, %zu edges; %zu new, %zu changed, %zu deleted in "
               "%.1f ms (parsing %.1f ms)\n", when, rel, st->with_errors ? " (with errors)" : "",
               st->nodes, st->edges, st->inserted, st->replaced, st->deleted, ms,
               st->parse_s * 1000.0);
    fflush(stdout);
    return 0;
}

/* The project of the root the database records; an exit code. */
static int recorded_project(stele *db, cg_project **p)
{
    char root[CG_PATH_MAX], err[CG_PATH_MAX + 256];
    int rc = cg_meta_root(db, root, sizeof root);
    if (rc == STELE_ENOTFOUND) {
        say("this database holds no code index: run 'stele code index DIR' first");
        return EXIT_STATE;
    }
    if (rc != 0) {
        say("reading the code index: %s", stele_errmsg(db));
        return exit_code(rc);
    }
    *p = cg_project_open(root, err, sizeof err);
    if (!*p) {
        say("the indexed root is gone: %s", err);
        return EXIT_STATE;
    }
    return 0;
}

static int code_update(const char *file, cli_open_fn open, void *ctx)
{
    stele *db;
    cg_project *p = NULL;
    int rc = open(ctx, 1, &db); /* one transaction: no checkpoint record at close */
    if (rc) return rc;
    if ((rc = recorded_project(db, &p))) return close_code_db(db, rc);
    char rel[CG_PATH_MAX], err[CG_PATH_MAX + 256];
    cg_parser *parser = NULL;
    size_t n = strlen(file);
    if (n < 3 || (strcmp(file + n - 2, ".c") != 0 && strcmp(file + n - 2, ".h") != 0)) {
        say("'%s' is not a C file (*.c or *.h)", file);
        rc = EXIT_USAGE;
    } else if (cg_project_rel(p, file, rel, sizeof rel) != 0) {
        say("'%s' is not inside the indexed root %s", file, cg_project_root(p));
        rc = EXIT_USAGE;
    } else if (!(parser = cg_parser_new(cg_project_root(p)))) {
        say("cannot start libclang");
        rc = EXIT_ERR;
    } else {
        cg_stats st;
        int r = cg_update(db, p, parser, rel, &OUT, &st, err, sizeof err);
        rc = report_update(rel, r, &st, err, 0);
    }
    cg_parser_free(parser);
    cg_project_free(p);
    return close_code_db(db, rc);
}

/* ------------------------------------------------------------------ watch */

static volatile sig_atomic_t stop_watch;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_watch = 1;
}

static int catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: the wait returns at once */
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ? -1 : 0;
}

/* The database must index dir (or nothing yet: then it will). An exit code. */
static int same_root(stele *db, cg_project *p)
{
    char root[CG_PATH_MAX], err[256];
    int rc = cg_meta_root(db, root, sizeof root);
    if (rc == 0 && strcmp(root, cg_project_root(p)) != 0) {
        say("this database indexes %s, not %s: run 'stele code index %s' first, or use "
            "another --db", root, cg_project_root(p), cg_project_root(p));
        return EXIT_USAGE;
    }
    if (rc == STELE_ENOTFOUND) rc = cg_meta_ensure(db, p, err, sizeof err);
    else if (rc != 0) snprintf(err, sizeof err, "%s", stele_errmsg(db));
    return rc ? code_fail(rc, err) : 0;
}

/* Updates every changed file until stopped. An exit code. */
static int watch_loop(stele *db, cg_project *p, cg_parser *parser, cg_watch *w)
{
    char err[CG_PATH_MAX + 256];
    for (;;) {
        const char *const *rels;
        size_t n;
        int r = cg_watch_next(w, &stop_watch, WATCH_SETTLE_MS, &rels, &n, err, sizeof err);
        if (r == 1) return 0;
        if (r < 0) return code_fail(STELE_EIO, err);
        for (size_t i = 0; i < n && !stop_watch; i++) {
            cg_stats st;
            int u = cg_update(db, p, parser, rels[i], &OUT, &st, err, sizeof err);
            if (u < 0) return code_fail(u, err); /* the database failed: stop */
            report_update(rels[i], u, &st, err, 1);
        }
    }
}

static int code_watch(const char *dir, cli_open_fn open, void *ctx)
{
    char err[CG_PATH_MAX + 256];
    cg_project *p;
    stele *db;
    int rc = open_project(dir, open, ctx, &p, &db);
    if (rc) return rc;
    cg_parser *parser = NULL;
    cg_watch *w = NULL;
    rc = same_root(db, p);
    if (!rc && !(parser = cg_parser_new(cg_project_root(p)))) {
        say("cannot start libclang");
        rc = EXIT_ERR;
    }
    if (!rc && !(w = cg_watch_open(cg_project_root(p), err, sizeof err)))
        rc = code_fail(STELE_EIO, err);
    if (!rc && catch_stop_signals() != 0) rc = code_fail(STELE_EIO, strerror(errno));
    if (!rc) {
        printf("watching %s (%zu directories); Ctrl-C stops\n", cg_project_root(p),
               cg_watch_dirs(w));
        fflush(stdout);
        rc = watch_loop(db, p, parser, w);
        if (!rc) printf("stopped\n");
    }
    cg_watch_close(w);
    cg_parser_free(parser);
    cg_project_free(p);
    return close_code_db(db, rc);
}

int cli_code(const char *sub, const char *path, int npos, uint64_t jobs, cli_open_fn open,
             void *ctx)
{
    int known = sub && (!strcmp(sub, "index") || !strcmp(sub, "update") || !strcmp(sub, "watch"));
    if (!known || npos != 3) {
        say("usage: stele code index DIR | update FILE | watch DIR (see 'stele code --help')");
        return EXIT_USAGE;
    }
    if (jobs > CG_JOBS_MAX) {
        say("--jobs takes 1 to %d threads, not %llu", CG_JOBS_MAX, (unsigned long long)jobs);
        return EXIT_USAGE;
    }
    if (jobs && strcmp(sub, "index") != 0) {
        say("--jobs is an option of 'stele code index' only");
        return EXIT_USAGE;
    }
    if (!strcmp(sub, "index"))
        return code_index(path, jobs ? (unsigned)jobs : cg_default_jobs(), open, ctx);
    if (!strcmp(sub, "update")) return code_update(path, open, ctx);
    return code_watch(path, open, ctx);
}
