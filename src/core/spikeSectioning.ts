/**
 * Cutting a unit's spikes into trials (domain brief §3.3), as the original's
 * `_calculate_trial_boundaries` and `_section_unit_spikes`:
 *
 * - trial n of a movie starts at display frame
 *   `f0 + pre_margin + start_frame + n·trial_length_frame + (n div repeat)·group_gap` and lasts
 *   `trial_length_frame` frames, where `f0 = floor_frame(section_time[0, 0])` (first showing only);
 *   both ends are clipped to the last frame and converted to samples through `frame_timestamps`;
 * - a trial's spikes are those in `[max(0, start − pre), end + post)` with `pre = int(pad_pre · rate)`
 *   and `post = int(pad_post · rate)`, in their original order, as int64;
 * - `full_spike_times` is the sorted set of unique spikes of all trials (padded windows may overlap,
 *   so one spike can be in two trials but is counted once here).
 */
import type { FrameClock } from "./frameClock.ts";
import { lowerBound } from "./frameClock.ts";
import { NDArray, i64, type Tree } from "./ndarray.ts";
import type { SectionKwargs } from "./stimulusConfig/stimulusConfig.ts";

export interface TrialBound {
  startFrame: number;
  endFrame: number;
  startSample: number;
  endSample: number;
}

/**
 * Trial bounds of one movie. `sectionStartSample` is `section_time[movie][0, 0]`; `preMargin` is the
 * number of frames the section starts before the movie content (add_section_time's
 * `pre_margin_frame_num`, 60 in the lab).
 */
export function trialBounds(kwargs: SectionKwargs, sectionStartSample: number, clock: FrameClock, preMargin = 60): TrialBound[] {
  const f0 = clock.floorFrame(sectionStartSample);
  const total = kwargs.group_count * kwargs.repeat;
  const bounds: TrialBound[] = [];
  for (let n = 0; n < total; n++) {
    const start = f0 + preMargin + kwargs.start_frame + n * kwargs.trial_length_frame + Math.floor(n / kwargs.repeat) * kwargs.group_gap;
    const end = start + kwargs.trial_length_frame;
    const startFrame = Math.min(start, clock.lastFrame);
    const endFrame = Math.min(end, clock.lastFrame);
    bounds.push({ startFrame, endFrame, startSample: clock.sampleAt(startFrame), endSample: clock.sampleAt(endFrame) });
  }
  return bounds;
}

export interface SectionedSpikes {
  full: BigInt64Array;
  trials: BigInt64Array[];
}

/** Pad margins in samples: `int()` truncates toward zero, as Python does. */
export function padSamples(padMargin: readonly [number, number], rate: number): { pre: number; post: number } {
  return { pre: Math.trunc(padMargin[0] * rate), post: Math.trunc(padMargin[1] * rate) };
}

/**
 * Spikes of one unit per trial. `spikeTimes` are sample indices; `sorted` says whether they are
 * non-decreasing (then each trial is found by binary search, otherwise by a scan that keeps order).
 */
export function sectionSpikes(
  spikeTimes: BigUint64Array,
  samples: Float64Array,
  sorted: boolean,
  bounds: readonly { startSample: number; endSample: number }[],
  pre: number,
  post: number,
): SectionedSpikes {
  const trials: BigInt64Array[] = [];
  for (const b of bounds) {
    const lo = Math.max(0, b.startSample - pre);
    const hi = b.endSample + post;
    if (sorted) {
      const i0 = lowerBound(samples, lo);
      const i1 = Math.max(i0, lowerBound(samples, hi));
      trials.push(new BigInt64Array(spikeTimes.subarray(i0, i1)));
    } else {
      const picked: bigint[] = [];
      for (let i = 0; i < samples.length; i++) if (samples[i] >= lo && samples[i] < hi) picked.push(spikeTimes[i]);
      trials.push(BigInt64Array.from(picked));
    }
  }
  return { trials, full: sortedUnique(trials) };
}

function sortedUnique(parts: readonly BigInt64Array[]): BigInt64Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const all = new BigInt64Array(total);
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  all.sort();
  let n = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[n++] = all[i];
  return all.slice(0, n);
}

/** `spike_times_sectioned/<movie>` of one unit, with the dtypes of the lab's layout (§4.3). */
export function sectionedMovieTree(
  spikes: SectionedSpikes,
  bounds: readonly { startSample: number; endSample: number }[],
  padMargin: readonly [number, number],
  pre: number,
  post: number,
): Tree {
  const trials: Tree = {};
  spikes.trials.forEach((t, n) => (trials[String(n)] = new NDArray(t)));
  const startEnd = new BigInt64Array(bounds.length * 2);
  bounds.forEach((b, n) => {
    startEnd[2 * n] = BigInt(b.startSample);
    startEnd[2 * n + 1] = BigInt(b.endSample);
  });
  return {
    full_spike_times: new NDArray(spikes.full),
    trials_spike_times: trials,
    trials_start_end: new NDArray(startEnd, [bounds.length, 2]),
    _attrs: {
      n_trials: i64(bounds.length),
      pad_margin: new NDArray(Float64Array.from(padMargin)),
      pre_samples: i64(pre),
      post_samples: i64(post),
    },
  };
}
