/**
 * Maps the core data model (NDArray / StringArray / string / Tree) to HDF5 datasets and groups and
 * back. Big arrays are written and read in bounded slices so the wasm heap only ever holds one
 * slice, whatever the session size.
 */
import type { GroupLook } from "../core/deferredGroup.ts";
import {
  NDArray,
  StringArray,
  TYPED_ARRAY_BY_DTYPE,
  elementCount,
  isTree,
  type DType,
  type NumericArray,
  type SourceBytes,
  type Tree,
  type TreeNode,
} from "../core/ndarray.ts";
import { H5T_STRING, attributeNamesOf, buildOf, isGroup, createDataset, createGroup, moduleOf, numericDtype, readNumericRows, readValue, type H5Dataset, type H5Group, type H5Module } from "./h5.ts";
import { HdmeaError } from "../core/failure.ts";

export interface WriteOptions {
  /** Largest slice passed to HDF5 in one call. */
  sliceBytes: number;
  /** gzip level for chunked datasets (0 = off). */
  compression: number;
  /** Set: big arrays are created now and filled by `ValuesLater.write`, after the whole tree. */
  valuesLater?: ValuesLater;
}

/**
 * Arrays of `fromBytes` or more whose datasets exist (chunked, empty) but whose values are written
 * only after the whole tree. HDF5 puts an object header where the file ends when the object is
 * made, so written this way every group, attribute, small array and dataset header of a session
 * sits together at the front of the file. Opening it lazily (the units, their attributes and the
 * shapes of their arrays) then reads a few MB there instead of a few blocks near each unit's data
 * throughout the file; in a browser each distinct block is a read of the dropped File of several ms.
 */
export class ValuesLater {
  readonly #queue: { dataset: H5Dataset; array: NDArray }[] = [];
  constructor(readonly fromBytes: number) {}

  takes(array: NDArray): boolean {
    return array.byteLength >= this.fromBytes && array.shape.length > 0 && array.shape[0] > 0;
  }

  add(dataset: H5Dataset, array: NDArray): void {
    this.#queue.push({ dataset, array });
  }

  /** Writes the values, in the order the arrays were created. */
  write(options: WriteOptions): void {
    for (const { dataset, array } of this.#queue.splice(0)) writeRows(dataset, array, options);
  }
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
    createDataset(group, { name, data: [...node.data], shape: [...node.shape], dtype: "S" });
  } else if (typeof node === "string") {
    createDataset(group, { name, data: node, shape: [], dtype: "S" });
  } else if (isTree(node)) {
    writeTree(createGroup(group, name), node, options);
  }
}

export function writeArray(group: H5Group, name: string, array: NDArray, options: WriteOptions): H5Dataset {
  const { shape, byteLength } = array;
  const dtype = H5_DTYPE[array.dtype];
  const later = options.valuesLater?.takes(array) ? options.valuesLater : undefined;
  // Small arrays stay contiguous (as h5py writes them); compression needs chunks, so it chunks
  // earlier, and so does an array filled later (a contiguous dataset is placed when it is written).
  const chunked = later !== undefined || byteLength > (options.compression > 0 ? COMPRESS_FROM_BYTES : options.sliceBytes);
  if (!chunked || shape.length === 0 || shape[0] === 0) {
    const data = array.packedBytes !== undefined ? expandedOnce(array) : array.data;
    return createDataset(group, { name, data, shape: [...shape], dtype });
  }
  // Chunked along the first axis: create empty, grow to full size, then fill slice by slice.
  const Ctor = TYPED_ARRAY_BY_DTYPE[array.dtype];
  const rowElements = elementCount(shape.slice(1));
  const rowBytes = rowElements * Ctor.BYTES_PER_ELEMENT;
  // An array that would have been contiguous is one chunk: no partly filled last chunk on disk.
  const oneChunk = later !== undefined && options.compression === 0 && byteLength <= options.sliceBytes;
  const chunkRows = oneChunk ? shape[0] : Math.max(1, Math.min(shape[0], Math.floor(CHUNK_TARGET_BYTES / rowBytes)));
  const dataset = createDataset(group, {
    name,
    data: new Ctor(0),
    shape: [0, ...shape.slice(1)],
    maxshape: [...shape],
    chunks: [chunkRows, ...shape.slice(1)],
    dtype,
    ...(options.compression > 0 ? { compression: "gzip" as const, compression_opts: options.compression } : {}),
  });
  // Filled later, it grows then: growing it now would load and rewrite its header twice.
  if (later) later.add(dataset, array);
  else writeRows(dataset, array, options);
  return dataset;
}

/** Grows a chunked dataset made empty to the array's shape and fills it, one slice at a time. */
function writeRows(dataset: H5Dataset, array: NDArray, options: WriteOptions): void {
  const { shape } = array;
  dataset.resize([...shape]);
  const Ctor = TYPED_ARRAY_BY_DTYPE[array.dtype];
  const rowElements = elementCount(shape.slice(1));
  const rowBytes = rowElements * Ctor.BYTES_PER_ELEMENT;
  const sliceRows = Math.max(1, Math.floor(options.sliceBytes / rowBytes));
  // An array not in memory (spilled, or left in its source file) is read one slice at a time, into
  // one buffer reused from array to array (h5wasm copies each slice into its heap before writing).
  const buffer = !array.isResident ? scratchOf(Ctor, Math.min(shape[0], sliceRows) * rowElements) : undefined;
  for (let row = 0; row < shape[0]; row += sliceRows) {
    const end = Math.min(shape[0], row + sliceRows);
    const ranges = [[row, end], ...shape.slice(1).map(() => [] as [])] as [number, number][];
    const slice = buffer
      ? buffer.subarray(0, (end - row) * rowElements)
      : array.data.subarray(row * rowElements, end * rowElements);
    if (buffer) array.bytesAt(row * rowBytes, new Uint8Array(slice.buffer, slice.byteOffset, slice.byteLength));
    dataset.write_slice(ranges, slice);
  }
}

let rowsScratch = new ArrayBuffer(0);
/** A typed array of `length` over the one scratch buffer: a save of 1,000 units' 42 cutout columns each allocates once, not 42,000 times. */
function scratchOf(Ctor: (typeof TYPED_ARRAY_BY_DTYPE)[DType], length: number): NumericArray {
  const bytes = length * Ctor.BYTES_PER_ELEMENT;
  if (rowsScratch.byteLength < bytes) rowsScratch = new ArrayBuffer(bytes);
  return new Ctor(rowsScratch, 0, length) as NumericArray;
}

/**
 * A packed array (frif's rates) expanded into one buffer reused from dataset to dataset: h5wasm
 * copies the values into its heap before it writes, so nothing keeps them. A fresh full array for
 * each of 1,000 units' 0.85 MB of rates is memory the process must fault in and collect.
 */
let expandBuffer = new ArrayBuffer(0);
function expandedOnce(array: NDArray): NumericArray {
  if (expandBuffer.byteLength < array.byteLength) expandBuffer = new ArrayBuffer(array.byteLength);
  array.bytesAt(0, new Uint8Array(expandBuffer, 0, array.byteLength));
  const Ctor = TYPED_ARRAY_BY_DTYPE[array.dtype];
  return new Ctor(expandBuffer, 0, array.byteLength / Ctor.BYTES_PER_ELEMENT) as NumericArray;
}

export interface ReadReport {
  /** Paths skipped because their type has no place in the model (compound, reference, …). */
  skipped: string[];
  /** Size limits for the file being read; without them any declared size is trusted. */
  limits?: ReadLimits;
  /** Numeric datasets this big or bigger stay in the file, read when something uses them. */
  keepInFile?: KeepInFile;
  /**
   * Set: a group's subgroups are not read but handed to this, which puts a deferred group in their
   * place (`core/deferredGroup.ts`), read when first used; only the group's own datasets and
   * attributes are read now.
   */
  deferGroup?: (tree: Tree, name: string, path: string) => void;
  /** Members expected to be datasets (a unit's `spike_times`): read as such without asking their type first. */
  expectDatasets?: ReadonlySet<string>;
}

/** Which arrays a read leaves in the file, and how they read from it later (`io/sourceFile.ts`). */
export interface KeepInFile {
  fromBytes: number;
  bytes(datasetPath: string, dtype: DType, shape: readonly number[]): SourceBytes;
}

/**
 * What a file can plausibly hold. A dataset's shape is just a number in its header: one damaged
 * byte can claim 10^12 elements, and allocating for that before HDF5 notices kills the tab. So
 * every read checks the declared size first: anything up to `freeBytes` is fine (a small file can
 * legitimately declare unwritten chunks, which read as fill values); above that, a dataset must fit
 * in `maxRatio` × the file size (deflate cannot do better than ~1032:1), and all datasets read from
 * one file together as well.
 */
export interface ReadLimits {
  fileName: string;
  fileBytes: number;
  /** Declared bytes accepted without comparing with the file size. */
  freeBytes: number;
  maxRatio: number;
  /** Bytes declared by the datasets read so far (updated by readDataset). */
  declaredBytes: number;
}

export function readLimits(fileName: string, fileBytes: number): ReadLimits {
  return { fileName, fileBytes, freeBytes: 256 << 20, maxRatio: 1100, declaredBytes: 0 };
}

/** Nesting deeper than this is a damaged file (or a link cycle), not a session. */
const MAX_DEPTH = 64;

/** Throws `NAME: PATH claims …` when `bytes` cannot come from a file of this size. */
export function checkDeclaredSize(limits: ReadLimits | undefined, path: string, bytes: number, what: string): void {
  if (!limits) return;
  const cap = Math.max(limits.freeBytes, limits.fileBytes * limits.maxRatio);
  const total = limits.declaredBytes + bytes;
  if (!Number.isFinite(bytes) || bytes > cap || total > cap) {
    throw new HdmeaError(
      `${limits.fileName}: ${path} claims ${what} (${formatBytes(bytes)}${bytes <= cap ? `, ${formatBytes(total)} with the data before it` : ""}), ` +
        `more than a ${formatBytes(limits.fileBytes)} file can hold; the file may be damaged`,
      "damaged-file",
      limits.fileName,
    );
  }
  limits.declaredBytes = total;
}

function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return `${n} bytes`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} bytes`;
}

/**
 * A group as a tree. Attributes of groups become leaves beside the children (as the lab's
 * universal loader turns "nested attributes" into datasets: the older immediate-mode files keep
 * scalar features and `_attrs` that way); `ownAttrs = false` leaves the top group's attributes to
 * the caller. Attributes of datasets have no place in the model and are reported as skipped.
 */
export function readTree(group: H5Group, report: ReadReport, sliceBytes = DEFAULT_WRITE_OPTIONS.sliceBytes, depth = 0, ownAttrs = true): Tree {
  checkDepth(group, report, depth);
  if (report.deferGroup) return readLevel(group, report, sliceBytes, depth, ownAttrs);
  const build = buildOf(group);
  // One listing of the whole subtree (HDF5 visits it in name order, as `keys()` lists a group)
  // instead of a `keys()` per group and a type lookup per child: each lookup resolves the path
  // from the root several times over, and they were a fifth of the reading time.
  if (build) return readListed(build, group, listSubtree(build.module, group), report, sliceBytes, depth, ownAttrs);
  const tree: Tree = {};
  const names = group.keys();
  for (const name of names) readChild(group, name, group.get(name), tree, report, sliceBytes, depth);
  if (ownAttrs) Object.assign(tree, readAttributes(group, report, new Set(names)));
  return tree;
}

/** `readTree` of one level: subgroups go to `report.deferGroup`. */
function readLevel(group: H5Group, report: ReadReport, sliceBytes: number, depth: number, ownAttrs: boolean): Tree {
  const tree: Tree = {};
  const names = group.keys();
  for (const name of names) readLevelMember(group, name, tree, report, sliceBytes, depth);
  if (ownAttrs) Object.assign(tree, readAttributes(group, report, new Set(names)));
  return tree;
}

function readLevelMember(group: H5Group, name: string, tree: Tree, report: ReadReport, sliceBytes: number, depth: number): void {
  const build = buildOf(group);
  // Asking a member's type resolves its path again (a fifth of opening a 1,000-unit file).
  const expected = build && report.expectDatasets?.has(name) ? datasetAt(build, group, name) : undefined;
  if (expected) return readDatasetChild(group, name, expected, tree, report, sliceBytes);
  const child = group.get(name);
  if (isGroup(child)) report.deferGroup!(tree, name, child.path);
  else readChild(group, name, child, tree, report, sliceBytes, depth);
}

/**
 * Reads by relative paths inside `group` (`core/deferredGroup.ts` `GroupLook`), each member as
 * `readTree` of one level reads it (`report.deferGroup` set): a group's attributes are leaves too.
 */
export function groupLook(group: H5Group, report: ReadReport, depth: number): GroupLook {
  // Each group on the way, its member names and (when asked) its attribute names, resolved once per
  // look: the science columns ask `x/data` for its movies, then `x/data/<movie>/<key>` for each.
  interface Visited {
    group: H5Group;
    names: string[];
    attrs(): string[];
  }
  const visit = (at: H5Group): Visited => {
    let attrs: string[] | undefined;
    return { group: at, names: at.keys(), attrs: () => (attrs ??= attributeNamesOf(at)) };
  };
  const groups = new Map<string, Visited | undefined>([["", visit(group)]]);
  const groupAt = (path: string): Visited | undefined => {
    if (groups.has(path)) return groups.get(path);
    const cut = path.lastIndexOf("/");
    const parent = groupAt(cut < 0 ? "" : path.slice(0, cut));
    const name = path.slice(cut + 1);
    // Asked only for a member that exists: h5wasm's lookup of a missing path is an HDF5 error, not undefined.
    const next = parent?.names.includes(name) ? parent.group.get(name) : undefined;
    const found = isGroup(next) ? visit(next) : undefined;
    groups.set(path, found);
    return found;
  };
  return {
    names(path) {
      const at = groupAt(path);
      if (!at) return undefined;
      const taken = new Set(at.names);
      return [...at.names, ...at.attrs().filter((a) => !taken.has(a))];
    },
    leaf(path) {
      const cut = path.lastIndexOf("/");
      const at = groupAt(cut < 0 ? "" : path.slice(0, cut));
      const name = path.slice(cut + 1);
      if (!at) return undefined;
      const tree: Tree = {};
      if (at.names.includes(name)) readLevelMember(at.group, name, tree, report, DEFAULT_WRITE_OPTIONS.sliceBytes, depth + path.split("/").length - 1);
      else if (at.attrs().includes(name)) Object.assign(tree, readAttributes(at.group, report, new Set(at.names)));
      // A subgroup read this way is deferred: no leaf.
      return Object.getOwnPropertyDescriptor(tree, name)?.get ? undefined : tree[name];
    },
  };
}

/** The dataset `name` of `group`, or undefined if it is something else. */
function datasetAt(build: { h5: { Dataset: new (fileId: bigint, path: string) => H5Dataset } }, group: H5Group, name: string): H5Dataset | undefined {
  const dataset = new build.h5.Dataset(group.file_id, `${group.path === "/" ? "" : group.path}/${name}`);
  try {
    void dataset.metadata;
    return dataset;
  } catch {
    return undefined;
  }
}

/** One member of `group` (as `group.get(name)` returns it) into `tree`, or reported as skipped. */
function readChild(group: H5Group, name: string, child: unknown, tree: Tree, report: ReadReport, sliceBytes: number, depth: number): void {
  if (isGroup(child)) {
    tree[name] = readTree(child, report, sliceBytes, depth + 1);
  } else if (child && (child as H5Dataset).type === "Dataset") {
    readDatasetChild(group, name, child as H5Dataset, tree, report, sliceBytes);
  } else {
    report.skipped.push(`${group.path}/${name}`);
  }
}

function readDatasetChild(group: H5Group, name: string, dataset: H5Dataset, tree: Tree, report: ReadReport, sliceBytes: number): void {
  const value = readDataset(dataset, sliceBytes, report.limits, report.keepInFile);
  if (value === undefined) report.skipped.push(`${group.path}/${name}`);
  else tree[name] = value;
  for (const attr of attributeNamesOf(dataset)) report.skipped.push(`${dataset.path}@${attr}`);
}

function checkDepth(group: H5Group, report: ReadReport, depth: number): void {
  if (depth > MAX_DEPTH) {
    throw new HdmeaError(`${report.limits?.fileName ?? "file"}: ${group.path} is nested more than ${MAX_DEPTH} groups deep (a damaged file or a link cycle)`, "damaged-file", report.limits?.fileName);
  }
}

/** A group's members from a recursive listing: members with members of their own are groups. */
interface Listed {
  children: Map<string, Listed>;
}

function listSubtree(module: H5Module, group: H5Group): Listed {
  const root: Listed = { children: new Map() };
  for (const path of module.get_names(group.file_id, group.path, true) as string[]) {
    let node = root;
    for (const part of path.split("/")) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { children: new Map() }));
      node = next;
    }
  }
  return root;
}

/** `readTree` over a listing: the same tree and reports, in the same order. */
function readListed(
  build: { h5: { Group: new (fileId: bigint, path: string) => H5Group; Dataset: new (fileId: bigint, path: string) => H5Dataset } },
  group: H5Group,
  listed: Listed,
  report: ReadReport,
  sliceBytes: number,
  depth: number,
  ownAttrs: boolean,
): Tree {
  checkDepth(group, report, depth);
  const tree: Tree = {};
  const base = group.path === "/" ? "" : group.path;
  for (const [name, member] of listed.children) {
    const path = `${base}/${name}`;
    if (member.children.size > 0) {
      // Only a (hard-linked) group has members of its own in the listing.
      tree[name] = readListed(build, new build.h5.Group(group.file_id, path), member, report, sliceBytes, depth + 1, true);
      continue;
    }
    // A leaf is nearly always a dataset: asking for its metadata is the type check. Anything else
    // (an empty group, a soft or external link, a named type) fails that and is looked up as before.
    const dataset = datasetAt(build, group, name);
    if (dataset) readDatasetChild(group, name, dataset, tree, report, sliceBytes);
    else readChild(group, name, group.get(name), tree, report, sliceBytes, depth);
  }
  if (ownAttrs) Object.assign(tree, readAttributes(group, report, new Set(listed.children.keys())));
  return tree;
}

/** A node's attributes as tree leaves (scalars `()`, 1-D arrays, strings); names in `taken` are reported, not loaded. */
export function readAttributes(node: H5Group, report: ReadReport, taken: Set<string>): Tree {
  const tree: Tree = {};
  const module = moduleOf(node);
  for (const name of attributeNamesOf(node)) {
    const where = `${node.path === "/" ? "" : node.path}@${name}`;
    // One metadata call and one read per attribute (h5wasm's Attribute objects make three calls).
    const attr = module ? undefined : node.attrs[name];
    const meta = module ? module.get_attribute_metadata(node.file_id, node.path, name) : attr!.metadata;
    const shape = (meta.shape ?? []).map(Number);
    checkDeclaredSize(report.limits, where, elementCount(shape) * Math.max(1, meta.size), `[${shape.join(" × ")}] × ${meta.size} bytes`);
    const value = taken.has(name) ? undefined : module ? readValue(module, node.file_id, node.path, name, meta).value : attr!.value;
    const leaf = taken.has(name) ? undefined : attributeValue(value, meta, shape);
    if (leaf === undefined) report.skipped.push(where);
    else tree[name] = leaf;
  }
  return tree;
}

function attributeValue(value: unknown, meta: { type: number; size: number; signed: boolean }, shape: number[]): NDArray | StringArray | string | undefined {
  if (meta.type === H5T_STRING) {
    if (typeof value === "string") return value;
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return new StringArray(value as string[], shape.length ? shape : [value.length]);
    return undefined;
  }
  const dtype = numericDtype(meta);
  if (!dtype || value === null || value === undefined) return undefined;
  const out = new TYPED_ARRAY_BY_DTYPE[dtype](Math.max(1, elementCount(shape))) as NumericArray;
  setFrom(out, value, 0);
  return new NDArray(out, shape);
}

/**
 * Reads one dataset into the model, slice by slice for large ones; undefined if the type is
 * unsupported. With `limits`, the declared size is checked against the file before anything is
 * allocated.
 */
export function readDataset(
  dataset: H5Dataset,
  sliceBytes = DEFAULT_WRITE_OPTIONS.sliceBytes,
  limits?: ReadLimits,
  keepInFile?: KeepInFile,
): NDArray | StringArray | string | undefined {
  const meta = dataset.metadata;
  const shape = (dataset.shape ?? []).map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new HdmeaError(`${limits?.fileName ?? "file"}: ${dataset.path} has an invalid shape [${shape.join(", ")}]; the file may be damaged`, "damaged-file", limits?.fileName);
  }
  const declared = elementCount(shape) * Math.max(1, meta.size);
  if (meta.type === H5T_STRING || numericDtype(meta)) {
    // Strings: the fixed part (8 bytes per variable-length string) is a lower bound of what they take.
    checkDeclaredSize(limits, dataset.path, declared, `[${shape.join(" × ")}] × ${meta.size} bytes`);
  }
  // h5wasm's module, called directly (one metadata call per dataset, one copy out of the heap);
  // null dataspaces keep h5wasm's own handling.
  const module = meta.shape ? moduleOf(dataset) : undefined;
  if (meta.type === H5T_STRING) {
    const value = module ? readValue(module, dataset.file_id, dataset.path, undefined, meta).value : dataset.value;
    if (shape.length === 0) return String(value);
    return new StringArray((value as unknown[]).map(String), shape);
  }
  const dtype = numericDtype(meta);
  if (!dtype) return undefined;
  const Ctor = TYPED_ARRAY_BY_DTYPE[dtype];
  const total = elementCount(shape);
  // Read later, through the same reader as below, so the bytes are the same.
  if (module && keepInFile && shape.length > 0 && total * meta.size >= keepInFile.fromBytes && meta.size === Ctor.BYTES_PER_ELEMENT) {
    return NDArray.fromSource(keepInFile.bytes(dataset.path, dtype, shape), shape);
  }
  if (module) {
    // Straight into the result, in slices of at most `sliceBytes` through the wasm heap.
    const out = new Ctor(total) as NumericArray;
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    if (total === 0) return new NDArray(out, shape);
    if (shape.length === 0 || bytes.length <= sliceBytes) {
      readNumericRows(module, dataset.file_id, dataset.path, shape, 0, shape[0] ?? 1, bytes);
      return new NDArray(out, shape);
    }
    const rowBytes = elementCount(shape.slice(1)) * meta.size;
    const sliceRows = Math.max(1, Math.floor(sliceBytes / rowBytes));
    for (let row = 0; row < shape[0]; row += sliceRows) {
      const end = Math.min(shape[0], row + sliceRows);
      readNumericRows(module, dataset.file_id, dataset.path, shape, row, end, bytes.subarray(row * rowBytes, end * rowBytes));
    }
    return new NDArray(out, shape);
  }
  if (total > 0 && (shape.length === 0 || total * meta.size <= sliceBytes)) {
    const value = dataset.value;
    // h5wasm already returns a fresh typed array of the right type: keep it rather than copy it.
    if (value instanceof Ctor && value.length === total) return new NDArray(value as NumericArray, shape);
    const out = new Ctor(total) as NumericArray;
    setFrom(out, value, 0);
    return new NDArray(out, shape);
  }
  const out = new Ctor(total) as NumericArray;
  if (total === 0) return new NDArray(out, shape);
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
