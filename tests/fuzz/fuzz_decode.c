/*
 * fuzz_decode.c — libFuzzer target for the decoders of authenticated bytes: record
 * headers, envelopes and superblocks. They run only after an AEAD tag verified, but
 * must still never read out of bounds or accept inconsistent lengths (STYLE.md:
 * never assert on bytes from disk). The first input byte picks the decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/format.h"
#include "ledger/superblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_rechdr(const uint8_t *p, size_t n)
{
    uint8_t in[RECHDR_BYTES] = {0};
    memcpy(in, p, n < RECHDR_BYTES ? n : RECHDR_BYTES);
    rechdr h;
    if (rechdr_decode(in, &h) != 0) return;
    uint8_t out[RECHDR_BYTES];
    rechdr_encode(&h, out);
    if (memcmp(in, out, RECHDR_BYTES) != 0) abort(); /* decode/encode round trip */
    if (h.env_len < ENVELOPE_FIXED + h.payload_len) abort();
}

static void fuzz_envelope(const uint8_t *p, size_t n)
{
    if (n < 4) return;
    uint32_t payload_len = (uint32_t)(p[0] | (p[1] << 8)) % (uint32_t)(n + 1);
    const uint8_t *idem, *payload;
    size_t idem_len;
    if (envelope_parse(p + 2, n - 2, payload_len, &idem, &idem_len, &payload) != 0) return;
    if (idem < p + 2 || payload + payload_len > p + n || idem + idem_len > payload) abort();
}

static void fuzz_superblock(const uint8_t *p, size_t n)
{
    superblock sb;
    if (sb_decode(p, n, &sb) != 0) return;
    if (sb.nseg == 0 || n != SB_FIXED_BYTES + (size_t)sb.nseg * SB_SEG_BYTES) abort();
    sb_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    switch (data[0] % 3) {
    case 0: fuzz_rechdr(data + 1, size - 1); break;
    case 1: fuzz_envelope(data + 1, size - 1); break;
    default: fuzz_superblock(data + 1, size - 1); break;
    }
    return 0;
}
