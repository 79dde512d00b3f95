/**
 * Checkpoints in browser storage, written by the worker's own code in Node over a stand-in for OPFS
 * (tests/fixtures/fakeOpfs.ts): a full copy first, then deltas beside it that name it; what they hold
 * (token, saved_at, checkpoint_name) as the CLI's checkpoints hold it; a resume that continues the
 * chain; and a checkpoint another tab replaced meanwhile, never continued.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray } from "../../src/core/ndarray.ts";
import type { PipelineSession } from "../../src/core/session.ts";
import { closeSources } from "../../src/core/sessionSources.ts";
import { attributeValueOf, openH5, type H5Group, type H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { COMPACT_FRACTION, checkpointDeltaSettings, readCheckpointFiles } from "../../src/io/checkpointDeltas.ts";
import { readSessionFile } from "../../src/io/sessionFile.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";
import type { WorkerAPI } from "../../src/worker/api.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";
import { installFakeOpfs, type FakeDirectory } from "../fixtures/fakeOpfs.ts";
import { installSyncFileReader, SyncFile } from "../fixtures/syncFile.ts";

let api: WorkerAPI;
let get: typeof import("../../src/worker/sessionRegistry.ts").get;
let writes: typeof import("../../src/worker/checkpointWrites.ts");
let store: typeof import("../../src/worker/checkpointStore.ts");
let workerFs: typeof import("../../src/worker/workerFs.ts");
let root: FakeDirectory;
let node: H5Runtime;
let dir: string;

beforeAll(async () => {
  installSyncFileReader();
  root = installFakeOpfs();
  ({ api } = await import("../../src/worker/api.ts"));
  ({ get } = await import("../../src/worker/sessionRegistry.ts"));
  writes = await import("../../src/worker/checkpointWrites.ts");
  store = await import("../../src/worker/checkpointStore.ts");
  workerFs = await import("../../src/worker/workerFs.ts");
  node = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-browser-checkpoints-"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function stored(): Promise<FakeDirectory> {
  return root.getDirectoryHandle("checkpoints", { create: true });
}

async function storedNames(prefix: string): Promise<string[]> {
  return [...(await stored()).files.keys()].filter((n) => n.startsWith(prefix)).sort();
}

/** A stored file copied to disk, for the Node runtime to read. */
async function onDisk(name: string): Promise<string> {
  const path = join(dir, name.replace(/\.h5\.d(\d+)$/, ".d$1.h5"));
  writeFileSync(path, (await stored()).bytesOf(name));
  return path;
}

function featureStep(s: PipelineSession, name: string): void {
  s.batch(() => {
    for (const id of s.units.keys()) s.addFeature(id, name, new NDArray(Float64Array.from({ length: 8 }, (_, i) => i / 4)), { unit: "Hz" });
    s.markStepComplete(name, {});
  });
}

function infoAttr(path: string, name: string): unknown {
  const file = openH5(node, path, "r");
  try {
    const info = file.get("pipeline/session_info") as H5Group;
    return attributeValueOf(info, name);
  } finally {
    file.close();
  }
}

async function openSession(name: string, seed: number): Promise<{ id: string; session: PipelineSession }> {
  const original = randomSession({ units: 5, maxSpikes: 300, seed, now: fakeClock() });
  const path = join(dir, name);
  saveSession(node, original, path, { overwrite: true });
  const [item] = await api.openFiles([new SyncFile(new Uint8Array(readFileSync(path)), name)]);
  expect(item.error).toBeUndefined();
  return { id: item.sessionId!, session: get(item.sessionId!).session };
}

describe("checkpoints in browser storage", () => {
  it("the first is a full copy, later ones deltas naming it, holding what the CLI's hold; a resume continues the chain", async () => {
    const { id, session } = await openSession("browser-chain.h5", 41);
    const name = `${session.datasetId}.h5`;
    const first = await api.checkpoint(id);
    expect(first.checkpoint).toMatchObject({ name, datasetId: session.datasetId });
    expect(await storedNames(name)).toEqual([name]);

    featureStep(session, "frif");
    await api.checkpoint(id);
    expect(await storedNames(name)).toEqual([name, `${name}.d1`]);
    // Said once it happened, so in the session but not in the checkpoint it is about.
    expect(session.warnings.at(-1)!.message).toBe(`overwrote checkpoint ${name} in browser storage`);
    const checkpointed = session.warnings.slice(0, -1);

    // The base: an ordinary session file marked as a checkpoint named after the dataset, with its token.
    const base = await onDisk(name);
    const read = readSessionFile(node, base);
    expect(read.checkpointName).toBe(session.datasetId);
    expect(read.checkpointToken).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
    expect(read.savedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    closeSources(read.session);
    // The delta: names the base's token and its number, and the same checkpoint name.
    const delta = await onDisk(`${name}.d1`);
    expect(infoAttr(delta, "checkpoint_delta_of")).toBe(read.checkpointToken);
    expect(Number(infoAttr(delta, "checkpoint_delta_index"))).toBe(1);
    expect(infoAttr(delta, "checkpoint_name")).toBe(session.datasetId);
    const chain = readCheckpointFiles(node, base);
    expect(chain.deltas).toBe(1);
    expect(sessionDiff(session, chain.session)).toEqual(["warnings"]);
    expect(chain.session.warnings).toEqual(checkpointed);

    const listed = (await api.listCheckpoints()).find((c) => c.name === name)!;
    expect(listed.bytes).toBe((await stored()).bytesOf(name).length + (await stored()).bytesOf(`${name}.d1`).length);

    // Resumed, the session is the one checkpointed; its next checkpoint is the next delta.
    const resumed = await api.resumeCheckpoint(name);
    expect(resumed.error).toBeUndefined();
    const again = get(resumed.sessionId!).session;
    expect(sessionDiff(session, again)).toEqual(["warnings"]);
    expect(again.warnings).toEqual(checkpointed);
    featureStep(again, "late");
    await api.checkpoint(resumed.sessionId!);
    expect(await storedNames(name)).toEqual([name, `${name}.d1`, `${name}.d2`]);
    // Had the checkpoint changed while it was read, the resumed session would not continue it.
    // (Deltas this size against so small a base would be folded into a new base next: not here.)
    checkpointDeltaSettings.compactFraction = 100;
    try {
      const before = await store.checkpointStamp(name);
      expect((await writes.planBrowserCheckpoint(again, name)).kind).toBe("delta");
      await writes.resumedBrowserCheckpoint(again, name, { ...before!, deltas: before!.deltas - 1 });
      expect((await writes.planBrowserCheckpoint(again, name)).kind).toBe("full");
    } finally {
      checkpointDeltaSettings.compactFraction = COMPACT_FRACTION;
    }

    // Exported as one ordinary file, it is the resumed session as checkpointed.
    const exported = await api.exportCheckpoint(name);
    const out = join(dir, "browser-export.h5");
    writeFileSync(out, new Uint8Array(await exported.arrayBuffer()));
    const one = loadSession(node, out).session;
    expect(sessionDiff(again, one)).toEqual(["warnings"]);
    expect(one.warnings).toEqual(again.warnings.slice(0, -1));
    await api.closeSession(id);
    await api.closeSession(resumed.sessionId!);
  });

  it("a checkpoint another tab replaced is never continued: a delta planned before fails, nothing written, and the next is a full copy", async () => {
    const rt = await workerFs.runtime();
    const mine = randomSession({ units: 3, maxSpikes: 100, seed: 42, now: fakeClock() });
    const theirs = randomSession({ units: 2, maxSpikes: 100, seed: 43, now: fakeClock() });
    const name = "shared.h5";
    const write = async (s: PipelineSession, plan: Awaited<ReturnType<typeof writes.planBrowserCheckpoint>>) => {
      const scratch = await workerFs.createScratchFile(rt, `test-${Date.now()}.h5`, 1e6);
      try {
        return await writes.storeBrowserCheckpoint(rt, s, plan, scratch, () => undefined);
      } finally {
        await scratch.dispose();
      }
    };

    expect((await write(mine, await writes.planBrowserCheckpoint(mine, name))).kind).toBe("full");
    featureStep(mine, "one");
    const planned = await writes.planBrowserCheckpoint(mine, name);
    expect(planned.kind).toBe("delta");

    // Another tab's full copy lands between the plan and the write.
    const other = await write(theirs, await writes.planBrowserCheckpoint(theirs, name));
    expect(other.kind).toBe("full");
    const theirBytes = (await stored()).bytesOf(name).slice();
    await expect(write(mine, planned)).rejects.toBeInstanceOf(store.CheckpointReplacedError);
    expect(await storedNames(name)).toEqual([name]);
    expect((await stored()).bytesOf(name)).toEqual(theirBytes);

    // Planned again, it is a full copy, and the deltas after it follow it.
    const replanned = await writes.planBrowserCheckpoint(mine, name);
    expect(replanned.kind).toBe("full");
    await write(mine, replanned);
    featureStep(mine, "two");
    expect((await write(mine, await writes.planBrowserCheckpoint(mine, name))).kind).toBe("delta");
    await onDisk(`${name}.d1`);
    expect(sessionDiff(mine, readCheckpointFiles(node, await onDisk(name)).session)).toEqual([]);

    // A checkpoint replaced before the plan: the plan sees it and makes a full copy.
    await write(theirs, await writes.planBrowserCheckpoint(theirs, name));
    featureStep(mine, "three");
    expect((await writes.planBrowserCheckpoint(mine, name)).kind).toBe("full");
  });
});
