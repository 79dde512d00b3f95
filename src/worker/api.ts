/**
 * The worker service: the one contract between the page and the sessions held in the worker.
 * `WorkerAPI = typeof api` is what the main thread types itself against (see `client.ts`).
 *
 * | function                          | arguments                               | returns                         | errors / notes |
 * |-----------------------------------|-----------------------------------------|---------------------------------|----------------|
 * | `openFiles(files, onProgress?)`   | dropped `File`s (`.h5`, `.cmcr`, `.cmtr`) | `OpenedItem[]`, one per session file or recording | per item, never thrown: `item.error`; files are mounted read-only (`io/blobFs.ts`), never read whole; a recording's progress carries its units table while it opens (`OpenProgress.units`) |
 * | `openDemo(demoUrl, onProgress?)`  |                                         | `OpenedItem[]`                  | fetches the demo pair from the app's demo folder |
 * | `summary(sessionId)`              | session id                              | `SessionSummary`                | unknown session |
 * | `units(sessionId)`                | session id                              | `UnitTable` (typed arrays transferred) | unknown session; science columns: unitTable.ts; `sciencePending`: ask `science` for them |
 * | `science(sessionId)`              | session id                              | `UnitScience` (typed arrays transferred) | unknown session; reads every unit's features from the file if they are still there |
 * | `save(sessionId, target?)`        | id, `FileSystemFileHandle` from `showSaveFilePicker()` | `SaveResult`; without a target `result.file` is the file to download | with a target: SAVED once the writable's `close()` resolved; a download (no target) leaves the state as it was (`confirmed: false`) and also writes a checkpoint; on failure the old file and the session state stay as they were; not enough browser storage for the temporary file → refused with the sizes |
 * | `confirmDownload(sessionId)`      | session id                              | `DownloadConfirmation`          | the user has the downloaded file: SAVED to it as of the download (later changes stay unsaved); no pending download → error |
 * | `checkpoint(sessionId)`           | session id                              | `CheckpointResult`              | writes `checkpoints/<datasetId>.h5` in browser storage (overwrites with a session warning); state unchanged; not enough browser storage (estimate, or `QuotaExceededError`) → "Browser storage: not enough space …", the previous checkpoint unchanged |
 * | `listCheckpoints()`               |                                         | `CheckpointInfo[]` newest first |  |
 * | `resumeCheckpoint(name)`          | checkpoint name                         | `OpenedItem`                    | the session resumes from browser storage |
 * | `exportCheckpoint(name)`          | checkpoint name                         | `File` (disk-backed)            | for a download |
 * | `deleteCheckpoint(name)`          | checkpoint name                         | nothing                         | missing is fine; an open session reading its large arrays from it takes them in first (memory, or its spill store) |
 * | `closeSession(sessionId)`         | session id                              | nothing                         | unmounts its files, deletes its spill file; unknown id is fine |
 * | `reattach(sessionId, files)`      | id, `File`s given back for moved or changed sources | `SessionSummary`   | each file replaces the source of its name once it is the same file (size, and the shape of every dataset the session read); else refused naming the file and what differs, the session unchanged |
 * | `setMemoryBudget(bytes)`          | bytes, or `null` for the default        | nothing                         | past it, sessions move their largest arrays to browser storage (half of `deviceMemory` by default) |
 * | `benchmarkSaveLoad(bytes, budget?)` | session size in bytes, memory budget  | timings, sizes, wasm heap       | a synthetic session saved through OPFS and loaded (bench/); with a budget built spilled, not loaded |
 * | `pipelineSteps()`                 |                                         | `StepInfo[]` in run order       | names, defaults, prerequisites (pipelineOps.ts) |
 * | `runSteps(sessionId, req, onProgress?)` | id, steps/params/force/input `File`s | `RunStepsResult` (report, summary, cancelled) | parameter errors before anything runs; a cancelled or failed step leaves the session as before it |
 * | `cancelSteps(sessionId)`          | session id                              | nothing                         | the running step stops at its next check |
 * | `labelUnit(sessionId, unitId, label)` | id, unit, rgc/ac/other/no_label      | `SessionSummary`                | unknown unit or label |
 * | `playlistNames(file)`             | a playlist CSV `File`                   | its playlist names              | the file and line of a malformed row |
 * | `sessionIds()`                    |                                         | ids of open sessions            | the client uses it after a restart check |
 * | `unitDetail(sessionId, unitId)`   | session id, `unit_NNN`                  | `UnitDetail` (waveform, firing_rate_10hz, meta scalars; transferred) | unknown session or unit (views.ts) |
 * | `lightReference(sessionId, range?)` | id, `{from, to, points}` in seconds / pixel buckets | `LightReferenceView`: min/max envelope + section_time boxes | no light reference → empty trace |
 * | `raster(sessionId, unitId, opts?)` | id, unit, `{movie, binS, windowS}`      | `RasterView`: spikes per trial (s from trial start) + PSTH | no sections → recording-time raster, one row |
 * | `unitColumn(sessionId, name)`     | id, `spike_count`/`rate_hz`/unit_meta/feature scalar | `UnitColumn` (one value per unit, NaN if missing) | |
 * | `electrodeMap(sessionId, colorBy)` | id, column name                        | `ElectrodeMap`: row/col per unit + the column | |
 * | `unitFeatures(sessionId, unitId)` | id, unit                               | `UnitFeaturesView`: tuning, chirp curves, STA peak frame, scalars (transferred) | unknown unit; absent features → empty lists |
 * | `reproduceCommand(sessionId)`     | session id                              | `Reproduction`: the `hdmea process` command and workflow config that redo it | what the CLI cannot redo is in comments (core/reproduceCommand.ts) |
 * | `sessionTree(sessionId, path?)`   | session id, a group's path              | `LayoutNode`: the HDF5 layout a save writes, from `path`; long groups' later members folded (`layoutPage`) | unknown path |
 * | `storageEstimate()`               |                                         | browser storage usage, quota, persisted | nulls where the browser has no estimate |
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
 * multi-line diagnostics are reduced to their most specific line). Errors named `FatalWorkerError`
 * mean the wasm module may be corrupt: the client restarts the worker.
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

async function summary(sessionId: string): Promise<SessionSummary> {
  return summarizeSession(get(sessionId).session);
}

/** The units table; without the science columns when they would have to be read from the file first (`unitScience`). */
async function units(sessionId: string): Promise<UnitTable> {
  const table = unitTable(get(sessionId).session, { science: "later" });
  return transfer(table, unitTableBuffers(table));
}

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
  openFiles: guarded(openFiles),
  openDemo: guarded(openDemo),
  summary: guarded(summary),
  units: guarded(units),
  science: guarded(science),
  save: guarded(save),
  confirmDownload: guarded(confirmDownload),
  checkpoint: guarded(checkpoint),
  listCheckpoints: guarded(listCheckpoints),
  resumeCheckpoint: guarded(resumeCheckpoint),
  exportCheckpoint: guarded(exportCheckpoint),
  deleteCheckpoint: guarded(deleteCheckpoint),
  benchmarkSaveLoad: guarded(benchmarkSaveLoad),
  closeSession: guarded(closeSession),
  reattach: guarded(reattach),
  setMemoryBudget: guarded(setMemoryBudget),
  sessionIds: guarded(sessionIds),
  pipelineSteps: guarded(pipeline.pipelineSteps),
  runSteps: guarded(pipeline.runSteps),
  cancelSteps: guarded(pipeline.cancelSteps),
  playlistNames: guarded(pipeline.playlistNames),
  labelUnit: guarded(labelUnit),
  unitDetail: guarded(views.unitDetail),
  lightReference: guarded(views.lightReference),
  raster: guarded(views.raster),
  unitColumn: guarded(views.unitColumn),
  electrodeMap: guarded(views.electrodeMap),
  unitFeatures: guarded(views.unitFeatures),
  sessionTree: guarded(views.sessionTree),
  storageEstimate: guarded(views.storageEstimate),
  reproduceCommand: guarded(reproduceCommand),
};

export type WorkerAPI = typeof api;
