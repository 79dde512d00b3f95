/**
 * "Copy as command" redoes the page's session in batch: run every step on the demo in the page, save
 * by download, copy the command, run exactly the copied text with /bin/sh and the built CLI (the
 * `hdmea` bin, `npm run build:node` first), and compare both files with h5py.
 *
 * How the inputs are found, honestly: the command names files only (the page never knows folders):
 * the recording pair in the folder it runs in, the stimulus inputs in `stimulus/` beside it — the
 * layout of public/demo, which the page fetched them from. So the test runs the text unchanged in a
 * copy of public/demo (index.json included: the CLI reads the folder, as a user's would hold more).
 */
import { expect, test } from "@playwright/test";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./sessionFixtures.ts";

const ROOT = join(import.meta.dirname, "../..");
const DEMO = join(ROOT, "public/demo");

test("Copy as command: the copied command, run in a shell on the demo's files, makes the file the page saved", async ({ page, context }) => {
  // Measured: 67 s of CPU in all (browser, vite preview, CLI, h5py); 3.9 min on a 2-core machine at load 13.
  test.setTimeout(300_000);
  const dir = scratchDir();
  try {
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    // Headless Chromium cannot show the save picker: take the download path.
    await page.addInitScript(() => {
      delete (Window.prototype as { showSaveFilePicker?: unknown }).showSaveFilePicker;
      delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
    });
    const started = Date.now();
    await page.goto("/?demo");
    const pipeline = page.getByRole("region", { name: "Pipeline" });
    await pipeline.getByRole("button", { name: "Use the demo's stimulus files" }).click();
    await expect(pipeline.getByRole("combobox", { name: "Playlist" })).toHaveValue("demo_full", { timeout: 60_000 });
    await expect(pipeline).toContainText("6 configs, 1 movie(s)");
    // Checkpoints change nothing in the session; leaving them out keeps this test short.
    await pipeline.getByLabel("Checkpoint to browser storage after each step").uncheck();
    await pipeline.getByRole("button", { name: "Run all steps" }).click();
    const step = (name: string) => pipeline.getByRole("listitem").filter({ has: page.getByText(name, { exact: true }) });
    for (const name of ["add_section_time", "section_spike_times", "compute_sta", "extract_features"]) {
      await expect(step(name)).toContainText("done", { timeout: 60_000 });
    }
    const pageMs = Date.now() - started;

    const session = page.getByRole("region", { name: "Session demo" });
    const download = page.waitForEvent("download");
    await session.getByRole("button", { name: "Save", exact: true }).click();
    const saved = join(dir, "page.h5");
    await (await download).saveAs(saved);

    await session.getByRole("button", { name: "Copy as command" }).click();
    await expect(session.getByRole("group", { name: "Reproduce in batch" })).toContainText("Copied the hdmea process command to the clipboard");
    const command = await page.evaluate(() => navigator.clipboard.readText());
    console.log(`Copied command:\n${command}`);
    // Nothing in this session is beyond the CLI: no "not redone" comments.
    expect(command).not.toContain("Not redone");
    expect(command).toContain("--playlist stimulus/demo_playlist.csv");
    expect(command).toContain("--playlist-name demo_full");

    // When the clipboard is refused, the text is shown to copy by hand.
    await page.evaluate(() => {
      navigator.clipboard.writeText = () => Promise.reject(new DOMException("denied by the test", "NotAllowedError"));
    });
    await session.getByRole("button", { name: "Copy as workflow config" }).click();
    await expect(session.getByRole("group", { name: "Reproduce in batch" })).toContainText("did not allow copying to the clipboard");
    const config = await session.getByLabel("Workflow config to copy").inputValue();
    expect(config).toContain('steps: "add_section_time,section_spike_times,compute_sta,extract_features"');
    expect(config).toContain('noise_movie: ["stimulus/dense_noise_15x15_15hz_r42_45s.npy"]');

    // The copied text, unchanged, in a copy of the demo folder, with `hdmea` on the PATH.
    const work = join(dir, "demo");
    cpSync(DEMO, work, { recursive: true });
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "hdmea"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, "bin/hdmea.js"))} "$@"\n`);
    chmodSync(join(bin, "hdmea"), 0o755);
    const cliStarted = Date.now();
    const run = spawnSync("/bin/sh", ["-c", command], {
      cwd: work,
      encoding: "utf8",
      timeout: 90_000,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    const cliMs = Date.now() - cliStarted;
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const batch = join(work, "demo.h5");
    expect(existsSync(batch)).toBe(true);

    const compare = spawnSync("/usr/bin/python3", [join(import.meta.dirname, "compare_sessions.py"), saved, batch], { encoding: "utf8" });
    expect(compare.status, compare.stderr).toBe(0);
    const result = JSON.parse(compare.stdout) as {
      datasets: number;
      attributes: number;
      differences: string[];
      normalised: Record<string, string>;
      close: Record<string, number>;
    };
    const close = Object.entries(result.close);
    const largest = Math.max(0, ...close.map(([, rel]) => rel));
    console.log(`compared ${result.datasets} datasets and ${result.attributes} attributes; normalised: ${JSON.stringify(result.normalised, null, 1)}`);
    console.log(`${close.length} float datasets equal to 1e-8 but not bit for bit (largest relative difference ${largest.toExponential(2)}):\n${close.map(([p, r]) => `  ${p} ${r.toExponential(2)}`).join("\n")}`);
    // Same steps in the same order, same values: everything but times and the recording's folder,
    // and features computed with Math.sin/cos/exp/log/atan2/pow, which Debian's Chromium and Node
    // round differently in the last bit (compare_sessions.py).
    expect(result.differences).toEqual([]);
    for (const [path] of close) expect(path).toMatch(/^units\/unit_\d+\/features\//);
    expect(Object.keys(result.normalised).sort()).toEqual(
      expect.arrayContaining(["@created_at", "pipeline/session_info/step_log", "source_files@cmcr_path", "source_files@cmtr_path"]),
    );
    for (const path of Object.keys(result.normalised)) {
      expect(path).toMatch(/^(@created_at|pipeline@stage1_timestamp|pipeline\/session_info@saved_at|pipeline\/session_info\/(step_log|warning_log)|source_files@(cmcr|cmtr)_path|.*\/extracted_at)$/);
    }
    const steps = spawnSync("/usr/bin/python3", ["-c", "import h5py, sys; print(','.join(s.decode() for s in h5py.File(sys.argv[1])['pipeline/session_info/completed_steps'][()]))", batch], { encoding: "utf8" });
    expect(steps.stdout.trim().split(",")).toEqual(expect.arrayContaining(["load_recording", "add_section_time", "section_spike_times", "compute_sta", "extract_features"]));
    const figures =
      `page open + all steps ${pageMs} ms; copied command run by the CLI ${cliMs} ms; ${result.datasets} datasets and ` +
      `${result.attributes} attributes compared, ${close.length} float datasets within ${largest.toExponential(1)} (relative), the rest identical`;
    test.info().annotations.push({ type: "measured", description: figures });
    console.log(figures);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
