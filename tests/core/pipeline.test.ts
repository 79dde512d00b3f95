import { describe, expect, it } from "vitest";
import { NDArray } from "../../src/core/ndarray.ts";
import {
  ALL_STEPS,
  PIPELINE_STEPS,
  PipelineCancelledError,
  PipelineParamsError,
  PipelineStepError,
  runPipeline,
  type PipelineProgress,
  type RunPipelineOptions,
} from "../../src/core/pipeline.ts";
import type { PipelineStep } from "../../src/core/steps/stepContract.ts";
import { exampleInputs, expected, loadedSession as exampleSession, makeUnit, readFixture, snapshot } from "./fixtures/exampleSession.ts";

const NOISE = "checker_noise_10x10_20hz_s7_1min";
const noiseMovie = () => new NDArray(new Uint8Array(3600 * 4).map((_, i) => i % 7), [3600, 2, 2]);

function options(extra: Partial<RunPipelineOptions> = {}): RunPipelineOptions {
  const { params, ...rest } = extra;
  return {
    steps: "all",
    // frif only: these tests are about the runner, not about which features the registry holds.
    params: { add_section_time: { playlist_name: "demo_set_a" }, extract_features: { features: ["frif"] }, ...params },
    inputs: exampleInputs({ stimulusMovies: { [NOISE]: noiseMovie() } }),
    ...rest,
  };
}

/** Two units with spikes in every movie of demo_set_a (the noise content is samples 760 666–1 960 666). */
const loadedSession = () =>
  exampleSession({ units: [makeUnit(1, [...expected.sectioning_example.spike_times_samples, 1_000_000, 1_500_000]), makeUnit(2, [150_000, 1_200_000, 1_600_000])] });

const statuses = (r: { steps: { name: string; status: string }[] }) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));

describe("runPipeline", () => {
  it("lists every step with its defaults and runs the lab's order, reporting monotonic progress", async () => {
    expect(PIPELINE_STEPS.map((s) => s.name)).toEqual([
      "load_recording_with_eimage_sta",
      "add_section_time",
      "add_section_time_analog",
      "section_spike_times",
      "section_spike_times_analog",
      "compute_sta",
      "extract_features",
    ]);
    expect(PIPELINE_STEPS.find((s) => s.name === "section_spike_times")!.defaults).toEqual({ pad_margin: [0, 0], movie_names: null });
    const session = loadedSession();
    const progress: PipelineProgress[] = [];
    const checkpoints: string[] = [];
    const report = await runPipeline(
      session,
      options({ onProgress: (p) => progress.push(p), onStepDone: (r, s) => void checkpoints.push(`${r.name}:${r.status}:${s.completedSteps.length}`) }),
    );
    expect(statuses(report)).toEqual(Object.fromEntries(ALL_STEPS.map((s) => [s, "completed"])));
    expect(session.completedSteps.map((s) => s.name)).toEqual(["load_recording", ...ALL_STEPS]);
    const fractions = progress.map((p) => p.fraction);
    expect(fractions.every((f, i) => i === 0 || f >= fractions[i - 1])).toBe(true);
    expect(fractions.at(-1)).toBe(1);
    expect(new Set(progress.map((p) => p.step))).toEqual(new Set(ALL_STEPS));
    expect(checkpoints).toEqual(ALL_STEPS.map((s) => `${s}:completed:${session.completedSteps.length - ALL_STEPS.length + ALL_STEPS.indexOf(s) + 1}`));
    expect(session.warnings).toEqual([]);
  });

  it("skips completed steps with the same parameters, leaving the session unchanged", async () => {
    const session = loadedSession();
    await runPipeline(session, options());
    const before = snapshot(session);
    const report = await runPipeline(session, options());
    expect(statuses(report)).toEqual(Object.fromEntries(ALL_STEPS.map((s) => [s, "skipped"])));
    expect(snapshot(session)).toEqual(before);
  });

  it("re-runs a step whose parameters changed and the steps that depend on it, saying why", async () => {
    const session = loadedSession();
    await runPipeline(session, options());
    const report = await runPipeline(session, options({ params: { section_spike_times: { pad_margin: [0.5, 0] } } }));
    // Features read the trials and the STA (step responses, RF geometry), so they follow them.
    expect(statuses(report)).toEqual({ add_section_time: "skipped", section_spike_times: "completed", compute_sta: "completed", extract_features: "completed" });
    expect(session.warnings.map((w) => w.message)).toEqual([
      "section_spike_times re-run: its parameters changed since it last ran (pad_margin: [0,0] → [0.5,0])",
      "compute_sta re-run: section_spike_times was re-run, so its results are stale",
      "extract_features re-run: compute_sta was re-run, so its results are stale",
    ]);
    expect(session.completedSteps.find((s) => s.name === "section_spike_times")!.params.pad_margin).toEqual([0.5, 0]);
  });

  it("re-runs a step whose input files changed", async () => {
    const session = loadedSession();
    await runPipeline(session, options());
    const lengths = readFixture("movie_length.example.csv").replace("300", "301");
    const inputs = { ...options().inputs!, movieLengthCsv: { name: "movie_length.csv", text: lengths } };
    const report = await runPipeline(session, options({ inputs }));
    expect(statuses(report)).toMatchObject({ add_section_time: "completed", section_spike_times: "completed", compute_sta: "completed" });
    expect(session.warnings[0].message).toBe("add_section_time re-run: its parameters changed since it last ran (input files changed)");
  });

  it("marks dependents that were not requested as stale when an upstream step re-runs", async () => {
    const session = loadedSession();
    await runPipeline(session, options());
    await runPipeline(session, { ...options(), steps: ["add_section_time"], params: { add_section_time: { playlist_name: "demo_set_a", pad_frame: 150 } } });
    expect(session.hasCompleted("section_spike_times")).toBe(false);
    expect(session.hasCompleted("compute_sta")).toBe(false);
    expect(session.hasCompleted("extract_features")).toBe(false);
    expect(session.hasCompleted("load_recording")).toBe(true);
    expect(session.warnings.map((w) => w.message)).toEqual([
      "add_section_time re-run: its parameters changed since it last ran (pad_frame: 180 → 150)",
      "section_spike_times results are stale: add_section_time ran again after them; run section_spike_times again",
      "extract_features results are stale: add_section_time ran again after them; run extract_features again",
      "compute_sta results are stale: add_section_time ran again after them; run compute_sta again",
    ]);
  });

  it("trusts step records without parameters (files written by the lab) and re-runs forced steps", async () => {
    const session = loadedSession();
    await runPipeline(session, options());
    session.completedSteps = session.completedSteps.map((s) => ({ ...s, params: {} }));
    expect(statuses(await runPipeline(session, options()))).toEqual(Object.fromEntries(ALL_STEPS.map((s) => [s, "skipped"])));
    const forced = await runPipeline(session, options({ force: ["compute_sta"] }));
    expect(statuses(forced)).toMatchObject({ compute_sta: "completed", section_spike_times: "skipped" });
  });

  it("warns about a missing prerequisite and leaves the session otherwise unchanged", async () => {
    const session = loadedSession();
    const before = snapshot(session) as { warnings: unknown[] };
    const report = await runPipeline(session, options({ steps: ["section_spike_times", "compute_sta"] }));
    expect(statuses(report)).toEqual({ section_spike_times: "missing_prerequisite", compute_sta: "missing_prerequisite" });
    expect(session.warnings.map((w) => w.message)).toEqual([
      "section_spike_times not run: needs add_section_time first",
      "compute_sta not run: needs section_spike_times first",
    ]);
    expect({ ...(snapshot(session) as object), warnings: [] }).toEqual(before);
  });

  it("leaves the session exactly as before a step cancelled half-way", async () => {
    const session = loadedSession();
    await runPipeline(session, options({ steps: ["add_section_time"] }));
    const before = snapshot(session);
    const controller = new AbortController();
    const seen: PipelineProgress[] = [];
    const run = runPipeline(
      session,
      options({
        steps: ["section_spike_times", "compute_sta"],
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p);
          if (p.step === "section_spike_times" && p.stepFraction >= 0.5) controller.abort();
        },
      }),
    );
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineCancelledError);
    expect((error as PipelineCancelledError).step).toBe("section_spike_times");
    expect((error as Error).name).toBe("AbortError");
    expect(seen.some((p) => p.step === "compute_sta")).toBe(false);
    expect(snapshot(session)).toEqual(before);

    // already aborted: nothing runs
    await expect(runPipeline(session, options({ signal: AbortSignal.abort() }))).rejects.toThrow(PipelineCancelledError);
    expect(snapshot(session)).toEqual(before);
  });

  it("leaves the session unchanged when a step fails, and reports the steps before it", async () => {
    const failing: PipelineStep = {
      name: "compute_sta",
      description: "fails",
      defaults: {},
      prerequisites: [],
      dependsOn: [],
      run: async () => {
        throw new Error("disk on fire");
      },
    };
    const definitions = PIPELINE_STEPS.map((s) => (s.name === "compute_sta" ? failing : s));
    const session = loadedSession();
    await runPipeline(session, options({ steps: ["add_section_time", "section_spike_times"] }));
    const before = snapshot(session);
    const error = await runPipeline(session, options({ definitions })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineStepError);
    expect((error as Error).message).toBe("compute_sta: disk on fire");
    expect((error as PipelineStepError).report.steps.map((s) => s.status)).toEqual(["skipped", "skipped"]);
    expect(snapshot(session)).toEqual(before);
  });

  it("refuses unknown steps, unknown parameters and invalid values before running anything", async () => {
    const session = loadedSession();
    const before = snapshot(session);
    await expect(runPipeline(session, options({ steps: ["add_sections"] }))).rejects.toThrow(/unknown step "add_sections"/);
    await expect(runPipeline(session, options({ params: { add_section_time: { playlist_name: "demo_set_a", repeat: 2 } as never } }))).rejects.toThrow(
      new PipelineParamsError('add_section_time: unknown parameter "repeat" (it takes playlist_name, repeats, pad_frame, pre_margin_frame_num, post_margin_frame_num)'),
    );
    await expect(runPipeline(session, options({ params: { add_section_time: { playlist_name: "demo_set_a" }, section_spike_times: { pad_margin: [-1, 0] } } }))).rejects.toThrow(
      /section_spike_times: pad_margin must be two numbers of seconds ≥ 0/,
    );
    await expect(runPipeline(session, { steps: ["add_section_time"] })).rejects.toThrow(/playlist_name is required/);
    expect(snapshot(session)).toEqual(before);
  });
});
