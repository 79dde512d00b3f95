/**
 * One request a component makes for data, apart from Svelte so that Node tests can drive it: start
 * it, hand its value or its failure (as text) to a sink, and once cancelled (the inputs changed or
 * the component went away) hand over nothing more, so that a late answer to an old question never
 * overwrites the answer to the new one. `resource.svelte.ts` runs one per change of a component's
 * inputs.
 */
import { errorText } from "./failureMessage.ts";

/**
 * Asks for the data, or returns `undefined` when there is nothing to ask yet (no session, no unit
 * selected). The signal is aborted when the answer is no longer wanted: a loader that does more
 * with the answer than return it (writes it elsewhere, resets an input) checks it first.
 */
export type Load<T> = (signal: AbortSignal) => Promise<T> | undefined;

/** Where a request's outcome goes. */
export interface RequestSink<T> {
  /** A request went out. */
  started(): void;
  /** There was nothing to ask. */
  idle(): void;
  resolved(value: T): void;
  /** The request failed; `message` is the error's own text. */
  failed(message: string): void;
}

/** Starts `load` and reports its outcome to `sink` until the returned function cancels it. */
export function startRequest<T>(load: Load<T>, sink: RequestSink<T>): () => void {
  const controller = new AbortController();
  const cancel = () => controller.abort();
  let pending: Promise<T> | undefined;
  try {
    pending = load(controller.signal);
  } catch (error) {
    sink.failed(errorText(error));
    return cancel;
  }
  if (!pending) {
    sink.idle();
    return cancel;
  }
  sink.started();
  pending.then(
    (value) => controller.signal.aborted || sink.resolved(value),
    (error: unknown) => controller.signal.aborted || sink.failed(errorText(error)),
  );
  return cancel;
}
