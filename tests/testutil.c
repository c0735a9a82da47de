/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

int test_checks_failed;
int test_checks_passed;
static int tests_failed, tests_passed;
static const char *current_test = "?";
static char tmp_roots[64][512];
static int ntmp;

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s (%s:%d): ", current_test, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    test_checks_failed++;
}

void test_run(const char *name, void (*fn)(void))
{
    int before = test_checks_failed;
    current_test = name;
    fn();
    if (test_checks_failed == before) {
        tests_passed++;
        fprintf(stderr, "ok   %s\n", name);
    } else {
        tests_failed++;
        fprintf(stderr, "FAIL %s\n", name);
    }
}

static void cleanup_tmp(void)
{
    if (getenv("STELE_KEEP_TMP")) return;
    for (int i = 0; i < ntmp; i++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_roots[i]);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmp_roots[i]);
    }
}

const char *test_tmpdir(void)
{
    if (ntmp == 64) abort();
    const char *base = getenv("TMPDIR");
    if (!base) base = "/tmp";
    snprintf(tmp_roots[ntmp], sizeof tmp_roots[ntmp], "%s/stele-test-XXXXXX", base);
    if (!mkdtemp(tmp_roots[ntmp])) {
        perror("mkdtemp");
        abort();
    }
    if (ntmp == 0) atexit(cleanup_tmp);
    return tmp_roots[ntmp++];
}

static uint64_t rng_state;

uint64_t test_seed(void)
{
    static uint64_t seed;
    if (seed) return seed;
    const char *s = getenv("STELE_SEED");
    seed = s ? strtoull(s, NULL, 0) : ((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    if (!seed) seed = 1;
    fprintf(stderr, "seed: %llu (rerun with STELE_SEED=%llu)\n", (unsigned long long)seed,
            (unsigned long long)seed);
    rng_state = seed;
    return seed;
}

uint64_t test_rand(void)
{
    if (!rng_state) test_seed();
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

void test_unhex(const char *hex, uint8_t *out, size_t len)
{
    if (strlen(hex) != 2 * len) {
        fprintf(stderr, "test data: hex of wrong length\n");
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) abort();
        out[i] = (uint8_t)v;
    }
}

int test_summary(void)
{
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed ? 1 : 0;
}

void test_store_new(char *path, size_t cap, uint32_t segment_size, uint32_t checkpoint_every)
{
    static unsigned n;
    snprintf(path, cap, "%s/store%u", test_tmpdir(), n++);
    stele_init_options io = {.store_dir = path, .user = "ada", .password = "pw",
                             .password_len = 2, .kdf = STELE_KDF_INSECURE_TEST,
                             .segment_size = segment_size, .checkpoint_every = checkpoint_every};
    char err[512];
    if (stele_store_init(&io, err, sizeof err) != STELE_OK) {
        fprintf(stderr, "init %s: %s\n", path, err);
        abort();
    }
}

stele *test_store_open(const char *path, const stele_open_options *extra)
{
    stele_open_options o;
    if (extra) o = *extra;
    else memset(&o, 0, sizeof o);
    o.store_dir = path;
    o.user = "ada";
    o.password = "pw";
    o.password_len = 2;
    stele *db = NULL;
    if (stele_open(&o, &db) != STELE_OK) {
        fprintf(stderr, "open: %s\n", stele_errmsg(db));
        stele_close(db);
        return NULL;
    }
    return db;
}

int test_fork_piped(void (*child)(int write_fd, void *arg), void *arg, int *read_fd)
{
    int p[2];
    if (pipe(p) != 0) abort();
    pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        close(p[0]);
        child(p[1], arg);
        _exit(0);
    }
    close(p[1]);
    *read_fd = p[0];
    return (int)pid;
}

typedef struct kill_child {
    void (*fn)(int write_fd, int start);
    int start;
} kill_child;

static void kill_child_run(int write_fd, void *arg)
{
    const kill_child *k = arg;
    k->fn(write_fd, k->start);
}

int test_kill_round(void (*child)(int write_fd, int start), int start, unsigned delay_us,
                    int last_acked)
{
    kill_child k = {child, start};
    int rd = -1, st = 0, v;
    int pid = test_fork_piped(kill_child_run, &k, &rd);
    usleep(delay_us);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    while (read(rd, &v, sizeof v) == (ssize_t)sizeof v) last_acked = v;
    close(rd);
    return last_acked;
}

uint64_t test_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int test_pipe_pump(test_pipe *p, int timeout_ms)
{
    struct pollfd pfd = {p->fd, POLLIN, 0};
    if (p->msg_bytes == 0 || p->msg_bytes > sizeof p->carry) abort();
    if (poll(&pfd, 1, timeout_ms) <= 0) return 1;
    uint8_t b[256 * 64];
    ssize_t n = read(p->fd, b, sizeof b);
    if (n < 0) return errno == EINTR ? 1 : 0;
    if (n == 0) return 0;
    for (ssize_t i = 0; i < n; i++) {
        p->carry[p->have++] = b[i];
        if (p->have == p->msg_bytes) {
            p->take(p->ctx, p->carry);
            p->have = 0;
        }
    }
    return 1;
}

void test_pipe_until(test_pipe *p, const uint64_t *base_ns, uint64_t delay_ns)
{
    uint64_t start = test_now_ns();
    for (;;) {
        uint64_t base = *base_ns, now = test_now_ns();
        if (base && now >= base + delay_ns) return;
        if (now - start > 5000000000ull) return; /* the child never got there: stop anyway */
        int ms = base ? (int)((base + delay_ns - now) / 1000000u) : 5;
        if (!test_pipe_pump(p, ms)) return;
    }
}

int test_pipe_kill(test_pipe *p, int pid, int *status)
{
    kill(pid, SIGKILL);
    while (test_pipe_pump(p, 1000)) {}
    close(p->fd);
    *status = 0;
    waitpid(pid, status, 0);
    return WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL;
}
