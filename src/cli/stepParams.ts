/**
 * `--param step.key=value`: one step parameter from the command line. The value is read as JSON when
 * it is JSON (`3`, `[2.0,0]`, `null`, `["a","b"]`, `"x"`), else as a plain string (`demo_set_a`), so
 * shell users rarely need to quote. Unknown keys are reported by the step's own validation.
 */
import { PIPELINE_STEPS, type PipelineParams } from "../core/pipeline.ts";
import { UsageError } from "./args.ts";

export function parseStepParams(texts: readonly string[]): PipelineParams {
  const params: Record<string, Record<string, unknown>> = {};
  const stepNames = PIPELINE_STEPS.map((s) => s.name);
  for (const text of texts) {
    const match = /^([a-z_]+)\.([A-Za-z0-9_]+)=(.*)$/s.exec(text);
    if (!match) throw new UsageError(`--param takes step.key=value (e.g. section_spike_times.pad_margin=[2,0]), got "${text}"`);
    const [, step, key, raw] = match;
    if (!stepNames.includes(step)) throw new UsageError(`--param ${text}: unknown step "${step}" (steps with parameters: ${stepNames.join(", ")})`);
    params[step] = { ...params[step], [key]: parseValue(raw) };
  }
  return params as PipelineParams;
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
