import { spikeCountOf } from "./memoryBudget.ts";
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
  metadataKeys: string[];
  stimulusKeys: string[];
}

export function summarizeSession(session: PipelineSession): SessionSummary {
  let spikeCount = 0;
  for (const unit of session.units.values()) spikeCount += spikeCountOf(unit);
  const bytes = session.arrayBytes();
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
    metadataKeys: Object.keys(session.metadata),
    stimulusKeys: Object.keys(session.stimulus),
  };
}
