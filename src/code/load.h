/*
 * load.h — writing the code graph into a Stele database (the data contract: code.h).
 * Layer: code; the only part of the indexer that includes stele.h (and only it).
 *
 * Both entry points open nothing: they take a writable handle and a project. They print
 * nothing either: errors of files go through `diag`, other messages through `note`.
 */
#ifndef STELE_CODE_LOAD_H
#define STELE_CODE_LOAD_H

#include "code/code.h"
#include "stele.h"

typedef struct cg_stats {
    size_t indexed, skipped;   /* files parsed and written; files that do not parse */
    size_t with_errors;        /* indexed files with errors clang recovered from */
    size_t nodes, edges;       /* the graph written: all of it (index), this file's (update) */
    size_t inserted, replaced, deleted, unchanged; /* documents */
    size_t txns;               /* transactions committed */
    uint64_t lines;            /* lines of the files parsed */
    double parse_s, seconds;   /* wall-clock time of the parse phase (libclang and
                                * extraction, on every thread); of the whole run */
} cg_stats;

typedef void (*cg_note_fn)(void *ctx, const char *msg);

typedef struct cg_out {
    cg_diag_fn diag; /* errors of the files parsed */
    cg_note_fn note; /* anything else worth saying (a root that changed, ...) */
    /* NULL, or called after each file a full index parses (done of total) */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *ctx;
} cg_out;

/* Status of the indexer beside stele_status codes (which are negative). */
enum {
    CG_NOTHING = 1, /* index: no file could be parsed; update: the file does not parse
                     * (a fatal error). Nothing was written. */
    CG_UNKNOWN = 2, /* update: the file is neither on disk nor in the graph */
};

/* Parse threads by default: the online CPUs, at most CG_JOBS_DEFAULT_MAX. */
unsigned cg_default_jobs(void);

/* Full (re)index of the project's root: parses every file on `jobs` threads (1 to
 * CG_JOBS_MAX; the documents, the errors reported and their order do not depend on it),
 * then writes the difference between the graph and what the database holds in batches
 * of at most CG_BATCH_OPS ops (nodes first, then edges, then the deletion of what
 * disappeared). Files that do not parse keep what they had. out->diag and out->progress
 * are called by one thread at a time, not always the caller's. 0, CG_NOTHING, or a
 * stele_status (message in err). */
int cg_index(stele *db, cg_project *p, unsigned jobs, const cg_out *out, cg_stats *st,
             char *err, size_t errcap);

/* Re-indexes one file (`rel`, relative to the root) in ONE transaction: its nodes
 * replaced or inserted, those gone deleted ("cascade":true, with the edges that point
 * at them), its old outgoing edges gone deleted, the new ones written. A file that no
 * longer exists has its nodes and edges deleted. `parser` is reused across calls (watch).
 * 0, CG_NOTHING, CG_UNKNOWN, or a stele_status (message in err). */
int cg_update(stele *db, cg_project *p, cg_parser *parser, const char *rel,
              const cg_out *out, cg_stats *st, char *err, size_t errcap);

/* The root recorded by the last index (code_meta/index) into root[0, cap). 0, or
 * STELE_ENOTFOUND if the database holds no code index, or another stele_status. */
int cg_meta_root(stele *db, char *root, size_t cap);

/* Records `root` as the indexed root if nothing is recorded (watch before any index).
 * 0 or a stele_status. */
int cg_meta_ensure(stele *db, const cg_project *p, char *err, size_t errcap);

#endif
