/*
 * main.c — the `stele` command. Layer: cli. Uses only include/stele.h (plus jansson
 * to check and pretty-print JSON, which is the CLI's own business).
 *
 * Exit codes (also in `stele --help`): 0 ok; 1 error; 2 usage or malformed input;
 * 3 wrong password; 4 database in use by another process; 5 verification failed or
 * data not authentic; 6 not found, already exists, or revision conflict; 7 too many
 * wrong passwords (wait); 8 no access (not a member, or the role does not allow it);
 * 9 signed settings refused (tampered, rolled back, or signed by an untrusted key).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "stele.h"
#define INPUT_MAX (4u << 20)
#define PASSWORD_MAX 1024

typedef struct opts {
    const char *store, *user, *db, *id, *key, *durability, *kdf, *as_of_text;
    const char *sort, *fields, *format, *output, *kind; /* find / import / export / index */
    const char *role; /* db share */
    const char *language; /* index create --text */
    int yes, reencrypt, accept_rollback, text;
    int replace, cascade; /* global import */
    uint64_t from, to, checkpoint, segment_size, checkpoint_every, rev, limit, offset;
    int payload, consistency, help, json, no_encryption;
    const char *dir, *label, *weight; /* graph */
    uint64_t depth, max, max_len, min_size, top, settings_version, cache_mb;
    int has_cache_mb;
    uint64_t jobs; /* code index: parse threads; 0 = the default */
    int has_depth, has_max, has_max_len, has_min_size, has_top, docs;
    const char *pos[8];
    int npos;
} opts;

static const char *prog = "stele";

void say(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int exit_code(stele_status rc)
{
    switch (rc) {
    case STELE_OK: return 0;
    case STELE_EINVAL: return EXIT_USAGE;
    case STELE_EPASSWORD: return EXIT_PASSWORD;
    case STELE_ELOCKED: return EXIT_LOCKED;
    case STELE_ECORRUPT:
    case STELE_EPROOF: return EXIT_CORRUPT;
    case STELE_ENOTFOUND:
    case STELE_EEXIST:
    case STELE_ECONFLICT: return EXIT_STATE;
    case STELE_EBACKOFF: return EXIT_BACKOFF;
    case STELE_EACCESS: return EXIT_ACCESS;
    case STELE_EUNTRUSTED: return EXIT_UNTRUSTED;
    default: return EXIT_ERR;
    }
}

/* ------------------------------------------------------------------ help */

static const char *const HELP_MAIN =
    "stele — an embedded, encrypted, hash-chained ledger database\n"
    "\n"
    "usage: stele [global options] COMMAND [arguments]\n"
    "\n"
    "commands:\n"
    "  init                 create a store and its first user (with a primary database)\n"
    "  log append [JSON|-]  append a JSON record; prints its LSN\n"
    "  log get LSN          print one record as JSON\n"
    "  log list             print records as NDJSON (--from, --to)\n"
    "  checkpoint           write a signed checkpoint (Merkle root of the log)\n"
    "  snapshot             save the document state so that the next open is fast\n"
    "  verify               verify every record, the hash chain and every checkpoint\n"
    "  prove LSN            print a proof that record LSN is in a signed checkpoint\n"
    "  verify-proof FILE    check a proof offline (no store, no password)\n"
    "  stat                 sizes, counts, key profile, durability policy\n"
    "  passwd               change the user's password (re-wraps one key, no data rewrite)\n"
    "users, databases, sharing:\n"
    "  user add|list|remove NAME        users of the store (add/remove: an admin only)\n"
    "  db create|list|drop|rename NAME  the user's databases ('primary' is always there)\n"
    "  db share DB USER --role reader|writer|admin   give a member access\n"
    "  db revoke DB USER [--reencrypt]  remove it: the database key rotates\n"
    "  settings show|verify|sign FILE|trust KEY   the store's admin-signed settings\n"
    "documents (JSON objects in collections, every write a ledger transaction):\n"
    "  collection create|drop|list|rename   manage collections\n"
    "  put COLL [JSON|-]    insert a document (an existing _id is an error); prints _id\n"
    "  get COLL ID          print a document (--as-of LSN for its state back then)\n"
    "  replace|patch COLL ID [JSON|-]   replace it, or merge into it (RFC 7386); --rev N\n"
    "  delete|restore COLL ID           soft-delete (kept in history) or bring back\n"
    "  history COLL ID      every revision, oldest first (NDJSON)\n"
    "  find|count|explain COLL FILTER   query with a Mongo-style filter (--sort --limit\n"
    "                       --offset --fields --as-of)\n"
    "  index create|drop|list           indices on document fields\n"
    "  txn [JSON|-]         several ops at once, all or nothing ({\"ops\":[...]})\n"
    "  import COLL FILE|-   load NDJSON or CSV, all or nothing (--format ndjson|csv, --id)\n"
    "  export COLL          write the documents as NDJSON or CSV (--format, --output, --as-of)\n"
    "  --format json|table  how get, history and collection list print (default json)\n"
    "graph (nodes are documents; edges are documents with _from, _to and _label):\n"
    "  graph neighbors|traverse|reachable|path|paths REF...   walk the graph\n"
    "  graph scc|cycles|topo|degrees      whole-graph algorithms (--label, --as-of)\n"
    "  graph query SPEC     set algebra: out(where(fn,{\"name\":\"main\"}),CALLS,2)\n"
    "  graph import FILE    bulk nodes and edges (TSV, NDJSON, triples); graph triples\n"
    "  global import FILE|- cached global data into the primary database (NDJSON lines\n"
    "                       {\"coll\":C,\"doc\":{...}}), all or nothing; --replace refreshes\n"
    "  ref get REF          the document a reference names, in this or another database\n"
    "                       (\"NAME:coll/key\", \"@OWNER/NAME:coll/key\", \"global:coll/key\")\n"
    "code intelligence (a graph of C code, parsed with libclang):\n"
    "  code index DIR       index the *.c and *.h files under DIR (again: only changes written)\n"
    "  code update FILE     re-index one file of the indexed tree in one transaction\n"
    "  code watch DIR       update each file as it is saved, until Ctrl-C\n"
    "  code callers|callees|impact SYMBOL [--depth K]   who calls it, what it calls,\n"
    "                       its blast radius; code cycles | path A B | uses TYPE | def NAME\n"    "\n"
    "global options (each has an environment variable):\n"
    "  --store DIR    the store directory      STELE_STORE  (default $XDG_DATA_HOME/stele)\n"
    "  --user NAME    the user                 STELE_USER   (default $USER)\n"
    "  --db NAME      the database             (default: the user's primary database)\n"
    "  --durability fsync|group|none           STELE_DURABILITY (default: settings, else fsync)\n"
    "  --cache-mb N   memory for document bodies read from the state snapshot, in MiB;\n"
    "                 least recently used ones are dropped beyond it (0 = no limit)\n"
    "                                         STELE_CACHE_MB (default: a quarter of RAM)\n"
    "  --accept-rollback  open a database older than the newest version this user has seen\n"
    "                 (restored from an older backup on purpose); refused without it\n"
    "passwords come from STELE_PASSWORD (new ones from STELE_NEW_PASSWORD) or a prompt.\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage or malformed input, 3 wrong password,\n"
    "            4 database in use by another process, 5 verification failed / not authentic,\n"
    "            6 not found, already exists, or revision conflict,\n"
    "            7 too many wrong passwords: wait (the message says how long),\n"
    "            8 no access: not a member, or the role does not allow it,\n"
    "            9 signed settings refused (tampered, rolled back, or an untrusted key)\n"
    "\n"
    "'stele COMMAND --help' describes one command.\n";

typedef struct cmd_help {
    const char *name, *text;
} cmd_help;

static const cmd_help HELPS[] = {
    {"init",
     "usage: stele init --store DIR --user NAME [--kdf-profile default|insecure-test]\n"
     "                  [--segment-size BYTES] [--checkpoint-every N] [--no-encryption]\n"
     "Creates the store and its first user with a primary database. The password comes from\n"
     "STELE_PASSWORD or is asked twice. Keys: Argon2id (m=256 MiB, t=3) derives the key that\n"
     "wraps the user's data key; each database has its own key. 'insecure-test' uses a cheap\n"
     "KDF for test suites only (reported by 'stele stat'). Segment files are 32 MiB by default.\n"
     "--no-encryption: WARNING, FOR PUBLIC DATA ONLY (a global database). The database's log\n"
     "segments and snapshots are stored as PLAINTEXT that anyone with the files can read;\n"
     "integrity stays (a SHA-256 checksum per box, the hash chain, signed checkpoints), and\n"
     "'stele stat' says \"not encrypted\". Keys and the superblock stay sealed.\n"},
    {"log",
     "usage: stele log append [--id IDEMPOTENCY_ID] [JSON | -]\n"
     "       stele log get LSN\n"
     "       stele log list [--from LSN] [--to LSN]\n"
     "append: the record is JSON given as an argument, or on standard input with '-' (or no\n"
     "argument). Prints the LSN once the record is durable. With --id, a retry with the same\n"
     "id writes nothing and prints the original LSN. Malformed JSON is refused (exit 2).\n"
     "get/list: records as JSON (list: one per line) with lsn, time, kind, author, hashes\n"
     "and payload. Every record is authenticated before it is printed.\n"},
    {"checkpoint",
     "usage: stele checkpoint\n"
     "Appends a checkpoint record: the RFC 6962 Merkle root of all records so far, signed\n"
     "with the database's Ed25519 key. Checkpoints are also written every N records (see\n"
     "init --checkpoint-every) and when a writer closes the database. Prints its LSN.\n"},
    {"snapshot",
     "usage: stele snapshot\n"
     "Writes the document state into encrypted fragment files (the same size as ledger\n"
     "segments): a directory (ids, versions' metadata, links, indices) and partitions of\n"
     "document bodies; the next open reads only the directory, loads bodies when first\n"
     "needed (at most --cache-mb of them stay in memory) and replays only the records after\n"
     "it. A writer also does this at close once enough was written since the last one. The\n"
     "snapshot is derived data: a damaged directory makes open derive the state from the\n"
     "log; a damaged partition makes the command that needs it fail (exit 5) without\n"
     "serving it; 'stele verify' reports either, and 'stele snapshot' writes a new one from\n"
     "the log. Prints the snapshot's LSN, size, fragment count and cache figures.\n"},
    {"verify",
     "usage: stele verify [--from LSN] [--json]\n"
     "Reads the whole log back and checks each record's authentication tag, the hash chain,\n"
     "payload hashes, every checkpoint's Merkle root and signature, both superblock\n"
     "copies, and that the state snapshot is authentic and equals a rebuild from the log. --from starts at the newest checkpoint at or before LSN (its signature and root\n"
     "are checked first). Exit 0 only if everything verifies; otherwise exit 5 and the first\n"
     "bad thing is named.\n"},
    {"prove",
     "usage: stele prove LSN [--checkpoint LSN] [--payload]\n"
     "       stele prove --consistency OLD_CHECKPOINT_LSN [NEW_CHECKPOINT_LSN]\n"
     "Prints a JSON proof bundle: that record LSN is included in a signed checkpoint (the\n"
     "newest covering it, or --checkpoint), with the database's public key. --payload also\n"
     "discloses the record's content so that it can be checked against its hash. With\n"
     "--consistency: that the newer checkpoint extends the older one (history not rewritten).\n"
     "Verify with 'stele verify-proof' anywhere, without the store or a password.\n"},
    {"verify-proof",
     "usage: stele verify-proof FILE|- [--key PUBLIC_KEY_HEX]\n"
     "Checks a proof bundle made by 'stele prove': signature, Merkle path, and the payload if\n"
     "disclosed. Needs no store and no password. Pass --key with the database public key you\n"
     "trust (from 'stele stat'); without it the bundle is only checked against its own key.\n"},
    {"settings",
     "usage: stele settings show | verify | sign FILE|- [--settings-version N] | trust KEY\n"
     "Store-wide settings in config/settings.json, signed with an admin's Ed25519 settings\n"
     "key (made on first 'sign', wrapped by that user's data key). FILE is a JSON object:\n"
     "  {\"kdf_floor\":{\"m_kib\":N,\"t\":N}, \"segment_size\":N, \"checkpoint_every\":N,\n"
     "   \"durability\":\"fsync\"|\"group\"|\"none\"}   (every member optional)\n"
     "show     print the settings in effect (checked, nothing written)\n"
     "verify   check the file and accept it: its key is pinned on first use, and its version\n"
     "         and counter become the oldest the store accepts\n"
     "sign     sign FILE as the next version (or --settings-version N; never lower) with the\n"
     "         user's key; needs the password\n"
     "trust    provision KEY (64 hex digits) as the only key whose settings are accepted\n"
     "A changed byte, an older file or another key's file is refused (exit 7) by these\n"
     "commands and by every open. Effects: the Argon2id floor for new passwords (never below\n"
     "m=256 MiB, t=3), the durability default (when --durability is not given), the segment\n"
     "size and checkpoint interval of new databases.\n"},
    {"stat",
     "usage: stele stat\n"
     "Prints JSON: user, database, your role in it and its key epoch, key profile (and whether\n"
     "it is insecure), head LSN, checkpoints,\n"
     "segments and sizes, durability policy, recoveries and the database public key; the\n"
     "snapshot (partitions, cache, whether it is of an older format) and \"memory\": bytes\n"
     "the open database holds, by part (documents, versions, records, id table, ids and\n"
     "new bytes, adjacency, cached partitions).\n"},
    {"collection",
     "usage: stele collection create NAME | drop NAME | rename OLD NEW\n"
     "       stele collection list [--as-of LSN|TIME] [--format json|table]\n"
     "Collections hold documents. Names: 1-64 of letters, digits, '.', '_', '-'. Dropping\n"
     "keeps the history in the ledger; the name can be created again.\n"},
    {"put",
     "usage: stele put COLL [JSON | -] [--id IDEMPOTENCY_ID]\n"
     "Inserts a JSON object into collection COLL. Its \"_id\" (a non-empty string) is\n"
     "generated if absent; an existing live _id is an error. Prints {\"_id\":...,\"_lsn\":...}.\n"},
    {"get",
     "usage: stele get COLL ID [--as-of LSN|TIME] [--format json|table]\n"
     "Prints the document with _id, _rev (1 at insert, +1 per change), _lsn and _ts of its\n"
     "last change; --as-of shows it as it was at that LSN, or at a UTC time such as\n"
     "2026-11-21T08:00:00Z (the _ts format).\n"},
    {"replace",
     "usage: stele replace COLL ID [JSON | -] [--rev N]\n"
     "Replaces the whole document. With --rev (or a \"_rev\" in the body) the write is\n"
     "refused with exit 6 unless the document is at that revision.\n"},
    {"patch",
     "usage: stele patch COLL ID [JSON | -] [--rev N]\n"
     "Merges the JSON object into the document (RFC 7386: null removes a field).\n"},
    {"delete",
     "usage: stele delete COLL ID [--rev N]\n"
     "Soft-deletes: hidden from get, kept in history, restorable with 'stele restore'.\n"},
    {"restore", "usage: stele restore COLL ID\nBrings back a soft-deleted document.\n"},
    {"ref",
     "usage: stele ref get REF [--as-of LSN|TIME] [--format json|table]\n"
     "Prints the document a reference names, as 'stele get' does. REF is \"coll/key\" (this\n"
     "database), \"NAME:coll/key\" (database NAME of the owner of the database given with\n"
     "--db), \"@OWNER/NAME:coll/key\" (a database shared with you) or \"global:coll/key\"\n"
     "(global data, in your primary database). The other database is read with your own\n"
     "keys: exit 8 (\"no access\") if you are not, or no longer, its owner or a member; exit 6\n"
     "if the document is not there. --as-of is an LSN of the referenced database, or a UTC\n"
     "time such as 2026-11-21T08:00:00Z placed in that database's log (not this one's).\n"
     "Edges may name such references in \"_from\"/\"_to\" (docs/GRAPH.md, \"Across\n"
     "databases\"); 'stele graph ... --docs' reads their documents the same way.\n"},
    {"global",
     "usage: stele global import FILE|- [--replace [--cascade]]\n"
     "Imports global data (records of the global database, cached in your primary database)\n"
     "from NDJSON lines {\"coll\":\"C\",\"doc\":{\"_id\":\"K\",...}}; a doc with \"_from\" and\n"
     "\"_to\" is an edge. All or nothing: a bad line is reported as FILE:LINE (exit 2) and\n"
     "nothing is written; missing collections are created, nodes go in before edges, and an\n"
     "_id that is already there is exit 6. Each document gets \"_origin\":\"global\" (inside\n"
     "the encryption, like every field: nothing on disk tells global from your own records);\n"
     "find them with '{\"_origin\":\"global\"}'.\n"
     "--replace refreshes instead: FILE is the whole global data (its edges name its own\n"
     "documents). In one transaction its documents are inserted, or replaced where their\n"
     "content changed (unchanged ones get no new version), and the global documents FILE\n"
     "lacks are deleted with their global edges. Your own edges to a document it deletes\n"
     "stop the refresh (exit 6, naming them) unless --cascade deletes them too; your other\n"
     "data is never touched. Prints JSON with the counts (inserted, replaced, unchanged,\n"
     "deleted, own_edges_deleted) and a one-line summary on stderr.\n"
     "Rules: global data references only global data (a global edge to your own document or\n"
     "another database is refused, exit 2); global documents change only by import (exit 8).\n"
     "Your own edges may reference global nodes as \"coll/key\" or \"global:coll/key\" (the\n"
     "latter also from your other databases).\n"},
    {"history",
     "usage: stele history COLL ID [--format json|table]\n"
     "Every revision of the document, oldest first, one JSON per line, with _rev, _lsn, _ts,\n"
     "_author and _deleted.\n"},
    {"txn",
     "usage: stele txn [JSON | -] [--id IDEMPOTENCY_ID]\n"
     "Runs {\"ops\":[...]} as one transaction, all or nothing. Ops: {\"op\":\"insert\",\n"
     "\"coll\":C,\"doc\":{...}}, replace/patch {\"coll\":C,\"id\":ID,\"doc\":{...},\"rev\":N},\n"
     "delete/restore {\"coll\":C,\"id\":ID}, create_collection/drop_collection {\"coll\":C},\n"
     "rename_collection {\"coll\":C,\"to\":NEW}. Prints {\"lsn\":N,\"ids\":[...]}.\n"},
    {"find",
     "usage: stele find COLL FILTER [--sort K1,-K2] [--limit N] [--offset N] [--fields F1,F2]\n"
     "                              [--as-of LSN|TIME]\n"
     "       stele count COLL FILTER [--as-of LSN|TIME]\n"
     "       stele explain COLL FILTER [--as-of LSN|TIME]\n"
     "FILTER is JSON: {\"role\":\"admin\"} (equality; an array field matches if an element\n"
     "does), {\"age\":{\"$gte\":30,\"$lt\":40}}, operators $eq $ne $gt $gte $lt $lte $in $nin\n"
     "$exists $contains $startsWith and $not on a field, {\"$and\"|\"$or\"|\"$nor\":[...]},\n"
     "{\"$not\":{...}}; dotted paths such as \"address.city\". Ranges compare within one type:\n"
     "numbers exactly, strings by bytes, ISO-8601 dates (\"2026-01-01T10:00:00+02:00\") as\n"
     "instants. --sort: '-' for descending, missing values sort as null (first); --fields\n"
     "keeps those paths plus _id, _rev, _lsn, _ts. --as-of queries the collection as it was at\n"
     "an LSN or UTC time (a scan of that state). Each filtered field gets a bitmap index on\n"
     "first use; explain shows the index used by each step and the size of each set.\n"
     "Full text: {\"bio\":{\"$text\":\"quick fox*\"}} (words ANDed, stemmed and case-folded;\n"
     "word* a prefix, -word excluded; a text index per field, built on first use). Without\n"
     "--sort, a filter with one $text (not under $not/$nor) returns the best BM25 matches\n"
     "first (ties by insertion order; documents matched by another $or branch come last),\n"
     "then --offset and --limit; otherwise results keep insertion order.\n"
     "See docs/DOCUMENTS.md, \"Query semantics\".\n"},
    {"count", "usage: stele count COLL FILTER [--as-of LSN|TIME] (see 'stele find --help')\n"},
    {"explain", "usage: stele explain COLL FILTER [--as-of LSN|TIME] (see 'stele find --help')\n"},
    {"index",
     "usage: stele index create COLL PATH [--text [--language L]] | drop COLL PATH [--text]\n"
     "       | list [COLL]\n"
     "create defines an index on a dotted path (recorded in the ledger, so it survives\n"
     "reopening), built at once and maintained on every write; drop removes it. Queries also\n"
     "create memory-only \"lazy\" indices on the fields they filter.\n"
     "--text: a full-text index for $text instead (a path may have both), stemming with the\n"
     "Snowball language L (default english; also danish, dutch, finnish, french, german,\n"
     "italian, norwegian, portuguese, russian, spanish, swedish, ...: an unknown one is\n"
     "refused with the full list). $text on the path then uses L; as-of queries use the\n"
     "language defined at their LSN; without a definition $text builds a lazy english index.\n"
     "After reopening, a text index is rebuilt by the first $text on its path.\n"
     "list shows every index: collection, path, kind (explicit or lazy; text), distinct keys,\n"
     "documents, bytes; a text index: explicit, language, built, terms, documents, postings,\n"
     "bytes.\n"},
    {"graph",
     "usage: stele graph SUB [arguments] [--dir out|in|both] [--label L[,L2]] [--as-of LSN|TIME]\n"
     "                       [--docs] [--format json|table]\n"
     "Graph queries over edges (documents with \"_from\", \"_to\": \"collection/key\" and an\n"
     "optional \"_label\", default the edge's collection). A REF is \"collection/key\"; an\n"
     "edge may also name another database's node (\"NAME:coll/key\", \"@OWNER/NAME:coll/key\",\n"
     "\"global:coll/key\"; see 'stele ref --help'): it is a node here, --docs reads it there.\n"
     "  neighbors REF                 distinct neighbours (--dir, default out; --label)\n"
     "  traverse REF... [--depth K]   every node within K hops (default 1) with its distance\n"
     "  reachable A B [--depth K]     whether B can be reached from A (K 0 = any)\n"
     "  path A B [--weight PROP]      shortest path by hops, or by the numeric edge property\n"
     "                                PROP (Dijkstra)\n"
     "  paths A B [--max-len K] [--max N]   simple paths of at most K hops (default 6, 100)\n"
     "  scc [--min-size N] [--max N]  strongly connected components (default: size >= 2)\n"
     "  cycles [--max N]              one shortest cycle per cyclic component\n"
     "  topo                          topological order (or \"cycle\": true)\n"
     "  degrees [--top N]             degree statistics and the N busiest nodes (--dir)\n"
     "  query SPEC [--limit N]        set algebra, JSON or compact:\n"
     "      nodes(a/1,b/2) collection(C) where(C,{filter}) out(S,LABEL|*,K) in(S,LABEL|*,K)\n"
     "      both(S,LABEL|*,K) union(S,T,...) intersect(S,T,...) minus(S,T)\n"
     "  --docs prints the documents instead of references.\n"
     "  import FILE|- [--format tsv|ndjson|triples]   bulk load nodes, then edges (a bad\n"
     "      line is reported as FILE:LINE and nothing is written). tsv lines are\n"
     "      N<TAB>coll/key[<TAB>{props}] and E<TAB>from<TAB>LABEL<TAB>to[<TAB>{props}]\n"
     "  triples [--output FILE]       every node property and edge as <s><TAB>p<TAB>o\n"
     "See docs/GRAPH.md.\n"
     "examples:\n"
     "  stele graph neighbors function/main --dir in --label CALLS\n"
     "  stele graph query 'in(nodes(function/free), CALLS, 3)' --limit 20\n"},
    {"import",
     "usage: stele import COLL FILE|- [--format ndjson|csv] [--id IDEMPOTENCY_ID]\n"
     "Loads documents into COLL (created if missing) as one transaction: all or nothing.\n"
     "The format is --format, else the file's extension (.ndjson .jsonl .json = NDJSON, .csv).\n"
     "NDJSON: one JSON object per line, blank lines skipped. CSV (RFC 4180): a header row\n"
     "names the fields, 'a.b' builds nested objects; unquoted cells are typed (numbers,\n"
     "true/false/null, JSON arrays/objects), quoted cells are strings (except JSON\n"
     "arrays/objects), an empty unquoted cell leaves the field out; the _id column is text.\n"
     "Every line is checked first (JSON syntax, object, _id, duplicates in the file or in\n"
     "COLL); if any is bad, each is listed as FILE:LINE[:COLUMN]: reason (the first 100)\n"
     "and nothing is written (exit 2). Missing _ids are generated; _rev/_lsn/_ts dropped.\n"
     "Imports larger than one ledger record are written in parts that apply together.\n"
     "Prints {\"lsn\":N,\"documents\":D,...}. A progress bar goes to stderr on a terminal.\n"},
    {"export",
     "usage: stele export COLL [--format ndjson|csv] [--output FILE] [--as-of LSN|TIME]\n"
     "Writes the live documents of COLL (as of --as-of): NDJSON bodies with _id (no _rev,\n"
     "_lsn, _ts: importing the file into an empty collection gives the same documents), or\n"
     "CSV with the top-level fields as columns (_id first, nested values as JSON text).\n"
     "The format is --format, else --output's extension, else NDJSON.\n"},
    {"code",
     "usage: stele code index DIR [--jobs N]\n"
     "       stele code update FILE\n"
     "       stele code watch DIR\n"
     "Builds a graph of the C code under DIR with libclang, in the database (--db to keep it\n"
     "apart). Nodes: collections file, function, type (struct/union/enum), typedef, global,\n"
     "macro, field; keys are names (\"relpath:name\" for static symbols, for types and\n"
     "macros of a .c file, and for a second definition of a name), \"Type.field\" for\n"
     "fields. Edges: collection code_edges, _label CALLS (with a count), DEFINES, INCLUDES,\n"
     "USES_TYPE, HAS_FIELD, REFERENCES (a function's address taken); _id\n"
     "\"LABEL|coll/from|coll/to\". Symbols used but not defined in DIR (printf) are nodes\n"
     "with \"external\":true.\n"
     "index: parses every *.c and *.h (headers as their own translation units; not in\n"
     "dot-directories or CMake build trees) with the flags of compile_commands.json in DIR or\n"
     "DIR/build, else -std=c11 -I DIR -I DIR/include -I DIR/src. Errors are listed\n"
     "(path:line: error: ...); a file with a fatal one (a missing #include) is skipped and\n"
     "keeps its previous graph; after other errors it holds what clang recovered. The exit\n"
     "is 1 only if no file could be indexed. Only changes are written: twice = no writes.\n"
     "--jobs N parses on N threads (default: the online CPUs, at most 8; 1 to 64); the\n"
     "graph, the errors and their order are the same for every N. The summary gives lines\n"
     "per second of the whole run and the wall-clock time of parsing.\n"
     "update: re-indexes FILE (in the tree the database indexed) in one transaction: nodes\n"
     "replaced (same key: other files' edges to them stay), gone ones deleted with their\n"
     "edges, outgoing edges replaced. A deleted FILE is removed from the graph.\n"
     "watch: follows DIR and its subdirectories with inotify; each *.c or *.h written, moved\n"
     "in or deleted is updated as above, one line per update with its time. SIGINT or\n"
     "SIGTERM stops it cleanly. Holds the database's writer lock while it runs (readers\n"
     "such as 'stele find' still work).\n"
     "Questions (read-only; --depth K, --as-of, --docs, --format table):\n"
     "  stele code callers SYMBOL    who calls it (default 1 hop)\n"
     "  stele code callees SYMBOL    what it calls\n"
     "  stele code impact SYMBOL     blast radius: transitive callers and address-takers\n"
     "                               (CALLS + REFERENCES, default 3 hops) with distances\n"
     "  stele code cycles            call cycles (recursion), one per cyclic component\n"
     "  stele code path A B          a shortest call chain from A to B\n"
     "  stele code uses TYPE         functions, globals, fields and typedefs using a type\n"
     "  stele code def NAME          every symbol called NAME with its file, line, signature\n"
     "A SYMBOL is a function's key, or its plain name when only one function has it. The\n"
     "graph is also documents: stele find code_edges '{\"_to\":\"function/printf\"}'.\n"},
    {"user",
     "usage: stele user add NAME [--kdf-profile default|insecure-test] [--segment-size BYTES]\n"
     "       stele user list\n"
     "       stele user remove NAME [--yes]\n"
     "add: a new user with an Argon2id-derived key (never below m=256 MiB, t=3 with the\n"
     "default profile; the parameters are kept per user so the store opens on any machine)\n"
     "and a primary database. Its password comes from STELE_NEW_PASSWORD or is asked twice.\n"
     "Only an admin may add or remove users: --user (STELE_USER) names the admin and\n"
     "STELE_PASSWORD is the admin's password. The first user of a store is its admin.\n"
     "list: the public registry (names, ids, public keys, databases owned); no password.\n"
     "remove: deletes the user's key file and every database they own: their data becomes\n"
     "unreadable for everyone, members included. Asks for confirmation unless --yes.\n"
     "Wrong passwords: from the third failure in a row each attempt must wait 2, 4, 8 ...\n"
     "seconds (at most an hour; exit 7 says how long), counted in the user file.\n"},
    {"db",
     "usage: stele db create NAME [--segment-size BYTES]\n"
     "       stele db list\n"
     "       stele db drop NAME [--yes]\n"
     "       stele db rename NAME NEW_NAME\n"
     "       stele db share DB USER --role reader|writer|admin\n"
     "       stele db revoke DB USER [--reencrypt]\n"
     "Each user has a primary database (--db primary, the default) that can never be shared,\n"
     "dropped or renamed; it also holds the cached global data, and its size is reported\n"
     "with that data included. Other databases are named per user; a database shared with\n"
     "you is OWNER/NAME (use it with --db OWNER/NAME). list prints JSON: name, id, owner,\n"
     "your role, key epoch, bytes on disk, and the members if you are owner or admin.\n"
     "share: seals the database key to USER's public key and records who shared what with\n"
     "whom, when, signed by you, in the database's ledger. USER opens it with their own\n"
     "password. Roles: reader (read only), writer (read and write), admin (also shares and\n"
     "revokes). Sharing again changes the role.\n"
     "revoke: rotates the database key to a new epoch, re-sealed for the remaining members;\n"
     "USER can read nothing written afterwards. --reencrypt also rewrites every older file\n"
     "under the new key, in the background (the database keeps taking writes; this command\n"
     "waits for it to finish before it exits, and 'stele stat' shows the segments left),\n"
     "so the old key opens nothing. Data USER already read may have been copied and cannot be\n"
     "recalled.\n"},
    {"passwd",
     "usage: stele passwd\n"
     "Changes the user's password: the old one from STELE_PASSWORD or a prompt, the new one\n"
     "from STELE_NEW_PASSWORD or a prompt asked twice. Only the user's key file changes.\n"},
};

static int print_help(const char *cmd)
{
    for (size_t i = 0; cmd && i < sizeof HELPS / sizeof HELPS[0]; i++)
        if (strcmp(HELPS[i].name, cmd) == 0) {
            fputs(HELPS[i].text, stdout);
            return 0;
        }
    fputs(HELP_MAIN, stdout);
    return 0;
}

/* --------------------------------------------------------------- parsing */

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* --cache-mb / STELE_CACHE_MB: 1 or more MiB; 0 = no limit. 0 or -1. */
static int parse_cache_mb(const char *v, opts *o)
{
    if (parse_u64(v, &o->cache_mb) != 0 || o->cache_mb > (UINT64_MAX >> 20)) return -1;
    o->has_cache_mb = 1;
    return 0;
}

/* Parses options anywhere on the line; returns 0 or EXIT_USAGE. */
static int parse_args(int argc, char **argv, opts *o)
{
    static const char *const valued[] = {"--store", "--user", "--db", "--id", "--key",
                                         "--durability", "--kdf-profile", "--from", "--to",
                                         "--checkpoint", "--segment-size", "--checkpoint-every",
                                         "--rev", "--as-of", "--limit", "--offset", "--sort",
                                         "--fields", "--format", "--output", "--kind",
                                         "--dir", "--label", "--weight", "--depth", "--max",
                                         "--max-len", "--min-size", "--top", "--role",
                                         "--settings-version", "--cache-mb", "--language",
                                         "--jobs"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { o->help = 1; continue; }
        if (strcmp(a, "--payload") == 0) { o->payload = 1; continue; }
        if (strcmp(a, "--consistency") == 0) { o->consistency = 1; continue; }
        if (strcmp(a, "--json") == 0) { o->json = 1; continue; }
        if (strcmp(a, "--docs") == 0) { o->docs = 1; continue; }
        if (strcmp(a, "--no-encryption") == 0) { o->no_encryption = 1; continue; }
        if (strcmp(a, "--yes") == 0) { o->yes = 1; continue; }
        if (strcmp(a, "--accept-rollback") == 0) { o->accept_rollback = 1; continue; }
        if (strcmp(a, "--reencrypt") == 0) { o->reencrypt = 1; continue; }
        if (strcmp(a, "--text") == 0) { o->text = 1; continue; }
        if (strcmp(a, "--replace") == 0) { o->replace = 1; continue; }
        if (strcmp(a, "--cascade") == 0) { o->cascade = 1; continue; }
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
            if (o->npos == 8) { say("too many arguments"); return EXIT_USAGE; }
            o->pos[o->npos++] = a;
            continue;
        }
        size_t k = 0;
        for (; k < sizeof valued / sizeof valued[0]; k++)
            if (strcmp(a, valued[k]) == 0) break;
        if (k == sizeof valued / sizeof valued[0]) {
            say("unknown option '%s' (see 'stele --help')", a);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) { say("option '%s' needs a value", a); return EXIT_USAGE; }
        const char *v = argv[++i];
        int bad = 0;
        switch (k) {
        case 0: o->store = v; break;
        case 1: o->user = v; break;
        case 2: o->db = v; break;
        case 3: o->id = v; break;
        case 4: o->key = v; break;
        case 5: o->durability = v; break;
        case 6: o->kdf = v; break;
        case 7: bad = parse_u64(v, &o->from); break;
        case 8: bad = parse_u64(v, &o->to); break;
        case 9: bad = parse_u64(v, &o->checkpoint); break;
        case 10: bad = parse_u64(v, &o->segment_size); break;
        case 11: bad = parse_u64(v, &o->checkpoint_every); break;
        case 12: bad = parse_u64(v, &o->rev) || o->rev == 0; break;
        case 13: o->as_of_text = v; break;
        case 14: bad = parse_u64(v, &o->limit); break;
        case 15: bad = parse_u64(v, &o->offset); break;
        case 16: o->sort = v; break;
        case 17: o->fields = v; break;
        case 18: o->format = v; break;
        case 19: o->output = v; break;
        case 20: o->kind = v; break;
        case 21: o->dir = v; break;
        case 22: o->label = v; break;
        case 23: o->weight = v; break;
        case 24: bad = parse_u64(v, &o->depth); o->has_depth = 1; break;
        case 25: bad = parse_u64(v, &o->max); o->has_max = 1; break;
        case 26: bad = parse_u64(v, &o->max_len); o->has_max_len = 1; break;
        case 27: bad = parse_u64(v, &o->min_size); o->has_min_size = 1; break;
        case 28: bad = parse_u64(v, &o->top); o->has_top = 1; break;
        case 29: o->role = v; break;
        case 30: bad = parse_u64(v, &o->settings_version) || !o->settings_version; break;
        case 31: bad = parse_cache_mb(v, o); break;
        case 32: o->language = v; break;
        case 33: bad = parse_u64(v, &o->jobs) || o->jobs == 0; break;
        }
        if (bad) {
            say("option '%s' needs a positive whole number, not '%s'", a, v);
            return EXIT_USAGE;
        }
    }
    return 0;
}

static char default_store[4096];


static int resolve_globals(opts *o)
{
    if (!o->store) o->store = getenv("STELE_STORE");
    if (!o->store) {
        const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
        if (x && *x) snprintf(default_store, sizeof default_store, "%s/stele", x);
        else if (h && *h) snprintf(default_store, sizeof default_store, "%s/.local/share/stele", h);
        else { say("no store given: use --store DIR or set STELE_STORE"); return EXIT_USAGE; }
        o->store = default_store;
    }
    if (strlen(o->store) > 3000) { say("store path is too long"); return EXIT_USAGE; }
    static char abs_store[4096]; /* absolute: libclang (code index) changes the cwd */
    char cwd[1024];
    if (o->store[0] != '/' && getcwd(cwd, sizeof cwd)) {
        snprintf(abs_store, sizeof abs_store, "%s/%s", cwd, o->store);
        o->store = abs_store;
    }
    if (!o->user) o->user = getenv("STELE_USER");
    if (!o->user) o->user = getenv("USER");
    if (!o->user) { say("no user given: use --user NAME or set STELE_USER"); return EXIT_USAGE; }
    if (!o->durability) o->durability = getenv("STELE_DURABILITY");
    const char *mb = getenv("STELE_CACHE_MB");
    if (!o->has_cache_mb && mb && parse_cache_mb(mb, o) != 0) {
        say("STELE_CACHE_MB needs a whole number of MiB, not '%s'", mb);
        return EXIT_USAGE;
    }
    return 0;
}

/* ------------------------------------------------------------- passwords */

/* Reads a line from the terminal without echo. Returns length or -1. */
static int prompt_password(const char *prompt, char *out, size_t cap)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    struct termios old, quiet;
    int have_tc = tcgetattr(fd, &old) == 0;
    if (have_tc) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) { /* the prompt is a courtesy */
    }
    size_t n = 0;
    char c;
    while (n + 1 < cap && read(fd, &c, 1) == 1 && c != '\n') out[n++] = c;
    out[n] = 0;
    if (have_tc) tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
    }
    close(fd);
    return (int)n;
}

/* The password from env_name, or a prompt (asked twice if confirm). 0 or exit code. */
int cli_get_password(const char *env_name, const char *what, int confirm, char *out,
                     size_t cap, size_t *len)
{
    const char *env = getenv(env_name);
    if (env) {
        if (strlen(env) >= cap) { say("%s is too long", env_name); return EXIT_USAGE; }
        strcpy(out, env);
        *len = strlen(out);
        return 0;
    }
    char prompt[128], again[PASSWORD_MAX];
    snprintf(prompt, sizeof prompt, "%s: ", what);
    int n = prompt_password(prompt, out, cap);
    if (n < 0) {
        say("no terminal to ask for the %s: set %s", what, env_name);
        return EXIT_USAGE;
    }
    if (confirm) {
        snprintf(prompt, sizeof prompt, "%s (again): ", what);
        int m = prompt_password(prompt, again, sizeof again);
        int same = m == n && memcmp(out, again, (size_t)n) == 0;
        memset(again, 0, sizeof again);
        if (!same) { say("the two passwords differ; nothing was changed"); return EXIT_USAGE; }
    }
    *len = (size_t)n;
    return 0;
}

/* ------------------------------------------------------------ open/close */

static int durability_of(const char *s, stele_durability *d)
{
    if (!s) *d = STELE_DURABLE_STORE; /* the signed settings' default, else fsync */
    else if (strcmp(s, "fsync") == 0) *d = STELE_DURABLE_FSYNC;
    else if (strcmp(s, "group") == 0) *d = STELE_DURABLE_GROUP;
    else if (strcmp(s, "none") == 0) *d = STELE_DURABLE_NONE;
    else {
        say("unknown durability '%s' (use fsync, group or none)", s);
        return EXIT_USAGE;
    }
    return 0;
}

/* One-shot commands (log append) skip the shutdown checkpoint: a checkpoint per
 * appended record would double the log. Periodic (--checkpoint-every) and explicit
 * checkpoints remain, and the superblock still records the exact head. */
static int open_db_ex(const opts *o, int read_only, int no_close_ckpt, stele **db)
{
    char pw[PASSWORD_MAX];
    size_t pwlen = 0;
    stele_open_options oo = {.store_dir = o->store, .user = o->user, .db = o->db,
                             .read_only = read_only,
                             .no_checkpoint_on_close = no_close_ckpt,
                             .accept_rollback = o->accept_rollback};
    if (o->has_cache_mb) oo.cache_bytes = o->cache_mb ? o->cache_mb << 20 : UINT64_MAX;
    int rc = durability_of(o->durability, &oo.durability);
    if (rc == 0) rc = cli_get_password("STELE_PASSWORD", "password", 0, pw, sizeof pw, &pwlen);
    if (rc != 0) return rc;
    oo.password = pw;
    oo.password_len = pwlen;
    stele_status st = stele_open(&oo, db);
    memset(pw, 0, sizeof pw);
    if (st != STELE_OK) {
        say("%s", stele_errmsg(*db));
        stele_close(*db);
        *db = NULL;
        return exit_code(st);
    }
    return 0;
}

static int open_db(const opts *o, int read_only, stele **db)
{
    return open_db_ex(o, read_only, 0, db);
}

/* For `stele code`: opens the database named by the global options for writing. */
static int code_open(void *ctx, int no_close_checkpoint, stele **db)
{
    return open_db_ex((const opts *)ctx, 0, no_close_checkpoint, db);
}

static int close_db(stele *db, int rc)
{
    stele_status st = stele_close(db);
    if (st != STELE_OK && rc == 0) {
        say("closing the database failed: %s", stele_strerror(st));
        return exit_code(st);
    }
    return rc;
}

static int fail_db(stele *db, stele_status st)
{
    say("%s", stele_errmsg(db));
    return close_db(db, exit_code(st));
}

/* ------------------------------------------------------------------ input */

static int read_input(const char *arg, char **out, size_t *len)
{
    if (arg && strcmp(arg, "-") != 0) {
        *len = strlen(arg);
        *out = strdup(arg);
        return *out ? 0 : EXIT_ERR;
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            if (cap >= INPUT_MAX + 1) break;
            char *nb = realloc(b, cap * 2);
            if (!nb) { free(b); b = NULL; break; }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(0, b + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    if (!b) { say("out of memory reading standard input"); return EXIT_ERR; }
    if (n > INPUT_MAX) {
        free(b);
        say("input is larger than the %u-byte record limit", INPUT_MAX);
        return EXIT_USAGE;
    }
    while (n && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ')) n--;
    *out = b;
    *len = n;
    return 0;
}

/* --------------------------------------------------------------- output */

static const char *kind_name(int kind)
{
    switch (kind) {
    case STELE_REC_TXN: return "txn";
    case STELE_REC_CHECKPOINT: return "checkpoint";
    case STELE_REC_KEYROT: return "key_rotation";
    case STELE_REC_ACCESS: return "access";
    case STELE_REC_RECOVERY: return "recovery";
    case STELE_REC_ERASURE: return "erasure";
    case STELE_REC_DOCS: return "docs";
    default: return "unknown";
    }
}

static void print_json_string(FILE *f, const uint8_t *s, size_t n)
{
    json_t *j = json_stringn((const char *)s, n);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    if (t) fputs(t, f);
    else fputs("null", f); /* not UTF-8: the id is still in the record hash */
    free(t);
    json_decref(j);
}

static void print_record(const stele_record *r)
{
    char when[64];
    time_t secs = (time_t)(r->timestamp_ns / 1000000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t w = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + w, sizeof when - w, ".%06uZ",
             (unsigned)((r->timestamp_ns % 1000000000u) / 1000u));
    printf("{\"lsn\":%llu,\"time\":\"%s\",\"timestamp_ns\":%llu,\"kind\":\"%s\","
           "\"generation\":%u,\"author\":\"%s\",\"id\":",
           (unsigned long long)r->lsn, when, (unsigned long long)r->timestamp_ns,
           kind_name(r->kind), r->generation, r->author);
    if (r->idem_len) print_json_string(stdout, r->idem_id, r->idem_len);
    else fputs("null", stdout);
    printf(",\"hash\":\"%s\",\"prev_hash\":\"%s\",\"payload_hash\":\"%s\",", r->hash,
           r->prev_hash, r->payload_hash);
    json_error_t err;
    json_t *p = json_loadb((const char *)r->payload, r->payload_len, JSON_DECODE_ANY, &err);
    if (p) {
        printf("\"payload\":");
        fwrite(r->payload, 1, r->payload_len, stdout);
    } else { /* appended through the API as raw bytes: show them as hex */
        printf("\"payload_hex\":\"");
        for (size_t i = 0; i < r->payload_len; i++) printf("%02x", r->payload[i]);
        printf("\"");
    }
    json_decref(p);
    printf("}\n");
}

/* Pretty-prints a JSON document made by the library. */
void cli_print_pretty(const char *json)
{
    json_error_t err;
    json_t *j = json_loads(json, 0, &err);
    char *t = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    puts(t ? t : json);
    free(t);
    json_decref(j);
}

/* ---------------------------------------------------------------- commands */

static int cmd_init(opts *o)
{
    char pw[PASSWORD_MAX], err[1024];
    size_t pwlen;
    stele_init_options io = {.store_dir = o->store, .user = o->user,
                             .segment_size = (uint32_t)o->segment_size,
                             .checkpoint_every = (uint32_t)o->checkpoint_every,
                             .no_encryption = o->no_encryption};
    if (o->segment_size > UINT32_MAX || o->checkpoint_every > UINT32_MAX) {
        say("--segment-size and --checkpoint-every must be below 4294967296");
        return EXIT_USAGE;
    }
    if (o->kdf && strcmp(o->kdf, "insecure-test") == 0) io.kdf = STELE_KDF_INSECURE_TEST;
    else if (o->kdf && strcmp(o->kdf, "default") != 0) {
        say("unknown --kdf-profile '%s' (use default or insecure-test)", o->kdf);
        return EXIT_USAGE;
    }
    int rc = cli_get_password("STELE_PASSWORD", "new password", 1, pw, sizeof pw, &pwlen);
    if (rc) return rc;
    io.password = pw;
    io.password_len = pwlen;
    stele_status st = stele_store_init(&io, err, sizeof err);
    memset(pw, 0, sizeof pw);
    if (st != STELE_OK) {
        say("%s", err);
        return exit_code(st);
    }
    printf("created store '%s' with user '%s' and its primary database%s%s\n", o->store,
           o->user, io.kdf == STELE_KDF_INSECURE_TEST ? " (INSECURE test key profile)" : "",
           o->no_encryption ? " (NOT ENCRYPTED: public data only)" : "");
    return 0;
}

/* Opens the database first (a writer session: `log append -` holds the writer lock
 * while it reads standard input), then reads and checks the record. A writable open
 * changes nothing on disk until the first append, so bad input changes nothing. */
static int cmd_log_append(opts *o)
{
    stele *db;
    int rc = open_db_ex(o, 0, 1, &db);
    if (rc) return rc;
    char *in;
    size_t len;
    rc = read_input(o->npos > 2 ? o->pos[2] : NULL, &in, &len);
    if (rc) return close_db(db, rc);
    json_error_t err;
    json_t *j = json_loadb(in, len, JSON_DECODE_ANY, &err);
    if (!j) {
        say("malformed JSON at line %d, column %d: %s; nothing was written", err.line,
            err.column, err.text);
        free(in);
        return close_db(db, EXIT_USAGE);
    }
    json_decref(j);
    uint64_t lsn;
    int dup = 0;
    stele_status st = stele_append(db, in, len, o->id, &lsn, &dup);
    free(in);
    if (st != STELE_OK) return fail_db(db, st);
    printf("%llu\n", (unsigned long long)lsn);
    if (dup) say("idempotency id '%s' was already committed at LSN %llu; nothing written", o->id,
                 (unsigned long long)lsn);
    return close_db(db, 0);
}

static int cmd_log_read(opts *o, stele *db, int list)
{
    uint64_t from = 1, to = stele_head(db);
    if (!list) {
        if (o->npos < 3 || parse_u64(o->pos[2], &from) != 0) {
            say("usage: stele log get LSN");
            return close_db(db, EXIT_USAGE);
        }
        to = from;
    } else {
        if (o->from) from = o->from;
        if (o->to && o->to < to) to = o->to;
    }
    for (uint64_t lsn = from; lsn <= to; lsn++) {
        stele_record r;
        stele_status st = stele_get(db, lsn, &r);
        if (st != STELE_OK) {
            fflush(stdout);
            return fail_db(db, st);
        }
        print_record(&r);
    }
    return close_db(db, 0);
}

static int cmd_log(opts *o)
{
    const char *sub = o->npos > 1 ? o->pos[1] : NULL;
    if (!sub || (strcmp(sub, "append") && strcmp(sub, "get") && strcmp(sub, "list"))) {
        say("usage: stele log append|get|list (see 'stele log --help')");
        return EXIT_USAGE;
    }
    if (strcmp(sub, "append") == 0) return cmd_log_append(o);
    stele *db;
    int rc = open_db(o, 1, &db);
    if (rc) return rc;
    return cmd_log_read(o, db, strcmp(sub, "list") == 0);
}

static int cmd_snapshot(opts *o)
{
    stele *db;
    int rc = open_db(o, 0, &db);
    if (rc) return rc;
    stele_status st = stele_snapshot(db);
    if (st != STELE_OK) return fail_db(db, st);
    char *json = NULL;
    st = stele_stat(db, &json);
    if (st != STELE_OK) return fail_db(db, st);
    json_t *stat = json_loads(json, 0, NULL); /* print the "snapshot" member of stat */
    char *snap = stat ? json_dumps(json_object_get(stat, "snapshot"), JSON_COMPACT) : NULL;
    puts(snap ? snap : "{}");
    free(snap);
    json_decref(stat);
    stele_free(json);
    return close_db(db, 0);
}

static int cmd_checkpoint(opts *o)
{
    stele *db;
    int rc = open_db(o, 0, &db);
    if (rc) return rc;
    uint64_t lsn;
    stele_status st = stele_checkpoint(db, &lsn);
    if (st != STELE_OK) return fail_db(db, st);
    printf("%llu\n", (unsigned long long)lsn);
    return close_db(db, 0);
}

static int cmd_verify(opts *o)
{
    stele *db;
    int rc = open_db(o, 1, &db);
    if (rc) return rc;
    char *report = NULL;
    stele_status st = stele_verify(db, o->from, &report);
    if (st != STELE_OK) {
        say("verification failed: %s", stele_errmsg(db));
        return close_db(db, exit_code(st));
    }
    if (o->json) cli_print_pretty(report);
    else {
        json_error_t err;
        json_t *j = json_loads(report, 0, &err);
        printf("ok: %lld records and %lld checkpoints verified (LSN %lld to %lld), "
               "generation %lld, %lld recoveries\n",
               (long long)json_integer_value(json_object_get(j, "records_verified")),
               (long long)json_integer_value(json_object_get(j, "checkpoints_verified")),
               (long long)json_integer_value(json_object_get(j, "from_lsn")),
               (long long)json_integer_value(json_object_get(j, "head_lsn")),
               (long long)json_integer_value(json_object_get(j, "generation")),
               (long long)json_integer_value(json_object_get(j, "recoveries")));
        json_decref(j);
    }
    stele_free(report);
    return close_db(db, 0);
}

static int cmd_prove(opts *o)
{
    uint64_t a = 0, b = 0;
    if (o->npos < 2 || parse_u64(o->pos[1], &a) != 0 ||
        (o->npos > 2 && parse_u64(o->pos[2], &b) != 0)) {
        say("usage: stele prove LSN | stele prove --consistency OLD [NEW] (see --help)");
        return EXIT_USAGE;
    }
    stele *db;
    int rc = open_db(o, 1, &db);
    if (rc) return rc;
    char *json = NULL;
    stele_status st = o->consistency ? stele_prove_consistency(db, a, b, &json)
                                     : stele_prove(db, a, o->checkpoint, o->payload, &json);
    if (st != STELE_OK) return fail_db(db, st);
    fputs(json, stdout);
    stele_free(json);
    return close_db(db, 0);
}

static int cmd_verify_proof(opts *o)
{
    if (o->npos < 2) {
        say("usage: stele verify-proof FILE|- [--key PUBLIC_KEY_HEX]");
        return EXIT_USAGE;
    }
    char *in = NULL;
    size_t len = 0;
    if (strcmp(o->pos[1], "-") == 0) {
        int rc = read_input("-", &in, &len);
        if (rc) return rc;
    } else {
        FILE *f = fopen(o->pos[1], "rb");
        if (!f) {
            say("cannot open '%s': %s", o->pos[1], strerror(errno));
            return EXIT_ERR;
        }
        in = malloc(INPUT_MAX + 1);
        len = in ? fread(in, 1, INPUT_MAX + 1, f) : 0;
        fclose(f);
        if (!in || len > INPUT_MAX) {
            free(in);
            say("'%s' is too large to be a proof bundle", o->pos[1]);
            return EXIT_USAGE;
        }
    }
    char msg[512];
    stele_status st = stele_proof_verify(in, len, o->key, msg, sizeof msg);
    free(in);
    if (st != STELE_OK) {
        say("proof does not verify: %s", msg);
        return exit_code(st);
    }
    printf("ok: %s\n", msg);
    if (!o->key)
        fprintf(stderr, "%s: note: checked against the key inside the bundle; pass --key with "
                        "the database public key you trust to pin it\n", prog);
    return 0;
}

static int cmd_stat(opts *o)
{
    stele *db;
    int rc = open_db(o, 1, &db);
    if (rc) return rc;
    char *json = NULL;
    stele_status st = stele_stat(db, &json);
    if (st != STELE_OK) return fail_db(db, st);
    cli_print_pretty(json);
    if (strstr(json, "\"encryption\":\"none"))
        say("warning: this database is NOT ENCRYPTED (created with --no-encryption): keep only "
            "public data in it");
    if (strstr(json, "\"insecure\":true"))
        say("warning: user '%s' was created with the INSECURE test key profile; do not keep "
            "real data in this store", o->user);
    stele_free(json);
    return close_db(db, 0);
}

static int cmd_passwd(opts *o)
{
    char old[PASSWORD_MAX], nw[PASSWORD_MAX], err[1024];
    size_t ol, nl;
    int rc = cli_get_password("STELE_PASSWORD", "current password", 0, old, sizeof old, &ol);
    if (!rc) rc = cli_get_password("STELE_NEW_PASSWORD", "new password", 1, nw, sizeof nw, &nl);
    if (rc) return rc;
    stele_status st = stele_passwd(o->store, o->user, old, ol, nw, nl, err, sizeof err);
    memset(old, 0, sizeof old);
    memset(nw, 0, sizeof nw);
    if (st != STELE_OK) {
        say("%s", err);
        return exit_code(st);
    }
    printf("password of user '%s' changed\n", o->user);
    return 0;
}

/* ---------------------------------------------------------------- documents */

/* Parses "2026-11-21T08:00:00Z" or "2026-11-21T08:00:00.123456Z" (UTC) into ns. */
static int parse_iso_time(const char *s, uint64_t *ns)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return -1;
    uint64_t frac = 0, scale = 1000000000u;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(*p - '0') * scale;
            }
    }
    if (strcmp(p, "Z") != 0) return -1;
    time_t secs = timegm(&tm);
    if (secs < 0) return -1;
    /* A time names the end of its last given digit: "…:18.584091Z" includes every
     * nanosecond of that microsecond, so a document's own _ts finds that revision. */
    *ns = (uint64_t)secs * 1000000000u + frac + (scale - 1);
    return 0;
}

/* Resolves --as-of (an LSN, or an ISO-8601 UTC time) to an LSN on an open handle: an
 * LSN of its database, or with ref (not NULL) of the database that reference points
 * into, whose ledger then places the time. 0 means "now"; returns an exit code. */
static int resolve_as_of(const opts *o, stele *db, const char *ref, uint64_t *lsn)
{
    *lsn = 0;
    if (!o->as_of_text) return 0;
    if (parse_u64(o->as_of_text, lsn) == 0 && *lsn > 0) return 0;
    uint64_t ns;
    if (parse_iso_time(o->as_of_text, &ns) != 0) {
        say("--as-of needs an LSN (a positive number) or a UTC time like "
            "2026-11-21T08:00:00Z, not '%s'", o->as_of_text);
        return EXIT_USAGE;
    }
    stele_status st = ref ? stele_ref_lsn_at(db, ref, ns, lsn) : stele_lsn_at(db, ns, lsn);
    if (st != STELE_OK) {
        say("%s", stele_errmsg(db));
        return exit_code(st);
    }
    if (*lsn == 0) {
        say("nothing was written%s%s%s at or before %s", ref ? " in the database of '" : "",
            ref ? ref : "", ref ? "'" : "", o->as_of_text);
        return EXIT_STATE;
    }
    return 0;
}

/* Runs one transaction built from `ops` (a JSON array, reference taken), prints the
 * result through `show`, and closes. */
static int run_txn(opts *o, json_t *ops, int show_ids)
{
    json_t *root = json_pack("{so}", "ops", ops);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text) {
        say("out of memory");
        return EXIT_ERR;
    }
    stele *db;
    int rc = open_db_ex(o, 0, 1, &db);
    if (rc) {
        free(text);
        return rc;
    }
    char *result = NULL;
    stele_status st = stele_txn(db, text, strlen(text), o->id, &result);
    free(text);
    if (st != STELE_OK) {
        say("%s; nothing was written", stele_errmsg(db));
        return close_db(db, exit_code(st));
    }
    json_t *r = json_loads(result, 0, NULL);
    char *id = show_ids && json_array_size(json_object_get(r, "ids")) == 1
                   ? json_dumps(json_array_get(json_object_get(r, "ids"), 0), JSON_ENCODE_ANY)
                   : NULL;
    if (id)
        printf("{\"_id\":%s,\"_lsn\":%lld}\n", id,
               (long long)json_integer_value(json_object_get(r, "lsn")));
    else
        puts(result);
    free(id);
    if (json_is_true(json_object_get(r, "duplicate")))
        say("idempotency id '%s' was already committed; nothing written", o->id);
    json_decref(r);
    stele_free(result);
    return close_db(db, 0);
}

/* Reads a JSON object (argument or stdin) for put/replace/patch. */
static int read_object(const char *arg, json_t **out)
{
    char *in;
    size_t len;
    int rc = read_input(arg, &in, &len);
    if (rc) return rc;
    json_error_t err;
    *out = json_loadb(in, len, 0, &err);
    free(in);
    if (!*out) {
        say("malformed JSON at line %d, column %d: %s; nothing was written", err.line,
            err.column, err.text);
        return EXIT_USAGE;
    }
    if (!json_is_object(*out)) {
        json_decref(*out);
        say("a document must be a JSON object; nothing was written");
        return EXIT_USAGE;
    }
    return 0;
}

static int cmd_collection(opts *o)
{
    const char *sub = o->npos > 1 ? o->pos[1] : "";
    if (strcmp(sub, "list") == 0) {
        stele *db;
        int rc = open_db(o, 1, &db);
        if (rc) return rc;
        char *json = NULL;
        uint64_t at;
        int arc = resolve_as_of(o, db, NULL, &at);
        if (arc) return close_db(db, arc);
        stele_status st = stele_collections(db, at, &json);
        if (st != STELE_OK) return fail_db(db, st);
        rc = cli_print(o->format, json, 1);
        stele_free(json);
        return close_db(db, rc);
    }
    const char *op = strcmp(sub, "create") == 0   ? "create_collection"
                     : strcmp(sub, "drop") == 0   ? "drop_collection"
                     : strcmp(sub, "rename") == 0 ? "rename_collection"
                                                  : NULL;
    int need = strcmp(sub, "rename") == 0 ? 4 : 3;
    if (!op || o->npos != need) {
        say("usage: stele collection create NAME | drop NAME | rename OLD NEW | list");
        return EXIT_USAGE;
    }
    json_t *one = json_pack("{ssss}", "op", op, "coll", o->pos[2]);
    if (need == 4) json_object_set_new(one, "to", json_string(o->pos[3]));
    return run_txn(o, json_pack("[o]", one), 0);
}

static int cmd_doc_write(opts *o, const char *cmd)
{
    int with_body = strcmp(cmd, "put") == 0 || strcmp(cmd, "replace") == 0 ||
                    strcmp(cmd, "patch") == 0;
    int with_id = strcmp(cmd, "put") != 0;
    int need = 2 + with_id;
    if (o->npos < need || o->npos > need + with_body) {
        say("usage: see 'stele %s --help'", cmd);
        return EXIT_USAGE;
    }
    json_t *doc = NULL;
    if (with_body) {
        int rc = read_object(o->npos > need ? o->pos[need] : NULL, &doc);
        if (rc) return rc;
    }
    const char *op = strcmp(cmd, "put") == 0 ? "insert" : cmd;
    json_t *one = json_pack("{ssss}", "op", op, "coll", o->pos[1]);
    if (with_id) json_object_set_new(one, "id", json_string(o->pos[2]));
    if (doc) json_object_set_new(one, "doc", doc);
    if (o->rev) json_object_set_new(one, "rev", json_integer((json_int_t)o->rev));
    return run_txn(o, json_pack("[o]", one), strcmp(cmd, "put") == 0);
}

static int cmd_doc_read(opts *o, const char *cmd)
{
    if (o->npos != 3) {
        say("usage: stele %s COLL ID", cmd);
        return EXIT_USAGE;
    }
    stele *db;
    int rc = open_db(o, 1, &db);
    if (rc) return rc;
    char *out = NULL;
    uint64_t at;
    rc = resolve_as_of(o, db, NULL, &at);
    if (rc) return close_db(db, rc);
    stele_status st = strcmp(cmd, "get") == 0
                          ? stele_doc_get(db, o->pos[1], o->pos[2], at, &out)
                          : stele_doc_history(db, o->pos[1], o->pos[2], &out);
    if (st != STELE_OK) return fail_db(db, st);
    rc = cli_print(o->format, out, 0);
    stele_free(out);
    return close_db(db, rc);
}

/* `stele ref get REF [--as-of LSN|TIME]`: the document a reference names, read from
 * its database with this user's keys (stele_ref_get); a time is placed in that
 * database's log (stele_ref_lsn_at). */
static int cmd_ref(opts *o)
{
    if (o->npos != 3 || strcmp(o->pos[1], "get") != 0) {
        say("usage: stele ref get REF [--as-of LSN|TIME] (see 'stele ref --help')");
        return EXIT_USAGE;
    }
    stele *db;
    int rc = open_db(o, 1, &db);
    if (rc) return rc;
    uint64_t at;
    rc = resolve_as_of(o, db, o->pos[2], &at);
    if (rc) return close_db(db, rc);
    char *out = NULL;
    stele_status st = stele_ref_get(db, o->pos[2], at, &out);
    if (st != STELE_OK) return fail_db(db, st);
    rc = cli_print(o->format, out, 0);
    stele_free(out);
    return close_db(db, rc);
}

static int cmd_query(opts *o, const char *cmd)
{
    if (o->npos != 3) {
        say("usage: stele %s COLL FILTER (see 'stele find --help')", cmd);
        return EXIT_USAGE;
    }
    stele *db;
    int rc = open_db(o, 1, &db);
    if (rc) return rc;
    uint64_t at;
    rc = resolve_as_of(o, db, NULL, &at);
    if (rc) return close_db(db, rc);
    const char *f = o->pos[2];
    char *out = NULL;
    uint64_t n = 0;
    stele_find_opts fo = {.sort = o->sort, .fields = o->fields, .limit = o->limit,
                          .offset = o->offset, .as_of = at};
    stele_status st;
    if (strcmp(cmd, "count") == 0) st = stele_count(db, o->pos[1], f, strlen(f), at, &n);
    else if (strcmp(cmd, "explain") == 0)
        st = stele_explain(db, o->pos[1], f, strlen(f), at, &out);
    else st = stele_find(db, o->pos[1], f, strlen(f), &fo, &out);
    if (st != STELE_OK) return fail_db(db, st);
    int prc = 0;
    if (strcmp(cmd, "count") == 0) printf("%llu\n", (unsigned long long)n);
    else if (strcmp(cmd, "explain") == 0) cli_print_pretty(out);
    else prc = cli_print(o->format, out, 0);
    stele_free(out);
    return close_db(db, prc);
}

static int cmd_index(opts *o)
{
    const char *sub = o->npos > 1 ? o->pos[1] : "";
    stele *db;
    int rc;
    if (strcmp(sub, "list") == 0 && o->npos <= 3) {
        if ((rc = open_db(o, 1, &db))) return rc;
        char *json = NULL;
        stele_status st = stele_index_list(db, o->npos == 3 ? o->pos[2] : NULL, &json);
        if (st != STELE_OK) return fail_db(db, st);
        rc = cli_print(o->format, json, 1);
        stele_free(json);
        return close_db(db, rc);
    }
    int create = strcmp(sub, "create") == 0;
    if ((!create && strcmp(sub, "drop") != 0) || o->npos != 4) {
        say("usage: stele index create COLL PATH [--text [--language L]] | drop COLL PATH "
            "[--text] | list [COLL]");
        return EXIT_USAGE;
    }
    if (o->language && (!create || !o->text)) {
        say("--language names the stemmer of a new text index: use it with 'index create COLL "
            "PATH --text'");
        return EXIT_USAGE;
    }
    if ((rc = open_db(o, 0, &db))) return rc;
    stele_status st;
    if (o->text)
        st = create ? stele_index_create_text(db, o->pos[2], o->pos[3], o->language)
                    : stele_index_drop_text(db, o->pos[2], o->pos[3]);
    else
        st = create ? stele_index_create(db, o->pos[2], o->pos[3])
                    : stele_index_drop(db, o->pos[2], o->pos[3]);
    if (st != STELE_OK) return fail_db(db, st);
    return close_db(db, 0);
}

static int cmd_txn(opts *o)
{
    char *in;
    size_t len;
    int rc = read_input(o->npos > 1 ? o->pos[1] : NULL, &in, &len);
    if (rc) return rc;
    json_error_t err;
    json_t *root = json_loadb(in, len, 0, &err);
    free(in);
    if (!root) {
        say("malformed JSON at line %d, column %d: %s; nothing was written", err.line,
            err.column, err.text);
        return EXIT_USAGE;
    }
    json_t *ops = json_incref(json_object_get(root, "ops"));
    json_decref(root);
    if (!json_is_array(ops)) {
        json_decref(ops);
        say("a transaction is {\"ops\":[...]} (see 'stele txn --help'); nothing was written");
        return EXIT_USAGE;
    }
    return run_txn(o, ops, 0);
}

static int cmd_import(opts *o)
{
    stele_io_format fmt;
    if (o->npos != 3) {
        say("usage: stele import COLL FILE|- [--format ndjson|csv] (see 'stele import --help')");
        return EXIT_USAGE;
    }
    int rc = cli_io_format(o->pos[2], o->format, 0, &fmt);
    stele *db;
    if (!rc) rc = open_db(o, 0, &db);
    return rc ? rc : close_db(db, cli_import(db, o->pos[1], o->pos[2], fmt, o->id));
}

static int cmd_global(opts *o)
{
    if (o->npos != 3 || strcmp(o->pos[1], "import") != 0) {
        say("usage: stele global import FILE|- [--replace [--cascade]] (see 'stele global "
            "--help')");
        return EXIT_USAGE;
    }
    if (o->cascade && !o->replace) {
        say("--cascade belongs to a refresh: 'stele global import FILE --replace --cascade'");
        return EXIT_USAGE;
    }
    if (o->db && strcmp(o->db, "primary") != 0) {
        say("global data is cached in your primary database: 'stele global import' takes no "
            "--db (given: '%s')", o->db);
        return EXIT_USAGE;
    }
    stele *db;
    int rc = open_db(o, 0, &db);
    return rc ? rc : close_db(db, cli_global_import(db, o->pos[2], o->replace, o->cascade));
}

static int cmd_export(opts *o)
{
    stele_io_format fmt;
    if (o->npos != 2) {
        say("usage: stele export COLL [--format ndjson|csv] [--output FILE] [--as-of LSN|TIME]");
        return EXIT_USAGE;
    }
    int rc = cli_io_format(o->output, o->format, 1, &fmt);
    stele *db;
    if (!rc) rc = open_db(o, 1, &db);
    if (rc) return rc;
    uint64_t at;
    rc = resolve_as_of(o, db, NULL, &at);
    return close_db(db, rc ? rc : cli_export(db, o->pos[1], fmt, o->output, at));
}

static void graph_args(const opts *o, cli_graph_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < o->npos; i++) a->pos[a->npos++] = o->pos[i];
    a->dir = o->dir;
    a->label = o->label;
    a->weight = o->weight;
    a->format = o->format;
    a->depth = o->depth;
    a->limit = o->limit;
    a->max = o->max;
    a->max_len = o->max_len;
    a->min_size = o->min_size;
    a->top = o->top;
    a->has_depth = o->has_depth;
    a->has_max = o->has_max;
    a->has_max_len = o->has_max_len;
    a->has_min_size = o->has_min_size;
    a->has_top = o->has_top;
    a->docs = o->docs;
}

/* `stele graph ...` and the query subcommands of `stele code` (read-only handles). */
static int cmd_graph(opts *o, int code)
{
    cli_graph_args a;
    graph_args(o, &a);
    if (a.npos < 1) {
        say("'stele %s' needs a subcommand (see 'stele %s --help')", code ? "code" : "graph",
            code ? "code" : "graph");
        return EXIT_USAGE;
    }
    int import = !code && strcmp(a.pos[0], "import") == 0;
    int triples = !code && strcmp(a.pos[0], "triples") == 0;
    if ((import && a.npos != 2) || (triples && a.npos != 1)) {
        say("usage: stele graph import FILE|- [--format tsv|ndjson|triples] | "
            "stele graph triples [--output FILE]");
        return EXIT_USAGE;
    }
    stele *db;
    int rc = open_db(o, !import, &db);
    if (rc) return rc;
    rc = resolve_as_of(o, db, NULL, &a.as_of);
    if (!rc) rc = code      ? cli_code_query(db, &a)
                  : import  ? cli_graph_import(db, a.pos[1], o->format)
                  : triples ? cli_graph_triples(db, o->output, a.as_of)
                            : cli_graph(db, &a);
    return close_db(db, rc);
}

int main(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    const char *cmd = o.npos ? o.pos[0] : NULL;
    if (cmd && (strcmp(cmd, "help") == 0)) return print_help(o.npos > 1 ? o.pos[1] : NULL);
    if (!cmd || o.help) return print_help(cmd);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("stele %s\n", STELE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "verify-proof") == 0) return cmd_verify_proof(&o);
    rc = resolve_globals(&o);
    if (rc) return rc;
    if (strcmp(cmd, "init") == 0) return cmd_init(&o);
    if (strcmp(cmd, "log") == 0) return cmd_log(&o);
    if (strcmp(cmd, "checkpoint") == 0) return cmd_checkpoint(&o);
    if (strcmp(cmd, "snapshot") == 0) return cmd_snapshot(&o);
    if (strcmp(cmd, "verify") == 0) return cmd_verify(&o);
    if (strcmp(cmd, "prove") == 0) return cmd_prove(&o);
    if (strcmp(cmd, "stat") == 0) return cmd_stat(&o);
    if (strcmp(cmd, "passwd") == 0) return cmd_passwd(&o);
    if (strcmp(cmd, "user") == 0 || strcmp(cmd, "db") == 0) {
        cli_access_args a = {.store = o.store, .user = o.user, .kdf = o.kdf, .role = o.role,
                             .segment_size = o.segment_size, .yes = o.yes,
                             .reencrypt = o.reencrypt, .npos = o.npos - 1};
        for (int i = 1; i < o.npos; i++) a.pos[i - 1] = o.pos[i];
        return strcmp(cmd, "user") == 0 ? cli_user(&a) : cli_db(&a);
    }
    if (strcmp(cmd, "settings") == 0) {
        cli_settings_args sa = {.store = o.store, .user = o.user, .npos = o.npos,
                                .version = o.settings_version};
        memcpy(sa.pos, o.pos, sizeof sa.pos);
        return cli_settings(&sa);
    }
    if (strcmp(cmd, "collection") == 0) return cmd_collection(&o);
    if (strcmp(cmd, "put") == 0 || strcmp(cmd, "replace") == 0 || strcmp(cmd, "patch") == 0 ||
        strcmp(cmd, "delete") == 0 || strcmp(cmd, "restore") == 0)
        return cmd_doc_write(&o, cmd);
    if (strcmp(cmd, "get") == 0 || strcmp(cmd, "history") == 0) return cmd_doc_read(&o, cmd);
    if (strcmp(cmd, "txn") == 0) return cmd_txn(&o);
    if (strcmp(cmd, "ref") == 0) return cmd_ref(&o);
    if (strcmp(cmd, "global") == 0) return cmd_global(&o);
    if (strcmp(cmd, "import") == 0) return cmd_import(&o);
    if (strcmp(cmd, "export") == 0) return cmd_export(&o);
    if (strcmp(cmd, "find") == 0 || strcmp(cmd, "count") == 0 || strcmp(cmd, "explain") == 0)
        return cmd_query(&o, cmd);
    if (strcmp(cmd, "index") == 0) return cmd_index(&o);
    if (strcmp(cmd, "graph") == 0) return cmd_graph(&o, 0);
    if (strcmp(cmd, "code") == 0 && o.npos > 1 &&
        (strcmp(o.pos[1], "index") == 0 || strcmp(o.pos[1], "update") == 0 ||
         strcmp(o.pos[1], "watch") == 0))
        return cli_code(o.pos[1], o.npos > 2 ? o.pos[2] : NULL, o.npos, o.jobs, code_open,
                        &o);
    if (strcmp(cmd, "code") == 0) return cmd_graph(&o, 1);
    say("unknown command '%s' (see 'stele --help')", cmd);
    return EXIT_USAGE;
}
