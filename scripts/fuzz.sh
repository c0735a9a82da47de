#!/usr/bin/env bash
# Runs every libFuzzer target under tests/fuzz for FUZZ_SECONDS each (default 300),
# with AddressSanitizer and UndefinedBehaviorSanitizer, starting from the seed corpus.
# Crashes are left in build-fuzz/<target>/ as crash-* files.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-300}"
command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)" >&2; exit 1; }
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Isrc"
LIBS="$(pkg-config --cflags --libs libsodium libcrypto jansson libutf8proc) -lroaring -lstemmer -lm -lpthread"
SRC=$(ls src/util/*.c src/crypto/*.c src/vault/*.c src/ledger/*.c src/model/*.c src/index/*.c src/query/*.c src/api/*.c)
for t in tests/fuzz/fuzz_*.c; do
  name=$(basename "$t" .c)
  out="build-fuzz/$name"
  mkdir -p "$out/corpus"
  [ -d "tests/fuzz/seeds/$name" ] && cp -n tests/fuzz/seeds/"$name"/* "$out/corpus/" 2>/dev/null || true
  echo "== $name (${SECONDS_EACH}s)"
  # shellcheck disable=SC2086
  clang $CFLAGS -o "$out/$name" "$t" $SRC $LIBS
  (cd "$out" && "./$name" -max_total_time="$SECONDS_EACH" -print_final_stats=1 corpus)
done
