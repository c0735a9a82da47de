/*
 * jsonfield.h — typed, length-checked field readers for the JSON that the ledger
 * writes (checkpoint payloads) and reads back from strangers (proof bundles).
 * Layer: ledger. Each returns 0, or -1 if the field is missing or of the wrong type
 * or length; nothing is written to `out` unless the whole value is valid.
 */
#ifndef STELE_LEDGER_JSONFIELD_H
#define STELE_LEDGER_JSONFIELD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A string of exactly 2*len lower- or upper-case hex digits, decoded into out. */
int jf_hex(json_t *obj, const char *key, uint8_t *out, size_t len);
/* A non-negative integer. */
int jf_u64(json_t *obj, const char *key, uint64_t *out);

#endif
