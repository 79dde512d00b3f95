/**
 * A check HDF5 itself does not make: a damaged global heap collection can send the library into an
 * endless loop.
 *
 * Variable-length strings (every string our session writer and h5py write) live in global heap
 * collections ("GCOL"). When HDF5 loads a collection it walks its objects, advancing by each
 * object's size; a free-space entry (index 0) whose size is 0 — one flipped byte — never advances,
 * and a size that wraps the 32-bit wasm address space moves backwards. Reading any string of that
 * file then never returns (h5py hangs too; found by tests/fuzz). h5wasm is synchronous, so a hung
 * read cannot be interrupted in the worker.
 *
 * So every collection HDF5 loads is walked first exactly as HDF5 will walk it (HDF5 2.0
 * `H5HG__cache_heap_deserialize`, with wasm's 32-bit size_t), and the file is refused if the walk
 * would not move forward. Candidates that HDF5 would reject by itself (wrong version) are left to
 * HDF5, which fails cleanly on them.
 *
 * Where the collections are: HDF5 loads a collection through its metadata cache, which reads it
 * from the file at the collection's own address (global heaps bypass the metadata accumulator:
 * `H5F_block_read` treats them as raw data; h5wasm opens files without a page buffer), so that
 * read's first bytes are the signature. The only other way a collection reaches the cache is a
 * metadata cache image (a block of cached entries stored in the file), which needs a superblock
 * extension. `watchGlobalHeaps` therefore watches the reads HDF5 makes while a file is read,
 * checks each one that starts with "GCOL", and fails that read (EIO) when the collection is
 * damaged, so HDF5 stops with an error instead of looping; only files whose superblock has an
 * extension get the whole-file scan (`assertGlobalHeapsSound`) up front. Either way no collection
 * HDF5 reads goes unchecked, and a normal file costs no extra pass over its bytes (the scan used to
 * read the whole file a second time before every load: about a fifth of the load time).
 */
import { baseName, fileSize, type H5Runtime } from "./h5.ts";
import { HdmeaError } from "../core/failure.ts";

const MAGIC = [0x47, 0x43, 0x4f, 0x4c]; // "GCOL"
const HEADER = 16; // magic, version, 3 reserved, collection size (8)
const OBJECT_HEADER = 16; // index (2), refcount (2), reserved (4), size (8)
const SCAN_SLICE = 8 << 20;
/** Collections bigger than this are walked header by header instead of read whole. */
const WHOLE_READ = 16 << 20;
const TWO_32 = 4294967296;
const EIO = 29; // Emscripten (wasi) errno

export interface HeapScan {
  collections: number;
  bytesScanned: number;
}

type Reader = (at: number, length: number) => Uint8Array;

function refusal(name: string, at: number, problem: string): Error {
  return new HdmeaError(
    `${name}: damaged string storage (global heap at byte ${at}: ${problem}); ` +
      `HDF5 would never finish reading it, so the file is refused — it may be truncated or damaged`,
    "damaged-file",
    name,
  );
}

/**
 * Throws `NAME: …` if a global heap collection anywhere in the file would make HDF5 loop forever.
 * A full pass over the file: `watchGlobalHeaps` uses it only where a read-time check cannot see
 * every collection.
 */
export function assertGlobalHeapsSound(rt: H5Runtime, path: string): HeapScan {
  const name = baseName(path);
  const size = fileSize(rt, path);
  const stream = rt.fs.open(path, "r");
  try {
    const read = streamReader((buf, at) => rt.fs.read(stream, buf, 0, buf.length, at));
    let collections = 0;
    // Slices overlap by 3 bytes so a signature split across two slices is still found.
    for (let start = 0; start < size; start += SCAN_SLICE - 3) {
      const slice = read(start, Math.min(SCAN_SLICE, size - start));
      for (let i = slice.indexOf(MAGIC[0]); i !== -1 && i + 4 <= slice.length; i = slice.indexOf(MAGIC[0], i + 1)) {
        if (slice[i + 1] !== MAGIC[1] || slice[i + 2] !== MAGIC[2] || slice[i + 3] !== MAGIC[3]) continue;
        const at = start + i;
        const problem = walkCollection(read, at);
        if (problem === "not a collection") continue;
        collections++;
        if (problem) throw refusal(name, at, problem);
      }
      if (start + slice.length >= size) break;
    }
    return { collections, bytesScanned: size };
  } finally {
    rt.fs.close(stream);
  }
}

export interface HeapWatch {
  /** Set once a damaged collection was found (HDF5's read of it failed): the error to report. */
  readonly refusal: Error | undefined;
  /** Throws `refusal` if set. */
  assertSound(): void;
  /** Stops watching. */
  release(): void;
}

/** Emscripten's `FS.read` (the one call HDF5's positioned reads go through, in every file system). */
type FsRead = (stream: { path?: string; position?: number }, buffer: Uint8Array, offset: number, length: number, position?: number) => number;

/**
 * Checks every global heap collection HDF5 loads while the watch is on (see the top of the file);
 * throws at once, naming the file, if the file needs the full scan and the scan finds damage.
 * Release it when the reading is over (the watch is one wrapper around `FS.read`).
 */
export function watchGlobalHeaps(rt: H5Runtime, path: string): HeapWatch {
  const name = baseName(path);
  if (mayHoldCacheImage(rt, path)) assertGlobalHeapsSound(rt, path);
  const fs = rt.fs as unknown as { read: FsRead; ErrnoError: new (errno: number) => Error };
  const original = fs.read;
  const checked = new Map<string, string | undefined>();
  let found: Error | undefined;
  const watched: FsRead = function (this: unknown, stream, buffer, offset, length, position) {
    const at = typeof position === "number" ? position : (stream.position ?? 0);
    const n = original.call(this, stream, buffer, offset, length, position);
    if (n >= 4 && buffer[offset] === MAGIC[0] && buffer[offset + 1] === MAGIC[1] && buffer[offset + 2] === MAGIC[2] && buffer[offset + 3] === MAGIC[3]) {
      const key = `${stream.path ?? ""}:${at}`;
      if (!checked.has(key)) {
        const read = streamReader((buf, from) => original.call(this, stream, buf, 0, buf.length, from));
        checked.set(key, walkCollection(read, at));
      }
      const problem = checked.get(key);
      if (problem && problem !== "not a collection") {
        found ??= refusal(name, at, problem);
        // HDF5 gets a failed read instead of the collection and returns an error (no loop).
        throw new fs.ErrnoError(EIO);
      }
    }
    return n;
  };
  fs.read = watched;
  return {
    get refusal() {
      return found;
    },
    assertSound() {
      if (found) throw found;
    },
    release() {
      if (fs.read === watched) fs.read = original;
    },
  };
}

/**
 * Whether the file could carry a metadata cache image (collections inside it are loaded without a
 * read at their own address): only through a superblock extension. True when in doubt; false when
 * there is no HDF5 signature at all (HDF5 will not open the file).
 */
function mayHoldCacheImage(rt: H5Runtime, path: string): boolean {
  const size = fileSize(rt, path);
  const stream = rt.fs.open(path, "r");
  try {
    const head = new Uint8Array(64);
    // HDF5 looks for its signature at 0, 512, 1024, 2048, … and uses the first it finds.
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      const n = rt.fs.read(stream, head, 0, head.length, at);
      if (n < 8 || !SIGNATURE.every((b, i) => head[i] === b)) continue;
      const version = head[8];
      // Versions 0 and 1 keep the extension address where the free-space address once was.
      const offsetsSize = version <= 1 ? head[13] : version <= 3 ? head[9] : 0;
      const extAt = version === 0 ? 24 : version === 1 ? 28 : 12;
      if (![2, 4, 8].includes(offsetsSize) || n < extAt + 2 * offsetsSize) return true;
      const ext = head.subarray(extAt + offsetsSize, extAt + 2 * offsetsSize);
      return !ext.every((b) => b === 0xff); // undefined address: all bits set
    }
    return false; // no signature: HDF5 will not open it
  } finally {
    rt.fs.close(stream);
  }
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Positioned reads that return fewer bytes only at the end of the file. */
function streamReader(readAt: (buf: Uint8Array, at: number) => number): Reader {
  return (at, length) => {
    const buf = new Uint8Array(Math.max(0, length));
    let done = 0;
    while (done < buf.length) {
      const n = readAt(buf.subarray(done), at + done);
      if (n <= 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  };
}

/** Why walking the collection at `at` would not terminate, "not a collection", or undefined if sound. */
function walkCollection(read: Reader, at: number): string | undefined {
  const header = read(at, HEADER);
  // HDF5 checks the magic and version 1 itself and fails cleanly on anything else.
  if (header.length < HEADER || header[4] !== 1) return "not a collection";
  // size_t is 32 bits in wasm: H5F_DECODE_LENGTH keeps the low word.
  const heapSize = u32(header, 8);
  if (heapSize < HEADER) return "not a collection";
  const end = heapSize; // offsets below are relative to the collection start
  // Past the end of the file the read comes back short, and so do the object headers read from it.
  const whole = heapSize <= WHOLE_READ ? read(at, heapSize) : undefined;
  const objectHeader = (p: number): Uint8Array => (whole ? whole.subarray(p, p + OBJECT_HEADER) : read(at + p, OBJECT_HEADER));
  let p = HEADER;
  for (let objects = 0; p < end; objects++) {
    if (p + OBJECT_HEADER > end) return undefined; // HDF5 takes the tail as free space
    const h = objectHeader(p);
    // Past the end of the file HDF5 fails its read cleanly before walking.
    if (h.length < OBJECT_HEADER) return undefined;
    const index = h[0] | (h[1] << 8);
    const objectSize = u32(h, 8);
    // H5HG_ALIGN rounds up to 8 in size_t arithmetic, which can wrap to a small value.
    const aligned = Math.floor(((objectSize + 7) % TWO_32) / 8) * 8;
    const need = index > 0 ? (OBJECT_HEADER + aligned) % TWO_32 : objectSize;
    if (need === 0) return `object ${objects} (index ${index}) has size 0`;
    // An advance past 2^31 can wrap the wasm address space and land behind the object.
    if (need >= 2 ** 31) return `object ${objects} (index ${index}) has size ${objectSize}`;
    p += need;
  }
  return undefined;
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}
