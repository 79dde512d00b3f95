/**
 * One size, one fresh process: build a synthetic session, save it, load it back; print JSON with
 * timings and peak RSS. Run by bench/run.ts with `node --expose-gc`.
 */
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { nodeRuntime } from "../src/io/h5node.ts";
import { loadSession, saveSession } from "../src/io/sessionStore.ts";
import { startRssSampler } from "./rssSampler.ts";
import { sessionOfSize } from "../src/core/syntheticSession.ts";

const [sizeGb, dir, compression = "0"] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const rt = await nodeRuntime();
const sampler = startRssSampler();
const file = join(dir, `node-${sizeGb}.h5`);
rmSync(file, { force: true });

let session: ReturnType<typeof sessionOfSize> | undefined = sessionOfSize(Number(sizeGb) * 1e9);
const sessionBytes = session.memoryEstimateBytes();
gc();
const rssBeforeSave = process.memoryUsage.rss();
await sampler.reset();
let t = performance.now();
saveSession(rt, session, file, { write: { compression: Number(compression) } });
const saveMs = performance.now() - t;
const peakSave = await sampler.peak();
const fileBytes = statSync(file).size;

session = undefined;
gc();
const rssBeforeLoad = process.memoryUsage.rss();
await sampler.reset();
t = performance.now();
const loaded = loadSession(rt, file).session;
const loadMs = performance.now() - t;
const peakLoad = await sampler.peak();
await sampler.stop();

process.stdout.write(
  `${JSON.stringify({
    sizeGb: Number(sizeGb),
    sessionBytes,
    units: loaded.unitCount,
    fileBytes,
    file,
    saveMs,
    loadMs,
    rssBeforeSave,
    peakSave,
    rssBeforeLoad,
    peakLoad,
  })}\n`,
);
