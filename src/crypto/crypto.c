/*
 * crypto.c — thin wrappers over libsodium and libcrypto (see crypto.h for the contract).
 * Layer: crypto (above util, below everything else).
 *
 * Why this file exists: every other layer talks to one small, misuse-resistant API
 * instead of two libraries with different conventions (libcrypto: 1 = ok and int
 * lengths; libsodium: 0 = ok, size_t lengths and abort() on some misuse). Here we
 * translate the conventions, bound every length before a library could abort or
 * truncate it, and wipe outputs of failed opens. No primitive is implemented here.
 *
 * Invariants:
 *  1. Every open/verify returns 0 only after the library authenticated the input;
 *     on any failure the plaintext output is zeroed before returning.
 *  2. Lengths handed to libcrypto fit in an int (we feed it in chunks); lengths
 *     handed to libsodium are below its *_MESSAGEBYTES_MAX (it would abort otherwise).
 *  3. A crypto_gcm holds no key bytes of its own: the expanded key lives inside the
 *     two EVP_CIPHER_CTX, which OpenSSL cleanses when they are freed.
 *  4. STELE_ASSERT only checks the caller's pointers and sizes, never data.
 *
 * Speed notes (hot paths, measured on SHA-NI/AES-NI hardware):
 *  - SHA-256: the EVP_MD is fetched once (EVP_sha256() would make OpenSSL 3 look the
 *    algorithm up on every init, about 2x slower for small inputs) and each thread
 *    reuses one EVP_MD_CTX, freed by a pthread key destructor when the thread ends.
 *  - AES-GCM: the key schedule is computed once in crypto_gcm_new; each call only
 *    sets the nonce.
 */

#include <sodium.h>

#include "crypto/crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "util/util.h"

/* The header's sizes are the libraries' sizes; a library upgrade that changed one
 * must stop the build rather than silently change a format. */
_Static_assert(CRYPTO_WRAP_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(CRYPTO_WRAP_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "wrap tag");
_Static_assert(CRYPTO_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "wrap key");
_Static_assert(CRYPTO_SIGN_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "sign pk");
_Static_assert(CRYPTO_SIGN_SK_BYTES == crypto_sign_SECRETKEYBYTES, "sign sk");
_Static_assert(CRYPTO_SIGN_BYTES == crypto_sign_BYTES, "signature");
_Static_assert(32 == crypto_sign_SEEDBYTES, "sign seed");
_Static_assert(CRYPTO_BOX_PK_BYTES == crypto_box_PUBLICKEYBYTES, "box pk");
_Static_assert(CRYPTO_BOX_SK_BYTES == crypto_box_SECRETKEYBYTES, "box sk");
_Static_assert(CRYPTO_SEAL_OVERHEAD == crypto_box_SEALBYTES, "seal overhead");
_Static_assert(CRYPTO_SALT_BYTES == crypto_pwhash_SALTBYTES, "argon2 salt");
_Static_assert(CRYPTO_PHC_MAX == crypto_pwhash_STRBYTES, "phc string");

/* libcrypto takes int lengths: larger buffers are fed in chunks of this size. */
#define CRYPTO_EVP_CHUNK_BYTES ((size_t)1 << 30)
/* NIST SP 800-38D: at most 2^39 - 256 bits of plaintext per GCM invocation. */
#define CRYPTO_GCM_PT_MAX ((((uint64_t)1 << 39) - 256) / 8)
/* RFC 5869: L <= 255 * HashLen. */
#define CRYPTO_HKDF_OUT_MAX (255 * CRYPTO_HASH_BYTES)

static const uint8_t empty_input[1]; /* stands in for NULL when a length is 0 */
static atomic_int crypto_ready;       /* set by crypto_init; sodium_malloc needs it */

/* Libraries may not accept NULL even with a zero length; give them a valid pointer. */
static const void *nonnull(const void *p) { return p ? p : empty_input; }

int crypto_init(void)
{
    /* 1 means "already initialised", which is success for us. */
    if (sodium_init() < 0) return -1;
    atomic_store(&crypto_ready, 1);
    return 0;
}

/* ---- randomness and secure memory ---- */

void crypto_random(void *out, size_t len)
{
    STELE_ASSERT(out != NULL || len == 0);
    if (len) randombytes_buf(out, len);
}

void crypto_random_fill(void *out, size_t len)
{
    uint8_t key[crypto_stream_xchacha20_KEYBYTES], nonce[crypto_stream_xchacha20_NONCEBYTES];
    STELE_ASSERT(out != NULL || len == 0);
    if (len == 0) return;
    randombytes_buf(key, sizeof key);
    randombytes_buf(nonce, sizeof nonce);
    crypto_stream_xchacha20(out, len, nonce, key);
    sodium_memzero(key, sizeof key);
}

static void rng_refill(crypto_rng *r)
{
    uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES] = {0};
    memcpy(nonce, &r->refills, sizeof r->refills); /* distinct per refill of one key chain */
    r->refills++;
    crypto_stream_xchacha20(r->pool, sizeof r->pool, nonce, r->key);
    memcpy(r->key, r->pool, sizeof r->key); /* fast key erasure: next key from the stream */
    sodium_memzero(r->pool, sizeof r->key);
    r->used = sizeof r->key;
}

void crypto_rng_init(crypto_rng *r)
{
    STELE_ASSERT(r != NULL);
    randombytes_buf(r->key, sizeof r->key);
    r->refills = 0;
    rng_refill(r);
}

void crypto_rng_bytes(crypto_rng *r, void *out, size_t len)
{
    STELE_ASSERT(r != NULL && r->used >= sizeof r->key && r->used <= sizeof r->pool);
    uint8_t *o = out;
    while (len > 0) {
        if (r->used == sizeof r->pool) rng_refill(r);
        size_t n = sizeof r->pool - r->used;
        if (n > len) n = len;
        memcpy(o, r->pool + r->used, n);
        sodium_memzero(r->pool + r->used, n); /* given out: not kept */
        r->used += n;
        o += n;
        len -= n;
    }
}

void *crypto_secure_alloc(size_t len)
{
    /* Before sodium_init, sodium_malloc does not know the page size for its guards. */
    STELE_ASSERT(atomic_load(&crypto_ready));
    return sodium_malloc(len);
}

void crypto_secure_free(void *p)
{
    if (p) sodium_free(p); /* sodium_free zeroes before unmapping */
}

void crypto_wipe(void *p, size_t len)
{
    STELE_ASSERT(p != NULL || len == 0);
    if (len) sodium_memzero(p, len);
}

int crypto_equal(const void *a, const void *b, size_t len)
{
    STELE_ASSERT((a != NULL && b != NULL) || len == 0);
    if (len == 0) return 1;
    return sodium_memcmp(a, b, len) == 0;
}

/* ---- hashing ---- */

static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static const EVP_MD *sha_md;   /* fetched once, never freed: lives as long as the process */
static pthread_key_t sha_key;  /* per-thread EVP_MD_CTX, freed at thread exit */
static int sha_key_ok;

static void sha_ctx_destroy(void *ctx) { EVP_MD_CTX_free(ctx); }

static void sha_setup(void)
{
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha_md = md ? md : EVP_sha256(); /* the fetch can only fail if providers are broken */
    sha_key_ok = pthread_key_create(&sha_key, sha_ctx_destroy) == 0;
}

/* The calling thread's digest context, created on first use. NULL only on OOM. */
static EVP_MD_CTX *sha_ctx(void)
{
    pthread_once(&sha_once, sha_setup);
    if (!sha_key_ok) return NULL;
    EVP_MD_CTX *ctx = pthread_getspecific(sha_key);
    if (ctx) return ctx;
    ctx = EVP_MD_CTX_new();
    if (ctx && pthread_setspecific(sha_key, ctx) != 0) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

struct crypto_sha256_ctx {
    EVP_MD_CTX *md;
    int failed;
};

crypto_sha256_ctx *crypto_sha256_begin(void)
{
    pthread_once(&sha_once, sha_setup);
    crypto_sha256_ctx *c = calloc(1, sizeof *c);
    if (c) c->md = EVP_MD_CTX_new();
    if (!c || !c->md || EVP_DigestInit_ex2(c->md, sha_md, NULL) != 1) {
        if (c) EVP_MD_CTX_free(c->md);
        free(c);
        return NULL;
    }
    return c;
}

void crypto_sha256_update(crypto_sha256_ctx *c, const void *p, size_t len)
{
    STELE_ASSERT(c != NULL && (p != NULL || len == 0));
    if (len && EVP_DigestUpdate(c->md, p, len) != 1) c->failed = 1;
}

int crypto_sha256_end(crypto_sha256_ctx *c, uint8_t out[CRYPTO_HASH_BYTES])
{
    STELE_ASSERT(c != NULL);
    unsigned int n = 0;
    int ok = !c->failed && EVP_DigestFinal_ex(c->md, out, &n) == 1 && n == CRYPTO_HASH_BYTES;
    EVP_MD_CTX_free(c->md);
    free(c);
    return ok ? 0 : -1;
}

/* SHA-256 over up to three buffers as if concatenated, through libcrypto (SHA-NI).
 * Returns 1 on success, 0 if libcrypto failed (only possible when out of memory). */
static int sha_evp(const void *const *parts, const size_t *lens, int nparts,
                   uint8_t out[CRYPTO_HASH_BYTES])
{
    EVP_MD_CTX *ctx = sha_ctx();
    if (!ctx || EVP_DigestInit_ex2(ctx, sha_md, NULL) != 1) return 0;
    for (int i = 0; i < nparts; i++) {
        if (lens[i] && EVP_DigestUpdate(ctx, parts[i], lens[i]) != 1) return 0;
    }
    unsigned int n = 0;
    return EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == CRYPTO_HASH_BYTES;
}

/* The same through libsodium, which never allocates: the hash functions return void,
 * so when libcrypto cannot allocate we still owe the caller a correct digest. */
static void sha_sodium(const void *const *parts, const size_t *lens, int nparts,
                       uint8_t out[CRYPTO_HASH_BYTES])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (int i = 0; i < nparts; i++) {
        if (lens[i]) crypto_hash_sha256_update(&st, parts[i], lens[i]);
    }
    crypto_hash_sha256_final(&st, out);
}

static void sha256_parts(const void *const *parts, const size_t *lens, int nparts,
                         uint8_t out[CRYPTO_HASH_BYTES])
{
    STELE_ASSERT(out != NULL);
    STELE_ASSERT(nparts >= 1 && nparts <= 3);
    for (int i = 0; i < nparts; i++) STELE_ASSERT(parts[i] != NULL || lens[i] == 0);
    if (!sha_evp(parts, lens, nparts, out)) sha_sodium(parts, lens, nparts, out);
}

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_HASH_BYTES])
{
    const void *parts[1] = {data};
    size_t lens[1] = {len};
    sha256_parts(parts, lens, 1, out);
}

void crypto_sha256_2(const void *a, size_t alen, const void *b, size_t blen,
                     uint8_t out[CRYPTO_HASH_BYTES])
{
    const void *parts[2] = {a, b};
    size_t lens[2] = {alen, blen};
    sha256_parts(parts, lens, 2, out);
}

/* ---- Merkle trees (RFC 6962 section 2.1) ----
 * The one-byte prefixes separate leaves from interior nodes, so a leaf can never be
 * presented as a node (second-preimage attack on the tree). */

void crypto_merkle_leaf(const void *data, size_t len, uint8_t out[CRYPTO_HASH_BYTES])
{
    static const uint8_t leaf_prefix = 0x00;
    crypto_sha256_2(&leaf_prefix, 1, data, len, out);
}

void crypto_merkle_node(const uint8_t left[CRYPTO_HASH_BYTES],
                        const uint8_t right[CRYPTO_HASH_BYTES], uint8_t out[CRYPTO_HASH_BYTES])
{
    static const uint8_t node_prefix = 0x01;
    STELE_ASSERT(left != NULL && right != NULL);
    const void *parts[3] = {&node_prefix, left, right};
    size_t lens[3] = {1, CRYPTO_HASH_BYTES, CRYPTO_HASH_BYTES};
    sha256_parts(parts, lens, 3, out); /* out may alias left or right: inputs read first */
}

/* ---- HKDF-SHA256 (RFC 5869) through EVP_PKEY_HKDF ---- */

/* Sets digest, key, salt and info on a fresh HKDF context. Returns 1 on success. */
static int hkdf_setup(EVP_PKEY_CTX *pctx, const uint8_t *ikm, size_t ikm_len,
                      const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len)
{
    if (EVP_PKEY_derive_init(pctx) != 1) return 0;
    /* "HKDEF" is OpenSSL's own spelling of the constant. */
    if (EVP_PKEY_CTX_hkdf_mode(pctx, EVP_PKEY_HKDEF_MODE_EXTRACT_AND_EXPAND) != 1) return 0;
    if (EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) != 1) return 0;
    if (EVP_PKEY_CTX_set1_hkdf_key(pctx, nonnull(ikm), (int)ikm_len) != 1) return 0;
    /* RFC 5869 2.2: an absent salt is HashLen zero bytes, which HMAC treats exactly like
     * an empty key; we leave it unset rather than pass a zero-length buffer. */
    if (salt_len && EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, (int)salt_len) != 1) return 0;
    if (info_len && EVP_PKEY_CTX_add1_hkdf_info(pctx, info, (int)info_len) != 1) return 0;
    return 1;
}

int crypto_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    STELE_ASSERT(ikm != NULL || ikm_len == 0);
    STELE_ASSERT(salt != NULL || salt_len == 0);
    STELE_ASSERT(info != NULL || info_len == 0);
    STELE_ASSERT(out != NULL);
    if (out_len == 0 || out_len > CRYPTO_HKDF_OUT_MAX) return -1;
    /* libcrypto takes int lengths (and refuses very long info itself). */
    if (ikm_len > INT_MAX || salt_len > INT_MAX || info_len > INT_MAX) return -1;

    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    if (!pctx) return -1;
    size_t n = out_len;
    int ok = hkdf_setup(pctx, ikm, ikm_len, salt, salt_len, info, info_len) &&
             EVP_PKEY_derive(pctx, out, &n) == 1 && n == out_len;
    EVP_PKEY_CTX_free(pctx); /* cleanses the copies of ikm and the PRK */
    if (!ok) {
        crypto_wipe(out, out_len);
        return -1;
    }
    return 0;
}

/* ---- AES-256-GCM (libcrypto) ---- */

struct crypto_gcm {
    EVP_CIPHER_CTX *enc; /* key schedule set once; only the IV changes per call */
    EVP_CIPHER_CTX *dec;
};

crypto_gcm *crypto_gcm_new(const uint8_t key[CRYPTO_KEY_BYTES])
{
    STELE_ASSERT(key != NULL);
    crypto_gcm *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->enc = EVP_CIPHER_CTX_new();
    g->dec = EVP_CIPHER_CTX_new();
    const EVP_CIPHER *c = EVP_aes_256_gcm();
    /* The default GCM IV length is 12 bytes (CRYPTO_GCM_NONCE_BYTES), so no IVLEN ctrl. */
    if (!g->enc || !g->dec || EVP_EncryptInit_ex(g->enc, c, NULL, key, NULL) != 1 ||
        EVP_DecryptInit_ex(g->dec, c, NULL, key, NULL) != 1) {
        crypto_gcm_free(g);
        return NULL;
    }
    STELE_ASSERT(EVP_CIPHER_CTX_get_iv_length(g->enc) == CRYPTO_GCM_NONCE_BYTES);
    return g;
}

void crypto_gcm_free(crypto_gcm *g)
{
    if (!g) return;
    EVP_CIPHER_CTX_free(g->enc); /* OpenSSL cleanses the expanded key */
    EVP_CIPHER_CTX_free(g->dec);
    free(g);
}

/* Feeds len bytes of AAD (out == NULL) or text through ctx in int-sized chunks.
 * GCM is a stream mode: every update outputs exactly as many bytes as it consumed. */
static int gcm_update(EVP_CIPHER_CTX *ctx, int encrypt, uint8_t *out, const uint8_t *in,
                      size_t len)
{
    while (len > 0) {
        int n = (int)(len < CRYPTO_EVP_CHUNK_BYTES ? len : CRYPTO_EVP_CHUNK_BYTES);
        int outl = 0;
        int ok = encrypt ? EVP_EncryptUpdate(ctx, out, &outl, in, n)
                         : EVP_DecryptUpdate(ctx, out, &outl, in, n);
        if (ok != 1 || outl != n) return 0;
        in += n;
        if (out) out += n;
        len -= (size_t)n;
    }
    return 1;
}

int crypto_gcm_seal(crypto_gcm *g, const uint8_t nonce[CRYPTO_GCM_NONCE_BYTES],
                    const void *aad, size_t aad_len, const void *pt, size_t len,
                    uint8_t *ct, uint8_t tag[CRYPTO_GCM_TAG_BYTES])
{
    STELE_ASSERT(g != NULL && nonce != NULL && tag != NULL);
    STELE_ASSERT(aad != NULL || aad_len == 0);
    STELE_ASSERT((pt != NULL && ct != NULL) || len == 0);
    if ((uint64_t)len > CRYPTO_GCM_PT_MAX) return -1;

    EVP_CIPHER_CTX *ctx = g->enc;
    uint8_t final_block[EVP_MAX_BLOCK_LENGTH]; /* GCM's final writes nothing; never NULL */
    int outl = 0;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
        !gcm_update(ctx, 1, NULL, aad, aad_len) || !gcm_update(ctx, 1, ct, pt, len) ||
        EVP_EncryptFinal_ex(ctx, final_block, &outl) != 1 || outl != 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_GCM_TAG_BYTES, tag) != 1) {
        /* Never hand out a partial ciphertext or a tag that does not belong to it. */
        crypto_wipe(ct, len);
        crypto_wipe(tag, CRYPTO_GCM_TAG_BYTES);
        return -1;
    }
    return 0;
}

int crypto_gcm_open(crypto_gcm *g, const uint8_t nonce[CRYPTO_GCM_NONCE_BYTES],
                    const void *aad, size_t aad_len, const uint8_t *ct, size_t len,
                    const uint8_t tag[CRYPTO_GCM_TAG_BYTES], uint8_t *pt)
{
    STELE_ASSERT(g != NULL && nonce != NULL && tag != NULL);
    STELE_ASSERT(aad != NULL || aad_len == 0);
    STELE_ASSERT((pt != NULL && ct != NULL) || len == 0);
    if ((uint64_t)len > CRYPTO_GCM_PT_MAX) {
        crypto_wipe(pt, len);
        return -1;
    }

    EVP_CIPHER_CTX *ctx = g->dec;
    uint8_t tag_copy[CRYPTO_GCM_TAG_BYTES]; /* the ctrl takes a non-const pointer */
    memcpy(tag_copy, tag, sizeof tag_copy);
    uint8_t final_block[EVP_MAX_BLOCK_LENGTH]; /* GCM's final writes nothing; never NULL */
    int outl = 0;
    /* libcrypto decrypts before it can check the tag (one pass), so plaintext reaches
     * pt first; invariant 1 is kept by zeroing pt on every failure below. */
    int ok = EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) == 1 &&
             gcm_update(ctx, 0, NULL, aad, aad_len) && gcm_update(ctx, 0, pt, ct, len) &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_GCM_TAG_BYTES, tag_copy) == 1 &&
             EVP_DecryptFinal_ex(ctx, final_block, &outl) == 1 && outl == 0;
    if (!ok) {
        crypto_wipe(pt, len);
        return -1;
    }
    return 0;
}

/* ---- key wrapping: XChaCha20-Poly1305-IETF (libsodium) ---- */

int crypto_wrap(const uint8_t key[CRYPTO_KEY_BYTES], const void *aad, size_t aad_len,
                const void *pt, size_t len, uint8_t *out)
{
    STELE_ASSERT(key != NULL && out != NULL);
    STELE_ASSERT(aad != NULL || aad_len == 0);
    STELE_ASSERT(pt != NULL || len == 0);
    /* libsodium aborts above this length; it is far beyond anything we wrap. */
    if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX) return -1;

    uint8_t *nonce = out;
    uint8_t *ct = out + CRYPTO_WRAP_NONCE_BYTES;
    unsigned long long ct_len = 0;
    crypto_random(nonce, CRYPTO_WRAP_NONCE_BYTES); /* 192 bits: random nonces never collide */
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, nonnull(pt), len,
                                                   nonnull(aad), aad_len, NULL, nonce,
                                                   key) != 0 ||
        ct_len != (unsigned long long)len + CRYPTO_WRAP_TAG_BYTES) {
        crypto_wipe(out, len + CRYPTO_WRAP_OVERHEAD);
        return -1;
    }
    return 0;
}

int crypto_unwrap(const uint8_t key[CRYPTO_KEY_BYTES], const void *aad, size_t aad_len,
                  const uint8_t *in, size_t in_len, uint8_t *pt)
{
    STELE_ASSERT(key != NULL);
    STELE_ASSERT(aad != NULL || aad_len == 0);
    STELE_ASSERT(in != NULL || in_len == 0);
    if (in_len < CRYPTO_WRAP_OVERHEAD) return -1; /* no plaintext length to zero */
    size_t len = in_len - CRYPTO_WRAP_OVERHEAD;
    STELE_ASSERT(pt != NULL || len == 0);

    const uint8_t *nonce = in;
    const uint8_t *ct = in + CRYPTO_WRAP_NONCE_BYTES;
    unsigned long long pt_len = 0;
    uint8_t dummy[1];
    /* libsodium verifies the tag before it decrypts anything. */
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(pt ? pt : dummy, &pt_len, NULL, ct,
                                                        in_len - CRYPTO_WRAP_NONCE_BYTES,
                                                        nonnull(aad), aad_len, nonce, key);
    if (rc != 0 || pt_len != (unsigned long long)len) {
        crypto_wipe(pt, len);
        return -1;
    }
    return 0;
}

/* ---- passwords: Argon2id (libsodium) ---- */

/* Converts KiB to the byte count libsodium wants; 0 if it does not fit a size_t. */
static size_t argon2_mem_bytes(uint64_t mem_kib)
{
    if (mem_kib > SIZE_MAX / 1024) return 0;
    return (size_t)mem_kib * 1024;
}

int crypto_argon2id(const char *pw, size_t pw_len, const uint8_t salt[CRYPTO_SALT_BYTES],
                    crypto_kdf_params p, uint8_t *out, size_t out_len)
{
    STELE_ASSERT(pw != NULL || pw_len == 0);
    STELE_ASSERT(salt != NULL && out != NULL);
    size_t mem = argon2_mem_bytes(p.mem_kib);
    /* libsodium rejects (-1) parameters outside its limits; it does not abort. */
    if (mem == 0 || crypto_pwhash(out, out_len, nonnull(pw), pw_len, salt, p.ops, mem,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
        crypto_wipe(out, out_len);
        return -1;
    }
    return 0;
}

int crypto_phc_hash(const char *pw, size_t pw_len, crypto_kdf_params p,
                    char out[CRYPTO_PHC_MAX])
{
    STELE_ASSERT(pw != NULL || pw_len == 0);
    STELE_ASSERT(out != NULL);
    size_t mem = argon2_mem_bytes(p.mem_kib);
    if (mem == 0 || crypto_pwhash_str_alg(out, nonnull(pw), pw_len, p.ops, mem,
                                          crypto_pwhash_ALG_ARGON2ID13) != 0) {
        crypto_wipe(out, CRYPTO_PHC_MAX);
        return -1;
    }
    return 0;
}

int crypto_phc_verify(const char *phc, const char *pw, size_t pw_len)
{
    STELE_ASSERT(phc != NULL);
    STELE_ASSERT(pw != NULL || pw_len == 0);
    /* The string comes from storage: bound it before libsodium runs strlen on it. */
    if (strnlen(phc, CRYPTO_PHC_MAX) >= CRYPTO_PHC_MAX) return -1;
    /* The argon2id-specific verifier: a stored "$argon2i$" string is refused. */
    return crypto_pwhash_argon2id_str_verify(phc, nonnull(pw), pw_len) == 0 ? 0 : -1;
}

/* ---- signatures: Ed25519 (libsodium) ---- */

int crypto_sig_keypair(uint8_t pk[CRYPTO_SIGN_PK_BYTES], uint8_t sk[CRYPTO_SIGN_SK_BYTES])
{
    STELE_ASSERT(pk != NULL && sk != NULL);
    return crypto_sign_ed25519_keypair(pk, sk) == 0 ? 0 : -1;
}

int crypto_sig_seed_keypair(const uint8_t seed[32], uint8_t pk[CRYPTO_SIGN_PK_BYTES],
                             uint8_t sk[CRYPTO_SIGN_SK_BYTES])
{
    STELE_ASSERT(seed != NULL && pk != NULL && sk != NULL);
    return crypto_sign_ed25519_seed_keypair(pk, sk, seed) == 0 ? 0 : -1;
}

int crypto_sig_sign(const uint8_t sk[CRYPTO_SIGN_SK_BYTES], const void *msg, size_t len,
                uint8_t sig[CRYPTO_SIGN_BYTES])
{
    STELE_ASSERT(sk != NULL && sig != NULL);
    STELE_ASSERT(msg != NULL || len == 0);
    if (crypto_sign_ed25519_detached(sig, NULL, nonnull(msg), len, sk) != 0) {
        crypto_wipe(sig, CRYPTO_SIGN_BYTES);
        return -1;
    }
    return 0;
}

int crypto_sig_verify(const uint8_t pk[CRYPTO_SIGN_PK_BYTES], const void *msg, size_t len,
                       const uint8_t sig[CRYPTO_SIGN_BYTES])
{
    STELE_ASSERT(pk != NULL && sig != NULL);
    STELE_ASSERT(msg != NULL || len == 0);
    /* libsodium rejects non-canonical signatures and small-order public keys. */
    return crypto_sign_ed25519_verify_detached(sig, nonnull(msg), len, pk) == 0 ? 0 : -1;
}

/* ---- public-key sealing: X25519 sealed boxes (libsodium) ---- */

int crypto_seal_keypair(uint8_t pk[CRYPTO_BOX_PK_BYTES], uint8_t sk[CRYPTO_BOX_SK_BYTES])
{
    STELE_ASSERT(pk != NULL && sk != NULL);
    return crypto_box_curve25519xsalsa20poly1305_keypair(pk, sk) == 0 ? 0 : -1;
}

int crypto_seal(const uint8_t pk[CRYPTO_BOX_PK_BYTES], const void *pt, size_t len, uint8_t *out)
{
    STELE_ASSERT(pk != NULL && out != NULL);
    STELE_ASSERT(pt != NULL || len == 0);
    /* libsodium aborts above this length. */
    if (len > crypto_box_MESSAGEBYTES_MAX - CRYPTO_SEAL_OVERHEAD) return -1;
    if (crypto_box_seal(out, nonnull(pt), len, pk) != 0) {
        crypto_wipe(out, len + CRYPTO_SEAL_OVERHEAD);
        return -1;
    }
    return 0;
}

int crypto_seal_open(const uint8_t pk[CRYPTO_BOX_PK_BYTES], const uint8_t sk[CRYPTO_BOX_SK_BYTES],
                     const uint8_t *in, size_t in_len, uint8_t *pt)
{
    STELE_ASSERT(pk != NULL && sk != NULL);
    STELE_ASSERT(in != NULL || in_len == 0);
    if (in_len < CRYPTO_SEAL_OVERHEAD) return -1; /* no plaintext length to zero */
    size_t len = in_len - CRYPTO_SEAL_OVERHEAD;
    STELE_ASSERT(pt != NULL || len == 0);
    uint8_t dummy[1];
    if (crypto_box_seal_open(pt ? pt : dummy, in, in_len, pk, sk) != 0) {
        crypto_wipe(pt, len);
        return -1;
    }
    return 0;
}

/* ---- encoding helpers ----
 * libsodium's codecs are constant-time, which matters because we hex-encode keys. */

void crypto_hex(const void *in, size_t len, char *out)
{
    STELE_ASSERT(out != NULL);
    STELE_ASSERT(in != NULL || len == 0);
    STELE_ASSERT(len < SIZE_MAX / 2);
    sodium_bin2hex(out, 2 * len + 1, nonnull(in), len);
}

int crypto_unhex(const char *hex, void *out, size_t len)
{
    STELE_ASSERT(hex != NULL);
    STELE_ASSERT(out != NULL || len == 0);
    STELE_ASSERT(len < SIZE_MAX / 2);
    /* Exactly 2*len digits: a shorter or longer string is a different value, not a
     * prefix of this one. strnlen stops early on very long input. On any failure the
     * output is zeroed, so a caller that ignores the error holds no partial key. */
    size_t got = 0;
    if (strnlen(hex, 2 * len + 1) != 2 * len ||
        (len && (sodium_hex2bin(out, len, hex, 2 * len, NULL, &got, NULL) != 0 || got != len))) {
        crypto_wipe(out, len);
        return -1;
    }
    return 0;
}
