#!/usr/bin/env bash
# Exactly-once under crashes, with dcmon's default settings and the re-send window off (so that only the stored
# offsets keep a record from landing twice): while the simulator produces a known set of records to Kafka, the
# loader is killed with SIGKILL KILLS times in a row (20 by default) and restarted each time. Every restart that
# is not killed during its start-up must store its first batch within 5 s: no group session of the killed
# loader to wait for. The schedule is drawn from SEED ($SEED, else random; printed first, so that a failure can
# be replayed with SEED=N): one run in three is killed at a random moment of its start-up, the others at a random
# moment after their first batch. At the end the store must hold exactly the produced set: the script prints how
# many are missing and how many duplicated, and fails unless both are 0 and the last loader counted no
# duplicates.
set -uo pipefail
dcmon=$1
kills=${KILLS:-20}
seed=${SEED:-$((RANDOM * 32768 + RANDOM))}
echo "SEED=$seed"
RANDOM=$seed
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"

"$dcmon" broker --partitions 4 >"$work/broker.out" 2>/dev/null & pids+=($!)
bootstrap=$(bootstrap_of "$work/broker.out")
store="$work/crash.duckdb"
# env execs dcmon, so $! is the loader itself.
loader=(env DCMON_LOADER_DEDUP_WINDOW=0 "$dcmon" load --kafka "$bootstrap" --store "$store" --group crash
        --memory-limit 256MB)
random_seconds() { awk -v r=$RANDOM -v from="$1" -v span="$2" 'BEGIN { printf "%.2f", from + span * r / 32768 }'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

start=$(date -u -d 2025-08-21T00:00:00Z +%s)
expected=0
slowest=0
for i in $(seq 1 "$kills"); do
  # One more 10-minute window of the facility goes to Kafka while a loader runs and is killed.
  from=$(date -u -d @$((start + (i - 1) * 600)) +%FT%TZ)
  to=$(date -u -d @$((start + i * 600)) +%FT%TZ)
  started=$(now_ms)
  "${loader[@]}" 2>"$work/load.$i.log" & pid=$!
  "$dcmon" simulate --from "$from" --to "$to" --kafka "$bootstrap" --seed 7 & producer=$!
  if [ $((RANDOM % 3)) -eq 0 ]; then
    when=$(random_seconds 0.05 1.5)
    echo "run $i: kill during start-up, at ${when} s"
  else
    if wait_for 5 grep -q 'first batch stored' "$work/load.$i.log"; then
      took=$(($(now_ms) - started))
      [ "$took" -gt "$slowest" ] && slowest=$took
      when=$(random_seconds 0 2)
      echo "run $i: first batch after ${took} ms, kill ${when} s later"
    else
      echo "FAIL run $i (after $((i - 1)) kill(s)) stored nothing within 5 s"; fail=1
      when=0
    fi
  fi
  sleep "$when"
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  wait $producer || { echo "FAIL simulate $from..$to"; exit 1; }
  expected=$((expected + $("$dcmon" simulate --from "$from" --to "$to" --seed 7 | wc -l)))
done
echo "slowest restart to its first batch: ${slowest} ms"

# A last loader catches up and stops by itself once nothing more arrives.
"${loader[@]}" --exit-when-idle 3 2>"$work/load.last.log" || { echo "FAIL the last loader"; exit 1; }
check "the last loader counted no duplicates and no loss" grep -q 'stopped: .* duplicates 0, lost 0' \
  "$work/load.last.log"

count() { "$dcmon" sql --store "$store" --format csv "$1" | tail -1; }
rows=$(count "SELECT (SELECT count(*) FROM sensor_readings) + (SELECT count(*) FROM cooling_metrics)")
distinct=$(count "SELECT (SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM sensor_readings)) + \
                         (SELECT count(*) FROM (SELECT DISTINCT system_id, seq FROM cooling_metrics))")
missing=$((expected - distinct))
duplicated=$((rows - distinct))
echo "seed=$seed kills=$kills produced=$expected stored_rows=$rows missing=$missing duplicated=$duplicated"
check "missing=0 duplicated=0" test "$missing" -eq 0 -a "$duplicated" -eq 0
exit $fail
