/**
 * `section_spike_times_analog`: spikes cut straight from the sample bounds that
 * `add_section_time_analog` found (one trial per detected section, no stimulus config, no frames),
 * with the lab's `pad_margin = (2.0, 0.0)` s, into the same
 * `spike_times_sectioned/<movie_name>/…` layout as `section_spike_times`.
 *
 * Deliberate differences from the lab's step, for consistency with `section_spike_times`: the padded
 * start is clamped at 0, `full_spike_times` is the sorted set of unique spikes (the lab's analog step
 * concatenated trials, counting a spike twice when padded windows overlap), and units without spikes
 * get empty arrays instead of no group.
 */
import { acquisitionRate, sectionRows, spikeSamples } from "../sessionInputs.ts";
import type { PipelineSession } from "../session.ts";
import { padSamples, sectionSpikes, sectionedMovieTree } from "../spikeSectioning.ts";
import type { Tree } from "../ndarray.ts";
import { mergeUnitGroup } from "../unitChildren.ts";
import { ADD_SECTION_TIME_ANALOG_DEFAULTS } from "./addSectionTimeAnalog.ts";
import { validatePadMargin } from "./sectionSpikeTimes.ts";
import { StepBailout, type PipelineStep } from "./stepContract.ts";

export interface SectionSpikeTimesAnalogParams {
  movie_name: string;
  pad_margin: [number, number];
}

export const SECTION_SPIKE_TIMES_ANALOG_DEFAULTS: SectionSpikeTimesAnalogParams = {
  movie_name: ADD_SECTION_TIME_ANALOG_DEFAULTS.movie_name,
  pad_margin: [2.0, 0.0],
};

export const sectionSpikeTimesAnalogStep: PipelineStep<SectionSpikeTimesAnalogParams> = {
  name: "section_spike_times_analog",
  description: "Each unit's spikes cut into the analog-detected sections",
  defaults: SECTION_SPIKE_TIMES_ANALOG_DEFAULTS,
  validate: (p) => validatePadMargin(p.pad_margin),
  prerequisites: [["add_section_time_analog"]],
  dependsOn: ["add_section_time_analog"],

  async run(session, params, ctx) {
    const rate = acquisitionRate(session);
    const rows = sectionRows(session, params.movie_name);
    if (!rows.length) throw new StepBailout(`stimulus/section_time/${params.movie_name} has no sections`);
    const bounds = rows.map(([startSample, endSample]) => ({ startSample, endSample }));
    const { pre, post } = padSamples(params.pad_margin, rate);
    const perUnit = new Map<string, Tree>();
    const units = [...session.units.values()];
    for (let u = 0; u < units.length; u++) {
      const unit = units[u];
      const { samples, sorted } = spikeSamples(unit);
      const spikes = sectionSpikes(unit.spikeTimes, samples, sorted, bounds, pre, post);
      perUnit.set(unit.id, { [params.movie_name]: sectionedMovieTree(spikes, bounds, params.pad_margin, pre, post) });
      await ctx.progress.update((u + 1) / units.length, `sectioned ${unit.id} (${u + 1}/${units.length})`);
    }
    return {
      warnings: [],
      summary: { n_trials: bounds.length, pre_samples: pre, post_samples: post },
      apply: (s: PipelineSession) => {
        for (const [unitId, tree] of perUnit) mergeUnitGroup(s, unitId, "spike_times_sectioned", tree);
      },
    };
  },
};
