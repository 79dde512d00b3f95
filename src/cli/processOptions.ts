/**
 * `hdmea process` options, parsed and checked once, as plain data: the batch runner sends them to its
 * worker threads unchanged (structured clone), so nothing here may hold a class instance.
 */
import { ALL_STEPS, PIPELINE_STEPS, type PipelineParams } from "../core/pipeline.ts";
import { UsageError, option, options, rejectUnknown, type ParsedArgs } from "./args.ts";
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
  /** Pipeline steps after loading, in the order given (the runner runs them in pipeline order). */
  steps: string[];
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
] as const;

export function parseProcessOptions(args: ParsedArgs): ProcessOptions {
  rejectUnknown(args, [...BOOLEAN_FLAGS, ...VALUE_OPTIONS]);
  const steps = parseSteps(option(args, "steps") ?? LOAD_STEP);

  const mode = option(args, "mode") ?? "deferred";
  if (mode !== "deferred" && mode !== "immediate") throw new UsageError(`--mode must be deferred or immediate, got "${mode}"`);

  const params = parseStepParams(options(args, "param"));
  const playlistName = option(args, "playlist-name");
  if (playlistName !== undefined) params.add_section_time = { ...params.add_section_time, playlist_name: playlistName };

  const checkpointPath = option(args, "checkpoint");
  let checkpointEvery = parseCheckpointEvery(option(args, "checkpoint-every"));
  // Naming a checkpoint file only makes sense if checkpoints are written: default to every step.
  if (checkpointPath !== undefined && checkpointEvery === "none") checkpointEvery = "step";

  return {
    steps,
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

function parseMemoryBudget(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const gb = Number(text);
  if (!text.trim() || !Number.isFinite(gb) || gb <= 0) throw new UsageError(`--memory-budget takes a size in GB above 0, got "${text}"`);
  return gb * 1e9;
}

/** `all` = load + ALL_STEPS; otherwise a comma list. Loading always comes first, listed or not. */
function parseSteps(text: string): string[] {
  const names = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (names.includes("all")) {
    const extra = names.filter((n) => n !== "all" && !ALL_STEPS.includes(n as never) && n !== LOAD_STEP);
    checkStepNames(extra);
    return [...ALL_STEPS, ...extra];
  }
  checkStepNames(names);
  if (!names.length) throw new UsageError("--steps is empty");
  return [...new Set(names.filter((n) => n !== LOAD_STEP))];
}

function checkStepNames(names: string[]): void {
  const unknown = names.filter((s) => !KNOWN_STEPS.includes(s));
  if (unknown.length) throw new UsageError(`unknown step(s) ${unknown.join(", ")}; available: all, ${KNOWN_STEPS.join(", ")}`);
}

function parseCheckpointEvery(text: string | undefined): ProcessOptions["checkpointEvery"] {
  if (text === undefined || text === "none") return "none";
  if (text === "step") return "step";
  const names = text.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((s) => !KNOWN_STEPS.includes(s));
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
