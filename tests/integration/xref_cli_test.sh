#!/usr/bin/env bash
# References across databases and cached global data through the `stele` CLI:
# an edge into another database, 'stele ref get' for the owner and a member, exit 8
# ("no access") for a user who is not or no longer a member, exit 6 for a missing
# target (unless "dangling"), graph neighbors --docs materializing the other database's
# node, 'ref get --as-of' a time placed in the referenced database's log, 'stele global
# import' whole or nothing, its refresh (--replace: counts, unchanged documents left
# alone, own edges refused or --cascade) and the rule that global data references only
# global data.
# Env: STELE_BIN (set by CTest).
HARNESS_USER=ada
. "$(dirname "$0")/lib/harness.sh"

SEG="--segment-size 65536"
"$S" init --kdf-profile insecure-test $SEG >/dev/null || { echo "init failed"; exit 1; }
asb() { STELE_USER=bob STELE_PASSWORD=bpw "$@"; }
run env STELE_NEW_PASSWORD=bpw "$S" user add bob --kdf-profile insecure-test $SEG
expect_rc 0 "user add bob"

# ---- an edge into another database ----------------------------------------------
run "$S" db create notes $SEG
run "$S" db create research $SEG
run "$S" db create global $SEG
expect_rc 2 "'global' is reserved as a database name"
expect_has "$ERR" "reserved" "message of the reserved name"
"$S" --db notes collection create n >/dev/null
"$S" --db research collection create fn >/dev/null
"$S" --db research collection create e >/dev/null
"$S" collection create fn >/dev/null
"$S" collection create e >/dev/null
run "$S" --db notes put n '{"_id":"n1","text":"hello from notes"}'
expect_rc 0 "put into notes"
run "$S" --db research put fn '{"_id":"a"}'
run "$S" --db research put e '{"_from":"fn/a","_to":"notes:n/n1","_label":"CITES"}'
expect_rc 0 "edge into notes"
run "$S" --db research put e '{"_from":"fn/a","_to":"notes:n/missing"}'
expect_rc 6 "edge to a missing node of another database"
expect_has "$ERR" "dangling" "the message offers dangling"
run "$S" --db research txn '{"ops":[{"op":"insert","coll":"e","dangling":true,"doc":{"_from":"fn/a","_to":"notes:n/later"}}]}'
expect_rc 0 "a dangling edge into notes"
run "$S" --db research graph neighbors fn/a
expect_has "$OUT" '"notes:n/n1"' "the neighbour is named by its reference"
run "$S" --db research graph neighbors fn/a --docs
expect_has "$OUT" "hello from notes" "--docs reads the other database's document"
run "$S" --db research ref get notes:n/n1
expect_rc 0 "ref get"
expect_has "$OUT" "hello from notes" "ref get prints the document"
run "$S" ref get @ada/notes:n/n1
expect_rc 0 "ref get @OWNER/NAME from the primary"

# ---- ref get --as-of a time: placed in the referenced database's log -------------
# research has more records than notes by now, so its own log would name other LSNs.
ts_of() { sed -n 's/.*"_ts":"\([^"]*\)".*/\1/p' <<<"$1"; }
run "$S" --db notes get n n1
before_n2=$(ts_of "$OUT")
run "$S" --db notes put n '{"_id":"n2","text":"first"}'
run "$S" --db notes get n n2
first=$(ts_of "$OUT")
run "$S" --db notes replace n n2 '{"text":"second"}'
expect_rc 0 "replace n2"
run "$S" --db research ref get notes:n/n2 --as-of "$first"
expect_rc 0 "ref get as of the first version's time"
expect_has "$OUT" '"text":"first"' "as of that time: the first version"
run "$S" --db research ref get notes:n/n2 --as-of "$before_n2"
expect_rc 6 "ref get as of a time before n2 existed"
expect_has "$ERR" "no document 'n/n2' in database 'notes' at LSN" "not found, at notes' LSN"
run "$S" --db research ref get notes:n/n2 --as-of 2001-01-01T00:00:00Z
expect_rc 6 "a time before the referenced database's first record"
expect_has "$ERR" "nothing was written in the database of 'notes:n/n2'" "message of no record"
run "$S" --db research ref get notes:n/n2 --as-of 2100-01-01T00:00:00Z
expect_has "$OUT" '"text":"second"' "a time after the replace: the second version"
run "$S" --db research ref get notes:n/n2 --as-of yesterday
expect_rc 2 "--as-of neither an LSN nor a time"

# ---- members and others -----------------------------------------------------------
run "$S" --db research db share research bob --role reader
expect_rc 0 "share research with bob"
run asb "$S" --db ada/research ref get notes:n/n1
expect_rc 8 "bob is no member of notes"
expect_has "$ERR" "no access to database 'ada/notes'" "message of no access"
run asb "$S" --db ada/research graph neighbors fn/a --docs
expect_rc 8 "bob's --docs cannot read notes"
run asb "$S" --db ada/research graph neighbors fn/a
expect_rc 0 "bob still sees the reference"
"$S" --db notes db share notes bob --role reader >/dev/null 2>&1
run asb "$S" --db ada/research ref get notes:n/n1
expect_rc 0 "bob, now a member of notes"
"$S" --db notes db revoke notes bob >/dev/null 2>&1
run asb "$S" --db ada/research ref get notes:n/n1
expect_rc 8 "bob, revoked"

# ---- global data ----------------------------------------------------------------------
printf '%s\n' '{"coll":"country","doc":{"_id":"fr","name":"France"}}' \
    '{"coll":"country","doc":{"_id":"de","name":"Germany"}}' \
    '{"coll":"borders","doc":{"_from":"country/fr","_to":"country/de","_id":"fr-de"}}' \
    >"$T/global.ndjson"
run "$S" --db research global import "$T/global.ndjson"
expect_rc 2 "global import takes no --db"
run "$S" global import "$T/global.ndjson"
expect_rc 0 "global import"
expect_has "$OUT" '"edges":1' "the report counts edges"
expect_has "$ERR" "global data: 3 inserted (LSN" "the summary line of an import"
run "$S" get country fr
expect_has "$OUT" '"_origin":"global"' "a global document says so"
run "$S" count country '{"_origin":"global"}'
expect_has "$OUT" "2" "a filter finds global data"
printf '%s\n' '{"coll":"country","doc":{"_id":"it"}}' 'not json' >"$T/bad.ndjson"
before=$(snap)
run "$S" global import "$T/bad.ndjson"
expect_rc 2 "a bad line"
expect_has "$ERR" "bad.ndjson:2" "the bad line is named"
[ "$before" = "$(snap)" ] && ok || no "a refused global import changed the store"
run "$S" put fn '{"_id":"mine"}'
printf '%s\n' '{"coll":"borders","doc":{"_from":"country/fr","_to":"fn/mine","_id":"x"}}' \
    >"$T/rule.ndjson"
run "$S" global import "$T/rule.ndjson"
expect_rc 2 "a global edge to own data"
expect_has "$ERR" "global data references only global data" "message of the global rule"
run "$S" patch country fr '{"name":"X"}'
expect_rc 8 "own ops do not change global data"
run "$S" put e '{"_from":"fn/mine","_to":"global:country/fr"}'
expect_rc 0 "own data references global data"
run "$S" --db research put e '{"_from":"fn/a","_to":"global:country/de"}'
expect_rc 0 "another database references global data"
run "$S" --db research ref get global:country/de
expect_has "$OUT" "Germany" "ref get of global data"

# ---- refresh: global import --replace ----------------------------------------------
run "$S" put e '{"_id":"mine-de","_from":"fn/mine","_to":"country/de"}'
expect_rc 0 "an own edge to global de"
printf '%s\n' '{"coll":"country","doc":{"_id":"fr","name":"France","eu":true}}' \
    '{"coll":"country","doc":{"_id":"it","name":"Italy"}}' \
    '{"coll":"borders","doc":{"_from":"country/fr","_to":"country/it","_id":"fr-it"}}' \
    >"$T/global2.ndjson"
run "$S" global import "$T/global2.ndjson" --cascade
expect_rc 2 "--cascade without --replace"
before=$(snap)
run "$S" global import "$T/global2.ndjson" --replace
expect_rc 6 "an own edge to a document the refresh deletes"
expect_has "$ERR" "'e/mine-de' (at 'country/de')" "the own edge is named"
expect_has "$ERR" "--cascade" "the message offers --cascade"
[ "$before" = "$(snap)" ] && ok || no "a refused refresh changed the store"
cp "$T/global2.ndjson" "$T/bad2.ndjson"
echo '{"coll":"borders","doc":{"_id":"x","_from":"country/fr","_to":"country/de"}}' \
    >>"$T/bad2.ndjson"
run "$S" global import "$T/bad2.ndjson" --replace --cascade
expect_rc 2 "an edge to a document the file lacks"
expect_has "$ERR" "bad2.ndjson:4" "the edge's line is named"
[ "$before" = "$(snap)" ] && ok || no "a refresh with a bad line changed the store"
run "$S" global import "$T/global2.ndjson" --replace --cascade
expect_rc 0 "refresh with --cascade"
expect_has "$(compact "$OUT")" '"inserted":2,"replaced":1,"unchanged":0,"deleted":2,"own_edges_deleted":1' \
    "the counts in the JSON"
expect_has "$ERR" "2 inserted, 1 replaced, 0 unchanged, 2 deleted, and 1 of your own edges deleted" \
    "the counts in the summary"
run "$S" get country de
expect_rc 6 "de is deleted"
run "$S" get e mine-de
expect_rc 6 "the own edge to de is deleted"
run "$S" get country fr
expect_has "$OUT" '"_rev":2' "fr replaced"
run "$S" count e '{"_to":"global:country/fr"}'
[ "$OUT" = 1 ] && ok || no "the own edge to fr stays: count '$OUT'"
run "$S" --db research ref get global:country/de
expect_rc 6 "another database's reference to deleted global data reads as not found"
before=$(snap)
run "$S" global import "$T/global2.ndjson" --replace
expect_rc 0 "the same refresh again"
expect_has "$ERR" "0 inserted, 0 replaced, 3 unchanged, 0 deleted (nothing was written)" \
    "an unchanged refresh says so"
[ "$before" = "$(snap)" ] && ok || no "an unchanged refresh changed the store"

run "$S" verify
expect_rc 0 "verify the primary"
run "$S" --db research verify
expect_rc 0 "verify research"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
