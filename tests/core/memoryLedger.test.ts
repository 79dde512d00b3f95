import { describe, expect, it } from "vitest";
import { NDArray, StringArray, isTree, type SourceFile, type Tree, type TreeNode } from "../../src/core/ndarray.ts";
import { PipelineSession, unitIdFor, type Unit } from "../../src/core/session.ts";
import { SpillStore, type ScratchBytes } from "../../src/core/spillStore.ts";
import { MIN_SPILL_BYTES, sessionArrayBytes, spikeTimesArray } from "../../src/core/memoryBudget.ts";
import { sparseArray } from "../../src/core/sparseArray.ts";
import { seededRandom } from "../fixtures/randomSession.ts";

function memoryScratch(): ScratchBytes {
  let bytes = new Uint8Array(0);
  return {
    location: "test memory",
    write(data, position) {
      if (position + data.length > bytes.length) {
        const grown = new Uint8Array(Math.max(position + data.length, 2 * bytes.length));
        grown.set(bytes);
        bytes = grown;
      }
      bytes.set(data, position);
    },
    read(into, position) {
      into.set(bytes.subarray(position, position + into.length));
    },
    close() {},
  };
}

const recording: SourceFile = { name: "rec-.cmtr", check() {}, close() {} };

/** An array left in a (pretend) source file. */
function inSource(values: Float64Array): NDArray {
  return NDArray.fromSource(
    {
      source: recording,
      dtype: "float64",
      byteLength: values.byteLength,
      read: () => values,
      readBytes: (at, into) => into.set(new Uint8Array(values.buffer, at, into.byteLength)),
      release() {},
    },
    [values.length],
  );
}

/** Every array of the session, each once. */
function allArrays(session: PipelineSession): NDArray[] {
  const found = new Set<NDArray>();
  const visit = (node: TreeNode | undefined) => {
    if (node instanceof NDArray) found.add(node);
    else if (isTree(node)) Object.values(node).forEach(visit);
  };
  visit(session.metadata);
  visit(session.stimulus);
  for (const unit of session.units.values()) {
    visit(unit.children);
    found.add(spikeTimesArray(unit));
  }
  return [...found];
}

/** `tree` behind a proxy that counts every look at a member (`reads`, reset by assigning 0). */
function watchedTree(tree: Tree): { tree: Tree; reads: number } {
  const watched = { tree, reads: 0 };
  watched.tree = new Proxy<Tree>(tree, {
    get: (target, key, receiver) => (watched.reads++, Reflect.get(target, key, receiver)),
    ownKeys: (target) => (watched.reads++, Reflect.ownKeys(target)),
  });
  return watched;
}

function plainUnit(n: number, children: Tree): Unit {
  return { id: unitIdFor(n), attrs: { row: 1, col: n, global_id: n, unit_num: n, original_name: `Unit_${n}` }, spikeTimes: new BigUint64Array(5), children };
}

const fullWalk = (s: PipelineSession) => sessionArrayBytes({ metadata: s.metadata, stimulus: s.stimulus, units: s.units.values() });

describe("the session's memory tally", () => {
  it("equals a walk of the whole session after any sequence of changes, spills and unspills", () => {
    const rand = seededRandom(18);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    // Sizes around MIN_SPILL_BYTES, so that some arrays spill and some stay.
    const values = () => new Float64Array(Math.floor(rand() * 2 * (MIN_SPILL_BYTES / 8))).fill(rand());
    // Left in a source file, packed as its nonzero entries (frif's rates), or plain in memory.
    const packed = () => {
      const length = Math.floor(rand() * 4 * MIN_SPILL_BYTES);
      const indices = Uint32Array.from(new Set(Array.from({ length: Math.floor(rand() * 50) }, () => Math.floor(rand() * length))), (i) => i).sort();
      return sparseArray(length, indices, new Float32Array(indices.length).fill(2));
    };
    const array = () => {
      const r = rand();
      return r < 0.2 ? inSource(values()) : r < 0.35 ? packed() : new NDArray(values());
    };
    const sharedAxis = new NDArray(values()); // frif's x axis: one object at many places
    const spikes = () => new BigUint64Array(Math.floor(rand() * 20_000)).fill(40n);
    const newUnit = (n: number): Unit => ({
      id: unitIdFor(n),
      attrs: { row: 1, col: n, global_id: n, unit_num: n, original_name: `Unit_${n}` },
      spikeTimes: spikes(),
      waveform: rand() < 0.5 ? new Float32Array(40) : undefined,
      children: { unit_meta: { peaks: array(), name: "x".repeat(Math.floor(rand() * 10)) } },
    });
    const session = new PipelineSession("ledger", { memoryWarningBytes: Number.POSITIVE_INFINITY });
    const store = new SpillStore(memoryScratch());
    let next = 1;
    const ids = () => [...session.units.keys()];

    const operations: [string, () => void][] = [
      ["add units", () => session.addUnits(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => newUnit(next++)))],
      ["merge a unit's spike train", () => ids().length && session.addUnits([{ ...session.getUnit(pick(ids())), spikeTimes: spikes(), children: {} }])],
      ["merge a unit's child group", () => ids().length && session.addUnits([{ ...session.getUnit(pick(ids())), children: { sectioned: { m: array() } } }])],
      ["add a feature", () => ids().length && session.addFeature(pick(ids()), pick(["frif", "qi", "baseline"]), { FRIF: array(), FRIF_x_axis: sharedAxis, label: new StringArray(["a", "bc"]) })],
      ["place a result", () => ids().length && session.placeInUnit(pick(ids()), ["features", "frif", "data", "extra"], rand() < 0.5 ? array() : sharedAxis)],
      ["add metadata", () => session.addMetadata({ [pick(["frame_timestamps", "acquisition_rate", "note"])]: rand() < 0.3 ? "text" : array() })],
      ["add stimulus", () => session.addStimulus({ light_reference: { [pick(["raw_ch1", "raw_ch2"])]: rand() < 0.3 ? sharedAxis : array() } })],
      ["a batch of features", () => session.batch(() => { for (const id of ids().slice(0, 5)) session.addFeature(id, "batched", { x: array() }); })],
      ["spill past a budget", () => session.setMemoryBudget({ store, budgetBytes: Math.floor(rand() * 4 * MIN_SPILL_BYTES) })],
      ["lift the budget", () => session.setMemoryBudget({ store, budgetBytes: Number.POSITIVE_INFINITY })],
      ["bring an array back into memory (outside the session)", () => {
        const away = allArrays(session).filter((a) => !a.isResident);
        if (away.length) pick(away).unspill();
      }],
      ["load units into the map directly", () => session.units.set(unitIdFor(next), newUnit(next++))],
      ["drop a unit from the map directly", () => ids().length && session.units.delete(pick(ids()))],
      ["replace the unit map", () => {
        const units = [...session.units.values()];
        if (units.length) units[0] = { ...newUnit(units[0].attrs.unit_num), id: units[0].id };
        session.units = new Map(units.map((u) => [u.id, u]));
      }],
      ["replace part of the stimulus in place (a checkpoint delta)", () => {
        const light = session.stimulus.light_reference;
        if (isTree(light)) (light as Tree).raw_ch1 = array();
      }],
      ["replace the metadata", () => { session.metadata = { frame_timestamps: array() }; }],
    ];
    const counts = new Map<string, number>();
    for (let step = 0; step < 300; step++) {
      const [name, run] = pick(operations);
      run();
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const walked = fullWalk(session);
      expect(session.arrayBytes(), `after ${name} (step ${step})`).toEqual(walked);
      expect(session.memoryEstimateBytes()).toBe(walked.resident);
    }
    // The sequence did reach every state: spilled, left in the source, shared.
    const final = fullWalk(session);
    expect(counts.size).toBe(operations.length);
    expect(store.liveBytes).toBeGreaterThan(0);
    expect(final.inSources).toBeGreaterThan(0);
    expect(final.spilled).toBeGreaterThan(0);
    expect(allArrays(session).some((a) => a.packedBytes !== undefined)).toBe(true);
  });

  it("counts frif's x axis once for all units and its packed rates at what they hold; the budget moves neither", () => {
    const session = new PipelineSession("r", { memoryWarningBytes: Number.POSITIVE_INFINITY });
    session.addUnits(Array.from({ length: 50 }, (_, i) => plainUnit(i + 1, {})));
    const empty = session.arrayBytes().resident;
    const axis = new NDArray(new Float64Array(100_000)); // 800 kB, one object in every unit
    const rates = (n: number) => sparseArray(100_000, Uint32Array.of(n, 99_999), Float32Array.of(1, 2)); // 400 kB full, 16 B held
    session.batch(() => {
      for (let n = 1; n <= 50; n++) session.addFeature(unitIdFor(n), "frif", { FRIF: rates(n), FRIF_x_axis: axis });
    });
    expect(session.arrayBytes().resident).toBe(empty + 800_000 + 50 * 16);
    expect(session.arrayBytes()).toEqual(fullWalk(session));
    const store = new SpillStore(memoryScratch());
    session.setMemoryBudget({ store, budgetBytes: 100_000 });
    // Only the axis is a full array to move; it moves once, though every unit holds it.
    expect(axis.isSpilled).toBe(true);
    expect(store.liveBytes).toBe(800_000);
    expect(session.arrayBytes()).toEqual({ resident: empty + 50 * 16, spilled: 800_000 });
    expect(session.arrayBytes()).toEqual(fullWalk(session));
  });

  it("measures only what changed: a feature on one unit does not walk the others", () => {
    const session = new PipelineSession("r");
    const watched = watchedTree({ unit_meta: { peaks: new NDArray(new Float64Array(10)) } });
    session.addUnits([plainUnit(1, watched.tree), ...Array.from({ length: 99 }, (_, i) => plainUnit(i + 2, {}))]);
    const before = session.arrayBytes().resident;
    watched.reads = 0;
    for (let n = 2; n <= 100; n++) session.addFeature(unitIdFor(n), "frif", { FRIF: new NDArray(new Float32Array(4)) });
    expect(watched.reads).toBe(0);
    expect(session.arrayBytes().resident).toBe(before + 99 * 16);
    expect(session.arrayBytes()).toEqual(fullWalk(session));
  });

  it("does not look for arrays to move after every change once only small ones are left over the budget", () => {
    const session = new PipelineSession("r", { memoryWarningBytes: Number.POSITIVE_INFINITY });
    const watched = watchedTree({ unit_meta: { peaks: new NDArray(new Float64Array(100)) } });
    session.addUnits([plainUnit(1, watched.tree), ...Array.from({ length: 20 }, (_, i) => plainUnit(i + 2, {}))]);
    const store = new SpillStore(memoryScratch());
    session.setMemoryBudget({ store, budgetBytes: 1_000 }); // over it, but nothing is big enough to move
    expect(store.liveBytes).toBe(0);
    watched.reads = 0;
    for (let n = 2; n <= 21; n++) session.addFeature(unitIdFor(n), "small", { x: new NDArray(new Float64Array(10)) });
    expect(watched.reads).toBe(0);
    // Something big comes in: the budget looks again, and moves it.
    const big = new NDArray(new Float64Array(MIN_SPILL_BYTES / 8));
    session.addFeature("unit_002", "big", { x: big });
    expect(big.isSpilled).toBe(true);
    expect(session.arrayBytes()).toEqual(fullWalk(session));
  });
});
