/**
 * Dropped files (`File`/`Blob`) as a read-only Emscripten file system, read lazily in blocks kept
 * in a small LRU cache. WORKERFS reads each HDF5 request with its own FileReaderSync call; HDF5
 * makes thousands of tiny metadata reads, so a 2,000-unit session took 45 s to open that way
 * against 2 s in Node. Whole blocks, cached, turn most of those reads into memory copies, while a
 * 50 GB recording still costs only the cache. Worker-only (FileReaderSync).
 */
import { mountFixedFiles, type FileBackend, type FixedMount } from "./fixedFileFs.ts";
import type { H5Runtime } from "./h5.ts";

const BLOCK_BYTES = 64 << 10;
/** Blocks kept per mount (16 MiB): enough for HDF5's B-trees and heaps of a large session. */
const CACHE_BLOCKS = 256;

interface SyncReader {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

function blobBackend(blob: Blob, reader: SyncReader, cache: Map<string, Uint8Array>, key: string): FileBackend {
  const block = (index: number): Uint8Array => {
    const id = `${key}:${index}`;
    let bytes = cache.get(id);
    if (bytes) {
      cache.delete(id); // re-insert: Map order is the LRU order
    } else {
      const start = index * BLOCK_BYTES;
      bytes = new Uint8Array(reader.readAsArrayBuffer(blob.slice(start, Math.min(blob.size, start + BLOCK_BYTES))));
      if (cache.size >= CACHE_BLOCKS) cache.delete(cache.keys().next().value!);
    }
    cache.set(id, bytes);
    return bytes;
  };
  return {
    size: () => blob.size,
    modified: () => (blob instanceof File ? blob.lastModified : 0),
    // The browser refuses to read a dropped file that changed or went away since the drop.
    verify: () => void reader.readAsArrayBuffer(blob.slice(0, Math.min(1, blob.size))),
    read(into, at) {
      const end = Math.min(blob.size, at + into.length);
      if (at >= end) return 0;
      // Large reads (chunks of array data) go straight through: caching them would only evict metadata.
      if (end - at >= BLOCK_BYTES) {
        into.set(new Uint8Array(reader.readAsArrayBuffer(blob.slice(at, end))));
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
