// The dcmon dashboard (docs/dashboard.md): KPI tiles from the live summary and /api/v1/kpis, the
// floor plan (plan.ts) from /api/v1/latest, the alerts panel (alerts.ts), the charts (charts.ts),
// all kept live by /api/v1/stream; light and dark themes and a wall-display mode.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { onAlert, setNow, setupAlerts } from "./alerts";
import {
  $, endpoints, fmt, get, streamUrl, wallParam, type Alert, type Anomaly, type Latest, type Summary, type Zone,
} from "./api";
import { addAnomaly, loadAll, rethemeCharts, setLatest, setupCharts } from "./charts";
import * as plan from "./plan";

const kStreamStaleMs = 5000;  // no event for this long: the stream is stale
const kDataStaleS = 120;       // newest record older than this (summary time): the data is stale
const kLatestEveryMs = 15_000; // the units' fan speeds and air temperatures come with /api/v1/latest

let summary: Summary = {};
let deviceCount = -1;
let firstRender = false;

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
  plan.setEnvelope(s.inlets?.envelope);
  setLatest(s.latest_event_time, s.hottest_inlets?.[0]?.device_id);
  setNow(s.latest_event_time);
  if (s.devices !== undefined && s.devices !== deviceCount) {
    deviceCount = s.devices;
    void loadLatest();
  }
}

// The CRAH zones, once (they follow from the facility's layout), where the server has them.
let zonesLoaded = false;
async function loadZones() {
  if ((await endpoints()).has("/api/v1/zones")) plan.setZones((await get<{ zones: Zone[] }>("/api/v1/zones")).zones);
  zonesLoaded = true;
}

let loadingLatest = false;
async function loadLatest() {
  if (loadingLatest) return;
  loadingLatest = true;
  try {
    if (!zonesLoaded) void loadZones().catch(console.warn);
    plan.build(await get<Latest>("/api/v1/latest"));
    if (!firstRender && summary.updated_at && plan.values.size) {
      firstRender = true;
      performance.mark("dcmon-first-render");
      void loadAll();
    }
  } catch (e) {
    console.warn(e);
  } finally {
    loadingLatest = false;
  }
}

// Energy cost today and data completeness, from /api/v1/kpis where the server has it.
let kpisAvailable: boolean | null = null;
let kpisSoon: ReturnType<typeof setTimeout> | undefined;
async function loadKpis() {
  kpisAvailable ??= (await endpoints()).has("/api/v1/kpis");
  if (!kpisAvailable) {
    for (const id of ["kpi-cost", "kpi-complete"]) {
      $(id).textContent = "n/a";
      $(id).title = "not available: this server has no /api/v1/kpis";
      $(`${id}-unit`).textContent = "";
    }
    return;
  }
  // Before any record (a server just started) or any facility meter minute today (its backfill
  // loading) there is nothing to price yet: asked again in a few seconds rather than at the next minute.
  clearTimeout(kpisSoon);
  const soon = () => { kpisSoon = setTimeout(() => void loadKpis(), 5_000); };
  if (!summary.latest_event_time) return soon();
  const to = summary.latest_event_time;
  const from = `${to.slice(0, 10)}T00:00:00Z`;
  try {
    const k = await get<{
      cost?: { currency: string; total: number | null }; energy_kwh?: { facility: number | null };
      completeness?: { ratio: number }[];
    }>(`/api/v1/kpis?from=${from}&to=${to}`);
    const priced = k.cost?.total !== null && k.cost?.total !== undefined;
    const metered = (k.energy_kwh?.facility ?? 0) > 0;
    if (!metered) soon();
    $("kpi-cost").textContent = priced ? fmt(k.cost?.total, 0) : metered ? "no tariff" : "–";
    $("kpi-cost").title = priced ? "" : metered ? "set analytics.tariff to price the energy (docs/configuration.md)"
      : "no facility meter reading stored today yet";
    $("kpi-cost-unit").textContent = priced ? (k.cost?.currency ?? "") : "";
    const c = k.completeness ?? [];
    $("kpi-complete").textContent = c.length ? fmt(c.reduce((s, x) => s + x.ratio, 0) / c.length, 1, 100) : "–";
    $("kpi-complete-unit").textContent = "%";
  } catch (e) {
    console.warn(e);
  }
}

let lastEvent = 0;
let source: EventSource | null = null;
let retryMs = 1000;
function connect() {
  source?.close();
  source = new EventSource(streamUrl());
  source.addEventListener("open", () => { retryMs = 1000; });
  source.addEventListener("summary", (e) => {
    lastEvent = Date.now();
    const first = !summary.updated_at;
    renderSummary(JSON.parse((e as MessageEvent).data) as Summary);
    if (first) void loadKpis();
    streamState();
  });
  source.addEventListener("readings", (e) => {
    lastEvent = Date.now();
    plan.update(JSON.parse((e as MessageEvent).data));
  });
  source.addEventListener("alert", (e) => onAlert(JSON.parse((e as MessageEvent).data) as Alert));
  source.addEventListener("anomaly", (e) => addAnomaly(JSON.parse((e as MessageEvent).data) as Anomaly));
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

function setWall(on: boolean) {
  document.body.classList.toggle("wall", on);
  $("wall").setAttribute("aria-pressed", String(on));
  plan.setWall(on);
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
    plan.draw();
    rethemeCharts();
  });
  $("wall").addEventListener("click", () => setWall(!document.body.classList.contains("wall")));
  const filter = $("room-filter") as HTMLSelectElement;
  filter.addEventListener("change", () => { plan.setRoomFilter(filter.value); void loadAll(); });
  plan.onRackSelected(() => void loadAll());
  setupCharts();
  if (wallParam) setWall(true);
}

setupControls();
connect();
void setupAlerts();
setInterval(streamState, 1000);
setInterval(() => void loadAll(), 30_000);
setInterval(() => void loadKpis(), 60_000);
setInterval(() => void loadLatest(), kLatestEveryMs);
