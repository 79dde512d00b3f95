/**
 * Reads a NumPy `.npy` file (format versions 1–3) from its bytes into an NDArray, for the stimulus
 * movies `compute_sta` needs (`<movie>.npy`, [frames, H, W] uint8). Pure: the caller reads the file.
 *
 * Supported: little-endian (or byte-order-free) bool, int8–int64, uint8–uint64, float32, float64, in
 * C order. Big-endian data, Fortran order and object arrays are refused with a message naming the file.
 */
import { NDArray, TYPED_ARRAY_BY_DTYPE, type DType } from "./ndarray.ts";
import { fileError } from "./failure.ts";

const DESCR: Record<string, DType> = {
  b1: "uint8",
  i1: "int8",
  u1: "uint8",
  i2: "int16",
  u2: "uint16",
  i4: "int32",
  u4: "uint32",
  i8: "int64",
  u8: "uint64",
  f4: "float32",
  f8: "float64",
};

export function parseNpy(bytes: Uint8Array, fileName: string): NDArray {
  const fail = (why: string): never => {
    throw fileError(fileName, `not a readable .npy array (${why})`);
  };
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") fail("no \\x93NUMPY magic");
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : major === 2 || major === 3 ? view.getUint32(8, true) : fail(`format version ${major}`);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, headerStart + headerLength));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1] ?? fail("no descr in the header");
  if (/'fortran_order'\s*:\s*True/.test(header)) fail("Fortran order; save it with np.ascontiguousarray");
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail("no shape in the header");
  const shape = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`shape (${shapeText})`);

  const order = descr[0];
  const dtype = DESCR[descr.slice(1)];
  if (!dtype) fail(`dtype ${descr} is not supported`);
  const itemSize = Number(descr.slice(2));
  if (order === ">" && itemSize > 1) fail(`big-endian dtype ${descr}`);

  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length - dataStart < count * itemSize) fail(`${count} elements need ${count * itemSize} bytes, the file has ${bytes.length - dataStart}`);
  // Copy into an aligned buffer: typed arrays need offsets that are multiples of the item size.
  // (A fresh Uint8Array: Node's Buffer.slice would share memory and keep the header in front.)
  const copy = new Uint8Array(bytes.subarray(dataStart, dataStart + count * itemSize));
  const Ctor = TYPED_ARRAY_BY_DTYPE[dtype];
  return new NDArray(new Ctor(copy.buffer, 0, count), shape);
}
