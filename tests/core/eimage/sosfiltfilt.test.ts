import { describe, expect, it } from "vitest";
import { butterworthHighpassSos } from "../../../src/core/eimage/butterworth.ts";
import { sosfiltZi, sosfiltfilt, sosfiltfiltBlocks, sosfiltfiltPadlen } from "../../../src/core/eimage/sosfiltfilt.ts";
import { frames, maxRelativeError, reference } from "./referenceInputs.ts";

describe("sosfilt_zi and padlen", () => {
  it("pads 9 samples for one section (3 · (2·1 + 1)) and 12 for order 3 (a first-order section)", () => {
    expect(sosfiltfiltPadlen(butterworthHighpassSos(2, 100, 20000))).toBe(9);
    expect(sosfiltfiltPadlen(butterworthHighpassSos(3, 100, 20000))).toBe(12);
    expect(sosfiltfiltPadlen(butterworthHighpassSos(4, 100, 20000))).toBe(15);
  });

  it.each(reference.butter.map((c) => [`order ${c.order}, ${c.cutoff_hz} Hz at ${c.rate} Hz`, c] as const))(
    "matches scipy.signal.sosfilt_zi for %s",
    (_name, c) => {
      // From scipy's own coefficients, so only the 2 × 2 solve is compared (ill-conditioned at low cutoff).
      const zi = sosfiltZi({ sections: c.sos.length / 6, coefficients: Float64Array.from(c.sos) });
      expect(maxRelativeError(zi, c.zi)).toBeLessThan(1e-14);
    },
  );
});

describe("sosfiltfilt", () => {
  it.each(reference.filtfilt.map((c) => [`order ${c.order}, ${c.cutoff_hz} Hz at ${c.rate} Hz, ${c.rows} rows × ${c.channels}`, c] as const))(
    "matches scipy.signal.sosfiltfilt(sos, x, axis=0) for %s",
    (_name, c) => {
      const sos = butterworthHighpassSos(c.order, c.cutoff_hz, c.rate);
      const y = sosfiltfilt(sos, frames(c.rows, c.channels), c.rows, c.channels);
      expect(maxRelativeError(y, c.y)).toBeLessThan(1e-10);
      // What the eimage keeps is float32: the same value, or (rarely) the neighbouring float.
      const ours = Float32Array.from(y);
      const theirs = Float32Array.from(c.y);
      let same = 0;
      ours.forEach((v, i) => {
        if (v === theirs[i]) same++;
        else expect(Math.abs(v - theirs[i])).toBeLessThanOrEqual(Math.abs(theirs[i]) * 2 ** -23);
      });
      expect(same / ours.length).toBeGreaterThan(0.95);
    },
  );

  it("gives the same bits whatever the block size (pass 2 recomputes the forward output exactly)", () => {
    const sos = butterworthHighpassSos(3, 150, 1000);
    const x = frames(97, 5);
    const whole = sosfiltfilt(sos, x, 97, 5);
    for (const block of [1, 2, 7, 13, 50, 96, 200]) expect(sosfiltfilt(sos, x, 97, 5, block)).toEqual(whole);
  });

  it("reads bounded ranges, filters backwards block by block, and can round to float32", () => {
    const sos = butterworthHighpassSos(2, 100, 20000);
    const x = frames(1000, 3);
    const reads: [number, number][] = [];
    const read = (a: number, b: number) => {
      reads.push([a, b]);
      return x.subarray(a * 3, b * 3);
    };
    const outputs: [number, number][] = [];
    const out32 = new Float32Array(3000);
    for (const e of sosfiltfiltBlocks(sos, 1000, 3, read, 128, "float32")) {
      if (e.kind === "output") {
        expect(e.rows).toBeInstanceOf(Float32Array);
        out32.set(e.rows, e.start * 3);
        outputs.push([e.start, e.end]);
      }
    }
    expect(outputs[0]).toEqual([896, 1000]);
    expect(outputs.at(-1)).toEqual([0, 128]);
    expect(reads.every(([a, b]) => a >= 0 && b <= 1000 && b - a <= 128)).toBe(true);
    expect(out32).toEqual(Float32Array.from(sosfiltfilt(sos, x, 1000, 3)));
  });

  it("refuses a segment no longer than padlen, as scipy does", () => {
    const sos = butterworthHighpassSos(2, 100, 20000);
    expect(() => sosfiltfilt(sos, frames(9, 1), 9, 1)).toThrow(/too short/);
    expect(sosfiltfilt(sos, frames(10, 1), 10, 1)).toHaveLength(10);
  });

  it("leaves a constant unchanged by the steady-state start, then removes it (high-pass)", () => {
    const sos = butterworthHighpassSos(2, 100, 20000);
    const y = sosfiltfilt(sos, new Float64Array(500).fill(1234), 500, 1);
    expect(Math.max(...y.map(Math.abs))).toBeLessThan(1e-9);
  });
});
