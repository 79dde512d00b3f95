import { describe, expect, it } from "vitest";
import { levenbergMarquardt, numericJacobian } from "../../../src/core/features/levenbergMarquardt.ts";
import { dogJacobian, dogResiduals, gaussianJacobian, gaussianResiduals } from "../../../src/core/features/rfFits.ts";
import { FeatureNotApplicable } from "../../../src/core/features/notApplicable.ts";
import { rfGeometry, rfGeometryFeature, RF_GEOMETRY_DEFAULTS } from "../../../src/core/features/rfGeometry.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { makeUnit } from "../fixtures/exampleSession.ts";
import { contextFor } from "./syntheticTrials.ts";

const T = 60;
const H = 15;
const W = 15;
/** Biphasic temporal kernel peaking a few frames before the spike (index 59 is the last frame). */
const kernel = (i: number) => {
  const lag = T - i;
  return Math.exp(-(((lag - 6) / 2.5) ** 2)) - 0.4 * Math.exp(-(((lag - 12) / 4) ** 2));
};

/** A raw-pixel STA: mean 127.5 + polarity·gain·k(t)·RF(x, y) + Gaussian noise. */
function syntheticSta(rf: (row: number, col: number) => number, gain: number, noise: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  const sta = new Float32Array(T * H * W);
  for (let t = 0; t < T; t++) for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) sta[(t * H + r) * W + c] = 127.5 + gain * kernel(t) * rf(r, c) + noise * rng.gauss();
  return sta;
}

function gaussianRf(row0: number, col0: number, sx: number, sy: number, angleDeg: number) {
  const a = (angleDeg * Math.PI) / 180;
  return (r: number, c: number) => {
    const dx = c - col0;
    const dy = r - row0;
    const u = dx * Math.cos(a) + dy * Math.sin(a);
    const v = -dx * Math.sin(a) + dy * Math.cos(a);
    return Math.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2));
  };
}

const num = (d: Tree, k: string) => Number((d[k] as NDArray).data[0]);

describe("rf_geometry", () => {
  it("recovers a Gaussian RF built into a synthetic OFF-cell STA", () => {
    const sta = syntheticSta(gaussianRf(6.3, 8.1, 1.8, 1.2, 30), -40, 2, 1);
    const out = rfGeometry(sta, [T, H, W], RF_GEOMETRY_DEFAULTS);
    const g = out.gaussian as Tree;
    expect(num(g, "fit_ok")).toBe(1);
    expect(g.reason).toBe("");
    expect(num(g, "center_row")).toBeCloseTo(6.3, 1);
    expect(num(g, "center_col")).toBeCloseTo(8.1, 1);
    expect(Math.abs(num(g, "sigma_x") / 1.8 - 1)).toBeLessThan(0.1);
    expect(Math.abs(num(g, "sigma_y") / 1.2 - 1)).toBeLessThan(0.1);
    expect(Math.abs(num(g, "angle_deg") - 30)).toBeLessThan(8);
    expect(num(g, "r_squared")).toBeGreaterThan(0.95);
    expect(num(out, "polarity")).toBe(-1);
    expect(num(out, "peak_lag_frames")).toBe(6);
    expect(num(out, "rank1_fraction")).toBeGreaterThan(0.3); // σ = 2 noise on every one of the 13,500 values
    expect((out.spatial_component as NDArray).shape).toEqual([H, W]);
  });

  it("recovers a centre–surround RF with the DoG fit", () => {
    const dog = (r: number, c: number) => {
      const d2 = (r - 7) ** 2 + (c - 7.5) ** 2;
      return Math.exp(-d2 / (2 * 1.2 ** 2)) - 0.3 * Math.exp(-d2 / (2 * 3.5 ** 2));
    };
    const out = rfGeometry(syntheticSta(dog, 50, 1, 2), [T, H, W], RF_GEOMETRY_DEFAULTS);
    const d = out.dog as Tree;
    expect(num(d, "fit_ok")).toBe(1);
    expect(num(d, "sigma_center")).toBeCloseTo(1.2, 1);
    expect(Math.abs(num(d, "sigma_surround") / 3.5 - 1)).toBeLessThan(0.15);
    expect(num(d, "amp_surround") / num(d, "amp_center")).toBeCloseTo(0.3, 1);
    expect(num(d, "r_squared")).toBeGreaterThan(0.95);
    expect(num(out, "polarity")).toBe(1);
  });

  it("marks a pure-noise STA as a failed fit: fit_ok 0, NaN values and a reason", () => {
    for (const seed of [3, 4, 5]) {
      const out = rfGeometry(syntheticSta(() => 0, 0, 20, seed), [T, H, W], RF_GEOMETRY_DEFAULTS);
      const g = out.gaussian as Tree;
      expect(num(g, "fit_ok")).toBe(0);
      expect(num(g, "center_row")).toBeNaN();
      expect(num(g, "sigma_x")).toBeNaN();
      expect(typeof g.reason === "string" && g.reason.length > 0).toBe(true);
      expect(num(out.dog as Tree, "fit_ok")).toBe(0);
    }
  });

  it("fails an all-NaN STA (no spike used) with that reason", () => {
    const out = rfGeometry(new Float32Array(T * H * W).fill(Number.NaN), [T, H, W], RF_GEOMETRY_DEFAULTS);
    expect((out.gaussian as Tree).reason).toMatch(/all NaN/);
    expect(num(out.gaussian as Tree, "fit_ok")).toBe(0);
  });

  it("reads features/sta_<movie>/data and is not applicable without it", () => {
    const movie = "perfect_dense_noise_15x15_15hz_r42_3min";
    const ctx = contextFor({ [movie]: { sectionStart: 0, trialStartsS: [0], trialS: 180 } });
    const unit = makeUnit(1, []);
    expect(() => rfGeometryFeature.extract(unit, ctx)).toThrow(FeatureNotApplicable);
    unit.children.features = { [`sta_${movie}`]: { data: new NDArray(syntheticSta(gaussianRf(7, 7, 1.5, 1.5, 0), 40, 2, 6), [T, H, W]) } };
    const d = rfGeometryFeature.extract(unit, ctx)[movie] as Tree;
    expect(num(d.gaussian as Tree, "fit_ok")).toBe(1);
    expect(rfGeometryFeature.check!(contextFor({ step_up: { sectionStart: 0, trialStartsS: [0], trialS: 1 } }))).toMatch(/no movie matching/);
  });

  it("Levenberg–Marquardt solves a small nonlinear least-squares problem", () => {
    // y = a·exp(−b·x), a = 3, b = 0.7, exact data.
    const xs = Array.from({ length: 20 }, (_, i) => i * 0.25);
    const fit = levenbergMarquardt((p, out) => xs.forEach((x, i) => (out[i] = p[0] * Math.exp(-p[1] * x) - 3 * Math.exp(-0.7 * x))), [1, 0.1], xs.length);
    expect(fit.converged).toBe(true);
    expect(fit.params[0]).toBeCloseTo(3, 6);
    expect(fit.params[1]).toBeCloseTo(0.7, 6);
  });
});

describe("rf fit Jacobians", () => {
  it("match finite differences of the residuals", () => {
    const H = 7;
    const W = 9;
    const img = new Float64Array(H * W);
    const m = H * W;
    const cases: [ReturnType<typeof gaussianResiduals>, ReturnType<typeof gaussianJacobian>, number[]][] = [
      [gaussianResiduals(img, H, W), gaussianJacobian(H, W), [1.3, 4.2, 3.1, 0.3, -0.2, 0.7, 0.1]],
      [dogResiduals(img, H, W), dogJacobian(H, W), [1.5, 0.4, 0.2, 0.5, 4.4, 2.9, -0.1]],
    ];
    for (const [res, jac, p0] of cases) {
      const p = Float64Array.from(p0);
      const J = new Float64Array(m * 7);
      const Jn = new Float64Array(m * 7);
      jac(p, J);
      const r = new Float64Array(m);
      res(p, r);
      numericJacobian(res, p, r, new Float64Array(m), Jn, m, 7);
      for (let i = 0; i < J.length; i++) expect(J[i]).toBeCloseTo(Jn[i], 4);
    }
  });
});
