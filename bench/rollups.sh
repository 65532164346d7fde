#!/usr/bin/env bash
# Reads of the 1-minute rollups on a multi-day store (issue #11, schema 12): `dcmon load` lands LOAD_FROM to
# LOAD_TO (default four simulated days of the small preset) from `dcmon broker` into a fresh file store per
# side and prints each side's rollup_facts bytes per column; then `dcmon serve` on each store answers the
# requests below, RUNS times each (default 9), the sides in turns, and it prints the median milliseconds per
# request. BASELINE=<dcmon binary> adds that build as the side before this tree's; this tree's serve then reads
# a copy of the baseline's store, migrated at open (the time it took is printed), so that both answer from the
# same rows in the same order, and it prints whether every response body is byte for byte the same
# (bench/json_diff.py: else how). A sum of doubles over many rows can differ in its last digits: DuckDB adds
# them in an order that follows the table's physical layout, and the baseline's own rollup_facts copied into
# a fresh table (CREATE TABLE AS SELECT, same rows, same order, same schema) differs from it in the same
# digits (docs/benchmarks.md).
#   series-4d      one rack inlet over the four days, step 60 s (rollups_1m)
#   series-1h-end  the same inlet over the last day's 12:00-13:00, step 60 s (zone maps skip the rest)
#   room-4d        a room's inlet temperatures over the four days, step 300 s (rollups_1m)
#   hours-4d       the inlet over the four days, step 3600 s (rollups_1h and the open hour of rollups_1m)
#   kpis-1h        GET /api/v1/kpis over the last day's 12:00-13:00 (kpi_power_1m, kpi_rack_temps_1m)
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
from=${LOAD_FROM:-2025-08-01T00:00:00Z}
to=${LOAD_TO:-2025-08-05T00:00:00Z}
runs=${RUNS:-9}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
bench/machine.sh
start_broker "$work/broker.out" 128
[ -n "$bootstrap" ] || { echo "dcmon broker did not start: $(tail -3 "$work/broker.out.log")" >&2; exit 1; }
build/dcmon simulate --from "$from" --to "$to" --kafka "$bootstrap" --quiet
export DCMON_ADMIN_TOKEN=bench-token

sides=(dcmon)
declare -A bin=([dcmon]=build/dcmon)
if [ -n "${BASELINE:-}" ]; then sides=(baseline dcmon) bin[baseline]=$BASELINE; fi
declare -A url
for side in "${sides[@]}"; do
  store="$work/$side.duckdb"
  "${bin[$side]}" load --kafka "$bootstrap" --store "$store" --group "$side-rollups" --memory-limit 1GB \
    --threads 1 --exit-when-idle 2 2>"$work/$side-load.log"
  echo "$side: $(sed -nE 's/.*stopped: (.*)/\1/p' "$work/$side-load.log"); rollup_facts MB per column: $(
    "${bin[$side]}" sql --store "$store" --format csv "
      WITH s AS (SELECT column_name, lead(block_offset, 1, 262136) OVER (PARTITION BY block_id
                 ORDER BY block_offset) - block_offset AS sz
                 FROM pragma_storage_info('rollup_facts') WHERE block_id >= 0 AND segment_type <> 'VALIDITY')
      SELECT string_agg(column_name || ' ' || mb, ', ' ORDER BY mb DESC)
      FROM (SELECT column_name, round(sum(sz) / 1e6, 2) AS mb FROM s GROUP BY 1)" | tail -1 | tr -d '"')"
done
# DuckDB at one thread in serve (store.threads; its default is 2) on both sides: a parallel aggregate adds
# doubles in an order that varies from run to run, and its last digits with it.
export DCMON_STORE_THREADS=1
for side in "${sides[@]}"; do
  store="$work/$side.duckdb"
  if [ "$side" = dcmon ] && [ -n "${BASELINE:-}" ]; then
    store="$work/migrated.duckdb"
    cp "$work/baseline.duckdb" "$store"
  fi
  mkdir -p "$work/$side"
  start=$(date +%s%N)
  dcmon=${bin[$side]} start_serve "$work/$side" --kafka "$bootstrap" --store "$store" --group "$side-rollups" ||
    { echo "$side: dcmon serve did not become ready: $(tail -3 "$work/$side/serve.err")" >&2; exit 1; }
  url[$side]=$url
  echo "$side: serve ready in $((($(date +%s%N) - start) / 1000000)) ms$([ "$store" = "$work/migrated.duckdb" ] &&
    echo ", the migration to this tree's schema included")"
done

day=$(date -u -d "$to - 1 day" +%Y-%m-%d)
inlet="device=room-1-a02-inlet-middle&measurement=temperature"
declare -A requests=(
  [series-4d]="/api/v1/series?$inlet&from=$from&to=$to&step=60"
  [series-1h-end]="/api/v1/series?$inlet&from=${day}T12:00:00Z&to=${day}T13:00:00Z&step=60"
  [room-4d]="/api/v1/series?room=room-1&position=inlet&measurement=temperature&from=$from&to=$to&step=300"
  [hours-4d]="/api/v1/series?$inlet&from=$from&to=$to&step=3600"
  [kpis-1h]="/api/v1/kpis?from=${day}T12:00:00Z&to=${day}T13:00:00Z"
)
names=(series-4d series-1h-end room-4d hours-4d kpis-1h)
for run in $(seq "$runs"); do
  for name in "${names[@]}"; do
    for side in "${sides[@]}"; do
      code=$(curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" -o "$work/$side-$name.body" -w '%{http_code} %{time_total}' "${url[$side]}${requests[$name]}")
      [ "${code%% *}" = 200 ] || { echo "$side $name: HTTP $code: $(head -c 300 "$work/$side-$name.body")" >&2; exit 1; }
      echo "$side $name ${code#* }" >>"$work/times"
    done
  done
done
echo "median ms per request of $runs (each body's bytes; with BASELINE: the same bodies on both sides?):"
for name in "${names[@]}"; do
  line="  $name:"
  for side in "${sides[@]}"; do
    ms=$(awk -v s="$side" -v n="$name" '$1 == s && $2 == n { print $3 * 1000 }' "$work/times" | sort -n |
      awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }')
    line+=" $side $ms ms ($(wc -c <"$work/$side-$name.body") B)"
  done
  if [ -n "${BASELINE:-}" ]; then
    line+=" $(bench/json_diff.py "$work/baseline-$name.body" "$work/dcmon-$name.body")"
  fi
  echo "$line"
done
