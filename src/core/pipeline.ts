/**
 * The step runner: runs the analysis steps after loading on a PipelineSession, in the lab's order,
 * resumably, with progress and cancellation. The public entry points for the CLI and the worker:
 *
 * | export                | does                                                                         |
 * |-----------------------|------------------------------------------------------------------------------|
 * | `PIPELINE_STEPS`      | every step: name, description, parameter defaults, prerequisites, dependents |
 * | `ALL_STEPS`           | what `steps: "all"` runs: the lab's playlist path (steps 2–4 + features)     |
 * | `resolveStepParams`   | defaults ⊕ caller params, validated (throws PipelineParamsError)             |
 * | `runPipeline(s, opts)`| runs the steps; resolves to a report, throws PipelineStepError / AbortError  |
 *
 * Per requested step, in PIPELINE_STEPS order:
 * 1. already completed with the same parameters (and, when the caller passed the inputs again, the
 *    same input files) → skipped; with other parameters → re-run, with a warning saying what changed.
 *    Old records without parameters (files written by the lab) count as the same;
 * 2. a step re-run (forced or changed) invalidates the completed steps that depend on it: requested
 *    ones re-run (forced, warning says why), others lose their completion record (warning: stale);
 * 3. a missing prerequisite → a warning, the session unchanged, the next step runs; for
 *    `extract_features` it throws (the lab's behaviour);
 * 4. the step computes aside; its commit, warnings and `markStepComplete(name, params)` are applied in
 *    one `session.batch`. A step that gives up (StepBailout) adds one warning and is not marked;
 *    a cancelled or failing step leaves the session exactly as it was.
 *
 * The load steps are not here: loading creates the session (`steps/loadRecording.ts`).
 */
import { HdmeaError, failureOf } from "./failure.ts";
import type { PipelineSession } from "./session.ts";
import { StepCancelled, StepProgress } from "./stepProgress.ts";
import { addSectionTimeStep, type AddSectionTimeParams } from "./steps/addSectionTime.ts";
import { addSectionTimeAnalogStep, type AddSectionTimeAnalogParams } from "./steps/addSectionTimeAnalog.ts";
import { computeStaStep, type ComputeStaParams } from "./steps/computeSta.ts";
import { eimageStaStep, type EImageStaParams } from "./steps/eimageSta.ts";
import { extractFeaturesStep, type ExtractFeaturesParams } from "./steps/extractFeatures.ts";
import { sectionSpikeTimesStep, type SectionSpikeTimesParams } from "./steps/sectionSpikeTimes.ts";
import { sectionSpikeTimesAnalogStep, type SectionSpikeTimesAnalogParams } from "./steps/sectionSpikeTimesAnalog.ts";
import { StepBailout, type PipelineInputs, type PipelineStep, type StepContext } from "./steps/stepContract.ts";

export type { PipelineInputs, TextInput } from "./steps/stepContract.ts";

/** Parameters of every step, by step name (the lab's parameter names). */
export interface StepParamsByName {
  load_recording_with_eimage_sta: EImageStaParams;
  add_section_time: AddSectionTimeParams;
  add_section_time_analog: AddSectionTimeAnalogParams;
  section_spike_times: SectionSpikeTimesParams;
  section_spike_times_analog: SectionSpikeTimesAnalogParams;
  compute_sta: ComputeStaParams;
  extract_features: ExtractFeaturesParams;
}
export type StepName = keyof StepParamsByName;
export type PipelineParams = { [K in StepName]?: Partial<StepParamsByName[K]> };

/** In run order. */
export const PIPELINE_STEPS: readonly PipelineStep<any>[] = [
  eimageStaStep,
  addSectionTimeStep,
  addSectionTimeAnalogStep,
  sectionSpikeTimesStep,
  sectionSpikeTimesAnalogStep,
  computeStaStep,
  extractFeaturesStep,
];

/** `steps: "all"`: the unified pipeline's in-memory steps 2–4 and the feature registry. The analog
 * steps need a threshold chosen by eye, so they run only when named. */
export const ALL_STEPS: readonly StepName[] = ["add_section_time", "section_spike_times", "compute_sta", "extract_features"];

export type StepStatus =
  | "completed" // ran and committed
  | "skipped" // already complete with the same parameters
  | "bailed" // gave up with a warning (inputs missing or invalid); session unchanged
  | "missing_prerequisite"; // not run: a prerequisite step has not completed

export interface StepReport {
  name: string;
  status: StepStatus;
  /** Why it was skipped, re-run, or gave up. */
  message?: string;
  params: Record<string, unknown>;
  ms: number;
}

export interface PipelineReport {
  steps: StepReport[];
}

export interface PipelineProgress {
  step: string;
  /** 0-based position among the steps of this run, and their number. */
  index: number;
  count: number;
  /** Progress of this step (0–1) and of the whole run (0–1); both only increase. */
  stepFraction: number;
  fraction: number;
  message: string;
}

export interface RunPipelineOptions {
  steps?: "all" | readonly string[];
  params?: PipelineParams;
  /** Re-run completed steps: all requested (true) or the named ones. */
  force?: boolean | readonly string[];
  signal?: AbortSignal;
  onProgress?: (p: PipelineProgress) => void;
  inputs?: PipelineInputs;
  /** Called (and awaited) after each step's outcome is final, e.g. to write a checkpoint. */
  onStepDone?: (step: StepReport, session: PipelineSession) => void | Promise<void>;
  /** Step definitions (tests and extensions); defaults to PIPELINE_STEPS. */
  definitions?: readonly PipelineStep<any>[];
}

export class PipelineParamsError extends HdmeaError {
  override name = "PipelineParamsError";
  constructor(message: string) {
    super(message, "bad-input");
  }
}

/**
 * A step failed with an unexpected error; the session is as it was before that step. It keeps the
 * kind and file of what stopped it (a damaged or moved source file, a bug).
 */
export class PipelineStepError extends HdmeaError {
  override name = "PipelineStepError";
  constructor(
    readonly step: string,
    message: string,
    readonly report: PipelineReport,
    options?: { cause?: unknown },
  ) {
    const { kind, file } = options?.cause === undefined ? { kind: "bad-input" as const, file: undefined } : failureOf(options.cause);
    super(`${step}: ${message}`, kind, file, options);
  }
}

/** The run was cancelled; steps finished before it are in `report`, the cancelled one left no trace. */
export class PipelineCancelledError extends HdmeaError {
  override name = "AbortError";
  constructor(
    readonly step: string,
    readonly report: PipelineReport,
  ) {
    super(`${step}: cancelled (the session is as it was before ${step})`, "cancelled");
  }
}

/** Defaults overlaid with the caller's parameters; throws PipelineParamsError listing every problem. */
export function resolveStepParams<P extends object>(step: PipelineStep<P>, given: Partial<P> | undefined): P {
  const unknown = Object.keys(given ?? {}).filter((k) => !(k in step.defaults));
  const params = { ...structuredClone(step.defaults), ...(given ?? {}) } as P;
  const problems = [
    ...unknown.map((k) => `unknown parameter "${k}" (it takes ${Object.keys(step.defaults).join(", ")})`),
    ...(step.validate?.(params) ?? []),
  ];
  if (problems.length) throw new PipelineParamsError(`${step.name}: ${problems.join("; ")}`);
  return params;
}

export async function runPipeline(session: PipelineSession, options: RunPipelineOptions = {}): Promise<PipelineReport> {
  const definitions = options.definitions ?? PIPELINE_STEPS;
  const byName = new Map(definitions.map((d) => [d.name, d]));
  const requested = options.steps === undefined || options.steps === "all" ? ALL_STEPS : options.steps;
  for (const name of requested) {
    if (!byName.has(name)) throw new PipelineParamsError(`unknown step "${name}" (steps: ${definitions.map((d) => d.name).join(", ")})`);
  }
  const plan = definitions.filter((d) => requested.includes(d.name));
  // Resolve every step's parameters before anything runs: a typo must not stop the run half-way.
  const paramsByStep = new Map<string, Record<string, unknown>>();
  for (const step of plan) {
    paramsByStep.set(step.name, resolveStepParams(step, (options.params as Record<string, object> | undefined)?.[step.name]));
  }

  const inputs = options.inputs ?? {};
  const forced = new Set(options.force === true ? plan.map((s) => s.name) : options.force || []);
  const rerun = new Map<string, string>(); // step → why it must run again
  const report: PipelineReport = { steps: [] };
  const onProgress = options.onProgress ?? (() => {});

  for (let index = 0; index < plan.length; index++) {
    const step = plan[index];
    const params = paramsByStep.get(step.name)!;
    const started = Date.now();
    const progressBase = { step: step.name, index, count: plan.length };
    const emit = (f: number, message: string) =>
      onProgress({ ...progressBase, stepFraction: f, fraction: (index + f) / plan.length, message });
    const done = async (status: StepStatus, message?: string) => {
      const entry: StepReport = { name: step.name, status, message, params, ms: Date.now() - started };
      report.steps.push(entry);
      emit(1, message ?? status);
      await options.onStepDone?.(entry, session);
    };
    if (options.signal?.aborted) throw new PipelineCancelledError(step.name, report);

    // 1. Skip, or decide why it runs again.
    const fingerprint = step.fingerprint?.(params as never, inputs, session);
    const record = session.completedSteps.find((s) => s.name === step.name);
    let reason = rerun.get(step.name);
    let kind: StepContext["rerun"] = reason ? "upstream" : undefined;
    if (forced.has(step.name)) kind = "forced";
    if (record && !reason) {
      if (forced.has(step.name)) reason = "forced";
      else {
        const changed = paramChanges(record.params, params, fingerprint);
        if (changed) {
          reason = `its parameters changed since it last ran (${changed})`;
          kind = "parameters";
        }
      }
      if (!reason) {
        await done("skipped", "already complete with the same parameters");
        continue;
      }
    }

    // 3. Prerequisites, by name.
    const missing = step.prerequisites.filter((group) => !group.some((name) => session.hasCompleted(name)));
    if (missing.length) {
      const message = `needs ${missing.map((g) => g.join(" or ")).join(" and ")} first`;
      if (step.prerequisiteThrows) throw new PipelineStepError(step.name, message, report);
      session.warn(`${step.name} not run: ${message}`);
      await done("missing_prerequisite", message);
      continue;
    }

    // 4. Compute aside, commit at once.
    const progress = new StepProgress(emit, options.signal);
    emit(0, reason ? `re-running: ${reason}` : "starting");
    let commit;
    try {
      commit = await step.run(session, params as never, { inputs, progress, force: kind !== undefined, rerun: kind });
      progress.throwIfCancelled();
    } catch (e) {
      if (e instanceof StepCancelled) throw new PipelineCancelledError(step.name, report);
      if (e instanceof StepBailout) {
        session.warn(`${step.name}: ${e.message}`);
        await done("bailed", e.message);
        continue;
      }
      throw new PipelineStepError(step.name, (e as Error)?.message ?? String(e), report, { cause: e });
    }

    const dependents = completedDependents(definitions, step.name, session);
    session.batch(() => {
      commit.apply(session);
      if (reason) session.warn(`${step.name} re-run: ${reason}`);
      for (const w of commit.warnings) session.warn(`${step.name}: ${w}`);
      const recorded: Record<string, unknown> = { ...params };
      if (fingerprint !== undefined) recorded.inputs_fingerprint = fingerprint;
      if (commit.summary) recorded.summary = commit.summary;
      session.markStepComplete(step.name, recorded);

      // 2. What depended on the old results is stale now.
      for (const dep of dependents) {
        if (requested.includes(dep.name)) {
          rerun.set(dep.name, `${step.name} was re-run, so its results are stale`);
        } else {
          session.completedSteps = session.completedSteps.filter((s) => s.name !== dep.name);
          session.warn(`${dep.name} results are stale: ${step.name} ran again after them; run ${dep.name} again`);
        }
      }
    });
    await done("completed", reason ? `re-run: ${reason}` : undefined);
  }
  return report;
}

/** Completed steps that read, directly or through other steps, the outputs of `name`. */
function completedDependents(definitions: readonly PipelineStep<any>[], name: string, session: PipelineSession): PipelineStep<any>[] {
  const found: PipelineStep<any>[] = [];
  const queue = [name];
  while (queue.length) {
    const upstream = queue.shift()!;
    for (const d of definitions) {
      if (d.dependsOn.includes(upstream) && !found.includes(d)) {
        found.push(d);
        queue.push(d.name);
      }
    }
  }
  return found.filter((d) => session.hasCompleted(d.name));
}

/** A short description of what differs, or undefined when the parameters are the same. */
function paramChanges(recorded: Record<string, unknown>, current: Record<string, unknown>, fingerprint: string | undefined): string | undefined {
  // Records without parameters come from files the lab wrote: nothing to compare, trust them.
  if (!recorded || Object.keys(recorded).length === 0) return undefined;
  const changes: string[] = [];
  for (const [key, value] of Object.entries(current)) {
    if (!(key in recorded)) continue; // a parameter added later: its default is what ran
    if (stableJson(recorded[key]) !== stableJson(value)) changes.push(`${key}: ${stableJson(recorded[key])} → ${stableJson(value)}`);
  }
  const oldPrint = recorded.inputs_fingerprint;
  if (fingerprint !== undefined && typeof oldPrint === "string" && oldPrint !== fingerprint) changes.push("input files changed");
  return changes.length ? changes.join(", ") : undefined;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  ) ?? "undefined";
}
