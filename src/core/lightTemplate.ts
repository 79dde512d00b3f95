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

/** `signal[start:end]` with the bounds clipped to the signal, as a view (no copy). */
export function sliceSignal(signal: ArrayLike<number>, start: number, end: number): ArrayLike<number> {
  const s = Math.max(0, Math.min(start, signal.length));
  const e = Math.max(s, Math.min(end, signal.length));
  if (ArrayBuffer.isView(signal)) return (signal as unknown as Float32Array).subarray(s, e);
  return Array.prototype.slice.call(signal, s, e) as number[];
}
