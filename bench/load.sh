#!/usr/bin/env bash
# Loader throughput against its peers, size, memory and latency (issue #11), in one run on
# `dcmon broker` (128 partitions, so the prefill stays within the broker's in-memory retention):
#  1. prefill: `dcmon simulate` backfills the small preset from LOAD_FROM to LOAD_TO (default four
#     simulated days, 3,124,224 records) into Kafka (framed as NDJSON per partition, docs/kafka.md),
#     and the same records into an NDJSON file;
#  2. three rounds, each of: `kcat -C -e -q` reading both topics (raw consume, nothing stored);
#     DuckDB's own bulk load of the NDJSON file (`store_benchmark bulk`: INSERT … SELECT … FROM
#     read_ndjson into a fresh store, same memory_limit and threads); `dcmon load --exit-when-idle`
#     (fresh file store, new group, memory_limit 1GB). DuckDB's threads: LOAD_THREADS (default 1,
#     `dcmon load`'s default; DuckDB's bulk load is no faster at 2, docs/benchmarks.md) on every
#     side. Every side runs under
#     /usr/bin/time -v: records/s, CPU seconds (user + system) per million records, peak RSS;
#     for dcmon also records/s between its first and last commit and bytes on disk per million;
#  3. one table of the medians, dcmon's ratios to DuckDB's bulk load and to kcat in it (per round,
#     then the median), and under it
#  4. bench/latency_benchmark.cc: event-to-queryable latency at 10,000 records/s for 30 s (after
#     10 s of warm-up) on a fresh broker, with dcmon's defaults (consumer, batch bounds).
# LOAD_BATCH_RECORDS=n runs dcmon load with loader.batch_records = n (default: the loader's).
# BASELINE=<dcmon binary> also runs that binary's `dcmon load` in each round, right before this
# tree's, as its own row (before/after measured side by side).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
dcmon=build/dcmon
from=${LOAD_FROM:-2025-08-01T00:00:00Z}
to=${LOAD_TO:-2025-08-05T00:00:00Z}
idle=2
threads=${LOAD_THREADS:-1}
bench/machine.sh

work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
fresh_broker() {  # a fresh in-memory broker (the previous one stopped); sets $bootstrap
  if [ -n "${broker_pid:-}" ]; then kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; fi
  start_broker "$work/broker.out" 128
  [ -n "$bootstrap" ] || { echo "dcmon broker did not start: $(tail -3 "$work/broker.out.log")" >&2; exit 1; }
}
fresh_broker
load_config=()
if [ -n "${LOAD_BATCH_RECORDS:-}" ]; then
  printf '[loader]\nbatch_records = %s\n' "$LOAD_BATCH_RECORDS" >"$work/load.toml"
  load_config=(--config "$work/load.toml")
fi

$dcmon simulate --from "$from" --to "$to" --quiet >"$work/records.ndjson"
records=$(wc -l <"$work/records.ndjson")
$dcmon simulate --from "$from" --to "$to" --kafka "$bootstrap" --quiet
messages=$(for topic in dc.sensors dc.cooling; do
  kcat -C -b "$bootstrap" -t $topic -o beginning -e -q -f '%o\n'; done | wc -l)
echo "prefilled $records records ($from .. $to, small preset, $(du -m "$work/records.ndjson" |
  cut -f1) MB of NDJSON) into $bootstrap as $messages Kafka messages (NDJSON per partition)"

# From a /usr/bin/time -v log: wall seconds, CPU seconds, peak RSS in MB.
timed() {
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
      for (i = 1; i <= n; i++) s = s * 60 + p[i]; wall = s }
    /User time/ { cpu += $2 } /System time/ { cpu += $2 }
    /Maximum resident set size/ { rss = int($2 / 1024) }
    END { print wall, cpu, rss }' "$1"
}

# `load_round BINARY NAME`: one `dcmon load` of the whole backlog into a fresh store; sets load_line
# ("records rec/s cpu-s/M rss-MB MB/M rec/s-between-commits") and lost.
load_round() {
  local bin=$1 name=$2 store="$work/$2-$run.duckdb"
  /usr/bin/time -v "$bin" load --kafka "$bootstrap" --store "$store" --group "$name-bench-$run" \
    --memory-limit 1GB --threads $threads --exit-when-idle $idle "${load_config[@]}" \
    2>"$work/$name-$run.log"
  read -r lw lc lr < <(timed "$work/$name-$run.log")
  lost=$(sed -nE 's/.*stopped: .*lost ([0-9]+).*/\1/p' "$work/$name-$run.log")
  bytes=$(du -cb "$store"* | tail -1 | cut -f1)
  # rows, rows after the first commit, first to last commit (ingest_time) in microseconds
  read -r rows later span < <($dcmon sql --store "$store" --format csv "
    WITH t AS (SELECT ingest_time FROM sensor_readings UNION ALL SELECT ingest_time FROM cooling_metrics)
    SELECT count(*), count(*) FILTER (WHERE ingest_time > (SELECT min(ingest_time) FROM t)),
           epoch_us(max(ingest_time)) - epoch_us(min(ingest_time)) FROM t" 2>"$work/sql.err" |
    tail -1 | tr ',' ' ')
  [ -n "$rows" ] || { echo "round $run: dcmon sql: $(cat "$work/sql.err")" >&2; rows=0; }
  load_line=$(awk -v n="$rows" -v later="$later" -v span="$span" -v w="$lw" -v idle=$idle \
    -v c="$lc" -v r="$lr" -v bytes="$bytes" 'BEGIN {
      printf "%d %.0f %.2f %d %.1f %s", n, n / (w - idle), c / (n / 1e6), r,
             bytes / 1e6 / (n / 1e6), (span > 0 ? sprintf("%.0f", later / (span / 1e6)) : "-") }')
  rm -f "$store"*
}

for run in 1 2 3; do
  # kcat: both topics, one after the other, from the beginning to the end. The simulator's messages
  # are NDJSON (docs/kafka.md), and kcat ends each with a newline of its own: records are the
  # lines that are not empty.
  : >"$work/kcat-$run.count"
  for topic in dc.sensors dc.cooling; do
    /usr/bin/time -v sh -c "kcat -C -b $bootstrap -t $topic -o beginning -e -q | LC_ALL=C grep -ac ." \
      >>"$work/kcat-$run.count" 2>"$work/kcat-$run-$topic.log"
  done
  read -r w1 c1 r1 < <(timed "$work/kcat-$run-dc.sensors.log")
  read -r w2 c2 r2 < <(timed "$work/kcat-$run-dc.cooling.log")
  kcat_rows=$(awk '{ s += $1 } END { print s }' "$work/kcat-$run.count")
  kcat_line=$(awk -v n="$kcat_rows" -v w1="$w1" -v w2="$w2" -v c1="$c1" \
    -v c2="$c2" -v r1="$r1" -v r2="$r2" 'BEGIN { w = w1 + w2;
      printf "%d %.0f %.2f %d", n, n / w, (c1 + c2) / (n / 1e6), (r1 > r2 ? r1 : r2) }')

  # DuckDB's bulk load of the same records.
  /usr/bin/time -v build/bench/store_benchmark bulk "$work/records.ndjson" "$work/bulk-$run.duckdb" \
    1GB $threads >"$work/bulk-$run.out" 2>"$work/bulk-$run.log"
  read -r bw bc br < <(timed "$work/bulk-$run.log")
  bulk_rows=$(sed -nE 's/^bulk: ([0-9]+) records.*/\1/p' "$work/bulk-$run.out")
  bulk_mb=$(sed -nE 's/.* ([0-9.]+) MB per million.*/\1/p' "$work/bulk-$run.out")
  bulk_line=$(awk -v n="$bulk_rows" -v w="$bw" -v c="$bc" -v r="$br" -v mb="$bulk_mb" 'BEGIN {
      printf "%d %.0f %.2f %d %s", n, n / w, c / (n / 1e6), r, mb }')
  rm -f "$work/bulk-$run.duckdb"*

  # The baseline's dcmon load (its own defaults: no --config), then this tree's.
  if [ -n "${BASELINE:-}" ]; then
    load_config_of_tree=("${load_config[@]}")
    load_config=()
    load_round "$BASELINE" base
    load_config=("${load_config_of_tree[@]}")
    echo "round $run: baseline dcmon load [records rec/s cpu-s/M rss-MB MB/M rec/s-between-commits]" \
         "$load_line (lost $lost)"
    [ "$rows" = "$records" ] || echo "round $run: baseline WRONG COUNT $rows, expected $records" >&2
    echo "$load_line" >>"$work/base.res"
  fi
  load_round $dcmon load
  echo "round $run: kcat [records rec/s cpu-s/M rss-MB] $kcat_line;" \
       "duckdb bulk [records rec/s cpu-s/M rss-MB MB/M] $bulk_line;" \
       "dcmon load [records rec/s cpu-s/M rss-MB MB/M rec/s-between-commits] $load_line (lost $lost)"
  for n in "$kcat_rows" "$bulk_rows" "$rows"; do
    [ "$n" = "$records" ] || echo "round $run: WRONG COUNT $n, expected $records" >&2
  done
  echo "$kcat_line" >>"$work/kcat.res"
  echo "$bulk_line" >>"$work/bulk.res"
  echo "$load_line" >>"$work/load.res"
  echo "$(echo "$load_line" | cut -d' ' -f2) $(echo "$bulk_line" | cut -d' ' -f2)" \
       "$(echo "$kcat_line" | cut -d' ' -f2)" >>"$work/ratio.res"
done

median() {  # FILE COLUMN: the median of three runs
  cut -d' ' -f"$2" "$1" | sort -g | sed -n 2p
}
ratio() {  # COLUMN of ratio.res to divide load's rate by: per round, then the median
  awk -v c="$1" '{ printf "%.2f\n", $1 / $c }' "$work/ratio.res" | sort -g | sed -n 2p
}
echo
echo "medians of 3 rounds, $records records (ratios: dcmon load's records/s over the side's, per round, then the median):"
row() { printf '| %-34s | %10s | %13s | %14s | %11s | %12s |\n' "$@"; }
row side "records/s" "dcmon load ×" "CPU s/M rec" "peak RSS MB" "MB/M on disk"
row "kcat -C -e -q (both topics)" "$(median "$work/kcat.res" 2)" "$(ratio 3)" \
  "$(median "$work/kcat.res" 3)" "$(median "$work/kcat.res" 4)" "-"
row "DuckDB INSERT ... read_ndjson" "$(median "$work/bulk.res" 2)" "$(ratio 2)" \
  "$(median "$work/bulk.res" 3)" "$(median "$work/bulk.res" 4)" "$(median "$work/bulk.res" 5)"
row "dcmon load (whole run)" "$(median "$work/load.res" 2)" "1.00" "$(median "$work/load.res" 3)" \
  "$(median "$work/load.res" 4)" "$(median "$work/load.res" 5)"
row "dcmon load (first to last commit)" "$(median "$work/load.res" 6)" "" "" "" ""
if [ -n "${BASELINE:-}" ]; then
  row "baseline dcmon load (whole run)" "$(median "$work/base.res" 2)" "" \
    "$(median "$work/base.res" 3)" "$(median "$work/base.res" 4)" "$(median "$work/base.res" 5)"
  over_base() {  # COLUMN: this tree's over the baseline's, per round, then the median
    paste -d' ' "$work/load.res" "$work/base.res" |
      awk -v c="$1" '{ printf "%.2f\n", $c / $(c + 6) }' | sort -g | sed -n 2p
  }
  echo "dcmon load / baseline, per round then the median: records/s x$(over_base 2)," \
       "CPU s per M x$(over_base 3), peak RSS x$(over_base 4)"
fi

# Latency on an empty broker, with dcmon's defaults.
fresh_broker
echo "latency: $(build/bench/latency_benchmark "$bootstrap" 10000 30 "$work/latency.duckdb" \
  2>"$work/latency.log")"
