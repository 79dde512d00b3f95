import { describe, expect, it } from "vitest";
import { barSweeps, movingBar, vectorSumTuning } from "../../../src/core/features/movingBar.ts";
import { upperBound } from "../../../src/core/frameClock.ts";
import { DIRECTION_SECTION } from "../../../src/core/features/resultPlaces.ts";
import { movieTrials } from "../../../src/core/features/sectionedTrials.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { RATE, contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "../../../tools/syntheticTrials.ts";

const MOVIE = "moving_h_bar_s5_d8_3x";
// The lab's layout: 3 trials, each the 8 directions 0…315° in order, here 2 s per sweep.
const layout: MovieLayout = { sectionStart: 300_000, trialStartsS: [1, 18, 35], trialS: 16 };

function unitTuned(rateOf: (deg: number) => number, seed: number) {
  const rng = new Prng(seed);
  const trials = layout.trialStartsS.map(() => poisson(rng, (t) => rateOf(45 * Math.floor(t / 2)), 16, 60));
  return unitWith(7, { [MOVIE]: sectionedMovie(layout, trials) });
}
const ctx = contextFor({ [MOVIE]: layout });
const num = (d: Tree, k: string) => Number((d[k] as NDArray).data[0]);

describe("moving_bar", () => {
  it("recovers a unit built to prefer 90°: DSI, preferred direction and a small p-value", () => {
    const prefers90 = (deg: number) => 2 + 40 * Math.exp(2 * (Math.cos(((deg - 90) * Math.PI) / 180) - 1));
    const d = movingBar.extract(unitTuned(prefers90, 1), ctx)[MOVIE] as Tree;
    expect(Math.abs(num(d, "preferred_direction_deg") - 90)).toBeLessThan(10);
    expect(num(d, "dsi")).toBeGreaterThan(0.4);
    expect(num(d, "dsi_p_value")).toBeLessThan(0.01);
    const tuning = Array.from((d.tuning_hz as NDArray).data as Float64Array);
    expect(tuning.indexOf(Math.max(...tuning))).toBe(2);
  });

  it("gives an untuned unit a large p-value", () => {
    const d = movingBar.extract(unitTuned(() => 15, 2), ctx)[MOVIE] as Tree;
    expect(num(d, "dsi")).toBeLessThan(0.15);
    expect(num(d, "dsi_p_value")).toBeGreaterThan(0.1);
  });

  it("is deterministic: the shuffle is seeded per unit", () => {
    const unit = unitTuned(() => 15, 3);
    const a = movingBar.extract(unit, ctx)[MOVIE] as Tree;
    const b = movingBar.extract(unit, ctx)[MOVIE] as Tree;
    expect(num(a, "dsi_p_value")).toBe(num(b, "dsi_p_value"));
    expect(num(a, "osi_p_value")).toBe(num(b, "osi_p_value"));
  });

  it("computes vector-sum DSI and OSI exactly", () => {
    const dirs = [0, 45, 90, 135, 180, 225, 270, 315];
    const one = vectorSumTuning([0, 0, 1, 0, 0, 0, 0, 0], dirs);
    expect(one.dsi).toBeCloseTo(1, 12);
    expect(one.preferredDirection).toBeCloseTo(90, 9);
    const bidirectional = vectorSumTuning([1, 0, 0, 0, 1, 0, 0, 0], dirs);
    expect(bidirectional.dsi).toBeCloseTo(0, 12);
    expect(bidirectional.osi).toBeCloseTo(1, 12);
    expect(bidirectional.preferredOrientation).toBeCloseTo(0, 9);
    expect(vectorSumTuning([1, 1, 1, 1, 1, 1, 1, 1], dirs).dsi).toBeCloseTo(0, 12);
  });

  it("writes the direction sections for the lab's place: frames as the lab's readers use them, samples beside", () => {
    expect(movingBar.placed).toEqual([DIRECTION_SECTION]);
    expect(DIRECTION_SECTION.unitPath(MOVIE)).toEqual(["spike_times_sectioned", MOVIE, "direction_section"]);
    const unit = unitTuned(() => 20, 4);
    // 60 Hz frames at 20 kHz from sample 0: the section starts at frame 900, its content at 960.
    const frames = Float64Array.from({ length: 20_000 }, (_, k) => Math.round((k * RATE) / 60));
    const d = movingBar.extract(unit, { ...ctx, frameTimestamps: frames, sectionPreMarginFrames: 60 })[MOVIE] as Tree;
    const section = d[DIRECTION_SECTION.key] as Tree;
    expect(Object.keys(section).filter((k) => k !== "_attrs")).toEqual(["0", "45", "90", "135", "180", "225", "270", "315"]);
    const attrs = section._attrs as Tree;
    expect(Array.from((attrs.direction_list as NDArray).data as BigInt64Array, Number)).toEqual([0, 45, 90, 135, 180, 225, 270, 315]);
    expect(num(attrs, "n_repetitions")).toBe(3);
    expect(num(attrs, "padding_frames")).toBe(0);
    const d90 = section["90"] as Tree;
    const samples = d90.section_bounds_samples as NDArray;
    const bounds = d90.section_bounds as NDArray;
    expect(samples.shape).toEqual([3, 2]);
    expect(bounds.shape).toEqual([3, 2]);
    expect(bounds.dtype).toBe("int64");
    // Sweep 2 of trial 0: [4 s, 6 s) after the trial start (frame 960 = movie frame 0).
    const t0 = 300_000 + RATE;
    expect(Array.from(samples.data as BigInt64Array, Number).slice(0, 2)).toEqual([t0 + 4 * RATE, t0 + 6 * RATE]);
    expect(Array.from(bounds.data as BigInt64Array, Number).slice(0, 2)).toEqual([240, 360]);
    let total = 0;
    for (const [deg, dir] of Object.entries(section)) {
      if (deg === "_attrs") continue;
      const b = Array.from(((dir as Tree).section_bounds_samples as NDArray).data as BigInt64Array, Number);
      const f = Array.from(((dir as Tree).section_bounds as NDArray).data as BigInt64Array, Number);
      const inFrames = (dir as Tree).trials as Tree;
      for (const [r, spikes] of Object.entries((dir as Tree).trials_samples as Tree)) {
        const s = Array.from((spikes as NDArray).data as BigInt64Array, Number);
        const fr = Array.from((inFrames[r] as NDArray).data as BigInt64Array, Number);
        expect(fr.length).toBe(s.length);
        s.forEach((x, i) => {
          expect(x).toBeGreaterThanOrEqual(b[2 * Number(r)]);
          expect(x).toBeLessThan(b[2 * Number(r) + 1]);
          expect(fr[i]).toBe(upperBound(frames, x) - 1 - 960);
          expect(fr[i]).toBeGreaterThanOrEqual(f[2 * Number(r)]);
          expect(fr[i]).toBeLessThanOrEqual(f[2 * Number(r) + 1]);
        });
        total += s.length;
      }
    }
    expect(total).toBe(unit.spikeTimes.length);
    // Without frame timestamps only the sample versions exist.
    const noFrames = (movingBar.extract(unit, ctx)[MOVIE] as Tree)[DIRECTION_SECTION.key] as Tree;
    expect(Object.keys(noFrames["90"] as Tree).sort()).toEqual(["section_bounds_samples", "trials_samples"]);
  });

  it("maps one trial per direction when sweeps_per_trial is 1", () => {
    const l: MovieLayout = { sectionStart: 0, trialStartsS: Array.from({ length: 16 }, (_, n) => 3 * n), trialS: 2 };
    const trials = movieTrials(unitWith(1, { m: sectionedMovie(l, l.trialStartsS.map(() => [])) }), "m", RATE);
    const sweeps = barSweeps(trials, { directions_deg: [0, 90, 180, 270], sweeps_per_trial: 1 });
    expect(sweeps.map((s) => s.direction)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  });
});
