#!/usr/bin/env bash
# The dashboard in a real browser: starts `dcmon run` (a preset, small unless told) on a free port, then
# dashboard_test.mjs drives Debian's headless chromium through playwright-core (web/node_modules).
# Usage: dashboard_test.sh DCMON [SCREENSHOT [PRESET]]  (defaults: ./dashboard.png, small; bench/dashboard.sh
# runs it on large too)
set -uo pipefail
dcmon=$(realpath "$1")
screenshot=$(realpath -m "${2:-dashboard.png}")
preset=${3:-small}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
run_pid=
trap '[ -n "$run_pid" ] && kill -CONT $run_pid 2>/dev/null && kill $run_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

(cd "$work" && exec "$dcmon" run --listen 127.0.0.1:0 --store "$work/run.duckdb" --history 10 --facility "$preset" \
  >"$work/run.out" 2>"$work/run.err") &
run_pid=$!
for _ in $(seq 150); do grep -q 'Ctrl-C stops everything' "$work/run.out" && break; sleep 0.1; done
url=$(sed -n 's/^  API  *\(http[^ ]*\).*/\1/p' "$work/run.out")
[ -n "$url" ] || { echo "FAIL dcmon run printed no URL"; cat "$work/run.err"; exit 1; }
# The racks the preset declares: rows × racks_per_row over its rooms.
racks=$(awk -F'= *' '/^\[\[rooms\]\]/{n++} n && /^rows *=/{r=$2} n && /^racks_per_row *=/{t+=r*$2} END{print t}' \
  "$root/config/facility/$preset.toml")
URL=$url RACKS=$racks DCMON_PID=$run_pid SCREENSHOT=$screenshot WEB_DIR=$root/web \
  node "$root/tests/browser/dashboard_test.mjs"
