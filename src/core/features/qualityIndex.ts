/**
 * `quality_index` — response quality index per stimulus (Baden et al. 2016, Nature 529:345,
 * "The functional diversity of retinal ganglion cells in the mouse", Methods: QI).
 *
 * Definition: with C the [time bins × trials] matrix of binned firing rates of one movie,
 *   QI = Var_t( mean_r C ) / mean_r( Var_t C )
 * i.e. the variance over time of the trial-averaged response divided by the mean over trials of each
 * trial's variance over time. A perfectly repeatable response gives 1; trial-to-trial independent
 * (Poisson) firing gives ≈ 1 / n_trials. Needs ≥ 2 trials; a unit silent in every bin gives NaN.
 *
 * Parameters: `bin_width_s` (default 0.05 s); `movie_pattern` (default: every sectioned movie).
 * Movies with fewer than 2 trials (e.g. the single-trial dense noise) are left out, not failed.
 * Times are relative to each trial's start; bins cover `[0, shortest trial)` so every trial has every
 * bin (trial lengths can differ by a sample after frame-to-sample conversion).
 *
 * `quality_index_above_chance` = (QI − 1/n) / (1 − 1/n): 0 for trial-independent firing, 1 for a perfect
 * repeat, whatever the number of trials n — the raw QI's noise floor is 1/n, so raw QIs of movies (or
 * recordings) with different trial counts cannot be compared or thresholded together.
 * `reason` says why a QI is NaN (a unit silent over every bin, trials shorter than 2 bins), else "".
 *
 * Output: `data/<movie>/{quality_index, quality_index_above_chance, n_trials, bin_width_s, reason}`.
 */
import { f64, i64, type Tree } from "../ndarray.ts";
import type { FeatureExtractor } from "./featureExtractor.ts";
import { FeatureNotApplicable } from "./notApplicable.ts";
import { checkMovies, movieKey, movieTrials, requireRate, unitMovies } from "./sectionedTrials.ts";
import { binCounts } from "./spikeBins.ts";

export interface QualityIndexParams {
  bin_width_s: number;
  movie_pattern: RegExp;
}

export const QUALITY_INDEX_DEFAULTS: QualityIndexParams = { bin_width_s: 0.05, movie_pattern: /./ };

export function makeQualityIndex(params: Partial<QualityIndexParams> = {}): FeatureExtractor {
  const p = { ...QUALITY_INDEX_DEFAULTS, ...params };
  return {
    name: "quality_index",
    version: "1.1.0",
    description: "Response quality index per repeated stimulus (Baden et al. 2016)",
    requires: { session: ["metadata/acquisition_rate", "stimulus/section_time"], unit: ["spike_times_sectioned"] },
    afterSteps: ["section_spike_times"],
    outputs: {
      "<movie>/quality_index": { dtype: "float64", shape: "[]", description: "Var_t(mean_r C) / mean_r(Var_t C); 1 = perfectly repeatable, ≈1/n_trials for noise" },
      "<movie>/quality_index_above_chance": { dtype: "float64", shape: "[]", description: "(QI − 1/n)/(1 − 1/n): 0 = trial-independent firing, 1 = perfect repeat" },
      "<movie>/n_trials": { dtype: "int64", shape: "[]", description: "trials used" },
      "<movie>/reason": { dtype: "string", shape: "[]", description: "why the QI is NaN; empty when it is not" },
      "<movie>/bin_width_s": { dtype: "float64", shape: "[]", unit: "s", description: "bin width of C" },
    },
    check: (ctx) => checkMovies(ctx, p.movie_pattern),
    extract: (unit, ctx) => {
      const rate = requireRate(ctx);
      const out: Tree = {};
      for (const movie of unitMovies(unit, ctx, p.movie_pattern)) {
        const trials = movieTrials(unit, movie, rate);
        const n = trials.spikes.length;
        if (n < 2) continue;
        const shortest = Math.min(...trials.durations);
        const qi = qualityIndex(trials.spikes, shortest, p.bin_width_s);
        const reason = !Number.isNaN(qi)
          ? ""
          : shortest < 2 * p.bin_width_s
            ? `the shortest trial (${shortest.toFixed(3)} s) holds fewer than 2 bins of ${p.bin_width_s} s`
            : "no spike inside the trials (every bin's count is the same)";
        out[movieKey(movie)] = {
          quality_index: f64(qi),
          quality_index_above_chance: f64((qi - 1 / n) / (1 - 1 / n)),
          n_trials: i64(n),
          bin_width_s: f64(p.bin_width_s),
          reason,
        };
      }
      if (!Object.keys(out).length) throw new FeatureNotApplicable(`${unit.id} has no movie with 2 or more trials`);
      return out;
    },
  };
}

/** QI of trials (times in s from each trial's start) binned over `[0, duration)`. */
export function qualityIndex(trials: readonly Float64Array[], duration: number, binWidth: number): number {
  const nBins = Math.floor(duration / binWidth + 1e-9);
  const r = trials.length;
  if (nBins < 2 || r < 2) return Number.NaN;
  const mean = new Float64Array(nBins);
  let meanOfVars = 0;
  for (const spikes of trials) {
    const c = binCounts(spikes, 0, binWidth, nBins);
    meanOfVars += variance(c) / r;
    for (let b = 0; b < nBins; b++) mean[b] += c[b] / r;
  }
  // Counts, not rates: the bin width cancels in the ratio.
  return meanOfVars > 0 ? variance(mean) / meanOfVars : Number.NaN;
}

function variance(x: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i] - m) ** 2;
  return v / x.length;
}

export const qualityIndexFeature = makeQualityIndex();
