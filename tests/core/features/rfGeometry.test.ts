import { describe, expect, it } from "vitest";
import { levenbergMarquardt, numericJacobian } from "../../../src/core/features/levenbergMarquardt.ts";
import { dogJacobian, dogResiduals, gaussianJacobian, gaussianResiduals } from "../../../src/core/features/rfFits.ts";
import { FeatureNotApplicable } from "../../../src/core/features/notApplicable.ts";
import { rfGeometry, rfGeometryFeature, RF_GEOMETRY_DEFAULTS } from "../../../src/core/features/rfGeometry.ts";
import { FAILED_FIT_CENTER, STA_GEOMETRY } from "../../../src/core/features/resultPlaces.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { makeUnit } from "../fixtures/exampleSession.ts";
import { heldNoiseMovie, simulatedSta, simulateSpikeFrames } from "./heldNoiseCells.ts";
import { contextFor } from "../../../tools/syntheticTrials.ts";

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
    const g = out.gaussian_fit as Tree;
    expect(num(g, "fit_ok")).toBe(1);
    expect(g.reason).toBe("");
    expect(Math.abs(num(g, "center_y") - 6.3)).toBeLessThan(0.15);
    expect(Math.abs(num(g, "center_x") - 8.1)).toBeLessThan(0.15);
    expect(num(out, "center_row")).toBe(num(g, "center_y"));
    expect(num(out, "center_col")).toBe(num(g, "center_x"));
    expect(Math.abs(num(g, "sigma_x") / 1.8 - 1)).toBeLessThan(0.1);
    expect(Math.abs(num(g, "sigma_y") / 1.2 - 1)).toBeLessThan(0.1);
    expect(Math.abs(num(g, "angle_deg") - 30)).toBeLessThan(8);
    expect(num(g, "theta")).toBeCloseTo((num(g, "angle_deg") * Math.PI) / 180, 12);
    // The amplitude is in the STA's units at the peak lag: 40 × kernel(peak) ≈ 40 (the centre pixel's dip).
    expect(Math.abs(num(g, "amplitude") / 40 - 1)).toBeLessThan(0.15);
    expect(num(g, "r_squared")).toBeGreaterThan(0.95);
    expect(num(out, "polarity")).toBe(-1);
    expect(num(out, "peak_lag_frames")).toBe(6);
    expect(num(out, "peak_frame")).toBe(T - 6);
    expect(num(out, "rank1_fraction")).toBeGreaterThan(0.5);
    expect((out.spatial_component as NDArray).shape).toEqual([H, W]);
    // sta_time_course: the STA at the centre pixel (6, 8) minus its mean, negative at the peak (OFF).
    const tc = (out.sta_time_course as NDArray).data as Float64Array;
    expect(tc.length).toBe(T);
    expect(tc.indexOf(Math.min(...tc))).toBe(T - 6);
  });

  it("recovers a centre–surround RF with the DoG fit", () => {
    const dog = (r: number, c: number) => {
      const d2 = (r - 7) ** 2 + (c - 7.5) ** 2;
      return Math.exp(-d2 / (2 * 1.2 ** 2)) - 0.3 * Math.exp(-d2 / (2 * 3.5 ** 2));
    };
    const out = rfGeometry(syntheticSta(dog, 50, 1, 2), [T, H, W], RF_GEOMETRY_DEFAULTS);
    const d = out.DoG as Tree;
    expect(num(d, "fit_ok")).toBe(1);
    expect(num(d, "sigma_exc")).toBeCloseTo(1.2, 1);
    expect(Math.abs(num(d, "sigma_inh") / 3.5 - 1)).toBeLessThan(0.15);
    expect(num(d, "amp_inh") / num(d, "amp_exc")).toBeCloseTo(0.3, 1);
    expect(num(d, "center_y")).toBeCloseTo(7, 1);
    expect(num(d, "center_x")).toBeCloseTo(7.5, 1);
    expect(num(d, "r_squared")).toBeGreaterThan(0.95);
    expect(num(out, "polarity")).toBe(1);
  });

  it("marks a pure-noise STA as a failed fit: fit_ok 0, NaN values, a reason, and the lab's −5.0 centre", () => {
    for (const seed of [3, 4, 5]) {
      const out = rfGeometry(syntheticSta(() => 0, 0, 20, seed), [T, H, W], RF_GEOMETRY_DEFAULTS);
      const g = out.gaussian_fit as Tree;
      expect(num(g, "fit_ok")).toBe(0);
      expect(num(g, "center_y")).toBeNaN();
      expect(num(g, "sigma_x")).toBeNaN();
      expect(g.reason).toMatch(/no response above the noise/);
      expect(num(out.DoG as Tree, "fit_ok")).toBe(0);
      expect(num(out, "center_row")).toBe(FAILED_FIT_CENTER);
      expect(num(out, "center_col")).toBe(-5);
      expect(num(out, "response_z")).toBeLessThan(RF_GEOMETRY_DEFAULTS.min_response_z);
    }
  });

  it("fails an all-NaN STA (no spike used) with that reason", () => {
    const out = rfGeometry(new Float32Array(T * H * W).fill(Number.NaN), [T, H, W], RF_GEOMETRY_DEFAULTS);
    expect((out.gaussian_fit as Tree).reason).toMatch(/all NaN/);
    expect(num(out.gaussian_fit as Tree, "fit_ok")).toBe(0);
    expect(num(out, "center_row")).toBe(-5);
    expect(num(out, "peak_frame")).toBe(-1);
  });

  it("reads features/sta_<movie>/data and is not applicable without it", () => {
    const movie = "perfect_dense_noise_15x15_15hz_r42_3min";
    const ctx = contextFor({ [movie]: { sectionStart: 0, trialStartsS: [0], trialS: 180 } });
    const unit = makeUnit(1, []);
    expect(() => rfGeometryFeature.extract(unit, ctx)).toThrow(FeatureNotApplicable);
    unit.children.features = { [`sta_${movie}`]: { data: new NDArray(syntheticSta(gaussianRf(7, 7, 1.5, 1.5, 0), 40, 2, 6), [T, H, W]) } };
    const d = (rfGeometryFeature.extract(unit, ctx)[movie] as Tree)[STA_GEOMETRY.key] as Tree;
    expect(num(d.gaussian_fit as Tree, "fit_ok")).toBe(1);
    expect(rfGeometryFeature.placed).toEqual([STA_GEOMETRY]);
    expect(STA_GEOMETRY.unitPath(movie)).toEqual(["features", `sta_${movie}`, "sta_geometry"]);
    expect(rfGeometryFeature.check!(contextFor({ step_up: { sectionStart: 0, trialStartsS: [0], trialS: 1 } }))).toMatch(/no movie matching/);
  });

  it("finds real fields in STAs of simulated cells driven by held-pattern noise (15 Hz patterns on 60 Hz)", () => {
    // The lab's dense noise holds each pattern 4 display frames, so each pixel's mean over a finite
    // set of spikes is offset alike at every lag; the rank-1 fit must see the response, not that.
    const rng = new Prng(19);
    const rows: { spikes: number; centreError: number; polarityRight: boolean; lagRight: boolean }[] = [];
    for (const [size, cells] of [[8, 7], [15, 8], [24, 6], [40, 4]] as const) {
      const movie = heldNoiseMovie(size, size, 120, 1000 + size);
      for (let i = 0; i < cells; i++) {
        const cell = {
          row: rng.uniform(1, size - 2),
          col: rng.uniform(1, size - 2),
          sigma: rng.uniform(0.8, Math.min(3, size / 4)),
          polarity: (rng.next() < 0.5 ? 1 : -1) as 1 | -1,
          spikes: Math.round(rng.uniform(300, 3000)),
          latencyFrames: 3,
          gain: rng.uniform(0.8, 1.5),
        };
        const { sta, shape } = simulatedSta(movie, simulateSpikeFrames(movie, cell, rows.length + 1));
        const out = rfGeometry(sta, shape, RF_GEOMETRY_DEFAULTS);
        const g = out.gaussian_fit as Tree;
        const ok = num(g, "fit_ok") === 1;
        rows.push({
          spikes: cell.spikes,
          centreError: ok ? Math.hypot(num(out, "center_row") - cell.row, num(out, "center_col") - cell.col) : Number.POSITIVE_INFINITY,
          polarityRight: num(out, "polarity") === cell.polarity,
          lagRight: num(out, "peak_lag_frames") === cell.latencyFrames,
        });
      }
    }
    const many = rows.filter((r) => r.spikes >= 1000);
    expect(many.length).toBeGreaterThanOrEqual(12);
    expect(many.filter((r) => r.centreError <= 1).length / many.length).toBeGreaterThanOrEqual(0.9);
    expect(many.filter((r) => r.polarityRight).length / many.length).toBeGreaterThanOrEqual(0.95);
    expect(rows.filter((r) => r.polarityRight).length / rows.length).toBeGreaterThanOrEqual(0.9);
    expect(rows.filter((r) => r.lagRight).length / rows.length).toBeGreaterThanOrEqual(0.9);

    // The same spikes shuffled in time carry no field: no fit, the lab's −5.0 centre.
    const movie = heldNoiseMovie(15, 15, 120, 77);
    const noise = simulateSpikeFrames(movie, { row: 7, col: 7, sigma: 1.5, polarity: 1, spikes: 2000, latencyFrames: 3, gain: 0 }, 5);
    const silent = rfGeometry(simulatedSta(movie, noise).sta, [60, 15, 15], RF_GEOMETRY_DEFAULTS);
    expect(num(silent.gaussian_fit as Tree, "fit_ok")).toBe(0);
    expect(num(silent, "center_row")).toBe(-5);
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
