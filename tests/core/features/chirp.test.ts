import { describe, expect, it } from "vitest";
import { chirp } from "../../../src/core/features/chirp.ts";
import { FeatureNotApplicable } from "../../../src/core/features/notApplicable.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "../../../tools/syntheticTrials.ts";

const MOVIE = "freq_step_5st_3x";
const FREQS = [0.5, 1, 2, 4, 10];
// 1 s grey, then 4 s at each frequency (full contrast), then a 2 Hz amplitude ramp 0 → 1 over 8 s.
const SEG = 4;
const RAMP0 = 1 + SEG * FREQS.length;
function stimulus(t: number): { freq: number; contrast: number } | undefined {
  if (t >= 1 && t < RAMP0) return { freq: FREQS[Math.floor((t - 1) / SEG)], contrast: 1 };
  if (t >= RAMP0 && t < RAMP0 + 8) return { freq: 2, contrast: (t - RAMP0) / 8 };
  return undefined;
}
const phaseOf = (t: number, freq: number) => 2 * Math.PI * freq * (t - (t < RAMP0 ? 1 : RAMP0));
const light = (t: number) => {
  const s = stimulus(t);
  return s ? 0.5 + 0.5 * s.contrast * Math.sin(phaseOf(t, s.freq)) : 0.5;
};
const layout: MovieLayout = { sectionStart: 200_000, trialStartsS: [1, 32, 63], trialS: 30, light };

/** Fires 5 Hz plus a modulation that follows the light only at `follows` Hz, scaled by contrast. */
function follower(follows: number, seed: number) {
  const rng = new Prng(seed);
  const rate = (t: number) => {
    const s = stimulus(t);
    const mod = s && Math.abs(s.freq - follows) < 1e-9 ? 60 * s.contrast * Math.max(0, Math.sin(phaseOf(t, s.freq))) : 0;
    return 5 + mod;
  };
  return unitWith(1, { [MOVIE]: sectionedMovie(layout, layout.trialStartsS.map(() => poisson(rng, rate, 30, 65))) });
}

const num = (d: Tree, k: string) => Number((d[k] as NDArray).data[0]);
const arr = (d: Tree, k: string) => Array.from((d[k] as NDArray).data as Float64Array);

describe("chirp", () => {
  const ctx = contextFor({ [MOVIE]: layout });

  it("reads the frequencies shown from the light template", () => {
    const d = chirp.extract(follower(2, 1), ctx)[MOVIE] as Tree;
    const f = arr(d, "frequency_hz");
    expect(f.length, JSON.stringify(f)).toBe(5);
    FREQS.forEach((want, i) => expect(f[i]).toBeCloseTo(want, 1));
    expect(num(d, "amplitude_sweep_hz")).toBeCloseTo(2, 1);
  });

  it("peaks at the frequency the unit follows", () => {
    for (const follows of [1, 2, 4]) {
      const d = chirp.extract(follower(follows, 10 + follows), ctx)[MOVIE] as Tree;
      expect(num(d, "preferred_frequency_hz")).toBeCloseTo(follows, 1);
      const f1 = arr(d, "frequency_f1_hz");
      const best = f1.indexOf(Math.max(...f1));
      const others = f1.filter((_, i) => i !== best);
      expect(Math.max(...others)).toBeLessThan(0.3 * f1[best]);
    }
    const slow = chirp.extract(follower(0.5, 21), ctx)[MOVIE] as Tree;
    const fast = chirp.extract(follower(10, 22), ctx)[MOVIE] as Tree;
    expect(num(slow, "high_low_index")).toBeLessThan(-0.5);
    expect(num(fast, "high_low_index")).toBeGreaterThan(0.5);
    expect(num(slow, "centroid_frequency_hz")).toBeLessThan(num(fast, "centroid_frequency_hz"));
    // Nothing NaN, nothing to explain; a silent unit's NaNs are named.
    expect(slow.reason).toBe("");
    expect(fast.reason).toBe("");
    const silent = unitWith(1, { [MOVIE]: sectionedMovie(layout, layout.trialStartsS.map(() => [])) });
    const none = chirp.extract(silent, ctx)[MOVIE] as Tree;
    expect(num(none, "preferred_frequency_hz")).toBeNaN();
    expect(none.reason).toMatch(/^preferred_frequency_hz, centroid_frequency_hz, high_low_index: no F1 above 0/);
  });

  it("gives an amplitude curve that grows with contrast for a contrast-following unit", () => {
    const d = chirp.extract(follower(2, 3), ctx)[MOVIE] as Tree;
    const a = arr(d, "amplitude_f1_hz");
    expect(a.length).toBeGreaterThan(5);
    expect(a[a.length - 1]).toBeGreaterThan(3 * a[0]);
    expect(num(d, "half_max_amplitude")).toBeGreaterThan(0.2);
    expect(num(d, "half_max_amplitude")).toBeLessThan(0.8);
  });

  it("is not applicable without a light template", () => {
    const noLight = contextFor({ [MOVIE]: { ...layout, light: undefined } });
    expect(() => chirp.extract(follower(2, 4), noLight)).toThrow(FeatureNotApplicable);
  });
});
