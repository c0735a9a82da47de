/*
 * rollback_test.c — freshness anchors (src/vault/anchor.h): a database directory put
 * back from an older backup is refused at the next open, with a message naming the
 * versions and what to do, although every file in it is authentic and signed; the
 * rollback can be accepted on purpose, and then the older state is the newest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stele.h"
#include "testutil.h"

static char store[600];

static stele_status put(stele *db, const char *id)
{
    char t[256];
    snprintf(t, sizeof t, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"c\",\"doc\":{\"_id\":\"%s\"}}]}",
             id);
    return stele_txn(db, t, strlen(t), NULL, NULL);
}

static int has(stele *db, const char *id)
{
    char *doc = NULL;
    stele_status rc = stele_doc_get(db, "c", id, 0, &doc);
    stele_free(doc);
    return rc == STELE_OK;
}

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static void test_restored_backup_is_refused(void)
{
    test_store_new(store, sizeof store, 1 << 16, 1000);
    stele *db = test_store_open(store, NULL);
    REQUIRE(db, "open");
    const char *create = "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"c\"}]}";
    REQUIRE(stele_txn(db, create, strlen(create), NULL, NULL) == STELE_OK, "create");
    REQUIRE(put(db, "old") == STELE_OK, "put old");
    REQUIRE(stele_close(db) == STELE_OK, "close");
    /* a backup of the database directories (users/ stays as it is) */
    REQUIRE(sh("cp -a '%s/dbs' '%s/dbs.backup'", store, store) == 0, "backup");
    db = test_store_open(store, NULL);
    REQUIRE(db, "reopen");
    REQUIRE(put(db, "new") == STELE_OK, "put new");
    REQUIRE(stele_close(db) == STELE_OK, "close");
    /* the older copy is put back: every file authentic, the manifest signed */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/dbs' && mv '%s/dbs.backup' '%s/dbs'", store, store,
             store);
    REQUIRE(system(cmd) == 0, "restore");
    stele *r = NULL;
    stele_open_options o = {.store_dir = store, .user = "ada", .password = "pw",
                            .password_len = 2, .read_only = 1};
    stele_status rc = stele_open(&o, &r);
    CHECK(rc == STELE_ECORRUPT, "a restored older database opened (%d)", rc);
    CHECK(strstr(stele_errmsg(r), "older than the newest version") &&
              strstr(stele_errmsg(r), "--accept-rollback"),
          "the message says what happened and what to do: %s", stele_errmsg(r));
    stele_close(r);
    /* accepted on purpose: it opens as it was, and is the newest from now on */
    o.accept_rollback = 1;
    r = NULL;
    rc = stele_open(&o, &r);
    REQUIRE(rc == STELE_OK, "accepting the rollback: %s", stele_errmsg(r));
    CHECK(has(r, "old") && !has(r, "new"), "the restored state is the backup's");
    stele_close(r);
    o.accept_rollback = 0;
    r = NULL;
    CHECK(stele_open(&o, &r) == STELE_OK, "after acceptance it opens normally: %s",
          stele_errmsg(r));
    stele_close(r);
}

/* A damaged anchors file is reported, never silently ignored; accepting starts afresh. */
static void test_damaged_anchors(void)
{
    test_store_new(store, sizeof store, 1 << 16, 1000);
    stele *db = test_store_open(store, NULL);
    REQUIRE(db, "open");
    REQUIRE(stele_close(db) == STELE_OK, "close");
    char path[800];
    snprintf(path, sizeof path, "%s/users/ada.anchors", store);
    FILE *f = fopen(path, "r+b");
    REQUIRE(f, "the anchors file exists after an open");
    REQUIRE(fseek(f, 20, SEEK_SET) == 0 && fputc(0x5a, f) != EOF, "flip a byte");
    fclose(f);
    stele *r = NULL;
    stele_open_options o = {.store_dir = store, .user = "ada", .password = "pw",
                            .password_len = 2};
    CHECK(stele_open(&o, &r) == STELE_ECORRUPT && strstr(stele_errmsg(r), "ada.anchors"),
          "a damaged anchors file: %s", stele_errmsg(r));
    stele_close(r);
    o.accept_rollback = 1;
    r = NULL;
    CHECK(stele_open(&o, &r) == STELE_OK, "accepting starts afresh: %s", stele_errmsg(r));
    stele_close(r);
}

int main(void)
{
    TEST_RUN(test_restored_backup_is_refused);
    TEST_RUN(test_damaged_anchors);
    return test_summary();
}
