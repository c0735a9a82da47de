/*
 * fuzz_proof.c — libFuzzer target for the proof-bundle verifier, the one parser of
 * untrusted input that needs no key (stele verify-proof). Invariant checked: any
 * input returns a status with a message and never crashes; only a structurally
 * valid, correctly signed bundle can return STELE_OK, which random input cannot
 * produce (so STELE_OK here is a failure of the fuzz target).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stele.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[512];
    msg[0] = 0;
    stele_status rc = stele_proof_verify((const char *)data, size, NULL, msg, sizeof msg);
    if (msg[0] == 0 || (rc != STELE_OK && rc != STELE_EINVAL && rc != STELE_EPROOF &&
                        rc != STELE_ENOMEM))
        abort();
    return 0;
}
