#!/usr/bin/env bash
# dcmon load against poison input, as a user runs it: 1,000 malformed lines of six kinds (bad JSON, wrong
# types, a missing field, NaN, a bad timestamp, invalid UTF-8) interleaved with 2,000 good ones, produced
# with kcat. The loader keeps running (and prints its status line), stores every good line, keeps exactly
# 1,000 rejects whose reasons name the field, and puts each one on dc.rejects with a dcmon-reason header.
set -uo pipefail
dcmon=$1
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"

"$dcmon" broker --partitions 2 >"$work/broker.out" 2>/dev/null & pids+=($!)
bootstrap=$(bootstrap_of "$work/broker.out")

ts='"timestamp":"2025-08-21T16:00:00Z"'
good() { printf '{"source_type":"sensor","device_id":"good-%s","location":"l","measurement_type":"t","value":1.5,%s}\n' "$1" "$ts"; }
for i in $(seq 1 1000); do
  good "a$i"
  case $((i % 6)) in
    0) printf '{"source_type":"sensor","device_id":"bad-%d","loc\n' "$i" ;;
    1) printf '{"source_type":"sensor","device_id":"bad-%d","location":"l","measurement_type":"t","value":"x",%s}\n' "$i" "$ts" ;;
    2) printf '{"source_type":"sensor","location":"l%d","measurement_type":"t","value":1,%s}\n' "$i" "$ts" ;;
    3) printf '{"source_type":"sensor","device_id":"bad-%d","location":"l","measurement_type":"t","value":NaN,%s}\n' "$i" "$ts" ;;
    4) printf '{"source_type":"sensor","device_id":"bad-%d","location":"l","measurement_type":"t","value":1,"timestamp":"16:00"}\n' "$i" ;;
    5) printf '{"source_type":"sensor","device_id":"bad-%d","location":"l","measurement_type":"t","value":1,"unit":"\xff",%s}\n' "$i" "$ts" ;;
  esac
  good "b$i"
done >"$work/lines"
kcat -P -b "$bootstrap" -t dc.sensors <"$work/lines"

store="$work/rejects.duckdb"
"$dcmon" load --kafka "$bootstrap" --store "$store" --group rejects --memory-limit 256MB 2>"$work/load.log" &
loader=$!; pids+=($loader)
# The first status line comes after 10 s.
check "status line with records/s, lag, rejects, duplicates and loss" wait_for 30 \
  grep -qE 'records/s, (lag dc\.[a-z]+ [0-9]+, )+stored .*rejected 1000, duplicates 0, lost 0' "$work/load.log"
check "dcmon load keeps running past 1,000 malformed lines" kill -0 $loader
kill -TERM $loader; wait $loader; rc=$?
check "SIGTERM stops it cleanly" test $rc -eq 0

count() { "$dcmon" sql --store "$store" --format csv "$1" | tail -1; }
check "every good line stored" test "$(count "SELECT count(*) FROM sensor_readings WHERE device_id LIKE 'good-%'")" -eq 2000
check "exactly 1,000 rejects" test "$(count "SELECT count(*) FROM rejects")" -eq 1000
check "every reason names the field" test "$(count "SELECT count(*) FROM rejects \
  WHERE regexp_matches(reason, '^(record|value|device_id|timestamp|unit): .+')")" -eq 1000
kcat -C -b "$bootstrap" -t dc.rejects -e -q -f '%h\n' >"$work/dead-letters"
check "1,000 dead letters on dc.rejects with their reasons" \
  test "$(grep -c 'dcmon-reason=.\+' "$work/dead-letters")" -eq 1000
exit $fail
