/**
 * Min/max envelopes of traces in memory and of traces left in their file (read a slice at a time),
 * and the overview a long trace's wide views are drawn from.
 */
import { describe, expect, it } from "vitest";
import { NDArray, type SourceBytes, type SourceFile } from "../../src/core/ndarray.ts";
import { OVERVIEW_BUCKETS, TraceOverview, arrayEnvelope, minMaxEnvelope } from "../../src/core/traceEnvelope.ts";

/** `data` as an array left in a (pretend) source file, counting the bytes read from it. */
function inFile(data: Float32Array): { array: NDArray; read: { calls: number; bytes: number; whole: number } } {
  const read = { calls: 0, bytes: 0, whole: 0 };
  const raw = new Uint8Array(data.buffer);
  const source = { name: "trace.h5" } as SourceFile;
  const bytes: SourceBytes = {
    source,
    dtype: "float32",
    byteLength: data.byteLength,
    read: () => {
      read.whole++;
      return data;
    },
    readBytes(at, into) {
      read.calls++;
      read.bytes += into.byteLength;
      into.set(raw.subarray(at, at + into.byteLength));
    },
    release() {},
  };
  return { array: NDArray.fromSource(bytes, [data.length]), read };
}

/**
 * Each bucket's two points are that bucket's extremes; with `slack`, its edges may move by that many
 * samples (an envelope drawn from a finer one): the pair covers the bucket without its edges, and
 * comes from the bucket with them.
 */
function expectExtremes(signal: Float32Array, env: { y: Float32Array }, lo: number, hi: number, buckets: number, slack = 0): void {
  for (let k = 0; k < buckets; k += Math.max(1, Math.floor(buckets / 13))) {
    const i0 = lo + Math.floor((k * (hi - lo)) / buckets);
    const i1 = lo + Math.floor(((k + 1) * (hi - lo)) / buckets);
    const inner = signal.subarray(i0 + slack, i1 - slack);
    const outer = signal.subarray(Math.max(lo, i0 - slack), Math.min(hi, i1 + slack));
    const pair = [env.y[2 * k], env.y[2 * k + 1]];
    expect(Math.min(...pair)).toBeLessThanOrEqual(Math.min(...inner));
    expect(Math.max(...pair)).toBeGreaterThanOrEqual(Math.max(...inner));
    expect(Math.min(...pair)).toBeGreaterThanOrEqual(Math.min(...outer));
    expect(Math.max(...pair)).toBeLessThanOrEqual(Math.max(...outer));
  }
}

describe("minMaxEnvelope", () => {
  it("keeps every bucket's minimum and maximum, in time order", () => {
    const signal = Float32Array.from({ length: 100_000 }, (_, i) => Math.sin(i / 50) + (i === 77_777 ? 9 : 0) - (i === 12_345 ? 4 : 0));
    const env = minMaxEnvelope(signal, 0, signal.length, 500);
    expect(env.y.length).toBe(1000);
    expect(Math.max(...env.y)).toBe(signal[77_777]);
    expect(Math.min(...env.y)).toBe(signal[12_345]);
    for (let i = 1; i < env.x.length; i++) expect(env.x[i]).toBeGreaterThanOrEqual(env.x[i - 1]);
    expectExtremes(signal, env, 0, signal.length, 500);
  });

  it("returns short ranges untouched and clips the range to the signal", () => {
    const signal = Float32Array.of(1, 2, 3, 4, 5);
    expect([...minMaxEnvelope(signal, -3, 99, 10).y]).toEqual([1, 2, 3, 4, 5]);
    expect([...minMaxEnvelope(signal, 1, 3, 10).x]).toEqual([1, 2]);
  });
});

describe("a trace left in its file", () => {
  // 3.2 M samples: more than one 1 M-sample slice, and more than twice the overview's buckets.
  const signal = new Float32Array(3_200_000);
  for (let i = 0; i < signal.length; i++) signal[i] = Math.sin(i / 900) + ((i * 7919) % 1000) / 5000;
  signal[2_345_678] = 12; // a one-sample flash
  signal[1_000_001] = -6;

  it("gives the same envelope as the trace in memory, reading it a slice at a time, never whole", async () => {
    const { array, read } = inFile(signal);
    let pauses = 0;
    const env = await arrayEnvelope(array, 100, 3_100_000, 700, async () => void pauses++);
    const inMemory = minMaxEnvelope(signal, 100, 3_100_000, 700);
    expect([...env.x]).toEqual([...inMemory.x]);
    expect([...env.y]).toEqual([...inMemory.y]);
    expect(read.whole).toBe(0);
    expect(read.calls).toBe(3);
    expect(read.bytes).toBe((3_100_000 - 100) * 4);
    expect(pauses).toBe(2); // between slices, so a worker answers other calls meanwhile
    const few = await arrayEnvelope(array, 10, 20, 700);
    expect([...few.x]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect([...few.y]).toEqual([...signal.subarray(10, 20)]);
  });

  it("reads the trace once for every wide view, draws the flashes, and reads only the range when zoomed in", async () => {
    const { array, read } = inFile(signal);
    const overview = new TraceOverview(array);
    const whole = await overview.envelope(0, signal.length, 1000);
    expect(read.bytes).toBe(signal.byteLength);
    expect(Math.max(...whole.y)).toBe(12);
    expect(Math.min(...whole.y)).toBe(-6);
    // The overview's buckets are 24.4 samples wide here: a view's bucket edges move by less than one.
    expectExtremes(signal, whole, 0, signal.length, 1000, 25);
    for (let i = 1; i < whole.x.length; i++) expect(whole.x[i]).toBeGreaterThanOrEqual(whole.x[i - 1]);

    const half = await overview.envelope(1_600_000, 3_200_000, 500);
    expect(read.bytes).toBe(signal.byteLength); // from the overview: nothing read again
    expect(half.x[0]).toBeGreaterThanOrEqual(1_600_000);
    expect(Math.max(...half.y)).toBe(12);

    const zoom = await overview.envelope(2_345_000, 2_346_000, 400);
    expect(read.bytes).toBe(signal.byteLength + 1000 * 4);
    expect([...zoom.y]).toEqual([...minMaxEnvelope(signal, 2_345_000, 2_346_000, 400).y]);
    expect(OVERVIEW_BUCKETS * 2).toBeLessThan(signal.length);
  });
});
