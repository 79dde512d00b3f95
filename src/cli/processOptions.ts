/**
 * `hdmea process` options, parsed and checked once, as plain data: the batch runner sends them to its
 * worker threads unchanged (structured clone), so nothing here may hold a class instance.
 */
import { ALL_STEPS, PIPELINE_STEPS, type PipelineParams } from "../core/pipeline.ts";
import { LOAD_STEPS } from "../core/steps/stepContract.ts";
import { UsageError, option, options, rejectUnknown, type ParsedArgs } from "./args.ts";
import { parseExecOptions, type ExternalStepOption } from "./externalStep.ts";
import { parseStepParams } from "./stepParams.ts";
import { DEFAULT_WATCHDOG_SECONDS } from "./watchdog.ts";

/** The load step is not in PIPELINE_STEPS (loading creates the session) but is a step to the user. */
export const LOAD_STEP = "load_recording";
export const KNOWN_STEPS: readonly string[] = [LOAD_STEP, ...PIPELINE_STEPS.map((s) => s.name)];

export interface NoiseMovieOption {
  /** The movie it is for: `MOVIE=FILE.npy`, else the file name without `.npy`. */
  movie: string;
  path: string;
}

export type SaveModeOption = "deferred" | "immediate";

export interface ProcessOptions {
  /**
   * Steps after loading, in the order given: built-in ones (the runner runs them in pipeline order)
   * and external ones (`exec`), which run after the built-in steps listed before them.
   */
  steps: string[];
  /** External steps (`--exec NAME=COMMAND`): programs run on the session file. */
  exec: ExternalStepOption[];
  /** An external step still running after this many seconds is stopped (0 = no limit). */
  execTimeoutSeconds: number;
  playlist?: string;
  movieLength?: string;
  stimulusConfigDir?: string;
  noiseMovies: NoiseMovieOption[];
  mode: SaveModeOption;
  /** After which steps to write a checkpoint: none, every step, or the named ones. */
  checkpointEvery: "none" | "step" | string[];
  /** Single recording only; batch checkpoints are `OUT/<dataset_id>.checkpoint.h5`. */
  checkpointPath?: string;
  params: PipelineParams;
  force: boolean;
  overwrite: boolean;
  json: boolean;
  /** Past this many bytes of arrays in memory, the largest go to a temporary file; default: half the RAM per job. */
  memoryBudgetBytes?: number;
  /** A step with no file reads, writes or progress for this long is hung (0 = no watchdog). */
  watchdogSeconds: number;
}

export const BOOLEAN_FLAGS = ["force", "overwrite", "json"] as const;
export const VALUE_OPTIONS = [
  "cmcr",
  "out",
  "out-dir",
  "jobs",
  "steps",
  "playlist",
  "playlist-name",
  "movie-length",
  "stimulus-config",
  "noise-movie",
  "mode",
  "checkpoint-every",
  "checkpoint",
  "param",
  "memory-budget",
  "watchdog-seconds",
  "exec",
  "exec-timeout",
] as const;

export function parseProcessOptions(args: ParsedArgs): ProcessOptions {
  rejectUnknown(args, [...BOOLEAN_FLAGS, ...VALUE_OPTIONS]);
  // Names the session's step list already uses are not free for external steps.
  const exec = parseExecOptions(options(args, "exec"), ["all", ...KNOWN_STEPS, ...LOAD_STEPS, "add_cmtr_unit_info", "add_sys_meta_info"]);
  const externalNames = exec.map((e) => e.name);
  const steps = parseSteps(option(args, "steps") ?? LOAD_STEP, externalNames);
  for (const name of externalNames) {
    if (!steps.includes(name)) throw new UsageError(`--exec ${name}: ${name} is not in --steps; list it where it should run (e.g. --steps all,${name})`);
  }
  checkExternalOrder(steps, externalNames);

  const mode = option(args, "mode") ?? "deferred";
  if (mode !== "deferred" && mode !== "immediate") throw new UsageError(`--mode must be deferred or immediate, got "${mode}"`);

  const params = parseStepParams(options(args, "param"));
  const playlistName = option(args, "playlist-name");
  if (playlistName !== undefined) params.add_section_time = { ...params.add_section_time, playlist_name: playlistName };

  const checkpointPath = option(args, "checkpoint");
  let checkpointEvery = parseCheckpointEvery(option(args, "checkpoint-every"), [...KNOWN_STEPS, ...externalNames]);
  // Naming a checkpoint file only makes sense if checkpoints are written: default to every step.
  if (checkpointPath !== undefined && checkpointEvery === "none") checkpointEvery = "step";

  return {
    steps,
    exec,
    execTimeoutSeconds: parseExecTimeout(option(args, "exec-timeout")),
    playlist: option(args, "playlist"),
    movieLength: option(args, "movie-length"),
    stimulusConfigDir: option(args, "stimulus-config"),
    noiseMovies: options(args, "noise-movie").map(parseNoiseMovie),
    mode,
    checkpointEvery,
    checkpointPath,
    params,
    force: args.flags.has("force"),
    overwrite: args.flags.has("overwrite"),
    json: args.flags.has("json"),
    memoryBudgetBytes: parseMemoryBudget(option(args, "memory-budget")),
    watchdogSeconds: parseWatchdog(option(args, "watchdog-seconds")),
  };
}

function parseWatchdog(text: string | undefined): number {
  if (text === undefined) return DEFAULT_WATCHDOG_SECONDS;
  const s = Number(text);
  if (!text.trim() || !Number.isFinite(s) || s < 0) throw new UsageError(`--watchdog-seconds takes seconds (0 = off), got "${text}"`);
  return s;
}

function parseExecTimeout(text: string | undefined): number {
  if (text === undefined) return 0;
  const s = Number(text);
  if (!text.trim() || !Number.isFinite(s) || s < 0) throw new UsageError(`--exec-timeout takes seconds (0 = no limit), got "${text}"`);
  return s;
}

function parseMemoryBudget(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const gb = Number(text);
  if (!text.trim() || !Number.isFinite(gb) || gb <= 0) throw new UsageError(`--memory-budget takes a size in GB above 0, got "${text}"`);
  return gb * 1e9;
}

/**
 * `all` = load + ALL_STEPS, in place; otherwise a comma list. Loading always comes first, listed or
 * not. `external`: the names --exec gives, which are steps too.
 */
function parseSteps(text: string, external: readonly string[]): string[] {
  const names = text.split(",").map((s) => s.trim()).filter(Boolean);
  checkStepNames(names.filter((n) => n !== "all"), external);
  if (!names.length) throw new UsageError("--steps is empty");
  // In place, so an external step listed before `all` runs before its steps.
  const expanded = names.flatMap((n) => (n === "all" ? [...ALL_STEPS] : [n]));
  return [...new Set(expanded.filter((n) => n !== LOAD_STEP))];
}

function checkStepNames(names: string[], external: readonly string[]): void {
  const unknown = names.filter((s) => !KNOWN_STEPS.includes(s) && !external.includes(s));
  if (unknown.length) {
    throw new UsageError(
      `unknown step(s) ${unknown.join(", ")}; available: all, ${KNOWN_STEPS.join(", ")} ` +
        `(or an external step: --exec ${unknown[0]}="COMMAND {file}")`,
    );
  }
}

/**
 * Built-in steps run in pipeline order; an external step runs after the built-in steps listed before
 * it and before those listed after it. A list where that cannot hold is refused, not reordered.
 */
function checkExternalOrder(steps: readonly string[], external: readonly string[]): void {
  const order = (n: string) => PIPELINE_STEPS.findIndex((s) => s.name === n);
  steps.forEach((name, i) => {
    if (!external.includes(name)) return;
    const before = steps.slice(0, i).filter((n) => !external.includes(n));
    const after = steps.slice(i + 1).filter((n) => !external.includes(n));
    for (const b of before) {
      const a = after.find((n) => order(n) < order(b));
      if (a) {
        throw new UsageError(
          `--steps: ${name} is listed after ${b} and before ${a}, but ${a} runs before ${b} (built-in steps run in pipeline order: ` +
            `${PIPELINE_STEPS.map((s) => s.name).join(", ")}); list ${a} before ${name} or ${b} after it`,
        );
      }
    }
  });
}

function parseCheckpointEvery(text: string | undefined, known: readonly string[]): ProcessOptions["checkpointEvery"] {
  if (text === undefined || text === "none") return "none";
  if (text === "step") return "step";
  const names = text.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((s) => !known.includes(s));
  if (unknown.length || !names.length) {
    throw new UsageError(`--checkpoint-every takes "step" (after every step) or step names, got "${text}"`);
  }
  return names;
}

function parseNoiseMovie(text: string): NoiseMovieOption {
  const eq = text.indexOf("=");
  // `MOVIE=FILE.npy` when the file is not named after the movie; Windows drive letters have no "=".
  if (eq > 0) return { movie: text.slice(0, eq), path: text.slice(eq + 1) };
  const base = text.split(/[\\/]/).pop() ?? text;
  if (!/\.npy$/i.test(base)) throw new UsageError(`--noise-movie takes FILE.npy or MOVIE=FILE.npy, got "${text}"`);
  return { movie: base.replace(/\.npy$/i, ""), path: text };
}

/** Whether a checkpoint is due after `step`. */
export function checkpointAfter(opts: ProcessOptions, step: string): boolean {
  return opts.checkpointEvery === "step" || (Array.isArray(opts.checkpointEvery) && opts.checkpointEvery.includes(step));
}
