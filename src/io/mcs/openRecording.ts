/**
 * The load step on real files: reads the .cmtr and/or .cmcr visible in `rt.fs` (real paths in Node,
 * read-only mounts of dropped files in the browser worker) and assembles the session with core/steps/loadRecording.ts.
 * Both files are opened directly; the external link a .cmtr may hold to its .cmcr is never followed.
 */
import { datasetIdFromNames, pairNameMismatch, parseRecordingFileName } from "../../core/recordingPairing.ts";
import type { CmcrContents, CmtrContents } from "../../core/recordingContents.ts";
import type { PipelineSession } from "../../core/session.ts";
import { buildLoadRecordingSession } from "../../core/steps/loadRecording.ts";
import { baseName, type H5Runtime } from "../h5.ts";
import { readCmcr } from "./cmcrReader.ts";
import { readCmtr } from "./cmtrReader.ts";
import { attachSources, sourcesInUse } from "../../core/sessionSources.ts";
import { openSourceFile, type H5SourceFile } from "../sourceFile.ts";
import { listUnits, noteSpikesRead, type UnitListing } from "../../core/unitListing.ts";
import { HdmeaError, fileError } from "../../core/failure.ts";

export interface RecordingPaths {
  cmcrPath?: string;
  cmtrPath?: string;
}

export interface LoadRecordingOptions {
  datasetId?: string;
  onProgress?: (fraction: number, message: string) => void;
  /**
   * Leave the bytes the session only carries (every `peaks_data` column, the raw light reference)
   * in the files, read back when a save or step needs them (default). The session then depends on
   * the files until it is closed (`closeSources`); `false` copies everything into memory, as a
   * session that must outlive its files needs.
   */
  keepInFiles?: boolean;
  /**
   * The units as soon as the `.cmtr` is listed, then again after each unit's spikes are read (the
   * same object, updated: copy what you keep). For a page that shows the units while the open goes on.
   */
  onUnits?: (listing: UnitListing) => void;
}

/** Runs the lab's load step (load_recording) on files visible in rt.fs; throws Error with a message naming the file and the problem. */
export function loadRecording(rt: H5Runtime, paths: RecordingPaths, options: LoadRecordingOptions = {}): PipelineSession {
  const { cmcrPath, cmtrPath } = paths;
  const progress = options.onProgress ?? (() => {});
  if (!cmcrPath && !cmtrPath) throw new Error("no recording given: pass a .cmcr and/or a .cmtr file");
  checkKind(cmcrPath, "cmcr");
  checkKind(cmtrPath, "cmtr");
  if (cmcrPath && cmtrPath) {
    const mismatch = pairNameMismatch(baseName(cmcrPath), baseName(cmtrPath));
    if (mismatch) throw new HdmeaError(mismatch, "bad-input", baseName(cmtrPath));
  }
  const datasetId = options.datasetId ?? datasetIdFromNames(cmtrPath && baseName(cmtrPath), cmcrPath && baseName(cmcrPath));

  // Reading is most of the time: the .cmtr units take the first half, the analog channels the second.
  const readShare = cmcrPath && cmtrPath ? 0.45 : 0.9;
  const keep = options.keepInFiles ?? true;
  const sources: H5SourceFile[] = [];
  try {
    // The .cmtr is only listed here (unit info, table layouts): its Peaks tables are read one unit at
    // a time by the build below, and the analog channels after it; the shares follow.
    // A file that cannot even be looked at gets no source: its reader then says what is wrong with it.
    const sourceFor = (path: string | undefined) => {
      try {
        return path && keep ? openSourceFile(rt, path) : undefined;
      } catch {
        return undefined;
      }
    };
    const cmtrSource = sourceFor(cmtrPath);
    const cmcrSource = sourceFor(cmcrPath);
    for (const s of [cmtrSource, cmcrSource]) if (s) sources.push(s);
    let cmtr: CmtrContents | undefined;
    const listShare = keep ? 0.05 : readShare;
    if (cmtrPath) {
      progress(0, `reading ${baseName(cmtrPath)}`);
      cmtr = readCmtr(rt, cmtrPath, {
        onUnit: (done, total) => progress((done / total) * listShare, `reading units ${done}/${total}`),
        source: cmtrSource,
      });
    }
    // Shown before the .cmcr is read and the units are built: the first thing the page can show.
    const { onUnits } = options;
    const listing = cmtr && onUnits ? listUnits(cmtr) : undefined;
    if (listing) onUnits!(listing);
    let cmcr: CmcrContents | undefined;
    if (cmcrPath) {
      const base = cmtr ? listShare : 0;
      const share = keep && cmtr ? 0.25 : readShare;
      progress(base, `reading ${baseName(cmcrPath)}`);
      cmcr = readCmcr(rt, cmcrPath, {
        onProgress: (f) => progress(base + share * f, "reading the analog channels"),
        source: cmcrSource,
      });
    }
    if (listing && cmcr?.recordingDurationUs !== undefined) listing.durationUs = cmcr.recordingDurationUs;
    const buildFrom = keep ? (cmtr ? 0.3 : 0.9) : 0.9;
    const session = buildLoadRecordingSession(
      { datasetId, cmtr, cmcr },
      (f, message) => progress(buildFrom + (1 - buildFrom) * f, message),
      listing &&
        ((i, unit) => {
          noteSpikesRead(listing, i, unit.spikeTimes.length);
          onUnits!(listing);
        }),
    );
    // Only the files the session still reads from stay open with it.
    const used = new Set(sourcesInUse(session));
    // The tables decoded for the build are not kept: the session holds what it computed from them.
    for (const s of sources) s.forget();
    for (const s of sources) if (!used.has(s)) s.close();
    attachSources(session, sources.filter((s) => used.has(s)));
    return session;
  } catch (error) {
    for (const s of sources) s.close();
    throw error;
  }
}

function checkKind(path: string | undefined, kind: "cmcr" | "cmtr"): void {
  if (path === undefined) return;
  const parsed = parseRecordingFileName(path);
  if (parsed && parsed.kind !== kind) {
    throw fileError(baseName(path), `given as the .${kind} file but it is a .${parsed.kind}`);
  }
}
