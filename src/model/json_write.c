/*
 * json_write.c — SDOC to compact JSON text (the inverse of json.c). Layer: model.
 *
 * The document is validated first (doc_validate; json_write_canonical takes bytes this
 * process made canonical itself), so the walk below may follow every offset without
 * checking it again; it keeps an explicit stack of open containers (at most
 * SDOC_DEPTH_MAX, the validator's bound) and never recurses. Text goes straight into
 * the output buffer, grown before each token to the token's largest size (6 bytes per
 * string byte), so the common case is a compare and a memcpy per token.
 *
 * Output rules (doc.h): no whitespace; members in stored (key) order; strings escaped
 * with \" \\ \n \t \r \b \f and \u00XX for other bytes below 0x20, every other byte as
 * is (stored strings are valid UTF-8); integers exact; doubles as the shortest of
 * %.15g, %.16g, %.17g that reads back to the same bits, with ".0" appended when the
 * result would read as an integer ("1.0", "-0.0"), so that text -> SDOC -> text is a
 * fixed point. Doubles are finite (validated), so "inf"/"nan" cannot appear.
 */
#include "model/doc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wframe {
    const uint8_t *table, *area;
    uint32_t i, n;
    int is_obj;
} wframe;

/* The output: bytes go to w, with room up to end (one byte before the buffer's
 * capacity, kept for buf's NUL); room() grows the buffer before each token, so that
 * tokens are written with plain stores. out->len is brought up to date at the end. */
typedef struct wstate {
    buf *out;
    uint8_t *w, *end;
    uint32_t depth;
    wframe stack[SDOC_DEPTH_MAX];
} wstate;

static int room_slow(wstate *st, size_t n)
{
    st->out->len = (size_t)(st->w - st->out->data);
    if (buf_reserve(st->out, n) != 0) return -1;
    st->w = st->out->data + st->out->len;
    st->end = st->out->data + st->out->cap - 1;
    return 0;
}

static inline int room(wstate *st, size_t n)
{
    return (size_t)(st->end - st->w) >= n ? 0 : room_slow(st, n);
}

static inline void put_bytes(wstate *st, const void *p, size_t n)
{
    memcpy(st->w, p, n);
    st->w += n;
}

static inline int put_char(wstate *st, char c)
{
    if (room(st, 1) != 0) return -1;
    *st->w++ = (uint8_t)c;
    return 0;
}

static int put_str(wstate *st, const char *s)
{
    size_t n = strlen(s);
    if (room(st, n) != 0) return -1;
    put_bytes(st, s, n);
    return 0;
}

/* 1 if none of the eight bytes at p needs an escape (a control byte, '"' or '\\'):
 * (x - 0x20..) & ~x & 0x80.. is non-zero exactly when some byte is below 0x20, and
 * the same test for zero on x ^ '"'.. and x ^ '\\'.. when some byte equals them. */
static inline int plain8(const uint8_t *p)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t x, q, b;
    memcpy(&x, p, 8);
    q = x ^ (ones * '"');
    b = x ^ (ones * '\\');
    uint64_t t = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);
    return (t & high) == 0;
}

static int write_string(wstate *st, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (room(st, 6 * n + 2) != 0) return -1; /* every byte escaped as \u00XX at worst */
    uint8_t *w = st->w;
    *w++ = '"';
    for (size_t i = 0; i < n;) { /* bounded: every round consumes at least one byte */
        if (n - i >= 8 && plain8(s + i)) { /* the common case: copied a word at a time */
            memcpy(w, s + i, 8);
            w += 8;
            i += 8;
            continue;
        }
        uint8_t c = s[i++];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *w++ = c;
            continue;
        }
        *w++ = '\\';
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '\n': *w++ = 'n'; break;
        case '\t': *w++ = 't'; break;
        case '\r': *w++ = 'r'; break;
        case '\b': *w++ = 'b'; break;
        case '\f': *w++ = 'f'; break;
        default:
            memcpy(w, "u00", 3);
            w[3] = (uint8_t)hex[c >> 4];
            w[4] = (uint8_t)hex[c & 15];
            w += 5;
        }
    }
    *w++ = '"';
    st->w = w;
    return 0;
}

static int write_u64(wstate *st, uint64_t v, int neg)
{
    char s[24];
    size_t i = sizeof s;
    do { /* at most 20 digits */
        s[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (neg) s[--i] = '-';
    if (room(st, sizeof s - i) != 0) return -1;
    put_bytes(st, s + i, sizeof s - i);
    return 0;
}

/* Shortest of %.15g..%.17g that round-trips; "C" locale whatever the process uses. */
static int write_double(wstate *st, double d)
{
    char s[40];
    locale_t c = doc_c_locale();
    locale_t old = c ? uselocale(c) : (locale_t)0;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, d);
        double back = strtod(s, NULL);
        if (memcmp(&back, &d, sizeof d) == 0) break; /* %.17g always does */
    }
    if (old) uselocale(old);
    if (!strpbrk(s, ".eE")) {
        size_t n = strlen(s);
        STELE_ASSERT(n + 3 <= sizeof s);
        memcpy(s + n, ".0", 3);
    }
    return put_str(st, s);
}

/* Writes the value at v: a scalar in full, a container's opening bracket (pushing its
 * frame) or, if empty, both brackets. */
static int write_value(wstate *st, const uint8_t *v)
{
    uint64_t bits = 0;
    if (v[0] >= SDOC_INT && v[0] <= SDOC_DOUBLE) bits = get_u64(v + 1);
    switch (v[0]) {
    case SDOC_NULL: return put_str(st, "null");
    case SDOC_FALSE: return put_str(st, "false");
    case SDOC_TRUE: return put_str(st, "true");
    case SDOC_INT:
        return (int64_t)bits < 0 ? write_u64(st, (uint64_t)0 - bits, 1)
                                 : write_u64(st, bits, 0);
    case SDOC_UINT: return write_u64(st, bits, 0);
    case SDOC_DOUBLE: {
        double d;
        memcpy(&d, &bits, sizeof d);
        return write_double(st, d);
    }
    case SDOC_STRING: return write_string(st, v + 5, get_u32(v + 1));
    default: break;
    }
    STELE_ASSERT(v[0] == SDOC_ARRAY || v[0] == SDOC_OBJECT); /* validated */
    int is_obj = v[0] == SDOC_OBJECT;
    uint32_t n = get_u32(v + 5);
    if (n == 0) return put_str(st, is_obj ? "{}" : "[]");
    STELE_ASSERT(st->depth < SDOC_DEPTH_MAX);
    wframe *f = &st->stack[st->depth++];
    f->is_obj = is_obj;
    f->n = n;
    f->i = 0;
    f->table = v + SDOC_CONT_HDR;
    f->area = f->table + (size_t)n * (is_obj ? 8 : 4);
    return put_char(st, is_obj ? '{' : '[');
}

/* Writes the next child of the innermost container, or closes it. */
static int write_step(wstate *st)
{
    wframe *f = &st->stack[st->depth - 1];
    if (f->i == f->n) {
        st->depth--;
        return put_char(st, f->is_obj ? '}' : ']');
    }
    if (f->i > 0 && put_char(st, ',') != 0) return -1;
    const uint8_t *v;
    if (f->is_obj) {
        const uint8_t *k = f->area + get_u32(f->table + 8 * (size_t)f->i);
        if (write_string(st, k + 4, get_u32(k)) != 0 || put_char(st, ':') != 0) return -1;
        v = f->area + get_u32(f->table + 8 * (size_t)f->i + 4);
    } else {
        v = f->area + get_u32(f->table + 4 * (size_t)f->i);
    }
    f->i++;
    return write_value(st, v);
}

/* Writes a document known to be canonical. */
static int write_doc(const uint8_t *doc, size_t len, struct buf *out)
{
    wstate st;
    size_t start = out->len;
    st.out = out;
    st.depth = 0;
    if (buf_reserve(out, len + 16) != 0) return -1; /* about the size of the text */
    st.w = out->data + out->len;
    st.end = out->data + out->cap - 1;
    int rc = write_value(&st, doc);
    /* Bounded: each step writes one value or closes one container of a validated
     * document of len bytes, which has fewer than len values. */
    for (size_t guard = 0; rc == 0 && st.depth > 0 && guard < 2 * len; guard++)
        rc = write_step(&st);
    STELE_ASSERT(rc != 0 || st.depth == 0);
    out->len = rc == 0 ? (size_t)(st.w - out->data) : start; /* out unchanged on failure */
    if (out->data) out->data[out->len] = 0;
    return rc;
}

int json_write(const uint8_t *doc, size_t len, struct buf *out)
{
    STELE_ASSERT(out);
    if (doc_validate(doc, len) != 0) return -1;
    return write_doc(doc, len, out);
}

int json_write_canonical(const uint8_t *doc, size_t len, struct buf *out)
{
    STELE_ASSERT(out && doc && len > 0);
    STELE_DEBUG_ASSERT(doc_validate(doc, len) == 0);
    return write_doc(doc, len, out);
}
