/**
 * The one line the CLI prints for a recording that failed: the error's first line, led by the
 * recording's label unless the error names the file it is about (a reader's, an input's, a full
 * disk's), which already says where. A step's failure always gets the label: its file, if any, is
 * a detail of the step.
 */
import { failureOf } from "../core/failure.ts";
import { PipelineStepError } from "../core/pipeline.ts";
import { ExternalStepError } from "./externalStep.ts";

export function failureLine(error: unknown, label: string): string {
  const text = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  const stepFailed = error instanceof PipelineStepError || error instanceof ExternalStepError;
  return failureOf(error).file !== undefined && !stepFailed ? text : `${label}: ${text}`;
}
