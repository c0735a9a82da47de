#!/usr/bin/env bash
# The document commands of the `stele` CLI: exit codes, messages, and that refused
# writes change nothing. Env: STELE_BIN (set by CTest).
HARNESS_USER=doc
. "$(dirname "$0")/lib/harness.sh"

"$S" init --kdf-profile insecure-test --segment-size 65536 >/dev/null || { echo "init failed"; exit 1; }

run "$S" collection create users;            expect_rc 0 "collection create"
run "$S" collection create users;            expect_rc 6 "collection create twice"
expect_has "$ERR" "already exists" "duplicate collection message"
run "$S" put users '{"_id":"u1","name":"Ann","age":31}'; expect_rc 0 "put"
expect_has "$OUT" '"_id":"u1"' "put prints the _id"
run "$S" put users '{"name":"Bob"}';         expect_rc 0 "put without _id"
expect_has "$OUT" '"_id":"' "a generated _id is printed"
run "$S" put users '{"_id":"u1"}';           expect_rc 6 "duplicate _id"
expect_has "$ERR" "already exists" "duplicate _id message"
before=$(snap)
run "$S" put users '{"_id":"u2",';           expect_rc 2 "malformed JSON"
expect_has "$ERR" "column" "malformed JSON names the column"
run "$S" put users '[1,2]';                  expect_rc 2 "non-object document"
run "$S" put nosuch '{"a":1}';               expect_rc 6 "unknown collection"
expect_has "$ERR" "no collection 'nosuch'" "unknown collection message"
[ "$before" = "$(snap)" ] && ok || no "refused writes changed a file"
run "$S" patch users u1 '{"age":32,"city":"Oslo"}'; expect_rc 0 "patch"
run "$S" get users u1;                       expect_rc 0 "get"
expect_has "$OUT" '"age":32' "patched field"
expect_has "$OUT" '"_rev":2' "revision counted"
LSN1=$("$S" history users u1 | head -n 1 | sed 's/.*"_lsn":\([0-9]*\).*/\1/')
run "$S" get users u1 --as-of "$LSN1";       expect_rc 0 "get as of"
expect_has "$OUT" '"age":31' "as-of shows the old value"
TS1=$("$S" history users u1 | head -n 1 | sed 's/.*"_ts":"\([^"]*\)".*/\1/')
TS2=$("$S" history users u1 | tail -n 1 | sed 's/.*"_ts":"\([^"]*\)".*/\1/')
run "$S" get users u1 --as-of "$TS1";        expect_rc 0 "get as of a time"
expect_has "$OUT" '"_rev":1' "as of the first revision's own time: revision 1"
run "$S" get users u1 --as-of "$TS2";        expect_rc 0 "get as of the second time"
expect_has "$OUT" '"_rev":2' "as of the second revision's time: revision 2"
run "$S" get users u1 --as-of 2000-01-01T00:00:00Z; expect_rc 6 "as of before anything"
run "$S" get users u1 --as-of yesterday;     expect_rc 2 "an unreadable --as-of"
expect_has "$ERR" "UTC time" "the --as-of message says what it takes"
run "$S" replace users u1 '{"name":"Ann B"}' --rev 1; expect_rc 6 "stale --rev"
expect_has "$ERR" "revision 2, not 1" "conflict message"
run "$S" replace users u1 '{"name":"Ann B"}' --rev 2; expect_rc 0 "replace with the right rev"
run "$S" delete users u1;                    expect_rc 0 "delete"
run "$S" get users u1;                       expect_rc 6 "deleted documents are hidden"
expect_has "$ERR" "deleted" "get says it is deleted"
run "$S" restore users u1;                   expect_rc 0 "restore"
run "$S" history users u1;                   expect_rc 0 "history"
[ "$(printf '%s\n' "$OUT" | wc -l)" = 5 ] && ok || no "history has 5 revisions: $OUT"
expect_has "$OUT" '"_deleted":true' "history shows the deletion"
run "$S" txn '{"ops":[{"op":"insert","coll":"users","doc":{"_id":"t1"}},{"op":"insert","coll":"x","doc":{}}]}'
expect_rc 6 "failing transaction"
run "$S" get users t1;                       expect_rc 6 "no partial transaction"
run "$S" txn --id once '{"ops":[{"op":"insert","coll":"users","doc":{"_id":"t2"}}]}'
expect_rc 0 "transaction"
run "$S" txn --id once '{"ops":[{"op":"insert","coll":"users","doc":{"_id":"t2"}}]}'
expect_rc 0 "retried transaction with the same idempotency id"
expect_has "$OUT" '"duplicate":true' "retry reported as a duplicate"
run "$S" collection rename users people;     expect_rc 0 "rename"
run "$S" collection list;                    expect_rc 0 "list"
expect_has "$OUT" '"people"' "renamed collection listed"
run "$S" get people u1;                      expect_rc 0 "documents follow the rename"
run "$S" put people '{"_id":"q1","role":"admin","tags":["x","y"]}'; expect_rc 0 "put q1"
run "$S" put people '{"_id":"q2","role":"user","tags":["y"]}';      expect_rc 0 "put q2"
run "$S" count people '{"role":"admin"}';    expect_rc 0 "count"
[ "$OUT" = 1 ] && ok || no "count of admins is 1, got '$OUT'"
run "$S" find people '{"tags":"y"}';         expect_rc 0 "find"
[ "$(printf '%s\n' "$OUT" | grep -c '"_id"')" = 2 ] && ok || no "two documents have tag y: $OUT"
run "$S" find people '{"tags":"y"}' --limit 1; expect_rc 0 "find --limit"
[ "$(printf '%s\n' "$OUT" | grep -c '"_id"')" = 1 ] && ok || no "--limit 1 gives one: $OUT"
run "$S" explain people '{"role":"admin","tags":"y"}'; expect_rc 0 "explain"
expect_has "$OUT" '"membership"' "explain names the membership bitmap"
expect_has "$OUT" '"result": 1' "explain gives the result size"
run "$S" find people '{"age":{"$gtx":3}}';   expect_rc 2 "unknown operator"
expect_has "$ERR" "unknown operator '\$gtx'" "unknown operator message"
run "$S" find people '{"$text":{"$search":"x"}}'; expect_rc 2 "top-level \$text"
expect_has "$ERR" "use {\"field\": {\"\$text\"" "top-level \$text message"
run "$S" find people '{"role":';             expect_rc 2 "malformed filter"
run "$S" find people '{"tags":{"$in":["x","y"]}}' --sort -role --fields role --offset 1
expect_rc 0 "find --sort --fields --offset"
[ "$(printf '%s\n' "$OUT" | grep -c '"_id"')" = 1 ] && ok || no "offset 1 of 2 leaves one: $OUT"
expect_has "$OUT" '{"_id":"q1","role":"admin","_rev"' "sorted by -role (user, admin), projected"
before_q3=$("$S" log list | tail -1 | sed 's/.*"lsn":\([0-9]*\).*/\1/')
run "$S" put people '{"_id":"q3","role":"admin"}'; expect_rc 0 "put q3"
run "$S" count people '{"role":"admin"}' --as-of "$before_q3"; expect_rc 0 "count --as-of"
[ "$OUT" = 1 ] && ok || no "one admin as of LSN $before_q3, got '$OUT'"
run "$S" explain people '{"role":"admin"}' --as-of "$before_q3"; expect_rc 0 "explain --as-of"
expect_has "$OUT" "as of LSN $before_q3" "explain names the scan"
run "$S" index create people role;           expect_rc 0 "index create"
run "$S" index create people role;           expect_rc 6 "index create twice"
run "$S" index list people;                  expect_rc 0 "index list"
expect_has "$OUT" '"kind": "explicit"' "index list shows the explicit index"
run "$S" index drop people nope;             expect_rc 6 "index drop of no index"
expect_has "$ERR" "no index on 'nope'" "index drop message"
run "$S" index drop people role;             expect_rc 0 "index drop"
run "$S" log list;                           expect_rc 0 "log list"
expect_has "$OUT" '"kind":"docs"' "transactions are ledger records"
run "$S" verify;                             expect_rc 0 "verify"
for c in collection put get replace patch delete restore history txn find count explain index; do
  run "$S" "$c" --help; expect_rc 0 "$c --help"
done
grep -r -q "Oslo" "$STELE_STORE" && no "plaintext document content on disk" || ok
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
