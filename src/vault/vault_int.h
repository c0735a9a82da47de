/*
 * vault_int.h — what the files of the vault layer share: the "key value" text files
 * with a checksum line (docs/FORMAT.md, "Text files"). Not used above the vault.
 */
#ifndef STELE_VAULT_INT_H
#define STELE_VAULT_INT_H

#include "vault/vault.h"

/* Appends "checksum <hex sha256 of everything so far>\n". 0 or -1 (out of memory). */
int vault_kv_finish(buf *b);
/* Finishes b (the checksum line), writes it atomically as dir/name and releases b;
 * bad (a failed buf_printf building it) is reported as out of memory. */
stele_status vault_kv_write(const char *dir, const char *name, buf *b, int bad, util_err *e);
/* Checks the checksum line of data[0, len); on success data is NUL-terminated before it. */
stele_status vault_kv_check(const char *path, uint8_t *data, size_t len, util_err *e);
/* The value of the first line "key value" (0), or -1 if missing or longer than cap - 1. */
int vault_kv_get(const char *text, const char *key, char *out, size_t cap);
int vault_kv_get_hex(const char *text, const char *key, uint8_t *out, size_t len);
int vault_kv_get_u64(const char *text, const char *key, uint64_t *out);
/* Appends "key <hex>\n". 0 or -1. */
int vault_kv_hex_line(buf *b, const char *key, const uint8_t *p, size_t len);
/* Reads a text file, checks its checksum and its first word (magic); caller frees. */
stele_status vault_kv_read(const char *path, const char *magic, uint8_t **text, util_err *e);

#endif
