/**
 * Time to open a generated `.cmcr`/`.cmtr` pair of a given total size and have its unit table:
 * `node dist-node/bench/openRecording.js GB [DIR]`. The size comes from raw sensor frames (as in
 * real recordings, where two minutes of the full array are about 20 GB); the pair has 100 units and
 * 20 minutes of analog data. Generated once per size into DIR and reused. Prints JSON.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../src/io/h5node.ts";
import { loadRecording } from "../src/io/mcs/openRecording.ts";
import { writeRecordingPair } from "../tests/fixtures/recordingGenerator.ts";

const sizeGb = Number(process.argv[2] ?? 2);
const dir = process.argv[3] ?? join(tmpdir(), "hdmea-bench-recordings");
const SENSOR_BYTES_PER_SECOND = 65 * 65 * 2 * 20000;
const name = `open-${sizeGb}gb`;
const cmcrPath = join(dir, `${name}.cmcr`);
const cmtrPath = join(dir, `${name}-.cmtr`);

const rt = await nodeRuntime();
let generateMs = 0;
if (!existsSync(cmcrPath) || !existsSync(cmtrPath)) {
  mkdirSync(dir, { recursive: true });
  const t = performance.now();
  writeRecordingPair(rt, { dir, name, units: 100, minutes: 20, seed: 5, sensorSeconds: Math.max(1, (sizeGb * 1e9) / SENSOR_BYTES_PER_SECOND) });
  generateMs = performance.now() - t;
}
const pairBytes = statSync(cmcrPath).size + statSync(cmtrPath).size;
const t = performance.now();
const session = loadRecording(rt, { cmcrPath, cmtrPath });
const openMs = performance.now() - t;
process.stdout.write(`${JSON.stringify({ sizeGb, pairBytes, units: session.unitCount, openMs, generateMs, rssBytes: process.memoryUsage.rss() })}\n`);
