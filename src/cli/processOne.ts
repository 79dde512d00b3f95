/**
 * One recording through `hdmea process`: load (or resume), run the planned steps, checkpoint, save.
 * Used as is by the single-recording command and by each batch worker thread, so both behave alike.
 *
 * 1. Resume: a checkpoint at `job.checkpointPath` (or, in batch, an incomplete output) is loaded
 *    instead of the recording, unless --force; the runner then skips its completed steps.
 * 2. Otherwise load_recording reads the pair (checkpointed if asked).
 * 3. runPipeline runs the planned steps; after each (onStepDone) a checkpoint is written if due.
 *    External steps (--exec) cut the run: each runs its program on the session file (externalStep.ts)
 *    after the built-in steps listed before it, and is checkpointed the same way.
 * 4. Deferred mode saves once at the end; immediate mode has written through after every step.
 * 5. The saved file is reopened and its step list read back; only then is the checkpoint removed
 *    (and never when it is the output itself). A failure or Ctrl-C leaves it for the next run.
 * Every write checks the free space first and names its own file when the device refuses it (diskSpace.ts).
 */
import { closeSources } from "../core/sessionSources.ts";
import { existsSync, readdirSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { totalmem } from "node:os";
import { NDArray } from "../core/ndarray.ts";
import {
  PipelineCancelledError,
  PipelineParamsError,
  runPipeline,
  type PipelineProgress,
  type PipelineReport,
} from "../core/pipeline.ts";
import type { PipelineSession } from "../core/session.ts";
import { defaultMemoryBudgetBytes, savedArrayBytes, spikeCountOf } from "../core/memoryBudget.ts";
import { SpillStore, type ScratchBytes } from "../core/spillStore.ts";
import { nodeScratchBytes } from "../io/nodeScratchBytes.ts";
import { baseName, type H5Runtime } from "../io/h5.ts";
import { nodeRuntime } from "../io/h5node.ts";
import { loadRecording } from "../io/mcs/openRecording.ts";
import { openSensorInput, type OpenSensorInput } from "../io/mcs/sensorInput.ts";
import { checkpointSession, loadSession, saveSession, startImmediateMode } from "../io/sessionStore.ts";
import { deltaBaseOf, planCheckpointFiles, plannedBytes, type CheckpointWrite } from "../io/checkpointDeltas.ts";
import { formatBytes } from "../core/formatBytes.ts";
import { UsageError } from "./args.ts";
import { failureLine } from "./failureLine.ts";
import { asDiskFull, writeWithRoom } from "./diskSpace.ts";
import { runExternalStep } from "./externalStep.ts";
import { readOutputInfo } from "./outputStatus.ts";
import { sameFile } from "./pathIdentity.ts";
import { readPipelineInputs } from "./pipelineInputs.ts";
import { LOAD_STEP, checkpointAfter, type ProcessOptions } from "./processOptions.ts";
import { planSteps, stepSegments, type SkippedStep } from "./stepPlan.ts";
import { testHooks } from "./testHooks.ts";
import { HdmeaError, fileError } from "../core/failure.ts";

const EIMAGE_STEP = "load_recording_with_eimage_sta";

export interface RecordingJob {
  /** How the recording is named in messages and the summary (the .cmtr file name, else the .cmcr). */
  label: string;
  cmtrPath?: string;
  cmcrPath?: string;
  datasetId: string;
  out: string;
  checkpointPath: string;
  /** Batch: an existing output that is not complete is resumed from and replaced. */
  resumeFromOutput: boolean;
}

/** The pipeline's progress, with the load counted as this run's first step. */
export type RunProgress = PipelineProgress;

export interface RecordingEvents {
  progress(p: RunProgress): void;
  /** A finished piece of work worth one line (step done, resumed, checkpoint written). */
  log(line: string): void;
  /** Work between steps that touches files ("resuming", "saving", …), for the watchdog's messages. */
  stage?(name: string): void;
  /** Each read or write of the scratch file that holds arrays past the memory budget: a sign of life. */
  scratchIo?(): void;
}

export type RecordingOutcome = "ok" | "up to date" | "failed" | "cancelled";

export interface StepLine {
  name: string;
  status: string;
  message?: string;
  ms: number;
}

/** Plain data (sent from worker threads, written to summary.json). */
export interface RecordingResult {
  recording: string;
  datasetId: string;
  out: string;
  result: RecordingOutcome;
  units: number | null;
  spikes: number | null;
  frames: number | null;
  /** Completed steps of the session, in order. */
  steps: string[];
  /** What this run asked for: load_recording + the requested steps. */
  requestedSteps: string[];
  seconds: number;
  resumedFrom?: string;
  skippedSteps: SkippedStep[];
  stepReports: StepLine[];
  warnings: string[];
  error?: string;
}

/** A "failed" result with nothing done yet, filled in as the run goes. */
export function newResult(job: RecordingJob, opts: ProcessOptions): RecordingResult {
  return {
    recording: job.label,
    datasetId: job.datasetId,
    out: job.out,
    result: "failed",
    units: null,
    spikes: null,
    frames: null,
    steps: [],
    requestedSteps: [LOAD_STEP, ...opts.steps],
    seconds: 0,
    skippedSteps: [],
    stepReports: [],
    warnings: [],
  };
}

export async function processOne(job: RecordingJob, opts: ProcessOptions, events: RecordingEvents, signal?: AbortSignal): Promise<RecordingResult> {
  const started = Date.now();
  const result = newResult(job, opts);
  let session: PipelineSession | undefined;
  let warningsBefore = 0;
  let stopImmediate: (() => void) | undefined;
  let sensorInput: OpenSensorInput | undefined;
  let spillStore: SpillStore | undefined;
  const finish = (outcome: RecordingOutcome, error?: string): RecordingResult => {
    stopImmediate?.();
    sensorInput?.close();
    result.result = outcome;
    if (error !== undefined) result.error = error;
    result.seconds = (Date.now() - started) / 1000;
    if (session) {
      result.units = session.unitCount;
      result.spikes = [...session.units.values()].reduce((n, u) => n + spikeCountOf(u), 0);
      const frames = session.metadata.frame_timestamps;
      result.frames = frames instanceof NDArray ? frames.shape[0] ?? 1 : 0;
      result.steps = session.completedSteps.map((s) => s.name);
      result.warnings.push(...session.warnings.slice(warningsBefore).map((w) => w.message));
    }
    spillStore?.close();
    // The .cmtr/.cmcr the session's peaks_data and raw light reference were still read from.
    if (session) closeSources(session);
    return result;
  };

  try {
    const rt = await nodeRuntime();
    const inputs = readPipelineInputs(opts);
    const outExists = existsSync(job.out);
    if (outExists && !opts.overwrite && !job.resumeFromOutput) {
      throw new HdmeaError(`${baseName(job.out)} already exists; save with overwrite (--overwrite) to replace it`, "bad-input", baseName(job.out));
    }

    // 1–2. Resume or load.
    const resumeFrom = pickResumeSource(job, opts, outExists);
    let plan = planSteps(opts);
    const totalSteps = () => 1 + plan.run.length + opts.exec.length;
    // Past the budget, the session's largest arrays wait in a temporary file (removed however we exit).
    spillStore = new SpillStore(withIoCallback(nodeScratchBytes(), events.scratchIo));
    const budget = { store: spillStore, budgetBytes: opts.memoryBudgetBytes ?? defaultMemoryBudgetBytes({ totalMemoryBytes: totalmem() }) };
    if (resumeFrom) {
      events.stage?.(`resuming from ${baseName(resumeFrom)}`);
      session = loadSession(rt, resumeFrom, { memoryBudget: budget }).session;
      if (session.datasetId !== job.datasetId) {
        throw fileError(baseName(resumeFrom), `holds dataset ${session.datasetId}, not ${job.datasetId}; remove it or pass --force`);
      }
      warningsBefore = session.warnings.length;
      result.resumedFrom = resumeFrom;
      const done = session.completedSteps.map((s) => s.name).join(", ") || "none";
      events.log(`resuming from ${baseName(resumeFrom)} (completed: ${done})`);
      plan = planSteps(opts, session.completedSteps.map((s) => s.name));
      events.progress({ step: LOAD_STEP, index: 0, count: totalSteps(), stepFraction: 1, fraction: 1 / totalSteps(), message: "resumed" });
    } else {
      const loadStarted = Date.now();
      session = loadRecording(
        rt,
        { cmtrPath: job.cmtrPath, cmcrPath: job.cmcrPath },
        {
          datasetId: job.datasetId,
          onProgress: (f, message) =>
            events.progress({ step: LOAD_STEP, index: 0, count: totalSteps(), stepFraction: f, fraction: f / totalSteps(), message }),
        },
      );
      result.stepReports.push({ name: LOAD_STEP, status: "completed", ms: Date.now() - loadStarted });
      events.log(`${LOAD_STEP} completed in ${seconds(Date.now() - loadStarted)} (${session.unitCount} units)`);
      if (checkpointAfter(opts, LOAD_STEP)) writeCheckpoint(rt, session, job.checkpointPath, LOAD_STEP, events);
      testHooks.afterStep(LOAD_STEP);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    session.setMemoryBudget(budget);
    // The eimage STA reads the raw sensor frames straight from the .cmcr, a block at a time.
    if (plan.run.includes(EIMAGE_STEP)) {
      try {
        if (!job.cmcrPath) throw new Error("no .cmcr was given");
        sensorInput = openSensorInput(rt, job.cmcrPath);
        inputs.sensorData = sensorInput;
      } catch (e) {
        plan.run = plan.run.filter((s) => s !== EIMAGE_STEP);
        plan.skipped.push({ step: EIMAGE_STEP, why: `needs the raw sensor data: ${(e as Error).message}` });
      }
    }
    result.skippedSteps = plan.skipped;
    for (const s of plan.skipped) {
      result.warnings.push(`${s.step} skipped: ${s.why}`);
      events.log(`warning: ${s.step} skipped: ${s.why}`);
    }

    // 3. The analysis steps.
    if (opts.mode === "immediate") {
      const s = session;
      events.stage?.("saving");
      stopImmediate = writeWithRoom(job.out, sessionFileBytes(s), () => startImmediateMode(rt, s, job.out, { overwrite: opts.overwrite || job.resumeFromOutput }));
    }
    const report: PipelineReport = { steps: [] };
    // Built-in steps in pipeline order, cut where an external step (--exec) is listed.
    let before = 0; // this run's steps before the current segment, after loading
    try {
      for (const segment of stepSegments(opts, plan.run)) {
        const offset = before;
        const part = await runPipeline(session, {
          steps: segment.steps,
          params: opts.params,
          inputs,
          signal,
          onProgress: (p) => {
            testHooks.atStep(p.step);
            events.progress({ ...p, index: offset + p.index + 1, count: totalSteps(), fraction: (offset + p.index + 1 + p.stepFraction) / totalSteps() });
          },
          onStepDone: async (step, s) => {
            result.stepReports.push({ name: step.name, status: step.status, message: step.message, ms: step.ms });
            events.log(`${step.name} ${step.status}${step.message ? ` (${step.message})` : ""} in ${seconds(step.ms)}`);
            if (step.status === "completed" && checkpointAfter(opts, step.name)) writeCheckpoint(rt, s, job.checkpointPath, step.name, events);
            testHooks.afterStep(step.name);
            // Let a pending Ctrl-C (or a worker's cancel message) in, so the runner sees it before the next step.
            await new Promise<void>((resolve) => setImmediate(resolve));
          },
        });
        report.steps.push(...part.steps);
        before += segment.steps.length;
        if (!segment.external) continue;
        const ext = segment.external;
        const index = ++before;
        const s = session;
        const step = await runExternalStep(s, ext, {
          rt,
          out: job.out,
          overwrite: opts.overwrite || job.resumeFromOutput,
          timeoutSeconds: opts.execTimeoutSeconds,
          memoryBudget: budget,
          ranBefore: result.stepReports.some((r) => r.status === "completed"),
          fileBytes: () => sessionFileBytes(s),
          signal,
          log: events.log,
          progress: (f, message) => {
            testHooks.atStep(ext.name);
            events.progress({ step: ext.name, index, count: totalSteps(), stepFraction: f, fraction: (index + f) / totalSteps(), message });
          },
        });
        result.stepReports.push({ name: step.name, status: step.status, message: step.message, ms: step.ms });
        events.log(`${step.name} ${step.status}${step.message ? ` (${step.message})` : ""} in ${seconds(step.ms)}`);
        if (step.status === "completed" && checkpointAfter(opts, step.name)) writeCheckpoint(rt, s, job.checkpointPath, step.name, events);
        testHooks.afterStep(step.name);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (e) {
      if (e instanceof PipelineParamsError) throw new UsageError(e.message);
      throw e;
    }
    if (signal?.aborted) throw new PipelineCancelledError("saving", report);

    // 4. Save.
    stopImmediate?.();
    stopImmediate = undefined;
    const saved = session;
    events.stage?.("saving");
    if (opts.mode === "deferred") {
      // An external step may have auto-saved to the output already in this run.
      const ours = saved.hdf5Path !== undefined && sameFile(saved.hdf5Path, job.out);
      writeWithRoom(job.out, sessionFileBytes(saved), () => saveSession(rt, saved, job.out, { overwrite: opts.overwrite || job.resumeFromOutput || outExists || ours }));
    } else if (session.hasUnsavedChanges) {
      writeWithRoom(job.out, sessionFileBytes(saved), () => saveSession(rt, saved, job.out, { overwrite: true }));
    }
    // 5. The saved file supersedes the checkpoint, once it reads back with every step.
    events.stage?.("verifying");
    testHooks.afterSave(job.out);
    verifySaved(rt, saved, job.out);
    removeCheckpoint(job.checkpointPath, job.out, events);
    return finish("ok");
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (e instanceof PipelineCancelledError) {
      const kept = existsSync(job.checkpointPath) ? `; checkpoint ${baseName(job.checkpointPath)} kept` : "";
      return finish("cancelled", `${job.label}: ${e.message}${kept}`);
    }
    // Immediate mode's write-through fails inside a step: the file it was writing is the output.
    const diskFull = asDiskFull(e, job.out, session ? sessionFileBytes(session) : 0);
    return finish("failed", failureLine(diskFull ?? e, job.label));
  }
}

function pickResumeSource(job: RecordingJob, opts: ProcessOptions, outExists: boolean): string | undefined {
  if (opts.force) return undefined;
  if (existsSync(job.checkpointPath)) return job.checkpointPath;
  if (job.resumeFromOutput && outExists) return job.out;
  return undefined;
}

/**
 * The first checkpoint of a run is a full copy; each later one adds a delta file beside it with what
 * the step changed (checkpointDeltas.ts). Either is written under a temporary name and renamed into
 * place, so the previous checkpoint survives a kill during the write; replacing its own checkpoint
 * is what a run does, so no "overwriting checkpoint" warning piles up in the session once per step.
 */
function writeCheckpoint(rt: H5Runtime, session: PipelineSession, path: string, after: string, events: RecordingEvents): void {
  const started = Date.now();
  events.stage?.(`checkpoint after ${after}`);
  let written: CheckpointWrite | undefined;
  const write = () => checkpointSession(rt, session, path, { checkpointName: `after ${after}`, warnOnOverwrite: false, onWritten: (w) => (written = w) });
  // A delta needs room for what changed only (the arrays it writes); a full copy for the whole session.
  const plan = planCheckpointFiles(rt, session, path);
  writeWithRoom(path, plannedBytes(session, plan, sessionFileBytes(session)), write, "checkpoint ");
  const what = written?.kind === "delta" ? ` (delta ${written.index}, ${formatBytes(written.bytes)})` : written ? ` (full, ${formatBytes(written.bytes)})` : "";
  events.log(`checkpoint ${baseName(path)} written in ${seconds(Date.now() - started)}${what}`);
}

/** The checkpoint, its delta files, and the temporaries of older versions that wrote `.next`. */
function removeCheckpoint(path: string, out: string, events: RecordingEvents): void {
  const dir = dirname(path);
  const ofThis = (file: string) => {
    const base = deltaBaseOf(file.replace(/\.partial-[a-z0-9]+$/i, ""))?.base;
    return base !== undefined && resolve(base) === resolve(path);
  };
  const deltas = existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)).filter(ofThis) : [];
  for (const stale of [path, `${path}.next`, ...deltas]) {
    if (existsSync(stale) && !sameFile(stale, out)) {
      unlinkSync(stale);
      if (stale === path) events.log(`removed checkpoint ${baseName(stale)}${deltas.length ? ` and its ${deltas.length} delta file(s)` : ""}`);
    }
  }
}

function withIoCallback(bytes: ScratchBytes, onIo: (() => void) | undefined): ScratchBytes {
  if (!onIo) return bytes;
  return {
    ...bytes,
    write: (data, position) => {
      onIo();
      bytes.write(data, position);
    },
    read: (into, position) => {
      onIo();
      bytes.read(into, position);
    },
  };
}

/**
 * The bytes the session file will take at least: its arrays, written uncompressed. A lower bound, so
 * the free-space check never refuses a save that would fit.
 */
function sessionFileBytes(session: PipelineSession): number {
  return savedArrayBytes(session.arrayBytes());
}

/** Reopens the saved file and reads its step list back: the checkpoint goes only if this holds. */
function verifySaved(rt: H5Runtime, session: PipelineSession, path: string): void {
  const expected = session.completedSteps.map((s) => s.name);
  let found: string[];
  try {
    const info = readOutputInfo(rt, path);
    if (info.datasetId !== session.datasetId) throw new Error(`it holds dataset ${info.datasetId}`);
    found = info.steps.map((s) => s.name);
  } catch (e) {
    throw fileError(baseName(path), `saved, but reading it back failed (${(e as Error).message.split("\n")[0]}); the checkpoint is kept`);
  }
  if (found.join() !== expected.join()) {
    throw fileError(baseName(path), `saved, but it reads back with steps ${found.join(", ") || "none"} instead of ${expected.join(", ")}; the checkpoint is kept`);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
