/*
 * crypto.h — thin wrappers over libsodium and libcrypto (OpenSSL). Layer: crypto
 * (above util, below everything else). No home-made primitives: each function here
 * calls a library primitive and adds only argument checks, domain separation
 * helpers and secure-memory handling.
 *
 * Choices (DESIGN.md, facts table):
 *  - Bulk AEAD: AES-256-GCM through libcrypto (AES-NI, ~2x libsodium), 96-bit nonce
 *    chosen at random by the caller through crypto_random(); 16-byte tag.
 *  - Key wrapping and small objects: XChaCha20-Poly1305-IETF (libsodium), random
 *    192-bit nonce generated inside crypto_wrap().
 *  - SHA-256 through libcrypto (SHA-NI). HKDF-SHA256 through libcrypto (EVP_PKEY_HKDF).
 *  - Argon2id, Ed25519, X25519 sealed boxes, randomness, secure memory: libsodium.
 *  - Merkle tree hashing per RFC 6962: leaf = H(0x00 || d), node = H(0x01 || l || r).
 *
 * Every open/verify is warn_unused_result; plaintext is never written to the output
 * buffer of an open that fails (the output is zeroed instead).
 */
#ifndef STELE_CRYPTO_H
#define STELE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_MUST_CHECK __attribute__((warn_unused_result))

#define CRYPTO_KEY_BYTES 32
#define CRYPTO_HASH_BYTES 32
#define CRYPTO_GCM_NONCE_BYTES 12
#define CRYPTO_GCM_TAG_BYTES 16
#define CRYPTO_WRAP_NONCE_BYTES 24
#define CRYPTO_WRAP_TAG_BYTES 16
#define CRYPTO_WRAP_OVERHEAD (CRYPTO_WRAP_NONCE_BYTES + CRYPTO_WRAP_TAG_BYTES)
#define CRYPTO_SIGN_PK_BYTES 32
#define CRYPTO_SIGN_SK_BYTES 64
#define CRYPTO_SIGN_BYTES 64
#define CRYPTO_BOX_PK_BYTES 32
#define CRYPTO_BOX_SK_BYTES 32
#define CRYPTO_SEAL_OVERHEAD 48 /* crypto_box_SEALBYTES */
#define CRYPTO_SALT_BYTES 16    /* Argon2id salt */
#define CRYPTO_PHC_MAX 128      /* crypto_pwhash_STRBYTES */

/* Initialises libsodium; safe to call many times. 0 on success, -1 on failure. */
int crypto_init(void) CRYPTO_MUST_CHECK;

/* ---- randomness and secure memory ---- */
void crypto_random(void *buf, size_t len);
/* Fills a large buffer with random bytes fast: an XChaCha20 keystream (libsodium
 * crypto_stream_xchacha20) under a fresh key from the OS. For padding and new files,
 * where one system call per 256 bytes would dominate. */
void crypto_random_fill(void *out, size_t len);

/* A per-owner random generator for hot paths (nonces, salts, padding): fast key
 * erasure over the XChaCha20 keystream. The key comes from the OS; every refill
 * draws the next key from the stream and wipes the old one, so outputs already
 * given cannot be recomputed from a later state. Not thread-safe: one owner (or a
 * lock). Keep it in secure memory (crypto_secure_alloc). */
#define CRYPTO_RNG_POOL 4096
typedef struct crypto_rng {
    uint8_t key[CRYPTO_KEY_BYTES];
    uint8_t pool[CRYPTO_RNG_POOL];
    size_t used;
    uint64_t refills;
} crypto_rng;
void crypto_rng_init(crypto_rng *r);
void crypto_rng_bytes(crypto_rng *r, void *out, size_t len);

/* sodium_malloc'd, mlock'ed (best effort), guarded; NULL on failure. */
void *crypto_secure_alloc(size_t len);
/* Zeroes and frees memory from crypto_secure_alloc. NULL is fine. */
void crypto_secure_free(void *p);
/* Zeroes memory in a way the compiler cannot drop. */
void crypto_wipe(void *p, size_t len);
/* Constant-time equality: 1 if equal, 0 otherwise. */
int crypto_equal(const void *a, const void *b, size_t len);

/* ---- hashing ---- */
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_HASH_BYTES]);
/* SHA-256 over two buffers: H(a || b) without copying. */
void crypto_sha256_2(const void *a, size_t alen, const void *b, size_t blen,
                     uint8_t out[CRYPTO_HASH_BYTES]);

/* Incremental SHA-256 (libcrypto) for data read in pieces (whole-file hashes).
 * crypto_sha256_begin returns NULL out of memory; _end frees the context (also on
 * failure) and returns 0, or -1 if any update failed. */
typedef struct crypto_sha256_ctx crypto_sha256_ctx;
crypto_sha256_ctx *crypto_sha256_begin(void);
void crypto_sha256_update(crypto_sha256_ctx *c, const void *p, size_t len);
int crypto_sha256_end(crypto_sha256_ctx *c, uint8_t out[CRYPTO_HASH_BYTES]) CRYPTO_MUST_CHECK;

/* HKDF-SHA256 (RFC 5869) extract-and-expand. salt may be NULL (salt_len 0).
 * 0 on success, -1 on failure. out_len <= 255*32. */
int crypto_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
    CRYPTO_MUST_CHECK;

/* ---- Merkle trees (RFC 6962 section 2.1) ---- */
void crypto_merkle_leaf(const void *data, size_t len, uint8_t out[CRYPTO_HASH_BYTES]);
void crypto_merkle_node(const uint8_t left[CRYPTO_HASH_BYTES],
                        const uint8_t right[CRYPTO_HASH_BYTES], uint8_t out[CRYPTO_HASH_BYTES]);

/* ---- bulk AEAD: AES-256-GCM (libcrypto) ----
 * A context holds one expanded key and is reused across calls (one thread at a time). */
typedef struct crypto_gcm crypto_gcm;
crypto_gcm *crypto_gcm_new(const uint8_t key[CRYPTO_KEY_BYTES]); /* NULL on failure */
void crypto_gcm_free(crypto_gcm *g);
/* ct gets len bytes of ciphertext, tag gets 16 bytes. 0 on success, -1 on failure. */
int crypto_gcm_seal(crypto_gcm *g, const uint8_t nonce[CRYPTO_GCM_NONCE_BYTES],
                    const void *aad, size_t aad_len, const void *pt, size_t len,
                    uint8_t *ct, uint8_t tag[CRYPTO_GCM_TAG_BYTES]) CRYPTO_MUST_CHECK;
/* 0 if authentic (pt gets len bytes), -1 otherwise (pt zeroed). pt may equal ct. */
int crypto_gcm_open(crypto_gcm *g, const uint8_t nonce[CRYPTO_GCM_NONCE_BYTES],
                    const void *aad, size_t aad_len, const uint8_t *ct, size_t len,
                    const uint8_t tag[CRYPTO_GCM_TAG_BYTES], uint8_t *pt) CRYPTO_MUST_CHECK;

/* ---- key wrapping / small objects: XChaCha20-Poly1305 (libsodium) ----
 * out = nonce(24) || ciphertext(len) || tag(16): len + CRYPTO_WRAP_OVERHEAD bytes. */
int crypto_wrap(const uint8_t key[CRYPTO_KEY_BYTES], const void *aad, size_t aad_len,
                const void *pt, size_t len, uint8_t *out) CRYPTO_MUST_CHECK;
/* in is in_len bytes as produced by crypto_wrap; pt gets in_len - OVERHEAD bytes.
 * 0 if authentic, -1 otherwise (pt zeroed). */
int crypto_unwrap(const uint8_t key[CRYPTO_KEY_BYTES], const void *aad, size_t aad_len,
                  const uint8_t *in, size_t in_len, uint8_t *pt) CRYPTO_MUST_CHECK;

/* ---- passwords: Argon2id (libsodium crypto_pwhash, ALG_ARGON2ID13) ---- */
typedef struct crypto_kdf_params {
    uint64_t ops;      /* t (iterations) */
    uint64_t mem_kib;  /* m in KiB */
} crypto_kdf_params;
/* Derives a key of out_len bytes. 0 on success, -1 on failure (e.g. out of memory). */
int crypto_argon2id(const char *pw, size_t pw_len, const uint8_t salt[CRYPTO_SALT_BYTES],
                    crypto_kdf_params p, uint8_t *out, size_t out_len) CRYPTO_MUST_CHECK;
/* PHC string "$argon2id$v=19$m=..,t=..,p=1$salt$hash" with its own random salt. */
int crypto_phc_hash(const char *pw, size_t pw_len, crypto_kdf_params p,
                    char out[CRYPTO_PHC_MAX]) CRYPTO_MUST_CHECK;
/* 0 if pw matches the PHC string, -1 otherwise. */
int crypto_phc_verify(const char *phc, const char *pw, size_t pw_len) CRYPTO_MUST_CHECK;

/* ---- signatures: Ed25519 (libsodium) ---- */
int crypto_sig_keypair(uint8_t pk[CRYPTO_SIGN_PK_BYTES], uint8_t sk[CRYPTO_SIGN_SK_BYTES])
    CRYPTO_MUST_CHECK;
/* Deterministic key pair from a 32-byte seed. */
int crypto_sig_seed_keypair(const uint8_t seed[32], uint8_t pk[CRYPTO_SIGN_PK_BYTES],
                             uint8_t sk[CRYPTO_SIGN_SK_BYTES]) CRYPTO_MUST_CHECK;
int crypto_sig_sign(const uint8_t sk[CRYPTO_SIGN_SK_BYTES], const void *msg, size_t len,
                uint8_t sig[CRYPTO_SIGN_BYTES]) CRYPTO_MUST_CHECK;
/* 0 if the signature is valid, -1 otherwise. */
int crypto_sig_verify(const uint8_t pk[CRYPTO_SIGN_PK_BYTES], const void *msg, size_t len,
                       const uint8_t sig[CRYPTO_SIGN_BYTES]) CRYPTO_MUST_CHECK;

/* ---- public-key sealing: X25519 sealed boxes (libsodium crypto_box_seal) ---- */
int crypto_seal_keypair(uint8_t pk[CRYPTO_BOX_PK_BYTES], uint8_t sk[CRYPTO_BOX_SK_BYTES])
    CRYPTO_MUST_CHECK;
/* out gets len + CRYPTO_SEAL_OVERHEAD bytes. */
int crypto_seal(const uint8_t pk[CRYPTO_BOX_PK_BYTES], const void *pt, size_t len, uint8_t *out)
    CRYPTO_MUST_CHECK;
/* 0 if authentic (pt gets in_len - OVERHEAD bytes), -1 otherwise. */
int crypto_seal_open(const uint8_t pk[CRYPTO_BOX_PK_BYTES], const uint8_t sk[CRYPTO_BOX_SK_BYTES],
                     const uint8_t *in, size_t in_len, uint8_t *pt) CRYPTO_MUST_CHECK;

/* ---- encoding helpers ---- */
/* Lower-case hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void crypto_hex(const void *in, size_t len, char *out);
/* Decodes exactly 2*len hex digits; 0 on success, -1 on bad input. */
int crypto_unhex(const char *hex, void *out, size_t len) CRYPTO_MUST_CHECK;

#endif /* STELE_CRYPTO_H */
