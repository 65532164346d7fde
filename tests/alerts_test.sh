#!/usr/bin/env bash
# Alerting end to end, one scenario: a CRAH trip injected in the simulator raises one CrahUnitDown incident in
# `dcmon serve` (with its zone's racks), which reaches a real Alertmanager (Debian's prometheus-alertmanager)
# and a webhook receiver; the alert survives a restart of serve still firing with its original start; the
# unit restarts and the alert resolves everywhere: Alertmanager, dcmon's webhook, Alertmanager's own webhook.
set -uo pipefail
dcmon=$1
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"

"$dcmon" broker --partitions 2 >"$work/broker.out" 2>"$work/broker.err" & pids+=($!)
bootstrap=$(bootstrap_of "$work/broker.out")

# The webhook receiver: every POST as one line "PATH BODY" (dcmon's notifier posts to /dcmon, Alertmanager
# to /am). On port 0; it writes the port it got.
cat >"$work/receiver.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode().replace("\n", " ")
        with open(sys.argv[1], "a") as f:
            f.write(f"{self.path} {body}\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
: >"$work/hooks.txt"
python3 "$work/receiver.py" "$work/hooks.txt" "$work/receiver.port" & pids+=($!)
wait_for 10 test -s "$work/receiver.port"
hook="http://127.0.0.1:$(cat "$work/receiver.port")"

cat >"$work/am.yml" <<EOF
route: {receiver: hook, group_by: [alertname, device], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
receivers:
  - name: hook
    webhook_configs: [{url: "$hook/am", send_resolved: true}]
EOF
prometheus-alertmanager --config.file="$work/am.yml" --storage.path="$work/am" --web.listen-address=127.0.0.1:0 \
  --cluster.listen-address= >"$work/am.log" 2>&1 & pids+=($!)
wait_for 20 grep -q 'msg="Listening on" address=127.0.0.1:' "$work/am.log"
am="http://127.0.0.1:$(sed -n 's/.*msg="Listening on" address=127.0.0.1:\([0-9]*\).*/\1/p' "$work/am.log" | head -1)"
am_ready() { curl -sf "$am/-/ready" >/dev/null; }
check "Alertmanager is ready ($am)" wait_for 20 am_ready

export DCMON_ADMIN_TOKEN=test-admin-token
auth=(-H "Authorization: Bearer $DCMON_ADMIN_TOKEN")
cat >"$work/dcmon.toml" <<EOF
[alert]
facility = "small"
[alert.alertmanager]
url = "$am"
[alert.webhook]
url = "$hook/dcmon"
EOF
start_serve() {  # start_serve OUT: sets serve_pid and url
  "$dcmon" serve --kafka "$bootstrap" --store "$work/serve.duckdb" --listen 127.0.0.1:0 --config "$work/dcmon.toml" \
    >"$1" 2>"$1.err" & serve_pid=$!; pids+=($serve_pid)
  wait_for 10 grep -q 'API on' "$1"
  url=$(sed -n 's/^dcmon serve: API on //p' "$1")
}
start_serve "$work/serve.out"
check "serve prints its URL" test -n "$url"

# The small preset with room-1-crah-2 tripped at 00:10 (for longer than this run).
unit=room-1-crah-2
facility=(--facility small --seed 7)
curl -s -N --max-time 120 "${auth[@]}" "$url/api/v1/stream" >"$work/stream.txt" & pids+=($!)
wait_for 10 grep -q '^event: summary' "$work/stream.txt"
"$dcmon" simulate "${facility[@]}" --scenario "crah-trip:$unit@2025-08-21T00:10:00Z+1h" --from 2025-08-21T00:00:00Z --to 2025-08-21T00:20:00Z --kafka "$bootstrap" \
  --quiet 2>>"$work/sim.err"
incident() { curl -s "${auth[@]}" "$url/api/v1/alerts?rule=CrahUnitDown&state=firing" >"$work/alerts.json" &&
  [ "$(jq '.data | length' "$work/alerts.json")" = 1 ]; }
check "the trip raises one CrahUnitDown incident" wait_for 30 incident
check "it names the unit and its zone's racks" \
  test "$(jq -r '.data[0] | "\(.device) \(.zone_unit) \(.affected_racks | length > 0) \(.severity)"' "$work/alerts.json")" = "$unit $unit true critical"
starts_at=$(jq -r '.data[0].starts_at' "$work/alerts.json")
check "it fired one minute after the trip ($starts_at)" test "$starts_at" = 2025-08-21T00:11:00Z
inhibited=$(curl -s "${auth[@]}" "$url/api/v1/alerts?rule=InletTemperatureHigh" | jq "[.data[] | select(.inhibited_by == \"$unit\")] | length")
in_am() { curl -s "$am/api/v2/alerts?filter=alertname%3D%22CrahUnitDown%22" >"$work/am.json" &&
  [ "$(jq -r '.[0].labels.device // empty' "$work/am.json")" = "$unit" ]; }
check "the incident is in Alertmanager's /api/v2/alerts" wait_for 20 in_am
check "with its start and a generatorURL back to dcmon" \
  test "$(jq -r '.[0] | "\(.startsAt) \(.generatorURL | startswith("http://"))"' "$work/am.json")" = "2025-08-21T00:11:00.000Z true"
check "no inlet alert of its zone reached Alertmanager ($inhibited inhibited in dcmon)" \
  test "$(curl -s "$am/api/v2/alerts?filter=alertname%3D%22InletTemperatureHigh%22" | jq length)" = 0
hooked() { grep -q "^$1 .*$2" "$work/hooks.txt"; }
check "dcmon's webhook got it firing" wait_for 20 hooked /dcmon "\"status\":\"firing\",\"alert\":{\"id\":\"CrahUnitDown/$unit\""
check "Alertmanager's webhook got it firing" wait_for 20 hooked /am '"status":"firing".*"alertname":"CrahUnitDown"'
check "the live stream pushed it as an alert event" \
  grep -q "^data: {\"id\":\"CrahUnitDown/$unit\",\"rule\":\"CrahUnitDown\",\"device\":\"$unit\",\"state\":\"firing\"" "$work/stream.txt"
check "dcmon_alerts counts it" bash -c \
  "curl -s -H 'Authorization: Bearer $DCMON_ADMIN_TOKEN' '$url/metrics' | grep -q '^dcmon_alerts{alertname=\"CrahUnitDown\",severity=\"critical\",state=\"firing\"} 1'"

# Acknowledged, then serve restarts: still firing, same start, still acknowledged, not pending again.
check "ack needs a token" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/api/v1/alerts/CrahUnitDown%2F$unit/ack")" = 401
check "ack" test "$(curl -s "${auth[@]}" -X POST --data '{"by":"oncall"}' "$url/api/v1/alerts/CrahUnitDown%2F$unit/ack" | jq -r .acknowledged_by)" = oncall
kill -TERM $serve_pid; wait $serve_pid
start_serve "$work/serve.2.out"
check "serve restarted" test -n "$url"
curl -s "${auth[@]}" "$url/api/v1/alerts?rule=CrahUnitDown" >"$work/alerts.json"
check "after the restart it is still firing with its original start, acknowledged" \
  test "$(jq -r '.data[0] | "\(.state) \(.starts_at) \(.acknowledged_by)"' "$work/alerts.json")" = "firing $starts_at oncall"

# From 00:20 the unit runs again (the facility without the fault): resolved in dcmon, in Alertmanager, at both
# webhooks.
"$dcmon" simulate "${facility[@]}" --from 2025-08-21T00:20:00Z --to 2025-08-21T00:30:00Z --kafka "$bootstrap" \
  --quiet 2>>"$work/sim.err"
resolved() { [ "$(curl -s "${auth[@]}" "$url/api/v1/alerts?rule=CrahUnitDown" | jq '.data | length')" = 0 ]; }
check "the unit restarts: resolved in dcmon" wait_for 30 resolved
gone_from_am() { [ "$(curl -s "$am/api/v2/alerts?filter=alertname%3D%22CrahUnitDown%22" | jq length)" = 0 ]; }
check "and in Alertmanager" wait_for 20 gone_from_am
check "dcmon's webhook got it resolved" wait_for 20 hooked /dcmon "\"status\":\"resolved\",\"alert\":{\"id\":\"CrahUnitDown/$unit\""
check "Alertmanager's webhook got it resolved" wait_for 20 hooked /am '"status":"resolved".*"alertname":"CrahUnitDown"'
# The history is written within alert.write_interval_ms of the change.
history() { curl -s "${auth[@]}" "$url/api/v1/alerts/events?rule=CrahUnitDown&limit=10" | jq -r '[.data[].state] | join(",")'; }
history_done() { [ "$(history)" = pending,firing,resolved ]; }
check "the history: pending, firing, resolved, once each across the restart" wait_for 10 history_done
check "no notification failed" bash -c \
  "! curl -s -H 'Authorization: Bearer $DCMON_ADMIN_TOKEN' '$url/metrics' | grep '^dcmon_notifications_failed_total' | grep -qv ' 0$'"

kill -TERM $serve_pid; wait $serve_pid; rc=$?
check "SIGTERM stops serve with exit 0" test $rc -eq 0
exit $fail
