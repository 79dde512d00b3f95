import { describe, expect, it } from "vitest";
import { somaPositionFeature } from "../../../src/core/features/somaPosition.ts";
import { FeatureNotApplicable } from "../../../src/core/features/notApplicable.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { makeUnit } from "../fixtures/exampleSession.ts";
import { contextFor } from "../../../tools/syntheticTrials.ts";

const at = (f: number, r: number, c: number) => (f * 65 + r) * 65 + c;
const num = (d: Tree, k: string) => Number((d[k] as NDArray).data[0]);

function unitWithEi(ei: Float64Array) {
  const unit = makeUnit(1, []);
  unit.children.features = { eimage_sta: { data: new NDArray(ei, [50, 65, 65]) } };
  return unit;
}

describe("soma_position", () => {
  it("finds the electrode of largest negative deflection in frames 10–14 and a weighted centroid", () => {
    const ei = new Float64Array(50 * 65 * 65);
    ei[at(12, 30, 20)] = -100; // soma
    ei[at(11, 31, 20)] = -60; // neighbour above half the peak: in the centroid
    ei[at(13, 29, 20)] = -40; // below half: out
    ei[at(30, 5, 5)] = -500; // a late axonal signal outside frames 10–14: ignored
    ei[at(12, 30, 26)] = -90; // strong but beyond the radius of 2: ignored
    const d = somaPositionFeature.extract(unitWithEi(ei), contextFor({}));
    expect(num(d, "peak_row")).toBe(30);
    expect(num(d, "peak_col")).toBe(20);
    expect(num(d, "peak_amplitude")).toBe(-100);
    expect(num(d, "centroid_row")).toBeCloseTo((100 * 30 + 60 * 31) / 160, 12);
    expect(num(d, "centroid_col")).toBeCloseTo(20, 12);
    expect(num(d, "n_electrodes")).toBe(2);
  });

  it("is not applicable to an all-NaN electrical image and needs eimage_sta", () => {
    expect(() => somaPositionFeature.extract(unitWithEi(new Float64Array(50 * 65 * 65).fill(Number.NaN)), contextFor({}))).toThrow(FeatureNotApplicable);
    expect(somaPositionFeature.requires.unit).toEqual(["features/eimage_sta/data"]);
  });
});
