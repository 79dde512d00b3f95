/**
 * Dropped files (`File`/`Blob`) as a read-only Emscripten file system, read lazily. Each
 * FileReaderSync call costs milliseconds in Chromium whatever its size (a cross-process request
 * that opens the file anew: ~4 ms for 4 kB, ~27 ms for 1 MB, ~100 ms for 16 MB on a loaded 2-core
 * machine), so the backend makes as few calls as it can:
 * - HDF5's thousands of tiny metadata reads go through whole blocks kept in a small LRU cache
 *   (WORKERFS, one call per request, took 45 s to open a 2,000-unit session against 2 s in Node),
 *   and a walk through one region of them (a session's tree) reads 1 MiB at a time;
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
/** Most blocks read together when misses come close together (1 MiB, aligned). */
const MAX_GROUP_BLOCKS = 16;
/** Misses this close (512 kB) are one walk through a region. */
const NEAR_BLOCKS = 8;
/** Walks followed at once. */
const WALKS = 4;
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
  const put = (id: string, bytes: Uint8Array): void => {
    if (cache.size >= CACHE_BLOCKS) cache.delete(cache.keys().next().value!);
    cache.set(id, bytes);
  };
  // Walks through regions of the file, most recent first: HDF5 reading a session's tree misses
  // block after block close together but not in order, and often in two places at once (object
  // headers, and the small values HDF5 keeps apart from them).
  const walks: { at: number; blocks: number }[] = [];
  const block = (index: number): Uint8Array => {
    const id = `${key}:${index}`;
    const cached = cache.get(id);
    if (cached) {
      cache.delete(id); // re-insert: Map order is the LRU order
      cache.set(id, cached);
      return cached;
    }
    // Each miss near a walk's last one doubles the group of blocks read around it (up to 1 MiB): a
    // tree written in one place reads in few calls, while misses scattered through the data (a
    // file with its tree spread among the arrays) stay single blocks.
    const near = walks.findIndex((w) => Math.abs(index - w.at) <= NEAR_BLOCKS);
    const walk = near >= 0 ? walks.splice(near, 1)[0] : { at: index, blocks: 0 };
    walk.at = index;
    walk.blocks = Math.min(MAX_GROUP_BLOCKS, walk.blocks * 2 || 1);
    walks.unshift(walk);
    if (walks.length > WALKS) walks.pop();
    // Mostly ahead (HDF5 walks forward), a quarter behind (it steps back a little).
    const groupStart = Math.max(0, index - Math.floor(walk.blocks / 4));
    const groupEnd = Math.min(groupStart + walk.blocks, Math.ceil(blob.size / BLOCK_BYTES));
    let first = index;
    let end = index + 1;
    while (first > groupStart && !cache.has(`${key}:${first - 1}`)) first--;
    while (end < groupEnd && !cache.has(`${key}:${end}`)) end++;
    const bytes = fetch(first * BLOCK_BYTES, Math.min(blob.size, end * BLOCK_BYTES));
    let wanted = bytes;
    for (let k = first; k < end; k++) {
      // Copies, not views, once a call read several: one kept block must not keep the rest alive.
      const part = end - first === 1 ? bytes : bytes.slice((k - first) * BLOCK_BYTES, (k - first + 1) * BLOCK_BYTES);
      if (k === index) wanted = part;
      else put(`${key}:${k}`, part);
    }
    put(id, wanted);
    return wanted;
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
