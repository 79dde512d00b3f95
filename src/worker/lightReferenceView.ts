/**
 * The light reference as the page plots it: a min/max envelope of the raw trace over the range
 * asked for, with the sections' boxes; the whole hour's envelope comes from an overview built once.
 */
import { NDArray, elementCount } from "../core/ndarray.ts";
import { TraceOverview } from "../core/traceEnvelope.ts";
import type { PipelineSession } from "../core/session.ts";
import { lightTrace, recordingDuration, sectionBoxes, type SectionBox } from "../core/sessionFacts.ts";

export interface LightReferenceView {
  channel: string | null;
  durationS: number;
  timeS: Float64Array;
  value: Float32Array;
  sections: SectionBox[];
}

export interface LightReferenceRange {
  /** Seconds; default the whole recording. */
  from?: number;
  to?: number;
  /** Pixel buckets (≈ plot width); the result has at most twice as many points. */
  points?: number;
}

/** One overview per trace array (arrays are never changed in place, so it stays true). */
const overviews = new WeakMap<NDArray, TraceOverview>();

/**
 * The light reference between `from` and `to` as a min/max envelope. A trace left in its source file
 * is read a slice at a time (`pause` between slices lets the worker answer other calls meanwhile),
 * and a whole-recording view reads it once, for every later redraw.
 */
export async function lightReference(session: PipelineSession, range: LightReferenceRange = {}, pause?: () => Promise<void>): Promise<LightReferenceView> {
  const trace = lightTrace(session);
  const sections = sectionBoxes(session);
  if (!trace) return { channel: null, durationS: recordingDuration(session)?.seconds ?? 0, timeS: new Float64Array(0), value: new Float32Array(0), sections };
  const traceRate = trace.rate;
  const durationS = elementCount(trace.array.shape) / traceRate;
  const from = Math.max(0, range.from ?? 0);
  const to = Math.min(durationS, range.to ?? durationS);
  let overview = overviews.get(trace.array);
  if (!overview) overviews.set(trace.array, (overview = new TraceOverview(trace.array)));
  const env = await overview.envelope(from * traceRate, to * traceRate, range.points ?? 2000, pause);
  const timeS = env.x.map((i) => i / traceRate);
  return { channel: trace.name, durationS, timeS, value: env.y, sections };
}
