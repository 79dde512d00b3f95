/**
 * Views of the units: one unit's detail (waveform, firing rate, scalars), one value per unit for
 * the table's added columns (`unitColumn`), and the electrode map coloured by such a column.
 */
import { unitLabel } from "../core/unitLabel.ts";
import { StringArray, isTree, scalarNumber } from "../core/ndarray.ts";
import type { PipelineSession, Unit } from "../core/session.ts";
import { spikeCountOf } from "../core/memoryBudget.ts";
import { acquisitionRateOf, meanRateHz, recordingDuration } from "../core/sessionFacts.ts";
import { featureScalars } from "./featureViews.ts";

export interface UnitDetail {
  id: string;
  attrs: Record<string, number | string>;
  spikeCount: number;
  meanRateHz: number;
  /** Mean spike cutout; `waveformMs` is each sample's time from the cutout start. */
  waveform: Float32Array;
  waveformMs: Float64Array;
  /** firing_rate_10hz (spikes/s in 100 ms bins); `firingRateS` is each bin's start. */
  firingRate: Float32Array;
  firingRateS: Float64Array;
  /** Scalar entries of `unit_meta` (snr, separability, …), shape () or (1,). */
  meta: { name: string; value: number | string }[];
  features: string[];
  sectionedMovies: string[];
  /** The manual cell-type label (`auto_label/axon_type`), if set. */
  label: string | null;
}

export function unitDetail(session: PipelineSession, unitId: string): UnitDetail {
  const unit = session.getUnit(unitId);
  const rate = acquisitionRateOf(session);
  const duration = recordingDuration(session);
  const waveform = unit.waveform ? Float32Array.from(unit.waveform) : new Float32Array(0);
  const firingRate = unit.firingRate10hz ? Float32Array.from(unit.firingRate10hz) : new Float32Array(0);
  const features = unit.children.features;
  const sectioned = unit.children.spike_times_sectioned;
  return {
    id: unit.id,
    attrs: { ...unit.attrs },
    spikeCount: spikeCountOf(unit),
    meanRateHz: meanRateHz(spikeCountOf(unit), duration),
    waveform,
    waveformMs: Float64Array.from(waveform, (_, i) => (i * 1000) / rate),
    firingRate,
    firingRateS: Float64Array.from(firingRate, (_, i) => i * 0.1),
    meta: metaScalars(unit),
    features: isTree(features) ? Object.keys(features) : [],
    label: unitLabel(unit) ?? null,
    sectionedMovies: isTree(sectioned) ? Object.keys(sectioned) : [],
  };
}

function metaScalars(unit: Unit): { name: string; value: number | string }[] {
  const meta = unit.children.unit_meta;
  if (!isTree(meta)) return [];
  const out: { name: string; value: number | string }[] = [];
  for (const [name, node] of Object.entries(meta)) {
    const n = scalarNumber(node);
    if (n !== undefined) out.push({ name, value: n });
    else if (typeof node === "string") out.push({ name, value: node });
    else if (node instanceof StringArray && node.data.length === 1) out.push({ name, value: node.data[0] });
  }
  return out;
}

/** Numeric scalars a unit can be coloured or sorted by: `unit_meta/<x>` → `x`, `features/<f>/data/<path>/<k>` → `f/<path>/k`. */
function unitScalars(unit: Unit): Map<string, number> {
  const out = new Map<string, number>();
  const meta = unit.children.unit_meta;
  if (isTree(meta)) {
    for (const [name, node] of Object.entries(meta)) {
      const v = scalarNumber(node);
      if (v !== undefined) out.set(name, v);
    }
  }
  // Stimulus features nest their values per movie (`moving_bar/<movie>/dsi`): the same keys the feature table shows.
  for (const f of featureScalars(unit)) out.set(f.name, f.value);
  return out;
}

export const BUILTIN_COLUMNS = ["spike_count", "rate_hz"] as const;

export interface UnitColumn {
  name: string;
  /** One value per unit in the session's order (NaN where a unit lacks it). */
  values: Float64Array;
  /** Every column name the session's units offer. */
  available: string[];
}

export function unitColumn(session: PipelineSession, name: string): UnitColumn {
  const units = [...session.units.values()];
  const duration = recordingDuration(session);
  const available = new Set<string>(BUILTIN_COLUMNS);
  const values = new Float64Array(units.length).fill(Number.NaN);
  units.forEach((unit, i) => {
    const scalars = unitScalars(unit);
    for (const key of scalars.keys()) available.add(key);
    if (name === "spike_count") values[i] = spikeCountOf(unit);
    else if (name === "rate_hz") values[i] = meanRateHz(spikeCountOf(unit), duration);
    else values[i] = scalars.get(name) ?? Number.NaN;
  });
  return { name, values, available: [...available] };
}

export interface ElectrodeMap extends UnitColumn {
  ids: string[];
  row: Int32Array;
  col: Int32Array;
}

export function electrodeMap(session: PipelineSession, colorBy: string): ElectrodeMap {
  const units = [...session.units.values()];
  return {
    ...unitColumn(session, colorBy),
    ids: units.map((u) => u.id),
    row: Int32Array.from(units, (u) => Number(u.attrs.row)),
    col: Int32Array.from(units, (u) => Number(u.attrs.col)),
  };
}
