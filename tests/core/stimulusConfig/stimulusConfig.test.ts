import { describe, expect, it } from "vitest";
import { StimulusConfigError, loadStimulusConfigs, parseStimulusConfig, trialCount } from "../../../src/core/stimulusConfig/stimulusConfig.ts";
import { stimulusConfigTexts } from "../fixtures/exampleSession.ts";

const config = (kwargs: string, extra = "") => `{"name": "x"${extra}, "section_kwargs": {${kwargs}}}`;

describe("stimulus configs", () => {
  it("reads the example configs, with group defaults and the grouped example", () => {
    const configs = loadStimulusConfigs(
      ["gray_baseline_60", "step_flash_4s_4i_2x", "checker_noise_10x10_20hz_s7_1min", "step_color_3lvl_example"],
      stimulusConfigTexts(),
    );
    expect(configs.get("step_flash_4s_4i_2x")).toEqual({ start_frame: 0, trial_length_frame: 480, repeat: 2, group_count: 1, group_gap: 0 });
    const grouped = configs.get("step_color_3lvl_example")!;
    expect(grouped).toEqual({ start_frame: 60, trial_length_frame: 600, repeat: 2, group_count: 3, group_gap: 120 });
    expect(trialCount(grouped)).toBe(6);
  });

  it("refuses 480.0 and 4.8e2 although JSON.parse reads them as 480", () => {
    const result = parseStimulusConfig(config(`"start_frame": 0, "trial_length_frame": 480.0, "repeat": 4.8e2`));
    expect(result).toEqual({
      ok: false,
      problems: ["section_kwargs.trial_length_frame must be an integer > 0, got 480.0", "section_kwargs.repeat must be an integer ≥ 1, got 4.8e2"],
    });
  });

  it("leaves numbers inside strings and outside section_kwargs alone", () => {
    const text = config(`"start_frame": 0, "trial_length_frame": 10, "repeat": 1`, `, "note": "lasts 1.5 s \\" 2.0", "analysis_windows": {"a": [0.5, 1e3]}`);
    expect(parseStimulusConfig(text)).toEqual({ ok: true, kwargs: { start_frame: 0, trial_length_frame: 10, repeat: 1, group_count: 1, group_gap: 0 } });
  });

  it.each([
    [`"trial_length_frame": 10, "repeat": 1`, "section_kwargs.start_frame is required"],
    [`"start_frame": -1, "trial_length_frame": 10, "repeat": 1`, "section_kwargs.start_frame must be an integer ≥ 0, got -1"],
    [`"start_frame": 0, "trial_length_frame": 0, "repeat": 1`, "section_kwargs.trial_length_frame must be an integer > 0, got 0"],
    [`"start_frame": 0, "trial_length_frame": 10, "repeat": true`, "section_kwargs.repeat must be an integer ≥ 1, got boolean true"],
    [`"start_frame": "0", "trial_length_frame": 10, "repeat": 1`, 'section_kwargs.start_frame must be an integer ≥ 0, got the string "0"'],
    [`"start_frame": 0, "trial_length_frame": 10, "repeat": 1, "group_count": 0`, "section_kwargs.group_count must be an integer ≥ 1, got 0"],
    [`"start_frame": 0, "trial_length_frame": 10, "repeat": 1, "group_gap": null`, "section_kwargs.group_gap must be an integer ≥ 0, got null"],
  ])("refuses {%s}", (kwargs, problem) => {
    const result = parseStimulusConfig(config(kwargs));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([problem]);
  });

  it("reports every problem of every movie in one error", () => {
    const texts = {
      "a.json": config(`"start_frame": 0, "trial_length_frame": 480.0, "repeat": 0`),
      b: "{not json",
      c: `{"section_kwargs": [1, 2]}`,
      ok: config(`"start_frame": 0, "trial_length_frame": 10, "repeat": 1`),
    };
    let error: StimulusConfigError | undefined;
    try {
      loadStimulusConfigs(["a", "b", "c", "ok", "missing"], texts);
    } catch (e) {
      error = e as StimulusConfigError;
    }
    expect(error).toBeInstanceOf(StimulusConfigError);
    expect([...error!.problems.keys()]).toEqual(["a", "b", "c", "missing"]);
    const lines = error!.message.split("\n");
    expect(lines[0]).toBe("stimulus configs are missing or invalid for 4 movie(s):");
    expect(lines).toContain("  a.json: section_kwargs.trial_length_frame must be an integer > 0, got 480.0");
    expect(lines).toContain("  a.json: section_kwargs.repeat must be an integer ≥ 1, got 0");
    expect(lines.some((l) => l.startsWith("  b.json: not valid JSON"))).toBe(true);
    expect(lines).toContain("  c.json: section_kwargs must be an object");
    expect(lines).toContain('  missing.json: no config file (needed to cut "missing" into trials)');
  });
});
