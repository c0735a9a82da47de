#!/usr/bin/env bash
# `stele import`, `stele export` and `--format table`: exit codes, messages with line
# numbers, refused imports change nothing, round trips, the table's shape, and no
# progress bar when stderr is not a terminal. Env: STELE_BIN (set by CTest).
HARNESS_USER=io
. "$(dirname "$0")/lib/harness.sh"

"$S" init --kdf-profile insecure-test --segment-size 4194304 >/dev/null || { echo "init failed"; exit 1; }

# NDJSON import creates the collection; the report is JSON on stdout
printf '{"_id":"a","n":1,"tags":["x","y"]}\n\n{"_id":"b","n":2.5,"_rev":7}\r\n{"name":"no id"}\n' >"$T/a.ndjson"
run "$S" import users "$T/a.ndjson";           expect_rc 0 "ndjson import"
expect_has "$OUT" '"documents":3' "three documents imported"
expect_has "$OUT" '"created_collection":true' "the collection is created"
[ -z "$ERR" ] && ok || no "no progress bar or summary when stderr is not a terminal: '$ERR'"
run "$S" get users b;                          expect_rc 0 "get an imported document"
expect_has "$OUT" '"_rev":1' "an imported _rev is dropped"

# bad lines: every one reported with its number, nothing written (exit 2)
printf '{"_id":"c"}\n{"_id":"a"}\n{"_id":"c"}\n{"_id": oops}\n[1]\n' >"$T/bad.jsonl"
before=$(snap)
run "$S" import users "$T/bad.jsonl";          expect_rc 2 "bad import"
expect_has "$ERR" "bad.jsonl:2: _id 'a' already exists in 'users'" "line 2 against the collection"
expect_has "$ERR" "bad.jsonl:3: duplicate _id 'c' (first on line 1)" "line 3 duplicate in the file"
expect_has "$ERR" "bad.jsonl:4:9: " "line 4 with its column"
expect_has "$ERR" "bad.jsonl:5: not a JSON object" "line 5 not an object"
expect_has "$ERR" "4 bad lines; nothing was imported" "the total"
[ "$before" = "$(snap)" ] && ok || no "a refused import changed a file"
run "$S" get users c;                          expect_rc 6 "nothing of a refused import is visible"

# more than 100 bad lines: 100 listed, all counted
for i in $(seq 1 130); do echo '[1]'; done | sed '1s/.*/{"_id":"ok1"}/' >"$T/many.ndjson"
run "$S" import users "$T/many.ndjson";        expect_rc 2 "many bad lines"
[ "$(printf '%s\n' "$ERR" | grep -c 'not a JSON object')" = 100 ] && ok || no "100 lines listed"
expect_has "$ERR" "129 bad lines (only the first ones are listed)" "all counted"

# format: from the extension, --format, or an error
cp "$T/a.ndjson" "$T/a.data"
run "$S" import other "$T/a.data";             expect_rc 2 "unknown extension"
expect_has "$ERR" "--format ndjson|csv" "the message says how to name the format"
run "$S" import other "$T/a.data" --format ndjson; expect_rc 0 "--format ndjson"
run "$S" import other2 - --format ndjson <"$T/a.ndjson"; expect_rc 0 "import from stdin"
run "$S" import other3 "$T/a.ndjson" --format xml; expect_rc 2 "unknown --format"

# CSV import: types, nesting, quoting, embedded newline
printf '_id,name,address.city,age,ok,tags,note\r\np1,"Smith, J",Oslo,31,true,"[1,2]","say ""hi""\nbye"\r\np2,Bob,,-4.5,false,,""\r\n' >"$T/p.csv"
run "$S" import people "$T/p.csv";             expect_rc 0 "csv import"
run "$S" get people p1;                        expect_rc 0 "get a csv row"
expect_has "$OUT" '"address":{"city":"Oslo"}' "dotted header nests"
expect_has "$OUT" '"age":31' "a number"
expect_has "$OUT" '"note":"say \"hi\"\nbye"' "quotes and an embedded newline"
expect_has "$OUT" '"tags":[1,2]' "a JSON array cell"
run "$S" get people p2;                        expect_rc 0 "get row 2"
case "$OUT" in *address*) no "an empty cell must leave the field out: $OUT" ;; *) ok ;; esac
printf 'a,b\n1,2,3\n"open\n' >"$T/bad.csv"
run "$S" import people "$T/bad.csv";           expect_rc 2 "bad csv"
expect_has "$ERR" "bad.csv:2: 3 cells where the header has 2" "wrong cell count with its line"
expect_has "$ERR" "bad.csv:3: a quoted cell is not closed" "unterminated quote with its line"

# export -> import round trip, stdout and --output
run "$S" export users;                         expect_rc 0 "export"
[ "$(printf '%s\n' "$OUT" | wc -l)" = 3 ] && ok || no "three lines exported: $OUT"
case "$OUT" in *_rev*|*_lsn*|*_ts*) no "export must drop _rev/_lsn/_ts" ;; *) ok ;; esac
run "$S" export users --output "$T/u.ndjson";  expect_rc 0 "export --output"
[ -z "$OUT" ] && ok || no "--output writes nothing to stdout"
run "$S" import copy "$T/u.ndjson";            expect_rc 0 "import the export"
[ "$("$S" export copy)" = "$("$S" export users)" ] && ok || no "export -> import round trip"
run "$S" export people --output "$T/pe.csv";   expect_rc 0 "csv export by extension"
expect_has "$(head -n 1 "$T/pe.csv")" "_id,address,age,name,note,ok,tags" "csv header"
run "$S" import people2 "$T/pe.csv";           expect_rc 0 "import the csv export"
[ "$("$S" export people2)" = "$("$S" export people)" ] && ok || no "csv round trip"
run "$S" export nosuch;                        expect_rc 6 "export of an unknown collection"
LSN=$(printf '%s' "$("$S" import late - --format ndjson <<<'{"_id":"z"}')" | sed 's/.*"lsn":\([0-9]*\).*/\1/')
run "$S" export users --as-of $((LSN - 1));   expect_rc 0 "export --as-of"

# idempotency id on an import
run "$S" import idem "$T/a.ndjson" --id load-1; expect_rc 0 "import with --id"
run "$S" import idem "$T/a.ndjson" --id load-1; expect_rc 0 "retry with the same --id"
expect_has "$OUT" '"duplicate":true' "the retry is a duplicate"

# --format table
run "$S" collection list --format table;       expect_rc 0 "collection list as a table"
first=$(printf '%s\n' "$OUT" | sed -n 1p); second=$(printf '%s\n' "$OUT" | sed -n 2p)
expect_has "$first" "name" "table header"
expect_has "$first" "documents" "table header has every column"
case "$second" in -*' '*-*) ok ;; *) no "separator line: '$second'" ;; esac
expect_has "$OUT" "users" "a row"
run "$S" history users a --format table;       expect_rc 0 "history as a table"
expect_has "$(printf '%s\n' "$OUT" | sed -n 1p)" "_id" "_id column"
case "$(printf '%s\n' "$OUT" | sed -n 1p)" in _id*) ok ;; *) no "_id comes first: $OUT" ;; esac
[ "$(printf '%s\n' "$OUT" | wc -l)" = 3 ] && ok || no "header, separator, one row: $OUT"
long=$(printf 'x%.0s' $(seq 1 80))
"$S" put users "{\"_id\":\"long\",\"t\":\"$long\"}" >/dev/null
run "$S" get users long --format table;        expect_rc 0 "get as a table"
expect_has "$OUT" "…" "a long cell is cut with an ellipsis"
case "$OUT" in *"$long"*) no "the long cell is not cut" ;; *) ok ;; esac
run "$S" get users a --format json;            expect_rc 0 "--format json"
expect_has "$OUT" '{"_id":"a"' "json is the default output"
run "$S" get users a --format yaml;            expect_rc 2 "unknown --format for get"
run "$S" find users '{}' --limit 2 --format table; expect_rc 0 "find as a table"
[ "$(printf '%s\n' "$OUT" | wc -l)" = 4 ] && ok || no "find table: header, separator, 2 rows: $OUT"
case "$(printf '%s\n' "$OUT" | sed -n 1p)" in _id*) ok ;; *) no "find table: _id first: $OUT" ;; esac
"$S" index create users t >/dev/null              # lazy indices live in one process only
run "$S" index list --format table;            expect_rc 0 "index list as a table"
expect_has "$(printf '%s\n' "$OUT" | sed -n 1p)" "collection" "index list table header"

# full text through the CLI: import, then a ranked $text find
printf '{"_id":"n1","bio":"The runner was running fast"}\n{"_id":"n2","bio":"Slow walkers walk"}\n{"_id":"n3","bio":"run run run"}\n' > "$T/notes.ndjson"
run "$S" import notes "$T/notes.ndjson";        expect_rc 0 "import notes"
run "$S" find notes '{"bio":{"$text":"run"}}'; expect_rc 0 "find with \$text"
case "$(printf '%s\n' "$OUT" | sed -n 1p)" in *'"_id":"n3"'*) ok ;; *) no "best BM25 hit first: $OUT" ;; esac
[ "$(printf '%s\n' "$OUT" | wc -l)" = 2 ] && ok || no "stemmed matches n1 and n3 only: $OUT"
run "$S" find notes '{"bio":{"$text":"walk* -slow"}}'; expect_rc 0 "prefix and exclusion"
[ -z "$OUT" ] && ok || no "exclusion removes n2: $OUT"
run "$S" find notes '{"$text":"run"}';         expect_rc 2 "top-level \$text is refused"
expect_has "$ERR" 'use {"field": {"$text"' "the message says how to write it"

# snapshot through the CLI: written, then used by the next open, and verify passes
run "$S" snapshot;                             expect_rc 0 "snapshot"
expect_has "$OUT" '"fragments":2' "two fragments: the directory and one partition"
run "$S" stat;                                 expect_rc 0 "stat after a snapshot"
expect_has "$OUT" '"problem": null' "the snapshot loads"
run "$S" verify;                               expect_rc 0 "verify with a snapshot"
run "$S" stat --cache-mb 1;                    expect_rc 0 "stat with a cache budget"
expect_has "$OUT" '"budget_bytes": 1048576' "--cache-mb sets the budget"
STELE_CACHE_MB=3 run "$S" stat;                expect_rc 0 "stat with STELE_CACHE_MB"
expect_has "$OUT" '"budget_bytes": 3145728' "STELE_CACHE_MB sets the budget"
run "$S" stat --cache-mb x;                    expect_rc 2 "a budget that is not a number"

echo "io_cli_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
