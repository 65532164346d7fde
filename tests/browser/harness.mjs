// What the browser tests share: checks that print ok/FAIL, polling with a deadline, and the
// dashboard opened in Debian's headless chromium through playwright-core (WEB_DIR/node_modules)
// with its console errors collected.
import { createRequire } from "node:module";

const { chromium } = createRequire(`${process.env.WEB_DIR}/package.json`)("playwright-core");

export let failed = 0;
export function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ` (${detail})` : ""}`);
  if (!ok) failed = 1;
}

// Polls fn until it returns a truthy value or the deadline passes; returns the last value.
export async function until(fn, seconds) {
  const end = Date.now() + seconds * 1000;
  let v;
  while (!(v = await fn()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  return v;
}

// The paths the server's OpenAPI document lists: which panels have their endpoint.
export async function endpoints(url) {
  return new Set(Object.keys((await (await fetch(`${url}/openapi.json`)).json()).paths));
}

// `setup(page)` runs before the page loads (to route requests, say).
export async function openDashboard(url, path = "/", setup = async () => {}) {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    // Running as root (the test machines are) needs chromium's sandbox off.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await setup(page);
  await page.goto(`${url}${path}`);
  return { browser, page, errors };
}
