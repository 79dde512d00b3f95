import { describe, expect, it } from "vitest";
import { firingRatePerFrame, frif } from "../../../src/core/features/frif.ts";
import { NDArray, f64 } from "../../../src/core/ndarray.ts";
import { makeUnit, nums } from "../fixtures/exampleSession.ts";
import { seededRandom } from "../../fixtures/randomSession.ts";

describe("frif", () => {
  it("counts spikes in [t_i, t_i+1) per interval, in samples, and divides by its length", () => {
    // rate 1000 Hz: intervals of 0.1, 0.1 and 0.2 s (a zero-length one in between gets 0)
    const frames = Float64Array.of(0, 100, 200, 200, 400);
    const spikes = Float64Array.of(399, 0, 50, 99, 100, 250, 400, 1000);
    const { rates, starts } = firingRatePerFrame(spikes, frames, 1000);
    expect(Array.from(rates)).toEqual([30, 10, 0, 10]);
    expect(rates).toBeInstanceOf(Float32Array);
    expect(Array.from(starts)).toEqual([0, 0.1, 0.2, 0.2]);
  });

  it("gives each interval the spikes in it, whatever the spacing of frames and spikes (random cases against the definition)", () => {
    const rand = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      // Frames with repeats (zero-length intervals); now and then one out of order (a damaged clock).
      const frames = new Float64Array(1 + Math.floor(rand() * 60));
      for (let i = 1; i < frames.length; i++) frames[i] = frames[i - 1] + Math.floor(rand() * 4) * 10 - (rand() < 0.02 ? 50 : 0);
      const spikes = Float64Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * (frames.at(-1)! + 40)) - 20);
      const { rates } = firingRatePerFrame(spikes, frames, 1000);
      const expected = Array.from({ length: frames.length - 1 }, (_, i) => {
        const seconds = (frames[i + 1] - frames[i]) / 1000;
        return seconds > 0 ? Math.fround(spikes.filter((s) => s >= frames[i] && s < frames[i + 1]).length / seconds) : 0;
      });
      expect(Array.from(rates), `round ${round}`).toEqual(expected);
    }
  });

  it("reads sample-index spike times (the original compared them with µs frame times)", () => {
    const unit = makeUnit(1, [20000, 20001, 40000]);
    const ctx = { metadata: {}, stimulus: {}, acquisitionRate: 20000, frameTimestamps: Float64Array.of(20000, 40000, 60000) };
    const data = frif.extract(unit, ctx);
    expect(nums((data.FRIF as NDArray).data)).toEqual([2, 1]);
    expect(nums((data.FRIF_x_axis as NDArray).data)).toEqual([1, 2]);
    expect((data.FRIF_x_axis as NDArray).dtype).toBe("float64");
  });

  it("gives every unit of one run the same x axis array, held once", () => {
    const ctx = { metadata: {}, stimulus: {}, acquisitionRate: 20000, frameTimestamps: Float64Array.of(20000, 40000, 60000) };
    const a = frif.extract(makeUnit(1, [20000]), ctx);
    const b = frif.extract(makeUnit(2, [40000]), ctx);
    expect(a.FRIF_x_axis).toBe(b.FRIF_x_axis);
    expect(a.FRIF).not.toBe(b.FRIF);
    // Another rate is another axis.
    const c = frif.extract(makeUnit(3, [40000]), { ...ctx, acquisitionRate: 10000 });
    expect(nums((c.FRIF_x_axis as NDArray).data)).toEqual([2, 4]);
  });

  it("holds FRIF as the intervals that have spikes, and reads as the full rates, zeros included", () => {
    const frames = Float64Array.from({ length: 5001 }, (_, i) => 40000 + Math.floor((i * 20000) / 60));
    const spikes = [40001, 40002, 50000, 120000, 120001, 1_700_000];
    const data = frif.extract(makeUnit(1, spikes), { metadata: {}, stimulus: {}, acquisitionRate: 20000, frameTimestamps: frames });
    const rates = data.FRIF as NDArray<Float32Array>;
    expect(rates.dtype).toBe("float32");
    expect(rates.shape).toEqual([5000]);
    // Four intervals have spikes (two pairs share one): 4 indices and 4 rates held, not 5,000 rates.
    expect(rates.packedBytes).toBe(4 * 8);
    const expected = firingRatePerFrame(Float64Array.from(spikes), frames, 20000).rates;
    expect(rates.data).toEqual(expected);
    expect(Array.from(expected.filter((r) => r > 0), Math.round)).toEqual([120, 60, 120, 60]); // 2 or 1 spikes in 1/60 s
  });

  it("declares its inputs and refuses sessions with fewer than two frames", () => {
    expect(frif.requires.session).toEqual(["metadata/frame_timestamps", "metadata/acquisition_rate"]);
    expect(frif.check!({ metadata: { acquisition_rate: f64(1) }, stimulus: {}, acquisitionRate: 1, frameTimestamps: Float64Array.of(5) })).toBe("needs at least 2 frame timestamps");
  });
});
