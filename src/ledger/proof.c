/*
 * proof.c — offline verification of proof bundles (see audit.c for how they are
 * made and docs/FORMAT.md for the JSON). Needs no store, key or password: only the
 * bundle and, ideally, the database's public key obtained out of band. Layer: ledger.
 *
 * The bundle is untrusted input: every field is checked for type and length before
 * use, and the verdict rests only on hashes and the Ed25519 signature.
 */
#include <jansson.h>
#include <stdio.h>

#include "ledger/format.h"
#include "ledger/jsonfield.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"

typedef struct bundle_ckpt {
    uint64_t lsn, tree_size, ts;
    uint8_t root[32], head_hash[32], sig[64];
} bundle_ckpt;

static int get_ckpt(json_t *o, bundle_ckpt *c)
{
    if (!json_is_object(o)) return -1;
    return jf_u64(o, "lsn", &c->lsn) || jf_u64(o, "tree_size", &c->tree_size) ||
           jf_u64(o, "timestamp_ns", &c->ts) || jf_hex(o, "root", c->root, 32) ||
           jf_hex(o, "head_hash", c->head_hash, 32) || jf_hex(o, "signature", c->sig, 64);
}

static int get_hashes(json_t *arr, merkle_hash *out, size_t *n)
{
    if (!json_is_array(arr) || json_array_size(arr) > MERKLE_MAX_PATH) return -1;
    *n = json_array_size(arr);
    for (size_t i = 0; i < *n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s || strlen(s) != 64 || crypto_unhex(s, out[i], 32) != 0) return -1;
    }
    return 0;
}

static int ckpt_sig_ok(const uint8_t db[16], const uint8_t pk[32], const bundle_ckpt *c)
{
    uint8_t msg[CHECKPOINT_MSG_BYTES];
    checkpoint_message(db, c->tree_size, c->root, c->head_hash, c->ts, msg);
    return crypto_sig_verify(pk, msg, sizeof msg, c->sig) == 0 && c->tree_size == c->lsn - 1;
}

static stele_status fail(char *msg, size_t cap, stele_status code, const char *why)
{
    snprintf(msg, cap, "%s", why);
    return code;
}

static stele_status verify_payload(json_t *rec, const rechdr *h, char *msg, size_t cap)
{
    const char *ph = json_string_value(json_object_get(rec, "payload_hex"));
    if (!ph) return STELE_OK; /* content not disclosed: the proof covers the header */
    uint8_t salt[16], hash[32];
    size_t n = strlen(ph) / 2;
    if (jf_hex(rec, "salt", salt, 16) != 0 || strlen(ph) % 2 || n != h->payload_len)
        return fail(msg, cap, STELE_EINVAL, "malformed bundle: bad salt or payload");
    uint8_t *p = malloc(n ? n : 1);
    if (!p) return fail(msg, cap, STELE_ENOMEM, "out of memory");
    int bad = crypto_unhex(ph, p, n) != 0;
    if (!bad) crypto_sha256_2(salt, 16, p, n, hash);
    free(p);
    if (bad) return fail(msg, cap, STELE_EINVAL, "malformed bundle: payload is not hex");
    if (!crypto_equal(hash, h->payload_hash, 32))
        return fail(msg, cap, STELE_EPROOF, "payload does not match the record's payload hash");
    return STELE_OK;
}

static stele_status verify_inclusion(json_t *o, const uint8_t db[16], const uint8_t pk[32],
                                     char *msg, size_t cap)
{
    json_t *rec = json_object_get(o, "record");
    bundle_ckpt c;
    uint8_t hdr[RECHDR_BYTES], hash[32], claimed[32];
    merkle_hash path[MERKLE_MAX_PATH];
    size_t n;
    uint64_t lsn;
    rechdr h;
    if (!json_is_object(rec) || jf_u64(rec, "lsn", &lsn) || jf_hex(rec, "header", hdr, 152) ||
        get_ckpt(json_object_get(o, "checkpoint"), &c) ||
        get_hashes(json_object_get(o, "path"), path, &n))
        return fail(msg, cap, STELE_EINVAL, "malformed bundle: missing or bad fields");
    if (rechdr_decode(hdr, &h) != 0 || h.lsn != lsn)
        return fail(msg, cap, STELE_EPROOF, "record header is malformed or names another LSN");
    rechdr_hash(hdr, hash);
    if (jf_hex(rec, "hash", claimed, 32) == 0 && !crypto_equal(hash, claimed, 32))
        return fail(msg, cap, STELE_EPROOF, "record hash does not match its header");
    if (!ckpt_sig_ok(db, pk, &c))
        return fail(msg, cap, STELE_EPROOF, "checkpoint signature does not verify");
    if (lsn == 0 || lsn > c.tree_size)
        return fail(msg, cap, STELE_EPROOF, "the checkpoint does not cover the record");
    if (lsn == c.tree_size && !crypto_equal(hash, c.head_hash, 32))
        return fail(msg, cap, STELE_EPROOF, "record is not the checkpoint's head");
    if (merkle_verify_inclusion(hash, lsn - 1, c.tree_size, path, n, c.root) != 0)
        return fail(msg, cap, STELE_EPROOF, "inclusion path does not lead to the signed root");
    stele_status rc = verify_payload(rec, &h, msg, cap);
    if (rc != STELE_OK) return rc;
    snprintf(msg, cap, "record LSN %llu is included in checkpoint LSN %llu (%llu records)%s",
             (unsigned long long)lsn, (unsigned long long)c.lsn,
             (unsigned long long)c.tree_size,
             json_object_get(rec, "payload_hex") ? "; payload matches" : "");
    return STELE_OK;
}

static stele_status verify_consistency(json_t *o, const uint8_t db[16], const uint8_t pk[32],
                                       char *msg, size_t cap)
{
    bundle_ckpt a, b;
    merkle_hash proof[MERKLE_MAX_PATH];
    size_t n;
    if (get_ckpt(json_object_get(o, "old"), &a) || get_ckpt(json_object_get(o, "new"), &b) ||
        get_hashes(json_object_get(o, "proof"), proof, &n))
        return fail(msg, cap, STELE_EINVAL, "malformed bundle: missing or bad fields");
    if (!ckpt_sig_ok(db, pk, &a) || !ckpt_sig_ok(db, pk, &b))
        return fail(msg, cap, STELE_EPROOF, "a checkpoint signature does not verify");
    if (merkle_verify_consistency(a.tree_size, b.tree_size, a.root, b.root, proof, n) != 0)
        return fail(msg, cap, STELE_EPROOF,
                    "the newer checkpoint does not extend the older one (history was rewritten)");
    snprintf(msg, cap, "checkpoint LSN %llu (%llu records) extends checkpoint LSN %llu (%llu)",
             (unsigned long long)b.lsn, (unsigned long long)b.tree_size,
             (unsigned long long)a.lsn, (unsigned long long)a.tree_size);
    return STELE_OK;
}

stele_status proof_verify(const char *json, size_t len, const char *trusted_pk_hex, char *msg,
                          size_t cap)
{
    json_error_t err;
    json_t *o = json_loadb(json, len, 0, &err);
    if (!o) {
        snprintf(msg, cap, "malformed bundle: %s at line %d, column %d", err.text, err.line,
                 err.column);
        return STELE_EINVAL;
    }
    uint8_t db[16], pk[32], trusted[32];
    const char *fmt = json_string_value(json_object_get(o, "format"));
    const char *type = json_string_value(json_object_get(o, "type"));
    stele_status rc;
    if (!fmt || strcmp(fmt, "stele-proof-v1") != 0 || !type || jf_hex(o, "database", db, 16) ||
        jf_hex(o, "public_key", pk, 32))
        rc = fail(msg, cap, STELE_EINVAL, "malformed bundle: not a stele-proof-v1 document");
    else if (trusted_pk_hex && (strlen(trusted_pk_hex) != 64 ||
                                crypto_unhex(trusted_pk_hex, trusted, 32) != 0))
        rc = fail(msg, cap, STELE_EINVAL, "the trusted public key must be 64 hex digits");
    else if (trusted_pk_hex && !crypto_equal(trusted, pk, 32))
        rc = fail(msg, cap, STELE_EPROOF, "bundle is signed by another key than the trusted one");
    else if (strcmp(type, "inclusion") == 0) rc = verify_inclusion(o, db, pk, msg, cap);
    else if (strcmp(type, "consistency") == 0) rc = verify_consistency(o, db, pk, msg, cap);
    else rc = fail(msg, cap, STELE_EINVAL, "malformed bundle: unknown type");
    json_decref(o);
    return rc;
}
