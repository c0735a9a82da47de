/*
 * lock.h — the writer lock of a database: an flock() on an empty lock file; a second
 * process gets an error naming the holder (its pid and program, from the kernel's lock
 * table: nothing about the holder is written to disk). The kernel drops the lock when
 * the holder dies, so a crash never leaves a stale lock. Layer: util.
 */
#ifndef STELE_LOCK_H
#define STELE_LOCK_H

#include "util/util.h"

/* Takes an exclusive lock on path without waiting. `what` names the locked thing in
 * messages. STELE_ELOCKED (naming the holder) if another process holds it. */
stele_status lock_acquire(const char *path, const char *what, int *fd_out, util_err *e);
void lock_release(int fd);

#endif
