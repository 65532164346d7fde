#!/usr/bin/env bash
# The Airbyte connector's full read (issue #14): dcmon serve on the embedded broker holds about a million simulated
# records (the small preset from AIRBYTE_FROM to AIRBYTE_TO, default 31 simulated hours); then, three times each,
#  - connector: `dcmon airbyte read`, full refresh of sensor_readings + cooling_metrics, page size 10000, its stdout
#    counted by grep (what Airbyte would read from the pipe);
#  - peer: the same pages fetched by a python loop that only finds next_cursor and counts records (no parsing, no
#    output): the paged API's own speed, which bounds the connector's;
# and prints records/s for each, the connector's own CPU time, the medians and the ratio connector/peer. Client and
# server share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
dcmon=$PWD/build/dcmon
from=${AIRBYTE_FROM:-2025-08-01T00:00:00Z}
to=${AIRBYTE_TO:-2025-08-02T07:00:00Z}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
bench/machine.sh

start_broker "$work/broker.out" 64
[ -n "$bootstrap" ] || { echo "dcmon broker did not start" >&2; exit 1; }
export DCMON_ADMIN_TOKEN=bench-token
printf '[api]\nrate_limit_per_token = 0\nrate_limit_per_address = 0\n' >"$work/dcmon.toml"
start_serve "$work" --kafka "$bootstrap" --store "$work/bench.duckdb" --config "$work/dcmon.toml" ||
  { echo "dcmon serve did not become ready: $(tail -3 "$work/serve.err")" >&2; exit 1; }

expected=$($dcmon simulate --from "$from" --to "$to" --quiet | wc -l)
$dcmon simulate --from "$from" --to "$to" --kafka "$bootstrap" --quiet
count() {
  curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" --data '{"sql":"SELECT (SELECT count(*) FROM sensor_readings) + (SELECT count(*) FROM cooling_metrics)"}' \
    "$url/api/v1/query" | jq '.rows[0][0]'
}
all_stored() { [ "$(count)" = "$expected" ]; }
wait_for 600 all_stored || { echo "only $(count) of $expected records stored" >&2; exit 1; }
echo "stored $expected records ($from .. $to, small preset)"

printf '{"api_url":"%s","api_token":"%s","page_size":10000}' "$url" "$DCMON_ADMIN_TOKEN" >"$work/config.json"
$dcmon airbyte discover --config "$work/config.json" |
  jq -c '{streams: [.catalog.streams[] | select(.name != "metrics")
                    | {stream: ., sync_mode: "full_refresh", destination_sync_mode: "overwrite"}]}' >"$work/catalog.json"

now() { date +%s.%N; }
# Prints records/s and the connector's own CPU seconds (user + system) for the read.
connector() {
  local t0 n t1
  t0=$(now)
  n=$(/usr/bin/time -f "%U %S" -o "$work/cpu.txt" \
      $dcmon airbyte read --config "$work/config.json" --catalog "$work/catalog.json" | grep -c '^{"type":"RECORD"')
  t1=$(now)
  [ "$n" = "$expected" ] || { echo "connector emitted $n records, expected $expected" >&2; exit 1; }
  echo "$n $t0 $t1 $(cat "$work/cpu.txt")" | awk '{printf "%.0f %.2f", $1 / ($3 - $2), $4 + $5}'
}
# The same pages in one process that only finds next_cursor and counts records: no JSON parsing, no output.
peer() {
  python3 - "$url" "$DCMON_ADMIN_TOKEN" "$expected" <<'PY'
import sys, time, urllib.request
url, token, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0, n = time.monotonic(), 0
for path in ("/api/v1/readings", "/api/v1/cooling"):
    cursor = 0
    while True:
        req = urllib.request.Request(f"{url}{path}?start={cursor}&limit=10000",
                                     headers={"Authorization": f"Bearer {token}"})
        body = urllib.request.urlopen(req, timeout=120).read()
        n += body.count(b'{"ingest_seq":')
        # The page ends with "next_cursor":N|null,"limit":L}
        nxt = body[body.rindex(b'"next_cursor":') + 14:].split(b",", 1)[0]
        if nxt == b"null":
            break
        cursor = int(nxt)
if n != expected:
    sys.exit(f"peer paged {n} records, expected {expected}")
print(round(n / (time.monotonic() - t0)))
PY
}
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
c=() p=() cpu=()
for run in 1 2 3; do
  out=$(connector)
  c+=("${out% *}") cpu+=("${out#* }")
  p+=("$(peer)")
  echo "run $run: connector ${c[-1]} records/s (its own CPU ${cpu[-1]} s), peer (paging alone) ${p[-1]} records/s"
done
cm=$(median "${c[@]}") pm=$(median "${p[@]}") cpum=$(median "${cpu[@]}")
echo "median: connector $cm records/s, peer $pm records/s, ratio $(echo "$cm $pm" | awk '{printf "%.2f", $1 / $2}');" \
     "connector CPU $cpum s per $expected records ($(echo "$expected $cpum" | awk '{printf "%.0f", $1 / $2}') records per CPU second)"
echo "load average during the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
