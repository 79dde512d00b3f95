/**
 * Where feature results live in a unit group: the one declaration of the layout. The lab's readers
 * look for two results outside `features/<name>/data` (domain brief §3.7, §4.3), so they are written
 * there; the extractors, `extract_features`, the views and the tests all take the places from here.
 *
 * | result                          | unit path                                                   | written by    |
 * |---------------------------------|-------------------------------------------------------------|---------------|
 * | moving-bar direction sections   | `spike_times_sectioned/<movie>/direction_section/<deg>/…`    | `moving_bar`  |
 * | receptive-field geometry        | `features/sta_<movie>/sta_geometry/…`                        | `rf_geometry` |
 * | everything else                 | `features/<name>/data/…`                                     | each feature  |
 *
 * An extractor returns these results inside its data tree, as `<movie>/<key>`, and declares the key
 * in `placed`; `extract_features` moves each one to its place (a `<movie>` group left empty is dropped).
 */

/** A part of an extractor's `data/<movie>/…` that belongs elsewhere in the unit group. */
export interface Placement {
  /** The key under `data/<movie>/` that moves out. */
  key: string;
  /** Its place in the unit group for that movie. */
  unitPath: (movie: string) => string[];
}

export const DIRECTION_SECTION: Placement = {
  key: "direction_section",
  unitPath: (movie) => ["spike_times_sectioned", movie, "direction_section"],
};

export const STA_GEOMETRY: Placement = {
  key: "sta_geometry",
  unitPath: (movie) => ["features", `sta_${movie}`, "sta_geometry"],
};

/** The lab's mark of a failed RF fit in `sta_geometry/center_row` and `center_col` (its DSGC step skips it). */
export const FAILED_FIT_CENTER = -5.0;

/** The `sta_<movie>` feature name of a movie, and the movie of such a name. */
export function staFeatureName(movie: string): string {
  return `sta_${movie}`;
}

export function staMovie(featureName: string): string | undefined {
  return featureName.startsWith("sta_") ? featureName.slice(4) : undefined;
}
