/**
 * workflow/Snakefile through a real Slurm cluster with workflow/profiles/slurm (Debian's Snakemake 7,
 * its built-in Slurm executor): one-node cluster started by tests/slurm/run.sh (`npm run test:slurm`,
 * SLURM_CONF set), three generated tiny recordings, one broken, $USER unset as under cron or CI.
 *
 * Slurm here has no accounting database, so sacct has nothing: the states come from the
 * job-completion log (JobCompType=jobcomp/filetxt, one line per finished job) and which recording
 * a job ran from its batch script (`scontrol write batch_script`).
 *
 * The tests run in order and share one folder: the second run resumes what the first left.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair } from "../../tools/recordingGenerator.ts";
import { NOISE_MOVIE, PYTHON, h5py, workflowConfigLines, writeNoiseMovie } from "../cli/cliHarness.ts";

const WORKFLOW = join(import.meta.dirname, "../../workflow");
const SLURM_PROFILE = join(WORKFLOW, "profiles/slurm");
const CLUSTER = process.env.SLURM_LOCAL_DIR ?? "";
/** RecB's job is held when this step starts (the CLI's test hook HDMEA_TEST_HOLD_AT), the
 * checkpoints of the steps before it written: a job certainly mid-run when it is cancelled. */
const HOLD_STEP = "extract_features";
const BEFORE_HOLD = "compute_sta";
/** A bound for waiting on the cluster, not a guess at how long anything takes. */
const WAIT_MS = 300_000;

let dir: string;
let results: string;
const sizes: Record<string, { cmtr: number; cmcr: number }> = {};

interface Run {
  code: number | null;
  output: string;
  ms: number;
}

/** The environment of every run: as under cron or CI, no $USER (nor LOGNAME). */
function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.USER;
  delete env.LOGNAME;
  return env;
}

function snakemakeArgs(): string[] {
  return [
    "--snakefile", join(WORKFLOW, "Snakefile"), "--configfile", join(dir, "config.yaml"), "--profile", SLURM_PROFILE,
    // Snakemake 7 asks Slurm for job states every 33 s unless told a rate of 1/s or less: fine on a
    // cluster, slow for a test of a few seconds' jobs.
    "--max-status-checks-per-second", "1",
  ];
}

/** Snakemake runs still going: a failed test ends its own (tests/slurm/run.sh then cancels their jobs). */
const running = new Set<ChildProcess>();

/** snakemake with the Slurm profile, in the background; `until` resolves with its exit and output. */
function startSnakemake(env: NodeJS.ProcessEnv): { until: Promise<Run>; output: () => string } {
  const started = Date.now();
  const child = spawn("snakemake", snakemakeArgs(), { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 2 * WAIT_MS);
  running.add(child);
  const until = new Promise<Run>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
  return { until, output: () => output };
}

function run(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: "utf8" });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `Key=Value Key=Value …` as an object (values here have no spaces except fields we do not read). */
function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of line.trim().split(/\s+/)) {
    const eq = word.indexOf("=");
    if (eq > 0 && !(word.slice(0, eq) in out)) out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
}

/** Which recording each Slurm job ran: the target of the snakemake command in its batch script. */
const recordingOf = new Map<string, string>();
function recordingOfJob(jobId: string): string {
  if (!recordingOf.has(jobId)) {
    const script = run("scontrol", ["write", "batch_script", jobId, "-"]);
    const target = /--target-jobs '?process:rec=([^'\s]+)/.exec(script);
    if (!target) throw new Error(`job ${jobId}: no --target-jobs process:rec=… in its batch script:\n${script}`);
    recordingOf.set(jobId, target[1]);
  }
  return recordingOf.get(jobId)!;
}

interface SlurmJob {
  id: string;
  recording: string;
  state: string;
  memMb: number;
  timeMin: number;
}

/** "00:11:00", "1-00:00:00" or "11" (minutes) as minutes. */
function minutes(limit: string): number {
  const [days, clock] = limit.includes("-") ? limit.split("-") : ["0", limit];
  const parts = clock.split(":").map(Number);
  if (parts.length === 1) return Number(days) * 1440 + parts[0];
  const [h, m, s] = parts.length === 3 ? parts : [0, ...parts];
  return Number(days) * 1440 + h * 60 + m + s / 60;
}

/** "1001M", "2G" as MB. */
function megabytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text);
  if (!m) throw new Error(`not a memory size: ${text}`);
  return Number(m[1]) * { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024, "": 1 }[m[2] as "K" | "M" | "G" | "T" | ""];
}

/** Every finished job, from the job-completion log, in order of ending. */
function finishedJobs(): SlurmJob[] {
  const path = join(CLUSTER, "jobcomp.log");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("JobId="))
    .map((line) => {
      const f = fields(line);
      const mem = /(?:^|,)mem=([^,]+)/.exec(f.Tres ?? "");
      if (!mem) throw new Error(`job ${f.JobId}: no mem in its TRES: ${line}`);
      return { id: f.JobId, recording: recordingOfJob(f.JobId), state: f.JobState, memMb: megabytes(mem[1]), timeMin: minutes(f.TimeLimit) };
    });
}

/** Jobs Slurm knows now (pending or running; finished ones too, until MinJobAge). */
function currentJobs(): { id: string; state: string }[] {
  const text = run("scontrol", ["show", "job", "--oneliner"]);
  return text
    .split("\n")
    .filter((line) => line.startsWith("JobId="))
    .map((line) => ({ id: fields(line).JobId, state: fields(line).JobState }));
}

/** RecB's running job, other than `not`, once there is one. */
function runningJobOf(recording: string, not: string[] = []): string | undefined {
  return currentJobs().find((j) => j.state === "RUNNING" && !not.includes(j.id) && recordingOfJob(j.id) === recording)?.id;
}

/** Polls `check` until it returns a value (a condition, bounded by WAIT_MS). */
async function waitFor<T>(what: string, check: () => T | undefined | false, output: () => string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waited ${WAIT_MS / 1000} s for ${what}; snakemake so far:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The config's `resources`, with factors scaled up so that recordings of a few hundred kB ask for
 * clearly different --mem and --time (with workflow/config.yaml's, anything under 66 MB gets 11 min).
 */
const RESOURCES = {
  threads: 1,
  mem_mb_base: 100,
  mem_mb_per_cmtr_mb: 1000,
  mem_mb_per_cmcr_mb: 100,
  mem_mb_max: 8000,
  runtime_base_min: 1,
  runtime_min_per_cmtr_gb: 100_000,
  runtime_min_per_cmcr_gb: 1000,
  runtime_max_min: 600,
};

/** What RESOURCES ask for a recording at an attempt: the Snakefile's formula, doubled per retry. */
function expected(recording: string, attempt: number): { memMb: number; timeMin: number } {
  const r = RESOURCES;
  const mb = (bytes: number) => bytes / 1e6;
  const { cmtr, cmcr } = sizes[recording];
  const mem = r.mem_mb_base + r.mem_mb_per_cmtr_mb * mb(cmtr) + r.mem_mb_per_cmcr_mb * mb(cmcr);
  const runtime = r.runtime_base_min + r.runtime_min_per_cmtr_gb * (mb(cmtr) / 1000) + r.runtime_min_per_cmcr_gb * (mb(cmcr) / 1000);
  return { memMb: Math.trunc(Math.min(mem * 2 ** (attempt - 1), r.mem_mb_max)), timeMin: Math.trunc(Math.min(runtime * attempt, r.runtime_max_min) + 0.999) };
}

function printStates(title: string, jobs: SlurmJob[]): void {
  console.log(`${title}\n${jobs.map((j) => `  job ${j.id.padStart(2)}  ${j.recording}  ${j.state.padEnd(9)}  --mem ${j.memMb} MB  --time ${j.timeMin} min`).join("\n")}`);
}

const H5PY_STEPS = `
f = h5py.File(sys.argv[1], "r")
print(json.dumps([s.decode() if isinstance(s, bytes) else s for s in f["pipeline/session_info/completed_steps"][()]]))
`;

function readCsv(path: string): Record<string, string>[] {
  const r = spawnSync(PYTHON, ["-c", "import csv, json, sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1])))))", path], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  if (!process.env.SLURM_CONF || !CLUSTER) throw new Error("no cluster: run these tests with `npm run test:slurm` (tests/slurm/run.sh starts one)");
  const rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-slurm-run-"));
  const input = join(dir, "recordings");
  results = join(dir, "results");
  mkdirSync(input);
  // A few seconds of recording each, of different sizes so each job asks for its own --mem.
  writeRecordingPair(rt, { dir: input, name: "RecA", units: 3, minutes: 0.1, seed: 41 });
  writeRecordingPair(rt, { dir: input, name: "RecB", units: 5, minutes: 0.15, seed: 42 });
  // RecC: a good .cmcr beside a .cmtr cut short by a failed copy.
  writeRecordingPair(rt, { dir: input, name: "RecC", units: 2, minutes: 0.1, seed: 43 });
  writeFileSync(join(input, "RecC-.cmtr"), readFileSync(join(input, "RecC-.cmtr")).subarray(0, 200));
  for (const id of ["RecA", "RecB", "RecC"]) sizes[id] = { cmtr: statSync(join(input, `${id}-.cmtr`)).size, cmcr: statSync(join(input, `${id}.cmcr`)).size };
  const noise = join(dir, `${NOISE_MOVIE}.npy`);
  writeNoiseMovie(noise);
  writeFileSync(
    join(dir, "config.yaml"),
    [
      ...workflowConfigLines(input, noise),
      `resources: ${JSON.stringify(RESOURCES)}`,
      "",
    ].join("\n"),
  );
}, 60_000);

afterAll(() => {
  for (const child of running) child.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("workflow/profiles/slurm on a one-node Slurm cluster, $USER unset", () => {
  it("submits one Slurm job per recording with --mem and --time from its size: two COMPLETED, the broken one FAILED on both tries; RecB cancelled mid-run (scancel) twice", async () => {
    const snakemake = startSnakemake(environment({ HDMEA_TEST_HOLD_AT: `${HOLD_STEP}@RecB` }));
    const checkpoint = join(results, "checkpoints", "RecB.checkpoint.h5");

    const log = join(results, "logs", "RecB.log");
    const logText = () => (existsSync(log) ? readFileSync(log, "utf8") : "");
    // Try 1: cancelled once it is held at HOLD_STEP's start, the checkpoint after BEFORE_HOLD written.
    const held = new RegExp(`^hdmea: ${BEFORE_HOLD} completed .*\\n(.*\\n)*hdmea: checkpoint RecB\\.checkpoint\\.h5 written`, "m");
    const first = await waitFor(`RecB's first job to reach ${HOLD_STEP}`, () => held.test(logText()) && runningJobOf("RecB"), snakemake.output);
    expect(existsSync(checkpoint)).toBe(true);
    run("scancel", [first]);
    // Try 2 (the profile's retries: 1), with doubled --mem and --time, resumes from that checkpoint
    // and is held at the same place: cancel it too.
    const second = await waitFor(
      "RecB's retry to resume from its checkpoint",
      () => {
        const id = runningJobOf("RecB", [first]);
        return id && /^hdmea: resuming from RecB\.checkpoint\.h5/m.test(logText()) && id;
      },
      snakemake.output,
    );
    run("scancel", [second]);

    const r = await snakemake.until;
    console.log(`first run: ${r.ms} ms`);
    expect(r.code, r.output).toBe(1);
    expect(r.output).not.toContain("KeyError");
    // Snakemake 7 looked for an account (where $USER was needed) and went on without one.
    expect(r.output).toMatch(/No SLURM account given, trying to guess/);
    expect(r.output).toMatch(/has been submitted with SLURM jobid/);
    expect(r.output).toMatch(new RegExp(`SLURM-job '${first}' failed, SLURM status is: 'CANCELLED'`));
    expect(r.output).toMatch(new RegExp(`SLURM-job '${second}' failed, SLURM status is: 'CANCELLED'`));

    const jobs = finishedJobs();
    printStates("Slurm jobs of the first run (jobcomp.log):", jobs);
    const of = (id: string) => jobs.filter((j) => j.recording === id).map(({ state, memMb, timeMin }) => ({ state, memMb, timeMin }));
    expect(of("RecA")).toEqual([{ state: "COMPLETED", ...expected("RecA", 1) }]);
    expect(of("RecB")).toEqual([
      { state: "CANCELLED", ...expected("RecB", 1) },
      { state: "CANCELLED", ...expected("RecB", 2) },
    ]);
    expect(of("RecC")).toEqual([
      { state: "FAILED", ...expected("RecC", 1) },
      { state: "FAILED", ...expected("RecC", 2) },
    ]);
    expect(jobs.map((j) => j.id)).toContain(first);
    expect(jobs.map((j) => j.id)).toContain(second);
    // The recordings are of different sizes, and each job asked for its own.
    expect(new Set(["RecA", "RecB", "RecC"].map((id) => expected(id, 1).memMb)).size).toBe(3);
    expect(new Set(["RecA", "RecB", "RecC"].map((id) => expected(id, 1).timeMin)).size).toBe(3);

    expect(h5py(H5PY_STEPS, join(results, "RecA.h5"))).toContain("extract_features");
    expect(existsSync(join(results, "RecB.h5"))).toBe(false);
    expect(existsSync(checkpoint)).toBe(true);
    expect(readCsv(join(results, "summary.csv")).map((row) => [row.dataset_id, row.result])).toEqual([
      ["RecA", "ok"],
      // The cancelled job's wrapper was killed before it could write a result ("interrupted"), or
      // the CLI quit on the repeated SIGTERM first ("cancelled").
      ["RecB", expect.stringMatching(/^(interrupted|cancelled)$/)],
      ["RecC", "failed"],
    ]);
  });

  it("the next run resumes the cancelled recording from its checkpoint: COMPLETED with its own --mem and --time", async () => {
    // The broken pair moved aside, as a user would after the first run's summary.
    mkdirSync(join(dir, "broken"));
    for (const name of ["RecC-.cmtr", "RecC.cmcr"]) renameSync(join(dir, "recordings", name), join(dir, "broken", name));
    const before = finishedJobs().length;
    const doneA = statSync(join(results, "RecA.h5")).mtimeMs;
    const r = await startSnakemake(environment()).until;
    console.log(`second run: ${r.ms} ms`);
    expect(r.code, r.output).toBe(0);
    expect(r.output).not.toContain("KeyError");

    const jobs = finishedJobs().slice(before);
    printStates("Slurm jobs of the second run (jobcomp.log):", jobs);
    expect(jobs.map(({ recording, state, memMb, timeMin }) => ({ recording, state, memMb, timeMin }))).toEqual([
      { recording: "RecB", state: "COMPLETED", ...expected("RecB", 1) },
    ]);

    const log = readFileSync(join(results, "logs", "RecB.log"), "utf8");
    // It goes on where the cancelled jobs were held: the checkpoint has every step before HOLD_STEP.
    const resumed = /^hdmea: resuming from RecB\.checkpoint\.h5 \(completed: ([^)]*)\)$/m.exec(log);
    expect(resumed, log).not.toBeNull();
    expect(resumed![1]).toContain(BEFORE_HOLD);
    expect(resumed![1]).not.toContain(HOLD_STEP);
    expect(log).not.toMatch(/load_recording completed/);
    expect(log).toMatch(new RegExp(`^hdmea: ${HOLD_STEP} completed`, "m"));
    expect(existsSync(join(results, "checkpoints", "RecB.checkpoint.h5"))).toBe(false);
    expect(h5py(H5PY_STEPS, join(results, "RecB.h5"))).toEqual(expect.arrayContaining(["load_recording", "add_section_time", "section_spike_times", "compute_sta", "extract_features"]));
    expect(statSync(join(results, "RecA.h5")).mtimeMs).toBe(doneA);
    const rows = readCsv(join(results, "summary.csv"));
    expect(rows.map((row) => [row.dataset_id, row.result])).toEqual([["RecA", "ok"], ["RecB", "ok"]]);
    expect(rows[1].resumed_from).toBe(join(results, "checkpoints", "RecB.checkpoint.h5"));
  });
});
