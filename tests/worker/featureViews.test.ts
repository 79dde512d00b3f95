/**
 * The selected unit's feature view: direction tuning, chirp curves, the STA reduced to its peak
 * frame with the RF fit, and the scalar table — on a hand-built session whose feature values are
 * known — plus the feature scalars `unitColumn` offers for the units table and the electrode map.
 */
import { describe, expect, it } from "vitest";
import { DIRECTION_SECTION, STA_GEOMETRY } from "../../src/core/features/resultPlaces.ts";
import { NDArray, bool, f64, i64 } from "../../src/core/ndarray.ts";
import { PipelineSession, type Unit } from "../../src/core/session.ts";
import { featureBuffers, unitFeatures } from "../../src/worker/featureViews.ts";
import { unitColumn } from "../../src/worker/views.ts";

function unit(num: number): Unit {
  return {
    id: `unit_${String(num).padStart(3, "0")}`,
    attrs: { row: num, col: num, global_id: num, unit_num: num, original_name: `Unit_${num}` },
    spikeTimes: BigUint64Array.of(10n, 20n, 30n),
    children: {},
  };
}

const MOVIE = "moving_h_bar_s5_d8_3x";
const DIRECTIONS = [0, 45, 90, 135, 180, 225, 270, 315];
const TUNING = [1, 2, 9, 2, 1, 0.5, 0.5, 0.5];
const [T, H, W] = [5, 4, 6];

/** STA at grey 0.5 with one bright pixel (frame 3, row 2, col 4) and a weaker dark one. */
function sta(): NDArray {
  const data = new Float32Array(T * H * W).fill(0.5);
  data[3 * H * W + 2 * W + 4] = 0.9;
  data[1 * H * W + 0 * W + 1] = 0.3;
  return new NDArray(data, [T, H, W]);
}

function session(): PipelineSession {
  const s = new PipelineSession("features");
  s.addMetadata({ acquisition_rate: f64(20000) });
  s.addUnits([unit(1), unit(2)]);
  s.addFeature("unit_001", "moving_bar", {
    [MOVIE]: {
      directions_deg: new NDArray(Float64Array.from(DIRECTIONS)),
      tuning_hz: new NDArray(Float64Array.from(TUNING)),
      n_repeats: new NDArray(BigInt64Array.from(DIRECTIONS, () => 3n)),
      dsi: f64(0.42),
      preferred_direction_deg: f64(88),
      osi: f64(0.3),
      preferred_orientation_deg: f64(90),
      dsi_p_value: f64(0.004),
      osi_p_value: f64(0.05),
      n_permutations: i64(1000),
    },
  });
  // A repeat with one spike is a one-element array: a spike train, not a feature value.
  s.placeInUnit("unit_001", DIRECTION_SECTION.unitPath(MOVIE), { "0": { section_bounds: new NDArray(BigInt64Array.of(0n, 10n), [1, 2]), trials: { "0": new NDArray(BigInt64Array.of(5n)) } } });
  s.addFeature("unit_001", "chirp", {
    chirp: {
      frequency_hz: new NDArray(Float64Array.of(4, 1, 2)),
      frequency_f1_hz: new NDArray(Float64Array.of(3, 10, 6)),
      amplitude: new NDArray(Float64Array.of(0.25, 0.75)),
      amplitude_f1_hz: new NDArray(Float64Array.of(2, 8)),
      amplitude_sweep_hz: f64(2),
      preferred_frequency_hz: f64(1),
      centroid_frequency_hz: f64(1.6),
      high_low_index: f64(-0.5),
    },
  });
  s.addFeature("unit_001", "sta_noise_movie", sta());
  s.addFeature("unit_001", "rf_geometry", {});
  s.placeInUnit("unit_001", STA_GEOMETRY.unitPath("noise_movie"), {
    center_row: f64(2.1),
    center_col: f64(3.9),
    polarity: i64(1),
    rank1_fraction: f64(0.8),
    gaussian_fit: { fit_ok: bool(true), reason: "", center_y: f64(2.1), center_x: f64(3.9), sigma_x: f64(1.5), sigma_y: f64(0.8), theta: f64(Math.PI / 6), angle_deg: f64(30), r_squared: f64(0.91) },
    DoG: { fit_ok: bool(false), reason: "no antagonistic surround", center_y: f64(Number.NaN) },
  });
  s.addFeature("unit_001", "step_response", { step_up_5s_5i_3x: { on_off_index: f64(0.6), on_latency_s: f64(0.08) } });
  s.addFeature("unit_002", "step_response", { step_up_5s_5i_3x: { on_off_index: f64(-0.2), on_latency_s: f64(0.12) } });
  s.addFeature("unit_002", "quality_index", { step_up_5s_5i_3x: { quality_index: f64(0.35) } });
  return s;
}

describe("unitFeatures", () => {
  it("returns the moving-bar tuning curve and its vector-sum numbers", () => {
    const v = unitFeatures(session(), "unit_001");
    expect(v.features).toEqual(["moving_bar", "chirp", "sta_noise_movie", "rf_geometry", "step_response"]);
    expect(v.movingBar).toHaveLength(1);
    const t = v.movingBar[0];
    expect(t.movie).toBe(MOVIE);
    expect([...t.directionsDeg]).toEqual(DIRECTIONS);
    expect([...t.tuningHz]).toEqual(TUNING);
    expect(t).toMatchObject({ dsi: 0.42, preferredDirectionDeg: 88, osi: 0.3, preferredOrientationDeg: 90, dsiPValue: 0.004, osiPValue: 0.05 });
  });

  it("returns the chirp curves sorted by x", () => {
    const c = unitFeatures(session(), "unit_001").chirp[0];
    expect([...c.frequencyHz]).toEqual([1, 2, 4]);
    expect([...c.frequencyF1Hz]).toEqual([10, 6, 3]);
    expect([...c.amplitude]).toEqual([0.25, 0.75]);
    expect([...c.amplitudeF1Hz]).toEqual([2, 8]);
    expect(c).toMatchObject({ movie: "chirp", amplitudeSweepHz: 2, preferredFrequencyHz: 1, centroidFrequencyHz: 1.6, highLowIndex: -0.5 });
  });

  it("reduces the STA to its frame of peak deviation, the peak pixel's time course and the Gaussian fit", () => {
    const [s] = unitFeatures(session(), "unit_001").sta;
    const mean = (0.5 * (T * H * W - 2) + 0.9 + 0.3) / (T * H * W);
    expect(s).toMatchObject({ movie: "noise_movie", frames: T, height: H, width: W, peakFrame: 3, peakRow: 2, peakCol: 4, polarity: 1 });
    expect(s.frame).toHaveLength(H * W);
    expect(s.frame[2 * W + 4]).toBeCloseTo(0.9 - mean, 6);
    expect(s.frame[0]).toBeCloseTo(0.5 - mean, 6);
    expect(s.maxAbsDeviation).toBeCloseTo(0.9 - mean, 6);
    expect(Array.from(s.timeCourse, (x) => +x.toFixed(5))).toEqual([0, 0, 0, 0.4, 0].map((d) => +(0.5 + d - mean).toFixed(5)));
    expect([...s.lagFrames]).toEqual([-5, -4, -3, -2, -1]);
    expect(s.fit).toEqual({ centerRow: 2.1, centerCol: 3.9, sigmaX: 1.5, sigmaY: 0.8, angleDeg: 30, rSquared: 0.91 });
  });

  it("has no fit when rf_geometry failed, and no polarity without rf_geometry", () => {
    const s = session();
    const rf = (s.getUnit("unit_001").children.features as Record<string, { sta_geometry: { gaussian_fit: Record<string, unknown> } }>).sta_noise_movie.sta_geometry;
    rf.gaussian_fit.fit_ok = bool(false);
    expect(unitFeatures(s, "unit_001").sta[0].fit).toBeNull();
    s.addFeature("unit_002", "sta_noise_movie", sta());
    expect(unitFeatures(s, "unit_002").sta[0]).toMatchObject({ fit: null, polarity: null, peakFrame: 3 });
  });

  it("reads a fit the lab's code wrote: no fit_ok, θ in radians", () => {
    const s = session();
    s.placeInUnit("unit_001", STA_GEOMETRY.unitPath("noise_movie"), {
      center_row: f64(4),
      center_col: f64(5),
      gaussian_fit: { center_x: f64(5.2), center_y: f64(4.1), sigma_x: f64(2), sigma_y: f64(1), theta: f64(Math.PI / 2), amplitude: f64(30), offset: f64(0), r_squared: f64(0.7) },
    });
    const fit = unitFeatures(s, "unit_001").sta[0].fit!;
    expect(fit).toMatchObject({ centerRow: 4.1, centerCol: 5.2, sigmaX: 2, sigmaY: 1, rSquared: 0.7 });
    expect(fit.angleDeg).toBeCloseTo(90, 9);
  });

  it("lists every feature scalar by path, without spike trains, strings or arrays", () => {
    const names = unitFeatures(session(), "unit_001").scalars.map((x) => x.name);
    expect(names).toContain(`moving_bar/${MOVIE}/dsi`);
    expect(names).toContain(`moving_bar/${MOVIE}/dsi_p_value`);
    expect(names).toContain("chirp/chirp/preferred_frequency_hz");
    expect(names).toContain("sta_noise_movie/sta_geometry/gaussian_fit/r_squared");
    expect(names).toContain("sta_noise_movie/sta_geometry/rank1_fraction");
    // The lab's −5.0-for-failed centre stays out; the fit's own centre (NaN when failed) stands in.
    expect(names).not.toContain("sta_noise_movie/sta_geometry/center_row");
    expect(names).toContain("sta_noise_movie/sta_geometry/gaussian_fit/center_y");
    expect(names).toContain("step_response/step_up_5s_5i_3x/on_off_index");
    expect(names.some((n) => n.includes("direction_section"))).toBe(false);
    expect(names.some((n) => n.includes("tuning_hz") || (n.startsWith("sta_") && !n.includes("/sta_geometry/")))).toBe(false);
    const dsi = unitFeatures(session(), "unit_001").scalars.find((x) => x.key === "dsi")!;
    expect(dsi).toEqual({ name: `moving_bar/${MOVIE}/dsi`, feature: "moving_bar", group: MOVIE, key: "dsi", value: 0.42 });
  });

  it("gives empty lists for a unit without features and fails for an unknown unit", () => {
    const v = unitFeatures(session(), "unit_002");
    expect(v).toMatchObject({ unitId: "unit_002", movingBar: [], chirp: [], sta: [] });
    expect(v.scalars.map((x) => x.name)).toEqual(["step_response/step_up_5s_5i_3x/on_off_index", "step_response/step_up_5s_5i_3x/on_latency_s", "quality_index/step_up_5s_5i_3x/quality_index"]);
    const bare = new PipelineSession("bare");
    bare.addUnits([unit(3)]);
    expect(unitFeatures(bare, "unit_003")).toEqual({ unitId: "unit_003", features: [], movingBar: [], chirp: [], sta: [], scalars: [] });
    expect(() => unitFeatures(bare, "unit_999")).toThrow(/unit_999/);
  });

  it("transfers every typed array and nothing twice", () => {
    const v = unitFeatures(session(), "unit_001");
    const buffers = featureBuffers(v);
    expect(buffers).toHaveLength(2 + 4 + 3);
    expect(new Set(buffers).size).toBe(buffers.length);
  });
});

describe("feature columns", () => {
  it("unitColumn offers nested feature scalars per unit, NaN where a unit lacks them", () => {
    const s = session();
    const ooi = unitColumn(s, "step_response/step_up_5s_5i_3x/on_off_index");
    expect([...ooi.values]).toEqual([0.6, -0.2]);
    expect(ooi.available).toEqual(expect.arrayContaining([`moving_bar/${MOVIE}/dsi`, "quality_index/step_up_5s_5i_3x/quality_index", "sta_noise_movie/sta_geometry/gaussian_fit/sigma_x"]));
    expect(ooi.available.some((n) => n.includes("direction_section"))).toBe(false);
    const dsi = unitColumn(s, `moving_bar/${MOVIE}/dsi`).values;
    expect(dsi[0]).toBe(0.42);
    expect(dsi[1]).toBeNaN();
  });
});
