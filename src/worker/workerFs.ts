/**
 * Where the worker's files live on h5wasm's virtual file system, kept out of `api.ts` so that file
 * stays a readable list of operations.
 *
 * - Dropped files: each drop is mounted read-only with WORKERFS in its own directory
 *   (`/drops/<n>/<name>`). WORKERFS reads slices of the `File` lazily, so a 50 GB `.cmcr` is never
 *   copied into memory. The directory is unmounted when the session that uses it closes.
 * - Written files (saves, checkpoints before they are copied to browser storage): for now MEMFS
 *   under `/out`. `writtenFilePath()` is the one place that decides this; swapping it for an
 *   OPFS-backed file system later changes nothing else.
 */
import { browserRuntime } from "../io/h5browser.ts";
import type { H5Runtime } from "../io/h5.ts";

/** The few Emscripten FS calls used here (h5wasm's own typing of `FS` is loose). */
interface EmscriptenFs {
  filesystems: Record<string, unknown>;
  mount(type: unknown, opts: unknown, mountpoint: string): unknown;
  unmount(mountpoint: string): void;
  mkdirTree(path: string): void;
  rmdir(path: string): void;
  unlink(path: string): void;
  readdir(path: string): string[];
  analyzePath(path: string, dontResolveLastLink?: boolean): { exists: boolean };
  stat(path: string): { size: number };
  open(path: string, flags: string): unknown;
  read(stream: unknown, buffer: Uint8Array, offset: number, length: number, position: number): number;
  close(stream: unknown): void;
  readFile(path: string): Uint8Array;
}

const DROPS_DIR = "/drops";
const OUTPUT_DIR = "/out";
/** Bytes moved per step when streaming a written file out (bounded memory, few round trips). */
export const COPY_SLICE_BYTES = 8 << 20;

let dropCounter = 0;

export function runtime(): Promise<H5Runtime> {
  return browserRuntime();
}

function fsOf(rt: H5Runtime): EmscriptenFs {
  return rt.fs as unknown as EmscriptenFs;
}

export interface MountedDrop {
  /** Directory to unmount when done. */
  dir: string;
  /** File name → path on the virtual file system. */
  paths: Map<string, string>;
}

/** Mounts `files` read-only in a fresh directory; nothing is read until HDF5 asks for bytes. */
export function mountFiles(rt: H5Runtime, files: readonly File[]): MountedDrop {
  const fs = fsOf(rt);
  const dir = `${DROPS_DIR}/${++dropCounter}`;
  fs.mkdirTree(dir);
  try {
    fs.mount(fs.filesystems.WORKERFS, { files }, dir);
  } catch (error) {
    fs.rmdir(dir);
    throw error;
  }
  return { dir, paths: new Map(files.map((f) => [f.name, `${dir}/${f.name}`])) };
}

export function unmountDrop(rt: H5Runtime, dir: string): void {
  const fs = fsOf(rt);
  try {
    fs.unmount(dir);
    fs.rmdir(dir);
  } catch {
    // Already gone (e.g. after a failed open): nothing left to release.
  }
}

/**
 * Where a file the worker writes lives before it is streamed to the user or to browser storage.
 * Async although MEMFS needs no waiting: an OPFS-backed file system must open its handle first.
 */
export async function writtenFilePath(rt: H5Runtime, name: string): Promise<string> {
  const fs = fsOf(rt);
  if (!fs.analyzePath(OUTPUT_DIR).exists) fs.mkdirTree(OUTPUT_DIR);
  return `${OUTPUT_DIR}/${name}`;
}

export async function removeWrittenFile(rt: H5Runtime, path: string): Promise<void> {
  const fs = fsOf(rt);
  if (fs.analyzePath(path).exists) fs.unlink(path);
}

export function writtenFileSize(rt: H5Runtime, path: string): number {
  return fsOf(rt).stat(path).size;
}

/** Reads a written file in bounded slices (each slice a fresh buffer, safe to hand to a stream). */
export function* readSlices(rt: H5Runtime, path: string, sliceBytes = COPY_SLICE_BYTES): Generator<Uint8Array> {
  const fs = fsOf(rt);
  const size = fs.stat(path).size;
  const stream = fs.open(path, "r");
  try {
    for (let at = 0; at < size; at += sliceBytes) {
      const buf = new Uint8Array(Math.min(sliceBytes, size - at));
      const n = fs.read(stream, buf, 0, buf.length, at);
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    fs.close(stream);
  }
}

/**
 * A written file as a `File` the page can download. With MEMFS this is a copy in memory; with the
 * OPFS-backed file system it will be the disk-backed `getFile()` of the handle instead.
 */
export async function writtenFileAsFile(rt: H5Runtime, path: string, name: string): Promise<File> {
  const parts = [...readSlices(rt, path)];
  return new File(parts as BlobPart[], name, { type: "application/x-hdf5" });
}

/** Streams a written file into a writable (the user's file or browser storage); aborts on failure. */
export async function copyToWritable(rt: H5Runtime, path: string, writable: FileSystemWritableFileStream): Promise<number> {
  let bytes = 0;
  try {
    for (const slice of readSlices(rt, path)) {
      await writable.write(slice as Uint8Array<ArrayBuffer>);
      bytes += slice.byteLength;
    }
    await writable.close();
    return bytes;
  } catch (error) {
    // abort() discards the swap file, so the previous file at the target stays as it was.
    await writable.abort().catch(() => undefined);
    throw error;
  }
}
