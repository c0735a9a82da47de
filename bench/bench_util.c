/*
 * bench_util.c — clock, statistics, temporary directories, payloads and threads for
 * stele_bench. Nothing here knows about any system under test.
 */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define BENCH_THREADS_MAX 256u /* bound on writer threads (the benchmarks use 32) */

static char g_tmpdir[4096];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void bench_rmtree(const char *dir)
{
    BENCH_CHECK(dir && dir[0] == '/', "refusing to remove a relative path");
    nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

static void tmpdir_cleanup(void)
{
    if (g_tmpdir[0]) bench_rmtree(g_tmpdir);
    g_tmpdir[0] = 0;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("stele_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1); /* atexit removes the temporary directory */
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(double *v, size_t n, double p)
{
    BENCH_CHECK(n > 0 && p >= 0 && p <= 100, "percentile of an empty set");
    qsort(v, n, sizeof *v, cmp_double);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999); /* nearest rank, 1-based */
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return v[rank - 1];
}

bench_stats bench_stats_of(const double *v, size_t n)
{
    BENCH_CHECK(n > 0 && n <= 64, "statistics of %zu samples", n);
    double s[64];
    memcpy(s, v, n * sizeof *v);
    qsort(s, n, sizeof *s, cmp_double);
    bench_stats r = {.min = s[0], .max = s[n - 1], .n = n};
    r.median = (n % 2) ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    return r;
}

uint64_t bench_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1du;
}

const char *bench_tmpdir(void)
{
    if (g_tmpdir[0]) return g_tmpdir;
    const char *base = getenv("TMPDIR");
    if (!base || !base[0]) base = "/tmp";
    snprintf(g_tmpdir, sizeof g_tmpdir, "%s/stele-bench-XXXXXX", base);
    BENCH_CHECK(mkdtemp(g_tmpdir) != NULL, "cannot make a directory under '%s'", base);
    atexit(tmpdir_cleanup);
    return g_tmpdir;
}

void bench_subdir(const char *name, char *out, size_t cap)
{
    static unsigned counter;
    int n = snprintf(out, cap, "%s/%s-%u", bench_tmpdir(), name, counter++);
    BENCH_CHECK(n > 0 && (size_t)n < cap, "path too long");
    BENCH_CHECK(mkdir(out, 0700) == 0, "cannot make '%s'", out);
}

static int drop_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag != FTW_F) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    fdatasync(fd); /* dirty pages cannot be dropped */
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    return 0;
}

void bench_drop_cache(const char *dir) { nftw(dir, drop_entry, 32, FTW_PHYS); }

/* "seq" is a string of this many digits so that renumbering never moves bytes (and a
 * number with leading zeros would not be JSON). */
#define PAYLOAD_SEQ_DIGITS 12
#define PAYLOAD_SEQ_AT 30 /* offset of the digits in the text below */

void bench_payload_make(char *out, size_t len, unsigned thread)
{
    BENCH_CHECK(len >= 128, "payload of %zu bytes is too small", len);
    int n = snprintf(out, len, "{\"type\":\"order.placed\",\"seq\":\"%0*u\",\"writer\":%u,"
                                "\"ts\":\"2024-05-01T12:00:00.000Z\",\"note\":\"",
                     PAYLOAD_SEQ_DIGITS, 0u, thread);
    BENCH_CHECK(n > 0 && (size_t)n + 2 < len, "payload header does not fit");
    for (size_t i = (size_t)n; i < len - 2; i++) out[i] = (char)('a' + (i * 7 + thread) % 26);
    out[len - 2] = '"';
    out[len - 1] = '}';
    BENCH_CHECK(out[PAYLOAD_SEQ_AT - 1] == '"', "payload layout changed");
}

void bench_payload_seq(char *payload, uint64_t seq)
{
    char *d = payload + PAYLOAD_SEQ_AT;
    for (int i = PAYLOAD_SEQ_DIGITS - 1; i >= 0; i--, seq /= 10) d[i] = (char)('0' + seq % 10);
}

typedef struct thread_arg {
    pthread_barrier_t *start;
    void (*fn)(void *ctx, unsigned i);
    void *ctx;
    unsigned i;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    pthread_barrier_wait(a->start);
    a->fn(a->ctx, a->i);
    return NULL;
}

double bench_threads_run(unsigned n, void (*fn)(void *ctx, unsigned i), void *ctx)
{
    BENCH_CHECK(n >= 1 && n <= BENCH_THREADS_MAX, "%u threads", n);
    pthread_t tid[BENCH_THREADS_MAX];
    thread_arg arg[BENCH_THREADS_MAX];
    pthread_barrier_t start;
    BENCH_CHECK(pthread_barrier_init(&start, NULL, n + 1) == 0, "barrier");
    for (unsigned i = 0; i < n; i++) {
        arg[i] = (thread_arg){&start, fn, ctx, i};
        BENCH_CHECK(pthread_create(&tid[i], NULL, thread_main, &arg[i]) == 0, "thread");
    }
    pthread_barrier_wait(&start);
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < n; i++) pthread_join(tid[i], NULL);
    uint64_t t1 = bench_now_ns();
    pthread_barrier_destroy(&start);
    return (double)(t1 - t0) / 1e9;
}
