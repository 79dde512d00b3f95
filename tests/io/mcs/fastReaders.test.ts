/**
 * The fast readers against the simple ones they replace: the analog rows read together straight from
 * the HDF5 heap (vs. h5wasm's slice of one row at a time) and the blocked bit-copy decode of compound
 * tables (vs. the values written), over every element type, odd values, and sizes that cross the
 * read slices and decode blocks.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { H5Dataset, H5Runtime } from "../../../src/io/h5.ts";
import { openH5 } from "../../../src/io/h5.ts";
import { nodeRuntime } from "../../../src/io/h5node.ts";
import { readCmcr } from "../../../src/io/mcs/cmcrReader.ts";
import { compoundLayout, readCompoundColumns } from "../../../src/io/mcs/compoundColumns.ts";
import { MCS_TYPE_ID } from "../../../src/io/mcs/mcsNames.ts";

let rt: H5Runtime;
let dir: string;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-fast-readers-"));
});

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** Bit-for-bit equality of two typed arrays (fast on millions of elements, unlike a deep equal). */
function expectSameBits(got: ArrayBufferView, expected: ArrayBufferView, what: string): void {
  expect(got.byteLength, what).toBe(expected.byteLength);
  const a = bytesOf(got);
  const b = bytesOf(expected);
  if (!a.equals(b)) {
    let i = 0;
    while (a[i] === b[i]) i++;
    expect.fail(`${what}: first differing byte at ${i}`);
  }
}

/** The former analog read: one h5wasm slice per row, converted to float32. */
function analogReference(path: string, rows: number): Float32Array[] {
  const file = openH5(rt, path, "r");
  try {
    const ds = file.get("Acquisition/Analog Data/ChannelData 1") as H5Dataset;
    const samples = Number(ds.shape![1]);
    return Array.from({ length: rows }, (_, r) => {
      const out = new Float32Array(samples);
      const value = ds.slice([[r, r + 1], [0, samples]]) as unknown as ArrayLike<number | bigint>;
      for (let i = 0; i < samples; i++) out[i] = Number(value[i]);
      return out;
    });
  } finally {
    file.close();
  }
}

function writeAnalog(name: string, dtype: string, channels: number, samples: number, data: ArrayLike<number | bigint>): string {
  const path = join(dir, name);
  const file = openH5(rt, path, "w");
  try {
    file.create_attribute("ID.Type", "CMOS-MEA File");
    file.create_attribute("ID.TypeID", MCS_TYPE_ID.cmosMeaFile);
    const analog = file.create_group("Acquisition").create_group("Analog Data");
    analog.create_dataset({
      name: "ChannelData 1",
      data: data as never,
      shape: [channels, samples],
      dtype,
      ...(samples > 0 ? { chunks: [Math.min(channels, 2), Math.min(samples, 65536)] } : {}),
    });
  } finally {
    file.close();
  }
  return path;
}

function values(dtype: string, n: number): ArrayLike<number | bigint> {
  const pick = (i: number) => ((i * 2654435761) % 200003) - 100001;
  switch (dtype.slice(1)) {
    case "h": return Int16Array.from({ length: n }, (_, i) => pick(i) >> 2);
    case "H": return Uint16Array.from({ length: n }, (_, i) => Math.abs(pick(i)));
    case "i": return Int32Array.from({ length: n }, (_, i) => pick(i) * 20011);
    case "q": return BigInt64Array.from({ length: n }, (_, i) => BigInt(pick(i)) * 1234567891n);
    case "f": return Float32Array.from({ length: n }, (_, i) => (i % 97 === 0 ? [Number.NaN, -0, Infinity, -Infinity][i % 4] : pick(i) / 7));
    case "d": return Float64Array.from({ length: n }, (_, i) => (i % 89 === 0 ? [Number.NaN, -0, 1e300, -Infinity][i % 4] : pick(i) / 3));
    default: throw new Error(dtype);
  }
}

describe("readCmcr analog rows (one read per slice, from the HDF5 heap)", () => {
  const cases: [string, number, number][] = [
    ["<i", 2, 5000],
    ["<h", 2, 3001],
    ["<H", 3, 1000],
    ["<f", 2, 4000],
    ["<d", 2, 2500],
    ["<q", 2, 2000], // 64-bit: through h5wasm's slice (h5wasm writes no big-endian data to test that path)
    ["<i", 1, 1234], // one channel: no ch2
    ["<f", 2, 0], // empty
  ];
  for (const [dtype, channels, samples] of cases) {
    it(`${dtype}, ${channels} channel(s) × ${samples} samples equals the per-row read`, () => {
      const path = writeAnalog(`analog-${dtype.slice(1)}${dtype[1] === dtype[1].toUpperCase() ? "u" : ""}-${channels}-${samples}.cmcr`, dtype, channels, samples, values(dtype, channels * samples));
      const analog = readCmcr(rt, path).analog!;
      const [ref1, ref2] = samples > 0 ? analogReference(path, Math.min(channels, 2)) : [new Float32Array(0), channels > 1 ? new Float32Array(0) : undefined];
      expectSameBits(analog.ch1, ref1, "ch1");
      if (channels === 1) expect(analog.ch2).toBeUndefined();
      else expectSameBits(analog.ch2!, ref2!, "ch2");
    });
  }

  it("crosses the 4 Mi-sample read slices without a seam", () => {
    const samples = (1 << 22) + 70001;
    const data = new Int32Array(2 * samples);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) | 0) >> 8;
    const path = writeAnalog("analog-long.cmcr", "<i", 2, samples, data);
    const analog = readCmcr(rt, path).analog!;
    expectSameBits(analog.ch1, Float32Array.from(data.subarray(0, samples)), "ch1");
    expectSameBits(analog.ch2!, Float32Array.from(data.subarray(samples)), "ch2");
  });
});

describe("readCompoundColumns (blocked bit copy)", () => {
  it("returns every aligned and unaligned field bit for bit, across decode blocks and read slices", () => {
    // 34-byte rows: 8- and 4-byte fields fall out of alignment from row 2 on (DataView path), the
    // 2- and 1-byte ones stay aligned; one big-endian field. 300 000 rows is 10 MB, more than one 8 MB
    // read slice and hundreds of decode blocks.
    const n = 300_000;
    const specials = [Number.NaN, -0, Infinity, -Infinity, 1.5e-45];
    const columns = {
      Timestamp: BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 50n - 7n),
      Gain: Float64Array.from({ length: n }, (_, i) => (i % 101 === 0 ? specials[i % 5] : i * 1e-3 - 4)),
      PeakAmplitude: Float32Array.from({ length: n }, (_, i) => (i % 103 === 0 ? specials[i % 5] : -i / 3)),
      IncludePeak: Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1)),
      Level: Uint16Array.from({ length: n }, (_, i) => (i * 7) & 0xffff),
      Offset: Int16Array.from({ length: n }, (_, i) => (i % 65536) - 32768),
      Flag: Int8Array.from({ length: n }, (_, i) => (i % 256) - 128),
      Tag: Uint8Array.from({ length: n }, (_, i) => i & 0xff),
      Swapped: Float32Array.from({ length: n }, (_, i) => i / 9), // big-endian: DataView path
    };
    const dtype = [["Timestamp", "<q"], ["Gain", "<d"], ["PeakAmplitude", "<f"], ["IncludePeak", "<i"], ["Level", "<H"], ["Offset", "<h"], ["Flag", "<b"], ["Tag", "<B"], ["Swapped", ">f"]];
    const { rowSize, got } = writeAndReadPeaks("aligned.h5", columns, dtype);
    expect(rowSize).toBe(8 + 8 + 4 + 4 + 2 + 2 + 1 + 1 + 4);
    for (const [name, expected] of Object.entries(columns)) {
      const column = got.get(name)!;
      expect(column.constructor, name).toBe(expected.constructor);
      if (name === "Swapped") expect(Array.from(column as Float32Array), name).toEqual(Array.from(expected as Float32Array));
      else expectSameBits(column, expected, name);
    }
  });

  it("bit-copies a 32-byte-row table (all fields on the fast path), with one, two and 70 000 rows", () => {
    for (const n of [1, 2, 70_000]) {
      const columns = {
        Timestamp: BigUint64Array.from({ length: n }, (_, i) => BigInt(i) * 99991n + (1n << 60n)),
        A: Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? -0 : i / 7)),
        B: Uint32Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 0),
        C: Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? Number.NaN : i * Math.PI)),
        D: Uint16Array.from({ length: n }, (_, i) => i & 0xffff),
        E: Int16Array.from({ length: n }, (_, i) => -i & 0x7fff),
        F: Uint8Array.from({ length: n }, (_, i) => i & 0xff),
        G: Int8Array.from({ length: n }, (_, i) => (i & 0x7f) - 64),
        H: Uint16Array.from({ length: n }, (_, i) => (i * 31) & 0xffff),
      };
      const dtype = [["Timestamp", "<Q"], ["A", "<f"], ["B", "<I"], ["C", "<d"], ["D", "<H"], ["E", "<h"], ["F", "<B"], ["G", "<b"], ["H", "<H"]];
      const { rowSize, got } = writeAndReadPeaks(`rows32-${n}.h5`, columns, dtype);
      expect(rowSize).toBe(32);
      for (const [name, expected] of Object.entries(columns)) expectSameBits(got.get(name)!, expected, `${name} (${n} rows)`);
    }
  });
});

/** Writes `columns` as a compound `Peaks` table with h5wasm and reads it back through our reader. */
function writeAndReadPeaks(name: string, columns: Record<string, ArrayBufferView>, dtype: string[][]) {
  const path = join(dir, name);
  const file = openH5(rt, path, "w");
  file.create_dataset({ name: "Peaks", data: new Map(Object.entries(columns)) as never, dtype: dtype as never });
  file.close();
  const reader = openH5(rt, path, "r");
  try {
    const ds = reader.get("Peaks") as H5Dataset;
    const layout = compoundLayout(ds);
    if (typeof layout === "string") throw new Error(layout);
    return { rowSize: layout.rowSize, got: readCompoundColumns(rt, ds, layout) };
  } finally {
    reader.close();
  }
}
