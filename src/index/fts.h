/*
 * fts.h — a full-text index over one (collection, path): Unicode tokenizer (utf8proc),
 * Snowball stemming (libstemmer), inverted lists as Roaring bitmaps, BM25 ranking,
 * prefix terms. Layer: index (uses model, util). Derived state like index.h: built
 * from the document state, maintained on every applied write, never on disk (an
 * explicit text index's definition is: index.h).
 *
 * Tokens (fts_tokenize; documents and queries go through the same function):
 *   1. The text is read as UTF-8; an invalid byte is a separator and is skipped.
 *   2. Each code point is mapped by utf8proc to its compatibility decomposition
 *      (NFKD: the ligature "ﬁ" becomes "fi", fullwidth "Ａ" becomes "A"), case-folded,
 *      with marks removed ("Café" -> "cafe", "ß" -> "ss") and default-ignorable code
 *      points (soft hyphen, zero-width joiner) dropped; the token is recomposed (NFC)
 *      at its end, which only matters for scripts whose letters decompose (Hangul).
 *   3. Letters (L*) and numbers (N*) form words; "'" and U+2019 are dropped without
 *      separating ("don't" -> "dont", "O'Neil" -> "oneil"); every other code point
 *      separates ("e-mail" -> "e" "mail", "snake_case" -> "snake" "case", "3.14" ->
 *      "3" "14").
 *   4. Han ideographs, Hiragana and Katakana have no spaces between words: each such
 *      code point is a token of its own ("東京" -> "東" "京"), so a query for a CJK
 *      word is the AND of its characters (recall over precision; no phrases yet).
 *      Other scripts without spaces (Thai, Lao, Khmer) form runs: a query must name
 *      the whole run.
 *   5. A token keeps at most FTS_TOKEN_MAX bytes of normalized UTF-8 (cut at a code
 *      point); the rest of a longer word is skipped, in documents and queries alike.
 * Terms: each token is stemmed with the index's Snowball stemmer ("running", "runs"
 * and "run" are the term "run"). No stop words: BM25's IDF already gives common words
 * little weight, and a stop list would make some queries ("the who") unanswerable.
 *
 * Query language (fts_search): whitespace-separated words, all required (AND).
 *   word     documents containing a word with the same stem;
 *   word*    prefix: documents containing a term whose stem is the stem of some
 *            indexed word that starts with "word" (normalized, unstemmed): "runni*"
 *            finds documents with "running" and so also with "runs" — stem-consistent,
 *            like a plain word. A prefix is over the unstemmed form, so "happy*" finds
 *            "happy" even though its stem is "happi";
 *   -word    exclusion: documents containing it are removed (-word* excludes a prefix);
 *            a query needs at least one word that is not excluded;
 *   "a b"    quotes are separators: a quoted phrase is the AND of its words (phrases
 *            need positions, which are not indexed).
 * A chunk that splits into several tokens ("e-mail") requires (or, negated, excludes)
 * each of them; a chunk without letters or digits is ignored.
 *
 * Ranking: Okapi BM25 with k1 = 1.2, b = 0.75, IDF(t) = ln(1 + (N - n + 0.5)/(n + 0.5))
 * (always > 0), where N is the number of indexed documents (documents whose value at
 * the path is a string or an array holding a string, even an empty one), n the number
 * containing term t, |D| a document's length in tokens and avgdl the mean of |D|.
 * A plain word adds its term's BM25 weight; a prefix adds the largest weight among the
 * terms it expands to (so a short prefix does not outweigh a precise word); excluded
 * words do not score. Equal scores rank by doc number, ascending.
 *
 * Storage: terms (stems) and words (normalized unstemmed forms) are interned in two
 * string tables; per term a Roaring bitmap of documents; per document a forward list
 * of (term id, tf) pairs sorted by term id and its distinct word ids (so an update
 * needs no old text, and tf lookups are a binary search in one short array); per word
 * the number of documents that contain it (prefix expansion skips words at 0) and a
 * by-string order for binary-searched prefix ranges, extended lazily at search time.
 * Ids are never reused (an emptied term or word stays, a few bytes).
 *
 * Invariants (checked by fts_check):
 *  1. doc n is in the bitmap of term t iff n's forward list has (t, tf) with tf >= 1;
 *  2. a document's length is the sum of its tf; the total length is the sum of lengths;
 *  3. a word's document count is the number of forward lists that list it.
 * Threads: one thread at a time per index (the Snowball stemmer is not thread-safe
 * and a search may extend the sorted word order); the caller serializes.
 */
#ifndef STELE_INDEX_FTS_H
#define STELE_INDEX_FTS_H

#include <stddef.h>
#include <stdint.h>

#include "model/state.h"
#include "util/util.h"

typedef struct roaring_bitmap_s roaring_bitmap_t;
typedef struct fts fts;

/* ---- limits (docs/LIMITS.md) ---- */
#define FTS_TOKEN_MAX 64        /* bytes of a normalized token; longer words are cut */
#define FTS_QUERY_MAX 4096      /* bytes of a query */
#define FTS_QUERY_TERMS_MAX 32  /* tokens in a query */
#define FTS_PATH_MAX 256        /* bytes of the indexed path (as DINDEX_PATH_MAX) */
#define FTS_LANG_MAX 32         /* bytes of a stemmer name */
_Static_assert(FTS_LANG_MAX == MSTATE_LANG_MAX, "a defined language fits an index's");
#define FTS_BM25_K1 1.2
#define FTS_BM25_B 0.75

/* Calls fn(ctx, token, len) for every token of text[0, len), in order; token is a
 * normalized, unstemmed, NOT NUL-terminated UTF-8 string of 1..FTS_TOKEN_MAX bytes,
 * valid during the call. Any bytes are accepted. Stops and returns fn's value if it
 * is not 0; else 0. Pure: thread-safe. */
typedef int (*fts_token_fn)(void *ctx, const char *tok, size_t len);
int fts_tokenize(const char *text, size_t len, fts_token_fn fn, void *ctx);

/* A new, empty index of path (dotted, as doc_path) in collection coll, stemming with
 * Snowball's `lang` ("english" if NULL; see sb_stemmer_list: "french", "german",
 * "porter", ...). NULL with e set: STELE_EINVAL for an unknown language or a path
 * too long, STELE_ENOMEM. Free with fts_free. */
fts *fts_new(uint32_t coll, const char *path, const char *lang, util_err *e);
void fts_free(fts *f);
uint32_t fts_coll(const fts *f);
const char *fts_path(const fts *f);     /* borrowed, valid until fts_free */
const char *fts_lang(const fts *f);     /* borrowed, valid until fts_free */

/* Makes text[0, len) the indexed text of doc n, replacing what n had (NULL: n has no
 * text, e.g. after a delete). 0, or -1 on out of memory or a vocabulary beyond 4 GiB of
 * strings, in which case n keeps its previous text in the index. */
int fts_update(fts *f, uint32_t n, const char *text, size_t len);
/* Re-indexes doc n from its version `now` (NULL or deleted: no text): the string at
 * the index's path, or the strings of an array there joined with newlines; any other
 * value is no text. The caller calls it only for documents of fts_coll(f). 0 or -1. */
int fts_update_doc(fts *f, uint32_t n, const mversion *now);
/* Indexes the newest version of every document of the collection in state s (for a
 * new index). 0 or -1 on out of memory. */
int fts_build(fts *f, const mstate *s);

typedef struct fts_hit {
    uint32_t doc;
    double score;
} fts_hit;

/*
 * Runs query q[0, len) (see the query language above). On success returns 0 and sets
 * *docs to a new bitmap of the matching documents (caller frees it with
 * roaring_bitmap_free); if hits is not NULL, also *hits to a malloc'd array (caller
 * frees with free; NULL when empty) of the best k matches (all of them if k is 0),
 * best first, and *nhits to its length. Errors (nothing allocated, e filled):
 * STELE_EINVAL for an empty query, a query with no letters or digits, or only
 * excluded words; STELE_ETOOBIG beyond FTS_QUERY_MAX bytes or FTS_QUERY_TERMS_MAX
 * tokens; STELE_ENOMEM.
 */
stele_status fts_search(fts *f, const char *q, size_t len, size_t k, roaring_bitmap_t **docs,
                        fts_hit **hits, size_t *nhits, util_err *e);

/* Live terms (with at least one document), postings (term, document pairs) and an
 * estimate of the memory held, in bytes (for index listings and explain). */
void fts_sizes(const fts *f, uint64_t *terms, uint64_t *postings, uint64_t *bytes);
/* Number of indexed documents and their total length in tokens (BM25's N and N·avgdl). */
void fts_stats(const fts *f, uint64_t *ndocs, uint64_t *ntokens);
/* Checks invariants 1-3 over the whole index (tests, debug); 0 or -1. */
int fts_check(const fts *f);

#endif /* STELE_INDEX_FTS_H */
