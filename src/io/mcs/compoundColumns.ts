/**
 * Fast reading of 1-D compound datasets (the spike sorter's `Peaks`) as one typed array per field.
 *
 * h5wasm's `.value` turns every row into a JS array of field values, which is about 20× slower than
 * needed and allocates per row. Here the rows' raw bytes are read into the wasm heap with
 * `get_dataset_data` (memory type = the file type, little-endian), a bounded number of rows at a time,
 * and each numeric field is copied out with a strided typed-array view (or a DataView when the field
 * is not aligned in the row).
 */
import type { DType, NumericArray } from "../../core/ndarray.ts";
import { TYPED_ARRAY_BY_DTYPE } from "../../core/ndarray.ts";
import type { H5Dataset, H5Runtime } from "../h5.ts";
import { numericDtype } from "../h5.ts";

const H5T_COMPOUND = 6;
/** Rows are read in slices of at most this many bytes, so the wasm heap holds one slice only. */
const SLICE_BYTES = 8 << 20;

export interface CompoundField {
  name: string;
  offset: number;
  size: number;
  /** undefined for fields that are not plain numbers (strings, nested types): they are not decoded. */
  dtype?: DType;
  littleEndian: boolean;
}

export interface CompoundLayout {
  rowSize: number;
  rowCount: number;
  fields: CompoundField[];
}

/** The layout of a 1-D compound dataset, or a reason it is not one. */
export function compoundLayout(dataset: H5Dataset): CompoundLayout | string {
  const meta = dataset.metadata;
  if (meta.type !== H5T_COMPOUND || !meta.compound_type) return "not a compound (table) dataset";
  const shape = (meta.shape ?? []).map(Number);
  if (shape.length !== 1) return `expected one dimension, found shape [${shape.join(", ")}]`;
  if (!Number.isSafeInteger(shape[0]) || shape[0] < 0) return `invalid row count ${shape[0]}`;
  const fields = meta.compound_type.members.map((m) => ({
    name: m.name,
    offset: m.offset,
    size: m.size,
    dtype: numericDtype(m),
    littleEndian: m.littleEndian,
  }));
  // The decoder indexes rows by these numbers: a field outside its row would read the next row or
  // past the buffer.
  const outside = fields.find((f) => !(f.offset >= 0 && f.size > 0 && f.offset + f.size <= meta.size));
  if (outside) return `field ${outside.name} (offset ${outside.offset}, ${outside.size} bytes) lies outside the ${meta.size}-byte row`;
  const odd = fields.find((f) => f.dtype !== undefined && TYPED_ARRAY_BY_DTYPE[f.dtype].BYTES_PER_ELEMENT !== f.size);
  if (odd) return `field ${odd.name} has ${odd.size} bytes for a ${odd.dtype}`;
  return { rowSize: meta.size, rowCount: shape[0], fields };
}

/** Bytes the numeric columns of `layout` take once decoded (what readCompoundColumns allocates). */
export function decodedBytes(layout: CompoundLayout): number {
  return layout.fields.reduce((sum, f) => sum + (f.dtype ? f.size : 0), 0) * layout.rowCount;
}

/**
 * Every numeric field of the dataset as its own typed array (dtype as in the file), keyed by field
 * name in file order. `onSlice` reports progress in rows.
 */
export function readCompoundColumns(
  rt: H5Runtime,
  dataset: H5Dataset,
  layout: CompoundLayout,
  onSlice?: (rowsDone: number) => void,
): Map<string, NumericArray> {
  const { rowSize, rowCount } = layout;
  const fields = layout.fields.filter((f) => f.dtype !== undefined);
  const columns = new Map<string, NumericArray>();
  for (const f of fields) columns.set(f.name, new TYPED_ARRAY_BY_DTYPE[f.dtype!](rowCount) as NumericArray);
  if (rowCount === 0 || rowSize === 0) return columns;

  const sliceRows = Math.max(1, Math.floor(SLICE_BYTES / rowSize));
  const module = rt.module;
  const ptr = module._malloc(Math.min(rowCount, sliceRows) * rowSize);
  if (!ptr) throw new Error(`cannot allocate ${Math.min(rowCount, sliceRows) * rowSize} bytes in the HDF5 heap`);
  try {
    for (let start = 0; start < rowCount; start += sliceRows) {
      const rows = Math.min(sliceRows, rowCount - start);
      module.get_dataset_data(dataset.file_id, dataset.path, [BigInt(rows)], [BigInt(start)], [1n], BigInt(ptr));
      // Decoded in place: nothing allocates in the wasm heap until the next read, so this view of
      // HEAPU8 (taken after the read, which may have grown the heap) stays valid.
      const bytes = module.HEAPU8.subarray(ptr, ptr + rows * rowSize);
      decodeRows(bytes, rows, rowSize, fields, columns, start);
      onSlice?.(start + rows);
    }
  } finally {
    module._free(ptr);
  }
  return columns;
}

/** Rows decoded per block: every field's pass over a block then reads it from L1/L2, not memory. */
const BLOCK_BYTES = 16 << 10;

/**
 * Aligned little-endian fields are copied as raw bits (8/16/32-bit words; 64-bit fields as pairs of
 * 32-bit words, so no BigInt per value), with a strided view, one field at a time; anything else goes
 * through a DataView. Bits, not numbers: one copy loop per word size whatever the element type, and
 * every value (NaN payloads included) lands exactly as stored. The rows are taken in blocks of about
 * 16 KB, all fields per block: one field at a time over a whole 8 MB slice streamed the slice from
 * memory once per field (43 times for a Peaks table).
 */
function decodeRows(
  bytes: Uint8Array,
  rows: number,
  rowSize: number,
  fields: CompoundField[],
  columns: Map<string, NumericArray>,
  at: number,
): void {
  const buffer = bytes.buffer as ArrayBuffer;
  const words = {
    1: bytes,
    2: bytes.byteOffset % 2 === 0 ? new Uint16Array(buffer, bytes.byteOffset, bytes.byteLength >> 1) : undefined,
    4: bytes.byteOffset % 4 === 0 ? new Uint32Array(buffer, bytes.byteOffset, bytes.byteLength >> 2) : undefined,
  };
  const plans: { src: Uint8Array | Uint16Array | Uint32Array; dst: Uint8Array | Uint16Array | Uint32Array; first: number; stride: number; perRow: number }[] = [];
  const unaligned: CompoundField[] = [];
  for (const f of fields) {
    const out = columns.get(f.name)!;
    const size = f.size;
    // 64-bit fields move as two 32-bit words per row.
    const word = size === 8 ? 4 : size;
    const src = words[word as 1 | 2 | 4];
    if (!f.littleEndian || !src || f.offset % word !== 0 || rowSize % word !== 0 || !(word === 1 || word === 2 || word === 4)) {
      unaligned.push(f);
      continue;
    }
    const perRow = size / word;
    const View = word === 1 ? Uint8Array : word === 2 ? Uint16Array : Uint32Array;
    plans.push({ src, dst: new View(out.buffer as ArrayBuffer, out.byteOffset, out.length * perRow), first: f.offset / word, stride: rowSize / word, perRow });
  }
  const blockRows = Math.max(1, Math.floor(BLOCK_BYTES / rowSize));
  for (let r0 = 0; r0 < rows; r0 += blockRows) {
    const n = Math.min(blockRows, rows - r0);
    for (const p of plans) {
      const first = p.first + r0 * p.stride;
      const to = (at + r0) * p.perRow;
      if (p.perRow === 2) copyPairs(p.src as Uint32Array, p.dst as Uint32Array, first, p.stride, n, to);
      else if (p.src instanceof Uint32Array) copyWords32(p.src, p.dst as Uint32Array, first, p.stride, n, to);
      else if (p.src instanceof Uint16Array) copyWords16(p.src, p.dst as Uint16Array, first, p.stride, n, to);
      else copyWords8(p.src as Uint8Array, p.dst as Uint8Array, first, p.stride, n, to);
    }
  }
  // Rare (packed or big-endian tables): a DataView per value, no gain from blocking.
  for (const f of unaligned) decodeUnaligned(bytes, rows, rowSize, f, columns.get(f.name)!, at);
}

function decodeUnaligned(bytes: Uint8Array, rows: number, rowSize: number, f: CompoundField, out: NumericArray, at: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const get = getter(dv, f.dtype!, f.littleEndian);
  const target = out as unknown as { [i: number]: number | bigint };
  for (let r = 0, o = f.offset; r < rows; r++, o += rowSize) target[at + r] = get(o);
}

function copyPairs(src: Uint32Array, dst: Uint32Array, first: number, stride: number, rows: number, at: number): void {
  for (let r = 0, i = first; r < rows; r++, i += stride) {
    dst[at + 2 * r] = src[i];
    dst[at + 2 * r + 1] = src[i + 1];
  }
}

// One loop per word size, each seeing one array type only (a shared generic loop runs megamorphic).
function copyWords32(src: Uint32Array, dst: Uint32Array, first: number, stride: number, rows: number, at: number): void {
  for (let r = 0, i = first; r < rows; r++, i += stride) dst[at + r] = src[i];
}

function copyWords16(src: Uint16Array, dst: Uint16Array, first: number, stride: number, rows: number, at: number): void {
  for (let r = 0, i = first; r < rows; r++, i += stride) dst[at + r] = src[i];
}

function copyWords8(src: Uint8Array, dst: Uint8Array, first: number, stride: number, rows: number, at: number): void {
  for (let r = 0, i = first; r < rows; r++, i += stride) dst[at + r] = src[i];
}

function getter(dv: DataView, dtype: DType, le: boolean): (offset: number) => number | bigint {
  switch (dtype) {
    case "int8": return (o) => dv.getInt8(o);
    case "uint8": return (o) => dv.getUint8(o);
    case "int16": return (o) => dv.getInt16(o, le);
    case "uint16": return (o) => dv.getUint16(o, le);
    case "int32": return (o) => dv.getInt32(o, le);
    case "uint32": return (o) => dv.getUint32(o, le);
    case "int64": return (o) => dv.getBigInt64(o, le);
    case "uint64": return (o) => dv.getBigUint64(o, le);
    case "float32": return (o) => dv.getFloat32(o, le);
    case "float64": return (o) => dv.getFloat64(o, le);
  }
}
