import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { H5Dataset, H5Runtime } from "../../../src/io/h5.ts";
import { openH5 } from "../../../src/io/h5.ts";
import { nodeRuntime } from "../../../src/io/h5node.ts";
import { compoundLayout, readCompoundColumns } from "../../../src/io/mcs/compoundColumns.ts";
import { childName, findPath, mcsKey } from "../../../src/io/mcs/mcsNames.ts";

let rt: H5Runtime;
let dir: string;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-compound-"));
});

describe("readCompoundColumns", () => {
  it("decodes packed, unaligned fields exactly as h5wasm's row-by-row reader does", () => {
    const path = join(dir, "packed.h5");
    const n = 1000;
    const file = openH5(rt, path, "w");
    // uint8 first: every later field sits at an odd offset, so the DataView path is used.
    file.create_dataset({
      name: "Peaks",
      data: new Map<string, unknown>([
        ["IncludePeak", Uint8Array.from({ length: n }, (_, i) => i % 3 === 0 ? 0 : 1)],
        ["Timestamp", BigInt64Array.from({ length: n }, (_, i) => BigInt(i * 50 + 7))],
        ["PeakAmplitude", Float32Array.from({ length: n }, (_, i) => -i / 3)],
        ["Level", Int16Array.from({ length: n }, (_, i) => i - 500)],
        ["Gain", Float64Array.from({ length: n }, (_, i) => i * 1e-3)],
      ]) as never,
      dtype: [["IncludePeak", "<B"], ["Timestamp", "<q"], ["PeakAmplitude", "<f"], ["Level", "<h"], ["Gain", "<d"]],
    });
    file.close();

    const reader = openH5(rt, path, "r");
    try {
      const ds = reader.get("Peaks") as H5Dataset;
      const layout = compoundLayout(ds);
      if (typeof layout === "string") throw new Error(layout);
      expect(layout.rowSize).toBe(1 + 8 + 4 + 2 + 8);
      const columns = readCompoundColumns(rt, ds, layout);
      const rows = ds.value as unknown[][];
      expect(columns.get("IncludePeak")).toBeInstanceOf(Uint8Array);
      expect(columns.get("Timestamp")).toBeInstanceOf(BigInt64Array);
      layout.fields.forEach((f, j) => {
        expect(Array.from(columns.get(f.name)! as ArrayLike<unknown>)).toEqual(rows.map((r) => r[j]));
      });
    } finally {
      reader.close();
    }
  });

  it("refuses datasets that are not 1-D tables", () => {
    const path = join(dir, "plain.h5");
    const file = openH5(rt, path, "w");
    file.create_dataset({ name: "x", data: new Float32Array(4), shape: [2, 2] });
    file.close();
    const reader = openH5(rt, path, "r");
    expect(compoundLayout(reader.get("x") as H5Dataset)).toBe("not a compound (table) dataset");
    reader.close();
  });
});

describe("MCS names", () => {
  it("matches McsPy names case-insensitively, space ≡ underscore", () => {
    expect(mcsKey("Spike Sorter")).toBe("spike_sorter");
    expect(mcsKey("Unit_Info")).toBe(mcsKey("Unit Info"));
    expect(mcsKey("Data (1): x@y.z")).toBe("data_1_xaty_z");
    const path = join(dir, "names.h5");
    const file = openH5(rt, path, "w");
    file.create_group("Acquisition").create_group("Analog_Data").create_dataset({ name: "channeldata 1", data: new Int32Array(2) });
    file.close();
    const reader = openH5(rt, path, "r");
    expect(childName(reader, "acquisition")).toBe("Acquisition");
    expect(findPath(reader, "Acquisition/Analog Data/ChannelData_1")?.path).toBe("/Acquisition/Analog_Data/channeldata 1");
    expect(findPath(reader, "Acquisition/Sensor Data")).toBeUndefined();
    reader.close();
  });
});
