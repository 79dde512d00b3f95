/**
 * The fast paths of frame detection (bracketed percentile, fused difference + peak search) against the
 * simple computations they replace, on adversarial inputs: ties, signed zeros, infinities, NaN, plateaus,
 * tiny arrays. "Equal" is Object.is: the same number to the bit, including the sign of zero.
 */
import { describe, expect, it } from "vitest";
import {
  detectFrameTimestamps,
  findPeaks,
  percentileByBracket,
  percentileBySelection,
  percentileLinear,
} from "../../src/core/frameDetection.ts";

/** The former findPeaks, verbatim: the reference. */
function findPeaksReference(x: ArrayLike<number>, minHeight = -Infinity): number[] {
  const peaks: number[] = [];
  const iMax = x.length - 1;
  let i = 1;
  while (i < iMax) {
    if (x[i - 1] < x[i]) {
      let ahead = i + 1;
      while (ahead < iMax && x[ahead] === x[i]) ahead++;
      if (x[ahead] < x[i]) {
        const mid = Math.floor((i + ahead - 1) / 2);
        if (x[mid] >= minHeight) peaks.push(mid);
        i = ahead;
      }
    }
    i++;
  }
  return peaks;
}

/** The former detectFrameTimestamps: full-selection percentile, a float32 difference array, findPeaks. */
function detectReference(signal: ArrayLike<number>, height = 0.1, dropFirst = 4, q = 99.9): number[] {
  const n = signal.length;
  if (n < 3) return [];
  const p = Math.fround(percentileBySelection(signal, q));
  const scale = p <= 0 ? 1 : p;
  const s = (i: number) => (p <= 0 ? Math.fround(signal[i]) : Math.fround(signal[i] / scale));
  const diff = new Float32Array(n - 1);
  let prev = s(0);
  for (let i = 0; i < n - 1; i++) {
    const next = s(i + 1);
    diff[i] = next - prev;
    prev = next;
  }
  const peaks = findPeaksReference(diff, height);
  return peaks.slice(Math.min(dropFirst, peaks.length));
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIALS = [0, -0, 1, -1, 0.1, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38];

/** An adversarial array: few distinct values (heavy ties), specials, runs, sometimes a NaN. */
function adversarial(rand: () => number, n: number, float32: boolean, allowNaN: boolean): Float32Array | Float64Array | number[] {
  const distinct = 1 + Math.floor(rand() * (rand() < 0.5 ? 4 : 64));
  const pool = Array.from({ length: distinct }, () => (rand() < 0.3 ? SPECIALS[Math.floor(rand() * SPECIALS.length)] : Math.round((rand() - 0.3) * 200) / 8));
  const out = float32 ? new Float32Array(n) : rand() < 0.5 ? new Float64Array(n) : new Array<number>(n).fill(0);
  let i = 0;
  while (i < n) {
    const run = rand() < 0.2 ? 1 + Math.floor(rand() * 50) : 1;
    const v = pool[Math.floor(rand() * distinct)];
    for (let j = 0; j < run && i < n; j++) out[i++] = v;
  }
  if (allowNaN && n > 0 && rand() < 0.1) out[Math.floor(rand() * n)] = Number.NaN;
  return out;
}

const QS = [0, 0.1, 1, 25, 50, 73.3, 99, 99.9, 99.99, 100];

describe("percentileByBracket equals full selection", () => {
  it("on thousands of adversarial arrays (ties, ±0, ±∞, NaN, tiny lengths, tiny samples)", () => {
    const rand = prng(1234);
    let bracketed = 0;
    let cases = 0;
    for (let c = 0; c < 4000; c++) {
      const n = c < 200 ? c % 8 : 1 + Math.floor(rand() * (rand() < 0.5 ? 40 : 3000));
      const x = adversarial(rand, n, rand() < 0.5, true);
      const q = rand() < 0.8 ? QS[Math.floor(rand() * QS.length)] : rand() * 100;
      const sampleSize = [2, 3, 16, 256, 4096][Math.floor(rand() * 5)];
      const expected = percentileBySelection(x, q);
      const got = percentileByBracket(x, q, sampleSize);
      cases++;
      if (got !== undefined) {
        bracketed++;
        expect(Object.is(got, expected), `n=${n} q=${q} sample=${sampleSize}: ${got} vs ${expected}`).toBe(true);
      }
      expect(Object.is(percentileLinear(x, q), expected)).toBe(true);
    }
    // The fast path must actually be taken in most cases, not always fall back.
    expect(bracketed / cases).toBeGreaterThan(0.5);
  });

  it("on distinct random values, where only the values near the rank are kept", () => {
    const rand = prng(99);
    for (let c = 0; c < 300; c++) {
      const n = 1 + Math.floor(rand() * 20000);
      const x = Float64Array.from({ length: n }, () => rand() * 2 - 0.5);
      for (const q of [0, 50, 99.9, 100, rand() * 100]) {
        const got = percentileByBracket(x, q, 512);
        expect(got, `n=${n} q=${q}`).not.toBeUndefined();
        expect(Object.is(got, percentileBySelection(x, q))).toBe(true);
      }
    }
  });

  it("goes through the bracket on a long sync-like trace (many exact ties at the top level) and agrees", () => {
    const rand = prng(7);
    const n = 300_000;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.round((i % 333 < 150 ? 3000 : 0) + 8 * (rand() + rand() + rand() - 1.5));
    for (const q of [99.9, 50, 0.1, 100]) {
      const got = percentileByBracket(x, q);
      expect(got).not.toBeUndefined();
      expect(Object.is(got, percentileBySelection(x, q))).toBe(true);
      expect(Object.is(percentileLinear(x, q), percentileBySelection(x, q))).toBe(true);
    }
    // All equal, all zero (a zero result always falls back), one NaN at the very end.
    expect(percentileLinear(new Float32Array(n).fill(5), 99.9)).toBe(5);
    expect(Object.is(percentileLinear(new Float32Array(n), 99.9), percentileBySelection(new Float32Array(n), 99.9))).toBe(true);
    const withNaN = x.slice();
    withNaN[n - 1] = Number.NaN;
    expect(percentileLinear(withNaN, 99.9)).toBeNaN();
  });

  it("falls back (undefined) rather than guess when the bracket misses", () => {
    // Sampling only sees the first value when the sample is tiny and the data is sorted descending.
    const x = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i);
    for (const s of [2, 3, 5]) {
      const got = percentileByBracket(x, 99.9, s);
      if (got !== undefined) expect(Object.is(got, percentileBySelection(x, 99.9))).toBe(true);
    }
    expect(percentileByBracket([0, 0, -0, 0], 50, 4)).toBeUndefined();
  });
});

describe("fused frame detection equals the difference array + findPeaks", () => {
  it("findPeaks (height tested first) equals the former loop", () => {
    const rand = prng(42);
    for (let c = 0; c < 3000; c++) {
      const n = Math.floor(rand() * 60);
      const x = adversarial(rand, n, rand() < 0.5, true);
      const h = [-Infinity, 0, 0.1, 1, Infinity, Number.NaN][Math.floor(rand() * 6)];
      expect(findPeaks(x, h)).toEqual(findPeaksReference(x, h));
    }
  });

  it("detectFrameTimestamps equals the former computation on adversarial traces", () => {
    const rand = prng(5);
    for (let c = 0; c < 3000; c++) {
      const n = c < 50 ? c % 10 : Math.floor(rand() * 400);
      const x = adversarial(rand, n, rand() < 0.7, true);
      // Sometimes negate (percentile ≤ 0: no normalisation) or scale to make 0.1-threshold edges.
      if (rand() < 0.2) for (let i = 0; i < n; i++) x[i] = -x[i];
      const height = rand() < 0.7 ? 0.1 : [0, -Infinity, 1, 0.5][Math.floor(rand() * 4)];
      const dropFirst = Math.floor(rand() * 6);
      const q = rand() < 0.7 ? 99.9 : QS[Math.floor(rand() * QS.length)];
      const got = Array.from(detectFrameTimestamps(x, { height, dropFirst, percentile: q }), Number);
      expect(got, `case ${c}`).toEqual(detectReference(x, height, dropFirst, q));
    }
  });

  it("equals it on a long noisy sync trace (fast percentile path)", () => {
    const rand = prng(11);
    const n = 200_000;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.round((i % 333 >= 1 && i % 333 < 151 ? 3000 : 0) + 8 * (rand() + rand() - 1));
    // A few odd plateaus and an edge exactly at 10 % of the top.
    x.fill(3300, 50_001, 50_005);
    x[90_000] = 330;
    const got = Array.from(detectFrameTimestamps(x), Number);
    expect(got.length).toBeGreaterThan(500);
    expect(got).toEqual(detectReference(x));
  });

  it("equals it when pulses, ramps (flat tops of d) and plateaus straddle the 65536-sample scan blocks", () => {
    const block = 1 << 16;
    const n = 4 * block + 100;
    for (let shift = -6; shift <= 6; shift++) {
      const x = new Float32Array(n);
      // Start-up pulses well inside the first block.
      for (const s of [1000, 2000, 3000, 4000]) x.fill(1000, s + 1, s + 200);
      for (let b = 1; b <= 3; b++) {
        const at = b * block + shift;
        if (b === 1) x.fill(1000, at, at + 300); // a plain step
        if (b === 2) for (let j = 0; j < 8; j++) x[at + j] = 125 * (j + 1); // a ramp: d is flat for 8 samples
        if (b === 2) x.fill(1000, at + 8, at + 300);
        if (b === 3) {
          x[at - 1] = 400; // rise, a flat stretch of d at 0, then another rise
          x.fill(600, at, at + 3);
          x.fill(1000, at + 3, at + 300);
        }
      }
      const got = Array.from(detectFrameTimestamps(x), Number);
      expect(got, `shift ${shift}`).toEqual(detectReference(x));
      expect(got.length).toBeGreaterThanOrEqual(3);
    }
  });
});
