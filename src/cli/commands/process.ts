import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { NDArray } from "../../core/ndarray.ts";
import { pairingKey, parseRecordingFileName } from "../../core/recordingPairing.ts";
import { nodeRuntime } from "../../io/h5node.ts";
import { loadRecording } from "../../io/mcs/openRecording.ts";
import { saveSession } from "../../io/sessionStore.ts";
import { UsageError, option, parseArgs } from "../args.ts";
import type { Command } from "../main.ts";

/** Steps this command can run, in pipeline order. */
const SUPPORTED_STEPS = ["load_recording"] as const;

export const processCommand: Command = {
  summary: "run pipeline steps on a recording pair and save the session file",
  usage: "hdmea process NAME.cmtr [--cmcr NAME.cmcr] --out OUT.h5 [--steps load_recording] [--overwrite]",
  async run(argv) {
    const args = parseArgs(argv, ["overwrite"]);
    if (args.positionals.length !== 1) throw new UsageError("give exactly one recording file (NAME.cmtr, or NAME.cmcr alone)");
    const out = option(args, "out");
    if (!out) throw new UsageError("--out OUT.h5 is required");
    const steps = (option(args, "steps") ?? "load_recording").split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = steps.filter((s) => !(SUPPORTED_STEPS as readonly string[]).includes(s));
    if (unknown.length) throw new UsageError(`unknown step(s) ${unknown.join(", ")}; available: ${SUPPORTED_STEPS.join(", ")}`);
    if (!steps.includes("load_recording")) throw new UsageError("--steps must include load_recording (every session starts with it)");

    const [input] = args.positionals;
    const kind = parseRecordingFileName(input)?.kind;
    let cmtrPath: string | undefined;
    let cmcrPath = option(args, "cmcr");
    if (kind === "cmcr" && cmcrPath === undefined) cmcrPath = input;
    else {
      cmtrPath = input;
      cmcrPath ??= findPartnerCmcr(input);
    }
    if (cmcrPath !== undefined && !existsSync(cmcrPath)) throw new Error(`${cmcrPath}: file not found`);

    const rt = await nodeRuntime();
    // Emscripten's Node file system resolves relative paths against its own cwd: pass absolute ones.
    const session = loadRecording(rt, {
      cmtrPath: cmtrPath && resolve(cmtrPath),
      cmcrPath: cmcrPath && resolve(cmcrPath),
    });
    saveSession(rt, session, resolve(out), { overwrite: args.flags.has("overwrite") });
    let spikes = 0;
    for (const unit of session.units.values()) spikes += unit.spikeTimes.length;
    const frames = session.metadata.frame_timestamps;
    const frameCount = frames instanceof NDArray ? frames.data.length : 0;
    process.stdout.write(
      `wrote ${out}: dataset ${session.datasetId}, ${session.unitCount} units (${spikes} spikes), ` +
        `${frameCount} frames, steps ${session.completedSteps.map((s) => s.name).join(", ")}\n`,
    );
    for (const warning of session.warnings) process.stdout.write(`warning: ${warning.message}\n`);
    return 0;
  },
};

/** `NAME.cmcr` next to `NAME-.cmtr` (names compared as pairing does), or undefined. */
function findPartnerCmcr(cmtrPath: string): string | undefined {
  const parsed = parseRecordingFileName(cmtrPath);
  if (!parsed) return undefined;
  const dir = dirname(cmtrPath);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const match = names.find((n) => {
    const other = parseRecordingFileName(n);
    return other?.kind === "cmcr" && pairingKey(other.stem) === parsed.key;
  });
  return match === undefined ? undefined : join(dir, match);
}
