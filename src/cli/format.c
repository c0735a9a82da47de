/*
 * format.c — `--format json|table` for the commands that print documents or lists.
 * Layer: cli (jansson only to read the library's JSON back for display).
 *
 * A table has one row per document (NDJSON line or array element), one column per
 * top-level field: "_id" first, then the others in first-seen order; a header line,
 * a separator line, then the rows, columns padded to the widest cell. Strings print
 * without quotes (control characters as spaces), other values as compact JSON; a cell
 * wider than TABLE_CELL_MAX characters is cut and ends with '…'. Widths count UTF-8
 * characters, not terminal cells (wide CJK characters take two).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TABLE_CELL_MAX 40u   /* characters shown of one cell */
#define TABLE_COLUMNS_MAX 256u

typedef struct table {
    json_t *rows;                    /* array of the rows (objects, or other values) */
    const char *col[TABLE_COLUMNS_MAX];
    size_t ncol;
    size_t width[TABLE_COLUMNS_MAX];
} table;

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* The text of one cell, cut to TABLE_CELL_MAX characters; caller frees. */
static char *cell_text(json_t *v)
{
    char *t = json_is_string(v) ? strdup(json_string_value(v))
              : v              ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)
                               : strdup("");
    if (!t) return NULL;
    size_t n = strlen(t), chars = 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)t[i] < 0x20) t[i] = ' ';
        if (((unsigned char)t[i] & 0xC0) == 0x80) continue;
        if (++chars == TABLE_CELL_MAX && utf8_chars(t + i, n - i) > 1) {
            char *g = realloc(t, n + 4);
            if (!g) break;
            t = g;
            memcpy(t + i, "\xE2\x80\xA6", 4); /* '…' and the NUL */
            break;
        }
    }
    return t;
}

static void add_column(table *t, const char *name)
{
    for (size_t i = 0; i < t->ncol; i++)
        if (strcmp(t->col[i], name) == 0) return;
    if (t->ncol < TABLE_COLUMNS_MAX) t->col[t->ncol++] = name;
}

/* Reads NDJSON or one JSON value (an array: its elements) into t->rows. */
static int table_read(table *t, const char *text)
{
    t->rows = json_array();
    const char *p = text + strspn(text, " \t\r\n");
    if (*p == '[') {
        json_t *a = json_loads(p, 0, NULL);
        if (!json_is_array(a)) return json_decref(a), -1;
        json_decref(t->rows);
        t->rows = a;
        return 0;
    }
    while (*p) {
        size_t n = strcspn(p, "\n");
        json_t *row = n ? json_loadb(p, n, 0, NULL) : NULL;
        if (n && !row) return -1;
        if (row) json_array_append_new(t->rows, row);
        p += n + (p[n] == '\n');
    }
    return 0;
}

static void table_columns(table *t)
{
    size_t i;
    json_t *row;
    json_array_foreach(t->rows, i, row) if (json_object_get(row, "_id")) add_column(t, "_id");
    json_array_foreach(t->rows, i, row) {
        const char *k;
        json_t *v;
        if (!json_is_object(row)) add_column(t, "value");
        json_object_foreach(row, k, v) add_column(t, k);
    }
}

static json_t *table_cell(json_t *row, const char *col)
{
    return json_is_object(row) ? json_object_get(row, col)
           : strcmp(col, "value") == 0 ? row : NULL;
}

static void print_padded(const char *s, size_t width, int last)
{
    fputs(s, stdout);
    if (last) return;
    for (size_t k = utf8_chars(s, strlen(s)); k < width + 2; k++) putchar(' ');
}

static int table_print(table *t)
{
    size_t nrows = json_array_size(t->rows);
    char **cells = calloc(nrows * t->ncol + 1, sizeof *cells);
    if (!cells) return EXIT_ERR;
    for (size_t c = 0; c < t->ncol; c++) t->width[c] = utf8_chars(t->col[c], strlen(t->col[c]));
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < t->ncol; c++) {
            char *s = cell_text(table_cell(json_array_get(t->rows, r), t->col[c]));
            cells[r * t->ncol + c] = s;
            size_t w = s ? utf8_chars(s, strlen(s)) : 0;
            if (w > t->width[c]) t->width[c] = w;
        }
    for (size_t c = 0; c < t->ncol; c++) print_padded(t->col[c], t->width[c], c + 1 == t->ncol);
    putchar('\n');
    for (size_t c = 0; c < t->ncol; c++) {
        for (size_t k = 0; k < t->width[c]; k++) putchar('-');
        if (c + 1 < t->ncol) fputs("  ", stdout);
    }
    putchar('\n');
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < t->ncol; c++) {
            const char *s = cells[r * t->ncol + c];
            print_padded(s ? s : "", t->width[c], c + 1 == t->ncol);
        }
        putchar('\n');
    }
    for (size_t i = 0; i < nrows * t->ncol; i++) free(cells[i]);
    free(cells);
    return 0;
}

static void print_json(const char *text, int pretty)
{
    json_t *j = pretty ? json_loads(text, 0, NULL) : NULL;
    /* 15 digits: jansson's default 17 turns 1.33333 into 1.3333299999999999 */
    char *t = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
                : NULL;
    const char *out = t ? t : text;
    size_t n = strlen(out);
    fputs(out, stdout);
    if (n && out[n - 1] != '\n') putchar('\n');
    free(t);
    json_decref(j);
}

int cli_print(const char *format, const char *text, int pretty)
{
    if (!format || strcmp(format, "json") == 0) {
        print_json(text, pretty);
        return 0;
    }
    if (strcmp(format, "table") != 0) {
        say("unknown --format '%s' (use json or table)", format);
        return EXIT_USAGE;
    }
    table t;
    memset(&t, 0, sizeof t);
    int rc = table_read(&t, text);
    if (rc != 0) say("cannot show this output as a table (it is not JSON)");
    else if (json_array_size(t.rows)) {
        table_columns(&t);
        rc = table_print(&t);
    }
    json_decref(t.rows);
    return rc ? EXIT_ERR : 0;
}
