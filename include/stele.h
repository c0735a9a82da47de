/*
 * stele.h — the public API of Stele, an embedded, encrypted, hash-chained ledger
 * database. The CLI, the server and every integration test use only this header.
 *
 * Conventions (see docs/API.md for the long form):
 *  - Every call returns a stele_status: 0 (STELE_OK) or a negative STELE_E* code.
 *    stele_strerror(code) gives a static text; stele_errmsg(handle) gives the
 *    message of the last failed call on that handle, with context (file, offset,
 *    LSN), valid until the next call on the handle.
 *  - Handles are opaque. A handle is used by one thread at a time, except that
 *    stele_append() may be called concurrently from many threads on one handle
 *    (that is how group commit batches writers into one fsync) while no other call
 *    runs on that handle. Open a second handle (read-only) to read or verify while
 *    writers append: read-only handles take no lock and see a consistent prefix.
 *    Views (stele_view_*, "Views" below) read the documents and the graph of a handle
 *    opened with `readers` from any number of other threads while one thread writes
 *    through the handle; the writer never waits for them.
 *  - Memory returned as `char **` is owned by the caller and freed with stele_free().
 *    Memory returned inside a struct (stele_record) is borrowed: valid until the
 *    next call on the same handle from the same thread, or stele_close().
 *  - I/O errors and failed fsyncs are sticky: the handle enters a failed state and
 *    every later write returns STELE_EFAILED; close and reopen (which recovers).
 */
#ifndef STELE_H
#define STELE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STELE_VERSION "0.1.0"

typedef int stele_status;

enum {
    STELE_OK = 0,
    STELE_EINVAL = -1,      /* bad argument or malformed input */
    STELE_ENOMEM = -2,      /* out of memory */
    STELE_EIO = -3,         /* read/write/fsync failed */
    STELE_ECORRUPT = -4,    /* data on disk is not authentic or inconsistent */
    STELE_EPASSWORD = -5,   /* wrong password */
    STELE_ENOTFOUND = -6,   /* no such store, user, database or record */
    STELE_EEXIST = -7,      /* already exists */
    STELE_ELOCKED = -8,     /* another process holds the database for writing */
    STELE_ENOSPC = -9,      /* disk full */
    STELE_EFAILED = -10,    /* handle is in a failed state after an I/O error */
    STELE_EREADONLY = -11,  /* write on a handle opened read-only */
    STELE_ETOOBIG = -12,    /* a limit was exceeded (see docs/LIMITS.md) */
    STELE_EPROOF = -13,     /* a proof or signature did not verify */
    STELE_EVERSION = -14,   /* unsupported format version */
    STELE_ECONFLICT = -15,  /* a write named a _rev that is not the current one */
    STELE_EBACKOFF = -16,   /* too many wrong passwords: wait before the next attempt */
    STELE_EACCESS = -17,    /* no access: not a member, or the role does not allow it */
    STELE_EUNTRUSTED = -18, /* signed settings refused: tampered, rolled back, or signed
                             * by a key the store does not trust */
};

/* Static text for a status code. Never NULL. */
const char *stele_strerror(stele_status code);

/* Frees memory returned by Stele through a `char **` out-parameter. NULL is fine. */
void stele_free(void *p);

/* ---- Stores and users ------------------------------------------------------ */

/* Key-derivation profiles. DEFAULT is Argon2id with m = 256 MiB, t = 3 (the floor
 * of DESIGN.md). INSECURE_TEST is m = 8 MiB, t = 1: for tests only; `stele stat`
 * reports a user created with it as insecure. */
typedef enum {
    STELE_KDF_DEFAULT = 0,
    STELE_KDF_INSECURE_TEST = 1,
} stele_kdf_profile;

/* Durability policies for appends. */
typedef enum {
    STELE_DURABLE_FSYNC = 0, /* each commit is fdatasync'ed before it is acknowledged */
    STELE_DURABLE_GROUP = 1, /* concurrent commits share one fdatasync (bounded batch) */
    STELE_DURABLE_NONE = 2,  /* written, not synced: for bulk loads; a crash may lose
                              * acknowledged records (recorded as a recovery record) */
    STELE_DURABLE_STORE = 3, /* the store's signed default (config/settings.json;
                              * FSYNC when there is none) */
} stele_durability;

typedef struct stele_init_options {
    const char *store_dir;     /* required */
    const char *user;          /* required: name of the first user */
    const char *password;      /* required */
    size_t password_len;
    stele_kdf_profile kdf;     /* default STELE_KDF_DEFAULT */
    uint32_t segment_size;     /* bytes per ledger segment file; 0 = 32 MiB */
    uint32_t checkpoint_every; /* records between automatic checkpoints; 0 = 1000 */
    int no_encryption;         /* 1: the primary database's ledger segments and snapshot
                                * fragments hold PLAINTEXT (with checksums, the hash chain
                                * and signed checkpoints): for public data only, such as
                                * a global database. Keys and superblock stay sealed. */
} stele_init_options;

/* Creates the store directory (if needed) and its first user with a primary
 * database. Fails with STELE_EEXIST if the store already exists. On failure a
 * message is written to errbuf (if not NULL). Nothing half-made is left behind. */
stele_status stele_store_init(const stele_init_options *opts, char *errbuf, size_t errcap);

/* Changes a user's password: re-wraps the user's data-encryption key only; no
 * database file changes. Returns STELE_EPASSWORD if old_password is wrong. */
stele_status stele_passwd(const char *store_dir, const char *user,
                          const char *old_password, size_t old_len,
                          const char *new_password, size_t new_len,
                          char *errbuf, size_t errcap);

/* ---- Users, databases, sharing --------------------------------------------- */

/* Who is asking: a user of a store and their password. Every call below checks the
 * password first (with the wrong-password back-off: STELE_EPASSWORD counts the
 * failure, STELE_EBACKOFF says how long to wait). */
typedef struct stele_login {
    const char *store_dir;
    const char *user;
    const char *password;
    size_t password_len;
} stele_login;

/* Adds user `name` with its own primary database (segment_size 0 = 32 MiB). Only an
 * admin may (the first user of a store is its admin): STELE_EACCESS otherwise. The
 * new user's password is `password`; kdf as in stele_init_options. */
stele_status stele_user_add(const stele_login *admin, const char *name, const char *password,
                            size_t password_len, stele_kdf_profile kdf, uint32_t segment_size,
                            char *errbuf, size_t errcap);
/* The public registry as a JSON array: name, id, admin, created (ns), key profile,
 * public keys, failed password attempts. No password needed: it holds nothing secret
 * (which databases a user owns is not public: only the admin's registry slots tell).
 * Caller frees *json. */
stele_status stele_user_list(const char *store_dir, char **json, char *errbuf, size_t errcap);
/* Removes user `name` (admin only; an admin cannot remove itself): their user file,
 * holding the only wrap of their keys, then every database they own. Those databases
 * become unreadable for everyone, members included. */
stele_status stele_user_remove(const stele_login *admin, const char *name, char *errbuf,
                               size_t errcap);

/* Databases of the logged-in user. Names are per user (1-64 of [A-Za-z0-9._-]);
 * "primary" is the user's primary database, which cannot be created, dropped, renamed
 * or shared. A database shared with the user is named "OWNER/NAME". */
stele_status stele_db_create(const stele_login *who, const char *name, uint32_t segment_size,
                             char *errbuf, size_t errcap);
/* JSON array: name, id, owner, role (owner|admin|writer|reader), key epoch, members
 * (owner's and admins' view), bytes on disk. The primary's bytes include the cached
 * global data kept inside it (never reported apart). Caller frees *json. */
stele_status stele_db_list(const stele_login *who, char **json, char *errbuf, size_t errcap);
/* Deletes a database the user owns (not the primary), with every file of it.
 * STELE_ELOCKED if a writer has it open. */
stele_status stele_db_drop(const stele_login *who, const char *name, char *errbuf,
                           size_t errcap);
stele_status stele_db_rename(const stele_login *who, const char *name, const char *new_name,
                             char *errbuf, size_t errcap);
/* ---- Signed settings (config/settings.json; docs/FORMAT.md "Signed settings") ----
 * Store-wide settings signed by an admin's Ed25519 settings key, with a version and a
 * counter. The store pins the trusted key (on first use, or provisioned with
 * stele_settings_trust) and the newest version and counter accepted, so a tampered
 * file, an older file or a file signed by another key is refused with
 * STELE_EUNTRUSTED (and stele_open fails with it too). Settings take effect where it
 * is safe: the Argon2id floor when a password is set (never below the built-in
 * floor), the durability default (STELE_DURABLE_STORE), the segment size and
 * checkpoint interval of new databases. A store without settings uses the defaults. */

/* The settings in effect as JSON {"file":PATH,"signed":B,"version":V,"counter":C,
 * "signed_at_ns":T,"public_key":HEX,"settings":{...},"pin":{...}|null}; writes nothing.
 * Caller frees *json. STELE_EUNTRUSTED / STELE_ECORRUPT with the reason in errbuf. */
stele_status stele_settings_show(const char *store_dir, char **json, char *errbuf,
                                 size_t errcap);
/* Like show, and records the file as accepted (pins its key on first use): from now
 * on an older file is refused. STELE_ENOTFOUND if there is no settings file. */
stele_status stele_settings_verify(const char *store_dir, char **json, char *errbuf,
                                   size_t errcap);
/* Signs `settings` (JSON object: {"kdf_floor":{"m_kib":N,"t":N},"segment_size":N,
 * "checkpoint_every":N,"durability":"fsync"|"group"|"none"}, every member optional) with
 * the user's settings key (made on first use, wrapped by the user's data key) as the
 * next settings file: version `version` (0 = the accepted version + 1), counter = the
 * accepted counter + 1. Writes config/settings.json and the pin. Caller frees *json
 * (as show). STELE_EPASSWORD, STELE_EINVAL (bad settings, nothing written),
 * STELE_EUNTRUSTED (the store trusts another key, or the version would go back). */
stele_status stele_settings_sign(const char *store_dir, const char *user,
                                 const char *password, size_t password_len,
                                 const char *settings, size_t len, uint64_t version,
                                 char **json, char *errbuf, size_t errcap);
/* Provisions the settings key `pubkey_hex` (64 hex digits) as the store's trusted root,
 * keeping the accepted version and counter. */
stele_status stele_settings_trust(const char *store_dir, const char *pubkey_hex,
                                  char *errbuf, size_t errcap);

/* ---- Opening a database ---------------------------------------------------- */

typedef struct stele stele; /* an open database, unlocked by one user */

typedef struct stele_open_options {
    const char *store_dir;     /* required */
    const char *user;          /* required */
    const char *password;      /* required */
    size_t password_len;
    const char *db;            /* database name; NULL or "primary" = the user's primary;
                                * "NAME" = one of the user's own; "OWNER/NAME" = one
                                * shared with the user (a reader's handle is read-only) */
    int read_only;             /* 1: no lock taken, no recovery writes, writes refused */
    stele_durability durability; /* STELE_DURABLE_STORE: the signed settings' default */
    uint32_t group_max_delay_us; /* GROUP: how long a leader may wait for joiners; 0 = none */
    int no_checkpoint_on_close;  /* 1: skip the shutdown checkpoint */
    int rebuild;                 /* 1: ignore the state snapshot and derive the document
                                  * state from the whole log (slower; for checks) */
    uint64_t cache_bytes;        /* memory budget for document bodies loaded lazily from
                                  * the state snapshot; 0 = the default: a quarter of
                                  * the machine's physical memory, at least
                                  * STELE_CACHE_DEFAULT; UINT64_MAX = no limit. Bodies
                                  * written since the snapshot always stay in memory. */
    int readers;                 /* 1: views (stele_view_open, below) may read from other
                                  * threads while this handle writes; every snapshot
                                  * partition is loaded at open (cache_bytes ignored) and
                                  * stele_snapshot is refused (one is taken at close) */
    int accept_rollback;         /* 1: open a database whose manifest is older than the
                                  * newest this user has seen (a directory restored from
                                  * an older backup, on purpose), and take it as the
                                  * newest from now on; without it such an open fails
                                  * with STELE_ECORRUPT */
} stele_open_options;

#define STELE_CACHE_DEFAULT ((uint64_t)256 << 20) /* the default budget's floor */

/* Opens a database. Always sets *out (unless out is NULL or memory is exhausted),
 * even on failure, so that stele_errmsg(*out) explains the failure; the caller
 * calls stele_close(*out) in both cases. Opening for writing takes the database's
 * writer lock (STELE_ELOCKED names the holder) and recovers a torn tail after a
 * crash, appending a recovery record. */
stele_status stele_open(const stele_open_options *opts, stele **out);

/* Closes the handle. For a writable handle that appended records since the last
 * checkpoint, first writes a checkpoint (unless no_checkpoint_on_close), syncs,
 * and marks the shutdown clean. Returns the status of that final work. NULL is fine. */
stele_status stele_close(stele *db);

/* Message of the last failed call on this handle; "" if none. Never NULL. */
const char *stele_errmsg(const stele *db);

/* Sharing, on a database opened for writing by its owner or an admin member
 * (STELE_EACCESS otherwise; STELE_EINVAL for the primary database, which is never
 * shared). role is "reader" (reads only), "writer" (reads and writes) or "admin"
 * (also shares and revokes). Share seals the database key to the member's X25519 key
 * and appends an access record to the ledger (who, role, when, signed with the
 * sharer's Ed25519 key); sharing again changes the role. */
stele_status stele_db_share(stele *db, const char *member, const char *role);
/* Revokes a member: the database key rotates to a new epoch, re-sealed for the
 * remaining members; a key-rotation record (signed) is appended in the new epoch. The
 * revoked user can read nothing written afterwards. With reencrypt, every older
 * segment is rewritten under the new epoch by a background thread started here (the
 * call returns at once; the handle keeps serving reads and writes, stele_stat shows
 * "reencryption": running, segments_left), and the snapshot is retaken under the new
 * epoch when it ends; stele_close waits for both and returns a failure of either (the
 * database stays consistent: see docs/DECISIONS.md 37). After that the old keys open
 * nothing any more. A second revoke first waits for a running re-encryption. Data the
 * member read before cannot be recalled. */
stele_status stele_db_revoke(stele *db, const char *member, int reencrypt);

/* ---- The ledger ------------------------------------------------------------ */

enum {
    STELE_REC_TXN = 1,        /* an application transaction (log append) */
    STELE_REC_CHECKPOINT = 2, /* signed Merkle root of all earlier records */
    STELE_REC_KEYROT = 3,     /* key rotation (stele_db_revoke) */
    STELE_REC_RECOVERY = 4,   /* explicit record of a crash recovery */
    STELE_REC_ERASURE = 5,    /* payload erasure (reserved) */
    STELE_REC_DOCS = 6,       /* a document transaction (stele_txn) */
    STELE_REC_ACCESS = 7,     /* a database shared with a member (stele_db_share) */
};

/* Appends one record whose payload is `len` bytes (opaque to the ledger; the CLI
 * passes JSON). If idem_id is not NULL and a record with the same idempotency id
 * was already committed, nothing is written, *lsn_out gets the original LSN and
 * *duplicate (if not NULL) is set to 1. Returns only once the durability policy
 * is met. Thread-safe on one handle. */
stele_status stele_append(stele *db, const void *payload, size_t len,
                          const char *idem_id, uint64_t *lsn_out, int *duplicate);

/* A record as read back. Pointers are borrowed (see top of file). */
typedef struct stele_record {
    uint64_t lsn;
    uint64_t timestamp_ns;     /* wall clock, strictly increasing along the log */
    int kind;                  /* STELE_REC_* */
    uint32_t generation;       /* recovery generation the record was written in */
    char author[33];           /* user id, hex */
    const uint8_t *idem_id;    /* the idempotency id given at append (borrowed) */
    size_t idem_len;           /* 0 if none */
    char hash[65];             /* record hash, hex */
    char prev_hash[65];        /* previous record's hash, hex */
    char payload_hash[65];     /* salted payload hash, hex */
    const uint8_t *payload;
    size_t payload_len;
} stele_record;

/* Reads record `lsn`, authenticating it. STELE_ENOTFOUND past the head. */
stele_status stele_get(stele *db, uint64_t lsn, stele_record *out);

/* LSN of the newest record (0 for an empty ledger). */
uint64_t stele_head(const stele *db);

/* Writes a checkpoint record now (Merkle root over all earlier records, signed
 * with the database's Ed25519 key). *lsn_out gets its LSN. */
stele_status stele_checkpoint(stele *db, uint64_t *lsn_out);

/* Verifies the whole database: every record authenticates, the hash chain links,
 * payload hashes match, every checkpoint's root and signature verify, the
 * superblock copies and the segment list agree. from_lsn > 1 starts at the newest
 * checkpoint at or before from_lsn, trusting it only after checking its signature.
 * On failure returns STELE_ECORRUPT and stele_errmsg names the first bad thing.
 * *report (if not NULL) gets a JSON summary, caller frees. */
stele_status stele_verify(stele *db, uint64_t from_lsn, char **report);

/* JSON proof bundle that record `lsn` is included in the newest checkpoint that
 * covers it (or checkpoint `checkpoint_lsn` if non-zero), with the checkpoint's
 * signature, the database public key and (if with_payload) the payload and its
 * salt so that the content can be checked too. Caller frees *json. */
stele_status stele_prove(stele *db, uint64_t lsn, uint64_t checkpoint_lsn,
                         int with_payload, char **json);

/* JSON consistency proof between two checkpoints (old before new). */
stele_status stele_prove_consistency(stele *db, uint64_t old_checkpoint_lsn,
                                     uint64_t new_checkpoint_lsn, char **json);

/* Verifies a proof bundle (inclusion or consistency) offline: no store, no
 * password. If trusted_pubkey_hex is not NULL, the bundle's key must equal it.
 * On failure returns STELE_EPROOF (or STELE_EINVAL for a malformed bundle) and
 * writes the reason to errbuf. On success writes a one-line summary to errbuf. */
stele_status stele_proof_verify(const char *json, size_t len, const char *trusted_pubkey_hex,
                                char *errbuf, size_t errcap);

/* JSON statistics: sizes, counts, head, checkpoints, key profile (and whether it
 * is insecure), durability policy. Caller frees *json. */
stele_status stele_stat(stele *db, char **json);

/* ---- Documents (collections of JSON documents, derived from the ledger) ---------- */

/* Runs a document transaction, all or nothing: JSON {"ops":[...]} (see
 * docs/DOCUMENTS.md for the ops: insert, replace, patch, delete, restore,
 * create_collection, drop_collection, rename_collection; a "rev" on a write is the
 * revision it expects). Every op is checked against the current state first; if one
 * fails nothing is written and the status says why (STELE_EINVAL, STELE_ENOTFOUND,
 * STELE_EEXIST, STELE_ECONFLICT). Otherwise the transaction becomes one ledger
 * record (kind STELE_REC_DOCS), durable per the policy, and is applied. *result (if
 * not NULL) gets {"lsn":N,"ids":[...inserted _ids...]} (caller frees); with an
 * idempotency id already committed: {"lsn":N,"duplicate":true} and nothing changes.
 * Not thread-safe with other document calls on the same handle. */
stele_status stele_txn(stele *db, const char *json, size_t len, const char *idem_id,
                       char **result);

/* The document `id` of collection `coll` as JSON with its system fields _id, _rev,
 * _lsn and _ts, as of LSN `as_of` (0 = now). STELE_ENOTFOUND if it does not exist
 * then or is deleted. Caller frees *json. */
stele_status stele_doc_get(stele *db, const char *coll, const char *id, uint64_t as_of,
                           char **json);

/* Every revision of a document, oldest first, as NDJSON: the body with _rev, _lsn, _ts,
 * _author and _deleted. Caller frees *ndjson. */
stele_status stele_doc_history(stele *db, const char *coll, const char *id, char **ndjson);

/* The collections as of LSN `as_of` (0 = now): a JSON array of
 * {"name":N,"documents":live count}. Caller frees *json. */
stele_status stele_collections(stele *db, uint64_t as_of, char **json);

/* ---- Queries and indices (docs/DOCUMENTS.md, "Query semantics") ----------------
 * A filter is Mongo-style JSON: {"path": v} (equality), {"path": {"$op": arg, ...}}
 * with $eq $ne $gt $gte $lt $lte $in $nin $exists $contains $startsWith and $not (on a
 * field), several members (AND), {"$and"|"$or"|"$nor": [filters]}, {"$not": filter}.
 * Paths are dotted ("address.city", "tags.0"). An array at path matches if an element
 * does. Ranges compare within one type (numbers exactly, strings by UTF-8 bytes, ISO
 * 8601 dates as instants). A malformed filter or an unknown operator is STELE_EINVAL
 * with a message naming the operator and the path. Queries "now" use Roaring indices
 * (every filtered path gets one on first use); as-of queries scan the versions of the
 * collection's documents as of that LSN. */

typedef struct stele_find_opts {
    const char *sort;   /* "age,-name": keys in order, '-' descending; missing values sort
                         * as null, first when ascending; NULL = doc-number order */
    const char *fields; /* "name,address.city": keep these paths (nested as objects) plus
                         * _id, _rev, _lsn, _ts; NULL = whole documents */
    uint64_t limit;     /* at most this many documents; 0 = all */
    uint64_t offset;    /* skip this many first (after sorting) */
    uint64_t as_of;     /* the collection and its documents as of this LSN; 0 = now */
} stele_find_opts;

/* Documents of `coll` matching `filter` (JSON text of `len` bytes), as NDJSON with
 * system fields, ordered/paged/projected per opts (NULL = all, doc-number order).
 * STELE_ENOTFOUND if the collection does not exist (then). Caller frees *ndjson. */
stele_status stele_find(stele *db, const char *coll, const char *filter, size_t len,
                        const stele_find_opts *opts, char **ndjson);
/* How many documents match, now (as_of 0) or as of an LSN. */
stele_status stele_count(stele *db, const char *coll, const char *filter, size_t len,
                         uint64_t as_of, uint64_t *count);
/* How a filter is answered, as JSON: each step with the index used (membership,
 * equality, ordered, present, or scan), its path, the distinct keys it visited and the
 * cardinality of its set; for as-of, how many versions were scanned. Caller frees. */
stele_status stele_explain(stele *db, const char *coll, const char *filter, size_t len,
                           uint64_t as_of, char **json);

/* Defines an index on (coll, path), recorded in the ledger (an op "create_index"), so it
 * survives reopening; built now and maintained on every write. STELE_EEXIST if it is
 * already defined. (Queries also create memory-only "lazy" indices by themselves.) */
stele_status stele_index_create(stele *db, const char *coll, const char *path);
/* Drops an index defined with stele_index_create (ledger op "drop_index").
 * STELE_ENOTFOUND if there is no such defined index. */
stele_status stele_index_drop(stele *db, const char *coll, const char *path);
/* Defines a full-text index on (coll, path) (op "create_index" with "kind":"text"),
 * stemming with the Snowball algorithm `language` (NULL = "english"; libstemmer's
 * names: "danish", "dutch", "english", "finnish", "french", "german", "porter",
 * "russian", "spanish", ...). Built now, maintained on every write, recorded in the
 * ledger: after reopening it is rebuilt by the first $text on its path (its definition
 * is in the snapshot, its postings are not). $text on the path then stems documents
 * and queries in that language; as-of queries use the language defined as of their
 * LSN (english before any). A path may have a value index and a text index.
 * Errors (nothing written): STELE_EINVAL for an unknown language (the message lists
 * the known ones) or a bad path; STELE_ENOTFOUND for no collection; STELE_EEXIST if
 * the path already has an explicit text index (drop it to change the language). */
stele_status stele_index_create_text(stele *db, const char *coll, const char *path,
                                     const char *language);
/* Drops the text index defined with stele_index_create_text (op "drop_index" with
 * "kind":"text"); a later $text on the path builds a lazy english one. STELE_ENOTFOUND
 * if there is no such definition. */
stele_status stele_index_drop_text(stele *db, const char *coll, const char *path);
/* The indices of coll (NULL = all collections) as a JSON array: value indices as
 * {"collection", "path", "kind": "explicit"|"lazy", "keys": distinct keys,
 * "documents": documents with the path, "bytes"}; text indices as {"collection",
 * "path", "kind": "text", "explicit": true|false, "language", "built": false for an
 * explicit one not rebuilt since the open (then the counts are 0), "terms",
 * "documents": documents with text there, "postings", "bytes"}. Caller frees *json. */
stele_status stele_index_list(stele *db, const char *coll, char **json);

/* The newest LSN whose record was written at or before `timestamp_ns` (ns since the
 * epoch), 0 if none: timestamps increase strictly along the log, so "as of a time" is
 * "as of this LSN". O(log n) record reads. */
stele_status stele_lsn_at(stele *db, uint64_t timestamp_ns, uint64_t *lsn);

/* Writes a snapshot of the document state now (encrypted fragment files, recorded in
 * the superblock), so that the next open loads it and replays only the records after
 * it. Writers also take one at close when enough was applied since the last one
 * (docs/DOCUMENTS.md "Snapshots"). A no-op on an empty log. Writable handles only. */
stele_status stele_snapshot(stele *db);

/* SHA-256 (hex, 65 bytes with the NUL) of the whole document state: equal for a live
 * handle and for one that rebuilt the state from the log. */
stele_status stele_docs_digest(stele *db, char out[65]);

/* ---- Graph (docs/GRAPH.md) -------------------------------------------------------
 * Nodes are documents. An edge is a document with string fields "_from" and "_to",
 * each a reference "collection/key" to a node of this database (or to another
 * database's node: "References across databases" below), and an optional
 * "_label" (default: the name of the edge's collection); other fields are its
 * properties. Edges are written with stele_txn like every document; an edge whose
 * _from or _to names a document that does not exist is refused (STELE_ENOTFOUND)
 * unless its op says "dangling":true, and deleting a node that still has live edges
 * is refused (STELE_ECONFLICT) unless the delete op says "cascade":true (then its
 * edges are deleted in the same transaction). Adjacency is kept in memory per label
 * and direction and maintained on every write. A node is named by a stele_node: its
 * doc number, stable for the life of the database. */
typedef uint32_t stele_node;

typedef enum stele_dir {
    STELE_DIR_OUT = 1,  /* follow edges from _from to _to */
    STELE_DIR_IN = 2,   /* follow edges backwards (callers of a function) */
    STELE_DIR_BOTH = 3,
} stele_dir;

/* The node named by `ref` ("collection/key"; or a reference to another database's
 * node that an edge here names: its stand-in, see below). STELE_ENOTFOUND if there is
 * no such live document (or no edge here names that reference) now. */
stele_status stele_node_lookup(stele *db, const char *ref, stele_node *node);
/* Writes the reference of node into buf[0, cap) (NUL-terminated): "collection/key", or
 * for a stand-in the whole reference ("db:collection/key"). STELE_ETOOBIG if it does
 * not fit, STELE_ENOTFOUND if node is no document. */
stele_status stele_node_ref(stele *db, stele_node node, char *buf, size_t cap);

/* ---- Views: readers on other threads (docs/DOCUMENTS.md "Views") -----------------
 * A view is a consistent snapshot of the documents and the graph as of the LSN of the
 * last transaction the handle had committed when the view was opened. Views need a
 * handle opened with stele_open_options.readers. Thread rules: stele_view_open and
 * every stele_view_* call may run on any thread, concurrently with one thread using the
 * handle (stele_txn, stele_import, reads) and with other views; one view is used by
 * one thread at a time. The writer never waits for a view: a view holding its snapshot
 * for a long time does not stop commits, and holds no memory between its calls. Views
 * read no index: filters scan the versions as of the view's LSN, and graph reads build
 * the edges as of it (O(documents) per call; docs/BENCHMARKS.md). Close every view
 * before stele_close. At most STELE_VIEWS_MAX views are open on a handle at once. */
#define STELE_VIEWS_MAX 64
typedef struct stele_view stele_view;

/* Opens a view as of the last committed transaction. STELE_EINVAL if db was not opened
 * with `readers`, STELE_ETOOBIG with STELE_VIEWS_MAX views open, STELE_ENOMEM. *out is
 * set on success only; the message of a failure is the handle's only if called on the
 * handle's thread, so it is also returned by the view calls' own errmsg. */
stele_status stele_view_open(stele *db, stele_view **out);
/* Closes a view (NULL is fine). */
void stele_view_close(stele_view *v);
/* The LSN the view reads as of. */
uint64_t stele_view_lsn(const stele_view *v);
/* The message of the view's last failed call (valid until its next call). */
const char *stele_view_errmsg(const stele_view *v);
/* As stele_doc_get / stele_doc_history, as of the view's LSN (history: the versions up
 * to it). Caller frees *json / *ndjson. */
stele_status stele_view_doc_get(stele_view *v, const char *coll, const char *id, char **json);
stele_status stele_view_doc_history(stele_view *v, const char *coll, const char *id,
                                    char **ndjson);
/* As stele_find / stele_count, as of the view's LSN (opts->as_of, if set, must not be
 * past it: an earlier LSN is read as of itself). */
stele_status stele_view_find(stele_view *v, const char *coll, const char *filter, size_t len,
                             const stele_find_opts *opts, char **ndjson);
stele_status stele_view_count(stele_view *v, const char *coll, const char *filter, size_t len,
                              uint64_t *count);
/* As stele_node_lookup: the live node "collection/key" (or stand-in) at the view's LSN. */
stele_status stele_view_node_lookup(stele_view *v, const char *ref, stele_node *node);
/* As stele_graph_neighbors and stele_graph_traverse, over the edges live at the view's
 * LSN. */
stele_status stele_view_neighbors(stele_view *v, stele_node node, stele_dir dir,
                                  const char *labels, stele_node *out, size_t cap, size_t *n);
stele_status stele_view_traverse(stele_view *v, const stele_node *start, size_t nstart,
                                 stele_dir dir, const char *labels, uint32_t depth,
                                 stele_node **nodes, uint32_t **dist, size_t *n);

/* ---- References across databases (docs/GRAPH.md "Across databases") -------------
 * An edge's "_from"/"_to" may name a node of another database:
 *   "NAME:collection/key"          database NAME of the owner of this database
 *   "@OWNER/NAME:collection/key"   a database as its members name it (OWNER/NAME)
 *   "global:collection/key"        global data (cached in the reader's primary database)
 * Writing such an edge checks that the writer can open that database (else
 * STELE_EACCESS, "no access to database ...") and that the node exists there (else
 * STELE_ENOTFOUND) unless the op says "dangling":true. The edge links to a stand-in
 * node of this database (traversals reach it; stele_node_ref gives the reference);
 * its document is read from the other database only when asked for. */

/* The document a reference names, as JSON with its system fields (as stele_doc_get):
 * the other database is opened read-only with this handle's user and keys (no
 * password, no writer lock) at the time of the call; as_of is 0 (now) or an LSN of
 * *that* database. A "collection/key" reference reads this database. STELE_EACCESS
 * ("no access to database ...") if the user is not, or no longer, its owner or a
 * member; STELE_ENOTFOUND if the document is not live there; STELE_EINVAL for a
 * malformed reference. Caller frees *json. */
stele_status stele_ref_get(stele *db, const char *ref, uint64_t as_of, char **json);
/* "As of a time" for stele_ref_get: *lsn gets the newest LSN of the database `ref`
 * points into (opened as stele_ref_get opens it; for "global:" the reader's primary)
 * whose record was written at or before `timestamp_ns` (ns since the epoch), 0 if none
 * was — stele_lsn_at on *that* database's ledger, not this handle's. Errors as
 * stele_ref_get (STELE_EACCESS, STELE_EINVAL); the document is not looked up. */
stele_status stele_ref_lsn_at(stele *db, const char *ref, uint64_t timestamp_ns,
                              uint64_t *lsn);

/* Distinct neighbours of `node` now, through live edges whose label is in `labels`
 * (NULL = any label; otherwise one label or several separated by commas), ascending,
 * into out[0, cap); *n gets how many there are (may exceed cap). The fast path: no
 * allocation after the first call on a handle. */
stele_status stele_graph_neighbors(stele *db, stele_node node, stele_dir dir,
                                   const char *labels, stele_node *out, size_t cap,
                                   size_t *n);
/* Every node within `depth` hops (1..depth) of the start nodes, frontier at a time,
 * now (as_of 0) or as of an LSN, with its distance in hops: *nodes and *dist (both
 * caller-freed with stele_free; dist may be NULL if not wanted) hold *n entries sorted
 * by node. Start nodes are included (distance 0). */
stele_status stele_graph_traverse(stele *db, const stele_node *start, size_t nstart,
                                  stele_dir dir, const char *labels, uint32_t depth,
                                  uint64_t as_of, stele_node **nodes, uint32_t **dist,
                                  size_t *n);
/* Strongly connected components of the graph of the given labels (nodes with at least
 * one such edge): *ncomp components, the largest of *largest nodes. */
stele_status stele_graph_scc(stele *db, const char *labels, uint64_t as_of,
                             uint32_t *ncomp, uint32_t *largest);
/* Any graph query as a JSON spec (docs/GRAPH.md, "Queries"): {"op":"neighbors" |
 * "traverse" | "reachable" | "path" | "paths" | "scc" | "cycles" | "topo" | "degrees" |
 * "query", ...}. The answer is JSON (caller frees *json); nodes are given as
 * "collection/key" references, and documents are materialized only where the spec
 * asks for them. */
stele_status stele_graph_query(stele *db, const char *spec, size_t len, char **json);

/* ---- Global data (docs/GRAPH.md "Global data") -----------------------------------
 * Records of the global database cached in the user's primary database (replication
 * will bring them; for now they are imported from a file). Each is a document of an
 * ordinary collection with "_origin":"global" — a field, so the mark is as encrypted as
 * the rest of the document and nothing on disk tells global from own records — written
 * by ops with "global":true. Reads show the field, filters can use it
 * ({"_origin":"global"}, {"_origin":{"$exists":false}}). Rules, on every write: global
 * documents change only through global ops and own documents never through them
 * (STELE_EACCESS); a global edge's "_from"/"_to" are global documents ("collection/key"
 * or "global:collection/key"), never the user's own or another database (STELE_EINVAL:
 * "global data references only global data"); own data may reference global data. */

/* Imports NDJSON lines {"coll":"C","doc":{"_id":...,...}} (edges are docs with "_from"
 * and "_to") into the primary database as global data, whole or nothing: every line is
 * checked first (JSON, shape, names, an "_id" on every document, a (coll, _id) twice,
 * an "_origin" other than "global"; system fields _rev, _lsn, _ts are dropped); if any
 * is bad nothing is written, the status is STELE_EINVAL and *report (if not NULL) gets
 * {"error_count":N,"errors":[{"line","message"}...]}. Otherwise missing collections are
 * created, then the nodes and then the edges inserted as one transaction (several
 * records if large), refused as a whole if any op is (an existing _id: STELE_EEXIST;
 * the rules above), and *report gets {"lsn","documents","edges","records",
 * "created_collections":[...],"inserted","replaced","unchanged","deleted",
 * "own_edges_deleted"} ("lsn" 0: nothing was written). STELE_EINVAL if db is not the
 * user's primary database. len at most 1 GiB. Caller frees *report. */
stele_status stele_global_import(stele *db, const char *data, size_t len, char **report);

/* stele_global_refresh flag: delete the user's own edges that link to global documents
 * the refresh deletes (and the own edges linked to those), instead of refusing. */
#define STELE_GLOBAL_CASCADE 1u

/* Refreshes the cached global data from a file of the *whole* global data set (the
 * format and line checks of stele_global_import; besides, an edge must name documents
 * of the file), in one transaction, whole or nothing: a document of the file that is
 * not live is inserted, a live one replaced if its content differs and left alone if
 * not (no new version), and every live global document the file does not hold is
 * deleted with the global edges linked to it (nodes, edges: soft deletes, kept in
 * history). The user's own documents are not touched: if own edges link to a document
 * the refresh deletes, it is refused (STELE_ECONFLICT, naming some of them) unless
 * flags has STELE_GLOBAL_CASCADE, which deletes those edges too (counted in
 * "own_edges_deleted"). A file document whose key is the user's own is STELE_EACCESS.
 * *report as stele_global_import's, with the counts of what was done; collections stay
 * even when emptied. Caller frees *report. */
stele_status stele_global_refresh(stele *db, const char *data, size_t len, unsigned flags,
                                  char **report);

/* ---- Import and export ------------------------------------------------------ */

typedef enum stele_io_format {
    STELE_IO_NDJSON = 0, /* one JSON object per line; blank lines skipped */
    STELE_IO_CSV = 1,    /* RFC 4180 with a header row (typing rules: docs/DOCUMENTS.md) */
} stele_io_format;

/* Progress of a long call: `phase` is a static word ("reading", "checking", "writing",
 * "applying", "exporting"); done/total are bytes while reading, records while writing,
 * documents while exporting (total 0 = unknown). Called from the calling thread, at
 * most every 64 KiB or 1024 documents and once at the end of each phase. */
typedef void (*stele_progress_fn)(void *ctx, const char *phase, uint64_t done,
                                  uint64_t total);

typedef struct stele_import_options {
    stele_io_format format;
    const char *idem_id;        /* NULL or an idempotency id for the whole import */
    uint32_t errors_max;        /* bad lines listed in the report; 0 = 100 */
    uint32_t part_bytes;        /* target payload of one ledger record; 0 = 1 MiB */
    stele_progress_fn progress; /* NULL = none */
    void *progress_ctx;
} stele_import_options;

/* Imports the documents in data[0, len) into collection `coll` (created if it does not
 * exist, in the same transaction), all or nothing. Every line (NDJSON) or row (CSV) is
 * read and checked first: JSON syntax (with line and column), not an object, a bad
 * "_id", an "_id" twice in the input or already live in the collection, CSV rows with
 * the wrong number of cells. If any is bad, nothing is written, the status is
 * STELE_EINVAL, stele_errmsg says how many lines are bad, and *report (if not NULL)
 * gets {"error_count":N,"errors":[{"line":L,"column":C,"message":M},...]} with the
 * first errors_max bad lines in order (column 0 where it does not apply). Otherwise
 * the documents are inserted as one transaction, even when it is larger than one
 * ledger record (a multi-part transaction: docs/FORMAT.md), and *report gets
 * {"lsn":N,"documents":D,"records":R,"created_collection":B}; with an idempotency id
 * already committed: {"lsn":N,"duplicate":true} and nothing changes. Missing "_id"s
 * are generated; "_rev", "_lsn" and "_ts" are dropped. len is at most 1 GiB (the whole
 * import is held in memory before anything is written). Caller frees *report. Not
 * thread-safe with other document calls on the same handle. */
stele_status stele_import(stele *db, const char *coll, const char *data, size_t len,
                          const stele_import_options *opts, char **report);

/* Receives exported text in chunks (about 64 KiB, each ending at a line end). Returns 0
 * to go on; anything else stops the export with STELE_EIO. */
typedef int (*stele_write_fn)(void *ctx, const char *data, size_t len);

typedef struct stele_export_options {
    stele_io_format format;
    uint64_t as_of;             /* LSN; 0 = now */
    stele_progress_fn progress; /* NULL = none */
    void *progress_ctx;
} stele_export_options;

/* Streams the live documents of `coll` (as of opts->as_of) in doc-number order through
 * `write`: NDJSON of each body with its "_id" and without _rev/_lsn/_ts (so exporting
 * and importing into an empty collection gives equal documents), or CSV with a header
 * row of the union of top-level fields ("_id" first, then in byte order), nested values
 * as JSON text, RFC 4180 quoting. STELE_ENOTFOUND if there is no such collection then.
 * opts may be NULL (NDJSON, now). */
stele_status stele_export(stele *db, const char *coll, const stele_export_options *opts,
                          stele_write_fn write, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* STELE_H */
