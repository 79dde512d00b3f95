/**
 * Running pipeline steps in the worker: the step list for the UI, run with progress, cancel, and an
 * optional checkpoint to browser storage after every completed step. Input files (playlist, movie
 * lengths, stimulus configs, noise movies) arrive as `File`s and are read here, so core stays pure.
 */
import { parseNpy } from "../core/npyArray.ts";
import { parsePlaylistCsv } from "../core/stimulusConfig/playlistCsv.ts";
import {
  ALL_STEPS,
  PIPELINE_STEPS,
  PipelineCancelledError,
  runPipeline,
  type PipelineInputs,
  type PipelineParams,
  type PipelineProgress,
  type PipelineReport,
} from "../core/pipeline.ts";
import type { PipelineSession } from "../core/session.ts";
import { summarizeSession, type SessionSummary } from "../core/sessionSummary.ts";
import { doing } from "./activity.ts";
import { throttledProgress } from "./progressThrottle.ts";

const EIMAGE_STEP = "load_recording_with_eimage_sta";

export interface StepInfo {
  name: string;
  description: string;
  defaults: Record<string, unknown>;
  prerequisites: string[][];
  /** Part of "Run all". */
  inAll: boolean;
}

export interface StepInputFiles {
  playlist?: File;
  movieLength?: File;
  /** `<movie>.json` files. */
  stimulusConfigs?: File[];
  /** `<movie>.npy` files (the noise movie for the STA). */
  stimulusMovies?: File[];
}

export interface RunStepsRequest {
  steps: "all" | string[];
  params?: PipelineParams;
  force?: boolean | string[];
  inputs?: StepInputFiles;
  /** Checkpoint to browser storage after every completed step. */
  checkpointEachStep?: boolean;
}

export interface RunStepsResult {
  report: PipelineReport;
  summary: SessionSummary;
  cancelled: boolean;
}

export type StepProgressCallback = (progress: PipelineProgress) => void;

/** Raw sensor frames for the eimage STA, read a block at a time; closed after the run. */
export type SensorInput = NonNullable<PipelineInputs["sensorData"]> & { close(): void };

export function pipelineOperations(
  sessionOf: (sessionId: string) => PipelineSession,
  checkpoint: (sessionId: string) => Promise<unknown>,
  /** The session's `.cmcr` sensor frames, when it was opened from one (undefined otherwise). */
  sensorOf: (sessionId: string) => Promise<SensorInput | undefined> = async () => undefined,
) {
  const running = new Map<string, AbortController>();

  return {
    async pipelineSteps(): Promise<StepInfo[]> {
      return PIPELINE_STEPS.map((step) => ({
        name: step.name,
        description: step.description,
        defaults: { ...(step.defaults as Record<string, unknown>) },
        prerequisites: step.prerequisites.map((group) => [...group]),
        inAll: (ALL_STEPS as readonly string[]).includes(step.name),
      }));
    },

    async runSteps(sessionId: string, request: RunStepsRequest, onProgress?: StepProgressCallback): Promise<RunStepsResult> {
      const session = sessionOf(sessionId);
      if (running.has(sessionId)) throw new Error(`steps are already running on session ${session.datasetId}`);
      const controller = new AbortController();
      running.set(sessionId, controller);
      let sensor: SensorInput | undefined;
      try {
        doing("reading the step inputs", session.datasetId);
        const inputs = await readInputs(request.inputs ?? {});
        if (request.steps !== "all" && request.steps.includes(EIMAGE_STEP)) {
          sensor = await sensorOf(sessionId);
          if (sensor) inputs.sensorData = sensor;
        }
        const toPage = onProgress && throttledProgress(onProgress, (p) => p.step, (p) => p.stepFraction >= 1);
        const report = await runPipeline(session, {
          steps: request.steps,
          params: request.params,
          force: request.force,
          inputs,
          signal: controller.signal,
          onProgress: (progress) => {
            doing(`${progress.step}: ${progress.message}`, session.datasetId);
            toPage?.(progress);
          },
          onStepDone: async (step) => {
            if (request.checkpointEachStep && step.status === "completed") await checkpoint(sessionId);
          },
        });
        return { report, summary: summarizeSession(session), cancelled: false };
      } catch (error) {
        // Cancelling is a normal outcome: the session is as it was before the cancelled step.
        if (error instanceof PipelineCancelledError) {
          return { report: error.report, summary: summarizeSession(session), cancelled: true };
        }
        throw error;
      } finally {
        sensor?.close();
        running.delete(sessionId);
      }
    },

    async cancelSteps(sessionId: string): Promise<void> {
      running.get(sessionId)?.abort();
    },

    /** The playlists a playlist table offers, so the page can offer a choice instead of a text box. */
    async playlistNames(file: File): Promise<string[]> {
      return [...parsePlaylistCsv(await file.text(), file.name).byName.keys()];
    },
  };
}

async function readInputs(files: StepInputFiles): Promise<PipelineInputs> {
  const inputs: PipelineInputs = {};
  if (files.playlist) inputs.playlistCsv = { name: files.playlist.name, text: await files.playlist.text() };
  if (files.movieLength) inputs.movieLengthCsv = { name: files.movieLength.name, text: await files.movieLength.text() };
  if (files.stimulusConfigs?.length) {
    inputs.stimulusConfigs = {};
    for (const file of files.stimulusConfigs) inputs.stimulusConfigs[file.name] = await file.text();
  }
  if (files.stimulusMovies?.length) {
    inputs.stimulusMovies = {};
    for (const file of files.stimulusMovies) {
      // A noise movie is small (e.g. 10,800 × 15 × 15 bytes): reading it whole is fine.
      inputs.stimulusMovies[file.name.replace(/\.npy$/i, "")] = parseNpy(new Uint8Array(await file.arrayBuffer()), file.name);
    }
  }
  return inputs;
}
