/**
 * Valid but hostile inputs: files a correct HDF5 reader opens, with content meant to hurt — huge
 * attribute strings, tens of thousands of tiny units, timestamps out of order or before the start,
 * NaN, unicode and very long names, duplicate unit ids, IncludePeak values other than 0/1. Each
 * ends in a load with a session warning, or one clear error naming the file, within bounded time.
 * The measured figures are printed (and recorded in docs/robustness.md).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray } from "../../src/core/ndarray.ts";
import type { PipelineSession } from "../../src/core/session.ts";
import { openH5, type H5Group, type H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { MCS_TYPE_ID } from "../../src/io/mcs/mcsNames.ts";
import { loadRecording } from "../../src/io/mcs/openRecording.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";
import { writeRecordingPair } from "../../tools/recordingGenerator.ts";

let rt: H5Runtime;
let dir: string;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-hostile-"));
});

interface UnitSpec {
  group: string;
  unitId?: number;
  timestamps: Float64Array | BigInt64Array;
  include: Int32Array;
  attrs?: Record<string, string>;
}

/** A minimal but valid .cmtr: MCS root attributes, Spike Sorter, units with a Peaks table. */
function writeCmtr(name: string, units: UnitSpec[], rootAttrs: Record<string, string | number> = {}): string {
  const path = join(dir, name);
  const file = openH5(rt, path, "w");
  try {
    file.create_attribute("ID.Type", "CMOS-MEA Spike Sorting");
    file.create_attribute("ID.TypeID", MCS_TYPE_ID.cmosMeaFile);
    for (const [key, value] of Object.entries(rootAttrs)) {
      if (typeof value === "string") file.create_attribute(key, value);
      else file.create_attribute(key, Float64Array.of(value), [1], "<d");
    }
    const sorter = file.create_group("Spike Sorter");
    sorter.create_attribute("ID.TypeID", MCS_TYPE_ID.spikeSorter);
    for (const u of units) writeUnit(sorter, u);
  } finally {
    file.close();
  }
  return path;
}

function writeUnit(sorter: H5Group, u: UnitSpec): void {
  const group = sorter.create_group(u.group);
  group.create_attribute("ID.TypeID", MCS_TYPE_ID.spikeSorterUnit);
  if (u.unitId !== undefined) group.create_attribute("UnitID", BigInt64Array.of(BigInt(u.unitId)), [1], "<q");
  for (const [key, value] of Object.entries(u.attrs ?? {})) group.create_attribute(key, value);
  const n = u.include.length;
  const float = u.timestamps instanceof Float64Array;
  group.create_dataset({
    name: "Peaks",
    data: new Map<string, unknown>([
      ["Timestamp", u.timestamps],
      ["PeakAmplitude", Float32Array.from({ length: n }, (_, i) => -50 - i)],
      ["IncludePeak", u.include],
      ["Cutout 0", new Float32Array(n).fill(-1)],
      ["Cutout 1", new Float32Array(n).fill(2)],
    ]) as never,
    dtype: [["Timestamp", float ? "<d" : "<q"], ["PeakAmplitude", "<f"], ["IncludePeak", "<i"], ["Cutout 0", "<f"], ["Cutout 1", "<f"]],
  });
}

const ts = (...us: number[]) => BigInt64Array.from(us, (v) => BigInt(v));
const ones = (n: number) => new Int32Array(n).fill(1);
const warnings = (s: PipelineSession) => s.warnings.map((w) => w.message);

function timed<T>(run: () => T): [T, number] {
  const t0 = performance.now();
  const value = run();
  return [value, performance.now() - t0];
}

describe("valid but hostile inputs", () => {
  it("a 10 MB attribute string loads, bounded, and survives save/load", () => {
    const big = "x".repeat(10 << 20);
    const path = writeCmtr("bigattr-.cmtr", [{ group: "Unit 1", timestamps: ts(1000, 2000), include: ones(2), attrs: { Comment: big } }], {
      Comment: big,
    });
    const heapBefore = process.memoryUsage().heapUsed;
    const [session, ms] = timed(() => loadRecording(rt, { cmtrPath: path }));
    const grewMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    expect((session.metadata.cmtr_meta as Record<string, unknown>).Comment).toHaveLength(big.length);
    const out = join(dir, "bigattr.h5");
    const [, saveMs] = timed(() => saveSession(rt, session, out));
    const [back, loadMs] = timed(() => loadSession(rt, out).session);
    expect((back.metadata.cmtr_meta as Record<string, unknown>).Comment).toHaveLength(big.length);
    console.log(`10 MB attribute: load ${ms.toFixed(0)} ms (heap +${grewMb.toFixed(0)} MB), save ${saveMs.toFixed(0)} ms, reload ${loadMs.toFixed(0)} ms`);
    // Times are printed, not asserted (a loaded machine stretches them); a hang fails on the test's timeout.
  }, 120_000);

  it("20,000 tiny units load in bounded time and memory", () => {
    const n = 20_000;
    const units: UnitSpec[] = Array.from({ length: n }, (_, i) => ({ group: `Unit ${i + 1}`, unitId: i + 1, timestamps: ts(1000 + i, 500_000 + i), include: ones(2) }));
    const [path, writeMs] = timed(() => writeCmtr("many-.cmtr", units, { "LB.RecordingDuration": 1_000_000 }));
    const rssBefore = process.memoryUsage().rss;
    const [session, ms] = timed(() => loadRecording(rt, { cmtrPath: path }));
    const rssMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    expect(session.unitCount).toBe(n);
    // 20999 µs and 519999 µs at 20 kHz.
    expect(session.units.get("unit_20000")?.spikeTimes).toEqual(BigUint64Array.of(420n, 10_400n));
    // Saving and reloading 20,000 units (400,000 HDF5 objects) takes minutes; measured separately
    // with HDMEA_HOSTILE_SAVE=1 (docs/robustness.md), not in every run.
    let saved = "";
    if (process.env.HDMEA_HOSTILE_SAVE) {
      const out = join(dir, "many.h5");
      const [, saveMs] = timed(() => saveSession(rt, session, out));
      const [back, loadMs] = timed(() => loadSession(rt, out).session);
      expect(back.unitCount).toBe(n);
      saved = `, save ${(saveMs / 1000).toFixed(1)} s, reload ${(loadMs / 1000).toFixed(1)} s`;
    }
    console.log(`${n} units: write ${(writeMs / 1000).toFixed(1)} s, load ${(ms / 1000).toFixed(1)} s (RSS +${rssMb.toFixed(0)} MB)${saved}`);
    // The load's time is printed, not asserted; quadratic behaviour in the unit count would run past the timeout.
  }, 300_000);

  it("negative, unsorted and NaN timestamps: loaded in order, with warnings", () => {
    const path = writeCmtr(
      "times-.cmtr",
      [
        { group: "Unit 1", timestamps: ts(5000, 1000, 3000, -2000), include: ones(4) },
        { group: "Unit 2", timestamps: Float64Array.of(100, Number.NaN, 300), include: ones(3) },
      ],
      { "LB.RecordingDuration": 1_000_000 },
    );
    const session = loadRecording(rt, { cmtrPath: path });
    const u1 = session.units.get("unit_001")!;
    expect(u1.spikeTimes).toEqual(BigUint64Array.of(0n, 20n, 60n, 100n));
    // The amplitudes follow their spikes into time order (file rows 3, 1, 2, 0).
    expect(Array.from((u1.children.unit_meta as Record<string, NDArray>).peak_amplitudes.data as Float32Array)).toEqual([-53, -51, -52, -50]);
    expect(session.units.get("unit_002")!.spikeTimes).toEqual(BigUint64Array.of(2n, 6n));
    expect(warnings(session)).toEqual(
      expect.arrayContaining([
        "unit_001: peak timestamps were not in time order; spike_times were sorted",
        "unit_001: 1 spike(s) before the recording start (negative timestamps) were set to sample 0",
        "unit_002: 1 included peak(s) with a timestamp that is not a number were dropped",
      ]),
    );
  });

  it("NaN rates and values: ignored with a warning, never a crash", () => {
    const path = writeCmtr("nanrate-.cmtr", [{ group: "Unit 1", timestamps: ts(1000), include: ones(1) }], {
      SamplingRate: Number.NaN,
      "LB.RecordingDuration": Number.NaN,
    });
    const session = loadRecording(rt, { cmtrPath: path });
    expect(warnings(session)).toContain("acquisition rate not found in the files: using 20000 Hz (default 20 kHz)");
    expect(warnings(session).some((w) => w.startsWith("recording length unknown"))).toBe(true);

    // A .cmcr whose analog samples are all NaN: no frames, a warning, the rest loads.
    const gen = writeRecordingPair(rt, { dir, name: "nanvalues", units: 1, minutes: 1 / 60, seed: 3, write: { cmtr: false } });
    const file = openH5(rt, gen.cmcrPath, "a");
    const analog = file.get("Acquisition/Analog Data/ChannelData 1") as unknown as { shape: number[]; write_slice: (r: [number, number][], d: Int32Array) => void };
    file.close();
    const nanCmcr = join(dir, "nanfloat.cmcr");
    const out = openH5(rt, nanCmcr, "w");
    out.create_attribute("ID.Type", "CMOS-MEA Recording");
    out.create_attribute("ID.TypeID", MCS_TYPE_ID.cmosMeaFile);
    out.create_attribute("LB.RecordingDuration", BigInt64Array.of(1_000_000n), [1], "<q");
    out.create_group("Acquisition").create_group("Analog Data").create_dataset({
      name: "ChannelData 1",
      data: new Float32Array(2 * 20000).fill(Number.NaN),
      shape: [2, 20000],
      dtype: "<f",
    });
    out.close();
    expect(analog).toBeDefined();
    const s2 = loadRecording(rt, { cmcrPath: nanCmcr });
    expect(warnings(s2)).toContain("nanfloat.cmcr: no frame-sync pulses found in the analog channels");
  });

  it("unicode and very long names: dataset id, unit group names, attributes; round trip", () => {
    const stem = `2024.08.08-Ünïcødé-记录-🙂-${"long".repeat(40)}`;
    const unitName = `Unit 7 — нейрон ${"ω".repeat(300)}`;
    const path = writeCmtr(`${stem}-.cmtr`, [{ group: unitName, unitId: 7, timestamps: ts(1000), include: ones(1), attrs: { Label: "ganglion ✓" } }]);
    const session = loadRecording(rt, { cmtrPath: path });
    expect(session.datasetId).toBe(stem);
    const unit = session.units.get("unit_007")!;
    expect(unit.attrs.original_name).toBe(unitName.replace(/ /g, "_"));
    const out = join(dir, `${stem}.h5`);
    saveSession(rt, session, out);
    const back = loadSession(rt, out).session;
    expect(back.datasetId).toBe(stem);
    expect(back.units.get("unit_007")!.attrs.original_name).toBe(unit.attrs.original_name);
    expect((back.units.get("unit_007")!.children.unit_meta as Record<string, unknown>).attr_label).toBe("ganglion ✓");
  });

  it("duplicate unit ids: one clear error naming the file and both groups", () => {
    const twoNames = writeCmtr("dupname-.cmtr", [
      { group: "Unit 3", timestamps: ts(1000), include: ones(1) },
      { group: "Unit_3", timestamps: ts(2000), include: ones(1) },
    ]);
    expect(() => loadRecording(rt, { cmtrPath: twoNames })).toThrow(/^dupname-\.cmtr: .*Unit[ _]3 and .*Unit[ _]3 both give unit number 3$/);
    const sameUnitId = writeCmtr("dupid-.cmtr", [
      { group: "first", unitId: 5, timestamps: ts(1000), include: ones(1) },
      { group: "second", unitId: 5, timestamps: ts(2000), include: ones(1) },
    ]);
    expect(() => loadRecording(rt, { cmtrPath: sameUnitId })).toThrow("dupid-.cmtr: first and second both give unit number 5");
  });

  it("IncludePeak values other than 0/1 are excluded, with a warning", () => {
    const path = writeCmtr("include-.cmtr", [{ group: "Unit 1", timestamps: ts(1000, 2000, 3000, 4000, 5000), include: Int32Array.of(1, 2, -1, 0, 255) }]);
    const session = loadRecording(rt, { cmtrPath: path });
    expect(session.units.get("unit_001")!.spikeTimes).toEqual(BigUint64Array.of(20n));
    expect(warnings(session)).toContain("unit_001: 3 peak(s) with IncludePeak other than 0 or 1 were treated as excluded");
  });
});
