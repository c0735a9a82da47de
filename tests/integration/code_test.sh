#!/usr/bin/env bash
# code_test.sh — the C code indexer through the CLI: `stele code index|update|watch` on the
# fixture project tests/fixtures/codeproj, whose graph is written down EXACTLY below
# (every node key per collection with its file, every edge but DEFINES, and DEFINES
# derived from the node list). Also: properties (doc comments, signatures, static,
# macros), every edge's endpoints exist and its "file" is its source's file, indexing
# twice writes nothing, `code update` changes exactly the edges it should in one
# transaction and agrees with a full re-index, deleted functions and files leave no
# dangling edge, errors are reported (a file that does not parse is skipped and keeps
# its graph; one clang recovers from is indexed),
# compile_commands.json is used, clear errors, `code watch` picks up an edit, and
# parsing on several threads (--jobs) gives exactly what one thread gives.
# Env: STELE_BIN (set by CTest), STELE_TESTDATA (tests/). STELE_KEEP_TMP=1 keeps the
# scratch directory.
set -u

S=${STELE_BIN:?set STELE_BIN to the stele binary}
case $S in /*) ;; *) S=$PWD/$S ;; esac
FIX=${STELE_TESTDATA:-$(cd "$(dirname "$0")/.." && pwd)}/fixtures/codeproj
T=$(mktemp -d "${TMPDIR:-/tmp}/stele-code-XXXXXX") || exit 1
WPID=
passed=0
failed=0

cleanup() {
    if [ -n "$WPID" ] && kill -0 "$WPID" 2>/dev/null; then kill -KILL "$WPID"; fi
    if [ -z "${STELE_KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() {
    local what=$1
    shift
    if "$@"; then ok; else bad "$what"; fi
}
check_eq() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi; }
check_has() { case $2 in *"$3"*) ok ;; *) bad "$1: '$3' not in: $2" ;; esac; }
check_lacks() { case $2 in *"$3"*) bad "$1: '$3' should not be in: $2" ;; *) ok ;; esac; }
# check_set DESCRIPTION EXPECTED ACTUAL: equal as sorted sets of lines, else the diff.
check_set() {
    local d
    d=$(diff <(printf '%s\n' "$2" | grep . | LC_ALL=C sort) <(printf '%s\n' "$3" | grep . | LC_ALL=C sort))
    if [ -z "$d" ]; then ok; else bad "$1 (< expected, > actual):"$'\n'"$d"; fi
}
run() {
    "$@" >"$T/.out" 2>"$T/.err"
    RC=$?
    OUT=$(cat "$T/.out")
    ERR=$(cat "$T/.err")
}

export STELE_STORE="$T/store" STELE_USER=coder STELE_PASSWORD="pw-$RANDOM"
unset STELE_DURABILITY
"$S" init --kdf-profile insecure-test >/dev/null 2>&1 || { echo "init failed"; exit 1; }

# ---- reading the graph back -----------------------------------------------------
# q.py MODE: reads NDJSON exports of the code collections on stdin, each line prefixed
# with its collection and a tab. Paths outside the project (system headers) print as
# <ext>/basename so that the expectations hold on any machine.
cat >"$T/q.py" <<'EOF'
import json, os, sys
mode = sys.argv[1]
docs = []
for line in sys.stdin:
    coll, _, text = line.rstrip("\n").partition("\t")
    if text:
        docs.append((coll, json.loads(text)))
def short(ref):
    coll, _, key = ref.partition("/")
    return coll + "/" + ("<ext>/" + os.path.basename(key) if key.startswith("/") else key)
def key(k):
    return "<ext>/" + os.path.basename(k) if k.startswith("/") else k
nodes = {(c, d["_id"]): d for c, d in docs if c != "code_edges"}
edges = [d for c, d in docs if c == "code_edges"]
if mode == "nodes":
    for (c, k), d in nodes.items():
        ext = d.get("external") is True
        where = "-" if ext and "file" not in d else d.get("file", "NOFILE") if not ext else "BAD"
        print(c, key(k), where)
elif mode == "edges":  # every edge but DEFINES; CALLS with its count
    for d in edges:
        if d["_label"] != "DEFINES":
            extra = " %d" % d["count"] if d["_label"] == "CALLS" else ""
            print(d["_label"], short(d["_from"]), short(d["_to"]) + extra)
elif mode == "defines":
    for d in edges:
        if d["_label"] == "DEFINES":
            print(d["_label"], short(d["_from"]), short(d["_to"]))
elif mode == "check":  # invariants: endpoints exist, "file" is the source's file, _id
    for d in edges:
        for end in ("_from", "_to"):
            c, _, k = d[end].partition("/")
            if (c, k) not in nodes:
                print("dangling", d["_id"], end)
        c, _, k = d["_from"].partition("/")
        src = nodes.get((c, k), {})
        if d.get("file") != src.get("file"):
            print("edge file", d["_id"], d.get("file"), src.get("file"))
        if d["_id"] != "%s|%s|%s" % (d["_label"], d["_from"], d["_to"]):
            print("edge id", d["_id"])
        if not isinstance(d.get("line"), int):
            print("edge line", d["_id"])
elif mode.startswith("get:"):  # get:coll/key/property
    c, k, prop = mode[4:].split("|")
    print(json.dumps(nodes.get((c, k), {}).get(prop)))
EOF

COLLS="file function type typedef global macro field code_edges"
dump() { # all code collections, each line prefixed with its collection
    local c
    for c in $COLLS; do "$S" export "$c" 2>/dev/null | sed "s/^/$c\t/"; done
}
q() { dump | python3 "$T/q.py" "$1"; }
prop() { q "get:$1|$2|$3"; }
head_lsn() { "$S" stat 2>/dev/null | sed -n 's/.*"head_lsn": *\([0-9]*\).*/\1/p'; }

# ---- the expected graph of the fixture ---------------------------------------------
NODES='field ops.twice include/types.h
field ops.visit include/types.h
field point.x include/types.h
field point.y include/types.h
field shape.corners include/types.h
field shape.name include/types.h
field shape.ncorners include/types.h
field shape.origin include/types.h
file <ext>/stddef.h -
file <ext>/stdio.h -
file include/proj.h include/proj.h
file include/types.h include/types.h
file src/alpha.c src/alpha.c
file src/beta.c src/beta.c
file src/main.c src/main.c
file tools/extra.c tools/extra.c
function alpha src/alpha.c
function apply src/beta.c
function beta src/beta.c
function main src/main.c
function printf -
function report src/alpha.c
function src/alpha.c:helper src/alpha.c
function src/beta.c:helper src/beta.c
function src/beta.c:square src/beta.c
function tools/extra.c:main tools/extra.c
global counter src/main.c
global src/beta.c:table src/beta.c
macro PROJ_MAX include/proj.h
type ops include/types.h
type point include/types.h
type shape include/types.h
typedef shape_t include/types.h
typedef size_t -
typedef visit_fn include/types.h'

CALLS='CALLS function/alpha function/beta 1
CALLS function/alpha function/src/alpha.c:helper 1
CALLS function/beta function/alpha 1
CALLS function/beta function/src/beta.c:helper 1
CALLS function/main function/alpha 1
CALLS function/main function/apply 1
CALLS function/main function/report 1
CALLS function/report function/printf 2
CALLS function/tools/extra.c:main function/beta 1'
REFERENCES='REFERENCES function/main function/alpha
REFERENCES global/src/beta.c:table function/src/beta.c:helper
REFERENCES global/src/beta.c:table function/src/beta.c:square'
HAS_FIELD='HAS_FIELD type/ops field/ops.twice
HAS_FIELD type/ops field/ops.visit
HAS_FIELD type/point field/point.x
HAS_FIELD type/point field/point.y
HAS_FIELD type/shape field/shape.corners
HAS_FIELD type/shape field/shape.name
HAS_FIELD type/shape field/shape.ncorners
HAS_FIELD type/shape field/shape.origin'
INCLUDES='INCLUDES file/include/proj.h file/include/types.h
INCLUDES file/include/types.h file/<ext>/stddef.h
INCLUDES file/src/alpha.c file/<ext>/stdio.h
INCLUDES file/src/alpha.c file/include/proj.h
INCLUDES file/src/beta.c file/include/proj.h
INCLUDES file/src/main.c file/include/proj.h
INCLUDES file/tools/extra.c file/include/proj.h'
USES_TYPE='USES_TYPE field/ops.visit typedef/visit_fn
USES_TYPE field/shape.corners type/point
USES_TYPE field/shape.ncorners typedef/size_t
USES_TYPE field/shape.origin type/point
USES_TYPE function/main type/point
USES_TYPE function/main typedef/shape_t
USES_TYPE function/main typedef/visit_fn
USES_TYPE function/report typedef/shape_t
USES_TYPE global/src/beta.c:table type/ops
USES_TYPE typedef/shape_t type/shape'
EDGES="$CALLS
$REFERENCES
$HAS_FIELD
$INCLUDES
$USES_TYPE"
# DEFINES: the file of each defined (not external) node to the node.
defines_of() { printf '%s\n' "$1" | awk '$3 != "-" && $1 != "file" { print "DEFINES file/" $3 " " $1 "/" $2 }'; }

# ---- help and usage ------------------------------------------------------------------
run "$S" code --help
check_eq "code --help exit" 0 "$RC"
check_has "code --help text" "$OUT" "usage: stele code index DIR"
check_has "main help lists code" "$("$S" --help)" "code index DIR"
run "$S" code
check_eq "code without a subcommand" 2 "$RC"
run "$S" code frobnicate "$T"
check_eq "unknown code subcommand" 2 "$RC"
check_has "usage message" "$ERR" "usage: stele code"

# ---- index the fixture ---------------------------------------------------------------
P="$T/proj"
cp -r "$FIX" "$P"
run "$S" code index "$P"
check_eq "index exit" 0 "$RC"
check_has "summary counts" "$OUT" "indexed 6 files (0 with errors), skipped 0: 35 nodes, 62 edges"
check_has "summary throughput" "$OUT" "lines/s"
check_eq "index prints no errors" "" "$ERR"
check_set "nodes per collection" "$NODES" "$(q nodes)"
check_set "edges (CALLS REFERENCES HAS_FIELD INCLUDES USES_TYPE)" "$EDGES" "$(q edges)"
check_set "DEFINES" "$(defines_of "$NODES")" "$(q defines)"
check_eq "edge invariants" "" "$(q check)"

# properties
check_has "doc comment of alpha" "$(prop function alpha doc)" "Counts down through beta"
check_has "doc comment of a struct" "$(prop type shape doc)" "A polygon"
check_eq "no doc comment on beta" null "$(prop function beta doc)"
check_eq "signature of report" '"void report(const shape_t *s)"' "$(prop function report signature)"
check_eq "signature of main" '"int main(void)"' "$(prop function main signature)"
check_has "signature of printf" "$(prop function printf signature)" "int printf(const char *"
check_eq "printf is external" true "$(prop function printf external)"
check_eq "alpha is not external" false "$(prop function alpha external)"
check_eq "static helper" true "$(prop function "src/beta.c:helper" static)"
check_eq "static global" true "$(prop global "src/beta.c:table" static)"
check_eq "extern global" false "$(prop global counter static)"
check_eq "macro is function-like" true "$(prop macro PROJ_MAX function_like)"
check_eq "macro text" '"PROJ_MAX(a, b) ((a) > (b) ? (a) : (b))"' "$(prop macro PROJ_MAX signature)"
check_eq "line of alpha" 11 "$(prop function alpha line)"
check_eq "end line of alpha" 15 "$(prop function alpha end_line)"
check_eq "field type" '"struct point *"' "$(prop field shape.corners signature)"
check_eq "struct kind" '"struct"' "$(prop type shape kind)"
check_eq "file kind" '"header"' "$(prop file include/types.h kind)"
check_eq "file lines" 28 "$(prop file include/types.h end_line)"
check_has "the root is recorded" "$("$S" get code_meta index 2>/dev/null)" \
    "\"root\":\"$(cd "$P" && pwd -P)\""

# ---- indexing twice writes nothing -------------------------------------------------
before=$(dump | sha256sum)
h1=$(head_lsn)
run "$S" code index "$P"
check_eq "second index exit" 0 "$RC"
check_has "second index writes nothing" "$OUT" "0 documents written (0 new, 0 changed, 0 deleted, 97 unchanged)"
check_eq "second index appends no record" "$h1" "$(head_lsn)"
check_eq "second index: same documents" "$before" "$(dump | sha256sum)"

# ---- update one file --------------------------------------------------------------
edges0=$(q edges; q defines)
cat >"$P/src/beta.c" <<'EOF'
#include "proj.h"

static int helper(int v)
{
    return v * 2;
}

static int square(int v)
{
    return v * v;
}

static const struct ops table = {.visit = square, .twice = helper};

int gamma_fn(int n)
{
    return helper(n) + square(n);
}

int beta(int n)
{
    if (n <= 0) return helper(0);
    return gamma_fn(n - 1) + PROJ_MAX(n, 1);
}

int apply(int v)
{
    return table.visit(v) + table.twice(v);
}
EOF
h1=$(head_lsn)
run "$S" code update "$P/src/beta.c"
check_eq "update exit" 0 "$RC"
check_has "update summary" "$OUT" "updated src/beta.c"
check_eq "update is one transaction" $((h1 + 1)) "$(head_lsn)"
edges1=$(q edges; q defines)
check_set "update: edges removed" "CALLS function/beta function/alpha 1" \
    "$(comm -23 <(printf '%s\n' "$edges0" | LC_ALL=C sort) <(printf '%s\n' "$edges1" | LC_ALL=C sort))"
check_set "update: edges added" "CALLS function/beta function/gamma_fn 1
CALLS function/gamma_fn function/src/beta.c:helper 1
CALLS function/gamma_fn function/src/beta.c:square 1
DEFINES file/src/beta.c function/gamma_fn" \
    "$(comm -13 <(printf '%s\n' "$edges0" | LC_ALL=C sort) <(printf '%s\n' "$edges1" | LC_ALL=C sort))"
check_set "update: nodes" "$NODES
function gamma_fn src/beta.c" "$(q nodes)"
check_eq "update: edge invariants" "" "$(q check)"
check_eq "update: line of apply moved" 26 "$(prop function apply line)"
h1=$(head_lsn)
run "$S" code index "$P"
check_has "a full index after the update finds nothing to change" "$OUT" "0 documents written"
check_eq "... and appends no record" "$h1" "$(head_lsn)"
run "$S" code update "$P/src/beta.c"
check_eq "updating an unchanged file" 0 "$RC"
check_has "unchanged file" "$OUT" "src/beta.c unchanged"
check_eq "an unchanged update appends nothing" "$h1" "$(head_lsn)"
run "$S" code update "$P/src/../src/beta.c"
check_eq "a path with .. is the same file" 0 "$RC"

# a function other files call disappears: like a full index, the update makes it an
# external node and keeps the other files' calls; the file's own edges to it go
check_has "beta.c defines apply before" "$(q defines)" "function/apply"
sed -i '/^int apply(int v)$/,$d' "$P/src/beta.c"
run "$S" code update "$P/src/beta.c"
check_eq "update without apply" 0 "$RC"
check_eq "the still-called apply is external after the update" true "$(prop function apply external)"
check_eq "... and defined in no file" "function apply -" "$(q nodes | grep '^function apply ')"
check_has "... with main's call kept" "$(q edges)" "CALLS function/main function/apply 1"
check_eq "... and no edge from beta.c to it" "" "$(q edges | grep 'function/apply' | grep -v 'function/main')"
check_eq "... nor the DEFINES edge" "" "$(q defines | grep 'function/apply')"
check_eq "no dangling edge after removing a called function" "" "$(q check)"
edges_after_update=$(q edges | LC_ALL=C sort)
run "$S" code index "$P"
check_eq "a full index agrees: apply external" true "$(prop function apply external)"
check_eq "... and the same edges" "$edges_after_update" "$(q edges | LC_ALL=C sort)"

# a deleted file leaves the graph
rm "$P/tools/extra.c"
run "$S" code update "$P/tools/extra.c"
check_eq "update of a deleted file" 0 "$RC"
check_has "deleted file summary" "$OUT" "removed tools/extra.c"
check_eq "its nodes are gone" "" "$(q nodes | grep 'tools/extra.c')"
check_eq "its edges are gone" "" "$({ q edges; q defines; } | grep 'tools/extra.c')"
check_eq "no dangling edge after a deleted file" "" "$(q check)"
run "$S" code update "$P/tools/extra.c"
check_eq "a file neither on disk nor in the graph" 6 "$RC"
check_has "... says so" "$ERR" "neither a file nor in the code graph"
run "$S" code update "$P/include"
check_eq "update of something that is not a C file" 2 "$RC"
check_has "... says so" "$ERR" "is not a C file"
run "$S" code update "$T/elsewhere.c"
check_eq "a file outside the root" 2 "$RC"
check_has "... says so" "$ERR" "is not inside the indexed root"

# a file with errors clang recovers from: reported, indexed as far as clang got
printf 'int broken(void)\n{\n    return 1 +;\n}\n' >>"$P/src/beta.c"
run "$S" code update "$P/src/beta.c"
check_eq "update of a file with errors" 0 "$RC"
check_has "the error names the file and line" "$ERR" "src/beta.c:28: error:"
check_has "the summary says so" "$OUT" "updated src/beta.c (with errors)"
check_has "what clang recovered is indexed" "$(q nodes)" "function broken src/beta.c"

# a file that does not parse (a fatal error): reported, nothing written
sed -i '1i #include "nope.h"' "$P/src/beta.c"
before=$(dump | sha256sum)
run "$S" code update "$P/src/beta.c"
check_eq "update of a file that does not parse" 1 "$RC"
check_has "the fatal error names the file and line" "$ERR" "src/beta.c:1: fatal error:"
check_has "the graph is unchanged, says the message" "$ERR" "does not parse; its part of the graph is unchanged"
check_eq "the graph is unchanged" "$before" "$(dump | sha256sum)"

# ---- index with errors ------------------------------------------------------------------
printf '#include "proj.h"\nint odd(void)\n{\n    return alpha(1) +;\n}\n' >"$P/src/broken.c"
run "$S" code index "$P"
check_eq "index with broken files still succeeds" 0 "$RC"
check_has "the broken file is reported" "$ERR" "src/broken.c:4: error:"
check_has "the file that does not parse too" "$ERR" "src/beta.c:1: fatal error:"
check_has "the summary counts them" "$OUT" "indexed 5 files (1 with errors), skipped 1"
check_has "the broken file is indexed as far as it goes" "$(q nodes)" "function odd src/broken.c"
check_eq "a skipped file keeps its graph" src/beta.c "$(q nodes | awk '$1 == "function" && $2 == "beta" { print $3 }')"
check_has "... and its edges" "$(q edges)" "CALLS function/beta function/gamma_fn 1"
check_eq "edge invariants with skipped files" "" "$(q check)"

# ---- parallel parsing ------------------------------------------------------------------
# --jobs N gives exactly the documents, errors (in order) and counts of --jobs 1: on the
# fixture (with the file that does not parse and the one with errors from above), and on
# a copy of Stele's own src/ and include/ (with the build's compile_commands.json when the
# test finds it next to STELE_BIN, else the default flags).
# index_jobs STORE DIR N: a fresh store, then `code index DIR --jobs N`; OUT, ERR, RC and
# DUMP (the digest of every code collection).
index_jobs() {
    rm -rf "$1"
    if ! STELE_STORE="$1" "$S" init --kdf-profile insecure-test >/dev/null 2>&1; then
        bad "init $1"
        return
    fi
    run env STELE_STORE="$1" "$S" code index "$2" --jobs "$3"
    DUMP=$(STELE_STORE="$1" dump | sha256sum)
}
summary_counts() { printf '%s\n' "$1" | sed 's/ lines in .*//'; }
same_as_one_thread() { # NAME DIR N...
    local name=$1 dir=$2 out1 err1 dump1 rc1 n
    shift 2
    index_jobs "$T/pstore" "$dir" 1
    out1=$OUT err1=$ERR dump1=$DUMP rc1=$RC
    check_has "$name --jobs 1: one thread" "$out1" "on 1 thread)"
    for n in "$@"; do
        index_jobs "$T/pstore" "$dir" "$n"
        check_eq "$name --jobs $n: exit" "$rc1" "$RC"
        check_has "$name --jobs $n: $n threads" "$OUT" "on $n threads)"
        check_eq "$name --jobs $n: the same counts" "$(summary_counts "$out1")" \
            "$(summary_counts "$OUT")"
        check_eq "$name --jobs $n: the same errors in the same order" "$err1" "$ERR"
        check_eq "$name --jobs $n: the same documents" "$dump1" "$DUMP"
    done
}
same_as_one_thread fixture "$P" 2 4 16
check_has "with threads, the file that does not parse is reported" "$ERR" \
    "src/beta.c:1: fatal error:"
check_has "... and skipped" "$OUT" "indexed 5 files (1 with errors), skipped 1"
pnodes=$(STELE_STORE="$T/pstore" q nodes)
check_has "... and the file with errors is indexed" "$pnodes" "function odd src/broken.c"
check_lacks "... but not the one that does not parse" "$pnodes" "src/beta.c src/beta.c"

SRC=$(cd "$(dirname "$FIX")/../.." && pwd -P)
B="$T/big"
mkdir -p "$B/build"
cp -r "$SRC/src" "$SRC/include" "$B/"
CDB="$(dirname "$S")/compile_commands.json"
if [ -f "$CDB" ]; then
    sed "s|$SRC/src|$B/src|g; s|$SRC/include|$B/include|g" "$CDB" >"$B/build/compile_commands.json"
fi
same_as_one_thread "Stele's source" "$B" 3 8
check_has "Stele's source is indexed" "$OUT" "indexed "
check_has "... with its functions" "$(STELE_STORE="$T/pstore" "$S" get function cg_parse_files)" \
    '"file":"src/code/parse.c"'

# --jobs is checked
run "$S" code index "$P" --jobs 0
check_eq "--jobs 0" 2 "$RC"
run "$S" code index "$P" --jobs 65
check_eq "--jobs above the limit" 2 "$RC"
check_has "... says the range" "$ERR" "--jobs takes 1 to 64 threads"
run "$S" code update "$P/src/alpha.c" --jobs 2
check_eq "--jobs with update" 2 "$RC"
check_has "... says where it belongs" "$ERR" "option of 'stele code index' only"

# ---- clear errors -------------------------------------------------------------------------
run "$S" code index "$T/no-such-dir"
check_eq "nonexistent directory" 2 "$RC"
check_has "nonexistent directory message" "$ERR" "cannot index '$T/no-such-dir': No such file or directory"
run "$S" code index "$P/src/alpha.c"
check_eq "not a directory" 2 "$RC"
check_has "not a directory message" "$ERR" "not a directory"
mkdir -p "$T/junk"
printf '#include "missing.h"\nint x;\n' >"$T/junk/bad.c"
h1=$(head_lsn)
run "$S" code index "$T/junk"
check_eq "nothing parseable" 1 "$RC"
check_has "nothing parseable message" "$ERR" "no file under"
check_has "nothing parseable names the error" "$ERR" "bad.c:1: fatal error: 'missing.h' file not found"
check_eq "nothing parseable writes nothing" "$h1" "$(head_lsn)"
run env STELE_STORE="$T/store2" "$S" init --kdf-profile insecure-test
run env STELE_STORE="$T/store2" "$S" code update "$P/src/alpha.c"
check_eq "update without an index" 6 "$RC"
check_has "update without an index message" "$ERR" "run 'stele code index DIR' first"

# ---- compile_commands.json ------------------------------------------------------------
Q="$T/withdb"
mkdir -p "$Q/src" "$Q/build"
printf '#ifdef USE_GAMMA\nint gamma_on(void) { return 1; }\n#else\nint gamma_off(void) { return 0; }\n#endif\n' >"$Q/src/g.c"
printf '#ifdef USE_GAMMA\n#define GAMMA_ON 1\n#endif\n' >"$Q/src/g.h"
printf '/* caf\351 au lait */\nint latin(void) { return 0; }\n' >"$Q/latin.c"
printf '[{"directory":"%s","command":"cc -DUSE_GAMMA -Werror -c src/g.c -o g.o","file":"src/g.c"}]\n' \
    "$Q" >"$Q/build/compile_commands.json"
run "$S" --db primary code index "$Q"
check_eq "index with a compilation database" 0 "$RC"
check_has "the database's flags are used" "$(q nodes)" "function gamma_on src/g.c"
check_lacks "... not the defaults" "$(q nodes)" "gamma_off"
check_has "a header borrows the flags of its directory's file" "$(q nodes)" "macro GAMMA_ON src/g.h"
check_eq "a comment that is not UTF-8 is kept, its bytes replaced" '"/* caf? au lait */"' \
    "$(prop function latin doc)"
check_has "the root changed: said" "$ERR" "now holds"
check_eq "the old root's graph is gone" "" "$(q nodes | grep 'alpha')"

# ---- watch ---------------------------------------------------------------------------------
W="$T/watched"
cp -r "$FIX" "$W"
run "$S" code index "$W"
"$S" code watch "$W" >"$T/watch.out" 2>&1 &
WPID=$!
for _ in $(seq 1 100); do grep -q '^watching' "$T/watch.out" && break; sleep 0.1; done
check_has "watch starts" "$(cat "$T/watch.out")" "watching $(cd "$W" && pwd -P) ("
# wait_for DESCRIPTION COMMAND...: polls the command for up to 20 s.
wait_for() {
    local what=$1 i
    shift
    for i in $(seq 1 100); do
        if "$@" >/dev/null 2>&1; then ok; return 0; fi
        sleep 0.2
    done
    bad "$what (not within 20 s)"
}
has_doc() { "$S" get "$1" "$2"; }
printf 'int delta(void)\n{\n    return alpha(4);\n}\n' >>"$W/src/main.c"
mkdir "$W/src/sub"
printf '#include "proj.h"\nint epsilon(void) { return beta(2); }\n' >"$W/src/sub/e.c"
wait_for "watch indexes an edited file" has_doc function delta
wait_for "watch indexes a file in a new directory" has_doc function epsilon
check_has "watch: the call is there" "$(q edges)" "CALLS function/delta function/alpha 1"
check_has "watch: the new file's call" "$(q edges)" "CALLS function/epsilon function/beta 1"
# a header changes, then a file that includes it: the kept parse of main.c must see it
sed -i 's|^#endif$|static inline int omega(void) { return 7; }\n#endif|' "$W/include/proj.h"
wait_for "watch indexes an edited header" has_doc function include/proj.h:omega
printf 'int zeta(void)\n{\n    return omega();\n}\n' >>"$W/src/main.c"
wait_for "watch re-parses a file with its changed header" \
    has_doc code_edges "CALLS|function/zeta|function/include/proj.h:omega"
check_has "watch reports the update with its time" "$(cat "$T/watch.out")" "updated src/main.c"
check_has "watch reports the new file" "$(cat "$T/watch.out")" "updated src/sub/e.c"
kill -TERM "$WPID"
for _ in $(seq 1 100); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$WPID" 2>/dev/null; then
    bad "watch did not stop on SIGTERM"
else
    wait "$WPID"
    check_eq "watch exits 0 on SIGTERM" 0 "$?"
    WPID=
fi
check_has "watch says it stopped" "$(cat "$T/watch.out")" "stopped"
check_eq "edge invariants after watch" "" "$(q check)"
run "$S" code index "$W"
check_has "a full index after watch finds nothing to change" "$OUT" "0 documents written"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
