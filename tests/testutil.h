/*
 * testutil.h — the tiny test harness every C test uses.
 *   CHECK(cond, fmt, ...)  records a failure (with file:line and message), continues
 *   REQUIRE(cond, ...)     records a failure and returns from the current test function
 *   TEST_RUN(fn)           runs one test function (void fn(void))
 *   return test_summary(); prints "N passed, N failed" and returns the exit code
 * Temporary directories come from test_tmpdir() and are removed at exit unless
 * STELE_KEEP_TMP is set.
 */
#ifndef STELE_TESTUTIL_H
#define STELE_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>

#include "stele.h"

extern int test_checks_failed;
extern int test_checks_passed;
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) test_checks_passed++;                                       \
        else test_fail(__FILE__, __LINE__, __VA_ARGS__);                      \
    } while (0)
#define REQUIRE(cond, ...)                                                    \
    do {                                                                      \
        if (cond) test_checks_passed++;                                       \
        else { test_fail(__FILE__, __LINE__, __VA_ARGS__); return; }          \
    } while (0)

#define TEST_RUN(fn) test_run(#fn, fn)
void test_run(const char *name, void (*fn)(void));
int test_summary(void);

/* A fresh empty directory under $TMPDIR, removed at exit. */
const char *test_tmpdir(void);
/* Stores for tests through the public API: user "ada", password "pw", the insecure
 * test KDF. test_store_new creates a fresh one under test_tmpdir() and writes its path
 * into path[0, cap) (aborts if it cannot: that is setup, not a check). test_store_open
 * opens it with *extra's options (NULL = defaults; store, user and password are filled
 * in) or returns NULL after printing why. */
void test_store_new(char *path, size_t cap, uint32_t segment_size, uint32_t checkpoint_every);
stele *test_store_open(const char *path, const stele_open_options *extra);
/* Forks a child running child(write_fd, arg) (it must not return: _exit or be killed);
 * the parent gets the pipe's read end in *read_fd. Returns the pid; aborts on failure. */
int test_fork_piped(void (*child)(int write_fd, void *arg), void *arg, int *read_fd);
/* One kill -9 round: forks child(write_fd, start) — it writes each acknowledged number
 * as one int and never returns — lets it run delay_us, SIGKILLs and reaps it, and
 * returns the last number it acknowledged (last_acked if none). */
int test_kill_round(void (*child)(int write_fd, int start), int start, unsigned delay_us,
                    int last_acked);
/* CLOCK_MONOTONIC in ns. */
uint64_t test_now_ns(void);
/* The parent's end of a kill -9 test's pipe: the child reports with one write() of
 * msg_bytes (<= 256) per message, so a kill never leaves half a message. */
typedef struct test_pipe {
    int fd;
    size_t msg_bytes;
    void (*take)(void *ctx, const uint8_t *msg); /* called for every whole message */
    void *ctx;
    uint8_t carry[256];
    size_t have;
} test_pipe;
/* Reads what the pipe has, waiting at most timeout_ms. 0 at end of file, else 1. */
int test_pipe_pump(test_pipe *p, int timeout_ms);
/* Pumps until *base_ns + delay_ns (*base_ns is read again after every message: 0 = not
 * known yet, e.g. set by a message), the end of the pipe, or 5 s. */
void test_pipe_until(test_pipe *p, const uint64_t *base_ns, uint64_t delay_ns);
/* SIGKILLs pid, reads the pipe to its end, closes it and reaps pid. 1 if SIGKILL ended
 * it; its wait status in *status. */
int test_pipe_kill(test_pipe *p, int pid, int *status);
/* Deterministic per-run seed: $STELE_SEED or time-based; printed once. */
uint64_t test_seed(void);
uint64_t test_rand(void); /* xorshift from test_seed() */
/* Hex string to bytes; aborts the test binary on bad input (test data is ours). */
void test_unhex(const char *hex, uint8_t *out, size_t len);

#endif
