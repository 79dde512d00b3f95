/**
 * Rows of a 2-D numeric dataset ([rows × columns], any integer or float type) as float32, a block of
 * columns at a time: how the `.cmcr`'s analog channels become the light reference, both when the
 * load step decodes them and when a source-backed `raw_ch1` is read back for a save or a step.
 * One code path for both, so the bytes are the same bit for bit.
 */
import { TYPED_ARRAY_BY_DTYPE, type DType } from "../core/ndarray.ts";
import type { H5Dataset, H5Runtime } from "./h5.ts";

export interface RowsLayout {
  dtype: DType;
  /** Bytes per element in the file. */
  size: number;
  littleEndian: boolean;
}

/**
 * Columns [start, end) of rows [row0, row0 + outs.length) into `outs[r]` at `at`. Plain
 * little-endian numbers are converted straight from the HDF5 heap (one read for all rows, which a
 * hyperslab returns row after row); anything else (64-bit integers, big-endian) goes through h5wasm's slice.
 */
export function readFloat32Rows(
  rt: H5Runtime,
  dataset: H5Dataset,
  layout: RowsLayout,
  row0: number,
  start: number,
  end: number,
  outs: Float32Array[],
  at: number,
  heap?: { ptr: number },
): void {
  const rows = outs.length;
  const length = end - start;
  if (length <= 0 || rows === 0) return;
  const direct = layout.littleEndian && layout.dtype !== "int64" && layout.dtype !== "uint64";
  if (!direct) {
    const value = dataset.slice([[row0, row0 + rows], [start, end]]);
    for (let r = 0; r < rows; r++) copyInto(outs[r], value, r * length, length, at);
    return;
  }
  const module = rt.module;
  const ptr = heap?.ptr ?? module._malloc(rows * length * layout.size);
  if (!ptr) throw new Error(`cannot allocate ${rows * length * layout.size} bytes in the HDF5 heap`);
  try {
    module.get_dataset_data(dataset.file_id, dataset.path, [BigInt(rows), BigInt(length)], [BigInt(row0), BigInt(start)], [1n, 1n], BigInt(ptr));
    // Viewed after the read, which may have grown the heap; copied out before anything allocates.
    const Ctor = TYPED_ARRAY_BY_DTYPE[layout.dtype] as Float32ArrayConstructor;
    const values = new Ctor(module.HEAPU8.buffer as ArrayBuffer, ptr, rows * length);
    for (let r = 0; r < rows; r++) outs[r].set(values.subarray(r * length, (r + 1) * length), at);
  } finally {
    if (!heap) module._free(ptr);
  }
}

/**
 * `value[from, from + length)` into `out` at `at`. Typed-array `set` converts numbers to float32;
 * 64-bit integers need an explicit conversion.
 */
function copyInto(out: Float32Array, value: unknown, from: number, length: number, at: number): void {
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) {
    for (let i = 0; i < length; i++) out[at + i] = Number(value[from + i]);
  } else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    out.set((value as unknown as Float32Array).subarray(from, from + length), at);
  } else {
    throw new Error(`unexpected analog slice of type ${typeof value}`);
  }
}
