/*
 * ledger_int.h — private to src/ledger: the ledger handle and helpers shared by
 * ledger.c (open, recovery, append, read) and audit.c (checkpoint, verify, proofs).
 */
#ifndef STELE_LEDGER_INT_H
#define STELE_LEDGER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "ledger/format.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/superblock.h"

/* Group-commit batch bound: writers wait while this much is queued unflushed. */
#define LEDGER_BATCH_MAX (4u << 20)
#define LEDGER_WINDOW (8u << 20) /* read window for scans; >= LEDGER_FRAME_MAX */

_Static_assert(LEDGER_WINDOW >= LEDGER_FRAME_MAX + SEGHDR_AREA, "a frame must fit a window");

typedef struct lseg {
    uint8_t file_id[16];
    uint32_t seq;
    uint32_t epoch;  /* key epoch (from the manifest; bound into every box) */
    int fd;
    crypto_gcm *wr;  /* writer's context (under L->mu) */
    crypto_gcm *rd;  /* readers' context (under L->rd_mu) */
} lseg;

typedef struct recloc {
    uint32_t seg;
    uint32_t off;
    uint32_t len;
    uint8_t kind; /* from the authenticated header: readers that only need the kind
                   * (replay skipping other records) decrypt nothing */
} recloc;

typedef struct idem_slot {
    uint64_t key; /* first 8 bytes of the idempotency digest; 0 = empty */
    uint64_t lsn;
} idem_slot;

struct ledger {
    char dir[4096];
    char name[256];
    const vault_dbkeys *keys;
    uint8_t author[16];
    uint8_t sb_key[32];
    ledger_config cfg;
    int lock_fd;

    superblock sb;
    char sb_damage[256];
    char files_damage[512]; /* the files of data/ against the manifest, found at open */
    int opened_clean;    /* the superblock said "clean" when this handle opened */
    int sb_marked;       /* the superblock says "open" (unclean) for this writer */
    lseg *segs;
    uint32_t nseg;

    /* In-memory index, one entry per record (LSN i at [i-1]). */
    recloc *loc;
    merkle_hash *hash;
    uint64_t cap;
    uint64_t head;       /* newest LSN appended (maybe not yet written) */
    uint64_t written;    /* newest LSN whose frame reached the file */
    uint64_t durable;    /* newest LSN synced */
    uint64_t last_ts;
    uint32_t generation;
    merkle_frontier frontier;
    uint64_t *ckpts;     /* LSNs of checkpoint records */
    size_t nckpt, capckpt;
    uint64_t nrecovery;
    idem_slot *idem;
    uint64_t idem_cap, idem_count;
    uint64_t appended_since_open;
    uint64_t log_bytes;

    /* Writer state, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_mutex_t rd_mu;
    uint64_t wr_off;     /* where the next frame goes in the last segment */
    buf pend;            /* frames built, not yet written */
    uint64_t pend_off;   /* file offset of pend.data[0] */
    uint64_t pend_last;  /* LSN of the last frame in pend */
    buf spare;
    buf env;             /* scratch for building envelopes */
    int flushing;
    uint64_t pend_count; /* records in pend */
    pthread_cond_t delay_cv; /* never signalled: a timed wait for group-commit joiners */
    /* Published copies for writers waiting without the lock (see publish_locked). */
    _Atomic uint64_t durable_a;
    _Atomic int flushing_a;
    _Atomic int failed_a;
    _Atomic uint32_t epoch;  /* futex word: bumped at every publish */
    /* GROUP durability: a flusher thread syncs batches back to back. Batch ids: the
     * pending buffer is batch `batch`, the one in flight batch - 1; writers of batch
     * b sleep on bword[b & 1], so a finished sync wakes only its own writers. */
    _Atomic uint32_t bword[2];
    uint64_t batch;
    pthread_t flusher;
    int flusher_on, flusher_idle, flusher_stop;
    pthread_cond_t flusher_cv;
    crypto_rng *rng;     /* nonces, salts, padding (secure memory; under mu) */
    /* The next segment, prepared in the background (under mu). */
    enum { NEXT_SEG_NONE, NEXT_SEG_PREPARING, NEXT_SEG_READY } next_seg_state;
    uint8_t next_seg_id[16];
    pthread_t next_seg_tid;
    int next_seg_joinable;
    _Atomic uint64_t fill_a;     /* write offset in the last segment, for pacing */
    _Atomic int next_seg_hurry;  /* a roll or close waits: prepare at full speed */
    stele_status failed; /* sticky */
    char failed_msg[UTIL_ERR_MAX];
    /* Background re-encryption (reencrypt.c), under mu. */
    pthread_t reenc_tid;
    int reenc_joinable;    /* a thread was started and is not joined yet */
    int reenc_running;     /* it has not finished */
    int reenc_intent;      /* it owns the manifest's write intent: rolls and snapshots
                            * wait for reenc_intent == 0 (on cv) before taking it */
    int reenc_closing;     /* close waits for it: it stops waiting for others */
    int reenc_hold;        /* tests: wait before the next segment (ledger.h) */
    uint32_t reenc_epoch;  /* the epoch it rewrites segments under */
    uint32_t reenc_sealed; /* segments [0, reenc_sealed) were sealed when it started */
    uint32_t reenc_left, reenc_done;
    stele_status reenc_rc; /* a failure not reported yet by ledger_reencrypt_wait */
    char reenc_msg[UTIL_ERR_MAX];
    /* Replaced segments, kept open while a read may still use them: readers copy an
     * lseg under mu and count themselves in reads_a until they are done with it. */
    _Atomic uint64_t reads_a;
    lseg *retired;
    uint32_t nretired, capretired;
};

/* A sequential reader over one segment file: big reads, frames served from memory. */
typedef struct ledger_window {
    int fd;
    uint64_t file_size;
    uint8_t *buf;     /* LEDGER_WINDOW bytes */
    uint64_t start;
    size_t len;
    int err;          /* -errno of a failed read */
} ledger_window;

/* n bytes at off (n <= LEDGER_FRAME_MAX), or NULL past the end or on a read error. */
const uint8_t *ledger_win_get(ledger_window *w, uint64_t off, size_t n);
/* AES-GCM context with the file key of a segment. */
stele_status ledger_seg_key(const vault_dbkeys *k, uint32_t epoch, const uint8_t file_id[16],
                            crypto_gcm **out,
                            util_err *e);

/* A checkpoint frame is at most this large (its JSON payload is < 512 bytes). */
#define LEDGER_CKPT_FRAME frame_size(ENVELOPE_FIXED + 512)
/* Rolls segments until a frame of fsize bytes fits. May release L->mu (it waits for a
 * group-commit leader): build payloads that depend on the log only after it. */
stele_status ledger_make_room_locked(ledger *L, size_t fsize, util_err *e);
/* Puts the handle in the sticky failed state; returns rc. */
stele_status ledger_fail_locked(ledger *L, stele_status rc, util_err *e);

/* Appends a record with the lock held; *lsn gets its LSN. Does not wait. */
stele_status ledger_append_locked(ledger *L, int kind, const void *payload, size_t len,
                                  const uint8_t *idem, size_t idem_len, uint64_t *lsn,
                                  util_err *e);
/* Waits (lock held, may release it while waiting) until lsn meets the policy. */
stele_status ledger_commit_wait_locked(ledger *L, uint64_t lsn, util_err *e);
/* Builds the JSON payload of a checkpoint over all records so far (lock held). */
stele_status ledger_checkpoint_payload_locked(ledger *L, buf *out, util_err *e);
/* Reads and opens the frame of `lsn`; checks it against the in-memory hash. */
stele_status ledger_read_frame(ledger *L, uint64_t lsn, ledger_rec *out, buf *scratch,
                               util_err *e);
/* Writes the superblock from the current state (lock held or single-threaded). */
stele_status ledger_sb_sync(ledger *L, int clean, util_err *e);
/* SHA-256 of a whole file read twice (a faulty read must not end up in the signed
 * manifest as the file's hash): STELE_EIO if the two reads differ. */
stele_status ledger_file_hash_twice(const char *path, uint8_t out[32], util_err *e);
/* Sets the manifest's write intent and writes the manifest (lock held). */
stele_status ledger_intent_set_locked(ledger *L, int op, int phase, const uint8_t (*ids)[16],
                                      uint32_t n, util_err *e);
/* Finishes or rolls back the manifest's pending write intent (writable open). */
stele_status ledger_intent_recover(ledger *L, util_err *e);
/* Checks the files of data/ against the manifest (a fresh copy of it for read-only
 * handles): every file named exists with the fixed size, no other file is there, and
 * with full != 0 every closed segment and fragment has its recorded hash. Returns the
 * number of problems; msg gets the first (naming the file and what to do). */
int ledger_files_check(ledger *L, int full, char *msg, size_t cap);
/* Waits (lock held, may release it) until no background re-encryption owns the write
 * intent: every other taker of the intent calls it first. */
void ledger_intent_wait_locked(ledger *L);
/* Joins a background re-encryption (it runs to its end); its result stays for
 * ledger_reencrypt_wait. Not under the lock. */
void ledger_reencrypt_join(ledger *L);
/* Closes the replaced segments no read can still use (lock held; all of them with
 * all != 0, when the handle is freed). */
void ledger_retired_release_locked(ledger *L, int all);
/* Segment file path. */
void ledger_seg_path(const ledger *L, const uint8_t file_id[16], char *out, size_t cap);

#endif
