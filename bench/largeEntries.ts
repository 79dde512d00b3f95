/**
 * The real-size entries of `npm run bench` (issue 18), run only when asked:
 * - `--pair-units 1000 --pair-minutes 60 [--cache-dir D] [--rate-scale 0.5] [--seed 1] [--repeats N]`:
 *   a generated recording day (cached) through the CLI and Chromium, with h5py's write of the same
 *   files beside them (bench/pairBench.ts);
 * - `--browser-session-gb 20 [--browser-budget-gb 2]`: a session that size built and saved in
 *   Chromium under that memory budget, with the browser's peak PSS.
 * Their figures go into their own section of bench/RESULTS.md, which a plain run keeps; a run of one
 * of the two keeps the other's last figures (from the section's JSON).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statfsSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { runBrowserSpilledBench, type BrowserSpilledResult } from "./browserBench.ts";
import type { BrowserPairResult } from "./browserPair.ts";

export const LARGE_BEGIN = "<!-- large entries: begin -->";
export const LARGE_END = "<!-- large entries: end -->";

export interface LargeOptions {
  pairUnits?: number;
  pairMinutes?: number;
  cacheDir?: string;
  rateScale?: number;
  seed?: number;
  repeats?: number;
  browser: boolean;
  h5py: boolean;
  sessionGb?: number;
  budgetGb: number;
}

type LoadAverage = { before: number[]; after: number[] };

interface CliFigures {
  ms: number;
  peakRssBytes: number;
  fileBytes: number;
  units: number | null;
  stepReports: { name: string; status: string; ms: number }[];
  loadAverage: LoadAverage;
}

interface H5pyFigures {
  saveMs: number;
  loadMs: number;
  fileBytes: number;
  loadAverage: LoadAverage;
}

interface PairResult {
  date?: string;
  units: number;
  minutes: number;
  rateScale: number;
  seed: number;
  repeats: number;
  spikes?: number;
  pairBytes: { cmcr: number; cmtr: number };
  generateMs: number;
  cli: {
    load: CliFigures & { ratioToH5py?: number };
    all: CliFigures & { stepsMs: number; stepsBeyondLoadMs: number };
  };
  h5py: { loadRecordingFile?: H5pyFigures; allStepsFile?: H5pyFigures };
  /** The `--steps all` output opened as a session file. */
  openSession: OpenedFile;
  /** The `load_recording` output opened as a session file (the session a drop makes, as a checkpoint or a saved file holds it). */
  openLoadFile?: OpenedFile;
  browser?: BrowserPairResult & { saveRatioToH5py?: number; saveFsaRatioToH5py?: number; runAllOverCli: number };
}

interface OpenedFile {
  node: { loadMs: number; unitsShownMs: number; peakRss: number; fileBytes: number; loadAverage: LoadAverage };
  browser?: { listedMs: number; unitsTableMs: number; fileBytes: number; loadAverage: LoadAverage };
}

type SessionResult = BrowserSpilledResult & { date?: string; loadAverage: LoadAverage };

export interface LargeResult {
  date: string;
  pair?: PairResult;
  browserSession?: SessionResult;
}

const loadNow = () => loadavg().map((v) => Math.round(v * 100) / 100);

export async function runLargeEntries(root: string, here: string, options: LargeOptions, log: (line: string) => void): Promise<LargeResult> {
  const date = new Date().toISOString();
  const result: LargeResult = { date };
  if (options.pairUnits !== undefined) {
    const argv = [join(here, "pairBench.js"), String(options.pairUnits), String(options.pairMinutes ?? 60)];
    if (options.cacheDir) argv.push("--cache-dir", options.cacheDir);
    if (options.rateScale !== undefined) argv.push("--rate-scale", String(options.rateScale));
    if (options.seed !== undefined) argv.push("--seed", String(options.seed));
    if (options.repeats !== undefined) argv.push("--repeats", String(options.repeats));
    if (!options.browser) argv.push("--no-browser");
    if (!options.h5py) argv.push("--no-h5py");
    log(`pair of ${options.pairUnits} units × ${options.pairMinutes ?? 60} min: CLI, h5py${options.browser ? ", Chromium" : ""}…`);
    const run = spawnSync(process.execPath, argv, { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] });
    if (run.status !== 0) throw new Error(`pairBench failed (${run.signal ?? `exit ${run.status}`})`);
    result.pair = { date, ...(JSON.parse(run.stdout.trim().split("\n").at(-1)!) as PairResult) };
  }
  if (options.sessionGb !== undefined) {
    // Browser storage holds the spilled arrays and then the saved file: about twice the session.
    const fs = statfsSync(tmpdir());
    const free = fs.bavail * fs.bsize;
    if (free < 2 * options.sessionGb * 1e9 + 5e9) {
      throw new Error(`--browser-session-gb ${options.sessionGb}: ${tmpdir()} has ${(free / 1e9).toFixed(1)} GB free, the run needs about ${(2 * options.sessionGb).toFixed(0)} GB plus 5 GB to spare; try a smaller size`);
    }
    log(`a ${options.sessionGb} GB session built and saved in Chromium under a ${options.budgetGb} GB budget… (load average ${loadNow().join(" ")})`);
    const before = loadNow();
    const session = await runBrowserSpilledBench(root, options.sessionGb, options.budgetGb);
    result.browserSession = { date, ...session, loadAverage: { before, after: loadNow() } };
  }
  return result;
}

const s = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? "—" : (ms / 1000).toFixed(1));
const gb = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? "—" : (bytes / 1e9).toFixed(2));
const mb = (bytes: number) => (bytes >= 1e9 ? `${gb(bytes)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);
const x = (r: number | undefined) => (r === undefined || !Number.isFinite(r) ? "—" : `${r.toFixed(2)}×`);
const la = (l: LoadAverage | undefined) => (l ? `${l.before[0].toFixed(1)} → ${l.after[0].toFixed(1)}` : "—");

/** Issue 18's targets, each with the figure that decides it (undefined: not measured in this run). */
function targets(result: LargeResult): [string, string, boolean | undefined][] {
  const rows: [string, string, boolean | undefined][] = [];
  const p = result.pair;
  if (p) {
    const b = p.browser;
    const cliAllSteps = p.cli.all.stepReports.filter((r) => r.name !== "load_recording").reduce((sum, r) => sum + r.ms, 0);
    rows.push(
      // The units show as soon as the .cmtr is listed, their spike counts filling in until the session is ready.
      [
        "Chromium: drop → units table ≤ 20 s",
        b ? `${s(b.unitsListedMs ?? b.openMs)} s listed, ${s(b.openMs)} s with every spike count` : "—",
        b && (b.unitsListedMs ?? b.openMs) <= 20_000,
      ],
      ["Chromium: peak PSS ≤ 1.5 GB through open, pipeline and save", b ? `${gb(b.peakPssBytes)} GB` : "—", b && b.peakPssBytes <= 1.5e9],
      ["Chromium: Save (download) ≤ 1.2 × h5py write of the same file", b ? `${x(b.saveRatioToH5py)} (${s(b.saveMs)} s vs ${s(p.h5py.allStepsFile?.saveMs)} s)` : "—", b?.saveRatioToH5py === undefined ? undefined : b.saveRatioToH5py <= 1.2],
      [
        "Chromium: Save (File System Access) ≤ 1.2 × h5py write of the same file",
        b?.saveFsaMs !== undefined ? `${x(b.saveFsaRatioToH5py)} (${s(b.saveFsaMs)} s vs ${s(p.h5py.allStepsFile?.saveMs)} s)` : "not measured in this run",
        b?.saveFsaRatioToH5py === undefined ? undefined : b.saveFsaRatioToH5py <= 1.2,
      ],
      [
        "CLI `--steps load_recording` ≤ 1.3 × h5py write of its output",
        `${x(p.cli.load.ratioToH5py)} (${s(p.cli.load.ms)} s vs ${s(p.h5py.loadRecordingFile?.saveMs)} s)`,
        p.cli.load.ratioToH5py === undefined ? undefined : p.cli.load.ratioToH5py <= 1.3,
      ],
      ["CLI `--steps load_recording`: peak RSS ≤ 1.5 GB", `${gb(p.cli.load.peakRssBytes)} GB`, p.cli.load.peakRssBytes <= 1.5e9],
      [
        "CLI `--steps all`: the steps beyond load ≤ 20 s",
        `${s(p.cli.all.stepsBeyondLoadMs)} s more than \`load_recording\` alone (steps after load_recording: ${s(cliAllSteps)} s)`,
        p.cli.all.stepsBeyondLoadMs <= 20_000,
      ],
      ["CLI `--steps all`: peak RSS ≤ 2 GB", `${gb(p.cli.all.peakRssBytes)} GB`, p.cli.all.peakRssBytes <= 2e9],
      ["Chromium: Run all steps (from open to saved) within 1.5 × the CLI's `--steps all`", b ? `${x((b.openMs + b.runMs + b.saveMs) / p.cli.all.ms)} (${s(b.openMs + b.runMs + b.saveMs)} s vs ${s(p.cli.all.ms)} s)` : "—", b && b.openMs + b.runMs + b.saveMs <= 1.5 * p.cli.all.ms],
      ...[p.openLoadFile, p.openSession].flatMap((o, i): [string, string, boolean | undefined][] =>
        o
          ? [
              [`a ${gb(o.node.fileBytes)} GB session file (${i === 0 ? "`load_recording`" : "`--steps all`"} output) opens (units shown) ≤ 3 s: CLI`, `${s(o.node.unitsShownMs)} s`, o.node.unitsShownMs <= 3000],
              [
                `a ${gb(o.node.fileBytes)} GB session file (${i === 0 ? "`load_recording`" : "`--steps all`"} output) opens (units shown) ≤ 3 s: Chromium`,
                o.browser ? `${s(o.browser.unitsTableMs)} s` : "—",
                o.browser && o.browser.unitsTableMs <= 3000,
              ],
            ]
          : [],
      ),
    );
  }
  const bs = result.browserSession;
  if (bs) rows.push([`a 20 GB session built and saved in Chromium under a 2 GB budget: peak PSS ≤ 2.5 GB (run at ${bs.sizeGb} GB, ${gb(bs.budgetBytes)} GB budget)`, `${gb(bs.peakPssBytes)} GB; built in ${s(bs.buildMs)} s, saved in ${s(bs.saveMs)} s`, bs.peakPssBytes <= 2.5e9]);
  return rows;
}

export function renderLarge(result: LargeResult, command: string): string {
  const lines = [LARGE_BEGIN, "## Real-size entries (issue 18)", "", `Last run: ${result.date}, \`npm run bench -- ${command}\`. The machine is shared (2 cores): every figure has the 1-minute load average when it started and ended beside it.`, ""];
  lines.push("| target | measured | met |", "|---|---|---|", ...targets(result).map(([what, value, ok]) => `| ${what} | ${value} | ${ok === undefined ? "—" : ok ? "yes" : "**no**"} |`), "");
  const p = result.pair;
  if (p) {
    const h5 = p.h5py.allStepsFile;
    lines.push(
      `### ${p.units} units × ${p.minutes} min${p.date && p.date !== result.date ? ` (run ${p.date})` : ""}`,
      "",
      `Generated pair (seed ${p.seed}, rate scale ${p.rateScale}): .cmtr ${gb(p.pairBytes.cmtr)} GB, .cmcr ${gb(p.pairBytes.cmcr)} GB, ${p.spikes === undefined ? "?" : p.spikes >= 1e6 ? `${(p.spikes / 1e6).toFixed(1)} M` : p.spikes} included spikes${p.generateMs ? `, generated in ${s(p.generateMs)} s` : ", from the cache"}; \`add_section_time.repeats\` ${p.repeats}.`,
      "",
      "| | time (s) | peak memory (GB) | file (GB) | vs h5py write of the same file | load avg (1 min) |",
      "|---|---|---|---|---|---|",
      `| CLI \`--steps load_recording\` | ${s(p.cli.load.ms)} | RSS ${gb(p.cli.load.peakRssBytes)} | ${gb(p.cli.load.fileBytes)} | ${x(p.cli.load.ratioToH5py)} (h5py ${s(p.h5py.loadRecordingFile?.saveMs)} s) | ${la(p.cli.load.loadAverage)} |`,
      `| CLI \`--steps all\` | ${s(p.cli.all.ms)} (steps ${s(p.cli.all.stepsMs)}; beyond load ${s(p.cli.all.stepsBeyondLoadMs)}) | RSS ${gb(p.cli.all.peakRssBytes)} | ${gb(p.cli.all.fileBytes)} | h5py ${s(h5?.saveMs)} s | ${la(p.cli.all.loadAverage)} |`,
      `| h5py: write the \`load_recording\` file / the \`--steps all\` file | ${s(p.h5py.loadRecordingFile?.saveMs)} / ${s(h5?.saveMs)} | | ${gb(p.h5py.loadRecordingFile?.fileBytes)} / ${gb(h5?.fileBytes)} | | ${la(p.h5py.loadRecordingFile?.loadAverage)} / ${la(h5?.loadAverage)} |`,
    );
    for (const [label, o] of [["`load_recording`", p.openLoadFile], ["`--steps all`", p.openSession]] as const) {
      if (!o) continue;
      lines.push(`| Node: open the ${label} file until its units table | ${s(o.node.unitsShownMs)} | RSS ${gb(o.node.peakRss)} | ${gb(o.node.fileBytes)} | | ${la(o.node.loadAverage)} |`);
      if (o.browser) lines.push(`| Chromium: open the ${label} file until its units table | ${s(o.browser.unitsTableMs)} (listed ${s(o.browser.listedMs)}) | | ${gb(o.browser.fileBytes)} | | ${la(o.browser.loadAverage)} |`);
    }
    const b = p.browser;
    if (b) {
      lines.push(
        `| Chromium: drop → units table | ${s(b.openMs)} (listed ${s(b.unitsListedMs)}) | PSS ${gb(b.phases.open.peakPssBytes)} | | | ${la(b.phases.open.loadAverage)} |`,
        `| Chromium: Run all steps (checkpoint after each) | ${s(b.runMs)} (${x(b.runAllOverCli)} the CLI's \`--steps all\`) | PSS ${gb(b.phases.run.peakPssBytes)} | | | ${la(b.phases.run.loadAverage)} |`,
        `| Chromium: Save (download) | ${s(b.saveMs)} | PSS ${gb(b.phases.save.peakPssBytes)} | ${gb(b.fileBytes)} | ${x(b.saveRatioToH5py)} | ${la(b.phases.save.loadAverage)} |`,
        ...(b.phases.saveFsa
          ? [`| Chromium: Save (File System Access, a picked file) | ${s(b.saveFsaMs)} | PSS ${gb(b.phases.saveFsa.peakPssBytes)} | ${gb(b.fsaFileBytes)} | ${x(b.saveFsaRatioToH5py)} | ${la(b.phases.saveFsa.loadAverage)} |`]
          : []),
        "",
        `Chromium's steps (each from its first mention on the progress line to the next step's, its checkpoint included): ${b.steps.map((st) => `${st.name} ${s(st.ms)} s`).join(", ") || "—"}.`,
        "",
        `Checkpoint writes in browser storage: ${b.checkpointWrites.map((c) => `after ${c.afterStep}: ${c.kind} ${mb(c.bytes)}`).join("; ") || "none seen"}.`,
        "",
        `Main-thread tasks over 50 ms in Chromium: open ${b.phases.open.longTasks} (longest ${b.phases.open.longestTaskMs.toFixed(0)} ms), ` +
          `run ${b.phases.run.longTasks} (longest ${b.phases.run.longestTaskMs.toFixed(0)} ms), save ${b.phases.save.longTasks} (longest ${b.phases.save.longestTaskMs.toFixed(0)} ms)` +
          (b.phases.saveFsa ? `, save to a picked file ${b.phases.saveFsa.longTasks} (longest ${b.phases.saveFsa.longestTaskMs.toFixed(0)} ms).` : "."),
      );
    }
    lines.push("", `CLI steps (\`--steps all\`): ${p.cli.all.stepReports.map((r) => `${r.name} ${s(r.ms)} s (${r.status})`).join(", ")}.`, "");
  }
  const bs = result.browserSession;
  if (bs) {
    lines.push(
      `### A ${bs.sizeGb} GB session in Chromium under a ${gb(bs.budgetBytes)} GB memory budget${bs.date && bs.date !== result.date ? ` (run ${bs.date})` : ""}`,
      "",
      `Built in ${s(bs.buildMs)} s (${gb(bs.spilledBytes)} GB spilled to browser storage, ${gb(bs.residentBytes)} GB in memory), ` +
        `saved (${gb(bs.fileBytes)} GB) in ${s(bs.saveMs)} s; peak PSS of the browser's processes ${gb(bs.peakPssBytes)} GB; load average ${la(bs.loadAverage)}.`,
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

/** `fresh` with the entries it did not run taken from the section's last JSON, so running one entry keeps the other's figures. */
export function mergedWithExisting(path: string, fresh: LargeResult): LargeResult {
  const section = existingLarge(path);
  const json = section && /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!json) return fresh;
  try {
    const old = JSON.parse(json) as LargeResult;
    return {
      ...fresh,
      pair: fresh.pair ?? (old.pair?.openSession ? { date: old.date, ...old.pair } : undefined),
      browserSession: fresh.browserSession ?? (old.browserSession ? { date: old.date, ...old.browserSession } : undefined),
    };
  } catch {
    return fresh;
  }
}

/** RESULTS.md with its large-entries section replaced (or added at the end). */
export function withLarge(text: string, section: string): string {
  const from = text.indexOf(LARGE_BEGIN);
  const to = text.indexOf(LARGE_END);
  if (from >= 0 && to > from) return text.slice(0, from) + section + text.slice(to + LARGE_END.length);
  return `${text.trimEnd()}\n\n${section}\n`;
}
