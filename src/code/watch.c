/*
 * watch.c — inotify over a tree of C files, for `stele code watch`. Layer: code (Linux
 * inotify; no Stele, no libclang).
 *
 * Every directory under the root gets a watch (explicit stack, no recursion; the same
 * directories the indexer walks: no dot-directories, CMake build trees or symlinks).
 * A new directory is watched when it appears and the C files already in it count
 * as changed (they may have been written before the watch existed). A change is a *.c
 * or *.h file closed after writing, moved in, deleted or moved out; editors' temporary
 * files (dot files, other extensions) are ignored. Changes are collected until the tree
 * has been quiet for `settle_ms`, so a burst of writes gives one update per file.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "code/code.h"

#define WATCH_DIRS_MAX 100000u  /* inotify's default max_user_watches is 8192..1M */
#define WATCH_POLL_MS 250       /* how often a wait looks at the stop flag */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE)

struct cg_watch {
    int fd;
    char root[CG_PATH_MAX];
    cg_umap dir_of;     /* watch descriptor → index in dirs */
    char **dirs;        /* relative paths ("" = the root) */
    size_t ndirs, cap_dirs;
    cg_arena batch;     /* the changed paths of the last batch */
    cg_smap changed_at;
    const char **changed;
    size_t nchanged, cap_changed;
};

static int c_or_h(const char *name)
{
    size_t n = strlen(name);
    return n > 2 && name[0] != '.' &&
           (strcmp(name + n - 2, ".c") == 0 || strcmp(name + n - 2, ".h") == 0);
}

static int note_change(cg_watch *w, const char *dir, const char *name)
{
    char *rel = cg_arena_printf(&w->batch, "%s%s%s", dir, dir[0] ? "/" : "", name);
    if (!rel) return -1;
    int r = cg_smap_put(&w->changed_at, rel, 0, NULL);
    if (r != 0) return r < 0 ? -1 : 0;
    if (cg_grow((void **)&w->changed, &w->cap_changed, w->nchanged + 1, sizeof *w->changed))
        return -1;
    w->changed[w->nchanged++] = rel;
    return 0;
}

/* Watches directory rel; its subdirectories go onto the stack, and (if `fresh`) its C
 * files count as changed. */
static int watch_dir(cg_watch *w, const char *rel, char ***stack, size_t *n, size_t *cap,
                     int fresh)
{
    char path[CG_PATH_MAX * 2], child[CG_PATH_MAX * 2];
    snprintf(path, sizeof path, "%s%s%s", w->root, rel[0] ? "/" : "", rel);
    if (w->ndirs >= WATCH_DIRS_MAX) return -2;
    int wd = inotify_add_watch(w->fd, path, WATCH_MASK | IN_ONLYDIR | IN_DONT_FOLLOW);
    if (wd < 0) return errno == ENOENT || errno == ENOTDIR ? 0 : -3; /* gone already */
    char *copy = strdup(rel);
    uint32_t old;
    int r = copy && cg_grow((void **)&w->dirs, &w->cap_dirs, w->ndirs + 1, sizeof *w->dirs) == 0
                ? cg_umap_put(&w->dir_of, (uint64_t)wd, (uint32_t)w->ndirs, &old) : -1;
    if (r < 0) {
        free(copy);
        return -1;
    }
    if (r == 1) { /* inotify gave a number back (the directory was seen, or it was reused) */
        free(w->dirs[old]);
        w->dirs[old] = copy;
    } else {
        w->dirs[w->ndirs++] = copy;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    int rc = 0;
    while (d && rc == 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.') continue;
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        if (lstat(child, &st) != 0) continue;
        if (S_ISREG(st.st_mode) && fresh && c_or_h(e->d_name)) rc = note_change(w, rel, e->d_name);
        if (!S_ISDIR(st.st_mode)) continue;
        snprintf(child, sizeof child, "%s/%s/CMakeCache.txt", path, e->d_name);
        if (stat(child, &st) == 0) continue; /* a CMake build tree */
        snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (strlen(child) >= CG_PATH_MAX - 256) continue;
        if (cg_grow((void **)stack, cap, *n + 1, sizeof **stack) != 0 ||
            !((*stack)[*n] = strdup(child)))
            rc = -1;
        else
            (*n)++;
    }
    if (d) closedir(d);
    return rc;
}

/* Watches rel and everything below it. 0, or -1 OOM, -2 too many, -3 inotify refused. */
static int watch_tree(cg_watch *w, const char *rel, int fresh)
{
    char **stack = NULL;
    size_t n = 0, cap = 0;
    int rc = cg_grow((void **)&stack, &cap, 1, sizeof *stack);
    if (rc == 0 && !(stack[n++] = strdup(rel))) rc = -1;
    while (rc == 0 && n > 0) {
        char *dir = stack[--n];
        rc = watch_dir(w, dir, &stack, &n, &cap, fresh);
        free(dir);
    }
    while (n > 0) free(stack[--n]);
    free(stack);
    return rc;
}

cg_watch *cg_watch_open(const char *root, char *err, size_t errcap)
{
    cg_watch *w = calloc(1, sizeof *w);
    if (!w || strlen(root) >= sizeof w->root) {
        free(w);
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    strcpy(w->root, root);
    cg_arena_init(&w->batch);
    w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    int rc = w->fd < 0 ? -3 : watch_tree(w, "", 0);
    if (rc == -1) snprintf(err, errcap, "out of memory");
    else if (rc == -2) snprintf(err, errcap, "more than %u directories to watch", WATCH_DIRS_MAX);
    else if (rc != 0)
        snprintf(err, errcap, "inotify: %s (see /proc/sys/fs/inotify/max_user_watches)",
                 strerror(errno));
    if (rc != 0) {
        cg_watch_close(w);
        return NULL;
    }
    return w;
}

void cg_watch_close(cg_watch *w)
{
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    for (size_t i = 0; i < w->ndirs; i++) free(w->dirs[i]);
    free(w->dirs);
    cg_umap_release(&w->dir_of);
    cg_smap_release(&w->changed_at);
    free(w->changed);
    cg_arena_release(&w->batch);
    free(w);
}

size_t cg_watch_dirs(const cg_watch *w) { return w->ndirs; }

/* One inotify event. 0 or -1. */
static int on_event(cg_watch *w, const struct inotify_event *ev)
{
    uint32_t at;
    if (!cg_umap_get(&w->dir_of, (uint64_t)ev->wd, &at) || ev->len == 0) return 0;
    const char *dir = w->dirs[at];
    if (ev->mask & IN_ISDIR) {
        if (!(ev->mask & (IN_CREATE | IN_MOVED_TO)) || ev->name[0] == '.') return 0;
        char rel[CG_PATH_MAX];
        if (snprintf(rel, sizeof rel, "%s%s%s", dir, dir[0] ? "/" : "", ev->name) >=
            (int)sizeof rel - 256)
            return 0;
        int rc = watch_tree(w, rel, 1);
        return rc == -1 ? -1 : 0; /* a directory inotify refuses is simply not watched */
    }
    if (!(ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) ||
        !c_or_h(ev->name))
        return 0;
    return note_change(w, dir, ev->name);
}

/* Reads what is pending. 0, or -1 with errno. */
static int drain(cg_watch *w)
{
    _Alignas(struct inotify_event) char buf[65536];
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
        if (n == 0) return 0;
        for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
            const struct inotify_event *ev = (const void *)(buf + off);
            if (on_event(w, ev) != 0) return errno = ENOMEM, -1;
            off += (ssize_t)(sizeof *ev + ev->len);
        }
    }
}

int cg_watch_next(cg_watch *w, volatile sig_atomic_t *stop, int settle_ms, const char *const **rels,
                  size_t *n, char *err, size_t errcap)
{
    cg_arena_release(&w->batch);
    cg_arena_init(&w->batch);
    cg_smap_release(&w->changed_at);
    w->nchanged = 0;
    double quiet_ms = 0;
    while (!*stop) {
        struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
        int wait = w->nchanged && settle_ms < WATCH_POLL_MS ? settle_ms : WATCH_POLL_MS;
        int r = poll(&pfd, 1, wait);
        if (r < 0 && errno != EINTR) {
            snprintf(err, errcap, "waiting for changes: %s", strerror(errno));
            return -1;
        }
        if (r > 0 && drain(w) != 0) {
            snprintf(err, errcap, "reading changes: %s", strerror(errno));
            return -1;
        }
        quiet_ms = r == 0 ? quiet_ms + wait : 0;
        if (w->nchanged && quiet_ms >= settle_ms) {
            *rels = w->changed;
            *n = w->nchanged;
            return 0;
        }
    }
    return 1;
}
