/*
 * state.h — the derived, versioned state of one database's documents: collections,
 * dense doc numbers, and per-document version chains with "as of LSN" reads.
 * Layer: model (uses util and crypto). Documents are opaque SDOC bytes here; ops
 * parsing and validation live in txn.c.
 *
 * Invariants
 *  1. State changes only through mstate_* calls made by apply, in LSN order; every
 *     version, collection event and doc number carries the LSN that made it.
 *  2. Doc numbers are dense (0, 1, 2, ...), assigned at first insert in LSN order,
 *     never reused — replaying the same log gives the same numbers.
 *  3. A version chain is sorted by LSN; the newest version is the document's state.
 *  4. mstate_digest() depends only on the state, not on memory layout or history of
 *     hash-table growth: a rebuild from the log yields the same digest.
 */
#ifndef STELE_MODEL_STATE_H
#define STELE_MODEL_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "model/edges.h"
#include "util/util.h"

#define MSTATE_NAME_MAX 64
#define MSTATE_ID_MAX 256 /* bytes of a document _id */
#define MSTATE_KEY_MAX 512 /* bytes of any key the state holds: a document's _id, or the
                            * reference a stand-in names (edges.h, MREF_TEXT_MAX) */
#define MSTATE_PATH_MAX 256 /* bytes of an indexed dotted path */
#define MSTATE_NONE UINT32_MAX
#define MSTATE_COLL_MAX ((1u << 22) - 1) /* collection ids ever created in a database */

typedef struct mstate mstate;

/* A version of a document: 24 bytes, kept for every version of every document. The
 * time and author are the record's (every version a ledger record makes shares them):
 * they live once per record in the state's record table, mstate_record(lsn). */
typedef struct mversion {
    uint64_t lsn;
    const uint8_t *doc;   /* canonical SDOC bytes (borrowed from the state) */
    uint32_t doc_len;     /* <= SDOC_MAX, which fits */
    uint32_t rev : 31;    /* 1 at insert, +1 on every change */
    uint32_t deleted : 1; /* soft-deleted in this version */
} mversion;

/* The time (ns since the epoch) and author of the ledger record at lsn, as applied to
 * the state: 0, or -1 if no version of the state came from that record. Thread-safe for
 * readers of other threads (as of their view). */
int mstate_record(const mstate *s, uint64_t lsn, uint64_t *ts, uint8_t author[16]);

/* A collection name (also the collection and database parts of an edge reference):
 * 1-64 bytes of letters, digits, '.', '_', '-', not starting with '.'. */
int mstate_name_ok(const char *name, size_t n);

mstate *mstate_new(void);
void mstate_free(mstate *s);

/* Collections. Names follow vault_name_ok rules (checked by the caller). Each call
 * records the LSN of the change; as-of lookups see the name history. */
int mstate_coll_create(mstate *s, const char *name, uint64_t lsn, uint32_t *id);
int mstate_coll_drop(mstate *s, uint32_t id, uint64_t lsn);
int mstate_coll_rename(mstate *s, uint32_t id, const char *name, uint64_t lsn);
/* Id of the collection called `name` as of `as_of` (UINT64_MAX = now), or NONE. */
uint32_t mstate_coll_find(const mstate *s, const char *name, uint64_t as_of);
/* Number of collection ids ever created; names of live ones as of `as_of`. */
uint32_t mstate_coll_count(const mstate *s);
const char *mstate_coll_name(const mstate *s, uint32_t id, uint64_t as_of);

/* Documents. */
uint32_t mstate_doc_find(const mstate *s, uint32_t coll, const char *id, size_t id_len);
/* A hint that mstate_doc_find(coll, id) comes soon: starts loading its table slot. */
void mstate_doc_prefetch(const mstate *s, uint32_t coll, const char *id, size_t id_len);
/* Adds a version (copying doc); creates the doc number on first use. Versions must
 * come in LSN order. -1 on out of memory. */
int mstate_doc_put(mstate *s, uint32_t coll, const char *id, size_t id_len, uint64_t lsn,
                   uint64_t ts, const uint8_t author[16], int deleted, const uint8_t *doc,
                   size_t doc_len, uint32_t *docnum);
/* Newest version with lsn <= as_of (UINT64_MAX = now); NULL if none, or if its bytes
 * could not be loaded from the snapshot (then mstate_lazy_failed says so). Its bytes
 * are valid until the next safe point (mstate_reads_done). */
const mversion *mstate_doc_get(const mstate *s, uint32_t docnum, uint64_t as_of);
/* The same version's metadata (lsn, rev, deleted, ...) without loading its bytes: its
 * doc pointer may be NULL. For walks that need no body (counts, existence). */
const mversion *mstate_doc_meta(const mstate *s, uint32_t docnum, uint64_t as_of);
/* All versions, oldest first. */
const mversion *mstate_doc_history(const mstate *s, uint32_t docnum, size_t *n);
uint32_t mstate_doc_count(const mstate *s);
/* Gives (coll, id) a doc number without a version (a dangling edge's target, or the
 * stand-in of another database's node: id up to MSTATE_KEY_MAX bytes), so that a later
 * insert of that document links up with the edges waiting for it. The number is found
 * by mstate_doc_find; mstate_doc_get gives NULL until a version is put. */
int mstate_doc_reserve(mstate *s, uint32_t coll, const char *id, size_t id_len,
                       uint32_t *docnum);
/* The graph adjacency derived from the edge documents (edges.h): maintained by txn.c,
 * marked, rolled back and committed with the state, rebuilt by mstate_load. */
madj *mstate_adj(mstate *s);
const madj *mstate_adj_c(const mstate *s);
uint32_t mstate_doc_coll(const mstate *s, uint32_t docnum);
const char *mstate_doc_id(const mstate *s, uint32_t docnum, size_t *len);

/* Whether this is a user's primary database, set by the opener before anything is
 * applied (not stored: a database is primary or not for its whole life). In a primary,
 * "global:" references name its own global-origin documents and global ops apply
 * (txn.h); elsewhere a "global:" reference links to a stand-in. */
void mstate_set_primary(mstate *s, int primary);
int mstate_primary(const mstate *s);

/* Explicit index definitions (create_index / drop_index ops): an event log per
 * database, rolled back with the rest of a tentative change and covered by the
 * digest. The index layer builds and maintains the indices themselves. A definition
 * is named by (coll, path, kind): a path may have a value index and a text index.
 * A text index's creation has a Snowball language (1..MSTATE_LANG_MAX bytes, checked
 * by txn.c); a drop and a value index none (lang NULL or "", ignored). */
#define MSTATE_LANG_MAX 32 /* bytes of a Snowball language name (as FTS_LANG_MAX) */
enum { MSTATE_INDEX_VALUE = 0, MSTATE_INDEX_TEXT = 1 };
int mstate_index_event(mstate *s, uint32_t coll, const char *path, int kind, const char *lang,
                       int dropped, uint64_t lsn);
/* 1 if an index of this kind on (coll, path) is defined now. */
int mstate_index_defined(const mstate *s, uint32_t coll, const char *path, int kind);
/* A definition in force: path and lang borrowed, valid until the next change of the
 * state; lang is "" for a value index; lsn is the record that created it. */
typedef struct mstate_idef {
    uint32_t coll;
    int kind;
    const char *path, *lang;
    uint64_t lsn;
} mstate_idef;
/* The definitions in force now: call with i = 0, 1, ... until it returns 0. */
int mstate_index_def(const mstate *s, size_t i, mstate_idef *out);
/* The language of the text index defined on (coll, path) as of as_of (UINT64_MAX =
 * now), or NULL if none was defined then (queries then stem in english). Borrowed. */
const char *mstate_text_lang(const mstate *s, uint32_t coll, const char *path, uint64_t as_of);

/* Tentative changes: after mstate_mark, every change is journaled; mstate_rollback
 * removes all changes made since the mark (versions, new doc numbers, collection
 * events) and mstate_commit keeps them. Used to check a transaction by applying it. */
int mstate_mark(mstate *s); /* -1 on out of memory (nothing marked) */
void mstate_rollback(mstate *s);
void mstate_commit(mstate *s);

/* A writer applies a transaction before its record is written, at this LSN (greater
 * than every record's, below UINT64_MAX so that reads "now" see it) and time 0; once
 * the record is durable, mstate_stamp gives every change made since the mark the
 * record's LSN and time (versions, collection and index events), then the caller
 * commits — or it rolls back if the record could not be written. */
#define MSTATE_LSN_TENTATIVE (UINT64_MAX - 1)
void mstate_stamp(mstate *s, uint64_t lsn, uint64_t ts);
/* Doc numbers changed since the mark (in change order, possibly repeated). */
const uint32_t *mstate_journal(const mstate *s, size_t *n);

/* Snapshots (docs/FORMAT.md "State snapshot"): a directory (collections, index
 * definitions, every document's id, collection and version metadata, the adjacency,
 * the partition table and an opaque `extra` blob from the layers above) and
 * partitions: the version bytes of runs of doc numbers, each at most part_cap bytes
 * (unless one document alone is larger) and MSTATE_PART_DOCS documents.
 *
 * mstate_serialize writes the state as of ledger record `lsn` (not while marked): each
 * partition goes to put(ctx, ...), which stores it and appends its reference (opaque
 * here) to ref; then the directory goes to dir. The new partitions stay pending until
 * mstate_snapshot_taken (they replace the state's partitions: the caller removes the
 * old files first, see mstate_part_ref) or mstate_snapshot_abandon. Reading versions
 * of a lazy state may fail (STELE_ECORRUPT); put's errors pass through.
 *
 * mstate_load builds a state from directory bytes, taking ownership of `bytes`
 * (malloc'd; freed on failure too), with every partition not resident: version bytes
 * load on first use through the loader (mstate_set_loader). *extra gets the extra
 * blob (malloc'd, the caller frees it; the rest of the bytes is freed: the state keeps
 * nothing of them). NULL if the bytes are malformed
 * (every length and count is checked, versions in LSN order and not after the
 * snapshot's LSN, partitions covering the documents in order, links between existing
 * documents) or memory runs out. The caller authenticates the bytes first (AEAD);
 * each partition's documents are validated (doc_validate) when it loads, so every
 * version served is canonical SDOC. */
#define MSTATE_PART_DOCS 65536
typedef stele_status (*mstate_part_put)(void *ctx, const uint8_t *bytes, size_t len, buf *ref,
                                        util_err *e);
stele_status mstate_serialize(const mstate *s, uint64_t lsn, size_t part_cap,
                              mstate_part_put put, void *ctx, const uint8_t *extra,
                              size_t extra_len, buf *dir, util_err *e);
void mstate_snapshot_taken(mstate *s);
void mstate_snapshot_abandon(mstate *s);
mstate *mstate_load(uint8_t *bytes, size_t len, uint64_t *lsn, uint8_t **extra,
                    size_t *extra_len);
/* 1 if bytes are a snapshot directory of an older format than mstate_load reads (the
 * state is then derived from the log, and the next snapshot written in this format). */
int mstate_snapshot_older(const uint8_t *bytes, size_t len);
/* Reference of partition i of the state's snapshot (i < count: 1), or of the pending
 * one when `pending`; 0 past the end. */
int mstate_part_ref(const mstate *s, int pending, uint32_t i, const uint8_t **ref,
                    size_t *len);

/* Lazy version bytes. The loader reads a partition by its reference: STELE_OK and
 * *bytes (malloc'd, handed over) or an error with e set. budget_bytes bounds the
 * resident partitions: loading one first evicts the least recently used partitions
 * not used since the last safe point (UINT64_MAX: never evict).
 * mstate_reads_done is a safe point: version bytes handed out before it may be
 * freed after it (the api calls it where a call begins: borrowed bytes live until the
 * next call). A version whose bytes cannot be loaded reads as NULL from
 * mstate_doc_get; mstate_lazy_failed then returns 1 once, with the reason in *e. */
typedef stele_status (*mstate_loader)(void *ctx, const uint8_t *ref, size_t ref_len,
                                      uint8_t **bytes, size_t *len, util_err *e);
void mstate_set_loader(mstate *s, mstate_loader load, void *ctx, uint64_t budget_bytes);
void mstate_reads_done(const mstate *s);
int mstate_lazy_failed(const mstate *s, util_err *e);
typedef struct mstate_cache_stats {
    uint64_t resident_bytes, budget_bytes, loads, evictions;
    uint32_t parts, parts_resident;
} mstate_cache_stats;
void mstate_cache_stats_get(const mstate *s, mstate_cache_stats *out);
/* Bytes the state holds in memory, by part (approximate: allocation sizes, not the
 * allocator's overhead). For stat and for finding where memory goes. */
typedef struct mstate_mem {
    uint64_t docs;     /* the per-document entries */
    uint64_t versions; /* version records (24 bytes each) */
    uint64_t records;  /* the record table: time and author once per ledger record */
    uint64_t id_table; /* the (collection, _id) hash table */
    uint64_t chunks;   /* ids and the bytes of versions put since the snapshot */
    uint64_t adjacency;
    uint64_t cache;    /* resident snapshot partitions */
} mstate_mem;
void mstate_mem_get(const mstate *s, mstate_mem *out);
/* ---- Readers on other threads (state_read.c; docs/DECISIONS.md 35) ----------------
 * One writer thread changes the state; views read it from other threads, as of the LSN
 * the writer last published, without ever making the writer wait.
 * mstate_readers_enable (before any view, with no one else using s) makes every
 * snapshot partition resident for good and switches growth to retire-and-publish: -1
 * on OOM or a partition that could not be loaded (mstate_lazy_failed says why).
 * mstate_publish (writer, after a commit) makes the committed state up to record lsn
 * what new views see, and frees retired blocks no reader can hold any more.
 * A view claims one of MSTATE_READERS_MAX slots (open: -1 if none is free) and, for
 * each read call, enters and leaves: between them the calling thread's mstate_* reads
 * of s see only doc numbers and collections committed by the view's LSN, and as of it
 * at the latest (UINT64_MAX = the view's LSN). A view is used by one thread at a time;
 * its reads return pointers valid until it leaves. */
#define MSTATE_READERS_MAX 64
typedef struct mstate_view {
    const mstate *s;
    uint64_t lsn;
    uint32_t ndoc, ncoll;
    uint32_t slot;
} mstate_view;
int mstate_readers_enable(mstate *s);
int mstate_readers_on(const mstate *s);
void mstate_publish(mstate *s, uint64_t lsn);
int mstate_view_open(const mstate *s, mstate_view *v);
void mstate_view_close(mstate_view *v);
void mstate_view_enter(mstate_view *v);
void mstate_view_leave(mstate_view *v);
/* Versions of docnum with lsn <= as_of, oldest first (*n of them; bytes loaded). */
const mversion *mstate_doc_history_as_of(const mstate *s, uint32_t docnum, uint64_t as_of,
                                         size_t *n);

/* SHA-256 over a canonical serialization of everything in the state; -1 on OOM, -2
 * if version bytes could not be loaded (mstate_lazy_failed says why). */
int mstate_digest(const mstate *s, uint8_t out[32]);

#endif
