#!/usr/bin/env bash
# `dcmon report` in a real browser: `dcmon run` backfills an hour of the small preset into a store (GET
# /api/v1/kpis answers for it meanwhile), then `dcmon report` writes the HTML of that hour with a time-of-use
# tariff, and report_test.mjs opens the file in Debian's headless chromium (playwright-core from web/node_modules):
# no console errors, no request leaves the file, the charts and every rack are there.
# Usage: report_test.sh DCMON
set -uo pipefail
dcmon=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
run_pid=
trap '[ -n "$run_pid" ] && kill $run_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$root/tests/lib.sh"

(cd "$work" && exec "$dcmon" run --listen 127.0.0.1:0 --store "$work/run.duckdb" --history 60 \
  >"$work/run.out" 2>"$work/run.err") &
run_pid=$!
wait_for 15 grep -q 'Ctrl-C stops everything' "$work/run.out"
url=$(sed -n 's/^  API  *\(http[^ ]*\).*/\1/p' "$work/run.out")
[ -n "$url" ] || { echo "FAIL dcmon run printed no URL"; cat "$work/run.err"; exit 1; }
# The backfilled hour is in once all 40 racks of the preset show up and both meters have 95 % of their samples.
loaded() {
  curl -s "$url/api/v1/kpis" >"$work/kpis.json" &&
    jq -e '(.racks | length) == 40 and .pue != null and .energy_kwh.it > 0 and
           (.completeness | map(select((.device_id | startswith("meter_")) and .ratio >= 0.95)) | length) == 2' \
      "$work/kpis.json" >/dev/null
}
check "GET /api/v1/kpis gives PUE, energy and all 40 racks of the backfilled hour" wait_for 60 loaded
plausible() {
  jq -e '.pue > 1.2 and .pue < 1.7 and .cooling_share > 0.05 and .cooling_share < 0.4 and .rci_hi == 100' \
    "$work/kpis.json" >/dev/null
}
check "the KPIs are the facility's: PUE 1.2–1.7, cooling share 5–40 %, RCI_HI 100 %" plausible
[ $fail = 0 ] || jq -c 'del(.racks, .completeness, .rooms)' "$work/kpis.json"
from=$(jq -r .from "$work/kpis.json")
to=$(jq -r .to "$work/kpis.json")
kill -TERM $run_pid; wait $run_pid; run_pid=

DCMON_ANALYTICS_TARIFF="07:00=0.25,23:00=0.12" "$dcmon" report --store "$work/run.duckdb" --from "$from" --to "$to" \
  --out "$work/report.html" 2>"$work/report.err"
check "dcmon report writes the file" test -s "$work/report.html"
check "the report prices the energy at the tariff" grep -q 'Energy cost</td><td>[0-9.]* EUR' "$work/report.html"
REPORT="$work/report.html" RACKS=40 WEB_DIR=$root/web node "$root/tests/browser/report_test.mjs" || fail=1
exit $fail
