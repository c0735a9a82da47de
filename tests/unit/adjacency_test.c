/*
 * adjacency_test.c — the graph adjacency (src/model/edges.c) against a brute-force
 * model: random links and unlinks, transactions committed or rolled back, and
 * compactions at random points (nodes move between the compact base and their own
 * "thawed" arrays). After every step every node's groups must equal the model's, in
 * order: groups by label id, links by (node, edge).
 */
#include <stdlib.h>
#include <string.h>

#include "model/edges.h"
#include "testutil.h"

#define NODES 64u
#define EDGES 600u
#define LABELS 6u

typedef struct medge_m {
    int linked;
    uint32_t from, to, label;
} medge_m;

static medge_m g_model[EDGES + 300];
static medge_m g_saved[EDGES + 300]; /* the model at the mark */

static int link_cmp(const void *x, const void *y)
{
    const mlink *p = x, *q = y;
    if (p->node != q->node) return p->node < q->node ? -1 : 1;
    return p->edge < q->edge ? -1 : p->edge > q->edge;
}

/* The model's links of (node, dir, label), sorted; returns the count. */
static size_t model_links(uint32_t node, int dir, uint32_t label, mlink *out, size_t nedges)
{
    size_t k = 0;
    for (uint32_t e = 0; e < nedges; e++) {
        const medge_m *m = &g_model[e];
        if (!m->linked || m->label != label) continue;
        if (dir == MADJ_OUT && m->from == node) out[k++] = (mlink){m->to, e};
        if (dir == MADJ_IN && m->to == node) out[k++] = (mlink){m->from, e};
    }
    qsort(out, k, sizeof *out, link_cmp);
    return k;
}

/* Compares every node of a with the model; returns the number of mismatches. */
static int compare(const madj *a, size_t nedges, uint32_t nlabels)
{
    static mlink want[EDGES + 300];
    mgroup_view gv[LABELS + 300];
    int bad = 0;
    uint64_t linked = 0;
    for (uint32_t e = 0; e < nedges; e++) linked += g_model[e].linked;
    bad += madj_edge_count(a) != linked;
    for (uint32_t node = 0; node < NODES + 2; node++) {
        uint64_t degree = 0;
        for (int dir = MADJ_OUT; dir <= MADJ_IN; dir++) {
            size_t ng = madj_groups(a, node, dir, gv, sizeof gv / sizeof gv[0]);
            size_t gi = 0;
            for (uint32_t label = 0; label < nlabels; label++) {
                size_t k = model_links(node, dir, label, want, nedges);
                degree += k;
                if (k == 0) continue;
                if (gi >= ng || gv[gi].label != label || gv[gi].n != k ||
                    memcmp(gv[gi].links, want, k * sizeof *want) != 0)
                    bad++;
                gi++;
            }
            bad += gi != ng; /* no extra or empty groups */
        }
        bad += madj_degree(a, node) != degree;
    }
    for (uint32_t l = 0; l < nlabels; l++) {
        uint64_t n = 0;
        for (uint32_t e = 0; e < nedges; e++) n += g_model[e].linked && g_model[e].label == l;
        bad += madj_label_edges(a, l) != n;
    }
    return bad;
}

static uint32_t intern(madj *a, uint32_t l)
{
    char name[16];
    int n = snprintf(name, sizeof name, "L%u", l);
    uint32_t id = MADJ_NONE;
    if (madj_label_intern(a, name, (size_t)n, &id) != 0) return MADJ_NONE;
    return id;
}

/* One random change: link a free edge id or unlink a linked one. */
static int random_change(madj *a)
{
    uint32_t e = (uint32_t)(test_rand() % EDGES);
    if (g_model[e].linked) {
        g_model[e].linked = 0;
        return madj_unlink(a, e) == 1 ? 0 : -1;
    }
    uint32_t from = (uint32_t)(test_rand() % NODES), to = (uint32_t)(test_rand() % NODES);
    if (test_rand() % 4 == 0) to = from % 4; /* hubs: nodes 0..3 gather many links */
    uint32_t label = intern(a, (uint32_t)(test_rand() % LABELS));
    g_model[e] = (medge_m){1, from, to, label};
    return label == MADJ_NONE ? -1 : madj_link(a, e, from, to, label);
}

static void test_random_with_compaction(void)
{
    madj *a = madj_new();
    REQUIRE(a != NULL, "madj_new");
    memset(g_model, 0, sizeof g_model);
    int compactions = 0, rollbacks = 0;
    for (int round = 0; round < 400; round++) {
        int tx = (int)(test_rand() % 3); /* 0 plain, 1 committed, 2 rolled back */
        if (tx) {
            memcpy(g_saved, g_model, sizeof g_model);
            REQUIRE(madj_mark(a) == 0, "mark");
        }
        int changes = 1 + (int)(test_rand() % 12);
        for (int c = 0; c < changes; c++) REQUIRE(random_change(a) == 0, "change");
        if (tx == 1) madj_commit(a);
        if (tx == 2) {
            madj_rollback(a);
            memcpy(g_model, g_saved, sizeof g_model);
            rollbacks++;
        }
        REQUIRE(madj_settle(a) == 0, "settle");
        if (test_rand() % 5 == 0) {
            REQUIRE(madj_compact(a) == 0, "compact");
            compactions++;
        }
        int bad = compare(a, EDGES, madj_label_count(a));
        CHECK(bad == 0, "round %d: %d mismatches with the model", round, bad);
        if (bad) break;
    }
    CHECK(compactions > 20 && rollbacks > 20, "the rounds exercised compaction (%d) and "
          "rollback (%d)", compactions, rollbacks);
    madj_free(a);
}

/* A node with more labels than the compact base holds per node stays in its own arrays
 * and still answers like the others. */
static void test_many_labels(void)
{
    madj *a = madj_new();
    REQUIRE(a != NULL, "madj_new");
    memset(g_model, 0, sizeof g_model);
    const uint32_t n = 300;
    for (uint32_t e = 0; e < n; e++) {
        uint32_t label = intern(a, e); /* every edge its own label */
        REQUIRE(label != MADJ_NONE, "intern");
        g_model[e] = (medge_m){1, 1, 2 + e % NODES, label};
        REQUIRE(madj_link(a, e, 1, 2 + e % NODES, label) == 0, "link");
    }
    REQUIRE(madj_settle(a) == 0 && madj_compact(a) == 0, "compact");
    CHECK(compare(a, n, madj_label_count(a)) == 0, "300 labels on one node, after compaction");
    g_model[7].linked = 0;
    CHECK(madj_unlink(a, 7) == 1, "unlink from the many-label node");
    REQUIRE(madj_settle(a) == 0, "settle");
    CHECK(compare(a, n, madj_label_count(a)) == 0, "after an unlink");
    REQUIRE(madj_compact(a) == 0, "compact");
    CHECK(compare(a, n, madj_label_count(a)) == 0, "after a second compaction");
    madj_free(a);
}

/* Compaction packs the links: memory per link drops well below the per-node arrays'. */
static void test_compaction_packs(void)
{
    madj *a = madj_new();
    REQUIRE(a != NULL, "madj_new");
    uint32_t label = intern(a, 0);
    for (uint32_t e = 0; e < 20000; e++)
        REQUIRE(madj_link(a, e, e % 5000, (e * 7u) % 5000, label) == 0, "link");
    REQUIRE(madj_settle(a) == 0, "settle");
    uint64_t before = madj_bytes(a);
    REQUIRE(madj_compact(a) == 0, "compact");
    uint64_t after = madj_bytes(a);
    CHECK(after * 5 < before * 3, "compaction saved 40%% or more: %llu -> %llu bytes",
          (unsigned long long)before, (unsigned long long)after);
    /* 40,000 links of 8 bytes, 10,000 group headers of 12, the edge table (12 bytes per
     * edge, capacity up to twice that), 5 bytes per node and direction: under 50 bytes
     * per edge, where per-node arrays cost over 100. */
    CHECK(after < 20000ull * 50, "compact adjacency of 20,000 edges: %llu bytes",
          (unsigned long long)after);
    madj_free(a);
}

int main(void)
{
    TEST_RUN(test_random_with_compaction);
    TEST_RUN(test_many_labels);
    TEST_RUN(test_compaction_packs);
    return test_summary();
}
