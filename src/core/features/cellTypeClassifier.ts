/**
 * `cell_type_classifier` — the lab's RGC heuristic (its `cell_type_classifier` 1.0.0, domain brief
 * §3.5), ported as it is, with one fix: the waveform width is measured at the recording's
 * `metadata/acquisition_rate` instead of an assumed 20 kHz (at 25 kHz the lab's code reads every
 * width 25 % too wide).
 *
 * Definition, per unit (`waveform` = the mean spike cutout, `n` = its number of spikes):
 * - n < `min_spikes` (50): `cell_type` "unknown", `rgc_probability` 0, `has_axon` 0, width NaN;
 * - `waveform_width_ms` = trough-to-peak time: from the waveform's minimum to the maximum at or
 *   after it, (i_peak − i_trough) / rate × 1000; NaN for a cutout of ≤ `min_waveform_samples` (10)
 *   samples (or none: the unit then goes by its spike count, as in the lab's code), with non-finite
 *   values, or with no sample after the trough (the lab's code gives 0 there, which then counts as
 *   narrow);
 * - `has_axon` = width < `narrow_ms` (0.4 ms). The name is the lab's: nothing here looks at an axon;
 *   it says "narrow spike" (RGC somata and axons fire narrow spikes; the lab's AP tracking is the
 *   axon evidence);
 * - `rgc_probability` = 0.8 if has_axon and n > 100, else 0.6 if n > 500, else 0.3 — fixed scores,
 *   not a calibrated probability;
 * - `cell_type` = "RGC" if rgc_probability > 0.5, else "unknown".
 * Beside the lab's four keys: `waveform_width_samples` (int64, −1 when not measurable) and
 * `sampling_rate_hz`, so a reader can check the width.
 */
import { f64, i64, bool, type Tree } from "../ndarray.ts";
import type { FeatureExtractor } from "./featureExtractor.ts";
import { requireRate } from "./sectionedTrials.ts";

export interface CellTypeParams {
  min_spikes: number;
  min_waveform_samples: number;
  narrow_ms: number;
}

export const CELL_TYPE_DEFAULTS: CellTypeParams = { min_spikes: 50, min_waveform_samples: 10, narrow_ms: 0.4 };

/** Trough-to-peak width in samples (peak = the maximum at or after the minimum), or −1 if not measurable. */
export function troughToPeakSamples(waveform: ArrayLike<number>): number {
  let trough = 0;
  for (let i = 0; i < waveform.length; i++) {
    if (!Number.isFinite(waveform[i])) return -1;
    if (waveform[i] < waveform[trough]) trough = i;
  }
  if (trough >= waveform.length - 1) return -1;
  let peak = trough;
  for (let i = trough + 1; i < waveform.length; i++) if (waveform[i] > waveform[peak]) peak = i;
  return peak - trough;
}

export interface CellType {
  cellType: "RGC" | "unknown";
  rgcProbability: number;
  hasAxon: boolean;
  widthMs: number;
  widthSamples: number;
}

export function classifyCell(waveform: ArrayLike<number> | undefined, nSpikes: number, rate: number, p: CellTypeParams = CELL_TYPE_DEFAULTS): CellType {
  if (nSpikes < p.min_spikes) return { cellType: "unknown", rgcProbability: 0, hasAxon: false, widthMs: Number.NaN, widthSamples: -1 };
  const widthSamples = waveform && waveform.length > p.min_waveform_samples ? troughToPeakSamples(waveform) : -1;
  const widthMs = widthSamples >= 0 ? (widthSamples / rate) * 1000 : Number.NaN;
  const hasAxon = widthMs < p.narrow_ms; // false for NaN
  const rgcProbability = hasAxon && nSpikes > 100 ? 0.8 : nSpikes > 500 ? 0.6 : 0.3;
  return { cellType: rgcProbability > 0.5 ? "RGC" : "unknown", rgcProbability, hasAxon, widthMs, widthSamples };
}

export function makeCellTypeClassifier(params: Partial<CellTypeParams> = {}): FeatureExtractor {
  const p = { ...CELL_TYPE_DEFAULTS, ...params };
  return {
    name: "cell_type_classifier",
    // The lab's is 1.0.0 (widths at an assumed 20 kHz); a stored 1.0.0 is recomputed.
    version: "2.0.0",
    description: "The lab's RGC heuristic: trough-to-peak width of the mean waveform at the file's rate, narrow (< 0.4 ms) = has_axon, fixed RGC scores",
    requires: { session: ["metadata/acquisition_rate"] },
    afterSteps: ["load_recording"],
    outputs: {
      cell_type: { dtype: "string", shape: "[]", description: '"RGC" if rgc_probability > 0.5, else "unknown"' },
      rgc_probability: { dtype: "float64", shape: "[]", description: "0.8 narrow and > 100 spikes, 0.6 > 500 spikes, 0.3 otherwise, 0 below 50 spikes (fixed scores)" },
      has_axon: { dtype: "int8", shape: "[]", description: "1 = waveform_width_ms < 0.4 (the lab's name for a narrow spike)" },
      waveform_width_ms: { dtype: "float64", shape: "[]", unit: "ms", description: "trough-to-peak time of the mean waveform (NaN: not measurable)" },
      waveform_width_samples: { dtype: "int64", shape: "[]", unit: "samples", description: "the same in samples (−1: not measurable)" },
      sampling_rate_hz: { dtype: "float64", shape: "[]", unit: "Hz", description: "metadata/acquisition_rate used for the width" },
    },
    check: (ctx) => (ctx.acquisitionRate !== undefined && ctx.acquisitionRate > 0 ? undefined : "needs a positive metadata/acquisition_rate"),
    extract: (unit, ctx): Tree => {
      const rate = requireRate(ctx);
      const c = classifyCell(unit.waveform, unit.spikeTimes.length, rate, p);
      return {
        cell_type: c.cellType,
        rgc_probability: f64(c.rgcProbability),
        has_axon: bool(c.hasAxon),
        waveform_width_ms: f64(c.widthMs),
        waveform_width_samples: i64(c.widthSamples),
        sampling_rate_hz: f64(rate),
      };
    },
  };
}

export const cellTypeClassifier = makeCellTypeClassifier();
