// The floor plan: one canvas per room (SVG would be too slow for the large preset's 10,000 racks),
// racks by row as /api/v1/latest reports them, coloured by their hottest inlet against the ASHRAE
// envelope the summary serves; the room's CRAH units below its rows, coloured by whether their fan
// runs; every CRAH unit's zone (/api/v1/zones) outlined lightly, the racks of active alerts outlined,
// a firing incident's zone (its affected racks) boxed in red.
import { $, css, type Envelope, type Latest, type Unit, type Zone } from "./api";

// A rack: its name (`id`), its identity across the site (`key`, rackKey: sites may name their racks alike in
// every room), and its sensors' device ids by position.
export type Rack = { id: string; key: string; room: string; row: string; sensors: Map<string, string> };
type Plan = {
  canvas: HTMLCanvasElement; room: string; rows: Rack[][]; units: Unit[]; cell: number; cursor: [number, number];
};
// An outline on the plan: the racks (their rackKey) of an alert, or of a firing zone incident (`zone` set).
export type Mark = { racks: string[]; unit: string | null; zone: boolean; label: string };

const kGapX = 2;
const kGapY = 8;

export const values = new Map<string, number>();  // device id -> newest value
export const measurements = new Map<string, string>();  // device id -> measurement type
export const rackOf = new Map<string, string>();  // device id -> its rack's key
const roomOf = new Map<string, string>();  // device id -> its room
const units = new Map<string, Unit>();
const zoneOf = new Map<string, string>();  // rack key -> the unit whose zone holds it
const plans: Plan[] = [];
let envelope: Envelope | null = null;
let marks: Mark[] = [];
let selected: Rack | null = null;
let roomFilter = "";
let wall = false;
let onSelect: (r: Rack) => void = () => {};

// A rack's key across the site: its room and its name, as the server's RackKey (core/topology.h).
export function rackKey(room: string, rack: string): string {
  return `${room}\n${rack}`;
}

export function setEnvelope(e: Envelope | undefined) {
  if (e) envelope = e;
}
export function setZones(zones: Zone[]) {
  zoneOf.clear();
  for (const z of zones) for (const r of z.racks) zoneOf.set(rackKey(z.room, r), z.unit);
  redraw();
}
export function setMarks(m: Mark[]) {
  marks = m;
  redraw();
}
export function setRoomFilter(room: string) {
  roomFilter = room;
  for (const p of plans) (p.canvas.parentElement as HTMLElement).hidden = room !== "" && p.room !== room;
}
export function setWall(on: boolean) {
  wall = on;
  if (plans.length) layout();
}
export function onRackSelected(f: (r: Rack) => void) {
  onSelect = f;
}
export function firstRack(): Rack | undefined {
  return plans[0]?.rows[0]?.[0];
}
export function selectedRack(): Rack | null {
  return selected;
}
// The room the charts show: the one picked, else that of the device charted, else the first.
export function chartRoom(device: string): string {
  return roomFilter || roomOf.get(device) || plans[0]?.room || "";
}

// A batch of newest values from the stream: sensors by id; cooling units by their power.
export function update(readings: { device_id: string; measurement_type: string; value: number }[]) {
  for (const x of readings) {
    const u = units.get(x.device_id);
    if (u && x.measurement_type === "power_consumption_watts") u.power_consumption_watts = x.value;
    else values.set(x.device_id, x.value);
  }
  redraw();
}

let rooms = new Map<string, Map<string, Rack[]>>();  // room -> row -> racks
const roomUnits = new Map<string, Unit[]>();
// The whole plan again from /api/v1/latest: new devices, and the units' fan speeds and air.
export function build(latest: Latest) {
  rooms = new Map();
  const byKey = new Map<string, Rack>();
  for (const d of latest.data) {
    values.set(d.device_id, d.value);
    measurements.set(d.device_id, d.measurement_type);
    if (d.room) roomOf.set(d.device_id, d.room);
    if (!d.rack) continue;
    const key = rackKey(d.room, d.rack);
    let r = byKey.get(key);
    if (!r) {
      r = { id: d.rack, key, room: d.room, row: d.row ?? "", sensors: new Map() };
      byKey.set(key, r);
      if (!rooms.has(r.room)) rooms.set(r.room, new Map());
      const rows = rooms.get(r.room)!;
      if (!rows.has(r.row)) rows.set(r.row, []);
      rows.get(r.row)!.push(r);
    }
    const pos = d.measurement_type === "temperature" ? d.position ?? "" : d.measurement_type;
    r.sensors.set(pos, d.device_id);
    rackOf.set(d.device_id, r.key);
  }
  units.clear();
  roomUnits.clear();
  for (const u of latest.units) {
    units.set(u.unit, u);
    if (!u.room || !rooms.has(u.room)) continue;  // the chiller plant serves the site, not a room
    if (!roomUnits.has(u.room)) roomUnits.set(u.room, []);
    roomUnits.get(u.room)!.push(u);
  }
  if (selected) selected = byKey.get(selected.key) ?? null;
  layout();
}

// The canvases for the rooms, sized for the mode (wall displays draw racks larger).
function layout() {
  const cursors = new Map(plans.map((p) => [p.room, p.cursor]));
  const host = $("rooms");
  host.replaceChildren();
  plans.length = 0;
  let total = 0;
  for (const [room, rowMap] of [...rooms].sort(([a], [b]) => a.localeCompare(b))) {
    const rows = [...rowMap].sort(([a], [b]) => a.localeCompare(b)).map(([, racks]) =>
      racks.sort((a, b) => a.id.localeCompare(b.id)));
    const racks = rows.reduce((n, r) => n + r.length, 0);
    total += racks;
    const cell = racks > 200 ? (wall ? 14 : 10) : (wall ? 44 : 28);  // large rooms small: a campus fits a screen
    const plan: Plan = { canvas: document.createElement("canvas"), room, rows, units: roomUnits.get(room) ?? [],
      cell, cursor: cursors.get(room) ?? [0, 0] };
    const widest = Math.max(...rows.map((r) => r.length));
    const { canvas } = plan;
    canvas.tabIndex = 0;
    canvas.dataset.room = room;
    canvas.dataset.racks = String(racks);
    canvas.dataset.units = String(plan.units.length);
    canvas.width = widest * (cell + kGapX) + 2;
    canvas.height = unitTop(plan) + (plan.units.length ? unitHeight(plan) + 4 : 0);
    canvas.addEventListener("mousemove", (e) => hover(plan, e));
    canvas.addEventListener("mouseleave", () => ($("tooltip").hidden = true));
    canvas.addEventListener("click", (e) => { const r = hit(plan, e); if (r && "sensors" in r) select(r); });
    canvas.addEventListener("keydown", (e) => key(plan, e));
    canvas.addEventListener("focus", () => { showTip(plan, rackAt(plan)); draw(); });
    canvas.addEventListener("blur", () => { $("tooltip").hidden = true; draw(); });
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    cap.textContent = `${room}: ${rows.length} rows, ${racks} racks, ${plan.units.length} CRAH units`;
    fig.append(cap, canvas);
    fig.hidden = roomFilter !== "" && room !== roomFilter;
    host.append(fig);
    plans.push(plan);
  }
  host.dataset.racks = String(total);
  const filter = $("room-filter") as HTMLSelectElement;
  const names = plans.map((p) => p.room);
  if (filter.options.length !== names.length + 1) {
    filter.replaceChildren(new Option("all rooms", ""), ...names.map((n) => new Option(n, n)));
    filter.value = roomFilter;
  }
  $("plan-note").textContent = total ? "(arrow keys move, Enter charts a rack)" : "(waiting for devices)";
  draw();
}

function unitTop(p: Plan): number {
  return p.rows.length * (p.cell + kGapY) + 2;
}
function unitHeight(p: Plan): number {
  return Math.max(p.cell, 12);
}
// Units spread evenly under the room's width, each a box twice a rack wide.
function unitBox(p: Plan, i: number): [number, number, number, number] {
  const w = Math.min(2 * p.cell, (p.canvas.width - 2) / p.units.length - 2);
  const center = 1 + ((i + 0.5) * (p.canvas.width - 2)) / p.units.length;
  return [center - w / 2, unitTop(p), w, unitHeight(p)];
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
  if (v === undefined || !envelope) return "none";
  if (v < envelope.allowable_low || v > envelope.allowable_high) return "hot";
  if (v < envelope.recommended_low) return "cold";
  return v > envelope.recommended_high ? "warm" : "ok";
}

function running(u: Unit): boolean {
  return (u.fan_speed_percent ?? 0) >= 1;
}

let drawQueued = false;
function redraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => { drawQueued = false; draw(); });
}

export function draw() {
  const colors: Record<string, string> = {
    none: css("--none"), cold: css("--cold"), ok: css("--ok"), warm: css("--warm"), hot: css("--hot"),
    zone: css("--zone"),
  };
  const fg = css("--fg");
  const marked = new Map<string, Mark>();  // rack key -> its mark, zone incidents first
  for (const m of marks) for (const r of m.racks) if (!marked.get(r)?.zone) marked.set(r, m);
  const zoneUnits = new Set(marks.filter((m) => m.zone && m.unit).map((m) => m.unit!));
  for (const p of plans) {
    const g = p.canvas.getContext("2d")!;
    g.clearRect(0, 0, p.canvas.width, p.canvas.height);
    const counts: Record<string, number> = { none: 0, cold: 0, ok: 0, warm: 0, hot: 0 };
    const zone: Record<string, number> = { none: 0, cold: 0, ok: 0, warm: 0, hot: 0 };
    const zoneRacks: string[] = [];
    const drawnZones = new Set<string>();
    const step = p.cell + kGapX;
    p.rows.forEach((row, y) => {
      const top = 1 + y * (p.cell + kGapY);
      row.forEach((r, x) => {
        const b = band(rackInlet(r));
        counts[b]++;
        g.fillStyle = colors[b];
        g.fillRect(1 + x * step, top, p.cell, p.cell);
        const focused = document.activeElement === p.canvas && p.cursor[0] === y && p.cursor[1] === x;
        if (r === selected || focused) {
          g.strokeStyle = fg;
          g.lineWidth = 2;
          g.strokeRect(1 + x * step, top, p.cell, p.cell);
        }
        const m = marked.get(r.key);
        if (m?.zone) { zone[b]++; zoneRacks.push(r.id); }
      });
      // Every unit's zone, a thin line around each run of its racks in the row, outside the cells so
      // that it hides no colour; then marks as boxes around each run of marked racks: an
      // incident's zone reads as one shape, not as scattered cells.
      g.strokeStyle = colors.zone;
      g.lineWidth = 1;
      runs(row, (r) => zoneOf.get(r.key), (x, end, unit) => {
        drawnZones.add(unit);
        g.strokeRect(x * step - 0.5, top - 3.5, (end - x + 1) * step, p.cell + 7);  // in the gaps
      });
      runs(row, (r) => marked.get(r.key), (x, end, m) => {
        g.strokeStyle = m.zone ? colors.hot : fg;
        g.lineWidth = m.zone ? 3 : 1.5;
        g.setLineDash(m.zone ? [] : [3, 2]);
        g.strokeRect(x * step, top - 2, (end - x + 1) * step + 1, p.cell + 4);
        g.setLineDash([]);
      });
    });
    let stopped = 0;
    p.units.forEach((u, i) => {
      const [x, y, w, h] = unitBox(p, i);
      g.fillStyle = running(u) ? colors.ok : colors.hot;
      if (!running(u)) stopped++;
      g.fillRect(x, y, w, h);
      if (zoneUnits.has(u.unit)) {
        g.strokeStyle = colors.hot;
        g.lineWidth = 3;
        g.strokeRect(x - 2, y - 2, w + 4, h + 4);
      }
      g.fillStyle = "#fff";
      g.font = `${Math.max(8, Math.min(11, h - 2))}px system-ui, sans-serif`;
      g.textAlign = "center";
      g.textBaseline = "middle";
      if (w > 14) g.fillText(u.unit.replace(/.*-/, ""), x + w / 2, y + h / 2);
    });
    p.canvas.dataset.incidentRacks = zoneRacks.join(",");
    p.canvas.dataset.zones = [...drawnZones].sort().join(",");
    p.canvas.dataset.stoppedUnits = String(stopped);
    const incident = zoneRacks.length
      ? `; incident zone: ${zoneRacks.length} racks, ${zone.hot} outside allowable, ${zone.warm} allowable only, ` +
        `${zone.ok} recommended`
      : "";
    p.canvas.setAttribute("aria-label", `${p.room}: ${p.canvas.dataset.racks} racks; ` +
      `${counts.ok} recommended, ${counts.warm} allowable only, ${counts.hot} outside allowable, ` +
      `${counts.cold} below recommended, ${counts.none} without a reading; ` +
      `${p.units.length} CRAH units, ${stopped} stopped, ${drawnZones.size} zones outlined${incident}`);
  }
}

// Calls `f` for each run of neighbouring racks in a row that `key` gives the same defined value.
function runs<K>(row: Rack[], key: (r: Rack) => K | undefined, f: (x: number, end: number, k: K) => void) {
  for (let x = 0; x < row.length;) {
    const k = key(row[x]);
    if (k === undefined) { x++; continue; }
    let end = x;
    while (end + 1 < row.length && key(row[end + 1]) === k) end++;
    f(x, end, k);
    x = end + 1;
  }
}

function rackAt(p: Plan): Rack | undefined {
  return p.rows[p.cursor[0]]?.[p.cursor[1]];
}

function hit(p: Plan, e: MouseEvent): Rack | Unit | undefined {
  const b = p.canvas.getBoundingClientRect();
  const mx = e.clientX - b.left;
  const my = e.clientY - b.top;
  if (my >= unitTop(p)) {
    return p.units.find((_, i) => { const [x, , w] = unitBox(p, i); return mx >= x && mx <= x + w; });
  }
  const x = Math.floor((mx - 1) / (p.cell + kGapX));
  const y = Math.floor((my - 1) / (p.cell + kGapY));
  return p.rows[y]?.[x];
}

function hover(p: Plan, e: MouseEvent) {
  const r = hit(p, e);
  if (r) showTip(p, r); else $("tooltip").hidden = true;
}

function showTip(p: Plan, r: Rack | Unit | undefined) {
  if (!r) return;
  const tip = $("tooltip");
  const b = p.canvas.getBoundingClientRect();
  if (!("sensors" in r)) {
    const f = (v: number | null, unit: string) => (v === null ? "–" : `${v.toFixed(1)} ${unit}`);
    tip.textContent = `CRAH ${r.unit} ${running(r) ? "running" : "stopped"}\nfan ${f(r.fan_speed_percent, "%")}` +
      `\nsupply ${f(r.supply_air_temp_celsius, "°C")}\nreturn ${f(r.return_air_temp_celsius, "°C")}` +
      `\npower ${(r.power_consumption_watts / 1000).toFixed(2)} kW`;
    const [x, y, , h] = unitBox(p, p.units.indexOf(r));
    tip.style.left = `${window.scrollX + b.left + x}px`;
    tip.style.top = `${window.scrollY + b.top + y + h + 4}px`;
    tip.hidden = false;
    return;
  }
  const v = (pos: string, digits: number, unit: string, scale = 1) => {
    const id = r.sensors.get(pos);
    const x = id === undefined ? undefined : values.get(id);
    return x === undefined ? "–" : `${(x * scale).toFixed(digits)} ${unit}`;
  };
  const alerts = marks.filter((m) => m.racks.includes(r.key)).map((m) => `\n${m.label}`).join("");
  tip.textContent = `${r.room} row ${r.row} rack ${r.id}\ninlet bottom ${v("inlet_bottom", 1, "°C")}` +
    `\ninlet middle ${v("inlet_middle", 1, "°C")}\ninlet top ${v("inlet_top", 1, "°C")}` +
    `\nexhaust ${v("exhaust", 1, "°C")}\npower ${v("power", 2, "kW", 0.001)}\nhumidity ${v("humidity", 0, "%")}` +
    (zoneOf.has(r.key) ? `\nzone of ${zoneOf.get(r.key)}` : "") + alerts;
  const y = p.rows.findIndex((row) => row.includes(r));
  const x = p.rows[y].indexOf(r);
  tip.style.left = `${window.scrollX + b.left + x * (p.cell + kGapX)}px`;
  tip.style.top = `${window.scrollY + b.top + (y + 1) * (p.cell + kGapY)}px`;
  tip.hidden = false;
}

function key(p: Plan, e: KeyboardEvent) {
  const [y, x] = p.cursor;
  if (e.key === "Enter" || e.key === " ") {
    const r = rackAt(p);
    if (r) select(r);
    e.preventDefault();
    return;
  }
  const moves: Record<string, [number, number]> = {
    ArrowUp: [y - 1, x], ArrowDown: [y + 1, x], ArrowLeft: [y, x - 1], ArrowRight: [y, x + 1],
  };
  const m = moves[e.key];
  if (!m) return;
  e.preventDefault();
  const ny = Math.min(Math.max(m[0], 0), p.rows.length - 1);
  const nx = Math.min(Math.max(m[1], 0), p.rows[ny].length - 1);
  p.cursor = [ny, nx];
  showTip(p, rackAt(p));
  draw();
}

function select(r: Rack) {
  selected = r;
  draw();
  onSelect(r);
}
