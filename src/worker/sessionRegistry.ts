/**
 * The sessions open in this worker, each with what it holds beside the session itself (mounted
 * files, its spill store, a download waiting to be confirmed), and the memory budget they share.
 * Every operation finds its session here (`get`); `register` adds one, `closeSession` lets it go.
 */
import type { PipelineSession } from "../core/session.ts";
import { defaultMemoryBudgetBytes, savedArrayBytes, type MemoryBudget } from "../core/memoryBudget.ts";
import type { SpillStore } from "../core/spillStore.ts";
import { closeSources } from "../core/sessionSources.ts";
import type { H5Runtime } from "../io/h5.ts";
import { createSpillStore, runtime, unmountDrop, type MountedDrop, type ScratchFile } from "./workerFs.ts";

/** A download offered but not confirmed: what `confirmDownload` marks saved. */
export interface PendingDownload {
  fileName: string;
  savedAt: string;
  changedSince: boolean;
  stopWatching(): void;
}

export interface OpenSession {
  session: PipelineSession;
  name: string;
  /** Mounted source files, unmounted on close. */
  drop?: MountedDrop;
  /** The last saved file offered as a download: kept until the next save or close. */
  lastExport?: ScratchFile;
  /** That download, until the user confirms it or saves again. */
  download?: PendingDownload;
  /** Its spill store, attached just after opening (see `attachSpillStore`). */
  spill?: Promise<SpillStore | undefined>;
  /**
   * Mounts of full copies of the session (its checkpoint, a resumed checkpoint, the file it was
   * saved to) that arrays or the session's full copy read from; unmounted once unused, or on close.
   */
  copies?: MountedDrop[];
  /** Files given back for moved sources (`reattach`), unmounted on close. */
  reattached?: MountedDrop[];
}

export const sessions = new Map<string, OpenSession>();
let sessionCounter = 0;
/** The runtime every session was opened with, for the few synchronous callers that need it. */
let openedWith: H5Runtime | undefined;

/** The runtime, for an operation that opens a session (later synchronous callers use `runtimeNow`). */
export async function openingRuntime(): Promise<H5Runtime> {
  return (openedWith = await runtime());
}

export function runtimeNow(): H5Runtime {
  if (!openedWith) throw new Error("no session was opened in this worker");
  return openedWith;
}

export function get(sessionId: string): OpenSession {
  const open = sessions.get(sessionId);
  if (!open) throw new Error(`no open session "${sessionId}" (closed, or the worker restarted)`);
  return open;
}

export function register(open: OpenSession): string {
  const id = `s${++sessionCounter}`;
  sessions.set(id, open);
  open.spill ??= attachSpillStore(id, open.session);
  return id;
}

export async function sessionIds(): Promise<string[]> {
  return [...sessions.keys()];
}

export function forgetDownload(open: OpenSession): void {
  open.download?.stopWatching();
  open.download = undefined;
}

export async function closeSession(sessionId: string): Promise<void> {
  const open = sessions.get(sessionId);
  if (!open) return;
  sessions.delete(sessionId);
  forgetDownload(open);
  (await open.spill)?.close();
  await open.lastExport?.dispose();
  closeSources(open.session); // before its files are unmounted
  const rt = await runtime();
  for (const drop of [open.drop, ...(open.copies ?? []), ...(open.reattached ?? [])]) if (drop) unmountDrop(rt, drop.dir);
}

/** Past the memory budget, a session's largest arrays move to browser storage (see `core/memoryBudget.ts`). */
let memoryBudgetBytes: number | undefined;
let spillCounter = 0;

/** A budget with a fresh spill store; undefined where the browser has no OPFS (sessions stay in memory). */
export async function newMemoryBudget(): Promise<MemoryBudget | undefined> {
  const store = await createSpillStore(String(++spillCounter)).catch(() => undefined);
  return store && { store, budgetBytes: budgetBytes() };
}

async function attachSpillStore(id: string, session: PipelineSession): Promise<SpillStore | undefined> {
  const budget = await newMemoryBudget();
  if (!budget) return undefined;
  if (sessions.get(id)?.session !== session) {
    budget.store.close(); // closed while the store was being created
    return undefined;
  }
  session.setMemoryBudget(budget);
  return budget.store;
}

/** What a save writes: the arrays in memory, in the spill store and left in the dropped files. */
export function dataBytes(session: PipelineSession): number {
  return savedArrayBytes(session.arrayBytes());
}

/** The budget set in the page, else the platform's default. */
function budgetBytes(): number {
  if (memoryBudgetBytes !== undefined) return memoryBudgetBytes;
  const nav = navigator as Navigator & { deviceMemory?: number };
  const memory = (performance as Performance & { memory?: { jsHeapSizeLimit?: number } }).memory;
  return defaultMemoryBudgetBytes({ deviceMemoryGb: nav.deviceMemory, jsHeapLimitBytes: memory?.jsHeapSizeLimit });
}

/** Sets the budget of every open session and the next ones; `null` goes back to the platform default. */
export async function setMemoryBudget(bytes: number | null): Promise<void> {
  if (bytes !== null && !(Number.isFinite(bytes) && bytes > 0)) throw new Error(`a memory budget must be a size above 0 bytes, got ${bytes}`);
  memoryBudgetBytes = bytes ?? undefined;
  for (const open of sessions.values()) {
    const store = await open.spill;
    if (store) open.session.setMemoryBudget({ store, budgetBytes: budgetBytes() });
  }
}
