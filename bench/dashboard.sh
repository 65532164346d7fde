#!/usr/bin/env bash
# The dashboard's timings (issue #15), from tests/browser/dashboard_test.sh in headless chromium against
# `dcmon run`: first render (navigation to tiles and a coloured floor plan; on a just-started server, then
# reloaded once it is warm) and the 1 h and 7 d rack chart loads. RUNS runs (default 3) each on the small
# preset, the large one (10,000 racks: its first render is the large floor plan) and the small one with a
# week of history (the 7 d chart over real rollups), medians. Peers, side by side: curl fetching the same
# data from a warm server. ROWS picks rows (default "small large week"; e.g. ROWS=large for the large preset only).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
runs=${RUNS:-3}
rows=" ${ROWS:-small large week} "
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench/machine.sh
echo "chromium: $(chromium --version 2>/dev/null)"
# A week into the embedded broker: enough partitions that its per-partition retention holds the backfill.
week_args="--partitions 64"

median() {  # median KEY FILE
  grep -o "$1=[0-9]*" "$2" | cut -d= -f2 | sort -n | awk '{v[NR] = $1} END {print (NR ? v[int((NR + 1) / 2)] : "n/a")}'
}
measure() {  # measure NAME PRESET [HISTORY]
  [[ $rows == *" $1 "* ]] || return 0
  for i in $(seq "$runs"); do
    HISTORY=${3:-10} CAUGHT_UP=$([ -n "${3:-}" ] && echo 1 || echo 0) RUN_ARGS=$([ -n "${3:-}" ] && echo "$week_args") \
      tests/browser/dashboard_test.sh build/dcmon "$work/$1.png" "$2" >"$work/$1.$i.log"
    grep -E '^FAIL' "$work/$1.$i.log" | sed "s/^/$1 run $i: /"
    grep '^dashboard:' "$work/$1.$i.log" >>"$work/$1.txt"
    grep -o 'the 7 d range loads ([0-9]* points' "$work/$1.$i.log" | sed "s/^/$1 run $i: /"
  done
  for key in first_render_ms warm_render_ms hour_chart_ms week_chart_ms; do
    echo "$1, median of $runs: $key $(median $key "$work/$1.txt")"
  done
}
measure small small
measure large large
measure week small 10080

# The peer: curl fetching, one after the other from a warm server, what the warm page fetches before its
# first render (the page, its two assets, the OpenAPI document, the summary, /api/v1/latest), and the 7 d
# series of one rack's top inlet; medians of 5.
peer() {  # peer NAME PRESET HISTORY [RUN_ARGS...]
  local name=$1 preset=$2 history=$3
  shift 3
  [[ $rows == *" $name "* ]] || return 0
  (exec build/dcmon run --listen 127.0.0.1:0 --store "$work/$name.duckdb" --history "$history" \
    --facility "$preset" "$@" >"$work/$name.out" 2>/dev/null) &
  local run_pid=$!
  for _ in $(seq 300); do grep -q 'Ctrl-C stops everything' "$work/$name.out" && break; sleep 0.1; done
  local url latest
  url=$(sed -n 's/^  API  *\(http[^ ]*\).*/\1/p' "$work/$name.out")
  # A PUE (the meters landed); after a long backfill, the newest record near the clock.
  for _ in $(seq 900); do
    latest=$(curl -s "$url/api/v1/summary" | jq -r 'select(.pue.now != null) | .latest_event_time')
    [ -n "$latest" ] && { [ "$history" -le 10 ] || [ $(($(date +%s) - $(date -d "$latest" +%s))) -lt 120 ]; } && break
    sleep 1
  done
  sleep 10  # about as warm as the test's reloaded page
  latest=$(curl -s "$url/api/v1/summary" | jq -r '.latest_event_time')
  local device to from
  device=$(curl -s "$url/api/v1/summary" | jq -r '.hottest_inlets[0].device_id')
  to=$(date -u -d "@$((($(date -d "$latest" +%s) / 60 + 1) * 60))" +%FT%TZ)
  from=$(date -u -d "@$(($(date -d "$to" +%s) - 7 * 86400))" +%FT%TZ)
  for _ in $(seq 5); do
    local start
    start=$(date +%s%N)
    for path in / /assets/app.js /assets/app.css /openapi.json /api/v1/summary /api/v1/latest; do
      curl -sf -o /dev/null "$url$path"
    done
    echo $((($(date +%s%N) - start) / 1000000))
  done | sort -n | sed -n 3p | xargs echo "$name, median of 5: curl_first_render_fetch_ms"
  # The 7 d series as the page asks for it (whole hours: rollups_1h) and, interleaved with it, as it
  # asked before the hourly rollups (step 2040 s: the week's rows of rollups_1m).
  for _ in $(seq 5); do
    for step in 3600 2040; do
      curl -sf -o /dev/null -w "$step %{time_total}\n" \
        "$url/api/v1/series?device=$device&measurement=temperature&from=$from&to=$to&step=$step"
    done
  done >"$work/$name.series"
  for step in 3600 2040; do
    awk -v s="$step" '$1 == s {print $2}' "$work/$name.series" | sort -n | sed -n 3p |
      awk -v n="$name" -v s="$step" '{printf "%s, median of 5: curl_week_series_ms step %s: %.0f\n", n, s, $1 * 1000}'
  done
  kill $run_pid
  wait $run_pid 2>/dev/null
}
peer small small 10
peer large large 10
# shellcheck disable=SC2086  # week_args is a list of flags
peer week small 10080 $week_args
