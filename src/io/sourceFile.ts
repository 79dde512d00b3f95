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
import { TYPED_ARRAY_BY_DTYPE, type NumericArray, type SourceBytes, type SourceFile } from "../core/ndarray.ts";
import { baseName, closeQuietly, openH5, type H5Dataset, type H5File, type H5Runtime } from "./h5.ts";
import { fixedBackendAt } from "./fixedFileFs.ts";
import { readFloat32Rows, type RowsLayout } from "./float32Rows.ts";
import { readCompoundColumns, type CompoundField, type CompoundLayout } from "./mcs/compoundColumns.ts";

export const DEFAULT_SOURCE_CACHE_BYTES = 64 << 20;

interface Identity {
  size: number;
  modified: number;
}

export interface H5SourceFile extends SourceFile {
  /** Path on `rt.fs` (a real path in Node, a mount path in the worker). */
  readonly path: string;
  /** Field `field` of the 1-D compound dataset at `datasetPath`, one element per row. */
  compoundColumn(datasetPath: string, layout: CompoundLayout, field: CompoundField): SourceBytes;
  /** Frees the decoded arrays kept for the next reads (the reader that needed them is done). */
  forget(): void;
  /** Row `row` of the 2-D numeric dataset at `datasetPath` ([rows × columns]) as float32. */
  float32Row(datasetPath: string, layout: RowsLayout, row: number, columns: number): SourceBytes;
}

/** Opens nothing yet: records what the file is now, so later reads can tell it is still the same. */
export function openSourceFile(rt: H5Runtime, path: string, name = baseName(path), cacheBytes = DEFAULT_SOURCE_CACHE_BYTES): H5SourceFile {
  const identity = (): Identity => {
    fixedBackendAt(rt, path)?.verify?.();
    const stat = rt.fs.stat(path, false) as unknown as { size: number; mtime: Date | number };
    return { size: stat.size, modified: stat.mtime instanceof Date ? stat.mtime.getTime() : Number(stat.mtime) };
  };
  const opened = identity();
  let file: H5File | undefined;
  let closed = false;
  const cache = new Map<string, NumericArray | Map<string, NumericArray>>();
  let cachedBytes = 0;

  const source: H5SourceFile = {
    name,
    path,
    check() {
      if (closed) throw new Error(`${name}: the session's link to this file was closed (the session was closed)`);
      let now: Identity;
      try {
        now = identity();
      } catch {
        throw new Error(`${name} can no longer be read: it was moved, deleted or changed since it was opened (or its disk is gone); nothing was written, the session keeps what it has`);
      }
      if (now.size !== opened.size) {
        throw new Error(`${name} changed since it was opened: its size went from ${opened.size} to ${now.size} bytes; nothing was written, the session keeps what it has`);
      }
      if (now.modified !== opened.modified) {
        throw new Error(
          `${name} changed since it was opened: last modified ${new Date(opened.modified).toISOString()}, now ${new Date(now.modified).toISOString()}; ` +
            "nothing was written, the session keeps what it has",
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
    compoundColumn(datasetPath, layout, field) {
      if (!field.dtype) throw new Error(`${name}: ${datasetPath} field ${field.name} is not numeric`);
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

/** Columns per read of a source-backed row: 16 MB of float32. */
const ROW_SLICE = 1 << 22;

function copyBytes(data: NumericArray, at: number, into: Uint8Array): void {
  if (at < 0 || at + into.byteLength > data.byteLength) {
    throw new RangeError(`bytes ${at}…${at + into.byteLength} are outside an array of ${data.byteLength}`);
  }
  into.set(new Uint8Array(data.buffer, data.byteOffset + at, into.byteLength));
}
