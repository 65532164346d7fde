#!/usr/bin/env bash
# Fetches the pinned DuckDB C library and header from npm into third_party/duckdb/{lib,include},
# verifying each tarball against the sha512 integrity hash in deps/duckdb.lock.
# Does nothing when the unpacked files already match the lock file (a stamp records it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lock="$root/deps/duckdb.lock"
dest="$root/third_party/duckdb"
stamp="$dest/.stamp"

want_stamp=$(grep -v '^#' "$lock")
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -f "$dest/lib/libduckdb.so" && -f "$dest/include/duckdb.h" ]]; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch SPEC INTEGRITY -> path of the verified tarball on stdout
  local spec=$1 integrity=$2 file got
  file=$(cd "$work" && npm pack --silent "$spec" | tail -n 1)
  got="sha512-$(node -e 'const c=require("crypto");const fs=require("fs");process.stdout.write(c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$work/$file")"
  if [[ "$got" != "$integrity" ]]; then
    echo "fetch-duckdb: integrity mismatch for $spec: expected $integrity, got $got" >&2
    exit 1
  fi
  echo "$work/$file"
}

echo "fetch-duckdb: fetching pinned DuckDB from npm" >&2
mkdir -p "$dest/lib" "$dest/include"
while read -r role spec integrity; do
  [[ -z "$role" || "$role" == \#* ]] && continue
  tarball=$(fetch "$spec" "$integrity")
  case "$role" in
    library) tar -xzf "$tarball" -C "$work" package/libduckdb.so && mv "$work/package/libduckdb.so" "$dest/lib/" ;;
    header)  tar -xzf "$tarball" -C "$work" package/src/duckdb/src/include/duckdb.h &&
             mv "$work/package/src/duckdb/src/include/duckdb.h" "$dest/include/" ;;
    *) echo "fetch-duckdb: unknown role '$role' in $lock" >&2; exit 1 ;;
  esac
done < "$lock"
echo "$want_stamp" > "$stamp"
echo "fetch-duckdb: DuckDB ready in $dest" >&2
