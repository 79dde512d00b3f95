/**
 * Checkpoints kept in browser storage (the origin private file system, OPFS) under
 * `checkpoints/<datasetId>.h5`, so a reload or a crashed tab can resume. They are ordinary session
 * files: resuming mounts the disk-backed `File` from OPFS like a dropped file.
 *
 * A checkpoint may have delta files beside it, `<datasetId>.h5.d1`, `.d2`, … (what changed since,
 * io/checkpointDeltas.ts). Their names do not end in `.h5`, so no dataset's checkpoint can be named
 * like one, and the list shows one checkpoint with their bytes counted in. The checkpoint's own file
 * is the lock for all of them: a delta is written while holding a writable on it, and a resume mounts
 * it with the deltas, so a resume never reads a half-added delta and a writer waits for a resume.
 */
import { HdmeaError } from "../core/failure.ts";
import { appStorageRoot } from "./appStorage.ts";
import type { H5Runtime } from "../io/h5.ts";
import { FileInUseError, mountOpfsFiles } from "../io/opfsFs.ts";
import { COPY_SLICE_BYTES, copyToWritable, type MovableFile } from "./workerFs.ts";

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

/** `<name>.d<index>`: delta `index` of checkpoint `name`. */
export function checkpointDeltaName(name: string, index: number): string {
  return `${checkedName(name)}.d${index}`;
}

interface StoredDelta {
  index: number;
  handle: FileSystemFileHandle;
  file: File;
}

/** Every delta file of checkpoint `name`, in order (empty ones, left by a write that never closed, too). */
async function storedDeltas(dir: FileSystemDirectoryHandle, name: string): Promise<StoredDelta[]> {
  const prefix = `${checkedName(name)}.d`;
  const found: StoredDelta[] = [];
  const entries = (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
  for await (const handle of entries) {
    if (handle.kind !== "file" || !handle.name.startsWith(prefix) || !/^\d+$/.test(handle.name.slice(prefix.length))) continue;
    const fileHandle = handle as FileSystemFileHandle;
    found.push({ index: Number(handle.name.slice(prefix.length)), handle: fileHandle, file: await fileHandle.getFile() });
  }
  return found.sort((a, b) => a.index - b.index);
}

/** The deltas a resume applies: 1, 2, … up to the first missing or empty one. */
function appliedDeltas(deltas: StoredDelta[]): StoredDelta[] {
  const applied: StoredDelta[] = [];
  for (const delta of deltas) {
    if (delta.index !== applied.length + 1 || delta.file.size === 0) break;
    applied.push(delta);
  }
  return applied;
}

/** A checkpoint as it is now (its file's size and time, and how many deltas apply): equal stamps, same checkpoint. */
export interface CheckpointStamp {
  base: string;
  deltas: number;
}

function baseStamp(file: File): string {
  return `${file.size}:${file.lastModified}`;
}

export async function checkpointStamp(name: string): Promise<CheckpointStamp | undefined> {
  const dir = await checkpointDir();
  try {
    const file = await (await dir.getFileHandle(checkedName(name))).getFile();
    return { base: baseStamp(file), deltas: appliedDeltas(await storedDeltas(dir, name)).length };
  } catch {
    return undefined;
  }
}

/** The checkpoint was replaced (another tab) after this session planned a delta of it: nothing was written. */
export class CheckpointReplacedError extends HdmeaError {
  override name = "CheckpointReplacedError";
  constructor(message: string) {
    super(message, "in-use");
  }
}

async function infoOf(handle: FileSystemFileHandle, deltas?: StoredDelta[]): Promise<CheckpointInfo> {
  const file = await handle.getFile();
  const applied = appliedDeltas(deltas ?? (await storedDeltas(await checkpointDir(), handle.name)));
  return {
    name: handle.name,
    datasetId: handle.name.replace(/\.h5$/, ""),
    bytes: applied.reduce((sum, d) => sum + d.file.size, file.size),
    modifiedAt: new Date(Math.max(file.lastModified, ...applied.map((d) => d.file.lastModified))).toISOString(),
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

/**
 * A written file already in browser storage (a scratch file, `workerFs.ts`): moved into place,
 * replacing the file there in one step, rather than copied. Where the browser cannot move files, a
 * `Blob` is copied.
 */
export type CheckpointSource = Blob | MovableFile;

function isMovable(source: CheckpointSource): source is MovableFile {
  return !(source instanceof Blob);
}

export async function storeCheckpoint(source: CheckpointSource, name: string): Promise<{ info: CheckpointInfo; stamp: CheckpointStamp }> {
  const dir = await checkpointDir();
  const stale = await storedDeltas(dir, name);
  let stamp: CheckpointStamp | undefined;
  const busy = () => stillBusy(name, CHECKPOINT_BUSY_WAIT_MS, "nothing was written; the session is unchanged, checkpoint it again once that tab is done");
  try {
    if (isMovable(source)) {
      // Atomic: the move replaces the old checkpoint in one step. It fails, moving nothing, while
      // a tab resuming the checkpoint holds it for a moment: wait for it rather than fail.
      await whileBusy(() => source.moveTo(dir, checkedName(name)), CHECKPOINT_BUSY_WAIT_MS, busy);
    } else {
      const handle = await dir.getFileHandle(checkedName(name), { create: true });
      if (typeof handle.createWritable === "function") {
        // Atomic: the swap file replaces the old checkpoint only on close(); waits for a resuming tab as above.
        const writable = await whileBusy(() => handle.createWritable(), CHECKPOINT_BUSY_WAIT_MS, busy);
        await copyToWritable(source, writable);
      } else {
        await writeWithSyncHandle(source, dir, name);
      }
    }
    // At once: what this tab wrote, so its next checkpoint can tell whether another tab wrote since.
    stamp = { base: baseStamp(await (await dir.getFileHandle(name)).getFile()), deltas: 0 };
  } catch (error) {
    throw storageError(error);
  }
  // The new file names a new token: the old deltas no longer apply; removing them frees their space.
  for (const delta of stale) await dir.removeEntry(delta.handle.name).catch(() => undefined);
  return { info: await infoOf(await dir.getFileHandle(name), []), stamp };
}

/**
 * Adds delta `index` (what changed since the checkpoint or the delta before) beside checkpoint
 * `name`, holding a writable on the checkpoint meanwhile (see above; nothing is written to it, the
 * writable is aborted). A failure leaves the checkpoint as it was: a delta that never closed is
 * empty, and a resume stops before it.
 */
export async function storeCheckpointDelta(source: CheckpointSource, name: string, index: number, planned: CheckpointStamp): Promise<{ info: CheckpointInfo; stamp: CheckpointStamp }> {
  const dir = await checkpointDir();
  const base = await dir.getFileHandle(checkedName(name));
  const deltaName = checkpointDeltaName(name, index);
  // Under the lock: the checkpoint is still the one the delta follows (no tab replaced it since the plan).
  const unchanged = async () => {
    const now = { base: baseStamp(await base.getFile()), deltas: appliedDeltas(await storedDeltas(dir, name)).length };
    if (now.base !== planned.base || now.deltas !== planned.deltas) throw new CheckpointReplacedError(`checkpoint ${name} was written by another tab meanwhile`);
    return now;
  };
  try {
    if (isMovable(source)) {
      // Under the lock, as the copy below: moved in one step, so a resume sees it whole or not at all.
      const lock = await whileBusy(() => base.createWritable(), CHECKPOINT_BUSY_WAIT_MS, () =>
        stillBusy(name, CHECKPOINT_BUSY_WAIT_MS, "nothing was written; the session is unchanged, checkpoint it again once that tab is done"),
      );
      try {
        await unchanged();
        await source.moveTo(dir, deltaName);
      } finally {
        await lock.abort().catch(() => undefined);
      }
    } else if (typeof base.createWritable !== "function") {
      await unchanged();
      await writeWithSyncHandle(source, dir, deltaName);
    } else {
      // The delta's own writable first (a full store fails here, before the lock), then the lock.
      const handle = await dir.getFileHandle(deltaName, { create: true });
      let writable: FileSystemWritableFileStream | undefined;
      try {
        writable = await handle.createWritable();
        const lock = await whileBusy(() => base.createWritable(), CHECKPOINT_BUSY_WAIT_MS, () =>
          stillBusy(name, CHECKPOINT_BUSY_WAIT_MS, "nothing was written; the session is unchanged, checkpoint it again once that tab is done"),
        );
        try {
          await unchanged();
          const copying = writable;
          writable = undefined; // copyToWritable closes or aborts it
          await copyToWritable(source, copying);
        } finally {
          await lock.abort().catch(() => undefined);
        }
      } catch (error) {
        await writable?.abort().catch(() => undefined);
        // The empty file getFileHandle made: a resume would stop at it anyway, but leave nothing behind.
        if ((await handle.getFile().catch(() => undefined))?.size === 0) await dir.removeEntry(deltaName).catch(() => undefined);
        throw error;
      }
    }
  } catch (error) {
    throw error instanceof CheckpointReplacedError ? error : storageError(error);
  }
  return { info: await infoOf(base), stamp: { base: planned.base, deltas: index } };
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
  read: (path: string, deltaPath: (index: number) => string) => T,
  busyWaitMs = CHECKPOINT_BUSY_WAIT_MS,
): Promise<T> {
  const dir = await checkpointDir();
  return whileBusy(
    async () => {
      const deltas = appliedDeltas(await storedDeltas(dir, checkedName(name))).map((d) => d.handle.name);
      const mount = await mountOpfsFiles(rt, dir, [name, ...deltas], { create: false }).catch((error: unknown) => {
        if (error instanceof DOMException && error.name === "NotFoundError") {
          throw new Error(`checkpoint ${name} is not in browser storage (deleted in another tab?)`);
        }
        throw error;
      });
      try {
        return read(mount.paths.get(name)!, (index) => mount.paths.get(checkpointDeltaName(name, index)) ?? `/no-such-delta/${index}`);
      } finally {
        mount.close();
      }
    },
    busyWaitMs,
    () => stillBusy(name, busyWaitMs, "nothing was opened; resume it again once that tab is done"),
  );
}

/** The checkpoint's deltas, if any: an export of it must then be written as one file. */
export async function hasCheckpointDeltas(name: string): Promise<boolean> {
  return appliedDeltas(await storedDeltas(await checkpointDir(), name)).length > 0;
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
  return new HdmeaError(
    `checkpoint ${name} is in use in another tab (being written or resumed there) and stayed busy for ${Math.round(busyWaitMs / 1000)} s: ${outcome}`,
    "in-use",
    name,
  );
}

export async function deleteCheckpoint(name: string): Promise<void> {
  const dir = await checkpointDir();
  const deltas = await storedDeltas(dir, checkedName(name));
  await dir.removeEntry(name).catch((error: unknown) => {
    if (!(error instanceof DOMException && error.name === "NotFoundError")) throw error;
  });
  for (const delta of deltas) await dir.removeEntry(delta.handle.name).catch(() => undefined);
}

function storageError(error: unknown): unknown {
  // A QuotaExceededError stays itself: api.ts words it with the sizes (storageSpace.ts).
  return error;
}
