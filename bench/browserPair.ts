/**
 * The Chromium half of bench/pairBench.ts: the built app in Debian Chromium (persistent profile, so
 * browser storage is on disk), driven as a user would: drop the pair, wait for the units table, give
 * the stimulus files (and any step parameters, in each step's Parameters), Run all steps, Save
 * (download), then Save again to a picked file (File System Access). Samples the PSS of every browser process (the tree under this Node process) twice a
 * second, and records the page's long tasks per phase.
 *
 * During the run it also records when the progress line names each step (the step and its
 * checkpoint: the page shows no finer split) and lists browser storage's `checkpoints/` folder at
 * each step change, so each checkpoint write's size is what it left there (a full copy, or a delta
 * file `<name>.h5.d<n>` beside it).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { basename, join } from "node:path";
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
  /** Called as each phase ends (its time, peak PSS and load averages), before the next begins. */
  onPhase?: (name: string, figures: { ms: number; peak: number; loadAverage: PhaseFigures["loadAverage"] }) => void;
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
  /** Drop → the units table of the session. */
  openMs: number;
  /** Drop → the units listed while the pair still opens (their spike counts filling in); undefined if never seen. */
  unitsListedMs?: number;
  runMs: number;
  /** Save (download). */
  saveMs: number;
  fileBytes: number;
  /** Save to a picked file (File System Access), after the download. */
  saveFsaMs?: number;
  fsaFileBytes?: number;
  peakPssBytes: number;
  steps: BrowserStep[];
  checkpointWrites: CheckpointWrite[];
  phases: { open: PhaseFigures; run: PhaseFigures; save: PhaseFigures; saveFsa?: PhaseFigures };
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
      // Playwright's 30-s default is far too short on a loaded 2-core machine with a real-size session:
      // after the units table shows, the page stays busy filling in spike counts and waveforms, and the
      // first run with a 1,000-unit hour timed out waiting for the playlist to be read.
      page.setDefaultTimeout(PHASE_TIMEOUT_MS);
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
        const figures = { ms, peak: await phase(`after-${name}`), loadAverage: { before, after: loadNow() } };
        inputs.onPhase?.(name, figures);
        return figures;
      };

      const table = page.getByRole("table", { name: `Units of ${inputs.datasetId}` });
      // While the pair opens, its units are listed under the dropped files' names (UnitTable.opening).
      const listed = page.getByRole("table", { name: `Units being read from ${basename(inputs.cmcrPath)} + ${basename(inputs.cmtrPath)}` });
      let unitsListedMs: number | undefined;
      const open = await timed("open", async () => {
        const dropped = performance.now();
        const listing = listed
          .getByRole("rowheader")
          .first()
          .waitFor({ timeout: PHASE_TIMEOUT_MS })
          .then(() => (unitsListedMs = performance.now() - dropped))
          .catch(() => undefined);
        await page.getByLabel(/choose files/i).setInputFiles([inputs.cmcrPath, inputs.cmtrPath]);
        await table.getByRole("rowheader").first().waitFor({ timeout: PHASE_TIMEOUT_MS });
        // The listing came and went before the session's table, or never showed.
        await Promise.race([listing, Promise.resolve()]);
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
        await watchProgress(page);
        await pipeline.getByRole("button", { name: "Run all steps" }).click();
        await step("extract_features").getByText("done", { exact: true }).waitFor({ timeout: PHASE_TIMEOUT_MS });
        // The last checkpoint follows the last step: wait until the page is idle again.
        await page.getByRole("group", { name: "Pipeline progress" }).waitFor({ state: "detached", timeout: PHASE_TIMEOUT_MS });
      });
      const progress = await progressRecord(page);
      steps.push(...progress.steps);
      checkpointWrites.push(...progress.checkpointWrites);

      const session = page.getByRole("region", { name: `Session ${inputs.datasetId}` });
      let fileBytes = 0;
      const save = await timed("save", async () => {
        const download = page.waitForEvent("download", { timeout: PHASE_TIMEOUT_MS });
        await session.getByRole("button", { name: "Save", exact: true }).click();
        // Playwright's own copy of the download, complete when path() resolves (no second copy of gigabytes).
        const done = await download;
        fileBytes = statSync(await done.path()).size;
        await done.delete();
      });
      // The File System Access path: the page's picker answers with a file in browser storage, as the
      // end-to-end tests do (headless Chromium has no native picker); the write is the same
      // createWritable() a file on the user's disk gets.
      const fsaName = `${inputs.datasetId}.picked.h5`;
      await page.evaluate((name) => {
        (window as unknown as { showSaveFilePicker: () => Promise<FileSystemFileHandle> }).showSaveFilePicker = async () =>
          (await navigator.storage.getDirectory()).getFileHandle(name, { create: true });
      }, fsaName);
      const saveFsa = await timed("save-fsa", async () => {
        await session.getByRole("button", { name: "Save", exact: true }).click();
        await page.getByRole("status").filter({ hasText: `Saved ${fsaName}.` }).waitFor({ timeout: PHASE_TIMEOUT_MS });
      });
      const fsaFileBytes = await page.evaluate(async (name) => {
        const root = await navigator.storage.getDirectory();
        const bytes = (await (await root.getFileHandle(name)).getFile()).size;
        await root.removeEntry(name);
        return bytes;
      }, fsaName);
      const tasks = await longTasks(page);
      const figures = (name: string, p: { ms: number; peak: number; loadAverage: PhaseFigures["loadAverage"] }): PhaseFigures => {
        const mine = tasks.filter((x) => x.phase === name);
        return { ms: p.ms, peakPssBytes: p.peak, longTasks: mine.length, longestTaskMs: Math.max(0, ...mine.map((x) => x.duration)), loadAverage: p.loadAverage };
      };
      return {
        openMs: open.ms,
        unitsListedMs,
        runMs: run.ms,
        saveMs: save.ms,
        fileBytes,
        saveFsaMs: saveFsa.ms,
        fsaFileBytes,
        peakPssBytes: Math.max(open.peak, run.peak, save.peak, saveFsa.peak),
        steps,
        checkpointWrites,
        phases: { open: figures("open", open), run: figures("run", run), save: figures("save", save), saveFsa: figures("save-fsa", saveFsa) },
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

/**
 * Records in the page when the pipeline's progress line names a new step ("step: message"), and
 * lists browser storage's `checkpoints/` folder then: the step badges only turn "done" when the whole
 * run returns, and the checkpoint after a step is written before the next step starts, so each
 * listing holds what the previous step's checkpoint wrote.
 */
function watchProgress(page: Page): Promise<void> {
  return page.evaluate(async () => {
    const w = window as unknown as BenchProgress;
    // A property, not a named const: tsx's keepNames would wrap a named function in a helper the page lacks.
    w.__list = async () => {
      const files: { name: string; bytes: number }[] = [];
      try {
        const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("checkpoints");
        for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
          // Swap files of writes under way are left out.
          if (handle.kind !== "file" || name.endsWith(".crswap")) continue;
          const bytes = await (handle as FileSystemFileHandle).getFile().then((f) => f.size, () => -1);
          files.push({ name, bytes });
        }
      } catch {
        // no checkpoint yet
      }
      return files;
    };
    w.__steps = [];
    w.__stepsFrom = performance.now();
    w.__listings = [{ afterStep: "(before the run)", files: await w.__list() }];
    new MutationObserver(() => {
      const text = document.querySelector('[aria-label="Pipeline progress"] span[aria-live]')?.textContent?.trim();
      const step = text?.startsWith("Starting") ? undefined : text?.split(":")[0];
      const previous = w.__steps.at(-1)?.step;
      if (!step || previous === step) return;
      w.__steps.push({ step, t: performance.now() });
      if (previous) w.__listings.push({ afterStep: previous, files: w.__list() });
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

interface BenchProgress {
  __steps: { step: string; t: number }[];
  __stepsFrom: number;
  __list: () => Promise<{ name: string; bytes: number }[]>;
  __listings: { afterStep: string; files: { name: string; bytes: number }[] | Promise<{ name: string; bytes: number }[]> }[];
}

/**
 * Each step's time from the progress line (from its first mention to the next step's; the last one
 * to now, its checkpoint included), and each checkpoint write: a file of `checkpoints/` that appeared
 * or grew since the previous listing (a full copy, or a delta file `<name>.h5.d<n>`).
 */
async function progressRecord(page: Page): Promise<{ steps: BrowserStep[]; checkpointWrites: CheckpointWrite[] }> {
  const { seen, from, now, listings } = await page.evaluate(async () => {
    const w = window as unknown as BenchProgress;
    const last = w.__steps.at(-1)?.step;
    if (last) w.__listings.push({ afterStep: last, files: w.__list() });
    const listings = await Promise.all(w.__listings.map(async (l) => ({ afterStep: l.afterStep, files: await l.files })));
    return { seen: w.__steps, from: w.__stepsFrom, now: performance.now(), listings };
  });
  const steps = seen.map((x, i) => {
    const end = seen[i + 1]?.t ?? now;
    return { name: x.step, atMs: end - from, ms: end - x.t };
  });
  const checkpointWrites: CheckpointWrite[] = [];
  let sizes = new Map<string, number>();
  for (const [i, listing] of listings.entries()) {
    if (i > 0) checkpointWrites.push(...grownFiles(sizes, listing.files, listing.afterStep));
    sizes = new Map(listing.files.map((f) => [f.name, f.bytes >= 0 ? f.bytes : sizes.get(f.name) ?? 0]));
  }
  return { steps, checkpointWrites };
}

/** Files that appeared or grew since the last listing (-1: unreadable while written, skipped). */
function grownFiles(before: Map<string, number>, now: { name: string; bytes: number }[], afterStep: string): CheckpointWrite[] {
  return now
    .filter((f) => f.bytes > 0 && f.bytes !== (before.get(f.name) ?? 0))
    .map((f) => {
      const delta = /\.d\d+$/.test(f.name);
      return { afterStep, file: f.name, kind: delta ? "delta" : "full", bytes: f.bytes - (delta ? before.get(f.name) ?? 0 : 0) };
    });
}

function longTasks(page: Page): Promise<{ phase: string; duration: number }[]> {
  return page.evaluate(() => (window as unknown as { __longTasks: { phase: string; duration: number }[] }).__longTasks);
}
