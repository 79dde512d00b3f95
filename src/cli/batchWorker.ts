/**
 * Worker-thread entry of the batch runner (bundled to dist-node/src/cli/batchWorker.js): processes
 * one recording with processOne and reports progress, log lines and the result to the main thread.
 * A "cancel" message aborts the running step; the checkpoint stays for the next run.
 */
import { parentPort, workerData } from "node:worker_threads";
import { processOne, type RecordingJob, type RecordingResult, type RunProgress } from "./processOne.ts";
import type { ProcessOptions } from "./processOptions.ts";

export interface BatchWorkerData {
  job: RecordingJob;
  opts: ProcessOptions;
}

export type WorkerMessage =
  | { type: "progress"; progress: RunProgress }
  | { type: "log"; line: string }
  | { type: "result"; result: RecordingResult };

if (parentPort) {
  const port = parentPort;
  const { job, opts } = workerData as BatchWorkerData;
  const controller = new AbortController();
  port.on("message", (m: { type?: string }) => {
    if (m?.type === "cancel") controller.abort();
  });
  const post = (m: WorkerMessage) => port.postMessage(m);
  let lastProgress = 0;
  const result = await processOne(
    job,
    opts,
    {
      progress: (p) => {
        // Steps report per unit; ten messages a second are plenty for a status line.
        const now = Date.now();
        if (now - lastProgress < 100 && p.stepFraction < 1) return;
        lastProgress = now;
        post({ type: "progress", progress: p });
      },
      log: (line) => post({ type: "log", line }),
    },
    controller.signal,
  );
  // processOne reports failures in its result; anything it throws reaches the main thread as the
  // worker's "error" event and becomes a failed row there.
  post({ type: "result", result });
  port.close();
}
