/**
 * The worker's operations called directly in Node, without a worker: h5wasm's browser build runs
 * here too. WORKERFS needs a worker scope and `FileReaderSync`; both are stood in for below, with
 * `File`s whose slices can be read synchronously.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";
import { writeRecordingPair } from "../../tools/recordingGenerator.ts";
import type { OpenProgress, WorkerAPI } from "../../src/worker/api.ts";
import { installSyncFileReader, SyncFile } from "../fixtures/syncFile.ts";

let api: WorkerAPI;
let dir: string;

beforeAll(async () => {
  // h5wasm decides "am I in a worker" when it loads; WORKERFS refuses to mount otherwise.
  installSyncFileReader();
  ({ api } = await import("../../src/worker/api.ts"));
  dir = mkdtempSync(join(tmpdir(), "hdmea-worker-"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileFromDisk(path: string, name = path.split("/").pop()!): SyncFile {
  return new SyncFile(new Uint8Array(readFileSync(path)), name);
}

async function writeSessionFixture(name: string, units = 12) {
  const rt = await nodeRuntime();
  const session = randomSession({ units, maxSpikes: 200, seed: 7, now: fakeClock() });
  session.warn("a warning that must survive the round trip");
  const path = join(dir, name);
  saveSession(rt, session, path, { overwrite: true });
  return { session, path };
}

describe("worker api in Node", () => {
  it("opens a dropped session file, reports its summary and units, and saves it back unchanged", async () => {
    const { session, path } = await writeSessionFixture("fixture.h5");
    const [item] = await api.openFiles([fileFromDisk(path)]);
    expect(item.error).toBeUndefined();
    expect(item.kind).toBe("session-file");
    const id = item.sessionId!;

    const summary = await api.summary(id);
    expect(summary.datasetId).toBe(session.datasetId);
    expect(summary.unitCount).toBe(12);
    expect(summary.saveState).toBe("SAVED");
    expect(summary.hasUnsavedChanges).toBe(false);
    expect(summary.completedSteps.map((s) => s.name)).toEqual(session.completedSteps.map((s) => s.name));

    const table = await api.units(id);
    expect(table.ids).toEqual([...session.units.keys()]);
    const first = session.units.get(table.ids[0])!;
    expect(table.row[0]).toBe(first.attrs.row);
    expect(table.col[0]).toBe(first.attrs.col);
    expect(table.spikeCount[0]).toBe(first.spikeTimes.length);
    // LB.RecordingDuration is not recording_duration_s: the fixture has none, so rates use the last spike.
    expect(table.durationSource).toBe("last spike");
    expect(table.meanRateHz[0]).toBeCloseTo(first.spikeTimes.length / table.durationS!, 9);

    const saved = await api.save(id);
    expect(saved.file).toBeDefined();
    expect(saved.fileName).toBe(`${session.datasetId}.h5`);
    // A download is never confirmed by the browser: the state is the loaded file's, unchanged.
    expect(saved.confirmed).toBe(false);
    expect(saved.summary.saveState).toBe("SAVED");
    expect(saved.summary.hdf5Path).toMatch(/fixture\.h5$/);
    const out = join(dir, "downloaded.h5");
    writeFileSync(out, new Uint8Array(await saved.file!.arrayBuffer()));
    expect(saved.bytes).toBe(saved.file!.size);
    const back = loadSession(await nodeRuntime(), out).session;
    expect(sessionDiff(session, back)).toEqual([]);

    await api.closeSession(id);
    await expect(api.summary(id)).rejects.toThrow(/no open session/);
  });

  it("reports files it cannot open as items with a message for a person, not a thrown HDF5 stack", async () => {
    const junk = new SyncFile(new TextEncoder().encode("not hdf5 at all, just text"), "broken.h5");
    const empty = new SyncFile(new Uint8Array(0), "empty.h5");
    const other = new SyncFile(new Uint8Array(4), "notes.txt");
    const items = await api.openFiles([junk, empty, other]);
    const byName = Object.fromEntries(items.map((i) => [i.name, i]));
    expect(byName["broken.h5"].error).toMatch(/broken\.h5: not an HDF5 file/);
    expect(byName["empty.h5"].error).toMatch(/empty\.h5: the file is empty/);
    expect(byName["notes.txt"].error).toMatch(/not a session file \(\.h5\) or recording/);
    for (const item of items) {
      expect(item.sessionId).toBeUndefined();
      expect(item.error).not.toMatch(/HDF5-DIAG/);
    }
    expect(byName["notes.txt"].failure).toEqual({ kind: "bad-input", file: "notes.txt" });
  });

  it("says as data which file is damaged, so the page need not read the words", async () => {
    const { path } = await writeSessionFixture("whole.h5");
    const bytes = new Uint8Array(readFileSync(path));
    const [item] = await api.openFiles([new SyncFile(bytes.subarray(0, Math.floor(bytes.length * 0.6)), "cut.h5")]);
    expect(item.error).toMatch(/^cut\.h5: .*truncated or damaged/);
    expect(item.failure).toEqual({ kind: "damaged-file", file: "cut.h5" });
  });

  it("opens a .cmcr + -.cmtr pair dropped together as one recording session, with progress", async () => {
    const rt = await nodeRuntime();
    const recording = writeRecordingPair(rt, { dir, name: "rec1", units: 5, minutes: 0.2, seed: 3 });
    const progress: number[] = [];
    const items = await api.openFiles(
      [fileFromDisk(recording.cmcrPath), fileFromDisk(recording.cmtrPath)],
      (p) => progress.push(p.fraction),
    );
    expect(items).toHaveLength(1);
    expect(items[0].error).toBeUndefined();
    expect(items[0].name).toBe("rec1.cmcr + rec1-.cmtr");
    const summary = items[0].summary!;
    expect(summary.datasetId).toBe("rec1");
    expect(summary.saveState).toBe("DEFERRED");
    expect(summary.unitCount).toBe(5);
    expect(summary.sourceFiles).toEqual({ cmcr: "rec1.cmcr", cmtr: "rec1-.cmtr" });
    expect(progress.length).toBeGreaterThan(0);
    const table = await api.units(items[0].sessionId!);
    expect(table.ids).toHaveLength(5);
    await api.closeSession(items[0].sessionId!);
  });

  it("reports browser storage as missing where there is none (checkpoints need OPFS)", async () => {
    const { path } = await writeSessionFixture("for-checkpoint.h5", 2);
    const [item] = await api.openFiles([fileFromDisk(path)]);
    const before = await api.summary(item.sessionId!);
    await expect(api.checkpoint(item.sessionId!)).rejects.toThrow(/origin private file system/);
    expect(await api.summary(item.sessionId!)).toEqual(before);
  });

  it("sends a recording's units while it opens: listed first, then spike counts as each unit is read", async () => {
    const rt = await nodeRuntime();
    const recording = writeRecordingPair(rt, { dir, name: "rec3", units: 7, minutes: 0.2, seed: 11 });
    const seen: OpenProgress[] = [];
    const [item] = await api.openFiles([fileFromDisk(recording.cmcrPath), fileFromDisk(recording.cmtrPath)], (p) => {
      if (p.units) seen.push(p);
    });
    const table = await api.units(item.sessionId!);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    // The listing: every unit where the session will have it, no spike count read yet.
    const [listed, ...later] = seen.map((p) => p.units!);
    expect(listed.ids).toEqual(table.ids);
    expect([...listed.row]).toEqual([...table.row]);
    expect([...listed.col]).toEqual([...table.col]);
    expect(listed.opening).toEqual({ spikesRead: new Uint8Array(7), unitsRead: 0 });
    expect([...listed.meanRateHz].every(Number.isNaN)).toBe(true);
    // Each later table is a copy as of then; the last has every unit, with the session's counts and rates.
    const done = later.at(-1)!;
    expect(done.opening!.unitsRead).toBe(7);
    expect([...done.spikeCount]).toEqual([...table.spikeCount]);
    expect(done.durationS).toBe(table.durationS);
    for (let i = 0; i < 7; i++) expect(done.meanRateHz[i]).toBeCloseTo(table.meanRateHz[i], 9);
    expect(listed.spikeCount.every((c) => c === 0)).toBe(true);
    await api.closeSession(item.sessionId!);
  });

  it("keeps a downloaded session unsaved until the user confirms the download, then SAVED as of the download", async () => {
    const rt = await nodeRuntime();
    const recording = writeRecordingPair(rt, { dir, name: "rec2", units: 3, minutes: 0.1, seed: 5 });
    const [item] = await api.openFiles([fileFromDisk(recording.cmcrPath), fileFromDisk(recording.cmtrPath)]);
    const id = item.sessionId!;
    await expect(api.confirmDownload(id)).rejects.toThrow(/no download of session rec2 is waiting to be confirmed/);

    const saved = await api.save(id);
    expect(saved.confirmed).toBe(false);
    expect(saved.file!.name).toBe("rec2.h5");
    expect(saved.summary.saveState).toBe("DEFERRED");
    expect(saved.summary.hasUnsavedChanges).toBe(true);
    expect(saved.summary.hdf5Path).toBeNull();
    // The automatic checkpoint needs browser storage, which Node has not: said, and the download stands.
    expect(saved.checkpoint).toBeUndefined();
    expect(saved.checkpointError).toMatch(/origin private file system/);

    const confirmed = await api.confirmDownload(id);
    expect(confirmed).toMatchObject({ fileName: "rec2.h5", changedSince: false });
    expect(confirmed.summary.saveState).toBe("SAVED");
    expect(confirmed.summary.hdf5Path).toBe("rec2.h5");
    expect(confirmed.summary.hasUnsavedChanges).toBe(false);
    await expect(api.confirmDownload(id)).rejects.toThrow(/no download/);

    // A change after the download is not in the file: confirming it leaves that change unsaved.
    await api.save(id);
    const unit = (await api.units(id)).ids[0];
    await api.labelUnit(id, unit, "rgc");
    const later = await api.confirmDownload(id);
    expect(later.changedSince).toBe(true);
    expect(later.summary.saveState).toBe("SAVED");
    expect(later.summary.hasUnsavedChanges).toBe(true);
    await api.closeSession(id);
  });
});
