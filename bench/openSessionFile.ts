/**
 * `npx tsx bench/openSessionFile.ts SESSION.h5 [--eager]`: how long a session file takes to open
 * in Node until its units table is ready (the CLI's and the worker's open, `loadSession`), the
 * bytes it left in the file and the peak RSS; with `--eager`, the same with every array read (the
 * open before issue 18). Prints one JSON line.
 */
import { statSync } from "node:fs";
import { closeSources } from "../src/core/sessionSources.ts";
import { nodeRuntime } from "../src/io/h5node.ts";
import { loadSession } from "../src/io/sessionStore.ts";
import { unitTable } from "../src/worker/unitTable.ts";
import { startRssSampler } from "./rssSampler.ts";

const path = process.argv[2];
if (!path) throw new Error("usage: bench/openSessionFile.ts SESSION.h5 [--eager]");
const eager = process.argv.includes("--eager");
const rt = await nodeRuntime();
const rss = startRssSampler();
await rss.reset();
const rssBefore = process.memoryUsage.rss();
const started = performance.now();
const { session } = loadSession(rt, path, eager ? { keepInFile: false } : {});
const loadedMs = performance.now() - started;
const table = unitTable(session);
const unitsMs = performance.now() - started;
const bytes = session.arrayBytes();
const result = {
  file: path,
  fileBytes: statSync(path).size,
  eager,
  units: session.unitCount,
  tableRows: table.ids.length,
  loadMs: Math.round(loadedMs),
  unitsShownMs: Math.round(unitsMs),
  residentBytes: bytes.resident,
  leftInFileBytes: bytes.inSources ?? 0,
  rssBefore,
  peakRss: await rss.peak(),
};
closeSources(session);
await rss.stop();
process.stdout.write(`${JSON.stringify(result)}\n`);
