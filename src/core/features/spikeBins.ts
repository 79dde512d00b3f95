/**
 * Binning spike times (s) into counts and rates, and windowed rates, for the response features.
 * Spikes must be sorted (as `movieTrials` returns them).
 */
import { countIn } from "./sectionedTrials.ts";

/** Counts in `nBins` bins of `width` from `t0`; spikes outside are ignored. */
export function binCounts(sorted: Float64Array, t0: number, width: number, nBins: number): Float64Array {
  const counts = new Float64Array(nBins);
  const end = t0 + nBins * width;
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i];
    if (t < t0 || t >= end) continue;
    const b = Math.min(nBins - 1, Math.floor((t - t0) / width));
    counts[b]++;
  }
  return counts;
}

/** Mean rate (Hz) over trials in `[a, b)`; NaN for an empty window. */
export function windowRate(trials: readonly Float64Array[], a: number, b: number): number {
  if (!(b > a) || !trials.length) return Number.NaN;
  let n = 0;
  for (const s of trials) n += countIn(s, a, b);
  return n / (trials.length * (b - a));
}

/** Trial-averaged rate (Hz) per bin of `width` over `[t0, t0 + nBins·width)`. */
export function psth(trials: readonly Float64Array[], t0: number, width: number, nBins: number): Float64Array {
  const sum = new Float64Array(nBins);
  for (const s of trials) {
    const c = binCounts(s, t0, width, nBins);
    for (let b = 0; b < nBins; b++) sum[b] += c[b];
  }
  for (let b = 0; b < nBins; b++) sum[b] /= trials.length * width;
  return sum;
}
