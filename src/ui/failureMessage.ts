/**
 * Turns a failed save or checkpoint into a message for the person at the screen: what failed (the
 * worker's own line, which names the step), which recording and file, that nothing was damaged, and
 * what to do next. The worker's line is kept whole so nothing it said is lost.
 */
import { WorkerError, failureOf } from "../worker/client.ts";

export interface FailureSubject {
  /** The recording as the list shows it. */
  recording: string;
  /** The file written to, when there is one (the user's save target). */
  target?: string;
}

/**
 * Any failure as the page shows it: the error's own line (the worker's names what failed and the
 * file). Where more is known of the kind (a save, a checkpoint), `failureMessage` adds what to do.
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function failureMessage(error: unknown, subject: FailureSubject): string {
  const text = errorText(error);
  const name = error instanceof WorkerError ? error.errorName : error instanceof Error ? error.name : "";
  const { kind } = error instanceof WorkerError ? error.failure : failureOf(error);
  const base = `${subject.recording}: ${text}`;
  const file = subject.target ?? "the file";
  if (kind === "permission") {
    return (
      `${base}. Permission to write ${file} was withdrawn, so nothing was written: ${file} keeps its previous ` +
      `contents and the session is unchanged. Use “Save as…” to choose the file again.`
    );
  }
  if (name === "StorageSpaceError") {
    // The worker already said what to do and that nothing was overwritten; add that nothing was lost.
    return `${base}. The session is unchanged.`;
  }
  if (kind === "quota") {
    return (
      `${base}. The disk or browser storage is full: free disk space or delete old checkpoints, then try ` +
      `again. Nothing was written${subject.target ? `: ${subject.target} keeps its previous contents` : ""} and the session is unchanged.`
    );
  }
  if (kind === "in-use") {
    return `${base}. It is in use in another tab or operation: wait for that to finish (or close it there) and try again. The session is unchanged.`;
  }
  return base;
}
