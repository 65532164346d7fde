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
tests/browser/dashboard_test.sh build/dcmon "$work/large.png" large | sed 's/^/large: /'
