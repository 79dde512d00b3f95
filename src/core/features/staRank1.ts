/**
 * Rank-1 (separable) approximation of a spatio-temporal STA, STA(t, x) ≈ σ · u(t) · v(x): the first
 * singular triplet of the [frames × pixels] matrix after removing its mean (the STA holds raw pixel
 * values, e.g. ≈ 127.5 for a 0/255 binary noise, §3.4). This is the standard space–time separation
 * of an RGC receptive field (Chichilnisky 2001, Network 12:199; Pillow et al. 2008).
 *
 * Computed by power iteration on the small T × T matrix C = M Mᵀ (T = 60 frames), so the cost is one
 * pass T²·P to build C plus cheap iterations; then v = Mᵀu / σ.
 *
 * Sign convention: v's largest-magnitude pixel is positive, so the polarity (ON: bright before a
 * spike, OFF: dark) lives in u — `polarity` = sign of u at its largest-magnitude frame.
 */

export interface Rank1 {
  /** Temporal component u, unit norm, [T]. */
  temporal: Float64Array;
  /** Spatial component v, unit norm, [P]. */
  spatial: Float64Array;
  singularValue: number;
  /** σ₁² / ‖M‖²_F: the variance the separable model explains. */
  explained: number;
  /** +1 ON, −1 OFF (sign of u at its extreme). */
  polarity: number;
  /** Index of u's largest-magnitude frame. */
  peakFrame: number;
}

export function rank1(sta: ArrayLike<number>, frames: number, pixels: number): Rank1 | undefined {
  const T = frames;
  const P = pixels;
  let mean = 0;
  for (let i = 0; i < T * P; i++) mean += Number(sta[i]);
  mean /= T * P;
  if (!Number.isFinite(mean)) return undefined;
  const M = new Float64Array(T * P);
  let total = 0;
  for (let i = 0; i < T * P; i++) {
    M[i] = Number(sta[i]) - mean;
    total += M[i] * M[i];
  }
  if (!(total > 0)) return undefined;
  const C = new Float64Array(T * T);
  for (let a = 0; a < T; a++) {
    const ra = a * P;
    for (let b = a; b < T; b++) {
      const rb = b * P;
      let s = 0;
      for (let x = 0; x < P; x++) s += M[ra + x] * M[rb + x];
      C[a * T + b] = s;
      C[b * T + a] = s;
    }
  }
  // Start from the frame with the most energy: close to u for any RF worth fitting.
  const u = new Float64Array(T);
  let best = 0;
  for (let a = 0; a < T; a++) if (C[a * T + a] > C[best * T + best]) best = a;
  for (let a = 0; a < T; a++) u[a] = C[a * T + best];
  normalise(u);
  let lambda = 0;
  const next = new Float64Array(T);
  // 1e-7 on a unit vector is far finer than a float32 STA of a few thousand spikes can resolve;
  // a spectrum with no dominant component (noise) stops at the cap and is judged by the fits.
  for (let it = 0; it < 300; it++) {
    for (let a = 0; a < T; a++) {
      let s = 0;
      for (let b = 0; b < T; b++) s += C[a * T + b] * u[b];
      next[a] = s;
    }
    const norm = normalise(next);
    let change = 0;
    for (let a = 0; a < T; a++) change = Math.max(change, Math.abs(next[a] - u[a]));
    u.set(next);
    lambda = norm;
    if (change < 1e-7) break;
  }
  const sigma = Math.sqrt(Math.max(0, lambda));
  const v = new Float64Array(P);
  for (let a = 0; a < T; a++) {
    const ua = u[a];
    if (ua === 0) continue;
    for (let x = 0; x < P; x++) v[x] += ua * M[a * P + x];
  }
  normalise(v);
  let vPeak = 0;
  for (let x = 0; x < P; x++) if (Math.abs(v[x]) > Math.abs(v[vPeak])) vPeak = x;
  if (v[vPeak] < 0) {
    for (let x = 0; x < P; x++) v[x] = -v[x];
    for (let a = 0; a < T; a++) u[a] = -u[a];
  }
  let peakFrame = 0;
  for (let a = 0; a < T; a++) if (Math.abs(u[a]) > Math.abs(u[peakFrame])) peakFrame = a;
  return { temporal: u, spatial: v, singularValue: sigma, explained: (sigma * sigma) / total, polarity: u[peakFrame] >= 0 ? 1 : -1, peakFrame };
}

function normalise(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < x.length; i++) x[i] /= n;
  return n;
}
