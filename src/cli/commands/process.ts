import { statSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { resolve } from "node:path";
import { defaultMemoryBudgetBytes } from "../../core/memoryBudget.ts";
import { ALL_STEPS, PIPELINE_STEPS, PipelineParamsError, resolveStepParams } from "../../core/pipeline.ts";
import { parseRecordingFileName } from "../../core/recordingPairing.ts";
import { UsageError, option, parseArgs } from "../args.ts";
import { runBatch } from "../batch.ts";
import { CANCELLED_EXIT_CODE, handleInterrupts } from "../interrupt.ts";
import type { Command } from "../command.ts";
import { refuseAliases } from "../pathIdentity.ts";
import { checkInputFiles, inputPaths } from "../pipelineInputs.ts";
import type { RecordingJob } from "../processOne.ts";
import { BOOLEAN_FLAGS, KNOWN_STEPS, VALUE_OPTIONS, parseProcessOptions, type ProcessOptions } from "../processOptions.ts";
import { StatusLine, formatProgress } from "../progressBar.ts";
import { discoverRecordings, findPartner, recordingFiles } from "../recordingFiles.ts";
import { checkWorkerBuilt, runRecordingThread } from "../recordingThread.ts";
import { DEFAULT_WATCHDOG_SECONDS } from "../watchdog.ts";
import { planSteps } from "../stepPlan.ts";
import { fileError } from "../../core/failure.ts";

const USAGE =
  "hdmea process NAME.cmtr [--cmcr NAME.cmcr] --out OUT.h5 [options]\n" +
  "       hdmea process FILES.cmtr…|DIR… --out-dir OUT [--jobs N] [options]";

const HELP = `Runs load_recording (unless resuming from a checkpoint) and then the requested steps, and saves the
session file. Several recordings (files or folders) with --out-dir run as a batch, one worker thread each.

  --out OUT.h5               the session file (one recording)
  --cmcr NAME.cmcr           the raw file, if not beside the .cmtr with the matching name
  --out-dir OUT              batch: write OUT/<dataset_id>.h5 and OUT/summary.json
  --jobs N                   batch: recordings at once (default: CPU count)
  --steps all|a,b,…          default load_recording; all = load_recording, ${ALL_STEPS.join(", ")}
                             steps: ${KNOWN_STEPS.join(", ")}, and external ones (--exec)
  --exec NAME=COMMAND        an external step: a program run on the session file where NAME is in
                             --steps ({file} = the file's path, {dataset_id} = the id), e.g.
                             --steps all,ap_tracking --exec ap_tracking="python3 ap.py {file}";
                             repeatable. See "External steps" below
  --exec-timeout S           stop an external step still running after S seconds (default 0 = no
                             limit; the watchdog does not apply to external steps)
  --playlist P.csv           playlist table (add_section_time)
  --playlist-name NAME       the playlist that was shown (= --param add_section_time.playlist_name=NAME)
  --movie-length M.csv       movie-length table (add_section_time)
  --stimulus-config DIR      folder of <movie>.json trial definitions (section_spike_times)
  --noise-movie [MOVIE=]F.npy  dense-noise stimulus [frames, H, W] (compute_sta); repeatable
  --mode deferred|immediate  save once at the end (default) or rewrite the file after every step
  --checkpoint-every step|S  write a checkpoint after every step, or after the named step(s)
  --checkpoint PATH          checkpoint file (default OUT.checkpoint.h5; implies --checkpoint-every step)
  --param step.key=value     a step parameter (value as JSON, else text); repeatable
  --memory-budget GB         arrays kept in memory at most; past it the largest go to a temporary
                             file and are read back when needed (default: half the RAM per job)
  --watchdog-seconds S       a step with no file reads, writes or progress for S seconds is hung:
                             stop with an error naming the file and step, keep the checkpoint
                             (default ${DEFAULT_WATCHDOG_SECONDS}; 0 = off)
  --force                    ignore checkpoints and complete outputs; start from the recording
  --overwrite                replace an existing OUT.h5
  --json                     print the result (batch: an array of rows) as JSON on stdout

A step whose input file is not given is skipped with a warning (e.g. compute_sta without --noise-movie).
External steps: built-in steps run in pipeline order; an external step runs after the built-in steps
listed before it. On a deferred session it first auto-saves to --out ("Auto-saving deferred session
to OUT.h5 to satisfy HDF5-path requirement"); in immediate mode the file is already current. The
command is split into words like a shell would (quotes, no pipes or variables) and run without a
shell, with only PATH, HOME, USER, LOGNAME, LANG, LANGUAGE, LC_*, TZ, TMPDIR, HDF5_USE_FILE_LOCKING,
CUDA_VISIBLE_DEVICES (and Windows' system variables) from this environment, plus HDMEA_FILE,
HDMEA_DATASET_ID and HDMEA_STEP; its output goes to the log. Exit 0: the session reads the file back
and step_log records the command, exit status, time and the script's SHA-256. Otherwise the run fails
naming the step, its exit status and last stderr lines; the file is as it was before the step.
A resumed checkpoint skips external steps already done with the same command and script.
An existing checkpoint is resumed from (completed steps are skipped) and removed after a successful save
once the saved file reads back with every step.
No two paths may be one file (an output over an input, the checkpoint = the output, via ./, a symlink
or a hard link; in a batch, two recordings with one dataset id or --out-dir = an input folder): refused
with exit 2 before anything is read or written.
A full disk (checked before each write, and any write the device refuses) fails naming the file being
written and how much room it needed; that file is left as it was.
Exit codes: 0 ok, 1 a recording failed (bad input, full disk, hung step), 2 bad arguments or paths
that are one file, 130 cancelled (Ctrl-C; the checkpoint is kept).`;

export const processCommand: Command = {
  summary: "run pipeline steps on recording pairs and save the session files (one, or a batch)",
  usage: USAGE,
  help: HELP,
  async run(argv) {
    const args = parseArgs(argv, BOOLEAN_FLAGS, VALUE_OPTIONS);
    const opts = parseProcessOptions(args);
    if (!args.positionals.length) throw new UsageError("give a recording (NAME.cmtr, or NAME.cmcr alone), several, or a folder");
    validateParams(opts);

    const outDir = option(args, "out-dir");
    const batch = outDir !== undefined || args.positionals.length > 1 || isDirectory(args.positionals[0]);
    if (!batch) return runSingle(args.positionals[0], option(args, "cmcr"), option(args, "out"), opts);

    if (!outDir) throw new UsageError("several recordings (or a folder) need --out-dir OUT instead of --out");
    for (const name of ["out", "cmcr", "checkpoint"]) {
      if (option(args, name) !== undefined) throw new UsageError(`--${name} is for one recording; a batch writes OUT/<dataset_id>.h5 and .checkpoint.h5`);
    }
    const jobsText = option(args, "jobs");
    const jobs = jobsText === undefined ? availableParallelism() : Number(jobsText);
    if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a whole number ≥ 1, got "${jobsText}"`);
    checkInputFiles(opts);
    const budget = opts.memoryBudgetBytes ?? defaultMemoryBudgetBytes({ totalMemoryBytes: totalmem(), jobs });
    return runBatch(discoverRecordings(args.positionals), outDir, jobs, { ...opts, memoryBudgetBytes: budget });
  },
};

async function runSingle(input: string, cmcrOption: string | undefined, out: string | undefined, opts: ProcessOptions): Promise<number> {
  if (!out) throw new UsageError("--out OUT.h5 is required (or --out-dir OUT for a batch)");
  const kind = parseRecordingFileName(input)?.kind;
  let cmtrPath: string | undefined;
  let cmcrPath = cmcrOption;
  if (kind === "cmcr" && cmcrPath === undefined) cmcrPath = input;
  else {
    cmtrPath = input;
    cmcrPath ??= findPartner(input, "cmcr");
  }
  for (const path of [cmtrPath, cmcrPath]) {
    if (path !== undefined && !isFile(path)) throw fileError(path, "file not found");
  }
  const files = recordingFiles(cmtrPath && resolve(cmtrPath), cmcrPath && resolve(cmcrPath));
  const outPath = resolve(out);
  const job: RecordingJob = {
    ...files,
    out: outPath,
    checkpointPath: resolve(opts.checkpointPath ?? `${outPath.replace(/\.h5$/i, "")}.checkpoint.h5`),
    resumeFromOutput: false,
  };
  // Before anything is read or written: no output, checkpoint or temporary may be an input or each other.
  const checkpointRole = opts.checkpointPath === undefined ? "checkpoint" : "--checkpoint";
  refuseAliases([
    ...(cmtrPath !== undefined ? [{ role: "the .cmtr", path: cmtrPath, written: false }] : []),
    ...(cmcrPath !== undefined ? [{ role: "the .cmcr", path: cmcrPath, written: false }] : []),
    ...inputPaths(opts),
    { role: "--out", path: out, written: true },
    { role: checkpointRole, path: opts.checkpointPath ?? job.checkpointPath, written: true, withDeltas: true },
    { role: `${checkpointRole}'s temporary`, path: `${job.checkpointPath}.next`, written: true },
  ]);
  checkWorkerBuilt();

  const status = new StatusLine();
  const started = Date.now();
  const thread = runRecordingThread(job, opts, {
    progress: (p) => status.set(formatProgress(p, Date.now() - started), p.stepFraction >= 1),
    log: (line) => status.log(`hdmea: ${line}`),
  });
  const stopInterrupts = handleInterrupts(() => thread.cancel(), (line) => status.log(line));
  let result;
  try {
    result = await thread.result;
  } finally {
    stopInterrupts();
    status.clear();
  }

  if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (result.result === "cancelled") {
    process.stderr.write(`hdmea process: ${result.error}\n`);
    return CANCELLED_EXIT_CODE;
  }
  if (result.result === "failed") {
    if (opts.json) return 1;
    throw new Error(result.error);
  }
  if (!opts.json) {
    process.stdout.write(
      `wrote ${out}: dataset ${result.datasetId}, ${result.units} units (${result.spikes} spikes), ` +
        `${result.frames} frames, steps ${result.steps.join(", ")}${result.resumedFrom ? " (resumed)" : ""}\n`,
    );
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
  }
  return 0;
}

/** Parameter mistakes are usage errors, found before hours of loading rather than after. */
function validateParams(opts: ProcessOptions): void {
  const run = planSteps(opts).run;
  for (const def of PIPELINE_STEPS) {
    const given = (opts.params as Record<string, object | undefined>)[def.name];
    try {
      if (run.includes(def.name)) resolveStepParams(def, given);
      else if (given) {
        const unknown = Object.keys(given).filter((k) => !(k in def.defaults));
        if (unknown.length) throw new PipelineParamsError(`${def.name}: unknown parameter(s) ${unknown.join(", ")} (it takes ${Object.keys(def.defaults).join(", ")})`);
      }
    } catch (e) {
      if (e instanceof PipelineParamsError) throw new UsageError(e.message);
      throw e;
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
