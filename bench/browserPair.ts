/**
 * The Chromium half of bench/pairBench.ts: the built app in Debian Chromium (persistent profile, so
 * browser storage is on disk), driven as a user would: drop the pair, wait for the units table, give
 * the stimulus files (and any step parameters, in each step's Parameters), Run all steps, Save
 * (download). Samples the PSS of every browser process (the tree under this Node process) twice a
 * second, and records the page's long tasks per phase.
 *
 * During the run it also records when the progress line names each step (the step and its
 * checkpoint: the page shows no finer split) and looks once a second at the files in browser
 * storage's `checkpoints/` folder, so each checkpoint write's size is what it left there (a full
 * copy, or a delta file `<name>.h5.d<n>` beside it).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "@playwright/test";
import config from "../playwright.config.ts";
import { ensureBuilt, waitForServer } from "./browserBench.ts";
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
  /** Typed into each step's Parameters: step → name → text. */
  params?: Record<string, Record<string, string>>;
}

export interface PhaseFigures {
  ms: number;
  peakPssBytes: number;
  longTasks: number;
  longestTaskMs: number;
  /** Load average (1, 5, 15 min) when the phase started and ended. */
  loadAverage: { before: number[]; after: number[] };
}

/** One step of Run all steps as the page's progress line showed it: over `atMs` after the run began, after `ms` (the step and its checkpoint). */
export interface BrowserStep {
  name: string;
  atMs: number;
  ms: number;
}

/** A checkpoint write seen in browser storage: which file grew or appeared, by how much, after which step. */
export interface CheckpointWrite {
  afterStep: string;
  file: string;
  kind: "full" | "delta";
  bytes: number;
}

export interface BrowserPairResult {
  openMs: number;
  runMs: number;
  saveMs: number;
  fileBytes: number;
  peakPssBytes: number;
  steps: BrowserStep[];
  checkpointWrites: CheckpointWrite[];
  phases: { open: PhaseFigures; run: PhaseFigures; save: PhaseFigures };
}

const loadNow = () => loadavg().map((x) => Math.round(x * 100) / 100);

export async function runPairInBrowser(root: string, inputs: PairInputs): Promise<BrowserPairResult> {
  ensureBuilt(root);
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
        const before = loadNow();
        const t = performance.now();
        await work();
        const ms = performance.now() - t;
        return { ms, peak: await phase(`after-${name}`), loadAverage: { before, after: loadNow() } };
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
      for (const [stepName, values] of Object.entries(inputs.params ?? {})) {
        const item = step(stepName);
        await item.getByText("Parameters", { exact: true }).click();
        for (const [param, text] of Object.entries(values)) await item.getByLabel(param, { exact: true }).fill(text);
      }
      const steps: BrowserStep[] = [];
      const checkpointWrites: CheckpointWrite[] = [];
      const run = await timed("run", async () => {
        let files = sizesNow(new Map(), (await checkpointFiles(page)).files);
        await watchProgress(page);
        let watching = true;
        const watch = (async () => {
          while (watching) {
            const seen = await checkpointFiles(page).catch(() => undefined);
            if (seen) {
              checkpointWrites.push(...grownFiles(files, seen.files, seen.step));
              files = sizesNow(files, seen.files);
            }
            await new Promise((r) => setTimeout(r, 1000));
          }
        })();
        try {
          await pipeline.getByRole("button", { name: "Run all steps" }).click();
          await step("extract_features").getByText("done", { exact: true }).waitFor({ timeout: PHASE_TIMEOUT_MS });
          // The last checkpoint follows the last step: wait until the page is idle again.
          await page.getByRole("group", { name: "Pipeline progress" }).waitFor({ state: "detached", timeout: PHASE_TIMEOUT_MS });
        } finally {
          watching = false;
          await watch;
        }
        const last = await checkpointFiles(page);
        checkpointWrites.push(...grownFiles(files, last.files, last.step));
        steps.push(...(await stepTimes(page)));
      });
      const session = page.getByRole("region", { name: `Session ${inputs.datasetId}` });
      let fileBytes = 0;
      const save = await timed("save", async () => {
        const download = page.waitForEvent("download", { timeout: PHASE_TIMEOUT_MS });
        await session.getByRole("button", { name: "Save", exact: true }).click();
        // Playwright's own copy of the download, complete when path() resolves (no second copy of gigabytes).
        fileBytes = statSync(await (await download).path()).size;
      });
      const tasks = await longTasks(page);
      const figures = (name: string, p: { ms: number; peak: number; loadAverage: PhaseFigures["loadAverage"] }): PhaseFigures => {
        const mine = tasks.filter((x) => x.phase === name);
        return { ms: p.ms, peakPssBytes: p.peak, longTasks: mine.length, longestTaskMs: Math.max(0, ...mine.map((x) => x.duration)), loadAverage: p.loadAverage };
      };
      return {
        openMs: open.ms,
        runMs: run.ms,
        saveMs: save.ms,
        fileBytes,
        peakPssBytes: Math.max(open.peak, run.peak, save.peak),
        steps,
        checkpointWrites,
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

function sizesNow(before: Map<string, number>, now: { name: string; bytes: number }[]): Map<string, number> {
  return new Map(now.map((f) => [f.name, f.bytes >= 0 ? f.bytes : before.get(f.name) ?? 0]));
}

/** Files that appeared or grew in `checkpoints/` since the last look. */
function grownFiles(before: Map<string, number>, now: { name: string; bytes: number }[], afterStep: string): CheckpointWrite[] {
  return now
    .filter((f) => f.bytes > 0 && f.bytes !== (before.get(f.name) ?? 0))
    .map((f) => ({ afterStep, file: f.name, kind: /\.d\d+$/.test(f.name) ? "delta" : "full", bytes: f.bytes - (/\.d\d+$/.test(f.name) ? before.get(f.name) ?? 0 : 0) }));
}

/**
 * Records in the page when the pipeline's progress line names a new step ("step: message"): the
 * step badges only turn "done" when the whole run returns, so the progress line is what shows each
 * step's start.
 */
function watchProgress(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { __steps: { step: string; t: number }[]; __stepsFrom: number };
    w.__steps = [];
    w.__stepsFrom = performance.now();
    new MutationObserver(() => {
      const text = document.querySelector('[aria-label="Pipeline progress"] span[aria-live]')?.textContent?.trim();
      const step = text?.startsWith("Starting") ? undefined : text?.split(":")[0];
      if (step && w.__steps.at(-1)?.step !== step) w.__steps.push({ step, t: performance.now() });
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

/** Each step's time from the progress line: from its first mention to the next step's (the last one: to now, its checkpoint included). */
async function stepTimes(page: Page): Promise<BrowserStep[]> {
  const { seen, from, now } = await page.evaluate(() => {
    const w = window as unknown as { __steps: { step: string; t: number }[]; __stepsFrom: number };
    return { seen: w.__steps, from: w.__stepsFrom, now: performance.now() };
  });
  return seen.map((x, i) => {
    const end = seen[i + 1]?.t ?? now;
    return { name: x.step, atMs: end - from, ms: end - x.t };
  });
}

/** The files in browser storage's checkpoints folder with their sizes (the swap files of writes under way left out), and the step the progress line names. */
function checkpointFiles(page: Page): Promise<{ step: string; files: { name: string; bytes: number }[] }> {
  return page.evaluate(async () => {
    const w = window as unknown as { __steps?: { step: string }[] };
    const step = w.__steps?.at(-1)?.step ?? "(before the run)";
    const files: { name: string; bytes: number }[] = [];
    try {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("checkpoints");
      for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (handle.kind !== "file" || name.endsWith(".crswap")) continue;
        // A file being written may refuse to be read: -1, and its last size is kept.
        const bytes = await (handle as FileSystemFileHandle).getFile().then((f) => f.size, () => -1);
        files.push({ name, bytes });
      }
    } catch {
      // no checkpoint yet
    }
    return { step, files };
  });
}

function longTasks(page: Page): Promise<{ phase: string; duration: number }[]> {
  return page.evaluate(() => (window as unknown as { __longTasks: { phase: string; duration: number }[] }).__longTasks);
}
