/**
 * The Chromium half of bench/pairBench.ts: the built app in Debian Chromium (persistent profile, so
 * browser storage is on disk), driven as a user would: drop the pair, wait for the units table, give
 * the stimulus files, Run all steps, Save (download). Samples the PSS of every browser process (the
 * tree under this Node process) twice a second, and records the page's long tasks per phase.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "@playwright/test";
import config from "../playwright.config.ts";
import { waitForServer } from "./browserBench.ts";
import { browserPss, descendants } from "./pssSampler.ts";

const PORT = Number(process.env.BENCH_PORT ?? 4180);
const PHASE_TIMEOUT_MS = 60 * 60_000;

export interface PairInputs {
  cmcrPath: string;
  cmtrPath: string;
  datasetId: string;
  playlist: string;
  movieLength: string;
  configs: string[];
  downloadTo: string;
}

export interface PhaseFigures {
  ms: number;
  peakPssBytes: number;
  longTasks: number;
  longestTaskMs: number;
}

export interface BrowserPairResult {
  openMs: number;
  runMs: number;
  saveMs: number;
  fileBytes: number;
  peakPssBytes: number;
  phases: { open: PhaseFigures; run: PhaseFigures; save: PhaseFigures };
}

export async function runPairInBrowser(root: string, inputs: PairInputs): Promise<BrowserPairResult> {
  const server = spawn(join(root, "node_modules/.bin/vite"), ["preview", "--host", "127.0.0.1", "--port", String(PORT), "--strictPort"], {
    cwd: root,
    stdio: "ignore",
  });
  const exclude = new Set([server.pid!]);
  const profile = mkdtempSync(join(tmpdir(), "hdmea-chromium-"));
  let peak = 0;
  const sampler = setInterval(() => {
    for (const pid of descendants(server.pid!)) exclude.add(pid);
    peak = Math.max(peak, browserPss(exclude));
  }, 500);
  try {
    await waitForServer(`http://127.0.0.1:${PORT}/`);
    const context = await chromium.launchPersistentContext(profile, { ...config.use?.launchOptions, headless: true, acceptDownloads: true, viewport: { width: 1366, height: 900 } });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.addInitScript(() => {
        delete (Window.prototype as { showSaveFilePicker?: unknown }).showSaveFilePicker;
        delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
        const w = window as unknown as { __longTasks: { phase: string; duration: number }[]; __phase: string };
        w.__longTasks = [];
        w.__phase = "load";
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) w.__longTasks.push({ phase: w.__phase, duration: e.duration });
        }).observe({ type: "longtask", buffered: true });
      });
      await page.goto(`http://127.0.0.1:${PORT}/`);
      const phase = async (name: string) => {
        await page.evaluate((p) => ((window as unknown as { __phase: string }).__phase = p), name);
        const before = peak;
        peak = 0;
        return before;
      };
      const timed = async (name: string, work: () => Promise<void>) => {
        await phase(name);
        const t = performance.now();
        await work();
        const ms = performance.now() - t;
        return { ms, peak: await phase(`after-${name}`) };
      };

      const table = page.getByRole("table", { name: `Units of ${inputs.datasetId}` });
      const open = await timed("open", async () => {
        await page.getByLabel(/choose files/i).setInputFiles([inputs.cmcrPath, inputs.cmtrPath]);
        await table.getByRole("rowheader").first().waitFor({ timeout: PHASE_TIMEOUT_MS });
      });

      const pipeline = page.getByRole("region", { name: "Pipeline" });
      await pipeline.getByLabel("Playlist table (CSV)").setInputFiles(inputs.playlist);
      await page.waitForFunction(() => (document.querySelector('select[aria-label="Playlist"]') as HTMLSelectElement | null)?.value === "demo_set_a");
      await pipeline.getByLabel("Movie lengths (CSV)").setInputFiles(inputs.movieLength);
      await pipeline.getByLabel("Stimulus configs (JSON)").setInputFiles(inputs.configs);
      const step = (name: string) => pipeline.getByRole("listitem").filter({ has: page.getByText(name, { exact: true }) });
      const run = await timed("run", async () => {
        await pipeline.getByRole("button", { name: "Run all steps" }).click();
        await step("extract_features").getByText("done", { exact: true }).waitFor({ timeout: PHASE_TIMEOUT_MS });
      });

      const session = page.getByRole("region", { name: `Session ${inputs.datasetId}` });
      const save = await timed("save", async () => {
        const download = page.waitForEvent("download", { timeout: PHASE_TIMEOUT_MS });
        await session.getByRole("button", { name: "Save", exact: true }).click();
        await (await download).saveAs(inputs.downloadTo);
      });
      const fileBytes = statSync(inputs.downloadTo).size;
      rmSync(inputs.downloadTo, { force: true });
      const tasks = await longTasks(page);
      const figures = (name: string, p: { ms: number; peak: number }): PhaseFigures => {
        const mine = tasks.filter((x) => x.phase === name);
        return { ms: p.ms, peakPssBytes: p.peak, longTasks: mine.length, longestTaskMs: Math.max(0, ...mine.map((x) => x.duration)) };
      };
      return {
        openMs: open.ms,
        runMs: run.ms,
        saveMs: save.ms,
        fileBytes,
        peakPssBytes: Math.max(open.peak, run.peak, save.peak),
        phases: { open: figures("open", open), run: figures("run", run), save: figures("save", save) },
      };
    } finally {
      await context.close();
    }
  } finally {
    clearInterval(sampler);
    server.kill();
    rmSync(profile, { recursive: true, force: true });
  }
}

function longTasks(page: Page): Promise<{ phase: string; duration: number }[]> {
  return page.evaluate(() => (window as unknown as { __longTasks: { phase: string; duration: number }[] }).__longTasks);
}
