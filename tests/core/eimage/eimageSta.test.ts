import { describe, expect, it } from "vitest";
import { butterworthHighpassSos } from "../../../src/core/eimage/butterworth.ts";
import { computeEImageSta, eimageSpikeSamples, eimageTotalSamples, type EImageStaSettings, type SensorFrames } from "../../../src/core/eimage/eimageSta.ts";
import { meanCenteredBlocks } from "../../../src/core/eimage/meanCentering.ts";
import { sosfiltfilt } from "../../../src/core/eimage/sosfiltfilt.ts";
import { frames, maxRelativeError, reference } from "./referenceInputs.ts";

/** An in-memory sensor that records every read. */
function sensor(data: Int16Array, shape: [number, number, number]): SensorFrames & { reads: [number, number][] } {
  const E = shape[1] * shape[2];
  const reads: [number, number][] = [];
  return {
    shape,
    reads,
    readFrames(start, end) {
      reads.push([start, end]);
      return data.slice(start * E, end * E);
    },
  };
}

const settings = (over: Partial<EImageStaSettings> = {}): EImageStaSettings => ({
  rate: 1000,
  durationS: 0.35,
  spikeLimit: 10000,
  windowRange: [-10, 40],
  cutoffHz: 100,
  filterOrder: 2,
  skipHighpass: false,
  chunkDurationS: 0.1,
  ...over,
});

/** The lab's loop written plainly: each chunk filtered whole, windows added spike by spike in file order. */
function naiveEimage(x: Int16Array, shape: [number, number, number], timestampsUs: number[], s: EImageStaSettings) {
  const [n, rows, cols] = shape;
  const E = rows * cols;
  const [pre, post] = [-s.windowRange[0], s.windowRange[1]];
  const W = pre + post;
  const total = Math.min(Math.trunc(s.rate * s.durationS), n);
  const spikes = timestampsUs
    .slice(0, s.spikeLimit > 0 ? s.spikeLimit : undefined)
    .map((t) => Math.trunc((t / 1e6) * s.rate))
    .filter((v) => v < total);
  const sum = new Float64Array(W * E);
  let used = 0;
  const chunk = Math.trunc(s.rate * s.chunkDurationS);
  for (let c0 = 0; c0 < total; c0 += chunk) {
    const c1 = Math.min(c0 + chunk, total);
    const lo = Math.max(0, c0 - W);
    const hi = Math.min(c1 + W, total);
    const seg = x.subarray(lo * E, hi * E);
    let y: Float32Array;
    if (s.skipHighpass) {
      const mean = new Float32Array(E);
      for (let t = 0; t < hi - lo; t++) for (let e = 0; e < E; e++) mean[e] += seg[t * E + e];
      for (let e = 0; e < E; e++) mean[e] /= hi - lo;
      y = Float32Array.from(seg, (v, i) => v - mean[i % E]);
    } else {
      y = Float32Array.from(sosfiltfilt(butterworthHighpassSos(s.filterOrder, s.cutoffHz, s.rate), seg, hi - lo, E));
    }
    for (const sp of spikes) {
      if (sp >= c0 + pre && sp < c1 - post) {
        for (let j = 0; j < W; j++) for (let e = 0; e < E; e++) sum[j * E + e] += y[(sp - pre + j - lo) * E + e];
        used++;
      }
    }
  }
  const sta = spikes.length ? sum.map((v) => v / spikes.length) : sum.fill(Number.NaN);
  return { sta, used, excluded: spikes.length - used, divisor: spikes.length };
}

describe("spike selection", () => {
  it("takes the first spike_limit Peaks rows, truncates µs to samples and drops those past the duration", () => {
    // 12 999 µs at 1 kHz is sample 12.999 → 12 (the loader's spike_times would round to 13).
    expect(Array.from(eimageSpikeSamples([12_999, 5_000, 400_000, 7_000], 3, 1000, 350))).toEqual([12, 5]);
    expect(Array.from(eimageSpikeSamples([12_999, 5_000, 7_000], 0, 1000, 350))).toEqual([12, 5, 7]);
    expect(Array.from(eimageSpikeSamples(BigInt64Array.of(150n, 50n), 10, 20000, 100))).toEqual([2, 1]);
    // 150 µs · 20 kHz in floating point is 2.9999999999999996: truncation gives 2, as np.int64 does.
    expect((150 / 1e6) * 20000).toBeLessThan(3);
  });

  it("uses min(int(rate · duration), available frames) samples", () => {
    expect(eimageTotalSamples(20000, 120, 5_000_000)).toBe(2_400_000);
    expect(eimageTotalSamples(20000, 120, 40_000)).toBe(40_000);
    expect(eimageTotalSamples(19999.7, 0.5, 1e9)).toBe(9999);
  });
});

describe("chunked accumulation", () => {
  const shape: [number, number, number] = [400, 2, 3];
  const data = frames(400, 6);
  // Chunks of 100 samples in a 350-sample duration: [0,100) [100,200) [200,300) [300,350).
  // A spike counts in [c0 + 10, c1 − 40): 9 and 60 (chunk 0), 160 (chunk 1) and 349 (chunk 3) are
  // dropped although their windows were loaded; 350 and 400 are past the duration.
  const samples = [9, 10, 59, 60, 110, 159, 160, 349, 350, 400];
  const timestampsUs = samples.map((s) => s * 1000 + 999);

  it.each([false, true])("keeps exactly the spikes inside the accumulation range (skip_highpass %s) and matches the plain loop", async (skipHighpass) => {
    const s = settings({ skipHighpass, blockFrames: 1000 });
    const src = sensor(data, shape);
    const run = await computeEImageSta(src, [{ id: "u", timestampsUs }], s);
    const [r] = run.results;
    expect([r.used, r.excluded, r.divisor]).toEqual([4, 4, 8]);
    expect(run.shape).toEqual([50, 2, 3]);
    expect([run.totalSamples, run.chunkSamples, run.chunkCount, run.chunksFiltered]).toEqual([350, 100, 4, 2]);
    // One block per chunk: the same additions in the same order as the plain loop, so the same bits.
    const naive = naiveEimage(data, shape, timestampsUs, s);
    expect(r.sta).toEqual(naive.sta);
    // Chunks 2 and 3 have no counted spike and are never read; chunk 1 loads 50 samples of overlap each side.
    expect(Math.max(...src.reads.map(([, b]) => b))).toBe(250);
    expect(Math.min(...src.reads.map(([a]) => a))).toBe(0);
  });

  it("divides by every spike within the duration, dropped ones included (the legacy divisor)", async () => {
    const s = settings({ skipHighpass: true, blockFrames: 1000 });
    const kept = [10, 59].map((v) => v * 1000);
    const withDropped = [...kept, 9_000, 60_000]; // two more spikes, both at the chunk-0 edges
    const [a, b] = (await computeEImageSta(sensor(data, shape), [{ id: "a", timestampsUs: kept }, { id: "b", timestampsUs: withDropped }], s)).results;
    expect([a.used, a.divisor, b.used, b.excluded, b.divisor]).toEqual([2, 2, 2, 2, 4]);
    // Same sum, twice the divisor: b's STA is exactly half of a's.
    b.sta.forEach((v, i) => expect(v).toBe(a.sta[i] * 2 / 4));
    expect(a.sta.some((v) => v !== 0)).toBe(true);
  });

  it("gives all NaN without a spike within the duration, and zeros when every spike was dropped", async () => {
    const run = await computeEImageSta(
      sensor(data, shape),
      [
        { id: "none", timestampsUs: [] },
        { id: "late", timestampsUs: [360_000, 390_000] },
        { id: "edges", timestampsUs: [9_000, 349_000] },
        { id: "ok", timestampsUs: [110_000] },
      ],
      settings(),
    );
    const [none, late, edges] = run.results;
    expect(Array.from(none.sta).every(Number.isNaN)).toBe(true);
    expect(Array.from(late.sta).every(Number.isNaN)).toBe(true);
    expect([late.used, late.excluded, late.divisor]).toEqual([0, 0, 0]);
    expect(Array.from(edges.sta).every((v) => v === 0)).toBe(true);
    expect([edges.used, edges.excluded]).toEqual([0, 2]);
    expect(none.sta).toHaveLength(50 * 6);
  });

  it("reads in bounded blocks and gives the same result (up to float64 rounding) for any block size", async () => {
    const s = settings({ blockFrames: 16 });
    const src = sensor(data, shape);
    const [r] = (await computeEImageSta(src, [{ id: "u", timestampsUs }], s)).results;
    // Blocks of 16, plus the padlen + 1 = 10 rows at each end of a chunk for the odd extension.
    expect(src.reads.length).toBeGreaterThan(10);
    expect(src.reads.every(([a, b]) => b - a <= 16 && a >= 0 && b <= 350)).toBe(true);
    expect(maxRelativeError(r.sta, naiveEimage(data, shape, timestampsUs, s).sta)).toBeLessThan(1e-12);
  });

  it("reports monotonic progress up to 1 and stops when the progress callback throws", async () => {
    const seen: number[] = [];
    await computeEImageSta(sensor(data, shape), [{ id: "u", timestampsUs }], settings({ blockFrames: 16 }), (f) => {
      seen.push(f);
    });
    expect(seen.at(-1)).toBe(1);
    expect(seen.every((f, i) => i === 0 || f >= seen[i - 1])).toBe(true);

    const src = sensor(data, shape);
    const stop = computeEImageSta(src, [{ id: "u", timestampsUs }], settings({ blockFrames: 16 }), () => {
      throw new Error("cancelled");
    });
    await expect(stop).rejects.toThrow("cancelled");
    expect(src.reads.length).toBeLessThan(5);
  });

  it("refuses a window that does not contain the spike sample", async () => {
    await expect(computeEImageSta(sensor(data, shape), [], settings({ windowRange: [5, 40] }))).rejects.toThrow(/window_range/);
  });
});

describe("against the lab's loop in numpy/scipy (tests/fixtures/scipy)", () => {
  it.each(reference.eimage.map((c) => [c.params.skip_highpass ? "skip_highpass" : "high-pass", c] as const))("matches for %s", async (_name, c) => {
    const shape: [number, number, number] = [c.rows, c.grid[0], c.grid[1]];
    const p = c.params;
    const run = await computeEImageSta(
      sensor(frames(c.rows, c.grid[0] * c.grid[1]), shape),
      c.units.map((u) => ({ id: u.id, timestampsUs: u.timestamps_us })),
      {
        rate: p.rate,
        durationS: p.duration_s,
        spikeLimit: p.spike_limit,
        windowRange: [p.window_range[0], p.window_range[1]],
        cutoffHz: p.cutoff_hz,
        filterOrder: p.order,
        skipHighpass: p.skip_highpass,
        chunkDurationS: p.chunk_duration_s,
        blockFrames: 64,
      },
    );
    run.results.forEach((r, i) => {
      const want = c.units[i];
      expect([r.id, r.used, r.excluded]).toEqual([want.id, want.used, want.excluded]);
      expect(maxRelativeError(r.sta, want.sta as number[])).toBeLessThan(p.skip_highpass ? 1e-12 : 1e-9);
    });
  });

  it("centres like numpy's float32 mean (sequential float32 sum, then / n), in any block size", () => {
    const c = reference.centering;
    const x = frames(c.rows, c.channels, c.offset);
    for (const block of [c.rows, 7]) {
      const out = new Float32Array(c.rows * c.channels);
      const reads: number[] = [];
      const read = (a: number, b: number) => (reads.push(b - a), x.subarray(a * c.channels, b * c.channels));
      for (const e of meanCenteredBlocks(c.rows, c.channels, read, block)) if (e.kind === "output") out.set(e.rows, e.start * c.channels);
      expect(Array.from(out.subarray(0, 3 * c.channels))).toEqual(c.first_rows);
      expect(Array.from(out.subarray((c.rows - 1) * c.channels))).toEqual(c.last_row);
      expect(Math.max(...reads)).toBe(block);
    }
    // The float32 running sum matters here: a float64 mean would differ.
    const exact = (ch: number) => Array.from({ length: c.rows }, (_, t) => x[t * c.channels + ch]).reduce((a, b) => a + b, 0) / c.rows;
    expect(c.mean.some((m, ch) => m !== Math.fround(exact(ch)))).toBe(true);
  });
});
