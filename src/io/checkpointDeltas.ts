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
 * from the session's change reports, plus the steps, warnings and source files. A delta names the
 * base's token and its own number, so a leftover of an older checkpoint (a crash between writing a
 * new base and removing the old deltas) is never applied.
 *
 * HDF5 files cannot be edited safely in place (and h5wasm cannot unlink a group), which is why
 * changes go to new files rather than into the base. When the deltas together pass
 * `COMPACT_FRACTION` of the base, the next checkpoint writes a new base instead and removes them,
 * unless the session still reads arrays from the base (a session opened from it): that file is
 * never written over while in use, so such a session keeps adding deltas.
 *
 * What a checkpoint holds is decided here once, for the CLI and the browser alike:
 * `planCheckpoint` (a base or the next delta, and what that delta holds), `writeCheckpointContent`
 * (its file: token or delta header, `saved_at`, `checkpoint_name`), `checkpointWritten` (the session
 * continues from it). Where the files go is its storage's, which tells the plan whether the stored
 * checkpoint is still the one this session left (`intact`, against the stamp recorded here):
 * `writeCheckpointFiles` below for files beside a path (the CLI: each file under a temporary name,
 * renamed into place when complete, so a crash midway leaves the checkpoint as it was), and
 * worker/checkpointWrites.ts for browser storage (names, locks and another tab's writes:
 * worker/checkpointStore.ts).
 *
 * Resume (`loadSession`) reads the base and applies the deltas in order. An export must be one
 * ordinary file: `writeCheckpointAsOneFile`.
 */
import { changedArrayBytes, SessionChanges } from "../core/checkpointChanges.ts";
import type { PipelineSession } from "../core/session.ts";
import { sourcesInUse } from "../core/sessionSources.ts";
import { writeAtomically } from "./atomicWrite.ts";
import { baseName, fileExists, fileSize, type H5Runtime } from "./h5.ts";
import type { WriteOptions } from "./h5Tree.ts";
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

/** What the next checkpoint of a session to a place (`key`) is. */
export type CheckpointPlan =
  | { kind: "full"; key: string; token: string }
  | {
      kind: "delta";
      key: string;
      /** The base it follows: its token, and its stamp as this session left it. */
      token: string;
      stamp: string | undefined;
      index: number;
      /** The subtrees it holds (`SessionChanges`). */
      paths: string[];
    };

interface Chain {
  /** Where the checkpoint is (a path, or a name in browser storage). */
  key: string;
  token: string;
  /**
   * The base as this session last wrote or read it, in its storage's terms (size and time): another
   * writer changes it. Undefined where the storage has none to give.
   */
  stamp: string | undefined;
  /** Number of the next delta. */
  next: number;
  baseBytes: number;
  deltaBytes: number;
  changes: SessionChanges;
}

const chains = new WeakMap<PipelineSession, Chain>();

export interface PlanOptions {
  /**
   * False when the checkpoint at `key` is not the one this session last left (gone, replaced, or
   * not `next - 1` deltas after a base of this `stamp`): asked of its storage.
   */
  intact?: (chain: { token: string; stamp: string | undefined; next: number; baseBytes: number }) => boolean;
  /** True when the session reads arrays from the base: it is then never replaced. */
  readsFromBase?: boolean;
  compactFraction?: number;
}

export function planCheckpoint(session: PipelineSession, key: string, options: PlanOptions = {}): CheckpointPlan {
  const chain = chains.get(session);
  if (!chain || chain.key !== key || !(options.intact?.(chain) ?? true)) return { kind: "full", key, token: newToken() };
  const paths = chain.changes.pending();
  // Compacting rewrites the whole session (7 GB for a 1,000-unit hour): only worth it when there is
  // something to write. Nothing changed (a checkpoint right after another, as a download takes):
  // a delta of the header alone.
  const overgrown = chain.deltaBytes > (options.compactFraction ?? checkpointDeltaSettings.compactFraction) * chain.baseBytes;
  if (overgrown && paths.length > 0 && !options.readsFromBase) return { kind: "full", key, token: newToken() };
  return { kind: "delta", key, token: chain.token, stamp: chain.stamp, index: chain.next, paths };
}

/** A lower bound of the bytes the planned checkpoint writes (`fullBytes` for a full copy), for the room check before it. */
export function plannedBytes(session: PipelineSession, plan: CheckpointPlan, fullBytes: number): number {
  return plan.kind === "full" ? fullBytes : changedArrayBytes(session, plan.paths);
}

export interface CheckpointContentOptions {
  /** `session_info/@checkpoint_name`; by default the checkpoint's name without `.h5` (in browser storage, the dataset id). */
  checkpointName?: string;
  /** Passed to the writer (slice size, compression); tests use it to inject faults. */
  write?: Partial<WriteOptions>;
}

/**
 * Writes the planned checkpoint, its base or its next delta, as a new file at `path`, whatever the
 * storage it then goes to. Both carry the session's header with the time the checkpoint was taken
 * as `saved_at` (not the last save's, the original's quirk) and its `checkpoint_name`; the base is
 * marked with the plan's token, and a delta names that token, its number and the subtrees it holds.
 */
export function writeCheckpointContent(rt: H5Runtime, session: PipelineSession, plan: CheckpointPlan, path: string, options: CheckpointContentOptions = {}): void {
  const header: WriteSessionOptions = {
    ...options.write,
    savedAt: session.timestamp(),
    checkpointName: options.checkpointName ?? baseName(plan.key).replace(/\.h5$/i, ""),
  };
  if (plan.kind === "full") writeSessionFile(rt, path, session, { ...header, checkpointToken: plan.token });
  else writeDeltaFile(rt, path, session, { of: plan.token, index: plan.index, paths: plan.paths }, header);
}

/**
 * Records a checkpoint that reached its place: the changes start over from it. `stamp` is the
 * storage's stamp of the new base, after a full copy (a delta leaves the base as it was).
 */
export function checkpointWritten(session: PipelineSession, plan: CheckpointPlan, bytes: number, stamp?: string): void {
  if (plan.kind === "full") {
    chains.get(session)?.changes.close();
    chains.set(session, { key: plan.key, token: plan.token, stamp, next: 1, baseBytes: bytes, deltaBytes: 0, changes: new SessionChanges(session) });
    return;
  }
  const chain = chains.get(session)!;
  chain.next = plan.index + 1;
  chain.deltaBytes += bytes;
  chain.changes.clear();
}

/** A session read from a checkpoint continues it: its next checkpoint there is a delta. */
function resumedFrom(session: PipelineSession, resumed: Omit<Chain, "changes">): void {
  chains.get(session)?.changes.close();
  chains.set(session, { ...resumed, changes: new SessionChanges(session) });
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

/** A file's stamp (size and time): another writer changes it. */
function stampOf(rt: H5Runtime, path: string): string | undefined {
  if (!fileExists(rt, path)) return undefined;
  const stat = rt.fs.stat(path, false) as unknown as { size: number; mtime: Date | number };
  return `${stat.size}:${stat.mtime instanceof Date ? stat.mtime.getTime() : Number(stat.mtime)}`;
}

/** The session's next checkpoint at `path`: the files there are the ones it left (its base unchanged, its last delta and no later one). */
export function planCheckpointFiles(rt: H5Runtime, session: PipelineSession, path: string): CheckpointPlan {
  return planCheckpoint(session, path, {
    intact: (chain) =>
      stampOf(rt, path) === chain.stamp &&
      (chain.next === 1 || fileExists(rt, deltaFileName(path, chain.next - 1))) &&
      !fileExists(rt, deltaFileName(path, chain.next)),
    readsFromBase: readsFrom(session, path),
  });
}

/** Writes the session's next checkpoint at `path` (a base or a delta, see above), atomically. */
export function writeCheckpointFiles(rt: H5Runtime, session: PipelineSession, path: string, options: CheckpointContentOptions = {}): CheckpointWrite {
  const plan = planCheckpointFiles(rt, session, path);
  const target = plan.kind === "full" ? path : deltaFileName(path, plan.index);
  writeAtomically(rt, session, target, (tmp) => writeCheckpointContent(rt, session, plan, tmp, options));
  if (plan.kind === "full") {
    // The new base's token no longer matches them: removing them is tidying, not correctness.
    try {
      removeDeltaFiles(rt, path);
    } catch {
      // Left behind, they are never applied; the next checkpoint finds one in its way and writes a full copy.
    }
  }
  const bytes = fileSize(rt, target);
  checkpointWritten(session, plan, bytes, plan.kind === "full" ? stampOf(rt, path) : undefined);
  return { kind: plan.kind, path: target, bytes, index: plan.kind === "full" ? 0 : plan.index };
}

export interface CheckpointPlace {
  /** Where delta `index` is mounted (default: `deltaFileName` beside the base). */
  deltaPath?: (index: number) => string;
  /** The key the session's next checkpoint there uses (default: the base's path). */
  key?: string;
  /** The base's stamp in its storage's terms (default: its size and time on `rt.fs`). */
  stamp?: string;
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
  resumedFrom(result.session, {
    key: place.key ?? path,
    token,
    stamp: place.stamp ?? stampOf(rt, path),
    next: index,
    baseBytes: fileSize(rt, path),
    deltaBytes,
  });
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

