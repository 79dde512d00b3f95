/**
 * Calls `onIo` on every read and write h5wasm makes through its Emscripten FS (in Node, the real
 * disk), with the file's path: the sign of life a watchdog counts, and the file it names when the
 * signs stop. Patching FS.read/FS.write catches every HDF5 file access, since HDF5's sec2 driver
 * reaches the disk only through those two.
 */
import type { H5Runtime } from "./h5.ts";

export type IoKind = "read" | "write";

export function watchFileActivity(rt: H5Runtime, onIo: (path: string, kind: IoKind) => void): () => void {
  const fs = rt.fs as unknown as { read: (...a: unknown[]) => number; write: (...a: unknown[]) => number };
  const { read, write } = fs;
  fs.read = function (this: unknown, stream: unknown, ...rest: unknown[]) {
    onIo(String((stream as { path?: string }).path ?? "?"), "read");
    return read.call(this, stream, ...rest);
  };
  fs.write = function (this: unknown, stream: unknown, ...rest: unknown[]) {
    onIo(String((stream as { path?: string }).path ?? "?"), "write");
    return write.call(this, stream, ...rest);
  };
  return () => {
    fs.read = read;
    fs.write = write;
  };
}
