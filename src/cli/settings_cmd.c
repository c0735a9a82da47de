/*
 * settings_cmd.c — `stele settings show|sign|verify|trust`: the store's signed
 * settings (include/stele.h, "Signed settings"). Layer: cli (only include/stele.h and
 * jansson for printing).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int refused(const char *what, stele_status st, const char *msg)
{
    say("%s: %s", what, msg);
    return st == STELE_EUNTRUSTED ? EXIT_UNTRUSTED : exit_code(st);
}

static int settings_sign(const cli_settings_args *a)
{
    if (a->npos < 3) {
        say("usage: stele settings sign FILE|- [--settings-version N]");
        return EXIT_USAGE;
    }
    char *in = NULL, pw[1024], msg[1024], *json = NULL;
    size_t len = 0, pwlen = 0;
    int rc = cli_read_all(a->pos[2], &in, &len);
    if (rc) return rc;
    rc = cli_get_password("STELE_PASSWORD", "password", 0, pw, sizeof pw, &pwlen);
    if (rc) {
        free(in);
        return rc;
    }
    stele_status st = stele_settings_sign(a->store, a->user, pw, pwlen, in, len, a->version,
                                          &json, msg, sizeof msg);
    memset(pw, 0, sizeof pw);
    free(in);
    if (st != STELE_OK) return refused("cannot sign the settings", st, msg);
    cli_print_pretty(json);
    stele_free(json);
    return 0;
}

int cli_settings(const cli_settings_args *a)
{
    const char *sub = a->npos > 1 ? a->pos[1] : "";
    char msg[1024], *json = NULL;
    stele_status st;
    if (strcmp(sub, "sign") == 0) return settings_sign(a);
    if (strcmp(sub, "trust") == 0) {
        if (a->npos < 3) {
            say("usage: stele settings trust PUBLIC_KEY_HEX");
            return EXIT_USAGE;
        }
        st = stele_settings_trust(a->store, a->pos[2], msg, sizeof msg);
        if (st != STELE_OK) return refused("cannot trust the key", st, msg);
        printf("settings key %s is now the trusted root of '%s'\n", a->pos[2], a->store);
        return 0;
    }
    if (strcmp(sub, "show") == 0) st = stele_settings_show(a->store, &json, msg, sizeof msg);
    else if (strcmp(sub, "verify") == 0)
        st = stele_settings_verify(a->store, &json, msg, sizeof msg);
    else {
        say("usage: stele settings show|verify|sign FILE|trust KEY (see 'stele settings "
            "--help')");
        return EXIT_USAGE;
    }
    if (st != STELE_OK) return refused("settings not accepted", st, msg);
    if (strcmp(sub, "verify") == 0) {
        json_t *j = json_loads(json, 0, NULL);
        printf("ok: settings version %lld (counter %lld) signed by %s, accepted and pinned\n",
               (long long)json_integer_value(json_object_get(j, "version")),
               (long long)json_integer_value(json_object_get(j, "counter")),
               json_string_value(json_object_get(j, "public_key")));
        json_decref(j);
    } else {
        cli_print_pretty(json);
    }
    stele_free(json);
    return 0;
}
