/**
 * Checkpoints in browser storage: writing one (a full copy first, then what changed), resuming a
 * session from one, exporting one as a single file, listing and deleting them.
 */
import { summarizeSession, type SessionSummary } from "../core/sessionSummary.ts";
import { closeSources } from "../core/sessionSources.ts";
import { loadSession } from "../io/sessionStore.ts";
import { readArraysFrom } from "../io/sessionFile.ts";
import { plannedBytes, writeCheckpointAsOneFile } from "../io/checkpointDeltas.ts";
import { doing } from "./activity.ts";
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
import { planBrowserCheckpoint, resumedBrowserCheckpoint, storeBrowserCheckpoint } from "./checkpointWrites.ts";
import type { OpenedItem } from "./openOps.ts";
import { keepCopy, markKeptCopies, stopReadingFrom, useCopyForLostFiles } from "./sessionCopies.ts";
import { dataBytes, get, newMemoryBudget, openingRuntime, register, sessions } from "./sessionRegistry.ts";
import { checkSpace, spaceErrorFor } from "./storageSpace.ts";
import { isFatal, itemFailure } from "./workerErrors.ts";
import { createScratchFile, hasOpfs, mountFiles, runtime, unmountDrop, type MountedDrop, type ScratchFile } from "./workerFs.ts";

export interface CheckpointResult {
  summary: SessionSummary;
  checkpoint: CheckpointInfo;
}

export async function checkpoint(sessionId: string): Promise<CheckpointResult> {
  return writeCheckpoint(sessionId, true);
}

/** `warnOnOverwrite` is off for the automatic checkpoint after each step, where replacing is the point. */
export async function writeCheckpoint(sessionId: string, warnOnOverwrite: boolean, replanned = false): Promise<CheckpointResult> {
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
    const { info, kind } = await storeBrowserCheckpoint(rt, session, plan, scratch, () => doing("copying the checkpoint into browser storage", name));
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

export async function listCheckpoints(): Promise<CheckpointInfo[]> {
  return readCheckpointList();
}

export async function resumeCheckpoint(name: string): Promise<OpenedItem> {
  const rt = await openingRuntime();
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
        loadSession(rt, path, { memoryBudget: budget, ...(keepInFile === false ? { keepInFile } : {}), checkpoint: { key: name, deltaPath, stamp: before?.base } }),
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
    return { name: label, kind: "checkpoint", ...itemFailure(error) };
  }
}

/** The last export written as one file (a checkpoint with deltas), kept until the next for its download. */
let lastCheckpointExport: ScratchFile | undefined;

export async function exportCheckpoint(name: string): Promise<File> {
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

export async function deleteCheckpoint(name: string): Promise<void> {
  // A session whose big arrays are read from this checkpoint takes them in first.
  const rt = await runtime();
  for (const open of sessions.values()) stopReadingFrom(rt, open, name);
  await removeCheckpoint(name);
}
