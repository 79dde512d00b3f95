/**
 * A group of a session tree that stays in its file until something reads it. Opening a 4.5 GB
 * session file must not touch its 76,000 datasets (most of them the per-unit cutout columns under
 * `unit_meta/peaks_data`): the reader puts a deferred group at each subgroup instead, and the first
 * read of that member (`tree[key]`) reads the group, one level, and puts the result in its place.
 * Every reader of trees keeps working unchanged; the walkers that must not read the whole file —
 * the memory estimate, the spill candidates, the source bookkeeping and re-pointing — ask
 * `deferredAt` first and skip or re-point the group instead.
 */
import { arraysMoved, type SourceFile, type Tree, type TreeNode } from "./ndarray.ts";

/** Reads inside a group still in its file, by paths relative to it (`DeferredGroup.look`). */
export interface GroupLook {
  /** The member names of the group at `path` ("" for this one), as a read of it gives them; undefined if there is none. */
  names(path: string): string[] | undefined;
  /** The dataset or attribute at `path`, as a read of its group gives it; undefined if there is none (or it is a group). */
  leaf(path: string): TreeNode | undefined;
}

/** How a deferred group is read from its file (`io/sessionFile.ts`). */
export interface GroupReads {
  /** The group at `path` of `source`: its datasets and attributes, and deferred groups for its subgroups. */
  level(source: SourceFile, path: string): Tree;
  /** `look` with a `GroupLook` at the group at `path`: one visit of the file, however many reads. */
  look<T>(source: SourceFile, path: string, look: (inside: GroupLook) => T): T;
}

export class DeferredGroup {
  #source: SourceFile;
  readonly #reads: GroupReads;

  constructor(source: SourceFile, readonly path: string, reads: GroupReads) {
    this.#source = source;
    this.#reads = reads;
  }

  /** The file the group will be read from. */
  get source(): SourceFile {
    return this.#source;
  }

  /** Reads the group from another file from now on: one holding the same group at the same path (a save over the file, a file given back). */
  repoint(source: SourceFile): void {
    this.#source = source;
  }

  read(): Tree {
    return this.#reads.level(this.#source, this.path);
  }

  /**
   * A few values from deep inside the group without reading it (the units table's science
   * columns want one scalar of the ~30 in each of a unit's feature groups). Nothing is put in the
   * session: the group stays deferred.
   */
  look<T>(look: (inside: GroupLook) => T): T {
    return this.#reads.look(this.#source, this.path, look);
  }
}

const deferredByTree = new WeakMap<Tree, Map<string, DeferredGroup>>();

/** Puts `group` at `tree[key]`: the first read of it reads the group and leaves the result there; a write replaces it. */
export function deferGroup(tree: Tree, key: string, group: DeferredGroup): void {
  let here = deferredByTree.get(tree);
  if (!here) deferredByTree.set(tree, (here = new Map()));
  here.set(key, group);
  Object.defineProperty(tree, key, {
    configurable: true,
    enumerable: true,
    get: () => {
      const loaded = group.read();
      settle(tree, key, loaded);
      return loaded;
    },
    set: (value: TreeNode) => settle(tree, key, value),
  });
}

function settle(tree: Tree, key: string, value: TreeNode): void {
  deferredByTree.get(tree)?.delete(key);
  arraysMoved(); // the group's arrays are in the session now: a tally of its memory must look again
  Object.defineProperty(tree, key, { configurable: true, enumerable: true, writable: true, value });
}

/** The group at `tree[key]` if it has not been read yet (reading `tree[key]` would read the file). */
export function deferredAt(tree: Tree, key: string): DeferredGroup | undefined {
  const group = deferredByTree.get(tree)?.get(key);
  if (!group) return undefined;
  // Deleted or redefined since (`delete tree[key]`, `Object.defineProperty`): no longer deferred.
  if (Object.getOwnPropertyDescriptor(tree, key)?.get === undefined) {
    deferredByTree.get(tree)?.delete(key);
    return undefined;
  }
  return group;
}

/**
 * Calls `visit` for each member of `tree` that is in memory and `deferred` for each deferred
 * group, without reading any: for walkers that only account for what a session holds.
 */
export function forEachMember(tree: Tree, visit: (key: string, node: TreeNode) => void, deferred: (key: string, group: DeferredGroup) => void = () => {}): void {
  const here = deferredByTree.get(tree);
  for (const key of Object.keys(tree)) {
    const group = here?.size ? deferredAt(tree, key) : undefined;
    if (group) deferred(key, group);
    else visit(key, tree[key]);
  }
}
