/*
 * graph_cmd.c — `stele graph neighbors|traverse|reachable|path|paths|scc|cycles|topo|
 * degrees|query` (docs/GRAPH.md): each builds a JSON spec for stele_graph_query and
 * prints the answer. `graph query` takes a JSON spec or the compact syntax
 *   out(where(function, {"name":"main"}), CALLS, 2)
 * which graph_compact() turns into the JSON set expression without recursion (an
 * explicit stack of open calls). Layer: cli (stele.h and jansson only).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define COMPACT_DEPTH_MAX 64 /* nested calls in a compact query */

/* ---- the compact syntax ---- */

/* Copies a balanced {...} JSON object (strings respected) starting at s[*i]. */
static int copy_object(const char *s, size_t *i, json_t **out)
{
    size_t start = *i, depth = 0;
    int in_str = 0;
    for (size_t k = start; s[k]; k++) {
        char c = s[k];
        if (in_str) {
            if (c == '\\' && s[k + 1]) k++;
            else if (c == '"') in_str = 0;
            continue;
        }
        if (c == '"') in_str = 1;
        else if (c == '{') depth++;
        else if (c == '}' && --depth == 0) {
            json_error_t je;
            *out = json_loadb(s + start, k + 1 - start, 0, &je);
            *i = k + 1;
            return *out ? 0 : -1;
        }
    }
    return -1;
}

/* A bare word, a number, null or *, or a "quoted string" at s[*i] as a JSON value. */
static json_t *atom(const char *s, size_t *i)
{
    size_t st = *i;
    if (s[st] == '"') {
        size_t k = st + 1;
        while (s[k] && s[k] != '"') k += (s[k] == '\\' && s[k + 1]) ? 2 : 1;
        if (s[k] != '"') return NULL;
        json_error_t je;
        *i = k + 1;
        return json_loadb(s + st, k + 1 - st, JSON_DECODE_ANY, &je);
    }
    size_t k = st;
    while (s[k] && !strchr(",() \t\n", s[k])) k++;
    if (k == st) return NULL;
    *i = k;
    size_t n = k - st;
    if ((n == 4 && strncmp(s + st, "null", 4) == 0) || (n == 1 && s[st] == '*'))
        return json_null();
    char *end;
    long long v = strtoll(s + st, &end, 10);
    if (end == s + k) return json_integer(v);
    return json_stringn(s + st, n);
}

static void skip_ws(const char *s, size_t *i)
{
    while (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n') (*i)++;
}

/* Wraps a finished call name(args) into its JSON set expression. */
static json_t *finish_call(const char *name, json_t *args)
{
    if (strcmp(name, "collection") == 0 && json_array_size(args) == 1) {
        json_t *c = json_incref(json_array_get(args, 0));
        json_decref(args);
        return json_pack("{so}", "collection", c);
    }
    return json_pack("{so}", name, args);
}

json_t *graph_compact(const char *s, char *why, size_t cap)
{
    struct frame {
        char name[16];
        json_t *args;
    } st[COMPACT_DEPTH_MAX];
    int sp = 0;
    size_t i = 0;
    json_t *done = NULL;
    for (;;) {
        skip_ws(s, &i);
        json_t *v = NULL;
        size_t k = i;
        while (s[k] && ((s[k] >= 'a' && s[k] <= 'z') || s[k] == '_')) k++;
        if (k > i && s[k] == '(') { /* a call opens */
            if (sp == COMPACT_DEPTH_MAX || k - i >= sizeof st[0].name) {
                snprintf(why, cap, "calls nest too deep or name too long at column %zu", i + 1);
                goto fail;
            }
            memcpy(st[sp].name, s + i, k - i);
            st[sp].name[k - i] = 0;
            st[sp++].args = json_array();
            i = k + 1;
            skip_ws(s, &i);
            if (s[i] != ')') continue;
        } else if (s[i] == '{') {
            if (copy_object(s, &i, &v) != 0) {
                snprintf(why, cap, "malformed JSON object at column %zu", i + 1);
                goto fail;
            }
        } else if (!(v = atom(s, &i))) {
            snprintf(why, cap, "unexpected '%c' at column %zu", s[i] ? s[i] : ' ', i + 1);
            goto fail;
        }
        if (sp == 0) {
            snprintf(why, cap, "a query starts with a set such as collection(...) or out(...)");
            json_decref(v);
            goto fail;
        }
        if (v) json_array_append_new(st[sp - 1].args, v);
        skip_ws(s, &i);
        while (s[i] == ')') { /* calls close */
            i++;
            json_t *call = finish_call(st[sp - 1].name, st[sp - 1].args);
            sp--;
            if (sp == 0) {
                done = call;
                break;
            }
            json_array_append_new(st[sp - 1].args, call);
            skip_ws(s, &i);
        }
        if (done) break;
        if (s[i] != ',') {
            snprintf(why, cap, "expected ',' or ')' at column %zu", i + 1);
            goto fail;
        }
        i++;
    }
    skip_ws(s, &i);
    if (s[i]) {
        snprintf(why, cap, "text after the query at column %zu", i + 1);
        json_decref(done);
        return NULL;
    }
    return done;
fail:
    while (sp > 0) json_decref(st[--sp].args);
    return NULL;
}

/* ---- the command ---- */

static const char *const USAGE =
    "usage: stele graph neighbors REF | traverse REF... [--depth K] | reachable A B |\n"
    "       path A B [--weight PROP] | paths A B [--max-len K] [--max N] | scc [--min-size N] |\n"
    "       cycles [--max N] | topo | degrees [--top N] | query SPEC\n"
    "       [--dir out|in|both] [--label L[,L2]] [--as-of LSN|TIME] [--limit N] [--docs]\n";

static int need_args(const cli_graph_args *a, int n, const char *what)
{
    if (a->npos == n) return 0;
    say("'stele graph %s' takes %s (see 'stele graph --help')", a->pos[0], what);
    return EXIT_USAGE;
}

/* The spec of one subcommand into *spec (a new object), or an exit code. */
static int build_spec(const cli_graph_args *a, json_t *spec)
{
    const char *sub = a->pos[0];
    static const char *const two[] = {"reachable", "path", "paths"};
    int rc = 0;
    if (strcmp(sub, "neighbors") == 0) {
        rc = need_args(a, 2, "one node reference");
        json_object_set_new(spec, "node", json_string(a->npos > 1 ? a->pos[1] : ""));
    } else if (strcmp(sub, "traverse") == 0) {
        if (a->npos < 2) return need_args(a, 2, "one or more node references");
        json_t *from = json_array();
        for (int i = 1; i < a->npos; i++) json_array_append_new(from, json_string(a->pos[i]));
        json_object_set_new(spec, "from", from);
    } else if (strcmp(sub, "query") == 0) {
        rc = need_args(a, 2, "a set expression (JSON or compact syntax)");
        if (rc) return rc;
        char why[160] = "";
        json_error_t je;
        json_t *set = a->pos[1][0] == '{' ? json_loads(a->pos[1], 0, &je)
                                          : graph_compact(a->pos[1], why, sizeof why);
        if (!set) {
            say("bad query: %s", a->pos[1][0] == '{' ? je.text : why);
            return EXIT_USAGE;
        }
        json_object_set_new(spec, "set", set);
    } else {
        int is_two = 0;
        for (size_t i = 0; i < 3; i++) is_two |= strcmp(sub, two[i]) == 0;
        if (is_two) {
            rc = need_args(a, 3, "two node references");
            json_object_set_new(spec, "from", json_string(a->npos > 1 ? a->pos[1] : ""));
            json_object_set_new(spec, "to", json_string(a->npos > 2 ? a->pos[2] : ""));
        } else {
            rc = need_args(a, 1, "no node reference");
        }
    }
    json_object_set_new(spec, "op", json_string(sub));
    return rc;
}

static void set_uint(json_t *spec, const char *key, uint64_t v, int given)
{
    if (given) json_object_set_new(spec, key, json_integer((json_int_t)v));
}

/* JSON as it is; a table shows the answer's list (nodes, neighbours, paths...). */
static int print_answer(const char *format, const char *text)
{
    static const char *const lists[] = {"nodes", "neighbors", "top", "sccs", "cycles",
                                        "paths", "order", "path"};
    if (!format || strcmp(format, "table") != 0) return cli_print(format, text, 1);
    json_t *j = json_loads(text, 0, NULL), *list = NULL;
    for (size_t i = 0; j && !list && i < sizeof lists / sizeof lists[0]; i++)
        if (json_is_array(json_object_get(j, lists[i]))) list = json_object_get(j, lists[i]);
    json_t *rows = json_array();
    size_t k;
    json_t *x;
    json_array_foreach(list, k, x) { /* plain references become one-column rows */
        json_array_append_new(rows, json_is_object(x) ? json_incref(x)
                                                      : json_pack("{sO}", "node", x));
    }
    char *t = list ? json_dumps(rows, JSON_COMPACT) : NULL;
    int rc = cli_print(format, t ? t : text, 1);
    free(t);
    json_decref(rows);
    json_decref(j);
    return rc;
}

int cli_graph(stele *db, const cli_graph_args *a)
{
    if (a->npos < 1) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    json_t *spec = json_object();
    int rc = build_spec(a, spec);
    if (a->dir) json_object_set_new(spec, "dir", json_string(a->dir));
    if (a->label) json_object_set_new(spec, "label", json_string(a->label));
    if (a->weight) json_object_set_new(spec, "weight", json_string(a->weight));
    if (a->docs) json_object_set_new(spec, "docs", json_true());
    set_uint(spec, "as_of", a->as_of, a->as_of != 0);
    set_uint(spec, "depth", a->depth, a->has_depth);
    set_uint(spec, "limit", a->limit, a->limit != 0);
    set_uint(spec, "max", a->max, a->has_max);
    set_uint(spec, "max_len", a->max_len, a->has_max_len);
    set_uint(spec, "min_size", a->min_size, a->has_min_size);
    set_uint(spec, "top", a->top, a->has_top);
    char *text = rc ? NULL : json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    if (rc) return rc;
    char *out = NULL;
    stele_status st = text ? stele_graph_query(db, text, strlen(text), &out) : STELE_ENOMEM;
    free(text);
    if (st != STELE_OK) {
        say("%s", stele_errmsg(db));
        return exit_code(st);
    }
    rc = print_answer(a->format, out);
    stele_free(out);
    return rc;
}
