/**
 * Worker-thread entry for one recording (bundled to dist-node/src/cli/batchWorker.js), used by the
 * batch runner and by the single-recording command alike (recordingThread.ts): processes it with
 * processOne and reports progress, log lines and the result to the main thread.
 * A "cancel" message aborts the running step; the checkpoint stays for the next run.
 * Every file read/write and progress report beats the watchdog's heartbeat (watchdog.ts), and the
 * step and file in hand are posted as they change, so a hung call can be named from outside.
 */
import { parentPort, workerData } from "node:worker_threads";
import { watchFileActivity } from "../io/fileActivity.ts";
import { nodeRuntime } from "../io/h5node.ts";
import { UsageError } from "./args.ts";
import { processOne, type RecordingJob, type RecordingResult, type RunProgress } from "./processOne.ts";
import { LOAD_STEP, type ProcessOptions } from "./processOptions.ts";
import { testHooks } from "./testHooks.ts";
import { heartbeat } from "./watchdog.ts";

export interface BatchWorkerData {
  job: RecordingJob;
  opts: ProcessOptions;
  heartbeat: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: "progress"; progress: RunProgress }
  | { type: "log"; line: string }
  | { type: "activity"; step: string; file?: string }
  | { type: "usage"; message: string }
  | { type: "result"; result: RecordingResult };

if (parentPort) {
  const port = parentPort;
  const data = workerData as BatchWorkerData;
  const { job, opts } = data;
  const controller = new AbortController();
  port.on("message", (m: { type?: string }) => {
    if (m?.type === "cancel") controller.abort();
  });
  const post = (m: WorkerMessage) => port.postMessage(m);
  const beat = heartbeat(data.heartbeat);
  let step = LOAD_STEP;
  let file: string | undefined;
  const enter = (nextStep: string) => {
    beat();
    if (nextStep === step) return;
    step = nextStep;
    post({ type: "activity", step, file });
  };
  const rt = await nodeRuntime();
  beat(); // started: from here on the watchdog's own limit applies
  watchFileActivity(rt, (path, kind) => {
    beat();
    if (path !== file) {
      file = path;
      post({ type: "activity", step, file });
    }
    if (kind === "read") testHooks.inRead(step, job.datasetId);
  });
  let lastProgress = 0;
  try {
    const result = await processOne(
      job,
      opts,
      {
        progress: (p) => {
          enter(p.step);
          testHooks.inStep(p.step, job.datasetId);
          // Steps report per unit; ten messages a second are plenty for a status line.
          const now = Date.now();
          if (now - lastProgress < 100 && p.stepFraction < 1) return;
          lastProgress = now;
          post({ type: "progress", progress: p });
        },
        stage: enter,
        scratchIo: beat,
        log: (line) => post({ type: "log", line }),
      },
      controller.signal,
    );
    post({ type: "result", result });
  } catch (e) {
    // Anything else processOne throws reaches the main thread as the worker's "error" event.
    if (!(e instanceof UsageError)) throw e;
    post({ type: "usage", message: e.message });
  }
  port.close();
}
