/*
 * sdict.h — dictionary encoding of a snapshot partition body (a sequence of canonical
 * SDOC values, doc.h) and its decoder. Layer: model (uses util; used by state_snap.c,
 * which encodes each partition before it is sealed, and state_cache.c, which decodes
 * it after it is read and authenticated). docs/FORMAT.md "Partition encoding".
 *
 * Why: partitions repeat the same keys and enum-like values ("_from", "_label",
 * "CALLS", "kind":"function", a file path) in every document; SDOC also spends 4-byte
 * sizes, counts, lengths and offset tables on every container. The encoding lists
 * each string that pays for itself once (the dictionary), replaces its occurrences by
 * an index, and drops everything the decoder can recompute (sizes, offset tables),
 * writing counts and lengths as varints. Canonical SDOC has exactly one byte form per
 * value (doc.h), so the decoder rebuilds the original bytes exactly.
 *
 * Stored forms of a partition (the first byte tells them apart):
 *   raw       the body itself: empty, or its first byte is an SDOC tag (0x00-0x08);
 *   encoded   SDICT_MAGIC | varint body_len | varint nentries
 *             | nentries x { varint n | n bytes }              the dictionary
 *             | tokens                                          the values, in order
 * A token is one byte, then (per the byte):
 *   0x00 0x01 0x02    null, false, true
 *   0x03              int64: varint of its zigzag form ((v << 1) ^ (v >> 63))
 *   0x04 0x05         uint64, double: the 8 SDOC bytes
 *   0x06              string: varint n | n bytes
 *   0x07              array: varint count | count values
 *   0x08              object: varint count | count keys | count values, in SDOC order
 *   0x09              dictionary string: varint index
 *   0x40 + n          string of n < 64 bytes: n bytes
 *   0x80 + i          dictionary string i < 128
 * A key is a string token (0x06, 0x09, 0x40-0xFF) and decodes to `u32 n | n bytes`.
 * Varints are LEB128 (7 bits a byte, least significant first), at most 10 bytes.
 * Other token bytes (0x0A-0x3F) are malformed.
 *
 * Invariants:
 *   1. decode(encode(x)) == x byte for byte for every x that sdict_encode encodes: the
 *      encoder checks that x is a sequence of SDOC values laid out contiguously (doc.h
 *      canonical rule 1), which is all that the recomputed sizes and offsets need.
 *   2. The decoder never reads outside its input nor writes outside [out, out + cap),
 *      keeps at most SDOC_DEPTH_MAX containers open, and its loops are bounded by the
 *      input length: every step consumes an input byte or closes a container.
 *   3. Decoded bytes are not validated here: each document still passes doc_validate
 *      before use (state_cache.c), so a malformed but decodable input is caught there.
 */
#ifndef STELE_MODEL_SDICT_H
#define STELE_MODEL_SDICT_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* First byte of an encoded partition: dictionary encoding, version 1. A later
 * encoding takes another byte outside 0x00-0x08 (raw SDOC) and keeps this one readable. */
#define SDICT_MAGIC 0xD1
/* Dictionary entries: refs stay within 3 varint bytes (index < 2^21) and the decoder's
 * entry table within 1 MiB. A 256 KiB partition cannot fill it (each entry needs two
 * occurrences of at least 2 bytes); larger bodies keep the rest of their strings inline. */
#define SDICT_ENTRIES_MAX (1u << 16)
/* Shortest string put in the dictionary: a 1-byte string inline takes 2 bytes, as
 * many as its reference plus its share of the entry. */
#define SDICT_STR_MIN 2
/* An encoding is kept only if it is at most 7/8 of the body: below that, decoding at
 * every load buys too little (the body is stored raw). */
#define SDICT_KEEP_NUM 7
#define SDICT_KEEP_DEN 8

/*
 * Encodes body[0, len), a sequence of canonical SDOC values, and appends the encoded
 * form to out. Returns 1 (encoded), 0 (store body raw; out unchanged) when the
 * encoding would not be at most SDICT_KEEP_NUM/SDICT_KEEP_DEN of len, when len is 0,
 * or when body is not such a sequence (the caller stores it raw and the reader's
 * validation judges it), or -1 when memory runs out (out unchanged). Reads nothing
 * outside body whatever its bytes.
 */
int sdict_encode(const uint8_t *body, size_t len, buf *out);

/*
 * Decodes the encoded in[0, len) (its first byte SDICT_MAGIC) into out[0, cap), where
 * cap is the decoded length the caller expects (the snapshot directory's). Returns 0
 * when the input decodes to exactly cap bytes, else -1 with *why a static message
 * (a length that does not match, a truncated or unknown token, an index out of range,
 * too deep nesting, a size beyond a u32), or -2 when memory runs out (the dictionary's
 * table, 16 bytes an entry). out is then partly written: discard it. Thread-safe.
 */
int sdict_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, const char **why);

/* The body length of stored bytes in[0, len): len for raw bytes, the recorded length
 * for encoded ones (not checked against the tokens: sdict_decode does that). 0, or -1
 * for an unknown encoding or a truncated header. */
int sdict_body_len(const uint8_t *in, size_t len, uint64_t *body_len);

/*
 * The body of a stored partition, in place: raw bytes stay as they are (the caller
 * checks their length); encoded bytes are decoded into a new buffer of want bytes
 * that replaces *bytes and *len (the old buffer is freed). *bytes is malloc'd and
 * stays the caller's either way. STELE_OK; STELE_ECORRUPT with *why (malformed as
 * sdict_decode says, or an unknown encoding byte); STELE_ENOMEM. On an error *bytes
 * and *len are unchanged.
 */
stele_status sdict_unpack(uint8_t **bytes, size_t *len, size_t want, const char **why);

#endif /* STELE_MODEL_SDICT_H */
