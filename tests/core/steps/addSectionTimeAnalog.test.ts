import { describe, expect, it } from "vitest";
import { detectAnalogOnsets, selectByDistance } from "../../../src/core/analogOnsets.ts";
import { NDArray, type Tree } from "../../../src/core/ndarray.ts";
import { PipelineParamsError, runPipeline } from "../../../src/core/pipeline.ts";
import { exampleFrameTimestamps, loadedSession, makeUnit, nums } from "../fixtures/exampleSession.ts";

const frames = exampleFrameTimestamps(); // last frame at sample 2_106_333
const A = 2_200_000;
const B = 2_260_000;
const LENGTH = B + 20_000;

/** Light steps up by `height` at each position and stays up. */
function steps(length: number, at: [number, number][]): Float32Array {
  const out = new Float32Array(length);
  for (const [pos, height] of at) for (let i = pos; i < length; i++) out[i] += height;
  return out;
}

describe("analog onsets", () => {
  it("finds rising edges after `from`, keeping the higher of two close peaks (scipy distance rule)", () => {
    const signal = steps(LENGTH, [[1_000_000, 1e6], [A, 1e6], [A + 10_000, 5e5], [B, 1e6]]);
    const onsets = detectAnalogOnsets(signal, { threshold: 1e5, from: Number(frames[6199]), minDistance: 32_000 });
    expect(onsets).toEqual([{ sample: A - 1, height: 1e6 }, { sample: B - 1, height: 1e6 }]);
    expect(detectAnalogOnsets(signal, { threshold: 1e5, from: 0, minDistance: 0 }).map((o) => o.sample)).toEqual([999_999, A - 1, A + 9_999, B - 1]);
  });

  it("selects by distance from the highest peak down", () => {
    expect(selectByDistance([10, 15, 30, 33], [1, 5, 2, 2], 6)).toEqual([15, 33]);
  });
});

describe("add_section_time_analog and section_spike_times_analog", () => {
  const params = { add_section_time_analog: { threshold_value: 1e5, plot_duration: 2 } };

  it("stores sections and the template of every detection, then sections spikes with a 2 s pre-pad", async () => {
    const light = steps(LENGTH, [[1_000_000, 1e6], [A, 1e6], [A + 10_000, 5e5], [B, 1e6]]);
    const session = loadedSession({ light, frames, units: [makeUnit(1, [A - 30_000, A + 5_000, B + 100, A - 50_000])] });
    const report = await runPipeline(session, { steps: ["add_section_time_analog", "section_spike_times_analog"], params });
    expect(report.steps.map((s) => s.status)).toEqual(["completed", "completed"]);

    const st = (session.stimulus.section_time as Tree).iprgc_test as NDArray;
    expect([st.dtype, st.shape, nums(st.data)]).toEqual(["int64", [2, 2], [A - 1, A - 1 + 40_000, B - 1, LENGTH - 1]]);
    const template = (session.stimulus.light_template as Tree).iprgc_test as NDArray;
    expect([template.dtype, template.data.length]).toEqual(["float32", 40_000]);
    // samples 0–19 999 average both showings; later ones only the first (the second was cut short)
    expect(template.data[0]).toBe((1e6 + 2.5e6) / 2); // the sample before each edge
    expect(template.data[20_000]).toBe(2.5e6);
    expect(session.warnings.map((w) => w.message)).toEqual([
      `add_section_time_analog: 1 section(s) of iprgc_test run past the end of the recording and were cut at sample ${LENGTH - 1}`,
    ]);
    expect(session.completedSteps.find((s) => s.name === "add_section_time_analog")!.params.summary).toMatchObject({
      n_detected: 2,
      onsets: [A - 1, B - 1],
      search_start_sample: Number(frames[6199]),
    });

    const group = (session.getUnit("unit_001").children.spike_times_sectioned as Tree).iprgc_test as Tree;
    const trials = group.trials_spike_times as Record<string, NDArray>;
    expect(nums(trials["0"].data)).toEqual([A - 30_000, A + 5_000]);
    expect(nums(trials["1"].data)).toEqual([B + 100]);
    expect(nums((group.trials_start_end as NDArray).data)).toEqual(nums(st.data));
    expect(nums(((group._attrs as Tree).pre_samples as NDArray).data)).toEqual([40_000]);
  });

  it("keeps the first `repeat` sections, warns when fewer were found, and needs a threshold", async () => {
    const light = steps(LENGTH, [[A, 1e6], [B, 1e6]]);
    const session = loadedSession({ light, frames });
    await runPipeline(session, { steps: ["add_section_time_analog"], params: { add_section_time_analog: { ...params.add_section_time_analog, repeat: 3 } } });
    expect(((session.stimulus.section_time as Tree).iprgc_test as NDArray).shape).toEqual([2, 2]);
    expect(session.warnings[0].message).toBe("add_section_time_analog: repeat=3 but only 2 onset(s) were detected");

    await expect(runPipeline(loadedSession(), { steps: ["add_section_time_analog"] })).rejects.toThrow(PipelineParamsError);
    const flat = loadedSession({ light: new Float32Array(LENGTH), frames });
    const report = await runPipeline(flat, { steps: ["add_section_time_analog"], params });
    expect(report.steps[0]).toMatchObject({ status: "bailed", message: `no rising edge of raw_ch1 reaches threshold_value=100000 after sample ${Number(frames[6199])}` });
  });
});
