/**
 * Deferred vs immediate mode over N recordings processed in a row: each recording is loaded, then
 * three steps add results, as the lab's pipeline does. Immediate mode writes the file through after
 * the load and after every step; deferred mode writes once at the end. Prints JSON.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray } from "../src/core/ndarray.ts";
import type { PipelineSession } from "../src/core/session.ts";
import { nodeRuntime } from "../src/io/h5node.ts";
import { saveSession, startImmediateMode } from "../src/io/sessionStore.ts";
import { sessionOfSize } from "../src/core/syntheticSession.ts";

const recordings = Number(process.argv[2] ?? 10);
const bytesEach = Number(process.argv[3] ?? 50e6);
const STEPS = ["add_section_time", "section_spike_times", "extract_features"];
const rt = await nodeRuntime();
const dir = mkdtempSync(join(tmpdir(), "hdmea-modes-"));

function runStep(session: PipelineSession, step: string): void {
  session.batch(() => {
    for (const unit of session.units.values()) {
      session.addFeature(unit.id, `${step}_result`, new NDArray(new Float32Array(2000).fill(unit.attrs.unit_num)));
    }
    session.markStepComplete(step, {});
  });
}

function timeMode(mode: "deferred" | "immediate"): number {
  const start = performance.now();
  for (let r = 0; r < recordings; r++) {
    const file = join(dir, `${mode}-${r}.h5`);
    const session = sessionOfSize(bytesEach, r + 1, `rec-${r}`);
    const stop = mode === "immediate" ? startImmediateMode(rt, session, file) : undefined;
    for (const step of STEPS) runStep(session, step);
    if (stop) stop();
    else saveSession(rt, session, file);
    rmSync(file, { force: true });
  }
  return performance.now() - start;
}

const immediateMs = timeMode("immediate");
const deferredMs = timeMode("deferred");
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ recordings, bytesEach, immediateMs, deferredMs, speedup: immediateMs / deferredMs })}\n`);
