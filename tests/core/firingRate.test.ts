import { describe, expect, it } from "vitest";
import { firingRate10hz, firingRateBinCount } from "../../src/core/firingRate.ts";

describe("firingRate10hz", () => {
  it("counts µs timestamps in 100 ms bins from 0 and multiplies by 10", () => {
    const rate = firingRate10hz([0, 50_000, 99_999, 100_000, 250_000], 300_000);
    expect(Array.from(rate)).toEqual([30, 10, 10]);
    expect(rate).toBeInstanceOf(Float32Array);
  });

  it("has ceil(duration / 100 ms) bins whatever the spikes, so all units share one length", () => {
    expect(firingRateBinCount(1_189_700_000)).toBe(11897);
    expect(firingRate10hz([], 250_001)).toHaveLength(3);
    expect(firingRate10hz([10], 250_001)).toHaveLength(3);
  });

  it("closes the last bin on the right and drops spikes outside [0, end]", () => {
    expect(Array.from(firingRate10hz([-1, 200_000, 200_001], 200_000))).toEqual([0, 10]);
  });
});
