#!/usr/bin/env bash
# `stele settings show|sign|verify|trust`: signed store settings. Sign, show, verify;
# a store without settings works with the defaults; one changed byte, an older signed
# file, and a file signed by another store's key are refused (exit 9) by the settings
# commands and by every open, and change nothing on disk; the durability default and
# the KDF floor take effect. Env: STELE_BIN (set by CTest).
HARNESS_USER=admin
. "$(dirname "$0")/lib/harness.sh"
CFG="$STELE_STORE/config"

"$S" init --kdf-profile insecure-test --segment-size 65536 >/dev/null || { echo "init failed"; exit 1; }

# No settings: defaults, and the store works.
run "$S" settings show;                       expect_rc 0 "show without settings"
expect_has "$(compact "$OUT")" '"signed":false' "no settings: unsigned defaults"
expect_has "$(compact "$OUT")" '"durability":"fsync"' "default durability"
run "$S" settings verify;                     expect_rc 6 "verify without settings: not found"
run "$S" collection create c;                 expect_rc 0 "a store without settings works"
run "$S" put c '{"_id":"a"}';                 expect_rc 0 "put without settings"

# Sign version 1 and check it.
echo '{"durability":"group","checkpoint_every":500}' > "$T/v1.json"
run "$S" settings sign "$T/v1.json";          expect_rc 0 "sign v1"
expect_has "$(compact "$OUT")" '"version":1,"counter":1' "v1 numbers"
cp "$CFG/settings.json" "$T/settings.v1"
cp "$CFG/settings.pin" "$T/pin.v1"
run "$S" settings verify;                     expect_rc 0 "verify v1"
expect_has "$OUT" "ok: settings version 1" "verify says ok"
run "$S" stat;                                expect_rc 0 "stat with v1"
expect_has "$(compact "$OUT")" '"durability":"group"' "the signed durability default is used"
run "$S" stat --durability fsync;             expect_rc 0 "stat with an explicit policy"
expect_has "$(compact "$OUT")" '"durability":"fsync"' "an explicit --durability wins"

# Sign version 2 (the counter moves too).
echo '{"durability":"none","kdf_floor":{"m_kib":300000,"t":4}}' > "$T/v2.json"
run "$S" settings sign "$T/v2.json";          expect_rc 0 "sign v2"
expect_has "$(compact "$OUT")" '"version":2,"counter":2' "v2 numbers"
expect_has "$(compact "$OUT")" '"m_kib":300000,"t":4' "v2 KDF floor"
cp "$CFG/settings.json" "$T/settings.v2"
run "$S" settings sign "$T/v1.json" --settings-version 1; expect_rc 9 "signing an older version"
expect_has "$ERR" "never go back" "older version message"

# Tamper: one byte changed -> refused by settings and by open; nothing written.
before=$(snap)
sed 's/"none"/"nonf"/' "$T/settings.v2" > "$CFG/settings.json"
run "$S" settings show;                       expect_rc 9 "tampered: show refused"
expect_has "$ERR" "settings.json" "the message names the file"
expect_has "$ERR" "refused" "the message says refused"
run "$S" settings verify;                     expect_rc 9 "tampered: verify refused"
run "$S" get c a;                             expect_rc 9 "tampered: open refused"
printf '%s' "$(cat "$T/settings.v2")" > "$CFG/settings.json"   # newline dropped
run "$S" settings show;                       expect_rc 9 "non-canonical bytes refused"
sed 's/"signature":"0/"signature":"1/;t;s/"signature":"./"signature":"0/' "$T/settings.v2" \
    > "$CFG/settings.json" # the first digit always changes
run "$S" settings show;                       expect_rc 9 "signature changed: refused"
cp "$T/settings.v2" "$CFG/settings.json"
[ "$(snap)" = "$before" ] && ok || no "refused settings changed something on disk"

# Rollback: restore the older signed file -> refused.
cp "$T/settings.v1" "$CFG/settings.json"
run "$S" settings show;                       expect_rc 9 "rolled back: show refused"
expect_has "$ERR" "older than the accepted version 2" "rollback message"
run "$S" get c a;                             expect_rc 9 "rolled back: open refused"
cp "$T/settings.v2" "$CFG/settings.json"
run "$S" get c a;                             expect_rc 0 "the newest file is accepted again"

# The pin in the manifest: a write records the accepted settings (v2) in the database's
# signed manifest, so settings deleted or rolled back together with their pin are refused.
run "$S" put c '{"_id":"b"}';                 expect_rc 0 "a write records v2 in the manifest"
cp "$CFG/settings.pin" "$T/pin.v2"
rm "$CFG/settings.json" "$CFG/settings.pin"
before=$(snap)
run "$S" get c a;                             expect_rc 9 "settings and pin deleted: open refused"
expect_has "$ERR" "settings.json is missing" "the message says the file is missing"
expect_has "$ERR" "accepted settings version 2" "the message names the recorded version"
run "$S" settings show;                       expect_rc 0 "config/ alone cannot tell (no settings)"
cp "$T/settings.v1" "$CFG/settings.json"
cp "$T/pin.v1" "$CFG/settings.pin"
run "$S" settings verify;                     expect_rc 0 "config/ alone cannot tell (v1 and its pin)"
run "$S" get c a;                             expect_rc 9 "v1 with its pin: open refused"
expect_has "$ERR" "older than version 2" "the rollback message names the recorded version"
run "$S" put c '{"_id":"c"}';                 expect_rc 9 "v1 with its pin: write refused"
rm "$CFG/settings.pin"; cp "$T/settings.v1" "$CFG/settings.json"
[ "$(snap | grep -v config/)" = "$(printf '%s\n' "$before" | grep -v config/)" ] && ok ||
    no "refused opens changed a database file"
cp "$T/settings.v2" "$CFG/settings.json"
cp "$T/pin.v2" "$CFG/settings.pin"
run "$S" get c a;                             expect_rc 0 "v2 and its pin restored: accepted"

# Another key: a file signed in another store is refused here.
O="$T/other"
STELE_STORE=$O "$S" init --kdf-profile insecure-test >/dev/null
STELE_STORE=$O "$S" settings sign "$T/v1.json" --settings-version 9 >/dev/null
cp "$O/config/settings.json" "$CFG/settings.json"
run "$S" settings verify;                     expect_rc 9 "another key: refused"
expect_has "$ERR" "but this store trusts key" "wrong-key message"
cp "$T/settings.v2" "$CFG/settings.json"

# Trust a provisioned root: then only that key's files are accepted.
other_pk=$(STELE_STORE=$O "$S" settings show | grep public_key | head -1 | sed 's/.*: "\(.*\)".*/\1/')
run "$S" settings trust "$other_pk";          expect_rc 0 "trust a provisioned key"
run "$S" settings show;                       expect_rc 9 "the old key's file is refused after trust"
cp "$O/config/settings.json" "$CFG/settings.json"
run "$S" settings verify;                     expect_rc 0 "the provisioned key's file (version 9) is accepted"
run "$S" settings sign "$T/v1.json";          expect_rc 9 "this store's admin key is no longer trusted"
run "$S" settings trust nothex;               expect_rc 2 "trust needs a key"

# TOFU: with no pin, the first verified key is pinned.
rm "$CFG/settings.pin"
run "$S" settings verify;                     expect_rc 0 "first use: pinned"
expect_has "$(cat "$CFG/settings.pin")" "$other_pk" "the pin holds the first key"

for c in "settings --help" "settings"; do run "$S" $c; done
expect_rc 2 "settings without a subcommand"
run "$S" settings --help;                     expect_rc 0 "settings --help"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
