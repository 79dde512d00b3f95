/**
 * A scratch store for a session's largest arrays once the session passes its memory budget.
 *
 * The bytes go to a scratch file (browser storage in the worker, a temporary file in Node: see
 * `ScratchBytes`), and a spilled `NDArray` reads them back on demand. Reads are synchronous because
 * HDF5 writes and the pipeline steps are; a small LRU cache keeps repeated access to the same
 * arrays (a step looping over units) from rereading the file. The store is not the user's file:
 * a session with spilled arrays is saved exactly as one without.
 *
 * Space is not reused: an array replaced by a re-run step leaves a hole until the store closes
 * (the session closes), which bounds the file at what the session produced, not what it holds.
 */
import { TYPED_ARRAY_BY_DTYPE, dtypeOf, type DType, type NumericArray } from "./ndarray.ts";

/** A random-access byte file the store owns; deleted by `close`. */
export interface ScratchBytes {
  /** Where the bytes are, for messages (`browser storage`, `/tmp/hdmea-spill-…`). */
  readonly location: string;
  write(bytes: Uint8Array, position: number): void;
  /** Fills all of `into` from `position`; throws if the file is shorter. */
  read(into: Uint8Array, position: number): void;
  close(): void;
}

/** Where one array's bytes are in the store. */
export interface SpillSlot {
  readonly offset: number;
  readonly byteLength: number;
  readonly dtype: DType;
}

/** Bytes written per call: big enough to be cheap, small enough to stay out of the way. */
const WRITE_SLICE_BYTES = 16 << 20;
export const DEFAULT_SPILL_CACHE_BYTES = 64 << 20;

export class SpillStore {
  /** Bytes of arrays currently spilled (holes from replaced arrays are not counted). */
  liveBytes = 0;
  private end = 0;
  private closed = false;
  // Map iteration order is insertion order: the first entry is the least recently used.
  private cache = new Map<SpillSlot, NumericArray>();
  private cachedBytes = 0;

  constructor(
    private readonly file: ScratchBytes,
    private readonly cacheBytes = DEFAULT_SPILL_CACHE_BYTES,
  ) {}

  get location(): string {
    return this.file.location;
  }

  /** Bytes the scratch file takes (live arrays and holes). */
  get fileBytes(): number {
    return this.end;
  }

  put(data: NumericArray): SpillSlot {
    this.assertOpen();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const slot: SpillSlot = { offset: this.end, byteLength: data.byteLength, dtype: dtypeOf(data) };
    for (let at = 0; at < bytes.length; at += WRITE_SLICE_BYTES) {
      this.file.write(bytes.subarray(at, Math.min(bytes.length, at + WRITE_SLICE_BYTES)), slot.offset + at);
    }
    // Keep the next array 8-byte aligned in the file, so reads could map it directly.
    this.end += Math.ceil(data.byteLength / 8) * 8;
    this.liveBytes += data.byteLength;
    return slot;
  }

  /** The whole array (cached; callers treat it as read-only, as all session arrays are). */
  read(slot: SpillSlot): NumericArray {
    const hit = this.cache.get(slot);
    if (hit) {
      this.cache.delete(slot);
      this.cache.set(slot, hit);
      return hit;
    }
    const Ctor = TYPED_ARRAY_BY_DTYPE[slot.dtype];
    const data = new Ctor(slot.byteLength / Ctor.BYTES_PER_ELEMENT) as NumericArray;
    this.readBytes(slot, 0, new Uint8Array(data.buffer));
    this.remember(slot, data);
    return data;
  }

  /** Part of an array's bytes, uncached: what a sliced save of a big array reads. */
  readBytes(slot: SpillSlot, byteOffset: number, into: Uint8Array): void {
    this.assertOpen();
    if (byteOffset < 0 || byteOffset + into.byteLength > slot.byteLength) {
      throw new RangeError(`spill store: bytes ${byteOffset}…${byteOffset + into.byteLength} are outside an array of ${slot.byteLength}`);
    }
    this.file.read(into, slot.offset + byteOffset);
  }

  /** The array no longer needs its bytes (it was replaced or read back into memory). */
  release(slot: SpillSlot): void {
    this.liveBytes -= slot.byteLength;
    const hit = this.cache.get(slot);
    if (hit) {
      this.cache.delete(slot);
      this.cachedBytes -= hit.byteLength;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    this.cachedBytes = 0;
    this.file.close();
  }

  private remember(slot: SpillSlot, data: NumericArray): void {
    this.cache.set(slot, data);
    this.cachedBytes += data.byteLength;
    // The newest entry always stays, even past the limit: a loop over one big array must not reread it.
    for (const [old, value] of this.cache) {
      if (this.cachedBytes <= this.cacheBytes || old === slot) break;
      this.cache.delete(old);
      this.cachedBytes -= value.byteLength;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`the scratch store in ${this.file.location} is closed (its session was closed)`);
  }
}
