/**
 * The pipeline panel's state for one recording: input files, parameter edits, and the run in
 * progress (progress, time left, cancel). Work happens in the worker; this only asks and shows.
 */
import type {
  PipelineProgress,
  RunStepsResult,
  SessionSummary,
  StepInfo,
  StepReport,
  WorkerClient,
} from "../worker/client.ts";
import { appUrl } from "../worker/appUrl.ts";
import { errorText } from "./failureMessage.ts";

/** public/demo/stimulus/index.json: file names of the demo's stimulus inputs. */
interface DemoStimulusIndex {
  playlist: string;
  playlistName: string;
  movieLength: string;
  configs: string[];
  movies: string[];
}

export class PipelineRun {
  steps = $state.raw<StepInfo[]>([]);
  playlist = $state.raw<File | undefined>();
  playlistNames = $state<string[]>([]);
  playlistName = $state("");
  movieLength = $state.raw<File | undefined>();
  stimulusConfigs = $state.raw<File[]>([]);
  stimulusMovies = $state.raw<File[]>([]);
  checkpointEachStep = $state(true);
  /** Edited parameter values as typed, by step and name; parsed against the default's type on run. */
  edits = $state<Record<string, Record<string, string>>>({});
  running = $state<string | undefined>();
  progress = $state.raw<PipelineProgress | undefined>();
  startedAt = $state(0);
  now = $state(0);
  lastReport = $state.raw<StepReport[]>([]);
  error = $state<string | undefined>();

  /** Seconds left, from the pace so far (undefined until there is a pace to go by). */
  readonly secondsLeft = $derived.by(() => {
    const f = this.progress?.fraction ?? 0;
    if (!this.running || f <= 0.02) return undefined;
    const elapsed = (this.now - this.startedAt) / 1000;
    return Math.max(0, (elapsed * (1 - f)) / f);
  });

  constructor(private readonly client: WorkerClient) {}

  async loadSteps(): Promise<void> {
    if (!this.steps.length) this.steps = await this.client.pipelineSteps();
  }

  async setPlaylist(file: File | undefined): Promise<void> {
    this.playlist = file;
    this.playlistNames = [];
    this.error = undefined;
    if (!file) return;
    try {
      this.playlistNames = await this.client.playlistNames(file);
      if (!this.playlistNames.includes(this.playlistName)) this.playlistName = this.playlistNames[0] ?? "";
    } catch (error) {
      this.error = errorText(error);
    }
  }

  /**
   * The demo recording's stimulus inputs, served with the app (public/demo/stimulus/, written by
   * `npm run make-demo`): `index.json` names the playlist (and which one), the movie-length table,
   * the trial configs and the noise movies.
   */
  async useDemoInputs(): Promise<void> {
    const fetchFile = async (name: string) => {
      const response = await fetch(appUrl(`demo/stimulus/${name}`));
      if (!response.ok) throw new Error(`demo stimulus file ${name} could not be fetched (HTTP ${response.status})`);
      return new File([await response.blob()], name);
    };
    try {
      const index = (await (await fetchFile("index.json")).text().then(JSON.parse)) as DemoStimulusIndex;
      const [playlist, lengths, ...rest] = await Promise.all([index.playlist, index.movieLength, ...index.movies, ...index.configs].map(fetchFile));
      this.movieLength = lengths;
      this.stimulusMovies = rest.slice(0, index.movies.length);
      this.stimulusConfigs = rest.slice(index.movies.length);
      this.playlistName = index.playlistName;
      await this.setPlaylist(playlist);
    } catch (error) {
      this.error = errorText(error);
    }
  }

  paramText(step: StepInfo, name: string): string {
    return this.edits[step.name]?.[name] ?? JSON.stringify(step.defaults[name]);
  }

  editParam(step: string, name: string, text: string): void {
    this.edits[step] = { ...this.edits[step], [name]: text };
  }

  /** Runs `steps` on the session; resolves with the new summary (undefined if it failed). */
  async run(sessionId: string, steps: "all" | string[]): Promise<SessionSummary | undefined> {
    this.error = undefined;
    let params: Record<string, Record<string, unknown>>;
    try {
      params = this.parsedParams();
    } catch (error) {
      this.error = errorText(error);
      return undefined;
    }
    if (this.playlistName) params.add_section_time = { ...params.add_section_time, playlist_name: this.playlistName };
    this.running = steps === "all" ? "all steps" : steps.join(", ");
    this.progress = undefined;
    this.startedAt = this.now = performance.now();
    const tick = setInterval(() => (this.now = performance.now()), 500);
    try {
      const result: RunStepsResult = await this.client.runSteps(
        sessionId,
        {
          steps,
          params,
          checkpointEachStep: this.checkpointEachStep,
          inputs: {
            playlist: this.playlist,
            movieLength: this.movieLength,
            stimulusConfigs: this.stimulusConfigs,
            stimulusMovies: this.stimulusMovies,
          },
        },
        (p) => (this.progress = p),
      );
      this.lastReport = result.report.steps;
      if (result.cancelled) this.error = "Cancelled: the session is as it was before the cancelled step.";
      return result.summary;
    } catch (error) {
      this.error = errorText(error);
      return undefined;
    } finally {
      clearInterval(tick);
      this.running = undefined;
    }
  }

  cancel(sessionId: string): Promise<void> {
    return this.client.cancelSteps(sessionId);
  }

  /** Edited values keep the default's type: numbers, booleans, arrays are JSON; strings may be bare. */
  private parsedParams(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [stepName, values] of Object.entries(this.edits)) {
      const step = this.steps.find((s) => s.name === stepName);
      for (const [name, text] of Object.entries(values)) {
        const fallback = step?.defaults[name];
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          if (typeof fallback === "string" || fallback === null) value = text;
          else throw new Error(`${stepName}: ${name} = "${text}" is not a valid ${typeof fallback}`);
        }
        if (fallback !== null && fallback !== undefined && typeof value !== typeof fallback) {
          throw new Error(`${stepName}: ${name} must be a ${Array.isArray(fallback) ? "list" : typeof fallback}, got ${text}`);
        }
        (out[stepName] ??= {})[name] = value;
      }
    }
    return out;
  }
}
