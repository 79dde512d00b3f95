/**
 * Measurements the benchmark (bench/browserBench.ts) runs inside the worker, where the app really
 * saves and loads: a synthetic session written through the OPFS file system and read back.
 */
import { summarizeSession } from "../core/sessionSummary.ts";
import { sessionOfSize } from "../core/syntheticSession.ts";
import { loadSession, writeSessionTo } from "../io/sessionStore.ts";
import { createScratchFile, runtime } from "./workerFs.ts";

export interface SelfBenchmarkResult {
  sessionBytes: number;
  fileBytes: number;
  saveMs: number;
  loadMs: number;
  /** wasm heap after save and load: it must not grow with the session. */
  wasmHeapBytes: number;
  units: number;
}

export async function benchmarkSaveLoad(bytes: number): Promise<SelfBenchmarkResult> {
  const rt = await runtime();
  let session: ReturnType<typeof sessionOfSize> | undefined = sessionOfSize(bytes);
  const sessionBytes = session.memoryEstimateBytes();
  const scratch = await createScratchFile(rt, `bench-${Date.now()}.h5`, sessionBytes);
  try {
    let t = performance.now();
    writeSessionTo(rt, session, scratch.path);
    const file = await scratch.file("bench.h5"); // flushed and closed: the time includes reaching disk
    const saveMs = performance.now() - t;
    session = undefined; // let the original go before loading the copy
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
    await scratch.dispose();
  }
}
