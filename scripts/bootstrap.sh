#!/usr/bin/env bash
# Installs the Debian packages Stele needs to build, test and benchmark.
# Idempotent: prints nothing and exits 0 when everything is already present.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libsodium-dev libssl-dev libjansson-dev libroaring-dev
  libutf8proc-dev libstemmer-dev
  libsqlite3-dev sqlite3 liblmdb-dev libsqlcipher-dev
  libclang-dev python3 python3-networkx
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "bootstrap: apt-get failed; install the packages above by hand and retry" >&2
  rm -f "$log"; exit 1
fi
rm -f "$log"
