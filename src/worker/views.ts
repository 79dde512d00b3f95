/**
 * Data for the page's views, computed in the worker from an open `PipelineSession`: small, already
 * downsampled, column-wise typed arrays the page can hand straight to a plot. Pure functions of the
 * session (unit-tested in Node), one file per view; `viewOperations` wraps them for `api.ts` so
 * their typed arrays leave the worker transferred, never copied.
 *
 * | function (file)                       | returns                                                                 |
 * |---------------------------------------|-------------------------------------------------------------------------|
 * | `unitDetail(s, unitId)` (unitViews.ts) | waveform, firing_rate_10hz, spike count, attrs, unit_meta scalars, features, sectioned movies |
 * | `lightReference(s, {from,to,points})` (lightReferenceView.ts) | min/max envelope of `raw_ch1` (seconds) + section_time rectangles per movie |
 * | `raster(s, unitId, {movie, binS})` (rasterView.ts) | spikes per trial in seconds from trial start + PSTH; no sections: recording time, one row |
 * | `unitColumn(s, name)` / `electrodeMap(s, colorBy)` (unitViews.ts) | one numeric value per unit (spike count, rate, unit_meta, feature scalars), with row/col |
 * | `unitFeatures(s, unitId)` (featureViews.ts) | moving-bar tuning, chirp responses, STA peak frame + time course + RF fit, feature scalars |
 * | `sessionTree(s)` (layoutView.ts)      | the HDF5 layout a save writes for this session (`io/sessionLayout.ts`): groups, datasets, shapes, dtypes, attributes (sent paged: `layoutPage`) |
 * | `storageEstimate()` (storageSpace.ts) | browser storage used / quota and whether it is persistent               |
 */
import { transfer } from "comlink";
import type { PipelineSession } from "../core/session.ts";
import { featureBuffers, unitFeatures, type UnitFeaturesView } from "./featureViews.ts";
import { electrodeMap, unitColumn, unitDetail, type ElectrodeMap, type UnitColumn, type UnitDetail } from "./unitViews.ts";
import { lightReference, type LightReferenceRange, type LightReferenceView } from "./lightReferenceView.ts";
import { raster, type RasterOptions, type RasterView } from "./rasterView.ts";
import { layoutPage, sessionTree, type LayoutNode } from "./layoutView.ts";
import { storageEstimate } from "./storageSpace.ts";

export type { SectionBox } from "../core/sessionFacts.ts";
export type { ChirpResponse, DirectionTuning, FeatureScalar, RfEllipse, StaImage, UnitFeaturesView } from "./featureViews.ts";
export { minMaxEnvelope, type EnvelopeTrace } from "../core/traceEnvelope.ts";
export * from "./unitViews.ts";
export * from "./lightReferenceView.ts";
export * from "./rasterView.ts";
export * from "./layoutView.ts";
export { storageEstimate, type StorageEstimate } from "./storageSpace.ts";

// ───────────────────────── as worker operations ─────────────────────────

/**
 * The view functions as the worker exposes them: by session id, with every typed array transferred.
 * `session` resolves an id (and throws the worker's "no open session" error for an unknown one).
 */
export function viewOperations(session: (sessionId: string) => PipelineSession) {
  return {
    async unitDetail(sessionId: string, unitId: string): Promise<UnitDetail> {
      const d = unitDetail(session(sessionId), unitId);
      return transfer(d, buffers(d.waveform, d.waveformMs, d.firingRate, d.firingRateS));
    },
    async lightReference(sessionId: string, range: LightReferenceRange = {}): Promise<LightReferenceView> {
      // Between slices of a trace read from its file, other calls (the units table) get their turn.
      const v = await lightReference(session(sessionId), range, () => new Promise((resolve) => setTimeout(resolve, 0)));
      return transfer(v, buffers(v.timeS, v.value));
    },
    async raster(sessionId: string, unitId: string, options: RasterOptions = {}): Promise<RasterView> {
      const v = raster(session(sessionId), unitId, options);
      return transfer(v, buffers(v.timeS, v.trial, v.psth.binStartS, v.psth.rateHz));
    },
    async unitColumn(sessionId: string, name: string): Promise<UnitColumn> {
      const c = unitColumn(session(sessionId), name);
      return transfer(c, buffers(c.values));
    },
    async electrodeMap(sessionId: string, colorBy: string): Promise<ElectrodeMap> {
      const m = electrodeMap(session(sessionId), colorBy);
      return transfer(m, buffers(m.values, m.row, m.col));
    },
    async unitFeatures(sessionId: string, unitId: string): Promise<UnitFeaturesView> {
      const v = unitFeatures(session(sessionId), unitId);
      return transfer(v, featureBuffers(v));
    },
    async sessionTree(sessionId: string, path = ""): Promise<LayoutNode> {
      return layoutPage(sessionTree(session(sessionId), { readPath: path }), path);
    },
    storageEstimate,
  };
}

function buffers(...arrays: ArrayBufferView[]): ArrayBuffer[] {
  return arrays.map((a) => a.buffer as ArrayBuffer);
}
