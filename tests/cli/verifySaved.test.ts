/**
 * "Saved" is only believed once the file reads back (issue 17): a save the disk acknowledged but did
 * not keep (the test hook cuts the output to half right after writing) ends with exit 1 and a line
 * naming the file, and the checkpoint it would have replaced stays whole, to resume from.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";
import { hdmea } from "./cliHarness.ts";

let dir: string;
let gen: GeneratedRecording;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hdmea-cli-verify-"));
  gen = writeRecordingPair(await nodeRuntime(), { dir, name: "Rec", units: 2, minutes: 0.1, seed: 61 });
}, 60_000);

describe("hdmea process: the saved file is read back before the checkpoint goes", () => {
  it("keeps the checkpoint when the saved file reads back damaged, and the next run resumes from it", () => {
    const out = join(dir, "out.h5");
    const checkpoint = join(dir, "out.checkpoint.h5");
    const damaged = hdmea(["process", gen.cmtrPath, "--out", out, "--checkpoint-every", "step"], { HDMEA_TEST_DAMAGE_SAVED: "1" });
    expect(damaged.code, damaged.stderr).toBe(1);
    expect(damaged.stderr.trimEnd().split("\n").at(-1)).toMatch(/^hdmea process: out\.h5: saved, but reading it back failed \(.+\); the checkpoint is kept$/);
    expect(damaged.stderr).not.toMatch(/removed checkpoint/);
    expect(existsSync(checkpoint)).toBe(true);

    // The checkpoint is whole: the next run resumes from it and replaces the damaged output.
    const resumed = hdmea(["process", gen.cmtrPath, "--out", out, "--checkpoint-every", "step", "--overwrite"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from out\.checkpoint\.h5 \(completed: .*load_recording/);
    expect(resumed.stderr).toMatch(/removed checkpoint out\.checkpoint\.h5/);
    expect(existsSync(checkpoint)).toBe(false);
    const info = hdmea(["info", out, "--json"]);
    expect(info.code, info.stderr).toBe(0);
    const saved = JSON.parse(info.stdout);
    expect(saved.unitCount).toBe(2);
    expect(saved.completedSteps.length).toBeGreaterThan(0);
  }, 120_000);
});
