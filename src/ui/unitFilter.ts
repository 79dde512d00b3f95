/**
 * The units table's filter box: space- or comma-separated terms that must all hold. A term is
 * - a comparison on a number column, with `<`, `<=`, `>`, `>=`, `=` or `!=`: `spikes>100`, `rate<=5`,
 *   `snr>=4`, `row=12`, and the science columns `ooi>0.5` (ON-OFF index), `qi>0.3` (quality index),
 *   `dsi>0.3`, `pref>=90` (preferred direction, °); a unit without the value never matches;
 * - a label comparison, `type=rgc` or `type!=ac` (the cell-type label, any case; `type=none` is a
 *   unit without one);
 * - otherwise text the unit id must contain (`unit_01`).
 * Display logic only: the table has at most a few thousand rows.
 */

export type FilterColumn = "spikes" | "rate" | "row" | "col" | "snr" | "ooi" | "qi" | "dsi" | "pref";
/** Columns holding a label, not a number. */
export type LabelColumn = "type";
/** A feature column the user added to the table (`feature:moving_bar/<movie>/dsi`). */
export type FeatureColumn = `feature:${string}`;

export interface Comparison {
  column: FilterColumn | FeatureColumn;
  op: "<" | "<=" | ">" | ">=" | "=" | "!=";
  value: number;
}

export interface LabelComparison {
  column: LabelColumn;
  op: "=" | "!=";
  /** Lower case; "" is "no label" (`type=none`). */
  value: string;
}

export interface UnitFilter {
  text: string[];
  comparisons: Comparison[];
  labels: LabelComparison[];
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
  ooi: "ooi",
  on_off: "ooi",
  onoff: "ooi",
  on_off_index: "ooi",
  qi: "qi",
  quality_index: "qi",
  dsi: "dsi",
  pref: "pref",
  pd: "pref",
  preferred_direction: "pref",
  preferred_direction_deg: "pref",
};

const LABEL_ALIASES: Record<string, LabelColumn> = { type: "type", cell_type: "type", label: "type" };

/**
 * `extra` names the added feature columns a term may compare (`dsi>0.3`, or the full
 * `moving_bar/<movie>/dsi>0.3`): lower-case name → column.
 */
export function parseUnitFilter(input: string, extra: Record<string, FeatureColumn> = {}): UnitFilter {
  const filter: UnitFilter = { text: [], comparisons: [], labels: [], unknown: [] };
  // "spikes > 100" is one term: glue operators to their operands first.
  const terms = input.replace(/\s*(<=|>=|!=|<|>|=)\s*/g, "$1").split(/[\s,]+/).filter(Boolean);
  for (const term of terms) {
    // Feature names are paths: letters, digits, `_`, `.`, `/` and `-` (movie names).
    const m = /^([a-z_][\w./-]*?)(<=|>=|!=|<|>|=)(-?\d*\.?\d+(?:e-?\d+)?)$/i.exec(term);
    const label = /^([a-z_]+)(!=|=)([\w.+-]+)$/i.exec(term);
    if (label && LABEL_ALIASES[label[1].toLowerCase()]) {
      const value = label[3].toLowerCase();
      filter.labels.push({ column: LABEL_ALIASES[label[1].toLowerCase()], op: label[2] as LabelComparison["op"], value: value === "none" ? "" : value });
      continue;
    }
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

/** Does a unit's label (any case, "" for none) pass a label comparison? */
export function compareLabel(label: string, c: LabelComparison): boolean {
  const equal = label.toLowerCase() === c.value;
  return c.op === "=" ? equal : !equal;
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
    case "!=":
      return value !== c.value;
  }
}
