/*
 * settings_test.c — src/vault/settings.c: signing, the pin, and refusals. Every
 * single-byte change of a signed file is refused; an older signed file is refused once
 * a newer one was accepted; a file signed by another key is refused; a pin provisions
 * a root; effective values never go below the built-in floors; the signed durability
 * default reaches an open (STELE_DURABLE_STORE). Layer: tests/unit.
 */
#include "vault/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/io.h"

typedef struct admin {
    char store[600];
    vault_user u;
    uint8_t *dek;
} admin;

static void admin_new(admin *a)
{
    uint8_t db[VAULT_ID_BYTES] = {1};
    util_err e;
    static unsigned next;
    snprintf(a->store, sizeof a->store, "%s/s%u", test_tmpdir(), next++);
    if (vault_store_create(a->store, &e) != STELE_OK ||
        vault_user_create(a->store, "root", "pw", 2, 1, db, &a->u, &a->dek, &e) != STELE_OK) {
        fprintf(stderr, "setup: %s\n", e.msg);
        abort();
    }
}

static stele_status sign(admin *a, const char *json, uint64_t version, vault_settings *s)
{
    util_err e;
    return vault_settings_sign(a->store, &a->u, a->dek, json, strlen(json), version, s, &e);
}

static int read_file(const char *store, const char *name, uint8_t **data, size_t *len)
{
    char path[700];
    util_err e;
    snprintf(path, sizeof path, "%s/config/%s", store, name);
    return io_read_file(path, 1 << 20, data, len, &e) == STELE_OK ? 0 : -1;
}

static int write_file(const char *store, const char *name, const uint8_t *data, size_t len)
{
    char dir[700];
    util_err e;
    snprintf(dir, sizeof dir, "%s/config", store);
    return io_write_atomic(dir, name, data, len, &e) == STELE_OK ? 0 : -1;
}

static void test_defaults(void)
{
    admin a;
    admin_new(&a);
    vault_settings s;
    util_err e;
    REQUIRE(vault_settings_load(a.store, &s, &e) == STELE_OK, "load without a file: %s", e.msg);
    CHECK(!s.is_signed && s.durability == -1, "no file: unsigned defaults");
    CHECK(s.kdf_floor.mem_kib == VAULT_KDF_MEM_KIB_FLOOR && s.kdf_floor.ops == VAULT_KDF_OPS_FLOOR,
          "no file: the built-in KDF floor");
    CHECK(vault_settings_accept(a.store, &s, &e) == STELE_ENOTFOUND, "nothing to accept");
    crypto_secure_free(a.dek);
}

static void test_sign_and_floors(void)
{
    admin a;
    admin_new(&a);
    vault_settings s, l;
    util_err e;
    REQUIRE(sign(&a, "{\"kdf_floor\":{\"m_kib\":1024,\"t\":1},\"durability\":\"none\"}", 0,
                 &s) == STELE_OK, "sign");
    CHECK(s.version == 1 && s.counter == 1, "first signature: version 1, counter 1");
    REQUIRE(vault_settings_load(a.store, &l, &e) == STELE_OK, "load: %s", e.msg);
    CHECK(l.is_signed && l.durability == STELE_DURABLE_NONE, "the signed durability is read");
    CHECK(l.kdf_floor.mem_kib == VAULT_KDF_MEM_KIB_FLOOR && l.kdf_floor.ops == VAULT_KDF_OPS_FLOOR,
          "a floor below the built-in one is not lowered");
    REQUIRE(sign(&a, "{\"kdf_floor\":{\"m_kib\":524288,\"t\":5}}", 7, &s) == STELE_OK, "sign v7");
    REQUIRE(vault_settings_load(a.store, &l, &e) == STELE_OK, "load v7: %s", e.msg);
    CHECK(l.version == 7 && l.counter == 2, "explicit version; the counter moves by one");
    crypto_kdf_params have = {.ops = 3, .mem_kib = 262144};
    crypto_kdf_params p = vault_settings_kdf(&l, have);
    CHECK(p.mem_kib == 524288 && p.ops == 5, "a higher floor raises the parameters");
    CHECK(sign(&a, "{}", 6, &s) == STELE_EUNTRUSTED, "a lower version is refused");
    CHECK(sign(&a, "{\"colour\":1}", 0, &s) == STELE_EINVAL, "unknown setting refused");
    CHECK(sign(&a, "{\"segment_size\":1000}", 0, &s) == STELE_EINVAL, "tiny segments refused");
    CHECK(sign(&a, "{\"durability\":\"sometimes\"}", 0, &s) == STELE_EINVAL, "bad durability");
    REQUIRE(vault_settings_load(a.store, &l, &e) == STELE_OK, "refused signs wrote nothing");
    CHECK(l.version == 7 && l.counter == 2, "still v7");
    crypto_secure_free(a.dek);
}

static void test_every_byte_tampered(void)
{
    admin a;
    admin_new(&a);
    vault_settings s;
    util_err e;
    REQUIRE(sign(&a, "{\"segment_size\":1048576,\"durability\":\"group\"}", 0, &s) == STELE_OK,
            "sign");
    uint8_t *good, *bad;
    size_t len;
    REQUIRE(read_file(a.store, SETTINGS_FILE, &good, &len) == 0, "read");
    int accepted = 0;
    for (size_t i = 0; i < len; i++) {
        bad = malloc(len);
        memcpy(bad, good, len);
        bad[i] ^= (uint8_t)(1u << (i % 8));
        REQUIRE(write_file(a.store, SETTINGS_FILE, bad, len) == 0, "write");
        if (vault_settings_load(a.store, &s, &e) != STELE_EUNTRUSTED) accepted++;
        free(bad);
    }
    CHECK(accepted == 0, "%d of %zu single-bit changes were accepted", accepted, len);
    REQUIRE(write_file(a.store, SETTINGS_FILE, good, len) == 0, "restore");
    CHECK(vault_settings_load(a.store, &s, &e) == STELE_OK && s.segment_size == 1048576,
          "the restored file is accepted");
    free(good);
    crypto_secure_free(a.dek);
}

static void test_rollback_and_wrong_key(void)
{
    admin a, b;
    admin_new(&a);
    admin_new(&b);
    vault_settings s;
    util_err e;
    uint8_t *v1, *v2, *other;
    size_t l1, l2, lo;
    REQUIRE(sign(&a, "{\"durability\":\"group\"}", 0, &s) == STELE_OK, "sign v1");
    REQUIRE(read_file(a.store, SETTINGS_FILE, &v1, &l1) == 0, "read v1");
    REQUIRE(sign(&a, "{\"durability\":\"none\"}", 0, &s) == STELE_OK, "sign v2");
    REQUIRE(read_file(a.store, SETTINGS_FILE, &v2, &l2) == 0, "read v2");
    REQUIRE(write_file(a.store, SETTINGS_FILE, v1, l1) == 0, "roll back");
    CHECK(vault_settings_load(a.store, &s, &e) == STELE_EUNTRUSTED &&
              strstr(e.msg, "older than the accepted version 2"),
          "rolled back: refused (%s)", e.msg);
    CHECK(s.durability == -1, "a refused file leaves the defaults, not its values");
    /* Another store's admin signs version 5: its key is not the one pinned here. */
    REQUIRE(sign(&b, "{}", 5, &s) == STELE_OK, "sign in the other store");
    REQUIRE(read_file(b.store, SETTINGS_FILE, &other, &lo) == 0, "read other");
    REQUIRE(write_file(a.store, SETTINGS_FILE, other, lo) == 0, "copy other");
    CHECK(vault_settings_load(a.store, &s, &e) == STELE_EUNTRUSTED &&
              strstr(e.msg, "but this store trusts key"),
          "another key: refused (%s)", e.msg);
    /* Provision b's key as the root: then b's file is accepted and a's refused. */
    vault_settings_pin pb;
    REQUIRE(vault_settings_pin_read(b.store, &pb, &e) == STELE_OK && pb.present, "b's pin");
    REQUIRE(vault_settings_trust(a.store, pb.pk, &e) == STELE_OK, "trust b's key");
    CHECK(vault_settings_accept(a.store, &s, &e) == STELE_OK && s.version == 5,
          "the provisioned key's file is accepted: %s", e.msg);
    REQUIRE(write_file(a.store, SETTINGS_FILE, v2, l2) == 0, "a's newest");
    CHECK(vault_settings_load(a.store, &s, &e) == STELE_EUNTRUSTED, "a's key is no longer trusted");
    CHECK(sign(&a, "{}", 0, &s) == STELE_EUNTRUSTED, "a cannot sign either");
    free(v1);
    free(v2);
    free(other);
    crypto_secure_free(a.dek);
    crypto_secure_free(b.dek);
}

static void test_open_uses_durability(void)
{
    char store[600];
    test_store_new(store, sizeof store, 65536, 0);
    char msg[512], *json = NULL;
    const char *body = "{\"durability\":\"group\"}";
    REQUIRE(stele_settings_sign(store, "ada", "pw", 2, body, strlen(body), 0, &json, msg,
                                sizeof msg) == STELE_OK, "sign: %s", msg);
    stele_free(json);
    stele_open_options o = {.durability = STELE_DURABLE_STORE};
    stele *db = test_store_open(store, &o);
    REQUIRE(db, "open");
    REQUIRE(stele_stat(db, &json) == STELE_OK, "stat");
    CHECK(strstr(json, "\"durability\":\"group\""), "the signed default is used: %s", json);
    stele_free(json);
    stele_close(db);
    o.durability = STELE_DURABLE_FSYNC;
    db = test_store_open(store, &o);
    REQUIRE(db && stele_stat(db, &json) == STELE_OK, "open fsync");
    CHECK(strstr(json, "\"durability\":\"fsync\""), "an explicit policy wins: %s", json);
    stele_free(json);
    stele_close(db);
}

/* The decision table of a manifest's settings record against loaded settings. */
static void test_seen_record(void)
{
    vault_settings s;
    vault_settings_seen seen;
    util_err e;
    memset(&seen, 0, sizeof seen);
    vault_settings_defaults(&s);
    CHECK(vault_settings_check_seen(&s, &seen, "db", &e) == STELE_OK &&
              !vault_settings_newer(&s, &seen), "no record, no settings");
    s.is_signed = 1;
    memset(s.pk, 7, 32);
    s.version = 3;
    s.counter = 5;
    CHECK(vault_settings_check_seen(&s, &seen, "db", &e) == STELE_OK &&
              vault_settings_newer(&s, &seen), "no record: accepted and recorded");
    memcpy(seen.pk, s.pk, 32);
    seen.version = 3;
    seen.counter = 5;
    CHECK(vault_settings_check_seen(&s, &seen, "db", &e) == STELE_OK &&
              !vault_settings_newer(&s, &seen), "the recorded settings themselves");
    seen.counter = 6;
    CHECK(vault_settings_check_seen(&s, &seen, "db", &e) == STELE_EUNTRUSTED,
          "a lower counter under the same key accepted");
    seen.counter = 4;
    CHECK(vault_settings_check_seen(&s, &seen, "db", &e) == STELE_OK &&
              vault_settings_newer(&s, &seen), "a higher counter refused or not recorded");
    memset(seen.pk, 8, 32); /* another key recorded: the version must go up */
    CHECK(vault_settings_check_seen(&s, &seen, "db", &e) == STELE_EUNTRUSTED,
          "another key at the recorded version accepted");
    seen.version = 2;
    CHECK(vault_settings_check_seen(&s, &seen, "db", &e) == STELE_OK, "another key, newer");
    s.is_signed = 0;
    CHECK(vault_settings_check_seen(&s, &seen, "db", &e) == STELE_EUNTRUSTED &&
              strstr(e.msg, "missing"), "deleted settings accepted: %s", e.msg);
}

int main(void)
{
    test_seed();
    if (crypto_init() != 0) return 1;
    TEST_RUN(test_defaults);
    TEST_RUN(test_sign_and_floors);
    TEST_RUN(test_every_byte_tampered);
    TEST_RUN(test_rollback_and_wrong_key);
    TEST_RUN(test_open_uses_durability);
    TEST_RUN(test_seen_record);
    return test_summary();
}
