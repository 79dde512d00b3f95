/**
 * Data for the page's views, computed in the worker from an open `PipelineSession`: small, already
 * downsampled, column-wise typed arrays the page can hand straight to a plot. Pure functions of the
 * session (unit-tested in Node); `viewOperations` wraps them for `api.ts` so their typed arrays leave
 * the worker transferred, never copied.
 *
 * | function                              | returns                                                                 |
 * |---------------------------------------|-------------------------------------------------------------------------|
 * | `unitDetail(s, unitId)`               | waveform, firing_rate_10hz, spike count, attrs, unit_meta scalars, features, sectioned movies |
 * | `lightReference(s, {from,to,points})` | min/max envelope of `raw_ch1` (seconds) + section_time rectangles per movie |
 * | `raster(s, unitId, {movie, binS})`    | spikes per trial in seconds from trial start + PSTH; no sections: recording time, one row |
 * | `unitColumn(s, name)` / `electrodeMap(s, colorBy)` | one numeric value per unit (spike count, rate, unit_meta, feature scalars), with row/col |
 * | `unitFeatures(s, unitId)` (featureViews.ts) | moving-bar tuning, chirp responses, STA peak frame + time course + RF fit, feature scalars |
 * | `sessionTree(s)`                      | the HDF5 layout `io/sessionFile.ts` writes for this session: groups, datasets, shapes, dtypes, attributes (sent paged: `layoutPage`) |
 * | `storageEstimate()`                   | browser storage used / quota and whether it is persistent               |
 */
import { unitLabel } from "../core/unitLabel.ts";
import { transfer } from "comlink";
import { NDArray, StringArray, elementCount, isTree, scalarNumber, type Tree, type TreeNode } from "../core/ndarray.ts";
import { TraceOverview } from "../core/traceEnvelope.ts";
import { lowerBound } from "../core/frameClock.ts";
import type { PipelineSession, Unit } from "../core/session.ts";
import { firingRateArray, spikeCountOf } from "../core/memoryBudget.ts";
import { forEachMember } from "../core/deferredGroup.ts";
import { acquisitionRateOf, lightTrace, meanRateHz, recordingDuration, sectionBoxes, type SectionBox } from "../core/sessionFacts.ts";
import { featureBuffers, featureScalars, unitFeatures, type UnitFeaturesView } from "./featureViews.ts";

export type { SectionBox } from "../core/sessionFacts.ts";
export type { ChirpResponse, DirectionTuning, FeatureScalar, RfEllipse, StaImage, UnitFeaturesView } from "./featureViews.ts";

export { minMaxEnvelope, type EnvelopeTrace } from "../core/traceEnvelope.ts";

// ───────────────────────── units ─────────────────────────

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

// ───────────────────────── light reference ─────────────────────────

export interface LightReferenceView {
  channel: string | null;
  durationS: number;
  timeS: Float64Array;
  value: Float32Array;
  sections: SectionBox[];
}

export interface LightReferenceRange {
  /** Seconds; default the whole recording. */
  from?: number;
  to?: number;
  /** Pixel buckets (≈ plot width); the result has at most twice as many points. */
  points?: number;
}

/** One overview per trace array (arrays are never changed in place, so it stays true). */
const overviews = new WeakMap<NDArray, TraceOverview>();

/**
 * The light reference between `from` and `to` as a min/max envelope. A trace left in its source file
 * is read a slice at a time (`pause` between slices lets the worker answer other calls meanwhile),
 * and a whole-recording view reads it once, for every later redraw.
 */
export async function lightReference(session: PipelineSession, range: LightReferenceRange = {}, pause?: () => Promise<void>): Promise<LightReferenceView> {
  const trace = lightTrace(session);
  const sections = sectionBoxes(session);
  if (!trace) return { channel: null, durationS: recordingDuration(session)?.seconds ?? 0, timeS: new Float64Array(0), value: new Float32Array(0), sections };
  const traceRate = trace.rate;
  const durationS = elementCount(trace.array.shape) / traceRate;
  const from = Math.max(0, range.from ?? 0);
  const to = Math.min(durationS, range.to ?? durationS);
  let overview = overviews.get(trace.array);
  if (!overview) overviews.set(trace.array, (overview = new TraceOverview(trace.array)));
  const env = await overview.envelope(from * traceRate, to * traceRate, range.points ?? 2000, pause);
  const timeS = env.x.map((i) => i / traceRate);
  return { channel: trace.name, durationS, timeS, value: env.y, sections };
}

// ───────────────────────── raster and PSTH ─────────────────────────

export interface Psth {
  /** Bin starts in seconds. */
  binStartS: Float64Array;
  /** Spikes per second per trial. */
  rateHz: Float64Array;
  binS: number;
}

/** Mean rate over `trials` trials in bins of `binS` from `startS` to `endS` (times relative to trial start). */
export function psth(times: ArrayLike<number>, trials: number, startS: number, endS: number, binS: number): Psth {
  const n = Math.max(1, Math.ceil((endS - startS) / binS - 1e-9));
  const counts = new Float64Array(n);
  for (let i = 0; i < times.length; i++) {
    const k = Math.floor((times[i] - startS) / binS);
    if (k >= 0 && k < n) counts[k]++;
  }
  const scale = 1 / (Math.max(1, trials) * binS);
  return {
    binStartS: Float64Array.from({ length: n }, (_, k) => startS + k * binS),
    rateHz: counts.map((c) => c * scale),
    binS,
  };
}

export interface RasterView {
  /** "trials": a sectioned movie; "sections": section_time occurrences; "recording": no sections yet. */
  mode: "trials" | "sections" | "recording";
  movie: string | null;
  /** Movies the raster could be aligned to. */
  movies: string[];
  trialCount: number;
  /** Plot range in seconds relative to trial start. */
  startS: number;
  endS: number;
  /** One point per spike, sorted by time: seconds from its trial's start, and the trial index. */
  timeS: Float64Array;
  trial: Float64Array;
  psth: Psth;
}

export interface RasterOptions {
  movie?: string | null;
  binS?: number;
  /** Recording-time mode: how many seconds from the start (default the whole recording, at most 300 s). */
  windowS?: number;
}

/** Trial [start, end] sample rows and per-trial spikes (samples) of a sectioned movie, if the unit has it. */
function sectionedTrials(unit: Unit, movie: string): { bounds: number[][]; spikes: Float64Array[] } | undefined {
  const sectioned = unit.children.spike_times_sectioned;
  const entry = isTree(sectioned) ? sectioned[movie] : undefined;
  if (!isTree(entry)) return undefined;
  const startEnd = entry.trials_start_end;
  const trials = entry.trials_spike_times;
  if (!(startEnd instanceof NDArray) || !isTree(trials)) return undefined;
  const v = Array.from(startEnd.data as ArrayLike<number | bigint>, Number);
  const bounds: number[][] = [];
  for (let i = 0; i + 1 < v.length; i += 2) bounds.push([v[i], v[i + 1]]);
  // Keys are decimal strings ("0", "1", …) in a fresh or a loaded session alike.
  const spikes = bounds.map((_, n) => {
    const node = trials[String(n)];
    return node instanceof NDArray ? Float64Array.from(node.data as ArrayLike<number | bigint>, Number) : new Float64Array(0);
  });
  return { bounds, spikes };
}

function spikesInWindow(samples: Float64Array, lo: number, hi: number): Float64Array {
  return samples.slice(lowerBound(samples, lo), lowerBound(samples, hi));
}

export function raster(session: PipelineSession, unitId: string, options: RasterOptions = {}): RasterView {
  const unit = session.getUnit(unitId);
  const rate = acquisitionRateOf(session);
  const sectionGroup = session.stimulus.section_time;
  const sectionedGroup = unit.children.spike_times_sectioned;
  const movies = [...new Set([...(isTree(sectionedGroup) ? Object.keys(sectionedGroup) : []), ...(isTree(sectionGroup) ? Object.keys(sectionGroup) : [])])];
  const movie = options.movie && movies.includes(options.movie) ? options.movie : null;

  let mode: RasterView["mode"] = "recording";
  let bounds: number[][] = [];
  let perTrial: Float64Array[] = [];
  const sectioned = movie ? sectionedTrials(unit, movie) : undefined;
  const samples = Float64Array.from(unit.spikeTimes as unknown as ArrayLike<number>, Number).sort();
  if (movie && sectioned) {
    mode = "trials";
    ({ bounds, spikes: perTrial } = sectioned);
  } else if (movie) {
    // Sectioning has not run: each showing of the movie is one row.
    mode = "sections";
    bounds = sectionBoxes(session).filter((b) => b.movie === movie).map((b) => [b.startS * rate, b.endS * rate]);
    perTrial = bounds.map(([lo, hi]) => spikesInWindow(samples, lo, hi));
  } else {
    const windowS = options.windowS ?? Math.min(recordingDuration(session)?.seconds ?? 60, 300);
    bounds = [[0, windowS * rate]];
    perTrial = [spikesInWindow(samples, 0, windowS * rate)];
  }

  const points: [number, number][] = [];
  let startS = 0;
  let endS = 0;
  bounds.forEach(([lo, hi], n) => {
    endS = Math.max(endS, (hi - lo) / rate);
    for (const s of perTrial[n]) {
      const t = (s - lo) / rate;
      startS = Math.min(startS, t);
      endS = Math.max(endS, t);
      points.push([t, n]);
    }
  });
  points.sort((a, b) => a[0] - b[0]);
  const timeS = Float64Array.from(points, (p) => p[0]);
  const binS = options.binS ?? (endS - startS > 60 ? 1 : 0.05);
  return {
    mode,
    movie,
    movies,
    trialCount: bounds.length,
    startS,
    endS,
    timeS,
    trial: Float64Array.from(points, (p) => p[1]),
    psth: psth(timeS, bounds.length, startS, endS, binS),
  };
}

// ───────────────────────── the file layout ─────────────────────────

export interface LayoutAttr {
  name: string;
  dtype: string;
}

export interface LayoutNode {
  name: string;
  /** Path from the file root, without a leading slash: `units/unit_001/spike_times`. */
  path: string;
  kind: "group" | "dataset";
  /** Datasets: shape ([] for a scalar), dtype (`uint64`, `float32`, …, or `string`) and bytes in memory. */
  shape?: number[];
  dtype?: string;
  bytes?: number;
  attrs: LayoutAttr[];
  children?: LayoutNode[];
  /** A group sent without its members (`layoutPage`): how many it has; ask for its path to get them. */
  childCount?: number;
  /** A group of an opened session file not read yet (`core/deferredGroup.ts`): ask for its path to read it. */
  unread?: boolean;
}

/** A group with more members than this (the units of a big recording) sends them folded. */
export const LAYOUT_PAGE = 100;

/**
 * What the page gets of the layout: the node at `path` (the root by default), where a group with more
 * than `page` members sends them folded: their own names, shapes and attributes, but not their
 * members (`childCount` only; the page asks for a folded group's path when it is opened). 1,000
 * units are about 100,000 nodes, and copying them into the page would hold its main thread for
 * hundreds of milliseconds; the page lists units 100 at a time anyway.
 */
export function layoutPage(root: LayoutNode, path = "", page = LAYOUT_PAGE): LayoutNode {
  let node: LayoutNode | undefined = root;
  if (path) {
    for (const name of path.split("/")) node = node?.children?.find((c) => c.name === name);
  }
  if (!node) throw new Error(`no group or dataset "${path}" in the session's layout`);
  return pruned(node, page);
}

function pruned(node: LayoutNode, page: number): LayoutNode {
  if (!node.children) return node;
  const long = node.children.length > page;
  return { ...node, children: node.children.map((child) => (long && child.children ? folded(child) : pruned(child, page))) };
}

function folded(node: LayoutNode): LayoutNode {
  const { children, ...rest } = node;
  return { ...rest, childCount: children?.length ?? 0 };
}

/**
 * The HDF5 layout a save of this session produces, built by walking the session the way
 * `io/sessionFile.ts` writes it (same paths, dtypes and shapes, without h5wasm). Keep the two in step:
 * tests/worker/views.test.ts compares this with a file the writer actually wrote.
 */
export function sessionTree(session: PipelineSession, options: { checkpointName?: string; readPath?: string } = {}): LayoutNode {
  // Groups of an opened file not read yet stay so, except those on the way to `readPath`.
  const readPath = options.readPath ?? "";
  const treeChildren = (parent: string, tree: Tree): LayoutNode[] => layoutChildren(parent, tree, readPath);
  const str = (name: string): LayoutAttr => ({ name, dtype: "string" });
  const root = group("", "", [str("dataset_id"), str("created_at"), str("hdmea_version"), { name: "hdmea_web_format_version", dtype: "int32" }]);

  const sourceAttrs: LayoutAttr[] = [];
  if (session.sourceFiles.cmcr !== undefined) sourceAttrs.push(str("cmcr_path"));
  if (session.sourceFiles.cmtr !== undefined) sourceAttrs.push(str("cmtr_path"));
  root.children!.push(group("source_files", "source_files", sourceAttrs));

  const pipeline = group("pipeline", "pipeline", [{ name: "stage1_completed", dtype: "int8" }, str("stage1_timestamp")]);
  const info = group("session_info", "pipeline/session_info", [str("saved_at"), ...(options.checkpointName !== undefined ? [str("checkpoint_name")] : [])]);
  const strings = (name: string, values: string[]) => {
    if (values.length) info.children!.push(dataset(name, `pipeline/session_info/${name}`, [values.length], "string", byteLength(values)));
  };
  strings("completed_steps", session.completedSteps.map((s) => s.name));
  strings("warnings", session.warnings.map((w) => w.message));
  strings("step_log", session.completedSteps.map((s) => JSON.stringify(s)));
  strings("warning_log", session.warnings.map((w) => JSON.stringify(w)));
  pipeline.children!.push(info);
  root.children!.push(pipeline);

  root.children!.push(treeNode("metadata", "metadata", session.metadata, readPath));
  root.children!.push(treeNode("stimulus", "stimulus", session.stimulus, readPath));

  const units = group("units", "units", []);
  for (const unit of session.units.values()) {
    const path = `units/${unit.id}`;
    const attrs = Object.entries(unit.attrs).map(([name, value]): LayoutAttr => ({
      name,
      dtype: typeof value === "string" ? "string" : Number.isInteger(value) ? "int64" : "float64",
    }));
    const node = group(unit.id, path, attrs);
    node.children!.push(dataset("spike_times", `${path}/spike_times`, [spikeCountOf(unit)], "uint64", 8 * spikeCountOf(unit)));
    if (unit.waveform) node.children!.push(dataset("waveform", `${path}/waveform`, [unit.waveform.length], "float32", unit.waveform.byteLength));
    const rate = firingRateArray(unit);
    if (rate) node.children!.push(dataset("firing_rate_10hz", `${path}/firing_rate_10hz`, [...rate.shape], "float32", rate.byteLength));
    node.children!.push(...treeChildren(path, unit.children));
    units.children!.push(node);
  }
  root.children!.push(units);
  return root;
}

function group(name: string, path: string, attrs: LayoutAttr[]): LayoutNode {
  return { name, path, kind: "group", attrs, children: [] };
}

function dataset(name: string, path: string, shape: number[], dtype: string, bytes: number): LayoutNode {
  return { name, path, kind: "dataset", shape, dtype, bytes, attrs: [] };
}

function byteLength(values: readonly string[]): number {
  let n = 0;
  for (const v of values) n += new TextEncoder().encode(v).length;
  return n;
}

function treeNode(name: string, path: string, tree: Tree, readPath: string): LayoutNode {
  const node = group(name, path, []);
  node.children!.push(...layoutChildren(path, tree, readPath));
  return node;
}

/** The writer's mapping (`h5Tree.writeNode`): NDArray → dataset, StringArray/string → string dataset, tree → group. */
function layoutChildren(parent: string, tree: Tree, readPath: string): LayoutNode[] {
  const out: LayoutNode[] = [];
  const add = (name: string, child: TreeNode): void => {
    const node = leafOrGroup(name, parent ? `${parent}/${name}` : name, child, readPath);
    if (node) out.push(node);
  };
  forEachMember(tree, add, (name) => {
    const path = parent ? `${parent}/${name}` : name;
    if (readPath === path || readPath.startsWith(`${path}/`)) add(name, tree[name]);
    else out.push({ name, path, kind: "group", attrs: [], unread: true });
  });
  return out;
}

function leafOrGroup(name: string, path: string, node: TreeNode, readPath: string): LayoutNode | undefined {
  if (node instanceof NDArray) return dataset(name, path, [...node.shape], node.dtype, node.byteLength);
  if (node instanceof StringArray) return dataset(name, path, [...node.shape], "string", byteLength(node.data));
  if (typeof node === "string") return dataset(name, path, [], "string", byteLength([node]));
  if (isTree(node)) return treeNode(name, path, node, readPath);
  return undefined;
}

// ───────────────────────── browser storage ─────────────────────────

export interface StorageEstimate {
  usage: number | null;
  quota: number | null;
  /** Whether the browser promised not to evict this origin's storage (`navigator.storage.persist()`). */
  persisted: boolean | null;
}

export async function storageEstimate(): Promise<StorageEstimate> {
  const storage = globalThis.navigator?.storage;
  if (!storage?.estimate) return { usage: null, quota: null, persisted: null };
  const estimate = await storage.estimate();
  const persisted = storage.persisted ? await storage.persisted() : null;
  return { usage: estimate.usage ?? null, quota: estimate.quota ?? null, persisted };
}

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
