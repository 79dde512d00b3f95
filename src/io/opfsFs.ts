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
import { HdmeaError } from "../core/failure.ts";

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
 * Writes are held back too: HDF5 writes a session as hundreds of thousands of small pieces (every
 * dataset's data, object header and B-tree node; the 1,000-unit session has 150,000 datasets and
 * 33,000 groups), scattered over the file's growing end, and each sync-handle write costs
 * milliseconds in Chromium whatever its size (measured on the loaded 2-core machine: 20,000 writes
 * of 300 bytes in 44–55 s, whether they grow the file or not; the same bytes in 1 MiB writes take a
 * fraction of a second). Written bytes go into `PAGE_BYTES` pages (a page of an existing part of
 * the file is read in first), reads see them, and the dirty pages reach the handle in runs of
 * consecutive pages, one write each: once `HELD_BYTES` are dirty, before a truncation, and at the
 * mount's close. Writes of `DIRECT_BYTES` or more (array slices) go straight through but for
 * their last page, which is held; the held pages they touch take their bytes as well.
 */
const BLOCK_BYTES = 4096;
const CACHE_BLOCKS = 64;
const PAGE_BYTES = 64 << 10;
const HELD_BYTES = 8 << 20;
const DIRECT_BYTES = 1 << 20;
/** Pages kept as flushed, to be made dirty again without a read (8 MB). */
const FLUSHED_PAGES = 128;
/** Consecutive dirty pages are joined into writes of at most this many bytes. */
const RUN_BYTES = 4 << 20;
/** Pages no longer held or kept, kept for reuse (8 MB). */
const SPARE_PAGES = 128;

/** A backend that holds written bytes back: `flush` hands them to the handle. */
type BufferedBackend = FileBackend & { flush(): void };

function handleBackend(rt: H5Runtime, handle: FileSystemSyncAccessHandle): BufferedBackend {
  const cache = new Map<number, Uint8Array>(); // Map order is the LRU order
  /** Dirty pages by index; `size` counts the held bytes too. */
  const pages = new Map<number, Uint8Array>();
  /**
   * Pages the last flushes wrote, as written (Map order is the LRU order): HDF5 comes back to its
   * headers and B-tree nodes after a flush, and such a page is then made dirty again from here
   * instead of read back through the handle (the demo's 53 MB checkpoint read 363 pages back).
   */
  const flushed = new Map<number, Uint8Array>();
  let handleSize = handle.getSize();
  let size = handleSize;
  // Buffers reused instead of made anew: a 7.4 GB save made ~110,000 pages and ~2,000 runs of up to
  // 4 MB, and allocating and collecting them cost more worker time in Chromium than the writes.
  const spare: Uint8Array[] = [];
  const retire = (bytes: Uint8Array | undefined) => {
    if (bytes && spare.length < SPARE_PAGES) spare.push(bytes);
  };
  let runBuffer: Uint8Array | undefined;
  const writeAll = (from: Uint8Array, at: number) => {
    for (let done = 0; done < from.length; ) {
      const n = handle.write(from.subarray(done), { at: at + done });
      if (n <= 0) throw new Error(`a write to browser storage stopped at byte ${at + done}`);
      done += n;
    }
    handleSize = Math.max(handleSize, at + from.length);
  };
  const forget = (at: number, length: number) => {
    const first = Math.floor(at / BLOCK_BYTES);
    const last = Math.floor((at + Math.max(1, length) - 1) / BLOCK_BYTES);
    for (const index of cache.keys()) if (index >= first && index <= last) cache.delete(index);
  };
  const flush = () => {
    if (!pages.size) return;
    const indices = [...pages.keys()].sort((x, y) => x - y);
    const held = new Map(pages);
    pages.clear(); // a failed write is not retried later: the error goes to the caller now
    for (let i = 0; i < indices.length; ) {
      let j = i + 1;
      while (j < indices.length && indices[j] === indices[j - 1] + 1 && (j - i + 1) * PAGE_BYTES <= RUN_BYTES) j++;
      const at = indices[i] * PAGE_BYTES;
      const length = Math.min((j - i) * PAGE_BYTES, size - at);
      if (length > 0) {
        // The run is written before the next is copied (sync handle): one buffer serves them all.
        const run = j - i === 1 ? held.get(indices[i])! : (runBuffer ??= new Uint8Array(RUN_BYTES)).subarray(0, (j - i) * PAGE_BYTES);
        if (j - i > 1) for (let k = i; k < j; k++) run.set(held.get(indices[k])!, (k - i) * PAGE_BYTES);
        writeAll(run.subarray(0, length), at);
      }
      i = j;
    }
    // Now on the handle as held (a page made dirty again left this map; an array write over one drops it).
    for (const index of indices) flushed.set(index, held.get(index)!);
    for (const [index, bytes] of flushed) {
      if (flushed.size <= FLUSHED_PAGES) break;
      flushed.delete(index);
      retire(bytes);
    }
  };
  /** The dirty page `index`, made from the file's bytes (zeros past its end) when it was clean. */
  const page = (index: number): Uint8Array => {
    let bytes = pages.get(index);
    if (!bytes) {
      bytes = flushed.get(index);
      flushed.delete(index);
      if (!bytes) {
        bytes = spare.pop()?.fill(0) ?? new Uint8Array(PAGE_BYTES);
        if (index * PAGE_BYTES < handleSize) handle.read(bytes, { at: index * PAGE_BYTES });
      }
      pages.set(index, bytes);
    }
    return bytes;
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
    size: () => size,
    read(into, at) {
      if (!pages.size) return readHandle(into, at);
      const end = Math.min(at + into.length, size);
      // Piece by piece: dirty pages from memory, the rest from the handle (zeros in a hole before held bytes).
      for (let pos = at; pos < end; ) {
        const index = Math.floor(pos / PAGE_BYTES);
        const stop = Math.min(end, (index + 1) * PAGE_BYTES);
        const dirty = pages.get(index);
        const piece = into.subarray(pos - at, stop - at);
        if (dirty) piece.set(dirty.subarray(pos - index * PAGE_BYTES, stop - index * PAGE_BYTES));
        else piece.fill(0, readHandle(piece, pos));
        pos = stop;
      }
      return Math.max(0, end - at);
    },
    write(from, at) {
      forget(at, from.length);
      writeBudget -= from.length;
      if (writeBudget < 0) {
        writeBudget = Number.POSITIVE_INFINITY;
        throw errno(rt, EIO);
      }
      const end = at + from.length;
      // An array slice goes straight through, but for its part in its last page, which is held:
      // HDF5 puts the next object's header right behind it.
      const direct = from.length >= DIRECT_BYTES ? Math.max(at, Math.floor(end / PAGE_BYTES) * PAGE_BYTES) : at;
      if (direct > at) {
        // The held pages it overlaps take its bytes too and stay held: flushing them first made
        // HDF5's next metadata writes read them back and write them again (a 53 MB checkpoint:
        // 372 page reads, 77 MB written).
        for (let index = Math.floor(at / PAGE_BYTES); index * PAGE_BYTES < direct; index++) {
          retire(flushed.get(index));
          flushed.delete(index); // no longer as written
          const held = pages.get(index);
          if (!held) continue;
          const start = Math.max(at, index * PAGE_BYTES);
          const stop = Math.min(direct, (index + 1) * PAGE_BYTES);
          held.set(from.subarray(start - at, stop - at), start - index * PAGE_BYTES);
        }
        writeAll(from.subarray(0, direct - at), at);
      }
      for (let pos = direct; pos < end; ) {
        const index = Math.floor(pos / PAGE_BYTES);
        const stop = Math.min(end, (index + 1) * PAGE_BYTES);
        page(index).set(from.subarray(pos - at, stop - at), pos - index * PAGE_BYTES);
        pos = stop;
      }
      size = Math.max(size, end);
      if (pages.size * PAGE_BYTES >= HELD_BYTES) flush();
      return from.length;
    },
    truncate(length) {
      flush();
      cache.clear();
      flushed.clear();
      handle.truncate(length);
      handleSize = size = length;
    },
    flush,
  };
}

/** The file is locked by a sync access handle elsewhere (another tab, or another operation here). */
export class FileInUseError extends HdmeaError {
  override name = "FileInUseError";
  constructor(message: string, file: string) {
    super(message, "in-use", file);
  }
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
          throw new FileInUseError(`${name} is open elsewhere (another tab or operation); close it there first`, name);
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
