/**
 * `baseline` — spontaneous firing and spike-train hygiene.
 *
 * Two scopes, each a subgroup of `data`:
 * - `<movie>` for every movie matching `movie_pattern` (default /baseline/i, e.g. `baseline_127`):
 *   the trial-sectioned spikes with times relative to each trial's start; ISIs are taken inside
 *   trials only (a gap between trials is not an interval of the cell);
 * - `whole_recording`: every spike in `spike_times`. Its rate needs the recording's length, read from
 *   `metadata/cmcr_meta/recording_duration_s` (or `cmtr_meta`), else NaN.
 * Sample indices are converted to seconds with `metadata/acquisition_rate` (never read as µs, trap 1).
 *
 * Definitions:
 * - `rate_hz` = spikes / observed seconds;
 * - `isi_cv` = SD(ISI) / mean(ISI) (population SD): ≈ 1 for a Poisson process, 0 for a perfectly
 *   regular train (Softky & Koch 1993, J Neurosci 13:334); NaN with fewer than 2 intervals;
 * - `refractory_violations` = number of ISIs shorter than `refractory_ms` (default 1.5 ms), and
 *   `refractory_violation_fraction` = violations / spike count — the sorting-contamination measure
 *   of Hill, Mehta & Kleinfeld 2011 (J Neurosci 31:8699), counted exactly on integer sample gaps
 *   (gap < refractory_ms · rate / 1000);
 * - `spike_count`, `duration_s`;
 * - `reason`: why a value is NaN (no recording length, fewer than 2 intervals, no spikes), else "".
 */
import { f64, i64, isTree, scalarNumber, type Tree } from "../ndarray.ts";
import { childAt } from "../sessionInputs.ts";
import type { FeatureContext, FeatureExtractor, FeatureOutput } from "./featureExtractor.ts";
import { int64ToFloat64 } from "./int64Numbers.ts";
import { movieKey, movieTrials, requireRate, sessionMovies, sortIfNeeded } from "./sectionedTrials.ts";

export interface BaselineParams {
  movie_pattern: RegExp;
  refractory_ms: number;
}

export const BASELINE_DEFAULTS: BaselineParams = { movie_pattern: /baseline/i, refractory_ms: 1.5 };

export interface TrainStats {
  spike_count: number;
  duration_s: number;
  rate_hz: number;
  isi_cv: number;
  refractory_violations: number;
  refractory_violation_fraction: number;
}

/**
 * Statistics of sorted spike trains in SAMPLES (integers, so "shorter than the refractory period" is
 * an exact integer comparison, not a float one); ISIs are taken within each train.
 */
export function trainStats(trains: readonly Float64Array[], durationS: number, refractorySamples: number, rate: number): TrainStats {
  let n = 0;
  let isiN = 0;
  let isiSum = 0;
  let isiSq = 0;
  let violations = 0;
  for (const s of trains) {
    n += s.length;
    for (let i = 1; i < s.length; i++) {
      const d = s[i] - s[i - 1];
      isiN++;
      isiSum += d / rate;
      isiSq += (d / rate) ** 2;
      if (d < refractorySamples) violations++;
    }
  }
  const mean = isiN ? isiSum / isiN : Number.NaN;
  const sd = isiN ? Math.sqrt(Math.max(0, isiSq / isiN - mean * mean)) : Number.NaN;
  return {
    spike_count: n,
    duration_s: durationS,
    rate_hz: durationS > 0 ? n / durationS : Number.NaN,
    isi_cv: isiN >= 2 && mean > 0 ? sd / mean : Number.NaN,
    refractory_violations: violations,
    refractory_violation_fraction: n ? violations / n : Number.NaN,
  };
}

function statsTree(s: TrainStats, noDuration = "no observed time"): Tree {
  const why: string[] = [];
  if (Number.isNaN(s.rate_hz)) why.push(`rate_hz: ${noDuration}`);
  if (Number.isNaN(s.isi_cv)) why.push(`isi_cv: ${s.spike_count} spikes give fewer than 2 intervals`);
  if (Number.isNaN(s.refractory_violation_fraction)) why.push("refractory_violation_fraction: no spikes");
  return {
    reason: why.join("; "),
    spike_count: i64(s.spike_count),
    duration_s: f64(s.duration_s),
    rate_hz: f64(s.rate_hz),
    isi_cv: f64(s.isi_cv),
    refractory_violations: i64(s.refractory_violations),
    refractory_violation_fraction: f64(s.refractory_violation_fraction),
  };
}

function recordingSeconds(ctx: FeatureContext): number {
  for (const path of ["cmcr_meta/recording_duration_s", "cmtr_meta/recording_duration_s", "recording_duration_s"]) {
    const v = scalarNumber(childAt(ctx.metadata, path));
    if (v !== undefined && v > 0) return v;
  }
  return Number.NaN;
}

export function makeBaseline(params: Partial<BaselineParams> = {}): FeatureExtractor {
  const p = { ...BASELINE_DEFAULTS, ...params };
  const outputs: Record<string, FeatureOutput> = {};
  for (const scope of ["whole_recording", "<movie>"]) {
    outputs[`${scope}/spike_count`] = { dtype: "int64", shape: "[]", description: "spikes" };
    outputs[`${scope}/duration_s`] = { dtype: "float64", shape: "[]", unit: "s", description: "observed time" };
    outputs[`${scope}/rate_hz`] = { dtype: "float64", shape: "[]", unit: "Hz", description: "spike_count / duration_s" };
    outputs[`${scope}/isi_cv`] = { dtype: "float64", shape: "[]", description: "SD(ISI)/mean(ISI)" };
    outputs[`${scope}/refractory_violations`] = { dtype: "int64", shape: "[]", description: `ISIs < refractory_ms (${p.refractory_ms} ms)` };
    outputs[`${scope}/refractory_violation_fraction`] = { dtype: "float64", shape: "[]", description: "violations / spike_count" };
  }
  outputs["whole_recording/reason"] = { dtype: "string", shape: "[]", description: "why a value is NaN; empty when none" };
  outputs["<movie>/reason"] = { dtype: "string", shape: "[]", description: "why a value is NaN; empty when none" };
  outputs.refractory_ms = { dtype: "float64", shape: "[]", unit: "ms", description: "refractory period used" };
  return {
    name: "baseline",
    version: "1.1.0",
    description: "Spontaneous rate, ISI CV, refractory violations (whole recording and baseline movies)",
    requires: { session: ["metadata/acquisition_rate"], unit: ["spike_times"] },
    afterSteps: ["section_spike_times"],
    outputs,
    check: (ctx) => (ctx.acquisitionRate !== undefined && ctx.acquisitionRate > 0 ? undefined : "needs a positive metadata/acquisition_rate"),
    extract: (unit, ctx) => {
      const rate = requireRate(ctx);
      const refractory = (p.refractory_ms / 1000) * rate;
      const all = sortIfNeeded(int64ToFloat64(unit.spikeTimes));
      const out: Tree = {
        whole_recording: statsTree(trainStats([all], recordingSeconds(ctx), refractory, rate), "no metadata/cmcr_meta/recording_duration_s (or cmtr_meta) to divide by"),
        refractory_ms: f64(p.refractory_ms),
      };
      const sectioned = unit.children.spike_times_sectioned;
      for (const movie of sessionMovies(ctx, p.movie_pattern)) {
        if (!isTree(sectioned) || !isTree(sectioned[movie])) continue;
        const trials = movieTrials(unit, movie, rate);
        // Only spikes inside [0, duration) of each trial (pad margins would double-count time), back
        // to whole samples from the trial start.
        const inside = trials.spikes.map((s, t) => s.filter((x) => x >= 0 && x < trials.durations[t]).map((x) => Math.round(x * rate)));
        out[movieKey(movie)] = statsTree(trainStats(inside, trials.durations.reduce((a, b) => a + b, 0), refractory, rate));
      }
      return out;
    },
  };
}

export const baseline = makeBaseline();
