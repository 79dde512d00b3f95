/** The HDF5 layout a save writes for a session, as the page's layout tree shows it (paged). */
import { isTree, type Leaf, type Tree, type TreeNode } from "../core/ndarray.ts";
import type { PipelineSession } from "../core/session.ts";
import { forEachMember } from "../core/deferredGroup.ts";
import { LayoutGroup, datasetOf, sessionLayout } from "../io/sessionLayout.ts";

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
 * The HDF5 layout a save of this session produces: `io/sessionLayout.ts`, the declaration the
 * writer writes, as nodes for the page.
 */
export function sessionTree(session: PipelineSession, options: { checkpointName?: string; readPath?: string } = {}): LayoutNode {
  // The view shows names and types; what a save would stamp in `saved_at` does not matter here.
  const layout = sessionLayout(session, { savedAt: "", checkpointName: options.checkpointName });
  return groupNode("", "", layout, options.readPath ?? "");
}

/** A group of the layout with its members, then its tree's. */
function groupNode(name: string, path: string, layout: LayoutGroup, readPath: string): LayoutNode {
  const children: LayoutNode[] = [];
  for (const [member, node] of layout.members) {
    const at = join(path, member);
    const child = node instanceof LayoutGroup ? groupNode(member, at, node, readPath) : datasetNode(member, at, node);
    if (child) children.push(child);
  }
  if (layout.tree) treeMembers(path, layout.tree, readPath, children);
  return { name, path, kind: "group", attrs: layout.attrs.map(({ name, dtype }) => ({ name, dtype })), children };
}

/** A session tree's members into `out`; groups of an opened file not read yet stay so, except those on the way to `readPath`. */
function treeMembers(path: string, tree: Tree, readPath: string, out: LayoutNode[]): LayoutNode[] {
  const add = (member: string, node: TreeNode): void => {
    const at = join(path, member);
    const child = isTree(node) ? { name: member, path: at, kind: "group" as const, attrs: [], children: treeMembers(at, node, readPath, []) } : datasetNode(member, at, node);
    if (child) out.push(child);
  };
  forEachMember(tree, add, (member) => {
    const at = join(path, member);
    if (readPath === at || readPath.startsWith(`${at}/`)) add(member, tree[member]);
    else out.push({ name: member, path: at, kind: "group", attrs: [], unread: true });
  });
  return out;
}

function datasetNode(name: string, path: string, leaf: Leaf): LayoutNode | undefined {
  const dataset = datasetOf(leaf);
  return dataset && { name, path, kind: "dataset", shape: dataset.shape, dtype: dataset.dtype, bytes: dataset.bytes, attrs: [] };
}

function join(path: string, member: string): string {
  return path ? `${path}/${member}` : member;
}
