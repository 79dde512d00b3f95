/**
 * Source-backed arrays: a pair opened with its Peaks columns and raw light reference left in the
 * files saves exactly what a fully decoded one saves, and a source that is gone or changed stops the
 * save with nothing written.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, isTree, type Tree } from "../../src/core/ndarray.ts";
import { closeSources, sourcesInUse } from "../../src/core/sessionSources.ts";
import type { PipelineSession } from "../../src/core/session.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { loadRecording } from "../../src/io/mcs/openRecording.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";

let rt: H5Runtime;
let dir: string;
let gen: GeneratedRecording;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-sources-"));
  gen = writeRecordingPair(rt, { dir, name: "2024.08.08-10.40.20-Rec", units: 5, minutes: 0.2, seed: 5, silentUnits: 1 });
}, 60_000);

/** A private copy of the pair, so a test can move or rewrite it. */
function copyPair(tag: string): { cmcrPath: string; cmtrPath: string } {
  const sub = mkdtempSync(join(dir, `${tag}-`));
  const cmcrPath = join(sub, "2024.08.08-10.40.20-Rec.cmcr");
  const cmtrPath = join(sub, "2024.08.08-10.40.20-Rec-.cmtr");
  copyFileSync(gen.cmcrPath, cmcrPath);
  copyFileSync(gen.cmtrPath, cmtrPath);
  return { cmcrPath, cmtrPath };
}

function peaksData(session: PipelineSession, id: string): Tree {
  const meta = session.getUnit(id).children.unit_meta;
  if (!isTree(meta) || !isTree(meta.peaks_data)) throw new Error("no peaks_data");
  return meta.peaks_data;
}

/** Content differences, leaving out the clock (creation, step and warning times). */
function contentDiff(a: PipelineSession, b: PipelineSession): string[] {
  const timed = new Set(["createdAt", "completedSteps", "warnings"]);
  const diffs = sessionDiff(a, b).filter((d) => !timed.has(d));
  if (JSON.stringify(a.completedSteps.map((s) => [s.name, s.params])) !== JSON.stringify(b.completedSteps.map((s) => [s.name, s.params]))) diffs.push("steps");
  if (JSON.stringify(a.warnings.map((w) => w.message)) !== JSON.stringify(b.warnings.map((w) => w.message))) diffs.push("warning messages");
  return diffs;
}

describe("a recording opened with its columns left in the files", () => {
  it("holds the peaks_data columns and the raw light reference as references, and reads them as the decoded open does", () => {
    const lazy = loadRecording(rt, gen);
    const full = loadRecording(rt, gen, { keepInFiles: false });
    try {
      const columns = Object.values(peaksData(lazy, "unit_001")) as NDArray[];
      expect(columns).toHaveLength(3 + gen.cutoutLength);
      expect(columns.every((c) => !c.isResident && !c.isSpilled && c.source?.name === "2024.08.08-10.40.20-Rec-.cmtr")).toBe(true);
      const light = lazy.stimulus.light_reference as Tree;
      expect((light.raw_ch1 as NDArray).source?.name).toBe("2024.08.08-10.40.20-Rec.cmcr");
      expect((light.raw_ch2 as NDArray).isResident).toBe(false);
      expect((light["10hz_ch1"] as NDArray).isResident).toBe(true); // computed, so in memory
      expect((Object.values(peaksData(full, "unit_001")) as NDArray[]).every((c) => c.isResident && !c.source)).toBe(true);

      // What stays in the files is counted apart from memory, and is most of the session.
      const lazyBytes = lazy.arrayBytes();
      const fullBytes = full.arrayBytes();
      expect(lazyBytes.resident + lazyBytes.inSources!).toBe(fullBytes.resident);
      expect(lazyBytes.inSources!).toBeGreaterThan(lazyBytes.resident);
      expect(sourcesInUse(lazy).map((s) => s.name).sort()).toEqual(["2024.08.08-10.40.20-Rec-.cmtr", "2024.08.08-10.40.20-Rec.cmcr"]);
      expect(contentDiff(full, lazy)).toEqual([]);
    } finally {
      closeSources(lazy);
    }
  });

  for (const [label, sliceBytes] of [["contiguous", undefined], ["in slices", 64 << 10]] as const) {
    it(`saves the same file as the decoded open (${label})`, () => {
      const lazy = loadRecording(rt, gen);
      const full = loadRecording(rt, gen, { keepInFiles: false });
      const write = sliceBytes ? { sliceBytes } : undefined;
      const a = join(dir, `full-${label}.h5`);
      const b = join(dir, `lazy-${label}.h5`);
      saveSession(rt, full, a, { write });
      saveSession(rt, lazy, b, { write });
      closeSources(lazy);
      // Every byte in the layout is the same apart from the times in the attributes.
      expect(statSync(b).size).toBe(statSync(a).size);
      const backA = loadSession(rt, a).session;
      const backB = loadSession(rt, b).session;
      expect(contentDiff(backA, backB)).toEqual([]);
      expect(contentDiff(full, backB)).toEqual([]);
    });
  }

  it("a closed session's arrays say so instead of reading a file it no longer holds", () => {
    const lazy = loadRecording(rt, gen);
    closeSources(lazy);
    expect(() => (peaksData(lazy, "unit_001").timestamp as NDArray).data).toThrow(/2024\.08\.08-10\.40\.20-Rec-\.cmtr: .*closed/);
  });
});

describe("a source that is gone or changed", () => {
  const changes: [string, (paths: { cmcrPath: string; cmtrPath: string }) => string, RegExp][] = [
    ["rewritten (new modification time)", (p) => (utimesSync(p.cmtrPath, new Date(), new Date(Date.now() + 5000)), p.cmtrPath), /Rec-\.cmtr changed since it was opened: last modified .*, now /],
    ["grown", (p) => (appendFileSync(p.cmcrPath, Buffer.alloc(10)), p.cmcrPath), /Rec\.cmcr changed since it was opened: its size went from \d+ to \d+ bytes/],
    ["moved away", (p) => (renameSync(p.cmtrPath, `${p.cmtrPath}.moved`), p.cmtrPath), /Rec-\.cmtr can no longer be read: it was moved, deleted or changed/],
  ];
  for (const [what, change, message] of changes) {
    it(`${what}: the save stops naming the file, writes nothing, and the session keeps everything`, () => {
      const paths = copyPair(what.split(" ")[0]);
      const session = loadRecording(rt, paths);
      const target = join(dir, `${what.split(" ")[0]}.h5`);
      writeFileSync(target, "the previous file");
      const before = { warnings: session.warnings.length, unsaved: session.hasUnsavedChanges };
      const changed = change(paths);
      expect(() => saveSession(rt, session, target, { overwrite: true })).toThrow(message);
      expect(readFileSync(target, "utf8")).toBe("the previous file");
      expect(session.warnings.length).toBe(before.warnings);
      expect(session.hasUnsavedChanges).toBe(before.unsaved);
      // A read by a step stops the same way (the save above read nothing).
      const read = changed.endsWith(".cmcr") ? (session.stimulus.light_reference as Tree).raw_ch1 : peaksData(session, "unit_002")["cutout 3"];
      expect(() => (read as NDArray).data).toThrow(message);

      // Put back as it was, the file is the source again and the save goes through.
      if (what.startsWith("moved")) renameSync(`${changed}.moved`, changed);
      else copyFileSync(changed.endsWith(".cmcr") ? gen.cmcrPath : gen.cmtrPath, changed);
      if (what.startsWith("rewritten")) {
        const original = statSync(gen.cmtrPath);
        utimesSync(changed, original.atime, original.mtime);
      }
      if (what.startsWith("grown")) utimesSync(changed, statSync(gen.cmcrPath).atime, statSync(gen.cmcrPath).mtime);
      closeSources(session);
      expect(existsSync(`${target}.tmp`)).toBe(false);
    });
  }
});
