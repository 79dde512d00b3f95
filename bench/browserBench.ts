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
import { browserPss, descendants } from "./pssSampler.ts";

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

export interface BrowserSpilledResult {
  sizeGb: number;
  budgetBytes: number;
  sessionBytes: number;
  spilledBytes: number;
  residentBytes: number;
  fileBytes: number;
  buildMs: number;
  saveMs: number;
  /** Summed PSS of the browser's processes, sampled twice a second through build and save. */
  peakPssBytes: number;
}

/** A session of `sizeGb` built in the worker under a `budgetGb` memory budget (spilling as it grows) and saved. */
export async function runBrowserSpilledBench(root: string, sizeGb: number, budgetGb: number): Promise<BrowserSpilledResult> {
  let peak = 0;
  const raw = await inBenchPage(root, (page) =>
    page.evaluate(
      ([bytes, budget]) =>
        (window as unknown as { hdmeaBench(b: number, budget: number): Promise<Omit<BrowserSpilledResult, "sizeGb" | "budgetBytes" | "peakPssBytes">> }).hdmeaBench(bytes, budget),
      [sizeGb * 1e9, budgetGb * 1e9],
    ),
    (pss) => (peak = Math.max(peak, pss)),
  );
  return { sizeGb, budgetBytes: budgetGb * 1e9, sessionBytes: raw.sessionBytes, spilledBytes: raw.spilledBytes, residentBytes: raw.residentBytes, fileBytes: raw.fileBytes, buildMs: raw.buildMs, saveMs: raw.saveMs, peakPssBytes: peak };
}

export async function runBrowserBench(root: string, sizeGb: number): Promise<BrowserResult> {
  const raw = await inBenchPage(root, (page) =>
    page.evaluate(
      (bytes) => (window as unknown as { hdmeaBench(b: number): Promise<Omit<BrowserResult, "saveMBps" | "loadMBps">> }).hdmeaBench(bytes),
      sizeGb * 1e9,
    ),
  );
  return {
    ...raw,
    saveMBps: raw.fileBytes / 1e6 / (raw.saveMs / 1000),
    loadMBps: raw.fileBytes / 1e6 / (raw.loadMs / 1000),
  };
}

/** Serves the built app, opens `/?bench` in Chromium (persistent profile) and runs `work`; `onPss` gets the browser's PSS twice a second. */
async function inBenchPage<T>(root: string, work: (page: import("@playwright/test").Page) => Promise<T>, onPss?: (bytes: number) => void): Promise<T> {
  ensureBuilt(root);
  const server = spawn(join(root, "node_modules/.bin/vite"), ["preview", "--host", "127.0.0.1", "--port", String(PORT), "--strictPort"], {
    cwd: root,
    stdio: "ignore",
  });
  const profile = mkdtempSync(join(tmpdir(), "hdmea-chromium-"));
  const exclude = new Set([server.pid!]);
  const sampler = onPss && setInterval(() => {
    for (const pid of descendants(server.pid!)) exclude.add(pid);
    onPss(browserPss(exclude));
  }, 500);
  try {
    await waitForServer(`http://127.0.0.1:${PORT}/`);
    // The same Chromium and flags as the end-to-end tests.
    const context = await chromium.launchPersistentContext(profile, { ...config.use?.launchOptions, headless: true });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`http://127.0.0.1:${PORT}/?bench`);
      await page.waitForFunction(() => "hdmeaBench" in window, undefined, { timeout: 30_000 });
      return await work(page);
    } finally {
      await context.close();
    }
  } finally {
    if (sampler) clearInterval(sampler);
    server.kill();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Builds the app if `dist/` has none; vite's output goes to stderr, so `--json` output stays JSON. */
export function ensureBuilt(root: string): void {
  if (existsSync(join(root, "dist/index.html"))) return;
  const build = spawnSync("npx", ["vite", "build"], { cwd: root, stdio: ["ignore", 2, 2] });
  if (build.status !== 0) throw new Error("vite build failed");
}

export async function waitForServer(url: string): Promise<void> {
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
