#!/usr/bin/env bash
# The dashboard in a real browser: starts `dcmon run` (a preset, small unless told; HISTORY minutes
# of backfill, 10 unless told, waited for when CAUGHT_UP=1; RUN_ARGS adds flags) on a free port, then a test script (dashboard_test.mjs unless told) drives Debian's headless
# chromium through playwright-core (web/node_modules).
# Usage: dashboard_test.sh DCMON [SCREENSHOT [PRESET [SCRIPT]]]  (defaults: ./dashboard.png, small,
# dashboard_test.mjs; bench/dashboard.sh runs it on large too)
set -uo pipefail
dcmon=$(realpath "$1")
screenshot=$(realpath -m "${2:-dashboard.png}")
preset=${3:-small}
script=${4:-dashboard_test.mjs}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
run_pid=
trap '[ -n "$run_pid" ] && kill -CONT $run_pid 2>/dev/null && kill $run_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# shellcheck disable=SC2086  # RUN_ARGS is a list of flags
# A site with a time-of-use tariff, so that the cost tile has a price to show.
(cd "$work" && DCMON_ANALYTICS_TARIFF="${TARIFF-07:00=0.25,23:00=0.12}" exec "$dcmon" run --listen 127.0.0.1:0 --store "$work/run.duckdb" --history "${HISTORY:-10}" --facility "$preset" \
  ${RUN_ARGS:-} >"$work/run.out" 2>"$work/run.err") &
run_pid=$!
for _ in $(seq 150); do grep -q 'Ctrl-C stops everything' "$work/run.out" && break; sleep 0.1; done
url=$(sed -n 's/^  API  *\(http[^ ]*\).*/\1/p' "$work/run.out")
[ -n "$url" ] || { echo "FAIL dcmon run printed no URL"; cat "$work/run.err"; exit 1; }
# A long backfill (bench/dashboard.sh's week): wait until the newest record is within two minutes of
# the clock, so that the charts measure the whole history.
if [ "${CAUGHT_UP:-0}" = 1 ]; then
  for _ in $(seq 900); do
    latest=$(curl -s "$url/api/v1/summary" | jq -r '.latest_event_time // empty')
    [ -n "$latest" ] && [ $(($(date +%s) - $(date -d "$latest" +%s))) -lt 120 ] && break
    sleep 1
  done
  echo "caught up: newest record $latest"
fi
# The racks and CRAH units the preset declares: rows × racks_per_row, and crah_units, over its rooms.
read -r racks units < <(awk -F'= *' '/^\[\[rooms\]\]/{n++} n && /^rows *=/{r=$2}
  n && /^racks_per_row *=/{t+=r*$2} n && /^crah_units *=/{u+=$2} END{print t, u}' \
  "$root/config/facility/$preset.toml")
URL=$url RACKS=$racks UNITS=$units DCMON_PID=$run_pid SCREENSHOT=$screenshot WEB_DIR=$root/web \
  node "$root/tests/browser/$script"
