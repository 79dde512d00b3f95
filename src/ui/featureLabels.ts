/**
 * Readable names for feature scalars. Their keys are paths (`moving_bar/moving_h_bar_s5_d8_3x/dsi`,
 * `baseline/whole_recording/isi_cv`); the table, the column chooser and the map legend show the
 * quantity first and where it came from after it, so "DSI" is found without knowing the movie name.
 */

const QUANTITIES: Record<string, string> = {
  dsi: "DSI",
  osi: "OSI",
  dsi_p_value: "DSI p",
  osi_p_value: "OSI p",
  preferred_direction_deg: "preferred direction (°)",
  preferred_orientation_deg: "preferred orientation (°)",
  on_off_index: "ON-OFF index",
  transience_index: "transience",
  on_transience_index: "ON transience",
  off_transience_index: "OFF transience",
  on_latency_s: "ON latency (s)",
  off_latency_s: "OFF latency (s)",
  baseline_rate_hz: "baseline rate (Hz)",
  quality_index: "quality index",
  rate_hz: "rate (Hz)",
  isi_cv: "ISI CV",
  refractory_violation_fraction: "refractory violations (fraction)",
  preferred_frequency_hz: "preferred frequency (Hz)",
  centroid_frequency_hz: "centroid frequency (Hz)",
  high_low_index: "high-low index",
  half_max_amplitude: "half-max amplitude",
  amplitude_sweep_hz: "amplitude sweep (Hz)",
  green_blue_index: "green-blue index",
  rank1_fraction: "rank-1 fraction",
  r_squared: "fit r²",
  response_z: "RF response (z)",
  peak_lag_frames: "RF peak lag (frames)",
  center_x: "RF centre column (px)",
  center_y: "RF centre row (px)",
  sigma_exc: "DoG centre σ (px)",
  sigma_inh: "DoG surround σ (px)",
  waveform_width_ms: "spike width (ms)",
  rgc_probability: "RGC probability",
};

/** Where the value lives, without the repeated parts: `moving_bar · moving_h_bar…`, `sta_noise… · sta_geometry · gaussian_fit`. */
function source(parts: string[]): string {
  return parts.join(" · ");
}

/** "DSI — moving_bar · moving_h_bar_s5_d8_3x" for `moving_bar/moving_h_bar_s5_d8_3x/dsi`; other names as they are. */
export function featureLabel(name: string): string {
  const parts = name.split("/");
  if (parts.length < 2) return name;
  const key = parts.at(-1)!;
  return `${QUANTITIES[key] ?? key.replaceAll("_", " ")} — ${source(parts.slice(0, -1))}`;
}

/** A short header for a table column: the quantity alone. */
export function featureShortLabel(name: string): string {
  const key = name.split("/").at(-1)!;
  return QUANTITIES[key] ?? key.replaceAll("_", " ");
}

/** Quantities worth offering first (the brief's ON-OFF index, DSI, quality …): the rest follow alphabetically. */
const FIRST = ["on_off_index", "dsi", "quality_index", "osi", "transience_index", "preferred_direction_deg", "isi_cv", "rate_hz"];

export function orderFeatureNames(names: readonly string[]): string[] {
  const rank = (n: string) => {
    const i = FIRST.indexOf(n.split("/").at(-1)!);
    return i < 0 ? FIRST.length : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
