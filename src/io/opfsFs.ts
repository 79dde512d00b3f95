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
 */
const BLOCK_BYTES = 4096;
const CACHE_BLOCKS = 64;

function handleBackend(rt: H5Runtime, handle: FileSystemSyncAccessHandle): FileBackend {
  const cache = new Map<number, Uint8Array>(); // Map order is the LRU order
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
  const forget = (at: number, length: number) => {
    const first = Math.floor(at / BLOCK_BYTES);
    const last = Math.floor((at + Math.max(1, length) - 1) / BLOCK_BYTES);
    for (const index of [...cache.keys()]) if (index >= first && index <= last) cache.delete(index);
  };
  return {
    size: () => handle.getSize(),
    read(into, at) {
      if (into.length >= BLOCK_BYTES) return handle.read(into, { at });
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
    },
    write(from, at) {
      forget(at, from.length);
      writeBudget -= from.length;
      if (writeBudget < 0) {
        writeBudget = Number.POSITIVE_INFINITY;
        throw errno(rt, EIO);
      }
      return handle.write(from, { at });
    },
    truncate(size) {
      cache.clear();
      handle.truncate(size);
    },
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
  const mount = mountFixedFiles(rt, new Map([...handles].map(([name, handle]) => [name, handleBackend(rt, handle)])), "opfs");
  return {
    paths: mount.paths,
    close() {
      for (const handle of handles.values()) handle.flush();
      mount.unmount();
      for (const handle of handles.values()) handle.close();
    },
  };
}
