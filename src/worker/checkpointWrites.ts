/**
 * Checkpoints in browser storage that write what changed (io/checkpointDeltas.ts, which decides
 * what each holds, as for the CLI's): the first checkpoint of a session is a full copy, each later
 * one a delta file beside it (checkpointStore.ts names and locks them). Each is written into a scratch
 * file, then moved or copied into browser storage. A session continues only the checkpoint it wrote
 * or resumed last: if the stored one changed since (another tab wrote it, or it was deleted), the
 * next checkpoint is a full copy again, and a delta that lost a race with another tab's full copy
 * names the old copy's token and is never applied.
 */
import type { PipelineSession } from "../core/session.ts";
import { sourcesInUse } from "../core/sessionSources.ts";
import type { H5Runtime } from "../io/h5.ts";
import { checkpointWritten, forgetCheckpoint, planCheckpoint, writeCheckpointContent, type CheckpointPlan } from "../io/checkpointDeltas.ts";
import { warmUpWriter } from "../io/writerWarmUp.ts";
import { CheckpointReplacedError, checkpointStamp, storeCheckpoint, storeCheckpointDelta, type CheckpointInfo, type CheckpointStamp } from "./checkpointStore.ts";
import type { ScratchFile } from "./workerFs.ts";

export async function planBrowserCheckpoint(session: PipelineSession, name: string): Promise<CheckpointPlan> {
  const now = await checkpointStamp(name);
  return planCheckpoint(session, name, {
    // The stored checkpoint is the one this session wrote or resumed last: the same base, and the deltas it added.
    intact: (chain) => now !== undefined && now.base === chain.stamp && now.deltas === chain.next - 1,
    // A session opened lazily from the checkpoint reads from it: that file is never replaced.
    readsFromBase: sourcesInUse(session).some((source) => source.name === name),
  });
}

/**
 * Writes the planned checkpoint into `scratch`, then into browser storage at the plan's name. A
 * delta planned on a checkpoint another tab has replaced since fails with `CheckpointReplacedError`,
 * nothing written; planned again, it is a full copy.
 */
export async function storeBrowserCheckpoint(
  rt: H5Runtime,
  session: PipelineSession,
  plan: CheckpointPlan,
  scratch: ScratchFile,
  copying: () => void,
): Promise<{ info: CheckpointInfo; kind: CheckpointPlan["kind"]; bytes: number }> {
  writeCheckpointContent(rt, session, plan, scratch.path);
  const bytes = scratch.size();
  copying();
  // Moved into place where the browser can (no copy of the bytes), else copied.
  const name = plan.key;
  const source = scratch.movable ? scratch.movable() : await scratch.file(name);
  let stored;
  try {
    stored =
      plan.kind === "full"
        ? await storeCheckpoint(source, name)
        : await storeCheckpointDelta(source, name, plan.index, { base: plan.stamp!, deltas: plan.index - 1 });
  } catch (error) {
    // Another tab replaced the checkpoint since the plan: the next checkpoint of this session is a full copy.
    if (error instanceof CheckpointReplacedError) forgetCheckpoint(session);
    throw error;
  }
  checkpointWritten(session, plan, bytes, stored.stamp.base);
  return { info: stored.info, kind: plan.kind, bytes };
}

/**
 * A session resumed from checkpoint `name`, read with `before` as the base's stamp (taken just
 * before the read, `CheckpointPlace.stamp`), continues it only if the checkpoint did not change
 * while it was read.
 */
export async function resumedBrowserCheckpoint(session: PipelineSession, name: string, before: CheckpointStamp | undefined): Promise<void> {
  const after = await checkpointStamp(name);
  if (!before || !after || before.base !== after.base || before.deltas !== after.deltas) forgetCheckpoint(session);
}

let warmingUp = false;

/**
 * Once per worker, after the first session opened: HDF5's write path is tiered up in the idle time
 * before the user runs steps (io/writerWarmUp.ts), so the first checkpoint does not run it cold.
 * Only in a worker: Node tests that import the API have no idle page to fill.
 */
export function warmUpCheckpointWriter(rt: H5Runtime): void {
  if (warmingUp || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === "undefined") return;
  warmingUp = true;
  setTimeout(() => void warmUpWriter(rt).catch(() => undefined), 0);
}
