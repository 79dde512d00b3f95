import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { checkpointSession } from "../../src/io/sessionStore.ts";
import { randomSession } from "../fixtures/randomSession.ts";

const BIN = join(import.meta.dirname, "../../bin/hdmea.js");
const hdmea = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });

describe("hdmea info", () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hdmea-cli-"));
    file = join(dir, "ckpt.h5");
    const s = randomSession({ units: 7, maxSpikes: 100, seed: 21 });
    s.warn("something to see");
    checkpointSession(await nodeRuntime(), s, file, { checkpointName: "after-load" });
  });

  it("prints the summary as JSON with --json", () => {
    const run = hdmea("info", file, "--json");
    expect(run.status, run.stderr).toBe(0);
    const info = JSON.parse(run.stdout);
    expect(info).toMatchObject({
      datasetId: "rand-21",
      unitCount: 7,
      checkpointName: "after-load",
      saveState: "SAVED",
      completedSteps: [{ name: "load_recording", params: { spike_limit: 10000, window_range: [-10, 40] } }],
      warnings: [{ message: "something to see" }],
    });
    expect(info.fileBytes).toBeGreaterThan(0);
    expect(info.memoryEstimateBytes).toBeGreaterThan(0);
  });

  it("prints a readable table without --json", () => {
    const run = hdmea("info", file);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^units\s+7 \(\d+ spikes\)$/m);
    expect(run.stdout).toMatch(/^steps\s+load_recording$/m);
  });

  it("fails with one clear line on bad input, and with usage on bad arguments", () => {
    writeFileSync(join(dir, "bad.h5"), "not hdf5");
    const bad = hdmea("info", join(dir, "bad.h5"));
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe("hdmea info: bad.h5: not an HDF5 file (no HDF5 signature)");
    const usage = hdmea("info");
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/usage: hdmea info FILE.h5 \[--json\]/);
    expect(hdmea("frobnicate").status).toBe(2);
  });
});
