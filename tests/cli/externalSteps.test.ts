/**
 * External steps (`--exec NAME=COMMAND`): the built CLI (`npm run build:node`) runs examples/add_group.py
 * and small failing or slow programs with /usr/bin/python3; h5py reads what ended in the file.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cleanEnvironment, rerunReason, scriptFingerprint, scriptOf, splitCommand } from "../../src/cli/externalStep.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { BOOLEAN_FLAGS, VALUE_OPTIONS, parseProcessOptions, type ProcessOptions } from "../../src/cli/processOptions.ts";
import { stepSegments } from "../../src/cli/stepPlan.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";
import { CONFIGS, H5PY_DIFF, MOVIE_LENGTH, PLAYLIST, PYTHON, h5py, hdmea } from "./cliHarness.ts";

const EXAMPLE = resolve(import.meta.dirname, "../../examples/add_group.py");

let dir: string;
let rec: GeneratedRecording;
let script: string; // a copy of the example, so a test can change it

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hdmea-cli-external-"));
  rec = writeRecordingPair(await nodeRuntime(), { dir, name: "Ext", units: 3, minutes: 0.2, seed: 21 });
  script = join(dir, "add_group.py");
  copyFileSync(EXAMPLE, script);
}, 60_000);

const SECTION_ARGS = ["--playlist", PLAYLIST, "--playlist-name", "demo_set_a", "--movie-length", MOVIE_LENGTH, "--stimulus-config", CONFIGS];
const addGroup = (path = EXAMPLE, extra = "") => `spike_count=${PYTHON} ${path} {file} --dataset-id {dataset_id}${extra}`;
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** What add_group.py and the step log left in the file, read by h5py. */
const H5PY_EXTERNAL = `
f = h5py.File(sys.argv[1], "r")
dec = lambda v: v.decode() if isinstance(v, bytes) else v
info = f["pipeline/session_info"]
out = {
  "completed_steps": [dec(s) for s in info["completed_steps"][()]],
  "step_log": [json.loads(dec(s)) for s in info["step_log"][()]],
  "warnings": [dec(s) for s in info["warnings"][()]] if "warnings" in info else [],
  "units": {u: {"spikes": int(g["spike_times"].shape[0]),
                "count": int(g["features/spike_count/data"][()]) if "features/spike_count/data" in g else None}
            for u, g in f["units"].items()},
  "metadata": {k: (dec(v[()]) if v.shape == () else [dec(x) for x in v[()].tolist()])
               for k, v in f["metadata/spike_count"].items()} if "metadata/spike_count" in f else None,
  "partial": "metadata/partial" in f,
}
print(json.dumps(out))
`;

describe("hdmea process --exec (external steps)", () => {
  it("auto-saves the deferred session, runs the program at its place with a clean environment, reloads its group and records it", () => {
    const out = join(dir, "deferred.h5");
    const envCheck = `env_check=${PYTHON} -c "import os; print('ENV ' + ' '.join(sorted(os.environ)))"`;
    const run = hdmea(
      ["process", rec.cmtrPath, "--out", out, "--steps", "add_section_time,spike_count,section_spike_times,env_check", ...SECTION_ARGS, "--exec", addGroup(), "--exec", envCheck],
      { HDMEA_SECRET_FOR_TEST: "x", PYTHONPATH: "/nowhere" },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`hdmea: warning: Auto-saving deferred session to ${out} to satisfy HDF5-path requirement\n`);
    // The program's own output, streamed to the log.
    expect(run.stderr).toMatch(/^hdmea: spike_count: spike_count: 3 units, \d+ spikes$/m);
    expect(run.stderr).toMatch(/^hdmea: spike_count completed in [\d.]+ s$/m);
    const env = /^hdmea: env_check: ENV (.*)$/m.exec(run.stderr)?.[1].split(" ");
    expect(env).toEqual(expect.arrayContaining(["PATH", "HDMEA_FILE", "HDMEA_DATASET_ID", "HDMEA_STEP"]));
    expect(env).not.toContain("HDMEA_SECRET_FOR_TEST");
    expect(env).not.toContain("PYTHONPATH");

    const file = h5py(H5PY_EXTERNAL, out);
    // At its place: after add_section_time, before section_spike_times.
    expect(file.completed_steps).toEqual(["add_cmtr_unit_info", "add_sys_meta_info", "load_recording", "add_section_time", "spike_count", "section_spike_times", "env_check"]);
    for (const unit of Object.values(file.units) as { spikes: number; count: number }[]) expect(unit.count).toBe(unit.spikes);
    expect(file.metadata).toEqual({
      dataset_id: "Ext",
      unit_ids: Object.keys(file.units),
      spike_counts: Object.values(file.units).map((u: any) => u.spikes),
    });
    const record = file.step_log.find((s: any) => s.name === "spike_count");
    expect(record.params).toEqual({
      kind: "external",
      command: addGroup().slice("spike_count=".length),
      argv: [PYTHON, EXAMPLE, out, "--dataset-id", "Ext"],
      exit_status: 0,
      seconds: expect.any(Number),
      script: EXAMPLE,
      script_sha256: sha256(EXAMPLE),
    });
    expect(Date.parse(record.completedAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(file.step_log.find((s: any) => s.name === "env_check").params.script).toBeUndefined();
    expect(file.warnings).toContain(`Auto-saving deferred session to ${out} to satisfy HDF5-path requirement`);
  }, 120_000);

  it("in immediate mode runs on the current file with no auto-save, and says so", () => {
    const out = join(dir, "immediate.h5");
    const run = hdmea(["process", rec.cmtrPath, "--out", out, "--mode", "immediate", "--steps", "spike_count", "--exec", addGroup()]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^hdmea: spike_count: immediate mode: immediate\.h5 is rewritten after every change, so it is current; no auto-save needed$/m);
    expect(run.stderr).not.toMatch(/Auto-saving/);
    const file = h5py(H5PY_EXTERNAL, out);
    expect(file.completed_steps.at(-1)).toBe("spike_count");
    expect(Object.values(file.units).every((u: any) => u.count === u.spikes)).toBe(true);
    expect(file.warnings.join("\n")).not.toMatch(/Auto-saving/);
  }, 120_000);

  it("a failing program fails the run in one line with its exit status and stderr tail; the file is as the auto-save left it", () => {
    const out = join(dir, "failed.h5");
    const snapshot = join(dir, "failed.at-start.h5");
    const failing = join(dir, "fail.py");
    // Copies the file it was given (what the auto-save wrote), damages it a little, then fails.
    writeFileSync(
      failing,
      [
        "import shutil, sys, h5py",
        "shutil.copyfile(sys.argv[1], sys.argv[2])",
        "with h5py.File(sys.argv[1], 'r+') as f: f.create_group('metadata/partial')",
        "for i in range(1, 5): print(f'problem {i}', file=sys.stderr)",
        "sys.exit(3)",
      ].join("\n"),
    );
    const run = hdmea(["process", rec.cmtrPath, "--out", out, "--steps", "bad", "--exec", `bad=${PYTHON} ${failing} {file} ${snapshot}`]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `hdmea process: Ext-.cmtr: bad: exited with status 3; last stderr: problem 2 | problem 3 | problem 4; failed.h5 was written again from the session, as it was before the step`,
    );
    // Content as the auto-save left it (times aside): no metadata/partial, no record of bad.
    expect(h5py(H5PY_DIFF, snapshot, out)).toEqual([]);
    expect(h5py(H5PY_EXTERNAL, snapshot)).toMatchObject({ partial: false, completed_steps: ["add_cmtr_unit_info", "add_sys_meta_info", "load_recording"] });
  }, 120_000);

  it("is exempt from the watchdog while the program runs; --exec-timeout stops one that runs too long", () => {
    const out = join(dir, "slow.h5");
    const sleep = (s: number) => `${PYTHON} -c "import time; time.sleep(${s})"`;
    const run = hdmea(["process", rec.cmtrPath, "--out", out, "--steps", "slow,stuck", "--watchdog-seconds", "1", "--exec-timeout", "4", "--exec", `slow=${sleep(1.5)}`, "--exec", `stuck=${sleep(60)}`]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/^hdmea: slow completed in [\d.]+ s$/m);
    expect(run.stderr.trim().split("\n").at(-1)).toBe("hdmea process: Ext-.cmtr: stuck: still running after 4 s (--exec-timeout), stopped; no stderr; slow.h5 is unchanged");
  }, 120_000);

  it("resuming from a checkpoint skips an external step done with the same command and re-runs it when the command changed", () => {
    const out = join(dir, "resume.h5");
    const checkpoint = join(dir, "resume.checkpoint.h5");
    // --overwrite: the external step's auto-save has written --out before each kill.
    const args = ["process", rec.cmtrPath, "--out", out, "--overwrite", "--steps", "add_section_time,spike_count,section_spike_times", ...SECTION_ARGS, "--checkpoint-every", "step"];
    const killed = hdmea([...args, "--exec", addGroup(script)], { HDMEA_TEST_KILL_AFTER: "spike_count" });
    expect(killed.signal).toBe("SIGKILL");
    expect(killed.stderr).toMatch(/^hdmea: checkpoint resume\.checkpoint\.h5 written/m);

    // Same command and script: skipped, and killed again after the next step (so a checkpoint stays).
    const same = hdmea([...args, "--exec", addGroup(script)], { HDMEA_TEST_KILL_AFTER: "section_spike_times" });
    expect(same.signal, same.stderr).toBe("SIGKILL");
    expect(same.stderr).toMatch(/^hdmea: spike_count skipped \(already done with the same command\)/m);
    expect(same.stderr).not.toMatch(/^hdmea: spike_count: spike_count: /m);
    expect(same.stderr).toMatch(/^hdmea: section_spike_times completed/m);

    const changed = hdmea([...args, "--exec", addGroup(script, " --name spike_count")]);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(/^hdmea: resuming from resume\.checkpoint\.h5/m);
    expect(changed.stderr).toMatch(/^hdmea: spike_count: spike_count: 3 units/m);
    expect(changed.stderr).toMatch(/^hdmea: spike_count completed \(re-run: its command changed \(was ".*add_group\.py \{file\} --dataset-id \{dataset_id\}"\)\)/m);
    expect(existsSync(checkpoint)).toBe(false);
    const file = h5py(H5PY_EXTERNAL, out);
    expect(file.step_log.find((s: any) => s.name === "spike_count").params.command).toMatch(/--name spike_count$/);
    expect(file.warnings.some((w: string) => w.startsWith("spike_count re-run: its command changed"))).toBe(true);
    // Resumed from the checkpoint, the session is bound to it, not to --out: saved there first.
    expect(changed.stderr).toContain(`Auto-saving deferred session to ${out} to satisfy HDF5-path requirement`);
  }, 180_000);

  it("refuses unknown steps, --exec for a built-in step, an --exec not in --steps and an impossible order (exit 2)", () => {
    const run = hdmea(["process", rec.cmtrPath, "--out", join(dir, "never.h5"), "--steps", "all,ap_tracking"]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^hdmea process: unknown step\(s\) ap_tracking; available: all, .*\(or an external step: --exec ap_tracking="COMMAND \{file\}"\)$/m);
    expect(run.stderr).toMatch(/^usage: hdmea process/m);
    expect(existsSync(join(dir, "never.h5"))).toBe(false);
    // The rest as the command parses them (a UsageError is exit 2 with the usage, as above).
    const cases: [string[], RegExp][] = [
      [["--steps", "add_section_time", "--exec", "add_section_time=python3 x.py {file}"], /^--exec add_section_time: add_section_time is a built-in step/],
      [["--steps", "ap", "--exec", "load_from_hdf5=python3 x.py {file}"], /^--exec load_from_hdf5: load_from_hdf5 is a built-in step/],
      [["--steps", "all", "--exec", "ap=python3 x.py {file}"], /^--exec ap: ap is not in --steps/],
      [["--steps", "ap", "--exec", "ap"], /^--exec takes NAME=COMMAND/],
      [["--steps", "ap", "--exec", "ap=python3 'x.py {file}"], /^--exec ap: unbalanced ' in the command/],
      [["--steps", "ap", "--exec", "ap=a", "--exec", "ap=b"], /^--exec ap is given twice/],
      [["--steps", "section_spike_times,ap,add_section_time", "--exec", "ap=python3 x.py"], /^--steps: ap is listed after section_spike_times and before add_section_time, but add_section_time runs before section_spike_times/],
      [["--steps", "ap", "--exec", "ap=python3 x.py", "--exec-timeout", "soon"], /^--exec-timeout takes seconds/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseProcessOptions(parseArgs(argv, BOOLEAN_FLAGS, VALUE_OPTIONS)), argv.join(" ")).toThrow(expect.objectContaining({ name: "UsageError", message: expect.stringMatching(message) }));
    }
    const ok = parseProcessOptions(parseArgs(["--steps", "ap,all", "--exec", "ap=python3 x.py {file}", "--checkpoint-every", "ap"], BOOLEAN_FLAGS, VALUE_OPTIONS));
    expect(ok.steps).toEqual(["ap", "add_section_time", "section_spike_times", "compute_sta", "extract_features"]);
    expect(ok.checkpointEvery).toEqual(["ap"]);
  }, 120_000);
});

describe("external step helpers", () => {
  it("splits commands as a shell splits words and quotes", () => {
    expect(splitCommand(`python3  "my script.py" {file} --x 'a b' c\\ d "q\\"q" C:\\dir\\x.py`)).toEqual(["python3", "my script.py", "{file}", "--x", "a b", "c d", 'q"q', "C:\\dir\\x.py"]);
    expect(splitCommand(`a "" b`)).toEqual(["a", "", "b"]);
    expect(() => splitCommand("  ")).toThrow(/empty/);
  });

  it("finds the script a command names, and sees it change", () => {
    expect(scriptOf(`${PYTHON} ${EXAMPLE} {file}`)).toBe(EXAMPLE);
    expect(scriptOf(`${PYTHON} -c "print(1)"`)).toBeUndefined();
    expect(scriptOf(`${script} {file}`)).toBe(script);
    expect(scriptOf(`python3 add_group.py {file}`, dir)).toBe(script);
    const changing = join(dir, "changing.py");
    writeFileSync(changing, "print(1)\n");
    const step = { name: "x", command: `${PYTHON} ${changing} {file}` };
    const record = { name: "x", params: { command: step.command, ...scriptFingerprint(step) }, completedAt: "" };
    expect(rerunReason(record, step, scriptFingerprint(step), false)).toBeUndefined();
    expect(rerunReason(record, step, scriptFingerprint(step), true)).toBe("a step before it ran again");
    expect(rerunReason(record, { ...step, command: `${step.command} -v` }, scriptFingerprint(step), false)).toMatch(/^its command changed/);
    appendFileSync(changing, "# edited\n");
    expect(rerunReason(record, step, scriptFingerprint(step), false)).toBe("its script changing.py changed");
  });

  it("keeps only the listed variables in the clean environment", () => {
    process.env.HDMEA_TEST_SECRET = "1";
    try {
      const env = cleanEnvironment({ HDMEA_STEP: "x" });
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.HDMEA_STEP).toBe("x");
      expect(env.HDMEA_TEST_SECRET).toBeUndefined();
    } finally {
      delete process.env.HDMEA_TEST_SECRET;
    }
  });

  it("cuts the run at each external step, built-in steps in pipeline order", () => {
    const opts = { steps: ["add_section_time", "a", "compute_sta", "section_spike_times", "b"], exec: [{ name: "a", command: "x" }, { name: "b", command: "y" }] } as ProcessOptions;
    expect(stepSegments(opts, ["add_section_time", "section_spike_times", "compute_sta"])).toEqual([
      { steps: ["add_section_time"], external: opts.exec[0] },
      { steps: ["section_spike_times", "compute_sta"], external: opts.exec[1] },
      { steps: [] },
    ]);
  });
});
