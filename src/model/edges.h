/*
 * edges.h — the adjacency of a database's graph: for every node (doc number) and
 * direction, its links grouped by label, kept in memory and maintained by apply.
 * Layer: model. Derived state: rebuilt from the edge documents at load.
 *
 * An edge is a document with string fields "_from" and "_to" ("collection/key", or a
 * reference to another database's node: its stand-in is linked) and an optional
 * "_label" (default: the edge's collection name). txn.c resolves the
 * references to doc numbers and calls madj_link / madj_unlink; this file only keeps
 * the links.
 *
 * Layout: per node and direction its groups (one per label present at that node, in
 * label order), each an array of links (neighbour node, edge doc number) sorted by
 * (node, edge) once settled. Two forms: a compact base (per direction one pool of
 * links and one array of group headers, 5 bytes of index per node; built by
 * madj_compact) and, for nodes changed since, per-node arrays ("thawed": a node's
 * groups are copied out of the base on its first change). Per edge doc number: its (from, to, label) while linked, so an
 * edge can be unlinked without reading its old body. Labels are interned in a string
 * dictionary (ids in order of first use: a replay gives the same ids).
 *
 * Invariants
 *  1. Edge e is linked iff the newest version of doc e is a live edge document whose
 *     endpoints were resolved when it was written; then (to, e) is in out[from]'s group
 *     of its label and (from, e) in in[to]'s, exactly once each.
 *  2. After madj_settle every group is sorted by (node, edge) and no group is empty.
 *  3. Between madj_mark and madj_commit / madj_rollback every change is journaled;
 *     rollback restores the links (and label count) of the mark.
 */
#ifndef STELE_MODEL_EDGES_H
#define STELE_MODEL_EDGES_H

#include <stddef.h>
#include <stdint.h>

#define MADJ_NONE UINT32_MAX
#define MADJ_LABEL_MAX 64 /* bytes of an edge label */
#define MADJ_OUT 1
#define MADJ_IN 2

typedef struct madj madj;

/* One link: the node at the other end and the edge's doc number. Same layout as the
 * query layer's graph_link (checked there), so that traversals read groups in place. */
typedef struct mlink {
    uint32_t node;
    uint32_t edge;
} mlink;

/* The links of one node, one direction and one label (borrowed until the next change). */
typedef struct mgroup_view {
    const mlink *links;
    uint32_t n;
    uint32_t label;
} mgroup_view;

madj *madj_new(void);
void madj_free(madj *a);

/* Labels (a util/strtab dictionary): the id of `name` (created if new: -1 on OOM), or
 * lookup only (MADJ_NONE if unknown); name of an id (*len bytes, not NUL-terminated,
 * borrowed until the next new label); number of labels. */
int madj_label_intern(madj *a, const char *name, size_t len, uint32_t *id);
uint32_t madj_label_find(const madj *a, const char *name, size_t len);
const char *madj_label_name(const madj *a, uint32_t id, size_t *len);
uint32_t madj_label_count(const madj *a);

/* Links edge doc `edge` from -> to with `label` (edge must not be linked). -1 on OOM. */
int madj_link(madj *a, uint32_t edge, uint32_t from, uint32_t to, uint32_t label);
/* Unlinks edge doc `edge` if it is linked: 1 if it was, 0 if not, -1 on OOM (journal). */
int madj_unlink(madj *a, uint32_t edge);
/* 1 and the endpoints if edge doc `edge` is linked, else 0. */
int madj_edge(const madj *a, uint32_t edge, uint32_t *from, uint32_t *to, uint32_t *label);

/* Groups of node in dir (MADJ_OUT or MADJ_IN): writes up to cap into out, returns how
 * many there are. Settled order: by label id. */
size_t madj_groups(const madj *a, uint32_t node, int dir, mgroup_view *out, size_t cap);
/* Links of node in both directions (a self-loop counts twice). */
uint64_t madj_degree(const madj *a, uint32_t node);
/* Every node number with links is < madj_node_limit(). */
uint32_t madj_node_limit(const madj *a);
/* Linked edges in all, and per label. */
uint64_t madj_edge_count(const madj *a);
uint64_t madj_label_edges(const madj *a, uint32_t label);

/* Sorts the groups changed since the last settle (call after a batch of changes). */
int madj_settle(madj *a);
/* Rebuilds the compact base (one pool of links per direction) from the edge table and
 * frees the per-node arrays of nodes changed since: call after bulk changes (load,
 * import, checkpoint), never between mark and commit. -1 on OOM (nothing changed). */
int madj_compact(madj *a);

/* Tentative changes (see state.h: mstate_mark). */
int madj_mark(madj *a);
void madj_rollback(madj *a);
void madj_commit(madj *a);

/* Memory held by the adjacency, in bytes (for stat). */
uint64_t madj_bytes(const madj *a);

/* ---- Edge documents ----------------------------------------------------------------
 * A reference is "collection/key" (a node of this database), "NAME:collection/key" (a
 * node of the database NAME of the owner of this database), "@OWNER/NAME:collection/key"
 * (a database as its members name it) or "global:collection/key" (a node of the global
 * database, cached in each user's primary database). Other databases' nodes are linked
 * to a stand-in: a reserved doc number of the internal collection MREF_XREF_COLL whose
 * key is the whole reference (docs/GRAPH.md "Across databases"). */
#define MREF_XREF_COLL ".xref" /* a name no caller can give: it starts with '.' */
#define MREF_GLOBAL "global"   /* the database part of a reference to global data */
#define MREF_TEXT_MAX (1 + 64 + 1 + 64 + 1 + 64 + 1 + 256) /* "@O/N:c/k" at most */

typedef struct mref {
    const char *db, *coll, *key; /* borrowed from the document; db NULL if local */
    size_t db_len, coll_len, key_len;
    const char *text; /* the whole reference (text_len bytes) */
    size_t text_len;
    int owner;  /* db is "OWNER/NAME" (the '@' form) */
    int global; /* db is "global" */
} mref;

typedef struct medge_doc {
    mref from, to;
    const char *label; /* NULL: the default (the edge's collection name) */
    size_t label_len;
} medge_doc;

struct mstate;

/* Splits "[[@OWNER/]db:]collection/key" (names checked, key 1-256 bytes): 0, or -1 with
 * *why (a static reason). */
int mref_parse(const char *s, size_t n, mref *r, const char **why);
/* Reads the edge fields of SDOC doc[0, len): 1 if it is an edge (*out filled), 0 if it
 * has neither "_from" nor "_to", -1 if they are malformed (*why: a static reason). */
int medge_read(const uint8_t *doc, size_t len, medge_doc *out, const char **why);
/* Doc number of a reference as of LSN as_of (collection name as then): a local node,
 * the stand-in of another database's node, or — in a primary database — the local
 * node of a "global:" reference; MADJ_NONE if the collection or the document is
 * unknown (reserved numbers count). */
uint32_t mref_resolve(const struct mstate *s, const mref *r, uint64_t as_of);
/* The label of edge document `edge` read as *ed: its "_label", or the name of its
 * collection as of at (*len bytes); NULL if that collection has no name then. */
const char *medge_label(const struct mstate *s, const medge_doc *ed, uint32_t edge,
                        uint64_t at, size_t *len);
/* Records edge -> (from, to, label) while loading a snapshot (edge not linked, label
 * existing): the edge table only, then madj_compact builds the groups. -1 on OOM. */
int madj_load_link(madj *a, uint32_t edge, uint32_t from, uint32_t to, uint32_t label);
/* Links every live edge document of s as of now (after loading a snapshot): -1 on OOM. */
int madj_relink_all(struct mstate *s);

#endif
