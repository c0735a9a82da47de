#!/usr/bin/env bash
# cli_test.sh — black-box tests of the `stele` command (run by CTest with bash;
# STELE_BIN is the binary). Covers: init (twice, without a password source), log
# append/get/list, idempotency ids, malformed JSON, wrong passwords, passwd, the
# writer lock held by a second process, read-only commands beside a writer, no
# plaintext on disk, checkpoint, verify, inclusion and consistency proofs checked
# offline (and tampered ones refused), --help, usage errors, the insecure KDF flag.
#
# Every check counts; the script prints "N passed, N failed" and exits non-zero if
# any check failed. STELE_KEEP_TMP=1 keeps the scratch directory.
set -u

S=${STELE_BIN:?set STELE_BIN to the stele binary}
case $S in /*) ;; *) S=$PWD/$S ;; esac # some checks run from another directory
T=$(mktemp -d "${TMPDIR:-/tmp}/stele-cli-XXXXXX") || exit 1
HOLDER=
passed=0
failed=0

cleanup() {
    exec 7>&- 2>/dev/null
    if [ -n "$HOLDER" ] && kill -0 "$HOLDER" 2>/dev/null; then kill "$HOLDER"; fi
    if [ -z "${STELE_KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

# ---- the check helpers ------------------------------------------------------

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# check DESCRIPTION COMMAND...: passes if the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok; else bad "$what"; fi
}
check_eq() { # DESCRIPTION EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi
}
check_has() { # DESCRIPTION HAYSTACK NEEDLE
    case $2 in *"$3"*) ok ;; *) bad "$1: '$3' not in: $2" ;; esac
}
check_lacks() { # DESCRIPTION HAYSTACK NEEDLE
    case $2 in *"$3"*) bad "$1: '$3' should not be in: $2" ;; *) ok ;; esac
}

# run COMMAND...: sets RC, OUT, ERR.
run() {
    "$@" >"$T/.out" 2>"$T/.err"
    RC=$?
    OUT=$(cat "$T/.out")
    ERR=$(cat "$T/.err")
}

fails() { ! "$@"; }
is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac }

# sha256 of every file under DIR, as "hash  path" lines. If that fails, a value
# that equals nothing else, so that a comparison cannot pass by accident.
snap() {
    local s
    s=$(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) && [ -n "$s" ] ||
        s="snapshot of $1 failed $RANDOM$RANDOM"
    printf '%s\n' "$s"
}

json_field() { # JSON-TEXT KEY -> the scalar after "KEY": (pretty or compact JSON)
    printf '%s\n' "$1" | sed -n "s/.*\"$2\": *\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1
}

# The head LSN from stat; if stat fails, a value that equals nothing else.
head_lsn() {
    local h
    h=$(json_field "$("$S" stat 2>/dev/null)" head_lsn)
    is_uint "$h" || h="no head ($RANDOM$RANDOM)"
    printf '%s\n' "$h"
}

# flip_hex FILE REGEX: changes the first hex digit after the (extended) regex match.
flip_hex() {
    local file=$1 re=$2 m match off c r
    m=$(grep -boE "$re" "$file" | head -n 1)
    [ -n "$m" ] || { echo "flip_hex: '$re' not in $file" >&2; return 1; }
    match=${m#*:}
    off=$((${m%%:*} + ${#match}))
    c=$(dd if="$file" bs=1 skip="$off" count=1 2>/dev/null)
    case $c in [0-9a-f]) ;; *) echo "flip_hex: '$c' at $off is not hex" >&2; return 1 ;; esac
    if [ "$c" = 0 ]; then r=1; else r=0; fi
    printf '%s' "$r" | dd of="$file" bs=1 seek="$off" conv=notrunc 2>/dev/null
}

# ---- environment -------------------------------------------------------------

export STELE_STORE="$T/store"
export STELE_USER=auditor
PW_OLD="old-pw-$RANDOM$RANDOM"
PW_NEW="new-pw-$RANDOM$RANDOM"
export STELE_PASSWORD=$PW_OLD
unset STELE_NEW_PASSWORD STELE_DURABILITY STELE_KDF
MARK="qzmark$RANDOM${RANDOM}x$$"
INIT=(init --kdf-profile insecure-test --segment-size 65536 --checkpoint-every 4)

# ---- help and usage errors ---------------------------------------------------

run "$S" --help
check_eq "--help exit" 0 "$RC"
check_has "--help text" "$OUT" "usage: stele"
run "$S" help
check_eq "help exit" 0 "$RC"
for c in init log checkpoint verify prove verify-proof stat passwd; do
    run "$S" "$c" --help
    check_eq "$c --help exit" 0 "$RC"
    check_has "$c --help text" "$OUT" "usage: stele $c"
done
run "$S" frobnicate
check_eq "unknown command exit" 2 "$RC"
check_has "unknown command message" "$ERR" "unknown command 'frobnicate'"
run "$S" stat --frobnicate
check_eq "unknown option exit" 2 "$RC"
check_has "unknown option message" "$ERR" "unknown option '--frobnicate'"
run "$S" log
check_eq "log without subcommand exit" 2 "$RC"
run "$S" log list --from notanumber
check_eq "non-numeric --from exit" 2 "$RC"

# ---- init --------------------------------------------------------------------

# No STELE_PASSWORD and no terminal (setsid: no controlling tty) -> clear error.
run env -u STELE_PASSWORD setsid -w timeout 30 "$S" init --store "$T/notty" \
    --kdf-profile insecure-test </dev/null
check "init without password source fails (rc $RC)" test "$RC" -ne 0 -a "$RC" -ne 124
check_has "init without password names STELE_PASSWORD" "$ERR" "STELE_PASSWORD"
check "init without password leaves no store" test ! -e "$T/notty/STORE"

run "$S" "${INIT[@]}"
check_eq "init exit" 0 "$RC"
check "init made STORE" test -f "$STELE_STORE/STORE"
DBDIR=$(echo "$STELE_STORE"/dbs/*)
check "one database directory" test -d "$DBDIR/data"
check "snapshots see the store's files" test "$(snap "$STELE_STORE" | grep -c ' ./')" -ge 6

before=$(snap "$STELE_STORE")
run "$S" "${INIT[@]}"
check "second init fails" test "$RC" -ne 0
check_has "second init message" "$ERR" "already exists"
run "$S" "${INIT[@]}" --user someone-else
check "second init with another user fails" test "$RC" -ne 0
check_eq "second init leaves the store untouched" "$before" "$(snap "$STELE_STORE")"

run "$S" stat
check_eq "stat exit" 0 "$RC"
check "stat reports the insecure profile" grep -Eq '"insecure": *true' "$T/.out"
check_has "stat warns about the insecure profile" "$ERR" "INSECURE"
check_eq "new database is empty" 0 "$(json_field "$OUT" head_lsn)"
PUBKEY=$(json_field "$OUT" public_key)
check "stat public key is 64 hex digits" grep -Eq '^[0-9a-f]{64}$' <<<"$PUBKEY"

# ---- log append / get / list -------------------------------------------------

prev=0
lsns=()
for i in 1 2 3 4 5 6; do
    run "$S" log append "{\"n\":$i,\"word\":\"w$i\"}"
    check_eq "append $i exit" 0 "$RC"
    if is_uint "$OUT" && [ "$OUT" -gt "$prev" ]; then
        ok
    else
        bad "append $i LSN '$OUT' after $prev"
    fi
    prev=${OUT:-0}
    lsns+=("$OUT")
done
run "$S" log get "${lsns[2]}"
check_eq "log get exit" 0 "$RC"
check_has "log get lsn" "$OUT" "\"lsn\":${lsns[2]},"
check_has "log get payload" "$OUT" '"payload":{"n":3,"word":"w3"}'
check_has "log get kind" "$OUT" '"kind":"txn"'
run "$S" log get 999999
check "log get past the head fails" test "$RC" -ne 0

HEAD=$(head_lsn)
check "head ($HEAD) is at or after the last appended LSN" test "$HEAD" -ge "${lsns[5]:-0}"
run "$S" log list
check_eq "log list exit" 0 "$RC"
check_eq "log list has one line per record" "$HEAD" "$(printf '%s\n' "$OUT" | grep -c .)"
check_eq "log list lines are JSON objects" "$HEAD" \
    "$(printf '%s\n' "$OUT" | grep -c '^{"lsn":[0-9]*,.*}$')"
for i in 1 2 3 4 5 6; do
    check_has "log list payload $i" "$OUT" "\"payload\":{\"n\":$i,\"word\":\"w$i\"}"
done
if command -v jq >/dev/null; then
    check "log list is valid NDJSON" jq -e -s "length == $HEAD" "$T/.out" >/dev/null
fi
a=${lsns[1]} b=${lsns[3]}
run "$S" log list --from "$a" --to "$b"
check_eq "log list --from/--to exit" 0 "$RC"
check_eq "log list --from/--to count" $((b - a + 1)) "$(printf '%s\n' "$OUT" | grep -c .)"
lsn_of() { sed 's/^{"lsn":\([0-9]*\),.*/\1/'; }
check_eq "log list --from first" "$a" "$(printf '%s\n' "$OUT" | head -n 1 | lsn_of)"
check_eq "log list --to last" "$b" "$(printf '%s\n' "$OUT" | tail -n 1 | lsn_of)"
check_has "log list range payload" "$OUT" '"payload":{"n":3,"word":"w3"}'
check_lacks "log list range stops at --to" "$OUT" '"payload":{"n":5,'

# stdin input
run bash -c "printf '%s\n' '{\"from\":\"stdin\"}' | \"\$0\" log append -" "$S"
check_eq "append from stdin exit" 0 "$RC"
run "$S" log get "$OUT"
check_has "append from stdin payload" "$OUT" '"payload":{"from":"stdin"}'

# ---- idempotency ids ---------------------------------------------------------

run "$S" log append --id order-42 '{"order":42}'
check_eq "append --id exit" 0 "$RC"
ID_LSN=$OUT
HEAD=$(head_lsn)
run "$S" log append --id order-42 '{"order":42}'
check_eq "retry --id exit" 0 "$RC"
check_eq "retry --id prints the original LSN" "$ID_LSN" "$OUT"
check_has "retry --id says nothing was written" "$ERR" "already committed"
run "$S" log append --id order-42 '{"order":"different"}'
check_eq "retry --id with other content prints the original LSN" "$ID_LSN" "$OUT"
check_eq "retries leave the head unchanged" "$HEAD" "$(head_lsn)"
run "$S" log get "$ID_LSN"
check_has "record keeps its id" "$OUT" '"id":"order-42"'

# ---- malformed JSON ----------------------------------------------------------

HEAD=$(head_lsn)
before_bad=$(snap "$STELE_STORE" | grep -v '/lock$')
run "$S" log append '{"a":'
check_eq "malformed JSON exit" 2 "$RC"
check_has "malformed JSON names the line" "$ERR" "line"
check_has "malformed JSON names the column" "$ERR" "column"
run bash -c "printf '{\"a\": 1,\n \"b\": }' | \"\$0\" log append -" "$S"
check_eq "malformed JSON on stdin exit" 2 "$RC"
check_has "malformed JSON on stdin: line 2" "$ERR" "line 2"
run "$S" log append 'not json at all'
check_eq "non-JSON exit" 2 "$RC"
check_eq "malformed JSON writes nothing" "$HEAD" "$(head_lsn)"
check_eq "malformed JSON changes no file (the lock file aside)" "$before_bad" \
    "$(snap "$STELE_STORE" | grep -v '/lock$')"

# ---- wrong password ----------------------------------------------------------

before=$(snap "$STELE_STORE")
wrong_password() {
    run env STELE_PASSWORD=wrong-password "$S" "$@"
    check_eq "wrong password: $* exit" 3 "$RC"
    check_has "wrong password: $* message" "$ERR" "wrong password for user auditor"
    "$S" stat >/dev/null 2>&1 # the right password resets the count (no back-off here)
}
wrong_password log append '{"x":1}'
wrong_password log list
wrong_password verify
wrong_password checkpoint
wrong_password stat
check_eq "wrong password changes no file (once the count is reset)" "$before" \
    "$(snap "$STELE_STORE")"

# ---- passwd ------------------------------------------------------------------

USERFILE="$STELE_STORE/users/auditor.user"
dbs_before=$(snap "$STELE_STORE/dbs")
user_before_text=$(cat "$USERFILE")
run env STELE_PASSWORD=wrong-password STELE_NEW_PASSWORD="$PW_NEW" "$S" passwd
check_eq "passwd with the wrong old password exit" 3 "$RC"
# only the wrong-password count changes (back-off); the wrapped key stays
check_eq "failed passwd leaves the wrapped key" "$(grep wrapped_dek <<<"$user_before_text")" \
    "$(grep wrapped_dek "$USERFILE")"
expect_has "$(cat "$USERFILE")" "failures 1" "a wrong password is counted"
run env STELE_NEW_PASSWORD="$PW_NEW" "$S" passwd
check_eq "passwd exit" 0 "$RC"
check_eq "passwd changes no database file" "$dbs_before" "$(snap "$STELE_STORE/dbs")"
check "passwd rewrote the user file" test "$(grep wrapped_dek <<<"$user_before_text")" != "$(grep wrapped_dek "$USERFILE")"
run "$S" log list
check_eq "old password fails after passwd" 3 "$RC"
export STELE_PASSWORD=$PW_NEW
HEAD=$(head_lsn)
run "$S" log list
check_eq "new password works" 0 "$RC"
check_eq "new password reads every record" "$HEAD" "$(printf '%s\n' "$OUT" | grep -c .)"

# ---- the writer lock: a second writer is refused, readers are not -------------

mkfifo "$T/fifo"
HEAD=$(head_lsn)
(exec "$S" log append --id "$MARK-lock" - <"$T/fifo" >"$T/holder.out" 2>"$T/holder.err") &
HOLDER=$!
exec 7>"$T/fifo" # unblocks the holder's open of stdin; it now waits for input
held=0
for _ in $(seq 200); do
    # the lock file stays empty: the kernel's lock table shows the holder
    if grep -qsE "FLOCK +ADVISORY +WRITE +$HOLDER " /proc/locks; then held=1; break; fi
    sleep 0.05
done
check_eq "the holder took the writer lock" 1 "$held"
run "$S" log append '{"second":"writer"}'
check_eq "second writer exit" 4 "$RC"
check_has "second writer names the holder's pid" "$ERR" "pid $HOLDER (stele)"
check_eq "the lock file stays empty while held" 0 "$(stat -c %s "$DBDIR/lock")"
run "$S" checkpoint
check_eq "checkpoint while locked exit" 4 "$RC"
run "$S" log list
check_eq "log list beside a writer" 0 "$RC"
check_eq "log list beside a writer sees every record" "$HEAD" "$(printf '%s\n' "$OUT" | grep -c .)"
run "$S" verify
check_eq "verify beside a writer" 0 "$RC"
run "$S" stat
check_eq "stat beside a writer" 0 "$RC"
# The lock file is in the store: it must not reveal the holder's idempotency id
# (encrypted in the record) or payload given on its command line.
run grep -rlF "$MARK-lock" "$STELE_STORE"
check_eq "no plaintext idempotency id in the store while a writer holds it ($OUT)" 1 "$RC"
printf '%s\n' '{"late":"record"}' >&7
exec 7>&-
wait "$HOLDER"
rc=$?
HOLDER=
check_eq "holder append exit" 0 "$rc"
LATE=$(cat "$T/holder.out")
check "holder printed an LSN after the old head" test "${LATE:-0}" -gt "$HEAD"
run "$S" log get "${LATE:-0}"
check_has "holder's record is there" "$OUT" '"payload":{"late":"record"}'
run "$S" log append '{"second":"writer"}'
check_eq "second writer after the holder finished" 0 "$RC"

# ---- no plaintext on disk ------------------------------------------------------

run "$S" log append --id "$MARK-id" "{\"secret\":\"$MARK\",\"n\":7}"
check_eq "append with marker exit" 0 "$RC"
MARK_LSN=$OUT
run "$S" log get "$MARK_LSN"
check_has "marker record reads back" "$OUT" "\"secret\":\"$MARK\""
check "the grep below can see the store (user name is in clear)" \
    grep -rqF auditor "$STELE_STORE"
check_lacks "marker is not the user name" "$STELE_USER" "$MARK"
check_lacks "marker is not in the store path" "$STELE_STORE" "$MARK"
run grep -rlF "$MARK" "$STELE_STORE"
check_eq "no plaintext marker in the store ($OUT)" 1 "$RC"
run grep -rlF "$PW_NEW" "$STELE_STORE"
check_eq "no password in the store ($OUT)" 1 "$RC"

# ---- checkpoint, verify ------------------------------------------------------

run "$S" checkpoint
check_eq "checkpoint exit" 0 "$RC"
CK2=$OUT
check "checkpoint prints an LSN" is_uint "$CK2"
run grep -rlF "$MARK" "$STELE_STORE"
check_eq "no plaintext marker after checkpoint ($OUT)" 1 "$RC"
run "$S" verify
check_eq "verify exit" 0 "$RC"
check_has "verify says ok" "$OUT" "ok:"
run "$S" verify --json
check_eq "verify --json exit" 0 "$RC"
check "verify --json ok" grep -Eq '"ok": *true' "$T/.out"

# ---- proofs, checked offline -------------------------------------------------

run "$S" prove "$MARK_LSN" --payload
check_eq "prove exit" 0 "$RC"
printf '%s' "$OUT" >"$T/proof.json"
offline() { (cd / && env -u STELE_STORE -u STELE_PASSWORD -u STELE_USER "$S" "$@"); }
run offline verify-proof "$T/proof.json" --key "$PUBKEY"
check_eq "verify-proof offline exit ($ERR)" 0 "$RC"
check_has "verify-proof checks the payload" "$OUT" "payload matches"
run offline verify-proof - --key "$PUBKEY" <"$T/proof.json"
check_eq "verify-proof from stdin" 0 "$RC"
other_key=$(printf '%s' "$PUBKEY" | tr '0-9a-f' '1-9a-f0')
run offline verify-proof "$T/proof.json" --key "$other_key"
check_eq "verify-proof with another trusted key" 5 "$RC"

# A modified byte in the Merkle path, the disclosed payload, the signature, the root.
for part in 'path' 'payload' 'signature' 'root'; do
    cp "$T/proof.json" "$T/bad.json"
    case $part in
        path) re='"path": *\[ *"' ;;
        payload) re='"payload_hex": *"' ;;
        *) re="\"$part\": *\"" ;;
    esac
    if flip_hex "$T/bad.json" "$re"; then
        check "proof with a modified $part differs" fails cmp -s "$T/bad.json" "$T/proof.json"
        run offline verify-proof "$T/bad.json" --key "$PUBKEY"
        check_eq "proof with a modified $part is refused ($ERR)" 5 "$RC"
    else
        bad "proof has no $part field"
    fi
done

# Consistency between the first automatic checkpoint and the explicit one.
CK1=$("$S" log list 2>/dev/null | grep '"kind":"checkpoint"' | head -n 1 | lsn_of)
check "there is an earlier checkpoint" test "${CK1:-0}" -gt 0 -a "${CK1:-0}" -lt "$CK2"
run "$S" prove --consistency "${CK1:-0}" "$CK2"
check_eq "prove --consistency exit" 0 "$RC"
printf '%s' "$OUT" >"$T/cons.json"
run offline verify-proof "$T/cons.json" --key "$PUBKEY"
check_eq "consistency proof verifies offline ($ERR)" 0 "$RC"
check_has "consistency proof summary" "$OUT" "extends"
cp "$T/cons.json" "$T/bad.json"
if flip_hex "$T/bad.json" '"proof": *\[ *"'; then
    run offline verify-proof "$T/bad.json" --key "$PUBKEY"
    check_eq "consistency proof with a modified hash is refused" 5 "$RC"
else
    bad "consistency proof has no proof field"
fi

run "$S" verify
check_eq "final verify" 0 "$RC"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
