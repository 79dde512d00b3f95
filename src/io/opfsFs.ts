/**
 * An Emscripten file system whose files are OPFS files opened with synchronous access handles, so
 * HDF5 reads and writes go straight to browser storage in slices: a session file never sits whole in
 * memory and is not bounded by the 2 GiB wasm heap. Worker-only (sync access handles need one).
 *
 * Handles are created asynchronously, so the files are opened *before* mounting and the mount knows
 * exactly those files (`fixedFileFs.ts`); creating, renaming or deleting is done on OPFS directly.
 */
import { EIO, errno, mountFixedFiles, type FileBackend } from "./fixedFileFs.ts";
import type { H5Runtime } from "./h5.ts";

/**
 * Test hook: the next writes fail with EIO once this many more bytes were written, so tests can
 * prove that a save failing midway damages nothing. Off (infinite) unless a test sets it.
 */
let writeBudget = Number.POSITIVE_INFINITY;
export function failWritesAfter(bytes: number): void {
  writeBudget = bytes;
}

/**
 * HDF5's small reads (object headers, B-tree nodes, heaps: a few hundred bytes each, thousands per
 * session) are served from whole 4 KiB blocks kept in a small LRU cache: each sync-handle call
 * costs tens of microseconds in the worker, and neighbouring metadata shares blocks (measured on a
 * 1 GB session: 8,064 small reads became 1,461 block reads, 6 MB in all). Reads of a block or more
 * (array data) go straight through. Writes drop the blocks they touch, so reads see them.
 *
 * Small writes are held back too: HDF5 writes a session as hundreds of thousands of small pieces
 * (every dataset's data, object header and B-tree node; the 1,000-unit session has 150,000
 * datasets and 33,000 groups), and each sync-handle write costs milliseconds in Chromium whatever
 * its size (measured on the loaded 2-core machine: 20,000 writes of 300 bytes in 44–55 s, whether
 * they grow the file or not; 100,000 in 372 s, the same bytes in 1 MiB writes in 5 s). Written
 * bytes are kept as sorted runs (a write that touches a run joins it), read back from there, and
 * reach the handle a run at a time: once `HELD_BYTES` are held, before a truncation, and at the
 * mount's close. HDF5 fills the file from front to back in small aggregated blocks, so the runs
 * join up and the handle sees a few large writes. Writes of `DIRECT_BYTES` or more (array slices)
 * go straight through, after the runs.
 */
const BLOCK_BYTES = 4096;
const CACHE_BLOCKS = 64;
const HELD_BYTES = 8 << 20;
const HELD_RUNS = 4096;
const DIRECT_BYTES = 256 << 10;

/** Bytes written at `at` and not yet handed to the handle: `bytes.subarray(0, length)`. */
interface HeldRun {
  at: number;
  bytes: Uint8Array;
  length: number;
}

/** A backend that holds written bytes back: `flush` hands them to the handle. */
type BufferedBackend = FileBackend & { flush(): void };

function handleBackend(rt: H5Runtime, handle: FileSystemSyncAccessHandle): BufferedBackend {
  const cache = new Map<number, Uint8Array>(); // Map order is the LRU order
  /** Sorted by `at`, apart (never overlapping or touching). */
  let held: HeldRun[] = [];
  let heldBytes = 0;
  const writeAll = (from: Uint8Array, at: number) => {
    for (let done = 0; done < from.length; ) {
      const n = handle.write(from.subarray(done), { at: at + done });
      if (n <= 0) throw new Error(`a write to browser storage stopped at byte ${at + done}`);
      done += n;
    }
  };
  const forget = (at: number, length: number) => {
    const first = Math.floor(at / BLOCK_BYTES);
    const last = Math.floor((at + Math.max(1, length) - 1) / BLOCK_BYTES);
    for (const index of [...cache.keys()]) if (index >= first && index <= last) cache.delete(index);
  };
  const flush = () => {
    const runs = held;
    held = []; // a failed write is not retried later: the error goes to the caller now
    heldBytes = 0;
    for (const run of runs) {
      forget(run.at, run.length);
      writeAll(run.bytes.subarray(0, run.length), run.at);
    }
  };
  /** Index of the first run ending at or after `at`. */
  const firstEndingFrom = (at: number): number => {
    let lo = 0;
    let hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (held[mid].at + held[mid].length < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const hold = (from: Uint8Array, at: number) => {
    const end = at + from.length;
    const i = firstEndingFrom(at);
    let j = i;
    while (j < held.length && held[j].at <= end) j++;
    if (i === j) {
      const bytes = new Uint8Array(Math.max(from.length, BLOCK_BYTES));
      bytes.set(from);
      held.splice(i, 0, { at, bytes, length: from.length });
    } else {
      const first = held[i];
      const start = Math.min(at, first.at);
      const last = held[j - 1];
      const stop = Math.max(end, last.at + last.length);
      if (i + 1 === j && start === first.at && stop <= first.at + first.bytes.length) {
        // Inside or just past the run it continues, with room left: the common case.
        heldBytes -= first.length;
        first.bytes.set(from, at - first.at);
        first.length = Math.max(first.length, end - first.at);
        heldBytes += first.length;
      } else {
        // Joins runs; room to grow, so a run that keeps being continued is copied O(log n) times.
        const bytes = new Uint8Array(Math.max(stop - start, Math.min(2 * first.bytes.length, HELD_BYTES)));
        for (let k = i; k < j; k++) {
          bytes.set(held[k].bytes.subarray(0, held[k].length), held[k].at - start);
          heldBytes -= held[k].length;
        }
        bytes.set(from, at - start);
        held.splice(i, j - i, { at: start, bytes, length: stop - start });
        heldBytes += stop - start;
      }
    }
    if (i === j) heldBytes += from.length;
    if (heldBytes >= HELD_BYTES || held.length >= HELD_RUNS) flush();
  };
  const block = (index: number): Uint8Array => {
    let bytes = cache.get(index);
    if (bytes) {
      cache.delete(index);
    } else {
      const buf = new Uint8Array(BLOCK_BYTES);
      bytes = buf.subarray(0, Math.max(0, handle.read(buf, { at: index * BLOCK_BYTES })));
      // The file's last, partial block is not kept: a write past it (not into it) would lengthen it.
      if (bytes.length < BLOCK_BYTES) return bytes;
      if (cache.size >= CACHE_BLOCKS) cache.delete(cache.keys().next().value!);
    }
    cache.set(index, bytes);
    return bytes;
  };
  const readHandle = (into: Uint8Array, at: number): number => {
    if (into.length >= BLOCK_BYTES) return Math.max(0, handle.read(into, { at }));
    let done = 0;
    while (done < into.length) {
      const index = Math.floor((at + done) / BLOCK_BYTES);
      const bytes = block(index);
      const from = at + done - index * BLOCK_BYTES;
      if (from >= bytes.length) break; // end of the file
      const n = Math.min(bytes.length - from, into.length - done);
      into.set(bytes.subarray(from, from + n), done);
      done += n;
    }
    return done;
  };
  return {
    size: () => Math.max(handle.getSize(), held.length ? held[held.length - 1].at + held[held.length - 1].length : 0),
    read(into, at) {
      const got = readHandle(into, at);
      if (!held.length) return got;
      // The held-back bytes lie over what the handle has; past its end (a hole before them) is zeros.
      const heldEnd = held[held.length - 1].at + held[held.length - 1].length;
      const end = Math.max(at + got, Math.min(at + into.length, heldEnd));
      if (end - at > got) into.fill(0, got, end - at);
      for (let k = firstEndingFrom(at); k < held.length && held[k].at < end; k++) {
        const run = held[k];
        const from = Math.max(at, run.at);
        const to = Math.min(end, run.at + run.length);
        if (to > from) into.set(run.bytes.subarray(from - run.at, to - run.at), from - at);
      }
      return end - at;
    },
    write(from, at) {
      forget(at, from.length);
      writeBudget -= from.length;
      if (writeBudget < 0) {
        writeBudget = Number.POSITIVE_INFINITY;
        throw errno(rt, EIO);
      }
      if (from.length >= DIRECT_BYTES) {
        flush();
        writeAll(from, at);
      } else {
        hold(from, at);
      }
      return from.length;
    },
    truncate(size) {
      flush();
      cache.clear();
      handle.truncate(size);
    },
    flush,
  };
}

/** The file is locked by a sync access handle elsewhere (another tab, or another operation here). */
export class FileInUseError extends Error {
  override name = "FileInUseError";
}

export interface OpfsMount {
  /** Emscripten path of each mounted file, by its OPFS name. */
  paths: Map<string, string>;
  /** Flushes and closes the handles, unmounts. The OPFS files stay. Close h5wasm files first. */
  close(): void;
}

/**
 * Opens `names` in `dir` (creating them when `create`) with sync access handles and mounts them.
 * A handle locks its file: a second mount of the same file (another tab) fails with a clear error.
 */
export async function mountOpfsFiles(
  rt: H5Runtime,
  dir: FileSystemDirectoryHandle,
  names: string[],
  options: { create: boolean },
): Promise<OpfsMount> {
  const handles = new Map<string, FileSystemSyncAccessHandle>();
  try {
    for (const name of names) {
      const fileHandle = await dir.getFileHandle(name, { create: options.create });
      try {
        handles.set(name, await fileHandle.createSyncAccessHandle());
      } catch (error) {
        if ((error as DOMException).name === "NoModificationAllowedError") {
          throw new FileInUseError(`${name} is open elsewhere (another tab or operation); close it there first`);
        }
        throw error;
      }
    }
  } catch (error) {
    for (const handle of handles.values()) handle.close();
    throw error;
  }
  const backends = [...handles].map(([name, handle]) => [name, handleBackend(rt, handle)] as const);
  const mount = mountFixedFiles(rt, new Map(backends), "opfs");
  return {
    paths: mount.paths,
    close() {
      // The held-back writes first; should one fail (the store is full), the handles are still
      // released and unmounted, and the error goes to the caller (a save or checkpoint then fails).
      let failure: unknown;
      for (const [, backend] of backends) {
        try {
          backend.flush();
        } catch (error) {
          failure ??= error;
        }
      }
      for (const handle of handles.values()) {
        try {
          handle.flush();
        } catch (error) {
          failure ??= error;
        }
      }
      mount.unmount();
      for (const handle of handles.values()) handle.close();
      if (failure !== undefined) throw failure;
    },
  };
}
