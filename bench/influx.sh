#!/usr/bin/env bash
# InfluxDB line protocol, dcmon against InfluxDB itself (issue #11): Debian's influxd (1.x) and dcmon serve (on the
# embedded broker, file store) on loopback, fed the same 5,000-line batches by the same client (wrk, 2 threads,
# $CONNS connections, POST /write?precision=ns), interleaved: dcmon, influxd, dcmon, influxd, ... $ROUNDS rounds
# of $DURATION s each. Prints lines/s acknowledged (204) per round, the medians and their ratio; then waits until
# every line dcmon acknowledged is queryable in `metrics` and prints the end-to-end rate.
set -euo pipefail
cd "$(dirname "$0")/.."
dcmon=build/dcmon
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
conns=${CONNS:-16}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)," \
     "$(influxd version 2>/dev/null | head -1)"

source tests/lib.sh
start_influxd "$work" "${INFLUX_SEED:-$$}"
[ -n "$influx_url" ] || { echo "influxd did not start" >&2; exit 1; }
curl -s -XPOST "$influx_url/query" --data-urlencode 'q=CREATE DATABASE bench' >/dev/null

$dcmon broker --partitions 6 >"$work/broker.out" 2>/dev/null & pids+=($!)
bootstrap=$(bootstrap_of "$work/broker.out")
export DCMON_ADMIN_TOKEN=bench-token
printf '[api]\nrate_limit_per_token = 0\nrate_limit_per_address = 0\n' >"$work/dcmon.toml"
$dcmon serve --kafka "$bootstrap" --store "$work/bench.duckdb" --listen 127.0.0.1:0 --config "$work/dcmon.toml" \
  >"$work/serve.out" 2>"$work/serve.err" & pids+=($!)
wait_for 10 grep -q 'API on' "$work/serve.out"
url=$(sed -n 's/^dcmon serve: API on //p' "$work/serve.out")
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; }
wait_for 20 ready

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

count() {
  curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" --data '{"sql":"SELECT count(*) FROM metrics"}' \
    "$url/api/v1/query" | jq '.rows[0][0]'
}
# One round against TARGET URL: prints lines/s acknowledged; adds the 204s to $acked_TARGET.
round() {
  wrk -t2 -c"$conns" -d"${duration}s" --timeout 30s -s "$work/write.lua" "$2/write?precision=ns&db=bench" >"$work/$1.txt"
  local requests non2xx rate
  requests=$(awk '/requests in/ {print $1}' "$work/$1.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$1.txt"); non2xx=${non2xx:-0}
  rate=$(awk -v n="$requests" -v bad="$non2xx" -v l="$lines" -v d="$duration" 'BEGIN {printf "%.0f", (n - bad) * l / d}')
  echo "$rate" >>"$work/$1.rates"
  echo $(( (requests - non2xx) * lines )) >>"$work/$1.acked"
  echo "  $1: $rate lines/s acknowledged ($requests requests, $non2xx not 2xx)"
}
median() { sort -n "$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

before=$(count); start=$(date +%s.%N)
for r in $(seq "$rounds"); do
  echo "round $r"
  round dcmon "$url"
  round influxd "$influx_url"
done
d=$(median "$work/dcmon.rates"); i=$(median "$work/influxd.rates")
echo "median of $rounds: dcmon $d lines/s, influxd $i lines/s, ratio $(awk -v d="$d" -v i="$i" 'BEGIN {printf "%.2f", d / i}')"

# Queryable: every acknowledged line is 4 rows of `metrics` (one per field), at most 10 min.
want=$((before + 4 * $(paste -sd+ "$work/dcmon.acked" | bc))); now=$(count)
for _ in $(seq 600); do [ "$now" -ge "$want" ] && break; sleep 1; now=$(count); done
end=$(date +%s.%N)
echo "dcmon: $(( (now - before) / 4 )) of $(( (want - before) / 4 )) acknowledged lines queryable in metrics;" \
     "$(awk -v n="$(( (now - before) / 4 ))" -v s="$start" -v e="$end" 'BEGIN {printf "%.0f", n / (e - s)}') lines/s end to end" \
     "(over both targets' rounds and the catch-up)"
