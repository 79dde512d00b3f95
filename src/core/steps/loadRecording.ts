/**
 * The lab's load step (`load_recording`, plus the `add_cmtr_unit_info` and `add_sys_meta_info` it
 * runs by default), as pure assembly: reader output in, a PipelineSession out. Reading the files is
 * io/mcs/openRecording.ts.
 *
 * Deliberate differences from hdmea_processing (documented for users):
 * - `row`/`col`/`global_id` come from `Unit Info` (65-wide grid) straight away, never from the
 *   `Source[0] // 220` bug.
 * - `firing_rate_10hz` uses the CMCR recording duration for every unit, so all units have the same
 *   length (the original fell back to "last spike + 1 s" per unit).
 * - Name and length mismatches between the two files refuse the load instead of warning.
 */
import { detectFrameTimestamps, frameTimesSeconds } from "../frameDetection.ts";
import { firingRate10hz } from "../firingRate.ts";
import { downsampledLightReference } from "../lightReference.ts";
import { NDArray, f64, scalarNumber, type NumericArray, type Tree } from "../ndarray.ts";
import { PipelineSession, unitIdFor, type Unit } from "../session.ts";
import { DEFAULT_ACQUISITION_RATE } from "../sessionFacts.ts";
import type { CmcrContents, CmtrContents, PeakColumn, SortedUnitContents } from "../recordingContents.ts";
import { HdmeaError } from "../failure.ts";

const PLAUSIBLE_RATE = [1000, 100000] as const;
/** CMTR root attribute names (lower-cased substrings) the plain loader accepts as a rate. */
const RATE_ATTR_PATTERNS = ["samplingrate", "sampling_rate", "samplerate", "sample_rate", "acquisitionrate", "acquisition_rate"];
/** Recording lengths closer than this are the same recording (rounding in the writer). */
const DURATION_TOLERANCE_US = 1000;

export interface LoadRecordingInput {
  datasetId: string;
  cmtr?: CmtrContents;
  cmcr?: CmcrContents;
}

export type ProgressFn = (fraction: number, message: string) => void;

export interface AcquisitionRate {
  rate: number;
  source: "cmcr_estimate" | "cmtr_attribute" | "default";
  /** `1e6 / Tick` from the stream meta, logged beside the estimate. */
  tickRate?: number;
  detail: string;
}

/** The rate as the plain loader picks it: CMCR estimate, then a CMTR root attribute, then 20 kHz. */
export function chooseAcquisitionRate(cmcr: CmcrContents | undefined, cmtr: CmtrContents | undefined): AcquisitionRate {
  const tickRate = cmcr?.tickUs && cmcr.tickUs > 0 ? 1e6 / cmcr.tickUs : undefined;
  const samples = cmcr?.analog?.ch1.length ?? 0;
  const durationUs = cmcr?.recordingDurationUs ?? 0;
  if (samples > 0 && durationUs > 0) {
    return {
      rate: samples / (durationUs / 1e6),
      source: "cmcr_estimate",
      tickRate,
      detail: `${samples} analog samples / ${durationUs / 1e6} s`,
    };
  }
  if (cmtr) {
    for (const [name, node] of Object.entries(cmtr.rootAttrs)) {
      const lower = name.toLowerCase();
      const value = scalarNumber(node);
      if (RATE_ATTR_PATTERNS.some((p) => lower.includes(p)) && value !== undefined && value > 0) {
        return { rate: value, source: "cmtr_attribute", tickRate, detail: `${cmtr.fileName} attribute ${name}` };
      }
    }
  }
  if (tickRate !== undefined) {
    // Not the original's order (it never reads Tick), but better than a guess when analog data is absent.
    return { rate: tickRate, source: "default", tickRate, detail: "stream Tick (no analog data to estimate from)" };
  }
  return { rate: DEFAULT_ACQUISITION_RATE, source: "default", tickRate, detail: "default 20 kHz" };
}

/** Why a .cmcr and a .cmtr are not the same recording (by length), or undefined. */
export function recordingLengthMismatch(cmcr: CmcrContents, cmtr: CmtrContents, timestampsUs?: Float64Array[]): string | undefined {
  if (cmcr.recordingDurationUs === undefined) return undefined;
  const all = timestampsUs ?? cmtr.units.map((u) => toFloat64(columnValues(u.peaks.timestamp)));
  let last = -Infinity;
  for (const ts of all) last = Math.max(last, maxOf(ts));
  return lengthsDiffer(cmcr, cmtr) ?? spikesPastEnd(cmcr, cmtr, last);
}

/** The lengths the two files state differ (no spike read). */
function lengthsDiffer(cmcr: CmcrContents, cmtr: CmtrContents): string | undefined {
  const cmcrUs = cmcr.recordingDurationUs;
  if (cmcrUs === undefined || cmtr.recordingDurationUs === undefined) return undefined;
  if (Math.abs(cmtr.recordingDurationUs - cmcrUs) <= DURATION_TOLERANCE_US) return undefined;
  return (
    `${cmcr.fileName} and ${cmtr.fileName} are not one recording: their lengths differ ` +
    `(${formatSeconds(cmcrUs)} vs ${formatSeconds(cmtr.recordingDurationUs)})`
  );
}

/** Without a length in the .cmtr, a spike after the end of the raw recording proves the mismatch. */
function spikesPastEnd(cmcr: CmcrContents, cmtr: CmtrContents, lastUs: number): string | undefined {
  const cmcrUs = cmcr.recordingDurationUs;
  if (cmcrUs === undefined || !(lastUs > cmcrUs + DURATION_TOLERANCE_US)) return undefined;
  return (
    `${cmcr.fileName} and ${cmtr.fileName} are not one recording: the sorted spikes run to ` +
    `${formatSeconds(lastUs)} but the raw recording is ${formatSeconds(cmcrUs)} long`
  );
}

/**
 * The session of the load step. The units are built one at a time, each from its own `Peaks`
 * columns (read from the file then, when they are source-backed), so the open holds one unit's
 * table at a time, never the whole `.cmtr`; the last-spike check of the recording length runs once
 * they are all read.
 */
export function buildLoadRecordingSession(
  input: LoadRecordingInput,
  onProgress: ProgressFn = () => {},
  onUnit: (index: number, unit: Unit) => void = () => {},
): PipelineSession {
  const { cmtr, cmcr } = input;
  if (!cmtr && !cmcr) throw new Error("load_recording needs a .cmcr or a .cmtr file");
  if (cmtr && cmcr) {
    const mismatch = lengthsDiffer(cmcr, cmtr);
    if (mismatch) throw new HdmeaError(mismatch, "bad-input", cmtr.fileName);
  }
  const session = new PipelineSession(input.datasetId);
  if (!cmcr) {
    session.warn(
      `${cmtr!.fileName} was opened without its .cmcr: units only — no light reference, frame times or ` +
        `recording length (add NAME.cmcr for the stimulus)`,
    );
  }
  if (!cmtr) {
    session.warn(`${cmcr!.fileName} was opened without its .cmtr: stimulus only — no units (add NAME-.cmtr for the spike sorting)`);
  }

  const rate = chooseAcquisitionRate(cmcr, cmtr);
  if (rate.source === "default") session.warn(`acquisition rate not found in the files: using ${rate.rate} Hz (${rate.detail})`);
  if (rate.rate < PLAUSIBLE_RATE[0] || rate.rate > PLAUSIBLE_RATE[1]) {
    session.warn(`acquisition rate ${rate.rate} Hz is outside ${PLAUSIBLE_RATE[0]}–${PLAUSIBLE_RATE[1]} Hz (${rate.detail})`);
  }

  // Stimulus first: it is what a lone .cmcr gives, and frame detection dominates the time on big files.
  let frameTimestamps: BigUint64Array = new BigUint64Array(0);
  if (cmcr?.analog) {
    onProgress(0.05, "detecting frame timestamps");
    const { ch1, ch2 } = cmcr.analog;
    frameTimestamps = detectFrameTimestamps(ch2 ?? ch1);
    if (frameTimestamps.length === 0) session.warn(`${cmcr.fileName}: no frame-sync pulses found in the analog channels`);
    onProgress(0.2, "downsampling the light reference");
    // Kept as the file's bytes when the reader left them there: only the downsampled traces are new.
    const light: Tree = { raw_ch1: cmcr.analogInFile?.ch1 ?? new NDArray(ch1) };
    if (ch2) light.raw_ch2 = cmcr.analogInFile?.ch2 ?? new NDArray(ch2);
    for (const [name, trace] of Object.entries(downsampledLightReference({ ch1, ch2 }, rate.rate))) light[name] = new NDArray(trace);
    session.addStimulus({ light_reference: light, frame_times: { default: new NDArray(frameTimestamps) } });
  } else if (cmcr) {
    session.warn(`${cmcr.fileName}: no analog channels (light reference and frame sync missing)`);
  }

  const metadata: Tree = {
    dataset_id: session.datasetId,
    acquisition_rate: f64(rate.rate),
    sample_interval: f64(1 / rate.rate),
    frame_timestamps: new NDArray(frameTimestamps),
    frame_time: new NDArray(frameTimesSeconds(frameTimestamps, rate.rate)),
  };
  // Ours, beside the lab's keys: where the rate came from and the Tick-derived rate for comparison.
  metadata.acquisition_rate_source = rate.source;
  if (rate.tickRate !== undefined) metadata.acquisition_rate_from_tick = f64(rate.tickRate);
  session.addMetadata(metadata);

  if (cmtr) {
    // Timestamps as float64, one unit at a time (µs stay exact below 2^53): int64 columns read as
    // BigInt would allocate per spike.
    const timestampsOf = (contents: SortedUnitContents) => toFloat64(columnValues(contents.peaks.timestamp));
    let durationUs = cmcr?.recordingDurationUs ?? cmtr.recordingDurationUs;
    if (durationUs === undefined) {
      // Rare (neither file states its length): one pass over the timestamps first, for the last spike.
      durationUs = fallbackDurationUs(cmtr.units.map(timestampsOf));
      session.warn(
        `recording length unknown: firing_rate_10hz covers 0 to the last spike + 1 s ` +
          `(${formatSeconds(durationUs)}) for every unit`,
      );
    }
    const empty: string[] = [];
    const units: Unit[] = [];
    let lastUs = -Infinity;
    cmtr.units.forEach((contents, i) => {
      const timestampsUs = timestampsOf(contents);
      lastUs = Math.max(lastUs, maxOf(timestampsUs));
      const unit = buildUnit(contents, timestampsUs, rate.rate, durationUs, session);
      if (unit.spikeTimes.length === 0) empty.push(unit.id);
      units.push(unit);
      onUnit(i, unit);
      if (i % 16 === 0) onProgress(0.3 + (0.65 * i) / cmtr.units.length, `units ${i + 1}/${cmtr.units.length}`);
    });
    const late = cmcr && spikesPastEnd(cmcr, cmtr, lastUs);
    if (late) throw new HdmeaError(late, "bad-input", cmtr.fileName);
    session.addUnits(units);
    if (empty.length) {
      session.warn(
        `${cmtr.fileName}: ${empty.length} unit(s) have no included spikes and were kept with zero spikes ` +
          `(${empty.slice(0, 10).join(", ")}${empty.length > 10 ? ", …" : ""})`,
      );
    }
    session.markStepComplete("add_cmtr_unit_info", { source: cmtr.path, n_units: units.length });
  }

  const sysMeta: Tree = {};
  if (cmcr) {
    const meta: Tree = { ...cmcr.rootAttrs };
    if (cmcr.recordingDurationUs !== undefined) meta.recording_duration_s = f64(cmcr.recordingDurationUs / 1e6);
    sysMeta.cmcr_meta = meta;
  }
  if (cmtr) sysMeta.cmtr_meta = { ...cmtr.rootAttrs };
  session.addMetadata(sysMeta);
  session.markStepComplete("add_sys_meta_info", { cmcr: cmcr?.path ?? null, cmtr: cmtr?.path ?? null });

  session.setSourceFiles({ ...(cmcr ? { cmcr: cmcr.path } : {}), ...(cmtr ? { cmtr: cmtr.path } : {}) });
  session.markStepComplete("load_recording", {
    cmcr_path: cmcr?.path ?? null,
    cmtr_path: cmtr?.path ?? null,
    dataset_id: session.datasetId,
    acquisition_rate: rate.rate,
    acquisition_rate_source: rate.source,
    acquisition_rate_detail: rate.detail,
    acquisition_rate_from_tick: rate.tickRate ?? null,
    n_units: cmtr?.units.length ?? 0,
    n_frames: frameTimestamps.length,
    load_unit_meta: true,
    load_sys_meta: true,
  });
  onProgress(1, "done");
  return session;
}

function buildUnit(
  contents: SortedUnitContents,
  allTimestampsUs: Float64Array,
  rate: number,
  durationUs: number,
  session: PipelineSession,
): Unit {
  const { peaks } = contents;
  const include = numbers(columnValues(peaks.include));
  const id = unitIdFor(contents.unitNum);
  // The sorter writes IncludePeak as 0 or 1; anything else is kept out (as the original's `== 1`
  // does) and reported. A timestamp that is not a number cannot become a sample index at all.
  let count = 0;
  let oddInclude = 0;
  let notNumbers = 0;
  for (let i = 0; i < peaks.rowCount; i++) {
    const flag = include[i];
    if (flag === 1) {
      if (Number.isFinite(allTimestampsUs[i])) count++;
      else notNumbers++;
    } else if (flag !== 0) oddInclude++;
  }
  if (oddInclude) session.warn(`${id}: ${oddInclude} peak(s) with IncludePeak other than 0 or 1 were treated as excluded`);
  if (notNumbers) session.warn(`${id}: ${notNumbers} included peak(s) with a timestamp that is not a number were dropped`);
  let included = new Int32Array(count);
  for (let i = 0, k = 0; i < peaks.rowCount; i++) if (include[i] === 1 && Number.isFinite(allTimestampsUs[i])) included[k++] = i;

  // Later steps (sectioning, STA) search spike times by bisection, so they must be in time order.
  // The sorter writes them sorted; a file that does not is put in order, with a warning.
  let sorted = true;
  for (let k = 1; k < count && sorted; k++) sorted = allTimestampsUs[included[k]] >= allTimestampsUs[included[k - 1]];
  if (!sorted) {
    included = Int32Array.from(included).sort((a, b) => allTimestampsUs[a] - allTimestampsUs[b] || a - b);
    session.warn(`${id}: peak timestamps were not in time order; spike_times were sorted`);
  }

  const timestampsUs = new Float64Array(count);
  const spikeTimes = new BigUint64Array(count);
  const spikeWords = new Uint32Array(spikeTimes.buffer);
  const amplitudes = new Float32Array(count);
  const amplitude = numbers(columnValues(peaks.amplitude));
  let negative = 0;
  for (let k = 0; k < count; k++) {
    const t = allTimestampsUs[included[k]];
    timestampsUs[k] = t;
    if (t < 0) negative++;
    // np.round is round-half-to-even; a sample index cannot be negative. Written as two 32-bit
    // words (little-endian) to avoid a BigInt per spike.
    const sample = Math.max(0, roundHalfEven((t * rate) / 1e6));
    spikeWords[2 * k] = sample % 4294967296;
    spikeWords[2 * k + 1] = Math.floor(sample / 4294967296);
    amplitudes[k] = amplitude[included[k]];
  }
  if (negative) session.warn(`${id}: ${negative} spike(s) before the recording start (negative timestamps) were set to sample 0`);

  const waveform = new Float32Array(peaks.cutout.length);
  for (let j = 0; j < peaks.cutout.length; j++) {
    const column = numbers(columnValues(peaks.cutout[j]));
    let sum = 0;
    for (let k = 0; k < count; k++) sum += column[included[k]];
    // The mean of no spikes is NaN, as numpy gives it.
    waveform[j] = count ? sum / count : Number.NaN;
  }

  const { row, col, globalId, fromUnitInfo, sensorId } = unitPosition(contents);
  if (!fromUnitInfo) {
    session.warn(`${id}: no Unit Info row/column; position ${sensorId === undefined ? "unknown (0, 0)" : `from SensorID ${sensorId}`}`);
  }

  const unitMeta: Tree = { ...(contents.unitInfo ?? {}) };
  for (const [name, value] of Object.entries(contents.groupAttrs)) unitMeta[`attr_${name.toLowerCase()}`] = value;
  unitMeta.peak_amplitudes = new NDArray(amplitudes);
  unitMeta.peaks_data = peaks.columns;
  if (contents.roiStas) unitMeta.roi_stas = toFloat32(contents.roiStas);
  if (contents.unmixing) unitMeta.unmixing_matrix = toFloat32(contents.unmixing);

  return {
    id,
    attrs: {
      row,
      col,
      global_id: globalId,
      unit_num: contents.unitNum,
      original_name: contents.originalName,
    },
    spikeTimes,
    waveform,
    firingRate10hz: firingRate10hz(timestampsUs, durationUs),
    children: { unit_meta: unitMeta },
  };
}

export interface UnitPosition {
  row: number;
  col: number;
  globalId: number;
  /** `Unit Info` gave all three. */
  fromUnitInfo: boolean;
  /** Otherwise the group's SensorID the missing ones came from; without one they are 0. */
  sensorId?: number;
}

/** A unit's electrode: from its `Unit Info` row, else from the group's SensorID on the 65-wide MCS grid. */
export function unitPosition(contents: SortedUnitContents): UnitPosition {
  const info = contents.unitInfo ?? {};
  let row = scalarNumber(info.row);
  let col = scalarNumber(info.column);
  let globalId = scalarNumber(info.sensorid);
  if (row !== undefined && col !== undefined && globalId !== undefined) return { row, col, globalId, fromUnitInfo: true };
  const sensor = scalarNumber(contents.groupAttrs.SensorID);
  if (sensor !== undefined) {
    globalId ??= sensor;
    row ??= Math.floor((sensor - 1) / 65) + 1;
    col ??= ((sensor - 1) % 65) + 1;
  }
  return { row: row ?? 0, col: col ?? 0, globalId: globalId ?? 0, fromUnitInfo: false, sensorId: sensor };
}

/** numpy's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function fallbackDurationUs(timestampsUs: Float64Array[]): number {
  let last = 0;
  for (const ts of timestampsUs) last = Math.max(last, maxOf(ts));
  return last + 1e6;
}

function maxOf(values: Float64Array): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  return max;
}

/** A column's values (read from its file if it stayed there). */
function columnValues(column: PeakColumn): NumericArray {
  return column instanceof NDArray ? column.data : column;
}

/** A column readable as plain numbers: number typed arrays as they are, 64-bit integers converted. */
function numbers(values: NumericArray): ArrayLike<number> {
  return values instanceof BigInt64Array || values instanceof BigUint64Array ? toFloat64(values) : (values as ArrayLike<number>);
}

/**
 * Any numeric column as float64. 64-bit integers are combined from their two 32-bit words (exact
 * below 2^53, i.e. 285 years of µs) instead of being read as one BigInt each.
 */
function toFloat64(values: NumericArray): Float64Array {
  if (values instanceof Float64Array) return values;
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    const signed = values instanceof BigInt64Array;
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const hi = words[2 * i + 1];
      out[i] = (signed ? hi | 0 : hi) * 4294967296 + words[2 * i];
    }
    return out;
  }
  return Float64Array.from(values);
}

function toFloat32(array: NDArray): NDArray {
  if (array.data instanceof Float32Array) return array;
  return new NDArray(Float32Array.from(array.data as ArrayLike<number>, Number), array.shape);
}

function formatSeconds(us: number): string {
  return `${(us / 1e6).toFixed(3)} s`;
}
