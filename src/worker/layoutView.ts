/** The HDF5 layout a save writes for a session, as the page's layout tree shows it (paged). */
import { NDArray, StringArray, isTree, type Tree, type TreeNode } from "../core/ndarray.ts";
import type { PipelineSession } from "../core/session.ts";
import { firingRateArray, spikeCountOf } from "../core/memoryBudget.ts";
import { forEachMember } from "../core/deferredGroup.ts";

export interface LayoutAttr {
  name: string;
  dtype: string;
}

export interface LayoutNode {
  name: string;
  /** Path from the file root, without a leading slash: `units/unit_001/spike_times`. */
  path: string;
  kind: "group" | "dataset";
  /** Datasets: shape ([] for a scalar), dtype (`uint64`, `float32`, …, or `string`) and bytes in memory. */
  shape?: number[];
  dtype?: string;
  bytes?: number;
  attrs: LayoutAttr[];
  children?: LayoutNode[];
  /** A group sent without its members (`layoutPage`): how many it has; ask for its path to get them. */
  childCount?: number;
  /** A group of an opened session file not read yet (`core/deferredGroup.ts`): ask for its path to read it. */
  unread?: boolean;
}

/** A group with more members than this (the units of a big recording) sends them folded. */
export const LAYOUT_PAGE = 100;

/**
 * What the page gets of the layout: the node at `path` (the root by default), where a group with more
 * than `page` members sends them folded: their own names, shapes and attributes, but not their
 * members (`childCount` only; the page asks for a folded group's path when it is opened). 1,000
 * units are about 100,000 nodes, and copying them into the page would hold its main thread for
 * hundreds of milliseconds; the page lists units 100 at a time anyway.
 */
export function layoutPage(root: LayoutNode, path = "", page = LAYOUT_PAGE): LayoutNode {
  let node: LayoutNode | undefined = root;
  if (path) {
    for (const name of path.split("/")) node = node?.children?.find((c) => c.name === name);
  }
  if (!node) throw new Error(`no group or dataset "${path}" in the session's layout`);
  return pruned(node, page);
}

function pruned(node: LayoutNode, page: number): LayoutNode {
  if (!node.children) return node;
  const long = node.children.length > page;
  return { ...node, children: node.children.map((child) => (long && child.children ? folded(child) : pruned(child, page))) };
}

function folded(node: LayoutNode): LayoutNode {
  const { children, ...rest } = node;
  return { ...rest, childCount: children?.length ?? 0 };
}

/**
 * The HDF5 layout a save of this session produces, built by walking the session the way
 * `io/sessionFile.ts` writes it (same paths, dtypes and shapes, without h5wasm). Keep the two in step:
 * tests/worker/views.test.ts compares this with a file the writer actually wrote.
 */
export function sessionTree(session: PipelineSession, options: { checkpointName?: string; readPath?: string } = {}): LayoutNode {
  // Groups of an opened file not read yet stay so, except those on the way to `readPath`.
  const readPath = options.readPath ?? "";
  const treeChildren = (parent: string, tree: Tree): LayoutNode[] => layoutChildren(parent, tree, readPath);
  const str = (name: string): LayoutAttr => ({ name, dtype: "string" });
  const root = group("", "", [str("dataset_id"), str("created_at"), str("hdmea_version"), { name: "hdmea_web_format_version", dtype: "int32" }]);

  const sourceAttrs: LayoutAttr[] = [];
  if (session.sourceFiles.cmcr !== undefined) sourceAttrs.push(str("cmcr_path"));
  if (session.sourceFiles.cmtr !== undefined) sourceAttrs.push(str("cmtr_path"));
  root.children!.push(group("source_files", "source_files", sourceAttrs));

  const pipeline = group("pipeline", "pipeline", [{ name: "stage1_completed", dtype: "int8" }, str("stage1_timestamp")]);
  const info = group("session_info", "pipeline/session_info", [str("saved_at"), ...(options.checkpointName !== undefined ? [str("checkpoint_name")] : [])]);
  const strings = (name: string, values: string[]) => {
    if (values.length) info.children!.push(dataset(name, `pipeline/session_info/${name}`, [values.length], "string", byteLength(values)));
  };
  strings("completed_steps", session.completedSteps.map((s) => s.name));
  strings("warnings", session.warnings.map((w) => w.message));
  strings("step_log", session.completedSteps.map((s) => JSON.stringify(s)));
  strings("warning_log", session.warnings.map((w) => JSON.stringify(w)));
  pipeline.children!.push(info);
  root.children!.push(pipeline);

  root.children!.push(treeNode("metadata", "metadata", session.metadata, readPath));
  root.children!.push(treeNode("stimulus", "stimulus", session.stimulus, readPath));

  const units = group("units", "units", []);
  for (const unit of session.units.values()) {
    const path = `units/${unit.id}`;
    const attrs = Object.entries(unit.attrs).map(([name, value]): LayoutAttr => ({
      name,
      dtype: typeof value === "string" ? "string" : Number.isInteger(value) ? "int64" : "float64",
    }));
    const node = group(unit.id, path, attrs);
    node.children!.push(dataset("spike_times", `${path}/spike_times`, [spikeCountOf(unit)], "uint64", 8 * spikeCountOf(unit)));
    if (unit.waveform) node.children!.push(dataset("waveform", `${path}/waveform`, [unit.waveform.length], "float32", unit.waveform.byteLength));
    const rate = firingRateArray(unit);
    if (rate) node.children!.push(dataset("firing_rate_10hz", `${path}/firing_rate_10hz`, [...rate.shape], "float32", rate.byteLength));
    node.children!.push(...treeChildren(path, unit.children));
    units.children!.push(node);
  }
  root.children!.push(units);
  return root;
}

function group(name: string, path: string, attrs: LayoutAttr[]): LayoutNode {
  return { name, path, kind: "group", attrs, children: [] };
}

function dataset(name: string, path: string, shape: number[], dtype: string, bytes: number): LayoutNode {
  return { name, path, kind: "dataset", shape, dtype, bytes, attrs: [] };
}

function byteLength(values: readonly string[]): number {
  let n = 0;
  for (const v of values) n += new TextEncoder().encode(v).length;
  return n;
}

function treeNode(name: string, path: string, tree: Tree, readPath: string): LayoutNode {
  const node = group(name, path, []);
  node.children!.push(...layoutChildren(path, tree, readPath));
  return node;
}

/** The writer's mapping (`h5Tree.writeNode`): NDArray → dataset, StringArray/string → string dataset, tree → group. */
function layoutChildren(parent: string, tree: Tree, readPath: string): LayoutNode[] {
  const out: LayoutNode[] = [];
  const add = (name: string, child: TreeNode): void => {
    const node = leafOrGroup(name, parent ? `${parent}/${name}` : name, child, readPath);
    if (node) out.push(node);
  };
  forEachMember(tree, add, (name) => {
    const path = parent ? `${parent}/${name}` : name;
    if (readPath === path || readPath.startsWith(`${path}/`)) add(name, tree[name]);
    else out.push({ name, path, kind: "group", attrs: [], unread: true });
  });
  return out;
}

function leafOrGroup(name: string, path: string, node: TreeNode, readPath: string): LayoutNode | undefined {
  if (node instanceof NDArray) return dataset(name, path, [...node.shape], node.dtype, node.byteLength);
  if (node instanceof StringArray) return dataset(name, path, [...node.shape], "string", byteLength(node.data));
  if (typeof node === "string") return dataset(name, path, [], "string", byteLength([node]));
  if (isTree(node)) return treeNode(name, path, node, readPath);
  return undefined;
}
