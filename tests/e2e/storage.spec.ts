import { chromium, expect, test } from "@playwright/test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import config from "../../playwright.config.ts";
import type { SelfBenchmarkResult as Bench } from "../../src/worker/selfBenchmark.ts";
import { recordingFixture, scratchDir } from "./sessionFixtures.ts";

const BASE = config.use!.baseURL!;


test("a 1 GB session saves and loads through OPFS on disk with a small wasm heap", async () => {
  test.setTimeout(240_000);
  // A persistent profile: incognito contexts may keep OPFS in memory, and this is about disk.
  const profile = mkdtempSync(join(tmpdir(), "hdmea-profile-"));
  const context = await chromium.launchPersistentContext(profile, { ...config.use?.launchOptions, headless: true });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${BASE}/?bench`);
    await page.waitForFunction(() => "hdmeaBench" in window);
    const result = await page.evaluate(
      (bytes) => (window as unknown as { hdmeaBench(b: number): Promise<Bench> }).hdmeaBench(bytes),
      1e9,
    );
    expect(result.sessionBytes).toBeGreaterThan(0.95e9);
    expect(result.fileBytes).toBeGreaterThan(result.sessionBytes);
    expect(result.units).toBeGreaterThan(300);
    // Only slices pass through the heap: far below the session (about 40 MB base plus two slices).
    expect(result.wasmHeapBytes).toBeLessThan(200e6);
    const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    expect(usage).toBeLessThan(50e6); // the scratch file was removed afterwards
    test.info().annotations.push({ type: "measured", description: JSON.stringify(result) });
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

test("a save that fails midway leaves the previous file intact and the session DEFERRED", async ({ page }) => {
  const dir = scratchDir();
  try {
    // The picker hands back a real file that already holds an earlier version.
    await page.addInitScript(() => {
      (window as unknown as { showSaveFilePicker: () => Promise<FileSystemFileHandle> }).showSaveFilePicker = async () =>
        (await navigator.storage.getDirectory()).getFileHandle("target.h5", { create: true });
    });
    await page.goto("/?bench");
    await page.evaluate(async () => {
      const handle = await (await navigator.storage.getDirectory()).getFileHandle("target.h5", { create: true });
      const writable = await handle.createWritable();
      await writable.write("the previous version of this file");
      await writable.close();
    });
    const recording = await recordingFixture(dir, "faulty-save");
    await page.getByLabel(/choose files/i).setInputFiles([recording.cmcrPath, recording.cmtrPath]);
    const item = page.getByRole("list", { name: "Recordings" }).getByRole("button", { name: /^faulty-save/ });
    await expect(item).toContainText("DEFERRED");
    const panel = page.getByRole("region", { name: "Session faulty-save" });
    await page.evaluate(() => (window as unknown as { hdmeaWorker: { test: { injectWriteFault(b: number): Promise<void> } } }).hdmeaWorker.test.injectWriteFault(50_000));
    await panel.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.getByRole("alert")).toContainText(/Saving failed/);
    const target = await page.evaluate(async () => {
      const file = await (await (await navigator.storage.getDirectory()).getFileHandle("target.h5")).getFile();
      return file.text();
    });
    expect(target).toBe("the previous version of this file");
    await expect(item).toContainText("DEFERRED");
    await expect(panel).toContainText("unsaved changes");
    await expect(panel).not.toContainText("target.h5");
    const scratch = await page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("scratch", { create: true });
      const names: string[] = [];
      for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      return names;
    });
    // Only the session's own spill file (arrays past its memory budget) may be there: no save leftovers.
    expect(scratch.filter((name) => !name.startsWith("spill-"))).toEqual([]);

    // The worker and the session are fine: the next save goes through.
    await panel.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.getByRole("status")).toHaveText("Saved target.h5.");
    const size = await page.evaluate(async () => (await (await (await navigator.storage.getDirectory()).getFileHandle("target.h5")).getFile()).size);
    expect(size).toBeGreaterThan(50_000);
    await expect(item).toContainText("SAVED");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
