/**
 * Reads a `.cmtr` (MCS spike-sorter output) into `CmtrContents`:
 *
 *   /@ID.Type, @ID.TypeID, @FileVersion, @DateTime, …      → rootAttrs (metadata.cmtr_meta)
 *   /Spike Sorter/Unit N   (ID.TypeID 0e5a97df-…, @UnitID, @SensorID)
 *       Peaks       compound: Timestamp (µs), PeakAmplitude, IncludePeak, then one field per cutout sample
 *       Unit Info   compound, one row: Row, Column, SensorID, UnitID, RoiID, quality measures, …
 *       RoiSTAs, Unmixing (numeric), Source (not read: large, and only the original's bug used it)
 *
 * Only these datasets are read; `Peaks` through the fast column decoder.
 */
import { NDArray, StringArray, type Tree } from "../../core/ndarray.ts";
import type { CmtrContents, PeakTable, SortedUnitContents } from "../../core/recordingContents.ts";
import { baseName, fileSize, openH5, numericDtype, type H5Dataset, type H5Group, type H5Runtime } from "../h5.ts";
import { checkDeclaredSize, readDataset, readLimits, type ReadLimits } from "../h5Tree.ts";
import { compoundLayout, decodedBytes, readCompoundColumns } from "./compoundColumns.ts";
import { assertCmosMeaFile } from "./mcsFileCheck.ts";
import { MCS_TYPE_ID, attrsToTree, cleanString, findPath, isDataset, isGroup, mcsKey, mcsPythonName, readAttr, typeIdOf } from "./mcsNames.ts";
import { closeQuietly, damagedFileError, guarded } from "./readGuard.ts";
import type { H5SourceFile } from "../sourceFile.ts";
import { HdmeaError, fileError } from "../../core/failure.ts";

export interface ReadCmtrOptions {
  /** Called after each unit with (units done, units total). */
  onUnit?: (done: number, total: number) => void;
  /**
   * The file as a source (`sourceFile.ts`): the `Peaks` columns are then left in it, read when the
   * load step (or a save) asks for them, instead of being decoded here.
   */
  source?: H5SourceFile;
}

export function readCmtr(rt: H5Runtime, path: string, options: ReadCmtrOptions = {}): CmtrContents {
  const name = baseName(path);
  const file = openH5(rt, path, "r");
  try {
    assertCmosMeaFile(file, name, ".cmtr");
    const rootAttrs = guarded(name, "the root attributes", () => attrsToTree(file));
    const duration = readAttr(file, "LB.RecordingDuration");

    const sorter = guarded(name, "/Spike Sorter", () => findPath(file, "Spike Sorter"));
    if (!isGroup(sorter)) throw fileError(name, "no spike sorter results (group /Spike Sorter missing)");
    const groups = unitGroups(sorter, name);
    if (groups.length === 0) throw fileError(name, "no spike sorter results (/Spike Sorter has no Unit groups)");

    const limits = readLimits(name, fileSize(rt, path));
    const units: SortedUnitContents[] = [];
    const seen = new Map<number, string>();
    for (const [i, group] of groups.entries()) {
      const unit = guarded(name, group.path, () => readUnit(rt, group, name, limits, options.source));
      const previous = seen.get(unit.unitNum);
      if (previous !== undefined) {
        throw fileError(name, `${previous} and ${groupName(group)} both give unit number ${unit.unitNum}`);
      }
      seen.set(unit.unitNum, groupName(group));
      units.push(unit);
      options.onUnit?.(i + 1, groups.length);
    }
    units.sort((a, b) => a.unitNum - b.unitNum);
    return {
      fileName: name,
      path,
      rootAttrs,
      recordingDurationUs: typeof duration === "number" && duration > 0 ? duration : undefined,
      units,
    };
  } catch (error) {
    // Anything not already explained (a damaged link table met while listing, say) still names the file.
    throw damagedFileError(name, "the spike sorter results", error);
  } finally {
    closeQuietly(file);
  }
}

/** Unit groups by `ID.TypeID`; files without type ids fall back to `Unit N` names. */
function unitGroups(sorter: H5Group, fileName: string): H5Group[] {
  const children = guarded(fileName, sorter.path, () =>
    sorter.keys().map((k) => sorter.get(k)).filter(isGroup),
  );
  const typed = children.filter((g) => typeIdOf(g) === MCS_TYPE_ID.spikeSorterUnit);
  if (typed.length) return typed;
  return children.filter((g) => /^unit_\d+$/.test(mcsKey(groupName(g))));
}

function groupName(group: H5Group): string {
  return group.path.split("/").pop() ?? group.path;
}

function readUnit(rt: H5Runtime, group: H5Group, fileName: string, limits: ReadLimits, source?: H5SourceFile): SortedUnitContents {
  const hdf5Name = groupName(group);
  const where = `${fileName}: ${group.path}`;
  const bad = (detail: string) => new HdmeaError(`${where}: ${detail}`, "bad-input", fileName);
  const originalName = mcsPythonName(hdf5Name);
  const numbered = /^unit_(\d+)$/i.exec(originalName);
  const unitIdAttr = readAttr(group, "UnitID");
  const unitNum = numbered ? Number(numbered[1]) : typeof unitIdAttr === "number" ? unitIdAttr : undefined;
  if (unitNum === undefined || !Number.isSafeInteger(unitNum) || unitNum < 0) {
    throw bad('cannot tell the unit number (name is not "Unit N" and there is no UnitID attribute)');
  }

  const peaksNode = findPath(group, "Peaks");
  if (!isDataset(peaksNode)) throw bad("no Peaks dataset");
  const peaks = guarded(fileName, `${group.path}/Peaks`, () => readPeaks(rt, peaksNode, fileName, where, limits, source));

  const infoNode = findPath(group, "Unit Info");
  const unitInfo = isDataset(infoNode) ? guarded(fileName, `${group.path}/Unit Info`, () => readUnitInfo(infoNode, fileName, where)) : undefined;

  return {
    unitNum,
    originalName,
    groupAttrs: attrsToTree(group),
    unitInfo,
    peaks,
    roiStas: optionalNumeric(group, "RoiSTAs", fileName, limits),
    unmixing: optionalNumeric(group, "Unmixing", fileName, limits),
  };
}

function readPeaks(rt: H5Runtime, dataset: H5Dataset, fileName: string, where: string, limits: ReadLimits, source?: H5SourceFile): PeakTable {
  const bad = (detail: string) => new HdmeaError(`${where}/Peaks: ${detail}`, "bad-input", fileName);
  const layout = compoundLayout(dataset);
  if (typeof layout === "string") throw bad(layout);
  const fieldNames = layout.fields.map((f) => f.name);
  const find = (wanted: string) => {
    const field = layout.fields.find((f) => mcsKey(f.name) === mcsKey(wanted));
    if (!field) throw bad(`no ${wanted} field (fields: ${fieldNames.slice(0, 6).join(", ")}${fieldNames.length > 6 ? ", …" : ""})`);
    if (!field.dtype) throw bad(`field ${field.name} is not numeric`);
    return field;
  };
  const timestamp = find("Timestamp");
  const amplitude = find("PeakAmplitude");
  const include = find("IncludePeak");
  // The original takes every field after the first three as the cutout, whatever their names.
  const cutoutFields = layout.fields.slice(3);
  const odd = cutoutFields.find((f) => !f.dtype);
  if (odd) throw bad(`cutout field ${odd.name} is not numeric`);
  if (timestamp.dtype!.startsWith("float") && timestamp.size < 8) {
    throw bad(`Timestamp is ${timestamp.dtype}, too coarse for µs timestamps (expected an integer type)`);
  }

  checkDeclaredSize(limits, dataset.path, Math.max(decodedBytes(layout), layout.rowCount * layout.rowSize), `${layout.rowCount} peaks of ${layout.rowSize} bytes`);
  if (source) {
    // Nothing decoded here: each column reads the table from the file when asked (once for all its columns).
    const lazy = new Map<string, NDArray>();
    const tree: Tree = {};
    for (const field of layout.fields.filter((f) => f.dtype)) {
      const array = NDArray.fromSource(source.compoundColumn(dataset.path, layout, field), [layout.rowCount]);
      lazy.set(field.name, array);
      tree[field.name.toLowerCase()] = array;
    }
    return {
      rowCount: layout.rowCount,
      timestamp: lazy.get(timestamp.name)!,
      amplitude: lazy.get(amplitude.name)!,
      include: lazy.get(include.name)!,
      cutout: cutoutFields.map((f) => lazy.get(f.name)!),
      columns: tree,
    };
  }
  const columns = readCompoundColumns(rt, dataset, layout);
  const tree: Tree = {};
  for (const [field, data] of columns) tree[field.toLowerCase()] = new NDArray(data);
  return {
    rowCount: layout.rowCount,
    timestamp: columns.get(timestamp.name)!,
    amplitude: columns.get(amplitude.name)!,
    include: columns.get(include.name)!,
    cutout: cutoutFields.map((f) => columns.get(f.name)!),
    columns: tree,
  };
}

/** One row: each field lower-cased, as a 1-element int64/float64 array or a string (§2.3). */
function readUnitInfo(dataset: H5Dataset, fileName: string, where: string): Tree {
  const bad = (detail: string) => new HdmeaError(`${where}/Unit Info: ${detail}`, "bad-input", fileName);
  const meta = dataset.metadata;
  const members = meta.compound_type?.members;
  if (!members) throw bad("not a compound (table) dataset");
  const shape = (meta.shape ?? []).map(Number);
  const rows = shape.length === 0 ? 1 : shape[0];
  if (rows < 1) throw bad("the table is empty");
  // One small row: h5wasm's own decoding is fine here and handles string fields.
  const value = dataset.slice([[0, 1]]) as unknown;
  const row = (Array.isArray(value) && Array.isArray(value[0]) ? value[0] : value) as unknown[];
  const tree: Tree = {};
  members.forEach((member, i) => {
    const key = member.name.toLowerCase();
    const v = row[i];
    if (typeof v === "string") tree[key] = cleanString(v);
    else if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") {
      const dtype = numericDtype(member);
      const integer = dtype !== undefined && !dtype.startsWith("float");
      tree[key] = integer ? new NDArray(BigInt64Array.of(BigInt(v)), [1]) : new NDArray(Float64Array.of(Number(v)), [1]);
    } else if (Array.isArray(v) || ArrayBuffer.isView(v)) {
      const items = Array.from(v as ArrayLike<unknown>);
      if (items.every((x) => typeof x === "number")) tree[key] = new NDArray(Float64Array.from(items as number[]));
      else tree[key] = new StringArray(items.map(String));
    }
  });
  return tree;
}

function optionalNumeric(group: H5Group, name: string, fileName: string, limits: ReadLimits): NDArray | undefined {
  const node = findPath(group, name);
  if (!isDataset(node)) return undefined;
  const value = guarded(fileName, `${group.path}/${name}`, () => readDataset(node, undefined, limits));
  return value instanceof NDArray ? value : undefined;
}

