import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, isTree, scalarNumber } from "../../../src/core/ndarray.ts";
import type { H5Runtime } from "../../../src/io/h5.ts";
import { nodeRuntime } from "../../../src/io/h5node.ts";
import { openSensorData } from "../../../src/io/mcs/cmcrReader.ts";
import { loadRecording } from "../../../src/io/mcs/openRecording.ts";
import { loadSession, saveSession } from "../../../src/io/sessionStore.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../../tools/recordingGenerator.ts";

let rt: H5Runtime;
let dir: string;
let gen: GeneratedRecording;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-mcs-"));
  gen = writeRecordingPair(rt, { dir, name: "2024.08.08-10.40.20-Rec", units: 6, minutes: 0.5, seed: 11, silentUnits: 1, sensorSeconds: 0.02 });
});

const arr = (node: unknown) => {
  if (!(node instanceof NDArray)) throw new Error("not an array");
  return node;
};

describe("loadRecording on a generated pair", () => {
  it("reads every unit with its position, spikes, waveform and firing rate exactly as generated", () => {
    const session = loadRecording(rt, { cmcrPath: gen.cmcrPath, cmtrPath: gen.cmtrPath });
    expect(session.datasetId).toBe("2024.08.08-10.40.20-Rec");
    expect([...session.units.keys()]).toEqual(gen.units.map((u) => `unit_${String(u.unitNum).padStart(3, "0")}`));
    const nBins = Math.ceil(gen.durationUs / 100_000);
    for (const g of gen.units) {
      const u = session.getUnit(`unit_${String(g.unitNum).padStart(3, "0")}`);
      expect(u.attrs).toEqual({ row: g.row, col: g.col, global_id: g.sensorId, unit_num: g.unitNum, original_name: `Unit_${g.unitNum}` });
      const expected = BigUint64Array.from(g.includedTimestampsUs, (t) => BigInt(Math.round((t * gen.rate) / 1e6)));
      expect(u.spikeTimes).toEqual(expected);
      expect(u.waveform).toEqual(g.waveform);
      expect(u.firingRate10hz).toHaveLength(nBins);
      expect(u.firingRate10hz!.reduce((s, v) => s + v, 0) / 10).toBe(g.includedTimestampsUs.length);
    }
    // Units differ in type: some respond to light, so their spike counts are not all alike.
    expect(new Set(gen.units.map((u) => u.responseType)).size).toBeGreaterThan(1);
  });

  it("keeps a unit without included spikes, with zero spikes and a warning", () => {
    const session = loadRecording(rt, { cmcrPath: gen.cmcrPath, cmtrPath: gen.cmtrPath });
    const silent = session.getUnit("unit_006");
    expect(silent.spikeTimes).toHaveLength(0);
    expect(Number.isNaN(silent.waveform![0])).toBe(true);
    expect(silent.firingRate10hz!.every((v) => v === 0)).toBe(true);
    expect(session.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/2024\.08\.08-10\.40\.20-Rec-\.cmtr: 1 unit\(s\) have no included spikes .*unit_006/),
    ]);
  });

  it("fills unit_meta from Unit Info, the unit attributes and all Peaks rows", () => {
    const session = loadRecording(rt, { cmtrPath: gen.cmtrPath, cmcrPath: gen.cmcrPath });
    const g = gen.units[0];
    const meta = session.getUnit("unit_001").children.unit_meta;
    if (!isTree(meta)) throw new Error("no unit_meta");
    expect(arr(meta.row).dtype).toBe("int64");
    expect(arr(meta.row).shape).toEqual([1]);
    expect(scalarNumber(meta.sensorid)).toBe(g.sensorId);
    expect(arr(meta.snr).dtype).toBe("float64");
    expect(meta.tags).toBe(g.responseType);
    expect(scalarNumber(meta.attr_unitid)).toBe(g.unitNum);
    expect(meta["attr_id.typeid"]).toBe("0e5a97df-9de0-4a22-ab8c-54845c1ff3b9");
    expect(arr(meta.peak_amplitudes).data).toHaveLength(g.includedTimestampsUs.length);
    const peaks = meta.peaks_data;
    if (!isTree(peaks)) throw new Error("no peaks_data");
    expect(Object.keys(peaks)).toHaveLength(3 + gen.cutoutLength);
    expect(arr(peaks.timestamp).dtype).toBe("int64");
    expect(arr(peaks.includepeak).data).toHaveLength(g.peakCount);
    expect(arr(peaks["cutout 0"]).dtype).toBe("float32");
    expect(arr(meta.roi_stas).dtype).toBe("float32");
    expect(arr(meta.unmixing_matrix).shape).toEqual([9, 9]);
  });

  it("reads the light reference, frame times, rate and system metadata from the .cmcr", () => {
    const session = loadRecording(rt, { cmcrPath: gen.cmcrPath, cmtrPath: gen.cmtrPath });
    const md = session.metadata;
    expect(arr(md.frame_timestamps).data).toEqual(gen.frameTimestamps);
    expect(Array.from(arr(md.frame_time).data)).toEqual(Array.from(gen.frameTimestamps, (t) => Number(t) / 20000));
    expect(scalarNumber(md.acquisition_rate)).toBe(20000);
    expect(arr(md.acquisition_rate).shape).toEqual([]);
    expect(scalarNumber(md.sample_interval)).toBe(1 / 20000);
    expect(scalarNumber(md.acquisition_rate_from_tick)).toBe(20000);
    expect(md.dataset_id).toBe("2024.08.08-10.40.20-Rec");
    if (!isTree(md.cmcr_meta) || !isTree(md.cmtr_meta)) throw new Error("no sys meta");
    expect(scalarNumber(md.cmcr_meta["LB.RecordingDuration"])).toBe(gen.durationUs);
    expect(scalarNumber(md.cmcr_meta.recording_duration_s)).toBe(30);
    expect(md.cmcr_meta.ProgramName).toBe("CMOS-MEA-Control");
    expect(md.cmtr_meta.ProgramName).toBe("CMOS-MEA-Tools");

    const light = session.stimulus.light_reference;
    if (!isTree(light)) throw new Error("no light reference");
    expect(arr(light.raw_ch1).dtype).toBe("float32");
    expect(arr(light.raw_ch1).data).toHaveLength(gen.nSamples);
    expect(arr(light.raw_ch2).data).toHaveLength(gen.nSamples);
    expect(arr(light["10hz_ch1"]).data).toHaveLength(Math.floor(gen.nSamples / 2000));
    expect(arr(light["1khz_ch2"]).data).toHaveLength(Math.floor(gen.nSamples / 20));
    // The flash movie drives the light channel to full intensity somewhere.
    expect(Math.max(...arr(light["1khz_ch1"]).data)).toBeGreaterThan(300000);
    const frames = session.stimulus.frame_times;
    if (!isTree(frames)) throw new Error("no frame_times");
    expect(arr(frames.default).data).toEqual(gen.frameTimestamps);

    expect(session.completedSteps.map((s) => s.name)).toEqual(["add_cmtr_unit_info", "add_sys_meta_info", "load_recording"]);
    expect(session.completedSteps[2].params).toMatchObject({ acquisition_rate: 20000, n_units: 6, n_frames: gen.frameTimestamps.length });
    expect(session.sourceFiles).toEqual({ cmcr: gen.cmcrPath, cmtr: gen.cmtrPath });
  });

  it("saves and loads back with the lab's dtypes", () => {
    const session = loadRecording(rt, { cmcrPath: gen.cmcrPath, cmtrPath: gen.cmtrPath }, { datasetId: "custom-id" });
    const out = join(dir, "session.h5");
    saveSession(rt, session, out);
    const back = loadSession(rt, out).session;
    expect(back.datasetId).toBe("custom-id");
    expect(back.getUnit("unit_002").spikeTimes).toEqual(session.getUnit("unit_002").spikeTimes);
    expect(arr(back.metadata.frame_timestamps).dtype).toBe("uint64");
    expect(back.hasCompleted("load_recording")).toBe(true);
  });

  it("reports progress from 0 to 1", () => {
    const seen: number[] = [];
    loadRecording(rt, { cmcrPath: gen.cmcrPath, cmtrPath: gen.cmtrPath }, { onProgress: (f) => seen.push(f) });
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(1);
    expect(seen.every((f, i) => i === 0 || f >= seen[i - 1])).toBe(true);
  });

  it("reads raw sensor frames lazily by slices", () => {
    const sensor = openSensorData(rt, gen.cmcrPath);
    try {
      expect(sensor.shape).toEqual([gen.sensorFrames, 65, 65]);
      const frames = sensor.readFrames(10, 15);
      expect(frames).toBeInstanceOf(Int16Array);
      expect(frames).toHaveLength(5 * 65 * 65);
      expect(frames.some((v) => v !== 0)).toBe(true);
      expect(sensor.readFrames(gen.sensorFrames, gen.sensorFrames + 5)).toHaveLength(0);
    } finally {
      sensor.close();
    }
  });
});

describe("lone files and mismatched pairs", () => {
  it("a lone .cmtr gives units without stimulus, and says so", () => {
    const session = loadRecording(rt, { cmtrPath: gen.cmtrPath });
    expect(session.unitCount).toBe(6);
    expect(session.stimulus).toEqual({});
    expect(session.warnings[0].message).toMatch(/-Rec-\.cmtr was opened without its \.cmcr/);
    // The .cmtr carries LB.RecordingDuration, so the firing rate still covers the whole recording.
    expect(session.getUnit("unit_001").firingRate10hz).toHaveLength(Math.ceil(gen.durationUs / 100_000));
  });

  it("a lone .cmcr gives the stimulus without units, and says so", () => {
    const session = loadRecording(rt, { cmcrPath: gen.cmcrPath });
    expect(session.unitCount).toBe(0);
    expect(isTree(session.stimulus.light_reference)).toBe(true);
    expect(session.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/-Rec\.cmcr was opened without its \.cmtr: stimulus only — no units/)]);
    expect(session.hasCompleted("add_cmtr_unit_info")).toBe(false);
  });

  it("refuses files with different names", () => {
    const other = writeRecordingPair(rt, { dir, name: "other", units: 1, minutes: 0.1, seed: 3, write: { cmtr: false } });
    expect(() => loadRecording(rt, { cmcrPath: other.cmcrPath, cmtrPath: gen.cmtrPath })).toThrow(
      /other\.cmcr and 2024\.08\.08-10\.40\.20-Rec-\.cmtr are not one recording: their names differ/,
    );
  });

  it("refuses a pair whose recording lengths differ", () => {
    const shortDir = mkdtempSync(join(tmpdir(), "hdmea-mcs-short-"));
    const short = writeRecordingPair(rt, { dir: shortDir, name: gen.name, units: 1, minutes: 0.25, seed: 5, write: { cmtr: false } });
    expect(() => loadRecording(rt, { cmcrPath: short.cmcrPath, cmtrPath: gen.cmtrPath })).toThrow(/lengths differ \(15\.000 s vs 30\.000 s\)/);
  });

  it("without a length in the .cmtr, spikes past the end of the .cmcr prove the mismatch", () => {
    const longDir = mkdtempSync(join(tmpdir(), "hdmea-mcs-long-"));
    const long = writeRecordingPair(rt, { dir: longDir, name: "rec", units: 2, minutes: 0.5, seed: 8, cmtrRecordingDuration: false, write: { cmcr: false } });
    const short = writeRecordingPair(rt, { dir: longDir, name: "rec", units: 0, minutes: 0.2, seed: 8, write: { cmtr: false } });
    expect(() => loadRecording(rt, { cmcrPath: short.cmcrPath, cmtrPath: long.cmtrPath })).toThrow(
      /rec\.cmcr and rec-\.cmtr are not one recording: the sorted spikes run to .* but the raw recording is 12\.000 s long/,
    );
  });
});
