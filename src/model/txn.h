/*
 * txn.h — document transactions: a list of ops checked and applied, all or nothing,
 * to the versioned state (state.h). Layer: model.
 *
 * Text form (the ledger payload of a STELE_REC_DOCS record, canonical JSON):
 *   {"ops":[{"op":"create_collection","coll":C}, {"op":"drop_collection","coll":C},
 *           {"op":"rename_collection","coll":C,"to":NEW},
 *           {"op":"insert","coll":C,"doc":{...}},          (the doc's "_id" is set)
 *           {"op":"replace","coll":C,"id":ID,"doc":{...}[,"rev":N]},
 *           {"op":"patch","coll":C,"id":ID,"doc":{...}[,"rev":N]},   (RFC 7386 merge)
 *           {"op":"delete","coll":C,"id":ID[,"rev":N]}, {"op":"restore","coll":C,"id":ID},
 *           {"op":"create_index","coll":C,"path":P[,"kind":K][,"language":L]},
 *           {"op":"drop_index","coll":C,"path":P[,"kind":K]}]}
 *   (K: "value", the default, or "text"; L: a text index's Snowball language, one of
 *   txn_lang_names, default "english"; a path may have one index of each kind)
 * txn_prepare turns a caller's text into that canonical form: it generates missing
 * "_id"s (so that replaying the log gives the same ids), drops the derived system
 * fields (_rev, _lsn, _ts) from documents (a "_rev" in a replace/patch/delete body
 * becomes the expected revision), and checks shapes. txn_apply checks each op against
 * the state as left by the ops before it and applies it; on error the state may hold
 * a prefix of the transaction, which the caller removes with mstate_truncate.
 *
 * Global data (issue 5): an op with "global":true writes global data — records of the
 * global database cached in a user's primary database. Its document carries
 * "_origin":"global" (inside the encrypted payload like every field: nothing outside
 * the encryption tells global records from the user's own). Apply enforces: global
 * ops only in a primary (mstate_primary); a document's origin never changes (an own op
 * on a global document, or the reverse, is STELE_EACCESS); "_origin":"global" only in
 * global ops; a global edge's endpoints are global documents ("collection/key" or
 * "global:collection/key"; never another database); an own document may not take a key
 * that a global edge references; a global delete's cascade never reaches an own edge
 * (STELE_EACCESS). Own data may reference global data.
 */
#ifndef STELE_MODEL_TXN_H
#define STELE_MODEL_TXN_H

#include <stdint.h>

#include "model/doc.h"
#include "model/edges.h"
#include "model/state.h"
#include "util/util.h"

#define TXN_OPS_MAX 10000 /* ops in one transaction: bounds the work done under the writer */

/* Full-text languages: libstemmer's Snowball algorithms (sb_stemmer_list). 1 if name
 * is one of them; txn_lang_names writes them comma-separated into out[0, cap) (cut to
 * fit). Pure. */
int txn_lang_known(const char *name);
void txn_lang_names(char *out, size_t cap);

/* Memory a writer keeps from one transaction to the next (the parser's arrays, the
 * parsed input, member lists), so that large transactions do not allocate and fault in
 * fresh pages each time. Zero-initialize; txn_scratch_release frees. */
typedef struct txn_scratch {
    json_scratch js;
    buf in;
    doc_member *op, *body;
    size_t capop, capbody;
} txn_scratch;
void txn_scratch_release(txn_scratch *sc);

/* Canonical payload text into *payload and its SDOC into *sdoc; the generated or given
 * "_id" of each insert, in order, as a JSON array into *ids. sc: NULL, or the caller's
 * scratch (one caller at a time). */
stele_status txn_prepare(const char *json, size_t len, txn_scratch *sc, buf *payload, buf *sdoc,
                         buf *ids, util_err *e);
/* The references to other databases ("db:coll/key", "@OWNER/NAME:coll/key",
 * "global:coll/key") that the edge bodies of a prepared transaction's insert, replace
 * and patch ops set, each passed to fn with its op's "dangling" flag and index: the
 * writer checks them (access, existence) before applying, since apply — which also
 * replays the log — cannot. The first status other than STELE_OK stops the walk. */
typedef stele_status (*txn_xref_fn)(void *ctx, const mref *r, int dangling, size_t op,
                                    util_err *e);
stele_status txn_xrefs(const uint8_t *sdoc, size_t len, txn_xref_fn fn, void *ctx,
                       util_err *e);
/* 1 if version v (may be NULL: 0) is global data: its body has "_origin":"global". */
int txn_version_global(const mversion *v);
/* Applies a prepared transaction as of record lsn/ts/author. sdoc is canonical SDOC
 * made by this process — txn_prepare's, or json_parse of a record's payload — so its
 * bytes are not validated again (the shapes of the ops are: it replays the log). */
stele_status txn_apply(mstate *s, const uint8_t *sdoc, size_t len, uint64_t lsn, uint64_t ts,
                       const uint8_t author[16], util_err *e);

#endif
