import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, StringArray, f64, i64 } from "../../src/core/ndarray.ts";
import { PipelineSession } from "../../src/core/session.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { saveSession } from "../../src/io/sessionStore.ts";

// Debian's python3 has h5py (python3-h5py); the one first on PATH may not.
const PYTHON = "/usr/bin/python3";

function readWithH5py(file: string, names: string[]): Record<string, any> {
  const run = spawnSync(PYTHON, [join(import.meta.dirname, "read_session.py"), file, ...names], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`h5py could not read ${file}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe("session files are read by h5py in the lab's layout", () => {
  let file: string;
  beforeAll(async () => {
    const rt = await nodeRuntime();
    const s = new PipelineSession("2024.08.08-10.40.20-Rec");
    s.setSourceFiles({ cmcr: "/data/2024.08.08-10.40.20-Rec.cmcr", cmtr: "/data/2024.08.08-10.40.20-Rec-.cmtr" });
    s.addMetadata({
      dataset_id: s.datasetId,
      acquisition_rate: f64(20000),
      frame_timestamps: new NDArray(BigUint64Array.of(40000n, 40333n, 40666n)),
      section_time_playlist: "demo_set_a",
      section_time_repeats: i64(1),
    });
    s.addStimulus({
      frame_times: { default: new NDArray(BigUint64Array.of(40000n, 40333n, 40666n)) },
      section_time: { step_flash_4s_4i_2x: new NDArray(BigInt64Array.of(300333n, 680666n), [1, 2]) },
      light_reference: { raw_ch1: new NDArray(Float32Array.from({ length: 5000 }, (_, i) => i / 2)) },
    });
    s.addUnits([
      {
        id: "unit_012",
        attrs: { row: 3, col: 65, global_id: 195, unit_num: 12, original_name: "Unit_12" },
        spikeTimes: BigUint64Array.of(1n, 2n ** 40n, 2n ** 63n + 5n),
        waveform: Float32Array.of(-1.5, 2.25),
        firingRate10hz: Float32Array.of(0, 10, 20),
        children: {
          unit_meta: { snr: new NDArray(Float64Array.of(12.5), [1]), names: new StringArray(["a", "ünïcode"]) },
          spike_times_sectioned: {
            step_flash_4s_4i_2x: {
              trials_spike_times: { "0": new NDArray(BigInt64Array.of(312000n)), "1": new NDArray(BigInt64Array.of()) },
              trials_start_end: new NDArray(BigInt64Array.of(320333n, 480333n, 480333n, 640333n), [2, 2]),
              _attrs: { n_trials: i64(2), pad_margin: new NDArray(Float64Array.of(0.5, 0)) },
            },
          },
        },
      },
    ]);
    s.markStepComplete("load_recording", { spike_limit: 10000 });
    s.markStepComplete("section_spike_times", { pad_margin: [0.5, 0] });
    file = join(mkdtempSync(join(tmpdir(), "hdmea-interop-")), "session.h5");
    saveSession(rt, s, file, { write: { sliceBytes: 4096 } }); // forces the chunked, sliced path too
  });

  it("root, source files, pipeline and metadata", () => {
    const r = readWithH5py(file, ["source_files", "metadata/acquisition_rate", "metadata/frame_timestamps", "metadata/section_time_playlist"]);
    expect(r["/"].attrs.dataset_id).toBe("2024.08.08-10.40.20-Rec");
    expect(r["/"].attrs.hdmea_version).toBe("0.1.0");
    expect(r["/"].attrs.hdmea_web_format_version).toBe(1);
    expect(r.source_files.attrs).toEqual({
      cmcr_path: "/data/2024.08.08-10.40.20-Rec.cmcr",
      cmtr_path: "/data/2024.08.08-10.40.20-Rec-.cmtr",
    });
    expect(r.acquisition_rate_as_float).toBe(20000);
    expect(r["metadata/acquisition_rate"]).toMatchObject({ dtype: "<f8", shape: [] });
    expect(r["metadata/frame_timestamps"]).toEqual({ kind: "dataset", dtype: "<u8", shape: [3], value: [40000, 40333, 40666] });
    expect(r["metadata/section_time_playlist"].value).toBe("demo_set_a");
    expect(r.completed_steps).toEqual(["load_recording", "section_spike_times"]);
  });

  it("stimulus arrays keep dtype, shape and values (including the sliced path)", () => {
    const r = readWithH5py(file, ["stimulus/frame_times/default", "stimulus/section_time/step_flash_4s_4i_2x", "stimulus/light_reference/raw_ch1"]);
    expect(r["stimulus/frame_times/default"].dtype).toBe("<u8");
    expect(r["stimulus/section_time/step_flash_4s_4i_2x"]).toEqual({ kind: "dataset", dtype: "<i8", shape: [1, 2], value: [[300333, 680666]] });
    const raw = r["stimulus/light_reference/raw_ch1"];
    expect(raw.dtype).toBe("<f4");
    expect(raw.value).toHaveLength(5000);
    expect(raw.value[4999]).toBe(2499.5);
  });

  it("units: attributes, uint64 spike times, sectioned trials, unit_meta", () => {
    const names = [
      "units/unit_012",
      "units/unit_012/spike_times",
      "units/unit_012/waveform",
      "units/unit_012/unit_meta/snr",
      "units/unit_012/unit_meta/names",
      "units/unit_012/spike_times_sectioned/step_flash_4s_4i_2x/trials_spike_times/0",
      "units/unit_012/spike_times_sectioned/step_flash_4s_4i_2x/trials_start_end",
      "units/unit_012/spike_times_sectioned/step_flash_4s_4i_2x/_attrs/n_trials",
      "exact:units/unit_012/spike_times",
    ];
    const r = readWithH5py(file, names);
    expect(r.unit_names).toEqual(["unit_012"]);
    expect(r["units/unit_012"].attrs).toEqual({ row: 3, col: 65, global_id: 195, unit_num: 12, original_name: "Unit_12" });
    expect(r["units/unit_012/spike_times"].dtype).toBe("<u8");
    expect(r["exact:units/unit_012/spike_times"]).toEqual(["1", String(2n ** 40n), String(2n ** 63n + 5n)]);
    expect(r["units/unit_012/waveform"]).toEqual({ kind: "dataset", dtype: "<f4", shape: [2], value: [-1.5, 2.25] });
    expect(r["units/unit_012/unit_meta/snr"]).toEqual({ kind: "dataset", dtype: "<f8", shape: [1], value: [12.5] });
    expect(r["units/unit_012/unit_meta/names"].value).toEqual(["a", "ünïcode"]);
    expect(r["units/unit_012/spike_times_sectioned/step_flash_4s_4i_2x/trials_spike_times/0"].value).toEqual([312000]);
    expect(r["units/unit_012/spike_times_sectioned/step_flash_4s_4i_2x/trials_start_end"]).toMatchObject({
      dtype: "<i8",
      shape: [2, 2],
      value: [[320333, 480333], [480333, 640333]],
    });
    expect(r["units/unit_012/spike_times_sectioned/step_flash_4s_4i_2x/_attrs/n_trials"]).toMatchObject({ shape: [], value: 2 });
  });
});
