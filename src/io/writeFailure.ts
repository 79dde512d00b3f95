/**
 * Why a write failed, when the device refused it: a full disk, an exceeded quota or an I/O error.
 * Node's fs errors carry the code; h5wasm's HDF5 errors carry it only as text in their error stack
 * (`H5FD__sec2_write(): file write failed: … errno = 51, error message = 'No space left on device'`,
 * with Emscripten's errno numbers), so the message is read for the strerror text.
 */
export type WriteFailureCode = "ENOSPC" | "EDQUOT" | "EIO";

const BY_TEXT: [RegExp, WriteFailureCode][] = [
  [/no space left on device/i, "ENOSPC"],
  [/(disk )?quota exceeded/i, "EDQUOT"],
  [/error message = 'I\/O error'|\bEIO\b|input\/output error/i, "EIO"],
];

export function writeFailureCode(error: unknown): WriteFailureCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT" || code === "EIO") return code;
  const message = error instanceof Error ? error.message : String(error);
  return BY_TEXT.find(([pattern]) => pattern.test(message))?.[1];
}
