/**
 * The real-size entries of `npm run bench` (issue 18), run only when asked for because they take
 * minutes and gigabytes:
 * - `--pair-units N --pair-minutes M [--cache-dir D]`: a generated N-unit × M-minute pair (cached in D,
 *   default the system temp folder), opened, run and saved by the CLI and in Chromium, beside h5py's
 *   write of the same file (bench/pairBench.ts);
 * - `--browser-session-gb G [--browser-budget-gb B]`: a G GB session built and saved in Chromium
 *   under a B GB memory budget (default 2), with the browser's peak PSS.
 * Their figures go into their own section of bench/RESULTS.md, which a plain run keeps.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runBrowserSpilledBench, type BrowserSpilledResult } from "./browserBench.ts";

export const LARGE_BEGIN = "<!-- large entries: begin -->";
export const LARGE_END = "<!-- large entries: end -->";

export interface LargeOptions {
  pairUnits?: number;
  pairMinutes?: number;
  cacheDir?: string;
  browser: boolean;
  h5py: boolean;
  sessionGb?: number;
  budgetGb: number;
}

interface PhaseFigures {
  ms: number;
  peakPssBytes: number;
  longTasks: number;
  longestTaskMs: number;
}

interface PairResult {
  units: number;
  minutes: number;
  pairBytes: { cmcr: number; cmtr: number };
  generateMs: number;
  cli: {
    load: { ms: number; peakRssBytes: number; fileBytes: number; ratioToH5py?: number };
    all: { ms: number; peakRssBytes: number; fileBytes: number; stepsMs: number; stepsBeyondLoadMs: number; stepReports: { name: string; status: string; ms: number }[] };
  };
  h5py: { loadRecordingFile?: { saveMs: number; fileBytes: number }; allStepsFile?: { saveMs: number; fileBytes: number } };
  browser?: {
    openMs: number;
    runMs: number;
    saveMs: number;
    fileBytes: number;
    peakPssBytes: number;
    saveRatioToH5py?: number;
    runAllOverCli: number;
    phases: { open: PhaseFigures; run: PhaseFigures; save: PhaseFigures };
  };
}

export interface LargeResult {
  date: string;
  pair?: PairResult;
  browserSession?: BrowserSpilledResult;
}

export async function runLargeEntries(root: string, here: string, options: LargeOptions, log: (line: string) => void): Promise<LargeResult> {
  const result: LargeResult = { date: new Date().toISOString() };
  if (options.pairUnits !== undefined) {
    const argv = [join(here, "pairBench.js"), String(options.pairUnits), String(options.pairMinutes ?? 60)];
    if (options.cacheDir) argv.push("--cache-dir", options.cacheDir);
    if (!options.browser) argv.push("--no-browser");
    if (!options.h5py) argv.push("--no-h5py");
    log(`pair of ${options.pairUnits} units × ${options.pairMinutes ?? 60} min: CLI, h5py${options.browser ? ", Chromium" : ""}…`);
    const run = spawnSync(process.execPath, argv, { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] });
    if (run.status !== 0) throw new Error(`pairBench failed (exit ${run.status})`);
    result.pair = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as PairResult;
  }
  if (options.sessionGb !== undefined) {
    log(`a ${options.sessionGb} GB session built and saved in Chromium under a ${options.budgetGb} GB budget…`);
    result.browserSession = await runBrowserSpilledBench(root, options.sessionGb, options.budgetGb);
  }
  return result;
}

const s = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? "—" : (ms / 1000).toFixed(1));
const gb = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? "—" : (bytes / 1e9).toFixed(2));
const x = (r: number | undefined) => (r === undefined || !Number.isFinite(r) ? "—" : `${r.toFixed(2)}×`);

export function renderLarge(result: LargeResult, command: string): string {
  const lines = [LARGE_BEGIN, "## Real-size entries", "", `Last run: ${result.date}, \`npm run bench -- ${command}\`.`, ""];
  const p = result.pair;
  if (p) {
    const h5 = p.h5py.allStepsFile;
    lines.push(
      `### ${p.units} units × ${p.minutes} min (generated pair: .cmtr ${gb(p.pairBytes.cmtr)} GB, .cmcr ${gb(p.pairBytes.cmcr)} GB${p.generateMs ? `, generated in ${s(p.generateMs)} s` : ", from the cache"})`,
      "",
      "| | time (s) | peak memory (GB) | file (GB) | vs h5py write of the same file |",
      "|---|---|---|---|---|",
      `| CLI \`--steps load_recording\` | ${s(p.cli.load.ms)} | RSS ${gb(p.cli.load.peakRssBytes)} | ${gb(p.cli.load.fileBytes)} | ${x(p.cli.load.ratioToH5py)} (h5py ${s(p.h5py.loadRecordingFile?.saveMs)} s) |`,
      `| CLI \`--steps all\` | ${s(p.cli.all.ms)} (steps ${s(p.cli.all.stepsMs)}; beyond load ${s(p.cli.all.stepsBeyondLoadMs)}) | RSS ${gb(p.cli.all.peakRssBytes)} | ${gb(p.cli.all.fileBytes)} | h5py ${s(h5?.saveMs)} s |`,
    );
    const b = p.browser;
    if (b) {
      lines.push(
        `| Chromium: drop → units table | ${s(b.openMs)} | PSS ${gb(b.phases.open.peakPssBytes)} | | |`,
        `| Chromium: Run all steps (checkpoint after each) | ${s(b.runMs)} (${x(b.runAllOverCli)} the CLI's \`--steps all\`) | PSS ${gb(b.phases.run.peakPssBytes)} | | |`,
        `| Chromium: Save (download) | ${s(b.saveMs)} | PSS ${gb(b.phases.save.peakPssBytes)} | ${gb(b.fileBytes)} | ${x(b.saveRatioToH5py)} |`,
        "",
        `Main-thread tasks over 50 ms in Chromium: open ${b.phases.open.longTasks} (longest ${b.phases.open.longestTaskMs.toFixed(0)} ms), ` +
          `run ${b.phases.run.longTasks} (longest ${b.phases.run.longestTaskMs.toFixed(0)} ms), save ${b.phases.save.longTasks} (longest ${b.phases.save.longestTaskMs.toFixed(0)} ms).`,
      );
    }
    lines.push("", `CLI steps: ${p.cli.all.stepReports.map((r) => `${r.name} ${s(r.ms)} s (${r.status})`).join(", ")}.`, "");
  }
  const bs = result.browserSession;
  if (bs) {
    lines.push(
      `### A ${bs.sizeGb} GB session in Chromium under a ${gb(bs.budgetBytes)} GB memory budget`,
      "",
      `Built in ${s(bs.buildMs)} s (${gb(bs.spilledBytes)} GB spilled to browser storage, ${gb(bs.residentBytes)} GB in memory), ` +
        `saved (${gb(bs.fileBytes)} GB) in ${s(bs.saveMs)} s; peak PSS of the browser's processes ${gb(bs.peakPssBytes)} GB.`,
      "",
    );
  }
  lines.push("<details><summary>JSON</summary>", "", "```json", JSON.stringify(result, null, 2), "```", "</details>", LARGE_END);
  return lines.join("\n");
}

/** The large-entries section of an existing RESULTS.md (kept by runs that do not redo it). */
export function existingLarge(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8");
  const from = text.indexOf(LARGE_BEGIN);
  const to = text.indexOf(LARGE_END);
  return from >= 0 && to > from ? text.slice(from, to + LARGE_END.length) : undefined;
}

/** RESULTS.md with its large-entries section replaced (or added at the end). */
export function withLarge(text: string, section: string): string {
  const from = text.indexOf(LARGE_BEGIN);
  const to = text.indexOf(LARGE_END);
  if (from >= 0 && to > from) return text.slice(0, from) + section + text.slice(to + LARGE_END.length);
  return `${text.trimEnd()}\n\n${section}\n`;
}
