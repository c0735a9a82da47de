/*
 * state_snap.c — the state as a snapshot: a directory and partitions of version bytes
 * (docs/FORMAT.md "State snapshot"). Layer: model. Where the partitions go and how
 * they are sealed is the caller's (src/store); their references are opaque here.
 *
 * Directory (little-endian):
 *   "STELEST4" | u64 LSN | u32 ncoll | u32 ndoc | u64 nversions | u32 npart
 *   ncoll x { u32 nev | nev x { u64 lsn | u8 dropped | u8 name_len | name } }
 *   u32 nix | nix x { u64 lsn | u32 coll | u8 flags | u16 path_len | path
 *                     [| u8 lang_len | lang] }   flags: 1 dropped, 2 text (lang follows)
 *   npart x { u32 ndoc | u64 bytes | u16 ref_len | ref }   doc numbers in order
 *   u64 nrec | nrec x { u64 lsn | u64 ts_ns | author(16) }  records, LSNs increasing
 *   ndoc x { u32 coll | u16 id_len | id | 0 | u32 nv
 *            | nv x { u64 lsn | u32 rev | u8 deleted | u32 len } }  lsn: one of the records
 *   u32 nlabel | nlabel x { u8 len | name }               label ids in order
 *   u32 nlink | nlink x { u32 edge | u32 from | u32 to | u32 label }   edges increasing
 *   u64 extra_len | extra                                  the layers above
 * Partition: the version bytes (SDOC) of its documents, doc numbers and versions in
 * order, nothing between them; stored dictionary-encoded when that makes it at most
 * 7/8 of its size, else raw (model/sdict.h: the first byte tells). "STELEST3" is the
 * same directory from before the encoding: an older format like the ones before it
 * (mstate_snapshot_older), and older binaries take this one for damage at open,
 * not at the first cold read of an encoded partition.
 */
#include "model/state_int.h"

#include <stdlib.h>

#include "model/doc.h"
#include "model/sdict.h"
#include "model/txn.h"

#define SNAP_MAGIC "STELEST4"
#define SNAP_HDR 36
#define IXEV_TEXT 2 /* flag of an index definition: a text index (its language follows) */
#define SNAP_VERSION_FIXED 17 /* u64 lsn | u32 rev | u8 del | u32 len */
#define SNAP_RECORD_FIXED 32  /* u64 lsn | u64 ts | author(16) */

/* ---- writing ---- */

static int put_colls(const mstate *s, buf *out)
{
    int bad = 0;
    for (uint32_t i = 0; i < s->ncoll && !bad; i++) {
        uint8_t n[4];
        put_u32(n, (uint32_t)s->colls[i].nev);
        bad = buf_append(out, n, 4);
        for (size_t j = 0; j < s->colls[i].nev && !bad; j++) {
            const name_event *e = &s->colls[i].ev[j];
            uint8_t eh[10];
            put_u64(eh, e->lsn);
            eh[8] = (uint8_t)e->dropped;
            eh[9] = (uint8_t)strlen(e->name);
            bad = buf_append(out, eh, sizeof eh) || buf_append(out, e->name, eh[9]);
        }
    }
    uint8_t n[4];
    put_u32(n, (uint32_t)s->nixev);
    bad = bad || buf_append(out, n, 4);
    for (size_t i = 0; i < s->nixev && !bad; i++) {
        const index_event *e = &s->ixev[i];
        uint8_t eh[15], ln = (uint8_t)strlen(e->lang);
        int text = e->kind == MSTATE_INDEX_TEXT;
        put_u64(eh, e->lsn);
        put_u32(eh + 8, e->coll);
        eh[12] = (uint8_t)(e->dropped | (text ? IXEV_TEXT : 0));
        put_u16(eh + 13, (uint16_t)strlen(e->path));
        bad = buf_append(out, eh, sizeof eh) || buf_append(out, e->path, strlen(e->path));
        if (!bad && text) bad = buf_append(out, &ln, 1) || buf_append(out, e->lang, ln);
    }
    return bad ? -1 : 0;
}

static int put_docs(const mstate *s, buf *out)
{
    int bad = 0;
    for (uint32_t i = 0; i < s->ndoc && !bad; i++) {
        const mdoc *d = &s->docs[i];
        uint8_t dh[11];
        put_u32(dh, d->coll);
        put_u16(dh + 4, (uint16_t)d->id_len);
        dh[6] = 0;
        put_u32(dh + 7, (uint32_t)d->nv);
        bad = buf_append(out, dh, 6) || buf_append(out, d->id, d->id_len) ||
              buf_append(out, dh + 6, 5);
        for (size_t j = 0; j < d->nv && !bad; j++) {
            const mversion *v = &d->v[j];
            uint8_t h[SNAP_VERSION_FIXED];
            put_u64(h, v->lsn);
            put_u32(h + 8, v->rev);
            h[12] = (uint8_t)v->deleted;
            put_u32(h + 13, v->doc_len);
            bad = buf_append(out, h, sizeof h);
        }
    }
    return bad ? -1 : 0;
}

/* The records up to the snapshot's LSN (a state is not serialized while marked). */
static int put_records(const mstate *s, uint64_t lsn, buf *out)
{
    size_t n = 0;
    while (n < s->nrec && s->recs[n].lsn <= lsn) n++;
    uint8_t h[SNAP_RECORD_FIXED];
    put_u64(h, n);
    int bad = buf_append(out, h, 8);
    for (size_t i = 0; i < n && !bad; i++) {
        put_u64(h, s->recs[i].lsn);
        put_u64(h + 8, s->recs[i].ts);
        memcpy(h + 16, s->recs[i].author, 16);
        bad = buf_append(out, h, sizeof h);
    }
    return bad ? -1 : 0;
}

static int put_adjacency(const mstate *s, buf *out)
{
    const madj *a = s->adj;
    uint8_t n[4];
    put_u32(n, madj_label_count(a));
    int bad = buf_append(out, n, 4);
    for (uint32_t i = 0; i < madj_label_count(a) && !bad; i++) {
        size_t len;
        const char *name = madj_label_name(a, i, &len);
        uint8_t l = (uint8_t)len;
        bad = buf_append(out, &l, 1) || buf_append(out, name, len);
    }
    put_u32(n, (uint32_t)madj_edge_count(a));
    bad = bad || buf_append(out, n, 4);
    uint64_t links = 0;
    for (uint32_t e = 0; e < s->ndoc && !bad; e++) {
        uint32_t ln[4];
        if (!madj_edge(a, e, &ln[1], &ln[2], &ln[3])) continue;
        uint8_t h[16];
        put_u32(h, e);
        put_u32(h + 4, ln[1]);
        put_u32(h + 8, ln[2]);
        put_u32(h + 12, ln[3]);
        bad = buf_append(out, h, sizeof h);
        links++;
    }
    STELE_ASSERT(bad || links == madj_edge_count(a));
    return bad ? -1 : 0;
}

/* Hands the partition in body to put, dictionary-encoded into *packed when that pays
 * (sdict.h; raw otherwise), and records it as pending partition i. */
static stele_status part_flush(mcache *c, uint32_t first, uint32_t ndoc, buf *body,
                               buf *packed, mstate_part_put put, void *ctx, util_err *e)
{
    size_t cap = c->nnext;
    if (util_grow((void **)&c->next, &cap, (size_t)c->nnext + 1, sizeof *c->next) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot");
    mpart *p = &c->next[c->nnext];
    memset(p, 0, sizeof *p);
    p->first = first;
    p->ndoc = ndoc;
    p->bytes = body->len;
    p->ref_off = c->next_refs.len;
    packed->len = 0;
    int enc = sdict_encode(body->data, body->len, packed);
    if (enc < 0) return util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot");
    const buf *stored = enc ? packed : body;
    stele_status rc = put(ctx, stored->data, stored->len, &c->next_refs, e);
    if (rc != STELE_OK) return rc;
    p->ref_len = c->next_refs.len - p->ref_off;
    c->nnext++;
    body->len = 0;
    return STELE_OK;
}

static size_t doc_bytes(const mdoc *d)
{
    size_t n = 0;
    for (size_t j = 0; j < d->nv; j++) n += d->v[j].doc_len;
    return n;
}

/* Cuts the documents into partitions and hands each to put. */
static stele_status put_parts(const mstate *s, size_t part_cap, mstate_part_put put, void *ctx,
                              util_err *e)
{
    mcache *c = s->cache;
    buf body, packed;
    buf_init(&body);
    buf_init(&packed);
    stele_status rc = STELE_OK;
    uint32_t first = 0;
    for (uint32_t i = 0; i < s->ndoc && rc == STELE_OK; i++) {
        const mdoc *d = &s->docs[i];
        size_t n = doc_bytes(d);
        if (i > first && (body.len + n > part_cap || i - first == MSTATE_PART_DOCS)) {
            rc = part_flush(c, first, i - first, &body, &packed, put, ctx, e);
            first = i;
            mst_walk_point(s); /* nothing borrowed: earlier partitions may go */
        }
        if (rc == STELE_OK && mst_doc_resident(s, i) != 0 && mstate_lazy_failed(s, e))
            rc = e->code;
        for (size_t j = 0; j < d->nv && rc == STELE_OK; j++)
            if (buf_append(&body, d->v[j].doc, d->v[j].doc_len) != 0)
                rc = util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot");
    }
    if (rc == STELE_OK && s->ndoc > first) rc = part_flush(c, first, s->ndoc - first, &body,
                                                           &packed, put, ctx, e);
    buf_release(&body);
    buf_release(&packed);
    return rc;
}

static void pending_clear(mcache *c)
{
    for (uint32_t i = 0; i < c->nnext; i++) STELE_ASSERT(!c->next[i].body);
    free(c->next);
    c->next = NULL;
    c->nnext = 0;
    c->next_refs.len = 0;
    free(c->next_blk);
    free(c->next_checked);
    c->next_blk = NULL;
    c->next_checked = NULL;
}

stele_status mstate_serialize(const mstate *s, uint64_t lsn, size_t part_cap,
                              mstate_part_put put, void *ctx, const uint8_t *extra,
                              size_t extra_len, buf *dir, util_err *e)
{
    STELE_ASSERT(!s->marked && part_cap > 0);
    mcache *c = s->cache;
    pending_clear(c);
    stele_status rc = put_parts(s, part_cap, put, ctx, e);
    if (rc != STELE_OK) return rc;
    if (mst_cover_alloc(s->ndoc, &c->next_blk, &c->next_checked) != 0)
        return util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot");
    c->next_lsn = lsn;
    uint64_t nv = 0;
    for (uint32_t i = 0; i < s->ndoc; i++) nv += s->docs[i].nv;
    uint8_t h[SNAP_HDR];
    memcpy(h, SNAP_MAGIC, 8);
    put_u64(h + 8, lsn);
    put_u32(h + 16, s->ncoll);
    put_u32(h + 20, s->ndoc);
    put_u64(h + 24, nv);
    put_u32(h + 32, c->nnext);
    int bad = buf_append(dir, h, sizeof h) || put_colls(s, dir);
    for (uint32_t i = 0; i < c->nnext && !bad; i++) {
        const mpart *p = &c->next[i];
        uint8_t ph[14];
        put_u32(ph, p->ndoc);
        put_u64(ph + 4, p->bytes);
        put_u16(ph + 12, (uint16_t)p->ref_len);
        bad = p->ref_len > UINT16_MAX || buf_append(dir, ph, sizeof ph) ||
              buf_append(dir, c->next_refs.data + p->ref_off, p->ref_len);
    }
    uint8_t xl[8];
    put_u64(xl, extra_len);
    bad = bad || put_records(s, lsn, dir) || put_docs(s, dir) || put_adjacency(s, dir) || buf_append(dir, xl, 8) ||
          buf_append(dir, extra, extra_len);
    return bad ? util_fail(e, STELE_ENOMEM, "out of memory writing a snapshot") : STELE_OK;
}

void mstate_snapshot_abandon(mstate *s) { pending_clear(s->cache); }

void mstate_snapshot_taken(mstate *s)
{
    mcache *c = s->cache;
    for (uint32_t i = 0; i < c->npart; i++) /* bytes of the old snapshot: gone */
        free(c->part[i].body);
    free(c->part);
    free(c->refs);
    c->resident = 0;
    c->refs = c->next_refs.data;
    buf_init(&c->next_refs);
    c->part = c->next;
    c->npart = c->nnext;
    c->next = NULL;
    c->nnext = 0;
    for (uint32_t n = 0; n < s->ndoc; n++) /* every version is in the new partitions */
        for (size_t j = 0; j < s->docs[n].nv; j++) s->docs[n].v[j].doc = NULL;
    STELE_ASSERT(c->npart == 0 || c->part[c->npart - 1].first + c->part[c->npart - 1].ndoc == s->ndoc);
    mst_cover_set(c, c->next_blk, c->next_checked, s->ndoc, c->next_lsn);
    c->next_blk = NULL;
    c->next_checked = NULL;
}

/* ---- loading ---- */

static int load_colls(mstate *s, util_rd *r, uint32_t ncoll, uint64_t lsn)
{
    for (uint32_t i = 0; i < ncoll && !r->bad; i++) {
        uint32_t id, nev = util_rd_u32(r);
        const uint8_t *eh = NULL;
        for (uint32_t j = 0; j < nev && !r->bad && (eh = util_rd_take(r, 10)); j++) {
            char name[MSTATE_NAME_MAX + 1];
            const uint8_t *nm = eh[9] <= MSTATE_NAME_MAX ? util_rd_take(r, eh[9]) : NULL;
            uint64_t at = get_u64(eh);
            if (!nm || eh[9] == 0 || eh[8] > 1 || at > lsn ||
                (j > 0 && at < s->colls[i].ev[j - 1].lsn))
                return -1;
            memcpy(name, nm, eh[9]);
            name[eh[9]] = 0;
            if (j == 0 ? (eh[8] || mstate_coll_create(s, name, at, &id) != 0 || id != i)
                       : mst_coll_event(s, i, name, eh[8], at) != 0)
                return -1;
        }
        if (nev == 0) return -1;
    }
    return r->bad ? -1 : 0;
}

/* A text event's language after its path: u8 len | len bytes, a known Snowball name
 * (a creation) or nothing (a drop). 0 (into lang) or -1. */
static int load_index_lang(util_rd *r, int dropped, char lang[MSTATE_LANG_MAX + 1])
{
    const uint8_t *ln = util_rd_take(r, 1);
    const uint8_t *p = ln && *ln <= MSTATE_LANG_MAX ? util_rd_take(r, *ln) : NULL;
    if (!p || (*ln == 0) != dropped) return -1;
    memcpy(lang, p, *ln);
    lang[*ln] = 0;
    return dropped || txn_lang_known(lang) ? 0 : -1;
}

static int load_index_events(mstate *s, util_rd *r, uint64_t lsn)
{
    uint32_t n = util_rd_u32(r);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        const uint8_t *eh = util_rd_take(r, 15);
        size_t plen = eh ? get_u16(eh + 13) : 0;
        const uint8_t *p = eh && plen <= MSTATE_PATH_MAX ? util_rd_take(r, plen) : NULL;
        if (!p || plen == 0 || (eh[12] & ~(1 | IXEV_TEXT)) || get_u32(eh + 8) >= s->ncoll ||
            get_u64(eh) > lsn || (s->nixev && get_u64(eh) < s->ixev[s->nixev - 1].lsn))
            return -1;
        char path[MSTATE_PATH_MAX + 1], lang[MSTATE_LANG_MAX + 1] = "";
        memcpy(path, p, plen);
        path[plen] = 0;
        int kind = eh[12] & IXEV_TEXT ? MSTATE_INDEX_TEXT : MSTATE_INDEX_VALUE;
        if ((kind == MSTATE_INDEX_TEXT && load_index_lang(r, eh[12] & 1, lang) != 0) ||
            mstate_index_event(s, get_u32(eh + 8), path, kind, lang, eh[12] & 1, get_u64(eh)) != 0)
            return -1;
    }
    return r->bad ? -1 : 0;
}

/* The partition table: documents in order, every one in exactly one partition. */
static int load_parts(mstate *s, util_rd *r, uint32_t npart)
{
    mcache *c = s->cache;
    if (npart > s->capdoc || (npart == 0) != (s->capdoc == 0)) return -1;
    c->part = calloc(npart ? npart : 1, sizeof *c->part);
    if (!c->part) return -1;
    buf refs;
    buf_init(&refs);
    uint32_t first = 0;
    for (uint32_t i = 0; i < npart; i++) {
        const uint8_t *ph = util_rd_take(r, 14);
        const uint8_t *ref = ph ? util_rd_take(r, get_u16(ph + 12)) : NULL;
        if (!ref || get_u32(ph) == 0 || get_u32(ph) > s->capdoc - first) break;
        mpart *p = &c->part[c->npart++];
        p->first = first;
        p->ndoc = get_u32(ph);
        p->bytes = get_u64(ph + 4);
        p->ref_off = refs.len;
        p->ref_len = get_u16(ph + 12);
        if (buf_append(&refs, ref, p->ref_len) != 0) break;
        first += p->ndoc;
    }
    c->refs = refs.data; /* the cache frees it */
    return c->npart == npart && first == s->capdoc ? 0 : -1;
}

/* The record table: LSNs strictly increasing, none after the snapshot's. */
static int load_records(mstate *s, util_rd *r, uint64_t lsn)
{
    const uint8_t *nh = util_rd_take(r, 8);
    uint64_t n = nh ? get_u64(nh) : 0;
    if (!nh || n > (uint64_t)(r->end - r->p) / SNAP_RECORD_FIXED) return -1;
    s->recs = malloc((n ? n : 1) * sizeof *s->recs);
    if (!s->recs) return -1;
    s->caprec = n ? n : 1;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *h = util_rd_take(r, SNAP_RECORD_FIXED);
        if (!h) return -1;
        mrec *m = &s->recs[i];
        m->lsn = get_u64(h);
        m->ts = get_u64(h + 8);
        memcpy(m->author, h + 16, 16);
        if (m->lsn > lsn || (i > 0 && m->lsn <= s->recs[i - 1].lsn)) return -1;
    }
    s->nrec = n;
    return 0;
}

/* 1 if a record of the table has this LSN; *hint is the last one found (documents
 * loaded in order mostly come from the same few records). */
static int record_known(const mstate *s, uint64_t lsn, size_t *hint)
{
    if (*hint < s->nrec && s->recs[*hint].lsn == lsn) return 1;
    int64_t i = mst_rec_find(s, lsn);
    if (i >= 0) *hint = (size_t)i;
    return i >= 0;
}

/* The nv versions of doc d (metadata only: bytes are in its partition) into the slab. */
static int load_versions(const mstate *s, util_rd *r, mdoc *d, uint32_t nv, mversion *v,
                         uint64_t lsn, uint64_t *bytes, size_t *hint)
{
    for (uint32_t j = 0; j < nv; j++) { /* nv 0: a reserved doc number */
        const uint8_t *h = util_rd_take(r, SNAP_VERSION_FIXED);
        if (!h || h[12] > 1 || get_u32(h + 13) == 0) return -1; /* SDOC has >= 1 byte */
        v[j].lsn = get_u64(h);
        v[j].rev = get_u32(h + 8) & 0x7fffffffu;
        v[j].deleted = h[12];
        v[j].doc = NULL;
        v[j].doc_len = get_u32(h + 13);
        *bytes += v[j].doc_len;
        if (v[j].lsn > lsn || get_u32(h + 8) != v[j].rev || v[j].doc_len > SDOC_MAX ||
            !record_known(s, v[j].lsn, hint) ||
            (j == 0 ? v[j].rev != 1
                    : (v[j].lsn < v[j - 1].lsn || v[j].rev != v[j - 1].rev + 1)))
            return -1;
    }
    d->v = nv ? v : NULL;
    d->nv = nv;
    return 0;
}

static int load_docs(mstate *s, util_rd *r, uint64_t nversions, uint64_t lsn)
{
    mcache *c = s->cache;
    if (nversions > (uint64_t)(r->end - r->p) / SNAP_VERSION_FIXED) return -1;
    s->vslab = calloc(nversions ? nversions : 1, sizeof *s->vslab);
    if (!s->vslab) return -1;
    s->nvslab = nversions;
    uint64_t used = 0;
    size_t hint = 0;
    for (uint32_t p = 0; p < c->npart; p++) {
        uint64_t bytes = 0;
        for (uint32_t n = c->part[p].first; n < c->part[p].first + c->part[p].ndoc; n++) {
            const uint8_t *dh = util_rd_take(r, 6);
            size_t id_len = dh ? get_u16(dh + 4) : 0;
            const uint8_t *id = dh ? util_rd_take(r, id_len + 1) : NULL;
            uint32_t nv = util_rd_u32(r);
            if (!id || get_u32(dh) >= s->ncoll || id_len == 0 || id_len > MSTATE_KEY_MAX ||
                id[id_len] != 0 || nv > nversions - used || nv >= 0x7fffffffu) /* 0: reserved */
                return -1;
            mdoc *d = &s->docs[s->ndoc++];
            d->coll = get_u32(dh) & 0x3fffffu; /* < ncoll <= MSTATE_COLL_MAX */
            d->id = (char *)mst_bytes_alloc(s, id_len + 1); /* the directory is freed */
            if (!d->id) return -1;
            memcpy(d->id, id, id_len + 1);
            d->id_len = (uint32_t)id_len & 0x3ffu; /* <= MSTATE_KEY_MAX */
            if (load_versions(s, r, d, nv, s->vslab + used, lsn, &bytes, &hint) != 0) return -1;
            used += nv;
        }
        if (bytes != c->part[p].bytes) return -1;
    }
    return used == nversions && !r->bad ? 0 : -1;
}

/* The partition lookup: the partitions cover every loaded document, as of lsn. */
static int load_cover(mstate *s, uint64_t lsn)
{
    uint32_t *blk;
    uint64_t *checked;
    if (mst_cover_alloc(s->ndoc, &blk, &checked) != 0) return -1;
    mst_cover_set(s->cache, blk, checked, s->ndoc, lsn);
    return 0;
}

/* How many documents ahead load_table asks for their table slot. */
#define LOAD_PREFETCH_AHEAD 16

static int load_table(mstate *s)
{
    if (mst_tab_alloc(s, mst_tab_bits(s->ndoc)) != 0) return -1;
    for (uint32_t i = 0; i < s->ndoc; i++) { /* each slot asked for ahead: misses overlap */
        if (i + LOAD_PREFETCH_AHEAD < s->ndoc) {
            const mdoc *a = &s->docs[i + LOAD_PREFETCH_AHEAD];
            mstate_doc_prefetch(s, a->coll, a->id, a->id_len);
        }
        if (mst_tab_insert_unique(s, i) != 0) return -1; /* the same id twice: malformed */
    }
    return 0;
}

static int load_adjacency(mstate *s, util_rd *r)
{
    madj *a = s->adj;
    uint32_t nlabel = util_rd_u32(r);
    for (uint32_t i = 0; i < nlabel && !r->bad; i++) {
        const uint8_t *l = util_rd_take(r, 1);
        const uint8_t *name = l && *l && *l <= MADJ_LABEL_MAX ? util_rd_take(r, *l) : NULL;
        uint32_t id;
        if (!name || madj_label_intern(a, (const char *)name, *l, &id) != 0 || id != i)
            return -1; /* a repeated name gets its first id back */
    }
    uint32_t nlink = util_rd_u32(r);
    int64_t last = -1;
    for (uint32_t i = 0; i < nlink && !r->bad; i++) {
        const uint8_t *h = util_rd_take(r, 16);
        if (!h) return -1;
        uint32_t e = get_u32(h), from = get_u32(h + 4), to = get_u32(h + 8);
        if ((int64_t)e <= last || e >= s->ndoc || from >= s->ndoc || to >= s->ndoc ||
            get_u32(h + 12) >= nlabel || madj_load_link(a, e, from, to, get_u32(h + 12)) != 0)
            return -1;
        last = e;
    }
    return r->bad || madj_compact(a) != 0 ? -1 : 0;
}

int mstate_snapshot_older(const uint8_t *bytes, size_t len)
{
    return len >= 8 && memcmp(bytes, SNAP_MAGIC, 7) == 0 && bytes[7] >= '1' &&
           bytes[7] < SNAP_MAGIC[7];
}

mstate *mstate_load(uint8_t *bytes, size_t len, uint64_t *lsn, uint8_t **extra,
                    size_t *extra_len)
{
    mstate *s = mstate_new();
    *extra = NULL;
    if (!s) {
        free(bytes);
        return NULL;
    }
    util_rd r = {bytes, bytes + len, 0};
    const uint8_t *h = util_rd_take(&r, SNAP_HDR);
    int bad = !h || memcmp(h, SNAP_MAGIC, 8) != 0 || get_u32(h + 20) >= UINT32_MAX - 1;
    if (!bad) {
        *lsn = get_u64(h + 8);
        uint32_t ndoc = get_u32(h + 20);
        s->docs = calloc(ndoc ? ndoc : 1, sizeof *s->docs);
        s->capdoc = ndoc; /* the partition table checks against it */
        bad = !s->docs || load_colls(s, &r, get_u32(h + 16), *lsn) != 0 ||
              load_index_events(s, &r, *lsn) != 0 || load_parts(s, &r, get_u32(h + 32)) != 0 ||
              load_records(s, &r, *lsn) != 0 || load_docs(s, &r, get_u64(h + 24), *lsn) != 0 ||
              load_cover(s, *lsn) != 0 || load_table(s) != 0 || load_adjacency(s, &r) != 0;
        s->capdoc = ndoc ? ndoc : 1;
    }
    const uint8_t *xl = bad ? NULL : util_rd_take(&r, 8);
    const uint8_t *x = xl && get_u64(xl) <= (uint64_t)(r.end - r.p) ? util_rd_take(&r, get_u64(xl))
                                                                    : NULL;
    if (!x || r.p != r.end) {
        free(bytes);
        mstate_free(s);
        return NULL;
    }
    *extra_len = get_u64(xl); /* the directory's bytes become the extra blob's */
    memmove(bytes, x, *extra_len);
    uint8_t *small = realloc(bytes, *extra_len ? *extra_len : 1);
    *extra = small ? small : bytes;
    return s;
}
