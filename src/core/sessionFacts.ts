/**
 * Facts about a recording that the views, the units table and the steps all need, each derived in
 * one place so that no two readers disagree (the units table and the unit panel once divided by
 * different recording lengths and showed different mean rates):
 *
 * | fact                 | read from, in order                                                                 |
 * |----------------------|-------------------------------------------------------------------------------------|
 * | acquisition rate     | `metadata/acquisition_rate` when positive; for display only, else `DEFAULT_ACQUISITION_RATE` |
 * | recording duration   | `recording_duration_s` in `metadata/cmcr_meta`, `metadata/cmtr_meta`, `metadata`, or any other metadata group (the plain loader's `sys_meta`); else the last spike |
 * | light reference      | `stimulus/light_reference/raw_ch1`, else `1khz_ch1`, else `10hz_ch1`, with that trace's sample rate |
 * | mean rate            | spikes / recording duration, NaN when the duration is unknown                        |
 * | sections             | `stimulus/section_time/<movie>` rows (samples) in seconds                            |
 *
 * A step never guesses the rate: it uses `recordedAcquisitionRate` (through `sessionInputs.ts`,
 * which bails out without it). Only views fall back to the default, to draw something.
 */
import { downsampleFactor } from "./lightReference.ts";
import { lastSpikeOf } from "./memoryBudget.ts";
import { NDArray, elementCount, isTree, scalarNumber, type Tree } from "./ndarray.ts";
import type { PipelineSession, Unit } from "./session.ts";

/** The rate the loader assumes when neither the .cmcr nor the .cmtr says (20 kHz, the MEA2100's usual). */
export const DEFAULT_ACQUISITION_RATE = 20000;

/** `metadata/acquisition_rate` (Hz) when present and positive. */
export function recordedAcquisitionRate(session: PipelineSession): number | undefined {
  const rate = scalarNumber(session.metadata.acquisition_rate);
  return rate !== undefined && rate > 0 ? rate : undefined;
}

/** The rate to draw with: the recorded one, else the default (views only; steps bail out instead). */
export function acquisitionRateOf(session: PipelineSession): number {
  return recordedAcquisitionRate(session) ?? DEFAULT_ACQUISITION_RATE;
}

/** The groups that may hold `recording_duration_s`, the recording's own (.cmcr) first. */
const DURATION_GROUPS = ["cmcr_meta", "cmtr_meta"];

/** `recording_duration_s` from the metadata (see the table above), when one is positive. */
export function recordedDurationS(metadata: Tree): number | undefined {
  const groups = [...DURATION_GROUPS, "", ...Object.keys(metadata).filter((k) => !DURATION_GROUPS.includes(k))];
  for (const name of groups) {
    const group = name === "" ? metadata : metadata[name];
    if (!isTree(group)) continue;
    const seconds = scalarNumber(group.recording_duration_s);
    if (seconds !== undefined && seconds > 0) return seconds;
  }
  return undefined;
}

/** The light reference trace a view draws: the raw channel, else a downsampled one, with its sample rate. */
export interface LightTrace {
  name: "raw_ch1" | "1khz_ch1" | "10hz_ch1";
  /** Numeric (not 64-bit integers), read flat; it may be left in its source file: read it by slices (`traceEnvelope.ts`). */
  array: NDArray;
  /** Samples per second of this trace (the downsampled ones are block means, `lightReference.ts`). */
  rate: number;
}

const LIGHT_TRACES = [
  ["raw_ch1", 0],
  ["1khz_ch1", 1000],
  ["10hz_ch1", 10],
] as const;

export function lightTrace(session: PipelineSession): LightTrace | undefined {
  const light = session.stimulus.light_reference;
  if (!isTree(light)) return undefined;
  const rate = acquisitionRateOf(session);
  for (const [name, target] of LIGHT_TRACES) {
    const node = light[name];
    // Asked of the array's shape and type, not its data: an hour's raw trace stays in its file.
    if (node instanceof NDArray && elementCount(node.shape) > 0 && node.dtype !== "int64" && node.dtype !== "uint64") {
      return { name, array: node, rate: target ? rate / downsampleFactor(rate, target) : rate };
    }
  }
  return undefined;
}

/** A unit's last spike (sample index), without reading a train left in its file whole. */
function lastSpikeSample(unit: Unit): number | undefined {
  const last = lastSpikeOf(unit);
  return last === undefined ? undefined : Number(last);
}

export interface RecordingDuration {
  seconds: number;
  source: "metadata" | "last spike";
}

/**
 * How long the recording is, and what says so; undefined when nothing does (no metadata, no spike).
 * Without metadata, the last spike rather than the light reference's length: the units table has
 * always said "up to the last spike" then (`tests/worker/api.test.ts`), and the unit panel now agrees.
 */
export function recordingDuration(session: PipelineSession): RecordingDuration | undefined {
  const recorded = recordedDurationS(session.metadata);
  if (recorded !== undefined) return { seconds: recorded, source: "metadata" };
  let last = 0;
  for (const unit of session.units.values()) last = Math.max(last, lastSpikeSample(unit) ?? 0);
  return last > 0 ? { seconds: last / acquisitionRateOf(session), source: "last spike" } : undefined;
}

/** Spikes per second over the recording; NaN when its duration is unknown. */
export function meanRateHz(spikeCount: number, duration: RecordingDuration | undefined): number {
  return duration ? spikeCount / duration.seconds : Number.NaN;
}

/** One showing of a movie: a `stimulus/section_time/<movie>` row in seconds. */
export interface SectionBox {
  movie: string;
  /** Which showing of the movie (0 for the first). */
  occurrence: number;
  startS: number;
  endS: number;
}

/** Every `stimulus/section_time` row in seconds, movie by movie. */
export function sectionBoxes(session: PipelineSession): SectionBox[] {
  const group = session.stimulus.section_time;
  if (!isTree(group)) return [];
  const rate = acquisitionRateOf(session);
  const boxes: SectionBox[] = [];
  for (const [movie, node] of Object.entries(group)) {
    if (!(node instanceof NDArray)) continue;
    const v = Array.from(node.data as ArrayLike<number | bigint>, Number);
    for (let i = 0; i + 1 < v.length; i += 2) boxes.push({ movie, occurrence: i / 2, startS: v[i] / rate, endS: v[i + 1] / rate });
  }
  return boxes;
}
