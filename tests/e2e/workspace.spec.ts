/**
 * The scientist's workspace: the demo recording's units table, electrode map and plots, sorting and
 * filtering, a virtualised 2,000-unit table, the HDF5 layout view, offline reload through the service
 * worker, and an accessibility check of the page. Screenshots of each view (light and dark) go to
 * test-results/screenshots/.
 */
import { expect, test, type Locator, type Page } from "@playwright/test";
import { ink } from "./canvasInk.ts";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NDArray } from "../../src/core/ndarray.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { checkpointSession } from "../../src/io/sessionStore.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";
import { scratchDir } from "./sessionFixtures.ts";

const SHOTS = "test-results/screenshots";
let dir: string;

test.beforeAll(() => {
  dir = scratchDir();
  mkdirSync(SHOTS, { recursive: true });
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A checkpoint with `units` units holding what the table and plots read (spikes, waveform, rate,
 * unit_meta/snr). The sectioned-trial groups of the usual fixture are left out: through WORKERFS each
 * small HDF5 object costs a synchronous file read, and 2,000 × 12 of them take minutes to open.
 */
async function manyUnitsCheckpoint(units: number): Promise<string> {
  const session = randomSession({ units, maxSpikes: 300, seed: 5, now: fakeClock() });
  for (const unit of session.units.values()) {
    const meta = unit.children.unit_meta as { snr: NDArray };
    unit.children = { unit_meta: { snr: meta.snr } };
  }
  const path = join(dir, `${session.datasetId}-${units}.h5`);
  checkpointSession(await nodeRuntime(), session, path);
  return path;
}

/** Records CSP violations (the policy must not block our own workers, wasm, styles or downloads). */
async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  const console: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) console.push(m.text());
  });
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return async () => [...console, ...(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations))];
}


async function openDemo(page: Page): Promise<Locator> {
  test.skip(!existsSync("public/demo/demo.cmcr"), "public/demo/ has no demo pair");
  await page.goto("/?demo");
  const table = page.getByRole("table", { name: "Units of demo" });
  // The demo holds a movie for every extractor (162 s of light reference to read): time on a busy machine.
  await expect(table).toBeVisible({ timeout: 45_000 });
  return table;
}

async function shoot(page: Page, name: string, target?: Locator): Promise<void> {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(150); // plots redraw with the other theme's colours
    const path = `${SHOTS}/${name}-${scheme}.png`;
    if (target) await target.screenshot({ path });
    else await page.screenshot({ path, fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

test("the demo: select units in the table and on the map; waveform, rate, raster and light reference draw", async ({ page }) => {
  const cspViolations = await watchCsp(page);
  const table = await openDemo(page);
  const rows = table.getByRole("row");
  await expect(rows).toHaveCount(25); // header + 24 units

  // The first unit is selected on open; pick the fourth in the table.
  const fourth = rows.nth(4);
  const id = (await fourth.getByRole("rowheader").innerText()).trim();
  await fourth.getByRole("button", { name: id }).click();
  await expect(page.getByRole("heading", { name: `Unit ${id}` })).toBeVisible();
  await expect(fourth.getByRole("button", { name: id })).toHaveAttribute("aria-pressed", "true");

  const waveform = page.getByRole("img", { name: new RegExp(`Mean spike waveform of ${id}`) });
  const rate = page.getByRole("img", { name: new RegExp(`Firing rate over the recording of ${id}`) });
  const rasterPlot = page.getByRole("img", { name: new RegExp(`Spike raster of ${id}`) });
  const psthPlot = page.getByRole("img", { name: new RegExp(`Peri-stimulus time histogram of ${id}`) });
  const light = page.getByRole("img", { name: /Light reference over the whole recording/ });
  for (const plot of [waveform, rate, rasterPlot, psthPlot, light]) {
    await expect(plot.locator("canvas")).toHaveCount(1);
    await expect.poll(() => ink(plot.locator("canvas"))).toBeGreaterThan(1500);
  }
  await expect(page.getByText(/Recording time, one row/)).toBeVisible();

  // On the map: click another unit at its electrode.
  const other = rows.nth(9);
  const otherId = (await other.getByRole("rowheader").innerText()).trim();
  const [row, col] = [Number(await other.getByRole("cell").nth(0).innerText()), Number(await other.getByRole("cell").nth(1).innerText())];
  const map = page.getByLabel(/^Electrode map of 24 units/);
  await expect.poll(() => ink(map)).toBeGreaterThan(3000);
  const box = (await map.boundingBox())!;
  const cell = (box.width - 44) / 65;
  await map.click({ position: { x: 22 + (col - 0.5) * cell, y: 22 + (row - 0.5) * cell } });
  await expect(page.getByRole("heading", { name: `Unit ${otherId}` })).toBeVisible();
  await expect(other.getByRole("button", { name: otherId })).toHaveAttribute("aria-pressed", "true");

  // Ctrl-click adds a unit: both waveforms overlaid.
  await rows.nth(2).getByRole("rowheader").getByRole("button").click({ modifiers: ["Control"] });
  await expect(page.getByRole("list", { name: "Selected units" }).getByRole("listitem")).toHaveCount(2);

  await shoot(page, "workspace");
  // What a laptop screen shows first (the README's screenshot).
  await page.setViewportSize({ width: 1440, height: 1000 });
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(200);
    await page.screenshot({ path: `${SHOTS}/workspace-viewport-${scheme}.png` });
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1366, height: 900 });
  await shoot(page, "units-and-map", page.locator(".units-row"));
  await shoot(page, "unit-plots", page.getByRole("region", { name: /^Unit / }));
  await shoot(page, "raster-psth", page.getByRole("region", { name: /^Raster and PSTH/ }));
  await shoot(page, "light-reference", page.getByRole("region", { name: "Light reference" }));
  expect(await cspViolations()).toEqual([]);
});

test("sort and filter the units table", async ({ page }) => {
  const table = await openDemo(page);
  const spikesOf = async () => (await table.locator("tbody tr:not(.spacer) td:nth-of-type(3)").allInnerTexts()).map((t) => Number(t.replace(/[^\d]/g, "")));

  await table.getByRole("button", { name: "Spikes" }).click();
  await expect(table.getByRole("columnheader", { name: "Spikes" })).toHaveAttribute("aria-sort", "descending");
  const desc = await spikesOf();
  expect(desc).toEqual([...desc].sort((a, b) => b - a));
  await table.getByRole("button", { name: "Spikes" }).click();
  await expect(table.getByRole("columnheader", { name: "Spikes" })).toHaveAttribute("aria-sort", "ascending");
  const asc = await spikesOf();
  expect(asc).toEqual([...asc].sort((a, b) => a - b));

  const median = asc[Math.floor(asc.length / 2)];
  const filter = page.getByRole("searchbox", { name: "Filter units" });
  await filter.fill(`spikes>${median}`);
  await expect(table.getByRole("row")).toHaveCount(1 + asc.filter((n) => n > median).length);
  for (const n of await spikesOf()) expect(n).toBeGreaterThan(median);

  await filter.fill("unit_01");
  const ids = await table.getByRole("rowheader").allInnerTexts();
  expect(ids.length).toBeGreaterThan(0);
  for (const id of ids) expect(id).toContain("unit_01");

  await filter.fill("nothing-like-this");
  await expect(page.getByText("No unit matches")).toBeVisible();
  await filter.fill("");
  await expect(table.getByRole("row")).toHaveCount(25);

  // Keyboard: ↓ from the focused unit selects the next row.
  const first = table.getByRole("rowheader").first().getByRole("button");
  await first.focus();
  await page.keyboard.press("ArrowDown");
  const second = (await table.getByRole("rowheader").nth(1).innerText()).trim();
  await expect(page.getByRole("heading", { name: `Unit ${second}` })).toBeVisible();
});

test("a 2,000-unit checkpoint: the table is virtualised, scrolls and shows the right rows", async ({ page }) => {
  test.setTimeout(180_000);
  const path = await manyUnitsCheckpoint(2000);
  await page.goto("/");
  const started = Date.now();
  await page.getByLabel(/choose files/i).setInputFiles([path]);
  const table = page.getByRole("table", { name: "Units of rand-5" });
  await expect(table.getByRole("rowheader").first()).toHaveText("unit_001", { timeout: 90_000 });
  const openMs = Date.now() - started;
  await expect(table).toHaveAttribute("aria-rowcount", "2001");
  // Only the rows in view (and a margin) exist.
  const rendered = await table.locator("tbody tr:not(.spacer)").count();
  expect(rendered).toBeLessThan(60);

  const scroller = page.locator(".units-scroll");
  // The table sits below the session and pipeline panels: bring it into the page's view first.
  await scroller.scrollIntoViewIfNeeded();
  // Scroll so that unit 1001 (index 1000) is the first row in view.
  await scroller.evaluate((el) => (el.scrollTop = 1000 * 30));
  const row = table.locator('tr[aria-rowindex="1002"]');
  await expect(row.getByRole("rowheader")).toHaveText("unit_1001");
  await expect(row).toBeInViewport();
  await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight));
  await expect(table.getByRole("rowheader").last()).toHaveText("unit_2000");

  // Smoothness: 60 scroll steps, one per frame; the slowest frame stays short.
  const frames = await scroller.evaluate(async (el) => {
    const times: number[] = [];
    el.scrollTop = 0;
    let last = performance.now();
    for (let i = 0; i < 60; i++) {
      el.scrollTop += 30 * 11;
      await new Promise((r) => requestAnimationFrame(() => r(null)));
      const now = performance.now();
      times.push(now - last);
      last = now;
    }
    times.sort((a, b) => a - b);
    return { median: times[30], worst: times[59] };
  });
  expect(frames.worst).toBeLessThan(250);

  // Sorting 2,000 rows by spikes, then the top row is the unit with most spikes.
  const t0 = Date.now();
  await table.getByRole("button", { name: "Spikes" }).click();
  await expect(table.getByRole("columnheader", { name: "Spikes" })).toHaveAttribute("aria-sort", "descending");
  const sortMs = Date.now() - t0;
  await scroller.evaluate((el) => (el.scrollTop = 0));
  const top = Number((await table.locator('tr[aria-rowindex="2"] td:nth-of-type(3)').innerText()).replace(/[^\d]/g, ""));
  const next = Number((await table.locator('tr[aria-rowindex="3"] td:nth-of-type(3)').innerText()).replace(/[^\d]/g, ""));
  expect(top).toBeGreaterThanOrEqual(next);
  await page.getByRole("searchbox", { name: "Filter units" }).fill("unit_19");
  await expect(table).toHaveAttribute("aria-rowcount", String(1 + 110)); // unit_190…199 and unit_1900…1999
  const measured = JSON.stringify({ openMs, rendered, frames, sortMs });
  test.info().annotations.push({ type: "measured", description: measured });
  console.log(`2,000-unit table: ${measured}`);
  await shoot(page, "units-2000", page.locator(".units-row"));
});

test("the HDF5 layout shows units/unit_001/spike_times as uint64", async ({ page }) => {
  await openDemo(page);
  const tree = page.getByRole("list", { name: "HDF5 layout of demo" });
  await tree.getByRole("button", { name: /^units group/ }).click();
  await tree.getByRole("button", { name: /^unit_001 group/ }).click();
  const unit = tree.getByRole("list", { name: "units/unit_001" });
  const spikes = unit.getByRole("listitem").filter({ has: page.getByText("spike_times", { exact: true }) });
  await expect(spikes).toContainText("uint64");
  await expect(spikes).toContainText(/\(\d+,\)/);
  await expect(unit.getByRole("button", { name: /^unit_meta group/ })).toBeVisible();
  await expect(tree.getByRole("button", { name: /^metadata group/ })).toHaveAttribute("aria-expanded", "false");
  await shoot(page, "hdf5-layout", page.getByRole("region", { name: "HDF5 layout" }));
});

test("offline: after the service worker installs, a reload works with no network", async ({ page, context }) => {
  await page.goto("/");
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
    }
  });
  // Opened once online, the demo is cached too.
  await page.goto("/?demo");
  await expect(page.getByRole("table", { name: "Units of demo" })).toBeVisible();

  await context.setOffline(true);
  page.on("dialog", (d) => d.accept());
  const response = await page.reload();
  expect(response?.fromServiceWorker()).toBe(true);
  await expect(page.getByRole("heading", { name: "hdmea-web" })).toBeVisible();
  // The worker, h5wasm and the demo pair all come from the cache: the session opens again.
  await expect(page.getByRole("table", { name: "Units of demo" })).toBeVisible();
  await expect(page.getByRole("img", { name: /Mean spike waveform/ }).locator("canvas")).toHaveCount(1);
  await context.setOffline(false);
});

test("accessibility: names for every control, labelled canvases, headings in order", async ({ page }) => {
  await openDemo(page);
  await expect(page.getByRole("img", { name: /Spike raster/ })).toBeVisible();
  await page.getByRole("list", { name: "HDF5 layout of demo" }).getByRole("button", { name: /^units group/ }).click();
  const problems = await page.evaluate(() => {
    const out: string[] = [];
    const visible = (el: Element) => {
      const box = (el as HTMLElement).getBoundingClientRect();
      return !(el.closest("[aria-hidden='true']") || (box.width === 0 && box.height === 0 && getComputedStyle(el).position !== "absolute"));
    };
    /** A small accessible-name computation: enough for the markup this app writes. */
    const nameOf = (el: Element): string => {
      const labelledBy = el.getAttribute("aria-labelledby");
      if (labelledBy) return labelledBy.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ").trim();
      const aria = el.getAttribute("aria-label");
      if (aria?.trim()) return aria.trim();
      if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) {
        const labels = [...(el.labels ?? [])].map((l) => l.textContent ?? "").join(" ").trim();
        if (labels) return labels;
      }
      if (el instanceof HTMLButtonElement || el.getAttribute("role") === "button") {
        const text = (el.textContent ?? "").trim();
        if (text) return text;
      }
      return (el.getAttribute("title") ?? "").trim();
    };
    const describe = (el: Element) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}.${[...el.classList].join(".")}`;

    for (const el of document.querySelectorAll("button, input, select, textarea, [role='button'], a[href], meter, progress")) {
      if (!visible(el) && !(el as HTMLElement).classList.contains("visually-hidden")) continue;
      if (el instanceof HTMLAnchorElement ? !(el.textContent ?? "").trim() : !nameOf(el)) out.push(`no accessible name: ${describe(el)}`);
    }
    for (const el of document.querySelectorAll("canvas, img, svg")) {
      if (el.closest("[aria-hidden='true']") || el.getAttribute("aria-hidden") === "true") continue;
      if (el.closest("[role='img'][aria-label]")) continue;
      if (!nameOf(el) && !(el as HTMLImageElement).alt) out.push(`unlabelled graphic: ${describe(el)}`);
    }
    for (const el of document.querySelectorAll("[role='img']")) if (!nameOf(el)) out.push(`role=img without a name: ${describe(el)}`);
    let previous = 0;
    const headings = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")];
    if (headings.filter((h) => h.tagName === "H1").length !== 1) out.push("the page needs exactly one h1");
    for (const h of headings) {
      const level = Number(h.tagName[1]);
      if (level > previous + 1) out.push(`heading skips a level: h${previous} → h${level} "${h.textContent?.trim()}"`);
      previous = level;
    }
    const ids = new Map<string, number>();
    for (const el of document.querySelectorAll("[id]")) ids.set(el.id, (ids.get(el.id) ?? 0) + 1);
    for (const [id, n] of ids) if (n > 1) out.push(`duplicate id "${id}"`);
    if (!document.documentElement.lang) out.push("html has no lang");
    return out;
  });
  expect(problems).toEqual([]);

  // Everything a mouse can do here is reachable with Tab: count the stops on the main controls.
  const stops = new Set<string>();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    stops.add(await page.evaluate(() => {
      const el = document.activeElement!;
      return el.getAttribute("aria-label") ?? el.textContent?.trim().slice(0, 40) ?? el.tagName;
    }));
  }
  for (const name of ["Open demo recording", "Save", "Save as…", "Checkpoint", "Keep storage persistent"]) expect([...stops]).toContain(name);
});
