import { describe, expect, it } from "vitest";
import { FrameClock } from "../../../src/core/frameClock.ts";
import { NDArray, isTree, scalarNumber, type Tree } from "../../../src/core/ndarray.ts";
import { runPipeline } from "../../../src/core/pipeline.ts";
import { padSamples, sectionSpikes, trialBounds } from "../../../src/core/spikeSectioning.ts";
import { loadStimulusConfigs } from "../../../src/core/stimulusConfig/stimulusConfig.ts";
import { exampleFrameTimestamps, exampleInputs, expected, loadedSession, makeUnit, nums, RATE, stimulusConfigTexts } from "../fixtures/exampleSession.ts";

const clock = new FrameClock(exampleFrameTimestamps());
const configs = loadStimulusConfigs(
  ["gray_baseline_60", "step_flash_4s_4i_2x", "checker_noise_10x10_20hz_s7_1min", "step_color_3lvl_example"],
  stimulusConfigTexts(),
);

describe("frame clock", () => {
  it("floors a sample to the frame that started at or before it, clipped", () => {
    expect(clock.floorFrame(80000)).toBe(120);
    expect(clock.floorFrame(80332)).toBe(120);
    expect(clock.floorFrame(0)).toBe(0);
    expect(clock.floorFrame(1e12)).toBe(6199);
    expect(clock.sampleAt(-5)).toBe(40000);
    expect(clock.sampleAt(1e6)).toBe(clock.timestamps[6199]);
  });
});

describe("trial bounds", () => {
  it("reproduce the worked example (frames and samples) from the section start", () => {
    for (const [movie, want] of Object.entries(expected.movies)) {
      const start = want.section_time_samples[0][0];
      expect(clock.floorFrame(start)).toBe(want.section_frame_start_recovered);
      const bounds = trialBounds(configs.get(movie)!, start, clock);
      expect(bounds.map((b) => ({ start_frame: b.startFrame, end_frame: b.endFrame, start_sample: b.startSample, end_sample: b.endSample }))).toEqual(want.trials);
    }
  });

  it("insert the group gap after each group (step_color_3lvl_example)", () => {
    const start = Number(clock.timestamps[1000]);
    const frames = trialBounds(configs.get("step_color_3lvl_example")!, start, clock).map((b) => b.startFrame);
    // movie_start + 60 + 60 + n·600 + (n div 2)·120
    expect(frames).toEqual([0, 1, 2, 3, 4, 5].map((n) => 1000 + 120 + n * 600 + Math.floor(n / 2) * 120));
  });

  it("clip trials past the last frame to it", () => {
    const start = Number(clock.timestamps[5500]);
    const bounds = trialBounds(configs.get("step_flash_4s_4i_2x")!, start, clock);
    expect(bounds.map((b) => [b.startFrame, b.endFrame])).toEqual([[5560, 6040], [6040, 6199]]);
  });
});

describe("sectioning spikes", () => {
  const ex = expected.sectioning_example;
  const bounds = expected.movies[ex.movie].trials.map((t) => ({ startSample: t.start_sample, endSample: t.end_sample }));

  it("reproduces the padded example: a spike in two trials, counted once in full_spike_times", () => {
    const { pre, post } = padSamples(ex.pad_margin_s, RATE);
    expect([pre, post]).toEqual([ex.pre_samples, ex.post_samples]);
    for (const order of [ex.spike_times_samples, [...ex.spike_times_samples].reverse()]) {
      const spikes = BigUint64Array.from(order, BigInt);
      const samples = Float64Array.from(order);
      const sorted = order === ex.spike_times_samples;
      const result = sectionSpikes(spikes, samples, sorted, bounds, pre, post);
      expect(result.trials.map((t) => nums(t).sort((a, b) => a - b))).toEqual([ex.trials_spike_times["0"], ex.trials_spike_times["1"]]);
      expect(nums(result.full)).toEqual(ex.full_spike_times);
      expect(result.full).toBeInstanceOf(BigInt64Array);
    }
  });

  it("truncates pad margins to whole samples and clamps the padded start at 0", () => {
    expect(padSamples([0.1, 0.00004], 19999.9)).toEqual({ pre: 1999, post: 0 });
    const result = sectionSpikes(BigUint64Array.of(0n, 5n, 10n), Float64Array.of(0, 5, 10), true, [{ startSample: 5, endSample: 10 }], 100, 0);
    expect(nums(result.trials[0])).toEqual([0, 5]);
  });
});

describe("section_spike_times step", () => {
  const sectioned = (session: ReturnType<typeof loadedSession>, unit: string, movie: string) =>
    ((session.getUnit(unit).children.spike_times_sectioned as Tree)[movie]) as Tree;

  async function sectionedSession(pad: [number, number] = [0.5, 0]) {
    const session = loadedSession();
    const report = await runPipeline(session, {
      steps: ["add_section_time", "section_spike_times"],
      params: { add_section_time: { playlist_name: "demo_set_a" }, section_spike_times: { pad_margin: pad } },
      inputs: exampleInputs(),
    });
    return { session, report };
  }

  it("writes the lab's layout with its dtypes for every unit and movie", async () => {
    const { session, report } = await sectionedSession();
    expect(report.steps.map((s) => s.status)).toEqual(["completed", "completed"]);
    const ex = expected.sectioning_example;
    const group = sectioned(session, "unit_001", ex.movie);
    expect(Object.keys(group)).toEqual(["full_spike_times", "trials_spike_times", "trials_start_end", "_attrs"]);
    const trials = group.trials_spike_times as Record<string, NDArray>;
    expect(Object.keys(trials)).toEqual(["0", "1"]);
    expect(nums(trials["0"].data)).toEqual(ex.trials_spike_times["0"]);
    expect(nums(trials["1"].data)).toEqual(ex.trials_spike_times["1"]);
    expect(trials["0"].dtype).toBe("int64");
    const full = group.full_spike_times as NDArray;
    expect([full.dtype, nums(full.data)]).toEqual(["int64", ex.full_spike_times]);
    const startEnd = group.trials_start_end as NDArray;
    expect([startEnd.dtype, startEnd.shape]).toEqual(["int64", [2, 2]]);
    expect(nums(startEnd.data)).toEqual(expected.movies[ex.movie].trials.flatMap((t) => [t.start_sample, t.end_sample]));
    const attrs = group._attrs as Record<string, NDArray>;
    expect(Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, [v.dtype, v.shape, nums(v.data)]]))).toEqual({
      n_trials: ["int64", [], [2]],
      pad_margin: ["float64", [2], [0.5, 0]],
      pre_samples: ["int64", [], [10000]],
      post_samples: ["int64", [], [0]],
    });
    expect(Object.keys(session.getUnit("unit_002").children.spike_times_sectioned as Tree)).toEqual(Object.keys(expected.movies));
    const gray = sectioned(session, "unit_002", "gray_baseline_60");
    expect(nums((gray.trials_spike_times as Record<string, NDArray>)["0"].data)).toEqual([100000, 150000]);
  });

  it("sections only the first showing of a repeated movie", async () => {
    const session = loadedSession({ units: [makeUnit(1, [101000, 600000, 1000000])] });
    await runPipeline(session, {
      steps: ["add_section_time", "section_spike_times"],
      params: { add_section_time: { playlist_name: "demo_single_flash", repeats: 2 } },
      inputs: exampleInputs(),
    });
    const group = sectioned(session, "unit_001", "step_flash_4s_4i_2x");
    expect(scalarNumber((group._attrs as Tree).n_trials)).toBe(2);
    // frames 180–660–1140 of the first showing (section 120–1261); 600000 is in the second showing
    expect(nums((group.trials_start_end as NDArray).data)).toEqual([100000, 260000, 260000, 420000]);
    expect(nums((group.full_spike_times as NDArray).data)).toEqual([101000]);
    expect(session.warnings.map((w) => w.message)).toContain(
      "section_spike_times: step_flash_4s_4i_2x was shown 2 times: only the first showing is cut into trials (as the original)",
    );
  });

  it("gives up with one warning listing every config problem, without marking the step", async () => {
    const session = loadedSession();
    const texts = stimulusConfigTexts();
    texts["step_flash_4s_4i_2x.json"] = texts["step_flash_4s_4i_2x.json"].replace('"trial_length_frame": 480', '"trial_length_frame": 480.0');
    delete texts["gray_baseline_60.json"];
    const report = await runPipeline(session, {
      steps: ["add_section_time", "section_spike_times"],
      params: { add_section_time: { playlist_name: "demo_set_a" } },
      inputs: exampleInputs({ stimulusConfigs: texts }),
    });
    expect(report.steps.map((s) => s.status)).toEqual(["completed", "bailed"]);
    expect(session.hasCompleted("section_spike_times")).toBe(false);
    expect(isTree(session.getUnit("unit_001").children.spike_times_sectioned)).toBe(false);
    const warning = session.warnings.at(-1)!.message;
    expect(warning).toMatch(/^section_spike_times: stimulus configs are missing or invalid for 2 movie\(s\):/);
    expect(warning).toContain("gray_baseline_60.json: no config file");
    expect(warning).toContain("step_flash_4s_4i_2x.json: section_kwargs.trial_length_frame must be an integer > 0, got 480.0");
  });

  it("sections only the named movies and keeps other movies' groups", async () => {
    const { session } = await sectionedSession([0, 0]);
    const before = sectioned(session, "unit_001", "gray_baseline_60");
    await runPipeline(session, {
      steps: ["section_spike_times"],
      params: { section_spike_times: { pad_margin: [0.5, 0], movie_names: ["step_flash_4s_4i_2x", "nope"] } },
      inputs: exampleInputs(),
    });
    expect(sectioned(session, "unit_001", "gray_baseline_60")).toBe(before);
    expect(scalarNumber((sectioned(session, "unit_001", "step_flash_4s_4i_2x")._attrs as Tree).pre_samples)).toBe(10000);
    expect(session.warnings.map((w) => w.message)).toContain("section_spike_times: movie_names not in stimulus/section_time, ignored: nope");
  });
});
