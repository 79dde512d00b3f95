/**
 * One normal test per reader bug the fuzz test found (readers.fuzz.test.ts), each with the input
 * that showed it, rebuilt deterministically here.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray } from "../../src/core/ndarray.ts";
import { openH5, type H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { MCS_TYPE_ID } from "../../src/io/mcs/mcsNames.ts";
import { loadRecording } from "../../src/io/mcs/openRecording.ts";
import { readSessionFile } from "../../src/io/sessionFile.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";

let rt: H5Runtime;
let dir: string;
let good: string;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-fuzzreg-"));
  good = join(dir, "good.h5");
  saveSession(rt, randomSession({ units: 3, maxSpikes: 20, seed: 5, now: fakeClock() }), good);
});

function patched(name: string, from: string, patch: (bytes: Uint8Array) => void): string {
  const bytes = new Uint8Array(readFileSync(from));
  patch(bytes);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function indexOf(bytes: Uint8Array, text: string, from = 0): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(text, from, "latin1");
}

/** The 8-byte little-endian `value` everywhere in `bytes` → `replacement` (dimension sizes). */
function replaceLength(bytes: Uint8Array, value: number, replacement: bigint): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let count = 0;
  for (let i = 0; i + 8 <= bytes.length; i++) {
    if (dv.getBigUint64(i, true) === BigInt(value)) {
      dv.setBigUint64(i, replacement, true);
      count++;
    }
  }
  return count;
}

/** Rewrites a file with version-1 object headers (no checksums), as MCS-era writers do. */
function earliest(path: string): string {
  const out = path.replace(/(-?\.\w+)$/, "-v1$1");
  const run = spawnSync("/usr/bin/python3", [join(import.meta.dirname, "to_earliest.py"), path, out], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(run.stderr);
  return out;
}

function stillReadsGoodFiles(): void {
  expect(readSessionFile(rt, good).session.unitCount).toBe(3);
}

describe("reader bugs found by fuzzing", () => {
  it("a global heap free-space entry of size 0 (session:68, 'copy 959 bytes from 8413 over 2563') no longer hangs HDF5", () => {
    // The last object of the string heap turned into a free-space entry (index 0) of size 0: HDF5's
    // heap walk never advanced, and every string read of the file hung (h5py too).
    const path = patched("heap0.h5", good, (bytes) => {
      const heap = indexOf(bytes, "GCOL");
      const dv = new DataView(bytes.buffer);
      let p = heap + 16;
      for (let k = 0; k < 3; k++) p += 16 + Math.ceil(Number(dv.getBigUint64(p + 8, true)) / 8) * 8;
      bytes.fill(0, p, p + 16);
    });
    const t0 = performance.now();
    expect(() => loadSession(rt, path)).toThrow(/^heap0\.h5: damaged string storage \(global heap at byte \d+: object 3 \(index 0\) has size 0\)/);
    expect(performance.now() - t0).toBeLessThan(2000);
    stillReadsGoodFiles();
  });

  it("damage met after opening gives one line naming the file, not HDF5's multi-line stack (session:1, cmtr:2, …)", () => {
    // Any object header after the root: its checksum no longer matches.
    const path = patched("badheader.h5", good, (bytes) => {
      const header = indexOf(bytes, "OHDR", indexOf(bytes, "OHDR", indexOf(bytes, "OHDR") + 1) + 1);
      bytes[header + 8] ^= 0xff;
    });
    let message = "";
    try {
      loadSession(rt, path);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^badheader\.h5: cannot read the session \(.+\); the file may be truncated or damaged$/);
    expect(message).not.toMatch(/HDF5-DIAG|\n/);
    stillReadsGoodFiles();
  });

  // HDF5 itself refuses a contiguous dataset whose size exceeds its storage; a chunked one with
  // unwritten chunks is valid (fill values), so only the reader's own check stops these two.
  it("a chunked dataset shape claiming 10^12 elements is refused before anything is allocated", () => {
    const s = randomSession({ units: 1, maxSpikes: 5, seed: 6, now: fakeClock() });
    s.addMetadata({ probe: new NDArray(new Uint8Array(77777)) });
    const source = join(dir, "probe.h5");
    saveSession(rt, s, source, { write: { sliceBytes: 4096 } }); // chunked
    const path = patched("huge.h5", earliest(source), (bytes) => expect(replaceLength(bytes, 77777, 10n ** 12n)).toBeGreaterThan(0));
    expect(() => loadSession(rt, path)).toThrow(
      /^huge\.h5: \/metadata\/probe claims \[1000000000000\] × 1 bytes \(1000\.0 GB\), more than a [\d.]+ kB file can hold; the file may be damaged$/,
    );
    stillReadsGoodFiles();
  });

  it("a chunked Peaks table claiming 10^12 rows is refused before anything is allocated", () => {
    const source = join(dir, "rows-.cmtr");
    const file = openH5(rt, source, "w");
    file.create_attribute("ID.Type", "CMOS-MEA Spike Sorting");
    file.create_attribute("ID.TypeID", MCS_TYPE_ID.cmosMeaFile);
    const unit = file.create_group("Spike Sorter").create_group("Unit 1");
    unit.create_attribute("ID.TypeID", MCS_TYPE_ID.spikeSorterUnit);
    const n = 3001;
    unit.create_dataset({
      name: "Peaks",
      data: new Map<string, unknown>([["Timestamp", new BigInt64Array(n).fill(5n)], ["PeakAmplitude", new Float32Array(n)], ["IncludePeak", new Int32Array(n)]]) as never,
      dtype: [["Timestamp", "<q"], ["PeakAmplitude", "<f"], ["IncludePeak", "<i"]],
      chunks: [1000],
      maxshape: [null],
    });
    file.close();
    const path = patched("rows-v1x-.cmtr", earliest(source), (bytes) => expect(replaceLength(bytes, n, 10n ** 12n)).toBeGreaterThan(0));
    expect(() => loadRecording(rt, { cmtrPath: path })).toThrow(/^rows-v1x-\.cmtr: \/Spike Sorter\/Unit 1\/Peaks claims 1000000000000 peaks of 16 bytes/);
    stillReadsGoodFiles();
  });
});
