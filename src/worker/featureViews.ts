/**
 * The selected unit's features as the page plots them: the moving-bar direction tuning, the chirp
 * frequency and amplitude responses, the visual STA reduced to its frame of peak deviation (with the
 * time course at that pixel and the `rf_geometry` Gaussian fit from `sta_geometry`), and every
 * scalar feature value.
 * Pure over the session; `views.ts` exposes it as the worker's `unitFeatures` with the typed arrays
 * transferred. The STA is reduced here so the page never receives [T, H, W].
 *
 * Layout read (docs/features.md, places from `core/features/resultPlaces.ts`): stimulus features
 * store `features/<name>/data/<movie>/<key>`; `baseline` stores `data/whole_recording/…`;
 * `sta_<movie>` stores `data` float32 [T, H, W] and, from `rf_geometry`, `sta_geometry/…`.
 */
import { STA_GEOMETRY, staMovie } from "../core/features/resultPlaces.ts";
import { NDArray, isTree, scalarNumber, type Tree, type TreeNode } from "../core/ndarray.ts";
import type { PipelineSession, Unit } from "../core/session.ts";

export interface DirectionTuning {
  movie: string;
  directionsDeg: Float64Array;
  tuningHz: Float64Array;
  dsi: number;
  osi: number;
  preferredDirectionDeg: number;
  preferredOrientationDeg: number;
  dsiPValue: number;
  osiPValue: number;
}

export interface ChirpResponse {
  movie: string;
  frequencyHz: Float64Array;
  frequencyF1Hz: Float64Array;
  amplitude: Float64Array;
  amplitudeF1Hz: Float64Array;
  amplitudeSweepHz: number;
  preferredFrequencyHz: number;
  centroidFrequencyHz: number;
  highLowIndex: number;
}

/** The `rf_geometry` 2-D Gaussian (`sta_geometry/gaussian_fit`) in stimulus pixels (row/col of the STA grid, 0-based). */
export interface RfEllipse {
  centerRow: number;
  centerCol: number;
  /** Major and minor σ; the major axis is `angleDeg` from the column axis toward increasing row. */
  sigmaX: number;
  sigmaY: number;
  angleDeg: number;
  rSquared: number;
}

export interface StaImage {
  /** The STA's movie (`sta_<movie>` without the prefix). */
  movie: string;
  frames: number;
  height: number;
  width: number;
  /** Index of the frame holding the largest |value − mean| (frame i is `frames − i` display frames before the spike). */
  peakFrame: number;
  peakRow: number;
  peakCol: number;
  /** That frame minus the STA's mean, row-major [height × width]: 0 is "no change". */
  frame: Float32Array;
  /** Largest |deviation| in the whole STA (the colour scale's half-range). */
  maxAbsDeviation: number;
  /** Deviation at the peak pixel in every frame, and each frame's lag in display frames (≤ 0, spike at 0). */
  timeCourse: Float32Array;
  lagFrames: Float64Array;
  /** Present only when `rf_geometry` fitted this movie's STA (`sta_geometry/gaussian_fit/fit_ok` = 1). */
  fit: RfEllipse | null;
  /** `rf_geometry` polarity (+1 ON, −1 OFF), if computed. */
  polarity: number | null;
}

/** One numeric scalar of a feature: `name` is the column key `unitColumn` understands. */
export interface FeatureScalar {
  name: string;
  feature: string;
  /** The path below `data/` without the key (`<movie>`, `whole_recording`), or below `sta_<movie>` (`sta_geometry/gaussian_fit`), or "". */
  group: string;
  key: string;
  value: number;
}

export interface UnitFeaturesView {
  unitId: string;
  /** Every feature the unit has (`features/<name>`). */
  features: string[];
  movingBar: DirectionTuning[];
  chirp: ChirpResponse[];
  sta: StaImage[];
  scalars: FeatureScalar[];
}

/** Subtrees that hold spike trains or per-repeat bounds, not feature values: a one-spike train is no scalar. */
const NOT_SCALARS = new Set(["direction_section", "trials"]);
/** data/<movie>/gaussian/<key> is the deepest scalar the extractors write. */
const MAX_DEPTH = 3;

/**
 * The lab's `sta_geometry/center_row|center_col` repeat `gaussian_fit/center_y|center_x` but hold −5.0
 * for a failed fit: a column of them would plot −5 as a place. The fit's own centre (NaN) stands in.
 */
const GEOMETRY_DUPLICATES = new Set(["center_row", "center_col"]);

/**
 * Numeric scalars under each `features/<f>/data`, keyed `f/<path>/<key>`, and under each
 * `features/sta_<movie>/sta_geometry`, keyed `sta_<movie>/sta_geometry/<path>/<key>` (shape [] or [1] only).
 */
export function featureScalars(unit: Unit): FeatureScalar[] {
  const out: FeatureScalar[] = [];
  const features = unit.children.features;
  if (!isTree(features)) return out;
  for (const [feature, node] of Object.entries(features)) {
    if (!isTree(node)) continue;
    if (isTree(node.data)) collectScalars(feature, node.data, [], out);
    const geometry = node[STA_GEOMETRY.key];
    if (staMovie(feature) !== undefined && isTree(geometry)) {
      const before = out.length;
      collectScalars(feature, geometry, [STA_GEOMETRY.key], out);
      out.splice(before, out.length - before, ...out.slice(before).filter((f) => !(f.group === STA_GEOMETRY.key && GEOMETRY_DUPLICATES.has(f.key))));
    }
  }
  return out;
}

function collectScalars(feature: string, tree: Tree, path: string[], out: FeatureScalar[]): void {
  for (const [key, node] of Object.entries(tree)) {
    if (isTree(node)) {
      if (path.length + 1 < MAX_DEPTH && !NOT_SCALARS.has(key)) collectScalars(feature, node, [...path, key], out);
      continue;
    }
    if (!(node instanceof NDArray) || node.shape.length > 1) continue;
    const value = scalarNumber(node);
    if (value === undefined) continue;
    out.push({ name: [feature, ...path, key].join("/"), feature, group: path.join("/"), key, value });
  }
}

function array(node: TreeNode | undefined): Float64Array | undefined {
  if (!(node instanceof NDArray)) return undefined;
  return Float64Array.from(node.data as ArrayLike<number | bigint>, Number);
}

function num(node: TreeNode | undefined): number {
  return scalarNumber(node) ?? Number.NaN;
}

/** `data/<movie>` groups of a stimulus feature, or none. */
function movieGroups(unit: Unit, feature: string): [string, Tree][] {
  const features = unit.children.features;
  const entry = isTree(features) ? features[feature] : undefined;
  const data = isTree(entry) ? entry.data : undefined;
  if (!isTree(data)) return [];
  return Object.entries(data).filter((e): e is [string, Tree] => isTree(e[1]));
}

function directionTuning(unit: Unit): DirectionTuning[] {
  const out: DirectionTuning[] = [];
  for (const [movie, g] of movieGroups(unit, "moving_bar")) {
    const directionsDeg = array(g.directions_deg);
    const tuningHz = array(g.tuning_hz);
    if (!directionsDeg || !tuningHz || directionsDeg.length !== tuningHz.length) continue;
    out.push({
      movie,
      directionsDeg,
      tuningHz,
      dsi: num(g.dsi),
      osi: num(g.osi),
      preferredDirectionDeg: num(g.preferred_direction_deg),
      preferredOrientationDeg: num(g.preferred_orientation_deg),
      dsiPValue: num(g.dsi_p_value),
      osiPValue: num(g.osi_p_value),
    });
  }
  return out;
}

function chirpResponses(unit: Unit): ChirpResponse[] {
  const out: ChirpResponse[] = [];
  for (const [movie, g] of movieGroups(unit, "chirp")) {
    const [frequencyHz, frequencyF1Hz] = ascending(array(g.frequency_hz), array(g.frequency_f1_hz));
    const [amplitude, amplitudeF1Hz] = ascending(array(g.amplitude), array(g.amplitude_f1_hz));
    out.push({
      movie,
      frequencyHz,
      frequencyF1Hz,
      amplitude,
      amplitudeF1Hz,
      amplitudeSweepHz: num(g.amplitude_sweep_hz),
      preferredFrequencyHz: num(g.preferred_frequency_hz),
      centroidFrequencyHz: num(g.centroid_frequency_hz),
      highLowIndex: num(g.high_low_index),
    });
  }
  return out;
}

/** A curve's points sorted by x (a plot needs ascending x); mismatched lengths give an empty curve. */
function ascending(x: Float64Array | undefined, y: Float64Array | undefined): [Float64Array, Float64Array] {
  if (!x || !y || x.length !== y.length) return [new Float64Array(0), new Float64Array(0)];
  const order = [...x.keys()].sort((a, b) => x[a] - x[b]);
  return [Float64Array.from(order, (i) => x[i]), Float64Array.from(order, (i) => y[i])];
}

/** `rf_geometry`'s results for a movie: `features/sta_<movie>/sta_geometry` (`resultPlaces.ts`). */
function rfGeometryOf(unit: Unit, movie: string): Tree | undefined {
  let node: TreeNode | undefined = unit.children;
  for (const key of STA_GEOMETRY.unitPath(movie)) node = isTree(node) ? node[key] : undefined;
  return isTree(node) ? node : undefined;
}

export function staImage(movie: string, sta: NDArray, rf: Tree | undefined): StaImage | undefined {
  if (sta.shape.length !== 3) return undefined;
  const [frames, height, width] = sta.shape;
  const values = sta.data as ArrayLike<number>;
  const n = frames * height * width;
  if (!n) return undefined;
  // Deviation from the STA's mean: the raw means sit at the stimulus' grey level, not at 0.
  let sum = 0;
  let finite = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isFinite(values[i])) {
      sum += values[i];
      finite++;
    }
  }
  const mean = finite ? sum / finite : 0;
  let peak = 0;
  let best = -1;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(values[i] - mean);
    if (d > best) {
      best = d;
      peak = i;
    }
  }
  const pixels = height * width;
  const peakFrame = Math.floor(peak / pixels);
  const pixel = peak % pixels;
  const frame = Float32Array.from({ length: pixels }, (_, i) => values[peakFrame * pixels + i] - mean);
  const timeCourse = Float32Array.from({ length: frames }, (_, t) => values[t * pixels + pixel] - mean);
  const g = rf && isTree(rf.gaussian_fit) ? rf.gaussian_fit : undefined;
  // A lab-written fit has no fit_ok (the lab writes no group when a fit fails) and θ in radians only.
  const fitOk = g ? (g.fit_ok === undefined ? Number.isFinite(num(g.center_y)) : num(g.fit_ok) === 1) : false;
  const angleDeg = g ? (g.angle_deg !== undefined ? num(g.angle_deg) : (num(g.theta) * 180) / Math.PI) : Number.NaN;
  const fit: RfEllipse | null =
    g && fitOk
      ? { centerRow: num(g.center_y), centerCol: num(g.center_x), sigmaX: num(g.sigma_x), sigmaY: num(g.sigma_y), angleDeg, rSquared: num(g.r_squared) }
      : null;
  const polarity = rf ? scalarNumber(rf.polarity) ?? null : null;
  return {
    movie,
    frames,
    height,
    width,
    peakFrame,
    peakRow: Math.floor(pixel / width),
    peakCol: pixel % width,
    frame,
    maxAbsDeviation: Math.max(0, best),
    timeCourse,
    lagFrames: Float64Array.from({ length: frames }, (_, i) => i - frames),
    fit,
    polarity,
  };
}

function staImages(unit: Unit): StaImage[] {
  const features = unit.children.features;
  if (!isTree(features)) return [];
  const out: StaImage[] = [];
  for (const [name, node] of Object.entries(features)) {
    if (!name.startsWith("sta_") || !isTree(node) || !(node.data instanceof NDArray)) continue;
    const movie = name.slice(4);
    const image = staImage(movie, node.data, rfGeometryOf(unit, movie));
    if (image) out.push(image);
  }
  return out;
}

export function unitFeatures(session: PipelineSession, unitId: string): UnitFeaturesView {
  const unit = session.getUnit(unitId);
  const features = unit.children.features;
  return {
    unitId: unit.id,
    features: isTree(features) ? Object.keys(features) : [],
    movingBar: directionTuning(unit),
    chirp: chirpResponses(unit),
    sta: staImages(unit),
    scalars: featureScalars(unit),
  };
}

/** Every typed array of the view, for `transfer`. */
export function featureBuffers(v: UnitFeaturesView): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = [];
  for (const t of v.movingBar) arrays.push(t.directionsDeg, t.tuningHz);
  for (const c of v.chirp) arrays.push(c.frequencyHz, c.frequencyF1Hz, c.amplitude, c.amplitudeF1Hz);
  for (const s of v.sta) arrays.push(s.frame, s.timeCourse, s.lagFrames);
  return arrays.map((a) => a.buffer as ArrayBuffer);
}
