/**
 * Reads and writes the session HDF5 file, whose layout `sessionLayout.ts` declares.
 *
 * Readers accept files from the lab's Python code too: without our logs, steps and warnings come
 * from the plain string datasets.
 */
import { NDArray, StringArray, TYPED_ARRAY_BY_DTYPE, isTree, type NumericArray, type SourceFile, type Tree, type TreeNode } from "../core/ndarray.ts";
import { attachSources, checkSources, sourcesInUse, swapSources } from "../core/sessionSources.ts";
import { HELD_FIELDS, enforceBudget, heldArrayOf, holdUnitArray, unitArrayBytes, type MemoryBudget } from "../core/memoryBudget.ts";
import { DeferredGroup, deferGroup, forEachMember, type GroupReads } from "../core/deferredGroup.ts";
import { PipelineSession, type SessionWarning, type StepRecord, type Unit, type UnitAttrs } from "../core/session.ts";
import { attributeNamesOf, attributeValueOf, createGroup, baseName, closeQuietly, damagedFileError, fileSize, openH5, type H5Group, type H5Runtime } from "./h5.ts";
import { watchGlobalHeaps, type HeapWatch } from "./h5Heaps.ts";
import { DEFAULT_WRITE_OPTIONS, H5_DTYPE, groupLook, readAttributes, readDataset, readLimits, readTree, ValuesLater, writeNode, writeTree, type ReadReport, type WriteOptions } from "./h5Tree.ts";
import {
  LayoutGroup,
  ROOT_ATTRIBUTES,
  ROOT_MEMBERS,
  UNIT_DATASETS,
  sessionLayout,
  unitLayout,
  type DeltaHeader,
  type LayoutAttribute,
  type LayoutOptions,
  type SessionContents,
} from "./sessionLayout.ts";
import { openSourceFile, type H5SourceFile } from "./sourceFile.ts";
import { fileError } from "../core/failure.ts";

/** What a save writes beside the session (`LayoutOptions`), and how (`WriteOptions`). */
export type WriteSessionOptions = Partial<WriteOptions> & Omit<LayoutOptions, "delta">;

export function writeSessionFile(rt: H5Runtime, path: string, session: PipelineSession, options: WriteSessionOptions): void {
  // The tree first, every array the open leaves in the file after it (`ValuesLater`).
  const valuesLater = new ValuesLater(KEEP_IN_FILE_FROM_BYTES);
  const opts: WriteOptions = { ...DEFAULT_WRITE_OPTIONS, ...options, valuesLater };
  // A source file that is gone or changed stops the save before the target is created; one that
  // goes during the write fails the read that meets it (the callers write to a temporary file).
  checkSources(session);
  const file = openH5(rt, path, "w");
  try {
    writeLayout(file, sessionLayout(session, options), opts, true);
    valuesLater.write(opts);
  } finally {
    file.close();
  }
}

/** `layout` into `group`: its attributes, its members, then its tree; with `byKind`, groups alike kind by kind. */
function writeLayout(group: H5Group, layout: LayoutGroup, opts: WriteOptions, byKind: boolean): void {
  writeOwn(group, layout, opts, byKind);
  if (layout.tree) writeTree(group, layout.tree, opts);
}

/** `layout`'s attributes and members, not its tree. */
function writeOwn(group: H5Group, layout: LayoutGroup, opts: WriteOptions, byKind: boolean): void {
  for (const attr of layout.attrs) writeAttribute(group, attr);
  if (byKind && layout.alike) return writeAlike(group, layout, opts);
  for (const [name, member] of layout.members) {
    if (member instanceof LayoutGroup) writeLayout(createGroup(group, name), member, opts, byKind);
    else writeNode(group, name, member, opts);
  }
}

/**
 * Groups alike (the units): every one's own attributes and datasets before any one's subgroups (an
 * open reads those and leaves the subgroups for later, `deferGroup`), then the subgroups kind by kind.
 */
function writeAlike(group: H5Group, layout: LayoutGroup, opts: WriteOptions): void {
  const groups: GroupTree[] = [];
  for (const [name, member] of layout.members) {
    if (!(member instanceof LayoutGroup)) {
      writeNode(group, name, member, opts);
      continue;
    }
    const child = createGroup(group, name);
    writeOwn(child, member, opts, true);
    groups.push({ group: child, tree: member.tree ?? {} });
  }
  writeByKind(groups, opts, { ...opts, valuesLater: undefined }, true);
}

function writeAttribute(group: H5Group, attr: LayoutAttribute): void {
  if (attr.dtype === "string") {
    group.create_attribute(attr.name, attr.value);
    return;
  }
  const big = attr.dtype === "int64" || attr.dtype === "uint64";
  const Ctor = TYPED_ARRAY_BY_DTYPE[attr.dtype] as unknown as { of(value: number | bigint): NumericArray };
  group.create_attribute(attr.name, Ctor.of(big ? BigInt(attr.value) : attr.value), [], H5_DTYPE[attr.dtype]);
}

interface GroupTree {
  group: H5Group;
  tree: Tree;
}

/**
 * Groups of one kind (the same member of every unit, or of each of those): first each group's own
 * datasets, then their subgroups name by name, each kind across all groups before the next, so one
 * kind's headers sit together (the units table reads every unit's `features`, the first name;
 * `unit_meta`, read least, is the last). The very last kind, when it has no subgroups of its own
 * (`unit_meta/peaks_data`, 42 cutout columns a unit), is written with its values (`lastOpts`): no
 * header comes after it, and its tens of thousands of arrays stay contiguous, as h5py writes them.
 */
function writeByKind(groups: GroupTree[], opts: WriteOptions, lastOpts: WriteOptions, last: boolean): void {
  const kinds = new Map<string, GroupTree[]>();
  for (const { group, tree } of groups) {
    for (const [name, node] of Object.entries(tree)) {
      if (!isTree(node)) {
        writeNode(group, name, node, opts);
        continue;
      }
      const kind = kinds.get(name) ?? [];
      kinds.set(name, kind);
      kind.push({ group: createGroup(group, name), tree: node });
    }
  }
  const names = [...kinds.keys()].sort();
  names.forEach((name, i) => {
    const kind = kinds.get(name)!;
    const lastKind = last && i === names.length - 1;
    const leaves = kind.every(({ tree }) => !Object.values(tree).some(isTree));
    writeByKind(kind, lastKind && leaves ? lastOpts : opts, lastOpts, lastKind);
  });
}

export interface ReadSessionResult {
  session: PipelineSession;
  /** Set when the file is a checkpoint. */
  checkpointName?: string;
  savedAt?: string;
  /** Set when the file is a checkpoint that deltas may follow (checkpointDeltas.ts). */
  checkpointToken?: string;
  /** Paths in the file the model could not hold (reported, not fatal). */
  skipped: string[];
}

export interface ReadSessionOptions {
  /** Read a session bigger than memory: past the budget, arrays go to its store as units are read. */
  memoryBudget?: MemoryBudget;
  /**
   * Numeric datasets of at least this many bytes stay in the file and are read when a view, step or
   * save needs them (default `KEEP_IN_FILE_FROM_BYTES`); the session then depends on the file until
   * it is closed (`closeSources`). `false` reads everything now, for a file that goes away after.
   */
  keepInFile?: number | false;
  /** Where the arrays left in the file are read from, when not `path`: the same bytes, kept open longer. */
  readLaterFrom?: string;
  /**
   * Leave groups below the top ones, and each unit's spike train and rate, in the file too, read
   * when first used (default: for files of `DEFER_GROUPS_FROM_BYTES` or more; needs `keepInFile`).
   */
  deferGroups?: boolean;
}

/**
 * From this size on a session file's groups are read when first used: a 1,000-unit hour has 76,000
 * datasets, which take 40 s to read and the page needs none of to show its units. A smaller file
 * is read whole: it costs little, and the session then needs the file only for its big arrays.
 */
export const DEFER_GROUPS_FROM_BYTES = 256 << 20;

/**
 * Below this an array is read at once: the cutout columns of a 1,000-unit hour (77 kB a unit, most
 * of a 4.5 GB session) stay in the file, spike times and small results do not need a file to read.
 */
export const KEEP_IN_FILE_FROM_BYTES = 16 << 10;

export function readSessionFile(rt: H5Runtime, path: string, options: ReadSessionOptions = {}): ReadSessionResult {
  const name = baseName(path);
  const file = openH5(rt, path, "r");
  let heaps: HeapWatch | undefined;
  let source: H5SourceFile | undefined;
  try {
    // Before the first string is read: a damaged string heap would hang HDF5, so every one HDF5
    // loads is checked first (see h5Heaps.ts).
    heaps = watchGlobalHeaps(rt, path);
    const attrs = Object.keys(file.attrs);
    const bytes = fileSize(rt, path);
    const report: ReadReport = { skipped: [], limits: readLimits(name, bytes) };
    const keep = options.keepInFile ?? KEEP_IN_FILE_FROM_BYTES;
    if (keep !== false) {
      // Big arrays stay in the file; in a big file so do the groups below the top ones and each
      // unit's train and rate, read when first used.
      source ??= openSourceFile(rt, options.readLaterFrom ?? path, name);
      const later = readLater(rt, source, keep);
      report.keepInFile = later.keepInFile;
      if (options.deferGroups ?? bytes >= DEFER_GROUPS_FROM_BYTES) report.deferGroup = later.deferGroup;
    }
    const notes: string[] = [];
    const session = new PipelineSession(sessionId(file, attrs, name, notes), {
      createdAt: attrText(file, attrs, "created_at"),
    });

    const sources = groupAt(file, "source_files");
    if (sources) {
      const a = Object.keys(sources.attrs);
      const cmcr = attrText(sources, a, "cmcr_path");
      const cmtr = attrText(sources, a, "cmtr_path");
      session.sourceFiles = {
        ...(cmcr !== undefined ? { cmcr } : {}),
        ...(cmtr !== undefined ? { cmtr } : {}),
      };
    } else if (attrs.includes("source_files")) {
      // Immediate-mode files keep the source paths as a JSON string attribute on the root.
      session.sourceFiles = jsonSourceFiles(attributeValueOf(file, "source_files"), notes);
    }
    const legacyRoot = attrs.filter((key) => !ROOT_ATTRS.has(key));

    const info = groupAt(file, "pipeline/session_info");
    const infoAttrs = info ? Object.keys(info.attrs) : [];
    const savedAt = info ? attrText(info, infoAttrs, "saved_at") : undefined;
    const checkpointName = info ? attrText(info, infoAttrs, "checkpoint_name") : undefined;
    const checkpointToken = info ? attrText(info, infoAttrs, "checkpoint_token") : undefined;
    if (info) {
      session.completedSteps = readLog<StepRecord>(info, "step_log") ??
        readStrings(info, "completed_steps").map((s) => ({ name: s, params: {}, completedAt: savedAt ?? "" }));
      session.warnings = readLog<SessionWarning>(info, "warning_log") ??
        readStrings(info, "warnings").map((message) => ({ message, at: savedAt ?? "" }));
    }

    const metadata = groupAt(file, "metadata");
    if (metadata) session.metadata = readTree(metadata, report);
    // Immediate mode kept section_time_* as root attributes; the session layout has them in metadata.
    for (const key of legacyRoot.filter((k) => k.startsWith("section_time_"))) {
      const leaf = attributeLeaf(file, key);
      if (leaf !== undefined && !(key in session.metadata)) session.metadata[key] = leaf;
    }
    const unplaced = legacyRoot.filter((k) => !k.startsWith("section_time_") && k !== "source_files");
    if (unplaced.length) notes.push(`root attribute(s) with no place in the session were not loaded: ${unplaced.join(", ")}`);
    const stimulus = groupAt(file, "stimulus");
    if (stimulus) session.stimulus = readTree(stimulus, report);

    const units = groupAt(file, "units");
    if (units) {
      const loaded: Unit[] = [];
      const budget = options.memoryBudget;
      let resident = budget ? session.arrayBytes().resident : 0;
      for (const id of units.keys()) {
        const group = groupAt(units, id);
        if (!group) continue;
        const unit = readUnit(group, id, report);
        loaded.push(unit);
        if (budget) {
          resident += unitArrayBytes(unit, { resident: 0, spilled: 0 }).resident;
          if (resident > budget.budgetBytes) resident -= enforceBudget({ metadata: session.metadata, stimulus: session.stimulus, units: loaded }, resident, budget).bytes;
        }
      }
      // HDF5 lists names alphabetically (unit_1000 before unit_101); keep the units' numeric order.
      loaded.sort((a, b) => a.attrs.unit_num - b.attrs.unit_num || a.id.localeCompare(b.id));
      for (const unit of loaded) session.units.set(unit.id, unit);
    }
    // Set directly, not through setMemoryBudget: what is spilled is already within the budget.
    session.memoryBudget = options.memoryBudget;
    for (const note of notes) session.warn(`${name}: ${note}`);
    if (savedAt !== undefined) session.markSaved(path, savedAt);
    session.hasUnsavedChanges = false;
    heaps.assertSound();
    if (source && sourcesInUse(session).includes(source)) attachSources(session, [source]);
    else source?.close();
    return { session, checkpointName, savedAt, checkpointToken, skipped: report.skipped };
  } catch (error) {
    source?.close();
    // A damaged string heap fails HDF5's read of it: the refusal says why.
    throw heaps?.refusal ?? damagedFileError(name, "the session", error);
  } finally {
    closeQuietly(file);
    heaps?.release();
  }
}

/** The datasets the writer puts in every unit group. */
const UNIT_OWN: ReadonlySet<string> = new Set(Object.values(UNIT_DATASETS));

/** The top-level members a session file has a place for; the reader ignores any other. */
const ROOT_PLACES: ReadonlySet<string> = new Set(ROOT_MEMBERS);

/** Top-level groups and datasets of `path` with no place in the session (written there by other programs). */
export function unplacedRootMembers(rt: H5Runtime, path: string): string[] {
  const file = openH5(rt, path, "r");
  try {
    return file.keys().filter((name) => !ROOT_PLACES.has(name));
  } catch (error) {
    throw damagedFileError(baseName(path), "the session", error);
  } finally {
    closeQuietly(file);
  }
}

/** A string attribute of `node` (its attribute names `names`), or undefined if it has none. */
function attrText(node: H5Group, names: string[], key: string): string | undefined {
  return names.includes(key) ? String(attributeValueOf(node, key)) : undefined;
}

/** Root attributes of the session layout (ours and the lab's); any other is reported or mapped. */
const ROOT_ATTRS: ReadonlySet<string> = new Set(ROOT_ATTRIBUTES);

/**
 * `/@dataset_id`; files of the lab's older immediate mode have none, so like the lab's universal
 * loader we take `metadata/dataset_id`, else the file name. Only files that look like the lab's
 * (pipeline attributes or units/metadata groups) get the fallback: any other HDF5 file is refused.
 */
function sessionId(file: H5Group, attrs: string[], name: string, notes: string[]): string {
  const fromAttr = attrText(file, attrs, "dataset_id");
  if (fromAttr !== undefined) return fromAttr;
  const looksLikeLab =
    attrs.includes("hdmea_pipeline_version") || attrs.includes("stage1_completed") || (groupAt(file, "units") !== undefined && groupAt(file, "metadata") !== undefined);
  if (!looksLikeLab) throw fileError(name, "not a session file (no /@dataset_id attribute)");
  const node = file.get("metadata/dataset_id");
  const value = node && (node as H5Group).type === "Dataset" ? readDataset(node as never) : undefined;
  const fromMetadata = value instanceof StringArray ? value.data[0] : typeof value === "string" ? value : undefined;
  const id = fromMetadata?.trim() || name.replace(/\.(h5|hdf5)$/i, "");
  notes.push(`no /@dataset_id (an older immediate-mode file): dataset id "${id}" taken from ${fromMetadata?.trim() ? "metadata/dataset_id" : "the file name"}`);
  return id;
}

function jsonSourceFiles(value: unknown, notes: string[]): { cmcr?: string; cmtr?: string } {
  try {
    const parsed = JSON.parse(String(value)) as Record<string, unknown>;
    const pick = (...keys: string[]) => keys.map((k) => parsed[k]).find((v) => typeof v === "string") as string | undefined;
    const cmcr = pick("cmcr_path", "cmcr");
    const cmtr = pick("cmtr_path", "cmtr");
    return { ...(cmcr ? { cmcr } : {}), ...(cmtr ? { cmtr } : {}) };
  } catch {
    notes.push("the source_files attribute is not JSON; source files unknown");
    return {};
  }
}

function attributeLeaf(group: H5Group, key: string): Tree[string] | undefined {
  const leaf = readAttributes(group, { skipped: [] }, new Set())[key];
  return leaf;
}

function groupAt(parent: H5Group, path: string): H5Group | undefined {
  const node = parent.get(path);
  return node && (node as H5Group).type === "Group" ? (node as H5Group) : undefined;
}

function readStrings(group: H5Group, name: string): string[] {
  const node = group.get(name);
  if (!node || (node as H5Group).type !== "Dataset") return [];
  const value = readDataset(node as never);
  if (value instanceof StringArray) return [...value.data];
  return typeof value === "string" ? [value] : [];
}

function readLog<T>(group: H5Group, name: string): T[] | undefined {
  const lines = readStrings(group, name);
  try {
    return lines.length ? lines.map((line) => JSON.parse(line) as T) : undefined;
  } catch {
    // A damaged log line: the plain completed_steps / warnings datasets still say what happened.
    return undefined;
  }
}

function readUnit(group: H5Group, id: string, report: ReadReport): Unit {
  const attrs: Record<string, number | string> = {};
  for (const name of attributeNamesOf(group)) {
    const value = attributeValueOf(group, name);
    attrs[name] = typeof value === "string" ? value : Number(Array.isArray(value) ? value[0] : value);
  }
  // The unit group's own attributes are the unit's attrs above, not children.
  const children = readTree(group, { ...report, expectDatasets: UNIT_OWN }, undefined, 0, false);
  const take = (key: string): NDArray | undefined => {
    const node = children[key];
    delete children[key];
    return node instanceof NDArray ? node : undefined;
  };
  const spikes = take(UNIT_DATASETS.spikeTimes);
  const waveform = take(UNIT_DATASETS.waveform);
  const rate = take(UNIT_DATASETS.firingRate10hz);
  // In a file whose groups are read when used, a train or a rate left there stays until read (a
  // 1,000-unit hour has 160 MB of trains and 144 MB of rates).
  const later = report.deferGroup !== undefined;
  const spikesInFile = later && spikes?.source && spikes.dtype === "uint64" ? spikes : undefined;
  const rateInFile = later && rate?.source && rate.dtype === "float32" ? rate : undefined;
  const unit: Unit = {
    id,
    attrs: {
      row: 0,
      col: 0,
      global_id: 0,
      unit_num: Number(/\d+$/.exec(id)?.[0] ?? 0),
      original_name: id,
      ...attrs,
    } as UnitAttrs,
    spikeTimes: spikes && !spikesInFile ? toBigUint64(spikes) : new BigUint64Array(0),
    waveform: waveform ? toFloat32(waveform) : undefined,
    firingRate10hz: rate && !rateInFile ? toFloat32(rate) : undefined,
    children: children as Tree,
  };
  if (spikesInFile) holdUnitArray(unit, "spikeTimes", spikesInFile);
  if (rateInFile) holdUnitArray(unit, "firingRate10hz", rateInFile);
  return unit;
}

/**
 * How a read leaves things in `source` for later: arrays of `fromBytes` or more, and every group
 * below the one being read (read one level at a time, when first used, from the file the source
 * reads then: a save or a re-attach may have moved it).
 */
function readLater(rt: H5Runtime, source: H5SourceFile, fromBytes: number): Pick<ReadReport, "keepInFile" | "deferGroup"> {
  const inGroup = <T>(from: SourceFile, groupPath: string, read: (group: H5Group, report: ReadReport, depth: number) => T): T => {
    const file = from as H5SourceFile;
    return file.group(groupPath, (group) => {
      const report: ReadReport = { skipped: [], limits: readLimits(file.name, fileSize(rt, file.path)), ...readLater(rt, file, fromBytes) };
      return read(group, report, groupPath.split("/").length - 1);
    });
  };
  const reads: GroupReads = {
    level: (from, groupPath) => inGroup(from, groupPath, (group, report, depth) => readTree(group, report, undefined, depth)),
    look: (from, groupPath, look) => inGroup(from, groupPath, (group, report, depth) => look(groupLook(group, report, depth))),
  };
  return {
    keepInFile: { fromBytes, bytes: (datasetPath, dtype, shape) => source.dataset(datasetPath, dtype, shape) },
    deferGroup: (tree, name, groupPath) => deferGroup(tree, name, new DeferredGroup(source, groupPath, reads)),
  };
}

function toBigUint64(array: NDArray): BigUint64Array {
  if (array.data instanceof BigUint64Array) return array.data;
  return BigUint64Array.from(array.data as ArrayLike<number | bigint>, (v) => BigInt(v));
}

function toFloat32(array: NDArray): Float32Array {
  return array.data instanceof Float32Array ? array.data : Float32Array.from(array.data as ArrayLike<number>);
}

/**
 * Before a full write of `session` replaces the file at `path`: the source files the session reads
 * that are that file. Call the returned function once the new file is in place (renamed over the
 * old one): their arrays then read from the new file, which holds the same bytes at the places the
 * writer put them, and the old files are closed. Without it the session would read a replaced file
 * (the source check refuses that, naming the file).
 */
export function whenReplacing(rt: H5Runtime, session: PipelineSession, path: string): () => void {
  const replaced = sourcesInUse(session).filter((s) => "isAt" in s && (s as H5SourceFile).isAt(path));
  if (!replaced.length) return () => {};
  return () => readArraysFrom(rt, session, path, (s) => replaced.includes(s));
}

/**
 * The session's arrays left in files that `which` picks read from the session file at `path` from
 * now on: a full copy written from this session (a save or a checkpoint), so each array is at its
 * place in the layout with the same bytes. Returns the new source (named `name`).
 */
export function readArraysFrom(rt: H5Runtime, session: PipelineSession, path: string, which: (s: SourceFile) => boolean, name = baseName(path)): SourceFile | undefined {
  const source = openSourceFile(rt, path, name);
  const moved = new Set<SourceFile>();
  const visit = (node: Tree[string] | undefined, at: string): void => {
    if (node instanceof NDArray) {
      if (node.source && which(node.source)) {
        moved.add(node.source);
        node.repoint(source.dataset(at, node.dtype, node.shape));
      }
    } else if (isTree(node)) {
      forEachMember(
        node,
        (key, child) => visit(child, `${at}/${key}`),
        (_, group) => {
          // The new file holds the group at the same path: it is read from there when first used.
          if (!which(group.source)) return;
          moved.add(group.source);
          group.repoint(source);
        },
      );
    }
  };
  visit(session.metadata, "/metadata");
  visit(session.stimulus, "/stimulus");
  for (const unit of session.units.values()) {
    for (const field of HELD_FIELDS) {
      const array = heldArrayOf(unit, field);
      if (!array?.source || !which(array.source)) continue;
      moved.add(array.source);
      array.repoint(source.dataset(`/units/${unit.id}/${UNIT_DATASETS[field]}`, array.dtype, array.shape));
    }
    visit(unit.children, `/units/${unit.id}`);
  }
  if (!moved.size) {
    source.close();
    return undefined;
  }
  swapSources(session, moved, source);
  return source;
}

/** A checkpoint delta (`DeltaHeader`, sessionLayout.ts): the header and the subtrees `delta.paths` lists. */
export function writeDeltaFile(rt: H5Runtime, path: string, session: PipelineSession, delta: DeltaHeader, options: WriteSessionOptions): void {
  const opts: WriteOptions = { ...DEFAULT_WRITE_OPTIONS, ...options };
  checkSources(session);
  const file = openH5(rt, path, "w");
  try {
    writeLayout(file, sessionLayout(session, { ...options, delta }, deltaContents(session, delta)), opts, false);
  } finally {
    file.close();
  }
}

/** The parts of `session` that `delta.paths` name; a path to nothing (removed since) leaves nothing. */
function deltaContents(session: PipelineSession, delta: DeltaHeader): SessionContents {
  const sparse: Record<"metadata" | "stimulus", Tree> = { metadata: {}, stimulus: {} };
  const wholeUnits = new Set<string>();
  const unitParts = new Map<string, Tree>();
  for (const deltaPath of delta.paths) {
    const [top, ...rest] = deltaPath.split("/");
    if (top === "metadata" || top === "stimulus") {
      const node = rest.length ? nodeAt(session[top], rest) : session[top];
      if (node === undefined) continue;
      if (rest.length) placeAt(sparse[top], rest, node);
      else sparse[top] = node as Tree;
    } else if (top === "units") {
      const [id, ...inUnit] = rest;
      if (id === undefined) for (const unitId of session.units.keys()) wholeUnits.add(unitId);
      else if (!session.units.has(id)) continue;
      else if (inUnit.length === 0) wholeUnits.add(id);
      else {
        const node = nodeAt(session.units.get(id)!.children, inUnit);
        if (node === undefined) continue;
        const tree = unitParts.get(id) ?? {};
        unitParts.set(id, tree);
        placeAt(tree, inUnit, node);
      }
    } else {
      throw new Error(`checkpoint delta: no place for ${deltaPath}`);
    }
  }
  const units: [string, LayoutGroup][] = [...wholeUnits].map((id) => [id, unitLayout(session.units.get(id)!)]);
  // A part of a unit lies in a group holding nothing else of it.
  for (const [id, tree] of unitParts) units.push([id, new LayoutGroup({ tree })]);
  return { ...sparse, units };
}

/**
 * Applies the delta at `path` to `session` (read from the checkpoint it follows and the deltas
 * before it). Returns undefined, changing nothing, when the file is not the delta `expected` says
 * (a leftover of an older checkpoint); a delta that is damaged fails with the file's name.
 */
export function applyDeltaFile(
  rt: H5Runtime,
  path: string,
  session: PipelineSession,
  expected: { of: string; index: number },
): { savedAt?: string; checkpointName?: string } | undefined {
  const name = baseName(path);
  const file = openH5(rt, path, "r");
  let heaps: HeapWatch | undefined;
  try {
    heaps = watchGlobalHeaps(rt, path);
    const info = groupAt(file, "pipeline/session_info");
    const infoAttrs = info ? Object.keys(info.attrs) : [];
    if (!info || attrText(info, infoAttrs, "checkpoint_delta_of") !== expected.of) return undefined;
    if (!infoAttrs.includes("checkpoint_delta_index") || Number(attributeValueOf(info, "checkpoint_delta_index")) !== expected.index) return undefined;
    const report: ReadReport = { skipped: [], limits: readLimits(name, fileSize(rt, path)) };
    // Read everything first: a damaged delta fails here and leaves the session as it was.
    const paths = readStrings(info, "checkpoint_delta_paths");
    const steps = readLog<StepRecord>(info, "step_log") ?? [];
    const warnings = readLog<SessionWarning>(info, "warning_log") ?? [];
    const sources = groupAt(file, "source_files");
    const sourceAttrs = sources ? Object.keys(sources.attrs) : [];
    const cmcr = sources ? attrText(sources, sourceAttrs, "cmcr_path") : undefined;
    const cmtr = sources ? attrText(sources, sourceAttrs, "cmtr_path") : undefined;
    const treeOf = (top: string): Tree => {
      const group = groupAt(file, top);
      return group ? readTree(group, report) : {};
    };
    const trees = { metadata: treeOf("metadata"), stimulus: treeOf("stimulus") };
    const unitsGroup = groupAt(file, "units");
    const wholeUnits = new Map<string, Unit>();
    const unitParts = new Map<string, Tree>();
    const listed = new Set(paths);
    for (const id of unitsGroup?.keys() ?? []) {
      const group = groupAt(unitsGroup!, id);
      if (!group) continue;
      if (listed.has(`units/${id}`) || listed.has("units")) wholeUnits.set(id, readUnit(group, id, report));
      else unitParts.set(id, readTree(group, report, undefined, 0, false));
    }
    heaps.assertSound();

    session.completedSteps = steps;
    session.warnings = warnings;
    session.sourceFiles = { ...(cmcr !== undefined ? { cmcr } : {}), ...(cmtr !== undefined ? { cmtr } : {}) };
    let unitsMoved = false;
    for (const deltaPath of paths) {
      const [top, ...rest] = deltaPath.split("/");
      if (top === "metadata" || top === "stimulus") {
        if (rest.length === 0) session[top] = trees[top];
        else replaceAt(session[top], rest, nodeAt(trees[top], rest), name);
      } else if (top === "units") {
        const [id, ...inUnit] = rest;
        unitsMoved = true;
        if (id === undefined) session.units = new Map(wholeUnits);
        else if (inUnit.length === 0) {
          const unit = wholeUnits.get(id);
          if (unit) session.units.set(id, unit);
          else session.units.delete(id);
        } else {
          const unit = session.units.get(id);
          if (!unit) throw fileError(name, `changes unit ${id}, which the checkpoint before it does not hold`);
          replaceAt(unit.children, inUnit, nodeAt(unitParts.get(id) ?? {}, inUnit), name);
        }
      } else {
        throw fileError(name, `a checkpoint delta path with no place in a session: ${deltaPath}`);
      }
    }
    if (unitsMoved) {
      const sorted = [...session.units.values()].sort((a, b) => a.attrs.unit_num - b.attrs.unit_num || a.id.localeCompare(b.id));
      session.units = new Map(sorted.map((u) => [u.id, u]));
    }
    return { savedAt: attrText(info, infoAttrs, "saved_at"), checkpointName: attrText(info, infoAttrs, "checkpoint_name") };
  } catch (error) {
    throw heaps?.refusal ?? damagedFileError(name, "the checkpoint delta", error);
  } finally {
    closeQuietly(file);
    heaps?.release();
  }
}

function nodeAt(tree: Tree, parts: readonly string[]): TreeNode | undefined {
  let node: TreeNode | undefined = tree;
  for (const part of parts) {
    if (!isTree(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

/** Sets `parts` in `tree` to `node`, making the groups on the way. */
function placeAt(tree: Tree, parts: readonly string[], node: TreeNode): void {
  let group = tree;
  for (const part of parts.slice(0, -1)) {
    if (!isTree(group[part])) group[part] = {};
    group = group[part] as Tree;
  }
  group[parts[parts.length - 1]] = node;
}

/** `placeAt`, or removes the node when the delta does not hold it (it was removed). */
function replaceAt(tree: Tree, parts: readonly string[], node: TreeNode | undefined, name: string): void {
  if (node !== undefined) {
    placeAt(tree, parts, node);
    return;
  }
  const parent = nodeAt(tree, parts.slice(0, -1));
  if (parent !== undefined && !isTree(parent)) throw fileError(name, `removes ${parts.join("/")}, but ${parts.slice(0, -1).join("/")} is not a group`);
  if (parent) delete parent[parts[parts.length - 1]];
}
