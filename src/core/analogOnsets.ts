/**
 * Stimulus onsets from the analog light reference, as the lab's session step
 * `add_section_time_analog` finds them: peaks of `diff(raw_ch1[from:])` (float64) with scipy
 * `find_peaks(height=threshold, distance=minDistance)` rules, shifted back to absolute samples.
 *
 * The derivative is computed on the fly instead of materialised: without frame pulses the search
 * covers the whole trace (24 M samples for 20 minutes), and a float64 copy would cost 190 MB.
 */

export interface OnsetSearch {
  /** Minimum height of a peak of the derivative (no default: the lab uses 1e5). */
  threshold: number;
  /** First sample searched (the lab: the last frame timestamp). */
  from: number;
  /** Minimum distance between peaks in samples (< 1: none). */
  minDistance: number;
}

export interface Onset {
  sample: number;
  height: number;
}

export function detectAnalogOnsets(signal: ArrayLike<number>, search: OnsetSearch): Onset[] {
  const from = Math.max(0, Math.min(Math.floor(search.from), signal.length));
  const n = Math.max(0, signal.length - from - 1);
  const d = (i: number) => signal[from + i + 1] - signal[from + i];
  const peaks = localMaxima(n, d, search.threshold);
  const kept = search.minDistance >= 1 ? selectByDistance(peaks, peaks.map(d), search.minDistance) : peaks;
  return kept.map((i) => ({ sample: i + from, height: d(i) }));
}

/**
 * scipy `find_peaks` local maxima: strictly higher than the left neighbour, and higher than the first
 * different value to the right (flat tops give their middle index, rounded down); the first and last
 * elements are never peaks. Only peaks with value ≥ minHeight are returned.
 */
export function localMaxima(n: number, x: (i: number) => number, minHeight: number): number[] {
  const peaks: number[] = [];
  const iMax = n - 1;
  let i = 1;
  while (i < iMax) {
    const xi = x(i);
    if (x(i - 1) < xi) {
      let ahead = i + 1;
      while (ahead < iMax && x(ahead) === xi) ahead++;
      if (x(ahead) < xi) {
        const mid = Math.floor((i + ahead - 1) / 2);
        if (x(mid) >= minHeight) peaks.push(mid);
        i = ahead;
      }
    }
    i++;
  }
  return peaks;
}

/**
 * scipy `_select_by_peak_distance`: from the highest peak down, remove every smaller peak closer than
 * `ceil(distance)` samples. Equal heights: the later peak is treated as higher (numpy's argsort
 * order for ties is not specified; this keeps the result deterministic).
 */
export function selectByDistance(peaks: readonly number[], heights: readonly number[], distance: number): number[] {
  const dist = Math.ceil(distance);
  const keep = new Array<boolean>(peaks.length).fill(true);
  const order = peaks.map((_, i) => i).sort((a, b) => heights[a] - heights[b] || a - b);
  for (let r = order.length - 1; r >= 0; r--) {
    const j = order[r];
    if (!keep[j]) continue;
    for (let k = j - 1; k >= 0 && peaks[j] - peaks[k] < dist; k--) keep[k] = false;
    for (let k = j + 1; k < peaks.length && peaks[k] - peaks[j] < dist; k++) keep[k] = false;
  }
  return peaks.filter((_, i) => keep[i]);
}
