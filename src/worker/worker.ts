/**
 * The module Web Worker: h5wasm and every open session live here, off the page's thread.
 * `api.ts` holds the operations (and is imported directly by Node tests); this file only exposes
 * them, with the test hooks apart (`client.test`), and sends heartbeats for the page's watchdog.
 */
import { expose } from "comlink";
import { api } from "./api.ts";
import { sendFailureFields } from "./workerErrors.ts";
import { READY_STEP, doing, fileAccessed, sendHeartbeatsWith, type Heartbeat } from "./activity.ts";
import { setFileAccessListener } from "../io/fixedFileFs.ts";
import type { TestHooks } from "./testHooks.ts";
import { clearStaleScratch, runtime } from "./workerFs.ts";

// Every read and write of a dropped file or of browser storage is progress (see activity.ts).
sendHeartbeatsWith((beat: Heartbeat) => self.postMessage(beat));
setFileAccessListener((file, _access, prefix) => fileAccessed(file, prefix));

// The test hooks are loaded only when a test first calls one: the worker the app runs does not contain them.
const test = new Proxy({} as TestHooks, {
  get: (_, name: string) =>
    async (...args: unknown[]) => {
      const { testHooks } = await import("./testHooks.ts");
      return (testHooks[name as keyof TestHooks] as (...a: unknown[]) => Promise<unknown>)(...args);
    },
});
sendFailureFields();
expose({ ...api, test });

// Loading h5wasm is one long step with nothing to report; the page allows for it until "ready".
doing("starting the HDF5 engine", null);
runtime().then(
  () => doing(READY_STEP, null),
  () => undefined, // the first call reports the failure
);

// Scratch files of a crashed or closed tab would otherwise fill browser storage.
clearStaleScratch().catch(() => undefined);
