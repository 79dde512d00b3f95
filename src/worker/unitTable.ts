/**
 * The units table as the worker sends it: per unit the electrode, spike count and mean rate, plus the
 * science columns a scientist sorts and filters by: ON-OFF index, quality index, DSI, preferred
 * direction and the cell-type label. Computed once per call of the worker's `units` (the page calls it
 * when a session opens and again after each pipeline run), never per render.
 *
 * Where each science value comes from (one value per unit; NaN / "" when the unit has none):
 * - `onOffIndex`: `features/step_response/data/<movie>/on_off_index`,
 * - `qualityIndex`: `features/quality_index/data/<movie>/quality_index`,
 * - `dsi`, `preferredDirectionDeg`: `features/moving_bar/data/<movie>/{dsi, preferred_direction_deg}`,
 *   each from the unit's first movie in playlist order that has a finite value (the movie whose first
 *   `section_time` row starts earliest; movies without one follow by name). Not the highest QI over
 *   movies: chance QI is 1/n_trials, so a movie with few trials would win for silent units too;
 *   the first repeated movie is usually the steps, the same as the ON-OFF index's;
 * - `cellType`: the label string in `features/cell_type_classifier/data` (its `cell_type`, `label`, …
 *   key, see `LABEL_KEYS`), read by name so a session without that extractor shows none.
 * Each numeric column also says, per unit, which movie the value came from (`movieIndex` into `movies`).
 */
import { spikeCountOf } from "../core/memoryBudget.ts";
import { deferredAt, type GroupLook } from "../core/deferredGroup.ts";
import { NDArray, StringArray, isTree, scalarNumber, type Tree, type TreeNode } from "../core/ndarray.ts";
import type { PipelineSession, Unit } from "../core/session.ts";
import { meanRateHz, recordingDuration, type RecordingDuration } from "../core/sessionFacts.ts";
import type { UnitListing } from "../core/unitListing.ts";

export interface ScienceColumn {
  values: Float64Array;
  /** Per unit, the index into `movies` of the movie the value came from; −1 without a value. */
  movieIndex: Int16Array;
  movies: string[];
}

export interface UnitScience {
  onOffIndex: ScienceColumn;
  qualityIndex: ScienceColumn;
  dsi: ScienceColumn;
  preferredDirectionDeg: ScienceColumn;
  /** The classifier's label per unit, "" when it has none. */
  cellType: string[];
  /** Does any unit have any of the five values (the page hides the columns otherwise)? */
  any: boolean;
}

export interface UnitTable {
  ids: string[];
  row: Int32Array;
  col: Int32Array;
  spikeCount: Uint32Array;
  /** Spikes per second over the recording (NaN when the duration is unknown). */
  meanRateHz: Float64Array;
  /** Recording duration the rates are based on, and where it came from (`core/sessionFacts.ts`). */
  durationS: number | null;
  durationSource: RecordingDuration["source"] | null;
  science: UnitScience;
  /**
   * The science columns are still to come (`unitScience`): the units' features were left in the
   * session file (a large file opened lazily), and reading them for every unit takes seconds. The
   * table is shown first; `science` is empty until then.
   */
  sciencePending: boolean;
  /** The session's completed steps (`name@completedAt`, joined) when this table was made: the page re-asks after a run. */
  stepsStamp: string;
  /**
   * Set while the recording is still being opened (`openingTable`): no session yet, and only the
   * units flagged in `spikesRead` have their spike count and rate (the others show none).
   */
  opening?: { spikesRead: Uint8Array; unitsRead: number };
}

export function stepsStamp(steps: readonly { name: string; completedAt: string }[]): string {
  return steps.map((s) => `${s.name}@${s.completedAt}`).join(",");
}

export const CELL_TYPE_FEATURE = "cell_type_classifier";
/** Keys the classifier's label may have, the likeliest first; any other string but these is not a label. */
const LABEL_KEYS = ["cell_type", "label", "predicted_type", "predicted_label", "type", "class", "axon_type"];
const NOT_LABELS = new Set(["reason", "edges_source", "method", "source", "movie_name", "version"]);

/** `science: "later"` leaves the science columns for `unitScience` when reading them means reading the file. */
export function unitTable(session: PipelineSession, options: { science?: "now" | "later" } = {}): UnitTable {
  const list = [...session.units.values()];
  const n = list.length;
  const sciencePending = options.science === "later" && list.some((u) => deferredAt(u.children, "features") !== undefined);
  const table: UnitTable = {
    ids: list.map((u) => u.id),
    row: new Int32Array(n),
    col: new Int32Array(n),
    spikeCount: new Uint32Array(n),
    meanRateHz: new Float64Array(n).fill(Number.NaN),
    durationS: null,
    durationSource: null,
    science: sciencePending ? noScience(n) : unitScience(session),
    sciencePending,
    stepsStamp: stepsStamp(session.completedSteps),
  };
  // The same recording length as the unit panel's (`views.unitDetail`), so both show the same rate.
  const duration = recordingDuration(session);
  table.durationS = duration?.seconds ?? null;
  table.durationSource = duration?.source ?? null;
  list.forEach((unit, i) => {
    table.row[i] = Number(unit.attrs.row);
    table.col[i] = Number(unit.attrs.col);
    table.spikeCount[i] = spikeCountOf(unit);
    table.meanRateHz[i] = meanRateHz(table.spikeCount[i], duration);
  });
  return table;
}

/** The table of a recording still opening, from its units as listed so far (copied: the listing goes on changing). */
export function openingTable(listing: UnitListing): UnitTable {
  const n = listing.ids.length;
  const duration: RecordingDuration | undefined = listing.durationUs ? { seconds: listing.durationUs / 1e6, source: "metadata" } : undefined;
  const meanRate = new Float64Array(n).fill(Number.NaN);
  for (let i = 0; i < n; i++) if (listing.spikesRead[i]) meanRate[i] = meanRateHz(listing.spikeCount[i], duration);
  return {
    ids: [...listing.ids],
    row: listing.row.slice(),
    col: listing.col.slice(),
    spikeCount: listing.spikeCount.slice(),
    meanRateHz: meanRate,
    durationS: duration?.seconds ?? null,
    durationSource: duration?.source ?? null,
    science: noScience(n),
    sciencePending: false,
    stepsStamp: "",
    opening: { spikesRead: listing.spikesRead.slice(), unitsRead: listing.unitsRead },
  };
}

/** The typed arrays of a table, for Comlink's transfer list. */
export function unitTableBuffers(table: UnitTable): ArrayBuffer[] {
  const opening = table.opening ? [table.opening.spikesRead.buffer] : [];
  return [table.row.buffer, table.col.buffer, table.spikeCount.buffer, table.meanRateHz.buffer, ...opening, ...unitScienceBuffers(table.science)] as ArrayBuffer[];
}

export function unitScienceBuffers(s: UnitScience): ArrayBuffer[] {
  return [s.onOffIndex, s.qualityIndex, s.dsi, s.preferredDirectionDeg].flatMap((c) => [c.values.buffer, c.movieIndex.buffer]) as ArrayBuffer[];
}

/** Movies by the sample their first section starts at (the playlist's order); the rest by name. */
export function playlistOrder(session: PipelineSession): Map<string, number> {
  const sections = session.stimulus.section_time;
  const starts: [string, number][] = [];
  if (isTree(sections)) {
    for (const [movie, node] of Object.entries(sections)) {
      const start = node instanceof NDArray && node.data.length ? Number(node.data[0]) : Number.POSITIVE_INFINITY;
      starts.push([movie, start]);
    }
  }
  starts.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return new Map(starts.map(([movie], k) => [movie, k]));
}

/** A column with no value for any of `n` units. */
function emptyColumn(n: number): ScienceColumn {
  return { values: new Float64Array(n).fill(Number.NaN), movieIndex: new Int16Array(n).fill(-1), movies: [] };
}

function noScience(n: number): UnitScience {
  return { onOffIndex: emptyColumn(n), qualityIndex: emptyColumn(n), dsi: emptyColumn(n), preferredDirectionDeg: emptyColumn(n), cellType: new Array<string>(n).fill(""), any: false };
}

/** The science columns of the units table, in the session's unit order. */
export function unitScience(session: PipelineSession): UnitScience {
  const units = [...session.units.values()];
  const order = playlistOrder(session);
  const rank = (movie: string) => order.get(movie) ?? Number.POSITIVE_INFINITY;
  const column = (): ScienceColumn & { index: Map<string, number> } => ({ ...emptyColumn(units.length), index: new Map() });
  const cols = { onOffIndex: column(), qualityIndex: column(), dsi: column(), preferredDirectionDeg: column() };
  const put = (c: ReturnType<typeof column>, i: number, movie: string, value: number) => {
    let k = c.index.get(movie);
    if (k === undefined) c.index.set(movie, (k = c.movies.push(movie) - 1));
    c.values[i] = value;
    c.movieIndex[i] = k;
  };
  const cellType: string[] = [];
  let any = false;
  units.forEach((unit, i) => {
    const values = (look: GroupLook) => {
      const first = (feature: string, key: string, into: ReturnType<typeof column>) => {
        const found = movieValues(look, feature, key).sort((a, b) => rank(a[0]) - rank(b[0]) || (a[0] < b[0] ? -1 : 1))[0];
        if (found) put(into, i, ...found);
      };
      first("step_response", "on_off_index", cols.onOffIndex);
      first("quality_index", "quality_index", cols.qualityIndex);
      first("moving_bar", "dsi", cols.dsi);
      first("moving_bar", "preferred_direction_deg", cols.preferredDirectionDeg);
    };
    // Features still in the session file: the few scalars, not the ~30 datasets of each group.
    const inFile = deferredAt(unit.children, "features");
    if (inFile) inFile.look(values);
    else values(treeLook(unit.children.features));
    cellType.push(classifierLabel(unit));
    any ||= cellType[i] !== "" || Object.values(cols).some((c) => c.movieIndex[i] >= 0);
  });
  const strip = ({ values, movieIndex, movies }: ReturnType<typeof column>): ScienceColumn => ({ values, movieIndex, movies });
  return {
    onOffIndex: strip(cols.onOffIndex),
    qualityIndex: strip(cols.qualityIndex),
    dsi: strip(cols.dsi),
    preferredDirectionDeg: strip(cols.preferredDirectionDeg),
    cellType,
    any,
  };
}

/** `[movie, value]` of every finite `<feature>/data/<movie>/<key>` of a unit's features. */
function movieValues(features: GroupLook, feature: string, key: string): [string, number][] {
  const out: [string, number][] = [];
  for (const movie of features.names(`${feature}/data`) ?? []) {
    const value = scalarNumber(features.leaf(`${feature}/data/${movie}/${key}`));
    if (value !== undefined && Number.isFinite(value)) out.push([movie, value]);
  }
  return out;
}

/** `GroupLook` over a tree in memory (a unit's `features`, when not still in its file): groups are trees. */
function treeLook(root: TreeNode | undefined): GroupLook {
  const at = (path: string): TreeNode | undefined => {
    let node = root;
    for (const part of path === "" ? [] : path.split("/")) node = isTree(node) ? node[part] : undefined;
    return node;
  };
  return {
    names: (path) => {
      const node = at(path);
      return isTree(node) ? Object.keys(node) : undefined;
    },
    leaf: (path) => {
      const node = at(path);
      return isTree(node) ? undefined : node;
    },
  };
}

function featureData(unit: Unit, feature: string): Tree | undefined {
  const features = unit.children.features;
  const entry = isTree(features) ? features[feature] : undefined;
  const data = isTree(entry) ? entry.data : undefined;
  return isTree(data) ? data : undefined;
}

function text(node: TreeNode | undefined): string | undefined {
  if (typeof node === "string") return node;
  if (node instanceof StringArray && node.data.length === 1) return node.data[0];
  return undefined;
}

/**
 * The classifier's label: a string under `data` (or one group down) named by `LABEL_KEYS`, else the
 * only other string there that is not a reason or a source; "" without one.
 */
export function classifierLabel(unit: Unit): string {
  const data = featureData(unit, CELL_TYPE_FEATURE);
  if (!data) return "";
  const groups: Tree[] = [data, ...Object.values(data).filter(isTree)];
  for (const key of LABEL_KEYS) {
    for (const g of groups) {
      const s = text(g[key]);
      if (s) return s;
    }
  }
  const others = groups.flatMap((g) => Object.entries(g).filter(([k, v]) => !NOT_LABELS.has(k) && text(v)).map(([, v]) => text(v)!));
  return others.length === 1 ? others[0] : "";
}
