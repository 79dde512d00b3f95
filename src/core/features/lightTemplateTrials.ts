/**
 * When the light changed inside each trial, read from the session's own record of what was shown:
 * `stimulus/light_template/<movie>` (the mean photodiode trace `raw_ch1` over the movie's showings,
 * one value per acquisition sample from `section_time[movie][0, 0]`). Each trial's slice
 * `[trial_start − lookback, trial_end + lookahead)` is resampled to 1 kHz by block means (photodiode noise
 * averages out; 1 ms is far below any response latency) and its times are made relative to the trial
 * start, like the spikes.
 *
 * From that trace:
 * - `lightEdges`: ON (rising) and OFF (falling) steps, by crossing `min + threshold·range` with a
 *   hysteresis band, so photodiode ripple is not read as a step;
 * - `lightCycles`: cycles of a modulated light (chirp, frequency steps) between successive upward
 *   crossings of the mid level, each with its frequency and relative amplitude.
 *
 * Every unit of a session shares the same trials and template, so results are memoised per template
 * array (a WeakMap: nothing outlives the session) — 1,000 units cost one pass over the trace.
 */
import { NDArray } from "../ndarray.ts";
import { childAt } from "../sessionInputs.ts";
import type { FeatureContext } from "./featureExtractor.ts";
import type { MovieTrials } from "./sectionedTrials.ts";

export interface TrialLight {
  /** Block-mean light level, one value per `dt` seconds. */
  levels: Float64Array;
  dt: number;
  /** Time (s, relative to the trial start) of `levels[0]`'s block start. */
  t0: number;
  /** The trial's length (s); levels past it are the lookahead. */
  end: number;
}

export interface LightTraces {
  trials: TrialLight[];
  min: number;
  max: number;
}

export interface LightEdges {
  /** Seconds relative to the trial start. */
  on: number[];
  off: number[];
  /**
   * Seconds (≤ 0) since when the light before the trial's first edge is known and steady: the last
   * edge before the trial (in the template's lookback) or the start of the lookback. Absent (edges
   * given as a parameter): nothing is known before the trial start.
   */
  since?: number;
  /**
   * Seconds (≥ the trial's last edge) until when the light after the trial's last edge is known and
   * steady: the first edge after the trial end (in the lookahead) or the end of the known trace.
   * Absent: until the trial end.
   */
  until?: number;
}

export interface LightCycle {
  start: number;
  end: number;
  frequency: number;
  /** (max − min) inside the cycle over the trace's whole range. */
  amplitude: number;
  /** Up crossing → down crossing over the period (0.5 for a sine or a symmetric square wave). */
  duty: number;
  /** ((max − mid) − (mid − min)) / (max − min): 0 when the cycle swings equally both ways. */
  balance: number;
}

const memo = new WeakMap<NDArray, Map<string, unknown>>();

function memoised<T>(template: NDArray, key: string, compute: () => T): T {
  let byKey = memo.get(template);
  if (!byKey) memo.set(template, (byKey = new Map()));
  if (!byKey.has(key)) byKey.set(key, compute());
  return byKey.get(key) as T;
}

function templateOf(ctx: FeatureContext, movie: string): { template: NDArray; sectionStart: number } | undefined {
  const template = childAt(ctx.stimulus, `light_template/${movie}`);
  const section = childAt(ctx.stimulus, `section_time/${movie}`);
  if (!(template instanceof NDArray) || template.data.length === 0) return undefined;
  if (!(section instanceof NDArray) || section.data.length < 2) return undefined;
  return { template, sectionStart: Number(section.data[0]) };
}

/** Whether the session has a light template for this movie. */
export function hasLightTemplate(ctx: FeatureContext, movie: string): boolean {
  return templateOf(ctx, movie) !== undefined;
}

/** Each trial's light, resampled to ~1 kHz; undefined without a template or with a flat one. */
export function trialLightTraces(ctx: FeatureContext, movie: string, trials: MovieTrials, rate: number, lookbackS = 0.25, lookaheadS = 0): LightTraces | undefined {
  const found = templateOf(ctx, movie);
  if (!found) return undefined;
  const { template, sectionStart } = found;
  const key = `traces|${sectionStart}|${trials.startSamples.join(",")}|${trials.endSamples.join(",")}|${lookbackS}|${lookaheadS}|${rate}`;
  return memoised(template, key, () => {
    const data = template.data as ArrayLike<number>;
    const block = Math.max(1, Math.round(rate / 1000));
    const lookback = Math.round(lookbackS * rate);
    const lookahead = Math.round(lookaheadS * rate);
    const out: TrialLight[] = [];
    let min = Infinity;
    let max = -Infinity;
    for (let t = 0; t < trials.startSamples.length; t++) {
      const want0 = trials.startSamples[t] - sectionStart - lookback;
      const i0 = Math.max(0, want0);
      const i1 = Math.min(data.length, trials.endSamples[t] - sectionStart + lookahead);
      const n = Math.max(0, Math.floor((i1 - i0) / block));
      const levels = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        let s = 0;
        let c = 0;
        for (let i = i0 + k * block, e = i + block; i < e; i++) {
          const v = Number(data[i]);
          if (!Number.isNaN(v)) {
            s += v;
            c++;
          }
        }
        levels[k] = c ? s / c : Number.NaN;
        if (c) {
          if (levels[k] < min) min = levels[k];
          if (levels[k] > max) max = levels[k];
        }
      }
      out.push({ levels, dt: block / rate, t0: (i0 - (trials.startSamples[t] - sectionStart)) / rate, end: (trials.endSamples[t] - trials.startSamples[t]) / rate });
    }
    // A flat trace has no steps: treat as "no usable template" rather than inventing edges from noise.
    if (!(max > min) || (max - min) <= 1e-9 * Math.max(1, Math.abs(max), Math.abs(min))) return undefined;
    return { trials: out, min, max };
  });
}

/**
 * ON/OFF steps: a rise through `min + (threshold + hysteresis)·range` after the trace was below
 * `min + (threshold − hysteresis)·range` is an ON step, timed at the first block at or above
 * `min + threshold·range`; OFF mirrors it. Edges before `−tolerance` s belong to the previous trial
 * (the last one sets `since`), edges from `end − tolerance` on to the next (the first sets `until`);
 * a trial that starts exactly at a step still sees it thanks to the lookback.
 */
export function lightEdges(traces: LightTraces, trial: number, threshold = 0.5, hysteresis = 0.1, tolerance = 0.02): LightEdges {
  const { levels, dt, t0, end } = traces.trials[trial];
  const range = traces.max - traces.min;
  const mid = traces.min + threshold * range;
  const hi = traces.min + Math.min(1, threshold + hysteresis) * range;
  const lo = traces.min + Math.max(0, threshold - hysteresis) * range;
  const on: number[] = [];
  const off: number[] = [];
  let state: "low" | "high" | undefined;
  let crossing = -1;
  // Where the light is first known (the first non-NaN block), moved up to every edge before the trial.
  let since = Number.NaN;
  let until = Number.NaN;
  let known = 0;
  for (let k = 0; k < levels.length; k++) {
    const v = levels[k];
    if (Number.isNaN(v)) continue;
    if (Number.isNaN(since)) since = t0 + k * dt;
    known = t0 + (k + 1) * dt;
    if (state === undefined) {
      if (v >= hi) state = "high";
      else if (v <= lo) state = "low";
      continue;
    }
    if (state === "low") {
      if (v >= mid && crossing < 0) crossing = k;
      if (v < mid) crossing = -1;
      if (v >= hi) {
        const t = t0 + (crossing < 0 ? k : crossing) * dt;
        if (t >= end - tolerance) {
          if (Number.isNaN(until)) until = Math.max(end, t);
        } else if (t >= -tolerance) on.push(Math.max(0, t));
        else since = t;
        state = "high";
        crossing = -1;
      }
    } else {
      if (v <= mid && crossing < 0) crossing = k;
      if (v > mid) crossing = -1;
      if (v <= lo) {
        const t = t0 + (crossing < 0 ? k : crossing) * dt;
        if (t >= end - tolerance) {
          if (Number.isNaN(until)) until = Math.max(end, t);
        } else if (t >= -tolerance) off.push(Math.max(0, t));
        else since = t;
        state = "low";
        crossing = -1;
      }
    }
  }
  return { on, off, since: Number.isNaN(since) ? 0 : Math.min(0, since), until: Number.isNaN(until) ? known : until };
}

/** Memoised `lightEdges` for every trial. */
export function allLightEdges(ctx: FeatureContext, movie: string, traces: LightTraces, threshold: number, hysteresis: number): LightEdges[] {
  const found = templateOf(ctx, movie)!;
  const key = `edges|${traces.trials.length}|${threshold}|${hysteresis}|${cacheId(traces)}`;
  return memoised(found.template, key, () => traces.trials.map((_, t) => lightEdges(traces, t, threshold, hysteresis)));
}

/** Memoised `lightCycles` for every trial. */
export function allLightCycles(ctx: FeatureContext, movie: string, traces: LightTraces, hysteresis: number): LightCycle[][] {
  const found = templateOf(ctx, movie)!;
  const key = `cycles|${hysteresis}|${cacheId(traces)}`;
  return memoised(found.template, key, () => traces.trials.map((_, t) => lightCycles(traces, t, hysteresis)));
}

const ids = new WeakMap<LightTraces, number>();
let nextId = 0;
function cacheId(traces: LightTraces): number {
  let id = ids.get(traces);
  if (id === undefined) ids.set(traces, (id = nextId++));
  return id;
}

/**
 * Cycles between successive upward crossings of the mid level (with a ±hysteresis·range band, small
 * so the low-contrast cycles of an amplitude sweep still count), inside `[0, trial end)`.
 */
export function lightCycles(traces: LightTraces, trial: number, hysteresis = 0.02): LightCycle[] {
  const { levels, dt, t0 } = traces.trials[trial];
  const range = traces.max - traces.min;
  const mid = traces.min + 0.5 * range;
  // The same ON/OFF crossing machine as `lightEdges`, around the mid level with a narrow band.
  const { on: ups, off: downs } = lightEdges(traces, trial, 0.5, hysteresis, 0);
  const cycles: LightCycle[] = [];
  for (let i = 0; i + 1 < ups.length; i++) {
    const start = ups[i];
    const end = ups[i + 1];
    const k0 = Math.max(0, Math.round((start - t0) / dt));
    const k1 = Math.min(levels.length, Math.round((end - t0) / dt));
    let cmin = Infinity;
    let cmax = -Infinity;
    for (let k = k0; k < k1; k++) {
      const v = levels[k];
      if (v < cmin) cmin = v;
      if (v > cmax) cmax = v;
    }
    // Time above the mid level = up crossing → the next down crossing (none: the light never fell).
    const down = downs.find((t) => t > start && t < end);
    const duty = down === undefined ? Number.NaN : (down - start) / (end - start);
    cycles.push({ start, end, frequency: 1 / (end - start), amplitude: (cmax - cmin) / range, duty, balance: (cmax + cmin - 2 * mid) / (cmax - cmin) });
  }
  return cycles;
}
