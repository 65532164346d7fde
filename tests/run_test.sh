#!/usr/bin/env bash
# dcmon run, everything in one process on embedded defaults: it prints where to look, the simulated facility's
# summary fills in, the live stream carries readings, SIGTERM stops it with exit 0, and a restart on the same
# store file (a new embedded broker) keeps loading without re-sending history. The loader's re-send window is off
# (loader.dedup_window = 0), so that only the stored offsets keep rows from landing twice, and its duplicate
# counter must stay 0.
set -uo pipefail
dcmon=$(realpath "$1")
work=$(mktemp -d)
run_pid=
trap '[ -n "$run_pid" ] && kill $run_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
start() {  # start LOG: dcmon run on a free port and the store in $work; sets url, token
  (cd "$work" && DCMON_LOADER_DEDUP_WINDOW=0 exec "$dcmon" run --listen 127.0.0.1:0 --store "$work/run.duckdb" \
     --history 10 >"$1" 2>"$1.err") &
  run_pid=$!
  wait_for 15 grep -q 'Ctrl-C stops everything' "$1"
  url=$(sed -n 's/^  API  *\(http[^ ]*\).*/\1/p' "$1")
  token=$(sed -n 's/^  API token  *//p' "$1")
}
stop() {
  kill -TERM $run_pid; wait $run_pid; local rc=$?; run_pid=; return $rc
}
count() {
  curl -s -H "Authorization: Bearer $token" --data '{"sql":"SELECT count(*) FROM sensor_readings"}' \
    "$url/api/v1/query" | jq '.rows[0][0]'
}
duplicates_counted() {
  curl -s -H "Authorization: Bearer $token" "$url/metrics" |
    sed -n 's/^dcmon_loader_records_total{outcome="duplicate"} //p'
}
pue_shown() {
  pue=$(curl -s "$url/api/v1/summary" | jq '.pue.now')
  [ "$pue" != null ] && [ -n "$pue" ]
}

start "$work/run1.out"
check "prints the API, the token, the broker and the store" bash -c \
  "grep -q '^  API  *http://127.0.0.1:' '$work/run1.out' && grep -q '^  API token  *dcm_' '$work/run1.out' \
   && grep -q '^  Kafka .*embedded broker' '$work/run1.out' && grep -q '^  store  *$work/run.duckdb' '$work/run1.out'"
pue=null
wait_for 20 pue_shown
check "the summary shows the facility's PUE ($pue), reads open on loopback" \
  awk -v p="$pue" 'BEGIN { exit !(p > 1.1 && p < 2.1) }'
span() {
  curl -s -H "Authorization: Bearer $token" \
    --data '{"sql":"SELECT (max(event_time) - min(event_time)) >= INTERVAL 9 MINUTE FROM sensor_readings"}' \
    "$url/api/v1/query" | jq '.rows[0][0]'
}
backfilled() { [ "$(span)" = true ]; }
check "history was backfilled (10 minutes of inlets)" wait_for 20 backfilled
check "the stream carries readings" bash -c \
  "curl -s -N --max-time 20 '$url/api/v1/stream' | grep -q -m1 '^event: readings'"
first=$(count)
check "the loader counted no duplicates" test "$(duplicates_counted)" = 0
stop; rc=$?
check "SIGTERM stops run with exit 0" test $rc -eq 0

start "$work/run2.out"
counted() { before=$(count); [[ "$before" =~ ^[0-9]+$ ]]; }
wait_for 10 counted
more() { [ "$(count)" -gt "$before" ]; }
check "a restart on the same store keeps loading from its new broker" wait_for 20 more
check "and sends no history again (no duplicates)" bash -c "test \$(curl -s -H 'Authorization: Bearer $token' \
  --data '{\"sql\":\"SELECT count(*) - count(DISTINCT (device_id, event_time)) FROM sensor_readings\"}' \
  '$url/api/v1/query' | jq '.rows[0][0]') = 0"
check "the first run's rows are still there" test "$before" -ge "$first"
check "and the loader counted no duplicates" test "$(duplicates_counted)" = 0
stop
exit $fail
