#!/usr/bin/env bash
# The API under load (issue #6): wrk for 30 s at 64 connections on GET /api/v1/summary; paged reads (issue #11:
# twelve simulated hours, 390,528 records, paged with limit=10000 through /api/airbyte/all, /api/v1/readings and
# /api/v1/cooling, median of 3 passes); against dcmon serve on the embedded broker with a file store. DCMON=path
# runs another build; BASELINE=path serves the paged reads with another build too, in turns (before and after
# side by side). Prints req/s and p99 from wrk and serve's RSS over the second half of the summary run (min, max:
# flat is within ±10 %). POST /api/v1/ingest is bench/ingest.sh's.
# Everything shares this machine's cores: the client, the broker and the server compete. 64 partitions keep a
# 30 s burst within the embedded broker's retention while the loader catches up.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
dcmon=${DCMON:-build/dcmon}
duration=${DURATION:-30}
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
# limit=10000. A first pass follows next_cursor and checks that the pages add up to the table (it also warms the
# store); each timed pass fetches the same pages in order over one keep-alive connection (curl), the client's time
# included, and serve's CPU (user + system, /proc) is read around it. With BASELINE=path (another build's dcmon),
# the two builds serve the same store in turns, restarted for each pass (baseline, this build, three rounds), so
# the ratio is measured side by side.
# The count before the simulator produces: the loader lands records while it runs.
want=$(($(count) + 390528))
$dcmon simulate --from 2025-08-21T00:00:00Z --to 2025-08-21T12:00:00Z --kafka "$bootstrap" 2>/dev/null
landed() { [ "$(count)" -ge "$want" ]; }
wait_for 300 landed || { echo "only $(count) of $want records stored" >&2; exit 1; }
sql_count() {
  curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" --data "{\"sql\":\"SELECT count(*) FROM $1\"}" \
    "$url/api/v1/query" | jq '.rows[0][0]'
}
cpu_seconds() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$serve_pid/stat"; }
# `page_pass NAME PATH EXPECTED`: the checking pass, then one timed pass; appends "wall cpu" to $work/NAME.passes.
page_pass() {
  local name=$1 path=$2 expected=$3 cursor=0 records=0 targets=() page n args=() t bytes c0 t0 t1 c1
  while :; do
    targets+=("$path?limit=10000&start=$cursor")
    page=$(curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" "$url${targets[-1]}")
    n=$(jq '.data | length' <<<"$page"); records=$((records + n))
    cursor=$(jq '.next_cursor' <<<"$page")
    [ "$cursor" = null ] && break
  done
  [ "$records" -eq "$expected" ] || { echo "$path: paged $records records, the store holds $expected" >&2; exit 1; }
  for t in "${targets[@]}"; do args+=(-o /dev/null "$url$t"); done
  c0=$(cpu_seconds); t0=$(date +%s.%N)
  bytes=$(curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" -w '%{size_download}\n' "${args[@]}" | awk '{s += $1} END {print s}')
  t1=$(date +%s.%N); c1=$(cpu_seconds)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}') $(awk -v a="$c0" -v b="$c1" 'BEGIN{print b - a}')" >>"$work/$name.passes"
  echo "$records ${#targets[@]} $bytes" >"$work/$name.size"
}
# `page_summary BUILD`: $path's passes by BUILD and their medians (wall and serve CPU taken separately).
page_summary() {
  local records pages bytes wall cpu
  read -r records pages bytes <"$work/$1$(tr / _ <<<"$path").size"
  wall=$(median "$1" 1)
  cpu=$(median "$1" 2)
  echo "paged read $path ($1): $records records in $pages pages of 10000, $(awk -v b="$bytes" 'BEGIN{printf "%.0f", b / 1e6}') MB;" \
       "passes $(awk '{printf "%.3f s ", $1}' "$work/$1$(tr / _ <<<"$path").passes")-> median $(awk -v n="$records" -v t="$wall" 'BEGIN{printf "%.0f", n / t}') records/s;" \
       "serve CPU $(awk '{printf "%.2f s ", $2}' "$work/$1$(tr / _ <<<"$path").passes")-> median $(awk -v n="$records" -v c="$cpu" 'BEGIN{printf "%.2f", c / n * 1e6}') s per million"
}
# `median BUILD COLUMN`: the median pass of $path by BUILD, wall (1) or serve CPU (2).
median() { awk -v c="$2" '{print $c}' "$work/$1$(tr / _ <<<"$path").passes" | sort -g | sed -n 2p; }
sensors=$(sql_count sensor_readings); cooling=$(sql_count cooling_metrics)
endpoints=("/api/airbyte/all $((sensors + cooling))" "/api/v1/readings $sensors" "/api/v1/cooling $cooling")
restart_serve() {  # BINARY
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
  dcmon=$1 start_serve "$work" --kafka "$bootstrap" --store "$work/bench.duckdb" --config "$work/dcmon.toml" ||
    { echo "$1 serve did not become ready: $(tail -3 "$work/serve.err")" >&2; exit 1; }
}
builds=(dcmon)
[ -n "${BASELINE:-}" ] && builds=(baseline dcmon)
for round in 1 2 3; do
  for build in "${builds[@]}"; do
    [ -n "${BASELINE:-}" ] && restart_serve "$([ "$build" = baseline ] && echo "$BASELINE" || echo "$dcmon")"
    for e in "${endpoints[@]}"; do
      read -r path expected <<<"$e"
      page_pass "$build$(tr / _ <<<"$path")" "$path" "$expected"
    done
  done
done
for e in "${endpoints[@]}"; do
  read -r path _ <<<"$e"
  for build in "${builds[@]}"; do page_summary "$build"; done
  if [ -n "${BASELINE:-}" ]; then
    echo "paged read $path: this build / baseline: records/s x$(awk -v a="$(median baseline 1)" -v b="$(median dcmon 1)" 'BEGIN{printf "%.2f", a / b}')," \
         "serve CPU per record x$(awk -v a="$(median baseline 2)" -v b="$(median dcmon 2)" 'BEGIN{printf "%.2f", b / a}')"
  fi
done
