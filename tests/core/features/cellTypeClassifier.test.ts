import { describe, expect, it } from "vitest";
import { cellTypeClassifier, classifyCell, troughToPeakSamples } from "../../../src/core/features/cellTypeClassifier.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { makeUnit } from "../fixtures/exampleSession.ts";
import { contextFor } from "../../../tools/syntheticTrials.ts";

/**
 * A spike cutout of `n` samples: baseline 0, a trough of −100 at `trough`, a positive repolarisation
 * peak of +30 exactly `width` samples later, smooth in between (half-cosine), small ripples elsewhere.
 */
function waveform(n: number, trough: number, width: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 * Math.sin(i);
  for (let i = Math.max(0, trough - 3); i <= trough; i++) w[i] = -100 * (1 - (trough - i) / 4);
  for (let i = trough; i <= trough + width; i++) w[i] = -100 + 130 * (0.5 - 0.5 * Math.cos((Math.PI * (i - trough)) / width));
  for (let i = trough + width + 1; i < n; i++) w[i] = 30 * Math.exp(-(i - trough - width) / 6);
  return w;
}

const num = (d: Tree, k: string) => Number((d[k] as NDArray).data[0]);

describe("cell_type_classifier", () => {
  it("measures the trough-to-peak width of waveforms of known width", () => {
    for (const width of [3, 6, 8, 12, 20]) expect(troughToPeakSamples(waveform(60, 20, width))).toBe(width);
    expect(troughToPeakSamples(Float32Array.of(0, 1, 2, -5))).toBe(-1); // no sample after the trough
    expect(troughToPeakSamples(Float32Array.of(0, Number.NaN, -5, 3))).toBe(-1);
  });

  it("gives the width in ms at the file's rate, not an assumed 20 kHz", () => {
    // 6 samples: 0.3 ms at 20 kHz (narrow), 0.6 ms at 10 kHz (wide), 0.24 ms at 25 kHz.
    const w = waveform(60, 20, 6);
    const at20 = classifyCell(w, 200, 20_000);
    expect(at20.widthMs).toBeCloseTo(0.3, 12);
    expect(at20).toMatchObject({ hasAxon: true, rgcProbability: 0.8, cellType: "RGC", widthSamples: 6 });
    const at10 = classifyCell(w, 200, 10_000);
    expect(at10.widthMs).toBeCloseTo(0.6, 12);
    expect(at10).toMatchObject({ hasAxon: false, rgcProbability: 0.3, cellType: "unknown" });
    expect(classifyCell(w, 200, 25_000).widthMs).toBeCloseTo(0.24, 12);
    // 9 samples at 25 kHz = 0.36 ms (narrow); the lab's /20 would say 0.45 ms (wide).
    const w9 = classifyCell(waveform(60, 20, 9), 200, 25_000);
    expect(w9.widthMs).toBeCloseTo(0.36, 12);
    expect(w9.hasAxon).toBe(true);
  });

  it("scores as the lab's heuristic: spike-count thresholds and the 0.4 ms cut", () => {
    const narrow = waveform(60, 20, 6); // 0.3 ms at 20 kHz
    const wide = waveform(60, 20, 12); // 0.6 ms
    expect(classifyCell(narrow, 49, 20_000)).toMatchObject({ cellType: "unknown", rgcProbability: 0, hasAxon: false, widthSamples: -1 });
    expect(classifyCell(narrow, 100, 20_000).rgcProbability).toBe(0.3); // narrow but not > 100 spikes
    expect(classifyCell(narrow, 101, 20_000).rgcProbability).toBe(0.8);
    expect(classifyCell(wide, 500, 20_000)).toMatchObject({ rgcProbability: 0.3, cellType: "unknown" });
    expect(classifyCell(wide, 501, 20_000)).toMatchObject({ rgcProbability: 0.6, cellType: "RGC" });
    expect(classifyCell(waveform(60, 20, 8), 200, 20_000).hasAxon).toBe(false); // exactly 0.4 ms is not < 0.4
    expect(classifyCell(Float32Array.of(0, -1, 1), 600, 20_000)).toMatchObject({ widthMs: Number.NaN, hasAxon: false, rgcProbability: 0.6 }); // ≤ 10 samples
  });

  it("stores the lab's keys under features/cell_type_classifier/data, from metadata/acquisition_rate", () => {
    const unit = makeUnit(4, Array.from({ length: 300 }, (_, i) => i * 100));
    unit.waveform = waveform(40, 12, 5);
    const ctx = { ...contextFor({}), acquisitionRate: 25_000 };
    const d = cellTypeClassifier.extract(unit, ctx);
    expect(d.cell_type).toBe("RGC");
    expect(num(d, "rgc_probability")).toBe(0.8);
    expect(num(d, "has_axon")).toBe(1);
    expect(num(d, "waveform_width_ms")).toBeCloseTo(0.2, 12);
    expect(num(d, "waveform_width_samples")).toBe(5);
    expect(num(d, "sampling_rate_hz")).toBe(25_000);
    expect(Object.keys(cellTypeClassifier.outputs)).toEqual(expect.arrayContaining(["cell_type", "rgc_probability", "has_axon", "waveform_width_ms"]));
    expect(cellTypeClassifier.check!({ ...ctx, acquisitionRate: undefined })).toMatch(/acquisition_rate/);
  });
});
