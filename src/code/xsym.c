/*
 * xsym.c — symbols as libclang shows them, turned into what the graph needs: where a
 * declaration is (relative to the root), its name and keys (code.h, "Keys"), its
 * signature, its doc comment, a macro's text. Layer: code (libclang, no Stele).
 *
 * Keys are computed from the declaration alone, so the same symbol gets the same key
 * from every file that names it: the definition's file decides "relpath:name" keys, and
 * a symbol whose definition this translation unit cannot see (an extern function, an
 * opaque struct) gets its plain name, which graph.c resolves.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "code/extract_int.h"

/* A bounded string builder over a caller's buffer (always NUL-terminated). */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->n + 1 >= b->cap) return;
    size_t room = b->cap - 1 - b->n;
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* UTF-8 boundary */
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Appends a CXString and disposes it. */
static void sb_cx(sbuf *b, CXString s)
{
    const char *c = clang_getCString(s);
    if (c) sb_str(b, c);
    clang_disposeString(s);
}

char *x_string(xctx *x, CXString s)
{
    const char *c = clang_getCString(s);
    char *r = cg_arena_strdup(&x->f->arena, c ? c : "");
    clang_disposeString(s);
    if (!r) x->failed = 1;
    return r;
}

CXFile x_loc(CXCursor c, unsigned *line, unsigned *column)
{
    CXFile file = NULL;
    unsigned l = 0, col = 0;
    clang_getExpansionLocation(clang_getCursorLocation(c), &file, &l, &col, NULL);
    if (line) *line = l;
    if (column) *column = col;
    return file;
}

/* The real path of a file as libclang knows it, into buf. */
static void real_path(CXFile file, char *buf, size_t cap)
{
    CXString s = clang_File_tryGetRealPathName(file);
    const char *c = clang_getCString(s);
    buf[0] = 0;
    if (c && c[0] == '/' && strlen(c) < cap) strcpy(buf, c);
    clang_disposeString(s);
    if (buf[0]) return;
    s = clang_getFileName(file);
    c = clang_getCString(s);
    char tmp[PATH_MAX];
    if (c && realpath(c, tmp) && strlen(tmp) < cap) strcpy(buf, tmp);
    else if (c && strlen(c) < cap) strcpy(buf, c);
    clang_disposeString(s);
}

int x_file(xctx *x, CXFile file, xfile *out)
{
    uint32_t at;
    uint64_t key = (uint64_t)(uintptr_t)file;
    if (cg_umap_get(&x->file_at, key, &at)) {
        *out = x->files[at];
        return 0;
    }
    char path[CG_PATH_MAX];
    real_path(file, path, sizeof path);
    if (cg_grow((void **)&x->files, &x->cap_files, x->nfiles + 1, sizeof *x->files) != 0)
        return -1;
    xfile xf = {NULL, cg_arena_strdup(&x->f->arena, path)};
    if (!xf.abs) return -1;
    size_t rl = x->p->root_len;
    if (strncmp(path, x->p->root, rl) == 0 && path[rl] == '/' && path[rl + 1])
        xf.rel = xf.abs + rl + 1;
    x->files[x->nfiles] = xf;
    if (cg_umap_put(&x->file_at, key, (uint32_t)x->nfiles, NULL) < 0) return -1;
    x->nfiles++;
    *out = xf;
    return 0;
}

static int is_c_file(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n > 2 && strcmp(path + n - 2, ".c") == 0;
}

static int is_ident(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

/* Collection and kind of a declaration cursor; 0 if it is not a symbol we keep. */
static int sym_kind(enum CXCursorKind k, int *coll, const char **kind)
{
    switch (k) {
    case CXCursor_FunctionDecl: *coll = CG_FUNCTION; *kind = "function"; return 1;
    case CXCursor_VarDecl: *coll = CG_GLOBAL; *kind = "variable"; return 1;
    case CXCursor_StructDecl: *coll = CG_TYPE; *kind = "struct"; return 1;
    case CXCursor_UnionDecl: *coll = CG_TYPE; *kind = "union"; return 1;
    case CXCursor_EnumDecl: *coll = CG_TYPE; *kind = "enum"; return 1;
    case CXCursor_TypedefDecl: *coll = CG_TYPEDEF; *kind = "typedef"; return 1;
    case CXCursor_MacroDefinition: *coll = CG_MACRO; *kind = "macro"; return 1;
    default: return 0;
    }
}

/* The definition of decl if this translation unit has it (a tentative definition of a
 * global counts: `int x;` at file scope defines x); else a null cursor. */
static CXCursor definition_of(CXCursor decl, int coll)
{
    if (coll == CG_TYPEDEF || coll == CG_MACRO) return decl;
    CXCursor def = clang_getCursorDefinition(decl);
    if (clang_Cursor_isNull(def) && coll == CG_GLOBAL &&
        clang_Cursor_getStorageClass(decl) != CX_SC_Extern &&
        clang_getCursorKind(clang_getCursorSemanticParent(decl)) == CXCursor_TranslationUnit)
        def = decl;
    return def;
}

/* Name and keys of s (s->where, coll, kind, line, column and declared_in set). */
static int sym_keys(xctx *x, xsym *s, const char *deffile)
{
    cg_arena *a = &x->f->arena;
    const char *path = s->declared_in ? s->declared_in : "<builtin>";
    int local = s->coll == CG_FUNCTION || s->coll == CG_GLOBAL ? s->is_static : is_c_file(path);
    s->name = x_string(x, clang_getCursorSpelling(s->where));
    if (!s->name) return -1;
    if (!s->name[0] && s->coll == CG_TYPE) {
        const char *ts = x_string(x, clang_getTypeSpelling(clang_getCursorType(s->where)));
        if (!ts) return -1;
        if (is_ident(ts)) { /* typedef struct { ... } name: the typedef names it */
            s->name = ts;
        } else {
            s->name = cg_arena_printf(a, "(unnamed %s)", s->kind);
            s->base = cg_arena_printf(a, "%s:(unnamed %s at %u:%u)", path, s->kind, s->line,
                                      s->column);
            local = 1;
            if (!s->name || !s->base) return -1;
        }
    }
    if (!s->name[0]) return 0;
    if (!s->base) s->base = local ? cg_arena_printf(a, "%s:%s", path, s->name) : s->name;
    s->deffile = deffile;
    if (!local && deffile) s->alt = cg_arena_printf(a, "%s:%s", deffile, s->name);
    if (!s->base || (!local && deffile && !s->alt)) return -1;
    s->base = cg_key_fit(a, s->base);
    if (s->alt) s->alt = cg_key_fit(a, s->alt);
    return s->base && (!local && deffile ? s->alt != NULL : 1) ? 1 : -1;
}

int x_describe(xctx *x, CXCursor decl, xsym *s)
{
    memset(s, 0, sizeof *s);
    if (!sym_kind(clang_getCursorKind(decl), &s->coll, &s->kind)) return 0;
    if (s->coll == CG_MACRO && clang_Cursor_isMacroBuiltin(decl)) return 0;
    CXCursor def = definition_of(decl, s->coll);
    int has_def = !clang_Cursor_isNull(def);
    if (s->coll == CG_TYPE && has_def && clang_Cursor_isAnonymousRecordDecl(def)) return 0;
    s->where = has_def ? def : decl;
    if (s->coll == CG_FUNCTION || s->coll == CG_GLOBAL)
        s->is_static = clang_getCursorLinkage(s->where) == CXLinkage_Internal;
    CXFile file = x_loc(s->where, &s->line, &s->column);
    if (!file) return 0; /* builtins and implicit declarations without a place */
    xfile xf;
    if (x_file(x, file, &xf) != 0) return -1;
    s->declared_in = xf.rel ? xf.rel : xf.abs;
    unsigned end_line = 0;
    clang_getExpansionLocation(clang_getRangeEnd(clang_getCursorExtent(s->where)), NULL,
                               &end_line, NULL, NULL);
    s->end_line = end_line ? end_line : s->line;
    return sym_keys(x, s, has_def ? xf.rel : NULL);
}

/* ------------------------------------------------------------- signatures */

/* "int f(const char *s, int n)" from a function declaration. */
static void fn_prototype(CXCursor c, sbuf *b)
{
    CXType t = clang_getCursorType(c);
    sb_cx(b, clang_getTypeSpelling(clang_getResultType(t)));
    sb_str(b, " ");
    sb_cx(b, clang_getCursorSpelling(c));
    sb_str(b, "(");
    int n = clang_Cursor_getNumArguments(c);
    for (int i = 0; i < n; i++) {
        CXCursor arg = clang_Cursor_getArgument(c, (unsigned)i);
        if (i) sb_str(b, ", ");
        size_t before = b->n;
        sb_cx(b, clang_getTypeSpelling(clang_getCursorType(arg)));
        CXString name = clang_getCursorSpelling(arg);
        const char *nm = clang_getCString(name);
        if (nm && nm[0]) {
            if (b->n > before && b->p[b->n - 1] != '*') sb_str(b, " ");
            sb_str(b, nm);
        }
        clang_disposeString(name);
    }
    if (t.kind == CXType_FunctionProto && clang_isFunctionTypeVariadic(t))
        sb_str(b, n > 0 ? ", ..." : "...");
    else if (n <= 0 && t.kind == CXType_FunctionProto)
        sb_str(b, "void");
    sb_str(b, ")");
}

const char *x_signature(xctx *x, CXCursor c, int coll)
{
    char buf[CG_SIGNATURE_MAX + 1];
    sbuf b = {buf, 0, sizeof buf};
    buf[0] = 0;
    if (coll == CG_FUNCTION) fn_prototype(c, &b);
    else if (coll == CG_TYPEDEF)
        sb_cx(&b, clang_getTypeSpelling(clang_getTypedefDeclUnderlyingType(c)));
    else sb_cx(&b, clang_getTypeSpelling(clang_getCursorType(c)));
    if (!buf[0]) return NULL;
    char *r = cg_arena_strdup(&x->f->arena, buf);
    if (!r) x->failed = 1;
    return r;
}

const char *x_doc(xctx *x, CXCursor c)
{
    CXString s = clang_Cursor_getRawCommentText(c);
    const char *t = clang_getCString(s);
    char *r = NULL;
    if (t && t[0]) {
        char buf[CG_DOC_MAX + 1];
        sbuf b = {buf, 0, sizeof buf};
        buf[0] = 0;
        sb_str(&b, t);
        r = cg_arena_strdup(&x->f->arena, buf);
        if (!r) x->failed = 1;
    }
    clang_disposeString(s);
    return r;
}

/* ------------------------------------------------------------------ macros */

/* Copies src[0, n) into b with backslash-newlines and runs of white space made one
 * space, trimmed. */
static void squeeze(sbuf *b, const char *src, size_t n)
{
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = src[i];
        if (ch == '\\' && i + 1 < n && (src[i + 1] == '\n' || src[i + 1] == '\r')) ch = ' ';
        if (isspace((unsigned char)ch)) {
            space = b->n > 0;
            continue;
        }
        if (space) sb_add(b, " ", 1);
        space = 0;
        sb_add(b, &ch, 1);
    }
}

/* The rest of a macro definition after its name and (if function-like) its parameter
 * list: "" when the body is empty. */
static const char *macro_body(const char *text, size_t name_len, int function_like)
{
    const char *p = text + name_len;
    if (function_like && *p == '(') {
        const char *close = strchr(p, ')');
        p = close ? close + 1 : p + strlen(p);
    }
    while (*p == ' ') p++;
    return p;
}

const char *x_macro_text(xctx *x, CXCursor c, int *empty_body)
{
    CXSourceRange r = clang_getCursorExtent(c);
    CXFile f1 = NULL, f2 = NULL;
    unsigned o1 = 0, o2 = 0;
    clang_getExpansionLocation(clang_getRangeStart(r), &f1, NULL, NULL, &o1);
    clang_getExpansionLocation(clang_getRangeEnd(r), &f2, NULL, NULL, &o2);
    size_t size = 0;
    const char *src = f1 ? clang_getFileContents(x->tu, f1, &size) : NULL;
    *empty_body = 0;
    if (!src || f1 != f2 || o2 < o1 || o2 > size) return NULL;
    char buf[CG_SIGNATURE_MAX + 1];
    sbuf b = {buf, 0, sizeof buf};
    buf[0] = 0;
    squeeze(&b, src + o1, o2 - o1);
    CXString name = clang_getCursorSpelling(c);
    const char *nm = clang_getCString(name);
    size_t nl = nm ? strlen(nm) : 0;
    if (nl && strncmp(buf, nm, nl) == 0)
        *empty_body = !*macro_body(buf, nl, (int)clang_Cursor_isMacroFunctionLike(c));
    clang_disposeString(name);
    char *t = cg_arena_strdup(&x->f->arena, buf);
    if (!t) x->failed = 1;
    return t;
}
