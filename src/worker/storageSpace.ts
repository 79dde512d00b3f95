/**
 * Free space in browser storage (OPFS), checked before a checkpoint or a save's temporary file is
 * written, so a full store is refused up front with sizes a person can act on, instead of failing
 * midway with a bare `QuotaExceededError` (which, when it still happens, gets the same words).
 */

import { HdmeaError } from "../core/failure.ts";

/** What is being written: the words of the message depend on it. */
export type StorageUse = "checkpoint" | "save";

export class StorageSpaceError extends HdmeaError {
  override name = "StorageSpaceError";
  constructor(message: string) {
    super(message, "quota");
  }
}

const MB = 1e6;

function mb(bytes: number): string {
  const n = Math.round(bytes / MB);
  return n === 0 && bytes > 0 ? "under 1 MB" : `${n.toLocaleString("en-US")} MB`;
}

/** "Browser storage: not enough space for this checkpoint (needs about N MB, M MB free); …". */
export function notEnoughSpace(use: StorageUse, neededBytes: number, freeBytes: number | undefined): StorageSpaceError {
  const free = freeBytes === undefined ? "" : `, ${mb(Math.max(0, freeBytes))} free`;
  const what = use === "checkpoint" ? "this checkpoint" : "the temporary file of this save";
  const unchanged = use === "checkpoint" ? "the previous checkpoint is unchanged" : "nothing was written";
  return new StorageSpaceError(
    `Browser storage: not enough space for ${what} (needs about ${mb(neededBytes)}${free}); ${unchanged}. ` +
      "Delete old checkpoints, or save the session to a file",
  );
}

/**
 * Bytes a write of a session needs in browser storage: the temporary file HDF5 writes (about the
 * session's array bytes; chunked datasets add a little), and for a checkpoint its copy too, since
 * the previous checkpoint is replaced only once the new one is complete.
 */
export function neededBytes(use: StorageUse, sessionBytes: number): number {
  const file = sessionBytes * 1.05 + 1 * MB;
  return use === "checkpoint" ? 2 * file : file;
}

/** Free bytes by the browser's estimate, or undefined where it gives none. */
export async function freeBytes(): Promise<number | undefined> {
  const estimate = await globalThis.navigator?.storage?.estimate?.().catch(() => undefined);
  if (!estimate || estimate.quota === undefined || estimate.usage === undefined) return undefined;
  return estimate.quota - estimate.usage;
}

/** Refuses (throws `StorageSpaceError`) when the estimate says the write cannot fit. */
export async function checkSpace(use: StorageUse, sessionBytes: number): Promise<void> {
  const free = await freeBytes();
  const needed = neededBytes(use, sessionBytes);
  if (free !== undefined && free < needed) throw notEnoughSpace(use, needed, free);
}

export function isQuotaError(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === "QuotaExceededError";
}

/** A `QuotaExceededError` raised while writing becomes the same message; other errors pass through. */
export async function spaceErrorFor(error: unknown, use: StorageUse, sessionBytes: number): Promise<unknown> {
  if (!isQuotaError(error)) return error;
  return notEnoughSpace(use, neededBytes(use, sessionBytes), await freeBytes());
}

export interface StorageEstimate {
  usage: number | null;
  quota: number | null;
  /** Whether the browser promised not to evict this origin's storage (`navigator.storage.persist()`). */
  persisted: boolean | null;
}

export async function storageEstimate(): Promise<StorageEstimate> {
  const storage = globalThis.navigator?.storage;
  if (!storage?.estimate) return { usage: null, quota: null, persisted: null };
  const estimate = await storage.estimate();
  const persisted = storage.persisted ? await storage.persisted() : null;
  return { usage: estimate.usage ?? null, quota: estimate.quota ?? null, persisted };
}
