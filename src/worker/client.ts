/**
 * The page's handle on the worker: one method per `WorkerAPI` operation, made from the `CALLS`
 * table (its label and time limit), with the worker's own signature. Errors are turned into
 * `WorkerError`s with a message naming what failed, here and nowhere else; a worker that died (or
 * reports a fatal HDF5 error) is replaced by a fresh one and `onRestart` tells the page that the
 * sessions it held are gone. So is a worker that stops sending heartbeats while a call is in flight
 * (`watchdog.ts`): h5wasm cannot be interrupted, only terminated.
 */
import * as Comlink from "comlink";
import { READY_STEP, isHeartbeat } from "./activity.ts";
import { DEFAULT_HUNG_AFTER_MS, Watchdog, hungMessage, type HungReport } from "./watchdog.ts";
import type { TestHooks } from "./testHooks.ts";
import type { WorkerAPI } from "./api.ts";
import { failureOf, type Failure } from "../core/failure.ts";
export { failureOf, type Failure, type FailureKind } from "../core/failure.ts";
export type { RunStepsRequest, RunStepsResult, StepInfo, StepInputFiles, StepProgressCallback } from "./pipelineOps.ts";
export type { PipelineProgress, StepReport } from "../core/pipeline.ts";
export { UNIT_LABELS, type UnitLabel } from "../core/unitLabel.ts";

export type {
  CheckpointInfo,
  CheckpointResult,
  OpenedItem,
  OpenProgress,
  ProgressCallback,
  SaveResult,
  SessionSummary,
  UnitScience,
  UnitTable,
  WorkerAPI,
  DownloadConfirmation,
  Reproduction,
} from "./api.ts";
export type { HungReport } from "./watchdog.ts";
export type {
  ElectrodeMap,
  LayoutAttr,
  LayoutNode,
  LightReferenceRange,
  LightReferenceView,
  Psth,
  RasterOptions,
  RasterView,
  SectionBox,
  StorageEstimate,
  UnitColumn,
  UnitDetail,
} from "./views.ts";

export class WorkerError extends Error {
  override name = "WorkerError";
  constructor(
    message: string,
    /** The name the worker gave the error (`FileExistsError`, `AbortError`, …). */
    readonly errorName: string,
    /** The worker was restarted: every open session is gone. */
    readonly fatal = false,
    /** What went wrong, as the worker knew it (`core/failure.ts`): the page acts on this, not on the words. */
    readonly failure: Failure = { kind: fatal ? "internal" : "bad-input" },
  ) {
    super(message);
  }
}

function spawnWorker(): Worker {
  // This exact shape lets Vite find, bundle and emit the worker as a module.
  return new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "hdmea-worker" });
}

/** The worker's entry exposes the operations and, apart, the test hooks (`worker.ts`). */
type ExposedWorker = WorkerAPI & { test: TestHooks };

/** Comlink types a nested object as a promise of it; at run time it is a remote like the top one. */
function hooksOf(remote: Comlink.Remote<ExposedWorker>): Comlink.Remote<TestHooks> {
  return remote.test as unknown as Comlink.Remote<TestHooks>;
}

/**
 * Extra time a call gets while a fresh worker is still loading h5wasm (one step with no heartbeat:
 * a few seconds, more on a loaded machine).
 */
const START_ALLOWANCE_MS = 30_000;

/** Time limits without progress, as multiples of `hungAfterMs`, for calls known to run long. */
const LONG_CALL = {
  /** A `.cmcr`'s analog channels are read in a few large reads. */
  openRecording: 3,
  /** Compute-heavy steps report progress per step or per unit, not per read. */
  runSteps: 5,
  benchmark: 10,
};

/**
 * What each operation is called on the page (the start of its error message, and what the watchdog
 * names when it hangs) and how long it may go without progress (`slow` × the limit). The compiler
 * requires a line here for every operation of `WorkerAPI`: adding an operation to `api.ts` and its
 * line here is all the page needs.
 */
const CALLS: { [K in keyof WorkerAPI]: CallSpec<Parameters<WorkerAPI[K]>> } = {
  openFiles: { label: "Opening files", slow: (files) => (files.some((f) => /\.cmcr$/i.test(f.name)) ? LONG_CALL.openRecording : 1) },
  openDemo: { label: "Opening the demo recording", slow: LONG_CALL.openRecording },
  summary: { label: "Reading the session" },
  units: { label: "Reading the units" },
  science: { label: "Reading the units' features" },
  save: { label: "Saving" },
  confirmDownload: { label: "Confirming the download" },
  checkpoint: { label: "Checkpointing" },
  listCheckpoints: { label: "Listing checkpoints" },
  resumeCheckpoint: { label: (name) => `Resuming ${name}` },
  exportCheckpoint: { label: (name) => `Exporting ${name}` },
  deleteCheckpoint: { label: (name) => `Deleting ${name}` },
  benchmarkSaveLoad: { label: "Benchmarking", slow: LONG_CALL.benchmark },
  closeSession: { label: "Closing the session" },
  reattach: { label: (_, files) => `Re-attaching ${files.map((f) => f.name).join(", ")}` },
  setMemoryBudget: { label: "Setting the memory budget" },
  sessionIds: { label: "Listing sessions" },
  pipelineSteps: { label: "Listing pipeline steps" },
  runSteps: { label: "Running steps", slow: LONG_CALL.runSteps },
  cancelSteps: { label: "Cancelling" },
  playlistNames: { label: (file) => `Reading ${file.name}` },
  labelUnit: { label: (_, unitId) => `Labelling ${unitId}` },
  unitDetail: { label: (_, unitId) => `Reading ${unitId}` },
  lightReference: { label: "Reading the light reference" },
  raster: { label: (_, unitId) => `Building the raster of ${unitId}` },
  unitColumn: { label: (_, name) => `Reading the ${name} column` },
  electrodeMap: { label: "Reading the electrode map" },
  unitFeatures: { label: (_, unitId) => `Reading the features of ${unitId}` },
  sessionTree: { label: "Reading the file layout" },
  storageEstimate: { label: "Reading the storage estimate" },
  reproduceCommand: { label: "Writing the command" },
};

interface CallSpec<A extends unknown[]> {
  label: string | ((...args: A) => string);
  slow?: number | ((...args: A) => number);
}
type AnyCallSpec = CallSpec<unknown[]>;

/** The page's side of every operation: the worker's signature (`WorkerAPI`), through `call`. */
type WorkerCalls = { [K in keyof WorkerAPI]: WorkerAPI[K] };
// Declaration merging: the methods the constructor makes from `CALLS`, typed as the worker's.
export interface WorkerClient extends WorkerCalls {}

export class WorkerClient {
  /**
   * Called after the worker had to be replaced; the page should forget its sessions. `hung` is set
   * when the watchdog replaced it (no heartbeat for too long): it names the file and step.
   */
  onRestart: ((reason: string, hung?: HungReport) => void) | undefined;
  /** Silence (no heartbeat) after which a call in flight counts as hung; tests shorten it. */
  hungAfterMs = DEFAULT_HUNG_AFTER_MS;

  private worker!: Worker;
  private remote!: Comlink.Remote<ExposedWorker>;
  /** Rejecters of calls in flight, so a dying worker does not leave promises hanging forever. */
  private inFlight = new Set<(error: Error) => void>();
  private readonly watchdog = new Watchdog((report) => this.restart(hungMessage(report), "WorkerHungError", report));

  constructor(private readonly create: () => Worker = spawnWorker) {
    this.start();
    // One method per operation, as `CALLS` labels it: the worker's own signature, callbacks as proxies.
    for (const name of Object.keys(CALLS) as (keyof WorkerAPI)[]) {
      const spec = CALLS[name] as AnyCallSpec;
      (this as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        const label = typeof spec.label === "function" ? spec.label(...args) : spec.label;
        const slow = typeof spec.slow === "function" ? spec.slow(...args) : (spec.slow ?? 1);
        const sent = args.map((a) => (typeof a === "function" ? Comlink.proxy(a) : a));
        return this.call(label, (r) => (r[name] as (...a: unknown[]) => Promise<unknown>)(...sent), slow);
      };
    }
  }

  /** Test hook: the worker reports a fatal wasm error; the client restarts it as after a real one. */
  crashForTest(): Promise<never> {
    // Through `call`, unlike the other hooks (`test`): its fatal error restarts the worker as a real one does.
    return this.call("Crashing the worker on purpose", (r) => hooksOf(r).crashForTest());
  }

  /**
   * Test hooks that live in their own module in the worker (`testHooks.ts`), not in `WorkerAPI`:
   * e.g. `test.hangInRead("demo-.cmtr", 20)` blocks the worker inside its 21st read of that file.
   */
  get test(): Comlink.Remote<TestHooks> {
    return hooksOf(this.remote);
  }

  /**
   * Replaces the worker with a fresh one on purpose, e.g. to drop HDF5 objects a damaged file left
   * open inside the runtime. Refuses while the worker holds sessions, since they would be lost; no
   * `onRestart`, because nothing was lost. Returns whether it restarted.
   */
  async recycle(): Promise<boolean> {
    if ((await this.sessionIds()).length > 0) return false;
    // Let calls in flight (storage estimates, checkpoint lists) finish rather than cut them off.
    for (let waited = 0; this.inFlight.size > 0; waited += 50) {
      if (waited > 5_000) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if ((await this.sessionIds()).length > 0) return false;
    this.stop();
    this.start();
    return true;
  }

  dispose(): void {
    this.stop();
  }

  private start(): void {
    this.worker = this.create();
    this.watchdog.starting(START_ALLOWANCE_MS);
    this.worker.addEventListener("error", (event) => {
      // An uncaught error in the worker scope (or a module that failed to load): start afresh.
      event.preventDefault();
      this.restart(`the worker stopped (${event.message || "it could not start"})`);
    });
    this.worker.addEventListener("message", (event: MessageEvent) => {
      if (!isHeartbeat(event.data)) return;
      if (event.data.step === READY_STEP) this.watchdog.started();
      this.watchdog.beat(event.data);
    });
    this.remote = Comlink.wrap<ExposedWorker>(this.worker);
  }

  private stop(): void {
    this.watchdog.reset();
    this.remote[Comlink.releaseProxy]();
    this.worker.terminate();
  }

  private restart(reason: string, errorName = "FatalWorkerError", hung?: HungReport): void {
    this.stop();
    const pending = [...this.inFlight];
    this.inFlight.clear();
    const failure: Failure = { kind: errorName === "WorkerHungError" ? "hung" : "internal", ...(hung?.last?.file ? { file: hung.last.file } : {}) };
    for (const reject of pending) reject(new WorkerError(reason, errorName, true, failure));
    this.start();
    this.onRestart?.(reason, hung);
  }

  /** `slow` multiplies the time limit without progress, for calls known to run long. */
  private async call<R>(what: string, run: (remote: Comlink.Remote<ExposedWorker>) => Promise<R>, slow = 1): Promise<R> {
    let reject!: (error: Error) => void;
    const died = new Promise<never>((_, r) => (reject = r));
    this.inFlight.add(reject);
    const done = this.watchdog.watch(what, this.hungAfterMs * slow);
    try {
      return await Promise.race([run(this.remote), died]);
    } catch (error) {
      throw this.translate(what, error);
    } finally {
      done();
      this.inFlight.delete(reject);
    }
  }

  private translate(what: string, error: unknown): WorkerError {
    if (error instanceof WorkerError) return new WorkerError(`${what} failed: ${error.message}`, error.errorName, error.fatal, error.failure);
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    if (name === "FatalWorkerError") {
      this.restart(message);
      return new WorkerError(`${what} failed: ${message}`, name, true, { ...failureOf(error), kind: "internal" });
    }
    // DataCloneError and friends come from the page side of postMessage, not from the worker.
    return new WorkerError(`${what} failed: ${message}`, name, false, failureOf(error));
  }
}
