// Opens the HTML of `dcmon report` (REPORT) from disk in headless chromium and checks what an auditor gets
// offline: no console errors, no request beyond the file itself, the PUE and compliance charts drawn as SVG,
// one compliance row per rack (RACKS), and the incidents section read from the store's alert history.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const { REPORT, RACKS, WEB_DIR } = process.env;
const { chromium } = createRequire(`${WEB_DIR}/package.json`)("playwright-core");

let failed = 0;
function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ` (${detail})` : ""}`);
  if (!ok) failed = 1;
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
});
const errors = [];
const requests = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  const file = pathToFileURL(REPORT).href;
  page.on("request", (r) => r.url() !== file && requests.push(r.url()));
  await page.goto(file, { waitUntil: "load" });
  const seen = await page.evaluate(() => ({
    charts: document.querySelectorAll("svg.chart").length,
    pue: document.querySelectorAll('svg[aria-label="PUE per hour"] circle').length,
    bars: document.querySelectorAll("svg.chart rect.rec").length,
    rackRows: [...document.querySelectorAll("table")].find((t) =>
      t.querySelector("th")?.textContent === "rack")?.querySelectorAll("tr").length - 1,
    incidents: [...document.querySelectorAll("h2")].find((h) => h.textContent === "Incidents")
      ?.nextElementSibling?.textContent ?? "",
    scripts: document.querySelectorAll("script").length,
  }));
  check("the PUE trend and the compliance chart are inline SVG", seen.charts === 2 && seen.pue >= 1,
    `${seen.charts} charts, ${seen.pue} PUE points`);
  check("every rack has a compliance bar and a table row",
    seen.bars === Number(RACKS) && seen.rackRows === Number(RACKS), `${seen.bars} bars, ${seen.rackRows} rows`);
  // The store has an alert history (serve evaluated the default rules): the period's incidents, or none.
  check("the incidents section reads the store's alert history",
    seen.incidents === "No incident in the period." || seen.incidents.startsWith("rule"), seen.incidents.slice(0, 80));
  check("the file needs nothing else: no scripts, no requests", seen.scripts === 0 && requests.length === 0,
    requests.join(" "));
} finally {
  await browser.close();
}
check("no console errors", errors.length === 0, errors.join("; "));
process.exit(failed);
