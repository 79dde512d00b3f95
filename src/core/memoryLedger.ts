/**
 * A session's array bytes (in memory, in the scratch store, left in source files) kept as a running
 * tally, so that a change costs what it changed. Walking the whole session after every change made a
 * step that gives each of 1,000 units a feature quadratic in units.
 *
 * The session is cut into parts: its metadata, its stimulus, and each unit. A part is measured by the
 * same walk as a full count (`treeArrayBytes`, `unitArrayBytes`), so the tally always equals
 * `sessionArrayBytes`. An array held by several parts (frif's x axis, one object in every unit) is
 * counted once, by reference counts. A unit is measured again when a path in it changed, or when
 * units were added to or removed from the session's map directly (io does that when it loads; seen by
 * the map's size: io that swaps a unit in place replaces the whole map after, as applying a checkpoint
 * delta does). Everything is measured again when any array moved in or out of memory since
 * (`arrayMoveCount`: a spill past the budget, an unspill) or the unit map was replaced. Metadata and stimulus are measured
 * at every look: they are a few dozen nodes, and io replaces parts of them in place (a checkpoint
 * delta) without telling the session.
 */
import { arrayMoveCount, type NDArray, type Tree } from "./ndarray.ts";
import { MIN_SPILL_BYTES, arrayPlace, countedBytes, spikeCountOf, spikeTimesArray, treeArrayBytes, unitArrayBytes, type ArrayBytes } from "./memoryBudget.ts";

/** A session's unit (typed through the walk that measures it, so this file does not import the session). */
type Unit = Parameters<typeof unitArrayBytes>[0];
type Place = keyof ArrayBytes;

interface Part {
  /** What the part's walk counted beyond its arrays (strings, spike trains). */
  own: Required<ArrayBytes>;
  /** Each array of the part once. */
  arrays: NDArray[];
  /** The unit measured: another one under the same id is measured anew. */
  unit?: Unit;
}

export interface SessionParts {
  metadata: Tree;
  stimulus: Tree;
  units: Map<string, Unit>;
}

const zero = (): Required<ArrayBytes> => ({ resident: 0, spilled: 0, inSources: 0 });

export class MemoryLedger {
  #units = new Map<string, Part>();
  #metadata: Part | undefined;
  #stimulus: Part | undefined;
  /** Each array counted, with the number of parts that hold it and where it was when counted. */
  #arrays = new Map<NDArray, { refs: number; place: Place }>();
  #totals = zero();
  /** Arrays counted in `inSources` (the full walk reports `inSources` once it met one). */
  #sourceArrays = 0;
  #moves = -1;
  #unitMap: Map<string, Unit> | undefined;
  #stale = new Set<string>();
  #arrivals = 0;

  /**
   * Changes whenever something the memory budget could move may have come into memory: an array of
   * `MIN_SPILL_BYTES` or more, a unit's spike train of that size, or anything moved back from the
   * scratch store. While it stays the same, a budget that found nothing to move finds nothing again.
   */
  get arrivals(): number {
    return this.#arrivals;
  }

  /** Session paths that changed (`units/unit_001/features/frif`, `metadata/x`, …). */
  changed(paths: Iterable<string>): void {
    for (const path of paths) {
      if (path === "units") this.#unitMap = undefined;
      else if (path.startsWith("units/")) this.#stale.add(path.slice(6).split("/", 1)[0]);
      // metadata and stimulus are measured at every look; other paths hold no arrays.
    }
  }

  /** The session's array bytes now (equal to `sessionArrayBytes(parts)`). */
  bytes(parts: SessionParts): ArrayBytes {
    if (this.#moves !== arrayMoveCount() || this.#unitMap !== parts.units) this.#restart(parts);
    else {
      for (const id of this.#stale) this.#measureUnit(id, parts.units.get(id));
      this.#stale.clear();
      if (this.#units.size !== parts.units.size) this.#syncUnits(parts.units);
    }
    this.#metadata = this.#replace(this.#metadata, this.#measure((into, seen) => treeArrayBytes(parts.metadata, into, seen)));
    this.#stimulus = this.#replace(this.#stimulus, this.#measure((into, seen) => treeArrayBytes(parts.stimulus, into, seen)));
    const { resident, spilled, inSources } = this.#totals;
    return this.#sourceArrays > 0 || inSources !== 0 ? { resident, spilled, inSources } : { resident, spilled };
  }

  #restart(parts: SessionParts): void {
    this.#units.clear();
    this.#metadata = this.#stimulus = undefined;
    this.#arrays.clear();
    this.#totals = zero();
    this.#sourceArrays = 0;
    this.#stale.clear();
    this.#arrivals++;
    this.#moves = arrayMoveCount();
    this.#unitMap = parts.units;
    for (const [id, unit] of parts.units) this.#measureUnit(id, unit);
  }

  /** Units set or deleted in the session's map without a change (io loading a session). */
  #syncUnits(units: Map<string, Unit>): void {
    for (const [id, part] of this.#units) if (units.get(id) !== part.unit) this.#measureUnit(id, units.get(id));
    for (const [id, unit] of units) if (!this.#units.has(id)) this.#measureUnit(id, unit);
  }

  #measureUnit(id: string, unit: Unit | undefined): void {
    if (unit && 8 * spikeCountOf(unit) >= MIN_SPILL_BYTES && !spikeTimesArray(unit).isSpilled) this.#arrivals++;
    const part = this.#replace(this.#units.get(id), unit && this.#measure((into, seen) => unitArrayBytes(unit, into, seen), unit));
    if (part) this.#units.set(id, part);
    else this.#units.delete(id);
  }

  #measure(walk: (into: ArrayBytes, seen: Set<NDArray>) => void, unit?: Unit): Part {
    const seen = new Set<NDArray>();
    const counted: ArrayBytes = { resident: 0, spilled: 0 };
    walk(counted, seen);
    const own = { resident: counted.resident, spilled: counted.spilled, inSources: counted.inSources ?? 0 };
    for (const array of seen) own[arrayPlace(array)] -= countedBytes(array);
    return { own, arrays: [...seen], unit };
  }

  /** Takes `old` out of the tally and `next` in (arrays held by both stay counted). */
  #replace(old: Part | undefined, next: Part | undefined): Part | undefined {
    if (next) this.#add(next);
    if (old) this.#remove(old);
    return next;
  }

  #add(part: Part): void {
    const t = this.#totals;
    t.resident += part.own.resident;
    t.spilled += part.own.spilled;
    t.inSources += part.own.inSources;
    for (const array of part.arrays) {
      const held = this.#arrays.get(array);
      if (held) {
        held.refs++;
        continue;
      }
      const place = arrayPlace(array);
      this.#arrays.set(array, { refs: 1, place });
      // Only a full array in memory can be moved out (a packed one is small already).
      if (array.isResident && array.byteLength >= MIN_SPILL_BYTES) this.#arrivals++;
      t[place]! += countedBytes(array);
      if (place === "inSources") this.#sourceArrays++;
    }
  }

  #remove(part: Part): void {
    const t = this.#totals;
    t.resident -= part.own.resident;
    t.spilled -= part.own.spilled;
    t.inSources -= part.own.inSources;
    for (const array of part.arrays) {
      const held = this.#arrays.get(array)!;
      if (--held.refs > 0) continue;
      this.#arrays.delete(array);
      t[held.place]! -= countedBytes(array);
      if (held.place === "inSources") this.#sourceArrays--;
    }
  }
}
