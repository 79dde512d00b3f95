/**
 * The browser half of the benchmark: serves the built app, opens it in Debian Chromium with a
 * persistent profile (so OPFS is on disk, not in memory as in incognito), and asks the worker to
 * build, save (OPFS) and load a synthetic session of the given size.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "@playwright/test";
import config from "../playwright.config.ts";

export interface BrowserResult {
  sessionBytes: number;
  fileBytes: number;
  saveMs: number;
  loadMs: number;
  saveMBps: number;
  loadMBps: number;
  /** wasm heap size after the save: it must not grow with the session. */
  wasmHeapBytes: number;
}


/** `BENCH_PORT` lets a second run (another checkout, a helper) serve beside this one. */
const PORT = Number(process.env.BENCH_PORT ?? 4180);

export async function runBrowserBench(root: string, sizeGb: number): Promise<BrowserResult> {
  if (!existsSync(join(root, "dist/index.html"))) {
    const build = spawnSync("npx", ["vite", "build"], { cwd: root, stdio: "inherit" });
    if (build.status !== 0) throw new Error("vite build failed");
  }
  const server = spawn(join(root, "node_modules/.bin/vite"), ["preview", "--host", "127.0.0.1", "--port", String(PORT), "--strictPort"], {
    cwd: root,
    stdio: "ignore",
  });
  const profile = mkdtempSync(join(tmpdir(), "hdmea-chromium-"));
  try {
    await waitForServer(`http://127.0.0.1:${PORT}/`);
    // The same Chromium and flags as the end-to-end tests.
    const context = await chromium.launchPersistentContext(profile, { ...config.use?.launchOptions, headless: true });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`http://127.0.0.1:${PORT}/?bench`);
      await page.waitForFunction(() => "hdmeaBench" in window, undefined, { timeout: 30_000 });
      const raw = await page.evaluate(
        (bytes) => (window as unknown as { hdmeaBench(b: number): Promise<Omit<BrowserResult, "saveMBps" | "loadMBps">> }).hdmeaBench(bytes),
        sizeGb * 1e9,
      );
      return {
        ...raw,
        saveMBps: raw.fileBytes / 1e6 / (raw.saveMs / 1000),
        loadMBps: raw.fileBytes / 1e6 / (raw.loadMs / 1000),
      };
    } finally {
      await context.close();
    }
  } finally {
    server.kill();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function waitForServer(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`vite preview did not start at ${url}`);
}
