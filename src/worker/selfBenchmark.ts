/**
 * Measurements the benchmark (bench/browserBench.ts) runs inside the worker, where the app really
 * saves and loads: a synthetic session written through the OPFS file system and read back.
 */
import { summarizeSession } from "../core/sessionSummary.ts";
import { sessionOfSize } from "../core/syntheticSession.ts";
import { loadSession, writeSessionTo } from "../io/sessionStore.ts";
import { createScratchFile, createSpillStore, runtime } from "./workerFs.ts";

export interface SelfBenchmarkResult {
  sessionBytes: number;
  fileBytes: number;
  saveMs: number;
  loadMs: number;
  /** wasm heap after save and load: it must not grow with the session. */
  wasmHeapBytes: number;
  units: number;
  /** With a memory budget: the time to build the session (spilling as it grows) and what went where. */
  buildMs?: number;
  spilledBytes?: number;
  residentBytes?: number;
}

/**
 * With `budgetBytes`, the session is built under that memory budget (its largest arrays spill to
 * browser storage as it grows), saved, and not loaded back: loading would hold it all in memory.
 */
export async function benchmarkSaveLoad(bytes: number, budgetBytes?: number): Promise<SelfBenchmarkResult> {
  const rt = await runtime();
  let t = performance.now();
  const store = budgetBytes === undefined ? undefined : await createSpillStore(`bench-${Date.now()}`);
  if (budgetBytes !== undefined && !store) throw new Error("this browser has no origin private file system to spill to");
  let session: ReturnType<typeof sessionOfSize> | undefined = sessionOfSize(bytes, 1, "bench-1", store && { store, budgetBytes: budgetBytes! });
  const buildMs = performance.now() - t;
  const arrays = session.arrayBytes();
  const sessionBytes = arrays.resident + arrays.spilled;
  const scratch = await createScratchFile(rt, `bench-${Date.now()}.h5`, sessionBytes);
  try {
    t = performance.now();
    writeSessionTo(rt, session, scratch.path);
    const file = await scratch.file("bench.h5"); // flushed and closed: the time includes reaching disk
    const saveMs = performance.now() - t;
    session = undefined; // let the original go before loading the copy
    if (store) {
      store.close();
      return { sessionBytes, fileBytes: file.size, saveMs, loadMs: Number.NaN, wasmHeapBytes: rt.module.HEAPU8.length, units: 0, buildMs, spilledBytes: arrays.spilled, residentBytes: arrays.resident };
    }
    t = performance.now();
    const loaded = await scratch.read((path) => loadSession(rt, path, { keepInFile: false }).session);
    const loadMs = performance.now() - t;
    return {
      sessionBytes,
      fileBytes: file.size,
      saveMs,
      loadMs,
      wasmHeapBytes: rt.module.HEAPU8.length,
      units: summarizeSession(loaded).unitCount,
    };
  } finally {
    store?.close();
    await scratch.dispose();
  }
}
