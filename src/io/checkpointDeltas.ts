/**
 * Checkpoints that write what changed. A checkpoint is a base file (a full session file, as a save
 * writes it, marked with a random `@checkpoint_token`) plus numbered delta files beside it:
 *
 *   OUT.checkpoint.h5       the base: the whole session when it was written
 *   OUT.checkpoint.d1.h5    the subtrees that changed since the base (sessionFile.ts: writeDeltaFile)
 *   OUT.checkpoint.d2.h5    … since d1, and so on
 *
 * The first checkpoint of a session (or after a resume from another file) is a base; each later
 * one to the same place is the next delta, holding the groups `SessionChanges` (core) collected
 * from the session's change reports, plus the steps, warnings and source files. Every file is
 * written under a temporary name and renamed into place when complete, so a crash midway leaves the
 * checkpoint as it was; a delta names the base's token and its own number, so a leftover of an
 * older checkpoint (a crash between writing a new base and removing the old deltas) is never applied.
 *
 * HDF5 files cannot be edited safely in place (and h5wasm cannot unlink a group), which is why
 * changes go to new files rather than into the base. When the deltas together pass
 * `COMPACT_FRACTION` of the base, the next checkpoint writes a new base instead and removes them,
 * unless the session still reads arrays from the base (a session opened from it): that file is
 * never written over while in use, so such a session keeps adding deltas.
 *
 * Resume (`loadSession`) reads the base and applies the deltas in order. An export must be one
 * ordinary file: `writeCheckpointAsOneFile`.
 */
import { SessionChanges } from "../core/checkpointChanges.ts";
import type { PipelineSession } from "../core/session.ts";
import { sourcesInUse } from "../core/sessionSources.ts";
import { writeAtomically } from "./atomicWrite.ts";
import { baseName, fileExists, fileSize, type H5Runtime } from "./h5.ts";
import { applyDeltaFile, readSessionFile, writeDeltaFile, writeSessionFile, type ReadSessionOptions, type ReadSessionResult, type WriteSessionOptions } from "./sessionFile.ts";

/** Past this share of the base, the deltas are folded into a new base at the next checkpoint. */
export const COMPACT_FRACTION = 0.5;

/** For the bench's "every checkpoint a full copy" baseline: a negative fraction compacts every time. */
export const checkpointDeltaSettings = { compactFraction: COMPACT_FRACTION };

/** `OUT.checkpoint.h5` → `OUT.checkpoint.d3.h5` for delta 3. */
export function deltaFileName(base: string, index: number): string {
  return /\.h5$/i.test(base) ? base.replace(/\.h5$/i, `.d${index}.h5`) : `${base}.d${index}.h5`;
}

/** The base a delta file name belongs to, and its number; undefined for any other name. */
export function deltaBaseOf(path: string): { base: string; index: number } | undefined {
  const match = /^(.*)\.d(\d+)\.h5$/i.exec(path);
  return match ? { base: `${match[1]}.h5`, index: Number(match[2]) } : undefined;
}

/** What the next checkpoint of a session to a place is. */
export type CheckpointPlan =
  | { kind: "full"; token: string }
  | { kind: "delta"; token: string; index: number; paths: string[] };

interface Chain {
  /** Where the checkpoint is (a path, or a name in browser storage). */
  key: string;
  token: string;
  /** Number of the next delta. */
  next: number;
  baseBytes: number;
  deltaBytes: number;
  changes: SessionChanges;
}

const chains = new WeakMap<PipelineSession, Chain>();

export interface PlanOptions {
  /** False when the checkpoint at `key` is not the one this session last wrote (gone, replaced). */
  intact?: (chain: { token: string; next: number; baseBytes: number }) => boolean;
  /** True when the session reads arrays from the base: it is then never replaced. */
  readsFromBase?: boolean;
  compactFraction?: number;
}

export function planCheckpoint(session: PipelineSession, key: string, options: PlanOptions = {}): CheckpointPlan {
  const chain = chains.get(session);
  if (!chain || chain.key !== key || !(options.intact?.(chain) ?? true)) return { kind: "full", token: newToken() };
  const overgrown = chain.deltaBytes > (options.compactFraction ?? checkpointDeltaSettings.compactFraction) * chain.baseBytes;
  if (overgrown && !options.readsFromBase) return { kind: "full", token: newToken() };
  return { kind: "delta", token: chain.token, index: chain.next, paths: chain.changes.pending() };
}

/** Records a checkpoint that reached its place: the changes start over from it. */
export function checkpointWritten(session: PipelineSession, key: string, plan: CheckpointPlan, bytes: number): void {
  if (plan.kind === "full") {
    chains.get(session)?.changes.close();
    chains.set(session, { key, token: plan.token, next: 1, baseBytes: bytes, deltaBytes: 0, changes: new SessionChanges(session) });
    return;
  }
  const chain = chains.get(session)!;
  chain.next = plan.index + 1;
  chain.deltaBytes += bytes;
  chain.changes.clear();
}

/** A session read from a checkpoint continues it: its next checkpoint there is a delta. */
export function resumedFrom(session: PipelineSession, key: string, token: string, deltas: number, baseBytes: number, deltaBytes: number): void {
  chains.get(session)?.changes.close();
  chains.set(session, { key, token, next: deltas + 1, baseBytes, deltaBytes, changes: new SessionChanges(session) });
}

/** Stops tracking (the checkpoint was removed or the session closed): the next checkpoint is a base. */
export function forgetCheckpoint(session: PipelineSession): void {
  chains.get(session)?.changes.close();
  chains.delete(session);
}

function newToken(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

// ---- Checkpoints as files on `rt.fs` (Node paths, or a scratch file system in the worker) ----

export interface CheckpointWrite {
  kind: "full" | "delta";
  /** The file written: the base, or the delta. */
  path: string;
  bytes: number;
  /** Delta number (0 for a base). */
  index: number;
}

/** The base file as this session last wrote or read it (size and time): another writer changes it. */
const baseStamps = new WeakMap<PipelineSession, string>();

function stampOf(rt: H5Runtime, path: string): string | undefined {
  if (!fileExists(rt, path)) return undefined;
  const stat = rt.fs.stat(path, false) as unknown as { size: number; mtime: Date | number };
  return `${stat.size}:${stat.mtime instanceof Date ? stat.mtime.getTime() : Number(stat.mtime)}`;
}

/** Writes the session's next checkpoint at `path` (a base or a delta, see above), atomically. */
export function writeCheckpointFiles(rt: H5Runtime, session: PipelineSession, path: string, options: WriteSessionOptions): CheckpointWrite {
  const plan = planCheckpoint(session, path, {
    intact: (chain) =>
      stampOf(rt, path) === baseStamps.get(session) &&
      (chain.next === 1 || fileExists(rt, deltaFileName(path, chain.next - 1))) &&
      !fileExists(rt, deltaFileName(path, chain.next)),
    readsFromBase: readsFrom(session, path),
  });
  if (plan.kind === "full") {
    writeAtomically(rt, session, path, (tmp) => writeSessionFile(rt, tmp, session, { ...options, checkpointToken: plan.token }));
    // The new base's token no longer matches them: removing them is tidying, not correctness.
    try {
      removeDeltaFiles(rt, path);
    } catch {
      // Left behind, they are never applied; the next checkpoint finds one in its way and writes a full copy.
    }
    const bytes = fileSize(rt, path);
    checkpointWritten(session, path, plan, bytes);
    baseStamps.set(session, stampOf(rt, path)!);
    return { kind: "full", path, bytes, index: 0 };
  }
  const target = deltaFileName(path, plan.index);
  writeAtomically(rt, session, target, (tmp) => writeDeltaFile(rt, tmp, session, { of: plan.token, index: plan.index, paths: plan.paths }, options));
  const bytes = fileSize(rt, target);
  checkpointWritten(session, path, plan, bytes);
  return { kind: "delta", path: target, bytes, index: plan.index };
}

export interface CheckpointPlace {
  /** Where delta `index` is mounted (default: `deltaFileName` beside the base). */
  deltaPath?: (index: number) => string;
  /** The key the session's next checkpoint there uses (default: the base's path). */
  key?: string;
}

/** Reads a checkpoint (or any session file) and the deltas that follow it, in order. */
export function readCheckpointFiles(rt: H5Runtime, path: string, options: ReadSessionOptions = {}, place: CheckpointPlace = {}): ReadSessionResult & { deltas: number } {
  const result = readSessionFile(rt, path, options);
  const token = result.checkpointToken;
  if (token === undefined) return { ...result, deltas: 0 };
  const nameOf = place.deltaPath ?? ((index: number) => deltaFileName(path, index));
  let deltaBytes = 0;
  let index = 1;
  for (; ; index++) {
    const delta = nameOf(index);
    if (!fileExists(rt, delta)) break;
    const applied = applyDeltaFile(rt, delta, result.session, { of: token, index });
    if (!applied) break;
    deltaBytes += fileSize(rt, delta);
    if (applied.savedAt !== undefined) result.savedAt = applied.savedAt;
    if (applied.checkpointName !== undefined) result.checkpointName = applied.checkpointName;
  }
  resumedFrom(result.session, place.key ?? path, token, index - 1, fileSize(rt, path), deltaBytes);
  const stamp = stampOf(rt, path);
  if (stamp !== undefined) baseStamps.set(result.session, stamp);
  return { ...result, deltas: index - 1 };
}

/** The checkpoint at `path` with its deltas, as one ordinary session file at `out` (an export). */
export function writeCheckpointAsOneFile(rt: H5Runtime, path: string, out: string, deltaPath?: (index: number) => string): void {
  const { session, savedAt, checkpointName } = readCheckpointFiles(rt, path, {}, { deltaPath });
  forgetCheckpoint(session);
  writeSessionFile(rt, out, session, { savedAt: savedAt ?? session.timestamp(), checkpointName });
}

/** Every delta file beside the base at `path` (and half-written ones), whatever their token. */
export function deltaFilesBeside(rt: H5Runtime, path: string): string[] {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  const prefix = baseName(deltaFileName(path, 0)).replace(/0\.h5$/, "");
  let names: string[];
  try {
    names = rt.fs.readdir(dir) as string[];
  } catch {
    return [];
  }
  const pattern = new RegExp(`^${escapeRegExp(prefix)}\\d+\\.h5(\\.partial-[a-z0-9]+)?$`, "i");
  return names.filter((n) => pattern.test(n)).map((n) => (slash >= 0 ? `${path.slice(0, slash)}/${n}` : n));
}

export function removeDeltaFiles(rt: H5Runtime, path: string): void {
  for (const delta of deltaFilesBeside(rt, path)) rt.fs.unlink(delta);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function readsFrom(session: PipelineSession, path: string): boolean {
  return sourcesInUse(session).some((source) => {
    const file = source as { path?: string; isAt?: (path: string) => boolean };
    return file.isAt ? file.isAt(path) : file.path === path;
  });
}

