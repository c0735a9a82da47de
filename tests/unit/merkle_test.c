/*
 * merkle_test.c — src/ledger/merkle.h against a reference written straight from
 * RFC 6962 section 2.1 (MTH, PATH, PROOF/SUBPROOF). Layer: tests/unit.
 *
 * The reference is recursive on purpose: it is the RFC's text transcribed, small enough
 * to check by eye, and only ever runs on test data of at most TREE_MAX leaves. It also
 * has recursive *verifiers* (recompute the roots from a proof by following the RFC's
 * definitions backwards), so that a mutated proof is judged by the mathematics and not
 * by the verifier under test: a mutation that the RFC definitions accept (an inclusion
 * path for leaf 0 of 4 leaves is also a valid path for leaf 0 of 3 leaves, whose third
 * "leaf" is an opaque subtree) must be accepted by merkle.c too, and every other
 * mutation must be rejected. Bit flips, truncation and extension are always rejected.
 * The leaf data is random (test_rand), so a failure replays with STELE_SEED.
 */
#include "ledger/merkle.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "testutil.h"

#define TREE_MAX 70

static merkle_hash data[TREE_MAX];

/* ---- reference (RFC 6962 2.1), hashing done here rather than by crypto_merkle_* ---- */

static void ref_leaf(const uint8_t d[32], uint8_t out[32])
{
    uint8_t b[33];
    b[0] = 0x00;
    memcpy(b + 1, d, 32);
    crypto_sha256(b, sizeof b, out);
}

static void ref_node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
    uint8_t b[65];
    b[0] = 0x01;
    memcpy(b + 1, l, 32);
    memcpy(b + 33, r, 32);
    crypto_sha256(b, sizeof b, out);
}

static uint64_t ref_split(uint64_t n) /* largest power of two smaller than n (n > 1) */
{
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
}

/* MTH(D[lo:hi]). */
static void ref_mth(uint64_t lo, uint64_t hi, uint8_t out[32])
{
    uint64_t n = hi - lo;
    if (n == 0) {
        crypto_sha256("", 0, out);
        return;
    }
    if (n == 1) {
        ref_leaf(data[lo], out);
        return;
    }
    uint64_t k = ref_split(n);
    uint8_t l[32], r[32];
    ref_mth(lo, lo + k, l);
    ref_mth(lo + k, hi, r);
    ref_node(l, r, out);
}

/* PATH(m, D[lo:hi]), appended to out (leaf upward, as the RFC lists it). */
static void ref_path(uint64_t m, uint64_t lo, uint64_t hi, merkle_hash *out, size_t *len)
{
    uint64_t n = hi - lo;
    if (n <= 1) return;
    uint64_t k = ref_split(n);
    if (m < k) {
        ref_path(m, lo, lo + k, out, len);
        ref_mth(lo + k, hi, out[(*len)++]);
    } else {
        ref_path(m - k, lo + k, hi, out, len);
        ref_mth(lo, lo + k, out[(*len)++]);
    }
}

/* SUBPROOF(m, D[lo:hi], b), appended to out. */
static void ref_subproof(uint64_t m, uint64_t lo, uint64_t hi, int b, merkle_hash *out,
                         size_t *len)
{
    uint64_t n = hi - lo;
    if (m == n) {
        if (!b) ref_mth(lo, hi, out[(*len)++]);
        return;
    }
    uint64_t k = ref_split(n);
    if (m <= k) {
        ref_subproof(m, lo, lo + k, b, out, len);
        ref_mth(lo + k, hi, out[(*len)++]);
    } else {
        ref_subproof(m - k, lo + k, hi, 0, out, len);
        ref_mth(lo, lo + k, out[(*len)++]);
    }
}

/* Reference inclusion verifier: follows PATH's definition backwards, consuming the
 * path from its end (the top sibling). Returns 0 and the root if the shape fits. */
static int ref_incl_root(const uint8_t leaf_data[32], uint64_t m, uint64_t n,
                         const merkle_hash *path, size_t len, uint8_t out[32])
{
    if (n == 1) {
        if (len != 0 || m != 0) return -1;
        ref_leaf(leaf_data, out);
        return 0;
    }
    if (len == 0) return -1;
    uint64_t k = ref_split(n);
    uint8_t sub[32];
    if (m < k) {
        if (ref_incl_root(leaf_data, m, k, path, len - 1, sub) != 0) return -1;
        ref_node(sub, path[len - 1], out);
    } else {
        if (ref_incl_root(leaf_data, m - k, n - k, path, len - 1, sub) != 0) return -1;
        ref_node(path[len - 1], sub, out);
    }
    return 0;
}

static int ref_verify_inclusion(const uint8_t d[32], uint64_t m, uint64_t n,
                                const merkle_hash *path, size_t len, const uint8_t root[32])
{
    uint8_t r[32];
    if (m >= n || ref_incl_root(d, m, n, path, len, r) != 0) return -1;
    return memcmp(r, root, 32) == 0 ? 0 : -1;
}

/* Reference consistency verifier: SUBPROOF backwards. old_out gets the old tree's
 * part of this subtree, new_out the new tree's. root_m stands for the whole old tree
 * when b is set and the old tree is exactly this subtree. */
static int ref_cons_roots(uint64_t m, uint64_t n, int b, const uint8_t root_m[32],
                          const merkle_hash *proof, size_t len, uint8_t old_out[32],
                          uint8_t new_out[32])
{
    if (m == n) {
        if (b) {
            if (len != 0) return -1;
            memcpy(old_out, root_m, 32);
        } else {
            if (len != 1) return -1;
            memcpy(old_out, proof[0], 32);
        }
        memcpy(new_out, old_out, 32);
        return 0;
    }
    if (len == 0) return -1;
    uint64_t k = ref_split(n);
    uint8_t o[32], nw[32];
    const uint8_t *s = proof[len - 1];
    if (m <= k) {
        if (ref_cons_roots(m, k, b, root_m, proof, len - 1, o, nw) != 0) return -1;
        memcpy(old_out, o, 32);
        ref_node(nw, s, new_out);
    } else {
        if (ref_cons_roots(m - k, n - k, 0, root_m, proof, len - 1, o, nw) != 0) return -1;
        ref_node(s, o, old_out);
        ref_node(s, nw, new_out);
    }
    return 0;
}

static int ref_verify_consistency(uint64_t m, uint64_t n, const uint8_t root_m[32],
                                  const uint8_t root_n[32], const merkle_hash *proof, size_t len)
{
    uint8_t o[32], nw[32];
    if (m == 0 || m > n || ref_cons_roots(m, n, 1, root_m, proof, len, o, nw) != 0) return -1;
    return (memcmp(o, root_m, 32) == 0 && memcmp(nw, root_n, 32) == 0) ? 0 : -1;
}

/* ---- helpers ---- */

static void fill_data(void)
{
    for (size_t i = 0; i < TREE_MAX; i++)
        for (size_t j = 0; j < 32; j++) data[i][j] = (uint8_t)test_rand();
}

static int same_list(const merkle_hash *a, size_t na, const merkle_hash *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* ---- tests ---- */

static void test_reference_sanity(void)
{
    /* Hand-computed small trees, so that the oracle itself is anchored. */
    uint8_t l0[32], l1[32], l2[32], n01[32], want[32], got[32];
    ref_leaf(data[0], l0);
    ref_leaf(data[1], l1);
    ref_leaf(data[2], l2);
    ref_node(l0, l1, n01);
    ref_mth(0, 1, got);
    CHECK(memcmp(got, l0, 32) == 0, "MTH of one leaf is its leaf hash");
    ref_node(n01, l2, want);
    ref_mth(0, 3, got);
    CHECK(memcmp(got, want, 32) == 0, "MTH of three leaves is node(node(l0,l1),l2)");
    crypto_merkle_leaf(data[0], 32, got);
    CHECK(memcmp(got, l0, 32) == 0, "crypto_merkle_leaf agrees with H(0x00 | d)");
    crypto_merkle_node(l0, l1, got);
    CHECK(memcmp(got, n01, 32) == 0, "crypto_merkle_node agrees with H(0x01 | l | r)");
    uint8_t empty[32];
    crypto_sha256("", 0, empty);
    CHECK(merkle_root(data, 5, 5, got) == 0 && memcmp(got, empty, 32) == 0,
          "the empty tree's root is SHA-256 of nothing");
}

static void test_roots_and_frontier(void)
{
    merkle_frontier f;
    merkle_frontier_init(&f);
    uint8_t got[32], want[32];
    merkle_frontier_root(&f, got);
    crypto_sha256("", 0, want);
    CHECK(memcmp(got, want, 32) == 0, "empty frontier root is SHA-256 of nothing");
    for (uint64_t n = 1; n <= TREE_MAX; n++) {
        ref_mth(0, n, want);
        REQUIRE(merkle_root(data, 0, n, got) == 0, "merkle_root(0, %llu) failed",
                (unsigned long long)n);
        CHECK(memcmp(got, want, 32) == 0, "merkle_root over %llu leaves differs from MTH",
              (unsigned long long)n);
        merkle_frontier_push(&f, data[n - 1]);
        CHECK(f.size == n, "frontier size %llu after %llu pushes", (unsigned long long)f.size,
              (unsigned long long)n);
        merkle_frontier_root(&f, got);
        CHECK(memcmp(got, want, 32) == 0, "frontier root after %llu pushes differs from MTH",
              (unsigned long long)n);
        for (uint64_t lo = 0; lo < n; lo++) { /* sub-ranges, as checkpoints use them */
            ref_mth(lo, n, want);
            REQUIRE(merkle_root(data, lo, n, got) == 0, "merkle_root failed");
            CHECK(memcmp(got, want, 32) == 0, "merkle_root(%llu, %llu) differs from MTH",
                  (unsigned long long)lo, (unsigned long long)n);
        }
    }
}

/* Applies every mutation to an inclusion proof; counts what was tried. */
static void mutate_inclusion(uint64_t m, uint64_t n, const merkle_hash *path, size_t len,
                             const uint8_t root[32], unsigned *tried)
{
    merkle_hash p[MERKLE_MAX_PATH + 1];
    for (size_t i = 0; i < len; i++) { /* flip one random bit of each element */
        memcpy(p, path, len * sizeof *p);
        unsigned bit = (unsigned)(test_rand() % 256);
        p[i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK(merkle_verify_inclusion(data[m], m, n, p, len, root) != 0,
              "inclusion m=%llu n=%llu: bit %u of element %zu flipped, still accepted",
              (unsigned long long)m, (unsigned long long)n, bit, i);
        (*tried)++;
    }
    uint8_t d[32], r[32];
    memcpy(d, data[m], 32);
    d[test_rand() % 32] ^= 1;
    CHECK(merkle_verify_inclusion(d, m, n, path, len, root) != 0,
          "inclusion m=%llu n=%llu: changed leaf data accepted", (unsigned long long)m,
          (unsigned long long)n);
    memcpy(r, root, 32);
    r[test_rand() % 32] ^= 0x80;
    CHECK(merkle_verify_inclusion(data[m], m, n, path, len, r) != 0,
          "inclusion m=%llu n=%llu: changed root accepted", (unsigned long long)m,
          (unsigned long long)n);
    if (len > 0)
        CHECK(merkle_verify_inclusion(data[m], m, n, path, len - 1, root) != 0,
              "inclusion m=%llu n=%llu: truncated path accepted", (unsigned long long)m,
              (unsigned long long)n);
    memcpy(p, path, len * sizeof *p);
    for (size_t j = 0; j < 32; j++) p[len][j] = (uint8_t)test_rand();
    CHECK(merkle_verify_inclusion(data[m], m, n, p, len + 1, root) != 0,
          "inclusion m=%llu n=%llu: extended path accepted", (unsigned long long)m,
          (unsigned long long)n);
    CHECK(merkle_verify_inclusion(data[m], n, n, path, len, root) != 0,
          "inclusion with index == size accepted");
    for (uint64_t wm = 0; wm < n + 2; wm++) { /* every wrong index, same leaf data */
        if (wm == m) continue;
        CHECK(merkle_verify_inclusion(data[m], wm, n, path, len, root) != 0,
              "inclusion m=%llu n=%llu: accepted at wrong index %llu", (unsigned long long)m,
              (unsigned long long)n, (unsigned long long)wm);
        (*tried)++;
    }
    for (uint64_t wn = 1; wn <= TREE_MAX + 2; wn++) { /* every wrong size: judged by the RFC */
        if (wn == n) continue;
        int want = ref_verify_inclusion(data[m], m, wn, path, len, root);
        int got = merkle_verify_inclusion(data[m], m, wn, path, len, root);
        CHECK(got == want, "inclusion m=%llu n=%llu claimed as size %llu: verifier says %d, "
                           "RFC 6962 definitions say %d",
              (unsigned long long)m, (unsigned long long)n, (unsigned long long)wn, got, want);
        (*tried)++;
    }
}

static void test_inclusion_paths(void)
{
    unsigned tried = 0;
    for (uint64_t n = 1; n <= TREE_MAX; n++) {
        uint8_t root[32];
        ref_mth(0, n, root);
        for (uint64_t m = 0; m < n; m++) {
            merkle_hash want[MERKLE_MAX_PATH], got[MERKLE_MAX_PATH];
            size_t wl = 0, gl = 0;
            ref_path(m, 0, n, want, &wl);
            REQUIRE(merkle_inclusion_path(data, m, n, got, &gl) == 0, "inclusion path failed");
            CHECK(same_list(got, gl, want, wl),
                  "inclusion path m=%llu n=%llu differs from PATH (len %zu vs %zu)",
                  (unsigned long long)m, (unsigned long long)n, gl, wl);
            CHECK(ref_verify_inclusion(data[m], m, n, want, wl, root) == 0,
                  "oracle rejects its own path m=%llu n=%llu", (unsigned long long)m,
                  (unsigned long long)n);
            CHECK(merkle_verify_inclusion(data[m], m, n, got, gl, root) == 0,
                  "inclusion path m=%llu n=%llu does not verify", (unsigned long long)m,
                  (unsigned long long)n);
            mutate_inclusion(m, n, want, wl, root, &tried);
        }
    }
    CHECK(tried > 10000, "only %u inclusion mutations tried", tried);
}

static void mutate_consistency(uint64_t m, uint64_t n, const merkle_hash *proof, size_t len,
                               const uint8_t rm[32], const uint8_t rn[32], unsigned *tried)
{
    merkle_hash p[MERKLE_MAX_PATH + 1];
    for (size_t i = 0; i < len; i++) {
        memcpy(p, proof, len * sizeof *p);
        unsigned bit = (unsigned)(test_rand() % 256);
        p[i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK(merkle_verify_consistency(m, n, rm, rn, p, len) != 0,
              "consistency %llu->%llu: bit %u of element %zu flipped, still accepted",
              (unsigned long long)m, (unsigned long long)n, bit, i);
        (*tried)++;
    }
    uint8_t r[32];
    memcpy(r, rm, 32);
    r[test_rand() % 32] ^= 4;
    CHECK(merkle_verify_consistency(m, n, r, rn, proof, len) != 0,
          "consistency %llu->%llu: changed old root accepted", (unsigned long long)m,
          (unsigned long long)n);
    memcpy(r, rn, 32);
    r[test_rand() % 32] ^= 4;
    CHECK(merkle_verify_consistency(m, n, rm, r, proof, len) != 0,
          "consistency %llu->%llu: changed new root accepted", (unsigned long long)m,
          (unsigned long long)n);
    if (m != n)
        CHECK(merkle_verify_consistency(m, n, rn, rm, proof, len) != 0,
              "consistency %llu->%llu: swapped roots accepted", (unsigned long long)m,
              (unsigned long long)n);
    if (len > 0)
        CHECK(merkle_verify_consistency(m, n, rm, rn, proof, len - 1) != 0,
              "consistency %llu->%llu: truncated proof accepted", (unsigned long long)m,
              (unsigned long long)n);
    memcpy(p, proof, len * sizeof *p);
    for (size_t j = 0; j < 32; j++) p[len][j] = (uint8_t)test_rand();
    CHECK(merkle_verify_consistency(m, n, rm, rn, p, len + 1) != 0,
          "consistency %llu->%llu: extended proof accepted", (unsigned long long)m,
          (unsigned long long)n);
    memcpy(p[len], rm, 32); /* extending with a plausible hash, not just noise */
    CHECK(merkle_verify_consistency(m, n, rm, rn, p, len + 1) != 0,
          "consistency %llu->%llu: proof extended with the old root accepted",
          (unsigned long long)m, (unsigned long long)n);
    CHECK(merkle_verify_consistency(0, n, rm, rn, proof, len) != 0,
          "consistency from size 0 accepted");
    for (uint64_t w = 1; w <= TREE_MAX + 2; w++) { /* wrong old size, wrong new size */
        if (w != m) {
            int want = ref_verify_consistency(w, n, rm, rn, proof, len);
            int got = merkle_verify_consistency(w, n, rm, rn, proof, len);
            CHECK(got == want, "consistency %llu->%llu claimed as %llu->%llu: verifier says %d, "
                               "RFC 6962 definitions say %d",
                  (unsigned long long)m, (unsigned long long)n, (unsigned long long)w,
                  (unsigned long long)n, got, want);
            (*tried)++;
        }
        if (w != n) {
            int want = ref_verify_consistency(m, w, rm, rn, proof, len);
            int got = merkle_verify_consistency(m, w, rm, rn, proof, len);
            CHECK(got == want, "consistency %llu->%llu claimed as %llu->%llu: verifier says %d, "
                               "RFC 6962 definitions say %d",
                  (unsigned long long)m, (unsigned long long)n, (unsigned long long)m,
                  (unsigned long long)w, got, want);
            (*tried)++;
        }
    }
}

static void test_consistency_proofs(void)
{
    unsigned tried = 0;
    uint8_t roots[TREE_MAX + 1][32];
    for (uint64_t n = 1; n <= TREE_MAX; n++) ref_mth(0, n, roots[n]);
    for (uint64_t n = 1; n <= TREE_MAX; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            merkle_hash want[MERKLE_MAX_PATH], got[MERKLE_MAX_PATH];
            size_t wl = 0, gl = 0;
            ref_subproof(m, 0, n, 1, want, &wl);
            REQUIRE(merkle_consistency_proof(data, m, n, got, &gl) == 0,
                    "consistency proof failed");
            CHECK(same_list(got, gl, want, wl),
                  "consistency proof %llu->%llu differs from PROOF (len %zu vs %zu)",
                  (unsigned long long)m, (unsigned long long)n, gl, wl);
            CHECK(ref_verify_consistency(m, n, roots[m], roots[n], want, wl) == 0,
                  "oracle rejects its own proof %llu->%llu", (unsigned long long)m,
                  (unsigned long long)n);
            CHECK(merkle_verify_consistency(m, n, roots[m], roots[n], got, gl) == 0,
                  "consistency proof %llu->%llu does not verify", (unsigned long long)m,
                  (unsigned long long)n);
            mutate_consistency(m, n, want, wl, roots[m], roots[n], &tried);
        }
    }
    CHECK(tried > 10000, "only %u consistency mutations tried", tried);
}

/* A proof longer than MERKLE_MAX_PATH must be refused outright, not read past. */
static void test_overlong_proofs(void)
{
    static merkle_hash junk[MERKLE_MAX_PATH + 1];
    uint8_t root[32];
    ref_mth(0, 8, root);
    CHECK(merkle_verify_inclusion(data[0], 0, 8, junk, MERKLE_MAX_PATH + 1, root) != 0,
          "overlong inclusion path accepted");
    CHECK(merkle_verify_consistency(3, 8, root, root, junk, MERKLE_MAX_PATH + 1) != 0,
          "overlong consistency proof accepted");
}

int main(void)
{
    test_seed();
    fill_data();
    TEST_RUN(test_reference_sanity);
    TEST_RUN(test_roots_and_frontier);
    TEST_RUN(test_inclusion_paths);
    TEST_RUN(test_consistency_proofs);
    TEST_RUN(test_overlong_proofs);
    return test_summary();
}
