import { describe, expect, it } from "vitest";
import { FeatureNotApplicable } from "../../../src/core/features/notApplicable.ts";
import { makeStepResponse, stepResponse } from "../../../src/core/features/stepResponse.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { Prng } from "../../../src/core/prng.ts";
import { countIn } from "../../../src/core/features/sectionedTrials.ts";
import { stepResponses } from "../../../src/core/features/stepWindows.ts";
import { contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "../../../tools/syntheticTrials.ts";
import { LAB_STEP_TIMING, STEP_MOVIE, randomCell, randomTimings, syntheticRecording } from "../../fixtures/syntheticCells.ts";

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

describe("step_response on the lab's step_up_5s_5i_b0_3x layout (every trial starts at an ON step)", () => {
  // 4 s dark, then 3 × (5 s light, 5 s dark), one showing, trials of 10 s from each ON step, the
  // light template over the whole section, spikes over the whole recording (issue 19).
  const timings = { ...randomTimings(new Prng(19)), step: LAB_STEP_TIMING, frameJitter: 2 };
  const rng = new Prng(190);
  const kinds = ["ON transient", "ON sustained", "OFF transient", "ON-OFF"] as const;
  const cells = Array.from({ length: 24 }, (_, i) => randomCell(rng, kinds[i % kinds.length]));
  const rec = syntheticRecording(1919, timings, cells, [STEP_MOVIE]);
  const values = rec.units.map((u) => {
    const d = stepResponse.extract(u, rec.ctx)[STEP_MOVIE] as Tree;
    return (k: string) => Number((d[k] as NDArray).data[0]);
  });

  it("gives every unit an ON baseline (the dark second before each ON step, read before the trial start)", () => {
    for (const v of values) {
      expect(v("on_baseline_hz")).not.toBeNaN();
      expect(v("n_on_steps")).toBe(3);
    }
    rec.cells.forEach((c, i) => {
      // An ON or ON-OFF cell's dark second is at its base rate; the OFF transient has long decayed.
      if (c.polarity !== "OFF") expect(values[i]("on_baseline_hz")).toBeLessThan(c.baseHz + 4);
    });
  });

  it("gives ON cells an index near +1 and ON-OFF cells one near 0", () => {
    rec.cells.forEach((c, i) => {
      const ooi = values[i]("on_off_index");
      if (c.polarity === "ON") expect(ooi, `cell ${i}`).toBeGreaterThan(0.5);
      if (c.polarity === "OFF") expect(ooi, `cell ${i}`).toBeLessThan(-0.5);
      if (c.polarity === "ON-OFF") expect(Math.abs(ooi), `cell ${i}`).toBeLessThan(0.3);
    });
  });
});

describe("step_response at the trial's first and last edge", () => {
  // 8 s trials that start at the ON step (light 0–3 s) and end 1 s after the OFF step... and
  // trials back to back, so the next ON is the trial end (the lab's layout with short periods).
  const STEP = "step_flash_trial_edges";
  const edges: MovieLayout = { sectionStart: 200_000, trialStartsS: [2, 10, 18, 26], trialS: 8, light: (t) => (t < 3 ? 3000 : 200) };

  it("without a template, a step at the trial start has no baseline: it is measured against the pooled one and says so", () => {
    const rng = new Prng(7);
    const unit = unitWith(1, { [STEP]: sectionedMovie(edges, edges.trialStartsS.map(() => poisson(rng, (t) => 3 + (t < 0.3 ? 90 : 0), 8, 100))) });
    const ctx = contextFor({ [STEP]: { ...edges, light: undefined } });
    const d = makeStepResponse({ light_edges_s: { on: [0], off: [3] } }).extract(unit, ctx)[STEP] as Tree;
    const v = (k: string) => Number((d[k] as NDArray).data[0]);
    expect(v("on_baseline_hz")).toBeNaN();
    expect(d.reason).toMatch(/on_baseline_hz: no ON step has time before it.*measured against baseline_rate_hz/);
    expect(v("on_off_index")).toBeGreaterThan(0.9);
    expect(v("on_response_hz")).toBeGreaterThan(20);
  });

  it("with a template, reads the ON baseline before the trial and the OFF response past a trial end", () => {
    // Trials start at the ON step; the OFF step comes 0.2 s before the trial end, so its response runs
    // past it, into the 2 s of darkness before the next trial.
    const late: MovieLayout = { sectionStart: 200_000, trialStartsS: [2, 12, 22, 32], trialS: 8, light: (t) => (t < 7.8 ? 3000 : 200) };
    const rng = new Prng(8);
    // Spikes over the whole section, then cut into trials as section_spike_times does.
    const whole = poisson(rng, (t) => 3 + (t >= 2 && ((t - 2) % 10) >= 7.85 && ((t - 2) % 10) < 8.25 ? 90 : 0), 42, 100);
    const trials = late.trialStartsS.map((s) => whole.filter((t) => t >= s && t < s + 8).map((t) => t - s));
    const unit = unitWith(1, { [STEP]: sectionedMovie(late, trials) });
    unit.spikeTimes = BigUint64Array.from(whole, (t) => BigInt(late.sectionStart + Math.round(t * 20000)));
    const d = stepResponse.extract(unit, contextFor({ [STEP]: late }))[STEP] as Tree;
    const v = (k: string) => Number((d[k] as NDArray).data[0]);
    expect(v("on_baseline_hz")).toBeGreaterThan(1);
    expect(v("on_baseline_hz")).toBeLessThan(6);
    expect(v("off_transient_hz")).toBeGreaterThan(40); // the burst at 0.05–0.45 s after the step, mostly past the trial end
    expect(v("off_sustained_hz")).toBeLessThan(6); // [0.5, 2.2) s after the step: wholly past the trial end, up to the next ON
    expect(v("on_off_index")).toBeLessThan(-0.9);
    expect(d.reason).not.toMatch(/off_/);
  });
});

describe("step windows' PSTH", () => {
  it("counts each bin's spikes as a search per bin edge would (random trials, steps and spikes on bin edges)", () => {
    const rng = new Prng(11);
    const w = { transient_s: 0.5, sustained_s: 4, baseline_s: 2, settle_s: 0.5, psth_bin_s: 0.01 };
    for (let round = 0; round < 30; round++) {
      const trials = 1 + rng.int(0, 4);
      const events = Array.from({ length: trials }, () =>
        Array.from({ length: 1 + rng.int(0, 4) }, (_, i) => ({ time: i * 2 + rng.int(0, 100) * 0.01, label: rng.int(0, 2) ? "on" : "off" })),
      );
      // Spikes on bin edges (multiples of 10 ms from a step) as often as between them.
      const spikes = events.map((list) => Float64Array.from({ length: rng.int(0, 400) }, () => (rng.int(0, 2) ? list[rng.int(0, list.length)].time + rng.int(0, 400) * 0.01 : rng.int(0, 1e6) * 1e-5)).sort());
      const durations = events.map(() => 6 + rng.int(0, 300) * 0.01);
      const stats = stepResponses(spikes, durations, events, w);
      for (const label of ["on", "off"]) {
        const bins = new Float64Array(400);
        const cover = new Float64Array(400);
        events.forEach((list, t) => {
          const sorted = [...list].sort((a, b) => a.time - b.time);
          sorted.forEach((e, i) => {
            if (e.label !== label) return;
            const limit = Math.min(i + 1 < sorted.length ? sorted[i + 1].time : Infinity, durations[t]);
            if (!(limit > e.time)) return;
            for (let b = 0; b < 400; b++) {
              const lo = e.time + b * 0.01;
              const hi = lo + 0.01;
              if (hi > limit + 1e-12) break;
              bins[b] += countIn(spikes[t], lo, hi);
              cover[b] += 0.01;
            }
          });
        });
        const expected = Array.from(bins, (n, b) => (cover[b] > 0 ? n / cover[b] : Number.NaN));
        const got = stats.get(label);
        if (got) expect(Array.from(got.psth), `round ${round} ${label}`).toEqual(expected);
        else expect(cover.every((c) => c === 0)).toBe(true);
      }
    }
  });
});
