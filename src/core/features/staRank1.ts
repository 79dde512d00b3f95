/**
 * Rank-1 (separable) approximation of a spatio-temporal STA, STA(t, x) ≈ σ · u(t) · v(x), taken
 * where the response is (Chichilnisky 2001, Network 12:199; Pillow et al. 2008).
 *
 * What is not response is removed first. The STA holds raw pixel means (≈ 127.5 for 0/255 noise,
 * §3.4), and with noise patterns held for several display frames (the lab's 15 Hz patterns on a
 * 60 Hz display) each pixel's mean over a finite set of spikes sits off 127.5 by an amount that is
 * nearly the same at every lag: the 60 overlapping windows share the same few hundred patterns.
 * Over 60 lags × all pixels that offset map outweighs a response living in a few frames, and a
 * rank-1 fit of the whole window finds it (flat temporal component, noise for a spatial one). So:
 * 1. each pixel's own mean over the window is subtracted (M = STA − pixel mean);
 * 2. response lags: each frame of M smoothed by a σ = 1 px Gaussian (a matched filter for fields of a
 *    pixel or more) and scored by its largest |value| in units of the robust SD (1.4826·MAD) of all
 *    smoothed values; the best frame is the peak lag (its score is `peakZ`, the response's
 *    significance), and frames scoring ≥ half of it and ≥ `LAG_Z` are response lags too;
 * 3. the first singular triplet of M restricted to those lags gives v (unit norm); its sign is fixed
 *    so the pixel of largest |v| is positive, and the polarity is the sign of M(peak lag)·v (ON:
 *    brighter than the pixel's mean before a spike, OFF: darker);
 * 4. the temporal component over the whole window is u(t) = M(t)·v / ‖M·v‖ (sign as the polarity,
 *    so an OFF cell's component dips at the peak lag).
 *
 * The SVD of the few selected lags is computed by power iteration on the small L × L matrix M Mᵀ.
 */

/** Response lags besides the peak: frames whose smoothed peak is at least this many robust SDs. */
export const LAG_Z = 5;

export interface Rank1 {
  /** Temporal component u over all T frames, unit norm; u(peak) has the sign of the polarity. */
  temporal: Float64Array;
  /** Spatial component v, unit norm, its largest-|v| pixel positive, [P]. */
  spatial: Float64Array;
  singularValue: number;
  /** σ₁² / ‖M‖²_F over the response lags: the variance the separable model explains there. */
  explained: number;
  /** +1 ON, −1 OFF. */
  polarity: number;
  /** Index of the frame of largest smoothed |M| (the peak lag is T − peakFrame display frames). */
  peakFrame: number;
  /** Indices of the response lags used. */
  responseFrames: Int32Array;
  /** Largest |smoothed M| at the peak lag / robust SD of all smoothed values: the response's significance. */
  peakZ: number;
  /** max |v| / robust SD of v: how far the field's peak pixel stands above the other pixels. */
  spatialZ: number;
  /** |M(peak lag)·v|: the field's size at the peak lag in the STA's units (e.g. 0–255 pixel values). */
  peakAmplitude: number;
  /** Each pixel's mean over the window (subtracted before decomposing), [P]. */
  pixelMean: Float64Array;
}

export function rank1(sta: ArrayLike<number>, frames: number, height: number, width: number): Rank1 | undefined {
  const T = frames;
  const P = height * width;
  const pixelMean = new Float64Array(P);
  for (let t = 0; t < T; t++) for (let x = 0; x < P; x++) pixelMean[x] += Number(sta[t * P + x]);
  for (let x = 0; x < P; x++) {
    pixelMean[x] /= T;
    if (!Number.isFinite(pixelMean[x])) return undefined;
  }
  const M = new Float64Array(T * P);
  const energy = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let e = 0;
    for (let x = 0; x < P; x++) {
      const d = Number(sta[t * P + x]) - pixelMean[x];
      M[t * P + x] = d;
      e += d * d;
    }
    energy[t] = e;
  }
  // Where the response is: each frame smoothed by a Gaussian of σ = 1 px (a matched filter for a
  // field of a pixel or more: a wide field's many weak pixels add up, single noisy pixels do not),
  // scored by its largest |value| against the robust SD of all smoothed values.
  const S = smoothFrames(M, T, height, width);
  const noise = 1.4826 * median(S.map(Math.abs));
  const score = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let m = 0;
    for (let x = 0; x < P; x++) m = Math.max(m, Math.abs(S[t * P + x]));
    score[t] = m;
  }
  let peakFrame = 0;
  for (let t = 1; t < T; t++) if (score[t] > score[peakFrame]) peakFrame = t;
  if (!(score[peakFrame] > 0)) return undefined;
  const peakZ = noise > 0 ? score[peakFrame] / noise : Number.POSITIVE_INFINITY;
  const lags: number[] = [];
  for (let t = 0; t < T; t++) if (t === peakFrame || (score[t] >= 0.5 * score[peakFrame] && score[t] >= LAG_Z * noise)) lags.push(t);
  const L = lags.length;

  // C = M_L M_Lᵀ over the response lags, then its leading eigenvector by power iteration.
  const C = new Float64Array(L * L);
  let total = 0;
  for (let a = 0; a < L; a++) {
    const ra = lags[a] * P;
    total += energy[lags[a]];
    for (let b = a; b < L; b++) {
      const rb = lags[b] * P;
      let s = 0;
      for (let x = 0; x < P; x++) s += M[ra + x] * M[rb + x];
      C[a * L + b] = s;
      C[b * L + a] = s;
    }
  }
  const w = new Float64Array(L);
  for (let a = 0; a < L; a++) w[a] = C[a * L + lags.indexOf(peakFrame)];
  normalise(w);
  let lambda = 0;
  const next = new Float64Array(L);
  // 1e-9 on a unit vector is far finer than a float32 STA can resolve; a handful of lags converges fast.
  for (let it = 0; it < 500; it++) {
    for (let a = 0; a < L; a++) {
      let s = 0;
      for (let b = 0; b < L; b++) s += C[a * L + b] * w[b];
      next[a] = s;
    }
    lambda = normalise(next);
    let change = 0;
    for (let a = 0; a < L; a++) change = Math.max(change, Math.abs(next[a] - w[a]));
    w.set(next);
    if (change < 1e-9) break;
  }
  const sigma = Math.sqrt(Math.max(0, lambda));
  const v = new Float64Array(P);
  for (let a = 0; a < L; a++) {
    const wa = w[a];
    const row = lags[a] * P;
    for (let x = 0; x < P; x++) v[x] += wa * M[row + x];
  }
  if (!(normalise(v) > 0)) return undefined;
  let vPeak = 0;
  for (let x = 1; x < P; x++) if (Math.abs(v[x]) > Math.abs(v[vPeak])) vPeak = x;
  if (v[vPeak] < 0) for (let x = 0; x < P; x++) v[x] = -v[x];
  const vNoise = 1.4826 * median(v.map(Math.abs));
  const spatialZ = vNoise > 0 ? v[vPeak] / vNoise : Number.POSITIVE_INFINITY;
  const temporal = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let x = 0; x < P; x++) s += M[t * P + x] * v[x];
    temporal[t] = s;
  }
  const peakAmplitude = Math.abs(temporal[peakFrame]);
  normalise(temporal);
  // The peak lag's projection carries the sign; it is the polarity of the response at the RF centre.
  const polarity = temporal[peakFrame] >= 0 ? 1 : -1;
  return {
    temporal,
    spatial: v,
    singularValue: sigma,
    explained: total > 0 ? (sigma * sigma) / total : Number.NaN,
    polarity,
    peakFrame,
    responseFrames: Int32Array.from(lags),
    peakZ,
    spatialZ,
    peakAmplitude,
    pixelMean,
  };
}

/** Each [height × width] frame convolved with a normalised Gaussian of σ = 1 px (radius 3, edges renormalised). */
function smoothFrames(M: Float64Array, T: number, H: number, W: number): Float64Array {
  const k = [0, 1, 2, 3].map((d) => Math.exp(-0.5 * d * d));
  const P = H * W;
  const tmp = new Float64Array(P);
  const out = new Float64Array(T * P);
  for (let t = 0; t < T; t++) {
    const base = t * P;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        let w = 0;
        for (let d = -3; d <= 3; d++) {
          const xx = x + d;
          if (xx < 0 || xx >= W) continue;
          s += k[Math.abs(d)] * M[base + y * W + xx];
          w += k[Math.abs(d)];
        }
        tmp[y * W + x] = s / w;
      }
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        let w = 0;
        for (let d = -3; d <= 3; d++) {
          const yy = y + d;
          if (yy < 0 || yy >= H) continue;
          s += k[Math.abs(d)] * tmp[yy * W + x];
          w += k[Math.abs(d)];
        }
        out[base + y * W + x] = s / w;
      }
    }
  }
  return out;
}

function median(x: Float64Array): number {
  const s = Float64Array.from(x).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function normalise(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < x.length; i++) x[i] /= n;
  return n;
}
