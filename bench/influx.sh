#!/usr/bin/env bash
# InfluxDB line protocol, dcmon against InfluxDB itself (issue #11): Debian's influxd (1.x) and dcmon serve (on the
# embedded broker, file store) on loopback, fed the same 5,000-line batches by the same client (wrk, 2 threads,
# $CONNS connections, POST /write?precision=ns), interleaved: dcmon, influxd, dcmon, influxd, ... $ROUNDS rounds
# of $DURATION s each. Per round: lines/s acknowledged (204, as wrk counts them) and CPU seconds per million lines
# of the server's processes (dcmon: serve and the broker). A dcmon round then waits (at most $CATCHUP s) until
# every line serve acknowledged (its own 204 count, which includes the requests wrk cut off) is queryable in
# `metrics`, and reports lines/s end to end (acknowledged and queryable, from the round's start) before the
# influxd round starts, so that neither competes with the other's work. influxd answers 204 once a point is
# queryable, so its end-to-end rate is its acknowledged one. Prints the medians and their ratios; exits 1 if
# some acknowledged line was not queryable within $CATCHUP s.
set -euo pipefail
cd "$(dirname "$0")/.."
dcmon=${DCMON:-build/dcmon}  # DCMON=/other/tree/build/dcmon measures another build with this script
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
conns=${CONNS:-16}
# The embedded broker keeps about 5 MB a partition (bus/embedded_broker.h), about 9 of these 5,000-line messages
# (~106 bytes a line): with 6 partitions a backlog over ~280,000 lines was dropped before the loader read it; 64 hold
# ~3 M lines.
partitions=${PARTITIONS:-64}
catchup=${CATCHUP:-600}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
bench/machine.sh "$(influxd version 2>/dev/null | head -1)"

source tests/lib.sh
start_influxd "$work" "${INFLUX_SEED:-$$}"
[ -n "$influx_url" ] || { echo "influxd did not start" >&2; exit 1; }
influxd_pid=${pids[-1]}
curl -s -XPOST "$influx_url/query" --data-urlencode 'q=CREATE DATABASE bench' >/dev/null

start_broker "$work/broker.out" "$partitions"
export DCMON_ADMIN_TOKEN=bench-token
printf '[api]\nrate_limit_per_token = 0\nrate_limit_per_address = 0\n' >"$work/dcmon.toml"
start_serve "$work" --kafka "$bootstrap" --store "$work/bench.duckdb" --config "$work/dcmon.toml" ||
  { echo "serve did not become ready" >&2; exit 1; }

# 5,000 lines as Telegraf writes them: 100 hosts, tags, four fields of each type, nanosecond timestamps.
awk 'BEGIN { t = 1700000000000000000; for (i = 0; i < 5000; i++)
  printf "cpu,host=host-%03d,region=r%d,dc=eu-1 usage_user=%.3f,usage_system=%.3f,processes=%di,ok=true %d\n",
         i % 100, i % 5, (i * 7 % 1000) / 10.0, (i * 3 % 1000) / 10.0, i % 400, t + i * 1000000 }' >"$work/batch.lp"
lines=$(wc -l <"$work/batch.lp")
cat >"$work/write.lua" <<EOF2
local f = io.open("$work/batch.lp", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "text/plain; charset=utf-8"
wrk.headers["Authorization"] = "Token $DCMON_ADMIN_TOKEN"
EOF2

auth=(-H "Authorization: Bearer $DCMON_ADMIN_TOKEN")
count() { curl -s "${auth[@]}" --data '{"sql":"SELECT count(*) FROM metrics"}' "$url/api/v1/query" | jq '.rows[0][0]'; }
# Requests serve answered 204 on /write, from its own counters.
answered() {
  curl -s "${auth[@]}" "$url/metrics" |
    awk '/^dcmon_http_requests_total\{route="\/write",status="204"\}/ {n = $2} END {printf "%d", n}'
}
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
hz=$(getconf CLK_TCK)
all_queryable=1
# One round against TARGET URL PIDS...: prints lines/s acknowledged and CPU s per million lines, and for dcmon the
# catch-up and the end-to-end rate; appends them to $work/TARGET.{rates,cpu,e2e}.
round() {
  local target=$1 target_url=$2; shift 2
  local start cpu0 requests non2xx acked rate before answered0 want now end cpu
  [ "$target" = dcmon ] && { before=$(count); answered0=$(answered); }
  start=$(date +%s.%N); cpu0=$(cpu_ticks "$@")
  wrk -t2 -c"$conns" -d"${duration}s" --timeout 30s -s "$work/write.lua" "$target_url/write?precision=ns&db=bench" \
    >"$work/$target.txt"
  requests=$(awk '/requests in/ {print $1}' "$work/$target.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$target.txt"); non2xx=${non2xx:-0}
  acked=$(( (requests - non2xx) * lines ))
  rate=$(awk -v n="$acked" -v d="$duration" 'BEGIN {printf "%.0f", n / d}')
  echo "$rate" >>"$work/$target.rates"
  if [ "$target" = influxd ]; then
    cpu=$(awk -v t="$(( $(cpu_ticks "$@") - cpu0 ))" -v hz="$hz" -v n="$acked" 'BEGIN {printf "%.2f", t / hz / n * 1e6}')
    echo "$cpu" >>"$work/$target.cpu"
    echo "  $target: $rate lines/s acknowledged ($requests requests, $non2xx not 2xx), $cpu CPU s per M lines"
    return
  fi
  # Every line serve answered 204 for is 4 rows of `metrics` (one per field). Requests wrk cut off at the end are
  # answered a little later, so the target is read again with every look at the table.
  local deadline=$(($(date +%s) + catchup))
  want=$((before + 4 * lines * ($(answered) - answered0))); now=$(count)
  while [ "$now" -lt "$want" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
    want=$((before + 4 * lines * ($(answered) - answered0))); now=$(count)
  done
  end=$(date +%s.%N)
  local stored=$(( (now - before) / 4 ))
  cpu=$(awk -v t="$(( $(cpu_ticks "$@") - cpu0 ))" -v hz="$hz" -v n="$stored" 'BEGIN {printf "%.2f", t / hz / n * 1e6}')
  local e2e; e2e=$(awk -v n="$stored" -v s="$start" -v e="$end" 'BEGIN {printf "%.0f", n / (e - s)}')
  echo "$cpu" >>"$work/$target.cpu"; echo "$e2e" >>"$work/$target.e2e"
  echo "  $target: $rate lines/s acknowledged ($requests requests, $non2xx not 2xx); $stored of" \
       "$(( (want - before) / 4 )) lines serve acknowledged queryable after $(awk -v s="$start" -v e="$end" \
       'BEGIN {printf "%.1f", e - s}') s: $e2e lines/s end to end, $cpu CPU s per M lines (serve + broker)"
  [ "$now" -ge "$want" ] || all_queryable=0
}
# Messages the loader found gone from the embedded broker (its retention), from serve's log.
lost_messages() { awk '/out of the broker.s retention/ {for (i = 1; i <= NF; i++) if ($i == "record(s)") n += $(i - 1)} END {printf "%d", n}' "$work/serve.err"; }
median() { sort -n "$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

for r in $(seq "$rounds"); do
  echo "round $r"
  round dcmon "$url" "$serve_pid" "$broker_pid"
  round influxd "$influx_url" "$influxd_pid"
done
d=$(median "$work/dcmon.rates"); i=$(median "$work/influxd.rates"); e=$(median "$work/dcmon.e2e")
echo "median of $rounds, acknowledged: dcmon $d lines/s, influxd $i lines/s, ratio $(ratio "$d" "$i")"
echo "median of $rounds, end to end (queryable): dcmon $e lines/s, influxd $i lines/s, ratio $(ratio "$e" "$i")"
echo "median of $rounds, CPU s per M lines: dcmon $(median "$work/dcmon.cpu") (to queryable)," \
     "influxd $(median "$work/influxd.cpu")"
lost=$(lost_messages)
[ "$lost" = 0 ] || echo "the embedded broker dropped $lost points messages ($((lost * lines)) lines) before the loader read them"
if [ "$all_queryable" = 1 ]; then
  echo "every line dcmon acknowledged was queryable in metrics"
else
  echo "NOT every line dcmon acknowledged was queryable in metrics within $catchup s" >&2
  exit 1
fi
