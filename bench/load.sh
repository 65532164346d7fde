#!/usr/bin/env bash
# Loader throughput, size, memory and latency (issue #5), on `dcmon broker` (64 partitions, so the
# prefill stays within its in-memory retention):
#  1. prefill: `dcmon simulate` backfills the small preset from LOAD_FROM to LOAD_TO into Kafka
#     (default one simulated day, 781,056 records);
#  2. three runs of `dcmon load --exit-when-idle` (fresh file store, new group, memory_limit 1GB,
#     threads 2) under /usr/bin/time -v: records/s between the first and the last commit
#     (ingest_time; each commit holds its rows and offsets, exactly once) and over the whole run,
#     bytes on disk per million records, peak RSS; medians;
#  3. bench/latency_benchmark.cc: event-to-queryable latency at 10,000 records/s for 30 s (after
#     10 s of warm-up) on a fresh broker, with dcmon's fetch wait (10 ms) and librdkafka's (500 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
dcmon=build/dcmon
from=${LOAD_FROM:-2025-08-01T00:00:00Z}
to=${LOAD_TO:-2025-08-02T00:00:00Z}
idle=2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"

work=$(mktemp -d)
broker=
start_broker() {  # a fresh in-memory broker; sets $bootstrap
  if [ -n "$broker" ]; then kill "$broker"; wait "$broker" 2>/dev/null || true; fi
  $dcmon broker --partitions 64 >"$work/broker.out" 2>"$work/broker.log" & broker=$!
  for _ in $(seq 100); do grep -q bootstrap "$work/broker.out" && break; sleep 0.1; done
  bootstrap=$(sed -n 's/^bootstrap.servers=//p' "$work/broker.out")
  [ -n "$bootstrap" ] || { echo "dcmon broker did not start" >&2; exit 1; }
}
trap 'if [ -n "$broker" ]; then kill $broker 2>/dev/null; fi; rm -rf "$work"' EXIT
start_broker

records=$($dcmon simulate --from "$from" --to "$to" --quiet | wc -l)
$dcmon simulate --from "$from" --to "$to" --kafka "$bootstrap" --quiet
echo "prefilled $records records ($from .. $to, small preset) into $bootstrap"

results=()
for run in 1 2 3; do
  store="$work/load-$run.duckdb"
  /usr/bin/time -v $dcmon load --kafka "$bootstrap" --store "$store" --group "load-bench-$run" \
    --memory-limit 1GB --threads 2 --exit-when-idle $idle 2>"$work/load-$run.log"
  elapsed=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/load-$run.log")
  rss=$(awk -F': ' '/Maximum resident set size/ { print int($2 / 1024) }' "$work/load-$run.log")
  lost=$(sed -nE 's/.*stopped: .*lost ([0-9]+).*/\1/p' "$work/load-$run.log")
  bytes=$(du -cb "$store"* | tail -1 | cut -f1)
  # rows, rows after the first commit, first to last commit (ingest_time) in microseconds
  read -r rows later span < <($dcmon sql --store "$store" --format csv "
    WITH t AS (SELECT ingest_time FROM sensor_readings UNION ALL SELECT ingest_time FROM cooling_metrics)
    SELECT count(*), count(*) FILTER (WHERE ingest_time > (SELECT min(ingest_time) FROM t)),
           epoch_us(max(ingest_time)) - epoch_us(min(ingest_time)) FROM t" | tail -1 | tr ',' ' ')
  line=$(awk -v rows="$rows" -v later="$later" -v span="$span" -v el="$elapsed" -v idle=$idle \
    -v bytes="$bytes" -v rss="$rss" -v lost="$lost" -v want="$records" 'BEGIN {
      printf "%d of %d records stored (lost %s); %.0f records/s between first and last commit; " \
             "%.0f records/s over the run (%.1f s, less %d s idle); %.1f MB on disk per million; " \
             "peak RSS %d MB", rows, want, lost, later / (span / 1e6), rows / (el - idle), el, idle,
             bytes / 1e6 / (rows / 1e6), rss }')
  echo "run $run: $line"
  results+=("$line")
done
median() { printf '%s\n' "${results[@]}" | sed -nE "s/$1/\1/p" | sort -n | sed -n 2p; }
echo "median: $(median '.*; ([0-9]+) records\/s between.*') records/s between first and last commit," \
     "$(median '.* ([0-9]+) records\/s over the run.*') records/s over the run," \
     "$(median '.* ([0-9.]+) MB on disk per million.*') MB per million records," \
     "peak RSS $(median '.*peak RSS ([0-9]+) MB.*') MB"

# Latency on an empty broker: dcmon's consumer (fetch.wait.max.ms 10), then librdkafka's 500 ms for
# comparison.
for wait_ms in 10 500; do
  start_broker
  echo "fetch.wait.max.ms=$wait_ms: $(build/bench/latency_benchmark "$bootstrap" 10000 30 \
    "$work/latency.duckdb" fetch.wait.max.ms=$wait_ms 2>"$work/latency.log")"
done
