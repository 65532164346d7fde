#!/usr/bin/env bash
# Detection online, end to end: `dcmon run` (simulator → embedded Kafka → loader → DuckDB, with the
# detectors after each commit) with a unit mix-up (°F reported as °C) injected on one inlet sensor 5
# minutes into 10 backfilled minutes, and on another one 15 s after the start, live. The first must
# appear at GET /api/v1/anomalies, blamed on that sensor, as a sensor problem, paged and filtered per
# the contract and stored in `anomalies`; the second must be pushed on /api/v1/stream as an `anomaly`.
set -uo pipefail
dcmon=$(realpath "$1")
work=$(mktemp -d)
run_pid=
trap '[ -n "$run_pid" ] && kill $run_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
target=room-1-a02-inlet-middle live=room-2-a03-inlet-top
# RFC 3339: relative starts cannot lie in the past.
at=$(date -u -d "-5 min" +%Y-%m-%dT%H:%M:%SZ) live_at=$(date -u -d "+15 sec" +%Y-%m-%dT%H:%M:%SZ)
(cd "$work" && exec "$dcmon" run --listen 127.0.0.1:0 --store "$work/run.duckdb" --history 10 \
   --scenario "unit-mixup:$target@$at+2m" \
   --scenario "unit-mixup:$live@$live_at+2m" >"$work/run.out" 2>"$work/run.err") &
run_pid=$!
wait_for 15 grep -q 'Ctrl-C stops everything' "$work/run.out"
url=$(sed -n 's/^  API  *\(http[^ ]*\).*/\1/p' "$work/run.out")
token=$(sed -n 's/^  API token  *//p' "$work/run.out")
get() { curl -s -H "Authorization: Bearer $token" "$url$1"; }
jq_true() { jq -e "$1" >/dev/null <<<"$2"; }
curl -s -N --max-time 60 -H "Authorization: Bearer $token" "$url/api/v1/stream" >"$work/stream" &
found() { [ "$(get "/api/v1/anomalies?device=$target" | jq '.data | length')" -ge 1 ] 2>/dev/null; }
check "an anomaly on $target appears at /api/v1/anomalies" wait_for 30 found
page=$(get "/api/v1/anomalies?device=$target")
jq -c '.data[]' <<<"$page" >&2
check "blamed on the sensor, kind sensor, detector implausible, score 1" jq_true \
  "any(.data[]; .device_id == \"$target\" and .kind == \"sensor\" and .detector == \"implausible\"
   and .score == 1)" "$page"
check "times are RFC 3339 UTC, the cursor and limit follow the paging contract" jq_true \
  '(.data[0].event_time | test("Z$")) and (.data[0].ingest_time | test("Z$")) and .limit == 1000
   and .next_cursor == null and (.data[0].anomaly_seq | type == "number")' "$page"
check "a full page carries next_cursor" jq_true '.next_cursor == .data[0].anomaly_seq' \
  "$(get "/api/v1/anomalies?limit=1")"
# The backfill reaches the loader partition by partition, far apart in event time: no healthy device
# may look silent (dropouts are judged at the partitions' watermark).
check "no anomaly on any device but the faulted ones" jq_true \
  "all(.data[]; .device_id == \"$target\" or .device_id == \"$live\")" "$(get /api/v1/anomalies)"
check "a bad parameter is a problem naming it" bash -c \
  "curl -s -H 'Authorization: Bearer $token' '$url/api/v1/anomalies?min_score=2' | jq -e '.detail | test(\"min_score\")' >/dev/null"
stored() {
  curl -s -H "Authorization: Bearer $token" \
    --data "{\"sql\":\"SELECT count(*) FROM anomalies WHERE device_id = '$target'\"}" "$url/api/v1/query" |
    jq '.rows[0][0] | tonumber'
}
check "the anomalies table holds what is served" test "$(stored)" -ge 1
pushed() { grep -A1 '^event: anomaly' "$work/stream" | grep -q "\"device_id\":\"$live\""; }
check "the stream pushes the live fault as an anomaly event" wait_for 60 pushed
kill -TERM $run_pid; wait $run_pid; rc=$?; run_pid=
check "run stops with exit 0" test $rc -eq 0
cat "$work/run.err" >&2
exit $fail
