/*
 * merkle.h — RFC 6962 Merkle trees over record hashes. Layer: ledger.
 * The tree's data items D[i] are the 32-byte record hashes of LSN i+1; leaf hash =
 * SHA-256(0x00 | D[i]), node = SHA-256(0x01 | left | right) (crypto_merkle_*).
 * Everything is iterative (no recursion): an unpaired rightmost node is promoted to
 * the next level, which gives the same tree as RFC 6962's "largest power of two
 * smaller than n" split.
 */
#ifndef STELE_LEDGER_MERKLE_H
#define STELE_LEDGER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_MAX_PATH 64

typedef uint8_t merkle_hash[32];

/* MTH(D[lo:hi]); the empty tree's root is SHA-256(""). 0, or -1 out of memory. */
int merkle_root(const merkle_hash *data, uint64_t lo, uint64_t hi, uint8_t out[32]);

/* Incremental root over a growing list: O(log n) memory and time per push. */
typedef struct merkle_frontier {
    merkle_hash node[MERKLE_MAX_PATH]; /* node[i] = root of a full subtree of 2^i leaves */
    uint64_t size;
} merkle_frontier;
void merkle_frontier_init(merkle_frontier *f);
void merkle_frontier_push(merkle_frontier *f, const uint8_t data[32]);
void merkle_frontier_root(const merkle_frontier *f, uint8_t out[32]);

/* Audit path of leaf m in the tree of size n (RFC 6962 2.1.1). *len gets the count. */
int merkle_inclusion_path(const merkle_hash *data, uint64_t m, uint64_t n,
                          merkle_hash path[MERKLE_MAX_PATH], size_t *len);
/* Consistency proof between sizes m <= n (RFC 6962 2.1.2). */
int merkle_consistency_proof(const merkle_hash *data, uint64_t m, uint64_t n,
                             merkle_hash proof[MERKLE_MAX_PATH], size_t *len);

/* Verifiers (RFC 9162 2.1.3.2 and 2.1.4.2). 0 if the proof holds, -1 otherwise. */
int merkle_verify_inclusion(const uint8_t data[32], uint64_t m, uint64_t n,
                            const merkle_hash *path, size_t len, const uint8_t root[32]);
int merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t root_m[32],
                              const uint8_t root_n[32], const merkle_hash *proof, size_t len);

#endif
