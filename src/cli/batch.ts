/**
 * `hdmea process FILES|DIRS --out-dir OUT [--jobs N]`: many recordings, each in its own worker thread
 * (at most N at once), each written to `OUT/<dataset_id>.h5`.
 *
 * - An output that is already complete (outputStatus.ts) is "up to date" and not touched;
 *   an incomplete one is resumed from and replaced; `OUT/<dataset_id>.checkpoint.h5` is resumed from.
 * - One recording failing (bad file, a crashing worker) does not stop the others.
 * - Ends with a table (or, with --json, a JSON array) and writes `OUT/summary.json` (the same rows
 *   with their warnings) for workflow tools. Exit code: 0 all good, 1 any failed, 130 cancelled.
 *
 * Worker threads rather than processes: h5wasm and the session live in each thread's own heap, and
 * results come back as plain objects without serialising through pipes.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { nodeRuntime } from "../io/h5node.ts";
import type { BatchWorkerData, WorkerMessage } from "./batchWorker.ts";
import { CANCELLED_EXIT_CODE, handleInterrupts } from "./interrupt.ts";
import { incompleteBecause, readOutputInfo } from "./outputStatus.ts";
import { newResult, type RecordingJob, type RecordingResult, type RunProgress } from "./processOne.ts";
import { LOAD_STEP, type ProcessOptions } from "./processOptions.ts";
import { StatusLine } from "./progressBar.ts";
import type { RecordingFiles } from "./recordingFiles.ts";
import { planSteps } from "./stepPlan.ts";
import { formatSummaryTable } from "./summaryTable.ts";

export const SUMMARY_FILE = "summary.json";

export async function runBatch(recordings: readonly RecordingFiles[], outDir: string, jobs: number, opts: ProcessOptions): Promise<number> {
  const workerUrl = new URL("./batchWorker.js", import.meta.url);
  if (!existsSync(fileURLToPath(workerUrl))) {
    throw new Error(`${fileURLToPath(workerUrl)}: the batch worker is not built; run \`npm run build:node\``);
  }
  mkdirSync(outDir, { recursive: true });
  const status = new StatusLine();
  const say = (line: string) => status.log(line);
  const rt = await nodeRuntime();
  const required = [LOAD_STEP, ...planSteps(opts).run];
  const results = new Map<number, RecordingResult>();
  const queue: { index: number; job: RecordingJob }[] = [];

  // Two recordings with one dataset id would write the same output: both fail, nothing is guessed.
  const byId = new Map<string, string[]>();
  for (const r of recordings) byId.set(r.datasetId, [...(byId.get(r.datasetId) ?? []), r.label]);

  recordings.forEach((r, index) => {
    const job: RecordingJob = {
      ...r,
      out: resolve(outDir, `${r.datasetId}.h5`),
      checkpointPath: resolve(outDir, `${r.datasetId}.checkpoint.h5`),
      resumeFromOutput: false,
    };
    const base = newResult(job, opts);
    const clash = byId.get(r.datasetId)!;
    if (clash.length > 1) {
      results.set(index, { ...base, error: `${r.label}: dataset id ${r.datasetId} also comes from ${clash.filter((l) => l !== r.label).join(", ")}; outputs would collide` });
      return;
    }
    if (!opts.force && existsSync(job.out)) {
      try {
        const info = readOutputInfo(rt, job.out);
        const why = incompleteBecause(info, r.datasetId, required, opts.params);
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
  const running = new Map<number, { worker: Worker; label: string; progress?: RunProgress }>();
  let cancelled = false;
  const total = recordings.length;
  const redraw = () => {
    const parts = [...running.values()].map((r) => `${r.label} ${r.progress ? `${Math.floor(r.progress.fraction * 100)}% ${r.progress.step}` : "starting"}`);
    status.set(`${results.size}/${total} done · ${parts.join(" · ")}`);
  };
  const stopInterrupts = handleInterrupts(() => {
    cancelled = true;
    for (const r of running.values()) r.worker.postMessage({ type: "cancel" });
  }, say);

  const runOne = ({ index, job }: { index: number; job: RecordingJob }) =>
    new Promise<void>((done) => {
      const data: BatchWorkerData = { job, opts: workerOpts };
      const worker = new Worker(workerUrl, { workerData: data });
      const slot: { worker: Worker; label: string; progress?: RunProgress } = { worker, label: job.label };
      running.set(index, slot);
      let result: RecordingResult | undefined;
      let crash: string | undefined;
      worker.on("message", (m: WorkerMessage) => {
        if (m.type === "progress") {
          slot.progress = m.progress;
          redraw();
        } else if (m.type === "log") {
          say(`${job.label}: ${m.line}`);
        } else {
          result = m.result;
        }
      });
      worker.on("error", (e) => {
        crash = `${job.label}: worker crashed: ${e.message.split("\n")[0]}`;
      });
      worker.on("exit", (code) => {
        running.delete(index);
        const final = result ?? { ...newResult(job, opts), error: crash ?? `${job.label}: worker stopped (exit code ${code}) without a result` };
        results.set(index, final);
        say(`${job.label}: ${final.result}${final.error ? ` — ${final.error}` : ""}`);
        redraw();
        done();
      });
    });

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
  writeFileSync(join(outDir, SUMMARY_FILE), `${JSON.stringify(ordered, null, 2)}\n`);
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
