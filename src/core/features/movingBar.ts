/**
 * `moving_bar` — direction and orientation tuning to a bar moving in several directions.
 *
 * Trial → direction mapping (a parameter, the lab's default): `moving_h_bar_s5_d8_3x` has 3 trials of
 * 4520 frames, each holding the 8 directions 0, 45, …, 315° in that order (565 frames per sweep).
 * Generally each trial is split into `sweeps_per_trial` equal consecutive sweeps, and sweep g (counting
 * across trials, g = trial·sweeps_per_trial + k) has direction `directions_deg[g mod n_directions]`;
 * with `sweeps_per_trial = 1` trial n is one sweep in direction `directions_deg[n mod n_directions]`.
 *
 * Definitions (Mazurek, Kager & Van Hooser 2014, Front Neural Circuits 8:92, vector-sum measures):
 * - response of a sweep: its spike count / its duration (Hz); tuning curve R(θ): mean over repeats;
 * - DSI = |Σ R(θ) e^{iθ}| / Σ R(θ) (0 untuned … 1 responds to one direction only);
 *   preferred direction = arg Σ R(θ) e^{iθ} in [0, 360)°;
 * - OSI = |Σ R(θ) e^{2iθ}| / Σ R(θ); preferred orientation = arg(…)/2 in [0, 180)°;
 * - p-values: permutation test — the sweeps' responses are shuffled across direction labels
 *   `n_permutations` times (Fisher–Yates with the seeded `Prng(seed, hash(unit id))`, so a unit
 *   always gets the same answer), p = (1 + #{DSI_shuffled ≥ DSI}) / (1 + n_permutations); the same
 *   shuffles give the OSI p-value.
 * A silent unit gets NaN indices and p = 1.
 *
 * DSGC direction sectioning (the lab's step 11) where the lab's readers look,
 * `spike_times_sectioned/<movie>/direction_section/` (`resultPlaces.ts`), in the lab's units:
 * `<deg>/section_bounds` int64 [n_repeats, 2] and `<deg>/trials/<r>` int64 spikes of repeat r, both
 * in movie-relative display frames (`floor_frame(sample) − movie start frame`, the start being
 * `floor_frame(section_time[movie][0, 0])` + add_section_time's pre margin, as `compute_sta` aligns);
 * beside them `<deg>/section_bounds_samples` and `<deg>/trials_samples/<r>` (sample indices, like
 * `trials_start_end`), and `_attrs/{direction_list, n_directions, n_repetitions, padding_frames}`.
 * Without frame timestamps only the sample versions are written. Unlike the lab's step it cuts the
 * whole sweep (`padding_frames` 0), not a window around the RF centre (that needs the lab's
 * per-pixel on/off table), so `_attrs` has no `cell_center_*`.
 *
 * Output: `data/<movie>/{directions_deg, tuning_hz, n_repeats, dsi, preferred_direction_deg,
 * osi, preferred_orientation_deg, dsi_p_value, osi_p_value, n_permutations}` and the direction
 * sections above.
 */
import { FrameClock, lowerBound } from "../frameClock.ts";
import { NDArray, f64, i64, type Tree } from "../ndarray.ts";
import { Prng } from "../prng.ts";
import type { FeatureContext, FeatureExtractor } from "./featureExtractor.ts";
import { integersToInt64 } from "./int64Numbers.ts";
import { FeatureNotApplicable } from "./notApplicable.ts";
import { DIRECTION_SECTION } from "./resultPlaces.ts";
import { checkMovies, countIn, movieKey, movieTrials, requireRate, unitMovies, type MovieTrials } from "./sectionedTrials.ts";

export interface MovingBarParams {
  movie_pattern: RegExp;
  directions_deg: readonly number[];
  sweeps_per_trial: number;
  n_permutations: number;
  seed: number;
}

export const MOVING_BAR_DEFAULTS: MovingBarParams = {
  movie_pattern: /moving.*bar|bar.*moving/i,
  directions_deg: [0, 45, 90, 135, 180, 225, 270, 315],
  sweeps_per_trial: 8,
  n_permutations: 1000,
  seed: 42,
};

export interface Sweep {
  trial: number;
  /** Seconds from the trial start. */
  start: number;
  end: number;
  direction: number;
}

export function barSweeps(trials: MovieTrials, p: Pick<MovingBarParams, "directions_deg" | "sweeps_per_trial">): Sweep[] {
  const sweeps: Sweep[] = [];
  const n = p.directions_deg.length;
  for (let t = 0; t < trials.durations.length; t++) {
    const len = trials.durations[t] / p.sweeps_per_trial;
    for (let k = 0; k < p.sweeps_per_trial; k++) {
      const g = t * p.sweeps_per_trial + k;
      sweeps.push({ trial: t, start: k * len, end: (k + 1) * len, direction: g % n });
    }
  }
  return sweeps;
}

export interface Tuning {
  dsi: number;
  preferredDirection: number;
  osi: number;
  preferredOrientation: number;
}

/** Vector-sum DSI/OSI of a tuning curve (rates ≥ 0) over angles in degrees. */
export function vectorSumTuning(rates: ArrayLike<number>, anglesDeg: readonly number[]): Tuning {
  let sum = 0;
  let x1 = 0;
  let y1 = 0;
  let x2 = 0;
  let y2 = 0;
  for (let i = 0; i < anglesDeg.length; i++) {
    const r = rates[i];
    const a = (anglesDeg[i] * Math.PI) / 180;
    sum += r;
    x1 += r * Math.cos(a);
    y1 += r * Math.sin(a);
    x2 += r * Math.cos(2 * a);
    y2 += r * Math.sin(2 * a);
  }
  if (!(sum > 0)) return { dsi: Number.NaN, preferredDirection: Number.NaN, osi: Number.NaN, preferredOrientation: Number.NaN };
  const deg = (rad: number, period: number) => ((((rad * 180) / Math.PI) % period) + period) % period;
  return {
    dsi: Math.hypot(x1, y1) / sum,
    preferredDirection: deg(Math.atan2(y1, x1), 360),
    osi: Math.hypot(x2, y2) / sum,
    preferredOrientation: deg(Math.atan2(y2, x2), 360) / 2,
  };
}

/** DSI and OSI only, with the angles' cos/sin precomputed: the permutation test's inner loop. */
function fastIndices(rates: Float64Array, trig: Float64Array): [number, number] {
  const n = rates.length;
  let sum = 0;
  let x1 = 0;
  let y1 = 0;
  let x2 = 0;
  let y2 = 0;
  for (let i = 0; i < n; i++) {
    const r = rates[i];
    sum += r;
    x1 += r * trig[4 * i];
    y1 += r * trig[4 * i + 1];
    x2 += r * trig[4 * i + 2];
    y2 += r * trig[4 * i + 3];
  }
  return sum > 0 ? [Math.hypot(x1, y1) / sum, Math.hypot(x2, y2) / sum] : [Number.NaN, Number.NaN];
}

function meanByDirection(responses: Float64Array, labels: Int32Array, n: number, out: Float64Array, counts: Float64Array): void {
  out.fill(0);
  counts.fill(0);
  for (let i = 0; i < responses.length; i++) {
    out[labels[i]] += responses[i];
    counts[labels[i]]++;
  }
  for (let d = 0; d < n; d++) out[d] = counts[d] ? out[d] / counts[d] : 0;
}

/** 32-bit FNV-1a of a string: a per-unit seed that does not depend on unit order. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function makeMovingBar(params: Partial<MovingBarParams> = {}): FeatureExtractor {
  const p = { ...MOVING_BAR_DEFAULTS, ...params };
  const nDir = p.directions_deg.length;
  const trig = new Float64Array(4 * nDir);
  p.directions_deg.forEach((deg, i) => {
    const a = (deg * Math.PI) / 180;
    trig.set([Math.cos(a), Math.sin(a), Math.cos(2 * a), Math.sin(2 * a)], 4 * i);
  });
  const scalar = (description: string, unit?: string) => ({ dtype: "float64" as const, shape: "[]", ...(unit ? { unit } : {}), description });
  return {
    name: "moving_bar",
    // 1.1.0: direction sections moved to spike_times_sectioned/<movie>/direction_section, in frames.
    version: "1.1.0",
    description: "Direction tuning to a moving bar: vector-sum DSI/OSI, preferred direction, permutation p-values, direction sectioning",
    requires: { session: ["metadata/acquisition_rate", "stimulus/section_time"], unit: ["spike_times_sectioned"] },
    afterSteps: ["section_spike_times"],
    placed: [DIRECTION_SECTION],
    outputs: {
      "<movie>/reason": { dtype: "string", shape: "[]", description: "why the indices are NaN; empty when they are not" },
      "<movie>/directions_deg": { dtype: "float64", shape: "[n_directions]", unit: "deg", description: "bar directions" },
      "<movie>/tuning_hz": { dtype: "float64", shape: "[n_directions]", unit: "Hz", description: "mean rate over the sweeps of each direction" },
      "<movie>/n_repeats": { dtype: "int64", shape: "[n_directions]", description: "sweeps per direction" },
      "<movie>/dsi": scalar("|Σ R e^{iθ}| / Σ R"),
      "<movie>/preferred_direction_deg": scalar("arg Σ R e^{iθ}", "deg"),
      "<movie>/osi": scalar("|Σ R e^{2iθ}| / Σ R"),
      "<movie>/preferred_orientation_deg": scalar("arg(Σ R e^{2iθ}) / 2", "deg"),
      "<movie>/dsi_p_value": scalar("permutation p-value of the DSI"),
      "<movie>/osi_p_value": scalar("permutation p-value of the OSI"),
      "<movie>/n_permutations": { dtype: "int64", shape: "[]", description: "shuffles" },
      "<movie>/direction_section/<deg>/section_bounds": { dtype: "int64", shape: "[n_repeats, 2]", unit: "movie frames", description: "sweep bounds (lab's units)" },
      "<movie>/direction_section/<deg>/trials/<r>": { dtype: "int64", shape: "[n]", unit: "movie frames", description: "spikes of repeat r (lab's units)" },
      "<movie>/direction_section/<deg>/section_bounds_samples": { dtype: "int64", shape: "[n_repeats, 2]", unit: "samples", description: "sweep bounds" },
      "<movie>/direction_section/<deg>/trials_samples/<r>": { dtype: "int64", shape: "[n]", unit: "samples", description: "spikes of repeat r" },
      "<movie>/direction_section/_attrs/direction_list": { dtype: "int64", shape: "[n_directions]", unit: "deg", description: "the directions" },
    },
    check: (ctx) => {
      if (!(nDir > 0 && p.sweeps_per_trial >= 1 && Number.isInteger(p.sweeps_per_trial))) return "needs ≥ 1 direction and an integer sweeps_per_trial ≥ 1";
      return checkMovies(ctx, p.movie_pattern);
    },
    extract: (unit, ctx) => {
      const rate = requireRate(ctx);
      const out: Tree = {};
      for (const movie of unitMovies(unit, ctx, p.movie_pattern)) {
        const trials = movieTrials(unit, movie, rate);
        const sweeps = barSweeps(trials, p);
        const responses = new Float64Array(sweeps.length);
        const labels = new Int32Array(sweeps.length);
        sweeps.forEach((s, i) => {
          responses[i] = countIn(trials.spikes[s.trial], s.start, s.end) / (s.end - s.start || Number.POSITIVE_INFINITY);
          labels[i] = s.direction;
        });
        const tuning = new Float64Array(nDir);
        const counts = new Float64Array(nDir);
        meanByDirection(responses, labels, nDir, tuning, counts);
        const observed = vectorSumTuning(tuning, p.directions_deg);

        let dsiHits = 0;
        let osiHits = 0;
        if (!Number.isNaN(observed.dsi)) {
          const rng = new Prng(p.seed, hashString(`${unit.id}/${movie}`));
          const shuffled = Float64Array.from(responses);
          const perm = new Float64Array(nDir);
          const permCounts = new Float64Array(nDir);
          for (let k = 0; k < p.n_permutations; k++) {
            for (let i = shuffled.length - 1; i > 0; i--) {
              const j = rng.int(0, i + 1);
              const tmp = shuffled[i];
              shuffled[i] = shuffled[j];
              shuffled[j] = tmp;
            }
            meanByDirection(shuffled, labels, nDir, perm, permCounts);
            const [dsi, osi] = fastIndices(perm, trig);
            // A tiny tolerance so a shuffle that only reorders equal values counts as "as extreme".
            if (dsi >= observed.dsi - 1e-12) dsiHits++;
            if (osi >= observed.osi - 1e-12) osiHits++;
          }
        }
        const pValue = (hits: number) => (Number.isNaN(observed.dsi) ? 1 : (1 + hits) / (1 + p.n_permutations));
        out[movieKey(movie)] = {
          reason: Number.isNaN(observed.dsi) ? "dsi, preferred_direction_deg, osi, preferred_orientation_deg: no spike in any sweep (p-values 1)" : "",
          directions_deg: new NDArray(Float64Array.from(p.directions_deg)),
          tuning_hz: new NDArray(tuning),
          n_repeats: new NDArray(BigInt64Array.from(counts, (c) => BigInt(c))),
          dsi: f64(observed.dsi),
          preferred_direction_deg: f64(observed.preferredDirection),
          osi: f64(observed.osi),
          preferred_orientation_deg: f64(observed.preferredOrientation),
          dsi_p_value: f64(pValue(dsiHits)),
          osi_p_value: f64(pValue(osiHits)),
          n_permutations: i64(p.n_permutations),
          [DIRECTION_SECTION.key]: directionSection(trials, sweeps, p.directions_deg, rate, movieFrames(ctx, movie)),
        };
      }
      if (!Object.keys(out).length) throw new FeatureNotApplicable(`${unit.id}: no moving-bar trials`);
      return out;
    },
  };
}

/** The frame clock of one run's frame times: built once, not for every unit and movie. */
const clocks = new WeakMap<Float64Array, FrameClock>();

function clockOf(frameTimestamps: Float64Array): FrameClock {
  let clock = clocks.get(frameTimestamps);
  if (!clock) clocks.set(frameTimestamps, (clock = new FrameClock(frameTimestamps)));
  return clock;
}

/** Movie-relative display frames of sample indices (as `compute_sta` aligns), or undefined without frames. */
export function movieFrames(ctx: FeatureContext, movie: string): ((sample: number) => number) | undefined {
  const rows = ctx.stimulus.section_time;
  const st = rows && typeof rows === "object" && !(rows instanceof NDArray) ? (rows as Tree)[movie] : undefined;
  if (!ctx.frameTimestamps?.length || !(st instanceof NDArray) || !st.data.length) return undefined;
  const clock = clockOf(ctx.frameTimestamps);
  const start = clock.floorFrame(Number(st.data[0])) + (ctx.sectionPreMarginFrames ?? 60);
  return (sample) => clock.floorFrame(sample) - start;
}

/**
 * `direction_section/{_attrs, <deg>/{section_bounds, trials/<r>, section_bounds_samples,
 * trials_samples/<r>}}` as the lab's DSGC step lays it out (frames), with the sample versions beside.
 */
export function directionSection(trials: MovieTrials, sweeps: readonly Sweep[], directionsDeg: readonly number[], rate: number, toFrame?: (sample: number) => number): Tree {
  const out: Tree = {};
  const perDirection = directionsDeg.map((_, d) => sweeps.filter((s) => s.direction === d).length);
  out._attrs = {
    direction_list: new NDArray(BigInt64Array.from(directionsDeg, (d) => BigInt(Math.round(d)))),
    n_directions: i64(directionsDeg.length),
    n_repetitions: i64(Math.max(0, ...perDirection)),
    padding_frames: i64(0),
  };
  directionsDeg.forEach((deg, d) => {
    const mine = sweeps.filter((s) => s.direction === d);
    // Sample indices as numbers first (made int64 without a BigInt each), so the frames are mapped from them.
    const bounds = new Float64Array(mine.length * 2);
    const repeats: Float64Array[] = [];
    mine.forEach((s, r) => {
      const t0 = trials.startSamples[s.trial];
      bounds[2 * r] = Math.round(t0 + s.start * rate);
      bounds[2 * r + 1] = Math.round(t0 + s.end * rate);
      const sp = trials.spikes[s.trial];
      const i0 = lowerBound(sp, s.start);
      const i1 = lowerBound(sp, s.end);
      // Back to the stored sample indices (exact: t·rate recovers an integer to far below 0.5).
      const samples = new Float64Array(i1 - i0);
      for (let i = i0; i < i1; i++) samples[i - i0] = Math.round(t0 + sp[i] * rate);
      repeats.push(samples);
    });
    const spikeTrees: Tree = Object.fromEntries(repeats.map((samples, r) => [String(r), new NDArray(integersToInt64(samples))]));
    const group: Tree = { section_bounds_samples: new NDArray(integersToInt64(bounds), [mine.length, 2]), trials_samples: spikeTrees };
    if (toFrame) {
      group.section_bounds = new NDArray(integersToInt64(bounds, toFrame), [mine.length, 2]);
      group.trials = Object.fromEntries(repeats.map((samples, r) => [String(r), new NDArray(integersToInt64(samples, toFrame))]));
    }
    out[String(deg)] = group;
  });
  return out;
}

export const movingBar = makeMovingBar();
