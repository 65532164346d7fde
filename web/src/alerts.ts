// The alerts and incidents panel: the active alerts of /api/v1/alerts kept current by the stream's
// `alert` events, each with its lifecycle (pending since, firing since, inhibited, silenced,
// acknowledged); their racks outlined on the floor plan, a firing zone incident's racks boxed; and
// acknowledge / silence for a token (the server decides the scope). A server without the endpoint
// shows "not available".
import { $, endpoints, get, post, token, type Alert } from "./api";
import { rackKey, rackOf, setMarks, type Mark } from "./plan";

const alerts = new Map<string, Alert>();
let available = false;

export async function setupAlerts() {
  available = (await endpoints()).has("/api/v1/alerts");
  const list = $("alerts");
  list.dataset.state = available ? "loading" : "unavailable";
  if (!available) {
    $("alerts-note").textContent = "not available: this server has no /api/v1/alerts";
    $("kpi-alerts").textContent = "n/a";
    return;
  }
  await refresh();
  setInterval(() => void refresh(), 15_000);  // the stream carries changes; this catches any missed
}

async function refresh() {
  try {
    const { data } = await get<{ data: Alert[] }>("/api/v1/alerts");
    alerts.clear();
    for (const a of data) alerts.set(a.id, a);
    render();
  } catch (e) {
    console.warn(e);
  }
}

// An `alert` event: the alert's new state.
export function onAlert(a: Alert) {
  if (!available) return;
  if (a.state === "resolved") alerts.delete(a.id); else alerts.set(a.id, a);
  render();
}

let now = "";  // the newest record's time: alerts are evaluated in event time
export function setNow(eventTime: string | null | undefined) {
  if (eventTime) now = eventTime;
}

function since(t: string | null): string {
  if (!t) return "";
  const s = Math.max(0, Math.round(((now ? Date.parse(now) : Date.now()) - Date.parse(t)) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

// The keys (rackKey) of the racks an alert outlines: a zone incident's, in its room; else its device's.
function racksOf(a: Alert): string[] {
  if (a.affected_racks.length) return a.affected_racks.map((r) => rackKey(a.room ?? "", r));
  const rack = rackOf.get(a.device);
  return rack ? [rack] : [];
}

function render() {
  const rank = (a: Alert) => (a.state === "firing" ? 0 : 1) + (a.inhibited_by ? 2 : 0);
  const sorted = [...alerts.values()].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
  const list = $("alerts");
  list.dataset.state = "ready";
  list.replaceChildren(...sorted.map(item));
  const firing = sorted.filter((a) => a.state === "firing").length;
  $("kpi-alerts").textContent = String(firing);
  $("alerts-note").textContent = sorted.length
    ? `${firing} firing, ${sorted.length - firing} pending`
    : "no active alerts";
  const marks: Mark[] = sorted.map((a) => ({
    racks: racksOf(a), unit: a.zone_unit, zone: a.state === "firing" && a.zone_unit !== null && a.affected_racks.length > 0,
    label: `${a.state} ${a.rule} (${a.severity})`,
  }));
  setMarks(marks.filter((m) => m.racks.length));
}

function item(a: Alert): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.alertId = a.id;
  li.dataset.state = a.state;
  li.dataset.rule = a.rule;
  if (a.zone_unit) li.dataset.zoneUnit = a.zone_unit;
  li.className = `alert ${a.state} ${a.severity}`;
  const head = document.createElement("div");
  head.className = "alert-head";
  head.textContent = `${a.severity} · ${a.rule} · ${a.device}${a.room ? ` (${a.room})` : ""}`;
  const life = document.createElement("div");
  life.className = "muted";
  const parts = [a.state === "firing" ? `firing for ${since(a.starts_at)}` : `pending for ${since(a.pending_since)}`,
    `value ${a.value}`];
  if (a.zone_unit && a.affected_racks.length) parts.push(`zone of ${a.zone_unit}: ${a.affected_racks.length} racks`);
  else if (a.affected_racks.length) parts.push(`racks ${a.affected_racks.join(", ")}`);
  else if (a.zone_unit) parts.push(`in the zone of ${a.zone_unit}`);
  if (a.inhibited_by) parts.push(`inhibited by ${a.inhibited_by}`);
  if (a.silenced_by) parts.push(`silenced (${a.silenced_by})`);
  if (a.acknowledged_by) parts.push(`acknowledged by ${a.acknowledged_by}`);
  life.textContent = parts.join(" · ");
  li.append(head, life);
  if (a.annotations?.summary) {
    const s = document.createElement("div");
    s.textContent = a.annotations.summary;
    li.append(s);
  }
  // Changing alerts needs the `alerts` scope: only a token can carry it (reads on loopback need none).
  if (token) li.append(actions(a));
  return li;
}

function actions(a: Alert): HTMLElement {
  const box = document.createElement("div");
  box.className = "alert-actions";
  const result = document.createElement("span");
  result.className = "muted";
  result.setAttribute("role", "status");
  const button = (label: string, run: () => Promise<{ ok: boolean; message: string }>) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", async () => {
      b.disabled = true;
      const r = await run().catch((e) => ({ ok: false, message: String(e) }));
      result.textContent = r.ok ? `${label}: done` : `${label}: ${r.message}`;
      b.disabled = false;
      if (r.ok) void refresh();
    });
    return b;
  };
  const now = new Date();
  box.append(
    button("Acknowledge", () => post(`/api/v1/alerts/${encodeURIComponent(a.id)}/ack`, {})),
    button("Silence 1 h", () => post("/api/v1/silences", {
      matchers: [{ name: "alertname", value: a.rule, is_regex: false }, { name: "device", value: a.device, is_regex: false }],
      starts_at: now.toISOString(), ends_at: new Date(now.getTime() + 3600_000).toISOString(),
      comment: "silenced from the dashboard", created_by: "dashboard",
    })),
    result);
  return box;
}
