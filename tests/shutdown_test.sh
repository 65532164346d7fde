#!/usr/bin/env bash
# dcmon serve and dcmon load stopped after their broker was killed (a host stopped in the wrong order): each
# exits within seconds of SIGTERM instead of waiting for the broker to come back, and serve says which
# records never reached Kafka (their ingest requests were answered 503) and exits 1.
set -uo pipefail
dcmon=$1
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
fixtures=$(cd "$(dirname "$0")/fixtures" && pwd)
export DCMON_ADMIN_TOKEN=test-admin-token
auth=(-H "Authorization: Bearer $DCMON_ADMIN_TOKEN" -H 'Content-Type: application/x-ndjson')

# `stops_within SECONDS PID`: SIGTERM, then true once PID has exited (its status in $rc) within SECONDS.
gone() { ! kill -0 "$1" 2>/dev/null; }
stops_within() {
  kill -TERM "$2"
  wait_for "$1" gone "$2" || return 1
  wait "$2"; rc=$?
}

start_broker "$work/broker.out" 3
start_serve "$work" --kafka "$bootstrap" --store "$work/serve.duckdb"
check "serve is ready" test $? -eq 0
check "ingest before the broker dies is acknowledged" test "$(curl -s -o /dev/null -w '%{http_code}' \
  "${auth[@]}" --data-binary @"$fixtures/seed_records.ndjson" "$url/api/v1/ingest")" = 200
stored() { curl -s "${auth[@]}" "$url/api/airbyte/all?limit=10" | jq -e '.data | length == 2' >/dev/null; }
check "the acknowledged records are stored" wait_for 20 stored
kill -9 "$broker_pid"; wait "$broker_pid" 2>/dev/null
# Records produced while the broker is down stay in the producer's queue: their request is answered 503.
check "ingest with the broker down is not acknowledged" test "$(curl -s -o /dev/null -w '%{http_code}' \
  "${auth[@]}" --data-binary @"$fixtures/seed_records.ndjson" "$url/api/v1/ingest")" = 503
check "serve exits within 10 s of SIGTERM" stops_within 10 "$serve_pid"
check "serve exits 1" test "${rc:-}" = 1
check "serve names the records it could not deliver" \
  grep -q 'dcmon serve: kafka flush: 2 record(s) not delivered' "$work/serve.err"
check "serve says their requests were not acknowledged" \
  grep -q 'their ingest requests were not acknowledged to the clients' "$work/serve.err"

# dcmon load with its broker gone, after it stored a batch (so it has offsets to copy to Kafka).
start_broker "$work/broker2.out" 3
"$dcmon" simulate --from 2025-08-21T16:00:00Z --to 2025-08-21T16:10:00Z --kafka "$bootstrap"
"$dcmon" load --kafka "$bootstrap" --store "$work/load.duckdb" >"$work/load.out" 2>"$work/load.err" &
load_pid=$!; pids+=("$load_pid")
check "load stores a batch" wait_for 30 grep -q 'first batch stored' "$work/load.err"
kill -9 "$broker_pid"; wait "$broker_pid" 2>/dev/null
check "load exits within 10 s of SIGTERM" stops_within 10 "$load_pid"
check "load exits 0 (everything it read is stored)" test "${rc:-}" = 0
exit $fail
