/**
 * A session bigger than its memory budget, in one fresh process: build it (it spills as it grows),
 * save it, load it back under the same budget. Prints JSON with timings and peak RSS of each phase,
 * which should not grow with the session's size. Run by bench/run.ts:
 * `node --expose-gc dist-node/bench/spilledSession.js SIZE_GB BUDGET_GB DIR`.
 */
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { SpillStore } from "../src/core/spillStore.ts";
import { sessionOfSize } from "../src/core/syntheticSession.ts";
import { nodeRuntime } from "../src/io/h5node.ts";
import { nodeScratchBytes } from "../src/io/nodeScratchBytes.ts";
import { loadSession, saveSession } from "../src/io/sessionStore.ts";
import { startRssSampler } from "./rssSampler.ts";

const [sizeGb, budgetGb, dir] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const budgetBytes = Number(budgetGb) * 1e9;
const rt = await nodeRuntime();
const sampler = startRssSampler();
const file = join(dir, `spilled-${sizeGb}.h5`);
rmSync(file, { force: true });

const rssStart = process.memoryUsage.rss();
await sampler.reset();
let t = performance.now();
const store = new SpillStore(nodeScratchBytes(dir));
const session = sessionOfSize(Number(sizeGb) * 1e9, 1, "bench-1", { store, budgetBytes });
const buildMs = performance.now() - t;
const peakBuild = await sampler.peak();
const bytes = session.arrayBytes();

gc();
await sampler.reset();
t = performance.now();
saveSession(rt, session, file);
const saveMs = performance.now() - t;
const peakSave = await sampler.peak();
const fileBytes = statSync(file).size;
store.close();

gc();
await sampler.reset();
const loadStore = new SpillStore(nodeScratchBytes(dir));
t = performance.now();
const loaded = loadSession(rt, file, { memoryBudget: { store: loadStore, budgetBytes } }).session;
const loadMs = performance.now() - t;
const peakLoad = await sampler.peak();
const loadedBytes = loaded.arrayBytes();
loadStore.close();
await sampler.stop();
rmSync(file, { force: true });

process.stdout.write(
  `${JSON.stringify({
    sizeGb: Number(sizeGb),
    budgetBytes,
    residentBytes: bytes.resident,
    spilledBytes: bytes.spilled,
    loadedResidentBytes: loadedBytes.resident,
    loadedSpilledBytes: loadedBytes.spilled,
    units: loaded.unitCount,
    fileBytes,
    rssStart,
    buildMs,
    saveMs,
    loadMs,
    peakBuild,
    peakSave,
    peakLoad,
  })}\n`,
);
