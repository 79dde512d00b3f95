/**
 * Where the worker's files live on h5wasm's virtual file system, kept out of `api.ts` so that file
 * stays a readable list of operations.
 *
 * - Dropped files: each drop is mounted read-only in its own directory (`/drop-<n>/<name>`) by
 *   `io/blobFs.ts`, which reads blocks of the `File` lazily (cached), so a 50 GB `.cmcr` is never
 *   copied into memory. The directory is unmounted when the session that uses it closes.
 * - Written files (saves, checkpoints before they reach their place): `ScratchFile`, in browser
 *   storage through an OPFS-backed file system, MEMFS under `/out` only where OPFS is missing.
 */
import { appStorageRoot } from "./appStorage.ts";
import { browserRuntime } from "../io/h5browser.ts";
import type { H5Runtime } from "../io/h5.ts";
import { mountBlobs } from "../io/blobFs.ts";
import { mountOpfsFiles } from "../io/opfsFs.ts";
import { SpillStore } from "../core/spillStore.ts";
import { progressed } from "./activity.ts";

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

const OUTPUT_DIR = "/out";
/** Bytes moved per step when streaming a written file out (bounded memory, few round trips). */
export const COPY_SLICE_BYTES = 8 << 20;
/** A slice the browser copies without the worker touching its bytes: fewer, larger calls. */
const BLOB_COPY_SLICE_BYTES = 64 << 20;


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
  const mount = mountBlobs(rt, files);
  return { dir: mount.mountPoint, paths: mount.paths };
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
 * A file the worker writes (a save or a checkpoint) before it goes to the user's file or to the
 * checkpoint store. In browser storage (OPFS) through `opfsFs.ts` when the browser has it: HDF5
 * writes slices straight to disk, the wasm heap stays small, and `file()` is disk-backed, so a
 * download or a copy never holds the session in memory. Elsewhere MEMFS, for small sessions only.
 */
export interface ScratchFile {
  /** Where HDF5 writes. */
  path: string;
  size(): number;
  /** The written file (disk-backed with OPFS). Call once HDF5 has closed it. */
  file(name: string): Promise<File>;
  /** Runs `read` on the written file (after `file()`), through the fastest reader available. */
  read<T>(read: (path: string) => T): Promise<T>;
  /** Releases and deletes it. A download still reading it must be finished first. */
  dispose(): Promise<void>;
  /**
   * Where the browser can move files: finishes the written file (its held-back writes reach browser
   * storage now, and fail here if the store is full) and returns it to be moved into place, replacing
   * a file there in one step, instead of copied (a checkpoint: the demo's 46 MB copy cost its run
   * seconds of the worker's time). Call once HDF5 has closed it; once moved, the scratch file is gone.
   */
  movable?(): MovableFile;
}

/** A finished file in browser storage that `moveTo` moves to `name` in `dir` (replacing a file there). */
export interface MovableFile {
  moveTo(dir: FileSystemDirectoryHandle, name: string): Promise<void>;
}

const SCRATCH_DIR = "scratch";
/** Above this, a MEMFS scratch file (about 2.3× its size in tab memory) is refused. */
export const MEMFS_SCRATCH_LIMIT_BYTES = 1.5e9;

export function hasOpfs(): boolean {
  return (
    typeof navigator !== "undefined" &&
    typeof navigator.storage?.getDirectory === "function" &&
    typeof FileSystemFileHandle !== "undefined" &&
    "createSyncAccessHandle" in FileSystemFileHandle.prototype
  );
}

async function scratchDir(): Promise<FileSystemDirectoryHandle> {
  const root = await appStorageRoot();
  return root.getDirectoryHandle(SCRATCH_DIR, { create: true });
}

type MovableHandle = FileSystemFileHandle & { move(dir: FileSystemDirectoryHandle, name: string): Promise<void> };

/** `FileSystemHandle.move` (Chromium 110+, Firefox 111+, Safari 15.2+; not in this TypeScript's DOM lib). */
function canMove(): boolean {
  return typeof FileSystemFileHandle !== "undefined" && typeof (FileSystemFileHandle.prototype as Partial<MovableHandle>).move === "function";
}

/** `expectedBytes` is the session's size: MEMFS refuses what it cannot hold. */
export async function createScratchFile(rt: H5Runtime, name: string, expectedBytes: number): Promise<ScratchFile> {
  if (hasOpfs()) {
    // The scratch folder is shared by every tab, whose session ids all start at s1: two tabs
    // checkpointing in the same millisecond asked for the same `checkpoint-s1-<ms>.h5`, and one was
    // refused as "open elsewhere". A random tag keeps their files apart.
    name = name.replace(/(\.\w+)?$/, (ext) => `-${Math.random().toString(36).slice(2, 8)}${ext}`);
    const dir = await scratchDir();
    const mount = await mountOpfsFiles(rt, dir, [name], { create: true });
    const path = mount.paths.get(name)!;
    let open = true;
    const close = () => {
      if (!open) return;
      open = false; // once: a close that failed (held-back writes, io/opfsFs.ts) has still unmounted
      mount.close();
    };
    return {
      path,
      size: () => fsOf(rt).stat(path).size,
      async file(fileName) {
        close(); // flushes; the OPFS file stays
        const file = await (await dir.getFileHandle(name)).getFile();
        return new File([file], fileName, { type: "application/x-hdf5" });
      },
      read: (read) => withOpfsFile(rt, dir, name, read),
      async dispose() {
        close();
        await dir.removeEntry(name).catch(() => undefined);
      },
      ...(canMove()
        ? {
            movable() {
              close(); // flushes
              return { moveTo: async (target, targetName) => ((await dir.getFileHandle(name)) as MovableHandle).move(target, targetName) };
            },
          }
        : {}),
    };
  }
  if (expectedBytes > MEMFS_SCRATCH_LIMIT_BYTES) {
    throw new Error(
      `this browser has no origin private file system, and a ${(expectedBytes / 1e9).toFixed(1)} GB session is too big ` +
        "to write in memory; use Chromium, Firefox or Safari, or the hdmea CLI",
    );
  }
  const fs = fsOf(rt);
  if (!fs.analyzePath(OUTPUT_DIR).exists) fs.mkdirTree(OUTPUT_DIR);
  const path = `${OUTPUT_DIR}/${name}`;
  return {
    path,
    size: () => fs.stat(path).size,
    async file(fileName) {
      return new File([...readSlices(rt, path)] as BlobPart[], fileName, { type: "application/x-hdf5" });
    },
    read: async (read) => read(path),
    async dispose() {
      if (fs.analyzePath(path).exists) fs.unlink(path);
    },
  };
}

/**
 * Runs `read` on an existing OPFS file mounted through a sync access handle, closed afterwards.
 * HDF5 makes many small reads: through a handle they cost microseconds, through WORKERFS's
 * FileReaderSync each is a blob read (measured: load ran at about 50 MB/s that way).
 * The handle locks the file, so another tab cannot write it meanwhile.
 */
export async function withOpfsFile<T>(rt: H5Runtime, dir: FileSystemDirectoryHandle, name: string, read: (path: string) => T): Promise<T> {
  const mount = await mountOpfsFiles(rt, dir, [name], { create: false });
  try {
    return read(mount.paths.get(name)!);
  } finally {
    mount.close();
  }
}

/**
 * A session's spill store (arrays moved out of memory past the budget), in browser storage through
 * a sync access handle; undefined where the browser has no OPFS (the session then stays in memory).
 * The handle locks the file, so the start-up clean-up of another tab leaves it alone.
 */
export async function createSpillStore(label: string): Promise<SpillStore | undefined> {
  if (!hasOpfs()) return undefined;
  const dir = await scratchDir();
  const name = `spill-${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.bin`;
  const handle = await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
  return new SpillStore({
    location: "browser storage",
    write(bytes, at) {
      progressed();
      for (let done = 0; done < bytes.length; ) done += handle.write(bytes.subarray(done), { at: at + done });
    },
    read(into, at) {
      progressed();
      for (let done = 0; done < into.length; ) {
        const n = handle.read(into.subarray(done), { at: at + done });
        if (n <= 0) throw new Error(`the spill file in browser storage ended at byte ${at + done} (it was removed or truncated)`);
        done += n;
      }
    },
    close() {
      handle.close();
      dir.removeEntry(name).catch(() => undefined);
    },
  });
}

/** Removes scratch files a crashed or closed tab left behind (files open in another tab are locked and stay). */
export async function clearStaleScratch(): Promise<void> {
  if (!hasOpfs()) return;
  const dir = await scratchDir();
  const entries = (dir as unknown as { keys(): AsyncIterable<string> }).keys();
  for await (const name of entries) await dir.removeEntry(name).catch(() => undefined);
}

/** Reads a MEMFS file in bounded slices (each slice a fresh buffer). */
function* readSlices(rt: H5Runtime, path: string, sliceBytes = COPY_SLICE_BYTES): Generator<Uint8Array> {
  const fs = fsOf(rt);
  const size = fs.stat(path).size;
  const stream = fs.open(path, "r");
  try {
    for (let at = 0; at < size; at += sliceBytes) {
      progressed();
      const buf = new Uint8Array(Math.min(sliceBytes, size - at));
      const n = fs.read(stream, buf, 0, buf.length, at);
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    fs.close(stream);
  }
}

/**
 * Streams a file into a writable (the user's file or browser storage); aborts on failure. The slices
 * go as Blobs: the browser copies them file to file itself. Read into the worker first, a 7.4 GB
 * session took 131 s to copy (45 s reading, 86 s writing) on the 2-core machine.
 */
export async function copyToWritable(file: Blob, writable: FileSystemWritableFileStream): Promise<number> {
  let bytes = 0;
  try {
    for (let at = 0; at < file.size; at += BLOB_COPY_SLICE_BYTES) {
      const slice = file.slice(at, at + BLOB_COPY_SLICE_BYTES);
      await writable.write(slice);
      progressed(); // a heartbeat per slice: the watchdog sees a long copy is not a hang
      bytes += slice.size;
    }
    await writable.close();
    return bytes;
  } catch (error) {
    // abort() discards the swap file, so the previous file at the target stays as it was.
    await writable.abort().catch(() => undefined);
    throw error;
  }
}
