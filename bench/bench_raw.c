/*
 * bench_raw.c — the disk's own limit for one synced writer, measured in the same run:
 * each put copies the payload into a 4 KiB block, overwrites the next block of a file
 * preallocated by writing (not fallocate, so no extent conversion on the way), and
 * fdatasyncs. Blocks wrap around inside the file. Single-threaded; no reads.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define RAW_BLOCK 4096u
#define RAW_FILE_BYTES (16u << 20) /* 4096 blocks; puts wrap around inside it */

typedef struct raw_file {
    int fd;
    uint64_t off;
    uint8_t *block;
} raw_file;

static void *raw_open(const char *dir, const bench_mode *m)
{
    BENCH_CHECK(m->durability == BENCH_SYNC_EACH, "the raw sink only syncs each write");
    raw_file *r = calloc(1, sizeof *r);
    char path[4200];
    snprintf(path, sizeof path, "%s/raw.dat", dir);
    BENCH_CHECK(r && posix_memalign((void **)&r->block, RAW_BLOCK, RAW_BLOCK) == 0, "memory");
    r->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    BENCH_CHECK(r->fd >= 0, "cannot create '%s'", path);
    memset(r->block, 0xa5, RAW_BLOCK);
    for (uint64_t off = 0; off < RAW_FILE_BYTES; off += RAW_BLOCK)
        BENCH_CHECK(pwrite(r->fd, r->block, RAW_BLOCK, (off_t)off) == RAW_BLOCK, "preallocate");
    BENCH_CHECK(fsync(r->fd) == 0, "fsync '%s'", path);
    return r;
}

static void raw_put(void *h, const void *payload, size_t len)
{
    raw_file *r = h;
    BENCH_CHECK(len <= RAW_BLOCK, "payload larger than a block");
    memcpy(r->block, payload, len);
    BENCH_CHECK(pwrite(r->fd, r->block, RAW_BLOCK, (off_t)r->off) == RAW_BLOCK, "pwrite");
    BENCH_CHECK(fdatasync(r->fd) == 0, "fdatasync");
    r->off = (r->off + RAW_BLOCK) % RAW_FILE_BYTES;
}

static void raw_close(void *h)
{
    raw_file *r = h;
    close(r->fd);
    free(r->block);
    free(r);
}

const bench_sink bench_raw_sink = {
    .open = raw_open,
    .put = raw_put,
    .close = raw_close,
};
