import { expect, test } from "@playwright/test";
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readBack, scratchDir } from "./sessionFixtures.ts";

const STIMULUS = join(import.meta.dirname, "../core/fixtures/stimulus");

test("run the pipeline on the demo recording from the panel, then save the sectioned session", async ({ page }) => {
  const dir = scratchDir();
  try {
    // Headless Chromium cannot show the save picker: take the download path.
    await page.addInitScript(() => {
      delete (Window.prototype as { showSaveFilePicker?: unknown }).showSaveFilePicker;
      delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
    });
    await page.goto("/?demo");
    const pipeline = page.getByRole("region", { name: "Pipeline" });
    await expect(pipeline.getByRole("list", { name: "Pipeline steps" })).toContainText("add_section_time");

    await pipeline.getByLabel("Playlist table (CSV)").setInputFiles(join(STIMULUS, "playlist.example.csv"));
    await expect(pipeline.getByLabel("Playlist", { exact: true })).toHaveValue("demo_set_a");
    await pipeline.getByLabel("Movie lengths (CSV)").setInputFiles(join(STIMULUS, "movie_length.example.csv"));
    await pipeline
      .getByLabel("Stimulus configs (JSON)")
      .setInputFiles(readdirSync(join(STIMULUS, "stimuli")).map((name) => join(STIMULUS, "stimuli", name)));
    await pipeline.getByRole("button", { name: "Run all steps" }).click();

    const step = (name: string) => pipeline.getByRole("listitem").filter({ has: page.getByText(name, { exact: true }) });
    for (const name of ["add_section_time", "section_spike_times", "extract_features"]) {
      await expect(step(name)).toContainText("done", { timeout: 60_000 });
    }
    // No noise movie was given: the STA gives up with a reason instead of failing the run.
    await expect(step("compute_sta")).toContainText("not run");
    await expect(step("compute_sta")).toContainText(/Last run: bailed/);
    // "Checkpoint after each step" was on: browser storage holds one for the demo.
    await expect(page.getByRole("region", { name: /Checkpoints/ })).toContainText("demo.h5");

    // A manual cell-type label goes to the lab's auto_label place.
    await page.getByLabel("Cell type label of unit_001").selectOption("rgc");

    const session = page.getByRole("region", { name: "Session demo" });
    await expect(session.getByRole("list", { name: "Completed steps" })).toContainText("section_spike_times");
    const download = page.waitForEvent("download");
    await session.getByRole("button", { name: "Save", exact: true }).click();
    const file = join(dir, "demo.h5");
    await (await download).saveAs(file);
    // The lab's reader: Debian's h5py opens the file the browser wrote.
    const h5py = spawnSync(
      "/usr/bin/python3",
      [join(import.meta.dirname, "../interop/read_session.py"), file, "stimulus/section_time/step_flash_4s_4i_2x", "units/unit_001/spike_times"],
      { encoding: "utf8" },
    );
    expect(h5py.status, h5py.stderr).toBe(0);
    const lab = JSON.parse(h5py.stdout);
    expect(lab.unit_names).toHaveLength(24);
    expect(lab.acquisition_rate_as_float).toBe(20000);
    expect(lab["stimulus/section_time/step_flash_4s_4i_2x"]).toMatchObject({ dtype: "<i8", shape: [1, 2] });
    expect(lab["units/unit_001/spike_times"].dtype).toBe("<u8");

    const back = (await readBack(file)).session;
    // HDF5 lists names alphabetically.
    expect(Object.keys(back.stimulus.section_time as object)).toEqual([
      "checker_noise_10x10_20hz_s7_1min",
      "gray_baseline_60",
      "step_flash_4s_4i_2x",
    ]);
    const unit = back.units.get("unit_001")!;
    expect((unit.children.auto_label as Record<string, unknown>).axon_type).toBe("rgc");
    const sectioned = unit.children.spike_times_sectioned as Record<string, Record<string, unknown>>;
    expect(Object.keys(sectioned.step_flash_4s_4i_2x.trials_spike_times as object)).toEqual(["0", "1"]);
    expect(back.completedSteps.map((s) => s.name)).toEqual(
      expect.arrayContaining(["load_recording", "add_section_time", "section_spike_times", "extract_features"]),
    );
    await page.screenshot({ path: "test-results/screenshots/pipeline-light.png", fullPage: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the demo's own stimulus files run every step, the STA included", async ({ page }) => {
  await page.goto("/?demo");
  const pipeline = page.getByRole("region", { name: "Pipeline" });
  await pipeline.getByRole("button", { name: "Use the demo's stimulus files" }).click();
  await expect(pipeline.getByRole("combobox", { name: "Playlist" })).toHaveValue("demo_set_a");
  await expect(pipeline).toContainText("3 configs, 1 movie(s)");
  await pipeline.getByRole("button", { name: "Run all steps" }).click();
  const step = (name: string) => pipeline.getByRole("listitem").filter({ has: page.getByText(name, { exact: true }) });
  for (const name of ["add_section_time", "section_spike_times", "compute_sta", "extract_features"]) {
    await expect(step(name)).toContainText("done", { timeout: 60_000 });
  }
  // The STA of the selected unit is drawn from the noise movie.
  await expect(page.getByRole("region", { name: /Feature/ }).first()).toContainText(/sta_checker_noise_10x10_20hz_s7_1min|receptive field/i);
});
