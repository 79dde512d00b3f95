/**
 * A file a session keeps reading from (`SourceFile` in core): the dropped `.cmtr` whose `Peaks`
 * columns stay in it, the `.cmcr` whose analog channels do. It records the file's size and
 * last-modified time when opened, and checks them before every read from the file: a file that is
 * gone or changed stops the read (and the save or step that asked) with an error naming it.
 *
 * Reads go through one HDF5 handle, opened at the first read and kept until `close`, and a small
 * cache of decoded arrays: a unit's `Peaks` table is decoded once for all its columns (a save
 * writes them one after another), and a big array read whole (`raw_ch1` for a step) is not reread
 * by the next step. Slices (`readBytes` of a column not cached) are read from the file alone.
 */
import { TYPED_ARRAY_BY_DTYPE, elementCount, type DType, type NumericArray, type SourceBytes, type SourceFile } from "../core/ndarray.ts";
import { baseName, closeQuietly, damagedFileError, isGroup, openH5, readNumericRows, type H5Dataset, type H5File, type H5Group, type H5Runtime } from "./h5.ts";
import { watchGlobalHeaps } from "./h5Heaps.ts";
import { fixedBackendAt } from "./fixedFileFs.ts";
import { SourceChangedError } from "../core/sessionSources.ts";
import { readFloat32Rows, type RowsLayout } from "./float32Rows.ts";
import { readCompoundColumns, type CompoundField, type CompoundLayout } from "./mcs/compoundColumns.ts";
import { HdmeaError, fileError } from "../core/failure.ts";

export const DEFAULT_SOURCE_CACHE_BYTES = 64 << 20;

/** How the user mends it (the page re-attaches a file given back; the CLI starts again). */
const GIVE_BACK = "; put the original file back (in the page: drop or pick it again) to go on";

interface Identity {
  size: number;
  modified: number;
  /** Device and inode where the file system has them (Node): tells a path that names this file. */
  dev?: number;
  ino?: number;
}

/**
 * What the session read from a dataset of the file: a file given back for a moved one (a
 * re-attach) must have the same, as well as the same size.
 */
type Expected = { shape: readonly number[] } | { rows: number } | { minRows: number; columns: number } | { group: true };

export interface H5SourceFile extends SourceFile {
  /** Path on `rt.fs` (a real path in Node, a mount path in the worker); a re-attach changes it. */
  readonly path: string;
  keptCopy?: boolean;
  /**
   * `read` of the group at `groupPath`, from the file as it is now (a session file's group read when
   * first used: `core/deferredGroup.ts`). Strings it reads are checked as at open (`h5Heaps.ts`).
   */
  group<T>(groupPath: string, read: (group: H5Group) => T): T;
  /** The numeric dataset at `datasetPath` of this shape and dtype (a session file's array). */
  dataset(datasetPath: string, dtype: DType, shape: readonly number[]): SourceBytes;
  /** True if `path` names the file this source reads (same inode, or the same path where there are none). */
  isAt(path: string): boolean;
  /**
   * Reads from the file at `path` from now on, after checking it is the same file given back (moved,
   * or dropped again): its size and every dataset the session read have the shape it read. Throws
   * an Error naming the file and what differs, and then keeps reading from where it did.
   */
  reattach(path: string): void;
  /** Field `field` of the 1-D compound dataset at `datasetPath`, one element per row. */
  compoundColumn(datasetPath: string, layout: CompoundLayout, field: CompoundField): SourceBytes;
  /** Frees the decoded arrays kept for the next reads (the reader that needed them is done). */
  forget(): void;
  /** Row `row` of the 2-D numeric dataset at `datasetPath` ([rows × columns]) as float32. */
  float32Row(datasetPath: string, layout: RowsLayout, row: number, columns: number): SourceBytes;
}

/** Opens nothing yet: records what the file is now, so later reads can tell it is still the same. */
export function openSourceFile(rt: H5Runtime, path: string, name = baseName(path), cacheBytes = DEFAULT_SOURCE_CACHE_BYTES): H5SourceFile {
  const identity = (at = path): Identity => {
    fixedBackendAt(rt, at)?.verify?.();
    const stat = rt.fs.stat(at, false) as unknown as { size: number; mtime: Date | number; dev?: number; ino?: number };
    return { size: stat.size, modified: stat.mtime instanceof Date ? stat.mtime.getTime() : Number(stat.mtime), dev: stat.dev, ino: stat.ino };
  };
  let opened = identity();
  const expected = new Map<string, Expected>();
  let file: H5File | undefined;
  let closed = false;
  const cache = new Map<string, NumericArray | Map<string, NumericArray>>();
  let cachedBytes = 0;

  const source: H5SourceFile = {
    name,
    get path() {
      return path;
    },
    check() {
      if (closed) throw fileError(name, "the session's link to this file was closed (the session was closed)", "internal");
      let now: Identity;
      try {
        now = identity();
      } catch {
        throw new SourceChangedError(`${name} can no longer be read: it was moved, deleted or changed since it was opened (or its disk is gone); nothing was written, the session keeps what it has${GIVE_BACK}`, name);
      }
      if (now.size !== opened.size) {
        throw new SourceChangedError(`${name} changed since it was opened: its size went from ${opened.size} to ${now.size} bytes; nothing was written, the session keeps what it has${GIVE_BACK}`, name);
      }
      if (now.modified !== opened.modified) {
        throw new SourceChangedError(
          `${name} changed since it was opened: last modified ${new Date(opened.modified).toISOString()}, now ${new Date(now.modified).toISOString()}; ` +
            `nothing was written, the session keeps what it has${GIVE_BACK}`,
          name,
        );
      }
    },
    close() {
      closed = true;
      source.forget();
      if (file) closeQuietly(file);
      file = undefined;
    },
    forget() {
      cache.clear();
      sizes.clear();
      cachedBytes = 0;
    },
    isAt(other) {
      if (other === path) return true;
      try {
        const now = identity(other);
        return now.ino !== undefined && now.ino !== 0 && now.ino === opened.ino && now.dev === opened.dev;
      } catch {
        return false;
      }
    },
    reattach(newPath) {
      const differences = differencesAt(newPath);
      if (differences.length) {
        throw new HdmeaError(`${baseName(newPath)} is not the file the session read as ${name}: ${differences.join("; ")}; the session still waits for ${name}`, "bad-input", baseName(newPath));
      }
      if (file) closeQuietly(file);
      file = undefined;
      source.forget();
      path = newPath;
      opened = identity();
    },
    group(groupPath, read) {
      source.check();
      expected.set(groupPath, { group: true });
      file ??= openH5(rt, path, "r");
      const heaps = watchGlobalHeaps(rt, path);
      try {
        const group = file.get(groupPath);
        if (!isGroup(group)) throw fileError(name, `${groupPath} is not a group of this file`);
        const out = read(group);
        heaps.assertSound();
        return out;
      } catch (error) {
        throw heaps.refusal ?? damagedFileError(name, groupPath, error);
      } finally {
        heaps.release();
      }
    },
    dataset(datasetPath, dtype, shape) {
      const Ctor = TYPED_ARRAY_BY_DTYPE[dtype];
      const rowBytes = elementCount(shape.slice(1)) * Ctor.BYTES_PER_ELEMENT;
      const rows = shape.length ? shape[0] : 1;
      expected.set(datasetPath, { shape });
      /** Rows [start, end) straight into `into`, from the file as it is now. */
      const readRows = (start: number, end: number, into: Uint8Array) => {
        const dataset = datasetAt(datasetPath);
        readNumericRows(rt.module, dataset.file_id, dataset.path, [...shape], start, end, into);
      };
      const read = (): NumericArray => {
        const hit = remembered(datasetPath) as NumericArray | undefined;
        if (hit) return hit;
        const out = new Ctor(elementCount(shape)) as NumericArray;
        const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        const sliceRows = Math.max(1, Math.floor(DATASET_SLICE_BYTES / Math.max(1, rowBytes)));
        for (let row = 0; row < rows; row += sliceRows) {
          const end = Math.min(rows, row + sliceRows);
          readRows(row, end, bytes.subarray(row * rowBytes, end * rowBytes));
        }
        remember(datasetPath, out, out.byteLength);
        return out;
      };
      return {
        source,
        dtype,
        byteLength: rows * rowBytes,
        read,
        readBytes(at, into) {
          const hit = remembered(datasetPath) as NumericArray | undefined;
          if (hit) return copyBytes(hit, at, into);
          if (shape.length === 0) return copyBytes(read(), at, into);
          // Whole rows go straight into `into` (a save's slices are); a part of a row through a copy.
          const first = Math.floor(at / rowBytes);
          const end = Math.min(rows, Math.ceil((at + into.byteLength) / rowBytes));
          if (at === first * rowBytes && into.byteLength === (end - first) * rowBytes) return readRows(first, end, into);
          const part = new Uint8Array((end - first) * rowBytes);
          readRows(first, end, part);
          into.set(part.subarray(at - first * rowBytes, at - first * rowBytes + into.byteLength));
        },
        release: () => {},
      };
    },
    compoundColumn(datasetPath, layout, field) {
      if (!field.dtype) throw fileError(name, `${datasetPath} field ${field.name} is not numeric`);
      expected.set(datasetPath, { rows: layout.rowCount });
      const Ctor = TYPED_ARRAY_BY_DTYPE[field.dtype];
      const read = () => table(datasetPath, layout).get(field.name)!;
      return {
        source,
        dtype: field.dtype,
        byteLength: layout.rowCount * Ctor.BYTES_PER_ELEMENT,
        read,
        readBytes: (at, into) => copyBytes(read(), at, into),
        release: () => {},
      };
    },
    float32Row(datasetPath, layout, row, columns) {
      const key = `${datasetPath}#${row}`;
      const before = expected.get(datasetPath);
      expected.set(datasetPath, { minRows: Math.max(row + 1, before && "minRows" in before ? before.minRows : 0), columns });
      const read = (): Float32Array => {
        const hit = remembered(key) as Float32Array | undefined;
        if (hit) return hit;
        const out = new Float32Array(columns);
        const dataset = datasetAt(datasetPath);
        for (let start = 0; start < columns; start += ROW_SLICE) {
          readFloat32Rows(rt, dataset, layout, row, start, Math.min(columns, start + ROW_SLICE), [out], start);
        }
        remember(key, out, out.byteLength);
        return out;
      };
      return {
        source,
        dtype: "float32",
        byteLength: columns * 4,
        read,
        readBytes(at, into) {
          const hit = remembered(key) as Float32Array | undefined;
          if (hit) return copyBytes(hit, at, into);
          // A slice of a row not in memory: only the columns it covers are read.
          const first = Math.floor(at / 4);
          const end = Math.min(columns, Math.ceil((at + into.byteLength) / 4));
          const part = new Float32Array(end - first);
          readFloat32Rows(rt, datasetAt(datasetPath), layout, row, first, end, [part], 0);
          copyBytes(part, at - first * 4, into);
        },
        release: () => {},
      };
    },
  };

  /** The dataset, after checking the file is still the one opened (every read from the file starts here). */
  function datasetAt(datasetPath: string): H5Dataset {
    source.check();
    file ??= openH5(rt, path, "r");
    return file.get(datasetPath) as H5Dataset;
  }

  /** How the file at `other` differs from what the session read from this one (empty: the same file). */
  function differencesAt(other: string): string[] {
    let now: Identity;
    try {
      now = identity(other);
    } catch {
      return ["it cannot be read"];
    }
    if (now.size !== opened.size) return [`its size is ${now.size} bytes, the session read a file of ${opened.size} bytes`];
    const differences: string[] = [];
    let candidate: H5File;
    try {
      candidate = openH5(rt, other, "r");
    } catch (error) {
      return [error instanceof Error ? error.message : String(error)];
    }
    try {
      for (const [datasetPath, want] of expected) {
        const node = candidate.get(datasetPath) as H5Dataset | undefined;
        if ("group" in want) {
          if (!isGroup(node)) differences.push(`it has no group ${datasetPath}`);
          continue;
        }
        const shape = node && node.type === "Dataset" ? (node.shape ?? []).map(Number) : undefined;
        if (!shape) differences.push(`it has no ${datasetPath}`);
        else if ("shape" in want && shape.join(",") !== want.shape.join(",")) differences.push(`${datasetPath} is [${shape.join(" × ")}], the session read [${want.shape.join(" × ")}]`);
        else if ("rows" in want && shape[0] !== want.rows) differences.push(`${datasetPath} has ${shape[0]} rows, the session read ${want.rows}`);
        else if ("minRows" in want && (shape[0] < want.minRows || shape[1] !== want.columns)) differences.push(`${datasetPath} is [${shape.join(" × ")}], the session read ${want.columns} columns`);
        if (differences.length >= 3) break;
      }
    } finally {
      closeQuietly(candidate);
    }
    return differences;
  }

  function table(datasetPath: string, layout: CompoundLayout): Map<string, NumericArray> {
    const hit = remembered(datasetPath) as Map<string, NumericArray> | undefined;
    if (hit) return hit;
    const dataset = datasetAt(datasetPath);
    const columns = readCompoundColumns(rt, dataset, { ...layout, fields: layout.fields.filter((f) => f.dtype) });
    let bytes = 0;
    for (const c of columns.values()) bytes += c.byteLength;
    remember(datasetPath, columns, bytes);
    return columns;
  }

  const sizes = new Map<string, number>();
  function remembered(key: string): NumericArray | Map<string, NumericArray> | undefined {
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      cache.set(key, hit);
    }
    return hit;
  }
  function remember(key: string, value: NumericArray | Map<string, NumericArray>, bytes: number): void {
    cache.set(key, value);
    sizes.set(key, bytes);
    cachedBytes += bytes;
    // The newest entry always stays, even past the limit: a loop over one big array must not reread it.
    for (const old of cache.keys()) {
      if (cachedBytes <= cacheBytes || old === key) break;
      cache.delete(old);
      cachedBytes -= sizes.get(old)!;
      sizes.delete(old);
    }
  }
  return source;
}

/** Bytes per read of a session file's dataset read whole. */
const DATASET_SLICE_BYTES = 16 << 20;

/** Columns per read of a source-backed row: 16 MB of float32. */
const ROW_SLICE = 1 << 22;

function copyBytes(data: NumericArray, at: number, into: Uint8Array): void {
  if (at < 0 || at + into.byteLength > data.byteLength) {
    throw new RangeError(`bytes ${at}…${at + into.byteLength} are outside an array of ${data.byteLength}`);
  }
  into.set(new Uint8Array(data.buffer, data.byteOffset + at, into.byteLength));
}
