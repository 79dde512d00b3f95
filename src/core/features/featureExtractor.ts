/**
 * The contract of a feature extractor (domain brief §3.5). An extractor is one file exporting one
 * `FeatureExtractor`; adding a feature is that file plus one line in `registry.ts`.
 *
 * | member        | meaning                                                                              |
 * |---------------|--------------------------------------------------------------------------------------|
 * | `name`        | stored as `units/<id>/features/<name>` (the lab's readers look it up by this name)   |
 * | `version`     | stored as `metadata/extractor_version`; a different stored version is recomputed     |
 * | `requires`    | session paths (`metadata/…`, `stimulus/…`) and unit paths (`spike_times`,            |
 * |               | `spike_times_sectioned/<movie>`, `features/<name>`) that must exist                  |
 * | `afterSteps`  | pipeline steps whose outputs it reads (re-running one re-runs `extract_features`)    |
 * | `outputs`     | the keys of `data`, with dtype, shape and unit, for people and for tests            |
 * | `placed`      | parts of `data/<movie>/` that `extract_features` moves to the lab's places          |
 * |               | (`resultPlaces.ts`), e.g. `direction_section` → `spike_times_sectioned/<movie>/…`    |
 * | `check(ctx)`  | optional session-level condition beyond presence (e.g. "≥ 2 frames")                |
 * | `extract`     | one unit → the `data` tree; throws with a message for a person on failure           |
 *
 * Extractors receive sample-index spike times (never µs: the original's extractors got this wrong,
 * trap 1) and read the session; they must not modify it.
 */
import type { DType, Tree } from "../ndarray.ts";
import type { Unit } from "../session.ts";
import type { Placement } from "./resultPlaces.ts";

export interface FeatureContext {
  metadata: Tree;
  stimulus: Tree;
  /** `metadata/acquisition_rate` (Hz), if present. */
  acquisitionRate: number | undefined;
  /** Frame start samples as float64, if present. */
  frameTimestamps: Float64Array | undefined;
  /** Frames between a section's start and its movie content (add_section_time's pre margin; 60 if absent). */
  sectionPreMarginFrames?: number;
}

export interface FeatureOutput {
  dtype: DType | "string";
  shape: string;
  unit?: string;
  description: string;
}

export interface FeatureExtractor {
  name: string;
  version: string;
  description: string;
  requires: { session?: readonly string[]; unit?: readonly string[] };
  afterSteps?: readonly string[];
  outputs: Readonly<Record<string, FeatureOutput>>;
  placed?: readonly Placement[];
  check?: (ctx: FeatureContext) => string | undefined;
  extract: (unit: Unit, ctx: FeatureContext) => Tree;
}
