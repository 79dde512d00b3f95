/**
 * A unit to which a feature does not apply (its movie was not shown, it has no sectioned trials, its
 * STA or electrical image is missing). Thrown from `extract`; `extract_features` already turns any
 * per-unit throw into one warning naming the unit and goes on, so "not applicable" never stops a run.
 * A distinct class lets the runner (or a test) tell "nothing to compute" from a real failure.
 */
export class FeatureNotApplicable extends Error {
  override name = "FeatureNotApplicable";

  constructor(reason: string) {
    super(`not applicable: ${reason}`);
  }
}
