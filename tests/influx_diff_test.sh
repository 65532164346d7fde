#!/usr/bin/env bash
# Line protocol held against the real thing: Debian's influxd (InfluxDB 1.x) on loopback and dcmon serve get
# the same lines, one request per case; each must answer alike (204 or 400), and what each stored is compared
# field by field (measurement, tags, field, value, time to the microsecond dcmon keeps).
#
# Where dcmon follows InfluxDB's documented rules (and 2.x) rather than influxd 1.6, the line is left out
# here and pinned by src/core/line_protocol_test.cc instead: CRLF (1.6 refuses "5\r" as a timestamp),
# control characters in measurements, tag keys and field keys (1.6 takes them), `\=` and `\"` in a
# measurement and `\"` in a field key (1.6 unescapes them), a backslash before an escaped space in a
# measurement (`cpu\\\ x`: 1.6 lists it as `cpu\ x` and its SELECT finds nothing), bytes after a closing
# quote (1.6 stores `v="a"b` as the string `a"`), and unsigned `1u` (off in 1.x).
set -uo pipefail
dcmon=$1
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"

if ! command -v influxd >/dev/null; then
  echo "FAIL influxd is not installed (scripts/setup.sh installs Debian's influxdb)"
  exit 1
fi

seed=${INFLUX_DIFF_SEED:-$$}
echo "INFLUX_DIFF_SEED=$seed replays this run's ports"
start_influxd "$work" "$seed"
check "influxd answers /ping" test -n "$influx_url"
[ -n "$influx_url" ] || exit 1
curl -s -XPOST "$influx_url/query" --data-urlencode 'q=CREATE DATABASE diff' >/dev/null

"$dcmon" broker --partitions 1 >"$work/broker.out" 2>"$work/broker.err" & pids+=($!)
for _ in $(seq 100); do grep -q bootstrap.servers= "$work/broker.out" && break; sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap.servers=//p' "$work/broker.out")
export DCMON_ADMIN_TOKEN=influx-diff-token
"$dcmon" serve --kafka "$bootstrap" --store "$work/serve.duckdb" --listen 127.0.0.1:0 \
  >"$work/serve.out" 2>"$work/serve.err" & pids+=($!)
for _ in $(seq 200); do grep -q 'API on' "$work/serve.out" && break; sleep 0.1; done
url=$(sed -n 's/^dcmon serve: API on //p' "$work/serve.out")
check "dcmon serve prints its URL" test -n "$url"
[ -n "$url" ] || { cat "$work/serve.err"; exit 1; }

# The cases: precision, then the body. Timestamps differ between cases so that no two accepted points
# share a series and a time in influxd (where a later one would overwrite the earlier). No key is used
# twice across measurements with another role or type: influxd's SELECT * across measurements merges
# the columns by name.
precisions=() bodies=()
add() { precisions+=("$1"); bodies+=("$2"); }
t=1700000000000
add ns 'cpu,regions=\\ east value=1.0 '"${t}001000"
add ns 'cpu,host=two\\\ words value=1 '"${t}002000"
add ns 'esc\ m\,x,tag\ k\,\=y=v\ a\,l\=z f\ k\,\=y=1.5,g=2 '"${t}003000"
add ns 'esc_bs,t\\k=a\\b\c f\\k=2,es="q\"uote\\d \n \t" '"${t}004000"
add ns 'esc_q,t=a\"b,u="x" v=1 '"${t}005000"
add ns 'c\\pu,tg=\\,b v=1 '"${t}007000"
add ns 'strings se="",ss="a\\",sq="\"",sm="x,y z=w" '"${t}008000"
add ns $'multi ms="line 1\nline 2",mn=1i '"${t}009000"
add ns 'big ia=9223372036854775807i,ib=-9223372036854775808i,ic=1.7976931348623157e308,id=-0i,ie=4.9e-324 '"${t}010000"
add ns 'uni,città=Zürich température=21.5,名前="値 ✓ 😀" '"${t}011000"
add ns 'bools ba=t,bb=T,bc=true,bd=True,be=TRUE,bf=f,bg=F,bh=false,bi=False,bj=FALSE '"${t}012000"
add ns 'floats fa=1,fb=-1.5,fc=.5,fd=1.,fe=1e3,ff=-2.5E-3,fg=1e+2,fh=-0,fi=0.1,fj=-.5,fk=1e-400 '"${t}013000"
add ns 'ints na=1i,nb=-42i,nc=0i,nd=007i '"${t}014000"
add ns 'repeated v=1,w=2,v=3 '"${t}015000"
add ns 'trailing v=1 '"${t}016000"'   '
add ns '   indented v=1 '"${t}017000"
add ns $'# a comment\n\n  # another\nafter_comment v=1 '"${t}018000"$'\n\n'
add ns 'spaces  v=1  '"${t}019000"
add ns 'quote_tag,t="a" v=1 '"${t}020000"
add ns 'pre1970 v=1 -1'
add ns 'pre1970 v=2 -86400000000001'
add ns 'pre1970 v=3 -9000000000000000000'
add ns 'edge v=1 -9223372036854775806'
add ns 'edge v=2 9223372036854775806'
add ns 'edge v=3 9223372036854775807'
add ns 'edge v=4 -9223372036854775807'
add ns 'edge v=5 99999999999999999999'
add u 'prec_u v=1 1700000000123456'
add ms 'prec_ms v=1 -9223372036854'
add ms 'prec_ms v=2 9223372036855'
add s 'prec_s v=1 -1'
add s 'prec_s v=2 9223372036'
add s 'prec_s v=3 9223372037'
add s 'prec_s v=4 -9223372037'
add m 'prec_m v=1 -153722867'
add m 'prec_m v=2 153722868'
add h 'prec_h v=1 2562047'
add h 'prec_h v=2 2562048'
add h 'prec_h v=3 9223372036854775807'
add ns 'bad,t=a'
add ns 'bad v=1.2.3 1'
add ns 'bad,t=a,t=b v=1 1'
add ns 'bad,t=a=b v=1 1'
add ns 'bad,t=x\\ v=1 1'
add ns 'bad v=NaN 1'
add ns 'bad v=1e400 1'
add ns 'bad v=+1 1'
add ns 'bad v=tRUE 1'
add ns 'bad v="open 1'
add ns 'bad v=1,v=2i 1'
add ns 'bad v=1 +5'
add ns $'bad v=1 5\t'
add ns 'bad v=9223372036854775808i 1'
add ns 'bad v=1 1 1'
add ns $'mixed v=1 '"${t}021000"$'\nmixed v=bad '"${t}022000"$'\nmixed v=3 '"${t}023000"

echo "cases: ${#bodies[@]}"
mismatched=0
for i in "${!bodies[@]}"; do
  printf '%s' "${bodies[$i]}" >"$work/body"
  a=$(curl -s -o "$work/influx.answer" -w '%{http_code}' -XPOST --data-binary @"$work/body" \
    "$influx_url/write?db=diff&precision=${precisions[$i]}")
  b=$(curl -s -o "$work/dcmon.answer" -w '%{http_code}' -XPOST --data-binary @"$work/body" \
    -H "Authorization: Token $DCMON_ADMIN_TOKEN" "$url/write?precision=${precisions[$i]}")
  if [ "$a" != "$b" ]; then
    echo "case $i (precision ${precisions[$i]}): influxd $a, dcmon $b: $(head -c 300 "$work/body" | cat -A)"
    echo "  influxd: $(head -c 300 "$work/influx.answer")"
    echo "  dcmon:   $(head -c 300 "$work/dcmon.answer")"
    mismatched=1
  fi
done
check "influxd and dcmon answer every case alike" test "$mismatched" = 0

# What influxd stored: tag keys and field keys per measurement, then every point.
iq() { curl -s -G "$influx_url/query" --data-urlencode db=diff --data-urlencode epoch=ns --data-urlencode "q=$1"; }
iq 'SHOW TAG KEYS' >"$work/influx_tags.json"
iq 'SHOW FIELD KEYS' >"$work/influx_fields.json"
iq 'SELECT * FROM /.*/' >"$work/influx_points.json"
# Compares field by field: (measurement, tags, field, value, time in microseconds with the nanoseconds
# floored). `count` prints how many field values influxd holds.
cat >"$work/compare.py" <<'EOF'
import json, sys
work = sys.argv[1]
def series(name):
    return json.load(open(f"{work}/{name}"))["results"][0].get("series", [])
tag_keys = {s["name"]: {v[0] for v in s["values"]} for s in series("influx_tags.json")}
field_types = {s["name"]: {v[0]: v[1] for v in s["values"]} for s in series("influx_fields.json")}
influx = []
for s in series("influx_points.json"):
    m, cols = s["name"], s["columns"]
    tags_of = tag_keys.get(m, set())
    for row in s["values"]:
        rec = dict(zip(cols, row))
        tags = tuple(sorted((k, v) for k, v in rec.items() if k in tags_of and v is not None))
        for k, v in rec.items():
            if k == "time" or k in tags_of or v is None:
                continue
            kind = field_types[m][k]
            # dcmon's metrics table keeps every non-string value as a DOUBLE (booleans as 1 or 0).
            value = ("text", v) if kind == "string" else ("value", float(v))
            influx.append((m, tags, k, value, rec["time"] // 1000))
if sys.argv[2] == "count":
    print(len(influx))
    sys.exit(0)
dcmon = []
for m, tags, field, value, text, micros in json.load(open(f"{work}/dcmon_points.json"))["rows"]:
    v = ("text", text) if text is not None else ("value", float(value))
    dcmon.append((m, tuple(sorted(json.loads(tags).items())), field, v, micros))
key = lambda r: repr(r)
only_influx = sorted(set(map(key, influx)) - set(map(key, dcmon)))
only_dcmon = sorted(set(map(key, dcmon)) - set(map(key, influx)))
for r in only_influx:
    print("only in influxd:", r)
for r in only_dcmon:
    print("only in dcmon:  ", r)
print(f"compared {len(influx)} influxd values with {len(dcmon)} dcmon values")
sys.exit(1 if only_influx or only_dcmon or len(influx) != len(dcmon) else 0)
EOF
expected=$(python3 "$work/compare.py" "$work" count)
check "influxd's points are read" test -n "$expected"
[ -n "$expected" ] || exit 1
echo "influxd holds $expected field values"
dq() {
  curl -s -H "Authorization: Bearer $DCMON_ADMIN_TOKEN" \
    --data-binary "$(python3 -c 'import json,sys; print(json.dumps({"sql": sys.argv[1]}))' "$1")" "$url/api/v1/query"
}
stored=0
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  stored=$(dq 'SELECT count(*) FROM metrics' | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"][0][0])' 2>/dev/null)
  [ "${stored:-0}" -ge "$expected" ] && break
  sleep 0.2
done
check "dcmon stored as many field values as influxd ($stored of $expected)" test "${stored:-0}" -ge "$expected"
dq 'SELECT measurement, to_json(tags)::VARCHAR, field, value, text, epoch_us(time) FROM metrics' >"$work/dcmon_points.json"

python3 "$work/compare.py" "$work" compare >"$work/compare.out"
compared=$?
cat "$work/compare.out"
check "dcmon stored what influxd stored, field by field" test "$compared" = 0
check "the compared set is not empty" grep -q 'compared [1-9][0-9]* influxd values' "$work/compare.out"
exit $fail
