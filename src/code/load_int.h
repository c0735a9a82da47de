/*
 * load_int.h — what load.c (document sets, batched transactions, reading what the
 * database holds), index.c (the full index) and update.c (one file) share.
 * Layer: code.
 */
#ifndef STELE_CODE_LOAD_INT_H
#define STELE_CODE_LOAD_INT_H

#include <jansson.h>

#include "code/load.h"

#define CG_BATCH_OPS 2000             /* ops per transaction of a full index (limit 10,000) */
#define CG_BATCH_BYTES (1u << 20)     /* JSON bytes per transaction (record limit 4 MiB) */
#define CG_EDGE_SLOT CG_NCOLL         /* docset slot of code_edges */
#define CG_META_SLOT (CG_NCOLL + 1) /* code_meta */
#define CG_SLOTS (CG_NCOLL + 1)      /* the graph's slots: nodes and edges */

/* A set of documents keyed by "coll/_id" (slot CG_EDGE_SLOT = code_edges). The set owns
 * one reference to each document; ids borrow the documents' "_id" strings. */
typedef struct cg_doc {
    int slot;
    json_t *doc;
    const char *id;
    int mark; /* free for the diff: seen, kept, ... */
} cg_doc;

typedef struct cg_docset {
    cg_doc *v;
    size_t n, cap;
    cg_smap at;
    cg_arena keys;
} cg_docset;

void cg_docset_init(cg_docset *s);
void cg_docset_release(cg_docset *s);
/* Adds doc (reference taken, also on failure) unless the key is there: 0 added, 1 there
 * (doc released), -1 OOM or no string "_id". */
int cg_docset_add(cg_docset *s, int slot, json_t *doc);
/* The document of (slot, id), or NULL. */
cg_doc *cg_docset_get(cg_docset *s, int slot, const char *id);
const char *cg_slot_coll(int slot);

/* Adds the live documents of collection `slot` to s: all of them (filter NULL) through
 * stele_export, or those matching a filter through stele_find (system fields dropped).
 * A missing collection adds nothing. 0 or a stele_status (message in err). */
int cg_load_docs(stele *db, int slot, const char *filter, cg_docset *s, char *err,
                 size_t errcap);

/* Creates the code collections that do not exist yet. 0 or a stele_status. */
int cg_ensure_collections(stele *db, char *err, size_t errcap);

/* Ops of transactions, serialized as they come, committed every CG_BATCH_OPS ops or
 * CG_BATCH_BYTES bytes (batched) or only at cg_batch_flush (one transaction). */
typedef struct cg_batch {
    stele *db;
    char *text;
    size_t len, cap, nops;
    int one_txn;
    cg_stats *st;
} cg_batch;

void cg_batch_init(cg_batch *b, stele *db, int one_txn, cg_stats *st);
void cg_batch_release(cg_batch *b);
/* Queues {"op":op,"coll":...,"id":...,"doc":...}; `doc` and `id` may be NULL; cascade adds
 * "cascade":true. 0 or a stele_status. */
int cg_batch_op(cg_batch *b, const char *op, int slot, const char *id, json_t *doc,
                int cascade, char *err, size_t errcap);
/* Writes `doc` of slot as an insert (not live: `live` 0), a replace (live and different:
 * `old` given) or nothing (equal). Counts in b->st. 0 or a stele_status. */
int cg_batch_put(cg_batch *b, int slot, json_t *doc, json_t *old, int live, char *err,
                 size_t errcap);
/* Commits what is queued. 0 or a stele_status. */
int cg_batch_flush(cg_batch *b, char *err, size_t errcap);

/* The meta document for the project. NULL on OOM. */
json_t *cg_meta_doc(const cg_project *p);

double cg_now_s(void);

/* parse.c: the parse phase of a full index. Parses rels[0, n) on `jobs` threads into
 * files[i] (NULL for a file that does not parse); errors go to out->diag in path order.
 * Counts indexed, skipped, with_errors, lines and parse_s (wall-clock) in st. 0, or a
 * stele_status with a message (out of memory, no libclang). */
int cg_parse_files(cg_project *p, char **rels, size_t n, unsigned jobs, const cg_out *out,
                   cg_stats *st, cg_file **files, char *err, size_t errcap);

#endif
