/**
 * Session files open lazily: big arrays stay in the file they were read from and are read when
 * used. A lazily opened session holds the same values as one read whole, saves the same file (to a
 * new path and over the very file it reads from), and a file changed under it is refused by name.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, renameSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, isTree, treeEquals, type Tree, type TreeNode } from "../../src/core/ndarray.ts";
import { closeSources, sourcesInUse } from "../../src/core/sessionSources.ts";
import { deferredAt } from "../../src/core/deferredGroup.ts";
import { heldArrayOf, lastSpikeOf, spikeCountOf } from "../../src/core/memoryBudget.ts";
import type { PipelineSession } from "../../src/core/session.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { loadRecording } from "../../src/io/mcs/openRecording.ts";
import { checkpointSession, loadSession, saveSession, startImmediateMode } from "../../src/io/sessionStore.ts";
import type { H5SourceFile } from "../../src/io/sourceFile.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";

const COMPARE = join(import.meta.dirname, "../../scripts/compare-sessions.py");
/** Small enough that this small session leaves most of its arrays in the file. */
const KEEP = 512;
/** Lazy as a big file opens: arrays of `KEEP` bytes and more, and the groups below the top ones, stay in the file. */
const LAZY = { keepInFile: KEEP, deferGroups: true };

let rt: H5Runtime;
let dir: string;
let gen: GeneratedRecording;
/** The session file every test starts from, written from a fully decoded recording. */
let original: string;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-lazy-"));
  gen = writeRecordingPair(rt, { dir, name: "2024.08.08-10.40.20-Rec", units: 5, minutes: 0.2, seed: 9, silentUnits: 1 });
  const session = loadRecording(rt, gen, { keepInFiles: false });
  original = join(dir, "original.h5");
  saveSession(rt, session, original);
}, 60_000);

/** A private copy of the session file, so a test can save over it or change it. */
function copyOf(tag: string): string {
  const path = join(dir, `${tag}.h5`);
  copyFileSync(original, path);
  return path;
}

/** Every array of the session, with its place in the layout. */
function arrays(session: PipelineSession): [string, NDArray][] {
  const found: [string, NDArray][] = [];
  const visit = (node: TreeNode, at: string): void => {
    if (node instanceof NDArray) found.push([at, node]);
    else if (isTree(node)) for (const [k, v] of Object.entries(node)) visit(v, `${at}/${k}`);
  };
  visit(session.metadata, "metadata");
  visit(session.stimulus, "stimulus");
  for (const unit of session.units.values()) visit(unit.children, `units/${unit.id}`);
  return found;
}

/** The arrays under one tree (reading only its groups). */
function arraysUnder(tree: Tree): NDArray[] {
  const found: NDArray[] = [];
  const visit = (node: TreeNode): void => {
    if (node instanceof NDArray) found.push(node);
    else if (isTree(node)) Object.values(node).forEach(visit);
  };
  visit(tree);
  return found;
}

function sameContent(a: PipelineSession, b: PipelineSession): boolean {
  if (!treeEquals(a.metadata, b.metadata) || !treeEquals(a.stimulus, b.stimulus)) return false;
  if ([...a.units.keys()].join() !== [...b.units.keys()].join()) return false;
  for (const [id, unit] of a.units) {
    const other = b.units.get(id)!;
    if (!treeEquals(unit.children, other.children)) return false;
    if (!treeEquals(new NDArray(unit.spikeTimes), new NDArray(other.spikeTimes))) return false;
  }
  return true;
}

/** h5py reads both files and finds the same layout, dtypes, chunking and values (save times aside). */
function h5pySame(a: string, b: string): string {
  const run = spawnSync("/usr/bin/python3", [COMPARE, a, b], { encoding: "utf8" });
  return run.status === 0 ? "same" : `${run.stdout}${run.stderr}`;
}

describe("a session file opened lazily", () => {
  it("leaves its big arrays in the file and holds the values an eager read holds", () => {
    const lazy = loadSession(rt, original, LAZY).session;
    const eager = loadSession(rt, original, { keepInFile: false }).session;
    try {
      const left = arrays(lazy).filter(([, a]) => a.source);
      expect(left.length).toBeGreaterThan(10);
      expect(left.every(([, a]) => !a.isResident && a.byteLength >= KEEP && a.source!.name === "original.h5")).toBe(true);
      expect(arrays(eager).every(([, a]) => a.isResident)).toBe(true);
      expect(lazy.arrayBytes().inSources).toBe(left.reduce((n, [, a]) => n + a.byteLength, 0));
      expect(sameContent(lazy, eager)).toBe(true);
      // A slice of a column reads only that part, and gives the same bytes.
      const [at, column] = left.find(([path]) => path.includes("peaks_data"))!;
      const decoded = new Map(arrays(eager)).get(at)!.data;
      const slice = column.bytesAt(6, new Uint8Array(9));
      expect([...slice]).toEqual([...new Uint8Array(decoded.buffer, decoded.byteOffset + 6, 9)]);
    } finally {
      closeSources(lazy);
    }
  });

  it("reads each unit's groups, spike train and rate only when something uses them", () => {
    const keep = 128;
    const lazy = loadSession(rt, original, { keepInFile: keep, deferGroups: true }).session;
    const eager = loadSession(rt, original, { keepInFile: false }).session;
    try {
      // The busiest unit: its train is big enough to stay in the file.
      const busiest = [...eager.units.values()].sort((a, b) => b.spikeTimes.length - a.spikeTimes.length)[0];
      expect(busiest.spikeTimes.byteLength).toBeGreaterThanOrEqual(keep);
      const unit = lazy.units.get(busiest.id)!;
      const other = eager.units.get(busiest.id)!;
      expect(Object.keys(unit.children).sort()).toEqual(Object.keys(other.children).sort());
      const unread = Object.keys(unit.children).filter((key) => deferredAt(unit.children, key));
      expect(unread).toContain("unit_meta");
      // Accounting for the session reads none of them, and counts what stays in the file.
      const bytes = lazy.arrayBytes();
      expect(sourcesInUse(lazy).map((s) => s.name)).toEqual(["original.h5"]);
      expect(unread.every((key) => deferredAt(unit.children, key))).toBe(true);
      expect(heldArrayOf(unit, "spikeTimes")?.source?.name).toBe("original.h5");
      expect(bytes.inSources).toBeGreaterThanOrEqual(unit.spikeTimes.byteLength);
      expect(spikeCountOf(unit)).toBe(other.spikeTimes.length);
      expect(lastSpikeOf(unit)).toBe(other.spikeTimes.at(-1));
      // The first use reads the group (one level: its own subgroups wait in turn) and keeps it.
      const meta = unit.children.unit_meta as Tree;
      expect(deferredAt(unit.children, "unit_meta")).toBeUndefined();
      expect(deferredAt(meta, "peaks_data")).toBeDefined();
      expect(treeEquals(meta, other.children.unit_meta)).toBe(true);
      expect(unit.children.unit_meta).toBe(meta);
      // A write replaces a group not read yet without reading it.
      const second = [...lazy.units.values()].find((u) => u !== unit)!;
      second.children.unit_meta = { replaced: "yes" };
      expect(second.children.unit_meta).toEqual({ replaced: "yes" });
    } finally {
      closeSources(lazy);
    }
  });

  it("by default leaves only arrays of 16 kB and more, and none of a small session", () => {
    const session = loadSession(rt, original).session;
    // A small file is read whole but for its big arrays: no group waits in it.
    expect([...session.units.values()].every((u) => Object.keys(u.children).every((key) => !deferredAt(u.children, key)))).toBe(true);
    expect(arrays(session).filter(([, a]) => a.source).every(([, a]) => a.byteLength >= 16 << 10)).toBe(true);
    closeSources(session);
  });

  for (const [label, write] of [["whole", undefined], ["in slices", { sliceBytes: 1000 }]] as const) {
    it(`saves to a new path the file an eager open saves (${label})`, () => {
      const lazy = loadSession(rt, original, LAZY).session;
      const eager = loadSession(rt, original, { keepInFile: false }).session;
      const out = join(dir, `from-lazy-${label}.h5`);
      const reference = join(dir, `from-eager-${label}.h5`);
      saveSession(rt, lazy, out, { write });
      saveSession(rt, eager, reference, { write });
      closeSources(lazy);
      expect(h5pySame(reference, out)).toBe("same");
      if (!write) expect(h5pySame(original, out)).toBe("same");
    });
  }

  it("saves over the very file it reads from: the same file, and the session then reads the new one", () => {
    const path = copyOf("over-itself");
    const eager = loadSession(rt, original, { keepInFile: false }).session;
    const lazy = loadSession(rt, path, LAZY).session;
    const before = sourcesInUse(lazy) as H5SourceFile[];
    expect(before.map((s) => s.name)).toEqual(["over-itself.h5"]);

    // What an eager session writes over a file of that name (the overwrite warning names it).
    const reference = join(mkdtempSync(join(dir, "ref-")), "over-itself.h5");
    copyFileSync(original, reference);
    saveSession(rt, loadSession(rt, reference, { keepInFile: false }).session, reference, { overwrite: true });

    saveSession(rt, lazy, path, { overwrite: true });
    expect(h5pySame(reference, path)).toBe("same");
    expect(readdirSync(dir).filter((n) => n.includes(".partial-"))).toEqual([]);
    // The old file is closed; the arrays read the new one, whose size and time the check now expects.
    const after = sourcesInUse(lazy) as H5SourceFile[];
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    expect(() => before[0].check()).toThrow(/closed/);
    expect(() => after[0].check()).not.toThrow();
    expect(sameContent(lazy, eager)).toBe(true);

    // Again (the new file is the source now), and as a checkpoint over it.
    saveSession(rt, lazy, path, { overwrite: true, write: { sliceBytes: 1000 } });
    checkpointSession(rt, lazy, path);
    expect(sameContent(lazy, eager)).toBe(true);
    expect(sameContent(loadSession(rt, path, { keepInFile: false }).session, eager)).toBe(true);
    // A change after that is still caught.
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(() => saveSession(rt, lazy, join(dir, "never.h5"))).toThrow(/over-itself\.h5 changed since it was opened: last modified/);
    closeSources(lazy);
  });

  it("writes through over the file it reads from in immediate mode", () => {
    const path = copyOf("immediate");
    const lazy = loadSession(rt, path, LAZY).session;
    const stop = startImmediateMode(rt, lazy, path, { overwrite: true });
    lazy.warn("a change, so immediate mode rewrites the file");
    lazy.warn("and another");
    stop();
    const eager = loadSession(rt, original, { keepInFile: false }).session;
    expect(sameContent(lazy, eager)).toBe(true);
    const back = loadSession(rt, path, { keepInFile: false }).session;
    expect(sameContent(back, eager)).toBe(true);
    expect(back.warnings.map((w) => w.message)).toContain("and another");
    closeSources(lazy);
  });

  it("refuses a file changed under it, naming it, and writes nothing", () => {
    const path = copyOf("changed");
    const lazy = loadSession(rt, path, LAZY).session;
    const unread = lazy.units.get("unit_002")!;
    expect(deferredAt(unread.children, "unit_meta")).toBeDefined();
    const column = arraysUnder(lazy.units.get("unit_001")!.children).find((a) => a.source)!;
    appendFileSync(path, Buffer.alloc(16));
    const out = join(dir, "changed-out.h5");
    expect(() => saveSession(rt, lazy, out)).toThrow(/^changed\.h5 changed since it was opened: its size went from \d+ to \d+ bytes; nothing was written/);
    expect(existsSync(out)).toBe(false);
    expect(() => column.data).toThrow(/changed\.h5 changed since it was opened/);
    // A group not read yet is not read from the changed file either.
    expect(() => unread.children.unit_meta).toThrow(/changed\.h5 changed since it was opened/);
    closeSources(lazy);
  });
});

describe("a source given back (re-attach)", () => {
  function pairCopy(tag: string): { cmcrPath: string; cmtrPath: string } {
    const sub = mkdtempSync(join(dir, `${tag}-`));
    const paths = { cmcrPath: join(sub, "2024.08.08-10.40.20-Rec.cmcr"), cmtrPath: join(sub, "2024.08.08-10.40.20-Rec-.cmtr") };
    copyFileSync(gen.cmcrPath, paths.cmcrPath);
    copyFileSync(gen.cmtrPath, paths.cmtrPath);
    return paths;
  }
  const cmtrSource = (session: PipelineSession) => (sourcesInUse(session) as H5SourceFile[]).find((s) => s.name.endsWith(".cmtr"))!;

  it("takes the same file back from its new place, and the save goes through", () => {
    const paths = pairCopy("moved");
    const session = loadRecording(rt, paths);
    const fullOut = join(dir, "moved-full.h5");
    saveSession(rt, loadRecording(rt, paths, { keepInFiles: false }), fullOut);
    renameSync(paths.cmtrPath, `${paths.cmtrPath}.moved`);
    expect(() => saveSession(rt, session, join(dir, "moved.h5"))).toThrow(/Rec-\.cmtr can no longer be read/);
    cmtrSource(session).reattach(`${paths.cmtrPath}.moved`);
    const out = join(dir, "moved.h5");
    saveSession(rt, session, out);
    closeSources(session);
    expect(h5pySame(fullOut, out)).toBe("same");
  });

  it("takes a copy with a new modification time (the same bytes)", () => {
    const paths = pairCopy("touched");
    const session = loadRecording(rt, paths);
    utimesSync(paths.cmtrPath, new Date(), new Date(Date.now() + 5000));
    expect(() => saveSession(rt, session, join(dir, "touched.h5"))).toThrow(/Rec-\.cmtr changed since it was opened: last modified/);
    cmtrSource(session).reattach(paths.cmtrPath);
    saveSession(rt, session, join(dir, "touched.h5"));
    expect(statSync(join(dir, "touched.h5")).size).toBeGreaterThan(0);
    closeSources(session);
  });

  it("refuses a different file, naming it and what differs, and keeps waiting for the original", () => {
    const paths = pairCopy("other");
    const session = loadRecording(rt, paths);
    const otherDir = mkdtempSync(join(dir, "other-rec-"));
    const other = writeRecordingPair(rt, { dir: otherDir, name: "2024.08.08-10.40.20-Rec", units: 6, minutes: 0.2, seed: 10 });
    renameSync(paths.cmtrPath, `${paths.cmtrPath}.moved`);
    const source = cmtrSource(session);
    expect(() => source.reattach(other.cmtrPath)).toThrow(/^2024\.08\.08-10\.40\.20-Rec-\.cmtr is not the file the session read as 2024\.08\.08-10\.40\.20-Rec-\.cmtr: (its size is \d+ bytes, the session read a file of \d+ bytes|.* rows, the session read \d+)/);
    // Still the moved one it waits for: the save stops as before, naming it.
    expect(() => saveSession(rt, session, join(dir, "other.h5"))).toThrow(/Rec-\.cmtr can no longer be read/);
    renameSync(`${paths.cmtrPath}.moved`, paths.cmtrPath);
    closeSources(session);
  });
});
