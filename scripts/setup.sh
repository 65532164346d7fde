#!/usr/bin/env bash
# One-time setup for a Debian 12 machine: installs the missing Debian packages (apt-get update only when
# something is missing) and fetches the pinned DuckDB. A second run finds nothing to do and returns at once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# Build toolchain, libraries, and the real peers the tests talk to.
packages=(
  cmake ninja-build g++ make pkg-config git ccache
  libgtest-dev libgmock-dev libbenchmark-dev
  librdkafka-dev libsimdjson-dev libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libboost-dev libssl-dev zlib1g-dev
  kcat jq wrk influxdb influxdb-client prometheus prometheus-alertmanager python3 python3-jsonschema python3-yaml
  nodejs chromium clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" == "installed" ]] || missing+=("$p")
done
# npm (for fetching DuckDB) may come from elsewhere than Debian's package; any working npm will do.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing missing packages: ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: not root; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# DUCKDB_ROOT points at an official release (include/duckdb.h, lib/libduckdb.so) instead of the npm pin.
# The dashboard's build tools and browser-test driver (web/package-lock.json), installed once; npm
# records the install in node_modules/.package-lock.json, so a changed lockfile installs again.
if [[ ! "$root/web/node_modules/.package-lock.json" -nt "$root/web/package-lock.json" ]]; then
  (cd "$root/web" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [[ -z "${DUCKDB_ROOT:-}" ]]; then
  "$root/scripts/fetch-duckdb.sh"
fi
