/**
 * `add_section_time` (domain brief §3.2): cuts the recording into movie sections from the playlist
 * and movie-length tables.
 *
 * Outputs (the lab's layout):
 * - `stimulus/section_time/<movie>`: int64 [n_occurrences, 2], `[start_sample, end_sample]` —
 *   samples, not frames: `frame_timestamps[clip(frame)]`;
 * - `stimulus/light_template/<movie>`: float32 NaN-mean of the `raw_ch1` slices of its occurrences;
 * - `metadata/section_time_playlist` (string) and `metadata/section_time_repeats` (int64).
 *
 * Like the original in session mode, a session that already has `section_time` is left alone (with
 * a warning) unless the step is forced; a forced run replaces the playlist sections but keeps a
 * section added by `add_section_time_analog`.
 *
 * Beyond the original: the sections are checked against the frame pulses and the light reference
 * (`sectionTimeChecks.ts`) and every disagreement becomes a session warning.
 */
import { nanMeanTemplate } from "../lightTemplate.ts";
import { NDArray, i64, isTree, type Tree } from "../ndarray.ts";
import { playlistSectionFrames, repeatPlaylist } from "../playlistSections.ts";
import { checkPlaylistSections } from "../sectionTimeChecks.ts";
import { acquisitionRate, frameClock, lightReferenceRanges } from "../sessionInputs.ts";
import type { PipelineSession } from "../session.ts";
import { ConfigFileError } from "../stimulusConfig/csvTable.ts";
import { lookupMovieLength, parseMovieLengthCsv } from "../stimulusConfig/movieLengthCsv.ts";
import { parsePlaylistCsv, playlistMovies } from "../stimulusConfig/playlistCsv.ts";
import { analogSectionMovies } from "./addSectionTimeAnalog.ts";
import { LOAD_STEPS, StepBailout, fnv1a, type PipelineStep } from "./stepContract.ts";

export interface AddSectionTimeParams {
  /** Required: the row of the playlist table that was shown. */
  playlist_name: string;
  /** Times the whole playlist was played (≤ 0 counts as 1). */
  repeats: number;
  pad_frame: number;
  pre_margin_frame_num: number;
  post_margin_frame_num: number;
}

export const ADD_SECTION_TIME_DEFAULTS: AddSectionTimeParams = {
  playlist_name: "",
  repeats: 1,
  pad_frame: 180,
  pre_margin_frame_num: 60,
  post_margin_frame_num: 120,
};

export const addSectionTimeStep: PipelineStep<AddSectionTimeParams> = {
  name: "add_section_time",
  description: "Movie sections (in samples) from the playlist and movie-length tables",
  defaults: ADD_SECTION_TIME_DEFAULTS,
  validate: (p) => {
    const problems: string[] = [];
    if (!p.playlist_name.trim()) problems.push("playlist_name is required (the playlist that was shown)");
    for (const key of ["repeats", "pad_frame", "pre_margin_frame_num", "post_margin_frame_num"] as const) {
      if (!Number.isInteger(p[key])) problems.push(`${key} must be an integer, got ${p[key]}`);
    }
    for (const key of ["pad_frame", "pre_margin_frame_num", "post_margin_frame_num"] as const) {
      if (p[key] < 0) problems.push(`${key} must be ≥ 0, got ${p[key]}`);
    }
    return problems;
  },
  prerequisites: [LOAD_STEPS],
  dependsOn: [],
  fingerprint: (_p, inputs) =>
    inputs.playlistCsv && inputs.movieLengthCsv ? fnv1a([inputs.playlistCsv.text, inputs.movieLengthCsv.text]) : undefined,

  async run(session, params, ctx) {
    const repeats = params.repeats <= 0 ? 1 : params.repeats;
    if (isTree(session.stimulus.section_time) && hasPlaylistSections(session) && !ctx.force) {
      return {
        apply: () => {},
        warnings: ["stimulus/section_time already exists: kept as it is (force the step to recompute it)"],
        summary: { kept_existing: true },
      };
    }
    const { playlistCsv, movieLengthCsv } = ctx.inputs;
    if (!playlistCsv) throw new StepBailout("needs the playlist table (playlist.csv); none was given");
    if (!movieLengthCsv) throw new StepBailout("needs the movie-length table (movie_length.csv); none was given");

    const clock = frameClock(session);
    const rate = acquisitionRate(session);
    const light = lightReferenceRanges(session);
    await ctx.progress.update(0.05, "reading the playlist");

    let movies: string[];
    let sections;
    try {
      const playlist = playlistMovies(parsePlaylistCsv(playlistCsv.text, playlistCsv.name), params.playlist_name);
      const lengths = parseMovieLengthCsv(movieLengthCsv.text, movieLengthCsv.name);
      movies = repeatPlaylist(playlist.movies, repeats);
      sections = playlistSectionFrames(movies, (m) => lookupMovieLength(lengths, m), params);
    } catch (e) {
      if (e instanceof ConfigFileError) throw new StepBailout(e.message);
      throw e;
    }
    if (!sections.occurrences.length) {
      throw new StepBailout(
        `no section times computed: none of the ${movies.length} movies of playlist "${params.playlist_name}" is in ${movieLengthCsv.name}`,
      );
    }

    await ctx.progress.update(0.2, "converting frames to samples");
    const rows = new Map<string, bigint[]>();
    // Each movie's showings as sample ranges; their traces are read movie by movie below, so an
    // hour's light reference is never held whole (it may stay in its source file).
    const showings = new Map<string, [number, number][]>();
    for (const o of sections.occurrences) {
      const start = clock.sampleAt(o.startFrame);
      const end = clock.sampleAt(o.endFrame);
      rows.set(o.movie, [...(rows.get(o.movie) ?? []), BigInt(start), BigInt(end)]);
      if (light) {
        const list = showings.get(o.movie) ?? [];
        // The original slices raw_ch1[start:end] after clipping `end` to the trace; empty slices are dropped.
        if (Math.max(0, start) < Math.min(light.length, end)) list.push([start, end]);
        showings.set(o.movie, list);
      }
    }
    const sectionTime: Tree = {};
    const lightTemplate: Tree = {};
    let done = 0;
    for (const [movie, flat] of rows) {
      sectionTime[movie] = new NDArray(BigInt64Array.from(flat), [flat.length / 2, 2]);
      const list = showings.get(movie);
      if (light && list?.length) lightTemplate[movie] = new NDArray(nanMeanTemplate(list.map(([start, end]) => light.slice(start, end))));
      await ctx.progress.update(0.2 + (0.6 * ++done) / rows.size, `light template ${movie}`);
    }

    const warnings = checkPlaylistSections(sections, clock, light, rate, { playlist: playlistCsv.name, movieLength: movieLengthCsv.name });
    if (!light) warnings.push("no stimulus/light_reference/raw_ch1: light templates were not computed");
    await ctx.progress.update(0.95, "checked sections against the frame pulses");

    // Sections from the analog step describe a different part of the recording: keep them.
    const keep = analogSectionMovies(session);
    return {
      warnings,
      summary: {
        // The tables' file names, so the session can say which command reproduces it (reproduceCommand.ts).
        playlist_file: playlistCsv.name,
        movie_length_file: movieLengthCsv.name,
        movies: [...rows.keys()],
        n_sections: sections.occurrences.length,
        skipped_movies: sections.skipped.map((s) => s.movie),
        playlist_frames: sections.finalFrameCount,
        detected_frames: clock.frameCount,
      },
      apply: (s: PipelineSession) => {
        const oldSections = isTree(s.stimulus.section_time) ? s.stimulus.section_time : {};
        const oldTemplates = isTree(s.stimulus.light_template) ? s.stimulus.light_template : {};
        const nextSections: Tree = {};
        const nextTemplates: Tree = {};
        for (const movie of keep) {
          if (oldSections[movie] !== undefined) nextSections[movie] = oldSections[movie];
          if (oldTemplates[movie] !== undefined) nextTemplates[movie] = oldTemplates[movie];
        }
        Object.assign(nextSections, sectionTime);
        Object.assign(nextTemplates, lightTemplate);
        // Replace (not merge) so movies of a previous playlist do not linger.
        delete s.stimulus.section_time;
        delete s.stimulus.light_template;
        s.addStimulus({ section_time: nextSections, light_template: nextTemplates });
        s.addMetadata({ section_time_playlist: params.playlist_name, section_time_repeats: i64(repeats) });
      },
    };
  },
};

/** True when `section_time` holds a movie that is not from the analog step. */
function hasPlaylistSections(session: PipelineSession): boolean {
  const group = session.stimulus.section_time;
  if (!isTree(group)) return false;
  const analog = new Set(analogSectionMovies(session));
  return Object.keys(group).some((m) => !analog.has(m));
}
