/**
 * The source files a session's arrays still read from (`NDArray.fromSource`): a dropped `.cmtr`'s
 * cutout columns, a `.cmcr`'s raw light reference. A save first checks that each is still the file
 * that was opened, so a moved or rewritten source stops the save before anything is written; the
 * files are closed with the session.
 */
import { NDArray, isTree, type SourceFile, type TreeNode } from "./ndarray.ts";
import type { PipelineSession } from "./session.ts";
import { forEachMember } from "./deferredGroup.ts";
import { HdmeaError } from "./failure.ts";
import { HELD_FIELDS, heldArrayOf } from "./memoryBudget.ts";

/**
 * A file the session reads from is gone or changed since it was opened (`file` names it). The save
 * or step that met it stopped with nothing written; giving the file back re-attaches it.
 */
export class SourceChangedError extends HdmeaError {
  override name = "SourceChangedError";
  constructor(message: string, file: string) {
    super(message, "source-changed", file);
  }
}

const attached = new WeakMap<PipelineSession, Set<SourceFile>>();

/** The session holds arrays from these files and closes them with `closeSources`. */
export function attachSources(session: PipelineSession, files: Iterable<SourceFile>): void {
  const set = attached.get(session) ?? new Set<SourceFile>();
  for (const file of files) set.add(file);
  attached.set(session, set);
}

/** Closes the session's source files (when the session closes; its source-backed arrays fail after). */
export function closeSources(session: PipelineSession): void {
  for (const file of attached.get(session) ?? []) file.close();
  attached.delete(session);
  copies.get(session)?.close();
  copies.delete(session);
}

const copies = new WeakMap<PipelineSession, SourceFile>();

/**
 * A full copy of the session written since it was opened (a checkpoint, a saved file): should a
 * file its arrays read from go, they can be read from the copy instead (`fullCopy`). Replaces (and
 * closes) the previous one.
 */
export function setFullCopy(session: PipelineSession, copy: SourceFile | undefined): void {
  const previous = copies.get(session);
  if (previous && previous !== copy) previous.close();
  if (copy) copies.set(session, copy);
  else copies.delete(session);
}

/** The session's full copy, if it still holds what was written (else forgotten). */
export function fullCopy(session: PipelineSession): SourceFile | undefined {
  const copy = copies.get(session);
  if (!copy) return undefined;
  try {
    copy.check();
    return copy;
  } catch {
    setFullCopy(session, undefined);
    return undefined;
  }
}

/** The source files the session's arrays and unread groups read from now (arrays replaced since no longer count). */
export function sourcesInUse(session: PipelineSession): SourceFile[] {
  const found = new Set<SourceFile>();
  const visit = (node: TreeNode | undefined): void => {
    if (node instanceof NDArray) {
      if (node.source) found.add(node.source);
    } else if (isTree(node)) forEachMember(node, (_, child) => visit(child), (_, group) => found.add(group.source));
  };
  visit(session.metadata);
  visit(session.stimulus);
  for (const unit of session.units.values()) {
    for (const field of HELD_FIELDS) {
      const source = heldArrayOf(unit, field)?.source;
      if (source) found.add(source);
    }
    visit(unit.children);
  }
  return [...found];
}

/** Throws (naming the file and what changed) if a file the session reads from is gone or changed. */
export function checkSources(session: PipelineSession): void {
  for (const file of sourcesInUse(session)) file.check();
}

/**
 * After the session's arrays moved from `replaced` to `by` (see `NDArray.repoint`): the replaced
 * files are closed and forgotten, `by` is held instead.
 */
export function swapSources(session: PipelineSession, replaced: Iterable<SourceFile>, by: SourceFile): void {
  const set = attached.get(session) ?? new Set<SourceFile>();
  for (const file of replaced) {
    if (file === by) continue;
    file.close();
    set.delete(file);
  }
  set.add(by);
  attached.set(session, set);
}

/** The files the session holds arrays from (for a re-attach, which looks for the one given back by name). */
export function attachedSources(session: PipelineSession): SourceFile[] {
  return [...(attached.get(session) ?? [])];
}

/** The session no longer reads from `files` (its arrays were taken in): they are closed and forgotten. */
export function detachSources(session: PipelineSession, files: Iterable<SourceFile>): void {
  const set = attached.get(session);
  for (const file of files) {
    file.close();
    set?.delete(file);
  }
}
