/**
 * "Copy as command": the `hdmea process` command that redoes a session in batch, and the same as a
 * `workflow/config.yaml` fragment, built only from what the session recorded — its source files and
 * each completed step's parameters and summary (`step_log`) — so a session reopened from a file or a
 * checkpoint gives the same text as the one that ran in the page.
 *
 * | export                    | does                                                                     |
 * |---------------------------|--------------------------------------------------------------------------|
 * | `reproduceCommand(input)` | `{ command, config, notReproduced, files }` from plain session data       |
 * | `reproduceInputOf(s)`     | that plain data from a PipelineSession                                   |
 * | `shellQuote(word)`        | one word for a POSIX shell (bare when safe, else single-quoted)          |
 *
 * How the texts name their inputs. The page knows file names, never folders, so the command runs in
 * a folder holding the recording pair under the names it was opened with, and the stimulus inputs
 * in a `stimulus/` folder beside it (the demo's own layout: public/demo/ and public/demo/stimulus/):
 * the playlist and movie-length tables under the names add_section_time read, `<movie>.json` trial
 * configs (the CLI reads the folder), `<movie>.npy` noise movie (the page names a movie after its
 * file). The header lists every file the command reads.
 *
 * Parameters: every recorded parameter is written out, defaults included, so a later version with
 * other defaults still redoes the same run. Values are written as the CLI reads them (JSON, or bare
 * text when the text is not JSON: `cli/stepParams.ts`). The flag names are the CLI's
 * (`cli/processOptions.ts`); tests/core/reproduceCommand.test.ts parses the command with the CLI's own
 * parser, so a renamed flag fails there.
 *
 * What the CLI cannot redo is named in `#` comments at the top of both texts, never dropped: steps
 * that are not `hdmea process` steps, parameters this version does not take, cell-type labels,
 * inputs the session did not record (a placeholder name then stands in their place).
 */
import { PIPELINE_STEPS } from "./pipeline.ts";
import type { PipelineSession, SourceFiles, StepRecord } from "./session.ts";
import type { PipelineStep } from "./steps/stepContract.ts";
import { unitLabel } from "./unitLabel.ts";

/** Where the command expects the stimulus inputs, relative to the folder it runs in. */
export const STIMULUS_DIR = "stimulus";

/** What loading a recording records: the CLI always loads, so these need no flag. */
const LOAD_RECORDS = ["load_recording", "add_cmtr_unit_info", "add_sys_meta_info"];
/** Bookkeeping the step runner records beside the parameters (core/pipeline.ts). */
const BOOKKEEPING = ["summary", "inputs_fingerprint"];

export interface ReproduceInput {
  datasetId: string;
  sourceFiles: SourceFiles;
  completedSteps: readonly StepRecord[];
  /** Units with a cell-type label (`auto_label/axon_type`): the CLI sets none. */
  labelledUnits?: number;
}

export interface Reproduction {
  /** A POSIX shell command (comment lines first). */
  command: string;
  /** The same as a workflow/config.yaml fragment. */
  config: string;
  /** What neither text redoes (also written in both as comments). */
  notReproduced: string[];
  /** The files the command reads, relative to the folder it runs in. */
  files: string[];
}

/** The command's options, before they are written as shell words or YAML. */
interface Plan {
  recording: string;
  cmcr?: string;
  out: string;
  steps: string[];
  playlist?: string;
  playlistName?: string;
  movieLength?: string;
  stimulusConfig?: string;
  noiseMovies: string[];
  /** `step.key=value`, as `--param` takes it. */
  params: string[];
  files: string[];
  notes: string[];
}

export function reproduceCommand(input: ReproduceInput, definitions: readonly PipelineStep<any>[] = PIPELINE_STEPS): Reproduction {
  const plan = planOf(input, definitions);
  return {
    command: commandText(input.datasetId, plan),
    config: configText(input.datasetId, plan),
    notReproduced: plan.notes,
    files: plan.files,
  };
}

export function reproduceInputOf(session: PipelineSession): ReproduceInput {
  let labelledUnits = 0;
  for (const unit of session.units.values()) if (unitLabel(unit) !== undefined) labelledUnits++;
  return {
    datasetId: session.datasetId,
    sourceFiles: { ...session.sourceFiles },
    completedSteps: session.completedSteps.map((s) => ({ ...s })),
    labelledUnits,
  };
}

/** Bare when every character is safe in any position of a POSIX shell word, else single-quoted. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function planOf(input: ReproduceInput, definitions: readonly PipelineStep<any>[]): Plan {
  const notes: string[] = [];
  const files: string[] = [];
  const cmtr = input.sourceFiles.cmtr === undefined ? undefined : fileName(input.sourceFiles.cmtr);
  const cmcr = input.sourceFiles.cmcr === undefined ? undefined : fileName(input.sourceFiles.cmcr);
  let recording = cmtr ?? cmcr;
  if (recording === undefined) {
    recording = `${input.datasetId}-.cmtr`;
    notes.push(`the session names no recording files (it came from a file without source_files): ${recording} stands in for its .cmtr`);
  }
  files.push(recording);
  if (cmtr !== undefined && cmcr !== undefined) files.push(cmcr);

  const plan: Plan = {
    // A name starting with "--" would read as an option.
    recording: recording.startsWith("-") ? `./${recording}` : recording,
    cmcr: cmtr !== undefined ? cmcr : undefined,
    out: `${input.datasetId}.h5`,
    steps: [],
    noiseMovies: [],
    params: [],
    files,
    notes,
  };

  const byName = new Map(definitions.map((d) => [d.name, d]));
  for (const record of input.completedSteps) {
    if (!LOAD_RECORDS.includes(record.name) && !byName.has(record.name)) {
      notes.push(`step ${record.name} (${describeParams(record.params)}): not an \`hdmea process\` step; not redone`);
    }
  }
  const records = new Map(input.completedSteps.map((s) => [s.name, s]));
  const stimulusFile = (name: string) => {
    const path = `${STIMULUS_DIR}/${name}`;
    if (!files.includes(path)) files.push(path);
    return path;
  };

  // In the runner's order: the CLI runs requested steps in that order whatever the list says.
  for (const def of definitions) {
    const record = records.get(def.name);
    if (!record) continue;
    plan.steps.push(def.name);
    const params = Object.entries(record.params ?? {}).filter(([k]) => !BOOKKEEPING.includes(k));
    if (!params.length && Object.keys(def.defaults).length) {
      notes.push(`${def.name}: its parameters were not recorded (a file written by other software); the command uses this version's defaults`);
    }
    for (const [key, value] of params) {
      if (!(key in def.defaults)) {
        notes.push(`${def.name}: parameter ${key}=${JSON.stringify(value)} is not one this version takes; left out`);
      } else if (def.name === "add_section_time" && key === "playlist_name") {
        plan.playlistName = String(value);
      } else {
        plan.params.push(`${def.name}.${key}=${paramValue(value)}`);
      }
    }
    const summary = objectOr(record.params?.summary);

    switch (def.name) {
      case "add_section_time": {
        if (summary.kept_existing === true) {
          notes.push("add_section_time kept the section times the session already had (from the file it was opened from); the command computes them from the tables");
        }
        if (plan.playlistName === undefined) {
          // The CLI refuses add_section_time without one: a placeholder keeps the command whole.
          plan.playlistName = "PLAYLIST_NAME";
          notes.push("add_section_time: the playlist name was not recorded; PLAYLIST_NAME stands in for it");
        }
        const table = (key: string, placeholder: string, what: string) => {
          const name = summary[key];
          if (typeof name === "string" && name) return stimulusFile(name);
          notes.push(`add_section_time: the ${what} it read was not recorded; ${STIMULUS_DIR}/${placeholder} stands in for it`);
          return stimulusFile(placeholder);
        };
        plan.playlist = table("playlist_file", "PLAYLIST.csv", "playlist table");
        plan.movieLength = table("movie_length_file", "MOVIE_LENGTH.csv", "movie-length table");
        break;
      }
      case "section_spike_times": {
        plan.stimulusConfig = STIMULUS_DIR;
        const movies = summary.movies;
        if (Array.isArray(movies)) for (const movie of movies) stimulusFile(`${String(movie)}.json`);
        else notes.push(`section_spike_times: which trial configs it read was not recorded; put every <movie>.json it needs in ${STIMULUS_DIR}/`);
        break;
      }
      case "compute_sta": {
        const movie = [summary.movie_name, record.params?.movie_name].find((m): m is string => typeof m === "string" && m !== "");
        if (movie === undefined) {
          notes.push(`compute_sta: which noise movie it used was not recorded; ${STIMULUS_DIR}/NOISE_MOVIE.npy stands in for it`);
          plan.noiseMovies.push(stimulusFile("NOISE_MOVIE.npy"));
        } else if (movie.includes("=")) {
          // --noise-movie splits MOVIE=FILE at the first "=": a movie name cannot hold one.
          notes.push(`compute_sta: its noise movie "${movie}" has "=" in its name, which --noise-movie cannot take; rename ${movie}.npy`);
        } else {
          const path = stimulusFile(`${movie}.npy`);
          plan.noiseMovies.push(path.includes("=") ? `${movie}=${path}` : path);
        }
        break;
      }
      case "load_recording_with_eimage_sta":
        if (cmcr === undefined) notes.push("load_recording_with_eimage_sta reads the raw sensor data of the .cmcr, which the session does not name");
        break;
    }
  }
  if (input.labelledUnits) {
    notes.push(
      `${input.labelledUnits} cell-type label${input.labelledUnits === 1 ? "" : "s"} (units/<unit>/auto_label/axon_type): the CLI sets none; label in the page or with h5py`,
    );
  }
  return plan;
}

/** The value as `--param` reads it back: JSON, except text that is not JSON goes bare. */
function paramValue(value: unknown): string {
  if (typeof value === "string") {
    try {
      JSON.parse(value);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value) ?? "null";
}

function commandText(datasetId: string, plan: Plan): string {
  const lines = [
    `# Redoes session ${oneLine(datasetId)} in batch (hdmea-web, "Copy as command").`,
    "# Run it in a folder holding these files (the page knows file names, not folders):",
    ...plan.files.map((f) => `#   ${oneLine(f)}`),
    ...notesComment(plan.notes, "this command"),
  ];
  const words: string[][] = [["hdmea", "process", plan.recording, ...(plan.cmcr === undefined ? [] : ["--cmcr", plan.cmcr]), "--out", plan.out]];
  words.push(["--steps", plan.steps.length ? plan.steps.join(",") : "load_recording"]);
  if (plan.playlist !== undefined) words.push(["--playlist", plan.playlist]);
  if (plan.playlistName !== undefined) words.push(["--playlist-name", plan.playlistName]);
  if (plan.movieLength !== undefined) words.push(["--movie-length", plan.movieLength]);
  if (plan.stimulusConfig !== undefined) words.push(["--stimulus-config", plan.stimulusConfig]);
  for (const movie of plan.noiseMovies) words.push(["--noise-movie", movie]);
  for (const param of plan.params) words.push(["--param", param]);
  const body = words.map((line, i) => `${i ? "  " : ""}${line.map(shellQuote).join(" ")}`).join(" \\\n");
  return `${lines.join("\n")}\n${body}\n`;
}

function configText(datasetId: string, plan: Plan): string {
  const list = (items: readonly string[]) => `[${items.map(yamlString).join(", ")}]`;
  const lines = [
    `# workflow/config.yaml settings that redo session ${oneLine(datasetId)} (hdmea-web, "Copy as command").`,
    "# Paths are relative to the folder snakemake runs in, which holds these files:",
    ...plan.files.map((f) => `#   ${oneLine(f)}`),
    ...notesComment(plan.notes, "these settings"),
    // The workflow finds a .cmtr's partner beside it, as the page paired them.
    `recordings: ${list([plan.recording])}`,
    `out_dir: ${yamlString("results")}`,
    `steps: ${yamlString(plan.steps.length ? plan.steps.join(",") : "load_recording")}`,
    // Every input key, empty when unused, so settings from another config cannot leak in.
    `playlist: ${yamlString(plan.playlist ?? "")}`,
    `playlist_name: ${yamlString(plan.playlistName ?? "")}`,
    `movie_length: ${yamlString(plan.movieLength ?? "")}`,
    `stimulus_config: ${yamlString(plan.stimulusConfig ?? "")}`,
    `noise_movie: ${list(plan.noiseMovies)}`,
    `params: ${list(plan.params)}`,
    "extra_args: []",
  ];
  return `${lines.join("\n")}\n`;
}

function notesComment(notes: readonly string[], by: string): string[] {
  return notes.length ? [`# Not redone by ${by}:`, ...notes.map((n) => `#   - ${oneLine(n)}`)] : [];
}

/**
 * YAML's double-quoted style takes JSON strings; only the characters YAML itself treats as line
 * breaks or byte-order marks inside a scalar (C1 controls, U+2028/9, U+FEFF) must be escaped too.
 */
function yamlString(text: string): string {
  return JSON.stringify(text).replace(/[\u0080-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A comment line ends at a line break: show breaks in names instead of ending the comment. */
function oneLine(text: string): string {
  return text.replace(/\r/g, "\\r").replace(/\n/g, "\\n");
}

function describeParams(params: Record<string, unknown> | undefined): string {
  const entries = Object.entries(params ?? {}).filter(([k]) => !BOOKKEEPING.includes(k));
  if (!entries.length) return "no parameters recorded";
  const text = entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
  return text.length > 200 ? `${text.slice(0, 197)}…` : text;
}

function objectOr(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
