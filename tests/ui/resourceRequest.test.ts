import { describe, expect, it } from "vitest";
import { startRequest, type RequestSink } from "../../src/ui/resourceRequest.ts";
import { errorText } from "../../src/ui/failureMessage.ts";

/** A promise the test settles by hand, to order answers as a slow worker would. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => ((resolve = ok), (reject = fail)));
  return { promise, resolve, reject };
}

/** Every report, in order, as text. */
function recorder<T>(): RequestSink<T> & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    started: () => events.push("started"),
    idle: () => events.push("idle"),
    resolved: (value) => events.push(`resolved ${String(value)}`),
    failed: (message) => events.push(`failed ${message}`),
  };
}

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("startRequest", () => {
  it("reports the start, then the answer", async () => {
    const sink = recorder<number>();
    const answer = deferred<number>();
    startRequest(() => answer.promise, sink);
    expect(sink.events).toEqual(["started"]);
    answer.resolve(42);
    await settle();
    expect(sink.events).toEqual(["started", "resolved 42"]);
  });

  it("drops the answer to a superseded question even when it arrives last", async () => {
    const sink = recorder<string>();
    const old = deferred<string>();
    const fresh = deferred<string>();
    const cancelOld = startRequest(() => old.promise, sink);
    cancelOld();
    startRequest(() => fresh.promise, sink);
    fresh.resolve("unit_02");
    await settle();
    old.resolve("unit_01");
    await settle();
    expect(sink.events).toEqual(["started", "started", "resolved unit_02"]);
  });

  it("drops a superseded question's failure", async () => {
    const sink = recorder<string>();
    const old = deferred<string>();
    startRequest(() => old.promise, sink)();
    old.reject(new Error("Reading unit_01 failed: gone"));
    await settle();
    expect(sink.events).toEqual(["started"]);
  });

  it("hands a failure over as the error's own text instead of swallowing it", async () => {
    const sink = recorder<number>();
    startRequest(() => Promise.reject(new Error("Building the raster of unit_07 failed: no unit unit_07")), sink);
    await settle();
    expect(sink.events).toEqual(["started", "failed Building the raster of unit_07 failed: no unit unit_07"]);

    const thrown = recorder<number>();
    startRequest(() => {
      throw new TypeError("session is undefined");
    }, thrown);
    expect(thrown.events).toEqual(["failed session is undefined"]);
  });

  it("reports idle, and starts nothing, when there is nothing to ask", () => {
    const sink = recorder<number>();
    startRequest(() => undefined, sink);
    expect(sink.events).toEqual(["idle"]);
  });

  it("aborts the loader's signal when cancelled, so a loader can skip its own follow-up writes", async () => {
    let seen: AbortSignal | undefined;
    const cancel = startRequest((signal) => {
      seen = signal;
      return new Promise<number>(() => undefined);
    }, recorder<number>());
    expect(seen?.aborted).toBe(false);
    cancel();
    expect(seen?.aborted).toBe(true);
  });
});

describe("errorText", () => {
  it("is an error's message, or the thrown value as text", () => {
    expect(errorText(new Error("Reading the light reference failed: damaged"))).toBe("Reading the light reference failed: damaged");
    expect(errorText("quota")).toBe("quota");
  });
});
