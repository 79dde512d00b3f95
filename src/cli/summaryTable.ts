/**
 * The end-of-batch table: one row per recording (recording, units, steps, time, result), then the
 * error of every failed one in full, since a table cell would cut it.
 */
import type { RecordingResult } from "./processOne.ts";
import { clock } from "./progressBar.ts";

/** `done/requested` of the steps this run asked for. */
export function stepsCell(r: RecordingResult): string {
  const done = r.requestedSteps.filter((s) => r.steps.includes(s)).length;
  return r.units === null && !r.steps.length ? "-" : `${done}/${r.requestedSteps.length}`;
}

export function resultCell(r: RecordingResult): string {
  if (r.result === "ok" && r.warnings.length) return `ok, ${r.warnings.length} warning${r.warnings.length > 1 ? "s" : ""}`;
  return r.result;
}

export function formatSummaryTable(results: readonly RecordingResult[]): string {
  const header = ["recording", "units", "steps", "time", "result"];
  const rows = results.map((r) => [r.recording, r.units === null ? "-" : String(r.units), stepsCell(r), r.result === "up to date" ? "-" : clock(r.seconds * 1000), resultCell(r)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  // Numbers right-aligned, text left-aligned.
  const right = [false, true, true, true, false];
  const line = (cells: string[]) => cells.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  const failed = results.filter((r) => r.error);
  if (failed.length) out.push("", ...failed.map((r) => `${r.result}: ${r.error}`));
  const counts = (["ok", "up to date", "failed", "cancelled"] as const)
    .map((k) => [k, results.filter((r) => r.result === k).length] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`);
  out.push("", `${results.length} recording${results.length === 1 ? "" : "s"}: ${counts.join(", ")}`);
  return `${out.join("\n")}\n`;
}
