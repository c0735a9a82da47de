/*
 * api_int.h — the handle behind include/stele.h, shared by the files of the api layer
 * (stele.c and the files that add API functions beside it). Not installed; nothing
 * below the api layer includes it.
 */
#ifndef STELE_API_INT_H
#define STELE_API_INT_H

#include "stele.h"
#include "index/index.h"
#include "ledger/ledger.h"
#include "model/state.h"
#include "model/txn.h"
#include "util/util.h"
#include "vault/vault.h"

struct stele {
    util_err err;
    char store[VAULT_PATH_MAX];
    char db_name[VAULT_NAME_MAX * 2 + 2]; /* "NAME" or "OWNER/NAME" */
    vault_user user;
    uint8_t *dek;
    vault_dbkeys keys;
    int keys_open;
    int no_checkpoint_on_close;
    mstate *docs;       /* document state derived from the ledger (STELE_REC_DOCS) */
    dindex *idx;        /* bitmap indices over it */
    ledger *L;
    buf scratch;
    /* A writer's memory from one document transaction to the next (stele_txn): large
     * transactions would otherwise allocate and fault in fresh pages every time. */
    txn_scratch txs;
    buf tx_payload, tx_sdoc, tx_ids;
    int rebuild;          /* open option: ignore the snapshot */
    uint64_t cache_bytes; /* open option: budget of resident snapshot partitions */
    int read_only;
    uint64_t snap_lsn;    /* the snapshot the state was loaded from (0 = none) */
    uint64_t tail_bytes;  /* document-record bytes applied since that snapshot */
    char snap_problem[UTIL_ERR_MAX]; /* why the recorded snapshot was not used */
    int snap_old; /* the recorded snapshot is of an older format: derived from the log, and
                   * a writable close writes a new one */
    struct graph_scratch *gscratch;  /* graph queries' working memory (api/graph.c) */
    int primary;          /* the user's primary database (mstate_set_primary) */
    struct xref_open *xrefs; /* other databases opened during one call (xref.c) */
    size_t nxrefs;
    int readers;          /* open option: views may read from other threads (view.c) */
    const mstate *vstate; /* what views read: db->docs, set once at open (verify swaps
                           * db->docs for a while; views never see that) */
    uint32_t nviews;      /* open views (atomic: views open and close on any thread) */
    int reenc_pending;    /* a background re-encryption was started (stele_db_revoke):
                           * its end and the snapshot under the new epoch are due */
};

/* stele.c: libsodium set up (STELE_OK or STELE_EIO); a message into a caller's buffer. */
stele_status api_init_check(void);
void api_copy_err(const util_err *e, char *errbuf, size_t cap);
/* users.c: the id of database `name` as user u names it (NULL or "primary", "NAME" of
 * their own, "OWNER/NAME" shared with them); its display name into name_out. */
stele_status api_db_resolve(const char *store, const vault_user *u, const uint8_t *dek,
                            const char *name, uint8_t id[VAULT_ID_BYTES],
                            char name_out[VAULT_NAME_MAX * 2 + 2], util_err *e);

/* stele.c: opens database `name` (as from's user names it) read-only with from's user
 * and a copy of its unlocked key: no password, no writer lock. *out is set even on
 * failure (stele_errmsg explains; stele_close frees). */
stele_status api_open_as(const stele *from, const char *name, stele **out);
/* xref.c: the writer's checks of a prepared transaction's references to other
 * databases (txn_xrefs): the user can open each database (else STELE_EACCESS, "no
 * access to database ..."), and the node exists there unless the op is "dangling"
 * (else STELE_ENOTFOUND). */
stele_status api_xref_check(stele *db, const uint8_t *sdoc, size_t len);
/* xref.c: appends the document a stand-in node (MREF_XREF_COLL) names, read from its
 * database now, as JSON; errors as stele_ref_get. */
stele_status api_xref_json(stele *db, uint32_t node, buf *out);
/* xref.c: closes the databases opened for references during the last call. */
void api_xref_release(stele *db);

#endif
