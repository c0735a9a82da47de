/*
 * io.c — file operations with fault injection and power-loss simulation. See io.h.
 * Layer: util. The fault state is process-global and guarded by a mutex so that
 * group-commit threads see one consistent countdown.
 */
#include "util/io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct unsynced_write {
    int fd;
    off_t off;
    size_t len;
    uint8_t *old; /* previous contents (zero bytes past the old end of file) */
} unsynced_write;

static struct {
    pthread_mutex_t mu;
    io_fault_kind kind;
    uint64_t nth;
    uint64_t calls;
    int fired;
    int crashed; /* after a torn write every call fails, as after a power cut */
    int tracking;
    unsynced_write *w;
    size_t nw, capw;
} F = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int fault_class(io_fault_kind k)
{
    switch (k) {
    case IO_FAULT_EIO_WRITE:
    case IO_FAULT_ENOSPC_WRITE:
    case IO_FAULT_TORN_WRITE: return 1;
    case IO_FAULT_EIO_SYNC: return 2;
    case IO_FAULT_EIO_READ:
    case IO_FAULT_BITFLIP_READ: return 3;
    default: return 0;
    }
}

/* Returns the armed kind if this call (of class cls) is the one to fail, else NONE. */
static io_fault_kind fault_check(int cls, int *crashed)
{
    io_fault_kind hit = IO_FAULT_NONE;
    pthread_mutex_lock(&F.mu);
    *crashed = F.crashed;
    if (F.kind != IO_FAULT_NONE && fault_class(F.kind) == cls) {
        F.calls++;
        if (!F.fired && F.calls == F.nth) {
            hit = F.kind;
            F.fired = 1;
            if (hit == IO_FAULT_TORN_WRITE) F.crashed = 1;
        }
    }
    pthread_mutex_unlock(&F.mu);
    return hit;
}

void io_fault_arm(io_fault_kind kind, uint64_t nth)
{
    pthread_mutex_lock(&F.mu);
    F.kind = kind;
    F.nth = nth;
    F.calls = 0;
    F.fired = 0;
    F.crashed = 0;
    pthread_mutex_unlock(&F.mu);
}

void io_fault_disarm(void) { io_fault_arm(IO_FAULT_NONE, 0); }

int io_fault_fired(void)
{
    pthread_mutex_lock(&F.mu);
    int f = F.fired;
    pthread_mutex_unlock(&F.mu);
    return f;
}

uint64_t io_fault_calls(io_fault_kind kind)
{
    pthread_mutex_lock(&F.mu);
    uint64_t c = (F.kind == kind) ? F.calls : 0;
    pthread_mutex_unlock(&F.mu);
    return c;
}

int io_open(const char *path, int flags, mode_t mode)
{
    int fd = open(path, flags | O_CLOEXEC, mode);
    return fd < 0 ? -errno : fd;
}

static void forget_unsynced(int fd)
{
    size_t j = 0;
    for (size_t i = 0; i < F.nw; i++) {
        if (F.w[i].fd == fd) free(F.w[i].old);
        else F.w[j++] = F.w[i];
    }
    F.nw = j;
}

int io_close(int fd)
{
    if (fd < 0) return 0;
    pthread_mutex_lock(&F.mu);
    if (F.tracking) forget_unsynced(fd); /* a closed fd can no longer be reverted by fd */
    pthread_mutex_unlock(&F.mu);
    return close(fd) != 0 ? -errno : 0;
}

static void remember_unsynced(int fd, size_t len, off_t off)
{
    uint8_t *old = calloc(1, len ? len : 1);
    if (!old) return;
    ssize_t n = pread(fd, old, len, off);
    (void)n; /* bytes past end of file stay zero */
    pthread_mutex_lock(&F.mu);
    if (F.nw == F.capw) {
        size_t cap = F.capw ? F.capw * 2 : 64;
        unsynced_write *w = realloc(F.w, cap * sizeof *w);
        if (!w) {
            pthread_mutex_unlock(&F.mu);
            free(old);
            return;
        }
        F.w = w;
        F.capw = cap;
    }
    F.w[F.nw++] = (unsynced_write){fd, off, len, old};
    pthread_mutex_unlock(&F.mu);
}

static int write_all(int fd, const uint8_t *p, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

int io_pwrite(int fd, const void *p, size_t len, off_t off)
{
    int crashed;
    io_fault_kind k = fault_check(1, &crashed);
    if (crashed && k == IO_FAULT_NONE) return -EIO;
    if (k == IO_FAULT_EIO_WRITE) return -EIO;
    if (k == IO_FAULT_ENOSPC_WRITE) return -ENOSPC;
    if (k == IO_FAULT_TORN_WRITE) {
        size_t part = len / 2; /* half reaches the disk, the rest does not */
        int rc = write_all(fd, p, part, off);
        return rc ? rc : -EIO;
    }
    if (F.tracking) remember_unsynced(fd, len, off);
    return write_all(fd, p, len, off);
}

ssize_t io_pread(int fd, void *p, size_t len, off_t off)
{
    int crashed;
    io_fault_kind k = fault_check(3, &crashed);
    if (crashed || k == IO_FAULT_EIO_READ) return -EIO;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (uint8_t *)p + done, len - done, off + (off_t)done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (n == 0) break;
        done += (size_t)n;
    }
    if (k == IO_FAULT_BITFLIP_READ && done > 0) {
        size_t at = done / 2;
        ((uint8_t *)p)[at] ^= 0x10;
    }
    return (ssize_t)done;
}

static int sync_common(int fd, int data_only)
{
    int crashed;
    io_fault_kind k = fault_check(2, &crashed);
    if (crashed || k == IO_FAULT_EIO_SYNC) return -EIO;
    int rc = data_only ? fdatasync(fd) : fsync(fd);
    if (rc != 0) return -errno;
    if (F.tracking) {
        pthread_mutex_lock(&F.mu);
        forget_unsynced(fd);
        pthread_mutex_unlock(&F.mu);
    }
    return 0;
}

int io_fdatasync(int fd) { return sync_common(fd, 1); }
int io_fsync(int fd) { return sync_common(fd, 0); }

int io_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = io_fsync(fd);
    close(fd);
    return rc;
}

int io_rename(const char *from, const char *to)
{
    int crashed;
    io_fault_kind k = fault_check(1, &crashed);
    if (crashed || k == IO_FAULT_EIO_WRITE || k == IO_FAULT_TORN_WRITE) return -EIO;
    if (k == IO_FAULT_ENOSPC_WRITE) return -ENOSPC;
    return rename(from, to) != 0 ? -errno : 0;
}

int io_unlink(const char *path) { return unlink(path) != 0 ? -errno : 0; }

stele_status io_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                             util_err *e)
{
    char tmp[4096], dst[4096];
    if (snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= (int)sizeof tmp ||
        snprintf(dst, sizeof dst, "%s/%s", dir, name) >= (int)sizeof dst)
        return util_fail(e, STELE_EINVAL, "path too long: '%s/%s'", dir, name);
    int fd = io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return util_fail(e, util_errno_status(-fd), "cannot create '%s': %s", tmp,
                                 strerror(-fd));
    int rc = io_pwrite(fd, data, len, 0);
    if (rc == 0) rc = io_fsync(fd);
    io_close(fd);
    if (rc == 0) rc = io_rename(tmp, dst);
    if (rc == 0) rc = io_fsync_dir(dir);
    if (rc != 0) {
        unlink(tmp);
        return util_fail(e, util_errno_status(-rc), "cannot write '%s': %s", dst, strerror(-rc));
    }
    return STELE_OK;
}

stele_status io_read_file(const char *path, size_t max, uint8_t **out, size_t *len, util_err *e)
{
    *out = NULL;
    *len = 0;
    int fd = io_open(path, O_RDONLY, 0);
    if (fd == -ENOENT) return util_fail(e, STELE_ENOTFOUND, "'%s' does not exist", path);
    if (fd < 0) return util_fail(e, STELE_EIO, "cannot open '%s': %s", path, strerror(-fd));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        io_close(fd);
        return util_fail(e, STELE_EIO, "cannot stat '%s': %s", path, strerror(errno));
    }
    if ((uint64_t)st.st_size > max) {
        io_close(fd);
        return util_fail(e, STELE_ETOOBIG, "'%s' is %lld bytes, more than the %zu allowed",
                         path, (long long)st.st_size, max);
    }
    uint8_t *p = malloc((size_t)st.st_size + 1);
    if (!p) {
        io_close(fd);
        return util_fail(e, STELE_ENOMEM, "out of memory reading '%s'", path);
    }
    ssize_t n = io_pread(fd, p, (size_t)st.st_size, 0);
    io_close(fd);
    if (n < 0 || n != st.st_size) {
        free(p);
        return util_fail(e, STELE_EIO, "cannot read '%s': %s", path,
                         n < 0 ? strerror((int)-n) : "short read");
    }
    p[n] = 0;
    *out = p;
    *len = (size_t)n;
    return STELE_OK;
}

int io_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int io_mkdirs(const char *path)
{
    char tmp[4096];
    if (util_strlcpy(tmp, path, sizeof tmp) != 0) return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -errno;
    return 0;
}

void io_track_unsynced(int on)
{
    pthread_mutex_lock(&F.mu);
    F.tracking = on;
    if (!on) {
        for (size_t i = 0; i < F.nw; i++) free(F.w[i].old);
        F.nw = 0;
    }
    pthread_mutex_unlock(&F.mu);
}

size_t io_sim_powerloss(uint64_t seed)
{
    uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ull;
    size_t reverted = 0;
    pthread_mutex_lock(&F.mu);
    for (size_t i = F.nw; i-- > 0;) { /* newest first, so older contents win */
        unsynced_write *w = &F.w[i];
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        unsigned choice = (unsigned)(x % 3);
        if (choice == 0) continue; /* this write happened to reach the disk */
        size_t keep = 0;
        if (choice == 2 && w->len > 512) keep = (size_t)((x >> 8) % (w->len / 512)) * 512;
        if (pwrite(w->fd, w->old + keep, w->len - keep, w->off + (off_t)keep) >= 0) reverted++;
    }
    for (size_t i = 0; i < F.nw; i++) free(F.w[i].old);
    F.nw = 0;
    pthread_mutex_unlock(&F.mu);
    return reverted;
}
