/**
 * Is a session file already what a batch run would produce? Reads only the file's header parts
 * (dataset id, checkpoint mark, step log, warnings, unit names), never the unit data, so checking a
 * folder of 10–50 GB outputs costs milliseconds each.
 *
 * Complete = it opens as HDF5, is a session of the expected dataset, is not a checkpoint, and has
 * every required step recorded with the same parameters the run would use (parameters recorded
 * by the lab's own code are absent and count as the same, as the runner treats them).
 */
import { resolveStepParams, PIPELINE_STEPS, type PipelineParams } from "../core/pipeline.ts";
import { StringArray } from "../core/ndarray.ts";
import type { StepRecord } from "../core/session.ts";
import { baseName, closeQuietly, damagedFileError, openH5, type H5Group, type H5Runtime } from "../io/h5.ts";
import { readDataset } from "../io/h5Tree.ts";
import { deltaFileName } from "../io/checkpointDeltas.ts";
import { existsSync } from "node:fs";
import { fileError } from "../core/failure.ts";

export interface OutputInfo {
  datasetId: string;
  checkpointName?: string;
  steps: StepRecord[];
  warnings: string[];
  unitCount: number;
}

/** Throws an Error naming the file when it is not a readable session file. */
export function readOutputInfo(rt: H5Runtime, path: string): OutputInfo {
  const base = readHeader(rt, path);
  if (base.token === undefined) return base.info;
  // A checkpoint with deltas (checkpointDeltas.ts): each delta has the whole header as it was then,
  // and the units it added or removed.
  const units = new Set(base.units);
  let info = base.info;
  for (let index = 1; ; index++) {
    const delta = deltaFileName(path, index);
    if (!existsSync(delta)) break;
    const next = readHeader(rt, delta);
    if (next.deltaOf !== base.token || next.deltaIndex !== index) break;
    for (const changed of next.deltaPaths) {
      const [top, id, ...rest] = changed.split("/");
      if (top !== "units" || rest.length) continue;
      if (id === undefined) units.clear();
      if (id === undefined) for (const u of next.units) units.add(u);
      else if (next.units.includes(id)) units.add(id);
      else units.delete(id);
    }
    info = next.info;
  }
  return { ...info, unitCount: units.size };
}

function readHeader(rt: H5Runtime, path: string): { info: OutputInfo; units: string[]; token?: string; deltaOf?: string; deltaIndex?: number; deltaPaths: string[] } {
  const name = baseName(path);
  const file = openH5(rt, path, "r");
  try {
    const id = file.attrs.dataset_id;
    if (!id) throw fileError(name, "not a session file (no /@dataset_id attribute)");
    const info = group(file, "pipeline/session_info");
    const stepLog = info ? strings(info, "step_log") : [];
    const steps: StepRecord[] = stepLog.length
      ? stepLog.map((line) => JSON.parse(line) as StepRecord)
      : (info ? strings(info, "completed_steps") : []).map((n) => ({ name: n, params: {}, completedAt: "" }));
    const warningLog = info ? strings(info, "warning_log") : [];
    const warnings = warningLog.length
      ? warningLog.map((line) => (JSON.parse(line) as { message: string }).message)
      : info ? strings(info, "warnings") : [];
    const units = group(file, "units")?.keys() ?? [];
    const attr = (key: string) => (info?.attrs[key] ? info.attrs[key].value : undefined);
    return {
      info: {
        datasetId: String(id.value),
        checkpointName: attr("checkpoint_name") !== undefined ? String(attr("checkpoint_name")) : undefined,
        steps,
        warnings,
        unitCount: units.length,
      },
      units,
      token: attr("checkpoint_token") !== undefined ? String(attr("checkpoint_token")) : undefined,
      deltaOf: attr("checkpoint_delta_of") !== undefined ? String(attr("checkpoint_delta_of")) : undefined,
      deltaIndex: attr("checkpoint_delta_index") !== undefined ? Number(attr("checkpoint_delta_index")) : undefined,
      deltaPaths: info ? strings(info, "checkpoint_delta_paths") : [],
    };
  } catch (error) {
    throw damagedFileError(name, "the session summary", error);
  } finally {
    closeQuietly(file);
  }
}

/** Why `info` is not a complete output for these steps and parameters, or undefined when it is. */
export function incompleteBecause(info: OutputInfo, datasetId: string, required: readonly string[], params: PipelineParams): string | undefined {
  if (info.datasetId !== datasetId) return `it holds dataset ${info.datasetId}, not ${datasetId}`;
  if (info.checkpointName !== undefined) return `it is a checkpoint ("${info.checkpointName}"), not a saved session`;
  for (const name of required) {
    const record = info.steps.find((s) => s.name === name);
    if (!record) return `${name} has not run`;
    const def = PIPELINE_STEPS.find((d) => d.name === name);
    if (!def) continue;
    const wanted = resolveStepParams(def, (params as Record<string, object>)[name]) as Record<string, unknown>;
    for (const [key, value] of Object.entries(wanted)) {
      if (record.params && key in record.params && JSON.stringify(record.params[key]) !== JSON.stringify(value)) {
        return `${name} ran with ${key}=${JSON.stringify(record.params[key])}, this run asks for ${JSON.stringify(value)}`;
      }
    }
  }
  return undefined;
}

function group(parent: H5Group, path: string): H5Group | undefined {
  const node = parent.get(path);
  return node && (node as H5Group).type === "Group" ? (node as H5Group) : undefined;
}

function strings(parent: H5Group, name: string): string[] {
  const node = parent.get(name);
  if (!node || (node as H5Group).type !== "Dataset") return [];
  const value = readDataset(node as never);
  if (value instanceof StringArray) return [...value.data];
  return typeof value === "string" ? [value] : [];
}
