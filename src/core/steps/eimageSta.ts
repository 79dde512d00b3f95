/**
 * `load_recording_with_eimage_sta`, the eimage STA part (domain brief §3.1): on a loaded session,
 * the electrical image of every unit from the raw sensor frames, stored as the feature `eimage_sta`
 * (session layout, §4.3):
 *
 *   features/eimage_sta/data      float64 [window, 65, 65] (window = 50 for window_range (−10, 40))
 *   features/eimage_sta/metadata/{n_spikes_used, n_spikes_excluded (int64), cutoff_hz (float64),
 *     filter_order, pre_samples, post_samples, spike_limit (int64), duration_s (float64),
 *     skip_highpass (bool), sampling_rate (float64), window_range (int64 [2])}
 *
 * The loading half of the lab's integrated loader is `load_recording` (the session already holds
 * units, metadata and stimulus); this step adds the STA and records the lab's step name.
 *
 * - Spikes: `units/<id>/unit_meta/peaks_data/timestamp`, which holds ALL Peaks rows in file order;
 *   the first `spike_limit` are used without the IncludePeak filter (unlike `spike_times`).
 * - Rate: `metadata/acquisition_rate`, the same estimate the original uses.
 * - Sensor frames: `inputs.sensorData` (io/mcs/sensorInput.ts opens a .cmcr's); without them the step
 *   gives up with a warning and the session is unchanged.
 * - ⚠ Legacy divisor bug, kept on purpose so the numbers compare with the lab's files: the sum is
 *   divided by every spike within `duration_s`, including the ones dropped at chunk edges
 *   (`n_spikes_excluded`), so amplitudes are scaled by n_spikes_used / (used + excluded).
 * - The computation is core/eimage/eimageSta.ts; see there for the chunk and filter rules.
 */
import { computeEImageSta, type SensorFrames, type UnitPeaks } from "../eimage/eimageSta.ts";
import { NDArray, bool, f64, i64 } from "../ndarray.ts";
import { acquisitionRate, childAt } from "../sessionInputs.ts";
import type { PipelineSession } from "../session.ts";
import { LOAD_STEPS, StepBailout, fnv1a, type PipelineStep } from "./stepContract.ts";

/** The raw sensor frames as the caller hands them to the step. */
export interface SensorDataInput extends SensorFrames {
  /** The file they come from, for messages and for noticing a different file on a re-run. */
  name?: string;
}

// The input belongs with the others in PipelineInputs; declared here so the step stays one file.
declare module "./stepContract.ts" {
  interface PipelineInputs {
    /** Raw sensor frames ([frames, 65, 65] int16) for `load_recording_with_eimage_sta`. */
    sensorData?: SensorDataInput;
  }
}

export interface EImageStaParams {
  /** Seconds of sensor data from the start of the recording. */
  duration_s: number;
  /** Peaks rows per unit (first N, IncludePeak ignored); 0 = all. */
  spike_limit: number;
  /** Samples around the spike, [start ≤ 0, end ≥ 0): (−10, 40) = 10 before, 40 after. */
  window_range: [number, number];
  cutoff_hz: number;
  filter_order: number;
  /** Subtract each chunk's per-electrode mean instead of high-pass filtering. */
  skip_highpass: boolean;
  /** Filter segment length; spikes within the window of a segment edge are dropped. */
  chunk_duration_s: number;
}

export const EIMAGE_STA_DEFAULTS: EImageStaParams = {
  duration_s: 120,
  spike_limit: 10000,
  window_range: [-10, 40],
  cutoff_hz: 100,
  filter_order: 2,
  skip_highpass: false,
  // The docstring and the 001 contract say 30 s; the code the lab runs uses 10 s.
  chunk_duration_s: 10,
};

export const EIMAGE_STA_FEATURE = "eimage_sta";

export const eimageStaStep: PipelineStep<EImageStaParams> = {
  name: "load_recording_with_eimage_sta",
  description: "Electrical image (eimage STA): mean high-passed 65×65 voltage movie around each unit's spikes, from the raw sensor frames",
  defaults: EIMAGE_STA_DEFAULTS,
  validate: (p) => {
    const problems: string[] = [];
    const positive = (name: keyof EImageStaParams) => {
      const v = p[name];
      if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) problems.push(`${name} must be a number > 0, got ${JSON.stringify(v)}`);
    };
    positive("duration_s");
    positive("cutoff_hz");
    positive("chunk_duration_s");
    if (!Number.isInteger(p.spike_limit) || p.spike_limit < 0) problems.push(`spike_limit must be a whole number ≥ 0 (0 = all), got ${JSON.stringify(p.spike_limit)}`);
    if (!Number.isInteger(p.filter_order) || p.filter_order < 1 || p.filter_order > 10) problems.push(`filter_order must be a whole number 1–10, got ${JSON.stringify(p.filter_order)}`);
    if (typeof p.skip_highpass !== "boolean") problems.push(`skip_highpass must be true or false, got ${JSON.stringify(p.skip_highpass)}`);
    const [a, b] = Array.isArray(p.window_range) ? p.window_range : [Number.NaN, Number.NaN];
    if (!(Number.isInteger(a) && Number.isInteger(b) && a <= 0 && b >= 0 && b > a)) {
      problems.push(`window_range must be two whole numbers [start ≤ 0, end ≥ 0] with start < end, got ${JSON.stringify(p.window_range)}`);
    }
    return problems;
  },
  prerequisites: [LOAD_STEPS],
  dependsOn: [],
  fingerprint: (_p, inputs) => {
    const sensor = inputs.sensorData;
    return sensor ? fnv1a([sensor.name ?? "", sensor.shape.join("x")]) : undefined;
  },

  async run(session, params, ctx) {
    const sensor = ctx.inputs.sensorData;
    if (!sensor) {
      throw new StepBailout(
        "skipped: no raw sensor data was given (the .cmcr's Acquisition/Sensor Data/SensorData 1 1); open the recording's .cmcr to compute the eimage STA",
      );
    }
    const source = sensor.name ?? "the sensor data";
    const [frames, rows, cols] = sensor.shape;
    if (sensor.shape.length !== 3 || !(frames > 0 && rows > 0 && cols > 0)) {
      throw new StepBailout(`${source} has shape [${sensor.shape.join(", ")}], expected [frames, rows, cols] with frames > 0`);
    }
    const rate = acquisitionRate(session);
    if (!params.skip_highpass && !(params.cutoff_hz < rate / 2)) {
      throw new StepBailout(`cutoff_hz ${params.cutoff_hz} must be below the Nyquist frequency (${rate / 2} Hz at ${rate} Hz)`);
    }

    const warnings: string[] = [];
    const units: UnitPeaks[] = [];
    const noPeaks: string[] = [];
    for (const unit of session.units.values()) {
      const timestamps = childAt(unit.children, "unit_meta/peaks_data/timestamp");
      if (timestamps instanceof NDArray) units.push({ id: unit.id, timestampsUs: timestamps.data as ArrayLike<number | bigint> });
      else noPeaks.push(unit.id);
    }
    if (!session.units.size) throw new StepBailout("the session has no units (load the .cmtr first)");
    if (!units.length) throw new StepBailout("no unit has unit_meta/peaks_data/timestamp (the raw Peaks rows the eimage STA needs)");
    if (noPeaks.length) warnings.push(`${noPeaks.length} unit(s) have no unit_meta/peaks_data/timestamp and got no eimage STA: ${list(noPeaks)}`);

    const wantSamples = Math.trunc(rate * params.duration_s);
    if (frames < wantSamples) {
      warnings.push(`${source} holds ${(frames / rate).toFixed(2)} s of frames, less than duration_s = ${params.duration_s} s: all of it was used`);
    }

    let run;
    try {
      run = await computeEImageSta(
        sensor,
        units,
        {
          rate,
          durationS: params.duration_s,
          spikeLimit: params.spike_limit,
          windowRange: params.window_range,
          cutoffHz: params.cutoff_hz,
          filterOrder: params.filter_order,
          skipHighpass: params.skip_highpass,
          chunkDurationS: params.chunk_duration_s,
        },
        (f, message) => ctx.progress.update(f, message),
      );
    } catch (e) {
      // Cancellation passes through; problems with the data become a warning, as in the other steps.
      if ((e as Error)?.name === "AbortError") throw e;
      throw new StepBailout(`${source}: ${(e as Error)?.message ?? String(e)}`);
    }

    const empty = run.results.filter((r) => r.divisor === 0).map((r) => r.id);
    if (empty.length) warnings.push(`${empty.length} unit(s) have no spike within the first ${params.duration_s} s; their eimage STA is all NaN: ${list(empty)}`);

    const [pre, post] = [-params.window_range[0], params.window_range[1]];
    const used = run.results.reduce((n, r) => n + r.used, 0);
    const excluded = run.results.reduce((n, r) => n + r.excluded, 0);
    return {
      warnings,
      summary: {
        feature: EIMAGE_STA_FEATURE,
        n_units: run.results.length,
        sensor_source: source,
        total_samples: run.totalSamples,
        chunks: run.chunkCount,
        chunks_filtered: run.chunksFiltered,
        n_spikes_used: used,
        n_spikes_excluded: excluded,
      },
      apply: (s: PipelineSession) => {
        for (const r of run.results) {
          s.addFeature(r.id, EIMAGE_STA_FEATURE, new NDArray(r.sta, run.shape), {
            n_spikes_used: i64(r.used),
            n_spikes_excluded: i64(r.excluded),
            cutoff_hz: f64(params.cutoff_hz),
            filter_order: i64(params.filter_order),
            pre_samples: i64(pre),
            post_samples: i64(post),
            spike_limit: i64(params.spike_limit),
            duration_s: f64(params.duration_s),
            skip_highpass: bool(params.skip_highpass),
            sampling_rate: f64(rate),
            window_range: new NDArray(BigInt64Array.from(params.window_range, (x) => BigInt(x))),
          });
        }
      },
    };
  },
};

function list(ids: readonly string[]): string {
  return `${ids.slice(0, 10).join(", ")}${ids.length > 10 ? ", …" : ""}`;
}
