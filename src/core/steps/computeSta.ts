/**
 * `compute_sta` (domain brief §3.4): the visual receptive field of every unit from the dense-noise
 * movie, stored as the feature `sta_<movie>` (session layout):
 * `features/sta_<movie>/data` float32 [window, H, W] and
 * `features/sta_<movie>/metadata/{n_spikes_used, n_spikes_excluded, cover_range (int64 [2]), movie_name}`.
 *
 * - Movie: `movie_name`, or the movie in `section_time` whose name contains "noise"
 *   (case-insensitive); several → a warning and the first, as the original in session mode.
 * - The stimulus array (`<movie>.npy`, [frames, H, W], normally uint8) comes from the caller as
 *   `inputs.stimulusMovies[movie]`.
 * - Alignment: `movie_start_frame = floor_frame(section_time[movie][0, 0]) + pre_margin`, spikes from
 *   `trials_spike_times/0` (pre-padding included), `spike_frame = floor_frame(sample) − movie_start_frame`
 *   (floor, as the code does; spec 009's "nearest frame" is not what the lab ran).
 * - The original retries a failing unit once; the computation here is deterministic, so it does not.
 */
import { NDArray, i64 } from "../ndarray.ts";
import { frameClock, sectionMovies, sectionRows, trialSpikes } from "../sessionInputs.ts";
import type { PipelineSession } from "../session.ts";
import { movieShape, spikeTriggeredAverage, type StaResult } from "../visualSta.ts";
import { sectionPreMargin } from "./sectionSpikeTimes.ts";
import { StepBailout, fnv1a, type PipelineStep } from "./stepContract.ts";

export interface ComputeStaParams {
  /** The noise movie; null: the one whose name contains "noise". */
  movie_name: string | null;
  /** Frames relative to the spike frame, [start, end): (−60, 0) = the 60 frames before the spike. */
  cover_range: [number, number];
}

export const COMPUTE_STA_DEFAULTS: ComputeStaParams = {
  movie_name: null,
  cover_range: [-60, 0],
};

export const computeStaStep: PipelineStep<ComputeStaParams> = {
  name: "compute_sta",
  description: "Visual spike-triggered average (receptive field) on the dense-noise movie",
  defaults: COMPUTE_STA_DEFAULTS,
  validate: (p) => {
    const [a, b] = Array.isArray(p.cover_range) ? p.cover_range : [Number.NaN, Number.NaN];
    return Number.isInteger(a) && Number.isInteger(b) && b > a ? [] : [`cover_range must be two integers [start, end) with start < end, got ${JSON.stringify(p.cover_range)}`];
  },
  prerequisites: [["section_spike_times"]],
  dependsOn: ["section_spike_times"],
  fingerprint: (p, inputs, session) => {
    const movie = chooseMovie(session, p).movie;
    const array = movie ? inputs.stimulusMovies?.[movie] : undefined;
    return array ? fnv1a([movie!, array.shape.join("x"), array.data]) : undefined;
  },

  async run(session, params, ctx) {
    const { movie, warning } = chooseMovie(session, params);
    if (!movie) throw new StepBailout(warning!);
    const warnings = warning ? [warning] : [];
    const array = ctx.inputs.stimulusMovies?.[movie];
    if (!array) throw new StepBailout(`needs the stimulus movie ${movie}.npy ([frames, H, W]); none was given`);
    let nFrames: number;
    try {
      [nFrames] = movieShape(array);
    } catch (e) {
      throw new StepBailout(`${movie}.npy: ${(e as Error).message}`);
    }
    if (array.dtype !== "uint8") warnings.push(`${movie}.npy has dtype ${array.dtype}, expected uint8 (the STA is still the plain mean)`);

    const clock = frameClock(session);
    const rows = sectionRows(session, movie);
    if (!rows.length) throw new StepBailout(`stimulus/section_time/${movie} has no rows`);
    const preMargin = sectionPreMargin(session);
    const movieStart = clock.floorFrame(rows[0][0]) + preMargin;
    const shownFrames = shownContentFrames(session, clock.floorFrame(rows[0][0]), clock.floorFrame(rows[0][1]), preMargin);
    if (shownFrames !== undefined && shownFrames !== nFrames) {
      warnings.push(`${movie}.npy has ${nFrames} frames but its section spans ${shownFrames} content frames: is it the movie that was shown?`);
    }

    const units = [...session.units.values()];
    const results = new Map<string, StaResult>();
    const unsectioned: string[] = [];
    for (let u = 0; u < units.length; u++) {
      const unit = units[u];
      const samples = trialSpikes(unit, movie, 0);
      if (!samples) {
        unsectioned.push(unit.id);
        continue;
      }
      const frames = new Float64Array(samples.length);
      for (let i = 0; i < samples.length; i++) frames[i] = clock.floorFrame(samples[i]) - movieStart;
      results.set(unit.id, spikeTriggeredAverage(frames, array, params.cover_range));
      await ctx.progress.update((u + 1) / units.length, `STA ${unit.id} (${u + 1}/${units.length})`);
    }
    if (units.length && !results.size) {
      throw new StepBailout(`no unit has spike_times_sectioned/${movie}/trials_spike_times/0 (section ${movie} first)`);
    }
    if (unsectioned.length) {
      warnings.push(`${unsectioned.length} unit(s) have no sectioned spikes for ${movie} and got no STA: ${unsectioned.slice(0, 10).join(", ")}${unsectioned.length > 10 ? ", …" : ""}`);
    }
    const empty = [...results].filter(([, r]) => r.used === 0).map(([id]) => id);
    if (empty.length) warnings.push(`${empty.length} unit(s) have no spike inside the movie window; their STA is all NaN: ${empty.slice(0, 10).join(", ")}${empty.length > 10 ? ", …" : ""}`);

    const featureName = `sta_${movie}`;
    return {
      warnings,
      summary: { movie_name: movie, feature: featureName, n_units: results.size, movie_start_frame: movieStart },
      apply: (s: PipelineSession) => {
        for (const [unitId, r] of results) {
          s.addFeature(unitId, featureName, new NDArray(r.sta, r.shape), {
            n_spikes_used: i64(r.used),
            n_spikes_excluded: i64(r.excluded),
            cover_range: new NDArray(BigInt64Array.from(params.cover_range, (x) => BigInt(x))),
            movie_name: movie,
          });
        }
      },
    };
  },
};

function chooseMovie(session: PipelineSession, params: ComputeStaParams): { movie?: string; warning?: string } {
  const movies = sectionMovies(session);
  if (params.movie_name) {
    return movies.includes(params.movie_name)
      ? { movie: params.movie_name }
      : { warning: `movie_name "${params.movie_name}" is not in stimulus/section_time (it has ${movies.join(", ") || "no movies"})` };
  }
  const noise = movies.filter((m) => m.toLowerCase().includes("noise"));
  if (!noise.length) return { warning: `no noise movie in stimulus/section_time (movies: ${movies.join(", ") || "none"}); set movie_name` };
  if (noise.length > 1) return { movie: noise[0], warning: `several noise movies (${noise.join(", ")}): using ${noise[0]} (set movie_name to choose)` };
  return { movie: noise[0] };
}

/** Content frames of a section per add_section_time's recorded margins, or undefined if unknown. */
function shownContentFrames(session: PipelineSession, startFrame: number, endFrame: number, preMargin: number): number | undefined {
  const record = session.completedSteps.find((s) => s.name === "add_section_time");
  const post = record?.params.post_margin_frame_num;
  if (!record || typeof post !== "number") return undefined;
  // end = start + pre + post + L + 1 (playlistSections.ts); clipped sections cannot be judged.
  if (endFrame >= frameClock(session).lastFrame) return undefined;
  return endFrame - startFrame - preMargin - post - 1;
}
