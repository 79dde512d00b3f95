/**
 * `npm run bench -- [--sizes 0.1,1,4] [--json] [--recordings 10] [--open-gb 0.5,20] [--no-browser] [--no-h5py]`
 * `npm run bench -- --pair-units 1000 --pair-minutes 60 [--cache-dir D] [--rate-scale 0.5] [--seed 1] [--repeats N]`
 * `npm run bench -- --browser-session-gb 20 [--browser-budget-gb 2]`
 * `npm run bench -- --demo-run-all [--repeats N]`: the demo's *Run all steps* in Chromium (bench/demoRunAll.ts)
 *   run only the real-size entries (bench/largeEntries.ts; both at once if both are given) and update
 *   their section of RESULTS.md. With `--json`, stdout is the JSON alone (`npm run -s bench -- --json`
 *   leaves out npm's own banner lines).
 *
 * Per size, in fresh processes: save and load throughput in Node and (OPFS path) in headless
 * Chromium, the same file written and read by h5py, ours / h5py, and peak RSS during save over the
 * session's in-memory size. Then deferred vs immediate mode over N recordings in a row.
 * Prints a table (or JSON) and writes bench/RESULTS.md and bench/throughput.svg.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, option } from "../src/cli/args.ts";
import { runBrowserBench, type BrowserResult } from "./browserBench.ts";
import { throughputSvg } from "./plot.ts";
import { existingLarge, mergedWithExisting, renderLarge, runLargeEntries, withLarge } from "./largeEntries.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const args = parseArgs(process.argv.slice(2), ["json", "no-browser", "no-h5py", "demo-run-all"]);
const sizes = (option(args, "sizes") ?? "0.1,1").split(",").map(Number);
const recordings = Number(option(args, "recordings") ?? 10);
const openSizes = (option(args, "open-gb") ?? "0.5").split(",").map(Number);
const spillSizes = (option(args, "spill-sizes") ?? "1,2").split(",").filter(Boolean).map(Number);
const spillBudgetGb = Number(option(args, "spill-budget-gb") ?? 0.25);
const asJson = args.flags.has("json");
const log = (line: string) => (asJson ? process.stderr : process.stdout).write(`${line}\n`);

if (args.flags.has("demo-run-all")) {
  const { renderDemoRunAll, runDemoRunAll } = await import("./demoRunAll.ts");
  for (let i = 0; i < Number(option(args, "repeats") ?? 1); i++) log(renderDemoRunAll(await runDemoRunAll(root)));
  process.exit(0);
}

const pairUnits = option(args, "pair-units");
const sessionGb = option(args, "browser-session-gb");
if (pairUnits !== undefined || sessionGb !== undefined) {
  const large = await runLargeEntries(
    root,
    here,
    {
      pairUnits: pairUnits === undefined ? undefined : Number(pairUnits),
      pairMinutes: Number(option(args, "pair-minutes") ?? 60),
      cacheDir: option(args, "cache-dir"),
      rateScale: option(args, "rate-scale") === undefined ? undefined : Number(option(args, "rate-scale")),
      seed: option(args, "seed") === undefined ? undefined : Number(option(args, "seed")),
      repeats: option(args, "repeats") === undefined ? undefined : Number(option(args, "repeats")),
      browser: !args.flags.has("no-browser"),
      h5py: !args.flags.has("no-h5py"),
      sessionGb: sessionGb === undefined ? undefined : Number(sessionGb),
      budgetGb: Number(option(args, "browser-budget-gb") ?? 2),
    },
    log,
  );
  const results = join(root, "bench/RESULTS.md");
  const section = renderLarge(mergedWithExisting(results, large), process.argv.slice(2).join(" "));
  writeFileSync(results, withLarge(existsSync(results) ? readFileSync(results, "utf8") : "# Benchmark results\n", section));
  process.stdout.write(asJson ? `${JSON.stringify(large, null, 2)}\n` : `${section}\n`);
  process.exit(0);
}

interface NodeResult {
  sizeGb: number;
  sessionBytes: number;
  units: number;
  fileBytes: number;
  file: string;
  saveMs: number;
  loadMs: number;
  rssBeforeSave: number;
  peakSave: number;
  peakLoad: number;
  rssBeforeLoad: number;
}

function runJson<T>(command: string, argv: string[]): T {
  const run = spawnSync(command, argv, { encoding: "utf8", maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`${command} ${argv.join(" ")} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").at(-1)!) as T;
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const dir = mkdtempSync(join(tmpdir(), "hdmea-bench-"));
const rows: SizeRow[] = [];
try {
  for (const size of sizes) {
    log(`size ${size} GB: Node save/load…`);
    const node = runJson<NodeResult>(process.execPath, ["--expose-gc", join(here, "nodeSaveLoad.js"), String(size), dir]);
    let h5py: { saveMs: number; loadMs: number } | undefined;
    if (!args.flags.has("no-h5py")) {
      log(`size ${size} GB: h5py…`);
      h5py = runJson("/usr/bin/python3", [join(root, "bench/h5pyCopy.py"), node.file, join(dir, "h5py.h5")]);
      rmSync(join(dir, "h5py.h5"), { force: true });
    }
    let browser: BrowserResult | undefined;
    if (!args.flags.has("no-browser")) {
      log(`size ${size} GB: Chromium (OPFS)…`);
      browser = await runBrowserBench(root, size);
    }
    rmSync(node.file, { force: true });
    rows.push(makeRow(size, node, h5py, browser));
  }
  // Compression: gzip level 4 on chunked datasets (h5wasm applies one filter, so no shuffle).
  log(`size ${sizes[0]} GB: Node save with gzip…`);
  const gz = runJson<NodeResult>(process.execPath, ["--expose-gc", join(here, "nodeSaveLoad.js"), String(sizes[0]), dir, "4"]);
  rmSync(gz.file, { force: true });
  const plain = rows[0];
  const compression = {
    sizeGb: sizes[0],
    plainBytes: plain.fileBytes,
    gzipBytes: gz.fileBytes,
    bytesSaved: 1 - gz.fileBytes / plain.fileBytes,
    plainSaveMs: plain.node.saveMs,
    gzipSaveMs: gz.saveMs,
    slowdown: gz.saveMs / plain.node.saveMs,
  };

  log(`deferred vs immediate over ${recordings} recordings…`);
  const modes = runJson<{ immediateMs: number; deferredMs: number; speedup: number; bytesEach: number }>(
    process.execPath,
    [join(here, "modes.js"), String(recordings), "50000000"],
  );

  // Opening a pair reads the .cmtr and the analog channels; raw sensor frames are only mounted.
  const opens = openSizes.map((gb) => {
    log(`opening a generated ${gb} GB recording pair (generated once, then cached)…`);
    return runJson<{ sizeGb: number; pairBytes: number; units: number; openMs: number; rssBytes: number }>(process.execPath, [
      join(here, "openRecording.js"),
      String(gb),
    ]);
  });

  log("all feature extractors over 1,000 synthetic units…");
  // Sessions bigger than their memory budget: peak memory should stay put as the size grows.
  const spilled = spillSizes.map((gb) => {
    log(`session of ${gb} GB with a ${spillBudgetGb} GB memory budget: build, save, load…`);
    return runJson<SpilledResult>(process.execPath, ["--expose-gc", join(here, "spilledSession.js"), String(gb), String(spillBudgetGb), dir]);
  });

  const features = runJson<{ units: number; perExtractorMs: Record<string, number>; totalMs: number }>(process.execPath, [
    join(here, "features.js"),
    "1000",
    "--json",
  ]);

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version },
    sizes: rows,
    compression,
    modes,
    opens,
    spilled,
    features,
  };
  const table = renderTable(result);
  if (asJson) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${table}\n`);
  // The real-size entries are run apart (minutes, gigabytes): keep their last figures.
  const large = existingLarge(join(root, "bench/RESULTS.md"));
  writeFileSync(join(root, "bench/RESULTS.md"), large ? withLarge(renderMarkdown(result, table), large) : renderMarkdown(result, table));
  writeFileSync(join(root, "bench/throughput.svg"), throughputSvg(rows));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

interface SpilledResult {
  sizeGb: number;
  budgetBytes: number;
  residentBytes: number;
  spilledBytes: number;
  fileBytes: number;
  buildMs: number;
  saveMs: number;
  loadMs: number;
  peakBuild: number;
  peakSave: number;
  peakLoad: number;
}

type Result = { spilled: SpilledResult[]; date: string; machine: Record<string, unknown>; sizes: typeof rows; compression: { sizeGb: number; bytesSaved: number; slowdown: number }; opens: { pairBytes: number; units: number; openMs: number }[]; features: { units: number; perExtractorMs: Record<string, number>; totalMs: number }; modes: { immediateMs: number; deferredMs: number; speedup: number; bytesEach: number } };

function fmt(x: number | undefined, digits = 0): string {
  return x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);
}

function renderTable(result: Result): string {
  const head = ["size GB", "units", "node save MB/s", "node load MB/s", "h5py save", "h5py load", "ours/h5py save", "ours/h5py load", "browser save", "browser load", "browser/h5py save", "peak RSS / session", "extra RSS in save / session"];
  const lines = result.sizes.map((r) => [
    fmt(r.sizeGb, 1),
    String(r.units),
    fmt(r.node.saveMBps),
    fmt(r.node.loadMBps),
    fmt(r.h5py?.saveMBps),
    fmt(r.h5py?.loadMBps),
    fmt(r.ratioNodeToH5py?.save, 2),
    fmt(r.ratioNodeToH5py?.load, 2),
    fmt(r.browser?.saveMBps),
    fmt(r.browser?.loadMBps),
    fmt(r.browser?.ratioToH5py?.save, 2),
    fmt(r.memory.peakOverSession, 2),
    fmt(r.memory.extraDuringSaveOverSession, 3),
  ]);
  const all = [head, ...lines];
  const widths = head.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const render = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  const modes = result.modes;
  return [
    render(head),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...lines.map(render),
    "",
    ...result.opens.map((o) => `open a ${fmt(o.pairBytes / 1e9, 1)} GB recording pair (${o.units} units, 20 min) and have its unit table: ${fmt(o.openMs)} ms`),
    `features for ${result.features.units} units: ${fmt(result.features.totalMs)} ms in all (${Object.entries(result.features.perExtractorMs)
      .map(([name, ms]) => `${name} ${fmt(ms)}`)
      .join(", ")})`,
    ...result.spilled.map(
      (r) =>
        `spilled: ${fmt(r.sizeGb, 1)} GB session, ${fmt(r.budgetBytes / 1e9, 2)} GB budget: ${fmt(r.spilledBytes / 1e9, 2)} GB in the scratch file; ` +
        `save ${fmt(mbps(r.fileBytes, r.saveMs))} MB/s, load ${fmt(mbps(r.fileBytes, r.loadMs))} MB/s; peak RSS build ${fmt(r.peakBuild / 1e6)} MB, save ${fmt(r.peakSave / 1e6)} MB, load ${fmt(r.peakLoad / 1e6)} MB`,
    ),
    `gzip (level 4) at ${result.compression.sizeGb} GB: file ${fmt(100 * result.compression.bytesSaved)}% smaller, save ${fmt(result.compression.slowdown, 2)}× the time`,
    `deferred vs immediate, ${fmt(modes.bytesEach / 1e6)} MB recordings: immediate ${fmt(modes.immediateMs)} ms, deferred ${fmt(modes.deferredMs)} ms, deferred is ${fmt(modes.speedup, 2)}× faster`,
  ].join("\n");
}

/** Each target of the benchmark issue, met or not, with the figure that decides it. */
function renderTargets(result: Result): string {
  const min = (xs: (number | undefined)[]) => Math.min(...xs.filter((x): x is number => x !== undefined && Number.isFinite(x)));
  const atLeast1Gb = result.sizes.filter((r) => r.sizeGb >= 1);
  const rows: [string, string, boolean][] = [
    ["save in Node ≥ 0.8 × h5py", fmt(min(result.sizes.map((r) => r.ratioNodeToH5py?.save)), 2), min(result.sizes.map((r) => r.ratioNodeToH5py?.save)) >= 0.8],
    ["load in Node ≥ 0.8 × h5py", fmt(min(result.sizes.map((r) => r.ratioNodeToH5py?.load)), 2), min(result.sizes.map((r) => r.ratioNodeToH5py?.load)) >= 0.8],
    ["save in Chromium ≥ 0.5 × h5py", fmt(min(result.sizes.map((r) => r.browser?.ratioToH5py?.save)), 2), min(result.sizes.map((r) => r.browser?.ratioToH5py?.save)) >= 0.5],
    ["load in Chromium ≥ 0.5 × h5py", fmt(min(result.sizes.map((r) => r.browser?.ratioToH5py?.load)), 2), min(result.sizes.map((r) => r.browser?.ratioToH5py?.load)) >= 0.5],
    ["peak RSS during save ≤ 1.2 × session (sessions ≥ 1 GB)", fmt(Math.max(...atLeast1Gb.map((r) => r.memory.peakOverSession)), 2), Math.max(...atLeast1Gb.map((r) => r.memory.peakOverSession)) <= 1.2],
    ["deferred ≥ 1.2 × faster than immediate (aim 2×)", `${fmt(result.modes.speedup, 2)}×`, result.modes.speedup >= 1.2],
    ...spillTargets(result.spilled),
    ["open a recording pair and show its units < 3 s", result.opens.map((o) => `${fmt(o.pairBytes / 1e9, 1)} GB: ${fmt(o.openMs / 1000, 1)} s`).join(", "), result.opens.every((o) => o.openMs < 3000)],
  ];
  return [
    "| target | measured | met |",
    "|---|---|---|",
    ...rows.map(([what, value, ok]) => `| ${what} | ${value} | ${ok ? "yes" : "**no**"} |`),
  ].join("\n");
}

/** Peak memory of a spilled session must not follow its size: the largest size's peak over the smallest's. */
function spillTargets(spilled: SpilledResult[]): [string, string, boolean][] {
  if (spilled.length < 2) return [];
  const [small, big] = [spilled[0], spilled.at(-1)!];
  return (["peakSave", "peakLoad"] as const).map((phase) => {
    const growth = big[phase] / small[phase];
    return [
      `spilled session: peak RSS during ${phase === "peakSave" ? "save" : "load"} independent of size (${fmt(big.sizeGb, 1)} GB vs ${fmt(small.sizeGb, 1)} GB within 1.25×)`,
      `${fmt(small[phase] / 1e6)} → ${fmt(big[phase] / 1e6)} MB (${fmt(growth, 2)}×)`,
      growth <= 1.25,
    ];
  });
}

function renderMarkdown(result: Result, table: string): string {
  const m = result.machine;
  return `# Benchmark results

Last run: ${result.date} on ${m.cpus} × ${m.cpuModel}, ${fmt(Number(m.memoryBytes) / 2 ** 30, 0)} GiB, Node ${m.node}.
Produced by \`npm run bench -- ${process.argv.slice(2).join(" ")}\`; the JSON below is \`--json\`'s output.

${table}

## Targets

${renderTargets(result)}

Why the ones not met are not met, and how to read the rest:
- **Save against h5py at 1 GB and below (Node and Chromium).** Both write into the page cache
  there, so this compares CPU with CPU: h5py hands HDF5 a pointer into numpy's buffer, while h5wasm
  copies every dataset into the wasm heap first and pays a JS → wasm call per dataset and per
  attribute; in the browser every write also crosses a sync access handle. At 4 GB both are
  disk-bound and ours is at least as fast. The h5py baseline itself moves by ±30% between runs on
  this 2-core VM (its 0.1 GB save ran at 789 and at 1148 MB/s in two runs the same day), so ratios
  near a target can flip from one run to the next.
- **Load** no longer scans the whole file for string heaps first: each heap is checked when HDF5
  reads it (see \`src/io/h5Heaps.ts\`), and arrays are read straight into their result.
- **Peak RSS at 0.1 GB** is Node's own ~200 MB over a 100 MB session; the ratio falls to 1.05 at 4 GB.
- **Spilled sessions** are built under a ${fmt(spillBudgetGb, 2)} GB memory budget (they spill as they grow),
  saved from the scratch file and loaded back under the same budget. Their peak RSS is Node's base,
  the budget, the store's 64 MB read cache and h5wasm's heap, whatever the session's size.
- **Opening a pair** reads the \`.cmtr\` and the analog channels; the raw sensor frames are only
  mounted (the eimage STA reads them later, a block at a time), so the 20 GB pair opens almost as
  fast as a small one. Generating it takes about a minute (0.6 s of frames computed, the rest tiled
  from their noise) and 20 GB of disk: \`--open-gb 20\` measures it.
- **gzip** is much slower than writing plainly (more so since HDF5's wasm is optimised at first
  use, which speeds up every plain save), so compression stays off by default.

![throughput and peak memory vs size](throughput.svg)

<details><summary>JSON</summary>

\`\`\`json
${JSON.stringify(result, null, 2)}
\`\`\`
</details>
`;
}

type SizeRow = ReturnType<typeof makeRow>;

function makeRow(size: number, node: NodeResult, h5py: { saveMs: number; loadMs: number } | undefined, browser: BrowserResult | undefined) {
  const nodeSave = mbps(node.fileBytes, node.saveMs);
  const nodeLoad = mbps(node.fileBytes, node.loadMs);
  const h5pySave = h5py ? mbps(node.fileBytes, h5py.saveMs) : Number.NaN;
  const h5pyLoad = h5py ? mbps(node.fileBytes, h5py.loadMs) : Number.NaN;
  return {
    sizeGb: size,
    sessionBytes: node.sessionBytes,
    units: node.units,
    fileBytes: node.fileBytes,
    node: { saveMBps: nodeSave, loadMBps: nodeLoad, saveMs: node.saveMs, loadMs: node.loadMs },
    h5py: h5py && { saveMBps: h5pySave, loadMBps: h5pyLoad, saveMs: h5py.saveMs, loadMs: h5py.loadMs },
    ratioNodeToH5py: h5py && { save: nodeSave / h5pySave, load: nodeLoad / h5pyLoad },
    browser: browser && {
      ...browser,
      ratioToH5py: h5py && { save: browser.saveMBps / h5pySave, load: browser.loadMBps / h5pyLoad },
    },
    memory: {
      peakSaveBytes: node.peakSave,
      peakOverSession: node.peakSave / node.sessionBytes,
      extraDuringSaveOverSession: (node.peakSave - node.rssBeforeSave) / node.sessionBytes,
      peakLoadOverSession: node.peakLoad / node.sessionBytes,
    },
  };
}
