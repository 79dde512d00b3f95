/**
 * Butterworth high-pass design as second-order sections, the way
 * `scipy.signal.butter(order, cutoff / (0.5 * rate), btype="high", output="sos")` builds it
 * (the lab's eimage STA filter, domain brief §3.1):
 *
 *   buttap (analog prototype poles on the unit circle) → lp2hp_zpk (p → wo / p, N zeros at 0)
 *   → bilinear_zpk (fs = 2, pre-warped wo = 4·tan(π·Wn / 2)) → zpk2sos ("nearest" pairing).
 *
 * Each step repeats scipy's arithmetic in the same order, complex division included (numpy's
 * Smith algorithm). The coefficients agree with scipy to about one unit in the last place, not
 * always to the bit: numpy's vectorised complex multiply uses fused multiply-add on CPUs that have
 * it, and the result varies with the numpy build (scipy 1.17 / numpy 2.4 and Debian's scipy 1.10 /
 * numpy 1.24 differ from each other by that much). tests/core/eimage checks against scipy's output.
 *
 * A section is `[b0, b1, b2, a0, a1, a2]` with a0 = 1; `sos` holds them back to back.
 */

/** Second-order sections, 6 coefficients each, in filtering order. */
export interface Sos {
  sections: number;
  coefficients: Float64Array;
}

export function butterworthHighpassSos(order: number, cutoffHz: number, rate: number): Sos {
  if (!Number.isInteger(order) || order < 1) throw new Error(`filter order must be a whole number ≥ 1, got ${order}`);
  const nyquist = 0.5 * rate;
  // The lab normalises by the Nyquist frequency (cutoff / (0.5·rate)), as scipy does with fs given.
  const wn = cutoffHz / nyquist;
  if (!(wn > 0 && wn < 1)) {
    throw new Error(`cutoff ${cutoffHz} Hz must lie strictly between 0 and the Nyquist frequency ${nyquist} Hz`);
  }

  // buttap: p = −exp(iπm / 2N), m = −N+1, −N+3, …, N−1. numpy computes (iπ·m) / (2N) by complex
  // division, i.e. times the reciprocal 1/(2N).
  const scale = 1 / (2 * order);
  const poles: Complex[] = [];
  for (let m = -order + 1; m < order; m += 2) {
    const angle = Math.PI * m * scale;
    poles.push([-Math.cos(angle), -Math.sin(angle)]);
  }

  // Pre-warp for the bilinear transform with fs = 2.
  const warped = 2 * 2 * Math.tan((Math.PI * wn) / 2);

  // lp2hp_zpk: p → wo / p; the N zeros go to the origin; k = real(1 / prod(−p)) over the prototype poles.
  const hpPoles = poles.map((p) => cdiv([warped, 0], p));
  let prodNeg: Complex = [1, 0];
  for (const p of poles) prodNeg = cmul(prodNeg, [-p[0], -p[1]]);
  const kHp = cdiv([1, 0], prodNeg)[0];

  // bilinear_zpk with fs2 = 4: z → (4 + z) / (4 − z) (zeros at 0 → 1),
  // k_z = k · real(prod(4 − z) / prod(4 − p)) = k · real(4^N / prod(4 − p)).
  const fs2 = 4;
  const zPoles = hpPoles.map((p) => cdiv([fs2 + p[0], p[1]], [fs2 - p[0], -p[1]]));
  let prodDen: Complex = [1, 0];
  for (const p of hpPoles) prodDen = cmul(prodDen, [fs2 - p[0], -p[1]]);
  let prodNum = 1;
  for (let i = 0; i < order; i++) prodNum *= fs2;
  const gain = kHp * cdiv([prodNum, 0], prodDen)[0];

  const zZeros: Complex[] = Array.from({ length: order }, () => [1, 0]);
  return zpkToSos(zZeros, zPoles, gain);
}

type Complex = [number, number];

function cmul(a: Complex, b: Complex): Complex {
  return [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
}

/** numpy's complex division (Smith's algorithm, scaled by a reciprocal), operation for operation. */
function cdiv(a: Complex, b: Complex): Complex {
  const [ar, ai] = a;
  const [br, bi] = b;
  if (Math.abs(br) >= Math.abs(bi)) {
    const rat = bi / br;
    const scl = 1.0 / (br + bi * rat);
    return [(ar + ai * rat) * scl, (ai - ar * rat) * scl];
  }
  const rat = br / bi;
  const scl = 1.0 / (bi + br * rat);
  return [(ar * rat + ai) * scl, (ai * rat - ar) * scl];
}

/**
 * scipy's zpk2sos with "nearest" pairing (digital): pad an odd count with a pole and a zero at the
 * origin; keep one of each conjugate pair; then, filling sections from the last to the first, take
 * the pole closest to the unit circle ("worst"), pair it with its conjugate (or, if real, with the
 * next worst real pole) and with the nearest zero(s); finally the gain goes into the first section.
 * The Butterworth high-pass has N zeros at z = 1, so odd orders give one section with zeros {1, 0}
 * or, when a pole lies nearer the origin than 1, the origin zero moves to that pole's section.
 */
function zpkToSos(zeros: Complex[], poles: Complex[], gain: number): Sos {
  let z = zeros.slice();
  let p = poles.slice();
  if (p.length % 2 === 1) {
    p.push([0, 0]);
    z.push([0, 0]);
  }
  const n = p.length / 2;
  z = conjugateRepresentatives(z);
  p = conjugateRepresentatives(p);
  const coefficients = new Float64Array(n * 6);
  const take = (list: Complex[], i: number) => list.splice(i, 1)[0];
  for (let si = n - 1; si >= 0; si--) {
    const p1 = take(p, argmin(p, distanceToUnitCircle));
    let sectionZeros: Complex[];
    let sectionPoles: Complex[];
    if (isReal(p1) && !p.some(isReal)) {
      // Last remaining real pole: with the nearest real zero and the origin.
      const z1 = take(z, nearest(z, p1, "real"));
      sectionZeros = [z1, [0, 0]];
      sectionPoles = [p1, [0, 0]];
    } else if (p.length + 1 === z.length && !isReal(p1) && p.filter(isReal).length === 1 && z.filter(isReal).length === 1) {
      // scipy's special case (2) needs a complex zero, which a Butterworth high-pass never has.
      throw new Error("zpk2sos: a complex zero is needed to pair the poles (not a Butterworth high-pass)");
    } else {
      let p2: Complex;
      if (isReal(p1)) {
        const reals = p.map((q, i) => [q, i] as const).filter(([q]) => isReal(q));
        p2 = take(p, reals[argmin(reals.map(([q]) => q), distanceToUnitCircle)][1]);
      } else {
        p2 = [p1[0], -p1[1]];
      }
      sectionPoles = [p1, p2];
      sectionZeros = [];
      if (z.length) {
        const z1 = take(z, nearest(z, p1, "any"));
        if (!isReal(z1)) sectionZeros = [z1, [z1[0], -z1[1]]];
        else if (z.length) sectionZeros = [z1, take(z, nearest(z, p1, "real"))];
        else sectionZeros = [z1];
      }
    }
    const b = realPoly(sectionZeros);
    const a = realPoly(sectionPoles);
    // _single_zpksos: right-aligned in [b0 b1 b2 | a0 a1 a2].
    coefficients.set(b, 6 * si + 3 - b.length);
    coefficients.set(a, 6 * si + 6 - a.length);
  }
  for (let i = 0; i < 3; i++) coefficients[i] *= gain;
  return { sections: n, coefficients };
}

/** `_cplxreal`: one of each conjugate pair (positive imaginary part, averaged with its partner), then
 * the real ones, each group sorted by real part. */
function conjugateRepresentatives(values: Complex[]): Complex[] {
  const sorted = values.slice().sort((x, y) => x[0] - y[0] || Math.abs(x[1]) - Math.abs(y[1]));
  const tol = 100 * Number.EPSILON;
  const real = (q: Complex) => Math.abs(q[1]) <= tol * Math.hypot(q[0], q[1]);
  const reals: Complex[] = sorted.filter(real).map((q) => [q[0], 0]);
  const complex = sorted.filter((q) => !real(q));
  const positive = complex.filter((q) => q[1] > 0);
  const negative = complex.filter((q) => q[1] < 0);
  if (positive.length !== negative.length) throw new Error("poles or zeros are not in conjugate pairs");
  const reps: Complex[] = positive.map((q, i) => [(q[0] + negative[i][0]) / 2, (q[1] - negative[i][1]) / 2]);
  return [...reps, ...reals];
}

function isReal(q: Complex): boolean {
  return q[1] === 0;
}

/** Index of the first minimum of f over the list (numpy argmin). */
function argmin(list: readonly Complex[], f: (q: Complex) => number): number {
  let best = 0;
  for (let i = 1; i < list.length; i++) if (f(list[i]) < f(list[best])) best = i;
  return best;
}

/** `_nearest_real_complex_idx`: the element of `list` nearest `to`, among all or only real ones. */
function nearest(list: readonly Complex[], to: Complex, which: "any" | "real"): number {
  let best = -1;
  for (let i = 0; i < list.length; i++) {
    if (which === "real" && !isReal(list[i])) continue;
    const d = Math.hypot(list[i][0] - to[0], list[i][1] - to[1]);
    if (best < 0 || d < Math.hypot(list[best][0] - to[0], list[best][1] - to[1])) best = i;
  }
  if (best < 0) throw new Error("zpk2sos: no real zero left to pair with a pole");
  return best;
}

/** numpy.poly of up to two roots (a conjugate pair or reals), real coefficients. */
function realPoly(roots: readonly Complex[]): number[] {
  if (roots.length === 0) return [1];
  if (roots.length === 1) return [1, -roots[0][0]];
  const [[r0, i0], [r1, i1]] = roots;
  // convolve([1, −q0], [1, −q1]): [1, −q1 + −q0, (−q0)·(−q1)], real parts.
  return [1, -r1 + -r0, -r0 * -r1 - -i0 * -i1];
}

function distanceToUnitCircle(p: Complex): number {
  return Math.abs(1 - Math.hypot(p[0], p[1]));
}
