/**
 * `frif` — firing rate per inter-frame interval: for each pair of consecutive frame timestamps, the
 * unit's spikes in `[t_i, t_{i+1})` divided by the interval's length in seconds.
 *
 * Outputs: `FRIF` float32 Hz [n_frames − 1] (0 where an interval has zero length) and `FRIF_x_axis`
 * float64 s [n_frames − 1], the interval starts `t_i / rate`.
 *
 * Deliberate fix (trap 1): the original converted the frame times to µs and compared them with
 * `spike_times`, which are SAMPLE indices, so every rate came out of the wrong interval (×50 off in
 * time at 20 kHz). Here both sides are samples.
 */
import { lowerBound } from "../frameClock.ts";
import { NDArray } from "../ndarray.ts";
import { sparseArray } from "../sparseArray.ts";
import type { FeatureExtractor } from "./featureExtractor.ts";
import { int64ToFloat64 } from "./int64Numbers.ts";
import { sortIfNeeded } from "./sectionedTrials.ts";

export const frif: FeatureExtractor = {
  name: "frif",
  version: "2.0.0", // 1.0.0 is the lab's µs-vs-samples version; 2.0.0 compares in samples
  description: "Firing rate in each interval between consecutive display frames",
  requires: { session: ["metadata/frame_timestamps", "metadata/acquisition_rate"], unit: ["spike_times"] },
  outputs: {
    FRIF: { dtype: "float32", shape: "[n_frames - 1]", unit: "Hz", description: "spikes per second in each inter-frame interval" },
    FRIF_x_axis: { dtype: "float64", shape: "[n_frames - 1]", unit: "s", description: "start of each interval" },
  },
  check: (ctx) => {
    if (!ctx.frameTimestamps || ctx.frameTimestamps.length < 2) return "needs at least 2 frame timestamps";
    if (!(ctx.acquisitionRate! > 0)) return "needs a positive acquisition rate";
    return undefined;
  },
  extract: (unit, ctx) => {
    const t = ctx.frameTimestamps!;
    const rate = ctx.acquisitionRate!;
    // `int64ToFloat64` gives a fresh array: sorted in place, not copied again.
    const rates = frameRates(sortIfNeeded(int64ToFloat64(unit.spikeTimes)), t, rate);
    return { FRIF: sparseArray(Math.max(0, t.length - 1), rates.indices, rates.values), FRIF_x_axis: sharedIntervalStarts(t, rate) };
  },
};

/**
 * The interval starts depend on the frames alone, so every unit of one run gets the same array
 * (written per unit, as the layout asks, but held once: 1.4 MB a unit for an hour at 60 Hz).
 */
const startsByFrames = new WeakMap<Float64Array, { rate: number; starts: NDArray<Float64Array> }>();

function sharedIntervalStarts(frames: Float64Array, rate: number): NDArray<Float64Array> {
  const cached = startsByFrames.get(frames);
  if (cached?.rate === rate) return cached.starts;
  const starts = new Float64Array(Math.max(0, frames.length - 1));
  for (let i = 0; i < starts.length; i++) starts[i] = frames[i] / rate;
  const shared = { rate, starts: new NDArray(starts) };
  startsByFrames.set(frames, shared);
  return shared.starts;
}

/** Rates in `[t_i, t_{i+1})` for spikes and frames both in samples (spikes need not be sorted). */
export function firingRatePerFrame(spikes: Float64Array, frames: Float64Array, rate: number): { rates: Float32Array; starts: Float64Array } {
  const starts = new Float64Array(Math.max(0, frames.length - 1));
  for (let i = 0; i < starts.length; i++) starts[i] = frames[i] / rate;
  // A copy: the caller's array is not reordered.
  const { indices, values } = frameRates(sortIfNeeded(Float64Array.from(spikes)), frames, rate);
  return { rates: sparseArray(starts.length, indices, values).data, starts };
}

/** Whether each frame time is at least the one before (they are, unless the session is damaged); known per run. */
const monotoneFrames = new WeakMap<Float64Array, boolean>();

function isMonotone(frames: Float64Array): boolean {
  let monotone = monotoneFrames.get(frames);
  if (monotone === undefined) {
    monotone = true;
    for (let i = 1; i < frames.length && monotone; i++) monotone = frames[i] >= frames[i - 1];
    monotoneFrames.set(frames, monotone);
  }
  return monotone;
}

/**
 * Rates in `[t_i, t_{i+1})` for sorted spikes, as the intervals that have any (ascending) and their
 * rates: a unit fires far less often than frames change (an hour at 60 Hz is 211,740 intervals),
 * so most rates are 0 and the full array is built only when read (`sparseArray.ts`). With frame
 * times that only grow, one pass over the spikes: each goes to the first interval that ends after
 * it, and only intervals that got spikes are divided, so the work per unit is its spikes and a cheap
 * step over the frames.
 */
function frameRates(sorted: Float64Array, frames: Float64Array, rate: number): { indices: Uint32Array; values: Float32Array } {
  const n = Math.max(0, frames.length - 1);
  // At most one interval per spike has a rate.
  const most = Math.min(n, sorted.length);
  const indices = new Uint32Array(most);
  const values = new Float32Array(most);
  let kept = 0;
  const store = (i: number, count: number) => {
    const seconds = (frames[i + 1] - frames[i]) / rate;
    // 0 / length is 0: an interval without spikes, or of zero length, stays out.
    if (seconds > 0) {
      indices[kept] = i;
      values[kept++] = count / seconds;
    }
  };
  const done = () => ({ indices: indices.slice(0, kept), values: values.slice(0, kept) });
  if (n === 0) return done();
  if (!isMonotone(frames)) {
    for (let i = 0; i < n; i++) {
      const count = lowerBound(sorted, frames[i + 1]) - lowerBound(sorted, frames[i]);
      if (count !== 0) store(i, count);
    }
    return done();
  }
  let i = 0;
  let count = 0;
  for (let k = lowerBound(sorted, frames[0]); k < sorted.length; k++) {
    const spike = sorted[k];
    if (!(spike < frames[i + 1])) {
      if (count) store(i, count);
      count = 0;
      do i++;
      while (i < n && !(spike < frames[i + 1]));
      if (i === n) break;
    }
    count++;
  }
  if (count) store(i, count);
  return done();
}
