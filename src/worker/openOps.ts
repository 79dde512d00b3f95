/**
 * Opening: dropped files (session `.h5` files and `.cmcr`/`.cmtr` recordings, paired by name) and
 * the demo recording, each becoming a registered session or an item saying why it could not.
 */
import { summarizeSession, type SessionSummary } from "../core/sessionSummary.ts";
import { pairRecordingFiles } from "../core/recordingPairing.ts";
import type { H5Runtime } from "../io/h5.ts";
import { loadSession } from "../io/sessionStore.ts";
import { loadRecording } from "../io/mcs/openRecording.ts";
import { doing } from "./activity.ts";
import { warmUpCheckpointWriter } from "./checkpointWrites.ts";
import { throttledProgress } from "./progressThrottle.ts";
import { newMemoryBudget, openingRuntime, register, sessions } from "./sessionRegistry.ts";
import { openingTable, type UnitTable } from "./unitTable.ts";
import type { UnitListing } from "../core/unitListing.ts";
import { isFatal, itemFailure } from "./workerErrors.ts";
import type { Failure } from "../core/failure.ts";
import { mountFiles, unmountDrop, type MountedDrop } from "./workerFs.ts";

/** One thing a drop turned into: a session, or the reason it could not become one. */
export interface OpenedItem {
  /** What the user dropped, e.g. `rec.h5` or `rec.cmcr + rec-.cmtr`. */
  name: string;
  kind: "session-file" | "recording" | "checkpoint" | "other";
  sessionId?: string;
  summary?: SessionSummary;
  error?: string;
  /** With `error`: its kind and file, for the page to act on (`core/failure.ts`). */
  failure?: Failure;
}

export interface OpenProgress {
  name: string;
  fraction: number;
  message: string;
  /** A recording's units while it opens: listed first, spike counts filled in as they are read (`UnitTable.opening`). */
  units?: UnitTable;
}

export type ProgressCallback = (progress: OpenProgress) => void;

/** How often a recording being opened sends its units table with the spike counts read so far. */
const UNITS_EVERY_MS = 500;

export async function openFiles(files: File[], onProgress?: ProgressCallback): Promise<OpenedItem[]> {
  const rt = await openingRuntime();
  const items: OpenedItem[] = [];
  const sessionFiles = files.filter((f) => /\.(h5|hdf5)$/i.test(f.name));
  const recordingFiles = files.filter((f) => /\.(cmcr|cmtr)$/i.test(f.name));
  for (const file of files) {
    if (!sessionFiles.includes(file) && !recordingFiles.includes(file)) {
      items.push({ name: file.name, kind: "other", error: `${file.name}: not a session file (.h5) or recording (.cmcr/.cmtr)`, failure: { kind: "bad-input", file: file.name } });
    }
  }
  for (const file of sessionFiles) items.push(await openSessionFile(rt, file));
  if (recordingFiles.length) items.push(...openRecordings(rt, recordingFiles, onProgress));
  // Summaries as of now, with the memory budget each session got once its spill store opened.
  for (const item of items) {
    const open = item.sessionId ? sessions.get(item.sessionId) : undefined;
    if (!open) continue;
    await open.spill;
    item.summary = summarizeSession(open.session);
  }
  if (items.some((item) => item.sessionId)) warmUpCheckpointWriter(rt);
  return items;
}

/** `demoUrl`: the demo folder as the page resolves it (the app may be served from any folder). */
export async function openDemo(demoUrl: string, onProgress?: ProgressCallback): Promise<OpenedItem[]> {
  const names = ["demo.cmcr", "demo-.cmtr"];
  const files = await Promise.all(
    names.map(async (name) => {
      const url = new URL(name, demoUrl);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`demo recording ${name} could not be fetched (HTTP ${response.status})`);
      return new File([await response.blob()], name);
    }),
  );
  return openFiles(files, onProgress);
}

/** A dropped session or checkpoint `.h5` (checkpoints in browser storage go through `readCheckpoint`). */
async function openSessionFile(rt: H5Runtime, file: File): Promise<OpenedItem> {
  const name = file.name;
  const kind = "session-file";
  let drop: MountedDrop | undefined;
  doing("reading the session file", name);
  const budget = await newMemoryBudget();
  try {
    drop = mountFiles(rt, [file]);
    const { session } = loadSession(rt, drop.paths.get(file.name)!, { memoryBudget: budget });
    const sessionId = register({ session, name, drop, spill: Promise.resolve(budget?.store) });
    return { name, kind, sessionId, summary: summarizeSession(session) };
  } catch (error) {
    budget?.store.close();
    if (isFatal(error)) throw error;
    if (drop) unmountDrop(rt, drop.dir);
    return { name, kind, ...itemFailure(error) };
  }
}

function openRecordings(rt: H5Runtime, files: File[], onProgress?: ProgressCallback): OpenedItem[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const pairing = pairRecordingFiles(files.map((f) => f.name));
  const items: OpenedItem[] = pairing.problems.map((problem) => {
    const file = problem.split(":")[0];
    return { name: file, kind: "recording", error: problem, failure: { kind: "bad-input", file } };
  });
  const groups = [
    ...pairing.pairs.map((p) => ({ names: [p.cmcr, p.cmtr], cmcr: p.cmcr, cmtr: p.cmtr, datasetId: p.datasetId })),
    // A lone file still opens (the loader warns about the missing partner), as in the original.
    ...pairing.lone.map((l) => ({ names: [l.name], [l.kind]: l.name, datasetId: l.datasetId }) as {
      names: string[];
      cmcr?: string;
      cmtr?: string;
      datasetId: string;
    }),
  ];
  for (const group of groups) {
    const name = group.names.join(" + ");
    let drop: MountedDrop | undefined;
    doing("opening the recording", name);
    const toPage = onProgress && throttledProgress(onProgress, () => name, (p) => p.fraction >= 1);
    let last: OpenProgress = { name, fraction: 0, message: "" };
    // The table at once, then its counts at most twice a second (each sent table copies every column).
    const unitsToPage =
      onProgress &&
      throttledProgress<UnitListing>(
        (listing) => onProgress({ ...last, units: openingTable(listing) }),
        () => name,
        (listing) => listing.unitsRead === listing.ids.length,
        UNITS_EVERY_MS,
      );
    try {
      // Both files in one directory, so a .cmtr's external link to its .cmcr could resolve too.
      drop = mountFiles(rt, group.names.map((n) => byName.get(n)!));
      const session = loadRecording(
        rt,
        {
          cmcrPath: group.cmcr === undefined ? undefined : drop.paths.get(group.cmcr),
          cmtrPath: group.cmtr === undefined ? undefined : drop.paths.get(group.cmtr),
        },
        {
          datasetId: group.datasetId,
          onProgress: (fraction, message) => {
            doing(message); // the file stays the one last read (activity.ts)
            toPage?.((last = { name, fraction, message }));
          },
          onUnits: unitsToPage,
        },
      );
      // The loader saw mount paths (/drop-N/…); the file name is all the browser knows of the real path.
      session.setSourceFiles({
        ...(group.cmcr === undefined ? {} : { cmcr: group.cmcr }),
        ...(group.cmtr === undefined ? {} : { cmtr: group.cmtr }),
      });
      const sessionId = register({ session, name, drop });
      items.push({ name, kind: "recording", sessionId, summary: summarizeSession(session) });
    } catch (error) {
      if (isFatal(error)) throw error;
      if (drop) unmountDrop(rt, drop.dir);
      items.push({ name, kind: "recording", ...itemFailure(error) });
    }
  }
  return items;
}
