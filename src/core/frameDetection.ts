/**
 * Display-frame timestamps from the analog frame-sync channel, exactly as the lab's loader finds them
 * (domain brief §2.4):
 *
 * 1. divide the trace by its 99.9th percentile (numpy's default linear interpolation) unless that is ≤ 0;
 * 2. `d[i] = s[i+1] − s[i]`;
 * 3. peaks of `d` with height ≥ 0.1 under scipy `find_peaks` rules (strict local maximum, the middle
 *    index of a flat top, never the first or last element, no minimum spacing);
 * 4. drop the first 4 peaks; each remaining index is the sample just before a rising edge.
 *
 * The original works on float32 arrays, so the normalised trace and its difference are rounded to
 * float32 here too: a value right at the 0.1 threshold then falls on the same side as in numpy.
 * Nothing is materialised beyond one copy used for the percentile, so a 20-minute trace at 20 kHz
 * (24 M samples) costs one extra float32 array.
 */

export interface FrameDetectionOptions {
  /** Minimum height of a normalised rising edge (default 0.1). */
  height?: number;
  /** Peaks discarded at the start (default 4: the projector's start-up pulses). */
  dropFirst?: number;
  /** Percentile used for normalisation (default 99.9). */
  percentile?: number;
}

export const FRAME_DETECTION_DEFAULTS = { height: 0.1, dropFirst: 4, percentile: 99.9 } as const;

/** Frame start samples (uint64, as the lab stores `frame_timestamps`). */
export function detectFrameTimestamps(signal: ArrayLike<number>, options: FrameDetectionOptions = {}): BigUint64Array {
  const height = options.height ?? FRAME_DETECTION_DEFAULTS.height;
  const dropFirst = options.dropFirst ?? FRAME_DETECTION_DEFAULTS.dropFirst;
  const q = options.percentile ?? FRAME_DETECTION_DEFAULTS.percentile;
  const n = signal.length;
  if (n < 3) return new BigUint64Array(0);

  const p = Math.fround(percentileLinear(signal, q));
  // "unless it is ≤ 0": NaN passes this test in numpy too, and then no peak survives the height test.
  const scale = p <= 0 ? 1 : p;
  const s = (i: number) => (p <= 0 ? Math.fround(signal[i]) : Math.fround(signal[i] / scale));
  const diff = new Float32Array(n - 1);
  let prev = s(0);
  for (let i = 0; i < n - 1; i++) {
    const next = s(i + 1);
    diff[i] = next - prev;
    prev = next;
  }
  const peaks = findPeaks(diff, height);
  const kept = peaks.slice(Math.min(dropFirst, peaks.length));
  return BigUint64Array.from(kept, (i) => BigInt(i));
}

/**
 * scipy.signal.find_peaks(x, height=minHeight): indices of local maxima (flat tops give their middle
 * index, rounded down) whose value is ≥ minHeight. The first and last samples are never peaks.
 */
export function findPeaks(x: ArrayLike<number>, minHeight = -Infinity): number[] {
  const peaks: number[] = [];
  const iMax = x.length - 1;
  let i = 1;
  while (i < iMax) {
    if (x[i - 1] < x[i]) {
      let ahead = i + 1;
      while (ahead < iMax && x[ahead] === x[i]) ahead++;
      if (x[ahead] < x[i]) {
        const mid = Math.floor((i + ahead - 1) / 2);
        if (x[mid] >= minHeight) peaks.push(mid);
        i = ahead;
      }
    }
    i++;
  }
  return peaks;
}

/**
 * numpy.percentile(values, q) with the default "linear" method: the value at fractional rank
 * q/100 · (n − 1), interpolated between its two neighbours. Uses selection (O(n)), not a sort.
 * Any NaN makes the result NaN, as in numpy.
 */
export function percentileLinear(values: ArrayLike<number>, q: number): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  // float32 input stays float32: the copy is the one big allocation here (a 60-minute trace is 288 MB).
  const work = values instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (Number.isNaN(v)) return Number.NaN;
    work[i] = v;
  }
  const rank = (Math.min(100, Math.max(0, q)) / 100) * (n - 1);
  const lo = Math.floor(rank);
  const frac = rank - lo;
  const a = selectKth(work, lo);
  if (frac === 0 || lo + 1 >= n) return a;
  // After selection everything right of `lo` is ≥ a[lo]: the next order statistic is their minimum.
  let b = Infinity;
  for (let i = lo + 1; i < n; i++) if (work[i] < b) b = work[i];
  // numpy's lerp form, so results agree to the last bit in the usual cases.
  const d = b - a;
  const out = a + d * frac;
  return frac >= 0.5 ? b - d * (1 - frac) : out;
}

/** Rearranges `a` so that a[k] is the k-th smallest, smaller values left of it, larger right. */
function selectKth(a: Float32Array | Float64Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    // Median of three as pivot keeps sorted or constant-heavy traces (a sync channel) linear.
    const mid = (left + right) >>> 1;
    if (a[mid] < a[left]) swap(a, mid, left);
    if (a[right] < a[left]) swap(a, right, left);
    if (a[right] < a[mid]) swap(a, right, mid);
    const pivot = a[mid];
    // Three-way partition: sync traces hold long runs of identical values.
    let lt = left;
    let gt = right;
    let i = left;
    while (i <= gt) {
      const v = a[i];
      if (v < pivot) swap(a, lt++, i++);
      else if (v > pivot) swap(a, i, gt--);
      else i++;
    }
    if (k < lt) right = lt - 1;
    else if (k > gt) left = gt + 1;
    else return a[k];
  }
  return a[k];
}

function swap(a: Float32Array | Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** `frame_time`: frame timestamps in seconds (float64). */
export function frameTimesSeconds(frameTimestamps: BigUint64Array, rate: number): Float64Array {
  return Float64Array.from(frameTimestamps, (t) => Number(t) / rate);
}
