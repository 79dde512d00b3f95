/**
 * `green_blue` — chromatic preference from full-field green and blue steps (`green_blue_3s_3i_3x`:
 * a green step and a blue step per trial, 3 s on, 3 s off).
 *
 * The steps are read from `stimulus/light_template/<movie>` (see `lightTemplateTrials.ts`) with a low
 * threshold (`edge_threshold` 0.1 of the light range) because the photodiode sees the two LEDs with
 * different gains, so the dimmer colour's step may not reach half the range. The k-th ON step of a
 * trial is colour `colour_order[k mod 2]` (default green then blue, the lab's movie order) and the
 * next OFF step ends it. Without a template, `steps_s` (ON and OFF times per colour step, in order)
 * is used.
 *
 * Definitions (windows as `step_response`, `stepWindows.ts`):
 * - response to a colour: R_c = max(0, rate[0, response_s) after its ON step − baseline) +
 *   max(0, rate[0, response_s) after its OFF step − baseline), so ON, OFF and ON-OFF units all count;
 *   a step whose response is not above its baseline with Poisson z ≥ `min_response_z` (2) counts 0;
 * - chromatic preference index (green-blue contrast, as the spectral/chromatic indices of e.g.
 *   Baden et al. 2013, J Neurosci 33:1975, and Szatko et al. 2020, Nat Commun 11:3481):
 *   (R_green − R_blue) / (R_green + R_blue): +1 green only, −1 blue only, NaN when neither responds.
 * The intensity-group variant (`…_64_128_255`) pools all its groups.
 *
 * Output: `data/<movie>/{green_on_hz, green_off_hz, blue_on_hz, blue_off_hz, green_response_hz,
 * blue_response_hz, green_blue_index, n_green_steps, n_blue_steps, edges_source}`;
 * movies matching /green_blue|blue_green/i.
 */
import { f64, i64, type Tree } from "../ndarray.ts";
import type { FeatureExtractor } from "./featureExtractor.ts";
import type { LightEdges } from "./lightTemplateTrials.ts";
import { FeatureNotApplicable } from "./notApplicable.ts";
import { checkMovies, movieKey, movieTrials, requireRate, unitMovies } from "./sectionedTrials.ts";
import { stepInputs, trialSteps } from "./stepResponse.ts";
import { aboveBaseline, contrastIndex, poissonZ, pooledBaselineCounts, referenceFor, stepResponses, type StepEvent } from "./stepWindows.ts";

export interface GreenBlueParams {
  movie_pattern: RegExp;
  colour_order: readonly [string, string];
  edge_threshold: number;
  response_s: number;
  baseline_s: number;
  settle_s: number;
  min_response_z: number;
  steps_s: LightEdges | null;
}

export const GREEN_BLUE_DEFAULTS: GreenBlueParams = {
  movie_pattern: /green_blue|blue_green/i,
  colour_order: ["green", "blue"],
  edge_threshold: 0.1,
  response_s: 2.0,
  baseline_s: 1.0,
  settle_s: 0.5,
  min_response_z: 2,
  steps_s: null,
};

export function makeGreenBlue(params: Partial<GreenBlueParams> = {}): FeatureExtractor {
  const p = { ...GREEN_BLUE_DEFAULTS, ...params };
  const hz = (description: string) => ({ dtype: "float64" as const, shape: "[]", unit: "Hz", description });
  return {
    name: "green_blue",
    version: "1.1.0",
    description: "Chromatic (green vs blue) preference index from full-field colour steps",
    requires: { session: ["metadata/acquisition_rate", "stimulus/section_time"], unit: ["spike_times_sectioned"] },
    afterSteps: ["section_spike_times", "add_section_time"],
    outputs: {
      "<movie>/green_on_hz": hz("max(0, rate after green ON − baseline)"),
      "<movie>/green_off_hz": hz("max(0, rate after green OFF − baseline)"),
      "<movie>/blue_on_hz": hz("max(0, rate after blue ON − baseline)"),
      "<movie>/blue_off_hz": hz("max(0, rate after blue OFF − baseline)"),
      "<movie>/green_response_hz": hz("green ON + OFF response"),
      "<movie>/blue_response_hz": hz("blue ON + OFF response"),
      "<movie>/green_blue_index": { dtype: "float64", shape: "[]", description: "(R_green − R_blue)/(R_green + R_blue)" },
      "<movie>/n_green_steps": { dtype: "int64", shape: "[]", description: "green steps pooled" },
      "<movie>/n_blue_steps": { dtype: "int64", shape: "[]", description: "blue steps pooled" },
      "<movie>/edges_source": { dtype: "string", shape: "[]", description: "light_template or parameter" },
      "<movie>/reason": { dtype: "string", shape: "[]", description: "why the index is NaN, and any step measured against the pooled baseline; empty when none" },
    },
    check: (ctx) => checkMovies(ctx, p.movie_pattern),
    extract: (unit, ctx) => {
      const rate = requireRate(ctx);
      const [c0, c1] = p.colour_order;
      const out: Tree = {};
      const reasons: string[] = [];
      for (const movie of unitMovies(unit, ctx, p.movie_pattern)) {
        const trials = movieTrials(unit, movie, rate);
        const steps = trialSteps(ctx, trials, rate, p.edge_threshold, p.steps_s, p.baseline_s + p.settle_s, p.response_s);
        if (!steps) {
          reasons.push(`${movie}: no stimulus/light_template/${movie} (or it is flat) and no steps_s parameter`);
          continue;
        }
        const events: StepEvent[][] = steps.edges.map((e) => {
          const list: StepEvent[] = [];
          e.on.forEach((time, k) => {
            const colour = k % 2 === 0 ? c0 : c1;
            list.push({ time, label: `${colour}_on` });
            const off = e.off.find((t) => t > time);
            const nextOn = e.on[k + 1] ?? Infinity;
            if (off !== undefined && off < nextOn) list.push({ time: off, label: `${colour}_off` });
          });
          return list;
        });
        const { spikes, since, until } = stepInputs(unit, trials, rate, steps.edges, p.baseline_s + p.settle_s, p.response_s);
        const stats = stepResponses(spikes, until, events, {
          transient_s: p.response_s,
          sustained_s: p.response_s,
          baseline_s: p.baseline_s,
          settle_s: p.settle_s,
          psth_bin_s: p.response_s,
        }, since);
        const pooled = pooledBaselineCounts(spikes, until, events, p, since);
        const notes: string[] = [];
        // A step without a baseline of its own (it starts its trial, nothing known before) is measured
        // against every step's baseline windows, and says so.
        const resp = (label: string) => {
          const s = stats.get(label);
          const ref = s && referenceFor(s, pooled);
          if (!s || !ref) return 0;
          if (ref.source === "pooled") notes.push(`${label}: no baseline of its own, measured against all steps' baselines`);
          return poissonZ(s.response, ref.counts) >= p.min_response_z ? aboveBaseline(s.responseHz, ref.counts.n / ref.counts.seconds) : 0;
        };
        const g = [resp(`${c0}_on`), resp(`${c0}_off`)];
        const b = [resp(`${c1}_on`), resp(`${c1}_off`)];
        const nG = stats.get(`${c0}_on`)?.n_steps ?? 0;
        const nB = stats.get(`${c1}_on`)?.n_steps ?? 0;
        if (!nG || !nB) {
          reasons.push(`${movie}: found ${nG} ${c0} and ${nB} ${c1} steps; need both`);
          continue;
        }
        const rg = g[0] + g[1];
        const rb = b[0] + b[1];
        out[movieKey(movie)] = {
          [`${c0}_on_hz`]: f64(g[0]),
          [`${c0}_off_hz`]: f64(g[1]),
          [`${c1}_on_hz`]: f64(b[0]),
          [`${c1}_off_hz`]: f64(b[1]),
          [`${c0}_response_hz`]: f64(rg),
          [`${c1}_response_hz`]: f64(rb),
          [`${c0}_${c1}_index`]: f64(contrastIndex(rg, rb)),
          [`n_${c0}_steps`]: i64(nG),
          [`n_${c1}_steps`]: i64(nB),
          edges_source: steps.source,
          reason: [...notes, ...(rg + rb > 0 ? [] : [`${c0}_${c1}_index: no colour step is answered (Poisson z < ${p.min_response_z})`])].join("; "),
        };
      }
      if (!Object.keys(out).length) throw new FeatureNotApplicable(reasons.join("; "));
      return out;
    },
  };
}

export const greenBlue = makeGreenBlue();
