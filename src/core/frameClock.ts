/**
 * Display frames ↔ acquisition samples through `frame_timestamps` (the start sample of every
 * displayed frame), as the original's `convert_frame_to_sample_index` and
 * `convert_sample_index_to_frame` do it:
 *
 * - `sampleAt(frame)`: `frame_timestamps[clip(frame, 0, n − 1)]`;
 * - `floorFrame(sample)`: `searchsorted(frame_timestamps, sample, side="right") − 1`, clipped to
 *   `[0, n − 1]` — the frame that started at or before the sample (a sample before the first frame
 *   maps to frame 0, as the clip makes it).
 *
 * Timestamps are held as float64: sample indices stay far below 2^53, so this is exact.
 */
export class FrameClock {
  readonly timestamps: Float64Array;

  constructor(frameTimestamps: ArrayLike<number | bigint>) {
    // A plain copy when they are float64 already (no call per frame: an hour at 60 Hz is 211,740).
    this.timestamps = frameTimestamps instanceof Float64Array ? frameTimestamps.slice() : Float64Array.from(frameTimestamps as ArrayLike<number>, Number);
    if (this.timestamps.length === 0) throw new Error("no frame timestamps");
    for (let i = 1; i < this.timestamps.length; i++) {
      if (!(this.timestamps[i] >= this.timestamps[i - 1])) {
        throw new Error(`frame timestamps are not sorted (frame ${i}: ${this.timestamps[i]} after ${this.timestamps[i - 1]})`);
      }
    }
  }

  get frameCount(): number {
    return this.timestamps.length;
  }

  get lastFrame(): number {
    return this.timestamps.length - 1;
  }

  clipFrame(frame: number): number {
    return Math.min(Math.max(frame, 0), this.lastFrame);
  }

  sampleAt(frame: number): number {
    return this.timestamps[this.clipFrame(frame)];
  }

  floorFrame(sample: number): number {
    return this.clipFrame(upperBound(this.timestamps, sample) - 1);
  }
}

/** First index whose value is > x (numpy `searchsorted(side="right")`) in a sorted array. */
export function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is ≥ x (numpy `searchsorted(side="left")`) in a sorted array. */
export function lowerBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
