/*
 * crypto_test.c — behaviour tests for src/crypto (the known answers are in
 * tests/vectors/crypto_vectors_test.c). Layer: tests/unit.
 *
 * What is checked here is what the vectors cannot show: that a reused AES-GCM context
 * behaves exactly like a fresh one (it is reused for every ledger record), that every
 * failed open zeroes its output, that the per-thread SHA-256 context is per thread,
 * and that the KDFs separate their inputs. Random inputs come from test_rand(), so a
 * failure replays with STELE_SEED.
 */
#include "crypto/crypto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void fill_rand(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)test_rand();
}

static int all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) acc |= p[i];
    return acc == 0;
}

/* ---- AES-256-GCM ---- */

#define GCM_ROUNDS 500 /* enough calls to cover every length 0..255 twice */
#define GCM_MAX_LEN 256

/* One sealed record: inputs and the outputs of the reused context. */
typedef struct gcm_case {
    uint8_t nonce[CRYPTO_GCM_NONCE_BYTES];
    uint8_t aad[16];
    uint8_t pt[GCM_MAX_LEN];
    uint8_t ct[GCM_MAX_LEN];
    uint8_t tag[CRYPTO_GCM_TAG_BYTES];
    size_t aad_len, len;
} gcm_case;

/* A fresh context must produce the same ciphertext and tag as the reused one. */
static int gcm_fresh_agrees(const uint8_t *key, const gcm_case *c)
{
    uint8_t ct[GCM_MAX_LEN], tag[CRYPTO_GCM_TAG_BYTES];
    crypto_gcm *g = crypto_gcm_new(key);
    if (!g) return 0;
    int ok = crypto_gcm_seal(g, c->nonce, c->aad, c->aad_len, c->pt, c->len, ct, tag) == 0 &&
             memcmp(ct, c->ct, c->len) == 0 && memcmp(tag, c->tag, sizeof tag) == 0;
    crypto_gcm_free(g);
    return ok;
}

static void test_gcm_reuse_matches_fresh_context(void)
{
    uint8_t key[CRYPTO_KEY_BYTES], out[GCM_MAX_LEN];
    fill_rand(key, sizeof key);
    crypto_gcm *g = crypto_gcm_new(key);
    REQUIRE(g != NULL, "crypto_gcm_new");
    static gcm_case c;
    for (int i = 0; i < GCM_ROUNDS; i++) {
        c.len = (size_t)i % GCM_MAX_LEN;
        c.aad_len = (size_t)i % (sizeof c.aad + 1);
        fill_rand(c.nonce, sizeof c.nonce);
        fill_rand(c.aad, sizeof c.aad);
        fill_rand(c.pt, c.len);
        REQUIRE(crypto_gcm_seal(g, c.nonce, c.aad, c.aad_len, c.pt, c.len, c.ct, c.tag) == 0,
                "seal %d", i);
        CHECK(gcm_fresh_agrees(key, &c), "round %d: reused context differs from fresh", i);
        /* A failed open in between must not disturb the context's later calls. */
        if (i % 7 == 0) {
            c.tag[0] ^= 1;
            CHECK(crypto_gcm_open(g, c.nonce, c.aad, c.aad_len, c.ct, c.len, c.tag, out) != 0,
                  "round %d: bad tag accepted", i);
            c.tag[0] ^= 1;
        }
        CHECK(crypto_gcm_open(g, c.nonce, c.aad, c.aad_len, c.ct, c.len, c.tag, out) == 0,
              "round %d: open", i);
        CHECK(memcmp(out, c.pt, c.len) == 0, "round %d: plaintext differs", i);
    }
    crypto_gcm_free(g);
}

/* Opens (ct, len, tag) and requires failure with pt all zero. */
static void gcm_expect_reject(crypto_gcm *g, const uint8_t *nonce, const void *aad,
                              size_t aad_len, const uint8_t *ct, size_t len,
                              const uint8_t *tag, const char *what)
{
    uint8_t pt[64];
    memset(pt, 0xa5, sizeof pt);
    CHECK(crypto_gcm_open(g, nonce, aad, aad_len, ct, len, tag, pt) != 0, "%s accepted", what);
    CHECK(all_zero(pt, len), "%s: plaintext not zeroed", what);
}

static void test_gcm_open_failures_zero_output(void)
{
    uint8_t key[32], nonce[12], pt[48], ct[48], tag[16];
    fill_rand(key, sizeof key);
    fill_rand(nonce, sizeof nonce);
    fill_rand(pt, sizeof pt);
    crypto_gcm *g = crypto_gcm_new(key);
    REQUIRE(g != NULL, "crypto_gcm_new");
    REQUIRE(crypto_gcm_seal(g, nonce, "hdr", 3, pt, sizeof pt, ct, tag) == 0, "seal");

    gcm_expect_reject(g, nonce, "hdR", 3, ct, sizeof ct, tag, "wrong AAD");
    gcm_expect_reject(g, nonce, "hd", 2, ct, sizeof ct, tag, "shorter AAD");
    gcm_expect_reject(g, nonce, NULL, 0, ct, sizeof ct, tag, "missing AAD");
    nonce[5] ^= 0x10;
    gcm_expect_reject(g, nonce, "hdr", 3, ct, sizeof ct, tag, "wrong nonce");
    nonce[5] ^= 0x10;
    gcm_expect_reject(g, nonce, "hdr", 3, ct, sizeof ct - 1, tag, "truncated ciphertext");
    gcm_expect_reject(g, nonce, "hdr", 3, ct, 0, tag, "empty ciphertext");

    uint8_t other_key[32];
    memcpy(other_key, key, sizeof key);
    other_key[0] ^= 1;
    crypto_gcm *h = crypto_gcm_new(other_key);
    REQUIRE(h != NULL, "crypto_gcm_new");
    gcm_expect_reject(h, nonce, "hdr", 3, ct, sizeof ct, tag, "wrong key");
    crypto_gcm_free(h);

    /* In place (pt == ct): success decrypts, failure zeroes the buffer. */
    uint8_t buf[48];
    memcpy(buf, ct, sizeof buf);
    CHECK(crypto_gcm_open(g, nonce, "hdr", 3, buf, sizeof buf, tag, buf) == 0, "in place");
    CHECK(memcmp(buf, pt, sizeof pt) == 0, "in-place open gave other plaintext");
    memcpy(buf, ct, sizeof buf);
    buf[47] ^= 1;
    CHECK(crypto_gcm_open(g, nonce, "hdr", 3, buf, sizeof buf, tag, buf) != 0, "in-place tamper");
    CHECK(all_zero(buf, sizeof buf), "in-place failure not zeroed");
    crypto_gcm_free(g);
}

/* No plaintext at all: the tag still authenticates the AAD. */
static void test_gcm_empty_plaintext(void)
{
    uint8_t key[32] = {1}, nonce[12] = {2}, tag[16];
    crypto_gcm *g = crypto_gcm_new(key);
    REQUIRE(g != NULL, "crypto_gcm_new");
    REQUIRE(crypto_gcm_seal(g, nonce, "only aad", 8, NULL, 0, NULL, tag) == 0, "seal");
    CHECK(crypto_gcm_open(g, nonce, "only aad", 8, NULL, 0, tag, NULL) == 0, "open");
    CHECK(crypto_gcm_open(g, nonce, "only aaD", 8, NULL, 0, tag, NULL) != 0, "aad change");
    crypto_gcm_free(g);
    crypto_gcm_free(NULL); /* documented as fine */
}

static void test_gcm_large_roundtrip(void)
{
    enum { LEN = 1 << 20 };
    uint8_t *pt = malloc(LEN), *ct = malloc(LEN), *out = malloc(LEN);
    uint8_t key[32], nonce[12], tag[16];
    REQUIRE(pt && ct && out, "out of memory");
    crypto_random(pt, LEN);
    crypto_random(key, sizeof key);
    crypto_random(nonce, sizeof nonce);
    crypto_gcm *g = crypto_gcm_new(key);
    REQUIRE(g != NULL, "crypto_gcm_new");
    CHECK(crypto_gcm_seal(g, nonce, NULL, 0, pt, LEN, ct, tag) == 0, "seal 1 MiB");
    CHECK(memcmp(ct, pt, LEN) != 0, "ciphertext equals plaintext");
    CHECK(crypto_gcm_open(g, nonce, NULL, 0, ct, LEN, tag, out) == 0, "open 1 MiB");
    CHECK(memcmp(out, pt, LEN) == 0, "1 MiB round trip differs");
    ct[LEN / 2] ^= 0x04;
    CHECK(crypto_gcm_open(g, nonce, NULL, 0, ct, LEN, tag, out) != 0, "1 MiB tamper accepted");
    CHECK(all_zero(out, LEN), "1 MiB failure not zeroed");
    crypto_gcm_free(g);
    free(pt);
    free(ct);
    free(out);
}

/* ---- secure memory, comparison, wiping, randomness ---- */

static void test_secure_alloc_free(void)
{
    uint8_t *p = crypto_secure_alloc(100);
    REQUIRE(p != NULL, "crypto_secure_alloc");
    memset(p, 0x5a, 100);
    CHECK(p[0] == 0x5a && p[99] == 0x5a, "secure memory not writable");
    crypto_secure_free(p);
    uint8_t *big = crypto_secure_alloc(1 << 16);
    REQUIRE(big != NULL, "crypto_secure_alloc 64 KiB");
    big[(1 << 16) - 1] = 1;
    crypto_secure_free(big);
    crypto_secure_free(NULL);
}

static void test_crypto_equal(void)
{
    uint8_t a[33], b[33];
    fill_rand(a, sizeof a);
    memcpy(b, a, sizeof b);
    CHECK(crypto_equal(a, b, sizeof a) == 1, "equal buffers");
    CHECK(crypto_equal(a, b, 0) == 1, "empty buffers");
    b[0] ^= 1;
    CHECK(crypto_equal(a, b, sizeof a) == 0, "first byte differs");
    b[0] ^= 1;
    b[32] ^= 0x80;
    CHECK(crypto_equal(a, b, sizeof a) == 0, "last byte differs");
    CHECK(crypto_equal(a, b, 32) == 1, "prefix equal");
}

static void test_wipe_and_random(void)
{
    uint8_t buf[64], other[64];
    memset(buf, 0xff, sizeof buf);
    crypto_wipe(buf, sizeof buf);
    CHECK(all_zero(buf, sizeof buf), "wipe left bytes");
    crypto_wipe(NULL, 0);
    crypto_random(buf, sizeof buf);
    crypto_random(other, sizeof other);
    CHECK(memcmp(buf, other, sizeof buf) != 0, "two random draws are equal");
    crypto_random(NULL, 0);
}

/* ---- SHA-256: per-thread contexts ---- */

#define SHA_THREADS 4
#define SHA_ROUNDS 2000

/* Each thread hashes the same input many times; all must get the same digest. */
static void *sha_worker(void *arg)
{
    const uint8_t *want = arg;
    uint8_t h[32];
    for (int i = 0; i < SHA_ROUNDS; i++) {
        crypto_sha256_2("ab", 2, "c", 1, h);
        if (memcmp(h, want, 32) != 0) return (void *)1;
    }
    return NULL;
}

static void test_sha256_threads(void)
{
    uint8_t want[32];
    crypto_sha256("abc", 3, want);
    pthread_t t[SHA_THREADS];
    for (int i = 0; i < SHA_THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, sha_worker, want) == 0, "pthread_create");
    for (int i = 0; i < SHA_THREADS; i++) {
        void *rc = NULL;
        REQUIRE(pthread_join(t[i], &rc) == 0, "pthread_join");
        CHECK(rc == NULL, "thread %d got another digest", i);
    }
}

static void test_merkle_node_aliasing(void)
{
    uint8_t l[32], r[32], want[32], out[32];
    crypto_merkle_leaf("l", 1, l);
    crypto_merkle_leaf("r", 1, r);
    crypto_merkle_node(l, r, want);
    memcpy(out, l, 32);
    crypto_merkle_node(out, r, out);
    CHECK(memcmp(out, want, 32) == 0, "out aliasing left changes the node");
    memcpy(out, r, 32);
    crypto_merkle_node(l, out, out);
    CHECK(memcmp(out, want, 32) == 0, "out aliasing right changes the node");
    crypto_merkle_node(l, r, out);
    crypto_merkle_node(r, l, want);
    CHECK(memcmp(out, want, 32) != 0, "node ignores order");
}

/* ---- KDFs ---- */

static const crypto_kdf_params argon_small = {.ops = 1, .mem_kib = 8192};

static void test_argon2id_inputs_separate(void)
{
    uint8_t s1[CRYPTO_SALT_BYTES], s2[CRYPTO_SALT_BYTES], a[32], b[32];
    fill_rand(s1, sizeof s1);
    memcpy(s2, s1, sizeof s2);
    s2[15] ^= 1;
    REQUIRE(crypto_argon2id("pw", 2, s1, argon_small, a, 32) == 0, "argon2id");
    REQUIRE(crypto_argon2id("pw", 2, s1, argon_small, b, 32) == 0, "argon2id again");
    CHECK(memcmp(a, b, 32) == 0, "argon2id not deterministic");
    REQUIRE(crypto_argon2id("pw", 2, s2, argon_small, b, 32) == 0, "argon2id salt 2");
    CHECK(memcmp(a, b, 32) != 0, "different salts gave the same key");
    REQUIRE(crypto_argon2id("pW", 2, s1, argon_small, b, 32) == 0, "argon2id pw 2");
    CHECK(memcmp(a, b, 32) != 0, "different passwords gave the same key");
    crypto_kdf_params more = {.ops = 2, .mem_kib = 8192};
    REQUIRE(crypto_argon2id("pw", 2, s1, more, b, 32) == 0, "argon2id t=2");
    CHECK(memcmp(a, b, 32) != 0, "different ops gave the same key");
    REQUIRE(crypto_argon2id(NULL, 0, s1, argon_small, b, 32) == 0, "empty password");
    CHECK(memcmp(a, b, 32) != 0, "empty password gave the same key");
}

/* Parameters outside libsodium's limits fail and leave no output behind. */
static void test_argon2id_bad_params(void)
{
    uint8_t salt[CRYPTO_SALT_BYTES] = {0}, out[32];
    crypto_kdf_params no_mem = {.ops = 1, .mem_kib = 0};
    crypto_kdf_params no_ops = {.ops = 0, .mem_kib = 8192};
    crypto_kdf_params huge = {.ops = 1, .mem_kib = UINT64_MAX / 512};
    memset(out, 0xa5, sizeof out);
    CHECK(crypto_argon2id("pw", 2, salt, no_mem, out, 32) != 0, "mem 0 accepted");
    CHECK(all_zero(out, 32), "failed argon2id left output");
    CHECK(crypto_argon2id("pw", 2, salt, no_ops, out, 32) != 0, "ops 0 accepted");
    CHECK(crypto_argon2id("pw", 2, salt, huge, out, 32) != 0, "overflowing mem accepted");
    CHECK(crypto_argon2id("pw", 2, salt, argon_small, out, 8) != 0, "8-byte output accepted");
    char phc[CRYPTO_PHC_MAX];
    CHECK(crypto_phc_hash("pw", 2, no_mem, phc) != 0, "phc with mem 0 accepted");
    CHECK(crypto_phc_verify("", "pw", 2) != 0, "empty PHC string accepted");
    CHECK(crypto_phc_verify("$argon2id$v=19$m=8192,t=1,p=1$", "pw", 2) != 0, "cut PHC");
    char longphc[CRYPTO_PHC_MAX + 8];
    memset(longphc, 'a', sizeof longphc - 1);
    longphc[sizeof longphc - 1] = '\0';
    CHECK(crypto_phc_verify(longphc, "pw", 2) != 0, "over-long PHC string accepted");
}

static void test_hkdf_inputs_separate(void)
{
    uint8_t ikm[32], a[42], b[42];
    fill_rand(ikm, sizeof ikm);
    const uint8_t *info1 = (const uint8_t *)"stele/record-key";
    const uint8_t *info2 = (const uint8_t *)"stele/index-key";
    REQUIRE(crypto_hkdf(ikm, 32, NULL, 0, info1, 16, a, 42) == 0, "hkdf");
    REQUIRE(crypto_hkdf(ikm, 32, NULL, 0, info1, 16, b, 42) == 0, "hkdf again");
    CHECK(memcmp(a, b, 42) == 0, "hkdf not deterministic");
    REQUIRE(crypto_hkdf(ikm, 32, NULL, 0, info2, 15, b, 42) == 0, "hkdf info 2");
    CHECK(memcmp(a, b, 42) != 0, "different info gave the same key");
    REQUIRE(crypto_hkdf(ikm, 32, (const uint8_t *)"s", 1, info1, 16, b, 42) == 0, "salt");
    CHECK(memcmp(a, b, 42) != 0, "a salt changed nothing");
    /* RFC 5869: a shorter output is a prefix of a longer one (T(1) || T(2) || ...). */
    REQUIRE(crypto_hkdf(ikm, 32, NULL, 0, info1, 16, b, 16) == 0, "hkdf 16");
    CHECK(memcmp(a, b, 16) == 0, "short output is not a prefix");
}

/* ---- wrapping, signatures, sealing with fresh keys ---- */

static void test_wrap_edges(void)
{
    uint8_t key[32], w[CRYPTO_WRAP_OVERHEAD + 32], w2[sizeof w], pt[32];
    crypto_random(key, sizeof key);
    REQUIRE(crypto_wrap(key, NULL, 0, NULL, 0, w) == 0, "wrap empty");
    CHECK(crypto_unwrap(key, NULL, 0, w, CRYPTO_WRAP_OVERHEAD, NULL) == 0, "unwrap empty");
    REQUIRE(crypto_wrap(key, "a", 1, key, 32, w) == 0, "wrap key");
    REQUIRE(crypto_wrap(key, "a", 1, key, 32, w2) == 0, "wrap key again");
    CHECK(memcmp(w, w2, CRYPTO_WRAP_NONCE_BYTES) != 0, "two wraps share a nonce");
    CHECK(crypto_unwrap(key, "a", 1, w, sizeof w, pt) == 0 && memcmp(pt, key, 32) == 0,
          "unwrap key");
    CHECK(crypto_unwrap(key, "a", 1, w, 0, pt) != 0, "empty input accepted");
}

static void test_sign_random_keys(void)
{
    uint8_t pk[32], sk[64], pk2[32], sk2[64], sig[64];
    REQUIRE(crypto_sig_keypair(pk, sk) == 0, "keypair");
    REQUIRE(crypto_sig_keypair(pk2, sk2) == 0, "keypair 2");
    CHECK(memcmp(pk, pk2, 32) != 0, "two key pairs are equal");
    REQUIRE(crypto_sig_sign(sk, "ledger head", 11, sig) == 0, "sign");
    CHECK(crypto_sig_verify(pk, "ledger head", 11, sig) == 0, "verify");
    CHECK(crypto_sig_verify(pk2, "ledger head", 11, sig) != 0, "other key verified");
    CHECK(crypto_sig_verify(pk, "ledger heaD", 11, sig) != 0, "other message verified");
    REQUIRE(crypto_sig_sign(sk, NULL, 0, sig) == 0, "sign empty");
    CHECK(crypto_sig_verify(pk, NULL, 0, sig) == 0, "verify empty");
}

static void test_seal_random_keys(void)
{
    uint8_t pk[32], sk[32], box[CRYPTO_SEAL_OVERHEAD + 5], box2[sizeof box], pt[5];
    REQUIRE(crypto_seal_keypair(pk, sk) == 0, "box keypair");
    REQUIRE(crypto_seal(pk, "hello", 5, box) == 0, "seal");
    REQUIRE(crypto_seal(pk, "hello", 5, box2) == 0, "seal again");
    CHECK(memcmp(box, box2, sizeof box) != 0, "sealing is deterministic");
    CHECK(crypto_seal_open(pk, sk, box, sizeof box, pt) == 0 && memcmp(pt, "hello", 5) == 0,
          "open");
    REQUIRE(crypto_seal(pk, NULL, 0, box) == 0, "seal empty");
    CHECK(crypto_seal_open(pk, sk, box, CRYPTO_SEAL_OVERHEAD, NULL) == 0, "open empty");
}

int main(void)
{
    if (crypto_init() != 0 || crypto_init() != 0) { /* the second call must also succeed */
        fprintf(stderr, "crypto_init failed\n");
        return 1;
    }
    test_seed();
    TEST_RUN(test_gcm_reuse_matches_fresh_context);
    TEST_RUN(test_gcm_open_failures_zero_output);
    TEST_RUN(test_gcm_empty_plaintext);
    TEST_RUN(test_gcm_large_roundtrip);
    TEST_RUN(test_secure_alloc_free);
    TEST_RUN(test_crypto_equal);
    TEST_RUN(test_wipe_and_random);
    TEST_RUN(test_sha256_threads);
    TEST_RUN(test_merkle_node_aliasing);
    TEST_RUN(test_argon2id_inputs_separate);
    TEST_RUN(test_argon2id_bad_params);
    TEST_RUN(test_hkdf_inputs_separate);
    TEST_RUN(test_wrap_edges);
    TEST_RUN(test_sign_random_keys);
    TEST_RUN(test_seal_random_keys);
    return test_summary();
}
