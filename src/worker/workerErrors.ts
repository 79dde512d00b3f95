/**
 * How errors leave the worker: as plain `Error`s whose message is meant for a person (HDF5's
 * multi-line diagnostics reduced to their most specific line), named `FatalWorkerError` when the
 * wasm module may be corrupt (the client then restarts the worker).
 */
import { transferHandlers } from "comlink";
import { failureOf, type Failure } from "../core/failure.ts";
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

/** What a failed item of an open says: the message for a person, and the failure as data. */
export function itemFailure(error: unknown): { error: string; failure: Failure } {
  return { error: personMessage(error), failure: failureOf(error) };
}

/**
 * Every operation leaves the worker through here: plain messages, fatal errors marked as such, and
 * the failure's kind and file as fields of the error (`worker.ts` sends them along).
 */
export function guarded<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (error) {
      const plain: Error & Partial<Failure> = Object.assign(new Error(personMessage(error)), failureOf(error));
      if (isFatal(error)) {
        plain.kind = "internal";
        plain.name = "FatalWorkerError";
        plain.message = `the HDF5 engine failed (${plain.message}); the worker restarts and open sessions are closed`;
      } else if (error instanceof Error && error.name !== "Error") {
        plain.name = error.name;
      }
      throw plain;
    }
  };
}

/**
 * Comlink sends a thrown Error's name, message and stack; from this call on (the worker makes it
 * once) the failure's kind and file go with them. The page's Comlink puts every field it receives
 * back on the Error it throws there, so the page needs nothing of its own.
 */
export function sendFailureFields(): void {
  const plain = transferHandlers.get("throw")!;
  transferHandlers.set("throw", {
    canHandle: plain.canHandle,
    serialize(thrown) {
      const [message, transfer] = plain.serialize(thrown);
      const sent = message as { isError?: boolean; value: Record<string, unknown> };
      const { kind, file } = ((thrown as { value?: unknown }).value ?? {}) as Partial<Failure>;
      if (sent.isError) Object.assign(sent.value, kind === undefined ? {} : { kind }, file === undefined ? {} : { file });
      return [sent, transfer];
    },
    deserialize: plain.deserialize,
  });
}
