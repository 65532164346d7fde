#!/usr/bin/env bash
# The dashboard's timings (issue #15), from tests/browser/dashboard_test.sh in headless chromium against
# `dcmon run`: first render (navigation to tiles and a coloured floor plan; on a just-started server, then
# reloaded once it is warm) and the 1 h and 7 d chart loads. RUNS runs (default 3) on the small preset, medians;
# then one on the large preset (10,000 racks), whose checks may fail where the machine falls behind.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "chromium: $(chromium --version 2>/dev/null)"
for i in $(seq "$runs"); do
  tests/browser/dashboard_test.sh build/dcmon "$work/small.png" small | grep '^dashboard:' >>"$work/small.txt"
done
median() {  # median KEY FILE
  grep -o "$1=[0-9]*" "$2" | cut -d= -f2 | sort -n | awk '{v[NR] = $1} END {print (NR ? v[int((NR + 1) / 2)] : "n/a")}'
}
for key in first_render_ms warm_render_ms hour_chart_ms week_chart_ms; do
  echo "small, median of $runs: $key $(median $key "$work/small.txt")"
done

# The peer, side by side: curl fetching what the warm page fetches before its first render (the page, its
# two assets, the summary, the device list, the newest readings), one after the other, from a warm server.
peer() {  # peer PRESET
  (exec build/dcmon run --listen 127.0.0.1:0 --store "$work/$1.duckdb" --history 10 --facility "$1" \
    >"$work/$1.out" 2>/dev/null) &
  local run_pid=$!
  for _ in $(seq 300); do grep -q 'Ctrl-C stops everything' "$work/$1.out" && break; sleep 0.1; done
  local url latest from
  url=$(sed -n 's/^  API  *\(http[^ ]*\).*/\1/p' "$work/$1.out")
  for _ in $(seq 300); do [ "$(curl -s "$url/api/v1/summary" | jq '.pue.now')" != null ] && break; sleep 0.2; done
  sleep 10  # about as warm as the test's reloaded page
  latest=$(curl -s "$url/api/v1/summary" | jq -r '.latest_event_time')
  from=$(date -u -d "@$(($(date -d "$latest" +%s) - 120))" +%FT%TZ)
  for _ in $(seq 5); do
    local start
    start=$(date +%s%N)
    for path in / /assets/app.js /assets/app.css /api/v1/summary "/api/v1/devices?kind=sensor" \
      "/api/v1/readings?from=$from&start=0&limit=10000"; do
      curl -sf -o /dev/null "$url$path"
    done
    echo $((($(date +%s%N) - start) / 1000000))
  done | sort -n | sed -n 3p | xargs echo "$1, median of 5: curl_fetch_ms (first readings page only)"
  kill $run_pid
  wait $run_pid 2>/dev/null
}
peer small
tests/browser/dashboard_test.sh build/dcmon "$work/large.png" large | sed 's/^/large: /'
peer large
