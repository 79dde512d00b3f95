/**
 * The feature registry: every extractor `extract_features` can run, by name. Adding a feature is one
 * file in `features/` plus one line here. Each registered extractor is its file's default instance;
 * `make<Feature>(params)` builds one with other parameters (the name stays, so use one per session).
 * Definitions, parameters and references: each file's doc comment and docs/features.md.
 *
 * Not registered on purpose (domain brief §3.5, trap 9): the original's placeholder extractors
 * (`moving_h_bar_s5_d8_3x`, `perfect_dense_noise_15x15_15hz_r42_3min`, `green_blue_3s_3i_3x`,
 * `freq_step_5st_3x`, and `step_up_5s_5i_3x` / `baseline_127`, which read sample indices as µs) return
 * random or wrong numbers; the extractors below replace them.
 */
import { baseline } from "./baseline.ts";
import { cellTypeClassifier } from "./cellTypeClassifier.ts";
import { chirp } from "./chirp.ts";
import type { FeatureExtractor } from "./featureExtractor.ts";
import { frif } from "./frif.ts";
import { greenBlue } from "./greenBlue.ts";
import { movingBar } from "./movingBar.ts";
import { qualityIndexFeature } from "./qualityIndex.ts";
import { rfGeometryFeature } from "./rfGeometry.ts";
import { somaPositionFeature } from "./somaPosition.ts";
import { stepResponse } from "./stepResponse.ts";

export const FEATURE_EXTRACTORS: readonly FeatureExtractor[] = [
  frif,
  baseline,
  qualityIndexFeature,
  stepResponse,
  chirp,
  movingBar,
  greenBlue,
  rfGeometryFeature,
  somaPositionFeature,
  cellTypeClassifier,
];

export function featureExtractor(name: string): FeatureExtractor | undefined {
  return FEATURE_EXTRACTORS.find((e) => e.name === name);
}

export function featureNames(): string[] {
  return FEATURE_EXTRACTORS.map((e) => e.name);
}
