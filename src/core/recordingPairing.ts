/**
 * Which dropped files belong together. A recording is `NAME.cmcr` (raw) + `NAME-.cmtr` (spike
 * sorting). Stems are compared lower-cased, without the `_sorted` / `_spikes` / `_raw` markers the lab
 * sometimes adds and without the trailing `-` MCS puts on the .cmtr name.
 */

export type RecordingKind = "cmcr" | "cmtr";

export interface RecordingFileName {
  name: string;
  kind: RecordingKind;
  /** The file name without extension, as written (case kept). */
  stem: string;
  /** What pairs are matched on. */
  key: string;
}

export interface RecordingPair {
  key: string;
  cmcr: string;
  cmtr: string;
  datasetId: string;
}

export interface LoneRecordingFile {
  key: string;
  name: string;
  kind: RecordingKind;
  /** The partner's kind, to ask the user for it. */
  missing: RecordingKind;
  datasetId: string;
}

export interface PairingResult {
  pairs: RecordingPair[];
  lone: LoneRecordingFile[];
  /** One sentence per file that cannot be used, naming it. */
  problems: string[];
}

const MARKERS = ["_sorted", "_spikes", "_raw"];

export function parseRecordingFileName(name: string): RecordingFileName | undefined {
  const base = name.split(/[\\/]/).pop() ?? name;
  const match = /^(.*)\.(cmcr|cmtr)$/i.exec(base);
  if (!match) return undefined;
  const stem = match[1];
  return { name: base, kind: match[2].toLowerCase() as RecordingKind, stem, key: pairingKey(stem) };
}

export function pairingKey(stem: string): string {
  let key = stem.toLowerCase();
  for (const marker of MARKERS) key = key.split(marker).join("");
  return key.replace(/-+$/, "");
}

/** The default dataset id: the .cmtr stem (else the .cmcr stem) without its trailing `-`. */
export function datasetIdFromStems(cmtrStem?: string, cmcrStem?: string): string {
  const stem = cmtrStem ?? cmcrStem;
  if (stem === undefined) throw new Error("no recording file to name the dataset after");
  return stem.replace(/-+$/, "");
}

/** The default dataset id from file names (any extension is cut, so odd names still get an id). */
export function datasetIdFromNames(cmtrName?: string, cmcrName?: string): string {
  return datasetIdFromStems(stemOf(cmtrName), stemOf(cmcrName));
}

function stemOf(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const base = name.split(/[\\/]/).pop() ?? name;
  return parseRecordingFileName(base)?.stem ?? base.replace(/\.[^.]*$/, "");
}

export function pairRecordingFiles(names: readonly string[]): PairingResult {
  const result: PairingResult = { pairs: [], lone: [], problems: [] };
  const byKey = new Map<string, { cmcr: RecordingFileName[]; cmtr: RecordingFileName[] }>();
  for (const name of names) {
    const parsed = parseRecordingFileName(name);
    if (!parsed) {
      result.problems.push(`${name}: not a recording file (expected NAME.cmcr or NAME-.cmtr)`);
      continue;
    }
    const slot = byKey.get(parsed.key) ?? { cmcr: [], cmtr: [] };
    slot[parsed.kind].push(parsed);
    byKey.set(parsed.key, slot);
  }
  for (const [key, slot] of byKey) {
    for (const kind of ["cmcr", "cmtr"] as const) {
      if (slot[kind].length > 1) {
        result.problems.push(
          `${slot[kind].map((f) => f.name).join(", ")}: ${slot[kind].length} .${kind} files for the same recording "${key}"; drop one`,
        );
      }
    }
    if (slot.cmcr.length > 1 || slot.cmtr.length > 1) continue;
    const [cmcr] = slot.cmcr;
    const [cmtr] = slot.cmtr;
    if (cmcr && cmtr) {
      result.pairs.push({ key, cmcr: cmcr.name, cmtr: cmtr.name, datasetId: datasetIdFromStems(cmtr.stem, cmcr.stem) });
    } else {
      const file = (cmcr ?? cmtr)!;
      result.lone.push({
        key,
        name: file.name,
        kind: file.kind,
        missing: file.kind === "cmcr" ? "cmtr" : "cmcr",
        datasetId: datasetIdFromStems(cmtr?.stem, cmcr?.stem),
      });
    }
  }
  return result;
}

/** Why two given files are not one recording, or undefined when their names match. */
export function pairNameMismatch(cmcrName: string, cmtrName: string): string | undefined {
  const cmcr = parseRecordingFileName(cmcrName);
  const cmtr = parseRecordingFileName(cmtrName);
  if (!cmcr || cmcr.kind !== "cmcr") return `${cmcrName}: not a .cmcr file`;
  if (!cmtr || cmtr.kind !== "cmtr") return `${cmtrName}: not a .cmtr file`;
  if (cmcr.key !== cmtr.key) {
    return `${cmcr.name} and ${cmtr.name} are not one recording: their names differ ("${cmcr.key}" vs "${cmtr.key}")`;
  }
  return undefined;
}
