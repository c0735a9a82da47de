/*
 * crypto_vectors_test.c — known-answer tests for every primitive crypto.c wraps.
 * Layer: tests/vectors (calls src/crypto through crypto.h, and libsodium directly where
 * the wrapper hides an input a published vector fixes, such as the XChaCha20 nonce).
 *
 * Why: a wrapper that round-trips with itself can still be wrong (wrong prefix, wrong
 * byte order, wrong salt default) and then no other implementation can read our data.
 * Every expected value below is copied exactly from the document named next to it;
 * vectors that could not be confirmed against a published copy are left out.
 * Negative cases follow the Wycheproof idea: one modified input must be rejected.
 */

#include <sodium.h>

#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define HEX_MAX 512 /* longest value compared here, in bytes */

/* Compares bytes with an expected lower-case hex string and names the case on failure. */
static int same_hex(const void *got, size_t len, const char *want, const char *what)
{
    static char hex[2 * HEX_MAX + 1];
    if (len > HEX_MAX) abort();
    crypto_hex(got, len, hex);
    int ok = strcmp(hex, want) == 0;
    CHECK(ok, "%s:\n  got  %s\n  want %s", what, hex, want);
    return ok;
}

static int all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) acc |= p[i];
    return acc == 0;
}

/* ---- SHA-256 ---- */

/* FIPS 180-2, Appendix B.1 ("abc") and B.2 (the 448-bit message); the empty message is
 * NIST CAVP SHA256ShortMsg.rsp, Len = 0. */
static void test_sha256_fips180(void)
{
    static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    uint8_t h[CRYPTO_HASH_BYTES];
    crypto_sha256("abc", 3, h);
    same_hex(h, sizeof h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
             "SHA-256(\"abc\")");
    crypto_sha256(msg448, 56, h);
    same_hex(h, sizeof h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
             "SHA-256(448-bit message)");
    crypto_sha256(NULL, 0, h);
    same_hex(h, sizeof h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
             "SHA-256(\"\")");
    /* crypto_sha256_2 must hash the concatenation, whatever the split point. */
    for (size_t cut = 0; cut <= 56; cut++) {
        crypto_sha256_2(msg448, cut, msg448 + cut, 56 - cut, h);
        if (!same_hex(h, sizeof h,
                      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                      "SHA-256 over two pieces"))
            break;
    }
}

/* ---- HKDF-SHA256 ---- */

/* RFC 5869 Appendix A.1 (Test Case 1) and A.3 (Test Case 3: zero-length salt and info). */
static void test_hkdf_rfc5869_1_and_3(void)
{
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof ikm);
    test_unhex("000102030405060708090a0b0c", salt, sizeof salt);
    test_unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof info);
    REQUIRE(crypto_hkdf(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm,
                        sizeof okm) == 0, "hkdf test case 1 failed");
    same_hex(okm, sizeof okm,
             "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
             "RFC 5869 A.1 OKM");
    REQUIRE(crypto_hkdf(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, sizeof okm) == 0,
            "hkdf test case 3 failed");
    same_hex(okm, sizeof okm,
             "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
             "RFC 5869 A.3 OKM");
}

/* RFC 5869 Appendix A.2 (Test Case 2: longer inputs and outputs). */
static void test_hkdf_rfc5869_2(void)
{
    uint8_t ikm[80], salt[80], info[80], okm[82];
    for (int i = 0; i < 80; i++) {
        ikm[i] = (uint8_t)i;
        salt[i] = (uint8_t)(0x60 + i);
        info[i] = (uint8_t)(0xb0 + i);
    }
    REQUIRE(crypto_hkdf(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm,
                        sizeof okm) == 0, "hkdf test case 2 failed");
    same_hex(okm, sizeof okm,
             "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
             "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
             "cc30c58179ec3e87c14c01d5c1f3434f1d87",
             "RFC 5869 A.2 OKM");
}

/* RFC 5869 section 2.3: L <= 255*HashLen; outside that the call must fail cleanly. */
static void test_hkdf_length_limits(void)
{
    static uint8_t okm[255 * 32 + 1];
    uint8_t ikm[22];
    memset(ikm, 0x0b, sizeof ikm);
    CHECK(crypto_hkdf(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, 255 * 32) == 0, "max length");
    CHECK(crypto_hkdf(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, 255 * 32 + 1) != 0,
          "over-long output accepted");
    CHECK(crypto_hkdf(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, 0) != 0, "empty output accepted");
}

/* ---- AES-256-GCM ---- */

typedef struct gcm_vector {
    const char *name, *key, *iv, *aad, *pt, *ct, *tag;
} gcm_vector;

/* McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B, test cases
 * 13, 14 and 16 (AES-256, 96-bit IV; 16 has AAD and a partial last block). */
static const gcm_vector gcm_vectors[] = {
    {"GCM spec test case 13",
     "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"GCM spec test case 14",
     "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"GCM spec test case 16",
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

/* Opening a modified (ct, tag, aad) must fail and leave pt all zero. */
static void gcm_expect_reject(crypto_gcm *g, const uint8_t *iv, const uint8_t *aad,
                              size_t aad_len, const uint8_t *ct, size_t len,
                              const uint8_t *tag, const char *what)
{
    uint8_t pt[64];
    memset(pt, 0xa5, sizeof pt);
    int rc = crypto_gcm_open(g, iv, aad, aad_len, ct, len, tag, pt);
    CHECK(rc != 0, "%s: modified input accepted", what);
    CHECK(all_zero(pt, len), "%s: plaintext not zeroed", what);
}

static void gcm_run_vector(const gcm_vector *v)
{
    uint8_t key[32], iv[12], aad[32], pt[64], ct[64], tag[16], out[64];
    size_t aad_len = strlen(v->aad) / 2, len = strlen(v->pt) / 2;
    test_unhex(v->key, key, sizeof key);
    test_unhex(v->iv, iv, sizeof iv);
    test_unhex(v->aad, aad, aad_len);
    test_unhex(v->pt, pt, len);
    crypto_gcm *g = crypto_gcm_new(key);
    REQUIRE(g != NULL, "%s: crypto_gcm_new failed", v->name);

    CHECK(crypto_gcm_seal(g, iv, aad, aad_len, pt, len, ct, tag) == 0, "%s: seal", v->name);
    same_hex(ct, len, v->ct, v->name);
    same_hex(tag, sizeof tag, v->tag, v->name);
    CHECK(crypto_gcm_open(g, iv, aad, aad_len, ct, len, tag, out) == 0, "%s: open", v->name);
    CHECK(memcmp(out, pt, len) == 0, "%s: open gave other plaintext", v->name);

    tag[15] ^= 0x01; /* the last tag bit */
    gcm_expect_reject(g, iv, aad, aad_len, ct, len, tag, v->name);
    tag[15] ^= 0x01;
    if (len) {
        ct[0] ^= 0x80;
        gcm_expect_reject(g, iv, aad, aad_len, ct, len, tag, v->name);
        ct[0] ^= 0x80;
    }
    uint8_t extra[33];
    memcpy(extra, aad, aad_len);
    extra[aad_len] = 0; /* one more AAD byte */
    gcm_expect_reject(g, iv, extra, aad_len + 1, ct, len, tag, v->name);
    iv[11] ^= 0x01;
    gcm_expect_reject(g, iv, aad, aad_len, ct, len, tag, v->name);
    crypto_gcm_free(g);
}

static void test_aes256gcm_spec(void)
{
    for (size_t i = 0; i < sizeof gcm_vectors / sizeof gcm_vectors[0]; i++)
        gcm_run_vector(&gcm_vectors[i]);
}

/* ---- XChaCha20-Poly1305 ---- */

/* draft-irtf-cfrg-xchacha-03, Appendix A.3.1 (AEAD_XChaCha20_Poly1305). */
static const char xc_key[] = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
static const char xc_nonce[] = "404142434445464748494a4b4c4d4e4f5051525354555657";
static const char xc_aad[] = "50515253c0c1c2c3c4c5c6c7";
static const char xc_pt[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    "future, sunscreen would be it.";
static const char xc_ct[] =
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
    "21f9664c97637da9768812f615c68b13b52e";
static const char xc_tag[] = "c0875924c1c7987947deafd8780acf49";
#define XC_LEN 114

/* The vector through libsodium directly: crypto_wrap picks its own nonce. */
static void test_xchacha_draft_a31_libsodium(void)
{
    uint8_t key[32], nonce[24], aad[12], ct[XC_LEN + 16], pt[XC_LEN];
    unsigned long long n = 0;
    REQUIRE(strlen(xc_pt) == XC_LEN, "plaintext length");
    test_unhex(xc_key, key, sizeof key);
    test_unhex(xc_nonce, nonce, sizeof nonce);
    test_unhex(xc_aad, aad, sizeof aad);
    REQUIRE(crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &n, (const uint8_t *)xc_pt, XC_LEN,
                                                       aad, sizeof aad, NULL, nonce, key) == 0,
            "encrypt");
    REQUIRE(n == sizeof ct, "ciphertext length");
    same_hex(ct, XC_LEN, xc_ct, "draft-irtf-cfrg-xchacha A.3.1 ciphertext");
    same_hex(ct + XC_LEN, 16, xc_tag, "draft-irtf-cfrg-xchacha A.3.1 tag");
    CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &n, NULL, ct, sizeof ct, aad,
                                                     sizeof aad, nonce, key) == 0, "decrypt");
    CHECK(memcmp(pt, xc_pt, XC_LEN) == 0, "decrypt gave other plaintext");
}

/* The published vector laid out as crypto_wrap's nonce || ct || tag must unwrap. */
static void test_xchacha_draft_a31_unwrap_layout(void)
{
    uint8_t key[32], aad[12], in[XC_LEN + CRYPTO_WRAP_OVERHEAD], pt[XC_LEN];
    test_unhex(xc_key, key, sizeof key);
    test_unhex(xc_aad, aad, sizeof aad);
    test_unhex(xc_nonce, in, 24);
    test_unhex(xc_ct, in + 24, XC_LEN);
    test_unhex(xc_tag, in + 24 + XC_LEN, 16);
    REQUIRE(crypto_unwrap(key, aad, sizeof aad, in, sizeof in, pt) == 0,
            "crypto_unwrap rejected the published vector");
    CHECK(memcmp(pt, xc_pt, XC_LEN) == 0, "unwrap gave other plaintext");
}

static void wrap_expect_reject(const uint8_t *key, const uint8_t *aad, size_t aad_len,
                               const uint8_t *in, size_t in_len, const char *what)
{
    uint8_t pt[XC_LEN];
    memset(pt, 0xa5, sizeof pt);
    CHECK(crypto_unwrap(key, aad, aad_len, in, in_len, pt) != 0, "%s accepted", what);
    if (in_len >= CRYPTO_WRAP_OVERHEAD)
        CHECK(all_zero(pt, in_len - CRYPTO_WRAP_OVERHEAD), "%s: output not zeroed", what);
}

/* crypto_wrap round trip with the vector's key, AAD and text; then one change at a time. */
static void test_xchacha_wrap_roundtrip_and_tamper(void)
{
    uint8_t key[32], aad[12], w[XC_LEN + CRYPTO_WRAP_OVERHEAD], pt[XC_LEN];
    test_unhex(xc_key, key, sizeof key);
    test_unhex(xc_aad, aad, sizeof aad);
    REQUIRE(crypto_wrap(key, aad, sizeof aad, xc_pt, XC_LEN, w) == 0, "wrap");
    REQUIRE(crypto_unwrap(key, aad, sizeof aad, w, sizeof w, pt) == 0, "unwrap");
    CHECK(memcmp(pt, xc_pt, XC_LEN) == 0, "round trip changed the plaintext");

    aad[0] ^= 1;
    wrap_expect_reject(key, aad, sizeof aad, w, sizeof w, "modified AAD");
    aad[0] ^= 1;
    wrap_expect_reject(key, aad, sizeof aad - 1, w, sizeof w, "truncated AAD");
    static const size_t flips[] = {0, 23, 24, 24 + XC_LEN - 1, 24 + XC_LEN, sizeof w - 1};
    static const char *const names[] = {"nonce first byte", "nonce last byte",
                                        "ciphertext first byte", "ciphertext last byte",
                                        "tag first byte", "tag last byte"};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        w[flips[i]] ^= 0x01;
        wrap_expect_reject(key, aad, sizeof aad, w, sizeof w, names[i]);
        w[flips[i]] ^= 0x01;
    }
    wrap_expect_reject(key, aad, sizeof aad, w, sizeof w - 1, "truncated input");
    wrap_expect_reject(key, aad, sizeof aad, w, CRYPTO_WRAP_OVERHEAD - 1, "short input");
    key[31] ^= 1;
    wrap_expect_reject(key, aad, sizeof aad, w, sizeof w, "wrong key");
}

/* ---- Ed25519 ---- */

typedef struct ed_vector {
    const char *name, *seed, *pk, *msg, *sig;
} ed_vector;

/* RFC 8032 section 7.1, TEST 1, TEST 2 and TEST 3. */
static const ed_vector ed_vectors[] = {
    {"RFC 8032 7.1 TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"RFC 8032 7.1 TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"RFC 8032 7.1 TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

static void ed_run_vector(const ed_vector *v)
{
    uint8_t seed[32], pk[32], sk[64], msg[3], sig[64], other[3] = {0};
    size_t len = strlen(v->msg) / 2;
    test_unhex(v->seed, seed, sizeof seed);
    test_unhex(v->msg, msg, len);
    REQUIRE(crypto_sig_seed_keypair(seed, pk, sk) == 0, "%s: keypair", v->name);
    same_hex(pk, sizeof pk, v->pk, v->name);
    REQUIRE(crypto_sig_sign(sk, msg, len, sig) == 0, "%s: sign", v->name);
    same_hex(sig, sizeof sig, v->sig, v->name);
    CHECK(crypto_sig_verify(pk, msg, len, sig) == 0, "%s: verify", v->name);

    /* A different message (one more byte, or one bit changed) must not verify. */
    memcpy(other, msg, len);
    CHECK(crypto_sig_verify(pk, other, len + 1, sig) != 0, "%s: longer message", v->name);
    if (len) {
        other[0] ^= 0x01;
        CHECK(crypto_sig_verify(pk, other, len, sig) != 0, "%s: modified message", v->name);
    }
    sig[0] ^= 0x01; /* in R */
    CHECK(crypto_sig_verify(pk, msg, len, sig) != 0, "%s: modified R", v->name);
    sig[0] ^= 0x01;
    sig[40] ^= 0x01; /* in S */
    CHECK(crypto_sig_verify(pk, msg, len, sig) != 0, "%s: modified S", v->name);
}

static void test_ed25519_rfc8032(void)
{
    for (size_t i = 0; i < sizeof ed_vectors / sizeof ed_vectors[0]; i++)
        ed_run_vector(&ed_vectors[i]);
}

/* ---- X25519 and sealed boxes ---- */

/* RFC 7748 section 6.1 (Curve25519 Diffie-Hellman, Alice and Bob). */
static const char x_alice_sk[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char x_alice_pk[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char x_bob_sk[] = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char x_bob_pk[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char x_shared[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

static void test_x25519_rfc7748(void)
{
    uint8_t a_sk[32], b_sk[32], a_pk[32], b_pk[32], k[32];
    test_unhex(x_alice_sk, a_sk, 32);
    test_unhex(x_bob_sk, b_sk, 32);
    REQUIRE(crypto_scalarmult_base(a_pk, a_sk) == 0, "alice public key");
    same_hex(a_pk, 32, x_alice_pk, "RFC 7748 6.1 Alice public key");
    REQUIRE(crypto_scalarmult_base(b_pk, b_sk) == 0, "bob public key");
    same_hex(b_pk, 32, x_bob_pk, "RFC 7748 6.1 Bob public key");
    REQUIRE(crypto_scalarmult(k, a_sk, b_pk) == 0, "alice shared");
    same_hex(k, 32, x_shared, "RFC 7748 6.1 shared secret (Alice)");
    REQUIRE(crypto_scalarmult(k, b_sk, a_pk) == 0, "bob shared");
    same_hex(k, 32, x_shared, "RFC 7748 6.1 shared secret (Bob)");
}

/* Sealed boxes to the RFC 7748 Bob key: open with Bob's pair, reject any change. */
static void test_seal_with_rfc7748_keys(void)
{
    static const char msg[] = "sealed to bob";
    enum { LEN = sizeof msg - 1 };
    uint8_t b_sk[32], b_pk[32], a_sk[32], a_pk[32], box[LEN + CRYPTO_SEAL_OVERHEAD], pt[LEN];
    test_unhex(x_bob_sk, b_sk, 32);
    test_unhex(x_bob_pk, b_pk, 32);
    test_unhex(x_alice_sk, a_sk, 32);
    test_unhex(x_alice_pk, a_pk, 32);
    REQUIRE(crypto_seal(b_pk, msg, LEN, box) == 0, "seal");
    REQUIRE(crypto_seal_open(b_pk, b_sk, box, sizeof box, pt) == 0, "open");
    CHECK(memcmp(pt, msg, LEN) == 0, "open gave other plaintext");
    CHECK(crypto_seal_open(a_pk, a_sk, box, sizeof box, pt) != 0, "opened with Alice's key");
    CHECK(all_zero(pt, LEN), "failed open did not zero the output");
    for (size_t i = 0; i < sizeof box; i += 7) { /* ephemeral key, tag and ciphertext */
        box[i] ^= 0x40;
        CHECK(crypto_seal_open(b_pk, b_sk, box, sizeof box, pt) != 0, "byte %zu modified", i);
        box[i] ^= 0x40;
    }
    CHECK(crypto_seal_open(b_pk, b_sk, box, sizeof box - 1, pt) != 0, "truncated box");
    CHECK(crypto_seal_open(b_pk, b_sk, box, CRYPTO_SEAL_OVERHEAD - 1, pt) != 0, "short box");
}

/* ---- Argon2id ---- */

/* Reference PHC strings from phc-winner-argon2 src/test.c (Argon2id, v=19, p=1; the salt
 * "somesalt" is 8 bytes, so only the PHC path can take them). */
static const char phc_ref_m256[] =
    "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
static const char phc_ref_m65536[] =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
static const char phc_ref_diffpw[] =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94";
static const char phc_ref_diffsalt[] =
    "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw";
/* The same file's Argon2i (not id) string for m=256,t=2,p=1: valid, but not argon2id. */
static const char phc_ref_argon2i[] =
    "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8";

static void test_argon2id_reference_phc(void)
{
    CHECK(crypto_phc_verify(phc_ref_m256, "password", 8) == 0, "m=256 reference string");
    CHECK(crypto_phc_verify(phc_ref_m65536, "password", 8) == 0, "m=65536 reference string");
    CHECK(crypto_phc_verify(phc_ref_diffpw, "differentpassword", 17) == 0,
          "differentpassword reference string");
    CHECK(crypto_phc_verify(phc_ref_diffsalt, "password", 8) == 0, "diffsalt reference string");
    CHECK(crypto_phc_verify(phc_ref_m256, "passwore", 8) != 0, "wrong password accepted");
    CHECK(crypto_phc_verify(phc_ref_diffpw, "password", 8) != 0, "wrong password accepted");
    CHECK(crypto_phc_verify(phc_ref_argon2i, "password", 8) != 0, "argon2i string accepted");

    char bad[sizeof phc_ref_m256];
    memcpy(bad, phc_ref_m256, sizeof bad);
    bad[sizeof bad - 2] = bad[sizeof bad - 2] == 'A' ? 'B' : 'A'; /* last hash character */
    CHECK(crypto_phc_verify(bad, "password", 8) != 0, "modified hash accepted");
    memcpy(bad, phc_ref_m256, sizeof bad);
    memcpy(strstr(bad, "m=256"), "m=259", 5); /* other parameters, so another hash */
    CHECK(crypto_phc_verify(bad, "password", 8) != 0, "modified parameters accepted");
}

/* Raw Argon2id outputs (32 bytes, p=1, salt "ABCDEFGHIJKLMNOP") made with the reference
 * CLI, published in iov-one/iov-core packages/iov-crypto/src/libsodium.spec.ts:
 *   echo -n "123" | ./argon2 ABCDEFGHIJKLMNOP -id -v 13 -k 8192 -t 2
 *   echo -n "123" | ./argon2 ABCDEFGHIJKLMNOP -id -v 13 -k 1024 -t 5 */
static void test_argon2id_reference_cli(void)
{
    const uint8_t *salt = (const uint8_t *)"ABCDEFGHIJKLMNOP";
    uint8_t out[32];
    crypto_kdf_params p8 = {.ops = 2, .mem_kib = 8192};
    REQUIRE(crypto_argon2id("123", 3, salt, p8, out, sizeof out) == 0, "argon2id 8 MiB");
    same_hex(out, sizeof out, "3ee950488d26ce691657b1d753f562139857b61a58f234d6cb0ce84c4cc27328",
             "argon2id m=8192 t=2");
    crypto_kdf_params p1 = {.ops = 5, .mem_kib = 1024};
    REQUIRE(crypto_argon2id("123", 3, salt, p1, out, sizeof out) == 0, "argon2id 1 MiB");
    same_hex(out, sizeof out, "3c5d010180ba0cf5b6b858cba23b318e42d33088983c404598599c3b029ecac6",
             "argon2id m=1024 t=5");
}

/* Our own PHC strings: format, verification, and rejection of another password. */
static void test_argon2id_phc_format(void)
{
    static const char prefix[] = "$argon2id$v=19$m=8192,t=2,p=1$";
    crypto_kdf_params p = {.ops = 2, .mem_kib = 8192};
    char phc[CRYPTO_PHC_MAX];
    REQUIRE(crypto_phc_hash("correct horse", 13, p, phc) == 0, "phc hash");
    CHECK(strncmp(phc, prefix, sizeof prefix - 1) == 0, "phc prefix: %s", phc);
    CHECK(strlen(phc) < CRYPTO_PHC_MAX, "phc not terminated");
    CHECK(crypto_phc_verify(phc, "correct horse", 13) == 0, "phc verify");
    CHECK(crypto_phc_verify(phc, "correct horsf", 13) != 0, "other password accepted");
    CHECK(crypto_phc_verify(phc, "correct hors", 12) != 0, "prefix password accepted");
    char phc2[CRYPTO_PHC_MAX];
    REQUIRE(crypto_phc_hash("correct horse", 13, p, phc2) == 0, "phc hash 2");
    CHECK(strcmp(phc, phc2) != 0, "two PHC strings share a salt");
}

/* ---- RFC 6962 Merkle tree hashing ---- */

/* Certificate Transparency reference tree (RFC 6962 test data as published in
 * google/certificate-transparency and transparency-dev/merkle testonly/constants.go):
 * the inputs and the tree head for every size 1..8. */
static const char *const ct_leaves[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *const ct_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* MTH (RFC 6962 2.1) of n leaf hashes without recursion: merge equal-size subtrees on a
 * stack like a binary counter, then fold the remaining perfect subtrees right to left. */
static void merkle_root(uint8_t leaves[][32], size_t n, uint8_t out[32])
{
    uint8_t stack[8][32];
    size_t size[8], top = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(stack[top], leaves[i], 32);
        size[top++] = 1;
        while (top >= 2 && size[top - 1] == size[top - 2]) {
            crypto_merkle_node(stack[top - 2], stack[top - 1], stack[top - 2]);
            size[top - 2] *= 2;
            top--;
        }
    }
    while (top >= 2) {
        crypto_merkle_node(stack[top - 2], stack[top - 1], stack[top - 2]);
        top--;
    }
    memcpy(out, stack[0], 32);
}

static void test_merkle_rfc6962_ct_roots(void)
{
    uint8_t leaves[8][32], root[32], data[16];
    crypto_sha256(NULL, 0, root); /* the empty tree's head is SHA-256 of nothing */
    same_hex(root, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
             "empty tree root");
    for (size_t i = 0; i < 8; i++) {
        size_t len = strlen(ct_leaves[i]) / 2;
        test_unhex(ct_leaves[i], data, len);
        crypto_merkle_leaf(data, len, leaves[i]);
    }
    for (size_t n = 1; n <= 8; n++) {
        merkle_root(leaves, n, root);
        char what[32];
        snprintf(what, sizeof what, "CT root of size %zu", n);
        same_hex(root, 32, ct_roots[n - 1], what);
    }
}

/* Domain separation: a leaf is not a plain hash, and a node is not a leaf of the same
 * 64 bytes (the second-preimage attack RFC 6962 section 2.1 prevents). */
static void test_merkle_domain_separation(void)
{
    uint8_t l[32], r[32], lr[64], node[32], leaf[32], plain[32];
    crypto_merkle_leaf("a", 1, l);
    crypto_merkle_leaf("b", 1, r);
    memcpy(lr, l, 32);
    memcpy(lr + 32, r, 32);
    crypto_merkle_node(l, r, node);
    crypto_merkle_leaf(lr, 64, leaf);
    crypto_sha256(lr, 64, plain);
    CHECK(memcmp(node, leaf, 32) != 0, "node equals leaf of the same bytes");
    CHECK(memcmp(node, plain, 32) != 0, "node equals plain hash");
    uint8_t prefixed[65] = {0x01};
    memcpy(prefixed + 1, lr, 64);
    crypto_sha256(prefixed, sizeof prefixed, plain);
    CHECK(memcmp(node, plain, 32) == 0, "node is not SHA-256(0x01 || l || r)");
}

/* ---- hex ---- */

static void test_hex_helpers(void)
{
    static const uint8_t bytes[4] = {0x00, 0x01, 0xab, 0xff};
    char hex[9];
    uint8_t out[4];
    crypto_hex(bytes, 4, hex);
    CHECK(strcmp(hex, "0001abff") == 0, "hex is %s", hex);
    CHECK(crypto_unhex("0001abff", out, 4) == 0 && memcmp(out, bytes, 4) == 0, "unhex");
    CHECK(crypto_unhex("0001ABFF", out, 4) == 0 && memcmp(out, bytes, 4) == 0, "upper case");
    crypto_hex(NULL, 0, hex);
    CHECK(hex[0] == '\0', "empty hex not empty");
    CHECK(crypto_unhex("", out, 0) == 0, "empty unhex");

    static const char *const bad[] = {"0001abf", "0001abff00", "0001abfg", " 001abff",
                                      "0001ab f", "", "0x01abff", "0001abf\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(out, 0xa5, sizeof out);
        CHECK(crypto_unhex(bad[i], out, 4) != 0, "bad hex \"%s\" accepted", bad[i]);
        CHECK(all_zero(out, 4), "bad hex \"%s\" left output behind", bad[i]);
    }
}

int main(void)
{
    if (crypto_init() != 0) {
        fprintf(stderr, "crypto_init failed\n");
        return 1;
    }
    TEST_RUN(test_sha256_fips180);
    TEST_RUN(test_hkdf_rfc5869_1_and_3);
    TEST_RUN(test_hkdf_rfc5869_2);
    TEST_RUN(test_hkdf_length_limits);
    TEST_RUN(test_aes256gcm_spec);
    TEST_RUN(test_xchacha_draft_a31_libsodium);
    TEST_RUN(test_xchacha_draft_a31_unwrap_layout);
    TEST_RUN(test_xchacha_wrap_roundtrip_and_tamper);
    TEST_RUN(test_ed25519_rfc8032);
    TEST_RUN(test_x25519_rfc7748);
    TEST_RUN(test_seal_with_rfc7748_keys);
    TEST_RUN(test_argon2id_reference_phc);
    TEST_RUN(test_argon2id_reference_cli);
    TEST_RUN(test_argon2id_phc_format);
    TEST_RUN(test_merkle_rfc6962_ct_roots);
    TEST_RUN(test_merkle_domain_separation);
    TEST_RUN(test_hex_helpers);
    return test_summary();
}
