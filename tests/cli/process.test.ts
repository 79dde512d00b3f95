import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray } from "../../src/core/ndarray.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { readSessionFile } from "../../src/io/sessionFile.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";

let rt: H5Runtime;
let dir: string;
let gen: GeneratedRecording;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-cli-"));
  gen = writeRecordingPair(rt, { dir, name: "Rec", units: 3, minutes: 0.2, seed: 4 });
}, 60_000);

function hdmea(...args: string[]) {
  const result = spawnSync(process.execPath, ["bin/hdmea.js", "process", ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("hdmea process", () => {
  it("finds the .cmcr beside the .cmtr, runs load_recording and saves a readable session", () => {
    const out = join(dir, "out.h5");
    const run = hdmea(gen.cmtrPath, "--out", out);
    // Not a terminal: the progress is one plain line per step.
    expect(run.stderr).toMatch(/^hdmea: load_recording completed in [\d.]+ s \(3 units\)\n$/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote .*out\.h5: dataset Rec, 3 units/);
    const { session } = readSessionFile(rt, out);
    expect(session.datasetId).toBe("Rec");
    expect(session.unitCount).toBe(3);
    const frames = session.metadata.frame_timestamps;
    expect(frames instanceof NDArray && frames.data).toEqual(gen.frameTimestamps);
    expect(session.getUnit("unit_001").spikeTimes).toEqual(
      BigUint64Array.from(gen.units[0].includedTimestampsUs, (t) => BigInt(Math.round(t / 50))),
    );
    expect(session.completedSteps.map((s) => s.name)).toContain("load_recording");
    expect(session.sourceFiles.cmcr).toBe(gen.cmcrPath);
  });

  it("takes --cmcr explicitly and --steps load_recording; refuses to overwrite without --overwrite", () => {
    const out = join(dir, "explicit.h5");
    expect(hdmea(gen.cmtrPath, "--cmcr", gen.cmcrPath, "--out", out, "--steps", "load_recording").code).toBe(0);
    const again = hdmea(gen.cmtrPath, "--cmcr", gen.cmcrPath, "--out", out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^hdmea process: explicit\.h5 already exists; save with overwrite/);
    expect(hdmea(gen.cmtrPath, "--out", out, "--overwrite").code).toBe(0);
  });

  it("runs a lone .cmtr with a warning when no partner is found", () => {
    const lone = join(dir, "lone");
    mkdirSync(lone);
    copyFileSync(gen.cmtrPath, join(lone, "Rec-.cmtr"));
    const run = hdmea(join(lone, "Rec-.cmtr"), "--out", join(lone, "out.h5"));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/warning: Rec-\.cmtr was opened without its \.cmcr/);
  });

  it("fails with a one-line error and a non-zero exit on bad input", () => {
    const bad = join(dir, "broken-.cmtr");
    writeFileSync(bad, "not hdf5 at all");
    const run = hdmea(bad, "--out", join(dir, "broken.h5"));
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("hdmea process: broken-.cmtr: not an HDF5 file (no HDF5 signature)\n");

    const usage = hdmea(gen.cmtrPath, "--out", join(dir, "x.h5"), "--steps", "bogus_step");
    expect(usage.code).toBe(2);
    expect(usage.stderr.split("\n")[0]).toMatch(/^hdmea process: unknown step\(s\) bogus_step; available: all, load_recording, .*compute_sta/);
    expect(hdmea(gen.cmtrPath).code).toBe(2);
  });
});
