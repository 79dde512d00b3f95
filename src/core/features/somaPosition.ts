/**
 * `soma_position` — where the unit's soma sits on the array, from its electrical image
 * `features/eimage_sta/data` ([50, 65, 65] = [window, rows, cols]; with the lab's window_range
 * (−10, 40) frame 10 is the spike sample).
 *
 * Definition (the lab's soma-geometry step, §3.7; the somatic spike is the largest, earliest negative
 * deflection of the extracellular EI, e.g. Litke et al. 2004 / Li et al. 2015 for MEA EIs):
 * - d(e) = min over frames [frame_start, frame_end) (default 10–14) of electrode e's trace;
 * - the soma electrode is argmin_e d(e) (`peak_row`, `peak_col`, 0-based array indices; the lab's
 *   Unit Info row/col are 1-based), `peak_amplitude` = its d (same unit as the EI, negative);
 * - sub-electrode position: the centroid of the electrodes within `radius` (default 2) of the peak
 *   whose d ≤ `threshold` · d(peak) (default 0.5: at least half the peak deflection), weighted by
 *   |d| — a spatial-centroid estimate, so a soma between electrodes lands between them, and the
 *   radius keeps a strong axon elsewhere from pulling the estimate.
 * An all-NaN EI (no spikes) or one with no negative deflection is "not applicable".
 *
 * Output: `data/{peak_row, peak_col, peak_amplitude, centroid_row, centroid_col, n_electrodes,
 * threshold, frame_start, frame_end}`.
 */
import { NDArray, f64, i64 } from "../ndarray.ts";
import { childAt } from "../sessionInputs.ts";
import type { FeatureExtractor } from "./featureExtractor.ts";
import { FeatureNotApplicable } from "./notApplicable.ts";

export interface SomaPositionParams {
  frame_start: number;
  frame_end: number;
  threshold: number;
  radius: number;
}

export const SOMA_POSITION_DEFAULTS: SomaPositionParams = { frame_start: 10, frame_end: 15, threshold: 0.5, radius: 2 };

export interface SomaPosition {
  peakRow: number;
  peakCol: number;
  peakAmplitude: number;
  centroidRow: number;
  centroidCol: number;
  nElectrodes: number;
}

/** Soma position of an EI [frames, rows, cols]; undefined when there is no negative deflection. */
export function somaPosition(ei: ArrayLike<number>, shape: readonly number[], p: SomaPositionParams): SomaPosition | undefined {
  const [frames, rows, cols] = shape;
  const e = rows * cols;
  const f0 = Math.max(0, p.frame_start);
  const f1 = Math.min(frames, p.frame_end);
  const d = new Float64Array(e).fill(Infinity);
  for (let f = f0; f < f1; f++) {
    for (let i = 0; i < e; i++) {
      const v = Number(ei[f * e + i]);
      if (v < d[i]) d[i] = v;
    }
  }
  let peak = -1;
  for (let i = 0; i < e; i++) if (d[i] < 0 && (peak < 0 || d[i] < d[peak])) peak = i;
  if (peak < 0) return undefined;
  const pr = Math.floor(peak / cols);
  const pc = peak % cols;
  const limit = p.threshold * d[peak];
  let w = 0;
  let wr = 0;
  let wc = 0;
  let n = 0;
  for (let r = Math.max(0, pr - p.radius); r <= Math.min(rows - 1, pr + p.radius); r++) {
    for (let c = Math.max(0, pc - p.radius); c <= Math.min(cols - 1, pc + p.radius); c++) {
      const v = d[r * cols + c];
      if (v <= limit) {
        w += -v;
        wr += -v * r;
        wc += -v * c;
        n++;
      }
    }
  }
  return { peakRow: pr, peakCol: pc, peakAmplitude: d[peak], centroidRow: wr / w, centroidCol: wc / w, nElectrodes: n };
}

export function makeSomaPosition(params: Partial<SomaPositionParams> = {}): FeatureExtractor {
  const p = { ...SOMA_POSITION_DEFAULTS, ...params };
  const idx = (description: string) => ({ dtype: "float64" as const, shape: "[]", unit: "electrodes", description });
  return {
    name: "soma_position",
    version: "1.0.0",
    description: "Soma electrode and sub-electrode centroid from the electrical image",
    requires: { unit: ["features/eimage_sta/data"] },
    afterSteps: ["load_recording_with_eimage_sta"],
    outputs: {
      peak_row: { dtype: "int64", shape: "[]", description: "0-based row of the largest negative deflection" },
      peak_col: { dtype: "int64", shape: "[]", description: "0-based column of the largest negative deflection" },
      peak_amplitude: { dtype: "float64", shape: "[]", description: "that deflection (EI units, negative)" },
      centroid_row: idx("|d|-weighted row centroid (0-based)"),
      centroid_col: idx("|d|-weighted column centroid (0-based)"),
      n_electrodes: { dtype: "int64", shape: "[]", description: "electrodes in the centroid" },
      threshold: { dtype: "float64", shape: "[]", description: "fraction of the peak deflection used" },
      frame_start: { dtype: "int64", shape: "[]", description: "first EI frame searched" },
      frame_end: { dtype: "int64", shape: "[]", description: "end (exclusive) of the frames searched" },
    },
    extract: (unit) => {
      const node = childAt(unit.children, "features/eimage_sta/data");
      if (!(node instanceof NDArray) || node.shape.length !== 3) throw new FeatureNotApplicable(`${unit.id} has no [frames, rows, cols] features/eimage_sta/data`);
      const data = node.data as ArrayLike<number>;
      const pos = somaPosition(data, node.shape, p);
      if (!pos) throw new FeatureNotApplicable(`${unit.id}: the electrical image has no negative deflection in frames ${p.frame_start}–${p.frame_end - 1} (no spikes, or all NaN)`);
      return {
        peak_row: i64(pos.peakRow),
        peak_col: i64(pos.peakCol),
        peak_amplitude: f64(pos.peakAmplitude),
        centroid_row: f64(pos.centroidRow),
        centroid_col: f64(pos.centroidCol),
        n_electrodes: i64(pos.nElectrodes),
        threshold: f64(p.threshold),
        frame_start: i64(p.frame_start),
        frame_end: i64(p.frame_end),
      };
    },
  };
}

export const somaPositionFeature = makeSomaPosition();
