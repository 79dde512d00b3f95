import { TYPED_ARRAY_BY_DTYPE, elementCount, type NDArray, type NumericArray } from "./ndarray.ts";

/**
 * Light template: the mean light-reference trace over a movie's occurrences, as the original's
 * `np.nanmean(zip_longest(*traces, fillvalue=nan), axis=1).astype(float32)` — traces of different
 * lengths are NaN-padded to the longest, NaNs are ignored, a sample with no value at all is NaN.
 */
export function nanMeanTemplate(traces: readonly ArrayLike<number>[]): Float32Array {
  let longest = 0;
  for (const t of traces) longest = Math.max(longest, t.length);
  const sum = new Float64Array(longest);
  const count = new Uint32Array(longest);
  for (const t of traces) {
    for (let i = 0; i < t.length; i++) {
      const v = t[i];
      if (Number.isNaN(v)) continue;
      sum[i] += v;
      count[i]++;
    }
  }
  const out = new Float32Array(longest);
  for (let i = 0; i < longest; i++) out[i] = count[i] ? sum[i] / count[i] : Number.NaN;
  return out;
}

/**
 * A trace read by sample ranges: an hour's `raw_ch1` (288 MB) may stay in its source file, and
 * the section checks and light templates need only the sections' ranges of it.
 */
export interface TraceRanges {
  readonly length: number;
  /** Samples `[start, end)`, bounds clipped as `sliceSignal` clips them. */
  slice(start: number, end: number): ArrayLike<number>;
}

/** `array` (read flat) as ranges: a view when in memory, else only the range is read. 64-bit integers come as float64. */
export function traceRanges(array: NDArray): TraceRanges {
  const length = elementCount(array.shape);
  const wide = array.dtype === "int64" || array.dtype === "uint64";
  return {
    length,
    slice(start, end) {
      const s = Math.max(0, Math.min(start, length));
      const e = Math.max(s, Math.min(end, length));
      const part = array.isResident
        ? (array.data.subarray(s, e) as NumericArray)
        : array.elementsAt(s, new TYPED_ARRAY_BY_DTYPE[array.dtype](e - s) as NumericArray);
      return wide ? Float64Array.from(part as ArrayLike<number | bigint>, Number) : (part as ArrayLike<number>);
    },
  };
}

/** `signal[start:end]` with the bounds clipped to the signal, as a view (no copy). */
export function sliceSignal(signal: ArrayLike<number>, start: number, end: number): ArrayLike<number> {
  const s = Math.max(0, Math.min(start, signal.length));
  const e = Math.max(s, Math.min(end, signal.length));
  if (ArrayBuffer.isView(signal)) return (signal as unknown as Float32Array).subarray(s, e);
  return Array.prototype.slice.call(signal, s, e) as number[];
}
