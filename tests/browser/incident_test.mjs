// A CRAH failure on the dashboard: `dcmon run` with a crah-trip of UNIT injected (tests/CMakeLists.txt
// passes the scenario in RUN_ARGS). Checks that the unit's zone incident appears firing in the alerts
// panel, that the floor plan boxes exactly the racks the server's alert names, draws the unit stopped,
// and that the zone turns hot (its inlets leave the recommended range), with no console errors.
// Needs GET /api/v1/alerts and the stream's `alert` events (task alerts); saves SCREENSHOT.
import { check, endpoints, failed, openDashboard, until } from "./harness.mjs";

const { URL: url, SCREENSHOT } = process.env;
const unit = process.env.UNIT ?? "room-1-crah-2";
const room = unit.replace(/-crah-.*/, "");

check("the server has /api/v1/alerts", (await endpoints(url)).has("/api/v1/alerts"));
const { browser, page, errors } = await openDashboard(url);
try {
  const item = `#alerts li[data-zone-unit="${unit}"][data-state="firing"]`;
  const shown = await until(async () => (await page.locator(item).count()) > 0, 180);
  check(`the incident of ${unit} shows firing in the alerts panel`, shown === true,
    shown ? await page.textContent(item) : await page.textContent("#alerts-note"));

  const alert = await until(async () => {
    const { data } = await (await fetch(`${url}/api/v1/alerts?state=firing`)).json();
    return data.find((a) => a.zone_unit === unit && a.affected_racks.length > 0);
  }, 10);
  const canvas = `#rooms canvas[data-room="${room}"]`;
  const boxed = await until(async () => {
    const racks = (await page.getAttribute(canvas, "data-incident-racks")) ?? "";
    return racks && racks.split(",").sort().join() === [...(alert?.affected_racks ?? [])].sort().join() && racks;
  }, 10);
  check("the plan boxes the racks of the incident's zone", Boolean(boxed),
    `${boxed || await page.getAttribute(canvas, "data-incident-racks")} vs ${alert?.affected_racks}`);

  const stopped = await until(async () => Number(await page.getAttribute(canvas, "data-stopped-units")) >= 1, 30);
  check(`the plan draws ${unit} stopped`, stopped === true);

  // "incident zone: N racks, H outside allowable, W allowable only, R recommended" (the canvas label).
  const hot = await until(async () => {
    const m = /incident zone: (\d+) racks, (\d+) outside allowable, (\d+) allowable only/.exec(
      (await page.getAttribute(canvas, "aria-label")) ?? "");
    return m && Number(m[2]) + Number(m[3]) > 0 && m[0];
  }, 180);
  check("the zone turns hot", Boolean(hot), hot || await page.getAttribute(canvas, "aria-label"));
  await page.screenshot({ path: SCREENSHOT });
  check("no console errors", errors.length === 0, errors.join(" | "));
} finally {
  await browser.close();
}
process.exit(failed);
