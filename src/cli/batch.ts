/**
 * `hdmea process FILES|DIRS --out-dir OUT [--jobs N]`: many recordings, each in its own worker thread
 * (at most N at once), each written to `OUT/<dataset_id>.h5`.
 *
 * - An output that is already complete (outputStatus.ts) is "up to date" and not touched;
 *   an incomplete one is resumed from and replaced; `OUT/<dataset_id>.checkpoint.h5` is resumed from.
 * - Before any job starts (and before anything is written), refused with exit 2: two recordings with
 *   one dataset id (their outputs would collide), an out-dir that is a folder the recordings or the
 *   stimulus configs are read from, and any output, checkpoint or temporary that is an input file.
 * - One recording failing (bad file, a crashing worker, a hung step) does not stop the others.
 * - Ends with a table (or, with --json, a JSON array) and writes `OUT/summary.json` (the same rows
 *   with their warnings) for workflow tools. Exit code: 0 all good, 1 any failed, 2 refused, 130 cancelled.
 *
 * Worker threads rather than processes: h5wasm and the session live in each thread's own heap, and
 * results come back as plain objects without serialising through pipes.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { nodeRuntime } from "../io/h5node.ts";
import { asDiskFull } from "./diskSpace.ts";
import { externalStepsOutdated } from "./externalStep.ts";
import { CANCELLED_EXIT_CODE, handleInterrupts } from "./interrupt.ts";
import { incompleteBecause, readOutputInfo } from "./outputStatus.ts";
import { PathAliasError, fileIdentity, refuseAliases, type NamedPath } from "./pathIdentity.ts";
import { inputPaths } from "./pipelineInputs.ts";
import { newResult, type RecordingJob, type RecordingResult, type RunProgress } from "./processOne.ts";
import { LOAD_STEP, type ProcessOptions } from "./processOptions.ts";
import { StatusLine } from "./progressBar.ts";
import type { RecordingFiles } from "./recordingFiles.ts";
import { planSteps } from "./stepPlan.ts";
import { checkWorkerBuilt, runRecordingThread, type RecordingThread } from "./recordingThread.ts";
import { formatSummaryTable } from "./summaryTable.ts";

export const SUMMARY_FILE = "summary.json";

export async function runBatch(recordings: readonly RecordingFiles[], outDir: string, jobs: number, opts: ProcessOptions): Promise<number> {
  checkWorkerBuilt();
  refuseBatchAliases(recordings, outDir, opts);
  mkdirSync(outDir, { recursive: true });
  const status = new StatusLine();
  const say = (line: string) => status.log(line);
  const rt = await nodeRuntime();
  const required = [LOAD_STEP, ...planSteps(opts).run];
  const results = new Map<number, RecordingResult>();
  const queue: { index: number; job: RecordingJob }[] = [];

  recordings.forEach((r, index) => {
    const job: RecordingJob = {
      ...r,
      out: resolve(outDir, `${r.datasetId}.h5`),
      checkpointPath: resolve(outDir, `${r.datasetId}.checkpoint.h5`),
      resumeFromOutput: false,
    };
    const base = newResult(job, opts);
    if (!opts.force && existsSync(job.out)) {
      try {
        const info = readOutputInfo(rt, job.out);
        const why = incompleteBecause(info, r.datasetId, required, opts.params) ?? externalStepsOutdated(info.steps, opts.exec);
        if (!why) {
          say(`${r.label}: up to date (${basename(job.out)})`);
          results.set(index, { ...base, result: "up to date", units: info.unitCount, steps: info.steps.map((s) => s.name), warnings: info.warnings });
          return;
        }
        say(`${r.label}: ${basename(job.out)} is incomplete (${why}); resuming from it`);
        job.resumeFromOutput = true;
      } catch (e) {
        say(`${r.label}: ${(e as Error).message}; processing again`);
      }
    }
    queue.push({ index, job });
  });

  // The batch owns its output folder: replacing an incomplete or damaged output needs no --overwrite.
  const workerOpts: ProcessOptions = { ...opts, overwrite: true, json: false };
  const running = new Map<number, { thread: RecordingThread; label: string; progress?: RunProgress }>();
  let cancelled = false;
  const total = recordings.length;
  const redraw = () => {
    const parts = [...running.values()].map((r) => `${r.label} ${r.progress ? `${Math.floor(r.progress.fraction * 100)}% ${r.progress.step}` : "starting"}`);
    status.set(`${results.size}/${total} done · ${parts.join(" · ")}`);
  };
  const stopInterrupts = handleInterrupts(() => {
    cancelled = true;
    for (const r of running.values()) r.thread.cancel();
  }, say);

  const runOne = async ({ index, job }: { index: number; job: RecordingJob }) => {
    const slot: { thread: RecordingThread; label: string; progress?: RunProgress } = {
      label: job.label,
      thread: runRecordingThread(job, workerOpts, {
        progress: (p) => {
          slot.progress = p;
          redraw();
        },
        log: (line) => say(`${job.label}: ${line}`),
      }),
    };
    running.set(index, slot);
    let final: RecordingResult;
    try {
      final = await slot.thread.result;
    } catch (e) {
      // Parameters are checked before the batch starts; one the run still refuses fails its recording.
      final = { ...newResult(job, opts), error: `${job.label}: ${(e as Error).message}` };
    }
    running.delete(index);
    results.set(index, final);
    say(`${job.label}: ${final.result}${final.error ? ` — ${final.error}` : ""}`);
    redraw();
  };

  try {
    const lanes = Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        if (cancelled) {
          results.set(next.index, { ...newResult(next.job, opts), result: "cancelled", error: `${next.job.label}: not started (cancelled)` });
          continue;
        }
        await runOne(next);
      }
    });
    await Promise.all(lanes);
  } finally {
    stopInterrupts();
    status.clear();
  }

  const ordered = recordings.map((_, i) => results.get(i)!);
  const summaryText = `${JSON.stringify(ordered, null, 2)}\n`;
  try {
    writeFileSync(join(outDir, SUMMARY_FILE), summaryText);
  } catch (e) {
    throw asDiskFull(e, join(outDir, SUMMARY_FILE), Buffer.byteLength(summaryText)) ?? e;
  }
  if (opts.json) {
    // One row per recording; summary.json adds the warnings and the per-step detail.
    const rows = ordered.map(({ stepReports: _s, warnings, ...row }) => ({ ...row, warningCount: warnings.length }));
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else {
    process.stdout.write(formatSummaryTable(ordered));
  }
  if (cancelled) return CANCELLED_EXIT_CODE;
  return ordered.some((r) => r.result === "failed") ? 1 : 0;
}

/**
 * Refuses, before anything is read or written: two recordings with one dataset id (compared without
 * case too: on a Mac or Windows disk RecA.h5 and reca.h5 are one file), an out-dir that is a folder
 * inputs are read from (its RecA.h5 could be someone else's file, its summary.json a stimulus
 * config), and any output, checkpoint or temporary that is one of the input files.
 */
function refuseBatchAliases(recordings: readonly RecordingFiles[], outDir: string, opts: ProcessOptions): void {
  const byId = new Map<string, RecordingFiles>();
  for (const r of recordings) {
    const other = byId.get(r.datasetId.toLowerCase());
    if (other) {
      const otherName = other.cmtrPath ?? other.cmcrPath!;
      const name = r.cmtrPath ?? r.cmcrPath!;
      throw new PathAliasError(
        `${otherName} and ${name} both have dataset id ${other.datasetId === r.datasetId ? r.datasetId : `${other.datasetId} / ${r.datasetId}`}: ` +
          `both would write ${join(outDir, `${r.datasetId}.h5`)}; run them into separate --out-dir folders. Nothing was read or written`,
      );
    }
    byId.set(r.datasetId.toLowerCase(), r);
  }

  const outKey = fileIdentity(outDir);
  const folders = [
    ...recordings.flatMap((r) => [r.cmtrPath, r.cmcrPath]).filter((p): p is string => p !== undefined).map((p) => ({ what: "the recordings", dir: dirname(p) })),
    ...(opts.stimulusConfigDir !== undefined ? [{ what: "--stimulus-config", dir: opts.stimulusConfigDir }] : []),
  ];
  const input = folders.find((f) => fileIdentity(f.dir) === outKey);
  if (input) {
    throw new PathAliasError(
      `--out-dir ${outDir} is the folder ${input.what} ${input.what === "the recordings" ? "are" : "is"} read from (${input.dir}); ` +
        "outputs would mix with inputs. Choose another folder; nothing was read or written",
    );
  }

  const paths: NamedPath[] = [
    ...recordings.flatMap((r) => [r.cmtrPath, r.cmcrPath]).filter((p): p is string => p !== undefined).map((path) => ({ role: "recording", path, written: false })),
    ...inputPaths(opts),
    { role: "summary", path: join(outDir, SUMMARY_FILE), written: true },
    ...recordings.flatMap((r) => {
      const out = resolve(outDir, `${r.datasetId}.h5`);
      const checkpoint = resolve(outDir, `${r.datasetId}.checkpoint.h5`);
      return [
        { role: "output", path: out, written: true },
        { role: "checkpoint", path: checkpoint, written: true, withDeltas: true },
        { role: "temporary checkpoint", path: `${checkpoint}.next`, written: true },
      ];
    }),
  ];
  refuseAliases(paths);
}
