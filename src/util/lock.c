/*
 * lock.c — see lock.h. Layer: util.
 *
 * The lock file stays empty: it lives in the store, where nothing may reveal who works
 * on a database or when. A process refused the lock names the holder from the kernel's
 * table of locks (/proc/locks, matched by device and inode) and /proc/<pid>/comm; both
 * are read only on that error path.
 */
#include "util/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/io.h"

#define LOCKS_LINES_MAX 100000u /* bound on the scan of /proc/locks */

/* The pid holding a flock on the file of fd, from /proc/locks; 0 if not found. */
static long holder_pid(int fd)
{
    struct stat st;
    FILE *f = fstat(fd, &st) == 0 ? fopen("/proc/locks", "r") : NULL;
    if (!f) return 0;
    char line[256];
    long found = 0;
    for (uint32_t n = 0; !found && n < LOCKS_LINES_MAX && fgets(line, sizeof line, f); n++) {
        char kind[16];
        long pid;
        unsigned maj, min;
        unsigned long long ino;
        /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:56789 0 EOF" (device numbers in hex) */
        if (sscanf(line, "%*s %15s %*s %*s %ld %x:%x:%llu", kind, &pid, &maj, &min, &ino) == 5 &&
            strcmp(kind, "FLOCK") == 0 && ino == (unsigned long long)st.st_ino &&
            maj == major(st.st_dev) && min == minor(st.st_dev))
            found = pid;
    }
    fclose(f);
    return found;
}

/* "pid N (program)" of the lock's holder, or "holder unknown". */
static void describe_holder(int fd, char *out, size_t cap)
{
    long pid = holder_pid(fd);
    if (pid <= 0) {
        snprintf(out, cap, "holder unknown");
        return;
    }
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *f = fopen(path, "r");
    if (f && fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0;
    if (f) fclose(f);
    snprintf(out, cap, "pid %ld (%s)", pid, comm[0] ? comm : "?");
}

stele_status lock_acquire(const char *path, const char *what, int *fd_out, util_err *e)
{
    *fd_out = -1;
    int fd = io_open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0)
        return util_fail(e, util_errno_status(-fd), "cannot open lock file '%s': %s", path,
                         strerror(-fd));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char holder[160];
        if (err == EWOULDBLOCK) describe_holder(fd, holder, sizeof holder);
        close(fd);
        if (err != EWOULDBLOCK)
            return util_fail(e, STELE_EIO, "cannot lock '%s': %s", path, strerror(err));
        return util_fail(e, STELE_ELOCKED,
                         "%s is in use by another process (%s); wait for it to finish or stop it",
                         what, holder);
    }
    *fd_out = fd;
    return STELE_OK;
}

void lock_release(int fd)
{
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
}
