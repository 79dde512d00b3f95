/**
 * The one h5wasm handle everything in io/ uses. The browser build (`h5wasm`) and the Node build
 * (`h5wasm/node`, real files on disk) expose the same API; callers load the right one once
 * (`h5node.ts` / `h5browser.ts`) and pass it down, so readers and writers are shared.
 */
import type h5wasmDefault from "h5wasm";

export type H5 = typeof h5wasmDefault;
export type H5File = InstanceType<H5["File"]>;
export type H5Group = InstanceType<H5["Group"]>;
export type H5Dataset = InstanceType<H5["Dataset"]>;
export type H5Module = Awaited<H5["ready"]>;

export interface H5Runtime {
  h5: H5;
  module: H5Module;
  /** Emscripten FS: MEMFS/WORKERFS/OPFS mounts in the browser, the real disk in Node. */
  fs: H5Module["FS"];
}

export async function initRuntime(h5: H5): Promise<H5Runtime> {
  const module = await h5.ready;
  // Without it a failed H5Fopen returns id -1 silently; with it we get an exception to translate.
  module.activate_throwing_error_handler();
  return { h5, module, fs: module.FS };
}

/** Turns HDF5's multi-line error stack into its most specific line. */
export function hdf5ErrorSummary(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (!text.includes("HDF5-DIAG")) return text;
  const minors = [...text.matchAll(/minor: (.+)/g)].map((m) => m[1].trim());
  const detail = [...text.matchAll(/in (\w+)\(\): ([^\n]+)/g)].map((m) => m[2].trim());
  return detail.at(-1) ?? minors.at(-1) ?? "HDF5 error";
}

/**
 * The error to throw for `error` met while reading `what` of `fileName`: our own errors (they start
 * with the file name) unchanged; anything else — HDF5's multi-line stacks, RangeErrors from typed
 * arrays, wasm traps, even non-Error throws — as one line naming the file and what was being read.
 */
export function damagedFileError(fileName: string, what: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && message.startsWith(`${fileName}:`) && !message.includes("\n")) return error;
  const summary = hdf5ErrorSummary(error).split("\n")[0].slice(0, 200);
  return new Error(`${fileName}: cannot read ${what} (${summary}); the file may be truncated or damaged`);
}

/**
 * Closes a file without letting a second failure hide the first: closing a damaged file can throw
 * too, and the reader's own error is the one that says what is wrong.
 */
export function closeQuietly(file: H5File): void {
  try {
    file.close();
  } catch {
    // The handle is released either way; the reader has already reported (or returned) its result.
  }
}

export function fileExists(rt: H5Runtime, path: string): boolean {
  return rt.fs.analyzePath(path, false).exists;
}

export function fileSize(rt: H5Runtime, path: string): number {
  return rt.fs.stat(path, false).size;
}

export function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** Opens an HDF5 file with a clear error naming the file if it is missing, empty or not HDF5. */
export function openH5(rt: H5Runtime, path: string, mode: "r" | "a" | "w" = "r"): H5File {
  const name = baseName(path);
  if (mode !== "w") {
    if (!fileExists(rt, path)) throw new Error(`${name}: file not found`);
    const size = fileSize(rt, path);
    if (size === 0) throw new Error(`${name}: the file is empty (0 bytes)`);
    if (!hasHdf5Signature(rt, path)) throw new Error(`${name}: not an HDF5 file (no HDF5 signature)`);
  }
  try {
    return new rt.h5.File(path, mode);
  } catch (error) {
    throw new Error(`${name}: cannot open as HDF5 (${hdf5ErrorSummary(error)}); the file may be truncated or damaged`);
  }
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5 puts its signature at 0, 512, 1024, 2048, … (user blocks); check the first few places. */
function hasHdf5Signature(rt: H5Runtime, path: string): boolean {
  const stream = rt.fs.open(path, "r");
  try {
    const buf = new Uint8Array(8);
    const size = rt.fs.stat(path, false).size;
    for (let at = 0; at + 8 <= size && at <= 1 << 20; at = at === 0 ? 512 : at * 2) {
      rt.fs.read(stream, buf, 0, 8, at);
      if (SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    rt.fs.close(stream);
  }
}
