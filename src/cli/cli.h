/*
 * cli.h — what the files of the `stele` command share. Layer: cli (uses only
 * include/stele.h and jansson). main.c parses options and dispatches; io_cmd.c holds
 * import and export with their progress bar; format.c prints library output as JSON
 * or as a table (--format); code_cmd.c runs the C code indexer (src/code/).
 */
#ifndef STELE_CLI_H
#define STELE_CLI_H

#include <stdint.h>

#include "stele.h"

#define EXIT_ERR 1
#define EXIT_USAGE 2
#define EXIT_PASSWORD 3
#define EXIT_LOCKED 4
#define EXIT_CORRUPT 5
#define EXIT_STATE 6
#define EXIT_BACKOFF 7
#define EXIT_ACCESS 8
#define EXIT_UNTRUSTED 9

/* main.c: an error line "stele: ..." on stderr; the exit code of a status. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int exit_code(stele_status rc);

/* settings_cmd.c: `stele settings show|verify|sign FILE|trust KEY` (pos[0] "settings"). */
typedef struct cli_settings_args {
    const char *store, *user;
    const char *pos[8];
    int npos;
    uint64_t version; /* --settings-version; 0 = next */
} cli_settings_args;
int cli_settings(const cli_settings_args *a);

/* format.c: prints `text` (NDJSON, a JSON array or one JSON value, as the library
 * returns it) for --format: NULL or "json" as it is (pretty-printed if `pretty`),
 * "table" as aligned columns. Returns 0 or EXIT_USAGE for an unknown format. */
int cli_print(const char *format, const char *text, int pretty);

/* io_cmd.c: the import/export format from --format (if given) or the file's
 * extension (.ndjson .jsonl .json .csv); export defaults to NDJSON. 0 or EXIT_USAGE. */
int cli_io_format(const char *path, const char *flag, int for_export, stele_io_format *out);
/* `stele import COLL FILE|-` on an open writable handle; returns an exit code. */
int cli_import(stele *db, const char *coll, const char *path, stele_io_format fmt,
               const char *idem_id);
/* Reads a whole file (or stdin for "-"), at most 1 GiB, NUL-terminated (*len excludes the
 * NUL): 0 or an exit code (said). */
int cli_read_all(const char *path, char **out, size_t *len);
/* The same for data[0, len) already in memory (freed here); name is for messages. */
int cli_import_buf(stele *db, const char *coll, const char *name, char *data, size_t len,
                   stele_io_format fmt, const char *idem_id);
/* `stele global import FILE|- [--replace [--cascade]]` (stele_global_import, or with
 * replace stele_global_refresh) on an open handle of the primary database: the report
 * on stdout, its counts in one line on stderr; returns an exit code. */
int cli_global_import(stele *db, const char *path, int replace, int cascade);
/* graph_io.c: `stele graph import FILE` (TSV or NDJSON of nodes and edges, or triples)
 * and `stele graph triples` (export). Exit codes. */
int cli_graph_import(stele *db, const char *path, const char *format);
int cli_graph_triples(stele *db, const char *output, uint64_t as_of);
/* `stele export COLL` to stdout or `output`; returns an exit code. */
int cli_export(stele *db, const char *coll, stele_io_format fmt, const char *output,
               uint64_t as_of);

/* graph_cmd.c: `stele graph SUB ...` on an open handle (pos[0] is SUB). */
typedef struct cli_graph_args {
    const char *pos[8];
    int npos;
    const char *dir, *label, *weight, *format;
    uint64_t as_of, depth, limit, max, max_len, min_size, top;
    int has_depth, has_max, has_max_len, has_min_size, has_top, docs;
} cli_graph_args;
int cli_graph(stele *db, const cli_graph_args *a);
/* code_query.c: `stele code callers|callees|impact|cycles|path|uses|def` (pos[0] is the
 * subcommand) over the graph of `stele code index`. */
int cli_code_query(stele *db, const cli_graph_args *a);
/* The compact set syntax (e.g. "out(collection(fn), CALLS, 2)") as a new JSON set
 * expression (docs/GRAPH.md), or NULL with the reason in why. */
struct json_t;
struct json_t *graph_compact(const char *s, char *why, size_t cap);
/* code_cmd.c: `stele code index DIR | update FILE | watch DIR` (sub and path are the
 * positional arguments after "code", npos their count with "code"; jobs: --jobs of
 * index, 0 if not given). `open` opens the
 * database named by the global options for writing (no_close_checkpoint: as one-shot
 * commands do, no checkpoint record when it closes): 0 or an exit code. */
typedef int (*cli_open_fn)(void *ctx, int no_close_checkpoint, stele **db);
int cli_code(const char *sub, const char *path, int npos, uint64_t jobs, cli_open_fn open,
             void *ctx);

/* main.c: pretty-prints a JSON document made by the library (as is if it does not parse). */
void cli_print_pretty(const char *json);
/* main.c: a password from env_name or a prompt on the terminal (asked twice if
 * confirm). 0 or an exit code (said). */
int cli_get_password(const char *env_name, const char *what, int confirm, char *out,
                     size_t cap, size_t *len);

/* user_cmd.c: `stele user ...` and `stele db ...` (pos[0] is the subcommand). */
typedef struct cli_access_args {
    const char *store, *user, *kdf, *role;
    uint64_t segment_size;
    int yes, reencrypt;
    const char *pos[8];
    int npos;
} cli_access_args;
int cli_user(const cli_access_args *a);
int cli_db(const cli_access_args *a);

#endif
