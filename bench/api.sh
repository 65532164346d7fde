#!/usr/bin/env bash
# The API under load (issue #6): wrk for 30 s at 64 connections on GET /api/v1/summary; paged reads (issue #11:
# twelve simulated hours, 390,528 records, paged with limit=10000 through /api/airbyte/all, /api/v1/readings and
# /api/v1/cooling, median of 3 passes); then POST /api/v1/ingest with 5,000-record NDJSON bodies; against dcmon
# serve on the embedded broker with a file store. DCMON=path runs another build (to compare before and after).
# Prints req/s and p99 from wrk, records/s end to end (acknowledged by Kafka and counted in DuckDB once the
# loader has caught up), and serve's RSS over the second half of each run (min, max: flat is within ±10 %).
# Everything shares this machine's cores: the client, the broker and the server compete. 64 partitions keep a
# 30 s burst within the embedded broker's retention while the loader catches up.
set -euo pipefail
cd "$(dirname "$0")/.."
dcmon=${DCMON:-build/dcmon}
duration=${DURATION:-30}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"

$dcmon broker --partitions 64 >"$work/broker.out" 2>/dev/null & pids+=($!)
for _ in $(seq 300); do grep -q bootstrap.servers= "$work/broker.out" && break; sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap.servers=//p' "$work/broker.out")
export DCMON_ADMIN_TOKEN=bench-token
printf '[api]\nrate_limit_per_token = 0\nrate_limit_per_address = 0\n' >"$work/dcmon.toml"
$dcmon serve --kafka "$bootstrap" --store "$work/bench.duckdb" --listen 127.0.0.1:0 --config "$work/dcmon.toml" \
  >"$work/serve.out" 2>"$work/serve.err" & serve_pid=$!; pids+=($serve_pid)
for _ in $(seq 300); do grep -q 'API on' "$work/serve.out" && break; sleep 0.1; done
url=$(sed -n 's/^dcmon serve: API on //p' "$work/serve.out")
for _ in $(seq 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] && break; sleep 0.2; done
# Some live state for the summary: ten minutes of the small facility.
$dcmon simulate --from 2025-08-21T12:00:00Z --to 2025-08-21T12:10:00Z --kafka "$bootstrap" 2>/dev/null

count() {
  curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" --data '{"sql":"SELECT (SELECT count(*) FROM sensor_readings) + (SELECT count(*) FROM cooling_metrics)"}' \
    "$url/api/v1/query" | jq '.rows[0][0]'
}
# RSS of serve every second while wrk runs; prints min and max over the second half.
watch_rss() {
  for _ in $(seq "$duration"); do ps -o rss= -p "$serve_pid"; sleep 1; done >"$work/rss.txt"
}
rss_half() {
  tail -n $((duration / 2)) "$work/rss.txt" | sort -n | sed -n '1p;$p' | awk '{printf "%s%.0f MB", (NR > 1 ? " .. " : ""), $1 / 1024}'
}

watch_rss & rss_pid=$!
wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" "$url/api/v1/summary" >"$work/summary.txt"
wait $rss_pid
echo "summary: $(grep 'Requests/sec' "$work/summary.txt" | awk '{print $2}') req/s," \
     "p99 $(grep -E '^ +99%' "$work/summary.txt" | awk '{print $2}'), RSS second half $(rss_half)"

# Paged reads from a warm store: twelve simulated hours landed, then each endpoint paged from the start with
# limit=10000. A first pass follows next_cursor and checks that the pages add up to the table; each timed pass
# fetches the same pages in order over one keep-alive connection (curl), the client's time included.
$dcmon simulate --from 2025-08-21T00:00:00Z --to 2025-08-21T12:00:00Z --kafka "$bootstrap" 2>/dev/null
want=$(($(count) + 390528))
for _ in $(seq 600); do [ "$(count)" -ge "$want" ] && break; sleep 0.5; done
sql_count() {
  curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" --data "{\"sql\":\"SELECT count(*) FROM $1\"}" \
    "$url/api/v1/query" | jq '.rows[0][0]'
}
page_reads() {  # endpoint, expected record count
  local path=$1 expected=$2 cursor=0 records=0 urls=() page n
  while :; do
    urls+=("$url$path?limit=10000&start=$cursor")
    page=$(curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" "${urls[-1]}")
    n=$(jq '.data | length' <<<"$page"); records=$((records + n))
    cursor=$(jq '.next_cursor' <<<"$page")
    [ "$cursor" = null ] && break
  done
  [ "$records" -eq "$expected" ] || { echo "$path: paged $records records, the store holds $expected" >&2; exit 1; }
  local times=() bytes args=() u
  for u in "${urls[@]}"; do args+=(-o /dev/null "$u"); done
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    bytes=$(curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" -w '%{size_download}\n' "${args[@]}" | awk '{s += $1} END {print s}')
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')")
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 2p)
  echo "paged read $path: $records records in ${#urls[@]} pages of 10000, $(awk -v b="$bytes" 'BEGIN{printf "%.0f", b / 1e6}') MB;" \
       "passes $(printf '%.3f s ' "${times[@]}")-> median $(awk -v n="$records" -v t="$median" 'BEGIN{printf "%.0f", n / t}') records/s"
}
sensors=$(sql_count sensor_readings); cooling=$(sql_count cooling_metrics)
page_reads /api/airbyte/all $((sensors + cooling))
page_reads /api/v1/readings "$sensors"
page_reads /api/v1/cooling "$cooling"

# Ingest: 5,000 simulator records per request.
$dcmon simulate --from 2025-08-22T00:00:00Z --to 2025-08-22T00:20:00Z >"$work/all.ndjson"
head -5000 "$work/all.ndjson" >"$work/batch.ndjson"
cat >"$work/ingest.lua" <<EOF
local f = io.open("$work/batch.ndjson", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/x-ndjson"
wrk.headers["Authorization"] = "Bearer $DCMON_ADMIN_TOKEN"
EOF
before=$(count)
start=$(date +%s.%N)
watch_rss & rss_pid=$!
wrk -t2 -c64 -d"${duration}s" --latency --timeout 30s -s "$work/ingest.lua" "$url/api/v1/ingest" >"$work/ingest.txt"
wait $rss_pid
requests=$(grep -E 'requests in' "$work/ingest.txt" | awk '{print $1}')
# Until the loader has stored everything that was acknowledged (every request answered 200), at most 10 min.
want=$((before + requests * 5000)); now=$(count); end=$(date +%s.%N)
for _ in $(seq 600); do
  [ "$now" -ge "$want" ] && break
  sleep 1; now=$(count); end=$(date +%s.%N)
done
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/ingest.txt"); non2xx=${non2xx:-0}
stored=$((now - before))
lost=$(curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" "$url/metrics" | awk '/^dcmon_kafka_lost_records_total/ {print $2}')
rps=$(grep 'Requests/sec' "$work/ingest.txt" | awk '{print $2}')
echo "ingest: $rps req/s of 5,000 records = $(awk -v r="$rps" 'BEGIN{printf "%.0f", r*5000}') records/s acknowledged by Kafka," \
     "p99 $(grep -E '^ +99%' "$work/ingest.txt" | awk '{print $2}'), $requests requests ($non2xx not 2xx);" \
     "stored $stored = $(awk -v n="$stored" -v s="$start" -v e="$end" 'BEGIN{printf "%.0f", n/(e-s)}') records/s end to end" \
     "(until the loader caught up), ${lost:-?} lost; RSS second half $(rss_half)"
