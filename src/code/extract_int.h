/*
 * extract_int.h — what extract.c (the parse and the cursor visitor) and xsym.c (symbols,
 * keys, signatures, types) share. Layer: code; the only files that see libclang's
 * cursors.
 *
 * Invariants of an extraction context:
 *  1. Only cursors whose expansion location is in the main file produce nodes or edges.
 *  2. `top` is the node of the top-level function definition or global variable whose
 *     subtree is being visited (preorder: every descendant of a top-level cursor comes
 *     before the next top-level cursor), or -1.
 *  3. `callee` is the function named by the last direct call whose callee expression
 *     has not been seen yet; the next DeclRefExpr is that callee (it is the call's first
 *     child) and clears it.
 */
#ifndef STELE_CODE_EXTRACT_INT_H
#define STELE_CODE_EXTRACT_INT_H

#include <clang-c/Index.h>

#include "code/code.h"

struct cg_parser {
    CXIndex index;
    char root[CG_PATH_MAX];
    size_t root_len;
};

/* Where a CXFile is: its path relative to the root (NULL if outside) and absolute. */
typedef struct xfile {
    const char *rel, *abs;
} xfile;

typedef struct xctx {
    cg_file *f;
    cg_parser *p;
    CXTranslationUnit tu;
    CXFile main;
    int is_header, guarded, macros_seen;
    int32_t top;
    int top_is_fn;
    CXCursor callee;
    int has_callee;
    int failed; /* out of memory or a limit: the visit stops */
    cg_umap file_at; /* CXFile → index in files */
    xfile *files;
    size_t nfiles, cap_files;
} xctx;

/* A symbol as described from its declaration: enough for a node or a reference. */
typedef struct xsym {
    int coll;
    int is_static; /* internal linkage (functions, globals) */
    const char *name, *base, *alt, *deffile, *declared_in, *kind;
    unsigned line, column, end_line;
    CXCursor where; /* the definition if it is visible, else the declaration */
} xsym;

/* xsym.c */
int x_file(xctx *x, CXFile file, xfile *out);                /* 0 or -1 (OOM) */
CXFile x_loc(CXCursor c, unsigned *line, unsigned *column);  /* expansion location */
/* Describes a function, variable, struct/union/enum, typedef or macro declaration.
 * 1 described, 0 not a symbol we keep (anonymous member, builtin), -1 OOM. */
int x_describe(xctx *x, CXCursor decl, xsym *out);
char *x_string(xctx *x, CXString s);                         /* arena copy; disposes s */
const char *x_signature(xctx *x, CXCursor c, int coll);      /* NULL if none or OOM */
const char *x_doc(xctx *x, CXCursor c);                      /* NULL if none or OOM */
const char *x_macro_text(xctx *x, CXCursor c, int *empty_body);

/* extract.c */
int x_add_node(xctx *x, const xsym *s, int32_t parent);       /* index, or -1 */
int x_add_ref(xctx *x, const xsym *s, const char *signature); /* index, or -1 */
int x_add_edge(xctx *x, int label, uint32_t from, uint32_t to, int to_node, unsigned line);
/* Edges USES_TYPE from node `from` to the typedefs and struct/union/enum types named by
 * type t (through pointers, arrays, qualifiers, function types). 0 or -1. */
int x_uses_types(xctx *x, uint32_t from, CXType t, unsigned line);

#endif
