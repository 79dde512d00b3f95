/**
 * The one h5wasm handle everything in io/ uses. The browser build (`h5wasm`) and the Node build
 * (`h5wasm/node`, real files on disk) expose the same API; callers load the right one once
 * (`h5node.ts` / `h5browser.ts`) and pass it down, so readers and writers are shared.
 */
import type h5wasmDefault from "h5wasm";
import { TYPED_ARRAY_BY_DTYPE, type DType } from "../core/ndarray.ts";
import { HdmeaError } from "../core/failure.ts";

export type H5 = typeof h5wasmDefault;
export type H5File = InstanceType<H5["File"]>;
export type H5Group = InstanceType<H5["Group"]>;
export type H5Dataset = InstanceType<H5["Dataset"]>;
export type H5Module = Awaited<H5["ready"]>;

export interface H5Runtime {
  h5: H5;
  module: H5Module;
  /** Emscripten FS: MEMFS, dropped-file and OPFS mounts in the browser, the real disk in Node. */
  fs: H5Module["FS"];
}

export async function initRuntime(h5: H5): Promise<H5Runtime> {
  const module = await h5.ready;
  // Without it a failed H5Fopen returns id -1 silently; with it we get an exception to translate.
  module.activate_throwing_error_handler();
  for (const type of [h5.File, h5.Group, h5.Dataset]) builds.set(type, { h5, module });
  return { h5, module, fs: module.FS };
}

/** Each initialised h5wasm build, by its File/Group/Dataset classes (Node and browser builds can coexist). */
const builds = new WeakMap<object, { h5: H5; module: H5Module }>();

/**
 * The h5wasm build (classes and module) behind a File/Group/Dataset, for the readers that call the
 * module directly (`readValue`, `readNumericRows`); undefined if it was not set up with `initRuntime`.
 */
export function buildOf(node: H5Group | H5Dataset): { h5: H5; module: H5Module } | undefined {
  return builds.get(node.constructor);
}

export function moduleOf(node: H5Group | H5Dataset): H5Module | undefined {
  return builds.get(node.constructor)?.module;
}

/**
 * `group.create_dataset(args)` without h5wasm's lookup of the dataset it has just created: h5wasm
 * ends `create_dataset` (and `create_group`) with `this.get(name)`, a type lookup that resolves the
 * path from the root several times over — about a fifth of the time of a save of many small
 * datasets. Returns the object that lookup returns (a Dataset for that path).
 */
export function createDataset(group: H5Group, args: Parameters<H5Group["create_dataset"]>[0]): H5Dataset {
  const build = buildOf(group);
  if (!build) return group.create_dataset(args) as H5Dataset;
  const known = Object.create(group) as H5Group;
  known.get = ((name: string) => new build.h5.Dataset(group.file_id, memberPath(group, name))) as H5Group["get"];
  return known.create_dataset(args) as H5Dataset;
}

/** `group.create_group(name)` without h5wasm's lookup of the group it has just created (see `createDataset`). */
export function createGroup(group: H5Group, name: string): H5Group {
  const build = buildOf(group);
  if (!build) return group.create_group(name) as H5Group;
  const known = Object.create(group) as H5Group;
  known.get = ((member: string) => new build.h5.Group(group.file_id, memberPath(group, member))) as H5Group["get"];
  return known.create_group(name) as H5Group;
}

/** The path `group.get(name)` resolves (h5wasm's own rule: absolute names as they are, doubled and trailing slashes dropped). */
function memberPath(group: H5Group, name: string): string {
  const path = name.startsWith("/") ? name : `${group.path}/${name}`;
  return path === "/" ? path : path.replace(/\/\/+/g, "/").replace(/\/+$/, "");
}

/** h5wasm's description of a dataset or attribute (type class, element size, shape, …). */
export type H5Metadata = ReturnType<H5Module["get_dataset_metadata"]>;

// HDF5 type classes (H5T_class_t) as h5wasm reports them.
export const H5T_INTEGER = 0;
export const H5T_FLOAT = 1;
export const H5T_STRING = 3;
export const H5T_ENUM = 8;

/** The model's dtype for an HDF5 integer, enum or float of this size, if it has one. */
export function numericDtype(meta: { type: number; size: number; signed: boolean }): DType | undefined {
  if (meta.type === H5T_FLOAT) return meta.size === 4 ? "float32" : meta.size === 8 ? "float64" : undefined;
  if (meta.type === H5T_INTEGER || meta.type === H5T_ENUM) {
    const bits = meta.size * 8;
    if (![8, 16, 32, 64].includes(bits)) return undefined;
    return `${meta.signed ? "int" : "uint"}${bits}` as DType;
  }
  return undefined;
}

/** Heap memory for one read, released by the caller (`module._free`). */
function heapAlloc(module: H5Module, bytes: number): number {
  const ptr = module._malloc(Math.max(1, bytes));
  if (ptr === 0) throw new Error(`cannot allocate ${bytes} bytes in the wasm heap`);
  return ptr;
}

/**
 * The value of a string, integer, float or enum dataset or attribute (`attribute` names it; else
 * `path` is the dataset), decoded as h5wasm's `.value` decodes it — a typed array or an array of
 * strings, or their one element for a scalar — in one metadata call and one read, without
 * h5wasm's wrapper objects. Undefined for other types and for empty (null) dataspaces, which are
 * not read at all. The buffer is zeroed before a string read, so a read that fails midway (a
 * damaged string heap) leaves nothing for the release of the strings to free but what HDF5 wrote
 * (h5wasm's own `.value` releases an uninitialised buffer in that case).
 */
export function readValue(
  module: H5Module,
  fileId: bigint,
  path: string,
  attribute?: string,
  metadata: H5Metadata = attribute === undefined ? module.get_dataset_metadata(fileId, path) : module.get_attribute_metadata(fileId, path, attribute),
): { metadata: H5Metadata; value: string | string[] | number | bigint | ArrayBufferView | undefined } {
  const { type, size, shape } = metadata;
  const numeric = type === H5T_INTEGER || type === H5T_FLOAT || type === H5T_ENUM;
  if (!shape || (type !== H5T_STRING && !numeric)) return { metadata, value: undefined };
  const bytes = size * metadata.total_size;
  const ptr = heapAlloc(module, bytes);
  let read = false;
  try {
    if (type === H5T_STRING) module.HEAPU8.fill(0, ptr, ptr + bytes);
    if (attribute === undefined) module.get_dataset_data(fileId, path, null, null, null, BigInt(ptr));
    else module.get_attribute_data(fileId, path, attribute, BigInt(ptr));
    read = true;
    let value: string[] | ArrayBufferView;
    if (type === H5T_STRING) value = decodeStrings(module, ptr, bytes, metadata);
    else {
      const dtype = numericDtype(metadata);
      if (!dtype) return { metadata, value: undefined };
      value = new TYPED_ARRAY_BY_DTYPE[dtype](module.HEAPU8.slice(ptr, ptr + bytes).buffer);
    }
    return { metadata, value: shape.length === 0 ? (value as unknown as ArrayLike<string | number | bigint>)[0] : (value as string[] | ArrayBufferView) };
  } finally {
    if (metadata.vlen) {
      try {
        module.reclaim_vlen_memory(fileId, path, attribute ?? "", BigInt(ptr));
      } catch (error) {
        // After a failed read the release can fail too; the read's own error is the one to report.
        if (read) throw error;
      }
    }
    module._free(ptr);
  }
}

function decodeStrings(module: H5Module, ptr: number, bytes: number, metadata: H5Metadata): string[] {
  const out: string[] = [];
  if (metadata.vlen) {
    const read = metadata.cset === 1 ? module.UTF8ToString : (module as unknown as { AsciiToString(p: number): string }).AsciiToString;
    // char* in wasm32: 4 bytes each.
    const pointers = new Uint32Array(module.HEAPU8.buffer, ptr, bytes / 4);
    for (const p of pointers) out.push(read(p));
    return out;
  }
  const decoder = new TextDecoder(metadata.cset === 1 ? "utf-8" : "ascii");
  const raw = module.HEAPU8.subarray(ptr, ptr + bytes);
  for (let at = 0; at + metadata.size <= bytes; at += metadata.size) {
    const item = raw.subarray(at, at + metadata.size);
    const zero = item.indexOf(0);
    out.push(decoder.decode(zero === -1 ? item : item.slice(0, zero)));
  }
  return out;
}

/** The names of a node's attributes (h5wasm's `attrs` builds an object of every attribute first: three times the cost). */
export function attributeNamesOf(node: H5Group | H5Dataset): string[] {
  const module = moduleOf(node);
  return module ? module.get_attribute_names(node.file_id, node.path) : Object.keys(node.attrs);
}

/** True if `node` (what `group.get(name)` returns) is a group. */
export function isGroup(node: unknown): node is H5Group {
  return node instanceof Object && "keys" in node && typeof node.keys === "function";
}

/**
 * `node.attrs[name].value` for an attribute that exists, read with `readValue` where it can
 * (strings and numbers: the value is the same, in fewer calls and with a zeroed buffer).
 */
export function attributeValueOf(node: H5Group | H5Dataset, name: string): unknown {
  const module = moduleOf(node);
  if (module) {
    const { value } = readValue(module, node.file_id, node.path, name);
    if (value !== undefined) return value;
  }
  return node.attrs[name]?.value;
}

/**
 * Reads rows [start, end) of a numeric dataset of shape `shape` (all of it for a scalar) straight
 * into `out` (raw little-endian bytes, as h5wasm reads them), through one heap buffer: one copy
 * from the wasm heap, none through h5wasm's intermediate arrays.
 */
export function readNumericRows(module: H5Module, fileId: bigint, path: string, shape: number[], start: number, end: number, out: Uint8Array): void {
  const ptr = heapAlloc(module, out.length);
  try {
    if (shape.length === 0 || (start === 0 && end === shape[0])) {
      module.get_dataset_data(fileId, path, null, null, null, BigInt(ptr));
    } else {
      const count = [BigInt(end - start), ...shape.slice(1).map(BigInt)];
      const offset = [BigInt(start), ...shape.slice(1).map(() => 0n)];
      const stride = shape.map(() => 1n);
      module.get_dataset_data(fileId, path, count, offset, stride, BigInt(ptr));
    }
    out.set(module.HEAPU8.subarray(ptr, ptr + out.length));
  } finally {
    module._free(ptr);
  }
}

/** Turns HDF5's multi-line error stack into its most specific line. */
export function hdf5ErrorSummary(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (!text.includes("HDF5-DIAG")) return text;
  const minors = [...text.matchAll(/minor: (.+)/g)].map((m) => m[1].trim());
  const detail = [...text.matchAll(/in (\w+)\(\): ([^\n]+)/g)].map((m) => m[2].trim());
  return detail.at(-1) ?? minors.at(-1) ?? "HDF5 error";
}

/**
 * The error to throw for `error` met while reading `what` of `fileName`: our own errors about this
 * file (an `HdmeaError` naming it) unchanged; anything else — HDF5's multi-line stacks, RangeErrors from typed
 * arrays, wasm traps, even non-Error throws — as one line naming the file and what was being read.
 */
export function damagedFileError(fileName: string, what: string, error: unknown): Error {
  // Our own readers' errors about this file already say what is wrong with it.
  if (error instanceof HdmeaError && error.file === fileName) return error;
  const summary = hdf5ErrorSummary(error).split("\n")[0].slice(0, 200);
  return new HdmeaError(`${fileName}: cannot read ${what} (${summary}); the file may be truncated or damaged`, "damaged-file", fileName);
}

/**
 * Closes a file without letting a second failure hide the first: closing a damaged file can throw
 * too, and the reader's own error is the one that says what is wrong.
 */
export function closeQuietly(file: H5File): void {
  try {
    file.close();
  } catch {
    // The handle is released either way; the reader has already reported (or returned) its result.
  }
}

export function fileExists(rt: H5Runtime, path: string): boolean {
  return rt.fs.analyzePath(path, false).exists;
}

export function fileSize(rt: H5Runtime, path: string): number {
  return rt.fs.stat(path, false).size;
}

export function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** Opens an HDF5 file with a clear error naming the file if it is missing, empty or not HDF5. */
export function openH5(rt: H5Runtime, path: string, mode: "r" | "a" | "w" = "r"): H5File {
  const name = baseName(path);
  if (mode !== "w") {
    if (!fileExists(rt, path)) throw new HdmeaError(`${name}: file not found`, "bad-input", name);
    const size = fileSize(rt, path);
    if (size === 0) throw new HdmeaError(`${name}: the file is empty (0 bytes)`, "bad-input", name);
    if (!hasHdf5Signature(rt, path)) throw new HdmeaError(`${name}: not an HDF5 file (no HDF5 signature)`, "bad-input", name);
  }
  try {
    return new rt.h5.File(path, mode);
  } catch (error) {
    throw new HdmeaError(`${name}: cannot open as HDF5 (${hdf5ErrorSummary(error)}); the file may be truncated or damaged`, "damaged-file", name);
  }
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5 puts its signature at 0, 512, 1024, 2048, … (user blocks); check the first few places. */
function hasHdf5Signature(rt: H5Runtime, path: string): boolean {
  const stream = rt.fs.open(path, "r");
  try {
    const buf = new Uint8Array(8);
    const size = rt.fs.stat(path, false).size;
    for (let at = 0; at + 8 <= size && at <= 1 << 20; at = at === 0 ? 512 : at * 2) {
      rt.fs.read(stream, buf, 0, 8, at);
      if (SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    rt.fs.close(stream);
  }
}
