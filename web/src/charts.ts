// The charts (uPlot), over 1 h / 24 h / 7 d from /api/v1/series: a rack's sensor (the drill-down:
// the selected rack's inlets, exhaust, humidity or power; else the hottest inlet), its room's rack
// inlets (mean, min and max over all of them), PUE (facility over IT meter per bucket), cooling vs
// IT power (cooling: every cooling unit's power, summed), and outdoor temperature. Ranges over a
// day read whole hours (the hourly rollups), an hour or more whole minutes (the 1-minute rollups);
// dragging across a chart zooms every chart to that window, down to raw readings. Anomalies (/api/v1/anomalies, the stream's
// `anomaly` events) are marked on the series of their device.
import uPlot from "uplot";
import { $, css, endpoints, get, type Anomaly, type Point } from "./api";
import { chartRoom, firstRack, measurements, selectedRack } from "./plan";

type Window = { from: number; to: number; step: number };  // unix seconds
type Chart = {
  el: HTMLElement;
  series: () => uPlot.Series[];
  load: (w: Window) => Promise<uPlot.AlignedData>;
  marked: () => string[];  // devices whose anomalies this chart marks
  plot?: uPlot;
};

let latestEvent = "";
let rangeS = 3600;
let zoom: [number, number] | null = null;
let shown: Window = { from: 0, to: 1, step: 60 };  // what the charts show: their x range
let sensor = "inlet_top";
let hottest = "";
const anomalies = new Map<string, Anomaly[]>();  // device -> its anomalies, oldest first
let anomaliesAvailable = false;

export function setLatest(eventTime: string | null | undefined, hottestInlet: string | undefined) {
  if (eventTime) latestEvent = eventTime;
  if (hottestInlet) hottest = hottestInlet;
}

function timeWindow(): Window {
  const end = new Date(Date.parse(latestEvent) + 60_000);
  end.setUTCSeconds(0, 0);
  const [from, to] = zoom ?? [end.getTime() / 1000 - rangeS, end.getTime() / 1000];
  const span = to - from;
  // Whole hours (the hourly rollups: 168 points a week) over more than a day; else about 300
  // points, whole minutes (the 1-minute rollups) over an hour or more, raw readings below that.
  const step = span > 86400 ? Math.max(3600, Math.round(span / 300 / 3600) * 3600)
    : span >= 3600 ? Math.max(60, Math.round(span / 300 / 60) * 60) : Math.max(1, Math.round(span / 300));
  return { from: Math.floor(from), to: Math.ceil(to), step };
}

// `of`: device=ID, room=ID&position=P (every sensor of the room at positions starting with P), or
// kind=cooling (every cooling unit).
async function series(of: string, measurement: string, w: Window): Promise<Point[]> {
  const iso = (s: number) => new Date(s * 1000).toISOString();
  const r = await get<{ points: Point[] }>(`/api/v1/series?${of.includes("=") ? of : `device=${encodeURIComponent(of)}`}` +
    `&measurement=${measurement}&from=${iso(w.from)}&to=${iso(w.to)}&step=${w.step}`);
  return r.points;
}

// Avg, min and max per bucket, as uPlot's columns.
function spread(points: Point[]): uPlot.AlignedData {
  return [points.map((p) => Date.parse(p.time) / 1000), points.map((p) => p.avg),
    points.map((p) => p.min), points.map((p) => p.max)];
}

// Series of several devices on one time axis: a row per bucket any of them has.
function align(lists: Point[][], pick: (p: Point) => number): uPlot.AlignedData {
  const times = [...new Set(lists.flatMap((l) => l.map((p) => Date.parse(p.time) / 1000)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  return [times, ...lists.map((l) => {
    const col: (number | null)[] = times.map(() => null);
    for (const p of l) col[index.get(Date.parse(p.time) / 1000)!] = pick(p);
    return col;
  })] as uPlot.AlignedData;
}

// The selected rack's sensor; else the hottest fresh inlet; else (every inlet stale) the first rack's.
export function rackDevice(): string {
  return selectedRack()?.sensors.get(sensor) ?? (hottest || firstRack()?.sensors.get(sensor)) ?? "";
}

const kUnitLabel: Record<string, string> = { temperature: "°C", humidity: "%", power: "W" };

const charts: Chart[] = [
  {
    el: $("chart"),
    series: () => {
      const unit = kUnitLabel[measurements.get(rackDevice()) ?? "temperature"] ?? "";
      return [{}, { label: `avg ${unit}`, stroke: css("--ok"), width: 2 },
        { label: `min ${unit}`, stroke: css("--cold") }, { label: `max ${unit}`, stroke: css("--hot") }];
    },
    load: async (w) => {
      const device = rackDevice();
      return spread(await series(device, measurements.get(device) ?? "temperature", w));
    },
    marked: () => [rackDevice()],
  },
  {
    el: $("chart-room"),
    series: () => [{}, { label: "mean °C", stroke: css("--ok"), width: 2 },
      { label: "min °C", stroke: css("--cold") }, { label: "max °C", stroke: css("--hot"), width: 2 }],
    load: async (w) => {
      const room = chartRoom(rackDevice());
      $("chart-room").dataset.room = room;
      $("chart-room-name").textContent = room;
      return spread(await series(`room=${encodeURIComponent(room)}&position=inlet`, "temperature", w));
    },
    marked: () => [],
  },
  {
    el: $("chart-pue"),
    series: () => [{}, { label: "PUE", stroke: css("--ok"), width: 2 }],
    load: async (w) => {
      const [f, i] = await Promise.all([series("meter_facility", "power", w), series("meter_it", "power", w)]);
      const [t, fa, ia] = align([f, i], (p) => p.avg);
      return [t, (fa as (number | null)[]).map((v, k) => {
        const it = (ia as (number | null)[])[k];
        return v !== null && it ? v / it : null;
      })];
    },
    marked: () => ["meter_facility", "meter_it"],
  },
  {
    el: $("chart-power"),
    series: () => [{}, { label: "IT kW", stroke: css("--cold"), width: 2 },
      { label: "cooling kW", stroke: css("--warm"), width: 2 }, { label: "facility kW", stroke: css("--muted") }],
    load: async (w) => {
      const [it, facility, cooling] = await Promise.all([
        series("meter_it", "power", w), series("meter_facility", "power", w), coolingSum(w)]);
      return align([it, cooling, facility], (p) => p.avg / 1000);
    },
    marked: () => ["meter_it", "meter_facility"],
  },
  {
    el: $("chart-outdoor"),
    series: () => [{}, { label: "avg °C", stroke: css("--ok"), width: 2 },
      { label: "min °C", stroke: css("--cold") }, { label: "max °C", stroke: css("--hot") }],
    load: async (w) => spread(await series("outdoor-temperature", "temperature", w)),
    marked: () => ["outdoor-temperature"],
  },
];

// Every cooling unit's power per bucket (the site's chiller plant too: their power is the facility's
// cooling power), summed (each unit's mean), in one request: the server adds them up (411 on large).
async function coolingSum(w: Window): Promise<Point[]> {
  const points = await series("kind=cooling", "power_consumption_watts", w) as (Point & { total: number })[];
  return points.map((p) => ({ time: p.time, avg: p.total, min: p.total, max: p.total }));
}

// Vertical marks at the chart's anomalies, from uPlot's draw hook.
function drawMarks(c: Chart, u: uPlot) {
  const [lo, hi] = [u.scales.x.min ?? 0, u.scales.x.max ?? 0];
  const shown = c.marked().flatMap((d) => anomalies.get(d) ?? [])
    .filter((a) => { const t = Date.parse(a.event_time) / 1000; return t >= lo && t <= hi; });
  c.el.dataset.anomalies = String(shown.length);
  const g = u.ctx;
  g.save();
  g.strokeStyle = css("--hot");
  g.fillStyle = css("--hot");
  g.lineWidth = 1;
  for (const a of shown) {
    const x = u.valToPos(Date.parse(a.event_time) / 1000, "x", true);
    g.beginPath();
    g.moveTo(x, u.bbox.top);
    g.lineTo(x, u.bbox.top + u.bbox.height);
    g.stroke();
    g.beginPath();
    g.moveTo(x - 5, u.bbox.top);
    g.lineTo(x + 5, u.bbox.top);
    g.lineTo(x, u.bbox.top + 8);
    g.fill();
  }
  g.restore();
}

function make(c: Chart, data: uPlot.AlignedData) {
  c.plot?.destroy();
  c.plot = new uPlot({
    width: Math.max(320, c.el.clientWidth || 600), height: 220,
    series: c.series(),
    // The whole window asked for, not just the span that has data: charts line up with each other.
    scales: { x: { time: true, range: () => [shown.from, shown.to] } },
    axes: [{ stroke: css("--fg") }, { stroke: css("--fg"), size: 60 }],
    cursor: { sync: { key: "dcmon" }, drag: { x: true, y: false, setScale: false } },
    hooks: {
      draw: [(u) => drawMarks(c, u)],
      setSelect: [(u) => {
        const [from, to] = [u.posToVal(u.select.left, "x"), u.posToVal(u.select.left + u.select.width, "x")];
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        if (!(to - from >= 60)) return;  // a click, or less than a minute: nothing to zoom into
        zoom = [from, to];
        $("zoom-reset").hidden = false;
        void loadAll();
      }],
    },
  }, data, c.el);
}

async function loadChart(c: Chart, w: Window) {
  const started = performance.now();
  const data = await c.load(w);
  const ms = Math.round(performance.now() - started);
  // A new chart when its series change (another measurement drilled into), else new data only.
  const labels = c.series().map((s) => s.label ?? "").join();
  if (!c.plot || c.el.dataset.labels !== labels) make(c, data); else c.plot.setData(data);
  c.el.dataset.labels = labels;
  c.el.dataset.points = String(data[0].length);
  return ms;
}

let loading: Promise<void> | null = null;
let again = false;
// The rack chart first (the one an operator asked for), then the facility's.
export function loadAll(): Promise<void> {
  if (loading) { again = true; return loading; }
  loading = (async () => {
    do {
      again = false;
      if (!latestEvent || !rackDevice()) return;
      const w = timeWindow();
      shown = w;
      const device = rackDevice();
      await loadAnomalies([device]);
      const ms = await loadChart(charts[0], w);
      charts[0].el.dataset.device = device;
      $("chart-device").textContent = device;
      $("chart-note").textContent = `${charts[0].el.dataset.points} points, step ${w.step} s, loaded in ${ms} ms`;
      await loadAnomalies(["meter_facility", "meter_it", "outdoor-temperature"]);
      await Promise.all(charts.slice(1).map((c) => loadChart(c, w)));
    } while (again);
  })().catch(console.warn).finally(() => { loading = null; });
  return loading;
}

// A device's anomalies, once: later ones come on the stream.
async function loadAnomalies(devices: string[]) {
  if (!(anomaliesAvailable ||= (await endpoints()).has("/api/v1/anomalies"))) return;
  for (const device of devices) {
    if (anomalies.has(device)) continue;
    const list: Anomaly[] = [];
    let after = 0;
    for (let page = 0; page < 10; page++) {
      const r = await get<{ data: Anomaly[]; next_cursor: number | null }>(
        `/api/v1/anomalies?device=${encodeURIComponent(device)}&after=${after}&limit=1000`);
      list.push(...r.data);
      if (r.next_cursor === null) break;
      after = r.next_cursor;
    }
    anomalies.set(device, list);
  }
}

export function addAnomaly(a: Anomaly) {
  const list = anomalies.get(a.device_id);
  if (!list) return;  // no chart shows its device yet
  list.push(a);
  for (const c of charts) if (c.marked().includes(a.device_id)) c.plot?.redraw(false);
}

export function setupCharts() {
  for (const b of document.querySelectorAll<HTMLButtonElement>(".ranges button[data-range]")) {
    b.addEventListener("click", () => {
      rangeS = Number(b.dataset.range);
      zoom = null;
      $("zoom-reset").hidden = true;
      for (const o of document.querySelectorAll(".ranges button[data-range]")) {
        o.setAttribute("aria-pressed", String(o === b));
      }
      void loadAll();
    });
  }
  $("zoom-reset").addEventListener("click", () => {
    zoom = null;
    $("zoom-reset").hidden = true;
    void loadAll();
  });
  const pick = $("chart-sensor") as HTMLSelectElement;
  pick.addEventListener("change", () => {
    sensor = pick.value;
    void loadAll();
  });
}

// Colours follow the theme: the charts are made again with the new ones.
export function rethemeCharts() {
  for (const c of charts) { c.plot?.destroy(); c.plot = undefined; }
  void loadAll();
}
