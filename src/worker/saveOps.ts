/**
 * Saving a session: to the user's file (File System Access: SAVED once the writable closed) or as
 * a download, which stays unconfirmed (and checkpointed) until the user says they have the file.
 */
import type { PipelineSession } from "../core/session.ts";
import { summarizeSession, type SessionSummary } from "../core/sessionSummary.ts";
import { writeSessionTo } from "../io/sessionStore.ts";
import { doing } from "./activity.ts";
import type { CheckpointInfo } from "./checkpointStore.ts";
import { writeCheckpoint } from "./checkpointOps.ts";
import { keepCopy, useCopyForLostFiles } from "./sessionCopies.ts";
import { dataBytes, forgetDownload, get, type PendingDownload } from "./sessionRegistry.ts";
import { checkSpace, spaceErrorFor } from "./storageSpace.ts";
import { isFatal, personMessage } from "./workerErrors.ts";
import { copyToWritable, createScratchFile, hasOpfs, runtime } from "./workerFs.ts";

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

export async function save(sessionId: string, target?: FileSystemFileHandle): Promise<SaveResult> {
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

export async function confirmDownload(sessionId: string): Promise<DownloadConfirmation> {
  const open = get(sessionId);
  const { session, download } = open;
  if (!download) throw new Error(`no download of session ${session.datasetId} is waiting to be confirmed`);
  forgetDownload(open);
  session.markSaved(download.fileName, download.savedAt);
  // The file holds the session as it was when downloaded: what changed since is still unsaved.
  if (download.changedSince) session.hasUnsavedChanges = true;
  return { summary: summarizeSession(session), fileName: download.fileName, changedSince: download.changedSince };
}
