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
  memoryEstimateBytes: number;
  memoryWarningBytes: number;
  sourceFiles: { cmcr?: string; cmtr?: string };
  metadataKeys: string[];
  stimulusKeys: string[];
}

export function summarizeSession(session: PipelineSession): SessionSummary {
  let spikeCount = 0;
  for (const unit of session.units.values()) spikeCount += unit.spikeTimes.length;
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
    memoryEstimateBytes: session.memoryEstimateBytes(),
    memoryWarningBytes: session.memoryWarningBytes,
    sourceFiles: { ...session.sourceFiles },
    metadataKeys: Object.keys(session.metadata),
    stimulusKeys: Object.keys(session.stimulus),
  };
}

export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${value.toFixed(i === 0 ? 0 : value < 10 ? 2 : 1)} ${units[i]}`;
}
