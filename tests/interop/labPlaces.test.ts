/**
 * The lab's places, read by h5py as the lab's readers read them: `extract_features` runs `moving_bar`
 * and `rf_geometry` on a session, the session is saved, and `read_lab_places.py` opens
 * `features/sta_<movie>/sta_geometry/…` and `spike_times_sectioned/<movie>/direction_section/…` with
 * the lab's names, dtypes and conventions (−5.0 centre for a failed fit, frames for the sections).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, type Tree } from "../../src/core/ndarray.ts";
import { runPipeline } from "../../src/core/pipeline.ts";
import { Prng } from "../../src/core/prng.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { saveSession } from "../../src/io/sessionStore.ts";
import { loadedSession } from "../core/fixtures/exampleSession.ts";
import { RATE, contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "../../tools/syntheticTrials.ts";

const PYTHON = "/usr/bin/python3";
const BAR = "moving_h_bar_s5_d8_3x";
const NOISE = "perfect_dense_noise_15x15_15hz_r42_3min";
const bar: MovieLayout = { sectionStart: 1_000_000, trialStartsS: [1, 18, 35], trialS: 16 };
const noise: MovieLayout = { sectionStart: 200_000, trialStartsS: [1], trialS: 30 };
const [T, H, W] = [60, 15, 15];

/** A raw-pixel STA: grey 127.5 plus an ON Gaussian field at (row 6.4, col 9.2) 4 frames before the spike, plus noise. */
function sta(gain: number, seed: number): NDArray {
  const rng = new Prng(seed);
  const out = new Float32Array(T * H * W);
  for (let t = 0; t < T; t++) {
    const k = Math.exp(-(((T - t - 4) / 1.5) ** 2));
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) out[(t * H + r) * W + c] = 127.5 + gain * k * Math.exp(-((r - 6.4) ** 2 + (c - 9.2) ** 2) / (2 * 1.3 ** 2)) + 3 * rng.gauss();
  }
  return new NDArray(out, [T, H, W]);
}

describe("the lab's places are where the lab's readers look (h5py)", () => {
  let r: Record<string, any>;
  beforeAll(async () => {
    const rng = new Prng(3);
    const units = [1, 2].map((n) =>
      unitWith(n, { [BAR]: sectionedMovie(bar, bar.trialStartsS.map(() => poisson(rng, () => 12, 16, 12))) }, { features: { [`sta_${NOISE}`]: { data: sta(n === 1 ? 40 : 0, n), metadata: {} } } }),
    );
    const session = loadedSession({ units });
    const ctx = contextFor({ [BAR]: bar, [NOISE]: noise });
    session.addStimulus({ section_time: ctx.stimulus.section_time as Tree });
    const report = await runPipeline(session, { steps: ["extract_features"], params: { extract_features: { features: ["moving_bar", "rf_geometry"] } } });
    expect(report.steps[0].status).toBe("completed");
    const file = join(mkdtempSync(join(tmpdir(), "hdmea-places-")), "session.h5");
    saveSession(await nodeRuntime(), session, file);
    const run = spawnSync(PYTHON, [join(import.meta.dirname, "read_lab_places.py"), file, `sta_${NOISE}`, BAR], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`h5py could not read ${file}: ${run.stderr}`);
    r = JSON.parse(run.stdout);
  }, 60_000);

  it("RF geometry: sta_geometry with the lab's names and dtypes; a fitted centre, and −5.0 for a failed fit", () => {
    const fitted = r.unit_001;
    expect(fitted.center_valid).toBe(true);
    expect(fitted.center_dtype).toBe("<f8");
    expect(Math.abs(fitted.center[0] - 6.4)).toBeLessThan(0.3);
    expect(Math.abs(fitted.center[1] - 9.2)).toBeLessThan(0.3);
    expect(fitted.sta_time_course).toEqual({ dtype: "<f8", shape: [T] });
    const g = fitted.gaussian_fit;
    for (const key of ["center_x", "center_y", "sigma_x", "sigma_y", "amplitude", "theta", "offset", "r_squared"]) expect(g[key], key).toMatchObject({ dtype: "<f8", shape: [] });
    expect(g.center_y.value).toBe(fitted.center[0]);
    expect(g.center_x.value).toBe(fitted.center[1]);
    expect(g.fit_ok).toMatchObject({ dtype: "|i1", value: 1 });
    for (const key of ["center_x", "center_y", "sigma_exc", "sigma_inh", "amp_exc", "amp_inh", "offset", "r_squared"]) expect(fitted.DoG[key], key).toMatchObject({ dtype: "<f8", shape: [] });

    const failed = r.unit_002;
    expect(failed.center).toEqual([-5, -5]);
    expect(failed.center_valid).toBe(false);
    expect(failed.gaussian_fit.fit_ok.value).toBe(0);
    expect(failed.gaussian_fit.sigma_x.value).toBeNull(); // NaN: JSON null
    expect(failed.gaussian_fit.reason.value).toMatch(/no response/);
  });

  it("direction sections: spike_times_sectioned/<movie>/direction_section/<deg>/{section_bounds, trials/<r>} int64 in movie frames", () => {
    const frames: number[] = r.frame_timestamps;
    const floorFrame = (s: number) => frames.filter((t) => t <= s).length - 1;
    const movieStart = floorFrame(bar.sectionStart) + 60;
    for (const unit of ["unit_001", "unit_002"]) {
      const u = r[unit];
      expect(u.direction_keys).toEqual(["0", "135", "180", "225", "270", "315", "45", "90", "_attrs"]);
      expect(u.attrs).toMatchObject({ direction_list: [0, 45, 90, 135, 180, 225, 270, 315], n_directions: 8, n_repetitions: 3, padding_frames: 0 });
      for (const d of Object.values(u.directions) as any[]) {
        expect(d.bounds_dtype).toBe("<i8");
        expect(d.bounds).toHaveLength(3);
        expect(d.trial_keys).toEqual(["0", "1", "2"]);
        expect(d.trial_dtypes).toEqual(["<i8"]);
        d.bounds_samples.forEach(([a, b]: number[], rep: number) => {
          expect(d.bounds[rep]).toEqual([floorFrame(a) - movieStart, floorFrame(b) - movieStart]);
          expect(d.trials[String(rep)]).toEqual(d.trials_samples[String(rep)].map((s: number) => floorFrame(s) - movieStart));
        });
      }
      // Sweep 0 (0°) of trial 0 starts at the trial start: content frame 60 of the movie (start_frame), 2 s = 120 frames long.
      expect(u.directions["0"].bounds[0][0]).toBe(floorFrame(bar.sectionStart + RATE) - movieStart);
    }
    expect(r.moving_bar_keys).not.toContain("direction_section");
    expect(r.moving_bar_keys).toContain("dsi");
  });
});
