/**
 * Writes a synthetic MCS CMOS-MEA recording pair (NAME.cmcr + NAME-.cmtr) in the real layout:
 *
 *   npm run make-recording -- --out DIR --name NAME --units N --minutes M --seed S
 *                             [--sensor-seconds X] [--compression 0-9] [--rate-scale F]
 *                             [--stimulus demo_set_a|full] [--analog-noise F] [--cutout-step F]
 *
 * See tools/recordingGenerator.ts for what is inside.
 */
import { mkdirSync, statSync } from "node:fs";
import { parseArgs, option } from "../src/cli/args.ts";
import { nodeRuntime } from "../src/io/h5node.ts";
import { writeRecordingPair } from "../tools/recordingGenerator.ts";

function numberOption(args: ReturnType<typeof parseArgs>, name: string, fallback?: number): number {
  const raw = option(args, name);
  if (raw === undefined) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`--${name} must be a number, got "${raw}"`);
  return value;
}

try {
  const args = parseArgs(process.argv.slice(2));
  const out = option(args, "out");
  const name = option(args, "name");
  if (!out || !name) throw new Error("--out DIR and --name NAME are required");
  const units = numberOption(args, "units", 24);
  const minutes = numberOption(args, "minutes", 2);
  const seed = numberOption(args, "seed", 1);
  const sensorSeconds = numberOption(args, "sensor-seconds", 0);
  const compression = numberOption(args, "compression", 0);
  const rateScale = numberOption(args, "rate-scale", 1);
  const analogNoise = numberOption(args, "analog-noise", 1);
  const cutoutStep = numberOption(args, "cutout-step", 0);
  const stimulus = option(args, "stimulus") ?? "demo_set_a";
  if (stimulus !== "demo_set_a" && stimulus !== "full") throw new Error(`--stimulus must be demo_set_a or full, got "${stimulus}"`);
  if (!Number.isInteger(units) || units < 0) throw new Error("--units must be a whole number ≥ 0");
  if (!(minutes > 0)) throw new Error("--minutes must be > 0");
  mkdirSync(out, { recursive: true });
  const rt = await nodeRuntime();
  const started = performance.now();
  const g = writeRecordingPair(rt, { dir: out, name, units, minutes, seed, sensorSeconds, compression, rateScale, stimulus, analogNoise, cutoutStep });
  const spikes = g.units.reduce((n, u) => n + u.includedTimestampsUs.length, 0);
  const mb = (p: string) => (statSync(p).size / 1e6).toFixed(1);
  process.stdout.write(
    `wrote ${g.cmcrPath} (${mb(g.cmcrPath)} MB) and ${g.cmtrPath} (${mb(g.cmtrPath)} MB): ` +
      `${g.units.length} units, ${spikes} included spikes, ${g.frameTimestamps.length} frames, ` +
      `${(g.durationUs / 1e6).toFixed(1)} s at ${g.rate} Hz in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
} catch (error) {
  process.stderr.write(`make-recording: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
