/*
 * fuzz_sdict.c — libFuzzer target for the dictionary encoding of snapshot partitions
 * (src/model/sdict.h). The first input byte picks the direction (bit 0):
 *   0: the rest is a stored partition from disk: sdict_decode (to the length its header
 *      records, at most 1 MiB) and sdict_unpack must stay in bounds; what decodes has
 *      exactly that length, and if it encodes again it must decode back to itself;
 *   1: the rest is a body (any bytes, usually not SDOC): sdict_encode either leaves it
 *      raw or gives an encoding that decodes back to exactly the input.
 * Seeds in tests/fuzz/seeds/fuzz_sdict/: an encoded partition of graph edges and
 * documents (edges.sdict) and its body (edges.body), each after its direction byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/sdict.h"
#include "util/util.h"

#define FUZZ_BODY_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encodes in[0, n); if encoded, the encoding must decode back to in exactly. */
static void round_trip(const uint8_t *in, size_t n)
{
    buf enc;
    buf_init(&enc);
    int rc = sdict_encode(in, n, &enc);
    if (rc == 1) {
        uint8_t *out = malloc(n ? n : 1);
        const char *why;
        if (!out) abort();
        if (sdict_decode(enc.data, enc.len, out, n, &why) != 0 || memcmp(out, in, n) != 0)
            abort();
        free(out);
    } else if (rc != 0 || enc.len != 0) {
        abort(); /* -1 is out of memory only: not at these sizes */
    }
    buf_release(&enc);
}

static void fuzz_decode(const uint8_t *p, size_t n)
{
    uint64_t want = 0;
    if (sdict_body_len(p, n, &want) != 0 || want > FUZZ_BODY_MAX) return;
    uint8_t *out = malloc(want ? want : 1);
    if (!out) abort();
    const char *why = NULL;
    int rc = n && p[0] == SDICT_MAGIC ? sdict_decode(p, n, out, want, &why) : -1;
    if (rc == 0) round_trip(out, want);
    else if (n && p[0] == SDICT_MAGIC && !why) abort();
    free(out);
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) abort();
    memcpy(copy, p, n);
    size_t len = n;
    stele_status st = sdict_unpack(&copy, &len, want, &why);
    if (st == STELE_OK && len != (n && p[0] == SDICT_MAGIC ? want : n)) abort();
    if (st != STELE_OK && (len != n || memcmp(copy, p, n) != 0)) abort(); /* unchanged */
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (data[0] & 1) round_trip(data + 1, size - 1);
    else fuzz_decode(data + 1, size - 1);
    return 0;
}
