#!/usr/bin/env bash
# Facility KPIs over an interval (issue #12): `dcmon run` backfills a day of the small preset into a file store,
# then GET /api/v1/kpis over the last hour and the whole day, side by side with its peer, one plain aggregation
# over the same day's raw sensor rows through POST /api/v1/query (one scan: what every KPI call costs at least);
# then `dcmon report` over the day once serve has stopped. Medians of 5 (curl's time_total, the report's wall
# time). DCMON=path runs another build.
set -euo pipefail
cd "$(dirname "$0")/.."
dcmon=$(realpath "${DCMON:-build/dcmon}")
hours=${HOURS:-24}
work=$(mktemp -d)
run_pid=
trap '[ -n "$run_pid" ] && kill $run_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
bench/machine.sh

(cd "$work" && exec "$dcmon" run --listen 127.0.0.1:0 --store "$work/k.duckdb" --history $((hours * 60)) \
  >"$work/run.out" 2>"$work/run.err") &
run_pid=$!
for _ in $(seq 300); do grep -q 'Ctrl-C stops everything' "$work/run.out" && break; sleep 0.1; done
url=$(sed -n 's/^  API  *\(http[^ ]*\).*/\1/p' "$work/run.out")
token=$(sed -n 's/^  API token  *//p' "$work/run.out")
query() {
  curl -s -H "Authorization: Bearer $token" --data "{\"sql\":\"$1\"}" "$url/api/v1/query" | jq -r '.rows[0][0]'
}
# The backfill is in when the stored readings reach from a day ago to the live edge (it runs in time order).
start=$(date +%s)
while :; do
  span=$(query "SELECT epoch(min(event_time))::BIGINT || ' ' || epoch(max(event_time))::BIGINT FROM sensor_readings")
  read -r oldest newest <<<"${span/null/0 0}"
  now=$(date +%s)
  [ "$oldest" -gt 0 ] && [ "$oldest" -le $((now - hours * 3600 + 120)) ] && [ "$newest" -ge $((now - 120)) ] && break
  [ $((now - start)) -gt 900 ] && { echo "backfill did not finish in 15 min"; exit 1; }
  sleep 1
done
rows=$(query "SELECT count(*) FROM sensor_readings")
cooling=$(query "SELECT count(*) FROM cooling_metrics")
echo "store: $rows sensor rows, $cooling cooling rows ($hours h of the small preset), backfilled in $(($(date +%s) - start)) s"

to=$(date -u +%Y-%m-%dT%H:%M:%SZ)
day_from=$(date -u -d "@$(($(date +%s) - hours * 3600))" +%Y-%m-%dT%H:%M:%SZ)
hour_from=$(date -u -d "@$(($(date +%s) - 3600))" +%Y-%m-%dT%H:%M:%SZ)
median() { sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
timed_get() {  # URL: median time_total of 5
  for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$1"; done | median
}
timed_query() {  # SQL: median time_total of 5
  for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" --data "{\"sql\":\"$1\"}" \
      "$url/api/v1/query"
  done | median
}
kpis_hour=$(timed_get "$url/api/v1/kpis?from=$hour_from&to=$to")
kpis_day=$(timed_get "$url/api/v1/kpis?from=$day_from&to=$to")
scan_day=$(timed_query "SELECT device_id, count(*), avg(value) FROM sensor_readings WHERE event_time >= '$day_from' AND event_time < '$to' GROUP BY device_id")
curl -s -H "Authorization: Bearer $token" "$url/api/v1/kpis?from=$day_from&to=$to" >"$work/kpis.json"
echo "GET /api/v1/kpis, last hour:       ${kpis_hour} s"
echo "GET /api/v1/kpis, $hours h:          ${kpis_day} s"
echo "peer: one aggregation over the $hours h of raw sensor rows (POST /api/v1/query): ${scan_day} s"
echo "ratio kpis / one scan ($hours h): $(awk -v a="$kpis_day" -v b="$scan_day" 'BEGIN{printf "%.1f", a/b}')"
echo "the day's KPIs: $(jq -c '{pue, cooling_share, kw_per_ton, rci_hi, racks: (.racks|length), devices: (.completeness|length)}' "$work/kpis.json")"
kill -TERM $run_pid; wait $run_pid || true; run_pid=

for _ in 1 2 3 4 5; do
  s=$(date +%s%N)
  "$dcmon" report --store "$work/k.duckdb" --from "$day_from" --to "$to" --out "$work/report.html" 2>/dev/null
  echo $((($(date +%s%N) - s) / 1000000))
done | median >"$work/report_ms"
echo "dcmon report, $hours h: $(cat "$work/report_ms") ms wall (opening the file included), $(stat -c %s "$work/report.html") bytes"
