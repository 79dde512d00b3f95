/**
 * `npx tsx bench/browserOpenSession.ts SESSION.h5` (or `… NAME.cmcr NAME.cmtr`): in the built app in
 * Debian Chromium, the time from giving the page a session file or a recording pair (the *choose
 * files* input, as a drop) until its units table shows (and, for a large session file whose table
 * comes first, until its science columns do), and the peak PSS of the browser's processes
 * meanwhile, dropped `BENCH_SETTLE_MS` (default 3000) after the page shows. Serves `dist/` (run
 * `npm run build` first); `BENCH_PORT` sets the port. Prints one JSON line.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { browserPss, descendants } from "./pssSampler.ts";
import { chromium } from "@playwright/test";
import config from "../playwright.config.ts";

const paths = process.argv.slice(2);
if (!paths.length) throw new Error("usage: bench/browserOpenSession.ts SESSION.h5 | NAME.cmcr NAME.cmtr");
// A session file is listed by its name, a pair by both files: match the stem.
const path = paths.find((p) => !p.endsWith(".cmcr")) ?? paths[0];
const root = join(import.meta.dirname, "..");
const PORT = Number(process.env.BENCH_PORT ?? 4181);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 3000);
const server = spawn(join(root, "node_modules/.bin/vite"), ["preview", "--host", "127.0.0.1", "--port", String(PORT), "--strictPort"], { cwd: root, stdio: "ignore" });
const profile = mkdtempSync(join(tmpdir(), "hdmea-chromium-"));
try {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const context = await chromium.launchPersistentContext(profile, { ...config.use?.launchOptions, headless: true, viewport: { width: 1366, height: 900 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // Not Playwright's 30-s default: the machine may be loaded and the file gigabytes.
    page.setDefaultTimeout(600_000);
    await page.goto(`http://127.0.0.1:${PORT}/`);
    await page.getByLabel(/choose files/i).waitFor();
    // A person takes seconds to pick a file, and the worker starts the HDF5 engine meanwhile (about
    // 1.5 s here): drop after that, so the figure is the open's, not the page start's.
    await page.waitForTimeout(SETTLE_MS);
    const exclude = new Set([server.pid!, ...descendants(server.pid!)]);
    let peakPss = browserPss(exclude);
    const sampler = setInterval(() => (peakPss = Math.max(peakPss, browserPss(exclude))), 500);
    const started = Date.now();
    await page.getByLabel(/choose files/i).setInputFiles(paths);
    const item = page.getByRole("list", { name: "Recordings" }).getByRole("button", { name: new RegExp(`^${basename(path).replace(/-?\.(h5|cmtr)$/, "").replace(/[.]/g, "\\.")}`) });
    await item.getByText(/\d units/).waitFor({ timeout: 600_000 });
    const listedMs = Date.now() - started;
    await page.getByRole("table", { name: /^Units of / }).getByRole("row").nth(1).waitFor({ timeout: 600_000 });
    const tableMs = Date.now() - started;
    // A large session file's table comes first and its science columns after (UnitTable.sciencePending).
    let scienceMs: number | undefined;
    if (await page.getByText(/reading the features for the science columns/).isVisible()) {
      await page.getByRole("columnheader", { name: /^ON-OFF/ }).waitFor({ timeout: 600_000 });
      scienceMs = Date.now() - started;
    }
    clearInterval(sampler);
    const fileBytes = paths.reduce((sum, p) => sum + statSync(p).size, 0);
    process.stdout.write(`${JSON.stringify({ files: paths, fileBytes, settleMs: SETTLE_MS, listedMs, unitsTableMs: tableMs, scienceColumnsMs: scienceMs, peakPssBytes: Math.max(peakPss, browserPss(exclude)), label: await item.innerText() })}\n`);
  } finally {
    await context.close();
  }
} finally {
  server.kill();
  rmSync(profile, { recursive: true, force: true });
}
