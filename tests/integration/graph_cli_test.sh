#!/usr/bin/env bash
# The graph commands of the `stele` CLI: answers on a small known graph, the compact
# query syntax, as-of, exit codes and messages, refused edge writes change nothing.
# Env: STELE_BIN (set by CTest).
HARNESS_USER=gr
. "$(dirname "$0")/lib/harness.sh"

"$S" init --kdf-profile insecure-test --segment-size 65536 >/dev/null || { echo "init failed"; exit 1; }
run "$S" txn '{"ops":[{"op":"create_collection","coll":"fn"},{"op":"create_collection","coll":"e"},
 {"op":"insert","coll":"fn","doc":{"_id":"main","static":false}},
 {"op":"insert","coll":"fn","doc":{"_id":"parse","static":true}},
 {"op":"insert","coll":"fn","doc":{"_id":"lex","static":true}},
 {"op":"insert","coll":"fn","doc":{"_id":"free","static":false}},
 {"op":"insert","coll":"e","doc":{"_from":"fn/main","_to":"fn/parse","_label":"CALLS"}},
 {"op":"insert","coll":"e","doc":{"_from":"fn/parse","_to":"fn/lex","_label":"CALLS"}},
 {"op":"insert","coll":"e","doc":{"_from":"fn/lex","_to":"fn/free","_label":"CALLS"}},
 {"op":"insert","coll":"e","doc":{"_from":"fn/parse","_to":"fn/free","_label":"CALLS"}}]}'
expect_rc 0 "setup"
LSN1=$(sed 's/.*"lsn":\([0-9]*\).*/\1/' <<<"$OUT")

run "$S" graph neighbors fn/free --dir in --label CALLS
expect_rc 0 "neighbors"
[ "$(compact "$OUT")" = '{"count":2,"neighbors":["fn/parse","fn/lex"]}' ] && ok || no "neighbors: $OUT"
run "$S" graph traverse fn/free --dir in --depth 2 --format table
expect_rc 0 "traverse table"
expect_has "$OUT" "2     fn/main" "main is 2 hops above free"
run "$S" graph query 'minus(in(nodes(fn/free), CALLS, 3), where(fn, {"static":true}))'
expect_rc 0 "compact query"
[ "$(compact "$OUT")" = '{"count":1,"nodes":["fn/main"]}' ] && ok || no "compact query: $OUT"
run "$S" graph query '{"intersect":[{"collection":"fn"},{"outward":[]}]}'
expect_rc 2 "unknown set operator"
expect_has "$ERR" "unknown set operator" "unknown set operator message"
run "$S" graph query 'out(nodes(fn/main), CALLS'
expect_rc 2 "unbalanced compact query"
expect_has "$ERR" "column" "compact syntax error names the column"
run "$S" graph path fn/main fn/free
[ "$(compact "$OUT")" = '{"hops":2,"path":["fn/main","fn/parse","fn/free"]}' ] && ok || no "path: $OUT"
run "$S" graph topo
[ "$(compact "$OUT")" = '{"order":["fn/main","fn/parse","fn/lex","fn/free"],"count":4}' ] && ok || no "topo: $OUT"
run "$S" graph neighbors fn/nobody
expect_rc 6 "missing node"
expect_has "$ERR" "no node 'fn/nobody'" "missing node message"
run "$S" graph frobnicate
expect_rc 2 "unknown subcommand"
run "$S" graph --help
expect_rc 0 "help"
expect_has "$OUT" "set algebra" "help describes query"

before=$(snap)
run "$S" put e '{"_from":"fn/main","_to":"fn/ghost"}'
expect_rc 6 "edge to a missing node"
expect_has "$ERR" "dangling" "message says how to allow it"
run "$S" delete fn lex
expect_rc 6 "delete a linked node"
expect_has "$ERR" "cascade" "message says how to cascade"
[ "$before" = "$(snap)" ] && ok || no "refused edge writes changed a file"

run "$S" txn '{"ops":[{"op":"delete","coll":"fn","id":"lex","cascade":true}]}'
expect_rc 0 "cascade delete"
run "$S" graph neighbors fn/free --dir in
[ "$(compact "$OUT")" = '{"count":1,"neighbors":["fn/parse"]}' ] && ok || no "after cascade: $OUT"
run "$S" graph neighbors fn/free --dir in --as-of "$LSN1"
[ "$(compact "$OUT")" = '{"count":2,"neighbors":["fn/parse","fn/lex"]}' ] && ok || no "as of: $OUT"
run "$S" graph scc
[ "$(compact "$OUT")" = '{"components":3,"largest":1,"sccs":[],"listed":0}' ] && ok || no "scc: $OUT"

# bulk import (TSV), triples export, triples import
printf 'N\tmod/a\t{"size":3}\nN\tmod/b\nE\tmod/a\tDEPENDS\tmod/b\t{"since":2024}\n' > "$T/g.tsv"
run "$S" graph import "$T/g.tsv"
expect_rc 0 "graph import tsv"
run "$S" graph neighbors mod/a --label DEPENDS
[ "$(compact "$OUT")" = '{"count":1,"neighbors":["mod/b"]}' ] && ok || no "imported edge: $OUT"
before=$(snap)
printf 'N\tmod/c\nE\tmod/c\tDEPENDS\n' > "$T/bad.tsv"
run "$S" graph import "$T/bad.tsv"
expect_rc 2 "bad tsv line"
expect_has "$ERR" "bad.tsv:2:" "bad line named with its number"
[ "$before" = "$(snap)" ] && ok || no "a refused graph import changed a file"
run "$S" graph triples
expect_rc 0 "triples export"
expect_has "$OUT" "$(printf '<mod/a>\tDEPENDS\t<mod/b>')" "edge triple"
expect_has "$OUT" "$(printf '<mod/a>\tsize\t3')" "literal triple"
printf '<mod/z>\tname\t"zed"\n<mod/z>\tDEPENDS\t<mod/a>\n' > "$T/t.tri"
run "$S" graph import "$T/t.tri" --format triples
expect_rc 0 "triples import"
run "$S" graph traverse mod/z --depth 2
[ "$(compact "$OUT")" = '{"count":3,"nodes":[{"dist":0,"node":"mod/z"},{"dist":1,"node":"mod/a"},{"dist":2,"node":"mod/b"}]}' ] && ok || no "triples graph: $OUT"

echo "graph cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
