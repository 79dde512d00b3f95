/**
 * Spike-triggered average of a stimulus movie (domain brief §3.4), as the original's
 * `_compute_sta_for_unit`: a spike at movie frame f is kept if `f + cover[0] ≥ 0` and
 * `f + cover[1] ≤ n_frames`; its window is frames `[f + cover[0], f + cover[1])`; the STA is the plain
 * mean of the raw pixel values over kept spikes, float32 [window, H, W], all NaN when none is kept.
 *
 * Bounded memory: spikes are first counted per movie frame, then each distinct spike frame adds
 * `count × window` to one float64 sum. Nothing per spike is materialised (the original builds an
 * [n_spikes, window, H, W] array), and the sum of integer pixel values is exact, so the result equals
 * numpy's float64 mean rounded to float32.
 */
import type { NDArray, NumericArray } from "./ndarray.ts";

export interface StaResult {
  sta: Float32Array;
  shape: [number, number, number];
  used: number;
  excluded: number;
}

export function spikeTriggeredAverage(spikeFrames: ArrayLike<number>, movie: NDArray, coverRange: readonly [number, number]): StaResult {
  const [nFrames, height, width] = movieShape(movie);
  const [a, b] = coverRange;
  const window = b - a;
  const pixels = height * width;
  const data = movie.data as Exclude<NumericArray, BigInt64Array | BigUint64Array>;

  // counts[f] for the valid spike frames f ∈ [−a, nFrames − b]
  const firstValid = -a;
  const lastValid = nFrames - b;
  const counts = new Uint32Array(Math.max(0, lastValid - firstValid + 1));
  let used = 0;
  for (let i = 0; i < spikeFrames.length; i++) {
    const f = spikeFrames[i];
    if (f + a >= 0 && f + b <= nFrames) {
      counts[f - firstValid]++;
      used++;
    }
  }
  const excluded = spikeFrames.length - used;
  const sta = new Float32Array(window * pixels);
  if (used === 0) {
    sta.fill(Number.NaN);
    return { sta, shape: [window, height, width], used, excluded };
  }
  const sum = new Float64Array(window * pixels);
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k];
    if (c === 0) continue;
    const f = k + firstValid;
    for (let lag = 0; lag < window; lag++) {
      const src = (f + a + lag) * pixels;
      const dst = lag * pixels;
      for (let p = 0; p < pixels; p++) sum[dst + p] += c * data[src + p];
    }
  }
  for (let i = 0; i < sum.length; i++) sta[i] = sum[i] / used;
  return { sta, shape: [window, height, width], used, excluded };
}

/** [frames, H, W] of a stimulus movie, or an error saying what is wrong with it. */
export function movieShape(movie: NDArray): [number, number, number] {
  if (movie.shape.length !== 3) throw new Error(`the stimulus movie must be [frames, height, width], got shape [${movie.shape.join(", ")}]`);
  if (movie.data instanceof BigInt64Array || movie.data instanceof BigUint64Array) {
    throw new Error(`the stimulus movie has 64-bit integer pixels (${movie.dtype}); expected uint8`);
  }
  return [movie.shape[0], movie.shape[1], movie.shape[2]];
}
