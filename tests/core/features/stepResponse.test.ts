import { describe, expect, it } from "vitest";
import { FeatureNotApplicable } from "../../../src/core/features/notApplicable.ts";
import { makeStepResponse, stepResponse } from "../../../src/core/features/stepResponse.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "./syntheticTrials.ts";

const MOVIE = "step_up_5s_5i_b0_3x";
// Each 10 s trial: dark 0–2 s, light 2–7 s, dark 7–10 s (as the light template shows it).
const layout: MovieLayout = { sectionStart: 100_000, trialStartsS: [1, 11.5, 22], trialS: 10, light: (t) => (t >= 2 && t < 7 ? 3000 : 200) };

function unitFrom(rate: (t: number) => number, seed: number, trials = 6): { unit: ReturnType<typeof unitWith>; layout: MovieLayout } {
  const rng = new Prng(seed);
  const l: MovieLayout = { ...layout, trialStartsS: Array.from({ length: trials }, (_, n) => 1 + 10.5 * n) };
  return { unit: unitWith(1, { [MOVIE]: sectionedMovie(l, l.trialStartsS.map(() => poisson(rng, rate, 10, 200))) }), layout: l };
}

function run(rate: (t: number) => number, seed: number) {
  const { unit, layout: l } = unitFrom(rate, seed);
  const data = stepResponse.extract(unit, contextFor({ [MOVIE]: l }))[MOVIE] as Tree;
  return (key: string) => (data[key] instanceof NDArray ? Number((data[key] as NDArray).data[0]) : data[key]);
}

const base = 3;
const onUnit = (t: number) => base + (t >= 2 && t < 2.4 ? 80 : 0);
const offUnit = (t: number) => base + (t >= 7 && t < 7.4 ? 80 : 0);

describe("step_response", () => {
  it("finds the steps in the light template and gives a pure ON unit an ON-OFF index near +1", () => {
    const v = run(onUnit, 1);
    expect(v("edges_source")).toBe("light_template");
    expect(v("n_on_steps")).toBe(6);
    expect(v("n_off_steps")).toBe(6);
    expect(v("on_off_index") as number).toBeGreaterThan(0.9);
    expect(v("on_latency_s") as number).toBeGreaterThan(0);
    expect(v("on_latency_s") as number).toBeLessThan(0.4);
    expect(v("off_latency_s")).toBeNaN();
    expect(v("baseline_rate_hz") as number).toBeGreaterThan(1);
    expect(v("baseline_rate_hz") as number).toBeLessThan(6);
  });

  it("gives a pure OFF unit an ON-OFF index near −1 and times its latency from the OFF step", () => {
    const v = run((t) => base + (t >= 7.1 && t < 7.3 ? 150 : 0), 2);
    expect(v("on_off_index") as number).toBeLessThan(-0.9);
    expect(v("off_latency_s") as number).toBeGreaterThanOrEqual(0.1);
    expect(v("off_latency_s") as number).toBeLessThan(0.3);
  });

  it("tells a transient from a sustained unit", () => {
    const transient = run(onUnit, 3);
    const sustained = run((t) => base + (t >= 2 && t < 7 ? 30 : 0), 4);
    expect(transient("transience_index") as number).toBeGreaterThan(0.8);
    expect(Math.abs(sustained("transience_index") as number)).toBeLessThan(0.25);
    expect(sustained("on_sustained_hz") as number).toBeGreaterThan(25);
  });

  it("uses light_edges_s only when there is no template, and says so", () => {
    const { unit, layout: l } = unitFrom(offUnit, 5);
    const ctx = contextFor({ [MOVIE]: { ...l, light: undefined } });
    expect(() => stepResponse.extract(unit, ctx)).toThrow(FeatureNotApplicable);
    const data = makeStepResponse({ light_edges_s: { on: [2], off: [7] } }).extract(unit, ctx)[MOVIE] as Tree;
    expect(data.edges_source).toBe("parameter");
    expect(Number((data.on_off_index as NDArray).data[0])).toBeLessThan(-0.9);
  });

  it("reports a session without a step movie once, through check", () => {
    expect(stepResponse.check!(contextFor({ moving_h_bar_s5_d8_3x: layout }))).toMatch(/no movie matching/);
    expect(stepResponse.check!(contextFor({ [MOVIE]: layout }))).toBeUndefined();
  });
});
