/**
 * Data a component asks the worker for, kept in step with the component's inputs: `current` (the
 * last answer), `loading` (a newer question is out) and `error` (why the last question failed).
 * Made once while the component starts; the loader is rerun whenever anything reactive it reads
 * before its first `await` changes, and the answer to a superseded question is dropped
 * (`resourceRequest.ts`). In place of the hand-rolled `let live = true` in each component, and
 * errors are kept for the component to show instead of being swallowed.
 *
 * `current` stays while a newer question is out (a zoom or a new unit keeps the old plot until the
 * new one arrives) and when there is nothing to ask.
 */
import { startRequest, type Load, type RequestSink } from "./resourceRequest.ts";

export class Resource<T> {
  current = $state.raw<T | undefined>();
  loading = $state(false);
  /** The last question's failure, as text; cleared by an answer or when there is nothing to ask. */
  error = $state<string | undefined>();

  /** Where `startRequest` reports to. */
  readonly #sink: RequestSink<T> = {
    started: () => {
      this.loading = true;
    },
    idle: () => {
      this.loading = false;
      this.error = undefined;
    },
    resolved: (value) => {
      this.current = value;
      this.error = undefined;
      this.loading = false;
    },
    failed: (message) => {
      this.error = message;
      this.loading = false;
    },
  };

  constructor(load: Load<T>) {
    $effect(() => startRequest(load, this.#sink));
  }
}

/** A resource following `load`; call it while the component starts (it sets up an effect). */
export function resource<T>(load: Load<T>): Resource<T> {
  return new Resource(load);
}
