# Shared by the test scripts (source it).
# `check NAME CONDITION...` prints ok or FAIL for one named check and remembers a failure in $fail, which the
# script exits with.
fail=0
check() {
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}
# `wait_for SECONDS CONDITION...` runs CONDITION every 0.1 s until it succeeds (status 0) or SECONDS (a whole
# number) have passed since the call (status 1, after one last try). Wait on what a check needs, never a
# fixed sleep.
wait_for() {
  local deadline=$(($(date +%s%N) + $1 * 1000000000)); shift
  until "$@"; do
    [ "$(date +%s%N)" -ge "$deadline" ] && { "$@"; return; }
    sleep 0.1
  done
}
# `bootstrap_of FILE`: waits (10 s) for `dcmon broker`'s bootstrap line in FILE and prints the address.
bootstrap_of() {
  wait_for 10 grep -q '^bootstrap.servers=' "$1" && sed -n 's/^bootstrap.servers=//p' "$1"
}
# `start_broker OUT PARTITIONS`: `dcmon broker` (build/dcmon, or $dcmon) in the background with its stdout in
# OUT and stderr in OUT.log; adds its pid to $pids and sets broker_pid and bootstrap (empty if it never
# printed one).
start_broker() {
  : >"$1"  # exists before bootstrap_of looks
  "${dcmon:-build/dcmon}" broker --partitions "$2" >"$1" 2>"$1.log" & broker_pid=$!
  pids+=("$broker_pid")
  bootstrap=$(bootstrap_of "$1")
}
# `url_of FILE`: waits (30 s) for `dcmon serve`'s "API on" line in FILE and prints the URL.
url_of() {
  wait_for 30 grep -q '^dcmon serve: API on ' "$1" && sed -n 's/^dcmon serve: API on //p' "$1"
}
# `serve_ready URL`: true once URL/readyz answers 200 (broker, store and loader up).
serve_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/readyz")" = 200 ]; }
# `start_serve DIR ARGS...`: `dcmon serve --listen 127.0.0.1:0 ARGS...` in the background (stdout DIR/serve.out,
# stderr DIR/serve.err); adds its pid to $pids, sets serve_pid and url, and waits (60 s) for /readyz. Returns 1
# when it never became ready.
start_serve() {
  local dir=$1; shift
  : >"$dir/serve.out"
  "${dcmon:-build/dcmon}" serve --listen 127.0.0.1:0 "$@" >"$dir/serve.out" 2>"$dir/serve.err" & serve_pid=$!
  pids+=("$serve_pid")
  url=$(url_of "$dir/serve.out") && [ -n "$url" ] && wait_for 60 serve_ready "$url"
}
# `start_influxd DIR SEED`: Debian's influxd (1.x) on loopback with its own config and data under DIR; sets
# influx_url (empty if it never answered /ping) and adds its pid to $pids. influxd cannot bind port 0: free
# ports (HTTP and its RPC port) are probed from SEED (printed, so a run can be replayed), and it retries when
# another process takes one between the probe and the bind.
start_influxd() {
  RANDOM=$2
  echo "influxd port seed $2"
  local attempt dir http_port rpc_port deadline influxd_pid
  free_port() {
    local p
    while :; do
      p=$((20000 + RANDOM % 40000))
      ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
  }
  influx_url=
  for attempt in 1 2 3 4 5; do
    http_port=$(free_port) rpc_port=$(free_port)
    dir="$1/influxd-$attempt"
    mkdir -p "$dir"
    cat >"$dir/influxdb.conf" <<EOF
  reporting-enabled = false
  bind-address = "127.0.0.1:$rpc_port"
  [meta]
    dir = "$dir/meta"
    logging-enabled = false
  [data]
    dir = "$dir/data"
    wal-dir = "$dir/wal"
    query-log-enabled = false
  [monitor]
    store-enabled = false
  [http]
    bind-address = "127.0.0.1:$http_port"
    log-enabled = false
    pprof-enabled = false
  [continuous_queries]
    enabled = false
  [subscriber]
    enabled = false
EOF
    influxd run -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 & influxd_pid=$!
    echo "influxd attempt $attempt: http 127.0.0.1:$http_port, rpc $rpc_port"
    deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)) && kill -0 "$influxd_pid" 2>/dev/null; do
      if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/ping")" = 204 ]; then
        influx_url="http://127.0.0.1:$http_port"
        break
      fi
      sleep 0.1
    done
    [ -n "$influx_url" ] && { pids+=("$influxd_pid"); break; }
    kill "$influxd_pid" 2>/dev/null; wait "$influxd_pid" 2>/dev/null
    tail -3 "$dir/influxd.log"
  done
}
