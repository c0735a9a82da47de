/*
 * fuzz_json.c — libFuzzer target for the JSON parser, the SDOC readers and the JSON
 * writer (src/model/doc.h). Every input is tried both ways:
 *   - as JSON text: if json_parse accepts it, the SDOC must validate, json_write must
 *     succeed, the written text must parse to the same bytes and write to the same
 *     text (a fixed point); if it rejects it, the error must carry a sane position;
 *   - as SDOC bytes from disk: doc_validate, doc_get, doc_index and doc_path must stay
 *     in bounds; what doc_validate accepts must be canonical (write then parse gives
 *     the same bytes), and json_write must refuse what it rejects.
 * Seeds in tests/fuzz/seeds/fuzz_json/: small JSON texts and a few SDOC encodings
 * (*.sdoc, which start with a tag byte < 0x09 and so are never JSON).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/doc.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_view(const uint8_t *data, size_t size, int rc, const doc_view *v)
{
    if (rc == 1 && (v->p < data || v->len == 0 || v->p + v->len > data + size)) abort();
}

static void fuzz_binary(const uint8_t *data, size_t size)
{
    doc_view v;
    check_view(data, size, doc_get(data, size, "a", 1, &v), &v);
    check_view(data, size, doc_get(data, size, "", 0, &v), &v);
    check_view(data, size, doc_index(data, size, 0, &v), &v);
    check_view(data, size, doc_index(data, size, 2, &v), &v);
    check_view(data, size, doc_path(data, size, "a.0.b", &v), &v);
    buf w, d;
    buf_init(&w);
    buf_init(&d);
    if (doc_validate(data, size) == 0) {
        json_error err;
        if (json_write(data, size, &w) != 0) abort();
        if (json_parse((const char *)w.data, w.len, &d, &err) != 0) abort();
        if (d.len != size || memcmp(d.data, data, size) != 0) abort(); /* canonical */
    } else if (json_write(data, size, &w) != -1 || w.len != 0) {
        abort();
    }
    buf_release(&w);
    buf_release(&d);
}

static void fuzz_text(const uint8_t *data, size_t size)
{
    buf d, w1, d2, w2;
    buf_init(&d);
    buf_init(&w1);
    buf_init(&d2);
    buf_init(&w2);
    json_error err;
    if (json_parse((const char *)data, size, &d, &err) != 0) {
        if (err.line < 1 || err.column < 1 || err.offset > size || !err.msg || !err.msg[0])
            abort();
        if (d.len != 0) abort(); /* out unchanged */
    } else {
        if (doc_validate(d.data, d.len) != 0) abort();
        if (json_write(d.data, d.len, &w1) != 0) abort();
        if (json_parse((const char *)w1.data, w1.len, &d2, &err) != 0) abort();
        if (d2.len != d.len || memcmp(d2.data, d.data, d.len) != 0) abort();
        if (json_write(d2.data, d2.len, &w2) != 0) abort();
        if (w2.len != w1.len || memcmp(w2.data, w1.data, w1.len) != 0) abort();
    }
    buf_release(&d);
    buf_release(&w1);
    buf_release(&d2);
    buf_release(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_text(data, size);
    fuzz_binary(data, size);
    return 0;
}
