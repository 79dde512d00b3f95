/**
 * The per-step watchdog. A recording runs in a worker thread (recordingThread.ts) because a stuck
 * HDF5 call (a loop on a damaged file, a read that never returns) blocks its thread: no timer there
 * could fire. The worker bumps a shared counter on every file read and write h5wasm makes and on
 * every progress report; the main thread checks it, and a counter that has not moved for the limit
 * means the step is hung. The worker also posts which step it is in and which file it last touched,
 * before any blocking call, so the main thread can name both.
 */
export const DEFAULT_WATCHDOG_SECONDS = 60;

/** The worker's half: one Int32 in a SharedArrayBuffer. */
export function heartbeat(buffer: SharedArrayBuffer): () => void {
  const counter = new Int32Array(buffer);
  return () => void Atomics.add(counter, 0, 1);
}

export function newHeartbeatBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(4);
}

/** Starting a worker thread and compiling HDF5's wasm in it can take seconds on a busy machine. */
const STARTUP_MS = 60_000;

/**
 * The main thread's half: calls `onHung` once if the counter stays still for `limitMs` (before the
 * worker's first beat, for at least STARTUP_MS: a short test limit must not catch a slow start).
 */
export function watch(buffer: SharedArrayBuffer, limitMs: number, onHung: () => void): () => void {
  const counter = new Int32Array(buffer);
  let last = Atomics.load(counter, 0);
  let lastChange = Date.now();
  const timer = setInterval(() => {
    const now = Atomics.load(counter, 0);
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange >= (now === 0 ? Math.max(limitMs, STARTUP_MS) : limitMs)) {
      clearInterval(timer);
      onHung();
    }
  }, Math.min(1000, Math.max(50, limitMs / 10)));
  return () => clearInterval(timer);
}

/** What a worker's last file access was about: `OUT.h5`, not its `OUT.h5.partial-x1y2` temporary. */
export function fileShownFor(path: string): string {
  return path.replace(/\.partial-[a-z0-9]+$/i, "").replace(/\.next$/, "");
}
