/**
 * The page's handle on the worker: one method per `WorkerAPI` operation. Errors are turned into
 * `WorkerError`s with a message naming what failed, here and nowhere else; a worker that died (or
 * reports a fatal HDF5 error) is replaced by a fresh one and `onRestart` tells the page that the
 * sessions it held are gone. So is a worker that stops sending heartbeats while a call is in flight
 * (`watchdog.ts`): h5wasm cannot be interrupted, only terminated.
 */
import * as Comlink from "comlink";
import { READY_STEP, isHeartbeat } from "./activity.ts";
import { DEFAULT_HUNG_AFTER_MS, Watchdog, hungMessage, type HungReport } from "./watchdog.ts";
import type { TestHooks } from "./testHooks.ts";
import type {
  CheckpointInfo,
  CheckpointResult,
  OpenedItem,
  ProgressCallback,
  SaveResult,
  SessionSummary,
  UnitScience,
  UnitTable,
  WorkerAPI,
  DownloadConfirmation,
  Reproduction,
} from "./api.ts";
import type {
  ElectrodeMap,
  LayoutNode,
  LightReferenceRange,
  LightReferenceView,
  RasterOptions,
  RasterView,
  StorageEstimate,
  UnitColumn,
  UnitDetail,
} from "./views.ts";
export type { RunStepsRequest, RunStepsResult, StepInfo, StepInputFiles, StepProgressCallback } from "./pipelineOps.ts";
export type { PipelineProgress, StepReport } from "../core/pipeline.ts";
export { UNIT_LABELS, type UnitLabel } from "../core/unitLabel.ts";
import type { SelfBenchmarkResult } from "./selfBenchmark.ts";
import { appUrl } from "./appUrl.ts";
import type { UnitLabel } from "../core/unitLabel.ts";
import type { RunStepsRequest, RunStepsResult, StepInfo, StepProgressCallback } from "./pipelineOps.ts";

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
  }

  openFiles(files: File[], onProgress?: ProgressCallback): Promise<OpenedItem[]> {
    const recording = files.some((f) => /\.cmcr$/i.test(f.name));
    return this.call("Opening files", (r) => r.openFiles(files, onProgress && Comlink.proxy(onProgress)), recording ? LONG_CALL.openRecording : 1);
  }

  openDemo(onProgress?: ProgressCallback): Promise<OpenedItem[]> {
    return this.call("Opening the demo recording", (r) => r.openDemo(appUrl("demo/"), onProgress && Comlink.proxy(onProgress)), LONG_CALL.openRecording);
  }

  summary(sessionId: string): Promise<SessionSummary> {
    return this.call("Reading the session", (r) => r.summary(sessionId));
  }

  units(sessionId: string): Promise<UnitTable> {
    return this.call("Reading the units", (r) => r.units(sessionId));
  }

  /** The science columns of a table that came without them (`UnitTable.sciencePending`). */
  science(sessionId: string): Promise<UnitScience> {
    return this.call("Reading the units' features", (r) => r.science(sessionId));
  }

  /**
   * With a handle from `showSaveFilePicker()` the worker writes the file (SAVED once it is closed);
   * without, it returns it for a download, which stays unconfirmed until `confirmDownload`.
   */
  save(sessionId: string, target?: FileSystemFileHandle): Promise<SaveResult> {
    return this.call("Saving", (r) => r.save(sessionId, target));
  }

  /** The user has the downloaded file: the session is SAVED to it (as of the download). */
  confirmDownload(sessionId: string): Promise<DownloadConfirmation> {
    return this.call("Confirming the download", (r) => r.confirmDownload(sessionId));
  }

  checkpoint(sessionId: string): Promise<CheckpointResult> {
    return this.call("Checkpointing", (r) => r.checkpoint(sessionId));
  }

  /** Files given back for moved or changed sources: each must be the same file (see api.ts). */
  reattach(sessionId: string, files: File[]): Promise<SessionSummary> {
    return this.call(`Re-attaching ${files.map((f) => f.name).join(", ")}`, (r) => r.reattach(sessionId, files));
  }

  listCheckpoints(): Promise<CheckpointInfo[]> {
    return this.call("Listing checkpoints", (r) => r.listCheckpoints());
  }

  resumeCheckpoint(name: string): Promise<OpenedItem> {
    return this.call(`Resuming ${name}`, (r) => r.resumeCheckpoint(name));
  }

  exportCheckpoint(name: string): Promise<File> {
    return this.call(`Exporting ${name}`, (r) => r.exportCheckpoint(name));
  }

  deleteCheckpoint(name: string): Promise<void> {
    return this.call(`Deleting ${name}`, (r) => r.deleteCheckpoint(name));
  }

  benchmarkSaveLoad(bytes: number, budgetBytes?: number): Promise<SelfBenchmarkResult> {
    return this.call("Benchmarking", (r) => r.benchmarkSaveLoad(bytes, budgetBytes), LONG_CALL.benchmark);
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

  pipelineSteps(): Promise<StepInfo[]> {
    return this.call("Listing pipeline steps", (r) => r.pipelineSteps());
  }

  runSteps(sessionId: string, request: RunStepsRequest, onProgress?: StepProgressCallback): Promise<RunStepsResult> {
    return this.call("Running steps", (r) => r.runSteps(sessionId, request, onProgress && Comlink.proxy(onProgress)), LONG_CALL.runSteps);
  }

  cancelSteps(sessionId: string): Promise<void> {
    return this.call("Cancelling", (r) => r.cancelSteps(sessionId));
  }

  labelUnit(sessionId: string, unitId: string, label: UnitLabel): Promise<SessionSummary> {
    return this.call(`Labelling ${unitId}`, (r) => r.labelUnit(sessionId, unitId, label));
  }

  playlistNames(file: File): Promise<string[]> {
    return this.call(`Reading ${file.name}`, (r) => r.playlistNames(file));
  }

  sessionIds(): Promise<string[]> {
    return this.call("Listing sessions", (r) => r.sessionIds());
  }

  closeSession(sessionId: string): Promise<void> {
    return this.call("Closing the session", (r) => r.closeSession(sessionId));
  }

  setMemoryBudget(bytes: number | null): Promise<void> {
    return this.call("Setting the memory budget", (r) => r.setMemoryBudget(bytes));
  }

  unitDetail(sessionId: string, unitId: string): Promise<UnitDetail> {
    return this.call(`Reading ${unitId}`, (r) => r.unitDetail(sessionId, unitId));
  }

  lightReference(sessionId: string, range?: LightReferenceRange): Promise<LightReferenceView> {
    return this.call("Reading the light reference", (r) => r.lightReference(sessionId, range));
  }

  raster(sessionId: string, unitId: string, options?: RasterOptions): Promise<RasterView> {
    return this.call(`Building the raster of ${unitId}`, (r) => r.raster(sessionId, unitId, options));
  }

  unitColumn(sessionId: string, name: string): Promise<UnitColumn> {
    return this.call(`Reading the ${name} column`, (r) => r.unitColumn(sessionId, name));
  }

  electrodeMap(sessionId: string, colorBy: string): Promise<ElectrodeMap> {
    return this.call("Reading the electrode map", (r) => r.electrodeMap(sessionId, colorBy));
  }

  unitFeatures(sessionId: string, unitId: string): Promise<import("./views.ts").UnitFeaturesView> {
    return this.call(`Reading the features of ${unitId}`, (r) => r.unitFeatures(sessionId, unitId));
  }

  /** The layout from `path` (the root by default), long groups paged (`views.ts` `layoutPage`). */
  sessionTree(sessionId: string, path?: string): Promise<LayoutNode> {
    return this.call("Reading the file layout", (r) => r.sessionTree(sessionId, path));
  }

  /** The `hdmea process` command and workflow config fragment that redo the session in batch. */
  reproduceCommand(sessionId: string): Promise<Reproduction> {
    return this.call("Writing the command", (r) => r.reproduceCommand(sessionId));
  }

  storageEstimate(): Promise<StorageEstimate> {
    return this.call("Reading the storage estimate", (r) => r.storageEstimate());
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
    for (const reject of pending) reject(new WorkerError(reason, errorName, true));
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
    if (error instanceof WorkerError) return new WorkerError(`${what} failed: ${error.message}`, error.errorName, error.fatal);
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    if (name === "FatalWorkerError") {
      this.restart(message);
      return new WorkerError(`${what} failed: ${message}`, name, true);
    }
    // DataCloneError and friends come from the page side of postMessage, not from the worker.
    return new WorkerError(`${what} failed: ${message}`, name);
  }
}
