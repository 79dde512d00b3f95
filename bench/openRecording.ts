/**
 * Time to open a generated `.cmcr`/`.cmtr` pair of a given total size and have its unit table:
 * `node dist-node/bench/openRecording.js GB [DIR]`. The size comes from raw sensor frames (as in
 * real recordings, where two minutes of the full array are about 20 GB); the pair has 100 units and
 * 20 minutes of analog data. Generated once per size into DIR and reused. Prints JSON.
 *
 * Generation runs in a child process (`… GB DIR --generate`), so the open is measured in a process
 * that never generated anything (its RSS and heaps are the open's alone, on the first run as on
 * later ones). The child writes into a scratch folder and moves the finished pair into DIR, so an
 * interrupted generation never leaves a half-written pair to be reused.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeRuntime } from "../src/io/h5node.ts";
import { loadRecording } from "../src/io/mcs/openRecording.ts";
import { generateCachedPair } from "./cachedPair.ts";

const sizeGb = Number(process.argv[2] ?? 2);
const dir = process.argv[3] ?? join(tmpdir(), "hdmea-bench-recordings");
const generateOnly = process.argv.includes("--generate");
const SENSOR_BYTES_PER_SECOND = 65 * 65 * 2 * 20000;
const name = `open-${sizeGb}gb`;
const cmcrPath = join(dir, `${name}.cmcr`);
const cmtrPath = join(dir, `${name}-.cmtr`);

if (generateOnly) {
  await generateCachedPair(dir, name, { units: 100, minutes: 20, seed: 5, sensorSeconds: Math.max(1, (sizeGb * 1e9) / SENSOR_BYTES_PER_SECOND) });
} else {
  let generateMs = 0;
  if (!existsSync(cmcrPath) || !existsSync(cmtrPath)) {
    mkdirSync(dir, { recursive: true });
    const t = performance.now();
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), String(sizeGb), dir, "--generate"], { stdio: ["ignore", 2, 2] });
    if (child.status !== 0) throw new Error(`generating the ${sizeGb} GB pair failed (${child.signal ?? `exit ${child.status}`})`);
    generateMs = performance.now() - t;
  }
  const rt = await nodeRuntime();
  const pairBytes = statSync(cmcrPath).size + statSync(cmtrPath).size;
  const t = performance.now();
  const session = loadRecording(rt, { cmcrPath, cmtrPath });
  const openMs = performance.now() - t;
  process.stdout.write(`${JSON.stringify({ sizeGb, pairBytes, units: session.unitCount, openMs, generateMs, rssBytes: process.memoryUsage.rss() })}\n`);
}
