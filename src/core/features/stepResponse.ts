/**
 * `step_response` — ON and OFF responses to full-field light steps (step-up / flash movies).
 *
 * Where the light turns on and off inside a trial is read from the session, not assumed: the movie's
 * `stimulus/light_template/<movie>` (the photodiode trace, see `lightTemplateTrials.ts`) is cut to
 * each trial and its steps found by a mid-level crossing (`edge_threshold`, default half-way between
 * the darkest and brightest level). Only without a template, `light_edges_s` (ON and OFF times in s
 * from the trial start, the same for every trial) is used; `edges_source` says which.
 *
 * Definitions (rates in Hz, windows from `stepWindows.ts`, pooled over all steps and trials):
 * - `on_transient_hz` `[0, transient_s)`, `on_sustained_hz` `[transient_s, sustained_s)`,
 *   `on_baseline_hz` `[−baseline_s, 0)` before each ON step; same for OFF;
 * - `on_response_hz = max(0, rate[0, sustained_s) − on_baseline_hz)` (and OFF);
 * - a polarity "responds" when its response rate is above its baseline with a Poisson z ≥
 *   `min_response_z` (default 2, see `stepWindows.ts`); one that does not counts as R = 0, so noise
 *   in a long window does not pull a pure ON unit's index away from +1;
 * - ON-OFF index `(R_on − R_off) / (R_on + R_off)` on those responses: +1 pure ON, −1 pure OFF
 *   (Carcieri et al. 2003, J Neurophysiol 90:1704; the bias index of Farrow & Masland 2011),
 *   NaN when neither polarity responds;
 * - transience index `(T − S) / (T + S)` with T, S the baseline-subtracted (≥ 0) transient and
 *   sustained rates: 1 = purely transient, 0 = flat sustained, per polarity, and `transience_index`
 *   for the preferred polarity (ON when the ON-OFF index ≥ 0); NaN for a polarity that does not respond;
 * - latency to peak: centre of the highest `psth_bin_s` bin of the step-aligned PSTH in
 *   `[0, sustained_s)`; NaN when that polarity does not respond;
 * - `baseline_rate_hz`: the rate in all baseline windows together.
 *
 * Defaults: transient 0.5 s, sustained to 4 s, baseline 1 s (the last second before a step is
 * the steadiest; the lab's original used 4 s, which on a 4 s on / 4 s off flash swallows the
 * previous step's response), PSTH bin 10 ms, movies matching /step_up|flash|on_off/i.
 *
 * Output: `data/<movie>/{…}` for every matching movie the unit has.
 */
import { f64, i64, type Tree } from "../ndarray.ts";
import type { FeatureContext, FeatureExtractor } from "./featureExtractor.ts";
import { allLightEdges, trialLightTraces, type LightEdges } from "./lightTemplateTrials.ts";
import { FeatureNotApplicable } from "./notApplicable.ts";
import { checkMovies, movieKey, movieTrials, requireRate, unitMovies, type MovieTrials } from "./sectionedTrials.ts";
import { aboveBaseline, contrastIndex, latencyToPeak, stepResponses, type StepEvent, type StepStats, type StepWindowParams } from "./stepWindows.ts";

export interface StepResponseParams extends StepWindowParams {
  movie_pattern: RegExp;
  /** Fraction of the light range where a step is timed. */
  edge_threshold: number;
  /** Poisson z a response must reach over its baseline to count. */
  min_response_z: number;
  /** Used only without a light template: step times (s from the trial start). */
  light_edges_s: LightEdges | null;
}

export const STEP_RESPONSE_DEFAULTS: StepResponseParams = {
  movie_pattern: /step_up|flash|on_off/i,
  transient_s: 0.5,
  sustained_s: 4.0,
  baseline_s: 1.0,
  psth_bin_s: 0.01,
  edge_threshold: 0.5,
  min_response_z: 2,
  light_edges_s: null,
};

/** Light steps per trial from the template, else from the parameter; undefined when neither. */
export function trialSteps(
  ctx: FeatureContext,
  trials: MovieTrials,
  rate: number,
  threshold: number,
  fallback: LightEdges | null,
): { edges: LightEdges[]; source: string } | undefined {
  const traces = trialLightTraces(ctx, trials.movie, trials, rate);
  if (traces) return { edges: allLightEdges(ctx, trials.movie, traces, threshold, Math.min(0.1, threshold / 2, (1 - threshold) / 2)), source: "light_template" };
  if (fallback) return { edges: trials.spikes.map(() => fallback), source: "parameter" };
  return undefined;
}

export function makeStepResponse(params: Partial<StepResponseParams> = {}): FeatureExtractor {
  const p = { ...STEP_RESPONSE_DEFAULTS, ...params };
  const hz = (description: string) => ({ dtype: "float64" as const, shape: "[]", unit: "Hz", description });
  const idx = (description: string) => ({ dtype: "float64" as const, shape: "[]", description });
  return {
    name: "step_response",
    version: "1.0.0",
    description: "ON/OFF transient and sustained responses to light steps, ON-OFF and transience indices, latency",
    requires: { session: ["metadata/acquisition_rate", "stimulus/section_time"], unit: ["spike_times_sectioned"] },
    afterSteps: ["section_spike_times", "add_section_time"],
    outputs: {
      "<movie>/on_transient_hz": hz("rate in [0, transient_s) after ON steps"),
      "<movie>/on_sustained_hz": hz("rate in [transient_s, sustained_s) after ON steps"),
      "<movie>/on_baseline_hz": hz("rate in [−baseline_s, 0) before ON steps"),
      "<movie>/on_response_hz": hz("max(0, rate[0, sustained_s) − on_baseline_hz)"),
      "<movie>/off_transient_hz": hz("as ON, after OFF steps"),
      "<movie>/off_sustained_hz": hz("as ON, after OFF steps"),
      "<movie>/off_baseline_hz": hz("as ON, before OFF steps"),
      "<movie>/off_response_hz": hz("as ON, after OFF steps"),
      "<movie>/baseline_rate_hz": hz("rate in every baseline window together"),
      "<movie>/on_off_index": idx("(R_on − R_off)/(R_on + R_off), +1 ON … −1 OFF"),
      "<movie>/on_transience_index": idx("(T − S)/(T + S) of baseline-subtracted ON rates"),
      "<movie>/off_transience_index": idx("(T − S)/(T + S) of baseline-subtracted OFF rates"),
      "<movie>/transience_index": idx("transience index of the preferred polarity"),
      "<movie>/on_latency_s": { dtype: "float64", shape: "[]", unit: "s", description: "ON step to the peak of the ON PSTH" },
      "<movie>/off_latency_s": { dtype: "float64", shape: "[]", unit: "s", description: "OFF step to the peak of the OFF PSTH" },
      "<movie>/n_on_steps": { dtype: "int64", shape: "[]", description: "ON steps pooled" },
      "<movie>/n_off_steps": { dtype: "int64", shape: "[]", description: "OFF steps pooled" },
      "<movie>/edges_source": { dtype: "string", shape: "[]", description: "light_template or parameter" },
    },
    check: (ctx) => checkMovies(ctx, p.movie_pattern),
    extract: (unit, ctx) => {
      const rate = requireRate(ctx);
      const out: Tree = {};
      const reasons: string[] = [];
      for (const movie of unitMovies(unit, ctx, p.movie_pattern)) {
        const trials = movieTrials(unit, movie, rate);
        const steps = trialSteps(ctx, trials, rate, p.edge_threshold, p.light_edges_s);
        if (!steps) {
          reasons.push(`${movie}: no stimulus/light_template/${movie} (or it is flat) and no light_edges_s parameter`);
          continue;
        }
        const events: StepEvent[][] = steps.edges.map((e) => [
          ...e.on.map((time) => ({ time, label: "on" })),
          ...e.off.map((time) => ({ time, label: "off" })),
        ]);
        const stats = stepResponses(trials.spikes, trials.durations, events, p);
        const on = stats.get("on");
        const off = stats.get("off");
        if (!on && !off) {
          reasons.push(`${movie}: no light step inside the trials`);
          continue;
        }
        const nan = Number.NaN;
        const responds = (s: StepStats | undefined) => s !== undefined && s.responseZ >= p.min_response_z;
        const onResp = on ? aboveBaseline(on.responseHz, on.baselineHz) : nan;
        const offResp = off ? aboveBaseline(off.responseHz, off.baselineHz) : nan;
        const ooi = contrastIndex(responds(on) ? onResp : 0, responds(off) ? offResp : 0);
        const ti = (s: StepStats | undefined) =>
          s && responds(s) ? contrastIndex(aboveBaseline(s.transientHz, s.baselineHz), aboveBaseline(s.sustainedHz, s.baselineHz)) : nan;
        const onTi = ti(on);
        const offTi = ti(off);
        out[movieKey(movie)] = {
          on_transient_hz: f64(on?.transientHz ?? nan),
          on_sustained_hz: f64(on?.sustainedHz ?? nan),
          on_baseline_hz: f64(on?.baselineHz ?? nan),
          on_response_hz: f64(onResp),
          off_transient_hz: f64(off?.transientHz ?? nan),
          off_sustained_hz: f64(off?.sustainedHz ?? nan),
          off_baseline_hz: f64(off?.baselineHz ?? nan),
          off_response_hz: f64(offResp),
          baseline_rate_hz: f64(pooledBaseline(trials, events, p.baseline_s)),
          on_off_index: f64(ooi),
          on_transience_index: f64(onTi),
          off_transience_index: f64(offTi),
          transience_index: f64(Number.isNaN(ooi) ? nan : ooi >= 0 ? onTi : offTi),
          on_latency_s: f64(on && responds(on) ? latencyToPeak(on.psth, p.psth_bin_s) : nan),
          off_latency_s: f64(off && responds(off) ? latencyToPeak(off.psth, p.psth_bin_s) : nan),
          n_on_steps: i64(on?.n_steps ?? 0),
          n_off_steps: i64(off?.n_steps ?? 0),
          edges_source: steps.source,
        };
      }
      if (!Object.keys(out).length) throw new FeatureNotApplicable(reasons.join("; "));
      return out;
    },
  };
}

/** Rate over every baseline window of every step (ON and OFF together). */
function pooledBaseline(trials: MovieTrials, events: StepEvent[][], baselineS: number): number {
  const all = stepResponses(trials.spikes, trials.durations, events.map((list) => list.map((e) => ({ time: e.time, label: "any" }))), {
    transient_s: 0,
    sustained_s: 0,
    baseline_s: baselineS,
    psth_bin_s: 1,
  }).get("any");
  return all ? all.baselineHz : Number.NaN;
}

export const stepResponse = makeStepResponse();
