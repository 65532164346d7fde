#!/usr/bin/env bash
# The store's writer alone, no Kafka (issue #5): bench/store_benchmark.cc with its defaults (800,000 simulator
# records in 50,000-record batches into a fresh file), direct and through the TEMP staging tables of md: stores
# ("staged"), three pairs alternated in one run: records/s, MB per million, and staged/direct per pair.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M UTC')"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for run in 1 2 3; do
  for mode in direct staged; do
    rm -f "$work/store.duckdb" "$work/store.duckdb.wal"
    echo "$mode $run: $(build/bench/store_benchmark 800000 50000 "$work/store.duckdb" \
      "$([ "$mode" = staged ] && echo staged || true)")"
  done
done
