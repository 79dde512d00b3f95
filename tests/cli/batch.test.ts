import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair } from "../../tools/recordingGenerator.ts";
import { H5PY_SUMMARY, NOISE_MOVIE, h5py, hdmea, pipelineArgs, writeNoiseMovie } from "./cliHarness.ts";

let dir: string;
let input: string;
let noise: string;

beforeAll(async () => {
  const rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-cli-batch-"));
  input = join(dir, "in");
  mkdirSync(input);
  writeRecordingPair(rt, { dir: input, name: "RecA", units: 3, minutes: 0.2, seed: 21 });
  writeRecordingPair(rt, { dir: input, name: "RecB", units: 2, minutes: 0.2, seed: 22 });
  // RecC: a good .cmcr beside a .cmtr that is not HDF5 at all.
  writeRecordingPair(rt, { dir: input, name: "RecC", units: 2, minutes: 0.2, seed: 23 });
  writeFileSync(join(input, "RecC-.cmtr"), "truncated by a failed copy");
  noise = join(dir, `${NOISE_MOVIE}.npy`);
  writeNoiseMovie(noise);
}, 60_000);

describe("hdmea process --out-dir (batch)", () => {
  it("processes each recording in a worker; one broken pair fails alone; a second run does no work", () => {
    const out = join(dir, "out");
    const cmtrs = ["RecA-.cmtr", "RecB-.cmtr", "RecC-.cmtr"].map((n) => join(input, n));
    const run = hdmea(["process", ...cmtrs, "--out-dir", out, "--jobs", "2", ...pipelineArgs(noise), "--checkpoint-every", "step"]);
    expect(run.code, run.stderr).toBe(1);
    // The table: a row per recording, the failure's error in full below it.
    expect(run.stdout).toMatch(/^recording\s+units\s+steps\s+time\s+result$/m);
    expect(run.stdout).toMatch(/^RecA-\.cmtr\s+3\s+5\/5\s+\d+:\d\d\s+ok/m);
    expect(run.stdout).toMatch(/^RecB-\.cmtr\s+2\s+5\/5\s+\d+:\d\d\s+ok/m);
    expect(run.stdout).toMatch(/^RecC-\.cmtr\s+-\s+-\s+\d+:\d\d\s+failed$/m);
    expect(run.stdout).toMatch(/^failed: RecC-\.cmtr: not an HDF5 file \(no HDF5 signature\)$/m);
    expect(run.stdout).toMatch(/^3 recordings: 2 ok, 1 failed$/m);
    // Not a terminal: plain lines per recording and step.
    expect(run.stderr).toMatch(/^RecA-\.cmtr: compute_sta completed/m);

    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary.map((r: any) => [r.recording, r.datasetId, r.result])).toEqual([
      ["RecA-.cmtr", "RecA", "ok"],
      ["RecB-.cmtr", "RecB", "ok"],
      ["RecC-.cmtr", "RecC", "failed"],
    ]);
    expect(summary[2].error).toBe("RecC-.cmtr: not an HDF5 file (no HDF5 signature)");
    expect(Array.isArray(summary[0].warnings)).toBe(true);
    expect(summary[0].steps).toEqual(["add_cmtr_unit_info", "add_sys_meta_info", "load_recording", "add_section_time", "section_spike_times", "compute_sta", "extract_features"]);

    expect(existsSync(join(out, "RecC.h5"))).toBe(false);
    for (const id of ["RecA", "RecB"]) {
      expect(existsSync(join(out, `${id}.checkpoint.h5`))).toBe(false);
      const file = h5py(H5PY_SUMMARY, join(out, `${id}.h5`));
      expect(file.dataset_id).toBe(id);
      expect(file.completed_steps).toContain("extract_features");
    }

    // Second run, with the folder as input and --json: complete outputs are up to date and untouched.
    const before = statSync(join(out, "RecA.h5")).mtimeMs;
    const again = hdmea(["process", input, "--out-dir", out, ...pipelineArgs(noise), "--json"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^RecA-\.cmtr: up to date \(RecA\.h5\)$/m);
    expect(again.stderr).toMatch(/^RecB-\.cmtr: up to date \(RecB\.h5\)$/m);
    expect(again.stderr).not.toMatch(/RecA-\.cmtr: load_recording/);
    const rows = JSON.parse(again.stdout);
    expect(rows.map((r: any) => r.result)).toEqual(["up to date", "up to date", "failed"]);
    expect(rows[0]).toMatchObject({ recording: "RecA-.cmtr", units: 3 });
    expect(statSync(join(out, "RecA.h5")).mtimeMs).toBe(before);

    // Asking for a different parameter makes the output incomplete: resumed from it, step re-run.
    const changed = hdmea(["process", join(input, "RecA-.cmtr"), "--out-dir", out, ...pipelineArgs(noise), "--param", "section_spike_times.pad_margin=[0.5,0]"]);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(/RecA\.h5 is incomplete \(section_spike_times ran with pad_margin=\[0,0\], this run asks for \[0\.5,0\]\); resuming from it/);
    expect(changed.stderr).toMatch(/^RecA-\.cmtr: section_spike_times completed \(re-run: its parameters changed/m);
    expect(changed.stderr).not.toMatch(/RecA-\.cmtr: load_recording completed/);
  }, 180_000);
});
