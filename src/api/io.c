/*
 * io.c — import and export of a collection (include/stele.h, "Import and export").
 * Layer: api (uses model for parsing and reading documents, and stele.c's document
 * transactions through docs_int.h).
 *
 * Import is whole-or-nothing in three steps:
 *  1. read: every NDJSON line or CSV row becomes one document, parsed with our own
 *     parser (json_parse, the hot path: no jansson), and checked — syntax, object,
 *     "_id", duplicates in the input and against the collection. Errors are collected
 *     (the first errors_max kept, all counted); once one is found no ops are built.
 *  2. check: the ops, cut into parts of about part_bytes (and at most TXN_OPS_MAX ops),
 *     are applied tentatively (api_docs_stage): a failure undoes them.
 *  3. write: the parts are appended (one record, or a multi-part transaction whose
 *     parts apply together once the final one is durable) and the tentative changes
 *     kept with the final record's LSN and time (api_docs_commit), or undone if an
 *     append fails.
 * Invariants: nothing is appended unless steps 1 and 2 found nothing wrong; every part
 * payload is at most LEDGER_PAYLOAD_MAX bytes; a document's op is never split.
 *
 * Export streams: documents are written into a 64 KiB buffer handed to the caller's
 * writer whenever it fills, so memory does not grow with the collection.
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/docs_int.h"
#include "crypto/crypto.h"
#include "ledger/format.h"
#include "model/doc.h"
#include "model/edges.h"
#include "model/state.h"
#include "model/txn.h"

/* Limits (docs/LIMITS.md): the whole import is held in memory (text, ops, a tentative
 * state) before anything is written, so its input is bounded. */
#define IMPORT_BYTES_MAX (1u << 30)
#define IMPORT_PART_DEFAULT (1u << 20)
#define IMPORT_PART_MIN (4u << 10)
#define IMPORT_ERRORS_DEFAULT 100u
#define IMPORT_PART_SUFFIX_MAX 128u /* ],"part":{...}} */
#define CSV_COLUMNS_MAX 4096u
#define CSV_PATH_DEPTH_MAX 32u
#define EXPORT_CHUNK (64u << 10)
#define PROGRESS_BYTES (64u << 10)
#define PROGRESS_DOCS 1024u

_Static_assert(IMPORT_PART_DEFAULT + IMPORT_PART_SUFFIX_MAX < LEDGER_PAYLOAD_MAX,
               "a default part fits one record");

static void progress(stele_progress_fn fn, void *ctx, const char *phase, uint64_t done,
                     uint64_t total)
{
    if (fn) fn(ctx, phase, done, total);
}

/* Key i of the object doc (bytes from json_parse or the state): the table layout of
 * doc.h. 0, or -1 if i is out of range or the bytes do not hold it. */
static int obj_key(const uint8_t *d, size_t len, uint32_t i, const char **k, size_t *kn)
{
    if (len < 9 || d[0] != SDOC_OBJECT) return -1;
    uint32_t count = get_u32(d + 5);
    if (i >= count || 9 + 8 * (uint64_t)count > len) return -1;
    uint64_t area = 9 + 8 * (uint64_t)count, ko = get_u32(d + 9 + 8 * (size_t)i);
    if (area + ko + 4 > len) return -1;
    uint32_t n = get_u32(d + area + ko);
    if (area + ko + 4 + n > len) return -1;
    *k = (const char *)d + area + ko + 4;
    *kn = n;
    return 0;
}

/* Byte order of keys in an SDOC object: memcmp, the shorter first on a common prefix. */
static int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int key_is(const char *k, size_t kn, const char *name)
{
    return kn == strlen(name) && memcmp(k, name, kn) == 0;
}

/* ------------------------------------------------------------ string set */

/* A set of byte strings with a number each (the line where an _id was first seen, or a
 * column's first use): open addressing over an arena. */
typedef struct sset_ent {
    size_t off, len;
    uint64_t val, hash;
} sset_ent;

typedef struct sset {
    uint32_t *slot; /* entry index + 1; 0 = empty */
    size_t nslot;
    sset_ent *ent;
    size_t n, cap;
    buf arena;
} sset;

static void sset_init(sset *s)
{
    memset(s, 0, sizeof *s);
    buf_init(&s->arena);
}

static void sset_release(sset *s)
{
    free(s->slot);
    free(s->ent);
    buf_release(&s->arena);
    memset(s, 0, sizeof *s);
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static int sset_grow(sset *s)
{
    size_t ns = s->nslot ? s->nslot * 2 : 1024;
    uint32_t *slot = calloc(ns, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < s->n; i++) {
        size_t j = s->ent[i].hash & (ns - 1);
        while (slot[j]) j = (j + 1) & (ns - 1);
        slot[j] = (uint32_t)i + 1;
    }
    free(s->slot);
    s->slot = slot;
    s->nslot = ns;
    return 0;
}

/* Adds p[0, n) with value val. Returns 1 if added, 0 if present (*old = its value),
 * -1 on out of memory. */
static int sset_add(sset *s, const char *p, size_t n, uint64_t val, uint64_t *old)
{
    if ((s->n + 1) * 2 > s->nslot && (s->n >= UINT32_MAX - 1 || sset_grow(s) != 0)) return -1;
    uint64_t h = hash_bytes(p, n);
    size_t j = h & (s->nslot - 1);
    for (; s->slot[j]; j = (j + 1) & (s->nslot - 1)) {
        const sset_ent *e = &s->ent[s->slot[j] - 1];
        if (e->hash == h && e->len == n && memcmp(s->arena.data + e->off, p, n) == 0) {
            if (old) *old = e->val;
            return 0;
        }
    }
    if (util_grow((void **)&s->ent, &s->cap, s->n + 1, sizeof *s->ent) != 0) return -1;
    s->ent[s->n] = (sset_ent){s->arena.len, n, val, h};
    if (buf_append(&s->arena, p, n) != 0) return -1;
    s->slot[j] = (uint32_t)++s->n;
    return 1;
}

/* ---------------------------------------------------------------- import */

typedef struct importer {
    stele *db;
    const char *coll;
    uint32_t coll_id;       /* MSTATE_NONE: the import creates the collection */
    stele_import_options o;
    sset ids;               /* _id -> line of its first use */
    buf *parts;             /* payload texts, open ("{\"ops\":[..." without the end) */
    size_t nparts, capparts;
    uint32_t part_ops;      /* ops in the last part */
    int part_full;
    uint64_t docs, bad;
    buf errors;             /* the kept error objects, comma-separated */
    buf op_head;            /* {"coll":"C","doc": */
    buf sdoc, cell;         /* scratch: one document, one CSV cell */
    stele_status fatal;     /* out of memory: stop */
} importer;

static void add_error(importer *im, uint64_t line, uint64_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_error(importer *im, uint64_t line, uint64_t col, const char *fmt, ...)
{
    im->bad++;
    if (im->bad > im->o.errors_max) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int bad = buf_printf(&im->errors, "%s{\"line\":%llu,\"column\":%llu,\"message\":",
                         im->bad > 1 ? "," : "", (unsigned long long)line,
                         (unsigned long long)col) != 0 ||
              buf_json_str(&im->errors, msg, strlen(msg)) != 0 ||
              buf_append(&im->errors, "}", 1) != 0;
    if (bad) im->fatal = STELE_ENOMEM;
}

static int new_part(importer *im)
{
    if (util_grow((void **)&im->parts, &im->capparts, im->nparts + 1, sizeof *im->parts) != 0)
        return -1;
    buf *p = &im->parts[im->nparts++];
    buf_init(p);
    im->part_ops = 0;
    im->part_full = 0;
    if (buf_reserve(p, im->o.part_bytes + 4096) != 0 || buf_append(p, "{\"ops\":[", 8) != 0)
        return -1;
    if (im->nparts == 1 && im->coll_id == MSTATE_NONE) { /* the import creates it */
        im->part_ops = 1;
        return buf_printf(p, "{\"coll\":\"%s\",\"op\":\"create_collection\"}", im->coll);
    }
    return 0;
}

/* The document's text without _rev/_lsn/_ts and with "_id":gen added if gen is not
 * NULL, members kept in key order (so the text is canonical). */
static int write_doc_edited(const buf *sd, const char *gen, buf *out)
{
    doc_view root = {sd->data, sd->len}, v;
    uint32_t n;
    if (doc_count(root, &n) != 0 || buf_append(out, "{", 1) != 0) return -1;
    int first = 1, id_done = gen == NULL;
    for (uint32_t i = 0; i <= n; i++) {
        const char *k = NULL;
        size_t kn = 0;
        if (i < n && obj_key(sd->data, sd->len, i, &k, &kn) != 0) return -1;
        if (!id_done && (i == n || key_cmp(k, kn, "_id", 3) > 0)) {
            if (buf_printf(out, "%s\"_id\":\"%s\"", first ? "" : ",", gen) != 0) return -1;
            id_done = first = 0;
        }
        if (i == n) break;
        if (key_is(k, kn, "_rev") || key_is(k, kn, "_lsn") || key_is(k, kn, "_ts")) continue;
        if (doc_get(sd->data, sd->len, k, kn, &v) != 1) return -1;
        if ((!first && buf_append(out, ",", 1) != 0) || buf_json_str(out, k, kn) != 0 ||
            buf_append(out, ":", 1) != 0 || json_write(v.p, v.len, out) != 0)
            return -1;
        first = 0;
    }
    return buf_append(out, "}", 1);
}

/* Appends the insert op of the document in im->sdoc to the last part (a new one when
 * it is full). Returns 0, or -1 with an error recorded. */
static int add_op(importer *im, int edit, const char *gen, uint64_t line)
{
    if ((!im->nparts || im->part_full) && new_part(im) != 0) return -1;
    buf *p = &im->parts[im->nparts - 1];
    size_t before = p->len;
    int bad = (im->part_ops && buf_append(p, ",", 1) != 0) ||
              buf_append(p, im->op_head.data, im->op_head.len) != 0 ||
              (edit ? write_doc_edited(&im->sdoc, gen, p)
                    : json_write(im->sdoc.data, im->sdoc.len, p)) != 0 ||
              buf_append(p, ",\"op\":\"insert\"}", 15) != 0;
    if (bad) return -1;
    size_t op_len = p->len - before;
    if (op_len + 8 + IMPORT_PART_SUFFIX_MAX + 64 > LEDGER_PAYLOAD_MAX) {
        p->len = before;
        add_error(im, line, 0, "the document is too large for one ledger record (%u bytes)",
                  LEDGER_PAYLOAD_MAX);
        return 0;
    }
    if (p->len + IMPORT_PART_SUFFIX_MAX > LEDGER_PAYLOAD_MAX) { /* move it to a new part */
        STELE_ASSERT(im->part_ops > 0 && p->data[before] == ',');
        buf moved;
        buf_init(&moved);
        if (buf_append(&moved, p->data + before + 1, op_len - 1) != 0) return -1;
        p->len = before;
        int r = new_part(im) != 0 ||
                buf_printf(&im->parts[im->nparts - 1], "%s", im->part_ops ? "," : "") != 0 ||
                buf_append(&im->parts[im->nparts - 1], moved.data, moved.len) != 0;
        buf_release(&moved);
        if (r) return -1;
        p = &im->parts[im->nparts - 1];
    }
    im->part_ops++;
    im->docs++;
    if (p->len >= im->o.part_bytes || im->part_ops >= TXN_OPS_MAX) im->part_full = 1;
    return 0;
}

/* One document's JSON text from input line `line`: parse, check, and add its op. The
 * column of a syntax error is given when with_col (NDJSON), else 0 (a CSV row). */
static void import_doc(importer *im, const char *text, size_t len, uint64_t line, int with_col)
{
    json_error je;
    im->sdoc.len = 0;
    if (json_parse(text, len, &im->sdoc, &je) != 0) {
        add_error(im, line, with_col ? je.column : 0, "%s", je.msg);
        return;
    }
    doc_view root = {im->sdoc.data, im->sdoc.len}, v;
    if (doc_type(root) != SDOC_OBJECT) {
        add_error(im, line, 0, "not a JSON object (a document is one object per line)");
        return;
    }
    const char *id = NULL;
    size_t idlen = 0;
    char gen[25];
    int has_id = doc_get(root.p, root.len, "_id", 3, &v) == 1;
    if (has_id && (doc_string(v, &id, &idlen) != 0 || idlen == 0 || idlen > MSTATE_ID_MAX)) {
        add_error(im, line, 0, "\"_id\" must be a non-empty string of at most %d bytes",
                  MSTATE_ID_MAX);
        return;
    }
    if (!has_id) {
        uint8_t r[12];
        crypto_random(r, sizeof r);
        crypto_hex(r, sizeof r, gen);
        id = gen;
        idlen = 24;
    }
    uint64_t first = 0;
    int added = sset_add(&im->ids, id, idlen, line, &first);
    int shown = idlen > 64 ? 64 : (int)idlen;
    if (added < 0) {
        im->fatal = STELE_ENOMEM;
        return;
    }
    if (added == 0) {
        add_error(im, line, 0, "duplicate _id '%.*s' (first on line %llu)", shown, id,
                  (unsigned long long)first);
        return;
    }
    uint32_t dn = im->coll_id == MSTATE_NONE
                      ? MSTATE_NONE
                      : mstate_doc_find(im->db->docs, im->coll_id, id, idlen);
    const mversion *cur = dn == MSTATE_NONE ? NULL : mstate_doc_get(im->db->docs, dn, UINT64_MAX);
    if (cur && !cur->deleted) {
        add_error(im, line, 0, "_id '%.*s' already exists in '%s'", shown, id, im->coll);
        return;
    }
    if (im->bad) return; /* keep checking, build nothing */
    int edit = !has_id || doc_get(root.p, root.len, "_rev", 4, &v) == 1 ||
               doc_get(root.p, root.len, "_lsn", 4, &v) == 1 ||
               doc_get(root.p, root.len, "_ts", 3, &v) == 1;
    if (add_op(im, edit, has_id ? NULL : gen, line) != 0) im->fatal = STELE_ENOMEM;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

static void import_ndjson(importer *im, const char *d, size_t len)
{
    size_t pos = 0, next_report = PROGRESS_BYTES;
    if (len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* a UTF-8 byte order mark */
    for (uint64_t line = 1; pos < len && !im->fatal; line++) {
        const char *nl = memchr(d + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - d) : len, n = end - pos;
        if (n && d[pos + n - 1] == '\r') n--;
        size_t k = 0;
        while (k < n && (d[pos + k] == ' ' || d[pos + k] == '\t')) k++;
        if (!blank(d + pos, n) && d[pos + k] == '[' && im->docs + im->bad == 0) {
            add_error(im, line, k + 1, "a JSON array: import takes one object per line "
                                       "(NDJSON; convert with: jq -c '.[]')");
            return;
        }
        if (!blank(d + pos, n)) import_doc(im, d + pos, n, line, 1);
        pos = end + 1;
        if (pos >= next_report) {
            progress(im->o.progress, im->o.progress_ctx, "reading", pos, len);
            next_report = pos + PROGRESS_BYTES;
        }
    }
}

/* ------------------------------------------------------------------- CSV */

typedef struct csv_cell {
    size_t off, len; /* in the record's text buffer */
    int quoted;
} csv_cell;

typedef struct csv_rec {
    buf text;        /* the cells' unescaped bytes */
    csv_cell *cells; /* CSV_COLUMNS_MAX of them */
    size_t n;
    uint64_t line;   /* where the record starts */
} csv_rec;

/* Reads one quoted cell at d[*i] == '"' into r. 0, or -1 with *why. */
static int csv_quoted(const char *d, size_t len, size_t *i, csv_rec *r, uint64_t *line,
                      const char **why)
{
    size_t p = *i + 1;
    for (;;) {
        const char *q = p < len ? memchr(d + p, '"', len - p) : NULL;
        if (!q) {
            *why = "a quoted cell is not closed (a '\"' is missing)";
            *i = len;
            return -1;
        }
        size_t n = (size_t)(q - d) - p;
        for (size_t k = p; k < p + n; k++) *line += d[k] == '\n';
        if (buf_append(&r->text, d + p, n) != 0) return -2;
        p += n + 1;
        if (p < len && d[p] == '"') { /* a doubled quote is one quote */
            if (buf_append(&r->text, "\"", 1) != 0) return -2;
            p++;
            continue;
        }
        break;
    }
    *i = p;
    if (p < len && d[p] != ',' && d[p] != '\n' && !(d[p] == '\r' && p + 1 < len && d[p + 1] == '\n')) {
        *why = "text after the closing quote of a cell (double a '\"' inside a quoted cell)";
        return -1;
    }
    return 0;
}

/* Reads the record at d[*pos] into r; *pos moves past its line end, *line counts lines.
 * 1 = a record, 0 = the end, -1 = a bad record (reason in *why, *pos at the next
 * line), -2 = out of memory. */
static int csv_record(const char *d, size_t len, size_t *pos, uint64_t *line, csv_rec *r,
                      const char **why)
{
    size_t i = *pos;
    if (i >= len) return 0;
    r->text.len = 0;
    r->n = 0;
    r->line = *line;
    for (;;) {
        if (r->n == CSV_COLUMNS_MAX) {
            *why = "more than 4096 cells in a row";
            break;
        }
        csv_cell *c = &r->cells[r->n++];
        c->off = r->text.len;
        c->quoted = i < len && d[i] == '"';
        if (c->quoted) {
            int q = csv_quoted(d, len, &i, r, line, why);
            if (q == -2) return -2;
            if (q < 0) break;
        } else {
            size_t s = i;
            while (i < len && d[i] != ',' && d[i] != '\n') i++; /* a '"' here is data */
            size_t e = i;
            if (e > s && i < len && d[i] == '\n' && d[e - 1] == '\r') e--;
            if (buf_append(&r->text, d + s, e - s) != 0) return -2;
        }
        c->len = r->text.len - c->off;
        if (i < len && d[i] == '\r') i++; /* csv_quoted let only "\r\n" through */
        if (i >= len || d[i] == '\n') {
            *pos = i + 1;
            (*line)++;
            return 1;
        }
        i++; /* ',' */
    }
    const char *nl = i < len ? memchr(d + i, '\n', len - i) : NULL; /* skip the rest */
    *pos = nl ? (size_t)(nl - d) + 1 : len;
    (*line)++;
    return -1;
}

/* The header's dotted names as a tree: leaves are columns, inner nodes objects. */
typedef struct csv_node {
    size_t name_off, name_len; /* in csv_head.names */
    int32_t parent, child, next, col; /* col -1 for inner nodes */
    uint64_t used;             /* the row that last put a value under it */
} csv_node;

typedef struct csv_head {
    buf names;
    csv_node *node; /* node 0 is the document */
    size_t n, ncols;
    int32_t id_col; /* the top-level "_id" column, or -1 */
} csv_head;

static int32_t head_child(csv_head *h, int32_t parent, const char *name, size_t n, int make)
{
    int32_t c = h->node[parent].child, last = -1;
    for (; c >= 0; last = c, c = h->node[c].next)
        if (h->node[c].name_len == n && memcmp(h->names.data + h->node[c].name_off, name, n) == 0)
            return c;
    if (!make) return -1;
    csv_node *nd = &h->node[h->n];
    *nd = (csv_node){h->names.len, n, parent, -1, -1, -1, 0};
    if (buf_append(&h->names, name, n) != 0) return -2;
    if (last < 0) h->node[parent].child = (int32_t)h->n;
    else h->node[last].next = (int32_t)h->n;
    return (int32_t)h->n++;
}

/* Builds the tree from the header record; -1 with *why on a bad header, -2 on OOM. */
static int csv_header(const csv_rec *r, csv_head *h, char *why, size_t cap)
{
    h->ncols = r->n;
    h->id_col = -1;
    h->node = calloc(r->n * CSV_PATH_DEPTH_MAX + 1, sizeof *h->node);
    if (!h->node) return -2;
    h->node[0] = (csv_node){0, 0, -1, -1, -1, -1, 0};
    h->n = 1;
    for (size_t c = 0; c < r->n; c++) {
        const char *s = (const char *)r->text.data + r->cells[c].off;
        size_t len = r->cells[c].len, start = 0, depth = 0;
        int32_t at = 0;
        if (len == 0) return snprintf(why, cap, "column %zu has no name", c + 1), -1;
        if (len == 3 && memcmp(s, "_id", 3) == 0) h->id_col = (int32_t)c;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && s[i] != '.') continue;
            if (i == start || ++depth > CSV_PATH_DEPTH_MAX)
                return snprintf(why, cap, "column %zu ('%.*s'): empty or too many parts in a "
                                "dotted name", c + 1, (int)len, s), -1;
            if (h->node[at].col >= 0)
                return snprintf(why, cap, "column %zu ('%.*s') goes inside column %d, which "
                                "holds a value", c + 1, (int)len, s, h->node[at].col + 1), -1;
            int32_t prev = head_child(h, at, s + start, i - start, 0);
            if (prev >= 0 && i == len)
                return snprintf(why, cap, "column %zu ('%.*s') repeats an earlier column or "
                                "object", c + 1, (int)len, s), -1;
            at = prev >= 0 ? prev : head_child(h, at, s + start, i - start, 1);
            if (at < 0) return -2;
            start = i + 1;
        }
        h->node[at].col = (int32_t)c;
    }
    return 0;
}

/* The JSON value of one cell into out (the typing rules of docs/DOCUMENTS.md). */
static int csv_value(importer *im, const char *s, size_t n, int quoted, int is_id, buf *out)
{
    json_error je;
    if (!is_id && n && (s[0] == '[' || s[0] == '{')) {
        im->cell.len = 0;
        if (json_parse(s, n, &im->cell, &je) == 0) return buf_append(out, s, n);
    }
    if (quoted || is_id) return buf_json_str(out, s, n);
    if ((n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) ||
        (n == 5 && memcmp(s, "false", 5) == 0))
        return buf_append(out, s, n);
    if (n && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && s[n - 1] >= '0' &&
        s[n - 1] <= '9') {
        im->cell.len = 0;
        doc_view v;
        if (json_parse(s, n, &im->cell, &je) == 0) {
            v = (doc_view){im->cell.data, im->cell.len};
            int t = doc_type(v);
            if (t == SDOC_INT || t == SDOC_UINT || t == SDOC_DOUBLE) return buf_append(out, s, n);
        }
    }
    return buf_json_str(out, s, n);
}

/* The JSON object of one row: a walk of the header tree with an explicit stack,
 * skipping objects under which every cell is absent. */
static int csv_row_json(importer *im, csv_head *h, const csv_rec *r, uint64_t row, buf *out)
{
    for (size_t k = 1; k < h->n; k++) { /* mark the nodes that get a value */
        int32_t c = h->node[k].col;
        if (c < 0 || (!r->cells[c].quoted && r->cells[c].len == 0)) continue;
        for (int32_t at = (int32_t)k; at >= 0 && h->node[at].used != row; at = h->node[at].parent)
            h->node[at].used = row;
    }
    int32_t stack[CSV_PATH_DEPTH_MAX + 2];
    int first[CSV_PATH_DEPTH_MAX + 2];
    size_t sp = 0;
    if (buf_append(out, "{", 1) != 0) return -1;
    stack[sp] = h->node[0].child;
    first[sp++] = 1;
    while (sp) {
        int32_t at = stack[sp - 1];
        if (at < 0) {
            sp--;
            if (buf_append(out, "}", 1) != 0) return -1;
            continue;
        }
        stack[sp - 1] = h->node[at].next;
        const csv_node *nd = &h->node[at];
        if (nd->used != row) continue;
        if ((!first[sp - 1] && buf_append(out, ",", 1) != 0) ||
            buf_json_str(out, (const char *)h->names.data + nd->name_off, nd->name_len) != 0 ||
            buf_append(out, ":", 1) != 0)
            return -1;
        first[sp - 1] = 0;
        if (nd->col >= 0) {
            const csv_cell *c = &r->cells[nd->col];
            if (csv_value(im, (const char *)r->text.data + c->off, c->len, c->quoted,
                          nd->col == h->id_col, out) != 0)
                return -1;
            continue;
        }
        STELE_ASSERT(sp < CSV_PATH_DEPTH_MAX + 2);
        if (buf_append(out, "{", 1) != 0) return -1;
        stack[sp] = nd->child;
        first[sp++] = 1;
    }
    return 0;
}

static void import_csv(importer *im, const char *d, size_t len)
{
    csv_rec r;
    csv_head h;
    buf row;
    memset(&h, 0, sizeof h);
    buf_init(&h.names);
    buf_init(&r.text);
    buf_init(&row);
    r.cells = calloc(CSV_COLUMNS_MAX, sizeof *r.cells);
    size_t pos = len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0, next_report = 0;
    uint64_t line = 1;
    const char *why = NULL;
    char hwhy[300];
    int got = r.cells ? csv_record(d, len, &pos, &line, &r, &why) : -2;
    int hrc = got == 1 ? csv_header(&r, &h, hwhy, sizeof hwhy) : 0;
    if (got == -2 || hrc == -2) im->fatal = STELE_ENOMEM;
    else if (got == 0) add_error(im, 1, 0, "no header row (the first row names the fields)");
    else if (got < 0) add_error(im, 1, 0, "header row: %s", why);
    else if (hrc < 0) add_error(im, 1, 0, "header row: %s", hwhy);
    for (uint64_t rownum = 1; !im->fatal && got == 1 && hrc == 0; rownum++) {
        int rc = csv_record(d, len, &pos, &line, &r, &why);
        if (rc == 0) break;
        if (rc == -2) im->fatal = STELE_ENOMEM;
        else if (rc < 0) add_error(im, r.line, 0, "%s", why);
        else if (r.n == 1 && !r.cells[0].quoted && r.cells[0].len == 0) continue; /* blank */
        else if (r.n != h.ncols)
            add_error(im, r.line, 0, "%zu cells where the header has %zu", r.n, h.ncols);
        else {
            row.len = 0;
            if (csv_row_json(im, &h, &r, rownum, &row) != 0) im->fatal = STELE_ENOMEM;
            else import_doc(im, (const char *)row.data, row.len, r.line, 0);
        }
        if (pos >= next_report) {
            progress(im->o.progress, im->o.progress_ctx, "reading", pos, len);
            next_report = pos + PROGRESS_BYTES;
        }
    }
    free(r.cells);
    free(h.node);
    buf_release(&h.names);
    buf_release(&r.text);
    buf_release(&row);
}

/* ------------------------------------------------------- import: the whole */

/* Closes every part's payload (with the multi-part fields when there are several) and
 * parses each into its SDOC. */
static stele_status finish_parts(stele *db, buf *texts, size_t nparts, buf *sdocs,
                                 api_part *parts)
{
    char txn[33];
    uint8_t r[16];
    crypto_random(r, sizeof r);
    crypto_hex(r, sizeof r, txn);
    for (size_t i = 0; i < nparts; i++) {
        buf *p = &texts[i];
        int bad = nparts == 1
                      ? buf_append(p, "]}", 2)
                      : buf_printf(p, "],\"part\":{\"final\":%s,\"seq\":%zu,\"txn\":\"%s\"}}",
                                   i + 1 == nparts ? "true" : "false", i, txn);
        STELE_ASSERT(bad || p->len <= LEDGER_PAYLOAD_MAX);
        json_error je;
        buf_init(&sdocs[i]);
        if (bad || json_parse((const char *)p->data, p->len, &sdocs[i], &je) != 0)
            return util_fail(&db->err, bad ? STELE_ENOMEM : STELE_EINVAL,
                             "import: part %zu does not parse (%s)", i, bad ? "" : je.msg);
        parts[i] = (api_part){sdocs[i].data, sdocs[i].len};
    }
    return STELE_OK;
}

stele_status api_parts_commit(stele *db, buf *texts, size_t nparts, const char *idem_id,
                              stele_progress_fn fn, void *ctx, uint64_t *lsn)
{
    STELE_ASSERT(nparts > 0);
    buf *sdocs = calloc(nparts, sizeof *sdocs);
    api_part *parts = calloc(nparts, sizeof *parts);
    stele_status rc = sdocs && parts ? finish_parts(db, texts, nparts, sdocs, parts)
                                     : util_fail(&db->err, STELE_ENOMEM, "out of memory");
    progress(fn, ctx, "checking", 0, 0);
    if (rc == STELE_OK) rc = api_docs_stage(db, parts, nparts);
    if (rc == STELE_OK) {
        progress(fn, ctx, "writing", 0, nparts);
        rc = api_docs_commit(db, texts, nparts, idem_id, lsn);
        progress(fn, ctx, "writing", nparts, nparts);
    }
    for (size_t i = 0; sdocs && i < nparts; i++) buf_release(&sdocs[i]);
    free(sdocs);
    free(parts);
    return rc;
}

/* Steps 2 and 3: apply the parts tentatively, then write them and keep the changes. */
static stele_status import_commit(importer *im, uint64_t *lsn)
{
    return api_parts_commit(im->db, im->parts, im->nparts, im->o.idem_id, im->o.progress,
                            im->o.progress_ctx, lsn);
}

static stele_status import_report(importer *im, stele_status rc, uint64_t lsn, buf *out)
{
    if (rc == STELE_OK && im->bad) {
        if (buf_printf(out, "{\"error_count\":%llu,\"errors\":[", (unsigned long long)im->bad) ||
            buf_append(out, im->errors.data, im->errors.len) || buf_append(out, "]}", 2))
            return util_fail(&im->db->err, STELE_ENOMEM, "out of memory");
        return util_fail(&im->db->err, STELE_EINVAL, "%llu bad line%s in the input; nothing "
                         "was imported", (unsigned long long)im->bad, im->bad == 1 ? "" : "s");
    }
    if (rc == STELE_OK &&
        buf_printf(out, "{\"lsn\":%llu,\"documents\":%llu,\"records\":%zu,"
                        "\"created_collection\":%s}", (unsigned long long)lsn,
                   (unsigned long long)im->docs, im->nparts,
                   im->coll_id == MSTATE_NONE && im->nparts ? "true" : "false") != 0)
        rc = util_fail(&im->db->err, STELE_ENOMEM, "out of memory");
    return rc;
}

static stele_status import_args(stele *db, const char *coll, const char *data, size_t len,
                                const stele_import_options *o)
{
    if (!coll || (!data && len)) return util_fail(&db->err, STELE_EINVAL, "import: a "
                                                  "collection and the data are required");
    if (len > IMPORT_BYTES_MAX)
        return util_fail(&db->err, STELE_ETOOBIG, "import: %zu bytes is more than the %u-byte "
                         "limit of one import; split the file", len, IMPORT_BYTES_MAX);
    if (o && o->format != STELE_IO_NDJSON && o->format != STELE_IO_CSV)
        return util_fail(&db->err, STELE_EINVAL, "import: unknown format %d", (int)o->format);
    if (o && o->part_bytes && (o->part_bytes < IMPORT_PART_MIN ||
                               o->part_bytes > LEDGER_PAYLOAD_MAX / 2))
        return util_fail(&db->err, STELE_EINVAL, "import: part_bytes must be 0 or within "
                         "[%u, %u]", IMPORT_PART_MIN, LEDGER_PAYLOAD_MAX / 2);
    uint64_t lsn = 0;
    const char *id = o ? o->idem_id : NULL;
    stele_status rc = id ? ledger_idem_lookup(db->L, id, strlen(id), &lsn, &db->err) : STELE_OK;
    if (rc == STELE_OK && lsn) return STELE_EEXIST; /* a retry: answered by the caller */
    if (rc != STELE_OK) return rc;
    /* the collection name is checked by txn_apply as well; here for a clear message */
    size_t n = strlen(coll);
    int ok = n > 0 && n <= MSTATE_NAME_MAX && coll[0] != '.';
    for (size_t i = 0; ok && i < n; i++)
        ok = (coll[i] >= 'a' && coll[i] <= 'z') || (coll[i] >= 'A' && coll[i] <= 'Z') ||
             (coll[i] >= '0' && coll[i] <= '9') || coll[i] == '.' || coll[i] == '_' ||
             coll[i] == '-';
    return ok ? STELE_OK : util_fail(&db->err, STELE_EINVAL, "import: '%s' is not a collection "
                                     "name (1-64 of letters, digits, '.', '_', '-')", coll);
}

static void importer_release(importer *im)
{
    for (size_t i = 0; i < im->nparts; i++) buf_release(&im->parts[i]);
    free(im->parts);
    sset_release(&im->ids);
    buf_release(&im->errors);
    buf_release(&im->op_head);
    buf_release(&im->sdoc);
    buf_release(&im->cell);
}

stele_status stele_import(stele *db, const char *coll, const char *data, size_t len,
                          const stele_import_options *opts, char **report)
{
    stele_status rc = api_need_open(db);
    if (rc != STELE_OK) return rc;
    rc = import_args(db, coll, data, len, opts);
    buf out;
    buf_init(&out);
    if (rc == STELE_EEXIST) { /* the idempotency id is committed: a retry */
        uint64_t lsn = 0;
        ledger_idem_lookup(db->L, opts->idem_id, strlen(opts->idem_id), &lsn, &db->err);
        if (buf_printf(&out, "{\"lsn\":%llu,\"duplicate\":true}", (unsigned long long)lsn))
            rc = util_fail(&db->err, STELE_ENOMEM, "out of memory");
        else rc = STELE_OK;
        return report ? api_detach(db, &out, rc, report) : (buf_release(&out), rc);
    }
    if (rc != STELE_OK) return rc;
    importer im;
    memset(&im, 0, sizeof im);
    im.db = db;
    im.coll = coll;
    if (opts) im.o = *opts;
    if (!im.o.errors_max) im.o.errors_max = IMPORT_ERRORS_DEFAULT;
    if (!im.o.part_bytes) im.o.part_bytes = IMPORT_PART_DEFAULT;
    im.coll_id = mstate_coll_find(db->docs, coll, UINT64_MAX);
    sset_init(&im.ids);
    buf_init(&im.errors);
    buf_init(&im.op_head);
    buf_init(&im.sdoc);
    buf_init(&im.cell);
    if (buf_printf(&im.op_head, "{\"coll\":\"%s\",\"doc\":", coll) != 0) im.fatal = STELE_ENOMEM;
    if (im.fatal) {
    } else if (im.o.format == STELE_IO_CSV) import_csv(&im, data, len);
    else import_ndjson(&im, data, len);
    progress(im.o.progress, im.o.progress_ctx, "reading", len, len);
    uint64_t lsn = 0;
    if (im.fatal) rc = util_fail(&db->err, im.fatal, "import: out of memory reading the input");
    else if (!im.bad && im.nparts) rc = import_commit(&im, &lsn);
    if (rc == STELE_OK && lsn) (void)madj_compact(mstate_adj(db->docs)); /* bulk: re-pack */
    rc = import_report(&im, rc, lsn, &out);
    importer_release(&im);
    return api_import_report(db, rc, &out, report);
}

stele_status api_import_report(stele *db, stele_status rc, buf *out, char **report)
{
    int keep = rc == STELE_OK || (rc == STELE_EINVAL && out->len);
    if (!report || !keep) {
        buf_release(out);
        return rc;
    }
    stele_status drc = api_detach(db, out, STELE_OK, report);
    return drc != STELE_OK ? drc : rc;
}

/* ---------------------------------------------------------------- export */

typedef struct exporter {
    stele *db;
    stele_write_fn write;
    void *ctx;
    buf out;
    stele_status rc;
} exporter;

static void ex_flush(exporter *x, int force)
{
    if (x->rc != STELE_OK || x->out.len == 0 || (!force && x->out.len < EXPORT_CHUNK)) return;
    if (x->write(x->ctx, (const char *)x->out.data, x->out.len) != 0)
        x->rc = util_fail(&x->db->err, STELE_EIO, "export: the writer stopped (e.g. the disk "
                          "is full or the reader went away)");
    x->out.len = 0;
}

static void ex_nomem(exporter *x)
{
    if (x->rc == STELE_OK) x->rc = util_fail(&x->db->err, STELE_ENOMEM, "out of memory");
}

/* A CSV cell holding s[0, n): quoted when it holds a separator or a quote, or when read
 * unquoted it would not be this string (empty, a number, true/false/null, JSON text). */
static int csv_put_string(buf *out, const char *s, size_t n)
{
    int q = n == 0 || s[0] == '-' || (s[0] >= '0' && s[0] <= '9') || s[0] == '[' ||
            s[0] == '{' || (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
            (n == 5 && !memcmp(s, "false", 5));
    for (size_t i = 0; i < n && !q; i++)
        q = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!q) return buf_append(out, s, n);
    if (buf_append(out, "\"", 1) != 0) return -1;
    for (size_t i = 0; i < n;) {
        const char *e = memchr(s + i, '"', n - i);
        size_t k = e ? (size_t)(e - s) - i : n - i;
        if (buf_append(out, s + i, k) != 0) return -1;
        i += k;
        if (e) {
            if (buf_append(out, "\"\"", 2) != 0) return -1;
            i++;
        }
    }
    return buf_append(out, "\"", 1);
}

/* A CSV cell for a value: strings as text, others as their JSON text. */
static int csv_put_value(buf *out, doc_view v, buf *tmp)
{
    const char *s;
    size_t n;
    if (doc_type(v) == SDOC_STRING && doc_string(v, &s, &n) == 0)
        return csv_put_string(out, s, n);
    tmp->len = 0;
    if (json_write(v.p, v.len, tmp) != 0) return -1;
    int q = doc_type(v) == SDOC_ARRAY || doc_type(v) == SDOC_OBJECT;
    if (!q || (!memchr(tmp->data, ',', tmp->len) && !memchr(tmp->data, '"', tmp->len)))
        return buf_append(out, tmp->data, tmp->len);
    return csv_put_string(out, (const char *)tmp->data, tmp->len);
}

static int cmp_key(const void *a, const void *b, void *arena)
{
    const sset_ent *x = a, *y = b;
    const char *base = arena;
    return key_cmp(base + x->off, x->len, base + y->off, y->len);
}

/* The header: "_id" then the other top-level keys of the live documents in byte
 * order (in cols, an sset's entries sorted). */
static stele_status csv_columns(exporter *x, uint32_t c, uint64_t at, sset *cols)
{
    mstate *s = x->db->docs;
    if (sset_add(cols, "_id", 3, 0, NULL) < 0) ex_nomem(x);
    for (uint32_t d = 0; d < mstate_doc_count(s) && x->rc == STELE_OK; d++) {
        const mversion *v = mstate_doc_coll(s, d) == c ? mstate_doc_get(s, d, at) : NULL;
        uint32_t n;
        if (!v || v->deleted || doc_count((doc_view){v->doc, v->doc_len}, &n) != 0) continue;
        for (uint32_t i = 0; i < n; i++) {
            const char *k;
            size_t kn;
            if (obj_key(v->doc, v->doc_len, i, &k, &kn) == 0 && sset_add(cols, k, kn, 0, NULL) < 0)
                ex_nomem(x);
        }
    }
    if (cols->n > 1) qsort_r(cols->ent + 1, cols->n - 1, sizeof *cols->ent, cmp_key,
                             cols->arena.data);
    for (size_t i = 0; i < cols->n && x->rc == STELE_OK; i++)
        if ((i && buf_append(&x->out, ",", 1) != 0) ||
            csv_put_string(&x->out, (const char *)cols->arena.data + cols->ent[i].off,
                           cols->ent[i].len) != 0)
            ex_nomem(x);
    if (buf_append(&x->out, "\r\n", 2) != 0) ex_nomem(x);
    return x->rc;
}

static void csv_row(exporter *x, const mversion *v, const sset *cols, buf *tmp)
{
    for (size_t i = 0; i < cols->n && x->rc == STELE_OK; i++) {
        doc_view f;
        const char *k = (const char *)cols->arena.data + cols->ent[i].off;
        if ((i && buf_append(&x->out, ",", 1) != 0) ||
            (doc_get(v->doc, v->doc_len, k, cols->ent[i].len, &f) == 1 &&
             csv_put_value(&x->out, f, tmp) != 0))
            ex_nomem(x);
    }
    if (buf_append(&x->out, "\r\n", 2) != 0) ex_nomem(x);
}

stele_status stele_export(stele *db, const char *coll, const stele_export_options *opts,
                          stele_write_fn write, void *ctx)
{
    stele_status rc = api_need_open(db);
    if (rc != STELE_OK) return rc;
    stele_export_options o = {0};
    if (opts) o = *opts;
    if (!coll || !write || (o.format != STELE_IO_NDJSON && o.format != STELE_IO_CSV))
        return util_fail(&db->err, STELE_EINVAL, "export: a collection, a known format and a "
                         "writer are required");
    uint64_t at = o.as_of ? o.as_of : UINT64_MAX;
    uint32_t c = mstate_coll_find(db->docs, coll, at);
    if (c == MSTATE_NONE)
        return util_fail(&db->err, STELE_ENOTFOUND, "no collection '%s'%s", coll,
                         o.as_of ? " at that LSN" : "");
    exporter x = {db, write, ctx, {0}, STELE_OK};
    buf tmp;
    sset cols;
    buf_init(&x.out);
    buf_init(&tmp);
    sset_init(&cols);
    mstate *s = db->docs;
    uint64_t total = 0, done = 0;
    for (uint32_t d = 0; d < mstate_doc_count(s); d++) {
        const mversion *v = mstate_doc_coll(s, d) == c ? mstate_doc_meta(s, d, at) : NULL;
        total += v && !v->deleted;
    }
    if (o.format == STELE_IO_CSV) csv_columns(&x, c, at, &cols);
    for (uint32_t d = 0; d < mstate_doc_count(s) && x.rc == STELE_OK; d++) {
        mstate_reads_done(s); /* nothing kept from the document before: the budget holds */
        const mversion *v = mstate_doc_coll(s, d) == c ? mstate_doc_get(s, d, at) : NULL;
        if (!v && (x.rc = api_lazy_check(db, STELE_OK)) != STELE_OK) break;
        if (!v || v->deleted) continue;
        if (o.format == STELE_IO_CSV) csv_row(&x, v, &cols, &tmp);
        else if (json_write(v->doc, v->doc_len, &x.out) != 0 || buf_append(&x.out, "\n", 1))
            ex_nomem(&x);
        ex_flush(&x, 0);
        if (++done % PROGRESS_DOCS == 0) progress(o.progress, o.progress_ctx, "exporting", done,
                                                 total);
    }
    ex_flush(&x, 1);
    progress(o.progress, o.progress_ctx, "exporting", done, total);
    buf_release(&x.out);
    buf_release(&tmp);
    sset_release(&cols);
    return x.rc;
}
