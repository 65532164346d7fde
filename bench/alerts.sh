#!/usr/bin/env bash
# What the alert runtime costs the loader in `dcmon serve`: the same prefilled Kafka topics (the small
# preset from ALERTS_FROM to ALERTS_TO, default 12 simulated hours, with a CRAH trip and a sensor spike so
# that alerts fire) loaded by serve into a fresh store, with the default rules (alert.enabled = true) and
# without (false), alternating, three rounds each. Per run: wall seconds from serve's start until every
# record is stored (from /metrics), records/s, and with alerts the loader-thread seconds spent evaluating
# (dcmon_alert_evaluation_seconds_total) and the alert events. Then the medians and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
dcmon=build/dcmon
from=${ALERTS_FROM:-2025-08-01T00:00:00Z}
to=${ALERTS_TO:-2025-08-01T12:00:00Z}
bench/machine.sh
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
source tests/lib.sh

$dcmon broker --partitions 8 >"$work/broker.out" 2>"$work/broker.log" & pids+=($!)
bootstrap=$(bootstrap_of "$work/broker.out")
scenario=(--scenario crah-trip@2h+30m --scenario sensor-spike@6h+1h*0.05)
$dcmon simulate --from "$from" --to "$to" "${scenario[@]}" --kafka "$bootstrap" --quiet
records=$($dcmon simulate --from "$from" --to "$to" "${scenario[@]}" --quiet | wc -l)
echo "prefilled $records records ($from .. $to, small preset, ${scenario[*]})"

export DCMON_ADMIN_TOKEN=bench-token
metric() { curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" "$url/metrics" | sed -n "s/^$1 //p"; }
stored() { [ "$(metric 'dcmon_loader_records_total{outcome="stored"}')" = "$records" ]; }
results=()
for run in $(seq "${ALERTS_ROUNDS:-3}"); do
  for enabled in true false; do
    out="$work/serve-$run-$enabled"
    start=$(date +%s%N)
    DCMON_ALERT_ENABLED=$enabled $dcmon serve --kafka "$bootstrap" --store "$work/$run-$enabled.duckdb" \
      --listen 127.0.0.1:0 --group "bench-$run-$enabled" >"$out" 2>"$out.err" & pid=$!; pids+=($pid)
    wait_for 20 grep -q 'API on' "$out"
    url=$(sed -n 's/^dcmon serve: API on //p' "$out")
    wait_for 600 stored || { echo "run $run ($enabled): not every record stored" >&2; exit 1; }
    secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    eval_s=$(metric dcmon_alert_evaluation_seconds_total)
    events=$(for st in pending firing resolved; do metric "dcmon_alert_events_total{state=\"$st\"}"; done | paste -sd/)
    kill -TERM $pid; wait $pid || true
    line=$(awk -v n="$records" -v s="$secs" -v e="${eval_s:-0}" -v ev="${events:-0/0/0}" -v on="$enabled" \
      'BEGIN { printf "alerts=%s %.2f s %.0f records/s evaluation %.3f s (%.1f %% of the wall time) events pending/firing/resolved %s", on, s, n / s, e, 100 * e / s, ev }')
    echo "run $run: $line"
    results+=("$line")
  done
done
median() { printf '%s\n' "${results[@]}" | grep "alerts=$1 " | awk '{ print $4 }' | sort -n | sed -n 2p; }
on=$(median true); off=$(median false)
eval_median=$(printf '%s\n' "${results[@]}" | grep "alerts=true " | awk '{ print $7 }' | sort -n | sed -n 2p)
awk -v on="$on" -v off="$off" -v e="$eval_median" 'BEGIN {
  printf "median records/s: alerts on %d, off %d; on/off %.3f; median evaluation %.3f s on the loader thread\n", on, off, on / off, e }'
