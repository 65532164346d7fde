// Drives the dashboard of a running `dcmon run` (URL) in headless chromium and checks what an operator
// sees: the tiles equal /api/v1/summary, the floor plan has every rack (RACKS) coloured and every CRAH
// unit (UNITS) with its zone outlined, the charts have data (the room's inlets too), a week reads
// hourly buckets, drill-down, zoom and the wall display work, the panels whose
// endpoint this server lacks say "not available", the stream's "stale" state shows when the server
// stops (SIGSTOP DCMON_PID) and clears when it resumes, and no console errors. Prints the timings
// docs/benchmarks.md records; saves SCREENSHOT.
import { check, endpoints, failed, openDashboard, until } from "./harness.mjs";

const { URL: url, RACKS, UNITS, DCMON_PID, SCREENSHOT } = process.env;

// Every summary the server publishes, by updated_at, to compare with what the page shows.
const summaries = new Map();
let polling = true;
const poller = (async () => {
  while (polling) {
    try {
      const s = await (await fetch(`${url}/api/v1/summary`)).json();
      if (s.updated_at) summaries.set(s.updated_at, s);
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
})();

const { browser, page, errors } = await openDashboard(url);
try {
  const firstRender = await until(() => page.evaluate(() =>
    performance.getEntriesByName("dcmon-first-render")[0]?.startTime), 30);
  check("the page renders tiles and a coloured floor plan", firstRender !== undefined,
    `first render ${firstRender?.toFixed(0)} ms after navigation`);

  const drawn = await until(async () => {
    const n = await page.getAttribute("#rooms", "data-racks");
    return Number(n) === Number(RACKS) && n;
  }, 30);
  check("the floor plan shows every rack of the preset", Number(drawn) === Number(RACKS),
    `${drawn} of ${RACKS}`);
  const unread = await until(() => page.evaluate(() =>
    [...document.querySelectorAll("#rooms canvas")].every((c) =>
      c.getAttribute("aria-label").includes(" 0 without a reading"))), 30);
  check("every rack is coloured by its inlet", unread === true);

  const fmt = (v, digits, scale = 1) => (v === null || v === undefined ? "–" : (v * scale).toFixed(digits));
  const same = await until(async () => {
    const shown = await page.evaluate(() => ({
      at: document.querySelector(".tiles").dataset.updatedAt,
      tiles: Object.fromEntries([...document.querySelectorAll(".tiles output")].map((o) => [o.id, o.textContent])),
    }));
    const s = summaries.get(shown.at);
    if (!s || s.pue?.now == null) return null;
    const want = {
      "kpi-pue-now": fmt(s.pue.now, 3), "kpi-pue-day": fmt(s.pue.day, 3), "kpi-it": fmt(s.power.it_kw, 1),
      "kpi-cooling": fmt(s.power.cooling_kw, 1), "kpi-share": fmt(s.power.cooling_share, 1, 100),
      "kpi-stale": String(s.stale.count), "kpi-inlets": `${s.inlets.in_recommended} / ${s.inlets.sensors}`,
    };
    return { shown: shown.tiles, want };
  }, 20);
  const wrong = same ? Object.keys(same.want).filter((k) => same.shown[k] !== same.want[k]) : ["all"];
  check("the tiles equal /api/v1/summary", wrong.length === 0,
    same ? `${JSON.stringify(same.shown)}${wrong.length ? `; want ${JSON.stringify(same.want)}` : ""}`
      : "no summary with a PUE matched the page's");

  const points = await until(async () => Number(await page.getAttribute("#chart", "data-points")), 30);
  check("the rack chart has data", points > 0, `${points} points of ${await page.getAttribute("#chart", "data-device")}`);
  for (const id of ["chart-room", "chart-pue", "chart-power", "chart-outdoor"]) {
    const n = await until(async () => Number(await page.getAttribute(`#${id}`, "data-points")), 30);
    check(`the ${id.slice(6)} chart has data`, n > 0, `${n} points`);
  }

  const units = await page.evaluate(() => [...document.querySelectorAll("#rooms canvas")].reduce(
    (n, c) => [n[0] + Number(c.dataset.units), n[1] + Number(c.dataset.stoppedUnits)], [0, 0]));
  check("the plan draws every CRAH unit, all running", units[0] === Number(UNITS) && units[1] === 0,
    `${units[0]} of ${UNITS}, ${units[1]} stopped`);
  // Every unit's zone, as the server's topology gives it, outlined in its room.
  const zones = (await (await fetch(`${url}/api/v1/zones`)).json()).zones;
  const outlined = await until(() => page.evaluate(() => {
    const drawn = [...document.querySelectorAll("#rooms canvas")].flatMap((c) =>
      (c.dataset.zones ? c.dataset.zones.split(",") : []).map((u) => `${c.dataset.room}/${u}`));
    return drawn.length ? drawn.sort() : null;
  }), 10) ?? [];
  const want = zones.filter((z) => z.racks.length).map((z) => `${z.room}/${z.unit}`).sort();
  check("the plan outlines the zone of every CRAH unit", outlined.length === Number(UNITS) &&
    JSON.stringify(outlined) === JSON.stringify(want), `${outlined.length} of ${UNITS} (${want.length} served)`);
  const room = await page.getAttribute("#chart-room", "data-room");
  const rooms = await page.evaluate(() => [...document.querySelectorAll("#rooms canvas")].map((c) => c.dataset.room));
  check("the room chart is of a room of the plan", rooms.includes(room),
    `${room}: ${await page.getAttribute("#chart-room", "data-points")} points`);

  // Panels whose endpoint another task adds: an honest "not available" until this server has it.
  const paths = await endpoints(url);
  const alertsState = await until(async () => {
    const v = await page.getAttribute("#alerts", "data-state");
    return v !== "loading" && v;
  }, 10);
  if (paths.has("/api/v1/alerts")) {
    check("the alerts panel lists the server's alerts", alertsState === "ready", alertsState);
  } else {
    check("without /api/v1/alerts the panel says not available", alertsState === "unavailable" &&
      (await page.textContent("#alerts-note")).startsWith("not available"), alertsState);
  }
  const cost = await until(async () => { const t = await page.textContent("#kpi-cost"); return t !== "–" && t; }, 10);
  check(paths.has("/api/v1/kpis") ? "the cost tile shows a number" : "without /api/v1/kpis the cost tile says n/a",
    paths.has("/api/v1/kpis") ? /^\d/.test(cost) : cost === "n/a", cost);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  const hour = await page.textContent("#chart-note");

  // Rendering again with the server warm: the time an operator waits for the page.
  await page.reload();
  const warm = await until(() => page.evaluate(() =>
    performance.getEntriesByName("dcmon-first-render")[0]?.startTime), 30);
  check("a reload renders again", warm !== undefined, `first render ${warm?.toFixed(0)} ms after navigation`);
  await until(async () => Number(await page.getAttribute("#chart", "data-points")), 30);

  const before = await page.textContent("#chart-note");
  const warmHour = before;
  await page.getByRole("button", { name: "7 d" }).click();
  const week = await until(async () => {
    const note = await page.textContent("#chart-note");
    return note !== before && note;
  }, 10);
  check("the 7 d range loads", Boolean(week), week ?? "");
  check("in hourly buckets", /step 3600 s/.test(week ?? ""));
  const roomWeek = await until(async () => {
    const n = Number(await page.getAttribute("#chart-room", "data-points"));
    return n > 0 && n <= 169 && n;
  }, 10);
  check("the room chart over 7 d has data, at most one point an hour", roomWeek > 0, `${roomWeek} points`);

  // The keyboard: focus a room, move to a rack, Enter charts that rack's top inlet.
  await page.locator("#rooms canvas").first().focus();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowRight");
  const tip = await page.textContent("#tooltip");
  const rack = /rack (\S+)/.exec(tip)?.[1];
  await page.keyboard.press("Enter");
  const picked = await until(async () =>
    (await page.getAttribute("#chart", "data-device")) === `${rack}-inlet-top`, 10);
  check("the keyboard picks a rack: its tooltip and its chart", picked === true, tip.split("\n")[0]);

  // Drill-down: another sensor of the rack.
  await page.selectOption("#chart-sensor", "exhaust");
  const exhaust = await until(async () =>
    (await page.getAttribute("#chart", "data-device")) === `${rack}-exhaust`, 10);
  check("the sensor picker charts the rack's exhaust", exhaust === true, await page.getAttribute("#chart", "data-device"));

  // Zoom: dragging across the middle of the hour's chart loads that window at a finer step.
  const stepOf = async () => Number(/step (\d+) s/.exec(await page.textContent("#chart-note"))?.[1]);
  await page.getByRole("button", { name: "1 h" }).click();
  const wide = await until(async () => { const s = await stepOf(); return s === 60 && s; }, 10);
  await page.locator("#chart .u-over").scrollIntoViewIfNeeded();
  const box = await page.locator("#chart .u-over").boundingBox();
  await page.mouse.move(box.x + box.width * 0.35, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.65, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  const zoomed = await until(async () => { const s = await stepOf(); return s < wide && s; }, 10);
  check("dragging across a chart zooms in", zoomed > 0 && await page.isVisible("#zoom-reset"),
    `step ${wide} s -> ${zoomed} s`);
  if (await page.isVisible("#zoom-reset")) await page.click("#zoom-reset");
  check("and Reset zoom goes back", (await until(async () => (await stepOf()) === wide, 10)) === true);

  // The wall display: tiles, alerts and the plan, larger; the charts out of the way.
  await page.click("#wall");
  const wall = await until(async () => !(await page.isVisible(".charts-panel")) &&
    Number(await page.getAttribute("#rooms", "data-racks")) === Number(RACKS), 5);
  check("the wall display hides the charts and keeps the plan", wall === true);
  await page.click("#wall");

  const state = () => page.getAttribute("#stream-state", "data-state");
  check("the stream is live", (await until(async () => (await state()) === "live", 10)) === true);
  process.kill(Number(DCMON_PID), "SIGSTOP");
  const stale = await until(async () => (await state()) !== "live", 15);
  const shownStale = await state();
  process.kill(Number(DCMON_PID), "SIGCONT");
  check("a stopped server shows as stale", stale === true, shownStale);
  check("and live again when it resumes", (await until(async () => (await state()) === "live", 20)) === true);

  check("no console errors", errors.length === 0, errors.join(" | "));
  const ms = (note) => /loaded in (\d+) ms/.exec(note ?? "")?.[1];
  // One line for bench/dashboard.sh.
  console.log(`dashboard: first_render_ms=${firstRender?.toFixed(0)} warm_render_ms=${warm?.toFixed(0)} ` +
    `hour_chart_ms=${ms(warmHour)} week_chart_ms=${ms(week)}`);
} finally {
  polling = false;
  await poller;
  await browser.close();
}
process.exit(failed);
