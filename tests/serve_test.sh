#!/usr/bin/env bash
# dcmon serve with real clients: curl for the REST API and the bad-input suite, the influx CLI writing line
# protocol, promtool and a Prometheus server on /metrics, dcmon sql --server, and paging 100,000 records with
# next_cursor while ingest continues.
set -uo pipefail
dcmon=$1
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
fixtures=$(cd "$(dirname "$0")/fixtures" && pwd)

"$dcmon" broker --partitions 3 >"$work/broker.out" 2>"$work/broker.err" & pids+=($!)
bootstrap=$(bootstrap_of "$work/broker.out")

export DCMON_ADMIN_TOKEN=test-admin-token
token=$DCMON_ADMIN_TOKEN
# A read-only token, configured by its hash.
read_hash=$(printf '%s' read-only-token | sha256sum | cut -d' ' -f1)
cat >"$work/dcmon.toml" <<EOF
[api.tokens.dashboard]
sha256 = "$read_hash"
scopes = "read"
EOF
start_serve() {  # start_serve OUT: serve on port 0; sets serve_pid and url (empty if it printed none in 10 s)
  "$dcmon" serve --kafka "$bootstrap" --store "$work/serve.duckdb" --listen 127.0.0.1:0 --config "$work/dcmon.toml" \
    >"$1" 2>"$1.err" & serve_pid=$!; pids+=($serve_pid)
  wait_for 10 grep -q 'API on' "$1"
  url=$(sed -n 's/^dcmon serve: API on //p' "$1")
}
start_serve "$work/serve.out"
check "serve prints its URL" test -n "$url"
check "no generated token when DCMON_ADMIN_TOKEN is set" bash -c "! grep -q 'admin token' '$work/serve.out'"

auth=(-H "Authorization: Bearer $token")
code() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }
query() { curl -s "${auth[@]}" --data-binary "$(jq -nc --arg s "$1" '{sql: $s}')" "$url/api/v1/query" | jq -c .rows; }
check "/healthz answers without a token" test "$(code "$url/healthz")" = 200
ready() { [ "$(code "$url/readyz")" = 200 ]; }
check "/readyz turns ready (broker, store, loader)" wait_for 20 ready
check "/readyz names its checks" grep -q '"broker":"ok"' "$work/body"

# Auth: 401 without or with an unknown token, 403 for a missing scope, problem JSON saying what is missing.
check "401 without a token" test "$(code "$url/api/v1/summary")" = 401
check "401 names the scope" grep -q 'needs a token with the \\"read\\" scope' "$work/body"
check "401 with an unknown token" test "$(code -H 'Authorization: Bearer nope' "$url/api/v1/summary")" = 401
check "a configured read token reads" \
  test "$(code -H 'Authorization: Bearer read-only-token' "$url/api/v1/summary")" = 200
check "403 when the token lacks the scope" \
  test "$(code -H 'Authorization: Bearer read-only-token' -X POST --data '[]' "$url/api/v1/ingest")" = 403
check "problem JSON content type" bash -c \
  "curl -s -D - -o /dev/null '$url/api/v1/summary' | grep -qi 'content-type: application/problem+json'"

# The seed lines in, and back out of /api/airbyte/all with identical values.
check "ingest the seed lines as NDJSON" \
  test "$(code "${auth[@]}" -H 'Content-Type: application/x-ndjson' --data-binary @"$fixtures/seed_records.ndjson" "$url/api/v1/ingest")" = 200
check "both accepted, none rejected" grep -q '"accepted":2,"rejected_count":0,"rejected":\[\]' "$work/body"
for _ in $(seq 100); do
  curl -s "${auth[@]}" "$url/api/airbyte/all?limit=100" >"$work/page.json"
  [ "$(jq '.data | length' "$work/page.json")" -ge 2 ] && break; sleep 0.1
done
check "seed records come back with identical values" bash -c \
  "diff <(jq -S -c 'del(.ingest_seq)' <<<\"\$(jq -c '.data[]' '$work/page.json')\" | sort) \
        <(jq -S -c . '$fixtures/seed_records.ndjson' | sort)"
check "next_cursor is null on the last page" test "$(jq '.next_cursor' "$work/page.json")" = null
check "the typed columns are filled" \
  test "$(query "SELECT value, location, epoch(event_time)::BIGINT FROM sensor_readings WHERE device_id = 'temp_rack-a1'")" = '[[23.5,"Server Room A",1755794880]]'

# A JSON array with a bad element: the good ones are kept, the bad one answered with its reason.
cat >"$work/mixed.json" <<'EOF'
[{"source_type":"sensor","device_id":"d1","location":"A","measurement_type":"temperature","value":21.5,"timestamp":"2025-01-01T00:00:00Z"},
 {"source_type":"sensor","device_id":"d2","location":"A","measurement_type":"temperature","value":"hot","timestamp":"2025-01-01T00:00:00Z"}]
EOF
check "array ingest keeps the good record" \
  test "$(code "${auth[@]}" -H 'Content-Type: application/json' --data-binary @"$work/mixed.json" "$url/api/v1/ingest")" = 200
check "and names the bad one's field" grep -q '"accepted":1,"rejected_count":1,"rejected":\[{"line":2,"reason":"line 2: value: ' "$work/body"

# Bad input: each gets a clear 4xx, and the server keeps serving.
bad() {  # bad NAME EXPECTED-STATUS CURL-ARGS...
  local name=$1 want=$2; shift 2
  local got; got=$(code "$@")
  check "bad input: $name -> $want" test "$got" = "$want"
}
bad "malformed JSON" 400 "${auth[@]}" --data-binary '[{"source_type":' "$url/api/v1/ingest"
bad "wrong types" 400 "${auth[@]}" --data-binary '{"source_type":"sensor","device_id":1}' "$url/api/v1/ingest"
bad "huge number" 400 "${auth[@]}" --data-binary \
  '{"source_type":"sensor","device_id":"d","location":"A","measurement_type":"t","value":1e999,"timestamp":"2025-01-01T00:00:00Z"}' "$url/api/v1/ingest"
bad "NaN" 400 "${auth[@]}" --data-binary \
  '{"source_type":"sensor","device_id":"d","location":"A","measurement_type":"t","value":NaN,"timestamp":"2025-01-01T00:00:00Z"}' "$url/api/v1/ingest"
bad "bad timestamp" 400 "${auth[@]}" --data-binary \
  '{"source_type":"sensor","device_id":"d","location":"A","measurement_type":"t","value":1,"timestamp":"yesterday"}' "$url/api/v1/ingest"
printf '{"source_type":"sensor","device_id":"d\xff","location":"A","measurement_type":"t","value":1,"timestamp":"2025-01-01T00:00:00Z"}' >"$work/utf8.json"
bad "invalid UTF-8" 400 "${auth[@]}" --data-binary @"$work/utf8.json" "$url/api/v1/ingest"
head -c $((33 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$work/huge.json"
bad "oversize body" 413 "${auth[@]}" --data-binary @"$work/huge.json" "$url/api/v1/ingest"
bad "empty body" 400 "${auth[@]}" -X POST "$url/api/v1/ingest"
bad "bad cursor" 400 "${auth[@]}" "$url/api/airbyte/all?start=-5"
bad "bad limit" 400 "${auth[@]}" "$url/api/airbyte/all?limit=abc"
for sql in "SELECT * FROM read_csv('/etc/passwd')" "ATTACH '/tmp/x.db' AS x" "SET threads = 64" \
           "SELECT 1; SELECT 2" "COPY sensor_readings TO '/tmp/x.csv'" "DELETE FROM sensor_readings" \
           "SELECT * FROM read_text('/etc/hostname')" "INSTALL httpfs"; do
  bad "query: $sql" 400 "${auth[@]}" --data-binary "$(jq -nc --arg s "$sql" '{sql: $s}')" "$url/api/v1/query"
done
bad "unknown route" 404 "${auth[@]}" "$url/api/v1/nothing"
# Slowloris: a header that never ends is cut off (after the header timeout) without holding up others.
exec 3<>"/dev/tcp/127.0.0.1/${url##*:}"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3
check "others are served while a slow client dawdles" test "$(code "$url/healthz")" = 200
exec 3>&-
check "still serving after all of it" test "$(code "${auth[@]}" "$url/api/v1/summary")" = 200
check "and the store is intact" test "$(query 'SELECT count(*) FROM sensor_readings')" = '[[2]]'

# dcmon sql through the server (the store file is held by serve).
out=$(DCMON_TOKEN=$token "$dcmon" sql --server "$url" --format csv "SELECT device_id FROM sensor_readings ORDER BY 1")
check "dcmon sql --server" test "$out" = $'device_id\nd1\ntemp_rack-a1'
err=$("$dcmon" sql --store "$work/serve.duckdb" "SELECT 1" 2>&1)
check "dcmon sql --store on a held file says to use --server" grep -q -- '--server' <<<"$err"

# InfluxDB line protocol from the influx CLI (it pings first, then writes with the token as password), and
# gzip-compressed as Telegraf sends it by default.
influx=(influx -host 127.0.0.1 -port "${url##*:}" -username dcmon -password "$token" -database dc)
"${influx[@]}" -execute 'INSERT rack_pdu,rack=a01,phase=L1 watts=4012.5,breaker_ok=true' >"$work/influx.out" 2>&1
check "influx CLI INSERT" test $? -eq 0
printf '# DML\n# CONTEXT-DATABASE: dc\ncrah,unit=crah-1 supply=17.9,mode="cooling" 1700000000\ncrah,unit=crah-2 fan=62i 1700000001\n' >"$work/import.txt"
"${influx[@]}" -import -path "$work/import.txt" -precision s >"$work/import.out" 2>&1
check "influx CLI -import" grep -q 'Processed 2 inserts' "$work/import.out"
# Acknowledged means in Kafka: the points are queryable once the loader's next batch is stored.
for _ in $(seq 100); do [ "$(query "SELECT count(*) FROM metrics WHERE measurement = 'crah'")" = '[[3]]' ] && break; sleep 0.1; done
check "points stored as metrics with their tags" test "$(query "SELECT field, value, text, tags['unit'], epoch(time)::BIGINT FROM metrics WHERE measurement = 'crah' ORDER BY field")" = '[["fan",62,null,"crah-2",1700000001],["mode",null,"cooling","crah-1",1700000000],["supply",17.9,null,"crah-1",1700000000]]'
check "tags map queryable" test "$(query "SELECT value FROM metrics WHERE tags['rack'] = 'a01' AND field = 'watts'")" = '[[4012.5]]'
printf 'gz,host=h v=1 1700000000000000000\n' | gzip -c >"$work/lp.gz"
check "gzip line protocol (Telegraf's default)" test "$(code -H "Authorization: Token $token" -H 'Content-Encoding: gzip' \
  --data-binary @"$work/lp.gz" "$url/api/v2/write?precision=ns")" = 204
check "a bad line is named, the good ones kept" test "$(code -H "Authorization: Token $token" \
  --data-binary $'ok v=1\nbad v=1.2.3\n' "$url/write")" = 400
check "the reason names the field" grep -q 'line 2: field \\"v\\": ' "$work/body"
check "bad precision" test "$(code "${auth[@]}" --data-binary 'x v=1' "$url/write?precision=fortnight")" = 400

# /metrics: the real linter, then a real Prometheus server scraping it with the token.
covered() {
  grep -q '^dcmon_loader_records_total{outcome="stored"}' "$work/metrics.txt" &&
    grep -q '^dcmon_kafka_consumer_lag{' "$work/metrics.txt" &&  # refreshed every 5 s
    grep -q '^dcmon_http_requests_total{route="/api/v1/ingest",status="200"}' "$work/metrics.txt"
}
scrape_covers() { curl -s "${auth[@]}" "$url/metrics" >"$work/metrics.txt" && covered; }
wait_for 10 scrape_covers
check "promtool check metrics" bash -c "promtool check metrics <'$work/metrics.txt'"
check "metrics cover the loader, lag and HTTP" covered
cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: dcmon
    authorization: {credentials: "$token"}
    static_configs: [{targets: ["127.0.0.1:${url##*:}"]}]
EOF
# On port 0; it logs the port it got.
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
  --web.listen-address=127.0.0.1:0 >"$work/prom.log" 2>&1 & pids+=($!)
wait_for 20 grep -q 'msg="Listening on" address=127.0.0.1:' "$work/prom.log"
prom_port=$(sed -n 's/.*msg="Listening on" address=127.0.0.1:\([0-9]*\).*/\1/p' "$work/prom.log" | head -1)
up=
scraped() {
  up=$(curl -s "http://127.0.0.1:$prom_port/api/v1/query?query=dcmon_loader_batches_total" | jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
  [ -n "$up" ]
}
wait_for 30 scraped
check "a Prometheus server scrapes dcmon (loader batches: ${up:-none})" test -n "$up"

# Server-Sent Events: the summary at once.
curl -s -N --max-time 2 "${auth[@]}" "$url/api/v1/stream" >"$work/stream.txt"
check "the stream opens with a summary event" grep -q '^event: summary' "$work/stream.txt"

# Paging 100,000+ records with next_cursor while the simulator is still producing them: each exactly once.
"$dcmon" simulate --from 2025-08-21T00:00:00Z --to 2025-08-21T05:00:00Z --kafka "$bootstrap" \
  >/dev/null 2>"$work/sim.err" & sim_pid=$!; pids+=($sim_pid)
expected=$("$dcmon" simulate --from 2025-08-21T00:00:00Z --to 2025-08-21T05:00:00Z | wc -l)
total=$((expected + 3))  # and the three ingested above
cursor=0; : >"$work/paged.txt"
for _ in $(seq 3000); do
  curl -s "${auth[@]}" "$url/api/airbyte/all?start=$cursor&limit=10000" >"$work/p.json"
  jq -r '.data[] | "\(.ingest_seq) \(.device_id // .system_id) \(.seq // "-") \(.timestamp)"' "$work/p.json" >>"$work/paged.txt"
  last=$(jq -r '.data[-1].ingest_seq // empty' "$work/p.json")
  [ -n "$last" ] && cursor=$last
  [ "$(wc -l <"$work/paged.txt")" -ge "$total" ] && ! kill -0 $sim_pid 2>/dev/null && break
  [ "$(jq '.next_cursor' "$work/p.json")" = null ] && sleep 0.2
done
check "paged every record ($total)" test "$(wc -l <"$work/paged.txt")" -eq "$total"
check "no ingest_seq twice" test "$(cut -d' ' -f1 "$work/paged.txt" | sort | uniq -d | wc -l)" -eq 0
check "no record twice" test "$(cut -d' ' -f2- "$work/paged.txt" | sort | uniq -d | wc -l)" -eq 0

# Killed with SIGKILL three times in a row and started again on the same store: each time, what was produced
# while it was down is stored within 5 s of the restart, once (the re-send window off: only the stored offsets
# keep records from landing twice).
export DCMON_LOADER_DEDUP_WINDOW=0
# The 5 s is the promise for the binary users run; the ASan+UBSan debug build (its ctest preset sets
# ASAN_OPTIONS) runs the same restart path three to five times slower, so there it only has to finish in 15 s.
limit_ms=5000
[ -n "${ASAN_OPTIONS:-}" ] && limit_ms=15000
stored() { query 'SELECT (SELECT count(*) FROM sensor_readings) + (SELECT count(*) FROM cooling_metrics)' | jq '.[0][0]'; }
landed() { [ "$(stored)" = "$want" ]; }
want=$(stored)
for k in 1 2 3; do
  kill -9 $serve_pid; wait $serve_pid 2>/dev/null
  range=(--from "2025-08-22T0${k}:00:00Z" --to "2025-08-22T0${k}:10:00Z")
  "$dcmon" simulate "${range[@]}" --kafka "$bootstrap" >/dev/null 2>>"$work/sim.err"
  want=$((want + $("$dcmon" simulate "${range[@]}" | wc -l)))
  started=$(($(date +%s%N) / 1000000))
  start_serve "$work/serve.$k.out"
  wait_for 30 landed
  took=$(($(date +%s%N) / 1000000 - started))
  check "serve killed $k time(s) in a row: what was produced meanwhile stored within $((limit_ms / 1000)) s of the restart ($took ms)" \
    test "$(stored)" = "$want" -a "$took" -le "$limit_ms"
done
duplicates=$(curl -s "${auth[@]}" "$url/metrics" | sed -n 's/^dcmon_loader_records_total{outcome="duplicate"} //p')
check "the restarted loader counted no duplicates" test "$duplicates" = 0

# Graceful stop: SIGTERM finishes and exits 0.
kill -TERM $serve_pid; wait $serve_pid; rc=$?
check "SIGTERM stops serve with exit 0" test $rc -eq 0
exit $fail
