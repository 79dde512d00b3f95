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
 * Nothing the size of the trace is materialised: the percentile reads it once and keeps only the values
 * near the wanted rank (a full copy only when that bracket misses), and the difference is computed on
 * the fly inside the peak search.
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
  // Dividing by 1 changes no value, so the un-normalised case is the same code.
  const peaks = risingEdgePeaks(signal, p <= 0 ? 1 : p, height);
  const kept = peaks.slice(Math.min(dropFirst, peaks.length));
  return BigUint64Array.from(kept, (i) => BigInt(i));
}

/**
 * Samples per call of the scanning loops below. A single call over 24 M samples runs most of its
 * iterations before V8 has optimised it (on-stack replacement comes late); many calls over blocks get
 * the optimised code early. Measured about 3× faster on a 20-minute trace.
 */
const SCAN_BLOCK = 1 << 16;

/**
 * `findPeaks(d, minHeight)` over `d[i] = float32(s[i+1] − s[i])`, `s[i] = float32(signal[i] / scale)`,
 * without materialising `d`: one pass computes each difference once and tests the height first
 * (almost every sample of a sync trace fails it). The rare candidates re-derive the few `d` values
 * their plateau needs. Same peaks as building the float32 array and calling findPeaks.
 */
function risingEdgePeaks(signal: ArrayLike<number>, scale: number, minHeight: number): number[] {
  const peaks: number[] = [];
  const iMax = signal.length - 2; // the last index of d
  for (let from = 1; from < iMax; from += SCAN_BLOCK) {
    risingEdgeBlock(signal, scale, minHeight, from, Math.min(iMax, from + SCAN_BLOCK), iMax, peaks);
  }
  return peaks;
}

/** d[j] as the float32 difference array holds it. */
function diffAt(signal: ArrayLike<number>, scale: number, j: number): number {
  return Math.fround(Math.fround(signal[j + 1] / scale) - Math.fround(signal[j] / scale));
}

/**
 * findPeaks' test for every start index i in [from, to): d[i−1] < d[i] ≥ minHeight, then a flat top
 * ending in a fall before iMax. Blocks are independent: findPeaks' jump past a found plateau skips
 * only indices that cannot start a peak (inside the plateau d[j−1] < d[j] never holds, nor right
 * after its fall), so scanning every index finds the same peaks.
 */
function risingEdgeBlock(signal: ArrayLike<number>, scale: number, minHeight: number, from: number, to: number, iMax: number, peaks: number[]): void {
  let sCur = Math.fround(signal[from] / scale); // s[i]
  let dPrev = diffAt(signal, scale, from - 1); // d[i − 1]
  for (let i = from; i < to; i++) {
    const sNext = Math.fround(signal[i + 1] / scale);
    const di = Math.fround(sNext - sCur);
    if (di >= minHeight && dPrev < di) {
      let ahead = i + 1;
      while (ahead < iMax && diffAt(signal, scale, ahead) === di) ahead++;
      if (diffAt(signal, scale, ahead) < di) peaks.push(Math.floor((i + ahead - 1) / 2));
    }
    dPrev = di;
    sCur = sNext;
  }
}

/**
 * scipy.signal.find_peaks(x, height=minHeight): indices of local maxima (flat tops give their middle
 * index, rounded down) whose value is ≥ minHeight. The first and last samples are never peaks.
 * A flat top has one value, so the height is tested first, on its first sample.
 */
export function findPeaks(x: ArrayLike<number>, minHeight = -Infinity): number[] {
  const peaks: number[] = [];
  const iMax = x.length - 1;
  let i = 1;
  while (i < iMax) {
    const xi = x[i];
    if (xi >= minHeight && x[i - 1] < xi) {
      let ahead = i + 1;
      while (ahead < iMax && x[ahead] === xi) ahead++;
      if (x[ahead] < xi) {
        peaks.push(Math.floor((i + ahead - 1) / 2));
        i = ahead;
      }
    }
    i++;
  }
  return peaks;
}

/** Arrays shorter than this go straight to full selection (the sample would be most of them). */
const BRACKET_MIN_LENGTH = 1 << 16;
/** Values sampled to bracket the wanted rank. */
const BRACKET_SAMPLE = 1 << 14;

/**
 * numpy.percentile(values, q) with the default "linear" method: the value at fractional rank
 * q/100 · (n − 1), interpolated between its two neighbours. Any NaN makes the result NaN, as in numpy.
 *
 * Large inputs first try `percentileByBracket` (one read-only pass, no copy of the input); when its
 * bracket misses the rank it falls back to `percentileBySelection`. Both give the same number.
 */
export function percentileLinear(values: ArrayLike<number>, q: number): number {
  if (values.length >= BRACKET_MIN_LENGTH) {
    const fast = percentileByBracket(values, q);
    if (fast !== undefined) return fast;
  }
  return percentileBySelection(values, q);
}

/**
 * percentileLinear by selection over a full copy (O(n), not a sort): the reference method.
 */
export function percentileBySelection(values: ArrayLike<number>, q: number): number {
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
  return lerp(a, b, frac);
}

/** numpy's lerp form, so results agree to the last bit in the usual cases. */
function lerp(a: number, b: number, frac: number): number {
  const d = b - a;
  const out = a + d * frac;
  return frac >= 0.5 ? b - d * (1 - frac) : out;
}

/**
 * percentileLinear without copying the input, or undefined when this method cannot tell (then use
 * percentileBySelection). A pseudo-random sample of `sampleSize` values, sorted, gives two bounds
 * lo ≤ hi expected to bracket the wanted order statistics; one pass counts the values below lo, equal
 * to lo and equal to hi, and collects those strictly between (a few per mille of a trace for the
 * 99.9th percentile). In sorted order the data is then [< lo][= lo][between][= hi][> hi], so an order
 * statistic falling in the middle three parts is exact; one falling outside them, too many values
 * between, or a zero result (whose sign full selection picks by position) gives undefined.
 * Ties cost nothing: equal values are counted, not collected.
 */
export function percentileByBracket(values: ArrayLike<number>, q: number, sampleSize = BRACKET_SAMPLE): number | undefined {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const rank = (Math.min(100, Math.max(0, q)) / 100) * (n - 1);
  if (!Number.isFinite(rank)) return undefined;
  const k = Math.floor(rank);
  const frac = rank - k;
  const needNext = !(frac === 0 || k + 1 >= n);

  const size = Math.max(2, Math.floor(sampleSize));
  const sample = new Float64Array(size);
  let state = 0x9e3779b9 | 0;
  for (let j = 0; j < size; j++) {
    // xorshift32: a fixed pseudo-random sample, so periodic traces cannot alias with a stride.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const v = values[(state >>> 0) % n];
    if (v !== v) return Number.NaN;
    sample[j] = v;
  }
  sample.sort();
  const p = Math.min(1, Math.max(0, k / Math.max(1, n - 1)));
  const pos = p * (size - 1);
  // Generous margin: four binomial standard deviations of the sample count, plus a fixed few.
  const margin = Math.ceil(4 * Math.sqrt(size * p * (1 - p))) + 8;
  const jLo = Math.floor(pos) - margin;
  const jHi = Math.ceil(pos) + margin + (needNext ? 1 : 0);
  const lo = jLo <= 0 ? -Infinity : sample[jLo];
  const hi = jHi >= size - 1 ? Infinity : sample[jHi];
  const capacity = Math.min(n, Math.ceil((2 * (Math.min(jHi, size - 1) - Math.max(jLo, 0) + 1) * n) / size) + 1024);

  const between = values instanceof Float32Array ? new Float32Array(capacity) : new Float64Array(capacity);
  // [below, atLo, atHi, collected], carried from block to block.
  const counts = new Float64Array(4);
  for (let from = 0; from < n; from += SCAN_BLOCK) {
    const status = bracketBlock(values, from, Math.min(n, from + SCAN_BLOCK), lo, hi, counts, between);
    if (status === SCAN_NAN) return Number.NaN;
    if (status === SCAN_FULL) return undefined;
  }
  const [below, atLo, atHi, m] = counts;
  const middle = between.subarray(0, m);
  const orderStatistic = (r: number): number | undefined => {
    r -= below;
    if (r < 0) return undefined;
    if (r < atLo) return lo;
    r -= atLo;
    if (r < m) return selectKth(middle, r);
    r -= m;
    return r < atHi ? hi : undefined;
  };
  const a = orderStatistic(k);
  if (a === undefined || a === 0) return undefined;
  if (!needNext) return a;
  const b = orderStatistic(k + 1);
  if (b === undefined || b === 0) return undefined;
  return lerp(a, b, frac);
}

const SCAN_OK = 0;
const SCAN_NAN = 1;
const SCAN_FULL = 2;

/** One block of percentileByBracket's pass: counts below/at lo/at hi, collects those between. */
function bracketBlock(
  values: ArrayLike<number>,
  from: number,
  to: number,
  lo: number,
  hi: number,
  counts: Float64Array,
  between: Float32Array | Float64Array,
): number {
  let below = 0;
  let atLo = 0;
  let atHi = 0;
  let m = counts[3];
  const capacity = between.length;
  let status = SCAN_OK;
  for (let i = from; i < to; i++) {
    const v = values[i];
    if (v < lo) below++;
    else if (v > hi) continue;
    else if (v === lo) atLo++;
    else if (v === hi) atHi++;
    else if (v !== v) {
      status = SCAN_NAN;
      break;
    } else {
      if (m === capacity) {
        status = SCAN_FULL;
        break;
      }
      between[m++] = v;
    }
  }
  counts[0] += below;
  counts[1] += atLo;
  counts[2] += atHi;
  counts[3] = m;
  return status;
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
