/**
 * Synthetic sectioned units, light templates and contexts with known answers for the feature tests
 * (and the feature bench): spike trains are drawn from a seeded Prng, so every run is identical.
 */
import type { FeatureContext } from "../src/core/features/featureExtractor.ts";
import { NDArray, i64, type Tree } from "../src/core/ndarray.ts";
import { Prng } from "../src/core/prng.ts";
import { unitIdFor, type Unit } from "../src/core/session.ts";

export const RATE = 20000;

export interface MovieLayout {
  /** section_time[movie][0, 0] (samples). */
  sectionStart: number;
  /** Trial starts, seconds after the section start. */
  trialStartsS: number[];
  trialS: number;
  /** Light level at t seconds from the trial start (the template repeats it per trial), or none. */
  light?: (t: number) => number;
}

/** Trial bounds in samples. */
export function trialBounds(layout: MovieLayout): [number, number][] {
  return layout.trialStartsS.map((s) => {
    const start = layout.sectionStart + Math.round(s * RATE);
    return [start, start + Math.round(layout.trialS * RATE)];
  });
}

/** `spike_times_sectioned/<movie>` from spike times in seconds relative to each trial's start. */
export function sectionedMovie(layout: MovieLayout, trialsS: readonly number[][]): Tree {
  const bounds = trialBounds(layout);
  const trials: Tree = {};
  const all: bigint[] = [];
  trialsS.forEach((spikes, n) => {
    const samples = spikes.map((t) => BigInt(bounds[n][0] + Math.round(t * RATE)));
    trials[String(n)] = new NDArray(BigInt64Array.from(samples));
    all.push(...samples);
  });
  return {
    full_spike_times: new NDArray(BigInt64Array.from([...new Set(all)].sort((a, b) => (a < b ? -1 : 1)))),
    trials_spike_times: trials,
    trials_start_end: new NDArray(BigInt64Array.from(bounds.flat(), (x) => BigInt(x)), [bounds.length, 2]),
    _attrs: { n_trials: i64(bounds.length) },
  };
}

export function unitWith(n: number, movies: Record<string, Tree>, extraChildren: Tree = {}): Unit {
  const all = new Set<bigint>();
  for (const m of Object.values(movies)) for (const x of (m.full_spike_times as NDArray).data as BigInt64Array) all.add(x);
  return {
    id: unitIdFor(n),
    attrs: { row: 1, col: n, global_id: n, unit_num: n, original_name: `Unit_${n}` },
    spikeTimes: BigUint64Array.from([...all].sort((a, b) => (a < b ? -1 : 1)), (x) => BigInt.asUintN(64, x)),
    children: { spike_times_sectioned: movies, ...extraChildren },
  };
}

/** A context whose stimulus has `section_time` and (where given) `light_template` for each movie. */
export function contextFor(layouts: Record<string, MovieLayout>, metadata: Tree = {}): FeatureContext {
  const sectionTime: Tree = {};
  const template: Tree = {};
  for (const [movie, layout] of Object.entries(layouts)) {
    const bounds = trialBounds(layout);
    const end = bounds[bounds.length - 1][1] + RATE;
    sectionTime[movie] = new NDArray(BigInt64Array.of(BigInt(layout.sectionStart), BigInt(end)), [1, 2]);
    if (layout.light) {
      const trace = new Float32Array(end - layout.sectionStart);
      for (const [s, e] of bounds) {
        for (let i = s; i < e; i++) trace[i - layout.sectionStart] = layout.light((i - s) / RATE);
      }
      template[movie] = new NDArray(trace);
    }
  }
  return { metadata, stimulus: { section_time: sectionTime, light_template: template }, acquisitionRate: RATE, frameTimestamps: undefined };
}

/** Inhomogeneous Poisson spike times in [0, duration) with rate(t) ≤ maxRate (thinning). */
export function poisson(rng: Prng, rate: (t: number) => number, duration: number, maxRate: number): number[] {
  const out: number[] = [];
  let t = 0;
  for (;;) {
    t += rng.exp() / maxRate;
    if (t >= duration) return out;
    if (rng.next() * maxRate < rate(t)) out.push(t);
  }
}
