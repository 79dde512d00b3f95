import { describe, expect, it } from "vitest";
import { FEATURE_EXTRACTORS } from "../../../src/core/features/registry.ts";
import { DIRECTION_SECTION } from "../../../src/core/features/resultPlaces.ts";
import { childAt } from "../../../src/core/sessionInputs.ts";
import { NDArray, isTree, type Tree } from "../../../src/core/ndarray.ts";
import { runPipeline } from "../../../src/core/pipeline.ts";
import { Prng } from "../../../src/core/prng.ts";
import { loadedSession } from "../fixtures/exampleSession.ts";
import { contextFor, poisson, sectionedMovie, unitWith, type MovieLayout } from "../../../tools/syntheticTrials.ts";

const STEP = "step_up_5s_5i_b0_3x";
const BAR = "moving_h_bar_s5_d8_3x";
const step: MovieLayout = { sectionStart: 100_000, trialStartsS: [1, 11.5, 22], trialS: 10, light: (t) => (t >= 2 && t < 7 ? 3000 : 200) };
const bar: MovieLayout = { sectionStart: 1_000_000, trialStartsS: [1, 18, 35], trialS: 16 };

describe("feature registry", () => {
  it("registers the science features with versions, and every one declares outputs", () => {
    expect(FEATURE_EXTRACTORS.map((e) => `${e.name}@${e.version}`)).toEqual([
      "frif@2.0.0",
      "baseline@1.1.0",
      "quality_index@1.1.0",
      "step_response@1.1.0",
      "chirp@1.1.0",
      "moving_bar@1.1.0",
      "green_blue@1.1.0",
      "rf_geometry@2.0.0",
      "soma_position@1.0.0",
      "cell_type_classifier@2.0.0",
    ]);
    for (const e of FEATURE_EXTRACTORS) expect(Object.keys(e.outputs).length).toBeGreaterThan(0);
  });

  it("runs through extract_features: features stored with their version, absent stimuli become one warning each", async () => {
    const rng = new Prng(9);
    const units = [1, 2].map((n) =>
      unitWith(n, {
        [STEP]: sectionedMovie(step, step.trialStartsS.map(() => poisson(rng, (t) => 3 + (t >= 2 && t < 2.4 ? 80 : 0), 10, 90))),
        [BAR]: sectionedMovie(bar, bar.trialStartsS.map(() => poisson(rng, () => 10, 16, 10))),
      }),
    );
    const session = loadedSession({ units });
    const ctx = contextFor({ [STEP]: step, [BAR]: bar });
    session.addStimulus({ section_time: ctx.stimulus.section_time as Tree, light_template: ctx.stimulus.light_template as Tree });

    const report = await runPipeline(session, { steps: ["extract_features"] });
    expect(report.steps[0].status).toBe("completed");
    const features = session.getUnit("unit_001").children.features as Tree;
    for (const name of ["baseline", "quality_index", "step_response", "moving_bar"]) {
      const f = features[name] as Tree;
      expect(isTree(f.data), name).toBe(true);
      expect((f.metadata as Tree).extractor_version).toBe(FEATURE_EXTRACTORS.find((e) => e.name === name)!.version);
    }
    // Direction sections go to the lab's place, not into features/moving_bar/data.
    const bar0 = ((features.moving_bar as Tree).data as Tree)[BAR] as Tree;
    expect(bar0.dsi).toBeInstanceOf(NDArray);
    expect(bar0.direction_section).toBeUndefined();
    const placed = childAt(session.getUnit("unit_001").children, DIRECTION_SECTION.unitPath(BAR).join("/")) as Tree;
    expect(Object.keys(placed)).toEqual(expect.arrayContaining(["_attrs", "0", "315"]));
    expect(((placed["45"] as Tree).section_bounds_samples as NDArray).shape).toEqual([3, 2]);
    expect(isTree(childAt(session.getUnit("unit_001").children, `spike_times_sectioned/${BAR}/trials_spike_times`))).toBe(true);
    const sr = ((features.step_response as Tree).data as Tree)[STEP] as Tree;
    expect(Number((sr.on_off_index as NDArray).data[0])).toBeGreaterThan(0.8);
    const warnings = session.warnings.map((w) => w.message);
    for (const absent of ["chirp", "green_blue", "rf_geometry"]) {
      expect(warnings.filter((w) => w.includes(`feature ${absent} skipped`))).toHaveLength(1);
    }
    expect(warnings.filter((w) => w.includes("soma_position"))).toHaveLength(1); // no eimage_sta: one grouped warning
    expect(warnings.some((w) => w.includes("failed"))).toBe(false);
  });
});
