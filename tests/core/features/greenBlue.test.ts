import { describe, expect, it } from "vitest";
import { greenBlue } from "../../../src/core/features/greenBlue.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "./syntheticTrials.ts";

const MOVIE = "green_blue_3s_3i_3x";
// 12 s trials: green 0.5–3.5 s (bright on the photodiode), blue 6.5–9.5 s (dimmer: 25 % of green).
const layout: MovieLayout = {
  sectionStart: 400_000,
  trialStartsS: [1, 14, 27],
  trialS: 12,
  light: (t) => (t >= 0.5 && t < 3.5 ? 1000 : t >= 6.5 && t < 9.5 ? 250 : 10),
};
const ctx = contextFor({ [MOVIE]: layout });

function run(rate: (t: number) => number, seed: number): Tree {
  const rng = new Prng(seed);
  const unit = unitWith(1, { [MOVIE]: sectionedMovie(layout, layout.trialStartsS.map(() => poisson(rng, rate, 12, 100))) });
  return greenBlue.extract(unit, ctx)[MOVIE] as Tree;
}
const num = (d: Tree, k: string) => Number((d[k] as NDArray).data[0]);

describe("green_blue", () => {
  it("finds both colour steps (the dim blue one too) from the light template", () => {
    const d = run(() => 5, 1);
    expect(num(d, "n_green_steps")).toBe(3);
    expect(num(d, "n_blue_steps")).toBe(3);
    expect(d.edges_source).toBe("light_template");
  });

  it("is near +1 for a green-only unit and near −1 for a blue-only (OFF) unit", () => {
    const green = run((t) => 3 + (t >= 0.5 && t < 1.0 ? 80 : 0), 2);
    expect(num(green, "green_blue_index")).toBeGreaterThan(0.9);
    const blueOff = run((t) => 3 + (t >= 9.5 && t < 10.0 ? 80 : 0), 3);
    expect(num(blueOff, "green_blue_index")).toBeLessThan(-0.9);
    expect(num(blueOff, "blue_off_hz")).toBeGreaterThan(5);
    expect(num(blueOff, "blue_on_hz")).toBe(0);
  });

  it("is near 0 for a unit responding equally to both colours", () => {
    const both = run((t) => 3 + ((t >= 0.5 && t < 1.0) || (t >= 6.5 && t < 7.0) ? 80 : 0), 4);
    expect(Math.abs(num(both, "green_blue_index"))).toBeLessThan(0.2);
  });
});
