/*
 * code_query.c — `stele code callers|callees|impact|cycles|path|uses|def` over the
 * graph that `stele code index` builds (docs/GRAPH.md, "Code intelligence"): each is
 * a graph query (graph_cmd.c) on the collections function, type, typedef, global,
 * macro, field, file and the edge labels CALLS, REFERENCES, USES_TYPE, ... A SYMBOL is a
 * function's key (its name, or "path:name" for a static one) or its plain name when
 * that is unambiguous. Layer: cli (stele.h and jansson only).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define REF_MAX 400

static const char *const SYMBOL_COLLS[] = {"function", "type", "typedef", "global", "macro",
                                           "field", "file"};

/* The documents of coll whose "name" is `name` (at most `limit`; 0 = all), as a new JSON
 * array (empty if none or on error). */
static json_t *by_name(stele *db, const char *coll, const char *name, uint64_t limit)
{
    json_t *f = json_pack("{ss}", "name", name), *docs = json_array();
    char *ft = json_dumps(f, JSON_COMPACT), *out = NULL;
    stele_find_opts o = {.limit = limit};
    json_decref(f);
    if (ft && stele_find(db, coll, ft, strlen(ft), &o, &out) == STELE_OK && out) {
        for (char *line = out; *line;) {
            char *nl = strchr(line, '\n');
            json_t *d = json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
            if (d) json_array_append_new(docs, d);
            if (!nl) break;
            line = nl + 1;
        }
    }
    free(ft);
    stele_free(out);
    return docs;
}

/* Resolves SYMBOL in the given collections into ref "coll/key": 0 or an exit code. */
static int resolve(stele *db, const char *sym, const char *const *colls, size_t ncolls,
                   char *ref, size_t cap)
{
    stele_node n;
    for (size_t i = 0; i < ncolls; i++) {
        snprintf(ref, cap, "%s/%s", colls[i], sym);
        if (stele_node_lookup(db, ref, &n) == STELE_OK) return 0;
    }
    json_t *all = json_array();
    for (size_t i = 0; i < ncolls; i++) {
        json_t *docs = by_name(db, colls[i], sym, 50);
        size_t k;
        json_t *d;
        json_array_foreach(docs, k, d) {
            char r[REF_MAX];
            snprintf(r, sizeof r, "%s/%s", colls[i],
                     json_string_value(json_object_get(d, "_id")));
            json_array_append_new(all, json_string(r));
        }
        json_decref(docs);
    }
    size_t found = json_array_size(all);
    if (found == 1) snprintf(ref, cap, "%s", json_string_value(json_array_get(all, 0)));
    if (found > 1) {
        char *list = json_dumps(all, JSON_COMPACT);
        say("'%s' is ambiguous: %s; name one of them", sym, list ? list : "");
        free(list);
    } else if (found == 0) {
        say("no symbol '%s' in the code graph (run 'stele code index DIR' first?)", sym);
    }
    json_decref(all);
    return found == 1 ? 0 : found ? EXIT_USAGE : EXIT_STATE;
}

/* `stele code def NAME`: the documents of every symbol called NAME. */
static int code_def(stele *db, const char *name, const char *format)
{
    json_t *docs = json_array();
    for (size_t i = 0; i < sizeof SYMBOL_COLLS / sizeof SYMBOL_COLLS[0]; i++) {
        json_t *found = by_name(db, SYMBOL_COLLS[i], name, 0);
        size_t k;
        json_t *d;
        json_array_foreach(found, k, d) {
            json_object_set_new(d, "_collection", json_string(SYMBOL_COLLS[i]));
            json_array_append(docs, d);
        }
        json_decref(found);
    }
    int rc = json_array_size(docs) ? 0 : EXIT_STATE;
    if (rc) say("no symbol named '%s' in the code graph", name);
    char *text = rc ? NULL : json_dumps(docs, JSON_COMPACT);
    if (text) rc = cli_print(format, text, 1);
    free(text);
    json_decref(docs);
    return rc;
}

static const char *const USAGE =
    "usage: stele code callers|callees|impact SYMBOL [--depth K] | cycles | path A B |\n"
    "                  uses TYPE | def NAME   (see 'stele code --help')\n";

int cli_code_query(stele *db, const cli_graph_args *in)
{
    static const char *const fn[] = {"function"};
    static const char *const types[] = {"type", "typedef"};
    cli_graph_args a = *in;
    char r1[REF_MAX], r2[REF_MAX];
    const char *sub = in->npos ? in->pos[0] : "";
    int want = strcmp(sub, "cycles") == 0 ? 1 : strcmp(sub, "path") == 0 ? 3 : 2;
    if (in->npos != want) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "def") == 0) return code_def(db, in->pos[1], in->format);
    int rc = 0;
    a.npos = 0;
    if (strcmp(sub, "callers") == 0 || strcmp(sub, "callees") == 0 ||
        strcmp(sub, "impact") == 0) {
        rc = resolve(db, in->pos[1], fn, 1, r1, sizeof r1);
        a.pos[a.npos++] = "traverse";
        a.pos[a.npos++] = r1;
        a.dir = strcmp(sub, "callees") == 0 ? "out" : "in";
        a.label = strcmp(sub, "impact") == 0 ? "CALLS,REFERENCES" : "CALLS";
        if (!a.has_depth) a.depth = strcmp(sub, "impact") == 0 ? 3 : 1;
        a.has_depth = 1;
    } else if (strcmp(sub, "uses") == 0) {
        rc = resolve(db, in->pos[1], types, 2, r1, sizeof r1);
        a.pos[a.npos++] = "traverse";
        a.pos[a.npos++] = r1;
        a.dir = "in";
        a.label = "USES_TYPE";
    } else if (strcmp(sub, "path") == 0) {
        rc = resolve(db, in->pos[1], fn, 1, r1, sizeof r1);
        if (!rc) rc = resolve(db, in->pos[2], fn, 1, r2, sizeof r2);
        a.pos[a.npos++] = "path";
        a.pos[a.npos++] = r1;
        a.pos[a.npos++] = r2;
        a.dir = "out";
        a.label = "CALLS";
    } else if (strcmp(sub, "cycles") == 0) {
        a.pos[a.npos++] = "cycles";
        a.label = "CALLS";
    } else {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    return rc ? rc : cli_graph(db, &a);
}
