/**
 * workflow/Snakefile run for real with Debian's snakemake (`apt-get install -y snakemake`; .ci/run
 * installs it) on three generated tiny recording pairs, one broken: jobs, outputs, the summary,
 * kill-and-resume from the CLI's checkpoint, up-to-date re-runs, and the Slurm profile's dry run.
 * Needs the built CLI (`npm run build:node`, as the CLI tests) and /usr/bin/python3 with h5py.
 *
 * The tests run in order and share one folder: each builds on the state the previous one left.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair } from "../../tools/recordingGenerator.ts";
import { NOISE_MOVIE, PYTHON, h5py, workflowConfigLines, writeNoiseMovie } from "../cli/cliHarness.ts";

const WORKFLOW = join(import.meta.dirname, "../../workflow");
const SNAKEFILE = join(WORKFLOW, "Snakefile");
const LOCAL = join(WORKFLOW, "profiles/local");
const SLURM = join(WORKFLOW, "profiles/slurm");

let dir: string;
let input: string;
let results: string;
const sizes: Record<string, { cmtr: number; cmcr: number }> = {};

interface Run {
  code: number | null;
  output: string;
  ms: number;
}

/** snakemake in `dir` with the test config; stdout and stderr together (Snakemake logs to stderr). */
function snakemake(args: string[], env: Record<string, string> = {}): Run {
  const started = Date.now();
  const r = spawnSync("snakemake", ["--snakefile", SNAKEFILE, "--configfile", join(dir, "config.yaml"), ...args], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  if (r.error) throw r.error;
  return { code: r.status, output: `${r.stdout}\n${r.stderr}`, ms: Date.now() - started };
}

/** The summary CSV as objects, read with Python's csv module. */
function readCsv(path: string): Record<string, string>[] {
  const r = spawnSync(PYTHON, ["-c", "import csv, json, sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1])))))", path], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

function readYaml(path: string): any {
  const r = spawnSync(PYTHON, ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", path], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const H5PY_SESSION = `
f = h5py.File(sys.argv[1], "r")
dec = lambda v: v.decode() if isinstance(v, bytes) else v
print(json.dumps({
  "dataset_id": dec(f.attrs["dataset_id"]),
  "completed_steps": [dec(s) for s in f["pipeline/session_info/completed_steps"][()]],
  "units": len(f["units"]),
}))
`;

const mtime = (path: string) => statSync(path).mtimeMs;

beforeAll(async () => {
  const version = spawnSync("snakemake", ["--version"], { encoding: "utf8" });
  if (version.error || version.status !== 0) {
    throw new Error(
      "snakemake is not on PATH: install it (`apt-get install -y snakemake`, as .ci/run and the README's test command do) to run the workflow tests",
    );
  }
  const rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-snakemake-"));
  input = join(dir, "recordings");
  results = join(dir, "results");
  mkdirSync(input);
  // A few seconds each: 6 s at 20 kHz, 3 and 2 units.
  writeRecordingPair(rt, { dir: input, name: "RecA", units: 3, minutes: 0.1, seed: 31 });
  writeRecordingPair(rt, { dir: input, name: "RecB", units: 2, minutes: 0.1, seed: 32 });
  // RecC: a good .cmcr beside a .cmtr cut short by a failed copy.
  writeRecordingPair(rt, { dir: input, name: "RecC", units: 2, minutes: 0.1, seed: 33 });
  const cmtr = readFileSync(join(input, "RecC-.cmtr"));
  writeFileSync(join(input, "RecC-.cmtr"), cmtr.subarray(0, 200));
  for (const id of ["RecA", "RecB"]) sizes[id] = { cmtr: statSync(join(input, `${id}-.cmtr`)).size, cmcr: statSync(join(input, `${id}.cmcr`)).size };
  const noise = join(dir, `${NOISE_MOVIE}.npy`);
  writeNoiseMovie(noise);
  writeFileSync(
    join(dir, "config.yaml"),
    [
      ...workflowConfigLines(input, noise),
      "",
    ].join("\n"),
  );
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("workflow/Snakefile (snakemake, local)", () => {
  it("runs one job per recording: two session files, the broken pair fails only its own job and gets its row in the summary", () => {
    const run = snakemake(["--profile", LOCAL, "--cores", "2"]);
    console.log(`first run: ${run.ms} ms`);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/Error in rule process:[\s\S]*RecC/);
    expect(run.output).toMatch(/hdmea: RecC: failed: RecC-\.cmtr: /);
    expect(run.output).toMatch(/2 of 4 steps \(50%\) done/);

    for (const [id, units] of [["RecA", 3], ["RecB", 2]] as const) {
      const file = h5py(H5PY_SESSION, join(results, `${id}.h5`));
      expect(file).toMatchObject({ dataset_id: id, units });
      expect(file.completed_steps).toEqual(expect.arrayContaining(["load_recording", "add_section_time", "section_spike_times", "compute_sta", "extract_features"]));
    }
    expect(existsSync(join(results, "RecC.h5"))).toBe(false);
    // Checkpoints live outside the outputs and are removed after a successful save.
    expect(readdirSync(join(results, "checkpoints"))).toEqual([]);

    const rows = readCsv(join(results, "summary.csv"));
    expect(rows.map((r) => [r.recording, r.dataset_id, r.result, r.units, r.steps])).toEqual([
      ["RecA-.cmtr", "RecA", "ok", "3", "5/5"],
      ["RecB-.cmtr", "RecB", "ok", "2", "5/5"],
      ["RecC-.cmtr", "RecC", "failed", "", ""],
    ]);
    expect(rows[2].error).toMatch(/^RecC-\.cmtr: .+/);
    expect(Number(rows[0].time_s)).toBeGreaterThan(0);
    expect(Number(rows[0].warnings)).toBe(rows[0].warning_text.split(" | ").length);

    const html = readFileSync(join(results, "summary.html"), "utf8");
    expect(html).toContain("3 recordings: 2 ok, 1 failed");
    for (const name of ["RecA-.cmtr", "RecB-.cmtr", "RecC-.cmtr"]) expect(html).toContain(name);
    expect(html).toContain(rows[2].error.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#x27;"));
    // Self-contained: no scripts, links, images or fonts from anywhere.
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|@import|url\(/i);
  });

  it("skips finished recordings; a job killed mid-run resumes from its checkpoint on the next run", () => {
    const doneB = mtime(join(results, "RecB.h5"));
    // RecA again, killed (SIGKILL, no clean-up) right after section_spike_times and its checkpoint.
    const killed = snakemake(["--profile", LOCAL, "--cores", "2", "--forcerun", join(results, "RecA.h5")], { HDMEA_TEST_KILL_AFTER: "section_spike_times" });
    console.log(`killed run: ${killed.ms} ms`);
    expect(killed.code, killed.output).toBe(1);
    expect(killed.output).toMatch(/hdmea: RecA: failed: hdmea was killed by SIGKILL/);
    expect(killed.output).not.toMatch(/wildcards: rec=RecB/);
    expect(existsSync(join(results, "checkpoints", "RecA.checkpoint.h5"))).toBe(true);
    expect(readCsv(join(results, "summary.csv"))[0]).toMatchObject({ recording: "RecA-.cmtr", result: "failed", error: expect.stringMatching(/killed by SIGKILL/) });

    const resumed = snakemake(["--profile", LOCAL, "--cores", "2"]);
    console.log(`resumed run: ${resumed.ms} ms`);
    expect(resumed.code, resumed.output).toBe(1); // RecC is still broken
    expect(resumed.output).toMatch(/wildcards: rec=RecA/);
    expect(resumed.output).toMatch(/wildcards: rec=RecC/);
    expect(resumed.output).not.toMatch(/wildcards: rec=RecB/);
    const log = readFileSync(join(results, "logs", "RecA.log"), "utf8");
    expect(log).toMatch(/^hdmea: resuming from RecA\.checkpoint\.h5 \(completed: .*section_spike_times\)$/m);
    expect(log).not.toMatch(/load_recording completed/);
    expect(log).toMatch(/compute_sta completed/);
    expect(existsSync(join(results, "checkpoints", "RecA.checkpoint.h5"))).toBe(false);
    expect(h5py(H5PY_SESSION, join(results, "RecA.h5")).completed_steps).toContain("extract_features");
    expect(mtime(join(results, "RecB.h5"))).toBe(doneB);
    const rows = readCsv(join(results, "summary.csv"));
    expect(rows.map((r) => r.result)).toEqual(["ok", "ok", "failed"]);
    expect(rows[0].resumed_from).toBe(join(results, "checkpoints", "RecA.checkpoint.h5"));
  });

  it("does no work when everything is up to date", () => {
    // The broken pair moved aside (as a user would): nothing is left to make.
    mkdirSync(join(dir, "broken"));
    for (const name of ["RecC-.cmtr", "RecC.cmcr"]) renameSync(join(input, name), join(dir, "broken", name));
    const before = ["RecA", "RecB"].map((id) => mtime(join(results, `${id}.h5`)));
    const run = snakemake(["--profile", LOCAL, "--cores", "2"]);
    console.log(`up-to-date run: ${run.ms} ms`);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("Nothing to be done");
    expect(run.output).not.toMatch(/rule process/);
    expect(["RecA", "RecB"].map((id) => mtime(join(results, `${id}.h5`)))).toEqual(before);
    expect(readCsv(join(results, "summary.csv")).map((r) => [r.dataset_id, r.result])).toEqual([["RecA", "ok"], ["RecB", "ok"]]);
  });
});

describe("workflow/profiles/slurm", () => {
  it("dry-runs (-n) with the Slurm profile, printing each job with resources from its recording's size", () => {
    // A fresh output folder, so there are jobs to plan; nothing is submitted or run.
    const run = snakemake(["--profile", SLURM, "-n", "--config", "out_dir=planned"]);
    console.log(`slurm dry run: ${run.ms} ms`);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("This was a dry-run");
    expect(existsSync(join(dir, "planned"))).toBe(false);
    for (const id of ["RecA", "RecB"]) {
      // workflow/config.yaml's defaults: mem_mb = 1000 + 3 × .cmtr MB + 0.05 × .cmcr MB;
      // runtime = ceil(10 + 15 × .cmtr GB + 1 × .cmcr GB) minutes.
      const mb = (bytes: number) => bytes / 1e6;
      const mem = Math.trunc(1000 + 3 * mb(sizes[id].cmtr) + 0.05 * mb(sizes[id].cmcr));
      const runtime = Math.trunc(10 + 15 * (mb(sizes[id].cmtr) / 1000) + mb(sizes[id].cmcr) / 1000 + 0.999);
      const job = new RegExp(`rule process:[^]*?wildcards: rec=${id}\\n\\s*resources: ([^\\n]*)`).exec(run.output);
      expect(job, run.output).not.toBeNull();
      expect(job![1]).toMatch(new RegExp(`(^|, )mem_mb=${mem}(,|$)`));
      expect(job![1]).toMatch(new RegExp(`(^|, )runtime=${runtime}(,|$)`));
    }
    // The profile's default resources reach the rule that declares none (the local `all`).
    expect(run.output).toMatch(/localrule all:[^]*?resources: [^\n]*mem_mb=2000[^\n]*runtime=60/);

    // Snakemake 7 (Debian) reads config.yaml (built-in Slurm support); Snakemake >= 8 reads
    // config.v8+.yaml (the executor plugin). No cluster here, so submitting is not exercised.
    const v7 = readYaml(join(SLURM, "config.yaml"));
    const v8 = readYaml(join(SLURM, "config.v8+.yaml"));
    expect(v7).toMatchObject({ slurm: true, "keep-going": true, "rerun-incomplete": true });
    expect(v8).toMatchObject({ executor: "slurm", "keep-going": true, "rerun-incomplete": true });
    expect(v7.jobs).toBeGreaterThan(0);
    expect(v8.jobs).toBe(v7.jobs);
    expect(readYaml(join(LOCAL, "config.yaml"))).toMatchObject({ "keep-going": true, "rerun-incomplete": true });
  });
});
