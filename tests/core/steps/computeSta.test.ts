import { describe, expect, it } from "vitest";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { runPipeline } from "../../../src/core/pipeline.ts";
import { spikeTriggeredAverage } from "../../../src/core/visualSta.ts";
import { exampleFrameTimestamps, exampleInputs, loadedSession, makeUnit, nums } from "../fixtures/exampleSession.ts";

/** [frames, 2, 3] uint8 movie whose pixel p of frame f is (f + 10·p) mod 256. */
function rampMovie(frames: number): NDArray {
  const data = new Uint8Array(frames * 6);
  for (let f = 0; f < frames; f++) for (let p = 0; p < 6; p++) data[f * 6 + p] = (f + 10 * p) % 256;
  return new NDArray(data, [frames, 2, 3]);
}

describe("spike-triggered average", () => {
  it("averages the 60 frames before each kept spike, excluding spikes whose window leaves the movie", () => {
    const movie = rampMovie(200);
    // 30: window starts before frame 0; 201: past the end; 200: window [140, 200) fits exactly.
    const result = spikeTriggeredAverage([100, 110, 30, 200, 201, 110], movie, [-60, 0]);
    expect([result.used, result.excluded, result.shape]).toEqual([4, 2, [60, 2, 3]]);
    const kept = [100, 110, 200, 110];
    for (let lag = 0; lag < 60; lag++) {
      for (let p = 0; p < 6; p++) {
        const want = kept.reduce((s, f) => s + ((f - 60 + lag + 10 * p) % 256), 0) / kept.length;
        expect(result.sta[lag * 6 + p]).toBe(Math.fround(want));
      }
    }
    expect(result.sta[0]).toBe(Math.fround((40 + 50 + 140 + 50) / 4));
  });

  it("is all NaN when no spike is kept", () => {
    const result = spikeTriggeredAverage([5, 500], rampMovie(100), [-60, 0]);
    expect([result.used, result.excluded]).toEqual([0, 2]);
    expect(result.sta.length).toBe(360);
    expect(Array.from(result.sta).every(Number.isNaN)).toBe(true);
  });

  it("supports windows after the spike (cover_range (−2, 3))", () => {
    const result = spikeTriggeredAverage([10], rampMovie(20), [-2, 3]);
    expect(Array.from(result.sta.filter((_, i) => i % 6 === 0))).toEqual([8, 9, 10, 11, 12]);
  });
});

describe("compute_sta step", () => {
  const movie = "checker_noise_10x10_20hz_s7_1min";
  const ts = exampleFrameTimestamps();
  // The noise section starts at frame 2102, its content (movie frame 0) at 2162.
  const at = (movieFrame: number, offset = 10) => Number(ts[2162 + movieFrame]) + offset;

  async function run(stimulusMovies: Record<string, NDArray> | undefined, units = [makeUnit(1, [at(100), at(110, 300)]), makeUnit(2, [at(10)])]) {
    const session = loadedSession({ units });
    const report = await runPipeline(session, {
      params: { add_section_time: { playlist_name: "demo_set_a" } },
      inputs: exampleInputs({ stimulusMovies }),
      steps: ["add_section_time", "section_spike_times", "compute_sta"],
    });
    return { session, report };
  }

  it("aligns spikes to movie frames with floor_frame and stores sta_<movie> with its metadata", async () => {
    const { session, report } = await run({ [movie]: rampMovie(3600) });
    expect(report.steps.map((s) => s.status)).toEqual(["completed", "completed", "completed"]);
    const feature = ((session.getUnit("unit_001").children.features as Tree)[`sta_${movie}`]) as Tree;
    const data = feature.data as NDArray;
    expect([data.dtype, data.shape]).toEqual(["float32", [60, 2, 3]]);
    // spikes at movie frames 100 and 110 → lag 0 pixel 0 = mean(40, 50)
    expect(data.data[0]).toBe(45);
    expect(data.data[59 * 6 + 5]).toBe((99 + 50 + 109 + 50) / 2);
    const meta = feature.metadata as Tree;
    expect(meta.movie_name).toBe(movie);
    expect(Object.fromEntries(["n_spikes_used", "n_spikes_excluded", "cover_range"].map((k) => [k, [(meta[k] as NDArray).dtype, nums((meta[k] as NDArray).data)]]))).toEqual({
      n_spikes_used: ["int64", [2]],
      n_spikes_excluded: ["int64", [0]],
      cover_range: ["int64", [-60, 0]],
    });
    const unit2 = ((session.getUnit("unit_002").children.features as Tree)[`sta_${movie}`]) as Tree;
    expect(Array.from((unit2.data as NDArray).data as Float32Array).every(Number.isNaN)).toBe(true);
    expect(session.warnings.map((w) => w.message)).toEqual([
      "compute_sta: 1 unit(s) have no spike inside the movie window; their STA is all NaN: unit_002",
    ]);
  });

  it("gives up with a warning when the stimulus movie is not supplied, and warns on a frame-count mismatch", async () => {
    const missing = await run(undefined);
    expect(missing.report.steps[2]).toMatchObject({ status: "bailed", message: `needs the stimulus movie ${movie}.npy ([frames, H, W]); none was given` });
    expect(missing.session.hasCompleted("compute_sta")).toBe(false);

    const short = await run({ [movie]: rampMovie(3000) });
    expect(short.session.warnings.map((w) => w.message)).toContain(
      `compute_sta: ${movie}.npy has 3000 frames but its section spans 3600 content frames: is it the movie that was shown?`,
    );
  });
});
