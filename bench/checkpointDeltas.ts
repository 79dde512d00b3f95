/**
 * `npx tsx bench/checkpointDeltas.ts --cmtr X-.cmtr [--cmcr X.cmcr] --stimulus DIR --playlist-name NAME [--noise-movie N.npy]`
 *
 * Checkpoint writes per step, `hdmea process --steps all --checkpoint-every step` in this process:
 * once with every checkpoint a full copy (the behaviour before checkpoint deltas) and once with
 * deltas. Prints, per checkpoint, what was written (full or delta), its size and its time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { option, parseArgs } from "../src/cli/args.ts";
import { checkpointDeltaSettings } from "../src/io/checkpointDeltas.ts";
import { processOne, type RecordingJob } from "../src/cli/processOne.ts";
import { BOOLEAN_FLAGS, VALUE_OPTIONS, parseProcessOptions } from "../src/cli/processOptions.ts";

const args = parseArgs(process.argv.slice(2));
const cmtr = option(args, "cmtr");
const cmcr = option(args, "cmcr");
const stimulus = option(args, "stimulus")!;
const playlistName = option(args, "playlist-name")!;
const noise = option(args, "noise-movie");
const playlist = option(args, "playlist") ?? join(stimulus, "demo_playlist.csv");
const movieLength = option(args, "movie-length") ?? join(stimulus, "demo_movie_length.csv");

interface Row {
  mode: string;
  after: string;
  kind: string;
  bytes: string;
  seconds: number;
}

async function run(mode: "full" | "delta"): Promise<{ rows: Row[]; totalS: number }> {
  checkpointDeltaSettings.compactFraction = mode === "full" ? -1 : 0.5;
  const dir = mkdtempSync(join(tmpdir(), "hdmea-bench-ckpt-"));
  const argv = ["--steps", "all", "--playlist", playlist, "--playlist-name", playlistName, "--movie-length", movieLength, "--stimulus-config", stimulus, "--checkpoint-every", "step", ...(noise ? ["--noise-movie", noise] : [])];
  const opts = parseProcessOptions(parseArgs(argv, BOOLEAN_FLAGS, VALUE_OPTIONS));
  const job: RecordingJob = { label: "bench", cmtrPath: cmtr, cmcrPath: cmcr, datasetId: "bench", out: join(dir, "bench.h5"), checkpointPath: join(dir, "bench.checkpoint.h5"), resumeFromOutput: false };
  const rows: Row[] = [];
  let step = "";
  const started = Date.now();
  const result = await processOne(job, opts, {
    progress: () => undefined,
    stage: (name) => (step = name.replace(/^checkpoint after /, "")),
    log: (line) => {
      const m = /^checkpoint \S+ written in ([\d.]+) s \((full|delta \d+), ([^)]+)\)/.exec(line);
      if (m) rows.push({ mode, after: step, kind: m[2], bytes: m[3], seconds: Number(m[1]) });
    },
  });
  const totalS = (Date.now() - started) / 1000;
  if (result.result !== "ok") throw new Error(`${result.result}: ${JSON.stringify(result)}`);
  rmSync(dir, { recursive: true, force: true });
  return { rows, totalS };
}

for (const mode of ["full", "delta"] as const) {
  const { rows, totalS } = await run(mode);
  const sum = rows.reduce((s, r) => s + r.seconds, 0);
  console.log(`\n${mode === "full" ? "every checkpoint a full copy (before)" : "deltas (after)"}: run ${totalS.toFixed(1)} s, checkpoints ${sum.toFixed(2)} s`);
  for (const r of rows) console.log(`  after ${r.after.padEnd(22)} ${r.kind.padEnd(9)} ${r.bytes.padStart(10)}  ${r.seconds.toFixed(2)} s`);
}
