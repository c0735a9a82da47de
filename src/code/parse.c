/*
 * parse.c — the parse phase of a full index: every file of the project through
 * cg_extract, on N threads. Layer: code (pthreads; libclang only through extract.c and
 * project.c).
 *
 * Threads. Each worker owns one cg_parser, i.e. one libclang CXIndex: an index and the
 * translation units made from it are only ever used by one thread, which is how libclang
 * may be used from several threads at once (the indices are made and freed by the
 * calling thread, before and after the workers run). A worker takes the
 * next file from a shared atomic counter and writes only that file's slot (files[i] and
 * slots[i]). What the workers share is under `lock`:
 *  - the project's argument lookup (cg_project_args reuses one buffer): each worker
 *    copies the arguments of its file into its own arena while it holds the lock;
 *  - the output: the errors of a file are kept in its slot and handed to out->diag in
 *    path order, once every file before it is done, so the errors printed by N threads
 *    are those of one thread in the same order; progress counts the files done.
 *
 * Invariants:
 *  1. slots[i] and files[i] are written by one worker only, before it marks slot i done
 *     (under the lock); after that only the holder of the lock reads them.
 *  2. emitted <= done <= n; the slots [0, emitted) are done and their errors are out.
 *  3. After the phase, everything reads the slots in path order: the graph does not
 *     depend on the number of threads or on which thread parsed which file.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "code/load_int.h"

/* One error of a file, kept until the files before it are done. */
typedef struct diag_line {
    const char *path, *msg;
    unsigned line;
    int fatal;
} diag_line;

typedef struct file_slot {
    cg_arena text;  /* the strings of v */
    diag_line *v;
    size_t n, cap;
    int oom;        /* an error could not be kept: the file counts as out of memory */
    int result;     /* cg_extract's: 0 parsed, 1 does not parse, -1 OOM */
    int done;
} file_slot;

typedef struct parse_job {
    cg_project *p;
    char **rels;
    size_t n;
    const cg_out *out;
    cg_file **files;
    file_slot *slots;
    atomic_size_t next;   /* the next file to take */
    atomic_int stop;      /* out of memory: take no more files */
    atomic_int no_parser; /* libclang could not be started: nothing was parsed */
    pthread_mutex_t lock; /* project args, done, emitted, and out's callbacks */
    size_t done, emitted;
} parse_job;

unsigned cg_default_jobs(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1) return 1;
    return cpus > CG_JOBS_DEFAULT_MAX ? CG_JOBS_DEFAULT_MAX : (unsigned)cpus;
}

/* cg_diag_fn of a worker: keeps the error in the file's slot. */
static void keep_diag(void *ctx, const char *path, unsigned line, int fatal, const char *msg)
{
    file_slot *s = ctx;
    CG_ASSERT(!s->done);
    diag_line d = {cg_arena_strdup(&s->text, path), cg_arena_strdup(&s->text, msg), line,
                   fatal};
    if (!d.path || !d.msg || cg_grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) != 0) {
        s->oom = 1;
        return;
    }
    s->v[s->n++] = d;
}

/* Hands the kept errors of a slot to out->diag and frees them. Under the lock. */
static void emit_diags(const cg_out *out, file_slot *s)
{
    CG_ASSERT(s->done);
    for (size_t k = 0; k < s->n; k++)
        out->diag(out->ctx, s->v[k].path, s->v[k].line, s->v[k].fatal, s->v[k].msg);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
    cg_arena_release(&s->text);
}

/* Slot i is done: the errors of every file done in path order go out, then progress. */
static void finish(parse_job *j, size_t i)
{
    CG_ASSERT(pthread_mutex_lock(&j->lock) == 0);
    CG_ASSERT(!j->slots[i].done && j->done < j->n);
    j->slots[i].done = 1;
    j->done++;
    while (j->emitted < j->n && j->slots[j->emitted].done) /* bounded: emitted grows */
        emit_diags(j->out, &j->slots[j->emitted++]);
    CG_ASSERT(j->emitted <= j->done);
    if (j->out->progress) j->out->progress(j->out->ctx, j->done, j->n);
    CG_ASSERT(pthread_mutex_unlock(&j->lock) == 0);
}

/* The compiler arguments of file i, copied into mem (the project's copy is shared). */
static int copy_args(parse_job *j, size_t i, cg_arena *mem, const char *const **args,
                     int *nargs)
{
    cg_arena_release(mem);
    cg_arena_init(mem);
    CG_ASSERT(pthread_mutex_lock(&j->lock) == 0);
    const char *const *shared;
    int n = 0, rc = cg_project_args(j->p, j->rels[i], &shared, &n);
    const char **own = rc == 0 ? cg_arena_alloc(mem, sizeof *own * (size_t)(n + 1)) : NULL;
    if (!own) rc = -1;
    for (int k = 0; rc == 0 && k < n; k++)
        if (!(own[k] = cg_arena_strdup(mem, shared[k]))) rc = -1;
    CG_ASSERT(pthread_mutex_unlock(&j->lock) == 0);
    CG_ASSERT(rc != 0 || (n >= 0 && n < CG_ARGS_MAX));
    *args = own;
    *nargs = n;
    return rc;
}

static void parse_one(parse_job *j, cg_parser *parser, size_t i, cg_arena *mem)
{
    file_slot *s = &j->slots[i];
    const char *const *args = NULL;
    int nargs = 0;
    char abs[CG_PATH_MAX * 2];
    snprintf(abs, sizeof abs, "%s/%s", cg_project_root(j->p), j->rels[i]);
    int r = copy_args(j, i, mem, &args, &nargs) != 0
                ? -1 : cg_extract(parser, abs, j->rels[i], args, nargs, keep_diag, s,
                                  &j->files[i]);
    if (r == 0 && s->oom) {
        cg_file_free(j->files[i]);
        j->files[i] = NULL;
        r = -1;
    }
    CG_ASSERT(r == 0 ? j->files[i] != NULL : j->files[i] == NULL);
    s->result = r;
    if (r < 0) atomic_store(&j->stop, 1);
    finish(j, i);
}

/* One worker thread: the job and the parser only it uses. */
typedef struct worker_arg {
    parse_job *j;
    cg_parser *parser;
} worker_arg;

static void *worker(void *arg)
{
    parse_job *j = ((worker_arg *)arg)->j;
    cg_parser *parser = ((worker_arg *)arg)->parser;
    CG_ASSERT(parser);
    cg_arena mem;
    cg_arena_init(&mem);
    for (size_t k = 0; k < j->n && !atomic_load(&j->stop); k++) { /* a file per turn */
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n) break;
        parse_one(j, parser, i, &mem);
    }
    cg_arena_release(&mem);
    return NULL;
}

/* Runs `jobs` workers, this thread being one of them; a thread that cannot be created
 * leaves its share to the others. The parsers are made and freed here, one after the
 * other: libclang's first clang_createIndex initializes process-wide state (LLVM's crash
 * recovery), which ThreadSanitizer saw raced when the workers made their own. */
static void run_workers(parse_job *j, unsigned jobs)
{
    pthread_t t[CG_JOBS_MAX];
    worker_arg w[CG_JOBS_MAX];
    unsigned made = 0, started = 0;
    CG_ASSERT(jobs >= 1 && jobs <= CG_JOBS_MAX);
    for (; made < jobs; made++) {
        w[made] = (worker_arg){j, cg_parser_new(cg_project_root(j->p))};
        if (!w[made].parser) break;
    }
    if (made < jobs) atomic_store(&j->no_parser, 1);
    for (unsigned k = 1; k < made && made == jobs; k++)
        if (pthread_create(&t[started], NULL, worker, &w[k]) == 0) started++;
    if (made == jobs) worker(&w[0]);
    for (unsigned k = 0; k < started; k++) CG_ASSERT(pthread_join(t[k], NULL) == 0);
    for (unsigned k = 0; k < made; k++) cg_parser_free(w[k].parser);
}

/* The counts of the slots, in path order. 0, or a status with a message. */
static int tally(parse_job *j, cg_stats *st, char *err, size_t errcap)
{
    if (atomic_load(&j->no_parser))
        return snprintf(err, errcap, "cannot start libclang"), STELE_ENOMEM;
    for (size_t i = 0; i < j->n; i++) {
        file_slot *s = &j->slots[i];
        if (s->done && s->result == 0) {
            st->indexed++;
            st->with_errors += j->files[i]->errors > 0;
            st->lines += j->files[i]->lines;
        } else if (s->done && s->result == 1) {
            st->skipped++;
        } else {
            snprintf(err, errcap, "out of memory parsing '%s'", j->rels[i]);
            return STELE_ENOMEM;
        }
    }
    return 0;
}

int cg_parse_files(cg_project *p, char **rels, size_t n, unsigned jobs, const cg_out *out,
                   cg_stats *st, cg_file **files, char *err, size_t errcap)
{
    CG_ASSERT(jobs >= 1 && jobs <= CG_JOBS_MAX && out->diag);
    double t0 = cg_now_s();
    parse_job j;
    memset(&j, 0, sizeof j);
    j.p = p;
    j.rels = rels;
    j.n = n;
    j.out = out;
    j.files = files;
    j.slots = n ? calloc(n, sizeof *j.slots) : NULL;
    if (n && !j.slots) return snprintf(err, errcap, "out of memory"), STELE_ENOMEM;
    for (size_t i = 0; i < n; i++) cg_arena_init(&j.slots[i].text);
    atomic_init(&j.next, 0);
    atomic_init(&j.stop, 0);
    atomic_init(&j.no_parser, 0);
    if (pthread_mutex_init(&j.lock, NULL) != 0) {
        free(j.slots);
        return snprintf(err, errcap, "cannot create a mutex"), STELE_ENOMEM;
    }
    run_workers(&j, jobs < n ? jobs : (n ? (unsigned)n : 1));
    int rc = tally(&j, st, err, errcap);
    for (size_t i = 0; i < n; i++) { /* kept when the phase stopped early */
        free(j.slots[i].v);
        cg_arena_release(&j.slots[i].text);
    }
    pthread_mutex_destroy(&j.lock);
    free(j.slots);
    st->parse_s = cg_now_s() - t0;
    return rc;
}
