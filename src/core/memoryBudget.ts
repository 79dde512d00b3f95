/**
 * The memory budget: when the arrays a session holds in memory pass it, its largest arrays move to
 * a scratch store (`spillStore.ts`) and are read back when something needs them. The session stays
 * what it was — DEFERRED, unsaved — since the scratch store is not the user's file.
 */
import { NDArray, arraysMoved, isTree, type TreeNode } from "./ndarray.ts";
import { forEachMember } from "./deferredGroup.ts";
import type { SpillStore } from "./spillStore.ts";
import type { Unit } from "./unit.ts";

export interface MemoryBudget {
  store: SpillStore;
  /** Bytes of arrays to keep in memory at most. */
  budgetBytes: number;
}

/** Arrays smaller than this stay in memory: spilling them saves little and costs a read each. */
export const MIN_SPILL_BYTES = 64 << 10;
/** Spill down to this fraction of the budget, so the next few steps do not spill again at once. */
const SPILL_TARGET = 0.75;
const FALLBACK_BUDGET_BYTES = 4e9;

/**
 * The default budget for what the platform says about itself: half of `navigator.deviceMemory`
 * (which browsers round and cap at 8 GB), else the JS heap limit Chromium reports, else 4 GB; in
 * Node, half of the machine's memory shared by the jobs running at once.
 */
export function defaultMemoryBudgetBytes(platform: { deviceMemoryGb?: number; jsHeapLimitBytes?: number; totalMemoryBytes?: number; jobs?: number }): number {
  if (platform.totalMemoryBytes) return (0.5 * platform.totalMemoryBytes) / Math.max(1, platform.jobs ?? 1);
  if (platform.deviceMemoryGb) return 0.5 * platform.deviceMemoryGb * 2 ** 30;
  if (platform.jsHeapLimitBytes) return platform.jsHeapLimitBytes;
  return FALLBACK_BUDGET_BYTES;
}

/** One array of a session that can move to the scratch store. */
interface SpillCandidate {
  path: string;
  bytes: number;
  spill(store: SpillStore): void;
}

// A unit's spike train or firing rate held out of memory (a spilled train, or either left in the
// session file it was opened from): the unit's field becomes an accessor over the array, so every
// reader keeps working; writers and accounting ask `heldArrayOf` and never read it whole.
export type HeldField = "spikeTimes" | "firingRate10hz";
export const HELD_FIELDS: readonly HeldField[] = ["spikeTimes", "firingRate10hz"];
const held = new WeakMap<Unit, Map<HeldField, NDArray>>();

/** The unit's `field` if it is held out of memory (spilled or in its source file). */
export function heldArrayOf(unit: Unit, field: HeldField): NDArray | undefined {
  return held.get(unit)?.get(field);
}

/** A unit's spike train as an array a writer can slice (spilled or not). */
export function spikeTimesArray(unit: Unit): NDArray<BigUint64Array> {
  return (heldArrayOf(unit, "spikeTimes") as NDArray<BigUint64Array> | undefined) ?? new NDArray(unit.spikeTimes);
}

/** A unit's 10 Hz rate as an array a writer can slice (held out of memory or not), if it has one. */
export function firingRateArray(unit: Unit): NDArray<Float32Array> | undefined {
  const held = heldArrayOf(unit, "firingRate10hz") as NDArray<Float32Array> | undefined;
  return held ?? (unit.firingRate10hz && new NDArray(unit.firingRate10hz));
}

/** Spikes in a unit's train, without reading a spilled train back. */
export function spikeCountOf(unit: Unit): number {
  return heldArrayOf(unit, "spikeTimes")?.shape[0] ?? unit.spikeTimes.length;
}

/** The unit's last spike (sample index), without reading a train held out of memory whole. */
export function lastSpikeOf(unit: Unit): bigint | undefined {
  const train = heldArrayOf(unit, "spikeTimes");
  if (!train) return unit.spikeTimes.at(-1);
  const n = train.shape[0];
  if (!n) return undefined;
  return train.elementsAt(n - 1, new BigUint64Array(1))[0];
}

/** Moves one array's data to the store; returns what frees its place there. */
export function spillArray(array: NDArray, store: SpillStore): () => void {
  let release = () => {};
  array.spill((data) => {
    const slot = store.put(data);
    release = () => store.release(slot);
    return { read: () => store.read(slot), readBytes: (at, into) => store.readBytes(slot, at, into), release };
  });
  return release;
}

function spillSpikeTimes(unit: Unit, store: SpillStore): void {
  const array = new NDArray(unit.spikeTimes);
  holdUnitArray(unit, "spikeTimes", array, spillArray(array, store));
}

/**
 * `unit[field]` reads from `array` (spilled, or left in its source file: `NDArray.fromSource`) from
 * now on; `release` frees its place once a new value replaces it.
 */
export function holdUnitArray(unit: Unit, field: HeldField, array: NDArray, release: () => void = () => {}): void {
  let fields = held.get(unit);
  if (!fields) held.set(unit, (fields = new Map()));
  fields.set(field, array);
  arraysMoved();
  Object.defineProperty(unit, field, {
    configurable: true,
    enumerable: true,
    get: () => array.data,
    // A new value (a merge, a reload) replaces the held one and lives in memory again.
    set: (value: Unit[HeldField]) => {
      fields.delete(field);
      release();
      arraysMoved();
      Object.defineProperty(unit, field, { configurable: true, enumerable: true, writable: true, value });
    },
  });
}

/** Bytes of a session's arrays in memory and in the scratch store. */
export interface ArrayBytes {
  resident: number;
  spilled: number;
  /** Bytes left in the files the session was opened from (`NDArray.fromSource`), neither in memory nor spilled. */
  inSources?: number;
}

/** What a session file holds at least: every array, wherever it lives now (memory, scratch store, source file). */
export function savedArrayBytes(bytes: ArrayBytes): number {
  return bytes.resident + bytes.spilled + (bytes.inSources ?? 0);
}

/** Which count of `ArrayBytes` an array's bytes go to, by where they are now (a packed array is in memory). */
export function arrayPlace(array: NDArray): keyof ArrayBytes {
  return array.isSpilled ? "spilled" : array.source ? "inSources" : "resident";
}

/**
 * The bytes an array counts for at its place: what its compact form holds when it is packed
 * (frif's rates: a tenth of the full array), else the full array. A packed array's full size is
 * written at a save but never held, so the estimate of memory counts what is held; like an array
 * shared by several places, it makes `savedArrayBytes` a lower bound of the file.
 */
export function countedBytes(array: NDArray): number {
  return array.packedBytes ?? array.byteLength;
}

/**
 * Counts every array of a session by walking all of it: what `PipelineSession.arrayBytes` keeps as a
 * running tally (`memoryLedger.ts`) must always equal this.
 */
export function sessionArrayBytes(parts: { metadata: TreeNode; stimulus: TreeNode; units: Iterable<Unit> }): ArrayBytes {
  const seen = new Set<NDArray>();
  const bytes = treeArrayBytes(parts.stimulus, treeArrayBytes(parts.metadata, { resident: 0, spilled: 0 }, seen), seen);
  for (const unit of parts.units) unitArrayBytes(unit, bytes, seen);
  return bytes;
}

/**
 * `seen`: arrays already counted. One array may sit at several places of a tree (frif's x axis in
 * every unit); it is held once, so it counts once.
 */
export function treeArrayBytes(node: TreeNode | undefined, into: ArrayBytes, seen = new Set<NDArray>()): ArrayBytes {
  if (node === undefined) return into;
  if (node instanceof NDArray) {
    if (seen.has(node)) return into;
    seen.add(node);
    const place = arrayPlace(node);
    into[place] = (into[place] ?? 0) + countedBytes(node);
  } else if (typeof node === "string") into.resident += 2 * node.length;
  else if (!isTree(node)) into.resident += node.data.reduce((s, x) => s + 2 * x.length, 0);
  // A group not read yet holds nothing in memory; what it holds in its file is not known until read.
  else forEachMember(node, (_, child) => treeArrayBytes(child, into, seen));
  return into;
}

export function unitArrayBytes(unit: Unit, into: ArrayBytes, seen = new Set<NDArray>()): ArrayBytes {
  for (const field of HELD_FIELDS) {
    const array = heldArrayOf(unit, field);
    if (!array) {
      into.resident += unit[field]?.byteLength ?? 0;
      continue;
    }
    const place = arrayPlace(array);
    into[place] = (into[place] ?? 0) + array.byteLength;
  }
  into.resident += unit.waveform?.byteLength ?? 0;
  return treeArrayBytes(unit.children, into, seen);
}

function* treeCandidates(node: TreeNode, path: string, seen: Set<NDArray>): Generator<SpillCandidate> {
  if (node instanceof NDArray) {
    if (node.isResident && node.byteLength >= MIN_SPILL_BYTES && !seen.has(node)) {
      seen.add(node); // an array shared by several places moves once
      yield { path, bytes: node.byteLength, spill: (store) => spillArray(node, store) };
    }
  } else if (isTree(node)) {
    const members: [string, TreeNode][] = [];
    forEachMember(node, (name, child) => members.push([name, child]));
    for (const [name, child] of members) yield* treeCandidates(child, `${path}/${name}`, seen);
  }
}

function* candidates(parts: { metadata: TreeNode; stimulus: TreeNode; units: Iterable<Unit> }): Generator<SpillCandidate> {
  const seen = new Set<NDArray>();
  yield* treeCandidates(parts.metadata, "metadata", seen);
  yield* treeCandidates(parts.stimulus, "stimulus", seen);
  for (const unit of parts.units) {
    if (!heldArrayOf(unit, "spikeTimes") && unit.spikeTimes.byteLength >= MIN_SPILL_BYTES) {
      yield { path: `units/${unit.id}/spike_times`, bytes: unit.spikeTimes.byteLength, spill: (store) => spillSpikeTimes(unit, store) };
    }
    yield* treeCandidates(unit.children, `units/${unit.id}`, seen);
  }
}

export interface SpillReport {
  arrays: number;
  bytes: number;
  /** Paths of the largest arrays moved, largest first (a few, for messages). */
  largest: string[];
  /** Still above the target with nothing left to move (every array in memory is small). */
  exhausted?: boolean;
}

/**
 * Moves the largest arrays to the store until the arrays in memory are at most 75% of the budget
 * (or nothing big is left). Returns what moved; nothing when already within the budget.
 */
export function enforceBudget(
  parts: { metadata: TreeNode; stimulus: TreeNode; units: Iterable<Unit> },
  residentBytes: number,
  budget: MemoryBudget,
): SpillReport {
  const report: SpillReport = { arrays: 0, bytes: 0, largest: [] };
  if (residentBytes <= budget.budgetBytes) return report;
  const all = [...candidates(parts)].sort((a, b) => b.bytes - a.bytes);
  let resident = residentBytes;
  for (const candidate of all) {
    if (resident <= SPILL_TARGET * budget.budgetBytes) break;
    candidate.spill(budget.store);
    resident -= candidate.bytes;
    report.arrays++;
    report.bytes += candidate.bytes;
    if (report.largest.length < 3) report.largest.push(candidate.path);
  }
  report.exhausted = resident > SPILL_TARGET * budget.budgetBytes;
  return report;
}
