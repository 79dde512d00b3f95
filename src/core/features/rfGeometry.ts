/**
 * `rf_geometry` — receptive-field geometry from a unit's visual STA `features/sta_<movie>/data`
 * (float32 [T, H, W] raw pixel means, §3.4; frame index i holds the stimulus T − i display frames
 * before the spike's frame), written where the lab's readers look:
 * `features/sta_<movie>/sta_geometry/…` (`resultPlaces.ts`; the lab's RF step, §3.7).
 *
 * Steps (Chichilnisky 2001, Network 12:199):
 * 1. space–time separation where the response is (`staRank1.ts`): each pixel's own mean removed, the
 *    response lags found, rank-1 SVD over them, sign from the peak → `temporal_component` [T],
 *    `spatial_component` [H, W], `rank1_fraction`, `polarity` (+1 ON / −1 OFF), `peak_frame`,
 *    `peak_lag_frames`, `response_z`;
 * 2. no response (`response_z` < `min_response_z`, 7: pure-noise STAs score ≈ 4–5.5): both fits
 *    fail with that reason;
 * 3. 2-D Gaussian fit (`rfFits.ts`) of the spatial component scaled to the STA's units at the peak
 *    lag: `gaussian_fit/…`; then a difference of Gaussians started from it: `DoG/…`.
 *
 * Lab names, with ours beside them:
 * - `center_row`, `center_col`: the Gaussian centre (0-based stimulus px), **−5.0 when the Gaussian
 *   fit failed** (the lab's mark, which its DSGC step skips);
 * - `sta_time_course` [T]: the STA minus the pixel's mean at the pixel nearest the centre (the
 *   spatial component's peak pixel when the fit failed), all NaN without an STA;
 * - `peak_frame`: STA frame index of the peak lag, −1 without an STA;
 * - `gaussian_fit/{center_x (col), center_y (row), sigma_x ≥ sigma_y (px), amplitude (STA units),
 *   theta (rad, major axis from the column axis toward increasing row), offset, r_squared}` plus
 *   `fit_ok`, `reason`, `angle_deg`;
 * - `DoG/{center_x, center_y, sigma_exc, sigma_inh (px, σ_inh > σ_exc), amp_exc, amp_inh (≥ 0,
 *   antagonistic), offset, r_squared}` plus `fit_ok`, `reason`.
 * The lab writes no fit group when a fit fails; here a failed fit has `fit_ok = 0`, NaN values and a
 * `reason`. r² is taken within 3σ of the fitted centre (`rfFits.ts`), so it does not fall with the
 * grid's size. Parameters: `min_r2` (0.5), `min_sigma` (0.25 px), `max_iterations` (100 per fit),
 * `min_response_z` (7), and the movie pattern (/noise/i, as `compute_sta` picks the movie).
 */
import { NDArray, bool, f64, i64, isTree, type Tree } from "../ndarray.ts";
import type { FeatureExtractor } from "./featureExtractor.ts";
import { FeatureNotApplicable } from "./notApplicable.ts";
import { FAILED_FIT_CENTER, STA_GEOMETRY, staMovie } from "./resultPlaces.ts";
import { failedDog, failedGaussian, fitDog, fitGaussian2d, type DogFit, type FitLimits, type GaussianFit } from "./rfFits.ts";
import { movieKey, sessionMovies } from "./sectionedTrials.ts";
import { rank1 } from "./staRank1.ts";

export interface RfGeometryParams extends FitLimits {
  movie_pattern: RegExp;
  /** A response is a peak lag at least this many robust SDs above the STA's noise. */
  min_response_z: number;
}

export const RF_GEOMETRY_DEFAULTS: RfGeometryParams = { movie_pattern: /noise/i, min_r2: 0.5, min_sigma: 0.25, max_iterations: 100, min_response_z: 7 };

function gaussianTree(g: GaussianFit): Tree {
  return {
    center_x: f64(g.centerCol),
    center_y: f64(g.centerRow),
    sigma_x: f64(g.sigmaX),
    sigma_y: f64(g.sigmaY),
    amplitude: f64(g.amplitude),
    theta: f64((g.angleDeg * Math.PI) / 180),
    offset: f64(g.offset),
    r_squared: f64(g.rSquared),
    fit_ok: bool(g.ok),
    reason: g.reason,
    angle_deg: f64(g.angleDeg),
  };
}

function dogTree(d: DogFit): Tree {
  return {
    center_x: f64(d.centerCol),
    center_y: f64(d.centerRow),
    sigma_exc: f64(d.sigmaCenter),
    sigma_inh: f64(d.sigmaSurround),
    amp_exc: f64(d.ampCenter),
    amp_inh: f64(d.ampSurround),
    offset: f64(d.offset),
    r_squared: f64(d.rSquared),
    fit_ok: bool(d.ok),
    reason: d.reason,
  };
}

/** The `sta_geometry` tree of one STA [T, H, W]. */
export function rfGeometry(sta: ArrayLike<number>, shape: readonly number[], params: Omit<RfGeometryParams, "movie_pattern">): Tree {
  const [T, H, W] = shape;
  const P = H * W;
  const svd = rank1(sta, T, H, W);
  if (!svd) {
    const why = "STA is all NaN or constant (no spike used)";
    return {
      center_row: f64(FAILED_FIT_CENTER),
      center_col: f64(FAILED_FIT_CENTER),
      sta_time_course: new NDArray(new Float64Array(T).fill(Number.NaN)),
      peak_frame: i64(-1),
      gaussian_fit: gaussianTree(failedGaussian(why)),
      DoG: dogTree(failedDog(why)),
      temporal_component: new NDArray(new Float64Array(T).fill(Number.NaN)),
      spatial_component: new NDArray(new Float64Array(P).fill(Number.NaN), [H, W]),
      rank1_fraction: f64(Number.NaN),
      polarity: i64(0),
      peak_lag_frames: f64(Number.NaN),
      response_z: f64(Number.NaN),
    };
  }
  let g: GaussianFit;
  let d: DogFit;
  if (!(svd.peakZ >= params.min_response_z)) {
    const why = `no response above the noise: the STA's peak is ${svd.peakZ.toFixed(1)} robust SDs (below ${params.min_response_z})`;
    g = failedGaussian(why);
    d = failedDog(why);
  } else {
    const img = svd.spatial.map((v) => v * svd.peakAmplitude);
    g = fitGaussian2d(img, H, W, params);
    d = fitDog(img, H, W, g, params);
  }
  let pixel = 0;
  for (let x = 1; x < P; x++) if (Math.abs(svd.spatial[x]) > Math.abs(svd.spatial[pixel])) pixel = x;
  if (g.ok) pixel = Math.min(H - 1, Math.max(0, Math.round(g.centerRow))) * W + Math.min(W - 1, Math.max(0, Math.round(g.centerCol)));
  const timeCourse = Float64Array.from({ length: T }, (_, t) => Number(sta[t * P + pixel]) - svd.pixelMean[pixel]);
  return {
    center_row: f64(g.ok ? g.centerRow : FAILED_FIT_CENTER),
    center_col: f64(g.ok ? g.centerCol : FAILED_FIT_CENTER),
    sta_time_course: new NDArray(timeCourse),
    peak_frame: i64(svd.peakFrame),
    gaussian_fit: gaussianTree(g),
    DoG: dogTree(d),
    temporal_component: new NDArray(svd.temporal),
    spatial_component: new NDArray(svd.spatial, [H, W]),
    rank1_fraction: f64(svd.explained),
    polarity: i64(svd.polarity),
    peak_lag_frames: f64(T - svd.peakFrame),
    response_z: f64(svd.peakZ),
  };
}

export function makeRfGeometry(params: Partial<RfGeometryParams> = {}): FeatureExtractor {
  const p = { ...RF_GEOMETRY_DEFAULTS, ...params };
  const f = (description: string, unit?: string) => ({ dtype: "float64" as const, shape: "[]", ...(unit ? { unit } : {}), description });
  const flag = { dtype: "int8" as const, shape: "[]", description: "1 = fit succeeded, 0 = failed (values NaN)" };
  const why = { dtype: "string" as const, shape: "[]", description: "why the fit failed (empty if ok)" };
  const G = "<movie>/sta_geometry";
  return {
    name: "rf_geometry",
    version: "2.0.0",
    description: "Receptive-field geometry from the visual STA (features/sta_<movie>/sta_geometry): response lags, rank-1 SVD, 2-D Gaussian and DoG fits",
    requires: { session: ["stimulus/section_time"], unit: ["features"] },
    afterSteps: ["compute_sta"],
    placed: [STA_GEOMETRY],
    outputs: {
      [`${G}/center_row`]: f("Gaussian centre row; −5.0 when the fit failed (the lab's mark)", "stimulus px"),
      [`${G}/center_col`]: f("Gaussian centre column; −5.0 when the fit failed", "stimulus px"),
      [`${G}/sta_time_course`]: { dtype: "float64", shape: "[T]", description: "STA minus the pixel's mean at the centre pixel" },
      [`${G}/peak_frame`]: { dtype: "int64", shape: "[]", description: "STA frame index of the peak lag (−1: no STA)" },
      [`${G}/gaussian_fit/center_x`]: f("centre column", "stimulus px"),
      [`${G}/gaussian_fit/center_y`]: f("centre row", "stimulus px"),
      [`${G}/gaussian_fit/sigma_x`]: f("major σ", "stimulus px"),
      [`${G}/gaussian_fit/sigma_y`]: f("minor σ", "stimulus px"),
      [`${G}/gaussian_fit/amplitude`]: f("peak above offset at the peak lag (STA units)"),
      [`${G}/gaussian_fit/theta`]: f("major axis from the column axis toward increasing row", "rad"),
      [`${G}/gaussian_fit/offset`]: f("baseline"),
      [`${G}/gaussian_fit/r_squared`]: f("1 − SS_res/SS_tot within 3σ of the centre"),
      [`${G}/gaussian_fit/fit_ok`]: flag,
      [`${G}/gaussian_fit/reason`]: why,
      [`${G}/gaussian_fit/angle_deg`]: f("theta in degrees, [0, 180)", "deg"),
      [`${G}/DoG/center_x`]: f("centre column", "stimulus px"),
      [`${G}/DoG/center_y`]: f("centre row", "stimulus px"),
      [`${G}/DoG/sigma_exc`]: f("centre σ", "stimulus px"),
      [`${G}/DoG/sigma_inh`]: f("surround σ (> centre σ)", "stimulus px"),
      [`${G}/DoG/amp_exc`]: f("centre amplitude (STA units)"),
      [`${G}/DoG/amp_inh`]: f("surround amplitude (≥ 0, antagonistic)"),
      [`${G}/DoG/offset`]: f("baseline"),
      [`${G}/DoG/r_squared`]: f("1 − SS_res/SS_tot within max(3σ_exc, 2σ_inh) of the centre"),
      [`${G}/DoG/fit_ok`]: flag,
      [`${G}/DoG/reason`]: why,
      [`${G}/temporal_component`]: { dtype: "float64", shape: "[T]", description: "rank-1 temporal component (unit norm, sign of the polarity at the peak)" },
      [`${G}/spatial_component`]: { dtype: "float64", shape: "[H, W]", description: "rank-1 spatial component over the response lags (unit norm, peak > 0)" },
      [`${G}/rank1_fraction`]: f("σ₁² / variance of the mean-removed STA over the response lags"),
      [`${G}/polarity`]: { dtype: "int64", shape: "[]", description: "+1 ON, −1 OFF (0: no STA)" },
      [`${G}/peak_lag_frames`]: f("display frames between the peak lag and the spike frame", "frames"),
      [`${G}/response_z`]: f("the peak lag's smoothed |STA − pixel mean| in robust SDs of the noise"),
    },
    check: (ctx) => (sessionMovies(ctx, p.movie_pattern).length ? undefined : `no movie matching ${p.movie_pattern} in stimulus/section_time (no STA to fit)`),
    extract: (unit) => {
      const features = unit.children.features;
      const out: Tree = {};
      if (isTree(features)) {
        for (const [name, feature] of Object.entries(features)) {
          const movie = staMovie(name);
          if (movie === undefined || !p.movie_pattern.test(movie) || !isTree(feature)) continue;
          const data = feature.data;
          if (!(data instanceof NDArray) || data.shape.length !== 3) continue;
          out[movieKey(movie)] = { [STA_GEOMETRY.key]: rfGeometry(data.data as ArrayLike<number>, data.shape, p) };
        }
      }
      if (!Object.keys(out).length) throw new FeatureNotApplicable(`${unit.id} has no features/sta_<movie>/data [T, H, W] for a movie matching ${p.movie_pattern}`);
      return out;
    },
  };
}

export const rfGeometryFeature = makeRfGeometry();
