import { statSync } from "node:fs";
import { formatBytes } from "../../core/formatBytes.ts";
import { summarizeSession } from "../../core/sessionSummary.ts";
import { nodeRuntime } from "../../io/h5node.ts";
import { readSessionFile } from "../../io/sessionFile.ts";
import { UsageError, parseArgs } from "../args.ts";
import type { Command } from "../command.ts";

export const infoCommand: Command = {
  summary: "print a session file's summary (units, steps, state, sizes)",
  usage: "hdmea info FILE.h5 [--json]",
  async run(argv) {
    const args = parseArgs(argv, ["json"]);
    const [path] = args.positionals;
    if (!path || args.positionals.length > 1) throw new UsageError("give exactly one session file");
    const rt = await nodeRuntime();
    const { session, checkpointName, skipped } = readSessionFile(rt, path);
    const summary = {
      file: path,
      fileBytes: statSync(path).size,
      checkpointName: checkpointName ?? null,
      ...summarizeSession(session),
      skipped,
    };
    if (args.flags.has("json")) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `file          ${path} (${formatBytes(summary.fileBytes)})${checkpointName ? `, checkpoint "${checkpointName}"` : ""}`,
      `dataset       ${summary.datasetId}`,
      `state         ${summary.saveState}, saved ${summary.savedAt ?? "never"}`,
      `units         ${summary.unitCount} (${summary.spikeCount} spikes)`,
      `in memory     ${formatBytes(summary.memoryEstimateBytes)}`,
      `steps         ${summary.completedSteps.map((s) => s.name).join(", ") || "none"}`,
      `metadata      ${summary.metadataKeys.join(", ") || "none"}`,
      `stimulus      ${summary.stimulusKeys.join(", ") || "none"}`,
      `warnings      ${summary.warnings.length}`,
      ...summary.warnings.map((w) => `  - ${w.message}`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  },
};
