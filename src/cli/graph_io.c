/*
 * graph_io.c — `stele graph import FILE` and `stele graph triples` (docs/GRAPH.md,
 * "Bulk import and triples"). Layer: cli (stele.h and jansson only).
 *
 * Import reads the whole file, checks every line (a bad one is reported as
 * FILE:LINE: message and nothing is written), groups the documents by collection,
 * creates missing collections, then loads every node collection and after them every
 * edge collection with stele_import (whole or nothing per collection, with the
 * progress bar), so that edges find their nodes. Input formats:
 *   tsv      N<TAB>coll/key[<TAB>{props}]   and   E<TAB>from<TAB>LABEL<TAB>to[<TAB>{props}]
 *            (edges go to the collection "edges")
 *   ndjson   one document per line with "_coll" naming its collection (edges: "_from",
 *            "_to", optional "_label"; "_coll" defaults to "edges" for them)
 *   triples  <subject><TAB><predicate><TAB>object: an object <coll/key> is an edge
 *            labelled predicate (collection "triples"), any other object a JSON literal
 *            that becomes property `predicate` of the subject node
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define GI_COLLS_MAX 256     /* collections one import may touch */
#define GI_ERRORS_SHOWN 20

typedef struct gcoll {
    char name[65];
    int is_edge;
    json_t *docs; /* array of documents, in file order */
} gcoll;

typedef struct gimport {
    const char *file;
    gcoll c[GI_COLLS_MAX];
    int nc;
    json_t *nodes; /* triples: ref -> document being assembled */
    int errors;
    stele *db;
} gimport;

static void bad_line(gimport *g, size_t line, const char *msg)
{
    if (g->errors++ < GI_ERRORS_SHOWN) fprintf(stderr, "%s:%zu: %s\n", g->file, line, msg);
}

static gcoll *coll_of(gimport *g, const char *name, size_t n, int is_edge)
{
    for (int i = 0; i < g->nc; i++)
        if (strlen(g->c[i].name) == n && memcmp(g->c[i].name, name, n) == 0) return &g->c[i];
    if (g->nc == GI_COLLS_MAX || n == 0 || n > 64) return NULL;
    gcoll *c = &g->c[g->nc++];
    memcpy(c->name, name, n);
    c->name[n] = 0;
    c->is_edge = is_edge;
    c->docs = json_array();
    return c;
}

/* Splits a line at tabs into at most max fields; returns the count. */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    while (n < max) {
        f[n++] = line;
        char *t = strchr(line, '\t');
        if (!t) break;
        *t = 0;
        line = t + 1;
    }
    return n;
}

static json_t *props(const char *text, const char **why)
{
    json_error_t je;
    json_t *p = text ? json_loads(text, 0, &je) : json_object();
    if (!json_is_object(p)) {
        json_decref(p);
        *why = "properties must be a JSON object";
        return NULL;
    }
    return p;
}

static const char *tsv_line(gimport *g, char *line)
{
    char *f[6] = {0}; /* split_tabs fills n of them (GCC -O3 cannot see that) */
    const char *why = NULL;
    int n = split_tabs(line, f, 6);
    if (strcmp(f[0], "N") == 0 && (n == 2 || n == 3)) {
        char *slash = strchr(f[1], '/');
        if (!slash || slash == f[1] || !slash[1]) return "a node is N<TAB>coll/key";
        json_t *d = props(n == 3 ? f[2] : NULL, &why);
        gcoll *c = d ? coll_of(g, f[1], (size_t)(slash - f[1]), 0) : NULL;
        if (!d) return why;
        if (!c) return "bad collection name or too many collections";
        json_object_set_new(d, "_id", json_string(slash + 1));
        json_array_append_new(c->docs, d);
        return NULL;
    }
    if (strcmp(f[0], "E") == 0 && (n == 4 || n == 5)) {
        json_t *d = props(n == 5 ? f[4] : NULL, &why);
        gcoll *c = d ? coll_of(g, "edges", 5, 1) : NULL;
        if (!d) return why;
        if (!c) return "too many collections";
        json_object_set_new(d, "_from", json_string(f[1]));
        json_object_set_new(d, "_label", json_string(f[2]));
        json_object_set_new(d, "_to", json_string(f[3]));
        json_array_append_new(c->docs, d);
        return NULL;
    }
    return "a line is N<TAB>coll/key[<TAB>{props}] or E<TAB>from<TAB>LABEL<TAB>to[<TAB>{props}]";
}

static const char *ndjson_line(gimport *g, const char *line)
{
    json_error_t je;
    json_t *d = json_loads(line, 0, &je);
    if (!json_is_object(d)) {
        json_decref(d);
        return "not a JSON object";
    }
    int is_edge = json_object_get(d, "_from") != NULL;
    const char *name = json_string_value(json_object_get(d, "_coll"));
    if (!name && !is_edge) {
        json_decref(d);
        return "a node needs \"_coll\" (its collection)";
    }
    if (!name) name = "edges";
    gcoll *c = coll_of(g, name, strlen(name), is_edge);
    if (!c) {
        json_decref(d);
        return "bad collection name or too many collections";
    }
    c->is_edge |= is_edge;
    json_object_del(d, "_coll");
    json_array_append_new(c->docs, d);
    return NULL;
}

/* <ref> without its angle brackets, or NULL. */
static char *unangle(char *s)
{
    size_t n = strlen(s);
    if (n < 3 || s[0] != '<' || s[n - 1] != '>') return NULL;
    s[n - 1] = 0;
    return s + 1;
}

static const char *triple_line(gimport *g, char *line)
{
    char *f[3];
    if (split_tabs(line, f, 3) != 3) return "a triple is <subject><TAB>predicate<TAB>object";
    char *s = unangle(f[0]), *o = f[2][0] == '<' ? unangle(f[2]) : NULL;
    const char *p = f[1][0] == '<' ? unangle(f[1]) : f[1];
    if (!s || !strchr(s, '/') || !p || !*p) return "subject <coll/key> and a predicate needed";
    if (!json_object_get(g->nodes, s)) json_object_set_new(g->nodes, s, json_object());
    if (o) { /* an edge */
        gcoll *c = coll_of(g, "triples", 7, 1);
        if (!strchr(o, '/') || !c) return "an object <...> is a node reference <coll/key>";
        if (!json_object_get(g->nodes, o)) json_object_set_new(g->nodes, o, json_object());
        json_array_append_new(c->docs, json_pack("{ssssss}", "_from", s, "_label", p, "_to", o));
        return NULL;
    }
    json_error_t je;
    json_t *lit = json_loads(f[2], JSON_DECODE_ANY, &je);
    if (!lit) return "a literal object is JSON (\"text\", 12, true, ...)";
    json_object_set_new(json_object_get(g->nodes, s), p, lit);
    return NULL;
}

/* Triples: the assembled nodes into their collections (an endpoint that exists already
 * and gets no property is left alone; new properties of existing nodes are an error of
 * stele_import: triples import adds nodes, it does not patch them). */
static const char *triple_nodes(gimport *g)
{
    const char *ref;
    json_t *d;
    json_object_foreach(g->nodes, ref, d) {
        stele_node n;
        if (json_object_size(d) == 0 && stele_node_lookup(g->db, ref, &n) == STELE_OK) continue;
        const char *slash = strchr(ref, '/');
        gcoll *c = coll_of(g, ref, (size_t)(slash - ref), 0);
        if (!c) return "bad collection name or too many collections";
        json_object_set_new(d, "_id", json_string(slash + 1));
        json_array_append(c->docs, d);
    }
    return NULL;
}

static int parse_file(gimport *g, char *data, const char *format)
{
    size_t line = 0;
    for (char *p = data; *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        line++;
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r') p[--n] = 0;
        const char *why = NULL;
        if (n && p[0] != '#')
            why = strcmp(format, "ndjson") == 0    ? ndjson_line(g, p)
                  : strcmp(format, "triples") == 0 ? triple_line(g, p)
                                                   : tsv_line(g, p);
        if (why) bad_line(g, line, why);
        if (!nl) break;
        p = nl + 1;
    }
    const char *why = strcmp(format, "triples") == 0 && !g->errors ? triple_nodes(g) : NULL;
    if (why) bad_line(g, line, why);
    return g->errors;
}

/* Creates the collections that do not exist yet, in one transaction. */
static int create_missing(stele *db, gimport *g)
{
    char *list = NULL;
    if (stele_collections(db, 0, &list) != STELE_OK) return EXIT_ERR;
    json_t *have = json_loads(list, 0, NULL), *ops = json_array();
    stele_free(list);
    for (int i = 0; i < g->nc; i++) {
        int found = 0;
        size_t k;
        json_t *x;
        json_array_foreach(have, k, x)
            found |= strcmp(json_string_value(json_object_get(x, "name")), g->c[i].name) == 0;
        if (!found)
            json_array_append_new(ops, json_pack("{ssss}", "op", "create_collection", "coll",
                                                 g->c[i].name));
    }
    json_decref(have);
    int rc = 0;
    if (json_array_size(ops)) {
        json_t *t = json_pack("{so}", "ops", ops);
        char *text = json_dumps(t, JSON_COMPACT);
        json_decref(t);
        stele_status st = text ? stele_txn(db, text, strlen(text), NULL, NULL) : STELE_ENOMEM;
        free(text);
        if (st != STELE_OK) {
            say("%s; nothing was imported", stele_errmsg(db));
            rc = exit_code(st);
        }
    } else {
        json_decref(ops);
    }
    return rc;
}

/* Loads collection c through stele_import (NDJSON). */
static int load_coll(stele *db, gimport *g, gcoll *c)
{
    size_t k;
    json_t *d;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) return EXIT_ERR;
    json_array_foreach(c->docs, k, d) {
        char *t = json_dumps(d, JSON_COMPACT);
        size_t n = t ? strlen(t) : 0;
        while (t && len + n + 2 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        if (!t || len + n + 2 > cap) {
            free(t);
            free(buf);
            say("out of memory");
            return EXIT_ERR;
        }
        memcpy(buf + len, t, n);
        len += n;
        buf[len++] = '\n';
        free(t);
    }
    buf[len] = 0;
    fprintf(stderr, "%s: %zu %s\n", c->name, json_array_size(c->docs),
            c->is_edge ? "edges" : "nodes");
    char name[600]; /* lines of the generated NDJSON are not lines of the file */
    snprintf(name, sizeof name, "%s, collection %s, document", g->file, c->name);
    return cli_import_buf(db, c->name, name, buf, len, STELE_IO_NDJSON, NULL);
}

int cli_graph_import(stele *db, const char *path, const char *format)
{
    if (!format) format = "tsv";
    if (strcmp(format, "tsv") && strcmp(format, "ndjson") && strcmp(format, "triples")) {
        say("unknown --format '%s' for graph import (use tsv, ndjson or triples)", format);
        return EXIT_USAGE;
    }
    char *data;
    size_t len;
    int rc = cli_read_all(path, &data, &len);
    if (rc) return rc;
    gimport *g = calloc(1, sizeof *g);
    if (!g) {
        free(data);
        return EXIT_ERR;
    }
    g->file = strcmp(path, "-") ? path : "stdin";
    g->db = db;
    g->nodes = json_object();
    if (parse_file(g, data, format)) {
        say("%d bad line(s) in %s; nothing was imported", g->errors, g->file);
        rc = EXIT_USAGE;
    }
    free(data);
    if (!rc) rc = create_missing(db, g);
    for (int pass = 0; pass < 2 && !rc; pass++) /* nodes, then edges */
        for (int i = 0; i < g->nc && !rc; i++)
            if (g->c[i].is_edge == pass && json_array_size(g->c[i].docs))
                rc = load_coll(db, g, &g->c[i]);
    for (int i = 0; i < g->nc; i++) json_decref(g->c[i].docs);
    json_decref(g->nodes);
    free(g);
    return rc;
}

/* ---- triples export ---- */

typedef struct texport {
    FILE *out;
    const char *coll;
    int bad;
} texport;

static void put_doc_triples(texport *t, json_t *d)
{
    const char *from = json_string_value(json_object_get(d, "_from"));
    const char *to = json_string_value(json_object_get(d, "_to"));
    if (from && to) {
        const char *label = json_string_value(json_object_get(d, "_label"));
        fprintf(t->out, "<%s>\t%s\t<%s>\n", from, label ? label : t->coll, to);
        return;
    }
    const char *id = json_string_value(json_object_get(d, "_id"));
    const char *key;
    json_t *v;
    json_object_foreach(d, key, v) {
        if (key[0] == '_') continue;
        char *lit = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (lit) fprintf(t->out, "<%s/%s>\t%s\t%s\n", t->coll, id ? id : "", key, lit);
        free(lit);
    }
}

static int triples_chunk(void *ctx, const char *data, size_t len)
{
    texport *t = ctx;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - data - i) : len - i;
        json_t *d = json_loadb(data + i, n, 0, NULL);
        if (d) put_doc_triples(t, d);
        else t->bad = 1;
        json_decref(d);
        i += n + 1;
    }
    return ferror(t->out) ? 1 : 0;
}

int cli_graph_triples(stele *db, const char *output, uint64_t as_of)
{
    char *list = NULL;
    stele_status st = stele_collections(db, as_of, &list);
    if (st != STELE_OK) {
        say("%s", stele_errmsg(db));
        return exit_code(st);
    }
    json_t *colls = json_loads(list, 0, NULL);
    stele_free(list);
    texport t = {output ? fopen(output, "w") : stdout, NULL, 0};
    if (!t.out) {
        say("cannot write '%s'", output);
        json_decref(colls);
        return EXIT_ERR;
    }
    size_t k;
    json_t *c;
    int rc = 0;
    json_array_foreach(colls, k, c) {
        t.coll = json_string_value(json_object_get(c, "name"));
        stele_export_options eo = {.format = STELE_IO_NDJSON, .as_of = as_of};
        st = stele_export(db, t.coll, &eo, triples_chunk, &t);
        if (st != STELE_OK) {
            say("%s", stele_errmsg(db));
            rc = exit_code(st);
            break;
        }
    }
    if (output && fclose(t.out) != 0 && !rc) rc = EXIT_ERR;
    json_decref(colls);
    return rc ? rc : t.bad ? EXIT_ERR : 0;
}
