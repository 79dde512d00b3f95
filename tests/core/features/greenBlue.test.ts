import { describe, expect, it } from "vitest";
import { greenBlue } from "../../../src/core/features/greenBlue.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "../../../tools/syntheticTrials.ts";

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

describe("green_blue when every trial starts at the green ON step", () => {
  // Trials back to back from the green ON (green 0–3 s, blue 6–9 s of 12 s): the green ON's baseline
  // is the end of the previous trial's darkness (or the section before the first trial).
  const starts: MovieLayout = { sectionStart: 400_000, trialStartsS: [2, 14, 26], trialS: 12, light: (t) => (t < 3 ? 1000 : t >= 6 && t < 9 ? 250 : 10) };

  it("reads the green ON baseline before the trial instead of counting the first step as unanswered", () => {
    const rng = new Prng(11);
    const whole = poisson(rng, (t) => 3 + (t >= 2 && ((t - 2) % 12) < 0.4 ? 80 : 0), 40, 100);
    const trials = starts.trialStartsS.map((s) => whole.filter((t) => t >= s && t < s + 12).map((t) => t - s));
    const unit = unitWith(1, { [MOVIE]: sectionedMovie(starts, trials) });
    unit.spikeTimes = BigUint64Array.from(whole, (t) => BigInt(starts.sectionStart + Math.round(t * 20000)));
    const d = greenBlue.extract(unit, contextFor({ [MOVIE]: starts }))[MOVIE] as Tree;
    expect(num(d, "green_on_hz")).toBeGreaterThan(10); // 80 Hz for 0.4 s over the 2 s window
    expect(num(d, "green_blue_index")).toBeGreaterThan(0.9);
    expect(d.reason).toBe("");
  });
});
