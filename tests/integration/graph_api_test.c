/*
 * graph_api_test.c — the graph face through the public API (include/stele.h, "Graph"):
 *  - the rules of edges: missing endpoints refused unless dangling, deleting a linked
 *    node refused unless cascade, linked collections not droppable, malformed refs;
 *  - a failed transaction leaves the adjacency as it was;
 *  - random graphs written in many transactions (inserts, re-links, deletes) checked
 *    against a brute-force BFS over an edge list kept in the test: neighbours and k-hop
 *    sets with distances, now, as of an earlier LSN, after reopening from the log and
 *    from a snapshot (with equal digests);
 *  - the JSON queries (path, weighted path, scc, topo, set algebra) on small graphs with
 *    known answers;
 *  - kill -9 while transactions add a node and an edge to the previous node: after
 *    recovery every acknowledged node and edge is there and linked, none half.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stele.h"
#include "testutil.h"

static char store[600];

static stele *open_db(int rebuild)
{
    stele_open_options o = {.rebuild = rebuild};
    return test_store_open(store, &o);
}

static void make_store(void) { test_store_new(store, sizeof store, 1 << 20, 1000); }

static stele_status txn(stele *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static stele_status txn(stele *db, const char *fmt, ...)
{
    static char text[1 << 20];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return stele_txn(db, text, strlen(text), NULL, NULL);
}

static stele_node node(stele *db, const char *ref)
{
    stele_node n = UINT32_MAX;
    if (stele_node_lookup(db, ref, &n) != STELE_OK) return UINT32_MAX;
    return n;
}

/* Neighbours of ref as "coll/key" refs joined by spaces. */
static void nbr_text(stele *db, const char *ref, stele_dir dir, const char *labels, char *out,
                     size_t cap)
{
    stele_node v[64];
    size_t n = 0;
    out[0] = 0;
    if (stele_graph_neighbors(db, node(db, ref), dir, labels, v, 64, &n) != STELE_OK) {
        snprintf(out, cap, "error: %s", stele_errmsg(db));
        return;
    }
    for (size_t i = 0; i < n && i < 64; i++) {
        char r[300];
        stele_node_ref(db, v[i], r, sizeof r);
        size_t w = strlen(out);
        snprintf(out + w, cap - w, "%s%s", w ? " " : "", r);
    }
}

static void digest(stele *db, char out[65])
{
    if (stele_docs_digest(db, out) != STELE_OK) strcpy(out, "error");
}

static void test_rules(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db, "open");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"fn\"},"
                    "{\"op\":\"create_collection\",\"coll\":\"calls\"},"
                    "{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"a\"}},"
                    "{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"b\"}},"
                    "{\"op\":\"insert\",\"coll\":\"calls\",\"doc\":{\"_id\":\"e1\","
                    "\"_from\":\"fn/a\",\"_to\":\"fn/b\"}}]}") == STELE_OK,
            "setup: %s", stele_errmsg(db));
    char t[1024], d0[65], d1[65];
    nbr_text(db, "fn/a", STELE_DIR_OUT, NULL, t, sizeof t);
    CHECK(strcmp(t, "fn/b") == 0, "a -> b, got '%s'", t);
    nbr_text(db, "fn/b", STELE_DIR_IN, "calls", t, sizeof t);
    CHECK(strcmp(t, "fn/a") == 0, "default label is the collection name, got '%s'", t);
    nbr_text(db, "fn/b", STELE_DIR_IN, "OTHER", t, sizeof t);
    CHECK(strcmp(t, "") == 0, "an unknown label matches nothing, got '%s'", t);

    digest(db, d0);
    stele_status rc = txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"c\"}},"
                              "{\"op\":\"insert\",\"coll\":\"calls\",\"doc\":{\"_from\":\"fn/c\","
                              "\"_to\":\"fn/zz\"}}]}");
    CHECK(rc == STELE_ENOTFOUND, "edge to a missing node refused: %d", rc);
    CHECK(strstr(stele_errmsg(db), "fn/zz") && strstr(stele_errmsg(db), "dangling"),
          "message names the ref and the way out: %s", stele_errmsg(db));
    digest(db, d1);
    CHECK(strcmp(d0, d1) == 0, "a refused edge changes nothing");
    CHECK(node(db, "fn/c") == UINT32_MAX, "the whole transaction was refused");

    rc = txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"calls\",\"dangling\":true,"
                 "\"doc\":{\"_id\":\"e2\",\"_from\":\"fn/a\",\"_to\":\"fn/later\","
                 "\"_label\":\"CALLS\"}}]}");
    CHECK(rc == STELE_OK, "dangling edge accepted: %s", stele_errmsg(db));
    nbr_text(db, "fn/a", STELE_DIR_OUT, "CALLS", t, sizeof t);
    CHECK(strcmp(t, "fn/later") == 0, "dangling target listed: '%s'", t);
    CHECK(node(db, "fn/later") == UINT32_MAX, "a dangling target is no live node");
    CHECK(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"fn\",\"doc\":{\"_id\":\"later\"}}]}") ==
              STELE_OK, "insert the dangling target");
    nbr_text(db, "fn/later", STELE_DIR_IN, NULL, t, sizeof t);
    CHECK(strcmp(t, "fn/a") == 0, "the waiting edge links up: '%s'", t);

    rc = txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"calls\",\"doc\":{\"_from\":\"nope\","
                 "\"_to\":\"fn/a\"}}]}");
    CHECK(rc == STELE_EINVAL, "malformed reference: %d", rc);
    rc = txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"calls\",\"doc\":{\"_from\":\"fn/a\"}}]}");
    CHECK(rc == STELE_EINVAL, "_from without _to: %d", rc);
    rc = txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"calls\",\"dangling\":1,"
                 "\"doc\":{\"_from\":\"fn/a\",\"_to\":\"fn/b\"}}]}");
    CHECK(rc == STELE_EINVAL, "dangling must be a boolean: %d", rc);

    rc = txn(db, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"fn\",\"id\":\"b\"}]}");
    CHECK(rc == STELE_ECONFLICT, "deleting a linked node refused: %d", rc);
    CHECK(strstr(stele_errmsg(db), "cascade") != NULL, "message: %s", stele_errmsg(db));
    rc = txn(db, "{\"ops\":[{\"op\":\"drop_collection\",\"coll\":\"fn\"}]}");
    CHECK(rc == STELE_ECONFLICT, "dropping a linked collection refused: %d", rc);
    rc = txn(db, "{\"ops\":[{\"op\":\"rename_collection\",\"coll\":\"calls\",\"to\":\"c2\"}]}");
    CHECK(rc == STELE_ECONFLICT, "renaming an edge collection refused: %d", rc);

    rc = txn(db, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"fn\",\"id\":\"b\",\"cascade\":true}]}");
    CHECK(rc == STELE_OK, "cascade delete: %s", stele_errmsg(db));
    char *doc = NULL;
    CHECK(stele_doc_get(db, "calls", "e1", 0, &doc) == STELE_ENOTFOUND,
          "the edge went with the node");
    stele_free(doc);
    nbr_text(db, "fn/a", STELE_DIR_OUT, NULL, t, sizeof t);
    CHECK(strcmp(t, "fn/later") == 0, "only the other edge is left: '%s'", t);

    /* re-linking: replace an edge's _to */
    rc = txn(db, "{\"ops\":[{\"op\":\"patch\",\"coll\":\"calls\",\"id\":\"e2\","
                 "\"doc\":{\"_to\":\"fn/a\"}}]}");
    CHECK(rc == STELE_OK, "patch _to: %s", stele_errmsg(db));
    nbr_text(db, "fn/a", STELE_DIR_OUT, NULL, t, sizeof t);
    CHECK(strcmp(t, "fn/a") == 0, "self loop after re-link: '%s'", t);
    nbr_text(db, "fn/later", STELE_DIR_IN, NULL, t, sizeof t);
    CHECK(strcmp(t, "") == 0, "old target unlinked: '%s'", t);

    /* a failing op after an edge insert: the adjacency is as before */
    rc = txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"calls\",\"doc\":{\"_from\":\"fn/later\","
                 "\"_to\":\"fn/a\"}},{\"op\":\"delete\",\"coll\":\"fn\",\"id\":\"nobody\"}]}");
    CHECK(rc == STELE_ENOTFOUND, "second op fails: %d", rc);
    nbr_text(db, "fn/later", STELE_DIR_OUT, NULL, t, sizeof t);
    CHECK(strcmp(t, "") == 0, "rolled back edge not linked: '%s'", t);

    digest(db, d0);
    stele_close(db);
    db = open_db(1);
    REQUIRE(db, "reopen");
    digest(db, d1);
    CHECK(strcmp(d0, d1) == 0, "rebuild from the log gives the same state and links");
    nbr_text(db, "fn/a", STELE_DIR_BOTH, NULL, t, sizeof t);
    CHECK(strcmp(t, "fn/a") == 0, "after rebuild: '%s'", t);
    stele_close(db);
}

/* ---- random differential ---- */

#define RN 120    /* nodes */
#define RE 400    /* edge slots */

typedef struct oedge {
    int live, from, to, label;
} oedge;

static oedge E[RE];

/* Brute-force BFS over the live oracle edges: dist[n] = hops or -1. */
static void oracle_bfs(const oedge *e, int start, int dir, int label, int depth, int *dist)
{
    for (int i = 0; i < RN; i++) dist[i] = -1;
    dist[start] = 0;
    for (int d = 0; d < depth; d++)
        for (int k = 0; k < RE; k++) {
            if (!e[k].live || (label >= 0 && e[k].label != label)) continue;
            if ((dir & 1) && dist[e[k].from] == d && dist[e[k].to] < 0) dist[e[k].to] = d + 1;
            if ((dir & 2) && dist[e[k].to] == d && dist[e[k].from] < 0) dist[e[k].from] = d + 1;
        }
}

static const char *LABELS[2] = {"CALLS", "USES"};

/* Compares traversals from a few random starts with the oracle `e`. */
static void compare(stele *db, const oedge *e, uint64_t as_of, const char *when)
{
    for (int round = 0; round < 25; round++) {
        int start = (int)(test_rand() % RN), depth = 1 + (int)(test_rand() % 4);
        int dir = 1 + (int)(test_rand() % 3), label = (int)(test_rand() % 3) - 1;
        int dist[RN];
        oracle_bfs(e, start, dir, label, depth, dist);
        char ref[32];
        snprintf(ref, sizeof ref, "n/%d", start);
        stele_node s = node(db, ref), *nodes = NULL;
        uint32_t *d = NULL;
        size_t n = 0;
        stele_status rc = stele_graph_traverse(db, &s, 1, (stele_dir)dir,
                                               label < 0 ? NULL : LABELS[label],
                                               (uint32_t)depth, as_of, &nodes, &d, &n);
        REQUIRE(rc == STELE_OK, "%s: traverse: %s", when, stele_errmsg(db));
        int expect = 0, bad = 0;
        for (int i = 0; i < RN; i++) expect += dist[i] >= 0;
        for (size_t i = 0; i < n; i++) {
            char r[64];
            int k = -1;
            if (stele_node_ref(db, nodes[i], r, sizeof r) != STELE_OK ||
                sscanf(r, "n/%d", &k) != 1 || k < 0 || k >= RN || dist[k] != (int)d[i])
                bad++;
        }
        CHECK(!bad && (size_t)expect == n, "%s: start n/%d depth %d dir %d label %d: %zu nodes "
                                           "(want %d), %d wrong", when, start, depth, dir, label,
              n, expect, bad);
        stele_free(nodes);
        stele_free(d);
        if (as_of) continue;
        stele_node v[RN];
        size_t nn = 0;
        rc = stele_graph_neighbors(db, s, (stele_dir)dir, label < 0 ? NULL : LABELS[label], v,
                                   RN, &nn);
        int is_nbr[RN] = {0}, want = 0; /* distinct ends, the start itself for a self-loop */
        for (int k = 0; k < RE; k++) {
            if (!e[k].live || (label >= 0 && e[k].label != label)) continue;
            if ((dir & 1) && e[k].from == start) is_nbr[e[k].to] = 1;
            if ((dir & 2) && e[k].to == start) is_nbr[e[k].from] = 1;
        }
        for (int i = 0; i < RN; i++) want += is_nbr[i];
        CHECK(rc == STELE_OK && (int)nn == want, "%s: neighbours of n/%d: %zu, want %d", when,
              start, nn, want);
    }
}

static void random_edge(int k)
{
    E[k].from = (int)(test_rand() % RN);
    /* skew: a third of the edges go to a few hubs */
    E[k].to = test_rand() % 3 == 0 ? (int)(test_rand() % 4) : (int)(test_rand() % RN);
    E[k].label = (int)(test_rand() % 2);
}

/* A node with no links whose doc number is above every linked node's is still a node:
 * a traversal from it answers the start itself (a random seed found this). */
static void test_unlinked_start(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db, "open");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"n\"},"
                    "{\"op\":\"create_collection\",\"coll\":\"e\"},"
                    "{\"op\":\"insert\",\"coll\":\"n\",\"doc\":{\"_id\":\"a\"}},"
                    "{\"op\":\"insert\",\"coll\":\"n\",\"doc\":{\"_id\":\"b\"}},"
                    "{\"op\":\"insert\",\"coll\":\"n\",\"doc\":{\"_id\":\"lone\"}}]}") ==
                STELE_OK, "nodes");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_from\":"
                    "\"n/a\",\"_to\":\"n/b\"}}]}") == STELE_OK, "edge");
    stele_node s = node(db, "n/lone"), *nodes = NULL;
    uint32_t *d = NULL;
    size_t n = 0;
    stele_status rc = stele_graph_traverse(db, &s, 1, STELE_DIR_BOTH, NULL, 2, 0, &nodes, &d,
                                           &n);
    CHECK(rc == STELE_OK && n == 1 && nodes && nodes[0] == s && d[0] == 0,
          "traverse from an unlinked node: %zu nodes", n);
    stele_free(nodes);
    stele_free(d);
    stele_close(db);
}

static void test_random(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db, "open");
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"n\"},"
                    "{\"op\":\"create_collection\",\"coll\":\"e\"}]}") == STELE_OK, "colls");
    char ops[1 << 16];
    size_t w = 0;
    w += (size_t)snprintf(ops + w, sizeof ops - w, "{\"ops\":[");
    for (int i = 0; i < RN; i++)
        w += (size_t)snprintf(ops + w, sizeof ops - w, "%s{\"op\":\"insert\",\"coll\":\"n\","
                                                       "\"doc\":{\"_id\":\"%d\"}}", i ? "," : "", i);
    snprintf(ops + w, sizeof ops - w, "]}");
    REQUIRE(stele_txn(db, ops, strlen(ops), NULL, NULL) == STELE_OK, "nodes");
    memset(E, 0, sizeof E);
    /* phase 1: edges in batches of 20 */
    for (int k = 0; k < RE / 2; k += 20) {
        w = (size_t)snprintf(ops, sizeof ops, "{\"ops\":[");
        for (int j = k; j < k + 20; j++) {
            random_edge(j);
            w += (size_t)snprintf(ops + w, sizeof ops - w,
                                  "%s{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_id\":\"e%d\","
                                  "\"_from\":\"n/%d\",\"_to\":\"n/%d\",\"_label\":\"%s\"}}",
                                  j > k ? "," : "", j, E[j].from, E[j].to, LABELS[E[j].label]);
            E[j].live = 1;
        }
        snprintf(ops + w, sizeof ops - w, "]}");
        REQUIRE(stele_txn(db, ops, strlen(ops), NULL, NULL) == STELE_OK, "edges: %s",
                stele_errmsg(db));
    }
    compare(db, E, 0, "phase 1");
    char *res = NULL;
    uint64_t lsn1 = 0;
    const char *marker = "{\"ops\":[{\"op\":\"insert\",\"coll\":\"n\",\"doc\":{\"_id\":\"x\"}}]}";
    REQUIRE(stele_txn(db, marker, strlen(marker), NULL, &res) == STELE_OK, "marker");
    sscanf(res, "{\"lsn\":%llu", (unsigned long long *)&lsn1);
    stele_free(res);
    static oedge E1[RE];
    memcpy(E1, E, sizeof E);
    /* phase 2: new edges, re-links, deletes, one at a time */
    for (int step = 0; step < 150; step++) {
        int k = (int)(test_rand() % RE), what = (int)(test_rand() % 3);
        if (!E[k].live || what == 0) {
            int was = E[k].live;
            random_edge(k);
            E[k].live = 0;
            stele_status rc = was
                ? txn(db, "{\"ops\":[{\"op\":\"replace\",\"coll\":\"e\",\"id\":\"e%d\","
                          "\"doc\":{\"_from\":\"n/%d\",\"_to\":\"n/%d\",\"_label\":\"%s\"}}]}",
                      k, E[k].from, E[k].to, LABELS[E[k].label])
                : txn(db, "{\"ops\":[{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_id\":"
                          "\"e%d\",\"_from\":\"n/%d\",\"_to\":\"n/%d\",\"_label\":\"%s\"}}]}",
                      k, E[k].from, E[k].to, LABELS[E[k].label]);
            /* an insert of an _id deleted earlier is allowed (it comes back) */
            CHECK(rc == STELE_OK, "write edge e%d: %s", k, stele_errmsg(db));
            E[k].live = 1;
        } else {
            CHECK(txn(db, "{\"ops\":[{\"op\":\"delete\",\"coll\":\"e\",\"id\":\"e%d\"}]}", k) ==
                      STELE_OK, "delete edge: %s", stele_errmsg(db));
            E[k].live = 0;
        }
    }
    compare(db, E, 0, "phase 2");
    compare(db, E1, lsn1, "as of phase 1");
    char d0[65], d1[65];
    digest(db, d0);
    CHECK(stele_snapshot(db) == STELE_OK, "snapshot: %s", stele_errmsg(db));
    stele_close(db);
    db = open_db(0); /* from the snapshot */
    REQUIRE(db, "reopen");
    digest(db, d1);
    CHECK(strcmp(d0, d1) == 0, "snapshot load: same state and links");
    compare(db, E, 0, "after snapshot load");
    compare(db, E1, lsn1, "as of phase 1 after reload");
    stele_close(db);
    db = open_db(1);
    REQUIRE(db, "rebuild");
    digest(db, d1);
    CHECK(strcmp(d0, d1) == 0, "rebuild: same state and links");
    compare(db, E, 0, "after rebuild");
    stele_close(db);
}

/* ---- JSON queries on a small known graph ---- */

static char *query(stele *db, const char *spec)
{
    char *out = NULL;
    if (stele_graph_query(db, spec, strlen(spec), &out) != STELE_OK) {
        fprintf(stderr, "query %s: %s\n", spec, stele_errmsg(db));
        return NULL;
    }
    return out;
}

static void test_queries(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db, "open");
    /* a -> b -> c -> a (a cycle), c -> d, a -> d (weight 10), b -> d (weight 1) */
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"v\"},"
                    "{\"op\":\"create_collection\",\"coll\":\"r\"},"
                    "{\"op\":\"insert\",\"coll\":\"v\",\"doc\":{\"_id\":\"a\",\"k\":1}},"
                    "{\"op\":\"insert\",\"coll\":\"v\",\"doc\":{\"_id\":\"b\",\"k\":2}},"
                    "{\"op\":\"insert\",\"coll\":\"v\",\"doc\":{\"_id\":\"c\",\"k\":1}},"
                    "{\"op\":\"insert\",\"coll\":\"v\",\"doc\":{\"_id\":\"d\",\"k\":2}},"
                    "{\"op\":\"insert\",\"coll\":\"r\",\"doc\":{\"_from\":\"v/a\",\"_to\":\"v/b\",\"w\":1}},"
                    "{\"op\":\"insert\",\"coll\":\"r\",\"doc\":{\"_from\":\"v/b\",\"_to\":\"v/c\",\"w\":1}},"
                    "{\"op\":\"insert\",\"coll\":\"r\",\"doc\":{\"_from\":\"v/c\",\"_to\":\"v/a\",\"w\":1}},"
                    "{\"op\":\"insert\",\"coll\":\"r\",\"doc\":{\"_from\":\"v/c\",\"_to\":\"v/d\",\"w\":5}},"
                    "{\"op\":\"insert\",\"coll\":\"r\",\"doc\":{\"_from\":\"v/a\",\"_to\":\"v/d\",\"w\":10}},"
                    "{\"op\":\"insert\",\"coll\":\"r\",\"doc\":{\"_from\":\"v/b\",\"_to\":\"v/d\",\"w\":1}}"
                    "]}") == STELE_OK, "setup: %s", stele_errmsg(db));
    struct {
        const char *spec, *want;
    } cases[] = {
        {"{\"op\":\"path\",\"from\":\"v/a\",\"to\":\"v/d\"}", "{\"hops\":1,\"path\":[\"v/a\",\"v/d\"]}"},
        {"{\"op\":\"path\",\"from\":\"v/a\",\"to\":\"v/d\",\"weight\":\"w\"}",
         "{\"hops\":2,\"cost\":2,\"path\":[\"v/a\",\"v/b\",\"v/d\"]}"},
        {"{\"op\":\"path\",\"from\":\"v/d\",\"to\":\"v/a\"}", "{\"path\":null}"},
        {"{\"op\":\"reachable\",\"from\":\"v/d\",\"to\":\"v/a\",\"dir\":\"in\"}", "{\"reachable\":true}"},
        {"{\"op\":\"scc\"}", "{\"components\":2,\"largest\":3,\"sccs\":[[\"v/a\",\"v/b\",\"v/c\"]],\"listed\":1}"},
        {"{\"op\":\"topo\"}", "{\"order\":null,\"cycle\":true}"},
        {"{\"op\":\"traverse\",\"from\":\"v/d\",\"dir\":\"in\",\"depth\":1}",
         "{\"count\":4,\"nodes\":[{\"dist\":0,\"node\":\"v/d\"},{\"dist\":1,\"node\":\"v/a\"},"
         "{\"dist\":1,\"node\":\"v/b\"},{\"dist\":1,\"node\":\"v/c\"}]}"},
        {"{\"op\":\"query\",\"set\":{\"minus\":[{\"out\":[{\"nodes\":[\"v/a\"]},null,2]},"
         "{\"where\":[\"v\",{\"k\":2}]}]}}", "{\"count\":1,\"nodes\":[\"v/c\"]}"},
        {"{\"op\":\"query\",\"set\":{\"intersect\":[{\"collection\":\"v\"},{\"in\":[{\"nodes\":"
         "[\"v/d\"]},\"r\",1]}]},\"limit\":1}", "{\"count\":3,\"nodes\":[\"v/a\"]}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = query(db, cases[i].spec);
        CHECK(got && strcmp(got, cases[i].want) == 0, "%s\n  got  %s\n  want %s", cases[i].spec,
              got ? got : "(error)", cases[i].want);
        stele_free(got);
    }
    char *out = NULL;
    const char *bad = "{\"op\":\"path\",\"from\":\"v/a\",\"to\":\"v/zz\"}";
    CHECK(stele_graph_query(db, bad, strlen(bad), &out) == STELE_ENOTFOUND, "missing node");
    bad = "{\"op\":\"fly\"}";
    CHECK(stele_graph_query(db, bad, strlen(bad), &out) == STELE_EINVAL &&
              strstr(stele_errmsg(db), "unknown"), "unknown op: %s", stele_errmsg(db));
    bad = "{\"op\":\"query\",\"set\":{\"out\":[{\"nodes\":[\"v/a\"]},null,0]}}";
    CHECK(stele_graph_query(db, bad, strlen(bad), &out) == STELE_EINVAL, "0 hops refused");
    /* DAG after removing the back edge: topological order */
    REQUIRE(txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"dag\"},"
                    "{\"op\":\"insert\",\"coll\":\"dag\",\"doc\":{\"_from\":\"v/c\",\"_to\":\"v/b\"}},"
                    "{\"op\":\"insert\",\"coll\":\"dag\",\"doc\":{\"_from\":\"v/b\",\"_to\":\"v/a\"}},"
                    "{\"op\":\"insert\",\"coll\":\"dag\",\"doc\":{\"_from\":\"v/c\",\"_to\":\"v/a\"}}"
                    "]}") == STELE_OK, "dag: %s", stele_errmsg(db));
    out = query(db, "{\"op\":\"topo\",\"label\":\"dag\"}");
    CHECK(out && strcmp(out, "{\"order\":[\"v/c\",\"v/b\",\"v/a\"],\"count\":3}") == 0,
          "topo: %s", out ? out : "(error)");
    stele_free(out);
    stele_close(db);
}


/* ---- kill -9 during edge transactions ---- */

static void crash_child(int fd, int start)
{
    stele *db = open_db(0);
    if (!db) _exit(2);
    for (int i = start;; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"ops\":[{\"op\":\"insert\",\"coll\":\"n\",\"doc\":{\"_id\":\"%d\"}},"
                 "{\"op\":\"insert\",\"coll\":\"e\",\"doc\":{\"_id\":\"e%d\","
                 "\"_from\":\"n/%d\",\"_to\":\"n/%d\"}}]}", i + 1, i + 1, i + 1, i);
        if (stele_txn(db, text, strlen(text), NULL, NULL) != STELE_OK) _exit(3);
        if (write(fd, &i, sizeof i) != (ssize_t)sizeof i) _exit(4);
    }
}

/* 1 if node n/(i+1) exists with its one edge to n/i linked, 0 if neither, -1 if half. */
static int chain_link(stele *db, int i)
{
    char ref[32];
    snprintf(ref, sizeof ref, "n/%d", i + 1);
    stele_node a = node(db, ref), v[4];
    char *doc = NULL, id[32];
    snprintf(id, sizeof id, "e%d", i + 1);
    int has_edge = stele_doc_get(db, "e", id, 0, &doc) == STELE_OK;
    stele_free(doc);
    if (a == UINT32_MAX) return has_edge ? -1 : 0;
    size_t n = 0;
    snprintf(ref, sizeof ref, "n/%d", i);
    if (!has_edge || stele_graph_neighbors(db, a, STELE_DIR_OUT, NULL, v, 4, &n) != STELE_OK ||
        n != 1 || v[0] != node(db, ref))
        return -1;
    return 1;
}

static void test_crash(void)
{
    make_store();
    stele *db = open_db(0);
    REQUIRE(db && txn(db, "{\"ops\":[{\"op\":\"create_collection\",\"coll\":\"n\"},"
                          "{\"op\":\"create_collection\",\"coll\":\"e\"},"
                          "{\"op\":\"insert\",\"coll\":\"n\",\"doc\":{\"_id\":\"0\"}}]}") ==
                      STELE_OK, "setup");
    stele_close(db);
    int next = 0, acked_max = -1, bad = 0;
    for (int round = 0; round < 8; round++) {
        acked_max = test_kill_round(crash_child, next,
                                    (unsigned)(30000 + test_rand() % 60000), acked_max);
        db = open_db(0);
        REQUIRE(db, "reopen after kill");
        for (int i = 0; i <= acked_max + 3; i++) {
            int k = chain_link(db, i);
            if (k < 0 || (i <= acked_max && k != 1)) bad++;
            if (k == 1 && i >= next) next = i + 1;
        }
        if (next <= acked_max) next = acked_max + 1;
        stele_close(db);
    }
    CHECK(bad == 0, "%d edge transactions lost or half visible after kill -9", bad);
    CHECK(acked_max > 5, "the writer made progress (%d acknowledged)", acked_max);
}

int main(void)
{
    TEST_RUN(test_rules);
    TEST_RUN(test_unlinked_start);
    TEST_RUN(test_random);
    TEST_RUN(test_queries);
    TEST_RUN(test_crash);
    return test_summary();
}
