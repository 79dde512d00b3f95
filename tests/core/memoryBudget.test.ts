import { describe, expect, it } from "vitest";
import { NDArray } from "../../src/core/ndarray.ts";
import { PipelineSession, unitIdFor } from "../../src/core/session.ts";
import { SpillStore, type ScratchBytes } from "../../src/core/spillStore.ts";
import { MIN_SPILL_BYTES, defaultMemoryBudgetBytes, spikeCountOf, spikeTimesArray } from "../../src/core/memoryBudget.ts";
import { summarizeSession } from "../../src/core/sessionSummary.ts";

/** An in-memory scratch file that counts reads, so tests see when the store goes to "disk". */
function memoryScratch(): ScratchBytes & { bytes: Uint8Array; reads: number; closed: boolean } {
  const file = {
    location: "test memory",
    bytes: new Uint8Array(0),
    reads: 0,
    closed: false,
    write(data: Uint8Array, position: number) {
      if (position + data.length > file.bytes.length) {
        const grown = new Uint8Array(Math.max(position + data.length, 2 * file.bytes.length));
        grown.set(file.bytes);
        file.bytes = grown;
      }
      file.bytes.set(data, position);
    },
    read(into: Uint8Array, position: number) {
      file.reads++;
      if (position + into.length > file.bytes.length) throw new Error("short read");
      into.set(file.bytes.subarray(position, position + into.length));
    },
    close() {
      file.closed = true;
    },
  };
  return file;
}

/** Byte equality: vitest's deep equality walks typed arrays element by element, slowly. */
const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const ramp = (n: number) => Float64Array.from({ length: n }, (_, i) => i * 0.5);

describe("SpillStore", () => {
  it("gives back exactly the bytes it was given, whole or in part", () => {
    const store = new SpillStore(memoryScratch());
    const a = store.put(ramp(1000));
    const b = store.put(BigInt64Array.of(-1n, 2n, 3n));
    expect(Array.from(store.read(a) as Float64Array)).toEqual(Array.from(ramp(1000)));
    expect(Array.from(store.read(b) as BigInt64Array)).toEqual([-1n, 2n, 3n]);
    const part = new Float64Array(10);
    store.readBytes(a, 100 * 8, new Uint8Array(part.buffer));
    expect(Array.from(part)).toEqual(Array.from(ramp(1000).subarray(100, 110)));
    expect(() => store.readBytes(b, 16, new Uint8Array(16))).toThrow(/outside an array of 24/);
    expect(store.liveBytes).toBe(8000 + 24);
  });

  it("serves repeated reads from its cache and evicts the least recently used past its limit", () => {
    const file = memoryScratch();
    const store = new SpillStore(file, 10_000);
    const a = store.put(ramp(1000)); // 8000 bytes
    const b = store.put(ramp(1000));
    store.read(a);
    store.read(a);
    expect(file.reads).toBe(1);
    store.read(b); // 16000 > 10000: a goes
    store.read(b);
    expect(file.reads).toBe(2);
    store.read(a);
    expect(file.reads).toBe(3);
  });

  it("refuses reads once closed, naming where it was", () => {
    const file = memoryScratch();
    const store = new SpillStore(file);
    const a = store.put(ramp(10));
    store.close();
    expect(file.closed).toBe(true);
    expect(() => store.read(a)).toThrow(/scratch store in test memory is closed/);
  });
});

function bigUnitSession(units: number, spikes: number, stackBytes: number): PipelineSession {
  const session = new PipelineSession("budget", { memoryWarningBytes: Number.POSITIVE_INFINITY });
  session.addStimulus({ light_reference: { raw_ch1: new NDArray(ramp(stackBytes / 8)) } });
  for (let u = 1; u <= units; u++) {
    session.addUnits([
      {
        id: unitIdFor(u),
        attrs: { row: 1, col: u, global_id: u, unit_num: u, original_name: `Unit_${u}` },
        spikeTimes: BigUint64Array.from({ length: spikes }, (_, i) => BigInt(i * 40 + u)),
        children: { features: { eimage_sta: { data: new NDArray(ramp(stackBytes / 8).map((x) => x + u), [stackBytes / 800, 100]) } } },
      },
    ]);
  }
  return session;
}

describe("memory budget", () => {
  it("moves the largest arrays out past the budget, keeps every value readable, and says what moved", () => {
    const session = bigUnitSession(20, 20_000, 400_000); // per unit: 160 kB spikes + 400 kB STA
    const before = session.arrayBytes();
    const reference = [...session.units.values()].map((u) => ({ spikes: u.spikeTimes.slice(), sta: (u.children.features as never as { eimage_sta: { data: NDArray } }).eimage_sta.data.data.slice() }));
    expect(before.spilled).toBe(0);
    const file = memoryScratch();
    const store = new SpillStore(file);
    session.setMemoryBudget({ store, budgetBytes: 4e6 });

    const after = session.arrayBytes();
    expect(after.resident).toBeLessThanOrEqual(0.75 * 4e6);
    expect(after.resident + after.spilled).toBe(before.resident + before.spilled);
    expect(session.memoryEstimateBytes()).toBe(after.resident);
    // Largest first: the 400 kB stacks went before any 160 kB spike train.
    const message = session.warnings.at(-1)!.message;
    expect(message).toMatch(/passed its 4\.00 MB memory budget: \d+ array\(s\) \([\d.]+ MB; largest stimulus\/light_reference\/raw_ch1, units\/unit_\d+\/features\/eimage_sta\/data/);
    expect(message).toContain("test memory");

    [...session.units.values()].forEach((u, i) => {
      expect(spikeCountOf(u)).toBe(20_000);
      expect(sameBytes(u.spikeTimes, reference[i].spikes)).toBe(true);
      const sta = (u.children.features as never as { eimage_sta: { data: NDArray } }).eimage_sta.data;
      expect(sameBytes(sta.data, reference[i].sta)).toBe(true);
      expect(sta.shape).toEqual([500, 100]);
    });
    const summary = summarizeSession(session);
    expect(summary.spilledBytes).toBe(after.spilled);
    expect(summary.memoryBudgetBytes).toBe(4e6);
    expect(summary.spikeCount).toBe(20 * 20_000);
  });

  it("spills a unit's spike train and lets a new one replace it in memory", () => {
    const session = bigUnitSession(4, 100_000, 8000); // spike trains (800 kB) are the big arrays here
    const store = new SpillStore(memoryScratch());
    session.setMemoryBudget({ store, budgetBytes: 1e6 });
    const unit = session.getUnit("unit_001");
    expect(spikeTimesArray(unit).isSpilled).toBe(true);
    const sliced = new BigUint64Array(5);
    spikeTimesArray(unit).bytesAt(8 * 10, new Uint8Array(sliced.buffer));
    expect(Array.from(sliced)).toEqual([401n, 441n, 481n, 521n, 561n]);
    const live = store.liveBytes;
    unit.spikeTimes = BigUint64Array.of(1n, 2n);
    expect(spikeTimesArray(unit).isSpilled).toBe(false);
    expect(spikeCountOf(unit)).toBe(2);
    expect(store.liveBytes).toBe(live - 800_000);
  });

  it("keeps the change and the arrays in memory when the scratch file fails, and says so once", () => {
    const file = memoryScratch();
    let writes = 0;
    const write = file.write.bind(file);
    file.write = (bytes, position) => {
      if (++writes > 2) throw new Error("QuotaExceededError: storage is full");
      write(bytes, position);
    };
    const session = bigUnitSession(2, 100, 400_000);
    session.setMemoryBudget({ store: new SpillStore(file), budgetBytes: 100_000 });
    session.addFeature("unit_001", "more", new NDArray(ramp(50_000)));
    session.addFeature("unit_002", "more", new NDArray(ramp(50_000)));
    expect(session.getUnit("unit_002").children.features).toHaveProperty("more");
    const failures = session.warnings.filter((w) => w.message.includes("could not be moved"));
    expect(failures).toHaveLength(1);
    expect(failures[0].message).toContain("storage is full");
    const bytes = session.arrayBytes();
    expect(bytes.resident).toBeGreaterThan(100_000);
    expect(bytes.spilled).toBeLessThanOrEqual(800_000); // only what was written before the failure
    // Every array reads back, moved or not.
    for (const unit of session.units.values()) {
      const features = unit.children.features as never as Record<string, { data: NDArray }>;
      for (const { data } of Object.values(features)) {
        const values = data.data as Float64Array;
        expect(values.length).toBe(data.byteLength / 8);
        expect(values.at(-1)! - values.at(-2)!).toBe(0.5); // a ramp, not zeros
      }
    }
  });

  it("applies the budget once at the end of a batch that passed it, to everything the batch added", () => {
    const session = bigUnitSession(10, 100, 8000);
    const store = new SpillStore(memoryScratch());
    session.setMemoryBudget({ store, budgetBytes: 1e6 });
    expect(store.liveBytes).toBe(0);
    session.batch(() => {
      for (const id of session.units.keys()) session.addFeature(id, "sta", new NDArray(ramp(25_000))); // 200 kB each
      expect(store.liveBytes).toBe(0); // nothing moves while the step commits
    });
    const bytes = session.arrayBytes();
    expect(bytes.resident).toBeLessThanOrEqual(0.75 * 1e6);
    expect(bytes.spilled).toBe(store.liveBytes);
    expect(bytes.resident + bytes.spilled).toBe(10 * (800 + 8000 + 200_000) + 8000);
    expect(session.warnings.filter((w) => w.message.includes("passed its 1.00 MB memory budget"))).toHaveLength(1);
  });

  it("counts and moves an array held at several places once (frif's x axis in every unit)", () => {
    const session = bigUnitSession(10, 10, 8_000);
    const axis = new NDArray(ramp(100_000)); // 800 kB, the same object in every unit
    const values = axis.data.slice();
    for (const unit of session.units.values()) session.addFeature(unit.id, "frif", { FRIF_x_axis: axis });
    const bytes = session.arrayBytes();
    expect(bytes.resident).toBeLessThan(axis.byteLength + 10 * (8_000 + 80 + 8_000) + 1_000);
    const store = new SpillStore(memoryScratch());
    session.setMemoryBudget({ store, budgetBytes: 500_000 });
    expect(axis.isSpilled).toBe(true);
    expect(session.arrayBytes().spilled).toBe(axis.byteLength);
    for (const unit of session.units.values()) {
      const frif = (unit.children.features as never as { frif: { data: { FRIF_x_axis: NDArray } } }).frif.data;
      expect(frif.FRIF_x_axis).toBe(axis);
      expect(sameBytes(frif.FRIF_x_axis.data, values)).toBe(true);
    }
  });

  it("leaves small arrays and sessions within budget alone", () => {
    const session = bigUnitSession(3, 100, MIN_SPILL_BYTES / 2);
    const store = new SpillStore(memoryScratch());
    session.setMemoryBudget({ store, budgetBytes: 1 }); // over budget, but nothing is big enough to move
    expect(session.arrayBytes().spilled).toBe(0);
    expect(store.liveBytes).toBe(0);
  });

  it("names what was spilled in the warning threshold's message", () => {
    const session = bigUnitSession(10, 10_000, 400_000);
    session.setMemoryBudget({ store: new SpillStore(memoryScratch()), budgetBytes: 1e6 });
    session.memoryWarningBytes = 1e6;
    session.addMetadata({ note: "x" });
    expect(session.warnings.at(-1)!.message).toMatch(/holds 0\.\d+ GB \([\d.]+ kB in memory, [\d.]+ MB spilled to test memory\), above the 0\.00 GB warning threshold/);
  });

  it("defaults to half the memory the platform reports, else 4 GB", () => {
    expect(defaultMemoryBudgetBytes({ deviceMemoryGb: 8 })).toBe(4 * 2 ** 30);
    expect(defaultMemoryBudgetBytes({ jsHeapLimitBytes: 3e9 })).toBe(3e9);
    expect(defaultMemoryBudgetBytes({ totalMemoryBytes: 24e9, jobs: 4 })).toBe(3e9);
    expect(defaultMemoryBudgetBytes({})).toBe(4e9);
  });
});
