/*
 * value.h — how Stele compares SDOC values: index keys, one total order over every
 * value (for ordered indices, range filters and sort), and ISO-8601 date instants.
 * Layer: index (uses model/doc.h and util). The query layer uses the same functions,
 * so the index evaluator and the per-document matcher cannot disagree.
 *
 * Order (docs/DOCUMENTS.md, "Query semantics"): type brackets
 *     null < numbers < strings < objects < arrays < booleans
 * then within a bracket: numbers by exact value (int64, uint64 and double compared
 * exactly: 2^53 + 1 > 2^53 as a double; never rounded through a double); strings by
 * their UTF-8 bytes (memcmp, the shorter first on a common prefix); false < true;
 * objects and arrays by their canonical SDOC bytes (a fixed, documented but not
 * meaningful order — only sort uses it).
 *
 * Keys: the SDOC bytes of a scalar, with numbers normalised so that equal numbers
 * have equal keys: an integral double within int64 is keyed as that int64, one in
 * [2^63, 2^64) as that uint64 (3, 3.0, 3e0 and -0.0 / 0 are one key each).
 * Invariant: dval_cmp(a, b) == 0 iff the keys of a and b are equal bytes (scalars).
 */
#ifndef STELE_INDEX_VALUE_H
#define STELE_INDEX_VALUE_H

#include <stdint.h>

#include "model/doc.h"
#include "util/util.h"

enum { DVAL_NULL, DVAL_NUMBER, DVAL_STRING, DVAL_OBJECT, DVAL_ARRAY, DVAL_BOOL };

/* The bracket (DVAL_*) of an SDOC tag, or -1 for an unknown tag. */
int dval_bracket(int tag);
/* Total order over SDOC values (see above): <0, 0, >0. A malformed view sorts first. */
int dval_cmp(doc_view a, doc_view b);
/* The normalised key of a scalar into k (reset first): 0, or -1 if v is an object, an
 * array, malformed, or memory ran out. */
int dval_key(doc_view v, buf *k);

/* An instant: seconds since 1970-01-01T00:00:00Z and nanoseconds (fraction digits
 * beyond the ninth are ignored). */
typedef struct dinstant {
    int64_t sec;
    uint32_t nsec;
} dinstant;
/* 0 and *out if s[0, n) is YYYY-MM-DD[THH:MM[:SS[.fraction]]][Z|+HH:MM|-HH:MM] with a
 * valid calendar date and time (no zone = UTC); -1 otherwise. */
int dval_date(const char *s, size_t n, dinstant *out);
int dinstant_cmp(dinstant a, dinstant b);

#endif
