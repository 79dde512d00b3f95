/**
 * "Copy as command" (src/core/reproduceCommand.ts): the command is split into words by a real POSIX
 * shell (/bin/sh) and read by the CLI's own option parser, so quoting, parameter encoding and flag
 * names are checked against what `hdmea process` actually does; the config fragment is read by
 * PyYAML, as Snakemake reads it.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { runPipeline } from "../../src/core/pipeline.ts";
import { reproduceCommand, reproduceInputOf, shellQuote, type ReproduceInput } from "../../src/core/reproduceCommand.ts";
import { setUnitLabel } from "../../src/core/unitLabel.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { BOOLEAN_FLAGS, VALUE_OPTIONS, parseProcessOptions, type ProcessOptions } from "../../src/cli/processOptions.ts";
import { exampleInputs, loadedSession } from "./fixtures/exampleSession.ts";

/** The words the shell passes to `hdmea` when it runs `text` (comments and line continuations included). */
function shellWords(text: string): string[] {
  const r = spawnSync("/bin/sh", ["-c", `hdmea() { printf '%s\\0' "$@"; }\n${text}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`sh failed (${r.status}): ${r.stderr}`);
  return r.stdout.split("\0").slice(0, -1);
}

/** The command as `hdmea process` parses it: positionals and options. */
function parsed(command: string): { positionals: string[]; options: ProcessOptions; out?: string; cmcr?: string } {
  const words = shellWords(command);
  expect(words[0]).toBe("process");
  const args = parseArgs(words.slice(1), BOOLEAN_FLAGS, VALUE_OPTIONS);
  return { positionals: args.positionals, options: parseProcessOptions(args), out: args.options.get("out")?.[0], cmcr: args.options.get("cmcr")?.[0] };
}

function yaml(text: string): Record<string, unknown> {
  const r = spawnSync("/usr/bin/python3", ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"], { input: text, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`PyYAML failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const demoLike: ReproduceInput = {
  datasetId: "demo",
  sourceFiles: { cmcr: "demo.cmcr", cmtr: "demo-.cmtr" },
  completedSteps: [
    { name: "add_cmtr_unit_info", params: { source: "/drops/1/demo-.cmtr" }, completedAt: "t" },
    { name: "add_sys_meta_info", params: {}, completedAt: "t" },
    { name: "load_recording", params: { cmcr_path: "/drops/1/demo.cmcr" }, completedAt: "t" },
    {
      name: "add_section_time",
      params: {
        playlist_name: "demo_full",
        repeats: 1,
        pad_frame: 180,
        pre_margin_frame_num: 60,
        post_margin_frame_num: 120,
        inputs_fingerprint: "0badf00d",
        summary: { playlist_file: "demo_playlist.csv", movie_length_file: "demo_movie_length.csv", movies: ["a", "b"] },
      },
      completedAt: "t",
    },
    { name: "section_spike_times", params: { pad_margin: [0, 0], movie_names: null, summary: { movies: ["a", "b"] } }, completedAt: "t" },
    { name: "compute_sta", params: { movie_name: null, cover_range: [-60, 0], summary: { movie_name: "noise_15x15" } }, completedAt: "t" },
    { name: "extract_features", params: { features: null, summary: {} }, completedAt: "t" },
  ],
  labelledUnits: 0,
};

describe("reproduceCommand", () => {
  it("gives the steps, every parameter and the input files as hdmea process reads them", () => {
    const r = reproduceCommand(demoLike);
    const { positionals, options, out, cmcr } = parsed(r.command);
    expect(positionals).toEqual(["demo-.cmtr"]);
    expect(cmcr).toBe("demo.cmcr");
    expect(out).toBe("demo.h5");
    expect(options.steps).toEqual(["add_section_time", "section_spike_times", "compute_sta", "extract_features"]);
    expect(options.playlist).toBe("stimulus/demo_playlist.csv");
    expect(options.movieLength).toBe("stimulus/demo_movie_length.csv");
    expect(options.stimulusConfigDir).toBe("stimulus");
    expect(options.noiseMovies).toEqual([{ movie: "noise_15x15", path: "stimulus/noise_15x15.npy" }]);
    // Every recorded parameter, defaults included; bookkeeping (summary, fingerprint) is not a parameter.
    expect(options.params).toEqual({
      add_section_time: { playlist_name: "demo_full", repeats: 1, pad_frame: 180, pre_margin_frame_num: 60, post_margin_frame_num: 120 },
      section_spike_times: { pad_margin: [0, 0], movie_names: null },
      compute_sta: { movie_name: null, cover_range: [-60, 0] },
      extract_features: { features: null },
    });
    expect(r.notReproduced).toEqual([]);
    expect(r.command).not.toMatch(/Not redone/);
    expect(r.files).toEqual([
      "demo-.cmtr",
      "demo.cmcr",
      "stimulus/demo_playlist.csv",
      "stimulus/demo_movie_length.csv",
      "stimulus/a.json",
      "stimulus/b.json",
      "stimulus/noise_15x15.npy",
    ]);
    for (const f of r.files) expect(r.command).toContain(`#   ${f}\n`);
  });

  it("writes the same settings as a workflow config fragment", () => {
    const r = reproduceCommand(demoLike);
    const config = yaml(r.config);
    const { options } = parsed(r.command);
    const words = shellWords(r.command);
    expect(config).toEqual({
      recordings: ["demo-.cmtr"],
      out_dir: "results",
      steps: options.steps.join(","),
      playlist: options.playlist,
      playlist_name: "demo_full",
      movie_length: options.movieLength,
      stimulus_config: "stimulus",
      noise_movie: ["stimulus/noise_15x15.npy"],
      // The workflow passes each entry as one --param word: the command's, in its order.
      params: words.filter((_, i) => words[i - 1] === "--param"),
      extra_args: [],
    });
  });

  it("quotes names with spaces, quotes, $, backslashes and line breaks so the shell passes them unchanged", () => {
    const nasty = `it's "a" $HOME \`x\` \\ ; & *`;
    const input: ReproduceInput = {
      datasetId: "run 1",
      sourceFiles: { cmcr: `C:\\data\\run 1.cmcr`, cmtr: "/data/--run 1-.cmtr" },
      completedSteps: [
        {
          name: "add_section_time",
          params: {
            playlist_name: nasty,
            repeats: 2,
            summary: { playlist_file: `${nasty}.csv`, movie_length_file: "lengths\nnew line.csv" },
          },
          completedAt: "t",
        },
        // Text that reads as JSON must come back as text, not as a number or null.
        { name: "add_section_time_analog", params: { movie_name: "3", threshold_value: 1e5, repeat: null }, completedAt: "t" },
        { name: "section_spike_times_analog", params: { movie_name: "null", pad_margin: [2, 0.5] }, completedAt: "t" },
      ],
    };
    const r = reproduceCommand(input);
    const { positionals, options, cmcr, out } = parsed(r.command);
    // Only names: the folders the files were in are not part of the command.
    expect(positionals).toEqual(["./--run 1-.cmtr"]);
    expect(cmcr).toBe("run 1.cmcr");
    expect(out).toBe("run 1.h5");
    expect(options.playlist).toBe(`stimulus/${nasty}.csv`);
    expect(options.movieLength).toBe("stimulus/lengths\nnew line.csv");
    expect(options.params).toEqual({
      add_section_time: { playlist_name: nasty, repeats: 2 },
      add_section_time_analog: { movie_name: "3", threshold_value: 1e5, repeat: null },
      section_spike_times_analog: { movie_name: "null", pad_margin: [2, 0.5] },
    });
    // The line break in a file name shows in the header instead of ending the comment.
    expect(r.command).toContain("#   stimulus/lengths\\nnew line.csv\n");
    const config = yaml(r.config);
    expect(config.playlist_name).toBe(nasty);
    expect(config.movie_length).toBe("stimulus/lengths\nnew line.csv");
  });

  it("shellQuote leaves safe words bare and single-quotes the rest", () => {
    expect(shellQuote("demo-.cmtr")).toBe("demo-.cmtr");
    expect(shellQuote("a.b=[2,0]")).toBe("'a.b=[2,0]'");
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("~/x")).toBe("'~/x'");
    expect(shellQuote("#x")).toBe("'#x'");
    expect(shellWords(`hdmea ${["it's", "a b", "", "\n", "'\"'"].map(shellQuote).join(" ")}`)).toEqual(["it's", "a b", "", "\n", "'\"'"]);
  });

  it("names in comments what the CLI cannot redo, and the command still runs without it", () => {
    const input: ReproduceInput = {
      datasetId: "lab",
      sourceFiles: {},
      completedSteps: [
        { name: "load_from_hdf5", params: { path: "x.h5" }, completedAt: "t" },
        { name: "ap_tracking", params: { command: "python3 ap.py {file}" }, completedAt: "t" },
        // A lab file: steps without parameters, and without the input names this version records.
        { name: "add_section_time", params: {}, completedAt: "t" },
        { name: "section_spike_times", params: { pad_margin: [1, 1], old_knob: 3 }, completedAt: "t" },
        { name: "compute_sta", params: {}, completedAt: "t" },
      ],
      labelledUnits: 3,
    };
    const r = reproduceCommand(input);
    expect(r.notReproduced).toEqual([
      "the session names no recording files (it came from a file without source_files): lab-.cmtr stands in for its .cmtr",
      'step load_from_hdf5 (path="x.h5"): not an `hdmea process` step; not redone',
      'step ap_tracking (command="python3 ap.py {file}"): not an `hdmea process` step; not redone',
      "add_section_time: its parameters were not recorded (a file written by other software); the command uses this version's defaults",
      "add_section_time: the playlist name was not recorded; PLAYLIST_NAME stands in for it",
      "add_section_time: the playlist table it read was not recorded; stimulus/PLAYLIST.csv stands in for it",
      "add_section_time: the movie-length table it read was not recorded; stimulus/MOVIE_LENGTH.csv stands in for it",
      "section_spike_times: parameter old_knob=3 is not one this version takes; left out",
      "section_spike_times: which trial configs it read was not recorded; put every <movie>.json it needs in stimulus/",
      "compute_sta: its parameters were not recorded (a file written by other software); the command uses this version's defaults",
      "compute_sta: which noise movie it used was not recorded; stimulus/NOISE_MOVIE.npy stands in for it",
      "3 cell-type labels (units/<unit>/auto_label/axon_type): the CLI sets none; label in the page or with h5py",
    ]);
    for (const text of [r.command, r.config]) {
      for (const note of r.notReproduced) expect(text).toContain(`#   - ${note}\n`);
    }
    const { positionals, options } = parsed(r.command);
    expect(positionals).toEqual(["lab-.cmtr"]);
    expect(options.steps).toEqual(["add_section_time", "section_spike_times", "compute_sta"]);
    expect(options.params).toEqual({ add_section_time: { playlist_name: "PLAYLIST_NAME" }, section_spike_times: { pad_margin: [1, 1] } });
    expect(options.noiseMovies).toEqual([{ movie: "NOISE_MOVIE", path: "stimulus/NOISE_MOVIE.npy" }]);
    expect(yaml(r.config).steps).toBe("add_section_time,section_spike_times,compute_sta");
  });

  it("reads what a real run recorded: the tables' names, the sectioned movies' configs, the labels", async () => {
    const session = loadedSession();
    session.setSourceFiles({ cmcr: "/abs/2024.01.01-00.00.00-Rec.cmcr", cmtr: "/abs/2024.01.01-00.00.00-Rec-.cmtr" });
    const report = await runPipeline(session, {
      steps: ["add_section_time", "section_spike_times"],
      params: { add_section_time: { playlist_name: "demo_set_a" }, section_spike_times: { pad_margin: [2, 0] } },
      inputs: exampleInputs(),
    });
    expect(report.steps.map((s) => s.status)).toEqual(["completed", "completed"]);
    setUnitLabel(session, "unit_001", "rgc");
    const r = reproduceCommand(reproduceInputOf(session));
    const { options, positionals } = parsed(r.command);
    expect(positionals).toEqual(["2024.01.01-00.00.00-Rec-.cmtr"]);
    expect(options.playlist).toBe("stimulus/playlist.example.csv");
    expect(options.movieLength).toBe("stimulus/movie_length.example.csv");
    expect(options.params.add_section_time).toMatchObject({ playlist_name: "demo_set_a", repeats: 1 });
    expect(options.params.section_spike_times).toEqual({ pad_margin: [2, 0], movie_names: null });
    expect(r.files.filter((f) => f.endsWith(".json")).sort()).toEqual(
      ["checker_noise_10x10_20hz_s7_1min", "gray_baseline_60", "step_flash_4s_4i_2x"].map((m) => `stimulus/${m}.json`),
    );
    expect(r.notReproduced).toEqual(["1 cell-type label (units/<unit>/auto_label/axon_type): the CLI sets none; label in the page or with h5py"]);
  });
});
