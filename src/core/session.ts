import { isTree, mergeOneLevel, type Tree, type TreeNode } from "./ndarray.ts";
import { enforceBudget, type ArrayBytes, type MemoryBudget } from "./memoryBudget.ts";
import { MemoryLedger } from "./memoryLedger.ts";
import { HdmeaError } from "./failure.ts";
import { formatBytes } from "./formatBytes.ts";
import type { Unit } from "./unit.ts";

// The unit types live in unit.ts (memoryBudget.ts needs them too); the session's importers keep finding them here.
export type { Unit, UnitAttrs } from "./unit.ts";

/**
 * PipelineSession — one recording's analysis, held in memory until the scientist saves it
 * ("deferred save"). Pure data and state transitions: writing files is `io/sessionStore.ts`.
 *
 * | member                     | does                                                        | errors / warnings                      |
 * |----------------------------|-------------------------------------------------------------|----------------------------------------|
 * | `new PipelineSession(id)`  | empty DEFERRED session                                      | SessionError: empty or invalid id       |
 * | `addUnits(units)`          | adds units; an existing unit is merged field by field       |                                        |
 * | `addMetadata(tree)`        | shallow merge into `metadata`                               | memory warning past the threshold      |
 * | `addStimulus(tree)`        | merge one level deep into `stimulus`                        | memory warning past the threshold      |
 * | `addFeature(unit, name, …)`| stores `features/<name>/{data, metadata}` on a unit         | SessionError: unknown unit             |
 * | `placeInUnit(unit, path, n)`| stores a result at a unit path (the lab's places, `features/resultPlaces.ts`) | SessionError: unknown unit |
 * | `markStepComplete(name, p)`| records the step with its parameters and time (re-run moves it last) |                       |
 * | `batch(fn)`                 | groups changes into one notification (one step = one write in immediate mode) and one memory check | |
 * | `warn(message)`            | records a warning on the session (the UI shows them)        |                                        |
 * | `markSaved(path, at)`      | called by the store after a successful save: state SAVED    |                                        |
 * | `memoryEstimateBytes()`    | bytes of the arrays the session holds in memory             |                                        |
 * | `setMemoryBudget(b)`       | past `b.budgetBytes`, the largest arrays move to `b.store`  | warns once, naming what moved          |
 * | `arrayBytes()`             | bytes in memory, in the scratch store and left in source files (a running tally: `memoryLedger.ts`) |  |
 */

export type SaveState = "DEFERRED" | "SAVED";
export type SaveMode = "deferred" | "immediate";

export const DEFAULT_MEMORY_WARNING_BYTES = 8e9;
export const HDMEA_VERSION = "0.1.0";

/** A session operation refused: an unknown unit, an invalid id, a file that would be overwritten. */
export class SessionError extends HdmeaError {
  override name = "SessionError";
  constructor(message: string, file?: string) {
    super(message, "bad-input", file);
  }
}

export interface StepRecord {
  name: string;
  /** JSON-serialisable parameters the step ran with. */
  params: Record<string, unknown>;
  completedAt: string;
}

export interface SessionWarning {
  message: string;
  at: string;
}

export interface SourceFiles {
  cmcr?: string;
  cmtr?: string;
}

export interface SessionChange {
  /** Session-file paths that changed, e.g. `units/unit_001/features/frif`. */
  paths: string[];
}

export interface SessionOptions {
  createdAt?: string;
  memoryWarningBytes?: number;
  now?: () => Date;
}

const FORBIDDEN_ID_CHARS = /[/\\:*?"<>|]/;

export function validateDatasetId(raw: string): string {
  const id = raw.trim();
  if (!id) throw new SessionError("dataset id is empty");
  if (FORBIDDEN_ID_CHARS.test(id)) {
    throw new SessionError(`dataset id "${id}" contains one of / \\ : * ? " < > |`);
  }
  return id;
}

/** `unit_007` for unit 7 (wider for ≥ 1000, which the lab's `unit_\d{3}` pattern cannot express). */
export function unitIdFor(unitNum: number): string {
  return `unit_${String(unitNum).padStart(3, "0")}`;
}

export class PipelineSession {
  readonly datasetId: string;
  readonly createdAt: string;
  units = new Map<string, Unit>();
  metadata: Tree = {};
  stimulus: Tree = {};
  sourceFiles: SourceFiles = {};
  completedSteps: StepRecord[] = [];
  warnings: SessionWarning[] = [];
  saveState: SaveState = "DEFERRED";
  mode: SaveMode = "deferred";
  /** The file this session was last saved to (not checkpoints). */
  hdf5Path: string | undefined;
  savedAt: string | undefined;
  /** True when something changed since the last save (SAVED alone does not mean "file is current"). */
  hasUnsavedChanges = true;
  memoryWarningBytes: number;
  /** Set by whoever gives the session a scratch store (the worker, the CLI); none = all in memory. */
  memoryBudget: MemoryBudget | undefined;

  private readonly now: () => Date;
  private memoryWarned = false;
  private spillWarned = false;
  private spillFailed = false;
  private listeners = new Set<(change: SessionChange) => void>();
  private pendingPaths: string[] | undefined;
  /** A change inside a batch asked for a memory check; it runs once when the batch ends. */
  private memoryCheckPending = false;
  private readonly ledger = new MemoryLedger();
  /** The budget found nothing to move when the ledger's arrivals were this: skip its walk until they change. */
  private nothingToMove: { arrivals: number; budget: MemoryBudget; budgetBytes: number } | undefined;

  constructor(datasetId: string, options: SessionOptions = {}) {
    this.datasetId = validateDatasetId(datasetId);
    this.now = options.now ?? (() => new Date());
    this.createdAt = options.createdAt ?? this.timestamp();
    this.memoryWarningBytes = options.memoryWarningBytes ?? DEFAULT_MEMORY_WARNING_BYTES;
  }

  get isSaved(): boolean {
    return this.saveState === "SAVED";
  }

  get isDeferred(): boolean {
    return this.saveState === "DEFERRED";
  }

  get unitCount(): number {
    return this.units.size;
  }

  timestamp(): string {
    return this.now().toISOString();
  }

  /** Subscribe to changes (immediate mode writes them through). Returns the unsubscribe function. */
  onChange(listener: (change: SessionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs `fn` as one change: listeners hear once, at the end, with every path it touched. A pipeline
   * step runs inside one batch, so immediate mode writes once per step, as the original did.
   * A batch checks the memory estimate once, at its end, after everything the step added.
   */
  batch<T>(fn: () => T): T {
    if (this.pendingPaths) return fn();
    this.pendingPaths = [];
    try {
      return fn();
    } finally {
      if (this.memoryCheckPending) {
        this.memoryCheckPending = false;
        this.checkMemory(); // its warnings join this batch's notification
      }
      const paths = this.pendingPaths;
      this.pendingPaths = undefined;
      if (paths.length) this.notify(paths);
    }
  }

  addUnits(units: Iterable<Unit>): void {
    const paths: string[] = [];
    for (const unit of units) {
      const existing = this.units.get(unit.id);
      if (existing) {
        // Shallow update per unit, like the original: new fields win, missing ones stay.
        // What changed is reported as narrowly as it is known (a step that merges one child group
        // changes that group, not the unit's spike times), so a checkpoint delta writes only that.
        const own =
          Object.entries(unit.attrs).some(([k, v]) => (existing.attrs as Record<string, unknown>)[k] !== v) ||
          ((unit.spikeTimes.length > 0 || !existing.spikeTimes.length) && existing.spikeTimes !== unit.spikeTimes) ||
          (unit.waveform !== undefined && unit.waveform !== existing.waveform) ||
          (unit.firingRate10hz !== undefined && unit.firingRate10hz !== existing.firingRate10hz);
        Object.assign(existing.attrs, unit.attrs);
        if (unit.spikeTimes.length || !existing.spikeTimes.length) existing.spikeTimes = unit.spikeTimes;
        if (unit.waveform) existing.waveform = unit.waveform;
        if (unit.firingRate10hz) existing.firingRate10hz = unit.firingRate10hz;
        Object.assign(existing.children, unit.children);
        if (own) paths.push(`units/${unit.id}`);
        else paths.push(...Object.keys(unit.children).map((key) => `units/${unit.id}/${key}`));
      } else {
        this.units.set(unit.id, unit);
        paths.push(`units/${unit.id}`);
      }
    }
    this.changed(paths);
  }

  getUnit(unitId: string): Unit {
    const unit = this.units.get(unitId);
    if (!unit) {
      throw new SessionError(
        `unknown unit "${unitId}" in session ${this.datasetId} (it has ${this.units.size} units)`,
      );
    }
    return unit;
  }

  addMetadata(update: Tree): void {
    Object.assign(this.metadata, update);
    this.changed(Object.keys(update).map((k) => `metadata/${k}`));
  }

  addStimulus(update: Tree): void {
    this.changed(mergeOneLevel(this.stimulus, update).map((k) => `stimulus/${k}`));
  }

  addFeature(unitId: string, name: string, data: TreeNode, metadata: Tree = {}): void {
    const unit = this.getUnit(unitId);
    const features = isTree(unit.children.features) ? unit.children.features : {};
    unit.children.features = features;
    features[name] = { data, metadata };
    this.changed([`units/${unitId}/features/${name}`]);
  }

  /** Sets `units/<id>/<path…>` to `node`, creating the groups on the way (a leaf in the way is an error). */
  placeInUnit(unitId: string, path: readonly string[], node: TreeNode): void {
    const unit = this.getUnit(unitId);
    let group: Tree = unit.children;
    for (const key of path.slice(0, -1)) {
      const next = group[key];
      if (next === undefined) group[key] = {};
      else if (!isTree(next)) throw new SessionError(`cannot place a result at units/${unitId}/${path.join("/")}: ${key} is not a group`);
      group = group[key] as Tree;
    }
    group[path[path.length - 1]] = node;
    this.changed([`units/${unitId}/${path.join("/")}`]);
  }

  setSourceFiles(files: SourceFiles): void {
    this.sourceFiles = { ...this.sourceFiles, ...files };
    this.changed(["source_files"]);
  }

  markStepComplete(name: string, params: Record<string, unknown> = {}): void {
    this.completedSteps = this.completedSteps.filter((s) => s.name !== name);
    this.completedSteps.push({ name, params, completedAt: this.timestamp() });
    this.changed(["pipeline/session_info"]);
  }

  hasCompleted(name: string): boolean {
    return this.completedSteps.some((s) => s.name === name);
  }

  warn(message: string): void {
    this.warnings.push({ message, at: this.timestamp() });
    this.changed(["pipeline/session_info"], false);
  }

  /** Called by the session store once a save has completed. */
  markSaved(path: string, savedAt: string): void {
    this.saveState = "SAVED";
    this.hdf5Path = path;
    this.savedAt = savedAt;
    this.hasUnsavedChanges = false;
  }

  /** Bytes of the arrays held in memory (spilled arrays count in `arrayBytes().spilled`). */
  memoryEstimateBytes(): number {
    return this.arrayBytes().resident;
  }

  /** The same as `sessionArrayBytes` (a walk of everything), at the cost of what changed since the last call. */
  arrayBytes(): ArrayBytes {
    return this.ledger.bytes(this);
  }

  /** Gives the session a scratch store and a budget, and applies it at once. */
  setMemoryBudget(budget: MemoryBudget): void {
    this.memoryBudget = budget;
    this.checkMemory();
  }

  private changed(paths: string[], checkMemory = true): void {
    this.hasUnsavedChanges = true;
    this.ledger.changed(paths);
    if (this.pendingPaths) {
      if (checkMemory) this.memoryCheckPending = true;
      this.pendingPaths.push(...paths);
    } else {
      if (checkMemory) this.checkMemory();
      this.notify(paths);
    }
  }

  private notify(paths: string[]): void {
    for (const listener of this.listeners) listener({ paths });
  }

  private checkMemory(): void {
    let bytes = this.arrayBytes();
    if (this.memoryBudget) {
      const budget = this.memoryBudget;
      const stuck = this.nothingToMove;
      let moved;
      try {
        // Over the budget with only small arrays in memory, every change would walk the session for
        // candidates and find none: skip until something big enough came in.
        if (stuck?.arrivals === this.ledger.arrivals && stuck.budget === budget && stuck.budgetBytes === budget.budgetBytes) moved = { arrays: 0, bytes: 0, largest: [] };
        else {
          moved = enforceBudget({ metadata: this.metadata, stimulus: this.stimulus, units: this.units.values() }, bytes.resident, budget);
          this.nothingToMove = moved.exhausted && moved.arrays === 0 ? { arrivals: this.ledger.arrivals, budget, budgetBytes: budget.budgetBytes } : undefined;
        }
      } catch (error) {
        // A full or lost scratch file must not fail the change that triggered it (a step's commit is
        // applied by then): what did not move stays in memory, and the session says so once.
        if (!this.spillFailed) {
          this.spillFailed = true;
          this.warn(`session ${this.datasetId}: arrays past the memory budget could not be moved to ${this.memoryBudget.store.location} (${(error as Error).message}); they stay in memory`);
        }
        moved = { arrays: 0, bytes: 0, largest: [] };
        bytes = this.arrayBytes();
      }
      if (moved.arrays > 0) {
        bytes = { resident: bytes.resident - moved.bytes, spilled: bytes.spilled + moved.bytes };
        if (!this.spillWarned) {
          this.spillWarned = true;
          this.warn(
            `session ${this.datasetId} passed its ${formatBytes(this.memoryBudget.budgetBytes)} memory budget: ` +
              `${moved.arrays} array(s) (${formatBytes(moved.bytes)}; largest ${moved.largest.join(", ")}) moved to a scratch file in ` +
              `${this.memoryBudget.store.location}; they are read back when needed and saved as usual`,
          );
        }
      }
    }
    const total = bytes.resident + bytes.spilled;
    if (total > this.memoryWarningBytes && !this.memoryWarned) {
      this.memoryWarned = true;
      const where = bytes.spilled > 0
        ? ` (${formatBytes(bytes.resident)} in memory, ${formatBytes(bytes.spilled)} spilled to ${this.memoryBudget?.store.location ?? "a scratch file"})`
        : " in memory";
      this.warn(
        `session ${this.datasetId} holds ${(total / 1e9).toFixed(2)} GB${where}, above the ` +
          `${(this.memoryWarningBytes / 1e9).toFixed(2)} GB warning threshold: checkpoint or save soon`,
      );
    } else if (total <= this.memoryWarningBytes) {
      this.memoryWarned = false;
    }
  }
}
