/**
 * The units table's filter syntax: comparisons on the base and science columns (`ooi>0.5 qi>0.3`,
 * `dsi>0.3`, `pref>=90`), label comparisons on the cell type (`type=rgc`, `type!=ac`, `type=none`),
 * added feature columns by key, id text, and terms that name no column.
 */
import { describe, expect, it } from "vitest";
import { compare, compareLabel, parseUnitFilter } from "../../src/ui/unitFilter.ts";

describe("parseUnitFilter", () => {
  it("reads the science columns and their aliases", () => {
    const f = parseUnitFilter("ooi>0.5 qi>0.3 dsi>=0.25, pref<90 on_off_index<-0.2 quality_index>=0.1 pd!=0");
    expect(f.comparisons).toEqual([
      { column: "ooi", op: ">", value: 0.5 },
      { column: "qi", op: ">", value: 0.3 },
      { column: "dsi", op: ">=", value: 0.25 },
      { column: "pref", op: "<", value: 90 },
      { column: "ooi", op: "<", value: -0.2 },
      { column: "qi", op: ">=", value: 0.1 },
      { column: "pref", op: "!=", value: 0 },
    ]);
    expect(f.text).toEqual([]);
    expect(f.unknown).toEqual([]);
  });

  it("glues spaced operators, keeps the base columns and id text", () => {
    const f = parseUnitFilter("unit_01  spikes > 100 rate <= 5 snr>=4 row = 12");
    expect(f.text).toEqual(["unit_01"]);
    expect(f.comparisons.map((c) => `${c.column}${c.op}${c.value}`)).toEqual(["spikes>100", "rate<=5", "snr>=4", "row=12"]);
  });

  it("reads cell-type labels, any case, with = and != and none for an unlabelled unit", () => {
    const f = parseUnitFilter("type=RGC cell_type != ac label=none");
    expect(f.labels).toEqual([
      { column: "type", op: "=", value: "rgc" },
      { column: "type", op: "!=", value: "ac" },
      { column: "type", op: "=", value: "" },
    ]);
    expect(f.comparisons).toEqual([]);
    expect(f.text).toEqual([]);
  });

  it("added feature columns by full path or bare key; unknown names are reported, not dropped", () => {
    const extra = { osi: "feature:moving_bar/m/osi", "moving_bar/m/osi": "feature:moving_bar/m/osi" } as const;
    const f = parseUnitFilter("osi>0.2 moving_bar/m/osi<0.9 foo>3 bar=baz", extra);
    expect(f.comparisons).toEqual([
      { column: "feature:moving_bar/m/osi", op: ">", value: 0.2 },
      { column: "feature:moving_bar/m/osi", op: "<", value: 0.9 },
    ]);
    expect(f.unknown).toEqual(["foo>3"]);
    // Not a number and not a label column: text the id must contain, as before.
    expect(f.text).toEqual(["bar=baz"]);
  });
});

describe("compare and compareLabel", () => {
  it("a missing (NaN) value never matches, not even !=", () => {
    expect(compare(Number.NaN, { column: "ooi", op: "!=", value: 0.5 })).toBe(false);
    expect(compare(Number.NaN, { column: "ooi", op: "<", value: 0.5 })).toBe(false);
  });

  it("each operator", () => {
    const at = (op: "<" | "<=" | ">" | ">=" | "=" | "!=", v: number) => compare(v, { column: "qi", op, value: 0.3 });
    expect([at("<", 0.2), at("<", 0.3), at("<=", 0.3), at(">", 0.3), at(">", 0.4), at(">=", 0.3), at("=", 0.3), at("!=", 0.3), at("!=", 0.31)]).toEqual([
      true, false, true, false, true, true, true, false, true,
    ]);
  });

  it("labels compare without case; none is the empty label", () => {
    const [is, isNot, none] = parseUnitFilter("type=rgc type!=rgc type=none").labels;
    expect([compareLabel("RGC", is), compareLabel("ac", is), compareLabel("", is)]).toEqual([true, false, false]);
    expect([compareLabel("RGC", isNot), compareLabel("ac", isNot), compareLabel("", isNot)]).toEqual([false, true, true]);
    expect([compareLabel("", none), compareLabel("rgc", none)]).toEqual([true, false]);
  });
});
