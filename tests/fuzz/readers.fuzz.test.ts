/**
 * Fuzz test of every reader (.cmtr, .cmcr, session .h5): each mutated file must end in a correct
 * load or one clean Error naming the file — never a hang, a crashed process, a runtime left unable
 * to read a good file, a non-Error throw, or a raw HDF5 stack as the message.
 *
 *   npx vitest run tests/fuzz                      600 cases (200 per kind), seed 1
 *   FUZZ_CASES=5000 FUZZ_SEED=7 npx vitest run tests/fuzz
 *   FUZZ_ONLY=cmtr:123 npx vitest run tests/fuzz   re-run one case (prints its mutation)
 *
 * Cases run in child processes (fuzzWorker.ts), two at a time, in batches; a case that does not
 * finish within FUZZ_CASE_TIMEOUT_MS (default 10 s) is reported as a hang and its process killed.
 */
import { describe, expect, it } from "vitest";
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { KINDS, describeOutcome, writeBaseFiles, type BaseFiles, type Kind, type Outcome } from "./fuzzCases.ts";
import type { BatchRequest, WorkerMessage } from "./fuzzWorker.ts";

const CASES = Number(process.env.FUZZ_CASES ?? 600);
const SEED = Number(process.env.FUZZ_SEED ?? 1);
const CASE_TIMEOUT_MS = Number(process.env.FUZZ_CASE_TIMEOUT_MS ?? 10_000);
// Generous: a worker that loads h5wasm on a loaded 2-core machine can take tens of seconds to start.
const STARTUP_TIMEOUT_MS = 120_000;
const BATCH = 150;
const LANES = Math.max(1, Math.min(2, availableParallelism()));
const WORKER = join(import.meta.dirname, "fuzzWorker.ts");

interface Result {
  kind: Kind;
  index: number;
  description: string;
  outcome: Outcome;
  ms: number;
}

function caseList(): [Kind, number][] {
  const only = process.env.FUZZ_ONLY;
  if (only) {
    return only.split(",").map((spec) => {
      const [kind, index] = spec.split(":");
      if (!KINDS.includes(kind as Kind)) throw new Error(`FUZZ_ONLY: unknown kind ${kind}`);
      return [kind as Kind, Number(index)];
    });
  }
  return Array.from({ length: CASES }, (_, i) => [KINDS[i % KINDS.length], Math.floor(i / KINDS.length)]);
}

/** Runs one batch in a fresh child; returns the cases it did not reach (after a hang or crash). */
function runBatch(bases: BaseFiles, dir: string, cases: [Kind, number][], results: Result[]): Promise<[Kind, number][]> {
  return new Promise((resolve) => {
    const child: ChildProcess = fork(WORKER, [], {
      execArgv: ["--import", "tsx", "--max-old-space-size=2048"],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr = (stderr + String(chunk)).slice(-2000)));
    let current: { kind: Kind; index: number; description: string; started: number } | undefined;
    let done = 0;
    let settled = false;
    let timer = setTimeout(() => fail("did not start", STARTUP_TIMEOUT_MS), STARTUP_TIMEOUT_MS);

    const finish = (rest: [Kind, number][]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(rest);
    };
    function fail(problem: string, ms: number): void {
      if (settled) return;
      child.kill("SIGKILL");
      if (current) {
        results.push({ ...current, ms, outcome: { kind: "bad", problem, detail: stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 400) } });
        finish(cases.slice(done + 1));
      } else {
        // Not a case's fault: the batch is re-run once by the caller's queue.
        results.push({ kind: cases[0][0], index: -1, description: "worker start", ms, outcome: { kind: "bad", problem, detail: stderr.slice(-400) } });
        finish([]);
      }
    }

    child.on("message", (message: WorkerMessage) => {
      if (message.type === "start") {
        current = { kind: message.kind, index: message.index, description: message.description, started: performance.now() };
        clearTimeout(timer);
        timer = setTimeout(() => fail(`hang (no result within ${CASE_TIMEOUT_MS} ms)`, CASE_TIMEOUT_MS), CASE_TIMEOUT_MS);
      } else if (message.type === "done") {
        results.push({ kind: message.kind, index: message.index, description: message.description, outcome: message.outcome, ms: message.ms });
        current = undefined;
        done++;
        clearTimeout(timer);
      } else if (message.type === "finished") {
        finish([]);
      }
    });
    child.on("exit", (code, signal) => {
      if (!settled && done < cases.length) fail(`process died (exit ${code ?? signal})`, current ? performance.now() - current.started : 0);
      finish([]);
    });
    const request: BatchRequest = { seed: SEED, dir, bases, cases };
    child.send(request);
  });
}

async function runAll(bases: BaseFiles, root: string): Promise<Result[]> {
  const queue: [Kind, number][][] = [];
  const all = caseList();
  for (let i = 0; i < all.length; i += BATCH) queue.push(all.slice(i, i + BATCH));
  const results: Result[] = [];
  const lane = async (n: number) => {
    let batchNo = 0;
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      const rest = await runBatch(bases, join(root, `lane${n}-${batchNo++}`), batch, results);
      if (rest.length) queue.push(rest);
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, n) => lane(n)));
  return results;
}

function summary(results: Result[], seconds: number): string {
  const loaded = results.filter((r) => r.outcome.kind === "loaded").length;
  const errors = results.filter((r) => r.outcome.kind === "error");
  const bad = results.filter((r) => r.outcome.kind === "bad");
  const byCategory = new Map<string, number>();
  for (const r of errors) {
    const c = (r.outcome as { category: string }).category;
    byCategory.set(c, (byCategory.get(c) ?? 0) + 1);
  }
  const categories = [...byCategory].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(", ");
  const perKind = KINDS.map((k) => `${k} ${results.filter((r) => r.kind === k).length}`).join("/");
  const slowest = results.reduce<Result | undefined>((a, r) => (!a || r.ms > a.ms ? r : a), undefined);
  return (
    `fuzz seed ${SEED}: ${results.length} cases (${perKind}; half in the oldest HDF5 format) in ${seconds.toFixed(1)} s: ${loaded} loaded, ` +
    `${errors.length} clean errors [${categories}], ${bad.length} bad` +
    (slowest ? `; slowest ${slowest.kind}:${slowest.index} ${(slowest.ms / 1000).toFixed(2)} s` : "")
  );
}

describe("reader fuzzing", () => {
  it(`${process.env.FUZZ_ONLY ?? `${CASES} mutated files`} end in a load or a clean error`, async () => {
    const root = mkdtempSync(join(tmpdir(), "hdmea-fuzz-"));
    try {
      const rt = await nodeRuntime();
      const bases = writeBaseFiles(rt, join(root, "bases"));
      const t0 = performance.now();
      const results = await runAll(bases, root);
      const line = summary(results, (performance.now() - t0) / 1000);
      console.log(line);
      const bad = results.filter((r) => r.outcome.kind === "bad");
      for (const r of bad.slice(0, 20)) console.log(`  BAD ${r.kind}:${r.index} [${r.description}] ${describeOutcome(r.outcome)}`);
      if (process.env.FUZZ_ONLY) for (const r of results) console.log(`  ${r.kind}:${r.index} [${r.description}] ${describeOutcome(r.outcome)}`);
      expect(bad.map((r) => `${r.kind}:${r.index} ${describeOutcome(r.outcome)}`)).toEqual([]);
      expect(results.length).toBe(caseList().length);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 600_000);
});
