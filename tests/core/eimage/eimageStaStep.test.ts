import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { NDArray, isTree, scalarNumber, type Tree } from "../../../src/core/ndarray.ts";
import { PIPELINE_STEPS, PipelineCancelledError, runPipeline } from "../../../src/core/pipeline.ts";
import type { PipelineSession } from "../../../src/core/session.ts";
import { EIMAGE_STA_DEFAULTS } from "../../../src/core/steps/eimageSta.ts";
import type { H5Runtime } from "../../../src/io/h5.ts";
import { nodeRuntime } from "../../../src/io/h5node.ts";
import { loadRecording } from "../../../src/io/mcs/openRecording.ts";
import { openSensorInput } from "../../../src/io/mcs/sensorInput.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../../tools/recordingGenerator.ts";

let rt: H5Runtime;
let gen: GeneratedRecording;

beforeAll(async () => {
  rt = await nodeRuntime();
  const dir = mkdtempSync(join(tmpdir(), "hdmea-eimage-"));
  // 0.6 s of 65 × 65 frames (writing them dominates the test's time); the last unit has only
  // IncludePeak = 0 rows: no footprint in the frames, but the eimage STA uses its peaks anyway.
  gen = writeRecordingPair(rt, { dir, name: "2024.08.08-10.40.20-Rec", units: 4, minutes: 0.05, seed: 5, sensorSeconds: 0.6, silentUnits: 1, rateScale: 4 });
}, 120_000);

const feature = (session: PipelineSession, unitId: string) => {
  const f = session.getUnit(unitId).children.features;
  if (!isTree(f) || !isTree(f.eimage_sta)) throw new Error(`${unitId} has no eimage_sta`);
  return f.eimage_sta as { data: NDArray; metadata: Tree };
};

describe("load_recording_with_eimage_sta step", () => {
  it("is registered first, under the lab's name, with the lab's defaults", () => {
    const step = PIPELINE_STEPS[0];
    expect(step.name).toBe("load_recording_with_eimage_sta");
    expect(step.defaults).toEqual({
      duration_s: 120,
      spike_limit: 10000,
      window_range: [-10, 40],
      cutoff_hz: 100,
      filter_order: 2,
      skip_highpass: false,
      chunk_duration_s: 10,
    });
    expect(step.defaults).toBe(EIMAGE_STA_DEFAULTS);
    expect(step.validate!({ ...EIMAGE_STA_DEFAULTS, window_range: [5, 40], spike_limit: -1 })).toHaveLength(2);
  });

  it("without sensor data gives up with a clear warning and leaves the session as it was", async () => {
    const session = loadRecording(rt, { cmcrPath: gen.cmcrPath, cmtrPath: gen.cmtrPath });
    const before = session.warnings.length;
    const report = await runPipeline(session, { steps: ["load_recording_with_eimage_sta"] });
    expect(report.steps[0].status).toBe("bailed");
    expect(session.warnings.slice(before).map((w) => w.message)).toEqual([expect.stringMatching(/load_recording_with_eimage_sta: skipped: no raw sensor data .*SensorData 1 1/)]);
    expect(session.hasCompleted("load_recording_with_eimage_sta")).toBe(false);
    expect(session.getUnit("unit_001").children.features).toBeUndefined();
  });

  it("on a generated pair, puts each unit's spike footprint at its electrode, reading bounded ranges", async () => {
    const session = loadRecording(rt, { cmcrPath: gen.cmcrPath, cmtrPath: gen.cmtrPath });
    const sensor = openSensorInput(rt, gen.cmcrPath);
    const reads: number[] = [];
    const sensorData = { ...sensor, readFrames: (a: number, b: number) => (reads.push(b - a), sensor.readFrames(a, b)) };
    let report;
    try {
      report = await runPipeline(session, { steps: ["load_recording_with_eimage_sta"], inputs: { sensorData }, params: { load_recording_with_eimage_sta: { chunk_duration_s: 0.3 } } });
    } finally {
      sensor.close();
    }
    expect(report.steps[0].status).toBe("completed");
    expect(session.hasCompleted("load_recording_with_eimage_sta")).toBe(true);
    // The recording is 3 s but only 0.6 s of frames exist: all of them are used, with a warning.
    expect(session.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/holds 0\.60 s of frames, less than duration_s = 120 s/));
    expect(Math.max(...reads)).toBeLessThanOrEqual(1000);

    const frames = gen.sensorFrames;
    for (const g of gen.units) {
      const id = `unit_${String(g.unitNum).padStart(3, "0")}`;
      const { data, metadata } = feature(session, id);
      expect(data.dtype).toBe("float64");
      expect(data.shape).toEqual([50, 65, 65]);
      const used = scalarNumber(metadata.n_spikes_used)!;
      const excluded = scalarNumber(metadata.n_spikes_excluded)!;
      // Every Peaks row within the frames counts toward the divisor (IncludePeak ignored).
      const peaks = ((session.getUnit(id).children.unit_meta as Tree).peaks_data as Tree).timestamp as NDArray;
      const within = Array.from(peaks.data as ArrayLike<number | bigint>, Number).filter((t) => Math.trunc((t / 1e6) * gen.rate) < frames);
      expect(used + excluded).toBe(within.length);
      expect(used).toBeGreaterThan(0);
      if (g.includedTimestampsUs.length === 0) continue; // the silent unit left no footprint to find
      // The deepest point of the STA is the unit's own electrode, at the spike sample (index 10) or
      // the one after (µs → samples truncates, and t / 1e6 · 20 kHz can land just below a whole number).
      let min = 0;
      let at = -1;
      data.data.forEach((v, i) => {
        if ((v as number) < min) [min, at] = [v as number, i];
      });
      const electrode = at % 4225;
      expect([Math.floor(electrode / 65) + 1, (electrode % 65) + 1]).toEqual([g.row, g.col]);
      expect([10, 11]).toContain(Math.floor(at / 4225));
      expect(min).toBeLessThan(-20);
    }
    const { metadata } = feature(session, "unit_001");
    expect(Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, (v as NDArray).dtype]))).toEqual({
      n_spikes_used: "int64",
      n_spikes_excluded: "int64",
      cutoff_hz: "float64",
      filter_order: "int64",
      pre_samples: "int64",
      post_samples: "int64",
      spike_limit: "int64",
      duration_s: "float64",
      skip_highpass: "int8",
      sampling_rate: "float64",
      window_range: "int64",
    });
    expect(Array.from((metadata.window_range as NDArray).data as BigInt64Array, Number)).toEqual([-10, 40]);
    expect([scalarNumber(metadata.pre_samples), scalarNumber(metadata.post_samples), scalarNumber(metadata.sampling_rate)]).toEqual([10, 40, gen.rate]);
  }, 120_000);

  it("is cancellable between blocks and then leaves no trace", async () => {
    const session = loadRecording(rt, { cmcrPath: gen.cmcrPath, cmtrPath: gen.cmtrPath });
    const sensor = openSensorInput(rt, gen.cmcrPath);
    const controller = new AbortController();
    try {
      const run = runPipeline(session, {
        steps: ["load_recording_with_eimage_sta"],
        inputs: { sensorData: sensor },
        signal: controller.signal,
        onProgress: (p) => {
          if (p.stepFraction > 0) controller.abort();
        },
      });
      await expect(run).rejects.toBeInstanceOf(PipelineCancelledError);
    } finally {
      sensor.close();
    }
    expect(session.hasCompleted("load_recording_with_eimage_sta")).toBe(false);
    expect(session.getUnit("unit_001").children.features).toBeUndefined();
  }, 120_000);
});
