import { describe, expect, it } from "vitest";
import { FeatureNotApplicable } from "../../../src/core/features/notApplicable.ts";
import { qualityIndex, qualityIndexFeature } from "../../../src/core/features/qualityIndex.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "../../../tools/syntheticTrials.ts";

const layout: MovieLayout = { sectionStart: 50_000, trialStartsS: [1, 12, 23, 34, 45, 56, 67, 78, 89, 100], trialS: 10 };
const value = (data: Tree, movie: string) => Number(((data[movie] as Tree).quality_index as NDArray).data[0]);

describe("quality_index", () => {
  it("is 1 for a response repeated exactly in every trial", () => {
    const rng = new Prng(1);
    const once = poisson(rng, (t) => (Math.sin(2 * Math.PI * t) > 0 ? 40 : 2), 10, 40);
    const unit = unitWith(1, { chirp_a: sectionedMovie(layout, layout.trialStartsS.map(() => once)) });
    const data = qualityIndexFeature.extract(unit, contextFor({ chirp_a: layout }));
    expect(value(data, "chirp_a")).toBeCloseTo(1, 10);
  });

  it("is about 1/n_trials for trial-independent Poisson firing", () => {
    const rng = new Prng(2);
    const trials = layout.trialStartsS.map(() => poisson(rng, () => 20, 10, 20));
    const unit = unitWith(1, { chirp_a: sectionedMovie(layout, trials) });
    const qi = value(qualityIndexFeature.extract(unit, contextFor({ chirp_a: layout })), "chirp_a");
    expect(qi).toBeGreaterThan(0.05);
    expect(qi).toBeLessThan(0.2); // 1/10 expected
  });

  it("is high for a stimulus-locked but noisy response and ignores single-trial movies", () => {
    const rng = new Prng(3);
    const noise: MovieLayout = { sectionStart: 5_000_000, trialStartsS: [0], trialS: 30 };
    const trials = layout.trialStartsS.map(() => poisson(rng, (t) => (Math.sin(2 * Math.PI * t) > 0 ? 60 : 0), 10, 60));
    const unit = unitWith(1, { chirp_a: sectionedMovie(layout, trials), dense_noise: sectionedMovie(noise, [[1, 2, 3]]) });
    const data = qualityIndexFeature.extract(unit, contextFor({ chirp_a: layout, dense_noise: noise }));
    expect(value(data, "chirp_a")).toBeGreaterThan(0.6);
    expect(Object.keys(data)).toEqual(["chirp_a"]);
  });

  it("bins from each trial's start and is NaN for a silent unit", () => {
    expect(qualityIndex([Float64Array.of(0.01), Float64Array.of(0.01)], 1, 0.1)).toBeCloseTo(1, 12);
    expect(qualityIndex([new Float64Array(0), new Float64Array(0)], 1, 0.1)).toBeNaN();
  });

  it("says why a QI is NaN, and gives a chance-corrected QI comparable across trial counts", () => {
    const silent = unitWith(1, { chirp_a: sectionedMovie(layout, layout.trialStartsS.map(() => [])) });
    const d = qualityIndexFeature.extract(silent, contextFor({ chirp_a: layout })).chirp_a as Tree;
    expect(Number((d.quality_index as NDArray).data[0])).toBeNaN();
    expect(d.reason).toMatch(/no spike inside the trials/);
    const rng = new Prng(4);
    const noisy = unitWith(2, { chirp_a: sectionedMovie(layout, layout.trialStartsS.map(() => poisson(rng, () => 20, 10, 20))) });
    const n = qualityIndexFeature.extract(noisy, contextFor({ chirp_a: layout })).chirp_a as Tree;
    expect(Math.abs(Number((n.quality_index_above_chance as NDArray).data[0]))).toBeLessThan(0.05);
    expect(n.reason).toBe("");
  });

  it("is not applicable to a unit without a repeated movie", () => {
    const noise: MovieLayout = { sectionStart: 0, trialStartsS: [0], trialS: 30 };
    const unit = unitWith(1, { dense_noise: sectionedMovie(noise, [[1]]) });
    expect(() => qualityIndexFeature.extract(unit, contextFor({ dense_noise: noise }))).toThrow(FeatureNotApplicable);
  });
});
