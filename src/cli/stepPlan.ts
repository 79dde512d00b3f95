/**
 * Which requested steps `hdmea process` can actually run with the files it was given. A step whose
 * input file was not given is left out with a reason (e.g. compute_sta without --noise-movie), and
 * so are the steps that need it, instead of the run failing half-way. A step the resumed session has
 * already completed needs no inputs: the runner skips it.
 */
import { PIPELINE_STEPS } from "../core/pipeline.ts";
import { LOAD_STEPS } from "../core/steps/stepContract.ts";
import type { ExternalStepOption } from "./externalStep.ts";
import type { ProcessOptions } from "./processOptions.ts";

export interface SkippedStep {
  step: string;
  why: string;
}

export interface StepPlan {
  /** Steps to hand to runPipeline, in pipeline order. */
  run: string[];
  skipped: SkippedStep[];
}

/** What each step needs from the command line. */
function missingInput(step: string, opts: ProcessOptions): string | undefined {
  switch (step) {
    case "add_section_time":
      if (opts.playlist === undefined || opts.movieLength === undefined) {
        const missing = [opts.playlist === undefined && "--playlist P.csv", opts.movieLength === undefined && "--movie-length M.csv"].filter(Boolean);
        return `needs ${missing.join(" and ")}`;
      }
      return undefined;
    case "section_spike_times":
      return opts.stimulusConfigDir === undefined ? "needs --stimulus-config DIR (the <movie>.json trial definitions)" : undefined;
    case "compute_sta":
      return opts.noiseMovies.length ? undefined : "needs --noise-movie FILE.npy (the dense-noise stimulus, [frames, H, W])";
    default:
      return undefined;
  }
}

/** `completed`: steps the session already has (empty before loading). */
export function planSteps(opts: ProcessOptions, completed: readonly string[] = []): StepPlan {
  const done = new Set<string>([...completed, ...LOAD_STEPS]);
  const plan: StepPlan = { run: [], skipped: [] };
  const why = new Map<string, string>();
  for (const def of PIPELINE_STEPS) {
    if (!opts.steps.includes(def.name)) continue;
    const missing = missingInput(def.name, opts);
    if (missing && done.has(def.name)) continue; // complete already; nothing to re-check it against
    if (missing) {
      why.set(def.name, missing);
      plan.skipped.push({ step: def.name, why: missing });
      continue;
    }
    const unmet = def.prerequisites.find((group) => !group.some((n) => done.has(n) || plan.run.includes(n)));
    if (unmet) {
      const reason = unmet.map((n) => (why.has(n) ? `${n}, which is skipped (${why.get(n)})` : `${n}, which is neither requested nor done`)).join(" or ");
      why.set(def.name, `needs ${reason}`);
      plan.skipped.push({ step: def.name, why: `needs ${reason}` });
      continue;
    }
    plan.run.push(def.name);
  }
  return plan;
}

/** Built-in steps to run (in pipeline order), then the external step listed after them, if any. */
export interface StepSegment {
  steps: string[];
  external?: ExternalStepOption;
}

/**
 * The run cut at each external step: the built-in steps of `run` listed before it in --steps come
 * first (processOptions.ts refuses lists where that contradicts the pipeline order). Without external
 * steps: one segment, the whole run.
 */
export function stepSegments(opts: ProcessOptions, run: readonly string[]): StepSegment[] {
  const segments: StepSegment[] = [];
  let listed = new Set<string>();
  for (const name of opts.steps) {
    const external = opts.exec.find((e) => e.name === name);
    if (!external) {
      listed.add(name);
      continue;
    }
    segments.push({ steps: run.filter((s) => listed.has(s)), external });
    listed = new Set();
  }
  segments.push({ steps: run.filter((s) => listed.has(s)) });
  return segments;
}
