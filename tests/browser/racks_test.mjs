// A site that names its racks alike in every room ("a01" in room-1 and in room-2), on the dashboard of
// a running `dcmon run` (URL): the page's /api/v1/latest, /api/v1/zones and /api/v1/alerts are the
// server's, with each rack's room prefix taken off its name, and the alerts carry one firing zone
// incident of a room-1 unit (made here, from the zones: a real one takes a CRAH trip and minutes,
// incident_test.mjs). Checks that each room draws its own racks, outlines only its own units' zones,
// boxes the incident in its room only, and that a rack's tooltip names its own room's unit.
import { check, failed, openDashboard, until } from "./harness.mjs";

const { URL: url } = process.env;
const unprefixed = (room, rack) => (rack.startsWith(`${room}-`) ? rack.slice(room.length + 1) : rack);

// The zones as the server has them, renamed the same way; the incident: the zone of room-1's first rack.
const served = await (await fetch(`${url}/api/v1/zones`)).json();
const byRoom = (room) => served.zones.filter((z) => z.room === room)
  .map((z) => ({ ...z, racks: z.racks.map((r) => unprefixed(room, r)) }));
const [first, second] = ["room-1", "room-2"].map(byRoom);
const shared = first.flatMap((z) => z.racks).filter((r) => second.some((z) => z.racks.includes(r)));
check("both rooms name racks alike once renamed", shared.length > 0, shared.slice(0, 3).join(","));
const firstRack = first.flatMap((z) => z.racks).sort()[0];
const unitOf = (room, rack) => byRoom(room).find((z) => z.racks.includes(rack))?.unit;
const zone = first.find((z) => z.racks.includes(firstRack));
const incident = {
  id: "racks-test-incident", rule: "CrahUnitDown", device: zone.unit, state: "firing", severity: "critical",
  category: "cooling", pending_since: "2024-01-01T00:00:00Z", starts_at: "2024-01-01T00:00:00Z", ends_at: null,
  value: 0, inhibited_by: null, affected_racks: zone.racks, room: "room-1", zone_unit: zone.unit, annotations: {},
  silenced_by: null, acknowledged_by: null,
};

// Each room's racks as the server places them: what its canvas must count.
const racks = new Map();
for (const d of (await (await fetch(`${url}/api/v1/latest`)).json()).data) {
  if (d.rack) racks.set(d.room, (racks.get(d.room) ?? new Set()).add(d.rack));
}
const want = JSON.stringify([...racks].map(([room, s]) => [room, s.size]).sort());

async function rename(route, edit) {
  const response = await route.fetch();
  const body = await response.json();
  edit(body);
  await route.fulfill({ response, json: body });
}
async function setup(page) {
  await page.route((u) => u.pathname === "/api/v1/latest", (route) => rename(route, (b) => {
    for (const d of b.data) if (d.rack) d.rack = unprefixed(d.room, d.rack);
  }));
  await page.route((u) => u.pathname === "/api/v1/zones", (route) => rename(route, (b) => {
    for (const z of b.zones) z.racks = z.racks.map((r) => unprefixed(z.room, r));
  }));
  await page.route((u) => u.pathname === "/api/v1/alerts", (route) => rename(route, (b) => {
    for (const a of b.data) a.affected_racks = a.affected_racks.map((r) => unprefixed(a.room ?? "", r));
    b.data.push(incident);
  }));
}

const { browser, page, errors } = await openDashboard(url, "/", setup);
try {
  // A room's canvas attribute, null while it has no canvas (without waiting for one).
  const attr = (room, name) =>
    page.$eval(`#rooms canvas[data-room="${room}"]`, (c, n) => c.getAttribute(n), name).catch(() => null);
  const drawn = async () => JSON.stringify(
    (await page.$$eval("#rooms canvas", (cs) => cs.map((c) => [c.dataset.room, Number(c.dataset.racks)]))).sort());
  const rooms = await until(async () => (await drawn()) === want, 30);
  check("each room draws its own racks", rooms === true, `${await drawn()} vs ${want}`);

  for (const [room, own] of [["room-1", first], ["room-2", second]]) {
    const units = own.map((z) => z.unit).sort().join(",");
    const outlined = await until(async () => (await attr(room, "data-zones")) === units, 15);
    check(`${room} outlines its own units' zones`, outlined === true, `${await attr(room, "data-zones")} vs ${units}`);
  }

  const boxed = await until(async () => {
    const ids = (await attr("room-1", "data-incident-racks")) ?? "";
    return ids.split(",").sort().join() === [...zone.racks].sort().join() && ids;
  }, 15);
  check("room-1 boxes the racks of its unit's incident", Boolean(boxed), `${zone.unit}: ${zone.racks}`);
  const elsewhere = await attr("room-2", "data-incident-racks");
  check("room-2 boxes none of the same-named racks", elsewhere === "", String(elsewhere));

  // The tooltip of each room's first rack (the keyboard cursor starts there).
  for (const room of ["room-1", "room-2"]) {
    const focused = await page.$eval(`#rooms canvas[data-room="${room}"]`, (c) => c.focus())
      .then(() => true, () => false);
    const tip = focused ? (await page.textContent("#tooltip")) ?? "" : "(no canvas)";
    const unit = unitOf(room, firstRack);
    const labelled = tip.includes(`rack ${firstRack}`) && tip.includes(`zone of ${unit}`) &&
      tip.includes("firing CrahUnitDown") === (room === "room-1");
    check(`${room}'s ${firstRack} tooltip names its own zone (${unit}) and alerts`, labelled,
      tip.replace(/\n/g, " | "));
  }
  check("no console errors", errors.length === 0, errors.join(" | "));
} finally {
  await browser.close();
}
process.exit(failed);
