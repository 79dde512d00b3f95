import h5wasm from "h5wasm/node";
import { initRuntime, type H5, type H5Runtime } from "./h5.ts";

let runtime: Promise<H5Runtime> | undefined;

/** h5wasm's Node build: paths are real paths on disk. */
export function nodeRuntime(): Promise<H5Runtime> {
  runtime ??= initRuntime(h5wasm as unknown as H5);
  return runtime;
}
