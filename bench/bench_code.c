/*
 * bench_code.c — benchmark 10: the C code indexer's throughput in lines per second on a
 * real codebase, Stele's own source tree, against the floor of libclang itself.
 *
 * Ours: the `stele` executable built next to this benchmark runs `stele code index DIR
 * --jobs N` in a fresh store each run (insecure-test KDF profile: login is not what is
 * measured), for N = 1 and N = the indexer's default; the figures are those its summary
 * line prints (lines of the files parsed over the whole run; the parse phase's wall
 * time). DIR is a copy of the source tree (STELE_BENCH_ROOT_DIR without dot-directories
 * and build trees) with the bench build's compile_commands.json, its paths moved to the
 * copy: the indexer finds it in DIR/build, and the tree it reads is exactly the sources.
 *
 * The peer: `clang -fsyntax-only` of the same translation units with the same arguments
 * — the files and the arguments come from the indexer's own project code (code.h:
 * cg_project_files, cg_project_args), so headers are parsed as their own translation
 * units with the flags they borrow, as the indexer does. Files with identical arguments
 * go to one clang invocation (the driver starts once per group, as libclang starts once
 * per run); with N jobs the files are dealt to N clang processes running at once. A
 * file the indexer skips (a fatal error) fails in clang too: the status is ignored, the
 * time counts. If no clang is installed, the peer is skipped and said so. The clang
 * driver starts one compiler process per input file, so this peer pays a process start
 * per file that the indexer does not; the section prints that cost. The floor without
 * it: libclang alone, in this process on one thread, parsing every file with the
 * indexer's options and arguments and visiting nothing.
 */
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <clang-c/Index.h>

#include "bench.h"
#include "code/load.h"

#define CODE_REPS 3          /* runs of each system */
#define CODE_CMD_MAX (1 << 20) /* one shell command: a group's arguments and files */
/* the environment of every `stele` run: its password, the default durability */
#define CODE_ENV "env -u STELE_DURABILITY STELE_PASSWORD=bench STELE_NEW_PASSWORD=bench"


typedef struct code_run {
    double lines_per_s, parse_s, seconds;
    unsigned long long lines;
    size_t files, skipped;
} code_run;

/* A growable string for the shell commands of the peer. */
typedef struct cmdbuf {
    char *s;
    size_t len, cap;
} cmdbuf;

static void cmd_add(cmdbuf *b, const char *text)
{
    size_t n = strlen(text);
    BENCH_CHECK(b->len + n + 1 <= CODE_CMD_MAX, "a clang command beyond %d bytes", CODE_CMD_MAX);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        b->s = realloc(b->s, cap);
        BENCH_CHECK(b->s, "out of memory");
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

/* text in single quotes for the shell. */
static void cmd_quoted(cmdbuf *b, const char *text)
{
    char one[2] = {0, 0};
    cmd_add(b, " '");
    for (const char *p = text; *p; p++) {
        if (*p == '\'') {
            cmd_add(b, "'\\''");
            continue;
        }
        one[0] = *p;
        cmd_add(b, one);
    }
    cmd_add(b, "'");
}

/* Runs a shell command; dies unless it exits 0. */
static void shell(const char *cmd)
{
    int st = system(cmd);
    BENCH_CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "'%s' failed (%d)", cmd,
                st);
}

/* ------------------------------------------------------------- the tree */

static int is_build_tree(const char *dir)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/CMakeCache.txt", dir);
    return stat(p, &st) == 0;
}

/* Copies the source tree (no dot-directories, no build trees) into dst. */
static void copy_tree(const char *root, const char *dst)
{
    DIR *d = opendir(root);
    BENCH_CHECK(d, "cannot read '%s': %s", root, strerror(errno));
    struct dirent *e;
    cmdbuf cmd = {0};
    cmd_add(&cmd, "cp -r");
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", root, e->d_name);
        if (e->d_name[0] == '.' || is_build_tree(p)) continue;
        cmd_quoted(&cmd, p);
        n++;
    }
    closedir(d);
    BENCH_CHECK(n > 0, "nothing to copy in '%s'", root);
    cmd_quoted(&cmd, dst);
    shell(cmd.s);
    free(cmd.s);
}

/* The bench build's compile_commands.json with root's paths moved to dst (the build
 * tree's stay: the commands' working directories), into dst/build/ (where the indexer
 * looks). */
static void copy_compile_db(const char *root, const char *build, const char *dst)
{
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/compile_commands.json", build);
    snprintf(to, sizeof to, "%s/build", dst);
    BENCH_CHECK(mkdir(to, 0700) == 0, "mkdir '%s': %s", to, strerror(errno));
    FILE *in = fopen(from, "r");
    BENCH_CHECK(in, "no '%s': the bench build exports compile commands (CMakeLists.txt)", from);
    strcat(to, "/compile_commands.json");
    FILE *out = fopen(to, "w");
    BENCH_CHECK(out, "cannot write '%s'", to);
    char line[65536], prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/", root);
    size_t pl = strlen(prefix), bl = strlen(build);
    while (fgets(line, sizeof line, in)) {
        for (char *p = line; *p;) {
            if (strncmp(p, build, bl) == 0) { /* the build tree stays where it is */
                fputs(build, out);
                p += bl;
            } else if (strncmp(p, prefix, pl) == 0) {
                fprintf(out, "%s/", dst);
                p += pl;
            } else {
                fputc(*p++, out);
            }
        }
    }
    BENCH_CHECK(!ferror(in) && fclose(out) == 0, "copying '%s'", from);
    fclose(in);
}

/* ------------------------------------------------------------- ours */

/* The number that ends just before `before` in line. */
static double number_before(const char *line, const char *before)
{
    const char *p = strstr(line, before);
    BENCH_CHECK(p && p > line, "no '%s' in the indexer's summary: %s", before, line);
    while (p > line && p[-1] >= '0' && p[-1] <= '9') p--;
    return strtod(p, NULL);
}

static double field_after(const char *line, const char *after)
{
    const char *p = strstr(line, after);
    BENCH_CHECK(p, "no '%s' in the indexer's summary: %s", after, line);
    return strtod(p + strlen(after), NULL);
}

/* `stele code index tree --jobs jobs` in a fresh store: the figures of its summary. */
static void ours_run(const char *tree, unsigned jobs, code_run *r)
{
    char store[4200], cmd[16384], line[4096] = "";
    bench_subdir("code-store", store, sizeof store);
    snprintf(cmd, sizeof cmd, CODE_ENV " '%s' init --store '%s' --user bench --kdf-profile "
             "insecure-test >/dev/null", STELE_BENCH_STELE, store);
    shell(cmd);
    snprintf(cmd, sizeof cmd, CODE_ENV " '%s' code index '%s' --store '%s' --user bench "
             "--jobs %u 2>/dev/null", STELE_BENCH_STELE, tree, store, jobs);
    FILE *p = popen(cmd, "r");
    BENCH_CHECK(p, "cannot run '%s'", cmd);
    char *got = fgets(line, sizeof line, p);
    int st = pclose(p);
    BENCH_CHECK(got && st == 0, "'%s' failed (%d): %s", cmd, st, line);
    /* "indexed F files (E with errors), skipped S: ...; L lines in T s (R lines/s;
     * parsing P s on N threads)" */
    r->files = (size_t)field_after(line, "indexed ");
    r->skipped = (size_t)field_after(line, "skipped ");
    r->lines = (unsigned long long)number_before(line, " lines in ");
    r->seconds = field_after(line, " lines in ");
    r->parse_s = field_after(line, "parsing ");
    BENCH_CHECK(r->seconds > 0 && r->lines > 0, "no figures in: %s", line);
    r->lines_per_s = (double)r->lines / r->seconds;
    bench_rmtree(store);
}

/* ------------------------------------------------------------- the peer */

typedef struct peer_plan {
    char **args_key;  /* per file: its arguments, quoted, as one string */
    char **path;      /* per file: absolute path */
    char ***argv;     /* per file: its arguments */
    int *argc;
    size_t n;
} peer_plan;

/* The files and arguments the indexer uses for tree. */
static void peer_plan_make(const char *tree, peer_plan *pl)
{
    char err[512];
    cg_project *p = cg_project_open(tree, err, sizeof err);
    BENCH_CHECK(p, "%s", err);
    char **rels = NULL;
    size_t n = 0;
    BENCH_CHECK(cg_project_files(p, &rels, &n, err, sizeof err) == 0, "%s", err);
    pl->n = n;
    pl->args_key = calloc(n ? n : 1, sizeof *pl->args_key);
    pl->path = calloc(n ? n : 1, sizeof *pl->path);
    pl->argv = calloc(n ? n : 1, sizeof *pl->argv);
    pl->argc = calloc(n ? n : 1, sizeof *pl->argc);
    BENCH_CHECK(pl->args_key && pl->path && pl->argv && pl->argc, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *const *args;
        int nargs;
        BENCH_CHECK(cg_project_args(p, rels[i], &args, &nargs) == 0, "out of memory");
        cmdbuf b = {0};
        cmd_add(&b, "");
        pl->argv[i] = calloc((size_t)nargs + 1, sizeof **pl->argv);
        BENCH_CHECK(pl->argv[i], "out of memory");
        pl->argc[i] = nargs;
        for (int k = 0; k < nargs; k++) {
            cmd_quoted(&b, args[k]);
            pl->argv[i][k] = strdup(args[k]);
            BENCH_CHECK(pl->argv[i][k], "out of memory");
        }
        pl->args_key[i] = b.s;
        cmdbuf f = {0};
        cmd_add(&f, cg_project_root(p));
        cmd_add(&f, "/");
        cmd_add(&f, rels[i]);
        pl->path[i] = f.s;
        free(rels[i]);
    }
    free(rels);
    cg_project_free(p);
}

static void peer_plan_free(peer_plan *pl)
{
    for (size_t i = 0; i < pl->n; i++) {
        free(pl->args_key[i]);
        free(pl->path[i]);
        for (int k = 0; k < pl->argc[i]; k++) free(pl->argv[i][k]);
        free(pl->argv[i]);
    }
    free(pl->args_key);
    free(pl->path);
    free(pl->argv);
    free(pl->argc);
}

/* The shell command of worker w of `jobs`: one clang per group of identical arguments,
 * over the files i with i % jobs == w. */
static char *peer_command(const peer_plan *pl, unsigned w, unsigned jobs, size_t *clangs)
{
    cmdbuf b = {0};
    cmd_add(&b, "exec 2>/dev/null; true"); /* the skipped files' errors */
    char *done = calloc(pl->n ? pl->n : 1, 1);
    BENCH_CHECK(done, "out of memory");
    for (size_t i = w; i < pl->n; i += jobs) {
        if (done[i]) continue;
        cmd_add(&b, "; clang -fsyntax-only");
        ++*clangs;
        cmd_add(&b, pl->args_key[i]);
        for (size_t k = i; k < pl->n; k += jobs) {
            if (done[k] || strcmp(pl->args_key[k], pl->args_key[i]) != 0) continue;
            cmd_quoted(&b, pl->path[k]);
            done[k] = 1;
        }
    }
    cmd_add(&b, "; true");
    free(done);
    return b.s;
}

/* Wall time of clang -fsyntax-only over every file on `jobs` processes at once;
 * *clangs gets the number of clang invocations. */
static double peer_run(const peer_plan *pl, unsigned jobs, size_t *clangs)
{
    FILE *p[CG_JOBS_MAX];
    BENCH_CHECK(jobs >= 1 && jobs <= CG_JOBS_MAX, "%u jobs", jobs);
    char *cmds[CG_JOBS_MAX];
    *clangs = 0;
    for (unsigned w = 0; w < jobs; w++) cmds[w] = peer_command(pl, w, jobs, clangs);
    uint64_t t0 = bench_now_ns();
    for (unsigned w = 0; w < jobs; w++) {
        p[w] = popen(cmds[w], "r");
        BENCH_CHECK(p[w], "cannot run clang");
    }
    for (unsigned w = 0; w < jobs; w++) {
        int st = pclose(p[w]);
        BENCH_CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "clang worker %u: %d",
                    w, st);
    }
    double s = (double)(bench_now_ns() - t0) / 1e9;
    for (unsigned w = 0; w < jobs; w++) free(cmds[w]);
    return s;
}

/* libclang alone, in this process, on one thread: every file parsed with the options
 * the indexer uses (extract.c: the detailed preprocessing record), nothing visited,
 * nothing written. Seconds. */
static double libclang_run(const peer_plan *pl)
{
    CXIndex index = clang_createIndex(0, 0);
    BENCH_CHECK(index, "clang_createIndex failed");
    unsigned opts = CXTranslationUnit_DetailedPreprocessingRecord |
                    CXTranslationUnit_IgnoreNonErrorsFromIncludedFiles;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < pl->n; i++) {
        CXTranslationUnit tu = NULL;
        enum CXErrorCode e = clang_parseTranslationUnit2(
            index, pl->path[i], (const char *const *)pl->argv[i], pl->argc[i], NULL, 0, opts,
            &tu);
        BENCH_CHECK(e == CXError_Success && tu, "libclang failed on '%s' (%d)", pl->path[i],
                    (int)e);
        clang_disposeTranslationUnit(tu);
    }
    double s = (double)(bench_now_ns() - t0) / 1e9;
    clang_disposeIndex(index);
    return s;
}

/* Seconds of `clang -fsyntax-only` on an empty file: the start of one clang process. */
static double clang_start_s(void)
{
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < 10; i++) shell("clang -fsyntax-only -x c /dev/null");
    return (double)(bench_now_ns() - t0) / 1e9 / 10;
}

static int have_clang(void)
{
    int st = system("clang --version >/dev/null 2>&1");
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ------------------------------------------------------------- the section */

typedef struct code_figs {
    double ours[2][CODE_REPS], peer[2][CODE_REPS], parse_share[2][CODE_REPS];
    double floor_[CODE_REPS]; /* libclang alone, lines/s */
    code_run last[2];
    size_t clangs[2]; /* clang invocations of the peer */
} code_figs;

static void report(const code_figs *f, unsigned jobs, int peer)
{
    char label[2][64], plabel[2][96];
    unsigned n[2] = {1, jobs};
    bench_stats ours[2], theirs[2], share[2];
    bench_row_header("lines/s");
    for (int k = 0; k < 2; k++) {
        snprintf(label[k], sizeof label[k], "stele code index --jobs %u", n[k]);
        snprintf(plabel[k], sizeof plabel[k], "clang -fsyntax-only, %u process%s", n[k],
                 n[k] == 1 ? "" : "es");
        ours[k] = bench_stats_of(f->ours[k], CODE_REPS);
        share[k] = bench_stats_of(f->parse_share[k], CODE_REPS);
        bench_row(label[k], &ours[k]);
        if (peer) {
            theirs[k] = bench_stats_of(f->peer[k], CODE_REPS);
            bench_row(plabel[k], &theirs[k]);
        }
    }
    bench_stats fl = bench_stats_of(f->floor_, CODE_REPS);
    bench_row("libclang alone (parse, no visit), 1 thread", &fl);
    for (int k = 0; k < 2; k++)
        bench_note("--jobs %u: parse phase %.0f%% of the run (median), the rest is building "
                   "the graph and writing it", n[k], share[k].median * 100);
    bench_goal_report(&(bench_goal){"code index, 1 thread, vs libclang alone", "lines/s",
                                    ours[0].median, fl.median, "libclang parse", 0.75, 1, 0});
    for (int k = 0; peer && k < 2; k++)
        bench_goal_report(&(bench_goal){k ? "code index, parallel, vs clang -fsyntax-only"
                                          : "code index, 1 thread, vs clang -fsyntax-only",
                                        "lines/s", ours[k].median, theirs[k].median,
                                        "clang -fsyntax-only", 0.5, 1, 0});
}

void bench_code(void)
{
    unsigned jobs = cg_default_jobs();
    int peer = have_clang();
    char detail[512], tree[4200];
    snprintf(detail, sizeof detail, "Stele's own source tree (%s, copied), fresh store per "
             "run, %d runs; --jobs 1 and --jobs %u (the default here) against clang "
             "-fsyntax-only of the same translation units and arguments", STELE_BENCH_ROOT_DIR,
             CODE_REPS, jobs);
    bench_section("10. Code indexer", detail);
    bench_subdir("code-tree", tree, sizeof tree);
    copy_tree(STELE_BENCH_ROOT_DIR, tree);
    copy_compile_db(STELE_BENCH_ROOT_DIR, STELE_BENCH_BUILD_DIR, tree);
    peer_plan pl = {0};
    peer_plan_make(tree, &pl);
    code_figs f;
    memset(&f, 0, sizeof f);
    unsigned n[2] = {1, jobs};
    for (int rep = 0; rep < CODE_REPS; rep++) { /* the systems interleaved */
        for (int k = 0; k < 2; k++) {
            code_run r;
            ours_run(tree, n[k], &r);
            f.ours[k][rep] = r.lines_per_s;
            f.parse_share[k][rep] = r.parse_s / r.seconds;
            f.last[k] = r;
            if (peer) f.peer[k][rep] = (double)r.lines / peer_run(&pl, n[k], &f.clangs[k]);
        }
        f.floor_[rep] = (double)f.last[0].lines / libclang_run(&pl);
    }
    bench_note("%zu files indexed (%zu skipped: they do not parse), %llu lines",
               f.last[0].files, f.last[0].skipped, f.last[0].lines);
    report(&f, jobs, peer);
    double start_s = peer ? clang_start_s() : 0;
    if (peer)
        bench_note("the peer ran %zu clang invocations with 1 process, %zu with %u (files with "
                   "the same arguments share one); the driver still starts a compiler process "
                   "per file, %.0f ms each (clang on an empty file): %.1f s of its 1-process "
                   "run", f.clangs[0], f.clangs[1], jobs, start_s * 1000,
                   start_s * (double)pl.n);
    else
        bench_note("the peer (clang -fsyntax-only) was skipped: no clang on PATH");
    bench_note("a larger codebase is not available offline here: only Stele's own source");
    peer_plan_free(&pl);
    bench_rmtree(tree);
}
