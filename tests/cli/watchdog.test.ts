/**
 * The CLI's per-step watchdog (issue 17): a read that never returns (the test hook blocks the
 * recording's thread inside HDF5's first read of a step, as a loop on a damaged file would) ends
 * the run with exit 1 and one line naming the file and the step; the last checkpoint is kept and
 * resumes normally afterwards.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";
import { hdmea, snapshot } from "./cliHarness.ts";

let dir: string;
let gen: GeneratedRecording;

beforeAll(async () => {
  const rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-cli-watchdog-"));
  gen = writeRecordingPair(rt, { dir, name: "Rec", units: 2, minutes: 0.1, seed: 51 });
}, 60_000);

const errorLine = (run: { stderr: string }) => run.stderr.trimEnd().split("\n").at(-1) ?? "";

describe("hdmea process --watchdog-seconds", () => {
  it("stops a step hung inside a read, naming the file and the step", () => {
    const out = join(dir, "hung.h5");
    const run = hdmea(["process", gen.cmtrPath, "--out", out, "--watchdog-seconds", "1"], { HDMEA_TEST_HANG_IN_READ: "load_recording" });
    expect(run.code, run.stderr).toBe(1);
    expect(errorLine(run)).toMatch(/^hdmea process: (Rec-\.cmtr|Rec\.cmcr): no file reads, writes or progress for 1 s during load_recording; stopped as hung$/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it("keeps the last checkpoint when resuming from it hangs; the next run resumes from it", () => {
    const out = join(dir, "resume.h5");
    const checkpoint = join(dir, "resume.checkpoint.h5");
    const killed = hdmea(["process", gen.cmtrPath, "--out", out, "--checkpoint-every", "step"], { HDMEA_TEST_KILL_AFTER: "load_recording" });
    expect(killed.signal).toBe("SIGKILL");
    expect(existsSync(checkpoint)).toBe(true);
    const before = snapshot(dir);

    const hung = hdmea(["process", gen.cmtrPath, "--out", out, "--checkpoint-every", "step", "--watchdog-seconds", "1"], {
      HDMEA_TEST_HANG_IN_READ: "resuming from resume.checkpoint.h5",
    });
    expect(hung.code, hung.stderr).toBe(1);
    expect(errorLine(hung)).toBe(
      "hdmea process: resume.checkpoint.h5: no file reads, writes or progress for 1 s during resuming from resume.checkpoint.h5; " +
        "stopped as hung; checkpoint resume.checkpoint.h5 kept",
    );
    expect(snapshot(dir)).toEqual(before);

    const resumed = hdmea(["process", gen.cmtrPath, "--out", out, "--checkpoint-every", "step"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from resume\.checkpoint\.h5 \(completed: .*load_recording/);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(checkpoint)).toBe(false);
  }, 120_000);

  it("in a batch, fails the hung recording's row and finishes the others", async () => {
    const input = join(dir, "batch-in");
    mkdirSync(input);
    writeRecordingPair(await nodeRuntime(), { dir: input, name: "RecB", units: 2, minutes: 0.1, seed: 52 });
    for (const name of ["Rec-.cmtr", "Rec.cmcr"]) copyFileSync(join(dir, name), join(input, name));
    const out = join(dir, "batch-out");
    const run = hdmea(["process", input, "--out-dir", out, "--jobs", "2", "--watchdog-seconds", "1", "--json"], {
      HDMEA_TEST_HANG_IN_READ: "load_recording@RecB",
    });
    expect(run.code, run.stderr).toBe(1);
    const rows = JSON.parse(run.stdout);
    expect(rows.map((r: { recording: string; result: string }) => [r.recording, r.result])).toEqual([
      ["Rec-.cmtr", "ok"],
      ["RecB-.cmtr", "failed"],
    ]);
    expect(rows[1].error).toMatch(/^(RecB-\.cmtr|RecB\.cmcr): no file reads, writes or progress for 1 s during load_recording; stopped as hung$/);
    expect(readdirSync(out).sort()).toEqual(["Rec.h5", "summary.json"]);
  }, 120_000);

  it("takes seconds ≥ 0 (0 = off)", () => {
    const run = hdmea(["process", gen.cmtrPath, "--out", join(dir, "x.h5"), "--watchdog-seconds", "soon"]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe('hdmea process: --watchdog-seconds takes seconds (0 = off), got "soon"');
  }, 120_000);
});
