/**
 * A real-size recording day, end to end: `node dist-node/bench/pairBench.js UNITS MINUTES [--cache-dir D]
 * [--rate-scale 0.5] [--seed 1] [--repeats N] [--no-browser] [--no-h5py]` (run by
 * `npm run bench -- --pair-units 1000 --pair-minutes 60`). Prints JSON.
 *
 * The pair (the shared demo_set_a playlist, repeated until the recording ends) is generated once into
 * the cache folder (default: the system temp folder, never the repo) in a child process, and reused:
 * `pair-<units>u-<minutes>m-r<rate scale>-s<seed>.cmcr` and `…-.cmtr`. Rate scale 0.5 (the default)
 * is issue 18's pair: about 20 M included spikes for 1,000 units × 60 min (a 4.1 GB `.cmtr`); an
 * existing pair made by `npm run make-recording -- --units 1000 --minutes 60 --seed 1 --rate-scale 0.5`
 * can be linked in under that name instead of generating it again (11 minutes).
 * `add_section_time.repeats` is the number of playlist showings the recording's frames hold, rounded up
 * (37 for 60 minutes, as in the issue's measurement), in the CLI and in Chromium alike.
 * Then, each in a fresh process:
 * - the CLI: `process --steps load_recording`, then `--steps all` (playlist, movie lengths, stimulus
 *   configs; no noise movie, so compute_sta gives up), with wall time, per-step times and peak RSS
 *   (the process's VmHWM, read until it exits);
 * - h5py writing the same file (bench/h5pyCopy.py), the yardstick for our writes;
 * - the `load_recording` output and the `--steps all` output opened as session files until their
 *   units table is ready, in Node (bench/openSessionFile.ts) and in Chromium (bench/browserOpenSession.ts);
 * - Chromium (the built app, as a user would): drop the pair until the units table shows, Run all
 *   steps with the same inputs (default settings: a checkpoint after each step), Save (download and
 *   File System Access),
 *   with the peak PSS of the browser's processes per phase and the main thread's long tasks.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, option } from "../src/cli/args.ts";
import { generateCachedPair } from "./cachedPair.ts";
import { runPairInBrowser, type BrowserPairResult } from "./browserPair.ts";
import { DEMO_PLAYLIST, DISPLAY_HZ, PAD_FRAMES } from "../tools/recordingGenerator.ts";

const args = parseArgs(process.argv.slice(2), ["generate", "no-browser", "no-h5py"]);
const [unitsArg, minutesArg] = args.positionals;
const units = Number(unitsArg ?? 1000);
const minutes = Number(minutesArg ?? 60);
const cacheDir = option(args, "cache-dir") ?? join(tmpdir(), "hdmea-bench-recordings");
const rateScale = Number(option(args, "rate-scale") ?? 0.5);
const seed = Number(option(args, "seed") ?? 1);
/** Frames of one showing of demo_set_a as the lab's section-time arithmetic counts them (each movie padded on both sides, plus one). */
const PLAYLIST_FRAMES = DEMO_PLAYLIST.reduce((sum, m) => sum + m.length + 2 * PAD_FRAMES + 1, 0);
const repeats = Number(option(args, "repeats") ?? Math.ceil((minutes * 60 * DISPLAY_HZ) / PLAYLIST_FRAMES));
const name = `pair-${units}u-${minutes}m-r${rateScale}-s${seed}`;
const cmcrPath = join(cacheDir, `${name}.cmcr`);
const cmtrPath = join(cacheDir, `${name}-.cmtr`);
const here = dirname(fileURLToPath(import.meta.url));
/** dist-node/bench → the repo. */
const root = join(here, "..", "..");
const STIMULUS = join(root, "tools/stimulus");
const log = (line: string) => process.stderr.write(`${line}\n`);

if (args.flags.has("generate")) {
  await generateCachedPair(cacheDir, name, { units, minutes, seed, rateScale });
} else {
  let generateMs = 0;
  if (!existsSync(cmcrPath) || !existsSync(cmtrPath)) {
    mkdirSync(cacheDir, { recursive: true });
    log(`generating the ${units}-unit × ${minutes}-minute pair into ${cacheDir} (once; minutes)…`);
    const t = performance.now();
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), String(units), String(minutes), "--cache-dir", cacheDir, "--rate-scale", String(rateScale), "--seed", String(seed), "--generate"], {
      stdio: ["ignore", 2, 2],
    });
    if (child.status !== 0) throw new Error(`generating the pair failed (${child.signal ?? `exit ${child.status}`})`);
    generateMs = performance.now() - t;
  }
  const pairBytes = { cmcr: statSync(cmcrPath).size, cmtr: statSync(cmtrPath).size };
  const work = join(cacheDir, `run-${process.pid}`);
  mkdirSync(work, { recursive: true });
  // The session is about the .cmtr's size; the CLI's output, h5py's copy of it, Chromium's checkpoint,
  // its save's temporary file and the download each take about that much at their peak.
  requireFreeDisk(work, 4 * pairBytes.cmtr, "the CLI's output and h5py's copy, then Chromium's checkpoint, save and download");
  const stimulusArgs = [
    "--playlist", join(STIMULUS, "playlist.example.csv"),
    "--playlist-name", "demo_set_a",
    "--movie-length", join(STIMULUS, "movie_length.example.csv"),
    "--stimulus-config", join(STIMULUS, "stimuli"),
    "--param", `add_section_time.repeats=${repeats}`,
  ];
  try {
    log(`CLI: process --steps load_recording… (load average ${loadNow().join(" ")})`);
    const load = await runCli(["--steps", "load_recording"], join(work, "load.h5"));
    keepPartial({ cliLoad: load });
    const h5pyLoad = args.flags.has("no-h5py") ? undefined : h5pyWrite(join(work, "load.h5"), join(work, "h5py.h5"));
    keepPartial({ h5pyLoad });
    log("the load_recording output as a session file: open until its units table (Node, then Chromium)…");
    const openLoadFile = openAsSession(join(work, "load.h5"));
    keepPartial({ openLoadFile });
    rmSync(join(work, "load.h5"), { force: true });
    log(`CLI: process --steps all (add_section_time.repeats=${repeats})… (load average ${loadNow().join(" ")})`);
    const all = await runCli(["--steps", "all", ...stimulusArgs], join(work, "all.h5"));
    keepPartial({ cliAll: all });
    const h5pyAll = args.flags.has("no-h5py") ? undefined : h5pyWrite(join(work, "all.h5"), join(work, "h5py.h5"));
    keepPartial({ h5pyAll });
    log("the --steps all output as a session file: open until its units table (Node, then Chromium)…");
    const openSession = openAsSession(join(work, "all.h5"));
    keepPartial({ openSession });
    rmSync(join(work, "all.h5"), { force: true });

    let browser: BrowserPairResult | undefined;
    if (!args.flags.has("no-browser")) {
      log(`Chromium: open, Run all steps, Save… (load average ${loadNow().join(" ")})`);
      browser = await runPairInBrowser(root, {
        cmcrPath,
        cmtrPath,
        datasetId: name,
        playlist: join(STIMULUS, "playlist.example.csv"),
        movieLength: join(STIMULUS, "movie_length.example.csv"),
        configs: readdirSync(join(STIMULUS, "stimuli")).map((f) => join(STIMULUS, "stimuli", f)),
        params: { add_section_time: { repeats: String(repeats) } },
        onPhase: (phase, figures) => keepPartial({ [`browser-${phase}`]: figures }),
      });
    }
    const stepsMs = (r: CliRun) => r.stepReports.reduce((sum, s) => sum + s.ms, 0);
    process.stdout.write(
      `${JSON.stringify({
        units,
        minutes,
        rateScale,
        seed,
        repeats,
        spikes: load.spikes,
        pairBytes,
        generateMs,
        cli: {
          load: { ...load, ratioToH5py: h5pyLoad && load.ms / h5pyLoad.saveMs },
          all: { ...all, stepsMs: stepsMs(all), stepsBeyondLoadMs: all.ms - load.ms },
        },
        h5py: { loadRecordingFile: h5pyLoad, allStepsFile: h5pyAll },
        openSession,
        openLoadFile,
        browser: browser && {
          ...browser,
          saveRatioToH5py: h5pyAll && browser.saveMs / h5pyAll.saveMs,
          saveFsaRatioToH5py: h5pyAll && browser.saveFsaMs !== undefined ? browser.saveFsaMs / h5pyAll.saveMs : undefined,
          runAllOverCli: browser.runMs / all.ms,
        },
      })}\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A session file opened until its units table, in Node (the CLI's and the worker's open) and in Chromium (dropped on the page). */
function openAsSession(file: string) {
  return {
    node: tsxJson<{ loadMs: number; unitsShownMs: number; peakRss: number; residentBytes: number; leftInFileBytes: number; fileBytes: number }>("bench/openSessionFile.ts", [file]),
    browser: args.flags.has("no-browser") ? undefined : tsxJson<{ listedMs: number; unitsTableMs: number; fileBytes: number }>("bench/browserOpenSession.ts", [file]),
  };
}

/**
 * Each phase's figures as soon as it ends, in `<cache>/<name>.partial.json`: a run stopped midway
 * (a deadline, a full disk) still leaves what it measured. The complete result goes to stdout.
 */
function keepPartial(figures: Record<string, unknown>): void {
  const path = join(cacheDir, `${name}.partial.json`);
  let sofar: Record<string, unknown> = {};
  try {
    sofar = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    if (sofar.pid !== process.pid) sofar = {};
  } catch {
    // the first phase
  }
  writeFileSync(path, `${JSON.stringify({ ...sofar, pid: process.pid, units, minutes, rateScale, seed, repeats, ...figures, at: new Date().toISOString() }, null, 2)}\n`);
}

/** The 1-, 5- and 15-minute load averages now, rounded: the machine is shared, so every figure carries them. */
function loadNow(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

/** Stops before a run that would fill the disk (other people's work shares it). */
function requireFreeDisk(dir: string, bytes: number, what: string): void {
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  if (free < bytes + 5e9) {
    throw new Error(`pairBench: ${dir} has ${(free / 1e9).toFixed(1)} GB free; ${what} need about ${(bytes / 1e9).toFixed(1)} GB, plus 5 GB to spare`);
  }
}

/** A bench script run with tsx from the repo (the ones `npm run build:node` does not bundle); its last stdout line is JSON. */
function tsxJson<T>(script: string, argv: string[]): T & { loadAverage: { before: number[]; after: number[] } } {
  const before = loadNow();
  const run = spawnSync(join(root, "node_modules/.bin/tsx"), [join(root, script), ...argv], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1 << 24,
    env: { ...process.env, BENCH_PORT: String(Number(process.env.BENCH_PORT ?? 4180) + 1) },
  });
  if (run.status !== 0) throw new Error(`${script} ${argv.join(" ")} failed (${run.signal ?? `exit ${run.status}`}):\n${run.stderr}`);
  return { ...(JSON.parse(run.stdout.trim().split("\n").at(-1)!) as T), loadAverage: { before, after: loadNow() } };
}

interface CliRun {
  ms: number;
  peakRssBytes: number;
  fileBytes: number;
  units: number | null;
  spikes?: number;
  stepReports: { name: string; status: string; ms: number }[];
  loadAverage: { before: number[]; after: number[] };
}

/** `hdmea process` in a child, its peak RSS from /proc (VmHWM covers its worker threads). */
async function runCli(extra: string[], out: string): Promise<CliRun> {
  const before = loadNow();
  const t = performance.now();
  const child = spawn(process.execPath, [join(root, "bin/hdmea.js"), "process", cmtrPath, "--cmcr", cmcrPath, "--out", out, "--overwrite", "--json", ...extra], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (match) peak = Math.max(peak, Number(match[1]) * 1024);
    } catch {
      // exited
    }
  }, 100);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearInterval(poll);
  const ms = performance.now() - t;
  if (code !== 0) throw new Error(`hdmea process ${extra.join(" ")} failed (exit ${code}):\n${stdout.slice(-2000)}`);
  const result = JSON.parse(stdout) as { units: number | null; spikes?: number; stepReports: CliRun["stepReports"] };
  return { ms, peakRssBytes: peak, fileBytes: statSync(out).size, units: result.units, spikes: result.spikes, stepReports: result.stepReports, loadAverage: { before, after: loadNow() } };
}

function h5pyWrite(src: string, dst: string): { saveMs: number; loadMs: number; fileBytes: number; loadAverage: { before: number[]; after: number[] } } {
  const before = loadNow();
  const run = spawnSync("/usr/bin/python3", [join(root, "bench/h5pyCopy.py"), src, dst], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`h5pyCopy.py ${src} failed:\n${run.stderr}`);
  const fileBytes = statSync(dst).size;
  rmSync(dst, { force: true });
  return { ...(JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { saveMs: number; loadMs: number }), fileBytes, loadAverage: { before, after: loadNow() } };
}
