/**
 * The files a session reads its large arrays from, kept readable: files given back after they
 * moved (`reattach`), the full copies a save or checkpoint leaves (`keepCopy`), read from when a
 * dropped file goes (`useCopyForLostFiles`), and arrays taken in before a checkpoint they read from
 * is deleted or replaced (`stopReadingFrom`).
 */
import { HdmeaError } from "../core/failure.ts";
import type { PipelineSession } from "../core/session.ts";
import { HELD_FIELDS, heldArrayOf, type HeldField } from "../core/memoryBudget.ts";
import { summarizeSession, type SessionSummary } from "../core/sessionSummary.ts";
import { attachedSources, detachSources, fullCopy, setFullCopy, sourcesInUse } from "../core/sessionSources.ts";
import { NDArray, isTree, type TreeNode } from "../core/ndarray.ts";
import type { H5Runtime } from "../io/h5.ts";
import { readArraysFrom } from "../io/sessionFile.ts";
import { openSourceFile, type H5SourceFile } from "../io/sourceFile.ts";
import { doing } from "./activity.ts";
import { get, type OpenSession } from "./sessionRegistry.ts";
import { personMessage } from "./workerErrors.ts";
import { mountFiles, runtime, unmountDrop } from "./workerFs.ts";

/**
 * A file or several given back for sources the session can no longer read (moved, rewritten,
 * unplugged): each replaces the source of the same name once it is shown to be the same file.
 */
export async function reattach(sessionId: string, files: File[]): Promise<SessionSummary> {
  const rt = await runtime();
  const open = get(sessionId);
  const sources = attachedSources(open.session) as H5SourceFile[];
  for (const file of files) {
    const source = sources.find((s) => s.name === file.name && !s.keptCopy);
    if (!source) {
      const names = sources.filter((s) => !s.keptCopy).map((s) => s.name);
      throw new HdmeaError(
        `${file.name} is not a file this session reads from (${names.length ? `it reads ${names.join(", ")}` : "it reads no dropped file"}); nothing changed`,
        "bad-input",
        file.name,
      );
    }
    doing("checking the file given back", file.name);
    const drop = mountFiles(rt, [file]);
    try {
      source.reattach(drop.paths.get(file.name)!);
    } catch (error) {
      unmountDrop(rt, drop.dir);
      throw error;
    }
    (open.reattached ??= []).push(drop);
    // The eimage STA reads the .cmcr's sensor data by its path.
    if (open.drop?.paths.has(file.name)) open.drop.paths.set(file.name, drop.paths.get(file.name)!);
  }
  return summarizeSession(open.session);
}

/**
 * After a full copy of the session reached `file` (its checkpoint in browser storage, or the user's
 * saved file): arrays read from an earlier version of that file (replaced just now, which the
 * browser no longer lets anyone read) read the new one, and the copy is where arrays are read from
 * should a dropped file go (`useCopyForLostFiles`). Nothing to do for a session that reads no file.
 */
export async function keepCopy(rt: H5Runtime, open: OpenSession, fileOf: () => Promise<File>, keptCopy: boolean): Promise<void> {
  const { session } = open;
  if (!sourcesInUse(session).length) return;
  let file: File;
  try {
    file = await fileOf();
  } catch (error) {
    // The copy is written all the same; the session keeps reading where it did (the source check guards that).
    session.warn(`${session.datasetId}: the copy just written could not be opened for reading (${personMessage(error)})`);
    return;
  }
  const drop = mountFiles(rt, [file]);
  const path = drop.paths.get(file.name)!;
  let replaced: H5SourceFile | undefined;
  try {
    // Opens the copy before it moves anything: a copy another tab replaced since (its checkpoint
    // moved in over this one) fails here, and the session keeps reading where it did.
    replaced = readArraysFrom(rt, session, path, (s) => s.name === file.name && !!s.keptCopy === keptCopy, file.name) as H5SourceFile | undefined;
  } catch (error) {
    unmountDrop(rt, drop.dir);
    session.warn(`${session.datasetId}: the copy just written could not be opened for reading (${personMessage(error)})`);
    return;
  }
  (open.copies ??= []).push(drop);
  if (replaced) replaced.keptCopy = keptCopy;
  const copy = openSourceFile(rt, path, file.name);
  copy.keptCopy = keptCopy;
  setFullCopy(session, copy);
  pruneCopies(rt, open);
}

/**
 * Before a save, checkpoint or step: arrays whose file is gone or changed read from the session's
 * full copy instead, while that copy still holds what was written. Without one (or with a changed
 * one) nothing changes, and the operation stops naming the file as before.
 */
export function useCopyForLostFiles(rt: H5Runtime, open: OpenSession): void {
  const { session } = open;
  const lost = sourcesInUse(session).filter((s) => {
    try {
      s.check();
      return false;
    } catch {
      return true;
    }
  });
  if (!lost.length) return;
  const copy = fullCopy(session) as H5SourceFile | undefined;
  if (!copy) return;
  const now = readArraysFrom(rt, session, copy.path, (s) => lost.includes(s), copy.name) as H5SourceFile | undefined;
  if (now) now.keptCopy = copy.keptCopy;
  pruneCopies(rt, open);
}

/** Unmounts copies nothing reads from any more (neither arrays nor the full copy). */
function pruneCopies(rt: H5Runtime, open: OpenSession): void {
  const used = new Set((sourcesInUse(open.session) as H5SourceFile[]).map((s) => s.path));
  const copy = fullCopy(open.session) as H5SourceFile | undefined;
  if (copy) used.add(copy.path);
  open.copies = (open.copies ?? []).filter((drop) => {
    if ([...drop.paths.values()].some((p) => used.has(p))) return true;
    unmountDrop(rt, drop.dir);
    return false;
  });
}

/**
 * The arrays `open` reads from checkpoint `name` come into the session (memory, or its spill store
 * past the budget) before that checkpoint is deleted or replaced by another session's.
 */
export function stopReadingFrom(rt: H5Runtime, open: OpenSession, name: string): void {
  const { session } = open;
  const from = sourcesInUse(session).filter((s) => s.keptCopy && s.name === name);
  if (!from.length) return;
  doing("taking in the arrays kept in checkpoint", name);
  let since = 0;
  const visit = (node: TreeNode | undefined): void => {
    if (node instanceof NDArray) {
      if (!node.source?.keptCopy || node.source.name !== name) return;
      node.unspill();
      since += node.byteLength;
      // In batches: each budget check walks the whole session.
      if (session.memoryBudget && since > 256 << 20) {
        session.setMemoryBudget(session.memoryBudget);
        since = 0;
      }
    } else if (isTree(node)) for (const child of Object.values(node)) visit(child);
  };
  visit(session.metadata);
  visit(session.stimulus);
  for (const unit of session.units.values()) {
    for (const field of HELD_FIELDS) {
      const held = heldArrayOf(unit, field);
      // Assigning the unit's own values takes them into memory (the setter lets the file go).
      if (held?.source?.keptCopy && held.source.name === name) (unit as Record<HeldField, unknown>)[field] = held.data.slice();
    }
    visit(unit.children);
  }
  if (session.memoryBudget) session.setMemoryBudget(session.memoryBudget);
  detachSources(session, from);
  pruneCopies(rt, open);
}

/** A resumed checkpoint's arrays read from browser storage, not from the user's files. */
export function markKeptCopies(session: PipelineSession): void {
  for (const source of attachedSources(session) as H5SourceFile[]) source.keptCopy = true;
}
