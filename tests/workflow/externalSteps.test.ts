/**
 * workflow/Snakefile with `external_steps`: one small recording through Debian's snakemake (local
 * profile), running examples/add_group.py as an external step of its job. Needs the built CLI
 * (`npm run build:node`) and /usr/bin/python3 with h5py, as snakemake.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair } from "../../tools/recordingGenerator.ts";
import { PYTHON, h5py } from "../cli/cliHarness.ts";

const WORKFLOW = join(import.meta.dirname, "../../workflow");
const EXAMPLE = join(import.meta.dirname, "../../examples/add_group.py");

let dir: string;
let script: string;

function snakemake(args: string[]) {
  const started = Date.now();
  const r = spawnSync("snakemake", ["--snakefile", join(WORKFLOW, "Snakefile"), "--configfile", join(dir, "config.yaml"), ...args], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, output: `${r.stdout}\n${r.stderr}`, ms: Date.now() - started };
}

beforeAll(async () => {
  const version = spawnSync("snakemake", ["--version"], { encoding: "utf8" });
  if (version.error || version.status !== 0) throw new Error("snakemake is not on PATH: install it (`apt-get install -y snakemake`) to run the workflow tests");
  dir = mkdtempSync(join(tmpdir(), "hdmea-snakemake-external-"));
  mkdirSync(join(dir, "recordings"));
  writeRecordingPair(await nodeRuntime(), { dir: join(dir, "recordings"), name: "RecX", units: 2, minutes: 0.1, seed: 41 });
  // Relative to the folder snakemake runs in, as the config's comment says.
  script = join(dir, "add_group.py");
  copyFileSync(EXAMPLE, script);
  writeFileSync(
    join(dir, "config.yaml"),
    [
      "recordings: recordings",
      "out_dir: results",
      "steps: load_recording",
      "external_steps:",
      `  spike_count: "${PYTHON} add_group.py {file} --dataset-id {dataset_id}"`,
      "",
    ].join("\n"),
  );
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("workflow/Snakefile external_steps", () => {
  it("runs the configured external step in each job; editing its script re-makes the output", () => {
    const run = snakemake(["--profile", join(WORKFLOW, "profiles/local"), "--cores", "1"]);
    console.log(`external-step run: ${run.ms} ms`);
    expect(run.code, run.output).toBe(0);
    const file = h5py(
      `f = h5py.File(sys.argv[1], "r")
dec = lambda v: v.decode() if isinstance(v, bytes) else v
print(json.dumps({"steps": [dec(s) for s in f["pipeline/session_info/completed_steps"][()]],
  "counts": [int(g["features/spike_count/data"][()]) == g["spike_times"].shape[0] for g in f["units"].values()],
  "dataset_id": dec(f["metadata/spike_count/dataset_id"][()])}))`,
      join(dir, "results", "RecX.h5"),
    );
    expect(file).toEqual({ steps: ["add_cmtr_unit_info", "add_sys_meta_info", "load_recording", "spike_count"], counts: [true, true], dataset_id: "RecX" });
    const log = readFileSync(join(dir, "results", "logs", "RecX.log"), "utf8");
    expect(log).toContain(`hdmea: warning: Auto-saving deferred session to ${join(dir, "results", "RecX.h5")} to satisfy HDF5-path requirement`);
    expect(log).toMatch(/^hdmea: spike_count: spike_count: 2 units, \d+ spikes$/m);

    // The script is an input of the job: editing it makes the output out of date (Snakemake also
    // compares small inputs' checksums, so touching it alone would not).
    appendFileSync(script, "# edited\n");
    const dry = snakemake(["--profile", join(WORKFLOW, "profiles/local"), "--cores", "1", "-n"]);
    expect(dry.code, dry.output).toBe(0);
    expect(dry.output).toMatch(/rule process:[^]*?reason: Updated input files: [^\n]*add_group\.py\n\s*wildcards: rec=RecX/);
  }, 180_000);
});
