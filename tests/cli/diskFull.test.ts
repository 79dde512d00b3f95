/**
 * A full disk says so (issue 17): the message names the file being written (not the input), how much
 * room it needed and had, and that file is left as it was. The free-space check is tested anywhere
 * through its test override; the real statfs and a real ENOSPC from inside HDF5 on a 2 MB tmpfs,
 * which needs root (mount) and is skipped, saying why, without it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";
import { hdmea, pipelineArgs, snapshot } from "./cliHarness.ts";

let dir: string;
let small: GeneratedRecording; // saves to ~1.1 MB
let big: GeneratedRecording; // saves to ~5.7 MB

beforeAll(async () => {
  const rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-cli-diskfull-"));
  small = writeRecordingPair(rt, { dir, name: "Small", units: 2, minutes: 0.1, seed: 41 });
  big = writeRecordingPair(rt, { dir, name: "Big", units: 10, minutes: 0.5, seed: 42 });
}, 120_000);

const DISK_FULL = /^hdmea process: (checkpoint )?(\S+): no space left on the device \(needs about ([\d.]+) MB(?:, ([\d.]+) MB free)?\); \2 (is unchanged|was not created)$/;

/** The error line (after the plain per-step lines a run prints before it). */
const errorLine = (run: { stderr: string }) => run.stderr.trimEnd().split("\n").at(-1) ?? "";

describe("a full disk names the output", () => {
  it("checks the free space before writing the output or a checkpoint (statfs override)", () => {
    const out = join(dir, "small.h5");
    const refused = hdmea(["process", small.cmtrPath, "--out", out], { HDMEA_TEST_FREE_BYTES: "500000" });
    expect(refused.code, refused.stderr).toBe(1);
    const m = DISK_FULL.exec(errorLine(refused));
    expect(m, refused.stderr).not.toBeNull();
    expect(m!.slice(2, 6)).toEqual(["small.h5", "1.1", "0.5", "was not created"]);
    expect(existsSync(out)).toBe(false);

    // Over an existing file: it stays as it was.
    expect(hdmea(["process", small.cmtrPath, "--out", out]).code).toBe(0);
    const before = snapshot(dir);
    const again = hdmea(["process", small.cmtrPath, "--out", out, "--overwrite"], { HDMEA_TEST_FREE_BYTES: "1000" });
    expect(errorLine(again)).toMatch(/^hdmea process: small\.h5: no space left on the device \(needs about 1\.1 MB, 0 MB free\); small\.h5 is unchanged$/);
    expect(snapshot(dir)).toEqual(before);

    // A checkpoint is named as one.
    const ck = hdmea(["process", small.cmtrPath, "--out", join(dir, "ck.h5"), "--checkpoint-every", "step"], { HDMEA_TEST_FREE_BYTES: "1000" });
    expect(ck.code).toBe(1);
    expect(errorLine(ck)).toMatch(/^hdmea process: checkpoint ck\.checkpoint\.h5: no space left on the device \(needs about 1\.1 MB, 0 MB free\); ck\.checkpoint\.h5 was not created$/);
    expect(snapshot(dir)).toEqual(before);
  }, 120_000);

  it("checks room for what a delta checkpoint writes, not for nothing", () => {
    const out = join(dir, "delta.h5");
    const checkpoint = join(dir, "delta.checkpoint.h5");
    // A full checkpoint after load_recording, then the run dies.
    const killed = hdmea(["process", small.cmtrPath, "--out", out, ...pipelineArgs(), "--checkpoint-every", "step"], { HDMEA_TEST_KILL_AFTER: "load_recording" });
    expect(killed.signal).toBe("SIGKILL");
    expect(existsSync(checkpoint)).toBe(true);
    const before = snapshot(dir);
    // Resumed, the next checkpoint is a delta of add_section_time's arrays: refused before writing, named as the checkpoint.
    const resumed = hdmea(["process", small.cmtrPath, "--out", out, ...pipelineArgs(), "--checkpoint-every", "step"], { HDMEA_TEST_FREE_BYTES: "10" });
    expect(resumed.code, resumed.stderr).toBe(1);
    expect(resumed.stderr).toMatch(/^hdmea: resuming from delta\.checkpoint\.h5/m);
    expect(errorLine(resumed)).toMatch(/^hdmea process: checkpoint delta\.checkpoint\.h5: no space left on the device \(needs about [\d.]+ MB, 0 MB free\); delta\.checkpoint\.h5 is unchanged$/);
    expect(snapshot(dir)).toEqual(before);
  }, 120_000);
});

/** A 2 MB tmpfs for this file's tests, or why there is none. */
function mountTmpfs(): { dir: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: "needs root to mount a tmpfs" };
  const mountPoint = mkdtempSync(join(tmpdir(), "hdmea-tmpfs-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(mountPoint, { recursive: true, force: true });
    return { skip: `mount -t tmpfs failed: ${(r.stderr || r.error?.message || "").trim()}` };
  }
  return { dir: mountPoint };
}

const tmpfs = mountTmpfs();
const tiny = "dir" in tmpfs ? tmpfs.dir : "";

afterAll(() => {
  if (!tiny) return;
  spawnSync("umount", [tiny]);
  rmSync(tiny, { recursive: true, force: true });
});

describe.skipIf(!tiny)(`on a real 2 MB tmpfs${"skip" in tmpfs ? ` (skipped: ${tmpfs.skip})` : ""}`, () => {
  it("refuses from statfs before writing, and maps HDF5's own ENOSPC to the same message; the old file is intact", () => {
    const out = join(tiny, "session.h5");
    expect(hdmea(["process", small.cmtrPath, "--out", out]).code).toBe(0);
    const before = snapshot(tiny);

    const refused = hdmea(["process", big.cmtrPath, "--out", out, "--overwrite"]);
    expect(refused.code, refused.stderr).toBe(1);
    const m = DISK_FULL.exec(errorLine(refused));
    expect(m, refused.stderr).not.toBeNull();
    expect(m![2]).toBe("session.h5");
    expect(Number(m![3])).toBeGreaterThan(5);
    expect(Number(m![4])).toBeLessThan(1);
    expect(m![5]).toBe("is unchanged");
    expect(snapshot(tiny)).toEqual(before);

    // No free-space figure (as where statfs is unknown): the write itself runs out of room inside HDF5.
    const failed = hdmea(["process", big.cmtrPath, "--out", out, "--overwrite"], { HDMEA_TEST_FREE_BYTES: "unknown" });
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).not.toMatch(/HDF5|Big-\.cmtr/);
    expect(errorLine(failed)).toMatch(/^hdmea process: session\.h5: no space left on the device \(needs about [\d.]+ MB\); session\.h5 is unchanged$/);
    expect(snapshot(tiny)).toEqual(before);
    expect(readdirSync(tiny)).toEqual(["session.h5"]);

    // A checkpoint on the full device, beside an output elsewhere: named as the checkpoint.
    const outside = join(dir, "elsewhere.h5");
    const ck = hdmea(["process", big.cmtrPath, "--out", outside, "--checkpoint", join(tiny, "big.checkpoint.h5")], { HDMEA_TEST_FREE_BYTES: "unknown" });
    expect(ck.code).toBe(1);
    expect(errorLine(ck)).toMatch(/^hdmea process: checkpoint big\.checkpoint\.h5: no space left on the device \(needs about [\d.]+ MB\); big\.checkpoint\.h5 was not created$/);
    expect(readdirSync(tiny)).toEqual(["session.h5"]);
    expect(existsSync(outside)).toBe(false);
  }, 120_000);

  it("a batch names the output of the recording that did not fit and finishes the others", () => {
    const input = join(dir, "batch-in");
    mkdirSync(input);
    for (const name of ["Small-.cmtr", "Small.cmcr", "Big-.cmtr", "Big.cmcr"]) copyFileSync(join(dir, name), join(input, name));
    rmSync(join(tiny, "session.h5"), { force: true });
    const outDir = join(tiny, "batch");
    const run = hdmea(["process", input, "--out-dir", outDir, "--jobs", "1", "--json"], { HDMEA_TEST_FREE_BYTES: "unknown" });
    expect(run.code, run.stderr).toBe(1);
    const rows = JSON.parse(run.stdout);
    expect(rows.map((r: { recording: string; result: string }) => [r.recording, r.result])).toEqual([
      ["Big-.cmtr", "failed"],
      ["Small-.cmtr", "ok"],
    ]);
    expect(rows[0].error).toMatch(/^Big\.h5: no space left on the device \(needs about [\d.]+ MB\); Big\.h5 was not created$/);
    expect(readdirSync(outDir).sort()).toEqual(["Small.h5", "summary.json"]);
  }, 120_000);
});
