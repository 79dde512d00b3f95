/**
 * A generated recording pair for the bench entries that cache one between runs (openRecording.ts,
 * pairBench.ts): `<name>.cmcr` and `<name>-.cmtr` in `dir`.
 */
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { nodeRuntime } from "../src/io/h5node.ts";
import { writeRecordingPair, type RecordingOptions } from "../tools/recordingGenerator.ts";

/** Generated in a scratch folder first: an interrupted generation never leaves a half-written pair to be reused. */
export async function generateCachedPair(dir: string, name: string, options: Omit<RecordingOptions, "dir" | "name">): Promise<void> {
  const scratch = join(dir, `.generating-${name}-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  try {
    writeRecordingPair(await nodeRuntime(), { ...options, dir: scratch, name });
    renameSync(join(scratch, `${name}-.cmtr`), join(dir, `${name}-.cmtr`));
    renameSync(join(scratch, `${name}.cmcr`), join(dir, `${name}.cmcr`));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
