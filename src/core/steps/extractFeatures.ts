/**
 * `extract_features` (domain brief §3.5): runs registered feature extractors once per unit and stores
 * `units/<id>/features/<name>/{data, metadata: {extractor_version, extracted_at}}`.
 *
 * - A feature every unit already has (at the current extractor version) is skipped unless the step
 *   is forced (or a step it reads was re-run); units that lack it, or hold an older version, are
 *   (re)computed.
 * - Missing session inputs skip the extractor with one warning; a unit that lacks an input or whose
 *   extraction throws gets a warning and the other units and extractors continue.
 * - Needs a load step; without one it throws, as the lab's does (the only step that does).
 */
import { FEATURE_EXTRACTORS } from "../features/registry.ts";
import type { FeatureContext, FeatureExtractor } from "../features/featureExtractor.ts";
import { NDArray, StringArray, isTree, type Tree } from "../ndarray.ts";
import { childAt, frameTimestampsNode } from "../sessionInputs.ts";
import type { PipelineSession, Unit } from "../session.ts";
import { recordedAcquisitionRate } from "../sessionFacts.ts";
import { sectionPreMargin } from "./sectionSpikeTimes.ts";
import { LOAD_STEPS, StepBailout, type PipelineStep } from "./stepContract.ts";

export interface ExtractFeaturesParams {
  /** Names of registered extractors to run; null: all of them. */
  features: string[] | null;
}

export const EXTRACT_FEATURES_DEFAULTS: ExtractFeaturesParams = { features: null };

export function makeExtractFeaturesStep(extractors: readonly FeatureExtractor[]): PipelineStep<ExtractFeaturesParams> {
  const known = extractors.map((e) => e.name);
  return {
    name: "extract_features",
    description: `Per-unit features from the registry (${known.join(", ")})`,
    defaults: EXTRACT_FEATURES_DEFAULTS,
    validate: (p) => {
      if (p.features === null) return [];
      if (!Array.isArray(p.features)) return [`features must be a list of names or null`];
      const unknown = p.features.filter((f) => !known.includes(f));
      return unknown.length ? [`unknown feature(s) ${unknown.join(", ")} (registered: ${known.join(", ")})`] : [];
    },
    prerequisites: [LOAD_STEPS],
    prerequisiteThrows: true,
    dependsOn: [...new Set(extractors.flatMap((e) => e.afterSteps ?? []))],

    async run(session, params, ctx) {
      const chosen = params.features ? extractors.filter((e) => params.features!.includes(e.name)) : [...extractors];
      const featureCtx = featureContext(session);
      const units = [...session.units.values()];
      const results: { unitId: string; name: string; data: Tree; placed: [string[], Tree][]; version: string; at: string }[] = [];
      const warnings: string[] = [];
      const summary: Record<string, unknown> = {};
      const total = Math.max(1, chosen.length * units.length);
      let done = 0;

      for (const extractor of chosen) {
        const missing = (extractor.requires.session ?? []).filter((path) => !present(childAt({ metadata: session.metadata, stimulus: session.stimulus }, path)));
        const problem = missing.length ? `needs ${missing.join(", ")}` : extractor.check?.(featureCtx);
        if (problem) {
          warnings.push(`feature ${extractor.name} skipped: ${problem}`);
          summary[extractor.name] = { skipped: problem };
          done += units.length;
          continue;
        }
        // Recompute what exists only when forced or when a step it reads was re-run; a changed feature
        // list alone computes just what is missing.
        const recompute = ctx.rerun === "forced" || ctx.rerun === "upstream";
        const todo = recompute ? units : units.filter((u) => storedVersion(u, extractor.name) !== extractor.version);
        if (!todo.length) {
          summary[extractor.name] = { skipped: "every unit already has it" };
          done += units.length;
          continue;
        }
        const stale = todo.filter((u) => storedVersion(u, extractor.name) !== undefined && storedVersion(u, extractor.name) !== extractor.version);
        if (stale.length && !recompute) {
          warnings.push(`feature ${extractor.name}: ${stale.length} unit(s) had an older version; recomputed with version ${extractor.version}`);
        }
        let ok = 0;
        const lacking: string[] = [];
        for (const unit of todo) {
          const missingUnit = (extractor.requires.unit ?? []).filter((p) => p !== "spike_times" && !present(childAt(unit.children, p)));
          if (missingUnit.length) {
            lacking.push(unit.id);
          } else {
            try {
              const data = extractor.extract(unit, featureCtx);
              results.push({ unitId: unit.id, name: extractor.name, data, placed: takePlaced(data, extractor), version: extractor.version, at: session.timestamp() });
              ok++;
            } catch (e) {
              warnings.push(`feature ${extractor.name} failed for ${unit.id}: ${(e as Error).message}`);
            }
          }
          await ctx.progress.update(++done / total, `${extractor.name} ${unit.id}`);
        }
        if (lacking.length) {
          warnings.push(
            `feature ${extractor.name} skipped for ${lacking.length} unit(s) without ${(extractor.requires.unit ?? []).join(", ")}: ` +
              `${lacking.slice(0, 10).join(", ")}${lacking.length > 10 ? ", …" : ""}`,
          );
        }
        summary[extractor.name] = { extracted: ok, failed: todo.length - ok - lacking.length, lacking: lacking.length };
      }
      if (!chosen.length) throw new StepBailout("no feature extractor selected");

      return {
        warnings,
        summary,
        apply: (s: PipelineSession) => {
          for (const r of results) {
            s.addFeature(r.unitId, r.name, r.data, { extractor_version: r.version, extracted_at: r.at });
            for (const [path, node] of r.placed) s.placeInUnit(r.unitId, path, node);
          }
        },
      };
    },
  };
}

export const extractFeaturesStep = makeExtractFeaturesStep(FEATURE_EXTRACTORS);

function featureContext(session: PipelineSession): FeatureContext {
  const frames = frameTimestampsNode(session);
  return {
    metadata: session.metadata,
    stimulus: session.stimulus,
    acquisitionRate: recordedAcquisitionRate(session),
    frameTimestamps: frames ? Float64Array.from(frames.data as ArrayLike<number | bigint>, Number) : undefined,
    sectionPreMarginFrames: sectionPreMargin(session),
  };
}

/** Moves each declared `data/<movie>/<key>` out of `data` to its place (`resultPlaces.ts`); empty `<movie>` groups go. */
function takePlaced(data: Tree, extractor: FeatureExtractor): [string[], Tree][] {
  const out: [string[], Tree][] = [];
  for (const place of extractor.placed ?? []) {
    for (const [movie, group] of Object.entries(data)) {
      if (!isTree(group) || !isTree(group[place.key])) continue;
      out.push([place.unitPath(movie), group[place.key] as Tree]);
      delete group[place.key];
      if (!Object.keys(group).length) delete data[movie];
    }
  }
  return out;
}

function present(node: unknown): boolean {
  if (node === undefined) return false;
  if (node instanceof NDArray) return node.data.length > 0;
  return true;
}

function storedVersion(unit: Unit, name: string): string | undefined {
  const features = unit.children.features;
  if (!isTree(features)) return undefined;
  const feature = features[name];
  if (!isTree(feature)) return undefined;
  const meta = feature.metadata;
  if (!isTree(meta)) return "unknown";
  const v = meta.extractor_version;
  if (typeof v === "string") return v;
  if (v instanceof StringArray && v.data.length) return v.data[0];
  return "unknown";
}
