/*
 * docs_int.h — what stele.c lends to the other files of the api layer for document
 * transactions (io.c builds imports on it). Not installed; nothing below the api
 * layer includes it.
 *
 * A transaction is one or more parts, each a prepared transaction (the canonical
 * payload text of a STELE_REC_DOCS record and its SDOC). One part is an ordinary
 * record; several are a multi-part transaction (docs/FORMAT.md): each payload carries
 * "part":{"txn":ID,"seq":K,"final":B}, and nothing applies before the final part is
 * durable.
 */
#ifndef STELE_API_DOCS_INT_H
#define STELE_API_DOCS_INT_H

#include "api/api_int.h"
#include "query/filter.h"
#include "query/result.h"

#define PART_TXN_MAX 64 /* bytes of a multi-part transaction id */

typedef struct api_part {
    const uint8_t *sdoc; /* borrowed */
    size_t len;
} api_part;

/* STELE_OK (and a cleared error) if db is open; the stele_* entry check. */
stele_status api_need_open(stele *db);
/* rc, or STELE_ECORRUPT (message set) if version bytes of the snapshot could not be
 * loaded since the call began (the state then read them as missing: nothing read in
 * this call may be served). */
stele_status api_lazy_check(stele *db, stele_status rc);
/* Hands b's text to *out on success; releases b either way. */
stele_status api_detach(stele *db, buf *b, stele_status rc, char **out);
/* Applies the parts in order tentatively, as one transaction not yet written: the
 * status says whether it applies now. On success the changes stay (marked) in the
 * state, and api_docs_commit must follow, with no other document call in between;
 * on failure nothing stays. */
stele_status api_docs_stage(stele *db, const api_part *parts, size_t n);
/* Appends payloads[0..n) — the parts staged by api_docs_stage — as STELE_REC_DOCS
 * records in order (idem_id, if not NULL, on the last), then keeps the staged changes
 * at the last record's LSN and time; *lsn gets that LSN. If an append fails, or the
 * idempotency id was committed meanwhile (STELE_EEXIST), the staged changes are
 * rolled back. */
stele_status api_docs_commit(stele *db, const buf *payloads, size_t n, const char *idem_id,
                             uint64_t *lsn);

/* io.c: closes the open payload texts ("{\"ops\":[..." without the end; the multi-part
 * fields are added when there are several), then stages and commits them as one
 * transaction (api_docs_stage, api_docs_commit), reporting progress through fn. */
stele_status api_parts_commit(stele *db, buf *texts, size_t nparts, const char *idem_id,
                              stele_progress_fn fn, void *ctx, uint64_t *lsn);

/* io.c: the end of an import: hands the report in out to *report (if asked) when the
 * import succeeded or found bad lines (STELE_EINVAL with a report), else releases it;
 * returns rc (or the failure to hand it over). */
stele_status api_import_report(stele *db, stele_status rc, buf *out, char **report);

typedef struct roaring_bitmap_s roaring_bitmap_t;
/* The live documents of coll matching filter text (now, or as of an LSN): a new bitmap. */
stele_status api_filter_set(stele *db, const char *coll, const char *filter, size_t len,
                            uint64_t as_of, roaring_bitmap_t **set);
/* Appends document n as of at with its system fields as JSON ("null" if it is not live
 * then): 0, or -1 on OOM. */
int api_doc_json(stele *db, uint32_t n, uint64_t at, buf *out);

/* stele.c: appends a version's body with its system fields (and with history, _author
 * and _deleted) as JSON, projected to f if it has fields: 0, or -1 on OOM. */
int api_version_json(const mstate *s, const mversion *v, int history, const fields_spec *f,
                     buf *out);
/* stele.c: the order of a find's matches `set` (by sort_spec, or by BM25 for a lone
 * $text leaf), paged per o: *nums (malloc'd) gets *n doc numbers. x may be NULL when
 * o->as_of is set (a view: no index is touched). */
stele_status api_find_order(const mstate *s, dindex *x, util_err *e, const char *coll,
                            const qfilter *f, const roaring_bitmap_t *set, const sort_spec *sp,
                            const stele_find_opts *o, uint32_t **nums, size_t *n);
/* stele.c: appends documents nums (as of at, all live then) as NDJSON, projected. */
stele_status api_write_docs(const mstate *s, util_err *e, const uint32_t *nums, size_t n,
                            uint64_t at, const fields_spec *fs, buf *b);

#endif
