/**
 * The units table's filter box: space- or comma-separated terms that must all hold. A term is either
 * a comparison on a column (`spikes>100`, `rate<=5`, `snr>=4`, `row=12`) or text the unit id must
 * contain (`unit_01`). Display logic only: the table has at most a few thousand rows.
 */

export type FilterColumn = "spikes" | "rate" | "row" | "col" | "snr";
/** A feature column the user added to the table (`feature:moving_bar/<movie>/dsi`). */
export type FeatureColumn = `feature:${string}`;

export interface Comparison {
  column: FilterColumn | FeatureColumn;
  op: "<" | "<=" | ">" | ">=" | "=";
  value: number;
}

export interface UnitFilter {
  text: string[];
  comparisons: Comparison[];
  /** Terms that looked like comparisons but name no column, shown to the user. */
  unknown: string[];
}

const ALIASES: Record<string, FilterColumn> = {
  spikes: "spikes",
  spike_count: "spikes",
  n: "spikes",
  rate: "rate",
  hz: "rate",
  rate_hz: "rate",
  row: "row",
  col: "col",
  column: "col",
  snr: "snr",
  quality: "snr",
};

/**
 * `extra` names the added feature columns a term may compare (`dsi>0.3`, or the full
 * `moving_bar/<movie>/dsi>0.3`): lower-case name → column.
 */
export function parseUnitFilter(input: string, extra: Record<string, FeatureColumn> = {}): UnitFilter {
  const filter: UnitFilter = { text: [], comparisons: [], unknown: [] };
  // "spikes > 100" is one term: glue operators to their operands first.
  const terms = input.replace(/\s*(<=|>=|<|>|=)\s*/g, "$1").split(/[\s,]+/).filter(Boolean);
  for (const term of terms) {
    // Feature names are paths: letters, digits, `_`, `.`, `/` and `-` (movie names).
    const m = /^([a-z_][\w./-]*?)(<=|>=|<|>|=)(-?\d*\.?\d+(?:e-?\d+)?)$/i.exec(term);
    if (!m) {
      filter.text.push(term.toLowerCase());
      continue;
    }
    const column = ALIASES[m[1].toLowerCase()] ?? extra[m[1].toLowerCase()];
    if (column) filter.comparisons.push({ column, op: m[2] as Comparison["op"], value: Number(m[3]) });
    else filter.unknown.push(term);
  }
  return filter;
}

export function compare(value: number, c: Comparison): boolean {
  if (!Number.isFinite(value)) return false;
  switch (c.op) {
    case "<":
      return value < c.value;
    case "<=":
      return value <= c.value;
    case ">":
      return value > c.value;
    case ">=":
      return value >= c.value;
    case "=":
      return value === c.value;
  }
}
