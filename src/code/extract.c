/*
 * extract.c — parses one file with libclang and extracts its part of the code graph
 * (code.h): the nodes it defines, the edges that start in it, and references to the
 * symbols those edges reach. Layer: code (libclang, no Stele).
 *
 * The visitor is libclang's (clang_visitChildren with CXChildVisit_Recurse, preorder);
 * nothing here recurses. Context comes from the order of the visit (extract_int.h,
 * invariants 2 and 3). Errors go to the caller. A file with a fatal error (a missing
 * #include, too many errors) is not extracted at all, so that a file cut short never
 * replaces a good graph; after other errors the graph is what clang recovered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code/extract_int.h"

#define EDGE_INDEX_MAX (1u << 29) /* nodes and refs of one file: they pack into edge keys */

cg_parser *cg_parser_new(const char *root)
{
    size_t n = strlen(root);
    if (n == 0 || n >= CG_PATH_MAX) return NULL;
    cg_parser *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    memcpy(p->root, root, n + 1);
    while (n > 1 && p->root[n - 1] == '/') p->root[--n] = 0;
    p->root_len = n;
    p->index = clang_createIndex(0, 0);
    if (!p->index) {
        free(p);
        return NULL;
    }
    return p;
}

void cg_parser_free(cg_parser *p)
{
    if (!p) return;
    clang_disposeIndex(p->index);
    free(p);
}

void cg_file_free(cg_file *f)
{
    if (!f) return;
    free(f->nodes);
    free(f->refs);
    free(f->edges);
    cg_smap_release(&f->node_at);
    cg_smap_release(&f->ref_at);
    cg_umap_release(&f->edge_at);
    cg_arena_release(&f->arena);
    free(f);
}

/* ------------------------------------------------------------- building */

int x_add_node(xctx *x, const xsym *s, int32_t parent)
{
    cg_file *f = x->f;
    CG_ASSERT(s->coll >= 0 && s->coll < CG_NCOLL && s->base && s->name && s->kind);
    CG_ASSERT(parent < (int32_t)f->nnodes);
    const char *at = cg_arena_printf(&f->arena, "%s/%s", CG_COLL_NAME[s->coll], s->base);
    uint32_t old;
    if (!at || f->nnodes >= EDGE_INDEX_MAX ||
        cg_grow((void **)&f->nodes, &f->cap_nodes, f->nnodes + 1, sizeof *f->nodes) != 0) {
        x->failed = 1;
        return -1;
    }
    int r = cg_smap_put(&f->node_at, at, (uint32_t)f->nnodes, &old);
    if (r < 0) {
        x->failed = 1;
        return -1;
    }
    if (r == 1) return (int)old; /* defined twice in this file: the first one stays */
    cg_node *n = &f->nodes[f->nnodes];
    memset(n, 0, sizeof *n);
    n->coll = (uint8_t)s->coll;
    n->is_static = (uint8_t)s->is_static;
    n->parent = parent;
    n->base = s->base;
    n->alt = s->alt;
    n->name = s->name;
    n->kind = s->kind;
    n->line = s->line;
    n->column = s->column;
    n->end_line = s->end_line;
    return (int)f->nnodes++;
}

int x_add_ref(xctx *x, const xsym *s, const char *signature)
{
    cg_file *f = x->f;
    CG_ASSERT(s->coll >= 0 && s->coll < CG_NCOLL && s->base && s->name && s->kind);
    const char *at = cg_arena_printf(&f->arena, "%s/%s|%s", CG_COLL_NAME[s->coll], s->base,
                                     s->deffile ? s->deffile : "");
    uint32_t old;
    if (!at || f->nrefs >= EDGE_INDEX_MAX ||
        cg_grow((void **)&f->refs, &f->cap_refs, f->nrefs + 1, sizeof *f->refs) != 0) {
        x->failed = 1;
        return -1;
    }
    int r = cg_smap_put(&f->ref_at, at, (uint32_t)f->nrefs, &old);
    if (r != 0) {
        if (r < 0) x->failed = 1;
        return r < 0 ? -1 : (int)old;
    }
    cg_ref *ref = &f->refs[f->nrefs];
    memset(ref, 0, sizeof *ref);
    ref->coll = (uint8_t)s->coll;
    ref->base = s->base;
    ref->alt = s->alt;
    ref->deffile = s->deffile;
    ref->name = s->name;
    ref->kind = s->kind;
    ref->signature = signature;
    ref->declared_in = s->declared_in;
    return (int)f->nrefs++;
}

int x_add_edge(xctx *x, int label, uint32_t from, uint32_t to, int to_node, unsigned line)
{
    cg_file *f = x->f;
    CG_ASSERT(label >= 0 && label < CG_NLABEL && from < f->nnodes);
    CG_ASSERT(to < (to_node ? f->nnodes : f->nrefs));
    uint64_t key = (uint64_t)label << 60 | (uint64_t)(to_node != 0) << 59 |
                   (uint64_t)from << 29 | to;
    uint32_t old;
    if (cg_grow((void **)&f->edges, &f->cap_edges, f->nedges + 1, sizeof *f->edges) != 0) {
        x->failed = 1;
        return -1;
    }
    int r = cg_umap_put(&f->edge_at, key, (uint32_t)f->nedges, &old);
    if (r < 0) {
        x->failed = 1;
        return -1;
    }
    if (r == 1) { /* the same edge again: a repeated call counts */
        f->edges[old].count++;
        return 0;
    }
    cg_edge *e = &f->edges[f->nedges++];
    e->label = (uint8_t)label;
    e->to_node = (uint8_t)(to_node != 0);
    e->from = from;
    e->to = to;
    e->line = line;
    e->count = 1;
    return 0;
}

/* An edge from node `from` to the symbol declared by `decl` (if it is one we keep). */
static int edge_to_decl(xctx *x, int label, uint32_t from, CXCursor decl, unsigned line)
{
    xsym s;
    int r = x_describe(x, decl, &s);
    if (r <= 0) return r;
    const char *sig = s.coll == CG_MACRO ? NULL : x_signature(x, s.where, s.coll);
    int ref = x_add_ref(x, &s, sig);
    return ref < 0 ? -1 : x_add_edge(x, label, from, (uint32_t)ref, 0, line);
}

int x_uses_types(xctx *x, uint32_t from, CXType t, unsigned line)
{
    CXType work[CG_TYPE_WORK_MAX];
    size_t n = 0, steps = 0;
    work[n++] = t;
    while (n > 0 && steps++ < 4 * CG_TYPE_WORK_MAX) {
        CXType u = work[--n], next[2];
        int push = 0;
        switch (u.kind) {
        case CXType_Pointer:
        case CXType_BlockPointer: next[push++] = clang_getPointeeType(u); break;
        case CXType_ConstantArray:
        case CXType_IncompleteArray:
        case CXType_VariableArray:
        case CXType_DependentSizedArray: next[push++] = clang_getArrayElementType(u); break;
        case CXType_Elaborated: next[push++] = clang_Type_getNamedType(u); break;
        case CXType_Attributed: next[push++] = clang_Type_getModifiedType(u); break;
        case CXType_Atomic: next[push++] = clang_Type_getValueType(u); break;
        case CXType_Typedef:
        case CXType_Record:
        case CXType_Enum:
            if (edge_to_decl(x, CG_USES_TYPE, from, clang_getTypeDeclaration(u), line) < 0)
                return -1;
            break;
        case CXType_FunctionProto:
        case CXType_FunctionNoProto: {
            int nargs = clang_getNumArgTypes(u);
            for (int i = nargs - 1; i >= 0 && n < CG_TYPE_WORK_MAX; i--)
                work[n++] = clang_getArgType(u, (unsigned)i);
            next[push++] = clang_getResultType(u);
            break;
        }
        default: break;
        }
        for (int i = 0; i < push && n < CG_TYPE_WORK_MAX; i++) work[n++] = next[i];
    }
    return 0;
}

/* ------------------------------------------------------------- the visit */

/* A node for the declaration c (defined here) with its signature and doc comment. */
static int node_here(xctx *x, CXCursor c, int32_t parent, xsym *s)
{
    int r = x_describe(x, c, s);
    if (r <= 0) return -1;
    int before = (int)x->f->nnodes, i = x_add_node(x, s, parent);
    if (i < 0 || i < before) return i; /* a second definition in this file adds nothing */
    cg_node *n = &x->f->nodes[i];
    n->doc = x_doc(x, c);
    if (s->coll != CG_MACRO) n->signature = x_signature(x, c, s->coll);
    return x->failed ? -1 : i;
}

static enum CXChildVisitResult on_function(xctx *x, CXCursor c, int top)
{
    if (!top || !clang_isCursorDefinition(c)) return CXChildVisit_Continue;
    xsym s;
    int i = node_here(x, c, -1, &s);
    if (i < 0) return CXChildVisit_Continue;
    if (x_uses_types(x, (uint32_t)i, clang_getCursorType(c), s.line) < 0) return CXChildVisit_Break;
    x->top = i;
    x->top_is_fn = 1;
    return CXChildVisit_Recurse;
}

static enum CXChildVisitResult on_var(xctx *x, CXCursor c, int top)
{
    unsigned line;
    x_loc(c, &line, NULL);
    if (!top) { /* a local: its type counts for the function */
        if (x->top >= 0 && x->top_is_fn &&
            x_uses_types(x, (uint32_t)x->top, clang_getCursorType(c), line) < 0)
            return CXChildVisit_Break;
        return CXChildVisit_Recurse;
    }
    if (clang_Cursor_getStorageClass(c) == CX_SC_Extern && !clang_isCursorDefinition(c))
        return CXChildVisit_Continue; /* a declaration of a global defined elsewhere */
    xsym s;
    int i = node_here(x, c, -1, &s);
    if (i < 0) return CXChildVisit_Continue;
    if (x_uses_types(x, (uint32_t)i, clang_getCursorType(c), line) < 0) return CXChildVisit_Break;
    x->top = i;
    x->top_is_fn = 0;
    return CXChildVisit_Recurse; /* the initializer may take functions' addresses */
}

static enum CXChildVisitResult on_record(xctx *x, CXCursor c)
{
    if (!clang_isCursorDefinition(c)) return CXChildVisit_Continue;
    if (clang_Cursor_isAnonymousRecordDecl(c)) return CXChildVisit_Recurse; /* fields: parent's */
    xsym s;
    node_here(x, c, -1, &s);
    return x->failed ? CXChildVisit_Break : CXChildVisit_Recurse;
}

/* The node of the named struct/union that owns field c (through anonymous members). */
static int field_owner(xctx *x, CXCursor c)
{
    CXCursor p = clang_getCursorSemanticParent(c);
    for (int i = 0; i < CG_PARENT_STEPS_MAX && clang_Cursor_isAnonymousRecordDecl(p); i++)
        p = clang_getCursorSemanticParent(p);
    xsym s;
    if (x_describe(x, p, &s) <= 0 || s.coll != CG_TYPE) return -1;
    char at[CG_KEY_MAX + 16];
    uint32_t i;
    if (snprintf(at, sizeof at, "type/%s", s.base) >= (int)sizeof at ||
        !cg_smap_get(&x->f->node_at, at, &i))
        return -1;
    return (int)i;
}

static enum CXChildVisitResult on_field(xctx *x, CXCursor c)
{
    int owner = field_owner(x, c);
    if (owner < 0) return CXChildVisit_Continue;
    cg_node *o = &x->f->nodes[owner];
    cg_arena *a = &x->f->arena;
    xsym s;
    memset(&s, 0, sizeof s);
    s.coll = CG_FIELD;
    s.kind = "field";
    s.name = x_string(x, clang_getCursorSpelling(c));
    if (!s.name || !s.name[0]) return CXChildVisit_Continue;
    s.base = cg_key_fit(a, cg_arena_printf(a, "%s.%s", o->base, s.name));
    s.alt = o->alt ? cg_key_fit(a, cg_arena_printf(a, "%s.%s", o->alt, s.name)) : NULL;
    x_loc(c, &s.line, &s.column);
    clang_getExpansionLocation(clang_getRangeEnd(clang_getCursorExtent(c)), NULL, &s.end_line,
                               NULL, NULL);
    if (!s.base || (o->alt && !s.alt)) return CXChildVisit_Break;
    int before = (int)x->f->nnodes, i = x_add_node(x, &s, owner);
    if (i < 0) return CXChildVisit_Break;
    if (i < before) return CXChildVisit_Continue;
    x->f->nodes[i].doc = x_doc(x, c);
    x->f->nodes[i].signature = x_signature(x, c, CG_FIELD);
    if (x_add_edge(x, CG_HAS_FIELD, (uint32_t)owner, (uint32_t)i, 1, s.line) < 0 ||
        x_uses_types(x, (uint32_t)i, clang_getCursorType(c), s.line) < 0)
        return CXChildVisit_Break;
    return CXChildVisit_Continue; /* an unnamed struct here was visited under its parent */
}

static enum CXChildVisitResult on_typedef(xctx *x, CXCursor c)
{
    xsym s;
    int i = node_here(x, c, -1, &s);
    if (i >= 0 && x_uses_types(x, (uint32_t)i, clang_getTypedefDeclUnderlyingType(c), s.line) < 0)
        return CXChildVisit_Break;
    return x->failed ? CXChildVisit_Break : CXChildVisit_Continue;
}

static void on_macro(xctx *x, CXCursor c)
{
    if (clang_Cursor_isMacroBuiltin(c)) return;
    int empty = 0;
    const char *text = x_macro_text(x, c, &empty);
    int function_like = (int)clang_Cursor_isMacroFunctionLike(c);
    int guard = x->is_header && x->guarded && x->macros_seen == 0 && !function_like && empty;
    x->macros_seen++;
    if (guard) return; /* the include guard of a header is not a symbol */
    xsym s;
    int i = node_here(x, c, -1, &s);
    if (i < 0) return;
    x->f->nodes[i].signature = text;
    x->f->nodes[i].function_like = (uint8_t)function_like;
}

static void on_include(xctx *x, CXCursor c)
{
    CXFile inc = clang_getIncludedFile(c);
    xfile xf;
    if (!inc || x_file(x, inc, &xf) != 0) return;
    xsym s;
    memset(&s, 0, sizeof s);
    s.coll = CG_FILE;
    const char *path = xf.rel ? xf.rel : xf.abs;
    const char *slash = strrchr(path, '/');
    s.name = slash ? slash + 1 : path;
    s.kind = strlen(path) > 2 && strcmp(path + strlen(path) - 2, ".c") == 0 ? "source" : "header";
    s.base = cg_key_fit(&x->f->arena, path);
    s.deffile = xf.rel;
    s.declared_in = path;
    x_loc(c, &s.line, NULL);
    int ref = s.base ? x_add_ref(x, &s, NULL) : -1;
    if (ref < 0 || x_add_edge(x, CG_INCLUDES, 0, (uint32_t)ref, 0, s.line) < 0) x->failed = 1;
}

static void on_call(xctx *x, CXCursor c)
{
    CXCursor fn = clang_getCursorReferenced(c);
    x->has_callee = clang_getCursorKind(fn) == CXCursor_FunctionDecl;
    if (!x->has_callee) return;
    x->callee = clang_getCanonicalCursor(fn);
    unsigned line;
    x_loc(c, &line, NULL);
    if (x->top >= 0 && x->top_is_fn &&
        edge_to_decl(x, CG_CALLS, (uint32_t)x->top, fn, line) < 0)
        x->failed = 1;
}

static void on_declref(xctx *x, CXCursor c)
{
    CXCursor fn = clang_getCursorReferenced(c);
    int callee = x->has_callee && clang_equalCursors(clang_getCanonicalCursor(fn), x->callee);
    x->has_callee = 0;
    if (callee || clang_getCursorKind(fn) != CXCursor_FunctionDecl || x->top < 0) return;
    unsigned line;
    x_loc(c, &line, NULL);
    if (edge_to_decl(x, CG_REFERENCES, (uint32_t)x->top, fn, line) < 0) x->failed = 1;
}

static enum CXChildVisitResult visit(CXCursor c, CXCursor parent, CXClientData data)
{
    xctx *x = data;
    if (x->failed) return CXChildVisit_Break;
    int top = clang_getCursorKind(parent) == CXCursor_TranslationUnit;
    if (top && clang_isDeclaration(clang_getCursorKind(c))) x->top = -1; /* a new context */
    if (!clang_Location_isFromMainFile(clang_getCursorLocation(c))) return CXChildVisit_Continue;
    switch (clang_getCursorKind(c)) {
    case CXCursor_InclusionDirective: on_include(x, c); return CXChildVisit_Continue;
    case CXCursor_MacroDefinition: on_macro(x, c); return CXChildVisit_Continue;
    case CXCursor_FunctionDecl: return on_function(x, c, top);
    case CXCursor_VarDecl: return on_var(x, c, top);
    case CXCursor_StructDecl:
    case CXCursor_UnionDecl:
    case CXCursor_EnumDecl: return on_record(x, c);
    case CXCursor_FieldDecl: return on_field(x, c);
    case CXCursor_TypedefDecl: return on_typedef(x, c);
    case CXCursor_CallExpr: on_call(x, c); break;
    case CXCursor_DeclRefExpr: on_declref(x, c); break;
    default: break;
    }
    return x->failed ? CXChildVisit_Break : CXChildVisit_Recurse;
}

/* ------------------------------------------------------------- the parse */

/* Reports the errors of a translation unit: *errors gets how many there are; returns
 * 1 if one of them is fatal. */
static int report_errors(xctx *x, const char *rel, cg_diag_fn diag, void *ctx,
                         unsigned *errors)
{
    unsigned n = clang_getNumDiagnostics(x->tu);
    int fatal = 0;
    *errors = 0;
    for (unsigned i = 0; i < n; i++) {
        CXDiagnostic d = clang_getDiagnostic(x->tu, i);
        enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);
        if (sev >= CXDiagnostic_Error && ++*errors <= CG_DIAG_SHOWN) {
            CXFile file = NULL;
            unsigned line = 0;
            clang_getExpansionLocation(clang_getDiagnosticLocation(d), &file, &line, NULL, NULL);
            xfile xf = {NULL, NULL};
            if (file && x_file(x, file, &xf) != 0) xf.abs = NULL;
            CXString msg = clang_getDiagnosticSpelling(d);
            diag(ctx, xf.rel ? xf.rel : xf.abs ? xf.abs : rel, line, sev == CXDiagnostic_Fatal,
                 clang_getCString(msg));
            clang_disposeString(msg);
        }
        fatal |= sev == CXDiagnostic_Fatal;
        clang_disposeDiagnostic(d);
    }
    if (*errors > CG_DIAG_SHOWN) {
        char more[64];
        snprintf(more, sizeof more, "%u more errors", *errors - CG_DIAG_SHOWN);
        diag(ctx, rel, 0, 0, more);
    }
    return fatal;
}

/* The file node (nodes[0]) and the line count. */
static int file_node(xctx *x, const char *rel)
{
    cg_file *f = x->f;
    size_t size = 0;
    const char *src = clang_getFileContents(x->tu, x->main, &size);
    uint32_t lines = 0;
    for (size_t i = 0; src && i < size; i++) lines += src[i] == '\n';
    if (size && src && src[size - 1] != '\n') lines++;
    f->lines = lines;
    xsym s;
    memset(&s, 0, sizeof s);
    s.coll = CG_FILE;
    const char *slash = strrchr(rel, '/');
    s.name = slash ? slash + 1 : rel;
    s.kind = x->is_header ? "header" : "source";
    s.base = cg_key_fit(&f->arena, rel);
    s.line = 1;
    s.column = 1;
    s.end_line = lines ? lines : 1;
    return s.base && x_add_node(x, &s, -1) == 0 ? 0 : -1;
}

static void defines_edges(xctx *x)
{
    for (size_t i = 1; i < x->f->nnodes && !x->failed; i++)
        x_add_edge(x, CG_DEFINES, 0, (uint32_t)i, 1, x->f->nodes[i].line);
}

static int parse(xctx *x, const char *abs, const char *const *args, int nargs,
                 cg_diag_fn diag, void *ctx)
{
    unsigned opts = CXTranslationUnit_DetailedPreprocessingRecord |
                    CXTranslationUnit_IgnoreNonErrorsFromIncludedFiles;
    enum CXErrorCode e = clang_parseTranslationUnit2(x->p->index, abs, args, nargs, NULL, 0,
                                                     opts, &x->tu);
    if (e != CXError_Success) {
        char msg[96];
        snprintf(msg, sizeof msg, "libclang could not parse the file (error %d)", (int)e);
        diag(ctx, x->f->rel, 0, 1, msg);
        return 1;
    }
    x->main = clang_getFile(x->tu, abs);
    if (!x->main) {
        diag(ctx, x->f->rel, 0, 1, "libclang lost the file it parsed");
        return 1;
    }
    unsigned errors;
    int fatal = report_errors(x, x->f->rel, diag, ctx, &errors);
    x->f->errors = errors;
    return fatal;
}

int cg_extract(cg_parser *p, const char *abs, const char *rel, const char *const *args,
               int nargs, cg_diag_fn diag, void *ctx, cg_file **out)
{
    *out = NULL;
    cg_file *f = calloc(1, sizeof *f);
    if (!f) return -1;
    cg_arena_init(&f->arena);
    xctx x;
    memset(&x, 0, sizeof x);
    x.f = f;
    x.p = p;
    x.top = -1;
    size_t rl = strlen(rel);
    x.is_header = !(rl > 2 && strcmp(rel + rl - 2, ".c") == 0);
    f->rel = cg_arena_strdup(&f->arena, rel);
    int rc = f->rel ? parse(&x, abs, args, nargs, diag, ctx) : -1;
    if (rc == 0) {
        x.guarded = x.is_header && clang_isFileMultipleIncludeGuarded(x.tu, x.main);
        if (file_node(&x, rel) != 0) x.failed = 1;
        if (!x.failed) clang_visitChildren(clang_getTranslationUnitCursor(x.tu), visit, &x);
        defines_edges(&x);
        if (x.failed) rc = -1;
    }
    if (x.tu) clang_disposeTranslationUnit(x.tu);
    free(x.files);
    cg_umap_release(&x.file_at);
    if (rc != 0) {
        if (rc < 0) diag(ctx, rel, 0, 1, "out of memory extracting the file");
        cg_file_free(f);
        return rc;
    }
    *out = f;
    return 0;
}
