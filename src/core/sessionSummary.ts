import { spikeCountOf } from "./memoryBudget.ts";
import { fullCopy, sourcesInUse } from "./sessionSources.ts";
import type { PipelineSession, SaveState, SaveMode, SessionWarning, StepRecord } from "./session.ts";

/** Plain, serialisable description of a session: what the CLI prints and the worker sends to the UI. */
export interface SessionSummary {
  datasetId: string;
  createdAt: string;
  saveState: SaveState;
  mode: SaveMode;
  hdf5Path: string | null;
  savedAt: string | null;
  hasUnsavedChanges: boolean;
  unitCount: number;
  spikeCount: number;
  completedSteps: StepRecord[];
  warnings: SessionWarning[];
  /** Bytes of arrays in memory. */
  memoryEstimateBytes: number;
  /** Bytes of arrays moved to the scratch store past the memory budget. */
  spilledBytes: number;
  /** The memory budget, when the session has a scratch store. */
  memoryBudgetBytes: number | null;
  /** Where spilled arrays are (for the person reading the summary). */
  spillLocation: string | null;
  memoryWarningBytes: number;
  sourceFiles: { cmcr?: string; cmtr?: string };
  /**
   * The user's files the session still reads arrays from (a dropped recording or session file):
   * they must stay where they are until a save or checkpoint copies them.
   */
  readsFromFiles: string[];
  /** Bytes of arrays read from files when needed (the user's files or a checkpoint), not held. */
  bytesInFiles: number;
  /**
   * A full copy of the session written since it was opened (a checkpoint in browser storage, or the
   * file it was saved to): the session no longer depends on the files it reads from, since it
   * reads the copy should one go. Null without one.
   */
  fullCopy: { name: string; inBrowserStorage: boolean } | null;
  /** Arrays left in files are read from a checkpoint in browser storage (a resumed one). */
  readsFromCheckpoint: boolean;
  metadataKeys: string[];
  stimulusKeys: string[];
}

export function summarizeSession(session: PipelineSession): SessionSummary {
  let spikeCount = 0;
  for (const unit of session.units.values()) spikeCount += spikeCountOf(unit);
  const bytes = session.arrayBytes();
  const sources = sourcesInUse(session);
  const copy = sources.some((s) => !s.keptCopy) ? fullCopy(session) : undefined;
  return {
    datasetId: session.datasetId,
    createdAt: session.createdAt,
    saveState: session.saveState,
    mode: session.mode,
    hdf5Path: session.hdf5Path ?? null,
    savedAt: session.savedAt ?? null,
    hasUnsavedChanges: session.hasUnsavedChanges,
    unitCount: session.unitCount,
    spikeCount,
    completedSteps: session.completedSteps.map((s) => ({ ...s })),
    warnings: session.warnings.map((w) => ({ ...w })),
    memoryEstimateBytes: bytes.resident,
    spilledBytes: bytes.spilled,
    memoryBudgetBytes: session.memoryBudget?.budgetBytes ?? null,
    spillLocation: session.memoryBudget?.store.location ?? null,
    memoryWarningBytes: session.memoryWarningBytes,
    sourceFiles: { ...session.sourceFiles },
    readsFromFiles: sources.filter((s) => !s.keptCopy).map((s) => s.name).sort(),
    bytesInFiles: bytes.inSources ?? 0,
    fullCopy: copy ? { name: copy.name, inBrowserStorage: !!copy.keptCopy } : null,
    readsFromCheckpoint: sources.some((s) => s.keptCopy),
    metadataKeys: Object.keys(session.metadata),
    stimulusKeys: Object.keys(session.stimulus),
  };
}
