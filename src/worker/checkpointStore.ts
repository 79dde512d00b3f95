/**
 * Checkpoints kept in browser storage (the origin private file system, OPFS) under
 * `checkpoints/<datasetId>.h5`, so a reload or a crashed tab can resume. They are ordinary session
 * files: resuming mounts the disk-backed `File` from OPFS like a dropped file.
 */
import { appStorageRoot } from "./appStorage.ts";
import type { H5Runtime } from "../io/h5.ts";
import { FileInUseError } from "../io/opfsFs.ts";
import { COPY_SLICE_BYTES, copyToWritable, withOpfsFile } from "./workerFs.ts";

const CHECKPOINT_DIR = "checkpoints";

export interface CheckpointInfo {
  /** File name in browser storage, `<datasetId>.h5`: the key for resume/delete/export. */
  name: string;
  datasetId: string;
  bytes: number;
  /** ISO time of the last write. */
  modifiedAt: string;
}

export function checkpointNameFor(datasetId: string): string {
  return `${datasetId}.h5`;
}

async function checkpointDir(): Promise<FileSystemDirectoryHandle> {
  if (!globalThis.navigator?.storage?.getDirectory) {
    throw new Error("this browser has no origin private file system (browser storage for checkpoints)");
  }
  const root = await appStorageRoot();
  return root.getDirectoryHandle(CHECKPOINT_DIR, { create: true });
}

/** Names come back from the page: accept only what `checkpointNameFor` produces. */
function checkedName(name: string): string {
  if (!/^[^/\\]+\.h5$/.test(name)) throw new Error(`"${name}" is not a checkpoint name`);
  return name;
}

async function infoOf(handle: FileSystemFileHandle): Promise<CheckpointInfo> {
  const file = await handle.getFile();
  return {
    name: handle.name,
    datasetId: handle.name.replace(/\.h5$/, ""),
    bytes: file.size,
    modifiedAt: new Date(file.lastModified).toISOString(),
  };
}

export async function listCheckpoints(): Promise<CheckpointInfo[]> {
  const dir = await checkpointDir();
  const infos: CheckpointInfo[] = [];
  // The DOM lib of this TypeScript version lacks the async iterator of directory handles.
  const entries = (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
  for await (const handle of entries) {
    // Skip half-written files of the fallback writer and anything not ours.
    if (handle.kind === "file" && handle.name.endsWith(".h5")) {
      infos.push(await infoOf(handle as FileSystemFileHandle));
    }
  }
  return infos.sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt));
}

export async function checkpointExists(name: string): Promise<boolean> {
  const dir = await checkpointDir();
  try {
    await dir.getFileHandle(checkedName(name));
    return true;
  } catch {
    return false;
  }
}

/** Copies a written session file into browser storage in slices; the previous checkpoint survives a failure. */
/** How long a resume or a checkpoint waits for another tab to let go of a checkpoint before it refuses. */
export const CHECKPOINT_BUSY_WAIT_MS = 10_000;

export async function storeCheckpoint(source: Blob, name: string): Promise<CheckpointInfo> {
  const dir = await checkpointDir();
  const handle = await dir.getFileHandle(checkedName(name), { create: true });
  try {
    if (typeof handle.createWritable === "function") {
      // Atomic: the swap file replaces the old checkpoint only on close(). A tab resuming the
      // checkpoint locks it for a moment: wait for it rather than fail the checkpoint.
      const writable = await whileBusy(() => handle.createWritable(), CHECKPOINT_BUSY_WAIT_MS, () =>
        stillBusy(name, CHECKPOINT_BUSY_WAIT_MS, "nothing was written; the session is unchanged, checkpoint it again once that tab is done"),
      );
      await copyToWritable(source, writable);
    } else {
      await writeWithSyncHandle(source, dir, name);
    }
  } catch (error) {
    throw storageError(error);
  }
  return infoOf(await dir.getFileHandle(name));
}

/** Browsers without `createWritable` in workers: write a partial file, then move it over the old one. */
async function writeWithSyncHandle(source: Blob, dir: FileSystemDirectoryHandle, name: string): Promise<void> {
  const partialName = `${name}.partial`;
  const partial = await dir.getFileHandle(partialName, { create: true });
  const access = await partial.createSyncAccessHandle();
  try {
    access.truncate(0);
    for (let at = 0; at < source.size; at += COPY_SLICE_BYTES) {
      access.write(new Uint8Array(await source.slice(at, at + COPY_SLICE_BYTES).arrayBuffer()), { at });
    }
    access.flush();
  } catch (error) {
    access.close();
    await dir.removeEntry(partialName).catch(() => undefined);
    throw error;
  }
  access.close();
  const movable = partial as FileSystemFileHandle & { move?(dir: FileSystemDirectoryHandle, name: string): Promise<void> };
  if (!movable.move) throw new Error("this browser cannot replace files in browser storage");
  await dir.removeEntry(name).catch(() => undefined);
  await movable.move(dir, name);
}

export async function checkpointFile(name: string): Promise<File> {
  const dir = await checkpointDir();
  try {
    return await (await dir.getFileHandle(checkedName(name))).getFile();
  } catch (error) {
    if (error instanceof DOMException && error.name === "NotFoundError") {
      throw new Error(`checkpoint ${name} is not in browser storage (deleted in another tab?)`);
    }
    throw error;
  }
}

/** The checkpoint is locked: another tab is writing it (`createWritable`) or reading it (a resume). */
function isBusy(error: unknown): boolean {
  return error instanceof FileInUseError || (error instanceof DOMException && error.name === "NoModificationAllowedError");
}

/**
 * Runs `read` on a checkpoint mounted through a sync access handle (fast, and locked meanwhile).
 * A checkpoint another tab is writing is waited for (see `whileBusy`).
 */
export async function readCheckpoint<T>(
  rt: H5Runtime,
  name: string,
  read: (path: string) => T,
  busyWaitMs = CHECKPOINT_BUSY_WAIT_MS,
): Promise<T> {
  const dir = await checkpointDir();
  return whileBusy(
    () =>
      withOpfsFile(rt, dir, checkedName(name), read).catch((error: unknown) => {
        if (error instanceof DOMException && error.name === "NotFoundError") {
          throw new Error(`checkpoint ${name} is not in browser storage (deleted in another tab?)`);
        }
        throw error;
      }),
    busyWaitMs,
    () => stillBusy(name, busyWaitMs, "nothing was opened; resume it again once that tab is done"),
  );
}

/**
 * Every lock on a checkpoint is short-lived (another tab writing it, or reading it for a resume), so
 * an operation that finds it locked retries, with growing pauses, for up to `busyWaitMs` rather than
 * failing at once; then `timedOut()` says so.
 */
async function whileBusy<T>(attempt: () => Promise<T>, busyWaitMs: number, timedOut: () => Error): Promise<T> {
  const deadline = Date.now() + busyWaitMs;
  for (let pause = 25; ; pause = Math.min(pause * 2, 500)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (Date.now() + pause > deadline) throw timedOut();
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

function stillBusy(name: string, busyWaitMs: number, outcome: string): Error {
  return new Error(`checkpoint ${name} is in use in another tab (being written or resumed there) and stayed busy for ${Math.round(busyWaitMs / 1000)} s: ${outcome}`);
}

export async function deleteCheckpoint(name: string): Promise<void> {
  const dir = await checkpointDir();
  await dir.removeEntry(checkedName(name)).catch((error: unknown) => {
    if (!(error instanceof DOMException && error.name === "NotFoundError")) throw error;
  });
}

function storageError(error: unknown): unknown {
  // A QuotaExceededError stays itself: api.ts words it with the sizes (storageSpace.ts).
  return error;
}
