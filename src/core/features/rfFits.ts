/**
 * Parametric receptive-field fits of an STA's spatial component (an image [H, W], x = column,
 * y = row, in stimulus pixels), by least squares with `levenbergMarquardt.ts`:
 *
 * - 2-D Gaussian (Chichilnisky & Kalmar 2002, J Neurosci 22:2737; Chichilnisky 2001):
 *     A·exp(−½(x′²/σx² + y′²/σy²)) + b,  x′ = (x−x0)cos θ + (y−y0)sin θ,  y′ = −(x−x0)sin θ + (y−y0)cos θ,
 *   σ fitted as log σ so they stay positive; reported with σx ≥ σy and θ in [0, 180)° from the column
 *   axis toward increasing row;
 * - difference of Gaussians, concentric and circular (Rodieck 1965, Vision Res 5:583; Enroth-Cugell &
 *   Robson 1966): Ac·exp(−r²/2σc²) − As·exp(−r²/2σs²) + b with σs = σc·(1 + e^q) > σc, started from
 *   the Gaussian fit.
 *
 * A fit that does not converge, or whose result is not a receptive field (non-positive amplitude,
 * centre off the grid, σ below `min_sigma` or above the grid, a surround that is not antagonistic, or
 * r² < `min_r2`), comes back with `ok = false`, every value NaN, and the reason — never a magic
 * number (the lab's code wrote −5.0).
 */
import { levenbergMarquardt, type Jacobian, type Residuals } from "./levenbergMarquardt.ts";

export interface FitLimits {
  min_r2: number;
  min_sigma: number;
  max_iterations: number;
}

export interface GaussianFit {
  ok: boolean;
  reason: string;
  centerRow: number;
  centerCol: number;
  sigmaX: number;
  sigmaY: number;
  angleDeg: number;
  amplitude: number;
  offset: number;
  rSquared: number;
}

export interface DogFit {
  ok: boolean;
  reason: string;
  centerRow: number;
  centerCol: number;
  sigmaCenter: number;
  sigmaSurround: number;
  ampCenter: number;
  ampSurround: number;
  offset: number;
  rSquared: number;
}

const NAN = Number.NaN;

export function failedGaussian(reason: string): GaussianFit {
  return { ok: false, reason, centerRow: NAN, centerCol: NAN, sigmaX: NAN, sigmaY: NAN, angleDeg: NAN, amplitude: NAN, offset: NAN, rSquared: NAN };
}

export function failedDog(reason: string): DogFit {
  return { ok: false, reason, centerRow: NAN, centerCol: NAN, sigmaCenter: NAN, sigmaSurround: NAN, ampCenter: NAN, ampSurround: NAN, offset: NAN, rSquared: NAN };
}

function median(x: ArrayLike<number>): number {
  const s = Float64Array.from(x).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function rSquared(img: ArrayLike<number>, cost: number): number {
  let mean = 0;
  for (let i = 0; i < img.length; i++) mean += img[i];
  mean /= img.length;
  let tot = 0;
  for (let i = 0; i < img.length; i++) tot += (img[i] - mean) ** 2;
  return tot > 0 ? 1 - cost / tot : NAN;
}

/**
 * r² over the pixels where the fitted field is (`inside(x, y)`), from the final residuals. Over the
 * whole grid r² falls with the grid's size for the same field (a 40 × 40 grid is mostly noise
 * pixels), so a 3σ field test gives the same verdict on 8 × 8 and 40 × 40 stimuli. Fewer than 9
 * pixels inside: the 9 nearest the centre are used.
 */
export function localRSquared(img: ArrayLike<number>, resid: Float64Array, H: number, W: number, x0: number, y0: number, inside: (dx: number, dy: number) => boolean): number {
  let idx: number[] = [];
  for (let y = 0, i = 0; y < H; y++) for (let x = 0; x < W; x++, i++) if (inside(x - x0, y - y0)) idx.push(i);
  if (idx.length < 9) {
    const all = Array.from({ length: H * W }, (_, i) => i);
    const d2 = (i: number) => ((i % W) - x0) ** 2 + (Math.floor(i / W) - y0) ** 2;
    idx = all.sort((a, b) => d2(a) - d2(b)).slice(0, Math.min(9, H * W));
  }
  let mean = 0;
  for (const i of idx) mean += img[i];
  mean /= idx.length;
  let tot = 0;
  let res = 0;
  for (const i of idx) {
    tot += (img[i] - mean) ** 2;
    res += resid[i] ** 2;
  }
  return tot > 0 ? 1 - res / tot : NAN;
}

export function fitGaussian2d(img: ArrayLike<number>, H: number, W: number, limits: FitLimits): GaussianFit {
  let peak = 0;
  for (let i = 1; i < H * W; i++) if (img[i] > img[peak]) peak = i;
  const b0 = median(img);
  const p0 = [img[peak] - b0, peak % W, Math.floor(peak / W), 0, 0, 0, b0];
  const residuals = gaussianResiduals(img, H, W);
  const fit = levenbergMarquardt(residuals, p0, H * W, { maxIterations: limits.max_iterations }, gaussianJacobian(H, W));
  if (!fit.converged) return failedGaussian(`Gaussian fit did not converge in ${fit.iterations} iterations`);
  let [A, x0, y0, lsx, lsy, th, b] = fit.params;
  let sx = Math.exp(lsx);
  let sy = Math.exp(lsy);
  if (sx < sy) {
    [sx, sy] = [sy, sx];
    th += Math.PI / 2;
  }
  const angle = ((((th * 180) / Math.PI) % 180) + 180) % 180;
  const resid = new Float64Array(H * W);
  residuals(fit.params, resid);
  const c = Math.cos(th);
  const sn = Math.sin(th);
  // Within 3σ of the centre along both axes of the fitted ellipse.
  const r2 = localRSquared(img, resid, H, W, x0, y0, (dx, dy) => ((dx * c + dy * sn) / sx) ** 2 + ((-dx * sn + dy * c) / sy) ** 2 <= 9);
  const reason = rfProblem(A, x0, y0, [sx, sy], H, W, r2, limits);
  if (reason) return failedGaussian(reason);
  return { ok: true, reason: "", centerRow: y0, centerCol: x0, sigmaX: sx, sigmaY: sy, angleDeg: angle, amplitude: A, offset: b, rSquared: r2 };
}

export function fitDog(img: ArrayLike<number>, H: number, W: number, start: GaussianFit, limits: FitLimits): DogFit {
  if (!start.ok) return failedDog("no Gaussian fit to start from");
  const sc = Math.sqrt(start.sigmaX * start.sigmaY);
  const p0 = [start.amplitude * 1.1, start.amplitude * 0.1, Math.log(sc), 0, start.centerCol, start.centerRow, start.offset];
  const residuals = dogResiduals(img, H, W);
  const fit = levenbergMarquardt(residuals, p0, H * W, { maxIterations: limits.max_iterations }, dogJacobian(H, W));
  if (!fit.converged) return failedDog(`DoG fit did not converge in ${fit.iterations} iterations`);
  const [ac, as, lsc, q, x0, y0, b] = fit.params;
  const sC = Math.exp(lsc);
  const sS = sC * (1 + Math.exp(q));
  const resid = new Float64Array(H * W);
  residuals(fit.params, resid);
  // Centre and the surround's near part: within max(3σc, 2σs) of the centre.
  const reach = Math.max(3 * sC, 2 * sS) ** 2;
  const r2 = localRSquared(img, resid, H, W, x0, y0, (dx, dy) => dx * dx + dy * dy <= reach);
  if (!(as >= 0)) return failedDog(`surround amplitude ${as.toPrecision(3)} < 0: no antagonistic surround`);
  if (!(ac > as)) return failedDog(`surround amplitude ${as.toPrecision(3)} ≥ centre amplitude ${ac.toPrecision(3)}`);
  if (sS > 2 * Math.max(H, W)) return failedDog(`surround σ ${sS.toPrecision(3)} px is larger than twice the grid`);
  const reason = rfProblem(ac - as, x0, y0, [sC], H, W, r2, limits);
  if (reason) return failedDog(reason);
  return { ok: true, reason: "", centerRow: y0, centerCol: x0, sigmaCenter: sC, sigmaSurround: sS, ampCenter: ac, ampSurround: as, offset: b, rSquared: r2 };
}

/** Gaussian residuals, parameters [A, x0, y0, log σx, log σy, θ, b]. */
export function gaussianResiduals(img: ArrayLike<number>, H: number, W: number): Residuals {
  return (p, out) => {
    const [A, x0, y0, lsx, lsy, th, b] = p;
    const c = Math.cos(th);
    const s = Math.sin(th);
    const ix = Math.exp(-2 * lsx);
    const iy = Math.exp(-2 * lsy);
    for (let y = 0, i = 0; y < H; y++) {
      for (let x = 0; x < W; x++, i++) {
        const dx = x - x0;
        const dy = y - y0;
        const u = dx * c + dy * s;
        const v = -dx * s + dy * c;
        out[i] = A * Math.exp(-0.5 * (u * u * ix + v * v * iy)) + b - img[i];
      }
    }
  };
}

/** ∂(Gaussian residual)/∂p, analytic (one exp per pixel instead of eight for finite differences). */
export function gaussianJacobian(H: number, W: number): Jacobian {
  return (p, J) => {
    const [A, x0, y0, lsx, lsy, th] = p;
    const c = Math.cos(th);
    const s = Math.sin(th);
    const ix = Math.exp(-2 * lsx);
    const iy = Math.exp(-2 * lsy);
    for (let y = 0, i = 0; y < H; y++) {
      for (let x = 0; x < W; x++, i++) {
        const dx = x - x0;
        const dy = y - y0;
        const u = dx * c + dy * s;
        const v = -dx * s + dy * c;
        const E = Math.exp(-0.5 * (u * u * ix + v * v * iy));
        const k = -A * E; // ∂g/∂Q, with g = A·exp(−Q) + b
        const row = i * 7;
        J[row] = E;
        J[row + 1] = k * (-u * ix * c + v * iy * s);
        J[row + 2] = k * (-u * ix * s - v * iy * c);
        J[row + 3] = k * (-u * u * ix);
        J[row + 4] = k * (-v * v * iy);
        J[row + 5] = k * (u * v * (ix - iy));
        J[row + 6] = 1;
      }
    }
  };
}

/** DoG residuals, parameters [Ac, As, log σc, q, x0, y0, b] with σs = σc·(1 + e^q). */
export function dogResiduals(img: ArrayLike<number>, H: number, W: number): Residuals {
  return (p, out) => {
    const [ac, as, lsc, q, x0, y0, b] = p;
    const kc = 0.5 * Math.exp(-2 * lsc);
    const ks = kc / (1 + Math.exp(q)) ** 2;
    for (let y = 0, i = 0; y < H; y++) {
      for (let x = 0; x < W; x++, i++) {
        const r2 = (x - x0) ** 2 + (y - y0) ** 2;
        out[i] = ac * Math.exp(-r2 * kc) - as * Math.exp(-r2 * ks) + b - img[i];
      }
    }
  };
}

export function dogJacobian(H: number, W: number): Jacobian {
  return (p, J) => {
    const [ac, as, lsc, q, x0, y0] = p;
    const eq = Math.exp(q);
    const kc = 0.5 * Math.exp(-2 * lsc);
    const ks = kc / (1 + eq) ** 2;
    for (let y = 0, i = 0; y < H; y++) {
      for (let x = 0; x < W; x++, i++) {
        const dx = x - x0;
        const dy = y - y0;
        const r2 = dx * dx + dy * dy;
        const ec = Math.exp(-r2 * kc);
        const es = Math.exp(-r2 * ks);
        const radial = ac * ec * kc - as * es * ks; // shared by the centre and σ derivatives
        const row = i * 7;
        J[row] = ec;
        J[row + 1] = -es;
        J[row + 2] = 2 * r2 * radial;
        J[row + 3] = (-2 * as * es * r2 * ks * eq) / (1 + eq);
        J[row + 4] = 2 * dx * radial;
        J[row + 5] = 2 * dy * radial;
        J[row + 6] = 1;
      }
    }
  };
}

function rfProblem(amplitude: number, x0: number, y0: number, sigmas: number[], H: number, W: number, r2: number, limits: FitLimits): string | undefined {
  if (!(amplitude > 0)) return `fitted amplitude ${amplitude.toPrecision(3)} is not positive`;
  if (!(x0 >= -0.5 && x0 <= W - 0.5 && y0 >= -0.5 && y0 <= H - 0.5)) return `fitted centre (row ${y0.toFixed(2)}, col ${x0.toFixed(2)}) is off the ${H}×${W} grid`;
  for (const s of sigmas) {
    if (!(s >= limits.min_sigma)) return `fitted σ ${s.toPrecision(3)} px is below ${limits.min_sigma} px (a single noisy pixel)`;
    if (!(s <= Math.max(H, W))) return `fitted σ ${s.toPrecision(3)} px is larger than the grid`;
  }
  if (!(r2 >= limits.min_r2)) return `r² ${Number.isNaN(r2) ? "NaN" : r2.toFixed(3)} is below ${limits.min_r2}`;
  return undefined;
}
