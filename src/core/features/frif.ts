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
    const { rates } = firingRatePerFrame(int64ToFloat64(unit.spikeTimes), t, rate);
    return { FRIF: new NDArray(rates), FRIF_x_axis: sharedIntervalStarts(t, rate) };
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
  const n = Math.max(0, frames.length - 1);
  const sorted = sortIfNeeded(Float64Array.from(spikes)); // a copy: the caller's array is not reordered
  const rates = new Float32Array(n);
  const starts = new Float64Array(n);
  // Frame times only grow, so lowerBound(frames[i]) only moves forward: one merge pass over frames
  // and spikes (O(frames + spikes)) instead of two binary searches per frame.
  let monotone = true;
  for (let i = 1; i < frames.length && monotone; i++) monotone = frames[i] >= frames[i - 1];
  let lo = monotone && n > 0 ? lowerBound(sorted, frames[0]) : 0;
  for (let i = 0; i < n; i++) {
    starts[i] = frames[i] / rate;
    const seconds = (frames[i + 1] - frames[i]) / rate;
    let hi: number;
    if (monotone) {
      hi = lo;
      while (hi < sorted.length && sorted[hi] < frames[i + 1]) hi++;
    } else {
      lo = lowerBound(sorted, frames[i]);
      hi = lowerBound(sorted, frames[i + 1]);
    }
    if (seconds > 0) rates[i] = (hi - lo) / seconds;
    lo = hi;
  }
  return { rates, starts };
}
