/**
 * Node-side helpers for the end-to-end tests: make the files a scientist would drop, and read back
 * what the page gave us, with the same io/ code the CLI uses.
 */
import { expect, type Locator } from "@playwright/test";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PipelineSession } from "../../src/core/session.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { readSessionFile, type ReadSessionResult } from "../../src/io/sessionFile.ts";
import { checkpointSession } from "../../src/io/sessionStore.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";
import { writeRecordingPair, type GeneratedRecording } from "../../tools/recordingGenerator.ts";

export { sessionDiff } from "../fixtures/sessionDiff.ts";

/** The example stimulus inputs, copied into the repository so the tests run from any checkout. */
export const STIMULUS = join(import.meta.dirname, "../../tools/stimulus");

/** Gives the Pipeline panel the example playlist (demo_set_a), movie lengths and trial configs. */
export async function giveExampleStimulus(pipeline: Locator): Promise<void> {
  await pipeline.getByLabel("Playlist table (CSV)").setInputFiles(join(STIMULUS, "playlist.example.csv"));
  await expect(pipeline.getByLabel("Playlist", { exact: true })).toHaveValue("demo_set_a");
  await pipeline.getByLabel("Movie lengths (CSV)").setInputFiles(join(STIMULUS, "movie_length.example.csv"));
  await pipeline
    .getByLabel("Stimulus configs (JSON)")
    .setInputFiles(readdirSync(join(STIMULUS, "stimuli")).map((name) => join(STIMULUS, "stimuli", name)));
}

export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), "hdmea-e2e-"));
}

/** A small session written as a checkpoint `.h5`, and the session it holds. */
export async function checkpointFixture(dir: string, units = 40, seed = 7): Promise<{ session: PipelineSession; path: string }> {
  const rt = await nodeRuntime();
  const session = randomSession({ units, maxSpikes: 300, seed, now: fakeClock() });
  session.warn("fixture warning: light reference channel 2 is flat");
  const path = join(dir, `${session.datasetId}-checkpoint.h5`);
  checkpointSession(rt, session, path, { checkpointName: "before_features" });
  return { session, path };
}

export async function recordingFixture(dir: string, name = "rec-e2e"): Promise<GeneratedRecording> {
  const rt = await nodeRuntime();
  return writeRecordingPair(rt, { dir, name, units: 6, minutes: 0.25, seed: 11 });
}

export async function readBack(path: string): Promise<ReadSessionResult> {
  return readSessionFile(await nodeRuntime(), path);
}
