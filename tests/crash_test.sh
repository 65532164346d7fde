#!/usr/bin/env bash
# Exactly-once under crashes: while the simulator produces a known set of records to Kafka, the loader is
# killed with SIGKILL at random moments (KILLS times, 20 by default) and restarted each time. At the end the
# store must hold exactly the produced set: the script prints how many are missing and how many duplicated,
# and fails unless both are 0.
set -uo pipefail
dcmon=$1
kills=${KILLS:-20}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

"$dcmon" broker --partitions 4 >"$work/broker.out" 2>/dev/null & pids+=($!)
for _ in $(seq 100); do grep -q bootstrap.servers= "$work/broker.out" && break; sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap.servers=//p' "$work/broker.out")
store="$work/crash.duckdb"
# A killed member stays in the group until its session times out: keep that short so restarts rejoin fast.
loader_args=(load --kafka "$bootstrap" --store "$store" --group crash --memory-limit 256MB
             --kafka-property session.timeout.ms=6000 --kafka-property heartbeat.interval.ms=500)

start=$(date -u -d 2025-08-21T00:00:00Z +%s)
expected=0
for i in $(seq 1 "$kills"); do
  # One more 10-minute window of the facility goes to Kafka while a loader runs and is killed at a random moment.
  from=$(date -u -d @$((start + (i - 1) * 600)) +%FT%TZ)
  to=$(date -u -d @$((start + i * 600)) +%FT%TZ)
  "$dcmon" "${loader_args[@]}" 2>>"$work/load.log" & loader=$!
  "$dcmon" simulate --from "$from" --to "$to" --kafka "$bootstrap" --seed 7 & producer=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + 4 * r / 32768 }')"
  kill -9 $loader 2>/dev/null; wait $loader 2>/dev/null
  wait $producer || { echo "FAIL simulate $from..$to"; exit 1; }
  expected=$((expected + $("$dcmon" simulate --from "$from" --to "$to" --seed 7 | wc -l)))
done

# A last loader catches up and stops by itself once nothing more arrives.
"$dcmon" "${loader_args[@]}" --exit-when-idle 3 2>>"$work/load.log" || { echo "FAIL the last loader"; exit 1; }

count() { "$dcmon" sql --store "$store" --format csv "$1" | tail -1; }
rows=$(count "SELECT (SELECT count(*) FROM sensor_readings) + (SELECT count(*) FROM cooling_metrics)")
distinct=$(count "SELECT (SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM sensor_readings)) + \
                         (SELECT count(*) FROM (SELECT DISTINCT system_id, seq FROM cooling_metrics))")
missing=$((expected - distinct))
duplicated=$((rows - distinct))
echo "kills=$kills produced=$expected stored_rows=$rows missing=$missing duplicated=$duplicated"
[ "$missing" -eq 0 ] && [ "$duplicated" -eq 0 ]
