/**
 * What the analysis steps read from a session, found where the lab's files put it and converted to
 * plain numbers. Files written by the lab's two modes differ (`frame_times` vs `frame_time`, scalars
 * `()` vs `(1,)`), and loaded checkpoints come back through the HDF5 reader, so every getter accepts
 * each variant. A missing input throws a StepBailout naming the session path that is missing.
 */
import { int64ToFloat64 } from "./features/int64Numbers.ts";
import { FrameClock } from "./frameClock.ts";
import { traceRanges, type TraceRanges } from "./lightTemplate.ts";
import { NDArray, elementCount, isTree, type Tree, type TreeNode } from "./ndarray.ts";
import type { PipelineSession, Unit } from "./session.ts";
import { recordedAcquisitionRate } from "./sessionFacts.ts";
import { StepBailout } from "./steps/stepContract.ts";

export function childAt(tree: Tree, path: string): TreeNode | undefined {
  let node: TreeNode | undefined = tree;
  for (const part of path.split("/")) {
    if (!isTree(node)) return undefined;
    node = node[part];
  }
  return node;
}

export function acquisitionRate(session: PipelineSession): number {
  const rate = recordedAcquisitionRate(session);
  if (rate === undefined) throw new StepBailout("metadata/acquisition_rate is missing or not positive (run a load step first)");
  return rate;
}

/** `metadata/frame_timestamps`, else `stimulus/frame_times/default`, else `stimulus/frame_time/default`. */
export function frameTimestampsNode(session: PipelineSession): NDArray | undefined {
  for (const node of [
    session.metadata.frame_timestamps,
    childAt(session.stimulus, "frame_times/default"),
    childAt(session.stimulus, "frame_time/default"),
  ]) {
    if (node instanceof NDArray && node.data.length > 0) return node;
  }
  return undefined;
}

export function frameClock(session: PipelineSession): FrameClock {
  const node = frameTimestampsNode(session);
  if (!node) throw new StepBailout("no frame timestamps in the session (metadata/frame_timestamps is missing or empty)");
  try {
    return new FrameClock(node.data);
  } catch (e) {
    throw new StepBailout(`metadata/frame_timestamps: ${(e as Error).message}`);
  }
}

/** `stimulus/light_reference/raw_ch1` as numbers, or undefined. */
export function lightReferenceCh1(session: PipelineSession): ArrayLike<number> | undefined {
  const trace = lightReferenceRanges(session);
  return trace?.slice(0, trace.length);
}

/** `stimulus/light_reference/raw_ch1` read by sample ranges (it may stay in its source file). */
export function lightReferenceRanges(session: PipelineSession): TraceRanges | undefined {
  const node = childAt(session.stimulus, "light_reference/raw_ch1");
  if (!(node instanceof NDArray) || elementCount(node.shape) === 0) return undefined;
  return traceRanges(node);
}

/** The `[start, end]` sample rows of `stimulus/section_time/<movie>` (an [n, 2] array; [2] is one row). */
export function sectionRows(session: PipelineSession, movie: string): [number, number][] {
  const node = childAt(session.stimulus, `section_time/${movie}`);
  if (!(node instanceof NDArray)) throw new StepBailout(`stimulus/section_time/${movie} is missing`);
  const values = Array.from(node.data as ArrayLike<number | bigint>, Number);
  if (values.length % 2 !== 0) throw new StepBailout(`stimulus/section_time/${movie} has shape [${node.shape.join(", ")}], expected [n, 2]`);
  const rows: [number, number][] = [];
  for (let i = 0; i < values.length; i += 2) rows.push([values[i], values[i + 1]]);
  return rows;
}

export function sectionMovies(session: PipelineSession): string[] {
  const group = session.stimulus.section_time;
  return isTree(group) ? Object.keys(group) : [];
}

/** A unit's spike sample indices as float64 (exact below 2^53), and whether they are sorted. */
export function spikeSamples(unit: Unit): { samples: Float64Array; sorted: boolean } {
  // Read the 64-bit words directly: `Float64Array.from(x, Number)` calls back per spike (~7× slower
  // over a 1,000-unit hour) and gives the same doubles.
  const samples = int64ToFloat64(unit.spikeTimes);
  let sorted = true;
  for (let i = 1; i < samples.length && sorted; i++) sorted = samples[i] >= samples[i - 1];
  return { samples, sorted };
}

/**
 * `trials_spike_times/<n>` of a sectioned movie. The key is the decimal string: in JS "0" and 0 name
 * the same property, and a loaded file gives "0" — the original's int-vs-str trap cannot happen here.
 */
export function trialSpikes(unit: Unit, movie: string, trial: number): Float64Array | undefined {
  const node = childAt(unit.children, `spike_times_sectioned/${movie}/trials_spike_times/${String(trial)}`);
  if (!(node instanceof NDArray)) return undefined;
  return Float64Array.from(node.data as ArrayLike<number | bigint>, Number);
}
