/**
 * Responses to light steps, pooled over every step of one kind across trials: the windows of the
 * step-response literature (Carcieri, Jacobs & Nirenberg 2003, J Neurophysiol 90:1704; Farrow &
 * Masland 2011, J Neurophysiol 105:1516), all in seconds from the step:
 *
 * - transient `[0, transient_s)`, sustained `[transient_s, sustained_s)`, response `[0, sustained_s)`,
 *   each cut short at the next step of the trial, and after the trial's last step at `durations[t]`:
 *   the trial end, or (`until`) the next edge after it as the light template shows it, so a window
 *   never mixes steps;
 * - baseline `[−baseline_s, 0)` cut at `settle_s` after the previous step (so the previous step's
 *   transient response is not read as baseline); before the trial's first step it is cut
 *   at `since[trial]` (≤ 0: where the light before the trial is known to be steady, from the light
 *   template's lookback) and needs the spikes before the trial start (`withNeighbours`); without
 *   `since` it is cut at the trial start, and a step at the trial start has no baseline window;
 * - a step-aligned trial-averaged PSTH over `[0, sustained_s)` for the latency to peak.
 *
 * Rates pool counts and time over all steps of a kind (so a cut-short window weighs less).
 */
import { lowerBound } from "../frameClock.ts";
import { countIn } from "./sectionedTrials.ts";

export interface StepEvent {
  time: number;
  label: string;
}

export interface StepWindowParams {
  transient_s: number;
  sustained_s: number;
  baseline_s: number;
  /** The baseline starts no earlier than this long after the previous step (its transient response). */
  settle_s: number;
  psth_bin_s: number;
}

export interface StepStats {
  n_steps: number;
  transientHz: number;
  sustainedHz: number;
  responseHz: number;
  baselineHz: number;
  /**
   * Poisson z of the response over the baseline: (r_resp − r_base) / √(n_resp/T_resp² + n_base/T_base²);
   * 0 when either window is empty.
   */
  responseZ: number;
  /** Step-aligned rate (Hz) per `psth_bin_s` bin over `[0, sustained_s)`. */
  psth: Float64Array;
  /** Spikes and seconds pooled in the transient, sustained, response `[0, sustained_s)` and baseline windows. */
  transient: Counts;
  sustained: Counts;
  response: Counts;
  baseline: Counts;
}

export interface Counts {
  n: number;
  seconds: number;
}

/**
 * Poisson z of rate a over rate b: (r_a − r_b) / √(n_a/T_a² + n_b/T_b²); 0 when either window is empty
 * or the rates are equal.
 */
export function poissonZ(a: Counts, b: Counts): number {
  if (!(a.seconds > 0 && b.seconds > 0)) return 0;
  const diff = a.n / a.seconds - b.n / b.seconds;
  if (diff === 0) return 0;
  const variance = a.n / a.seconds ** 2 + b.n / b.seconds ** 2;
  return variance > 0 ? diff / Math.sqrt(variance) : Math.sign(diff) * Infinity;
}

export function stepResponses(
  spikes: readonly Float64Array[],
  /** Per trial: where the last step's windows end (the trial length, or `until` past it). */
  durations: ArrayLike<number>,
  events: readonly StepEvent[][],
  w: StepWindowParams,
  since?: readonly (number | undefined)[],
): Map<string, StepStats> {
  const nBins = Math.max(1, Math.round(w.sustained_s / w.psth_bin_s));
  const acc = new Map<string, { n: number; c: number[]; d: number[]; bins: Float64Array; cover: Float64Array }>();
  for (let t = 0; t < events.length; t++) {
    const list = [...events[t]].sort((a, b) => a.time - b.time);
    const s = spikes[t];
    for (let i = 0; i < list.length; i++) {
      const e = list[i].time;
      const limit = Math.min(i + 1 < list.length ? list[i + 1].time : Infinity, durations[t]);
      if (!(limit > e)) continue;
      // The previous step (or, before the trial's first step, `since`) plus its settling time.
      const floor = i > 0 ? Math.min(e, Math.max(list[i - 1].time + w.settle_s, 0)) : Math.min(e, since?.[t] === undefined ? 0 : since[t]! + w.settle_s);
      let a = acc.get(list[i].label);
      if (!a) acc.set(list[i].label, (a = { n: 0, c: [0, 0, 0, 0], d: [0, 0, 0, 0], bins: new Float64Array(nBins), cover: new Float64Array(nBins) }));
      a.n++;
      const windows: [number, number][] = [
        [e, Math.min(e + w.transient_s, limit)],
        [e + w.transient_s, Math.min(e + w.sustained_s, limit)],
        [e, Math.min(e + w.sustained_s, limit)],
        [Math.max(e - w.baseline_s, floor), e],
      ];
      windows.forEach(([lo, hi], k) => {
        if (hi > lo) {
          a.c[k] += countIn(s, lo, hi);
          a.d[k] += hi - lo;
        }
      });
      // Bin edges only grow, so each edge's place among the sorted spikes is found by stepping on from
      // the last one (the same counts as a search per edge, without 2 × 400 searches per step).
      let first = lowerBound(s, e);
      let end = first;
      for (let b = 0; b < nBins; b++) {
        const lo = e + b * w.psth_bin_s;
        const hi = lo + w.psth_bin_s;
        if (hi > limit + 1e-12) break;
        while (first < s.length && s[first] < lo) first++;
        if (end < first) end = first;
        while (end < s.length && s[end] < hi) end++;
        a.bins[b] += end - first;
        a.cover[b] += w.psth_bin_s;
      }
    }
  }
  const out = new Map<string, StepStats>();
  for (const [label, a] of acc) {
    const r = (k: number) => (a.d[k] > 0 ? a.c[k] / a.d[k] : Number.NaN);
    const psth = new Float64Array(nBins);
    for (let b = 0; b < nBins; b++) psth[b] = a.cover[b] > 0 ? a.bins[b] / a.cover[b] : Number.NaN;
    const [transient, sustained, response, baseline] = [0, 1, 2, 3].map((k) => ({ n: a.c[k], seconds: a.d[k] }));
    const responseZ = poissonZ(response, baseline);
    out.set(label, { n_steps: a.n, transientHz: r(0), sustainedHz: r(1), responseHz: r(2), baselineHz: r(3), responseZ, psth, transient, sustained, response, baseline });
  }
  return out;
}

/** max(0, x − baseline); NaN when either is NaN (a missing baseline is never read as 0). */
export function aboveBaseline(rate: number, baseline: number): number {
  if (Number.isNaN(rate) || Number.isNaN(baseline)) return Number.NaN;
  return Math.max(0, rate - baseline);
}

/** What a kind of step's response is measured against. */
export interface Reference {
  counts: Counts;
  /** "own": the baseline windows before these steps; "pooled": every step's baseline windows. */
  source: "own" | "pooled";
}

/**
 * The reference of a kind of step: its own baseline windows, or — when none of its steps has one
 * (every such step starts its trial and nothing is known before it) — the baseline windows of all
 * steps together; undefined when there is no baseline window at all.
 */
export function referenceFor(s: StepStats, pooled: Counts): Reference | undefined {
  if (s.baseline.seconds > 0) return { counts: s.baseline, source: "own" };
  if (pooled.seconds > 0) return { counts: pooled, source: "pooled" };
  return undefined;
}

/** Rate over every baseline window of every step (all kinds together), as counts. */
export function pooledBaselineCounts(
  spikes: readonly Float64Array[],
  durations: ArrayLike<number>,
  events: readonly StepEvent[][],
  w: Pick<StepWindowParams, "baseline_s" | "settle_s">,
  since?: readonly (number | undefined)[],
): Counts {
  const any = events.map((list) => list.map((e) => ({ time: e.time, label: "any" })));
  const all = stepResponses(spikes, durations, any, { transient_s: 0, sustained_s: 0, baseline_s: w.baseline_s, settle_s: w.settle_s, psth_bin_s: 1 }, since).get("any");
  return all ? all.baseline : { n: 0, seconds: 0 };
}

/** (a − b) / (a + b), NaN when both are 0 or either is NaN. */
export function contrastIndex(a: number, b: number): number {
  const s = a + b;
  return s > 0 ? (a - b) / s : Number.NaN;
}

/** Seconds from the step to the centre of the PSTH's highest bin; NaN for an empty PSTH. */
export function latencyToPeak(psth: Float64Array, binWidth: number): number {
  let best = -1;
  let max = -Infinity;
  for (let b = 0; b < psth.length; b++) {
    if (psth[b] > max) {
      max = psth[b];
      best = b;
    }
  }
  return best >= 0 && max > 0 ? (best + 0.5) * binWidth : Number.NaN;
}
