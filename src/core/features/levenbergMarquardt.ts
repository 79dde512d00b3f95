/**
 * A small Levenberg–Marquardt least-squares solver for the receptive-field fits (a handful of
 * parameters, a few hundred pixels). Minimises Σ r_i(p)² with Marquardt's scaling
 * (JᵀJ + λ·diag(JᵀJ)) δ = −Jᵀr (Marquardt 1963, SIAM J Appl Math 11:431; Madsen, Nielsen &
 * Tingleff 2004, "Methods for non-linear least squares problems", §3.2), the model's analytic
 * Jacobian when given (else forward differences), and λ shrunk ×1/3 after a step that lowers the cost, grown ×4 after one that does not.
 *
 * Deterministic (no randomness, fixed iteration caps) and allocation-light: the buffers are made once
 * per call. It reports whether it converged instead of throwing, so a failed fit is data.
 */

export interface LmOptions {
  maxIterations: number;
  /**
   * Converged when an accepted step lowers the cost by less than this fraction, or moves no
   * parameter by more than this fraction of its size. 1e-7 is far below any meaningful change of a
   * fitted RF (the data are noisy at the % level) and stops the slow crawl along a flat valley, e.g.
   * a DoG surround that is not there.
   */
  relativeTolerance: number;
}

export const LM_DEFAULTS: LmOptions = { maxIterations: 100, relativeTolerance: 1e-7 };

export interface LmResult {
  params: Float64Array;
  /** Σ r² at `params`. */
  cost: number;
  iterations: number;
  converged: boolean;
}

/** `residuals(p, out)` writes the m residuals of parameters p into out. */
export type Residuals = (p: Float64Array, out: Float64Array) => void;
/** `jacobian(p, J)` writes ∂r_i/∂p_j into J[i·n + j] (row-major m × n). */
export type Jacobian = (p: Float64Array, J: Float64Array) => void;

export function levenbergMarquardt(
  residuals: Residuals,
  p0: ArrayLike<number>,
  m: number,
  options: Partial<LmOptions> = {},
  jacobian?: Jacobian,
): LmResult {
  const o = { ...LM_DEFAULTS, ...options };
  const n = p0.length;
  const p = Float64Array.from(p0);
  const r = new Float64Array(m);
  const rTrial = new Float64Array(m);
  const rStep = new Float64Array(m);
  const J = new Float64Array(m * n);
  const A = new Float64Array(n * n);
  const g = new Float64Array(n);
  const M = new Float64Array(n * n);
  const delta = new Float64Array(n);
  const trial = new Float64Array(n);

  residuals(p, r);
  let cost = sumSq(r);
  if (!Number.isFinite(cost)) return { params: p, cost, iterations: 0, converged: false };
  let lambda = 1e-3;
  let converged = false;
  let it = 0;
  for (; it < o.maxIterations && !converged; it++) {
    if (jacobian) jacobian(p, J);
    else numericJacobian(residuals, p, r, rStep, J, m, n);
    A.fill(0);
    g.fill(0);
    for (let i = 0; i < m; i++) {
      const row = i * n;
      for (let a = 0; a < n; a++) {
        const ja = J[row + a];
        if (ja === 0) continue;
        g[a] += ja * r[i];
        for (let b = a; b < n; b++) A[a * n + b] += ja * J[row + b];
      }
    }
    for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) A[a * n + b] = A[b * n + a];

    let improved = false;
    while (!improved) {
      M.set(A);
      for (let a = 0; a < n; a++) M[a * n + a] += lambda * Math.max(A[a * n + a], 1e-12);
      for (let a = 0; a < n; a++) delta[a] = -g[a];
      if (!solveInPlace(M, delta, n)) {
        lambda *= 4;
        if (lambda > 1e12) break;
        continue;
      }
      for (let a = 0; a < n; a++) trial[a] = p[a] + delta[a];
      residuals(trial, rTrial);
      const c = sumSq(rTrial);
      if (Number.isFinite(c) && c < cost) {
        improved = true;
        const drop = (cost - c) / Math.max(cost, 1e-300);
        let move = 0;
        for (let a = 0; a < n; a++) move = Math.max(move, Math.abs(delta[a]) / (Math.abs(p[a]) + 1e-12));
        p.set(trial);
        r.set(rTrial);
        cost = c;
        lambda = Math.max(lambda / 3, 1e-12);
        if (drop < o.relativeTolerance || move < o.relativeTolerance) converged = true;
      } else {
        lambda *= 4;
        if (lambda > 1e12) break;
      }
    }
    // λ blew up: no direction lowers the cost any more, i.e. we sit in a minimum (to precision).
    if (!improved) {
      converged = true;
      break;
    }
  }
  return { params: p, cost, iterations: it, converged };
}

/** Forward differences, one extra residual evaluation per parameter. */
export function numericJacobian(residuals: Residuals, p: Float64Array, r: Float64Array, rStep: Float64Array, J: Float64Array, m: number, n: number): void {
  for (let j = 0; j < n; j++) {
    const h = 1e-6 * Math.max(1, Math.abs(p[j]));
    const keep = p[j];
    p[j] = keep + h;
    residuals(p, rStep);
    p[j] = keep;
    for (let i = 0; i < m; i++) J[i * n + j] = (rStep[i] - r[i]) / h;
  }
}

function sumSq(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** Solves M x = b (M n×n, overwritten) by Gaussian elimination with partial pivoting; b becomes x. */
export function solveInPlace(M: Float64Array, b: Float64Array, n: number): boolean {
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i * n + k]) > Math.abs(M[piv * n + k])) piv = i;
    const pv = M[piv * n + k];
    if (!(Math.abs(pv) > 1e-300) || !Number.isFinite(pv)) return false;
    if (piv !== k) {
      for (let j = 0; j < n; j++) {
        const t = M[k * n + j];
        M[k * n + j] = M[piv * n + j];
        M[piv * n + j] = t;
      }
      const t = b[k];
      b[k] = b[piv];
      b[piv] = t;
    }
    for (let i = k + 1; i < n; i++) {
      const f = M[i * n + k] / pv;
      if (f === 0) continue;
      for (let j = k; j < n; j++) M[i * n + j] -= f * M[k * n + j];
      b[i] -= f * b[k];
    }
  }
  for (let k = n - 1; k >= 0; k--) {
    let s = b[k];
    for (let j = k + 1; j < n; j++) s -= M[k * n + j] * b[j];
    b[k] = s / M[k * n + k];
    if (!Number.isFinite(b[k])) return false;
  }
  return true;
}
