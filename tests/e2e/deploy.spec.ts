/**
 * Deployment: the built `dist/`, copied unchanged under a folder of a plain static server (as a lab's
 * web server or a project page hosts it), works from there: the demo opens, the pipeline runs, the
 * session saves, the app reloads offline, the manifest is valid and the service worker's scope is the
 * folder. Two copies in two folders of one host keep their caches and checkpoints apart.
 */
import { expect, test, type Page } from "@playwright/test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { scratchDir } from "./sessionFixtures.ts";
import { serveStatic, type StaticServer } from "./staticServer.ts";

const DIST = resolve("dist");
const APP = "/lab/hdmea/";
const OTHER = "/lab/hdmea-test/";
let server: StaticServer;

test.beforeAll(async () => {
  test.skip(!existsSync(join(DIST, "index.html")), "no build in dist/: run `npm run build` first");
  server = await serveStatic(DIST, [APP, OTHER]);
});
test.afterAll(async () => server?.close());

async function controlled(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((done) => navigator.serviceWorker.addEventListener("controllerchange", done, { once: true }));
    }
    return registration.scope;
  });
}

test("served from a folder: demo, all steps, save by download, offline reload", async ({ page, context }) => {
  test.setTimeout(180_000);
  const dir = scratchDir();
  try {
    // Headless Chromium has the save picker but cannot show it: take the download path.
    await page.addInitScript(() => {
      delete (Window.prototype as { showSaveFilePicker?: unknown }).showSaveFilePicker;
      delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
    });
    const requested: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    await page.goto(`${server.origin}${APP}?demo`);
    await expect(page.getByRole("table", { name: "Units of demo" })).toBeVisible();
    expect(await controlled(page)).toBe(`${server.origin}${APP}`);

    const pipeline = page.getByRole("region", { name: "Pipeline" });
    await pipeline.getByRole("button", { name: "Use the demo's stimulus files" }).click();
    // The files are fetched from the app's folder: run once they are in.
    await expect(pipeline.getByRole("combobox", { name: "Playlist" })).not.toHaveValue("");
    await pipeline.getByRole("button", { name: "Run all steps" }).click();
    const step = (name: string) => pipeline.getByRole("listitem").filter({ has: page.getByText(name, { exact: true }) });
    for (const name of ["add_section_time", "section_spike_times", "compute_sta", "extract_features"]) {
      await expect(step(name)).toContainText("done", { timeout: 60_000 });
    }

    const download = page.waitForEvent("download");
    await page.getByRole("region", { name: "Session demo" }).getByRole("button", { name: "Save", exact: true }).click();
    const file = join(dir, "demo.h5");
    await (await download).saveAs(file);
    const h5py = spawnSync("/usr/bin/python3", [join(import.meta.dirname, "../interop/read_session.py"), file], { encoding: "utf8" });
    expect(h5py.status, h5py.stderr).toBe(0);
    expect(JSON.parse(h5py.stdout).unit_names).toHaveLength(24);

    // Every request stayed inside the app's folder (blob: downloads aside): nothing asked of the host's root.
    const outside = requested.filter((url) => url.startsWith("http") && !url.startsWith(`${server.origin}${APP}`));
    expect(outside).toEqual([]);
    expect(server.requests.filter((path) => !path.startsWith(APP))).toEqual([]);

    await context.setOffline(true);
    page.on("dialog", (d) => d.accept());
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await expect(page.getByRole("table", { name: "Units of demo" })).toBeVisible();
  } finally {
    await context.setOffline(false);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the manifest is served and valid, with icons of the sizes it names", async ({ page }) => {
  await page.goto(`${server.origin}${APP}`);
  const href = await page.locator("link[rel=manifest]").getAttribute("href");
  const manifestUrl = new URL(href!, `${server.origin}${APP}`).href;
  expect(manifestUrl).toBe(`${server.origin}${APP}manifest.webmanifest`);
  const response = await page.request.get(manifestUrl);
  expect(response.ok()).toBe(true);
  const manifest = await response.json();
  expect(manifest.name).toMatch(/hdmea-web/);
  expect(manifest.display).toBe("standalone");
  // start_url and scope resolve inside the folder the app is served from.
  for (const key of ["start_url", "scope"]) expect(new URL(manifest[key], manifestUrl).href.startsWith(`${server.origin}${APP}`)).toBe(true);
  const pngs = manifest.icons.filter((icon: { type: string }) => icon.type === "image/png");
  expect(pngs.map((icon: { sizes: string }) => icon.sizes)).toEqual(expect.arrayContaining(["192x192", "512x512"]));
  for (const icon of pngs) {
    const bytes = await (await page.request.get(new URL(icon.src, manifestUrl).href)).body();
    expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(`${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`).toBe(icon.sizes);
  }
  const accepted = manifest.file_handlers.flatMap((h: { accept: Record<string, string[]> }) => Object.values(h.accept).flat());
  expect(accepted).toEqual(expect.arrayContaining([".h5", ".cmcr", ".cmtr"]));
});

test("two copies in two folders of one host: separate service workers, caches and checkpoints", async ({ page }) => {
  await page.goto(`${server.origin}${APP}?demo`);
  await expect(page.getByRole("table", { name: "Units of demo" })).toBeVisible();
  await controlled(page);
  await page.getByRole("region", { name: "Session demo" }).getByRole("button", { name: "Checkpoint" }).click();
  const checkpoints = page.getByRole("region", { name: /Checkpoints/ });
  await expect(checkpoints).toContainText("demo.h5");

  const other = await page.context().newPage();
  await other.goto(`${server.origin}${OTHER}`);
  expect(await controlled(other)).toBe(`${server.origin}${OTHER}`);
  await expect(other.getByRole("heading", { name: "hdmea-web" })).toBeVisible();
  // Give the other copy's list time to load, then check it does not offer the first copy's checkpoint.
  await expect(other.getByRole("region", { name: /Checkpoints/ })).toContainText(/used of|unknown/);
  await expect(other.getByRole("region", { name: /Checkpoints/ })).not.toContainText("demo.h5");
  const cacheNames: string[] = await other.evaluate(() => caches.keys());
  expect(cacheNames.filter((name) => name.includes(APP))).toHaveLength(1);
  expect(cacheNames.filter((name) => name.includes(OTHER))).toHaveLength(1);
  // The first copy still has its checkpoint after the second copy's service worker activated.
  await page.reload();
  await expect(checkpoints).toContainText("demo.h5");
});

test("dist/ holds no absolute URL of the app's own files", () => {
  const html = readFileSync(join(DIST, "index.html"), "utf8");
  expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((url) => url.startsWith("/"))).toEqual([]);
});
