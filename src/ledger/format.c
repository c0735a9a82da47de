/*
 * format.c — encoders and sealers for the layouts in format.h. Layer: ledger.
 * Invariant: nothing here trusts bytes before the AEAD tag has verified them, and
 * nothing decoded from authenticated bytes is used without a range check.
 */
#include "ledger/format.h"

#include <string.h>

#define RECHDR_VERSION 1
#define SEGHDR_VERSION 2

void rechdr_encode(const rechdr *h, uint8_t out[RECHDR_BYTES])
{
    memset(out, 0, RECHDR_BYTES);
    put_u64(out + 0, h->lsn);
    put_u64(out + 8, h->timestamp_ns);
    out[16] = h->kind;
    out[17] = RECHDR_VERSION;
    put_u16(out + 18, 0);
    put_u32(out + 20, h->generation);
    put_u32(out + 24, h->payload_len);
    put_u32(out + 28, h->env_len);
    memcpy(out + 32, h->author, 16);
    memcpy(out + 48, h->idem_digest, 32);
    memcpy(out + 80, h->payload_hash, 32);
    memcpy(out + 112, h->prev_hash, 32);
    put_u64(out + 144, h->durable_lsn);
}

int rechdr_decode(const uint8_t in[RECHDR_BYTES], rechdr *h)
{
    memset(h, 0, sizeof *h);
    if (in[17] != RECHDR_VERSION || get_u16(in + 18) != 0) return -1;
    h->lsn = get_u64(in + 0);
    h->timestamp_ns = get_u64(in + 8);
    h->kind = in[16];
    h->generation = get_u32(in + 20);
    h->payload_len = get_u32(in + 24);
    h->env_len = get_u32(in + 28);
    memcpy(h->author, in + 32, 16);
    memcpy(h->idem_digest, in + 48, 32);
    memcpy(h->payload_hash, in + 80, 32);
    memcpy(h->prev_hash, in + 112, 32);
    h->durable_lsn = get_u64(in + 144);
    if (h->lsn == 0 || h->kind < 1 || h->kind > 7) return -1;
    if (h->payload_len > LEDGER_PAYLOAD_MAX) return -1;
    if (h->env_len < ENVELOPE_FIXED + h->payload_len ||
        h->env_len > ENVELOPE_FIXED + LEDGER_IDEM_MAX + h->payload_len)
        return -1;
    return 0;
}

void rechdr_hash(const uint8_t enc[RECHDR_BYTES], uint8_t out[CRYPTO_HASH_BYTES])
{
    crypto_sha256(enc, RECHDR_BYTES, out);
}

/* ---- boxes: sealed or plaintext (format.h) ---- */

static void plain_tag(const uint8_t nonce[CRYPTO_GCM_NONCE_BYTES], const void *aad,
                      size_t aad_len, const void *pt, size_t len,
                      uint8_t tag[CRYPTO_GCM_TAG_BYTES])
{
    static const char domain[18] = "stele-plain-box-v1";
    uint8_t pre[sizeof domain + CRYPTO_GCM_NONCE_BYTES + BOX_AAD_MAX], h[CRYPTO_HASH_BYTES];
    STELE_ASSERT(aad_len <= BOX_AAD_MAX);
    memcpy(pre, domain, sizeof domain);
    memcpy(pre + sizeof domain, nonce, CRYPTO_GCM_NONCE_BYTES);
    memcpy(pre + sizeof domain + CRYPTO_GCM_NONCE_BYTES, aad, aad_len);
    crypto_sha256_2(pre, sizeof domain + CRYPTO_GCM_NONCE_BYTES + aad_len, pt, len, h);
    memcpy(tag, h, CRYPTO_GCM_TAG_BYTES);
}

int box_seal(crypto_gcm *g, const uint8_t nonce[CRYPTO_GCM_NONCE_BYTES], const void *aad,
             size_t aad_len, const void *pt, size_t len, uint8_t *ct,
             uint8_t tag[CRYPTO_GCM_TAG_BYTES])
{
    if (g) return crypto_gcm_seal(g, nonce, aad, aad_len, pt, len, ct, tag);
    if (ct != pt && len) memmove(ct, pt, len);
    plain_tag(nonce, aad, aad_len, ct, len, tag);
    return 0;
}

int box_open(crypto_gcm *g, const uint8_t nonce[CRYPTO_GCM_NONCE_BYTES], const void *aad,
             size_t aad_len, const uint8_t *ct, size_t len,
             const uint8_t tag[CRYPTO_GCM_TAG_BYTES], uint8_t *pt)
{
    if (g) return crypto_gcm_open(g, nonce, aad, aad_len, ct, len, tag, pt);
    uint8_t want[CRYPTO_GCM_TAG_BYTES];
    plain_tag(nonce, aad, aad_len, ct, len, want);
    if (!crypto_equal(want, tag, CRYPTO_GCM_TAG_BYTES)) {
        if (len) memset(pt, 0, len);
        return -1;
    }
    if (pt != ct && len) memmove(pt, ct, len);
    return 0;
}

#define FRAME_AAD_LEN FRAME_AAD_BYTES

size_t sealed_aad(uint8_t out[SEALED_AAD_BYTES], const char tag[4], const uint8_t *db_id,
                  const uint8_t *file_id, uint32_t epoch, uint8_t kind)
{
    STELE_ASSERT(kind >= FILE_KIND_SEGMENT && kind <= FILE_KIND_MANIFEST);
    memcpy(out, tag, 4);
    memcpy(out + 4, db_id, 16);
    memcpy(out + 20, file_id, 16);
    put_u32(out + 36, epoch);
    out[40] = kind;
    return SEALED_AAD_BYTES;
}

static void frame_aad(const char tag[4], const frame_place *pl, uint8_t aad[FRAME_AAD_LEN])
{
    size_t n = sealed_aad(aad, tag, pl->db_id, pl->file_id, pl->epoch, FILE_KIND_SEGMENT);
    put_u32(aad + n, pl->seg_seq);
    put_u64(aad + n + 4, pl->offset);
}

static void nonce_pair(const uint8_t base[FRAME_NONCE_BYTES], uint8_t nh[FRAME_NONCE_BYTES],
                       uint8_t np[FRAME_NONCE_BYTES])
{
    memcpy(nh, base, FRAME_NONCE_BYTES);
    memcpy(np, base, FRAME_NONCE_BYTES);
    nh[11] &= 0xfe;
    np[11] |= 0x01;
}

int frame_seal(crypto_gcm *g, crypto_rng *rng, const frame_place *pl,
               const uint8_t hdr_enc[RECHDR_BYTES], const uint8_t *env, size_t env_len,
               uint8_t *out)
{
    uint8_t aad[FRAME_AAD_LEN], nh[FRAME_NONCE_BYTES], np[FRAME_NONCE_BYTES];
    size_t total = frame_size(env_len);
    STELE_ASSERT(pl->offset % FRAME_ALIGN == 0);
    crypto_rng_bytes(rng, out, FRAME_NONCE_BYTES);
    out[11] &= 0xfe;
    nonce_pair(out, nh, np);
    frame_aad("FRH1", pl, aad);
    uint8_t *p = out + FRAME_NONCE_BYTES;
    if (box_seal(g, nh, aad, sizeof aad, hdr_enc, RECHDR_BYTES, p, p + RECHDR_BYTES) != 0)
        return -1;
    p += RECHDR_BYTES + CRYPTO_GCM_TAG_BYTES;
    frame_aad("FRP1", pl, aad);
    if (box_seal(g, np, aad, sizeof aad, env, env_len, p, p + env_len) != 0) return -1;
    p += env_len + CRYPTO_GCM_TAG_BYTES;
    size_t used = (size_t)(p - out);
    if (total > used) crypto_rng_bytes(rng, p, total - used);
    return 0;
}

int frame_open_header(crypto_gcm *g, const frame_place *pl, const uint8_t *in,
                      uint8_t hdr_enc[RECHDR_BYTES])
{
    uint8_t aad[FRAME_AAD_LEN], nh[FRAME_NONCE_BYTES], np[FRAME_NONCE_BYTES];
    if (in[11] & 1) return -1; /* header nonces always have bit 0 clear */
    nonce_pair(in, nh, np);
    frame_aad("FRH1", pl, aad);
    const uint8_t *c = in + FRAME_NONCE_BYTES;
    return box_open(g, nh, aad, sizeof aad, c, RECHDR_BYTES, c + RECHDR_BYTES, hdr_enc);
}

int frame_open_envelope(crypto_gcm *g, const frame_place *pl, const uint8_t *in, size_t env_len,
                        uint8_t *env)
{
    uint8_t aad[FRAME_AAD_LEN], nh[FRAME_NONCE_BYTES], np[FRAME_NONCE_BYTES];
    nonce_pair(in, nh, np);
    frame_aad("FRP1", pl, aad);
    const uint8_t *c = in + FRAME_NONCE_BYTES + RECHDR_BYTES + CRYPTO_GCM_TAG_BYTES;
    return box_open(g, np, aad, sizeof aad, c, env_len, c + env_len, env);
}

void envelope_build(crypto_rng *rng, const void *idem, size_t idem_len, const void *payload,
                    size_t len, uint8_t *out)
{
    STELE_ASSERT(idem_len <= LEDGER_IDEM_MAX && len <= LEDGER_PAYLOAD_MAX);
    crypto_rng_bytes(rng, out, ENVELOPE_SALT_BYTES);
    put_u16(out + ENVELOPE_SALT_BYTES, (uint16_t)idem_len);
    if (idem_len) memcpy(out + ENVELOPE_FIXED, idem, idem_len);
    if (len) memcpy(out + ENVELOPE_FIXED + idem_len, payload, len);
}

int envelope_parse(const uint8_t *env, size_t env_len, uint32_t payload_len,
                   const uint8_t **idem, size_t *idem_len, const uint8_t **payload)
{
    if (env_len < ENVELOPE_FIXED) return -1;
    size_t il = get_u16(env + ENVELOPE_SALT_BYTES);
    if (il > LEDGER_IDEM_MAX || ENVELOPE_FIXED + il + payload_len != env_len) return -1;
    *idem = env + ENVELOPE_FIXED;
    *idem_len = il;
    *payload = env + ENVELOPE_FIXED + il;
    return 0;
}

void envelope_payload_hash(const uint8_t *env, const uint8_t *payload, size_t len,
                           uint8_t out[CRYPTO_HASH_BYTES])
{
    crypto_sha256_2(env, ENVELOPE_SALT_BYTES, payload, len, out);
}


int seghdr_seal(crypto_gcm *g, const seghdr *h, uint8_t out[SEGHDR_AREA])
{
    uint8_t pt[SEGHDR_PLAIN_BYTES], aad[SEALED_AAD_BYTES];
    memset(pt, 0, sizeof pt);
    memcpy(pt, "STELESEG", 8);
    put_u32(pt + 8, SEGHDR_VERSION);
    put_u32(pt + 12, h->seq);
    memcpy(pt + 16, h->db_id, 16);
    memcpy(pt + 32, h->file_id, 16);
    put_u64(pt + 48, h->first_lsn);
    put_u32(pt + 56, h->key_epoch);
    crypto_random(out, SEGHDR_AREA);
    (void)sealed_aad(aad, "SEGH", h->db_id, h->file_id, h->key_epoch, FILE_KIND_SEGMENT);
    return box_seal(g, out, aad, sizeof aad, pt, sizeof pt, out + FRAME_NONCE_BYTES,
                           out + FRAME_NONCE_BYTES + SEGHDR_PLAIN_BYTES);
}

int seghdr_open(crypto_gcm *g, const uint8_t *db_id, const uint8_t *file_id, uint32_t epoch,
                const uint8_t in[SEGHDR_AREA], seghdr *h)
{
    uint8_t pt[SEGHDR_PLAIN_BYTES], aad[SEALED_AAD_BYTES];
    (void)sealed_aad(aad, "SEGH", db_id, file_id, epoch, FILE_KIND_SEGMENT);
    if (box_open(g, in, aad, sizeof aad, in + FRAME_NONCE_BYTES, SEGHDR_PLAIN_BYTES,
                        in + FRAME_NONCE_BYTES + SEGHDR_PLAIN_BYTES, pt) != 0)
        return -1;
    if (memcmp(pt, "STELESEG", 8) != 0 || get_u32(pt + 8) != SEGHDR_VERSION) return -1;
    h->seq = get_u32(pt + 12);
    memcpy(h->db_id, pt + 16, 16);
    memcpy(h->file_id, pt + 32, 16);
    h->first_lsn = get_u64(pt + 48);
    h->key_epoch = get_u32(pt + 56);
    if (memcmp(h->db_id, db_id, 16) != 0 || memcmp(h->file_id, file_id, 16) != 0 ||
        h->key_epoch != epoch)
        return -1;
    return 0;
}

void ledger_genesis_hash(const uint8_t db_id[LEDGER_ID_BYTES], uint8_t out[CRYPTO_HASH_BYTES])
{
    crypto_sha256_2("stele genesis", 13, db_id, LEDGER_ID_BYTES, out);
}

void checkpoint_message(const uint8_t db_id[LEDGER_ID_BYTES], uint64_t tree_size,
                        const uint8_t root[32], const uint8_t head_hash[32], uint64_t ts,
                        uint8_t out[CHECKPOINT_MSG_BYTES])
{
    uint8_t *p = out;
    memcpy(p, "stele-checkpoint-v1", 19);
    p += 19;
    memcpy(p, db_id, 16);
    p += 16;
    put_u64(p, tree_size);
    p += 8;
    memcpy(p, root, 32);
    p += 32;
    memcpy(p, head_hash, 32);
    p += 32;
    put_u64(p, ts);
}
