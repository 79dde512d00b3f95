/**
 * `section_spike_times` (domain brief §3.3): every unit's spikes cut into the trials that each
 * movie's stimulus config (`<movie>.json`, §6.1) defines, written to
 * `units/<id>/spike_times_sectioned/<movie>/{full_spike_times, trials_spike_times/<n>,
 * trials_start_end, _attrs/{n_trials, pad_margin, pre_samples, post_samples}}`.
 *
 * - Movies: `movie_names`, or every playlist movie in `section_time` (sections found by
 *   `add_section_time_analog` are cut by `section_spike_times_analog` instead, with no config).
 * - Every movie needs a valid config; otherwise the step gives up with one warning listing every
 *   problem and is not marked complete, as the original does in session mode.
 * - Only the first showing of a movie is sectioned (the original's rule).
 * - Deliberate fix: trial frames count from `f0 + pre_margin_frame_num` as `add_section_time` ran
 *   with it (the original hardcodes 60, which is only right for the default margin).
 */
import { frameClock, acquisitionRate, sectionMovies, sectionRows, spikeSamples } from "../sessionInputs.ts";
import type { PipelineSession } from "../session.ts";
import { padSamples, sectionSpikes, sectionedMovieTree, trialBounds, type TrialBound } from "../spikeSectioning.ts";
import { StimulusConfigError, configMovieName, loadStimulusConfigs } from "../stimulusConfig/stimulusConfig.ts";
import type { Tree } from "../ndarray.ts";
import { mergeUnitGroup } from "../unitChildren.ts";
import { analogSectionMovies } from "./addSectionTimeAnalog.ts";
import { ADD_SECTION_TIME_DEFAULTS } from "./addSectionTime.ts";
import { StepBailout, fnv1a, type PipelineStep } from "./stepContract.ts";

export interface SectionSpikeTimesParams {
  /** Seconds kept before and after each trial, as (pre, post). */
  pad_margin: [number, number];
  /** Movies to section; null: every playlist movie in `section_time`. */
  movie_names: string[] | null;
}

export const SECTION_SPIKE_TIMES_DEFAULTS: SectionSpikeTimesParams = {
  pad_margin: [0.0, 0.0],
  movie_names: null,
};

export const sectionSpikeTimesStep: PipelineStep<SectionSpikeTimesParams> = {
  name: "section_spike_times",
  description: "Each unit's spikes cut into trials per the stimulus configs",
  defaults: SECTION_SPIKE_TIMES_DEFAULTS,
  validate: (p) => validatePadMargin(p.pad_margin),
  prerequisites: [["add_section_time"]],
  dependsOn: ["add_section_time"],
  fingerprint: (p, inputs, session) => {
    if (!inputs.stimulusConfigs) return undefined;
    const texts = new Map(Object.entries(inputs.stimulusConfigs).map(([k, v]) => [configMovieName(k), v]));
    const movies = moviesToSection(session, p).movies.sort();
    return fnv1a(movies.flatMap((m) => [m, texts.get(m) ?? "\u0000missing"]));
  },

  async run(session, params, ctx) {
    const rate = acquisitionRate(session);
    const clock = frameClock(session);
    const { movies, unknown } = moviesToSection(session, params);
    const warnings: string[] = [];
    if (unknown.length) warnings.push(`movie_names not in stimulus/section_time, ignored: ${unknown.join(", ")}`);
    if (!movies.length) {
      return { apply: () => {}, warnings: [...warnings, "no movies to section"], summary: { movies: [] } };
    }

    let configs;
    try {
      configs = loadStimulusConfigs(movies, ctx.inputs.stimulusConfigs ?? {});
    } catch (e) {
      if (e instanceof StimulusConfigError) throw new StepBailout(e.message);
      throw e;
    }
    const preMargin = sectionPreMargin(session);
    const boundsByMovie = new Map<string, TrialBound[]>();
    for (const movie of movies) {
      const rows = sectionRows(session, movie);
      if (!rows.length) {
        warnings.push(`stimulus/section_time/${movie} has no rows: not sectioned`);
        continue;
      }
      if (rows.length > 1) warnings.push(`${movie} was shown ${rows.length} times: only the first showing is cut into trials (as the original)`);
      boundsByMovie.set(movie, trialBounds(configs.get(movie)!, rows[0][0], clock, preMargin));
    }

    const { pre, post } = padSamples(params.pad_margin, rate);
    const perUnit = new Map<string, Tree>();
    const units = [...session.units.values()];
    for (let u = 0; u < units.length; u++) {
      const unit = units[u];
      const { samples, sorted } = spikeSamples(unit);
      const movieTrees: Tree = {};
      for (const [movie, bounds] of boundsByMovie) {
        movieTrees[movie] = sectionedMovieTree(sectionSpikes(unit.spikeTimes, samples, sorted, bounds, pre, post), bounds, params.pad_margin, pre, post);
      }
      perUnit.set(unit.id, movieTrees);
      await ctx.progress.update((u + 1) / units.length, `sectioned ${unit.id} (${u + 1}/${units.length})`);
    }

    return {
      warnings,
      summary: {
        movies: [...boundsByMovie.keys()],
        n_trials: Object.fromEntries([...boundsByMovie].map(([m, b]) => [m, b.length])),
        pre_samples: pre,
        post_samples: post,
        content_offset_frames: preMargin,
      },
      apply: (s: PipelineSession) => {
        for (const [unitId, trees] of perUnit) mergeUnitGroup(s, unitId, "spike_times_sectioned", trees);
      },
    };
  },
};

export function validatePadMargin(pad: unknown): string[] {
  if (!Array.isArray(pad) || pad.length !== 2 || !pad.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0)) {
    return [`pad_margin must be two numbers of seconds ≥ 0 as (pre, post), got ${JSON.stringify(pad)}`];
  }
  return [];
}

function moviesToSection(session: PipelineSession, params: SectionSpikeTimesParams): { movies: string[]; unknown: string[] } {
  const available = sectionMovies(session);
  if (params.movie_names) {
    return {
      movies: params.movie_names.filter((m) => available.includes(m)),
      unknown: params.movie_names.filter((m) => !available.includes(m)),
    };
  }
  const analog = new Set(analogSectionMovies(session));
  return { movies: available.filter((m) => !analog.has(m)), unknown: [] };
}

/** Frames between a section's start and its movie content: add_section_time's pre margin. */
export function sectionPreMargin(session: PipelineSession): number {
  const recorded = session.completedSteps.find((s) => s.name === "add_section_time")?.params.pre_margin_frame_num;
  return typeof recorded === "number" && Number.isInteger(recorded) ? recorded : ADD_SECTION_TIME_DEFAULTS.pre_margin_frame_num;
}
