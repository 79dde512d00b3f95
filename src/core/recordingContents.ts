/**
 * What the MCS readers (io/mcs) hand to the load step: typed arrays and trees, already validated,
 * with no HDF5 names left in them. Big columns are shared, not copied: the same arrays end up in
 * `unit_meta/peaks_data`. A column is a typed array, or an `NDArray` whose bytes stay in the file
 * (`NDArray.fromSource`), read when the load step asks for them.
 */
import type { NDArray, NumericArray, Tree } from "./ndarray.ts";

export type PeakColumn = NumericArray | NDArray;

/** One unit's spike-sorter peaks (`Peaks`), one entry per detected peak. */
export interface PeakTable {
  rowCount: number;
  /** Peak times in µs (MCS ticks). */
  timestamp: PeakColumn;
  amplitude: PeakColumn;
  /** 1 = the sorter kept the peak. */
  include: PeakColumn;
  /** One column per cutout sample, in file order (every field after the first three). */
  cutout: PeakColumn[];
  /** Every column under its lower-cased field name, for `unit_meta/peaks_data`. */
  columns: Tree;
}

export interface SortedUnitContents {
  /** N of the `Unit N` group. */
  unitNum: number;
  /** McsPy-style name the original records, e.g. `Unit_12`. */
  originalName: string;
  /** The unit group's attributes by their file names (`UnitID`, `SensorID`, `ID.Type`, …). */
  groupAttrs: Tree;
  /** `Unit Info` fields, lower-cased, each a 1-element int64/float64 array or a string. */
  unitInfo?: Tree;
  peaks: PeakTable;
  roiStas?: NDArray;
  unmixing?: NDArray;
}

export interface CmtrContents {
  fileName: string;
  path: string;
  /** Root attributes as a metadata tree (scalars, strings, small arrays). */
  rootAttrs: Tree;
  /** `LB.RecordingDuration` when the .cmtr carries it (µs). */
  recordingDurationUs?: number;
  units: SortedUnitContents[];
}

export interface CmcrContents {
  fileName: string;
  path: string;
  rootAttrs: Tree;
  /** `LB.RecordingDuration` (µs). */
  recordingDurationUs?: number;
  /** Analog channels as float32 raw values: row 0 light intensity, row 1 frame sync. */
  analog?: { ch1: Float32Array; ch2?: Float32Array };
  /** The same channels left in the file (`NDArray.fromSource`): what the session keeps as `raw_ch1`/`raw_ch2`. */
  analogInFile?: { ch1: NDArray<Float32Array>; ch2?: NDArray<Float32Array> };
  /** µs per sample from the sensor (or analog) stream meta, when present. */
  tickUs?: number;
}
