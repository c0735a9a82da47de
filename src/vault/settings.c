/*
 * settings.c — signed store settings, their pin, and the admins' settings keys. See
 * settings.h for the format and the trust rules, docs/FORMAT.md "Signed settings" for
 * the bytes. Layer: vault. jansson parses and writes the JSON (speed does not matter
 * here; its JSON_COMPACT | JSON_SORT_KEYS output is the canonical form).
 *
 * Acceptance, as a decision table (pin = config/settings.pin; file = settings.json):
 *   file                      pin                         outcome
 *   missing                   any                         built-in defaults
 *   not canonical / bad sig   any                         EUNTRUSTED "tampered"
 *   valid, key K              none                        accepted (TOFU on accept)
 *   valid, key K              key != K                    EUNTRUSTED "another key"
 *   valid, (v,c) < pin        key K                       EUNTRUSTED "rolled back"
 *   valid, (v,c) = pin        key K, other file hash      EUNTRUSTED "two files, one counter"
 *   valid, (v,c) >= pin       key K                       accepted
 * (v,c) compare as a pair: version first, then counter. `trust` keeps the version and
 * resets the counter (a new key counts its own signatures).
 */
#include "vault/settings.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/io.h"
#include "vault/vault_int.h"

#define SETTINGS_FORMAT "stele-settings-v1"
#define SIG_DOMAIN "stele-settings-v1\n"
#define KEY_MAGIC "stele-settings-key "
#define PIN_MAGIC "stele-settings-pin "

void vault_settings_defaults(vault_settings *s)
{
    memset(s, 0, sizeof *s);
    s->kdf_floor.mem_kib = VAULT_KDF_MEM_KIB_FLOOR;
    s->kdf_floor.ops = VAULT_KDF_OPS_FLOOR;
    s->durability = -1;
}

crypto_kdf_params vault_settings_kdf(const vault_settings *s, crypto_kdf_params have)
{
    crypto_kdf_params p = have;
    if (p.mem_kib < s->kdf_floor.mem_kib) p.mem_kib = s->kdf_floor.mem_kib;
    if (p.ops < s->kdf_floor.ops) p.ops = s->kdf_floor.ops;
    STELE_ASSERT(p.mem_kib >= VAULT_KDF_MEM_KIB_FLOOR && p.ops >= VAULT_KDF_OPS_FLOOR);
    return p;
}

static void config_path(const char *dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/config/%s", dir, name);
}

/* ---- the settings object ---- */

static const char *const DURABILITY_NAMES[] = {"fsync", "group", "none"};

/* An integer member in [lo, hi]; absent leaves *out. -1 if present but not such. */
static int get_range(json_t *o, const char *key, uint64_t lo, uint64_t hi, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    uint64_t x = (uint64_t)json_integer_value(v);
    if (x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

static stele_status body_kdf(json_t *k, vault_settings *s, const char *where, util_err *e)
{
    uint64_t m = s->kdf_floor.mem_kib, t = s->kdf_floor.ops;
    const char *key;
    json_t *v;
    json_object_foreach(k, key, v) {
        if (strcmp(key, "m_kib") != 0 && strcmp(key, "t") != 0)
            return util_fail(e, STELE_EINVAL, "%s: unknown member kdf_floor.%s (use m_kib, t)",
                             where, key);
    }
    if (get_range(k, "m_kib", 1, SETTINGS_KDF_MEM_KIB_MAX, &m) != 0 ||
        get_range(k, "t", 1, SETTINGS_KDF_OPS_MAX, &t) != 0)
        return util_fail(e, STELE_EINVAL,
                         "%s: kdf_floor needs whole numbers m_kib (at most %u) and t (at most "
                         "%u)", where, SETTINGS_KDF_MEM_KIB_MAX, SETTINGS_KDF_OPS_MAX);
    /* A floor below the built-in one is kept at the built-in one (never lowered). */
    if (m > s->kdf_floor.mem_kib) s->kdf_floor.mem_kib = m;
    if (t > s->kdf_floor.ops) s->kdf_floor.ops = t;
    return STELE_OK;
}

static stele_status body_durability(json_t *d, vault_settings *s, const char *where,
                                    util_err *e)
{
    for (int i = 0; json_is_string(d) && i < 3; i++)
        if (strcmp(json_string_value(d), DURABILITY_NAMES[i]) == 0) {
            s->durability = i;
            return STELE_OK;
        }
    return util_fail(e, STELE_EINVAL, "%s: durability must be \"fsync\", \"group\" or \"none\"",
                     where);
}

/* Reads the members of a settings object into s (which holds the defaults). */
static stele_status body_parse(json_t *o, vault_settings *s, const char *where, util_err *e)
{
    if (!json_is_object(o))
        return util_fail(e, STELE_EINVAL, "%s: the settings must be a JSON object", where);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        uint64_t x = 0;
        stele_status rc = STELE_OK;
        if (strcmp(key, "kdf_floor") == 0) {
            rc = json_is_object(v) ? body_kdf(v, s, where, e)
                                   : util_fail(e, STELE_EINVAL, "%s: kdf_floor must be an "
                                               "object {\"m_kib\":N,\"t\":N}", where);
        } else if (strcmp(key, "durability") == 0) {
            rc = body_durability(v, s, where, e);
        } else if (strcmp(key, "segment_size") == 0) {
            if (get_range(o, key, SETTINGS_SEGMENT_MIN, SETTINGS_SEGMENT_MAX, &x) != 0 ||
                x % 4096 != 0)
                rc = util_fail(e, STELE_EINVAL, "%s: segment_size must be a multiple of 4096 "
                               "from %u to %u", where, SETTINGS_SEGMENT_MIN,
                               SETTINGS_SEGMENT_MAX);
            s->segment_size = (uint32_t)x;
        } else if (strcmp(key, "checkpoint_every") == 0) {
            if (get_range(o, key, 1, SETTINGS_CHECKPOINT_MAX, &x) != 0)
                rc = util_fail(e, STELE_EINVAL, "%s: checkpoint_every must be from 1 to %u",
                               where, SETTINGS_CHECKPOINT_MAX);
            s->checkpoint_every = (uint32_t)x;
        } else {
            rc = util_fail(e, STELE_EINVAL, "%s: unknown setting '%s' (known: kdf_floor, "
                           "segment_size, checkpoint_every, durability)", where, key);
        }
        if (rc != STELE_OK) return rc;
    }
    return STELE_OK;
}

/* ---- canonical bytes and the signature ---- */

static char *canonical(const json_t *o)
{
    return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

/* The signed message: SIG_DOMAIN | canonical(o without "signature"). */
static int sig_message(json_t *o, buf *msg)
{
    json_t *c = json_deep_copy(o);
    if (!c) return -1;
    json_object_del(c, "signature");
    char *t = canonical(c);
    json_decref(c);
    int bad = !t || buf_append(msg, SIG_DOMAIN, strlen(SIG_DOMAIN)) ||
              buf_append(msg, t, strlen(t));
    free(t);
    return bad ? -1 : 0;
}

static int hex_member(json_t *o, const char *key, uint8_t *out, size_t len)
{
    const char *h = json_string_value(json_object_get(o, key));
    return (h && strlen(h) == 2 * len) ? crypto_unhex(h, out, len) : -1;
}

static stele_status tampered(const char *path, const char *why, util_err *e)
{
    return util_fail(e, STELE_EUNTRUSTED,
                     "settings '%s' refused: %s (the file was changed; restore the signed "
                     "file or sign new settings with 'stele settings sign')", path, why);
}

/* Checks form and signature of the file's bytes; fills the signed fields of s. */
static stele_status file_check(const char *path, const uint8_t *data, size_t len,
                               vault_settings *s, util_err *e)
{
    json_error_t jerr;
    json_t *o = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return tampered(path, "it is not a JSON object", e);
    }
    char *c = canonical(o);
    int canon_ok = c && strlen(c) + 1 == len && memcmp(c, data, len - 1) == 0 &&
                   data[len - 1] == '\n';
    free(c);
    uint8_t sig[CRYPTO_SIGN_BYTES];
    buf msg;
    buf_init(&msg);
    json_t *ver = json_object_get(o, "version"), *cnt = json_object_get(o, "counter");
    json_t *at = json_object_get(o, "signed_at_ns");
    const char *fmt = json_string_value(json_object_get(o, "format"));
    stele_status rc = STELE_OK;
    if (!canon_ok) rc = tampered(path, "it is not in canonical form", e);
    else if (!fmt || strcmp(fmt, SETTINGS_FORMAT) != 0 || json_object_size(o) != 7 ||
             !json_is_integer(ver) || json_integer_value(ver) < 1 || !json_is_integer(cnt) ||
             json_integer_value(cnt) < 1 || !json_is_integer(at) ||
             json_integer_value(at) < 0 || hex_member(o, "public_key", s->pk, 32) != 0 ||
             hex_member(o, "signature", sig, 64) != 0)
        rc = tampered(path, "a member is missing or malformed", e);
    else if (sig_message(o, &msg) != 0) rc = util_fail(e, STELE_ENOMEM, "out of memory");
    else if (crypto_sig_verify(s->pk, msg.data, msg.len, sig) != 0)
        rc = tampered(path, "the signature is not authentic", e);
    if (rc == STELE_OK) {
        s->is_signed = 1;
        s->version = (uint64_t)json_integer_value(ver);
        s->counter = (uint64_t)json_integer_value(cnt);
        s->signed_at_ns = (uint64_t)json_integer_value(at);
        crypto_sha256(data, len, s->file_hash);
        rc = body_parse(json_object_get(o, "settings"), s, path, e);
        if (rc != STELE_OK) rc = tampered(path, "its settings are malformed", e);
    }
    buf_release(&msg);
    json_decref(o);
    return rc;
}

/* ---- the pin ---- */

stele_status vault_settings_pin_read(const char *dir, vault_settings_pin *p, util_err *e)
{
    char path[VAULT_PATH_MAX];
    config_path(dir, SETTINGS_PIN_FILE, path, sizeof path);
    memset(p, 0, sizeof *p);
    uint8_t *text = NULL;
    stele_status rc = vault_kv_read(path, PIN_MAGIC, &text, e);
    if (rc == STELE_ENOTFOUND) return STELE_OK;
    if (rc != STELE_OK) return rc;
    const char *t = (const char *)text;
    int bad = vault_kv_get_hex(t, "public_key", p->pk, 32) ||
              vault_kv_get_u64(t, "version", &p->version) ||
              vault_kv_get_u64(t, "counter", &p->counter) ||
              vault_kv_get_hex(t, "file_sha256", p->file_hash, 32);
    free(text);
    if (bad)
        return util_fail(e, STELE_ECORRUPT, "'%s' is corrupt: a field is missing (restore it, "
                         "or provision the key again with 'stele settings trust')", path);
    p->present = 1;
    return STELE_OK;
}

static stele_status pin_write(const char *dir, const vault_settings_pin *p, util_err *e)
{
    STELE_ASSERT(p->present);
    buf b;
    buf_init(&b);
    int bad = buf_printf(&b, "stele-settings-pin 1\n") ||
              vault_kv_hex_line(&b, "public_key", p->pk, 32) ||
              buf_printf(&b, "version %llu\ncounter %llu\n", (unsigned long long)p->version,
                         (unsigned long long)p->counter) ||
              vault_kv_hex_line(&b, "file_sha256", p->file_hash, 32);
    char cfg[VAULT_PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/config", dir);
    return vault_kv_write(cfg, SETTINGS_PIN_FILE, &b, bad, e);
}

static stele_status pin_check(const char *path, const vault_settings *s,
                              const vault_settings_pin *p, util_err *e)
{
    char have[65], want[65];
    if (!p->present) return STELE_OK;
    if (!crypto_equal(s->pk, p->pk, 32)) {
        crypto_hex(s->pk, 32, have);
        crypto_hex(p->pk, 32, want);
        return util_fail(e, STELE_EUNTRUSTED,
                         "settings '%s' refused: signed by key %s, but this store trusts key %s "
                         "(sign them with the trusted key, or provision the new key with "
                         "'stele settings trust')", path, have, want);
    }
    int older = s->version < p->version || (s->version == p->version && s->counter < p->counter);
    if (older)
        return util_fail(e, STELE_EUNTRUSTED,
                         "settings '%s' refused: version %llu (counter %llu) is older than the "
                         "accepted version %llu (counter %llu): rolled back? (restore the newest "
                         "signed file or sign new settings)", path,
                         (unsigned long long)s->version, (unsigned long long)s->counter,
                         (unsigned long long)p->version, (unsigned long long)p->counter);
    static const uint8_t zero[32];
    if (s->version == p->version && s->counter == p->counter &&
        !crypto_equal(p->file_hash, zero, 32) &&
        !crypto_equal(s->file_hash, p->file_hash, 32))
        return util_fail(e, STELE_EUNTRUSTED,
                         "settings '%s' refused: counter %llu was already accepted for other "
                         "settings (restore the accepted file or sign new settings)", path,
                         (unsigned long long)s->counter);
    return STELE_OK;
}

/* ---- load, accept ---- */

static stele_status load_with_pin(const char *dir, vault_settings *s, vault_settings_pin *p,
                                  util_err *e)
{
    char path[VAULT_PATH_MAX];
    config_path(dir, SETTINGS_FILE, path, sizeof path);
    vault_settings_defaults(s);
    stele_status rc = vault_settings_pin_read(dir, p, e);
    if (rc != STELE_OK) return rc;
    uint8_t *data = NULL;
    size_t len = 0;
    rc = io_read_file(path, SETTINGS_FILE_MAX, &data, &len, e);
    if (rc == STELE_ENOTFOUND) {
        util_err_clear(e);
        return STELE_OK;
    }
    if (rc == STELE_OK) rc = file_check(path, data, len, s, e);
    if (rc == STELE_OK) rc = pin_check(path, s, p, e);
    free(data);
    if (rc != STELE_OK) vault_settings_defaults(s);
    return rc;
}

static int seen_none(const vault_settings_seen *seen)
{
    static const uint8_t zero[CRYPTO_SIGN_PK_BYTES];
    return crypto_equal(seen->pk, zero, sizeof zero);
}

stele_status vault_settings_check_seen(const vault_settings *s, const vault_settings_seen *seen,
                                       const char *db, util_err *e)
{
    if (seen_none(seen)) return STELE_OK;
    char pk[65];
    crypto_hex(seen->pk, 32, pk);
    unsigned long long v = seen->version, c = seen->counter;
    if (!s->is_signed)
        return util_fail(e, STELE_EUNTRUSTED, "settings refused: config/%s is missing, but %s "
                         "accepted settings version %llu (counter %llu, key %.16s...): the "
                         "settings were deleted together with their pin? (restore config/ from "
                         "a backup, or sign settings with a version above %llu)", SETTINGS_FILE,
                         db, v, c, pk, v);
    int same = crypto_equal(s->pk, seen->pk, 32);
    int older = same ? s->version < v || (s->version == v && s->counter < c) : s->version <= v;
    if (older)
        return util_fail(e, STELE_EUNTRUSTED, "settings refused: config/%s is version %llu "
                         "(counter %llu%s), older than version %llu (counter %llu, key %.16s...) "
                         "that %s accepted: rolled back together with its pin? (restore the "
                         "newest signed file, or sign settings with a version above %llu)",
                         SETTINGS_FILE, (unsigned long long)s->version,
                         (unsigned long long)s->counter, same ? "" : ", another key", v, c, pk,
                         db, v);
    return STELE_OK;
}

int vault_settings_newer(const vault_settings *s, const vault_settings_seen *seen)
{
    return s->is_signed && !(crypto_equal(s->pk, seen->pk, 32) && s->version == seen->version &&
                             s->counter == seen->counter);
}

stele_status vault_settings_load(const char *dir, vault_settings *s, util_err *e)
{
    vault_settings_pin p;
    return load_with_pin(dir, s, &p, e);
}

stele_status vault_settings_accept(const char *dir, vault_settings *s, util_err *e)
{
    vault_settings_pin p;
    stele_status rc = load_with_pin(dir, s, &p, e);
    if (rc != STELE_OK) return rc;
    if (!s->is_signed)
        return util_fail(e, STELE_ENOTFOUND, "there are no settings in '%s/config' (sign some "
                         "with 'stele settings sign FILE')", dir);
    p.present = 1;
    memcpy(p.pk, s->pk, 32);
    p.version = s->version;
    p.counter = s->counter;
    memcpy(p.file_hash, s->file_hash, 32);
    return pin_write(dir, &p, e);
}

stele_status vault_settings_trust(const char *dir, const uint8_t pk[CRYPTO_SIGN_PK_BYTES],
                                  util_err *e)
{
    vault_settings_pin p;
    stele_status rc = vault_settings_pin_read(dir, &p, e);
    if (rc != STELE_OK) return rc;
    if (p.present && crypto_equal(p.pk, pk, 32)) return STELE_OK;
    p.present = 1;
    memcpy(p.pk, pk, 32);
    /* A new key counts its signatures from 0; versions never go back. */
    p.counter = 0;
    memset(p.file_hash, 0, 32);
    return pin_write(dir, &p, e);
}

/* ---- the admins' settings keys ---- */

static void sk_aad(const uint8_t user_id[VAULT_ID_BYTES], uint8_t aad[21 + VAULT_ID_BYTES])
{
    memcpy(aad, "stele/settings-sk/v1\0", 21);
    memcpy(aad + 21, user_id, VAULT_ID_BYTES);
}

static stele_status key_create(const char *dir, const vault_user *u, const uint8_t *dek,
                               uint8_t pk[32], uint8_t *sk, util_err *e)
{
    uint8_t wrapped[CRYPTO_SIGN_SK_BYTES + CRYPTO_WRAP_OVERHEAD], aad[21 + VAULT_ID_BYTES];
    sk_aad(u->id, aad);
    if (crypto_sig_keypair(pk, sk) != 0 ||
        crypto_wrap(dek, aad, sizeof aad, sk, CRYPTO_SIGN_SK_BYTES, wrapped) != 0)
        return util_fail(e, STELE_EIO, "cannot make a settings key for user '%s'", u->name);
    buf b;
    buf_init(&b);
    int bad = buf_printf(&b, "stele-settings-key 1\nuser %s\n", u->name) ||
              vault_kv_hex_line(&b, "user_id", u->id, VAULT_ID_BYTES) ||
              vault_kv_hex_line(&b, "public_key", pk, 32) ||
              vault_kv_hex_line(&b, "secret_key_wrapped", wrapped, sizeof wrapped);
    char cfg[VAULT_PATH_MAX], name[VAULT_NAME_MAX + 16];
    snprintf(cfg, sizeof cfg, "%s/config", dir);
    snprintf(name, sizeof name, "settings-key.%s", u->name);
    return vault_kv_write(cfg, name, &b, bad, e);
}

/* Unwraps user u's settings key into sk (secure memory), creating it on first use. */
static stele_status key_load(const char *dir, const vault_user *u, const uint8_t *dek,
                             uint8_t pk[32], uint8_t *sk, util_err *e)
{
    char path[VAULT_PATH_MAX], name[VAULT_NAME_MAX + 16];
    snprintf(name, sizeof name, "settings-key.%s", u->name);
    config_path(dir, name, path, sizeof path);
    uint8_t *text = NULL;
    stele_status rc = vault_kv_read(path, KEY_MAGIC, &text, e);
    if (rc == STELE_ENOTFOUND) {
        util_err_clear(e);
        return key_create(dir, u, dek, pk, sk, e);
    }
    if (rc != STELE_OK) return rc;
    uint8_t wrapped[CRYPTO_SIGN_SK_BYTES + CRYPTO_WRAP_OVERHEAD], uid[VAULT_ID_BYTES];
    uint8_t aad[21 + VAULT_ID_BYTES];
    int bad = vault_kv_get_hex((char *)text, "user_id", uid, VAULT_ID_BYTES) ||
              vault_kv_get_hex((char *)text, "public_key", pk, 32) ||
              vault_kv_get_hex((char *)text, "secret_key_wrapped", wrapped, sizeof wrapped);
    free(text);
    if (bad) return util_fail(e, STELE_ECORRUPT, "'%s' is corrupt: a field is missing", path);
    sk_aad(u->id, aad);
    if (!crypto_equal(uid, u->id, VAULT_ID_BYTES) ||
        crypto_unwrap(dek, aad, sizeof aad, wrapped, sizeof wrapped, sk) != 0 ||
        !crypto_equal(sk + 32, pk, 32))
        return util_fail(e, STELE_ECORRUPT, "'%s': settings key not authentic", path);
    return STELE_OK;
}

/* ---- signing ---- */

/* Builds the signed object (without the signature) for body `settings`. */
static json_t *signed_object(json_t *settings, const vault_settings *s)
{
    char pkhex[65];
    crypto_hex(s->pk, 32, pkhex);
    return json_pack("{s:I, s:s, s:s, s:O, s:I, s:I}", "counter", (json_int_t)s->counter,
                     "format", SETTINGS_FORMAT, "public_key", pkhex, "settings", settings,
                     "signed_at_ns", (json_int_t)s->signed_at_ns, "version",
                     (json_int_t)s->version);
}

/* Signs o in place (adds "signature") and returns the file bytes, or NULL. */
static char *sign_object(json_t *o, const uint8_t *sk)
{
    buf msg;
    buf_init(&msg);
    uint8_t sig[CRYPTO_SIGN_BYTES];
    char sighex[2 * CRYPTO_SIGN_BYTES + 1];
    char *out = NULL;
    if (sig_message(o, &msg) == 0 && crypto_sig_sign(sk, msg.data, msg.len, sig) == 0) {
        crypto_hex(sig, sizeof sig, sighex);
        json_t *h = json_string(sighex);
        if (h && json_object_set_new(o, "signature", h) == 0) out = canonical(o);
    }
    buf_release(&msg);
    return out;
}

static stele_status next_numbers(const char *dir, uint64_t version, vault_settings *s,
                                 vault_settings_pin *p, util_err *e)
{
    stele_status rc = vault_settings_pin_read(dir, p, e);
    if (rc != STELE_OK) return rc;
    if (p->present && !crypto_equal(p->pk, s->pk, 32)) {
        char have[65], want[65];
        crypto_hex(s->pk, 32, have);
        crypto_hex(p->pk, 32, want);
        return util_fail(e, STELE_EUNTRUSTED,
                         "this store trusts settings key %s, not this user's key %s (an admin "
                         "with the trusted key signs, or run 'stele settings trust %s' first)",
                         want, have, have);
    }
    if (version && version < p->version)
        return util_fail(e, STELE_EUNTRUSTED, "version %llu is older than the accepted version "
                         "%llu: versions never go back", (unsigned long long)version,
                         (unsigned long long)p->version);
    s->version = version ? version : p->version + 1;
    s->counter = p->counter + 1;
    s->signed_at_ns = util_now_ns();
    return STELE_OK;
}

static stele_status write_signed(const char *dir, json_t *body, const uint8_t *sk,
                                 vault_settings *s, vault_settings_pin *p, util_err *e)
{
    json_t *o = signed_object(body, s);
    char *text = o ? sign_object(o, sk) : NULL;
    json_decref(o);
    if (!text) return util_fail(e, STELE_ENOMEM, "out of memory signing the settings");
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps leaves room only for its NUL: rebuild with the newline */
    buf b;
    buf_init(&b);
    int bad = buf_append(&b, text, n + 1);
    free(text);
    char cfg[VAULT_PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/config", dir);
    stele_status rc = bad ? util_fail(e, STELE_ENOMEM, "out of memory")
                          : io_write_atomic(cfg, SETTINGS_FILE, b.data, b.len, e);
    if (rc == STELE_OK) {
        crypto_sha256(b.data, b.len, s->file_hash);
        s->is_signed = 1;
        p->present = 1;
        memcpy(p->pk, s->pk, 32);
        p->version = s->version;
        p->counter = s->counter;
        memcpy(p->file_hash, s->file_hash, 32);
        rc = pin_write(dir, p, e);
    }
    buf_release(&b);
    return rc;
}

stele_status vault_settings_sign(const char *dir, const vault_user *u, const uint8_t *dek,
                                 const char *json, size_t len, uint64_t version,
                                 vault_settings *out, util_err *e)
{
    STELE_ASSERT(dir && u && dek && json && out);
    json_error_t jerr;
    json_t *body = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    vault_settings_defaults(out);
    if (!body)
        return util_fail(e, STELE_EINVAL, "malformed settings JSON at line %d, column %d: %s",
                         jerr.line, jerr.column, jerr.text);
    stele_status rc = body_parse(body, out, "the settings to sign", e);
    vault_settings_pin p;
    uint8_t *sk = crypto_secure_alloc(CRYPTO_SIGN_SK_BYTES);
    if (!sk && rc == STELE_OK) rc = util_fail(e, STELE_ENOMEM, "cannot allocate secure memory");
    if (rc == STELE_OK) rc = key_load(dir, u, dek, out->pk, sk, e);
    if (rc == STELE_OK) rc = next_numbers(dir, version, out, &p, e);
    if (rc == STELE_OK) rc = write_signed(dir, body, sk, out, &p, e);
    crypto_secure_free(sk);
    json_decref(body);
    return rc;
}

/* ---- JSON for show ---- */

int vault_settings_json(const vault_settings *s, buf *out)
{
    char pk[65];
    crypto_hex(s->pk, 32, pk);
    int bad = buf_printf(out, "\"signed\":%s", s->is_signed ? "true" : "false");
    if (s->is_signed)
        bad |= buf_printf(out, ",\"version\":%llu,\"counter\":%llu,\"signed_at_ns\":%llu,"
                               "\"public_key\":\"%s\"",
                          (unsigned long long)s->version, (unsigned long long)s->counter,
                          (unsigned long long)s->signed_at_ns, pk);
    bad |= buf_printf(out, ",\"settings\":{\"kdf_floor\":{\"m_kib\":%llu,\"t\":%llu},"
                           "\"segment_size\":%u,\"checkpoint_every\":%u,\"durability\":\"%s\"}",
                      (unsigned long long)s->kdf_floor.mem_kib,
                      (unsigned long long)s->kdf_floor.ops,
                      s->segment_size ? s->segment_size : 32u << 20,
                      s->checkpoint_every ? s->checkpoint_every : 1000u,
                      s->durability >= 0 ? DURABILITY_NAMES[s->durability] : "fsync");
    return bad ? -1 : 0;
}
