/*
 * settings.c (api) — the public calls for the store's signed settings
 * (include/stele.h, "Signed settings") over src/vault/settings.c. Layer: api.
 */
#include <stdio.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "util/util.h"
#include "vault/settings.h"
#include "vault/vault.h"

static stele_status settings_begin(const char *store_dir, util_err *e)
{
    util_err_clear(e);
    if (crypto_init() != 0) return util_fail(e, STELE_EIO, "cannot initialise libsodium");
    if (!store_dir || strlen(store_dir) > 3000)
        return util_fail(e, STELE_EINVAL, "a store directory (at most 3000 bytes) is required");
    return vault_store_check(store_dir, e);
}

static stele_status settings_end(const util_err *e, stele_status rc, char *errbuf, size_t cap)
{
    if (rc != STELE_OK && errbuf && cap) util_strlcpy(errbuf, e->msg, cap);
    return rc;
}

static int pin_json(const vault_settings_pin *p, buf *b)
{
    if (!p->present) return buf_printf(b, ",\"pin\":null");
    char pk[65];
    crypto_hex(p->pk, 32, pk);
    return buf_printf(b, ",\"pin\":{\"public_key\":\"%s\",\"version\":%llu,\"counter\":%llu}", pk,
                      (unsigned long long)p->version, (unsigned long long)p->counter);
}

/* {"file":..., <settings members>, "pin":...} into *json. */
static stele_status settings_report(const char *dir, const vault_settings *s, char **json,
                                    util_err *e)
{
    vault_settings_pin p;
    stele_status rc = vault_settings_pin_read(dir, &p, e);
    if (rc != STELE_OK) return rc;
    char path[VAULT_PATH_MAX];
    snprintf(path, sizeof path, "%s/config/%s", dir, SETTINGS_FILE);
    buf b;
    buf_init(&b);
    int bad = buf_printf(&b, "{\"file\":") || buf_json_str(&b, path, strlen(path)) ||
              buf_printf(&b, ",") || vault_settings_json(s, &b) || pin_json(&p, &b) ||
              buf_printf(&b, "}");
    if (bad) {
        buf_release(&b);
        return util_fail(e, STELE_ENOMEM, "out of memory");
    }
    if (json) *json = buf_detach(&b);
    buf_release(&b);
    return STELE_OK;
}

/* show (accept 0: nothing written) and verify (accept 1: pinned). */
static stele_status settings_check(const char *store_dir, int accept, char **json,
                                   char *errbuf, size_t errcap)
{
    util_err e;
    vault_settings s;
    stele_status rc = settings_begin(store_dir, &e);
    if (rc == STELE_OK)
        rc = accept ? vault_settings_accept(store_dir, &s, &e)
                    : vault_settings_load(store_dir, &s, &e);
    if (rc == STELE_OK) rc = settings_report(store_dir, &s, json, &e);
    return settings_end(&e, rc, errbuf, errcap);
}

stele_status stele_settings_show(const char *store_dir, char **json, char *errbuf,
                                 size_t errcap)
{
    return settings_check(store_dir, 0, json, errbuf, errcap);
}

stele_status stele_settings_verify(const char *store_dir, char **json, char *errbuf,
                                   size_t errcap)
{
    return settings_check(store_dir, 1, json, errbuf, errcap);
}

stele_status stele_settings_sign(const char *store_dir, const char *user,
                                 const char *password, size_t password_len,
                                 const char *settings, size_t len, uint64_t version,
                                 char **json, char *errbuf, size_t errcap)
{
    util_err e;
    vault_user u;
    vault_settings s;
    uint8_t *dek = NULL;
    stele_status rc = settings_begin(store_dir, &e);
    if (rc == STELE_OK && (!user || !password || !settings))
        rc = util_fail(&e, STELE_EINVAL, "user, password and settings are required");
    if (rc == STELE_OK) rc = vault_user_load(store_dir, user, &u, &e);
    if (rc == STELE_OK) rc = vault_user_unlock(&u, password, password_len, &dek, &e);
    if (rc == STELE_OK)
        rc = vault_settings_sign(store_dir, &u, dek, settings, len, version, &s, &e);
    crypto_secure_free(dek);
    if (rc == STELE_OK) rc = settings_report(store_dir, &s, json, &e);
    return settings_end(&e, rc, errbuf, errcap);
}

stele_status stele_settings_trust(const char *store_dir, const char *pubkey_hex, char *errbuf,
                                  size_t errcap)
{
    util_err e;
    uint8_t pk[CRYPTO_SIGN_PK_BYTES];
    stele_status rc = settings_begin(store_dir, &e);
    if (rc == STELE_OK &&
        (!pubkey_hex || strlen(pubkey_hex) != 64 || crypto_unhex(pubkey_hex, pk, 32) != 0))
        rc = util_fail(&e, STELE_EINVAL, "the settings key must be 64 hex digits (the "
                                         "\"public_key\" that 'stele settings show' prints)");
    if (rc == STELE_OK) rc = vault_settings_trust(store_dir, pk, &e);
    return settings_end(&e, rc, errbuf, errcap);
}
