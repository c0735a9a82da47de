/*
 * project.c — the files of an indexed root and the compiler arguments of each.
 * Layer: code (libclang's compilation database; no Stele).
 *
 * The walk uses an explicit stack of directories (no recursion), skips dot-directories,
 * CMake build trees (a directory holding CMakeCache.txt) and symbolic links, and keeps
 * *.c and *.h files. Arguments come from compile_commands.json (in the root or root/build)
 * when it names the file; a header or an unlisted file borrows the command of a file in
 * the same directory (else the first command), which is what its includer would use.
 */
#include <clang-c/CXCompilationDatabase.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "code/code.h"

struct cg_project {
    char root[CG_PATH_MAX];
    size_t root_len;
    char db_path[CG_PATH_MAX]; /* "" if there is no compilation database */
    CXCompilationDatabase db;
    CXCompileCommands all;     /* every command of db */
    cg_smap dir_cmd;           /* directory (absolute) → its first command in `all` */
    cg_arena dirs;             /* the keys of dir_cmd */
    cg_arena args_arena;       /* the argument strings of the last cg_project_args */
    const char *args[CG_ARGS_MAX];
};

/* The absolute path of command c's file into buf. */
static void command_file(CXCompileCommand c, char *buf, size_t cap)
{
    CXString dir = clang_CompileCommand_getDirectory(c);
    CXString file = clang_CompileCommand_getFilename(c);
    const char *f = clang_getCString(file), *dr = clang_getCString(dir);
    if (f && f[0] == '/') snprintf(buf, cap, "%s", f);
    else snprintf(buf, cap, "%s/%s", dr ? dr : ".", f ? f : "");
    clang_disposeString(dir);
    clang_disposeString(file);
}

/* Which command a file without its own borrows: the first of its directory. */
static int index_commands(cg_project *p)
{
    p->all = clang_CompilationDatabase_getAllCompileCommands(p->db);
    unsigned n = p->all ? clang_CompileCommands_getSize(p->all) : 0;
    for (unsigned i = 0; i < n; i++) {
        char path[CG_PATH_MAX * 2];
        command_file(clang_CompileCommands_getCommand(p->all, i), path, sizeof path);
        char *slash = strrchr(path, '/');
        if (slash) *slash = 0;
        const char *dir = cg_arena_strdup(&p->dirs, path);
        if (!dir || cg_smap_put(&p->dir_cmd, dir, i, NULL) < 0) return -1;
    }
    return 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* 0, or -1 on OOM. */
static int load_db(cg_project *p)
{
    static const char *const where[] = {"", "/build"};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        char dir[CG_PATH_MAX], file[CG_PATH_MAX + 32];
        struct stat st;
        if (snprintf(dir, sizeof dir, "%s%s", p->root, where[i]) >= (int)sizeof dir) continue;
        snprintf(file, sizeof file, "%s/compile_commands.json", dir);
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        CXCompilationDatabase_Error e;
        CXCompilationDatabase db = clang_CompilationDatabase_fromDirectory(dir, &e);
        if (e == CXCompilationDatabase_NoError && db) {
            p->db = db;
            snprintf(p->db_path, sizeof p->db_path, "%s", file);
            return index_commands(p);
        }
        if (db) clang_CompilationDatabase_dispose(db);
    }
    return 0;
}

cg_project *cg_project_open(const char *dir, char *err, size_t errcap)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, errcap, "cannot index '%s': %s", dir, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errcap, "cannot index '%s': not a directory", dir);
        return NULL;
    }
    char real[PATH_MAX];
    if (!realpath(dir, real)) {
        snprintf(err, errcap, "cannot index '%s': %s", dir, strerror(errno));
        return NULL;
    }
    if (strlen(real) >= CG_PATH_MAX - 256 || strcmp(real, "/") == 0) {
        snprintf(err, errcap, "cannot index '%s': %s", dir,
                 strcmp(real, "/") == 0 ? "not the whole file system" : "path too long");
        return NULL;
    }
    cg_project *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    strcpy(p->root, real);
    p->root_len = strlen(real);
    cg_arena_init(&p->args_arena);
    cg_arena_init(&p->dirs);
    cg_smap_init(&p->dir_cmd);
    if (load_db(p) != 0) {
        snprintf(err, errcap, "out of memory reading %s", p->db_path);
        cg_project_free(p);
        return NULL;
    }
    return p;
}

void cg_project_free(cg_project *p)
{
    if (!p) return;
    if (p->all) clang_CompileCommands_dispose(p->all);
    if (p->db) clang_CompilationDatabase_dispose(p->db);
    cg_smap_release(&p->dir_cmd);
    cg_arena_release(&p->dirs);
    cg_arena_release(&p->args_arena);
    free(p);
}

const char *cg_project_root(const cg_project *p) { return p->root; }
const char *cg_project_compile_db(const cg_project *p) { return p->db_path[0] ? p->db_path : NULL; }

/* ------------------------------------------------------------- the walk */

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

static int list_add(strlist *l, const char *s)
{
    if (cg_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v) != 0) return -1;
    l->v[l->n] = strdup(s);
    return l->v[l->n] ? (int)(l->n++ * 0) : -1;
}

static void list_release(strlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int wanted_name(const char *name)
{
    size_t n = strlen(name);
    return n > 2 && name[0] != '.' && (strcmp(name + n - 2, ".c") == 0 ||
                                       strcmp(name + n - 2, ".h") == 0);
}

/* Whether the directory rel (under the root) is to be walked. */
static int walk_dir_ok(const cg_project *p, const char *rel)
{
    char path[CG_PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s/CMakeCache.txt", p->root, rel) >= (int)sizeof path)
        return 0;
    return stat(path, &st) != 0;
}

/* One directory: files into out, subdirectories onto the stack. */
static int walk_one(const cg_project *p, const char *rel, strlist *stack, strlist *out)
{
    char path[CG_PATH_MAX], child[CG_PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", p->root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) return 0; /* unreadable: nothing to index there */
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >=
            (int)sizeof child - 64)
            continue;
        struct stat st;
        char full[CG_PATH_MAX + 64];
        snprintf(full, sizeof full, "%s/%s", p->root, child);
        if (lstat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode) && walk_dir_ok(p, child)) rc = list_add(stack, child);
        else if (S_ISREG(st.st_mode) && wanted_name(e->d_name)) rc = list_add(out, child);
        if (out->n > CG_FILES_MAX) rc = -2;
    }
    closedir(d);
    return rc;
}

/* The compilation database's files inside the root, added to out. */
static int db_files(const cg_project *p, strlist *out)
{
    unsigned n = p->all ? clang_CompileCommands_getSize(p->all) : 0;
    int rc = 0;
    for (unsigned i = 0; i < n && rc == 0; i++) {
        char rel[CG_PATH_MAX], path[CG_PATH_MAX * 2];
        command_file(clang_CompileCommands_getCommand(p->all, i), path, sizeof path);
        struct stat st;
        if (wanted_name(strrchr(path, '/') ? strrchr(path, '/') + 1 : path) &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            cg_project_rel(p, path, rel, sizeof rel) == 0)
            rc = list_add(out, rel);
    }
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cg_project_files(cg_project *p, char ***rels, size_t *n, char *err, size_t errcap)
{
    strlist stack = {0}, out = {0};
    int rc = list_add(&stack, "");
    while (rc == 0 && stack.n > 0) {
        char *rel = stack.v[--stack.n];
        rc = walk_one(p, rel, &stack, &out);
        free(rel);
    }
    if (rc == 0) rc = db_files(p, &out);
    list_release(&stack);
    if (rc != 0) {
        list_release(&out);
        snprintf(err, errcap, rc == -2 ? "more than %u files under '%s'" : "out of memory",
                 CG_FILES_MAX, p->root);
        return -1;
    }
    if (out.n) qsort(out.v, out.n, sizeof *out.v, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < out.n; i++) { /* the database may repeat what the walk found */
        if (k && strcmp(out.v[k - 1], out.v[i]) == 0) free(out.v[i]);
        else out.v[k++] = out.v[i];
    }
    *rels = out.v;
    *n = k;
    return 0;
}

int cg_project_rel(const cg_project *p, const char *path, char *rel, size_t cap)
{
    char real[PATH_MAX], dir[PATH_MAX];
    if (!realpath(path, real)) { /* a deleted file: resolve its directory, keep its name */
        if (strlen(path) >= sizeof dir) return -1;
        strcpy(dir, path);
        char *slash = strrchr(dir, '/');
        const char *name = slash ? slash + 1 : dir, *parent = ".";
        if (slash) {
            *slash = 0;
            parent = dir[0] ? dir : "/";
        }
        if (!*name || !realpath(parent, real)) return -1;
        size_t rl = strlen(real);
        if (rl + 2 + strlen(name) >= sizeof real) return -1;
        if (strcmp(real, "/") != 0) real[rl++] = '/';
        strcpy(real + rl, name);
    }
    size_t rl = p->root_len;
    if (strncmp(real, p->root, rl) != 0 || real[rl] != '/' || !real[rl + 1]) return -1;
    if (strlen(real + rl + 1) >= cap) return -1;
    strcpy(rel, real + rl + 1);
    return 0;
}

/* ------------------------------------------------------------- arguments */

/* Whether a command-line argument is dropped, and whether it takes the next one too. */
static int arg_dropped(const char *a, const char *file, int *skip_next)
{
    static const char *const with_value[] = {"-o", "-MF", "-MT", "-MQ"};
    *skip_next = 0;
    for (size_t i = 0; i < sizeof with_value / sizeof with_value[0]; i++)
        if (strcmp(a, with_value[i]) == 0) return *skip_next = 1;
    if (strcmp(a, "-c") == 0 || strncmp(a, "-Werror", 7) == 0 || strcmp(a, "-M") == 0 ||
        strcmp(a, "-MM") == 0 || strcmp(a, "-MD") == 0 || strcmp(a, "-MMD") == 0 ||
        strcmp(a, "-MP") == 0 || strcmp(a, "-MG") == 0 || strcmp(a, "--") == 0)
        return 1;
    if (strncmp(a, "-o", 2) == 0 && a[2]) return 1;
    const char *slash = strrchr(file, '/');
    return strcmp(a, file) == 0 || (slash && strcmp(a, slash + 1) == 0);
}

static int push_arg(cg_project *p, int *n, const char *a)
{
    if (*n >= CG_ARGS_MAX - 1) return 0; /* the rest is dropped: bounded */
    const char *c = cg_arena_strdup(&p->args_arena, a);
    if (!c) return -1;
    p->args[(*n)++] = c;
    return 0;
}

/* The command for abs: its own, else the first of its directory, else the first. */
static CXCompileCommand pick_command(cg_project *p, const char *abs, CXCompileCommands *own)
{
    *own = clang_CompilationDatabase_getCompileCommands(p->db, abs);
    if (*own && clang_CompileCommands_getSize(*own) > 0)
        return clang_CompileCommands_getCommand(*own, 0);
    if (!p->all || clang_CompileCommands_getSize(p->all) == 0) return NULL;
    char dir[CG_PATH_MAX * 2];
    snprintf(dir, sizeof dir, "%s", abs);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    uint32_t i = 0;
    cg_smap_get(&p->dir_cmd, dir, &i); /* none in its directory: the first */
    return clang_CompileCommands_getCommand(p->all, i);
}

static int db_args(cg_project *p, const char *abs, int *n)
{
    CXCompileCommands own = NULL;
    CXCompileCommand c = pick_command(p, abs, &own);
    int rc = 0;
    if (c) {
        CXString dir = clang_CompileCommand_getDirectory(c);
        CXString file = clang_CompileCommand_getFilename(c);
        const char *fl = clang_getCString(file);
        rc = push_arg(p, n, "-working-directory");
        if (rc == 0) rc = push_arg(p, n, clang_getCString(dir) ? clang_getCString(dir) : ".");
        unsigned nargs = clang_CompileCommand_getNumArgs(c);
        for (unsigned i = 1; i < nargs && rc == 0; i++) { /* 0 is the compiler */
            CXString a = clang_CompileCommand_getArg(c, i);
            const char *s = clang_getCString(a);
            int skip_next = 0;
            if (s && !arg_dropped(s, fl ? fl : "", &skip_next)) rc = push_arg(p, n, s);
            clang_disposeString(a);
            i += (unsigned)skip_next;
        }
        clang_disposeString(dir);
        clang_disposeString(file);
    }
    if (own) clang_CompileCommands_dispose(own);
    return c ? (rc == 0 ? 1 : -1) : 0;
}

int cg_project_args(cg_project *p, const char *rel, const char *const **args, int *nargs)
{
    cg_arena_release(&p->args_arena);
    cg_arena_init(&p->args_arena);
    char abs[CG_PATH_MAX * 2], inc[CG_PATH_MAX + 16];
    snprintf(abs, sizeof abs, "%s/%s", p->root, rel);
    int n = 0, rc = p->db ? db_args(p, abs, &n) : 0;
    if (rc == 0) { /* no database, or it has no command at all */
        static const char *const dirs[] = {"", "/include", "/src"};
        rc = push_arg(p, &n, "-std=c11");
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && rc == 0; i++) {
            snprintf(inc, sizeof inc, "-I%s%s", p->root, dirs[i]);
            if (i == 0 || is_dir(inc + 2)) rc = push_arg(p, &n, inc);
        }
    }
    if (rc >= 0) rc = push_arg(p, &n, "-fparse-all-comments");
    if (rc >= 0) rc = push_arg(p, &n, "-w");
    *args = p->args;
    *nargs = n;
    return rc < 0 ? -1 : 0;
}
