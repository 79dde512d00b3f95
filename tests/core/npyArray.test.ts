import { describe, expect, it } from "vitest";
import { parseNpy } from "../../src/core/npyArray.ts";

/** A .npy v1 file as numpy writes it: header padded with spaces to a multiple of 64, ending in "\n". */
function npy(descr: string, shape: string, data: Uint8Array, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': ${shape}, }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

describe("parseNpy", () => {
  it("reads a uint8 [frames, H, W] movie", () => {
    const array = parseNpy(npy("|u1", "(2, 2, 3)", Uint8Array.from({ length: 12 }, (_, i) => i)), "noise.npy");
    expect([array.dtype, array.shape, Array.from(array.data as Uint8Array)]).toEqual(["uint8", [2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]);
  });

  it("reads little-endian float64 and a 1-D shape", () => {
    const array = parseNpy(npy("<f8", "(2,)", new Uint8Array(Float64Array.of(1.5, -2).buffer)), "x.npy");
    expect([array.dtype, array.shape, Array.from(array.data as Float64Array)]).toEqual(["float64", [2], [1.5, -2]]);
  });

  it("refuses what it cannot read, naming the file", () => {
    expect(() => parseNpy(new Uint8Array(20), "a.npy")).toThrow("a.npy: not a readable .npy array (no \\x93NUMPY magic)");
    expect(() => parseNpy(npy("<u1", "(2, 2)", new Uint8Array(4), true), "f.npy")).toThrow(/Fortran order/);
    expect(() => parseNpy(npy(">f8", "(1,)", new Uint8Array(8)), "b.npy")).toThrow(/big-endian dtype >f8/);
    expect(() => parseNpy(npy("|O", "(1,)", new Uint8Array(8)), "o.npy")).toThrow(/dtype \|O is not supported/);
    expect(() => parseNpy(npy("|u1", "(3, 3)", new Uint8Array(4)), "s.npy")).toThrow(/9 elements need 9 bytes, the file has 4/);
  });
});

describe("parseNpy on Node Buffers", () => {
  it("reads the data, not the header, when given a Buffer (whose slice shares memory)", () => {
    const header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }";
    const padded = header.padEnd(118, " ") + "\n";
    const bytes = Buffer.concat([
      Buffer.from([0x93]),
      Buffer.from("NUMPY"),
      Buffer.from([1, 0, padded.length & 0xff, padded.length >> 8]),
      Buffer.from(padded, "latin1"),
      Buffer.from([1, 2, 3, 4, 5, 6]),
    ]);
    const array = parseNpy(bytes, "movie.npy");
    expect(array.shape).toEqual([2, 3]);
    expect([...array.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
