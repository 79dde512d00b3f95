/**
 * Child process that runs fuzz cases (h5wasm is synchronous: only a separate process can be stopped
 * when a case hangs). Started by readers.fuzz.test.ts with `node --import tsx`; it receives one
 * batch `{ seed, dir, bases, cases: [kind, index][] }` and reports `start` before and `done` after
 * every case, so the parent knows which case was running if it has to kill the process.
 */
import { mkdirSync } from "node:fs";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { mutate, readBytes, runCase, structureOffsets, type BaseFiles, type CaseInput, type Kind, type Outcome } from "./fuzzCases.ts";

export interface BatchRequest {
  seed: number;
  dir: string;
  bases: BaseFiles;
  cases: [Kind, number][];
}

export type WorkerMessage =
  | { type: "start"; kind: Kind; index: number; description: string }
  | { type: "done"; kind: Kind; index: number; description: string; outcome: Outcome; ms: number }
  | { type: "finished" };

process.on("message", (request: BatchRequest) => {
  void run(request).then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(3);
    },
  );
});

async function run(request: BatchRequest): Promise<void> {
  const rt = await nodeRuntime();
  mkdirSync(request.dir, { recursive: true });
  const inputs = new Map<string, CaseInput>();
  const inputFor = (kind: Kind, index: number): CaseInput => {
    // Pairs of cases alternate between the current format and the oldest one (version-1 headers).
    const source = Math.floor(index / 2) % 2 === 1 ? request.bases[kind][2] : request.bases[kind][0];
    let input = inputs.get(source);
    if (!input) {
      const original = readBytes(source);
      input = { original, other: readBytes(request.bases[kind][1]), structure: structureOffsets(original) };
      inputs.set(source, input);
    }
    return input;
  };
  const ctx = { rt, dir: request.dir, bases: request.bases };
  for (const [kind, index] of request.cases) {
    const mutation = mutate(inputFor(kind, index), request.seed, kind, index);
    send({ type: "start", kind, index, description: mutation.description });
    const t0 = performance.now();
    let outcome: Outcome;
    try {
      outcome = runCase(ctx, kind, index, mutation);
    } catch (error) {
      // runCase judges the readers' errors itself; anything here escaped it.
      outcome = { kind: "bad", problem: "uncaught in the harness", detail: String(error).slice(0, 300) };
    }
    send({ type: "done", kind, index, description: mutation.description, outcome, ms: performance.now() - t0 });
  }
  send({ type: "finished" });
  await new Promise<void>((resolve) => process.send!({ type: "flush" }, () => resolve()));
}

function send(message: WorkerMessage): void {
  process.send!(message);
}
