#!/usr/bin/env bash
# The store's writer alone, no Kafka (issues #5, #11): bench/store_benchmark.cc with its defaults (800,000 simulator
# records in 50,000-record batches into a fresh file), direct and through the TEMP staging tables of md: stores
# ("staged"), three rounds alternated in one run: records/s, CPU seconds per million, peak RSS, MB per million; then
# the medians per side. BASELINE=path/to/store_benchmark adds a side measured in the same rounds: the same benchmark
# built against an earlier store (docs/benchmarks.md says how the issue-11 baseline was built).
set -euo pipefail
cd "$(dirname "$0")/.."
bench/machine.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sides=(direct staged)
[ -n "${BASELINE:-}" ] && sides=(baseline "${sides[@]}")
for run in 1 2 3; do
  for side in "${sides[@]}"; do
    rm -f "$work/store.duckdb" "$work/store.duckdb.wal"
    bin=build/bench/store_benchmark
    [ "$side" = baseline ] && bin=$BASELINE
    line=$("$bin" 800000 50000 "$work/store.duckdb" "$([ "$side" = staged ] && echo staged || true)" 2>/dev/null)
    echo "$side $run: $line"
    echo "$side $line" >>"$work/lines"
  done
done
echo "medians of 3 (records/s, CPU s per million, MB per million):"
for side in "${sides[@]}"; do
  awk -v side="$side" 'BEGIN { n = 0 }
    $1 == side {
      for (i = 1; i <= NF; i++) {
        if ($i == "records/s;") r[n] = $(i - 1)
        if ($i == "per" && $(i + 1) == "million;") c[n] = $(i - 2)
        if ($i == "MB" && $(i + 1) == "per") m[n] = $(i - 1)
      }
      n++
    }
    function median(a,   k, j, t) {
      for (k = 0; k < n; k++) for (j = k + 1; j < n; j++) if (a[j] + 0 < a[k] + 0) { t = a[k]; a[k] = a[j]; a[j] = t }
      return a[int(n / 2)]
    }
    END { printf "  %-8s %s records/s, %s CPU s per M, %s MB per M\n", side, median(r), median(c), median(m) }
  ' "$work/lines"
done
