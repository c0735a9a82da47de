/*
 * sdict.c — see sdict.h (the format, the invariants). Layer: model.
 *
 * Encoding is two walks over the body with one explicit stack (no recursion): the
 * first counts the strings of at least SDICT_STR_MIN bytes (keys and values) in a
 * strtab and remembers the id of each occurrence; between the walks the dictionary is
 * chosen (most frequent first, so that they get the 1-byte references, each kept only
 * if it saves bytes at its index); the second walk writes the tokens into a buffer
 * sized for the largest encoding worth keeping, and gives up (raw) when it fills.
 * Decoding is one pass: containers are laid out when they open (tag, count, an offset
 * table of count entries), the table is filled as each item starts, and the size is
 * written when the last item ends.
 */
#include "model/sdict.h"

#include <stdlib.h>

#include "model/doc.h"
#include "util/strtab.h"

#define TOK_STR 0x06
#define TOK_ARRAY 0x07
#define TOK_OBJECT 0x08
#define TOK_REF 0x09
#define TOK_SHORT 0x40     /* + n: a string of n < 64 bytes */
#define TOK_SHORT_MAX 63
#define TOK_REF_SHORT 0x80 /* + i: dictionary string i < 128 */
#define TOK_REF_SHORT_MAX 127
#define VARINT_MAX 10
#define NONE UINT32_MAX
/* Distinct candidate strings the encoder keeps (its memory, and the strtab's u32
 * offsets): a body beyond that (one document's many large versions) keeps the rest
 * inline. 256 KiB partitions never come near. */
#define SDICT_CAND_BYTES ((size_t)1 << 30)

/* ---- varints ---- */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80 && n < VARINT_MAX) { /* bounded: 7 bits a step */
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *varint_put(uint8_t *w, uint64_t v)
{
    for (int i = 0; i < VARINT_MAX && v >= 0x80; i++) {
        *w++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *w++ = (uint8_t)v;
    return w;
}

/* Reads a varint at *p (before end): 0 and *p past it, or -1 (truncated, too long). */
static inline int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *q = *p;
    if (q < end && *q < 0x80) { /* the common case: one byte */
        *v = *q;
        *p = q + 1;
        return 0;
    }
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 7 * VARINT_MAX && q < end; shift += 7) {
        uint64_t b = *q++;
        if (shift == 63 && b > 1) return -1; /* beyond 64 bits */
        r |= (b & 0x7f) << shift;
        if (b < 0x80) {
            *v = r;
            *p = q;
            return 0;
        }
    }
    return -1;
}

/* ---- encoding ---- */

typedef struct enc_frame {
    size_t table, base, end; /* input offsets: offset table, first item, container end */
    uint32_t count, i;
    int obj;
} enc_frame;

typedef struct sd_enc {
    const uint8_t *in;
    size_t len;
    strtab tab;        /* candidate strings */
    uint32_t *cnt;     /* occurrences of each tab id */
    size_t cntcap;
    uint32_t *occ;     /* tab id of each candidate occurrence, in walk order */
    size_t nocc, occcap, cur;
    uint32_t *rank;    /* tab id -> dictionary index, or NONE */
    int emit;          /* the second walk: write tokens */
    int oom, full;
    uint8_t *w, *wend; /* where tokens go, and the most that is worth keeping */
    enc_frame st[SDOC_DEPTH_MAX];
} sd_enc;

static int w_room(sd_enc *x, size_t n)
{
    if ((size_t)(x->wend - x->w) >= n) return 1;
    x->full = 1;
    return 0;
}

static void w_tok_varint(sd_enc *x, uint8_t tok, uint64_t v)
{
    STELE_ASSERT(x->wend - x->w >= 1 + VARINT_MAX);
    *x->w++ = tok;
    x->w = varint_put(x->w, v);
}

/* First walk: counts s[0, n). Beyond SDICT_CAND_BYTES of distinct strings, new ones
 * are not candidates (NONE): they stay inline. */
static int enc_count(sd_enc *x, const uint8_t *s, uint32_t n)
{
    uint32_t id = strtab_find(&x->tab, (const char *)s, n);
    if (id == STRTAB_NONE && x->tab.chars.len + n <= SDICT_CAND_BYTES) {
        id = strtab_add(&x->tab, (const char *)s, n);
        if (id == STRTAB_NONE ||
            util_grow((void **)&x->cnt, &x->cntcap, (size_t)id + 1, sizeof *x->cnt) != 0) {
            x->oom = 1;
            return -1;
        }
        x->cnt[id] = 0;
    }
    if (util_grow((void **)&x->occ, &x->occcap, x->nocc + 1, sizeof *x->occ) != 0) {
        x->oom = 1;
        return -1;
    }
    x->occ[x->nocc++] = id == STRTAB_NONE ? NONE : id;
    if (id != STRTAB_NONE) x->cnt[id]++;
    return 0;
}

/* A string (a key or a value) s[0, n): counted, or written as a token. */
static int enc_string(sd_enc *x, const uint8_t *s, uint32_t n)
{
    uint32_t r = NONE;
    if (n >= SDICT_STR_MIN) {
        if (!x->emit) return enc_count(x, s, n);
        STELE_ASSERT(x->cur < x->nocc);
        uint32_t id = x->occ[x->cur++];
        r = id == NONE ? NONE : x->rank[id];
    }
    if (!x->emit) return 0;
    if (r != NONE) {
        if (!w_room(x, 1 + VARINT_MAX)) return -1;
        if (r <= TOK_REF_SHORT_MAX) *x->w++ = (uint8_t)(TOK_REF_SHORT + r);
        else w_tok_varint(x, TOK_REF, r);
        return 0;
    }
    if (!w_room(x, 1 + VARINT_MAX + (size_t)n)) return -1;
    if (n <= TOK_SHORT_MAX) *x->w++ = (uint8_t)(TOK_SHORT + n);
    else w_tok_varint(x, TOK_STR, n);
    memcpy(x->w, s, n);
    x->w += n;
    return 0;
}

/* An array or object at in[pos] (within lim): its keys, then its frame pushed and *pos
 * at its first value. -1 if it is not laid out contiguously (or the walk fills). */
static int enc_container(sd_enc *x, size_t *pos, size_t lim, int *depth)
{
    const uint8_t *p = x->in + *pos;
    if (lim - *pos < 9 || *depth == SDOC_DEPTH_MAX) return -1;
    int obj = p[0] == SDOC_OBJECT;
    uint64_t size = get_u32(p + 1), count = get_u32(p + 5), per = obj ? 8 : 4;
    if (size > lim - *pos - 5 || 4 + per * count > size) return -1;
    if (x->emit) {
        if (!w_room(x, 1 + VARINT_MAX)) return -1;
        w_tok_varint(x, p[0], count);
    }
    enc_frame *f = &x->st[(*depth)++];
    f->table = *pos + 9;
    f->base = f->table + per * count;
    f->end = *pos + 5 + size;
    f->count = (uint32_t)count;
    f->i = 0;
    f->obj = obj;
    size_t k = f->base;
    for (uint32_t i = 0; obj && i < count; i++) { /* the key area, in table order */
        if (get_u32(x->in + f->table + 8 * (size_t)i) != k - f->base || f->end - k < 4)
            return -1;
        uint32_t n = get_u32(x->in + k);
        if (f->end - k - 4 < n || enc_string(x, x->in + k + 4, n) != 0) return -1;
        k += 4 + (size_t)n;
    }
    *pos = k;
    return 0;
}

/* The value at in[*pos] (within lim): written or counted, *pos past it (or, for a
 * container, at its first item). */
static int enc_value(sd_enc *x, size_t *pos, size_t lim, int *depth)
{
    const uint8_t *p = x->in + *pos;
    size_t room = lim - *pos;
    switch (p[0]) {
    case SDOC_NULL: case SDOC_FALSE: case SDOC_TRUE:
        if (x->emit && !w_room(x, 1)) return -1;
        if (x->emit) *x->w++ = p[0];
        *pos += 1;
        return 0;
    case SDOC_INT: case SDOC_UINT: case SDOC_DOUBLE:
        if (room < 9 || (x->emit && !w_room(x, 1 + VARINT_MAX))) return -1;
        if (x->emit && p[0] == SDOC_INT) { /* zigzag: small magnitudes in few bytes */
            uint64_t v = get_u64(p + 1);
            w_tok_varint(x, SDOC_INT, (v << 1) ^ (0 - (v >> 63)));
        } else if (x->emit) {
            memcpy(x->w, p, 9);
            x->w += 9;
        }
        *pos += 9;
        return 0;
    case SDOC_STRING: {
        uint32_t n = room >= 5 ? get_u32(p + 1) : 0;
        if (room < 5 || room - 5 < n || enc_string(x, p + 5, n) != 0) return -1;
        *pos += 5 + (size_t)n;
        return 0;
    }
    case SDOC_ARRAY: case SDOC_OBJECT:
        return enc_container(x, pos, lim, depth);
    default:
        return -1;
    }
}

/* One walk over the whole body. 0, or -1 (not contiguous SDOC, out of memory, full). */
static int enc_walk(sd_enc *x)
{
    size_t pos = 0;
    int depth = 0;
    x->cur = 0;
    /* bounded: each step consumes a byte or closes one of at most len / 9 containers */
    for (size_t step = 0; step <= 2 * x->len + 1; step++) {
        size_t lim = x->len;
        if (depth > 0) {
            enc_frame *f = &x->st[depth - 1];
            if (f->i == f->count) {
                if (pos != f->end) return -1; /* a gap, or an item past the end */
                depth--;
                continue;
            }
            size_t at = f->table + (f->obj ? 8 * (size_t)f->i + 4 : 4 * (size_t)f->i);
            if (f->base + get_u32(x->in + at) != pos || pos >= f->end) return -1;
            f->i++;
            lim = f->end;
        } else if (pos == x->len) {
            return 0;
        }
        if (enc_value(x, &pos, lim, &depth) != 0) return -1;
    }
    return -1;
}

typedef struct cand {
    uint32_t cnt, id;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *p = a, *q = b;
    if (p->cnt != q->cnt) return p->cnt > q->cnt ? -1 : 1; /* most frequent first */
    return p->id < q->id ? -1 : p->id > q->id; /* then first seen: deterministic */
}

/* Bytes saved by entry string of n bytes occurring c times at dictionary index k. */
static int64_t entry_gain(uint64_t n, uint64_t c, uint32_t k)
{
    uint64_t inline_one = (n <= TOK_SHORT_MAX ? 1 : 1 + varint_len(n)) + n;
    uint64_t ref_one = k <= TOK_REF_SHORT_MAX ? 1 : 1 + varint_len(k);
    return (int64_t)(c * inline_one) - (int64_t)(varint_len(n) + n + c * ref_one);
}

/* Picks the dictionary: x->rank of every candidate, the entries' ids in index order
 * into *ids (malloc'd) and their number into *nent. 0 or -1 (out of memory). */
static int enc_choose(sd_enc *x, uint32_t **ids, uint32_t *nent)
{
    size_t n = x->tab.n ? x->tab.n : 1;
    cand *c = malloc(n * sizeof *c);
    *ids = malloc(n * sizeof **ids);
    x->rank = malloc(n * sizeof *x->rank);
    *nent = 0;
    if (!c || !*ids || !x->rank) {
        free(c);
        return -1;
    }
    uint32_t nc = 0;
    for (uint32_t id = 0; id < x->tab.n; id++) {
        x->rank[id] = NONE;
        if (x->cnt[id] >= 2) c[nc++] = (cand){x->cnt[id], id};
    }
    qsort(c, nc, sizeof *c, cand_cmp);
    uint32_t k = 0;
    for (uint32_t i = 0; i < nc && k < SDICT_ENTRIES_MAX; i++) {
        size_t slen;
        (void)strtab_get(&x->tab, c[i].id, &slen);
        if (entry_gain(slen, c[i].cnt, k) <= 0) continue; /* later ones get cheaper refs */
        x->rank[c[i].id] = k;
        (*ids)[k++] = c[i].id;
    }
    free(c);
    *nent = k;
    return 0;
}

/* The header and dictionary into x->w. 0, or -1 (full). */
static int enc_header(sd_enc *x, const uint32_t *ids, uint32_t nent)
{
    if (!w_room(x, 1 + 2 * VARINT_MAX)) return -1;
    *x->w++ = SDICT_MAGIC;
    x->w = varint_put(x->w, x->len);
    x->w = varint_put(x->w, nent);
    for (uint32_t i = 0; i < nent; i++) {
        size_t n;
        const char *s = strtab_get(&x->tab, ids[i], &n);
        if (!w_room(x, VARINT_MAX + n)) return -1;
        x->w = varint_put(x->w, n);
        memcpy(x->w, s, n);
        x->w += n;
    }
    return 0;
}

static void enc_release(sd_enc *x)
{
    strtab_release(&x->tab);
    free(x->cnt);
    free(x->occ);
    free(x->rank);
    free(x);
}

int sdict_encode(const uint8_t *body, size_t len, buf *out)
{
    STELE_ASSERT(out && (body || len == 0));
    size_t keep = len / SDICT_KEEP_DEN * SDICT_KEEP_NUM; /* the most worth keeping */
    if (len == 0 || keep == 0) return 0;
    sd_enc *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->in = body;
    x->len = len;
    int rc = enc_walk(x) == 0 ? 1 : x->oom ? -1 : 0; /* first walk: count */
    uint32_t *ids = NULL, nent = 0;
    if (rc == 1 && enc_choose(x, &ids, &nent) != 0) rc = -1;
    if (rc == 1 && buf_reserve(out, keep) != 0) rc = -1;
    if (rc == 1) {
        x->w = out->data + out->len;
        x->wend = x->w + keep;
        x->emit = 1;
        rc = enc_header(x, ids, nent) == 0 && enc_walk(x) == 0 ? 1 : 0;
        STELE_ASSERT(rc == 0 ? x->full : x->cur == x->nocc); /* walk 1 accepted the body */
    }
    if (rc == 1) out->len = (size_t)(x->w - out->data);
    STELE_ASSERT(rc != 1 || out->len <= out->cap);
    free(ids);
    enc_release(x);
    return rc;
}

/* ---- decoding ---- */

typedef struct dec_frame {
    size_t start, table, base; /* output offsets: the tag, the table, the first item */
    uint32_t count, i;
    int obj;
} dec_frame;

typedef struct dec_entry {
    const uint8_t *s;
    uint32_t n;
} dec_entry;

typedef struct sd_dec {
    const uint8_t *p, *end; /* input */
    uint8_t *out;
    size_t o, cap;          /* output written, and its size */
    const dec_entry *dict;
    uint32_t nent;
    const char *why;
    int oom;
} sd_dec;

static int dec_fail(sd_dec *d, const char *why)
{
    d->why = why;
    return -1;
}

/* A string token (its byte tok already read): its bytes into *s, *n. 0 or -1. */
static inline int dec_str(sd_dec *d, uint8_t tok, const uint8_t **s, uint32_t *n)
{
    uint64_t v;
    if (tok >= TOK_REF_SHORT || tok == TOK_REF) {
        if (tok == TOK_REF ? varint_get(&d->p, d->end, &v) != 0 : (v = tok - TOK_REF_SHORT, 0))
            return dec_fail(d, "truncated dictionary reference");
        if (v >= d->nent) return dec_fail(d, "dictionary index out of range");
        *s = d->dict[v].s;
        *n = d->dict[v].n;
        return 0;
    }
    if (tok >= TOK_SHORT) v = tok - TOK_SHORT;
    else if (tok != TOK_STR) return dec_fail(d, "unknown token");
    else if (varint_get(&d->p, d->end, &v) != 0 || v > UINT32_MAX)
        return dec_fail(d, "bad string length");
    if (v > (size_t)(d->end - d->p)) return dec_fail(d, "string past the end");
    *s = d->p;
    *n = (uint32_t)v;
    d->p += v;
    return 0;
}

/* Writes n bytes of room check: 1 if out has n more bytes. */
static inline int dec_room(sd_dec *d, uint64_t n)
{
    return n <= d->cap - d->o ? 1 : dec_fail(d, "longer than its recorded length") + 1;
}

/* A container token: tag, count and a table laid out, keys written, frame pushed. */
static int dec_container(sd_dec *d, uint8_t tag, dec_frame *f)
{
    uint64_t count;
    if (varint_get(&d->p, d->end, &count) != 0 || count > (size_t)(d->end - d->p))
        return dec_fail(d, "bad count"); /* every item takes an input byte at least */
    uint64_t per = tag == TOK_OBJECT ? 8 : 4;
    if (!dec_room(d, 9 + per * count)) return -1;
    f->start = d->o;
    f->table = d->o + 9;
    f->base = f->table + per * count;
    f->count = (uint32_t)count;
    f->i = 0;
    f->obj = tag == TOK_OBJECT;
    d->out[d->o] = tag;
    put_u32(d->out + d->o + 5, (uint32_t)count);
    d->o = f->base;
    for (uint32_t k = 0; f->obj && k < count; k++) { /* the key area */
        const uint8_t *s;
        uint32_t n;
        if (d->p == d->end) return dec_fail(d, "truncated key");
        uint8_t tok = *d->p++;
        if (tok < TOK_SHORT && tok != TOK_STR && tok != TOK_REF)
            return dec_fail(d, "a key is not a string");
        if (dec_str(d, tok, &s, &n) != 0) return -1;
        if (!dec_room(d, 4 + (uint64_t)n)) return -1;
        put_u32(d->out + f->table + 8 * (size_t)k, (uint32_t)(d->o - f->base));
        put_u32(d->out + d->o, n);
        memcpy(d->out + d->o + 4, s, n);
        d->o += 4 + (size_t)n;
    }
    return 0;
}

/* One scalar or string token (tok read). 0 or -1. */
static inline int dec_scalar(sd_dec *d, uint8_t tok)
{
    uint64_t v;
    const uint8_t *s;
    uint32_t n;
    switch (tok) {
    case SDOC_NULL: case SDOC_FALSE: case SDOC_TRUE:
        if (!dec_room(d, 1)) return -1;
        d->out[d->o++] = tok;
        return 0;
    case SDOC_INT:
        if (varint_get(&d->p, d->end, &v) != 0) return dec_fail(d, "truncated integer");
        if (!dec_room(d, 9)) return -1;
        d->out[d->o] = tok;
        put_u64(d->out + d->o + 1, (v >> 1) ^ (0 - (v & 1)));
        d->o += 9;
        return 0;
    case SDOC_UINT: case SDOC_DOUBLE:
        if (d->end - d->p < 8) return dec_fail(d, "truncated number");
        if (!dec_room(d, 9)) return -1;
        d->out[d->o] = tok;
        memcpy(d->out + d->o + 1, d->p, 8);
        d->p += 8;
        d->o += 9;
        return 0;
    default:
        if (dec_str(d, tok, &s, &n) != 0 || !dec_room(d, 5 + (uint64_t)n)) return -1;
        d->out[d->o] = SDOC_STRING;
        put_u32(d->out + d->o + 1, n);
        memcpy(d->out + d->o + 5, s, n);
        d->o += 5 + (size_t)n;
        return 0;
    }
}

/* The tokens after the dictionary, to the end of the input. 0 or -1. */
static int dec_values(sd_dec *d)
{
    dec_frame st[SDOC_DEPTH_MAX];
    int depth = 0;
    size_t steps = 2 * (size_t)(d->end - d->p) + 1;
    /* bounded: each step consumes an input byte or closes a container (opened by one) */
    for (size_t step = 0; step <= steps; step++) {
        if (depth > 0) {
            dec_frame *f = &st[depth - 1];
            if (f->i == f->count) { /* closed: its size is known now */
                if (d->o - f->start - 5 > UINT32_MAX) return dec_fail(d, "container too large");
                put_u32(d->out + f->start + 1, (uint32_t)(d->o - f->start - 5));
                depth--;
                continue;
            }
            size_t at = f->table + (f->obj ? 8 * (size_t)f->i + 4 : 4 * (size_t)f->i);
            if (d->o - f->base > UINT32_MAX) return dec_fail(d, "container too large");
            put_u32(d->out + at, (uint32_t)(d->o - f->base));
            f->i++;
        } else if (d->p == d->end) {
            return 0;
        }
        if (d->p == d->end) return dec_fail(d, "truncated value");
        uint8_t tok = *d->p++;
        if (tok == TOK_ARRAY || tok == TOK_OBJECT) {
            if (depth == SDOC_DEPTH_MAX) return dec_fail(d, "nested too deep");
            if (dec_container(d, tok, &st[depth++]) != 0) return -1;
        } else if (dec_scalar(d, tok) != 0) {
            return -1;
        }
    }
    return dec_fail(d, "too many steps"); /* not reached: the bound is never met */
}

/* The dictionary into *dict (malloc'd, pointing into the input). 0 or -1. */
static int dec_dict(sd_dec *d, dec_entry **dict)
{
    uint64_t nent;
    *dict = NULL;
    if (varint_get(&d->p, d->end, &nent) != 0 || nent > SDICT_ENTRIES_MAX ||
        nent > (size_t)(d->end - d->p))
        return dec_fail(d, "bad dictionary size"); /* every entry takes a byte at least */
    *dict = malloc((nent ? nent : 1) * sizeof **dict);
    if (!*dict) {
        d->oom = 1;
        return dec_fail(d, "out of memory");
    }
    for (uint32_t i = 0; i < nent; i++) {
        uint64_t n;
        if (varint_get(&d->p, d->end, &n) != 0 || n > (size_t)(d->end - d->p) || n > UINT32_MAX)
            return dec_fail(d, "dictionary entry past the end");
        (*dict)[i] = (dec_entry){d->p, (uint32_t)n};
        d->p += n;
    }
    d->dict = *dict;
    d->nent = (uint32_t)nent;
    return 0;
}

int sdict_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, const char **why)
{
    STELE_ASSERT(in && why && (out || cap == 0));
    sd_dec d = {in, in + len, out, 0, cap, NULL, 0, NULL, 0};
    uint64_t body_len;
    dec_entry *dict = NULL;
    int rc = -1;
    if (len == 0 || in[0] != SDICT_MAGIC) {
        dec_fail(&d, "not a dictionary encoding");
    } else {
        d.p++;
        if (varint_get(&d.p, d.end, &body_len) != 0 || body_len != cap)
            dec_fail(&d, "decoded length does not match the directory");
        else if (dec_dict(&d, &dict) == 0 && dec_values(&d) == 0)
            rc = d.o == cap ? 0 : dec_fail(&d, "shorter than its recorded length");
    }
    free(dict);
    STELE_ASSERT(d.o <= cap && d.p <= d.end);
    *why = d.why;
    STELE_ASSERT(rc == 0 || *why);
    return rc == 0 ? 0 : d.oom ? -2 : -1;
}

int sdict_body_len(const uint8_t *in, size_t len, uint64_t *body_len)
{
    STELE_ASSERT(body_len && (in || len == 0));
    const uint8_t *p = in + 1;
    if (len == 0 || in[0] <= SDOC_OBJECT) *body_len = len; /* raw */
    else if (in[0] != SDICT_MAGIC || varint_get(&p, in + len, body_len) != 0) return -1;
    return 0;
}

stele_status sdict_unpack(uint8_t **bytes, size_t *len, size_t want, const char **why)
{
    STELE_ASSERT(bytes && len && why);
    *why = NULL;
    if (*len == 0 || (*bytes)[0] <= SDOC_OBJECT) return STELE_OK; /* raw */
    if ((*bytes)[0] != SDICT_MAGIC) {
        *why = "unknown partition encoding";
        return STELE_ECORRUPT;
    }
    uint8_t *out = malloc(want ? want : 1);
    if (!out) {
        *why = "out of memory";
        return STELE_ENOMEM;
    }
    int rc = sdict_decode(*bytes, *len, out, want, why);
    if (rc != 0) {
        free(out);
        return rc == -2 ? STELE_ENOMEM : STELE_ECORRUPT;
    }
    free(*bytes);
    *bytes = out;
    *len = want;
    return STELE_OK;
}
