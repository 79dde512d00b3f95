import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PipelineSession } from "../../src/core/session.ts";
import { f64, NDArray } from "../../src/core/ndarray.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";

describe("smoke", () => {
  it("round trips", async () => {
    const rt = await nodeRuntime();
    const dir = mkdtempSync(join(tmpdir(), "hdmea-"));
    const s = new PipelineSession("rec-1");
    s.addMetadata({ acquisition_rate: f64(20000), frame_timestamps: new NDArray(BigUint64Array.of(1n, 2n)) });
    s.addUnits([{ id: "unit_001", attrs: { row: 1, col: 2, global_id: 66, unit_num: 1, original_name: "Unit_1" }, spikeTimes: BigUint64Array.of(5n, 9n), children: {} }]);
    s.markStepComplete("load_recording", { a: 1 });
    saveSession(rt, s, join(dir, "a.h5"));
    const back = loadSession(rt, join(dir, "a.h5")).session;
    expect(back.unitCount).toBe(1);
    expect(back.completedSteps[0].params).toEqual({ a: 1 });
    expect(back.getUnit("unit_001").spikeTimes).toEqual(BigUint64Array.of(5n, 9n));
  });
});
