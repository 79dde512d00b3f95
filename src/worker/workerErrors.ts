/**
 * How errors leave the worker: as plain `Error`s whose message is meant for a person (HDF5's
 * multi-line diagnostics reduced to their most specific line), named `FatalWorkerError` when the
 * wasm module may be corrupt (the client then restarts the worker).
 */
import { hdf5ErrorSummary } from "../io/h5.ts";

/** Is the wasm module possibly corrupt after this error (abort, out of bounds, out of memory)? */
export function isFatal(error: unknown): boolean {
  if (typeof WebAssembly !== "undefined" && error instanceof WebAssembly.RuntimeError) return true;
  const text = error instanceof Error ? error.message : String(error);
  return /^Aborted\(|memory access out of bounds|Cannot enlarge memory/.test(text);
}

export function personMessage(error: unknown): string {
  if (error instanceof DOMException && error.name === "AbortError") return "cancelled";
  return hdf5ErrorSummary(error);
}

/** Every operation leaves the worker through here: plain messages, and fatal errors marked as such. */
export function guarded<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (error) {
      const plain = new Error(personMessage(error));
      if (isFatal(error)) {
        plain.name = "FatalWorkerError";
        plain.message = `the HDF5 engine failed (${plain.message}); the worker restarts and open sessions are closed`;
      } else if (error instanceof Error && error.name !== "Error") {
        plain.name = error.name;
      }
      throw plain;
    }
  };
}
