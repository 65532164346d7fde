#!/usr/bin/env bash
# POST /api/v1/ingest end to end (issue #11: acknowledged, then queryable, >= 300,000 records/s with 5,000-record
# bodies). Per round: a fresh `dcmon broker --partitions $PARTITIONS` and a fresh `dcmon serve` (file store, rate
# limits off), then wrk (2 threads, $CONNS connections: a sender with that many requests in flight) posting
# 5,000-record NDJSON bodies for $DURATION s, every body distinct records (one simulated body, its date moved to a
# day of its own per request, so the loader's re-send window drops none), then a wait (at most $CATCHUP s) until
# every record serve answered 200 for (its own count, which includes the requests wrk cut off) is counted in
# DuckDB. Reports per round: records/s acknowledged by Kafka (as wrk counts them, over $DURATION s), records/s end
# to end (stored, from the first request until the last was queryable), p99 of a request, and CPU seconds per
# million records of serve, of the broker and of the client (wrk), each from the round's start until queryable,
# and serve's RSS over the second half of the wrk run (min .. max, sampled every second).
# With PROFILE=1, `perf record` samples serve at 199 Hz from the round's start until queryable and
# bench/thread_profile.py prints serve's CPU s per M records by thread role (the HTTP side: I/O threads, ingest
# workers, the producer's librdkafka thread), with medians per build at the end. With BASELINE=path (another
# build's dcmon), that build and this one take turns, round by round (baseline, this build, $ROUNDS rounds), and
# the medians are compared side by side. DCMON=path measures another build.
# Everything shares this machine's cores: the client, the broker and the server compete.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
dcmon_build=${DCMON:-build/dcmon}
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
conns=${CONNS:-16}
partitions=${PARTITIONS:-64}
catchup=${CATCHUP:-600}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
bench/machine.sh
echo "wrk -t2 -c$conns -d${duration}s, 5,000-record NDJSON bodies, $partitions partitions, $rounds round(s)"

export DCMON_ADMIN_TOKEN=bench-token
auth=(-H "Authorization: Bearer $DCMON_ADMIN_TOKEN")
printf '[api]\nrate_limit_per_token = 0\nrate_limit_per_address = 0\n' >"$work/dcmon.toml"

# 5,000 simulator records, split at their date: request n of wrk thread t joins the pieces with day 2 n + t after
# 2000-01-01 (LuaJIT's table.concat, about a millisecond per body), so every record has an event time no other
# request has.
"$dcmon_build" simulate --from 2025-08-22T00:00:00Z --to 2025-08-22T00:20:00Z >"$work/all.ndjson"
head -5000 "$work/all.ndjson" >"$work/batch.ndjson"
[ "$(grep -c 2025-08-22 "$work/batch.ndjson")" = 5000 ] || { echo "batch.ndjson: not every line dated 2025-08-22" >&2; exit 1; }
cat >"$work/ingest.lua" <<EOF
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  local f = io.open("$work/batch.ndjson", "rb")
  local body = f:read("*a")
  f:close()
  pieces = {}
  local at = 1
  while true do
    local s, e = body:find("2025-08-22", at, true)
    if not s then break end
    pieces[#pieces + 1] = body:sub(at, s - 1)
    at = e + 1
  end
  pieces[#pieces + 1] = body:sub(at)
  n = 0
  headers = {["Content-Type"] = "application/x-ndjson", ["Authorization"] = "Bearer $DCMON_ADMIN_TOKEN"}
end
function request()
  local day = 946684800 + (2 * n + id) * 86400
  n = n + 1
  return wrk.format("POST", nil, headers, table.concat(pieces, os.date("!%Y-%m-%d", day)))
end
EOF

count() {
  curl -s "${auth[@]}" --data '{"sql":"SELECT (SELECT count(*) FROM sensor_readings) + (SELECT count(*) FROM cooling_metrics)"}' \
    "$url/api/v1/query" | jq '.rows[0][0]'
}
# Requests serve answered 200 on /api/v1/ingest, from its own counters.
answered() {
  curl -s "${auth[@]}" "$url/metrics" |
    awk '/^dcmon_http_requests_total\{route="\/api\/v1\/ingest",status="200"\}/ {n = $2} END {printf "%d", n}'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
per_million() { awk -v t="$1" -v hz="$hz" -v n="$2" 'BEGIN {printf "%.2f\n", t / hz / n * 1e6}'; }
all_queryable=1

# `round NAME BINARY`: one round on a fresh broker and store; appends acked, e2e, p99 (ms) and the CPU figures to
# $work/NAME.{acked,e2e,p99,serve,broker,client}.
round() {
  local name=$1 bin=$2 dir="$work/$1-round"
  rm -rf "$dir"; mkdir -p "$dir"
  dcmon=$bin start_broker "$dir/broker.out" "$partitions"
  [ -n "$bootstrap" ] || { echo "$name: dcmon broker did not start" >&2; exit 1; }
  dcmon=$bin start_serve "$dir" --kafka "$bootstrap" --store "$dir/bench.duckdb" --config "$work/dcmon.toml" ||
    { echo "$name: dcmon serve did not become ready: $(tail -3 "$dir/serve.err")" >&2; exit 1; }
  local before answered0 start s0 b0 requests non2xx acked want now end stored p99 client
  before=$(count); answered0=$(answered)
  start=$(date +%s.%N); s0=$(cpu_ticks "$serve_pid"); b0=$(cpu_ticks "$broker_pid")
  # wrk's own CPU (user + system, in ticks) from GNU time.
  for _ in $(seq "$duration"); do ps -o rss= -p "$serve_pid"; sleep 1; done >"$dir/rss.txt" &
  local rss_pid=$! perf_pid=
  if [ -n "${PROFILE:-}" ]; then
    perf record -q -F 199 --call-graph dwarf,16384 -o "$dir/perf.data" -p "$serve_pid" 2>/dev/null & perf_pid=$!
  fi
  /usr/bin/time -f '%U %S' -o "$dir/wrk.time" \
    wrk -t2 -c"$conns" -d"${duration}s" --latency --timeout 30s -s "$work/ingest.lua" "$url/api/v1/ingest" >"$dir/wrk.txt"
  wait "$rss_pid"
  requests=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.txt"); non2xx=${non2xx:-0}
  acked=$(( (requests - non2xx) * 5000 ))
  local deadline=$(($(date +%s) + catchup))
  want=$((before + 5000 * ($(answered) - answered0))); now=$(count)
  while [ "$now" -lt "$want" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
    want=$((before + 5000 * ($(answered) - answered0))); now=$(count)
  done
  end=$(date +%s.%N)
  [ -n "$perf_pid" ] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
  [ "$now" -ge "$want" ] || all_queryable=0
  stored=$((now - before))
  p99=$(awk '$1 == "99%" {v = $2; if (v ~ /ms$/) v += 0; else if (v ~ /us$/) v = v / 1000; else v = v * 1000; print v}' "$dir/wrk.txt")
  client=$(awk -v hz="$hz" '{printf "%.0f", ($1 + $2) * hz}' "$dir/wrk.time")
  awk -v n="$acked" -v d="$duration" 'BEGIN {printf "%.0f\n", n / d}' >>"$work/$name.acked"
  awk -v n="$stored" -v s="$start" -v e="$end" 'BEGIN {printf "%.0f\n", n / (e - s)}' >>"$work/$name.e2e"
  echo "$p99" >>"$work/$name.p99"
  per_million $(($(cpu_ticks "$serve_pid") - s0)) "$stored" >>"$work/$name.serve"
  per_million $(($(cpu_ticks "$broker_pid") - b0)) "$stored" >>"$work/$name.broker"
  per_million "$client" "$stored" >>"$work/$name.client"
  echo "  $name: $(tail -1 "$work/$name.acked") records/s acknowledged ($requests requests, $non2xx not 2xx, p99 $p99 ms);" \
       "$stored of $((want - before)) acknowledged records queryable after $(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}') s:" \
       "$(tail -1 "$work/$name.e2e") records/s end to end; CPU s per M records: serve $(tail -1 "$work/$name.serve")," \
       "broker $(tail -1 "$work/$name.broker"), wrk $(tail -1 "$work/$name.client"); serve RSS second half" \
       "$(tail -n $((duration / 2)) "$dir/rss.txt" | sort -n | sed -n '1p;$p' | awk '{printf "%s%.0f MB", (NR > 1 ? " .. " : ""), $1 / 1024}')"
  if [ -n "$perf_pid" ]; then
    perf script -i "$dir/perf.data" -F tid,ip,sym --no-inline 2>/dev/null | bench/thread_profile.py 199 "$stored" |
      tee -a "$work/$name.roles" | awk -F'\t' '{printf "    %s: %s CPU s per M records\n", $1, $2}'
  fi
  kill "$serve_pid" "$broker_pid"; wait "$serve_pid" "$broker_pid" 2>/dev/null || true
}
median() { sort -g "$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

builds=(dcmon)
[ -n "${BASELINE:-}" ] && builds=(baseline dcmon)
for r in $(seq "$rounds"); do
  echo "round $r"
  for b in "${builds[@]}"; do round "$b" "$([ "$b" = baseline ] && echo "$BASELINE" || echo "$dcmon_build")"; done
done
for b in "${builds[@]}"; do
  echo "median of $rounds ($b): $(median "$work/$b.acked") records/s acknowledged, $(median "$work/$b.e2e") records/s" \
       "end to end, p99 $(median "$work/$b.p99") ms; CPU s per M records: serve $(median "$work/$b.serve")," \
       "broker $(median "$work/$b.broker"), wrk $(median "$work/$b.client")"
done
if [ -n "${PROFILE:-}" ]; then
  for b in "${builds[@]}"; do
    echo "median of $rounds ($b), CPU s per M records by thread:"
    sort -t$'\t' -k1,1 -k2,2g "$work/$b.roles" |
      awk -F'\t' '{v[$1] = v[$1] " " $2; n[$1]++} END {for (r in v) {split(substr(v[r], 2), a, " "); printf "  %s: %s\n", r, a[int((n[r] + 1) / 2)]}}'
  done
fi
if [ -n "${BASELINE:-}" ]; then
  echo "this build / baseline: acknowledged x$(ratio "$(median "$work/dcmon.acked")" "$(median "$work/baseline.acked")")," \
       "end to end x$(ratio "$(median "$work/dcmon.e2e")" "$(median "$work/baseline.e2e")"), serve CPU per record" \
       "x$(ratio "$(median "$work/dcmon.serve")" "$(median "$work/baseline.serve")"), broker CPU per record" \
       "x$(ratio "$(median "$work/dcmon.broker")" "$(median "$work/baseline.broker")")"
fi
if [ "$all_queryable" = 1 ]; then
  echo "every record serve acknowledged was queryable"
else
  echo "NOT every record serve acknowledged was queryable within $catchup s" >&2
  exit 1
fi
