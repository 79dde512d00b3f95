/**
 * Test-only hooks, exposed beside the worker's operations (`worker.ts`, reached as `client.test`)
 * and kept out of `WorkerAPI`: they let an end-to-end test make the worker hang, crash, read slowly,
 * fail a write or find browser storage full, which a real test cannot arrange on demand. Nothing
 * here runs unless a test calls it.
 */
import { setFileAccessListener } from "../io/fixedFileFs.ts";
import { failWritesAfter } from "../io/opfsFs.ts";
import { guarded } from "./workerErrors.ts";

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

/** Test hook: the next OPFS writes fail after `bytes` more bytes (proves failed saves damage nothing). */
async function injectWriteFault(bytes: number): Promise<void> {
  failWritesAfter(bytes);
}

/**
 * Test hook: the next `createWritable()` in this worker (a save to the user's file or a checkpoint)
 * fails with a `DOMException` named `name` — at `"open"` as when permission was revoked, on the
 * first `"write"` as when the disk or quota is full (or the next sync access handle write, as a
 * checkpoint's scratch file makes, if that comes first), or at `"close"` (the swap file cannot replace
 * the target: nothing reached the file although every write succeeded). Real browsers raise exactly
 * these; a test cannot fill a disk or revoke a permission on demand.
 */
async function injectWritableFault(name: string, at: "open" | "write" | "close"): Promise<void> {
  const proto = FileSystemFileHandle.prototype as { createWritable(this: FileSystemFileHandle, o?: unknown): Promise<FileSystemWritableFileStream> };
  const original = proto.createWritable;
  const fault = () => new DOMException(`injected ${name}`, name);
  // A checkpoint reaches browser storage through its scratch file's sync access handle (and is
  // then moved into place): a full store fails the first write there.
  const sync = FileSystemSyncAccessHandle.prototype;
  const originalWrite = sync.write;
  const disarm = () => {
    proto.createWritable = original; // one shot, whichever comes first
    sync.write = originalWrite;
  };
  if (at === "write") {
    sync.write = function () {
      disarm();
      throw fault();
    };
  }
  proto.createWritable = async function (this: FileSystemFileHandle, options?: unknown) {
    disarm();
    if (at === "open") throw fault();
    const writable = await original.call(this, options);
    // The real stream, so abort() discards its swap file as after a real failure.
    return new Proxy(writable, {
      get(target, key) {
        if (key === at) {
          // A failed close() leaves the swap file, as a browser does; abort() then discards it.
          return () => Promise.reject(fault());
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
}

/** Test hook: a wasm trap, as HDF5 gives on a corrupt heap; `guarded` marks it fatal like a real one. */
async function crashForTest(): Promise<never> {
  throw new WebAssembly.RuntimeError("unreachable executed (crash requested by a test)");
}

export const testHooks = {
  injectWriteFault,
  injectWritableFault,
  // Through `guarded`, as every operation: the error leaves marked fatal, as a real trap's would.
  crashForTest: guarded(crashForTest),
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
