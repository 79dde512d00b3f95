/**
 * What the worker is doing right now, sent to the page as heartbeats so the page can tell a worker
 * that is slow from one that is stuck (the watchdog, `watchdog.ts`). h5wasm is synchronous: a loop
 * inside HDF5 blocks the worker's event loop, but messages posted before it still arrive, so the
 * last heartbeat names the file and step that hung.
 *
 * Operations say what they start (`doing`); every read and write through the worker's file systems
 * counts as progress (`io/fixedFileFs.ts` tells `fileAccessed`), as do step progress reports.
 */

/** The message the worker posts; Comlink ignores messages without its `id`. */
export interface Heartbeat {
  type: "hdmea-heartbeat";
  /** The file being read or written, as the user named it (`demo-.cmtr`, `rec.h5`), when known. */
  file?: string;
  /** The step, e.g. `reading units 12/60`, `writing the checkpoint`. */
  step: string;
}

/** The step a fresh worker announces once h5wasm is loaded: before it, calls wait for the engine. */
export const READY_STEP = "ready";

export function isHeartbeat(data: unknown): data is Heartbeat {
  return typeof data === "object" && data !== null && (data as { type?: unknown }).type === "hdmea-heartbeat";
}

/** Beats closer together than this are dropped: thousands of small HDF5 reads would flood the page. */
const MIN_INTERVAL_MS = 100;

let post: ((beat: Heartbeat) => void) | undefined;
let current: Heartbeat = { type: "hdmea-heartbeat", step: "idle" };
let lastPostAt = Number.NEGATIVE_INFINITY;
let lastPosted: Heartbeat | undefined;

/** Called once by the worker entry; until then (Node tests) heartbeats go nowhere. */
export function sendHeartbeatsWith(poster: ((beat: Heartbeat) => void) | undefined): void {
  post = poster;
}

/**
 * A new step of an operation. `file` is the user's name for what it reads or writes; left out, the
 * current file stays (progress within one open), `null` clears it.
 */
export function doing(step: string, file?: string | null): void {
  const named = file === undefined ? current.file : (file ?? undefined);
  current = { type: "hdmea-heartbeat", step, ...(named === undefined ? {} : { file: named }) };
  // A new file or a new kind of step is sent at once (a hang right after must name it); counters
  // within a step ("units 12/60" → "13/60") wait for the next beat.
  beat(lastPosted?.file !== current.file || kindOf(lastPosted?.step ?? "") !== kindOf(step));
}

/** Some progress within the current step (a read, a write, a slice copied). */
export function progressed(): void {
  beat(false);
}

/**
 * From the file systems: dropped files carry the user's own names, so a read of one names the file
 * more precisely than the operation did (`demo-.cmtr` rather than `demo.cmcr + demo-.cmtr`).
 * Scratch and checkpoint files in browser storage have internal names: they only count as progress.
 */
export function fileAccessed(file: string, prefix: string): void {
  if (prefix === "drop" && current.file !== file) {
    current = { ...current, file };
    beat(true);
  } else {
    beat(false);
  }
}

/** The current activity (for tests and for messages inside the worker). */
export function currentActivity(): Heartbeat {
  return current;
}

function kindOf(step: string): string {
  return step.replace(/\d+/g, "#");
}

function beat(force: boolean): void {
  if (!post) return;
  const now = Date.now();
  if (!force && now - lastPostAt < MIN_INTERVAL_MS) return;
  lastPostAt = now;
  lastPosted = current;
  post(current);
}
