/**
 * Which recordings the command line names. A recording is `NAME.cmcr` + `NAME-.cmtr` side by side
 * (names compared as the pairing in core/recordingPairing.ts does); either file alone brings its
 * partner from the same folder, and a folder brings every recording in it.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { datasetIdFromNames, pairingKey, parseRecordingFileName, type RecordingKind } from "../core/recordingPairing.ts";
import { UsageError } from "./args.ts";
import { HdmeaError, fileError } from "../core/failure.ts";

export interface RecordingFiles {
  label: string;
  cmtrPath?: string;
  cmcrPath?: string;
  datasetId: string;
}

/** The file of `kind` beside `path` that pairs with it, or undefined. */
export function findPartner(path: string, kind: RecordingKind): string | undefined {
  const parsed = parseRecordingFileName(path);
  if (!parsed) return undefined;
  const dir = dirname(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const match = names.find((n) => {
    const other = parseRecordingFileName(n);
    return other?.kind === kind && pairingKey(other.stem) === parsed.key;
  });
  return match === undefined ? undefined : join(dir, match);
}

export function recordingFiles(cmtrPath: string | undefined, cmcrPath: string | undefined): RecordingFiles {
  return {
    label: basename((cmtrPath ?? cmcrPath)!),
    cmtrPath,
    cmcrPath,
    datasetId: datasetIdFromNames(cmtrPath && basename(cmtrPath), cmcrPath && basename(cmcrPath)),
  };
}

/**
 * Every recording named by `paths` (files and folders), each once, sorted by label. Paths are made
 * absolute: h5wasm resolves relative ones against its own working directory.
 */
export function discoverRecordings(paths: readonly string[]): RecordingFiles[] {
  const files: string[] = [];
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw fileError(path, "file not found");
    }
    if (isDir) {
      const found = readdirSync(path).filter((n) => parseRecordingFileName(n)).map((n) => resolve(path, n));
      if (!found.length) throw fileError(path, "no .cmcr or .cmtr files in this folder");
      files.push(...found);
    } else if (parseRecordingFileName(path)) {
      files.push(resolve(path));
    } else {
      throw new UsageError(`${path}: not a recording file (expected NAME.cmcr, NAME-.cmtr or a folder of them)`);
    }
  }
  const groups = new Map<string, { cmtr?: string; cmcr?: string }>();
  for (const file of new Set(files)) {
    const parsed = parseRecordingFileName(file)!;
    const key = `${dirname(file)}\u0000${parsed.key}`;
    const slot = groups.get(key) ?? {};
    if (slot[parsed.kind] !== undefined && slot[parsed.kind] !== file) {
      throw new HdmeaError(`${basename(slot[parsed.kind]!)} and ${parsed.name}: two .${parsed.kind} files for one recording; keep one`, "bad-input", parsed.name);
    }
    slot[parsed.kind] = file;
    groups.set(key, slot);
  }
  const recordings: RecordingFiles[] = [];
  for (const slot of groups.values()) {
    const cmtr = slot.cmtr ?? findPartner(slot.cmcr!, "cmtr");
    const cmcr = slot.cmcr ?? findPartner(slot.cmtr!, "cmcr");
    recordings.push(recordingFiles(cmtr, cmcr));
  }
  return recordings.sort((a, b) => a.label.localeCompare(b.label));
}
