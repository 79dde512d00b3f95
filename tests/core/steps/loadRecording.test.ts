import { describe, expect, it } from "vitest";
import { NDArray, f64 } from "../../../src/core/ndarray.ts";
import type { CmcrContents, CmtrContents, SortedUnitContents } from "../../../src/core/recordingContents.ts";
import {
  buildLoadRecordingSession,
  chooseAcquisitionRate,
  recordingLengthMismatch,
  roundHalfEven,
} from "../../../src/core/steps/loadRecording.ts";

function unit(unitNum: number, timestamps: number[], include: number[], cutout: number[][] = []): SortedUnitContents {
  return {
    unitNum,
    originalName: `Unit_${unitNum}`,
    groupAttrs: { SensorID: new NDArray(BigInt64Array.of(67n), []) },
    peaks: {
      rowCount: timestamps.length,
      timestamp: BigInt64Array.from(timestamps, BigInt),
      amplitude: Float32Array.from(timestamps, () => -50),
      include: Int32Array.from(include),
      cutout: cutout.map((c) => Float32Array.from(c)),
      columns: {},
    },
  };
}

const cmtr = (units: SortedUnitContents[], extra: Partial<CmtrContents> = {}): CmtrContents => ({
  fileName: "r-.cmtr",
  path: "/d/r-.cmtr",
  rootAttrs: {},
  units,
  ...extra,
});
const cmcr = (extra: Partial<CmcrContents> = {}): CmcrContents => ({ fileName: "r.cmcr", path: "/d/r.cmcr", rootAttrs: {}, ...extra });

describe("load step assembly", () => {
  it("rounds like numpy (half to even)", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  it("estimates the rate from analog length ÷ duration, then a CMTR attribute, then 20 kHz", () => {
    const analog = { ch1: new Float32Array(30001) };
    expect(chooseAcquisitionRate(cmcr({ analog, recordingDurationUs: 1.5e6, tickUs: 50 }), undefined)).toMatchObject({
      rate: 30001 / 1.5,
      source: "cmcr_estimate",
      tickRate: 20000,
    });
    expect(chooseAcquisitionRate(undefined, cmtr([], { rootAttrs: { SamplingRate: f64(25000) } }))).toMatchObject({
      rate: 25000,
      source: "cmtr_attribute",
    });
    expect(chooseAcquisitionRate(undefined, cmtr([]))).toMatchObject({ rate: 20000, source: "default" });
  });

  it("refuses recordings whose lengths differ, by attribute or by spikes past the end", () => {
    expect(recordingLengthMismatch(cmcr({ recordingDurationUs: 60e6 }), cmtr([], { recordingDurationUs: 120e6 }))).toMatch(
      /lengths differ \(60\.000 s vs 120\.000 s\)/,
    );
    expect(recordingLengthMismatch(cmcr({ recordingDurationUs: 60e6 }), cmtr([unit(1, [61e6], [1])]))).toMatch(/run to 61\.000 s/);
    expect(recordingLengthMismatch(cmcr({ recordingDurationUs: 60e6 }), cmtr([unit(1, [59e6], [1])]))).toBeUndefined();
  });

  it("keeps included peaks only, converts µs to samples and averages the included cutouts", () => {
    const session = buildLoadRecordingSession({
      datasetId: "r",
      cmtr: cmtr([unit(3, [100, 175, 1_000_000], [1, 0, 1], [[1, 100, 3], [2, 100, 4]])]),
    });
    const u = session.getUnit("unit_003");
    expect(Array.from(u.spikeTimes)).toEqual([2n, 20000n]);
    expect(Array.from(u.waveform!)).toEqual([2, 3]);
    // No Unit Info: the 65-wide grid from SensorID 67 → row 2, column 2.
    expect(u.attrs).toMatchObject({ row: 2, col: 2, global_id: 67, unit_num: 3, original_name: "Unit_3" });
    // No recording length anywhere: one shared fallback (last peak + 1 s), with a warning.
    expect(u.firingRate10hz).toHaveLength(20);
    expect(session.warnings.map((w) => w.message).join("\n")).toMatch(/without its \.cmcr[\s\S]*recording length unknown/);
  });
});
