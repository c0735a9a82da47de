/*
 * jsonfield.c — see jsonfield.h. Layer: ledger.
 */
#include "ledger/jsonfield.h"

#include <string.h>

#include "crypto/crypto.h"

int jf_hex(json_t *obj, const char *key, uint8_t *out, size_t len)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return (s && strlen(s) == 2 * len) ? crypto_unhex(s, out, len) : -1;
}

int jf_u64(json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}
