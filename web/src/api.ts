// The dashboard's side of the dcmon API: the token from ?access_token=, JSON GETs and POSTs, which
// endpoints this server has (from /openapi.json, so a panel whose endpoint is missing says so
// instead of asking: a 404 would be a console error), and the shapes the page reads.

export type Envelope = { recommended_low: number; recommended_high: number; allowable_low: number; allowable_high: number };
export type Summary = {
  updated_at?: string;
  latest_event_time?: string | null;
  power?: { facility_kw: number | null; it_kw: number | null; cooling_kw: number | null; cooling_share: number | null };
  pue?: { now: number | null; hour: number | null; day: number | null };
  inlets?: {
    ashrae_class: string; sensors: number; in_recommended: number; allowable_only: number; outside_allowable: number;
    envelope?: Envelope;
  };
  hottest_inlets?: { device_id: string; room: string; rack: string; value: number }[];
  stale?: { count: number };
  devices?: number;
};
export type LatestSensor = {
  device_id: string; measurement_type: string; room: string; row?: string; rack?: string; position?: string;
  value: number; time: string;
};
export type Unit = {
  unit: string; room: string; power_consumption_watts: number; efficiency_percent: number;
  fan_speed_percent: number | null; supply_air_temp_celsius: number | null; return_air_temp_celsius: number | null;
  time: string;
};
export type Latest = { updated_at: string; data: LatestSensor[]; units: Unit[] };
// /api/v1/zones: which CRAH unit cools which racks.
export type Zone = { unit: string; room: string; racks: string[] };
// docs/alerting.md (task alerts), as the contract between the tasks gives it.
export type Alert = {
  id: string; rule: string; device: string; state: "pending" | "firing" | "resolved"; severity: string;
  category: string; pending_since: string; starts_at: string | null; ends_at: string | null; value: number;
  inhibited_by: string | null; affected_racks: string[]; room: string | null; zone_unit: string | null;
  annotations?: Record<string, string>; silenced_by: string | null; acknowledged_by: string | null;
};
export type Anomaly = {
  anomaly_seq: number; device_id: string; event_time: string; value: number; score: number; detector: string;
  kind: string; explanation: string;
};
export type Point = { time: string; min: number; max: number; avg: number };

const params = new URLSearchParams(location.search);
export const token = params.get("access_token") ?? "";
export const wallParam = params.get("wall") === "1";

function headers(): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export async function get<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: headers() });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

// A POST's outcome as the panel shows it: the problem's detail when it failed.
export async function post(path: string, body: unknown): Promise<{ ok: boolean; message: string }> {
  const r = await fetch(path, {
    method: "POST", headers: { ...headers(), "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (r.ok) return { ok: true, message: "done" };
  const problem = await r.json().catch(() => ({})) as { detail?: string; title?: string };
  return { ok: false, message: problem.detail ?? problem.title ?? `HTTP ${r.status}` };
}

let paths: Promise<Set<string>> | null = null;
// The paths this server serves, from its OpenAPI document (open to everyone).
export function endpoints(): Promise<Set<string>> {
  paths ??= get<{ paths?: Record<string, unknown> }>("/openapi.json")
    .then((d) => new Set(Object.keys(d.paths ?? {})))
    .catch(() => new Set<string>());
  return paths;
}

export function streamUrl(): string {
  return `/api/v1/stream${token ? `?access_token=${encodeURIComponent(token)}` : ""}`;
}

// Shared by the tiles and the browser test (tests/browser/dashboard_test.mjs formats the same way).
export function fmt(v: number | null | undefined, digits: number, scale = 1): string {
  return v === null || v === undefined ? "–" : (v * scale).toFixed(digits);
}

export const $ = (id: string) => document.getElementById(id)!;

export function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
