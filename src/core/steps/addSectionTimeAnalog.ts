/**
 * `add_section_time_analog` (domain brief §3.2, analog variant): sections found in the light
 * reference itself, for stimuli shown without the projector playlist (the ipRGC test). As the lab's
 * session step:
 *
 * - onsets are peaks of `diff(raw_ch1)` ≥ `threshold_value` (no default; the lab uses 1e5), searched
 *   after the last frame timestamp, at least `min_peak_distance_margin × plot_duration` apart;
 * - each section is `[onset, min(onset + int(plot_duration·rate), len − 1)]` (int64 samples); `repeat`
 *   keeps the first N for `section_time`, but the light template averages every detection;
 * - outputs `stimulus/section_time/<movie_name>` and `stimulus/light_template/<movie_name>`, merged
 *   beside the playlist sections.
 *
 * Spikes are cut from these bounds by `section_spike_times_analog` (no stimulus config involved).
 * What was found (onsets, peak heights, where the search started) is recorded with the step.
 */
import { detectAnalogOnsets } from "../analogOnsets.ts";
import { nanMeanTemplate, sliceSignal } from "../lightTemplate.ts";
import { NDArray } from "../ndarray.ts";
import { acquisitionRate, childAt, frameTimestampsNode, lightReferenceCh1 } from "../sessionInputs.ts";
import type { PipelineSession } from "../session.ts";
import { LOAD_STEPS, StepBailout, type PipelineStep } from "./stepContract.ts";

export interface AddSectionTimeAnalogParams {
  /** Required: minimum height of a rising edge in `diff(raw_ch1)` (raw units per sample). */
  threshold_value: number | null;
  movie_name: string;
  /** Section length in seconds. */
  plot_duration: number;
  /** Keep only the first N sections (null: all). */
  repeat: number | null;
  /** Minimum onset spacing as a fraction of `plot_duration`. */
  min_peak_distance_margin: number;
  /** Search only after the last frame timestamp (the lab's session step does). */
  search_after_last_frame: boolean;
}

export const ADD_SECTION_TIME_ANALOG_DEFAULTS: AddSectionTimeAnalogParams = {
  threshold_value: null,
  movie_name: "iprgc_test",
  plot_duration: 120.0,
  repeat: null,
  min_peak_distance_margin: 0.8,
  search_after_last_frame: true,
};

export const addSectionTimeAnalogStep: PipelineStep<AddSectionTimeAnalogParams> = {
  name: "add_section_time_analog",
  description: "Sections detected from rising edges of the light reference (e.g. the ipRGC test)",
  defaults: ADD_SECTION_TIME_ANALOG_DEFAULTS,
  validate: (p) => {
    const problems: string[] = [];
    if (p.threshold_value === null || !Number.isFinite(p.threshold_value)) {
      problems.push("threshold_value is required (no default: inspect diff(raw_ch1); the lab uses 1e5)");
    }
    if (!p.movie_name.trim() || /[/]/.test(p.movie_name)) problems.push(`movie_name must be a non-empty name without "/", got "${p.movie_name}"`);
    if (!(p.plot_duration > 0)) problems.push(`plot_duration must be > 0 s, got ${p.plot_duration}`);
    if (p.repeat !== null && !(Number.isInteger(p.repeat) && p.repeat >= 1)) problems.push(`repeat must be null or an integer ≥ 1, got ${p.repeat}`);
    if (!(p.min_peak_distance_margin >= 0)) problems.push(`min_peak_distance_margin must be ≥ 0, got ${p.min_peak_distance_margin}`);
    return problems;
  },
  prerequisites: [LOAD_STEPS],
  dependsOn: [],

  async run(session, params, ctx) {
    const movie = params.movie_name;
    const previous = analogSectionMovies(session);
    if (childAt(session.stimulus, `section_time/${movie}`) !== undefined && !ctx.force) {
      return {
        apply: () => {},
        warnings: [`stimulus/section_time/${movie} already exists: kept as it is (force the step to recompute it)`],
        summary: { kept_existing: true, analog_movies: union(previous, movie) },
      };
    }
    const raw = lightReferenceCh1(session);
    if (!raw) throw new StepBailout("stimulus/light_reference/raw_ch1 is missing (open the .cmcr)");
    const rate = acquisitionRate(session);
    const warnings: string[] = [];

    const frames = frameTimestampsNode(session);
    let from = 0;
    if (params.search_after_last_frame) {
      if (frames) from = Number(frames.data[frames.data.length - 1]);
      else warnings.push("no frame timestamps: searched the whole light reference for onsets");
    }
    await ctx.progress.update(0.1, `searching onsets after sample ${from}`);
    const onsets = detectAnalogOnsets(raw, {
      threshold: params.threshold_value!,
      from,
      minDistance: Math.trunc(params.plot_duration * params.min_peak_distance_margin * rate),
    });
    if (!onsets.length) {
      throw new StepBailout(`no rising edge of raw_ch1 reaches threshold_value=${params.threshold_value} after sample ${from}`);
    }
    await ctx.progress.update(0.6, `${onsets.length} onsets found`);

    const duration = Math.trunc(params.plot_duration * rate);
    const maxSample = raw.length - 1;
    // The template averages every detection, before `repeat` (as the original).
    const template = nanMeanTemplate(onsets.map((o) => sliceSignal(raw, o.sample, Math.min(o.sample + duration, maxSample))));
    let kept = onsets;
    if (params.repeat !== null) {
      if (onsets.length < params.repeat) warnings.push(`repeat=${params.repeat} but only ${onsets.length} onset(s) were detected`);
      kept = onsets.slice(0, params.repeat);
    }
    const flat = new BigInt64Array(kept.length * 2);
    let truncated = 0;
    kept.forEach((o, i) => {
      const end = o.sample + duration;
      if (end > maxSample) truncated++;
      flat[2 * i] = BigInt(o.sample);
      flat[2 * i + 1] = BigInt(Math.min(Math.max(end, 0), maxSample));
    });
    if (truncated) warnings.push(`${truncated} section(s) of ${movie} run past the end of the recording and were cut at sample ${maxSample}`);
    if (frames && !params.search_after_last_frame) {
      const last = Number(frames.data[frames.data.length - 1]);
      const during = kept.filter((o) => o.sample <= last).length;
      if (during) warnings.push(`${during} onset(s) of ${movie} fall while the projector was showing frames (before sample ${last}): check threshold_value`);
    }
    await ctx.progress.update(0.95, "sections ready");

    return {
      warnings,
      summary: {
        search_start_sample: from,
        n_detected: onsets.length,
        onsets: onsets.map((o) => o.sample),
        peak_heights: onsets.map((o) => o.height),
        n_sections: kept.length,
        analog_movies: union(previous, movie),
      },
      apply: (s: PipelineSession) => {
        s.addStimulus({
          section_time: { [movie]: new NDArray(flat, [kept.length, 2]) },
          light_template: { [movie]: new NDArray(template) },
        });
      },
    };
  },
};

/** Movies whose sections came from this step (recorded in its completion summary). */
export function analogSectionMovies(session: PipelineSession): string[] {
  const record = session.completedSteps.find((s) => s.name === "add_section_time_analog");
  if (!record) return [];
  const summary = record.params.summary;
  const listed = summary && typeof summary === "object" ? (summary as { analog_movies?: unknown }).analog_movies : undefined;
  const names = Array.isArray(listed) ? listed.filter((m): m is string => typeof m === "string") : [];
  const own = record.params.movie_name;
  return union(names, typeof own === "string" ? own : undefined);
}

function union(list: readonly string[], extra: string | undefined): string[] {
  return [...new Set([...list, ...(extra ? [extra] : [])])];
}
