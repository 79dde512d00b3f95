/**
 * An input rewritten under a running job (issue 18, item 4): the arrays the session left in it are
 * not read; the run fails naming the file and what changed, exit 1, and the output is not created.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";
import { hdmea } from "./cliHarness.ts";

let dir: string;
let rec: GeneratedRecording;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hdmea-cli-changed-"));
  rec = writeRecordingPair(await nodeRuntime(), { dir, name: "Changed", units: 3, minutes: 0.1, seed: 43 });
}, 60_000);

describe("an input changed during the run", () => {
  it("stops the save naming the file, exit 1, nothing written", () => {
    const cmtr = join(mkdtempSync(join(dir, "copy-")), "Changed-.cmtr");
    copyFileSync(rec.cmtrPath, cmtr);
    copyFileSync(rec.cmcrPath, cmtr.replace(/-\.cmtr$/, ".cmcr"));
    const out = join(dir, "changed.h5");
    const run = hdmea(["process", cmtr, "--out", out], { HDMEA_TEST_TOUCH_AFTER: `load_recording:${cmtr}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^hdmea process: Changed-\.cmtr changed since it was opened: last modified .*, now .*; nothing was written, the session keeps what it has/m);
    expect(existsSync(out)).toBe(false);
  });
});
