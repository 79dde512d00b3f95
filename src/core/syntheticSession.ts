/**
 * Synthetic sessions (for the benchmark, in Node and in the worker) of a requested in-memory size in the real layout: long light-reference traces,
 * spike trains, sectioned trials and per-unit features (an eimage STA stack), as a processed
 * recording has them. Deterministic per seed.
 */
import { NDArray, f64, i64 } from "./ndarray.ts";
import { Prng } from "./prng.ts";
import { PipelineSession, unitIdFor, type Unit } from "./session.ts";
import type { MemoryBudget } from "./memoryBudget.ts";

const RATE = 20000;
const EIMAGE_BYTES = 50 * 65 * 65 * 8;
const SPIKES_PER_UNIT = 60_000;
const UNITS_PER_ADD = 16;

/**
 * With `budget`, the session spills as it grows (units are added a few at a time), so a session far
 * bigger than the budget is built without ever being whole in memory.
 */
export function sessionOfSize(bytes: number, seed = 1, datasetId = `bench-${seed}`, budget?: MemoryBudget): PipelineSession {
  const prng = new Prng(seed);
  const rand = () => prng.next();
  const session = new PipelineSession(datasetId, { memoryWarningBytes: Number.POSITIVE_INFINITY });
  if (budget) session.setMemoryBudget(budget);
  // About 10% in traces (capped at a 20-minute recording), the rest in units.
  const traceSamples = Math.min(Math.floor((bytes * 0.1) / 8), 20 * 60 * RATE);
  const trace = () => {
    const a = new Float32Array(traceSamples);
    for (let i = 0; i < a.length; i++) a[i] = (i % 20000 < 10000 ? 1 : 0) + rand() * 0.01;
    return new NDArray(a);
  };
  session.addMetadata({ dataset_id: datasetId, acquisition_rate: f64(RATE), sample_interval: f64(1 / RATE) });
  session.addStimulus({ light_reference: { raw_ch1: trace(), raw_ch2: trace() } });

  const perUnit = SPIKES_PER_UNIT * 8 * 2 + EIMAGE_BYTES + 4000;
  const unitCount = Math.max(1, Math.round((bytes - 8 * traceSamples) / perUnit));
  let units: Unit[] = [];
  for (let u = 1; u <= unitCount; u++) {
    const spikes = new BigUint64Array(SPIKES_PER_UNIT);
    let t = 0;
    for (let i = 0; i < spikes.length; i++) spikes[i] = BigInt((t += 40 + Math.floor(rand() * 600)));
    const sectioned = BigInt64Array.from(spikes, (v) => v);
    const eimage = new Float64Array(EIMAGE_BYTES / 8);
    for (let i = 0; i < eimage.length; i += 7) eimage[i] = rand() - 0.5;
    units.push({
      id: unitIdFor(u),
      attrs: { row: 1 + (u % 65), col: 1 + ((u * 7) % 65), global_id: u, unit_num: u, original_name: `Unit_${u}` },
      spikeTimes: spikes,
      waveform: Float32Array.from({ length: 40 }, () => rand()),
      firingRate10hz: Float32Array.from({ length: 500 }, () => rand() * 50),
      children: {
        spike_times_sectioned: {
          bench_movie: {
            full_spike_times: new NDArray(sectioned),
            trials_start_end: new NDArray(BigInt64Array.of(0n, BigInt(t)), [1, 2]),
            _attrs: { n_trials: i64(1) },
          },
        },
        features: {
          eimage_sta: { data: new NDArray(eimage, [50, 65, 65]), metadata: { n_spikes_used: i64(10000) } },
        },
      },
    });
    if (units.length === UNITS_PER_ADD) {
      session.addUnits(units);
      units = [];
    }
  }
  session.addUnits(units);
  session.markStepComplete("load_recording", { synthetic: true });
  return session;
}
