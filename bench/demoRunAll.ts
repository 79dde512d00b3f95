/**
 * `npx tsx bench/demoRunAll.ts [--repeats N] [--json] [--profile OUT.cpuprofile] [--dist DIR | --compare DIR]` (or `npm run bench -- --demo-run-all [--repeats N]`)
 *
 * The demo's *Run all steps* in the built app (`npm run build`; built here if `dist/` has none) in
 * Debian Chromium with a persistent profile (browser storage on disk, as a user's): open `/?demo`,
 * *Use the demo's stimulus files*, *Run all steps* with the default settings (a checkpoint after
 * each step), and time the click until every step shows done. Issue 18's target is ≤ 5 s.
 *
 * The split is what the worker reports: its heartbeats (worker/activity.ts) name each step's
 * progress, "writing the checkpoint" and "copying the checkpoint into browser storage" as they
 * start, so the time from one to the next is that phase's. The checkpoint files left in browser
 * storage give each checkpoint's size. Each repeat is a fresh profile.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, expect, type Page } from "@playwright/test";
import { option, parseArgs } from "../src/cli/args.ts";
import config from "../playwright.config.ts";
import { ensureBuilt, waitForServer } from "./browserBench.ts";

const PORT = Number(process.env.BENCH_PORT ?? 4180);

export interface DemoPhase {
  /** `add_section_time`, `checkpoint (write)`, `checkpoint (copy to storage)`, … */
  name: string;
  ms: number;
}

export interface DemoRunAll {
  runMs: number;
  phases: DemoPhase[];
  /** `checkpoints/` in browser storage after the run: name → bytes. */
  stored: Record<string, number>;
  longTasks: number;
  longestTaskMs: number;
  loadAverage: { before: number[]; after: number[] };
}

interface Beat {
  at: number;
  step: string;
}

/** The phase a heartbeat's step belongs to: a pipeline step (`name: message`) or a part of a checkpoint. */
function phaseOf(step: string): string {
  if (step === "writing the checkpoint") return "checkpoint (write)";
  if (step === "copying the checkpoint into browser storage") return "checkpoint (copy to storage)";
  const colon = step.indexOf(":");
  return colon > 0 ? step.slice(0, colon) : step;
}

/** Consecutive heartbeats of one phase merged: each phase with the time until the next began. */
export function phasesOf(beats: Beat[], endAt: number): DemoPhase[] {
  const phases: { name: string; from: number }[] = [];
  for (const beat of beats) {
    const name = phaseOf(beat.step);
    if (phases.at(-1)?.name !== name) phases.push({ name, from: beat.at });
  }
  return phases.map((p, i) => ({ name: p.name, ms: (phases[i + 1]?.from ?? endAt) - p.from }));
}

/**
 * A CPU profile of the worker (Chrome DevTools' `.cpuprofile`) over the run: the page's CDP session
 * attaches to the worker (not flattened, so messages go through `Target.sendMessageToTarget`).
 */
async function profileWorker(page: Page): Promise<() => Promise<unknown>> {
  const cdp = await page.context().newCDPSession(page);
  let workerSession: string | undefined;
  let nextId = 1;
  const replies = new Map<number, (result: unknown) => void>();
  cdp.on("Target.attachedToTarget", (event) => {
    if (event.targetInfo.type === "worker") workerSession ??= event.sessionId;
  });
  cdp.on("Target.receivedMessageFromTarget", (event) => {
    const message = JSON.parse(event.message) as { id?: number; result?: unknown };
    if (message.id !== undefined) replies.get(message.id)?.(message.result);
  });
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  for (let i = 0; i < 100 && !workerSession; i++) await new Promise((r) => setTimeout(r, 50));
  if (!workerSession) throw new Error("the worker did not show up for profiling");
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      replies.set(id, resolve);
      void cdp.send("Target.sendMessageToTarget", { sessionId: workerSession!, message: JSON.stringify({ id, method, params }) });
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Profiler.start");
  return async () => ((await call("Profiler.stop")) as { profile: unknown }).profile;
}

/** `dist` serves another build than `root/dist` (to compare two builds, alternating). */
export async function runDemoRunAll(root: string, options: { profileTo?: string; dist?: string } = {}): Promise<DemoRunAll> {
  const { profileTo, dist } = options;
  if (!dist) ensureBuilt(root);
  const server = spawn(join(root, "node_modules/.bin/vite"), ["preview", "--host", "127.0.0.1", "--port", String(PORT), "--strictPort", ...(dist ? ["--outDir", dist] : [])], { cwd: root, stdio: "ignore" });
  const profile = mkdtempSync(join(tmpdir(), "hdmea-chromium-"));
  try {
    await waitForServer(`http://127.0.0.1:${PORT}/`);
    const context = await chromium.launchPersistentContext(profile, { ...config.use?.launchOptions, headless: true, viewport: config.use?.viewport });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      // The worker's heartbeats as the page receives them, and the page's long tasks.
      await page.addInitScript(() => {
        const w = window as unknown as { __beats: { at: number; step: string }[]; __longTasks: number[] };
        w.__beats = [];
        w.__longTasks = [];
        const Base = window.Worker;
        window.Worker = class extends Base {
          constructor(url: string | URL, options?: WorkerOptions) {
            super(url, options);
            this.addEventListener("message", (event) => {
              const data = event.data as { type?: string; step?: string };
              if (data?.type === "hdmea-heartbeat") w.__beats.push({ at: performance.now(), step: String(data.step) });
            });
          }
        };
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) w.__longTasks.push(entry.duration);
        }).observe({ type: "longtask", buffered: true });
      });
      await page.goto(`http://127.0.0.1:${PORT}/?demo`);
      const pipeline = page.getByRole("region", { name: "Pipeline" });
      await expect(pipeline.getByRole("list", { name: "Pipeline steps" })).toContainText("add_section_time", { timeout: 120_000 });
      await pipeline.getByRole("button", { name: "Use the demo's stimulus files" }).click();
      await expect(pipeline).toContainText("6 configs, 1 movie(s)", { timeout: 30_000 });
      // Let the open settle (its last heartbeats, the units table) before the clock starts.
      await page.waitForTimeout(1000);
      const before = loadavg();
      const startedAt = await page.evaluate(() => {
        const w = window as unknown as { __beats: unknown[]; __longTasks: number[] };
        w.__beats = [];
        w.__longTasks = [];
        return performance.now();
      });
      const stopProfile = profileTo ? await profileWorker(page) : undefined;
      const started = Date.now();
      await pipeline.getByRole("button", { name: "Run all steps" }).click();
      const step = (name: string) => pipeline.getByRole("listitem").filter({ has: page.getByText(name, { exact: true }) });
      for (const name of ["add_section_time", "section_spike_times", "compute_sta", "extract_features"]) {
        await expect(step(name)).toContainText("done", { timeout: 600_000 });
      }
      const runMs = Date.now() - started;
      // The page's clock when every step showed done: where the last phase ends.
      const doneAt = (await page.evaluate(() => performance.now())) - startedAt;
      const after = loadavg();
      if (stopProfile) writeFileSync(profileTo!, JSON.stringify(await stopProfile()));
      const seen = await page.evaluate(async () => {
        const w = window as unknown as { __beats: { at: number; step: string }[]; __longTasks: number[] };
        const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("checkpoints");
        const stored: Record<string, number> = {};
        for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
          if (handle.kind === "file") stored[name] = (await (handle as FileSystemFileHandle).getFile()).size;
        }
        return { beats: w.__beats, longTasks: w.__longTasks, stored };
      });
      const beats = seen.beats.map((b) => ({ at: b.at - startedAt, step: b.step }));
      return {
        runMs,
        phases: phasesOf(beats, doneAt),
        stored: seen.stored,
        longTasks: seen.longTasks.filter((ms) => ms > 50).length,
        longestTaskMs: Math.max(0, ...seen.longTasks),
        loadAverage: { before, after },
      };
    } finally {
      await context.close();
    }
  } finally {
    server.kill();
    rmSync(profile, { recursive: true, force: true });
  }
}

export function renderDemoRunAll(run: DemoRunAll): string {
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(" ");
  const lines = [`Run all steps: ${(run.runMs / 1000).toFixed(2)} s (load ${load(run.loadAverage.before)} → ${load(run.loadAverage.after)}); long tasks > 50 ms: ${run.longTasks}, longest ${run.longestTaskMs.toFixed(0)} ms`];
  for (const phase of run.phases) lines.push(`  ${phase.name.padEnd(32)} ${(phase.ms / 1000).toFixed(2).padStart(7)} s`);
  const stored = Object.entries(run.stored).sort(([a], [b]) => a.localeCompare(b));
  lines.push(`  stored: ${stored.map(([name, bytes]) => `${name} ${(bytes / 1e6).toFixed(2)} MB`).join(", ")}`);
  return lines.join("\n");
}

// Run as a script (`npx tsx bench/demoRunAll.ts`), not when bundled into bench/run.ts.
if (/demoRunAll\.[cm]?[tj]s$/.test(process.argv[1] ?? "")) {
  const args = parseArgs(process.argv.slice(2), ["json"]);
  const repeats = Number(option(args, "repeats") ?? 1);
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  // `--compare DIR`: each repeat runs that build, then this one (before/after, alternating).
  const compare = option(args, "compare");
  const builds = compare ? [compare, undefined] : [option(args, "dist")];
  const runs: (DemoRunAll & { dist: string })[] = [];
  for (let i = 0; i < repeats; i++) {
    for (const dist of builds) {
      const run = { ...(await runDemoRunAll(root, { profileTo: option(args, "profile"), dist })), dist: dist ?? "dist" };
      runs.push(run);
      if (!args.flags.has("json")) console.log(`${run.dist}: ${renderDemoRunAll(run)}`);
    }
  }
  if (args.flags.has("json")) console.log(JSON.stringify(runs, null, 2));
}
