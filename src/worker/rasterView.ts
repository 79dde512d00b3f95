/** A unit's raster (spikes per trial, seconds from the trial's start) and PSTH for one movie. */
import { isTree } from "../core/ndarray.ts";
import { asFloat64 } from "../core/features/int64Numbers.ts";
import { FeatureNotApplicable } from "../core/features/notApplicable.ts";
import { sectionedTrials, sortIfNeeded, spikesIn } from "../core/features/sectionedTrials.ts";
import type { PipelineSession } from "../core/session.ts";
import { acquisitionRateOf, recordingDuration, sectionBoxes } from "../core/sessionFacts.ts";

export interface Psth {
  /** Bin starts in seconds. */
  binStartS: Float64Array;
  /** Spikes per second per trial. */
  rateHz: Float64Array;
  binS: number;
}

/** Mean rate over `trials` trials in bins of `binS` from `startS` to `endS` (times relative to trial start). */
export function psth(times: ArrayLike<number>, trials: number, startS: number, endS: number, binS: number): Psth {
  const n = Math.max(1, Math.ceil((endS - startS) / binS - 1e-9));
  const counts = new Float64Array(n);
  for (let i = 0; i < times.length; i++) {
    const k = Math.floor((times[i] - startS) / binS);
    if (k >= 0 && k < n) counts[k]++;
  }
  const scale = 1 / (Math.max(1, trials) * binS);
  return {
    binStartS: Float64Array.from({ length: n }, (_, k) => startS + k * binS),
    rateHz: counts.map((c) => c * scale),
    binS,
  };
}

export interface RasterView {
  /** "trials": a sectioned movie; "sections": section_time occurrences; "recording": no sections yet. */
  mode: "trials" | "sections" | "recording";
  movie: string | null;
  /** Movies the raster could be aligned to. */
  movies: string[];
  trialCount: number;
  /** Plot range in seconds relative to trial start. */
  startS: number;
  endS: number;
  /** One point per spike, sorted by time: seconds from its trial's start, and the trial index. */
  timeS: Float64Array;
  trial: Float64Array;
  psth: Psth;
}

export interface RasterOptions {
  movie?: string | null;
  binS?: number;
  /** Recording-time mode: how many seconds from the start (default the whole recording, at most 300 s). */
  windowS?: number;
}

export function raster(session: PipelineSession, unitId: string, options: RasterOptions = {}): RasterView {
  const unit = session.getUnit(unitId);
  const rate = acquisitionRateOf(session);
  const sectionGroup = session.stimulus.section_time;
  const sectionedGroup = unit.children.spike_times_sectioned;
  const movies = [...new Set([...(isTree(sectionedGroup) ? Object.keys(sectionedGroup) : []), ...(isTree(sectionGroup) ? Object.keys(sectionGroup) : [])])];
  const movie = options.movie && movies.includes(options.movie) ? options.movie : null;

  let mode: RasterView["mode"] = "recording";
  // One row per trial: its length and its spikes, in seconds from its start.
  let rows: { durationS: number; spikesS: Float64Array }[];
  const sectioned = movie ? sectionedTrials(unit, movie, rate) : undefined;
  // Rows cut from the unit's whole train, [lo, hi) in samples.
  const cut = (bounds: number[][]): typeof rows => {
    const samples = sortIfNeeded(asFloat64(unit.spikeTimes));
    return bounds.map(([lo, hi]) => ({ durationS: (hi - lo) / rate, spikesS: spikesIn(samples, lo, hi).map((s) => (s - lo) / rate) }));
  };
  if (sectioned && !(sectioned instanceof FeatureNotApplicable)) {
    mode = "trials";
    rows = sectioned.spikes.map((spikesS, n) => ({ durationS: sectioned.durations[n], spikesS }));
  } else if (movie) {
    // Sectioning has not run: each showing of the movie is one row.
    mode = "sections";
    rows = cut(sectionBoxes(session).filter((b) => b.movie === movie).map((b) => [b.startS * rate, b.endS * rate]));
  } else {
    const windowS = options.windowS ?? Math.min(recordingDuration(session)?.seconds ?? 60, 300);
    rows = cut([[0, windowS * rate]]);
  }

  const points: [number, number][] = [];
  let startS = 0;
  let endS = 0;
  rows.forEach(({ durationS, spikesS }, n) => {
    endS = Math.max(endS, durationS);
    for (const t of spikesS) {
      startS = Math.min(startS, t);
      endS = Math.max(endS, t);
      points.push([t, n]);
    }
  });
  points.sort((a, b) => a[0] - b[0]);
  const timeS = Float64Array.from(points, (p) => p[0]);
  const binS = options.binS ?? (endS - startS > 60 ? 1 : 0.05);
  return {
    mode,
    movie,
    movies,
    trialCount: rows.length,
    startS,
    endS,
    timeS,
    trial: Float64Array.from(points, (p) => p[1]),
    psth: psth(timeS, rows.length, startS, endS, binS),
  };
}
