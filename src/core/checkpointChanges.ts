/**
 * What changed in a session since its last checkpoint, so the next checkpoint can write only that
 * (io/checkpointDeltas.ts). It listens to the paths `PipelineSession` reports for every change
 * (`onChange`) and keeps them as the subtrees a checkpoint delta replaces:
 *
 *   metadata/<key…>, stimulus/<key…>        that subtree of the metadata or stimulus tree
 *   units/<id>                              the whole unit (attributes, spike times, waveform, rate, children)
 *   units/<id>/<child…>                     that subtree of the unit's children
 *   metadata, stimulus, units               the whole tree (a change that names no finer place)
 *
 * `pipeline/session_info` (steps, warnings) and `source_files` are small and written in every delta,
 * so they are not kept. A path of any other shape names a place a delta has no rule for: the changes
 * then say so (`complete: false`) and the next checkpoint covers the whole session.
 */
import { isTree, type Tree, type TreeNode } from "./ndarray.ts";
import { savedArrayBytes, treeArrayBytes, unitArrayBytes, type ArrayBytes } from "./memoryBudget.ts";
import type { PipelineSession, Unit } from "./session.ts";

/** Members of a unit that the session file keeps beside its children, not in them. */
const UNIT_OWN = new Set(["spike_times", "waveform", "firing_rate_10hz"]);

/** The whole session, as delta paths: what a delta holds when the changes cannot be narrowed. */
export const WHOLE_SESSION: readonly string[] = ["metadata", "stimulus", "units"];

/**
 * The delta path a reported change path falls in: null for the parts every delta writes anyway,
 * "units" (the whole unit list) for a change that names the units but no unit.
 */
export function deltaPathOf(path: string): string | null {
  const parts = path.split("/").filter((p) => p !== "");
  const [top, second, third] = parts;
  if (top === "source_files" || (top === "pipeline" && (second === undefined || second === "session_info"))) return null;
  if (top === "metadata" || top === "stimulus") return parts.join("/");
  if (top === "units") {
    if (second === undefined) return "units";
    if (third === undefined || UNIT_OWN.has(third)) return `units/${second}`;
    return parts.join("/");
  }
  // No rule for it: the whole session (the root attributes are in every delta; the rest is covered).
  return "*";
}

/** The paths without any that lies inside another (replacing `a` replaces `a/b` too), sorted. */
export function outermostPaths(paths: Iterable<string>): string[] {
  const all = new Set(paths);
  const inside = (path: string): boolean => {
    for (let at = path.indexOf("/"); at > 0; at = path.indexOf("/", at + 1)) {
      if (all.has(path.slice(0, at))) return true;
    }
    return false;
  };
  return [...all].filter((path) => !inside(path)).sort();
}

/** Collects a session's changes from the moment it is created until `close`. */
export class SessionChanges {
  private readonly paths = new Set<string>();
  private everything = false;
  private readonly stop: () => void;

  constructor(session: PipelineSession) {
    this.stop = session.onChange((change) => this.add(change.paths));
  }

  add(paths: readonly string[]): void {
    for (const path of paths) {
      const at = deltaPathOf(path);
      if (at === "*") this.everything = true;
      else if (at !== null) this.paths.add(at);
    }
  }

  /** The subtrees to rewrite, outermost only (nothing changed but steps or warnings: empty). */
  pending(): string[] {
    return this.everything ? [...WHOLE_SESSION] : outermostPaths(this.paths);
  }

  /** The checkpoint that covers every change so far was written. */
  clear(): void {
    this.paths.clear();
    this.everything = false;
  }

  close(): void {
    this.stop();
  }
}

/** The bytes of the arrays under `paths` (delta paths): what a delta of them writes at least. */
export function changedArrayBytes(session: PipelineSession, paths: readonly string[]): number {
  const bytes: ArrayBytes = { resident: 0, spilled: 0 };
  for (const path of paths) {
    const [top, ...rest] = path.split("/");
    if (top === "metadata" || top === "stimulus") treeArrayBytes(nodeAt(session[top], rest), bytes);
    else if (top === "units") {
      const [id, ...inUnit] = rest;
      const one = id === undefined ? undefined : session.units.get(id);
      const units: Unit[] = id === undefined ? [...session.units.values()] : one ? [one] : [];
      for (const unit of units) {
        if (inUnit.length === 0) unitArrayBytes(unit, bytes);
        else treeArrayBytes(nodeAt(unit.children, inUnit), bytes);
      }
    }
  }
  return savedArrayBytes(bytes);
}

function nodeAt(tree: Tree, parts: readonly string[]): TreeNode | undefined {
  let node: TreeNode | undefined = tree;
  for (const part of parts) node = isTree(node) ? node[part] : undefined;
  return node;
}
