import { describe, expect, it } from "vitest";
import { blockMean, downsampleFactor, downsampledLightReference } from "../../src/core/lightReference.ts";

describe("light reference downsampling", () => {
  it("uses floor(rate / target) as the block size", () => {
    expect(downsampleFactor(20000, 10)).toBe(2000);
    expect(downsampleFactor(20000, 1000)).toBe(20);
    expect(downsampleFactor(19999.5, 1000)).toBe(19);
  });

  it("averages whole blocks and drops the tail", () => {
    expect(Array.from(blockMean(Float32Array.of(1, 2, 3, 4, 5, 6, 7), 3))).toEqual([2, 5]);
    expect(() => blockMean(Float32Array.of(1), 0)).toThrow(/factor/);
  });

  it("gives 10hz_* and 1khz_* float32 traces per channel", () => {
    const ch1 = Float32Array.from({ length: 4100 }, (_, i) => (i < 2000 ? 1 : 3));
    const out = downsampledLightReference({ ch1, ch2: ch1 }, 20000);
    expect(Object.keys(out).sort()).toEqual(["10hz_ch1", "10hz_ch2", "1khz_ch1", "1khz_ch2"]);
    expect(Array.from(out["10hz_ch1"])).toEqual([1, 3]);
    expect(out["1khz_ch2"]).toHaveLength(205);
    expect(out["1khz_ch2"]).toBeInstanceOf(Float32Array);
  });
});
