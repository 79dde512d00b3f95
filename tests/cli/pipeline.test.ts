import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { readOutputInfo } from "../../src/cli/outputStatus.ts";
import { DEMO_PLAYLIST, writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";
import { H5PY_DIFF, H5PY_SUMMARY, NOISE_MOVIE, h5py, hdmea, pipelineArgs, writeNoiseMovie } from "./cliHarness.ts";

let dir: string;
let full: GeneratedRecording; // the whole playlist once (~100 s)
let short: GeneratedRecording; // 12 s: for the kill / cancel runs
let noise: string;

beforeAll(async () => {
  const rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-cli-pipeline-"));
  full = writeRecordingPair(rt, { dir, name: "Full", units: 4, minutes: 1.7, seed: 11 });
  short = writeRecordingPair(rt, { dir, name: "Short", units: 3, minutes: 0.2, seed: 12 });
  noise = join(dir, `${NOISE_MOVIE}.npy`);
  writeNoiseMovie(noise);
}, 60_000);

const ALL = ["add_cmtr_unit_info", "add_sys_meta_info", "load_recording", "add_section_time", "section_spike_times", "compute_sta", "extract_features"];

describe("hdmea process --steps all", () => {
  it("runs the whole pipeline on the example playlist; h5py reads sections, trials, features and steps", () => {
    const out = join(dir, "deferred.h5");
    const run = hdmea(["process", full.cmtrPath, "--out", out, ...pipelineArgs(noise)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^wrote .*deferred\.h5: dataset Full, 4 units/);
    // Not a terminal: one plain line per step on stderr.
    for (const step of ["load_recording", "add_section_time", "section_spike_times", "compute_sta", "extract_features"]) {
      expect(run.stderr).toMatch(new RegExp(`^hdmea: ${step} completed in [\\d.]+ s`, "m"));
    }

    const file = h5py(H5PY_SUMMARY, out);
    expect(file.dataset_id).toBe("Full");
    expect(file.completed_steps).toEqual(ALL);
    expect(Object.keys(file.section_time).sort()).toEqual(DEMO_PLAYLIST.map((m) => m.name).sort());
    for (const shape of Object.values(file.section_time)) expect(shape).toEqual([1, 2]);
    expect(file.section_time_dtype).toBe("int64");
    const units = Object.values(file.units) as any[];
    expect(units).toHaveLength(4);
    for (const u of units) {
      // Trials per the example configs: 1 (gray), 2 (step flash), 1 (noise).
      expect(u.sectioned.gray_baseline_60.trials).toEqual(["0"]);
      expect(u.sectioned.step_flash_4s_4i_2x.trials).toEqual(["0", "1"]);
      expect(u.sectioned.step_flash_4s_4i_2x.trials_start_end).toEqual([2, 2]);
      expect(u.sectioned[NOISE_MOVIE].trials).toEqual(["0"]);
      expect(u.frif).toBe(full.frameTimestamps.length - 1);
      expect(u.sta).toEqual([60, 10, 10]);
    }
    expect(units.some((u) => u.sectioned.step_flash_4s_4i_2x.n_full > 0)).toBe(true);
  });

  it("writes the same contents in immediate mode as in deferred mode", () => {
    const out = join(dir, "immediate.h5");
    const run = hdmea(["process", full.cmtrPath, "--out", out, "--mode", "immediate", ...pipelineArgs(noise)]);
    expect(run.code, run.stderr).toBe(0);
    expect(h5py(H5PY_DIFF, join(dir, "deferred.h5"), out)).toEqual([]);
  });

  it("writes the same contents under a memory budget far below the session's size, and says what it moved", () => {
    const out = join(dir, "budget.h5");
    const run = hdmea(["process", full.cmtrPath, "--out", out, "--memory-budget", "0.0002", ...pipelineArgs(noise)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/passed its 200\.0 kB memory budget: \d+ array\(s\) \([\d.]+ [kM]B; largest [^)]+\) moved to a scratch file in a temporary file/);
    // Only the session's warnings differ: the budgeted run says that it spilled.
    expect(h5py(H5PY_DIFF, join(dir, "deferred.h5"), out)).toEqual(["pipeline/session_info/warning_log", "pipeline/session_info/warnings"]);
  });

  it("skips a step whose input is missing with a warning, and the steps after it still run", () => {
    const out = join(dir, "no-noise.h5");
    const run = hdmea(["process", short.cmtrPath, "--out", out, ...pipelineArgs(), "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.result).toBe("ok");
    expect(result.skippedSteps).toEqual([{ step: "compute_sta", why: expect.stringContaining("--noise-movie") }]);
    expect(result.warnings).toContain(result.warnings.find((w: string) => w.startsWith("compute_sta skipped: needs --noise-movie")));
    expect(result.steps).toEqual(ALL.filter((s) => s !== "compute_sta"));
    expect(run.stderr).toMatch(/^hdmea: warning: compute_sta skipped: needs --noise-movie/m);
  });
});

describe("checkpoints", () => {
  it("resumes after a kill from the last checkpoint, skipping completed steps, then removes it", async () => {
    const out = join(dir, "resume.h5");
    const checkpoint = join(dir, "resume.checkpoint.h5");
    const killed = hdmea(["process", short.cmtrPath, "--out", out, ...pipelineArgs(noise), "--checkpoint-every", "step"], {
      HDMEA_TEST_KILL_AFTER: "section_spike_times",
    });
    expect(killed.signal).toBe("SIGKILL");
    expect(existsSync(out)).toBe(false);
    const info = readOutputInfo(await nodeRuntime(), checkpoint);
    expect(info.checkpointName).toBe("after section_spike_times");
    expect(info.steps.map((s) => s.name)).toEqual(ALL.slice(0, 5));
    // The first checkpoint is a full copy; the steps after it each added a delta of what they changed.
    const deltas = () => readdirSync(dir).filter((f) => /^resume\.checkpoint\.d\d+\.h5/.test(f)).sort();
    expect(deltas()).toEqual(["resume.checkpoint.d1.h5", "resume.checkpoint.d2.h5"]);
    expect(killed.stderr).toMatch(/^hdmea: checkpoint resume\.checkpoint\.h5 written in [\d.]+ s \(full, /m);
    // The kill can come before the recording's thread hands its last log line over: delta 2 is seen as a file above.
    expect(killed.stderr).toMatch(/^hdmea: checkpoint resume\.checkpoint\.h5 written in [\d.]+ s \(delta 1, /m);

    const again = hdmea(["process", short.cmtrPath, "--out", out, ...pipelineArgs(noise), "--checkpoint-every", "step"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^hdmea: resuming from resume\.checkpoint\.h5 \(completed: .*section_spike_times\)$/m);
    expect(again.stderr).not.toMatch(/load_recording completed/);
    expect(again.stderr).toMatch(/^hdmea: add_section_time skipped \(already complete with the same parameters\)/m);
    expect(again.stderr).toMatch(/^hdmea: section_spike_times skipped/m);
    expect(again.stderr).toMatch(/^hdmea: compute_sta completed/m);
    expect(again.stdout).toMatch(/\(resumed\)$/m);
    // The resumed run continued the checkpoint with deltas; the verified save removed them all.
    expect(again.stderr).toMatch(/^hdmea: checkpoint resume\.checkpoint\.h5 written in [\d.]+ s \(delta 3, /m);
    expect(again.stderr).toMatch(/^hdmea: removed checkpoint resume\.checkpoint\.h5 and its \d+ delta file\(s\)$/m);
    expect(existsSync(checkpoint)).toBe(false);
    expect(deltas()).toEqual([]);
    expect(h5py(H5PY_SUMMARY, out).completed_steps).toEqual(ALL);
  });

  it("Ctrl-C cancels cleanly with exit 130 and keeps the checkpoint; --checkpoint names it", async () => {
    const out = join(dir, "cancel.h5");
    const checkpoint = join(dir, "my.ckpt.h5");
    const run = hdmea(["process", short.cmtrPath, "--out", out, ...pipelineArgs(noise), "--checkpoint", checkpoint], {
      HDMEA_TEST_INTERRUPT_AT: "add_section_time",
    });
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/Ctrl-C: cancelling/);
    expect(run.stderr).toMatch(/^hdmea process: Short-\.cmtr: \w+: cancelled .*; checkpoint my\.ckpt\.h5 kept$/m);
    expect(existsSync(out)).toBe(false);
    expect(readOutputInfo(await nodeRuntime(), checkpoint).steps.map((s) => s.name)).toContain("load_recording");

    // --force ignores the checkpoint and starts from the recording.
    const forced = hdmea(["process", short.cmtrPath, "--out", out, ...pipelineArgs(noise), "--checkpoint", checkpoint, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).not.toMatch(/resuming/);
    expect(forced.stderr).toMatch(/load_recording completed/);
    expect(existsSync(checkpoint)).toBe(false);
  });
});

describe("arguments", () => {
  it("bad arguments print usage and exit 2; a missing input file is one line naming it, exit 1", () => {
    const base = ["process", short.cmtrPath, "--out", join(dir, "x.h5")];
    const cases: [string[], RegExp][] = [
      [["--mode", "fast"], /--mode must be deferred or immediate/],
      [["--steps", "nope"], /unknown step\(s\) nope; available: all, load_recording/],
      [["--param", "compute_sta.bogus=1"], /compute_sta: unknown parameter/],
      [["--param", "noequals"], /--param takes step\.key=value/],
      [["--checkpoint-every", "sometimes"], /--checkpoint-every takes "step"/],
      [["--frobnicate"], /unknown option --frobnicate/],
      [["--steps", "all", "--playlist", "p.csv", "--movie-length", "m.csv"], /playlist_name is required/],
      [["--jobs", "0", "--out-dir", dir], /--out is for one recording|--jobs must be/],
    ];
    for (const [extra, message] of cases) {
      const run = hdmea([...base, ...extra]);
      expect(run.code, `${extra.join(" ")}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(/^usage: hdmea process/m);
    }
    expect(hdmea(["process", short.cmtrPath]).code).toBe(2);

    const missing = hdmea([...base, ...pipelineArgs(), "--playlist", join(dir, "missing.csv")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n").at(-1)).toBe(`hdmea process: ${join(dir, "missing.csv")}: file not found`);
  });

  it("hdmea --help lists every command and the process options", () => {
    const run = hdmea(["--help"]);
    expect(run.code).toBe(0);
    for (const text of ["info", "process", "--out-dir", "--jobs", "--checkpoint-every", "--noise-movie", "--param", "--mode"]) {
      expect(run.stdout).toContain(text);
    }
    expect(hdmea(["process", "--help"]).stdout).toMatch(/^usage: hdmea process/);
  });
});
