import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { detectFrameTimestamps, findPeaks, frameTimesSeconds, percentileLinear } from "../../src/core/frameDetection.ts";

/** A sync trace: low 0, each pulse high from `start + 1` for `width` samples (edge right after `start`). */
function syncTrace(length: number, starts: number[], width = 150, high = 1000): Float32Array {
  const x = new Float32Array(length);
  for (const s of starts) x.fill(high, s + 1, Math.min(length, s + 1 + width));
  return x;
}

describe("findPeaks (scipy rules)", () => {
  it("finds strict local maxima and never the first or last sample", () => {
    expect(findPeaks([0, 1, 0, 2, 0])).toEqual([1, 3]);
    expect(findPeaks([5, 1, 0, 1, 7])).toEqual([]);
    expect(findPeaks([0, 1, 2])).toEqual([]);
  });

  it("takes the middle (rounded down) of a flat top, and no peak for a plateau that only rises", () => {
    expect(findPeaks([0, 2, 2, 0])).toEqual([1]);
    expect(findPeaks([0, 2, 2, 2, 0])).toEqual([2]);
    expect(findPeaks([0, 2, 2, 3, 0])).toEqual([3]);
    expect(findPeaks([0, 2, 2, 2])).toEqual([]);
  });

  it("keeps peaks at or above the height only, with no minimum spacing", () => {
    expect(findPeaks([0, 0.1, 0, 0.09, 0, 0.5, 0], 0.1)).toEqual([1, 5]);
  });
});

describe("percentileLinear (numpy default)", () => {
  it("interpolates between order statistics", () => {
    expect(percentileLinear([1, 2, 3, 4], 99.9)).toBeCloseTo(3.997, 12);
    expect(percentileLinear([9, 0, 8, 1, 7, 2, 6, 3, 5, 4], 50)).toBe(4.5);
    expect(percentileLinear([3, 1, 2], 100)).toBe(3);
    expect(percentileLinear([3, 1, 2], 0)).toBe(1);
  });

  it("is NaN when any value is NaN", () => {
    expect(percentileLinear([1, Number.NaN, 3], 50)).toBeNaN();
  });
});

describe("detectFrameTimestamps (§2.4)", () => {
  it("reproduces the worked example's frame timestamps: 40000 + floor(k·20000/60)", () => {
    const example = JSON.parse(readFileSync(join(import.meta.dirname, "../../tools/stimulus/section_time.expected.example.json"), "utf8"));
    expect(example.frame_timestamps_rule).toContain("40000 + floor(k*20000/60)");
    const frames = Array.from({ length: 600 }, (_, k) => 40000 + Math.floor((k * 20000) / 60));
    const startup = [4000, 8000, 12000, 16000];
    const x = syncTrace(frames.at(-1)! + 2000, [...startup, ...frames]);
    const found = detectFrameTimestamps(x);
    expect(Array.from(found, Number)).toEqual(frames);
    expect(found).toBeInstanceOf(BigUint64Array);
  });

  it("returns the sample just before a rising edge (a step at 500 gives 499) after dropping 4 peaks", () => {
    const x = syncTrace(2000, [100, 200, 300, 400, 499], 50);
    expect(x[499]).toBe(0);
    expect(x[500]).toBe(1000);
    expect(Array.from(detectFrameTimestamps(x), Number)).toEqual([499]);
  });

  it("normalises by the 99.9th percentile, so edges below 0.1 of the top level are ignored", () => {
    const x = syncTrace(20000, [1000, 2000, 3000, 4000, 5000, 6000, 9000], 400, 1000);
    // A small bump (5 % of the pulse height) is not a frame.
    x.fill(50, 7001, 7400);
    expect(Array.from(detectFrameTimestamps(x), Number)).toEqual([5000, 6000, 9000]);
  });

  it("finds nothing in a flat or too short trace", () => {
    expect(detectFrameTimestamps(new Float32Array(1000))).toHaveLength(0);
    expect(detectFrameTimestamps(new Float32Array(2))).toHaveLength(0);
  });

  it("converts frames to seconds at the acquisition rate", () => {
    expect(Array.from(frameTimesSeconds(BigUint64Array.of(0n, 20000n, 30000n), 20000))).toEqual([0, 1, 1.5]);
  });
});
