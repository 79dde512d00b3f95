/**
 * Min/max envelopes: a long trace reduced to what a plot of a given width draws. Each bucket keeps
 * its minimum and its maximum, in the order they occur, so a line through the points draws the same
 * ink as the full trace at that pixel width (peaks and flashes are never averaged away).
 *
 * An hour's light reference is 72 M samples (288 MB) that stay in their source file. Reading them
 * all for every redraw would cost seconds each time, so `TraceOverview` reads the trace once, a slice
 * at a time, into a fine envelope (`OVERVIEW_BUCKETS`), and answers wide views from it; a zoomed
 * view reads only its own range, a slice at a time. Memory stays at a few MB whatever the length.
 */
import { TYPED_ARRAY_BY_DTYPE, elementCount, type NDArray, type NumericArray } from "./ndarray.ts";

/** A trace reduced for plotting: x in the signal's index units, y its values. */
export interface EnvelopeTrace {
  x: Float64Array;
  y: Float32Array;
}

/** Builds the envelope of samples `[start, end)` in `buckets` buckets from samples given in index order. */
class EnvelopeBuilder {
  readonly #lo: number;
  readonly #n: number;
  readonly #buckets: number;
  readonly #x: Float64Array;
  readonly #y: Float32Array;
  #bucket = 0;
  #bucketEnd: number;
  #iMin = -1;
  #vMin = 0;
  #iMax = -1;
  #vMax = 0;

  constructor(lo: number, hi: number, buckets: number) {
    this.#lo = lo;
    this.#n = hi - lo;
    this.#buckets = buckets;
    this.#x = new Float64Array(2 * buckets);
    this.#y = new Float32Array(2 * buckets);
    this.#bucketEnd = this.#boundary(1);
  }

  #boundary(k: number): number {
    return this.#lo + Math.floor((k * this.#n) / this.#buckets);
  }

  /** Sample `value` at `index`; indices must increase from call to call. */
  add(index: number, value: number): void {
    while (index >= this.#bucketEnd && this.#bucket < this.#buckets - 1) this.#close();
    if (this.#iMin < 0) {
      this.#iMin = this.#iMax = index;
      this.#vMin = this.#vMax = value;
      return;
    }
    if (value < this.#vMin) (this.#iMin = index), (this.#vMin = value);
    if (value > this.#vMax) (this.#iMax = index), (this.#vMax = value);
  }

  #close(): void {
    const k = this.#bucket;
    // A bucket no sample fell in (only when reading from a coarser envelope) repeats the last point.
    if (this.#iMin < 0) {
      const last = Math.max(0, 2 * k - 1);
      this.#x[2 * k] = this.#x[2 * k + 1] = this.#x[last];
      this.#y[2 * k] = this.#y[2 * k + 1] = this.#y[last];
    } else {
      const minFirst = this.#iMin <= this.#iMax;
      this.#x[2 * k] = minFirst ? this.#iMin : this.#iMax;
      this.#y[2 * k] = minFirst ? this.#vMin : this.#vMax;
      this.#x[2 * k + 1] = minFirst ? this.#iMax : this.#iMin;
      this.#y[2 * k + 1] = minFirst ? this.#vMax : this.#vMin;
    }
    this.#bucket++;
    this.#bucketEnd = this.#boundary(this.#bucket + 1);
    this.#iMin = this.#iMax = -1;
  }

  result(): EnvelopeTrace {
    while (this.#bucket < this.#buckets) this.#close();
    return { x: this.#x, y: this.#y };
  }
}

/** The index range `[start, end)` clamped to a trace of `length` samples. */
function clampRange(length: number, start: number, end: number): [number, number] {
  const lo = Math.max(0, Math.floor(start));
  return [lo, Math.max(lo, Math.min(length, Math.ceil(end)))];
}

/** Samples `[lo, hi)` as they are, for ranges that already fit the plot. */
function rawPoints(signal: ArrayLike<number>, lo: number, hi: number): EnvelopeTrace {
  const n = hi - lo;
  const x = new Float64Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = lo + i;
    y[i] = signal[lo + i];
  }
  return { x, y };
}

/** Min/max envelope of `signal[start, end)` in `buckets` buckets; ranges that already fit are returned as they are. */
export function minMaxEnvelope(signal: ArrayLike<number>, start: number, end: number, buckets: number): EnvelopeTrace {
  const [lo, hi] = clampRange(signal.length, start, end);
  const b = Math.max(1, Math.floor(buckets));
  if (hi - lo <= 2 * b) return rawPoints(signal, lo, hi);
  const builder = new EnvelopeBuilder(lo, hi, b);
  for (let i = lo; i < hi; i++) builder.add(i, signal[i]);
  return builder.result();
}

/** Samples in one read from a trace left in its file: 4 MB of float32. */
const SLICE_SAMPLES = 1 << 20;
/** Buckets of the overview (262,144 points, 3 MB): a 2,000-pixel view of an hour reads from it. */
export const OVERVIEW_BUCKETS = 1 << 17;
/** A view whose buckets each span at least this many overview buckets is drawn from the overview. */
const OVERVIEW_SPAN = 4;

/**
 * Calls `each(values, first)` for consecutive slices of samples `[lo, hi)` of an array (read flat), reading
 * one slice at a time into one buffer (an array in memory is handed over whole). `pause` runs between
 * slices, so a worker can answer other calls during a long read.
 */
async function forEachSlice(array: NDArray, lo: number, hi: number, each: (values: NumericArray, first: number) => void, pause?: () => Promise<void>): Promise<void> {
  if (array.isResident) {
    each(array.data.subarray(lo, hi) as NumericArray, lo);
    return;
  }
  const Ctor = TYPED_ARRAY_BY_DTYPE[array.dtype];
  const buffer = new Ctor(Math.min(SLICE_SAMPLES, hi - lo)) as NumericArray;
  for (let from = lo; from < hi; from += SLICE_SAMPLES) {
    each(array.elementsAt(from, buffer.subarray(0, Math.min(SLICE_SAMPLES, hi - from)) as NumericArray), from);
    if (pause && from + SLICE_SAMPLES < hi) await pause();
  }
}

/** The envelope of a numeric array's samples (read flat) `[start, end)`, read a slice at a time. */
export async function arrayEnvelope(array: NDArray, start: number, end: number, buckets: number, pause?: () => Promise<void>): Promise<EnvelopeTrace> {
  const [lo, hi] = clampRange(elementCount(array.shape), start, end);
  const b = Math.max(1, Math.floor(buckets));
  if (hi - lo <= 2 * b) {
    const x = new Float64Array(hi - lo);
    const y = new Float32Array(hi - lo);
    await forEachSlice(array, lo, hi, (values, first) => {
      for (let j = 0; j < values.length; j++) (x[first - lo + j] = first + j), (y[first - lo + j] = values[j] as number);
    });
    return { x, y };
  }
  const builder = new EnvelopeBuilder(lo, hi, b);
  await forEachSlice(array, lo, hi, (values, first) => {
    for (let j = 0; j < values.length; j++) builder.add(first + j, values[j] as number);
  }, pause);
  return builder.result();
}

/**
 * A long trace's envelopes, from one read of it: wide views come from a fine overview envelope
 * (built on first use), zoomed views read just their range.
 */
export class TraceOverview {
  readonly #array: NDArray;
  readonly #length: number;
  #overview: Promise<EnvelopeTrace> | undefined;

  constructor(array: NDArray) {
    this.#array = array;
    this.#length = elementCount(array.shape);
  }

  async envelope(start: number, end: number, buckets: number, pause?: () => Promise<void>): Promise<EnvelopeTrace> {
    const [lo, hi] = clampRange(this.#length, start, end);
    const b = Math.max(1, Math.floor(buckets));
    const overviewBucket = this.#length / OVERVIEW_BUCKETS;
    if (this.#length <= 2 * OVERVIEW_BUCKETS || (hi - lo) / b < OVERVIEW_SPAN * overviewBucket) {
      return arrayEnvelope(this.#array, lo, hi, b, pause);
    }
    this.#overview ??= arrayEnvelope(this.#array, 0, this.#length, OVERVIEW_BUCKETS, pause);
    const overview = await this.#overview.catch((error: unknown) => {
      this.#overview = undefined; // a failed read (a moved file) is tried again next time
      throw error;
    });
    // The overview's points are samples of the trace: the envelope of those inside the range.
    const builder = new EnvelopeBuilder(lo, hi, b);
    for (let i = 0; i < overview.x.length; i++) {
      const at = overview.x[i];
      if (at >= lo && at < hi) builder.add(at, overview.y[i]);
    }
    return builder.result();
  }
}
