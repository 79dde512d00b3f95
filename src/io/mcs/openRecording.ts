/**
 * The load step on real files: reads the .cmtr and/or .cmcr visible in `rt.fs` (real paths in Node,
 * WORKERFS mounts in the browser worker) and assembles the session with core/steps/loadRecording.ts.
 * Both files are opened directly; the external link a .cmtr may hold to its .cmcr is never followed.
 */
import { datasetIdFromNames, pairNameMismatch, parseRecordingFileName } from "../../core/recordingPairing.ts";
import type { CmcrContents, CmtrContents } from "../../core/recordingContents.ts";
import type { PipelineSession } from "../../core/session.ts";
import { buildLoadRecordingSession } from "../../core/steps/loadRecording.ts";
import { baseName, type H5Runtime } from "../h5.ts";
import { readCmcr } from "./cmcrReader.ts";
import { readCmtr } from "./cmtrReader.ts";

export interface RecordingPaths {
  cmcrPath?: string;
  cmtrPath?: string;
}

export interface LoadRecordingOptions {
  datasetId?: string;
  onProgress?: (fraction: number, message: string) => void;
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
    if (mismatch) throw new Error(mismatch);
  }
  const datasetId = options.datasetId ?? datasetIdFromNames(cmtrPath && baseName(cmtrPath), cmcrPath && baseName(cmcrPath));

  // Reading is most of the time: the .cmtr units take the first half, the analog channels the second.
  const readShare = cmcrPath && cmtrPath ? 0.45 : 0.9;
  let cmtr: CmtrContents | undefined;
  if (cmtrPath) {
    progress(0, `reading ${baseName(cmtrPath)}`);
    cmtr = readCmtr(rt, cmtrPath, {
      onUnit: (done, total) => progress((readShare * done) / total, `reading units ${done}/${total}`),
    });
  }
  let cmcr: CmcrContents | undefined;
  if (cmcrPath) {
    const base = cmtr ? readShare : 0;
    progress(base, `reading ${baseName(cmcrPath)}`);
    cmcr = readCmcr(rt, cmcrPath, {
      onProgress: (f) => progress(base + readShare * f, "reading the analog channels"),
    });
  }
  return buildLoadRecordingSession({ datasetId, cmtr, cmcr }, (f, message) => progress(0.9 + 0.1 * f, message));
}

function checkKind(path: string | undefined, kind: "cmcr" | "cmtr"): void {
  if (path === undefined) return;
  const parsed = parseRecordingFileName(path);
  if (parsed && parsed.kind !== kind) {
    throw new Error(`${baseName(path)}: given as the .${kind} file but it is a .${parsed.kind}`);
  }
}
