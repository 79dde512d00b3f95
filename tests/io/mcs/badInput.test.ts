import { beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { H5Group, H5Runtime } from "../../../src/io/h5.ts";
import { openH5 } from "../../../src/io/h5.ts";
import { nodeRuntime } from "../../../src/io/h5node.ts";
import { MCS_TYPE_ID } from "../../../src/io/mcs/mcsNames.ts";
import { loadRecording } from "../../../src/io/mcs/openRecording.ts";
import { failureOf, type Failure, type FailureKind } from "../../../src/core/failure.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../../tools/recordingGenerator.ts";

/** A real MultiChannel DataManager export (MCS test data), kept in the repository. */
const DATAMANAGER_FILE = join(import.meta.dirname, "../../fixtures/mcs/2014-07-09T10-17-35W8 Standard all 500 Hz.h5");

let rt: H5Runtime;
let dir: string;
let gen: GeneratedRecording;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-bad-"));
  gen = writeRecordingPair(rt, { dir, name: "good", units: 2, minutes: 0.1, seed: 2 });
});

/** A minimal file with MCS root attributes; `build` adds the (broken) content. */
function mcsFile(name: string, build: (root: H5Group) => void): string {
  const path = join(dir, name);
  const file = openH5(rt, path, "w");
  try {
    file.create_attribute("ID.Type", "CMOS-MEA File");
    file.create_attribute("ID.TypeID", MCS_TYPE_ID.cmosMeaFile);
    build(file);
  } finally {
    file.close();
  }
  return path;
}

function unitGroup(root: H5Group): H5Group {
  const sorter = root.create_group("Spike Sorter");
  sorter.create_attribute("ID.TypeID", MCS_TYPE_ID.spikeSorter);
  const unit = sorter.create_group("Unit 1");
  unit.create_attribute("ID.TypeID", MCS_TYPE_ID.spikeSorterUnit);
  return unit;
}

const load = (paths: { cmtrPath?: string; cmcrPath?: string }) => () => loadRecording(rt, paths);

describe("bad input gives one clear error naming the file", () => {
  it("zero-byte file", () => {
    const path = join(dir, "empty-.cmtr");
    writeFileSync(path, "");
    expect(load({ cmtrPath: path })).toThrow("empty-.cmtr: the file is empty (0 bytes)");
  });

  it("missing file", () => {
    expect(load({ cmcrPath: join(dir, "nowhere.cmcr") })).toThrow("nowhere.cmcr: file not found");
  });

  it("a file that is not HDF5", () => {
    const path = join(dir, "text-.cmtr");
    writeFileSync(path, "Timestamp,Unit\n1,2\n".repeat(100));
    expect(load({ cmtrPath: path })).toThrow("text-.cmtr: not an HDF5 file (no HDF5 signature)");
  });

  it("a truncated file", () => {
    const path = join(dir, "cut-.cmtr");
    copyFileSync(gen.cmtrPath, path);
    truncateSync(path, Math.floor(readFileSync(path).length * 0.6));
    expect(load({ cmtrPath: path })).toThrow(/^cut-\.cmtr: .*truncated/);
  });

  it("an HDF5 file from another MCS product (MultiChannel DataManager)", () => {
    expect(load({ cmtrPath: DATAMANAGER_FILE })).toThrow(
      '2014-07-09T10-17-35W8 Standard all 500 Hz.h5: an MCS MultiChannel DataManager file (McsHdf5ProtocolType "RawData"), not a CMOS-MEA .cmtr recording',
    );
    expect(load({ cmcrPath: DATAMANAGER_FILE })).toThrow(/Standard all 500 Hz\.h5: an MCS MultiChannel DataManager file/);
  });

  it("an HDF5 file with no MCS attributes at all", () => {
    const path = join(dir, "plain-.cmtr");
    const file = openH5(rt, path, "w");
    file.create_group("data");
    file.close();
    expect(load({ cmtrPath: path })).toThrow("plain-.cmtr: not an MCS CMOS-MEA .cmtr file (the root group has no ID.Type / ID.TypeID attributes)");
  });

  it("a .cmtr without spike sorter results", () => {
    const path = mcsFile("nosorter-.cmtr", (root) => root.create_group("Acquisition"));
    expect(load({ cmtrPath: path })).toThrow("nosorter-.cmtr: no spike sorter results (group /Spike Sorter missing)");
    const empty = mcsFile("nounits-.cmtr", (root) => root.create_group("Spike Sorter"));
    expect(load({ cmtrPath: empty })).toThrow("nounits-.cmtr: no spike sorter results (/Spike Sorter has no Unit groups)");
  });

  it("Peaks that is not a table, or lacks a field, or has coarse timestamps", () => {
    const flat = mcsFile("flat-.cmtr", (root) => unitGroup(root).create_dataset({ name: "Peaks", data: new Float64Array(6), shape: [2, 3] }));
    expect(load({ cmtrPath: flat })).toThrow("flat-.cmtr: /Spike Sorter/Unit 1/Peaks: not a compound (table) dataset");

    const noInclude = mcsFile("noinclude-.cmtr", (root) =>
      unitGroup(root).create_dataset({
        name: "Peaks",
        data: new Map<string, unknown>([["Timestamp", BigInt64Array.of(1n)], ["PeakAmplitude", Float32Array.of(1)], ["Cutout 0", Float32Array.of(0)]]) as never,
        dtype: [["Timestamp", "<q"], ["PeakAmplitude", "<f"], ["Cutout 0", "<f"]],
      }),
    );
    expect(load({ cmtrPath: noInclude })).toThrow(/^noinclude-\.cmtr: \/Spike Sorter\/Unit 1\/Peaks: no IncludePeak field \(fields: Timestamp, PeakAmplitude, Cutout 0\)/);

    const coarse = mcsFile("coarse-.cmtr", (root) =>
      unitGroup(root).create_dataset({
        name: "Peaks",
        data: new Map<string, unknown>([["Timestamp", Float32Array.of(1)], ["PeakAmplitude", Float32Array.of(1)], ["IncludePeak", Int32Array.of(1)]]) as never,
        dtype: [["Timestamp", "<f"], ["PeakAmplitude", "<f"], ["IncludePeak", "<i"]],
      }),
    );
    expect(load({ cmtrPath: coarse })).toThrow(/coarse-\.cmtr: .*Timestamp is float32, too coarse/);

    const noPeaks = mcsFile("nopeaks-.cmtr", (root) => unitGroup(root));
    expect(load({ cmtrPath: noPeaks })).toThrow("nopeaks-.cmtr: /Spike Sorter/Unit 1: no Peaks dataset");
  });

  it("analog data with an unexpected shape or type", () => {
    const oneD = mcsFile("flat.cmcr", (root) =>
      root.create_group("Acquisition").create_group("Analog Data").create_dataset({ name: "ChannelData 1", data: new Int32Array(100) }),
    );
    expect(load({ cmcrPath: oneD })).toThrow("flat.cmcr: /Acquisition/Analog Data/ChannelData 1 has shape [100], expected [channels × samples]");
    const text = mcsFile("text.cmcr", (root) =>
      root.create_group("Acquisition").create_group("Analog Data").create_dataset({ name: "ChannelData 1", data: ["a", "b"] }),
    );
    expect(load({ cmcrPath: text })).toThrow(/^text\.cmcr: \/Acquisition\/Analog Data\/ChannelData 1 is not numeric/);
  });

  it("a file given in the wrong role", () => {
    expect(load({ cmtrPath: gen.cmcrPath })).toThrow("good.cmcr: given as the .cmtr file but it is a .cmcr");
  });

  it("says as data which file each error is about and its kind, so no caller reads the message", () => {
    const failure = (paths: { cmtrPath?: string; cmcrPath?: string }): Failure => {
      try {
        loadRecording(rt, paths);
      } catch (error) {
        return failureOf(error);
      }
      throw new Error("it loaded");
    };
    const about = (file: string, kind: FailureKind = "bad-input"): Failure => ({ kind, file });
    expect(failure({ cmtrPath: join(dir, "empty-.cmtr") })).toEqual(about("empty-.cmtr"));
    expect(failure({ cmtrPath: join(dir, "cut-.cmtr") })).toEqual(about("cut-.cmtr", "damaged-file"));
    expect(failure({ cmtrPath: join(dir, "plain-.cmtr") })).toEqual(about("plain-.cmtr"));
    expect(failure({ cmtrPath: join(dir, "nosorter-.cmtr") })).toEqual(about("nosorter-.cmtr"));
    expect(failure({ cmtrPath: join(dir, "noinclude-.cmtr") })).toEqual(about("noinclude-.cmtr"));
    expect(failure({ cmtrPath: join(dir, "nopeaks-.cmtr") })).toEqual(about("nopeaks-.cmtr"));
    expect(failure({ cmcrPath: join(dir, "flat.cmcr") })).toEqual(about("flat.cmcr"));
    expect(failure({ cmtrPath: gen.cmcrPath })).toEqual(about("good.cmcr"));
  });

  it("leaves the runtime usable: a good pair still loads after all of the above", () => {
    const session = loadRecording(rt, { cmcrPath: gen.cmcrPath, cmtrPath: gen.cmtrPath });
    expect(session.unitCount).toBe(2);
  });
});
