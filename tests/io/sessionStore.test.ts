import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, f64 } from "../../src/core/ndarray.ts";
import { PipelineSession } from "../../src/core/session.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { readSessionFile } from "../../src/io/sessionFile.ts";
import {
  FileExistsError,
  checkpointSession,
  ensureSaved,
  loadSession,
  saveSession,
  startImmediateMode,
} from "../../src/io/sessionStore.ts";
import { fakeClock, randomSession, randomUnit, seededRandom } from "../fixtures/randomSession.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";

let rt: H5Runtime;
let dir: string;
beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-store-"));
});
const path = (name: string) => join(dir, name);

describe("save", () => {
  it("writes the whole session and marks it SAVED at that path", () => {
    const s = randomSession({ units: 5, maxSpikes: 100, seed: 1 });
    expect(s.isDeferred).toBe(true);
    const target = path("save.h5");
    expect(saveSession(rt, s, target)).toBe(target);
    expect(s.saveState).toBe("SAVED");
    expect(s.hdf5Path).toBe(target);
    expect(s.savedAt).toBeDefined();
    expect(s.hasUnsavedChanges).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes("partial"))).toEqual([]);
  });

  it("refuses to overwrite by default and leaves file and session untouched", () => {
    const target = path("exists.h5");
    writeFileSync(target, "old contents");
    const s = randomSession({ units: 2, maxSpikes: 10, seed: 2 });
    expect(() => saveSession(rt, s, target)).toThrow(FileExistsError);
    expect(() => saveSession(rt, s, target)).toThrow(/exists.h5 already exists/);
    expect(readFileSync(target, "utf8")).toBe("old contents");
    expect(s.isDeferred).toBe(true);
    expect(s.warnings).toHaveLength(0);
  });

  it("overwrites with overwrite: true and records a warning", () => {
    const target = path("over.h5");
    writeFileSync(target, "old");
    const s = randomSession({ units: 2, maxSpikes: 10, seed: 3 });
    saveSession(rt, s, target, { overwrite: true });
    expect(s.warnings.map((w) => w.message)).toEqual([`overwriting over.h5 with session ${s.datasetId}`]);
    expect(readSessionFile(rt, target).session.unitCount).toBe(2);
  });

  it("a save that fails midway keeps the previous file, the session and its state", () => {
    const target = path("fail.h5");
    const good = randomSession({ units: 3, maxSpikes: 50, seed: 4 });
    saveSession(rt, good, target);
    const before = readFileSync(target);

    const s = randomSession({ units: 3, maxSpikes: 50, seed: 5 });
    // A value the writer cannot store, reached after units were already written: a real mid-write failure.
    s.addFeature("unit_003", "broken", new NDArray(new Uint8ClampedArray(4) as never));
    const unsaved = s.memoryEstimateBytes();
    expect(() => saveSession(rt, s, target, { overwrite: true })).toThrow(/unsupported typed array/);
    expect(readFileSync(target).equals(before)).toBe(true);
    expect(s.isDeferred).toBe(true);
    expect(s.hdf5Path).toBeUndefined();
    expect(s.memoryEstimateBytes()).toBe(unsaved);
    expect(readdirSync(dir).filter((f) => f.includes("partial"))).toEqual([]);
  });
});

describe("checkpoint", () => {
  it("writes a full copy and keeps the session DEFERRED", () => {
    const s = randomSession({ units: 4, maxSpikes: 100, seed: 6 });
    const target = path("ckpt.h5");
    checkpointSession(rt, s, target, { checkpointName: "after-load" });
    expect(s.isDeferred).toBe(true);
    expect(s.hdf5Path).toBeUndefined();
    expect(s.hasUnsavedChanges).toBe(true);
    const back = readSessionFile(rt, target);
    expect(back.checkpointName).toBe("after-load");
    expect(sessionDiff(s, back.session)).toEqual([]);
  });

  it("overwrites an existing checkpoint with a warning by default", () => {
    const s = randomSession({ units: 1, maxSpikes: 10, seed: 7 });
    const target = path("ckpt2.h5");
    checkpointSession(rt, s, target);
    checkpointSession(rt, s, target);
    expect(s.warnings.map((w) => w.message)).toEqual(["overwriting checkpoint ckpt2.h5"]);
  });

  it("with overwrite: false on an existing target fails clearly and writes nothing", () => {
    const s = randomSession({ units: 1, maxSpikes: 10, seed: 8 });
    const target = path("ckpt3.h5");
    writeFileSync(target, "keep me");
    expect(() => checkpointSession(rt, s, target, { overwrite: false })).toThrow(
      "checkpoint ckpt3.h5 already exists and overwrite is off; nothing was written",
    );
    expect(readFileSync(target, "utf8")).toBe("keep me");
  });

  it("after an earlier save, records its own time, not the save's", () => {
    const s = randomSession({ units: 1, maxSpikes: 10, seed: 9, now: fakeClock() });
    saveSession(rt, s, path("first.h5"));
    const savedAt = s.savedAt;
    checkpointSession(rt, s, path("later-ckpt.h5"));
    const back = readSessionFile(rt, path("later-ckpt.h5"));
    expect(back.savedAt).not.toBe(savedAt);
    expect(s.hdf5Path).toBe(path("first.h5"));
  });
});

describe("load", () => {
  it("round-trips 1,000 units of random spike trains: every field, dtype and attribute", () => {
    const s = randomSession({ units: 1000, maxSpikes: 2000, seed: 10 });
    s.addFeature("unit_010", "eimage_sta", { data: new NDArray(new Float64Array(50 * 65 * 65).fill(Number.NaN), [50, 65, 65]) });
    s.warn("a warning to keep");
    const target = path("thousand.h5");
    checkpointSession(rt, s, target);
    const back = loadSession(rt, target).session;
    expect(sessionDiff(s, back)).toEqual([]);
    expect(back.unitCount).toBe(1000);
    expect(back.getUnit("unit_500").spikeTimes).toBeInstanceOf(BigUint64Array);
    const sectioned = back.getUnit("unit_001").children.spike_times_sectioned as never as Record<string, Record<string, NDArray>>;
    expect(sectioned.step_flash_4s_4i_2x.trials_start_end.dtype).toBe("int64");
    expect(sectioned.step_flash_4s_4i_2x.trials_start_end.shape).toEqual([2, 2]);
  });

  it("resumes with completed steps, SAVED at the loaded file", () => {
    const s = randomSession({ units: 2, maxSpikes: 10, seed: 11 });
    s.markStepComplete("add_section_time", { playlist_name: "demo_set_a", repeats: 1 });
    const target = path("resume.h5");
    checkpointSession(rt, s, target);
    const back = loadSession(rt, target).session;
    expect(back.isSaved).toBe(true);
    expect(back.hdf5Path).toBe(target);
    expect(back.hasUnsavedChanges).toBe(false);
    expect(back.hasCompleted("load_recording")).toBe(true);
    expect(back.completedSteps.at(-1)).toEqual(s.completedSteps.at(-1));
  });

  it("writes large arrays in bounded slices and reads them back exactly", () => {
    const s = new PipelineSession("sliced");
    const n = 300_000;
    const trace = Float32Array.from({ length: n }, (_, i) => Math.sin(i / 100));
    const stack = Float64Array.from({ length: 20 * 65 * 65 }, (_, i) => i);
    s.addStimulus({ light_reference: { raw_ch1: new NDArray(trace) }, stack: new NDArray(stack, [20, 65, 65]) });
    const target = path("sliced.h5");
    saveSession(rt, s, target, { write: { sliceBytes: 64 * 1024 } });
    const back = readSessionFile(rt, target).session;
    expect(sessionDiff(s, back)).toEqual([]);
  });

  it("gives a clear error for missing, empty and non-HDF5 files and for HDF5 files that are not sessions", () => {
    expect(() => loadSession(rt, path("nope.h5"))).toThrow("nope.h5: file not found");
    writeFileSync(path("empty.h5"), "");
    expect(() => loadSession(rt, path("empty.h5"))).toThrow("empty.h5: the file is empty (0 bytes)");
    writeFileSync(path("text.h5"), "just some text, not hdf5 at all");
    expect(() => loadSession(rt, path("text.h5"))).toThrow("text.h5: not an HDF5 file (no HDF5 signature)");
    const other = join(import.meta.dirname, "../fixtures/mcs/2014-07-09T10-17-35W8 Standard all 500 Hz.h5");
    expect(() => loadSession(rt, other)).toThrow(/not a session file \(no \/@dataset_id attribute\)/);
  });

  it("reports a truncated file as damaged", () => {
    const s = randomSession({ units: 20, maxSpikes: 500, seed: 12 });
    saveSession(rt, s, path("whole.h5"));
    const bytes = readFileSync(path("whole.h5"));
    writeFileSync(path("truncated.h5"), bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(() => loadSession(rt, path("truncated.h5"))).toThrow(/truncated\.h5: /);
  });
});

describe("ensureSaved (mixing deferred and file-based calls)", () => {
  it("auto-saves a deferred session with a warning and continues SAVED", () => {
    const s = randomSession({ units: 1, maxSpikes: 10, seed: 13 });
    const target = path("auto.h5");
    expect(ensureSaved(rt, s, target)).toBe(target);
    expect(s.isSaved).toBe(true);
    expect(s.warnings.at(-1)?.message).toBe(`Auto-saving deferred session to ${target} to satisfy HDF5-path requirement`);
    const count = s.warnings.length;
    expect(ensureSaved(rt, s, path("other.h5"))).toBe(target);
    expect(s.warnings).toHaveLength(count);
  });
});

describe("immediate mode", () => {
  it("writes every change through, and ends with the same content as a deferred save", () => {
    const build = (s: PipelineSession, each: () => void) => {
      const rand = seededRandom(99);
      s.addMetadata({ acquisition_rate: f64(20000) });
      each();
      s.addUnits([randomUnit(1, rand, 100), randomUnit(2, rand, 100)]);
      each();
      s.addFeature("unit_002", "frif", { FRIF: new NDArray(Float32Array.of(1, 2, 3)) });
      each();
      s.markStepComplete("extract_features", { features: ["frif"] });
    };
    // One fixed time: immediate mode reads the clock on every write, deferred mode only once.
    const now = () => new Date(Date.UTC(2026, 1, 2));
    const immediate = new PipelineSession("same", { now });
    const file = path("immediate.h5");
    const stop = startImmediateMode(rt, immediate, file);
    const unitsOnDisk: number[] = [];
    build(immediate, () => unitsOnDisk.push(readSessionFile(rt, file).session.unitCount));
    stop();
    expect(unitsOnDisk).toEqual([0, 2, 2]);
    expect(immediate.isSaved).toBe(true);
    expect(immediate.hasUnsavedChanges).toBe(false);

    const deferred = new PipelineSession("same", { now });
    build(deferred, () => {});
    saveSession(rt, deferred, path("deferred.h5"));
    expect(sessionDiff(readSessionFile(rt, file).session, readSessionFile(rt, path("deferred.h5")).session)).toEqual([]);
  });
});
