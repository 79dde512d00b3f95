/**
 * The inputs of tests/fixtures/scipy/make_eimage_reference.py, rebuilt here from the same integer
 * formula (so the JSON stores only scipy's outputs), and the reference JSON itself.
 */
import reference from "../../fixtures/scipy/eimage_reference.json" with { type: "json" };

export { reference };

/** `signal(t, c)` of the Python script: hashed jitter plus a slow step drift, int16 range. */
export function signal(t: number, c: number): number {
  return ((t * 7919 + c * 104729 + ((t * t) % 1009) * 31) % 2001) - 1000 + ((Math.floor(t / 50) + c) % 7) * 300;
}

/** [n × channels] int16, row-major, like the script's `frames(n, channels)`. */
export function frames(n: number, channels: number, offset = 0): Int16Array {
  const out = new Int16Array(n * channels);
  for (let t = 0; t < n; t++) for (let c = 0; c < channels; c++) out[t * channels + c] = signal(t, c) + offset;
  return out;
}

/** Largest |a − b| / max(1, |b|) over two arrays of the same length (NaN only matches NaN). */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) {
      if (!(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  }
  return worst;
}
