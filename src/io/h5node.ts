import { setFlagsFromString } from "node:v8";
import { initRuntime, type H5, type H5Runtime } from "./h5.ts";

let runtime: Promise<H5Runtime> | undefined;

/** h5wasm's Node build: paths are real paths on disk. */
export function nodeRuntime(): Promise<H5Runtime> {
  runtime ??= (async () => {
    // Optimise HDF5's wasm on first use rather than after V8's baseline tier has run it for a while:
    // a fresh CLI process saved a 0.1 GB session in 150 ms instead of 250 ms. The flag is read when
    // the module compiles, hence the import after it.
    setFlagsFromString("--wasm-tiering-budget=1");
    const { default: h5wasm } = await import("h5wasm/node");
    return initRuntime(h5wasm as unknown as H5);
  })();
  return runtime;
}
