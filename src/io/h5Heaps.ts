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
 * So before a reader touches strings it scans the file for collections and walks each one exactly
 * as HDF5 will (HDF5 2.0 `H5HG__cache_heap_deserialize`, with wasm's 32-bit size_t), refusing the
 * file if the walk would not move forward. Candidates that HDF5 would reject by itself (wrong
 * version) are left to HDF5, which fails cleanly on them.
 */
import { baseName, fileSize, type H5Runtime } from "./h5.ts";

const MAGIC = [0x47, 0x43, 0x4f, 0x4c]; // "GCOL"
const HEADER = 16; // magic, version, 3 reserved, collection size (8)
const OBJECT_HEADER = 16; // index (2), refcount (2), reserved (4), size (8)
const SCAN_SLICE = 8 << 20;
/** Collections bigger than this are walked header by header instead of read whole. */
const WHOLE_READ = 16 << 20;
const TWO_32 = 4294967296;

export interface HeapScan {
  collections: number;
  bytesScanned: number;
}

/** Throws `NAME: …` if a global heap collection in the file would make HDF5 loop forever. */
export function assertGlobalHeapsSound(rt: H5Runtime, path: string): HeapScan {
  const name = baseName(path);
  const size = fileSize(rt, path);
  const stream = rt.fs.open(path, "r");
  try {
    const read = (at: number, length: number): Uint8Array => {
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - at)));
      let done = 0;
      while (done < buf.length) {
        const n = rt.fs.read(stream, buf, done, buf.length - done, at + done);
        if (n <= 0) break;
        done += n;
      }
      return buf.subarray(0, done);
    };
    let collections = 0;
    // Slices overlap by 3 bytes so a signature split across two slices is still found.
    for (let start = 0; start < size; start += SCAN_SLICE - 3) {
      const slice = read(start, SCAN_SLICE);
      for (let i = slice.indexOf(MAGIC[0]); i !== -1 && i + 4 <= slice.length; i = slice.indexOf(MAGIC[0], i + 1)) {
        if (slice[i + 1] !== MAGIC[1] || slice[i + 2] !== MAGIC[2] || slice[i + 3] !== MAGIC[3]) continue;
        const at = start + i;
        const problem = walkCollection(read, at, size);
        if (problem === "not a collection") continue;
        collections++;
        if (problem) {
          throw new Error(
            `${name}: damaged string storage (global heap at byte ${at}: ${problem}); ` +
              `HDF5 would never finish reading it, so the file is refused — it may be truncated or damaged`,
          );
        }
      }
      if (start + slice.length >= size) break;
    }
    return { collections, bytesScanned: size };
  } finally {
    rt.fs.close(stream);
  }
}

/** Why walking the collection at `at` would not terminate, "not a collection", or undefined if sound. */
function walkCollection(read: (at: number, length: number) => Uint8Array, at: number, fileSize: number): string | undefined {
  const header = read(at, HEADER);
  // HDF5 checks the magic and version 1 itself and fails cleanly on anything else.
  if (header.length < HEADER || header[4] !== 1) return "not a collection";
  // size_t is 32 bits in wasm: H5F_DECODE_LENGTH keeps the low word.
  const heapSize = u32(header, 8);
  if (heapSize < HEADER) return "not a collection";
  const end = heapSize; // offsets below are relative to the collection start
  const whole = heapSize <= WHOLE_READ && at + heapSize <= fileSize ? read(at, heapSize) : undefined;
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
