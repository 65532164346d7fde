#!/usr/bin/env python3
"""Acceptance tests of `dcmon airbyte`, modelled on Airbyte's Connector Acceptance Test (spec, connection,
discovery, basic read, full refresh, incremental), against a running `dcmon serve` that tests/airbyte_test.sh starts
and fills. Every message the connector prints is validated against the Airbyte Protocol schema.

    airbyte_acceptance.py DCMON URL ADMIN_TOKEN WRITE_ONLY_TOKEN KAFKA_BOOTSTRAP
"""
import copy
import http.server
import json
import os
import random
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "airbyte")
if not os.path.isdir(SHARED):  # a worktree under /work: the shared folder sits beside it
    SHARED = "/work/shared/airbyte"

dcmon, url, token, write_token, bootstrap = sys.argv[1:6]
work = tempfile.mkdtemp(prefix="airbyte_test.")
failures = []
seed = int(os.environ.get("AIRBYTE_TEST_SEED", random.randrange(1 << 30)))
rng = random.Random(seed)
print(f"seed {seed} (AIRBYTE_TEST_SEED={seed} repeats this run)")


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok or not detail else f": {detail}"))
    if not ok:
        failures.append(name)
    return ok


protocol = yaml.safe_load(open(os.path.join(SHARED, "airbyte_protocol.yaml")))
message_schema = dict(protocol, **{"$ref": "#/definitions/AirbyteMessage"})
message_validator = jsonschema.Draft7Validator(message_schema)


def write(name, obj):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def run(*args, validate_records=True):
    """Runs `dcmon airbyte ARGS`; returns (exit code, messages). Checks that stdout is only protocol messages."""
    p = subprocess.run([dcmon, "airbyte", *args], capture_output=True, text=True, timeout=120)
    messages, bad = [], []
    for line in p.stdout.splitlines():
        try:
            m = json.loads(line)
        except ValueError:
            bad.append(f"not JSON: {line[:120]}")
            continue
        if validate_records or m.get("type") != "RECORD":
            errors = list(message_validator.iter_errors(m))
            if errors:
                bad.append(f"{errors[0].message} in {line[:200]}")
        messages.append(m)
    if bad:
        check(f"`{' '.join(args[:1])}`: every line is a valid Airbyte message", False, "; ".join(bad[:3]))
    if p.returncode >= 128 or p.returncode < 0:
        check(f"`{args[0]}` does not crash", False, f"exit {p.returncode}: {p.stderr[-500:]}")
    return p.returncode, messages


def of_type(messages, t):
    return [m for m in messages if m["type"] == t]


def config(**over):
    c = {"api_url": url, "api_token": token, "page_size": 5000}
    c.update(over)
    return write(f"config{len(os.listdir(work))}.json", c)


def post_lines(n):
    """Writes n line-protocol points of 3 fields (float, boolean, string) in one request: one batch."""
    now = time.time_ns() // 1000  # one point per microsecond, dcmon's precision: no two share a series key
    body = "\n".join(f'cpu,host=h{i % 3},dc=west usage={rng.random():.6f},busy={str(i % 2 == 0).lower()},note="n{i}" '
                     f"{now + i}" for i in range(n))
    req = urllib.request.Request(f"{url}/api/v2/write?precision=us", data=body.encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}"})
    urllib.request.urlopen(req, timeout=30).read()


def metric_rows():
    req = urllib.request.Request(f"{url}/api/v1/query", method="POST",
                                 data=json.dumps({"sql": "SELECT count(*) FROM metrics"}).encode(),
                                 headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req, timeout=30))["rows"][0][0]


# Line-protocol points in three batches (3 fields each), stored before the quiet reads.
for _ in range(3):
    post_lines(2000)
deadline = time.monotonic() + 30
while metric_rows() < 18000 and time.monotonic() < deadline:
    time.sleep(0.1)
check("setup: the points are stored", metric_rows() == 18000)

# ---- spec -------------------------------------------------------------------------------------------------------
rc, msgs = run("spec")
specs = of_type(msgs, "SPEC")
check("spec: exit 0 and exactly one SPEC", rc == 0 and len(specs) == 1)
conn_spec = specs[0]["spec"]["connectionSpecification"]
jsonschema.Draft7Validator.check_schema(conn_spec)
check("spec: connectionSpecification is a valid draft-07 schema", True)
jsonschema.validate({"api_url": url, "api_token": token, "page_size": 5000}, conn_spec)
check("spec: a test config validates against it", True)
FORBIDDEN = {"$ref", "not", "anyOf", "allOf", "patternProperties", "prefixItems", "if", "then", "else",
             "dependentSchemas", "dependentRequired", "oneOf"}
SECRET_WORDS = ("token", "password", "secret", "key", "credentials")
problems = []


def walk(schema, path):
    for k in FORBIDDEN & set(schema):
        problems.append(f"{path}: {k}")
    t = schema.get("type")
    if isinstance(t, list) and not (len(t) == 2 and "null" in t):
        problems.append(f"{path}: type {t}")
    if "additionalProperties" in schema and schema["additionalProperties"] is not True:
        problems.append(f"{path}: additionalProperties")
    for name, sub in schema.get("properties", {}).items():
        if any(w in name.lower() for w in SECRET_WORDS) and sub.get("type") in ("string", "integer"):
            if sub.get("airbyte_secret") is not True:
                problems.append(f"{path}.{name}: secret not marked airbyte_secret")
        walk(sub, f"{path}.{name}")


walk(conn_spec, "spec")
check("spec: secrets marked, no forbidden constructs", not problems, "; ".join(problems))

# ---- check ------------------------------------------------------------------------------------------------------
def status_of(cfg):
    rc, msgs = run("check", "--config", cfg)
    statuses = of_type(msgs, "CONNECTION_STATUS")
    if not check("check: exit 0 and exactly one CONNECTION_STATUS", rc == 0 and len(statuses) == 1):
        return None, ""
    return statuses[0]["connectionStatus"]["status"], statuses[0]["connectionStatus"].get("message", "")


s, _ = status_of(config())
check("check: SUCCEEDED with the right token", s == "SUCCEEDED")
s, m = status_of(config(api_token="wrong-token"))
check("check: FAILED with a wrong token, saying so", s == "FAILED" and "api_token" in m, m)
s, m = status_of(config(api_token=write_token))
check("check: FAILED with a token without the read scope, saying so", s == "FAILED" and "read scope" in m, m)
host, port = url.rsplit(":", 1)
s, m = status_of(config(api_url=f"{host}:1"))
check("check: FAILED with a wrong port, naming api_url", s == "FAILED" and "api_url" in m, m)
s, m = status_of(config(api_url=url + "/api"))
check("check: FAILED with a path in the URL", s == "FAILED" and "without a path" in m, m)
s, m = status_of(config(api_url=url.replace("http://", "https://")))
check("check: FAILED for https, naming TLS", s == "FAILED" and "TLS" in m, m)

# ---- discover ---------------------------------------------------------------------------------------------------
rc, msgs = run("discover", "--config", config())
catalogs = of_type(msgs, "CATALOG")
check("discover: exit 0 and exactly one CATALOG", rc == 0 and len(catalogs) == 1)
streams = {s["name"]: s for s in catalogs[0]["catalog"]["streams"]}
check("discover: the streams", sorted(streams) == ["alerts", "anomalies", "cooling_metrics", "metrics",
                                                   "sensor_readings"], sorted(streams))
for name, s in streams.items():
    schema = s["json_schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    props = schema["properties"]
    text = json.dumps(schema)
    check(f"discover: {name}: no $ref/anyOf/allOf/oneOf", not any(k in text for k in ('"$ref"', "anyOf", "allOf",
                                                                                        "oneOf")))
    check(f"discover: {name}: both sync modes", sorted(s["supported_sync_modes"]) == ["full_refresh", "incremental"])
    check(f"discover: {name}: source-defined cursor in the schema, an integer",
          s["source_defined_cursor"] and len(s["default_cursor_field"]) == 1
          and props.get(s["default_cursor_field"][0], {}).get("type") == "integer")
    check(f"discover: {name}: primary key paths exist and are scalars",
          s["source_defined_primary_key"] and all(len(k) == 1 and k[0] in props and "object" not in
                                                  json.dumps(props[k[0]].get("type")) for k in
                                                  s["source_defined_primary_key"]))
    check(f"discover: {name}: lower-case snake_case names, typed, no empty objects",
          all(p == p.lower() and p.replace("_", "").isalnum() and "type" in d and d.get("type") != "object"
              for p, d in props.items()))
    check(f"discover: {name}: timestamps are date-time with time zone",
          all(d.get("airbyte_type") == "timestamp_with_timezone" for d in props.values()
              if d.get("format") == "date-time")
          and any(d.get("format") == "date-time" for d in props.values()))


def catalog(names, mode="full_refresh"):
    return write(f"catalog{len(os.listdir(work))}.json", {"streams": [
        {"stream": streams[n], "sync_mode": mode, "destination_sync_mode": "append",
         **({"cursor_field": streams[n]["default_cursor_field"]} if mode == "incremental" else {})}
        for n in names]})


# The record streams grow while the incremental reads run. Alerts and anomalies come from the faults of the backfill
# (tests/airbyte_test.sh), not from the live simulator, so they need not grow; each is read in pages of a quarter of
# what the full read found, so that it has several checkpoints.
RECORD_STREAMS = ["sensor_readings", "cooling_metrics", "metrics"]
EVENT_STREAMS = ["alerts", "anomalies"]
ALL = RECORD_STREAMS + EVENT_STREAMS


def records(msgs, stream):
    return [m["record"]["data"] for m in msgs if m["type"] == "RECORD" and m["record"]["stream"] == stream]


def cursor_of(stream):
    return streams[stream]["default_cursor_field"][0]


def states(msgs, stream):
    return [m for m in msgs if m["type"] == "STATE" and m["state"]["stream"]["stream_descriptor"]["name"] == stream]


# ---- basic read (a quiet store) ---------------------------------------------------------------------------------
rc, first = run("read", "--config", config(), "--catalog", catalog(ALL))
check("read: exit 0", rc == 0, rc)
for name in ALL:
    recs = records(first, name)
    schema = streams[name]["json_schema"]
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = [e.message for r in recs for e in validator.iter_errors(r)][:3]
    check(f"read: {name}: records", len(recs) > 0, len(recs))
    check(f"read: {name}: every record validates, no undeclared field", not errors, errors)
    never = [p for p in schema["properties"] if not any(r.get(p) is not None for r in recs)]
    check(f"read: {name}: every declared field non-null somewhere", not never, never)
    key = [k[0] for k in streams[name]["source_defined_primary_key"]]
    check(f"read: {name}: primary keys never null", all(all(r.get(k) is not None for k in key) for r in recs))
    statuses = [m["trace"]["stream_status"]["status"] for m in first if m["type"] == "TRACE"
                and m["trace"]["type"] == "STREAM_STATUS" and m["trace"]["stream_status"]["stream_descriptor"][
                    "name"] == name]
    ordered = (statuses[:1] == ["STARTED"] and statuses[-1:] == ["COMPLETE"] and len(statuses) >= 3
               and set(statuses[1:-1]) == {"RUNNING"})
    check(f"read: {name}: stream statuses STARTED, RUNNING..., COMPLETE", ordered, statuses)
    st = states(first, name)
    check(f"read: {name}: STREAM states with sourceStats, counts adding up",
          len(st) >= 1 and all(s["state"]["type"] == "STREAM" and "sourceStats" in s["state"] for s in st)
          and sum(s["state"]["sourceStats"]["recordCount"] for s in st) == len(recs))
    cursors = [r[cursor_of(name)] for r in recs]
    check(f"read: {name}: cursors strictly ascending", all(a < b for a, b in zip(cursors, cursors[1:])))
check("read: at least two checkpoints of sensor_readings (page size 5000)", len(states(first, "sensor_readings")) >= 2)

# ---- full refresh: two reads of a quiet store give identical records --------------------------------------------
rc, second = run("read", "--config", config(), "--catalog", catalog(ALL), validate_records=False)
for name in ALL:
    check(f"full refresh: {name}: two reads identical", records(first, name) == records(second, name))
first_emitted = max(m["record"]["emitted_at"] for m in first if m["type"] == "RECORD")
check("full refresh: the second read's emitted_at are not earlier",
      all(m["record"]["emitted_at"] >= first_emitted for m in second if m["type"] == "RECORD"))

# Filters from the stream options.
rc, msgs = run("read", "--config", config(streams={"sensor_readings": {"measurement": "humidity"}}),
               "--catalog", catalog(["sensor_readings"]), validate_records=False)
recs = records(msgs, "sensor_readings")
check("read: a stream option filters (measurement humidity)",
      rc == 0 and recs and all(r["measurement_type"] == "humidity" for r in recs)
      and len(recs) == sum(r["measurement_type"] == "humidity" for r in records(first, "sensor_readings")))

# ---- incremental while ingest goes on ---------------------------------------------------------------------------
sim = subprocess.Popen([dcmon, "simulate", "--speed", "60", "--kafka", bootstrap, "--quiet"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)



try:
    stop = threading.Event()

    def keep_writing():
        while not stop.wait(0.2):
            post_lines(50)

    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    record_cfg = config(page_size=3000)
    inc_cfgs = {name: record_cfg for name in RECORD_STREAMS}
    inc_cfgs.update({name: config(page_size=max(1, len(records(first, name)) // 4)) for name in EVENT_STREAMS})
    inc = []
    for names in (RECORD_STREAMS, *([n] for n in EVENT_STREAMS)):
        rc, msgs = run("read", "--config", inc_cfgs[names[0]], "--catalog", catalog(names, "incremental"),
                       validate_records=False)
        check(f"incremental: {', '.join(names)}: exit 0", rc == 0)
        inc += msgs
    for name in ALL:
        inc_cfg = inc_cfgs[name]
        recs = records(inc, name)
        cur = cursor_of(name)
        st = [s for s in states(inc, name) if s["state"]["sourceStats"]["recordCount"] > 0]
        check(f"incremental: {name}: RECORDs and STATEs", recs and st)
        # Up to three checkpoints, the first, one picked at random and the last.
        picks = sorted({0, rng.randrange(len(st)), len(st) - 1})
        grew = False
        for i in picks:
            state = st[i]["state"]
            at = state["stream"]["stream_state"][cur]
            rc, again = run("read", "--config", inc_cfg, "--catalog", catalog([name], "incremental"), "--state",
                            write(f"state{len(os.listdir(work))}.json", [state]), validate_records=False)
            got = records(again, name)
            top = recs[-1][cur]
            expected = [r for r in recs if r[cur] > at]
            seen = [r[cur] for r in got]
            grew = grew or any(c > top for c in seen)
            unique = {json.dumps(r, sort_keys=True) for r in got}
            check(f"incremental: {name}: from checkpoint {i + 1}/{len(st)} ({cur} {at}): exactly the records after it",
                  rc == 0 and [r for r in got if r[cur] <= top] == expected and all(c > at for c in seen)
                  and len(unique) == len(got),
                  f"{len(got)} records, {len(expected)} expected up to {top}")
        if name in RECORD_STREAMS:
            check(f"incremental: {name}: ingest went on while reading (records past the first read's last)", grew)
    stop.set()
    writer.join()
finally:
    sim.terminate()
    sim.wait()

# ---- future state -----------------------------------------------------------------------------------------------
future = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": n}, "stream_state": {cursor_of(n): 1 << 62}}}
          for n in ALL]
rc, msgs = run("read", "--config", config(), "--catalog", catalog(ALL, "incremental"), "--state",
               write("future.json", future))
check("future state: exit 0, zero records", rc == 0 and not of_type(msgs, "RECORD"))
check("future state: a STATE per stream", all(states(msgs, n) for n in ALL))

# ---- a stream that does not exist -------------------------------------------------------------------------------
bogus = copy.deepcopy(streams["metrics"])
bogus["name"] = "bogus"
path = write("bogus.json", {"streams": [{"stream": bogus, "sync_mode": "full_refresh",
                                         "destination_sync_mode": "append"}]})
rc, msgs = run("read", "--config", config(), "--catalog", path)
errors = [m for m in of_type(msgs, "TRACE") if m["trace"]["type"] == "ERROR"]
check("bogus stream: an ERROR trace with failure_type, a clean non-zero exit",
      rc == 1 and errors and errors[0]["trace"]["error"].get("failure_type") == "config_error")

# ---- 429 twice, then 200 ----------------------------------------------------------------------------------------
class Fake(http.server.BaseHTTPRequestHandler):
    calls = []

    def do_GET(self):
        Fake.calls.append((time.monotonic(), self.path))
        if len(Fake.calls) <= 2:
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/problem+json")
            body = b'{"type":"about:blank","title":"rate limit exceeded","status":429,"detail":"slow down"}'
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            body = json.dumps({"data": [{"ingest_seq": 7, "source_type": "sensor", "device_id": "d",
                                         "location": "A", "measurement_type": "temperature", "value": 21.5,
                                         "timestamp": "2025-08-21T16:48:00Z"}],
                               "next_cursor": None, "limit": 5000}).encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
threading.Thread(target=fake.serve_forever, daemon=True).start()
rc, msgs = run("read", "--config", config(api_url=f"http://127.0.0.1:{fake.server_address[1]}"),
               "--catalog", catalog(["sensor_readings"]))
fake.shutdown()
waits = [b[0] - a[0] for a, b in zip(Fake.calls, Fake.calls[1:])]
limited = [m for m in of_type(msgs, "TRACE") if m["trace"]["type"] == "STREAM_STATUS"
           and any(r.get("type") == "RATE_LIMITED" for r in m["trace"]["stream_status"].get("reasons", []))]
check("429 twice then 200: the read completes with the record",
      rc == 0 and len(Fake.calls) == 3 and len(records(msgs, "sensor_readings")) == 1, (rc, len(Fake.calls)))
check("429: Retry-After honoured (about 1 s between tries)", waits and all(0.9 <= w < 5 for w in waits), waits)
check("429: RATE_LIMITED stream statuses", len(limited) == 2)

# ---- TLS: a reverse proxy in front of serve, its certificate self-signed for localhost ----------------------------
cert, key = os.path.join(work, "tls.pem"), os.path.join(work, "tls.key")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        req = urllib.request.Request(url + self.path, headers={"Authorization": self.headers["Authorization"]})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, ctype, body = r.status, r.headers["Content-Type"], r.read()
        except urllib.error.HTTPError as e:
            status, ctype, body = e.code, e.headers["Content-Type"], e.read()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


sni = []
tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls_context.load_cert_chain(cert, key)
tls_context.sni_callback = lambda sock, name, ctx: sni.append(name)
proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
proxy.socket = tls_context.wrap_socket(proxy.socket, server_side=True)
threading.Thread(target=proxy.serve_forever, daemon=True).start()
tls_url = f"https://localhost:{proxy.server_address[1]}"
s, m = status_of(config(api_url=tls_url))
check("TLS: check FAILED for a self-signed certificate, naming TLS, the reason and ca_file",
      s == "FAILED" and "TLS" in m and "self-signed" in m and "ca_file" in m, m)
s, m = status_of(config(api_url=f"https://127.0.0.1:{proxy.server_address[1]}", ca_file=cert))
check("TLS: check FAILED for a certificate of another name", s == "FAILED" and "TLS" in m and "mismatch" in m, m)
sni.clear()
s, m = status_of(config(api_url=tls_url, ca_file=cert))
check("TLS: check SUCCEEDED with the certificate as ca_file, SNI sent", s == "SUCCEEDED" and "localhost" in sni,
      (m, sni))
rc, plain = run("read", "--config", config(), "--catalog", catalog(["alerts"]), validate_records=False)
rc_tls, over_tls = run("read", "--config", config(api_url=tls_url, ca_file=cert), "--catalog", catalog(["alerts"]),
                       validate_records=False)
check("TLS: a read through it gives the records of a plain read",
      rc == rc_tls == 0 and records(plain, "alerts") and records(over_tls, "alerts") == records(plain, "alerts"))
proxy.shutdown()

# ---- the manifest -----------------------------------------------------------------------------------------------
manifest = yaml.safe_load(open(os.path.join(ROOT, "integrations", "airbyte", "manifest.yaml")))
declarative = yaml.safe_load(open(os.path.join(SHARED, "declarative_component_schema.yaml")))
errors = [e.message for e in jsonschema.Draft7Validator(declarative).iter_errors(manifest)][:3]
check("manifest: valid against declarative_component_schema.yaml", not errors, errors)
for s in manifest["streams"]:
    schema = s["schema_loader"]["schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    text = json.dumps(schema)
    check(f"manifest: {s['name']}: explicit schema, no $ref/anyOf/allOf",
          schema.get("properties") and not any(k in text for k in ('"$ref"', "anyOf", "allOf")))
    native = streams.get(s["name"])
    if native:
        check(f"manifest: {s['name']}: same fields and types as the native connector",
              {k: v.get("type") for k, v in schema["properties"].items()}
              == {k: v.get("type") for k, v in native["json_schema"]["properties"].items()})

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
