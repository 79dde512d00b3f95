import { describe, expect, it } from "vitest";
import { StringArray, type Tree } from "../../../src/core/ndarray.ts";
import { setUnitLabel, unitLabel, type UnitLabel } from "../../../src/core/unitLabel.ts";
import { loadedSession, makeUnit } from "../fixtures/exampleSession.ts";

describe("setUnitLabel", () => {
  it("writes units/<id>/auto_label/axon_type as a scalar string and keeps other children", () => {
    const session = loadedSession({ units: [makeUnit(1, [1, 2]), makeUnit(2, [3])] });
    const heard: string[] = [];
    session.onChange((c) => heard.push(...c.paths));
    setUnitLabel(session, "unit_001", "rgc");
    setUnitLabel(session, "unit_001", "ac");
    const unit = session.getUnit("unit_001");
    expect((unit.children.auto_label as Tree).axon_type).toBe("ac");
    expect(unitLabel(unit)).toBe("ac");
    expect(unitLabel(session.getUnit("unit_002"))).toBeUndefined();
    expect(Array.from(unit.spikeTimes, Number)).toEqual([1, 2]);
    // Through the session's merge, so immediate mode writes it through.
    expect(heard.some((p) => p.startsWith("units/unit_001"))).toBe(true);
  });

  it("reads a label loaded back as a one-element string array", () => {
    const unit = makeUnit(1, []);
    unit.children.auto_label = { axon_type: new StringArray(["no_label"]) };
    expect(unitLabel(unit)).toBe("no_label");
  });

  it("rejects labels outside rgc / ac / other / no_label and unknown units", () => {
    const session = loadedSession({ units: [makeUnit(1, [])] });
    expect(() => setUnitLabel(session, "unit_001", "amacrine" as UnitLabel)).toThrow(/not one of rgc, ac, other, no_label/);
    expect(() => setUnitLabel(session, "unit_404", "rgc")).toThrow(/unknown unit/);
  });
});
