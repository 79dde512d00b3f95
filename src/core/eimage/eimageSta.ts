/**
 * The eimage STA ("electrical image"): per unit, the mean high-passed voltage movie of the whole
 * array around its spikes, [window, rows, cols] float64 — exactly as the lab's
 * `load_recording_with_eimage_sta` computes it (domain brief §3.1), legacy quirks included:
 *
 * - spikes: the first `spikeLimit` rows of raw `Peaks` (0 = all), IncludePeak NOT applied,
 *   `int(t_us / 1e6 · rate)` (truncated), only those < totalSamples = min(int(rate · duration), frames);
 * - chunks of int(rate · chunkDuration) samples; each is filtered on its own (zero-phase Butterworth,
 *   float64, then float32; or minus its per-electrode mean with `skipHighpass`) with
 *   `window length` = pre + post samples of extra data loaded each side (clipped to [0, totalSamples));
 * - in chunk [c0, c1) a spike s counts only if c0 + pre ≤ s < c1 − post, and its window
 *   [s − pre, s + post) of the filtered chunk (float32) is added to a float64 sum. Spikes near chunk
 *   edges are dropped although the overlap was loaded: they are `excluded`;
 * - ⚠ LEGACY DIVISOR BUG, kept for comparability: sta = sum / (every spike within the duration),
 *   excluded ones included, so amplitudes shrink by used / divisor. No spike → all NaN.
 *
 * Memory: the sensor frames are read in blocks of `blockFrames` (see sosfiltfilt.ts), never a whole
 * chunk; what grows with the data is only the per-unit sums (window × rows × cols float64 each),
 * which are the result. Chunks in which no spike counts are not read at all (their filtered values
 * could not reach any sum), so the result is the same as filtering every chunk.
 *
 * Within a chunk the sums receive the spikes' frames block by block (last block first) rather than
 * spike by spike in file order; float64 addition in another order differs only in the last bits.
 */
import { lowerBound } from "../frameClock.ts";
import { butterworthHighpassSos } from "./butterworth.ts";
import { meanCenteredBlocks } from "./meanCentering.ts";
import { sosfiltfiltBlocks, type ReadRows } from "./sosfiltfilt.ts";

/** Raw sensor frames, as the caller opens them (io/mcs/sensorInput.ts for a .cmcr). */
export interface SensorFrames {
  /** [frames, rows, cols] */
  readonly shape: readonly [number, number, number];
  /** Frames [start, end) as int16, row-major [frames × rows × cols]. */
  readFrames(start: number, end: number): Int16Array;
}

export interface EImageStaSettings {
  /** Acquisition rate (Hz), the session's `metadata/acquisition_rate`. */
  rate: number;
  durationS: number;
  /** Peaks rows used per unit; 0 (or less) = all, as the original's `if spike_limit > 0`. */
  spikeLimit: number;
  /** [start, end) samples around the spike, start ≤ 0 ≤ end: (−10, 40) = 10 before, 40 after. */
  windowRange: readonly [number, number];
  cutoffHz: number;
  filterOrder: number;
  skipHighpass: boolean;
  chunkDurationS: number;
  /** Frames per sensor read: bounds memory (blockFrames × rows × cols × 8 bytes). Default 1000. */
  blockFrames?: number;
}

export interface UnitPeaks {
  id: string;
  /** Every Peaks row's Timestamp (µs), in file order. */
  timestampsUs: ArrayLike<number | bigint>;
}

export interface EImageStaResult {
  id: string;
  /** [window, rows, cols] row-major; all NaN when the unit has no spike within the duration. */
  sta: Float64Array;
  /** Spikes whose window was added. */
  used: number;
  /** Spikes within the duration that were not added (chunk edges): divisor − used. */
  excluded: number;
  /** What the sum was divided by: every spike within the duration (the legacy rule). */
  divisor: number;
}

export interface EImageStaRun {
  results: EImageStaResult[];
  shape: [number, number, number];
  totalSamples: number;
  chunkSamples: number;
  chunkCount: number;
  /** Chunks read and filtered (those where at least one spike counts). */
  chunksFiltered: number;
}

export type EImageProgress = (fraction: number, message: string) => void | Promise<void>;

const DEFAULT_BLOCK_FRAMES = 1000;

/** `min(int(rate · duration_s), available)`. */
export function eimageTotalSamples(rate: number, durationS: number, available: number): number {
  return Math.max(0, Math.min(Math.trunc(rate * durationS), available));
}

/**
 * The spikes of one unit as the original takes them: the first `spikeLimit` Peaks rows (all if ≤ 0),
 * `int(t / 1_000_000 · rate)` (truncated toward zero, as `np.int64` of floats), kept if < totalSamples.
 */
export function eimageSpikeSamples(timestampsUs: ArrayLike<number | bigint>, spikeLimit: number, rate: number, totalSamples: number): Float64Array {
  const n = spikeLimit > 0 ? Math.min(spikeLimit, timestampsUs.length) : timestampsUs.length;
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.trunc((Number(timestampsUs[i]) / 1_000_000) * rate);
    if (s < totalSamples) kept.push(s);
  }
  return Float64Array.from(kept);
}

export async function computeEImageSta(
  sensor: SensorFrames,
  units: readonly UnitPeaks[],
  settings: EImageStaSettings,
  onProgress: EImageProgress = () => {},
): Promise<EImageStaRun> {
  const [available, rows, cols] = sensor.shape;
  const E = rows * cols;
  const pre = -settings.windowRange[0];
  const post = settings.windowRange[1];
  if (!(Number.isInteger(pre) && Number.isInteger(post) && pre >= 0 && post >= 0 && pre + post > 0)) {
    throw new Error(`window_range must be [start ≤ 0, end ≥ 0] whole samples, not both 0; got [${settings.windowRange.join(", ")}]`);
  }
  const W = pre + post;
  const totalSamples = eimageTotalSamples(settings.rate, settings.durationS, available);
  const chunkSamples = Math.trunc(settings.rate * settings.chunkDurationS);
  if (chunkSamples < 1) throw new Error(`chunk_duration_s ${settings.chunkDurationS} is shorter than one sample at ${settings.rate} Hz`);
  const blockFrames = settings.blockFrames ?? DEFAULT_BLOCK_FRAMES;
  const sos = settings.skipHighpass ? undefined : butterworthHighpassSos(settings.filterOrder, settings.cutoffHz, settings.rate);

  // Per unit: its spikes (the divisor) and, sorted, the ones each chunk counts.
  const spikes = units.map((u) => eimageSpikeSamples(u.timestampsUs, settings.spikeLimit, settings.rate, totalSamples));
  const sorted = spikes.map((s) => s.slice().sort());
  const chunkCount = Math.ceil(totalSamples / chunkSamples);
  const used = new Array<number>(units.length).fill(0);
  const plan: { c0: number; c1: number; counted: Float64Array[] }[] = [];
  for (let k = 0; k < chunkCount; k++) {
    const c0 = k * chunkSamples;
    const c1 = Math.min(c0 + chunkSamples, totalSamples);
    const counted = sorted.map((s, u) => {
      const slice = s.subarray(lowerBound(s, c0 + pre), lowerBound(s, c1 - post));
      used[u] += slice.length;
      return slice;
    });
    if (counted.some((c) => c.length > 0)) plan.push({ c0, c1, counted });
  }

  // Only units with a counted spike need a sum; the others are NaN or zeros at the end.
  const sums = units.map((_, u) => (used[u] > 0 ? new Float64Array(W * E) : undefined));
  for (let p = 0; p < plan.length; p++) {
    const { c0, c1, counted } = plan[p];
    const loadStart = Math.max(0, c0 - W);
    const loadEnd = Math.min(c1 + W, totalSamples);
    const n = loadEnd - loadStart;
    const read: ReadRows = (start, end) => sensor.readFrames(loadStart + start, loadStart + end);
    // float32 out, as the lab casts the filtered chunk (a Float32Array store rounds like astype).
    const events = sos ? sosfiltfiltBlocks(sos, n, E, read, blockFrames, "float32") : meanCenteredBlocks(n, E, read, blockFrames);
    const message = `eimage STA: chunk ${p + 1}/${plan.length} (${(c0 / settings.rate).toFixed(1)}–${(c1 / settings.rate).toFixed(1)} s)`;
    let outputRows = 0;
    for (const event of events) {
      let within: number;
      if (event.kind === "forward") {
        within = (0.4 * event.rowsDone) / n;
      } else {
        accumulateBlock(event.rows as Float32Array, loadStart + event.start, loadStart + event.end, E, pre, post, counted, sums);
        outputRows += event.end - event.start;
        within = 0.4 + (0.6 * outputRows) / n;
      }
      await onProgress((p + within) / plan.length, message);
    }
  }

  const results: EImageStaResult[] = units.map((unit, u) => {
    const divisor = spikes[u].length;
    let sta: Float64Array;
    if (divisor === 0) sta = new Float64Array(W * E).fill(Number.NaN);
    else {
      sta = sums[u] ?? new Float64Array(W * E);
      for (let i = 0; i < sta.length; i++) sta[i] /= divisor;
    }
    return { id: unit.id, sta, used: used[u], excluded: divisor - used[u], divisor };
  });
  await onProgress(1, "eimage STA: done");
  return { results, shape: [W, rows, cols], totalSamples, chunkSamples, chunkCount, chunksFiltered: plan.length };
}

/**
 * Adds filtered frames [A, B) (absolute samples) to the sums of the counted spikes whose window
 * [s − pre, s + post) overlaps them, frame f going to window row f − s + pre.
 */
function accumulateBlock(
  y: Float32Array,
  A: number,
  B: number,
  E: number,
  pre: number,
  post: number,
  counted: readonly Float64Array[],
  sums: readonly (Float64Array | undefined)[],
): void {
  for (let u = 0; u < counted.length; u++) {
    const spikes = counted[u];
    const sum = sums[u];
    if (!sum || spikes.length === 0) continue;
    for (let i = lowerBound(spikes, A - post + 1); i < spikes.length && spikes[i] < B + pre; i++) {
      const s = spikes[i];
      const f1 = Math.min(B, s + post);
      for (let f = Math.max(A, s - pre); f < f1; f++) {
        addRow(sum, (f - s + pre) * E, y, (f - A) * E, E);
      }
    }
  }
}

function addRow(sum: Float64Array, at: number, y: Float32Array, from: number, n: number): void {
  for (let e = 0; e < n; e++) sum[at + e] += y[from + e];
}

