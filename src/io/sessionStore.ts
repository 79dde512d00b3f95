/**
 * Save, checkpoint, load and immediate (write-through) mode for a PipelineSession.
 *
 * | call                                   | state after        | existing target                          |
 * |----------------------------------------|--------------------|------------------------------------------|
 * | `saveSession(rt, s, path)`             | SAVED, hdf5Path    | error unless `overwrite: true` (warns)   |
 * | `checkpointSession(rt, s, path)`       | unchanged          | overwritten with a warning; `overwrite: false` → error |
 * | `loadSession(rt, path)`                | SAVED (file)       | —                                        |
 * | `ensureSaved(rt, s, defaultPath)`      | SAVED              | auto-save with a warning if DEFERRED     |
 * | `startImmediateMode(rt, s, path)`      | SAVED after each change | every change rewrites the file      |
 *
 * Every write goes to a temporary file beside the target and is renamed over it only when complete,
 * so a failed write leaves the previous file and the session exactly as they were.
 */
import { SessionError, type PipelineSession } from "../core/session.ts";
import { checkSources } from "../core/sessionSources.ts";
import { baseName, fileExists, type H5Runtime } from "./h5.ts";
import { writeAtomically } from "./atomicWrite.ts";
import { readCheckpointFiles, writeCheckpointFiles, type CheckpointPlace, type CheckpointWrite } from "./checkpointDeltas.ts";
import { writeSessionFile, type ReadSessionOptions, type ReadSessionResult, type WriteSessionOptions } from "./sessionFile.ts";

export class FileExistsError extends SessionError {
  override name = "FileExistsError";
}

export interface SaveOptions {
  overwrite?: boolean;
  /** Passed to the writer (slice size, compression); tests use it to inject faults. */
  write?: Partial<Omit<WriteSessionOptions, "savedAt" | "checkpointName">>;
}

export function saveSession(rt: H5Runtime, session: PipelineSession, path: string, options: SaveOptions = {}): string {
  const overwrite = options.overwrite ?? false;
  checkSources(session); // a gone or changed source: nothing written, not even the overwrite warning
  if (fileExists(rt, path)) {
    if (!overwrite) {
      throw new FileExistsError(`${baseName(path)} already exists; save with overwrite to replace it (blocked overwrite)`, baseName(path));
    }
    session.warn(`overwriting ${baseName(path)} with session ${session.datasetId}`);
  }
  const savedAt = session.timestamp();
  writeAtomically(rt, session, path, (tmp) => writeSessionFile(rt, tmp, session, { ...options.write, savedAt }));
  session.markSaved(path, savedAt);
  return path;
}

export interface CheckpointOptions extends SaveOptions {
  checkpointName?: string;
  /** Off for callers that replace their own checkpoint as a matter of course (after each step). */
  warnOnOverwrite?: boolean;
  /** Told what was written: a full copy or a delta, and its size. */
  onWritten?: (write: CheckpointWrite) => void;
}

export function checkpointSession(
  rt: H5Runtime,
  session: PipelineSession,
  path: string,
  options: CheckpointOptions = {},
): string {
  const overwrite = options.overwrite ?? true;
  if (fileExists(rt, path)) {
    if (!overwrite) {
      throw new FileExistsError(`checkpoint ${baseName(path)} already exists and overwrite is off; nothing was written`, baseName(path));
    }
    if (options.warnOnOverwrite ?? true) session.warn(`overwriting checkpoint ${baseName(path)}`);
  }
  const wasUnsaved = session.hasUnsavedChanges;
  // The first checkpoint here is a full copy; later ones add a delta of what changed. What each
  // holds (and its saved_at and checkpoint_name) is decided in checkpointDeltas.ts, for the browser too.
  const written = writeCheckpointFiles(rt, session, path, { checkpointName: options.checkpointName, write: options.write });
  options.onWritten?.(written);
  // The warning above is part of the session; the checkpoint alone does not make it "saved".
  session.hasUnsavedChanges = wasUnsaved || session.hasUnsavedChanges;
  return path;
}

/**
 * Writes the session to a fresh file with no overwrite policy and no state change, for callers that
 * own the target's policy (the browser's save picker, the checkpoint store). Returns the time to
 * record with `session.markSaved` once the file has reached its place.
 */
export function writeSessionTo(
  rt: H5Runtime,
  session: PipelineSession,
  path: string,
  options: { checkpointName?: string; write?: SaveOptions["write"] } = {},
): string {
  const savedAt = session.timestamp();
  writeSessionFile(rt, path, session, { ...options.write, savedAt, checkpointName: options.checkpointName });
  return savedAt;
}

/** Resumes a session from a checkpoint or a saved file (state SAVED, bound to that file). */
export function loadSession(rt: H5Runtime, path: string, options: ReadSessionOptions & { checkpoint?: CheckpointPlace } = {}): ReadSessionResult {
  // A checkpoint's deltas are applied in order (checkpointDeltas.ts); a plain session file has none.
  const result = readCheckpointFiles(rt, path, options, options.checkpoint);
  result.session.markSaved(path, result.savedAt ?? result.session.timestamp());
  if (result.skipped.length) {
    result.session.warn(
      `${baseName(path)}: ${result.skipped.length} item(s) of unsupported type or with no place in the session were not loaded ` +
        `(${result.skipped.slice(0, 3).join(", ")}${result.skipped.length > 3 ? ", …" : ""})`,
    );
    result.session.hasUnsavedChanges = false;
  }
  return result;
}

/**
 * For operations that need the session as a file (the original's path-based functions): a DEFERRED
 * session is saved first, with a warning, and continues SAVED.
 */
export function ensureSaved(rt: H5Runtime, session: PipelineSession, defaultPath: string, options: SaveOptions = {}): string {
  if (session.isSaved && session.hdf5Path && !session.hasUnsavedChanges) return session.hdf5Path;
  const target = session.hdf5Path ?? defaultPath;
  // The spec's words (mode mixing), so logs read as the lab's pipeline's do.
  session.warn(`Auto-saving deferred session to ${target} to satisfy HDF5-path requirement`);
  return saveSession(rt, session, target, { ...options, overwrite: options.overwrite ?? session.hdf5Path !== undefined });
}

/**
 * Immediate (write-through) mode, the behaviour old scripts expect: the file is written at once and
 * rewritten after every change. Returns a function that stops writing through.
 *
 * Every change rewrites the whole file atomically (h5wasm cannot delete HDF5 links, so replacing a
 * subtree in place is not possible); this is the cost deferred mode exists to avoid.
 */
export function startImmediateMode(rt: H5Runtime, session: PipelineSession, path: string, options: SaveOptions = {}): () => void {
  session.mode = "immediate";
  saveSession(rt, session, path, options);
  const stop = session.onChange(() => {
    // Overwriting is the normal course of immediate mode, so this rewrite does not warn.
    const savedAt = session.timestamp();
    writeAtomically(rt, session, path, (tmp) => writeSessionFile(rt, tmp, session, { ...options.write, savedAt }));
    session.markSaved(path, savedAt);
  });
  return () => {
    stop();
    session.mode = "deferred";
  };
}

