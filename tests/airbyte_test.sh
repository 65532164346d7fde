#!/usr/bin/env bash
# `dcmon airbyte` against a running dcmon serve holding simulated records and line-protocol points: starts the
# embedded broker and serve (port 0), backfills 40 simulated minutes with two faults (a CRAH trip, which raises
# alerts, and a sensor's unit mix-up, which the detectors report), waits until every record is stored, then runs
# the acceptance suite (tests/airbyte_acceptance.py, modelled on Airbyte's Connector Acceptance Test).
set -uo pipefail
dcmon=$1
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"

"$dcmon" broker --partitions 3 >"$work/broker.out" 2>"$work/broker.err" & pids+=($!)
for _ in $(seq 50); do grep -q bootstrap.servers= "$work/broker.out" && break; sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap.servers=//p' "$work/broker.out")

export DCMON_ADMIN_TOKEN=airbyte-test-admin-token
write_hash=$(printf '%s' write-only-token | sha256sum | cut -d' ' -f1)
cat >"$work/dcmon.toml" <<TOML
[alert]
facility = "small"
[api.tokens.telegraf]
sha256 = "$write_hash"
scopes = "write"
TOML
"$dcmon" serve --kafka "$bootstrap" --store "$work/serve.duckdb" --listen 127.0.0.1:0 --config "$work/dcmon.toml" \
  >"$work/serve.out" 2>"$work/serve.err" & pids+=($!)
for _ in $(seq 100); do grep -q 'API on' "$work/serve.out" && break; sleep 0.1; done
url=$(sed -n 's/^dcmon serve: API on //p' "$work/serve.out")
check "serve prints its URL" test -n "$url"

range=(--from 2025-08-21T00:00:00Z --to 2025-08-21T00:40:00Z
  --scenario crah-trip:room-1-crah-2@2025-08-21T00:10:00Z+1h
  --scenario unit-mixup:room-1-a02-inlet-middle@2025-08-21T00:20:00Z+2m)
expected=$("$dcmon" simulate "${range[@]}" --quiet | wc -l)
"$dcmon" simulate "${range[@]}" --kafka "$bootstrap" --quiet >/dev/null 2>"$work/sim.err"
# The simulator places no cooling unit in a row or rack; an in-row cooler does, so every declared field is filled.
cat >"$work/extra.ndjson" <<'NDJSON'
{"source_type":"cooling","system_id":"inrow-a07","efficiency_percent":91.5,"power_consumption_watts":2100,"timestamp":"2025-08-21T00:10:00Z","seq":1,"site":"dc1","room":"room-1","row":"a","rack":"room-1-a07","supply_air_temp_celsius":21.5,"return_air_temp_celsius":33.1,"fan_speed_percent":55}
NDJSON
curl -sf -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" --data-binary @"$work/extra.ndjson" "$url/api/v1/ingest" >/dev/null
expected=$((expected + 1))
count() {
  curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" "$url/api/v1/query" \
    -d '{"sql":"SELECT (SELECT count(*) FROM sensor_readings) + (SELECT count(*) FROM cooling_metrics)"}' |
    jq '.rows[0][0]'
}
for _ in $(seq 300); do [ "$(count)" = "$expected" ] && break; sleep 0.1; done
check "the $expected simulated records are stored" test "$(count)" = "$expected"
stored() { [ "$(curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" "$url$1" | jq '.data | length')" -ge 1 ] 2>/dev/null; }
check "the CRAH trip left alert history" wait_for 30 stored "/api/v1/alerts/events?limit=1"
check "the unit mix-up left an anomaly" wait_for 30 stored "/api/v1/anomalies?limit=1"

python3 "$(dirname "$0")/airbyte_acceptance.py" "$dcmon" "$url" "$DCMON_ADMIN_TOKEN" write-only-token "$bootstrap" ||
  fail=1
exit $fail
