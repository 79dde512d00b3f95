/**
 * Colours for plots and the electrode map, read from the page's CSS custom properties so light and
 * dark themes stay in one place (app.css). Canvas drawing cannot use `var(--x)` itself.
 */
import type uPlot from "uplot";

/** uPlot options without the size: `Plot.svelte` sizes the plot to its container. */
export type PlotOptions = Omit<uPlot.Options, "width" | "height">;

export interface PlotTheme {
  text: string;
  muted: string;
  grid: string;
  accent: string;
  panel: string;
  /** Section overlays on the light reference. */
  band: string;
  /** Distinct, colour-blind-safe series colours (Okabe–Ito, brightened in the dark theme). */
  series: string[];
  dark: boolean;
}

const LIGHT_SERIES = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"];
const DARK_SERIES = ["#6cb6ff", "#ff9a5c", "#3fd8a4", "#f0a3d0", "#f5c242", "#9bd7ff"];

export function prefersDark(): boolean {
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
}

export function plotTheme(element: Element = document.documentElement): PlotTheme {
  const css = getComputedStyle(element);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const dark = prefersDark();
  return {
    text: v("--text", dark ? "#e6e9ed" : "#1b1f24"),
    muted: v("--muted", "#5b6470"),
    grid: v("--plot-grid", dark ? "#2b3138" : "#e6e9ee"),
    accent: v("--accent", "#1f5fbf"),
    panel: v("--panel", dark ? "#1d2126" : "#ffffff"),
    band: dark ? "rgba(110, 168, 254, 0.16)" : "rgba(31, 95, 191, 0.10)",
    series: dark ? DARK_SERIES : LIGHT_SERIES,
    dark,
  };
}

/** Calls `onChange` when the colour scheme flips; returns the unsubscribe function. */
export function watchColorScheme(onChange: () => void): () => void {
  if (typeof matchMedia !== "function") return () => {};
  const query = matchMedia("(prefers-color-scheme: dark)");
  query.addEventListener("change", onChange);
  return () => query.removeEventListener("change", onChange);
}

// Viridis at 9 stops: perceptually uniform and readable on light and dark backgrounds.
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** Colour of `t` in [0, 1] on the viridis scale. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const [r, g, b] = VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
  return `rgb(${r}, ${g}, ${b})`;
}

/** Axis styling shared by every plot: readable ticks and a quiet grid in both themes. */
export function axis(theme: PlotTheme, label: string, extra: Partial<uPlot.Axis> = {}): uPlot.Axis {
  return {
    label,
    stroke: theme.muted,
    labelFont: "600 12px system-ui, sans-serif",
    font: "11px system-ui, sans-serif",
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1, size: 4 },
    ...extra,
  };
}

/** `steps` colours evenly along viridis (0 … 1), for drawing many points a colour at a time. */
export function viridisSteps(steps: number): string[] {
  return Array.from({ length: steps }, (_, k) => viridis(steps > 1 ? k / (steps - 1) : 0.5));
}
