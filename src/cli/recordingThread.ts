/**
 * Runs one recording in its own worker thread (batchWorker.ts) and watches it: the single-recording
 * command and each batch lane use this, so both get the same watchdog. A step with no file reads,
 * writes or progress for `watchdogSeconds` is declared hung: the worker is terminated (which also
 * stops a busy loop inside HDF5's wasm), a temporary it was writing is removed, and the result is a
 * failure naming the file and the step; the last checkpoint is kept for the next run.
 */
import { existsSync, unlinkSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { UsageError } from "./args.ts";
import type { BatchWorkerData, WorkerMessage } from "./batchWorker.ts";
import { newResult, type RecordingJob, type RecordingResult, type RunProgress } from "./processOne.ts";
import type { ProcessOptions } from "./processOptions.ts";
import { fileShownFor, newHeartbeatBuffer, watch } from "./watchdog.ts";
import { fileError } from "../core/failure.ts";

const WORKER_URL = new URL("./batchWorker.js", import.meta.url);

export function checkWorkerBuilt(): void {
  if (!existsSync(fileURLToPath(WORKER_URL))) {
    throw fileError(fileURLToPath(WORKER_URL), "the recording worker is not built; run `npm run build:node`", "internal");
  }
}

export interface ThreadEvents {
  progress(p: RunProgress): void;
  log(line: string): void;
}

export interface RecordingThread {
  result: Promise<RecordingResult>;
  /** Asks the worker to stop at the running step's next progress report. */
  cancel(): void;
}

/** `opts.watchdogSeconds` 0 = no watchdog. A UsageError from the run rejects `result`. */
export function runRecordingThread(job: RecordingJob, opts: ProcessOptions, events: ThreadEvents): RecordingThread {
  const { watchdogSeconds } = opts;
  const buffer = newHeartbeatBuffer();
  const data: BatchWorkerData = { job, opts, heartbeat: buffer };
  const worker = new Worker(WORKER_URL, { workerData: data });
  let step = "load_recording";
  let file: string | undefined = job.cmtrPath ?? job.cmcrPath;
  let result: RecordingResult | undefined;
  let usage: string | undefined;
  let crash: string | undefined;
  let hung: string | undefined;
  const stopWatch =
    watchdogSeconds > 0
      ? watch(buffer, watchdogSeconds * 1000, () => {
          const kept = existsSync(job.checkpointPath) ? `; checkpoint ${basename(job.checkpointPath)} kept` : "";
          const where = file ? basename(fileShownFor(file)) : job.label;
          hung = `${where}: no file reads, writes or progress for ${watchdogSeconds} s during ${step}; stopped as hung${kept}`;
          void worker.terminate();
        })
      : () => {};
  worker.on("message", (m: WorkerMessage) => {
    if (m.type === "progress") events.progress(m.progress);
    else if (m.type === "log") events.log(m.line);
    else if (m.type === "activity") {
      step = m.step;
      file = m.file ?? file;
    } else if (m.type === "usage") usage = m.message;
    else result = m.result;
  });
  worker.on("error", (e) => {
    crash = `${job.label}: worker crashed: ${e.message.split("\n")[0]}`;
  });
  const done = new Promise<RecordingResult>((resolve, reject) => {
    worker.on("exit", (code) => {
      stopWatch();
      if (usage !== undefined) return reject(new UsageError(usage));
      if (hung !== undefined) {
        // The write it hung in never finished: its temporary is ours to remove (the target is untouched).
        if (file && file !== fileShownFor(file) && /\.partial-[a-z0-9]+$/i.test(file) && existsSync(file)) unlinkSync(file);
        return resolve({ ...newResult(job, opts), error: hung });
      }
      resolve(result ?? { ...newResult(job, opts), error: crash ?? `${job.label}: worker stopped (exit code ${code}) without a result` });
    });
  });
  return { result: done, cancel: () => worker.postMessage({ type: "cancel" }) };
}
