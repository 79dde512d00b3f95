import h5wasm from "h5wasm";
import { initRuntime, type H5Runtime } from "./h5.ts";

let runtime: Promise<H5Runtime> | undefined;

/** h5wasm's browser build, used inside the worker: MEMFS by default, dropped files (blobFs) and OPFS mounted on demand. */
export function browserRuntime(): Promise<H5Runtime> {
  runtime ??= initRuntime(h5wasm);
  return runtime;
}
