/**
 * Test-only hooks, exposed beside the worker's operations (`worker.ts`, reached as `client.test`)
 * and kept out of `WorkerAPI`: they let an end-to-end test make the worker hang or browser storage
 * look full, which a real test cannot arrange on demand. Nothing here runs unless a test calls it.
 */
import { setFileAccessListener } from "../io/fixedFileFs.ts";

/** A hung worker is terminated by the page's watchdog long before this; the bound only stops a runaway. */
const HANG_BOUND_MS = 120_000;

/**
 * The worker blocks — a synchronous busy loop, as HDF5 looping on a damaged file does — inside
 * the read of `file` (a dropped file's name) that comes after `afterReads` reads of it. One shot.
 */
function hangInRead(file: string, afterReads = 0): void {
  let reads = 0;
  const previous = setFileAccessListener((name, access, prefix) => {
    previous?.(name, access, prefix); // the heartbeat naming this file goes out first
    if (access !== "read" || name !== file || reads++ < afterReads) return;
    setFileAccessListener(previous);
    const until = Date.now() + HANG_BOUND_MS;
    while (Date.now() < until) {
      // Blocked, like HDF5 in a loop: no heartbeat, no message handled.
    }
    throw new Error(`${file}: the test hang ended without the watchdog`);
  });
}

let slow: { file: string; ms: number } | undefined;
let slowListening = false;

/**
 * Every read of `file` takes `ms` longer (a busy wait, heartbeat sent first), as a slow disk or a
 * far larger file would, so a test can watch what the page shows while a recording opens. 0 ends it.
 */
function slowReads(file: string, ms: number): void {
  slow = ms > 0 ? { file, ms } : undefined;
  if (slowListening) return;
  slowListening = true;
  const previous = setFileAccessListener((name, access, prefix) => {
    previous?.(name, access, prefix);
    if (!slow || access !== "read" || name !== slow.file) return;
    const until = performance.now() + slow.ms;
    while (performance.now() < until) {
      // Slow, not hung: the heartbeat above went out.
    }
  });
}

/**
 * `navigator.storage.estimate()` in the worker reports this usage and quota (bytes) until called
 * with `null`, so a test can see the space check refuse a checkpoint or a save.
 */
function fakeStorageEstimate(estimate: { usage: number; quota: number } | null): void {
  const proto = StorageManager.prototype as StorageManager & { realEstimate?: StorageManager["estimate"] };
  proto.realEstimate ??= proto.estimate;
  proto.estimate = estimate ? async () => ({ ...estimate }) : proto.realEstimate;
}

export const testHooks = {
  async hangInRead(file: string, afterReads = 0): Promise<void> {
    hangInRead(file, afterReads);
  },
  async slowReads(file: string, ms: number): Promise<void> {
    slowReads(file, ms);
  },
  async fakeStorageEstimate(estimate: { usage: number; quota: number } | null): Promise<void> {
    fakeStorageEstimate(estimate);
  },
};

export type TestHooks = typeof testHooks;
