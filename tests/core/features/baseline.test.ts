import { describe, expect, it } from "vitest";
import { baseline, makeBaseline, trainStats } from "../../../src/core/features/baseline.ts";
import { NDArray, f64, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { makeUnit } from "../fixtures/exampleSession.ts";
import { RATE, contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "../../../tools/syntheticTrials.ts";

const num = (d: Tree, k: string) => Number((d[k] as NDArray).data[0]);
const ctxWithDuration = (seconds: number) => ({ ...contextFor({}), metadata: { cmcr_meta: { recording_duration_s: f64(seconds) } } });

describe("baseline", () => {
  it("gives ISI CV ≈ 1 for a Poisson train and rate from the recording length", () => {
    const rng = new Prng(1);
    const spikes = poisson(rng, () => 10, 600, 10).map((t) => Math.round(t * RATE));
    const d = baseline.extract(makeUnit(1, spikes), ctxWithDuration(600)).whole_recording as Tree;
    expect(num(d, "isi_cv")).toBeGreaterThan(0.95);
    expect(num(d, "isi_cv")).toBeLessThan(1.05);
    expect(num(d, "rate_hz")).toBeCloseTo(spikes.length / 600, 10);
    expect(num(d, "spike_count")).toBe(spikes.length);
  });

  it("gives ISI CV 0 for a perfectly regular train, and NaN rate without a recording length", () => {
    const spikes = Array.from({ length: 500 }, (_, i) => 1000 + i * 2000); // 10 Hz
    const d = baseline.extract(makeUnit(1, spikes), contextFor({})).whole_recording as Tree;
    expect(num(d, "isi_cv")).toBeCloseTo(0, 9);
    expect(num(d, "rate_hz")).toBeNaN();
    expect(d.reason).toMatch(/^rate_hz: no metadata\/cmcr_meta\/recording_duration_s/);
  });

  it("counts refractory violations exactly, in samples (ISI < refractory period, strictly)", () => {
    // ISIs in samples at 20 kHz: 10 (0.5 ms), 1990, 20 (1 ms), 29 (1.45 ms), 30 (1.5 ms: not < 1.5), 2951
    const spikes = [0, 10, 2000, 2020, 2049, 2079, 5030];
    const d = baseline.extract(makeUnit(1, spikes), contextFor({})).whole_recording as Tree;
    expect(num(d, "refractory_violations")).toBe(3);
    expect(num(d, "refractory_violation_fraction")).toBeCloseTo(3 / 7, 12);
    const strict = makeBaseline({ refractory_ms: 0.5 }).extract(makeUnit(1, spikes), contextFor({})).whole_recording as Tree;
    expect(num(strict, "refractory_violations")).toBe(0);
    expect(trainStats([Float64Array.of(0, 10, 40)], 1, 30, RATE).refractory_violations).toBe(1);
  });

  it("measures baseline movies inside their trials only, relative to each trial start", () => {
    const layout: MovieLayout = { sectionStart: 1_000_000, trialStartsS: [0, 10], trialS: 3 };
    // 6 spikes in 2 trials of 3 s; the 7 s gap between trials is not an ISI.
    const unit = unitWith(1, { baseline_127: sectionedMovie(layout, [[0.5, 1.5, 2.5], [0.5, 1.5, 2.5]]) });
    const d = baseline.extract(unit, contextFor({ baseline_127: layout })).baseline_127 as Tree;
    expect(num(d, "spike_count")).toBe(6);
    expect(num(d, "duration_s")).toBeCloseTo(6, 12);
    expect(num(d, "rate_hz")).toBeCloseTo(1, 12);
    expect(num(d, "isi_cv")).toBeCloseTo(0, 12);
  });
});

describe("int64ToFloat64", () => {
  it("converts int64 and uint64 exactly, negatives and values above 2^32 included", async () => {
    const { int64ToFloat64 } = await import("../../../src/core/features/int64Numbers.ts");
    const values = [0, 1, -1, 2 ** 32, 2 ** 32 + 7, -(2 ** 33) - 5, 2 ** 52 + 3, 123456789012];
    expect(Array.from(int64ToFloat64(BigInt64Array.from(values, BigInt)))).toEqual(values);
    const unsigned = values.filter((v) => v >= 0);
    expect(Array.from(int64ToFloat64(BigUint64Array.from(unsigned, BigInt)))).toEqual(unsigned);
    const sub = BigInt64Array.from([5, 6, 2 ** 40, 8].map(BigInt)).subarray(1, 3);
    expect(Array.from(int64ToFloat64(sub))).toEqual([6, 2 ** 40]);
  });
});

describe("integersToInt64", () => {
  it("writes integers as int64 exactly, negatives and values above 2^32 included, and refuses what BigInt refuses", async () => {
    const { integersToInt64 } = await import("../../../src/core/features/int64Numbers.ts");
    const values = [0, -0, 1, -1, 2 ** 32, 2 ** 32 - 1, -(2 ** 32), 2 ** 32 + 7, -(2 ** 33) - 5, 2 ** 53 - 1, -(2 ** 53) + 1, 123456789012];
    expect(Array.from(integersToInt64(values))).toEqual(values.map((v) => BigInt(v)));
    expect(Array.from(integersToInt64(Float64Array.of(3, 10), (v) => v * 2 ** 40 - 1))).toEqual([3n * 2n ** 40n - 1n, 10n * 2n ** 40n - 1n]);
    expect(() => integersToInt64([1, Number.NaN])).toThrow(RangeError);
    expect(() => integersToInt64([0.5])).toThrow(RangeError);
  });
});
