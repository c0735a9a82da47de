/*
 * merkle.c — see merkle.h. Layer: ledger.
 */
#include "ledger/merkle.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "util/util.h"

static uint64_t largest_pow2_below(uint64_t n)
{
    STELE_ASSERT(n > 1);
    uint64_t k = 1;
    while (k << 1 < n) k <<= 1;
    return k;
}

int merkle_root(const merkle_hash *data, uint64_t lo, uint64_t hi, uint8_t out[32])
{
    STELE_ASSERT(lo <= hi);
    uint64_t n = hi - lo;
    if (n == 0) {
        crypto_sha256("", 0, out);
        return 0;
    }
    merkle_hash *lvl = malloc((size_t)n * sizeof *lvl);
    if (!lvl) return -1;
    for (uint64_t i = 0; i < n; i++) crypto_merkle_leaf(data[lo + i], 32, lvl[i]);
    while (n > 1) { /* pair up; an odd last node is promoted unchanged */
        uint64_t j = 0;
        for (uint64_t i = 0; i + 1 < n; i += 2) crypto_merkle_node(lvl[i], lvl[i + 1], lvl[j++]);
        if (n & 1) memmove(lvl[j++], lvl[n - 1], 32);
        n = j;
    }
    memcpy(out, lvl[0], 32);
    free(lvl);
    return 0;
}

void merkle_frontier_init(merkle_frontier *f) { memset(f, 0, sizeof *f); }

void merkle_frontier_push(merkle_frontier *f, const uint8_t data[32])
{
    uint8_t h[32];
    crypto_merkle_leaf(data, 32, h);
    uint64_t s = f->size;
    int level = 0;
    while (s & 1) { /* a full subtree at this level exists: merge */
        crypto_merkle_node(f->node[level], h, h);
        s >>= 1;
        level++;
    }
    STELE_ASSERT(level < MERKLE_MAX_PATH);
    memcpy(f->node[level], h, 32);
    f->size++;
}

void merkle_frontier_root(const merkle_frontier *f, uint8_t out[32])
{
    if (f->size == 0) {
        crypto_sha256("", 0, out);
        return;
    }
    int have = 0;
    uint8_t acc[32];
    for (int level = 0; level < MERKLE_MAX_PATH; level++) {
        if (!((f->size >> level) & 1)) continue;
        if (!have) memcpy(acc, f->node[level], 32);
        else crypto_merkle_node(f->node[level], acc, acc);
        have = 1;
    }
    memcpy(out, acc, 32);
}

int merkle_inclusion_path(const merkle_hash *data, uint64_t m, uint64_t n,
                          merkle_hash path[MERKLE_MAX_PATH], size_t *len)
{
    STELE_ASSERT(m < n);
    merkle_hash rev[MERKLE_MAX_PATH];
    size_t k = 0;
    uint64_t lo = 0, hi = n;
    while (hi - lo > 1) {
        uint64_t split = largest_pow2_below(hi - lo);
        STELE_ASSERT(k < MERKLE_MAX_PATH);
        if (m - lo < split) {
            if (merkle_root(data, lo + split, hi, rev[k++]) != 0) return -1;
            hi = lo + split;
        } else {
            if (merkle_root(data, lo, lo + split, rev[k++]) != 0) return -1;
            lo += split;
        }
    }
    for (size_t i = 0; i < k; i++) memcpy(path[i], rev[k - 1 - i], 32); /* leaf upward */
    *len = k;
    return 0;
}

int merkle_consistency_proof(const merkle_hash *data, uint64_t m, uint64_t n,
                             merkle_hash proof[MERKLE_MAX_PATH], size_t *len)
{
    STELE_ASSERT(m > 0 && m <= n);
    merkle_hash rev[MERKLE_MAX_PATH];
    size_t k = 0;
    uint64_t lo = 0;
    int whole = 1; /* RFC 6962's b: the old tree is a complete subtree so far */
    while (m != n) {
        uint64_t split = largest_pow2_below(n);
        STELE_ASSERT(k + 1 < MERKLE_MAX_PATH);
        if (m <= split) {
            if (merkle_root(data, lo + split, lo + n, rev[k++]) != 0) return -1;
            n = split;
        } else {
            if (merkle_root(data, lo, lo + split, rev[k++]) != 0) return -1;
            lo += split;
            m -= split;
            n -= split;
            whole = 0;
        }
    }
    size_t out = 0;
    if (!whole && merkle_root(data, lo, lo + m, proof[out++]) != 0) return -1;
    for (size_t i = 0; i < k; i++) memcpy(proof[out++], rev[k - 1 - i], 32);
    *len = out;
    return 0;
}

int merkle_verify_inclusion(const uint8_t data[32], uint64_t m, uint64_t n,
                            const merkle_hash *path, size_t len, const uint8_t root[32])
{
    if (m >= n || len > MERKLE_MAX_PATH) return -1;
    uint64_t fn = m, sn = n - 1;
    uint8_t r[32];
    crypto_merkle_leaf(data, 32, r);
    for (size_t i = 0; i < len; i++) {
        if (sn == 0) return -1;
        if ((fn & 1) || fn == sn) {
            crypto_merkle_node(path[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            crypto_merkle_node(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return (sn == 0 && crypto_equal(r, root, 32)) ? 0 : -1;
}

int merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t root_m[32],
                              const uint8_t root_n[32], const merkle_hash *proof, size_t len)
{
    if (m == 0 || m > n || len > MERKLE_MAX_PATH) return -1;
    if (m == n) return (len == 0 && crypto_equal(root_m, root_n, 32)) ? 0 : -1;
    merkle_hash p[MERKLE_MAX_PATH + 1];
    size_t np = 0;
    if ((m & (m - 1)) == 0) memcpy(p[np++], root_m, 32); /* m is a power of two */
    for (size_t i = 0; i < len; i++) memcpy(p[np++], proof[i], 32);
    if (np == 0) return -1;
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[32], sr[32];
    memcpy(fr, p[0], 32);
    memcpy(sr, p[0], 32);
    for (size_t i = 1; i < np; i++) {
        if (sn == 0) return -1;
        if ((fn & 1) || fn == sn) {
            crypto_merkle_node(p[i], fr, fr);
            crypto_merkle_node(p[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            crypto_merkle_node(sr, p[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return (sn == 0 && crypto_equal(fr, root_m, 32) && crypto_equal(sr, root_n, 32)) ? 0 : -1;
}
