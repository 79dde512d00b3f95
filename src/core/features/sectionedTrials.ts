/**
 * A unit's trials of one movie as the features read them: spike times in SECONDS RELATIVE TO EACH
 * TRIAL'S START (`trials_start_end[n, 0]`), never to the recording start, converted from the stored
 * int64 sample indices with `metadata/acquisition_rate`.
 *
 * With a pre pad margin the stored trials hold spikes before the trial start; they come out with
 * negative times and the features that integrate over `[0, duration)` ignore them.
 */
import { lowerBound } from "../frameClock.ts";
import { NDArray, isTree, type Tree } from "../ndarray.ts";
import { childAt } from "../sessionInputs.ts";
import type { Unit } from "../session.ts";
import type { FeatureContext } from "./featureExtractor.ts";
import { asFloat64 } from "./int64Numbers.ts";
import { FeatureNotApplicable } from "./notApplicable.ts";

export interface MovieTrials {
  movie: string;
  /** Trial bounds in samples, as `trials_start_end`. */
  startSamples: Float64Array;
  endSamples: Float64Array;
  /** Trial lengths (s). */
  durations: Float64Array;
  /** Per trial: spike times (s) relative to that trial's start, sorted. */
  spikes: Float64Array[];
}

export function requireRate(ctx: FeatureContext): number {
  const rate = ctx.acquisitionRate;
  if (!(rate !== undefined && rate > 0)) throw new FeatureNotApplicable("metadata/acquisition_rate is missing or not positive");
  return rate;
}

/** Session check shared by the extractors: a positive rate and at least one movie matching. */
export function checkMovies(ctx: FeatureContext, pattern: RegExp): string | undefined {
  if (!(ctx.acquisitionRate !== undefined && ctx.acquisitionRate > 0)) return "needs a positive metadata/acquisition_rate";
  if (!sessionMovies(ctx, pattern).length) return `no movie matching ${pattern} in stimulus/section_time`;
  return undefined;
}

/** Movies in `stimulus/section_time` whose name matches. */
export function sessionMovies(ctx: FeatureContext, pattern: RegExp): string[] {
  const group = ctx.stimulus.section_time;
  return isTree(group) ? Object.keys(group).filter((m) => pattern.test(m)) : [];
}

/** Movies matching `pattern` that this unit has sectioned; throws "not applicable" when none. */
export function unitMovies(unit: Unit, ctx: FeatureContext, pattern: RegExp): string[] {
  const sectioned = unit.children.spike_times_sectioned;
  const have = isTree(sectioned) ? Object.keys(sectioned).filter((m) => pattern.test(m)) : [];
  const session = sessionMovies(ctx, pattern);
  // Prefer the session's order (the playlist order) and fall back to what the unit holds.
  const movies = session.length ? session.filter((m) => have.includes(m)) : have;
  if (!movies.length) throw new FeatureNotApplicable(`${unit.id} has no spike_times_sectioned movie matching ${pattern}`);
  return movies;
}

export function movieTrials(unit: Unit, movie: string, rate: number): MovieTrials {
  const trials = sectionedTrials(unit, movie, rate);
  if (trials instanceof FeatureNotApplicable) throw trials;
  return trials;
}

/** `movieTrials`, or (not thrown) why the unit has none of `movie` to read: for a caller with something else to show. */
export function sectionedTrials(unit: Unit, movie: string, rate: number): MovieTrials | FeatureNotApplicable {
  const node = childAt(unit.children, `spike_times_sectioned/${movie}`);
  if (!isTree(node)) return new FeatureNotApplicable(`${unit.id} has no spike_times_sectioned/${movie}`);
  const bounds = node.trials_start_end;
  if (!(bounds instanceof NDArray) || bounds.data.length < 2 || bounds.data.length % 2) {
    return new FeatureNotApplicable(`${unit.id}: spike_times_sectioned/${movie}/trials_start_end is missing or not [n, 2]`);
  }
  const flat = asFloat64(bounds.data);
  const n = flat.length / 2;
  const startSamples = new Float64Array(n);
  const endSamples = new Float64Array(n);
  const durations = new Float64Array(n);
  const spikes: Float64Array[] = [];
  const trials = isTree(node.trials_spike_times) ? (node.trials_spike_times as Tree) : {};
  for (let t = 0; t < n; t++) {
    startSamples[t] = flat[2 * t];
    endSamples[t] = flat[2 * t + 1];
    durations[t] = (endSamples[t] - startSamples[t]) / rate;
    const leaf = trials[String(t)];
    const rel = leaf instanceof NDArray ? asFloat64(leaf.data) : new Float64Array(0);
    for (let i = 0; i < rel.length; i++) rel[i] = (rel[i] - startSamples[t]) / rate;
    spikes.push(sortIfNeeded(rel));
  }
  return { movie, startSamples, endSamples, durations, spikes };
}

/**
 * Each trial's spikes (s from its start) in `[0, duration)`, with the unit's spikes from `spike_times`
 * in `[−leadS, 0)` before them and `[duration, duration + lagS)` after: a window that reaches past a
 * trial's bounds (the baseline of a step at the trial start, the response to a step near its end)
 * reads the train the trials were cut from. Pad-margin spikes already in a trial are replaced, not
 * doubled. Undefined when the unit's `spike_times` is empty but its trials are not (then nothing is
 * known outside a trial, and a window there must stay empty rather than count zero spikes).
 */
export function withNeighbours(unit: Unit, trials: MovieTrials, rate: number, leadS: number, lagS: number): Float64Array[] | undefined {
  const all = unit.spikeTimes;
  if (!all.length) return trials.spikes.some((s) => s.length) ? undefined : trials.spikes;
  const train = sortedTrain(all);
  const lead = Math.round(leadS * rate);
  const lag = Math.round(lagS * rate);
  return trials.spikes.map((spikes, t) => {
    const start = trials.startSamples[t];
    const end = trials.endSamples[t];
    const b0 = lowerBoundBig(train, start - lead);
    const b1 = lowerBoundBig(train, start);
    const a0 = lowerBoundBig(train, end);
    const a1 = lowerBoundBig(train, end + lag);
    const own = spikesIn(spikes, 0, trials.durations[t]);
    const out = new Float64Array(b1 - b0 + own.length + a1 - a0);
    let k = 0;
    for (let i = b0; i < b1; i++) out[k++] = (Number(train[i]) - start) / rate;
    out.set(own, k);
    k += own.length;
    for (let i = a0; i < a1; i++) out[k++] = (Number(train[i]) - start) / rate;
    return out;
  });
}

/**
 * A spike train in time order (the train itself when it is, as stored trains are). Known per train:
 * several features ask for every unit and movie, and checking a train is a BigInt read per spike.
 */
const sortedTrains = new WeakMap<BigUint64Array, BigUint64Array>();

function sortedTrain(all: BigUint64Array): BigUint64Array {
  let train = sortedTrains.get(all);
  if (!train) {
    let sorted = true;
    for (let i = 1; i < all.length && sorted; i++) sorted = all[i] >= all[i - 1];
    train = sorted ? all : BigUint64Array.from(all).sort();
    sortedTrains.set(all, train);
  }
  return train;
}

function lowerBoundBig(sorted: BigUint64Array, x: number): number {
  const key = BigInt(Math.max(0, Math.ceil(x)));
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sorts in place unless already sorted (stored spikes almost always are; a check is O(n)). */
export function sortIfNeeded(x: Float64Array): Float64Array {
  for (let i = 1; i < x.length; i++) if (x[i] < x[i - 1]) return x.sort();
  return x;
}

/** The spikes of a sorted array in `[a, b)` (a view of it). */
export function spikesIn(sorted: Float64Array, a: number, b: number): Float64Array {
  return sorted.subarray(lowerBound(sorted, a), lowerBound(sorted, b));
}

/** Spikes of a sorted array in `[a, b)`. */
export function countIn(sorted: Float64Array, a: number, b: number): number {
  return lowerBound(sorted, b) - lowerBound(sorted, a);
}


/** A movie name as a group key: the name itself (movie names are file stems without `/`). */
export function movieKey(movie: string): string {
  return movie.replaceAll("/", "_");
}
