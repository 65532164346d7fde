#!/usr/bin/env bash
# dcmon broker and dcmon simulate --kafka as a user runs them, checked with kcat (a Kafka tool nobody here
# wrote): the bootstrap line, every simulated record readable from dc.sensors and dc.cooling (framed as NDJSON, one
# message per partition: docs/kafka.md), each device's records in one partition, and a clean stop.
set -uo pipefail
dcmon=$1
work=$(mktemp -d)
broker_pid=
trap '[ -n "$broker_pid" ] && kill $broker_pid 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
# The records on a topic (partition $2 only, if given): kcat prints each message and a newline, and a framed
# message's lines end in one already, so the blank lines are kcat's.
records_on() { kcat -C -b "$bootstrap" -t "$1" ${2:+-p "$2"} -e -q | grep -av '^$'; }

"$dcmon" broker --partitions 3 >"$work/broker.out" 2>"$work/broker.err" & broker_pid=$!
bootstrap=$(bootstrap_of "$work/broker.out")
check "broker prints one bootstrap line" test "$(wc -l <"$work/broker.out")" -eq 1 -a -n "$bootstrap"
check "broker accepts Kafka clients" bash -c "kcat -L -b '$bootstrap' -t dc.sensors | grep -q '3 partitions'"

range=(--from 2025-08-21T16:00:00Z --to 2025-08-21T18:00:00Z)
"$dcmon" simulate "${range[@]}" >"$work/expected.ndjson"
"$dcmon" simulate "${range[@]}" --kafka "$bootstrap"; rc=$?
check "simulate --kafka exits 0 after every record is acknowledged" test $rc -eq 0
records_on dc.sensors >"$work/sensors.ndjson"
records_on dc.cooling >"$work/cooling.ndjson"
check "kcat reads back every record" \
  cmp -s <(sort "$work/expected.ndjson") <(cat "$work/sensors.ndjson" "$work/cooling.ndjson" | sort)
check "cooling records on dc.cooling only" test "$(grep -vc '"source_type":"cooling"' "$work/cooling.ndjson")" -eq 0
for p in 0 1 2; do records_on dc.sensors $p | grep -ao '"device_id":"[^"]*"' | sort -u >"$work/devices-$p"; done
check "each device's records in one partition, every partition used" \
  test "$(sort "$work"/devices-* | uniq -d | wc -l)" -eq 0 -a -s "$work/devices-0" -a -s "$work/devices-1" -a -s "$work/devices-2"
check "records framed: far fewer messages than records" \
  test "$(kcat -C -b "$bootstrap" -t dc.sensors -e -q -f '%o\n' | wc -l)" -lt "$(($(wc -l <"$work/sensors.ndjson") / 50))"

err=$("$dcmon" simulate "${range[@]}" --kafka "$bootstrap" --kafka-property no.such.property=1 2>&1); rc=$?
check "a bad librdkafka property exits 2 naming it" bash -c "test $rc -eq 2 && grep -q 'no.such.property' <<<'$err'"

# The same settings from a config file and from the environment; an explicit --out wins over both.
printf '[kafka]\nbootstrap = "%s"\nsensors_topic = "dc.sensors"\n[kafka.properties]\n"client.id" = "dcmon-test"\n' \
  "$bootstrap" >"$work/dcmon.toml"
before=$(records_on dc.sensors | wc -l)
"$dcmon" simulate "${range[@]}" --config "$work/dcmon.toml"; rc=$?
after=$(records_on dc.sensors | wc -l)
check "--config [kafka] bootstrap and properties" test $rc -eq 0 -a $((after - before)) -eq "$(wc -l <"$work/sensors.ndjson")"
DCMON_KAFKA_BOOTSTRAP=$bootstrap "$dcmon" simulate "${range[@]}"; rc=$?
again=$(records_on dc.sensors | wc -l)
check "DCMON_KAFKA_BOOTSTRAP from the environment" test $rc -eq 0 -a $((again - after)) -eq $((after - before))
DCMON_KAFKA_BOOTSTRAP=$bootstrap "$dcmon" simulate "${range[@]}" --out "$work/explicit.ndjson"
check "an explicit --out wins over the environment" cmp -s "$work/explicit.ndjson" "$work/expected.ndjson"
printf '[kafka]\nbootstrap = "%s"\n[kafka.properties]\n"no.such.thing" = "1"\n' "$bootstrap" >"$work/bad.toml"
err=$("$dcmon" simulate "${range[@]}" --config "$work/bad.toml" 2>&1); rc=$?
check "a bad property in the config file exits 2 naming it" bash -c "test $rc -eq 2 && grep -q 'no.such.thing' <<<'$err'"

# dcmon load takes everything on the topics into DuckDB, malformed lines into rejects, and stops on SIGTERM.
"$dcmon" simulate --from 2025-08-21T18:00:00Z --to 2025-08-21T18:30:00Z --kafka "$bootstrap" \
  --scenario 'malformed@0m+30m*0.02'
on_topics=$(( $(records_on dc.sensors | wc -l) + $(records_on dc.cooling | wc -l) ))
"$dcmon" load --kafka "$bootstrap" --store "$work/load.duckdb" --group kafka-test --exit-when-idle 3 \
  2>"$work/load.err"; rc=$?
summary=$(grep 'stopped: stored' "$work/load.err")
stored=$(sed -E 's/.*stored ([0-9]+), rejected ([0-9]+), duplicates ([0-9]+).*/\1/' <<<"$summary")
rejected=$(sed -E 's/.*stored ([0-9]+), rejected ([0-9]+), duplicates ([0-9]+).*/\2/' <<<"$summary")
duplicates=$(sed -E 's/.*stored ([0-9]+), rejected ([0-9]+), duplicates ([0-9]+).*/\3/' <<<"$summary")
check "dcmon load --exit-when-idle stops by itself with exit 0" test $rc -eq 0
# The 16:00-18:00 range went to dc.sensors three times above: the copies' records within the loader's
# 10-minute re-send window (behind each device's newest) are dropped as duplicates, older ones stored as late.
check "dcmon load stored, rejected or dropped as a re-send every record on the topics" \
  test $((stored + rejected + duplicates)) -eq $on_topics -a "$duplicates" -gt 0
check "malformed lines were rejected, not lost" test "$rejected" -gt 0

kill -TERM $broker_pid; wait $broker_pid; rc=$?; broker_pid=
check "broker stops on SIGTERM with exit 0" test $rc -eq 0
exit $fail
