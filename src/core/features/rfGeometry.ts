/**
 * `rf_geometry` — receptive-field geometry from a unit's visual STA `features/sta_<movie>/data`
 * (float32 [T, H, W] raw pixel means, §3.4; frame index i holds the stimulus T − i display frames
 * before the spike's frame).
 *
 * Steps (Chichilnisky 2001, Network 12:199, and the lab's RF-STA geometry step §3.7):
 * 1. space–time separation by SVD, rank 1 (`staRank1.ts`): `temporal_component` [T],
 *    `spatial_component` [H, W] (unit norm, its peak positive), `rank1_fraction` = σ₁²/‖STA − mean‖²,
 *    `polarity` (+1 ON / −1 OFF) and `peak_lag_frames` = T − (index of the temporal extreme);
 * 2. 2-D Gaussian fit of the spatial component (`rfFits.ts`): `gaussian/{fit_ok, reason, center_row,
 *    center_col, sigma_x, sigma_y, angle_deg, amplitude, offset, r_squared}` in stimulus pixels;
 * 3. difference-of-Gaussians fit started from it: `dog/{fit_ok, reason, center_row, center_col,
 *    sigma_center, sigma_surround, amp_center, amp_surround, offset, r_squared}`.
 * A failed fit has `fit_ok = 0`, NaN values and a `reason`; an all-NaN STA (no spike used) fails both
 * with that reason. Parameters: `min_r2` (0.5), `min_sigma` (0.25 px), `max_iterations` (100 per fit), and the
 * movie pattern (/noise/i, as `compute_sta` picks the movie).
 *
 * Output: `data/<movie>/…` for every `sta_<movie>` feature the unit has whose movie matches.
 */
import { NDArray, bool, f64, i64, isTree, type Tree } from "../ndarray.ts";
import type { FeatureExtractor } from "./featureExtractor.ts";
import { FeatureNotApplicable } from "./notApplicable.ts";
import { failedDog, failedGaussian, fitDog, fitGaussian2d, type DogFit, type FitLimits, type GaussianFit } from "./rfFits.ts";
import { movieKey, sessionMovies } from "./sectionedTrials.ts";
import { rank1 } from "./staRank1.ts";

export interface RfGeometryParams extends FitLimits {
  movie_pattern: RegExp;
}

export const RF_GEOMETRY_DEFAULTS: RfGeometryParams = { movie_pattern: /noise/i, min_r2: 0.5, min_sigma: 0.25, max_iterations: 100 };

function gaussianTree(g: GaussianFit): Tree {
  return {
    fit_ok: bool(g.ok),
    reason: g.reason,
    center_row: f64(g.centerRow),
    center_col: f64(g.centerCol),
    sigma_x: f64(g.sigmaX),
    sigma_y: f64(g.sigmaY),
    angle_deg: f64(g.angleDeg),
    amplitude: f64(g.amplitude),
    offset: f64(g.offset),
    r_squared: f64(g.rSquared),
  };
}

function dogTree(d: DogFit): Tree {
  return {
    fit_ok: bool(d.ok),
    reason: d.reason,
    center_row: f64(d.centerRow),
    center_col: f64(d.centerCol),
    sigma_center: f64(d.sigmaCenter),
    sigma_surround: f64(d.sigmaSurround),
    amp_center: f64(d.ampCenter),
    amp_surround: f64(d.ampSurround),
    offset: f64(d.offset),
    r_squared: f64(d.rSquared),
  };
}

/** RF geometry of one STA [T, H, W]. */
export function rfGeometry(sta: ArrayLike<number>, shape: readonly number[], limits: FitLimits): Tree {
  const [T, H, W] = shape;
  const svd = rank1(sta, T, H * W);
  if (!svd) {
    const why = "STA is all NaN or constant (no spike used)";
    return {
      temporal_component: new NDArray(new Float64Array(T).fill(Number.NaN)),
      spatial_component: new NDArray(new Float64Array(H * W).fill(Number.NaN), [H, W]),
      rank1_fraction: f64(Number.NaN),
      polarity: i64(0),
      peak_lag_frames: f64(Number.NaN),
      gaussian: gaussianTree(failedGaussian(why)),
      dog: dogTree(failedDog(why)),
    };
  }
  const g = fitGaussian2d(svd.spatial, H, W, limits);
  const d = fitDog(svd.spatial, H, W, g, limits);
  return {
    temporal_component: new NDArray(svd.temporal),
    spatial_component: new NDArray(svd.spatial, [H, W]),
    rank1_fraction: f64(svd.explained),
    polarity: i64(svd.polarity),
    peak_lag_frames: f64(T - svd.peakFrame),
    gaussian: gaussianTree(g),
    dog: dogTree(d),
  };
}

export function makeRfGeometry(params: Partial<RfGeometryParams> = {}): FeatureExtractor {
  const p = { ...RF_GEOMETRY_DEFAULTS, ...params };
  const f = (description: string, unit?: string) => ({ dtype: "float64" as const, shape: "[]", ...(unit ? { unit } : {}), description });
  const flag = { dtype: "int8" as const, shape: "[]", description: "1 = fit succeeded, 0 = failed (values NaN)" };
  const why = { dtype: "string" as const, shape: "[]", description: "why the fit failed (empty if ok)" };
  return {
    name: "rf_geometry",
    version: "1.0.0",
    description: "Receptive-field geometry from the visual STA: rank-1 SVD, 2-D Gaussian and DoG fits",
    requires: { session: ["stimulus/section_time"], unit: ["features"] },
    afterSteps: ["compute_sta"],
    outputs: {
      "<movie>/temporal_component": { dtype: "float64", shape: "[T]", description: "rank-1 temporal component (unit norm)" },
      "<movie>/spatial_component": { dtype: "float64", shape: "[H, W]", description: "rank-1 spatial component (unit norm, peak > 0)" },
      "<movie>/rank1_fraction": f("σ₁² / total variance of the mean-removed STA"),
      "<movie>/polarity": { dtype: "int64", shape: "[]", description: "+1 ON, −1 OFF" },
      "<movie>/peak_lag_frames": f("display frames between the temporal extreme and the spike frame", "frames"),
      "<movie>/gaussian/fit_ok": flag,
      "<movie>/gaussian/reason": why,
      "<movie>/gaussian/center_row": f("centre row", "stimulus px"),
      "<movie>/gaussian/center_col": f("centre column", "stimulus px"),
      "<movie>/gaussian/sigma_x": f("major σ", "stimulus px"),
      "<movie>/gaussian/sigma_y": f("minor σ", "stimulus px"),
      "<movie>/gaussian/angle_deg": f("major axis from the column axis toward increasing row", "deg"),
      "<movie>/gaussian/amplitude": f("peak above offset (spatial-component units)"),
      "<movie>/gaussian/offset": f("baseline"),
      "<movie>/gaussian/r_squared": f("1 − SS_res/SS_tot"),
      "<movie>/dog/fit_ok": flag,
      "<movie>/dog/reason": why,
      "<movie>/dog/center_row": f("centre row", "stimulus px"),
      "<movie>/dog/center_col": f("centre column", "stimulus px"),
      "<movie>/dog/sigma_center": f("centre σ", "stimulus px"),
      "<movie>/dog/sigma_surround": f("surround σ (> centre σ)", "stimulus px"),
      "<movie>/dog/amp_center": f("centre amplitude"),
      "<movie>/dog/amp_surround": f("surround amplitude (≥ 0, antagonistic)"),
      "<movie>/dog/offset": f("baseline"),
      "<movie>/dog/r_squared": f("1 − SS_res/SS_tot"),
    },
    check: (ctx) => (sessionMovies(ctx, p.movie_pattern).length ? undefined : `no movie matching ${p.movie_pattern} in stimulus/section_time (no STA to fit)`),
    extract: (unit) => {
      const features = unit.children.features;
      const out: Tree = {};
      if (isTree(features)) {
        for (const [name, feature] of Object.entries(features)) {
          if (!name.startsWith("sta_") || !p.movie_pattern.test(name.slice(4)) || !isTree(feature)) continue;
          const data = feature.data;
          if (!(data instanceof NDArray) || data.shape.length !== 3) continue;
          out[movieKey(name.slice(4))] = rfGeometry(data.data as ArrayLike<number>, data.shape, p);
        }
      }
      if (!Object.keys(out).length) throw new FeatureNotApplicable(`${unit.id} has no features/sta_<movie>/data [T, H, W] for a movie matching ${p.movie_pattern}`);
      return out;
    },
  };
}

export const rfGeometryFeature = makeRfGeometry();
