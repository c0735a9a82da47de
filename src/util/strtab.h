/*
 * strtab.h — a string table: interned byte strings with dense ids (0, 1, 2, ... in
 * order of first add), stored back to back, found by an open-addressing hash (FNV-1a:
 * a table hash, not security). Used for full-text terms and words (index/fts.c) and the
 * graph's label dictionary (model/edges.c). Layer: util.
 *
 * Invariants: string i is chars[off[i], off[i + 1]); tab holds id + 1 of every string
 * exactly once (0 = empty), at most half full. Strings are not NUL-terminated.
 */
#ifndef STELE_UTIL_STRTAB_H
#define STELE_UTIL_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef struct strtab {
    buf chars;     /* strings back to back */
    uint32_t *off; /* string i is chars[off[i], off[i + 1]); n + 1 entries */
    uint32_t n, cap;
    uint32_t *tab; /* open addressing: id + 1, 0 = empty */
    size_t tabcap;
} strtab; /* zero-initialized = empty */

#define STRTAB_NONE UINT32_MAX

/* String id (borrowed until the next add or truncate; *len bytes, no NUL). */
const char *strtab_get(const strtab *t, uint32_t id, size_t *len);
/* The id of s[0, len), or STRTAB_NONE. */
uint32_t strtab_find(const strtab *t, const char *s, size_t len);
/* Adds s (not present) and returns its id, or STRTAB_NONE on out of memory or when the
 * table would pass 4 GiB of strings or 2^32 - 2 ids. */
uint32_t strtab_add(strtab *t, const char *s, size_t len);
/* Forgets the strings with ids >= n (a rollback). */
void strtab_truncate(strtab *t, uint32_t n);
void strtab_release(strtab *t);
/* Bytes held. */
size_t strtab_bytes(const strtab *t);

#endif
