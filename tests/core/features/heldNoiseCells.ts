/**
 * Simulated retinal cells driven by held-pattern binary dense noise, as the lab shows it: a pattern
 * changes at `patternHz` on a `displayHz` display (15 Hz on 60 Hz: each pattern held 4 display
 * frames), pixels 0 or 255. A cell is a linear–nonlinear–Poisson model: a Gaussian receptive field
 * (centre, σ, ON +1 or OFF −1) times a biphasic temporal kernel peaking `latencyFrames` display
 * frames before the spike, an exponential nonlinearity, and exactly `spikes` spike frames drawn in
 * proportion to the rate. Its STA is then computed with the pipeline's own `spikeTriggeredAverage`
 * (`compute_sta`'s arithmetic), so a test sees what `rf_geometry` sees on a real session.
 */
import { NDArray } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { spikeTriggeredAverage } from "../../../src/core/visualSta.ts";

export interface HeldNoiseMovie {
  movie: NDArray;
  /** Pattern shown at each display frame (0/1 per pixel), frames × pixels. */
  bits: Uint8Array;
  frames: number;
  height: number;
  width: number;
}

export function heldNoiseMovie(height: number, width: number, seconds: number, seed: number, displayHz = 60, patternHz = 15): HeldNoiseMovie {
  const hold = Math.round(displayHz / patternHz);
  const frames = Math.round(seconds * displayHz);
  const pixels = height * width;
  const rng = new Prng(seed);
  const bits = new Uint8Array(frames * pixels);
  const data = new Uint8Array(frames * pixels);
  for (let f = 0; f < frames; f += hold) {
    for (let p = 0; p < pixels; p++) {
      const b = rng.next() < 0.5 ? 0 : 1;
      for (let k = 0; k < hold && f + k < frames; k++) {
        bits[(f + k) * pixels + p] = b;
        data[(f + k) * pixels + p] = b * 255;
      }
    }
  }
  return { movie: new NDArray(data, [frames, height, width]), bits, frames, height, width };
}

export interface SimCell {
  row: number;
  col: number;
  sigma: number;
  polarity: 1 | -1;
  spikes: number;
  latencyFrames: number;
  /** Gain of the exponential nonlinearity on the unit-variance generator signal. */
  gain: number;
}

/** Biphasic kernel over lags (display frames before the spike frame), peak at `latency`. */
export function temporalKernel(lag: number, latency: number): number {
  return Math.exp(-(((lag - latency) / 1.5) ** 2)) - 0.35 * Math.exp(-(((lag - 2.5 * latency) / 3) ** 2));
}

/** Spike frames (movie-relative display frames, sorted) of one simulated cell. */
export function simulateSpikeFrames(m: HeldNoiseMovie, cell: SimCell, seed: number): Int32Array {
  const { frames, height, width, bits } = m;
  const pixels = height * width;
  const rf = new Float64Array(pixels);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) rf[r * width + c] = Math.exp(-((r - cell.row) ** 2 + (c - cell.col) ** 2) / (2 * cell.sigma ** 2));
  // Spatial drive per display frame: Σ_x RF(x)·(bit − ½)
  const spatial = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let s = 0;
    const row = f * pixels;
    for (let p = 0; p < pixels; p++) s += rf[p] * (bits[row + p] - 0.5);
    spatial[f] = s;
  }
  const maxLag = Math.ceil(4 * cell.latencyFrames + 10);
  const k = Float64Array.from({ length: maxLag + 1 }, (_, lag) => (lag === 0 ? 0 : temporalKernel(lag, cell.latencyFrames)));
  const drive = new Float64Array(frames);
  let mean = 0;
  for (let f = 0; f < frames; f++) {
    let s = 0;
    for (let lag = 1; lag <= maxLag && lag <= f; lag++) s += k[lag] * spatial[f - lag];
    drive[f] = cell.polarity * s;
    mean += drive[f];
  }
  mean /= frames;
  let sd = 0;
  for (let f = 0; f < frames; f++) sd += (drive[f] - mean) ** 2;
  sd = Math.sqrt(sd / frames) || 1;
  // Cumulative rate, then exactly `spikes` frames drawn from it (a Poisson process given the count).
  const cum = new Float64Array(frames);
  let total = 0;
  for (let f = 0; f < frames; f++) {
    total += f < maxLag ? 0 : 0.05 + Math.exp(cell.gain * ((drive[f] - mean) / sd));
    cum[f] = total;
  }
  const rng = new Prng(seed);
  const out = new Int32Array(cell.spikes);
  for (let i = 0; i < cell.spikes; i++) {
    const u = rng.next() * total;
    let lo = 0;
    let hi = frames - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out.sort();
}

/** The STA `compute_sta` would store for these spikes: float32 [60, H, W], window 60 frames before. */
export function simulatedSta(m: HeldNoiseMovie, spikeFrames: Int32Array): { sta: Float32Array; shape: [number, number, number] } {
  const r = spikeTriggeredAverage(spikeFrames, m.movie, [-60, 0]);
  return { sta: r.sta, shape: r.shape };
}
