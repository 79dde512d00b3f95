/**
 * A real-size recording day, end to end: `node dist-node/bench/pairBench.js UNITS MINUTES [--cache-dir D]
 * [--no-browser] [--no-h5py]` (run by `npm run bench -- --pair-units 1000 --pair-minutes 60`). Prints JSON.
 *
 * The pair (the shared demo_set_a playlist, repeated until the recording ends) is generated once into
 * the cache folder (default: the system temp folder, never the repo) in a child process, and reused.
 * Then, each in a fresh process:
 * - the CLI: `process --steps load_recording`, then `--steps all` (playlist, movie lengths, stimulus
 *   configs; no noise movie, so compute_sta gives up), with wall time, per-step times and peak RSS
 *   (the process's VmHWM, read until it exits);
 * - h5py writing the same file (bench/h5pyCopy.py), the yardstick for our writes;
 * - Chromium (the built app, as a user would): drop the pair until the units table shows, Run all
 *   steps with the same inputs (default settings: a checkpoint after each step), Save (download),
 *   with the peak PSS of the browser's processes per phase and the main thread's long tasks.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, option } from "../src/cli/args.ts";
import { generateCachedPair } from "./cachedPair.ts";
import { runPairInBrowser, type BrowserPairResult } from "./browserPair.ts";

const args = parseArgs(process.argv.slice(2), ["generate", "no-browser", "no-h5py"]);
const [unitsArg, minutesArg] = args.positionals;
const units = Number(unitsArg ?? 1000);
const minutes = Number(minutesArg ?? 60);
const cacheDir = option(args, "cache-dir") ?? join(tmpdir(), "hdmea-bench-recordings");
const name = `pair-${units}u-${minutes}m`;
const cmcrPath = join(cacheDir, `${name}.cmcr`);
const cmtrPath = join(cacheDir, `${name}-.cmtr`);
const here = dirname(fileURLToPath(import.meta.url));
/** dist-node/bench → the repo. */
const root = join(here, "..", "..");
const STIMULUS = join(root, "tools/stimulus");
const log = (line: string) => process.stderr.write(`${line}\n`);

if (args.flags.has("generate")) {
  await generateCachedPair(cacheDir, name, { units, minutes, seed: 18 });
} else {
  let generateMs = 0;
  if (!existsSync(cmcrPath) || !existsSync(cmtrPath)) {
    mkdirSync(cacheDir, { recursive: true });
    log(`generating the ${units}-unit × ${minutes}-minute pair into ${cacheDir} (once; minutes)…`);
    const t = performance.now();
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), String(units), String(minutes), "--cache-dir", cacheDir, "--generate"], {
      stdio: ["ignore", 2, 2],
    });
    if (child.status !== 0) throw new Error(`generating the pair failed (${child.signal ?? `exit ${child.status}`})`);
    generateMs = performance.now() - t;
  }
  const pairBytes = { cmcr: statSync(cmcrPath).size, cmtr: statSync(cmtrPath).size };
  const work = join(cacheDir, `run-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    log("CLI: process --steps load_recording…");
    const load = await runCli(["--steps", "load_recording"], join(work, "load.h5"));
    const h5pyLoad = args.flags.has("no-h5py") ? undefined : h5pyWrite(join(work, "load.h5"), join(work, "h5py.h5"));
    rmSync(join(work, "load.h5"), { force: true });
    log("CLI: process --steps all…");
    const all = await runCli(
      [
        "--steps", "all",
        "--playlist", join(STIMULUS, "playlist.example.csv"),
        "--playlist-name", "demo_set_a",
        "--movie-length", join(STIMULUS, "movie_length.example.csv"),
        "--stimulus-config", join(STIMULUS, "stimuli"),
      ],
      join(work, "all.h5"),
    );
    const h5pyAll = args.flags.has("no-h5py") ? undefined : h5pyWrite(join(work, "all.h5"), join(work, "h5py.h5"));
    rmSync(join(work, "all.h5"), { force: true });

    let browser: BrowserPairResult | undefined;
    if (!args.flags.has("no-browser")) {
      log("Chromium: open, Run all steps, Save…");
      browser = await runPairInBrowser(root, {
        cmcrPath,
        cmtrPath,
        datasetId: name,
        playlist: join(STIMULUS, "playlist.example.csv"),
        movieLength: join(STIMULUS, "movie_length.example.csv"),
        configs: readdirSync(join(STIMULUS, "stimuli")).map((f) => join(STIMULUS, "stimuli", f)),
        downloadTo: join(work, "browser.h5"),
      });
    }
    const stepsMs = (r: CliRun) => r.stepReports.reduce((sum, s) => sum + s.ms, 0);
    process.stdout.write(
      `${JSON.stringify({
        units,
        minutes,
        pairBytes,
        generateMs,
        cli: {
          load: { ...load, ratioToH5py: h5pyLoad && load.ms / h5pyLoad.saveMs },
          all: { ...all, stepsMs: stepsMs(all), stepsBeyondLoadMs: all.ms - load.ms },
        },
        h5py: { loadRecordingFile: h5pyLoad, allStepsFile: h5pyAll },
        browser: browser && {
          ...browser,
          saveRatioToH5py: h5pyAll && browser.saveMs / h5pyAll.saveMs,
          runAllOverCli: browser.runMs / all.ms,
        },
      })}\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface CliRun {
  ms: number;
  peakRssBytes: number;
  fileBytes: number;
  units: number | null;
  stepReports: { name: string; status: string; ms: number }[];
}

/** `hdmea process` in a child, its peak RSS from /proc (VmHWM covers its worker threads). */
async function runCli(extra: string[], out: string): Promise<CliRun> {
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
  const result = JSON.parse(stdout) as { units: number | null; stepReports: CliRun["stepReports"] };
  return { ms, peakRssBytes: peak, fileBytes: statSync(out).size, units: result.units, stepReports: result.stepReports };
}

function h5pyWrite(src: string, dst: string): { saveMs: number; loadMs: number; fileBytes: number } {
  const run = spawnSync("/usr/bin/python3", [join(root, "bench/h5pyCopy.py"), src, dst], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`h5pyCopy.py ${src} failed:\n${run.stderr}`);
  const fileBytes = statSync(dst).size;
  rmSync(dst, { force: true });
  return { ...(JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { saveMs: number; loadMs: number }), fileBytes };
}
