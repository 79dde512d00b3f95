/**
 * Maps the core data model (NDArray / StringArray / string / Tree) to HDF5 datasets and groups and
 * back. Big arrays are written and read in bounded slices so the wasm heap only ever holds one
 * slice, whatever the session size.
 */
import {
  NDArray,
  StringArray,
  TYPED_ARRAY_BY_DTYPE,
  elementCount,
  isTree,
  type DType,
  type NumericArray,
  type Tree,
  type TreeNode,
} from "../core/ndarray.ts";
import type { H5Dataset, H5Group } from "./h5.ts";

export interface WriteOptions {
  /** Largest slice passed to HDF5 in one call. */
  sliceBytes: number;
  /** gzip level for chunked datasets (0 = off). */
  compression: number;
}

export const DEFAULT_WRITE_OPTIONS: WriteOptions = { sliceBytes: 16 << 20, compression: 0 };
const CHUNK_TARGET_BYTES = 1 << 20;
const COMPRESS_FROM_BYTES = 64 << 10;

export const H5_DTYPE: Record<DType, string> = {
  int8: "<b",
  uint8: "<B",
  int16: "<h",
  uint16: "<H",
  int32: "<i",
  uint32: "<I",
  int64: "<q",
  uint64: "<Q",
  float32: "<f",
  float64: "<d",
};

export function writeTree(group: H5Group, tree: Tree, options: WriteOptions): void {
  for (const [name, node] of Object.entries(tree)) writeNode(group, name, node, options);
}

export function writeNode(group: H5Group, name: string, node: TreeNode, options: WriteOptions): void {
  if (node instanceof NDArray) writeArray(group, name, node, options);
  else if (node instanceof StringArray) {
    group.create_dataset({ name, data: [...node.data], shape: [...node.shape], dtype: "S" });
  } else if (typeof node === "string") {
    group.create_dataset({ name, data: node, shape: [], dtype: "S" });
  } else if (isTree(node)) {
    writeTree(group.create_group(name), node, options);
  }
}

export function writeArray(group: H5Group, name: string, array: NDArray, options: WriteOptions): H5Dataset {
  const { data, shape } = array;
  const dtype = H5_DTYPE[array.dtype];
  // Small arrays stay contiguous (as h5py writes them); compression needs chunks, so it chunks earlier.
  const chunked = data.byteLength > (options.compression > 0 ? COMPRESS_FROM_BYTES : options.sliceBytes);
  if (!chunked || shape.length === 0 || shape[0] === 0) {
    return group.create_dataset({ name, data, shape: [...shape], dtype }) as H5Dataset;
  }
  // Chunked along the first axis: create empty, grow to full size, then fill slice by slice.
  const rowElements = elementCount(shape.slice(1));
  const rowBytes = rowElements * data.BYTES_PER_ELEMENT;
  const chunkRows = Math.max(1, Math.min(shape[0], Math.floor(CHUNK_TARGET_BYTES / rowBytes)));
  const empty = new (data.constructor as new (n: number) => NumericArray)(0);
  const dataset = group.create_dataset({
    name,
    data: empty,
    shape: [0, ...shape.slice(1)],
    maxshape: [...shape],
    chunks: [chunkRows, ...shape.slice(1)],
    dtype,
    ...(options.compression > 0 ? { compression: "gzip" as const, compression_opts: options.compression } : {}),
  }) as H5Dataset;
  dataset.resize([...shape]);
  const sliceRows = Math.max(1, Math.floor(options.sliceBytes / rowBytes));
  for (let row = 0; row < shape[0]; row += sliceRows) {
    const end = Math.min(shape[0], row + sliceRows);
    const ranges = [[row, end], ...shape.slice(1).map(() => [] as [])] as [number, number][];
    dataset.write_slice(ranges, data.subarray(row * rowElements, end * rowElements));
  }
  return dataset;
}

export interface ReadReport {
  /** Paths skipped because their type has no place in the model (compound, reference, …). */
  skipped: string[];
}

export function readTree(group: H5Group, report: ReadReport, sliceBytes = DEFAULT_WRITE_OPTIONS.sliceBytes): Tree {
  const tree: Tree = {};
  for (const name of group.keys()) {
    const child = group.get(name);
    if (child instanceof Object && "keys" in child && typeof child.keys === "function") {
      tree[name] = readTree(child as H5Group, report, sliceBytes);
    } else if (child && (child as H5Dataset).type === "Dataset") {
      const value = readDataset(child as H5Dataset, sliceBytes);
      if (value === undefined) report.skipped.push(`${group.path}/${name}`);
      else tree[name] = value;
    } else {
      report.skipped.push(`${group.path}/${name}`);
    }
  }
  return tree;
}

// HDF5 type classes (H5T_class_t) as h5wasm reports them.
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_STRING = 3;
const H5T_ENUM = 8;

export function numericDtype(meta: { type: number; size: number; signed: boolean }): DType | undefined {
  if (meta.type === H5T_FLOAT) return meta.size === 4 ? "float32" : meta.size === 8 ? "float64" : undefined;
  if (meta.type === H5T_INTEGER || meta.type === H5T_ENUM) {
    const bits = meta.size * 8;
    if (![8, 16, 32, 64].includes(bits)) return undefined;
    return `${meta.signed ? "int" : "uint"}${bits}` as DType;
  }
  return undefined;
}

/** Reads one dataset into the model, slice by slice for large ones; undefined if the type is unsupported. */
export function readDataset(dataset: H5Dataset, sliceBytes = DEFAULT_WRITE_OPTIONS.sliceBytes): NDArray | StringArray | string | undefined {
  const meta = dataset.metadata;
  const shape = (dataset.shape ?? []).map(Number);
  if (meta.type === H5T_STRING) {
    const value = dataset.value;
    if (shape.length === 0) return String(value);
    return new StringArray((value as unknown[]).map(String), shape);
  }
  const dtype = numericDtype(meta);
  if (!dtype) return undefined;
  const Ctor = TYPED_ARRAY_BY_DTYPE[dtype];
  const total = elementCount(shape);
  const out = new Ctor(total) as NumericArray;
  if (total === 0) return new NDArray(out, shape);
  if (shape.length === 0 || total * meta.size <= sliceBytes) {
    setFrom(out, dataset.value, 0);
    return new NDArray(out, shape);
  }
  const rowElements = elementCount(shape.slice(1));
  const sliceRows = Math.max(1, Math.floor(sliceBytes / (rowElements * meta.size)));
  for (let row = 0; row < shape[0]; row += sliceRows) {
    const end = Math.min(shape[0], row + sliceRows);
    const ranges = [[row, end], ...shape.slice(1).map(() => [] as [])] as [number, number][];
    setFrom(out, dataset.slice(ranges), row * rowElements);
  }
  return new NDArray(out, shape);
}

function setFrom(out: NumericArray, value: unknown, offset: number): void {
  if (ArrayBuffer.isView(value)) {
    (out as Float64Array).set(value as unknown as Float64Array, offset);
  } else if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    (out as unknown as (number | bigint)[])[offset] = coerce(out, value);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => ((out as unknown as (number | bigint)[])[offset + i] = coerce(out, v)));
  } else {
    throw new Error(`unexpected dataset value of type ${typeof value}`);
  }
}

function coerce(out: NumericArray, v: unknown): number | bigint {
  const isBig = out instanceof BigInt64Array || out instanceof BigUint64Array;
  if (typeof v === "boolean") return isBig ? BigInt(Number(v)) : Number(v);
  return isBig ? BigInt(v as number | bigint) : Number(v);
}
