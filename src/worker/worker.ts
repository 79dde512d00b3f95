/**
 * The module Web Worker: h5wasm and every open session live here, off the page's thread.
 * `api.ts` holds the operations (and is imported directly by Node tests); this file only exposes them.
 */
import { expose } from "comlink";
import { api } from "./api.ts";
import { clearStaleScratch } from "./workerFs.ts";

expose(api);

// Scratch files of a crashed or closed tab would otherwise fill browser storage.
clearStaleScratch().catch(() => undefined);
