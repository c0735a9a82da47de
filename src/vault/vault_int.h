/*
 * vault_int.h — private to src/vault: the "key value" text files with a checksum line
 * (vault.c), shared with settings.c. See vault.c for the format.
 */
#ifndef STELE_VAULT_INT_H
#define STELE_VAULT_INT_H

#include "util/util.h"

/* Reads path (at most 64 KiB), checks its checksum line and that it starts with magic;
 * *text gets the text before the checksum line (malloc'd, NUL-terminated). */
stele_status vault_kv_read(const char *path, const char *magic, uint8_t **text, util_err *e);
/* Appends the checksum line to b. 0 or -1 on out of memory. */
int vault_kv_finish(buf *b);
/* Appends "key <hex of p>\n". */
int vault_kv_hex_line(buf *b, const char *key, const uint8_t *p, size_t len);
/* The value of line "key ..." of text: 0, or -1 if missing or malformed. */
int vault_kv_get(const char *text, const char *key, char *out, size_t cap);
int vault_kv_get_hex(const char *text, const char *key, uint8_t *out, size_t len);
int vault_kv_get_u64(const char *text, const char *key, uint64_t *out);

#endif
