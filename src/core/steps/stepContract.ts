/**
 * The contract every analysis step follows, so the runner (`core/pipeline.ts`) can skip, re-run,
 * cancel and roll back any of them the same way.
 *
 * | member            | meaning                                                                          |
 * |-------------------|----------------------------------------------------------------------------------|
 * | `name`            | the lab's step name, recorded in `completed_steps`                                |
 * | `defaults`        | every parameter with its default; the one place they are defined                 |
 * | `validate(p)`     | problems with resolved parameters (checked before anything runs)                 |
 * | `prerequisites`   | groups of step names; each group needs one of its names completed                |
 * | `dependsOn`       | steps whose outputs this step reads: re-running one of them invalidates this one |
 * | `fingerprint(…)`  | a digest of the caller-supplied inputs the step reads (changed → re-run)         |
 * | `run(s, p, ctx)`  | computes WITHOUT touching the session and returns a commit                       |
 *
 * Because `run` only reads the session and returns its changes as a `StepCommit`, a step that is
 * cancelled or throws leaves the session exactly as it was; the runner applies the commit, the
 * warnings and `markStepComplete` in one `session.batch`.
 */
import type { NDArray } from "../ndarray.ts";
import type { PipelineSession } from "../session.ts";
import type { StepProgress } from "../stepProgress.ts";

/** A text file the caller read: its name is used in error messages. */
export interface TextInput {
  name: string;
  text: string;
}

/**
 * File contents the steps need. The caller (CLI, worker) reads files; the core never does.
 */
export interface PipelineInputs {
  /** The playlist table (`playlist.csv`) for `add_section_time`. */
  playlistCsv?: TextInput;
  /** The movie-length table (`movie_length.csv`) for `add_section_time`. */
  movieLengthCsv?: TextInput;
  /** Stimulus configs by movie name (`step_flash_4s_4i_2x` or `step_flash_4s_4i_2x.json`) → JSON text. */
  stimulusConfigs?: Record<string, string>;
  /** Stimulus movies (`<movie>.npy` contents) by movie name: [frames, H, W], normally uint8. */
  stimulusMovies?: Record<string, NDArray>;
}

export interface StepContext {
  inputs: PipelineInputs;
  progress: StepProgress;
  /** True when the step runs again over its own earlier results (any `rerun` reason) or was forced. */
  force: boolean;
  /** Why a completed step runs again: forced by the caller, its parameters or inputs changed, or a
   * step it depends on was re-run. */
  rerun?: "forced" | "parameters" | "upstream";
}

export interface StepCommit {
  /** Applies the step's results to the session. Must not throw (plain assignments only). */
  apply: (session: PipelineSession) => void;
  /** Warnings to record on the session with the step's results. */
  warnings: string[];
  /** What the step found, recorded beside its parameters (e.g. number of sections). */
  summary?: Record<string, unknown>;
}

export interface PipelineStep<P extends object = Record<string, unknown>> {
  name: string;
  description: string;
  defaults: P;
  validate?: (params: P) => string[];
  prerequisites: readonly (readonly string[])[];
  dependsOn: readonly string[];
  /** Missing prerequisites throw instead of warning (the lab's `extract_features`). */
  prerequisiteThrows?: boolean;
  fingerprint?: (params: P, inputs: PipelineInputs, session: PipelineSession) => string | undefined;
  run: (session: PipelineSession, params: P, ctx: StepContext) => Promise<StepCommit>;
}

/**
 * Thrown by a step that cannot run on this session or with these inputs and, like the original in
 * session mode, gives up with a warning: the session is unchanged and the step is not marked complete.
 */
export class StepBailout extends Error {
  override name = "StepBailout";
}

/** Any of the load steps: the lab's two loaders and the universal HDF5 loader. */
export const LOAD_STEPS = ["load_recording", "load_recording_with_eimage_sta", "load_from_hdf5"] as const;

/** FNV-1a 32-bit of strings / bytes: cheap identity of caller inputs (not security). */
export function fnv1a(parts: readonly (string | ArrayBufferView)[]): string {
  let h = 0x811c9dc5;
  const mix = (byte: number) => {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const part of parts) {
    if (typeof part === "string") {
      for (let i = 0; i < part.length; i++) {
        const c = part.charCodeAt(i);
        mix(c & 0xff);
        mix(c >>> 8);
      }
    } else {
      const bytes = new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
      for (let i = 0; i < bytes.length; i++) mix(bytes[i]);
    }
    mix(0x1f); // separator, so ["ab", "c"] ≠ ["a", "bc"]
  }
  return h.toString(16).padStart(8, "0");
}
