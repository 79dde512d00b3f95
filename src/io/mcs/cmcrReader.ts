/**
 * Reads what the load step needs from a `.cmcr` (MCS raw recording), never the whole file:
 *
 *   /@LB.RecordingDuration (µs), @DateTime, @ProgramName, …   → rootAttrs (metadata.cmcr_meta)
 *   Acquisition/Analog Data/ChannelData 1   [channels × samples]: row 0 light, row 1 frame sync
 *   Acquisition/Sensor Data/SensorMeta      field Tick (µs per sample), logged beside the rate estimate
 *   Acquisition/Sensor Data/SensorData 1 1  [time × 65 × 65]: only through `openSensorData`, in slices
 *
 * The analog rows are read in column slices, so the wasm heap never holds more than one slice.
 */
import { NDArray, elementCount } from "../../core/ndarray.ts";
import type { H5SourceFile } from "../sourceFile.ts";
import { readFloat32Rows } from "../float32Rows.ts";
import type { CmcrContents } from "../../core/recordingContents.ts";
import { baseName, fileSize, openH5, numericDtype, type H5Dataset, type H5File, type H5Group, type H5Runtime } from "../h5.ts";
import { checkDeclaredSize, readLimits } from "../h5Tree.ts";
import { compoundLayout, readCompoundColumns } from "./compoundColumns.ts";
import { assertCmosMeaFile } from "./mcsFileCheck.ts";
import { attrsToTree, childName, findPath, isDataset, isGroup, mcsKey, readAttr } from "./mcsNames.ts";
import { closeQuietly, damagedFileError, guarded } from "./readGuard.ts";
import { HdmeaError, fileError } from "../../core/failure.ts";

const ANALOG_PATH = "Acquisition/Analog Data/ChannelData 1";
const SENSOR_GROUP = "Acquisition/Sensor Data";
const SENSOR_NAMES = ["SensorData 1 1", "SensorData_1_1", "SensorData1"];
/** Samples per analog read (per row): 4 Mi samples = 16 MB of int32. */
const ANALOG_SLICE = 1 << 22;

export interface ReadCmcrOptions {
  /** Fraction (0–1) of the analog channels read. */
  onProgress?: (fraction: number) => void;
  /**
   * The file as a source (`sourceFile.ts`): the analog rows are still decoded (frame detection and
   * the downsampled traces need them) but the session keeps them as references into the file.
   */
  source?: H5SourceFile;
}

export function readCmcr(rt: H5Runtime, path: string, options: ReadCmcrOptions = {}): CmcrContents {
  const name = baseName(path);
  const file = openH5(rt, path, "r");
  try {
    assertCmosMeaFile(file, name, ".cmcr");
    const rootAttrs = guarded(name, "the root attributes", () => attrsToTree(file));
    const duration = readAttr(file, "LB.RecordingDuration");
    const analogNode = guarded(name, "/Acquisition/Analog Data", () =>
      findPath(file, ANALOG_PATH) ?? firstChildLike(file, "Acquisition/Analog Data", "channeldata"),
    );
    const analog = isDataset(analogNode)
      ? guarded(name, `/${ANALOG_PATH}`, () => readAnalog(rt, analogNode, name, fileSize(rt, path), options.onProgress))
      : undefined;
    const source = options.source;
    const analogInFile = analog && source && isDataset(analogNode) ? inFile(source, analogNode, analog) : undefined;
    return {
      fileName: name,
      path,
      rootAttrs,
      recordingDurationUs: typeof duration === "number" && duration > 0 ? duration : undefined,
      analog,
      ...(analogInFile ? { analogInFile } : {}),
      tickUs: readTick(rt, file, name),
    };
  } catch (error) {
    throw damagedFileError(name, "the recording", error);
  } finally {
    closeQuietly(file);
  }
}

function readAnalog(rt: H5Runtime, dataset: H5Dataset, fileName: string, fileBytes: number, onProgress?: (fraction: number) => void): CmcrContents["analog"] {
  const meta = dataset.metadata;
  const shape = (meta.shape ?? []).map(Number);
  const where = `${fileName}: ${dataset.path}`;
  const bad = (detail: string) => new HdmeaError(`${where} ${detail}`, "bad-input", fileName);
  const dtype = numericDtype(meta);
  if (!dtype) throw bad(`is not numeric (HDF5 type class ${meta.type})`);
  if (shape.length !== 2 || shape[0] < 1) {
    throw bad(`has shape [${shape.join(", ")}], expected [channels × samples]`);
  }
  const [channels, samples] = shape;
  if (!Number.isSafeInteger(channels * samples)) throw bad(`has an invalid shape [${shape.join(", ")}]`);
  // The two rows we keep, as float32, and what the file says it stores.
  checkDeclaredSize(readLimits(fileName, fileBytes), dataset.path, Math.max(channels * samples * meta.size, Math.min(channels, 2) * samples * 4), `[${shape.join(" × ")}] × ${meta.size} bytes`);
  const rows = Math.min(channels, 2);
  const out = Array.from({ length: rows }, () => new Float32Array(samples));
  if (samples === 0) return { ch1: out[0], ch2: out[1] };
  // Both rows in one read per slice, through one heap buffer.
  const layout = { dtype, size: meta.size, littleEndian: meta.littleEndian };
  const module = rt.module;
  const ptr = module._malloc(rows * Math.min(samples, ANALOG_SLICE) * meta.size);
  if (!ptr) throw new Error(`cannot allocate ${rows * Math.min(samples, ANALOG_SLICE) * meta.size} bytes in the HDF5 heap`);
  try {
    for (let start = 0; start < samples; start += ANALOG_SLICE) {
      const end = Math.min(samples, start + ANALOG_SLICE);
      readFloat32Rows(rt, dataset, layout, 0, start, end, out, start, { ptr });
      onProgress?.(end / samples);
    }
  } finally {
    module._free(ptr);
  }
  return { ch1: out[0], ch2: out[1] };
}

/** The analog rows as arrays that read the file again when needed (the same conversion as `readAnalog`). */
function inFile(source: H5SourceFile, dataset: H5Dataset, analog: NonNullable<CmcrContents["analog"]>): CmcrContents["analogInFile"] {
  const meta = dataset.metadata;
  const layout = { dtype: numericDtype(meta)!, size: meta.size, littleEndian: meta.littleEndian };
  const row = (r: number, length: number) => NDArray.fromSource<Float32Array>(source.float32Row(dataset.path, layout, r, length), [length]);
  return {
    ch1: row(0, analog.ch1.length),
    ...(analog.ch2 ? { ch2: row(1, analog.ch2.length) } : {}),
  };
}

/** µs per sample: SensorMeta's Tick, else the analog ChannelMeta's. Absent or odd → undefined. */
function readTick(rt: H5Runtime, file: H5File, fileName: string): number | undefined {
  for (const path of [`${SENSOR_GROUP}/SensorMeta`, "Acquisition/Analog Data/ChannelMeta"]) {
    const node = findPath(file, path);
    if (!isDataset(node)) continue;
    const layout = compoundLayout(node);
    if (typeof layout === "string" || layout.rowCount === 0) continue;
    const field = layout.fields.find((f) => mcsKey(f.name) === "tick" && f.dtype);
    if (!field) continue;
    const columns = guarded(fileName, `/${path}`, () => readCompoundColumns(rt, node, { ...layout, fields: [field] }));
    const tick = Number(columns.get(field.name)![0]);
    if (tick > 0) return tick;
  }
  return undefined;
}

function firstChildLike(file: H5File, groupPath: string, fragment: string): H5Group | H5Dataset | undefined {
  const group = findPath(file, groupPath);
  if (!isGroup(group)) return undefined;
  const name = group.keys().find((k) => mcsKey(k).includes(fragment));
  return name === undefined ? undefined : (group.get(name) as H5Group | H5Dataset);
}

/**
 * Lazy access to the raw sensor frames ([time × rows × cols], int16) for steps that need a window of
 * them (the eimage STA reads the first 120 s). Keeps the file open until `close()`.
 */
export interface SensorDataSource {
  fileName: string;
  /** [frames, rows, cols] */
  shape: [number, number, number];
  /** Frames [start, end) as int16, row-major. */
  readFrames(start: number, end: number): Int16Array;
  close(): void;
}

export function openSensorData(rt: H5Runtime, path: string): SensorDataSource {
  const name = baseName(path);
  const file = openH5(rt, path, "r");
  try {
    assertCmosMeaFile(file, name, ".cmcr");
    const group = findPath(file, SENSOR_GROUP);
    let node: H5Group | H5Dataset | undefined;
    if (isGroup(group)) {
      for (const candidate of SENSOR_NAMES) {
        const child = childName(group, candidate);
        if (child !== undefined) {
          node = group.get(child) as H5Dataset;
          break;
        }
      }
      node ??= firstChildLike(file, SENSOR_GROUP, "sensordata");
    }
    if (!isDataset(node)) throw fileError(name, `no sensor data (/${SENSOR_GROUP}/SensorData 1 1 missing)`);
    const dataset = node;
    const meta = dataset.metadata;
    const shape = (meta.shape ?? []).map(Number);
    if (!numericDtype(meta) || shape.length !== 3 || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw fileError(name, `${dataset.path} has shape [${shape.join(", ")}], expected [time × rows × cols] numbers`);
    }
    // Callers read windows of frames, never the whole; but one frame must be a sane size, and the
    // whole must fit what the file can hold.
    if (shape[1] * shape[2] > 1 << 20) throw fileError(name, `${dataset.path} claims frames of ${shape[1]} × ${shape[2]} sensors`);
    checkDeclaredSize(readLimits(name, fileSize(rt, path)), dataset.path, shape[0] * shape[1] * shape[2] * meta.size, `[${shape.join(" × ")}] × ${meta.size} bytes`);
    return {
      fileName: name,
      shape: shape as [number, number, number],
      readFrames(start: number, end: number): Int16Array {
        const from = Math.max(0, Math.min(start, shape[0]));
        const to = Math.max(from, Math.min(end, shape[0]));
        const out = new Int16Array(elementCount([to - from, shape[1], shape[2]]));
        if (to === from) return out;
        const value = guarded(name, `${dataset.path} frames ${from}–${to}`, () => dataset.slice([[from, to], [], []]));
        if (value instanceof Int16Array) return value;
        if (!ArrayBuffer.isView(value)) throw fileError(name, `${dataset.path} returned no numbers`);
        const src = value as unknown as ArrayLike<number | bigint>;
        for (let i = 0; i < out.length; i++) out[i] = Number(src[i]);
        return out;
      },
      close: () => closeQuietly(file),
    };
  } catch (error) {
    closeQuietly(file);
    throw damagedFileError(name, "the sensor data", error);
  }
}
