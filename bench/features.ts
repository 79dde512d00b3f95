/**
 * `node dist-node/bench/features.js [units=1000] [--json]`
 *
 * Times every registered feature extractor over N synthetic units (default 1,000) with the lab's
 * stimulus set: baseline_127, step_up_5s_5i_b0_3x, freq_step_5st_3x (with a light template),
 * moving_h_bar_s5_d8_3x (8 directions × 3), green_blue_3s_3i_3x, a [60, 15, 15] STA and a
 * [50, 65, 65] electrical image per unit, spikes at 5–60 Hz. Prints ms per extractor and the total
 * (or JSON). Units are built before the clock starts; each extractor runs over all units in turn, as
 * `extract_features` does.
 */
import type { FeatureContext } from "../src/core/features/featureExtractor.ts";
import { FEATURE_EXTRACTORS } from "../src/core/features/registry.ts";
import { NDArray, f64, type Tree } from "../src/core/ndarray.ts";
import { Prng } from "../src/core/prng.ts";
import type { Unit } from "../src/core/session.ts";
import { RATE, contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "../tools/syntheticTrials.ts";

const nUnits = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1000);
const asJson = process.argv.includes("--json");

const FREQS = [0.5, 1, 2, 4, 10];
const layouts: Record<string, MovieLayout> = {
  baseline_127: { sectionStart: 40_000, trialStartsS: [1], trialS: 3 },
  step_up_5s_5i_b0_3x: { sectionStart: 200_000, trialStartsS: [1, 11, 21], trialS: 10, light: (t) => (t < 5 ? 3000 : 200) },
  freq_step_5st_3x: {
    sectionStart: 1_000_000,
    trialStartsS: [1, 26, 51],
    trialS: 25,
    light: (t) => (t < 25 ? 0.5 + 0.5 * Math.sin(2 * Math.PI * FREQS[Math.floor(t / 5)] * t) : 0.5),
  },
  moving_h_bar_s5_d8_3x: { sectionStart: 3_000_000, trialStartsS: [1, 76.33, 151.66], trialS: 75.33 },
  green_blue_3s_3i_3x: { sectionStart: 8_000_000, trialStartsS: [1, 13, 25], trialS: 12, light: (t) => (t < 3 ? 1000 : t >= 6 && t < 9 ? 300 : 10) },
  perfect_dense_noise_15x15_15hz_r42_3min: { sectionStart: 9_000_000, trialStartsS: [0], trialS: 180 },
};
const ctxBase = contextFor(layouts);
const frames = Float64Array.from({ length: 60 * 600 }, (_, k) => 40_000 + Math.floor((k * RATE) / 60));
const ctx: FeatureContext = {
  ...ctxBase,
  metadata: { acquisition_rate: f64(RATE), cmcr_meta: { recording_duration_s: f64(620) } },
  frameTimestamps: frames,
};

const rng = new Prng(2024);
const eimages = Array.from({ length: 10 }, (_, k) => {
  const ei = new Float64Array(50 * 65 * 65);
  for (let i = 0; i < ei.length; i += 13) ei[i] = rng.gauss();
  ei[(12 * 65 + 10 + 4 * k) * 65 + 20 + k] = -50;
  return ei;
});

function makeUnitN(n: number): Unit {
  const base = 5 + 55 * rng.next();
  const movies: Record<string, Tree> = {};
  for (const [movie, l] of Object.entries(layouts)) {
    if (movie.includes("noise")) continue;
    movies[movie] = sectionedMovie(l, l.trialStartsS.map(() => poisson(rng, (t) => base * (1 + 0.5 * Math.sin(t)), l.trialS, base * 1.5)));
  }
  const sta = new Float32Array(60 * 15 * 15);
  const r0 = 3 + 9 * rng.next();
  const c0 = 3 + 9 * rng.next();
  for (let t = 0; t < 60; t++) {
    const k = Math.exp(-(((60 - t - 6) / 2.5) ** 2));
    for (let r = 0; r < 15; r++) for (let c = 0; c < 15; c++) sta[(t * 15 + r) * 15 + c] = 127.5 + 30 * k * Math.exp(-((r - r0) ** 2 + (c - c0) ** 2) / 4) + 3 * rng.gauss();
  }
  return unitWith(n, movies, {
    features: {
      sta_perfect_dense_noise_15x15_15hz_r42_3min: { data: new NDArray(sta, [60, 15, 15]) },
      eimage_sta: { data: new NDArray(eimages[n % eimages.length], [50, 65, 65]) },
    },
  });
}

const t0 = performance.now();
const units = Array.from({ length: nUnits }, (_, i) => makeUnitN(i + 1));
const buildMs = performance.now() - t0;

const perExtractor: Record<string, number> = {};
const cpuPerExtractor: Record<string, number> = {};
const failures: Record<string, number> = {};
let total = 0;
let totalCpu = 0;
for (const e of FEATURE_EXTRACTORS) {
  const problem = e.check?.(ctx);
  if (problem) throw new Error(`bench session is missing an input of ${e.name}: ${problem}`);
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (const u of units) {
    try {
      e.extract(u, ctx);
    } catch {
      failures[e.name] = (failures[e.name] ?? 0) + 1;
    }
  }
  perExtractor[e.name] = performance.now() - start;
  const used = process.cpuUsage(cpu);
  // CPU time as well as wall time: on a busy machine the wall clock counts other processes' turns.
  cpuPerExtractor[e.name] = (used.user + used.system) / 1000;
  total += perExtractor[e.name];
  totalCpu += cpuPerExtractor[e.name];
}

if (asJson) {
  process.stdout.write(`${JSON.stringify({ units: nUnits, buildMs, perExtractorMs: perExtractor, cpuMs: cpuPerExtractor, totalMs: total, totalCpuMs: totalCpu, failures })}\n`);
} else {
  console.log(`features over ${nUnits} synthetic units (built in ${buildMs.toFixed(0)} ms)`);
  console.log(`  ${"extractor".padEnd(16)} ${"wall ms".padStart(9)} ${"cpu ms".padStart(9)}  per unit (wall)`);
  for (const [name, ms] of Object.entries(perExtractor)) {
    console.log(`  ${name.padEnd(16)} ${ms.toFixed(1).padStart(9)} ${cpuPerExtractor[name].toFixed(1).padStart(9)}  ${((ms / nUnits) * 1000).toFixed(0)} µs`);
  }
  console.log(`  ${"total".padEnd(16)} ${total.toFixed(1).padStart(9)} ${totalCpu.toFixed(1).padStart(9)}`);
  if (Object.keys(failures).length) console.log(`  units that threw: ${JSON.stringify(failures)}`);
}
