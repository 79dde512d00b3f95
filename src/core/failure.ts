/**
 * What went wrong, as data: a kind and the file it concerns, given where the failure is known (a
 * reader that found a damaged file, the space check, a file another tab holds), carried across the
 * worker boundary as fields of the error, and read by the page without parsing the message.
 */
export type FailureKind =
  /** The input is not what it should be (wrong file, missing group, malformed table). */
  | "bad-input"
  /** A file could not be read as HDF5 or is cut short: truncated, overwritten, damaged. */
  | "damaged-file"
  /** A file the session reads from moved or changed since it was opened; giving it back re-attaches it. */
  | "source-changed"
  /** The disk or browser storage has no room. */
  | "quota"
  /** Another tab or operation holds the file. */
  | "in-use"
  /** The browser withdrew the permission to write the file. */
  | "permission"
  | "cancelled"
  /** The worker stopped answering (the watchdog replaced it). */
  | "hung"
  /** A fault of ours (a bug), or the HDF5 engine failing. */
  | "internal";

export interface Failure {
  kind: FailureKind;
  /** The file's name, when the failure concerns one. */
  file?: string;
}

export class HdmeaError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An error about one file, its message led by the file's name (as every message about a file is:
 * "rec.cmtr: no Peaks dataset"), so a reader of the text and a reader of the fields learn the same.
 */
export function fileError(file: string, detail: string, kind: FailureKind = "bad-input"): HdmeaError {
  return new HdmeaError(`${file}: ${detail}`, kind, file);
}

const KINDS = new Set<string>(["bad-input", "damaged-file", "source-changed", "quota", "in-use", "permission", "cancelled", "hung", "internal"]);

/** The kind of browser errors named by the platform (`DOMException` names). */
const BY_NAME: Record<string, FailureKind> = {
  QuotaExceededError: "quota",
  NoModificationAllowedError: "in-use",
  NotAllowedError: "permission",
  SecurityError: "permission",
  AbortError: "cancelled",
  TypeError: "internal",
  RangeError: "internal",
  ReferenceError: "internal",
};

/**
 * The failure an error stands for: its own `kind` and `file` when it carries them (an `HdmeaError`,
 * or one rebuilt from one on the other side of a `postMessage`), else what its name says; any other
 * error raised by our readers and checks is about the input.
 */
export function failureOf(error: unknown): Failure {
  const fields = (typeof error === "object" && error !== null ? error : {}) as { kind?: unknown; file?: unknown; name?: unknown };
  const file = typeof fields.file === "string" ? fields.file : undefined;
  if (typeof fields.kind === "string" && KINDS.has(fields.kind)) return { kind: fields.kind as FailureKind, ...(file === undefined ? {} : { file }) };
  const kind = typeof fields.name === "string" ? BY_NAME[fields.name] : undefined;
  return { kind: kind ?? (error instanceof Error ? "bad-input" : "internal"), ...(file === undefined ? {} : { file }) };
}
