/**
 * A person's cell-type label for a unit, stored where the lab's files keep it (domain brief §3.7):
 * `units/<id>/auto_label/axon_type`, a scalar UTF-8 string, one of `rgc` (retinal ganglion cell),
 * `ac` (amacrine cell), `other`, `no_label`. The lab's manual-labelling step writes the same place, so
 * its readers see our labels unchanged.
 *
 * | function                             | does                                              | errors                          |
 * |--------------------------------------|---------------------------------------------------|---------------------------------|
 * | `setUnitLabel(session, unitId, label)` | writes `auto_label/axon_type` (other children of `auto_label` kept) | SessionError: unknown unit; Error: label not allowed |
 * | `unitLabel(unit)`                    | the stored label, or undefined                    |                                 |
 */
import { StringArray, isTree } from "./ndarray.ts";
import type { PipelineSession, Unit } from "./session.ts";
import { mergeUnitGroup } from "./unitChildren.ts";

export const UNIT_LABELS = ["rgc", "ac", "other", "no_label"] as const;
export type UnitLabel = (typeof UNIT_LABELS)[number];

export function isUnitLabel(x: unknown): x is UnitLabel {
  return typeof x === "string" && (UNIT_LABELS as readonly string[]).includes(x);
}

export function setUnitLabel(session: PipelineSession, unitId: string, label: UnitLabel): void {
  if (!isUnitLabel(label)) throw new Error(`unit label "${String(label)}" is not one of ${UNIT_LABELS.join(", ")}`);
  // Through the session's merge so immediate mode hears the change; getUnit throws for an unknown id.
  mergeUnitGroup(session, unitId, "auto_label", { axon_type: label });
}

/** The label in `auto_label/axon_type` (a loaded file may give a one-element string array). */
export function unitLabel(unit: Unit): UnitLabel | undefined {
  const group = unit.children.auto_label;
  if (!isTree(group)) return undefined;
  const v = group.axon_type;
  const s = typeof v === "string" ? v : v instanceof StringArray && v.data.length === 1 ? v.data[0] : undefined;
  return isUnitLabel(s) ? s : undefined;
}
