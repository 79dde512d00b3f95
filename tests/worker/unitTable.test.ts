/**
 * The units table's science columns on a hand-built session whose feature values are known: which
 * movie each value comes from (the first in playlist order), the cell-type label read by name,
 * NaN / "" for units without a value, and a 1,000-unit table.
 */
import { describe, expect, it } from "vitest";
import { NDArray, f64 } from "../../src/core/ndarray.ts";
import { PipelineSession, type Unit } from "../../src/core/session.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeSources } from "../../src/core/sessionSources.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";
import { CELL_TYPE_FEATURE, classifierLabel, playlistOrder, unitScience, unitTable } from "../../src/worker/unitTable.ts";
import { unitColumn, unitDetail } from "../../src/worker/views.ts";

function unit(num: number): Unit {
  return {
    id: `unit_${String(num).padStart(4, "0")}`,
    attrs: { row: 1 + (num % 65), col: 1 + (num % 7), global_id: num, unit_num: num, original_name: `Unit_${num}` },
    spikeTimes: BigUint64Array.of(10n, 20n, 30n),
    children: {},
  };
}

/** Movies shown in this order: the names sort the other way, so name order would be wrong. */
const SHOWN = ["zz_step_up_first", "moving_bar_b", "moving_bar_a", "step_up_later"];

function session(units = 4): PipelineSession {
  const s = new PipelineSession("science");
  s.addUnits(Array.from({ length: units }, (_, i) => unit(i + 1)));
  const rows: Record<string, NDArray> = {};
  SHOWN.forEach((movie, k) => (rows[movie] = new NDArray(BigInt64Array.of(BigInt(1000 * (k + 1)), BigInt(1000 * (k + 1) + 500)), [1, 2])));
  s.addStimulus({ section_time: rows });
  return s;
}

describe("unitTable science columns", () => {
  it("movies are in the order they were shown (first section start), not by name", () => {
    expect([...playlistOrder(session()).keys()]).toEqual(SHOWN);
  });

  it("takes each value from the first movie shown that has one", () => {
    const s = session();
    s.addFeature("unit_0001", "step_response", {
      step_up_later: { on_off_index: f64(-0.9) },
      zz_step_up_first: { on_off_index: f64(0.75) },
    });
    s.addFeature("unit_0001", "moving_bar", {
      moving_bar_a: { dsi: f64(0.1), preferred_direction_deg: f64(10) },
      moving_bar_b: { dsi: f64(0.6), preferred_direction_deg: f64(225) },
    });
    s.addFeature("unit_0001", "quality_index", {
      zz_step_up_first: { quality_index: f64(0.2) },
      moving_bar_a: { quality_index: f64(0.55) },
      step_up_later: { quality_index: f64(0.3) },
    });
    // A NaN index (neither polarity responded) is no value: the next movie's is used.
    s.addFeature("unit_0002", "step_response", {
      zz_step_up_first: { on_off_index: f64(Number.NaN) },
      step_up_later: { on_off_index: f64(-0.4) },
    });
    const { science } = unitTable(s);
    const at = (c: typeof science.dsi, i: number) => [c.values[i], c.movieIndex[i] >= 0 ? c.movies[c.movieIndex[i]] : null];
    expect(at(science.onOffIndex, 0)).toEqual([0.75, "zz_step_up_first"]);
    expect(at(science.dsi, 0)).toEqual([0.6, "moving_bar_b"]);
    expect(at(science.preferredDirectionDeg, 0)).toEqual([225, "moving_bar_b"]);
    // moving_bar_a's QI is higher, but zz_step_up_first was shown first.
    expect(at(science.qualityIndex, 0)).toEqual([0.2, "zz_step_up_first"]);
    expect(at(science.onOffIndex, 1)).toEqual([-0.4, "step_up_later"]);
    for (const c of [science.onOffIndex, science.qualityIndex, science.dsi, science.preferredDirectionDeg]) {
      expect(at(c, 2)).toEqual([Number.NaN, null]);
    }
    expect(science.cellType).toEqual(["", "", "", ""]);
    expect(science.any).toBe(true);
  });

  it("a session without features has no science values", () => {
    const { science } = unitTable(session());
    expect(science.any).toBe(false);
    expect([...science.onOffIndex.values].every(Number.isNaN)).toBe(true);
  });

  it("reads the cell-type label by name, whatever key of the known ones the classifier uses", () => {
    const s = session(5);
    s.addFeature("unit_0001", "cell_type_classifier", { cell_type: "rgc", rgc_probability: f64(0.9), reason: "" });
    s.addFeature("unit_0002", "cell_type_classifier", { predicted_label: "ac", has_axon: f64(0) });
    s.addFeature("unit_0003", "cell_type_classifier", { whole_recording: { label: "rgc" } });
    // Only a reason: no label.
    s.addFeature("unit_0004", "cell_type_classifier", { reason: "no waveform" });
    const { science } = unitTable(s);
    expect(science.cellType).toEqual(["rgc", "ac", "rgc", "", ""]);
    expect(science.any).toBe(true);
    expect(classifierLabel(s.getUnit("unit_0005"))).toBe("");
  });

  it("1,000 units with every feature: each unit gets its own values", () => {
    // Features set on the units before they join the session (addFeature re-counts the session's bytes each time).
    const s = session(0);
    s.addUnits(
      Array.from({ length: 1000 }, (_, k) => {
        const i = k + 1;
        const u = unit(i);
        const data = (tree: Record<string, unknown>) => ({ data: tree, metadata: {} });
        u.children.features = {
          step_response: data({ zz_step_up_first: { on_off_index: f64(((i % 21) - 10) / 10) } }),
          quality_index: data({ zz_step_up_first: { quality_index: f64((i % 10) / 10) } }),
          moving_bar: data({ moving_bar_b: { dsi: f64((i % 5) / 5), preferred_direction_deg: f64((i * 45) % 360) } }),
        } as Unit["children"];
        return u;
      }),
    );
    const table = unitTable(s);
    expect(table.science.onOffIndex.values[9]).toBeCloseTo(0, 12);
    expect(table.science.qualityIndex.values[998]).toBeCloseTo(0.9, 12);
    expect(table.science.preferredDirectionDeg.values[1]).toBe(90);
    expect(table.ids).toHaveLength(1000);
  });
});

describe("unitTable mean rate", () => {
  /**
   * No `recording_duration_s` anywhere (only the .cmcr's own µs attribute): the length runs to the
   * last spike (5 s), for the table, the unit panel and the electrode map's column alike, also when a
   * light reference (12 s) is there (the panel once divided by that instead).
   */
  function withoutDuration(light: boolean): PipelineSession {
    const s = new PipelineSession("no-duration");
    s.addMetadata({ acquisition_rate: f64(1000), cmcr_meta: { "LB.RecordingDuration": f64(12e6) } });
    if (light) s.addStimulus({ light_reference: { raw_ch1: new NDArray(new Float32Array(12_000)) } });
    s.addUnits([
      { ...unit(1), spikeTimes: BigUint64Array.of(100n, 2000n, 5000n) },
      { ...unit(2), spikeTimes: BigUint64Array.of(40n, 50n) },
    ]);
    return s;
  }

  for (const light of [true, false]) {
    it(`is the unit panel's mean rate for a session without recording_duration_s (${light ? "with" : "without"} a light reference)`, () => {
      const s = withoutDuration(light);
      const table = unitTable(s);
      const column = unitColumn(s, "rate_hz");
      table.ids.forEach((id, i) => {
        const panel = unitDetail(s, id).meanRateHz;
        expect(Number.isFinite(panel)).toBe(true);
        expect(table.meanRateHz[i]).toBe(panel);
        expect(column.values[i]).toBe(panel);
      });
      expect(table.durationS).toBe(5);
      expect(table.durationSource).toBe("last spike");
      expect(table.meanRateHz[0]).toBe(3 / table.durationS!);
    });
  }
});

describe("unitTable of a session whose features are still in its file", () => {
  it("comes without the science columns when asked for them later, and unitScience reads them", async () => {
    const s = session(3);
    s.addFeature("unit_0002", "step_response", { zz_step_up_first: { on_off_index: f64(0.4) } });
    s.addFeature("unit_0003", "quality_index", { moving_bar_a: { quality_index: f64(0.7) } });
    s.addFeature("unit_0001", "moving_bar", { moving_bar_b: { dsi: f64(0.6), preferred_direction_deg: f64(225), note: "x" }, n_directions: f64(8) });
    s.addFeature("unit_0001", CELL_TYPE_FEATURE, { cell_type: "rgc" });
    const rt = await nodeRuntime();
    const path = join(mkdtempSync(join(tmpdir(), "hdmea-science-")), "s.h5");
    saveSession(rt, s, path);
    const expected = unitTable(s).science;
    // In memory, the columns come at once either way.
    expect(unitTable(s, { science: "later" }).sciencePending).toBe(false);

    const opened = loadSession(rt, path, { deferGroups: true }).session;
    const table = unitTable(opened, { science: "later" });
    expect(table.sciencePending).toBe(true);
    expect(table.science.any).toBe(false);
    expect([...table.science.onOffIndex.values].every(Number.isNaN)).toBe(true);
    expect(table.spikeCount).toEqual(Uint32Array.of(3, 3, 3));
    // Asking for them reads them: the same columns as the session that wrote the file.
    expect(unitScience(opened)).toEqual(expected);
    expect(expected.onOffIndex.values[1]).toBe(0.4);
    expect(expected.qualityIndex.values[2]).toBe(0.7);
    expect([expected.dsi.values[0], expected.preferredDirectionDeg.values[0], expected.cellType[0]]).toEqual([0.6, 225, "rgc"]);
    // The default reads them at once.
    expect(unitTable(loadSession(rt, path, { deferGroups: true }).session).science).toEqual(expected);
    closeSources(opened);
  });
});
