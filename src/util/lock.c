/*
 * lock.c — see lock.h. Layer: util.
 */
#include "util/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "util/io.h"

/* "pid N (program), since TIME": the program's name only, never its arguments,
 * which may carry data (a record given on the command line) that must not reach
 * the disk in plaintext. */
static void describe_self(char *out, size_t cap)
{
    extern char *program_invocation_short_name;
    time_t now = time(NULL);
    struct tm tm;
    char when[64];
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(out, cap, "pid %d (%.64s), since %s", (int)getpid(),
             program_invocation_short_name, when);
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
        char holder[300] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        char *nl = strchr(holder, '\n');
        if (nl) *nl = 0;
        close(fd);
        if (err != EWOULDBLOCK)
            return util_fail(e, STELE_EIO, "cannot lock '%s': %s", path, strerror(err));
        return util_fail(e, STELE_ELOCKED,
                         "%s is in use by another process (%s); wait for it to finish or stop it",
                         what, holder[0] ? holder : "holder unknown");
    }
    char me[300];
    describe_self(me, sizeof me);
    size_t len = strlen(me);
    me[len++] = '\n';
    if (ftruncate(fd, 0) != 0 || pwrite(fd, me, len, 0) != (ssize_t)len) {
        /* The lock is held; failing to record the holder only weakens the message. */
    }
    *fd_out = fd;
    return STELE_OK;
}

void lock_release(int fd)
{
    if (fd < 0) return;
    if (ftruncate(fd, 0) != 0) { /* best effort: the holder line is only a hint */
    }
    flock(fd, LOCK_UN);
    close(fd);
}
