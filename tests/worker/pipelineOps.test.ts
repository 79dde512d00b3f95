import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PipelineSession } from "../../src/core/session.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { loadRecording } from "../../src/io/mcs/openRecording.ts";
import { openSensorInput } from "../../src/io/mcs/sensorInput.ts";
import type { NDArray } from "../../src/core/ndarray.ts";
import { pipelineOperations, type StepInputFiles } from "../../src/worker/pipelineOps.ts";
import { writeRecordingPair } from "../../tools/recordingGenerator.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";

const STIMULUS = join(import.meta.dirname, "../../tools/stimulus");
const asFile = (path: string) => new File([readFileSync(path)], path.split("/").pop()!);

function inputFiles(): StepInputFiles {
  return {
    playlist: asFile(join(STIMULUS, "playlist.example.csv")),
    movieLength: asFile(join(STIMULUS, "movie_length.example.csv")),
    stimulusConfigs: readdirSync(join(STIMULUS, "stimuli")).map((name) => asFile(join(STIMULUS, "stimuli", name))),
  };
}

describe("pipeline operations in the worker", () => {
  let fresh: () => PipelineSession;
  beforeAll(async () => {
    const rt = await nodeRuntime();
    const dir = mkdtempSync(join(tmpdir(), "hdmea-ops-"));
    // demo_set_a needs about 100 s of frames.
    const rec = writeRecordingPair(rt, { dir, name: "ops", units: 4, minutes: 1.8, seed: 3 });
    fresh = () => loadRecording(rt, { cmcrPath: rec.cmcrPath, cmtrPath: rec.cmtrPath });
  });

  it("lists the steps in run order with their defaults", async () => {
    const ops = pipelineOperations(() => fresh(), async () => undefined);
    const steps = await ops.pipelineSteps();
    const names = steps.map((s) => s.name);
    expect(names.indexOf("add_section_time")).toBeLessThan(names.indexOf("section_spike_times"));
    const sectionTime = steps.find((s) => s.name === "add_section_time")!;
    expect(sectionTime.defaults).toMatchObject({ pad_frame: 180, pre_margin_frame_num: 60, post_margin_frame_num: 120 });
    expect(sectionTime.inAll).toBe(true);
  });

  it("reads the playlist names a table offers, and names the file when it is malformed", async () => {
    const ops = pipelineOperations(() => fresh(), async () => undefined);
    expect(await ops.playlistNames(inputFiles().playlist!)).toEqual(["demo_set_a", "demo_single_flash"]);
    const bad = new File(["name,movies\nx,y\n"], "bad.csv");
    await expect(ops.playlistNames(bad)).rejects.toThrow(/bad\.csv/);
  });

  it("runs steps from input files with progress, and checkpoints after each completed step", async () => {
    const session = fresh();
    const checkpoints: string[] = [];
    const ops = pipelineOperations(() => session, async () => void checkpoints.push(session.completedSteps.at(-1)!.name));
    const fractions: number[] = [];
    const result = await ops.runSteps(
      "s1",
      {
        steps: ["add_section_time", "section_spike_times", "extract_features"],
        params: { add_section_time: { playlist_name: "demo_set_a" } },
        inputs: inputFiles(),
        checkpointEachStep: true,
      },
      (p) => fractions.push(p.fraction),
    );
    expect(result.cancelled).toBe(false);
    expect(result.report.steps.map((s) => [s.name, s.status])).toEqual([
      ["add_section_time", "completed"],
      ["section_spike_times", "completed"],
      ["extract_features", "completed"],
    ]);
    expect(checkpoints).toEqual(["add_section_time", "section_spike_times", "extract_features"]);
    expect(fractions.length).toBeGreaterThan(3);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(Object.keys(session.stimulus.section_time as object)).toEqual([
      "gray_baseline_60",
      "step_flash_4s_4i_2x",
      "checker_noise_10x10_20hz_s7_1min",
    ]);
    expect(result.summary.completedSteps.map((s) => s.name)).toContain("section_spike_times");
  });

  it("gives the eimage STA the recording's sensor frames, and closes them after the run", async () => {
    const rt = await nodeRuntime();
    const dir = mkdtempSync(join(tmpdir(), "hdmea-ops-eimage-"));
    const rec = writeRecordingPair(rt, { dir, name: "raw", units: 2, minutes: 1 / 60, seed: 9, sensorSeconds: 0.25 });
    const session = loadRecording(rt, { cmcrPath: rec.cmcrPath, cmtrPath: rec.cmtrPath });
    let closed = 0;
    const ops = pipelineOperations(
      () => session,
      async () => undefined,
      async () => {
        const input = openSensorInput(rt, rec.cmcrPath);
        return { ...input, close: () => (closed++, input.close()) };
      },
    );
    const result = await ops.runSteps("s1", { steps: ["load_recording_with_eimage_sta"], params: { load_recording_with_eimage_sta: { duration_s: 0.25, chunk_duration_s: 0.1 } } });
    expect(result.report.steps[0].status).toBe("completed");
    const feature = (session.getUnit("unit_001").children.features as Record<string, Record<string, NDArray>>).eimage_sta;
    expect(feature.data.shape).toEqual([50, 65, 65]);
    expect(closed).toBe(1);
  });

  it("cancelling leaves the session exactly as it was", async () => {
    const session = fresh();
    const before = fresh();
    const ops = pipelineOperations(() => session, async () => undefined);
    const run = ops.runSteps("s1", {
      steps: ["add_section_time", "section_spike_times"],
      params: { add_section_time: { playlist_name: "demo_set_a" } },
      inputs: inputFiles(),
    });
    await ops.cancelSteps("s1");
    const result = await run;
    expect(result.cancelled).toBe(true);
    // Two loads differ only in their timestamps; everything the steps would touch must be identical.
    expect(sessionDiff(before, session).filter((d) => d !== "createdAt" && d !== "completedSteps")).toEqual([]);
    expect(session.completedSteps.map((s) => s.name)).toEqual(before.completedSteps.map((s) => s.name));
    await expect(ops.runSteps("s1", { steps: ["nonsense_step"] })).rejects.toThrow(/nonsense_step/);
  });
});
