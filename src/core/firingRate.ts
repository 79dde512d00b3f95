/**
 * `firing_rate_10hz`: spike counts in 100 ms bins × 10 (spikes/s), float32 — the lab's
 * `np.histogram(timestamps_us, bins=arange(0, n_bins + 1) * 100_000)` with
 * `n_bins = ceil(duration_us / 100_000)`.
 *
 * Deliberate fix: the original's integrated loader could not find the recording duration and fell
 * back to "last spike + 1 s", so every unit got a different length. Callers here pass the CMCR
 * recording duration (or one shared fallback), so all units of a recording have the same length.
 */

export const FIRING_RATE_BIN_US = 100_000;

export function firingRateBinCount(durationUs: number): number {
  return Math.max(0, Math.ceil(durationUs / FIRING_RATE_BIN_US));
}

/** `timestampsUs` need not be sorted; values outside [0, n_bins · 100 ms] are not counted. */
export function firingRate10hz(timestampsUs: ArrayLike<number>, durationUs: number): Float32Array {
  const nBins = firingRateBinCount(durationUs);
  const counts = new Float32Array(nBins);
  const end = nBins * FIRING_RATE_BIN_US;
  for (let i = 0; i < timestampsUs.length; i++) {
    const t = timestampsUs[i];
    if (!(t >= 0 && t <= end)) continue;
    // numpy's last bin is closed on the right: a spike exactly at the end edge counts in it.
    const bin = Math.min(nBins - 1, Math.floor(t / FIRING_RATE_BIN_US));
    counts[bin] += 1;
  }
  for (let b = 0; b < nBins; b++) counts[b] *= 10;
  return counts;
}
