/*
 * user_cmd.c — `stele user add|list|remove` and `stele db create|list|drop|rename|
 * share|revoke`. Layer: cli (include/stele.h only). Every command authenticates the
 * acting user (--user, STELE_PASSWORD) through the library, which applies the
 * wrong-password back-off; nothing here touches a file of the store.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define PW_MAX 1024
#define ERR_MAX 1024

typedef struct login_pw {
    char pw[PW_MAX];
    stele_login l;
} login_pw;

static int get_login(const cli_access_args *a, login_pw *lp)
{
    size_t n = 0;
    int rc = cli_get_password("STELE_PASSWORD", "password", 0, lp->pw, sizeof lp->pw, &n);
    lp->l = (stele_login){a->store, a->user, lp->pw, n};
    return rc;
}

static int done(login_pw *lp, stele_status st, const char *err)
{
    memset(lp->pw, 0, sizeof lp->pw);
    if (st != STELE_OK) say("%s", err);
    return st == STELE_OK ? 0 : exit_code(st);
}

/* Asks "question [y/N]" on the terminal; 1 only for an answer starting with y. */
static int confirm(const char *question, int yes)
{
    if (yes) return 1;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        say("no terminal to confirm on: add --yes to go ahead; nothing was changed");
        return 0;
    }
    char c = 0;
    int ok = write(fd, question, strlen(question)) >= 0 && write(fd, " [y/N] ", 7) >= 0 &&
             read(fd, &c, 1) == 1 && (c == 'y' || c == 'Y');
    close(fd);
    if (!ok) say("not confirmed; nothing was changed");
    return ok;
}

static int segment_size_of(const cli_access_args *a, uint32_t *out)
{
    if (a->segment_size > UINT32_MAX) {
        say("--segment-size must be below 4294967296");
        return EXIT_USAGE;
    }
    *out = (uint32_t)a->segment_size;
    return 0;
}

/* ------------------------------------------------------------------- users */

static int user_add(const cli_access_args *a)
{
    stele_kdf_profile kdf = STELE_KDF_DEFAULT;
    uint32_t seg;
    if (a->kdf && strcmp(a->kdf, "insecure-test") == 0) kdf = STELE_KDF_INSECURE_TEST;
    else if (a->kdf && strcmp(a->kdf, "default") != 0) {
        say("unknown --kdf-profile '%s' (use default or insecure-test)", a->kdf);
        return EXIT_USAGE;
    }
    if (segment_size_of(a, &seg)) return EXIT_USAGE;
    login_pw lp;
    char npw[PW_MAX], err[ERR_MAX];
    size_t nlen;
    int rc = get_login(a, &lp);
    if (!rc) rc = cli_get_password("STELE_NEW_PASSWORD", "password of the new user", 1, npw,
                                   sizeof npw, &nlen);
    if (rc) return rc;
    stele_status st = stele_user_add(&lp.l, a->pos[1], npw, nlen, kdf, seg, err, sizeof err);
    memset(npw, 0, sizeof npw);
    if (st == STELE_OK)
        printf("added user '%s' with its primary database%s\n", a->pos[1],
               kdf == STELE_KDF_INSECURE_TEST ? " (INSECURE test key profile)" : "");
    return done(&lp, st, err);
}

/* 1 if user `name` is in the public registry. Which databases they own is not public
 * (only the admin's registry slots tell, after login). */
static int user_known(const char *store, const char *name)
{
    char *json = NULL, err[ERR_MAX];
    if (stele_user_list(store, &json, err, sizeof err) != STELE_OK) return -1;
    json_error_t je;
    json_t *j = json_loads(json, 0, &je);
    stele_free(json);
    int n = 0;
    size_t i;
    json_t *u;
    json_array_foreach(j, i, u) {
        if (strcmp(json_string_value(json_object_get(u, "name")) ?: "", name) == 0) n = 1;
    }
    json_decref(j);
    return n;
}

static int user_remove(const cli_access_args *a)
{
    const char *name = a->pos[1];
    if (!user_known(a->store, name)) {
        say("no user '%s' in store '%s' (see 'stele user list')", name, a->store);
        return EXIT_STATE;
    }
    char q[512];
    snprintf(q, sizeof q, "removing user '%s' deletes their keys and every database they "
             "own (their primary included): that data becomes unreadable for everyone, members "
             "of databases they shared included, and cannot be recovered. Remove '%s'?", name,
             name);
    fprintf(stderr, "%s\n", q);
    if (!confirm("remove?", a->yes)) return EXIT_USAGE;
    login_pw lp;
    char err[ERR_MAX];
    int rc = get_login(a, &lp);
    if (rc) return rc;
    stele_status st = stele_user_remove(&lp.l, name, err, sizeof err);
    if (st == STELE_OK) printf("removed user '%s' and the databases they owned\n", name);
    return done(&lp, st, err);
}

int cli_user(const cli_access_args *a)
{
    const char *sub = a->npos ? a->pos[0] : "";
    int add = strcmp(sub, "add") == 0, rm = strcmp(sub, "remove") == 0;
    if (strcmp(sub, "list") == 0 && a->npos == 1) {
        char *json = NULL, err[ERR_MAX];
        stele_status st = stele_user_list(a->store, &json, err, sizeof err);
        if (st != STELE_OK) {
            say("%s", err);
            return exit_code(st);
        }
        cli_print_pretty(json);
        stele_free(json);
        return 0;
    }
    if ((add || rm) && a->npos == 2) return add ? user_add(a) : user_remove(a);
    say("usage: stele user add NAME | list | remove NAME [--yes] (see 'stele user --help')");
    return EXIT_USAGE;
}

/* --------------------------------------------------------------- databases */

static int db_simple(const cli_access_args *a, const char *sub)
{
    login_pw lp;
    char err[ERR_MAX];
    char *json = NULL;
    uint32_t seg = 0;
    if (strcmp(sub, "create") == 0 && segment_size_of(a, &seg)) return EXIT_USAGE;
    if (strcmp(sub, "drop") == 0) {
        fprintf(stderr, "dropping database '%s' deletes all its files: its data becomes "
                "unreadable for you and for every member, and cannot be recovered.\n",
                a->pos[1]);
        if (!confirm("drop it?", a->yes)) return EXIT_USAGE;
    }
    int rc = get_login(a, &lp);
    if (rc) return rc;
    stele_status st;
    if (strcmp(sub, "create") == 0) st = stele_db_create(&lp.l, a->pos[1], seg, err, sizeof err);
    else if (strcmp(sub, "drop") == 0) st = stele_db_drop(&lp.l, a->pos[1], err, sizeof err);
    else if (strcmp(sub, "rename") == 0)
        st = stele_db_rename(&lp.l, a->pos[1], a->pos[2], err, sizeof err);
    else st = stele_db_list(&lp.l, &json, err, sizeof err);
    if (st == STELE_OK && json) cli_print_pretty(json);
    else if (st == STELE_OK)
        printf("%s database '%s'%s%s\n", strcmp(sub, "create") == 0 ? "created"
                                         : strcmp(sub, "drop") == 0  ? "dropped" : "renamed",
               a->pos[1], a->npos > 2 ? " to " : "", a->npos > 2 ? a->pos[2] : "");
    stele_free(json);
    return done(&lp, st, err);
}

/* share and revoke: open the database for writing as the acting user. */
static int db_access(const cli_access_args *a, int share)
{
    if (share && !a->role) {
        say("'stele db share DB USER' needs --role reader|writer|admin");
        return EXIT_USAGE;
    }
    login_pw lp;
    int rc = get_login(a, &lp);
    if (rc) return rc;
    stele_open_options oo = {.store_dir = a->store, .user = a->user, .password = lp.pw,
                             .password_len = lp.l.password_len, .db = a->pos[1],
                             .no_checkpoint_on_close = 1};
    stele *db = NULL;
    stele_status st = stele_open(&oo, &db);
    memset(lp.pw, 0, sizeof lp.pw);
    if (st == STELE_OK)
        st = share ? stele_db_share(db, a->pos[2], a->role)
                   : stele_db_revoke(db, a->pos[2], a->reencrypt);
    if (st != STELE_OK) {
        say("%s", stele_errmsg(db));
        stele_close(db);
        return exit_code(st);
    }
    if (!share && a->reencrypt)
        say("re-encrypting the older files in the background; waiting for it to finish");
    st = stele_close(db); /* waits for the background re-encryption */
    if (st != STELE_OK && !share && a->reencrypt) {
        say("the key was rotated, but re-encrypting the older files failed (%s): they stay "
            "readable with the old key; run 'stele verify'", stele_strerror(st));
        return exit_code(st);
    }
    if (st != STELE_OK) {
        say("the change is made, but closing the database failed (%s); run 'stele verify'",
            stele_strerror(st));
        return exit_code(st);
    }
    if (share) {
        printf("shared database '%s' with '%s' as %s (recorded in its ledger)\n", a->pos[1],
               a->pos[2], a->role);
        return 0;
    }
    printf("revoked the access of '%s' to database '%s': its key was rotated, and '%s' cannot "
           "read anything written from now on%s\n", a->pos[2], a->pos[1], a->pos[2],
           a->reencrypt ? "; older files were re-encrypted under the new key" : "");
    say("note: whatever '%s' read before the revocation may have been copied and cannot be "
        "recalled%s", a->pos[2],
        a->reencrypt ? "" : "; old files stay readable with the old key (use --reencrypt)");
    return 0;
}

int cli_db(const cli_access_args *a)
{
    const char *sub = a->npos ? a->pos[0] : "";
    int n = a->npos;
    if (strcmp(sub, "list") == 0 && n == 1) return db_simple(a, sub);
    if ((strcmp(sub, "create") == 0 || strcmp(sub, "drop") == 0) && n == 2)
        return db_simple(a, sub);
    if (strcmp(sub, "rename") == 0 && n == 3) return db_simple(a, sub);
    if ((strcmp(sub, "share") == 0 || strcmp(sub, "revoke") == 0) && n == 3)
        return db_access(a, strcmp(sub, "share") == 0);
    say("usage: stele db create NAME | list | drop NAME | rename NAME NEW | share DB USER "
        "--role R | revoke DB USER [--reencrypt] (see 'stele db --help')");
    return EXIT_USAGE;
}
