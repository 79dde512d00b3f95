/**
 * The worker service: the one contract between the page and the sessions held in the worker.
 * `WorkerAPI = typeof api` is what the main thread types itself against (see `client.ts`).
 *
 * Each operation is described once, by its doc comment in `api` below (the page's client carries
 * it, being derived from `WorkerAPI`), and labelled once, in `CALLS` (`client.ts`).
 *
 * Operations report what they do as heartbeats (`activity.ts`): the page's watchdog replaces a
 * worker that stays silent too long. Test hooks live apart, in `testHooks.ts`.
 *
 * Where each operation lives: opening in `openOps.ts`, saving in `saveOps.ts`, checkpoints in
 * `checkpointOps.ts`, the files a session reads from in `sessionCopies.ts`, the open sessions and
 * the memory budget in `sessionRegistry.ts`, views in `views.ts` and `unitTable.ts`, steps in
 * `pipelineOps.ts`, how errors leave the worker in `workerErrors.ts`.
 *
 * Every error leaves the worker as a plain `Error` whose message is meant for a person (HDF5's
 * multi-line diagnostics are reduced to their most specific line), carrying its kind and file as
 * fields (`core/failure.ts`). Errors named `FatalWorkerError` mean the wasm module may be corrupt:
 * the client restarts the worker.
 */
import { transfer } from "comlink";
import { summarizeSession, type SessionSummary } from "../core/sessionSummary.ts";
import { setUnitLabel, type UnitLabel } from "../core/unitLabel.ts";
import { reproduceCommand as reproduction, reproduceInputOf, type Reproduction } from "../core/reproduceCommand.ts";
import { sourcesInUse } from "../core/sessionSources.ts";
import { openSensorInput } from "../io/mcs/sensorInput.ts";
import { benchmarkSaveLoad } from "./selfBenchmark.ts";
import { pipelineOperations } from "./pipelineOps.ts";
import { viewOperations } from "./views.ts";
import { unitScience, unitScienceBuffers, unitTable, unitTableBuffers, type UnitScience, type UnitTable } from "./unitTable.ts";
import { openDemo, openFiles } from "./openOps.ts";
import { confirmDownload, save } from "./saveOps.ts";
import { checkpoint, deleteCheckpoint, exportCheckpoint, listCheckpoints, resumeCheckpoint, writeCheckpoint } from "./checkpointOps.ts";
import { reattach, useCopyForLostFiles } from "./sessionCopies.ts";
import { closeSession, get, runtimeNow, sessionIds, setMemoryBudget } from "./sessionRegistry.ts";
import { guarded } from "./workerErrors.ts";
import { runtime } from "./workerFs.ts";

export type { CheckpointInfo } from "./checkpointStore.ts";
export type { Reproduction } from "../core/reproduceCommand.ts";
export type { SessionSummary } from "../core/sessionSummary.ts";
export type { RunStepsRequest, RunStepsResult, StepInfo, StepInputFiles, StepProgressCallback } from "./pipelineOps.ts";
export type { PipelineProgress, StepReport } from "../core/pipeline.ts";
export type { ElectrodeMap, LayoutNode, LightReferenceRange, LightReferenceView, RasterOptions, RasterView, StorageEstimate, UnitColumn, UnitDetail } from "./views.ts";
export type { OpenedItem, OpenProgress, ProgressCallback } from "./openOps.ts";
export type { DownloadConfirmation, SaveResult } from "./saveOps.ts";
export type { CheckpointResult } from "./checkpointOps.ts";
/** Column-wise units table: one entry per unit, in the session's order. */
export type { UnitScience, UnitTable } from "./unitTable.ts";

/** What the page shows of a session: state, steps, warnings, counts. */
async function summary(sessionId: string): Promise<SessionSummary> {
  return summarizeSession(get(sessionId).session);
}

/** The units table; without the science columns when they would have to be read from the file first (`unitScience`). */
async function units(sessionId: string): Promise<UnitTable> {
  const table = unitTable(get(sessionId).session, { science: "later" });
  return transfer(table, unitTableBuffers(table));
}

/** The science columns of the units table, read from the session file where they are still there. */
async function science(sessionId: string): Promise<UnitScience> {
  const columns = unitScience(get(sessionId).session);
  return transfer(columns, unitScienceBuffers(columns));
}

/** The manual cell-type label of a unit, in the lab's `auto_label/axon_type` place. */
async function labelUnit(sessionId: string, unitId: string, label: UnitLabel): Promise<SessionSummary> {
  const { session } = get(sessionId);
  setUnitLabel(session, unitId, label);
  return summarizeSession(session);
}

/** "Copy as command": the batch command and workflow config that redo the session, from what it recorded. */
async function reproduceCommand(sessionId: string): Promise<Reproduction> {
  return reproduction(reproduceInputOf(get(sessionId).session));
}

const views = viewOperations((sessionId) => get(sessionId).session);

const pipeline = pipelineOperations(
  (sessionId) => {
    const open = get(sessionId);
    // A step reads the arrays left in files: from the full copy where a file went.
    if (sourcesInUse(open.session).length) useCopyForLostFiles(runtimeNow(), open);
    return open.session;
  },
  (sessionId) => writeCheckpoint(sessionId, false),
  async (sessionId) => {
    // The .cmcr a recording was opened from stays mounted for exactly this: the eimage STA.
    const cmcr = [...(get(sessionId).drop?.paths.values() ?? [])].find((p) => /\.cmcr$/i.test(p));
    return cmcr ? openSensorInput(await runtime(), cmcr) : undefined;
  },
);

export const api = {
  /**
   * Dropped `File`s (`.h5`, `.cmcr`, `.cmtr`) → one `OpenedItem` per session file or recording; a
   * failure is the item's `error` and `failure`, never thrown. Files are mounted read-only
   * (`io/blobFs.ts`), never read whole; a recording's progress carries its units table while it
   * opens (`OpenProgress.units`).
   */
  openFiles: guarded(openFiles),
  /**
   * The demo pair, fetched from the app's demo folder (`demoUrl`), opened as `openFiles` opens a
   * drop.
   */
  openDemo: guarded(openDemo),
  summary: guarded(summary),
  units: guarded(units),
  science: guarded(science),
  /**
   * With a target (`showSaveFilePicker()`): SAVED once the writable's `close()` resolved. Without:
   * `result.file` is the file to download, the state stays as it was (`confirmed: false`) and a
   * checkpoint is written. On failure the old file and the session stay as they were; too little
   * browser storage for the temporary file is refused with the sizes.
   */
  save: guarded(save),
  /**
   * The user has the downloaded file: SAVED to it as of the download (later changes stay unsaved).
   * No download waiting → error.
   */
  confirmDownload: guarded(confirmDownload),
  /**
   * Writes `checkpoints/<datasetId>.h5` in browser storage (a full copy, then deltas; overwriting
   * warns in the session); the state stays. Too little storage → refused, the previous checkpoint
   * unchanged.
   */
  checkpoint: guarded(checkpoint),
  /** Checkpoints in browser storage, newest first. */
  listCheckpoints: guarded(listCheckpoints),
  /** The session of a checkpoint in browser storage, opened lazily. */
  resumeCheckpoint: guarded(resumeCheckpoint),
  /** A checkpoint as a disk-backed `File`, for a download. */
  exportCheckpoint: guarded(exportCheckpoint),
  /**
   * Missing is fine; an open session still reading large arrays from it takes them in first (memory,
   * or its spill store).
   */
  deleteCheckpoint: guarded(deleteCheckpoint),
  /**
   * A synthetic session of `bytes` saved through OPFS and loaded (or, with a budget, built spilled):
   * timings, sizes, wasm heap (bench/).
   */
  benchmarkSaveLoad: guarded(benchmarkSaveLoad),
  /** Unmounts its files and deletes its spill file; an unknown id is fine. */
  closeSession: guarded(closeSession),
  /**
   * Files given back for moved or changed sources: each replaces the source of its name if it is the
   * same file (size, and the shape of every dataset read); else refused naming the file and what
   * differs, the session unchanged.
   */
  reattach: guarded(reattach),
  /**
   * Bytes (or `null` for half of `deviceMemory`) past which sessions move their largest arrays to
   * browser storage.
   */
  setMemoryBudget: guarded(setMemoryBudget),
  /** Ids of the open sessions (the client asks after a restart check). */
  sessionIds: guarded(sessionIds),
  /** The steps in run order: names, defaults, prerequisites. */
  pipelineSteps: guarded(pipeline.pipelineSteps),
  /**
   * Runs steps with parameters and input `File`s. Parameter errors come before anything runs; a
   * cancelled or failed step leaves the session as before it.
   */
  runSteps: guarded(pipeline.runSteps),
  /** The running step stops at its next check. */
  cancelSteps: guarded(pipeline.cancelSteps),
  /** The playlist names of a playlist CSV; a malformed row names the file and line. */
  playlistNames: guarded(pipeline.playlistNames),
  labelUnit: guarded(labelUnit),
  /** A unit's waveform, `firing_rate_10hz` and meta scalars (transferred). */
  unitDetail: guarded(views.unitDetail),
  /**
   * Min/max envelope of the light reference over `{from, to}` seconds in `points` buckets, with the
   * section_time boxes; none → an empty trace.
   */
  lightReference: guarded(views.lightReference),
  /**
   * Spikes per trial (seconds from the trial's start) and the PSTH for one movie; no sections yet →
   * a recording-time raster, one row.
   */
  raster: guarded(views.raster),
  /** One value per unit (`spike_count`, `rate_hz`, a unit_meta or feature scalar), NaN where missing. */
  unitColumn: guarded(views.unitColumn),
  /** Each unit's row/col with a column to colour by. */
  electrodeMap: guarded(views.electrodeMap),
  /**
   * Tuning, chirp curves, STA peak frame and scalars of one unit (transferred); absent features →
   * empty lists.
   */
  unitFeatures: guarded(views.unitFeatures),
  /** The HDF5 layout a save writes, from `path`; a long group's members come folded (`layoutPage`). */
  sessionTree: guarded(views.sessionTree),
  /** Browser storage usage, quota and persistence; nulls where the browser has no estimate. */
  storageEstimate: guarded(views.storageEstimate),
  reproduceCommand: guarded(reproduceCommand),
};

export type WorkerAPI = typeof api;
