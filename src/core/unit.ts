/**
 * One sorted unit as the session holds it: the lab's `units/<id>` group. Its own file because the
 * session (`session.ts`) and the memory budget (`memoryBudget.ts`) both need it, and the budget must not
 * import the session that imports it.
 */
import type { Tree } from "./ndarray.ts";

/** Simple values the lab's layout stores as attributes of `units/<id>`. */
export interface UnitAttrs {
  row: number;
  col: number;
  global_id: number;
  unit_num: number;
  original_name: string;
  [name: string]: number | string;
}

export interface Unit {
  /** `unit_NNN` */
  id: string;
  attrs: UnitAttrs;
  /** Sample indices at the acquisition rate (not µs), as the lab stores them. */
  spikeTimes: BigUint64Array;
  waveform?: Float32Array;
  firingRate10hz?: Float32Array;
  /** Everything else under the unit group: `unit_meta`, `spike_times_sectioned`, `features`, … */
  children: Tree;
}
