# harness.sh — sourced by the CLI tests (tests/integration/*_cli_test.sh): a temporary
# store directory, the stele binary, and small assertion helpers. The sourcing script
# sets HARNESS_USER first. Env: STELE_BIN (set by CTest).
set -u
S="${STELE_BIN:?STELE_BIN must point to the stele binary}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export STELE_STORE="$T/store" STELE_USER="${HARNESS_USER:?}" STELE_PASSWORD=pw
unset STELE_DURABILITY
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# run CMD...: OUT = stdout, ERR = stderr, RC = exit code
run() { OUT=$("$@" 2>"$T/err"); RC=$?; ERR=$(cat "$T/err"); }
expect_rc() { [ "$RC" = "$1" ] && ok || no "$2: exit $RC, expected $1 ($ERR)"; }
expect_has() { case "$1" in *"$2"*) ok ;; *) no "$3: '$2' not in: $1" ;; esac; }
compact() { tr -d ' \n' <<<"$1"; }
# A digest of every file of the store: equal before and after = nothing was written.
snap() { (cd "$STELE_STORE" && find . -type f ! -name lock -print0 | sort -z | xargs -0 sha256sum); }
