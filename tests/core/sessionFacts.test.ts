/**
 * Session facts on hand-built sessions: where the acquisition rate and the recording length come
 * from (metadata, then the last spike), the light reference trace with its own sample rate, and the
 * section rows in seconds.
 */
import { describe, expect, it } from "vitest";
import { NDArray, f64 } from "../../src/core/ndarray.ts";
import { PipelineSession, type Unit } from "../../src/core/session.ts";
import {
  DEFAULT_ACQUISITION_RATE,
  acquisitionRateOf,
  lightTrace,
  meanRateHz,
  recordedAcquisitionRate,
  recordedDurationS,
  recordingDuration,
  sectionBoxes,
} from "../../src/core/sessionFacts.ts";

function unit(num: number, spikes: number[]): Unit {
  return {
    id: `unit_${String(num).padStart(3, "0")}`,
    attrs: { row: num, col: num, global_id: num, unit_num: num, original_name: `Unit_${num}` },
    spikeTimes: BigUint64Array.from(spikes, (s) => BigInt(s)),
    children: {},
  };
}

/** A 1 kHz session whose units last spike at 7.5 s. */
function session(): PipelineSession {
  const s = new PipelineSession("facts");
  s.addMetadata({ acquisition_rate: f64(1000) });
  s.addUnits([unit(1, [100, 2000, 7500]), unit(2, [50, 60])]);
  return s;
}

describe("acquisition rate", () => {
  it("is metadata/acquisition_rate; only a view falls back to the default, a step gets none", () => {
    expect(acquisitionRateOf(session())).toBe(1000);
    const none = new PipelineSession("none");
    expect(recordedAcquisitionRate(none)).toBeUndefined();
    expect(acquisitionRateOf(none)).toBe(DEFAULT_ACQUISITION_RATE);
    none.addMetadata({ acquisition_rate: f64(0) });
    expect(recordedAcquisitionRate(none)).toBeUndefined();
  });
});

describe("recording duration", () => {
  it("prefers the .cmcr's recording_duration_s, then the .cmtr's, the top level, then any other group", () => {
    expect(recordedDurationS({ recording_duration_s: f64(3), cmtr_meta: { recording_duration_s: f64(2) }, cmcr_meta: { recording_duration_s: f64(1) } })).toBe(1);
    expect(recordedDurationS({ recording_duration_s: f64(3), cmtr_meta: { recording_duration_s: f64(2) } })).toBe(2);
    expect(recordedDurationS({ sys_meta: { recording_duration_s: f64(4) }, recording_duration_s: f64(3) })).toBe(3);
    expect(recordedDurationS({ sys_meta: { recording_duration_s: f64(4) } })).toBe(4);
    // Zero is no length: the next place is asked.
    expect(recordedDurationS({ cmcr_meta: { recording_duration_s: f64(0) }, sys_meta: { recording_duration_s: f64(4) } })).toBe(4);
    expect(recordedDurationS({})).toBeUndefined();
  });

  it("without metadata runs to the last spike of any unit, light reference or not", () => {
    const s = session();
    expect(recordingDuration(s)).toEqual({ seconds: 7.5, source: "last spike" });
    s.addStimulus({ light_reference: { raw_ch1: new NDArray(new Float32Array(9000)) } });
    expect(recordingDuration(s)).toEqual({ seconds: 7.5, source: "last spike" });
    expect(recordingDuration(new PipelineSession("empty"))).toBeUndefined();
  });

  it("metadata wins over the last spike", () => {
    const s = session();
    s.addStimulus({ light_reference: { raw_ch1: new NDArray(new Float32Array(9000)) } });
    s.addMetadata({ cmcr_meta: { recording_duration_s: f64(12) } });
    const duration = recordingDuration(s);
    expect(duration).toEqual({ seconds: 12, source: "metadata" });
    expect(meanRateHz(3, duration)).toBe(0.25);
    expect(meanRateHz(3, undefined)).toBeNaN();
  });
});

describe("light reference trace", () => {
  it("is the raw trace, else a downsampled one, each with its own sample rate", () => {
    const s = session();
    expect(lightTrace(s)).toBeUndefined();
    s.addStimulus({ light_reference: { "1khz_ch1": new NDArray(new Float32Array(9000)) } });
    expect(lightTrace(s)).toMatchObject({ name: "1khz_ch1", rate: 1000 });
    // At 20 kHz the 10 Hz trace holds the mean of each 2,000 samples.
    const fast = new PipelineSession("fast");
    fast.addMetadata({ acquisition_rate: f64(20000) });
    fast.addStimulus({ light_reference: { "10hz_ch1": new NDArray(new Float32Array(90)), "1khz_ch1": new NDArray(new Float32Array(9000)) } });
    expect(lightTrace(fast)).toMatchObject({ name: "1khz_ch1", rate: 1000 });
    fast.addStimulus({ light_reference: { raw_ch1: new NDArray(new Float32Array(180_000)), "10hz_ch1": new NDArray(new Float32Array(90)) } });
    expect(lightTrace(fast)).toMatchObject({ name: "raw_ch1", rate: 20000 });
    const slow = new PipelineSession("slow");
    slow.addMetadata({ acquisition_rate: f64(25000) });
    slow.addStimulus({ light_reference: { "10hz_ch1": new NDArray(new Float32Array(90)) } });
    expect(lightTrace(slow)?.rate).toBe(10);
  });
});

describe("sections", () => {
  it("are section_time rows in seconds, each showing numbered", () => {
    const s = session();
    s.addStimulus({ section_time: { flash: new NDArray(BigInt64Array.of(1000n, 3000n, 5000n, 7500n), [2, 2]) } });
    expect(sectionBoxes(s)).toEqual([
      { movie: "flash", occurrence: 0, startS: 1, endS: 3 },
      { movie: "flash", occurrence: 1, startS: 5, endS: 7.5 },
    ]);
  });
});
