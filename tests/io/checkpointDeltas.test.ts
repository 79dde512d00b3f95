import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, f64 } from "../../src/core/ndarray.ts";
import { deltaPathOf, outermostPaths } from "../../src/core/checkpointChanges.ts";
import type { PipelineSession } from "../../src/core/session.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { deltaFileName, writeCheckpointAsOneFile, type CheckpointWrite } from "../../src/io/checkpointDeltas.ts";
import { checkpointSession, loadSession } from "../../src/io/sessionStore.ts";
import { readOutputInfo } from "../../src/cli/outputStatus.ts";
import { fakeClock, randomSession, randomUnit, seededRandom } from "../fixtures/randomSession.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";

let rt: H5Runtime;
let dir: string;
beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-deltas-"));
});

function checkpoint(s: PipelineSession, path: string): CheckpointWrite {
  let written: CheckpointWrite | undefined;
  checkpointSession(rt, s, path, { warnOnOverwrite: false, onWritten: (w) => (written = w) });
  return written!;
}

/** A step as the pipeline commits one: features for every unit, in one batch, then the step mark. */
function featureStep(s: PipelineSession, name: string, values = 8): void {
  s.batch(() => {
    for (const id of s.units.keys()) s.addFeature(id, name, new NDArray(Float64Array.from({ length: values }, (_, i) => i * 0.5)), { unit: "Hz" });
    s.markStepComplete(name, { n: values });
  });
}

const filesIn = (prefix: string) => readdirSync(dir).filter((f) => f.startsWith(prefix)).sort();

describe("change paths", () => {
  it("fall in the subtree a delta replaces; nested ones in their outermost", () => {
    expect(deltaPathOf("units/unit_001/features/frif")).toBe("units/unit_001/features/frif");
    expect(deltaPathOf("units/unit_001/spike_times")).toBe("units/unit_001");
    expect(deltaPathOf("pipeline/session_info")).toBeNull();
    expect(deltaPathOf("source_files")).toBeNull();
    expect(deltaPathOf("somewhere/else")).toBe("*");
    expect(outermostPaths(["units/u1/features/a", "units/u1", "units/u1-b/x", "metadata/a.b", "metadata/a/c"])).toEqual([
      "metadata/a.b",
      "metadata/a/c",
      "units/u1",
      "units/u1-b/x",
    ]);
  });
});

describe("checkpoint deltas", () => {
  it("the first checkpoint is a full copy; one after a step holds only that step's groups", () => {
    const s = randomSession({ units: 40, maxSpikes: 3000, seed: 31, now: fakeClock() });
    const base = join(dir, "step.checkpoint.h5");
    const first = checkpoint(s, base);
    expect(first).toMatchObject({ kind: "full", path: base, index: 0 });

    featureStep(s, "frif");
    const second = checkpoint(s, base);
    expect(second).toMatchObject({ kind: "delta", path: deltaFileName(base, 1), index: 1 });
    expect(second.bytes).toBe(statSync(deltaFileName(base, 1)).size);
    expect(second.bytes).toBeLessThan(statSync(base).size / 5);
    expect(filesIn("step.checkpoint")).toEqual(["step.checkpoint.d1.h5", "step.checkpoint.h5"]);

    // The delta names exactly that step's groups, and the base is untouched.
    const delta = h5py(
      "import h5py,sys,json\nf=h5py.File(sys.argv[1],'r')\ni=f['pipeline/session_info']\n" +
        "print(json.dumps({'paths':[p.decode() for p in i['checkpoint_delta_paths'][()]],'units':{k:list(f['units'][k].keys()) for k in f['units']},'meta':list(f['metadata'].keys()),'steps':[p.decode() for p in i['completed_steps'][()]]}))",
      deltaFileName(base, 1),
    );
    expect(delta.paths).toEqual([...s.units.keys()].map((id) => `units/${id}/features/frif`));
    expect(Object.values(delta.units)).toEqual([...s.units.keys()].map(() => ["features"]));
    expect(delta.meta).toEqual([]);
    expect(delta.steps).toEqual(["load_recording", "frif"]);

    const back = loadSession(rt, base).session;
    expect(sessionDiff(s, back)).toEqual([]);
  });

  it("resume after several deltas equals the session, and the resumed session continues the chain", () => {
    const s = randomSession({ units: 6, maxSpikes: 40_000, seed: 32, now: fakeClock() });
    const base = join(dir, "chain.checkpoint.h5");
    checkpoint(s, base);
    const rand = seededRandom(5);
    const steps: ((s: PipelineSession) => void)[] = [
      (x) => featureStep(x, "frif"),
      (x) => x.addMetadata({ section_time_playlist: "set_b", acquisition_rate: f64(10000) }),
      (x) => x.addStimulus({ section_time: { noise: new NDArray(BigInt64Array.of(1n, 2n), [1, 2]) } }),
      // A subtree replaced by a smaller one: what it no longer holds must go.
      (x) => x.placeInUnit("unit_002", ["spike_times_sectioned"], { only: new NDArray(Int32Array.of(3)) }),
      (x) => x.addUnits([randomUnit(7, rand, 200)]),
      (x) => {
        featureStep(x, "frif", 3); // replaces the earlier feature
        x.warn("a warning between steps");
      },
    ];
    for (const step of steps) {
      step(s);
      expect(checkpoint(s, base).kind).toBe("delta");
    }
    expect(filesIn("chain.checkpoint")).toHaveLength(1 + steps.length);
    const resumed = loadSession(rt, base).session;
    expect(sessionDiff(s, resumed)).toEqual([]);
    expect(Object.keys(resumed.getUnit("unit_002").children.spike_times_sectioned)).toEqual(["only"]);
    expect(readOutputInfo(rt, base)).toMatchObject({ unitCount: 7, steps: s.completedSteps });

    // The resumed session's next checkpoint is the next delta, and reads back whole.
    featureStep(resumed, "late");
    expect(checkpoint(resumed, base)).toMatchObject({ kind: "delta", index: steps.length + 1 });
    expect(sessionDiff(resumed, loadSession(rt, base).session)).toEqual([]);
  });

  it("a delta that fails midway, or a kill before its rename, leaves the previous checkpoint loading", () => {
    const s = randomSession({ units: 5, maxSpikes: 300, seed: 33, now: fakeClock() });
    const base = join(dir, "fault.checkpoint.h5");
    checkpoint(s, base);
    featureStep(s, "frif");
    checkpoint(s, base);
    const before = loadSession(rt, base).session;
    const baseBytes = readFileSync(base);

    // A value the writer cannot store, met after other groups of the delta were written.
    s.batch(() => {
      featureStep(s, "good");
      s.addFeature("unit_005", "broken", new NDArray(new Uint8ClampedArray(4) as never));
    });
    expect(() => checkpoint(s, base)).toThrow(/unsupported typed array/);
    expect(filesIn("fault.checkpoint")).toEqual(["fault.checkpoint.d1.h5", "fault.checkpoint.h5"]);
    expect(readFileSync(base).equals(baseBytes)).toBe(true);
    expect(sessionDiff(before, loadSession(rt, base).session)).toEqual([]);

    // A kill mid-write leaves only the temporary: resume does not read it.
    writeFileSync(`${deltaFileName(base, 2)}.partial-k1ll3d`, "half a delta");
    expect(sessionDiff(before, loadSession(rt, base).session)).toEqual([]);

    // The failed changes are still pending: once fixed, the next delta holds them.
    s.addFeature("unit_005", "broken", new NDArray(Uint8Array.of(1, 2, 3, 4)));
    expect(checkpoint(s, base)).toMatchObject({ kind: "delta", index: 2 });
    expect(sessionDiff(s, loadSession(rt, base).session)).toEqual([]);
  });

  it("compacts into a new full copy when the deltas pass half the base; leftovers of the old chain are never applied", () => {
    const s = randomSession({ units: 4, maxSpikes: 200, seed: 34, now: fakeClock() });
    const base = join(dir, "compact.checkpoint.h5");
    checkpoint(s, base);
    featureStep(s, "big", 20_000); // 4 × 160 kB: far more than the base
    expect(checkpoint(s, base).kind).toBe("delta");
    const oldDelta = join(dir, "old-d1.h5");
    copyFileSync(deltaFileName(base, 1), oldDelta);
    // Nothing changed since: however overgrown the chain, the next checkpoint is the header alone, not a new copy.
    const unchanged = checkpoint(s, base);
    expect(unchanged).toMatchObject({ kind: "delta", index: 2 });
    expect(unchanged.bytes).toBeLessThan(statSync(base).size / 2);
    expect(sessionDiff(s, loadSession(rt, base).session)).toEqual([]);

    featureStep(s, "small");
    expect(checkpoint(s, base)).toMatchObject({ kind: "full", path: base });
    expect(filesIn("compact.checkpoint")).toEqual(["compact.checkpoint.h5"]);
    expect(sessionDiff(s, loadSession(rt, base).session)).toEqual([]);

    // As after a crash between the new base and removing the old deltas: the old d1 names the old base.
    copyFileSync(oldDelta, deltaFileName(base, 1));
    expect(sessionDiff(s, loadSession(rt, base).session)).toEqual([]);
    // A delta file where the next one goes is not this session's to replace: a full copy clears it.
    featureStep(s, "after");
    expect(checkpoint(s, base).kind).toBe("full");
    expect(filesIn("compact.checkpoint")).toEqual(["compact.checkpoint.h5"]);
    featureStep(s, "later");
    expect(checkpoint(s, base)).toMatchObject({ kind: "delta", index: 1 });
    expect(sessionDiff(s, loadSession(rt, base).session)).toEqual([]);
  });

  it("a checkpoint to another place, or after its file was replaced, is a full copy", () => {
    const s = randomSession({ units: 3, maxSpikes: 100, seed: 35, now: fakeClock() });
    const a = join(dir, "a.checkpoint.h5");
    const b = join(dir, "b.checkpoint.h5");
    checkpoint(s, a);
    featureStep(s, "one");
    expect(checkpoint(s, b).kind).toBe("full");
    featureStep(s, "two");
    expect(checkpoint(s, b).kind).toBe("delta");
    // Another writer replaced b: this session's deltas would not follow it.
    checkpoint(randomSession({ units: 1, maxSpikes: 10, seed: 36 }), b);
    featureStep(s, "three");
    expect(checkpoint(s, b).kind).toBe("full");
    expect(sessionDiff(s, loadSession(rt, b).session)).toEqual([]);
  });

  it("writes a checkpoint with its deltas as one ordinary file that h5py reads", () => {
    const s = randomSession({ units: 3, maxSpikes: 100, seed: 37, now: fakeClock() });
    const base = join(dir, "export.checkpoint.h5");
    checkpoint(s, base);
    featureStep(s, "frif");
    checkpoint(s, base);
    s.addMetadata({ section_time_playlist: "set_c" });
    checkpoint(s, base);
    const out = join(dir, "exported.h5");
    writeCheckpointAsOneFile(rt, base, out);
    expect(existsSync(deltaFileName(out, 1))).toBe(false);
    const file = h5py(
      "import h5py,sys,json\nf=h5py.File(sys.argv[1],'r')\ni=f['pipeline/session_info']\n" +
        "print(json.dumps({'id':f.attrs['dataset_id'],'steps':[p.decode() for p in i['completed_steps'][()]],'playlist':f['metadata/section_time_playlist'][()].decode()," +
        "'frif':{k:f['units'][k]['features/frif/data'].shape[0] for k in f['units']},'delta':'checkpoint_delta_of' in i.attrs}))",
      out,
    );
    expect(file).toEqual({ id: s.datasetId, steps: ["load_recording", "frif"], playlist: "set_c", frif: { unit_001: 8, unit_002: 8, unit_003: 8 }, delta: false });
    expect(sessionDiff(s, loadSession(rt, out).session)).toEqual([]);
  });
});

function h5py(script: string, ...args: string[]): any {
  const run = spawnSync("/usr/bin/python3", ["-c", script, ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`h5py: ${run.stderr}`);
  return JSON.parse(run.stdout);
}
