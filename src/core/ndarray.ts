/**
 * The session's data model: n-dimensional typed arrays, string arrays and nested trees of them.
 * It mirrors what an HDF5 file can hold (datasets in groups) without knowing anything of HDF5,
 * so the session file writer can map it one to one and a round trip keeps every dtype and shape.
 */

export type NumericArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

export type DType =
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "float32"
  | "float64";

/**
 * Where the bytes of an array that is not in memory are, read back on demand: the spill store's
 * scratch file (`spillStore.ts`), or the user's own file it was read from (`SourceBytes`).
 */
export interface SpilledBytes {
  /** The whole array (callers treat it as read-only; the holder may cache it). */
  read(): NumericArray;
  /** `into.byteLength` bytes from `byteOffset`, without reading the whole array. */
  readBytes(byteOffset: number, into: Uint8Array): void;
  release(): void;
}

/**
 * A file a session's arrays still read from (a dropped `.cmtr` or `.cmcr`, an opened session file).
 * Core knows no more of it than its name and whether it is still the file that was opened; io
 * (`io/sourceFile.ts`) reads it.
 */
export interface SourceFile {
  /** The file's name, for messages. */
  readonly name: string;
  /** A copy the app keeps itself (a checkpoint in browser storage), not one of the user's files. */
  readonly keptCopy?: boolean;
  /** Throws an Error naming the file and what changed if it is gone or changed since it was opened. */
  check(): void;
  /** Closes the file; arrays still reading from it fail from then on. */
  close(): void;
}

/**
 * An array held in memory in a compact form of its own (frif's mostly-zero rates as their nonzero
 * entries: `sparseArray.ts`) and expanded when read. It stays what it is: nothing to spill, no file
 * behind it. `read` gives a fresh full array each time.
 */
export interface PackedBytes {
  readonly dtype: DType;
  /** Bytes of the full array (what a file holds). */
  readonly byteLength: number;
  /** Bytes the compact form holds in memory. */
  readonly heldBytes: number;
  read(): NumericArray;
  /** `into.byteLength` bytes of the full array from `byteOffset`, without expanding all of it. */
  readBytes(byteOffset: number, into: Uint8Array): void;
}

/** The bytes of an array that stay in a source file: reading them checks the file first. */
export interface SourceBytes extends SpilledBytes {
  readonly source: SourceFile;
  readonly dtype: DType;
  readonly byteLength: number;
}

// Moves of arrays between memory, the scratch store and source files, counted so that whoever keeps a
// tally of where a session's arrays are (`core/memoryLedger.ts`) knows when to take it again.
let arrayMoves = 0;
/** Changes whenever any array moves in or out of memory (`spill`, `unspill`, or a call to `arraysMoved`). */
export function arrayMoveCount(): number {
  return arrayMoves;
}
/** For code that changes where arrays live by other means than `spill`/`unspill` (a lazily read group). */
export function arraysMoved(): void {
  arrayMoves++;
}

/**
 * A numeric array with a row-major shape. `shape = []` is a scalar (one element).
 *
 * Its data are in memory; or, once `spill`ed past the session's memory budget, in a scratch store;
 * or, from the start, in the source file it came from (`NDArray.fromSource`): the bytes a session
 * only carries from the dropped files to the saved one are never copied into memory; or in memory in
 * a compact form of its own (`NDArray.packed`), expanded when read. `data` then
 * reads them back (cached by their holder), and writers use `bytesAt` to copy big arrays a slice at
 * a time. Session arrays are never modified in place, which is what makes this safe.
 */
export class NDArray<T extends NumericArray = NumericArray> {
  readonly shape: readonly number[];
  readonly byteLength: number;
  #data: T | undefined;
  #spilled: SpilledBytes | undefined;
  #source: SourceFile | undefined;
  #packed: PackedBytes | undefined;
  #dtype: DType | undefined;

  constructor(data: T, shape?: readonly number[]) {
    this.#data = data;
    this.shape = shape ?? [data.length];
    this.byteLength = data.byteLength;
    const n = elementCount(this.shape);
    if (n !== data.length) {
      throw new Error(`NDArray: shape [${this.shape.join(", ")}] needs ${n} elements, data has ${data.length}`);
    }
  }

  /** An array whose bytes stay in their source file until something reads them. */
  static fromSource<T extends NumericArray = NumericArray>(bytes: SourceBytes, shape: readonly number[]): NDArray<T> {
    const array = NDArray.#notInMemory<T>(bytes.dtype, bytes.byteLength, shape, bytes.source.name);
    array.#spilled = bytes;
    array.#source = bytes.source;
    return array;
  }

  /** An array held in a compact form and expanded when read (`PackedBytes`). */
  static packed<T extends NumericArray = NumericArray>(bytes: PackedBytes, shape: readonly number[]): NDArray<T> {
    const array = NDArray.#notInMemory<T>(bytes.dtype, bytes.byteLength, shape, "the packed array");
    array.#packed = bytes;
    return array;
  }

  /** An array of `shape` whose `byteLength` bytes of `dtype` are held elsewhere (`from` names where, for errors). */
  static #notInMemory<T extends NumericArray>(dtype: DType, byteLength: number, shape: readonly number[], from: string): NDArray<T> {
    const Ctor = TYPED_ARRAY_BY_DTYPE[dtype];
    const expected = elementCount(shape) * Ctor.BYTES_PER_ELEMENT;
    if (expected !== byteLength) throw new Error(`NDArray: shape [${shape.join(", ")}] of ${dtype} needs ${expected} bytes, ${from} gives ${byteLength}`);
    // Built around an empty array of the right type, then given its real shape.
    const array = new NDArray(new Ctor(0) as T, [0]);
    (array as { shape: readonly number[] }).shape = shape;
    (array as { byteLength: number }).byteLength = byteLength;
    array.#data = undefined;
    array.#dtype = dtype;
    return array;
  }

  /** Known once asked for (an unsupported typed array fails here, where it is used). */
  get dtype(): DType {
    return (this.#dtype ??= dtypeOf(this.#data!));
  }

  get data(): T {
    return this.#data ?? ((this.#spilled ?? this.#packed!).read() as T);
  }

  get isScalar(): boolean {
    return this.shape.length === 0;
  }

  /** In memory as a full array (neither spilled, nor left in its source file, nor packed). */
  get isResident(): boolean {
    return this.#data !== undefined;
  }

  /** Bytes its compact form holds in memory, for an array held packed (`NDArray.packed`); else undefined. */
  get packedBytes(): number | undefined {
    return this.#packed?.heldBytes;
  }

  /** In the session's scratch store. */
  get isSpilled(): boolean {
    return this.#spilled !== undefined && this.#source === undefined;
  }

  /** The source file the bytes stay in, if they do. */
  get source(): SourceFile | undefined {
    return this.#source;
  }

  /**
   * Reads the same bytes from another source from now on: the file they were in was replaced by a
   * save over it (`io/sessionFile.ts`), or the user gave the moved file back (a re-attach).
   */
  repoint(bytes: SourceBytes): void {
    if (!this.#source) throw new Error("NDArray: only an array left in its source file can read from another one");
    if (bytes.dtype !== this.dtype || bytes.byteLength !== this.byteLength) {
      throw new Error(`NDArray: ${bytes.source.name} gives ${bytes.byteLength} bytes of ${bytes.dtype} for an array of ${this.byteLength} bytes of ${this.dtype}`);
    }
    this.#spilled = bytes;
    this.#source = bytes.source;
  }

  /** Moves the data out of memory; `put` stores the bytes and says how to read them back. */
  spill(put: (data: T) => SpilledBytes): void {
    // A packed array is already small and has no full copy to move.
    if (this.#spilled || this.#packed) return;
    this.#dtype ??= dtypeOf(this.#data!);
    this.#spilled = put(this.#data!);
    this.#data = undefined;
    arrayMoves++;
  }

  /** Brings a spilled or source-backed array into memory (and frees its place in the store). */
  unspill(): void {
    if (!this.#spilled) return;
    this.#data = this.#spilled.read().slice() as T;
    this.#spilled.release();
    this.#spilled = undefined;
    this.#source = undefined;
    arrayMoves++;
  }

  /** Elements `[start, start + into.length)` (read flat) into `into`, a typed array of this array's dtype: `bytesAt` by elements. */
  elementsAt<A extends NumericArray>(start: number, into: A): A {
    this.bytesAt(start * into.BYTES_PER_ELEMENT, new Uint8Array(into.buffer, into.byteOffset, into.byteLength));
    return into;
  }

  /** `into.byteLength` bytes from `byteOffset`, without reading a spilled or source-backed array whole. */
  bytesAt(byteOffset: number, into: Uint8Array): Uint8Array {
    const away = this.#spilled ?? this.#packed;
    if (away) {
      away.readBytes(byteOffset, into);
      return into;
    }
    const d = this.#data!;
    into.set(new Uint8Array(d.buffer, d.byteOffset + byteOffset, into.byteLength));
    return into;
  }
}

/** An array of UTF-8 strings with a shape (`[]` for one string stored as an array element). */
export class StringArray {
  readonly data: readonly string[];
  readonly shape: readonly number[];

  constructor(data: readonly string[], shape?: readonly number[]) {
    this.data = data;
    this.shape = shape ?? [data.length];
    if (elementCount(this.shape) !== data.length) {
      throw new Error(`StringArray: shape [${this.shape.join(", ")}] does not match ${data.length} strings`);
    }
  }
}

/** A leaf is a dataset-like value; a plain string is a scalar UTF-8 string. */
export type Leaf = NDArray | StringArray | string;
export type TreeNode = Leaf | Tree;
/** A group: ordered children by name. */
export interface Tree {
  [name: string]: TreeNode;
}

export function isTree(node: TreeNode | undefined): node is Tree {
  return (
    node !== undefined &&
    typeof node === "object" &&
    !(node instanceof NDArray) &&
    !(node instanceof StringArray)
  );
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const DTYPE_BY_CONSTRUCTOR = new Map<Function, DType>([
  [Int8Array, "int8"],
  [Uint8Array, "uint8"],
  [Int16Array, "int16"],
  [Uint16Array, "uint16"],
  [Int32Array, "int32"],
  [Uint32Array, "uint32"],
  [BigInt64Array, "int64"],
  [BigUint64Array, "uint64"],
  [Float32Array, "float32"],
  [Float64Array, "float64"],
]);

export function dtypeOf(data: NumericArray): DType {
  const dtype = DTYPE_BY_CONSTRUCTOR.get(data.constructor);
  if (!dtype) throw new Error(`unsupported typed array ${data.constructor.name}`);
  return dtype;
}

export const TYPED_ARRAY_BY_DTYPE = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

// Scalars carry their dtype explicitly: a JS number alone cannot say int64 from float64.
export const f64 = (x: number) => new NDArray(Float64Array.of(x), []);
export const f32 = (x: number) => new NDArray(Float32Array.of(x), []);
export const i64 = (x: number | bigint) => new NDArray(BigInt64Array.of(BigInt(x)), []);
export const i32 = (x: number) => new NDArray(Int32Array.of(x), []);
/** HDF5 has no native bool; like h5py readers expect truthiness, we store 0/1 as int8. */
export const bool = (x: boolean) => new NDArray(Int8Array.of(x ? 1 : 0), []);

/** Reads a scalar (shape `()` or `(1,)`, as the lab's readers accept both) as a JS number. */
export function scalarNumber(node: TreeNode | undefined): number | undefined {
  // By shape: a spilled or source-backed array is not read to learn it is no scalar.
  if (!(node instanceof NDArray) || elementCount(node.shape) !== 1) return undefined;
  return Number(node.data[0]);
}

/** Merges `update` into `target` one level deep: children of a shared subtree are merged, not replaced. */
export function mergeOneLevel(target: Tree, update: Tree): string[] {
  const changed: string[] = [];
  for (const [key, value] of Object.entries(update)) {
    const existing = target[key];
    if (isTree(existing) && isTree(value)) {
      Object.assign(existing, value);
      for (const sub of Object.keys(value)) changed.push(`${key}/${sub}`);
    } else {
      target[key] = value;
      changed.push(key);
    }
  }
  return changed;
}

/** Deep structural equality of two tree nodes, including dtype and shape. */
export function treeEquals(a: TreeNode | undefined, b: TreeNode | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a instanceof NDArray || b instanceof NDArray) {
    if (!(a instanceof NDArray && b instanceof NDArray)) return false;
    if (a.dtype !== b.dtype || !sameShape(a.shape, b.shape)) return false;
    return typedArraysEqual(a.data, b.data);
  }
  if (a instanceof StringArray || b instanceof StringArray) {
    if (!(a instanceof StringArray && b instanceof StringArray)) return false;
    return sameShape(a.shape, b.shape) && a.data.every((s, i) => s === b.data[i]);
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && treeEquals(a[k], b[k]));
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function typedArraysEqual(a: NumericArray, b: NumericArray): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  for (let i = 0; i < a.length; i++) {
    // NaN equals NaN here: a stored all-NaN STA must compare equal after a round trip.
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  }
  return true;
}
