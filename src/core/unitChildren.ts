/**
 * Replacing one child group of a unit (`spike_times_sectioned`, …) through the session's own
 * `addUnits` merge, so listeners (immediate mode) hear about the change. The new group is a new
 * object: a step computes it aside and commits it here, never mutating the group it read from.
 */
import { isTree, type Tree } from "./ndarray.ts";
import type { PipelineSession } from "./session.ts";

/** Merges `movies` into `units/<id>/<group>` (one level: other movies are kept). */
export function mergeUnitGroup(session: PipelineSession, unitId: string, group: string, movies: Tree): void {
  const unit = session.getUnit(unitId);
  const old = unit.children[group];
  const next: Tree = { ...(isTree(old) ? old : {}), ...movies };
  session.addUnits([{ id: unit.id, attrs: unit.attrs, spikeTimes: unit.spikeTimes, children: { [group]: next } }]);
}
