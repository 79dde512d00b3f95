/**
 * Downsampled light reference (`10hz_ch*`, `1khz_ch*`): float32 means of consecutive blocks of
 * `factor = floor(rate / target)` samples; the incomplete tail block is dropped, as in the original's
 * `x[: n * factor].reshape(n, factor).mean(axis=1)`.
 *
 * Sums are accumulated in float64 and rounded once to float32; numpy's float32 pairwise sum can
 * differ from this in the last bit.
 */

export function downsampleFactor(rate: number, targetHz: number): number {
  return Math.max(1, Math.floor(rate / targetHz));
}

export function blockMean(signal: ArrayLike<number>, factor: number): Float32Array {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`block mean: factor must be a positive integer, got ${factor}`);
  const blocks = Math.floor(signal.length / factor);
  const out = new Float32Array(blocks);
  for (let b = 0, i = 0; b < blocks; b++) {
    let sum = 0;
    for (const end = i + factor; i < end; i++) sum += signal[i];
    out[b] = sum / factor;
  }
  return out;
}

/** The four downsampled traces of one channel pair, keyed as the session stores them. */
export function downsampledLightReference(
  channels: { ch1?: Float32Array; ch2?: Float32Array },
  rate: number,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [label, target] of [["10hz", 10], ["1khz", 1000]] as const) {
    const factor = downsampleFactor(rate, target);
    if (channels.ch1) out[`${label}_ch1`] = blockMean(channels.ch1, factor);
    if (channels.ch2) out[`${label}_ch2`] = blockMean(channels.ch2, factor);
  }
  return out;
}
