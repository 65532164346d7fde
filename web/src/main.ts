// The dcmon dashboard: KPI tiles from the live summary, a floor plan per room coloured by rack inlet
// temperature, an inlet chart from /api/v1/series, all kept live by /api/v1/stream (docs/dashboard.md).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";

type Summary = {
  updated_at?: string;
  latest_event_time?: string | null;
  power?: { facility_kw: number | null; it_kw: number | null; cooling_kw: number | null; cooling_share: number | null };
  pue?: { now: number | null; hour: number | null; day: number | null };
  inlets?: { ashrae_class: string; sensors: number; in_recommended: number; allowable_only: number; outside_allowable: number };
  hottest_inlets?: { device_id: string; room: string; rack: string; value: number }[];
  stale?: { count: number };
  devices?: number;
};
type Device = { device_id: string; kind: string; measurement_type?: string; room?: string; row?: string; rack?: string; position?: string };
type Reading = { device_id: string; value: number };
type Rack = { room: string; row: string; rack: string; sensors: Map<string, string> };  // position -> device id

// The ASHRAE TC 9.9 envelopes in °C, as src/analytics/live_state.cc counts them.
const kEnvelopes: Record<string, [number, number, number, number]> = {
  A1: [18, 27, 15, 32], A2: [18, 27, 10, 35], A3: [18, 27, 5, 40], A4: [18, 27, 5, 45], H1: [18, 22, 5, 25],
};
const kStreamStaleMs = 5000;     // no event for this long: the stream is stale
const kDataStaleS = 120;          // newest record older than this (summary time): the data is stale

const params = new URLSearchParams(location.search);
const token = params.get("access_token") ?? "";
const $ = (id: string) => document.getElementById(id)!;

const values = new Map<string, number>();
const rooms = new Map<string, Map<string, Rack[]>>();  // room -> row -> racks
let deviceCount = -1;
let summary: Summary = {};
let selected: Rack | null = null;
let rangeS = 3600;
let firstRender = false;

async function api<T>(path: string): Promise<T> {
  const r = await fetch(path, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

// Shared by the tiles and the browser test (tests/browser/dashboard_test.mjs formats the same way).
function fmt(v: number | null | undefined, digits: number, scale = 1): string {
  return v === null || v === undefined ? "–" : (v * scale).toFixed(digits);
}

function renderSummary(s: Summary) {
  summary = s;
  const tiles: [string, string][] = [
    ["kpi-pue-now", fmt(s.pue?.now, 3)], ["kpi-pue-day", fmt(s.pue?.day, 3)],
    ["kpi-it", fmt(s.power?.it_kw, 1)], ["kpi-cooling", fmt(s.power?.cooling_kw, 1)],
    ["kpi-share", fmt(s.power?.cooling_share, 1, 100)], ["kpi-stale", s.stale ? String(s.stale.count) : "–"],
    ["kpi-inlets", s.inlets ? `${s.inlets.in_recommended} / ${s.inlets.sensors}` : "–"],
  ];
  for (const [id, text] of tiles) $(id).textContent = text;
  document.querySelector(".tiles")!.setAttribute("data-updated-at", s.updated_at ?? "");
  $("updated").textContent = s.latest_event_time ? `data at ${s.latest_event_time}` : "";
  if (s.devices !== undefined && s.devices !== deviceCount) void loadDevices(s.devices);
}

function envelope(): [number, number, number, number] {
  return kEnvelopes[summary.inlets?.ashrae_class ?? "A1"] ?? kEnvelopes.A1;
}

function rackInlet(r: Rack): number | undefined {
  let hottest: number | undefined;
  for (const [pos, id] of r.sensors) {
    const v = values.get(id);
    if (pos.startsWith("inlet") && v !== undefined) hottest = hottest === undefined ? v : Math.max(hottest, v);
  }
  return hottest;
}

function band(v: number | undefined): string {
  if (v === undefined) return "none";
  const [rl, rh, al, ah] = envelope();
  if (v < al || v > ah) return "hot";
  if (v < rl) return "cold";
  return v > rh ? "warm" : "ok";
}

let loadingDevices = false;
async function loadDevices(count: number) {
  if (loadingDevices) return;
  loadingDevices = true;
  try {
    const { data } = await api<{ data: Device[] }>("/api/v1/devices?kind=sensor");
    deviceCount = count;
    rooms.clear();
    const byKey = new Map<string, Rack>();
    for (const d of data) {
      if (!d.room || !d.rack) continue;
      const key = `${d.room}/${d.rack}`;
      let r = byKey.get(key);
      if (!r) {
        r = { room: d.room, row: d.row ?? "", rack: d.rack, sensors: new Map() };
        byKey.set(key, r);
        if (!rooms.has(r.room)) rooms.set(r.room, new Map());
        const rows = rooms.get(r.room)!;
        if (!rows.has(r.row)) rows.set(r.row, []);
        rows.get(r.row)!.push(r);
      }
      const pos = d.measurement_type === "temperature" ? d.position ?? "" : d.measurement_type ?? "";
      r.sensors.set(pos, d.device_id);
    }
    buildPlan();
  } catch (e) {
    console.warn(e);
  } finally {
    loadingDevices = false;
  }
}

// One canvas per room: SVG would be too slow for the large preset's 10,000 racks.
type Plan = { canvas: HTMLCanvasElement; rows: Rack[][]; cell: number; cursor: [number, number] };
const plans: Plan[] = [];

function buildPlan() {
  const host = $("rooms");
  host.replaceChildren();
  plans.length = 0;
  let total = 0;
  for (const [room, rowMap] of [...rooms].sort(([a], [b]) => a.localeCompare(b))) {
    const rows = [...rowMap].sort(([a], [b]) => a.localeCompare(b)).map(([, racks]) =>
      racks.sort((a, b) => a.rack.localeCompare(b.rack)));
    const widest = Math.max(...rows.map((r) => r.length));
    const racks = rows.reduce((n, r) => n + r.length, 0);
    const cell = racks > 200 ? 10 : 28;  // large rooms small, so the large preset's rooms fit a screen
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    total += racks;
    cap.textContent = `${room}: ${rows.length} rows, ${racks} racks`;
    const canvas = document.createElement("canvas");
    canvas.tabIndex = 0;
    canvas.dataset.room = room;
    canvas.dataset.racks = String(racks);
    canvas.width = widest * (cell + 2) + 2;
    canvas.height = rows.length * (cell + 8) + 2;
    const plan: Plan = { canvas, rows, cell, cursor: [0, 0] };
    canvas.addEventListener("mousemove", (e) => hover(plan, e));
    canvas.addEventListener("mouseleave", () => ($("tooltip").hidden = true));
    canvas.addEventListener("click", (e) => { const r = hit(plan, e); if (r) select(r); });
    canvas.addEventListener("keydown", (e) => key(plan, e));
    canvas.addEventListener("focus", () => showTip(plan, plan.rows[plan.cursor[0]][plan.cursor[1]]));
    canvas.addEventListener("blur", () => ($("tooltip").hidden = true));
    fig.append(cap, canvas);
    host.append(fig);
    plans.push(plan);
  }
  host.dataset.racks = String(total);
  $("plan-note").textContent = total ? "(arrow keys move, Enter charts a rack)" : "(waiting for devices)";
  drawPlans();
}

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function drawPlans() {
  const colors: Record<string, string> = {
    none: css("--none"), cold: css("--cold"), ok: css("--ok"), warm: css("--warm"), hot: css("--hot"),
  };
  for (const p of plans) {
    const g = p.canvas.getContext("2d")!;
    g.clearRect(0, 0, p.canvas.width, p.canvas.height);
    const counts: Record<string, number> = { none: 0, cold: 0, ok: 0, warm: 0, hot: 0 };
    p.rows.forEach((row, y) => row.forEach((r, x) => {
      const b = band(rackInlet(r));
      counts[b]++;
      g.fillStyle = colors[b];
      g.fillRect(1 + x * (p.cell + 2), 1 + y * (p.cell + 8), p.cell, p.cell);
      if (r === selected || (document.activeElement === p.canvas && p.cursor[0] === y && p.cursor[1] === x)) {
        g.strokeStyle = css("--fg");
        g.lineWidth = 2;
        g.strokeRect(1 + x * (p.cell + 2), 1 + y * (p.cell + 8), p.cell, p.cell);
      }
    }));
    p.canvas.setAttribute("aria-label", `${p.canvas.dataset.room}: ${p.canvas.dataset.racks} racks; ` +
      `${counts.ok} recommended, ${counts.warm} allowable only, ${counts.hot} outside allowable, ` +
      `${counts.cold} below recommended, ${counts.none} without a reading`);
  }
  if (!firstRender && plans.length && summary.updated_at && values.size) {
    firstRender = true;
    performance.mark("dcmon-first-render");
  }
}

let drawQueued = false;
function redraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => { drawQueued = false; drawPlans(); });
}

function hit(p: Plan, e: MouseEvent): Rack | undefined {
  const b = p.canvas.getBoundingClientRect();
  const x = Math.floor((e.clientX - b.left - 1) / (p.cell + 2));
  const y = Math.floor((e.clientY - b.top - 1) / (p.cell + 8));
  return p.rows[y]?.[x];
}

function hover(p: Plan, e: MouseEvent) {
  const r = hit(p, e);
  if (r) showTip(p, r); else $("tooltip").hidden = true;
}

function showTip(p: Plan, r: Rack | undefined) {
  if (!r) return;
  const tip = $("tooltip");
  const v = (pos: string, digits: number, unit: string, scale = 1) => {
    const id = r.sensors.get(pos);
    const x = id === undefined ? undefined : values.get(id);
    return x === undefined ? "–" : `${(x * scale).toFixed(digits)} ${unit}`;
  };
  tip.textContent = `${r.room} row ${r.row} rack ${r.rack}\ninlet bottom ${v("inlet_bottom", 1, "°C")}` +
    `\ninlet middle ${v("inlet_middle", 1, "°C")}\ninlet top ${v("inlet_top", 1, "°C")}` +
    `\nexhaust ${v("exhaust", 1, "°C")}\npower ${v("power", 2, "kW", 0.001)}\nhumidity ${v("humidity", 0, "%")}`;
  const b = p.canvas.getBoundingClientRect();
  const y = p.rows.findIndex((row) => row.includes(r));
  const x = p.rows[y].indexOf(r);
  tip.style.left = `${window.scrollX + b.left + x * (p.cell + 2)}px`;
  tip.style.top = `${window.scrollY + b.top + (y + 1) * (p.cell + 8)}px`;
  tip.hidden = false;
}

function key(p: Plan, e: KeyboardEvent) {
  const [y, x] = p.cursor;
  const moves: Record<string, [number, number]> = {
    ArrowUp: [y - 1, x], ArrowDown: [y + 1, x], ArrowLeft: [y, x - 1], ArrowRight: [y, x + 1],
  };
  if (e.key === "Enter" || e.key === " ") {
    select(p.rows[y][x]);
    e.preventDefault();
    return;
  }
  const m = moves[e.key];
  if (!m) return;
  e.preventDefault();
  const ny = Math.min(Math.max(m[0], 0), p.rows.length - 1);
  const nx = Math.min(Math.max(m[1], 0), p.rows[ny].length - 1);
  p.cursor = [ny, nx];
  showTip(p, p.rows[ny][nx]);
  drawPlans();
}

function select(r: Rack) {
  selected = r;
  drawPlans();
  loadChart().catch(console.warn);
}

// The newest reading of every sensor, so the plan is coloured before the stream's first batch.
async function loadLatest(s: Summary) {
  if (!s.latest_event_time) return;
  const from = new Date(Date.parse(s.latest_event_time) - kDataStaleS * 1000).toISOString();
  let start = 0;
  for (let page = 0; page < 20; page++) {
    const r = await api<{ data: Reading[]; next_cursor: number | null }>(
      `/api/v1/readings?from=${from}&start=${start}&limit=10000`);
    for (const x of r.data) values.set(x.device_id, x.value);
    if (r.next_cursor === null) break;
    start = r.next_cursor;
  }
  redraw();
}

let chart: uPlot | null = null;
async function loadChart() {
  const device = selected?.sensors.get("inlet_top") ?? summary.hottest_inlets?.[0]?.device_id ??
    plans[0]?.rows[0]?.[0]?.sensors.get("inlet_top");
  if (!device || !summary.latest_event_time) return;
  const started = performance.now();
  const to = new Date(Date.parse(summary.latest_event_time) + 60_000);
  to.setUTCSeconds(0, 0);
  const from = new Date(to.getTime() - rangeS * 1000);
  const step = Math.max(60, Math.round(rangeS / 300 / 60) * 60);  // whole minutes: served from the rollups
  const s = await api<{ points: { time: string; min: number; max: number; avg: number }[] }>(
    `/api/v1/series?device=${encodeURIComponent(device)}&measurement=temperature` +
    `&from=${from.toISOString()}&to=${to.toISOString()}&step=${step}`);
  const data: uPlot.AlignedData = [
    s.points.map((p) => Date.parse(p.time) / 1000), s.points.map((p) => p.avg),
    s.points.map((p) => p.min), s.points.map((p) => p.max),
  ];
  const el = $("chart");
  const width = Math.max(320, el.clientWidth || 800);
  if (!chart) {
    chart = new uPlot({
      width, height: 260,
      series: [{}, { label: "avg °C", stroke: css("--ok"), width: 2 },
        { label: "min °C", stroke: css("--cold") }, { label: "max °C", stroke: css("--hot") }],
      axes: [{ stroke: css("--fg") }, { stroke: css("--fg"), size: 60 }],
    }, data, el);
  } else {
    chart.setData(data);
  }
  el.dataset.points = String(s.points.length);
  el.dataset.device = device;
  $("chart-device").textContent = device;
  $("chart-note").textContent = `${s.points.length} points, step ${step} s, loaded in ${Math.round(performance.now() - started)} ms`;
}

let lastEvent = 0;
let source: EventSource | null = null;
let retryMs = 1000;
function connect() {
  source?.close();
  source = new EventSource(`/api/v1/stream${token ? `?access_token=${encodeURIComponent(token)}` : ""}`);
  source.addEventListener("open", () => { retryMs = 1000; });
  source.addEventListener("summary", (e) => {
    lastEvent = Date.now();
    const first = !summary.updated_at;
    renderSummary(JSON.parse((e as MessageEvent).data) as Summary);
    if (first) loadLatest(summary).then(loadChart).catch(console.warn);
    streamState();
  });
  source.addEventListener("readings", (e) => {
    lastEvent = Date.now();
    for (const x of JSON.parse((e as MessageEvent).data) as Reading[]) values.set(x.device_id, x.value);
    redraw();
  });
  source.addEventListener("error", () => {
    streamState();
    // The browser retries by itself unless the answer was an error; then retry here, backing off.
    if (source?.readyState === EventSource.CLOSED) {
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  });
}

function streamState() {
  const badge = $("stream-state");
  let state = "live";
  if (!source || source.readyState !== EventSource.OPEN) state = "reconnecting";
  else if (Date.now() - lastEvent > kStreamStaleMs) state = "stale";
  else if (summary.updated_at && summary.latest_event_time &&
    Date.parse(summary.updated_at) - Date.parse(summary.latest_event_time) > kDataStaleS * 1000) state = "data stale";
  badge.textContent = state;
  badge.dataset.state = state;
  document.body.classList.toggle("stale", state !== "live");
}

function setupControls() {
  const saved = localStorage.getItem("dcmon-theme");
  if (saved) document.documentElement.dataset.theme = saved;
  $("theme").addEventListener("click", () => {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    document.documentElement.dataset.theme = dark ? "light" : "dark";
    localStorage.setItem("dcmon-theme", document.documentElement.dataset.theme);
    drawPlans();
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>(".ranges button")) {
    b.addEventListener("click", () => {
      rangeS = Number(b.dataset.range);
      for (const o of document.querySelectorAll(".ranges button")) o.setAttribute("aria-pressed", String(o === b));
      loadChart().catch(console.warn);
    });
  }
}

setupControls();
connect();
setInterval(streamState, 1000);
setInterval(() => loadChart().catch(console.warn), 30_000);
