/**
 * Responses to light steps, pooled over every step of one kind across trials: the windows of the
 * step-response literature (Carcieri, Jacobs & Nirenberg 2003, J Neurophysiol 90:1704; Farrow &
 * Masland 2011, J Neurophysiol 105:1516), all in seconds from the step:
 *
 * - transient `[0, transient_s)`, sustained `[transient_s, sustained_s)`, response `[0, sustained_s)`,
 *   each cut short at the next step of the trial (or the trial end) so a window never mixes steps;
 * - baseline `[−baseline_s, 0)` cut at the previous step and at the trial start (no spikes are known
 *   before it unless the trials were padded);
 * - a step-aligned trial-averaged PSTH over `[0, sustained_s)` for the latency to peak.
 *
 * Rates pool counts and time over all steps of a kind (so a cut-short window weighs less).
 */
import { countIn } from "./sectionedTrials.ts";

export interface StepEvent {
  time: number;
  label: string;
}

export interface StepWindowParams {
  transient_s: number;
  sustained_s: number;
  baseline_s: number;
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
}

export function stepResponses(
  spikes: readonly Float64Array[],
  durations: Float64Array,
  events: readonly StepEvent[][],
  w: StepWindowParams,
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
      const floor = Math.max(i > 0 ? list[i - 1].time : -Infinity, 0);
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
      for (let b = 0; b < nBins; b++) {
        const lo = e + b * w.psth_bin_s;
        const hi = lo + w.psth_bin_s;
        if (hi > limit + 1e-12) break;
        a.bins[b] += countIn(s, lo, hi);
        a.cover[b] += w.psth_bin_s;
      }
    }
  }
  const out = new Map<string, StepStats>();
  for (const [label, a] of acc) {
    const r = (k: number) => (a.d[k] > 0 ? a.c[k] / a.d[k] : Number.NaN);
    const psth = new Float64Array(nBins);
    for (let b = 0; b < nBins; b++) psth[b] = a.cover[b] > 0 ? a.bins[b] / a.cover[b] : Number.NaN;
    const variance = (a.d[2] > 0 ? a.c[2] / a.d[2] ** 2 : 0) + (a.d[3] > 0 ? a.c[3] / a.d[3] ** 2 : 0);
    const diff = a.d[2] > 0 && a.d[3] > 0 ? r(2) - r(3) : 0;
    const responseZ = diff === 0 ? 0 : variance > 0 ? diff / Math.sqrt(variance) : Math.sign(diff) * Infinity;
    out.set(label, { n_steps: a.n, transientHz: r(0), sustainedHz: r(1), responseHz: r(2), baselineHz: r(3), responseZ, psth });
  }
  return out;
}

/** max(0, x − baseline), with a missing baseline read as 0 (a step at the trial start). */
export function aboveBaseline(rate: number, baseline: number): number {
  if (Number.isNaN(rate)) return Number.NaN;
  return Math.max(0, rate - (Number.isNaN(baseline) ? 0 : baseline));
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
