/** A session whose arrays went to the scratch store saves and loads exactly as one held in memory. */
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray } from "../../src/core/ndarray.ts";
import { spikeTimesArray } from "../../src/core/memoryBudget.ts";
import { SpillStore } from "../../src/core/spillStore.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { nodeScratchBytes } from "../../src/io/nodeScratchBytes.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";

let rt: H5Runtime;
let dir: string;
beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-spilled-"));
});

function sessionWithStacks(seed: number) {
  const session = randomSession({ units: 12, maxSpikes: 40_000, seed, now: fakeClock() });
  for (const unit of session.units.values()) {
    const stack = Float64Array.from({ length: 30 * 40 * 40 }, (_, i) => Math.sin(i + unit.attrs.unit_num));
    session.addFeature(unit.id, "eimage_sta", new NDArray(stack, [30, 40, 40]));
  }
  return session;
}

describe("a spilled session", () => {
  it("saves, in slices, the same session as the one held in memory, and the scratch file leaves no trace", () => {
    const scratchParent = mkdtempSync(join(tmpdir(), "hdmea-scratch-parent-"));
    const inMemory = sessionWithStacks(3);
    const spilled = sessionWithStacks(3);
    const store = new SpillStore(nodeScratchBytes(scratchParent), 1 << 20);
    spilled.setMemoryBudget({ store, budgetBytes: 1e6 });
    const bytes = spilled.arrayBytes();
    expect(bytes.resident).toBeLessThanOrEqual(0.75e6);
    expect(bytes.spilled).toBeGreaterThan(3e6);
    expect(spikeTimesArray([...spilled.units.values()].find((u) => u.spikeTimes.length > 20_000)!).isSpilled).toBe(true);
    expect(readdirSync(scratchParent)).toEqual([]); // unlinked while open

    // Small slices, so the spilled arrays take the chunked, slice-by-slice path.
    const write = { sliceBytes: 64 << 10 };
    saveSession(rt, inMemory, join(dir, "memory.h5"), { write });
    saveSession(rt, spilled, join(dir, "spilled.h5"), { write });
    expect(spilled.isSaved).toBe(true);
    expect(spilled.arrayBytes()).toEqual(bytes); // saving reads the store, it does not bring arrays back

    const a = loadSession(rt, join(dir, "memory.h5")).session;
    const b = loadSession(rt, join(dir, "spilled.h5")).session;
    // The only difference: the spilled session says that it spilled.
    expect(sessionDiff(a, b)).toEqual(["warnings"]);
    expect(b.warnings.at(-1)!.message).toMatch(/memory budget: \d+ array\(s\) .* moved to a scratch file in a temporary file in /);
    expect(sessionDiff(inMemory, b).filter((d) => d !== "warnings")).toEqual([]);
    store.close();
    expect(() => spilled.arrayBytes()).not.toThrow();
  });
});
