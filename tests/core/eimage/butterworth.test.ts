import { describe, expect, it } from "vitest";
import { butterworthHighpassSos } from "../../../src/core/eimage/butterworth.ts";
import { reference } from "./referenceInputs.ts";

describe("Butterworth high-pass as second-order sections", () => {
  it.each(reference.butter.map((c) => [`order ${c.order}, ${c.cutoff_hz} Hz at ${c.rate} Hz`, c] as const))(
    "matches scipy.signal.butter(…, output='sos') for %s",
    (_name, c) => {
      const sos = butterworthHighpassSos(c.order, c.cutoff_hz, c.rate);
      expect(sos.sections).toBe(c.sos.length / 6);
      sos.coefficients.forEach((v, i) => {
        // Same sections in the same order (zeros where scipy has them), values within ~1 ulp:
        // numpy's complex multiply uses fused multiply-add, plain IEEE arithmetic does not.
        if (c.sos[i] === 0) expect(v).toBe(0);
        else expect(Math.abs(v - c.sos[i]) / Math.abs(c.sos[i])).toBeLessThan(2e-15);
      });
    },
  );

  it("gives the lab's default filter: one section, zeros at z = 1, unit DC gain of a = 1", () => {
    const { sections, coefficients: k } = butterworthHighpassSos(2, 100, 20000);
    expect(sections).toBe(1);
    expect(k[3]).toBe(1);
    expect(k[1]).toBe(-2 * k[0]);
    expect(k[2]).toBe(k[0]);
  });

  it("rejects a cutoff at or above Nyquist and a bad order", () => {
    expect(() => butterworthHighpassSos(2, 10000, 20000)).toThrow(/Nyquist/);
    expect(() => butterworthHighpassSos(2, 0, 20000)).toThrow(/Nyquist/);
    expect(() => butterworthHighpassSos(0, 100, 20000)).toThrow(/order/);
    expect(() => butterworthHighpassSos(2.5, 100, 20000)).toThrow(/order/);
  });
});
