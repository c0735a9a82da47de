/*
 * util_test.c — the util layer: byte encoding, buffers and JSON string escaping,
 * errors, durable whole-file replace, file reads with limits, writer locks, and the
 * fault-injection switch itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util/io.h"
#include "util/lock.h"
#include "util/util.h"

static void test_little_endian(void)
{
    uint8_t b[8];
    put_u64(b, 0x0102030405060708ull);
    CHECK(b[0] == 0x08 && b[7] == 0x01, "u64 is little-endian");
    CHECK(get_u64(b) == 0x0102030405060708ull, "u64 round trip");
    put_u32(b, 0xdeadbeefu);
    CHECK(b[0] == 0xef && get_u32(b) == 0xdeadbeefu, "u32 round trip");
    put_u16(b, 0xabcd);
    CHECK(b[0] == 0xcd && get_u16(b) == 0xabcd, "u16 round trip");
}

static void test_buf_and_json(void)
{
    buf b;
    buf_init(&b);
    CHECK(buf_printf(&b, "%d-%s", 42, "x") == 0 && strcmp((char *)b.data, "42-x") == 0,
          "printf appends");
    b.len = 0;
    const char raw[] = "a\"b\\c\nd\x01";
    CHECK(buf_json_str(&b, raw, sizeof raw - 1) == 0, "json string");
    CHECK(strcmp((char *)b.data, "\"a\\\"b\\\\c\\nd\\u0001\"") == 0, "escaped as JSON: %s",
          (char *)b.data);
    for (int i = 0; i < 10000; i++) REQUIRE(buf_append(&b, "0123456789", 10) == 0, "grow");
    CHECK(b.len > 100000 && b.data[b.len] == 0, "stays NUL-terminated while growing");
    char *s = buf_detach(&b);
    CHECK(s && b.data == NULL && b.len == 0, "detach hands over and resets");
    free(s);
    buf_release(&b);
}

static void test_errors(void)
{
    util_err e;
    util_err_clear(&e);
    CHECK(util_fail(&e, STELE_ECORRUPT, "bad '%s'", "x") == STELE_ECORRUPT, "returns the code");
    CHECK(strcmp(e.msg, "bad 'x'") == 0 && e.code == STELE_ECORRUPT, "message kept");
    util_fail_wrap(&e, "opening '%s'", "db");
    CHECK(strcmp(e.msg, "opening 'db': bad 'x'") == 0, "wrap prefixes context: %s", e.msg);
    CHECK(util_errno_status(ENOSPC) == STELE_ENOSPC && util_errno_status(EIO) == STELE_EIO,
          "errno mapping");
    char small[4];
    CHECK(util_strlcpy(small, "abcdef", sizeof small) == -1 && strcmp(small, "abc") == 0,
          "strlcpy cuts and says so");
}

static void test_atomic_write_and_read(void)
{
    const char *dir = test_tmpdir();
    util_err e;
    char path[600];
    snprintf(path, sizeof path, "%s/f", dir);
    REQUIRE(io_write_atomic(dir, "f", "hello", 5, &e) == STELE_OK, "write: %s", e.msg);
    REQUIRE(io_write_atomic(dir, "f", "second", 6, &e) == STELE_OK, "replace: %s", e.msg);
    uint8_t *data;
    size_t len;
    REQUIRE(io_read_file(path, 100, &data, &len, &e) == STELE_OK, "read: %s", e.msg);
    CHECK(len == 6 && memcmp(data, "second", 6) == 0, "whole new content");
    free(data);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(!io_exists(tmp), "no temporary file left behind");
    CHECK(io_read_file(path, 3, &data, &len, &e) == STELE_ETOOBIG, "size limit enforced");
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK(io_read_file(path, 100, &data, &len, &e) == STELE_ENOTFOUND, "missing file");
}

static void test_atomic_write_fault_keeps_old(void)
{
    const char *dir = test_tmpdir();
    util_err e;
    char path[600];
    snprintf(path, sizeof path, "%s/g", dir);
    REQUIRE(io_write_atomic(dir, "g", "old", 3, &e) == STELE_OK, "write");
    io_fault_arm(IO_FAULT_ENOSPC_WRITE, 1);
    CHECK(io_write_atomic(dir, "g", "new!", 4, &e) == STELE_ENOSPC, "ENOSPC reported");
    CHECK(io_fault_fired(), "the fault fired");
    io_fault_disarm();
    uint8_t *data;
    size_t len;
    REQUIRE(io_read_file(path, 100, &data, &len, &e) == STELE_OK, "read back");
    CHECK(len == 3 && memcmp(data, "old", 3) == 0, "old content intact after a failed replace");
    free(data);
    io_fault_arm(IO_FAULT_EIO_SYNC, 1);
    CHECK(io_write_atomic(dir, "g", "new!", 4, &e) == STELE_EIO, "fsync failure reported");
    io_fault_disarm();
    REQUIRE(io_read_file(path, 100, &data, &len, &e) == STELE_OK, "read back");
    CHECK(len == 3, "not replaced when its fsync failed");
    free(data);
}

static void test_lock_names_holder(void)
{
    const char *dir = test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/lock", dir);
    util_err e;
    int fd1, fd2;
    REQUIRE(lock_acquire(path, "database 'x'", &fd1, &e) == STELE_OK, "first lock: %s", e.msg);
    /* flock() locks belong to open file descriptions: a second open conflicts even in
     * the same process, as a second process would. */
    CHECK(lock_acquire(path, "database 'x'", &fd2, &e) == STELE_ELOCKED, "second refused");
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    CHECK(strstr(e.msg, pid) != NULL && strstr(e.msg, "database 'x'") != NULL,
          "message names what and who: %s", e.msg);
    lock_release(fd1);
    CHECK(lock_acquire(path, "database 'x'", &fd2, &e) == STELE_OK, "free again after release");
    lock_release(fd2);
}

static void test_fault_counting(void)
{
    const char *dir = test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/c", dir);
    int fd = io_open(path, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0, "open");
    io_fault_arm(IO_FAULT_EIO_WRITE, 3);
    CHECK(io_pwrite(fd, "a", 1, 0) == 0 && io_pwrite(fd, "b", 1, 1) == 0, "first two pass");
    CHECK(io_pwrite(fd, "c", 1, 2) == -EIO, "third fails");
    CHECK(io_pwrite(fd, "d", 1, 3) == 0, "faults fire once");
    CHECK(io_fault_calls(IO_FAULT_EIO_WRITE) == 4, "calls counted");
    io_fault_disarm();
    char clean[4], r[4];
    REQUIRE(io_pread(fd, clean, 4, 0) == 4, "clean read");
    io_fault_arm(IO_FAULT_BITFLIP_READ, 1);
    REQUIRE(io_pread(fd, r, 4, 0) == 4, "faulty read still returns the bytes");
    int bits = 0;
    for (int i = 0; i < 4; i++) bits += __builtin_popcount((unsigned)(uint8_t)(r[i] ^ clean[i]));
    CHECK(bits == 1, "exactly one bit flipped (%d)", bits);
    io_fault_disarm();
    CHECK(io_pread(fd, r, 4, 0) == 4 && memcmp(r, clean, 4) == 0, "clean read after disarm");
    io_close(fd);
}

/* util_iso_time against gmtime_r + strftime: edges of months, leap years, centuries,
 * and random times up to the end of u64 nanoseconds. */
static void test_iso_time(void)
{
    static const uint64_t fixed[] = {0, 1, 999999999, 951782400ull, 951868799ull, 4107542400ull,
                                     1709164800ull, 1735689599ull, 18446744073ull};
    for (int i = 0; i < 200000; i++) {
        uint64_t ns = i < 9 ? fixed[i] * 1000000000ull + (uint64_t)i * 1234567u
                            : test_rand() % (UINT64_MAX / 1000) * 1000 + test_rand() % 1000;
        char got[UTIL_ISO_TIME_LEN + 1], want[64];
        time_t secs = (time_t)(ns / 1000000000u);
        struct tm tm;
        gmtime_r(&secs, &tm);
        size_t w = strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want + w, sizeof want - w, ".%06uZ", (unsigned)((ns % 1000000000u) / 1000u));
        CHECK(util_iso_time(ns, got) == UTIL_ISO_TIME_LEN && strcmp(got, want) == 0,
              "%llu ns: %s, want %s", (unsigned long long)ns, got, want);
        if (strcmp(got, want) != 0) break;
    }
}

int main(void)
{
    test_seed();
    TEST_RUN(test_little_endian);
    TEST_RUN(test_iso_time);
    TEST_RUN(test_buf_and_json);
    TEST_RUN(test_errors);
    TEST_RUN(test_atomic_write_and_read);
    TEST_RUN(test_atomic_write_fault_keeps_old);
    TEST_RUN(test_lock_names_holder);
    TEST_RUN(test_fault_counting);
    return test_summary();
}
