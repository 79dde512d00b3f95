/**
 * `chirp` — how well a unit follows temporally modulated full-field light: a frequency-response curve
 * (frequency sweep / frequency steps) and an amplitude-response curve (amplitude sweep), after the
 * chirp stimulus of Baden et al. 2016 (Nature 529:345) and the lab's `freq_step_5st_3x`
 * (0.5, 1, 2, 4, 10 Hz steps).
 *
 * The stimulus is read from the session, not from a hard-coded layout: `stimulus/light_template/
 * <movie>` is cut to each trial and split into light cycles between successive upward crossings of
 * its mid level (`lightTemplateTrials.ts`); each cycle has a frequency 1/period and a relative
 * amplitude (its max − min over the trace's full range). Without a template the movie is
 * "not applicable" (there is no way to know what was shown).
 *
 * Only symmetric cycles count: a cycle must spend 50 % ± `duty_tolerance` (10 points) of its period
 * above the mid level and swing as far above it as below (|balance| ≤ `balance_tolerance`, 0.25),
 * as a sine or a square wave does. This drops the one irregular cycle at each
 * change of frequency (half a period of one frequency, half of the next), which belongs to neither,
 * and the long "cycle" of a step before the modulation starts.
 *
 * Response to a set of cycles (one curve point): the first-harmonic (F1) amplitude of the firing
 * rate at the stimulus frequency, pooled as a vector over every cycle and trial in the set:
 *   F1 = 2 · |Σ_spikes exp(−2πi (t − cycle_start) / period)| / (n_trials · Σ_cycles period)   [Hz]
 * i.e. the amplitude of the rate modulation locked to the light (a unit that fires without locking
 * averages out). This is the classic linear-response measure of following (Enroth-Cugell & Robson
 * 1966; used for chirp responses e.g. in Baden et al. 2016, Fig. 1).
 *
 * - Frequency curve: cycles with relative amplitude ≥ `full_amplitude` (0.8), grouped into log-spaced
 *   bins centred on min_hz·2^(k/bins_per_octave) (min_hz 0.25, 4 per octave, up to max_hz 30); each
 *   point's frequency is the mean of its cycles'. Empty bins are left out.
 * - Amplitude curve: cycles at the amplitude-sweep frequency (median frequency of the cycles below
 *   `full_amplitude`, ±10 %), in `amplitude_bins` (10) equal bins of relative amplitude 0–1. A movie
 *   without an amplitude sweep (frequency steps) gives empty arrays.
 * - Summary: `preferred_frequency_hz` (the frequency curve's maximum), `centroid_frequency_hz`
 *   (2^(F1-weighted mean log2 frequency), a response-weighted "centre" of the tuning), `high_low_index`
 *   = (F1_high − F1_low)/(F1_high + F1_low) with F1_low/high the mean F1 of the points below / at or
 *   above the median point frequency (−1 follows only slow light, +1 only fast), and
 *   `half_max_amplitude` (the first amplitude bin whose F1 reaches half the amplitude curve's
 *   maximum; NaN without a sweep).
 *
 * Output: `data/<movie>/{frequency_hz, frequency_f1_hz, frequency_n_cycles, amplitude, amplitude_f1_hz,
 * amplitude_n_cycles, amplitude_sweep_hz, preferred_frequency_hz, centroid_frequency_hz, high_low_index,
 * half_max_amplitude, reason}`; movies matching /chirp|freq_step/i.
 */
import { lowerBound } from "../frameClock.ts";
import { NDArray, f64, type Tree } from "../ndarray.ts";
import type { FeatureExtractor } from "./featureExtractor.ts";
import { allLightCycles, trialLightTraces, type LightCycle } from "./lightTemplateTrials.ts";
import { FeatureNotApplicable } from "./notApplicable.ts";
import { checkMovies, movieKey, movieTrials, requireRate, unitMovies } from "./sectionedTrials.ts";

export interface ChirpParams {
  movie_pattern: RegExp;
  full_amplitude: number;
  bins_per_octave: number;
  min_hz: number;
  max_hz: number;
  amplitude_bins: number;
  /** Mid-level crossing hysteresis, as a fraction of the light range. */
  hysteresis: number;
  /** A cycle counts when its fraction of time above the mid level is within 0.5 ± this. */
  duty_tolerance: number;
  /** A cycle counts when |((max − mid) − (mid − min)) / (max − min)| ≤ this. */
  balance_tolerance: number;
}

export const CHIRP_DEFAULTS: ChirpParams = {
  movie_pattern: /chirp|freq_step/i,
  full_amplitude: 0.8,
  bins_per_octave: 4,
  min_hz: 0.25,
  max_hz: 30,
  amplitude_bins: 10,
  hysteresis: 0.02,
  duty_tolerance: 0.1,
  balance_tolerance: 0.25,
};

interface CycleRef {
  trial: number;
  cycle: LightCycle;
}

/** Vector-pooled F1 (Hz) of the spikes over a set of cycles (see the file comment). */
export function pooledF1(spikes: readonly Float64Array[], refs: readonly CycleRef[]): number {
  let re = 0;
  let im = 0;
  let time = 0;
  for (const { trial, cycle } of refs) {
    const s = spikes[trial];
    const period = cycle.end - cycle.start;
    time += period;
    for (let i = lowerBound(s, cycle.start), e = lowerBound(s, cycle.end); i < e; i++) {
      const phase = (2 * Math.PI * (s[i] - cycle.start)) / period;
      re += Math.cos(phase);
      im -= Math.sin(phase);
    }
  }
  // Each trial's cycles are listed once per trial, so `time` is already the total observed time.
  return time > 0 ? (2 * Math.hypot(re, im)) / time : Number.NaN;
}

export function makeChirp(params: Partial<ChirpParams> = {}): FeatureExtractor {
  const p = { ...CHIRP_DEFAULTS, ...params };
  const arr = (unit: string, description: string) => ({ dtype: "float64" as const, shape: "[n_points]", unit, description });
  return {
    name: "chirp",
    version: "1.1.0",
    description: "Frequency- and amplitude-response curves (F1 locked to the light) for chirp / frequency-step movies",
    requires: { session: ["metadata/acquisition_rate", "stimulus/section_time"], unit: ["spike_times_sectioned"] },
    afterSteps: ["section_spike_times", "add_section_time"],
    outputs: {
      "<movie>/frequency_hz": arr("Hz", "stimulus frequency of each frequency-curve point"),
      "<movie>/frequency_f1_hz": arr("Hz", "F1 response amplitude at that frequency"),
      "<movie>/frequency_n_cycles": arr("", "light cycles × trials pooled per point"),
      "<movie>/amplitude": arr("", "relative light amplitude of each amplitude-curve point (bin centre)"),
      "<movie>/amplitude_f1_hz": arr("Hz", "F1 response amplitude at that light amplitude"),
      "<movie>/amplitude_n_cycles": arr("", "light cycles × trials pooled per point"),
      "<movie>/amplitude_sweep_hz": { dtype: "float64", shape: "[]", unit: "Hz", description: "frequency of the amplitude sweep (NaN without one)" },
      "<movie>/preferred_frequency_hz": { dtype: "float64", shape: "[]", unit: "Hz", description: "frequency of the largest F1" },
      "<movie>/centroid_frequency_hz": { dtype: "float64", shape: "[]", unit: "Hz", description: "2^(F1-weighted mean log2 f)" },
      "<movie>/high_low_index": { dtype: "float64", shape: "[]", description: "(F1_high − F1_low)/(F1_high + F1_low)" },
      "<movie>/half_max_amplitude": { dtype: "float64", shape: "[]", description: "lowest relative amplitude reaching half the max F1" },
      "<movie>/reason": { dtype: "string", shape: "[]", description: "why each NaN value is NaN and which trials were left out; empty when none" },
    },
    check: (ctx) => checkMovies(ctx, p.movie_pattern),
    extract: (unit, ctx) => {
      const rate = requireRate(ctx);
      const out: Tree = {};
      const reasons: string[] = [];
      for (const movie of unitMovies(unit, ctx, p.movie_pattern)) {
        const trials = movieTrials(unit, movie, rate);
        const traces = trialLightTraces(ctx, movie, trials, rate);
        if (!traces) {
          reasons.push(`${movie}: no usable stimulus/light_template/${movie}`);
          continue;
        }
        const cycles = allLightCycles(ctx, movie, traces, p.hysteresis);
        const refs: CycleRef[] = [];
        cycles.forEach((list, trial) => {
          for (const cycle of list) {
            if (cycle.end <= trials.durations[trial] && Math.abs(cycle.duty - 0.5) <= p.duty_tolerance && Math.abs(cycle.balance) <= p.balance_tolerance) refs.push({ trial, cycle });
          }
        });
        if (!refs.length) {
          reasons.push(`${movie}: the light template shows no modulation cycles inside the trials`);
          continue;
        }
        const curves = chirpCurves(trials.spikes, refs, p);
        const uncovered = trials.durations.length - new Set(refs.map((r) => r.trial)).size;
        curves.reason = [
          ...(uncovered ? [`${uncovered} of ${trials.durations.length} trials show no symmetric light cycle (template clipped or flat there) and are left out`] : []),
          ...chirpNanReasons(curves),
        ].join("; ");
        out[movieKey(movie)] = curves;
      }
      if (!Object.keys(out).length) throw new FeatureNotApplicable(reasons.join("; "));
      return out;
    },
  };
}

function chirpCurves(spikes: readonly Float64Array[], refs: CycleRef[], p: ChirpParams): Tree {
  // Frequency curve over full-amplitude cycles in log bins CENTRED on min_hz·2^(k/bins_per_octave), so
  // a nominal 1 Hz step measured as 0.999 Hz (1 ms crossing resolution) stays in the 1 Hz bin.
  const nBins = Math.round(Math.log2(p.max_hz / p.min_hz) * p.bins_per_octave) + 1;
  const byBin: CycleRef[][] = Array.from({ length: nBins }, () => []);
  for (const r of refs) {
    if (r.cycle.amplitude < p.full_amplitude || r.cycle.frequency < p.min_hz || r.cycle.frequency > p.max_hz) continue;
    byBin[Math.min(nBins - 1, Math.max(0, Math.round(Math.log2(r.cycle.frequency / p.min_hz) * p.bins_per_octave)))].push(r);
  }
  const freq: number[] = [];
  const f1: number[] = [];
  const nf: number[] = [];
  for (const list of byBin) {
    if (!list.length) continue;
    freq.push(list.reduce((s, r) => s + r.cycle.frequency, 0) / list.length);
    f1.push(pooledF1(spikes, list));
    nf.push(list.length);
  }

  // Amplitude curve at the sweep frequency.
  const low = refs.filter((r) => r.cycle.amplitude < p.full_amplitude);
  const sweepHz = low.length ? median(low.map((r) => r.cycle.frequency)) : Number.NaN;
  const amp: number[] = [];
  const af1: number[] = [];
  const na: number[] = [];
  if (low.length) {
    const sets: CycleRef[][] = Array.from({ length: p.amplitude_bins }, () => []);
    for (const r of refs) {
      if (Math.abs(r.cycle.frequency - sweepHz) > 0.1 * sweepHz) continue;
      sets[Math.min(p.amplitude_bins - 1, Math.floor(r.cycle.amplitude * p.amplitude_bins))].push(r);
    }
    sets.forEach((list, b) => {
      if (!list.length) return;
      amp.push((b + 0.5) / p.amplitude_bins);
      af1.push(pooledF1(spikes, list));
      na.push(list.length);
    });
  }

  let best = -1;
  for (let i = 0; i < f1.length; i++) if (best < 0 || f1[i] > f1[best]) best = i;
  let wsum = 0;
  let lsum = 0;
  for (let i = 0; i < f1.length; i++) {
    wsum += f1[i];
    lsum += f1[i] * Math.log2(freq[i]);
  }
  const medianF = freq.length ? median(freq) : Number.NaN;
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN);
  const lowF1 = mean(f1.filter((_, i) => freq[i] < medianF));
  const highF1 = mean(f1.filter((_, i) => freq[i] >= medianF));
  const amax = Math.max(...af1, -Infinity);
  const halfIdx = af1.findIndex((v) => v >= amax / 2);
  return {
    frequency_hz: new NDArray(Float64Array.from(freq)),
    frequency_f1_hz: new NDArray(Float64Array.from(f1)),
    frequency_n_cycles: new NDArray(Float64Array.from(nf)),
    amplitude: new NDArray(Float64Array.from(amp)),
    amplitude_f1_hz: new NDArray(Float64Array.from(af1)),
    amplitude_n_cycles: new NDArray(Float64Array.from(na)),
    amplitude_sweep_hz: f64(sweepHz),
    preferred_frequency_hz: f64(best >= 0 && f1[best] > 0 ? freq[best] : Number.NaN),
    centroid_frequency_hz: f64(wsum > 0 ? 2 ** (lsum / wsum) : Number.NaN),
    high_low_index: f64(lowF1 + highF1 > 0 ? (highF1 - lowF1) / (highF1 + lowF1) : Number.NaN),
    half_max_amplitude: f64(amax > 0 && halfIdx >= 0 ? amp[halfIdx] : Number.NaN),
  };
}

/** Why each NaN summary value of `chirpCurves` is NaN. */
function chirpNanReasons(c: Tree): string[] {
  const v = (k: string) => Number((c[k] as NDArray).data[0]);
  const nFreq = (c.frequency_hz as NDArray).data.length;
  const why: string[] = [];
  if (!nFreq) why.push("frequency curve empty: no full-amplitude cycle between min_hz and max_hz");
  else if (Number.isNaN(v("preferred_frequency_hz"))) why.push("preferred_frequency_hz, centroid_frequency_hz, high_low_index: no F1 above 0 (no spike locked to the light)");
  else if (Number.isNaN(v("high_low_index"))) why.push("high_low_index: fewer than 2 frequency points, none below the median");
  if (Number.isNaN(v("amplitude_sweep_hz"))) why.push("amplitude_sweep_hz, half_max_amplitude: no amplitude sweep (every cycle at full amplitude)");
  else if (Number.isNaN(v("half_max_amplitude"))) why.push("half_max_amplitude: no F1 above 0 on the amplitude sweep");
  return why;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const chirp = makeChirp();
