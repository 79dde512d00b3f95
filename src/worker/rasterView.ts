/** A unit's raster (spikes per trial, seconds from the trial's start) and PSTH for one movie. */
import { NDArray, isTree } from "../core/ndarray.ts";
import { lowerBound } from "../core/frameClock.ts";
import type { PipelineSession, Unit } from "../core/session.ts";
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

/** Trial [start, end] sample rows and per-trial spikes (samples) of a sectioned movie, if the unit has it. */
function sectionedTrials(unit: Unit, movie: string): { bounds: number[][]; spikes: Float64Array[] } | undefined {
  const sectioned = unit.children.spike_times_sectioned;
  const entry = isTree(sectioned) ? sectioned[movie] : undefined;
  if (!isTree(entry)) return undefined;
  const startEnd = entry.trials_start_end;
  const trials = entry.trials_spike_times;
  if (!(startEnd instanceof NDArray) || !isTree(trials)) return undefined;
  const v = Array.from(startEnd.data as ArrayLike<number | bigint>, Number);
  const bounds: number[][] = [];
  for (let i = 0; i + 1 < v.length; i += 2) bounds.push([v[i], v[i + 1]]);
  // Keys are decimal strings ("0", "1", …) in a fresh or a loaded session alike.
  const spikes = bounds.map((_, n) => {
    const node = trials[String(n)];
    return node instanceof NDArray ? Float64Array.from(node.data as ArrayLike<number | bigint>, Number) : new Float64Array(0);
  });
  return { bounds, spikes };
}

function spikesInWindow(samples: Float64Array, lo: number, hi: number): Float64Array {
  return samples.slice(lowerBound(samples, lo), lowerBound(samples, hi));
}

export function raster(session: PipelineSession, unitId: string, options: RasterOptions = {}): RasterView {
  const unit = session.getUnit(unitId);
  const rate = acquisitionRateOf(session);
  const sectionGroup = session.stimulus.section_time;
  const sectionedGroup = unit.children.spike_times_sectioned;
  const movies = [...new Set([...(isTree(sectionedGroup) ? Object.keys(sectionedGroup) : []), ...(isTree(sectionGroup) ? Object.keys(sectionGroup) : [])])];
  const movie = options.movie && movies.includes(options.movie) ? options.movie : null;

  let mode: RasterView["mode"] = "recording";
  let bounds: number[][] = [];
  let perTrial: Float64Array[] = [];
  const sectioned = movie ? sectionedTrials(unit, movie) : undefined;
  const samples = Float64Array.from(unit.spikeTimes as unknown as ArrayLike<number>, Number).sort();
  if (movie && sectioned) {
    mode = "trials";
    ({ bounds, spikes: perTrial } = sectioned);
  } else if (movie) {
    // Sectioning has not run: each showing of the movie is one row.
    mode = "sections";
    bounds = sectionBoxes(session).filter((b) => b.movie === movie).map((b) => [b.startS * rate, b.endS * rate]);
    perTrial = bounds.map(([lo, hi]) => spikesInWindow(samples, lo, hi));
  } else {
    const windowS = options.windowS ?? Math.min(recordingDuration(session)?.seconds ?? 60, 300);
    bounds = [[0, windowS * rate]];
    perTrial = [spikesInWindow(samples, 0, windowS * rate)];
  }

  const points: [number, number][] = [];
  let startS = 0;
  let endS = 0;
  bounds.forEach(([lo, hi], n) => {
    endS = Math.max(endS, (hi - lo) / rate);
    for (const s of perTrial[n]) {
      const t = (s - lo) / rate;
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
    trialCount: bounds.length,
    startS,
    endS,
    timeS,
    trial: Float64Array.from(points, (p) => p[1]),
    psth: psth(timeS, bounds.length, startS, endS, binS),
  };
}
