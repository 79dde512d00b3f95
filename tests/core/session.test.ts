import { describe, expect, it } from "vitest";
import { NDArray, f64, i64 } from "../../src/core/ndarray.ts";
import { PipelineSession, SessionError, unitIdFor, validateDatasetId } from "../../src/core/session.ts";
import { summarizeSession } from "../../src/core/sessionSummary.ts";
import { fakeClock, randomUnit, seededRandom } from "../fixtures/randomSession.ts";

const unit = (n: number, spikes: bigint[] = []) => ({
  id: unitIdFor(n),
  attrs: { row: 1, col: 1, global_id: 1, unit_num: n, original_name: `Unit_${n}` },
  spikeTimes: BigUint64Array.from(spikes),
  children: {},
});

describe("PipelineSession", () => {
  it("starts DEFERRED with no units and trims its dataset id", () => {
    const s = new PipelineSession("  2024.08.08-10.40.20-Rec ");
    expect(s.datasetId).toBe("2024.08.08-10.40.20-Rec");
    expect(s.saveState).toBe("DEFERRED");
    expect(s.isDeferred).toBe(true);
    expect(s.isSaved).toBe(false);
    expect(s.unitCount).toBe(0);
    expect(s.hdf5Path).toBeUndefined();
  });

  it("refuses empty ids and ids with path characters", () => {
    expect(() => new PipelineSession("   ")).toThrow(SessionError);
    expect(() => validateDatasetId("a/b")).toThrow(/contains one of/);
    expect(() => validateDatasetId('x"y')).toThrow(SessionError);
  });

  it("names units unit_NNN, wider past 999", () => {
    expect(unitIdFor(7)).toBe("unit_007");
    expect(unitIdFor(1234)).toBe("unit_1234");
  });

  it("adds units and merges an existing unit field by field", () => {
    const s = new PipelineSession("r");
    s.addUnits([unit(1, [10n, 20n]), unit(2)]);
    expect(s.unitCount).toBe(2);
    s.addUnits([{ ...unit(1), attrs: { ...unit(1).attrs, row: 5 }, waveform: Float32Array.of(1, 2), children: { extra: "x" } }]);
    const u1 = s.getUnit("unit_001");
    expect(u1.attrs.row).toBe(5);
    expect([...u1.spikeTimes]).toEqual([10n, 20n]); // an empty update keeps the spikes
    expect([...u1.waveform!]).toEqual([1, 2]);
    expect(u1.children.extra).toBe("x");
    expect(s.unitCount).toBe(2);
  });

  it("merges metadata shallowly and stimulus one level deep", () => {
    const s = new PipelineSession("r");
    s.addMetadata({ acquisition_rate: f64(20000), cmcr_meta: { a: i64(1) } });
    s.addMetadata({ cmcr_meta: { b: i64(2) } });
    expect(Object.keys(s.metadata.cmcr_meta as object)).toEqual(["b"]);
    s.addStimulus({ light_reference: { raw_ch1: new NDArray(Float32Array.of(1)) } });
    s.addStimulus({ light_reference: { raw_ch2: new NDArray(Float32Array.of(2)) }, frame_times: { default: new NDArray(BigUint64Array.of(1n)) } });
    expect(Object.keys(s.stimulus.light_reference as object)).toEqual(["raw_ch1", "raw_ch2"]);
    expect(Object.keys(s.stimulus)).toEqual(["light_reference", "frame_times"]);
  });

  it("stores features per unit and names the unknown unit in its error", () => {
    const s = new PipelineSession("rec-9");
    s.addUnits([unit(1)]);
    s.addFeature("unit_001", "frif", { FRIF: new NDArray(Float32Array.of(1, 2)) }, { extractor_version: "1.0.0" });
    const features = s.getUnit("unit_001").children.features as Record<string, { data: unknown; metadata: unknown }>;
    expect(Object.keys(features)).toEqual(["frif"]);
    expect(features.frif.metadata).toEqual({ extractor_version: "1.0.0" });
    expect(() => s.addFeature("unit_404", "frif", "x")).toThrow(/unknown unit "unit_404" in session rec-9/);
  });

  it("records steps in order with parameters and time; re-running moves a step last", () => {
    const s = new PipelineSession("r", { now: fakeClock() });
    s.markStepComplete("load_recording", { spike_limit: 10000 });
    s.markStepComplete("add_section_time", { playlist: "p" });
    s.markStepComplete("load_recording", { spike_limit: 5 });
    expect(s.completedSteps.map((x) => x.name)).toEqual(["add_section_time", "load_recording"]);
    expect(s.completedSteps[1].params).toEqual({ spike_limit: 5 });
    expect(s.completedSteps[1].completedAt).toBe("2026-01-01T00:00:04.000Z");
    expect(s.hasCompleted("add_section_time")).toBe(true);
    expect(s.hasCompleted("compute_sta")).toBe(false);
  });

  it("estimates memory from the typed arrays it holds", () => {
    const s = new PipelineSession("r");
    s.addUnits([{ ...unit(1, [1n, 2n, 3n]), waveform: new Float32Array(10), firingRate10hz: new Float32Array(4) }]);
    s.addStimulus({ light_reference: { raw_ch1: new NDArray(new Float32Array(100)) } });
    s.addMetadata({ frame_timestamps: new NDArray(new BigUint64Array(5)) });
    expect(s.memoryEstimateBytes()).toBe(3 * 8 + 10 * 4 + 4 * 4 + 100 * 4 + 5 * 8);
  });

  it("warns once when the memory estimate crosses the threshold, and again after dropping below", () => {
    const s = new PipelineSession("big", { memoryWarningBytes: 1000 });
    s.addStimulus({ a: new NDArray(new Float64Array(100)) });
    expect(s.warnings).toHaveLength(0);
    s.addStimulus({ b: new NDArray(new Float64Array(100)) });
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0].message).toMatch(/big holds 0\.00 GB .* above the 0\.00 GB warning threshold/);
    s.addStimulus({ c: new NDArray(new Float64Array(100)) });
    expect(s.warnings).toHaveLength(1);
    s.addStimulus({ a: new NDArray(new Float64Array(1)), b: new NDArray(new Float64Array(1)), c: new NDArray(new Float64Array(1)) });
    s.addStimulus({ d: new NDArray(new Float64Array(200)) });
    expect(s.warnings).toHaveLength(2);
  });

  it("tracks unsaved changes and SAVED state", () => {
    const s = new PipelineSession("r");
    s.markSaved("/x/r.h5", "2026-01-01T00:00:00.000Z");
    expect(s.isSaved).toBe(true);
    expect(s.hasUnsavedChanges).toBe(false);
    s.addMetadata({ x: "y" });
    // Like the original, a SAVED session that gains data stays SAVED, but we say it changed.
    expect(s.isSaved).toBe(true);
    expect(s.hasUnsavedChanges).toBe(true);
  });

  it("notifies change listeners with the paths that changed, until unsubscribed", () => {
    const s = new PipelineSession("r");
    const seen: string[][] = [];
    const stop = s.onChange((c) => seen.push(c.paths));
    s.addUnits([unit(3)]);
    s.addFeature("unit_003", "f", "v");
    s.addStimulus({ section_time: { m: "x" } });
    stop();
    s.addMetadata({ ignored: "y" });
    expect(seen).toEqual([["units/unit_003"], ["units/unit_003/features/f"], ["stimulus/section_time"]]);
  });

  it("batches the changes of one step into one notification", () => {
    const s = new PipelineSession("r");
    s.addUnits([unit(1), unit(2)]);
    const seen: string[][] = [];
    s.onChange((c) => seen.push(c.paths));
    const result = s.batch(() => {
      s.addFeature("unit_001", "f", "a");
      s.batch(() => s.addFeature("unit_002", "f", "b")); // nested batches join the outer one
      s.markStepComplete("extract_features");
      return 42;
    });
    expect(result).toBe(42);
    expect(seen).toEqual([["units/unit_001/features/f", "units/unit_002/features/f", "pipeline/session_info"]]);
    expect(() => s.batch(() => { s.addMetadata({ x: "1" }); throw new Error("step failed"); })).toThrow("step failed");
    expect(seen.at(-1)).toEqual(["metadata/x"]); // what did change is still reported
  });

  it("walks the session for its memory estimate once per batch, not once per change in it", () => {
    const s = new PipelineSession("r");
    s.addUnits(Array.from({ length: 50 }, (_, i) => unit(i + 1)));
    let walks = 0;
    const arrayBytes = s.arrayBytes.bind(s);
    s.arrayBytes = () => (walks++, arrayBytes());
    s.addFeature("unit_001", "f", new NDArray(new Float64Array(4)));
    expect(walks).toBe(1); // outside a batch, each change checks at once
    walks = 0;
    s.batch(() => {
      for (const u of s.units.keys()) s.addFeature(u, "g", new NDArray(new Float64Array(4)));
      s.addStimulus({ s: new NDArray(new Float64Array(4)) });
      s.markStepComplete("extract_features");
    });
    expect(walks).toBe(1);
    walks = 0;
    s.batch(() => s.warn("a warning alone changes no arrays"));
    expect(walks).toBe(0);
  });

  it("warns at the end of a batch that crossed the threshold, in that batch's notification, with its final size", () => {
    const s = new PipelineSession("big", { memoryWarningBytes: 1000 });
    s.addUnits([unit(1), unit(2)]);
    const seen: string[][] = [];
    s.onChange((c) => seen.push(c.paths));
    s.batch(() => {
      s.addFeature("unit_001", "f", new NDArray(new Float64Array(100)));
      expect(s.warnings).toHaveLength(0); // checked once the batch ends
      s.addFeature("unit_002", "f", new NDArray(new Float64Array(200)));
    });
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0].message).toMatch(/big holds 0\.00 GB in memory, above the 0\.00 GB warning threshold/);
    expect(seen).toEqual([["units/unit_001/features/f", "units/unit_002/features/f", "pipeline/session_info"]]);
    // Under the threshold again at the end of a batch: the next crossing warns again.
    s.batch(() => {
      s.addFeature("unit_001", "f", "small");
      s.addFeature("unit_002", "f", "small");
    });
    s.batch(() => s.addFeature("unit_001", "f", new NDArray(new Float64Array(200))));
    expect(s.warnings).toHaveLength(2);
  });

  it("summarises itself as plain data", () => {
    const rand = seededRandom(3);
    const s = new PipelineSession("sum");
    s.addUnits([randomUnit(1, rand, 50), randomUnit(2, rand, 50)]);
    const summary = summarizeSession(s);
    expect(summary.unitCount).toBe(2);
    expect(summary.spikeCount).toBe(s.getUnit("unit_001").spikeTimes.length + s.getUnit("unit_002").spikeTimes.length);
    expect(summary.memoryEstimateBytes).toBe(s.memoryEstimateBytes());
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
  });
});
