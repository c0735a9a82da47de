/*
 * code.h — the C code indexer: libclang → a graph of the code → Stele documents.
 * Layer: code, a tool above the public API like the CLI. Only load.c includes stele.h;
 * only extract.c and project.c include libclang. The `stele code` commands
 * (src/cli/code_cmd.c) drive it.
 *
 * Pipeline:
 *   project.c  finds the files of a root (*.c, *.h) and the compiler arguments of each
 *              (compile_commands.json in DIR or DIR/build, else defaults);
 *   extract.c  parses ONE file with libclang and keeps only what is written in that file
 *              (cursors located in its main file): a cg_file of nodes, references to
 *              symbols (defined here or elsewhere) and edges. Headers are parsed as their
 *              own translation units, so every node and edge has exactly one owning file
 *              and re-indexing one file never needs another file;
 *   graph.c    gives each node its final key (see "Keys") and each reference the key of
 *              the node it names, asking an owner oracle about keys of other files, and
 *              builds the JSON documents;
 *   load.c     writes them through stele_txn: a full index (diff against what the
 *              database holds) or the update of one file in one transaction;
 *   watch.c    inotify over a tree, for `stele code watch`.
 *
 * THE DATA CONTRACT (other parts of Stele rely on it)
 *  Node collections: file, function, type, typedef, global, macro, field. Every node has
 *  "name", "kind", "external" (bool) and, unless external, "file" (path relative to the
 *  indexed root: the file that defines it), "line", "column", "end_line", "static" (bool);
 *  "signature" and "doc" (raw comment text) when there is one; macros "function_like".
 *  External nodes (referenced, not defined in the indexed files: printf, size_t, a
 *  system header) have "external": true and "declared_in" (a path) when known.
 *  kinds: file "source"|"header"; function "function"; type "struct"|"union"|"enum";
 *  typedef "typedef"; global "variable"; macro "macro"; field "field".
 *
 *  Keys (_id): the name for external-linkage functions and globals and for types,
 *  typedefs and macros defined in headers; "relpath:name" for static functions and
 *  globals, for types, typedefs and macros defined in a .c file, and for a definition
 *  whose plain key another file already owns (the first file in path order keeps it:
 *  two programs' main, two headers defining one struct tag); "TypeKey.field" for
 *  fields (members of anonymous struct/union members belong to the enclosing type);
 *  the relative path for files inside the root, the absolute path for others. A key
 *  longer than CG_KEY_MAX bytes is cut and ends in '#' and a hash of the whole key.
 *
 *  Edges: collection code_edges, "_from"/"_to" references "collection/key", "_label":
 *   CALLS       function → function it calls directly (one edge per pair, "count"
 *               calls, "line" of the first)
 *   DEFINES     file → each node defined in it
 *   INCLUDES    file → file it #includes (outside the root: an external file node)
 *   USES_TYPE   function → type/typedef named in its signature or its locals' types;
 *               global → its type; field → its type; typedef → the type it names
 *               (through pointers, arrays, qualifiers and function-pointer signatures,
 *               stopping at the first typedef or struct/union/enum)
 *   HAS_FIELD   type → field
 *   REFERENCES  function or global → function whose name is used other than as the
 *               callee of a call (address taken: a callback, an ops-table initializer)
 *  and on every edge "file" (the file whose parsing produced it) and "line".
 *  _id = "LABEL|from-ref|to-ref", e.g. "CALLS|function/a|function/b" (cut and hashed
 *  like keys beyond CG_KEY_MAX), so re-indexing replaces rather than duplicates.
 *  Every endpoint is a node written before (or in the same transaction as) the edge.
 *
 *  code_meta/index: {"root": absolute path of the indexed directory, "compile_db":
 *  the compile_commands.json used or null} — where `code update` finds the root.
 *
 * Memory: a cg_file owns an arena; every string of its nodes, refs and edges lives in
 * it until cg_file_free.
 */
#ifndef STELE_CODE_H
#define STELE_CODE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Always-on check of a programmer error, never of input (bad input returns an error). */
#define CG_ASSERT(c) ((c) ? (void)0 : cg_assert_fail(#c, __FILE__, __LINE__))
_Noreturn void cg_assert_fail(const char *what, const char *file, int line);

/* ---- limits (each with its reason) --------------------------------------------- */
#define CG_KEY_MAX 256          /* a document _id is 1..256 bytes (docs/LIMITS.md) */
#define CG_KEY_CUT 200          /* bytes kept of an overlong key before '#' and the hash */
#define CG_SIGNATURE_MAX 1024   /* a prototype longer than this is cut: a node stays small */
#define CG_DOC_MAX 8192         /* doc comments are cut here, for the same reason */
#define CG_PATH_MAX 4096        /* paths are built in fixed buffers */
#define CG_FILES_MAX 1000000u   /* files of one root: bounds the walk */
#define CG_TYPE_WORK_MAX 64     /* types pending while unwrapping one declared type */
#define CG_PARENT_STEPS_MAX 64  /* anonymous members nested in one another */
#define CG_ARGS_MAX 512         /* compiler arguments of one file */
#define CG_DIAG_SHOWN 5         /* errors printed per skipped file */
#define CG_JOBS_DEFAULT_MAX 8   /* default parse threads: beyond this, writing dominates */
#define CG_JOBS_MAX 64          /* --jobs: each thread holds a libclang index and a TU */

/* ---- the collections and labels ------------------------------------------------- */
enum { CG_FILE, CG_FUNCTION, CG_TYPE, CG_TYPEDEF, CG_GLOBAL, CG_MACRO, CG_FIELD, CG_NCOLL };
enum { CG_CALLS, CG_DEFINES, CG_INCLUDES, CG_USES_TYPE, CG_HAS_FIELD, CG_REFERENCES,
       CG_NLABEL };
extern const char *const CG_COLL_NAME[CG_NCOLL];
extern const char *const CG_LABEL_NAME[CG_NLABEL];
#define CG_EDGE_COLL "code_edges"
#define CG_META_COLL "code_meta"
#define CG_META_ID "index"

/* ---- containers (cmap.c) -------------------------------------------------------- */

/* A bump allocator: everything is freed at once by cg_arena_release. */
typedef struct cg_arena_block cg_arena_block;
typedef struct cg_arena {
    cg_arena_block *head;
} cg_arena;
void cg_arena_init(cg_arena *a);
void cg_arena_release(cg_arena *a);
void *cg_arena_alloc(cg_arena *a, size_t n); /* NULL on OOM; 8-byte aligned */
char *cg_arena_strndup(cg_arena *a, const char *s, size_t n);
char *cg_arena_strdup(cg_arena *a, const char *s);
char *cg_arena_printf(cg_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A string → uint32 map (open addressing). Keys are borrowed: they must outlive it. */
typedef struct cg_smap {
    const char **keys;
    uint32_t *vals;
    size_t cap, n;
} cg_smap;
void cg_smap_init(cg_smap *m);
void cg_smap_release(cg_smap *m);
/* 0 inserted, 1 already there (*old gets its value if not NULL; nothing changes), -1 OOM. */
int cg_smap_put(cg_smap *m, const char *key, uint32_t val, uint32_t *old);
/* 1 and *val if found, 0 if not. */
int cg_smap_get(const cg_smap *m, const char *key, uint32_t *val);

/* A uint64 → uint32 map; key UINT64_MAX is reserved. */
typedef struct cg_umap {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n;
} cg_umap;
void cg_umap_init(cg_umap *m);
void cg_umap_release(cg_umap *m);
int cg_umap_put(cg_umap *m, uint64_t key, uint32_t val, uint32_t *old);
int cg_umap_get(const cg_umap *m, uint64_t key, uint32_t *val);

/* Grows *p (elements of `elem` bytes, capacity *cap) to hold `need`. 0 or -1 (OOM). */
int cg_grow(void **p, size_t *cap, size_t need, size_t elem);
/* 64-bit FNV-1a with a seed (two seeds give the 128 bits of an overlong key's hash). */
uint64_t cg_hash(const char *s, size_t n, uint64_t seed);
/* `key` if it is at most CG_KEY_MAX bytes, else a cut copy in `a` ending in "#" and 32
 * hex digits of its hash (cut at a UTF-8 boundary). NULL on OOM. */
const char *cg_key_fit(cg_arena *a, const char *key);

/* ---- one file's graph (extract.c) ------------------------------------------------ */

typedef struct cg_node {
    uint8_t coll;
    uint8_t is_static, function_like;
    int32_t parent;        /* fields: index of the owning type node; -1 otherwise */
    const char *base;      /* the key, unless another file owns it */
    const char *alt;       /* the key when another file owns base; NULL if base is local */
    const char *name, *kind, *signature, *doc; /* signature, doc: NULL if none */
    uint32_t line, column, end_line;
    const char *key;       /* final key (graph.c) */
} cg_node;

/* A symbol named from this file (call target, type used, file included, ...). */
typedef struct cg_ref {
    uint8_t coll;
    uint8_t stub;             /* graph.c: no node holds the key; write an external node */
    const char *base, *alt;   /* alt: "deffile:name" (NULL if unknown or base is local) */
    const char *deffile;      /* relpath of the defining file; NULL unknown or outside */
    const char *name, *kind, *signature, *declared_in; /* for an external node */
    const char *key;          /* final key (graph.c) */
} cg_ref;

typedef struct cg_edge {
    uint8_t label;
    uint8_t to_node;    /* 1: `to` indexes nodes (this file), 0: refs */
    uint32_t from;      /* node index */
    uint32_t to;
    uint32_t line, count;
} cg_edge;

typedef struct cg_file {
    cg_arena arena;
    const char *rel;    /* path relative to the root */
    uint32_t lines;     /* lines of the file (for throughput figures) */
    uint32_t errors;    /* errors clang recovered from */
    cg_node *nodes;     /* nodes[0] is the file itself */
    size_t nnodes, cap_nodes;
    cg_ref *refs;
    size_t nrefs, cap_refs;
    cg_edge *edges;
    size_t nedges, cap_edges;
    cg_smap node_at;    /* "coll/base" → node index (dedupe, lookups by key) */
    cg_smap ref_at;     /* "coll/base|deffile" → ref index */
    cg_umap edge_at;    /* (label, from, to) → edge index */
} cg_file;

void cg_file_free(cg_file *f);

/* Errors of a file: called once per error (at most CG_DIAG_SHOWN, then once with line 0
 * and a count); `fatal` for an error that stops the parse (a missing #include, too many
 * errors). */
typedef void (*cg_diag_fn)(void *ctx, const char *path, unsigned line, int fatal,
                           const char *msg);

typedef struct cg_parser cg_parser; /* one libclang index, reused for every file */
cg_parser *cg_parser_new(const char *root);
void cg_parser_free(cg_parser *p);

/* Parses the file at `abs` (relative path `rel` inside the root) with the compiler
 * arguments args[0, nargs). Errors are reported through diag. 0 and *out (caller frees
 * with cg_file_free; (*out)->errors counts the errors clang recovered from: the graph is
 * what clang made of the file); 1 if the file does not parse (a fatal error, or libclang
 * failed: nothing extracted, so that a file cut short never replaces a good graph); -1
 * on OOM. */
int cg_extract(cg_parser *p, const char *abs, const char *rel, const char *const *args,
               int nargs, cg_diag_fn diag, void *ctx, cg_file **out);

/* ---- the project: files and compiler arguments (project.c) ---------------------- */

typedef struct cg_project cg_project;
/* Opens the root `dir`: must be an existing directory. Loads compile_commands.json
 * from dir or dir/build if present. NULL on failure with a message in err. */
cg_project *cg_project_open(const char *dir, char *err, size_t errcap);
void cg_project_free(cg_project *p);
const char *cg_project_root(const cg_project *p);     /* realpath, no trailing '/' */
const char *cg_project_compile_db(const cg_project *p); /* its path, or NULL */

/* The *.c and *.h files under the root (not in dot-directories or CMake build trees,
 * no symlinks) plus the root's files named by the compile database, as relative paths
 * sorted by bytes: *rels (an array of *n strings in one block, caller frees with free).
 * 0, or -1 with a message. */
int cg_project_files(cg_project *p, char ***rels, size_t *n, char *err, size_t errcap);

/* The relative path of `path` (absolute or relative to the working directory) in the
 * root: 0 and rel (in a buffer of CG_PATH_MAX); -1 if it is not inside the root (it need
 * not exist: its directory must). */
int cg_project_rel(const cg_project *p, const char *path, char *rel, size_t cap);

/* The compiler arguments for `rel`: from its compile command, else a command of the same
 * directory (or the first), else -std=c11 -I root -I root/include -I root/src; always
 * -fparse-all-comments and -w added, -Werror*, -o, -c, -M* and the file itself removed.
 * Borrowed until the next call; *nargs gets their number. 0 or -1 (OOM). */
int cg_project_args(cg_project *p, const char *rel, const char *const **args, int *nargs);

/* ---- keys and documents (graph.c) ------------------------------------------------ */

enum { CG_OWN_NONE = 0, CG_OWN_EXTERNAL = 1, CG_OWN_FILE = 2 };
/* Who holds `key` in collection `coll` now: CG_OWN_NONE, CG_OWN_EXTERNAL, or CG_OWN_FILE
 * with *file its defining file (borrowed until the next call); -1 on error. */
typedef int (*cg_owner_fn)(void *ctx, int coll, const char *key, const char **file);

/* Final keys of the file's own nodes: base, or alt if the oracle says another file owns
 * base (fields follow their type). 0 or -1. */
int cg_assign_keys(cg_file *f, cg_owner_fn owner, void *ctx);
/* Final keys of the references (after cg_assign_keys): the own node for a symbol defined
 * in this file; otherwise base, or alt if base belongs to a file other than the
 * definition's. Sets ref->stub when no node holds the key. 0 or -1. */
int cg_resolve_refs(cg_file *f, cg_owner_fn owner, void *ctx);

/* A JSON string of s, with each byte that is not part of valid UTF-8 replaced by '?'
 * (clang hands over source bytes as they are). NULL on OOM. */
json_t *cg_json_str(const char *s);
/* The documents (new references; NULL on OOM). Edge documents carry their _id. */
json_t *cg_node_doc(const cg_file *f, size_t i);
json_t *cg_stub_doc(const cg_ref *r);
json_t *cg_edge_doc(cg_file *f, size_t i);
/* "coll/key" into buf; -1 if it does not fit. */
int cg_ref_text(int coll, const char *key, char *buf, size_t cap);
/* The collection number of a name, or -1. */
int cg_coll_of(const char *name);

/* ---- watching a tree (watch.c) ---------------------------------------------------- */

typedef struct cg_watch cg_watch;
/* Watches `root` and every directory below it (not dot-directories or CMake build trees)
 * for *.c and *.h files written (IN_CLOSE_WRITE), moved in (IN_MOVED_TO), deleted or moved
 * out; new directories are watched as they appear. NULL with a message on failure. */
cg_watch *cg_watch_open(const char *root, char *err, size_t errcap);
void cg_watch_close(cg_watch *w);
size_t cg_watch_dirs(const cg_watch *w);
/* Waits for changes (until *stop becomes non-zero: a signal interrupts the wait), then
 * collects the changed files for `settle_ms` more and returns them, deduplicated, as
 * relative paths in *rels (borrowed until the next call) and *n. 0, 1 if stopped, -1 on
 * error (message in err). */
int cg_watch_next(cg_watch *w, volatile sig_atomic_t *stop, int settle_ms,
                  const char *const **rels, size_t *n, char *err, size_t errcap);

#endif
