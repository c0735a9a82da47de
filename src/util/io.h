/*
 * io.h — every file operation Stele performs goes through here, so that tests can
 * inject faults (DESIGN.md, Testing) and simulate power loss. Layer: util.
 *
 * Durable replace (io_write_atomic): write to "<name>.tmp", fsync, rename over the
 * target, fsync the directory. A reader therefore sees the old or the new file,
 * never a mix.
 *
 * Fault injection (tests only; zero cost when disarmed): io_fault_arm(kind, n)
 * makes the n-th matching call (1-based) fail in the given way, once:
 *   IO_FAULT_EIO_WRITE / IO_FAULT_ENOSPC_WRITE  the write fails, nothing written
 *   IO_FAULT_TORN_WRITE  a prefix of the write reaches the file, then -EIO; the
 *                        layer then behaves as "crashed": every later call fails
 *   IO_FAULT_EIO_SYNC    fsync/fdatasync fails (the data may or may not be on disk)
 *   IO_FAULT_EIO_READ    the read fails
 *   IO_FAULT_BITFLIP_READ the read succeeds but one bit of the result is flipped
 * Power-loss simulation: io_track_unsynced(1) records the previous contents of
 * every pwrite until the file is fsynced; io_sim_powerloss(seed) then reverts each
 * unsynced write wholly, partly (torn at a 512-byte boundary) or not at all.
 */
#ifndef STELE_IO_H
#define STELE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/util.h"

/* Returns fd >= 0 or -errno. */
int io_open(const char *path, int flags, mode_t mode);
int io_close(int fd);
/* Writes all len bytes at off. 0 or -errno. */
int io_pwrite(int fd, const void *p, size_t len, off_t off);
/* Reads up to len bytes at off. Bytes read (short only at end of file) or -errno. */
ssize_t io_pread(int fd, void *p, size_t len, off_t off);
int io_fdatasync(int fd);
int io_fsync(int fd);
int io_fsync_dir(const char *dir);
int io_rename(const char *from, const char *to);
int io_unlink(const char *path);

/* Durable whole-file replace of dir/name with data (see top). */
stele_status io_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                             util_err *e);
/* Reads a whole file of at most max bytes into *out (malloc'd, NUL-terminated).
 * STELE_ENOTFOUND if it does not exist, STELE_ETOOBIG if larger than max. */
stele_status io_read_file(const char *path, size_t max, uint8_t **out, size_t *len, util_err *e);
int io_exists(const char *path);
/* mkdir -p with mode 0700 for the leaf; 0 or -errno. */
int io_mkdirs(const char *path);

typedef enum {
    IO_FAULT_NONE = 0,
    IO_FAULT_EIO_WRITE,
    IO_FAULT_ENOSPC_WRITE,
    IO_FAULT_TORN_WRITE,
    IO_FAULT_EIO_SYNC,
    IO_FAULT_EIO_READ,
    IO_FAULT_BITFLIP_READ,
} io_fault_kind;

void io_fault_arm(io_fault_kind kind, uint64_t nth);
void io_fault_disarm(void);
/* 1 once an armed fault has fired. */
int io_fault_fired(void);
/* Number of calls seen of the kind's class (writes, syncs or reads) since arming;
 * lets a test learn how many points of failure a workload has. */
uint64_t io_fault_calls(io_fault_kind kind);

void io_track_unsynced(int on);
/* Reverts unsynced writes as a power cut would (see top); returns how many were
 * reverted wholly or partly. Clears the tracking records. */
size_t io_sim_powerloss(uint64_t seed);

#endif /* STELE_IO_H */
