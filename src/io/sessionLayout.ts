/**
 * The session HDF5 file in the lab's layout (what `PipelineSession.save()` writes in hdmea_processing),
 * declared once: `sessionFile.ts` writes what `sessionLayout` gives, and the page's layout view
 * (`worker/layoutView.ts`) shows the same without h5wasm.
 *
 *   /@dataset_id @created_at @hdmea_version           + ours: @hdmea_web_format_version
 *   source_files/@cmcr_path @cmtr_path
 *   pipeline/@stage1_completed @stage1_timestamp
 *   pipeline/session_info/@saved_at [@checkpoint_name] [@checkpoint_token]
 *   pipeline/session_info/{completed_steps, warnings}  1-D UTF-8 strings, only when non-empty
 *                        /{step_log, warning_log}     ours: JSON per entry (parameters, times)
 *   metadata/…  stimulus/…                             trees of datasets
 *   units/<unit_NNN>/@row @col @global_id @unit_num @original_name
 *                   /spike_times (uint64) waveform (float32) firing_rate_10hz (float32) + children
 *
 * A checkpoint delta (`DeltaHeader`) has the same header, with `session_info/@checkpoint_delta_of
 * @checkpoint_delta_index` and `checkpoint_delta_paths`, and only the subtrees that changed.
 */
import { NDArray, StringArray, type DType, type Leaf, type Tree } from "../core/ndarray.ts";
import { firingRateArray, spikeTimesArray } from "../core/memoryBudget.ts";
import { HDMEA_VERSION, type PipelineSession, type Unit } from "../core/session.ts";

/** Bumped when our additions to the layout change; the lab's own fields never move. */
export const FORMAT_VERSION = 1;

/** A scalar attribute: UTF-8 text, or a number written as `dtype`. */
export type LayoutAttribute = { name: string; dtype: "string"; value: string } | { name: string; dtype: DType; value: number };

/** A group the layout declares. A leaf member is a dataset, written as `h5Tree.writeNode` writes it. */
export class LayoutGroup {
  readonly attrs: readonly LayoutAttribute[];
  /** In the order they are written. */
  readonly members: readonly (readonly [string, LayoutGroup | Leaf])[];
  /** A tree of the session's whose members follow the declared ones (`metadata`, a unit's children). */
  readonly tree?: Tree;
  /**
   * The members are groups alike (the units): a full write puts every one's attributes and
   * datasets first, then their trees kind by kind (`sessionFile.ts` `writeByKind`).
   */
  readonly alike: boolean;

  constructor(parts: Partial<Pick<LayoutGroup, "attrs" | "members" | "tree" | "alike">>) {
    this.attrs = parts.attrs ?? [];
    this.members = parts.members ?? [];
    this.tree = parts.tree;
    this.alike = parts.alike ?? false;
  }
}

/**
 * A checkpoint delta (`checkpointDeltas.ts`): a small session file beside a checkpoint holding the
 * subtrees that changed since the one before. It has the full header (root attributes,
 * `source_files`, `pipeline/session_info` with every step and warning) and, under the usual names,
 * only the subtrees listed in `session_info/checkpoint_delta_paths`; a listed path the file does
 * not hold was removed. `units/<id>` is a whole unit group; `units/<id>/<child…>` lies in a unit
 * group that holds nothing else of the unit (no attributes).
 */
export interface DeltaHeader {
  /** `@checkpoint_token` of the checkpoint this delta follows. */
  of: string;
  /** 1 for the first delta after the checkpoint, then 2, 3, … */
  index: number;
  paths: readonly string[];
}

export interface LayoutOptions {
  savedAt: string;
  /** Marks the file as a checkpoint (`pipeline/session_info/@checkpoint_name`). */
  checkpointName?: string;
  /** Names this checkpoint for the deltas written beside it (`@checkpoint_token`, checkpointDeltas.ts). */
  checkpointToken?: string;
  /** Makes the file a checkpoint delta. */
  delta?: DeltaHeader;
}

/** What the file holds below its header: the whole session, or a delta's changed parts. */
export interface SessionContents {
  metadata: Tree;
  stimulus: Tree;
  units: readonly (readonly [string, LayoutGroup])[];
}

/** The root attributes of the layout (ours and the lab's); a reader reports or maps any other. */
export const ROOT_ATTRIBUTES = ["dataset_id", "created_at", "hdmea_version", "hdmea_web_format_version"] as const;

/** The top-level members of the layout; a reader ignores any other. */
export const ROOT_MEMBERS = ["source_files", "pipeline", "metadata", "stimulus", "units"] as const;

/** A unit group's own datasets, by the unit field each holds. */
export const UNIT_DATASETS = { spikeTimes: "spike_times", waveform: "waveform", firingRate10hz: "firing_rate_10hz" } as const;

/** The file a save of `session` writes (a delta's: with `options.delta` and its `contents`). */
export function sessionLayout(session: PipelineSession, options: LayoutOptions, contents: SessionContents = wholeSession(session)): LayoutGroup {
  const attrs: Record<(typeof ROOT_ATTRIBUTES)[number], LayoutAttribute> = {
    dataset_id: text("dataset_id", session.datasetId),
    created_at: text("created_at", session.createdAt),
    hdmea_version: text("hdmea_version", HDMEA_VERSION),
    hdmea_web_format_version: { name: "hdmea_web_format_version", dtype: "int32", value: FORMAT_VERSION },
  };
  const { cmcr, cmtr } = session.sourceFiles;
  const members: Record<(typeof ROOT_MEMBERS)[number], LayoutGroup> = {
    source_files: new LayoutGroup({
      attrs: [...(cmcr !== undefined ? [text("cmcr_path", cmcr)] : []), ...(cmtr !== undefined ? [text("cmtr_path", cmtr)] : [])],
    }),
    pipeline: new LayoutGroup({
      attrs: [{ name: "stage1_completed", dtype: "int8", value: 1 }, text("stage1_timestamp", options.savedAt)],
      members: [["session_info", sessionInfo(session, options)]],
    }),
    metadata: new LayoutGroup({ tree: contents.metadata }),
    stimulus: new LayoutGroup({ tree: contents.stimulus }),
    units: new LayoutGroup({ members: contents.units, alike: true }),
  };
  return new LayoutGroup({ attrs: ROOT_ATTRIBUTES.map((name) => attrs[name]), members: ROOT_MEMBERS.map((name) => [name, members[name]]) });
}

function wholeSession(session: PipelineSession): SessionContents {
  return { metadata: session.metadata, stimulus: session.stimulus, units: [...session.units.values()].map((unit) => [unit.id, unitLayout(unit)]) };
}

/** `pipeline/session_info`: the steps and warnings, and what the file is (checkpoint, delta). */
function sessionInfo(session: PipelineSession, options: LayoutOptions): LayoutGroup {
  const attrs: LayoutAttribute[] = [text("saved_at", options.savedAt)];
  if (options.checkpointName !== undefined) attrs.push(text("checkpoint_name", options.checkpointName));
  if (options.checkpointToken !== undefined) attrs.push(text("checkpoint_token", options.checkpointToken));
  const { delta } = options;
  if (delta) attrs.push(text("checkpoint_delta_of", delta.of), { name: "checkpoint_delta_index", dtype: "int64", value: delta.index });
  const members: [string, Leaf][] = [];
  const strings = (name: string, values: readonly string[]): void => {
    if (values.length > 0) members.push([name, new StringArray(values)]);
  };
  strings("completed_steps", session.completedSteps.map((s) => s.name));
  strings("warnings", session.warnings.map((w) => w.message));
  strings("step_log", session.completedSteps.map((s) => JSON.stringify(s)));
  strings("warning_log", session.warnings.map((w) => JSON.stringify(w)));
  if (delta) strings("checkpoint_delta_paths", delta.paths);
  return new LayoutGroup({ attrs, members });
}

/** `units/<id>`: the unit's attributes, its own datasets, then its children. */
export function unitLayout(unit: Unit): LayoutGroup {
  const attrs = Object.entries(unit.attrs).map(([name, value]): LayoutAttribute =>
    typeof value === "string" ? text(name, value) : { name, dtype: Number.isInteger(value) ? "int64" : "float64", value },
  );
  // Held arrays (spilled, or still in their file) are written from where they are.
  const members: [string, Leaf][] = [[UNIT_DATASETS.spikeTimes, spikeTimesArray(unit)]];
  if (unit.waveform) members.push([UNIT_DATASETS.waveform, new NDArray(unit.waveform)]);
  const rate = firingRateArray(unit);
  if (rate) members.push([UNIT_DATASETS.firingRate10hz, rate]);
  return new LayoutGroup({ attrs, members, tree: unit.children });
}

/**
 * The dataset `h5Tree.writeNode` makes of a leaf: its dtype (`string`: UTF-8 text), shape, and bytes
 * in memory; undefined for anything else, which it skips.
 */
export function datasetOf(leaf: Leaf): { dtype: DType | "string"; shape: number[]; bytes: number } | undefined {
  if (leaf instanceof NDArray) return { dtype: leaf.dtype, shape: [...leaf.shape], bytes: leaf.byteLength };
  if (leaf instanceof StringArray) return { dtype: "string", shape: [...leaf.shape], bytes: utf8Bytes(leaf.data) };
  if (typeof leaf === "string") return { dtype: "string", shape: [], bytes: utf8Bytes([leaf]) };
  return undefined;
}

function text(name: string, value: string): LayoutAttribute {
  return { name, dtype: "string", value };
}

const encoder = new TextEncoder();
function utf8Bytes(values: readonly string[]): number {
  let n = 0;
  for (const v of values) n += encoder.encode(v).length;
  return n;
}
