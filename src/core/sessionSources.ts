/**
 * The source files a session's arrays still read from (`NDArray.fromSource`): a dropped `.cmtr`'s
 * cutout columns, a `.cmcr`'s raw light reference. A save first checks that each is still the file
 * that was opened, so a moved or rewritten source stops the save before anything is written; the
 * files are closed with the session.
 */
import { NDArray, isTree, type SourceFile, type TreeNode } from "./ndarray.ts";
import type { PipelineSession } from "./session.ts";

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
}

/** The source files the session's arrays read from now (arrays replaced since no longer count). */
export function sourcesInUse(session: PipelineSession): SourceFile[] {
  const found = new Set<SourceFile>();
  const visit = (node: TreeNode | undefined): void => {
    if (node instanceof NDArray) {
      if (node.source) found.add(node.source);
    } else if (isTree(node)) for (const child of Object.values(node)) visit(child);
  };
  visit(session.metadata);
  visit(session.stimulus);
  for (const unit of session.units.values()) visit(unit.children);
  return [...found];
}

/** Throws (naming the file and what changed) if a file the session reads from is gone or changed. */
export function checkSources(session: PipelineSession): void {
  for (const file of sourcesInUse(session)) file.check();
}
