/**
 * How MCS CMOS-MEA files name things, and how we find them.
 *
 * The lab's code reaches objects through McsPy's "Python names" (`Spike_Sorter`, `Unit_12`,
 * `ChannelData_1`); the files say `Spike Sorter`, `Unit 12`, `ChannelData 1`. We match names
 * case-insensitively with McsPy's mapping applied to both sides (space, `.`, `,` → `_`; `:` `(` `)`
 * dropped; `@` → `at`), and find unit groups by their `ID.TypeID`, never by name alone.
 */
import { NDArray, type Tree } from "../../core/ndarray.ts";
import type { H5Dataset, H5Group } from "../h5.ts";
import { numericDtype } from "../h5.ts";

/** `ID.TypeID` values from McsPy's type table. */
export const MCS_TYPE_ID = {
  cmosMeaFile: "cabb6cdd-47e0-417a-8e04-5664cbbc449b",
  acquisition: "650d88ce-9f24-4b20-ac2b-254defd12761",
  channelStream: "9217aeb4-59a0-4d7f-bdcd-0371c9fd66eb",
  channelStreamMeta: "9e8ac9cd-5571-4ee5-bbfa-8e9d9c436daa",
  channelStreamData: "5efe7932-dcfe-49ff-ba53-25accff5d622",
  sensorStream: "15e5a1fe-df2f-421b-8b60-23eeb2213c45",
  sensorStreamMeta: "ab2aa189-2e72-4148-a2ef-978119223412",
  sensorStreamData: "49da47df-f397-4121-b5da-35317a93e705",
  spikeSorter: "7263d1b7-f57a-42de-8f51-5d6326d22f2a",
  spikeSorterUnit: "0e5a97df-9de0-4a22-ab8c-54845c1ff3b9",
} as const;

/** McsPy's Python name for an HDF5 name, lower-cased for comparison. */
export function mcsKey(name: string): string {
  return name
    .trim()
    .replace(/[:()]/g, "")
    .replace(/[ .,]/g, "_")
    .replace(/@/g, "at")
    .toLowerCase();
}

/** McsPy's Python name with its case kept (`Unit 12` → `Unit_12`), as the original records it. */
export function mcsPythonName(name: string): string {
  return name.trim().replace(/[:()]/g, "").replace(/[ .,]/g, "_").replace(/@/g, "at");
}

export function isGroup(node: unknown): node is H5Group {
  return !!node && (node as H5Group).type === "Group";
}

export function isDataset(node: unknown): node is H5Dataset {
  return !!node && (node as H5Dataset).type === "Dataset";
}

// Readers look up several children of each unit group; listing the group once per object (files are
// opened read-only) saves most of the load time of a .cmtr with tens of thousands of units.
const keyCache = new WeakMap<H5Group, string[]>();

/** The child of `group` whose name matches `name` (exact first, then McsPy-style), or undefined. */
export function childName(group: H5Group, name: string): string | undefined {
  let keys = keyCache.get(group);
  if (!keys) keyCache.set(group, (keys = group.keys()));
  if (keys.includes(name)) return name;
  const wanted = mcsKey(name);
  return keys.find((k) => mcsKey(k) === wanted);
}

/** Follows a `/`-separated path of MCS names from `group`; undefined if any step is missing. */
export function findPath(group: H5Group, path: string): H5Group | H5Dataset | undefined {
  let node: H5Group | H5Dataset = group;
  for (const part of path.split("/").filter(Boolean)) {
    if (!isGroup(node)) return undefined;
    const name = childName(node, part);
    if (name === undefined) return undefined;
    const next = node.get(name);
    if (!isGroup(next) && !isDataset(next)) return undefined;
    node = next;
  }
  return node;
}

export type AttrValue = string | number | number[] | string[];

/**
 * An object's attributes as plain values, the way McsPy decodes them: strings trimmed at the right,
 * 1-element arrays as scalars. Unreadable attributes are skipped (they never carry what we need).
 */
export function readAttrs(node: H5Group | H5Dataset): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const name of attrNames(node)) {
    const value = readAttr(node, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function attrNames(node: H5Group | H5Dataset): string[] {
  try {
    return Object.keys(node.attrs);
  } catch {
    return [];
  }
}

export function readAttr(node: H5Group | H5Dataset, name: string): AttrValue | undefined {
  try {
    const attr = node.attrs[name];
    if (!attr) return undefined;
    return plainValue(attr.value);
  } catch {
    return undefined;
  }
}

function plainValue(value: unknown): AttrValue | undefined {
  if (typeof value === "string") return cleanString(value);
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    const items = Array.from(value as ArrayLike<unknown>, (v) => plainValue(v));
    if (items.some((v) => v === undefined || Array.isArray(v))) return undefined;
    if (items.length === 1) return items[0];
    if (items.every((v) => typeof v === "number")) return items as number[];
    return items.map(String);
  }
  return undefined;
}

export function cleanString(s: string): string {
  return s.replace(/[\0\s]+$/, "");
}

/** The `ID.TypeID` of an object, or undefined. */
export function typeIdOf(node: H5Group | H5Dataset): string | undefined {
  const value = readAttr(node, "ID.TypeID");
  return typeof value === "string" ? value.toLowerCase() : undefined;
}

/**
 * Attributes as a metadata tree with explicit dtypes: integers → int64, other numbers → float64
 * (scalars `()`; arrays 1-D), strings → string. Slashes in names would become HDF5 paths, so they
 * are replaced.
 */
export function attrsToTree(node: H5Group | H5Dataset): Tree {
  const tree: Tree = {};
  for (const name of attrNames(node)) {
    const key = name.replace(/\//g, "_");
    const leaf = attrLeaf(node, name);
    if (leaf !== undefined) tree[key] = leaf;
  }
  return tree;
}

function attrLeaf(node: H5Group | H5Dataset, name: string): Tree[string] | undefined {
  let attr;
  try {
    attr = node.attrs[name];
  } catch {
    return undefined;
  }
  if (!attr) return undefined;
  const value = plainValue(attr.value);
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value.join(", ");
  const numbers = Array.isArray(value) ? (value as number[]) : [value as number];
  const dtype = numericDtype(attr.metadata);
  const integer = dtype !== undefined && !dtype.startsWith("float") && numbers.every(Number.isSafeInteger);
  const data = integer ? BigInt64Array.from(numbers, (v) => BigInt(v)) : Float64Array.from(numbers);
  return new NDArray(data, Array.isArray(value) ? [numbers.length] : []);
}
