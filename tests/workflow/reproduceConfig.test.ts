/**
 * "Copy as workflow config" (src/core/reproduceCommand.ts): the fragment, given to workflow/Snakefile
 * with --configfile, makes the workflow run the same `hdmea process` options as the copied command.
 * Snakemake's dry run (-n -p) prints the job's shell command; both commands are split by /bin/sh and
 * read by the CLI's own option parser. Needs snakemake and the built CLI, as snakemake.test.ts.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { reproduceCommand } from "../../src/core/reproduceCommand.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { BOOLEAN_FLAGS, VALUE_OPTIONS, parseProcessOptions } from "../../src/cli/processOptions.ts";

const SNAKEFILE = join(import.meta.dirname, "../../workflow/Snakefile");
const DEMO = join(import.meta.dirname, "../../public/demo");

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hdmea-reproduce-"));
  cpSync(DEMO, dir, { recursive: true });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The words /bin/sh makes of `commandLine` (quotes removed, line continuations joined). */
function words(commandLine: string): string[] {
  const r = spawnSync("/bin/sh", ["-c", `printf '%s\\0' ${commandLine}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split("\0").slice(0, -1);
}

/** `hdmea process` options with paths made absolute from `cwd`; the workflow's own settings left out. */
function options(argv: string[], cwd: string) {
  const args = parseArgs(argv.slice(argv.indexOf("process") + 1), BOOLEAN_FLAGS, VALUE_OPTIONS);
  const o = parseProcessOptions(args);
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p));
  return {
    recordings: args.positionals.map(abs),
    cmcr: abs(args.options.get("cmcr")?.[0]),
    steps: o.steps,
    params: o.params,
    playlist: abs(o.playlist),
    movieLength: abs(o.movieLength),
    stimulusConfigDir: abs(o.stimulusConfigDir),
    noiseMovies: o.noiseMovies.map((m) => ({ movie: m.movie, path: abs(m.path) })),
    mode: o.mode,
  };
}

it("the workflow, given the copied config, runs the copied command's options", () => {
  const r = reproduceCommand({
    datasetId: "demo",
    sourceFiles: { cmcr: "demo.cmcr", cmtr: "demo-.cmtr" },
    completedSteps: [
      { name: "load_recording", params: {}, completedAt: "t" },
      {
        name: "add_section_time",
        params: { playlist_name: "demo_full", repeats: 1, pad_frame: 180, pre_margin_frame_num: 60, post_margin_frame_num: 120, summary: { playlist_file: "demo_playlist.csv", movie_length_file: "demo_movie_length.csv" } },
        completedAt: "t",
      },
      { name: "section_spike_times", params: { pad_margin: [0.5, 1], movie_names: ["step_up_2s_2i_4x"], summary: { movies: ["step_up_2s_2i_4x"] } }, completedAt: "t" },
      { name: "compute_sta", params: { movie_name: null, cover_range: [-30, 0], summary: { movie_name: "dense_noise_15x15_15hz_r42_45s" } }, completedAt: "t" },
      { name: "extract_features", params: { features: ["frif", "baseline"] }, completedAt: "t" },
    ],
  });
  writeFileSync(join(dir, "copied.yaml"), r.config);
  const started = Date.now();
  const run = spawnSync("snakemake", ["--snakefile", SNAKEFILE, "--configfile", "copied.yaml", "--cores", "1", "-n", "-p"], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  console.log(`snakemake dry run: ${Date.now() - started} ms`);
  const output = `${run.stdout}\n${run.stderr}`;
  expect(run.status, output).toBe(0);
  // The job's shell line: python3 run_hdmea.py … -- node …/bin/hdmea.js process … (paths absolute).
  const line = output.split("\n").find((l) => l.includes("run_hdmea.py") && l.includes(" -- "));
  expect(line, output).toBeDefined();
  const workflow = words(line!.slice(line!.indexOf(" -- ") + 4));
  const copied = words(r.command.split("\n").filter((l) => !l.startsWith("#")).join("\n").replace(/^hdmea /, ""));
  expect(workflow).toContain("--json"); // the workflow's own additions, not part of the comparison
  expect(options(workflow, dir)).toEqual(options(copied, dir));
  expect(options(workflow, dir).params).toEqual({
    add_section_time: { playlist_name: "demo_full", repeats: 1, pad_frame: 180, pre_margin_frame_num: 60, post_margin_frame_num: 120 },
    section_spike_times: { pad_margin: [0.5, 1], movie_names: ["step_up_2s_2i_4x"] },
    compute_sta: { movie_name: null, cover_range: [-30, 0] },
    extract_features: { features: ["frif", "baseline"] },
  });
}, 120_000);
