/**
 * A diverging colour scale for signed images (the STA's deviation from grey): blue below zero, a
 * near-white middle, red above — ColorBrewer RdBu reversed, so OFF (darker) is blue and ON (brighter)
 * is red, as in the lab's figures. The image is data, so the same colours serve light and dark pages.
 */

// RdBu at 9 stops, from −1 (blue) through 0 (white) to +1 (red).
const RDBU = [
  [33, 102, 172],
  [67, 147, 195],
  [146, 197, 222],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [244, 165, 130],
  [214, 96, 77],
  [178, 24, 43],
];

/** RGB of `t` in [−1, 1] (clamped; NaN → the middle). */
export function diverging(t: number): [number, number, number] {
  const x = ((Math.min(1, Math.max(-1, Number.isFinite(t) ? t : 0)) + 1) / 2) * (RDBU.length - 1);
  const i = Math.min(RDBU.length - 2, Math.floor(x));
  const f = x - i;
  const [r, g, b] = RDBU[i].map((c, k) => Math.round(c + f * (RDBU[i + 1][k] - c)));
  return [r, g, b];
}

/** The scale as a CSS gradient, for the legend bar. */
export const DIVERGING_GRADIENT = `linear-gradient(90deg, ${RDBU.map(([r, g, b]) => `rgb(${r}, ${g}, ${b})`).join(", ")})`;
