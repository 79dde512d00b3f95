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

function handleBackend(rt: H5Runtime, handle: FileSystemSyncAccessHandle): FileBackend {
  return {
    size: () => handle.getSize(),
    read: (into, at) => handle.read(into, { at }),
    write(from, at) {
      writeBudget -= from.length;
      if (writeBudget < 0) {
        writeBudget = Number.POSITIVE_INFINITY;
        throw errno(rt, EIO);
      }
      return handle.write(from, { at });
    },
    truncate: (size) => handle.truncate(size),
  };
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
          throw new Error(`${name} is open elsewhere (another tab or operation); close it there first`);
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
