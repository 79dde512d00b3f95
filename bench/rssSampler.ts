/** Samples process RSS from a worker thread, so peaks during long synchronous calls are seen. */
import { Worker } from "node:worker_threads";

export interface RssSampler {
  /** Peak RSS in bytes since the last reset. */
  peak(): Promise<number>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const SOURCE = `
const { parentPort } = require("node:worker_threads");
let peak = 0;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 2);
parentPort.on("message", (m) => {
  if (m === "reset") peak = process.memoryUsage.rss();
  if (m === "stop") clearInterval(timer);
  parentPort.postMessage(peak);
});
`;

export function startRssSampler(): RssSampler {
  const worker = new Worker(SOURCE, { eval: true });
  const ask = (message: string) =>
    new Promise<number>((resolve) => {
      worker.once("message", resolve);
      worker.postMessage(message);
    });
  return {
    peak: () => ask("peak"),
    reset: async () => void (await ask("reset")),
    stop: async () => {
      await ask("stop");
      await worker.terminate();
    },
  };
}
