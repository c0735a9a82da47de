/*
 * doc.h — SDOC, Stele's binary document format; the JSON parser into it (json.c), the
 * JSON writer out of it (json_write.c) and bounds-checked readers (doc.c). Layer:
 * model (uses util; used by the document, graph and table views). This header needs
 * only libc, so that the benchmark can include it with include/ on the path alone.
 *
 * SDOC v1 (all integers little-endian). A value is a 1-byte tag and a body:
 *
 *   tag   type     body
 *   0x00  null     -
 *   0x01  false    -
 *   0x02  true     -
 *   0x03  int64    i64 (two's complement)
 *   0x04  uint64   u64, only for integers > INT64_MAX (so each integer has one form)
 *   0x05  double   u64 IEEE-754 bits, always finite; integers beyond 64 bits and
 *                  every number written with a fraction or an exponent ("1.0" stays
 *                  a double; "-0" is the int64 0, "-0.0" the double -0.0)
 *   0x06  string   u32 n | n bytes of valid UTF-8 (no surrogates, no overlong forms;
 *                  may contain NUL, written "\u0000")
 *   0x07  array    u32 size | u32 count | u32 off[count] | elements
 *   0x08  object   u32 size | u32 count | {u32 key_off, u32 val_off}[count]
 *                  | key area | value area
 *
 *   size      bytes after the size field (count, table and areas): a container is
 *             5 + size bytes long, so any value can be skipped without reading it.
 *   array     off[i] is relative to the first element (the byte after the table):
 *             element i is read in O(1).
 *   object    key_off and val_off are relative to the start of the key area (the
 *             byte after the table). Each key is u32 n | n bytes of UTF-8. Entries
 *             are sorted by key bytes (memcmp, the shorter first on a common prefix),
 *             keys are unique, so a field lookup is a binary search over the table.
 *
 * Canonical form (doc_validate accepts nothing else, so equal documents have equal
 * bytes and a hash of the bytes is a hash of the document):
 *   1. elements, keys and values are contiguous, in table order, with no gaps:
 *      off[0] = 0, key_off[0] = 0, val_off[0] = size of the key area, and each next
 *      offset is the previous one plus the previous item's length; the last item
 *      ends exactly at the end of the body;
 *   2. object keys strictly increase (no duplicates);
 *   3. uint64 only above INT64_MAX; doubles finite; all strings valid UTF-8;
 *   4. nesting at most SDOC_DEPTH_MAX containers.
 * The original key order of a JSON object is not kept: sorted order is canonical and
 * the writer emits it. Duplicate keys in JSON text: the last value wins (as jansson).
 *
 * Lone surrogates: a \uD800-\uDFFF escape that is not a high surrogate followed by a
 * low surrogate escape is rejected ("lone surrogate in \u escape"), as is the UTF-8
 * encoding of a surrogate, so that every stored string is valid UTF-8. A UTF-8 byte
 * order mark before the document is rejected (RFC 8259 8.1: not to be added).
 * Numbers too large for a double (1e400) are rejected; underflow gives 0 or a
 * subnormal. Number parsing and printing do not depend on the process locale.
 */
#ifndef STELE_MODEL_DOC_H
#define STELE_MODEL_DOC_H

#include <stddef.h>
#include <stdint.h>

struct buf; /* util/util.h (declared here so that this header needs only libc) */

/* ---- limits (docs/LIMITS.md) ---- */
/* Containers open at once. Real documents nest a handful of levels; the bound sizes the
 * explicit stacks of the parser, the validator and the writer (no recursion). */
#define JSON_DEPTH_MAX 256
#define SDOC_DEPTH_MAX JSON_DEPTH_MAX
/* JSON text accepted by json_parse: 4x the ledger's 4 MiB payload. Every value of an
 * SDOC is at most 7 bytes per byte of text plus 16 (a "0," array element becomes a
 * 9-byte int64 and a 4-byte offset), so every size and offset fits a u32. */
#define JSON_TEXT_MAX (16u << 20)
#define SDOC_MAX ((uint64_t)JSON_TEXT_MAX * 7u + 16u)
/* Components of a dotted path: one per container level can match. */
#define DOC_PATH_DEPTH_MAX SDOC_DEPTH_MAX

enum {
    SDOC_NULL = 0x00,
    SDOC_FALSE = 0x01,
    SDOC_TRUE = 0x02,
    SDOC_INT = 0x03,
    SDOC_UINT = 0x04,
    SDOC_DOUBLE = 0x05,
    SDOC_STRING = 0x06,
    SDOC_ARRAY = 0x07,
    SDOC_OBJECT = 0x08,
};

/* Where and why json_parse rejected its input. msg is a static string. */
typedef struct json_error {
    size_t offset; /* byte offset of the offending byte (len at an unexpected end) */
    size_t line;   /* 1-based */
    size_t column; /* 1-based, in bytes */
    const char *msg;
} json_error;

/* A value inside a document: borrowed, valid while the document's bytes are. */
typedef struct doc_view {
    const uint8_t *p;
    size_t len;
} doc_view;

/*
 * Parses one JSON value (RFC 8259; surrounding whitespace allowed) from text[0, len)
 * — no NUL terminator needed — and appends its canonical SDOC encoding to out.
 * Returns 0, or -1 with err (if not NULL) filled and out unchanged: a syntax error,
 * invalid UTF-8, a lone surrogate, a number out of double range, nesting deeper than
 * JSON_DEPTH_MAX, len > JSON_TEXT_MAX, or out of memory. Thread-safe; no state.
 * Memory: about 17 KiB of the caller's stack; on the heap, only for documents beyond
 * about 100 values, 16 bytes per value plus 24 per object member, and a copy of the
 * text from the first string with an escape when that is longer than 1 KiB.
 */
int json_parse(const char *text, size_t len, struct buf *out, json_error *err);

/* json_parse with stricter rules, for inputs that must keep the rules they had when
 * they were read with jansson (the text of a document transaction, txn.h):
 * JSON_PARSE_INT64_ONLY rejects an integer (a number without fraction or exponent)
 * outside int64 instead of storing it as uint64 or double; JSON_PARSE_NO_NUL rejects
 * the escape \u0000 (raw control bytes are always rejected). */
#define JSON_PARSE_INT64_ONLY 1u
#define JSON_PARSE_NO_NUL 2u
int json_parse_flags(const char *text, size_t len, struct buf *out, json_error *err,
                     unsigned flags);

/* The parser's work arrays, kept by a caller that parses large texts again and again
 * (a writer's transactions, a replay), so that they are not allocated — and their
 * pages faulted in — anew each time. Zero-initialize; json_scratch_release frees. */
typedef struct json_scratch {
    void *tape, *mem, *perm;
    size_t tape_cap, mem_cap, perm_cap; /* elements */
    char *esc;                          /* decoded strings */
    size_t esc_cap;                     /* bytes */
} json_scratch;
void json_scratch_release(json_scratch *k);
/* json_parse_flags, taking its work arrays from *keep (if large enough) and leaving the
 * largest ones there afterwards; keep NULL is json_parse_flags. */
int json_parse_kept(const char *text, size_t len, struct buf *out, json_error *err,
                    unsigned flags, json_scratch *keep);

/*
 * Appends the compact JSON text of the SDOC value doc[0, len) to out: no spaces,
 * object members in key order, strings escaped (\" \\ \n \t \r \b \f, \u00XX for
 * other control bytes; other UTF-8 as is), integers exact, doubles in the shortest of
 * %.15g/%.16g/%.17g that reads back to the same bits and always with a '.' or an
 * exponent (so they parse back as doubles). Validates doc first: returns -1 and
 * leaves out unchanged if doc is not one canonical SDOC value or memory runs out.
 */
int json_write(const uint8_t *doc, size_t len, struct buf *out);
/* json_write without the validation, for bytes this process made canonical itself
 * (json_parse, doc_obj_put, the state's versions): -1 only when memory runs out.
 * Never for bytes read from disk or received (Debug builds still validate, and abort). */
int json_write_canonical(const uint8_t *doc, size_t len, struct buf *out);

/*
 * Checks that doc[0, len) is exactly one canonical SDOC value (see the table above),
 * iteratively, reading nothing outside [doc, doc + len). Returns 0 or -1. Run it on
 * any bytes not produced by json_parse in this process before trusting them. Uses
 * about 10 KiB of stack and no heap.
 */
int doc_validate(const uint8_t *doc, size_t len);

/*
 * Readers. They never read outside [doc, doc + len) whatever the bytes, but they do not
 * validate the document: on bytes that passed doc_validate they are exact; on other
 * bytes they may return -1 or a wrong answer, never crash. Each returns 1 and sets
 * *out when found; 0 when not found (no such key or index, or the value is not an
 * object/array); -1 when the bytes they had to read are malformed.
 */
/* The value of key[0, klen) in the object doc: a binary search over the sorted table. */
int doc_get(const uint8_t *doc, size_t len, const char *key, size_t klen, doc_view *out);
/* Element i of the array doc, in O(1). */
int doc_index(const uint8_t *doc, size_t len, uint32_t i, doc_view *out);
/* A dotted path such as "a.b.0.c" (NUL-terminated): each component is a key of an
 * object, or, on an array, a decimal index without leading zeros. "" is the whole
 * document. Keys containing '.' cannot be named. -1 also for an empty component
 * ("a..b") or more than DOC_PATH_DEPTH_MAX components. */
int doc_path(const uint8_t *doc, size_t len, const char *path, doc_view *out);

/* Scalar readers on a view (from doc_get, doc_index or doc_path, or a whole document).
 * Each returns 0, or -1 if the view is not of that type or is truncated. */
int doc_type(doc_view v);                               /* the tag, or -1 */
int doc_int64(doc_view v, int64_t *out);                /* SDOC_INT only */
int doc_double(doc_view v, double *out);                /* any number, converted */
int doc_string(doc_view v, const char **s, size_t *n);  /* borrowed, not NUL-terminated */
int doc_count(doc_view v, uint32_t *n);                 /* elements or members */

/* ---- building objects from SDOC values (doc_build.c) ---- */

/* One member of an object to build: its key, and its value as canonical SDOC bytes
 * (val, vlen), or (val == NULL) the object built from sub[0, nsub), whose size the
 * caller put in vlen (doc_obj_size) and whose members all have a val. */
typedef struct doc_member {
    const char *key;
    uint32_t klen;
    const uint8_t *val;
    size_t vlen;
    const struct doc_member *sub;
    size_t nsub;
} doc_member;

/* Bytes of the SDOC object of members m[0, n). */
uint64_t doc_obj_size(const doc_member *m, size_t n);
/* Writes that object at w (doc_obj_size bytes) and returns its end. The keys must
 * strictly increase in SDOC key order (doc_key_cmp) and the values be canonical: the
 * result is then canonical. */
uint8_t *doc_obj_put(uint8_t *w, const doc_member *m, size_t n);
/* SDOC key order: memcmp, the shorter first on a common prefix (<0, 0, >0). */
int doc_key_cmp(const char *a, size_t an, const char *b, size_t bn);
/* Member i (in key order) of the object doc: its key (borrowed, not NUL-terminated)
 * and value. 1, 0 if there is no member i, -1 if doc is not an object or the bytes
 * needed are malformed (never reads outside [doc, doc + len)). */
int doc_member_at(const uint8_t *doc, size_t len, uint32_t i, const char **key, size_t *klen,
                  doc_view *val);

#endif /* STELE_MODEL_DOC_H */
