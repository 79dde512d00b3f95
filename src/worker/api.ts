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
 * | `injectWriteFault(bytes)`         | bytes                                   | nothing                         | test hook: OPFS writes fail after that many bytes |
 * | `injectWritableFault(name, at)`   | DOMException name, `"open"`, `"write"` or `"close"` | nothing             | test hook: the next `createWritable()` (save target or checkpoint) fails with that error |
 * | `crashForTest()`                  |                                         | never returns                   | test hook: throws a wasm `RuntimeError`, so the client restarts the worker as after a real trap |
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
 * worker that stays silent too long. Test hooks that are not listed here live in `testHooks.ts`.
 *
 * Every error leaves the worker as a plain `Error` whose message is meant for a person (HDF5's
 * multi-line diagnostics are reduced to their most specific line). Errors named `FatalWorkerError`
 * mean the wasm module may be corrupt: the client restarts the worker.
 */
import { transfer } from "comlink";
import type { PipelineSession } from "../core/session.ts";
import { HELD_FIELDS, defaultMemoryBudgetBytes, heldArrayOf, savedArrayBytes, type HeldField, type MemoryBudget } from "../core/memoryBudget.ts";
import type { SpillStore } from "../core/spillStore.ts";
import { summarizeSession, type SessionSummary } from "../core/sessionSummary.ts";
import { pairRecordingFiles } from "../core/recordingPairing.ts";
import { hdf5ErrorSummary, type H5Runtime } from "../io/h5.ts";
import { failWritesAfter } from "../io/opfsFs.ts";
import { loadSession, writeSessionTo } from "../io/sessionStore.ts";
import { benchmarkSaveLoad } from "./selfBenchmark.ts";
import { throttledProgress } from "./progressThrottle.ts";
import { doing } from "./activity.ts";
import { checkSpace, spaceErrorFor } from "./storageSpace.ts";
import { pipelineOperations } from "./pipelineOps.ts";
import { viewOperations } from "./views.ts";
import { openingTable, unitScience, unitScienceBuffers, unitTable, unitTableBuffers, type UnitScience, type UnitTable } from "./unitTable.ts";
import { loadRecording } from "../io/mcs/openRecording.ts";
import { openSensorInput } from "../io/mcs/sensorInput.ts";
import { setUnitLabel, type UnitLabel } from "../core/unitLabel.ts";
import { reproduceCommand as reproduction, reproduceInputOf, type Reproduction } from "../core/reproduceCommand.ts";
import { attachedSources, closeSources, detachSources, fullCopy, setFullCopy, sourcesInUse } from "../core/sessionSources.ts";
import { NDArray, isTree, type TreeNode } from "../core/ndarray.ts";
import { readArraysFrom } from "../io/sessionFile.ts";
import { openSourceFile, type H5SourceFile } from "../io/sourceFile.ts";
import {
  CheckpointReplacedError,
  checkpointExists,
  checkpointFile,
  checkpointStamp,
  hasCheckpointDeltas,
  readCheckpoint,
  checkpointNameFor,
  deleteCheckpoint as removeCheckpoint,
  listCheckpoints as readCheckpointList,
  type CheckpointInfo,
} from "./checkpointStore.ts";
import { planBrowserCheckpoint, plannedBytes, resumedBrowserCheckpoint, storeBrowserCheckpoint, warmUpCheckpointWriter } from "./checkpointWrites.ts";
import { writeCheckpointAsOneFile } from "../io/checkpointDeltas.ts";
import {
  copyToWritable,
  createScratchFile,
  createSpillStore,
  hasOpfs,
  mountFiles,
  runtime,
  unmountDrop,
  type MountedDrop,
  type ScratchFile,
} from "./workerFs.ts";

export type { CheckpointInfo } from "./checkpointStore.ts";
export type { Reproduction } from "../core/reproduceCommand.ts";
export type { SessionSummary } from "../core/sessionSummary.ts";
export type { RunStepsRequest, RunStepsResult, StepInfo, StepInputFiles, StepProgressCallback } from "./pipelineOps.ts";
export type { PipelineProgress, StepReport } from "../core/pipeline.ts";
export type { ElectrodeMap, LayoutNode, LightReferenceRange, LightReferenceView, RasterOptions, RasterView, StorageEstimate, UnitColumn, UnitDetail } from "./views.ts";

/** One thing a drop turned into: a session, or the reason it could not become one. */
export interface OpenedItem {
  /** What the user dropped, e.g. `rec.h5` or `rec.cmcr + rec-.cmtr`. */
  name: string;
  kind: "session-file" | "recording" | "checkpoint" | "other";
  sessionId?: string;
  summary?: SessionSummary;
  error?: string;
}

export interface OpenProgress {
  name: string;
  fraction: number;
  message: string;
  /** A recording's units while it opens: listed first, spike counts filled in as they are read (`UnitTable.opening`). */
  units?: UnitTable;
}

export type ProgressCallback = (progress: OpenProgress) => void;

/** Column-wise units table: one entry per unit, in the session's order. */
export type { UnitScience, UnitTable } from "./unitTable.ts";

export interface SaveResult {
  summary: SessionSummary;
  fileName: string;
  bytes: number;
  /**
   * True when the bytes are known to be in the user's file (the writable closed). False for a
   * download: the browser does not say whether it finished, so the state stays as it was until
   * `confirmDownload`.
   */
  confirmed: boolean;
  /** Only for a download (no target handle): the written file. */
  file?: File;
  /** Only for a download: the checkpoint kept meanwhile in browser storage, or why it could not be. */
  checkpoint?: CheckpointInfo;
  checkpointError?: string;
}

export interface DownloadConfirmation {
  summary: SessionSummary;
  fileName: string;
  /** The session changed after the download: the file holds it as it was, later changes are unsaved. */
  changedSince: boolean;
}

/** A download offered but not confirmed: what `confirmDownload` marks saved. */
interface PendingDownload {
  fileName: string;
  savedAt: string;
  changedSince: boolean;
  stopWatching(): void;
}

export interface CheckpointResult {
  summary: SessionSummary;
  checkpoint: CheckpointInfo;
}

interface OpenSession {
  session: PipelineSession;
  name: string;
  /** Mounted source files, unmounted on close. */
  drop?: MountedDrop;
  /** The last saved file offered as a download: kept until the next save or close. */
  lastExport?: ScratchFile;
  /** That download, until the user confirms it or saves again. */
  download?: PendingDownload;
  /** Its spill store, attached just after opening (see `attachSpillStore`). */
  spill?: Promise<SpillStore | undefined>;
  /**
   * Mounts of full copies of the session (its checkpoint, a resumed checkpoint, the file it was
   * saved to) that arrays or the session's full copy read from; unmounted once unused, or on close.
   */
  copies?: MountedDrop[];
  /** Files given back for moved sources (`reattach`), unmounted on close. */
  reattached?: MountedDrop[];
}

const sessions = new Map<string, OpenSession>();
/** How often a recording being opened sends its units table with the spike counts read so far. */
const UNITS_EVERY_MS = 500;
/** The runtime every session was opened with, for the few synchronous callers that need it. */
let openedWith: H5Runtime | undefined;

function runtimeNow(): H5Runtime {
  if (!openedWith) throw new Error("no session was opened in this worker");
  return openedWith;
}
let sessionCounter = 0;

// ───────────────────────── operations ─────────────────────────

async function openFiles(files: File[], onProgress?: ProgressCallback): Promise<OpenedItem[]> {
  const rt = (openedWith = await runtime());
  const items: OpenedItem[] = [];
  const sessionFiles = files.filter((f) => /\.(h5|hdf5)$/i.test(f.name));
  const recordingFiles = files.filter((f) => /\.(cmcr|cmtr)$/i.test(f.name));
  for (const file of files) {
    if (!sessionFiles.includes(file) && !recordingFiles.includes(file)) {
      items.push({ name: file.name, kind: "other", error: `${file.name}: not a session file (.h5) or recording (.cmcr/.cmtr)` });
    }
  }
  for (const file of sessionFiles) items.push(await openSessionFile(rt, file));
  if (recordingFiles.length) items.push(...openRecordings(rt, recordingFiles, onProgress));
  // Summaries as of now, with the memory budget each session got once its spill store opened.
  for (const item of items) {
    const open = item.sessionId ? sessions.get(item.sessionId) : undefined;
    if (!open) continue;
    await open.spill;
    item.summary = summarizeSession(open.session);
  }
  if (items.some((item) => item.sessionId)) warmUpCheckpointWriter(rt);
  return items;
}

/** `demoUrl`: the demo folder as the page resolves it (the app may be served from any folder). */
async function openDemo(demoUrl: string, onProgress?: ProgressCallback): Promise<OpenedItem[]> {
  const names = ["demo.cmcr", "demo-.cmtr"];
  const files = await Promise.all(
    names.map(async (name) => {
      const url = new URL(name, demoUrl);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`demo recording ${name} could not be fetched (HTTP ${response.status})`);
      return new File([await response.blob()], name);
    }),
  );
  return openFiles(files, onProgress);
}

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

async function save(sessionId: string, target?: FileSystemFileHandle): Promise<SaveResult> {
  const rt = await runtime();
  const open = get(sessionId);
  const { session } = open;
  useCopyForLostFiles(rt, open);
  const fileName = target?.name ?? `${session.datasetId}.h5`;
  // A download still reading the previous export is done by now: the page asked for a new save.
  await open.lastExport?.dispose();
  open.lastExport = undefined;
  forgetDownload(open);
  const sessionBytes = dataBytes(session);
  if (hasOpfs()) await checkSpace("save", sessionBytes);
  doing("writing the session file", fileName);
  const scratch = await createScratchFile(rt, `save-${sessionId}-${Date.now()}.h5`, sessionBytes);
  let savedAt: string, bytes: number, file: File;
  try {
    savedAt = writeSessionTo(rt, session, scratch.path);
    bytes = scratch.size();
    file = await scratch.file(fileName);
  } catch (error) {
    await scratch.dispose();
    throw await spaceErrorFor(error, "save", sessionBytes);
  }
  if (target) {
    doing(`copying to ${fileName}`, fileName);
    try {
      // Resolves only after the writable's close(): the bytes are in the user's file.
      await copyToWritable(file, await target.createWritable());
    } finally {
      await scratch.dispose();
    }
    // State changes only once the bytes reached the user's file; the scratch path means nothing to them.
    session.markSaved(fileName, savedAt);
    // A full copy: the session reads it should a file it reads from go; and arrays read from the
    // very file just replaced (a dropped session saved over itself) read the new one.
    await keepCopy(rt, open, () => target.getFile(), false);
    return { summary: summarizeSession(session), fileName, bytes, confirmed: true };
  }
  // A download: the browser never says whether it finished, failed or was cancelled. The session
  // stays as it was (unsaved) until the user confirms, and browser storage keeps a checkpoint.
  open.lastExport = scratch; // the download reads it after we return
  open.download = watchDownload(session, fileName, savedAt);
  const result: SaveResult = { summary: summarizeSession(session), fileName, bytes, confirmed: false, file };
  try {
    result.checkpoint = (await writeCheckpoint(sessionId, false)).checkpoint;
  } catch (error) {
    if (isFatal(error)) throw error;
    result.checkpointError = personMessage(error);
  }
  result.summary = summarizeSession(session);
  return result;
}

/** Remembers a download until it is confirmed, and whether the session changed after it. */
function watchDownload(session: PipelineSession, fileName: string, savedAt: string): PendingDownload {
  const download: PendingDownload = { fileName, savedAt, changedSince: false, stopWatching: () => undefined };
  const stop = session.onChange(() => (download.changedSince = true));
  download.stopWatching = () => void stop();
  return download;
}

function forgetDownload(open: OpenSession): void {
  open.download?.stopWatching();
  open.download = undefined;
}

async function confirmDownload(sessionId: string): Promise<DownloadConfirmation> {
  const open = get(sessionId);
  const { session, download } = open;
  if (!download) throw new Error(`no download of session ${session.datasetId} is waiting to be confirmed`);
  forgetDownload(open);
  session.markSaved(download.fileName, download.savedAt);
  // The file holds the session as it was when downloaded: what changed since is still unsaved.
  if (download.changedSince) session.hasUnsavedChanges = true;
  return { summary: summarizeSession(session), fileName: download.fileName, changedSince: download.changedSince };
}

async function checkpoint(sessionId: string): Promise<CheckpointResult> {
  return writeCheckpoint(sessionId, true);
}

/** `warnOnOverwrite` is off for the automatic checkpoint after each step, where replacing is the point. */
async function writeCheckpoint(sessionId: string, warnOnOverwrite: boolean, replanned = false): Promise<CheckpointResult> {
  const rt = await runtime();
  const { session } = get(sessionId);
  useCopyForLostFiles(rt, get(sessionId));
  const name = checkpointNameFor(session.datasetId);
  // The first checkpoint is a full copy; later ones add what changed (checkpointWrites.ts).
  const plan = await planBrowserCheckpoint(session, name);
  const sessionBytes = plannedBytes(session, plan, dataBytes(session));
  // Refused before anything is written when the browser says it cannot fit (scratch file + copy).
  if (hasOpfs()) await checkSpace("checkpoint", sessionBytes);
  doing("writing the checkpoint", name);
  const scratch = await createScratchFile(rt, `checkpoint-${sessionId}-${Date.now()}.h5`, sessionBytes);
  try {
    const existed = await checkpointExists(name);
    // Another session here reading from the checkpoint a full copy replaces takes its arrays in first.
    if (plan.kind === "full") for (const [id, other] of sessions) if (id !== sessionId) stopReadingFrom(rt, other, name);
    const { info, kind } = await storeBrowserCheckpoint(rt, session, name, plan, scratch, () => doing("copying the checkpoint into browser storage", name));
    // A full copy: the session reads it should a dropped file go; and arrays read from the
    // checkpoint it just replaced (a resumed session) read the new one. A delta leaves the base as it was.
    if (kind === "full") await keepCopy(rt, get(sessionId), () => checkpointFile(name), true);
    // Only now, when it happened: a failed checkpoint overwrote nothing.
    if (existed && warnOnOverwrite) session.warn(`overwrote checkpoint ${name} in browser storage`);
    return { summary: summarizeSession(session), checkpoint: info };
  } catch (error) {
    // Another tab wrote the checkpoint between the plan and the write: planned again, a full copy.
    if (error instanceof CheckpointReplacedError && !replanned) return writeCheckpoint(sessionId, warnOnOverwrite, true);
    throw await spaceErrorFor(error, "checkpoint", sessionBytes);
  } finally {
    await scratch.dispose();
  }
}

async function listCheckpoints(): Promise<CheckpointInfo[]> {
  return readCheckpointList();
}

async function resumeCheckpoint(name: string): Promise<OpenedItem> {
  const rt = (openedWith = await runtime());
  const label = `${name} (checkpoint)`;
  doing("reading the checkpoint", name);
  const budget = await newMemoryBudget();
  let readFrom: MountedDrop | undefined;
  try {
    // The tree and small arrays are read through a sync access handle (fast, and it waits for
    // another tab writing the checkpoint); the big arrays stay in the checkpoint's base and are read
    // later through its `File`, which holds no lock. Deltas are small and read whole.
    const started = Date.now();
    const before = await checkpointStamp(name);
    const read = (keepInFile?: false) =>
      readCheckpoint(rt, name, (path, deltaPath) =>
        loadSession(rt, path, { memoryBudget: budget, ...(keepInFile === false ? { keepInFile } : {}), checkpoint: { key: name, deltaPath } }),
      );
    let { session } = await read();
    const file = await checkpointFile(name);
    if (file.lastModified < started) {
      // Not written since before the read began: the same bytes as the handle read.
      readFrom = mountFiles(rt, [file]);
      readArraysFrom(rt, session, readFrom.paths.get(file.name)!, () => true, name);
    } else {
      // Written meanwhile (by another tab), or the browser moved its time: read it again, all into memory.
      closeSources(session);
      session = (await read(false)).session;
    }
    await resumedBrowserCheckpoint(session, name, before);
    markKeptCopies(session);
    const sessionId = register({ session, name: label, spill: Promise.resolve(budget?.store), copies: readFrom ? [readFrom] : [] });
    return { name: label, kind: "checkpoint", sessionId, summary: summarizeSession(session) };
  } catch (error) {
    budget?.store.close();
    if (readFrom) unmountDrop(rt, readFrom.dir);
    if (isFatal(error)) throw error;
    return { name: label, kind: "checkpoint", error: personMessage(error) };
  }
}

/** The last export written as one file (a checkpoint with deltas), kept until the next for its download. */
let lastCheckpointExport: ScratchFile | undefined;

async function exportCheckpoint(name: string): Promise<File> {
  if (!(await hasCheckpointDeltas(name))) return checkpointFile(name);
  // An export is one ordinary session file: the checkpoint and its deltas are written as one.
  const rt = await runtime();
  doing("writing the checkpoint as one file", name);
  await lastCheckpointExport?.dispose();
  lastCheckpointExport = undefined;
  const scratch = await createScratchFile(rt, `export-${Date.now()}.h5`, (await checkpointFile(name)).size);
  try {
    await readCheckpoint(rt, name, (path, deltaPath) => writeCheckpointAsOneFile(rt, path, scratch.path, deltaPath));
    const file = await scratch.file(name);
    lastCheckpointExport = scratch;
    return file;
  } catch (error) {
    await scratch.dispose();
    throw error;
  }
}

async function deleteCheckpoint(name: string): Promise<void> {
  // A session whose big arrays are read from this checkpoint takes them in first.
  const rt = await runtime();
  for (const open of sessions.values()) stopReadingFrom(rt, open, name);
  await removeCheckpoint(name);
}

async function closeSession(sessionId: string): Promise<void> {
  const open = sessions.get(sessionId);
  if (!open) return;
  sessions.delete(sessionId);
  forgetDownload(open);
  (await open.spill)?.close();
  await open.lastExport?.dispose();
  closeSources(open.session); // before its files are unmounted
  const rt = await runtime();
  for (const drop of [open.drop, ...(open.copies ?? []), ...(open.reattached ?? [])]) if (drop) unmountDrop(rt, drop.dir);
}

/**
 * A file or several given back for sources the session can no longer read (moved, rewritten,
 * unplugged): each replaces the source of the same name once it is shown to be the same file.
 */
async function reattach(sessionId: string, files: File[]): Promise<SessionSummary> {
  const rt = await runtime();
  const open = get(sessionId);
  const sources = attachedSources(open.session) as H5SourceFile[];
  for (const file of files) {
    const source = sources.find((s) => s.name === file.name && !s.keptCopy);
    if (!source) {
      const names = sources.filter((s) => !s.keptCopy).map((s) => s.name);
      throw new Error(`${file.name} is not a file this session reads from (${names.length ? `it reads ${names.join(", ")}` : "it reads no dropped file"}); nothing changed`);
    }
    doing("checking the file given back", file.name);
    const drop = mountFiles(rt, [file]);
    try {
      source.reattach(drop.paths.get(file.name)!);
    } catch (error) {
      unmountDrop(rt, drop.dir);
      throw error;
    }
    (open.reattached ??= []).push(drop);
    // The eimage STA reads the .cmcr's sensor data by its path.
    if (open.drop?.paths.has(file.name)) open.drop.paths.set(file.name, drop.paths.get(file.name)!);
  }
  return summarizeSession(open.session);
}

/**
 * After a full copy of the session reached `file` (its checkpoint in browser storage, or the user's
 * saved file): arrays read from an earlier version of that file (replaced just now, which the
 * browser no longer lets anyone read) read the new one, and the copy is where arrays are read from
 * should a dropped file go (`useCopyForLostFiles`). Nothing to do for a session that reads no file.
 */
async function keepCopy(rt: H5Runtime, open: OpenSession, fileOf: () => Promise<File>, keptCopy: boolean): Promise<void> {
  const { session } = open;
  if (!sourcesInUse(session).length) return;
  let file: File;
  try {
    file = await fileOf();
  } catch (error) {
    // The copy is written all the same; the session keeps reading where it did (the source check guards that).
    session.warn(`${session.datasetId}: the copy just written could not be opened for reading (${personMessage(error)})`);
    return;
  }
  const drop = mountFiles(rt, [file]);
  const path = drop.paths.get(file.name)!;
  let replaced: H5SourceFile | undefined;
  try {
    // Opens the copy before it moves anything: a copy another tab replaced since (its checkpoint
    // moved in over this one) fails here, and the session keeps reading where it did.
    replaced = readArraysFrom(rt, session, path, (s) => s.name === file.name && !!s.keptCopy === keptCopy, file.name) as H5SourceFile | undefined;
  } catch (error) {
    unmountDrop(rt, drop.dir);
    session.warn(`${session.datasetId}: the copy just written could not be opened for reading (${personMessage(error)})`);
    return;
  }
  (open.copies ??= []).push(drop);
  if (replaced) replaced.keptCopy = keptCopy;
  const copy = openSourceFile(rt, path, file.name);
  copy.keptCopy = keptCopy;
  setFullCopy(session, copy);
  pruneCopies(rt, open);
}

/**
 * Before a save, checkpoint or step: arrays whose file is gone or changed read from the session's
 * full copy instead, while that copy still holds what was written. Without one (or with a changed
 * one) nothing changes, and the operation stops naming the file as before.
 */
function useCopyForLostFiles(rt: H5Runtime, open: OpenSession): void {
  const { session } = open;
  const lost = sourcesInUse(session).filter((s) => {
    try {
      s.check();
      return false;
    } catch {
      return true;
    }
  });
  if (!lost.length) return;
  const copy = fullCopy(session) as H5SourceFile | undefined;
  if (!copy) return;
  const now = readArraysFrom(rt, session, copy.path, (s) => lost.includes(s), copy.name) as H5SourceFile | undefined;
  if (now) now.keptCopy = copy.keptCopy;
  pruneCopies(rt, open);
}

/** Unmounts copies nothing reads from any more (neither arrays nor the full copy). */
function pruneCopies(rt: H5Runtime, open: OpenSession): void {
  const used = new Set((sourcesInUse(open.session) as H5SourceFile[]).map((s) => s.path));
  const copy = fullCopy(open.session) as H5SourceFile | undefined;
  if (copy) used.add(copy.path);
  open.copies = (open.copies ?? []).filter((drop) => {
    if ([...drop.paths.values()].some((p) => used.has(p))) return true;
    unmountDrop(rt, drop.dir);
    return false;
  });
}

/**
 * The arrays `open` reads from checkpoint `name` come into the session (memory, or its spill store
 * past the budget) before that checkpoint is deleted or replaced by another session's.
 */
function stopReadingFrom(rt: H5Runtime, open: OpenSession, name: string): void {
  const { session } = open;
  const from = sourcesInUse(session).filter((s) => s.keptCopy && s.name === name);
  if (!from.length) return;
  doing("taking in the arrays kept in checkpoint", name);
  let since = 0;
  const visit = (node: TreeNode | undefined): void => {
    if (node instanceof NDArray) {
      if (!node.source?.keptCopy || node.source.name !== name) return;
      node.unspill();
      since += node.byteLength;
      // In batches: each budget check walks the whole session.
      if (session.memoryBudget && since > 256 << 20) {
        session.setMemoryBudget(session.memoryBudget);
        since = 0;
      }
    } else if (isTree(node)) for (const child of Object.values(node)) visit(child);
  };
  visit(session.metadata);
  visit(session.stimulus);
  for (const unit of session.units.values()) {
    for (const field of HELD_FIELDS) {
      const held = heldArrayOf(unit, field);
      // Assigning the unit's own values takes them into memory (the setter lets the file go).
      if (held?.source?.keptCopy && held.source.name === name) (unit as Record<HeldField, unknown>)[field] = held.data.slice();
    }
    visit(unit.children);
  }
  if (session.memoryBudget) session.setMemoryBudget(session.memoryBudget);
  detachSources(session, from);
  pruneCopies(rt, open);
}

/** A resumed checkpoint's arrays read from browser storage, not from the user's files. */
function markKeptCopies(session: PipelineSession): void {
  for (const source of attachedSources(session) as H5SourceFile[]) source.keptCopy = true;
}

async function sessionIds(): Promise<string[]> {
  return [...sessions.keys()];
}

// ───────────────────────── the rest is plumbing ─────────────────────────

function get(sessionId: string): OpenSession {
  const open = sessions.get(sessionId);
  if (!open) throw new Error(`no open session "${sessionId}" (closed, or the worker restarted)`);
  return open;
}

function register(open: OpenSession): string {
  const id = `s${++sessionCounter}`;
  sessions.set(id, open);
  open.spill ??= attachSpillStore(id, open.session);
  return id;
}

/** Past the memory budget, a session's largest arrays move to browser storage (see `core/memoryBudget.ts`). */
let memoryBudgetBytes: number | undefined;
let spillCounter = 0;

/** A budget with a fresh spill store; undefined where the browser has no OPFS (sessions stay in memory). */
async function newMemoryBudget(): Promise<MemoryBudget | undefined> {
  const store = await createSpillStore(String(++spillCounter)).catch(() => undefined);
  return store && { store, budgetBytes: budgetBytes() };
}

async function attachSpillStore(id: string, session: PipelineSession): Promise<SpillStore | undefined> {
  const budget = await newMemoryBudget();
  if (!budget) return undefined;
  if (sessions.get(id)?.session !== session) {
    budget.store.close(); // closed while the store was being created
    return undefined;
  }
  session.setMemoryBudget(budget);
  return budget.store;
}

/** What a save writes: the arrays in memory, in the spill store and left in the dropped files. */
function dataBytes(session: PipelineSession): number {
  return savedArrayBytes(session.arrayBytes());
}

/** The budget set in the page, else the platform's default. */
function budgetBytes(): number {
  if (memoryBudgetBytes !== undefined) return memoryBudgetBytes;
  const nav = navigator as Navigator & { deviceMemory?: number };
  const memory = (performance as Performance & { memory?: { jsHeapSizeLimit?: number } }).memory;
  return defaultMemoryBudgetBytes({ deviceMemoryGb: nav.deviceMemory, jsHeapLimitBytes: memory?.jsHeapSizeLimit });
}

/** Sets the budget of every open session and the next ones; `null` goes back to the platform default. */
async function setMemoryBudget(bytes: number | null): Promise<void> {
  if (bytes !== null && !(Number.isFinite(bytes) && bytes > 0)) throw new Error(`a memory budget must be a size above 0 bytes, got ${bytes}`);
  memoryBudgetBytes = bytes ?? undefined;
  for (const open of sessions.values()) {
    const store = await open.spill;
    if (store) open.session.setMemoryBudget({ store, budgetBytes: budgetBytes() });
  }
}

/** A dropped session or checkpoint `.h5` (checkpoints in browser storage go through `readCheckpoint`). */
async function openSessionFile(rt: H5Runtime, file: File): Promise<OpenedItem> {
  const name = file.name;
  const kind = "session-file";
  let drop: MountedDrop | undefined;
  doing("reading the session file", name);
  const budget = await newMemoryBudget();
  try {
    drop = mountFiles(rt, [file]);
    const { session } = loadSession(rt, drop.paths.get(file.name)!, { memoryBudget: budget });
    const sessionId = register({ session, name, drop, spill: Promise.resolve(budget?.store) });
    return { name, kind, sessionId, summary: summarizeSession(session) };
  } catch (error) {
    budget?.store.close();
    if (isFatal(error)) throw error;
    if (drop) unmountDrop(rt, drop.dir);
    return { name, kind, error: personMessage(error) };
  }
}

function openRecordings(rt: H5Runtime, files: File[], onProgress?: ProgressCallback): OpenedItem[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const pairing = pairRecordingFiles(files.map((f) => f.name));
  const items: OpenedItem[] = pairing.problems.map((problem) => ({ name: problem.split(":")[0], kind: "recording", error: problem }));
  const groups = [
    ...pairing.pairs.map((p) => ({ names: [p.cmcr, p.cmtr], cmcr: p.cmcr, cmtr: p.cmtr, datasetId: p.datasetId })),
    // A lone file still opens (the loader warns about the missing partner), as in the original.
    ...pairing.lone.map((l) => ({ names: [l.name], [l.kind]: l.name, datasetId: l.datasetId }) as {
      names: string[];
      cmcr?: string;
      cmtr?: string;
      datasetId: string;
    }),
  ];
  for (const group of groups) {
    const name = group.names.join(" + ");
    let drop: MountedDrop | undefined;
    doing("opening the recording", name);
    const toPage = onProgress && throttledProgress(onProgress, () => name, (p) => p.fraction >= 1);
    let last: OpenProgress = { name, fraction: 0, message: "" };
    let unitsSentAt = Number.NEGATIVE_INFINITY;
    try {
      // Both files in one directory, so a .cmtr's external link to its .cmcr could resolve too.
      drop = mountFiles(rt, group.names.map((n) => byName.get(n)!));
      const session = loadRecording(
        rt,
        {
          cmcrPath: group.cmcr === undefined ? undefined : drop.paths.get(group.cmcr),
          cmtrPath: group.cmtr === undefined ? undefined : drop.paths.get(group.cmtr),
        },
        {
          datasetId: group.datasetId,
          onProgress: (fraction, message) => {
            doing(message); // the file stays the one last read (activity.ts)
            toPage?.((last = { name, fraction, message }));
          },
          // The table at once, then its counts at most twice a second (each is a copy of every column).
          onUnits:
            onProgress &&
            ((listing) => {
              const now = performance.now();
              if (now - unitsSentAt < UNITS_EVERY_MS && listing.unitsRead > 0 && listing.unitsRead < listing.ids.length) return;
              unitsSentAt = now;
              onProgress({ ...last, units: openingTable(listing) });
            }),
        },
      );
      // The loader saw mount paths (/drop-N/…); the file name is all the browser knows of the real path.
      session.setSourceFiles({
        ...(group.cmcr === undefined ? {} : { cmcr: group.cmcr }),
        ...(group.cmtr === undefined ? {} : { cmtr: group.cmtr }),
      });
      const sessionId = register({ session, name, drop });
      items.push({ name, kind: "recording", sessionId, summary: summarizeSession(session) });
    } catch (error) {
      if (isFatal(error)) throw error;
      if (drop) unmountDrop(rt, drop.dir);
      items.push({ name, kind: "recording", error: personMessage(error) });
    }
  }
  return items;
}

/** Is the wasm module possibly corrupt after this error (abort, out of bounds, out of memory)? */
function isFatal(error: unknown): boolean {
  if (typeof WebAssembly !== "undefined" && error instanceof WebAssembly.RuntimeError) return true;
  const text = error instanceof Error ? error.message : String(error);
  return /^Aborted\(|memory access out of bounds|Cannot enlarge memory/.test(text);
}

function personMessage(error: unknown): string {
  if (error instanceof DOMException && error.name === "AbortError") return "cancelled";
  return hdf5ErrorSummary(error);
}

/** Every operation leaves the worker through here: plain messages, and fatal errors marked as such. */
function guarded<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (error) {
      const plain = new Error(personMessage(error));
      if (isFatal(error)) {
        plain.name = "FatalWorkerError";
        plain.message = `the HDF5 engine failed (${plain.message}); the worker restarts and open sessions are closed`;
      } else if (error instanceof Error && error.name !== "Error") {
        plain.name = error.name;
      }
      throw plain;
    }
  };
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

/** Test hook: the next OPFS writes fail after `bytes` more bytes (proves failed saves damage nothing). */
async function injectWriteFault(bytes: number): Promise<void> {
  failWritesAfter(bytes);
}

/**
 * Test hook: the next `createWritable()` in this worker (a save to the user's file or a checkpoint)
 * fails with a `DOMException` named `name` — at `"open"` as when permission was revoked, on the
 * first `"write"` as when the disk or quota is full (or the next sync access handle write, as a
 * checkpoint's scratch file makes, if that comes first), or at `"close"` (the swap file cannot replace
 * the target: nothing reached the file although every write succeeded). Real browsers raise exactly
 * these; a test cannot fill a disk or revoke a permission on demand.
 */
async function injectWritableFault(name: string, at: "open" | "write" | "close"): Promise<void> {
  const proto = FileSystemFileHandle.prototype as { createWritable(this: FileSystemFileHandle, o?: unknown): Promise<FileSystemWritableFileStream> };
  const original = proto.createWritable;
  const fault = () => new DOMException(`injected ${name}`, name);
  // A checkpoint reaches browser storage through its scratch file's sync access handle (and is
  // then moved into place): a full store fails the first write there.
  const sync = FileSystemSyncAccessHandle.prototype;
  const originalWrite = sync.write;
  const disarm = () => {
    proto.createWritable = original; // one shot, whichever comes first
    sync.write = originalWrite;
  };
  if (at === "write") {
    sync.write = function () {
      disarm();
      throw fault();
    };
  }
  proto.createWritable = async function (this: FileSystemFileHandle, options?: unknown) {
    disarm();
    if (at === "open") throw fault();
    const writable = await original.call(this, options);
    // The real stream, so abort() discards its swap file as after a real failure.
    return new Proxy(writable, {
      get(target, key) {
        if (key === at) {
          // A failed close() leaves the swap file, as a browser does; abort() then discards it.
          return () => Promise.reject(fault());
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
}

/** Test hook: a wasm trap, as HDF5 gives on a corrupt heap; `guarded` marks it fatal like a real one. */
async function crashForTest(): Promise<never> {
  throw new WebAssembly.RuntimeError("unreachable executed (crash requested by a test)");
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
  injectWriteFault: guarded(injectWriteFault),
  injectWritableFault: guarded(injectWritableFault),
  crashForTest: guarded(crashForTest),
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
