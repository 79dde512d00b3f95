/**
 * Dropped files (`File`/`Blob`) as a read-only Emscripten file system, read lazily. Each
 * FileReaderSync call costs milliseconds in Chromium whatever its size (a cross-process request
 * that opens the file anew: ~4 ms for 4 kB, ~27 ms for 1 MB, ~100 ms for 16 MB on a loaded 2-core
 * machine), so the backend makes as few calls as it can:
 * - HDF5's thousands of tiny metadata reads go through whole blocks kept in a small LRU cache
 *   (WORKERFS, one call per request, took 45 s to open a 2,000-unit session against 2 s in Node);
 * - a forward scan of big reads (the chunks of a `.cmtr` peaks table, one after the other) is read
 *   ahead in one large window, so a 4 GB table is a few hundred calls, not thousands;
 * - the "is the file still there" check rides on the reads it makes anyway.
 * A 50 GB recording still costs only the cache and the window. Worker-only (FileReaderSync).
 */
import { mountFixedFiles, type FileBackend, type FixedMount } from "./fixedFileFs.ts";
import type { H5Runtime } from "./h5.ts";

const BLOCK_BYTES = 64 << 10;
/** Blocks kept per mount (16 MiB): enough for HDF5's B-trees and heaps of a large session. */
const CACHE_BLOCKS = 256;
/** One read-ahead window per file: large enough that the per-call cost is small against the copy. */
const WINDOW_BYTES = 16 << 20;
/** A big read this far past the previous one's end continues a forward scan (B-tree nodes and gaps between chunks). */
const SCAN_GAP_BYTES = 4 << 20;
/** A successful read this recent already showed the file is readable as it was dropped. */
const VERIFIED_FOR_MS = 250;

interface SyncReader {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

function blobBackend(blob: Blob, reader: SyncReader, cache: Map<string, Uint8Array>, key: string): FileBackend {
  let readableAt = -Infinity;
  const fetch = (start: number, end: number): Uint8Array => {
    const bytes = new Uint8Array(reader.readAsArrayBuffer(blob.slice(start, end)));
    readableAt = performance.now();
    return bytes;
  };
  const block = (index: number): Uint8Array => {
    const id = `${key}:${index}`;
    let bytes = cache.get(id);
    if (bytes) {
      cache.delete(id); // re-insert: Map order is the LRU order
    } else {
      const start = index * BLOCK_BYTES;
      bytes = fetch(start, Math.min(blob.size, start + BLOCK_BYTES));
      if (cache.size >= CACHE_BLOCKS) cache.delete(cache.keys().next().value!);
    }
    cache.set(id, bytes);
    return bytes;
  };
  // The read-ahead window, and where the last big read ended (-1: none yet).
  let window: { at: number; bytes: Uint8Array } = { at: 0, bytes: new Uint8Array(0) };
  let scanEnd = -1;
  const bigRead = (into: Uint8Array, at: number, end: number): void => {
    const inWindow = at >= window.at && end <= window.at + window.bytes.length;
    if (!inWindow) {
      const scanning = scanEnd >= 0 && at >= scanEnd && at - scanEnd <= SCAN_GAP_BYTES;
      // A lone big read (one array's slice) goes straight through: a window would only cost a longer copy.
      if (!scanning) {
        scanEnd = end;
        into.set(fetch(at, end));
        return;
      }
      window = { at, bytes: fetch(at, Math.min(blob.size, Math.max(end, at + WINDOW_BYTES))) };
    }
    scanEnd = end;
    into.set(window.bytes.subarray(at - window.at, end - window.at));
  };
  return {
    size: () => blob.size,
    modified: () => (blob instanceof File ? blob.lastModified : 0),
    // The browser refuses to read a dropped file that changed or went away since the drop.
    verify() {
      if (performance.now() - readableAt > VERIFIED_FOR_MS) fetch(0, Math.min(1, blob.size));
    },
    read(into, at) {
      const end = Math.min(blob.size, at + into.length);
      if (at >= end) return 0;
      // Large reads (chunks of array data) bypass the block cache: caching them would only evict metadata.
      if (end - at >= BLOCK_BYTES) {
        bigRead(into.subarray(0, end - at), at, end);
        return end - at;
      }
      // HDF5's B-tree nodes between the chunks of a scan are usually in the window already.
      if (at >= window.at && end <= window.at + window.bytes.length) {
        into.set(window.bytes.subarray(at - window.at, end - window.at));
        return end - at;
      }
      let done = 0;
      for (let index = Math.floor(at / BLOCK_BYTES); at + done < end; index++) {
        const bytes = block(index);
        const from = at + done - index * BLOCK_BYTES;
        const n = Math.min(bytes.length - from, end - at - done);
        into.set(bytes.subarray(from, from + n), done);
        done += n;
      }
      return done;
    },
  };
}

let mounts = 0;

/** Mounts `files` read-only under a fresh directory; nothing is read until HDF5 asks. */
export function mountBlobs(rt: H5Runtime, files: readonly File[]): FixedMount {
  const reader = new (globalThis as unknown as { FileReaderSync: new () => SyncReader }).FileReaderSync();
  const cache = new Map<string, Uint8Array>();
  const id = ++mounts;
  return mountFixedFiles(rt, new Map(files.map((file, i) => [file.name, blobBackend(file, reader, cache, `${id}.${i}`)])), "drop");
}
